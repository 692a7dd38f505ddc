/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: port forwards from the host to the guest.
 *
 * Theory of operation
 *
 * A forward is -netdev user's hostfwd rule,
 * "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport", parsed strictly
 * here: IPv6 addresses in brackets, ports 1 to 65535, nothing left over.
 * The host side and the guest side may be of different families.  The
 * guest address defaults to the guest's address as last seen (for IPv6
 * its global one: SLAAC picks it, so it is not known in advance); for
 * IPv4, before the guest has spoken, to the first DHCP address, which the
 * DHCP server gives the first guest as -netdev user does.
 *
 * Each forward holds one socket: a listening TCP socket, or a bound UDP
 * socket.  Binding a port that is taken fails and says so.  A TCP
 * connection accepted there becomes a flow that opens towards the guest
 * (tcp.c); the guest sees it come from the gateway address and the
 * host client's port.  A datagram from a host client becomes, or goes
 * through, a UDP flow keyed by the gateway address and the client's port
 * (a free port when two clients share one), with no socket of its own:
 * the guest's answers go out of the forward's socket to the client.
 * Removing a forward closes its socket and its UDP flows; TCP
 * connections it made stay up.
 */
#include "net/vpcnet/nat/nat-impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FWD_LISTEN_BACKLOG  128
#define FWD_ACCEPT_BATCH    16

static void fwd_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fwd_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
}

static bool parse_port(const char *p, size_t len, uint16_t *port)
{
    unsigned long v = 0;

    if (len == 0 || len > 5) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v == 0 || v > 65535) {
        return false;
    }
    *port = (uint16_t)v;
    return true;
}

/*
 * "[v6addr]:port", "a.b.c.d:port" or ":port" (@len bytes at @p): the
 * address (all zero when absent) and the port, which is required.
 */
static bool parse_endpoint(const char *p, size_t len, int *family,
                           uint8_t addr[16], uint16_t *port)
{
    const char *colon;
    char buf[64];
    size_t alen;

    memset(addr, 0, 16);
    *family = AF_INET;
    if (len && p[0] == '[') {
        const char *close = memchr(p, ']', len);

        if (!close || close + 1 >= p + len || close[1] != ':') {
            return false;
        }
        alen = (size_t)(close - p - 1);
        if (alen == 0 || alen >= sizeof(buf)) {
            return false;
        }
        memcpy(buf, p + 1, alen);
        buf[alen] = '\0';
        if (inet_pton(AF_INET6, buf, addr) != 1) {
            return false;
        }
        *family = AF_INET6;
        colon = close + 1;
    } else {
        colon = memchr(p, ':', len);
        if (!colon) {
            return false;
        }
        alen = (size_t)(colon - p);
        if (alen) {
            if (alen >= sizeof(buf)) {
                return false;
            }
            memcpy(buf, p, alen);
            buf[alen] = '\0';
            if (inet_pton(AF_INET, buf, addr) != 1) {
                return false;
            }
        }
    }
    return parse_port(colon + 1, (size_t)(p + len - colon - 1), port);
}

/* "tcp:", "udp:" or ":" at @text; what follows it. */
static const char *parse_proto(const char *text, bool *udp)
{
    if (strncmp(text, "tcp:", 4) == 0) {
        *udp = false;
        return text + 4;
    }
    if (strncmp(text, "udp:", 4) == 0) {
        *udp = true;
        return text + 4;
    }
    if (text[0] == ':') {
        *udp = false;
        return text + 1;
    }
    return NULL;
}

