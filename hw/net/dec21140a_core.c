/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * DEC/Intel 21140A Fast Ethernet controller: CSRs, descriptor engine,
 * address filter, SROM and MII PHY.  See dec21140a_core.h for the theory
 * of operation.
 *
 * Written from the 21140A's programming model as the Linux tulip, iPXE,
 * BSD de/dc and Windows dc21x4 drivers use it.
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/bswap.h"
#include "migration/vmstate.h"
#include "system/dma.h"
#include "hw/net/mii.h"
#include "dec21140a_core.h"
#include "dec21140a_fcs.h"
#include "trace.h"

/* How many descriptors one frame may span, and one TX poll may walk. */
#define RX_MAX_DESC_PER_FRAME   64
#define TX_WALK_LIMIT           1024

#define ETH_MIN_FRAME           60

/* The PHY's register values (bits from hw/net/mii.h) */
#define PHY_BMCR_DEFAULT    (MII_BMCR_SPEED100 | MII_BMCR_AUTOEN | MII_BMCR_FD)
/* 100/10 full/half capable, no 100BASE-T4: drivers reject a T4 PHY. */
#define PHY_BMSR_DOWN       (MII_BMSR_100TX_FD | MII_BMSR_100TX_HD | \
                             MII_BMSR_10T_FD | MII_BMSR_10T_HD | \
                             MII_BMSR_AUTONEG | MII_BMSR_EXTCAP)
#define PHY_ANAR_DEFAULT    (MII_ANAR_TXFD | MII_ANAR_TX | MII_ANAR_10FD | \
                             MII_ANAR_10 | MII_ANAR_CSMACD)
/* The link partner: acknowledges, 100/10 full/half. */
#define PHY_ANLPAR_UP       (MII_ANLPAR_ACK | MII_ANLPAR_TXFD | \
                             MII_ANLPAR_TX | MII_ANLPAR_10FD | \
                             MII_ANLPAR_10 | MII_ANLPAR_CSMACD)

/* Transmit auto-poll intervals for CSR0 TAP at 100 Mbit/s, in ns. */
static const int64_t tap_interval_ns[8] = {
    0, 200000, 800000, 1600000, 12800, 25600, 51200, 102400,
};

/* The SROM's 21140 info leaf: autosense, one MII block, PHY index 0. */
static const uint8_t srom_leaf[] = {
    0x00, 0x08,             /* connection type: autosense */
    0x00,                   /* GP port directions */
    0x01,                   /* one media block */
    0x8c, 0x01,             /* extended block of 12 bytes, type 1 (MII) */
    0x00,                   /* PHY index 0 */
    0x00, 0x00,             /* no GPR or reset sequence */
    0x00, 0x78,             /* capabilities 0x7800 */
    0xe0, 0x01,             /* advertisement 0x01e0 */
    0x00, 0x50,             /* full-duplex map 0x5000 */
    0x00, 0x18,             /* transmit threshold map 0x1800 */
};

/* Recompute CSR5's summaries; returns whether INTA should be asserted. */
static bool dec21140a_update_summary(Dec21140aCore *s)
{
    uint32_t st = s->csr[5] & ~(CSR5_AIS | CSR5_NIS);
    uint32_t en = s->csr[7];

    /* The summaries count only enabled sources. */
    if (st & en & CSR5_NORMAL) {
        st |= CSR5_NIS;
    }
    if (st & en & CSR5_ABNORMAL) {
        st |= CSR5_AIS;
    }
    s->csr[5] = st;
    return (st & en & (CSR5_NIS | CSR5_AIS)) != 0;
}

static void dec21140a_update_irq(Dec21140aCore *s)
{
    int level = dec21140a_update_summary(s);

    s->irq_posted = false;
    trace_dec21140a_irq(level, s->csr[5]);
    pci_set_irq(s->owner, level);
}

static void dec21140a_raise(Dec21140aCore *s, uint32_t bits)
{
    s->csr[5] |= bits;
    dec21140a_update_irq(s);
}

/*
 * Set status @bits now but assert the interrupt only once the driver's
 * next CSR access is done (or sooner, with any other event).  For the
 * stop events, TPS and RPS: on the chip the interrupt of a commanded stop
 * reaches the CPU after the frame in flight and the interrupt's own
 * latency, long after the driver's first read of CSR5, and Linux depends
 * on that order: tulip_stop_rxtx() clears CSR6 SR/ST and reads CSR5 until
 * both processes read stopped, while its interrupt handler restarts any
 * stopped process it is told about (TPS is "TxDied", RPS "RxDied").  Were
 * the line raised within the CSR6 write, the handler would run before
 * that read and turn both processes back on.
 */
static void dec21140a_post(Dec21140aCore *s, uint32_t bits)
{
    s->csr[5] |= bits;
    dec21140a_update_summary(s);
    s->irq_posted = true;
}

static unsigned dec21140a_dsl(Dec21140aCore *s)
{
    return (s->csr[0] >> CSR0_DSL_SHIFT) & CSR0_DSL_MASK;
}

static uint32_t dec21140a_desc_word(Dec21140aCore *s, uint32_t raw)
{
    return (s->csr[0] & CSR0_DBO) ? be32_to_cpu(raw) : le32_to_cpu(raw);
}

/*
 * A DMA error stops both processes, as the chip does on a PCI master or
 * target abort; the driver must reset it.
 */
