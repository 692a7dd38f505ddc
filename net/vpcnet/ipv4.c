/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the IPv4 view.  See ipv4.h and wire.h.
 */
#include "net/vpcnet/ipv4.h"
#include "net/vpcnet/checksum.h"

#include <stdio.h>
#include <string.h>

int vpc_ipv4_parse(const uint8_t *buf, size_t len, VpcIpv4View *ip)
{
    uint16_t frag;

    memset(ip, 0, sizeof(*ip));
    if (len < VPC_IPV4_HLEN) {
        return VPC_PKT_IP_TRUNCATED;
    }
    if (buf[0] >> 4 != 4) {
        return VPC_PKT_IP_VERSION;
    }
    ip->hlen = (size_t)(buf[0] & 0xf) * 4;
    if (ip->hlen < VPC_IPV4_HLEN) {
        return VPC_PKT_IP_HEADER_LENGTH;
    }
    if (ip->hlen > len) {
        return VPC_PKT_IP_TRUNCATED;
    }
    ip->total_len = vpc_get_be16(buf + 2);
    if (ip->total_len < ip->hlen || ip->total_len > len) {
        return VPC_PKT_IP_TOTAL_LENGTH;
    }
    if (vpc_ip_checksum(buf, ip->hlen) != 0) {
        return VPC_PKT_IP_CHECKSUM;
    }
    ip->hdr = buf;
    ip->tos = buf[1];
    ip->id = vpc_get_be16(buf + 4);
    frag = vpc_get_be16(buf + 6);
    ip->dont_fragment = frag & 0x4000;
    ip->more_fragments = frag & 0x2000;
    ip->frag_offset = (uint32_t)(frag & 0x1fff) * 8;
    ip->is_fragment = ip->more_fragments || ip->frag_offset;
    ip->ttl = buf[8];
    ip->protocol = buf[9];
    ip->src = vpc_get_be32(buf + 12);
    ip->dst = vpc_get_be32(buf + 16);
    ip->payload = buf + ip->hlen;
    ip->payload_len = ip->total_len - ip->hlen;
    return VPC_PKT_OK;
}

char *vpc_ipv4_format(uint32_t addr, char buf[VPC_IPV4_ADDR_STRLEN])
{
    snprintf(buf, VPC_IPV4_ADDR_STRLEN, "%u.%u.%u.%u", addr >> 24,
             (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff);
    return buf;
}

void vpc_ipv4_put_header(uint8_t *buf, uint32_t src, uint32_t dst,
                         uint8_t protocol, uint16_t payload_len,
                         uint16_t id, uint8_t ttl, bool dont_fragment)
{
    buf[0] = 0x45;
    buf[1] = 0;
    vpc_put_be16(buf + 2, (uint16_t)(VPC_IPV4_HLEN + payload_len));
    vpc_put_be16(buf + 4, id);
    vpc_put_be16(buf + 6, dont_fragment ? 0x4000 : 0);
    buf[8] = ttl;
    buf[9] = protocol;
    vpc_put_be16(buf + 10, 0);
    vpc_put_be32(buf + 12, src);
    vpc_put_be32(buf + 16, dst);
    vpc_put_be16(buf + 10, vpc_ip_checksum(buf, VPC_IPV4_HLEN));
}
