/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: an RFC 2131 DHCP server core.  The theory of operation is in
 * dhcp-server.h.  In this file: configuration, the lease table and its
 * indexes, address choice, replies, the message handlers and the input
 * function, restoring a stored table, then creation and listing.  The
 * lease file itself is dhcp-leases.c's.
 */
#include "net/vpcnet/dhcp-server.h"
#include "net/vpcnet/crc32.h"
#include "net/vpcnet/ipv4.h"
#include "net/vpcnet/macaddr.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_TTL           64

/**
 * VpcDhcpLease - one slot of the lease table.
 * @mac: the client; all zero in FREE and DECLINED slots.
 * @addr: the address the slot names (0 in FREE slots).
 * @state: see the theory of operation in dhcp-server.h.
 * @expires: end of the offer, lease or hold; for RELEASED, when the
 *           binding ended (the eviction order of remembered clients).
 * @saved_expires: @expires as the embedder last stored it.
 * @port: the port the client was last heard on.
 * @hostname: the client's option 12 when valid, else "".
 */
typedef struct VpcDhcpLease {
    uint8_t mac[VPC_ETH_ALEN];
    uint32_t addr;
    VpcDhcpLeaseState state;
    uint64_t expires;
    uint64_t saved_expires;
    unsigned port;
    char hostname[VPC_DHCP_HOSTNAME_MAX + 1];
} VpcDhcpLease;

/**
 * VpcDhcpServer - the server.
 * @cfg: the configuration; its pointers are replaced by our copies.
 * @res_by_addr: the reservations, sorted by address.
 * @res_by_mac: pointers into @res_by_addr, sorted by MAC.
 * @n_res: number of reservations.
 * @leases: the lease table, @cfg.max_leases slots.
 * @range_slot: for each address of the range, 1 + the index of the slot
 *              naming it, or 0.
 * @range_size: addresses in the range.
 * @subnet: the network address.
 * @subnet_bcast: the subnet's broadcast address.
 * @ip_id: identification of the next reply datagram.
 * @dirty: a binding changed since the embedder last stored the table.
 * @stats: counters.
 */
struct VpcDhcpServer {
    VpcDhcpConfig cfg;
    VpcDhcpReservation *res_by_addr;
    const VpcDhcpReservation **res_by_mac;
    unsigned n_res;
    VpcDhcpLease *leases;
    uint32_t *range_slot;
    uint32_t range_size;
    uint32_t subnet;
    uint32_t subnet_bcast;
    uint16_t ip_id;
    bool dirty;
    VpcDhcpStats stats;
};

/**
 * VpcDhcpClient - what we know about the sender of one request.
 * @mac: its chaddr.
 * @resv: its reservation, or NULL.
 * @resv_usable: @resv is set and not held back after a DECLINE; then
 *               the client gets that address and no other.
 * @lease: its slot in the table, or NULL.
 */
typedef struct VpcDhcpClient {
    const uint8_t *mac;
    const VpcDhcpReservation *resv;
    bool resv_usable;
    VpcDhcpLease *lease;
} VpcDhcpClient;

/**
 * VpcDhcpRequest - one received request, parsed.
 * @port: the port it came from.
 * @now: the time passed in.
 * @eth: its Ethernet header.
 * @ip: its IPv4 header.
 * @msg: the DHCP message.
 * @requested: option 50, or 0.
 * @has_server_id: option 54 is present with a valid length.
 * @server_id: option 54.
 */
typedef struct VpcDhcpRequest {
    unsigned port;
    uint64_t now;
    const VpcEthView *eth;
    const VpcIpv4View *ip;
    const VpcDhcpView *msg;
    uint32_t requested;
    bool has_server_id;
    uint32_t server_id;
} VpcDhcpRequest;

/**
 * VpcDhcpReplyBuf - the caller's buffer for a reply.
 * @buf: where the frame goes.
 * @cap: its size.
 * @out: the routing answer.
 */
typedef struct VpcDhcpReplyBuf {
    uint8_t *buf;
    size_t cap;
    VpcDhcpReply *out;
} VpcDhcpReplyBuf;

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* A client's address may be neither multicast nor all zero. */
static bool mac_is_client(const uint8_t *mac)
{
    return !vpc_mac_is_multicast(mac) && !vpc_mac_is_zero(mac);
}

/* Host names we keep and write back: a DNS label-ish token. */
static bool hostname_valid(const char *name, size_t len)
{
    if (len == 0 || len > VPC_DHCP_HOSTNAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                     || (c >= '0' && c <= '9');

        if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.'))) {
            return false;
        }
    }
    return true;
}

/* Configuration */

void vpc_dhcp_config_init(VpcDhcpConfig *cfg)
{
    static const uint8_t server_mac[VPC_ETH_ALEN] = {
        0x02, 0x03, 0xff, 0x00, 0x00, 0x01
    };

    memset(cfg, 0, sizeof(*cfg));
    cfg->server_ip = 0xa9fe0001;        /* 169.254.0.1 */
    memcpy(cfg->server_mac, server_mac, VPC_ETH_ALEN);
    cfg->netmask = 0xffff0000;
    cfg->range_start = 0xa9fe0010;      /* 169.254.0.16 */
    cfg->range_end = 0xa9fe0afe;        /* 169.254.10.254 */
    cfg->lease_time = 3600;
    cfg->offer_hold = 60;
    cfg->decline_hold = 600;
    cfg->max_leases = 1024;
    cfg->authoritative = true;
}

static bool cfg_is_host(const VpcDhcpConfig *cfg, uint32_t addr)
{
    uint32_t net = cfg->server_ip & cfg->netmask;

    return (addr & cfg->netmask) == net && addr != net
           && addr != (net | ~cfg->netmask);
}

static bool domain_valid(const char *domain, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = domain[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
            return false;
        }
    }
    return true;
}

