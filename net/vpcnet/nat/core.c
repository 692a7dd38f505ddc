/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT core: configuration, creation, the dispatch of guest frames
 * to the protocol files, frames to the guest, the guests' addresses,
 * timers and watches.  The theory of operation is in nat.h.
 *
 * Dispatch: a frame from the guest is parsed one layer at a time.
 * Ethernet: it must be for the gateway's MAC, or broadcast/multicast;
 * ARP goes to arp.c.  IPv4: DHCP (to port 67) goes to the DHCP server
 * before anything else; otherwise the source must be a guest address
 * of the subnet (learned, with its MAC, for the frames back), fragments
 * are dropped, and TCP, UDP and ICMP go to their files.  IPv6 likewise,
 * with NDP and DHCPv6 answered here.
 *
 * Timers: every flow may have one protocol timer (tcp.c's retransmission
 * and connect timers, mostly); flows with one are on a list, and the
 * embedder's one timer is armed for the earliest, with NAT_TIMER_SLACK_NS
 * of slack so that a burst of deadlines costs one wake-up.  Idle flows
 * are swept once a second from the old end of each type's LRU list.
 */
#include "net/vpcnet/nat/nat-impl.h"
#include "net/vpcnet/arp.h"
#include "net/vpcnet/icmp6.h"
#include "net/vpcnet/macaddr.h"
#include "net/vpcnet/parse.h"

#include <arpa/inet.h>
#include <assert.h>
#include <linux/virtio_net.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Addresses */

void nat_addr_from_v4(NatAddr *n, uint32_t v4)
{
    memset(n->a, 0, 10);
    n->a[10] = 0xff;
    n->a[11] = 0xff;
    vpc_put_be32(n->a + 12, v4);
}

uint32_t nat_addr_v4(const NatAddr *n)
{
    return vpc_get_be32(n->a + 12);
}

bool nat_addr_is_v4(const NatAddr *n)
{
    return vpc_ipv6_is_v4mapped(n->a);
}

bool nat_addr_eq(const NatAddr *a, const NatAddr *b)
{
    return memcmp(a->a, b->a, 16) == 0;
}

socklen_t nat_addr_to_sockaddr(const NatAddr *n, uint16_t port,
                               struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (nat_addr_is_v4(n)) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, n->a + 12, 4);
        return sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        memcpy(&sin6->sin6_addr, n->a, 16);
        return sizeof(*sin6);
    }
}

bool nat_addr_from_sockaddr(NatAddr *n, uint16_t *port,
                            const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

        nat_addr_from_v4(n, ntohl(sin->sin_addr.s_addr));
        *port = ntohs(sin->sin_port);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

        memcpy(n->a, &sin6->sin6_addr, 16);
        *port = ntohs(sin6->sin6_port);
        return true;
    }
    return false;
}

const char *nat_addr_format(const NatAddr *n, char *buf, size_t size)
{
    if (nat_addr_is_v4(n)) {
        inet_ntop(AF_INET, n->a + 12, buf, size);
    } else {
        inet_ntop(AF_INET6, n->a, buf, size);
    }
    return buf;
}

/* Drop reasons */

static const char *const drop_names[] = {
    [VPC_NAT_DROP_MALFORMED] = "malformed",
    [VPC_NAT_DROP_ETHERTYPE] = "ethertype",
    [VPC_NAT_DROP_VLAN] = "vlan",
    [VPC_NAT_DROP_NOT_FOR_US] = "not-for-us",
    [VPC_NAT_DROP_FAMILY_OFF] = "family-off",
    [VPC_NAT_DROP_FRAGMENT] = "fragment",
    [VPC_NAT_DROP_PROTOCOL] = "protocol",
    [VPC_NAT_DROP_SOURCE] = "source",
    [VPC_NAT_DROP_DEST] = "destination",
    [VPC_NAT_DROP_HOST_CLOSED] = "host-closed",
    [VPC_NAT_DROP_RESTRICTED] = "restricted",
    [VPC_NAT_DROP_TABLE_FULL] = "table-full",
    [VPC_NAT_DROP_SOCKET] = "socket",
    [VPC_NAT_DROP_NO_ECHO] = "no-echo-socket",
    [VPC_NAT_DROP_TCP_NO_FLOW] = "tcp-no-flow",
    [VPC_NAT_DROP_TCP_OUT_OF_ORDER] = "tcp-out-of-order",
    [VPC_NAT_DROP_TCP_BAD_ACK] = "tcp-bad-ack",
    [VPC_NAT_DROP_GUEST_BUSY] = "guest-busy",
    [VPC_NAT_DROP_NO_GUEST] = "no-guest-mac",
    [VPC_NAT_DROP_TOO_BIG] = "too-big",
    [VPC_NAT_DROP_ICMP_TYPE] = "icmp-type",
};
static_assert(sizeof(drop_names) / sizeof(drop_names[0]) ==
              VPC_NAT_DROP_COUNT, "one name per VpcNatDrop");

const char *vpc_nat_drop_name(VpcNatDrop d)
{
    return (unsigned)d < VPC_NAT_DROP_COUNT ? drop_names[d] : "unknown";
}

void nat_drop(VpcNat *nat, VpcNatDrop why)
{
    nat->stats.drops[why]++;
}

