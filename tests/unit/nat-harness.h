/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the NAT core: a simulated guest and embedder.
 *
 * Theory of operation
 *
 * NatHarness is both sides of the translator at once.  As the embedder
 * it implements VpcNatCallbacks: a fake monotonic clock that only moves
 * when a test says so (nh_advance, which fires the core's timer on the
 * way), a watch table indexed by fd, a poll() loop over it (nh_poll),
 * and a queue of the frames the core sent to the guest.  Every frame
 * the core sends is parsed with the library's views as it arrives, and
 * must parse cleanly with correct checksums; a test can drop frames on
 * the "wire" (lose) or refuse them (busy) to make the core retransmit.
 *
 * As the guest it builds frames with the library's header writers
 * (nh_send_tcp, nh_send_udp, nh_send_echo...), from NH_GUEST_MAC and
 * the guest addresses 10.0.2.15 and fec0::15.  NhTcp is a small guest
 * TCP endpoint: it sends segments, keeps the sequence numbers, takes in
 * the core's segments in order and acknowledges them.
 *
 * Host peers are real sockets on 127.0.0.1 and ::1, reached by the
 * guest through the gateway address with host_loopback=on.  Each test
 * program first moves into a network namespace of its own
 * (nh_process_init: unshare(CLONE_NEWNET), loopback up), so its ports,
 * its DNS responder on 127.0.0.1:53 and 127.0.0.53:53, and any veth it
 * adds are private and vanish with the process, even when it crashes.
 */
#ifndef TESTS_UNIT_NAT_HARNESS_H
#define TESTS_UNIT_NAT_HARNESS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/vpcnet/nat/nat.h"
#include "net/vpcnet/packet.h"

#define NH_GUEST_IP4    0x0a00020fu     /* 10.0.2.15 */
#define NH_GW4          0x0a000202u
#define NH_DNS4         0x0a000203u

extern const uint8_t NH_GUEST_MAC[6];
extern const uint8_t NH_GW_MAC[6];      /* the default gateway MAC */

/* NhAddr - a destination of either family, network order. */
typedef struct NhAddr {
    bool v6;
    uint8_t a[16];              /* IPv4 in the first four bytes */
} NhAddr;

NhAddr nh_addr4(uint32_t host_order);
NhAddr nh_addr6(const char *text);
/* The gateway, DNS and loopback addresses of a family. */
NhAddr nh_gw(bool v6);
NhAddr nh_dns(bool v6);

/**
 * NhPkt - one frame the core sent, parsed.
 * @bytes: the frame (without its virtio-net header).
 * @partial_csum: the virtio-net header said the checksum is partial.
 * @gso_size: its GSO segment size, 0 for none.
 * @eth: the Ethernet view.
 * @is_arp: an ARP packet, in @arp.
 * @v6: IPv6 rather than IPv4.
 * @ip4, @ip6: the IP view.
 * @src, @dst: the IP addresses.
 * @proto: the upper-layer protocol.
 * @l4, @l4_len: the upper layer.
 * @tcp, @udp, @icmp: its view, by @proto.
 */
typedef struct NhPkt {
    GByteArray *bytes;
    bool partial_csum;
    uint16_t gso_size;
    VpcEthView eth;
    bool is_arp;
    VpcArpView arp;
    bool v6;
    VpcIpv4View ip4;
    VpcIpv6View ip6;
    NhAddr src, dst;
    uint8_t proto;
    const uint8_t *l4;
    size_t l4_len;
    VpcTcpView tcp;
    VpcUdpView udp;
    VpcIcmpView icmp;
} NhPkt;

typedef struct NatHarness NatHarness;

/* A filter on frames to the guest: true drops the frame on the wire. */
typedef bool (*NhLoseFn)(NatHarness *h, const NhPkt *p, void *opaque);

/**
 * NatHarness - the embedder and the guest.
 * @nat: the core.
 * @cfg: its configuration.
 * @now_ns: the fake clock.
 * @timer_ns: the core's timer, INT64_MAX when disarmed.
 * @out: frames to the guest, NhPkt *, oldest first.
 * @lose: see NhLoseFn; @lose_opaque is its argument; @lost counts.
 * @busy: send_frame refuses frames (the guest's queue is full).
 * @sent: frames the core sent (including lost ones).
 * @logs: log lines, "W: text" / "E: ..." / "I: ...".
 * @mac: the guest's MAC.
 * @ip4: the guest's IPv4 address, host order.
 * @ip6: the guest's global IPv6 address; @ll6 its link-local one.
 * @dir: a private temporary directory; @resolv its resolv.conf.
 * @fds_at_start: open fds before the core was made.
 */
struct NatHarness {
    VpcNat *nat;
    VpcNatConfig cfg;
    int64_t now_ns;
    int64_t timer_ns;
    GQueue out;
    NhLoseFn lose;
    void *lose_opaque;
    unsigned lost;
    bool busy;
    uint64_t sent;
    GPtrArray *logs;
    uint8_t mac[6];
    uint32_t ip4;
    uint8_t ip6[16];
    uint8_t ll6[16];
    char dir[64];
    char resolv[96];
    int fds_at_start;
    /* The watch table, indexed by fd. */
    struct NhWatch *watch;
    unsigned n_watch;
    uint64_t watch_gen;
};

