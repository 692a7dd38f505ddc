/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: what the translator's files share.  Not for embedders,
 * which use nat.h.
 *
 * One file per protocol: core.c (creation, dispatch of guest frames,
 * frames to the guest, the guests' addresses, timers, watches), flow.c
 * (the flow table), policy.c (where the guest may go, the host's own
 * addresses), arp.c, dhcp.c, ndp.c, dhcpv6.c, icmp.c, udp.c, dns.c,
 * tcp.c and fwd.c (port forwards).  Addresses are kept as 16 bytes in
 * network order, IPv4 ones mapped (::ffff:a.b.c.d), so a flow key is the
 * same for both families.
 */
#ifndef VPCNET_NAT_IMPL_H
#define VPCNET_NAT_IMPL_H

#include "net/vpcnet/nat/nat.h"
#include "net/vpcnet/checksum.h"
#include "net/vpcnet/dhcp-server.h"
#include "net/vpcnet/macaddr.h"
#include "net/vpcnet/eth.h"
#include "net/vpcnet/ipv4.h"
#include "net/vpcnet/ipv6.h"
#include "net/vpcnet/tcp.h"
#include "net/vpcnet/udp.h"

#include <netinet/in.h>
#include <sys/socket.h>

#define NAT_NONE                UINT32_MAX
#define NAT_MAX_HOST_ADDRS      256
#define NAT_MAX_RESOLVERS       3
#define NAT_NEIGH_ENTRIES       64
/* Room in front of an IP payload: virtio-net header, Ethernet, IPv6,
 * a fragment header, TCP with options. */
#define NAT_HEADROOM            (12 + VPC_ETH_HLEN + VPC_IPV6_HLEN + 8 + \
                                 VPC_TCP_MAX_HLEN)
#define NAT_CTRL_FRAME_MAX      2048    /* ARP, DHCP, RST, ICMP errors */
#define NAT_TCP_POOL_BYTES      (1u << 19)
#define NAT_UDP_BATCH           16
#define NAT_SWEEP_NS            1000000000ll
#define NAT_TIMER_SLACK_NS      5000000ll
#define NAT_ECHO_IDLE_S         60
#define NAT_DNS_IDLE_S          10

/* NatAddr - an address of either family; IPv4 mapped into IPv6. */
typedef struct NatAddr {
    uint8_t a[16];
} NatAddr;

void nat_addr_from_v4(NatAddr *n, uint32_t v4);
uint32_t nat_addr_v4(const NatAddr *n);
bool nat_addr_is_v4(const NatAddr *n);
bool nat_addr_eq(const NatAddr *a, const NatAddr *b);
/* A sockaddr for @n and @port: sockaddr_in for a mapped one. */
socklen_t nat_addr_to_sockaddr(const NatAddr *n, uint16_t port,
                               struct sockaddr_storage *ss);
/* The address and port of @sa (AF_INET or AF_INET6); false otherwise. */
bool nat_addr_from_sockaddr(NatAddr *n, uint16_t *port,
                            const struct sockaddr *sa);
const char *nat_addr_format(const NatAddr *n, char *buf, size_t size);

typedef enum NatFlowType {
    NAT_FLOW_FREE,
    NAT_FLOW_TCP,
    NAT_FLOW_UDP,
    NAT_FLOW_ECHO,
    NAT_FLOW_TYPES,
} NatFlowType;

/* The LRU lists: one per flow type, and one for DNS flows. */
#define NAT_LRU_DNS     NAT_FLOW_TYPES
#define NAT_LRU_LISTS   (NAT_FLOW_TYPES + 1)

typedef enum NatWatchKind {
    NAT_WATCH_FLOW,
    NAT_WATCH_FWD,
    NAT_WATCH_NETLINK,
    NAT_WATCH_RAW4,
    NAT_WATCH_RAW6,
} NatWatchKind;

struct VpcNatWatch {
    VpcNat *nat;
    NatWatchKind kind;
    uint32_t index;
};

