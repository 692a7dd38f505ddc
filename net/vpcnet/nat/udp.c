/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: UDP.
 *
 * Theory of operation
 *
 * A UDP flow is one guest address and port.  Its host socket is
 * unconnected and talks to any remote, so the mapping is endpoint
 * independent (RFC 4787): a guest behind us can do STUN, games and
 * peer-to-peer like behind a good home router.  Each datagram is sent
 * with sendto() to its destination after the policy check (policy.c); a
 * destination the guest may not reach is answered at once with ICMP
 * "administratively prohibited".  Datagrams for the guest are read in
 * batches of NAT_UDP_BATCH with one recvmmsg(), straight into frame
 * buffers behind room for the headers, so nothing is copied on the way
 * to the guest but by the kernel.  A datagram bigger than the guest's
 * MTU allows is dropped and counted (we do not fragment).
 *
 * Errors: the sockets set IP_RECVERR/IPV6_RECVERR, so an ICMP error the
 * host receives for our datagram (port unreachable, host unreachable...)
 * comes back on the socket's error queue with the original destination
 * and payload; we quote them to the guest in an ICMP destination
 * unreachable of the same kind.
 *
 * DNS: a datagram to the virtual DNS address, port 53, belongs to a flow
 * of its own (key.dns) whose socket talks to the host's resolver
 * (dns.c); replies come back as from the DNS address.  No resolver, or
 * restrict=on, or a resolver the host reports unreachable: the guest
 * gets SERVFAIL (REFUSED) at once.
 *
 * Port forwards (fwd.c) make flows too: keyed by the gateway address and
 * the host client's port, without a socket of their own; the guest's
 * replies go out of the forward's bound socket to the client.
 *
 * Limits: flows time out after udp_idle_timeout (DNS flows after
 * NAT_DNS_IDLE_S); when the table is full the oldest idle UDP flow makes
 * room.  A sweep of 65535 ports from one guest port is one flow; from
 * 65535 guest ports it is bounded by max_flows.
 */
#include "net/vpcnet/nat/nat-impl.h"
#include "net/vpcnet/icmp6.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <string.h>
#include <unistd.h>

#define DNS_PORT        53
#define DNS_SERVFAIL    2
#define DNS_REFUSED     5

bool nat_udp_to_guest(VpcNat *nat, uint8_t *slot, const NatAddr *from,
                      uint16_t from_port, const NatAddr *to, uint16_t to_port,
                      const uint8_t *to_mac, size_t payload_len)
{
    size_t off = nat_l4_offset(nat, from);
    size_t ip_hlen = nat_addr_is_v4(from) ? VPC_IPV4_HLEN : VPC_IPV6_HLEN;
    uint8_t *u = slot + off;

    if (ip_hlen + VPC_UDP_HLEN + payload_len > nat->cfg.mtu) {
        nat_drop(nat, VPC_NAT_DROP_TOO_BIG);
        return false;
    }
    vpc_put_be16(u, from_port);
    vpc_put_be16(u + 2, to_port);
    vpc_put_be16(u + 4, (uint16_t)(VPC_UDP_HLEN + payload_len));
    return nat_send_ip(nat, slot, from, to, to_mac, VPC_IP_PROTO_UDP,
                       VPC_UDP_HLEN + payload_len, 6);
}

/* Answer a DNS query at once, with @rcode, as the DNS server. */
static void dns_fail_fast(VpcNat *nat, const NatAddr *guest,
                          uint16_t guest_port, const uint8_t *mac,
                          const NatAddr *dns, const uint8_t *q, size_t q_len,
                          uint8_t rcode)
{
    uint8_t *slot = nat->udp_pool;
    size_t off = nat_l4_offset(nat, dns) + VPC_UDP_HLEN;
    size_t n = nat_dns_error_reply(q, q_len, rcode, slot + off,
                                   nat->udp_slot_size - off);

    if (n && nat_udp_to_guest(nat, slot, dns, DNS_PORT, guest, guest_port,
                              mac, n)) {
        nat->stats.dns_servfail++;
    }
}

