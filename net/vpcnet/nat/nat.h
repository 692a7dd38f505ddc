/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: Virtual PC's "Shared Networking", a translator between one
 * guest Ethernet segment and the host's sockets.
 *
 * Theory of operation
 *
 * The guest sees a small virtual subnet (by default -netdev user's
 * 10.0.2.0/24: gateway 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15, and
 * fec0::/64 with fec0::2 and fec0::3 for IPv6).  The translator answers
 * ARP, DHCP, router solicitations, neighbour solicitations and DHCPv6
 * information requests itself, and maps every guest TCP connection, UDP
 * flow and ICMP echo onto a host socket of its own: the guest has no
 * identity on the outside, its traffic leaves with the host's addresses
 * and the host's routing, and nothing but the translator's sockets ever
 * reaches the host's stack.  There is no TCP/IP stack here: TCP is
 * translated segment by segment onto a kernel socket (tcp.c says how),
 * UDP datagram by datagram, ICMP echo through ping or raw sockets.
 *
 * The host is closed to the guest by default, as Virtual PC's Shared
 * Networking was: the guest cannot reach the host's loopback, any
 * address of the host's own interfaces (kept current from netlink), nor
 * the host through the gateway address, and is answered at once with an
 * RST or ICMP unreachable.  host_loopback maps the gateway address to
 * the host's loopback, as libslirp does by default; restricted cuts off
 * the outside altogether (forwards still work).
 *
 * The core is plain C with no QEMU in it and no thread, timer or event
 * loop of its own.  Its embedder (QEMU's -netdev nat, the vpcnet-nat
 * front end on a tap, unit tests, the fuzzer, benchmarks) gives it
 * frames from the guest (vpc_nat_input), says when a batch of them ends
 * (vpc_nat_input_done: pending ACKs go out then), watches the file
 * descriptors the core asks it to (VpcNatCallbacks.watch, then
 * vpc_nat_ready), runs one timer for it (timer_mod, vpc_nat_timer) and
 * reads a monotonic clock for it.  Frames for the guest leave through
 * send_frame.  Everything the core will ever need is allocated by
 * vpc_nat_new(): the flow table (max_flows entries), its hash, frame
 * buffers; nothing is allocated per packet.
 *
 * Every frame from the guest is hostile input: each layer is parsed
 * through the bounds-checked views of net/vpcnet/ (wire.h), and a frame
 * that fails, or that the translator will not carry, is dropped and
 * counted by reason (VpcNatDrop).  IP fragments from the guest are
 * dropped and counted, not reassembled: reassembly is where libslirp's
 * worst bugs lived, guests know their MTU (we tell it by DHCP and RA) and
 * set DF on TCP, and a dropped fragment costs a retry, not memory.
 *
 * Limits: one subnet and one IPv6 prefix; up to VPC_NAT_MAX_GUESTS guest
 * MACs; max_flows flows in all (TCP connections, UDP flows, echo flows),
 * each at most one host socket; when the table is full a new UDP or echo
 * flow evicts the oldest idle one and a new TCP connection is refused
 * with RST, both counted.  No TFTP, SMB or guestfwd.  Not thread safe:
 * the embedder calls in from one thread.
 */
#ifndef VPCNET_NAT_H
#define VPCNET_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VPC_NAT_NAME_MAX        63
#define VPC_NAT_MAX_DNSSEARCH   8
#define VPC_NAT_MTU_MIN         576
#define VPC_NAT_MTU_MAX         65520
#define VPC_NAT_MAX_GUESTS      16
#define VPC_NAT_MAX_FWDS        256
#define VPC_NAT_MAX_FLOWS       (1u << 20)
#define VPC_NAT_DEFAULT_FLOWS   16384

/* Events of a watched file descriptor. */
#define VPC_NAT_EV_IN   1u
#define VPC_NAT_EV_OUT  2u

typedef struct VpcNat VpcNat;

/*
 * VpcNatWatch - the core's handle for one watched file descriptor, given
 * to VpcNatCallbacks.watch and handed back to vpc_nat_ready().  Its
 * address stays valid until watch() is called for its fd with no events.
 */
typedef struct VpcNatWatch VpcNatWatch;