/**
 * NatFlowKey - what identifies a flow, as the guest sees it.  Compared
 * and hashed as bytes: every field, padding included, is set.
 * @type: NatFlowType.
 * @dns: a UDP flow of queries to the virtual DNS address.
 * @pad: zero.
 * @guest_port: the guest's port, or its echo identifier.
 * @remote_port: the remote port (TCP only; 0 for UDP and echo, whose
 *               host sockets talk to any remote).
 * @guest: the guest's address.
 * @remote: the address the guest talks to (TCP only, else zero).
 */
typedef struct NatFlowKey {
    uint8_t type;
    uint8_t dns;
    uint8_t pad[2];
    uint16_t guest_port;
    uint16_t remote_port;
    NatAddr guest;
    NatAddr remote;
} NatFlowKey;

typedef enum NatTcpState {
    NAT_TCP_CONNECTING,     /* guest SYN seen, host connect() running */
    NAT_TCP_SYN_RCVD,       /* SYN-ACK sent to the guest */
    NAT_TCP_SYN_SENT,       /* forward: SYN sent to the guest */
    NAT_TCP_ESTABLISHED,    /* data both ways, each side may have FINed */
} NatTcpState;

/**
 * NatTcp - one translated TCP connection.  Sequence numbers towards the
 * guest are ours (snd_*); the guest's are rcv_*.
 * @state: NatTcpState.
 * @guest_fin: the guest's FIN came and was passed on (SHUT_WR).
 * @host_eof: the host socket reached end of file.
 * @fin_sent: our FIN went to the guest (at @snd_nxt - 1).
 * @fin_acked: the guest acknowledged it.
 * @ws_ok: both SYNs carried window scale.
 * @ack_pending: an ACK or window update is due at the end of the batch.
 * @write_blocked: a write fell short; EPOLLOUT is awaited.
 * @wait_space: the host socket's send buffer is nearly full: EPOLLOUT is
 *              awaited to tell the guest when there is room again.
 * @busy_paused: reading stopped because the guest's queue is full.
 * @drained_paused: reading stopped because all the socket held is in
 *                  flight (see drained() in tcp.c).
 * @dupack_burst: ACKs to repeat at the end of the batch (after a short
 *                write: three identical ACKs make the guest resend at
 *                once instead of after its retransmission timeout).
 * @last_guest_wnd: the guest's window field as last received, for
 *                  telling duplicate ACKs from window updates.
 * @room_est: the room left in the host socket's send buffer, as last
 *            measured less what we wrote since (0: measure).
 * @sndbuf_est: its size, as last measured.
 * @undiscarded: bytes the guest acknowledged that are still in the
 *               socket's receive queue, before @snd_una.
 * @rcv_nxt: the next sequence number expected from the guest.
 * @snd_una: the oldest unacknowledged sequence number we sent.
 * @snd_nxt: the next sequence number we send.
 * @snd_max: the highest sequence number sent + 1 (beyond @snd_nxt after
 *           a rewind for retransmission).
 * @fin_seq: the sequence number of our FIN, once sent (@fin_seq_valid).
 * @fin_seq_valid: see @fin_seq.
 * @our_isn: our initial sequence number.
 * @guest_wnd: the guest's receive window, scaled, in bytes.
 * @guest_wscale: its window scale shift.
 * @our_wscale: ours.
 * @mss: largest segment we send the guest.
 * @adv_wnd: the window we last told the guest, in bytes.
 * @dup_acks: duplicate ACKs in a row.
 * @retries: retransmissions since the last progress.
 * @rto_ms: the retransmission timeout.
 */
