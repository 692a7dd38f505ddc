/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: TCP, translated onto host sockets without a TCP stack.
 *
 * Theory of operation
 *
 * Each guest connection is one host socket; the kernel's TCP does the
 * real work towards the remote end, and this file keeps the guest's side
 * of the conversation coherent: sequence numbers, windows, the handshake,
 * FIN and RST, retransmission towards the guest.
 *
 * Opening (guest to outside): the guest's SYN creates the flow and a
 * non-blocking connect() to the destination (after the policy check: a
 * refused destination gets an RST at once).  The SYN-ACK goes to the
 * guest only when the host's connect succeeds, so the guest sees exactly
 * what the remote said: a refused or unreachable connect is an RST, and
 * so is no answer within TCP_CONNECT_TIMEOUT_MS.  The SYN-ACK carries our
 * MSS (from the guest's MTU) and, when the guest's SYN offered it, our
 * window scale (TCP_OUR_WSCALE).  A port forward (fwd.c) opens the other
 * way: the host connection is accepted, a SYN goes to the guest and the
 * connection is established by the guest's SYN-ACK.
 *
 * Guest to host data: a segment in order is written to the socket
 * straight from the guest's frame and acknowledged at the end of the
 * batch (vpc_nat_input_done); what the segment's ACK allows the other
 * way (discarding acknowledged bytes, watching the socket again) waits
 * until its data is written, so a request is on its way to the server
 * first (read_on()); a segment beyond what we expect is dropped
 * and answered with a duplicate ACK.  The window we advertise is the room
 * left in the socket's send buffer (SO_SNDBUF less what SIOCOUTQ says is
 * queued, with a margin for the kernel's overhead), so writes do not fall
 * short.  When the room gets low we wait for EPOLLOUT, which both tells
 * us when to open the window again and, through tcp_poll(), lets the
 * kernel grow the send buffer (autotuning only grows a buffer someone
 * waited on).  If a write does fall short all the same, we acknowledge
 * what was written, close the window, and once the socket has room send
 * a window update followed by three duplicate ACKs, so the guest resends
 * at once rather than after its retransmission timeout.
 *
 * Host to guest data: not copied into any buffer of ours that outlives
 * a call.  Data stays in the socket's receive queue until the guest
 * acknowledges it: we read it with MSG_PEEK from a peek offset (SO_PEEK_OFF,
 * which the kernel advances as we peek) straight into frame buffers, send
 * it, and discard it from the socket with MSG_TRUNC when the guest's ACK
 * covers it.  Retransmission is a rewind of the peek offset to the oldest
 * unacknowledged byte.  So the kernel's receive buffer is the
 * retransmission buffer, 10,000 idle connections cost us no memory, and
 * the remote sees the guest's pace as the socket's receive window.
 * Kernels without SO_PEEK_OFF for TCP (before 6.10) are served by peeking
 * the in-flight bytes into a discard buffer first, which caps the
 * in-flight data at that buffer's size.  We send at most the guest's
 * window, in segments of its MSS; with a virtio-net header (a tap, a
 * virtio-net NIC) as GSO frames of up to 64 KiB whose checksums the
 * receiver completes.
 *
 * Retransmission towards the guest: three duplicate ACKs, or no progress
 * for rto_ms (TCP_RTO_MIN_MS, doubled up to TCP_RTO_MAX_MS), rewind and
 * send again; TCP_MAX_RETRIES without progress resets the connection.  A
 * zero window is probed on the same timer.
 *
 * Closing: the guest's FIN, once all data before it is written, is a
 * shutdown(SHUT_WR); end of file on the socket is our FIN to the guest
 * after the last data, on the last data segment itself when the end of
 * file is already there as we send it (peek_eof(): one more peek when a
 * peek drains the socket), as a real path would deliver a server's
 * answer-and-close.  The flow goes when both FINs are through and
 * ours is acknowledged.  An RST from the guest aborts the socket (linger
 * 0, so the remote gets an RST too); an error on the socket is an RST to
 * the guest.  Segments of no connection get an RST, as a real host's
 * stack would answer.
 *
 * Limits: no SACK, timestamps, urgent data or ECN towards the guest (the
 * host's socket does all of that towards the remote); connections idle
 * for tcp_idle_timeout are reset; when the flow table is full a new
 * connection is refused with RST.
 */
#include "net/vpcnet/nat/nat-impl.h"
#include "net/vpcnet/checksum.h"

#include <errno.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#define TCP_OUR_WSCALE          7
#define TCP_CONNECT_TIMEOUT_MS  10000
#define TCP_SYN_RTO_MS          1000
#define TCP_SYN_RETRIES         5
#define TCP_RTO_MIN_MS          200
#define TCP_RTO_MAX_MS          60000
#define TCP_MAX_RETRIES         12
#define TCP_MAX_INFLIGHT        (8u << 20)
#define TCP_DISCARD_BYTES       (1u << 20)
#define TCP_GSO_MAX             65535
#define TCP_DEFAULT_MSS         536
#define TCP_DUPACK_THRESHOLD    3
/* Acknowledged bytes left in the socket before one discard takes them. */
#define TCP_DISCARD_BATCH       (32u << 10)

static int64_t ms_from_now(const VpcNat *nat, uint32_t ms)
{
    return nat->now_ns + (int64_t)ms * 1000000;
}

int nat_tcp_init(VpcNat *nat, char *err, size_t errlen)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int zero = 0;
    size_t max_payload;

    nat->peek_off_ok = fd >= 0 &&
        setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    if (!nat->peek_off_ok) {
        nat->discard_len = TCP_DISCARD_BYTES;
        nat->discard = malloc(nat->discard_len);
        if (!nat->discard) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        nat_log(nat, VPC_NAT_LOG_INFO, "this kernel has no SO_PEEK_OFF for "
                "TCP: data in flight to the guest is capped at %zu bytes",
                nat->discard_len);
    }
    /*
     * One slot is one frame: a segment of the MTU, or a GSO frame of up
     * to 64 KiB once a virtio-net header allows it (vpc_nat_set_vnet may
     * say so at any time): room for 64 of the one or 8 of the other.
     */
    max_payload = nat->cfg.mtu - VPC_IPV4_HLEN - VPC_TCP_HLEN;
    nat->tcp_pool_bytes = 64 * (NAT_HEADROOM + max_payload);
    if (nat->tcp_pool_bytes < 8 * (NAT_HEADROOM + TCP_GSO_MAX)) {
        nat->tcp_pool_bytes = 8 * (NAT_HEADROOM + TCP_GSO_MAX);
    }
    nat->tcp_pool = malloc(nat->tcp_pool_bytes);
    if (!nat->tcp_pool) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static size_t ip_hlen(const NatFlow *f)
{
    return nat_addr_is_v4(&f->key.guest) ? VPC_IPV4_HLEN : VPC_IPV6_HLEN;
}

/* The window we advertise, in bytes: the room in the send buffer. */
static uint32_t rcv_window(VpcNat *nat, NatFlow *f)
{
    int sndbuf = 0, outq = 0;
    socklen_t sl = sizeof(sndbuf);
    int64_t room;
    uint32_t max = f->tcp.ws_ok ? 65535u << f->tcp.our_wscale : 65535u;

    if (f->tcp.write_blocked || f->tcp.guest_fin) {
        return f->tcp.guest_fin ? max : 0;
    }
    /*
     * Between two looks at the socket the room only shrinks by what we
     * wrote (the remote's ACKs only add to it): look again when half of
     * the buffer seems gone, not on every ACK.
     */
    if (f->tcp.room_est && f->tcp.room_est >= f->tcp.sndbuf_est / 2) {
        return f->tcp.room_est > max ? max : f->tcp.room_est;
    }
    if (getsockopt(f->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) < 0 ||
        ioctl(f->fd, SIOCOUTQ, &outq) < 0) {
        return max;
    }
    room = (int64_t)sndbuf * 3 / 4 - outq;
    /*
     * Past two thirds the socket is not writable (tcp_poll): EPOLLOUT
     * will come when there is room, and waiting for it is what lets
     * autotuning grow the buffer.  Below that it would fire at once.
     */
    if ((int64_t)outq * 3 > (int64_t)sndbuf * 2 && !f->tcp.wait_space) {
        f->tcp.wait_space = true;
        nat_flow_watch(nat, f, f->events | VPC_NAT_EV_OUT);
    }
    if (room < 0) {
        room = 0;
    }
    f->tcp.sndbuf_est = (uint32_t)sndbuf;
    f->tcp.room_est = (uint32_t)room;
    return room > max ? max : (uint32_t)room;
}

/*
 * Take the bytes the guest acknowledged out of the socket.  Done lazily,
 * TCP_DISCARD_BATCH at a time (the peek offset skips them meanwhile),
 * and before a normal close, which with data left unread would be an
 * RST.
 */
static void discard_acked(VpcNat *nat, NatFlow *f, bool all)
{
    if (f->tcp.undiscarded &&
        (all || !nat->peek_off_ok ||
         f->tcp.undiscarded >= TCP_DISCARD_BATCH)) {
        recv(f->fd, NULL, f->tcp.undiscarded, MSG_TRUNC | MSG_DONTWAIT);
        f->tcp.undiscarded = 0;
    }
}

/*
 * Send a segment without data to the guest: an ACK, SYN, SYN-ACK, FIN or
 * RST of flow @f, with sequence number @seq.
 */
static bool send_ctrl(VpcNat *nat, NatFlow *f, uint8_t flags, uint32_t seq)
{
    uint8_t *buf = nat->ctrl;
    uint8_t *t = buf + nat_l4_offset(nat, &f->key.remote);
    VpcTcpHeader h = {
        .src_port = f->key.remote_port, .dst_port = f->key.guest_port,
        .seq = seq, .ack = f->tcp.rcv_nxt, .flags = flags,
    };
    uint32_t wnd = 0;
    size_t hlen;

    if (flags & VPC_TCP_SYN) {
        h.mss = (uint16_t)(nat->cfg.mtu - ip_hlen(f) - VPC_TCP_HLEN);
        h.send_wscale = f->tcp.ws_ok || f->tcp.state == NAT_TCP_SYN_SENT;
        h.wscale = f->tcp.our_wscale;
        h.window = 65535;
    } else if (!(flags & VPC_TCP_RST)) {
        wnd = rcv_window(nat, f);
        h.window = (uint16_t)(f->tcp.ws_ok ? wnd >> f->tcp.our_wscale : wnd);
        f->tcp.adv_wnd = wnd;
    }
    if (!(flags & VPC_TCP_ACK)) {
        h.ack = 0;
    }
    hlen = vpc_tcp_put_header(t, &h);
    return nat_send_ip(nat, buf, &f->key.remote, &f->key.guest, f->guest_mac,
                       VPC_IP_PROTO_TCP, hlen, 16);
}

/*
 * An RST for a segment of no connection (RFC 9293 section 3.10.7.1):
 * from @dst to @src, answering @tcp of @len data bytes.
 */
static void send_rst_for(VpcNat *nat, const NatAddr *src, const NatAddr *dst,
                         const uint8_t *mac, const VpcTcpView *tcp)
{
    uint8_t *buf = nat->ctrl;
    uint8_t *t = buf + nat_l4_offset(nat, dst);
    VpcTcpHeader h = {
        .src_port = tcp->dst_port, .dst_port = tcp->src_port,
    };
    size_t hlen;

    if (tcp->flags & VPC_TCP_ACK) {
        h.seq = tcp->ack;
        h.flags = VPC_TCP_RST;
    } else {
        h.ack = tcp->seq + (uint32_t)tcp->payload_len +
                ((tcp->flags & VPC_TCP_SYN) ? 1 : 0) +
                ((tcp->flags & VPC_TCP_FIN) ? 1 : 0);
        h.flags = VPC_TCP_RST | VPC_TCP_ACK;
    }
    hlen = vpc_tcp_put_header(t, &h);
    nat_send_ip(nat, buf, dst, src, mac, VPC_IP_PROTO_TCP, hlen, 16);
}

static void ack_later(VpcNat *nat, NatFlow *f)
{
    f->tcp.ack_pending = true;
    if (!f->in_pending_list) {
        f->in_pending_list = true;
        f->pending_next = nat->ack_pending_head;
        nat->ack_pending_head = nat_flow_index(nat, f);
    }
}

static void arm_rto(VpcNat *nat, NatFlow *f)
{
    nat_flow_set_timer(nat, f, ms_from_now(nat, f->tcp.rto_ms));
}

/* Abort: RST to the guest (when @to_guest) and to the remote. */
static void tcp_reset(VpcNat *nat, NatFlow *f, bool to_guest)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };

    if (to_guest) {
        send_ctrl(nat, f, VPC_TCP_RST | VPC_TCP_ACK, f->tcp.snd_nxt);
    }
    if (f->fd >= 0) {
        setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    nat_flow_free(nat, f);
}

/* An idle connection timed out: reset it both ways. */
void nat_tcp_close(VpcNat *nat, NatFlow *f)
{
    tcp_reset(nat, f, f->tcp.state != NAT_TCP_SYN_SENT);
}

static void set_reading(VpcNat *nat, NatFlow *f, bool on)
{
    unsigned ev = f->events & ~VPC_NAT_EV_IN;

    if (on && !f->tcp.host_eof) {
        ev |= VPC_NAT_EV_IN;
    }
    nat_flow_watch(nat, f, ev);
}

/* Both FINs through and ours acknowledged: the connection is over. */
static void maybe_finish(VpcNat *nat, NatFlow *f)
{
    if (f->tcp.guest_fin && f->tcp.fin_acked) {
        /* The ACK of the guest's FIN may still be due: it goes first. */
        if (f->tcp.ack_pending) {
            f->tcp.ack_pending = false;
            send_ctrl(nat, f, VPC_TCP_ACK, f->tcp.snd_nxt);
        }
        discard_acked(nat, f, true);
        nat_flow_free(nat, f);
    }
}

/* Fill the virtio-net header of a data frame (GSO when it is one). */
static void put_vnet_hdr(VpcNat *nat, uint8_t *buf, const NatFlow *f,
                         size_t payload, size_t hdrs)
{
    struct virtio_net_hdr h = { 0 };

    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.csum_start = (uint16_t)(VPC_ETH_HLEN + ip_hlen(f));
    h.csum_offset = 16;
    if (payload > f->tcp.mss) {
        h.gso_type = nat_addr_is_v4(&f->key.guest) ? VIRTIO_NET_HDR_GSO_TCPV4
                                                   : VIRTIO_NET_HDR_GSO_TCPV6;
        h.gso_size = f->tcp.mss;
        h.hdr_len = (uint16_t)hdrs;
    }
    memset(buf, 0, nat->tx_vnet);
    memcpy(buf, &h, sizeof(h));
}

/* Whether @f's frames to the guest may be GSO frames. */
static bool tcp_gso(const VpcNat *nat, const NatFlow *f)
{
    return nat->tx_offloads & (nat_addr_is_v4(&f->key.guest)
                               ? VPC_NAT_OFFLOAD_TSO4 : VPC_NAT_OFFLOAD_TSO6);
}

/* Send one data segment of @len bytes already at its place in @slot. */
static bool send_data(VpcNat *nat, NatFlow *f, uint8_t *slot, size_t len,
                      uint32_t seq, bool psh, bool fin)
{
    size_t vnet = nat->tx_vnet;
    uint8_t *eth = slot + vnet;
    uint8_t *ip = eth + VPC_ETH_HLEN;
    uint8_t *t = ip + ip_hlen(f);
    bool v4 = nat_addr_is_v4(&f->key.guest);
    VpcTcpHeader h = {
        .src_port = f->key.remote_port, .dst_port = f->key.guest_port,
        .seq = seq, .ack = f->tcp.rcv_nxt,
        .flags = VPC_TCP_ACK | (psh ? VPC_TCP_PSH : 0) |
                 (fin ? VPC_TCP_FIN : 0),
        .window = (uint16_t)(f->tcp.ws_ok ? f->tcp.adv_wnd >> f->tcp.our_wscale
                                          : f->tcp.adv_wnd),
    };
    size_t l4 = VPC_TCP_HLEN + len;
    uint32_t sum;

    vpc_tcp_put_header(t, &h);
    vpc_eth_put_header(eth, f->guest_mac, nat->cfg.gateway_mac,
                       v4 ? VPC_ETHERTYPE_IPV4 : VPC_ETHERTYPE_IPV6);
    if (v4) {
        vpc_ipv4_put_header(ip, nat_addr_v4(&f->key.remote),
                            nat_addr_v4(&f->key.guest), VPC_IP_PROTO_TCP,
                            (uint16_t)l4, nat->ip_id++, 64, true);
        sum = vpc_csum_pseudo_ipv4(nat_addr_v4(&f->key.remote),
                                   nat_addr_v4(&f->key.guest),
                                   VPC_IP_PROTO_TCP, (uint16_t)l4);
    } else {
        vpc_ipv6_put_header(ip, f->key.remote.a, f->key.guest.a,
                            VPC_IP_PROTO_TCP, (uint16_t)l4, 64);
        sum = vpc_csum_pseudo_ipv6(f->key.remote.a, f->key.guest.a,
                                   VPC_IP_PROTO_TCP, (uint32_t)l4);
    }
    if (nat->tx_offloads & VPC_NAT_OFFLOAD_CSUM) {
        /* The receiver completes the checksum from the pseudo-header's. */
        put_vnet_hdr(nat, slot, f, len, VPC_ETH_HLEN + ip_hlen(f) +
                     VPC_TCP_HLEN);
        vpc_put_be16(t + 16, (uint16_t)~vpc_csum_fold(sum));
    } else {
        nat_put_vnet(nat, slot);
        vpc_put_be16(t + 16, vpc_csum_fold(vpc_csum_partial(sum, t, l4)));
    }
    return nat_send_frame(nat, slot, vnet + VPC_ETH_HLEN + ip_hlen(f) + l4);
}

static void set_peek_off(NatFlow *f, uint32_t off)
{
    int v = (int)off;

    setsockopt(f->fd, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v));
}

