/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: IPv6 Neighbor Discovery for the Wi-Fi mode (see ndp.h).
 */
#include <string.h>

#include "net/vpcnet/bridge/ndp.h"
#include "net/vpcnet/checksum.h"

/* Parse as far as the ICMPv6 view and the options; 0 or NOT_NDP. */
static int parse(const uint8_t *buf, size_t len, VpcIpv6View *ip,
                 VpcIcmpView *icmp, const uint8_t **opts, size_t *opts_len)
{
    VpcNdpOptIter it;
    VpcNdpOpt opt;
    int r;

    if (vpc_ipv6_parse(buf, len, ip) != 0 ||
        ip->protocol != VPC_IPV6_NH_ICMPV6 || ip->l4 != buf + VPC_IPV6_HLEN ||
        ip->hop_limit != 255 || vpc_icmp6_parse(ip, icmp) != 0 ||
        icmp->code != 0 || !vpc_ndp_options(icmp, opts, opts_len)) {
        return VPC_BRIDGE_NDP_NOT_NDP;
    }
    vpc_ndp_opt_iter_init(&it, *opts, *opts_len);
    while ((r = vpc_ndp_opt_iter_next(&it, &opt)) == 1) {
        /* every option is checked, as RFC 4861 asks */
    }
    return r == 0 ? 0 : VPC_BRIDGE_NDP_NOT_NDP;
}

int vpc_bridge_ndp_parse(const uint8_t *buf, size_t len, VpcBridgeNdp *ndp)
{
    VpcIpv6View ip;
    VpcIcmpView icmp;
    const uint8_t *opts;
    size_t opts_len;

    memset(ndp, 0, sizeof(*ndp));
    if (parse(buf, len, &ip, &icmp, &opts, &opts_len) != 0) {
        return VPC_BRIDGE_NDP_NOT_NDP;
    }
    ndp->type = icmp.type;
    memcpy(ndp->src, ip.src, VPC_IPV6_ALEN);
    ndp->has_src = !vpc_ipv6_is_unspecified(ip.src);
    if (icmp.type == VPC_ICMP6_NEIGHBOR_SOLICIT ||
        icmp.type == VPC_ICMP6_NEIGHBOR_ADVERT ||
        icmp.type == VPC_ICMP6_REDIRECT) {
        /* after the 4-byte flags/reserved word; the body holds it */
        memcpy(ndp->target, icmp.body + 4, VPC_IPV6_ALEN);
        ndp->has_target = true;
    }
    return 0;
}

int vpc_bridge_ndp_rewrite_lladdr(uint8_t *buf, size_t len,
                                  const uint8_t from[6], const uint8_t to[6])
{
    VpcIpv6View ip;
    VpcIcmpView icmp;
    const uint8_t *opts;
    size_t opts_len;
    VpcNdpOptIter it;
    VpcNdpOpt opt;
    uint8_t *csum;
    uint16_t sum;
    int changed = 0;
    unsigned w;

    if (parse(buf, len, &ip, &icmp, &opts, &opts_len) != 0) {
        return 0;
    }
    csum = buf + VPC_IPV6_HLEN + 2;
    sum = vpc_get_be16(csum);
    vpc_ndp_opt_iter_init(&it, opts, opts_len);
    while (vpc_ndp_opt_iter_next(&it, &opt) == 1) {
        /* the views point into @buf, which is ours to write */
        uint8_t *o = buf + (opt.opt - buf);

        if ((opt.type != VPC_NDP_OPT_SOURCE_LLADDR &&
             opt.type != VPC_NDP_OPT_TARGET_LLADDR) ||
            opt.len != 8 || memcmp(o + 2, from, 6) != 0) {
            continue;
        }
        /* options start 8-aligned in the message: the words align */
        for (w = 0; w < 6; w += 2) {
            sum = vpc_csum_adjust16(sum, vpc_get_be16(o + 2 + w),
                                    (uint16_t)(to[w] << 8 | to[w + 1]));
        }
        memcpy(o + 2, to, 6);
        changed++;
    }
    vpc_put_be16(csum, sum);
    return changed;
}
