/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libqos driver for the DEC 21140A: a tiny guest driver that owns two
 * descriptor rings, bit-bangs the SROM and MII buses and moves frames, so
 * tests read like what they check.  The chip's bits are the model's own
 * (hw/net/dec21140a_regs.h, hw/net/mii.h).
 */
#ifndef QTEST_LIBQOS_DEC21140A_H
#define QTEST_LIBQOS_DEC21140A_H

#include "qgraph.h"
#include "pci.h"
#include "malloc.h"
#include "hw/net/mii.h"
#include "hw/net/dec21140a_regs.h"

#define QDEC_RING_SIZE      16
#define QDEC_BUF_SIZE       1536

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
 * processes with @csr6_extra (e.g. CSR6_PR) added.
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
/* The card's own PHY (at DEC21140A_PHY_ADDR). */
uint16_t qdec_phy_read(QDec21140a *d, unsigned reg);
void qdec_phy_write(QDec21140a *d, unsigned reg, uint16_t val);

/* The 512-bit hash index of @mac, as drivers compute it. */
unsigned qdec_hash_index(const uint8_t *mac);

#endif
