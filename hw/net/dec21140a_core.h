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
 *  - Transmit: on a poll demand (CSR1), a CSR6 ST 0->1 transition or a
 *    transmit auto-poll tick (CSR0 TAP), the engine walks owned
 *    descriptors at once, gathers buffers into one frame up to the
 *    descriptor with LS, hands it to the network (or back to the receiver
 *    in internal loopback), and clears OWN.  Setup frames (SET) load the
 *    address filter instead.  It suspends on the first descriptor the
 *    driver still owns (TU).  A walk stops after TX_WALK_LIMIT descriptors
 *    and goes on from a bottom half.
 *  - Receive: a frame that passes the address filter is written across
 *    as many owned descriptors as it needs, FL counting the CRC, which we
 *    append.  With no descriptor the receiver suspends (RU).  Like the
 *    chip's FIFO, we hold the frame (QEMU queues it) and poll the ring
 *    again on the driver's next CSR access or after a short time; frames
 *    still without a buffer after DEC21140A_RX_STALL_NS are missed and
 *    counted in CSR8.  Linux never writes CSR2, so this re-poll is what
 *    resumes reception.
 *  - Stopping: clearing CSR6 SR or ST stops that process at once (no
 *    frame is ever half moved between two CSR accesses here, so the
 *    frame in flight is always done) and sets RPS or TPS; their interrupt
 *    follows the driver's next CSR access (see dec21140a_post()), the
 *    order drivers see on the chip and Linux's tulip_stop_rxtx() needs.
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
#include "hw/net/dec21140a_regs.h"

/* Largest frame the transmitter accepts before declaring jabber. */
#define DEC21140A_TX_MAX        2048
/* A received frame plus its CRC. */
#define DEC21140A_RX_MAX        (DEC21140A_TX_MAX + 4)
/* How long a frame may wait for a receive buffer before it is missed. */
#define DEC21140A_RX_STALL_NS   (20 * SCALE_MS)
/* How often a suspended receiver looks at its ring again. */
#define DEC21140A_RX_REPOLL_NS  (1 * SCALE_MS)

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
 * @tx_bh: continues a transmit walk that hit its limit, or after migration.
 * @rx_repoll_timer: re-polls a suspended receiver that holds a frame.
 * @srom: the SROM image, built from the MAC and subsystem IDs.
 * @srom_state, @srom_shift, @srom_bits, @srom_addr, @srom_do: the 93C46
 *                  serial state machine.
 * @phy: the MII PHY's registers.
 * @phy_link_latched_down: BMSR's latching-low link bit.
 * @mdio_*: the MDIO serial state machine.
 * @csr9_last: the CSR9 value the driver wrote last, for edge detection.
 * @link_up: the cable is plugged: a netdev is attached and its link is up.
 * @irq_posted: CSR5 holds status INTA does not show yet (dec21140a_post()).
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
    bool irq_posted;
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
