/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the NAT core's UDP flows (net/vpcnet/nat/udp.c): a
 * simulated guest against UDP sockets on 127.0.0.1 and ::1 reached
 * through the gateway address; ICMP errors the host's stack reports;
 * refused destinations; sizes; idle timeouts.
 */
#include "nat-harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint64_t flows(NatHarness *h)
{
    return vpc_nat_stats(h->nat)->flows_active;
}

/* Wait for a datagram on @fd while the core runs. */
static ssize_t host_recv(NatHarness *h, int fd, void *buf, size_t cap,
                         struct sockaddr_storage *from)
{
    gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;

    while (g_get_monotonic_time() < end) {
        socklen_t sl = sizeof(*from);
        ssize_t n = recvfrom(fd, buf, cap, MSG_DONTWAIT,
                             (struct sockaddr *)from, &sl);

        if (n >= 0) {
            return n;
        }
        nh_poll(h, 10);
    }
    return -1;
}

/* The next UDP frame for the guest, skipping others. */
static NhPkt *next_udp(NatHarness *h, int ms)
{
    NhPkt *p;

    while (nh_next(h, &p, ms)) {
        if (!p->is_arp && p->proto == VPC_IP_PROTO_UDP) {
            return p;
        }
        nh_pkt_free(p);
    }
    return NULL;
}

static void both_ways(bool v6)
{
    NatHarness *h = nh_new(NULL);
    uint16_t port = 0;
    int srv = nh_udp_bind(v6, &port);
    NhAddr gw = nh_gw(v6);
    struct sockaddr_storage from;
    char buf[64];
    NhPkt *p;

    nh_send_udp(h, &gw, 5000, port, "ping", 4);
    g_assert_cmpint(host_recv(h, srv, buf, sizeof(buf), &from), ==, 4);
    g_assert_cmpmem(buf, 4, "ping", 4);
    /* From the host's loopback, as host_loopback maps it. */
    if (v6) {
        g_assert_true(IN6_IS_ADDR_LOOPBACK(
            &((struct sockaddr_in6 *)&from)->sin6_addr));
    } else {
        g_assert_cmphex(ntohl(((struct sockaddr_in *)&from)->sin_addr.s_addr),
                        ==, 0x7f000001);
    }
    for (int i = 0; i < 40; i++) {
        snprintf(buf, sizeof(buf), "pong %d", i);
        g_assert_cmpint(sendto(srv, buf, strlen(buf), 0,
                               (struct sockaddr *)&from,
                               from.ss_family == AF_INET6
                               ? sizeof(struct sockaddr_in6)
                               : sizeof(struct sockaddr_in)), >, 0);
    }
    for (int i = 0; i < 40; i++) {
        p = next_udp(h, 2000);
        g_assert_nonnull(p);
        g_assert_true(memcmp(p->src.a, gw.a, v6 ? 16 : 4) == 0);
        g_assert_cmpuint(p->udp.src_port, ==, port);
        g_assert_cmpuint(p->udp.dst_port, ==, 5000);
        snprintf(buf, sizeof(buf), "pong %d", i);
        g_assert_cmpmem(p->udp.payload, p->udp.payload_len, buf,
                        strlen(buf));
        nh_pkt_free(p);
    }
    /* The same guest port is one flow, whatever the destination. */
    nh_send_udp(h, &gw, 5000, port, "again", 5);
    g_assert_cmpint(host_recv(h, srv, buf, sizeof(buf), &from), ==, 5);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->udp_flows, ==, 1);
    g_assert_cmpuint(flows(h), ==, 1);
    close(srv);
    nh_free(h);
}

static void test_both_ways4(void)
{
    both_ways(false);
}

static void test_both_ways6(void)
{
    both_ways(true);
}

