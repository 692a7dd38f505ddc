/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: ICMP and ICMPv6 echo, and errors towards the guest.
 *
 * Theory of operation
 *
 * Echo requests to the gateway or DNS address are answered here.  Echo
 * requests to the outside are carried by the host, in the first way it
 * allows (probed once, at creation):
 *   - an unprivileged "ping" socket (SOCK_DGRAM, IPPROTO_ICMP), one per
 *     echo flow (guest address and identifier): the kernel picks the
 *     identifier on the wire and matches the replies to the socket; we
 *     put the guest's identifier back.  The host must let our group use
 *     them (net.ipv4.ping_group_range, per network namespace);
 *   - else one raw socket per family, when the process holds CAP_NET_RAW
 *     (QEMU run as root where ping_group_range is the kernel's "1 0"):
 *     each flow gets an identifier of ours, unique among the raw flows,
 *     and a table from identifier to flow sorts the replies, which the
 *     raw socket sees with every other ICMP packet of the host;
 *   - else neither: one warning, the first time a guest pings out, and
 *     every request is dropped and counted (VPC_NAT_DROP_NO_ECHO).
 * Echo flows time out after NAT_ECHO_IDLE_S.  Other ICMP from the guest
 * is dropped: its errors are about our own frames to it, which the host
 * never sent.
 *
 * nat_icmp_unreach() builds the ICMP (or ICMPv6) destination
 * unreachable a guest gets when the host reports that its datagram could
 * not be delivered (udp.c), or when policy refuses it: the offending
 * packet is quoted from its IP header on, up to 576 bytes in all for
 * IPv4 (RFC 1812) and 1280 for IPv6 (RFC 4443).
 */
#include "net/vpcnet/nat/nat-impl.h"
#include "net/vpcnet/checksum.h"
#include "net/vpcnet/icmp6.h"

#include <errno.h>
#include <netinet/icmp6.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ICMP4_ERROR_MAX     576
#define ICMP6_ERROR_MAX     1280
#define ECHO_DATA_MAX       65535

int nat_icmp_init(VpcNat *nat)
{
    int fd;

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
    nat->ping4_ok = fd >= 0;
    if (fd >= 0) {
        close(fd);
    } else if (nat->cfg.ipv4) {
        nat->raw4_fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK |
                              SOCK_CLOEXEC, IPPROTO_ICMP);
    }
    fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    nat->ping6_ok = fd >= 0;
    if (fd >= 0) {
        close(fd);
    } else if (nat->cfg.ipv6) {
        nat->raw6_fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK |
                              SOCK_CLOEXEC, IPPROTO_ICMPV6);
        if (nat->raw6_fd >= 0) {
            struct icmp6_filter filter;

            ICMP6_FILTER_SETBLOCKALL(&filter);
            ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
            setsockopt(nat->raw6_fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter,
                       sizeof(filter));
        }
    }
    if (nat->raw4_fd >= 0 || nat->raw6_fd >= 0) {
        nat->raw_id_flow = malloc(65536 * sizeof(*nat->raw_id_flow));
        if (!nat->raw_id_flow) {
            nat_icmp_free(nat);
            return -1;
        }
        memset(nat->raw_id_flow, 0xff, 65536 * sizeof(*nat->raw_id_flow));
    }
    if (nat->raw4_fd >= 0) {
        nat->raw4_watch = (VpcNatWatch){ nat, NAT_WATCH_RAW4, 0 };
        nat_watch(nat, nat->raw4_fd, VPC_NAT_EV_IN, &nat->raw4_watch);
    }
    if (nat->raw6_fd >= 0) {
        nat->raw6_watch = (VpcNatWatch){ nat, NAT_WATCH_RAW6, 0 };
        nat_watch(nat, nat->raw6_fd, VPC_NAT_EV_IN, &nat->raw6_watch);
    }
    return 0;
}

void nat_icmp_free(VpcNat *nat)
{
    if (nat->raw4_fd >= 0) {
        nat_watch(nat, nat->raw4_fd, 0, &nat->raw4_watch);
        close(nat->raw4_fd);
        nat->raw4_fd = -1;
    }
    if (nat->raw6_fd >= 0) {
        nat_watch(nat, nat->raw6_fd, 0, &nat->raw6_watch);
        close(nat->raw6_fd);
        nat->raw6_fd = -1;
    }
    free(nat->raw_id_flow);
    nat->raw_id_flow = NULL;
}

/*
 * Send an echo reply to the guest: @msg (@len bytes, an echo message
 * whose identifier and checksum we rewrite) from @from.
 */
