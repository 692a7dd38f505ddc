/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the NAT core's own services: DHCP (dhcp.c, through the
 * library's DHCP server), ARP for the virtual hosts (arp.c), router
 * advertisements and neighbour discovery (ndp.c) and stateless DHCPv6
 * (dhcpv6.c), each answered as a guest's stack expects and each
 * malformed message dropped and counted.
 */
#include "nat-harness.h"
#include "dhcp-request.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* The next DHCP reply, parsed. */
static bool dhcp_reply(NatHarness *h, NhPkt **pp, VpcDhcpView *v)
{
    NhPkt *p;

    while (nh_next(h, &p, 0)) {
        if (!p->is_arp && p->proto == VPC_IP_PROTO_UDP &&
            p->udp.dst_port == VPC_DHCP_CLIENT_PORT) {
            g_assert_cmpint(vpc_dhcp_parse(p->udp.payload, p->udp.payload_len,
                                           v), ==, 0);
            *pp = p;
            return true;
        }
        nh_pkt_free(p);
    }
    return false;
}

static void test_dhcp(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    uint8_t f[600];
    TestDhcpRequest r = { .type = VPC_DHCPDISCOVER, .chaddr = NH_GUEST_MAC,
                          .xid = 0x1234 };
    VpcDhcpView v;
    VpcDhcpOpt o;
    uint32_t a, offered;
    NhPkt *p;

    nh_config(&cfg);
    snprintf(cfg.hostname, sizeof(cfg.hostname), "guest1");
    snprintf(cfg.domainname, sizeof(cfg.domainname), "example.test");
    snprintf(cfg.dnssearch[0], sizeof(cfg.dnssearch[0]), "a.example.test");
    cfg.n_dnssearch = 1;
    h = nh_new(&cfg);
    nh_input(h, f, test_dhcp_request_build(&r, f, sizeof(f)));
    g_assert_true(dhcp_reply(h, &p, &v));
    g_assert_cmpuint(v.msg_type, ==, VPC_DHCPOFFER);
    /* One of the 16 addresses from dhcpstart (picked by the MAC). */
    offered = v.hdr.yiaddr;
    g_assert_cmphex(offered, >=, NH_GUEST_IP4);
    g_assert_cmphex(offered, <, NH_GUEST_IP4 + 16);
    g_assert_cmphex(v.hdr.xid, ==, 0x1234);
    g_assert_true(vpc_dhcp_opt_get_ipv4(&v, VPC_DHCP_OPT_ROUTER, &a));
    g_assert_cmphex(a, ==, NH_GW4);
    g_assert_true(vpc_dhcp_opt_get_ipv4(&v, VPC_DHCP_OPT_DNS, &a));
    g_assert_cmphex(a, ==, NH_DNS4);
    g_assert_true(vpc_dhcp_opt_get_ipv4(&v, VPC_DHCP_OPT_SUBNET_MASK, &a));
    g_assert_cmphex(a, ==, 0xffffff00);
    g_assert_true(vpc_dhcp_opt_get_ipv4(&v, VPC_DHCP_OPT_SERVER_ID, &a));
    g_assert_cmphex(a, ==, NH_GW4);
    g_assert_true(vpc_dhcp_opt_find(&v, VPC_DHCP_OPT_MTU, &o));
    g_assert_cmpuint(vpc_get_be16(o.data), ==, 1500);
    g_assert_true(vpc_dhcp_opt_find(&v, VPC_DHCP_OPT_DOMAIN, &o));
    g_assert_cmpmem(o.data, o.len, "example.test", 12);
    g_assert_true(vpc_dhcp_opt_find(&v, VPC_DHCP_OPT_HOSTNAME, &o));
    g_assert_cmpmem(o.data, o.len, "guest1", 6);
    g_assert_true(vpc_dhcp_opt_find(&v, VPC_DHCP_OPT_SEARCH, &o));
    g_assert_cmpuint(o.len, ==, 16);
    g_assert_true(memcmp(p->eth.src, NH_GW_MAC, 6) == 0);
    nh_pkt_free(p);

    r.type = VPC_DHCPREQUEST;
    r.requested = offered;
    r.server_id = NH_GW4;
    nh_input(h, f, test_dhcp_request_build(&r, f, sizeof(f)));
    g_assert_true(dhcp_reply(h, &p, &v));
    g_assert_cmpuint(v.msg_type, ==, VPC_DHCPACK);
    g_assert_cmphex(v.hdr.yiaddr, ==, offered);
    nh_pkt_free(p);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->dhcp_replies, ==, 2);

    /* Another address than ours is refused. */
    r.requested = 0x0a000263;
    nh_input(h, f, test_dhcp_request_build(&r, f, sizeof(f)));
    g_assert_true(dhcp_reply(h, &p, &v));
    g_assert_cmpuint(v.msg_type, ==, VPC_DHCPNAK);
    nh_pkt_free(p);
    nh_free(h);

    /* dhcp=off: silence, and the frame is not carried either. */
    nh_config(&cfg);
    cfg.dhcp = false;
    h = nh_new(&cfg);
    r.type = VPC_DHCPDISCOVER;
    nh_input(h, f, test_dhcp_request_build(&r, f, sizeof(f)));
    g_assert_false(dhcp_reply(h, &p, &v));
    g_assert_cmpuint(nh_drops_total(h), ==, 1);
    nh_free(h);
}

