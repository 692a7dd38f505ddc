/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the IPv6 header (RFC 8200) and the address classes the
 * library's services care about.
 *
 * The view follows the chain of extension headers a translator has to
 * step over (hop-by-hop, routing, destination options) to the upper
 * layer, bounded by VPC_IPV6_MAX_EXT_HEADERS; a fragment header is
 * reported (fragments are not reassembled), anything else ends the walk
 * as the upper-layer protocol.  Addresses stay in network byte order:
 * 16 bytes, compared with memcmp.
 */
#ifndef VPCNET_IPV6_H
#define VPCNET_IPV6_H

#include "net/vpcnet/wire.h"

#define VPC_IPV6_HLEN               40
#define VPC_IPV6_ALEN               16
#define VPC_IPV6_MIN_MTU            1280
#define VPC_IPV6_MAX_EXT_HEADERS    8

/* Next-header values the view knows. */
#define VPC_IPV6_NH_HOPOPTS         0
#define VPC_IPV6_NH_ROUTING         43
#define VPC_IPV6_NH_FRAGMENT        44
#define VPC_IPV6_NH_ICMPV6          58
#define VPC_IPV6_NH_NONE            59
#define VPC_IPV6_NH_DSTOPTS         60

/* VPC_IPV6_ADDR_STRLEN - room for any address in text, with its NUL. */
#define VPC_IPV6_ADDR_STRLEN        46

/**
 * VpcIpv6View - a parsed IPv6 header and its extension headers.
 * @hdr: the fixed header in the caller's buffer.
 * @traffic_class: the traffic class byte.
 * @flow_label: the 20-bit flow label.
 * @payload_len: the payload length field, within the buffer.
 * @hop_limit: hop limit.
 * @src: source address.
 * @dst: destination address.
 * @protocol: the upper-layer protocol after the extension headers.
 * @is_fragment: a fragment header was met (the walk stops there).
 * @l4: the upper-layer bytes.
 * @l4_len: their number (link padding excluded).
 */
typedef struct VpcIpv6View {
    const uint8_t *hdr;
    uint8_t traffic_class;
    uint32_t flow_label;
    uint16_t payload_len;
    uint8_t hop_limit;
    uint8_t src[VPC_IPV6_ALEN];
    uint8_t dst[VPC_IPV6_ALEN];
    uint8_t protocol;
    bool is_fragment;
    const uint8_t *l4;
    size_t l4_len;
} VpcIpv6View;

/*
 * vpc_ipv6_parse - parse IPv6 at @buf (an Ethernet payload).  Jumbograms
 * (payload length 0 with a hop-by-hop jumbo option) are refused as
 * VPC_PKT_IP6_PAYLOAD_LENGTH.
 */
int vpc_ipv6_parse(const uint8_t *buf, size_t len, VpcIpv6View *ip);

/* vpc_ipv6_put_header - write a 40-byte header with no extensions. */
void vpc_ipv6_put_header(uint8_t *buf, const uint8_t src[16],
                         const uint8_t dst[16], uint8_t next_header,
                         uint16_t payload_len, uint8_t hop_limit);

/* vpc_ipv6_format - @addr in RFC 5952 text; returns @buf. */
char *vpc_ipv6_format(const uint8_t addr[16],
                      char buf[VPC_IPV6_ADDR_STRLEN]);

static inline bool vpc_ipv6_is_multicast(const uint8_t *a)
{
    return a[0] == 0xff;
}

static inline bool vpc_ipv6_is_link_local(const uint8_t *a)
{
    return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* vpc_ipv6_is_unspecified - "::". */
bool vpc_ipv6_is_unspecified(const uint8_t *a);

/* vpc_ipv6_is_loopback - "::1". */
bool vpc_ipv6_is_loopback(const uint8_t *a);

/* vpc_ipv6_is_v4mapped - "::ffff:a.b.c.d". */
bool vpc_ipv6_is_v4mapped(const uint8_t *a);

/*
 * vpc_ipv6_solicited_node - the solicited-node multicast group of @a
 * (ff02::1:ffXX:XXXX, RFC 4291 section 2.7.1).
 */
void vpc_ipv6_solicited_node(const uint8_t a[16], uint8_t group[16]);

/* vpc_ipv6_multicast_mac - the Ethernet address of group @a (RFC 2464). */
void vpc_ipv6_multicast_mac(const uint8_t a[16], uint8_t mac[6]);

/*
 * vpc_ipv6_link_local_from_mac - fe80::/64 with the modified EUI-64
 * interface identifier of @mac (RFC 4291 appendix A).
 */
void vpc_ipv6_link_local_from_mac(const uint8_t mac[6], uint8_t a[16]);

/*
 * vpc_ipv6_prefix_match - the first @prefix_len bits of @a and @b agree.
 */
bool vpc_ipv6_prefix_match(const uint8_t *a, const uint8_t *b,
                           unsigned prefix_len);

#endif