void nat_log(VpcNat *nat, VpcNatLogLevel level, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (!nat->cb.log) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    nat->cb.log(nat->opaque, level, msg);
}

/* Configuration */

void vpc_nat_config_init(VpcNatConfig *cfg)
{
    static const uint8_t prefix[16] = { 0xfe, 0xc0 };

    memset(cfg, 0, sizeof(*cfg));
    cfg->ipv4 = true;
    cfg->net = 0x0a000200;
    cfg->netmask = 0xffffff00;
    cfg->host = 0x0a000202;
    cfg->dns = 0x0a000203;
    cfg->dhcp_start = 0x0a00020f;
    cfg->dhcp = true;
    cfg->ipv6 = true;
    memcpy(cfg->ip6_prefix, prefix, 16);
    cfg->ip6_prefix_len = 64;
    memcpy(cfg->ip6_host, prefix, 16);
    cfg->ip6_host[15] = 2;
    memcpy(cfg->ip6_dns, prefix, 16);
    cfg->ip6_dns[15] = 3;
    cfg->mtu = 1500;
    cfg->max_flows = VPC_NAT_DEFAULT_FLOWS;
    cfg->tcp_idle_timeout = 7200;
    cfg->udp_idle_timeout = 180;
    cfg->resolv_conf = "/etc/resolv.conf";
    cfg->gateway_mac[0] = 0x52;
    cfg->gateway_mac[1] = 0x55;
    vpc_put_be32(cfg->gateway_mac + 2, cfg->host);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!errlen) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* "a.b.c.d[/len]" or "a.b.c.d/m.m.m.m"; the prefix length, or -1. */
static int parse_v4_prefix(const char *text, uint32_t *addr, int default_len)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    struct in_addr in;
    int len = default_len;

    if (strlen(text) >= sizeof(buf)) {
        return -1;
    }
    snprintf(buf, sizeof(buf), "%.*s",
             slash ? (int)(slash - text) : (int)strlen(text), text);
    if (inet_pton(AF_INET, buf, &in) != 1) {
        return -1;
    }
    *addr = ntohl(in.s_addr);
    if (slash) {
        uint64_t v;

        if (inet_pton(AF_INET, slash + 1, &in) == 1) {
            uint32_t m = ntohl(in.s_addr);

            len = __builtin_popcount(m);
            if (len && m != ~0u << (32 - len)) {
                return -1;
            }
            return len;
        }
        if (vpc_parse_u64(slash + 1, 32, &v) < 0) {
            return -1;
        }
        len = (int)v;
    }
    return len;
}

int vpc_nat_config_set_net(VpcNatConfig *cfg, const char *text, char *err,
                           size_t errlen)
{
    uint32_t addr, mask;
    int len = parse_v4_prefix(text, &addr, 24);

    if (len < 8 || len > 30) {
        set_err(err, errlen, "net=%s: not an IPv4 network a.b.c.d/8 to /30",
                text);
        return -1;
    }
    mask = ~0u << (32 - len);
    cfg->net = addr & mask;
    cfg->netmask = mask;
    cfg->host = cfg->net | 2;
    cfg->dns = cfg->net | 3;
    cfg->dhcp_start = cfg->net | 15;
    vpc_put_be32(cfg->gateway_mac + 2, cfg->host);
    return 0;
}

int vpc_nat_config_set_net6(VpcNatConfig *cfg, const char *text, char *err,
                            size_t errlen)
{
    char buf[80];
    const char *slash = strchr(text, '/');
    uint64_t len = 64;
    uint8_t a[16];

    snprintf(buf, sizeof(buf), "%.*s",
             slash ? (int)(slash - text) : (int)strlen(text), text);
    if (strlen(text) >= sizeof(buf) || inet_pton(AF_INET6, buf, a) != 1) {
        set_err(err, errlen, "ipv6-net=%s: not an IPv6 prefix", text);
        return -1;
    }
    if (slash) {
        if (vpc_parse_u64(slash + 1, 126, &len) < 0 || len < 8) {
            set_err(err, errlen, "ipv6-net=%s: prefix length must be 8 to "
                    "126", text);
            return -1;
        }
    }
    for (unsigned i = (unsigned)len; i < 128; i++) {
        a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
    }
    memcpy(cfg->ip6_prefix, a, 16);
    cfg->ip6_prefix_len = (unsigned)len;
    memcpy(cfg->ip6_host, a, 16);
    cfg->ip6_host[15] |= 2;
    memcpy(cfg->ip6_dns, a, 16);
    cfg->ip6_dns[15] |= 3;
    return 0;
}