static void echo_reply_to_guest(VpcNat *nat, const NatAddr *from,
                                const NatAddr *guest, const uint8_t *mac,
                                uint16_t id, const uint8_t *msg, size_t len)
{
    bool v4 = nat_addr_is_v4(guest);
    size_t off = nat_l4_offset(nat, from);
    size_t cap = nat->udp_slot_size - off;
    uint8_t *buf = nat->udp_pool;
    uint8_t *m = buf + off;

    if (len > cap || len + (off - nat->tx_vnet - VPC_ETH_HLEN) >
        (size_t)nat->cfg.mtu) {
        nat_drop(nat, VPC_NAT_DROP_TOO_BIG);
        return;
    }
    if (msg != m) {
        memmove(m, msg, len);
    }
    m[0] = v4 ? VPC_ICMP_ECHO_REPLY : VPC_ICMP6_ECHO_REPLY;
    m[1] = 0;
    vpc_put_be16(m + 4, id);
    if (v4) {
        vpc_put_be16(m + 2, 0);
        vpc_put_be16(m + 2, vpc_ip_checksum(m, len));
        nat_send_ip(nat, buf, from, guest, mac, VPC_IP_PROTO_ICMP, len, -1);
    } else {
        nat_send_ip(nat, buf, from, guest, mac, VPC_IPV6_NH_ICMPV6, len, 2);
    }
}

static void echo_warn(VpcNat *nat)
{
    if (!nat->echo_warned) {
        nat->echo_warned = true;
        nat_log(nat, VPC_NAT_LOG_WARNING, "ICMP echo to the outside is not "
                "available: ping sockets are not allowed for this group "
                "(net.ipv4.ping_group_range) and the process has no "
                "CAP_NET_RAW; echo requests are dropped and counted");
    }
    nat_drop(nat, VPC_NAT_DROP_NO_ECHO);
}

static NatFlow *echo_flow(VpcNat *nat, const NatAddr *guest, uint16_t id,
                          const uint8_t *mac, bool v4)
{
    NatFlowKey key = { .type = NAT_FLOW_ECHO, .guest_port = id };
    bool ping_ok = v4 ? nat->ping4_ok : nat->ping6_ok;
    int raw_fd = v4 ? nat->raw4_fd : nat->raw6_fd;
    NatFlow *f;

    key.guest = *guest;
    f = nat_flow_lookup(nat, &key);
    if (f) {
        return f;
    }
    if (!ping_ok && raw_fd < 0) {
        echo_warn(nat);
        return NULL;
    }
    f = nat_flow_new(nat, &key, true);
    if (!f) {
        return NULL;
    }
    memcpy(f->guest_mac, mac, 6);
    f->family = v4 ? AF_INET : AF_INET6;
    if (ping_ok) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        NatAddr any;
        uint16_t port;

        f->fd = socket(f->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                       v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
        if (f->fd < 0) {
            nat_drop(nat, VPC_NAT_DROP_SOCKET);
            nat_flow_free(nat, f);
            return NULL;
        }
        /* Bind to learn the identifier the kernel will use. */
        memset(&any, 0, sizeof(any));
        if (v4) {
            nat_addr_from_v4(&any, 0);
        }
        sl = nat_addr_to_sockaddr(&any, 0, &ss);
        if (bind(f->fd, (struct sockaddr *)&ss, sl) == 0 &&
            getsockname(f->fd, (struct sockaddr *)&ss, &sl) == 0 &&
            nat_addr_from_sockaddr(&any, &port, (struct sockaddr *)&ss)) {
            f->echo.host_id = port;
        }
        nat_flow_watch(nat, f, VPC_NAT_EV_IN);
    } else {
        /* An identifier no other raw flow uses. */
        for (unsigned tries = 0; tries < 65536; tries++) {
            uint16_t id2 = nat->raw_next_id++;

            if (nat->raw_id_flow[id2] == NAT_NONE) {
                f->echo.host_id = id2;
                nat->raw_id_flow[id2] = nat_flow_index(nat, f);
                break;
            }
        }
        f->echo.raw = true;
    }
    return f;
}