typedef struct NatTcp {
    uint8_t state;
    bool guest_fin;
    bool host_eof;
    bool fin_sent;
    bool fin_acked;
    bool ws_ok;
    bool ack_pending;
    bool write_blocked;
    bool wait_space;
    bool busy_paused;
    bool drained_paused;
    uint8_t dupack_burst;
    uint16_t last_guest_wnd;
    uint32_t room_est;
    uint32_t sndbuf_est;
    uint32_t undiscarded;
    uint32_t rcv_nxt;
    uint32_t snd_una;
    uint32_t snd_nxt;
    uint32_t snd_max;
    uint32_t fin_seq;
    bool fin_seq_valid;
    uint32_t our_isn;
    uint32_t guest_wnd;
    uint8_t guest_wscale;
    uint8_t our_wscale;
    uint16_t mss;
    uint32_t adv_wnd;
    uint8_t dup_acks;
    uint8_t retries;
    uint32_t rto_ms;
} NatTcp;

/**
 * NatEcho - one ICMP echo flow.
 * @raw: carried by the shared raw socket, not a ping socket of its own.
 * @host_id: the identifier on the host side (a ping socket's port, or
 *           the one we chose on the raw socket).
 */
typedef struct NatEcho {
    bool raw;
    uint16_t host_id;
} NatEcho;

/**
 * NatUdp - one UDP flow.
 * @fwd: made by a port forward: the guest answers @client through the
 *       forward's socket (the flow has no socket of its own).
 * @fwd_index: the forward's slot.
 * @client_port: the host client's port.
 * @client: the host client's address.
 */
typedef struct NatUdp {
    bool fwd;
    uint16_t fwd_index;
    uint16_t client_port;
    NatAddr client;
} NatUdp;

/**
 * NatFlow - one slot of the flow table.
 * @key: what identifies it (type NAT_FLOW_FREE when unused).
 * @watch: its handle for the embedder.
 * @fd: its host socket, or -1.
 * @events: what is watched on @fd now.
 * @family: the host socket's family (a guest on IPv4 may be served over
 *          IPv6, as for DNS).
 * @guest_mac: the guest's MAC, the destination of frames for it.
 * @lru_prev: the previous flow of its type by last activity.
 * @lru_next: the next.
 * @timer_prev: the previous flow with a timer.
 * @timer_next: the next.
 * @hash_slot: where the hash table points at it.
 * @in_pending_list: on the core's list of TCP flows with an ACK due.
 *                   Kept across free and reuse of the slot, since the
 *                   list is only walked (and left) at the end of a batch.
 * @pending_next: the next slot on that list.
 * @active_ns: when traffic last went through it.
 * @timer_ns: its protocol timer, 0 for none.
 * @tcp: TCP state.
 * @udp: UDP state.
 * @echo: echo state.
 */
typedef struct NatFlow {
    NatFlowKey key;
    VpcNatWatch watch;
    int fd;
    unsigned events;
    int family;
    uint8_t guest_mac[6];
    uint32_t lru_prev;
    uint32_t lru_next;
    uint32_t timer_prev;
    uint32_t timer_next;
    uint32_t hash_slot;
    bool in_pending_list;
    uint32_t pending_next;
    int64_t active_ns;
    int64_t timer_ns;
    union {
        NatTcp tcp;
        NatUdp udp;
        NatEcho echo;
    };
} NatFlow;

/**
 * NatFwdSlot - one port forward and its listening socket.
 * @used: in use.
 * @fwd: what it forwards.
 * @fd: the listening (TCP) or bound (UDP) socket.
 * @watch: its handle.
 */
typedef struct NatFwdSlot {
    bool used;
    VpcNatFwd fwd;
    int fd;
    VpcNatWatch watch;
} NatFwdSlot;

/* NatNeigh - a guest address and its MAC, learned from its frames. */
typedef struct NatNeigh {
    NatAddr addr;
    uint8_t mac[6];
    int64_t seen_ns;
} NatNeigh;

/**
 * NatHostAddrs - the host's own addresses, which the guest may not reach.
 * @addr: the addresses.
 * @n: how many.
 * @read_ns: when they were read.
 */
typedef struct NatHostAddrs {
    NatAddr addr[NAT_MAX_HOST_ADDRS];
    unsigned n;
    int64_t read_ns;
} NatHostAddrs;

