/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the IPv4 header (RFC 791).
 *
 * Limits: fragments are flagged, not reassembled.
 */
#ifndef VPCNET_IPV4_H
#define VPCNET_IPV4_H

#include "net/vpcnet/wire.h"

#define VPC_IPV4_HLEN           20      /* without options */
#define VPC_IPV4_MAX_LEN        65535
#define VPC_IPV4_BROADCAST      0xffffffffu

/**
 * VpcIpv4View - a parsed IPv4 header.
 * @hdr: the header in the caller's buffer.
 * @hlen: header length in bytes, options included (20..60).
 * @total_len: the datagram length from the header, within the buffer.
 * @tos: type of service byte.
 * @id: identification.
 * @dont_fragment: DF flag.
 * @more_fragments: MF flag.
 * @frag_offset: fragment offset in bytes.
 * @is_fragment: MF set or offset non-zero: not a whole datagram.
 * @ttl: time to live.
 * @protocol: payload protocol number.
 * @src: source address, host order.
 * @dst: destination address, host order.
 * @payload: the bytes after the header, up to @total_len.
 * @payload_len: their number (link padding excluded).
 */
typedef struct VpcIpv4View {
    const uint8_t *hdr;
    size_t hlen;
    size_t total_len;
    uint8_t tos;
    uint16_t id;
    bool dont_fragment;
    bool more_fragments;
    uint32_t frag_offset;
    bool is_fragment;
    uint8_t ttl;
    uint8_t protocol;
    uint32_t src;
    uint32_t dst;
    const uint8_t *payload;
    size_t payload_len;
} VpcIpv4View;

/*
 * vpc_ipv4_parse - parse IPv4 at @buf (an Ethernet payload), verifying
 * the header checksum.  A fragment parses fine and is flagged.
 */
int vpc_ipv4_parse(const uint8_t *buf, size_t len, VpcIpv4View *ip);

/*
 * vpc_ipv4_put_header - write a 20-byte header (no options) with its
 * checksum: @payload_len bytes of @protocol follow.
 */
void vpc_ipv4_put_header(uint8_t *buf, uint32_t src, uint32_t dst,
                         uint8_t protocol, uint16_t payload_len,
                         uint16_t id, uint8_t ttl, bool dont_fragment);

/* VPC_IPV4_ADDR_STRLEN - room for "255.255.255.255" and its NUL. */
#define VPC_IPV4_ADDR_STRLEN    16

/* vpc_ipv4_format - @addr (host order) in dotted decimal; returns @buf. */
char *vpc_ipv4_format(uint32_t addr, char buf[VPC_IPV4_ADDR_STRLEN]);

#endif