int vpc_dhcp_config_check(const VpcDhcpConfig *cfg, char *err, size_t errlen)
{
    uint32_t host_bits = ~cfg->netmask;
    const char *why = NULL;
    const char *domain_end;

    if (errlen) {
        err[0] = '\0';
    }
    domain_end = memchr(cfg->domain, '\0', sizeof(cfg->domain));
    if ((host_bits & (host_bits + 1)) != 0 || cfg->netmask == 0
        || host_bits < 3) {
        why = "netmask must be contiguous, between /1 and /30";
    } else if (!cfg_is_host(cfg, cfg->server_ip)) {
        why = "server address is the network or broadcast address";
    } else if (cfg->range_start > cfg->range_end) {
        why = "range start is above range end";
    } else if (!cfg_is_host(cfg, cfg->range_start)
               || !cfg_is_host(cfg, cfg->range_end)) {
        why = "range is not made of host addresses of the server's subnet";
    } else if (cfg->range_end - cfg->range_start >= VPC_DHCP_MAX_RANGE) {
        why = "range holds more than 65536 addresses";
    } else if (cfg->router && !cfg_is_host(cfg, cfg->router)) {
        why = "router is not a host of the server's subnet";
    } else if (cfg->n_dns > VPC_DHCP_MAX_DNS) {
        why = "more than 4 DNS servers";
    } else if (!domain_end
               || !domain_valid(cfg->domain, domain_end - cfg->domain)) {
        why = "domain has characters other than letters, digits, - and .";
    } else if (cfg->lease_time == 0 || cfg->lease_time > INT32_MAX) {
        why = "lease time must be between 1 and 2^31-1 seconds";
    } else if (cfg->offer_hold == 0) {
        why = "offer hold must be at least one second";
    } else if (cfg->max_leases == 0 || cfg->max_leases > VPC_DHCP_MAX_LEASES) {
        why = "max leases must be between 1 and 65536";
    } else if (cfg->n_reservations > VPC_DHCP_MAX_RESERVATIONS
               || (cfg->n_reservations && !cfg->reservations)) {
        why = "too many reservations";
    }
    if (!why && cfg->search_len > VPC_DHCP_SEARCH_MAX) {
        why = "domain search list too long";
    }
    if (!why && (memchr(cfg->client_hostname, 0,
                        sizeof(cfg->client_hostname)) == NULL)) {
        why = "client host name too long";
    }
    for (unsigned i = 0; !why && i < cfg->n_dns; i++) {
        if (cfg->dns[i] == 0) {
            why = "DNS server 0.0.0.0";
        }
    }
    for (unsigned i = 0; !why && i < cfg->n_reservations; i++) {
        const VpcDhcpReservation *r = &cfg->reservations[i];

        if (!mac_is_client(r->mac)) {
            why = "reservation for a multicast or zero MAC";
        } else if (!cfg_is_host(cfg, r->addr) || r->addr == cfg->server_ip
                   || r->addr == cfg->router) {
            why = "reserved address is not a free host of the subnet";
        }
        /* Quadratic, but only once, at creation. */
        for (unsigned j = 0; !why && j < i; j++) {
            if (vpc_mac_equal(cfg->reservations[j].mac, r->mac)) {
                why = "two reservations for one MAC";
            } else if (cfg->reservations[j].addr == r->addr) {
                why = "two reservations for one address";
            }
        }
    }
    if (why) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    return 0;
}

/* Reservations: two sorted views of one array, searched by bisection. */

static int res_addr_cmp(const void *a, const void *b)
{
    uint32_t x = ((const VpcDhcpReservation *)a)->addr;
    uint32_t y = ((const VpcDhcpReservation *)b)->addr;

    return x < y ? -1 : x > y;
}

static int res_mac_cmp(const void *a, const void *b)
{
    const VpcDhcpReservation *x = *(const VpcDhcpReservation *const *)a;
    const VpcDhcpReservation *y = *(const VpcDhcpReservation *const *)b;

    return memcmp(x->mac, y->mac, VPC_ETH_ALEN);
}

static const VpcDhcpReservation *reservation_by_addr(const VpcDhcpServer *s,
                                                     uint32_t addr)
{
    VpcDhcpReservation key = { .addr = addr };

    if (!s->n_res) {
        return NULL;
    }
    return bsearch(&key, s->res_by_addr, s->n_res, sizeof(key),
                   res_addr_cmp);
}

static const VpcDhcpReservation *reservation_by_mac(const VpcDhcpServer *s,
                                                    const uint8_t *mac)
{
    VpcDhcpReservation key;
    const VpcDhcpReservation *keyp = &key;
    const VpcDhcpReservation **found;

    if (!s->n_res) {
        return NULL;
    }
    memcpy(key.mac, mac, VPC_ETH_ALEN);
    found = bsearch(&keyp, s->res_by_mac, s->n_res, sizeof(*s->res_by_mac),
                    res_mac_cmp);
    return found ? *found : NULL;
}

/* Address classes */

static bool in_subnet(const VpcDhcpServer *s, uint32_t addr)
{
    return (addr & s->cfg.netmask) == s->subnet;
}

static bool in_range(const VpcDhcpServer *s, uint32_t addr)
{
    return addr >= s->cfg.range_start && addr <= s->cfg.range_end;
}

/* A host of our subnet that is not one of our own configured servers. */
static bool is_client_addr(const VpcDhcpServer *s, uint32_t addr)
{
    if (!in_subnet(s, addr) || addr == s->subnet || addr == s->subnet_bcast
        || addr == s->cfg.server_ip || addr == s->cfg.router) {
        return false;
    }
    for (unsigned i = 0; i < s->cfg.n_dns; i++) {
        if (addr == s->cfg.dns[i]) {
            return false;
        }
    }
    return true;
}

/* The lease table and its indexes */

