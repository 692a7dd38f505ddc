/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: what QEMU does for a guest on a Wi-Fi adapter.
 *
 * Theory of operation
 *
 * On Wi-Fi the guest shares the host adapter's MAC on the air (see
 * steering.h): the kernel rewrites the guest's frames as they leave and
 * steers frames for the host's MAC back to the guest whose address
 * they are for.  Two things are left to QEMU, which sees every frame
 * the guest sends and receives; this file does them for one guest:
 *
 * Learning.  The kernel steers by the guest's addresses, kept in a map
 * QEMU fills.  They are learned from what the guest says of itself:
 *   - ARP it sends (sender MAC its own, sender address not 0.0.0.0);
 *   - the DHCPACK it receives (client MAC its own): the leased address;
 *     a DHCPRELEASE it sends forgets the address it releases;
 *   - NDP it sends: a Neighbor Advertisement's target, and the source
 *     of any NDP message that has one (not :: of address detection).
 * Each guest keeps at most VPC_WIFI_MAX_ADDRS; a new one replaces the
 * one heard least recently.  The embedder's add_addr callback may
 * refuse an address (the host's own, say) and must put an accepted one
 * into the kernel's map; del_addr takes one out.
 *
 * DHCP.  On the air nothing arrives for the guest's MAC, and servers
 * answer, and fill their ARP tables, by the client hardware address
 * (chaddr): so every BOOTREQUEST the guest sends names the host's MAC
 * in chaddr and asks for broadcast replies (VirtualBox sets the flag
 * too).  So that each guest still gets a lease of its own, a request
 * without a client identifier (option 61) gets one: type 1 and the
 * guest's MAC, as RFC 2132 suggests; servers key leases by it.  The
 * option takes the END option's place and what padding follows it;
 * only when there is not enough does the frame grow, by at most
 * VPC_WIFI_DHCP_GROWTH bytes.  The UDP and IPv4 lengths and checksums
 * are then written anew.  A reply (broadcast, so every guest sees it)
 * naming the host's MAC and the transaction id of the guest's last
 * request is the guest's: its chaddr is given back, as the guest's
 * DHCP client checks it.
 *
 * Everything else (non-IP protocols, which cannot be steered back on a
 * shared MAC) is the kernel's to drop.  The frame given to
 * vpc_wifi_from_guest() must be writable; nothing is allocated.
 */
#ifndef VPCNET_BRIDGE_WIFI_H
#define VPCNET_BRIDGE_WIFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/vpcnet/bridge/steering.h"

#define VPC_WIFI_MAX_ADDRS      8
#define VPC_WIFI_DHCP_GROWTH    9       /* option 61: code, len, type, MAC */

typedef struct VpcWifiOps {
    /* The guest has @key: enter it into the kernel's map, or refuse. */
    bool (*add_addr)(void *opaque, const VpcBridgeIpKey *key);
    /* The guest no longer has @key. */
    void (*del_addr)(void *opaque, const VpcBridgeIpKey *key);
} VpcWifiOps;

/**
 * VpcWifiAddr - one learned address.
 * @key: the address (IPv4 as ::ffff:a.b.c.d).
 * @last_seen: when the guest last claimed it (embedder's clock).
 * @used: the slot holds an address.
 */
typedef struct VpcWifiAddr {
    VpcBridgeIpKey key;
    uint64_t last_seen;
    bool used;
} VpcWifiAddr;

typedef enum VpcWifiCounter {
    VPC_WIFI_DHCP_FLAGGED,      /* requests given the broadcast flag */
    VPC_WIFI_DHCP_CHADDR,       /* requests naming the host's MAC */
    VPC_WIFI_DHCP_RESTORED,     /* replies given back the guest's MAC */
    VPC_WIFI_DHCP_CLIENT_ID,    /* requests given a client identifier */
    VPC_WIFI_DHCP_NO_ROOM,      /* requests too long to grow */
    VPC_WIFI_LEARNED_ARP,
    VPC_WIFI_LEARNED_DHCP,
    VPC_WIFI_LEARNED_NDP,
    VPC_WIFI_FORGOTTEN,         /* released or replaced */
    VPC_WIFI_REFUSED,           /* add_addr said no */
    VPC_WIFI_NR
} VpcWifiCounter;

/* vpc_wifi_counter_name - "dhcp-flagged"... */
const char *vpc_wifi_counter_name(VpcWifiCounter c);

/**
 * VpcWifiGuest - one guest on a Wi-Fi adapter.
 * @mac: its MAC.
 * @host_mac: the host adapter's, which it shares on the air.
 * @xid: the transaction id of its last DHCP request...
 * @has_xid: ...once it sent one.
 * @addrs: what it was heard to have.
 * @ops: the embedder's callbacks.
 * @opaque: passed to them.
 * @counters: indexed by VpcWifiCounter.
 */
typedef struct VpcWifiGuest {
    uint8_t mac[6];
    uint8_t host_mac[6];
    uint32_t xid;
    bool has_xid;
    VpcWifiAddr addrs[VPC_WIFI_MAX_ADDRS];
    const VpcWifiOps *ops;
    void *opaque;
    uint64_t counters[VPC_WIFI_NR];
} VpcWifiGuest;

void vpc_wifi_guest_init(VpcWifiGuest *g, const uint8_t mac[6],
                         const uint8_t host_mac[6], const VpcWifiOps *ops,
                         void *opaque);

/*
 * vpc_wifi_from_guest - a frame the guest sends: learn from it, and
 * rewrite it if it is a DHCP request.  @frame holds @len bytes and has
 * room for @cap.  Returns the frame's length afterwards.
 */
size_t vpc_wifi_from_guest(VpcWifiGuest *g, uint8_t *frame, size_t len,
                           size_t cap, uint64_t now);

/*
 * vpc_wifi_to_guest - a frame for the guest: a DHCP reply to its request
 * gets its chaddr back (@frame is writable), and a DHCPACK's address is
 * learned.
 */
void vpc_wifi_to_guest(VpcWifiGuest *g, uint8_t *frame, size_t len,
                       uint64_t now);

/* vpc_wifi_has_addr - whether @key is among the guest's addresses. */
bool vpc_wifi_has_addr(const VpcWifiGuest *g, const VpcBridgeIpKey *key);

/* vpc_wifi_forget_all - drop every address (calls del_addr). */
void vpc_wifi_forget_all(VpcWifiGuest *g);

#endif