int vpc_nat_config_check(const VpcNatConfig *cfg, char *err, size_t errlen)
{
    uint32_t bcast = cfg->net | ~cfg->netmask;
    char a[64];

    if (!cfg->ipv4 && !cfg->ipv6) {
        set_err(err, errlen, "ipv4=off and ipv6=off: nothing to serve");
        return -1;
    }
    if (cfg->ipv4) {
        if (cfg->netmask == 0 || cfg->netmask != ~0u << __builtin_ctz(
                cfg->netmask) || (cfg->netmask & 0xff000000u) != 0xff000000u
            || (~cfg->netmask) < 3) {
            set_err(err, errlen, "net: the mask must be /8 to /30");
            return -1;
        }
        if ((cfg->net & ~cfg->netmask) != 0) {
            set_err(err, errlen, "net: host bits set in the network address");
            return -1;
        }
#define IN_SUBNET(x) (((x) & cfg->netmask) == cfg->net && (x) != cfg->net && \
                      (x) != bcast)
        if (!IN_SUBNET(cfg->host)) {
            set_err(err, errlen, "host=%s is not an address of net=",
                    vpc_ipv4_format(cfg->host, a));
            return -1;
        }
        if (!IN_SUBNET(cfg->dns)) {
            set_err(err, errlen, "dns=%s is not an address of net=",
                    vpc_ipv4_format(cfg->dns, a));
            return -1;
        }
        if (cfg->dns == cfg->host) {
            set_err(err, errlen, "dns= and host= must differ");
            return -1;
        }
        if (!IN_SUBNET(cfg->dhcp_start) || cfg->dhcp_start == cfg->host ||
            cfg->dhcp_start == cfg->dns) {
            set_err(err, errlen, "dhcpstart=%s is not a free address of "
                    "net=", vpc_ipv4_format(cfg->dhcp_start, a));
            return -1;
        }
#undef IN_SUBNET
    }
    if (cfg->ipv6) {
        if (cfg->ip6_prefix_len < 8 || cfg->ip6_prefix_len > 126) {
            set_err(err, errlen, "ipv6-net: prefix length must be 8 to 126");
            return -1;
        }
        if (vpc_ipv6_is_multicast(cfg->ip6_prefix) ||
            vpc_ipv6_is_link_local(cfg->ip6_prefix)) {
            set_err(err, errlen, "ipv6-net: not a unicast global prefix");
            return -1;
        }
        if (!vpc_ipv6_prefix_match(cfg->ip6_host, cfg->ip6_prefix,
                                   cfg->ip6_prefix_len)) {
            set_err(err, errlen, "ipv6-host is not in ipv6-net");
            return -1;
        }
        if (!vpc_ipv6_prefix_match(cfg->ip6_dns, cfg->ip6_prefix,
                                   cfg->ip6_prefix_len)) {
            set_err(err, errlen, "ipv6-dns is not in ipv6-net");
            return -1;
        }
        if (memcmp(cfg->ip6_host, cfg->ip6_dns, 16) == 0) {
            set_err(err, errlen, "ipv6-dns and ipv6-host must differ");
            return -1;
        }
    }
    if (cfg->mtu < VPC_NAT_MTU_MIN || cfg->mtu > VPC_NAT_MTU_MAX) {
        set_err(err, errlen, "mtu=%u: must be %u to %u", cfg->mtu,
                VPC_NAT_MTU_MIN, VPC_NAT_MTU_MAX);
        return -1;
    }
    if (cfg->ipv6 && cfg->mtu < VPC_IPV6_MIN_MTU) {
        set_err(err, errlen, "mtu=%u: IPv6 needs at least %u (or ipv6=off)",
                cfg->mtu, VPC_IPV6_MIN_MTU);
        return -1;
    }
    if (cfg->max_flows < 16 || cfg->max_flows > VPC_NAT_MAX_FLOWS) {
        set_err(err, errlen, "max-flows=%u: must be 16 to %u",
                cfg->max_flows, VPC_NAT_MAX_FLOWS);
        return -1;
    }
    if (cfg->tcp_idle_timeout == 0 || cfg->udp_idle_timeout == 0) {
        set_err(err, errlen, "idle timeouts must be at least one second");
        return -1;
    }
    if (cfg->vnet_hdr_len != 0 && cfg->vnet_hdr_len != 10 &&
        cfg->vnet_hdr_len != 12) {
        set_err(err, errlen, "virtio-net header length %u: must be 0, 10 "
                "or 12", cfg->vnet_hdr_len);
        return -1;
    }
    if (!cfg->resolv_conf || !cfg->resolv_conf[0]) {
        set_err(err, errlen, "no resolv.conf path");
        return -1;
    }
    if (vpc_mac_is_multicast(cfg->gateway_mac) ||
        vpc_mac_is_zero(cfg->gateway_mac)) {
        set_err(err, errlen, "the gateway MAC must be unicast");
        return -1;
    }
    return 0;
}

/* The guests' addresses */

void nat_learn_guest(VpcNat *nat, const NatAddr *addr, const uint8_t *mac)
{
    NatNeigh *oldest = &nat->neigh[0];

    if (vpc_mac_is_multicast(mac) || vpc_mac_is_zero(mac)) {
        return;
    }
    for (unsigned i = 0; i < NAT_NEIGH_ENTRIES; i++) {
        NatNeigh *n = &nat->neigh[i];

        if (n->seen_ns && nat_addr_eq(&n->addr, addr)) {
            memcpy(n->mac, mac, 6);
            n->seen_ns = nat->now_ns;
            return;
        }
        if (n->seen_ns < oldest->seen_ns) {
            oldest = n;
        }
    }
    oldest->addr = *addr;
    memcpy(oldest->mac, mac, 6);
    oldest->seen_ns = nat->now_ns;
}

