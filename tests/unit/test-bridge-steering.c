/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the filter bridge's steering programs: the instructions
 * the helper loads into the kernel, run in bpf-vm.c inside a model of
 * the kernel's hooks (bridge-model.c).  Each test sends frames from a
 * guest, the host or the wire and checks who receives what: every path,
 * multicast once to everyone but the sender, no host<->guest or
 * guest<->guest unicast on the wire, MAC hygiene, counters, and the
 * Wi-Fi rewriting and steering (against the userspace twin of the NDP
 * rewrite, vpc_bridge_ndp_rewrite_lladdr()).
 */
#include <glib.h>
#include <string.h>

#include "bridge-model.h"
#include "net/vpcnet/bridge/ndp.h"
#include "net/vpcnet/bridge/steering.h"
#include "net/vpcnet/checksum.h"
#include "net/vpcnet/icmp6.h"
#include "net/vpcnet/ipv6.h"
#include "net/vpcnet/udp.h"

static const uint8_t host[6] = { 0x02, 0x77, 0, 0, 0, 0x01 };
static const uint8_t peer[6] = { 0x02, 0x77, 0, 0, 0, 0x03 };
static const uint8_t g1[6] = { 0x00, 0x03, 0xff, 0x7b, 0x00, 0x11 };
static const uint8_t g2[6] = { 0x00, 0x03, 0xff, 0x7b, 0x00, 0x12 };
static const uint8_t g3[6] = { 0x00, 0x03, 0xff, 0x7b, 0x00, 0x13 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast6[6] = { 0x33, 0x33, 0xff, 0x00, 0x00, 0x11 };

#define IP(a, b, c, d) \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define G1_IP   IP(10, 77, 0, 11)
#define PEER_IP IP(10, 77, 0, 3)

static size_t eth(uint8_t *f, const uint8_t *dst, const uint8_t *src,
                  uint16_t type, size_t payload)
{
    memset(f, 0, 14 + payload);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    vpc_put_be16(f + 12, type);
    memset(f + 14, 0x5a, payload);
    return 14 + (payload < 46 ? 46 : payload);
}

static size_t arp(uint8_t *f, const uint8_t *dst, const uint8_t *src,
                  uint16_t op, const uint8_t *sha, uint32_t spa,
                  const uint8_t *tha, uint32_t tpa)
{
    size_t len = eth(f, dst, src, VPC_ETHERTYPE_ARP, 28);
    uint8_t *a = f + 14;

    vpc_put_be16(a, 1);
    vpc_put_be16(a + 2, VPC_ETHERTYPE_IPV4);
    a[4] = 6;
    a[5] = 4;
    vpc_put_be16(a + 6, op);
    memcpy(a + 8, sha, 6);
    vpc_put_be32(a + 14, spa);
    memcpy(a + 18, tha, 6);
    vpc_put_be32(a + 24, tpa);
    return len;
}

static size_t udp4(uint8_t *f, const uint8_t *dst, const uint8_t *src,
                   uint32_t ip_src, uint32_t ip_dst)
{
    VpcUdp4Frame u = { .ip_src = ip_src, .ip_dst = ip_dst, .src_port = 1000,
                       .dst_port = 2000, .ttl = 64 };
    int n;

    memcpy(u.eth_dst, dst, 6);
    memcpy(u.eth_src, src, 6);
    n = vpc_udp4_frame_build(f, 1514, &u, (const uint8_t *)"hello", 5);
    g_assert_cmpint(n, >, 0);
    return (size_t)n;
}

/* fd77::NN */
static void ip6(uint8_t a[16], uint8_t last)
{
    memset(a, 0, 16);
    a[0] = 0xfd;
    a[1] = 0x77;
    a[15] = last;
}

/*
 * A neighbor solicitation for @target from @src_ip with a source
 * link-layer option naming @ll (and, with @two, a second option naming
 * it again after an unrelated one), checksum right.
 */
static size_t ndp_ns(uint8_t *f, const uint8_t *dst, const uint8_t *src,
                     const uint8_t src_ip[16], const uint8_t target[16],
                     const uint8_t *ll, bool two)
{
    uint8_t dst_ip[16];
    uint8_t *icmp = f + 14 + 40;
    size_t plen = 24 + 8 + (two ? 16 : 0);

    memset(f, 0, 14 + 40 + plen);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    vpc_put_be16(f + 12, VPC_ETHERTYPE_IPV6);
    vpc_ipv6_solicited_node(target, dst_ip);
    vpc_ipv6_put_header(f + 14, src_ip, dst_ip, VPC_IPV6_NH_ICMPV6,
                        (uint16_t)plen, 255);
    icmp[0] = VPC_ICMP6_NEIGHBOR_SOLICIT;
    memcpy(icmp + 8, target, 16);
    icmp[24] = VPC_NDP_OPT_SOURCE_LLADDR;
    icmp[25] = 1;
    memcpy(icmp + 26, ll, 6);
    if (two) {
        icmp[32] = 14;          /* a nonce option (RFC 3971) */
        icmp[33] = 1;
        icmp[40] = VPC_NDP_OPT_TARGET_LLADDR;
        icmp[41] = 1;
        memcpy(icmp + 42, ll, 6);
    }
    vpc_put_be16(icmp + 2, vpc_l4_checksum_ipv6(src_ip, dst_ip,
                                                VPC_IPV6_NH_ICMPV6, icmp,
                                                plen));
    return 14 + 40 + plen;
}

static uint64_t counter(const Model *m, unsigned guest, VpcBridgeCounter c)
{
    return m->guests[guest].counters.c[c];
}

/* Two wired guests, and the model ready. */
static void wired(Model *m)
{
    model_init(m, host, false);
    g_assert_cmpint(model_add_guest(m, g1, false), ==, 0);
    g_assert_cmpint(model_add_guest(m, g2, false), ==, 1);
}

static void assert_ok(const Model *m)
{
    if (m->error) {
        g_test_message("model error: %s", m->error);
    }
    g_assert_null(m->error);
}

static void test_guest_to_host(void)
{
    Model m;
    uint8_t f[1514];
    size_t len;

    wired(&m);
    len = udp4(f, host, g1, G1_IP, IP(10, 77, 0, 1));
    model_from_guest(&m, 0, f, len);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 1);
    g_assert_cmpuint(model_count(&m, MODEL_HOST), ==, 1);
    g_assert_cmpmem(model_find(&m, MODEL_HOST)->skb.data, len, f, len);
    g_assert_cmpuint(model_find(&m, MODEL_HOST)->skb.tc_index, ==,
                     VPC_BRIDGE_MARK);
    /* mirred keeps T's OTHERHOST, which ip_rcv() would drop */
    g_assert_cmpuint(model_find(&m, MODEL_HOST)->skb.pkt_type, ==,
                     VPC_PACKET_HOST);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_TX_HOST), ==, 1);
}

