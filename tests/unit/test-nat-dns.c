/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the NAT core's DNS forwarder (net/vpcnet/nat/dns.c and
 * the DNS flows of udp.c and tcp.c): queries to the virtual DNS address
 * go to a DNS responder of ours on 127.0.0.1:53 and 127.0.0.53:53 (in
 * this program's own network namespace), as listed in a resolv.conf we
 * write and rewrite; no resolver, an unreachable one and restrict=on
 * fail fast.
 */
#include "nat-harness.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const dns_addrs[] = { "127.0.0.1", "127.0.0.53", NULL };

static uint64_t flows(NatHarness *h)
{
    return vpc_nat_stats(h->nat)->flows_active;
}

/*
 * The next DNS answer to the guest's @port: its rcode, and the A
 * record's last byte in *@last (-1 for none).
 */
static int dns_reply(NatHarness *h, bool v6, uint16_t port, uint16_t id,
                     int *last, int ms)
{
    NhAddr dns = nh_dns(v6);
    NhPkt *p;

    while (nh_next(h, &p, ms)) {
        const uint8_t *a;
        size_t n;
        int rcode;

        if (p->is_arp || p->proto != VPC_IP_PROTO_UDP ||
            p->udp.dst_port != port) {
            nh_pkt_free(p);
            continue;
        }
        g_assert_true(memcmp(p->src.a, dns.a, v6 ? 16 : 4) == 0);
        g_assert_cmpuint(p->udp.src_port, ==, 53);
        a = p->udp.payload;
        n = p->udp.payload_len;
        g_assert_cmpuint(n, >=, 12);
        g_assert_cmpuint(vpc_get_be16(a), ==, id);
        g_assert_cmphex(a[2] & 0x80, ==, 0x80);
        rcode = a[3] & 0x0f;
        *last = vpc_get_be16(a + 6) ? a[n - 1] : -1;
        nh_pkt_free(p);
        return rcode;
    }
    g_error("no DNS answer to port %u", port);
}

static int query(NatHarness *h, bool v6, uint16_t port, uint16_t id,
                 int *last)
{
    NhAddr dns = nh_dns(v6);
    uint8_t q[300];
    size_t n = nh_dns_query(q, id, "www.example.test");

    nh_send_udp(h, &dns, port, 53, q, n);
    return dns_reply(h, v6, port, id, last, 3000);
}

static void test_udp(void)
{
    NatHarness *h;
    NhDns *d;
    int last;

    g_assert_true(nh_private_netns());
    d = nh_dns_start(dns_addrs);
    h = nh_new(NULL);
    g_assert_cmpint(query(h, false, 7000, 0x1234, &last), ==, 0);
    g_assert_cmpint(last, ==, 1);
    /* The guest on IPv6 reaches the IPv4 resolver all the same. */
    g_assert_cmpint(query(h, true, 7001, 0x1235, &last), ==, 0);
    g_assert_cmpint(last, ==, 1);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->dns_queries, ==, 2);
    g_assert_cmpuint(nh_dns_queries(d), ==, 2);
    /* DNS flows are short-lived. */
    g_assert_cmpuint(flows(h), ==, 2);
    nh_advance(h, 11000);
    g_assert_cmpuint(flows(h), ==, 0);
    nh_free(h);
    nh_dns_stop(d);
}

/*
 * A loopback resolver such as systemd-resolved's, and resolv.conf
 * changes picked up: the forwarder reaches 127.0.0.53, the guest not.
 */
static void test_resolv_changes(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    NhDns *d;
    NhAddr stub = nh_addr4(0x7f000035);
    NhPkt *p;
    int last;

    g_assert_true(nh_private_netns());
    d = nh_dns_start(dns_addrs);
    nh_config(&cfg);
    cfg.host_loopback = false;
    h = nh_new(&cfg);
    nh_write_resolv(h, "# a comment\nsearch example.test\n"
                    "nameserver 127.0.0.53\noptions edns0\n");
    nh_advance(h, 1100);
    g_assert_cmpint(query(h, false, 7002, 1, &last), ==, 0);
    g_assert_cmpint(last, ==, 53);
    nh_send_udp(h, &stub, 7003, 53, "x", 1);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmpuint(p->icmp.type, ==, VPC_ICMP_DEST_UNREACH);
    g_assert_cmpuint(p->icmp.code, ==, VPC_ICMP_UNREACH_ADMIN);
    nh_pkt_free(p);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_HOST_CLOSED), ==, 1);
    /* Back to 127.0.0.1: the next query after a second goes there. */
    nh_write_resolv(h, "nameserver 127.0.0.1\nnameserver 127.0.0.53\n");
    nh_advance(h, 1100);
    g_assert_cmpint(query(h, false, 7004, 2, &last), ==, 0);
    g_assert_cmpint(last, ==, 1);
    /* The same flow follows the resolver when it changes. */
    nh_write_resolv(h, "nameserver 127.0.0.53\n");
    nh_advance(h, 1100);
    g_assert_cmpint(query(h, false, 7004, 3, &last), ==, 0);
    g_assert_cmpint(last, ==, 53);
    nh_free(h);
    nh_dns_stop(d);
}