/* @n more bytes of sequence space went out: the highest mark too. */
static void advance_nxt(NatFlow *f, uint32_t n)
{
    f->tcp.snd_nxt += n;
    if (vpc_seq_lt(f->tcp.snd_max, f->tcp.snd_nxt)) {
        f->tcp.snd_max = f->tcp.snd_nxt;
    }
}

/* Our FIN went out at snd_nxt, alone or on the last data segment. */
static void fin_went(VpcNat *nat, NatFlow *f)
{
    f->tcp.fin_seq = f->tcp.snd_nxt;
    f->tcp.fin_seq_valid = true;
    advance_nxt(f, 1);
    f->tcp.fin_sent = true;
    f->tcp.ack_pending = false;
    if (!f->timer_ns) {
        arm_rto(nat, f);
    }
}

/* Send our FIN (after all data), once. */
static void send_fin(VpcNat *nat, NatFlow *f)
{
    if (f->tcp.fin_sent) {
        return;
    }
    if (send_ctrl(nat, f, VPC_TCP_FIN | VPC_TCP_ACK, f->tcp.snd_nxt)) {
        fin_went(nat, f);
    }
}

/* What is behind the bytes a peek took: see peek_eof(). */
typedef enum NatPeekEnd {
    PEEK_DRAINED,       /* nothing yet */
    PEEK_EOF,           /* end of file */
    PEEK_MORE,          /* more data came meanwhile */
} NatPeekEnd;

