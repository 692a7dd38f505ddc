/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: bounds-checked packet views, internet checksum, frame builders.
 * See packet.h for the rules every function here keeps.
 */
#include "net/vpcnet/packet.h"

#include <string.h>

static const char *const pkt_error_names[VPC_PKT_ERROR_COUNT] = {
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
};

const char *vpc_pkt_error_name(int err)
{
    if (err > 0 || err <= -VPC_PKT_ERROR_COUNT) {
        return "unknown";
    }
    return pkt_error_names[-err];
}

/* Fold a wide one's-complement sum to 16 bits (end-around carry). */
static uint32_t csum_fold16(uint64_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint32_t)sum;
}

uint32_t vpc_csum_partial(uint32_t sum, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint64_t acc = sum;

    /* A 64-bit accumulator cannot carry out for any length we can hold. */
    while (len >= 2) {
        acc += (uint32_t)(p[0] << 8 | p[1]);
        p += 2;
        len -= 2;
    }
    if (len) {
        acc += (uint32_t)p[0] << 8;
    }
    return csum_fold16(acc);
}

uint16_t vpc_csum_fold(uint32_t sum)
{
    return (uint16_t)~csum_fold16(sum);
}

uint16_t vpc_ip_checksum(const void *buf, size_t len)
{
    return vpc_csum_fold(vpc_csum_partial(0, buf, len));
}

uint32_t vpc_csum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                              uint16_t l4_len)
{
    uint64_t sum = 0;

    sum += src >> 16;
    sum += src & 0xffff;
    sum += dst >> 16;
    sum += dst & 0xffff;
    sum += proto;
    sum += l4_len;
    return csum_fold16(sum);
}

uint16_t vpc_l4_checksum_ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                              const void *l4, size_t len)
{
    uint32_t sum = vpc_csum_pseudo_ipv4(src, dst, proto, (uint16_t)len);

    return vpc_csum_fold(vpc_csum_partial(sum, l4, len));
}

uint16_t vpc_csum_adjust16(uint16_t csum, uint16_t from, uint16_t to)
{
    uint64_t sum = (uint16_t)~csum;

    sum += (uint16_t)~from;
    sum += to;
    return (uint16_t)~csum_fold16(sum);
}

uint16_t vpc_csum_adjust32(uint16_t csum, uint32_t from, uint32_t to)
{
    uint64_t sum = (uint16_t)~csum;

    sum += (uint16_t)~(from >> 16);
    sum += (uint16_t)~from;
    sum += to >> 16;
    sum += to & 0xffff;
    return (uint16_t)~csum_fold16(sum);
}

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

