/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libqos driver for the DEC 21140A.
 */
#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/bswap.h"
#include "hw/pci/pci_regs.h"
#include "qgraph.h"
#include "dec21140a.h"

uint32_t qdec_csr_read(QDec21140a *d, unsigned idx)
{
    return qpci_io_readl(&d->dev, d->bar, idx * DEC21140A_CSR_STRIDE);
}

void qdec_csr_write(QDec21140a *d, unsigned idx, uint32_t val)
{
    qpci_io_writel(&d->dev, d->bar, idx * DEC21140A_CSR_STRIDE, val);
}

void qdec_desc_read(QDec21140a *d, uint64_t addr, uint32_t w[4])
{
    qtest_memread(d->dev.bus->qts, addr, w, DEC21140A_DESC_SIZE);
    for (int i = 0; i < 4; i++) {
        w[i] = le32_to_cpu(w[i]);
    }
}

void qdec_desc_write(QDec21140a *d, uint64_t addr, const uint32_t w[4])
{
    uint32_t le[4];

    for (int i = 0; i < 4; i++) {
        le[i] = cpu_to_le32(w[i]);
    }
    qtest_memwrite(d->dev.bus->qts, addr, le, DEC21140A_DESC_SIZE);
}

void qdec_pci_init(QDec21140a *d, QPCIBus *bus, int devfn)
{
    QPCIDevice *pdev = qpci_device_find(bus, devfn);

    g_assert_nonnull(pdev);
    memset(d, 0, sizeof(*d));
    d->dev = *pdev;
    g_free(pdev);
    g_assert_cmphex(qpci_config_readw(&d->dev, PCI_VENDOR_ID), ==,
                    DEC21140A_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(&d->dev, PCI_DEVICE_ID), ==,
                    DEC21140A_DEVICE_ID);
    qpci_device_enable(&d->dev);
    d->bar = qpci_iomap(&d->dev, 0, NULL);
}

void qdec_pci_fini(QDec21140a *d)
{
    qpci_iounmap(&d->dev, d->bar);
}

void qdec_reset(QDec21140a *d)
{
    qpci_device_enable(&d->dev);
    qdec_csr_write(d, 0, CSR0_SWR);
    qdec_csr_write(d, 0, 0);
}

static uint64_t qdec_rx_desc(QDec21140a *d, unsigned i)
{
    return d->rx_ring + i * DEC21140A_DESC_SIZE;
}

static uint64_t qdec_tx_desc(QDec21140a *d, unsigned i)
{
    return d->tx_ring + i * DEC21140A_DESC_SIZE;
}

static void qdec_give_rx(QDec21140a *d, unsigned i)
{
    uint32_t w[4] = {
        DES0_OWN,
        QDEC_BUF_SIZE | (i == QDEC_RING_SIZE - 1 ? RDES1_RER : 0),
        d->rx_bufs + i * QDEC_BUF_SIZE,
        0,
    };

    qdec_desc_write(d, qdec_rx_desc(d, i), w);
}

void qdec_start(QDec21140a *d, QGuestAllocator *alloc, uint32_t csr6_extra)
{
    d->alloc = alloc;
    if (!d->rx_ring) {
        d->rx_ring = guest_alloc(alloc, QDEC_RING_SIZE * DEC21140A_DESC_SIZE);
        d->tx_ring = guest_alloc(alloc, QDEC_RING_SIZE * DEC21140A_DESC_SIZE);
        d->rx_bufs = guest_alloc(alloc, QDEC_RING_SIZE * QDEC_BUF_SIZE);
        d->tx_bufs = guest_alloc(alloc, QDEC_RING_SIZE * QDEC_BUF_SIZE);
    }
    qdec_reset(d);
    for (unsigned i = 0; i < QDEC_RING_SIZE; i++) {
        uint32_t tx[4] = {
            0, i == QDEC_RING_SIZE - 1 ? TDES1_TER : 0,
            d->tx_bufs + i * QDEC_BUF_SIZE, 0,
        };
        qdec_desc_write(d, qdec_tx_desc(d, i), tx);
        qdec_give_rx(d, i);
    }
    d->rx_next = d->tx_next = 0;
    qdec_csr_write(d, 3, d->rx_ring);
    qdec_csr_write(d, 4, d->tx_ring);
    qdec_csr_write(d, 7, CSR7_MASK);      /* all of them, as Linux does */
    qdec_csr_write(d, 6, CSR6_SR | CSR6_ST | csr6_extra);
}

void qdec_stop(QDec21140a *d)
{
    qdec_csr_write(d, 6, 0);
}

uint32_t qdec_wait_desc(QDec21140a *d, uint64_t addr)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
    uint32_t w[4];

    do {
        qdec_desc_read(d, addr, w);
        if (!(w[0] & DES0_OWN)) {
            break;
        }
        g_usleep(100);
    } while (g_get_monotonic_time() < deadline);
    return w[0];
}

