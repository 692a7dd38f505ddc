/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: the steering programs (see steering.h).
 *
 * Register use in every program:
 *   r6  the __sk_buff context, for the whole program
 *   r7  the guest's VpcBridgeCounters (a map value, never NULL)
 *   r8, r9  scratch that survives helper calls (NDP option walk)
 * Stack (fp = r10):
 *   fp-16 .. fp-3   the Ethernet header (dst fp-16, src fp-10, type fp-4)
 *   fp-24 .. fp-19  the guest's MAC, to store into frames
 *   fp-32 .. fp-27  the adapter's MAC, likewise
 *   fp-80 .. fp-33  headers further in (48 bytes)
 *   fp-96 .. fp-81  a Wi-Fi address key, or an NDP option's new bytes
 * Frames are read with bpf_skb_load_bytes(), so a short or non-linear
 * frame is never read past its end and needs no pulling.
 */
#include <string.h>

#include "net/vpcnet/bridge/steering.h"

#define ETH_DST     (-16)
#define ETH_SRC     (-10)
#define ETH_TYPE    (-4)
#define GUEST_MAC   (-24)
#define ADAPTER_MAC (-32)
#define DEEP        (-80)
#define DEEP_LEN    48
#define KEY         (-96)

/* Ethernet/ARP/IPv6 offsets in the frame. */
#define OFF_ETH_SRC         6
#define OFF_ARP_SHA         (14 + 8)
#define OFF_ARP_THA         (14 + 18)
#define OFF_ARP_TPA         (14 + 24)
#define OFF_IPV4_DST        (14 + 16)
#define OFF_IPV6_DST        (14 + 24)
#define OFF_ICMP6           (14 + 40)
#define ICMP6_CSUM          2
#define IPPROTO_ICMPV6      58
#define ND_ROUTER_SOLICIT   133
#define ND_REDIRECT         137
#define ND_OPT_SOURCE_LL    1
#define ND_OPT_TARGET_LL    2

static const char *const counter_names[VPC_BC_NR] = {
    [VPC_BC_TX_HOST] = "tx-host",
    [VPC_BC_TX_FLOOD] = "tx-flood",
    [VPC_BC_TX_FORWARD] = "tx-forward",
    [VPC_BC_TX_WIRE] = "tx-wire",
    [VPC_BC_TX_WIRE_FLOOD] = "tx-wire-flood",
    [VPC_BC_RX_WIRE] = "rx-wire",
    [VPC_BC_RX_WIRE_FLOOD] = "rx-wire-flood",
    [VPC_BC_RX_HOST] = "rx-host",
    [VPC_BC_RX_HOST_FLOOD] = "rx-host-flood",
    [VPC_BC_RX_GUEST] = "rx-guest",
    [VPC_BC_RX_GUEST_FLOOD] = "rx-guest-flood",
    [VPC_BC_DROP_SPOOF] = "drop-spoofed-source",
    [VPC_BC_DROP_RUNT] = "drop-runt",
    [VPC_BC_DROP_WIFI_NON_IP] = "drop-wifi-non-ip",
    [VPC_BC_DROP_COPY] = "drop-copy-failed",
    [VPC_BC_WIFI_REWRITTEN] = "wifi-rewritten",
    [VPC_BC_WIFI_STEERED] = "wifi-steered",
};

const char *vpc_bridge_counter_name(VpcBridgeCounter c)
{
    return c < VPC_BC_NR ? counter_names[c] : "?";
}

const char *vpc_bridge_hook_name(VpcBridgeHook hook)
{
    static const char *const names[VPC_HOOK_NR] = {
        [VPC_HOOK_TAP_INGRESS] = "tap-ingress",
        [VPC_HOOK_ADAPTER_EGRESS] = "adapter-egress",
        [VPC_HOOK_ADAPTER_INGRESS] = "adapter-ingress",
        [VPC_HOOK_WIRE_EXIT] = "wire-exit",
    };
    return hook < VPC_HOOK_NR ? names[hook] : "?";
}