/*
 * The socket was just drained by a peek of @peeked bytes: is its end of
 * file right behind them?  One more peek says: 0 is end of file, so our
 * FIN can ride on the last segment of the data.  Learning it only once
 * the guest has acknowledged the data (when reading resumes) would let
 * the guest's application close first: a server that answers and closes
 * would leave a TIME_WAIT socket in the guest for every connection, and
 * a guest opening thousands of connections spends its time searching its
 * ports for a free one (connect() in __inet_hash_connect).  A real path
 * delivers the server's FIN with its last data; so does this.  Kernels
 * without SO_PEEK_OFF would have to peek everything in flight again:
 * there the end of file is found when reading resumes, as before.
 */
static NatPeekEnd peek_eof(VpcNat *nat, NatFlow *f, size_t peeked)
{
    uint8_t byte;
    ssize_t m;

    if (f->tcp.host_eof) {
        return PEEK_EOF;
    }
    if (!nat->peek_off_ok) {
        return PEEK_DRAINED;
    }
    m = recv(f->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (m == 0) {
        f->tcp.host_eof = true;
        return PEEK_EOF;
    }
    if (m > 0) {
        /* Data came meanwhile, and the peek moved past it: move back. */
        set_peek_off(f, f->tcp.undiscarded +
                        (f->tcp.snd_nxt - f->tcp.snd_una) + (uint32_t)peeked);
        return PEEK_MORE;
    }
    return PEEK_DRAINED;
}

/*
 * Everything the socket holds has been peeked.  Readiness is level
 * triggered and peeked data is still there, so the socket would wake us
 * for nothing until the guest acknowledges it: while data is in flight
 * we stop watching it, and the guest's ACK (guest_ack) reads on.  With
 * nothing in flight the acknowledged bytes go and we watch again.
 */
static void drained(VpcNat *nat, NatFlow *f)
{
    if (f->tcp.snd_nxt != f->tcp.snd_una) {
        f->tcp.drained_paused = true;
        set_reading(nat, f, false);
    } else {
        discard_acked(nat, f, true);
        set_reading(nat, f, true);
    }
}

/*
 * Send what the socket holds and the guest's window allows, peeking it
 * into frame buffers.
 */
static void send_pending_data(VpcNat *nat, NatFlow *f)
{
    size_t off = nat->tx_vnet + VPC_ETH_HLEN + ip_hlen(f) + VPC_TCP_HLEN;
    size_t seg_max = tcp_gso(nat, f) ? TCP_GSO_MAX - ip_hlen(f) - VPC_TCP_HLEN
                                     : f->tcp.mss;
    size_t slot_size = NAT_HEADROOM + seg_max;
    unsigned slots = nat->tcp_pool_bytes / slot_size;
    struct iovec iov[64 + 1];
    uint32_t limit = nat->peek_off_ok ? TCP_MAX_INFLIGHT
                                      : (uint32_t)nat->discard_len;

    if (slots > 64) {
        slots = 64;
    }
    for (unsigned round = 0; round < 4; round++) {
        uint32_t in_flight = f->tcp.snd_nxt - f->tcp.snd_una;
        uint32_t wnd = f->tcp.guest_wnd < limit ? f->tcp.guest_wnd : limit;
        uint32_t avail, want = 0;
        struct msghdr msg = { .msg_iov = iov };
        unsigned nseg = 0, first = 0;
        ssize_t n;
        size_t got;
        NatPeekEnd end;
        bool fin;

        if (f->tcp.state != NAT_TCP_ESTABLISHED || f->tcp.fin_sent) {
            return;
        }
        if (nat->guest_busy) {
            f->tcp.busy_paused = true;
            set_reading(nat, f, false);
            return;
        }
        if (in_flight >= wnd) {
            /* The guest's window is full: its ACKs open it again. */
            set_reading(nat, f, false);
            if (wnd == 0 && !f->timer_ns) {
                arm_rto(nat, f);        /* probe the zero window */
            }
            return;
        }
        avail = wnd - in_flight;
        if (!nat->peek_off_ok) {
            iov[0].iov_base = nat->discard;
            iov[0].iov_len = in_flight;
            first = 1;
        }
        while (nseg < slots && want < avail) {
            size_t len = avail - want < seg_max ? avail - want : seg_max;

            iov[first + nseg].iov_base = nat->tcp_pool +
                                         nseg * slot_size + off;
            iov[first + nseg].iov_len = len;
            want += (uint32_t)len;
            nseg++;
        }
        msg.msg_iovlen = first + nseg;
        n = recvmsg(f->fd, &msg, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                drained(nat, f);
                return;
            }
            tcp_reset(nat, f, true);
            return;
        }
        if (!nat->peek_off_ok) {
            n = n > (ssize_t)in_flight ? n - (ssize_t)in_flight : 0;
        }
        if (n == 0) {
            /* End of file, and all of it sent: our FIN. */
            f->tcp.host_eof = true;
            set_reading(nat, f, false);
            send_fin(nat, f);
            return;
        }
        nat_flow_touch(nat, f);
        f->tcp.adv_wnd = rcv_window(nat, f);
        got = (size_t)n;
        end = (size_t)n < want ? peek_eof(nat, f, (size_t)n) : PEEK_MORE;
        fin = end == PEEK_EOF;
        for (unsigned i = 0; i < nseg && got; i++) {
            size_t len = got < iov[first + i].iov_len ? got
                                                      : iov[first + i].iov_len;
            uint8_t *slot = nat->tcp_pool + i * slot_size;

            if (!send_data(nat, f, slot, len, f->tcp.snd_nxt, got == len,
                           fin && got == len)) {
                /* Not taken: rewind the peek offset to what went out. */
                if (nat->peek_off_ok) {
                    set_peek_off(f, f->tcp.undiscarded +
                                    (f->tcp.snd_nxt - f->tcp.snd_una));
                }
                f->tcp.busy_paused = true;
                set_reading(nat, f, false);
                if (!f->timer_ns) {
                    arm_rto(nat, f);
                }
                return;
            }
            advance_nxt(f, (uint32_t)len);
            got -= len;
        }
        f->tcp.ack_pending = false;
        if (fin) {
            fin_went(nat, f);
            set_reading(nat, f, false);
            return;
        }
        if (!f->timer_ns) {
            arm_rto(nat, f);
        }
        if (end == PEEK_DRAINED) {
            drained(nat, f);
            return;
        }
    }
    set_reading(nat, f, true);
}