/* Without the mark (the tcx links gone), the host path lets nothing by. */
static void test_host_path_needs_mark(void)
{
    VpcBpfAsm a;
    VpcVmMaps maps = { .counters_fd = -1, .ips_fd = -1 };
    VpcVmSkb skb = { .len = 60 };
    VpcVmRun run;
    int n = vpc_bridge_build_host_path(&a);

    g_assert_cmpint(n, >, 0);
    memcpy(skb.data, host, 6);
    vpc_vm_run(a.insns, (unsigned)n, &skb, &maps, &run);
    g_assert_null(run.error);
    g_assert_cmpint(run.verdict, ==, 0);
    skb.tc_index = VPC_BRIDGE_MARK;
    vpc_vm_run(a.insns, (unsigned)n, &skb, &maps, &run);
    g_assert_null(run.error);
    g_assert_cmpint(run.verdict, ==, -1);
}

static void test_host_to_guest(void)
{
    Model m;
    uint8_t f[1514];
    size_t len;

    wired(&m);
    len = udp4(f, g2, host, IP(10, 77, 0, 1), IP(10, 77, 0, 12));
    model_from_host(&m, f, len);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 1);
    g_assert_cmpuint(model_count(&m, 1), ==, 1);
    g_assert_cmpuint(counter(&m, 1, VPC_BC_RX_HOST), ==, 1);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_RX_HOST), ==, 0);
}