bool nat_guest_mac(VpcNat *nat, const NatAddr *addr, uint8_t mac[6])
{
    for (unsigned i = 0; i < NAT_NEIGH_ENTRIES; i++) {
        NatNeigh *n = &nat->neigh[i];

        if (n->seen_ns && nat_addr_eq(&n->addr, addr)) {
            memcpy(mac, n->mac, 6);
            return true;
        }
    }
    /* Ask, as a router would; the caller's frame is lost meanwhile. */
    if (nat_addr_is_v4(addr)) {
        nat_arp_request(nat, nat_addr_v4(addr));
    } else {
        nat_ndp_solicit(nat, addr);
    }
    nat_drop(nat, VPC_NAT_DROP_NO_GUEST);
    return false;
}

bool nat_is_virtual_addr(const VpcNat *nat, const NatAddr *a)
{
    return nat_addr_eq(a, &nat->gw4) || nat_addr_eq(a, &nat->dns4) ||
           nat_addr_eq(a, &nat->gw6) || nat_addr_eq(a, &nat->dns6) ||
           nat_addr_eq(a, &nat->gw6_ll);
}

bool nat_is_dns_addr(const VpcNat *nat, const NatAddr *a)
{
    return (nat->cfg.ipv4 && nat_addr_eq(a, &nat->dns4)) ||
           (nat->cfg.ipv6 && nat_addr_eq(a, &nat->dns6));
}

/* Frames to the guest */

bool nat_send_frame(VpcNat *nat, uint8_t *frame, size_t len)
{
    struct iovec iov = { .iov_base = frame, .iov_len = len };

    if (!nat->cb.send_frame(nat->opaque, &iov, 1, len)) {
        nat->guest_busy = true;
        nat_drop(nat, VPC_NAT_DROP_GUEST_BUSY);
        return false;
    }
    nat->stats.tx_frames++;
    return true;
}

void nat_put_vnet(VpcNat *nat, uint8_t *buf)
{
    if (nat->tx_vnet) {
        memset(buf, 0, nat->tx_vnet);
        /* struct virtio_net_hdr's flags: the first byte. */
        buf[0] = (nat->tx_offloads & VPC_NAT_OFFLOAD_CSUM)
                 ? VIRTIO_NET_HDR_F_DATA_VALID : 0;
    }
}

int vpc_nat_set_vnet(VpcNat *nat, unsigned rx_len, unsigned tx_len,
                     unsigned offloads)
{
    if ((rx_len != 0 && rx_len != 10 && rx_len != 12) ||
        (tx_len != 0 && tx_len != 10 && tx_len != 12)) {
        return -1;
    }
    nat->rx_vnet = rx_len;
    nat->tx_vnet = tx_len;
    /* GSO needs partial checksums; neither goes without a header. */
    if (!tx_len || !(offloads & VPC_NAT_OFFLOAD_CSUM)) {
        offloads = 0;
    }
    nat->tx_offloads = offloads;
    return 0;
}

size_t nat_l4_offset(const VpcNat *nat, const NatAddr *src)
{
    return nat->tx_vnet + VPC_ETH_HLEN +
           (nat_addr_is_v4(src) ? VPC_IPV4_HLEN : VPC_IPV6_HLEN);
}

static bool send_ip(VpcNat *nat, uint8_t *buf, const NatAddr *src,
                    const NatAddr *dst, const uint8_t *dst_mac, uint8_t proto,
                    size_t l4_len, int csum_off, uint8_t ttl)
{
    size_t vnet = nat->tx_vnet;
    uint8_t *eth = buf + vnet;
    uint8_t *ip = eth + VPC_ETH_HLEN;
    bool v4 = nat_addr_is_v4(src);
    uint8_t *l4 = ip + (v4 ? VPC_IPV4_HLEN : VPC_IPV6_HLEN);
    size_t len;

    nat_put_vnet(nat, buf);
    vpc_eth_put_header(eth, dst_mac, nat->cfg.gateway_mac,
                       v4 ? VPC_ETHERTYPE_IPV4 : VPC_ETHERTYPE_IPV6);
    if (v4) {
        vpc_ipv4_put_header(ip, nat_addr_v4(src), nat_addr_v4(dst), proto,
                            (uint16_t)l4_len, nat->ip_id++, ttl, true);
    } else {
        vpc_ipv6_put_header(ip, src->a, dst->a, proto, (uint16_t)l4_len, ttl);
    }
    if (csum_off >= 0) {
        uint16_t sum;

        vpc_put_be16(l4 + csum_off, 0);
        sum = v4 ? vpc_l4_checksum_ipv4(nat_addr_v4(src), nat_addr_v4(dst),
                                        proto, l4, l4_len)
                 : vpc_l4_checksum_ipv6(src->a, dst->a, proto, l4, l4_len);
        if (sum == 0 && proto == VPC_IP_PROTO_UDP) {
            sum = 0xffff;
        }
        vpc_put_be16(l4 + csum_off, sum);
    }
    len = (size_t)(l4 - buf) + l4_len;
    /* Ethernet's minimum; the padding is not part of the IP packet. */
    while (len < vnet + VPC_ETH_MIN_LEN) {
        buf[len++] = 0;
    }
    return nat_send_frame(nat, buf, len);
}

bool nat_send_ip(VpcNat *nat, uint8_t *buf, const NatAddr *src,
                 const NatAddr *dst, const uint8_t *dst_mac, uint8_t proto,
                 size_t l4_len, int csum_off)
{
    return send_ip(nat, buf, src, dst, dst_mac, proto, l4_len, csum_off, 64);
}