static NatFlow *udp_flow_open(VpcNat *nat, const NatFlowKey *key,
                              const uint8_t *mac, int family)
{
    NatFlow *f = nat_flow_new(nat, key, true);
    int on = 1;

    if (!f) {
        return NULL;
    }
    memcpy(f->guest_mac, mac, 6);
    f->family = family;
    f->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->fd < 0) {
        nat_drop(nat, VPC_NAT_DROP_SOCKET);
        nat_flow_free(nat, f);
        return NULL;
    }
    if (family == AF_INET) {
        setsockopt(f->fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
    } else {
        setsockopt(f->fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
        setsockopt(f->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    }
    nat_flow_watch(nat, f, VPC_NAT_EV_IN);
    nat->stats.udp_flows++;
    return f;
}

/* The quoted packet of an ICMP error: the guest's datagram as it sent it. */
static size_t build_quote(uint8_t *q, const NatAddr *guest,
                          uint16_t guest_port, const NatAddr *remote,
                          uint16_t remote_port, const uint8_t *payload,
                          size_t len, size_t cap)
{
    bool v4 = nat_addr_is_v4(guest);
    size_t hlen = v4 ? VPC_IPV4_HLEN : VPC_IPV6_HLEN;
    uint8_t *u = q + hlen;

    if (hlen + VPC_UDP_HLEN + len > cap) {
        len = cap - hlen - VPC_UDP_HLEN;
    }
    if (v4) {
        vpc_ipv4_put_header(q, nat_addr_v4(guest), nat_addr_v4(remote),
                            VPC_IP_PROTO_UDP, (uint16_t)(VPC_UDP_HLEN + len),
                            0, 64, false);
    } else {
        vpc_ipv6_put_header(q, guest->a, remote->a, VPC_IP_PROTO_UDP,
                            (uint16_t)(VPC_UDP_HLEN + len), 64);
    }
    vpc_put_be16(u, guest_port);
    vpc_put_be16(u + 2, remote_port);
    vpc_put_be16(u + 4, (uint16_t)(VPC_UDP_HLEN + len));
    vpc_put_be16(u + 6, 0);
    memmove(u + VPC_UDP_HLEN, payload, len);
    return hlen + VPC_UDP_HLEN + len;
}

void nat_udp_input(VpcNat *nat, const VpcEthView *eth, const NatAddr *src,
                   const NatAddr *dst, const VpcUdpView *udp,
                   const uint8_t *ip_packet, size_t ip_len)
{
    NatFlowKey key = { .type = NAT_FLOW_UDP, .guest_port = udp->src_port };
    struct sockaddr_storage ss;
    socklen_t sl;
    NatAddr target;
    NatVerdict verdict;
    NatFlow *f;
    uint16_t port = udp->dst_port;

    key.guest = *src;
    if (udp->src_port == 0 || udp->dst_port == 0) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return;
    }
    if (nat_is_dns_addr(nat, dst) && udp->dst_port == DNS_PORT) {
        nat->stats.dns_queries++;
        if (nat->cfg.restricted) {
            dns_fail_fast(nat, src, udp->src_port, eth->src, dst,
                          udp->payload, udp->payload_len, DNS_REFUSED);
            return;
        }
        if (!nat_resolver(nat, &target)) {
            dns_fail_fast(nat, src, udp->src_port, eth->src, dst,
                          udp->payload, udp->payload_len, DNS_SERVFAIL);
            return;
        }
        key.dns = 1;
    } else {
        /* A reply of the guest to a forward's client? */
        key.remote = *dst;
        key.remote_port = udp->dst_port;
        f = nat_flow_lookup(nat, &key);
        if (f && f->udp.fwd) {
            NatFwdSlot *fs = &nat->fwds[f->udp.fwd_index];

            nat_flow_touch(nat, f);
            sl = nat_addr_to_sockaddr(&f->udp.client, f->udp.client_port,
                                      &ss);
            if (!fs->used || sendto(fs->fd, udp->payload, udp->payload_len,
                                    MSG_DONTWAIT, (struct sockaddr *)&ss,
                                    sl) < 0) {
                nat_drop(nat, VPC_NAT_DROP_SOCKET);
            }
            return;
        }
        memset(&key.remote, 0, sizeof(key.remote));
        key.remote_port = 0;
        verdict = nat_policy_check(nat, dst, &target);
        if (verdict != NAT_ALLOW) {
            nat_drop(nat, nat_verdict_drop(verdict));
            if (verdict != NAT_DENY_DEST) {
                nat_icmp_unreach(nat, src, dst, eth->src, ip_packet, ip_len,
                                 VPC_ICMP_UNREACH_ADMIN);
            }
            return;
        }
    }
    f = nat_flow_lookup(nat, &key);
    if (!f) {
        f = udp_flow_open(nat, &key, eth->src,
                          nat_addr_is_v4(&target) ? AF_INET : AF_INET6);
        if (!f) {
            return;
        }
    } else if (f->family != (nat_addr_is_v4(&target) ? AF_INET : AF_INET6)) {
        /* A DNS flow whose resolver changed family: start again. */
        nat_flow_free(nat, f);
        f = udp_flow_open(nat, &key, eth->src,
                          nat_addr_is_v4(&target) ? AF_INET : AF_INET6);
        if (!f) {
            return;
        }
    }
    nat_flow_touch(nat, f);
    memcpy(f->guest_mac, eth->src, 6);
    if (key.dns) {
        port = DNS_PORT;
    }
    sl = nat_addr_to_sockaddr(&target, port, &ss);
    if (sendto(f->fd, udp->payload, udp->payload_len, MSG_DONTWAIT,
               (struct sockaddr *)&ss, sl) < 0 && errno != EAGAIN) {
        nat_drop(nat, VPC_NAT_DROP_SOCKET);
    }
}

/* What the guest sees a datagram from @from:@port of flow @f come from. */
static void reply_source(VpcNat *nat, const NatFlow *f, const NatAddr *from,
                         NatAddr *seen)
{
    if (f->key.dns) {
        *seen = nat_addr_is_v4(&f->key.guest) ? nat->dns4 : nat->dns6;
    } else {
        nat_policy_reverse(nat, from, seen);
    }
}

/* Drain the error queue: tell the guest what the host heard. */
static void udp_errors(VpcNat *nat, NatFlow *f)
{
    uint8_t *q = nat->udp_pool + nat->udp_slot_size;    /* second slot */
    uint8_t *data = q + 1536;
    uint8_t cbuf[512];

    for (unsigned i = 0; i < NAT_UDP_BATCH; i++) {
        struct sockaddr_storage ss;
        struct iovec iov = { .iov_base = data, .iov_len = 512 };
        struct msghdr msg = {
            .msg_name = &ss, .msg_namelen = sizeof(ss),
            .msg_iov = &iov, .msg_iovlen = 1,
            .msg_control = cbuf, .msg_controllen = sizeof(cbuf),
        };
        struct sock_extended_err *ee = NULL;
        struct cmsghdr *c;
        NatAddr remote, seen;
        uint16_t rport;
        ssize_t n = recvmsg(f->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
        uint8_t code;
        size_t qlen;

        if (n < 0) {
            return;
        }
        for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                (c->cmsg_level == IPPROTO_IPV6 &&
                 c->cmsg_type == IPV6_RECVERR)) {
                ee = (struct sock_extended_err *)CMSG_DATA(c);
            }
        }
        if (!ee || (ee->ee_origin != SO_EE_ORIGIN_ICMP &&
                    ee->ee_origin != SO_EE_ORIGIN_ICMP6) ||
            !nat_addr_from_sockaddr(&remote, &rport,
                                    (struct sockaddr *)&ss)) {
            continue;
        }
        if (f->key.dns) {
            /* The resolver cannot be reached: fail the query now. */
            reply_source(nat, f, &remote, &seen);
            dns_fail_fast(nat, &f->key.guest, f->key.guest_port,
                          f->guest_mac, &seen, data, (size_t)n,
                          DNS_SERVFAIL);
            continue;
        }
        if (ee->ee_origin == SO_EE_ORIGIN_ICMP) {
            code = ee->ee_type == VPC_ICMP_DEST_UNREACH ? ee->ee_code
                                                        : VPC_ICMP_UNREACH_HOST;
        } else {
            code = ee->ee_code == VPC_ICMP6_UNREACH_PORT ? VPC_ICMP_UNREACH_PORT
                 : ee->ee_code == VPC_ICMP6_UNREACH_ADMIN
                   ? VPC_ICMP_UNREACH_ADMIN : VPC_ICMP_UNREACH_HOST;
        }
        reply_source(nat, f, &remote, &seen);
        qlen = build_quote(q, &f->key.guest, f->key.guest_port, &seen, rport,
                           data, (size_t)n, 1536);
        nat_icmp_unreach(nat, &f->key.guest, &seen, f->guest_mac, q, qlen,
                         code);
    }
}