typedef enum VpcNatLogLevel {
    VPC_NAT_LOG_ERROR,
    VPC_NAT_LOG_WARNING,
    VPC_NAT_LOG_INFO,
} VpcNatLogLevel;

/**
 * VpcNatCallbacks - how the core reaches its embedder.
 * @send_frame: give one Ethernet frame of @len bytes, in @iovcnt pieces,
 *              to the guest (with a virtio-net header first when
 *              VpcNatConfig.vnet_hdr_len says so).  Returns false when
 *              the guest cannot take it: it is dropped and counted (TCP
 *              sends it again), and the embedder calls
 *              vpc_nat_guest_ready() once it can take frames again.
 * @watch: watch @fd for @events (VPC_NAT_EV_*), replacing what was
 *         watched before; no events stops watching (the core closes the
 *         fd afterwards).  Readiness is level-triggered: the embedder
 *         calls vpc_nat_ready() with @w while the condition holds.
 * @timer_mod: arm the core's one timer for @deadline_ns on the clock of
 *             @clock_ns (INT64_MAX: disarm); vpc_nat_timer() then.
 * @clock_ns: a monotonic clock in nanoseconds.
 * @log: one line of text, no newline; may be NULL.
 */
typedef struct VpcNatCallbacks {
    bool (*send_frame)(void *opaque, const struct iovec *iov,
                       unsigned iovcnt, size_t len);
    void (*watch)(void *opaque, int fd, unsigned events, VpcNatWatch *w);
    void (*timer_mod)(void *opaque, int64_t deadline_ns);
    int64_t (*clock_ns)(void *opaque);
    void (*log)(void *opaque, VpcNatLogLevel level, const char *msg);
} VpcNatCallbacks;

/**
 * VpcNatConfig - the translator's settings, as -netdev user names them.
 * @ipv4: serve IPv4.
 * @net: the guest subnet's address, host order.
 * @netmask: its mask (/8 to /30).
 * @host: the gateway's address in the subnet.
 * @dns: the virtual DNS server's address in the subnet.
 * @dhcp_start: the first address DHCP hands out.
 * @dhcp: serve DHCP at all.
 * @hostname: the guest's host name (DHCP option 12), "" for none.
 * @domainname: the domain name (option 15), "" for none.
 * @dnssearch: search domains (option 119), @n_dnssearch of them.
 * @n_dnssearch: see @dnssearch.
 * @ipv6: serve IPv6.
 * @ip6_prefix: the guest prefix (only the first @ip6_prefix_len bits).
 * @ip6_prefix_len: 8 to 128; SLAAC needs 64.
 * @ip6_host: the gateway's IPv6 address, inside the prefix.
 * @ip6_dns: the virtual DNS server's IPv6 address, inside the prefix.
 * @host_loopback: the gateway addresses reach the host's loopback
 *                 (127.0.0.1, ::1), as libslirp does by default.
 * @restricted: no traffic to the outside (DNS included); forwards from
 *              the host still work.
 * @mtu: the guest's MTU, VPC_NAT_MTU_MIN to VPC_NAT_MTU_MAX: the MSS we
 *       announce and the largest frame we send (without GSO).
 * @max_flows: flows in all, 16 to VPC_NAT_MAX_FLOWS; each holds at most
 *             one file descriptor.
 * @tcp_idle_timeout: seconds an established connection may stay silent.
 * @udp_idle_timeout: seconds a UDP flow may stay silent.
 * @resolv_conf: where the host's resolvers are listed.
 * @vnet_hdr_len: 0, or 10 or 12: frames both ways start with a virtio-net
 *                header, and may be GSO super-frames with partial
 *                checksums (a tap with IFF_VNET_HDR, a virtio-net NIC).
 * @gateway_mac: the MAC address of the gateway and DNS server.
 */