/* The host's stack says "port unreachable": so does the guest's. */
static void port_unreachable(bool v6)
{
    NatHarness *h = nh_new(NULL);
    uint16_t port = nh_free_port(v6, true);
    NhAddr gw = nh_gw(v6);
    VpcUdpView u;
    NhPkt *p = NULL;
    const uint8_t *q;
    size_t qlen, iphl = v6 ? VPC_IPV6_HLEN : VPC_IPV4_HLEN;

    nh_send_udp(h, &gw, 5001, port, "anyone?", 7);
    for (int i = 0; i < 100 && !p; i++) {
        if (nh_next(h, &p, 30) && (p->is_arp || p->proto == VPC_IP_PROTO_UDP)) {
            nh_pkt_free(p);
            p = NULL;
        }
    }
    g_assert_nonnull(p);
    g_assert_cmpuint(p->proto, ==, v6 ? VPC_IPV6_NH_ICMPV6 : VPC_IP_PROTO_ICMP);
    g_assert_cmpuint(p->icmp.type, ==, v6 ? VPC_ICMP6_DEST_UNREACH
                                          : VPC_ICMP_DEST_UNREACH);
    g_assert_cmpuint(p->icmp.code, ==, v6 ? VPC_ICMP6_UNREACH_PORT
                                          : VPC_ICMP_UNREACH_PORT);
    g_assert_true(memcmp(p->src.a, gw.a, v6 ? 16 : 4) == 0);
    /* The quote: the guest's datagram as it sent it. */
    q = p->l4 + 8;
    qlen = p->l4_len - 8;
    g_assert_cmpuint(qlen, ==, iphl + 8 + 7);
    if (v6) {
        g_assert_cmpmem(q + 8, 16, h->ip6, 16);
        g_assert_cmpmem(q + 24, 16, gw.a, 16);
    } else {
        g_assert_cmphex(vpc_get_be32(q + 12), ==, NH_GUEST_IP4);
        g_assert_cmphex(vpc_get_be32(q + 16), ==, NH_GW4);
    }
    g_assert_cmpint(vpc_udp_parse_header(q + iphl, qlen - iphl, &u), ==, 0);
    g_assert_cmpuint(u.src_port, ==, 5001);
    g_assert_cmpuint(u.dst_port, ==, port);
    g_assert_cmpmem(u.payload, u.payload_len, "anyone?", 7);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->icmp_errors, ==, 1);
    nh_pkt_free(p);
    nh_free(h);
}

static void test_port_unreachable4(void)
{
    port_unreachable(false);
}

static void test_port_unreachable6(void)
{
    port_unreachable(true);
}

/* Refused destinations are answered at once, not sent. */
static void test_refused(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    uint16_t port = 0;
    int srv = nh_udp_bind(false, &port);
    const NhAddr closed[] = { nh_gw(false), nh_addr4(0x7f000001),
                              nh_gw(true), nh_addr6("::1"),
                              nh_addr4(0x7f000035) };
    char buf[8];
    NhPkt *p;

    nh_config(&cfg);
    cfg.host_loopback = false;
    h = nh_new(&cfg);
    for (unsigned i = 0; i < G_N_ELEMENTS(closed); i++) {
        nh_send_udp(h, &closed[i], 5002, port, "x", 1);
        g_assert_true(nh_next(h, &p, 0));
        g_assert_cmpuint(p->icmp.type, ==, closed[i].v6
                         ? VPC_ICMP6_DEST_UNREACH : VPC_ICMP_DEST_UNREACH);
        g_assert_cmpuint(p->icmp.code, ==, closed[i].v6
                         ? VPC_ICMP6_UNREACH_ADMIN : VPC_ICMP_UNREACH_ADMIN);
        nh_pkt_free(p);
    }
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_HOST_CLOSED), ==, 5);
    nh_run(h, 50);
    g_assert_cmpint(recv(srv, buf, sizeof(buf), MSG_DONTWAIT), <, 0);
    /* Not destinations at all: dropped without an answer. */
    {
        const NhAddr none[] = { nh_addr4(0x0a0002ff), nh_addr4(0xe0000001),
                                nh_addr4(0xffffffff), nh_addr4(0x0a000263),
                                nh_addr6("ff02::1"), nh_addr4(0) };
        uint64_t before = nh_drops(h, VPC_NAT_DROP_DEST);

        for (unsigned i = 0; i < G_N_ELEMENTS(none); i++) {
            nh_send_udp(h, &none[i], 5002, 9, "x", 1);
        }
        g_assert_false(nh_next(h, &p, 0));
        g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_DEST), ==,
                         before + G_N_ELEMENTS(none));
    }
    g_assert_cmpuint(flows(h), ==, 0);
    nh_free(h);

    nh_config(&cfg);
    cfg.restricted = true;
    h = nh_new(&cfg);
    {
        NhAddr out = nh_addr4(0xc6336402);

        nh_send_udp(h, &out, 5002, 53, "x", 1);
        g_assert_true(nh_next(h, &p, 0));
        g_assert_cmpuint(p->icmp.code, ==, VPC_ICMP_UNREACH_ADMIN);
        nh_pkt_free(p);
        g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_RESTRICTED), ==, 1);
    }
    nh_free(h);
    close(srv);
}