/* Put one buffer in the next TX descriptor and hand it over. */
static uint32_t qdec_tx_raw(QDec21140a *d, const void *data, size_t len,
                            uint32_t tdes1)
{
    unsigned i = d->tx_next;
    uint64_t desc = qdec_tx_desc(d, i);
    uint64_t buf = d->tx_bufs + i * QDEC_BUF_SIZE;
    uint32_t w[4] = {
        DES0_OWN,
        tdes1 | len | (i == QDEC_RING_SIZE - 1 ? TDES1_TER : 0),
        buf, 0,
    };

    g_assert_cmpuint(len, <=, QDEC_BUF_SIZE);
    qtest_memwrite(d->dev.bus->qts, buf, data, len);
    qdec_desc_write(d, desc, w);
    qdec_csr_write(d, 1, 1);
    d->tx_next = (i + 1) % QDEC_RING_SIZE;
    return qdec_wait_desc(d, desc);
}

uint32_t qdec_tx(QDec21140a *d, const void *frame, size_t len)
{
    return qdec_tx_raw(d, frame, len, TDES1_FS | TDES1_LS |
                       TDES1_IC);
}

void qdec_setup_frame(QDec21140a *d, int type, const uint8_t (*addrs)[6],
                      int count)
{
    uint8_t frame[DEC21140A_SETUP_FRAME_LEN] = { 0 };
    uint32_t tdes1 = TDES1_SET | TDES1_IC;

    if (type == DEC21140A_FILTER_PERFECT || type == DEC21140A_FILTER_INVERSE) {
        g_assert_cmpint(count, <=, DEC21140A_PERFECT_COUNT);
        for (int i = 0; i < DEC21140A_PERFECT_COUNT; i++) {
            /* Unused entries repeat the first address, as Linux does. */
            const uint8_t *a = addrs[i < count ? i : 0];
            for (int j = 0; j < 3; j++) {
                stw_le_p(frame + (i * 3 + j) * 4, lduw_le_p(a + j * 2));
            }
        }
    } else {
        uint16_t hash[32] = { 0 };
        for (int i = 0; i < count; i++) {
            unsigned idx = qdec_hash_index(addrs[i]);
            hash[idx / 16] |= 1 << (idx % 16);
        }
        for (int i = 0; i < 32; i++) {
            stw_le_p(frame + i * 4, hash[i]);
        }
        if (count) {
            for (int j = 0; j < 3; j++) {
                stw_le_p(frame + (39 + j) * 4, lduw_le_p(addrs[0] + j * 2));
            }
        }
    }
    if (type & 1) {
        tdes1 |= TDES1_FT0;
    }
    if (type & 2) {
        tdes1 |= TDES1_FT1;
    }
    g_assert_false(qdec_tx_raw(d, frame, sizeof(frame), tdes1) &
                   DES0_OWN);
}

int qdec_rx(QDec21140a *d, void *buf, size_t max, uint32_t *rdes0)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
    uint32_t w[4];
    int len;

    do {
        qdec_desc_read(d, qdec_rx_desc(d, d->rx_next), w);
        if (!(w[0] & DES0_OWN)) {
            break;
        }
        qtest_clock_step(d->dev.bus->qts, 100000);
        g_usleep(1000);
    } while (g_get_monotonic_time() < deadline);
    if (w[0] & DES0_OWN) {
        return -1;
    }
    if (rdes0) {
        *rdes0 = w[0];
    }
    g_assert(w[0] & RDES0_FS);
    g_assert(w[0] & RDES0_LS);
    len = RDES0_FL(w[0]) - 4;
    g_assert_cmpint(len, >=, 0);
    qtest_memread(d->dev.bus->qts, w[2], buf, MIN(max, (size_t)len));
    qdec_give_rx(d, d->rx_next);
    d->rx_next = (d->rx_next + 1) % QDEC_RING_SIZE;
    return len;
}

/* SROM: start bit, opcode 10, address, then 16 data bits. */
uint16_t qdec_srom_read(QDec21140a *d, unsigned addr, unsigned addr_bits)
{
    uint32_t cmd = (6u << addr_bits) | addr;   /* 1 10 aaaaaa */
    uint16_t val = 0;

    qdec_csr_write(d, 9, CSR9_SR | CSR9_RD);
    qdec_csr_write(d, 9, CSR9_SR | CSR9_RD | CSR9_SROM_CS);
    for (int i = 2 + addr_bits; i >= 0; i--) {
        uint32_t di = (cmd >> i) & 1 ? CSR9_SROM_DI : 0;
        qdec_csr_write(d, 9, CSR9_SR | CSR9_RD | CSR9_SROM_CS | di);
        qdec_csr_write(d, 9, CSR9_SR | CSR9_RD | CSR9_SROM_CS | di |
                       CSR9_SROM_SK);
        /* Data out is 1 during the command, then a dummy 0. */
        g_assert_cmpint(!!(qdec_csr_read(d, 9) & CSR9_SROM_DO), ==, i != 0);
    }
    for (int i = 0; i < 16; i++) {
        qdec_csr_write(d, 9, CSR9_SR | CSR9_RD | CSR9_SROM_CS);
        qdec_csr_write(d, 9, CSR9_SR | CSR9_RD | CSR9_SROM_CS |
                       CSR9_SROM_SK);
        val = (val << 1) | !!(qdec_csr_read(d, 9) & CSR9_SROM_DO);
    }
    qdec_csr_write(d, 9, CSR9_SR | CSR9_RD);
    return val;
}

