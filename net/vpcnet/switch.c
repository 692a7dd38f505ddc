/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the switching core of an internal network.  The theory of
 * operation is in switch.h.  In this file: the MAC table, port queues,
 * ports, then the input path.
 */
#include "net/vpcnet/switch.h"
#include "net/vpcnet/arp.h"
#include "net/vpcnet/macaddr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAC_BUCKETS     VSW_MAC_ENTRIES
#define MAC_NONE        (-1)

/**
 * VswMacEntry - one learned MAC, in a bucket chain or the free list.
 * @mac: the address.
 * @next: the next entry of the chain (or of the free list), MAC_NONE
 *        at the end.
 * @port: the port it was last seen on; NULL while free.
 * @last_seen: when, in the monotonic seconds of vsw_set_time().
 */
typedef struct VswMacEntry {
    uint8_t mac[VPC_ETH_ALEN];
    int32_t next;
    VswPort *port;
    uint64_t last_seen;
} VswMacEntry;

/**
 * VswPort - one port.
 * @sw: the switch.
 * @handle: the embedder's handle.
 * @id: a number never reused within the switch's life.
 * @index: where the port sits in @sw->ports.
 * @flags: VSW_PORT_*.
 * @label: the embedder's name for it, NUL-terminated.
 * @has_mac: @mac is set.
 * @mac: the port's address: the first unicast source MAC it sent.
 * @slots: VSW_PORT_QUEUE frame buffers of VSW_FRAME_MAX bytes.
 * @slot_len: the length of the frame in each slot.
 * @head: the slot of the oldest waiting frame.
 * @count: waiting frames.
 * @stats: counters.
 */
struct VswPort {
    VswSwitch *sw;
    void *handle;
    uint32_t id;
    unsigned index;
    unsigned flags;
    char label[VSW_LABEL_MAX + 1];
    bool has_mac;
    uint8_t mac[VPC_ETH_ALEN];
    uint8_t *slots;
    uint16_t slot_len[VSW_PORT_QUEUE];
    unsigned head;
    unsigned count;
    VswPortStats stats;
};

/**
 * VswSwitch - the switch.
 * @cfg: its settings.
 * @ports: the ports, densely packed in @ports[0 .. @n_ports - 1].
 * @n_ports: how many.
 * @next_id: the id of the next port added.
 * @mono: monotonic seconds (MAC aging).
 * @wall: Unix seconds (DHCP).
 * @last_sweep: @mono of the last full sweep for aged entries.
 * @buckets: the first entry of each hash chain, or MAC_NONE.
 * @entries: the MAC table.
 * @free_entry: the first free entry, or MAC_NONE.
 * @n_entries: entries in use.
 * @dhcp: the attached DHCP server, or NULL.
 * @dhcp_mac: its MAC.
 * @dhcp_reply: where it writes a reply.
 * @stats: counters.
 */
struct VswSwitch {
    VswConfig cfg;
    VswPort *ports[VSW_MAX_PORTS];
    unsigned n_ports;
    uint32_t next_id;
    uint64_t mono;
    uint64_t wall;
    uint64_t last_sweep;
    int32_t buckets[MAC_BUCKETS];
    VswMacEntry entries[VSW_MAC_ENTRIES];
    int32_t free_entry;
    unsigned n_entries;
    VpcDhcpServer *dhcp;
    uint8_t dhcp_mac[VPC_ETH_ALEN];
    uint8_t dhcp_reply[VPC_DHCP_REPLY_MAX];
    VswStats stats;
};

