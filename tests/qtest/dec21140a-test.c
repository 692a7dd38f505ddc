/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qtests for the DEC 21140A: PCI identity, SROM and MII buses, the
 * descriptor engine, address filtering, timers, link state, migration and
 * hostile descriptors.  Frames travel through a socketpair netdev (hs0):
 * each frame on the stream is preceded by its length, big-endian.
 */
#include "qemu/osdep.h"
#include <sys/socket.h>
#include "libqtest-single.h"
#include "qemu/bswap.h"
#include "libqos/qgraph.h"
#include "libqos/dec21140a.h"
#include "hw/pci/pci_regs.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"
#include "migration/migration-qmp.h"
#include "migration/migration-util.h"

/* A PHY reporting the link: link status and autonegotiation complete. */
#define BMSR_LINK_AN (MII_BMSR_LINK_ST | MII_BMSR_AN_COMP)

static const uint8_t our_mac[6] = { 0x00, 0x03, 0xff, 0x12, 0x34, 0x56 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Frames to and from the backend side of the socketpair */

/* A frame that never comes fails the test instead of hanging it. */
static void backend_set_timeout(int fd)
{
    struct timeval tv = { .tv_sec = 10 };

    g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
                               sizeof(tv)), ==, 0);
}

static void backend_send(int fd, const uint8_t *dst, size_t len, uint8_t fill)
{
    uint8_t frame[2048];
    uint32_t be_len = cpu_to_be32(len);

    g_assert_cmpuint(len, <=, sizeof(frame));
    memset(frame, fill, len);
    memcpy(frame, dst, 6);
    memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01", 6);
    frame[12] = 0x08;
    frame[13] = 0x00;
    g_assert_cmpint(send(fd, &be_len, 4, 0), ==, 4);
    g_assert_cmpint(send(fd, frame, len, 0), ==, (ssize_t)len);
}

static int backend_recv(int fd, uint8_t *buf, size_t max)
{
    uint32_t be_len;
    size_t len, got = 0;

    g_assert_cmpint(recv(fd, &be_len, 4, MSG_WAITALL), ==, 4);
    len = be32_to_cpu(be_len);
    g_assert_cmpuint(len, <=, max);
    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, 0);
        g_assert_cmpint(n, >, 0);
        got += n;
    }
    return len;
}

/* Is there a frame waiting on the backend side? */
static bool backend_pending(int fd)
{
    uint8_t b;

    return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

static void make_frame(uint8_t *frame, size_t len, const uint8_t *dst,
                       uint8_t seed)
{
    memcpy(frame, dst, 6);
    memcpy(frame + 6, our_mac, 6);
    frame[12] = 0x08;
    frame[13] = 0x00;
    for (size_t i = 14; i < len; i++) {
        frame[i] = seed + i;
    }
}

/* Tests */

static void test_pci_identity(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    QPCIDevice *dev = &d->dev;

    g_assert_cmphex(qpci_config_readw(dev, PCI_VENDOR_ID), ==, 0x1011);
    g_assert_cmphex(qpci_config_readw(dev, PCI_DEVICE_ID), ==, 0x0009);
    g_assert_cmphex(qpci_config_readb(dev, PCI_REVISION_ID), ==, 0x20);
    g_assert_cmphex(qpci_config_readw(dev, PCI_CLASS_DEVICE), ==, 0x0200);
    g_assert_cmphex(qpci_config_readb(dev, PCI_CLASS_PROG), ==, 0x00);
    g_assert_cmphex(qpci_config_readw(dev, PCI_SUBSYSTEM_VENDOR_ID), ==,
                    0x0a00);
    g_assert_cmphex(qpci_config_readw(dev, PCI_SUBSYSTEM_ID), ==, 0x2114);
    g_assert_cmphex(qpci_config_readb(dev, PCI_INTERRUPT_PIN), ==, 1);
    /* BAR0 is I/O, BAR1 memory, both 128 bytes. */
    g_assert_cmphex(qpci_config_readl(dev, PCI_BASE_ADDRESS_0) & 1, ==, 1);
    g_assert_cmphex(qpci_config_readl(dev, PCI_BASE_ADDRESS_1) & 1, ==, 0);
    qpci_config_writel(dev, PCI_BASE_ADDRESS_0, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(dev, PCI_BASE_ADDRESS_0) & ~3u, ==,
                    0xffffff80);
    qpci_config_writel(dev, PCI_BASE_ADDRESS_1, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(dev, PCI_BASE_ADDRESS_1) & ~0xfu, ==,
                    0xffffff80);
    /* Linux uses memory-write-invalidate: the cache line size is writable. */
    qpci_config_writeb(dev, PCI_CACHE_LINE_SIZE, 0x08);
    g_assert_cmphex(qpci_config_readb(dev, PCI_CACHE_LINE_SIZE), ==, 0x08);
}

/* The 93C46 width probe drivers do, then a v3 image with a valid CRC. */
static void test_srom(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    uint8_t img[128];
    uint32_t crc = 0xffffffff;

    qdec_reset(d);
    for (unsigned i = 0; i < DEC21140A_SROM_WORDS; i++) {
        stw_le_p(img + i * 2, qdec_srom_read(d, i, SROM_ADDR_BITS));
    }
    g_assert_cmphex(lduw_le_p(img + SROM_SUBSYS_VENDOR), ==, 0x0a00);
    g_assert_cmphex(lduw_le_p(img + SROM_SUBSYS_ID), ==, 0x2114);
    g_assert_cmpuint(img[SROM_VERSION], ==, 3);
    g_assert_cmpuint(img[SROM_CONTROLLERS], ==, 1);
    g_assert_cmpmem(img + SROM_MAC, 6, our_mac, 6);
    g_assert_cmpuint(lduw_le_p(img + SROM_LEAF_PTR), ==, 0x1e);
    /* Info leaf: autosense, GP directions, one MII block with PHY 0. */
    g_assert_cmphex(lduw_le_p(img + 0x1e), ==, 0x0800);
    g_assert_cmpuint(img[0x21], ==, 1);
    g_assert_cmphex(img[0x22], ==, 0x8c);
    g_assert_cmphex(img[0x23], ==, 0x01);
    g_assert_cmphex(img[0x24], ==, 0x00);
    for (int i = 0; i < SROM_CRC; i++) {
        crc ^= img[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc >> 1) ^ ((crc & 1) ? 0xedb88320 : 0);
        }
    }
    g_assert_cmphex(lduw_le_p(img + SROM_CRC), ==, (crc & 0xffff) ^ 0xffff);
}

static void test_mii(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    uint16_t bmsr;

    qdec_reset(d);
    /* Nobody at address 0: the line floats high. */
    g_assert_cmphex(qdec_mii_read(d, 0, MII_BMSR), ==, 0xffff);
    bmsr = qdec_phy_read(d, MII_BMSR);
    bmsr = qdec_phy_read(d, MII_BMSR);      /* the link bit latches low */
    /* Bit 15 survives the bit-banging; no 100BASE-T4; link and AN done. */
    g_assert_cmphex(bmsr, ==, 0x782d);
    g_assert_cmphex(qdec_phy_read(d, MII_PHYID1), ==, 0x2000);
    g_assert_cmphex(qdec_phy_read(d, MII_PHYID2), ==, 0x5c01);
    g_assert_cmphex(qdec_phy_read(d, MII_ANLPAR) & MII_ANLPAR_TXFD, ==,
                    MII_ANLPAR_TXFD);
    qdec_phy_write(d, MII_ANAR, 0x0181);
    g_assert_cmphex(qdec_phy_read(d, MII_ANAR), ==, 0x0181);
    /* Reset self-clears and restores the advertisement. */
    qdec_phy_write(d, MII_BMCR, MII_BMCR_RESET);
    g_assert_cmphex(qdec_phy_read(d, MII_BMCR), ==, 0x3100);
    g_assert_cmphex(qdec_phy_read(d, MII_ANAR), ==, 0x01e1);
}

static void test_tx(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    uint8_t frame[1514], got[2048];
    uint32_t tdes0, csr5;

    qdec_start(d, alloc, 0);
    make_frame(frame, sizeof(frame), bcast, 7);
    tdes0 = qdec_tx(d, frame, sizeof(frame));
    g_assert_cmphex(tdes0, ==, 0);
    g_assert_cmpint(backend_recv(sock[0], got, sizeof(got)), ==,
                    sizeof(frame));
    g_assert_cmpmem(got, sizeof(frame), frame, sizeof(frame));
    csr5 = qdec_csr_read(d, 5);
    g_assert_true(csr5 & CSR5_TI);
    g_assert_true(csr5 & CSR5_NIS);
    /* Short frames are padded to the Ethernet minimum. */
    tdes0 = qdec_tx(d, frame, 20);
    g_assert_cmpint(backend_recv(sock[0], got, sizeof(got)), ==, 60);
    g_assert_cmpmem(got, 20, frame, 20);
    qdec_stop(d);
}

