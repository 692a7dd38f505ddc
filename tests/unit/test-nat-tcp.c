/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the NAT core's TCP translator (net/vpcnet/nat/tcp.c): a
 * simulated guest (nat-harness.c) against real listeners on 127.0.0.1
 * and ::1 reached through the gateway address (host_loopback=on).  The
 * fake clock makes retransmission, probes and timeouts deterministic;
 * frames the core sends can be lost on the way to the guest.
 */
#include "nat-harness.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connection through the gateway to a fresh listener. */
typedef struct Conn {
    NatHarness *h;
    int lfd;
    uint16_t port;
    int host;
    NhTcp c;
} Conn;

static void conn_open(Conn *k, NatHarness *h, bool v6)
{
    NhAddr gw = nh_gw(v6);

    k->h = h;
    k->port = 0;
    k->lfd = nh_tcp_listen(v6, &k->port, 16);
    nh_tcp_init(&k->c, h, &gw, k->port);
    nh_tcp_connect(&k->c);
    k->host = nh_accept(h, k->lfd, 3000);
    g_assert_cmpint(k->host, >=, 0);
}

static void conn_close(Conn *k)
{
    if (k->host >= 0) {
        close(k->host);
    }
    close(k->lfd);
    nh_tcp_destroy(&k->c);
}

static uint64_t flows(NatHarness *h)
{
    return vpc_nat_stats(h->nat)->flows_active;
}

/* Read exactly @len bytes from blocking @fd. */
static void host_read(int fd, void *buf, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = read(fd, (char *)buf + off, len - off);

        g_assert_cmpint(n, >, 0);
        off += (size_t)n;
    }
}

static void host_write(int fd, const void *buf, size_t len)
{
    g_assert_cmpint(write(fd, buf, len), ==, (ssize_t)len);
}

/* Poll the core until the host has @len bytes to read on @fd. */
static void wait_host_readable(NatHarness *h, int fd, size_t len)
{
    gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
    int avail = 0;

    while (g_get_monotonic_time() < end) {
        char b[65536];
        ssize_t n = recv(fd, b, MIN(sizeof(b), len), MSG_PEEK | MSG_DONTWAIT);

        avail = n > 0 ? (int)n : 0;
        if ((size_t)avail >= len) {
            return;
        }
        nh_poll(h, 10);
    }
    g_error("the host got %d of %zu bytes", avail, len);
}

/* The handshake: our SYN-ACK carries the MSS of the MTU and our scale. */
static void handshake(bool v6)
{
    NatHarness *h = nh_new(NULL);
    uint16_t port = 0;
    int lfd = nh_tcp_listen(v6, &port, 4);
    NhAddr gw = nh_gw(v6);
    NhTcp c;
    NhPkt *p;
    int host;

    nh_tcp_init(&c, h, &gw, port);
    nh_tcp_syn(&c, 1460, 7);
    g_assert_true(nh_tcp_wait_synack(&c, &p, 3000));
    g_assert_true(p->tcp.has_mss);
    g_assert_cmpuint(p->tcp.mss, ==, v6 ? 1440 : 1460);
    g_assert_true(p->tcp.has_wscale);
    g_assert_cmpuint(p->tcp.wscale, ==, 7);
    g_assert_cmpuint(p->tcp.window, ==, 65535);
    g_assert_cmpuint(p->tcp.ack, ==, c.iss + 1);
    g_assert_true(memcmp(p->eth.dst, NH_GUEST_MAC, 6) == 0);
    g_assert_true(memcmp(p->eth.src, NH_GW_MAC, 6) == 0);
    nh_pkt_free(p);
    host = nh_accept(h, lfd, 2000);
    g_assert_cmpint(host, >=, 0);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->tcp_flows, ==, 1);

    /* No window scale offered: none answered, windows unscaled. */
    nh_tcp_destroy(&c);
    nh_tcp_init(&c, h, &gw, port);
    nh_tcp_syn(&c, 0, -1);
    g_assert_true(nh_tcp_wait_synack(&c, &p, 3000));
    g_assert_false(p->tcp.has_wscale);
    g_assert_true(p->tcp.has_mss);
    nh_pkt_free(p);
    close(nh_accept(h, lfd, 2000));
    close(host);
    close(lfd);
    nh_tcp_destroy(&c);
    nh_free(h);
}

static void test_handshake4(void)
{
    handshake(false);
}

static void test_handshake6(void)
{
    handshake(true);
}

/* A small MTU and a small guest MSS: no segment is bigger than either. */
static void test_mss_small(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    uint16_t port = 0;
    int lfd, host;
    NhAddr gw = nh_gw(false);
    guint8 *data = nh_random_bytes(20000, 1);
    char *want = nh_sha256(data, 20000), *got;
    NhTcp c;
    NhPkt *p;

    nh_config(&cfg);
    cfg.mtu = 576;
    cfg.ipv6 = false;
    h = nh_new(&cfg);
    lfd = nh_tcp_listen(false, &port, 4);
    nh_tcp_init(&c, h, &gw, port);
    nh_tcp_syn(&c, 1460, 7);
    g_assert_true(nh_tcp_wait_synack(&c, &p, 3000));
    g_assert_cmpuint(p->tcp.mss, ==, 536);
    nh_pkt_free(p);
    host = nh_accept(h, lfd, 2000);
    host_write(host, data, 20000);
    close(host);
    c.auto_ack = false;
    while (!c.fin_rcvd) {
        g_assert_true(nh_next(h, &p, 3000));
        if (nh_tcp_match(&c, p)) {
            g_assert_cmpuint(p->tcp.payload_len, <=, 536);
            nh_tcp_take(&c, p);
            nh_tcp_send(&c, VPC_TCP_ACK, NULL, 0);
        }
        nh_pkt_free(p);
    }
    got = nh_sha256(c.rx->data, c.rx->len);
    g_assert_cmpstr(got, ==, want);
    g_free(got);
    nh_tcp_destroy(&c);

    /* A guest SYN without MSS: 536, RFC 9293's default. */
    nh_tcp_init(&c, h, &gw, port);
    nh_tcp_syn(&c, 0, 7);
    g_assert_true(nh_tcp_wait_synack(&c, NULL, 3000));
    host = nh_accept(h, lfd, 2000);
    host_write(host, data, 3000);
    g_assert_true(nh_next(h, &p, 3000));
    g_assert_true(nh_tcp_match(&c, p));
    g_assert_cmpuint(p->tcp.payload_len, ==, 536);
    nh_pkt_free(p);
    close(host);
    close(lfd);
    nh_tcp_destroy(&c);
    g_free(data);
    g_free(want);
    nh_free(h);
}

