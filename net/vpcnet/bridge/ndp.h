/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: IPv6 Neighbor Discovery (RFC 4861) as the Wi-Fi mode of
 * the filter bridge needs it, on top of the library's IPv6 and ICMPv6
 * views (ipv6.h, icmp6.h).
 *
 * vpc_bridge_ndp_parse() accepts only what can be NDP from the link:
 * IPv6 with ICMPv6 right after the header (NDP carries no extension
 * headers), hop limit 255, a checksum that verifies, code 0, a type
 * 133 to 137 long enough for its fixed part, and options that are all
 * well formed.  It reports the addresses the message claims for its
 * sender: the IPv6 source (unless ::, as in duplicate address
 * detection) and, for an advertisement, the target.
 *
 * vpc_bridge_ndp_rewrite_lladdr() is the userspace twin of what the
 * kernel's WIRE_EXIT program does (steering.h): every source/target
 * link-layer option naming one MAC is made to name another, and the
 * ICMPv6 checksum is adjusted to match.  The unit tests hold the two
 * to the same answers.
 */
#ifndef VPCNET_BRIDGE_NDP_H
#define VPCNET_BRIDGE_NDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/vpcnet/icmp6.h"

#define VPC_BRIDGE_NDP_NOT_NDP  (-1)    /* anything but well-formed NDP */

/**
 * VpcBridgeNdp - what an NDP message says about its sender.
 * @type: the ICMPv6 type, 133..137.
 * @src: the IPv6 source.
 * @has_src: @src is an address (not ::).
 * @target: NS, NA and Redirect: the target address.
 * @has_target: the message has one.
 */
typedef struct VpcBridgeNdp {
    uint8_t type;
    uint8_t src[VPC_IPV6_ALEN];
    bool has_src;
    uint8_t target[VPC_IPV6_ALEN];
    bool has_target;
} VpcBridgeNdp;

/*
 * vpc_bridge_ndp_parse - parse @len bytes of IPv6 (an Ethernet payload).
 * Returns 0, or VPC_BRIDGE_NDP_NOT_NDP.
 */
int vpc_bridge_ndp_parse(const uint8_t *buf, size_t len, VpcBridgeNdp *ndp);

/*
 * vpc_bridge_ndp_rewrite_lladdr - in the IPv6 packet @buf (@len bytes,
 * an Ethernet payload), make each source or target link-layer option
 * that names @from name @to, adjusting the ICMPv6 checksum.  Returns how
 * many options changed (0 for anything that is not NDP).
 */
int vpc_bridge_ndp_rewrite_lladdr(uint8_t *buf, size_t len,
                                  const uint8_t from[6], const uint8_t to[6]);

#endif
