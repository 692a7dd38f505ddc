/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * DEC/Intel 21140A "Tulip FasterNet" Fast Ethernet controller: the chip
 * itself, independent of how it is attached (PCI glue in dec21140a.c).
 *
 * Theory of operation
 * -------------------
 * The 21140A is programmed through sixteen 32-bit CSRs and moves frames
 * through two descriptor lists in guest memory.  Each descriptor is four
 * little-endian longwords: a status word whose OWN bit says who holds it,
 * a control word with up to two buffer sizes, and two buffer addresses;
 * in chain mode the second address points to the next descriptor.
 *
 *  - Transmit: after a poll demand (CSR1), a CSR6 ST 0->1 transition or a
 *    transmit auto-poll tick (CSR0 TAP), the engine (a bottom half, so it
 *    runs beside the vCPU like the chip's DMA engine beside the CPU, and a
 *    burst the driver queues goes out in one walk) walks owned descriptors,
 *    gathers buffers into one frame up to the descriptor with LS, hands it
 *    to the network (or back to the receiver in internal loopback), and
 *    clears OWN.  Setup frames (SET) load the address filter instead.  It
 *    suspends on the first descriptor the driver still owns (TU).
 *  - Receive: a frame that passes the address filter is written across
 *    as many owned descriptors as it needs, FL counting the CRC, which we
 *    append.  With no descriptor the receiver suspends (RU).  Like the
 *    chip's FIFO, we hold the frame (QEMU queues it) and poll the ring
 *    again on the driver's next CSR access or after a short time; frames
 *    still without a buffer after DEC21140A_RX_STALL_NS are missed and
 *    counted in CSR8.  Linux never writes CSR2, so this re-poll is what
 *    resumes reception.
 *  - CSR9 carries two bit-banged serial buses: a 93C46 SROM holding the
 *    MAC and the media description drivers parse, and MDIO to one MII PHY
 *    whose link bit follows the netdev's link state.
 *  - CSR11 is a down-counting timer raising GTE; CSR12 a general-purpose
 *    port whose pin 7 reads 0 while the link is up.
 *
 * Every walk over guest descriptors is bounded, DMA goes through the PCI
 * address space with QEMU's reentrancy guard, and a DMA error stops both
 * processes with a fatal bus error (FBE), as on the chip.
 */
#ifndef HW_NET_DEC21140A_CORE_H
#define HW_NET_DEC21140A_CORE_H

#include "hw/pci/pci_device.h"
#include "net/net.h"
#include "qemu/timer.h"

#define DEC21140A_NUM_CSR       16
#define DEC21140A_CSR_BAR_SIZE  128
#define DEC21140A_SROM_WORDS    64
#define DEC21140A_PHY_REGS      32
#define DEC21140A_PHY_ADDR      1
#define DEC21140A_PERFECT_COUNT 16
#define DEC21140A_HASH_BITS     512
/* Largest frame the transmitter accepts before declaring jabber. */
#define DEC21140A_TX_MAX        2048
/* A received frame plus its CRC. */
#define DEC21140A_RX_MAX        (DEC21140A_TX_MAX + 4)
/* How long a frame may wait for a receive buffer before it is missed. */
#define DEC21140A_RX_STALL_NS   (20 * SCALE_MS)
/* How often a suspended receiver looks at its ring again. */
#define DEC21140A_RX_REPOLL_NS  (1 * SCALE_MS)

/* CSR0: bus mode */
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

/* Descriptor words */
#define DES0_OWN        (1u << 31)
#define RDES0_FL_SHIFT  16
#define RDES0_FL_MASK   0x3fff
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

#define DEC21140A_SETUP_FRAME_LEN 192

/* SROM serial state */
enum {
    SROM_IDLE,          /* waiting for the start bit */
    SROM_COMMAND,       /* shifting in opcode and address */
    SROM_READ,          /* shifting out data */
    SROM_IGNORE,        /* an opcode we do not implement, until CS drops */
};

/* MDIO serial state */
enum {
    MDIO_IDLE,          /* counting preamble ones */
    MDIO_START,         /* saw the 0 of the start pattern */
    MDIO_COMMAND,       /* opcode, PHY and register address */
    MDIO_READ,          /* turnaround then 16 data bits from the PHY */
    MDIO_WRITE,         /* turnaround then 16 data bits to the PHY */
};

