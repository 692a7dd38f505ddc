/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: the steering programs of -netdev filter-bridge.
 *
 * Theory of operation
 *
 * Each guest NIC on a host adapter A (MAC a) has a tap T of its own
 * (QEMU reads and writes it) and a MAC g.  Four small programs, made
 * for that one guest by vpc_bridge_build_prog() and attached as tcx
 * links by the privileged helper, do all the switching in the kernel:
 *
 *   TAP_INGRESS    on T's ingress: every frame the guest sent.
 *                  A source other than g is dropped (unless mac-spoof);
 *                  the frame is marked (tc_index = VPC_BRIDGE_MARK) as
 *                  a guest's; to a: given pkt_type PACKET_HOST and
 *                  passed on (TCX_NEXT) to T's host-path filter (below),
 *                  which puts it into A's ingress, so it reaches the
 *                  host's stack as if received on A; multicast: a copy
 *                  into A's ingress, then to A's egress; other unicast:
 *                  to A's egress.
 *   ADAPTER_EGRESS on A's egress, at the head of the chain: what the
 *                  host sends, and what guests hand to A's egress.  Our
 *                  own frames (ingress ifindex T) pass by; to g: taken
 *                  to T, so host->guest and guest->guest unicast never
 *                  reach the wire; multicast: a copy to T, then on.
 *   ADAPTER_INGRESS on A's ingress: what the wire sends, and the
 *                  guests' frames for the host.  Marked frames pass by
 *                  (their sender has delivered them already); to g:
 *                  taken to T, so the host's stack never sees it;
 *                  multicast: a copy to T, then on.
 *   WIRE_EXIT      on A's egress, at the tail of the chain: our own
 *                  frames that no guest took are leaving on the wire.
 *                  Counted; with Wi-Fi, rewritten to the host's MAC.
 *
 * The host path: bpf_redirect(A, BPF_F_INGRESS) hands a frame to
 * netif_rx(), the per-CPU backlog and a NET_RX softirq; profiled on the
 * load tool, that cost ~90 ns a frame more than a Linux bridge's local
 * delivery (0.82x tap+bridge frames/s).  A tc filter does it in the same
 * call instead: the helper gives T a clsact qdisc whose ingress holds a
 * cls_bpf classifier (vpc_bridge_build_host_path(): "marked?") with the
 * action `mirred ingress redirect dev A`, which from an ingress hook
 * calls netif_receive_skb().  tcx runs before clsact's filters, so only
 * what TAP_INGRESS passed on gets there.  mirred keeps pkt_type as T
 * computed it (OTHERHOST: a is not T's address), hence PACKET_HOST set
 * by the program.  Were the tcx links gone (their keeper killed), frames
 * would be unmarked and the classifier would let nothing through.
 *
 * So every frame is delivered once to each party: guests' multicast is
 * copied to the host at T, to the other guests at their ADAPTER_EGRESS,
 * and goes on to the wire; a guest never gets its own frames back.
 * Redirected frames re-enter A's hooks, which is why frames are marked
 * and the sender recognized by its ingress ifindex.  The kernel finishes
 * checksums and segments offloaded frames before a tap without vnet
 * headers, so the host adapter's offloads never reach a guest.
 *
 * Wi-Fi (shared MAC): an access point accepts only a on the air.
 * WIRE_EXIT rewrites the Ethernet source, the ARP sender address and
 * NDP source/target link-layer options (with the ICMPv6 checksum) from
 * g to a, and drops what is neither IPv4, ARP nor IPv6 (it could not be
 * steered back).  ADAPTER_INGRESS also takes frames to a whose IPv4 or
 * IPv6 destination, or ARP target, is one of the guest's addresses (the
 * map @ips_fd, which QEMU fills as it learns them, see wifi.h), and
 * rewrites their destination (and an ARP target MAC of a) to g.  Paths
 * that never touch the air (host, other guests) see g, unrewritten.
 *
 * Counters: an array map (@counters_fd) holding one VpcBridgeCounters,
 * added to atomically by the programs and read by QEMU.
 *
 * Limits: the programs look at the first (or only) VLAN's inner frame
 * as the kernel presents it (receive paths move the tag to metadata);
 * NDP options are rewritten among the first VPC_BRIDGE_NDP_OPTS only.
 */
#ifndef VPCNET_BRIDGE_STEERING_H
#define VPCNET_BRIDGE_STEERING_H

#include <stdbool.h>
#include <stdint.h>

#include "net/vpcnet/bridge/bpf-asm.h"

/* tc_index of a frame a guest sent (unused by the kernel since 6.8). */
#define VPC_BRIDGE_MARK         0x7662

/* NDP options looked at in a frame leaving on Wi-Fi. */
#define VPC_BRIDGE_NDP_OPTS     4

/* tcx verdicts (include/uapi/linux/bpf.h, enum tcx_action_base). */
#define VPC_TCX_NEXT            (-1)
#define VPC_TCX_PASS            0
#define VPC_TCX_DROP            2
#define VPC_TCX_REDIRECT        7