/*
 * The SYN-ACK goes to the guest only once the host's connect succeeds:
 * a listener whose accept queue is full (backlog 0, one connection
 * queued) drops the host's SYN, so the guest hears nothing until the
 * host accepts and the kernel's own SYN retransmission gets through.
 */
static void test_synack_after_accept(void)
{
    NatHarness *h = nh_new(NULL);
    uint16_t port = 0;
    int lfd = nh_tcp_listen(false, &port, 0);
    NhAddr gw = nh_gw(false);
    NhTcp c1, c2;
    NhPkt *p;
    int host1, host2;
    gint64 t0;

    nh_tcp_init(&c1, h, &gw, port);
    nh_tcp_connect(&c1);
    nh_tcp_init(&c2, h, &gw, port);
    nh_tcp_syn(&c2, 1460, 7);
    nh_run(h, 400);
    while (nh_next(h, &p, 0)) {
        g_assert_false(nh_tcp_match(&c2, p));
        nh_pkt_free(p);
    }
    g_assert_cmpuint(flows(h), ==, 2);
    /* The guest repeats its SYN meanwhile: still nothing. */
    nh_tcp_syn(&c2, 1460, 7);
    g_assert_false(nh_next(h, &p, 100));

    host1 = nh_accept(h, lfd, 1000);
    g_assert_cmpint(host1, >=, 0);
    t0 = g_get_monotonic_time();
    g_assert_true(nh_tcp_wait_synack(&c2, NULL, 6000));
    g_test_message("SYN-ACK %.1f s after the host accepted",
                   (g_get_monotonic_time() - t0) / 1e6);
    host2 = nh_accept(h, lfd, 2000);
    g_assert_cmpint(host2, >=, 0);
    close(host1);
    close(host2);
    close(lfd);
    nh_tcp_destroy(&c1);
    nh_tcp_destroy(&c2);
    nh_free(h);
}

/* A refused connect is an RST at once. */
static void refused(bool v6)
{
    NatHarness *h = nh_new(NULL);
    NhAddr gw = nh_gw(v6);
    NhTcp c;
    NhPkt *p;

    nh_tcp_init(&c, h, &gw, nh_free_port(v6, false));
    nh_tcp_syn(&c, 1460, 7);
    g_assert_false(nh_tcp_wait_synack(&c, &p, 3000));
    g_assert_nonnull(p);
    g_assert_cmphex(p->tcp.flags, ==, VPC_TCP_RST | VPC_TCP_ACK);
    g_assert_cmpuint(p->tcp.ack, ==, c.iss + 1);
    nh_pkt_free(p);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->tcp_refused, >=, 1);
    g_assert_cmpuint(flows(h), ==, 0);
    nh_tcp_destroy(&c);
    nh_free(h);
}

static void test_refused4(void)
{
    refused(false);
}

static void test_refused6(void)
{
    refused(true);
}

/* The host is closed without host_loopback, the outside with restrict. */
static void test_closed(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    uint16_t port = 0;
    int lfd = nh_tcp_listen(false, &port, 4);
    const NhAddr dsts[] = { nh_gw(false), nh_addr4(0x7f000001),
                            nh_gw(true), nh_addr6("::1"), nh_dns(false) };
    NhTcp c;
    NhPkt *p;

    nh_config(&cfg);
    cfg.host_loopback = false;
    h = nh_new(&cfg);
    for (unsigned i = 0; i < G_N_ELEMENTS(dsts); i++) {
        uint64_t before = nh_drops(h, VPC_NAT_DROP_HOST_CLOSED);

        nh_tcp_init(&c, h, &dsts[i], port);
        nh_tcp_syn(&c, 1460, 7);
        /* At once: no polling needed. */
        g_assert_true(nh_next(h, &p, 0));
        g_assert_true(nh_tcp_match(&c, p));
        g_assert_cmphex(p->tcp.flags, ==, VPC_TCP_RST | VPC_TCP_ACK);
        nh_pkt_free(p);
        g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_HOST_CLOSED), ==,
                         before + 1);
        nh_tcp_destroy(&c);
    }
    g_assert_cmpint(accept(lfd, NULL, NULL), <, 0);
    g_assert_cmpuint(flows(h), ==, 0);
    nh_free(h);

    /* restrict=on: the outside is refused; the gateway still maps. */
    nh_config(&cfg);
    cfg.restricted = true;
    h = nh_new(&cfg);
    {
        NhAddr out = nh_addr4(0xc6336402);  /* 198.51.100.2 */
        NhAddr gw = nh_gw(false);

        nh_tcp_init(&c, h, &out, 80);
        nh_tcp_syn(&c, 1460, 7);
        g_assert_true(nh_next(h, &p, 0));
        g_assert_cmphex(p->tcp.flags, ==, VPC_TCP_RST | VPC_TCP_ACK);
        nh_pkt_free(p);
        g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_RESTRICTED), ==, 1);
        nh_tcp_destroy(&c);
        nh_tcp_init(&c, h, &gw, port);
        nh_tcp_connect(&c);
        close(nh_accept(h, lfd, 2000));
        nh_tcp_destroy(&c);
    }
    nh_free(h);
    close(lfd);
}

