/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the switching core of an internal network (qemu-vswitch).
 *
 * Theory of operation
 *
 * The core owns no socket, timer or clock.  Its embedder (the daemon, a
 * unit test, a benchmark) adds a port for every client that joins, hands
 * each frame a port sends to vsw_input(), and drains every port's output
 * queue to wherever that port's frames go.  Time is whatever the embedder
 * last passed to vsw_set_time(): a monotonic clock for MAC aging and the
 * wall clock for DHCP leases, which outlive the process.
 *
 * State:
 *   - up to VSW_MAX_PORTS ports, each with an id that is never reused,
 *     an opaque handle of the embedder, a label, its address (the first
 *     unicast source MAC it sent) and counters;
 *   - per port, a ring of VSW_PORT_QUEUE frame slots of VSW_FRAME_MAX
 *     bytes, allocated once when the port is added.  vsw_input() copies
 *     a frame into the slot of every port it goes to; the embedder reads
 *     slots in place (vsw_port_peek()) and releases them once written
 *     (vsw_port_pop()).  The ring restarts at slot 0 whenever it drains,
 *     so a port that keeps up touches only its first few slots' pages;
 *   - a MAC table of VSW_MAC_ENTRIES entries, hashed with a seed the
 *     embedder picks (so a guest cannot aim its addresses at one chain),
 *     each entry naming a port and when the MAC was last seen there.
 *
 * Forwarding of a frame from port P: its source MAC is learned on P
 * (moved to P when it was elsewhere); then the DHCP server, when one is
 * attached, may take it (see below); then a multicast or broadcast
 * destination, or a unicast one not in the table (or aged out), is
 * flooded to every port but P; a learned one goes to its port, or
 * nowhere when that port is P itself (never hairpinned).
 *
 * Duplicate MACs: a port's first unicast source MAC becomes its address.
 * When that MAC is live on another port (seen there within the aging
 * time), the newcomer is refused (vsw_input() says VSW_INPUT_DUP_REFUSED
 * and the embedder throws the port out), unless it was added with
 * VSW_PORT_DUP_WARN: then a warning is logged and it stays.
 *
 * DHCP: with a server attached (vsw_set_dhcp()), every frame to the
 * broadcast address or to the server's MAC is first offered to
 * vpc_dhcp_server_input().  What the server answers or swallows is
 * consumed; a unicast reply goes to the ingress port, a broadcast reply
 * to every port (the client is among them).  Without a server, DHCP
 * frames are switched like any other.  The switch also answers ARP
 * requests for the server's address with the server's MAC, since clients
 * renew, release and inform by unicast (RFC 2131 4.4.5); the request is
 * still flooded, as on a wire.
 *
 * Invariants:
 *   - a frame never goes back out of the port it came in on;
 *   - a port's queue never holds more than VSW_PORT_QUEUE frames: a full
 *     queue drops the frame for that port only, and counts it;
 *   - every MAC table entry names a live port: removing a port forgets
 *     its MACs;
 *   - vsw_input() allocates nothing and never blocks.
 *
 * Limits: no VLANs (802.1Q frames are switched on their outer header),
 * no spanning tree, no per-port MAC filtering; a port learns at most
 * VSW_PORT_MACS addresses, and when the table is full of live entries
 * new MACs are not learned (frames to them are flooded).  Not thread
 * safe: the embedder calls in from one thread.
 */
#ifndef VPCNET_SWITCH_H
#define VPCNET_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/vpcnet/dhcp-server.h"
#include "net/vpcnet/vswitch-proto.h"

#define VSW_PORT_QUEUE      256     /* frames waiting for one port */
#define VSW_MAX_PORTS       128
#define VSW_LABEL_MAX       32      /* characters, without NUL */
#define VSW_MAC_ENTRIES     4096    /* MAC table size, a power of two */
#define VSW_PORT_MACS       256     /* MACs one port may own */
#define VSW_MAC_AGE         300     /* seconds */

/* Flags of vsw_port_add(). */
#define VSW_PORT_DUP_WARN   (1u << 0)   /* duplicate MAC: warn, keep */

