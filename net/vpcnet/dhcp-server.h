/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: an RFC 2131 DHCP server core for one IPv4 subnet.
 *
 * Theory of operation
 *
 * The server owns no socket, timer or clock.  Its embedder (the internal
 * network switch, a test, a fuzzer) hands it every Ethernet frame seen on
 * a port with vpc_dhcp_server_input(), together with the current time in
 * seconds.  Frames that are not DHCP requests for us are recognised and
 * left alone; a DHCP request is answered by writing the whole reply frame
 * (Ethernet, IPv4, UDP, DHCP) into the caller's buffer and saying which
 * MAC it goes to.  DISCOVER, REQUEST (selecting, init-reboot, renewing,
 * rebinding), DECLINE, RELEASE and INFORM are served as RFC 2131 section
 * 4.3 says; replies are addressed as section 4.1 says.
 *
 * State: a table of max_leases slots allocated at creation, one slot per
 * client (keyed by chaddr) or per declined address:
 *   OFFERED   an address offered and held for offer_hold seconds;
 *   BOUND     an acknowledged lease, valid until its expiry;
 *   RELEASED  the client gave the address back or let it expire: the
 *             address is free, but remembered so the client gets it
 *             again, unless it has to go to somebody else;
 *   DECLINED  a client found the address in use: nobody gets it until
 *             decline_hold seconds have passed.
 * An index from every address of the dynamic range to the slot naming it
 * makes "is this address free" a lookup.  Expiry is lazy: every DHCP
 * request first sweeps the table against "now".
 *
 * Persistence is the embedder's: the core marks itself dirty when a
 * binding changes (a renewal only once it moved the expiry by an eighth
 * of a lease), the embedder stores the table when it sees fit, from
 * vpc_dhcp_server_foreach_lease(), and says so with
 * vpc_dhcp_server_saved(); a stored table comes back, entry by entry,
 * through vpc_dhcp_server_restore(), which checks each as if a client
 * had sent it.  dhcp-leases.[ch] is such a store, a file, for the daemon;
 * it saves on a short timer, so a burst of DHCP traffic costs no fsync.
 *
 * Address choice for a DISCOVER: the client's reservation, else its
 * current binding or offer, else its previous binding, else the address
 * it asks for if free, else a free address found by scanning the range
 * from a point derived from a hash of the MAC (so a client tends to get
 * the same address even from an empty table), preferring addresses that
 * no released client remembers.
 *
 * Invariants:
 *   - an address of the range is named by at most one slot;
 *   - a MAC is named by at most one slot (DECLINED slots name none);
 *   - no lease lasts longer than now + its duration, even if the lease
 *     file or the wall clock says otherwise;
 *   - replies never exceed VPC_DHCP_REPLY_MAX bytes, and the DHCP
 *     message inside never exceeds the 576-byte IP datagram every client
 *     accepts;
 *   - vpc_dhcp_server_input() allocates nothing, reads no clock and
 *     touches no file.
 *
 * Limits: one subnet, no relay-selected pools (a relayed request is
 * served from our subnet only when the relay sits in it); clients are
 * identified by chaddr, not by option 61 (which is echoed, RFC 6842);
 * the dynamic range holds at most VPC_DHCP_MAX_RANGE addresses; no
 * conflict ping before offering; no rapid commit; option overload and
 * the parameter request list are ignored (we send a fixed small set).
 * 802.1Q-tagged frames are not served.  Not thread safe: the embedder
 * calls in from one thread.
 */
#ifndef VPCNET_DHCP_SERVER_H
#define VPCNET_DHCP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/vpcnet/dhcp-wire.h"
#include "net/vpcnet/eth.h"
#include "net/vpcnet/udp.h"

#define VPC_DHCP_MAX_DNS            4
#define VPC_DHCP_DOMAIN_MAX         64      /* characters, without NUL */
#define VPC_DHCP_HOSTNAME_MAX       63
#define VPC_DHCP_SEARCH_MAX         255     /* encoded option 119 bytes */
#define VPC_DHCP_MAX_LEASES         65536
#define VPC_DHCP_MAX_RANGE          65536
#define VPC_DHCP_MAX_RESERVATIONS   4096
/* The largest reply frame: Ethernet + IPv4 + UDP + a 548-byte message. */
#define VPC_DHCP_MSG_MAX            548
#define VPC_DHCP_REPLY_MAX          (VPC_UDP4_FRAME_HLEN + VPC_DHCP_MSG_MAX)