static VpcDhcpLease *lease_by_mac(VpcDhcpServer *s, const uint8_t *mac)
{
    for (unsigned i = 0; i < s->cfg.max_leases; i++) {
        VpcDhcpLease *l = &s->leases[i];

        if (l->state != VPC_DHCP_LEASE_FREE
            && l->state != VPC_DHCP_LEASE_DECLINED && vpc_mac_equal(l->mac, mac)) {
            return l;
        }
    }
    return NULL;
}

static VpcDhcpLease *lease_by_addr(VpcDhcpServer *s, uint32_t addr)
{
    if (in_range(s, addr)) {
        uint32_t slot = s->range_slot[addr - s->cfg.range_start];

        return slot ? &s->leases[slot - 1] : NULL;
    }
    /* Outside the range only reserved addresses live: few, scan. */
    for (unsigned i = 0; i < s->cfg.max_leases; i++) {
        if (s->leases[i].state != VPC_DHCP_LEASE_FREE
            && s->leases[i].addr == addr) {
            return &s->leases[i];
        }
    }
    return NULL;
}

static void lease_unindex(VpcDhcpServer *s, VpcDhcpLease *l)
{
    uint32_t *slot;

    if (!l->addr || !in_range(s, l->addr)) {
        return;
    }
    slot = &s->range_slot[l->addr - s->cfg.range_start];
    if (*slot == (uint32_t)(l - s->leases) + 1) {
        *slot = 0;
    }
}

static void lease_clear(VpcDhcpServer *s, VpcDhcpLease *l)
{
    lease_unindex(s, l);
    memset(l, 0, sizeof(*l));
}

/*
 * Point @l at @addr.  Whoever else named @addr can only be a released
 * client's memory (callers check with addr_usable()); it is forgotten.
 */
static void lease_set_addr(VpcDhcpServer *s, VpcDhcpLease *l, uint32_t addr)
{
    VpcDhcpLease *other;

    if (l->addr == addr) {
        return;
    }
    other = lease_by_addr(s, addr);
    if (other && other != l) {
        lease_clear(s, other);
    }
    lease_unindex(s, l);
    l->addr = addr;
    if (in_range(s, addr)) {
        s->range_slot[addr - s->cfg.range_start] =
            (uint32_t)(l - s->leases) + 1;
    }
}

/* A slot for a new client: a free one, else the oldest released memory. */
static VpcDhcpLease *lease_find_slot(VpcDhcpServer *s)
{
    VpcDhcpLease *victim = NULL;

    for (unsigned i = 0; i < s->cfg.max_leases; i++) {
        VpcDhcpLease *l = &s->leases[i];

        if (l->state == VPC_DHCP_LEASE_FREE) {
            return l;
        }
        if (l->state == VPC_DHCP_LEASE_RELEASED
            && (!victim || l->expires < victim->expires)) {
            victim = l;
        }
    }
    return victim;
}

static VpcDhcpLease *lease_alloc(VpcDhcpServer *s, const uint8_t *mac)
{
    VpcDhcpLease *l = lease_find_slot(s);

    if (!l) {
        return NULL;
    }
    lease_clear(s, l);
    memcpy(l->mac, mac, VPC_ETH_ALEN);
    l->state = VPC_DHCP_LEASE_RELEASED;
    return l;
}

/*
 * Lazy expiry, and the clamp that keeps a lease file or a clock that
 * went backwards from stretching anything beyond its duration.
 */
static void leases_expire(VpcDhcpServer *s, uint64_t now)
{
    for (unsigned i = 0; i < s->cfg.max_leases; i++) {
        VpcDhcpLease *l = &s->leases[i];
        uint64_t limit;

        switch (l->state) {
        case VPC_DHCP_LEASE_OFFERED:
            limit = add_sat(now, s->cfg.offer_hold);
            break;
        case VPC_DHCP_LEASE_BOUND:
            limit = add_sat(now, s->cfg.lease_time);
            break;
        case VPC_DHCP_LEASE_DECLINED:
            limit = add_sat(now, s->cfg.decline_hold);
            break;
        default:
            continue;
        }
        if (l->expires > limit) {
            l->expires = limit;
        }
        if (l->expires > now) {
            continue;
        }
        if (l->state == VPC_DHCP_LEASE_DECLINED) {
            lease_clear(s, l);
            s->dirty = true;
        } else {
            if (l->state == VPC_DHCP_LEASE_BOUND) {
                s->stats.expired++;
            }
            /* The file says "bound" with a past expiry: same meaning. */
            l->state = VPC_DHCP_LEASE_RELEASED;
        }
    }
}

/* Address choice */

static void client_lookup(VpcDhcpServer *s, const uint8_t *mac,
                          VpcDhcpClient *c)
{
    VpcDhcpLease *holder;

    c->mac = mac;
    c->lease = lease_by_mac(s, mac);
    c->resv = reservation_by_mac(s, mac);
    c->resv_usable = false;
    if (c->resv) {
        holder = lease_by_addr(s, c->resv->addr);
        c->resv_usable = !holder || holder->state != VPC_DHCP_LEASE_DECLINED;
    }
}

/*
 * May client @c have @addr?  A reserved address is for its owner only;
 * a client with a usable reservation gets nothing else; dynamic addresses
 * come from the range; and the address must not be offered, bound or
 * held for anybody else.  A released client's memory gives way only when
 * @take_remembered.
 */
static bool addr_usable(VpcDhcpServer *s, uint32_t addr,
                        const VpcDhcpClient *c, bool take_remembered)
{
    const VpcDhcpReservation *r;
    VpcDhcpLease *holder;

    if (!is_client_addr(s, addr)) {
        return false;
    }
    r = reservation_by_addr(s, addr);
    if (r) {
        if (r != c->resv) {
            return false;
        }
    } else if (!in_range(s, addr) || c->resv_usable) {
        return false;
    }
    holder = lease_by_addr(s, addr);
    if (!holder) {
        return true;
    }
    if (holder->state == VPC_DHCP_LEASE_DECLINED) {
        return false;
    }
    if (holder == c->lease) {
        return true;
    }
    return holder->state == VPC_DHCP_LEASE_RELEASED && take_remembered;
}