/* Rewind to the oldest unacknowledged byte and send again. */
static void retransmit(VpcNat *nat, NatFlow *f)
{
    nat->stats.tcp_retransmits++;
    if (f->tcp.fin_sent && f->tcp.snd_una == f->tcp.snd_nxt - 1) {
        /* Only the FIN is outstanding. */
        send_ctrl(nat, f, VPC_TCP_FIN | VPC_TCP_ACK, f->tcp.snd_una);
        return;
    }
    f->tcp.snd_nxt = f->tcp.snd_una;
    f->tcp.fin_sent = false;
    if (nat->peek_off_ok) {
        set_peek_off(f, f->tcp.undiscarded);
    }
    send_pending_data(nat, f);
    /*
     * Nothing went out: the FIN may follow only if no data is left
     * unacknowledged before it (the window or the guest's queue may have
     * held the data back; a FIN here would end the stream early).
     */
    if (f->key.type == NAT_FLOW_TCP && f->tcp.host_eof && !f->tcp.fin_sent &&
        f->tcp.snd_nxt == f->tcp.snd_una) {
        int queued = 1;

        /* Acknowledged bytes still queued (undiscarded) do not count. */
        if (ioctl(f->fd, SIOCINQ, &queued) == 0 &&
            (uint32_t)queued <= f->tcp.undiscarded) {
            send_fin(nat, f);
        }
    }
}

