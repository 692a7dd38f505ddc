/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the NAT core's dispatch and limits (core.c, flow.c):
 * malformed and truncated frames at every layer, each counted under its
 * VpcNatDrop and never answered; VLAN tags, other MACs, fragments, a
 * family turned off; the flow table full (eviction for UDP, RST for
 * TCP), the idle sweep, a SYN flood and a sweep of UDP ports bounded by
 * max_flows with every file descriptor given back; several guest MACs;
 * the configuration's checks.
 */
#include "nat-harness.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint64_t flows(NatHarness *h)
{
    return vpc_nat_stats(h->nat)->flows_active;
}

/* Feed @len bytes of @f; exactly one drop of @why, nothing sent. */
static void expect_drop(NatHarness *h, const uint8_t *f, size_t len,
                        VpcNatDrop why, const char *what)
{
    uint64_t before = nh_drops(h, why), total = nh_drops_total(h);

    nh_input(h, f, len);
    if (nh_drops(h, why) != before + 1 || nh_drops_total(h) != total + 1) {
        char d[1024];

        vpc_nat_describe(h->nat, d, sizeof(d));
        g_error("%s (%zu bytes): not one '%s' drop: %s", what, len,
                vpc_nat_drop_name(why), d);
    }
    if (nh_pending(h)) {
        g_error("%s: answered", what);
    }
}

static void fix_ip4_csum(uint8_t *ip)
{
    vpc_put_be16(ip + 10, 0);
    vpc_put_be16(ip + 10, vpc_ip_checksum(ip, (ip[0] & 0xf) * 4));
}