/*
 * A free address for @c: scan the range from a point that depends only
 * on the MAC (or from its start, with lowest_first), first skipping
 * addresses other clients remember.
 */
static uint32_t pick_free_address(VpcDhcpServer *s, const VpcDhcpClient *c)
{
    uint32_t start = s->cfg.lowest_first ? 0 :
                     vpc_crc32_le(c->mac, VPC_ETH_ALEN) % s->range_size;

    for (int pass = 0; pass < 2; pass++) {
        uint32_t off = start;

        for (uint32_t i = 0; i < s->range_size; i++) {
            uint32_t addr = s->cfg.range_start + off;

            if (addr_usable(s, addr, c, pass == 1)) {
                return addr;
            }
            off = off + 1 == s->range_size ? 0 : off + 1;
        }
    }
    return 0;
}

/* RFC 2131 section 4.3.1: what to offer. */
static uint32_t choose_address(VpcDhcpServer *s, const VpcDhcpClient *c,
                               uint32_t requested)
{
    if (c->resv_usable && addr_usable(s, c->resv->addr, c, true)) {
        return c->resv->addr;
    }
    if (c->lease && addr_usable(s, c->lease->addr, c, true)) {
        return c->lease->addr;
    }
    if (requested && addr_usable(s, requested, c, false)) {
        return requested;
    }
    return pick_free_address(s, c);
}

static void note_client(VpcDhcpLease *l, const VpcDhcpRequest *rq)
{
    VpcDhcpOpt opt;
    size_t len;

    l->port = rq->port;
    if (!vpc_dhcp_opt_find(rq->msg, VPC_DHCP_OPT_HOSTNAME, &opt)) {
        return;
    }
    /* Some clients count a trailing NUL in the option; drop it. */
    len = opt.len;
    while (len && opt.data[len - 1] == '\0') {
        len--;
    }
    if (hostname_valid((const char *)opt.data, len)) {
        memcpy(l->hostname, opt.data, len);
        l->hostname[len] = '\0';
    }
}

/* Replies */

/* RFC 2131 section 4.1: where a reply goes. */
static void reply_route(VpcDhcpServer *s, const VpcDhcpRequest *rq,
                        uint8_t type, uint32_t yiaddr, uint32_t client_ip,
                        VpcUdp4Frame *f, uint16_t *flags)
{
    const VpcDhcpHeader *h = &rq->msg->hdr;
    static const uint8_t bcast_mac[VPC_ETH_ALEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff
    };

    memcpy(f->eth_src, s->cfg.server_mac, VPC_ETH_ALEN);
    f->ip_src = s->cfg.server_ip;
    f->src_port = VPC_DHCP_SERVER_PORT;
    f->dst_port = VPC_DHCP_CLIENT_PORT;
    f->ttl = REPLY_TTL;
    f->ip_id = s->ip_id++;
    *flags = h->flags;

    if (h->giaddr) {
        /* Through the relay, which sent us the frame from its MAC. */
        memcpy(f->eth_dst, rq->eth->src, VPC_ETH_ALEN);
        f->ip_dst = h->giaddr;
        f->dst_port = VPC_DHCP_SERVER_PORT;
        if (type == VPC_DHCPNAK) {
            *flags |= VPC_DHCP_FLAG_BROADCAST;
        }
    } else if (type == VPC_DHCPNAK
               || (!client_ip && (h->flags & VPC_DHCP_FLAG_BROADCAST))) {
        memcpy(f->eth_dst, bcast_mac, VPC_ETH_ALEN);
        f->ip_dst = VPC_IPV4_BROADCAST;
    } else {
        /* chaddr is known, so no ARP is needed to reach the client. */
        memcpy(f->eth_dst, h->chaddr, VPC_ETH_ALEN);
        f->ip_dst = client_ip ? client_ip : yiaddr;
    }
}

/*
 * Write an OFFER, ACK or NAK for @rq into @rb.  @client_ip is where a
 * configured client is (ciaddr, or an INFORM's source), 0 if nowhere yet.
 */