/* An echo request from the guest to @dst. */
static void echo_request(VpcNat *nat, const VpcEthView *eth,
                         const NatAddr *src, const NatAddr *dst,
                         const VpcIcmpView *icmp)
{
    bool v4 = nat_addr_is_v4(src);
    struct sockaddr_storage ss;
    socklen_t sl;
    NatAddr target;
    NatVerdict verdict;
    NatFlow *f;
    uint8_t *m = nat->udp_pool;
    ssize_t n;

    nat->stats.echo_requests++;
    if (nat_is_virtual_addr(nat, dst)) {
        /* The virtual hosts answer themselves. */
        echo_reply_to_guest(nat, dst, src, eth->src, icmp->id, icmp->msg,
                            icmp->len);
        return;
    }
    verdict = nat_policy_check(nat, dst, &target);
    if (verdict != NAT_ALLOW) {
        nat_drop(nat, nat_verdict_drop(verdict));
        return;
    }
    f = echo_flow(nat, src, icmp->id, eth->src, v4);
    if (!f) {
        return;
    }
    nat_flow_touch(nat, f);
    if (icmp->len > ECHO_DATA_MAX) {
        nat_drop(nat, VPC_NAT_DROP_TOO_BIG);
        return;
    }
    memcpy(m, icmp->msg, icmp->len);
    vpc_put_be16(m + 4, f->echo.host_id);
    sl = nat_addr_to_sockaddr(&target, 0, &ss);
    if (f->echo.raw) {
        /* The raw socket sends what we give it: our checksum. */
        if (v4) {
            vpc_put_be16(m + 2, 0);
            vpc_put_be16(m + 2, vpc_ip_checksum(m, icmp->len));
        }
        n = sendto(v4 ? nat->raw4_fd : nat->raw6_fd, m, icmp->len,
                   MSG_DONTWAIT, (struct sockaddr *)&ss, sl);
    } else {
        n = sendto(f->fd, m, icmp->len, MSG_DONTWAIT,
                   (struct sockaddr *)&ss, sl);
    }
    if (n < 0) {
        nat_drop(nat, VPC_NAT_DROP_SOCKET);
    }
}

void nat_icmp4_input(VpcNat *nat, const VpcEthView *eth,
                     const VpcIpv4View *ip)
{
    VpcIcmpView icmp;
    NatAddr src, dst;

    if (vpc_icmp_parse(ip->payload, ip->payload_len, &icmp) < 0) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return;
    }
    if (icmp.type != VPC_ICMP_ECHO_REQUEST || icmp.code != 0) {
        nat_drop(nat, VPC_NAT_DROP_ICMP_TYPE);
        return;
    }
    nat_addr_from_v4(&src, ip->src);
    nat_addr_from_v4(&dst, ip->dst);
    echo_request(nat, eth, &src, &dst, &icmp);
}

static bool v6_guest_addr(const VpcNat *nat, const uint8_t *a)
{
    return vpc_ipv6_is_link_local(a) ||
           (vpc_ipv6_prefix_match(a, nat->cfg.ip6_prefix,
                                  nat->cfg.ip6_prefix_len) &&
            !nat_is_virtual_addr(nat, (const NatAddr *)a));
}

void nat_icmp6_input(VpcNat *nat, const VpcEthView *eth,
                     const VpcIpv6View *ip)
{
    VpcIcmpView icmp;
    NatAddr src, dst;
    uint8_t type;

    if (ip->l4_len < 4) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return;
    }
    type = ip->l4[0];
    if (type >= VPC_ICMP6_ROUTER_SOLICIT && type <= VPC_ICMP6_REDIRECT) {
        nat_ndp_input(nat, eth, ip, ip->l4, ip->l4_len);
        return;
    }
    if (vpc_icmp6_parse(ip, &icmp) < 0) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return;
    }
    if (icmp.type != VPC_ICMP6_ECHO_REQUEST || icmp.code != 0) {
        nat_drop(nat, VPC_NAT_DROP_ICMP_TYPE);
        return;
    }
    if (!v6_guest_addr(nat, ip->src) || vpc_ipv6_is_multicast(ip->dst) ||
        !vpc_mac_equal(eth->dst, nat->cfg.gateway_mac)) {
        nat_drop(nat, VPC_NAT_DROP_SOURCE);
        return;
    }
    memcpy(src.a, ip->src, 16);
    memcpy(dst.a, ip->dst, 16);
    nat_learn_guest(nat, &src, eth->src);
    echo_request(nat, eth, &src, &dst, &icmp);
}

void nat_echo_ready(VpcNat *nat, NatFlow *f, unsigned events)
{
    uint8_t *m = nat->udp_pool + nat_l4_offset(nat, &f->key.guest);
    size_t cap = nat->udp_slot_size - nat_l4_offset(nat, &f->key.guest);
    struct sockaddr_storage ss;
    NatAddr from, seen;
    uint16_t port;

    for (unsigned i = 0; i < NAT_UDP_BATCH; i++) {
        socklen_t sl = sizeof(ss);
        ssize_t n = recvfrom(f->fd, m, cap, MSG_DONTWAIT,
                             (struct sockaddr *)&ss, &sl);

        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* An error queued for the socket: nothing to relay. */
                recv(f->fd, m, 1, MSG_ERRQUEUE | MSG_DONTWAIT);
            }
            return;
        }
        if (n < VPC_ICMP_HLEN ||
            !nat_addr_from_sockaddr(&from, &port, (struct sockaddr *)&ss)) {
            continue;
        }
        nat_flow_touch(nat, f);
        nat_policy_reverse(nat, &from, &seen);
        echo_reply_to_guest(nat, &seen, &f->key.guest, f->guest_mac,
                            f->key.guest_port, m, (size_t)n);
    }
}

