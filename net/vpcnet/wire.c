/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the names of packet errors.  See wire.h.
 */
#include "net/vpcnet/wire.h"

#include <assert.h>

static const char *const pkt_error_names[] = {
    [0] = "ok",
    [-VPC_PKT_ETH_TRUNCATED] = "eth-truncated",
    [-VPC_PKT_VLAN_TRUNCATED] = "vlan-truncated",
    [-VPC_PKT_WRONG_ETHERTYPE] = "wrong-ethertype",
    [-VPC_PKT_ARP_TRUNCATED] = "arp-truncated",
    [-VPC_PKT_ARP_NOT_ETH_IPV4] = "arp-not-eth-ipv4",
    [-VPC_PKT_IP_TRUNCATED] = "ip-truncated",
    [-VPC_PKT_IP_VERSION] = "ip-version",
    [-VPC_PKT_IP_HEADER_LENGTH] = "ip-header-length",
    [-VPC_PKT_IP_TOTAL_LENGTH] = "ip-total-length",
    [-VPC_PKT_IP_CHECKSUM] = "ip-checksum",
    [-VPC_PKT_IP_FRAGMENT] = "ip-fragment",
    [-VPC_PKT_WRONG_PROTOCOL] = "wrong-protocol",
    [-VPC_PKT_UDP_TRUNCATED] = "udp-truncated",
    [-VPC_PKT_UDP_LENGTH] = "udp-length",
    [-VPC_PKT_UDP_CHECKSUM] = "udp-checksum",
    [-VPC_PKT_DHCP_TRUNCATED] = "dhcp-truncated",
    [-VPC_PKT_DHCP_COOKIE] = "dhcp-cookie",
    [-VPC_PKT_DHCP_OPTION_OVERRUN] = "dhcp-option-overrun",
    [-VPC_PKT_DHCP_NO_END] = "dhcp-no-end",
    [-VPC_PKT_NO_SPACE] = "no-space",
    [-VPC_PKT_TOO_BIG] = "too-big",
    [-VPC_PKT_IP6_TRUNCATED] = "ip6-truncated",
    [-VPC_PKT_IP6_PAYLOAD_LENGTH] = "ip6-payload-length",
    [-VPC_PKT_IP6_EXT_HEADER] = "ip6-ext-header",
    [-VPC_PKT_TCP_TRUNCATED] = "tcp-truncated",
    [-VPC_PKT_TCP_HEADER_LENGTH] = "tcp-header-length",
    [-VPC_PKT_TCP_OPTION] = "tcp-option",
    [-VPC_PKT_ICMP_TRUNCATED] = "icmp-truncated",
    [-VPC_PKT_ICMP_CHECKSUM] = "icmp-checksum",
    [-VPC_PKT_NDP_OPTION] = "ndp-option",
};

/* A code added to VpcPktError needs its name here, and the other way round. */
static_assert(sizeof(pkt_error_names) / sizeof(pkt_error_names[0])
              == VPC_PKT_ERROR_COUNT, "one name per VpcPktError");

const char *vpc_pkt_error_name(int err)
{
    if (err > 0 || err <= -VPC_PKT_ERROR_COUNT) {
        return "unknown";
    }
    return pkt_error_names[-err];
}
