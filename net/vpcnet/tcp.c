/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the TCP view and header writer.  See tcp.h and wire.h.
 */
#include "net/vpcnet/tcp.h"

#include <string.h>

/* Walk the options of a header; every length is checked before use. */
static int tcp_parse_options(const uint8_t *p, size_t len, VpcTcpView *tcp)
{
    size_t pos = 0;

    while (pos < len) {
        uint8_t kind = p[pos], olen;

        if (kind == VPC_TCP_OPT_EOL) {
            break;
        }
        if (kind == VPC_TCP_OPT_NOP) {
            pos++;
            continue;
        }
        if (len - pos < 2) {
            return VPC_PKT_TCP_OPTION;
        }
        olen = p[pos + 1];
        if (olen < 2 || olen > len - pos) {
            return VPC_PKT_TCP_OPTION;
        }
        switch (kind) {
        case VPC_TCP_OPT_MSS:
            if (olen == 4) {
                tcp->has_mss = true;
                tcp->mss = vpc_get_be16(p + pos + 2);
            }
            break;
        case VPC_TCP_OPT_WSCALE:
            if (olen == 3) {
                tcp->has_wscale = true;
                tcp->wscale = p[pos + 2] > VPC_TCP_MAX_WSCALE
                              ? VPC_TCP_MAX_WSCALE : p[pos + 2];
            }
            break;
        case VPC_TCP_OPT_SACK_PERM:
            tcp->sack_permitted = olen == 2;
            break;
        case VPC_TCP_OPT_TIMESTAMP:
            if (olen == 10) {
                tcp->has_timestamps = true;
                tcp->ts_val = vpc_get_be32(p + pos + 2);
                tcp->ts_ecr = vpc_get_be32(p + pos + 6);
            }
            break;
        }
        pos += olen;
    }
    return VPC_PKT_OK;
}

int vpc_tcp_parse(const uint8_t *seg, size_t len, VpcTcpView *tcp)
{
    memset(tcp, 0, sizeof(*tcp));
    if (len < VPC_TCP_HLEN) {
        return VPC_PKT_TCP_TRUNCATED;
    }
    tcp->hlen = (size_t)(seg[12] >> 4) * 4;
    if (tcp->hlen < VPC_TCP_HLEN || tcp->hlen > len) {
        return VPC_PKT_TCP_HEADER_LENGTH;
    }
    tcp->src_port = vpc_get_be16(seg);
    tcp->dst_port = vpc_get_be16(seg + 2);
    tcp->seq = vpc_get_be32(seg + 4);
    tcp->ack = vpc_get_be32(seg + 8);
    tcp->flags = seg[13];
    tcp->window = vpc_get_be16(seg + 14);
    tcp->urgent = vpc_get_be16(seg + 18);
    tcp->payload = seg + tcp->hlen;
    tcp->payload_len = len - tcp->hlen;
    if (tcp->hlen > VPC_TCP_HLEN) {
        return tcp_parse_options(seg + VPC_TCP_HLEN,
                                 tcp->hlen - VPC_TCP_HLEN, tcp);
    }
    return VPC_PKT_OK;
}

size_t vpc_tcp_put_header(uint8_t *buf, const VpcTcpHeader *h)
{
    size_t hlen = VPC_TCP_HLEN;
    uint8_t *o = buf + VPC_TCP_HLEN;

    if (h->mss) {
        o[0] = VPC_TCP_OPT_MSS;
        o[1] = 4;
        vpc_put_be16(o + 2, h->mss);
        o += 4;
        hlen += 4;
    }
    if (h->send_wscale) {
        o[0] = VPC_TCP_OPT_NOP;
        o[1] = VPC_TCP_OPT_WSCALE;
        o[2] = 3;
        o[3] = h->wscale;
        hlen += 4;
    }
    vpc_put_be16(buf, h->src_port);
    vpc_put_be16(buf + 2, h->dst_port);
    vpc_put_be32(buf + 4, h->seq);
    vpc_put_be32(buf + 8, h->ack);
    buf[12] = (uint8_t)(hlen / 4) << 4;
    buf[13] = h->flags;
    vpc_put_be16(buf + 14, h->window);
    vpc_put_be16(buf + 16, 0);
    vpc_put_be16(buf + 18, 0);
    return hlen;
}
