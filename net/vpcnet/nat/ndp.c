/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: IPv6 Neighbor Discovery for the virtual router.
 *
 * The gateway is the guest's IPv6 router.  It answers router
 * solicitations, and repeats its advertisement every RA_INTERVAL_S once
 * a guest has solicited one, so the default route never lapses: the
 * prefix (autonomous, on-link), the MTU, and the DNS server as an RDNSS
 * option (RFC 8106); the "other configuration" flag points guests that
 * do not read RDNSS at stateless DHCPv6 (dhcpv6.c).  Advertisements come
 * from the gateway's link-local address (fe80:: + EUI-64 of its MAC).
 * Neighbour solicitations for the gateway's and DNS server's addresses
 * are answered with the gateway's MAC; solicitations and advertisements
 * of guests teach us their addresses.  Every message is checked as RFC
 * 4861 says: hop limit 255, code 0, options well formed.
 */
#include "net/vpcnet/nat/nat-impl.h"
#include "net/vpcnet/icmp6.h"

#include <string.h>

#define RA_INTERVAL_S       600
#define RA_ROUTER_LIFETIME  1800
#define RA_VALID_LIFETIME   86400
#define RA_PREF_LIFETIME    14400

static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };

static void send_ra(VpcNat *nat, const NatAddr *dst, const uint8_t *dst_mac)
{
    const VpcNatConfig *c = &nat->cfg;
    uint8_t *buf = nat->ctrl;
    size_t off = nat_l4_offset(nat, &nat->gw6_ll);
    uint8_t *m = buf + off;
    size_t len = 16;

    memset(m, 0, 16 + 8 + 8 + 32 + 24);
    m[0] = VPC_ICMP6_ROUTER_ADVERT;
    m[4] = 64;                          /* current hop limit */
    m[5] = 0x40;                        /* O: DNS by DHCPv6 too */
    vpc_put_be16(m + 6, RA_ROUTER_LIFETIME);
    /* Source link-layer address. */
    m[len] = VPC_NDP_OPT_SOURCE_LLADDR;
    m[len + 1] = 1;
    memcpy(m + len + 2, c->gateway_mac, 6);
    len += 8;
    /* MTU. */
    m[len] = VPC_NDP_OPT_MTU;
    m[len + 1] = 1;
    vpc_put_be32(m + len + 4, c->mtu);
    len += 8;
    /* Prefix information: on-link, autonomous. */
    m[len] = VPC_NDP_OPT_PREFIX_INFO;
    m[len + 1] = 4;
    m[len + 2] = (uint8_t)c->ip6_prefix_len;
    m[len + 3] = 0xc0;
    vpc_put_be32(m + len + 4, RA_VALID_LIFETIME);
    vpc_put_be32(m + len + 8, RA_PREF_LIFETIME);
    memcpy(m + len + 16, c->ip6_prefix, 16);
    len += 32;
    /* RDNSS. */
    m[len] = VPC_NDP_OPT_RDNSS;
    m[len + 1] = 3;
    vpc_put_be32(m + len + 4, RA_ROUTER_LIFETIME);
    memcpy(m + len + 8, c->ip6_dns, 16);
    len += 24;
    if (nat_send_ndp(nat, buf, &nat->gw6_ll, dst, dst_mac, len)) {
        nat->stats.ndp_replies++;
    }
}

static void send_na(VpcNat *nat, const uint8_t *target, const NatAddr *dst,
                    const uint8_t *dst_mac, bool solicited)
{
    uint8_t *buf = nat->ctrl;
    size_t off = nat_l4_offset(nat, &nat->gw6_ll);
    uint8_t *m = buf + off;
    NatAddr src;

    memcpy(src.a, target, 16);
    memset(m, 0, 32);
    m[0] = VPC_ICMP6_NEIGHBOR_ADVERT;
    m[4] = VPC_NDP_NA_ROUTER | VPC_NDP_NA_OVERRIDE |
           (solicited ? VPC_NDP_NA_SOLICITED : 0);
    memcpy(m + 8, target, 16);
    m[24] = VPC_NDP_OPT_TARGET_LLADDR;
    m[25] = 1;
    memcpy(m + 26, nat->cfg.gateway_mac, 6);
    if (nat_send_ndp(nat, buf, &src, dst, dst_mac, 32)) {
        nat->stats.ndp_replies++;
    }
}