static VpcDhcpResult send_reply(VpcDhcpServer *s, const VpcDhcpRequest *rq,
                                uint8_t type, uint32_t yiaddr,
                                bool lease_options, uint32_t client_ip,
                                const char *nak_reason,
                                const VpcDhcpReplyBuf *rb)
{
    const VpcDhcpHeader *req = &rq->msg->hdr;
    VpcDhcpHeader h;
    VpcUdp4Frame f;
    VpcDhcpWriter w;
    VpcDhcpOpt opt;
    uint8_t *msg = rb->buf + VPC_UDP4_FRAME_HLEN;
    int msg_len, frame_len;

    memset(&h, 0, sizeof(h));
    reply_route(s, rq, type, yiaddr, client_ip, &f, &h.flags);
    h.op = VPC_BOOTREPLY;
    h.htype = VPC_DHCP_HTYPE_ETHER;
    h.hlen = VPC_ETH_ALEN;
    h.xid = req->xid;
    h.ciaddr = type == VPC_DHCPACK ? req->ciaddr : 0;
    h.yiaddr = yiaddr;
    h.giaddr = req->giaddr;
    memcpy(h.chaddr, req->chaddr, sizeof(h.chaddr));

    /*
     * Capping the message at 548 bytes keeps the datagram within the 576
     * bytes every client must accept (RFC 2131 section 2).
     */
    vpc_dhcp_writer_init(&w, msg, VPC_DHCP_MSG_MAX, &h);
    vpc_dhcp_put_u8(&w, VPC_DHCP_OPT_MSG_TYPE, type);
    vpc_dhcp_put_u32(&w, VPC_DHCP_OPT_SERVER_ID, s->cfg.server_ip);
    if (type == VPC_DHCPNAK) {
        vpc_dhcp_put_option(&w, VPC_DHCP_OPT_MESSAGE, nak_reason,
                            strlen(nak_reason));
    } else {
        if (lease_options) {
            uint32_t lease = s->cfg.lease_time;

            vpc_dhcp_put_u32(&w, VPC_DHCP_OPT_LEASE_TIME, lease);
            vpc_dhcp_put_u32(&w, VPC_DHCP_OPT_T1, lease / 2);
            vpc_dhcp_put_u32(&w, VPC_DHCP_OPT_T2,
                             (uint32_t)((uint64_t)lease * 7 / 8));
        }
        vpc_dhcp_put_u32(&w, VPC_DHCP_OPT_SUBNET_MASK, s->cfg.netmask);
        if (s->cfg.router) {
            vpc_dhcp_put_u32(&w, VPC_DHCP_OPT_ROUTER, s->cfg.router);
        }
        if (s->cfg.n_dns) {
            uint8_t dns[4 * VPC_DHCP_MAX_DNS];

            for (unsigned i = 0; i < s->cfg.n_dns; i++) {
                vpc_put_be32(dns + 4 * i, s->cfg.dns[i]);
            }
            vpc_dhcp_put_option(&w, VPC_DHCP_OPT_DNS, dns, 4 * s->cfg.n_dns);
        }
        if (s->cfg.domain[0]) {
            vpc_dhcp_put_option(&w, VPC_DHCP_OPT_DOMAIN, s->cfg.domain,
                                strlen(s->cfg.domain));
        }
        if (s->cfg.client_hostname[0]) {
            vpc_dhcp_put_option(&w, VPC_DHCP_OPT_HOSTNAME,
                                s->cfg.client_hostname,
                                strlen(s->cfg.client_hostname));
        }
        if (s->cfg.mtu) {
            uint8_t mtu[2];

            vpc_put_be16(mtu, s->cfg.mtu);
            vpc_dhcp_put_option(&w, VPC_DHCP_OPT_MTU, mtu, 2);
        }
        /* The search list is the one that may not fit in 548 bytes. */
        if (s->cfg.search_len &&
            s->cfg.search_len + 2 <= vpc_dhcp_writer_room(&w)) {
            vpc_dhcp_put_option(&w, VPC_DHCP_OPT_SEARCH, s->cfg.search,
                                s->cfg.search_len);
        }
    }
    /* RFC 6842: echo the client identifier, when it still fits. */
    if (vpc_dhcp_opt_find(rq->msg, VPC_DHCP_OPT_CLIENT_ID, &opt)
        && (size_t)opt.len + 2 <= vpc_dhcp_writer_room(&w)) {
        vpc_dhcp_put_option(&w, VPC_DHCP_OPT_CLIENT_ID, opt.data, opt.len);
    }
    msg_len = vpc_dhcp_writer_finish(&w, VPC_BOOTP_MIN_LEN);
    if (msg_len < 0) {
        s->stats.reply_no_space++;
        return VPC_DHCP_DROPPED;
    }
    frame_len = vpc_udp4_frame_build(rb->buf, rb->cap, &f, msg, msg_len);
    if (frame_len < 0) {
        s->stats.reply_no_space++;
        return VPC_DHCP_DROPPED;
    }

    rb->out->len = frame_len;
    rb->out->port = rq->port;
    memcpy(rb->out->dst_mac, f.eth_dst, VPC_ETH_ALEN);
    rb->out->broadcast = vpc_mac_is_broadcast(f.eth_dst);
    rb->out->msg_type = type;
    switch (type) {
    case VPC_DHCPOFFER:
        s->stats.tx_offer++;
        break;
    case VPC_DHCPACK:
        s->stats.tx_ack++;
        break;
    default:
        s->stats.tx_nak++;
        break;
    }
    return VPC_DHCP_REPLY;
}

static VpcDhcpResult send_nak(VpcDhcpServer *s, const VpcDhcpRequest *rq,
                              const char *reason, const VpcDhcpReplyBuf *rb)
{
    return send_reply(s, rq, VPC_DHCPNAK, 0, false, 0, reason, rb);
}

/* Message handlers, RFC 2131 section 4.3 */

static VpcDhcpResult handle_discover(VpcDhcpServer *s,
                                     const VpcDhcpRequest *rq,
                                     const VpcDhcpReplyBuf *rb)
{
    VpcDhcpClient c;
    VpcDhcpLease *l;
    uint32_t addr;

    s->stats.rx_discover++;
    client_lookup(s, rq->msg->hdr.chaddr, &c);
    /* A full table refuses before we spend a scan of the range. */
    if (!c.lease && !lease_find_slot(s)) {
        s->stats.no_free_slot++;
        return VPC_DHCP_DROPPED;
    }
    addr = choose_address(s, &c, rq->requested);
    if (!addr) {
        s->stats.no_free_address++;
        return VPC_DHCP_DROPPED;
    }
    l = c.lease ? c.lease : lease_alloc(s, c.mac);
    if (!l) {
        s->stats.no_free_slot++;
        return VPC_DHCP_DROPPED;
    }
    if (!(l->state == VPC_DHCP_LEASE_BOUND && l->addr == addr)) {
        lease_set_addr(s, l, addr);
        l->state = VPC_DHCP_LEASE_OFFERED;
        l->expires = add_sat(rq->now, s->cfg.offer_hold);
    }
    note_client(l, rq);
    return send_reply(s, rq, VPC_DHCPOFFER, addr, true, rq->msg->hdr.ciaddr,
                      NULL, rb);
}

