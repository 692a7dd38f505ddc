/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the IPv6 view.  See ipv6.h and wire.h.
 */
#include "net/vpcnet/ipv6.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

int vpc_ipv6_parse(const uint8_t *buf, size_t len, VpcIpv6View *ip)
{
    uint32_t word;
    size_t off, end;
    uint8_t next;

    memset(ip, 0, sizeof(*ip));
    if (len < VPC_IPV6_HLEN) {
        return VPC_PKT_IP6_TRUNCATED;
    }
    word = vpc_get_be32(buf);
    if (word >> 28 != 6) {
        return VPC_PKT_IP_VERSION;
    }
    ip->payload_len = vpc_get_be16(buf + 4);
    if (ip->payload_len == 0 || ip->payload_len > len - VPC_IPV6_HLEN) {
        return VPC_PKT_IP6_PAYLOAD_LENGTH;
    }
    ip->hdr = buf;
    ip->traffic_class = (word >> 20) & 0xff;
    ip->flow_label = word & 0xfffff;
    ip->hop_limit = buf[7];
    memcpy(ip->src, buf + 8, VPC_IPV6_ALEN);
    memcpy(ip->dst, buf + 24, VPC_IPV6_ALEN);

    end = VPC_IPV6_HLEN + ip->payload_len;
    off = VPC_IPV6_HLEN;
    next = buf[6];
    for (unsigned i = 0;; i++) {
        size_t ext_len;

        if (next == VPC_IPV6_NH_FRAGMENT) {
            ip->is_fragment = true;
            break;
        }
        if (next != VPC_IPV6_NH_HOPOPTS && next != VPC_IPV6_NH_ROUTING &&
            next != VPC_IPV6_NH_DSTOPTS) {
            break;
        }
        if (i == VPC_IPV6_MAX_EXT_HEADERS) {
            return VPC_PKT_IP6_EXT_HEADER;
        }
        if (end - off < 8) {
            return VPC_PKT_IP6_EXT_HEADER;
        }
        ext_len = ((size_t)buf[off + 1] + 1) * 8;
        if (ext_len > end - off) {
            return VPC_PKT_IP6_EXT_HEADER;
        }
        next = buf[off];
        off += ext_len;
    }
    ip->protocol = next;
    ip->l4 = buf + off;
    ip->l4_len = end - off;
    return VPC_PKT_OK;
}

void vpc_ipv6_put_header(uint8_t *buf, const uint8_t src[16],
                         const uint8_t dst[16], uint8_t next_header,
                         uint16_t payload_len, uint8_t hop_limit)
{
    vpc_put_be32(buf, 6u << 28);
    vpc_put_be16(buf + 4, payload_len);
    buf[6] = next_header;
    buf[7] = hop_limit;
    memcpy(buf + 8, src, VPC_IPV6_ALEN);
    memcpy(buf + 24, dst, VPC_IPV6_ALEN);
}

char *vpc_ipv6_format(const uint8_t addr[16],
                      char buf[VPC_IPV6_ADDR_STRLEN])
{
    if (!inet_ntop(AF_INET6, addr, buf, VPC_IPV6_ADDR_STRLEN)) {
        snprintf(buf, VPC_IPV6_ADDR_STRLEN, "?");
    }
    return buf;
}

bool vpc_ipv6_is_unspecified(const uint8_t *a)
{
    static const uint8_t zero[VPC_IPV6_ALEN];

    return memcmp(a, zero, VPC_IPV6_ALEN) == 0;
}

bool vpc_ipv6_is_loopback(const uint8_t *a)
{
    static const uint8_t one[VPC_IPV6_ALEN] = { [15] = 1 };

    return memcmp(a, one, VPC_IPV6_ALEN) == 0;
}

bool vpc_ipv6_is_v4mapped(const uint8_t *a)
{
    static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

    return memcmp(a, prefix, sizeof(prefix)) == 0;
}

void vpc_ipv6_solicited_node(const uint8_t a[16], uint8_t group[16])
{
    static const uint8_t prefix[13] = {
        0xff, 0x02, [11] = 0x01, [12] = 0xff,
    };

    memcpy(group, prefix, sizeof(prefix));
    memcpy(group + 13, a + 13, 3);
}

void vpc_ipv6_multicast_mac(const uint8_t a[16], uint8_t mac[6])
{
    mac[0] = 0x33;
    mac[1] = 0x33;
    memcpy(mac + 2, a + 12, 4);
}

void vpc_ipv6_link_local_from_mac(const uint8_t mac[6], uint8_t a[16])
{
    memset(a, 0, VPC_IPV6_ALEN);
    a[0] = 0xfe;
    a[1] = 0x80;
    a[8] = mac[0] ^ 0x02;
    a[9] = mac[1];
    a[10] = mac[2];
    a[11] = 0xff;
    a[12] = 0xfe;
    a[13] = mac[3];
    a[14] = mac[4];
    a[15] = mac[5];
}

bool vpc_ipv6_prefix_match(const uint8_t *a, const uint8_t *b,
                           unsigned prefix_len)
{
    unsigned bytes = prefix_len / 8, bits = prefix_len % 8;

    if (prefix_len > 128) {
        return false;
    }
    if (memcmp(a, b, bytes) != 0) {
        return false;
    }
    if (bits) {
        uint8_t mask = (uint8_t)(0xff << (8 - bits));

        return ((a[bytes] ^ b[bytes]) & mask) == 0;
    }
    return true;
}