static void qdec_mdio_out(QDec21140a *d, unsigned bit)
{
    uint32_t v = bit ? CSR9_MDO : 0;

    qdec_csr_write(d, 9, v);
    qdec_csr_write(d, 9, v | CSR9_MDC);
}

static void qdec_mdio_command(QDec21140a *d, unsigned op, unsigned phy,
                              unsigned reg)
{
    uint32_t cmd = (1u << 12) | (op << 10) | (phy << 5) | reg;  /* 01 op */

    for (int i = 0; i < 32; i++) {
        qdec_mdio_out(d, 1);
    }
    for (int i = 13; i >= 0; i--) {
        qdec_mdio_out(d, (cmd >> i) & 1);
    }
}

/* As Linux reads: sample MDI before each of 19 rising edges. */
uint16_t qdec_mii_read(QDec21140a *d, unsigned phy, unsigned reg)
{
    uint32_t val = 0;

    qdec_mdio_command(d, 2, phy, reg);
    for (int i = 0; i < 19; i++) {
        qdec_csr_write(d, 9, CSR9_MII_READ);
        val = (val << 1) | !!(qdec_csr_read(d, 9) & CSR9_MDI);
        qdec_csr_write(d, 9, CSR9_MII_READ | CSR9_MDC);
    }
    return (val >> 1) & 0xffff;
}

void qdec_mii_write(QDec21140a *d, unsigned phy, unsigned reg, uint16_t val)
{
    qdec_mdio_command(d, 1, phy, reg);
    qdec_mdio_out(d, 1);
    qdec_mdio_out(d, 0);
    for (int i = 15; i >= 0; i--) {
        qdec_mdio_out(d, (val >> i) & 1);
    }
    for (int i = 0; i < 2; i++) {
        qdec_mdio_out(d, 1);
    }
}

uint16_t qdec_phy_read(QDec21140a *d, unsigned reg)
{
    return qdec_mii_read(d, DEC21140A_PHY_ADDR, reg);
}

void qdec_phy_write(QDec21140a *d, unsigned reg, uint16_t val)
{
    qdec_mii_write(d, DEC21140A_PHY_ADDR, reg, val);
}

unsigned qdec_hash_index(const uint8_t *mac)
{
    uint32_t crc = 0xffffffff;

    for (int i = 0; i < 6; i++) {
        crc ^= mac[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc >> 1) ^ ((crc & 1) ? 0xedb88320 : 0);
        }
    }
    return crc & 0x1ff;
}

static void *qdec_get_driver(void *obj, const char *interface)
{
    QDec21140a *d = obj;

    if (!g_strcmp0(interface, "dec21140a")) {
        return d;
    }
    if (!g_strcmp0(interface, "pci-device")) {
        return &d->dev;
    }
    fprintf(stderr, "%s not present in dec21140a\n", interface);
    g_assert_not_reached();
}

static void qdec_destructor(QOSGraphObject *obj)
{
    QDec21140a *d = (QDec21140a *)obj;

    qpci_iounmap(&d->dev, d->bar);
}

static void *qdec_create(void *pci_bus, QGuestAllocator *alloc, void *addr)
{
    QDec21140a *d = g_new0(QDec21140a, 1);

    qpci_device_init(&d->dev, pci_bus, addr);
    d->bar = qpci_iomap(&d->dev, 0, NULL);
    d->obj.get_driver = qdec_get_driver;
    d->obj.destructor = qdec_destructor;
    return &d->obj;
}

static void qdec_register_nodes(void)
{
    /*
     * No netdev here: generic pci-device tests run the card "Not
     * connected"; dec21140a-test.c attaches hs0 with -global.
     */
    QOSGraphEdgeOptions opts = {
        .extra_device_opts = "addr=05.0",
    };

    add_qpci_address(&opts, &(QPCIAddress) { .devfn = QPCI_DEVFN(5, 0) });
    qos_node_create_driver("dec21140a", qdec_create);
    qos_node_consumes("dec21140a", "pci-bus", &opts);
    qos_node_produces("dec21140a", "pci-device");
}

libqos_init(qdec_register_nodes);
