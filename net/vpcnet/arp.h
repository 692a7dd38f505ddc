/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: ARP for IPv4 over Ethernet (RFC 826).
 */
#ifndef VPCNET_ARP_H
#define VPCNET_ARP_H

#include "net/vpcnet/eth.h"

#define VPC_ARP_LEN             28      /* Ethernet/IPv4 ARP */
#define VPC_ARP_OP_REQUEST      1
#define VPC_ARP_OP_REPLY        2

/**
 * VpcArpView - an Ethernet/IPv4 ARP packet.
 * @op: 1 request, 2 reply (others are passed through as read).
 * @sha: sender hardware address.
 * @spa: sender protocol address, host order.
 * @tha: target hardware address.
 * @tpa: target protocol address, host order.
 */
typedef struct VpcArpView {
    uint16_t op;
    uint8_t sha[VPC_ETH_ALEN];
    uint32_t spa;
    uint8_t tha[VPC_ETH_ALEN];
    uint32_t tpa;
} VpcArpView;

/* vpc_arp_parse - parse ARP at @buf (an Ethernet payload). */
int vpc_arp_parse(const uint8_t *buf, size_t len, VpcArpView *arp);

#endif