/**
 * NatResolvers - the host's DNS servers, from resolv.conf.
 * @addr: their addresses.
 * @n: how many.
 * @checked_ns: when resolv.conf was last looked at.
 * @mtime_ns, @ino, @size: what it looked like then.
 */
typedef struct NatResolvers {
    NatAddr addr[NAT_MAX_RESOLVERS];
    unsigned n;
    int64_t checked_ns;
    int64_t mtime_ns;
    uint64_t ino;
    int64_t size;
    bool loaded;
} NatResolvers;

struct VpcNat {
    VpcNatConfig cfg;
    VpcNatCallbacks cb;
    void *opaque;
    VpcNatStats stats;
    int64_t now_ns;

    /* Virtual addresses, as NatAddr. */
    NatAddr gw4, dns4, gw6, dns6, gw6_ll;
    uint8_t mss4, mss6_unused;

    /* The flow table and its index. */
    NatFlow *flows;
    uint32_t n_flows;
    uint32_t free_head;
    uint32_t *hash;
    uint32_t hash_mask;
    uint64_t hash_seed;
    uint32_t lru_head[NAT_LRU_LISTS];
    uint32_t lru_tail[NAT_LRU_LISTS];
    uint32_t type_count[NAT_FLOW_TYPES];
    uint32_t timer_head;
    int64_t armed_ns;
    int64_t sweep_ns;
    int64_t ra_ns;
    uint32_t ack_pending_head;

    /* Guests, forwards, the host, DNS. */
    NatNeigh neigh[NAT_NEIGH_ENTRIES];
    NatFwdSlot fwds[VPC_NAT_MAX_FWDS];
    NatHostAddrs host_addrs;
    int netlink_fd;
    VpcNatWatch netlink_watch;
    NatResolvers resolvers;
    VpcDhcpServer *dhcp;

    /* ICMP echo: what the host lets us use. */
    bool ping4_ok, ping6_ok;
    int raw4_fd, raw6_fd;
    VpcNatWatch raw4_watch, raw6_watch;
    bool echo_warned;
    uint16_t raw_next_id;
    uint32_t *raw_id_flow;      /* host identifier -> raw echo flow */

    /* TCP: how host sockets are peeked. */
    bool peek_off_ok;
    uint8_t *discard;
    size_t discard_len;

    /* Buffers, allocated once. */
    uint8_t *ctrl;              /* NAT_CTRL_FRAME_MAX: one control frame */
    uint8_t *tcp_pool;          /* segments peeked from a host socket */
    size_t tcp_pool_bytes;

    /* virtio-net headers (vpc_nat_set_vnet): lengths and offloads. */
    unsigned rx_vnet;
    unsigned tx_vnet;
    unsigned tx_offloads;
    uint8_t *udp_pool;          /* datagrams of one recvmmsg batch */
    size_t udp_slot_size;
    bool guest_busy;
    uint16_t ip_id;
};