typedef struct VpcNatConfig {
    bool ipv4;
    uint32_t net;
    uint32_t netmask;
    uint32_t host;
    uint32_t dns;
    uint32_t dhcp_start;
    bool dhcp;
    char hostname[VPC_NAT_NAME_MAX + 1];
    char domainname[VPC_NAT_NAME_MAX + 1];
    char dnssearch[VPC_NAT_MAX_DNSSEARCH][VPC_NAT_NAME_MAX + 1];
    unsigned n_dnssearch;
    bool ipv6;
    uint8_t ip6_prefix[16];
    unsigned ip6_prefix_len;
    uint8_t ip6_host[16];
    uint8_t ip6_dns[16];
    bool host_loopback;
    bool restricted;
    unsigned mtu;
    unsigned max_flows;
    unsigned tcp_idle_timeout;
    unsigned udp_idle_timeout;
    const char *resolv_conf;
    unsigned vnet_hdr_len;
    uint8_t gateway_mac[6];
} VpcNatConfig;

/*
 * vpc_nat_config_init - -netdev user's defaults: 10.0.2.0/24, gateway .2,
 * DNS .3, DHCP from .15; fec0::/64, fec0::2, fec0::3; IPv4 and IPv6 on;
 * host closed; MTU 1500; VPC_NAT_DEFAULT_FLOWS flows; TCP idle 7200 s,
 * UDP idle 180 s; /etc/resolv.conf; no virtio-net header; the gateway
 * MAC 52:55:0a:00:02:02 (libslirp's form: 52:55 and the gateway address).
 */
void vpc_nat_config_init(VpcNatConfig *cfg);

/*
 * vpc_nat_config_set_net - set @net/@netmask from "a.b.c.d[/len]" and
 * move host, dns and dhcp_start to .2, .3 and .15 of it, as -netdev
 * user's net= does.  0, or -1 with a reason in @err.
 */
int vpc_nat_config_set_net(VpcNatConfig *cfg, const char *text, char *err,
                           size_t errlen);

/*
 * vpc_nat_config_set_net6 - set the prefix from "addr[/len]" and move
 * ip6_host and ip6_dns to ::2 and ::3 of it.  0 or -1 with @err.
 */
int vpc_nat_config_set_net6(VpcNatConfig *cfg, const char *text, char *err,
                            size_t errlen);

/*
 * vpc_nat_config_check - 0 when @cfg is usable, else -1 with the reason
 * in @err, naming the -netdev user option at fault.
 */
int vpc_nat_config_check(const VpcNatConfig *cfg, char *err, size_t errlen);

/*
 * vpc_nat_new - a translator for @cfg (copied).  Lowers max_flows to
 * what RLIMIT_NOFILE leaves room for, with a warning.  NULL with a
 * reason in @err when @cfg fails vpc_nat_config_check() or a resource
 * cannot be had.
 */
VpcNat *vpc_nat_new(const VpcNatConfig *cfg, const VpcNatCallbacks *cb,
                    void *opaque, char *err, size_t errlen);

/* vpc_nat_free - close every socket and free @nat (NULL is fine). */
void vpc_nat_free(VpcNat *nat);

/* vpc_nat_input - one frame from the guest (with its virtio-net header
 * first when configured so).  The core does not keep @frame. */
void vpc_nat_input(VpcNat *nat, const uint8_t *frame, size_t len);

/* vpc_nat_input_done - a batch of vpc_nat_input() calls ended: the ACKs
 * and window updates they earned go out now. */
void vpc_nat_input_done(VpcNat *nat);

/* vpc_nat_ready - @w's file descriptor is ready for @events. */
void vpc_nat_ready(VpcNatWatch *w, unsigned events);

/* vpc_nat_timer - the timer armed by timer_mod expired. */
void vpc_nat_timer(VpcNat *nat);

/* What a guest behind a virtio-net header takes from us. */
#define VPC_NAT_OFFLOAD_CSUM    1u      /* partial checksums, DATA_VALID */
#define VPC_NAT_OFFLOAD_TSO4    2u      /* TCP/IPv4 GSO frames */
#define VPC_NAT_OFFLOAD_TSO6    4u      /* TCP/IPv6 GSO frames */

/*
 * vpc_nat_set_vnet - virtio-net headers, as a NIC negotiates them at run
 * time (virtio-net: first 10 bytes, then 12): frames from the guest start
 * with @rx_len bytes of header (0, 10 or 12; the core skips it), frames to
 * the guest with @tx_len, and @offloads (VPC_NAT_OFFLOAD_*) says what
 * those may use: with CSUM our checksums are left to the guest (TCP) or
 * marked valid, with TSO TCP goes as GSO frames of up to 64 KiB.
 * VpcNatConfig.vnet_hdr_len sets both lengths and every offload, as a
 * tap with IFF_VNET_HDR takes them.  Returns -1 for a bad length.
 */