typedef struct VswSwitch VswSwitch;
typedef struct VswPort VswPort;

/**
 * VswCallbacks - how the core reaches its embedder.
 * @queue_ready: the queue of the port with @handle went from empty to
 *               non-empty; the embedder should drain it soon.  May be
 *               NULL (the embedder then polls vsw_port_queue_len()).
 * @log: a one-line message worth reporting (duplicate MAC warnings,
 *       refusals); may be NULL.
 */
typedef struct VswCallbacks {
    void (*queue_ready)(void *opaque, void *handle);
    void (*log)(void *opaque, const char *msg);
} VswCallbacks;

/**
 * VswConfig - the switch's settings, copied at creation.
 * @cb: callbacks (any member may be NULL).
 * @opaque: passed to every callback.
 * @hash_seed: keys the MAC table hash; pick it at random.
 * @mac_age: seconds a learned MAC stays valid (VSW_MAC_AGE by default).
 */
typedef struct VswConfig {
    VswCallbacks cb;
    void *opaque;
    uint64_t hash_seed;
    unsigned mac_age;
} VswConfig;

/**
 * VswPortStats - counters of one port, since it was added.
 * @rx_frames: frames the port sent into the switch.
 * @rx_bytes: their bytes.
 * @tx_frames: frames written out of the port (vsw_port_pop(.., true)).
 * @tx_bytes: their bytes.
 * @tx_errors: queued frames the embedder could not write.
 * @queue_drops: frames for this port dropped because its queue was full.
 * @queue_high: the most frames its queue ever held.
 * @bad_length: frames outside VSW_FRAME_MIN..VSW_FRAME_MAX.
 * @bad_source: frames with a multicast or zero source (not learned).
 * @hairpin: frames to a MAC learned on this very port (dropped).
 * @mac_limit: source MACs not learned: the port owns VSW_PORT_MACS.
 * @dhcp_consumed: frames the DHCP server took.
 * @macs: MACs currently learned on the port.
 * @dup_warned: the port's address was live elsewhere and it stayed.
 */
typedef struct VswPortStats {
    uint64_t rx_frames;
    uint64_t rx_bytes;
    uint64_t tx_frames;
    uint64_t tx_bytes;
    uint64_t tx_errors;
    uint64_t queue_drops;
    unsigned queue_high;
    uint64_t bad_length;
    uint64_t bad_source;
    uint64_t hairpin;
    uint64_t mac_limit;
    uint64_t dhcp_consumed;
    unsigned macs;
    bool dup_warned;
} VswPortStats;

/**
 * VswStats - counters of the whole switch, since creation.
 * @frames: frames given to vsw_input().
 * @unicast: frames sent to one learned port.
 * @flooded: frames flooded (multicast, broadcast, unknown unicast).
 * @unknown_unicast: of @flooded, unicast to a MAC not in the table.
 * @copies: frames put on output queues (a flood counts once per port).
 * @queue_drops: frames dropped on full output queues, all ports.
 * @bad_length: frames outside VSW_FRAME_MIN..VSW_FRAME_MAX.
 * @hairpin: unicast frames to a MAC on their own ingress port.
 * @learned: MAC table entries created.
 * @moved: MACs that moved from one port to another.
 * @aged: entries dropped because they aged out.
 * @table_full: source MACs not learned because the table was full.
 * @dup_refused: ports refused because their address was live elsewhere.
 * @dup_warned: ports let in with a duplicate address (VSW_PORT_DUP_WARN).
 * @dhcp_consumed: frames the DHCP server took.
 * @dhcp_replies: replies it sent.
 * @arp_replies: ARP requests for the server's address answered.
 * @ports_added: ports added since creation.
 */
typedef struct VswStats {
    uint64_t frames;
    uint64_t unicast;
    uint64_t flooded;
    uint64_t unknown_unicast;
    uint64_t copies;
    uint64_t queue_drops;
    uint64_t bad_length;
    uint64_t hairpin;
    uint64_t learned;
    uint64_t moved;
    uint64_t aged;
    uint64_t table_full;
    uint64_t dup_refused;
    uint64_t dup_warned;
    uint64_t dhcp_consumed;
    uint64_t dhcp_replies;
    uint64_t arp_replies;
    uint64_t ports_added;
} VswStats;

