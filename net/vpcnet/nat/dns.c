/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: the virtual DNS server's upstream.
 *
 * Queries to the virtual DNS address (port 53, UDP in udp.c, TCP in
 * tcp.c) go to the host's first resolver from resolv.conf.  The file is
 * looked at again, at most once a second, when a query arrives, and
 * read again when its inode, size or modification time changed.  A
 * loopback resolver (systemd-resolved's 127.0.0.53, a local dnsmasq) is
 * fine: the forwarder reaches it, the guest still cannot (policy.c).
 * With no resolver, or with restrict=on, a query is answered at once
 * with SERVFAIL (or REFUSED), so the guest's resolver gives up quickly
 * instead of timing out; so is a query whose resolver the host reports
 * unreachable.
 */
#include "net/vpcnet/nat/nat-impl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define RESOLV_CHECK_NS     1000000000ll
#define DNS_HLEN            12

static void resolvers_read(VpcNat *nat)
{
    NatResolvers *r = &nat->resolvers;
    char line[256];
    FILE *f = fopen(nat->cfg.resolv_conf, "r");

    r->n = 0;
    if (!f) {
        return;
    }
    while (r->n < NAT_MAX_RESOLVERS && fgets(line, sizeof(line), f)) {
        char word[16], addr[64];
        struct in_addr in;
        struct in6_addr in6;

        if (sscanf(line, "%15s %63s", word, addr) != 2 ||
            strcmp(word, "nameserver") != 0) {
            continue;
        }
        if (inet_pton(AF_INET, addr, &in) == 1) {
            nat_addr_from_v4(&r->addr[r->n++], ntohl(in.s_addr));
        } else if (inet_pton(AF_INET6, addr, &in6) == 1) {
            /* A scoped (fe80::1%eth0) address does not parse: skipped. */
            memcpy(r->addr[r->n++].a, &in6, 16);
        }
    }
    fclose(f);
}

void nat_resolvers_refresh(VpcNat *nat)
{
    NatResolvers *r = &nat->resolvers;
    struct stat st;
    int64_t mtime;

    if (r->loaded && nat->now_ns - r->checked_ns < RESOLV_CHECK_NS) {
        return;
    }
    r->checked_ns = nat->now_ns;
    if (stat(nat->cfg.resolv_conf, &st) < 0) {
        if (r->n) {
            nat_log(nat, VPC_NAT_LOG_WARNING, "%s is gone: no DNS for the "
                    "guest", nat->cfg.resolv_conf);
        }
        r->n = 0;
        r->loaded = true;
        r->ino = 0;
        return;
    }
    mtime = (int64_t)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
    if (r->loaded && r->ino == st.st_ino && r->size == st.st_size &&
        r->mtime_ns == mtime) {
        return;
    }
    r->ino = st.st_ino;
    r->size = st.st_size;
    r->mtime_ns = mtime;
    r->loaded = true;
    resolvers_read(nat);
    if (!r->n) {
        nat_log(nat, VPC_NAT_LOG_WARNING, "%s lists no nameserver: DNS "
                "queries of the guest fail at once", nat->cfg.resolv_conf);
    }
}

bool nat_resolver(VpcNat *nat, NatAddr *addr)
{
    nat_resolvers_refresh(nat);
    if (!nat->resolvers.n) {
        return false;
    }
    *addr = nat->resolvers.addr[0];
    return true;
}

/* The length of the first question at @q + DNS_HLEN, or 0. */
static size_t question_len(const uint8_t *q, size_t len)
{
    size_t pos = DNS_HLEN, name = 0;

    while (pos < len) {
        uint8_t l = q[pos];

        if (l == 0) {
            pos++;
            break;
        }
        if ((l & 0xc0) == 0xc0) {
            pos += 2;
            break;
        }
        name += l + 1;
        if (l > 63 || name > 255) {
            return 0;
        }
        pos += 1 + l;
    }
    if (pos + 4 > len) {
        return 0;
    }
    return pos + 4 - DNS_HLEN;
}

size_t nat_dns_error_reply(const uint8_t *q, size_t q_len, uint8_t rcode,
                           uint8_t *out, size_t cap)
{
    size_t qlen;

    if (q_len < DNS_HLEN || (q[2] & 0x80) || cap < DNS_HLEN) {
        return 0;           /* not a query: no answer */
    }
    qlen = vpc_get_be16(q + 4) ? question_len(q, q_len) : 0;
    if (DNS_HLEN + qlen > cap) {
        qlen = 0;
    }
    memmove(out, q, DNS_HLEN + qlen);
    out[2] = 0x80 | (q[2] & 0x79);      /* QR, opcode, RD */
    out[3] = 0x80 | (rcode & 0x0f);     /* RA, rcode */
    vpc_put_be16(out + 4, qlen ? 1 : 0);
    memset(out + 6, 0, 6);
    return DNS_HLEN + qlen;
}
