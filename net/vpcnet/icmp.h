/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: ICMP for IPv4 (RFC 792): the view of a message and the types
 * a translator answers or relays.  ICMPv6 (icmp6.h) shares the view.
 */
#ifndef VPCNET_ICMP_H
#define VPCNET_ICMP_H

#include "net/vpcnet/wire.h"

#define VPC_ICMP_HLEN               8   /* type, code, checksum, rest */

#define VPC_ICMP_ECHO_REPLY         0
#define VPC_ICMP_DEST_UNREACH       3
#define VPC_ICMP_ECHO_REQUEST       8
#define VPC_ICMP_TIME_EXCEEDED      11

/* Destination-unreachable codes. */
#define VPC_ICMP_UNREACH_NET        0
#define VPC_ICMP_UNREACH_HOST       1
#define VPC_ICMP_UNREACH_PROTOCOL   2
#define VPC_ICMP_UNREACH_PORT       3
#define VPC_ICMP_UNREACH_NEEDFRAG   4
#define VPC_ICMP_UNREACH_ADMIN      13

/*
 * How much of the offending datagram an error quotes: its IP header and
 * the first 8 bytes after it (RFC 792), which is what hosts match on.
 */
#define VPC_ICMP_QUOTE_MIN          8

/**
 * VpcIcmpView - a parsed ICMP or ICMPv6 message.
 * @type: message type.
 * @code: message code.
 * @id: echo identifier (echo request and reply only).
 * @seq: echo sequence number (echo request and reply only).
 * @msg: the whole message, header included.
 * @len: its length.
 * @body: what follows the 4-byte type/code/checksum header (for echo,
 *        the identifier, sequence and data; for errors, the unused or
 *        MTU word and the quoted datagram; for NDP, the message fields
 *        and options).
 * @body_len: its length.
 */
typedef struct VpcIcmpView {
    uint8_t type;
    uint8_t code;
    uint16_t id;
    uint16_t seq;
    const uint8_t *msg;
    size_t len;
    const uint8_t *body;
    size_t body_len;
} VpcIcmpView;

/*
 * vpc_icmp_parse - parse an ICMPv4 message (an IPv4 payload, not a
 * fragment) and verify its checksum.
 */
int vpc_icmp_parse(const uint8_t *buf, size_t len, VpcIcmpView *icmp);

/* vpc_icmp_is_echo - an echo request or reply of ICMPv4. */
static inline bool vpc_icmp_is_echo(uint8_t type)
{
    return type == VPC_ICMP_ECHO_REQUEST || type == VPC_ICMP_ECHO_REPLY;
}

#endif
