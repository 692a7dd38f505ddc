/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * DEC/Intel 21140A: the programming model as a driver sees it, shared by
 * the chip model (dec21140a_core.c, dec21140a.c) and the libqos driver of
 * its qtests, so that both speak of one set of bits.  PHY registers and
 * their bits are QEMU's hw/net/mii.h; what is here is the 21140A's own
 * (CSRs, descriptors, setup frames, SROM layout) and the values of the
 * PHY we put beside it.
 *
 * Only macros: nothing here needs QEMU.
 */
#ifndef HW_NET_DEC21140A_REGS_H
#define HW_NET_DEC21140A_REGS_H

/* PCI identity */
#define DEC21140A_VENDOR_ID     0x1011          /* PCI_VENDOR_ID_DEC */
#define DEC21140A_DEVICE_ID     0x0009          /* 21140 and 21140A */
#define DEC21140A_REVISION      0x20            /* the "A" */
/* The Virtual PC card: SUBSYS_21140A00 in Windows' INF files. */
#define DEC21140A_VPC_SUBSYS_VENDOR 0x0a00
#define DEC21140A_VPC_SUBSYS_ID     0x2114

/* Sixteen 32-bit CSRs, 8 bytes apart in both BARs. */
#define DEC21140A_NUM_CSR       16
#define DEC21140A_CSR_STRIDE    8
#define DEC21140A_CSR_BAR_SIZE  (DEC21140A_NUM_CSR * DEC21140A_CSR_STRIDE)

/* CSR0: bus mode */
#define CSR0_RESET      0xfe000000u     /* bits 31:25 read as ones */
#define CSR0_SWR        (1u << 0)
#define CSR0_DSL_SHIFT  2
#define CSR0_DSL_MASK   0x1f
#define CSR0_DBO        (1u << 20)
#define CSR0_TAP_SHIFT  17
#define CSR0_TAP_MASK   7

/* CSR5: status; CSR7: interrupt enable (same bit positions) */
#define CSR5_TI         (1u << 0)
#define CSR5_TPS        (1u << 1)
#define CSR5_TU         (1u << 2)
#define CSR5_TJT        (1u << 3)
#define CSR5_UNF        (1u << 5)
#define CSR5_RI         (1u << 6)
#define CSR5_RU         (1u << 7)
#define CSR5_RPS        (1u << 8)
#define CSR5_RWT        (1u << 9)
#define CSR5_GTE        (1u << 11)
#define CSR5_FBE        (1u << 13)
#define CSR5_ERI        (1u << 14)
#define CSR5_AIS        (1u << 15)
#define CSR5_NIS        (1u << 16)
#define CSR5_RS_SHIFT   17
#define CSR5_TS_SHIFT   20
#define CSR5_EB_SHIFT   23
/* The 21140A's interrupt sources; the summaries are derived from them. */
#define CSR5_NORMAL     (CSR5_TI | CSR5_TU | CSR5_RI | CSR5_ERI)
#define CSR5_ABNORMAL   (CSR5_TPS | CSR5_TJT | CSR5_UNF | CSR5_RU | \
                         CSR5_RPS | CSR5_RWT | CSR5_GTE | CSR5_FBE)
#define CSR5_W1C        (CSR5_NORMAL | CSR5_ABNORMAL | CSR5_AIS | CSR5_NIS)
#define CSR7_MASK       (CSR5_NORMAL | CSR5_ABNORMAL | CSR5_AIS | CSR5_NIS)

/* Receive (RS) and transmit (TS) process states in CSR5 */
#define RS_STOPPED      0
#define RS_WAITING      3
#define RS_SUSPENDED    4
#define TS_STOPPED      0
#define TS_SUSPENDED    6
#define CSR5_STATE_MASK 7
#define CSR5_RS(csr5)   (((csr5) >> CSR5_RS_SHIFT) & CSR5_STATE_MASK)
#define CSR5_TS(csr5)   (((csr5) >> CSR5_TS_SHIFT) & CSR5_STATE_MASK)

/* CSR6: operating mode */
#define CSR6_HP         (1u << 0)
#define CSR6_SR         (1u << 1)
#define CSR6_HO         (1u << 2)
#define CSR6_PB         (1u << 3)
#define CSR6_IF         (1u << 4)
#define CSR6_SB         (1u << 5)
#define CSR6_PR         (1u << 6)
#define CSR6_PM         (1u << 7)
#define CSR6_FD         (1u << 9)
#define CSR6_OM_SHIFT   10
#define CSR6_OM_MASK    3
#define CSR6_OM_INTERNAL 1
#define CSR6_OM(mode)   ((mode) << CSR6_OM_SHIFT)
#define CSR6_ST         (1u << 13)
#define CSR6_PS         (1u << 18)
#define CSR6_MBO        (1u << 25)
/* Set only by setup frames. */
#define CSR6_FILTER_RO  (CSR6_HP | CSR6_HO | CSR6_IF)