static void test_malformed(void)
{
    NatHarness *h = nh_new(NULL);
    NhAddr gw = nh_gw(false), gw6 = nh_gw(true);
    VpcTcpHeader th = { .src_port = 1000, .dst_port = 80, .seq = 1,
                        .flags = VPC_TCP_SYN, .window = 100 };
    uint8_t f[256], g[256];
    size_t n;

    /* Ethernet. */
    expect_drop(h, f, 0, VPC_NAT_DROP_MALFORMED, "empty");
    memset(f, 0, sizeof(f));
    expect_drop(h, f, 13, VPC_NAT_DROP_MALFORMED, "runt");
    n = nh_build_udp(h, f, &gw, 1000, 9, "x", 1);
    memcpy(g, f, n);
    vpc_put_be16(g + 12, 0x88cc);
    expect_drop(h, g, n, VPC_NAT_DROP_ETHERTYPE, "LLDP");
    memcpy(g, f, 12);
    vpc_put_be16(g + 12, VPC_ETHERTYPE_VLAN);
    vpc_put_be16(g + 14, 5);
    memcpy(g + 16, f + 12, n - 12);
    expect_drop(h, g, n + 4, VPC_NAT_DROP_VLAN, "802.1Q");
    memcpy(g, f, n);
    g[5] ^= 1;
    expect_drop(h, g, n, VPC_NAT_DROP_NOT_FOR_US, "another MAC");
    memcpy(g, f, n);
    g[6] |= 1;
    expect_drop(h, g, n, VPC_NAT_DROP_SOURCE, "multicast source");
    memcpy(g, f, n);
    memset(g + 6, 0, 6);
    expect_drop(h, g, n, VPC_NAT_DROP_SOURCE, "zero source");

    /* IPv4. */
    memcpy(g, f, n);
    g[14] = 0x65;
    expect_drop(h, g, n, VPC_NAT_DROP_MALFORMED, "IP version");
    memcpy(g, f, n);
    g[14] = 0x44;
    fix_ip4_csum(g + 14);
    expect_drop(h, g, n, VPC_NAT_DROP_MALFORMED, "IHL 4");
    memcpy(g, f, n);
    g[24] ^= 0x55;
    expect_drop(h, g, n, VPC_NAT_DROP_MALFORMED, "IP checksum");
    memcpy(g, f, n);
    vpc_put_be16(g + 16, 200);
    fix_ip4_csum(g + 14);
    expect_drop(h, g, n, VPC_NAT_DROP_MALFORMED, "total length");
    memcpy(g, f, n);
    vpc_put_be32(g + 26, 0xc0a80001);
    fix_ip4_csum(g + 14);
    expect_drop(h, g, n, VPC_NAT_DROP_SOURCE, "foreign source");
    memcpy(g, f, n);
    vpc_put_be32(g + 26, NH_GW4);
    fix_ip4_csum(g + 14);
    expect_drop(h, g, n, VPC_NAT_DROP_SOURCE, "gateway as source");
    memcpy(g, f, n);
    vpc_put_be16(g + 20, 0x2000);
    fix_ip4_csum(g + 14);
    expect_drop(h, g, n, VPC_NAT_DROP_FRAGMENT, "more fragments");
    memcpy(g, f, n);
    vpc_put_be16(g + 20, 0x0010);
    fix_ip4_csum(g + 14);
    expect_drop(h, g, n, VPC_NAT_DROP_FRAGMENT, "fragment offset");
    memcpy(g, f, n);
    g[23] = 47;
    fix_ip4_csum(g + 14);
    expect_drop(h, g, n, VPC_NAT_DROP_PROTOCOL, "GRE");
    memcpy(g, f, n);
    memset(g, 0xff, 6);
    expect_drop(h, g, n, VPC_NAT_DROP_DEST, "broadcast frame");

    /* UDP and TCP headers. */
    memcpy(g, f, n);
    vpc_put_be16(g + 38, 100);
    expect_drop(h, g, n, VPC_NAT_DROP_MALFORMED, "UDP length");
    memcpy(g, f, n);
    vpc_put_be16(g + 38, 7);
    expect_drop(h, g, n, VPC_NAT_DROP_MALFORMED, "UDP length 7");
    n = nh_build_tcp(h, f, &gw, &th, NULL, 0);
    memcpy(g, f, n);
    g[46] = 0x40;
    expect_drop(h, g, n, VPC_NAT_DROP_MALFORMED, "TCP data offset 4");
    memcpy(g, f, n);
    g[46] = 0xf0;
    expect_drop(h, g, n, VPC_NAT_DROP_MALFORMED, "TCP data offset 15");

    /* IPv6. */
    n = nh_build_udp(h, f, &gw6, 1000, 9, "x", 1);
    memcpy(g, f, n);
    vpc_put_be16(g + 18, 200);
    expect_drop(h, g, n, VPC_NAT_DROP_MALFORMED, "IPv6 payload length");
    memcpy(g, f, n);
    vpc_put_be16(g + 18, 0);
    expect_drop(h, g, n, VPC_NAT_DROP_MALFORMED, "IPv6 payload length 0");
    memcpy(g, f, n);
    g[20] = 99;
    expect_drop(h, g, n, VPC_NAT_DROP_PROTOCOL, "IPv6 protocol 99");
    memcpy(g, f, n);
    g[22] = 0x20;
    expect_drop(h, g, n, VPC_NAT_DROP_SOURCE, "IPv6 foreign source");
    {
        /* A fragment header, and a loop of empty extension headers. */
        uint8_t l4[64] = { VPC_IP_PROTO_UDP, 0, 0, 1, 0, 0, 0, 1 };

        n = nh_build_ip(h, g, &gw6, VPC_IPV6_NH_FRAGMENT, l4, 16);
        expect_drop(h, g, n, VPC_NAT_DROP_FRAGMENT, "IPv6 fragment");
        for (int i = 0; i < 8; i++) {
            l4[i * 8] = VPC_IPV6_NH_DSTOPTS;
            l4[i * 8 + 1] = 0;
        }
        n = nh_build_ip(h, g, &gw6, VPC_IPV6_NH_DSTOPTS, l4, 64);
        expect_drop(h, g, n, VPC_NAT_DROP_MALFORMED, "IPv6 header chain");
    }
    g_assert_cmpuint(flows(h), ==, 0);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->tx_frames, ==, 0);
    nh_free(h);
}