/* The gateway and DNS addresses answer ARP, nothing else does. */
static void test_arp(void)
{
    NatHarness *h = nh_new(NULL);
    uint8_t f[60];
    NhPkt *p;

    nh_send_arp(h, VPC_ARP_OP_REQUEST, NH_GUEST_IP4, NH_GW4, NULL);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_true(p->is_arp);
    g_assert_cmpuint(p->arp.op, ==, VPC_ARP_OP_REPLY);
    g_assert_cmphex(p->arp.spa, ==, NH_GW4);
    g_assert_cmpmem(p->arp.sha, 6, NH_GW_MAC, 6);
    g_assert_cmphex(p->arp.tpa, ==, NH_GUEST_IP4);
    g_assert_cmpmem(p->arp.tha, 6, NH_GUEST_MAC, 6);
    g_assert_cmpmem(p->eth.dst, 6, NH_GUEST_MAC, 6);
    nh_pkt_free(p);
    nh_send_arp(h, VPC_ARP_OP_REQUEST, NH_GUEST_IP4, NH_DNS4, NULL);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmphex(p->arp.spa, ==, NH_DNS4);
    nh_pkt_free(p);
    /* Unicast to us too. */
    nh_send_arp(h, VPC_ARP_OP_REQUEST, NH_GUEST_IP4, NH_GW4, NH_GW_MAC);
    g_assert_true(nh_next(h, &p, 0));
    nh_pkt_free(p);
    /* Other addresses, replies, DAD probes: no answer. */
    nh_send_arp(h, VPC_ARP_OP_REQUEST, NH_GUEST_IP4, 0x0a000263, NULL);
    nh_send_arp(h, VPC_ARP_OP_REPLY, NH_GUEST_IP4, NH_GW4, NH_GW_MAC);
    nh_send_arp(h, VPC_ARP_OP_REQUEST, 0, NH_GUEST_IP4, NULL);
    g_assert_false(nh_next(h, &p, 0));
    g_assert_cmpuint(vpc_nat_stats(h->nat)->arp_replies, ==, 3);
    /* Truncated or not Ethernet/IPv4: malformed. */
    nh_send_arp(h, VPC_ARP_OP_REQUEST, NH_GUEST_IP4, NH_GW4, NULL);
    nh_flush(h);
    vpc_eth_put_header(f, bcast, NH_GUEST_MAC, VPC_ETHERTYPE_ARP);
    memset(f + 14, 0, sizeof(f) - 14);
    nh_input(h, f, 14 + 20);
    f[14 + 1] = 1;
    nh_input(h, f, sizeof(f));
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_MALFORMED), ==, 2);
    g_assert_false(nh_next(h, &p, 0));
    nh_free(h);
}