int vpc_nat_fwd_parse(const char *text, VpcNatFwd *fwd, char *err,
                      size_t errlen)
{
    const char *p, *dash;

    memset(fwd, 0, sizeof(*fwd));
    p = parse_proto(text, &fwd->udp);
    if (!p) {
        fwd_err(err, errlen, "hostfwd=%s: expected [tcp|udp]:[hostaddr]:"
                "hostport-[guestaddr]:guestport", text);
        return -1;
    }
    /* The '-' between the two ends: after any bracketed address. */
    dash = p;
    if (*dash == '[') {
        dash = strchr(dash, ']');
    }
    dash = dash ? strchr(dash, '-') : NULL;
    if (!dash || !parse_endpoint(p, (size_t)(dash - p), &fwd->family,
                                 fwd->host_addr, &fwd->host_port)) {
        fwd_err(err, errlen, "hostfwd=%s: bad host address or port (want "
                "[hostaddr]:hostport, IPv6 in brackets, port 1 to 65535)",
                text);
        return -1;
    }
    if (!parse_endpoint(dash + 1, strlen(dash + 1), &fwd->guest_family,
                        fwd->guest_addr, &fwd->guest_port)) {
        fwd_err(err, errlen, "hostfwd=%s: bad guest address or port (want "
                "[guestaddr]:guestport, IPv6 in brackets, port 1 to 65535)",
                text);
        return -1;
    }
    return 0;
}

int vpc_nat_fwd_parse_remove(const char *text, VpcNatFwd *fwd, char *err,
                             size_t errlen)
{
    const char *p;

    memset(fwd, 0, sizeof(*fwd));
    p = parse_proto(text, &fwd->udp);
    if (!p || !parse_endpoint(p, strlen(p), &fwd->family, fwd->host_addr,
                              &fwd->host_port)) {
        fwd_err(err, errlen, "'%s': expected [tcp|udp]:[hostaddr]:hostport",
                text);
        return -1;
    }
    return 0;
}

static bool fwd_same_host_end(const VpcNatFwd *a, const VpcNatFwd *b)
{
    return a->udp == b->udp && a->family == b->family &&
           a->host_port == b->host_port &&
           memcmp(a->host_addr, b->host_addr, 16) == 0;
}

bool nat_fwd_guest_addr(VpcNat *nat, const VpcNatFwd *fwd, NatAddr *out)
{
    static const uint8_t zero[16];
    int64_t best = 0;

    if (fwd->guest_family == AF_INET) {
        uint32_t a = vpc_get_be32(fwd->guest_addr);

        if (a) {
            nat_addr_from_v4(out, a);
            return nat->cfg.ipv4;
        }
    } else if (memcmp(fwd->guest_addr, zero, 16) != 0) {
        memcpy(out->a, fwd->guest_addr, 16);
        return nat->cfg.ipv6;
    }
    /*
     * The guest's address of that family as last seen (for IPv4 in the
     * subnet, for IPv6 in the prefix); for IPv4, before the guest spoke,
     * the first DHCP address, which DHCP gives the first guest.
     */
    for (unsigned i = 0; i < NAT_NEIGH_ENTRIES; i++) {
        const NatNeigh *n = &nat->neigh[i];
        bool v4 = nat_addr_is_v4(&n->addr);

        if (n->seen_ns <= best || v4 != (fwd->guest_family == AF_INET)) {
            continue;
        }
        if (v4 ? (nat_addr_v4(&n->addr) & nat->cfg.netmask) == nat->cfg.net
               : vpc_ipv6_prefix_match(n->addr.a, nat->cfg.ip6_prefix,
                                       nat->cfg.ip6_prefix_len)) {
            *out = n->addr;
            best = n->seen_ns;
        }
    }
    if (!best && fwd->guest_family == AF_INET) {
        nat_addr_from_v4(out, nat->cfg.dhcp_start);
        return nat->cfg.ipv4;
    }
    return best != 0 && (fwd->guest_family == AF_INET ? nat->cfg.ipv4
                                                      : nat->cfg.ipv6);
}

