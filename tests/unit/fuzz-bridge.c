/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Fuzz target of -netdev filter-bridge's library (net/vpcnet/bridge/).
 *
 * Every input goes to every parser and core of the bridge:
 *   - as text: the helper's ACL, its messages, a registry record (with
 *     its file name made from the input too) and /proc/PID/stat;
 *   - as a frame: the Wi-Fi learning and DHCP rewriting from and to a
 *     guest, in a buffer with a guard zone behind it; the NDP view and
 *     the link-layer rewrite, twice (as given, and with the ICMPv6
 *     checksum made right so that mutations reach the options);
 *   - as a frame into the steering programs, run by the eBPF model
 *     (bpf-vm.c) inside the model of the kernel's hooks
 *     (bridge-model.c), wired and Wi-Fi, from a guest, the host and the
 *     wire, checking the bridge's promises on every one:
 *       the programs never read or write outside what they may, never
 *       loop, never give a verdict tcx does not know;
 *       a guest never gets its own frame back, and no party gets a
 *       frame twice;
 *       a guest's frame with a source MAC not its own goes nowhere;
 *       unicast from the host to a guest, or between guests, never
 *       reaches the wire;
 *       on Wi-Fi, whatever a guest puts on the wire carries the host's
 *       MAC as its source.
 *   A broken promise aborts, as a sanitizer finding does.
 *
 * Built like fuzz-vpcnet (tests/unit/meson.build): a standalone driver
 * under ASan/UBSan that runs built-in seeds and seeded mutations for a
 * bounded number of iterations, speaking TAP, and a libFuzzer binary
 * with clang:
 *
 *   fuzz-bridge [--iterations N] [--seed S] [--time-limit SECONDS]
 *               [--write-seeds DIR] [FILE...]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bridge-model.h"
#include "net/vpcnet/bridge/acl.h"
#include "net/vpcnet/bridge/helper-proto.h"
#include "net/vpcnet/bridge/ndp.h"
#include "net/vpcnet/bridge/registry.h"
#include "net/vpcnet/bridge/wifi.h"
#include "net/vpcnet/checksum.h"
#include "net/vpcnet/dhcp-wire.h"
#include "net/vpcnet/ipv6.h"
#include "net/vpcnet/udp.h"
#include "fuzz-vpcnet.h"      /* LLVMFuzzerTestOneInput() */


#define MAX_INPUT   2048
#define GUARD_LEN   64
#define GUARD_BYTE  0xa5

static const uint8_t host_mac[6] = { 0x02, 0x77, 0, 0, 0, 0x01 };
static const uint8_t guest_macs[3][6] = {
    { 0x00, 0x03, 0xff, 0x7b, 0x00, 0x11 },
    { 0x00, 0x03, 0xff, 0x7b, 0x00, 0x12 },
    { 0x00, 0x03, 0xff, 0x7b, 0x00, 0x13 },
};

/* volatile: keeps the parsing from being elided */
static volatile uint32_t sink;

/* What the steering check is looking at, for the report. */
static const uint8_t *current_frame;
static size_t current_len;
static int current_from;
static bool current_wifi;

#define PROMISE(cond, what) do { \
        if (!(cond)) { \
            broken(what); \
        } \
    } while (0)

/* The whole input, for the report. */
static const uint8_t *current_input;
static size_t current_input_len;

static void broken(const char *what)
{
    size_t i;

    fprintf(stderr, "fuzz-bridge: broken promise: %s\n", what);
    fprintf(stderr, "  input, %zu bytes:", current_input_len);
    for (i = 0; i < current_input_len && i < 256; i++) {
        fprintf(stderr, " %02x", current_input[i]);
    }
    fprintf(stderr, "\n");
    if (current_frame) {
        fprintf(stderr, "  frame from %d (%s), %zu bytes:", current_from,
                current_wifi ? "wifi" : "wired", current_len);
        for (i = 0; i < current_len && i < 64; i++) {
            fprintf(stderr, " %02x", current_frame[i]);
        }
        fprintf(stderr, "\n");
    }
    abort();
}