/* The connect() finished (or failed): answer the guest's SYN. */
static void connected(VpcNat *nat, NatFlow *f)
{
    int err = 0, one = 1, zero = 0;
    socklen_t sl = sizeof(err);

    if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0) {
        err = errno;
    }
    if (err) {
        nat->stats.tcp_refused++;
        tcp_reset(nat, f, true);
        return;
    }
    setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (nat->peek_off_ok) {
        setsockopt(f->fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero));
    }
    nat_flow_watch(nat, f, 0);
    f->tcp.state = NAT_TCP_SYN_RCVD;
    f->tcp.retries = 0;
    send_ctrl(nat, f, VPC_TCP_SYN | VPC_TCP_ACK, f->tcp.our_isn);
    f->tcp.snd_nxt = f->tcp.snd_max = f->tcp.our_isn + 1;
    nat_flow_set_timer(nat, f, ms_from_now(nat, TCP_SYN_RTO_MS));
}

static uint32_t new_isn(void)
{
    uint32_t isn;

    if (getrandom(&isn, sizeof(isn), GRND_NONBLOCK) != sizeof(isn)) {
        isn = (uint32_t)random();
    }
    return isn;
}

/* The guest's SYN to @dst: open the host side. */
static void guest_syn(VpcNat *nat, const VpcEthView *eth, const NatAddr *src,
                      const NatAddr *dst, const VpcTcpView *tcp)
{
    NatFlowKey key = { .type = NAT_FLOW_TCP, .guest_port = tcp->src_port,
                       .remote_port = tcp->dst_port };
    struct sockaddr_storage ss;
    socklen_t sl;
    NatAddr target;
    uint16_t port = tcp->dst_port;
    NatFlow *f;

    key.guest = *src;
    key.remote = *dst;
    if (nat_is_dns_addr(nat, dst) && tcp->dst_port == 53 &&
        !nat->cfg.restricted) {
        nat->stats.dns_queries++;
        if (!nat_resolver(nat, &target)) {
            nat->stats.dns_servfail++;
            nat->stats.tcp_refused++;
            send_rst_for(nat, src, dst, eth->src, tcp);
            return;
        }
    } else {
        NatVerdict v = nat_policy_check(nat, dst, &target);

        if (v != NAT_ALLOW) {
            nat_drop(nat, nat_verdict_drop(v));
            nat->stats.tcp_refused++;
            if (v != NAT_DENY_DEST) {
                send_rst_for(nat, src, dst, eth->src, tcp);
            }
            return;
        }
    }
    f = nat_flow_new(nat, &key, false);
    if (!f) {
        nat->stats.tcp_refused++;
        send_rst_for(nat, src, dst, eth->src, tcp);
        return;
    }
    memcpy(f->guest_mac, eth->src, 6);
    f->family = nat_addr_is_v4(&target) ? AF_INET : AF_INET6;
    f->tcp.state = NAT_TCP_CONNECTING;
    f->tcp.rcv_nxt = tcp->seq + 1;
    f->tcp.our_isn = new_isn();
    f->tcp.snd_una = f->tcp.snd_nxt = f->tcp.snd_max = f->tcp.our_isn;
    f->tcp.ws_ok = tcp->has_wscale;
    f->tcp.guest_wscale = tcp->has_wscale ? tcp->wscale : 0;
    f->tcp.our_wscale = tcp->has_wscale ? TCP_OUR_WSCALE : 0;
    f->tcp.mss = tcp->has_mss ? tcp->mss : TCP_DEFAULT_MSS;
    if (f->tcp.mss > nat->cfg.mtu - ip_hlen(f) - VPC_TCP_HLEN) {
        f->tcp.mss = (uint16_t)(nat->cfg.mtu - ip_hlen(f) - VPC_TCP_HLEN);
    }
    if (f->tcp.mss < 64) {
        f->tcp.mss = 64;
    }
    f->tcp.guest_wnd = tcp->window;
    f->tcp.rto_ms = TCP_RTO_MIN_MS;
    nat->stats.tcp_flows++;
    f->fd = socket(f->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->fd < 0) {
        nat_drop(nat, VPC_NAT_DROP_SOCKET);
        nat->stats.tcp_refused++;
        send_rst_for(nat, src, dst, eth->src, tcp);
        nat_flow_free(nat, f);
        return;
    }
    sl = nat_addr_to_sockaddr(&target, port, &ss);
    if (connect(f->fd, (struct sockaddr *)&ss, sl) == 0) {
        connected(nat, f);
        return;
    }
    if (errno != EINPROGRESS) {
        nat->stats.tcp_refused++;
        tcp_reset(nat, f, true);
        return;
    }
    nat_flow_watch(nat, f, VPC_NAT_EV_OUT);
    nat_flow_set_timer(nat, f, ms_from_now(nat, TCP_CONNECT_TIMEOUT_MS));
}