static void dec21140a_bus_error(Dec21140aCore *s, dma_addr_t addr)
{
    qemu_log_mask(LOG_GUEST_ERROR, "dec21140a: DMA error at 0x%" PRIx64
                  ", stopping\n", (uint64_t)addr);
    s->csr[6] &= ~(CSR6_SR | CSR6_ST);
    s->rx_suspended = s->tx_suspended = false;
    timer_del(s->tap_timer);
    timer_del(s->rx_repoll_timer);
    qemu_bh_cancel(s->tx_bh);
    dec21140a_raise(s, CSR5_FBE);
}

static bool dec21140a_read_desc(Dec21140aCore *s, uint32_t addr,
                                uint32_t d[4])
{
    if (pci_dma_read(s->owner, addr, d, 16) != MEMTX_OK) {
        dec21140a_bus_error(s, addr);
        return false;
    }
    for (int i = 0; i < 4; i++) {
        d[i] = dec21140a_desc_word(s, d[i]);
    }
    return true;
}

static bool dec21140a_write_status(Dec21140aCore *s, uint32_t addr,
                                   uint32_t status)
{
    uint32_t raw = (s->csr[0] & CSR0_DBO) ? cpu_to_be32(status)
                                          : cpu_to_le32(status);

    if (pci_dma_write(s->owner, addr, &raw, 4) != MEMTX_OK) {
        dec21140a_bus_error(s, addr);
        return false;
    }
    return true;
}

/* The descriptor after @addr in ring mode; @end is RER/TER. */
static uint32_t dec21140a_ring_next(Dec21140aCore *s, uint32_t addr,
                                    bool end, uint32_t base)
{
    return end ? base : addr + 16 + dec21140a_dsl(s) * 4;
}

/* Address filter */

static unsigned dec21140a_hash_index(const uint8_t *mac)
{
    return net_crc32_le(mac, 6) & (DEC21140A_HASH_BITS - 1);
}

static bool dec21140a_filter(Dec21140aCore *s, const uint8_t *dst)
{
    uint32_t csr6 = s->csr[6];
    bool multicast = dst[0] & 1;
    bool match = false;

    if (csr6 & CSR6_PR) {
        return true;
    }
    if (multicast && (csr6 & CSR6_PM)) {
        return true;
    }
    if (csr6 & CSR6_HP) {
        /* Hash modes: one perfect address for unicast unless hash-only. */
        if (!multicast && !(csr6 & CSR6_HO)) {
            return memcmp(dst, s->perfect[0], 6) == 0;
        }
        unsigned idx = dec21140a_hash_index(dst);
        return s->hash[idx / 8] & (1 << (idx % 8));
    }
    /* Perfect filtering; broadcast passes only if it is in the table. */
    for (int i = 0; i < DEC21140A_PERFECT_COUNT; i++) {
        if (memcmp(dst, s->perfect[i], 6) == 0) {
            match = true;
            break;
        }
    }
    return (csr6 & CSR6_IF) ? !match : match;
}

/*
 * A setup frame: 192 bytes seen as 48 longwords, of which only the low
 * 16 bits carry data.  Its filter type also sets CSR6 HP/HO/IF.
 */
static void dec21140a_setup_frame(Dec21140aCore *s, uint32_t tdes1,
                                  uint32_t buf, uint32_t len)
{
    uint8_t raw[DEC21140A_SETUP_FRAME_LEN] = { 0 };
    uint16_t lw[DEC21140A_SETUP_FRAME_LEN / 4];
    unsigned ft = ((tdes1 & TDES1_FT1) ? 2 : 0) | ((tdes1 & TDES1_FT0) ? 1 : 0);

    if (len != DEC21140A_SETUP_FRAME_LEN) {
        qemu_log_mask(LOG_GUEST_ERROR, "dec21140a: setup frame of %u bytes, "
                      "expected 192\n", len);
        len = MIN(len, DEC21140A_SETUP_FRAME_LEN);
    }
    if (pci_dma_read(s->owner, buf, raw, len) != MEMTX_OK) {
        dec21140a_bus_error(s, buf);
        return;
    }
    for (int i = 0; i < ARRAY_SIZE(lw); i++) {
        lw[i] = lduw_le_p(raw + i * 4);
    }

    s->csr[6] &= ~CSR6_FILTER_RO;
    memset(s->perfect, 0, sizeof(s->perfect));
    memset(s->hash, 0, sizeof(s->hash));
    switch (ft) {
    case 0:                                     /* perfect */
    case 2:                                     /* inverse */
        for (int i = 0; i < DEC21140A_PERFECT_COUNT; i++) {
            for (int j = 0; j < 3; j++) {
                stw_le_p(&s->perfect[i][j * 2], lw[i * 3 + j]);
            }
        }
        if (ft == 2) {
            s->csr[6] |= CSR6_IF;
        }
        break;
    case 1:                                     /* hash plus one perfect */
    case 3:                                     /* hash only */
        for (int i = 0; i < 32; i++) {
            stw_le_p(&s->hash[i * 2], lw[i]);
        }
        for (int j = 0; j < 3; j++) {
            stw_le_p(&s->perfect[0][j * 2], lw[39 + j]);
        }
        s->csr[6] |= CSR6_HP | (ft == 3 ? CSR6_HO : 0);
        break;
    }
    trace_dec21140a_setup_frame(ft, s->perfect[0][0], s->perfect[0][1],
                                s->perfect[0][2], s->perfect[0][3],
                                s->perfect[0][4], s->perfect[0][5]);
}

/* Receive */

static void dec21140a_rx_stall_end(Dec21140aCore *s)
{
    s->rx_stalled = false;
    timer_del(s->rx_repoll_timer);
}

/* Look at the ring again for a frame QEMU holds for us. */
static void dec21140a_rx_repoll(Dec21140aCore *s)
{
    if (s->rx_stalled && s->nic) {
        trace_dec21140a_rx_repoll(s->rx_cur);
        qemu_flush_queued_packets(qemu_get_queue(s->nic));
    }
}

