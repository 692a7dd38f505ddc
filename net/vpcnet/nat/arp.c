/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: ARP for the virtual hosts.
 *
 * The gateway and DNS addresses answer ARP requests with the gateway's
 * MAC; every other address of the subnet stays silent (nothing else is
 * there).  A guest's ARP packets teach us its address and MAC, and we
 * ask a guest for its MAC ourselves when we have a frame for an address
 * we have not heard from (a port forward before the guest spoke).
 */
#include "net/vpcnet/nat/nat-impl.h"
#include "net/vpcnet/arp.h"

#include <string.h>

static void arp_put(uint8_t *p, uint16_t op, const uint8_t *sha, uint32_t spa,
                    const uint8_t *tha, uint32_t tpa)
{
    vpc_put_be16(p, 1);
    vpc_put_be16(p + 2, VPC_ETHERTYPE_IPV4);
    p[4] = VPC_ETH_ALEN;
    p[5] = 4;
    vpc_put_be16(p + 6, op);
    memcpy(p + 8, sha, VPC_ETH_ALEN);
    vpc_put_be32(p + 14, spa);
    memcpy(p + 18, tha, VPC_ETH_ALEN);
    vpc_put_be32(p + 24, tpa);
}

static void arp_send(VpcNat *nat, const uint8_t *dst_mac, uint16_t op,
                     uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
    size_t vnet = nat->tx_vnet;
    uint8_t *buf = nat->ctrl;

    memset(buf, 0, vnet + VPC_ETH_MIN_LEN);
    nat_put_vnet(nat, buf);
    vpc_eth_put_header(buf + vnet, dst_mac, nat->cfg.gateway_mac,
                       VPC_ETHERTYPE_ARP);
    arp_put(buf + vnet + VPC_ETH_HLEN, op, nat->cfg.gateway_mac, spa, tha,
            tpa);
    nat_send_frame(nat, buf, vnet + VPC_ETH_MIN_LEN);
}

void nat_arp_input(VpcNat *nat, const uint8_t *frame, const VpcEthView *eth)
{
    VpcArpView arp;
    NatAddr src;

    if (vpc_arp_parse(eth->payload, eth->payload_len, &arp) < 0) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return;
    }
    if ((arp.spa & nat->cfg.netmask) == nat->cfg.net &&
        arp.spa != nat->cfg.host && arp.spa != nat->cfg.dns &&
        vpc_mac_equal(arp.sha, eth->src)) {
        nat_addr_from_v4(&src, arp.spa);
        nat_learn_guest(nat, &src, arp.sha);
    }
    if (arp.op != VPC_ARP_OP_REQUEST ||
        (arp.tpa != nat->cfg.host && arp.tpa != nat->cfg.dns)) {
        return;
    }
    arp_send(nat, arp.sha, VPC_ARP_OP_REPLY, arp.tpa, arp.sha, arp.spa);
    nat->stats.arp_replies++;
}

void nat_arp_request(VpcNat *nat, uint32_t target)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t zero[6];

    arp_send(nat, bcast, VPC_ARP_OP_REQUEST, nat->cfg.host, zero, target);
}