/*
 * The core asks a guest it has not heard from by ARP, and learns from
 * the reply (and from the guest's own requests).
 */
static void test_arp_learn(void)
{
    NatHarness *h = nh_new(NULL);
    uint16_t port = 0;
    int srv = nh_udp_bind(false, &port);
    char err[128];
    NhPkt *p;

    g_assert_cmpint(vpc_nat_hostfwd_add(h->nat, "udp:127.0.0.1:0-:5353", err,
                                        sizeof(err)), <, 0);
    g_assert_nonnull(strstr(err, "hostport"));
    close(srv);
    {
        uint16_t hp = nh_free_port(false, true);
        char rule[64];
        struct sockaddr_in sin = { .sin_family = AF_INET,
                                   .sin_port = htons(hp),
                                   .sin_addr.s_addr = htonl(0x7f000001) };
        int cli = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        snprintf(rule, sizeof(rule), "udp:127.0.0.1:%u-:5353", hp);
        g_assert_cmpint(vpc_nat_hostfwd_add(h->nat, rule, err, sizeof(err)),
                        ==, 0);
        g_assert_cmpint(sendto(cli, "q", 1, 0, (struct sockaddr *)&sin,
                               sizeof(sin)), ==, 1);
        /* Not known yet: an ARP request for the guest's address. */
        g_assert_true(nh_next(h, &p, 2000));
        g_assert_true(p->is_arp);
        g_assert_cmpuint(p->arp.op, ==, VPC_ARP_OP_REQUEST);
        g_assert_cmphex(p->arp.tpa, ==, NH_GUEST_IP4);
        g_assert_cmphex(p->arp.spa, ==, NH_GW4);
        g_assert_cmpmem(p->eth.dst, 6, bcast, 6);
        nh_pkt_free(p);
        g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_NO_GUEST), ==, 1);
        nh_send_arp(h, VPC_ARP_OP_REPLY, NH_GUEST_IP4, NH_GW4, NH_GW_MAC);
        g_assert_cmpint(sendto(cli, "r", 1, 0, (struct sockaddr *)&sin,
                               sizeof(sin)), ==, 1);
        g_assert_true(nh_next(h, &p, 2000));
        g_assert_cmpuint(p->proto, ==, VPC_IP_PROTO_UDP);
        g_assert_cmpuint(p->udp.dst_port, ==, 5353);
        g_assert_cmpmem(p->eth.dst, 6, NH_GUEST_MAC, 6);
        nh_pkt_free(p);
        close(cli);
    }
    nh_free(h);
}