/* Every truncation of a good frame is one counted drop, never more. */
static void test_truncated(void)
{
    NatHarness *h = nh_new(NULL);
    NhAddr gw = nh_gw(false), gw6 = nh_gw(true);
    VpcTcpHeader th = { .src_port = 1000, .dst_port = 80, .seq = 1,
                        .flags = VPC_TCP_SYN, .window = 100, .mss = 1460,
                        .send_wscale = true, .wscale = 7 };
    uint8_t f[6][256];
    size_t n[6];

    n[0] = nh_build_tcp(h, f[0], &gw, &th, NULL, 0);
    n[1] = nh_build_udp(h, f[1], &gw, 1000, 9, "payload", 7);
    n[2] = nh_build_echo(h, f[2], &gw, 1, 1, "ping", 4);
    n[3] = nh_build_tcp(h, f[3], &gw6, &th, NULL, 0);
    n[4] = nh_build_udp(h, f[4], &gw6, 1000, 9, "payload", 7);
    n[5] = nh_build_echo(h, f[5], &gw6, 1, 1, "ping", 4);
    for (unsigned i = 0; i < 6; i++) {
        for (size_t len = 0; len < n[i]; len++) {
            expect_drop(h, f[i], len, VPC_NAT_DROP_MALFORMED, "truncated");
        }
    }
    g_assert_cmpuint(flows(h), ==, 0);
    /* Ethernet padding after the IP packet is fine. */
    memset(f[2] + n[2], 0, 60);
    nh_input(h, f[2], n[2] + 60);
    g_assert_cmpuint(nh_pending(h), ==, 1);
    nh_free(h);
}

/* A family turned off drops its frames; the other one works. */
static void test_family_off(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    NhAddr gw = nh_gw(false), gw6 = nh_gw(true);
    uint8_t f[128];

    nh_config(&cfg);
    cfg.ipv4 = false;
    h = nh_new(&cfg);
    expect_drop(h, f, nh_build_echo(h, f, &gw, 1, 1, "x", 1),
                VPC_NAT_DROP_FAMILY_OFF, "IPv4 off");
    nh_send_arp(h, VPC_ARP_OP_REQUEST, NH_GUEST_IP4, NH_GW4, NULL);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_FAMILY_OFF), ==, 2);
    g_assert_cmpuint(nh_pending(h), ==, 0);
    nh_send_echo(h, &gw6, 1, 1, "x", 1);
    g_assert_cmpuint(nh_flush(h), ==, 1);
    nh_free(h);
    nh_config(&cfg);
    cfg.ipv6 = false;
    h = nh_new(&cfg);
    expect_drop(h, f, nh_build_echo(h, f, &gw6, 1, 1, "x", 1),
                VPC_NAT_DROP_FAMILY_OFF, "IPv6 off");
    nh_send_echo(h, &gw, 1, 1, "x", 1);
    g_assert_cmpuint(nh_flush(h), ==, 1);
    nh_free(h);
}

/* A virtio-net header shorter than configured. */
static void test_vnet_short(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    uint8_t f[8] = { 0 };

    nh_config(&cfg);
    cfg.vnet_hdr_len = 12;
    h = nh_new(&cfg);
    vpc_nat_input(h->nat, f, 8);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_MALFORMED), ==, 1);
    nh_free(h);
}

/* The table full: the oldest idle UDP flow makes room; TCP gets RST. */
static void test_table_full(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    uint16_t port = 0, lport = 0;
    int srv = nh_udp_bind(false, &port), lfd = nh_tcp_listen(false, &lport, 64);
    NhAddr gw = nh_gw(false);
    NhTcp c[17];
    NhPkt *p;
    int fds;

    nh_config(&cfg);
    cfg.max_flows = 16;
    h = nh_new(&cfg);
    fds = nh_count_fds();
    for (int i = 0; i < 20; i++) {
        nh_send_udp(h, &gw, (uint16_t)(3000 + i), port, "x", 1);
        g_assert_cmpuint(flows(h), ==, MIN(i + 1, 16));
    }
    g_assert_cmpuint(vpc_nat_stats(h->nat)->udp_evicted, ==, 4);
    g_assert_cmpint(nh_count_fds(), ==, fds + 16);
    /* TCP evicts UDP? No: TCP is never evicted, and never evicts. */
    nh_tcp_init(&c[0], h, &gw, lport);
    nh_tcp_syn(&c[0], 1460, 7);
    g_assert_false(nh_tcp_wait_synack(&c[0], NULL, 500));
    g_assert_true(c[0].rst_rcvd);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_TABLE_FULL), ==, 1);
    nh_tcp_destroy(&c[0]);
    nh_free(h);     /* (checks every fd the core opened is closed) */

    h = nh_new(&cfg);
    for (int i = 0; i < 16; i++) {
        nh_tcp_init(&c[i], h, &gw, lport);
        nh_tcp_connect(&c[i]);
    }
    nh_tcp_init(&c[16], h, &gw, lport);
    nh_tcp_syn(&c[16], 1460, 7);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_true(nh_tcp_match(&c[16], p));
    g_assert_cmphex(p->tcp.flags & VPC_TCP_RST, ==, VPC_TCP_RST);
    nh_pkt_free(p);
    /* A datagram finds no idle UDP flow to evict either. */
    nh_send_udp(h, &gw, 4000, port, "x", 1);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_TABLE_FULL), ==, 2);
    g_assert_cmpuint(flows(h), ==, 16);
    for (int i = 0; i < 17; i++) {
        nh_tcp_destroy(&c[i]);
    }
    for (int a; (a = accept(lfd, NULL, NULL)) >= 0;) {
        close(a);
    }
    nh_free(h);
    close(srv);
    close(lfd);
}

