/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the DHCP wire format.  See dhcp-wire.h and wire.h.
 */
#include "net/vpcnet/dhcp-wire.h"
#include "net/vpcnet/ipv4.h"
#include "net/vpcnet/udp.h"

#include <string.h>

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

int vpc_dhcp_encode_search(const char *const *names, unsigned n,
                           uint8_t *out, size_t cap)
{
    size_t len = 0;

    for (unsigned i = 0; i < n; i++) {
        const char *p = names[i];

        while (*p) {
            const char *dot = strchr(p, '.');
            size_t label = dot ? (size_t)(dot - p) : strlen(p);

            if (label == 0 || label > 63 || len + 1 + label >= cap) {
                return VPC_PKT_TOO_BIG;
            }
            out[len++] = (uint8_t)label;
            memcpy(out + len, p, label);
            len += label;
            p += label;
            if (*p == '.') {
                p++;
            }
        }
        if (len + 1 > cap) {
            return VPC_PKT_TOO_BIG;
        }
        out[len++] = 0;
    }
    return (int)len;
}