/* Data (and FIN) of an established connection from the guest. */
static void guest_data(VpcNat *nat, NatFlow *f, const VpcTcpView *tcp)
{
    const uint8_t *data = tcp->payload;
    size_t len = tcp->payload_len;
    uint32_t seq = tcp->seq;
    bool fin = tcp->flags & VPC_TCP_FIN;

    if (f->tcp.guest_fin) {
        if (len || fin) {
            ack_later(nat, f);  /* a retransmission after our ACK */
        }
        return;
    }
    if (vpc_seq_lt(seq, f->tcp.rcv_nxt)) {
        uint32_t skip = f->tcp.rcv_nxt - seq;

        if (skip > len || (skip == len && !fin)) {
            ack_later(nat, f);  /* all of it seen before */
            return;
        }
        data += skip;
        len -= skip;
        seq = f->tcp.rcv_nxt;
    }
    if (seq != f->tcp.rcv_nxt) {
        nat_drop(nat, VPC_NAT_DROP_TCP_OUT_OF_ORDER);
        send_ctrl(nat, f, VPC_TCP_ACK, f->tcp.snd_nxt);
        return;
    }
    if (len) {
        ssize_t n;

        if (f->tcp.write_blocked) {
            return;             /* the window is closed: a probe */
        }
        n = send(f->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            tcp_reset(nat, f, true);
            return;
        }
        if (n < 0) {
            n = 0;
        }
        f->tcp.rcv_nxt += (uint32_t)n;
        f->tcp.room_est -= (uint32_t)n < f->tcp.room_est ? (uint32_t)n
                                                         : f->tcp.room_est;
        ack_later(nat, f);
        if ((size_t)n < len) {
            nat->stats.tcp_partial_writes++;
            f->tcp.write_blocked = true;
            nat_flow_watch(nat, f, f->events | VPC_NAT_EV_OUT);
            return;
        }
    }
    if (fin) {
        f->tcp.rcv_nxt++;
        f->tcp.guest_fin = true;
        shutdown(f->fd, SHUT_WR);
        ack_later(nat, f);
    }
}

/* The ACK field of a segment on an established connection. */
static bool guest_ack(VpcNat *nat, NatFlow *f, const VpcTcpView *tcp,
                      bool *opened)
{
    uint32_t ack = tcp->ack;
    uint32_t acked = ack - f->tcp.snd_una;
    uint32_t old_wnd = f->tcp.guest_wnd;

    *opened = false;
    /* After a rewind, the guest may still acknowledge up to snd_max. */
    if (vpc_seq_lt(f->tcp.snd_max, ack)) {
        nat_drop(nat, VPC_NAT_DROP_TCP_BAD_ACK);
        send_ctrl(nat, f, VPC_TCP_ACK, f->tcp.snd_nxt);
        return false;
    }
    f->tcp.guest_wnd = f->tcp.ws_ok ? (uint32_t)tcp->window <<
                                      f->tcp.guest_wscale
                                    : tcp->window;
    if (f->tcp.guest_wnd == 0) {
        /* Answering probes of a zero window: alive, not lost. */
        f->tcp.retries = 0;
    }
    if (vpc_seq_lt(f->tcp.snd_una, ack)) {
        uint32_t data = acked;
        bool rewound = vpc_seq_lt(f->tcp.snd_nxt, ack);

        if (f->tcp.fin_seq_valid && ack == f->tcp.fin_seq + 1) {
            data--;
            f->tcp.fin_sent = true;
            f->tcp.fin_acked = true;
        }
        f->tcp.undiscarded += data;
        discard_acked(nat, f, false);
        f->tcp.snd_una = ack;
        if (rewound) {
            /* What we were about to send again arrived after all. */
            f->tcp.snd_nxt = ack;
            if (nat->peek_off_ok) {
                set_peek_off(f, f->tcp.undiscarded);
            }
        }
        f->tcp.dup_acks = 0;
        f->tcp.retries = 0;
        f->tcp.rto_ms = TCP_RTO_MIN_MS;
        if (f->tcp.snd_una == f->tcp.snd_nxt) {
            nat_flow_set_timer(nat, f, 0);
        } else {
            arm_rto(nat, f);
        }
    } else if (ack == f->tcp.snd_una && tcp->payload_len == 0 &&
               !(tcp->flags & (VPC_TCP_FIN | VPC_TCP_SYN)) &&
               f->tcp.snd_nxt != f->tcp.snd_una &&
               tcp->window == f->tcp.last_guest_wnd) {
        if (++f->tcp.dup_acks == TCP_DUPACK_THRESHOLD) {
            retransmit(nat, f);
            if (f->key.type != NAT_FLOW_TCP) {
                return false;
            }
        }
    }
    f->tcp.last_guest_wnd = tcp->window;
    *opened = acked || f->tcp.guest_wnd > old_wnd;
    return true;
}