/**
 * VpcDhcpReservation - a fixed address for one client.
 * @mac: the client's hardware address (chaddr).
 * @addr: its address, host order; inside the subnet, may be outside
 *        the dynamic range.
 */
typedef struct VpcDhcpReservation {
    uint8_t mac[VPC_ETH_ALEN];
    uint32_t addr;
} VpcDhcpReservation;

/**
 * VpcDhcpConfig - how the server behaves; copied at creation.
 * @server_ip: our address (option 54 and reply source), host order.
 * @server_mac: our MAC, source of every reply.
 * @netmask: the subnet mask (option 1), contiguous, /30 or larger.
 * @range_start: first address of the dynamic range.
 * @range_end: last address of the dynamic range (inclusive).
 * @router: default gateway (option 3), 0 for none.
 * @dns: DNS servers (option 6).
 * @n_dns: entries used in @dns, 0 for no option 6.
 * @domain: domain name (option 15), "" for none.
 * @client_hostname: the host name to give the client (option 12), ""
 *                   for none.
 * @search: the domain search list (option 119), already encoded
 *          (vpc_dhcp_encode_search()), @search_len bytes; 0 for none.
 * @search_len: see @search.
 * @mtu: the interface MTU (option 26), 0 for none.
 * @lease_time: lease duration in seconds (option 51).
 * @offer_hold: seconds an offered address stays reserved for its client.
 * @decline_hold: seconds a declined address is kept from everybody.
 * @max_leases: slots in the lease table; when full, no more OFFERs.
 * @lowest_first: a new client gets the lowest free address of the range
 *                (libslirp's way: the first guest is always the range's
 *                first address) rather than one picked from a hash of
 *                its MAC (which keeps clients apart on a shared network).
 * @authoritative: answer REQUESTs of clients we have no record of (ACK
 *                 a free address, NAK others) instead of staying silent.
 * @reservations: fixed addresses, copied at creation (may be NULL).
 * @n_reservations: entries in @reservations.
 * @log: called with a one-line message for problems the embedder should
 *       report (a configuration refused at creation); may be NULL.
 * @log_opaque: passed to @log.
 */
typedef struct VpcDhcpConfig {
    uint32_t server_ip;
    uint8_t server_mac[VPC_ETH_ALEN];
    uint32_t netmask;
    uint32_t range_start;
    uint32_t range_end;
    uint32_t router;
    uint32_t dns[VPC_DHCP_MAX_DNS];
    unsigned n_dns;
    char domain[VPC_DHCP_DOMAIN_MAX + 1];
    char client_hostname[VPC_DHCP_HOSTNAME_MAX + 1];
    uint8_t search[VPC_DHCP_SEARCH_MAX];
    unsigned search_len;
    uint16_t mtu;
    uint32_t lease_time;
    uint32_t offer_hold;
    uint32_t decline_hold;
    unsigned max_leases;
    bool lowest_first;
    bool authoritative;
    const VpcDhcpReservation *reservations;
    unsigned n_reservations;
    void (*log)(void *opaque, const char *msg);
    void *log_opaque;
} VpcDhcpConfig;

/*
 * vpc_dhcp_config_init - Virtual PC's local-only defaults: server
 * 169.254.0.1/16, range 169.254.0.16-169.254.10.254, no router, no DNS,
 * no domain, 3600 s leases, 60 s offers, 600 s decline hold, 1024 leases,
 * authoritative, server MAC 02:03:ff:00:00:01.
 */
void vpc_dhcp_config_init(VpcDhcpConfig *cfg);

/*
 * vpc_dhcp_config_check - 0 when @cfg is usable, else -1 with the reason
 * in @err (always NUL-terminated when @errlen > 0).
 */
int vpc_dhcp_config_check(const VpcDhcpConfig *cfg, char *err,
                          size_t errlen);

typedef struct VpcDhcpServer VpcDhcpServer;

/*
 * vpc_dhcp_server_new - a server for @cfg, with an empty lease table.
 * NULL when the configuration fails vpc_dhcp_config_check() or memory
 * runs out.
 */
VpcDhcpServer *vpc_dhcp_server_new(const VpcDhcpConfig *cfg);

/* vpc_dhcp_server_free - free @s (NULL is fine). */
void vpc_dhcp_server_free(VpcDhcpServer *s);