static void test_guest_to_guest(void)
{
    Model m;
    uint8_t f[1514];
    size_t len;

    wired(&m);
    /* either way round: the newer guest's programs run first */
    len = eth(f, g2, g1, 0x88b5, 100);
    model_from_guest(&m, 0, f, len);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 1);
    g_assert_cmpuint(model_count(&m, 1), ==, 1);
    g_assert_cmpuint(counter(&m, 1, VPC_BC_RX_GUEST), ==, 1);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_TX_FORWARD), ==, 1);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_TX_WIRE), ==, 0);

    len = eth(f, g1, g2, 0x88b5, 100);
    model_from_guest(&m, 1, f, len);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 1);
    g_assert_cmpuint(model_count(&m, 0), ==, 1);
}

static void test_guest_to_wire(void)
{
    Model m;
    uint8_t f[1514];
    size_t len;

    wired(&m);
    len = udp4(f, peer, g1, G1_IP, PEER_IP);
    model_from_guest(&m, 0, f, len);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 1);
    g_assert_cmpuint(model_count(&m, MODEL_WIRE), ==, 1);
    g_assert_cmpmem(model_find(&m, MODEL_WIRE)->skb.data, len, f, len);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_TX_WIRE), ==, 1);
}

static void test_wire_to_guest(void)
{
    Model m;
    uint8_t f[1514];
    size_t len;

    wired(&m);
    len = udp4(f, g1, peer, PEER_IP, G1_IP);
    model_from_wire(&m, f, len);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 1);
    g_assert_cmpuint(model_count(&m, 0), ==, 1);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_RX_WIRE), ==, 1);

    /* not for a guest: the host's stack has it, as without the bridge */
    len = udp4(f, host, peer, PEER_IP, IP(10, 77, 0, 1));
    model_from_wire(&m, f, len);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 1);
    g_assert_cmpuint(model_count(&m, MODEL_HOST), ==, 1);
}

/* A broadcast or multicast reaches every other party exactly once. */
static void check_flood(Model *m, int sender)
{
    int who;

    assert_ok(m);
    for (who = MODEL_WIRE; who < (int)m->nguests; who++) {
        g_assert_cmpuint(model_count(m, who), ==, who == sender ? 0 : 1);
    }
}

static void test_floods(void)
{
    Model m;
    uint8_t f[1514];
    size_t len;

    model_init(&m, host, false);
    model_add_guest(&m, g1, false);
    model_add_guest(&m, g2, false);
    model_add_guest(&m, g3, false);
    len = arp(f, bcast, g2, 1, g2, IP(10, 77, 0, 12), bcast, PEER_IP);
    model_from_guest(&m, 1, f, len);
    check_flood(&m, 1);
    g_assert_cmpuint(counter(&m, 1, VPC_BC_TX_FLOOD), ==, 1);
    g_assert_cmpuint(counter(&m, 1, VPC_BC_TX_WIRE_FLOOD), ==, 1);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_RX_GUEST_FLOOD), ==, 1);

    len = eth(f, mcast6, host, VPC_ETHERTYPE_IPV6, 60);
    model_from_host(&m, f, len);
    check_flood(&m, MODEL_HOST);
    g_assert_cmpuint(counter(&m, 2, VPC_BC_RX_HOST_FLOOD), ==, 1);

    len = eth(f, bcast, peer, 0x88b5, 60);
    model_from_wire(&m, f, len);
    check_flood(&m, MODEL_WIRE);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_RX_WIRE_FLOOD), ==, 1);
}

static void test_spoofed_source(void)
{
    Model m;
    uint8_t f[1514];
    size_t len;

    wired(&m);
    len = udp4(f, peer, g2, G1_IP, PEER_IP);    /* g1 says it is g2 */
    model_from_guest(&m, 0, f, len);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 0);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_DROP_SPOOF), ==, 1);

    len = eth(f, peer, g1, 0x88b5, 10);         /* a runt */
    model_from_guest(&m, 0, f, 10);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 0);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_DROP_RUNT), ==, 1);
}