/* vsw_new - a switch with no ports; NULL when memory runs out. */
VswSwitch *vsw_new(const VswConfig *cfg);

/* vsw_free - free @sw and all its ports (NULL is fine). */
void vsw_free(VswSwitch *sw);

/*
 * vsw_set_time - the time from now on: @mono_s seconds of a monotonic
 * clock (MAC aging) and @wall_s Unix seconds (DHCP leases).  Call it
 * before each batch of input; neither clock should go backwards.
 */
void vsw_set_time(VswSwitch *sw, uint64_t mono_s, uint64_t wall_s);

/*
 * vsw_set_dhcp - attach the DHCP server @server (owned by the caller,
 * NULL to detach) whose replies come from @server_mac.
 */
void vsw_set_dhcp(VswSwitch *sw, VpcDhcpServer *server,
                  const uint8_t server_mac[6]);

/*
 * vsw_port_add - a new port for the embedder's @handle, named @label
 * (cut to VSW_LABEL_MAX characters), with VSW_PORT_* @flags.  NULL when
 * VSW_MAX_PORTS ports exist or memory runs out.
 */
VswPort *vsw_port_add(VswSwitch *sw, void *handle, const char *label,
                      unsigned flags);

/* vsw_port_remove - remove @port, its queued frames and its MACs. */
void vsw_port_remove(VswSwitch *sw, VswPort *port);

/**
 * VswInputResult - what vsw_input() did with a frame.
 * @VSW_INPUT_OK: switched, consumed, or dropped for a reason the stats
 *                count.
 * @VSW_INPUT_BAD_LENGTH: outside VSW_FRAME_MIN..VSW_FRAME_MAX, dropped.
 * @VSW_INPUT_DUP_REFUSED: the port's address is live on another port:
 *                         the frame was dropped; remove the port.
 */
typedef enum VswInputResult {
    VSW_INPUT_OK,
    VSW_INPUT_BAD_LENGTH,
    VSW_INPUT_DUP_REFUSED,
} VswInputResult;

/* vsw_input - switch the frame @frame of @len bytes sent by @port. */
VswInputResult vsw_input(VswSwitch *sw, VswPort *port, const uint8_t *frame,
                         size_t len);

/* vsw_port_queue_len - frames waiting in @port's output queue. */
unsigned vsw_port_queue_len(const VswPort *port);

/*
 * vsw_port_peek - the @index-th waiting frame of @port (0 is the oldest):
 * sets @frame and @len and returns true, or false past the end.  The
 * frame stays valid until it is popped or the port is removed.
 */
bool vsw_port_peek(const VswPort *port, unsigned index,
                   const uint8_t **frame, size_t *len);

/*
 * vsw_port_pop - release the @n oldest waiting frames of @port, counted
 * as written when @sent, else as tx errors.
 */
void vsw_port_pop(VswPort *port, unsigned n, bool sent);

/* Accessors of a port. */
uint32_t vsw_port_id(const VswPort *port);
void *vsw_port_handle(const VswPort *port);
const char *vsw_port_label(const VswPort *port);
/* vsw_port_mac - the port's address; false while it has sent none. */
bool vsw_port_mac(const VswPort *port, uint8_t mac[6]);
const VswPortStats *vsw_port_stats(const VswPort *port);

/* vsw_port_count - the number of ports; vsw_port_at - the @i-th one. */
unsigned vsw_port_count(const VswSwitch *sw);
VswPort *vsw_port_at(const VswSwitch *sw, unsigned i);

/*
 * vsw_lookup - the port @mac is live on (learned within the aging
 * time), or NULL.
 */
VswPort *vsw_lookup(VswSwitch *sw, const uint8_t mac[6]);

/* vsw_stats - the switch's counters, valid while @sw lives. */
const VswStats *vsw_stats(const VswSwitch *sw);

#endif