/* A connect that hangs is reset after the connect timeout. */
static void test_connect_timeout(void)
{
    NatHarness *h = nh_new(NULL);
    uint16_t port = 0;
    int lfd = nh_tcp_listen(false, &port, 0);
    NhAddr gw = nh_gw(false);
    NhTcp c1, c2;
    NhPkt *p;

    nh_tcp_init(&c1, h, &gw, port);
    nh_tcp_connect(&c1);
    nh_tcp_init(&c2, h, &gw, port);
    nh_tcp_syn(&c2, 1460, 7);
    nh_run(h, 100);
    nh_flush(h);
    nh_advance(h, 9000);
    g_assert_false(nh_next(h, &p, 0));
    nh_advance(h, 1100);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_true(nh_tcp_match(&c2, p));
    g_assert_cmphex(p->tcp.flags & VPC_TCP_RST, ==, VPC_TCP_RST);
    nh_pkt_free(p);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->tcp_timeouts, ==, 1);
    g_assert_cmpuint(flows(h), ==, 1);
    close(lfd);
    nh_tcp_destroy(&c1);
    nh_tcp_destroy(&c2);
    nh_free(h);
}

/* Guest to host: 1 MiB in many segments, checked by SHA-256. */
static void data_to_host(bool v6)
{
    NatHarness *h = nh_new(NULL);
    size_t len = 1 << 20, got_len;
    guint8 *data = nh_random_bytes(len, 2);
    char *want = nh_sha256(data, len), *got;
    uint64_t frames;
    NhSink *sink;
    Conn k;

    conn_open(&k, h, v6);
    sink = nh_sink_start(k.host);
    frames = vpc_nat_stats(h->nat)->rx_frames;
    g_assert_true(nh_tcp_send_all(&k.c, data, len, 20000));
    g_assert_cmpuint(vpc_nat_stats(h->nat)->rx_frames - frames, >, 700);
    nh_tcp_send(&k.c, VPC_TCP_ACK | VPC_TCP_FIN, NULL, 0);
    got = nh_sink_join(sink, &got_len);
    g_assert_cmpuint(got_len, ==, len);
    g_assert_cmpstr(got, ==, want);
    /* The host closes too: our FIN, the guest's ACK, the flow is gone. */
    close(k.host);
    k.host = -1;
    g_assert_true(nh_tcp_recv(&k.c, 0, 3000));
    g_assert_true(k.c.fin_rcvd);
    nh_poll(h, 0);
    g_assert_cmpuint(flows(h), ==, 0);
    conn_close(&k);
    g_free(got);
    g_free(want);
    g_free(data);
    nh_free(h);
}

static void test_data_to_host4(void)
{
    data_to_host(false);
}

static void test_data_to_host6(void)
{
    data_to_host(true);
}

/* Host to guest: 2 MiB, then the host's FIN. */
static void data_to_guest(bool v6)
{
    NatHarness *h = nh_new(NULL);
    size_t len = 2 << 20;
    guint8 *data = nh_random_bytes(len, 3);
    char *want = nh_sha256(data, len), *got;
    uint64_t sent;
    NhSource *src;
    Conn k;

    conn_open(&k, h, v6);
    sent = h->sent;
    src = nh_source_start(k.host, data, len, false);
    g_assert_true(nh_tcp_recv(&k.c, 0, 30000));
    g_assert_true(k.c.fin_rcvd);
    nh_source_join(src);
    g_assert_cmpuint(k.c.rx->len, ==, len);
    got = nh_sha256(k.c.rx->data, k.c.rx->len);
    g_assert_cmpstr(got, ==, want);
    g_assert_cmpuint(h->sent - sent, >, len / 1460);
    /* The guest closes its side: the flow goes. */
    nh_tcp_send(&k.c, VPC_TCP_ACK | VPC_TCP_FIN, NULL, 0);
    nh_poll(h, 0);
    g_assert_cmpuint(flows(h), ==, 0);
    conn_close(&k);
    g_free(got);
    g_free(want);
    g_free(data);
    nh_free(h);
}

static void test_data_to_guest4(void)
{
    data_to_guest(false);
}

static void test_data_to_guest6(void)
{
    data_to_guest(true);
}

/* Both directions at once. */
static void test_data_both_ways(void)
{
    NatHarness *h = nh_new(NULL);
    size_t len = 512 * 1024, got_len;
    guint8 *up = nh_random_bytes(len, 4), *down = nh_random_bytes(len, 5);
    char *want_up = nh_sha256(up, len), *want_down = nh_sha256(down, len);
    char *got;
    NhSource *src;
    NhSink *sink;
    Conn k;
    int dup_fd;

    conn_open(&k, h, false);
    dup_fd = dup(k.host);
    sink = nh_sink_start(k.host);
    src = nh_source_start(dup_fd, down, len, false);
    g_assert_true(nh_tcp_send_all(&k.c, up, len, 20000));
    nh_tcp_send(&k.c, VPC_TCP_ACK | VPC_TCP_FIN, NULL, 0);
    g_assert_true(nh_tcp_recv(&k.c, 0, 20000));
    nh_source_join(src);
    got = nh_sink_join(sink, &got_len);
    g_assert_cmpuint(got_len, ==, len);
    g_assert_cmpstr(got, ==, want_up);
    g_free(got);
    got = nh_sha256(k.c.rx->data, k.c.rx->len);
    g_assert_cmpuint(k.c.rx->len, ==, len);
    g_assert_cmpstr(got, ==, want_down);
    close(dup_fd);
    conn_close(&k);
    g_free(got);
    g_free(want_up);
    g_free(want_down);
    g_free(up);
    g_free(down);
    nh_free(h);
}

/* Lose the core's segment at sequence number *opaque, once. */
static bool lose_seq_once(NatHarness *h, const NhPkt *p, void *opaque)
{
    uint32_t *seq = opaque;

    if (!p->is_arp && p->proto == VPC_IP_PROTO_TCP && p->tcp.payload_len &&
        p->tcp.seq == *seq) {
        *seq = 0;
        h->lose = NULL;
        return true;
    }
    return false;
}

/* Take what is queued for @c without acknowledging it. */
static void take_quietly(Conn *k, int ms)
{
    NhPkt *p;

    while (nh_next(k->h, &p, ms)) {
        if (nh_tcp_match(&k->c, p)) {
            nh_tcp_take(&k->c, p);
        }
        nh_pkt_free(p);
    }
}