bool nat_send_ndp(VpcNat *nat, uint8_t *buf, const NatAddr *src,
                  const NatAddr *dst, const uint8_t *dst_mac, size_t l4_len)
{
    return send_ip(nat, buf, src, dst, dst_mac, VPC_IPV6_NH_ICMPV6, l4_len, 2,
                   255);
}

/* Timers */

static void nat_arm(VpcNat *nat, int64_t deadline)
{
    if (deadline < nat->armed_ns) {
        nat->armed_ns = deadline;
        nat->cb.timer_mod(nat->opaque, deadline);
    }
}

void nat_arm_at(VpcNat *nat, int64_t deadline_ns)
{
    nat_arm(nat, deadline_ns + NAT_TIMER_SLACK_NS);
}

void nat_flow_set_timer(VpcNat *nat, NatFlow *f, int64_t deadline_ns)
{
    uint32_t idx = nat_flow_index(nat, f);
    bool listed = f->timer_ns != 0;

    if (!deadline_ns && listed) {
        if (f->timer_prev != NAT_NONE) {
            nat->flows[f->timer_prev].timer_next = f->timer_next;
        } else {
            nat->timer_head = f->timer_next;
        }
        if (f->timer_next != NAT_NONE) {
            nat->flows[f->timer_next].timer_prev = f->timer_prev;
        }
        f->timer_prev = f->timer_next = NAT_NONE;
    } else if (deadline_ns && !listed) {
        f->timer_prev = NAT_NONE;
        f->timer_next = nat->timer_head;
        if (nat->timer_head != NAT_NONE) {
            nat->flows[nat->timer_head].timer_prev = idx;
        }
        nat->timer_head = idx;
    }
    f->timer_ns = deadline_ns;
    if (deadline_ns) {
        nat_arm(nat, deadline_ns + NAT_TIMER_SLACK_NS);
    }
}

void vpc_nat_timer(VpcNat *nat)
{
    int64_t next = INT64_MAX;
    uint32_t i;

    nat->now_ns = nat->cb.clock_ns(nat->opaque);
    nat->armed_ns = INT64_MAX;
    for (i = nat->timer_head; i != NAT_NONE;) {
        NatFlow *f = &nat->flows[i];

        i = f->timer_next;
        if (f->timer_ns <= nat->now_ns + NAT_TIMER_SLACK_NS) {
            nat_flow_set_timer(nat, f, 0);
            if (f->key.type == NAT_FLOW_TCP) {
                nat_tcp_timer(nat, f);
            }
        }
    }
    if (nat->now_ns >= nat->sweep_ns) {
        nat_flows_sweep(nat);
        nat->sweep_ns = nat->now_ns + NAT_SWEEP_NS;
    }
    if (nat->ra_ns && nat->now_ns >= nat->ra_ns) {
        nat_ndp_timer(nat);
    }
    nat_tcp_flush(nat);
    for (i = nat->timer_head; i != NAT_NONE; i = nat->flows[i].timer_next) {
        if (nat->flows[i].timer_ns < next) {
            next = nat->flows[i].timer_ns;
        }
    }
    if (nat->stats.flows_active && nat->sweep_ns < next) {
        next = nat->sweep_ns;
    }
    if (nat->ra_ns && nat->ra_ns < next) {
        next = nat->ra_ns;
    }
    if (next != INT64_MAX) {
        nat_arm(nat, next + NAT_TIMER_SLACK_NS);
    }
}

/* Watches */

void nat_watch(VpcNat *nat, int fd, unsigned events, VpcNatWatch *w)
{
    nat->cb.watch(nat->opaque, fd, events, w);
}

void nat_flow_watch(VpcNat *nat, NatFlow *f, unsigned events)
{
    if (f->fd >= 0 && f->events != events) {
        f->events = events;
        nat_watch(nat, f->fd, events, &f->watch);
    }
}

void vpc_nat_ready(VpcNatWatch *w, unsigned events)
{
    VpcNat *nat = w->nat;
    NatFlow *f;

    nat->now_ns = nat->cb.clock_ns(nat->opaque);
    switch (w->kind) {
    case NAT_WATCH_FLOW:
        f = nat_flow_at(nat, w->index);
        /* A stale event for a slot freed meanwhile does nothing. */
        if (!f || f->fd < 0 || !(f->events & events)) {
            break;
        }
        switch (f->key.type) {
        case NAT_FLOW_TCP:
            nat_tcp_ready(nat, f, events);
            break;
        case NAT_FLOW_UDP:
            nat_udp_ready(nat, f, events);
            break;
        case NAT_FLOW_ECHO:
            nat_echo_ready(nat, f, events);
            break;
        }
        break;
    case NAT_WATCH_FWD:
        nat_fwd_ready(nat, w->index, events);
        break;
    case NAT_WATCH_NETLINK:
        nat_host_addrs_ready(nat);
        break;
    case NAT_WATCH_RAW4:
        nat_echo_raw_ready(nat, AF_INET);
        break;
    case NAT_WATCH_RAW6:
        nat_echo_raw_ready(nat, AF_INET6);
        break;
    }
    nat_tcp_flush(nat);
}

