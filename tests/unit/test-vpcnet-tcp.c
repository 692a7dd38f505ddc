/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the TCP view and header writer: options read and
 * written, malformed headers and options named, sequence arithmetic
 * across the wrap.
 */
#include <glib.h>
#include <string.h>

#include "net/vpcnet/tcp.h"

static int parse_copy(const uint8_t *seg, size_t len, VpcTcpView *tcp)
{
    uint8_t *copy = g_memdup2(seg, len);
    int ret = vpc_tcp_parse(copy, len, tcp);

    g_free(copy);
    return ret;
}

/* What the writer makes the parser reads back, options included. */
static void test_round_trip(void)
{
    VpcTcpHeader h = {
        .src_port = 80, .dst_port = 40000, .seq = 0xfffffff0,
        .ack = 12345, .flags = VPC_TCP_SYN | VPC_TCP_ACK, .window = 65535,
        .mss = 1460, .wscale = 7, .send_wscale = true,
    };
    uint8_t buf[VPC_TCP_MAX_HLEN + 4];
    size_t hlen = vpc_tcp_put_header(buf, &h);
    VpcTcpView t;

    g_assert_cmpuint(hlen, ==, 28);
    memcpy(buf + hlen, "data", 4);
    g_assert_cmpint(vpc_tcp_parse(buf, hlen + 4, &t), ==, 0);
    g_assert_cmpuint(t.src_port, ==, 80);
    g_assert_cmpuint(t.dst_port, ==, 40000);
    g_assert_cmphex(t.seq, ==, 0xfffffff0);
    g_assert_cmpuint(t.ack, ==, 12345);
    g_assert_cmphex(t.flags, ==, VPC_TCP_SYN | VPC_TCP_ACK);
    g_assert_cmpuint(t.window, ==, 65535);
    g_assert_true(t.has_mss);
    g_assert_cmpuint(t.mss, ==, 1460);
    g_assert_true(t.has_wscale);
    g_assert_cmpuint(t.wscale, ==, 7);
    g_assert_cmpuint(t.hlen, ==, 28);
    g_assert_cmpuint(t.payload_len, ==, 4);
    g_assert_cmpmem(t.payload, 4, "data", 4);

    h.mss = 0;
    h.send_wscale = false;
    g_assert_cmpuint(vpc_tcp_put_header(buf, &h), ==, VPC_TCP_HLEN);
}

/* A Linux SYN's options: MSS, SACK-permitted, timestamps, NOP, WS. */
static void test_linux_syn(void)
{
    uint8_t seg[40] = {
        0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0, 0x02,
        0xfa, 0xf0, 0, 0, 0, 0,
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 17,
    };
    VpcTcpView t;

    g_assert_cmpint(parse_copy(seg, sizeof(seg), &t), ==, 0);
    g_assert_cmpuint(t.mss, ==, 1460);
    g_assert_true(t.sack_permitted);
    g_assert_true(t.has_timestamps);
    g_assert_cmpuint(t.ts_val, ==, 9);
    /* A shift above 14 is taken as 14 (RFC 7323 section 2.3). */
    g_assert_cmpuint(t.wscale, ==, VPC_TCP_MAX_WSCALE);

    /* Every cut before the end of the header is an error. */
    for (size_t len = 0; len < sizeof(seg); len++) {
        g_assert_cmpint(parse_copy(seg, len, &t), <, 0);
    }
    /* An option length running past the header. */
    seg[21] = 30;
    g_assert_cmpint(parse_copy(seg, sizeof(seg), &t), ==, VPC_PKT_TCP_OPTION);
    /* An option length below 2. */
    seg[21] = 1;
    g_assert_cmpint(parse_copy(seg, sizeof(seg), &t), ==, VPC_PKT_TCP_OPTION);
    /* A kind and no length byte at the end of the options. */
    seg[21] = 4;
    seg[36] = 1;
    seg[37] = 1;
    seg[38] = 1;
    seg[39] = 3;
    g_assert_cmpint(parse_copy(seg, sizeof(seg), &t), ==, VPC_PKT_TCP_OPTION);
    /* A data offset below 5. */
    seg[12] = 0x40;
    g_assert_cmpint(parse_copy(seg, sizeof(seg), &t), ==,
                    VPC_PKT_TCP_HEADER_LENGTH);
}

static void test_seq(void)
{
    g_assert_true(vpc_seq_lt(0xfffffff0, 0x10));
    g_assert_false(vpc_seq_lt(0x10, 0xfffffff0));
    g_assert_true(vpc_seq_le(5, 5));
    g_assert_false(vpc_seq_lt(5, 5));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vpcnet/tcp/round-trip", test_round_trip);
    g_test_add_func("/vpcnet/tcp/linux-syn", test_linux_syn);
    g_test_add_func("/vpcnet/tcp/seq", test_seq);
    return g_test_run();
}