static void test_mac_spoof_allowed(void)
{
    static const uint8_t inner[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
    Model m;
    uint8_t f[1514];
    size_t len;

    model_init(&m, host, false);
    model_add_guest(&m, g1, true);
    model_add_guest(&m, g2, false);
    len = udp4(f, peer, inner, G1_IP, PEER_IP);
    model_from_guest(&m, 0, f, len);
    assert_ok(&m);
    g_assert_cmpuint(model_count(&m, MODEL_WIRE), ==, 1);
    /* and back: a frame for the nested MAC is not the guest's */
    len = udp4(f, inner, peer, PEER_IP, G1_IP);
    model_from_wire(&m, f, len);
    assert_ok(&m);
    g_assert_cmpuint(model_count(&m, 0), ==, 0);
}

static void test_non_ip_and_vlan_pass(void)
{
    Model m;
    uint8_t f[1514];
    size_t len;

    wired(&m);
    len = eth(f, peer, g1, 0x8137, 80);         /* IPX */
    model_from_guest(&m, 0, f, len);
    assert_ok(&m);
    g_assert_cmpuint(model_count(&m, MODEL_WIRE), ==, 1);
    g_assert_cmpmem(model_find(&m, MODEL_WIRE)->skb.data, len, f, len);

    len = eth(f, g1, peer, 0x8100, 80);         /* tagged, inline */
    vpc_put_be16(f + 14, 42);
    vpc_put_be16(f + 16, 0x88b5);
    model_from_wire(&m, f, len);
    assert_ok(&m);
    g_assert_cmpuint(model_count(&m, 0), ==, 1);
    g_assert_cmpmem(model_find(&m, 0)->skb.data, len, f, len);
}

/* Wi-Fi: two guests share the host's MAC on the air. */
static void wifi(Model *m)
{
    VpcBridgeIpKey key;
    uint8_t a6[16];

    model_init(m, host, true);
    model_add_guest(m, g1, false);
    model_add_guest(m, g2, false);
    vpc_bridge_ip_key_v4(&key, G1_IP);
    vpc_vm_ips_add(&m->guests[0].maps, key.addr);
    ip6(a6, 0x11);
    vpc_vm_ips_add(&m->guests[0].maps, a6);
    vpc_bridge_ip_key_v4(&key, IP(10, 77, 0, 12));
    vpc_vm_ips_add(&m->guests[1].maps, key.addr);
}

static void test_wifi_out(void)
{
    Model m;
    uint8_t f[1514], want[1514];
    const ModelDelivery *d;
    size_t len;

    wifi(&m);
    len = udp4(f, peer, g1, G1_IP, PEER_IP);
    model_from_guest(&m, 0, f, len);
    assert_ok(&m);
    d = model_find(&m, MODEL_WIRE);
    g_assert_nonnull(d);
    memcpy(want, f, len);
    memcpy(want + 6, host, 6);
    g_assert_cmpmem(d->skb.data, len, want, len);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_WIFI_REWRITTEN), ==, 1);

    /* ARP: the host, the other guest see g1; the air sees the host */
    len = arp(f, bcast, g1, 1, g1, G1_IP, bcast, PEER_IP);
    model_from_guest(&m, 0, f, len);
    check_flood(&m, 0);
    g_assert_cmpmem(model_find(&m, MODEL_HOST)->skb.data, len, f, len);
    g_assert_cmpmem(model_find(&m, 1)->skb.data, len, f, len);
    memcpy(want, f, len);
    memcpy(want + 6, host, 6);
    memcpy(want + 22, host, 6);
    g_assert_cmpmem(model_find(&m, MODEL_WIRE)->skb.data, len, want, len);

    /* a protocol that could not be steered back never goes on the air */
    len = eth(f, peer, g1, 0x88b5, 60);
    model_from_guest(&m, 0, f, len);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 0);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_DROP_WIFI_NON_IP), ==, 1);
    /* ...but it still reaches the other guest, which is not the air */
    len = eth(f, g2, g1, 0x88b5, 60);
    model_from_guest(&m, 0, f, len);
    assert_ok(&m);
    g_assert_cmpuint(model_count(&m, 1), ==, 1);
}

