/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the IPv6, ICMPv6, NDP and UDP-over-IPv6 views: valid
 * input, input cut at every length, and each malformation they name.
 * Inputs are copied to buffers of their exact size, so a sanitizer build
 * catches a read past the end.
 */
#include <glib.h>
#include <string.h>

#include "net/vpcnet/packet.h"

static const uint8_t guest[16] = { 0xfe, 0xc0, [15] = 0x15 };
static const uint8_t router[16] = { 0xfe, 0xc0, [15] = 0x02 };

/* An IPv6 packet of @next carrying @l4 (@l4_len bytes), at @buf. */
static size_t make_ip6(uint8_t *buf, uint8_t next, const uint8_t *l4,
                       size_t l4_len)
{
    vpc_ipv6_put_header(buf, guest, router, next, (uint16_t)l4_len, 64);
    memcpy(buf + VPC_IPV6_HLEN, l4, l4_len);
    return VPC_IPV6_HLEN + l4_len;
}

static int parse_copy(const uint8_t *buf, size_t len, VpcIpv6View *ip,
                      uint8_t **copy)
{
    *copy = g_memdup2(buf, len);
    return vpc_ipv6_parse(*copy, len, ip);
}

static void test_ipv6(void)
{
    uint8_t l4[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    uint8_t buf[64];
    size_t len = make_ip6(buf, VPC_IP_PROTO_UDP, l4, sizeof(l4));
    VpcIpv6View ip;
    uint8_t *copy;

    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, 0);
    g_assert_cmpuint(ip.protocol, ==, VPC_IP_PROTO_UDP);
    g_assert_cmpuint(ip.hop_limit, ==, 64);
    g_assert_cmpmem(ip.src, 16, guest, 16);
    g_assert_cmpmem(ip.dst, 16, router, 16);
    g_assert_cmpuint(ip.l4_len, ==, 8);
    g_assert_false(ip.is_fragment);
    g_free(copy);

    /* Link padding after the payload is not upper-layer data. */
    memset(buf + len, 0xee, 6);
    g_assert_cmpint(parse_copy(buf, len + 6, &ip, &copy), ==, 0);
    g_assert_cmpuint(ip.l4_len, ==, 8);
    g_free(copy);

    for (size_t cut = 0; cut < len; cut++) {
        int want = cut < VPC_IPV6_HLEN ? VPC_PKT_IP6_TRUNCATED
                                       : VPC_PKT_IP6_PAYLOAD_LENGTH;

        g_assert_cmpint(parse_copy(buf, cut, &ip, &copy), ==, want);
        g_free(copy);
    }
    buf[0] = 0x45;
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, VPC_PKT_IP_VERSION);
    g_free(copy);
    buf[0] = 0x60;
    /* Payload length 0 is a jumbogram: refused. */
    vpc_put_be16(buf + 4, 0);
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==,
                    VPC_PKT_IP6_PAYLOAD_LENGTH);
    g_free(copy);
}

/* Extension headers are stepped over; a fragment header is flagged. */
static void test_ipv6_extensions(void)
{
    uint8_t l4[16] = { VPC_IPV6_NH_DSTOPTS, 0, 1, 4, 0, 0, 0, 0,
                       VPC_IP_PROTO_TCP, 0, 1, 4, 0, 0, 0, 0 };
    uint8_t buf[128];
    size_t len;
    VpcIpv6View ip;
    uint8_t *copy;

    /* hop-by-hop -> destination options -> TCP */
    len = make_ip6(buf, VPC_IPV6_NH_HOPOPTS, l4, sizeof(l4));
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, 0);
    g_assert_cmpuint(ip.protocol, ==, VPC_IP_PROTO_TCP);
    g_assert_cmpuint(ip.l4_len, ==, 0);
    g_free(copy);

    /* An extension header claiming more than there is. */
    l4[1] = 5;
    len = make_ip6(buf, VPC_IPV6_NH_HOPOPTS, l4, sizeof(l4));
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==,
                    VPC_PKT_IP6_EXT_HEADER);
    g_free(copy);

    /* A fragment header ends the walk, flagged. */
    l4[0] = VPC_IPV6_NH_FRAGMENT;
    l4[1] = 0;
    len = make_ip6(buf, VPC_IPV6_NH_HOPOPTS, l4, sizeof(l4));
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, 0);
    g_assert_true(ip.is_fragment);
    g_free(copy);

    /* More extension headers than we walk. */
    {
        uint8_t chain[8 * (VPC_IPV6_MAX_EXT_HEADERS + 1)] = { 0 };

        for (unsigned i = 0; i <= VPC_IPV6_MAX_EXT_HEADERS; i++) {
            chain[i * 8] = VPC_IPV6_NH_DSTOPTS;
        }
        len = make_ip6(buf, VPC_IPV6_NH_DSTOPTS, chain, sizeof(chain));
        g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==,
                        VPC_PKT_IP6_EXT_HEADER);
        g_free(copy);
    }
}