void vpc_nat_guest_busy(VpcNat *nat)
{
    nat->guest_busy = true;
}

void vpc_nat_guest_ready(VpcNat *nat)
{
    nat->now_ns = nat->cb.clock_ns(nat->opaque);
    nat->guest_busy = false;
    nat_tcp_guest_ready(nat);
    nat_tcp_flush(nat);
}

/* Frames from the guest */

static bool mac_for_us(const VpcNat *nat, const uint8_t *dst)
{
    return vpc_mac_is_multicast(dst) ||
           vpc_mac_equal(dst, nat->cfg.gateway_mac);
}

static bool v4_in_subnet(const VpcNat *nat, uint32_t a)
{
    return (a & nat->cfg.netmask) == nat->cfg.net && a != nat->cfg.net &&
           a != (nat->cfg.net | ~nat->cfg.netmask);
}

static void ipv4_input(VpcNat *nat, const uint8_t *frame, size_t len,
                       const VpcEthView *eth)
{
    VpcIpv4View ip;
    VpcTcpView tcp;
    VpcUdpView udp;
    NatAddr src, dst;
    int ret;

    if (!nat->cfg.ipv4) {
        nat_drop(nat, VPC_NAT_DROP_FAMILY_OFF);
        return;
    }
    if (nat_dhcp_input(nat, frame, len)) {
        return;
    }
    ret = vpc_ipv4_parse(eth->payload, eth->payload_len, &ip);
    if (ret < 0) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return;
    }
    if (!v4_in_subnet(nat, ip.src) || ip.src == nat->cfg.host ||
        ip.src == nat->cfg.dns) {
        nat_drop(nat, VPC_NAT_DROP_SOURCE);
        return;
    }
    if (!vpc_mac_equal(eth->dst, nat->cfg.gateway_mac)) {
        /* Broadcast IP other than DHCP: nothing of ours listens. */
        nat_drop(nat, VPC_NAT_DROP_DEST);
        return;
    }
    nat_addr_from_v4(&src, ip.src);
    nat_addr_from_v4(&dst, ip.dst);
    nat_learn_guest(nat, &src, eth->src);
    if (ip.is_fragment) {
        nat_drop(nat, VPC_NAT_DROP_FRAGMENT);
        return;
    }
    switch (ip.protocol) {
    case VPC_IP_PROTO_TCP:
        if (vpc_tcp_parse(ip.payload, ip.payload_len, &tcp) < 0) {
            nat_drop(nat, VPC_NAT_DROP_MALFORMED);
            return;
        }
        nat_tcp_input(nat, eth, &src, &dst, ip.payload, ip.payload_len,
                      &tcp);
        break;
    case VPC_IP_PROTO_UDP:
        if (vpc_udp_parse_header(ip.payload, ip.payload_len, &udp) < 0) {
            nat_drop(nat, VPC_NAT_DROP_MALFORMED);
            return;
        }
        nat_udp_input(nat, eth, &src, &dst, &udp, ip.hdr, ip.total_len);
        break;
    case VPC_IP_PROTO_ICMP:
        nat_icmp4_input(nat, eth, &ip);
        break;
    default:
        nat_drop(nat, VPC_NAT_DROP_PROTOCOL);
        break;
    }
}

static bool v6_guest_source(const VpcNat *nat, const uint8_t *a)
{
    return vpc_ipv6_is_link_local(a) ||
           (vpc_ipv6_prefix_match(a, nat->cfg.ip6_prefix,
                                  nat->cfg.ip6_prefix_len) &&
            memcmp(a, nat->cfg.ip6_host, 16) != 0 &&
            memcmp(a, nat->cfg.ip6_dns, 16) != 0);
}

static void ipv6_input(VpcNat *nat, const VpcEthView *eth)
{
    VpcIpv6View ip;
    VpcTcpView tcp;
    VpcUdpView udp;
    NatAddr src, dst;

    if (!nat->cfg.ipv6) {
        nat_drop(nat, VPC_NAT_DROP_FAMILY_OFF);
        return;
    }
    if (vpc_ipv6_parse(eth->payload, eth->payload_len, &ip) < 0) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return;
    }
    if (ip.is_fragment) {
        nat_drop(nat, VPC_NAT_DROP_FRAGMENT);
        return;
    }
    if (ip.protocol == VPC_IPV6_NH_ICMPV6) {
        /* NDP, echo to us and to the outside: icmp.c sorts them. */
        nat_icmp6_input(nat, eth, &ip);
        return;
    }
    if (ip.protocol == VPC_IP_PROTO_UDP) {
        if (vpc_udp_parse_header(ip.l4, ip.l4_len, &udp) < 0) {
            nat_drop(nat, VPC_NAT_DROP_MALFORMED);
            return;
        }
        if (nat_dhcpv6_input(nat, eth, &ip, &udp)) {
            return;
        }
    }
    if (!v6_guest_source(nat, ip.src) || vpc_ipv6_is_multicast(ip.dst) ||
        !vpc_mac_equal(eth->dst, nat->cfg.gateway_mac)) {
        nat_drop(nat, vpc_ipv6_is_multicast(ip.dst) ? VPC_NAT_DROP_DEST
                                                    : VPC_NAT_DROP_SOURCE);
        return;
    }
    memcpy(src.a, ip.src, 16);
    memcpy(dst.a, ip.dst, 16);
    nat_learn_guest(nat, &src, eth->src);
    switch (ip.protocol) {
    case VPC_IP_PROTO_TCP:
        if (vpc_tcp_parse(ip.l4, ip.l4_len, &tcp) < 0) {
            nat_drop(nat, VPC_NAT_DROP_MALFORMED);
            return;
        }
        nat_tcp_input(nat, eth, &src, &dst, ip.l4, ip.l4_len, &tcp);
        break;
    case VPC_IP_PROTO_UDP:
        nat_udp_input(nat, eth, &src, &dst, &udp, ip.hdr,
                      VPC_IPV6_HLEN + ip.payload_len);
        break;
    default:
        nat_drop(nat, VPC_NAT_DROP_PROTOCOL);
        break;
    }
}