static bool add_addr(void *opaque, const VpcBridgeIpKey *key)
{
    sink += key->addr[15];
    return key->addr[15] != 1;  /* refuse some, as for host addresses */
}

static void del_addr(void *opaque, const VpcBridgeIpKey *key)
{
    sink += key->addr[14];
}

static const VpcWifiOps wifi_ops = { .add_addr = add_addr,
                                     .del_addr = del_addr };

static void fuzz_text(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    VpcAclResult acl;
    VpcFbhMsg msg;
    VpcFbRecord rec;
    char why[80], name[32];
    uint8_t mac[6];
    uint64_t start;

    sink += vpc_acl_check(text, size, "eth0", &acl);
    sink += vpc_acl_check(text, size, "wlp2s0", &acl) + acl.line;
    PROMISE(memchr(acl.reason, 0, sizeof(acl.reason)), "ACL reason ends");
    if (vpc_fbh_parse(text, size, &msg, why, sizeof(why)) == 0) {
        char again[VPC_FBH_MSG_MAX];

        PROMISE(memchr(msg.text, 0, sizeof(msg.text)) &&
                memchr(msg.tap, 0, sizeof(msg.tap)), "message strings end");
        sink += vpc_fbh_format(&msg, again, sizeof(again)) > 0;
    }
    if (vpc_fb_record_parse(text, size, &rec) == 0) {
        char again[VPC_FB_RECORD_MAX];
        VpcFbRecord back;
        int n = vpc_fb_record_format(&rec, again, sizeof(again));

        PROMISE(n < 0 || (vpc_fb_record_parse(again, (size_t)n, &back) == 0 &&
                          back.keeper_pid == rec.keeper_pid),
                "a record reads back");
    }
    memset(name, 0, sizeof(name));
    memcpy(name, data, size < sizeof(name) - 1 ? size : sizeof(name) - 1);
    sink += vpc_fb_record_name_parse(name, mac);
    sink += vpc_proc_stat_start(text, size, &start);
}

/* The NDP view and rewrite, as given and with the checksum made right. */
static void fuzz_ndp(const uint8_t *data, size_t size)
{
    static uint8_t buf[MAX_INPUT + GUARD_LEN];
    VpcBridgeNdp ndp;
    unsigned pass;

    if (size < 14) {
        return;
    }
    for (pass = 0; pass < 2; pass++) {
        size_t len = size - 14;

        memcpy(buf, data + 14, len);
        memset(buf + len, GUARD_BYTE, GUARD_LEN);
        if (pass == 1 && len >= 44) {
            size_t plen = vpc_get_be16(buf + 4);

            if (plen > len - 40) {
                plen = len - 40;
                vpc_put_be16(buf + 4, (uint16_t)plen);
            }
            buf[0] = 0x60;
            buf[6] = VPC_IPV6_NH_ICMPV6;
            buf[7] = 255;
            vpc_put_be16(buf + 42, 0);
            vpc_put_be16(buf + 42, vpc_l4_checksum_ipv6(buf + 8, buf + 24,
                                                        VPC_IPV6_NH_ICMPV6,
                                                        buf + 40, plen));
        }
        sink += vpc_bridge_ndp_parse(buf, len, &ndp) + ndp.type;
        sink += vpc_bridge_ndp_rewrite_lladdr(buf, len, guest_macs[0],
                                              host_mac);
        for (size_t i = 0; i < GUARD_LEN; i++) {
            PROMISE(buf[len + i] == GUARD_BYTE, "NDP rewrite stays inside");
        }
    }
}