static void test_wifi_ndp_matches_twin(void)
{
    Model m;
    uint8_t f[1514], want[1514], src[16], target[16];
    const ModelDelivery *d;
    unsigned two;

    wifi(&m);
    ip6(src, 0x11);
    ip6(target, 0x03);
    for (two = 0; two < 2; two++) {
        size_t len = ndp_ns(f, mcast6, g1, src, target, g1, two);
        VpcIpv6View ip;
        VpcIcmpView icmp;

        memcpy(want, f, len);
        memcpy(want + 6, host, 6);
        g_assert_cmpint(vpc_bridge_ndp_rewrite_lladdr(want + 14, len - 14, g1,
                                                      host), ==, 1 + two);
        model_from_guest(&m, 0, f, len);
        check_flood(&m, 0);
        d = model_find(&m, MODEL_WIRE);
        g_assert_cmpmem(d->skb.data, len, want, len);
        /* and the checksum holds */
        g_assert_cmpint(vpc_ipv6_parse(d->skb.data + 14, len - 14, &ip), ==, 0);
        g_assert_cmpint(vpc_icmp6_parse(&ip, &icmp), ==, 0);
        /* the host and the other guest get it as sent */
        g_assert_cmpmem(model_find(&m, MODEL_HOST)->skb.data, len, f, len);
    }
}

static void test_wifi_in(void)
{
    Model m;
    uint8_t f[1514], want[1514], a6[16], p6[16];
    size_t len;

    wifi(&m);
    /* IPv4 to the host's MAC, for g1's address: to g1, as g1's */
    len = udp4(f, host, peer, PEER_IP, G1_IP);
    model_from_wire(&m, f, len);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 1);
    memcpy(want, f, len);
    memcpy(want, g1, 6);
    g_assert_cmpmem(model_find(&m, 0)->skb.data, len, want, len);
    g_assert_cmpuint(counter(&m, 0, VPC_BC_WIFI_STEERED), ==, 1);

    /* an ARP reply to g1's (rewritten) request */
    len = arp(f, host, peer, 2, peer, PEER_IP, host, G1_IP);
    model_from_wire(&m, f, len);
    assert_ok(&m);
    memcpy(want, f, len);
    memcpy(want, g1, 6);
    memcpy(want + 32, g1, 6);
    g_assert_cmpuint(model_count(&m, 0), ==, 1);
    g_assert_cmpmem(model_find(&m, 0)->skb.data, len, want, len);

    /* IPv6 */
    ip6(a6, 0x11);
    ip6(p6, 0x03);
    len = eth(f, host, peer, VPC_ETHERTYPE_IPV6, 48);
    vpc_ipv6_put_header(f + 14, p6, a6, 59, 8, 64);
    model_from_wire(&m, f, len);
    assert_ok(&m);
    g_assert_cmpuint(model_count(&m, 0), ==, 1);

    /* the host's own traffic stays the host's */
    len = udp4(f, host, peer, PEER_IP, IP(10, 77, 0, 1));
    model_from_wire(&m, f, len);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 1);
    g_assert_cmpuint(model_count(&m, MODEL_HOST), ==, 1);

    /* g2's address goes to g2 only */
    len = udp4(f, host, peer, PEER_IP, IP(10, 77, 0, 12));
    model_from_wire(&m, f, len);
    assert_ok(&m);
    g_assert_cmpuint(m.nlog, ==, 1);
    g_assert_cmpuint(model_count(&m, 1), ==, 1);
}

/*
 * Every instruction reachable from the first: the kernel's verifier
 * refuses a program with dead code.
 */
static void assert_all_reachable(const VpcBpfAsm *a, unsigned n)
{
    bool seen[VPC_BPF_MAX_INSNS] = { false };
    unsigned todo[VPC_BPF_MAX_INSNS], ntodo = 0, i;

    todo[ntodo++] = 0;
    seen[0] = true;
    while (ntodo) {
        unsigned pc = todo[--ntodo];
        const VpcBpfInsn *in = &a->insns[pc];
        uint8_t cls = VPC_BPF_CLASS(in->code), op = VPC_BPF_OP(in->code);
        unsigned next[2], nnext = 0, k;

        if (in->code == (VPC_BPF_LD | VPC_BPF_IMM | VPC_BPF_DW)) {
            seen[pc + 1] = true;        /* its second half */
            next[nnext++] = pc + 2;
        } else if ((cls == VPC_BPF_JMP || cls == VPC_BPF_JMP32) &&
                   op == VPC_BPF_EXIT) {
            /* nothing follows */
        } else if ((cls == VPC_BPF_JMP || cls == VPC_BPF_JMP32) &&
                   op != VPC_BPF_CALL) {
            next[nnext++] = (unsigned)((int)pc + 1 + in->off);
            if (op != VPC_BPF_JA) {
                next[nnext++] = pc + 1;
            }
        } else {
            next[nnext++] = pc + 1;
        }
        for (k = 0; k < nnext; k++) {
            g_assert_cmpuint(next[k], <, n);
            if (!seen[next[k]]) {
                seen[next[k]] = true;
                todo[ntodo++] = next[k];
            }
        }
    }
    for (i = 0; i < n; i++) {
        if (!seen[i]) {
            g_test_message("instruction %u is unreachable", i);
        }
        g_assert_true(seen[i]);
    }
}