/* Router solicitation: an advertisement with the prefix, MTU, RDNSS. */
static void test_router_advert(void)
{
    static const uint8_t all_routers[16] = { 0xff, 0x02, [15] = 2 };
    static const uint8_t unspec[16];
    uint8_t rs[16] = { VPC_ICMP6_ROUTER_SOLICIT };
    NatHarness *h = nh_new(NULL);
    uint8_t mmac[6], f[200], gw_ll[16];
    bool prefix = false, mtu = false, rdnss = false, slla = false;
    VpcNdpOptIter it;
    VpcNdpOpt o;
    NhPkt *p;

    vpc_ipv6_multicast_mac(all_routers, mmac);
    vpc_ipv6_link_local_from_mac(NH_GW_MAC, gw_ll);
    rs[8] = VPC_NDP_OPT_SOURCE_LLADDR;
    rs[9] = 1;
    memcpy(rs + 10, NH_GUEST_MAC, 6);
    nh_input(h, f, nh_build_icmp6(h, f, h->ll6, all_routers, mmac, 255, rs,
                                  16));
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmpuint(p->icmp.type, ==, VPC_ICMP6_ROUTER_ADVERT);
    g_assert_cmpuint(p->ip6.hop_limit, ==, 255);
    g_assert_cmpmem(p->ip6.src, 16, gw_ll, 16);
    g_assert_cmpmem(p->ip6.dst, 16, h->ll6, 16);
    g_assert_cmpmem(p->eth.dst, 6, NH_GUEST_MAC, 6);
    g_assert_cmphex(p->icmp.msg[5] & 0x40, ==, 0x40);     /* O flag */
    g_assert_cmpuint(vpc_get_be16(p->icmp.msg + 6), >, 0);
    vpc_ndp_opt_iter_init(&it, p->icmp.msg + 16, p->icmp.len - 16);
    while (vpc_ndp_opt_iter_next(&it, &o) > 0) {
        uint8_t fec0[16] = { 0xfe, 0xc0 }, dns[16] = { 0xfe, 0xc0, [15] = 3 };

        switch (o.type) {
        case VPC_NDP_OPT_PREFIX_INFO:
            g_assert_cmpuint(o.opt[2], ==, 64);
            g_assert_cmphex(o.opt[3], ==, 0xc0);
            g_assert_cmpmem(o.opt + 16, 16, fec0, 16);
            prefix = true;
            break;
        case VPC_NDP_OPT_MTU:
            g_assert_cmpuint(vpc_get_be32(o.opt + 4), ==, 1500);
            mtu = true;
            break;
        case VPC_NDP_OPT_RDNSS:
            g_assert_cmpmem(o.opt + 8, 16, dns, 16);
            rdnss = true;
            break;
        case VPC_NDP_OPT_SOURCE_LLADDR:
            g_assert_cmpmem(o.opt + 2, 6, NH_GW_MAC, 6);
            slla = true;
            break;
        }
    }
    g_assert_true(prefix && mtu && rdnss && slla);
    nh_pkt_free(p);
    /* From the unspecified address: to all nodes. */
    nh_input(h, f, nh_build_icmp6(h, f, unspec, all_routers, mmac, 255, rs,
                                  8));
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmpuint(p->icmp.type, ==, VPC_ICMP6_ROUTER_ADVERT);
    g_assert_cmphex(p->ip6.dst[0], ==, 0xff);
    g_assert_cmpuint(p->ip6.dst[15], ==, 1);
    nh_pkt_free(p);
    /* Then again before the route lapses, unasked. */
    nh_advance(h, 599000);
    g_assert_false(nh_next(h, &p, 0));
    nh_advance(h, 2000);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmpuint(p->icmp.type, ==, VPC_ICMP6_ROUTER_ADVERT);
    nh_pkt_free(p);
    /* A hop limit other than 255 is not NDP. */
    nh_input(h, f, nh_build_icmp6(h, f, h->ll6, all_routers, mmac, 64, rs,
                                  16));
    g_assert_false(nh_next(h, &p, 0));
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_MALFORMED), ==, 1);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->ndp_replies, ==, 3);
    nh_free(h);
}

