/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of what QEMU does for a guest on a Wi-Fi adapter
 * (net/vpcnet/bridge/wifi.c, ndp.c): learning the guest's addresses
 * from its ARP, DHCP and NDP, the DHCP request rewriting (chaddr, the
 * broadcast flag, a client identifier, in the padding or by growing the
 * frame, with lengths and checksums anew) and the reply's chaddr given
 * back; and every cut of the frames it is given.
 */
#include <glib.h>
#include <string.h>

#include "net/vpcnet/bridge/ndp.h"
#include "net/vpcnet/bridge/wifi.h"
#include "net/vpcnet/checksum.h"
#include "net/vpcnet/dhcp-wire.h"
#include "net/vpcnet/icmp6.h"
#include "net/vpcnet/ipv6.h"
#include "net/vpcnet/udp.h"

static const uint8_t guest[6] = { 0x00, 0x03, 0xff, 0x7b, 0x00, 0xc1 };
static const uint8_t host[6] = { 0x02, 0x77, 0, 0, 0, 0x01 };
static const uint8_t peer[6] = { 0x02, 0x77, 0, 0, 0, 0x03 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define IP(a, b, c, d) \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/**
 * Learned - what the callbacks saw.
 * @added: keys add_addr was asked for, accepted or not.
 * @nadded: their number.
 * @deleted: keys del_addr was given.
 * @ndeleted: their number.
 * @refuse: a key add_addr refuses (the host's own, say).
 */
typedef struct Learned {
    VpcBridgeIpKey added[32];
    unsigned nadded;
    VpcBridgeIpKey deleted[32];
    unsigned ndeleted;
    VpcBridgeIpKey refuse;
} Learned;

static bool add_addr(void *opaque, const VpcBridgeIpKey *key)
{
    Learned *l = opaque;

    if (l->nadded < 32) {
        l->added[l->nadded++] = *key;
    }
    return memcmp(key, &l->refuse, sizeof(*key)) != 0;
}

static void del_addr(void *opaque, const VpcBridgeIpKey *key)
{
    Learned *l = opaque;

    if (l->ndeleted < 32) {
        l->deleted[l->ndeleted++] = *key;
    }
}

static const VpcWifiOps ops = { .add_addr = add_addr, .del_addr = del_addr };

static void setup(VpcWifiGuest *g, Learned *l)
{
    memset(l, 0, sizeof(*l));
    vpc_wifi_guest_init(g, guest, host, &ops, l);
}

static bool has_v4(const VpcWifiGuest *g, uint32_t addr)
{
    VpcBridgeIpKey key;

    vpc_bridge_ip_key_v4(&key, addr);
    return vpc_wifi_has_addr(g, &key);
}

static size_t arp(uint8_t *f, const uint8_t *src, const uint8_t *sha,
                  uint32_t spa, uint32_t tpa)
{
    memset(f, 0, 60);
    memcpy(f, bcast, 6);
    memcpy(f + 6, src, 6);
    vpc_put_be16(f + 12, VPC_ETHERTYPE_ARP);
    vpc_put_be16(f + 14, 1);
    vpc_put_be16(f + 16, VPC_ETHERTYPE_IPV4);
    f[18] = 6;
    f[19] = 4;
    vpc_put_be16(f + 20, 1);
    memcpy(f + 22, sha, 6);
    vpc_put_be32(f + 28, spa);
    vpc_put_be32(f + 38, tpa);
    return 60;
}

/*
 * A DHCP message from @chaddr in a frame, padded to @min_len (0: not at
 * all), with @client_id when not NULL.
 */
static size_t dhcp(uint8_t *f, uint8_t op, uint8_t type, const uint8_t *chaddr,
                   uint32_t xid, uint32_t ciaddr, uint32_t yiaddr,
                   const uint8_t *client_id, size_t min_len)
{
    uint8_t payload[600];
    VpcDhcpHeader h = { 0 };
    VpcDhcpWriter w;
    VpcUdp4Frame u = { .ttl = 64 };
    int n;

    h.op = op;
    h.htype = VPC_DHCP_HTYPE_ETHER;
    h.hlen = 6;
    h.xid = xid;
    h.ciaddr = ciaddr;
    h.yiaddr = yiaddr;
    memcpy(h.chaddr, chaddr, 6);
    vpc_dhcp_writer_init(&w, payload, sizeof(payload), &h);
    vpc_dhcp_put_u8(&w, VPC_DHCP_OPT_MSG_TYPE, type);
    if (client_id) {
        vpc_dhcp_put_option(&w, VPC_DHCP_OPT_CLIENT_ID, client_id, 7);
    }
    vpc_dhcp_put_option(&w, VPC_DHCP_OPT_HOSTNAME, "guest", 5);
    n = vpc_dhcp_writer_finish(&w, min_len);
    g_assert_cmpint(n, >, 0);
    memcpy(u.eth_dst, bcast, 6);
    memcpy(u.eth_src, op == VPC_BOOTREQUEST ? guest : peer, 6);
    u.ip_src = op == VPC_BOOTREQUEST ? ciaddr : IP(10, 77, 0, 254);
    u.ip_dst = VPC_IPV4_BROADCAST;
    u.src_port = op == VPC_BOOTREQUEST ? 68 : 67;
    u.dst_port = op == VPC_BOOTREQUEST ? 67 : 68;
    n = vpc_udp4_frame_build(f, 1514, &u, payload, (size_t)n);
    g_assert_cmpint(n, >, 0);
    return (size_t)n;
}

/* Parse a frame that must be valid DHCP (checksums included). */
static void parse_dhcp(const uint8_t *f, size_t len, VpcDhcpView *d)
{
    VpcEthView eth;
    VpcIpv4View ip;
    VpcUdpView udp;

    g_assert_cmpint(vpc_udp4_frame_parse(f, len, &eth, &ip, &udp), ==, 0);
    g_assert_cmpuint(udp.checksum, !=, 0);
    g_assert_cmpint(vpc_dhcp_parse(udp.payload, udp.payload_len, d), ==, 0);
}

static void test_learn_arp(void)
{
    VpcWifiGuest g;
    Learned l;
    uint8_t f[64];

    setup(&g, &l);
    vpc_wifi_from_guest(&g, f, arp(f, guest, guest, IP(10, 77, 0, 11),
                                   IP(10, 77, 0, 3)), sizeof(f), 1);
    g_assert_true(has_v4(&g, IP(10, 77, 0, 11)));
    g_assert_cmpuint(g.counters[VPC_WIFI_LEARNED_ARP], ==, 1);
    /* a probe (0.0.0.0) and someone else's sender address teach nothing */
    vpc_wifi_from_guest(&g, f, arp(f, guest, guest, 0, IP(10, 77, 0, 12)),
                        sizeof(f), 2);
    vpc_wifi_from_guest(&g, f, arp(f, guest, peer, IP(10, 77, 0, 13), 1),
                        sizeof(f), 3);
    vpc_wifi_from_guest(&g, f, arp(f, peer, peer, IP(10, 77, 0, 14), 1),
                        sizeof(f), 4);
    g_assert_cmpuint(l.nadded, ==, 1);
    /* the host's own address is refused, and counted */
    vpc_bridge_ip_key_v4(&l.refuse, IP(10, 77, 0, 1));
    vpc_wifi_from_guest(&g, f, arp(f, guest, guest, IP(10, 77, 0, 1), 3),
                        sizeof(f), 5);
    g_assert_false(has_v4(&g, IP(10, 77, 0, 1)));
    g_assert_cmpuint(g.counters[VPC_WIFI_REFUSED], ==, 1);
}

static void test_learn_replaces_oldest(void)
{
    VpcWifiGuest g;
    Learned l;
    uint8_t f[64];
    unsigned i;

    setup(&g, &l);
    for (i = 0; i < VPC_WIFI_MAX_ADDRS + 1; i++) {
        vpc_wifi_from_guest(&g, f, arp(f, guest, guest, IP(10, 0, 0, 1 + i),
                                       1), sizeof(f), 100 + i);
    }
    g_assert_false(has_v4(&g, IP(10, 0, 0, 1)));
    g_assert_true(has_v4(&g, IP(10, 0, 0, 1 + VPC_WIFI_MAX_ADDRS)));
    g_assert_cmpuint(l.ndeleted, ==, 1);
    /* heard again: refreshed, not added twice */
    vpc_wifi_from_guest(&g, f, arp(f, guest, guest, IP(10, 0, 0, 2), 1),
                        sizeof(f), 500);
    g_assert_cmpuint(l.nadded, ==, VPC_WIFI_MAX_ADDRS + 1);
    vpc_wifi_forget_all(&g);
    g_assert_cmpuint(l.ndeleted, ==, 1 + VPC_WIFI_MAX_ADDRS);
    g_assert_false(has_v4(&g, IP(10, 0, 0, 2)));
}

static void check_rewritten_request(const uint8_t *f, size_t len)
{
    VpcDhcpView d;
    VpcDhcpOpt opt;
    static const uint8_t want_id[7] = { 1, 0x00, 0x03, 0xff, 0x7b, 0x00, 0xc1 };

    parse_dhcp(f, len, &d);
    g_assert_true(d.hdr.flags & VPC_DHCP_FLAG_BROADCAST);
    g_assert_cmpmem(d.hdr.chaddr, 6, host, 6);
    g_assert_true(vpc_dhcp_opt_find(&d, VPC_DHCP_OPT_CLIENT_ID, &opt));
    g_assert_cmpmem(opt.data, opt.len, want_id, sizeof(want_id));
    g_assert_true(vpc_dhcp_opt_find(&d, VPC_DHCP_OPT_HOSTNAME, &opt));
    g_assert_cmpuint(d.msg_type, ==, VPC_DHCPDISCOVER);
}

static void test_dhcp_request_in_padding(void)
{
    VpcWifiGuest g;
    Learned l;
    uint8_t f[1514];
    size_t len, out;

    setup(&g, &l);
    len = dhcp(f, VPC_BOOTREQUEST, VPC_DHCPDISCOVER, guest, 0x1234, 0, 0, NULL,
               VPC_BOOTP_MIN_LEN);
    out = vpc_wifi_from_guest(&g, f, len, sizeof(f), 1);
    g_assert_cmpuint(out, ==, len);
    check_rewritten_request(f, out);
    g_assert_cmpuint(g.counters[VPC_WIFI_DHCP_CLIENT_ID], ==, 1);
    g_assert_cmpuint(g.counters[VPC_WIFI_DHCP_CHADDR], ==, 1);
}

static void test_dhcp_request_grows(void)
{
    VpcWifiGuest g;
    Learned l;
    uint8_t f[1514];
    size_t len, out;

    setup(&g, &l);
    len = dhcp(f, VPC_BOOTREQUEST, VPC_DHCPDISCOVER, guest, 0x1234, 0, 0, NULL,
               0);
    out = vpc_wifi_from_guest(&g, f, len, sizeof(f), 1);
    g_assert_cmpuint(out, ==, len + VPC_WIFI_DHCP_GROWTH);
    check_rewritten_request(f, out);

    /* no room to grow: flagged and named, not given an identifier */
    setup(&g, &l);
    len = dhcp(f, VPC_BOOTREQUEST, VPC_DHCPDISCOVER, guest, 0x1234, 0, 0, NULL,
               0);
    out = vpc_wifi_from_guest(&g, f, len, len, 1);
    g_assert_cmpuint(out, ==, len);
    g_assert_cmpuint(g.counters[VPC_WIFI_DHCP_NO_ROOM], ==, 1);
    {
        VpcDhcpView d;
        VpcDhcpOpt opt;

        parse_dhcp(f, out, &d);
        g_assert_true(d.hdr.flags & VPC_DHCP_FLAG_BROADCAST);
        g_assert_false(vpc_dhcp_opt_find(&d, VPC_DHCP_OPT_CLIENT_ID, &opt));
    }
}

static void test_dhcp_keeps_client_id(void)
{
    static const uint8_t own_id[7] = { 0xff, 1, 2, 3, 4, 5, 6 };
    VpcWifiGuest g;
    Learned l;
    uint8_t f[1514];
    VpcDhcpView d;
    VpcDhcpOpt opt;
    size_t len, out;

    setup(&g, &l);
    len = dhcp(f, VPC_BOOTREQUEST, VPC_DHCPREQUEST, guest, 0x99, 0, 0, own_id,
               VPC_BOOTP_MIN_LEN);
    out = vpc_wifi_from_guest(&g, f, len, sizeof(f), 1);
    parse_dhcp(f, out, &d);
    g_assert_true(vpc_dhcp_opt_find(&d, VPC_DHCP_OPT_CLIENT_ID, &opt));
    g_assert_cmpmem(opt.data, opt.len, own_id, sizeof(own_id));
    g_assert_cmpuint(g.counters[VPC_WIFI_DHCP_CLIENT_ID], ==, 0);
}

static void test_dhcp_reply_restored_and_learned(void)
{
    VpcWifiGuest g;
    Learned l;
    uint8_t f[1514];
    VpcDhcpView d;
    size_t len;

    setup(&g, &l);
    len = dhcp(f, VPC_BOOTREQUEST, VPC_DHCPREQUEST, guest, 0xabcd, 0, 0, NULL,
               VPC_BOOTP_MIN_LEN);
    vpc_wifi_from_guest(&g, f, len, sizeof(f), 1);

    /* another transaction: not ours, left alone */
    len = dhcp(f, VPC_BOOTREPLY, VPC_DHCPACK, host, 0x1111, 0,
               IP(10, 77, 0, 140), NULL, VPC_BOOTP_MIN_LEN);
    vpc_wifi_to_guest(&g, f, len, 2);
    parse_dhcp(f, len, &d);
    g_assert_cmpmem(d.hdr.chaddr, 6, host, 6);
    g_assert_false(has_v4(&g, IP(10, 77, 0, 140)));

    /* ours: chaddr back to the guest's, checksum right, address learned */
    len = dhcp(f, VPC_BOOTREPLY, VPC_DHCPACK, host, 0xabcd, 0,
               IP(10, 77, 0, 141), NULL, VPC_BOOTP_MIN_LEN);
    vpc_wifi_to_guest(&g, f, len, 3);
    parse_dhcp(f, len, &d);
    g_assert_cmpmem(d.hdr.chaddr, 6, guest, 6);
    g_assert_true(has_v4(&g, IP(10, 77, 0, 141)));
    g_assert_cmpuint(g.counters[VPC_WIFI_DHCP_RESTORED], ==, 1);
    g_assert_cmpuint(g.counters[VPC_WIFI_LEARNED_DHCP], ==, 1);

    /* an OFFER teaches nothing; an ACK already naming the guest does */
    len = dhcp(f, VPC_BOOTREPLY, VPC_DHCPOFFER, guest, 0xabcd, 0,
               IP(10, 77, 0, 142), NULL, VPC_BOOTP_MIN_LEN);
    vpc_wifi_to_guest(&g, f, len, 4);
    g_assert_false(has_v4(&g, IP(10, 77, 0, 142)));
    len = dhcp(f, VPC_BOOTREPLY, VPC_DHCPACK, guest, 0x7777, 0,
               IP(10, 77, 0, 143), NULL, VPC_BOOTP_MIN_LEN);
    vpc_wifi_to_guest(&g, f, len, 5);
    g_assert_true(has_v4(&g, IP(10, 77, 0, 143)));

    /* RELEASE forgets */
    len = dhcp(f, VPC_BOOTREQUEST, VPC_DHCPRELEASE, guest, 0x5, IP(10, 77, 0, 141),
               0, NULL, VPC_BOOTP_MIN_LEN);
    vpc_wifi_from_guest(&g, f, len, sizeof(f), 6);
    g_assert_false(has_v4(&g, IP(10, 77, 0, 141)));
    g_assert_cmpuint(l.ndeleted, ==, 1);
}

/* An NDP message from the guest, checksum right. */
static size_t ndp(uint8_t *f, uint8_t type, const uint8_t src[16],
                  const uint8_t target[16], bool lladdr)
{
    static const uint8_t all_nodes[16] = { 0xff, 2, [15] = 1 };
    uint8_t *icmp = f + 14 + 40;
    size_t plen = type == VPC_ICMP6_ROUTER_SOLICIT ? 8 : 24;

    memset(f, 0, 14 + 40 + plen + 8);
    memcpy(f, bcast, 6);
    memcpy(f + 6, guest, 6);
    vpc_put_be16(f + 12, VPC_ETHERTYPE_IPV6);
    icmp[0] = type;
    if (type != VPC_ICMP6_ROUTER_SOLICIT) {
        memcpy(icmp + 8, target, 16);
    }
    if (lladdr) {
        icmp[plen] = type == VPC_ICMP6_NEIGHBOR_ADVERT ? 2 : 1;
        icmp[plen + 1] = 1;
        memcpy(icmp + plen + 2, guest, 6);
        plen += 8;
    }
    vpc_ipv6_put_header(f + 14, src, all_nodes, VPC_IPV6_NH_ICMPV6,
                        (uint16_t)plen, 255);
    vpc_put_be16(icmp + 2, vpc_l4_checksum_ipv6(src, all_nodes,
                                                VPC_IPV6_NH_ICMPV6, icmp,
                                                plen));
    return 14 + 40 + plen;
}

static void test_learn_ndp(void)
{
    static const uint8_t unspec[16];
    uint8_t ll[16] = { 0xfe, 0x80, [15] = 0xc1 };
    uint8_t global[16] = { 0xfd, 0x77, [15] = 0xc1 };
    VpcBridgeIpKey key;
    VpcWifiGuest g;
    Learned l;
    uint8_t f[200];
    size_t len;

    setup(&g, &l);
    /* duplicate address detection: from ::, nothing learned */
    len = ndp(f, VPC_ICMP6_NEIGHBOR_SOLICIT, unspec, global, false);
    vpc_wifi_from_guest(&g, f, len, sizeof(f), 1);
    g_assert_cmpuint(l.nadded, ==, 0);
    /* a router solicitation from its link-local address */
    len = ndp(f, VPC_ICMP6_ROUTER_SOLICIT, ll, NULL, true);
    vpc_wifi_from_guest(&g, f, len, sizeof(f), 2);
    memcpy(key.addr, ll, 16);
    g_assert_true(vpc_wifi_has_addr(&g, &key));
    /* an advertisement for its global address */
    len = ndp(f, VPC_ICMP6_NEIGHBOR_ADVERT, ll, global, true);
    vpc_wifi_from_guest(&g, f, len, sizeof(f), 3);
    memcpy(key.addr, global, 16);
    g_assert_true(vpc_wifi_has_addr(&g, &key));
    g_assert_cmpuint(g.counters[VPC_WIFI_LEARNED_NDP], ==, 2);
    /* a bad checksum is not NDP */
    len = ndp(f, VPC_ICMP6_NEIGHBOR_ADVERT, ll, unspec, true);
    f[14 + 40 + 2] ^= 1;
    setup(&g, &l);
    vpc_wifi_from_guest(&g, f, len, sizeof(f), 4);
    g_assert_cmpuint(l.nadded, ==, 0);
}

static void test_ndp_rewrite(void)
{
    uint8_t ll[16] = { 0xfe, 0x80, [15] = 0xc1 };
    uint8_t f[200];
    VpcIpv6View ip;
    VpcIcmpView icmp;
    uint8_t mac[6];
    size_t len = ndp(f, VPC_ICMP6_NEIGHBOR_SOLICIT, ll, ll, true);

    g_assert_cmpint(vpc_bridge_ndp_rewrite_lladdr(f + 14, len - 14, guest,
                                                  host), ==, 1);
    g_assert_cmpint(vpc_ipv6_parse(f + 14, len - 14, &ip), ==, 0);
    g_assert_cmpint(vpc_icmp6_parse(&ip, &icmp), ==, 0);
    g_assert_true(vpc_ndp_find_lladdr(&icmp, VPC_NDP_OPT_SOURCE_LLADDR, mac));
    g_assert_cmpmem(mac, 6, host, 6);
    /* someone else's option is left alone */
    g_assert_cmpint(vpc_bridge_ndp_rewrite_lladdr(f + 14, len - 14, guest,
                                                  host), ==, 0);
}

/* Every prefix of every frame above: no crash, nothing read past it. */
static void test_cut_frames(void)
{
    uint8_t ll[16] = { 0xfe, 0x80, [15] = 0xc1 };
    uint8_t frames[4][1514];
    size_t lens[4];
    unsigned i;
    size_t cut;

    lens[0] = arp(frames[0], guest, guest, IP(10, 77, 0, 11), 1);
    lens[1] = dhcp(frames[1], VPC_BOOTREQUEST, VPC_DHCPDISCOVER, guest, 1, 0,
                   0, NULL, 0);
    lens[2] = dhcp(frames[2], VPC_BOOTREPLY, VPC_DHCPACK, host, 1, 0, 5, NULL,
                   0);
    lens[3] = ndp(frames[3], VPC_ICMP6_NEIGHBOR_ADVERT, ll, ll, true);
    for (i = 0; i < 4; i++) {
        for (cut = 0; cut <= lens[i]; cut++) {
            VpcWifiGuest g;
            Learned l;
            uint8_t *copy = g_malloc(cut + VPC_WIFI_DHCP_GROWTH);

            setup(&g, &l);
            memcpy(copy, frames[i], cut);
            g_assert_cmpuint(vpc_wifi_from_guest(&g, copy, cut,
                                                 cut + VPC_WIFI_DHCP_GROWTH,
                                                 1), <=,
                             cut + VPC_WIFI_DHCP_GROWTH);
            memcpy(copy, frames[i], cut);
            vpc_wifi_to_guest(&g, copy, cut, 2);
            g_free(copy);
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bridge/wifi/learn-arp", test_learn_arp);
    g_test_add_func("/bridge/wifi/learn-replaces-oldest",
                    test_learn_replaces_oldest);
    g_test_add_func("/bridge/wifi/dhcp-request-in-padding",
                    test_dhcp_request_in_padding);
    g_test_add_func("/bridge/wifi/dhcp-request-grows", test_dhcp_request_grows);
    g_test_add_func("/bridge/wifi/dhcp-keeps-client-id",
                    test_dhcp_keeps_client_id);
    g_test_add_func("/bridge/wifi/dhcp-reply", test_dhcp_reply_restored_and_learned);
    g_test_add_func("/bridge/wifi/learn-ndp", test_learn_ndp);
    g_test_add_func("/bridge/wifi/ndp-rewrite", test_ndp_rewrite);
    g_test_add_func("/bridge/wifi/cut-frames", test_cut_frames);
    return g_test_run();
}