int vpc_nat_set_vnet(VpcNat *nat, unsigned rx_len, unsigned tx_len,
                     unsigned offloads);

/*
 * vpc_nat_guest_busy - the guest's queue is backing up (the embedder took
 * a frame, but queued it): send nothing more that can wait until
 * vpc_nat_guest_ready().  May be called from inside send_frame.
 */
void vpc_nat_guest_busy(VpcNat *nat);

/* vpc_nat_guest_ready - the guest can take frames again. */
void vpc_nat_guest_ready(VpcNat *nat);

/**
 * VpcNatFwd - one port forward from the host to the guest.
 * @udp: UDP rather than TCP.
 * @family: AF_INET or AF_INET6, of @host_addr.
 * @host_addr: the host address to bind (network order, 4 or 16 bytes;
 *             all zero for any).
 * @host_port: the host port.
 * @guest_addr: the guest's address (family @guest_family); all zero for
 *              the default (the first DHCP address, or for IPv6 the
 *              guest's address as last seen).
 * @guest_family: AF_INET or AF_INET6.
 * @guest_port: the guest port.
 */
typedef struct VpcNatFwd {
    bool udp;
    int family;
    uint8_t host_addr[16];
    uint16_t host_port;
    int guest_family;
    uint8_t guest_addr[16];
    uint16_t guest_port;
} VpcNatFwd;

/*
 * vpc_nat_fwd_parse - parse -netdev user's hostfwd syntax,
 * "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport", IPv6 addresses
 * in brackets.  0, or -1 with a reason in @err.
 */
int vpc_nat_fwd_parse(const char *text, VpcNatFwd *fwd, char *err,
                      size_t errlen);

/*
 * vpc_nat_fwd_parse_remove - parse hostfwd_remove's "[tcp|udp]:[hostaddr]:
 * hostport".  0 or -1 with @err.
 */
int vpc_nat_fwd_parse_remove(const char *text, VpcNatFwd *fwd, char *err,
                             size_t errlen);

/*
 * vpc_nat_hostfwd_add - listen on the host for @text (vpc_nat_fwd_parse
 * syntax).  A port that is taken is an error naming it.  0 or -1 with
 * @err.
 */
int vpc_nat_hostfwd_add(VpcNat *nat, const char *text, char *err,
                        size_t errlen);

/*
 * vpc_nat_hostfwd_remove - stop the forward @text names ("[tcp|udp]:
 * [hostaddr]:hostport"); connections it made stay.  0, or -1 with @err
 * when there is no such forward.
 */
int vpc_nat_hostfwd_remove(VpcNat *nat, const char *text, char *err,
                           size_t errlen);

/*
 * vpc_nat_hostfwds - copy up to @max of the forwards in place into @out,
 * as parsed (a default guest address stays all zero); returns how many
 * there are.  For query-nat and the like.
 */
unsigned vpc_nat_hostfwds(const VpcNat *nat, VpcNatFwd *out, unsigned max);

/*
 * VpcNatDrop - why a frame from the guest, or a datagram for it, was not
 * carried.  One counter each in VpcNatStats.drops.
 */