static void test_neighbor(void)
{
    NatHarness *h = nh_new(NULL);
    uint8_t ns[32] = { VPC_ICMP6_NEIGHBOR_SOLICIT }, group[16], mmac[6];
    uint8_t f[200], gw6[16], unspec[16] = { 0 };
    NhPkt *p;

    g_assert_cmpint(inet_pton(AF_INET6, "fec0::2", gw6), ==, 1);
    memcpy(ns + 8, gw6, 16);
    ns[24] = VPC_NDP_OPT_SOURCE_LLADDR;
    ns[25] = 1;
    memcpy(ns + 26, NH_GUEST_MAC, 6);
    vpc_ipv6_solicited_node(gw6, group);
    vpc_ipv6_multicast_mac(group, mmac);
    nh_input(h, f, nh_build_icmp6(h, f, h->ip6, group, mmac, 255, ns, 32));
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmpuint(p->icmp.type, ==, VPC_ICMP6_NEIGHBOR_ADVERT);
    g_assert_cmpmem(p->icmp.msg + 8, 16, gw6, 16);
    g_assert_cmphex(p->icmp.msg[4], ==, VPC_NDP_NA_ROUTER |
                    VPC_NDP_NA_SOLICITED | VPC_NDP_NA_OVERRIDE);
    g_assert_cmpuint(p->icmp.msg[24], ==, VPC_NDP_OPT_TARGET_LLADDR);
    g_assert_cmpmem(p->icmp.msg + 26, 6, NH_GW_MAC, 6);
    g_assert_cmpmem(p->ip6.dst, 16, h->ip6, 16);
    nh_pkt_free(p);
    /* The DNS address too; the guest's own (DAD): no answer. */
    ns[23] = 3;
    nh_input(h, f, nh_build_icmp6(h, f, h->ip6, group, mmac, 255, ns, 32));
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmpuint(p->icmp.msg[23], ==, 3);
    nh_pkt_free(p);
    memcpy(ns + 8, h->ip6, 16);
    nh_input(h, f, nh_build_icmp6(h, f, unspec, group, mmac, 255, ns, 24));
    g_assert_false(nh_next(h, &p, 0));
    /* A multicast target or a short message is malformed. */
    ns[8] = 0xff;
    nh_input(h, f, nh_build_icmp6(h, f, h->ip6, group, mmac, 255, ns, 32));
    nh_input(h, f, nh_build_icmp6(h, f, h->ip6, group, mmac, 255, ns, 16));
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_MALFORMED), ==, 2);
    /* A bad checksum too. */
    {
        size_t n = nh_build_icmp6(h, f, h->ip6, group, mmac, 255, ns, 32);

        f[n - 1] ^= 1;
        nh_input(h, f, n);
        g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_MALFORMED), ==, 3);
    }
    g_assert_false(nh_next(h, &p, 0));
    nh_free(h);
}