/*
 * After the guest's segment is through (its data written to the socket
 * first: a request is on its way to the server before we spend system
 * calls on the other direction).  Everything peeked is acknowledged:
 * watch the socket again (new data wakes us; no need to look now).
 * Otherwise, more room in the guest's window (@opened): read on, if
 * reading had stopped; while the socket is watched its data wakes us
 * anyway.
 */
static void read_on(VpcNat *nat, NatFlow *f, bool opened)
{
    if (f->tcp.drained_paused && f->tcp.snd_una == f->tcp.snd_nxt &&
        !f->tcp.host_eof && !nat->guest_busy) {
        f->tcp.drained_paused = false;
        discard_acked(nat, f, true);
        set_reading(nat, f, true);
    } else if (opened && !f->tcp.fin_sent && !(f->events & VPC_NAT_EV_IN)) {
        f->tcp.drained_paused = false;
        send_pending_data(nat, f);
    }
}

void nat_tcp_input(VpcNat *nat, const VpcEthView *eth, const NatAddr *src,
                   const NatAddr *dst, const uint8_t *seg, size_t seg_len,
                   const VpcTcpView *tcp)
{
    NatFlowKey key = { .type = NAT_FLOW_TCP, .guest_port = tcp->src_port,
                       .remote_port = tcp->dst_port };
    uint8_t flags = tcp->flags;
    bool opened;
    NatFlow *f;

    key.guest = *src;
    key.remote = *dst;
    if (tcp->src_port == 0 || tcp->dst_port == 0) {
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return;
    }
    f = nat_flow_lookup(nat, &key);
    if (!f) {
        if (flags & VPC_TCP_RST) {
            return;
        }
        if ((flags & (VPC_TCP_SYN | VPC_TCP_ACK)) != VPC_TCP_SYN) {
            nat_drop(nat, VPC_NAT_DROP_TCP_NO_FLOW);
            send_rst_for(nat, src, dst, eth->src, tcp);
            return;
        }
        guest_syn(nat, eth, src, dst, tcp);
        return;
    }
    memcpy(f->guest_mac, eth->src, 6);
    if (flags & VPC_TCP_RST) {
        /* In the window (RFC 5961 would want exactly rcv_nxt; be kind). */
        if (f->tcp.state == NAT_TCP_SYN_SENT ||
            (!vpc_seq_lt(tcp->seq, f->tcp.rcv_nxt - 1) &&
             vpc_seq_le(tcp->seq, f->tcp.rcv_nxt + f->tcp.adv_wnd))) {
            tcp_reset(nat, f, false);
        }
        return;
    }
    switch (f->tcp.state) {
    case NAT_TCP_CONNECTING:
        /* The guest repeats its SYN while the host connects. */
        return;
    case NAT_TCP_SYN_RCVD:
        if ((flags & VPC_TCP_SYN) && !(flags & VPC_TCP_ACK)) {
            send_ctrl(nat, f, VPC_TCP_SYN | VPC_TCP_ACK, f->tcp.our_isn);
            return;
        }
        if (!(flags & VPC_TCP_ACK) || tcp->ack != f->tcp.our_isn + 1) {
            send_rst_for(nat, src, dst, eth->src, tcp);
            return;
        }
        f->tcp.state = NAT_TCP_ESTABLISHED;
        f->tcp.snd_una = tcp->ack;
        f->tcp.retries = 0;
        nat_flow_set_timer(nat, f, 0);
        set_reading(nat, f, true);
        break;
    case NAT_TCP_SYN_SENT:
        if ((flags & (VPC_TCP_SYN | VPC_TCP_ACK)) !=
            (VPC_TCP_SYN | VPC_TCP_ACK) || tcp->ack != f->tcp.our_isn + 1) {
            return;
        }
        f->tcp.rcv_nxt = tcp->seq + 1;
        f->tcp.ws_ok = tcp->has_wscale;
        f->tcp.guest_wscale = tcp->has_wscale ? tcp->wscale : 0;
        if (!f->tcp.ws_ok) {
            f->tcp.our_wscale = 0;
        }
        f->tcp.mss = tcp->has_mss ? tcp->mss : TCP_DEFAULT_MSS;
        if (f->tcp.mss > nat->cfg.mtu - ip_hlen(f) - VPC_TCP_HLEN) {
            f->tcp.mss = (uint16_t)(nat->cfg.mtu - ip_hlen(f) - VPC_TCP_HLEN);
        }
        f->tcp.snd_una = tcp->ack;
        f->tcp.guest_wnd = tcp->window;
        f->tcp.state = NAT_TCP_ESTABLISHED;
        f->tcp.retries = 0;
        nat_flow_set_timer(nat, f, 0);
        nat_flow_touch(nat, f);
        send_ctrl(nat, f, VPC_TCP_ACK, f->tcp.snd_nxt);
        send_pending_data(nat, f);
        return;
    case NAT_TCP_ESTABLISHED:
        if (flags & VPC_TCP_SYN) {
            /* A new connection on a port we think is busy: answer with
             * an ACK of what we know (RFC 5961 challenge ACK). */
            send_ctrl(nat, f, VPC_TCP_ACK, f->tcp.snd_nxt);
            return;
        }
        break;
    }
    nat_flow_touch(nat, f);
    if (!(flags & VPC_TCP_ACK)) {
        return;
    }
    if (!guest_ack(nat, f, tcp, &opened)) {
        return;
    }
    guest_data(nat, f, tcp);
    if (f->key.type == NAT_FLOW_TCP) {
        read_on(nat, f, opened);
    }
    if (f->key.type == NAT_FLOW_TCP) {
        maybe_finish(nat, f);
    }
}