static void dec21140a_rx_repoll_timer(void *opaque)
{
    Dec21140aCore *s = opaque;

    dec21140a_rx_repoll(s);
    if (s->rx_stalled) {
        timer_mod(s->rx_repoll_timer,
                  qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  DEC21140A_RX_REPOLL_NS);
    }
}

static void dec21140a_count_missed(Dec21140aCore *s)
{
    uint32_t n = s->csr[8] & CSR8_COUNT_MASK;

    if (n == CSR8_COUNT_MASK) {
        s->csr[8] |= CSR8_OVERFLOW;
    } else {
        s->csr[8] = (s->csr[8] & CSR8_OVERFLOW) | (n + 1);
    }
}

typedef enum {
    RX_DONE,            /* written to guest memory */
    RX_NO_BUFFER,       /* the next descriptor belongs to the driver */
    RX_DROPPED,         /* dropped for good (too many descriptors, DMA) */
} Dec21140aRxResult;

/*
 * Write one frame (CRC included) across owned descriptors.  The ring is
 * checked first, so a frame is written whole or not at all; statuses are
 * written last to first so the driver never sees a first descriptor
 * without the rest of its frame.
 */
static Dec21140aRxResult dec21140a_rx_write(Dec21140aCore *s,
                                            const uint8_t *frame,
                                            uint32_t len)
{
    uint32_t addrs[RX_MAX_DESC_PER_FRAME];
    uint32_t bufs[RX_MAX_DESC_PER_FRAME][2];
    uint32_t sizes[RX_MAX_DESC_PER_FRAME][2];
    uint32_t next = s->rx_cur, room = 0, status;
    unsigned n = 0, done = 0;

    while (room < len) {
        uint32_t d[4];
        bool chain;

        if (n == RX_MAX_DESC_PER_FRAME) {
            qemu_log_mask(LOG_GUEST_ERROR, "dec21140a: a %u-byte frame needs "
                          "more than %d receive descriptors\n", len, n);
            return RX_DROPPED;
        }
        if (!dec21140a_read_desc(s, next, d)) {
            return RX_DROPPED;
        }
        trace_dec21140a_rx_desc(next, d[0], d[1], d[2], d[3]);
        if (!(d[0] & DES0_OWN)) {
            return RX_NO_BUFFER;
        }
        chain = d[1] & RDES1_RCH;
        addrs[n] = next;
        bufs[n][0] = d[2];
        bufs[n][1] = d[3];
        sizes[n][0] = d[1] & DES1_BS_MASK;
        sizes[n][1] = chain ? 0 : (d[1] >> DES1_BS2_SHIFT) & DES1_BS_MASK;
        room += sizes[n][0] + sizes[n][1];
        next = chain ? d[3] : dec21140a_ring_next(s, next, d[1] & RDES1_RER,
                                                 s->csr[3]);
        next &= ~3u;
        n++;
    }

    for (unsigned i = 0; i < n; i++) {
        for (int b = 0; b < 2 && done < len; b++) {
            uint32_t chunk = MIN(sizes[i][b], len - done);

            if (chunk && pci_dma_write(s->owner, bufs[i][b], frame + done,
                                       chunk) != MEMTX_OK) {
                dec21140a_bus_error(s, bufs[i][b]);
                return RX_DROPPED;
            }
            done += chunk;
        }
    }

    status = RDES0_LS | ((len & RDES0_FL_MASK) << RDES0_FL_SHIFT);
    if (frame[0] & 1) {
        status |= RDES0_MF;
    }
    if (lduw_be_p(frame + 12) >= 0x600) {
        status |= RDES0_FT;
    }
    for (int i = n - 1; i >= 0; i--) {
        uint32_t st = (i == n - 1) ? status : 0;

        if (i == 0) {
            st |= RDES0_FS;
        }
        if (!dec21140a_write_status(s, addrs[i], st)) {
            return RX_DROPPED;
        }
    }
    s->rx_cur = next;
    trace_dec21140a_rx_frame(len, n, status);
    return RX_DONE;
}

bool dec21140a_can_receive(Dec21140aCore *s)
{
    /* The receiver accepts (or misses) frames whenever it is on. */
    return true;
}

ssize_t dec21140a_receive(Dec21140aCore *s, const uint8_t *buf, size_t size)
{
    uint8_t frame[DEC21140A_RX_MAX];
    uint32_t len = size, fcs;
    int64_t now;

    if (!(s->csr[6] & CSR6_SR) || !s->link_up) {
        return size;
    }
    if (size < 14 || size > DEC21140A_TX_MAX) {
        trace_dec21140a_rx_drop(size, "size");
        return size;
    }
    if (!dec21140a_filter(s, buf)) {
        trace_dec21140a_rx_filter(buf[0], buf[1], buf[2], buf[3], buf[4],
                                  buf[5], s->csr[6], 0);
        return size;
    }
    trace_dec21140a_rx_filter(buf[0], buf[1], buf[2], buf[3], buf[4], buf[5],
                              s->csr[6], 1);

    memcpy(frame, buf, size);
    if (len < ETH_MIN_FRAME) {
        memset(frame + len, 0, ETH_MIN_FRAME - len);
        len = ETH_MIN_FRAME;
    }
    fcs = dec21140a_fcs(frame, len);
    stl_le_p(frame + len, fcs);
    len += 4;

    switch (dec21140a_rx_write(s, frame, len)) {
    case RX_DONE:
        s->rx_suspended = false;
        dec21140a_rx_stall_end(s);
        dec21140a_raise(s, CSR5_RI);
        return size;
    case RX_DROPPED:
        dec21140a_count_missed(s);
        return size;
    case RX_NO_BUFFER:
        break;
    }

    /* No buffer: suspend, hold the frame for a while, then miss it. */
    now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    if (!s->rx_suspended) {
        s->rx_suspended = true;
        trace_dec21140a_rx_unavailable(s->rx_cur);
        dec21140a_raise(s, CSR5_RU);
    }
    if (!s->rx_stalled) {
        s->rx_stalled = true;
        s->rx_stall_start = now;
    }
    if (now - s->rx_stall_start < DEC21140A_RX_STALL_NS) {
        if (!timer_pending(s->rx_repoll_timer)) {
            timer_mod(s->rx_repoll_timer, now + DEC21140A_RX_REPOLL_NS);
        }
        return 0;
    }
    dec21140a_count_missed(s);
    trace_dec21140a_rx_drop(size, "no receive buffer");
    return size;
}