/* An information request: the DNS server and search list. */
static void test_dhcpv6(void)
{
    static const uint8_t all_dhcp[16] = { 0xff, 0x02, [13] = 1, [15] = 2 };
    VpcNatConfig cfg;
    NatHarness *h;
    uint8_t m[200], u[220], f[300], mmac[6];
    uint8_t dns[16] = { 0xfe, 0xc0, [15] = 3 };
    const uint8_t *o;
    size_t n = 0, len;
    bool got_dns = false, got_cid = false, got_sid = false, got_dl = false;
    NhPkt *p;

    nh_config(&cfg);
    snprintf(cfg.dnssearch[0], sizeof(cfg.dnssearch[0]), "example.test");
    cfg.n_dnssearch = 1;
    h = nh_new(&cfg);
    vpc_ipv6_multicast_mac(all_dhcp, mmac);
    m[n++] = 11;                        /* Information-request */
    m[n++] = 0xab;
    m[n++] = 0xcd;
    m[n++] = 0xef;
    vpc_put_be16(m + n, 1);             /* client id */
    vpc_put_be16(m + n + 2, 10);
    memset(m + n + 4, 0x77, 10);
    n += 14;
    vpc_put_be16(m + n, 6);             /* ORO: DNS */
    vpc_put_be16(m + n + 2, 2);
    vpc_put_be16(m + n + 4, 23);
    n += 6;
    vpc_put_be16(u, 546);
    vpc_put_be16(u + 2, 547);
    vpc_put_be16(u + 4, (uint16_t)(8 + n));
    vpc_put_be16(u + 6, 0);
    memcpy(u + 8, m, n);
    vpc_put_be16(u + 6, vpc_l4_checksum_ipv6(h->ll6, all_dhcp,
                                             VPC_IP_PROTO_UDP, u, 8 + n));
    len = nh_build_ip6_from(h, f, h->ll6, all_dhcp, mmac, VPC_IP_PROTO_UDP,
                            1, u, 8 + n);
    nh_input(h, f, len);
    g_assert_true(nh_next(h, &p, 0));
    g_assert_cmpuint(p->proto, ==, VPC_IP_PROTO_UDP);
    g_assert_cmpuint(p->udp.src_port, ==, 547);
    g_assert_cmpuint(p->udp.dst_port, ==, 546);
    g_assert_cmpuint(p->udp.payload[0], ==, 7);     /* Reply */
    g_assert_cmpmem(p->udp.payload + 1, 3, m + 1, 3);
    for (o = p->udp.payload + 4;
         o + 4 <= p->udp.payload + p->udp.payload_len;
         o += 4 + vpc_get_be16(o + 2)) {
        switch (vpc_get_be16(o)) {
        case 1:
            g_assert_cmpmem(o + 4, vpc_get_be16(o + 2), m + 8, 10);
            got_cid = true;
            break;
        case 2:
            got_sid = true;
            break;
        case 23:
            g_assert_cmpmem(o + 4, vpc_get_be16(o + 2), dns, 16);
            got_dns = true;
            break;
        case 24:
            got_dl = true;
            break;
        }
    }
    g_assert_true(got_cid && got_sid && got_dns && got_dl);
    nh_pkt_free(p);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->dhcpv6_replies, ==, 1);
    /* A bad checksum, a non-link-local source, a huge client id: drops. */
    f[len - 1] ^= 0xff;
    nh_input(h, f, len);
    f[len - 1] ^= 0xff;
    nh_input(h, f, nh_build_ip6_from(h, f, h->ip6, all_dhcp, mmac,
                                     VPC_IP_PROTO_UDP, 1, u, 8 + n));
    {
        /* A client id of 140 bytes: longer than any DUID may be. */
        uint8_t big[8 + 4 + 4 + 140];

        memcpy(big, u, 12);
        vpc_put_be16(big + 4, sizeof(big));
        vpc_put_be16(big + 12, 1);
        vpc_put_be16(big + 14, 140);
        memset(big + 16, 0x55, 140);
        vpc_put_be16(big + 6, 0);
        vpc_put_be16(big + 6, vpc_l4_checksum_ipv6(h->ll6, all_dhcp,
                                                   VPC_IP_PROTO_UDP, big,
                                                   sizeof(big)));
        nh_input(h, f, nh_build_ip6_from(h, f, h->ll6, all_dhcp, mmac,
                                         VPC_IP_PROTO_UDP, 1, big,
                                         sizeof(big)));
    }
    g_assert_false(nh_next(h, &p, 0));
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_MALFORMED), ==, 3);
    /* A Solicit: we hand out no addresses, so no answer. */
    u[8] = 1;
    vpc_put_be16(u + 6, 0);
    vpc_put_be16(u + 6, vpc_l4_checksum_ipv6(h->ll6, all_dhcp,
                                             VPC_IP_PROTO_UDP, u, 8 + n));
    nh_input(h, f, nh_build_ip6_from(h, f, h->ll6, all_dhcp, mmac,
                                     VPC_IP_PROTO_UDP, 1, u, 8 + n));
    g_assert_false(nh_next(h, &p, 0));
    nh_free(h);
}

int main(int argc, char **argv)
{
    nh_process_init();
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nat/dhcp/dhcp", test_dhcp);
    g_test_add_func("/nat/dhcp/arp", test_arp);
    g_test_add_func("/nat/dhcp/arp-learn", test_arp_learn);
    g_test_add_func("/nat/dhcp/router-advert", test_router_advert);
    g_test_add_func("/nat/dhcp/neighbor", test_neighbor);
    g_test_add_func("/nat/dhcp/dhcpv6", test_dhcpv6);
    return g_test_run();
}