void vpc_nat_input(VpcNat *nat, const uint8_t *frame, size_t len)
{
    VpcEthView eth;

    nat->now_ns = nat->cb.clock_ns(nat->opaque);
    nat->stats.rx_frames++;
    if (len < nat->rx_vnet) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return;
    }
    /*
     * The virtio-net header only says what is offloaded: not needed, as
     * TCP and UDP checksums of the guest's are not verified (a guest
     * that lies about its own data hurts only its own connections).
     */
    frame += nat->rx_vnet;
    len -= nat->rx_vnet;
    if (vpc_eth_parse(frame, len, &eth) < 0) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return;
    }
    if (eth.has_vlan) {
        nat_drop(nat, VPC_NAT_DROP_VLAN);
        return;
    }
    if (!mac_for_us(nat, eth.dst)) {
        nat_drop(nat, VPC_NAT_DROP_NOT_FOR_US);
        return;
    }
    if (vpc_mac_is_multicast(eth.src) || vpc_mac_is_zero(eth.src)) {
        nat_drop(nat, VPC_NAT_DROP_SOURCE);
        return;
    }
    switch (eth.ethertype) {
    case VPC_ETHERTYPE_ARP:
        if (!nat->cfg.ipv4) {
            nat_drop(nat, VPC_NAT_DROP_FAMILY_OFF);
            return;
        }
        nat_arp_input(nat, frame, &eth);
        break;
    case VPC_ETHERTYPE_IPV4:
        ipv4_input(nat, frame, len, &eth);
        break;
    case VPC_ETHERTYPE_IPV6:
        ipv6_input(nat, &eth);
        break;
    default:
        nat_drop(nat, VPC_NAT_DROP_ETHERTYPE);
        break;
    }
}

void vpc_nat_input_done(VpcNat *nat)
{
    nat_tcp_flush(nat);
}

/* Creation */