static void test_programs_fit(void)
{
    static VpcBpfAsm a;
    VpcBridgePort p = { .tap_ifindex = 5, .adapter_ifindex = 2,
                        .counters_fd = 3, .ips_fd = 4 };
    int h, variant;

    for (variant = 0; variant < 4; variant++) {
        p.wifi = variant & 1;
        p.mac_spoof = variant & 2;
        for (h = 0; h < VPC_HOOK_NR; h++) {
            int n = vpc_bridge_build_prog(&a, h, &p);

            g_assert_cmpint(n, >, 0);
            g_assert_cmpint(n, <, VPC_BPF_MAX_INSNS);
            assert_all_reachable(&a, (unsigned)n);
            g_test_message("%s%s%s: %d instructions",
                           vpc_bridge_hook_name(h), p.wifi ? " (wifi)" : "",
                           p.mac_spoof ? " (mac-spoof)" : "", n);
        }
    }
    g_assert_cmpint(vpc_bridge_build_prog(&a, VPC_HOOK_NR, &p), <, 0);
}

static void test_asm_labels(void)
{
    static VpcBpfAsm a;
    int l;

    vpc_bpf_init(&a);
    l = vpc_bpf_label(&a);
    vpc_bpf_ja(&a, l);
    g_assert_cmpint(vpc_bpf_finish(&a), ==, VPC_BPF_ERR_LABEL);  /* unbound */

    vpc_bpf_init(&a);
    l = vpc_bpf_label(&a);
    vpc_bpf_bind(&a, l);
    vpc_bpf_bind(&a, l);
    g_assert_cmpint(vpc_bpf_finish(&a), ==, VPC_BPF_ERR_LABEL);  /* twice */

    vpc_bpf_init(&a);
    l = vpc_bpf_label(&a);
    vpc_bpf_mov_imm(&a, VPC_R0, 1);
    vpc_bpf_jmp_imm(&a, VPC_BPF_JEQ, VPC_R0, 1, l);
    vpc_bpf_mov_imm(&a, VPC_R0, 2);
    vpc_bpf_bind(&a, l);
    vpc_bpf_exit(&a);
    g_assert_cmpint(vpc_bpf_finish(&a), ==, 4);
    g_assert_cmpint(a.insns[1].off, ==, 1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bridge/steering/guest-to-host", test_guest_to_host);
    g_test_add_func("/bridge/steering/host-path-needs-mark",
                    test_host_path_needs_mark);
    g_test_add_func("/bridge/steering/host-to-guest", test_host_to_guest);
    g_test_add_func("/bridge/steering/guest-to-guest", test_guest_to_guest);
    g_test_add_func("/bridge/steering/guest-to-wire", test_guest_to_wire);
    g_test_add_func("/bridge/steering/wire-to-guest", test_wire_to_guest);
    g_test_add_func("/bridge/steering/floods", test_floods);
    g_test_add_func("/bridge/steering/spoofed-source", test_spoofed_source);
    g_test_add_func("/bridge/steering/mac-spoof", test_mac_spoof_allowed);
    g_test_add_func("/bridge/steering/non-ip-and-vlan",
                    test_non_ip_and_vlan_pass);
    g_test_add_func("/bridge/steering/wifi-out", test_wifi_out);
    g_test_add_func("/bridge/steering/wifi-ndp", test_wifi_ndp_matches_twin);
    g_test_add_func("/bridge/steering/wifi-in", test_wifi_in);
    g_test_add_func("/bridge/steering/programs-fit", test_programs_fit);
    g_test_add_func("/bridge/asm/labels", test_asm_labels);
    return g_test_run();
}