int vpc_udp_parse(const VpcIpv4View *ip, VpcUdpView *udp)
{
    const uint8_t *p = ip->payload;

    memset(udp, 0, sizeof(*udp));
    if (ip->protocol != VPC_IP_PROTO_UDP) {
        return VPC_PKT_WRONG_PROTOCOL;
    }
    if (ip->is_fragment) {
        return VPC_PKT_IP_FRAGMENT;
    }
    if (ip->payload_len < VPC_UDP_HLEN) {
        return VPC_PKT_UDP_TRUNCATED;
    }
    udp->length = vpc_get_be16(p + 4);
    if (udp->length < VPC_UDP_HLEN || udp->length > ip->payload_len) {
        return VPC_PKT_UDP_LENGTH;
    }
    udp->checksum = vpc_get_be16(p + 6);
    if (udp->checksum != 0
        && vpc_l4_checksum_ipv4(ip->src, ip->dst, VPC_IP_PROTO_UDP,
                                p, udp->length) != 0) {
        return VPC_PKT_UDP_CHECKSUM;
    }
    udp->src_port = vpc_get_be16(p);
    udp->dst_port = vpc_get_be16(p + 2);
    udp->payload = p + VPC_UDP_HLEN;
    udp->payload_len = udp->length - VPC_UDP_HLEN;
    return VPC_PKT_OK;
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

void vpc_dhcp_opt_iter_init(VpcDhcpOptIter *it, const uint8_t *buf,
                            size_t len)
{
    it->buf = buf;
    it->len = len;
    it->pos = 0;
    it->status = 1;
}

int vpc_dhcp_opt_iter_next(VpcDhcpOptIter *it, VpcDhcpOpt *opt)
{
    while (it->status == 1) {
        uint8_t code, olen;

        if (it->pos >= it->len) {
            it->status = VPC_PKT_DHCP_NO_END;
            break;
        }
        code = it->buf[it->pos];
        if (code == VPC_DHCP_OPT_PAD) {
            it->pos++;
            continue;
        }
        if (code == VPC_DHCP_OPT_END) {
            it->pos++;
            it->status = 0;
            break;
        }
        /* The length byte and the value must both be inside the buffer. */
        if (it->len - it->pos < 2) {
            it->status = VPC_PKT_DHCP_OPTION_OVERRUN;
            break;
        }
        olen = it->buf[it->pos + 1];
        if (olen > it->len - it->pos - 2) {
            it->status = VPC_PKT_DHCP_OPTION_OVERRUN;
            break;
        }
        opt->code = code;
        opt->len = olen;
        opt->data = it->buf + it->pos + 2;
        it->pos += 2 + (size_t)olen;
        return 1;
    }
    return it->status;
}

int vpc_dhcp_parse(const uint8_t *buf, size_t len, VpcDhcpView *dhcp)
{
    VpcDhcpHeader *h = &dhcp->hdr;
    VpcDhcpOptIter it;
    VpcDhcpOpt opt;
    bool seen_type = false;
    int ret;

    memset(dhcp, 0, sizeof(*dhcp));
    if (len < VPC_DHCP_OPTIONS_OFFSET) {
        return VPC_PKT_DHCP_TRUNCATED;
    }
    if (vpc_get_be32(buf + VPC_BOOTP_FIXED_LEN) != VPC_DHCP_MAGIC_COOKIE) {
        return VPC_PKT_DHCP_COOKIE;
    }
    h->op = buf[0];
    h->htype = buf[1];
    h->hlen = buf[2];
    h->hops = buf[3];
    h->xid = vpc_get_be32(buf + 4);
    h->secs = vpc_get_be16(buf + 8);
    h->flags = vpc_get_be16(buf + 10);
    h->ciaddr = vpc_get_be32(buf + 12);
    h->yiaddr = vpc_get_be32(buf + 16);
    h->siaddr = vpc_get_be32(buf + 20);
    h->giaddr = vpc_get_be32(buf + 24);
    memcpy(h->chaddr, buf + 28, sizeof(h->chaddr));

    vpc_dhcp_opt_iter_init(&it, buf + VPC_DHCP_OPTIONS_OFFSET,
                           len - VPC_DHCP_OPTIONS_OFFSET);
    while ((ret = vpc_dhcp_opt_iter_next(&it, &opt)) == 1) {
        /* Only the first option 53 counts, as for vpc_dhcp_opt_find(). */
        if (opt.code == VPC_DHCP_OPT_MSG_TYPE && !seen_type) {
            seen_type = true;
            if (opt.len == 1) {
                dhcp->msg_type = opt.data[0];
            }
        }
    }
    if (ret < 0) {
        dhcp->msg_type = 0;
        return ret;
    }
    dhcp->options = buf + VPC_DHCP_OPTIONS_OFFSET;
    dhcp->options_len = it.pos;
    return VPC_PKT_OK;
}

bool vpc_dhcp_opt_find(const VpcDhcpView *dhcp, uint8_t code,
                       VpcDhcpOpt *opt)
{
    VpcDhcpOptIter it;

    if (!dhcp->options) {
        return false;
    }
    vpc_dhcp_opt_iter_init(&it, dhcp->options, dhcp->options_len);
    while (vpc_dhcp_opt_iter_next(&it, opt) == 1) {
        if (opt->code == code) {
            return true;
        }
    }
    return false;
}

bool vpc_dhcp_opt_get_ipv4(const VpcDhcpView *dhcp, uint8_t code,
                           uint32_t *addr)
{
    VpcDhcpOpt opt;

    if (!vpc_dhcp_opt_find(dhcp, code, &opt) || opt.len != 4) {
        return false;
    }
    *addr = vpc_get_be32(opt.data);
    return true;
}

void vpc_dhcp_writer_init(VpcDhcpWriter *w, uint8_t *buf, size_t cap,
                          const VpcDhcpHeader *hdr)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->error = VPC_PKT_OK;
    if (cap < VPC_DHCP_OPTIONS_OFFSET) {
        w->error = VPC_PKT_NO_SPACE;
        return;
    }
    memset(buf, 0, VPC_DHCP_OPTIONS_OFFSET);
    buf[0] = hdr->op;
    buf[1] = hdr->htype;
    buf[2] = hdr->hlen;
    buf[3] = hdr->hops;
    vpc_put_be32(buf + 4, hdr->xid);
    vpc_put_be16(buf + 8, hdr->secs);
    vpc_put_be16(buf + 10, hdr->flags);
    vpc_put_be32(buf + 12, hdr->ciaddr);
    vpc_put_be32(buf + 16, hdr->yiaddr);
    vpc_put_be32(buf + 20, hdr->siaddr);
    vpc_put_be32(buf + 24, hdr->giaddr);
    memcpy(buf + 28, hdr->chaddr, sizeof(hdr->chaddr));
    vpc_put_be32(buf + VPC_BOOTP_FIXED_LEN, VPC_DHCP_MAGIC_COOKIE);
    w->len = VPC_DHCP_OPTIONS_OFFSET;
}

