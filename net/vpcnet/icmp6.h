/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861): the
 * message view (shared with ICMPv4, see icmp.h), the NDP message layouts
 * and a bounded walker over NDP options.
 */
#ifndef VPCNET_ICMP6_H
#define VPCNET_ICMP6_H

#include "net/vpcnet/icmp.h"
#include "net/vpcnet/ipv6.h"

#define VPC_ICMP6_DEST_UNREACH      1
#define VPC_ICMP6_PACKET_TOO_BIG    2
#define VPC_ICMP6_TIME_EXCEEDED     3
#define VPC_ICMP6_PARAM_PROBLEM     4
#define VPC_ICMP6_ECHO_REQUEST      128
#define VPC_ICMP6_ECHO_REPLY        129
#define VPC_ICMP6_ROUTER_SOLICIT    133
#define VPC_ICMP6_ROUTER_ADVERT     134
#define VPC_ICMP6_NEIGHBOR_SOLICIT  135
#define VPC_ICMP6_NEIGHBOR_ADVERT   136
#define VPC_ICMP6_REDIRECT          137

/* Destination-unreachable codes. */
#define VPC_ICMP6_UNREACH_NOROUTE   0
#define VPC_ICMP6_UNREACH_ADMIN     1
#define VPC_ICMP6_UNREACH_ADDR      3
#define VPC_ICMP6_UNREACH_PORT      4

/* NDP options (RFC 4861 section 4.6, RFC 8106). */
#define VPC_NDP_OPT_SOURCE_LLADDR   1
#define VPC_NDP_OPT_TARGET_LLADDR   2
#define VPC_NDP_OPT_PREFIX_INFO     3
#define VPC_NDP_OPT_MTU             5
#define VPC_NDP_OPT_RDNSS           25
#define VPC_NDP_OPT_DNSSL           31

/* Neighbor advertisement flags (the first byte of the body). */
#define VPC_NDP_NA_ROUTER           0x80
#define VPC_NDP_NA_SOLICITED        0x40
#define VPC_NDP_NA_OVERRIDE         0x20

/* Where the options start in each message's body (after type/code/sum). */
#define VPC_NDP_RS_OPTIONS          4   /* reserved */
#define VPC_NDP_RA_OPTIONS          12  /* hops, flags, lifetime, timers */
#define VPC_NDP_NS_OPTIONS          20  /* reserved, target */
#define VPC_NDP_NA_OPTIONS          20  /* flags, target */
#define VPC_NDP_REDIRECT_OPTIONS    36  /* reserved, target, destination */

/*
 * vpc_icmp6_parse - parse the ICMPv6 message carried by @ip (not a
 * fragment) and verify its checksum against @ip's pseudo-header.
 */
int vpc_icmp6_parse(const VpcIpv6View *ip, VpcIcmpView *icmp);

/**
 * VpcNdpOpt - one NDP option.
 * @type: option type.
 * @opt: the option, type and length bytes included.
 * @len: its length in bytes (a multiple of 8).
 */
typedef struct VpcNdpOpt {
    uint8_t type;
    const uint8_t *opt;
    size_t len;
} VpcNdpOpt;

/**
 * VpcNdpOptIter - a walk over NDP options.
 * @buf: the option bytes.
 * @len: their number.
 * @pos: offset of the next option.
 * @status: 1 while walking, then 0 (the end) or the error met.
 */
typedef struct VpcNdpOptIter {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    int status;
} VpcNdpOptIter;

void vpc_ndp_opt_iter_init(VpcNdpOptIter *it, const uint8_t *buf,
                           size_t len);

/*
 * vpc_ndp_opt_iter_next - the next option: 1 with @opt filled, 0 at the
 * end, VPC_PKT_NDP_OPTION for an option of length 0 or one running past
 * the bytes (RFC 4861 says to drop such a message).
 */
int vpc_ndp_opt_iter_next(VpcNdpOptIter *it, VpcNdpOpt *opt);

/*
 * vpc_ndp_options - the option bytes of NDP message @icmp: its body from
 * the offset its type puts them at.  Returns false for a body too short,
 * or a type that is not NDP.
 */
bool vpc_ndp_options(const VpcIcmpView *icmp, const uint8_t **opts,
                     size_t *len);

/*
 * vpc_ndp_find_lladdr - the link-layer address in option @type
 * (source or target) of NDP message @icmp; false when there is none or
 * the options are malformed.
 */
bool vpc_ndp_find_lladdr(const VpcIcmpView *icmp, uint8_t type,
                         uint8_t mac[6]);

#endif
