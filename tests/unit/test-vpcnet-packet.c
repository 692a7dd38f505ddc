/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the packet views, checksums and builders: every parser
 * with valid input, cut at every length, and with each malformation it
 * must name.  Inputs are copied to buffers of their exact size, so a
 * sanitizer build would catch a read past the end.
 */
#include <glib.h>
#include <string.h>

#include "net/vpcnet/packet.h"

static const uint8_t client_mac[6] = { 0x00, 0x03, 0xff, 0x12, 0x34, 0x56 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* A DHCPDISCOVER with a few options, as a DHCP payload. */
static size_t make_discover(uint8_t *buf, size_t cap)
{
    VpcDhcpHeader h = { 0 };
    VpcDhcpWriter w;
    int len;

    h.op = VPC_BOOTREQUEST;
    h.htype = VPC_DHCP_HTYPE_ETHER;
    h.hlen = 6;
    h.xid = 0x11223344;
    h.flags = VPC_DHCP_FLAG_BROADCAST;
    memcpy(h.chaddr, client_mac, 6);
    vpc_dhcp_writer_init(&w, buf, cap, &h);
    vpc_dhcp_put_u8(&w, VPC_DHCP_OPT_MSG_TYPE, VPC_DHCPDISCOVER);
    vpc_dhcp_put_u32(&w, VPC_DHCP_OPT_REQUESTED_IP, 0xa9fe0020);
    vpc_dhcp_put_option(&w, VPC_DHCP_OPT_HOSTNAME, "guest", 5);
    len = vpc_dhcp_writer_finish(&w, 0);
    g_assert_cmpint(len, >, 0);
    return len;
}

/* The DISCOVER inside Ethernet/IPv4/UDP, broadcast. */
static size_t make_frame(uint8_t *buf, size_t cap)
{
    uint8_t msg[600];
    size_t msg_len = make_discover(msg, sizeof(msg));
    VpcUdp4Frame f = {
        .ip_src = 0, .ip_dst = VPC_IPV4_BROADCAST,
        .src_port = 68, .dst_port = 67, .ttl = 64, .ip_id = 7,
    };
    int len;

    memcpy(f.eth_dst, bcast_mac, 6);
    memcpy(f.eth_src, client_mac, 6);
    len = vpc_udp4_frame_build(buf, cap, &f, msg, msg_len);
    g_assert_cmpint(len, >, 0);
    return len;
}

/* Parse all the way to DHCP; 0 or the first error. */
static int parse_all(const uint8_t *frame, size_t len, VpcDhcpView *dhcp)
{
    VpcEthView eth;
    VpcIpv4View ip;
    VpcUdpView udp;
    int ret = vpc_udp4_frame_parse(frame, len, &eth, &ip, &udp);

    if (ret < 0) {
        return ret;
    }
    return vpc_dhcp_parse(udp.payload, udp.payload_len, dhcp);
}

/* Parse an exact-size copy of the first @len bytes of @frame. */
static int parse_prefix(const uint8_t *frame, size_t len)
{
    uint8_t *copy = g_memdup2(frame, len);
    VpcDhcpView dhcp;
    int ret = parse_all(copy ? copy : (const uint8_t *)"", len, &dhcp);

    g_free(copy);
    return ret;
}

/* Recompute the IPv4 header checksum after a test edited the header. */
static void fix_ip_csum(uint8_t *frame)
{
    uint8_t *ip = frame + VPC_ETH_HLEN;
    size_t hlen = (ip[0] & 0xf) * 4;

    vpc_put_be16(ip + 10, 0);
    vpc_put_be16(ip + 10, vpc_ip_checksum(ip, hlen));
}

static void test_error_names(void)
{
    for (int i = 0; i < VPC_PKT_ERROR_COUNT; i++) {
        const char *name = vpc_pkt_error_name(-i);

        g_assert_nonnull(name);
        g_assert_cmpstr(name, !=, "unknown");
        for (int j = 0; j < i; j++) {
            g_assert_cmpstr(name, !=, vpc_pkt_error_name(-j));
        }
    }
    g_assert_cmpstr(vpc_pkt_error_name(1), ==, "unknown");
    g_assert_cmpstr(vpc_pkt_error_name(-VPC_PKT_ERROR_COUNT), ==, "unknown");
}

/* RFC 1071 section 3's worked example, whole and in pieces. */
static void test_checksum_rfc1071(void)
{
    static const uint8_t data[8] = {
        0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7
    };
    uint32_t sum;

    g_assert_cmphex(vpc_csum_partial(0, data, 8), ==, 0xddf2);
    g_assert_cmphex(vpc_ip_checksum(data, 8), ==, 0x220d);
    sum = vpc_csum_partial(0, data, 2);
    sum = vpc_csum_partial(sum, data + 2, 4);
    sum = vpc_csum_partial(sum, data + 6, 2);
    g_assert_cmphex(vpc_csum_fold(sum), ==, 0x220d);
    /* An odd tail is padded with a zero byte. */
    g_assert_cmphex(vpc_csum_partial(0, data, 7),
                    ==, vpc_csum_partial(0, (const uint8_t[8]) {
                        0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0x00
                    }, 8));
    g_assert_cmphex(vpc_ip_checksum(data, 0), ==, 0xffff);
}

/* A long run of 0xff must not overflow the accumulator. */
static void test_checksum_long(void)
{
    size_t len = 1 << 20;
    uint8_t *buf = g_malloc(len);

    memset(buf, 0xff, len);
    g_assert_cmphex(vpc_csum_partial(0, buf, len), ==, 0xffff);
    g_assert_cmphex(vpc_ip_checksum(buf, len), ==, 0);
    g_free(buf);
}

/* The byte-at-a-time sum of RFC 1071, as a reference. */
static uint16_t reference_sum(const uint8_t *p, size_t len)
{
    uint64_t acc = 0;

    for (size_t i = 0; i + 1 < len; i += 2) {
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        acc += (uint32_t)p[len - 1] << 8;
    }
    while (acc >> 16) {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    return (uint16_t)acc;
}

/*
 * The 64-bit word sum agrees with the reference at every length and
 * alignment, and partial sums over even-length pieces chain.
 */
static void test_checksum_words(void)
{
    GRand *rand = g_rand_new_with_seed(1071);
    uint8_t *buf = g_malloc(4096 + 16);

    for (unsigned i = 0; i < 4096 + 16; i++) {
        buf[i] = g_rand_int(rand);
    }
    for (size_t len = 0; len <= 300; len++) {
        for (unsigned align = 0; align < 8; align++) {
            g_assert_cmphex(vpc_csum_partial(0, buf + align, len), ==,
                            reference_sum(buf + align, len));
        }
    }
    for (int round = 0; round < 200; round++) {
        size_t len = g_rand_int_range(rand, 0, 4096);
        size_t cut = g_rand_int_range(rand, 0, len / 2 + 1) * 2;
        uint32_t sum = vpc_csum_partial(0, buf + 3, cut);

        sum = vpc_csum_partial(sum, buf + 3 + cut, len - cut);
        g_assert_cmphex(sum, ==, reference_sum(buf + 3, len));
    }
    g_free(buf);
    g_rand_free(rand);
}

/* ICMPv4: an echo request, its checksum and truncation. */
static void test_icmp(void)
{
    uint8_t msg[16] = { VPC_ICMP_ECHO_REQUEST, 0, 0, 0, 0x12, 0x34, 0, 7,
                        'p', 'i', 'n', 'g', 0, 1, 2, 3 };
    VpcIcmpView v;

    vpc_put_be16(msg + 2, vpc_ip_checksum(msg, sizeof(msg)));
    g_assert_cmpint(vpc_icmp_parse(msg, sizeof(msg), &v), ==, 0);
    g_assert_cmpuint(v.type, ==, VPC_ICMP_ECHO_REQUEST);
    g_assert_cmphex(v.id, ==, 0x1234);
    g_assert_cmpuint(v.seq, ==, 7);
    g_assert_cmpuint(v.body_len, ==, 12);
    for (size_t len = 0; len < VPC_ICMP_HLEN; len++) {
        g_assert_cmpint(vpc_icmp_parse(msg, len, &v), ==,
                        VPC_PKT_ICMP_TRUNCATED);
    }
    msg[9] ^= 1;
    g_assert_cmpint(vpc_icmp_parse(msg, sizeof(msg), &v), ==,
                    VPC_PKT_ICMP_CHECKSUM);
}

/* The IPv4 header writer makes what the parser accepts. */
static void test_ipv4_put_header(void)
{
    uint8_t buf[VPC_IPV4_HLEN + 4] = { 0 };
    VpcIpv4View ip;

    vpc_ipv4_put_header(buf, 0x0a000202, 0x0a00020f, VPC_IP_PROTO_UDP, 4,
                        99, 64, true);
    g_assert_cmpint(vpc_ipv4_parse(buf, sizeof(buf), &ip), ==, 0);
    g_assert_cmphex(ip.src, ==, 0x0a000202);
    g_assert_cmphex(ip.dst, ==, 0x0a00020f);
    g_assert_cmpuint(ip.protocol, ==, VPC_IP_PROTO_UDP);
    g_assert_cmpuint(ip.payload_len, ==, 4);
    g_assert_cmpuint(ip.id, ==, 99);
    g_assert_true(ip.dont_fragment);
    g_assert_false(ip.is_fragment);
}

/* RFC 1624 updates agree with summing again, on random data. */
static void test_checksum_adjust(void)
{
    GRand *rand = g_rand_new_with_seed(1624);

    for (int round = 0; round < 2000; round++) {
        uint8_t buf[40];
        uint16_t before, after, from16, to16;
        uint32_t from32, to32;
        unsigned at = g_rand_int_range(rand, 0, 9) * 4;

        for (unsigned i = 0; i < sizeof(buf); i++) {
            buf[i] = g_rand_int(rand);
        }
        before = vpc_ip_checksum(buf, sizeof(buf));
        from16 = vpc_get_be16(buf + at);
        to16 = g_rand_int(rand);
        vpc_put_be16(buf + at, to16);
        after = vpc_ip_checksum(buf, sizeof(buf));
        /* 0x0000 and 0xffff are the same one's-complement value. */
        g_assert_cmphex(vpc_csum_adjust16(before, from16, to16) % 0xffff,
                        ==, after % 0xffff);

        before = after;
        from32 = vpc_get_be32(buf + at);
        to32 = g_rand_int(rand);
        vpc_put_be32(buf + at, to32);
        after = vpc_ip_checksum(buf, sizeof(buf));
        g_assert_cmphex(vpc_csum_adjust32(before, from32, to32) % 0xffff,
                        ==, after % 0xffff);
    }
    g_rand_free(rand);
}

/* The UDP checksum with the pseudo-header verifies to zero. */
static void test_checksum_pseudo(void)
{
    uint8_t frame[700];
    size_t len = make_frame(frame, sizeof(frame));
    const uint8_t *udp = frame + VPC_ETH_HLEN + VPC_IPV4_HLEN;
    size_t udp_len = vpc_get_be16(udp + 4);

    g_assert_cmpuint(udp_len, ==, len - VPC_ETH_HLEN - VPC_IPV4_HLEN);
    g_assert_cmphex(vpc_l4_checksum_ipv4(0, VPC_IPV4_BROADCAST,
                                         VPC_IP_PROTO_UDP, udp, udp_len),
                    ==, 0);
    g_assert_cmphex(vpc_l4_checksum_ipv4(1, VPC_IPV4_BROADCAST,
                                         VPC_IP_PROTO_UDP, udp, udp_len),
                    !=, 0);
}

static void test_eth(void)
{
    uint8_t frame[700];
    size_t len = make_frame(frame, sizeof(frame));
    uint8_t tagged[704];
    VpcEthView eth;

    g_assert_cmpint(vpc_eth_parse(frame, len, &eth), ==, 0);
    g_assert_cmpmem(eth.dst, 6, bcast_mac, 6);
    g_assert_cmpmem(eth.src, 6, client_mac, 6);
    g_assert_cmphex(eth.ethertype, ==, VPC_ETHERTYPE_IPV4);
    g_assert_false(eth.has_vlan);
    g_assert_true(eth.payload == frame + 14);
    g_assert_cmpuint(eth.payload_len, ==, len - 14);

    /* One 802.1Q tag: VID 5, priority 3. */
    memcpy(tagged, frame, 12);
    vpc_put_be16(tagged + 12, VPC_ETHERTYPE_VLAN);
    vpc_put_be16(tagged + 14, 0x6005);
    memcpy(tagged + 16, frame + 12, len - 12);
    g_assert_cmpint(vpc_eth_parse(tagged, len + 4, &eth), ==, 0);
    g_assert_true(eth.has_vlan);
    g_assert_cmphex(eth.vlan_tci, ==, 0x6005);
    g_assert_cmphex(eth.ethertype, ==, VPC_ETHERTYPE_IPV4);
    g_assert_cmpuint(eth.hlen, ==, 18);
    g_assert_cmpuint(eth.payload_len, ==, len - 14);

    for (size_t cut = 0; cut < 14; cut++) {
        uint8_t *copy = g_memdup2(frame, cut);

        g_assert_cmpint(vpc_eth_parse(copy, cut, &eth), ==,
                        VPC_PKT_ETH_TRUNCATED);
        g_free(copy);
    }
    for (size_t cut = 14; cut < 18; cut++) {
        uint8_t *copy = g_memdup2(tagged, cut);

        g_assert_cmpint(vpc_eth_parse(copy, cut, &eth), ==,
                        VPC_PKT_VLAN_TRUNCATED);
        g_free(copy);
    }
    /* A bare header is a valid frame with an empty payload. */
    g_assert_cmpint(vpc_eth_parse(frame, 14, &eth), ==, 0);
    g_assert_cmpuint(eth.payload_len, ==, 0);
    /* A frame of another type is no IPv4 frame. */
    vpc_put_be16(frame + 12, VPC_ETHERTYPE_IPV6);
    g_assert_cmpint(parse_prefix(frame, len), ==, VPC_PKT_WRONG_ETHERTYPE);
}

static void test_arp(void)
{
    static const uint8_t request[28] = {
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
        0x00, 0x03, 0xff, 0x12, 0x34, 0x56, 169, 254, 0, 20,
        0, 0, 0, 0, 0, 0, 169, 254, 0, 1,
    };
    uint8_t bad[28];
    VpcArpView arp;

    g_assert_cmpint(vpc_arp_parse(request, sizeof(request), &arp), ==, 0);
    g_assert_cmpuint(arp.op, ==, VPC_ARP_OP_REQUEST);
    g_assert_cmpmem(arp.sha, 6, client_mac, 6);
    g_assert_cmphex(arp.spa, ==, 0xa9fe0014);
    g_assert_cmphex(arp.tpa, ==, 0xa9fe0001);
    for (size_t cut = 0; cut < sizeof(request); cut++) {
        uint8_t *copy = g_memdup2(request, cut);

        g_assert_cmpint(vpc_arp_parse(copy, cut, &arp), ==,
                        VPC_PKT_ARP_TRUNCATED);
        g_free(copy);
    }
    /* Hardware type, protocol type, and both address lengths. */
    for (int field = 0; field < 4; field++) {
        static const int offset[4] = { 1, 3, 4, 5 };

        memcpy(bad, request, sizeof(bad));
        bad[offset[field]] ^= 0x10;
        g_assert_cmpint(vpc_arp_parse(bad, sizeof(bad), &arp), ==,
                        VPC_PKT_ARP_NOT_ETH_IPV4);
    }
}

static void test_ipv4(void)
{
    uint8_t frame[700];
    size_t len = make_frame(frame, sizeof(frame));
    uint8_t *ip = frame + VPC_ETH_HLEN;
    VpcIpv4View view;

    g_assert_cmpint(vpc_ipv4_parse(ip, len - 14, &view), ==, 0);
    g_assert_cmpuint(view.hlen, ==, 20);
    g_assert_cmpuint(view.total_len, ==, len - 14);
    g_assert_cmpuint(view.protocol, ==, VPC_IP_PROTO_UDP);
    g_assert_cmphex(view.dst, ==, VPC_IPV4_BROADCAST);
    g_assert_cmpuint(view.id, ==, 7);
    g_assert_cmpuint(view.ttl, ==, 64);
    g_assert_false(view.is_fragment);
    g_assert_true(view.payload == ip + 20);

    /* Link padding after the datagram is not payload. */
    g_assert_cmpint(vpc_ipv4_parse(ip, len - 14 + 10, &view), ==, 0);
    g_assert_cmpuint(view.payload_len, ==, len - 14 - 20);

    /* Cut at every length: header cuts, then the total length. */
    for (size_t cut = 0; cut < len - 14; cut++) {
        uint8_t *copy = g_memdup2(ip, cut);
        int ret = vpc_ipv4_parse(copy ? copy : ip, cut, &view);

        g_assert_cmpint(ret, ==, cut < 20 ? VPC_PKT_IP_TRUNCATED
                        : VPC_PKT_IP_TOTAL_LENGTH);
        g_free(copy);
    }

    ip[0] = 0x65;
    g_assert_cmpint(vpc_ipv4_parse(ip, len - 14, &view), ==,
                    VPC_PKT_IP_VERSION);
    for (int ihl = 0; ihl < 5; ihl++) {
        ip[0] = 0x40 | ihl;
        fix_ip_csum(frame);
        g_assert_cmpint(vpc_ipv4_parse(ip, len - 14, &view), ==,
                        VPC_PKT_IP_HEADER_LENGTH);
    }
    /* IHL 15 (60 bytes) in a 40-byte buffer. */
    ip[0] = 0x4f;
    g_assert_cmpint(vpc_ipv4_parse(ip, 40, &view), ==, VPC_PKT_IP_TRUNCATED);
    ip[0] = 0x45;

    vpc_put_be16(ip + 2, 19);
    fix_ip_csum(frame);
    g_assert_cmpint(vpc_ipv4_parse(ip, len - 14, &view), ==,
                    VPC_PKT_IP_TOTAL_LENGTH);
    vpc_put_be16(ip + 2, len - 14 + 1);
    fix_ip_csum(frame);
    g_assert_cmpint(vpc_ipv4_parse(ip, len - 14, &view), ==,
                    VPC_PKT_IP_TOTAL_LENGTH);
    vpc_put_be16(ip + 2, len - 14);
    fix_ip_csum(frame);
    g_assert_cmpint(vpc_ipv4_parse(ip, len - 14, &view), ==, 0);

    ip[10] ^= 1;
    g_assert_cmpint(vpc_ipv4_parse(ip, len - 14, &view), ==,
                    VPC_PKT_IP_CHECKSUM);
}

/* Options in the IPv4 header move the payload, not the parse. */
static void test_ipv4_options(void)
{
    uint8_t frame[700], with_opts[704];
    size_t len = make_frame(frame, sizeof(frame));
    VpcEthView eth;
    VpcIpv4View ip;
    VpcUdpView udp;

    memcpy(with_opts, frame, 34);
    memset(with_opts + 34, 1, 4);              /* four NOP options */
    memcpy(with_opts + 38, frame + 34, len - 34);
    with_opts[14] = 0x46;
    vpc_put_be16(with_opts + 16, len - 14 + 4);
    fix_ip_csum(with_opts);
    g_assert_cmpint(vpc_udp4_frame_parse(with_opts, len + 4, &eth, &ip, &udp),
                    ==, 0);
    g_assert_cmpuint(ip.hlen, ==, 24);
    g_assert_cmpuint(udp.dst_port, ==, 67);
    /* A header cut inside its options. */
    g_assert_cmpint(vpc_ipv4_parse(with_opts + 14, 22, &ip), ==,
                    VPC_PKT_IP_TRUNCATED);
}

static void test_ipv4_fragments(void)
{
    uint8_t frame[700];
    size_t len = make_frame(frame, sizeof(frame));
    uint8_t *ipb = frame + VPC_ETH_HLEN;
    VpcIpv4View ip;
    VpcUdpView udp;

    vpc_put_be16(ipb + 6, 0x2000);             /* MF, offset 0 */
    fix_ip_csum(frame);
    g_assert_cmpint(vpc_ipv4_parse(ipb, len - 14, &ip), ==, 0);
    g_assert_true(ip.more_fragments);
    g_assert_true(ip.is_fragment);
    g_assert_cmpint(vpc_udp_parse(&ip, &udp), ==, VPC_PKT_IP_FRAGMENT);

    vpc_put_be16(ipb + 6, 0x0003);             /* offset 24 */
    fix_ip_csum(frame);
    g_assert_cmpint(vpc_ipv4_parse(ipb, len - 14, &ip), ==, 0);
    g_assert_false(ip.more_fragments);
    g_assert_cmpuint(ip.frag_offset, ==, 24);
    g_assert_true(ip.is_fragment);

    vpc_put_be16(ipb + 6, 0x4000);             /* DF only: whole */
    fix_ip_csum(frame);
    g_assert_cmpint(vpc_ipv4_parse(ipb, len - 14, &ip), ==, 0);
    g_assert_true(ip.dont_fragment);
    g_assert_false(ip.is_fragment);
    g_assert_cmpint(vpc_udp_parse(&ip, &udp), ==, 0);
}

static void test_udp(void)
{
    uint8_t frame[700];
    size_t len = make_frame(frame, sizeof(frame));
    uint8_t *udpb = frame + 34;
    size_t udp_len = len - 34;
    VpcEthView eth;
    VpcIpv4View ip;
    VpcUdpView udp;

    g_assert_cmpint(vpc_udp4_frame_parse(frame, len, &eth, &ip, &udp), ==, 0);
    g_assert_cmpuint(udp.src_port, ==, 68);
    g_assert_cmpuint(udp.dst_port, ==, 67);
    g_assert_cmpuint(udp.length, ==, udp_len);
    g_assert_cmpuint(udp.payload_len, ==, udp_len - 8);
    g_assert_true(udp.payload == udpb + 8);

    /* Cut at every length inside UDP, with IPv4 consistent each time. */
    for (size_t cut = 0; cut < udp_len; cut++) {
        vpc_put_be16(frame + 16, 20 + cut);
        fix_ip_csum(frame);
        g_assert_cmpint(vpc_ipv4_parse(frame + 14, 20 + cut, &ip), ==, 0);
        g_assert_cmpint(vpc_udp_parse(&ip, &udp), ==,
                        cut < 8 ? VPC_PKT_UDP_TRUNCATED : VPC_PKT_UDP_LENGTH);
    }
    vpc_put_be16(frame + 16, 20 + udp_len);
    fix_ip_csum(frame);

    vpc_put_be16(udpb + 4, 7);
    g_assert_cmpint(vpc_udp4_frame_parse(frame, len, &eth, &ip, &udp), ==,
                    VPC_PKT_UDP_LENGTH);
    vpc_put_be16(udpb + 4, udp_len);

    udpb[20] ^= 0x40;
    g_assert_cmpint(vpc_udp4_frame_parse(frame, len, &eth, &ip, &udp), ==,
                    VPC_PKT_UDP_CHECKSUM);
    /* No checksum at all is allowed over IPv4. */
    vpc_put_be16(udpb + 6, 0);
    g_assert_cmpint(vpc_udp4_frame_parse(frame, len, &eth, &ip, &udp), ==, 0);

    frame[14 + 9] = VPC_IP_PROTO_TCP;
    fix_ip_csum(frame);
    g_assert_cmpint(vpc_udp4_frame_parse(frame, len, &eth, &ip, &udp), ==,
                    VPC_PKT_WRONG_PROTOCOL);
}

/* Every prefix of a valid frame fails, with the error of its layer. */
static void test_frame_every_length(void)
{
    uint8_t frame[700];
    size_t len = make_frame(frame, sizeof(frame));

    g_assert_cmpint(parse_prefix(frame, len), ==, 0);
    for (size_t cut = 0; cut < len; cut++) {
        int ret = parse_prefix(frame, cut);
        int want = cut < 14 ? VPC_PKT_ETH_TRUNCATED
                   : cut < 34 ? VPC_PKT_IP_TRUNCATED
                   : VPC_PKT_IP_TOTAL_LENGTH;

        g_assert_cmpint(ret, ==, want);
    }
}

static void test_dhcp(void)
{
    uint8_t msg[600];
    size_t len = make_discover(msg, sizeof(msg));
    VpcDhcpView d;
    VpcDhcpOpt opt;
    uint32_t addr;

    g_assert_cmpint(vpc_dhcp_parse(msg, len, &d), ==, 0);
    g_assert_cmpuint(d.hdr.op, ==, VPC_BOOTREQUEST);
    g_assert_cmphex(d.hdr.xid, ==, 0x11223344);
    g_assert_cmphex(d.hdr.flags, ==, VPC_DHCP_FLAG_BROADCAST);
    g_assert_cmpmem(d.hdr.chaddr, 6, client_mac, 6);
    g_assert_cmpuint(d.msg_type, ==, VPC_DHCPDISCOVER);
    g_assert_cmpuint(d.options_len, ==, len - 240);
    g_assert_true(vpc_dhcp_opt_get_ipv4(&d, VPC_DHCP_OPT_REQUESTED_IP, &addr));
    g_assert_cmphex(addr, ==, 0xa9fe0020);
    g_assert_true(vpc_dhcp_opt_find(&d, VPC_DHCP_OPT_HOSTNAME, &opt));
    g_assert_cmpmem(opt.data, opt.len, "guest", 5);
    g_assert_false(vpc_dhcp_opt_find(&d, VPC_DHCP_OPT_ROUTER, &opt));
    /* Option 12 is not four bytes long: no address. */
    g_assert_false(vpc_dhcp_opt_get_ipv4(&d, VPC_DHCP_OPT_HOSTNAME, &addr));

    /* Bytes after END (padding) are ignored. */
    memset(msg + len, 0xee, 20);
    g_assert_cmpint(vpc_dhcp_parse(msg, len + 20, &d), ==, 0);
    g_assert_cmpuint(d.options_len, ==, len - 240);

    /* Every cut: the fixed part, then options left open. */
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = g_memdup2(msg, cut);
        int ret = vpc_dhcp_parse(copy ? copy : msg, cut, &d);

        if (cut < 240) {
            g_assert_cmpint(ret, ==, VPC_PKT_DHCP_TRUNCATED);
        } else {
            g_assert_true(ret == VPC_PKT_DHCP_NO_END
                          || ret == VPC_PKT_DHCP_OPTION_OVERRUN);
        }
        g_assert_cmpuint(d.msg_type, ==, 0);
        g_free(copy);
    }

    msg[236] = 0x64;
    g_assert_cmpint(vpc_dhcp_parse(msg, len, &d), ==, VPC_PKT_DHCP_COOKIE);
}

/* Parse a message made of the fixed part and the given option bytes. */
static int parse_options(const uint8_t *opts, size_t n, VpcDhcpView *d)
{
    uint8_t *msg = g_malloc0(240 + n);
    int ret;

    vpc_put_be32(msg + 236, VPC_DHCP_MAGIC_COOKIE);
    if (n) {
        memcpy(msg + 240, opts, n);
    }
    ret = vpc_dhcp_parse(msg, 240 + n, d);
    g_free(msg);
    return ret;
}

static void test_dhcp_options_malformed(void)
{
    VpcDhcpView d;

    /* Option length runs past the end. */
    g_assert_cmpint(parse_options((const uint8_t[]) { 53, 1, 1, 12, 10, 'a' },
                                  6, &d), ==, VPC_PKT_DHCP_OPTION_OVERRUN);
    /* A code byte with no room for its length byte. */
    g_assert_cmpint(parse_options((const uint8_t[]) { 53, 1, 1, 12 }, 4, &d),
                    ==, VPC_PKT_DHCP_OPTION_OVERRUN);
    /* No END. */
    g_assert_cmpint(parse_options((const uint8_t[]) { 53, 1, 1 }, 3, &d),
                    ==, VPC_PKT_DHCP_NO_END);
    g_assert_cmpint(parse_options(NULL, 0, &d), ==, VPC_PKT_DHCP_NO_END);
    /* Only PAD, no END. */
    g_assert_cmpint(parse_options((const uint8_t[64]) { 0 }, 64, &d),
                    ==, VPC_PKT_DHCP_NO_END);
    /* END alone is a valid, empty option list. */
    g_assert_cmpint(parse_options((const uint8_t[]) { 255 }, 1, &d), ==, 0);
    g_assert_cmpuint(d.msg_type, ==, 0);
    /* A malformed message type is no message type. */
    g_assert_cmpint(parse_options((const uint8_t[]) { 53, 2, 1, 1, 255 }, 5,
                                  &d), ==, 0);
    g_assert_cmpuint(d.msg_type, ==, 0);
    /* The first option 53 wins. */
    g_assert_cmpint(parse_options((const uint8_t[]) { 53, 1, 3, 53, 1, 1,
                                                      255 }, 7, &d), ==, 0);
    g_assert_cmpuint(d.msg_type, ==, VPC_DHCPREQUEST);
}

/* Zero-length options and PAD runs advance; the walk always ends. */
static void test_dhcp_options_zero_length(void)
{
    uint8_t opts[1001];
    VpcDhcpView d;
    VpcDhcpOptIter it;
    VpcDhcpOpt opt;
    unsigned count = 0;
    int ret;

    for (int i = 0; i < 500; i++) {
        opts[2 * i] = 1 + i % 200;
        opts[2 * i + 1] = 0;
    }
    opts[1000] = 255;
    g_assert_cmpint(parse_options(opts, sizeof(opts), &d), ==, 0);
    vpc_dhcp_opt_iter_init(&it, opts, sizeof(opts));
    while ((ret = vpc_dhcp_opt_iter_next(&it, &opt)) == 1) {
        g_assert_cmpuint(opt.len, ==, 0);
        count++;
    }
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpuint(count, ==, 500);
    /* Once at END it stays there. */
    g_assert_cmpint(vpc_dhcp_opt_iter_next(&it, &opt), ==, 0);
    g_assert_cmpuint(it.pos, ==, sizeof(opts));

    /* The same without END: an error, and it stays an error. */
    vpc_dhcp_opt_iter_init(&it, opts, sizeof(opts) - 1);
    count = 0;
    while ((ret = vpc_dhcp_opt_iter_next(&it, &opt)) == 1) {
        count++;
    }
    g_assert_cmpint(ret, ==, VPC_PKT_DHCP_NO_END);
    g_assert_cmpuint(count, ==, 500);
    g_assert_cmpint(vpc_dhcp_opt_iter_next(&it, &opt), ==,
                    VPC_PKT_DHCP_NO_END);
}

static void test_dhcp_writer(void)
{
    uint8_t buf[600], big[300];
    VpcDhcpHeader h = { .op = VPC_BOOTREPLY, .xid = 9 };
    VpcDhcpWriter w;
    VpcDhcpView d;
    int len;

    /* Too small for the fixed part. */
    vpc_dhcp_writer_init(&w, buf, 239, &h);
    vpc_dhcp_put_u8(&w, VPC_DHCP_OPT_MSG_TYPE, VPC_DHCPACK);
    g_assert_cmpint(vpc_dhcp_writer_finish(&w, 0), ==, VPC_PKT_NO_SPACE);
    /* The fixed part fits, END does not. */
    vpc_dhcp_writer_init(&w, buf, 240, &h);
    g_assert_cmpint(vpc_dhcp_writer_finish(&w, 0), ==, VPC_PKT_NO_SPACE);
    /* An option that does not fit is sticky. */
    vpc_dhcp_writer_init(&w, buf, 245, &h);
    vpc_dhcp_put_u32(&w, VPC_DHCP_OPT_LEASE_TIME, 60);
    g_assert_cmpuint(vpc_dhcp_writer_room(&w), ==, 0);
    vpc_dhcp_put_u8(&w, VPC_DHCP_OPT_MSG_TYPE, VPC_DHCPACK);
    g_assert_cmpint(vpc_dhcp_writer_finish(&w, 0), ==, VPC_PKT_NO_SPACE);
    /* Over 255 bytes is not an option. */
    vpc_dhcp_writer_init(&w, buf, sizeof(buf), &h);
    vpc_dhcp_put_option(&w, VPC_DHCP_OPT_CLIENT_ID, big, 256);
    g_assert_cmpint(vpc_dhcp_writer_finish(&w, 0), ==, VPC_PKT_TOO_BIG);
    /* Padding to the BOOTP minimum, and it fits exactly or not at all. */
    vpc_dhcp_writer_init(&w, buf, sizeof(buf), &h);
    vpc_dhcp_put_u8(&w, VPC_DHCP_OPT_MSG_TYPE, VPC_DHCPACK);
    g_assert_cmpuint(vpc_dhcp_writer_room(&w), ==, sizeof(buf) - 243 - 1);
    len = vpc_dhcp_writer_finish(&w, 300);
    g_assert_cmpint(len, ==, 300);
    g_assert_cmpint(vpc_dhcp_parse(buf, len, &d), ==, 0);
    g_assert_cmpuint(d.msg_type, ==, VPC_DHCPACK);
    g_assert_cmpuint(d.hdr.op, ==, VPC_BOOTREPLY);
    vpc_dhcp_writer_init(&w, buf, 299, &h);
    g_assert_cmpint(vpc_dhcp_writer_finish(&w, 300), ==, VPC_PKT_NO_SPACE);
}

static void test_build(void)
{
    uint8_t frame[700], small[700], payload[10];
    VpcUdp4Frame f = {
        .ip_src = 0xa9fe0001, .ip_dst = 0xa9fe0010,
        .src_port = 67, .dst_port = 68, .ttl = 64,
    };
    VpcEthView eth;
    VpcIpv4View ip;
    VpcUdpView udp;
    size_t len;
    int ret;

    memcpy(payload, "0123456789", 10);
    memcpy(f.eth_dst, client_mac, 6);
    /* Short frames are padded to 60 bytes, the datagram is not. */
    ret = vpc_udp4_frame_build(frame, sizeof(frame), &f, payload, 10);
    g_assert_cmpint(ret, ==, 60);
    g_assert_cmpint(vpc_udp4_frame_parse(frame, ret, &eth, &ip, &udp), ==, 0);
    g_assert_cmpuint(ip.total_len, ==, 38);
    g_assert_cmpmem(udp.payload, udp.payload_len, payload, 10);
    for (int i = 52; i < 60; i++) {
        g_assert_cmpuint(frame[i], ==, 0);
    }
    /* Every capacity below what is needed is refused. */
    for (size_t cap = 0; cap < 60; cap++) {
        g_assert_cmpint(vpc_udp4_frame_build(small, cap, &f, payload, 10),
                        ==, VPC_PKT_NO_SPACE);
    }
    g_assert_cmpint(vpc_udp4_frame_build(frame, sizeof(frame), &f, payload,
                                         65535 - 27), ==, VPC_PKT_TOO_BIG);

    /* Built in place: the payload already sits after the headers. */
    len = make_discover(frame + VPC_UDP4_FRAME_HLEN,
                        sizeof(frame) - VPC_UDP4_FRAME_HLEN);
    memcpy(small, frame + VPC_UDP4_FRAME_HLEN, len);
    ret = vpc_udp4_frame_build(frame, sizeof(frame), &f,
                               frame + VPC_UDP4_FRAME_HLEN, len);
    g_assert_cmpint(ret, ==, VPC_UDP4_FRAME_HLEN + len);
    g_assert_cmpint(vpc_udp4_frame_parse(frame, ret, &eth, &ip, &udp), ==, 0);
    g_assert_cmpmem(udp.payload, udp.payload_len, small, len);
    g_assert_cmpuint(udp.checksum, !=, 0);
}

/* A payload whose checksum computes to 0 goes out as 0xffff. */
static void test_build_zero_checksum(void)
{
    uint8_t frame[100], payload[16] = "zero checksum!";
    VpcUdp4Frame f = {
        .ip_src = 0x0a000001, .ip_dst = 0x0a000002,
        .src_port = 1000, .dst_port = 2000, .ttl = 1,
    };
    VpcEthView eth;
    VpcIpv4View ip;
    VpcUdpView udp;
    int ret;

    payload[14] = payload[15] = 0;
    ret = vpc_udp4_frame_build(frame, sizeof(frame), &f, payload, 16);
    g_assert_cmpint(ret, >, 0);
    /* Adding the checksum as data makes the sum all ones. */
    memcpy(payload + 14, frame + 40, 2);
    ret = vpc_udp4_frame_build(frame, sizeof(frame), &f, payload, 16);
    g_assert_cmpint(ret, >, 0);
    g_assert_cmphex(vpc_get_be16(frame + 40), ==, 0xffff);
    g_assert_cmpint(vpc_udp4_frame_parse(frame, ret, &eth, &ip, &udp), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vpcnet/packet/error-names", test_error_names);
    g_test_add_func("/vpcnet/packet/checksum/rfc1071", test_checksum_rfc1071);
    g_test_add_func("/vpcnet/packet/checksum/long", test_checksum_long);
    g_test_add_func("/vpcnet/packet/checksum/words", test_checksum_words);
    g_test_add_func("/vpcnet/packet/icmp", test_icmp);
    g_test_add_func("/vpcnet/packet/ipv4-put-header", test_ipv4_put_header);
    g_test_add_func("/vpcnet/packet/checksum/adjust", test_checksum_adjust);
    g_test_add_func("/vpcnet/packet/checksum/pseudo", test_checksum_pseudo);
    g_test_add_func("/vpcnet/packet/eth", test_eth);
    g_test_add_func("/vpcnet/packet/arp", test_arp);
    g_test_add_func("/vpcnet/packet/ipv4", test_ipv4);
    g_test_add_func("/vpcnet/packet/ipv4-options", test_ipv4_options);
    g_test_add_func("/vpcnet/packet/ipv4-fragments", test_ipv4_fragments);
    g_test_add_func("/vpcnet/packet/udp", test_udp);
    g_test_add_func("/vpcnet/packet/frame-every-length",
                    test_frame_every_length);
    g_test_add_func("/vpcnet/packet/dhcp", test_dhcp);
    g_test_add_func("/vpcnet/packet/dhcp-options-malformed",
                    test_dhcp_options_malformed);
    g_test_add_func("/vpcnet/packet/dhcp-options-zero-length",
                    test_dhcp_options_zero_length);
    g_test_add_func("/vpcnet/packet/dhcp-writer", test_dhcp_writer);
    g_test_add_func("/vpcnet/packet/build", test_build);
    g_test_add_func("/vpcnet/packet/build-zero-checksum",
                    test_build_zero_checksum);
    return g_test_run();
}
