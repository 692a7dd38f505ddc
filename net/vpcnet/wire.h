/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: what every packet view and builder of the library shares: the
 * rules below, one error code per failure, IP protocol numbers and
 * big-endian access to unaligned bytes.  Each protocol has its own file
 * (eth, arp, ipv4, udp, dhcp-wire, checksum...); packet.h includes them
 * all.
 *
 * Theory of operation
 *
 * Every frame that reaches this library may have been written by a
 * hostile guest.  A parser takes (buffer, length), checks that the bytes
 * it is about to read lie inside the buffer, and fills a "view": a small
 * struct of decoded header fields in host byte order plus a pointer and
 * length for the payload that follows.  No parser casts a struct onto a
 * frame, so alignment and packing never matter, and no parser reads past
 * @len.  Views point into the caller's buffer and live as long as it.
 *
 * Each failure has its own negative VpcPktError code, so a caller can
 * keep one drop counter per reason (index an array by -error).  Layers
 * are parsed one at a time: a view of one layer is the input of the next
 * (the Ethernet payload for IPv4 and ARP, the IPv4 view for UDP, the UDP
 * payload for DHCP); vpc_udp4_frame_parse() chains the common case.
 *
 * Builders write into a caller buffer of a given capacity and return the
 * number of bytes written, or VPC_PKT_NO_SPACE without having written
 * anything useful; they never allocate.
 */
#ifndef VPCNET_WIRE_H
#define VPCNET_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IP protocol numbers: the IPv4 protocol field, the IPv6 next header. */
#define VPC_IP_PROTO_ICMP       1
#define VPC_IP_PROTO_TCP        6
#define VPC_IP_PROTO_UDP        17

/*
 * VpcPktError - why a parser or builder failed.  Zero is success, every
 * failure is negative and distinct; -error indexes an array of
 * VPC_PKT_ERROR_COUNT counters (slot 0 unused).
 */
typedef enum VpcPktError {
    VPC_PKT_OK = 0,
    VPC_PKT_ETH_TRUNCATED = -1,      /* shorter than an Ethernet header */
    VPC_PKT_VLAN_TRUNCATED = -2,     /* 802.1Q tag or inner type cut off */
    VPC_PKT_WRONG_ETHERTYPE = -3,    /* not the protocol asked for */
    VPC_PKT_ARP_TRUNCATED = -4,      /* shorter than an Ethernet/IPv4 ARP */
    VPC_PKT_ARP_NOT_ETH_IPV4 = -5,   /* htype, ptype, hlen or plen wrong */
    VPC_PKT_IP_TRUNCATED = -6,       /* header (with options) cut off */
    VPC_PKT_IP_VERSION = -7,         /* version field is not 4 */
    VPC_PKT_IP_HEADER_LENGTH = -8,   /* IHL below 5 */
    VPC_PKT_IP_TOTAL_LENGTH = -9,    /* below IHL or beyond the frame */
    VPC_PKT_IP_CHECKSUM = -10,       /* header checksum does not verify */
    VPC_PKT_IP_FRAGMENT = -11,       /* a fragment: no whole datagram */
    VPC_PKT_WRONG_PROTOCOL = -12,    /* IP protocol is not the one asked */
    VPC_PKT_UDP_TRUNCATED = -13,     /* shorter than a UDP header */
    VPC_PKT_UDP_LENGTH = -14,        /* below 8 or beyond the IP payload */
    VPC_PKT_UDP_CHECKSUM = -15,      /* non-zero checksum does not verify */
    VPC_PKT_DHCP_TRUNCATED = -16,    /* shorter than header and cookie */
    VPC_PKT_DHCP_COOKIE = -17,       /* magic cookie missing */
    VPC_PKT_DHCP_OPTION_OVERRUN = -18, /* an option runs past the end */
    VPC_PKT_DHCP_NO_END = -19,       /* options not closed by END */
    VPC_PKT_NO_SPACE = -20,          /* builder: caller buffer too small */
    VPC_PKT_TOO_BIG = -21,           /* builder: over a protocol limit */
    VPC_PKT_IP6_TRUNCATED = -22,     /* shorter than an IPv6 header */
    VPC_PKT_IP6_PAYLOAD_LENGTH = -23, /* zero (jumbo) or beyond the frame */
    VPC_PKT_IP6_EXT_HEADER = -24,    /* an extension header cut off, or
                                      * more than we walk */
    VPC_PKT_TCP_TRUNCATED = -25,     /* shorter than a TCP header */
    VPC_PKT_TCP_HEADER_LENGTH = -26, /* data offset below 5 or past the end */
    VPC_PKT_TCP_OPTION = -27,        /* an option runs past the header */
    VPC_PKT_ICMP_TRUNCATED = -28,    /* shorter than an ICMP header */
    VPC_PKT_ICMP_CHECKSUM = -29,     /* ICMP or ICMPv6 checksum wrong */
    VPC_PKT_NDP_OPTION = -30,        /* an NDP option of length 0 or cut */
    /* Keep last: the most negative code, which sizes the counters. */
    VPC_PKT_ERROR_MIN = VPC_PKT_NDP_OPTION,
} VpcPktError;

#define VPC_PKT_ERROR_COUNT (1 - VPC_PKT_ERROR_MIN)

/* vpc_pkt_error_name - a short lower-case name for @err ("ok" for 0). */
const char *vpc_pkt_error_name(int err);

/* Big-endian loads and stores on unaligned bytes. */
static inline uint16_t vpc_get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t vpc_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static inline void vpc_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static inline void vpc_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

#endif