VpcNat *vpc_nat_new(const VpcNatConfig *cfg, const VpcNatCallbacks *cb,
                    void *opaque, char *err, size_t errlen)
{
    VpcNat *nat;
    struct rlimit rl;

    if (vpc_nat_config_check(cfg, err, errlen) < 0) {
        return NULL;
    }
    if (!cb || !cb->send_frame || !cb->watch || !cb->timer_mod ||
        !cb->clock_ns) {
        set_err(err, errlen, "missing callbacks");
        return NULL;
    }
    nat = calloc(1, sizeof(*nat));
    if (!nat) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    nat->cfg = *cfg;
    nat->cb = *cb;
    nat->opaque = opaque;
    nat->armed_ns = INT64_MAX;
    nat->netlink_fd = nat->raw4_fd = nat->raw6_fd = -1;
    nat->now_ns = cb->clock_ns(opaque);
    nat->sweep_ns = nat->now_ns + NAT_SWEEP_NS;
    vpc_nat_set_vnet(nat, cfg->vnet_hdr_len, cfg->vnet_hdr_len,
                     VPC_NAT_OFFLOAD_CSUM | VPC_NAT_OFFLOAD_TSO4 |
                     VPC_NAT_OFFLOAD_TSO6);
    nat_addr_from_v4(&nat->gw4, cfg->host);
    nat_addr_from_v4(&nat->dns4, cfg->dns);
    memcpy(nat->gw6.a, cfg->ip6_host, 16);
    memcpy(nat->dns6.a, cfg->ip6_dns, 16);
    vpc_ipv6_link_local_from_mac(cfg->gateway_mac, nat->gw6_ll.a);
    for (unsigned i = 0; i < VPC_NAT_MAX_FWDS; i++) {
        nat->fwds[i].fd = -1;
    }

    /* Every flow holds at most one fd: leave room for the embedder's. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
        && rl.rlim_cur < (rlim_t)nat->cfg.max_flows + 64 + VPC_NAT_MAX_FWDS) {
        unsigned room = rl.rlim_cur > 64 + 64 + 16
                        ? (unsigned)rl.rlim_cur - 64 - 64 : 16;

        nat_log(nat, VPC_NAT_LOG_WARNING, "max-flows lowered from %u to %u: "
                "the file descriptor limit is %llu", nat->cfg.max_flows, room,
                (unsigned long long)rl.rlim_cur);
        nat->cfg.max_flows = room;
    }

    nat->ctrl = malloc(NAT_CTRL_FRAME_MAX);
    nat->udp_slot_size = NAT_HEADROOM + 65536;
    nat->udp_pool = malloc(nat->udp_slot_size * NAT_UDP_BATCH);
    if (!nat->ctrl || !nat->udp_pool) {
        set_err(err, errlen, "out of memory");
        vpc_nat_free(nat);
        return NULL;
    }
    if (nat_flows_init(nat, err, errlen) < 0 ||
        nat_tcp_init(nat, err, errlen) < 0 ||
        nat_dhcp_init(nat, err, errlen) < 0) {
        vpc_nat_free(nat);
        return NULL;
    }
    nat_host_addrs_init(nat);
    nat_icmp_init(nat);
    nat_resolvers_refresh(nat);
    return nat;
}

void vpc_nat_free(VpcNat *nat)
{
    if (!nat) {
        return;
    }
    nat_fwds_free(nat);
    nat_flows_free(nat);
    nat_icmp_free(nat);
    nat_host_addrs_free(nat);
    nat_dhcp_free(nat);
    if (nat->armed_ns != INT64_MAX) {
        nat->cb.timer_mod(nat->opaque, INT64_MAX);
    }
    free(nat->ctrl);
    free(nat->udp_pool);
    free(nat->tcp_pool);
    free(nat->discard);
    free(nat);
}

const VpcNatStats *vpc_nat_stats(const VpcNat *nat)
{
    return &nat->stats;
}

const VpcNatConfig *vpc_nat_config(const VpcNat *nat)
{
    return &nat->cfg;
}

/* "info network" */

typedef struct Text {
    char *buf;
    size_t size;
    size_t len;
} Text;

static void text_add(Text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void text_add(Text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(t->len < t->size ? t->buf + t->len : NULL,
                  t->len < t->size ? t->size - t->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        t->len += (size_t)n;
    }
}

size_t vpc_nat_describe(VpcNat *nat, char *buf, size_t size)
{
    const VpcNatConfig *c = &nat->cfg;
    Text t = { .buf = buf, .size = size };
    char a[64], b[64], d[64];
    bool any = false;

    if (size) {
        buf[0] = '\0';
    }
    if (c->ipv4) {
        text_add(&t, "net=%s/%d host=%s dns=%s",
                 vpc_ipv4_format(c->net, a), __builtin_popcount(c->netmask),
                 vpc_ipv4_format(c->host, b), vpc_ipv4_format(c->dns, d));
    }
    if (c->ipv6) {
        text_add(&t, "%sipv6-net=%s/%u", c->ipv4 ? " " : "",
                 inet_ntop(AF_INET6, c->ip6_prefix, a, sizeof(a)),
                 c->ip6_prefix_len);
    }
    text_add(&t, " mtu=%u%s%s\n", c->mtu,
             c->host_loopback ? " host-loopback" : " host-closed",
             c->restricted ? " restricted" : "");
    for (unsigned i = 0; i < VPC_NAT_MAX_FWDS; i++) {
        const VpcNatFwd *f = &nat->fwds[i].fwd;
        NatAddr ga;

        if (!nat->fwds[i].used) {
            continue;
        }
        inet_ntop(f->family, f->host_addr, a, sizeof(a));
        if (nat_fwd_guest_addr(nat, f, &ga)) {
            nat_addr_format(&ga, b, sizeof(b));
        } else {
            snprintf(b, sizeof(b), "(guest)");
        }
        text_add(&t, "  hostfwd %s %s%s%s:%u -> %s%s%s:%u\n",
                 f->udp ? "udp" : "tcp", f->family == AF_INET6 ? "[" : "", a,
                 f->family == AF_INET6 ? "]" : "", f->host_port,
                 f->guest_family == AF_INET6 ? "[" : "", b,
                 f->guest_family == AF_INET6 ? "]" : "", f->guest_port);
    }
    text_add(&t, "  flows %" PRIu64 "/%" PRIu64 " (tcp %u udp %u echo %u), "
             "peak %" PRIu64 "; frames in %" PRIu64 " out %" PRIu64 "\n",
             nat->stats.flows_active, nat->stats.flows_max,
             nat->type_count[NAT_FLOW_TCP], nat->type_count[NAT_FLOW_UDP],
             nat->type_count[NAT_FLOW_ECHO], nat->stats.flows_peak,
             nat->stats.rx_frames, nat->stats.tx_frames);
    text_add(&t, "  tcp opened %" PRIu64 " refused %" PRIu64 " timeouts %"
             PRIu64 " retransmits %" PRIu64 "; udp opened %" PRIu64
             "; dns %" PRIu64 " (failed fast %" PRIu64 "); echo %" PRIu64
             "\n", nat->stats.tcp_flows, nat->stats.tcp_refused,
             nat->stats.tcp_timeouts, nat->stats.tcp_retransmits,
             nat->stats.udp_flows, nat->stats.dns_queries,
             nat->stats.dns_servfail, nat->stats.echo_requests);
    for (unsigned i = 0; i < VPC_NAT_DROP_COUNT; i++) {
        if (nat->stats.drops[i]) {
            text_add(&t, "%s%s %" PRIu64, any ? ", " : "  drops: ",
                     drop_names[i], nat->stats.drops[i]);
            any = true;
        }
    }
    if (any) {
        text_add(&t, "\n");
    }
    return t.len;
}