void vpc_bridge_ip_key_v4(VpcBridgeIpKey *key, uint32_t addr)
{
    memset(key, 0, sizeof(*key));
    key->addr[10] = 0xff;
    key->addr[11] = 0xff;
    key->addr[12] = addr >> 24;
    key->addr[13] = addr >> 16;
    key->addr[14] = addr >> 8;
    key->addr[15] = addr;
}

/* Little-endian loads of frame bytes, as the programs' loads see them. */
static int32_t le32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static int32_t le16(const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

/* A big-endian 16-bit field as a little-endian load reads it. */
static int32_t be16_loaded(uint16_t v)
{
    return (v >> 8) | (v & 0xff) << 8;
}

/* Generation context: the assembler, the port, the common labels. */
typedef struct Gen {
    VpcBpfAsm *a;
    const VpcBridgePort *p;
} Gen;

static void count(Gen *g, VpcBridgeCounter c)
{
    vpc_bpf_mov_imm(g->a, VPC_R1, 1);
    vpc_bpf_atomic_add64(g->a, VPC_R7, VPC_R1, (int16_t)(c * 8));
}

static void ret_imm(Gen *g, int32_t verdict)
{
    vpc_bpf_mov_imm(g->a, VPC_R0, verdict);
    vpc_bpf_exit(g->a);
}

/* r0 = bpf_skb_load_bytes(ctx, @off, fp + @stack, @len); fail if r0 != 0. */
static void load_bytes(Gen *g, int32_t off, int16_t stack, int32_t len,
                       int fail)
{
    vpc_bpf_mov_reg(g->a, VPC_R1, VPC_R6);
    vpc_bpf_mov_imm(g->a, VPC_R2, off);
    vpc_bpf_mov_reg(g->a, VPC_R3, VPC_R10);
    vpc_bpf_alu_imm(g->a, VPC_BPF_ADD, VPC_R3, stack);
    vpc_bpf_mov_imm(g->a, VPC_R4, len);
    vpc_bpf_call(g->a, VPC_BPF_FUNC_skb_load_bytes);
    vpc_bpf_jmp_imm(g->a, VPC_BPF_JNE, VPC_R0, 0, fail);
}

/* The same with the frame offset in register @off_reg. */
static void load_bytes_at(Gen *g, unsigned off_reg, int16_t stack,
                          int32_t len, int fail)
{
    vpc_bpf_mov_reg(g->a, VPC_R1, VPC_R6);
    vpc_bpf_mov_reg(g->a, VPC_R2, off_reg);
    vpc_bpf_mov_reg(g->a, VPC_R3, VPC_R10);
    vpc_bpf_alu_imm(g->a, VPC_BPF_ADD, VPC_R3, stack);
    vpc_bpf_mov_imm(g->a, VPC_R4, len);
    vpc_bpf_call(g->a, VPC_BPF_FUNC_skb_load_bytes);
    vpc_bpf_jmp_imm(g->a, VPC_BPF_JNE, VPC_R0, 0, fail);
}

/* bpf_skb_store_bytes(ctx, @off, fp + @stack, 6, @flags). */
static void store_mac(Gen *g, int32_t off, int16_t stack, int32_t flags)
{
    vpc_bpf_mov_reg(g->a, VPC_R1, VPC_R6);
    vpc_bpf_mov_imm(g->a, VPC_R2, off);
    vpc_bpf_mov_reg(g->a, VPC_R3, VPC_R10);
    vpc_bpf_alu_imm(g->a, VPC_BPF_ADD, VPC_R3, stack);
    vpc_bpf_mov_imm(g->a, VPC_R4, 6);
    vpc_bpf_mov_imm(g->a, VPC_R5, flags);
    vpc_bpf_call(g->a, VPC_BPF_FUNC_skb_store_bytes);
}

/* Put @mac on the stack at @stack (8-aligned), for store_mac(). */
static void put_mac(Gen *g, int16_t stack, const uint8_t *mac)
{
    vpc_bpf_st_imm(g->a, VPC_BPF_W, VPC_R10, stack, le32(mac));
    vpc_bpf_st_imm(g->a, VPC_BPF_H, VPC_R10, (int16_t)(stack + 4),
                   le16(mac + 4));
}

/*
 * if the 6 bytes at fp + @stack are not @mac goto @differ.  @stack is
 * even; the halves are loaded at their natural alignment.
 */
static void jump_unless_mac(Gen *g, int16_t stack, const uint8_t *mac,
                            int differ)
{
    if ((stack & 3) == 0) {
        vpc_bpf_ldx(g->a, VPC_BPF_W, VPC_R1, VPC_R10, stack);
        vpc_bpf_jmp32_imm(g->a, VPC_BPF_JNE, VPC_R1, le32(mac), differ);
        vpc_bpf_ldx(g->a, VPC_BPF_H, VPC_R1, VPC_R10, (int16_t)(stack + 4));
        vpc_bpf_jmp32_imm(g->a, VPC_BPF_JNE, VPC_R1, le16(mac + 4), differ);
    } else {
        vpc_bpf_ldx(g->a, VPC_BPF_H, VPC_R1, VPC_R10, stack);
        vpc_bpf_jmp32_imm(g->a, VPC_BPF_JNE, VPC_R1, le16(mac), differ);
        vpc_bpf_ldx(g->a, VPC_BPF_W, VPC_R1, VPC_R10, (int16_t)(stack + 2));
        vpc_bpf_jmp32_imm(g->a, VPC_BPF_JNE, VPC_R1, le32(mac + 2), differ);
    }
}

/* if the destination is multicast (or broadcast) goto @label. */
static void jump_if_multicast(Gen *g, int label)
{
    vpc_bpf_ldx(g->a, VPC_BPF_B, VPC_R1, VPC_R10, ETH_DST);
    vpc_bpf_jmp_imm(g->a, VPC_BPF_JSET, VPC_R1, 1, label);
}

/* r0 = bpf_redirect(@ifindex, @flags); return r0. */
static void redirect(Gen *g, uint32_t ifindex, int32_t flags)
{
    vpc_bpf_mov_imm(g->a, VPC_R1, (int32_t)ifindex);
    vpc_bpf_mov_imm(g->a, VPC_R2, flags);
    vpc_bpf_call(g->a, VPC_BPF_FUNC_redirect);
    vpc_bpf_exit(g->a);
}

/* bpf_clone_redirect(ctx, @ifindex, @flags); a failure is counted. */
static void clone_to(Gen *g, uint32_t ifindex, int32_t flags)
{
    int done = vpc_bpf_label(g->a);

    vpc_bpf_mov_reg(g->a, VPC_R1, VPC_R6);
    vpc_bpf_mov_imm(g->a, VPC_R2, (int32_t)ifindex);
    vpc_bpf_mov_imm(g->a, VPC_R3, flags);
    vpc_bpf_call(g->a, VPC_BPF_FUNC_clone_redirect);
    vpc_bpf_jmp_imm(g->a, VPC_BPF_JEQ, VPC_R0, 0, done);
    count(g, VPC_BC_DROP_COPY);
    vpc_bpf_bind(g->a, done);
}

/* Every program starts so: r6 = ctx, r7 = counters, Ethernet header. */
static void prologue(Gen *g, int short_frame)
{
    vpc_bpf_mov_reg(g->a, VPC_R6, VPC_R1);
    vpc_bpf_ld_map_value(g->a, VPC_R7, g->p->counters_fd, 0);
    load_bytes(g, 0, ETH_DST, 14, short_frame);
}

/* if ctx->ingress_ifindex != T goto @label (or == T, with @equal). */
static void jump_on_sender(Gen *g, bool equal, int label)
{
    vpc_bpf_ldx(g->a, VPC_BPF_W, VPC_R1, VPC_R6, VPC_SKB_INGRESS_IFINDEX);
    vpc_bpf_jmp32_imm(g->a, equal ? VPC_BPF_JEQ : VPC_BPF_JNE, VPC_R1,
                      (int32_t)g->p->tap_ifindex, label);
}

/*
 * TAP_INGRESS: a frame from the guest.
 */
static void gen_tap_ingress(Gen *g)
{
    VpcBpfAsm *a = g->a;
    int runt = vpc_bpf_label(a);
    int spoofed = vpc_bpf_label(a);
    int not_host = vpc_bpf_label(a);
    int flood = vpc_bpf_label(a);

    prologue(g, runt);
    if (!g->p->mac_spoof) {
        jump_unless_mac(g, ETH_SRC, g->p->guest_mac, spoofed);
    }
    vpc_bpf_st_imm(a, VPC_BPF_W, VPC_R6, VPC_SKB_TC_INDEX, VPC_BRIDGE_MARK);
    jump_if_multicast(g, flood);
    jump_unless_mac(g, ETH_DST, g->p->adapter_mac, not_host);
    count(g, VPC_BC_TX_HOST);
    /*
     * To the host's stack through T's host-path filter (steering.h says
     * why not bpf_redirect); mirred keeps pkt_type, so it must be what
     * A's eth_type_trans() would have made it.
     */
    vpc_bpf_mov_reg(a, VPC_R1, VPC_R6);
    vpc_bpf_mov_imm(a, VPC_R2, VPC_PACKET_HOST);
    vpc_bpf_call(a, VPC_BPF_FUNC_skb_change_type);
    ret_imm(g, VPC_TCX_NEXT);

    vpc_bpf_bind(a, not_host);
    count(g, VPC_BC_TX_FORWARD);
    redirect(g, g->p->adapter_ifindex, 0);

    vpc_bpf_bind(a, flood);
    count(g, VPC_BC_TX_FLOOD);
    clone_to(g, g->p->adapter_ifindex, VPC_BPF_F_INGRESS);
    redirect(g, g->p->adapter_ifindex, 0);

    if (!g->p->mac_spoof) {
        /* (the verifier refuses code no path reaches) */
        vpc_bpf_bind(a, spoofed);
        count(g, VPC_BC_DROP_SPOOF);
        ret_imm(g, VPC_TCX_DROP);
    }

    vpc_bpf_bind(a, runt);
    count(g, VPC_BC_DROP_RUNT);
    ret_imm(g, VPC_TCX_DROP);
}

/*
 * ADAPTER_EGRESS: what the host sends, and what guests forward.
 * r8 = 1 when the frame is a guest's (marked), for the counters.
 */
static void gen_adapter_egress(Gen *g)
{
    VpcBpfAsm *a = g->a;
    int next = vpc_bpf_label(a);
    int not_mine = vpc_bpf_label(a);
    int flood = vpc_bpf_label(a);
    int from_guest = vpc_bpf_label(a);
    int flood_from_guest = vpc_bpf_label(a);
    int flood_counted = vpc_bpf_label(a);

    vpc_bpf_mov_reg(a, VPC_R6, VPC_R1);
    jump_on_sender(g, true, next);
    vpc_bpf_ld_map_value(a, VPC_R7, g->p->counters_fd, 0);
    load_bytes(g, 0, ETH_DST, 14, next);
    vpc_bpf_ldx(a, VPC_BPF_W, VPC_R8, VPC_R6, VPC_SKB_TC_INDEX);
    jump_if_multicast(g, flood);
    jump_unless_mac(g, ETH_DST, g->p->guest_mac, not_mine);
    vpc_bpf_jmp32_imm(a, VPC_BPF_JEQ, VPC_R8, VPC_BRIDGE_MARK, from_guest);
    count(g, VPC_BC_RX_HOST);
    redirect(g, g->p->tap_ifindex, 0);
    vpc_bpf_bind(a, from_guest);
    count(g, VPC_BC_RX_GUEST);
    redirect(g, g->p->tap_ifindex, 0);

    vpc_bpf_bind(a, flood);
    vpc_bpf_jmp32_imm(a, VPC_BPF_JEQ, VPC_R8, VPC_BRIDGE_MARK,
                      flood_from_guest);
    count(g, VPC_BC_RX_HOST_FLOOD);
    vpc_bpf_ja(a, flood_counted);
    vpc_bpf_bind(a, flood_from_guest);
    count(g, VPC_BC_RX_GUEST_FLOOD);
    vpc_bpf_bind(a, flood_counted);
    clone_to(g, g->p->tap_ifindex, 0);

    vpc_bpf_bind(a, not_mine);
    vpc_bpf_bind(a, next);
    ret_imm(g, VPC_TCX_NEXT);
}

/*
 * Wi-Fi: a frame to a whose destination address is the guest's.  The
 * address (IPv4 as ::ffff:a.b.c.d) is looked up in the guest's map;
 * if found, the destination MAC (and an ARP target MAC of a) becomes g
 * and the frame goes to T.  Falls through to @no otherwise.
 */
static void gen_wifi_steer(Gen *g, int no)
{
    VpcBpfAsm *a = g->a;
    int arp = vpc_bpf_label(a);
    int ipv6 = vpc_bpf_label(a);
    int lookup = vpc_bpf_label(a);
    int not_arp_to_a = vpc_bpf_label(a);
    int deliver = vpc_bpf_label(a);

    jump_unless_mac(g, ETH_DST, g->p->adapter_mac, no);
    /* The v4-mapped prefix; IPv6 overwrites it. */
    vpc_bpf_st_imm(a, VPC_BPF_DW, VPC_R10, KEY, 0);
    vpc_bpf_st_imm(a, VPC_BPF_W, VPC_R10, KEY + 8, (int32_t)0xffff0000u);
    vpc_bpf_ldx(a, VPC_BPF_H, VPC_R1, VPC_R10, ETH_TYPE);
    vpc_bpf_jmp32_imm(a, VPC_BPF_JEQ, VPC_R1, be16_loaded(0x0806), arp);
    vpc_bpf_jmp32_imm(a, VPC_BPF_JEQ, VPC_R1, be16_loaded(0x86dd), ipv6);
    vpc_bpf_jmp32_imm(a, VPC_BPF_JNE, VPC_R1, be16_loaded(0x0800), no);
    load_bytes(g, OFF_IPV4_DST, KEY + 12, 4, no);
    vpc_bpf_ja(a, lookup);
    vpc_bpf_bind(a, arp);
    load_bytes(g, OFF_ARP_TPA, KEY + 12, 4, no);
    vpc_bpf_ja(a, lookup);
    vpc_bpf_bind(a, ipv6);
    load_bytes(g, OFF_IPV6_DST, KEY, 16, no);

    vpc_bpf_bind(a, lookup);
    vpc_bpf_ld_map_fd(a, VPC_R1, g->p->ips_fd);
    vpc_bpf_mov_reg(a, VPC_R2, VPC_R10);
    vpc_bpf_alu_imm(a, VPC_BPF_ADD, VPC_R2, KEY);
    vpc_bpf_call(a, VPC_BPF_FUNC_map_lookup_elem);
    vpc_bpf_jmp_imm(a, VPC_BPF_JEQ, VPC_R0, 0, no);

    put_mac(g, GUEST_MAC, g->p->guest_mac);
    store_mac(g, 0, GUEST_MAC, VPC_BPF_F_RECOMPUTE_CSUM);
    /* An ARP reply to our (rewritten) request names a as its target. */
    vpc_bpf_ldx(a, VPC_BPF_H, VPC_R1, VPC_R10, ETH_TYPE);
    vpc_bpf_jmp32_imm(a, VPC_BPF_JNE, VPC_R1, be16_loaded(0x0806),
                      not_arp_to_a);
    load_bytes(g, OFF_ARP_THA, DEEP, 6, deliver);
    jump_unless_mac(g, DEEP, g->p->adapter_mac, not_arp_to_a);
    store_mac(g, OFF_ARP_THA, GUEST_MAC, VPC_BPF_F_RECOMPUTE_CSUM);
    vpc_bpf_bind(a, not_arp_to_a);
    vpc_bpf_bind(a, deliver);
    count(g, VPC_BC_WIFI_STEERED);
    count(g, VPC_BC_RX_WIRE);
    redirect(g, g->p->tap_ifindex, 0);
}

/*
 * ADAPTER_INGRESS: what the wire sends (and guests' frames for the host).
 */
static void gen_adapter_ingress(Gen *g)
{
    VpcBpfAsm *a = g->a;
    int next = vpc_bpf_label(a);
    int not_mine = vpc_bpf_label(a);
    int flood = vpc_bpf_label(a);

    vpc_bpf_mov_reg(a, VPC_R6, VPC_R1);
    vpc_bpf_ldx(a, VPC_BPF_W, VPC_R1, VPC_R6, VPC_SKB_TC_INDEX);
    vpc_bpf_jmp32_imm(a, VPC_BPF_JEQ, VPC_R1, VPC_BRIDGE_MARK, next);
    vpc_bpf_ld_map_value(a, VPC_R7, g->p->counters_fd, 0);
    load_bytes(g, 0, ETH_DST, 14, next);
    jump_if_multicast(g, flood);
    jump_unless_mac(g, ETH_DST, g->p->guest_mac, not_mine);
    count(g, VPC_BC_RX_WIRE);
    redirect(g, g->p->tap_ifindex, 0);

    vpc_bpf_bind(a, not_mine);
    if (g->p->wifi) {
        gen_wifi_steer(g, next);    /* ends in a redirect */
    } else {
        vpc_bpf_ja(a, next);
    }

    vpc_bpf_bind(a, flood);
    count(g, VPC_BC_RX_WIRE_FLOOD);
    clone_to(g, g->p->tap_ifindex, 0);

    vpc_bpf_bind(a, next);
    ret_imm(g, VPC_TCX_NEXT);
}

/*
 * Wi-Fi, a frame of ours leaving: the NDP options after the ICMPv6
 * header of @opts_off bytes (a constant per message type).  r8 walks
 * the options, r9 is the end of the ICMPv6 message.  For each of the
 * first VPC_BRIDGE_NDP_OPTS options: a source or target link-layer
 * option naming g is given a, and the checksum is adjusted by the
 * difference (bpf_csum_diff over the option's 8 bytes).
 */
static void gen_ndp_rewrite(Gen *g, int done)
{
    VpcBpfAsm *a = g->a;
    static const struct {
        uint8_t type;
        uint8_t opts_off;
    } msgs[] = {
        { 133, 8 }, { 134, 16 }, { 135, 24 }, { 136, 24 }, { 137, 40 },
    };
    int walk = vpc_bpf_label(a);
    unsigned i;

    /* IPv6 header: next header ICMPv6, payload length -> r9. */
    load_bytes(g, 14, DEEP, 40, done);
    vpc_bpf_ldx(a, VPC_BPF_B, VPC_R1, VPC_R10, DEEP + 6);
    vpc_bpf_jmp_imm(a, VPC_BPF_JNE, VPC_R1, IPPROTO_ICMPV6, done);
    vpc_bpf_ldx(a, VPC_BPF_H, VPC_R9, VPC_R10, DEEP + 4);
    vpc_bpf_to_be(a, VPC_R9, 16);
    vpc_bpf_alu_imm(a, VPC_BPF_ADD, VPC_R9, OFF_ICMP6);
    load_bytes(g, OFF_ICMP6, DEEP, 1, done);
    vpc_bpf_ldx(a, VPC_BPF_B, VPC_R1, VPC_R10, DEEP);
    for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        int other = vpc_bpf_label(a);

        vpc_bpf_jmp_imm(a, VPC_BPF_JNE, VPC_R1, msgs[i].type, other);
        vpc_bpf_mov_imm(a, VPC_R8, OFF_ICMP6 + msgs[i].opts_off);
        vpc_bpf_ja(a, walk);
        vpc_bpf_bind(a, other);
    }
    vpc_bpf_ja(a, done);

    vpc_bpf_bind(a, walk);
    for (i = 0; i < VPC_BRIDGE_NDP_OPTS; i++) {
        int advance = vpc_bpf_label(a);
        int is_ll = vpc_bpf_label(a);

        /* an option's 8 bytes must lie inside the message */
        vpc_bpf_mov_reg(a, VPC_R1, VPC_R8);
        vpc_bpf_alu_imm(a, VPC_BPF_ADD, VPC_R1, 8);
        vpc_bpf_jmp_reg(a, VPC_BPF_JGT, VPC_R1, VPC_R9, done);
        load_bytes_at(g, VPC_R8, DEEP, 8, done);
        vpc_bpf_ldx(a, VPC_BPF_B, VPC_R1, VPC_R10, DEEP + 1);
        vpc_bpf_jmp_imm(a, VPC_BPF_JEQ, VPC_R1, 0, done);
        vpc_bpf_jmp_imm(a, VPC_BPF_JNE, VPC_R1, 1, advance);
        vpc_bpf_ldx(a, VPC_BPF_B, VPC_R1, VPC_R10, DEEP);
        vpc_bpf_jmp_imm(a, VPC_BPF_JEQ, VPC_R1, ND_OPT_SOURCE_LL, is_ll);
        vpc_bpf_jmp_imm(a, VPC_BPF_JNE, VPC_R1, ND_OPT_TARGET_LL, advance);
        vpc_bpf_bind(a, is_ll);
        jump_unless_mac(g, DEEP + 2, g->p->guest_mac, advance);
        /* new bytes: the same type and length, then a */
        vpc_bpf_ldx(a, VPC_BPF_H, VPC_R1, VPC_R10, DEEP);
        vpc_bpf_stx(a, VPC_BPF_H, VPC_R10, VPC_R1, KEY);
        vpc_bpf_st_imm(a, VPC_BPF_H, VPC_R10, KEY + 2,
                       le16(g->p->adapter_mac));
        vpc_bpf_st_imm(a, VPC_BPF_W, VPC_R10, KEY + 4,
                       le32(g->p->adapter_mac + 2));
        /* r0 = bpf_csum_diff(old, 8, new, 8, 0) */
        vpc_bpf_mov_reg(a, VPC_R1, VPC_R10);
        vpc_bpf_alu_imm(a, VPC_BPF_ADD, VPC_R1, DEEP);
        vpc_bpf_mov_imm(a, VPC_R2, 8);
        vpc_bpf_mov_reg(a, VPC_R3, VPC_R10);
        vpc_bpf_alu_imm(a, VPC_BPF_ADD, VPC_R3, KEY);
        vpc_bpf_mov_imm(a, VPC_R4, 8);
        vpc_bpf_mov_imm(a, VPC_R5, 0);
        vpc_bpf_call(a, VPC_BPF_FUNC_csum_diff);
        /* bpf_l4_csum_replace(ctx, icmp6 + 2, 0, r0, 0) */
        vpc_bpf_mov_reg(a, VPC_R4, VPC_R0);
        vpc_bpf_mov_reg(a, VPC_R1, VPC_R6);
        vpc_bpf_mov_imm(a, VPC_R2, OFF_ICMP6 + ICMP6_CSUM);
        vpc_bpf_mov_imm(a, VPC_R3, 0);
        vpc_bpf_mov_imm(a, VPC_R5, 0);
        vpc_bpf_call(a, VPC_BPF_FUNC_l4_csum_replace);
        /* bpf_skb_store_bytes(ctx, r8 + 2, fp + KEY + 2, 6, 0) */
        vpc_bpf_mov_reg(a, VPC_R1, VPC_R6);
        vpc_bpf_mov_reg(a, VPC_R2, VPC_R8);
        vpc_bpf_alu_imm(a, VPC_BPF_ADD, VPC_R2, 2);
        vpc_bpf_mov_reg(a, VPC_R3, VPC_R10);
        vpc_bpf_alu_imm(a, VPC_BPF_ADD, VPC_R3, KEY + 2);
        vpc_bpf_mov_imm(a, VPC_R4, 6);
        vpc_bpf_mov_imm(a, VPC_R5, 0);
        vpc_bpf_call(a, VPC_BPF_FUNC_skb_store_bytes);

        vpc_bpf_bind(a, advance);
        /* r8 += length * 8 */
        vpc_bpf_ldx(a, VPC_BPF_B, VPC_R1, VPC_R10, DEEP + 1);
        vpc_bpf_alu_imm(a, VPC_BPF_LSH, VPC_R1, 3);
        vpc_bpf_alu_reg(a, VPC_BPF_ADD, VPC_R8, VPC_R1);
    }
    vpc_bpf_ja(a, done);
}