/* No resolver, an unreachable one: SERVFAIL at once, not a timeout. */
static void test_servfail(void)
{
    NatHarness *h;
    NhDns *d;
    int last;

    g_assert_true(nh_private_netns());
    d = nh_dns_start(dns_addrs);
    h = nh_new(NULL);
    nh_write_resolv(h, "# nothing\n");
    nh_advance(h, 1100);
    g_assert_cmpint(query(h, false, 7010, 10, &last), ==, 2);
    g_assert_cmpint(last, ==, -1);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->dns_servfail, ==, 1);
    unlink(h->resolv);
    nh_advance(h, 1100);
    g_assert_cmpint(query(h, true, 7011, 11, &last), ==, 2);
    /* Nothing listens at 127.0.0.9: the host hears "port unreachable". */
    nh_write_resolv(h, "nameserver 127.0.0.9\n");
    nh_advance(h, 1100);
    g_assert_cmpint(query(h, false, 7012, 12, &last), ==, 2);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->dns_servfail, ==, 3);
    g_assert_cmpuint(nh_dns_queries(d), ==, 0);
    /* Not queries: no answer at all. */
    {
        NhAddr dns = nh_dns(false);
        uint8_t q[64];
        size_t n = nh_dns_query(q, 13, "a.test");
        NhPkt *p;

        nh_write_resolv(h, "");
        nh_advance(h, 1100);
        nh_send_udp(h, &dns, 7013, 53, q, 5);
        q[2] |= 0x80;
        nh_send_udp(h, &dns, 7013, 53, q, n);
        g_assert_false(nh_next(h, &p, 0));
    }
    nh_free(h);
    nh_dns_stop(d);
}

/* restrict=on: REFUSED at once; other ports of the DNS address: closed. */
static void test_restricted(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    NhAddr dns = nh_dns(false);
    NhPkt *p;
    int last;

    nh_config(&cfg);
    cfg.restricted = true;
    h = nh_new(&cfg);
    g_assert_cmpint(query(h, false, 7020, 20, &last), ==, 5);
    nh_send_udp(h, &dns, 7021, 54, "x", 1);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmpuint(p->icmp.code, ==, VPC_ICMP_UNREACH_ADMIN);
    nh_pkt_free(p);
    {
        NhTcp c;

        nh_tcp_init(&c, h, &dns, 53);
        nh_tcp_syn(&c, 1460, 7);
        g_assert_false(nh_tcp_wait_synack(&c, NULL, 500));
        g_assert_true(c.rst_rcvd);
        nh_tcp_destroy(&c);
    }
    nh_free(h);
}

/* DNS over TCP to the virtual address reaches the resolver's port 53. */
static void tcp_query(bool v6)
{
    NatHarness *h;
    NhAddr dns = nh_dns(v6);
    uint8_t q[300];
    size_t n;
    NhDns *d;
    NhTcp c;

    g_assert_true(nh_private_netns());
    d = nh_dns_start(dns_addrs);
    h = nh_new(NULL);
    nh_tcp_init(&c, h, &dns, 53);
    nh_tcp_connect(&c);
    n = nh_dns_query(q + 2, 0x4242, "tcp.example.test");
    vpc_put_be16(q, (uint16_t)n);
    nh_tcp_send(&c, VPC_TCP_ACK | VPC_TCP_PSH, q, n + 2);
    g_assert_true(nh_tcp_recv(&c, 2, 3000));
    n = vpc_get_be16(c.rx->data);
    g_assert_true(nh_tcp_recv(&c, n + 2, 3000));
    g_assert_cmpuint(vpc_get_be16(c.rx->data + 2), ==, 0x4242);
    g_assert_cmpuint(c.rx->data[2 + 3] & 0x0f, ==, 0);
    g_assert_cmpuint(c.rx->data[n + 1], ==, 1);
    nh_tcp_send(&c, VPC_TCP_ACK | VPC_TCP_FIN, NULL, 0);
    g_assert_true(nh_tcp_recv(&c, 0, 5000));
    g_assert_true(c.fin_rcvd);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->dns_queries, ==, 1);
    nh_tcp_destroy(&c);
    nh_free(h);
    nh_dns_stop(d);
}

static void test_tcp4(void)
{
    tcp_query(false);
}

static void test_tcp6(void)
{
    tcp_query(true);
}

int main(int argc, char **argv)
{
    nh_process_init();
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nat/dns/udp", test_udp);
    g_test_add_func("/nat/dns/resolv-changes", test_resolv_changes);
    g_test_add_func("/nat/dns/servfail", test_servfail);
    g_test_add_func("/nat/dns/restricted", test_restricted);
    g_test_add_func("/nat/dns/tcp4", test_tcp4);
    g_test_add_func("/nat/dns/tcp6", test_tcp6);
    return g_test_run();
}