typedef enum VpcNatDrop {
    VPC_NAT_DROP_MALFORMED,         /* a layer failed to parse */
    VPC_NAT_DROP_ETHERTYPE,         /* not IPv4, ARP or IPv6 */
    VPC_NAT_DROP_VLAN,              /* 802.1Q-tagged */
    VPC_NAT_DROP_NOT_FOR_US,        /* unicast to another MAC */
    VPC_NAT_DROP_FAMILY_OFF,        /* IPv4 or IPv6 is turned off */
    VPC_NAT_DROP_FRAGMENT,          /* IP fragment (not reassembled) */
    VPC_NAT_DROP_PROTOCOL,          /* an IP protocol we do not carry */
    VPC_NAT_DROP_SOURCE,            /* source address not the guest's */
    VPC_NAT_DROP_DEST,              /* multicast, broadcast, unspecified */
    VPC_NAT_DROP_HOST_CLOSED,       /* the host's own address or loopback */
    VPC_NAT_DROP_RESTRICTED,        /* restrict=on */
    VPC_NAT_DROP_TABLE_FULL,        /* no flow could be had */
    VPC_NAT_DROP_SOCKET,            /* a host socket call failed */
    VPC_NAT_DROP_NO_ECHO,           /* ICMP echo: no ping or raw socket */
    VPC_NAT_DROP_TCP_NO_FLOW,       /* a segment of no connection */
    VPC_NAT_DROP_TCP_OUT_OF_ORDER,  /* beyond what the guest sent before */
    VPC_NAT_DROP_TCP_BAD_ACK,       /* acknowledges what was never sent */
    VPC_NAT_DROP_GUEST_BUSY,        /* the guest could not take a frame */
    VPC_NAT_DROP_NO_GUEST,          /* no guest MAC known for the address */
    VPC_NAT_DROP_TOO_BIG,           /* a datagram larger than the MTU */
    VPC_NAT_DROP_ICMP_TYPE,         /* ICMP we do not relay */
    VPC_NAT_DROP_COUNT,
} VpcNatDrop;

/* vpc_nat_drop_name - a short lower-case name for @d. */
const char *vpc_nat_drop_name(VpcNatDrop d);

/**
 * VpcNatStats - counters since creation.
 * @rx_frames: frames from the guest.
 * @tx_frames: frames to the guest.
 * @drops: by VpcNatDrop.
 * @arp_replies: ARP answers for the gateway or DNS address.
 * @dhcp_replies: DHCP OFFER/ACK/NAK sent.
 * @ndp_replies: router advertisements and neighbour advertisements.
 * @dhcpv6_replies: DHCPv6 replies.
 * @tcp_flows: TCP connections opened (both directions).
 * @tcp_refused: TCP connections answered with RST at once (closed host,
 *               restrict, refused or unreachable outside).
 * @tcp_timeouts: connections reset for a connect or retransmission
 *                timeout.
 * @tcp_retransmits: segments sent to the guest again.
 * @tcp_partial_writes: writes the host socket took only part of.
 * @udp_flows: UDP flows opened.
 * @udp_evicted: UDP or echo flows evicted for a full table.
 * @icmp_errors: ICMP errors sent to the guest for the host's reports.
 * @echo_requests: ICMP/ICMPv6 echo requests carried or answered.
 * @dns_queries: queries to the virtual DNS address.
 * @dns_servfail: queries answered with SERVFAIL or REFUSED at once.
 * @flows_active: flows in use now.
 * @flows_max: the table's size.
 * @flows_peak: the most flows in use at once.
 */
typedef struct VpcNatStats {
    uint64_t rx_frames;
    uint64_t tx_frames;
    uint64_t drops[VPC_NAT_DROP_COUNT];
    uint64_t arp_replies;
    uint64_t dhcp_replies;
    uint64_t ndp_replies;
    uint64_t dhcpv6_replies;
    uint64_t tcp_flows;
    uint64_t tcp_refused;
    uint64_t tcp_timeouts;
    uint64_t tcp_retransmits;
    uint64_t tcp_partial_writes;
    uint64_t udp_flows;
    uint64_t udp_evicted;
    uint64_t icmp_errors;
    uint64_t echo_requests;
    uint64_t dns_queries;
    uint64_t dns_servfail;
    uint64_t flows_active;
    uint64_t flows_max;
    uint64_t flows_peak;
} VpcNatStats;

/* vpc_nat_stats - the counters of @nat, valid while it lives. */
const VpcNatStats *vpc_nat_stats(const VpcNat *nat);

/* vpc_nat_config - the configuration @nat runs with. */
const VpcNatConfig *vpc_nat_config(const VpcNat *nat);

/*
 * vpc_nat_describe - a few lines of text for "info network": addressing,
 * forwards, flows by protocol, non-zero drop counters.  Always
 * NUL-terminated; returns the length it wanted.
 */
size_t vpc_nat_describe(VpcNat *nat, char *buf, size_t size);

#endif