static void fuzz_wifi(const uint8_t *data, size_t size)
{
    static uint8_t buf[MAX_INPUT + VPC_WIFI_DHCP_GROWTH + GUARD_LEN];
    static VpcWifiGuest g;
    static bool ready;
    size_t len, cap;
    unsigned pass;

    if (!ready) {
        vpc_wifi_guest_init(&g, guest_macs[0], host_mac, &wifi_ops, NULL);
        ready = true;
    }
    for (pass = 0; pass < 2; pass++) {
        memcpy(buf, data, size);
        if (pass == 1 && size >= 14 + 20 + 8) {
            /* a frame from the guest, as DHCP, checksums right */
            VpcEthView eth;

            memcpy(buf + 6, guest_macs[0], 6);
            if (vpc_eth_parse(buf, size, &eth) == 0 &&
                eth.ethertype == VPC_ETHERTYPE_IPV4) {
                uint8_t *ip = buf + eth.hlen;
                size_t ihl = (size_t)(ip[0] & 0x0f) * 4;

                if (ihl >= 20 && eth.hlen + ihl + 8 <= size) {
                    uint8_t *udp = ip + ihl;
                    size_t total = size - eth.hlen, udp_len = total - ihl;

                    ip[0] = 0x40 | (ip[0] & 0x0f);
                    ip[9] = VPC_IP_PROTO_UDP;
                    vpc_put_be16(ip + 2, (uint16_t)total);
                    vpc_put_be16(ip + 6, 0);
                    vpc_put_be16(ip + 10, 0);
                    vpc_put_be16(ip + 10, vpc_ip_checksum(ip, ihl));
                    vpc_put_be16(udp, VPC_DHCP_CLIENT_PORT);
                    vpc_put_be16(udp + 2, VPC_DHCP_SERVER_PORT);
                    vpc_put_be16(udp + 4, (uint16_t)udp_len);
                    vpc_put_be16(udp + 6, 0);
                }
            }
        }
        cap = size + VPC_WIFI_DHCP_GROWTH;
        memset(buf + cap, GUARD_BYTE, GUARD_LEN);
        len = vpc_wifi_from_guest(&g, buf, size, cap, sink);
        PROMISE(len >= size && len <= cap, "DHCP rewrite grows within room");
        for (size_t i = 0; i < GUARD_LEN; i++) {
            PROMISE(buf[cap + i] == GUARD_BYTE, "wifi stays inside its room");
        }
        memcpy(buf, data, size);
        vpc_wifi_to_guest(&g, buf, size, sink);
    }
}

/* @mac is a guest's, other than guest @except's (-1: any guest). */
static bool is_guest_mac(const uint8_t *mac, unsigned n, int except)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        if ((int)i != except && !memcmp(mac, guest_macs[i], 6)) {
            return true;
        }
    }
    return false;
}

/* The promises of one run of the model, for a frame that entered at @from. */
static void check_run(const Model *m, int from, const uint8_t *frame,
                      size_t len)
{
    unsigned seen[MODEL_MAX_GUESTS + 2] = { 0 };
    /* shorter than an Ethernet header: no one's traffic */
    bool unicast = len >= 14 && !(frame[0] & 1);
    unsigned i;

    current_frame = frame;
    current_len = len;
    current_from = from;
    current_wifi = m->wifi;
    PROMISE(!m->error, m->error ? m->error : "");
    for (i = 0; i < m->nlog; i++) {
        const ModelDelivery *d = &m->log[i];

        PROMISE(d->to != from, "a frame went back where it came from");
        PROMISE(++seen[d->to + 2] == 1, "a party got a frame twice");
        if (d->to == MODEL_WIRE && m->wifi && from >= 0) {
            PROMISE(d->skb.len >= 12 &&
                    !memcmp(d->skb.data + 6, host_mac, 6),
                    "a foreign source MAC on the air");
        }
        if (d->to == MODEL_WIRE && unicast && len >= 12 &&
            (from >= 0 || from == MODEL_HOST)) {
            /* (a guest's frame to its own MAC is nobody else's) */
            PROMISE(!is_guest_mac(frame, m->nguests, from) &&
                    (from == MODEL_HOST || memcmp(frame, host_mac, 6)),
                    "host<->guest or guest<->guest unicast on the wire");
        }
    }
    if (from >= 0 && !m->guests[from].port.mac_spoof &&
        (len < 12 || memcmp(frame + 6, guest_macs[from], 6))) {
        PROMISE(m->nlog == 0, "a spoofed frame was delivered");
    }
}