/*
 * Where an answer to a solicitation from @src goes: back to it, or to
 * all nodes when it came from the unspecified address.
 */
static void answer_to(const NatAddr *src, bool from_unspec,
                      const uint8_t *src_mac, NatAddr *dst, uint8_t mac[6])
{
    if (from_unspec) {
        memcpy(dst->a, all_nodes, 16);
        vpc_ipv6_multicast_mac(all_nodes, mac);
    } else {
        *dst = *src;
        memcpy(mac, src_mac, 6);
    }
}

static bool is_our_addr(const VpcNat *nat, const uint8_t *a)
{
    return memcmp(a, nat->gw6.a, 16) == 0 || memcmp(a, nat->dns6.a, 16) == 0 ||
           memcmp(a, nat->gw6_ll.a, 16) == 0;
}

void nat_ndp_input(VpcNat *nat, const VpcEthView *eth,
                   const VpcIpv6View *ip, const uint8_t *icmp,
                   size_t icmp_len)
{
    VpcIcmpView v;
    uint8_t mac[6];
    NatAddr src, dst;
    bool from_unspec = vpc_ipv6_is_unspecified(ip->src);

    if (vpc_icmp6_parse(ip, &v) < 0 || ip->hop_limit != 255 || v.code != 0) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return;
    }
    memcpy(src.a, ip->src, 16);
    if (!from_unspec &&
        vpc_ndp_find_lladdr(&v, VPC_NDP_OPT_SOURCE_LLADDR, mac)) {
        nat_learn_guest(nat, &src, mac);
    } else if (!from_unspec) {
        nat_learn_guest(nat, &src, eth->src);
    }
    switch (v.type) {
    case VPC_ICMP6_ROUTER_SOLICIT:
        answer_to(&src, from_unspec, eth->src, &dst, mac);
        send_ra(nat, &dst, mac);
        /* From now on, advertise before the route would lapse. */
        nat->ra_ns = nat->now_ns + RA_INTERVAL_S * 1000000000ll;
        nat_arm_at(nat, nat->ra_ns);
        break;
    case VPC_ICMP6_NEIGHBOR_SOLICIT:
        if (v.body_len < VPC_NDP_NS_OPTIONS ||
            vpc_ipv6_is_multicast(v.body + 4)) {
            nat_drop(nat, VPC_NAT_DROP_MALFORMED);
            return;
        }
        if (!is_our_addr(nat, v.body + 4)) {
            return;     /* duplicate address detection, another guest */
        }
        answer_to(&src, from_unspec, eth->src, &dst, mac);
        send_na(nat, v.body + 4, &dst, mac, !from_unspec);
        break;
    case VPC_ICMP6_NEIGHBOR_ADVERT:
        if (v.body_len >= VPC_NDP_NA_OPTIONS &&
            vpc_ndp_find_lladdr(&v, VPC_NDP_OPT_TARGET_LLADDR, mac) &&
            !is_our_addr(nat, v.body + 4)) {
            memcpy(src.a, v.body + 4, 16);
            nat_learn_guest(nat, &src, mac);
        }
        break;
    default:
        break;          /* redirects and advertisements of others */
    }
}

void nat_ndp_timer(VpcNat *nat)
{
    NatAddr dst;
    uint8_t mac[6];

    memcpy(dst.a, all_nodes, 16);
    vpc_ipv6_multicast_mac(all_nodes, mac);
    send_ra(nat, &dst, mac);
    nat->ra_ns = nat->now_ns + RA_INTERVAL_S * 1000000000ll;
}

void nat_ndp_solicit(VpcNat *nat, const NatAddr *target)
{
    uint8_t *buf = nat->ctrl;
    size_t off = nat_l4_offset(nat, &nat->gw6_ll);
    uint8_t *m = buf + off;
    NatAddr group;
    uint8_t mac[6];

    vpc_ipv6_solicited_node(target->a, group.a);
    vpc_ipv6_multicast_mac(group.a, mac);
    memset(m, 0, 32);
    m[0] = VPC_ICMP6_NEIGHBOR_SOLICIT;
    memcpy(m + 8, target->a, 16);
    m[24] = VPC_NDP_OPT_SOURCE_LLADDR;
    m[25] = 1;
    memcpy(m + 26, nat->cfg.gateway_mac, 6);
    nat_send_ndp(nat, buf, &nat->gw6_ll, &group, mac, 32);
}