/* Helper numbers (enum bpf_func_id) and flags the programs use. */
#define VPC_BPF_FUNC_map_lookup_elem    1
#define VPC_BPF_FUNC_skb_store_bytes    9
#define VPC_BPF_FUNC_l4_csum_replace    11
#define VPC_BPF_FUNC_clone_redirect     13
#define VPC_BPF_FUNC_redirect           23
#define VPC_BPF_FUNC_skb_load_bytes     26
#define VPC_BPF_FUNC_csum_diff          28
#define VPC_BPF_FUNC_skb_change_type    32
#define VPC_BPF_F_INGRESS               1
#define VPC_BPF_F_RECOMPUTE_CSUM        1
#define VPC_PACKET_HOST                 0   /* skb->pkt_type */
#define VPC_PACKET_OTHERHOST            3

/* __sk_buff field offsets the programs read or write. */
#define VPC_SKB_LEN                 0
#define VPC_SKB_INGRESS_IFINDEX     36
#define VPC_SKB_TC_INDEX            44

/**
 * VpcBridgeCounter - per guest, what its programs counted.
 * (TX: frames the guest sent; RX: frames it was given.)
 */
typedef enum VpcBridgeCounter {
    VPC_BC_TX_HOST,             /* unicast to the host's stack */
    VPC_BC_TX_FLOOD,            /* multicast and broadcast */
    VPC_BC_TX_FORWARD,          /* unicast to a guest or to the wire */
    VPC_BC_TX_WIRE,             /* ...of which left on the wire */
    VPC_BC_TX_WIRE_FLOOD,       /* multicast that left on the wire */
    VPC_BC_RX_WIRE,             /* unicast from the wire */
    VPC_BC_RX_WIRE_FLOOD,
    VPC_BC_RX_HOST,             /* unicast from the host's stack */
    VPC_BC_RX_HOST_FLOOD,
    VPC_BC_RX_GUEST,            /* unicast from another guest */
    VPC_BC_RX_GUEST_FLOOD,
    VPC_BC_DROP_SPOOF,          /* source MAC not the guest's */
    VPC_BC_DROP_RUNT,           /* shorter than an Ethernet header */
    VPC_BC_DROP_WIFI_NON_IP,    /* neither IPv4, ARP nor IPv6, on Wi-Fi */
    VPC_BC_DROP_COPY,           /* a copy the kernel could not make */
    VPC_BC_WIFI_REWRITTEN,      /* frames put on the air under a */
    VPC_BC_WIFI_STEERED,        /* frames to a steered here by address */
    VPC_BC_NR
} VpcBridgeCounter;

typedef struct VpcBridgeCounters {
    uint64_t c[VPC_BC_NR];
} VpcBridgeCounters;

/* vpc_bridge_counter_name - "tx-host", "drop-spoof"... */
const char *vpc_bridge_counter_name(VpcBridgeCounter c);

typedef enum VpcBridgeHook {
    VPC_HOOK_TAP_INGRESS,
    VPC_HOOK_ADAPTER_EGRESS,
    VPC_HOOK_ADAPTER_INGRESS,
    VPC_HOOK_WIRE_EXIT,
    VPC_HOOK_NR
} VpcBridgeHook;

/* vpc_bridge_hook_name - "tap-ingress"... */
const char *vpc_bridge_hook_name(VpcBridgeHook hook);

/* The name of the host-path classifier (vpc_bridge_build_host_path). */
#define VPC_BRIDGE_HOST_PATH_NAME "host-path"

/**
 * VpcBridgePort - what one guest's programs are made of.
 * @guest_mac: the guest NIC's MAC, g.
 * @adapter_mac: the host adapter's MAC, a.
 * @tap_ifindex: T.
 * @adapter_ifindex: A.
 * @wifi: share a on the wire (see above).
 * @mac_spoof: let the guest send from any source MAC.
 * @counters_fd: the counters map (array, one VpcBridgeCounters).
 * @ips_fd: with @wifi, the guest's addresses (hash map, 16-byte keys:
 *     IPv6, or IPv4 as ::ffff:a.b.c.d; any value).
 */
typedef struct VpcBridgePort {
    uint8_t guest_mac[6];
    uint8_t adapter_mac[6];
    uint32_t tap_ifindex;
    uint32_t adapter_ifindex;
    bool wifi;
    bool mac_spoof;
    int counters_fd;
    int ips_fd;
} VpcBridgePort;

/* Key of the Wi-Fi address map. */
typedef struct VpcBridgeIpKey {
    uint8_t addr[16];
} VpcBridgeIpKey;

/* vpc_bridge_ip_key_v4 - @key for the IPv4 address @addr (host order). */
void vpc_bridge_ip_key_v4(VpcBridgeIpKey *key, uint32_t addr);

/*
 * vpc_bridge_build_prog - assemble the program for @hook of @port into
 * @a.  Returns the number of instructions or a VPC_BPF_ERR_* code.
 */
int vpc_bridge_build_prog(VpcBpfAsm *a, VpcBridgeHook hook,
                          const VpcBridgePort *port);

/*
 * vpc_bridge_build_host_path - assemble T's host-path classifier (a
 * cls_bpf program, not direct-action): -1 (match, run the filter's
 * mirred action) for a frame TAP_INGRESS marked, 0 (no match) for any
 * other.  Returns the number of instructions or a VPC_BPF_ERR_* code.
 */
int vpc_bridge_build_host_path(VpcBpfAsm *a);

#endif