/* CSR8: missed frames */
#define CSR8_COUNT_MASK 0xffff
#define CSR8_OVERFLOW   (1u << 16)

/* CSR9: SROM and MII serial interfaces */
#define CSR9_SROM_CS    (1u << 0)
#define CSR9_SROM_SK    (1u << 1)
#define CSR9_SROM_DI    (1u << 2)
#define CSR9_SROM_DO    (1u << 3)
#define CSR9_SR         (1u << 11)
#define CSR9_RD         (1u << 14)
#define CSR9_MDC        (1u << 16)
#define CSR9_MDO        (1u << 17)
#define CSR9_MII_READ   (1u << 18)
#define CSR9_MDI        (1u << 19)

/* CSR11: general-purpose timer */
#define CSR11_COUNT     0xffff
#define CSR11_CON       (1u << 16)

/* CSR12: general-purpose port */
#define CSR12_DIR_LOAD  (1u << 8)
#define CSR12_PINS      0xff
#define GP_PIN_LINK     (1u << 7)

/* CSR15: watchdog timer */
#define CSR15_MASK      0x37

/* Descriptors: four little-endian longwords (plus CSR0 DSL skip words). */
#define DEC21140A_DESC_SIZE     16
#define DES0_OWN        (1u << 31)
#define RDES0_FL_SHIFT  16
#define RDES0_FL_MASK   0x3fff
/* The frame length, CRC included, from the last descriptor's RDES0. */
#define RDES0_FL(rdes0) (((rdes0) >> RDES0_FL_SHIFT) & RDES0_FL_MASK)
#define RDES0_ES        (1u << 15)
#define RDES0_DE        (1u << 14)
#define RDES0_MF        (1u << 10)
#define RDES0_FS        (1u << 9)
#define RDES0_LS        (1u << 8)
#define RDES0_TL        (1u << 7)
#define RDES0_FT        (1u << 5)
#define RDES1_RER       (1u << 25)
#define RDES1_RCH       (1u << 24)
#define DES1_BS2_SHIFT  11
#define DES1_BS_MASK    0x7ff
#define TDES0_ES        (1u << 15)
#define TDES0_TO        (1u << 14)
#define TDES0_LO        (1u << 11)
#define TDES0_NC        (1u << 10)
#define TDES1_IC        (1u << 31)
#define TDES1_LS        (1u << 30)
#define TDES1_FS        (1u << 29)
#define TDES1_FT1       (1u << 28)
#define TDES1_SET       (1u << 27)
#define TDES1_AC        (1u << 26)
#define TDES1_TER       (1u << 25)
#define TDES1_TCH       (1u << 24)
#define TDES1_DPD       (1u << 23)
#define TDES1_FT0       (1u << 22)

/* Setup frames: 192 bytes, filter type in TDES1 FT1:FT0. */
#define DEC21140A_SETUP_FRAME_LEN 192
#define DEC21140A_PERFECT_COUNT 16
#define DEC21140A_HASH_BITS     512
enum {
    DEC21140A_FILTER_PERFECT = 0,
    DEC21140A_FILTER_HASH = 1,          /* 512-bit hash plus one perfect */
    DEC21140A_FILTER_INVERSE = 2,
    DEC21140A_FILTER_HASH_ONLY = 3,
};

/* SROM: a 93C46 of 64 16-bit words, in the layout of format version 3. */
#define DEC21140A_SROM_WORDS    64
#define SROM_ADDR_BITS          6
#define SROM_SUBSYS_VENDOR      0       /* byte offsets */
#define SROM_SUBSYS_ID          2
#define SROM_VERSION            18
#define SROM_CONTROLLERS        19
#define SROM_MAC                20
#define SROM_LEAF_PTR           27
#define SROM_CRC                126
#define SROM_LEAF_OFFSET        0x1e    /* where our info leaf is */

/*
 * The MII PHY beside the chip: a National DP83840A at address 1.  The
 * registers and their bits are hw/net/mii.h's; the values are ours.
 */
#define DEC21140A_PHY_ADDR      1
#define DEC21140A_PHY_REGS      32
#define DEC21140A_PHYID1        0x2000
#define DEC21140A_PHYID2        0x5c01
#define DP83840_PAR             0x19    /* PHY address register */
#define DP83840_PAR_FDX_100     0x0080

#endif