/*
 * nh_process_init - call first in main(): a network namespace of our
 * own with loopback up (as root), SIGPIPE ignored.  nh_private_netns()
 * then says whether it worked; the tests that need it fail otherwise.
 */
void nh_process_init(void);
bool nh_private_netns(void);

/*
 * nh_config - the harness's defaults: -netdev user's, host_loopback on,
 * resolv.conf in the harness's directory (written by nh_new).
 */
void nh_config(VpcNatConfig *cfg);

/* nh_new - a core for @cfg (NULL: nh_config()'s); asserts it is made. */
NatHarness *nh_new(const VpcNatConfig *cfg);
/* nh_free - free the core, check every fd it opened is closed. */
void nh_free(NatHarness *h);

/* Write @text as the resolv.conf (a new file, renamed into place). */
void nh_write_resolv(NatHarness *h, const char *text);

/* Frames from the guest: one, then the end of the batch. */
void nh_input(NatHarness *h, const void *frame, size_t len);
void nh_input_batch(NatHarness *h, const void *frame, size_t len);
void nh_input_done(NatHarness *h);

/* One poll() over the watched fds, up to @timeout_ms; dispatches. */
void nh_poll(NatHarness *h, int timeout_ms);
/* Poll for @ms of real time. */
void nh_run(NatHarness *h, int ms);
/* Move the fake clock @ms forward, firing the core's timer on the way. */
void nh_advance(NatHarness *h, int64_t ms);

/*
 * The next frame to the guest, polling up to @timeout_ms; false when
 * none came.  nh_pkt_free() it.
 */
bool nh_next(NatHarness *h, NhPkt **p, int timeout_ms);
void nh_pkt_free(NhPkt *p);
/* Drop every queued frame; how many. */
unsigned nh_flush(NatHarness *h);
/* Frames queued now. */
unsigned nh_pending(NatHarness *h);

/* A drop counter, and the sum of all. */
uint64_t nh_drops(NatHarness *h, VpcNatDrop d);
uint64_t nh_drops_total(NatHarness *h);

/*
 * Guest frames.  Each returns the frame length built in @buf (when it
 * takes one) or sends it (nh_send_*; those end the batch too).
 */
size_t nh_build_ip(NatHarness *h, uint8_t *buf, const NhAddr *dst,
                   uint8_t proto, const void *l4, size_t l4_len);
size_t nh_build_tcp(NatHarness *h, uint8_t *buf, const NhAddr *dst,
                    const VpcTcpHeader *th, const void *data, size_t len);
size_t nh_build_udp(NatHarness *h, uint8_t *buf, const NhAddr *dst,
                    uint16_t sport, uint16_t dport, const void *data,
                    size_t len);
size_t nh_build_echo(NatHarness *h, uint8_t *buf, const NhAddr *dst,
                     uint16_t id, uint16_t seq, const void *data, size_t len);
void nh_send_tcp(NatHarness *h, const NhAddr *dst, const VpcTcpHeader *th,
                 const void *data, size_t len);
void nh_send_udp(NatHarness *h, const NhAddr *dst, uint16_t sport,
                 uint16_t dport, const void *data, size_t len);
void nh_send_echo(NatHarness *h, const NhAddr *dst, uint16_t id,
                  uint16_t seq, const void *data, size_t len);
/* An IPv6 frame from @src (16 bytes) to @dst with @hop_limit. */
size_t nh_build_ip6_from(NatHarness *h, uint8_t *buf, const uint8_t *src,
                         const uint8_t *dst, const uint8_t *dst_mac,
                         uint8_t proto, uint8_t hop_limit, const void *l4,
                         size_t l4_len);
/* ICMPv6 with its checksum from @src to @dst. */
size_t nh_build_icmp6(NatHarness *h, uint8_t *buf, const uint8_t *src,
                      const uint8_t *dst, const uint8_t *dst_mac,
                      uint8_t hop_limit, const void *msg, size_t len);
/* ARP from the guest: @op for @tpa, from @spa. */
void nh_send_arp(NatHarness *h, uint16_t op, uint32_t spa, uint32_t tpa,
                 const uint8_t *dst_mac);

/**
 * NhTcp - a guest TCP endpoint.
 * @h: its harness.
 * @dst: the remote address; @sport, @dport: the ports.
 * @iss: our initial sequence number; @snd_nxt, @snd_una: ours.
 * @irs: the core's initial sequence number; @rcv_nxt: the next byte
 *       expected from it.
 * @wnd: the window we advertise (scaled by @wscale when @ws).
 * @wscale: our window scale; @ws: both SYNs carried one.
 * @peer_wnd: the core's window, scaled; @peer_wscale, @peer_mss.
 * @rx: bytes received in order.
 * @fin_rcvd, @rst_rcvd: what came.
 * @dupacks_rcvd: ACKs that acknowledged nothing new.
 * @ooo_rcvd: segments not at @rcv_nxt.
 * @auto_ack: acknowledge every in-order segment as it is taken in.
 */
