/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libqos driver for the DEC 21140A: a tiny guest driver that owns two
 * descriptor rings, bit-bangs the SROM and MII buses and moves frames, so
 * tests read like what they check.
 */
#ifndef QTEST_LIBQOS_DEC21140A_H
#define QTEST_LIBQOS_DEC21140A_H

#include "qgraph.h"
#include "pci.h"
#include "malloc.h"

#define QDEC_VENDOR_ID      0x1011
#define QDEC_DEVICE_ID      0x0009
#define QDEC_RING_SIZE      16
#define QDEC_BUF_SIZE       1536

/* CSR bits the tests use */
#define QDEC_CSR0_SWR       (1u << 0)
#define QDEC_CSR5_TI        (1u << 0)
#define QDEC_CSR5_TPS       (1u << 1)
#define QDEC_CSR5_TU        (1u << 2)
#define QDEC_CSR5_TJT       (1u << 3)
#define QDEC_CSR5_RI        (1u << 6)
#define QDEC_CSR5_RU        (1u << 7)
#define QDEC_CSR5_RPS       (1u << 8)
#define QDEC_CSR5_GTE       (1u << 11)
#define QDEC_CSR5_FBE       (1u << 13)
#define QDEC_CSR5_AIS       (1u << 15)
#define QDEC_CSR5_NIS       (1u << 16)
#define QDEC_CSR5_RS(v)     (((v) >> 17) & 7)
#define QDEC_CSR5_TS(v)     (((v) >> 20) & 7)
#define QDEC_CSR6_HP        (1u << 0)
#define QDEC_CSR6_SR        (1u << 1)
#define QDEC_CSR6_HO        (1u << 2)
#define QDEC_CSR6_IF        (1u << 4)
#define QDEC_CSR6_PR        (1u << 6)
#define QDEC_CSR6_PM        (1u << 7)
#define QDEC_CSR6_OM_INT    (1u << 10)
#define QDEC_CSR6_ST        (1u << 13)
#define QDEC_CSR6_PS        (1u << 18)
#define QDEC_DES0_OWN       (1u << 31)
#define QDEC_RDES0_FS       (1u << 9)
#define QDEC_RDES0_LS       (1u << 8)
#define QDEC_RDES0_ES       (1u << 15)
#define QDEC_RDES0_MF       (1u << 10)
#define QDEC_RDES1_RER      (1u << 25)
#define QDEC_RDES1_RCH      (1u << 24)
#define QDEC_TDES0_ES       (1u << 15)
#define QDEC_TDES1_IC       (1u << 31)
#define QDEC_TDES1_LS       (1u << 30)
#define QDEC_TDES1_FS       (1u << 29)
#define QDEC_TDES1_FT1      (1u << 28)
#define QDEC_TDES1_SET      (1u << 27)
#define QDEC_TDES1_TER      (1u << 25)
#define QDEC_TDES1_TCH      (1u << 24)
#define QDEC_TDES1_FT0      (1u << 22)

/* Filter types for qdec_setup_frame() (TDES1 FT1:FT0) */
enum {
    QDEC_FILTER_PERFECT = 0,
    QDEC_FILTER_HASH = 1,
    QDEC_FILTER_INVERSE = 2,
    QDEC_FILTER_HASH_ONLY = 3,
};

typedef struct QDec21140a {
    QOSGraphObject obj;
    QPCIDevice dev;
    QPCIBar bar;
    QGuestAllocator *alloc;
    uint64_t rx_ring, tx_ring;      /* QDEC_RING_SIZE descriptors each */
    uint64_t rx_bufs, tx_bufs;      /* QDEC_BUF_SIZE per descriptor */
    unsigned rx_next, tx_next;
} QDec21140a;

uint32_t qdec_csr_read(QDec21140a *d, unsigned idx);
void qdec_csr_write(QDec21140a *d, unsigned idx, uint32_t val);

/*
 * Outside the qos graph (a test with its own machines): find the card at
 * @devfn on @bus, enable it and map its CSRs; qdec_pci_fini() unmaps.
 */
void qdec_pci_init(QDec21140a *d, QPCIBus *bus, int devfn);
void qdec_pci_fini(QDec21140a *d);

/* Enable the PCI function, reset the chip (SWR). */
void qdec_reset(QDec21140a *d);
/*
 * Reset, then build both rings in ring mode (RX descriptors owned by the
 * chip), point CSR3/CSR4 at them, enable all interrupts and start both
 * processes with @csr6_extra (e.g. QDEC_CSR6_PR) added.
 */
void qdec_start(QDec21140a *d, QGuestAllocator *alloc, uint32_t csr6_extra);
void qdec_stop(QDec21140a *d);

/* Read a descriptor's four words (host order). */
void qdec_desc_read(QDec21140a *d, uint64_t addr, uint32_t w[4]);
void qdec_desc_write(QDec21140a *d, uint64_t addr, const uint32_t w[4]);

/*
 * Wait (5 s at most) until the chip gives the descriptor at @addr back;
 * returns its first word.  The transmit engine runs beside the CPU.
 */
uint32_t qdec_wait_desc(QDec21140a *d, uint64_t addr);
/* Queue one frame in one descriptor and poll; returns TDES0 afterwards. */
uint32_t qdec_tx(QDec21140a *d, const void *frame, size_t len);
/* Load the address filter with a setup frame. */
void qdec_setup_frame(QDec21140a *d, int type, const uint8_t (*addrs)[6],
                      int count);
/*
 * Wait (stepping the virtual clock) for the next RX descriptor to be
 * returned; copies the frame without CRC and gives the descriptor back.
 * Returns the frame length, or -1 when none arrived.
 */
int qdec_rx(QDec21140a *d, void *buf, size_t max, uint32_t *rdes0);

/* The 93C46 SROM and MII PHY, bit-banged through CSR9. */
uint16_t qdec_srom_read(QDec21140a *d, unsigned addr, unsigned addr_bits);
uint16_t qdec_mii_read(QDec21140a *d, unsigned phy, unsigned reg);
void qdec_mii_write(QDec21140a *d, unsigned phy, unsigned reg, uint16_t val);

/* The 512-bit hash index of @mac, as drivers compute it. */
unsigned qdec_hash_index(const uint8_t *mac);

#endif