static void fuzz_steering(const uint8_t *data, size_t size)
{
    static Model wired, wifi;
    static bool ready;
    static uint8_t frame[VPC_VM_FRAME_MAX];
    Model *models[2] = { &wired, &wifi };
    unsigned k, variant;

    if (!ready) {
        VpcBridgeIpKey key;

        model_init(&wired, host_mac, false);
        model_init(&wifi, host_mac, true);
        for (k = 0; k < 3; k++) {
            model_add_guest(&wired, guest_macs[k], k == 2);
            model_add_guest(&wifi, guest_macs[k], false);
        }
        vpc_bridge_ip_key_v4(&key, 0x0a4d000b);
        vpc_vm_ips_add(&wifi.guests[0].maps, key.addr);
        ready = true;
    }
    if (size > sizeof(frame)) {
        size = sizeof(frame);
    }
    for (variant = 0; variant < 3; variant++) {
        memcpy(frame, data, size);
        /*
         * aim the addresses at the bridge's parties, so that the
         * interesting branches are reached, not only "unknown MAC"
         */
        if (variant >= 1 && size >= 12) {
            const uint8_t *macs[4] = { host_mac, guest_macs[0], guest_macs[1],
                                       guest_macs[2] };

            memcpy(frame, macs[data[size - 1] & 3], 6);
            memcpy(frame + 6, macs[(data[size - 1] >> 2) & 3], 6);
            if (variant == 2) {
                frame[0] |= (data[size - 1] >> 4) & 1;
            }
        }
        for (k = 0; k < 2; k++) {
            Model *m = models[k];
            unsigned guest = size ? data[0] % m->nguests : 0;

            model_from_guest(m, guest, frame, size);
            check_run(m, (int)guest, frame, size);
            model_from_host(m, frame, size);
            check_run(m, MODEL_HOST, frame, size);
            model_from_wire(m, frame, size);
            check_run(m, MODEL_WIRE, frame, size);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT) {
        return 0;
    }
    current_input = data;
    current_input_len = size;
    current_frame = NULL;
    fuzz_text(data, size);
    fuzz_ndp(data, size);
    fuzz_wifi(data, size);
    fuzz_steering(data, size);
    return 0;
}

#ifndef VPC_FUZZ_LIBFUZZER

typedef struct Seed {
    uint8_t data[MAX_INPUT];
    size_t len;
} Seed;

static Seed seeds[32];
static unsigned n_seeds;
static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static size_t rng_below(size_t n)
{
    return n ? (size_t)(rng() % n) : 0;
}

static void add_seed(const void *data, size_t len)
{
    if (n_seeds < sizeof(seeds) / sizeof(seeds[0]) && len <= MAX_INPUT) {
        memcpy(seeds[n_seeds].data, data, len);
        seeds[n_seeds].len = len;
        n_seeds++;
    }
}

static void add_text(const char *s)
{
    add_seed(s, strlen(s));
}

static void build_seeds(void)
{
    static const uint8_t all_nodes[16] = { 0xff, 2, [15] = 1 };
    uint8_t f[MAX_INPUT], payload[400];
    VpcDhcpHeader h = { .op = VPC_BOOTREQUEST, .htype = 1, .hlen = 6,
                        .xid = 0x1234 };
    VpcUdp4Frame u = { .ip_src = 0, .ip_dst = VPC_IPV4_BROADCAST,
                       .src_port = 68, .dst_port = 67, .ttl = 64 };
    uint8_t src6[16] = { 0xfe, 0x80, [15] = 0x11 };
    VpcDhcpWriter w;
    int n;

    add_text("allow eth0\ndeny all\n# comment\nallow wlp2s0\n");
    add_text("READY v=1 tap=vpcfb0 tap-ifindex=12 adapter-ifindex=2 "
             "adapter-mac=02:77:00:00:00:01 mode=wifi\n");
    add_text("ATTACH mac=00:03:ff:7b:00:11\n");
    add_text("ERROR MAC 00:03:ff:7b:00:11 is already in use\n");
    add_text("vpcnet-filter-bridge v=1 mac=00:03:ff:7b:00:11 keeper=42 "
             "start=7 qemu=41 uid=0 tap=vpcfb0 tap-ifindex=9 mode=wired\n");
    add_text("1234 (qemu) S 1 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765");
    add_text("00-03-ff-7b-00-11");

    /* DHCP DISCOVER from guest 0, unpadded */
    memcpy(h.chaddr, guest_macs[0], 6);
    vpc_dhcp_writer_init(&w, payload, sizeof(payload), &h);
    vpc_dhcp_put_u8(&w, VPC_DHCP_OPT_MSG_TYPE, VPC_DHCPDISCOVER);
    n = vpc_dhcp_writer_finish(&w, 0);
    memset(u.eth_dst, 0xff, 6);
    memcpy(u.eth_src, guest_macs[0], 6);
    n = vpc_udp4_frame_build(f, sizeof(f), &u, payload, (size_t)n);
    add_seed(f, (size_t)n);
    /* a DHCPACK to the host's MAC */
    h.op = VPC_BOOTREPLY;
    h.yiaddr = 0x0a4d000b;
    memcpy(h.chaddr, host_mac, 6);
    vpc_dhcp_writer_init(&w, payload, sizeof(payload), &h);
    vpc_dhcp_put_u8(&w, VPC_DHCP_OPT_MSG_TYPE, VPC_DHCPACK);
    n = vpc_dhcp_writer_finish(&w, VPC_BOOTP_MIN_LEN);
    u.src_port = 67;
    u.dst_port = 68;
    memcpy(u.eth_src, host_mac, 6);
    n = vpc_udp4_frame_build(f, sizeof(f), &u, payload, (size_t)n);
    add_seed(f, (size_t)n);
    /* ARP request from guest 1 */
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, guest_macs[1], 6);
    vpc_put_be16(f + 12, 0x0806);
    vpc_put_be16(f + 14, 1);
    vpc_put_be16(f + 16, 0x0800);
    f[18] = 6;
    f[19] = 4;
    vpc_put_be16(f + 20, 1);
    memcpy(f + 22, guest_macs[1], 6);
    vpc_put_be32(f + 28, 0x0a4d000c);
    vpc_put_be32(f + 38, 0x0a4d0003);
    add_seed(f, 60);
    /* an NDP NS with a source link-layer option from guest 0 */
    memset(f, 0, 14 + 40 + 32);
    f[0] = 0x33;
    f[1] = 0x33;
    memcpy(f + 6, guest_macs[0], 6);
    vpc_put_be16(f + 12, VPC_ETHERTYPE_IPV6);
    vpc_ipv6_put_header(f + 14, src6, all_nodes, VPC_IPV6_NH_ICMPV6, 32, 255);
    f[54] = 135;
    memcpy(f + 62, src6, 16);
    f[78] = 1;
    f[79] = 1;
    memcpy(f + 80, guest_macs[0], 6);
    vpc_put_be16(f + 56, vpc_l4_checksum_ipv6(src6, all_nodes, 58, f + 54, 32));
    add_seed(f, 14 + 40 + 32);
    /* a VLAN-tagged frame to guest 2, and a runt */
    memset(f, 0x42, 64);
    memcpy(f, guest_macs[2], 6);
    memcpy(f + 6, host_mac, 6);
    vpc_put_be16(f + 12, 0x8100);
    add_seed(f, 64);
    add_seed(f, 9);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) +
           (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static size_t mutate_once(uint8_t *buf, size_t len)
{
    size_t pos = rng_below(len + 1);

    switch (rng_below(6)) {
    case 0:             /* flip a bit */
        if (len) {
            buf[rng_below(len)] ^= (uint8_t)(1u << rng_below(8));
        }
        break;
    case 1:             /* a random byte */
        if (len) {
            buf[rng_below(len)] = (uint8_t)rng();
        }
        break;
    case 2:             /* an interesting byte */
        if (len) {
            static const uint8_t magic[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 6,
                                             14, 58, 135, 136, 0x86, 0xdd };
            buf[rng_below(len)] = magic[rng_below(sizeof(magic))];
        }
        break;
    case 3:             /* truncate */
        len = pos;
        break;
    case 4:             /* insert a byte */
        if (len < MAX_INPUT) {
            memmove(buf + pos + 1, buf + pos, len - pos);
            buf[pos] = (uint8_t)rng();
            len++;
        }
        break;
    default:            /* delete a byte */
        if (pos < len) {
            memmove(buf + pos, buf + pos + 1, len - pos - 1);
            len--;
        }
        break;
    }
    return len;
}

static bool parse_number(const char *s, unsigned long long *out)
{
    unsigned long long v = 0;
    const char *p = s;

    while (*p >= '0' && *p <= '9' && p - s < 19) {
        v = v * 10 + (unsigned long long)(*p++ - '0');
    }
    *out = v;
    return p != s && !*p;
}

static bool run_file(const char *path)
{
    static uint8_t buf[MAX_INPUT];
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f) {
        return false;
    }
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    return true;
}