/* The idle sweep: each kind of flow by its own timeout. */
static void test_idle_sweep(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    uint16_t port = 0;
    int srv = nh_udp_bind(false, &port);
    NhAddr gw = nh_gw(false), dns = nh_dns(false);
    uint8_t q[64];

    nh_config(&cfg);
    cfg.udp_idle_timeout = 30;
    h = nh_new(&cfg);
    nh_write_resolv(h, "nameserver 127.0.0.1\n");
    for (int i = 0; i < 5; i++) {
        nh_send_udp(h, &gw, (uint16_t)(3000 + i), port, "x", 1);
    }
    nh_send_udp(h, &dns, 3100, 53, q, nh_dns_query(q, 1, "a.test"));
    g_assert_cmpuint(flows(h), ==, 6);
    nh_advance(h, 11000);
    g_assert_cmpuint(flows(h), ==, 5);         /* DNS: 10 s */
    nh_advance(h, 20000);
    g_assert_cmpuint(flows(h), ==, 0);
    nh_run(h, 20);
    nh_flush(h);
    nh_free(h);
    close(srv);
}

/* A SYN flood: flows and fds bounded by max_flows, RSTs for the rest. */
static void test_syn_flood(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    uint16_t lport = 0;
    int lfd = nh_tcp_listen(false, &lport, 4096);
    NhAddr gw = nh_gw(false);
    uint8_t f[128];
    unsigned rsts = 0;
    int fds;
    NhPkt *p;

    nh_config(&cfg);
    cfg.max_flows = 256;
    h = nh_new(&cfg);
    fds = nh_count_fds();
    for (unsigned i = 0; i < 5000; i++) {
        VpcTcpHeader th = { .src_port = (uint16_t)(1024 + i),
                            .dst_port = lport, .seq = i * 7919,
                            .flags = VPC_TCP_SYN, .window = 65535,
                            .mss = 1460 };

        nh_input_batch(h, f, nh_build_tcp(h, f, &gw, &th, NULL, 0));
        if (i % 64 == 63) {
            nh_input_done(h);
            nh_poll(h, 0);
            while (nh_next(h, &p, 0)) {
                rsts += !!(p->tcp.flags & VPC_TCP_RST);
                nh_pkt_free(p);
            }
        }
    }
    nh_input_done(h);
    nh_run(h, 200);
    while (nh_next(h, &p, 0)) {
        rsts += !!(p->tcp.flags & VPC_TCP_RST);
        nh_pkt_free(p);
    }
    g_assert_cmpuint(flows(h), ==, 256);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->flows_peak, ==, 256);
    g_assert_cmpint(nh_count_fds(), <=, fds + 256);
    g_assert_cmpuint(rsts, ==, 5000 - 256);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_TABLE_FULL), ==, 5000 - 256);
    /* Half-open connections expire: SYN-ACKs unanswered, then reset. */
    for (int i = 0; i < 70; i++) {
        nh_advance(h, 1000);
    }
    nh_flush(h);
    g_assert_cmpuint(flows(h), ==, 0);
    g_assert_cmpint(nh_count_fds(), ==, fds);
    nh_free(h);
    for (int a; (a = accept(lfd, NULL, NULL)) >= 0;) {
        close(a);
    }
    close(lfd);
}

