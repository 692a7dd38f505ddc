/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the TCP header (RFC 9293) and the options a translator reads
 * and writes: MSS, window scale (RFC 7323), SACK-permitted (RFC 2018) and
 * timestamps (RFC 7323).  Family independent: the caller hands in the
 * upper-layer bytes of an IPv4 or IPv6 view and checks the checksum with
 * the pseudo-header of its family when it wants to.
 */
#ifndef VPCNET_TCP_H
#define VPCNET_TCP_H

#include "net/vpcnet/wire.h"

#define VPC_TCP_HLEN            20      /* without options */
#define VPC_TCP_MAX_HLEN        60
#define VPC_TCP_MAX_WSCALE      14

#define VPC_TCP_FIN             0x01
#define VPC_TCP_SYN             0x02
#define VPC_TCP_RST             0x04
#define VPC_TCP_PSH             0x08
#define VPC_TCP_ACK             0x10
#define VPC_TCP_URG             0x20

#define VPC_TCP_OPT_EOL         0
#define VPC_TCP_OPT_NOP         1
#define VPC_TCP_OPT_MSS         2
#define VPC_TCP_OPT_WSCALE      3
#define VPC_TCP_OPT_SACK_PERM   4
#define VPC_TCP_OPT_TIMESTAMP   8

/**
 * VpcTcpView - a parsed TCP segment.
 * @src_port: source port.
 * @dst_port: destination port.
 * @seq: sequence number.
 * @ack: acknowledgment number (meaningful with VPC_TCP_ACK).
 * @flags: the low eight flag bits (FIN..CWR).
 * @window: the window field, unscaled.
 * @urgent: the urgent pointer.
 * @hlen: header bytes, options included.
 * @has_mss: an MSS option was present; @mss its value.
 * @mss: see @has_mss.
 * @has_wscale: a window scale option was present; @wscale its shift,
 *              cut to VPC_TCP_MAX_WSCALE as RFC 7323 says.
 * @wscale: see @has_wscale.
 * @sack_permitted: a SACK-permitted option was present.
 * @has_timestamps: a timestamps option was present.
 * @ts_val: its TSval.
 * @ts_ecr: its TSecr.
 * @payload: the data after the header.
 * @payload_len: its length.
 */
typedef struct VpcTcpView {
    uint16_t src_port;
    uint16_t dst_port;
    uint32_t seq;
    uint32_t ack;
    uint8_t flags;
    uint16_t window;
    uint16_t urgent;
    size_t hlen;
    bool has_mss;
    uint16_t mss;
    bool has_wscale;
    uint8_t wscale;
    bool sack_permitted;
    bool has_timestamps;
    uint32_t ts_val;
    uint32_t ts_ecr;
    const uint8_t *payload;
    size_t payload_len;
} VpcTcpView;

/*
 * vpc_tcp_parse - parse the TCP segment @seg of @len bytes (the upper
 * layer of an IP view) and its options.  The checksum is not verified.
 */
int vpc_tcp_parse(const uint8_t *seg, size_t len, VpcTcpView *tcp);

/**
 * VpcTcpHeader - a TCP header to write.
 * @src_port: source port.
 * @dst_port: destination port.
 * @seq: sequence number.
 * @ack: acknowledgment number.
 * @flags: flag bits.
 * @window: the window field (already scaled down).
 * @mss: when non-zero, an MSS option (SYN segments only).
 * @wscale: with @send_wscale, a window scale option of this shift.
 * @send_wscale: see @wscale.
 */
typedef struct VpcTcpHeader {
    uint16_t src_port;
    uint16_t dst_port;
    uint32_t seq;
    uint32_t ack;
    uint8_t flags;
    uint16_t window;
    uint16_t mss;
    uint8_t wscale;
    bool send_wscale;
} VpcTcpHeader;

/*
 * vpc_tcp_put_header - write @h at @buf (room for VPC_TCP_MAX_HLEN) with
 * a zero checksum; returns the header length (20, or more with options).
 */
size_t vpc_tcp_put_header(uint8_t *buf, const VpcTcpHeader *h);

/* Sequence-number arithmetic modulo 2^32 (RFC 9293 section 3.4). */
static inline bool vpc_seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

static inline bool vpc_seq_le(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}

#endif