static bool write_seeds(const char *dir)
{
    char path[4096];
    unsigned i;

    mkdir(dir, 0755);
    for (i = 0; i < n_seeds; i++) {
        FILE *f;

        snprintf(path, sizeof(path), "%s/seed-%02u", dir, i);
        f = fopen(path, "wb");
        if (!f || fwrite(seeds[i].data, 1, seeds[i].len, f) != seeds[i].len) {
            if (f) {
                fclose(f);
            }
            return false;
        }
        fclose(f);
    }
    return true;
}

int main(int argc, char **argv)
{
    static uint8_t buf[MAX_INPUT];
    unsigned long long iterations = 50000, done = 0, seed = 0x5eed;
    unsigned long long time_limit = 60;
    const char *seed_dir = NULL;
    struct timespec start;
    int files = 0, i;

    for (i = 1; i < argc; i++) {
        bool ok = true;

        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            ok = parse_number(argv[++i], &iterations);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            ok = parse_number(argv[++i], &seed);
        } else if (strcmp(argv[i], "--time-limit") == 0 && i + 1 < argc) {
            ok = parse_number(argv[++i], &time_limit);
        } else if (strcmp(argv[i], "--write-seeds") == 0 && i + 1 < argc) {
            seed_dir = argv[++i];
        } else if (strcmp(argv[i], "--tap") == 0) {
            continue;
        } else if (argv[i][0] == '-') {
            ok = false;
        } else {
            files++;
        }
        if (!ok) {
            fprintf(stderr, "usage: %s [--iterations N] [--seed S] "
                    "[--time-limit SECONDS] [--write-seeds DIR] [FILE...]\n",
                    argv[0]);
            return 2;
        }
    }
    build_seeds();
    if (seed_dir) {
        return write_seeds(seed_dir) ? 0 : 1;
    }
    printf("1..1\n");
    fflush(stdout);
    if (files) {
        for (i = 1; i < argc; i++) {
            if (argv[i][0] == '-') {
                if (strcmp(argv[i], "--tap") != 0) {
                    i++;
                }
                continue;
            }
            if (!run_file(argv[i])) {
                printf("not ok 1 - fuzz-bridge cannot read %s\n", argv[i]);
                return 1;
            }
        }
        printf("ok 1 - fuzz-bridge %d files\n", files);
        return 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    rng_state = seed * 2 + 1;
    for (unsigned s = 0; s < n_seeds; s++) {
        LLVMFuzzerTestOneInput(seeds[s].data, seeds[s].len);
        done++;
    }
    while (done < iterations) {
        const Seed *base = &seeds[rng_below(n_seeds)];
        size_t len = base->len;
        unsigned edits = 1 + (unsigned)rng_below(8), e;

        memcpy(buf, base->data, len);
        for (e = 0; e < edits; e++) {
            len = mutate_once(buf, len);
        }
        LLVMFuzzerTestOneInput(buf, len);
        done++;
        if (done % 256 == 0 && seconds_since(&start) > (double)time_limit) {
            break;
        }
    }
    printf("# seed %llu, %.1f s\n", seed, seconds_since(&start));
    printf("ok 1 - fuzz-bridge %llu iterations\n", done);
    return 0;
}

#endif