static void sw_log(VswSwitch *sw, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sw_log(VswSwitch *sw, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (!sw->cfg.cb.log) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sw->cfg.cb.log(sw->cfg.opaque, msg);
}

/*
 * The MAC table.  Chains of entries hang off a power-of-two array of
 * buckets; free entries form a list.  The hash mixes the seeded 48-bit
 * address with two multiply-xorshift rounds, enough to spread addresses
 * a guest picks deliberately, as long as it does not know the seed.
 */

static unsigned mac_hash(const VswSwitch *sw, const uint8_t *mac)
{
    uint64_t v = (uint64_t)mac[0] << 40 | (uint64_t)mac[1] << 32 |
                 (uint64_t)mac[2] << 24 | (uint64_t)mac[3] << 16 |
                 (uint64_t)mac[4] << 8 | mac[5];

    v ^= sw->cfg.hash_seed;
    v *= 0x9e3779b97f4a7c15ull;
    v ^= v >> 29;
    v *= 0xbf58476d1ce4e5b9ull;
    v ^= v >> 32;
    return v & (MAC_BUCKETS - 1);
}

static bool mac_entry_aged(const VswSwitch *sw, const VswMacEntry *e)
{
    return sw->mono >= e->last_seen &&
           sw->mono - e->last_seen >= sw->cfg.mac_age;
}

/* Unlink the entry *@link points at and put it on the free list. */
static void mac_entry_free(VswSwitch *sw, int32_t *link)
{
    int32_t i = *link;
    VswMacEntry *e = &sw->entries[i];

    *link = e->next;
    e->port->stats.macs--;
    e->port = NULL;
    e->next = sw->free_entry;
    sw->free_entry = i;
    sw->n_entries--;
}

/*
 * Find @mac; entries found aged are freed on the way.  Returns the
 * entry or NULL.
 */
static VswMacEntry *mac_find(VswSwitch *sw, const uint8_t *mac)
{
    int32_t *link = &sw->buckets[mac_hash(sw, mac)];

    while (*link != MAC_NONE) {
        VswMacEntry *e = &sw->entries[*link];

        if (vpc_mac_equal(e->mac, mac)) {
            if (mac_entry_aged(sw, e)) {
                sw->stats.aged++;
                mac_entry_free(sw, link);
                return NULL;
            }
            return e;
        }
        link = &e->next;
    }
    return NULL;
}

/*
 * Free every entry that matches: aged ones (@port NULL) or all of
 * @port's.  Walks the whole table, so callers do it rarely.
 */
static void mac_sweep(VswSwitch *sw, const VswPort *port)
{
    unsigned b;

    for (b = 0; b < MAC_BUCKETS; b++) {
        int32_t *link = &sw->buckets[b];

        while (*link != MAC_NONE) {
            VswMacEntry *e = &sw->entries[*link];

            if (port ? e->port == port : mac_entry_aged(sw, e)) {
                if (!port) {
                    sw->stats.aged++;
                }
                mac_entry_free(sw, link);
            } else {
                link = &e->next;
            }
        }
    }
}

/* Learn that @mac was just seen on @port. */
static void mac_learn(VswSwitch *sw, VswPort *port, const uint8_t *mac)
{
    VswMacEntry *e = mac_find(sw, mac);
    unsigned b;
    int32_t i;

    if (e) {
        if (e->port != port) {
            if (port->stats.macs >= VSW_PORT_MACS) {
                port->stats.mac_limit++;
                return;
            }
            e->port->stats.macs--;
            port->stats.macs++;
            e->port = port;
            sw->stats.moved++;
        }
        e->last_seen = sw->mono;
        return;
    }
    /*
     * Make room by forgetting aged entries, at most once a second: a
     * guest sending from ever new addresses must not make every frame
     * walk the table.
     */
    if ((sw->free_entry == MAC_NONE || port->stats.macs >= VSW_PORT_MACS)
        && sw->last_sweep != sw->mono) {
        sw->last_sweep = sw->mono;
        mac_sweep(sw, NULL);
    }
    if (port->stats.macs >= VSW_PORT_MACS) {
        port->stats.mac_limit++;
        return;
    }
    if (sw->free_entry == MAC_NONE) {
        sw->stats.table_full++;
        return;
    }
    i = sw->free_entry;
    e = &sw->entries[i];
    sw->free_entry = e->next;
    memcpy(e->mac, mac, VPC_ETH_ALEN);
    e->port = port;
    e->last_seen = sw->mono;
    b = mac_hash(sw, mac);
    e->next = sw->buckets[b];
    sw->buckets[b] = i;
    sw->n_entries++;
    port->stats.macs++;
    sw->stats.learned++;
}

VswPort *vsw_lookup(VswSwitch *sw, const uint8_t mac[6])
{
    VswMacEntry *e = mac_find(sw, mac);

    return e ? e->port : NULL;
}

/* Output queues. */

static uint8_t *port_slot(const VswPort *port, unsigned slot)
{
    return port->slots + (size_t)slot * VSW_FRAME_MAX;
}

/* Queue a copy of @frame on @port, or drop it there when full. */
static void port_enqueue(VswSwitch *sw, VswPort *port, const uint8_t *frame,
                         size_t len)
{
    unsigned slot;

    if (port->count == VSW_PORT_QUEUE) {
        port->stats.queue_drops++;
        sw->stats.queue_drops++;
        return;
    }
    slot = (port->head + port->count) % VSW_PORT_QUEUE;
    memcpy(port_slot(port, slot), frame, len);
    port->slot_len[slot] = len;
    port->count++;
    sw->stats.copies++;
    if (port->count > port->stats.queue_high) {
        port->stats.queue_high = port->count;
    }
    if (port->count == 1 && sw->cfg.cb.queue_ready) {
        sw->cfg.cb.queue_ready(sw->cfg.opaque, port->handle);
    }
}

unsigned vsw_port_queue_len(const VswPort *port)
{
    return port->count;
}

bool vsw_port_peek(const VswPort *port, unsigned index,
                   const uint8_t **frame, size_t *len)
{
    unsigned slot;

    if (index >= port->count) {
        return false;
    }
    slot = (port->head + index) % VSW_PORT_QUEUE;
    *frame = port_slot(port, slot);
    *len = port->slot_len[slot];
    return true;
}

void vsw_port_pop(VswPort *port, unsigned n, bool sent)
{
    if (n > port->count) {
        n = port->count;
    }
    for (; n; n--) {
        if (sent) {
            port->stats.tx_frames++;
            port->stats.tx_bytes += port->slot_len[port->head];
        } else {
            port->stats.tx_errors++;
        }
        port->head = (port->head + 1) % VSW_PORT_QUEUE;
        port->count--;
    }
    /*
     * Restart at slot 0, so that a port that keeps up stays in its
     * first pages of slots (see the theory of operation).
     */
    if (!port->count) {
        port->head = 0;
    }
}

/* Ports. */

VswPort *vsw_port_add(VswSwitch *sw, void *handle, const char *label,
                      unsigned flags)
{
    VswPort *port;

    if (sw->n_ports == VSW_MAX_PORTS) {
        return NULL;
    }
    port = calloc(1, sizeof(*port));
    if (!port) {
        return NULL;
    }
    /* Not zeroed: the pages stay untouched until frames are queued. */
    port->slots = malloc((size_t)VSW_PORT_QUEUE * VSW_FRAME_MAX);
    if (!port->slots) {
        free(port);
        return NULL;
    }
    port->sw = sw;
    port->handle = handle;
    port->id = sw->next_id++;
    port->flags = flags;
    snprintf(port->label, sizeof(port->label), "%s", label ? label : "");
    port->index = sw->n_ports;
    sw->ports[sw->n_ports++] = port;
    sw->stats.ports_added++;
    return port;
}

void vsw_port_remove(VswSwitch *sw, VswPort *port)
{
    VswPort *last;

    if (!port) {
        return;
    }
    mac_sweep(sw, port);
    last = sw->ports[--sw->n_ports];
    sw->ports[port->index] = last;
    last->index = port->index;
    free(port->slots);
    free(port);
}

uint32_t vsw_port_id(const VswPort *port)
{
    return port->id;
}

void *vsw_port_handle(const VswPort *port)
{
    return port->handle;
}

const char *vsw_port_label(const VswPort *port)
{
    return port->label;
}

bool vsw_port_mac(const VswPort *port, uint8_t mac[6])
{
    if (port->has_mac) {
        memcpy(mac, port->mac, VPC_ETH_ALEN);
    }
    return port->has_mac;
}

const VswPortStats *vsw_port_stats(const VswPort *port)
{
    return &port->stats;
}

unsigned vsw_port_count(const VswSwitch *sw)
{
    return sw->n_ports;
}

VswPort *vsw_port_at(const VswSwitch *sw, unsigned i)
{
    return i < sw->n_ports ? sw->ports[i] : NULL;
}

/* The switch. */

VswSwitch *vsw_new(const VswConfig *cfg)
{
    VswSwitch *sw = calloc(1, sizeof(*sw));
    unsigned i;

    if (!sw) {
        return NULL;
    }
    sw->cfg = *cfg;
    if (!sw->cfg.mac_age) {
        sw->cfg.mac_age = VSW_MAC_AGE;
    }
    sw->next_id = 1;
    for (i = 0; i < MAC_BUCKETS; i++) {
        sw->buckets[i] = MAC_NONE;
    }
    for (i = 0; i < VSW_MAC_ENTRIES; i++) {
        sw->entries[i].next = i + 1 < VSW_MAC_ENTRIES ? (int32_t)i + 1
                                                      : MAC_NONE;
    }
    sw->free_entry = 0;
    return sw;
}

void vsw_free(VswSwitch *sw)
{
    if (!sw) {
        return;
    }
    while (sw->n_ports) {
        vsw_port_remove(sw, sw->ports[sw->n_ports - 1]);
    }
    free(sw);
}

void vsw_set_time(VswSwitch *sw, uint64_t mono_s, uint64_t wall_s)
{
    sw->mono = mono_s;
    sw->wall = wall_s;
}

void vsw_set_dhcp(VswSwitch *sw, VpcDhcpServer *server,
                  const uint8_t server_mac[6])
{
    sw->dhcp = server;
    if (server) {
        memcpy(sw->dhcp_mac, server_mac, VPC_ETH_ALEN);
    }
}

const VswStats *vsw_stats(const VswSwitch *sw)
{
    return &sw->stats;
}

/* The input path. */

/*
 * The first unicast source of @port becomes its address.  Returns false
 * when that address is live on another port and @port must go.
 */
static bool port_claim_address(VswSwitch *sw, VswPort *port,
                               const uint8_t *src)
{
    VswPort *owner = vsw_lookup(sw, src);
    char mac[VPC_MAC_STRLEN];

    memcpy(port->mac, src, VPC_ETH_ALEN);
    port->has_mac = true;
    if (!owner || owner == port) {
        return true;
    }
    vpc_mac_format(src, mac);
    if (port->flags & VSW_PORT_DUP_WARN) {
        port->stats.dup_warned = true;
        sw->stats.dup_warned++;
        sw_log(sw, "warning: port %u (%s) uses MAC %s, live on port %u "
               "(%s); both stay", port->id, port->label, mac, owner->id,
               owner->label);
        return true;
    }
    sw->stats.dup_refused++;
    sw_log(sw, "port %u (%s) refused: MAC %s is live on port %u (%s)",
           port->id, port->label, mac, owner->id, owner->label);
    return false;
}

/* Queue @frame on every port but @except (NULL: on all of them). */
static void flood(VswSwitch *sw, const VswPort *except, const uint8_t *frame,
                  size_t len)
{
    unsigned i;

    sw->stats.flooded++;
    for (i = 0; i < sw->n_ports; i++) {
        if (sw->ports[i] != except) {
            port_enqueue(sw, sw->ports[i], frame, len);
        }
    }
}

/*
 * Offer @frame to the DHCP server.  Returns true when the server took
 * it (answered or swallowed it), false when it is for the switch.
 */
static bool dhcp_input(VswSwitch *sw, VswPort *port, const uint8_t *frame,
                       size_t len)
{
    VpcDhcpReply out;
    VpcDhcpResult res;

    if (!vpc_mac_is_broadcast(frame) && !vpc_mac_equal(frame, sw->dhcp_mac)) {
        return false;
    }
    res = vpc_dhcp_server_input(sw->dhcp, port->id, frame, len, sw->wall,
                                sw->dhcp_reply, sizeof(sw->dhcp_reply),
                                &out);
    if (res == VPC_DHCP_NOT_DHCP) {
        return false;
    }
    port->stats.dhcp_consumed++;
    sw->stats.dhcp_consumed++;
    if (res == VPC_DHCP_REPLY && out.len <= sizeof(sw->dhcp_reply)) {
        sw->stats.dhcp_replies++;
        if (out.broadcast) {
            flood(sw, NULL, sw->dhcp_reply, out.len);
        } else {
            port_enqueue(sw, port, sw->dhcp_reply, out.len);
        }
    }
    return true;
}

/*
 * Answer an ARP request for the DHCP server's address on @port, the
 * way the server's own host would.  @frame is a broadcast or to the
 * server's MAC (a neighbour cache checking its entry).
 */
static void arp_answer(VswSwitch *sw, VswPort *port, const uint8_t *frame,
                       size_t len)
{
    uint8_t reply[VPC_ETH_MIN_LEN] = { 0 };
    uint8_t *arp = reply + VPC_ETH_HLEN;
    uint32_t server_ip = vpc_dhcp_server_ip(sw->dhcp);
    VpcEthView eth;
    VpcArpView req;

    if (vpc_eth_parse(frame, len, &eth) < 0 || eth.has_vlan ||
        eth.ethertype != VPC_ETHERTYPE_ARP ||
        vpc_arp_parse(eth.payload, eth.payload_len, &req) < 0 ||
        req.op != VPC_ARP_OP_REQUEST || req.tpa != server_ip ||
        vpc_mac_is_multicast(req.sha)) {
        return;
    }
    memcpy(reply, frame + VPC_ETH_ALEN, VPC_ETH_ALEN);
    memcpy(reply + VPC_ETH_ALEN, sw->dhcp_mac, VPC_ETH_ALEN);
    vpc_put_be16(reply + 12, VPC_ETHERTYPE_ARP);
    vpc_put_be16(arp, 1);                           /* Ethernet */
    vpc_put_be16(arp + 2, VPC_ETHERTYPE_IPV4);
    arp[4] = VPC_ETH_ALEN;
    arp[5] = 4;
    vpc_put_be16(arp + 6, VPC_ARP_OP_REPLY);
    memcpy(arp + 8, sw->dhcp_mac, VPC_ETH_ALEN);
    vpc_put_be32(arp + 14, server_ip);
    memcpy(arp + 18, req.sha, VPC_ETH_ALEN);
    vpc_put_be32(arp + 24, req.spa);
    sw->stats.arp_replies++;
    port_enqueue(sw, port, reply, sizeof(reply));
}

VswInputResult vsw_input(VswSwitch *sw, VswPort *port, const uint8_t *frame,
                         size_t len)
{
    const uint8_t *dst = frame;
    const uint8_t *src = frame + VPC_ETH_ALEN;
    VswMacEntry *e;

    sw->stats.frames++;
    if (len < VSW_FRAME_MIN || len > VSW_FRAME_MAX) {
        sw->stats.bad_length++;
        port->stats.bad_length++;
        return VSW_INPUT_BAD_LENGTH;
    }
    port->stats.rx_frames++;
    port->stats.rx_bytes += len;

    if (vpc_mac_is_multicast(src) || vpc_mac_is_zero(src)) {
        /* Nobody can be reached at such an address: switch, not learn. */
        port->stats.bad_source++;
    } else {
        if (!port->has_mac && !port_claim_address(sw, port, src)) {
            return VSW_INPUT_DUP_REFUSED;
        }
        mac_learn(sw, port, src);
    }

    if (sw->dhcp && dhcp_input(sw, port, frame, len)) {
        return VSW_INPUT_OK;
    }
    if (sw->dhcp && vpc_mac_equal(dst, sw->dhcp_mac)) {
        /* The server's MAC lives in the switch: nothing goes further. */
        arp_answer(sw, port, frame, len);
        return VSW_INPUT_OK;
    }

    if (vpc_mac_is_multicast(dst)) {
        if (sw->dhcp && vpc_mac_is_broadcast(dst)) {
            arp_answer(sw, port, frame, len);
        }
        flood(sw, port, frame, len);
        return VSW_INPUT_OK;
    }
    e = mac_find(sw, dst);
    if (!e) {
        sw->stats.unknown_unicast++;
        flood(sw, port, frame, len);
    } else if (e->port == port) {
        sw->stats.hairpin++;
        port->stats.hairpin++;
    } else {
        sw->stats.unicast++;
        port_enqueue(sw, e->port, frame, len);
    }
    return VSW_INPUT_OK;
}