static void test_rx(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    uint8_t got[2048];
    uint32_t rdes0;

    qdec_start(d, alloc, 0);
    qdec_setup_frame(d, DEC21140A_FILTER_PERFECT,
                     (const uint8_t (*)[6]) (const uint8_t[][6]) {
                         { 0x00, 0x03, 0xff, 0x12, 0x34, 0x56 },
                         { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } }, 2);
    backend_send(sock[0], our_mac, 1000, 0x5a);
    g_assert_cmpint(qdec_rx(d, got, sizeof(got), &rdes0), ==, 1000);
    g_assert_cmpmem(got, 6, our_mac, 6);
    g_assert_cmpuint(got[500], ==, 0x5a);
    /* FL counts the CRC; no error bits. */
    g_assert_cmpuint(RDES0_FL(rdes0), ==, 1004);
    g_assert_false(rdes0 & RDES0_ES);
    g_assert_true(qdec_csr_read(d, 5) & CSR5_RI);
    qdec_stop(d);
}

/* CRC-32 (IEEE 802.3) bit by bit: the FCS, complemented as on the wire. */
static uint32_t ref_fcs(const uint8_t *buf, size_t len)
{
    uint32_t crc = 0xffffffff;

    for (size_t i = 0; i < len; i++) {
        crc ^= buf[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc >> 1) ^ ((crc & 1) ? 0xedb88320 : 0);
        }
    }
    return ~crc;
}

/*
 * The receiver stores each frame's FCS after it, counted in FL: frames
 * padded to the Ethernet minimum, every length of a partial last block
 * (0 to 15 bytes) after one lane of folding (60-63) and after four
 * (64-79), and longer frames up to the largest.
 */
static void test_fcs(void *obj, void *data, QGuestAllocator *alloc)
{
    static const size_t lens[] = {
        14, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74,
        75, 76, 77, 78, 79, 80, 95, 111, 127, 128, 129, 143, 255, 256, 511,
        1000, 1023, 1024, 1279, 1500, 1513, 1514,
    };
    QDec21140a *d = obj;
    int *sock = data;
    uint8_t sent[1518], got[2048];
    uint32_t rdes0;

    qdec_start(d, alloc, CSR6_PR);
    for (int i = 0; i < G_N_ELEMENTS(lens); i++) {
        size_t len = lens[i], padded = MAX(len, 60);
        unsigned slot = d->rx_next;
        uint8_t fill = 0x30 + i;

        backend_send(sock[0], our_mac, len, fill);
        g_assert_cmpint(qdec_rx(d, got, sizeof(got), &rdes0), ==, padded);
        g_assert_cmpuint(RDES0_FL(rdes0), ==, padded + 4);
        /* What backend_send sent, padded with zeros as the chip pads. */
        memset(sent, 0, sizeof(sent));
        memset(sent, fill, len);
        memcpy(sent, our_mac, 6);
        memcpy(sent + 6, "\x02\x00\x00\x00\x00\x01", 6);
        sent[12] = 0x08;
        sent[13] = 0x00;
        qtest_memread(d->dev.bus->qts, d->rx_bufs + slot * QDEC_BUF_SIZE,
                      got, padded + 4);
        g_assert_cmpmem(got, padded, sent, padded);
        g_assert_cmphex((uint32_t)ldl_le_p(got + padded), ==,
                        ref_fcs(sent, padded));
    }
    qdec_stop(d);
}

/* Send @dst, expecting it dropped, then a marker that must arrive next. */
static void expect_filtered(QDec21140a *d, int fd, const uint8_t *dst,
                            bool accepted)
{
    uint8_t got[2048];

    backend_send(fd, dst, 100, 0x11);
    backend_send(fd, our_mac, 120, 0x22);
    if (accepted) {
        g_assert_cmpint(qdec_rx(d, got, sizeof(got), NULL), ==, 100);
        g_assert_cmpmem(got, 6, dst, 6);
    }
    g_assert_cmpint(qdec_rx(d, got, sizeof(got), NULL), ==, 120);
}