/* core.c: logging, frames to the guest, guests' addresses, timers. */
void nat_log(VpcNat *nat, VpcNatLogLevel level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void nat_drop(VpcNat *nat, VpcNatDrop why);
/* The guest's MAC for @addr; false when unknown (then asked for). */
bool nat_guest_mac(VpcNat *nat, const NatAddr *addr, uint8_t mac[6]);
void nat_learn_guest(VpcNat *nat, const NatAddr *addr, const uint8_t *mac);
/* The guest-facing address of @a, as the source of frames to it. */
/*
 * nat_send_ip - send an IP packet to the guest from @src to @dst (whose
 * MAC is @dst_mac): the caller wrote the upper layer of @l4_len bytes at
 * @buf + nat_l4_offset(@src); this writes the headers in front of it
 * (and the virtio-net header), and fills in the upper layer's checksum
 * at @csum_off within it (or -1 for none: ICMPv4 does its own).
 * @buf must hold nat_l4_offset() bytes of headroom.
 */
size_t nat_l4_offset(const VpcNat *nat, const NatAddr *src);
bool nat_send_ip(VpcNat *nat, uint8_t *buf, const NatAddr *src,
                 const NatAddr *dst, const uint8_t *dst_mac, uint8_t proto,
                 size_t l4_len, int csum_off);
/* nat_send_ip with hop limit 255, as Neighbor Discovery requires. */
bool nat_send_ndp(VpcNat *nat, uint8_t *buf, const NatAddr *src,
                  const NatAddr *dst, const uint8_t *dst_mac, size_t l4_len);
/* Make sure the embedder's timer fires by @deadline_ns. */
void nat_arm_at(VpcNat *nat, int64_t deadline_ns);
bool nat_send_frame(VpcNat *nat, uint8_t *frame, size_t len);
/* Write the virtio-net header of a frame whose checksums are complete. */
void nat_put_vnet(VpcNat *nat, uint8_t *buf);
void nat_flow_set_timer(VpcNat *nat, NatFlow *f, int64_t deadline_ns);
void nat_watch(VpcNat *nat, int fd, unsigned events, VpcNatWatch *w);
void nat_flow_watch(VpcNat *nat, NatFlow *f, unsigned events);
bool nat_is_virtual_addr(const VpcNat *nat, const NatAddr *a);

/* flow.c: the table. */
int nat_flows_init(VpcNat *nat, char *err, size_t errlen);
void nat_flows_free(VpcNat *nat);
NatFlow *nat_flow_lookup(VpcNat *nat, const NatFlowKey *key);
/* A new flow for @key, evicting the oldest idle UDP/echo flow when the
 * table is full and @may_evict; NULL (counted) when none can be had. */
NatFlow *nat_flow_new(VpcNat *nat, const NatFlowKey *key, bool may_evict);
void nat_flow_free(VpcNat *nat, NatFlow *f);
void nat_flow_touch(VpcNat *nat, NatFlow *f);
uint32_t nat_flow_index(const VpcNat *nat, const NatFlow *f);
NatFlow *nat_flow_at(VpcNat *nat, uint32_t index);
void nat_flows_sweep(VpcNat *nat);

/* policy.c: where the guest may go, the host's addresses. */
typedef enum NatVerdict {
    NAT_ALLOW,
    NAT_DENY_HOST,          /* the host: loopback, own address, gateway */
    NAT_DENY_RESTRICTED,
    NAT_DENY_DEST,          /* not a unicast destination at all */
} NatVerdict;
/*
 * nat_policy_check - may the guest reach @dst?  On NAT_ALLOW, @target is
 * where the host socket goes (the loopback for the gateway address with
 * host_loopback).
 */
NatVerdict nat_policy_check(VpcNat *nat, const NatAddr *dst,
                            NatAddr *target);
/* 127.0.0.0/8 or ::1. */
bool nat_is_host_loopback(const NatAddr *a);
/* The address the guest sees a reply from @from come from. */
void nat_policy_reverse(VpcNat *nat, const NatAddr *from, NatAddr *seen);
int nat_host_addrs_init(VpcNat *nat);
void nat_host_addrs_free(VpcNat *nat);
void nat_host_addrs_ready(VpcNat *nat);
VpcNatDrop nat_verdict_drop(NatVerdict v);

/* arp.c, dhcp.c, ndp.c, dhcpv6.c: the virtual hosts' own services. */
void nat_arp_input(VpcNat *nat, const uint8_t *frame, const VpcEthView *eth);
void nat_arp_request(VpcNat *nat, uint32_t target);
int nat_dhcp_init(VpcNat *nat, char *err, size_t errlen);
void nat_dhcp_free(VpcNat *nat);
/* Whether the frame was DHCP for us (answered or dropped). */
bool nat_dhcp_input(VpcNat *nat, const uint8_t *frame, size_t len);
void nat_ndp_input(VpcNat *nat, const VpcEthView *eth,
                   const VpcIpv6View *ip, const uint8_t *icmp,
                   size_t icmp_len);
void nat_ndp_solicit(VpcNat *nat, const NatAddr *target);
/* Send the periodic router advertisement when it is due. */
void nat_ndp_timer(VpcNat *nat);
bool nat_dhcpv6_input(VpcNat *nat, const VpcEthView *eth,
                      const VpcIpv6View *ip, const VpcUdpView *udp);

/* icmp.c: echo, errors to the guest. */
int nat_icmp_init(VpcNat *nat);
void nat_icmp_free(VpcNat *nat);
void nat_icmp4_input(VpcNat *nat, const VpcEthView *eth,
                     const VpcIpv4View *ip);
void nat_icmp6_input(VpcNat *nat, const VpcEthView *eth,
                     const VpcIpv6View *ip);
void nat_echo_ready(VpcNat *nat, NatFlow *f, unsigned events);
void nat_echo_raw_ready(VpcNat *nat, int family);
/*
 * nat_icmp_unreach - tell the guest that its datagram @quote (an IP
 * packet of @quote_len bytes, headers included, from @guest to @remote)
 * could not be delivered: ICMP destination unreachable @code (ICMPv4
 * numbering; mapped for ICMPv6).
 */
void nat_icmp_unreach(VpcNat *nat, const NatAddr *guest, const NatAddr *remote,
                      const uint8_t *guest_mac, const uint8_t *quote,
                      size_t quote_len, uint8_t code4);

/* udp.c */
void nat_udp_input(VpcNat *nat, const VpcEthView *eth, const NatAddr *src,
                   const NatAddr *dst, const VpcUdpView *udp,
                   const uint8_t *ip_packet, size_t ip_len);
void nat_udp_ready(VpcNat *nat, NatFlow *f, unsigned events);
/* Send a datagram to the guest as coming from @from:@from_port. */
bool nat_udp_to_guest(VpcNat *nat, uint8_t *slot, const NatAddr *from,
                      uint16_t from_port, const NatAddr *to, uint16_t to_port,
                      const uint8_t *to_mac, size_t payload_len);

/* dns.c */
void nat_resolvers_refresh(VpcNat *nat);
/* The resolver to forward to; false when there is none. */
bool nat_resolver(VpcNat *nat, NatAddr *addr);
/* Write an answer with @rcode to the query @q into @out; its length. */
size_t nat_dns_error_reply(const uint8_t *q, size_t q_len, uint8_t rcode,
                           uint8_t *out, size_t cap);
bool nat_is_dns_addr(const VpcNat *nat, const NatAddr *a);

/* tcp.c */
void nat_tcp_input(VpcNat *nat, const VpcEthView *eth, const NatAddr *src,
                   const NatAddr *dst, const uint8_t *seg, size_t seg_len,
                   const VpcTcpView *tcp);
void nat_tcp_ready(VpcNat *nat, NatFlow *f, unsigned events);
void nat_tcp_timer(VpcNat *nat, NatFlow *f);
void nat_tcp_flush(VpcNat *nat);
void nat_tcp_guest_ready(VpcNat *nat);
/* An idle connection timed out: reset it both ways. */
void nat_tcp_close(VpcNat *nat, NatFlow *f);
int nat_tcp_init(VpcNat *nat, char *err, size_t errlen);
/* A forward's listener accepted @fd from the host: open towards the guest. */
void nat_tcp_accepted(VpcNat *nat, const VpcNatFwd *fwd, int fd);

/* fwd.c */
void nat_fwd_ready(VpcNat *nat, uint32_t index, unsigned events);
void nat_fwds_free(VpcNat *nat);
/* For a datagram from the guest to @dst:@dport from a forward's flow. */
NatFwdSlot *nat_fwd_find_udp(VpcNat *nat, const NatAddr *guest,
                             uint16_t guest_port);
/* The guest address a forward goes to; false when unknown yet. */
bool nat_fwd_guest_addr(VpcNat *nat, const VpcNatFwd *fwd, NatAddr *out);

#endif