/* A datagram the guest's MTU cannot take is dropped and counted. */
static void test_too_big(void)
{
    NatHarness *h = nh_new(NULL);
    uint16_t port = 0;
    int srv = nh_udp_bind(false, &port);
    NhAddr gw = nh_gw(false);
    struct sockaddr_storage from;
    guint8 *big = nh_random_bytes(3000, 1);
    char buf[16];
    NhPkt *p;

    nh_send_udp(h, &gw, 5003, port, "hi", 2);
    g_assert_cmpint(host_recv(h, srv, buf, sizeof(buf), &from), ==, 2);
    g_assert_cmpint(sendto(srv, big, 1473, 0, (struct sockaddr *)&from,
                           sizeof(struct sockaddr_in)), ==, 1473);
    g_assert_cmpint(sendto(srv, big, 1472, 0, (struct sockaddr *)&from,
                           sizeof(struct sockaddr_in)), ==, 1472);
    p = next_udp(h, 2000);
    g_assert_nonnull(p);
    g_assert_cmpuint(p->udp.payload_len, ==, 1472);
    g_assert_cmpmem(p->udp.payload, 1472, big, 1472);
    nh_pkt_free(p);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_TOO_BIG), ==, 1);
    /* And from the guest: a large datagram goes out whole. */
    nh_send_udp(h, &gw, 5003, port, big, 1472);
    g_assert_cmpint(host_recv(h, srv, big + 1500, 1500, &from), ==, 1472);
    g_free(big);
    close(srv);
    nh_free(h);
}

/* Idle flows go after udp_idle_timeout, and their sockets with them. */
static void test_idle_timeout(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    uint16_t port = 0;
    int srv = nh_udp_bind(false, &port);
    NhAddr gw = nh_gw(false);
    int fds;

    nh_config(&cfg);
    cfg.udp_idle_timeout = 5;
    h = nh_new(&cfg);
    fds = nh_count_fds();
    for (int i = 0; i < 10; i++) {
        nh_send_udp(h, &gw, (uint16_t)(6000 + i), port, "x", 1);
    }
    g_assert_cmpuint(flows(h), ==, 10);
    g_assert_cmpint(nh_count_fds(), ==, fds + 10);
    nh_advance(h, 3000);
    /* Traffic keeps one alive. */
    nh_send_udp(h, &gw, 6000, port, "y", 1);
    nh_advance(h, 3000);
    g_assert_cmpuint(flows(h), ==, 1);
    nh_advance(h, 3000);
    g_assert_cmpuint(flows(h), ==, 0);
    g_assert_cmpint(nh_count_fds(), ==, fds);
    nh_free(h);
    close(srv);
}

/* Port 0 either way is malformed. */
static void test_port_zero(void)
{
    NatHarness *h = nh_new(NULL);
    NhAddr gw = nh_gw(false);
    NhPkt *p;

    nh_send_udp(h, &gw, 0, 53, "x", 1);
    nh_send_udp(h, &gw, 53, 0, "x", 1);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_MALFORMED), ==, 2);
    g_assert_false(nh_next(h, &p, 0));
    g_assert_cmpuint(flows(h), ==, 0);
    nh_free(h);
}

int main(int argc, char **argv)
{
    nh_process_init();
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nat/udp/both-ways4", test_both_ways4);
    g_test_add_func("/nat/udp/both-ways6", test_both_ways6);
    g_test_add_func("/nat/udp/port-unreachable4", test_port_unreachable4);
    g_test_add_func("/nat/udp/port-unreachable6", test_port_unreachable6);
    g_test_add_func("/nat/udp/refused", test_refused);
    g_test_add_func("/nat/udp/too-big", test_too_big);
    g_test_add_func("/nat/udp/idle-timeout", test_idle_timeout);
    g_test_add_func("/nat/udp/port-zero", test_port_zero);
    return g_test_run();
}