static const uint8_t other_uc[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint8_t mc_a[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t mc_b[6] = { 0x01, 0x00, 0x5e, 0x7f, 0x00, 0x09 };

static void test_filter_perfect(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    const uint8_t table[2][6] = {
        { 0x00, 0x03, 0xff, 0x12, 0x34, 0x56 },
        { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
    };

    qdec_start(d, alloc, 0);
    qdec_setup_frame(d, DEC21140A_FILTER_PERFECT, table, 2);
    g_assert_cmphex(qdec_csr_read(d, 6) & (CSR6_HP | CSR6_HO |
                                           CSR6_IF), ==, 0);
    expect_filtered(d, sock[0], mc_a, true);
    expect_filtered(d, sock[0], mc_b, false);
    expect_filtered(d, sock[0], other_uc, false);
    /* Broadcast passes only through the filter, as on the chip. */
    expect_filtered(d, sock[0], bcast, false);
    qdec_stop(d);
}

static void test_filter_inverse(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    const uint8_t table[1][6] = { { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 } };

    qdec_start(d, alloc, 0);
    qdec_setup_frame(d, DEC21140A_FILTER_INVERSE, table, 1);
    g_assert_true(qdec_csr_read(d, 6) & CSR6_IF);
    expect_filtered(d, sock[0], other_uc, false);
    expect_filtered(d, sock[0], mc_b, true);
    qdec_stop(d);
}

static void test_filter_hash(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    /* Entry 0 doubles as the perfect unicast address. */
    const uint8_t table[3][6] = {
        { 0x00, 0x03, 0xff, 0x12, 0x34, 0x56 },
        { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
        { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
    };

    g_assert_cmpuint(qdec_hash_index(mc_a), !=, qdec_hash_index(mc_b));
    qdec_start(d, alloc, 0);
    qdec_setup_frame(d, DEC21140A_FILTER_HASH, table, 3);
    g_assert_cmphex(qdec_csr_read(d, 6) & (CSR6_HP | CSR6_HO), ==,
                    CSR6_HP);
    expect_filtered(d, sock[0], mc_a, true);
    expect_filtered(d, sock[0], bcast, true);
    expect_filtered(d, sock[0], mc_b, false);
    expect_filtered(d, sock[0], other_uc, false);
    qdec_stop(d);
}

static void test_filter_hash_only(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    const uint8_t table[2][6] = {
        { 0x00, 0x03, 0xff, 0x12, 0x34, 0x56 },
        { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 },
    };

    qdec_start(d, alloc, 0);
    qdec_setup_frame(d, DEC21140A_FILTER_HASH_ONLY, table, 2);
    g_assert_cmphex(qdec_csr_read(d, 6) & (CSR6_HP | CSR6_HO), ==,
                    CSR6_HP | CSR6_HO);
    /* Unicast goes through the hash too. */
    expect_filtered(d, sock[0], other_uc, true);
    expect_filtered(d, sock[0], mc_a, false);
    qdec_stop(d);
}

static void test_filter_promisc_allmulti(void *obj, void *data,
                                         QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    const uint8_t table[1][6] = { { 0x00, 0x03, 0xff, 0x12, 0x34, 0x56 } };

    qdec_start(d, alloc, CSR6_PM);
    qdec_setup_frame(d, DEC21140A_FILTER_PERFECT, table, 1);
    expect_filtered(d, sock[0], mc_b, true);
    expect_filtered(d, sock[0], bcast, true);
    expect_filtered(d, sock[0], other_uc, false);
    qdec_csr_write(d, 6, CSR6_SR | CSR6_ST | CSR6_PR);
    expect_filtered(d, sock[0], other_uc, true);
    qdec_stop(d);
}

/* Chain mode for both lists, descriptors in reverse memory order. */
static void test_chain_mode(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    uint64_t rx = guest_alloc(alloc, 4 * 16), tx = guest_alloc(alloc, 2 * 16);
    uint64_t rxbuf = guest_alloc(alloc, 4 * 512), txbuf = guest_alloc(alloc,
                                                                     1024);
    uint8_t frame[300], got[600];
    uint32_t w[4];

    qdec_start(d, alloc, CSR6_PR);
    qdec_stop(d);
    /* RX chain: desc 3 -> 2 -> 1 -> 0 -> 3 */
    for (int i = 0; i < 4; i++) {
        uint32_t rd[4] = { DES0_OWN, RDES1_RCH | 512,
                           rxbuf + i * 512, rx + ((i + 3) % 4) * 16 };
        qdec_desc_write(d, rx + i * 16, rd);
    }
    /* TX chain: desc 1 (first half) -> desc 0 (second half) */
    make_frame(frame, sizeof(frame), bcast, 3);
    qtest_memwrite(d->dev.bus->qts, txbuf, frame, sizeof(frame));
    {
        uint32_t t1[4] = { DES0_OWN, TDES1_TCH | TDES1_FS | 100,
                           txbuf, tx };
        uint32_t t0[4] = { DES0_OWN, TDES1_TCH | TDES1_LS |
                           TDES1_IC | 200, txbuf + 100, tx + 16 };
        qdec_desc_write(d, tx + 16, t1);
        qdec_desc_write(d, tx, t0);
    }
    qdec_csr_write(d, 3, rx + 3 * 16);
    qdec_csr_write(d, 4, tx + 16);
    qdec_csr_write(d, 6, CSR6_SR | CSR6_ST | CSR6_PR);
    g_assert_cmpint(backend_recv(sock[0], got, sizeof(got)), ==, 300);
    g_assert_cmpmem(got, 300, frame, 300);
    g_assert_cmphex(qdec_wait_desc(d, tx), ==, 0);

    /* Two frames land in descriptors 3 then 2. */
    backend_send(sock[0], our_mac, 200, 0x31);
    backend_send(sock[0], our_mac, 210, 0x32);
    for (int i = 0; i < 500; i++) {
        qdec_desc_read(d, rx + 2 * 16, w);
        if (!(w[0] & DES0_OWN)) {
            break;
        }
        g_usleep(2000);
    }
    g_assert_cmphex(w[0] & (DES0_OWN | RDES0_FS | RDES0_LS),
                    ==, RDES0_FS | RDES0_LS);
    g_assert_cmpuint(RDES0_FL(w[0]), ==, 214);
    qdec_desc_read(d, rx + 3 * 16, w);
    g_assert_cmpuint(RDES0_FL(w[0]), ==, 204);
    qtest_memread(d->dev.bus->qts, rxbuf + 2 * 512 + 20, got, 1);
    g_assert_cmphex(got[0], ==, 0x32);
    qdec_stop(d);
}

/*
 * A frame across three TX descriptors using both buffers, and one RX
 * frame across small buffers, with DSL spacing the RX ring.
 */
static void test_multi_descriptor(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    const unsigned dsl = 2, stride = 16 + dsl * 4;
    uint64_t rx = guest_alloc(alloc, 8 * stride);
    uint64_t rxbuf = guest_alloc(alloc, 8 * 256);
    uint64_t txbuf = guest_alloc(alloc, 1514);
    uint8_t frame[1514], got[1600];
    uint32_t w[4], tdes0[3];

    qdec_start(d, alloc, CSR6_PR);
    qdec_stop(d);
    qdec_csr_write(d, 0, dsl << 2);
    make_frame(frame, sizeof(frame), bcast, 9);
    qtest_memwrite(d->dev.bus->qts, txbuf, frame, sizeof(frame));
    /* 300 + 200 | 400 + 0 | 14 + 600 */
    {
        uint32_t segs[3][4] = {
            { DES0_OWN, TDES1_FS | (200 << DES1_BS2_SHIFT) | 300,
              txbuf, txbuf + 300 },
            { DES0_OWN, 400, txbuf + 500, 0 },
            { DES0_OWN, TDES1_LS | TDES1_IC | (600 << DES1_BS2_SHIFT) | 14,
              txbuf + 900, txbuf + 914 },
        };
        for (int i = 0; i < 3; i++) {
            qdec_desc_write(d, d->tx_ring + i * stride, segs[i]);
        }
    }
    for (int i = 0; i < 8; i++) {
        uint32_t rd[4] = { DES0_OWN,
                           (i == 7 ? RDES1_RER : 0) |
                           (128 << DES1_BS2_SHIFT) | 128,
                           rxbuf + i * 256, rxbuf + i * 256 + 128 };
        qdec_desc_write(d, rx + i * stride, rd);
    }
    qdec_csr_write(d, 3, rx);
    qdec_csr_write(d, 4, d->tx_ring);
    qdec_csr_write(d, 6, CSR6_SR | CSR6_ST | CSR6_PR);
    g_assert_cmpint(backend_recv(sock[0], got, sizeof(got)), ==, 1514);
    g_assert_cmpmem(got, 1514, frame, 1514);
    for (int i = 0; i < 3; i++) {
        tdes0[i] = qdec_wait_desc(d, d->tx_ring + i * stride);
    }
    g_assert_cmphex(tdes0[0] | tdes0[1] | tdes0[2], ==, 0);

    /* 1000 bytes + CRC in 256-byte descriptors: four of them. */
    backend_send(sock[0], our_mac, 1000, 0x44);
    for (int i = 0; i < 500; i++) {
        qdec_desc_read(d, rx + 3 * stride, w);
        if (!(w[0] & DES0_OWN)) {
            break;
        }
        g_usleep(2000);
    }
    g_assert_cmphex(w[0] & (DES0_OWN | RDES0_LS), ==,
                    RDES0_LS);
    g_assert_cmpuint(RDES0_FL(w[0]), ==, 1004);
    qdec_desc_read(d, rx, w);
    g_assert_cmphex(w[0] & (DES0_OWN | RDES0_FS | RDES0_LS),
                    ==, RDES0_FS);
    qdec_desc_read(d, rx + 4 * stride, w);
    g_assert_true(w[0] & DES0_OWN);
    qtest_memread(d->dev.bus->qts, rxbuf, got, 1000);
    g_assert_cmpmem(got, 6, our_mac, 6);
    g_assert_cmphex(got[999], ==, 0x44);
    qdec_stop(d);
}

static void take_all_rx(QDec21140a *d)
{
    for (int i = 0; i < QDEC_RING_SIZE; i++) {
        uint32_t w[4];
        qdec_desc_read(d, d->rx_ring + i * 16, w);
        w[0] = 0;
        qdec_desc_write(d, d->rx_ring + i * 16, w);
    }
}

static void give_all_rx(QDec21140a *d)
{
    for (int i = 0; i < QDEC_RING_SIZE; i++) {
        uint32_t w[4];
        qdec_desc_read(d, d->rx_ring + i * 16, w);
        w[0] = DES0_OWN;
        qdec_desc_write(d, d->rx_ring + i * 16, w);
    }
}

/* Receive-unavailable, then reception resumes without a CSR2 write. */
static void test_rx_resume(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    uint8_t got[2048];
    uint32_t csr5 = 0;

    qdec_start(d, alloc, CSR6_PR);
    take_all_rx(d);
    backend_send(sock[0], our_mac, 300, 0x55);
    for (int i = 0; i < 500 && !(csr5 & CSR5_RU); i++) {
        g_usleep(2000);
        csr5 = qdec_csr_read(d, 5);
    }
    g_assert_true(csr5 & CSR5_RU);
    g_assert_true(csr5 & CSR5_AIS);
    g_assert_cmpuint(CSR5_RS(csr5), ==, 4);      /* suspended */
    /* The driver hands buffers back by memory writes only, like Linux. */
    give_all_rx(d);
    g_assert_cmpint(qdec_rx(d, got, sizeof(got), NULL), ==, 300);
    g_assert_cmphex(got[100], ==, 0x55);
    g_assert_cmpuint(CSR5_RS(qdec_csr_read(d, 5)), ==, 3);
    g_assert_cmpuint(qdec_csr_read(d, 8), ==, 0);     /* nothing missed */
    qdec_stop(d);
}

/* Frames that find no buffer for long are missed and counted in CSR8. */
static void test_missed_frames(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    uint32_t missed = 0;
    uint8_t got[2048];

    qdec_start(d, alloc, CSR6_PR);
    take_all_rx(d);
    for (int i = 0; i < 3; i++) {
        backend_send(sock[0], our_mac, 100 + i, 0x66);
    }
    for (int i = 0; i < 1000 && missed < 3; i++) {
        qtest_clock_step(d->dev.bus->qts, 1000000);
        g_usleep(500);
        missed += qdec_csr_read(d, 8) & 0xffff;
    }
    g_assert_cmpuint(missed, ==, 3);
    g_assert_cmpuint(qdec_csr_read(d, 8), ==, 0);     /* cleared on read */
    /* The receiver works again once buffers come back. */
    give_all_rx(d);
    backend_send(sock[0], our_mac, 400, 0x67);
    g_assert_cmpint(qdec_rx(d, got, sizeof(got), NULL), ==, 400);
    qdec_stop(d);
}

static void test_gp_timer(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    QTestState *qts = d->dev.bus->qts;
    uint32_t left;

    qdec_reset(d);
    qdec_csr_write(d, 7, CSR5_GTE | CSR5_AIS);
    /* 10 counts of 204.8 us at 10 Mbit/s (CSR6 PS clear). */
    qdec_csr_write(d, 11, 10);
    qtest_clock_step(qts, 1000000);
    left = qdec_csr_read(d, 11);
    g_assert_cmpuint(left, >=, 5);
    g_assert_cmpuint(left, <=, 6);
    g_assert_false(qdec_csr_read(d, 5) & CSR5_GTE);
    qtest_clock_step(qts, 1100000);
    g_assert_cmphex(qdec_csr_read(d, 5) & (CSR5_GTE | CSR5_AIS),
                    ==, CSR5_GTE | CSR5_AIS);
    g_assert_cmpuint(qdec_csr_read(d, 11), ==, 0);    /* one-shot */
    qdec_csr_write(d, 5, CSR5_GTE);
    g_assert_false(qdec_csr_read(d, 5) & (CSR5_GTE | CSR5_AIS));
    /* Continuous mode at 100 Mbit/s (81.92 us): fires again and again. */
    qdec_csr_write(d, 6, CSR6_PS);
    qdec_csr_write(d, 11, (1u << 16) | 100);
    for (int i = 0; i < 3; i++) {
        qtest_clock_step(qts, 8192000);
        g_assert_true(qdec_csr_read(d, 5) & CSR5_GTE);
        qdec_csr_write(d, 5, CSR5_GTE);
    }
    qdec_csr_write(d, 11, 0);
    qtest_clock_step(qts, 20000000);
    g_assert_false(qdec_csr_read(d, 5) & CSR5_GTE);
}

static void set_link(QTestState *qts, bool up)
{
    qtest_qmp_assert_success(qts, "{'execute': 'set_link', 'arguments': "
                             "{'name': 'hs0', 'up': %i}}", up);
}

static void test_link(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    QTestState *qts = d->dev.bus->qts;
    uint8_t frame[100], got[200];

    qdec_start(d, alloc, CSR6_PR);
    g_assert_cmphex(qdec_csr_read(d, 12) & GP_PIN_LINK, ==, 0);
    set_link(qts, false);
    g_assert_cmphex(qdec_phy_read(d, MII_BMSR) & BMSR_LINK_AN, ==, 0);
    g_assert_cmphex(qdec_phy_read(d, MII_ANLPAR), ==, 0);
    g_assert_cmphex(qdec_csr_read(d, 12) & GP_PIN_LINK, ==, GP_PIN_LINK);
    /* No carrier: the frame completes with an error and goes nowhere. */
    make_frame(frame, sizeof(frame), bcast, 1);
    g_assert_true(qdec_tx(d, frame, sizeof(frame)) & TDES0_ES);
    set_link(qts, true);
    g_assert_cmphex(qdec_phy_read(d, MII_BMSR) & BMSR_LINK_AN, ==,
                    BMSR_LINK_AN);
    /*
     * A short outage nobody polled during: the link bit latched low, so
     * the first read still says down, the next one up.
     */
    set_link(qts, false);
    set_link(qts, true);
    g_assert_cmphex(qdec_phy_read(d, MII_BMSR) & MII_BMSR_LINK_ST, ==, 0);
    g_assert_cmphex(qdec_phy_read(d, MII_BMSR) & BMSR_LINK_AN, ==,
                    BMSR_LINK_AN);
    g_assert_cmphex(qdec_phy_read(d, MII_ANLPAR) & MII_ANLPAR_TXFD, ==,
                    MII_ANLPAR_TXFD);
    g_assert_cmphex(qdec_csr_read(d, 12) & GP_PIN_LINK, ==, 0);
    g_assert_cmphex(qdec_tx(d, frame, sizeof(frame)), ==, 0);
    g_assert_cmpint(backend_recv(sock[0], got, sizeof(got)), ==, 100);
    g_assert_false(backend_pending(sock[0]));
    qdec_stop(d);
}

static void test_reset_state(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    uint32_t csr5;

    qdec_start(d, alloc, CSR6_PR);
    qdec_csr_write(d, 11, 1000);
    qdec_csr_write(d, 12, 0x100 | 0x0f);
    qdec_csr_write(d, 0, CSR0_SWR);
    g_assert_cmphex(qdec_csr_read(d, 0), ==, 0xfe000000);
    g_assert_cmphex(qdec_csr_read(d, 3), ==, 0);
    g_assert_cmphex(qdec_csr_read(d, 4), ==, 0);
    csr5 = qdec_csr_read(d, 5);
    g_assert_cmphex(csr5, ==, 0);          /* no interrupts, both stopped */
    g_assert_cmphex(qdec_csr_read(d, 6), ==, 0x02000000);
    g_assert_cmphex(qdec_csr_read(d, 7), ==, 0);
    g_assert_cmphex(qdec_csr_read(d, 8), ==, 0);
    g_assert_cmphex(qdec_csr_read(d, 11), ==, 0);
    /* All GP pins are inputs again: only the link pin reads low. */
    g_assert_cmphex(qdec_csr_read(d, 12), ==, 0x7f);
    /* Stopping a running process reads back stopped at once. */
    qdec_csr_write(d, 6, CSR6_SR | CSR6_ST);
    g_assert_cmpuint(CSR5_RS(qdec_csr_read(d, 5)), !=, 0);
    qdec_csr_write(d, 6, 0);
    csr5 = qdec_csr_read(d, 5);
    g_assert_cmpuint(CSR5_RS(csr5) | CSR5_TS(csr5), ==, 0);
    g_assert_true(csr5 & CSR5_RPS);
    g_assert_true(csr5 & CSR5_TPS);
}

/*
 * INTA, seen from the test: the PIIX3 (00:01.0) routes all four PCI
 * interrupt lines to ISA IRQ 11 (its PIRQRC registers, 0x60..0x63, as a
 * BIOS would program them), and the IOAPIC's inputs are intercepted.
 */
#define PIIX_PIRQRC     0x60
#define TEST_PCI_IRQ    11

static void watch_inta(QDec21140a *d)
{
    QPCIDevice *isa = qpci_device_find(d->dev.bus, QPCI_DEVFN(1, 0));

    g_assert_nonnull(isa);
    for (int i = 0; i < 4; i++) {
        qpci_config_writeb(isa, PIIX_PIRQRC + i, TEST_PCI_IRQ);
    }
    g_free(isa);
    qtest_irq_intercept_in(d->dev.bus->qts, "ioapic");
}

/*
 * Linux's tulip_restart_rxtx(), as its media timer runs it on the first
 * duplex change: tulip_stop_rxtx() reads CSR6, writes it back with SR and
 * ST clear and reads CSR5 every 10 us, 130 times at most, until RS and TS
 * both read stopped; then, 5 us later, tulip_start_rxtx() writes the new
 * CSR6 with SR and ST.  Its interrupt handler restarts any process whose
 * stop it is told about (TPS, RPS), so the stop interrupt must come after
 * the driver has seen the processes stopped, as on the chip, where the
 * frame in flight and the interrupt's latency come first.
 */
static void test_stop_sequence(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    QTestState *qts = d->dev.bus->qts;
    uint8_t frame[200], got[300];
    uint32_t csr6, csr5 = 0;
    unsigned reads;

    watch_inta(d);
    qdec_start(d, alloc, CSR6_PR);
    /* Running, with every interrupt enabled and none pending. */
    g_assert_true(qtest_get_irq(qts, TEST_PCI_IRQ));     /* TU, at start */
    qdec_csr_write(d, 5, qdec_csr_read(d, 5));
    g_assert_false(qtest_get_irq(qts, TEST_PCI_IRQ));

    csr6 = qdec_csr_read(d, 6);
    g_assert_cmphex(csr6 & (CSR6_SR | CSR6_ST), ==, CSR6_SR | CSR6_ST);
    qdec_csr_write(d, 6, csr6 & ~(CSR6_SR | CSR6_ST));
    /* Nothing interrupts the driver between its write and its first look. */
    g_assert_false(qtest_get_irq(qts, TEST_PCI_IRQ));
    for (reads = 1; reads <= 130; reads++) {
        csr5 = qdec_csr_read(d, 5);
        if (!CSR5_RS(csr5) && !CSR5_TS(csr5)) {
            break;
        }
        qtest_clock_step(qts, 10000);
    }
    g_assert_cmpuint(reads, ==, 1);
    /* Both stops are reported, and then interrupt (CSR7 enables them). */
    g_assert_cmphex(csr5 & (CSR5_TPS | CSR5_RPS | CSR5_AIS), ==,
                    CSR5_TPS | CSR5_RPS | CSR5_AIS);
    g_assert_true(qtest_get_irq(qts, TEST_PCI_IRQ));
    /* CSR6 keeps SR and ST clear: nothing turns them back on. */
    g_assert_cmphex(qdec_csr_read(d, 6) & (CSR6_SR | CSR6_ST), ==, 0);
    csr5 = qdec_csr_read(d, 5);
    g_assert_cmpuint(CSR5_RS(csr5) | CSR5_TS(csr5), ==, 0);
    /* The handler acknowledges them; the line drops. */
    qdec_csr_write(d, 5, CSR5_TPS | CSR5_RPS);
    g_assert_false(qtest_get_irq(qts, TEST_PCI_IRQ));

    /* tulip_start_rxtx() with the new duplex. */
    qtest_clock_step(qts, 5000);
    qdec_csr_write(d, 6, csr6 | CSR6_FD);
    g_assert_cmphex(qdec_csr_read(d, 6) & (CSR6_SR | CSR6_ST | CSR6_FD), ==,
                    CSR6_SR | CSR6_ST | CSR6_FD);
    csr5 = qdec_csr_read(d, 5);
    g_assert_cmpuint(CSR5_RS(csr5), ==, RS_WAITING);
    g_assert_cmpuint(CSR5_TS(csr5), ==, TS_SUSPENDED);
    g_assert_false(csr5 & (CSR5_TPS | CSR5_RPS));

    /* Both processes work again. */
    make_frame(frame, sizeof(frame), bcast, 6);
    g_assert_cmphex(qdec_tx(d, frame, sizeof(frame)), ==, 0);
    g_assert_cmpint(backend_recv(sock[0], got, sizeof(got)), ==, 200);
    backend_send(sock[0], our_mac, 250, 0x5b);
    g_assert_cmpint(qdec_rx(d, got, sizeof(got), NULL), ==, 250);
    qdec_stop(d);
}

/* Transmit auto-poll: no CSR1 write needed. */
static void test_tx_autopoll(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    uint8_t frame[64], got[128];
    uint32_t w[4] = { DES0_OWN, TDES1_FS | TDES1_LS | 64,
                      d->tx_bufs, 0 };

    qdec_start(d, alloc, 0);
    qdec_csr_write(d, 0, 4 << 17);         /* TAP = 12.8 us */
    qdec_csr_write(d, 6, CSR6_SR | CSR6_ST);
    make_frame(frame, sizeof(frame), bcast, 2);
    qtest_memwrite(d->dev.bus->qts, d->tx_bufs, frame, sizeof(frame));
    qdec_desc_write(d, d->tx_ring, w);
    qtest_clock_step(d->dev.bus->qts, 100000);
    g_assert_cmpint(backend_recv(sock[0], got, sizeof(got)), ==, 64);
    qdec_stop(d);
}

/* Internal loopback: frames come back in and never reach the wire. */
static void test_loopback(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    uint8_t frame[200], got[300];

    qdec_start(d, alloc, CSR6_PR | CSR6_OM(CSR6_OM_INTERNAL));
    make_frame(frame, sizeof(frame), our_mac, 4);
    g_assert_cmphex(qdec_tx(d, frame, sizeof(frame)), ==, 0);
    g_assert_cmpint(qdec_rx(d, got, sizeof(got), NULL), ==, 200);
    g_assert_cmpmem(got, 200, frame, 200);
    g_assert_false(backend_pending(sock[0]));
    qdec_stop(d);
}

/* Hostile descriptors: nothing may hang, overflow or spin. */
static void test_hostile(void *obj, void *data, QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    uint64_t desc = guest_alloc(alloc, 64), buf = guest_alloc(alloc, 4096);
    uint8_t got[2048];
    uint32_t w[4], csr5;

    qdec_start(d, alloc, CSR6_PR);

    /* TX: zero sizes, then a chain pointing at itself. */
    {
        uint32_t z[4] = { DES0_OWN, TDES1_FS | TDES1_LS, 0, 0 };
        uint32_t self[4] = { DES0_OWN, TDES1_TCH | 100, buf, desc };
        qdec_desc_write(d, desc, z);
        qdec_csr_write(d, 4, desc);
        qdec_csr_write(d, 1, 1);
        g_assert_false(qdec_wait_desc(d, desc) & DES0_OWN);
        qdec_desc_write(d, desc, self);
        qdec_csr_write(d, 4, desc);
        qdec_csr_write(d, 1, 1);
        g_assert_false(qdec_wait_desc(d, desc) & DES0_OWN);
        g_assert_false(backend_pending(sock[0]));
    }

    /* TX: huge sizes across descriptors end in a jabber timeout. */
    {
        for (int i = 0; i < 3; i++) {
            uint32_t big[4] = { DES0_OWN,
                                (i == 0 ? TDES1_FS : 0) |
                                (i == 2 ? TDES1_LS : 0) |
                                TDES1_TCH | 0x7ff,
                                buf, desc + ((i + 1) % 3) * 16 };
            qdec_desc_write(d, desc + i * 16, big);
        }
        qdec_csr_write(d, 4, desc);
        qdec_csr_write(d, 1, 1);
        g_assert_cmphex(qdec_wait_desc(d, desc + 32) &
                        (DES0_OWN | TDES0_ES), ==, TDES0_ES);
        g_assert_true(qdec_csr_read(d, 5) & CSR5_TJT);
        g_assert_false(backend_pending(sock[0]));
    }

    /* RX: a self-pointing chain with a small buffer. */
    {
        uint32_t self[4] = { DES0_OWN, RDES1_RCH | 64, buf, desc };
        qdec_desc_write(d, desc, self);
        qdec_csr_write(d, 3, desc);
        backend_send(sock[0], our_mac, 1000, 0x77);
        for (int i = 0; i < 500; i++) {
            qdec_desc_read(d, desc, w);
            if (!(w[0] & DES0_OWN)) {
                break;
            }
            g_usleep(2000);
        }
        g_assert_false(w[0] & DES0_OWN);
    }

    /* RX: a ring of zero-sized buffers: the frame is dropped, counted. */
    {
        for (int i = 0; i < 4; i++) {
            uint32_t z[4] = { DES0_OWN, i == 3 ? RDES1_RER : 0,
                              buf, buf };
            qdec_desc_write(d, desc + i * 16, z);
        }
        qdec_csr_write(d, 3, desc);
        backend_send(sock[0], our_mac, 200, 0x78);
        for (int i = 0; i < 500; i++) {
            if (qdec_csr_read(d, 8) & 0xffff) {
                break;
            }
            g_assert_cmpint(i, <, 499);
            g_usleep(2000);
        }
    }

    /* A ring at the top of the address space wraps through zero. */
    qdec_csr_write(d, 4, 0xfffffff0);
    qdec_csr_write(d, 1, 1);
    csr5 = qdec_csr_read(d, 5);
    g_assert_cmphex(csr5, !=, 0xffffffff);

    /* Still a working chip after a reset. */
    qdec_start(d, alloc, CSR6_PR);
    while (backend_pending(sock[0])) {
        backend_recv(sock[0], got, sizeof(got));
    }
    backend_send(sock[0], our_mac, 500, 0x79);
    g_assert_cmpint(qdec_rx(d, got, sizeof(got), NULL), ==, 500);
    qdec_stop(d);
    guest_free(alloc, desc);
    guest_free(alloc, buf);
}

/* 10,000 seeded random CSR writes and descriptor edits. */
static void test_random_stimulus(void *obj, void *data,
                                 QGuestAllocator *alloc)
{
    QDec21140a *d = obj;
    int *sock = data;
    QTestState *qts = d->dev.bus->qts;
    g_autoptr(GRand) rnd = g_rand_new_with_seed(0x21140a);
    uint8_t got[2048];

    qdec_start(d, alloc, CSR6_PR);
    for (int i = 0; i < 10000; i++) {
        uint32_t r = g_rand_int(rnd);
        uint32_t v = g_rand_int(rnd);

        switch (r % 8) {
        case 0: case 1: {
            /* Any CSR but a reset most of the time. */
            unsigned idx = (r >> 8) % 16;
            if (idx == 0 && (v & 1) && (r >> 16) % 8) {
                v &= ~1u;
            }
            if (idx == 3 || idx == 4) {
                /* Keep lists mostly inside our rings. */
                v = (idx == 3 ? d->rx_ring : d->tx_ring) + (v % 32) * 8;
            }
            qdec_csr_write(d, idx, v);
            break;
        }
        case 2:
            qdec_csr_read(d, (r >> 8) % 16);
            break;
        case 3: case 4: {
            /* Edit a descriptor word, often setting OWN. */
            uint64_t ring = (r & 0x100) ? d->rx_ring : d->tx_ring;
            unsigned word = (r >> 9) % (QDEC_RING_SIZE * 4);
            if (word % 4 >= 2) {
                v = d->rx_bufs + v % (QDEC_RING_SIZE * QDEC_BUF_SIZE);
            } else if (word % 4 == 0) {
                v |= (r & 0x10000) ? DES0_OWN : 0;
            }
            qtest_writel(qts, ring + word * 4, v);
            break;
        }
        case 5:
            qdec_csr_write(d, 1, 1);
            break;
        case 6:
            if ((r >> 8) % 16 == 0) {
                backend_send(sock[0], (r & 0x100) ? our_mac : bcast,
                             14 + v % 1500, r >> 24);
            }
            break;
        case 7:
            qtest_clock_step(qts, v % 3000000);
            break;
        }
        while (backend_pending(sock[0])) {
            backend_recv(sock[0], got, sizeof(got));
        }
    }
    /* Alive and sane: reset and exchange a frame. */
    qdec_start(d, alloc, CSR6_PR);
    qtest_clock_step(qts, 100000000);
    while (backend_pending(sock[0])) {
        backend_recv(sock[0], got, sizeof(got));
    }
    backend_send(sock[0], our_mac, 300, 0x7a);
    g_assert_cmpint(qdec_rx(d, got, sizeof(got), NULL), ==, 300);
    qdec_stop(d);
}

/* Standalone machines, for tests that need their own command line. */

typedef struct {
    QTestState *qts;
    QOSGraphObject *bus_obj;
    QPCIBus *bus;
    QGuestAllocator alloc;
    QDec21140a dev[4];
    int ndev;
} DecMachine;

static void dec_machine_start(DecMachine *m, int ndev, const char *extra)
{
    g_autoptr(GString) cmd = g_string_new("-machine pc -accel qtest ");

    for (int i = 0; i < ndev; i++) {
        g_string_append_printf(cmd, "-device dec21140a,addr=%x.0%s ",
                               5 + i, strstr(extra, "hs0") && i == 0 ?
                               ",netdev=hs0" : "");
    }
    g_string_append(cmd, extra);
    m->qts = qtest_init(cmd->str);
    m->bus = qpci_new_pc(m->qts, NULL);
    pc_alloc_init(&m->alloc, m->qts, ALLOC_NO_FLAGS);
    m->ndev = ndev;
    for (int i = 0; i < ndev; i++) {
        QDec21140a *d = &m->dev[i];
        QPCIDevice *pdev = qpci_device_find(m->bus, QPCI_DEVFN(5 + i, 0));
        g_assert_nonnull(pdev);
        d->dev = *pdev;
        g_free(pdev);
        qpci_device_enable(&d->dev);
        d->bar = qpci_iomap(&d->dev, 0, NULL);
    }
}

static void dec_machine_stop(DecMachine *m)
{
    for (int i = 0; i < m->ndev; i++) {
        qpci_iounmap(&m->dev[i].dev, m->dev[i].bar);
    }
    qpci_free_pc(m->bus);
    alloc_destroy(&m->alloc);
    qtest_quit(m->qts);
}

static void srom_mac(QDec21140a *d, uint8_t mac[6])
{
    for (int i = 0; i < 3; i++) {
        stw_le_p(mac + i * 2, qdec_srom_read(d, SROM_MAC / 2 + i,
                                             SROM_ADDR_BITS));
    }
}

/* "Not connected": a card without a netdev sees its cable unplugged. */
static void test_not_connected(void)
{
    DecMachine m;
    QDec21140a *d;

    dec_machine_start(&m, 1, "");
    d = &m.dev[0];
    qdec_reset(d);
    g_assert_cmphex(qdec_phy_read(d, MII_BMSR) & BMSR_LINK_AN, ==, 0);
    g_assert_cmphex(qdec_phy_read(d, MII_BMSR) & BMSR_LINK_AN, ==, 0);
    g_assert_cmphex(qdec_phy_read(d, MII_ANLPAR), ==, 0);
    g_assert_cmphex(qdec_csr_read(d, 12) & GP_PIN_LINK, ==, GP_PIN_LINK);
    dec_machine_stop(&m);
}

/*
 * Default MACs: 00:03:ff, distinct for four cards, stable for the same
 * VM, different for another VM; an explicit mac= wins.  Four cards are
 * independent (their PHYs do not share state).
 */
static void test_default_mac(void)
{
    uint8_t macs[4][6], again[6], other[6];
    DecMachine m;

    dec_machine_start(&m, 4, "-name vpcnet-test-a");
    for (int i = 0; i < 4; i++) {
        srom_mac(&m.dev[i], macs[i]);
        g_assert_cmphex(macs[i][0], ==, 0x00);
        g_assert_cmphex(macs[i][1], ==, 0x03);
        g_assert_cmphex(macs[i][2], ==, 0xff);
        for (int j = 0; j < i; j++) {
            g_assert_true(memcmp(macs[i], macs[j], 6) != 0);
        }
    }
    qdec_phy_write(&m.dev[0], MII_ANAR, 0x0021);
    g_assert_cmphex(qdec_phy_read(&m.dev[0], MII_ANAR), ==, 0x0021);
    for (int i = 1; i < 4; i++) {
        g_assert_cmphex(qdec_phy_read(&m.dev[i], MII_ANAR), ==, 0x01e1);
    }
    dec_machine_stop(&m);

    dec_machine_start(&m, 1, "-name vpcnet-test-a");
    srom_mac(&m.dev[0], again);
    dec_machine_stop(&m);
    g_assert_cmpmem(again, 6, macs[0], 6);

    dec_machine_start(&m, 1, "-name vpcnet-test-b");
    srom_mac(&m.dev[0], other);
    dec_machine_stop(&m);
    g_assert_true(memcmp(other, macs[0], 6) != 0);
    g_assert_cmphex(other[1], ==, 0x03);

    dec_machine_start(&m, 1, "-global dec21140a.mac=52:54:00:aa:bb:cc");
    srom_mac(&m.dev[0], other);
    dec_machine_stop(&m);
    g_assert_cmpmem(other, 6, "\x52\x54\x00\xaa\xbb\xcc", 6);
}

/* Whether the card's PHY and GP port say the cable is in, now. */
static bool card_link_up(QDec21140a *d)
{
    uint16_t bmsr;
    bool pin_up;

    qdec_phy_read(d, MII_BMSR);                 /* clear the latch */
    bmsr = qdec_phy_read(d, MII_BMSR);
    pin_up = !(qdec_csr_read(d, 12) & GP_PIN_LINK);
    g_assert_cmpint(pin_up, ==, (bmsr & BMSR_LINK_AN) == BMSR_LINK_AN);
    g_assert_cmpint(pin_up, ==, qdec_phy_read(d, MII_ANLPAR) != 0);
    return pin_up;
}

static void set_link_of(QTestState *qts, const char *name, bool up)
{
    qtest_qmp_assert_success(qts, "{'execute': 'set_link', 'arguments': "
                             "{'name': %s, 'up': %i}}", name, up);
}

/* One frame out and one in, or, with the cable out, neither. */
static void expect_traffic(QDec21140a *d, int fd, bool flows)
{
    uint8_t frame[100], got[200];

    make_frame(frame, sizeof(frame), bcast, 8);
    if (!flows) {
        g_assert_true(qdec_tx(d, frame, sizeof(frame)) & TDES0_ES);
        g_assert_false(backend_pending(fd));
        return;
    }
    g_assert_cmphex(qdec_tx(d, frame, sizeof(frame)), ==, 0);
    g_assert_cmpint(backend_recv(fd, got, sizeof(got)), ==, 100);
    backend_send(fd, our_mac, 150, 0x3c);
    g_assert_cmpint(qdec_rx(d, got, sizeof(got), NULL), ==, 150);
}

/*
 * QMP set_link takes the netdev's id or the NIC's (libvirt's virsh
 * domif-setlink sends the NIC's, net0): either pulls the cable.  The
 * cable is in only while both ends are up, since a frame passes neither
 * a NIC nor a netdev whose link is down.
 */
static void test_link_by_either_id(void)
{
    QGuestAllocator alloc;
    QTestState *qts;
    QDec21140a d;
    QPCIBus *bus;
    int sock[2];

    g_assert_cmpint(socketpair(PF_UNIX, SOCK_STREAM, 0, sock), ==, 0);
    backend_set_timeout(sock[0]);
    qts = qtest_initf("-machine pc -accel qtest "
                      "-netdev socket,fd=%d,id=hs0 "
                      "-device dec21140a,netdev=hs0,id=net0,addr=05.0,"
                      "mac=00:03:ff:12:34:56", sock[1]);
    bus = qpci_new_pc(qts, NULL);
    pc_alloc_init(&alloc, qts, ALLOC_NO_FLAGS);
    qdec_pci_init(&d, bus, QPCI_DEVFN(5, 0));
    qdec_start(&d, &alloc, CSR6_PR);
    g_assert_true(card_link_up(&d));
    expect_traffic(&d, sock[0], true);

    /* By the NIC's own id. */
    set_link_of(qts, "net0", false);
    g_assert_false(card_link_up(&d));
    expect_traffic(&d, sock[0], false);
    set_link_of(qts, "net0", true);
    g_assert_true(card_link_up(&d));
    expect_traffic(&d, sock[0], true);

    /* By the netdev's id. */
    set_link_of(qts, "hs0", false);
    g_assert_false(card_link_up(&d));
    expect_traffic(&d, sock[0], false);
    set_link_of(qts, "hs0", true);
    g_assert_true(card_link_up(&d));

    /* The netdev pulled, the NIC plugged: still out, as for QEMU. */
    set_link_of(qts, "hs0", false);
    set_link_of(qts, "net0", true);
    g_assert_false(card_link_up(&d));
    expect_traffic(&d, sock[0], false);
    set_link_of(qts, "hs0", true);
    g_assert_true(card_link_up(&d));
    expect_traffic(&d, sock[0], true);

    qdec_stop(&d);
    qdec_pci_fini(&d);
    qpci_free_pc(bus);
    alloc_destroy(&alloc);
    qtest_quit(qts);
    close(sock[0]);
    close(sock[1]);
}

/*
 * PCI hotplug and ACPI unplug of a second card beside the one under test,
 * as e1000e's test does, and what they leave: the plugged card answers
 * as a 21140A (PCI identity, SROM, PHY), the unplugged one's slot reads
 * as empty, and the card under test moves frames before, between and
 * after.  The plugged card has no cable: the harness's -global
 * dec21140a.netdev=hs0 is taken, which QEMU warns about and skips for a
 * hotplugged device.
 */
static void test_hotplug(void *obj, void *data, QGuestAllocator *alloc)
{
    QTestState *qts = global_qtest;
    QDec21140a *d = obj;
    int *sock = data;
    QDec21140a hot;
    uint8_t mac[6];

    g_assert_false(d->dev.bus->not_hotpluggable);
    qdec_start(d, alloc, CSR6_PR);
    expect_traffic(d, sock[0], true);

    qtest_qmp_device_add(qts, "dec21140a", "dec_hot", "{'addr': '06.0'}");
    qdec_pci_init(&hot, d->dev.bus, QPCI_DEVFN(6, 0));
    qdec_reset(&hot);
    srom_mac(&hot, mac);
    g_assert_cmpmem(mac, 3, our_mac, 3);
    g_assert_cmphex(qdec_phy_read(&hot, MII_PHYID1), ==, 0x2000);
    expect_traffic(d, sock[0], true);
    qdec_pci_fini(&hot);

    qpci_unplug_acpi_device_test(qts, "dec_hot", 6);
    g_assert_cmphex(qpci_config_readw(&hot.dev, PCI_VENDOR_ID), ==, 0xffff);
    expect_traffic(d, sock[0], true);
    qdec_stop(d);
}

/* vpcnet-mac, built from the same sources in QEMU's tree. */
static const char *vpcnet_mac_tool(void)
{
    static char *path;

    if (!path) {
        const char *qemu = g_getenv("QTEST_QEMU_BINARY");
        g_autofree char *dir = NULL;

        path = g_strdup(g_getenv("VPCNET_MAC"));
        if (!path) {
            g_assert_nonnull(qemu);
            dir = g_path_get_dirname(qemu);
            path = g_build_filename(dir, "net", "vpcnet", "vpcnet-mac", NULL);
        }
        if (!g_file_test(path, G_FILE_TEST_IS_EXECUTABLE)) {
            g_test_message("no vpcnet-mac at %s (make builds it; or set "
                           "VPCNET_MAC)", path);
            g_assert_not_reached();
        }
    }
    return path;
}

/*
 * Run vpcnet-mac with @args (NULL-terminated); returns its exit status,
 * its output line in @out (without the newline) and its error text.
 */
static int run_vpcnet_mac(char **out, char **err, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    int status;

    g_ptr_array_add(argv, (char *)vpcnet_mac_tool());
    for (int i = 0; args[i]; i++) {
        g_ptr_array_add(argv, (char *)args[i]);
    }
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, 0, NULL,
                               NULL, out, err, &status, NULL));
    g_strchomp(*out);
    g_assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void tool_mac(uint8_t mac[6], const char *const *args)
{
    g_autofree char *out = NULL, *err = NULL;
    unsigned v[6];
    char tail;

    g_assert_cmpint(run_vpcnet_mac(&out, &err, args), ==, 0);
    g_assert_cmpint(sscanf(out, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1],
                           &v[2], &v[3], &v[4], &v[5], &tail), ==, 6);
    for (int i = 0; i < 6; i++) {
        mac[i] = v[i];
    }
}

/* A card's MAC as its driver reads it from the SROM, at @devfn. */
static void srom_mac_at(QTestState *qts, QPCIBus *bus, int devfn,
                        uint8_t mac[6])
{
    QDec21140a d;

    qdec_pci_init(&d, bus, devfn);
    qdec_reset(&d);
    srom_mac(&d, mac);
    qdec_pci_fini(&d);
}

/* The cards of the MAC tests: what -device says, what vpcnet-mac is told. */
typedef struct {
    const char *device;         /* -device dec21140a,... */
    int slot;
    const char *tool[8];        /* vpcnet-mac options but the VM's */
} MacCard;

static const MacCard mac_cards[] = {
    { "id=net0,addr=05.0", 5, { "--id", "net0", NULL } },
    { "id=net1,addr=06.0", 6, { "--id", "net1", NULL } },
    { "addr=07.0", 7, { "--addr", "07.0", NULL } },
    { "addr=08.0,host-adapter=lo", 8,
      { "--addr", "8", "--host-adapter", "lo", NULL } },
    { "addr=09.0,host-adapter=02:00:00:00:00:2a", 9,
      { "--addr", "09.0", "--host-adapter", "02:00:00:00:00:2a", NULL } },
};

/* The tool's answer for @card in a VM with @vm_args ("--name", "x"...). */
static void mac_card_tool(const MacCard *card, const char *const *vm_args,
                          uint8_t mac[6])
{
    const char *args[16];
    int n = 0;

    for (int i = 0; vm_args[i]; i++) {
        args[n++] = vm_args[i];
    }
    for (int i = 0; card->tool[i]; i++) {
        args[n++] = card->tool[i];
    }
    args[n] = NULL;
    tool_mac(mac, args);
}

/* Boot the mac_cards in @order; read each card's MAC into @macs. */
static void mac_cards_boot(const char *vm, const int *order,
                           uint8_t macs[][6])
{
    g_autoptr(GString) cmd = g_string_new("-machine pc -accel qtest ");
    QTestState *qts;
    QPCIBus *bus;

    g_string_append(cmd, vm);
    for (int i = 0; i < G_N_ELEMENTS(mac_cards); i++) {
        g_string_append_printf(cmd, " -device dec21140a,%s",
                               mac_cards[order[i]].device);
    }
    qts = qtest_init(cmd->str);
    bus = qpci_new_pc(qts, NULL);
    for (int i = 0; i < G_N_ELEMENTS(mac_cards); i++) {
        srom_mac_at(qts, bus, QPCI_DEVFN(mac_cards[i].slot, 0), macs[i]);
    }
    qpci_free_pc(bus);
    qtest_quit(qts);
}

/*
 * The default MAC depends on what the configuration names, not on the
 * order cards are created in; vpcnet-mac predicts it for every card:
 * by id, by PCI address, with a host adapter named or given by its MAC,
 * for a VM known by -name or by -uuid (in any case).
 */
static void test_mac_tool_agrees(void)
{
    static const int forward[] = { 0, 1, 2, 3, 4 };
    static const int backward[] = { 4, 3, 2, 1, 0 };
    static const char *const by_name[] = { "--name", "vpcnet-mac-a", NULL };
    static const char *const by_uuid[] = {
        "--uuid", "8F5C3E1A-0B2D-4C6E-9A7B-1D2E3F405162",
        "--name", "vpcnet-mac-a", NULL };
    uint8_t first[G_N_ELEMENTS(mac_cards)][6];
    uint8_t again[G_N_ELEMENTS(mac_cards)][6];
    uint8_t want[6];

    mac_cards_boot("-name vpcnet-mac-a", forward, first);
    mac_cards_boot("-name vpcnet-mac-a", backward, again);
    for (int i = 0; i < G_N_ELEMENTS(mac_cards); i++) {
        g_test_message("card %s: %02x:%02x:%02x:%02x:%02x:%02x",
                       mac_cards[i].device, first[i][0], first[i][1],
                       first[i][2], first[i][3], first[i][4], first[i][5]);
        g_assert_cmpmem(first[i], 6, again[i], 6);
        mac_card_tool(&mac_cards[i], by_name, want);
        g_assert_cmpmem(first[i], 6, want, 6);
        for (int j = 0; j < i; j++) {
            g_assert_true(memcmp(first[i], first[j], 6) != 0);
        }
    }

    mac_cards_boot("-name vpcnet-mac-a "
                   "-uuid 8f5c3e1a-0b2d-4c6e-9a7b-1d2e3f405162", forward,
                   again);
    for (int i = 0; i < G_N_ELEMENTS(mac_cards); i++) {
        g_assert_true(memcmp(first[i], again[i], 6) != 0);
        mac_card_tool(&mac_cards[i], by_uuid, want);
        g_assert_cmpmem(again[i], 6, want, 6);
    }
}

/*
 * A card hotplugged after others keeps the address its id (or its slot)
 * gives it, whatever was plugged before; unplugging and plugging it
 * again gives it back the same address.
 */
static void test_mac_hotplug(void)
{
    static const char *const tool_hot[] = {
        "--name", "vpcnet-mac-hot", "--id", "hot0", NULL };
    static const char *const tool_slot[] = {
        "--name", "vpcnet-mac-hot", "--addr", "0c.0", NULL };
    QTestState *qts;
    QPCIBus *bus;
    uint8_t mac[6], want[6], again[6];

    qts = qtest_init("-machine pc -accel qtest -name vpcnet-mac-hot "
                     "-device dec21140a,addr=05.0");
    bus = qpci_new_pc(qts, NULL);
    qtest_qmp_device_add(qts, "dec21140a", "other", "{'addr': '0a.0'}");
    qtest_qmp_device_add(qts, "dec21140a", "hot0", "{'addr': '0b.0'}");
    srom_mac_at(qts, bus, QPCI_DEVFN(0x0b, 0), mac);
    tool_mac(want, tool_hot);
    g_assert_cmpmem(mac, 6, want, 6);

    qpci_unplug_acpi_device_test(qts, "hot0", 0x0b);
    qtest_qmp_device_add(qts, "dec21140a", "hot0", "{'addr': '0d.0'}");
    srom_mac_at(qts, bus, QPCI_DEVFN(0x0d, 0), again);
    g_assert_cmpmem(again, 6, want, 6);

    /* Without an id, the slot names the card. */
    qtest_qmp_assert_success(qts, "{'execute': 'device_add', 'arguments': "
                             "{'driver': 'dec21140a', 'addr': '0c.0'}}");
    srom_mac_at(qts, bus, QPCI_DEVFN(0x0c, 0), mac);
    tool_mac(want, tool_slot);
    g_assert_cmpmem(mac, 6, want, 6);
    qpci_free_pc(bus);
    qtest_quit(qts);
}

/* vpcnet-mac refuses what the device would refuse, and bad usage. */
static void test_mac_tool_errors(void)
{
    static const struct {
        int status;
        const char *needle;
        const char *args[6];
    } cases[] = {
        { 1, "vpcnet-none0", { "--host-adapter", "vpcnet-none0", "--id",
                               "net0", NULL } },
        { 1, "not-a-uuid", { "--uuid", "not-a-uuid", "--id", "net0", NULL } },
        { 2, "--id", { "--name", "vm", NULL } },
        { 2, "PCI address", { "--addr", "20.0", NULL } },
        { 2, "PCI address", { "--addr", "05.8", NULL } },
        { 2, "PCI address", { "--addr", "x5", NULL } },
        { 2, "unexpected", { "--id", "net0", "extra", NULL } },
    };

    for (int i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = NULL, *err = NULL;

        g_assert_cmpint(run_vpcnet_mac(&out, &err, cases[i].args), ==,
                        cases[i].status);
        g_assert_cmpstr(out, ==, "");
        g_assert_nonnull(strstr(err, cases[i].needle));
    }
    {
        static const char *const help[] = { "--help", NULL };
        g_autofree char *out = NULL, *err = NULL;

        g_assert_cmpint(run_vpcnet_mac(&out, &err, help), ==, 0);
        g_assert_nonnull(strstr(out, "--host-adapter IF|MAC"));
    }
}

/* An unknown host-adapter= is a clear start-up error. */
static void test_bad_host_adapter(void)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    const char *argv[] = {
        "timeout", "20", qemu, "-machine", "pc", "-accel", "qtest",
        "-display", "none", "-nodefaults", "-S",
        "-device", "dec21140a,host-adapter=vpcnet-none0", NULL,
    };
    g_autofree char *out = NULL, *err = NULL;
    int status;

    g_assert_nonnull(qemu);
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
                               NULL, NULL, &out, &err, &status, NULL));
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    g_assert_nonnull(strstr(err, "vpcnet-none0"));
}