/* An ICMPv6 message with its checksum over the pseudo-header. */
static size_t make_icmp6(uint8_t *buf, const uint8_t *msg, size_t len)
{
    uint8_t tmp[256];

    memcpy(tmp, msg, len);
    tmp[2] = tmp[3] = 0;
    vpc_put_be16(tmp + 2, vpc_l4_checksum_ipv6(guest, router,
                                               VPC_IPV6_NH_ICMPV6, tmp, len));
    return make_ip6(buf, VPC_IPV6_NH_ICMPV6, tmp, len);
}

static void test_icmp6_echo(void)
{
    uint8_t msg[12] = { VPC_ICMP6_ECHO_REQUEST, 0, 0, 0, 0xab, 0xcd, 0, 9,
                        'x', 'y', 'z', 'w' };
    uint8_t buf[128];
    size_t len = make_icmp6(buf, msg, sizeof(msg));
    VpcIpv6View ip;
    VpcIcmpView icmp;
    uint8_t *copy;

    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, 0);
    g_assert_cmpint(vpc_icmp6_parse(&ip, &icmp), ==, 0);
    g_assert_cmpuint(icmp.type, ==, VPC_ICMP6_ECHO_REQUEST);
    g_assert_cmphex(icmp.id, ==, 0xabcd);
    g_assert_cmpuint(icmp.seq, ==, 9);
    copy[VPC_IPV6_HLEN + 9] ^= 0x40;
    g_assert_cmpint(vpc_icmp6_parse(&ip, &icmp), ==, VPC_PKT_ICMP_CHECKSUM);
    g_free(copy);

    /* An echo too short for its identifier and sequence. */
    len = make_icmp6(buf, msg, 6);
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, 0);
    g_assert_cmpint(vpc_icmp6_parse(&ip, &icmp), ==, VPC_PKT_ICMP_TRUNCATED);
    g_free(copy);
}

/* A neighbor solicitation with a source link-layer address option. */
static void test_ndp(void)
{
    uint8_t msg[32] = { VPC_ICMP6_NEIGHBOR_SOLICIT, 0, 0, 0, 0, 0, 0, 0 };
    const uint8_t mac[6] = { 0x00, 0x03, 0xff, 1, 2, 3 };
    uint8_t buf[128], got[6];
    size_t len;
    VpcIpv6View ip;
    VpcIcmpView icmp;
    VpcNdpOptIter it;
    VpcNdpOpt opt;
    const uint8_t *opts;
    size_t opts_len;
    uint8_t *copy;

    memcpy(msg + 8, router, 16);
    msg[24] = VPC_NDP_OPT_SOURCE_LLADDR;
    msg[25] = 1;
    memcpy(msg + 26, mac, 6);
    len = make_icmp6(buf, msg, sizeof(msg));
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, 0);
    g_assert_cmpint(vpc_icmp6_parse(&ip, &icmp), ==, 0);
    g_assert_true(vpc_ndp_find_lladdr(&icmp, VPC_NDP_OPT_SOURCE_LLADDR, got));
    g_assert_cmpmem(got, 6, mac, 6);
    g_assert_false(vpc_ndp_find_lladdr(&icmp, VPC_NDP_OPT_TARGET_LLADDR,
                                       got));
    g_free(copy);

    /* Length 0 and an overrun are malformed. */
    msg[25] = 0;
    len = make_icmp6(buf, msg, sizeof(msg));
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, 0);
    g_assert_cmpint(vpc_icmp6_parse(&ip, &icmp), ==, 0);
    g_assert_true(vpc_ndp_options(&icmp, &opts, &opts_len));
    vpc_ndp_opt_iter_init(&it, opts, opts_len);
    g_assert_cmpint(vpc_ndp_opt_iter_next(&it, &opt), ==, VPC_PKT_NDP_OPTION);
    g_assert_false(vpc_ndp_find_lladdr(&icmp, VPC_NDP_OPT_SOURCE_LLADDR, got));
    g_free(copy);
    msg[25] = 2;
    len = make_icmp6(buf, msg, sizeof(msg));
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, 0);
    g_assert_cmpint(vpc_icmp6_parse(&ip, &icmp), ==, 0);
    g_assert_true(vpc_ndp_options(&icmp, &opts, &opts_len));
    vpc_ndp_opt_iter_init(&it, opts, opts_len);
    g_assert_cmpint(vpc_ndp_opt_iter_next(&it, &opt), ==, VPC_PKT_NDP_OPTION);
    g_free(copy);

    /* A solicitation too short for its target has no options. */
    len = make_icmp6(buf, msg, 12);
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, 0);
    g_assert_cmpint(vpc_icmp6_parse(&ip, &icmp), ==, 0);
    g_assert_false(vpc_ndp_options(&icmp, &opts, &opts_len));
    g_free(copy);
}