/* Transmit */

static bool dec21140a_internal_loopback(Dec21140aCore *s)
{
    return ((s->csr[6] >> CSR6_OM_SHIFT) & CSR6_OM_MASK) == CSR6_OM_INTERNAL;
}

static void dec21140a_tx_send(Dec21140aCore *s, uint32_t tdes1)
{
    uint32_t len = s->tx_len;

    if (len < ETH_MIN_FRAME && !(tdes1 & TDES1_DPD)) {
        memset(s->tx_frame + len, 0, ETH_MIN_FRAME - len);
        len = ETH_MIN_FRAME;
    }
    trace_dec21140a_tx_frame(len);
    if (dec21140a_internal_loopback(s)) {
        /* Internal loopback: back into our own receiver, through the queue. */
        qemu_receive_packet(qemu_get_queue(s->nic), s->tx_frame, len);
    } else {
        qemu_send_packet(qemu_get_queue(s->nic), s->tx_frame, len);
    }
}

static bool dec21140a_tx_append(Dec21140aCore *s, uint32_t addr,
                                uint32_t size)
{
    uint32_t room = DEC21140A_TX_MAX - s->tx_len;

    if (!size || s->tx_jabber) {
        return true;
    }
    if (size > room) {
        qemu_log_mask(LOG_GUEST_ERROR, "dec21140a: transmit frame longer "
                      "than %d bytes\n", DEC21140A_TX_MAX);
        s->tx_jabber = true;
        return true;
    }
    if (pci_dma_read(s->owner, addr, s->tx_frame + s->tx_len, size)
        != MEMTX_OK) {
        dec21140a_bus_error(s, addr);
        return false;
    }
    s->tx_len += size;
    return true;
}

static void dec21140a_tap_arm(Dec21140aCore *s)
{
    unsigned tap = (s->csr[0] >> CSR0_TAP_SHIFT) & CSR0_TAP_MASK;

    if (tap && (s->csr[6] & CSR6_ST)) {
        timer_mod(s->tap_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  tap_interval_ns[tap]);
    } else {
        timer_del(s->tap_timer);
    }
}

static void dec21140a_tx_poll(Dec21140aCore *s)
{
    bool was_suspended = s->tx_suspended;
    unsigned n;

    if (!(s->csr[6] & CSR6_ST)) {
        return;
    }
    for (n = 0; n < TX_WALK_LIMIT; n++) {
        uint32_t d[4], status = 0, addr = s->tx_cur;
        bool chain;

        if (!dec21140a_read_desc(s, addr, d)) {
            return;
        }
        trace_dec21140a_tx_desc(addr, d[0], d[1], d[2], d[3]);
        if (!(d[0] & DES0_OWN)) {
            break;
        }
        s->tx_suspended = false;
        chain = d[1] & TDES1_TCH;

        if (d[1] & TDES1_SET) {
            dec21140a_setup_frame(s, d[1], d[2], d[1] & DES1_BS_MASK);
        } else {
            if (d[1] & TDES1_FS) {
                s->tx_len = 0;
                s->tx_jabber = false;
            }
            if (!dec21140a_tx_append(s, d[2], d[1] & DES1_BS_MASK) ||
                (!chain && !dec21140a_tx_append(s, d[3],
                        (d[1] >> DES1_BS2_SHIFT) & DES1_BS_MASK))) {
                return;
            }
            if (d[1] & TDES1_LS) {
                if (s->tx_jabber) {
                    status = TDES0_ES | TDES0_TO;
                    dec21140a_raise(s, CSR5_TJT);
                } else if (!s->link_up && !dec21140a_internal_loopback(s)) {
                    /* Cable pulled: the frame goes nowhere, as on a wire. */
                    status = TDES0_ES | TDES0_LO | TDES0_NC;
                } else if (s->tx_len) {
                    dec21140a_tx_send(s, d[1]);
                }
                s->tx_len = 0;
                s->tx_jabber = false;
            }
        }
        if (!(s->csr[6] & CSR6_ST)) {
            return;     /* a DMA error stopped us */
        }
        if (!dec21140a_write_status(s, addr, status)) {
            return;
        }
        if ((d[1] & (TDES1_IC | TDES1_LS)) == (TDES1_IC | TDES1_LS) ||
            (d[1] & (TDES1_IC | TDES1_SET)) == (TDES1_IC | TDES1_SET)) {
            dec21140a_raise(s, CSR5_TI);
        }
        s->tx_cur = (chain ? d[3] : dec21140a_ring_next(s, addr,
                                                        d[1] & TDES1_TER,
                                                        s->csr[4])) & ~3u;
    }
    if (n == TX_WALK_LIMIT) {
        /* Let the main loop breathe, then carry on. */
        qemu_bh_schedule(s->tx_bh);
    } else {
        s->tx_suspended = true;
        if (n || !was_suspended) {
            dec21140a_raise(s, CSR5_TU);
        }
    }
    dec21140a_tap_arm(s);
}