/* Bind @addr to @c and ACK, or NAK when @addr is not the client's. */
static VpcDhcpResult commit_binding(VpcDhcpServer *s, const VpcDhcpRequest *rq,
                                    VpcDhcpClient *c, uint32_t addr,
                                    const VpcDhcpReplyBuf *rb)
{
    VpcDhcpLease *l;
    uint64_t expires = add_sat(rq->now, s->cfg.lease_time);
    bool same_binding;

    if (!addr_usable(s, addr, c, true)) {
        return send_nak(s, rq, "address not available", rb);
    }
    if (!c->lease) {
        c->lease = lease_alloc(s, c->mac);
        if (!c->lease) {
            s->stats.no_free_slot++;
            return VPC_DHCP_DROPPED;
        }
    }
    l = c->lease;
    same_binding = l->state == VPC_DHCP_LEASE_BOUND && l->addr == addr;
    /*
     * A renewal is written out only once it moved the expiry by an
     * eighth of a lease: a client that spams REQUESTs must not make us
     * fsync per packet.  Lost at a crash is at most that eighth.
     */
    if (!same_binding
        || expires - l->saved_expires > s->cfg.lease_time / 8) {
        s->dirty = true;
    }
    lease_set_addr(s, l, addr);
    l->state = VPC_DHCP_LEASE_BOUND;
    l->expires = expires;
    note_client(l, rq);
    return send_reply(s, rq, VPC_DHCPACK, addr, true, rq->msg->hdr.ciaddr,
                      NULL, rb);
}

static VpcDhcpResult handle_request(VpcDhcpServer *s, const VpcDhcpRequest *rq,
                                    const VpcDhcpReplyBuf *rb)
{
    const VpcDhcpHeader *h = &rq->msg->hdr;
    VpcDhcpClient c;
    uint32_t addr;

    s->stats.rx_request++;
    client_lookup(s, h->chaddr, &c);
    if (rq->has_server_id) {
        /* SELECTING: the client answers one of the OFFERs it got. */
        if (rq->server_id != s->cfg.server_ip) {
            if (c.lease && c.lease->state == VPC_DHCP_LEASE_OFFERED) {
                c.lease->state = VPC_DHCP_LEASE_RELEASED;
                c.lease->expires = rq->now;
            }
            s->stats.offer_cancelled++;
            return VPC_DHCP_CONSUMED;
        }
        if (!rq->requested) {
            s->stats.bad_request++;
            return VPC_DHCP_DROPPED;
        }
        addr = rq->requested;
    } else if (!h->ciaddr) {
        /* INIT-REBOOT: the client asks to keep what it had. */
        if (!rq->requested) {
            s->stats.bad_request++;
            return VPC_DHCP_DROPPED;
        }
        addr = rq->requested;
    } else {
        /* RENEWING (unicast to us) or REBINDING (broadcast). */
        if (rq->requested && rq->requested != h->ciaddr) {
            return send_nak(s, rq, "requested address is not ciaddr", rb);
        }
        addr = h->ciaddr;
    }

    if (!in_subnet(s, addr)) {
        return send_nak(s, rq, "wrong network", rb);
    }
    if (c.lease) {
        if (c.lease->addr != addr) {
            return send_nak(s, rq, "not your address", rb);
        }
    } else if (!s->cfg.authoritative) {
        /* RFC 2131 section 4.3.2: no record of the client, stay silent. */
        s->stats.unknown_client++;
        return VPC_DHCP_DROPPED;
    }
    return commit_binding(s, rq, &c, addr, rb);
}

static VpcDhcpResult handle_decline(VpcDhcpServer *s, const VpcDhcpRequest *rq)
{
    VpcDhcpLease *l;

    s->stats.rx_decline++;
    if (!rq->has_server_id || !rq->requested) {
        s->stats.bad_request++;
        return VPC_DHCP_DROPPED;
    }
    if (rq->server_id != s->cfg.server_ip) {
        s->stats.wrong_server++;
        return VPC_DHCP_DROPPED;
    }
    /* Only the holder may decline: nobody can lock others out. */
    l = lease_by_mac(s, rq->msg->hdr.chaddr);
    if (!l || l->addr != rq->requested
        || (l->state != VPC_DHCP_LEASE_BOUND
            && l->state != VPC_DHCP_LEASE_OFFERED)) {
        s->stats.decline_ignored++;
        return VPC_DHCP_CONSUMED;
    }
    s->stats.declined++;
    s->dirty = true;
    if (!s->cfg.decline_hold) {
        lease_clear(s, l);
        return VPC_DHCP_CONSUMED;
    }
    memset(l->mac, 0, VPC_ETH_ALEN);
    l->hostname[0] = '\0';
    l->state = VPC_DHCP_LEASE_DECLINED;
    l->expires = add_sat(rq->now, s->cfg.decline_hold);
    return VPC_DHCP_CONSUMED;
}

static VpcDhcpResult handle_release(VpcDhcpServer *s, const VpcDhcpRequest *rq)
{
    VpcDhcpLease *l;

    s->stats.rx_release++;
    if (rq->has_server_id && rq->server_id != s->cfg.server_ip) {
        s->stats.wrong_server++;
        return VPC_DHCP_DROPPED;
    }
    l = lease_by_mac(s, rq->msg->hdr.chaddr);
    if (!l || l->state != VPC_DHCP_LEASE_BOUND
        || l->addr != rq->msg->hdr.ciaddr) {
        s->stats.release_ignored++;
        return VPC_DHCP_CONSUMED;
    }
    /* Keep the record: the client gets this address back next time. */
    l->state = VPC_DHCP_LEASE_RELEASED;
    l->expires = rq->now;
    s->stats.released++;
    s->dirty = true;
    return VPC_DHCP_CONSUMED;
}

static VpcDhcpResult handle_inform(VpcDhcpServer *s, const VpcDhcpRequest *rq,
                                   const VpcDhcpReplyBuf *rb)
{
    /* Some clients leave ciaddr empty; their source address says it. */
    uint32_t addr = rq->msg->hdr.ciaddr ? rq->msg->hdr.ciaddr : rq->ip->src;

    s->stats.rx_inform++;
    if (!addr) {
        s->stats.inform_no_address++;
        return VPC_DHCP_DROPPED;
    }
    if (!in_subnet(s, addr)) {
        s->stats.wrong_subnet++;
        return VPC_DHCP_DROPPED;
    }
    return send_reply(s, rq, VPC_DHCPACK, 0, false, addr, NULL, rb);
}

