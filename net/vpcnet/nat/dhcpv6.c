/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: stateless DHCPv6 (RFC 8415 section 6.1) for DNS.
 *
 * Guests get their IPv6 addresses by SLAAC from the router
 * advertisement; some learn the DNS server only by DHCPv6, which the
 * advertisement's "other configuration" flag invites.  We answer an
 * Information-request (to ff02::1:2 or the gateway, port 547) with a
 * Reply that carries our server identifier (a DUID-LL of the gateway's
 * MAC), the client's identifier back, the DNS server (option 23) and the
 * search list (option 24).  Other messages (Solicit: we hand out no
 * addresses) are ignored.  The options are walked with every length
 * checked against the datagram.
 */
#include "net/vpcnet/nat/nat-impl.h"

#include <string.h>

#define DHCP6_CLIENT_PORT       546
#define DHCP6_SERVER_PORT       547
#define DHCP6_INFO_REQUEST      11
#define DHCP6_REPLY             7
#define DHCP6_OPT_CLIENTID      1
#define DHCP6_OPT_SERVERID      2
#define DHCP6_OPT_DNS_SERVERS   23
#define DHCP6_OPT_DOMAIN_LIST   24
#define DHCP6_DUID_MAX          130

static const uint8_t all_dhcp[16] = { 0xff, 0x02, [13] = 1, [15] = 2 };

/* Find option @code in @opts; its data and length, or false. */
static bool opt_find(const uint8_t *opts, size_t len, uint16_t code,
                     const uint8_t **data, uint16_t *dlen)
{
    size_t pos = 0;

    while (len - pos >= 4) {
        uint16_t c = vpc_get_be16(opts + pos);
        uint16_t l = vpc_get_be16(opts + pos + 2);

        if (l > len - pos - 4) {
            return false;
        }
        if (c == code) {
            *data = opts + pos + 4;
            *dlen = l;
            return true;
        }
        pos += 4 + (size_t)l;
    }
    return false;
}

static size_t put_opt(uint8_t *p, uint16_t code, const void *data,
                      uint16_t len)
{
    vpc_put_be16(p, code);
    vpc_put_be16(p + 2, len);
    memcpy(p + 4, data, len);
    return 4 + (size_t)len;
}

bool nat_dhcpv6_input(VpcNat *nat, const VpcEthView *eth,
                      const VpcIpv6View *ip, const VpcUdpView *udp)
{
    const uint8_t *cid = NULL;
    uint16_t cid_len = 0;
    uint8_t duid[10], search[VPC_DHCP_SEARCH_MAX];
    const char *names[VPC_NAT_MAX_DNSSEARCH];
    uint8_t *buf = nat->ctrl, *m;
    size_t off, len;
    NatAddr src, dst;
    int slen;

    if (udp->dst_port != DHCP6_SERVER_PORT ||
        (memcmp(ip->dst, all_dhcp, 16) != 0 &&
         memcmp(ip->dst, nat->gw6_ll.a, 16) != 0 &&
         memcmp(ip->dst, nat->gw6.a, 16) != 0)) {
        return false;
    }
    if (!vpc_ipv6_is_link_local(ip->src) || udp->src_port != DHCP6_CLIENT_PORT
        || udp->payload_len < 4) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return true;
    }
    if (vpc_l4_checksum_ipv6(ip->src, ip->dst, VPC_IP_PROTO_UDP, ip->l4,
                             udp->length) != 0) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return true;
    }
    if (udp->payload[0] != DHCP6_INFO_REQUEST) {
        return true;
    }
    memcpy(src.a, ip->src, 16);
    nat_learn_guest(nat, &src, eth->src);
    if (opt_find(udp->payload + 4, udp->payload_len - 4, DHCP6_OPT_CLIENTID,
                 &cid, &cid_len) && cid_len > DHCP6_DUID_MAX) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return true;
    }

    dst = src;
    off = nat_l4_offset(nat, &nat->gw6_ll);
    m = buf + off + VPC_UDP_HLEN;
    m[0] = DHCP6_REPLY;
    memcpy(m + 1, udp->payload + 1, 3);         /* transaction id */
    len = 4;
    /* DUID-LL (type 3), hardware type 1 (Ethernet), the gateway's MAC. */
    vpc_put_be16(duid, 3);
    vpc_put_be16(duid + 2, 1);
    memcpy(duid + 4, nat->cfg.gateway_mac, 6);
    len += put_opt(m + len, DHCP6_OPT_SERVERID, duid, sizeof(duid));
    if (cid) {
        len += put_opt(m + len, DHCP6_OPT_CLIENTID, cid, cid_len);
    }
    len += put_opt(m + len, DHCP6_OPT_DNS_SERVERS, nat->cfg.ip6_dns, 16);
    for (unsigned i = 0; i < nat->cfg.n_dnssearch; i++) {
        names[i] = nat->cfg.dnssearch[i];
    }
    slen = vpc_dhcp_encode_search(names, nat->cfg.n_dnssearch, search,
                                  sizeof(search));
    if (slen > 0) {
        len += put_opt(m + len, DHCP6_OPT_DOMAIN_LIST, search,
                       (uint16_t)slen);
    }
    if (nat_udp_to_guest(nat, buf, &nat->gw6_ll, DHCP6_SERVER_PORT, &dst,
                         DHCP6_CLIENT_PORT, eth->src, len)) {
        nat->stats.dhcpv6_replies++;
    }
    return true;
}
