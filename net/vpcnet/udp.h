/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: UDP (RFC 768) over IPv4 and IPv6: the views and the IPv4
 * frame builder.
 */
#ifndef VPCNET_UDP_H
#define VPCNET_UDP_H

#include "net/vpcnet/eth.h"
#include "net/vpcnet/ipv4.h"
#include "net/vpcnet/ipv6.h"

#define VPC_UDP_HLEN            8
/* Ethernet + IPv4 (no options) + UDP, in front of a UDP payload. */
#define VPC_UDP4_FRAME_HLEN     (VPC_ETH_HLEN + VPC_IPV4_HLEN + VPC_UDP_HLEN)

/**
 * VpcUdpView - a parsed UDP header.
 * @src_port: source port.
 * @dst_port: destination port.
 * @length: the UDP length field (header included).
 * @checksum: the checksum field, 0 when the sender sent none.
 * @payload: the datagram's data.
 * @payload_len: @length minus the header.
 */
typedef struct VpcUdpView {
    uint16_t src_port;
    uint16_t dst_port;
    uint16_t length;
    uint16_t checksum;
    const uint8_t *payload;
    size_t payload_len;
} VpcUdpView;

/*
 * vpc_udp_parse - parse the UDP datagram carried by @ip, verifying its
 * checksum when it has one.  Fragments are refused.
 */
int vpc_udp_parse(const VpcIpv4View *ip, VpcUdpView *udp);

/*
 * vpc_udp_parse_header - the UDP header and length of the datagram at
 * @l4 (@len upper-layer bytes), without looking at the checksum: for
 * callers that verify it themselves or were told it is offloaded.
 */
int vpc_udp_parse_header(const uint8_t *l4, size_t len, VpcUdpView *udp);

/*
 * vpc_udp6_parse - parse the UDP datagram carried by @ip, verifying its
 * checksum, which IPv6 makes mandatory (RFC 8200 section 8.1: a zero
 * checksum is refused).  Fragments are refused.
 */
int vpc_udp6_parse(const VpcIpv6View *ip, VpcUdpView *udp);

/*
 * vpc_udp4_frame_parse - the three steps above for an untagged or tagged
 * Ethernet frame carrying IPv4/UDP; stops at the first error.
 */
int vpc_udp4_frame_parse(const uint8_t *frame, size_t len, VpcEthView *eth,
                         VpcIpv4View *ip, VpcUdpView *udp);

/**
 * VpcUdp4Frame - the addressing of an Ethernet/IPv4/UDP frame to build.
 * @eth_dst: destination MAC.
 * @eth_src: source MAC.
 * @ip_src: source address, host order.
 * @ip_dst: destination address, host order.
 * @src_port: UDP source port.
 * @dst_port: UDP destination port.
 * @ttl: IPv4 time to live.
 * @ip_id: IPv4 identification.
 */
typedef struct VpcUdp4Frame {
    uint8_t eth_dst[VPC_ETH_ALEN];
    uint8_t eth_src[VPC_ETH_ALEN];
    uint32_t ip_src;
    uint32_t ip_dst;
    uint16_t src_port;
    uint16_t dst_port;
    uint8_t ttl;
    uint16_t ip_id;
} VpcUdp4Frame;

/*
 * vpc_udp4_frame_build - write an untagged Ethernet/IPv4/UDP frame with
 * both checksums around @payload.  @payload may already sit at
 * @buf + VPC_UDP4_FRAME_HLEN (build in place) or anywhere else.  Frames
 * are zero-padded to the Ethernet minimum of 60 bytes.  Returns the frame
 * length, VPC_PKT_TOO_BIG or VPC_PKT_NO_SPACE.
 */
int vpc_udp4_frame_build(uint8_t *buf, size_t cap, const VpcUdp4Frame *f,
                         const uint8_t *payload, size_t payload_len);

#endif