static void dec21140a_tx_bh(void *opaque)
{
    dec21140a_tx_poll(opaque);
}

/*
 * Start the transmit engine, at once: the chip fetches on a poll demand
 * without delay, and walking here, in the context of the access, is what
 * QEMU's other NICs do.  (A bottom half, running beside the vCPU, was
 * tried: every poll demand then woke the main loop and handed it the
 * lock, a main-loop wakeup per frame and ten times the context switches,
 * for the sake of one TU per burst instead of one per walk; see
 * "make bench-nic" in README.md.)  The bottom half remains for a walk
 * that hit TX_WALK_LIMIT, and for after migration.
 */
static void dec21140a_tx_kick(Dec21140aCore *s)
{
    if (s->csr[6] & CSR6_ST) {
        qemu_bh_cancel(s->tx_bh);
        dec21140a_tx_poll(s);
    }
}

static void dec21140a_tap_timer(void *opaque)
{
    dec21140a_tx_kick(opaque);
}

/* General-purpose timer (CSR11) */

static int64_t dec21140a_gp_tick_ns(Dec21140aCore *s)
{
    /* 81.92 us per count on the 100 Mbit/s port, 204.8 us at 10 Mbit/s. */
    return (s->csr[6] & CSR6_PS) ? 81920 : 204800;
}

static void dec21140a_gp_timer_start(Dec21140aCore *s, int64_t from)
{
    uint32_t count = s->csr[11] & CSR11_COUNT;

    if (!count) {
        timer_del(s->gp_timer);
        s->gp_timer_deadline = 0;
        return;
    }
    s->gp_timer_deadline = from + count * dec21140a_gp_tick_ns(s);
    timer_mod(s->gp_timer, s->gp_timer_deadline);
}

static void dec21140a_gp_timer_expired(void *opaque)
{
    Dec21140aCore *s = opaque;

    trace_dec21140a_gp_timer(s->csr[11]);
    if (s->csr[11] & CSR11_CON) {
        dec21140a_gp_timer_start(s, s->gp_timer_deadline);
    } else {
        s->gp_timer_deadline = 0;
    }
    dec21140a_raise(s, CSR5_GTE);
}

static uint32_t dec21140a_gp_timer_read(Dec21140aCore *s)
{
    int64_t now, tick, left;

    if (!s->gp_timer_deadline) {
        return s->csr[11] & CSR11_CON;
    }
    now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    tick = dec21140a_gp_tick_ns(s);
    left = MAX(s->gp_timer_deadline - now, 0);
    return (s->csr[11] & CSR11_CON) | MIN((left + tick - 1) / tick,
                                          CSR11_COUNT);
}

/* SROM (93C46, 64 x 16 bits) */

void dec21140a_core_build_srom(Dec21140aCore *s, const uint8_t *mac,
                               uint16_t subsys_vendor, uint16_t subsys_id)
{
    uint8_t b[DEC21140A_SROM_WORDS * 2] = { 0 };

    stw_le_p(b + SROM_SUBSYS_VENDOR, subsys_vendor);
    stw_le_p(b + SROM_SUBSYS_ID, subsys_id);
    b[SROM_VERSION] = 3;
    b[SROM_CONTROLLERS] = 1;
    memcpy(b + SROM_MAC, mac, 6);
    b[SROM_MAC + 6] = 0;        /* controller 0 */
    stw_le_p(b + SROM_LEAF_PTR, SROM_LEAF_OFFSET);
    memcpy(b + SROM_LEAF_OFFSET, srom_leaf, sizeof(srom_leaf));
    /* Low 16 bits of the Ethernet FCS over bytes 0..125 (as de checks). */
    stw_le_p(b + SROM_CRC, ~net_crc32_le(b, SROM_CRC) & 0xffff);

    for (int i = 0; i < DEC21140A_SROM_WORDS; i++) {
        s->srom[i] = lduw_le_p(b + i * 2);
    }
}

static void dec21140a_srom_reset(Dec21140aCore *s)
{
    s->srom_state = SROM_IDLE;
    s->srom_shift = 0;
    s->srom_bits = 0;
    s->srom_do = 1;
}

/* One rising edge of SK with CS high; @di is the bit from the driver. */
static void dec21140a_srom_clock(Dec21140aCore *s, unsigned di)
{
    switch (s->srom_state) {
    case SROM_IDLE:
        if (di) {               /* the start bit */
            s->srom_state = SROM_COMMAND;
            s->srom_shift = 0;
            s->srom_bits = 0;
        }
        s->srom_do = 1;
        break;
    case SROM_COMMAND:
        s->srom_shift = (s->srom_shift << 1) | di;
        if (++s->srom_bits < 8) {
            s->srom_do = 1;
            break;
        }
        if ((s->srom_shift >> 6) == 2) {
            /* READ: a dummy 0 follows the last address bit. */
            s->srom_state = SROM_READ;
            s->srom_addr = s->srom_shift & (DEC21140A_SROM_WORDS - 1);
            s->srom_bit = 16;
            s->srom_do = 0;
            trace_dec21140a_srom_read(s->srom_addr, s->srom[s->srom_addr]);
        } else {
            s->srom_state = SROM_IGNORE;
            s->srom_do = 1;
        }
        break;
    case SROM_READ:
        if (s->srom_bit == 0) {         /* sequential read */
            s->srom_addr = (s->srom_addr + 1) % DEC21140A_SROM_WORDS;
            s->srom_bit = 16;
        }
        s->srom_bit--;
        s->srom_do = (s->srom[s->srom_addr] >> s->srom_bit) & 1;
        break;
    case SROM_IGNORE:
        break;
    }
}

