/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the Ethernet view.  See eth.h and wire.h.
 */
#include "net/vpcnet/eth.h"

#include <string.h>

int vpc_eth_parse(const uint8_t *frame, size_t len, VpcEthView *eth)
{
    memset(eth, 0, sizeof(*eth));
    if (len < VPC_ETH_HLEN) {
        return VPC_PKT_ETH_TRUNCATED;
    }
    memcpy(eth->dst, frame, VPC_ETH_ALEN);
    memcpy(eth->src, frame + VPC_ETH_ALEN, VPC_ETH_ALEN);
    eth->ethertype = vpc_get_be16(frame + 12);
    eth->hlen = VPC_ETH_HLEN;
    if (eth->ethertype == VPC_ETHERTYPE_VLAN) {
        if (len < VPC_ETH_VLAN_HLEN) {
            return VPC_PKT_VLAN_TRUNCATED;
        }
        eth->has_vlan = true;
        eth->vlan_tci = vpc_get_be16(frame + 14);
        eth->ethertype = vpc_get_be16(frame + 16);
        eth->hlen = VPC_ETH_VLAN_HLEN;
    }
    eth->payload = frame + eth->hlen;
    eth->payload_len = len - eth->hlen;
    return VPC_PKT_OK;
}

void vpc_eth_put_header(uint8_t *buf, const uint8_t dst[6],
                        const uint8_t src[6], uint16_t ethertype)
{
    memcpy(buf, dst, VPC_ETH_ALEN);
    memcpy(buf + VPC_ETH_ALEN, src, VPC_ETH_ALEN);
    vpc_put_be16(buf + 12, ethertype);
}