/**
 * VpcDhcpResult - what vpc_dhcp_server_input() did with a frame.
 * @VPC_DHCP_NOT_DHCP: not a DHCP request to us, or a frame whose
 *                     Ethernet, IPv4 or UDP layer is malformed (counted
 *                     in stats.malformed); the caller handles it.
 * @VPC_DHCP_DROPPED: a DHCP request to us (or a malformed DHCP message
 *                    to us) that gets no answer; a stats counter says why.
 * @VPC_DHCP_CONSUMED: a valid request needing no reply (RELEASE,
 *                     DECLINE, a REQUEST for another server).
 * @VPC_DHCP_REPLY: the reply frame is in the caller's buffer.
 */
typedef enum VpcDhcpResult {
    VPC_DHCP_NOT_DHCP,
    VPC_DHCP_DROPPED,
    VPC_DHCP_CONSUMED,
    VPC_DHCP_REPLY,
} VpcDhcpResult;

/**
 * VpcDhcpReply - where a reply goes.
 * @len: frame length written to the reply buffer.
 * @port: the port to send it out of (the one the request came in on).
 * @dst_mac: Ethernet destination, as written in the frame.
 * @broadcast: @dst_mac is ff:ff:ff:ff:ff:ff.
 * @msg_type: VPC_DHCPOFFER, VPC_DHCPACK or VPC_DHCPNAK.
 */
typedef struct VpcDhcpReply {
    size_t len;
    unsigned port;
    uint8_t dst_mac[VPC_ETH_ALEN];
    bool broadcast;
    uint8_t msg_type;
} VpcDhcpReply;

/*
 * vpc_dhcp_server_input - process one received Ethernet frame.
 * @s: the server.
 * @port: the embedder's number for the port the frame came from.
 * @frame: the frame, without FCS.
 * @len: its length.
 * @now: the time in seconds; wall-clock (Unix) time, since leases
 *       outlive the process when stored.  Should not go backwards.
 * @reply: where a reply frame is written.
 * @reply_cap: bytes at @reply; below VPC_DHCP_REPLY_MAX every request
 *             is dropped (counted) before any state changes.
 * @out: filled when the result is VPC_DHCP_REPLY.
 */
VpcDhcpResult vpc_dhcp_server_input(VpcDhcpServer *s, unsigned port,
                                    const uint8_t *frame, size_t len,
                                    uint64_t now, uint8_t *reply,
                                    size_t reply_cap, VpcDhcpReply *out);

/**
 * VpcDhcpStats - counters since creation.
 * @frames: frames given to vpc_dhcp_server_input().
 * @not_dhcp: well-formed frames of other protocols or UDP ports.
 * @other_destination: unicast to another MAC or IPv4 address.
 * @vlan_tagged: 802.1Q-tagged frames (not served).
 * @malformed: frames to us that failed to parse, by -VpcPktError.
 * @fragments: IPv4 fragments addressed to us (not reassembled).
 * @not_bootrequest: op is not BOOTREQUEST.
 * @bad_hardware: htype/hlen not Ethernet, or a multicast/zero chaddr.
 * @no_message_type: no valid option 53 (plain BOOTP is not served).
 * @bad_message_type: option 53 is a server's type or unknown.
 * @bad_request: a REQUEST matching no RFC 2131 state, or missing
 *               the options its state needs (also DECLINE without 50).
 * @wrong_subnet: relayed from, or INFORMing from, outside our subnet.
 * @wrong_server: DECLINE or RELEASE naming another server.
 * @rx_discover: DISCOVERs received (well-formed, for us).
 * @rx_request: REQUESTs received.
 * @rx_decline: DECLINEs received.
 * @rx_release: RELEASEs received.
 * @rx_inform: INFORMs received.
 * @tx_offer: OFFERs sent.
 * @tx_ack: ACKs sent.
 * @tx_nak: NAKs sent.
 * @no_free_address: DISCOVERs refused: no usable address in the range.
 * @no_free_slot: refused: the lease table is full of live entries.
 * @offer_cancelled: REQUESTs selecting another server, ours withdrawn.
 * @unknown_client: REQUESTs from clients we have no record of, ignored
 *                  (when not authoritative).
 * @declined: addresses held back after a DECLINE.
 * @decline_ignored: DECLINEs for an address the client does not hold.
 * @released: bindings freed by RELEASE.
 * @release_ignored: RELEASEs for an address the client does not hold.
 * @expired: bindings that ran out.
 * @inform_no_address: INFORMs with neither ciaddr nor a source address.
 * @reply_no_space: requests dropped for a too small reply buffer.
 */