/*
 * A frame whose Ethernet, IPv4 or UDP layer does not parse is counted
 * but left to the caller: it is not a DHCP request we could read, and a
 * switch forwards such frames like any other (guests may speak what
 * they like to each other).  A DHCP payload that does not parse is
 * addressed to us, so it is dropped.
 */
static VpcDhcpResult count_malformed(VpcDhcpServer *s, int err)
{
    s->stats.malformed[-err]++;
    return VPC_DHCP_NOT_DHCP;
}

static VpcDhcpResult count_malformed_dhcp(VpcDhcpServer *s, int err)
{
    s->stats.malformed[-err]++;
    return VPC_DHCP_DROPPED;
}

VpcDhcpResult vpc_dhcp_server_input(VpcDhcpServer *s, unsigned port,
                                    const uint8_t *frame, size_t len,
                                    uint64_t now, uint8_t *reply,
                                    size_t reply_cap, VpcDhcpReply *out)
{
    VpcEthView eth;
    VpcIpv4View ip;
    VpcUdpView udp;
    VpcDhcpView msg;
    VpcDhcpRequest rq;
    VpcDhcpReplyBuf rb = { .buf = reply, .cap = reply_cap, .out = out };
    const VpcDhcpHeader *h = &msg.hdr;
    VpcDhcpResult result;
    VpcDhcpOpt opt;
    int ret;

    memset(out, 0, sizeof(*out));
    s->stats.frames++;

    /* Cheap tests first: most frames on a port are not for us. */
    ret = vpc_eth_parse(frame, len, &eth);
    if (ret < 0) {
        return count_malformed(s, ret);
    }
    if (eth.has_vlan) {
        s->stats.vlan_tagged++;
        return VPC_DHCP_NOT_DHCP;
    }
    if (eth.ethertype != VPC_ETHERTYPE_IPV4) {
        s->stats.not_dhcp++;
        return VPC_DHCP_NOT_DHCP;
    }
    if (!vpc_mac_is_broadcast(eth.dst)
        && !vpc_mac_equal(eth.dst, s->cfg.server_mac)) {
        s->stats.other_destination++;
        return VPC_DHCP_NOT_DHCP;
    }
    ret = vpc_ipv4_parse(eth.payload, eth.payload_len, &ip);
    if (ret < 0) {
        return count_malformed(s, ret);
    }
    if (ip.protocol != VPC_IP_PROTO_UDP) {
        s->stats.not_dhcp++;
        return VPC_DHCP_NOT_DHCP;
    }
    if (ip.dst != VPC_IPV4_BROADCAST && ip.dst != s->cfg.server_ip
        && ip.dst != s->subnet_bcast) {
        s->stats.other_destination++;
        return VPC_DHCP_NOT_DHCP;
    }
    if (ip.is_fragment) {
        s->stats.fragments++;
        return VPC_DHCP_DROPPED;
    }
    ret = vpc_udp_parse(&ip, &udp);
    if (ret < 0) {
        return count_malformed(s, ret);
    }
    if (udp.dst_port != VPC_DHCP_SERVER_PORT) {
        s->stats.not_dhcp++;
        return VPC_DHCP_NOT_DHCP;
    }
    ret = vpc_dhcp_parse(udp.payload, udp.payload_len, &msg);
    if (ret < 0) {
        return count_malformed_dhcp(s, ret);
    }
    if (h->op != VPC_BOOTREQUEST) {
        s->stats.not_bootrequest++;
        return VPC_DHCP_DROPPED;
    }
    if (h->htype != VPC_DHCP_HTYPE_ETHER || h->hlen != VPC_ETH_ALEN
        || !mac_is_client(h->chaddr)) {
        s->stats.bad_hardware++;
        return VPC_DHCP_DROPPED;
    }
    if (!msg.msg_type) {
        s->stats.no_message_type++;
        return VPC_DHCP_DROPPED;
    }
    if (reply_cap < VPC_DHCP_REPLY_MAX) {
        s->stats.reply_no_space++;
        return VPC_DHCP_DROPPED;
    }
    if (h->giaddr && !in_subnet(s, h->giaddr)) {
        s->stats.wrong_subnet++;
        return VPC_DHCP_DROPPED;
    }

    memset(&rq, 0, sizeof(rq));
    rq.port = port;
    rq.now = now;
    rq.eth = &eth;
    rq.ip = &ip;
    rq.msg = &msg;
    vpc_dhcp_opt_get_ipv4(&msg, VPC_DHCP_OPT_REQUESTED_IP, &rq.requested);
    if (vpc_dhcp_opt_find(&msg, VPC_DHCP_OPT_SERVER_ID, &opt)
        && opt.len == 4) {
        rq.has_server_id = true;
        rq.server_id = vpc_get_be32(opt.data);
    }

    leases_expire(s, now);
    switch (msg.msg_type) {
    case VPC_DHCPDISCOVER:
        result = handle_discover(s, &rq, &rb);
        break;
    case VPC_DHCPREQUEST:
        result = handle_request(s, &rq, &rb);
        break;
    case VPC_DHCPDECLINE:
        result = handle_decline(s, &rq);
        break;
    case VPC_DHCPRELEASE:
        result = handle_release(s, &rq);
        break;
    case VPC_DHCPINFORM:
        result = handle_inform(s, &rq, &rb);
        break;
    default:
        s->stats.bad_message_type++;
        result = VPC_DHCP_DROPPED;
        break;
    }
    return result;
}

/* Restoring a stored table */