/* A sweep of every UDP port: bounded by max_flows, no fd leak. */
static void test_udp_sweep(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    uint16_t port = 0;
    int srv = nh_udp_bind(false, &port);
    NhAddr gw = nh_gw(false);
    uint8_t f[128];
    int fds, before = nh_count_fds(), peak = 0;

    nh_config(&cfg);
    cfg.max_flows = 512;
    h = nh_new(&cfg);
    fds = nh_count_fds();
    /* From one guest port to every port: one flow. */
    for (unsigned dport = 1; dport <= 65535; dport++) {
        nh_input_batch(h, f, nh_build_udp(h, f, &gw, 5000, (uint16_t)dport,
                                          "x", 1));
        if (dport % 1024 == 0) {
            nh_input_done(h);
            nh_poll(h, 0);
            nh_flush(h);
        }
    }
    nh_input_done(h);
    g_assert_cmpuint(flows(h), ==, 1);
    /* From every guest port: bounded. */
    for (unsigned sport = 1; sport <= 65535; sport++) {
        nh_input_batch(h, f, nh_build_udp(h, f, &gw, (uint16_t)sport, port,
                                          "x", 1));
        if (sport % 1024 == 0) {
            nh_input_done(h);
            nh_poll(h, 0);
            nh_flush(h);
            peak = MAX(peak, nh_count_fds());
        }
    }
    nh_input_done(h);
    g_assert_cmpuint(flows(h), ==, 512);
    g_assert_cmpint(peak, <=, fds + 512);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->udp_evicted, ==, 65535 + 1 - 512);
    nh_run(h, 50);
    nh_flush(h);
    nh_free(h);
    close(srv);
    g_assert_cmpint(nh_count_fds(), ==, before - 1);    /* srv */
}

