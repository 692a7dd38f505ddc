/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the UDP view and builder.  See udp.h and wire.h.
 */
#include "net/vpcnet/udp.h"
#include "net/vpcnet/checksum.h"

#include <string.h>

int vpc_udp_parse_header(const uint8_t *l4, size_t len, VpcUdpView *udp)
{
    memset(udp, 0, sizeof(*udp));
    if (len < VPC_UDP_HLEN) {
        return VPC_PKT_UDP_TRUNCATED;
    }
    udp->length = vpc_get_be16(l4 + 4);
    if (udp->length < VPC_UDP_HLEN || udp->length > len) {
        return VPC_PKT_UDP_LENGTH;
    }
    udp->checksum = vpc_get_be16(l4 + 6);
    udp->src_port = vpc_get_be16(l4);
    udp->dst_port = vpc_get_be16(l4 + 2);
    udp->payload = l4 + VPC_UDP_HLEN;
    udp->payload_len = udp->length - VPC_UDP_HLEN;
    return VPC_PKT_OK;
}

/* The checks both families share before the header. */
static int udp_check_ip(uint8_t protocol, bool is_fragment, VpcUdpView *udp)
{
    memset(udp, 0, sizeof(*udp));
    if (protocol != VPC_IP_PROTO_UDP) {
        return VPC_PKT_WRONG_PROTOCOL;
    }
    return is_fragment ? VPC_PKT_IP_FRAGMENT : VPC_PKT_OK;
}

int vpc_udp_parse(const VpcIpv4View *ip, VpcUdpView *udp)
{
    int ret = udp_check_ip(ip->protocol, ip->is_fragment, udp);

    if (ret == 0) {
        ret = vpc_udp_parse_header(ip->payload, ip->payload_len, udp);
    }
    if (ret == 0 && udp->checksum != 0 &&
        vpc_l4_checksum_ipv4(ip->src, ip->dst, VPC_IP_PROTO_UDP, ip->payload,
                             udp->length) != 0) {
        memset(udp, 0, sizeof(*udp));
        ret = VPC_PKT_UDP_CHECKSUM;
    }
    return ret;
}

int vpc_udp6_parse(const VpcIpv6View *ip, VpcUdpView *udp)
{
    int ret = udp_check_ip(ip->protocol, ip->is_fragment, udp);

    if (ret == 0) {
        ret = vpc_udp_parse_header(ip->l4, ip->l4_len, udp);
    }
    if (ret == 0 &&
        (udp->checksum == 0 ||
         vpc_l4_checksum_ipv6(ip->src, ip->dst, VPC_IP_PROTO_UDP, ip->l4,
                              udp->length) != 0)) {
        memset(udp, 0, sizeof(*udp));
        ret = VPC_PKT_UDP_CHECKSUM;
    }
    return ret;
}

int vpc_udp4_frame_parse(const uint8_t *frame, size_t len, VpcEthView *eth,
                         VpcIpv4View *ip, VpcUdpView *udp)
{
    int ret;

    memset(ip, 0, sizeof(*ip));
    memset(udp, 0, sizeof(*udp));
    ret = vpc_eth_parse(frame, len, eth);
    if (ret < 0) {
        return ret;
    }
    if (eth->ethertype != VPC_ETHERTYPE_IPV4) {
        return VPC_PKT_WRONG_ETHERTYPE;
    }
    ret = vpc_ipv4_parse(eth->payload, eth->payload_len, ip);
    if (ret < 0) {
        return ret;
    }
    return vpc_udp_parse(ip, udp);
}
int vpc_udp4_frame_build(uint8_t *buf, size_t cap, const VpcUdp4Frame *f,
                         const uint8_t *payload, size_t payload_len)
{
    uint8_t *ip = buf + VPC_ETH_HLEN;
    uint8_t *udp = ip + VPC_IPV4_HLEN;
    size_t frame_len, padded_len;
    uint16_t csum;

    if (payload_len > VPC_IPV4_MAX_LEN - VPC_IPV4_HLEN - VPC_UDP_HLEN) {
        return VPC_PKT_TOO_BIG;
    }
    frame_len = VPC_UDP4_FRAME_HLEN + payload_len;
    padded_len = frame_len < VPC_ETH_MIN_LEN ? VPC_ETH_MIN_LEN : frame_len;
    if (cap < padded_len) {
        return VPC_PKT_NO_SPACE;
    }
    /* memmove: the payload may overlap its destination. */
    if (payload_len && payload != udp + VPC_UDP_HLEN) {
        memmove(udp + VPC_UDP_HLEN, payload, payload_len);
    }

    memcpy(buf, f->eth_dst, VPC_ETH_ALEN);
    memcpy(buf + VPC_ETH_ALEN, f->eth_src, VPC_ETH_ALEN);
    vpc_put_be16(buf + 12, VPC_ETHERTYPE_IPV4);

    ip[0] = 0x45;
    ip[1] = 0;
    vpc_put_be16(ip + 2, (uint16_t)(VPC_IPV4_HLEN + VPC_UDP_HLEN +
                                     payload_len));
    vpc_put_be16(ip + 4, f->ip_id);
    vpc_put_be16(ip + 6, 0);
    ip[8] = f->ttl;
    ip[9] = VPC_IP_PROTO_UDP;
    vpc_put_be16(ip + 10, 0);
    vpc_put_be32(ip + 12, f->ip_src);
    vpc_put_be32(ip + 16, f->ip_dst);
    vpc_put_be16(ip + 10, vpc_ip_checksum(ip, VPC_IPV4_HLEN));

    vpc_put_be16(udp, f->src_port);
    vpc_put_be16(udp + 2, f->dst_port);
    vpc_put_be16(udp + 4, (uint16_t)(VPC_UDP_HLEN + payload_len));
    vpc_put_be16(udp + 6, 0);
    csum = vpc_l4_checksum_ipv4(f->ip_src, f->ip_dst, VPC_IP_PROTO_UDP,
                                udp, VPC_UDP_HLEN + payload_len);
    /* A computed zero goes out as all ones: zero means "no checksum". */
    vpc_put_be16(udp + 6, csum ? csum : 0xffff);

    if (padded_len > frame_len) {
        memset(buf + frame_len, 0, padded_len - frame_len);
    }
    return (int)padded_len;
}
