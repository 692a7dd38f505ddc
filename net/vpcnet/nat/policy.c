/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: where the guest may go.
 *
 * Theory of operation
 *
 * Virtual PC's Shared Networking kept the host closed to its guests, and
 * so do we by default: a guest must not reach the host's loopback, nor
 * any address of the host's own interfaces (from there every service
 * bound to INADDR_ANY answers), nor the host through the gateway
 * address.  The host's addresses are read with getifaddrs() at start and
 * again whenever the kernel announces an address change on a netlink
 * socket (RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR) that the embedder
 * watches for us.  If netlink cannot be had (a sandbox), the list is
 * read again, at most once a second, when a new destination is checked
 * against a list older than that.
 *
 * nat_policy_check() decides for one destination:
 *   - the gateway address: the host's loopback with host_loopback, else
 *     closed;
 *   - loopback (127/8, ::1), the host's own addresses: closed;
 *   - with restricted, everything else: restricted;
 *   - not unicast (0/8, broadcast, multicast, class E, ::, ff00::/8,
 *     link-local, v4-mapped, the guest subnet's other addresses): not a
 *     destination;
 *   - anything else: allowed, to itself.
 * The virtual DNS address is not decided here: dns.c forwards port 53
 * and the rest of it is closed like the gateway.
 */
#include "net/vpcnet/nat/nat-impl.h"

#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <unistd.h>

#define HOST_ADDRS_STALE_NS 1000000000ll

static void host_addrs_read(VpcNat *nat)
{
    struct ifaddrs *ifa, *i;
    NatHostAddrs *h = &nat->host_addrs;
    uint16_t port;

    if (getifaddrs(&ifa) < 0) {
        nat_log(nat, VPC_NAT_LOG_WARNING, "cannot list the host's addresses: "
                "%s; only loopback is closed to the guest", strerror(errno));
        return;
    }
    h->n = 0;
    for (i = ifa; i && h->n < NAT_MAX_HOST_ADDRS; i = i->ifa_next) {
        if (i->ifa_addr &&
            nat_addr_from_sockaddr(&h->addr[h->n], &port, i->ifa_addr)) {
            h->n++;
        }
    }
    freeifaddrs(ifa);
    h->read_ns = nat->now_ns;
}

int nat_host_addrs_init(VpcNat *nat)
{
    struct sockaddr_nl sa = {
        .nl_family = AF_NETLINK,
        .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
    };
    int fd;

    host_addrs_read(nat);
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                NETLINK_ROUTE);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (fd >= 0) {
            close(fd);
        }
        nat_log(nat, VPC_NAT_LOG_INFO, "no netlink for address changes (%s): "
                "the host's addresses are re-read when they may be stale",
                strerror(errno));
        return -1;
    }
    nat->netlink_fd = fd;
    nat->netlink_watch.nat = nat;
    nat->netlink_watch.kind = NAT_WATCH_NETLINK;
    nat_watch(nat, fd, VPC_NAT_EV_IN, &nat->netlink_watch);
    return 0;
}

void nat_host_addrs_free(VpcNat *nat)
{
    if (nat->netlink_fd >= 0) {
        nat_watch(nat, nat->netlink_fd, 0, &nat->netlink_watch);
        close(nat->netlink_fd);
        nat->netlink_fd = -1;
    }
}

void nat_host_addrs_ready(VpcNat *nat)
{
    uint8_t buf[8192];
    bool changed = false;

    /* The messages only say that something changed: read them all. */
    while (recv(nat->netlink_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
        changed = true;
    }
    if (changed) {
        host_addrs_read(nat);
    }
}

static bool is_host_addr(VpcNat *nat, const NatAddr *a)
{
    if (nat->netlink_fd < 0 &&
        nat->now_ns - nat->host_addrs.read_ns > HOST_ADDRS_STALE_NS) {
        host_addrs_read(nat);
    }
    for (unsigned i = 0; i < nat->host_addrs.n; i++) {
        if (nat_addr_eq(&nat->host_addrs.addr[i], a)) {
            return true;
        }
    }
    return false;
}

bool nat_is_host_loopback(const NatAddr *a)
{
    return nat_addr_is_v4(a) ? a->a[12] == 127 : vpc_ipv6_is_loopback(a->a);
}

static bool is_unicast(const VpcNat *nat, const NatAddr *a)
{
    if (nat_addr_is_v4(a)) {
        uint32_t v = nat_addr_v4(a);

        if ((v >> 24) == 0 || v >= 0xe0000000u) {
            return false;           /* 0/8, multicast, class E, bcast */
        }
        return (v & nat->cfg.netmask) != nat->cfg.net;
    }
    return !vpc_ipv6_is_unspecified(a->a) && !vpc_ipv6_is_multicast(a->a) &&
           !vpc_ipv6_is_link_local(a->a) && !vpc_ipv6_is_v4mapped(a->a) &&
           !vpc_ipv6_prefix_match(a->a, nat->cfg.ip6_prefix,
                                  nat->cfg.ip6_prefix_len);
}

NatVerdict nat_policy_check(VpcNat *nat, const NatAddr *dst, NatAddr *target)
{
    *target = *dst;
    if ((nat->cfg.ipv4 && nat_addr_eq(dst, &nat->gw4)) ||
        (nat->cfg.ipv6 && (nat_addr_eq(dst, &nat->gw6) ||
                           nat_addr_eq(dst, &nat->gw6_ll)))) {
        if (!nat->cfg.host_loopback) {
            return NAT_DENY_HOST;
        }
        if (nat_addr_is_v4(dst)) {
            nat_addr_from_v4(target, 0x7f000001);
        } else {
            memset(target->a, 0, 16);
            target->a[15] = 1;
        }
        return NAT_ALLOW;
    }
    if (nat_is_dns_addr(nat, dst)) {
        return NAT_DENY_HOST;
    }
    if (nat_is_host_loopback(dst)) {
        return NAT_DENY_HOST;
    }
    if (!is_unicast(nat, dst)) {
        return NAT_DENY_DEST;
    }
    if (is_host_addr(nat, dst)) {
        return NAT_DENY_HOST;
    }
    if (nat->cfg.restricted) {
        return NAT_DENY_RESTRICTED;
    }
    return NAT_ALLOW;
}

void nat_policy_reverse(VpcNat *nat, const NatAddr *from, NatAddr *seen)
{
    *seen = *from;
    if (nat->cfg.host_loopback && nat_is_host_loopback(from)) {
        *seen = nat_addr_is_v4(from) ? nat->gw4 : nat->gw6;
    }
}

VpcNatDrop nat_verdict_drop(NatVerdict v)
{
    switch (v) {
    case NAT_DENY_HOST:
        return VPC_NAT_DROP_HOST_CLOSED;
    case NAT_DENY_RESTRICTED:
        return VPC_NAT_DROP_RESTRICTED;
    default:
        return VPC_NAT_DROP_DEST;
    }
}