static void loss(bool by_dupacks)
{
    NatHarness *h = nh_new(NULL);
    size_t len = 10000;
    guint8 *data = nh_random_bytes(len, 6);
    uint64_t rexmit;
    uint32_t lost_seq;
    Conn k;

    conn_open(&k, h, false);
    lost_seq = k.c.rcv_nxt;
    h->lose = lose_seq_once;
    h->lose_opaque = &lost_seq;
    k.c.auto_ack = false;
    host_write(k.host, data, len);
    take_quietly(&k, 300);
    g_assert_cmpuint(h->lost, ==, 1);
    g_assert_cmpuint(k.c.rx->len, ==, 0);
    g_assert_cmpuint(k.c.ooo_rcvd, >=, 5);
    rexmit = vpc_nat_stats(h->nat)->tcp_retransmits;
    if (by_dupacks) {
        /* Three duplicate ACKs: a resend now, without the timer. */
        for (int i = 0; i < 3; i++) {
            nh_tcp_send(&k.c, VPC_TCP_ACK, NULL, 0);
        }
    } else {
        nh_advance(h, 150);
        take_quietly(&k, 0);
        g_assert_cmpuint(k.c.rx->len, ==, 0);
        nh_advance(h, 100);
    }
    take_quietly(&k, 100);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->tcp_retransmits, ==, rexmit + 1);
    g_assert_cmpuint(k.c.rx->len, ==, len);
    g_assert_cmpmem(k.c.rx->data, len, data, len);
    nh_tcp_send(&k.c, VPC_TCP_ACK, NULL, 0);
    conn_close(&k);
    g_free(data);
    nh_free(h);
}

static void test_loss_rto(void)
{
    loss(false);
}

static void test_loss_dupacks(void)
{
    loss(true);
}

static bool lose_all_data(NatHarness *h, const NhPkt *p, void *opaque)
{
    return !p->is_arp && p->proto == VPC_IP_PROTO_TCP && p->tcp.payload_len;
}

/* No progress at all: the timer backs off, then resets the connection. */
static void test_retransmit_limit(void)
{
    NatHarness *h = nh_new(NULL);
    uint64_t rexmit;
    char b[16];
    NhPkt *p;
    Conn k;

    conn_open(&k, h, false);
    h->lose = lose_all_data;
    host_write(k.host, "data", 4);
    nh_run(h, 100);
    rexmit = vpc_nat_stats(h->nat)->tcp_retransmits;
    for (int i = 0; i < 40 && !k.c.rst_rcvd; i++) {
        nh_advance(h, 60000);
        while (nh_next(h, &p, 0)) {
            if (nh_tcp_match(&k.c, p)) {
                nh_tcp_take(&k.c, p);
            }
            nh_pkt_free(p);
        }
    }
    g_assert_true(k.c.rst_rcvd);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->tcp_retransmits - rexmit, ==, 12);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->tcp_timeouts, ==, 1);
    g_assert_cmpuint(flows(h), ==, 0);
    /* The remote is reset too. */
    g_assert_cmpint(read(k.host, b, sizeof(b)), <, 0);
    g_assert_cmpint(errno, ==, ECONNRESET);
    conn_close(&k);
    nh_free(h);
}

/* The guest's window is honoured: full, then opened. */
static void test_window_full(void)
{
    NatHarness *h = nh_new(NULL);
    size_t len = 100000;
    guint8 *data = nh_random_bytes(len, 8);
    NhAddr gw = nh_gw(false);
    NhSource *src;
    uint32_t mark, saved;
    Conn k;

    k.h = h;
    k.port = 0;
    k.lfd = nh_tcp_listen(false, &k.port, 4);
    nh_tcp_init(&k.c, h, &gw, k.port);
    k.c.wnd = 4000;
    nh_tcp_syn(&k.c, 1460, -1);
    g_assert_true(nh_tcp_wait_synack(&k.c, NULL, 3000));
    k.host = nh_accept(h, k.lfd, 2000);
    src = nh_source_start(k.host, data, len, false);
    k.c.auto_ack = false;
    take_quietly(&k, 300);
    g_assert_cmpuint(k.c.rx->len, ==, 4000);
    /* Acknowledged, same window: exactly one window more. */
    mark = k.c.rcv_nxt;
    nh_tcp_send(&k.c, VPC_TCP_ACK, NULL, 0);
    take_quietly(&k, 200);
    g_assert_cmpuint(k.c.rx->len, ==, 8000);
    /* A window update alone, acknowledging nothing new, opens it too. */
    saved = k.c.rcv_nxt;
    k.c.rcv_nxt = mark;
    k.c.wnd = 12000;
    nh_tcp_send(&k.c, VPC_TCP_ACK, NULL, 0);
    k.c.rcv_nxt = saved;
    take_quietly(&k, 200);
    g_assert_cmpuint(k.c.rx->len, ==, 16000);
    /* Then the rest, acknowledging as we go. */
    k.c.wnd = 65535;
    k.c.auto_ack = true;
    nh_tcp_send(&k.c, VPC_TCP_ACK, NULL, 0);
    g_assert_true(nh_tcp_recv(&k.c, 0, 10000));
    g_assert_cmpuint(k.c.rx->len, ==, len);
    g_assert_cmpmem(k.c.rx->data, len, data, len);
    nh_source_join(src);
    conn_close(&k);
    g_free(data);
    nh_free(h);
}

