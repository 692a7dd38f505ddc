/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the Ethernet II header, with one optional 802.1Q tag.
 *
 * Limits: one 802.1Q tag (TPID 0x8100) is understood; stacked tags are
 * reported as their outer type.
 */
#ifndef VPCNET_ETH_H
#define VPCNET_ETH_H

#include "net/vpcnet/wire.h"

#define VPC_ETH_ALEN            6
#define VPC_ETH_HLEN            14
#define VPC_ETH_VLAN_HLEN       18
#define VPC_ETH_MIN_LEN         60      /* without FCS */
#define VPC_ETHERTYPE_IPV4      0x0800
#define VPC_ETHERTYPE_ARP       0x0806
#define VPC_ETHERTYPE_VLAN      0x8100
#define VPC_ETHERTYPE_IPV6      0x86dd

/**
 * VpcEthView - a parsed Ethernet II header.
 * @dst: destination address.
 * @src: source address.
 * @ethertype: the type after the 802.1Q tag, if any.
 * @has_vlan: the frame carries one 802.1Q tag.
 * @vlan_tci: the tag's PCP/DEI/VID bits, when @has_vlan.
 * @hlen: header bytes, 14 or 18.
 * @payload: the bytes after the header (may include Ethernet padding).
 * @payload_len: their number.
 */
typedef struct VpcEthView {
    uint8_t dst[VPC_ETH_ALEN];
    uint8_t src[VPC_ETH_ALEN];
    uint16_t ethertype;
    bool has_vlan;
    uint16_t vlan_tci;
    size_t hlen;
    const uint8_t *payload;
    size_t payload_len;
} VpcEthView;

/* vpc_eth_parse - parse the Ethernet header of @frame; 0 or an error. */
int vpc_eth_parse(const uint8_t *frame, size_t len, VpcEthView *eth);

/* vpc_eth_put_header - write an untagged Ethernet header at @buf. */
void vpc_eth_put_header(uint8_t *buf, const uint8_t dst[6],
                        const uint8_t src[6], uint16_t ethertype);

static inline bool vpc_mac_is_broadcast(const uint8_t *mac)
{
    return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xff;
}

static inline bool vpc_mac_is_multicast(const uint8_t *mac)
{
    return mac[0] & 1;
}

static inline bool vpc_mac_is_zero(const uint8_t *mac)
{
    return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

#endif