void vpc_dhcp_put_option(VpcDhcpWriter *w, uint8_t code, const void *data,
                         size_t len)
{
    if (w->error) {
        return;
    }
    if (len > 255) {
        w->error = VPC_PKT_TOO_BIG;
        return;
    }
    /* Always keep one byte for the END option. */
    if (w->cap - w->len < 2 + len + 1) {
        w->error = VPC_PKT_NO_SPACE;
        return;
    }
    w->buf[w->len] = code;
    w->buf[w->len + 1] = (uint8_t)len;
    if (len) {
        memcpy(w->buf + w->len + 2, data, len);
    }
    w->len += 2 + len;
}

void vpc_dhcp_put_u8(VpcDhcpWriter *w, uint8_t code, uint8_t value)
{
    vpc_dhcp_put_option(w, code, &value, 1);
}

void vpc_dhcp_put_u32(VpcDhcpWriter *w, uint8_t code, uint32_t value)
{
    uint8_t be[4];

    vpc_put_be32(be, value);
    vpc_dhcp_put_option(w, code, be, sizeof(be));
}

size_t vpc_dhcp_writer_room(const VpcDhcpWriter *w)
{
    if (w->error || w->cap - w->len < 1) {
        return 0;
    }
    return w->cap - w->len - 1;
}

int vpc_dhcp_writer_finish(VpcDhcpWriter *w, size_t min_len)
{
    if (w->error) {
        return w->error;
    }
    if (w->cap - w->len < 1) {
        w->error = VPC_PKT_NO_SPACE;
        return w->error;
    }
    w->buf[w->len++] = VPC_DHCP_OPT_END;
    if (w->len < min_len) {
        if (min_len > w->cap) {
            w->error = VPC_PKT_NO_SPACE;
            return w->error;
        }
        memset(w->buf + w->len, 0, min_len - w->len);
        w->len = min_len;
    }
    if (w->len > VPC_IPV4_MAX_LEN - VPC_IPV4_HLEN - VPC_UDP_HLEN) {
        w->error = VPC_PKT_TOO_BIG;
        return w->error;
    }
    return (int)w->len;
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