static int fwd_open(VpcNat *nat, NatFwdSlot *fs, char *err, size_t errlen)
{
    const VpcNatFwd *f = &fs->fwd;
    struct sockaddr_storage ss;
    socklen_t sl;
    NatAddr a;
    int one = 1;
    char text[64];

    if (f->family == AF_INET) {
        nat_addr_from_v4(&a, vpc_get_be32(f->host_addr));
    } else {
        memcpy(a.a, f->host_addr, 16);
    }
    sl = nat_addr_to_sockaddr(&a, f->host_port, &ss);
    inet_ntop(f->family, f->host_addr, text, sizeof(text));
    fs->fd = socket(f->family, (f->udp ? SOCK_DGRAM : SOCK_STREAM) |
                    SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fs->fd < 0) {
        fwd_err(err, errlen, "hostfwd: cannot make a socket: %s",
                strerror(errno));
        return -1;
    }
    if (f->family == AF_INET6) {
        setsockopt(fs->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (!f->udp) {
        setsockopt(fs->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    if (bind(fs->fd, (struct sockaddr *)&ss, sl) < 0 ||
        (!f->udp && listen(fs->fd, FWD_LISTEN_BACKLOG) < 0)) {
        int e = errno;

        close(fs->fd);
        fs->fd = -1;
        fwd_err(err, errlen, "hostfwd: cannot bind %s %s%s%s:%u: %s%s",
                f->udp ? "udp" : "tcp", f->family == AF_INET6 ? "[" : "",
                text, f->family == AF_INET6 ? "]" : "", f->host_port,
                strerror(e), e == EADDRINUSE ? " (the port is taken)" : "");
        return -1;
    }
    fs->watch.nat = nat;
    fs->watch.kind = NAT_WATCH_FWD;
    fs->watch.index = (uint32_t)(fs - nat->fwds);
    nat_watch(nat, fs->fd, VPC_NAT_EV_IN, &fs->watch);
    return 0;
}

int vpc_nat_hostfwd_add(VpcNat *nat, const char *text, char *err,
                        size_t errlen)
{
    VpcNatFwd fwd;
    NatFwdSlot *free_slot = NULL;

    if (vpc_nat_fwd_parse(text, &fwd, err, errlen) < 0) {
        return -1;
    }
    if ((fwd.guest_family == AF_INET && !nat->cfg.ipv4) ||
        (fwd.guest_family == AF_INET6 && !nat->cfg.ipv6)) {
        fwd_err(err, errlen, "hostfwd=%s: the guest side's IP version is "
                "turned off", text);
        return -1;
    }
    for (unsigned i = 0; i < VPC_NAT_MAX_FWDS; i++) {
        if (nat->fwds[i].used && fwd_same_host_end(&nat->fwds[i].fwd, &fwd)) {
            fwd_err(err, errlen, "hostfwd=%s: that host port is forwarded "
                    "already", text);
            return -1;
        }
        if (!nat->fwds[i].used && !free_slot) {
            free_slot = &nat->fwds[i];
        }
    }
    if (!free_slot) {
        fwd_err(err, errlen, "hostfwd=%s: at most %d forwards", text,
                VPC_NAT_MAX_FWDS);
        return -1;
    }
    free_slot->fwd = fwd;
    if (fwd_open(nat, free_slot, err, errlen) < 0) {
        return -1;
    }
    free_slot->used = true;
    return 0;
}

static void fwd_close(VpcNat *nat, NatFwdSlot *fs)
{
    uint32_t idx = (uint32_t)(fs - nat->fwds);

    /* Its UDP flows answer through its socket: they go with it. */
    for (uint32_t i = nat->lru_head[NAT_FLOW_UDP]; i != NAT_NONE;) {
        NatFlow *f = &nat->flows[i];

        i = f->lru_next;
        if (f->udp.fwd && f->udp.fwd_index == idx) {
            nat_flow_free(nat, f);
        }
    }
    if (fs->fd >= 0) {
        nat_watch(nat, fs->fd, 0, &fs->watch);
        close(fs->fd);
        fs->fd = -1;
    }
    fs->used = false;
}

int vpc_nat_hostfwd_remove(VpcNat *nat, const char *text, char *err,
                           size_t errlen)
{
    VpcNatFwd fwd;

    if (vpc_nat_fwd_parse_remove(text, &fwd, err, errlen) < 0) {
        return -1;
    }
    for (unsigned i = 0; i < VPC_NAT_MAX_FWDS; i++) {
        if (nat->fwds[i].used && fwd_same_host_end(&nat->fwds[i].fwd, &fwd)) {
            fwd_close(nat, &nat->fwds[i]);
            return 0;
        }
    }
    fwd_err(err, errlen, "no forward of %s", text);
    return -1;
}

unsigned vpc_nat_hostfwds(const VpcNat *nat, VpcNatFwd *out, unsigned max)
{
    unsigned n = 0;

    for (unsigned i = 0; i < VPC_NAT_MAX_FWDS; i++) {
        if (nat->fwds[i].used) {
            if (n < max) {
                out[n] = nat->fwds[i].fwd;
            }
            n++;
        }
    }
    return n;
}

void nat_fwds_free(VpcNat *nat)
{
    for (unsigned i = 0; i < VPC_NAT_MAX_FWDS; i++) {
        if (nat->fwds[i].used) {
            fwd_close(nat, &nat->fwds[i]);
        }
    }
}

/* A datagram from host client @client:@cport for forward @fs. */
static void fwd_udp_datagram(VpcNat *nat, NatFwdSlot *fs, uint8_t *slot,
                             const NatAddr *client, uint16_t cport,
                             size_t len)
{
    NatFlowKey key = { .type = NAT_FLOW_UDP,
                       .guest_port = fs->fwd.guest_port };
    NatFlow *f = NULL;
    uint16_t port = cport;

    if (!nat_fwd_guest_addr(nat, &fs->fwd, &key.guest)) {
        nat_drop(nat, VPC_NAT_DROP_NO_GUEST);
        return;
    }
    key.remote = nat_addr_is_v4(&key.guest) ? nat->gw4 : nat->gw6;
    for (unsigned tries = 0; tries < 64; tries++) {
        key.remote_port = port;
        f = nat_flow_lookup(nat, &key);
        if (!f || (f->udp.fwd && f->udp.client_port == cport &&
                   nat_addr_eq(&f->udp.client, client))) {
            break;
        }
        /* Taken by another client: pick another port for this one. */
        port = (uint16_t)(49152 + ((port * 2654435761u) >> 18) % 16384);
        f = NULL;
    }
    if (!f) {
        f = nat_flow_new(nat, &key, true);
        if (!f) {
            return;
        }
        f->udp.fwd = true;
        f->udp.fwd_index = (uint16_t)(fs - nat->fwds);
        f->udp.client = *client;
        f->udp.client_port = cport;
        nat->stats.udp_flows++;
    }
    nat_flow_touch(nat, f);
    if (!nat_guest_mac(nat, &key.guest, f->guest_mac)) {
        return;
    }
    nat_udp_to_guest(nat, slot, &key.remote, key.remote_port, &key.guest,
                     key.guest_port, f->guest_mac, len);
}

void nat_fwd_ready(VpcNat *nat, uint32_t index, unsigned events)
{
    NatFwdSlot *fs;

    if (index >= VPC_NAT_MAX_FWDS || !nat->fwds[index].used) {
        return;
    }
    fs = &nat->fwds[index];
    if (!fs->fwd.udp) {
        for (unsigned i = 0; i < FWD_ACCEPT_BATCH; i++) {
            int fd = accept4(fs->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

            if (fd < 0) {
                break;
            }
            nat_tcp_accepted(nat, &fs->fwd, fd);
        }
        return;
    }
    for (unsigned i = 0; i < NAT_UDP_BATCH; i++) {
        NatAddr guest, client;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        uint16_t cport;
        size_t off;
        ssize_t n;

        if (!nat_fwd_guest_addr(nat, &fs->fwd, &guest)) {
            nat_addr_from_v4(&guest, nat->cfg.dhcp_start);
        }
        off = nat_l4_offset(nat, &guest) + VPC_UDP_HLEN;
        n = recvfrom(fs->fd, nat->udp_pool + off, nat->udp_slot_size - off,
                     MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
        if (n < 0) {
            return;
        }
        if (nat_addr_from_sockaddr(&client, &cport, (struct sockaddr *)&ss)) {
            fwd_udp_datagram(nat, fs, nat->udp_pool, &client, cport,
                             (size_t)n);
        }
    }
}