/* MII PHY */

/* The PHY's own reset: at power-on and through BMCR, not by CSR0 SWR. */
static void dec21140a_phy_reset(Dec21140aCore *s)
{
    memset(s->phy, 0, sizeof(s->phy));
    s->phy[MII_BMCR] = PHY_BMCR_DEFAULT;
    s->phy[MII_PHYID1] = DEC21140A_PHYID1;
    s->phy[MII_PHYID2] = DEC21140A_PHYID2;
    s->phy[MII_ANAR] = PHY_ANAR_DEFAULT;
    s->phy_link_latched_down = !s->link_up;
}

static uint16_t dec21140a_phy_read(Dec21140aCore *s, unsigned reg)
{
    uint16_t val;

    switch (reg) {
    case MII_BMSR:
        val = PHY_BMSR_DOWN;
        if (s->link_up) {
            val |= MII_BMSR_AN_COMP;
            /* The link bit latches low until read once. */
            if (!s->phy_link_latched_down) {
                val |= MII_BMSR_LINK_ST;
            }
        }
        s->phy_link_latched_down = false;
        break;
    case MII_ANLPAR:
        val = s->link_up ? PHY_ANLPAR_UP : 0;
        break;
    case MII_ANER:
        val = s->link_up ? MII_ANER_NWAY : 0;
        break;
    case DP83840_PAR:
        val = DP83840_PAR_FDX_100 | DEC21140A_PHY_ADDR;
        break;
    default:
        val = s->phy[reg];
        break;
    }
    trace_dec21140a_mii_read(reg, val);
    return val;
}

static void dec21140a_phy_write(Dec21140aCore *s, unsigned reg, uint16_t val)
{
    trace_dec21140a_mii_write(reg, val);
    switch (reg) {
    case MII_BMCR:
        if (val & MII_BMCR_RESET) {
            dec21140a_phy_reset(s);
            s->phy_link_latched_down = false;
        } else {
            /* Autonegotiation completes at once: restart self-clears. */
            s->phy[MII_BMCR] = val & ~MII_BMCR_ANRESTART;
        }
        break;
    case MII_ANAR:
        s->phy[MII_ANAR] = val;
        break;
    default:
        break;
    }
}

/*
 * One rising edge of MDC; @bit is MDO.  The frame is 32 or more preamble
 * ones, start 01, opcode (10 read, 01 write), PHY and register address,
 * turnaround and 16 data bits, most significant first.  For a read the
 * PHY drives MDI after each rising edge: 0 for the second turnaround bit,
 * then the data.
 */
static void dec21140a_mdio_clock(Dec21140aCore *s, unsigned bit)
{
    switch (s->mdio_state) {
    case MDIO_IDLE:
        s->mdio_mdi = 1;
        if (bit) {
            s->mdio_ones = MIN(s->mdio_ones + 1, 32);
        } else if (s->mdio_ones >= 32) {
            s->mdio_state = MDIO_START;
        } else {
            s->mdio_ones = 0;
        }
        break;
    case MDIO_START:
        s->mdio_ones = 0;
        if (bit) {
            s->mdio_state = MDIO_COMMAND;
            s->mdio_shift = 0;
            s->mdio_bits = 0;
        } else {
            s->mdio_state = MDIO_IDLE;
        }
        break;
    case MDIO_COMMAND:
        s->mdio_shift = (s->mdio_shift << 1) | bit;
        if (++s->mdio_bits < 12) {
            break;
        }
        s->mdio_phy = (s->mdio_shift >> 5) & 0x1f;
        s->mdio_reg = s->mdio_shift & 0x1f;
        s->mdio_bits = 0;
        switch (s->mdio_shift >> 10) {
        case 2:
            s->mdio_state = MDIO_READ;
            s->mdio_shift = s->mdio_phy == DEC21140A_PHY_ADDR ?
                dec21140a_phy_read(s, s->mdio_reg) : 0xffff;
            break;
        case 1:
            s->mdio_state = MDIO_WRITE;
            s->mdio_shift = 0;
            break;
        default:
            s->mdio_state = MDIO_IDLE;
            break;
        }
        break;
    case MDIO_READ:
        s->mdio_bits++;
        if (s->mdio_phy != DEC21140A_PHY_ADDR) {
            s->mdio_mdi = 1;            /* nobody drives the line */
        } else if (s->mdio_bits == 1) {
            s->mdio_mdi = 0;
        } else {
            s->mdio_mdi = (s->mdio_shift >> (17 - s->mdio_bits)) & 1;
        }
        if (s->mdio_bits == 17) {
            s->mdio_state = MDIO_IDLE;
            s->mdio_ones = 0;
        }
        break;
    case MDIO_WRITE:
        s->mdio_shift = (s->mdio_shift << 1) | bit;
        if (++s->mdio_bits == 18) {
            if (s->mdio_phy == DEC21140A_PHY_ADDR) {
                dec21140a_phy_write(s, s->mdio_reg, s->mdio_shift & 0xffff);
            }
            s->mdio_state = MDIO_IDLE;
            s->mdio_ones = 0;
        }
        break;
    }
}

static void dec21140a_csr9_write(Dec21140aCore *s, uint32_t val)
{
    uint32_t last = s->csr9_last;

    if (val & CSR9_SR) {
        if (!(val & CSR9_SROM_CS)) {
            dec21140a_srom_reset(s);
        } else if ((val & CSR9_SROM_SK) && !(last & CSR9_SROM_SK)) {
            dec21140a_srom_clock(s, !!(val & CSR9_SROM_DI));
        }
    }
    if ((val & CSR9_MDC) && !(last & CSR9_MDC)) {
        dec21140a_mdio_clock(s, !!(val & CSR9_MDO));
    }
    s->csr9_last = val;
}