/*
 * Migration round trip through a file: every CSR, the filter, the PHY,
 * the timer and the rings survive, and the migrated card keeps moving
 * frames.
 */
static void test_migration(void)
{
    g_autofree char *path = g_strdup_printf("%s/dec21140a-mig-%d",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *extra = NULL, *uri = NULL;
    int src_sock[2], dst_sock[2];
    DecMachine src, dst;
    QDec21140a *d;
    uint32_t before[16], after;
    uint8_t frame[300], got[600];
    int len;
    const uint8_t table[2][6] = {
        { 0x00, 0x03, 0xff, 0x12, 0x34, 0x56 },
        { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
    };
    const char *common = "-global dec21140a.mac=00:03:ff:12:34:56";

    g_assert_cmpint(socketpair(PF_UNIX, SOCK_STREAM, 0, src_sock), ==, 0);
    g_assert_cmpint(socketpair(PF_UNIX, SOCK_STREAM, 0, dst_sock), ==, 0);
    backend_set_timeout(dst_sock[0]);

    extra = g_strdup_printf("-netdev socket,fd=%d,id=hs0 %s", src_sock[1],
                            common);
    dec_machine_start(&src, 1, extra);
    d = &src.dev[0];
    qdec_start(d, &src.alloc, 0);
    qdec_setup_frame(d, DEC21140A_FILTER_PERFECT, table, 2);
    qdec_phy_write(d, MII_ANAR, 0x0181);
    qdec_csr_write(d, 12, 0x100 | 0x03);
    qdec_csr_write(d, 12, 0x01);
    qdec_csr_write(d, 11, (1u << 16) | 0x8000);
    for (int i = 0; i < 16; i++) {
        if (i != 8 && i != 11) {
            before[i] = qdec_csr_read(d, i);
        }
    }

    /* As the migration qtests do it: the source first, into the file. */
    uri = g_strdup_printf("file:%s", path);
    migrate_qmp(src.qts, NULL, uri, NULL, "{}");
    wait_for_migration_complete(src.qts);

    g_free(extra);
    extra = g_strdup_printf("-netdev socket,fd=%d,id=hs0 %s -incoming defer",
                            dst_sock[1], common);
    dec_machine_start(&dst, 1, extra);
    migrate_incoming_qmp(dst.qts, uri, NULL, "{}");
    wait_for_migration_complete(dst.qts);
    qtest_qmp_assert_success(dst.qts, "{'execute': 'cont'}");
    dst.dev[0].rx_ring = d->rx_ring;
    dst.dev[0].tx_ring = d->tx_ring;
    dst.dev[0].rx_bufs = d->rx_bufs;
    dst.dev[0].tx_bufs = d->tx_bufs;
    dst.dev[0].rx_next = d->rx_next;
    dst.dev[0].tx_next = d->tx_next;
    d = &dst.dev[0];

    for (int i = 0; i < 16; i++) {
        if (i == 8 || i == 11) {
            continue;
        }
        after = qdec_csr_read(d, i);
        g_assert_cmphex(after, ==, before[i]);
    }
    g_assert_cmphex(qdec_csr_read(d, 11) & (1u << 16), ==, 1u << 16);
    g_assert_cmphex(qdec_phy_read(d, MII_ANAR), ==, 0x0181);

    /* Still filtering and moving frames both ways. */
    backend_send(dst_sock[0], other_uc, 100, 0x12);
    backend_send(dst_sock[0], mc_a, 110, 0x13);
    g_assert_cmpint(qdec_rx(d, got, sizeof(got), NULL), ==, 110);
    make_frame(frame, sizeof(frame), bcast, 5);
    g_assert_cmphex(qdec_tx(d, frame, sizeof(frame)), ==, 0);
    /* After migration QEMU announces the card with RARP frames. */
    while ((len = backend_recv(dst_sock[0], got, sizeof(got))) == 60) {
        g_assert_cmphex(lduw_be_p(got + 12), ==, 0x8035);
        g_assert_cmpmem(got + 6, 6, table[0], 6);
    }
    g_assert_cmpint(len, ==, 300);
    g_assert_cmpmem(got, 300, frame, 300);

    dec_machine_stop(&src);
    dec_machine_stop(&dst);
    for (int i = 0; i < 2; i++) {
        close(src_sock[i]);
        close(dst_sock[i]);
    }
    unlink(path);
}

static void socket_test_clear(void *sockets)
{
    int *sock = sockets;

    /* The next test's socketpair reuses these fd numbers: new QEMU. */
    qos_invalidate_command_line();
    close(sock[0]);
    close(sock[1]);
    g_free(sock);
}


static void *socket_test_init(GString *cmd_line, void *arg)
{
    int *sock = g_new(int, 2);

    g_assert_cmpint(socketpair(PF_UNIX, SOCK_STREAM, 0, sock), !=, -1);
    backend_set_timeout(sock[0]);
    g_string_append_printf(cmd_line, " -netdev socket,fd=%d,id=hs0 ",
                           sock[1]);
    g_string_append(cmd_line, " -global dec21140a.mac=00:03:ff:12:34:56 "
                    " -global dec21140a.netdev=hs0 ");
    g_test_queue_destroy(socket_test_clear, sock);
    return sock;
}

static void register_dec21140a_tests(void)
{
    QOSGraphTestOptions opts = {
        .before = socket_test_init,
    };

    qos_add_test("pci-identity", "dec21140a", test_pci_identity, &opts);
    qos_add_test("srom", "dec21140a", test_srom, &opts);
    qos_add_test("mii", "dec21140a", test_mii, &opts);
    qos_add_test("tx", "dec21140a", test_tx, &opts);
    qos_add_test("rx", "dec21140a", test_rx, &opts);
    qos_add_test("fcs", "dec21140a", test_fcs, &opts);
    qos_add_test("filter-perfect", "dec21140a", test_filter_perfect, &opts);
    qos_add_test("filter-inverse", "dec21140a", test_filter_inverse, &opts);
    qos_add_test("filter-hash", "dec21140a", test_filter_hash, &opts);
    qos_add_test("filter-hash-only", "dec21140a", test_filter_hash_only,
                 &opts);
    qos_add_test("filter-promisc-allmulti", "dec21140a",
                 test_filter_promisc_allmulti, &opts);
    qos_add_test("chain-mode", "dec21140a", test_chain_mode, &opts);
    qos_add_test("multi-descriptor", "dec21140a", test_multi_descriptor,
                 &opts);
    qos_add_test("rx-resume", "dec21140a", test_rx_resume, &opts);
    qos_add_test("missed-frames", "dec21140a", test_missed_frames, &opts);
    qos_add_test("gp-timer", "dec21140a", test_gp_timer, &opts);
    qos_add_test("link", "dec21140a", test_link, &opts);
    qos_add_test("reset-state", "dec21140a", test_reset_state, &opts);
    qos_add_test("stop-sequence", "dec21140a", test_stop_sequence, &opts);
    qos_add_test("tx-autopoll", "dec21140a", test_tx_autopoll, &opts);
    qos_add_test("loopback", "dec21140a", test_loopback, &opts);
    qos_add_test("hostile-descriptors", "dec21140a", test_hostile, &opts);
    qos_add_test("random-stimulus", "dec21140a", test_random_stimulus, &opts);
    qos_add_test("hotplug", "dec21140a", test_hotplug, &opts);
}

/* Tests that boot machines of their own, outside the qos graph. */
static void register_dec21140a_machine_tests(void)
{
    qtest_add_func("dec21140a/not-connected", test_not_connected);
    qtest_add_func("dec21140a/default-mac", test_default_mac);
    qtest_add_func("dec21140a/bad-host-adapter", test_bad_host_adapter);
    qtest_add_func("dec21140a/migration", test_migration);
    qtest_add_func("dec21140a/link-by-either-id", test_link_by_either_id);
    qtest_add_func("dec21140a/mac/tool-agrees", test_mac_tool_agrees);
    qtest_add_func("dec21140a/mac/hotplug", test_mac_hotplug);
    qtest_add_func("dec21140a/mac/tool-errors", test_mac_tool_errors);
}

libqos_init(register_dec21140a_tests);
libqos_init(register_dec21140a_machine_tests);