/* A zero window is probed on the timer, with backoff. */
static void test_zero_window(void)
{
    NatHarness *h = nh_new(NULL);
    size_t len = 50000;
    guint8 *data = nh_random_bytes(len, 9);
    NhSource *src;
    unsigned probes = 0;
    int64_t last;
    NhPkt *p;
    Conn k;

    conn_open(&k, h, false);
    k.c.auto_ack = false;
    host_write(k.host, data, 1000);
    take_quietly(&k, 200);
    g_assert_cmpuint(k.c.rx->len, ==, 1000);
    k.c.wnd = 0;
    nh_tcp_send(&k.c, VPC_TCP_ACK, NULL, 0);
    src = nh_source_start(k.host, data + 1000, len - 1000, false);
    take_quietly(&k, 300);
    g_assert_cmpuint(k.c.rx->len, ==, 1000);
    last = h->now_ns;
    for (int round = 0; round < 3; round++) {
        /* A probe after the timeout, which doubles each time. */
        int64_t gap;

        while (!nh_next(h, &p, 0)) {
            nh_advance(h, 5);
            g_assert_cmpint(h->now_ns - last, <, 2000 * 1000000ll);
        }
        gap = (h->now_ns - last) / 1000000;
        g_assert_true(nh_tcp_match(&k.c, p));
        g_assert_cmpuint(p->tcp.payload_len, ==, 0);
        g_assert_cmpuint(p->tcp.seq, ==, k.c.rcv_nxt - 1);
        g_assert_cmpint(gap, >=, 200 << round);
        g_assert_cmpint(gap, <=, (200 << round) + 15);
        last = h->now_ns;
        nh_pkt_free(p);
        probes++;
        nh_tcp_send(&k.c, VPC_TCP_ACK, NULL, 0);
    }
    g_assert_cmpuint(probes, ==, 3);
    /* The window opens: the rest flows. */
    k.c.wnd = 256 * 1024;
    k.c.auto_ack = true;
    nh_tcp_send(&k.c, VPC_TCP_ACK, NULL, 0);
    g_assert_true(nh_tcp_recv(&k.c, 0, 10000));
    g_assert_cmpuint(k.c.rx->len, ==, len);
    g_assert_cmpmem(k.c.rx->data, len, data, len);
    nh_source_join(src);
    conn_close(&k);
    g_free(data);
    nh_free(h);
}

/*
 * The host sent all and closed, the guest acknowledged part of it with a
 * zero window: a retransmission timeout must not send our FIN where the
 * unacknowledged data still is (the guest would take the stream as
 * ended there), and a window update must get the rest going again.
 */
static void test_fin_after_zero_window(void)
{
    NatHarness *h = nh_new(NULL);
    size_t len = 3000;
    guint8 *data = nh_random_bytes(len, 10);
    uint32_t end;
    NhPkt *p;
    Conn k;

    conn_open(&k, h, false);
    end = k.c.rcv_nxt + (uint32_t)len;
    k.c.auto_ack = false;
    host_write(k.host, data, len);
    shutdown(k.host, SHUT_WR);
    /* Keep the first 1000 bytes; the rest "lost". */
    while (nh_next(h, &p, 300)) {
        if (nh_tcp_match(&k.c, p) && p->tcp.payload_len &&
            p->tcp.seq == k.c.rcv_nxt && k.c.rx->len < 1000) {
            VpcTcpView *t = &p->tcp;

            t->payload_len = MIN(t->payload_len, 1000 - k.c.rx->len);
            t->flags &= ~VPC_TCP_FIN;
            nh_tcp_take(&k.c, p);
        }
        nh_pkt_free(p);
    }
    g_assert_cmpuint(k.c.rx->len, ==, 1000);
    k.c.wnd = 0;
    nh_tcp_send(&k.c, VPC_TCP_ACK, NULL, 0);
    for (int i = 0; i < 4; i++) {
        nh_advance(h, 2000);
        while (nh_next(h, &p, 0)) {
            if (nh_tcp_match(&k.c, p) && (p->tcp.flags & VPC_TCP_FIN)) {
                g_assert_cmpuint(p->tcp.seq + p->tcp.payload_len, ==, end);
            }
            nh_pkt_free(p);
        }
    }
    /* The window opens: data, then the FIN after the last byte, now. */
    k.c.wnd = 65535;
    k.c.auto_ack = true;
    nh_tcp_send(&k.c, VPC_TCP_ACK, NULL, 0);
    g_assert_true(nh_tcp_recv(&k.c, 0, 500));
    g_assert_true(k.c.fin_rcvd);
    g_assert_cmpuint(k.c.rx->len, ==, len);
    g_assert_cmpmem(k.c.rx->data, len, data, len);
    conn_close(&k);
    g_free(data);
    nh_free(h);
}

/* The guest closes its side first; the host answers, then closes. */
static void test_half_close_guest(void)
{
    NatHarness *h = nh_new(NULL);
    size_t len = 100000;
    guint8 *data = nh_random_bytes(len, 11);
    char req[8];
    Conn k;

    conn_open(&k, h, false);
    nh_tcp_send(&k.c, VPC_TCP_ACK | VPC_TCP_PSH, "request", 7);
    nh_tcp_send(&k.c, VPC_TCP_ACK | VPC_TCP_FIN, NULL, 0);
    wait_host_readable(h, k.host, 7);
    host_read(k.host, req, 7);
    g_assert_cmpmem(req, 7, "request", 7);
    g_assert_cmpint(read(k.host, req, 1), ==, 0);     /* the guest's FIN */
    host_write(k.host, data, len);
    close(k.host);
    k.host = -1;
    g_assert_true(nh_tcp_recv(&k.c, 0, 10000));
    g_assert_true(k.c.fin_rcvd);
    g_assert_cmpuint(k.c.rx->len, ==, len);
    g_assert_cmpmem(k.c.rx->data, len, data, len);
    nh_poll(h, 0);
    g_assert_cmpuint(flows(h), ==, 0);
    conn_close(&k);
    g_free(data);
    nh_free(h);
}

/* The host closes its side first; the guest goes on sending. */
static void test_half_close_host(void)
{
    NatHarness *h = nh_new(NULL);
    size_t len = 200000, got_len;
    guint8 *data = nh_random_bytes(len, 12);
    char *want = nh_sha256(data, len), *got;
    NhSink *sink;
    Conn k;

    conn_open(&k, h, true);
    host_write(k.host, "banner", 6);
    shutdown(k.host, SHUT_WR);
    g_assert_true(nh_tcp_recv(&k.c, 0, 3000));
    g_assert_true(k.c.fin_rcvd);
    g_assert_cmpmem(k.c.rx->data, k.c.rx->len, "banner", 6);
    g_assert_cmpuint(flows(h), ==, 1);
    sink = nh_sink_start(k.host);
    g_assert_true(nh_tcp_send_all(&k.c, data, len, 10000));
    nh_tcp_send(&k.c, VPC_TCP_ACK | VPC_TCP_FIN, NULL, 0);
    got = nh_sink_join(sink, &got_len);
    g_assert_cmpuint(got_len, ==, len);
    g_assert_cmpstr(got, ==, want);
    /* The last segment: the ACK of the guest's FIN, then no flow. */
    g_assert_true(nh_tcp_wait_acked(&k.c, 1000));
    g_assert_cmpuint(flows(h), ==, 0);
    conn_close(&k);
    g_free(got);
    g_free(want);
    g_free(data);
    nh_free(h);
}