/*
 * WIRE_EXIT: our own frames, leaving on the wire.
 */
static void gen_wire_exit(Gen *g)
{
    VpcBpfAsm *a = g->a;
    int next = vpc_bpf_label(a);
    int flood = vpc_bpf_label(a);

    vpc_bpf_mov_reg(a, VPC_R6, VPC_R1);
    jump_on_sender(g, false, next);
    vpc_bpf_ld_map_value(a, VPC_R7, g->p->counters_fd, 0);
    load_bytes(g, 0, ETH_DST, 14, next);

    if (g->p->wifi) {
        int arp = vpc_bpf_label(a);
        int ipv6 = vpc_bpf_label(a);
        int ip_ok = vpc_bpf_label(a);

        vpc_bpf_ldx(a, VPC_BPF_H, VPC_R1, VPC_R10, ETH_TYPE);
        vpc_bpf_jmp32_imm(a, VPC_BPF_JEQ, VPC_R1, be16_loaded(0x0800),
                          ip_ok);
        vpc_bpf_jmp32_imm(a, VPC_BPF_JEQ, VPC_R1, be16_loaded(0x0806), arp);
        vpc_bpf_jmp32_imm(a, VPC_BPF_JEQ, VPC_R1, be16_loaded(0x86dd),
                          ipv6);
        count(g, VPC_BC_DROP_WIFI_NON_IP);
        ret_imm(g, VPC_TCX_DROP);

        vpc_bpf_bind(a, arp);
        put_mac(g, ADAPTER_MAC, g->p->adapter_mac);
        load_bytes(g, OFF_ARP_SHA, DEEP, 6, ip_ok);
        jump_unless_mac(g, DEEP, g->p->guest_mac, ip_ok);
        store_mac(g, OFF_ARP_SHA, ADAPTER_MAC, 0);
        vpc_bpf_ja(a, ip_ok);

        vpc_bpf_bind(a, ipv6);
        gen_ndp_rewrite(g, ip_ok);

        vpc_bpf_bind(a, ip_ok);
        put_mac(g, ADAPTER_MAC, g->p->adapter_mac);
        store_mac(g, OFF_ETH_SRC, ADAPTER_MAC, 0);
        count(g, VPC_BC_WIFI_REWRITTEN);
    }
    vpc_bpf_ldx(a, VPC_BPF_B, VPC_R1, VPC_R10, ETH_DST);
    vpc_bpf_jmp_imm(a, VPC_BPF_JSET, VPC_R1, 1, flood);
    count(g, VPC_BC_TX_WIRE);
    vpc_bpf_ja(a, next);
    vpc_bpf_bind(a, flood);
    count(g, VPC_BC_TX_WIRE_FLOOD);
    vpc_bpf_bind(a, next);
    ret_imm(g, VPC_TCX_NEXT);
}