const char *vpc_dhcp_server_restore(VpcDhcpServer *s,
                                    const VpcDhcpLeaseInfo *info)
{
    VpcDhcpClient c;
    VpcDhcpLease *l;
    const char *hostname = info->hostname ? info->hostname : "";

    switch (info->state) {
    case VPC_DHCP_LEASE_BOUND:
    case VPC_DHCP_LEASE_RELEASED:
        if (!mac_is_client(info->mac)) {
            return "bad MAC address";
        }
        break;
    case VPC_DHCP_LEASE_DECLINED:
        if (!vpc_mac_is_zero(info->mac)) {
            return "a declined address names a client";
        }
        break;
    default:
        return "unknown state";
    }
    if (hostname[0] && !hostname_valid(hostname, strlen(hostname))) {
        return "bad host name";
    }

    if (info->state == VPC_DHCP_LEASE_DECLINED) {
        /* Check the address as its reserved owner, if any, would. */
        const VpcDhcpReservation *r = reservation_by_addr(s, info->addr);

        client_lookup(s, r ? r->mac : info->mac, &c);
        c.lease = NULL;
    } else {
        client_lookup(s, info->mac, &c);
        if (c.lease) {
            return "second entry for one client";
        }
    }
    if (lease_by_addr(s, info->addr)) {
        return "second entry for one address";
    }
    if (!addr_usable(s, info->addr, &c, false)) {
        return "address not in the range, reserved (for another client, or "
               "this client has a reservation elsewhere) or one of ours";
    }
    l = lease_find_slot(s);
    if (!l || l->state != VPC_DHCP_LEASE_FREE) {
        return "more entries than max-leases";
    }
    memcpy(l->mac, info->mac, VPC_ETH_ALEN);
    l->state = info->state;
    lease_set_addr(s, l, info->addr);
    l->expires = info->expires;
    l->saved_expires = info->expires;
    snprintf(l->hostname, sizeof(l->hostname), "%s", hostname);
    return NULL;
}

bool vpc_dhcp_server_dirty(const VpcDhcpServer *s)
{
    return s->dirty;
}

void vpc_dhcp_server_saved(VpcDhcpServer *s)
{
    s->dirty = false;
    for (unsigned i = 0; i < s->cfg.max_leases; i++) {
        s->leases[i].saved_expires = s->leases[i].expires;
    }
}

/* Creation and listing */

VpcDhcpServer *vpc_dhcp_server_new(const VpcDhcpConfig *cfg)
{
    VpcDhcpServer *s;
    char err[128];

    if (vpc_dhcp_config_check(cfg, err, sizeof(err)) < 0) {
        if (cfg->log) {
            cfg->log(cfg->log_opaque, err);
        }
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return NULL;
    }
    s->cfg = *cfg;
    s->cfg.reservations = NULL;
    s->subnet = cfg->server_ip & cfg->netmask;
    s->subnet_bcast = s->subnet | ~cfg->netmask;
    s->range_size = cfg->range_end - cfg->range_start + 1;
    s->n_res = cfg->n_reservations;

    s->leases = calloc(cfg->max_leases, sizeof(*s->leases));
    s->range_slot = calloc(s->range_size, sizeof(*s->range_slot));
    if (s->n_res) {
        s->res_by_addr = calloc(s->n_res, sizeof(*s->res_by_addr));
        s->res_by_mac = calloc(s->n_res, sizeof(*s->res_by_mac));
    }
    if (!s->leases || !s->range_slot
        || (s->n_res && (!s->res_by_addr || !s->res_by_mac))) {
        vpc_dhcp_server_free(s);
        return NULL;
    }
    if (s->n_res) {
        memcpy(s->res_by_addr, cfg->reservations,
               s->n_res * sizeof(*s->res_by_addr));
        qsort(s->res_by_addr, s->n_res, sizeof(*s->res_by_addr),
              res_addr_cmp);
        for (unsigned i = 0; i < s->n_res; i++) {
            s->res_by_mac[i] = &s->res_by_addr[i];
        }
        qsort(s->res_by_mac, s->n_res, sizeof(*s->res_by_mac), res_mac_cmp);
    }

    return s;
}

void vpc_dhcp_server_free(VpcDhcpServer *s)
{
    if (!s) {
        return;
    }
    free(s->leases);
    free(s->range_slot);
    free(s->res_by_addr);
    free(s->res_by_mac);
    free(s);
}

uint32_t vpc_dhcp_server_ip(const VpcDhcpServer *s)
{
    return s->cfg.server_ip;
}

const VpcDhcpStats *vpc_dhcp_server_stats(const VpcDhcpServer *s)
{
    return &s->stats;
}

const char *vpc_dhcp_lease_state_name(VpcDhcpLeaseState state)
{
    switch (state) {
    case VPC_DHCP_LEASE_FREE:
        return "free";
    case VPC_DHCP_LEASE_OFFERED:
        return "offered";
    case VPC_DHCP_LEASE_BOUND:
        return "bound";
    case VPC_DHCP_LEASE_RELEASED:
        return "released";
    case VPC_DHCP_LEASE_DECLINED:
        return "declined";
    }
    return "unknown";
}

unsigned vpc_dhcp_server_foreach_lease(VpcDhcpServer *s, uint64_t now,
                                       VpcDhcpLeaseFn *fn, void *opaque)
{
    unsigned listed = 0;

    leases_expire(s, now);
    for (unsigned i = 0; i < s->cfg.max_leases; i++) {
        const VpcDhcpLease *l = &s->leases[i];
        const VpcDhcpReservation *r;
        VpcDhcpLeaseInfo info;

        if (l->state == VPC_DHCP_LEASE_FREE) {
            continue;
        }
        r = reservation_by_addr(s, l->addr);
        memset(&info, 0, sizeof(info));
        memcpy(info.mac, l->mac, VPC_ETH_ALEN);
        info.addr = l->addr;
        info.state = l->state;
        info.expires = l->expires;
        info.reserved = r && vpc_mac_equal(r->mac, l->mac);
        info.port = l->port;
        info.hostname = l->hostname;
        fn(opaque, &info);
        listed++;
    }
    return listed;
}