void nat_tcp_ready(VpcNat *nat, NatFlow *f, unsigned events)
{
    if (f->tcp.state == NAT_TCP_CONNECTING) {
        if (events & VPC_NAT_EV_OUT) {
            connected(nat, f);
        }
        return;
    }
    if (events & VPC_NAT_EV_OUT) {
        bool was_blocked = f->tcp.write_blocked;

        f->tcp.write_blocked = false;
        f->tcp.wait_space = false;
        f->tcp.room_est = 0;        /* look at the socket again */
        nat_flow_watch(nat, f, f->events & ~VPC_NAT_EV_OUT);
        if (was_blocked) {
            /* A window update, then three duplicate ACKs: resend now. */
            f->tcp.dupack_burst = TCP_DUPACK_THRESHOLD;
        }
        ack_later(nat, f);
    }
    if ((events & VPC_NAT_EV_IN) && f->tcp.state == NAT_TCP_ESTABLISHED) {
        send_pending_data(nat, f);
    }
}

void nat_tcp_timer(VpcNat *nat, NatFlow *f)
{
    switch (f->tcp.state) {
    case NAT_TCP_CONNECTING:
        nat->stats.tcp_timeouts++;
        tcp_reset(nat, f, true);
        return;
    case NAT_TCP_SYN_RCVD:
    case NAT_TCP_SYN_SENT:
        if (++f->tcp.retries > TCP_SYN_RETRIES) {
            nat->stats.tcp_timeouts++;
            tcp_reset(nat, f, f->tcp.state == NAT_TCP_SYN_RCVD);
            return;
        }
        if (f->tcp.state == NAT_TCP_SYN_RCVD) {
            send_ctrl(nat, f, VPC_TCP_SYN | VPC_TCP_ACK, f->tcp.our_isn);
        } else if (nat_guest_mac(nat, &f->key.guest, f->guest_mac)) {
            send_ctrl(nat, f, VPC_TCP_SYN, f->tcp.our_isn);
        }
        nat_flow_set_timer(nat, f, ms_from_now(nat, TCP_SYN_RTO_MS <<
                                               f->tcp.retries));
        return;
    case NAT_TCP_ESTABLISHED:
        break;
    }
    if (f->tcp.snd_nxt == f->tcp.snd_una) {
        if (f->tcp.guest_wnd == 0 && !f->tcp.fin_sent) {
            /* Probe a zero window: an old ACK makes the guest answer. */
            send_ctrl(nat, f, VPC_TCP_ACK, f->tcp.snd_nxt - 1);
            f->tcp.rto_ms = f->tcp.rto_ms * 2 > TCP_RTO_MAX_MS
                            ? TCP_RTO_MAX_MS : f->tcp.rto_ms * 2;
            arm_rto(nat, f);
        }
        return;
    }
    if (++f->tcp.retries > TCP_MAX_RETRIES) {
        nat->stats.tcp_timeouts++;
        tcp_reset(nat, f, true);
        return;
    }
    f->tcp.rto_ms = f->tcp.rto_ms * 2 > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS
                                                       : f->tcp.rto_ms * 2;
    retransmit(nat, f);
    if (f->key.type == NAT_FLOW_TCP) {
        arm_rto(nat, f);
    }
}

void nat_tcp_flush(VpcNat *nat)
{
    while (nat->ack_pending_head != NAT_NONE) {
        NatFlow *f = &nat->flows[nat->ack_pending_head];

        nat->ack_pending_head = f->pending_next;
        f->in_pending_list = false;
        if (f->key.type != NAT_FLOW_TCP || !f->tcp.ack_pending) {
            continue;
        }
        f->tcp.ack_pending = false;
        send_ctrl(nat, f, VPC_TCP_ACK, f->tcp.snd_nxt);
        for (; f->tcp.dupack_burst; f->tcp.dupack_burst--) {
            send_ctrl(nat, f, VPC_TCP_ACK, f->tcp.snd_nxt);
        }
        maybe_finish(nat, f);
    }
}

void nat_tcp_guest_ready(VpcNat *nat)
{
    for (uint32_t i = nat->lru_head[NAT_FLOW_TCP]; i != NAT_NONE;) {
        NatFlow *f = &nat->flows[i];

        i = f->lru_next;
        if (f->tcp.busy_paused) {
            f->tcp.busy_paused = false;
            send_pending_data(nat, f);
        }
    }
}

void nat_tcp_accepted(VpcNat *nat, const VpcNatFwd *fwd, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    NatFlowKey key = { .type = NAT_FLOW_TCP, .guest_port = fwd->guest_port };
    NatAddr client;
    uint16_t cport = 0;
    NatFlow *f;
    int one = 1;

    if (!nat_fwd_guest_addr(nat, fwd, &key.guest)) {
        close(fd);
        nat_drop(nat, VPC_NAT_DROP_NO_GUEST);
        return;
    }
    key.remote = nat_addr_is_v4(&key.guest) ? nat->gw4 : nat->gw6;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        nat_addr_from_sockaddr(&client, &cport, (struct sockaddr *)&ss);
    }
    /* The guest sees the gateway and the client's port, or a free one. */
    key.remote_port = cport ? cport : 1024;
    for (unsigned tries = 0; nat_flow_lookup(nat, &key); tries++) {
        if (tries == 64) {
            close(fd);
            nat_drop(nat, VPC_NAT_DROP_TABLE_FULL);
            return;
        }
        key.remote_port = (uint16_t)(49152 + (new_isn() % 16384));
    }
    f = nat_flow_new(nat, &key, false);
    if (!f) {
        close(fd);
        return;
    }
    f->fd = fd;
    f->family = ss.ss_family;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (nat->peek_off_ok) {
        int zero = 0;

        setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero));
    }
    f->tcp.state = NAT_TCP_SYN_SENT;
    f->tcp.our_isn = new_isn();
    f->tcp.snd_una = f->tcp.our_isn;
    f->tcp.snd_nxt = f->tcp.snd_max = f->tcp.our_isn + 1;
    f->tcp.our_wscale = TCP_OUR_WSCALE;
    f->tcp.mss = TCP_DEFAULT_MSS;
    f->tcp.rto_ms = TCP_RTO_MIN_MS;
    nat->stats.tcp_flows++;
    if (nat_guest_mac(nat, &key.guest, f->guest_mac)) {
        send_ctrl(nat, f, VPC_TCP_SYN, f->tcp.our_isn);
    }
    nat_flow_set_timer(nat, f, ms_from_now(nat, TCP_SYN_RTO_MS));
}