static uint32_t dec21140a_csr9_read(Dec21140aCore *s)
{
    uint32_t val = s->csr9_last & ~(CSR9_SROM_DO | CSR9_MDI);

    if ((s->csr9_last & CSR9_SR) && s->srom_do) {
        val |= CSR9_SROM_DO;
    }
    if (s->mdio_mdi) {
        val |= CSR9_MDI;
    }
    return val;
}

static uint32_t dec21140a_gp_pins(Dec21140aCore *s)
{
    /* Inputs read high, but for the active-low link indication. */
    uint8_t inputs = 0xff & ~(s->link_up ? GP_PIN_LINK : 0);

    return (s->gp_data & s->gp_dir) | (inputs & ~s->gp_dir);
}

/* CSR access */

uint32_t dec21140a_csr_read(Dec21140aCore *s, unsigned idx)
{
    uint32_t val;

    switch (idx) {
    case 5:
        val = s->csr[5];
        if (s->csr[6] & CSR6_SR) {
            val |= (s->rx_suspended ? RS_SUSPENDED : RS_WAITING)
                   << CSR5_RS_SHIFT;
        }
        if (s->csr[6] & CSR6_ST) {
            val |= TS_SUSPENDED << CSR5_TS_SHIFT;
        }
        break;
    case 8:
        val = s->csr[8];
        s->csr[8] = 0;          /* cleared on read */
        break;
    case 9:
        val = dec21140a_csr9_read(s);
        break;
    case 11:
        val = dec21140a_gp_timer_read(s);
        break;
    case 12:
        val = dec21140a_gp_pins(s);
        break;
    default:
        val = s->csr[idx];
        break;
    }
    trace_dec21140a_csr_read(idx, val);
    if (s->irq_posted) {
        dec21140a_update_irq(s);
    }
    return val;
}

static void dec21140a_csr6_write(Dec21140aCore *s, uint32_t val)
{
    uint32_t old = s->csr[6];

    s->csr[6] = (val & ~CSR6_FILTER_RO) | (old & CSR6_FILTER_RO) | CSR6_MBO;

    if ((old & CSR6_SR) && !(val & CSR6_SR)) {
        s->rx_suspended = false;
        dec21140a_rx_stall_end(s);
        dec21140a_post(s, CSR5_RPS);
    } else if (!(old & CSR6_SR) && (val & CSR6_SR)) {
        s->rx_suspended = false;
        if (s->nic) {
            qemu_flush_queued_packets(qemu_get_queue(s->nic));
        }
    }
    if ((old & CSR6_ST) && !(val & CSR6_ST)) {
        s->tx_suspended = false;
        timer_del(s->tap_timer);
        qemu_bh_cancel(s->tx_bh);
        dec21140a_post(s, CSR5_TPS);
    } else if (!(old & CSR6_ST) && (val & CSR6_ST)) {
        s->tx_suspended = false;
        dec21140a_tx_kick(s);
    }
}

void dec21140a_csr_write(Dec21140aCore *s, unsigned idx, uint32_t val)
{
    trace_dec21140a_csr_write(idx, val);
    if (s->irq_posted) {
        dec21140a_update_irq(s);
    }
    switch (idx) {
    case 0:
        if (val & CSR0_SWR) {
            dec21140a_core_reset(s);
            return;
        }
        s->csr[0] = val;
        dec21140a_tap_arm(s);
        break;
    case 1:                     /* transmit poll demand */
        dec21140a_tx_kick(s);
        break;
    case 2:                     /* receive poll demand */
        s->rx_suspended = false;
        break;
    case 3:
        s->csr[3] = s->rx_cur = val & ~3u;
        break;
    case 4:
        s->csr[4] = s->tx_cur = val & ~3u;
        break;
    case 5:
        s->csr[5] &= ~(val & CSR5_W1C);
        dec21140a_update_irq(s);
        break;
    case 6:
        dec21140a_csr6_write(s, val);
        break;
    case 7:
        s->csr[7] = val & CSR7_MASK;
        dec21140a_update_irq(s);
        break;
    case 9:
        dec21140a_csr9_write(s, val);
        break;
    case 11:
        s->csr[11] = val & (CSR11_COUNT | CSR11_CON);
        dec21140a_gp_timer_start(s, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
        break;
    case 12:
        if (val & CSR12_DIR_LOAD) {
            s->gp_dir = val & CSR12_PINS;
        } else {
            s->gp_data = val & CSR12_PINS;
        }
        break;
    case 15:
        s->csr[15] = val & CSR15_MASK;
        break;
    default:
        /* CSR8 is read-only, CSR10, 13 and 14 are reserved on the 21140A. */
        qemu_log_mask(LOG_GUEST_ERROR, "dec21140a: write 0x%x to "
                      "read-only or reserved CSR%u\n", val, idx);
        break;
    }
    /*
     * Any CSR write is a moment the driver may have returned receive
     * buffers (Linux refills its ring, then acknowledges interrupts).
     */
    dec21140a_rx_repoll(s);
}

void dec21140a_core_set_link(Dec21140aCore *s, bool up)
{
    if (s->link_up == up) {
        return;
    }
    trace_dec21140a_link(up);
    s->link_up = up;
    if (!up) {
        s->phy_link_latched_down = true;
    }
}

void dec21140a_core_power_on(Dec21140aCore *s)
{
    dec21140a_phy_reset(s);
    dec21140a_core_reset(s);
}

void dec21140a_core_reset(Dec21140aCore *s)
{
    trace_dec21140a_reset();
    memset(s->csr, 0, sizeof(s->csr));
    s->csr[0] = CSR0_RESET;
    s->csr[6] = CSR6_MBO;
    s->rx_cur = s->tx_cur = 0;
    s->rx_suspended = s->tx_suspended = false;
    s->tx_len = 0;
    s->tx_jabber = false;
    memset(s->perfect, 0, sizeof(s->perfect));
    memset(s->hash, 0, sizeof(s->hash));
    s->gp_dir = s->gp_data = 0;
    s->gp_timer_deadline = 0;
    timer_del(s->gp_timer);
    timer_del(s->tap_timer);
    qemu_bh_cancel(s->tx_bh);
    dec21140a_rx_stall_end(s);
    dec21140a_srom_reset(s);
    s->mdio_state = MDIO_IDLE;
    s->mdio_ones = 0;
    s->mdio_mdi = 1;
    s->csr9_last = 0;
    dec21140a_update_irq(s);
}

void dec21140a_core_init(Dec21140aCore *s, PCIDevice *owner)
{
    s->owner = owner;
    s->gp_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL,
                               dec21140a_gp_timer_expired, s);
    s->tap_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, dec21140a_tap_timer, s);
    s->tx_bh = qemu_bh_new_guarded(dec21140a_tx_bh, s,
                                   &DEVICE(owner)->mem_reentrancy_guard);
    s->rx_repoll_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL,
                                      dec21140a_rx_repoll_timer, s);
}