void nat_echo_raw_ready(VpcNat *nat, int family)
{
    int fd = family == AF_INET ? nat->raw4_fd : nat->raw6_fd;
    uint8_t *buf = nat->udp_pool + NAT_HEADROOM;
    size_t cap = nat->udp_slot_size - NAT_HEADROOM;
    struct sockaddr_storage ss;

    for (unsigned i = 0; i < NAT_UDP_BATCH; i++) {
        socklen_t sl = sizeof(ss);
        ssize_t n = recvfrom(fd, buf, cap, MSG_DONTWAIT,
                             (struct sockaddr *)&ss, &sl);
        const uint8_t *msg = buf;
        size_t len = n > 0 ? (size_t)n : 0;
        NatAddr from, seen;
        uint16_t port, id;
        uint32_t idx;
        NatFlow *f;

        if (n < 0) {
            return;
        }
        if (family == AF_INET) {
            VpcIpv4View ip;

            /* A raw IPv4 socket hands us the IP header too. */
            if (vpc_ipv4_parse(buf, len, &ip) < 0 || ip.is_fragment) {
                continue;
            }
            msg = ip.payload;
            len = ip.payload_len;
            if (len < VPC_ICMP_HLEN || msg[0] != VPC_ICMP_ECHO_REPLY) {
                continue;
            }
        } else if (len < VPC_ICMP_HLEN || msg[0] != VPC_ICMP6_ECHO_REPLY) {
            continue;
        }
        id = vpc_get_be16(msg + 4);
        idx = nat->raw_id_flow[id];
        f = idx != NAT_NONE ? nat_flow_at(nat, idx) : NULL;
        if (!f || f->key.type != NAT_FLOW_ECHO || !f->echo.raw ||
            f->family != family ||
            !nat_addr_from_sockaddr(&from, &port, (struct sockaddr *)&ss)) {
            continue;       /* another program's ping */
        }
        nat_flow_touch(nat, f);
        nat_policy_reverse(nat, &from, &seen);
        echo_reply_to_guest(nat, &seen, &f->key.guest, f->guest_mac,
                            f->key.guest_port, msg, len);
    }
}

void nat_icmp_unreach(VpcNat *nat, const NatAddr *guest, const NatAddr *remote,
                      const uint8_t *guest_mac, const uint8_t *quote,
                      size_t quote_len, uint8_t code4)
{
    bool v4 = nat_addr_is_v4(guest);
    uint8_t *buf = nat->ctrl;
    size_t off = nat_l4_offset(nat, remote);
    size_t max = (v4 ? ICMP4_ERROR_MAX - VPC_IPV4_HLEN
                     : ICMP6_ERROR_MAX - VPC_IPV6_HLEN) - 8;
    uint8_t *m = buf + off;
    size_t len;

    if (max > NAT_CTRL_FRAME_MAX - off - 8) {
        max = NAT_CTRL_FRAME_MAX - off - 8;
    }
    if (quote_len > max) {
        quote_len = max;
    }
    memset(m, 0, 8);
    if (v4) {
        m[0] = VPC_ICMP_DEST_UNREACH;
        m[1] = code4;
    } else {
        m[0] = VPC_ICMP6_DEST_UNREACH;
        m[1] = code4 == VPC_ICMP_UNREACH_PORT ? VPC_ICMP6_UNREACH_PORT
             : code4 == VPC_ICMP_UNREACH_ADMIN ? VPC_ICMP6_UNREACH_ADMIN
             : code4 == VPC_ICMP_UNREACH_HOST ? VPC_ICMP6_UNREACH_ADDR
             : VPC_ICMP6_UNREACH_NOROUTE;
    }
    memcpy(m + 8, quote, quote_len);
    len = 8 + quote_len;
    if (v4) {
        vpc_put_be16(m + 2, vpc_ip_checksum(m, len));
        nat_send_ip(nat, buf, remote, guest, guest_mac, VPC_IP_PROTO_ICMP,
                    len, -1);
    } else {
        nat_send_ip(nat, buf, remote, guest, guest_mac, VPC_IPV6_NH_ICMPV6,
                    len, 2);
    }
    nat->stats.icmp_errors++;
}