void nat_udp_ready(VpcNat *nat, NatFlow *f, unsigned events)
{
    size_t off = nat_l4_offset(nat, &f->key.guest) + VPC_UDP_HLEN;
    struct mmsghdr mm[NAT_UDP_BATCH];
    struct iovec iov[NAT_UDP_BATCH];
    struct sockaddr_storage names[NAT_UDP_BATCH];
    int n;

    for (unsigned i = 0; i < NAT_UDP_BATCH; i++) {
        iov[i].iov_base = nat->udp_pool + i * nat->udp_slot_size + off;
        iov[i].iov_len = nat->udp_slot_size - off;
        memset(&mm[i].msg_hdr, 0, sizeof(mm[i].msg_hdr));
        mm[i].msg_hdr.msg_name = &names[i];
        mm[i].msg_hdr.msg_namelen = sizeof(names[i]);
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    n = recvmmsg(f->fd, mm, NAT_UDP_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            udp_errors(nat, f);
        }
        return;
    }
    nat_flow_touch(nat, f);
    for (int i = 0; i < n; i++) {
        NatAddr from, seen;
        uint16_t port;

        if (!nat_addr_from_sockaddr(&from, &port,
                                    (struct sockaddr *)&names[i])) {
            continue;
        }
        if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
            nat_drop(nat, VPC_NAT_DROP_TOO_BIG);
            continue;
        }
        if (!f->key.dns && !nat->cfg.host_loopback &&
            nat_is_host_loopback(&from)) {
            /* The host's loopback does not talk to a closed guest. */
            nat_drop(nat, VPC_NAT_DROP_HOST_CLOSED);
            continue;
        }
        reply_source(nat, f, &from, &seen);
        if (f->key.dns) {
            port = DNS_PORT;
        }
        nat_udp_to_guest(nat, nat->udp_pool + i * nat->udp_slot_size, &seen,
                         port, &f->key.guest, f->key.guest_port,
                         f->guest_mac, mm[i].msg_len);
    }
}