/**
 * struct Dec21140aCore - the chip.
 * @owner: the PCI function DMA goes through and interrupts come from.
 * @nic: the QEMU network client.
 * @csr: CSR0..15 as the driver reads them, except the live fields that
 *       dec21140a_csr_read() computes (CSR5 states, CSR9 inputs, CSR11
 *       count, CSR12 pins).
 * @rx_cur, @tx_cur: the descriptor each process looks at next.
 * @rx_stalled: the receiver holds a frame and has no buffer for it.
 * @rx_stall_start: virtual time at which that began.
 * @rx_suspended, @tx_suspended: the process is running but has no
 *                  descriptor (RS/TS read "suspended").
 * @tx_frame, @tx_len: the frame being gathered across descriptors.
 * @tx_jabber: the current frame outgrew @tx_frame and is being dropped.
 * @perfect: the 16 perfect-filter addresses from the last setup frame.
 * @hash: the 512-bit multicast hash table.
 * @gp_dir, @gp_data: CSR12 pin directions (1 = output) and output latch.
 * @gp_timer: CSR11; expires at @gp_timer_deadline.
 * @tap_timer: the transmit auto-poll.
 * @tx_bh: runs the transmit engine.
 * @rx_repoll_timer: re-polls a suspended receiver that holds a frame.
 * @srom: the SROM image, built from the MAC and subsystem IDs.
 * @srom_state, @srom_shift, @srom_bits, @srom_addr, @srom_do: the 93C46
 *                  serial state machine.
 * @phy: the MII PHY's registers.
 * @phy_link_latched_down: BMSR's latching-low link bit.
 * @mdio_*: the MDIO serial state machine.
 * @csr9_last: the CSR9 value the driver wrote last, for edge detection.
 * @link_up: the cable is plugged: a netdev is attached and its link is up.
 */
typedef struct Dec21140aCore {
    PCIDevice *owner;
    NICState *nic;

    uint32_t csr[DEC21140A_NUM_CSR];
    uint32_t rx_cur;
    uint32_t tx_cur;
    bool rx_stalled;
    int64_t rx_stall_start;
    bool rx_suspended;
    bool tx_suspended;

    uint8_t tx_frame[DEC21140A_TX_MAX];
    uint32_t tx_len;
    bool tx_jabber;

    uint8_t perfect[DEC21140A_PERFECT_COUNT][6];
    uint8_t hash[DEC21140A_HASH_BITS / 8];

    uint8_t gp_dir;
    uint8_t gp_data;
    QEMUTimer *gp_timer;
    int64_t gp_timer_deadline;
    QEMUTimer *tap_timer;
    QEMUBH *tx_bh;
    QEMUTimer *rx_repoll_timer;

    uint16_t srom[DEC21140A_SROM_WORDS];
    uint8_t srom_state;
    uint16_t srom_shift;
    uint8_t srom_bits;
    uint8_t srom_addr;
    uint8_t srom_do;
    uint8_t srom_bit;

    uint16_t phy[DEC21140A_PHY_REGS];
    bool phy_link_latched_down;
    uint8_t mdio_state;
    uint32_t mdio_shift;
    uint8_t mdio_bits;
    uint8_t mdio_ones;
    uint8_t mdio_phy;
    uint8_t mdio_reg;
    uint8_t mdio_mdi;
    uint32_t csr9_last;

    bool link_up;
} Dec21140aCore;

void dec21140a_core_init(Dec21140aCore *s, PCIDevice *owner);
void dec21140a_core_cleanup(Dec21140aCore *s);
/* Power-on (PCI) reset: the chip and its PHY. */
void dec21140a_core_power_on(Dec21140aCore *s);
/* Software reset (CSR0 SWR): the chip only. */
void dec21140a_core_reset(Dec21140aCore *s);
/* Build the SROM image for @mac and the subsystem IDs. */
void dec21140a_core_build_srom(Dec21140aCore *s, const uint8_t *mac,
                               uint16_t subsys_vendor, uint16_t subsys_id);
uint32_t dec21140a_csr_read(Dec21140aCore *s, unsigned idx);
void dec21140a_csr_write(Dec21140aCore *s, unsigned idx, uint32_t val);
/* The cable was plugged or pulled. */
void dec21140a_core_set_link(Dec21140aCore *s, bool up);
bool dec21140a_can_receive(Dec21140aCore *s);
ssize_t dec21140a_receive(Dec21140aCore *s, const uint8_t *buf, size_t size);

extern const VMStateDescription vmstate_dec21140a_core;

#endif