typedef struct NhTcp {
    NatHarness *h;
    NhAddr dst;
    uint16_t sport, dport;
    uint32_t iss, snd_nxt, snd_una;
    uint32_t irs, rcv_nxt;
    uint32_t wnd;
    uint8_t wscale;
    bool ws;
    uint32_t peer_wnd;
    uint8_t peer_wscale;
    uint16_t peer_mss;
    GByteArray *rx;
    bool fin_rcvd, rst_rcvd;
    unsigned dupacks_rcvd, ooo_rcvd;
    bool auto_ack;
} NhTcp;

void nh_tcp_init(NhTcp *c, NatHarness *h, const NhAddr *dst, uint16_t dport);
void nh_tcp_destroy(NhTcp *c);
/* Send a segment of @flags at snd_nxt with ack rcv_nxt; advances. */
void nh_tcp_send(NhTcp *c, uint8_t flags, const void *data, size_t len);
/* The same, not ending the batch. */
void nh_tcp_send_batch(NhTcp *c, uint8_t flags, const void *data,
                       size_t len);
/* Send our SYN with @mss (0: none) and window scale @wscale (<0: none). */
void nh_tcp_syn(NhTcp *c, uint16_t mss, int wscale);
/* Wait for the SYN-ACK (or RST): true for a SYN-ACK, then ACKed. */
bool nh_tcp_wait_synack(NhTcp *c, NhPkt **synack, int timeout_ms);
/* SYN, SYN-ACK, ACK with MSS 1460 and window scale 7; asserts. */
void nh_tcp_connect(NhTcp *c);
/* Is @p a segment of @c? */
bool nh_tcp_match(const NhTcp *c, const NhPkt *p);
/*
 * Take in segment @p: data in order, FIN, RST, the core's ACK/window.
 * True when it was in order (or carried nothing).
 */
bool nh_tcp_take(NhTcp *c, const NhPkt *p);
/*
 * Take in the core's segments until @pred holds or @timeout_ms of real
 * polling passed: rx reaches @want bytes (0: FIN or RST).
 */
bool nh_tcp_recv(NhTcp *c, size_t want, int timeout_ms);
/* Take in the core's segments until all we sent is acknowledged. */
bool nh_tcp_wait_acked(NhTcp *c, int timeout_ms);
/*
 * Send @len bytes in segments the core's window and MSS allow, and wait
 * until all are acknowledged.
 */
bool nh_tcp_send_all(NhTcp *c, const void *data, size_t len,
                     int timeout_ms);

/* Host peers on loopback. */
int nh_tcp_listen(bool v6, uint16_t *port, int backlog);
int nh_udp_bind(bool v6, uint16_t *port);
/* A port nothing listens on (bound and closed again). */
uint16_t nh_free_port(bool v6, bool udp);
/* Accept on @lfd, waiting up to @timeout_ms while polling the core. */
int nh_accept(NatHarness *h, int lfd, int timeout_ms);

/* A thread that reads @fd to EOF and hashes it (SHA-256). */
typedef struct NhSink NhSink;
NhSink *nh_sink_start(int fd);
/* Wait for EOF; its digest (g_free) and length. */
char *nh_sink_join(NhSink *s, size_t *len);
/*
 * A thread that writes @len bytes of @data to @fd, then shuts down
 * writing (@then_close: closes).
 */
typedef struct NhSource NhSource;
NhSource *nh_source_start(int fd, const void *data, size_t len,
                          bool then_close);
void nh_source_join(NhSource *s);

/* Bytes of a pattern seeded by @seed; SHA-256 of a buffer. */
guint8 *nh_random_bytes(size_t len, uint32_t seed);
char *nh_sha256(const void *data, size_t len);

/*
 * A DNS responder on UDP and TCP port 53 of @addrs (NULL-terminated):
 * answers A queries with 192.0.2.N, N the last byte of the address the
 * query came to.
 */
typedef struct NhDns NhDns;
NhDns *nh_dns_start(const char *const *addrs);
void nh_dns_stop(NhDns *d);
unsigned nh_dns_queries(NhDns *d);
/* A DNS query for @name, type A, with id @id; its length. */
size_t nh_dns_query(uint8_t *buf, uint16_t id, const char *name);

/* Open file descriptors of this process. */
int nh_count_fds(void);
/* Run a shell command (ip, nsenter); asserts it succeeds. */
void nh_sh(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/*
 * nh_peer_netns - a second namespace joined to ours by a veth pair:
 * ours "vnat0" with 198.51.100.1/24 and 2001:db8:51::1/64, its "vnat1"
 * with .2 and ::2.  The peer lives in a child process that exits with
 * us.  Returns the child's pid.
 */
pid_t nh_peer_netns(void);

#endif