/* Several guest MACs: each gets its own answers. */
static void test_guest_macs(void)
{
    static const uint8_t mac2[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
    NatHarness *h = nh_new(NULL);
    NhAddr gw = nh_gw(false);
    NhPkt *p;

    nh_send_echo(h, &gw, 1, 1, "a", 1);
    memcpy(h->mac, mac2, 6);
    h->ip4 = NH_GUEST_IP4 + 1;
    nh_send_echo(h, &gw, 1, 1, "b", 1);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmpmem(p->eth.dst, 6, NH_GUEST_MAC, 6);
    g_assert_cmphex(vpc_get_be32(p->dst.a), ==, NH_GUEST_IP4);
    nh_pkt_free(p);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmpmem(p->eth.dst, 6, mac2, 6);
    g_assert_cmphex(vpc_get_be32(p->dst.a), ==, NH_GUEST_IP4 + 1);
    nh_pkt_free(p);
    nh_free(h);
}

/* Bad configurations are refused, naming the option. */
static void test_config(void)
{
    static const struct {
        const char *net;
        const char *why;
    } nets[] = {
        { "10.0.2.0/31", "net=" }, { "10.0.2.0/7", "net=" },
        { "10.0.2.x", "net=" }, { "10.0.2.0/255.0.255.0", "net=" },
    };
    VpcNatConfig cfg;
    char err[256];

    vpc_nat_config_init(&cfg);
    g_assert_cmpint(vpc_nat_config_check(&cfg, err, sizeof(err)), ==, 0);
    for (unsigned i = 0; i < G_N_ELEMENTS(nets); i++) {
        g_assert_cmpint(vpc_nat_config_set_net(&cfg, nets[i].net, err,
                                               sizeof(err)), <, 0);
        g_assert_nonnull(strstr(err, nets[i].why));
    }
    g_assert_cmpint(vpc_nat_config_set_net(&cfg, "192.168.76.0/255.255.255.0",
                                           err, sizeof(err)), ==, 0);
    g_assert_cmphex(cfg.host, ==, 0xc0a84c02);
    g_assert_cmphex(cfg.dhcp_start, ==, 0xc0a84c0f);
    cfg.dns = cfg.host;
    g_assert_cmpint(vpc_nat_config_check(&cfg, err, sizeof(err)), <, 0);
    g_assert_nonnull(strstr(err, "dns="));
    vpc_nat_config_init(&cfg);
    cfg.host = 0x0b000002;
    g_assert_cmpint(vpc_nat_config_check(&cfg, err, sizeof(err)), <, 0);
    g_assert_nonnull(strstr(err, "host="));
    vpc_nat_config_init(&cfg);
    cfg.dhcp_start = cfg.dns;
    g_assert_cmpint(vpc_nat_config_check(&cfg, err, sizeof(err)), <, 0);
    g_assert_nonnull(strstr(err, "dhcpstart="));
    vpc_nat_config_init(&cfg);
    cfg.mtu = 1000;
    g_assert_cmpint(vpc_nat_config_check(&cfg, err, sizeof(err)), <, 0);
    g_assert_nonnull(strstr(err, "ipv6=off"));
    cfg.ipv6 = false;
    g_assert_cmpint(vpc_nat_config_check(&cfg, err, sizeof(err)), ==, 0);
    cfg.mtu = 65521;
    g_assert_cmpint(vpc_nat_config_check(&cfg, err, sizeof(err)), <, 0);
    g_assert_nonnull(strstr(err, "mtu="));
    vpc_nat_config_init(&cfg);
    cfg.ipv4 = cfg.ipv6 = false;
    g_assert_cmpint(vpc_nat_config_check(&cfg, err, sizeof(err)), <, 0);
    vpc_nat_config_init(&cfg);
    cfg.max_flows = 8;
    g_assert_cmpint(vpc_nat_config_check(&cfg, err, sizeof(err)), <, 0);
    g_assert_nonnull(strstr(err, "max-flows"));
    vpc_nat_config_init(&cfg);
    g_assert_cmpint(vpc_nat_config_set_net6(&cfg, "fd00:1::/48", err,
                                            sizeof(err)), ==, 0);
    g_assert_cmpuint(cfg.ip6_prefix_len, ==, 48);
    g_assert_cmpuint(cfg.ip6_host[15], ==, 2);
    g_assert_cmpint(vpc_nat_config_set_net6(&cfg, "fd00::/127", err,
                                            sizeof(err)), <, 0);
    g_assert_nonnull(strstr(err, "ipv6-net"));
    g_assert_cmpint(vpc_nat_config_set_net6(&cfg, "nope", err, sizeof(err)),
                    <, 0);
    vpc_nat_config_init(&cfg);
    g_assert_cmpint(vpc_nat_config_set_net6(&cfg, "fe80::/64", err,
                                            sizeof(err)), ==, 0);
    g_assert_cmpint(vpc_nat_config_check(&cfg, err, sizeof(err)), <, 0);
    g_assert_nonnull(strstr(err, "ipv6-net"));
}

/* "info network": addressing, flows, drops. */
static void test_describe(void)
{
    NatHarness *h = nh_new(NULL);
    char text[1024], small[16];
    uint8_t f[8] = { 0 };
    size_t n;

    nh_input(h, f, 8);
    n = vpc_nat_describe(h->nat, text, sizeof(text));
    g_assert_cmpuint(n, ==, strlen(text));
    g_assert_nonnull(strstr(text, "net=10.0.2.0/24 host=10.0.2.2 "
                                  "dns=10.0.2.3"));
    g_assert_nonnull(strstr(text, "ipv6-net=fec0::/64"));
    g_assert_nonnull(strstr(text, "host-loopback"));
    g_assert_nonnull(strstr(text, "drops: malformed 1"));
    g_assert_cmpuint(vpc_nat_describe(h->nat, small, sizeof(small)), ==, n);
    g_assert_cmpuint(strlen(small), ==, sizeof(small) - 1);
    nh_free(h);
}

int main(int argc, char **argv)
{
    nh_process_init();
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nat/core/malformed", test_malformed);
    g_test_add_func("/nat/core/truncated", test_truncated);
    g_test_add_func("/nat/core/family-off", test_family_off);
    g_test_add_func("/nat/core/vnet-short", test_vnet_short);
    g_test_add_func("/nat/core/table-full", test_table_full);
    g_test_add_func("/nat/core/idle-sweep", test_idle_sweep);
    g_test_add_func("/nat/core/syn-flood", test_syn_flood);
    g_test_add_func("/nat/core/udp-sweep", test_udp_sweep);
    g_test_add_func("/nat/core/guest-macs", test_guest_macs);
    g_test_add_func("/nat/core/config", test_config);
    g_test_add_func("/nat/core/describe", test_describe);
    return g_test_run();
}