typedef struct VpcDhcpStats {
    uint64_t frames;
    uint64_t not_dhcp;
    uint64_t other_destination;
    uint64_t vlan_tagged;
    uint64_t malformed[VPC_PKT_ERROR_COUNT];
    uint64_t fragments;
    uint64_t not_bootrequest;
    uint64_t bad_hardware;
    uint64_t no_message_type;
    uint64_t bad_message_type;
    uint64_t bad_request;
    uint64_t wrong_subnet;
    uint64_t wrong_server;
    uint64_t rx_discover;
    uint64_t rx_request;
    uint64_t rx_decline;
    uint64_t rx_release;
    uint64_t rx_inform;
    uint64_t tx_offer;
    uint64_t tx_ack;
    uint64_t tx_nak;
    uint64_t no_free_address;
    uint64_t no_free_slot;
    uint64_t offer_cancelled;
    uint64_t unknown_client;
    uint64_t declined;
    uint64_t decline_ignored;
    uint64_t released;
    uint64_t release_ignored;
    uint64_t expired;
    uint64_t inform_no_address;
    uint64_t reply_no_space;
} VpcDhcpStats;

/* vpc_dhcp_server_ip - the server's own address, host order. */
uint32_t vpc_dhcp_server_ip(const VpcDhcpServer *s);

/* vpc_dhcp_server_stats - the counters of @s, valid while @s lives. */
const VpcDhcpStats *vpc_dhcp_server_stats(const VpcDhcpServer *s);

/* The state of a lease table slot; see the theory of operation. */
typedef enum VpcDhcpLeaseState {
    VPC_DHCP_LEASE_FREE,
    VPC_DHCP_LEASE_OFFERED,
    VPC_DHCP_LEASE_BOUND,
    VPC_DHCP_LEASE_RELEASED,
    VPC_DHCP_LEASE_DECLINED,
} VpcDhcpLeaseState;

/* vpc_dhcp_lease_state_name - "offered", "bound", ... */
const char *vpc_dhcp_lease_state_name(VpcDhcpLeaseState state);

/**
 * VpcDhcpLeaseInfo - one lease table entry, as listed.
 * @mac: the client (all zero for a declined address).
 * @addr: the address, host order.
 * @state: OFFERED, BOUND, RELEASED or DECLINED.
 * @expires: end of the offer, lease or hold; for RELEASED, when it ended.
 * @reserved: @addr is @mac's reservation.
 * @port: the port the client was last heard on (0 when restored).
 * @hostname: the client's option 12, sanitised; "" when none.
 */
typedef struct VpcDhcpLeaseInfo {
    uint8_t mac[VPC_ETH_ALEN];
    uint32_t addr;
    VpcDhcpLeaseState state;
    uint64_t expires;
    bool reserved;
    unsigned port;
    const char *hostname;
} VpcDhcpLeaseInfo;

typedef void VpcDhcpLeaseFn(void *opaque, const VpcDhcpLeaseInfo *lease);

/*
 * vpc_dhcp_server_foreach_lease - expire what is due at @now, then call
 * @fn for every non-free entry, in table order.  @fn must not call back
 * into the server.  Returns the number of entries listed.
 */
unsigned vpc_dhcp_server_foreach_lease(VpcDhcpServer *s, uint64_t now,
                                       VpcDhcpLeaseFn *fn, void *opaque);

/*
 * vpc_dhcp_server_dirty - a binding changed since the table was last
 * stored: the embedder should store it soon (not per packet).
 */
bool vpc_dhcp_server_dirty(const VpcDhcpServer *s);

/*
 * vpc_dhcp_server_saved - the table as vpc_dhcp_server_foreach_lease()
 * listed it last is stored: clears the dirty mark.
 */
void vpc_dhcp_server_saved(VpcDhcpServer *s);

/*
 * vpc_dhcp_server_restore - put back one stored entry, before the server
 * has served anybody.  @info->state is BOUND, RELEASED or DECLINED (an
 * OFFERED entry should be stored as RELEASED: an offer is not a
 * binding); a DECLINED entry has an all-zero MAC; @info->hostname may be
 * NULL or "".  The entry is checked as if a client had sent it: against
 * this run's range and reservations and the entries restored before it.
 * A lease from the future is cut to one lease time at the next sweep.
 * Returns NULL when taken, else why it was refused.
 */
const char *vpc_dhcp_server_restore(VpcDhcpServer *s,
                                    const VpcDhcpLeaseInfo *info);

#endif
