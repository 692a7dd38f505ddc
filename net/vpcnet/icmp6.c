/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the ICMPv6 view and NDP options.  See icmp6.h and wire.h.
 */
#include "net/vpcnet/icmp6.h"
#include "net/vpcnet/checksum.h"

#include <string.h>

int vpc_icmp6_parse(const VpcIpv6View *ip, VpcIcmpView *icmp)
{
    const uint8_t *buf = ip->l4;
    size_t len = ip->l4_len;

    memset(icmp, 0, sizeof(*icmp));
    if (ip->protocol != VPC_IPV6_NH_ICMPV6) {
        return VPC_PKT_WRONG_PROTOCOL;
    }
    if (ip->is_fragment) {
        return VPC_PKT_IP_FRAGMENT;
    }
    if (len < 4) {
        return VPC_PKT_ICMP_TRUNCATED;
    }
    if (vpc_l4_checksum_ipv6(ip->src, ip->dst, VPC_IPV6_NH_ICMPV6, buf,
                             len) != 0) {
        return VPC_PKT_ICMP_CHECKSUM;
    }
    icmp->type = buf[0];
    icmp->code = buf[1];
    icmp->msg = buf;
    icmp->len = len;
    icmp->body = buf + 4;
    icmp->body_len = len - 4;
    if (icmp->type == VPC_ICMP6_ECHO_REQUEST ||
        icmp->type == VPC_ICMP6_ECHO_REPLY) {
        if (len < VPC_ICMP_HLEN) {
            return VPC_PKT_ICMP_TRUNCATED;
        }
        icmp->id = vpc_get_be16(buf + 4);
        icmp->seq = vpc_get_be16(buf + 6);
    }
    return VPC_PKT_OK;
}

void vpc_ndp_opt_iter_init(VpcNdpOptIter *it, const uint8_t *buf,
                           size_t len)
{
    it->buf = buf;
    it->len = len;
    it->pos = 0;
    it->status = 1;
}

int vpc_ndp_opt_iter_next(VpcNdpOptIter *it, VpcNdpOpt *opt)
{
    size_t olen;

    if (it->status != 1) {
        return it->status;
    }
    if (it->pos == it->len) {
        it->status = 0;
        return 0;
    }
    if (it->len - it->pos < 2) {
        it->status = VPC_PKT_NDP_OPTION;
        return it->status;
    }
    olen = (size_t)it->buf[it->pos + 1] * 8;
    if (olen == 0 || olen > it->len - it->pos) {
        it->status = VPC_PKT_NDP_OPTION;
        return it->status;
    }
    opt->type = it->buf[it->pos];
    opt->opt = it->buf + it->pos;
    opt->len = olen;
    it->pos += olen;
    return 1;
}

bool vpc_ndp_options(const VpcIcmpView *icmp, const uint8_t **opts,
                     size_t *len)
{
    size_t off;

    switch (icmp->type) {
    case VPC_ICMP6_ROUTER_SOLICIT:
        off = VPC_NDP_RS_OPTIONS;
        break;
    case VPC_ICMP6_ROUTER_ADVERT:
        off = VPC_NDP_RA_OPTIONS;
        break;
    case VPC_ICMP6_NEIGHBOR_SOLICIT:
        off = VPC_NDP_NS_OPTIONS;
        break;
    case VPC_ICMP6_NEIGHBOR_ADVERT:
        off = VPC_NDP_NA_OPTIONS;
        break;
    case VPC_ICMP6_REDIRECT:
        off = VPC_NDP_REDIRECT_OPTIONS;
        break;
    default:
        return false;
    }
    if (icmp->body_len < off) {
        return false;
    }
    *opts = icmp->body + off;
    *len = icmp->body_len - off;
    return true;
}

bool vpc_ndp_find_lladdr(const VpcIcmpView *icmp, uint8_t type,
                         uint8_t mac[6])
{
    VpcNdpOptIter it;
    VpcNdpOpt opt;
    const uint8_t *opts;
    size_t len;

    if (!vpc_ndp_options(icmp, &opts, &len)) {
        return false;
    }
    vpc_ndp_opt_iter_init(&it, opts, len);
    while (vpc_ndp_opt_iter_next(&it, &opt) == 1) {
        if (opt.type == type && opt.len == 8) {
            memcpy(mac, opt.opt + 2, 6);
            return true;
        }
    }
    return false;
}