/*
 * Take in @c's segments until one carries a FIN (or @timeout_ms pass):
 * whether it came, and on a segment with data.
 */
static bool recv_fin(NhTcp *c, bool *with_data, int timeout_ms)
{
    NhPkt *p;

    *with_data = false;
    while (nh_next(c->h, &p, timeout_ms)) {
        bool fin = nh_tcp_match(c, p) && (p->tcp.flags & VPC_TCP_FIN);

        if (nh_tcp_match(c, p)) {
            *with_data = fin && p->tcp.payload_len > 0;
            nh_tcp_take(c, p);
        }
        nh_pkt_free(p);
        if (fin) {
            return true;
        }
    }
    return false;
}

/*
 * A server that answers and closes: the FIN rides on the last segment of
 * the answer, before the guest has acknowledged any of it (so the
 * guest's application sees the end with the data and need not close
 * first, which would leave its stack a TIME_WAIT socket for every such
 * connection).  Then the guest's FIN ends the flow.
 */
static void test_fin_with_data(void)
{
    NatHarness *h = nh_new(NULL);
    bool with_data;
    char buf[3];
    Conn k;

    conn_open(&k, h, false);
    k.c.auto_ack = false;
    nh_tcp_send(&k.c, VPC_TCP_ACK | VPC_TCP_PSH, "GET", 3);
    wait_host_readable(h, k.host, 3);
    host_read(k.host, buf, 3);
    host_write(k.host, "answer", 6);
    close(k.host);
    k.host = -1;
    g_assert_true(recv_fin(&k.c, &with_data, 3000));
    g_assert_true(with_data);
    g_assert_cmpmem(k.c.rx->data, k.c.rx->len, "answer", 6);
    /* The guest acknowledges data and FIN with its own FIN: no flow. */
    nh_tcp_send(&k.c, VPC_TCP_ACK | VPC_TCP_FIN, NULL, 0);
    g_assert_true(nh_tcp_wait_acked(&k.c, 1000));
    g_assert_cmpuint(flows(h), ==, 0);
    conn_close(&k);
    nh_free(h);
}

/*
 * The end of file comes after the data went out: the FIN follows once
 * the guest has acknowledged the data, on a segment of its own.
 */
static void test_fin_after_data(void)
{
    NatHarness *h = nh_new(NULL);
    bool with_data;
    Conn k;

    conn_open(&k, h, false);
    k.c.auto_ack = false;
    host_write(k.host, "first", 5);
    g_assert_true(nh_tcp_recv(&k.c, 5, 3000));
    g_assert_false(k.c.fin_rcvd);
    shutdown(k.host, SHUT_WR);
    nh_tcp_send(&k.c, VPC_TCP_ACK, NULL, 0);
    g_assert_true(recv_fin(&k.c, &with_data, 3000));
    g_assert_false(with_data);
    g_assert_cmpmem(k.c.rx->data, k.c.rx->len, "first", 5);
    nh_tcp_send(&k.c, VPC_TCP_ACK | VPC_TCP_FIN, NULL, 0);
    g_assert_true(nh_tcp_wait_acked(&k.c, 1000));
    g_assert_cmpuint(flows(h), ==, 0);
    conn_close(&k);
    nh_free(h);
}

/* An RST from the guest resets the host's socket, and the other way. */
static void test_rst(void)
{
    NatHarness *h = nh_new(NULL);
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    char b[8];
    NhPkt *p;
    Conn k;

    conn_open(&k, h, false);
    /* Out of the window: ignored. */
    k.c.snd_nxt += 0x40000000;
    nh_tcp_send(&k.c, VPC_TCP_RST, NULL, 0);
    k.c.snd_nxt -= 0x40000000;
    g_assert_cmpuint(flows(h), ==, 1);
    nh_tcp_send(&k.c, VPC_TCP_RST, NULL, 0);
    g_assert_cmpuint(flows(h), ==, 0);
    g_assert_cmpint(read(k.host, b, sizeof(b)), <, 0);
    g_assert_cmpint(errno, ==, ECONNRESET);
    g_assert_false(nh_next(h, &p, 0));      /* no answer to an RST */
    conn_close(&k);

    conn_open(&k, h, true);
    nh_tcp_send(&k.c, VPC_TCP_ACK | VPC_TCP_PSH, "abc", 3);
    setsockopt(k.host, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(k.host);
    k.host = -1;
    g_assert_false(nh_tcp_recv(&k.c, 0, 3000) && !k.c.rst_rcvd);
    g_assert_true(k.c.rst_rcvd);
    g_assert_cmpuint(flows(h), ==, 0);
    conn_close(&k);
    nh_free(h);
}

/*
 * Segments beyond what is expected: dropped, answered by a duplicate
 * ACK; old and overlapping ones: only the new part goes to the host.
 */
static void test_out_of_order(void)
{
    NatHarness *h = nh_new(NULL);
    uint32_t start;
    char b[32];
    NhPkt *p;
    Conn k;

    conn_open(&k, h, false);
    start = k.c.snd_nxt;
    k.c.snd_nxt = start + 5;
    nh_tcp_send(&k.c, VPC_TCP_ACK, "fghij", 5);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_TCP_OUT_OF_ORDER), ==, 1);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_true(nh_tcp_match(&k.c, p));
    g_assert_cmpuint(p->tcp.ack, ==, start);
    g_assert_cmpuint(p->tcp.payload_len, ==, 0);
    nh_pkt_free(p);
    /* The gap, then an overlap, then an old duplicate. */
    k.c.snd_nxt = start;
    nh_tcp_send(&k.c, VPC_TCP_ACK, "abcde", 5);
    k.c.snd_nxt = start + 3;
    nh_tcp_send(&k.c, VPC_TCP_ACK, "defgh", 5);
    k.c.snd_nxt = start;
    nh_tcp_send(&k.c, VPC_TCP_ACK, "abc", 3);
    k.c.snd_nxt = start + 8;
    nh_tcp_send(&k.c, VPC_TCP_ACK, "ij", 2);
    wait_host_readable(h, k.host, 10);
    host_read(k.host, b, 10);
    g_assert_cmpmem(b, 10, "abcdefghij", 10);
    g_assert_cmpint(recv(k.host, b, 1, MSG_DONTWAIT), <, 0);
    /* Each was acknowledged up to what the host has. */
    while (nh_next(h, &p, 0)) {
        if (nh_tcp_match(&k.c, p)) {
            g_assert_true(vpc_seq_le(p->tcp.ack, start + 10));
        }
        nh_pkt_free(p);
    }
    conn_close(&k);
    nh_free(h);
}