int vpc_bridge_build_prog(VpcBpfAsm *a, VpcBridgeHook hook,
                          const VpcBridgePort *port)
{
    Gen g = { .a = a, .p = port };

    vpc_bpf_init(a);
    switch (hook) {
    case VPC_HOOK_TAP_INGRESS:
        gen_tap_ingress(&g);
        break;
    case VPC_HOOK_ADAPTER_EGRESS:
        gen_adapter_egress(&g);
        break;
    case VPC_HOOK_ADAPTER_INGRESS:
        gen_adapter_ingress(&g);
        break;
    case VPC_HOOK_WIRE_EXIT:
        gen_wire_exit(&g);
        break;
    default:
        return VPC_BPF_ERR_LABEL;
    }
    return vpc_bpf_finish(a);
}

int vpc_bridge_build_host_path(VpcBpfAsm *a)
{
    int unmarked;

    vpc_bpf_init(a);
    unmarked = vpc_bpf_label(a);
    vpc_bpf_ldx(a, VPC_BPF_W, VPC_R0, VPC_R1, VPC_SKB_TC_INDEX);
    vpc_bpf_jmp32_imm(a, VPC_BPF_JNE, VPC_R0, VPC_BRIDGE_MARK, unmarked);
    vpc_bpf_mov_imm(a, VPC_R0, -1);
    vpc_bpf_exit(a);
    vpc_bpf_bind(a, unmarked);
    vpc_bpf_mov_imm(a, VPC_R0, 0);
    vpc_bpf_exit(a);
    return vpc_bpf_finish(a);
}