static void test_udp6(void)
{
    uint8_t dgram[12] = { 0x12, 0x34, 0, 53, 0, 12, 0, 0, 'q', 'u', 'e', 'r' };
    uint8_t buf[128];
    size_t len;
    VpcIpv6View ip;
    VpcUdpView udp;
    uint8_t *copy;

    vpc_put_be16(dgram + 6, vpc_l4_checksum_ipv6(guest, router,
                                                 VPC_IP_PROTO_UDP, dgram,
                                                 sizeof(dgram)));
    len = make_ip6(buf, VPC_IP_PROTO_UDP, dgram, sizeof(dgram));
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, 0);
    g_assert_cmpint(vpc_udp6_parse(&ip, &udp), ==, 0);
    g_assert_cmpuint(udp.src_port, ==, 0x1234);
    g_assert_cmpuint(udp.dst_port, ==, 53);
    g_assert_cmpuint(udp.payload_len, ==, 4);
    g_free(copy);

    /* IPv6 makes the checksum mandatory. */
    dgram[6] = dgram[7] = 0;
    len = make_ip6(buf, VPC_IP_PROTO_UDP, dgram, sizeof(dgram));
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, 0);
    g_assert_cmpint(vpc_udp6_parse(&ip, &udp), ==, VPC_PKT_UDP_CHECKSUM);
    g_free(copy);
    /* A length beyond the packet. */
    dgram[5] = 13;
    len = make_ip6(buf, VPC_IP_PROTO_UDP, dgram, sizeof(dgram));
    g_assert_cmpint(parse_copy(buf, len, &ip, &copy), ==, 0);
    g_assert_cmpint(vpc_udp6_parse(&ip, &udp), ==, VPC_PKT_UDP_LENGTH);
    g_free(copy);
}

static void test_addresses(void)
{
    const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    const uint8_t ll[16] = { 0xfe, 0x80, [8] = 0x50, 0x54, 0x00, 0xff, 0xfe,
                             0x12, 0x34, 0x56 };
    uint8_t a[16], group[16], gmac[6];
    char text[VPC_IPV6_ADDR_STRLEN];

    vpc_ipv6_link_local_from_mac(mac, a);
    g_assert_cmpmem(a, 16, ll, 16);
    g_assert_true(vpc_ipv6_is_link_local(a));
    g_assert_cmpstr(vpc_ipv6_format(a, text), ==, "fe80::5054:ff:fe12:3456");
    vpc_ipv6_solicited_node(a, group);
    g_assert_cmpstr(vpc_ipv6_format(group, text), ==, "ff02::1:ff12:3456");
    vpc_ipv6_multicast_mac(group, gmac);
    g_assert_cmpmem(gmac, 6, ((uint8_t[]){ 0x33, 0x33, 0xff, 0x12, 0x34,
                                           0x56 }), 6);
    g_assert_true(vpc_ipv6_prefix_match(guest, router, 64));
    g_assert_true(vpc_ipv6_prefix_match(guest, router, 123));
    g_assert_false(vpc_ipv6_prefix_match(guest, router, 128));
    g_assert_false(vpc_ipv6_prefix_match(guest, ll, 10));
    g_assert_false(vpc_ipv6_prefix_match(guest, router, 129));
    memset(a, 0, 16);
    g_assert_true(vpc_ipv6_is_unspecified(a));
    a[15] = 1;
    g_assert_true(vpc_ipv6_is_loopback(a));
    a[10] = a[11] = 0xff;
    g_assert_true(vpc_ipv6_is_v4mapped(a));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vpcnet/ipv6/header", test_ipv6);
    g_test_add_func("/vpcnet/ipv6/extensions", test_ipv6_extensions);
    g_test_add_func("/vpcnet/ipv6/icmp6-echo", test_icmp6_echo);
    g_test_add_func("/vpcnet/ipv6/ndp", test_ndp);
    g_test_add_func("/vpcnet/ipv6/udp6", test_udp6);
    g_test_add_func("/vpcnet/ipv6/addresses", test_addresses);
    return g_test_run();
}