/* Segments of no connection get an RST, as a host's stack answers. */
static void test_no_flow(void)
{
    NatHarness *h = nh_new(NULL);
    NhAddr gw = nh_gw(false);
    VpcTcpHeader th = { .src_port = 1234, .dst_port = 80, .seq = 1000,
                        .ack = 5000, .flags = VPC_TCP_ACK,
                        .window = 1000 };
    NhPkt *p;

    nh_send_tcp(h, &gw, &th, "x", 1);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmphex(p->tcp.flags, ==, VPC_TCP_RST);
    g_assert_cmpuint(p->tcp.seq, ==, 5000);
    g_assert_cmpuint(p->tcp.src_port, ==, 80);
    g_assert_cmpuint(p->tcp.dst_port, ==, 1234);
    nh_pkt_free(p);
    th.flags = VPC_TCP_PSH;
    nh_send_tcp(h, &gw, &th, "xyz", 3);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmphex(p->tcp.flags, ==, VPC_TCP_RST | VPC_TCP_ACK);
    g_assert_cmpuint(p->tcp.ack, ==, 1003);
    nh_pkt_free(p);
    th.flags = VPC_TCP_FIN;
    nh_send_tcp(h, &gw, &th, NULL, 0);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmpuint(p->tcp.ack, ==, 1001);
    nh_pkt_free(p);
    th.flags = VPC_TCP_SYN | VPC_TCP_ACK;
    nh_send_tcp(h, &gw, &th, NULL, 0);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmphex(p->tcp.flags, ==, VPC_TCP_RST);
    nh_pkt_free(p);
    th.flags = VPC_TCP_RST;
    nh_send_tcp(h, &gw, &th, NULL, 0);
    g_assert_false(nh_next(h, &p, 0));
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_TCP_NO_FLOW), ==, 4);
    g_assert_cmpuint(flows(h), ==, 0);
    nh_free(h);
}

/* An ACK of data never sent: dropped, answered with what we know. */
static void test_bad_ack(void)
{
    NatHarness *h = nh_new(NULL);
    NhPkt *p;
    Conn k;

    conn_open(&k, h, false);
    k.c.rcv_nxt += 1000;
    nh_tcp_send(&k.c, VPC_TCP_ACK, "zz", 2);
    k.c.rcv_nxt -= 1000;
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_TCP_BAD_ACK), ==, 1);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmpuint(p->tcp.seq, ==, k.c.rcv_nxt);
    nh_pkt_free(p);
    conn_close(&k);
    nh_free(h);
}

/* Idle connections are reset both ways after tcp_idle_timeout. */
static void test_idle_timeout(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    char b[4];
    NhPkt *p;
    Conn k;

    nh_config(&cfg);
    cfg.tcp_idle_timeout = 30;
    h = nh_new(&cfg);
    conn_open(&k, h, false);
    nh_advance(h, 29000);
    g_assert_false(nh_next(h, &p, 0));
    g_assert_cmpuint(flows(h), ==, 1);
    nh_advance(h, 2500);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_true(nh_tcp_match(&k.c, p));
    g_assert_cmphex(p->tcp.flags & VPC_TCP_RST, ==, VPC_TCP_RST);
    nh_pkt_free(p);
    g_assert_cmpuint(flows(h), ==, 0);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->tcp_timeouts, ==, 1);
    g_assert_cmpint(read(k.host, b, sizeof(b)), <, 0);
    g_assert_cmpint(errno, ==, ECONNRESET);
    conn_close(&k);
    nh_free(h);
}

/*
 * Flows freed and their slots reused within one batch: a connection
 * whose ACK was pending is reset and its slot taken by a new one, while
 * another connection's ACK is still due.  Every ACK due must go out,
 * and the batch must end.
 */