void dec21140a_core_cleanup(Dec21140aCore *s)
{
    timer_free(s->gp_timer);
    timer_free(s->tap_timer);
    timer_free(s->rx_repoll_timer);
    qemu_bh_delete(s->tx_bh);
}

/* Reject a migration stream whose indices would point outside our arrays. */
static int dec21140a_core_post_load(void *opaque, int version_id)
{
    Dec21140aCore *s = opaque;

    if (s->tx_len > DEC21140A_TX_MAX || s->srom_addr >= DEC21140A_SROM_WORDS
        || s->srom_bit > 16 || s->srom_bits > 8 || s->mdio_bits > 18
        || s->mdio_reg >= DEC21140A_PHY_REGS) {
        return -EINVAL;
    }
    dec21140a_tap_arm(s);
    /* Carry on with whatever the source left queued, once running. */
    if (s->csr[6] & CSR6_ST) {
        qemu_bh_schedule(s->tx_bh);
    }
    /* A posted status the line had not shown yet: show it at next access. */
    s->irq_posted = true;
    if (s->rx_stalled) {
        timer_mod(s->rx_repoll_timer,
                  qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  DEC21140A_RX_REPOLL_NS);
    }
    return 0;
}

const VMStateDescription vmstate_dec21140a_core = {
    .name = "dec21140a-core",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = dec21140a_core_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_ARRAY(csr, Dec21140aCore, DEC21140A_NUM_CSR),
        VMSTATE_UINT32(rx_cur, Dec21140aCore),
        VMSTATE_UINT32(tx_cur, Dec21140aCore),
        VMSTATE_BOOL(rx_stalled, Dec21140aCore),
        VMSTATE_INT64(rx_stall_start, Dec21140aCore),
        VMSTATE_BOOL(rx_suspended, Dec21140aCore),
        VMSTATE_BOOL(tx_suspended, Dec21140aCore),
        VMSTATE_UINT32(tx_len, Dec21140aCore),
        VMSTATE_BOOL(tx_jabber, Dec21140aCore),
        VMSTATE_BUFFER(tx_frame, Dec21140aCore),
        VMSTATE_BUFFER_UNSAFE(perfect, Dec21140aCore, 0,
                              sizeof(((Dec21140aCore *)0)->perfect)),
        VMSTATE_BUFFER(hash, Dec21140aCore),
        VMSTATE_UINT8(gp_dir, Dec21140aCore),
        VMSTATE_UINT8(gp_data, Dec21140aCore),
        VMSTATE_INT64(gp_timer_deadline, Dec21140aCore),
        VMSTATE_TIMER_PTR(gp_timer, Dec21140aCore),
        VMSTATE_UINT16_ARRAY(srom, Dec21140aCore, DEC21140A_SROM_WORDS),
        VMSTATE_UINT8(srom_state, Dec21140aCore),
        VMSTATE_UINT16(srom_shift, Dec21140aCore),
        VMSTATE_UINT8(srom_bits, Dec21140aCore),
        VMSTATE_UINT8(srom_addr, Dec21140aCore),
        VMSTATE_UINT8(srom_do, Dec21140aCore),
        VMSTATE_UINT8(srom_bit, Dec21140aCore),
        VMSTATE_UINT16_ARRAY(phy, Dec21140aCore, DEC21140A_PHY_REGS),
        VMSTATE_BOOL(phy_link_latched_down, Dec21140aCore),
        VMSTATE_UINT8(mdio_state, Dec21140aCore),
        VMSTATE_UINT32(mdio_shift, Dec21140aCore),
        VMSTATE_UINT8(mdio_bits, Dec21140aCore),
        VMSTATE_UINT8(mdio_ones, Dec21140aCore),
        VMSTATE_UINT8(mdio_phy, Dec21140aCore),
        VMSTATE_UINT8(mdio_reg, Dec21140aCore),
        VMSTATE_UINT8(mdio_mdi, Dec21140aCore),
        VMSTATE_UINT32(csr9_last, Dec21140aCore),
        VMSTATE_END_OF_LIST()
    }
};
