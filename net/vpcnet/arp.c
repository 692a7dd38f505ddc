/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the ARP view.  See arp.h and wire.h.
 */
#include "net/vpcnet/arp.h"

#include <string.h>

int vpc_arp_parse(const uint8_t *buf, size_t len, VpcArpView *arp)
{
    memset(arp, 0, sizeof(*arp));
    if (len < VPC_ARP_LEN) {
        return VPC_PKT_ARP_TRUNCATED;
    }
    if (vpc_get_be16(buf) != 1 || vpc_get_be16(buf + 2) != VPC_ETHERTYPE_IPV4
        || buf[4] != VPC_ETH_ALEN || buf[5] != 4) {
        return VPC_PKT_ARP_NOT_ETH_IPV4;
    }
    arp->op = vpc_get_be16(buf + 6);
    memcpy(arp->sha, buf + 8, VPC_ETH_ALEN);
    arp->spa = vpc_get_be32(buf + 14);
    memcpy(arp->tha, buf + 18, VPC_ETH_ALEN);
    arp->tpa = vpc_get_be32(buf + 24);
    return VPC_PKT_OK;
}