static void test_pending_ack_reuse(void)
{
    NatHarness *h = nh_new(NULL);
    NhAddr gw = nh_gw(false);
    Conn a, b;
    NhTcp c;
    NhPkt *p;
    bool b_acked = false, c_answered = false;
    char buf[4];

    conn_open(&a, h, false);
    conn_open(&b, h, false);
    nh_tcp_send_batch(&b.c, VPC_TCP_ACK | VPC_TCP_PSH, "bbbb", 4);
    nh_tcp_send_batch(&a.c, VPC_TCP_ACK | VPC_TCP_PSH, "aaaa", 4);
    nh_tcp_send_batch(&a.c, VPC_TCP_RST, NULL, 0);
    nh_tcp_init(&c, h, &gw, b.port);
    {
        uint8_t f[128];
        VpcTcpHeader th = { .src_port = c.sport, .dst_port = c.dport,
                            .seq = c.iss, .flags = VPC_TCP_SYN,
                            .window = 65535, .mss = 1460 };

        nh_input_batch(h, f, nh_build_tcp(h, f, &gw, &th, NULL, 0));
        c.snd_nxt = c.snd_una = c.iss + 1;
    }
    nh_input_done(h);
    while (nh_next(h, &p, 500)) {
        if (nh_tcp_match(&b.c, p) && p->tcp.ack == b.c.snd_nxt) {
            b_acked = true;
        }
        if (nh_tcp_match(&c, p)) {
            c_answered = true;
        }
        nh_pkt_free(p);
    }
    g_assert_true(b_acked);
    g_assert_true(c_answered);
    wait_host_readable(h, b.host, 4);
    host_read(b.host, buf, 4);
    g_assert_cmpmem(buf, 4, "bbbb", 4);
    /* And b goes on being acknowledged afterwards. */
    nh_tcp_send(&b.c, VPC_TCP_ACK | VPC_TCP_PSH, "more", 4);
    b_acked = false;
    while (nh_next(h, &p, 100)) {
        b_acked |= nh_tcp_match(&b.c, p) && p->tcp.ack == b.c.snd_nxt;
        nh_pkt_free(p);
    }
    g_assert_true(b_acked);
    close(nh_accept(h, b.lfd, 2000));
    nh_tcp_destroy(&c);
    conn_close(&a);
    conn_close(&b);
    nh_free(h);
}

/* The guest's queue is full: the core pauses, then resumes. */
static void test_guest_busy(void)
{
    NatHarness *h = nh_new(NULL);
    size_t len = 300000;
    guint8 *data = nh_random_bytes(len, 13);
    Conn k;

    conn_open(&k, h, false);
    h->busy = true;
    host_write(k.host, data, 100000);
    nh_run(h, 200);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_GUEST_BUSY), >=, 1);
    g_assert_cmpuint(nh_pending(h), ==, 0);
    h->busy = false;
    vpc_nat_guest_ready(h->nat);
    host_write(k.host, data + 100000, len - 100000);
    shutdown(k.host, SHUT_WR);
    g_assert_true(nh_tcp_recv(&k.c, 0, 10000));
    g_assert_true(k.c.fin_rcvd);
    g_assert_cmpuint(k.c.rx->len, ==, len);
    g_assert_cmpmem(k.c.rx->data, len, data, len);
    conn_close(&k);
    g_free(data);
    nh_free(h);
}

/* A GSO path: with a virtio-net header, frames up to 64 KiB. */
static void test_vnet_hdr(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    size_t len = 500000;
    guint8 *data = nh_random_bytes(len, 14);
    bool big = false;
    NhPkt *p;
    Conn k;

    nh_config(&cfg);
    cfg.vnet_hdr_len = 12;
    h = nh_new(&cfg);
    conn_open(&k, h, false);
    host_write(k.host, data, len);
    shutdown(k.host, SHUT_WR);
    k.c.auto_ack = false;
    while (!k.c.fin_rcvd) {
        g_assert_true(nh_next(h, &p, 3000));
        if (nh_tcp_match(&k.c, p)) {
            if (p->tcp.payload_len > 1460) {
                g_assert_true(p->partial_csum);
                g_assert_cmpuint(p->gso_size, ==, 1460);
                big = true;
            }
            nh_tcp_take(&k.c, p);
            nh_tcp_send(&k.c, VPC_TCP_ACK, NULL, 0);
        }
        nh_pkt_free(p);
    }
    g_assert_true(big);
    g_assert_cmpuint(k.c.rx->len, ==, len);
    g_assert_cmpmem(k.c.rx->data, len, data, len);
    conn_close(&k);
    g_free(data);
    nh_free(h);
}

int main(int argc, char **argv)
{
    nh_process_init();
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nat/tcp/handshake4", test_handshake4);
    g_test_add_func("/nat/tcp/handshake6", test_handshake6);
    g_test_add_func("/nat/tcp/mss-small", test_mss_small);
    g_test_add_func("/nat/tcp/synack-after-accept", test_synack_after_accept);
    g_test_add_func("/nat/tcp/refused4", test_refused4);
    g_test_add_func("/nat/tcp/refused6", test_refused6);
    g_test_add_func("/nat/tcp/closed", test_closed);
    g_test_add_func("/nat/tcp/connect-timeout", test_connect_timeout);
    g_test_add_func("/nat/tcp/data-to-host4", test_data_to_host4);
    g_test_add_func("/nat/tcp/data-to-host6", test_data_to_host6);
    g_test_add_func("/nat/tcp/data-to-guest4", test_data_to_guest4);
    g_test_add_func("/nat/tcp/data-to-guest6", test_data_to_guest6);
    g_test_add_func("/nat/tcp/data-both-ways", test_data_both_ways);
    g_test_add_func("/nat/tcp/loss-rto", test_loss_rto);
    g_test_add_func("/nat/tcp/loss-dupacks", test_loss_dupacks);
    g_test_add_func("/nat/tcp/retransmit-limit", test_retransmit_limit);
    g_test_add_func("/nat/tcp/window-full", test_window_full);
    g_test_add_func("/nat/tcp/zero-window", test_zero_window);
    g_test_add_func("/nat/tcp/fin-after-zero-window",
                    test_fin_after_zero_window);
    g_test_add_func("/nat/tcp/half-close-guest", test_half_close_guest);
    g_test_add_func("/nat/tcp/half-close-host", test_half_close_host);
    g_test_add_func("/nat/tcp/fin-with-data", test_fin_with_data);
    g_test_add_func("/nat/tcp/fin-after-data", test_fin_after_data);
    g_test_add_func("/nat/tcp/rst", test_rst);
    g_test_add_func("/nat/tcp/out-of-order", test_out_of_order);
    g_test_add_func("/nat/tcp/no-flow", test_no_flow);
    g_test_add_func("/nat/tcp/bad-ack", test_bad_ack);
    g_test_add_func("/nat/tcp/idle-timeout", test_idle_timeout);
    g_test_add_func("/nat/tcp/pending-ack-reuse", test_pending_ack_reuse);
    g_test_add_func("/nat/tcp/guest-busy", test_guest_busy);
    g_test_add_func("/nat/tcp/vnet-hdr", test_vnet_hdr);
    return g_test_run();
}
