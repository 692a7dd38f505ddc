/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Fuzz target of the packet library and the DHCP server.
 *
 * LLVMFuzzerTestOneInput() takes the input as one Ethernet frame, runs
 * every parser over it, and hands it to two DHCP servers: a long-lived
 * one with the default configuration (state builds up across inputs)
 * and a small one made fresh for each input.  It does so twice: as
 * given, and with the IPv4 header checksum recomputed and the UDP
 * checksum cleared, so that mutations reach the DHCP code instead of
 * dying at a checksum; then the small server gets the frame again from
 * several clients, so that its pool or its table runs full.  Replies go
 * into a buffer with a guard zone behind it; every reply must parse back
 * cleanly.  An input that starts with the lease file header is written
 * to a lease file and loaded instead.
 *
 * The same bytes also go to the internal network's switch (a long-lived
 * one with three ports and a DHCP server of its own, fed from the port
 * the input's length picks; its queues are drained now and then), and
 * to the port protocol's decoders as a message from a daemon or client:
 * what a guest or a local process can send the daemon.
 *
 * Built twice (tests/unit/meson.build): as a libFuzzer target when clang
 * offers -fsanitize=fuzzer, and always as a standalone driver under
 * ASan/UBSan that runs built-in seeds and seeded random mutations of them
 * for a bounded number of iterations, speaking TAP:
 *
 *   fuzz-vpcnet [--iterations N] [--seed S] [--time-limit SECONDS]
 *               [--write-seeds DIR] [FILE...]
 *
 * FILEs are run as inputs (to replay a crash); --write-seeds dumps the
 * seeds as a corpus for libFuzzer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/vpcnet/dhcp-server.h"
#include "net/vpcnet/dhcp-leases.h"
#include "net/vpcnet/packet.h"
#include "net/vpcnet/switch.h"
#include "net/vpcnet/vswitch-proto.h"
#include "fuzz-vpcnet.h"

#define MAX_INPUT       4096
#define GUARD_LEN       64
#define GUARD_BYTE      0xa5
#define LEASE_MAGIC     "vpcnet-dhcp-leases"
#define RESET_EVERY     20000
#define SWITCH_PORTS    3
#define DRAIN_EVERY     64

/**
 * FuzzState - what lives across inputs.
 * @ready: fuzz_setup() ran.
 * @big: the long-lived server, default configuration.
 * @inputs: inputs run so far; @big is remade every RESET_EVERY.
 * @now: the clock; every input moves it a little.
 * @dir: a private temporary directory for lease files.
 * @lease_file: a lease file in @dir.
 * @sink: parsed values are folded in here.
 */
typedef struct FuzzState {
    bool ready;
    VpcDhcpServer *big;
    uint64_t inputs;
    uint64_t now;
    char dir[64];
    char lease_file[96];
    volatile uint32_t sink; /* volatile: keeps the parsing from being elided */
} FuzzState;

static FuzzState fz;

/**
 * SwitchFuzz - the switch that lives across inputs.
 * @sw: the switch; remade every RESET_EVERY inputs.
 * @dhcp: its DHCP server.
 * @port: its ports.
 */
typedef struct SwitchFuzz {
    VswSwitch *sw;
    VpcDhcpServer *dhcp;
    VswPort *port[SWITCH_PORTS];
} SwitchFuzz;

static SwitchFuzz sf;

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz-vpcnet: %s\n", what);
    abort();
}

static void quiet_log(void *opaque, const char *msg)
{
}

/*
 * The per-input server, in two shapes: variant 0 has fewer addresses
 * than slots (the pool runs dry), variant 1 the reverse (the table fills),
 * is not authoritative and forgets declined addresses at once.
 */
static void small_config(VpcDhcpConfig *cfg, unsigned variant)
{
    static const VpcDhcpReservation resv[2] = {
        { { 0x00, 0x03, 0xff, 0x00, 0x00, 0x01 }, 0xa9fe0014 },
        { { 0x00, 0x03, 0xff, 0x00, 0x00, 0x02 }, 0xa9fe1414 },
    };

    vpc_dhcp_config_init(cfg);
    cfg->range_end = cfg->range_start + (variant ? 5 : 2);
    cfg->max_leases = variant ? 3 : 4;
    cfg->authoritative = !variant;
    cfg->router = 0xa9fe0002;
    cfg->dns[0] = 0xa9fe0003;
    cfg->n_dns = 1;
    strcpy(cfg->domain, "fuzz.example");
    cfg->lease_time = 120;
    cfg->offer_hold = 5;
    cfg->decline_hold = variant ? 0 : 30;
    cfg->reservations = resv;
    cfg->n_reservations = 2;
    cfg->log = quiet_log;
}

static void switch_free(void)
{
    vsw_free(sf.sw);
    vpc_dhcp_server_free(sf.dhcp);
    memset(&sf, 0, sizeof(sf));
}

static void switch_new(void)
{
    static const uint8_t server_mac[6] = { 0x02, 0x03, 0xff, 0, 0, 1 };
    VswConfig sw_cfg = { .cb = { .log = quiet_log }, .hash_seed = 42 };
    VpcDhcpConfig cfg;
    unsigned i;

    vpc_dhcp_config_init(&cfg);
    cfg.max_leases = 16;
    cfg.log = quiet_log;
    sf.dhcp = vpc_dhcp_server_new(&cfg);
    sf.sw = vsw_new(&sw_cfg);
    if (!sf.dhcp || !sf.sw) {
        fuzz_fail("cannot create the switch");
    }
    vsw_set_dhcp(sf.sw, sf.dhcp, server_mac);
    for (i = 0; i < SWITCH_PORTS; i++) {
        sf.port[i] = vsw_port_add(sf.sw, NULL, "fuzz",
                                  i == 2 ? VSW_PORT_DUP_WARN : 0);
        if (!sf.port[i]) {
            fuzz_fail("cannot add a port");
        }
    }
}

/*
 * The frame into the switch from one port; every queued frame must be
 * within the protocol's limits.  A port refused for a duplicate MAC is
 * replaced, as the daemon replaces a client that rejoins.
 */
static void run_switch(const uint8_t *frame, size_t len, uint64_t now)
{
    unsigned from = len % SWITCH_PORTS;
    const uint8_t *out;
    size_t out_len;
    unsigned i, q;

    vsw_set_time(sf.sw, now, now);
    if (vsw_input(sf.sw, sf.port[from], frame, len) ==
        VSW_INPUT_DUP_REFUSED) {
        vsw_port_remove(sf.sw, sf.port[from]);
        sf.port[from] = vsw_port_add(sf.sw, NULL, "fuzz", 0);
        if (!sf.port[from]) {
            fuzz_fail("cannot re-add a port");
        }
    }
    if (fz.inputs % DRAIN_EVERY) {
        return;
    }
    for (i = 0; i < SWITCH_PORTS; i++) {
        q = vsw_port_queue_len(sf.port[i]);
        if (q > VSW_PORT_QUEUE) {
            fuzz_fail("a port queue over its bound");
        }
        while (q--) {
            if (!vsw_port_peek(sf.port[i], q, &out, &out_len) ||
                out_len < VSW_FRAME_MIN || out_len > VSW_FRAME_MAX) {
                fuzz_fail("a queued frame out of bounds");
            }
            fz.sink += out[out_len - 1];
        }
        vsw_port_pop(sf.port[i], vsw_port_queue_len(sf.port[i]), true);
    }
}

/*
 * A FRAMES payload, record by record, as the daemon and -netdev internal
 * read it: every frame must lie inside the payload and within the frame
 * limits, the offset must only move forward, and the frames, encoded
 * again (into a buffer and as iovecs), must give back the payload up to
 * where the decoder stopped.
 */
static void run_frames(const uint8_t *payload, size_t len)
{
    static uint8_t again[VSW_PAYLOAD_MAX];
    static uint8_t prefix[VSW_FRAMES_MAX_RECORDS][VSW_FRAMES_PREFIX_LEN];
    static struct iovec iov[1 + 2 * VSW_FRAMES_MAX_RECORDS];
    uint8_t hdr[VSW_HDR_LEN];
    VswFramesIov m;
    const uint8_t *frame;
    size_t off = 0, prev = 0, flen, again_len = 0, iov_len = 0;
    unsigned n = 0;
    int ret;

    vsw_frames_iov_init(&m, hdr, iov, 1 + 2 * VSW_FRAMES_MAX_RECORDS, prefix,
                        VSW_FRAMES_MAX_RECORDS);
    while ((ret = vsw_frames_next(payload, len, &off, &frame, &flen)) > 0) {
        if (frame < payload || frame + flen > payload + len ||
            frame != payload + prev + VSW_FRAMES_PREFIX_LEN ||
            off != prev + VSW_FRAMES_PREFIX_LEN + flen) {
            fuzz_fail("a FRAMES record outside the payload");
        }
        if (flen < VSW_FRAME_MIN || flen > VSW_FRAME_MAX) {
            fuzz_fail("a FRAMES record of a bad length");
        }
        if (!vsw_frames_append(again, sizeof(again), &again_len, frame,
                               flen) ||
            vsw_frames_iov_add(&m, frame, flen) != 1) {
            fuzz_fail("a decoded frame does not encode again");
        }
        fz.sink += frame[flen - 1];
        prev = off;
        n++;
    }
    if (off != prev || (ret == 0 && off != len) ||
        (ret == VSW_FRAMES_EMPTY && len != 0)) {
        fuzz_fail("FRAMES decoder stopped in the wrong place");
    }
    if (again_len != off || memcmp(again, payload, off) != 0 ||
        m.payload_len != off) {
        fuzz_fail("FRAMES encoded again differ");
    }
    for (size_t i = 1; i < m.iovcnt; i++) {
        if (iov_len + m.iov[i].iov_len > off ||
            memcmp(payload + iov_len, m.iov[i].iov_base,
                   m.iov[i].iov_len) != 0) {
            fuzz_fail("FRAMES iovecs differ from the payload");
        }
        iov_len += m.iov[i].iov_len;
    }
    if (iov_len != off) {
        fuzz_fail("FRAMES iovecs differ from the payload");
    }
    fz.sink += n + strlen(vsw_frames_strerror(ret));
}

/* The bytes as a port protocol message, decoded as either side would. */
static void run_proto(const uint8_t *msg, size_t size)
{
    VswHello hello;
    VswReply reply;
    uint8_t type;
    size_t len;

    if (!vsw_header_get(msg, size, &type, &len)) {
        if (size >= VSW_HDR_LEN) {
            /* Its payload anyway, as if the length were right. */
            msg += VSW_HDR_LEN;
            len = size - VSW_HDR_LEN;
        } else {
            return;
        }
    } else {
        msg += VSW_HDR_LEN;
    }
    if (vsw_hello_decode(msg, len, &hello)) {
        fz.sink += strlen(hello.label) + hello.version;
        if (strlen(hello.label) > VSW_HELLO_LABEL_LEN) {
            fuzz_fail("a HELLO label over its bound");
        }
    }
    if (vsw_welcome_decode(msg, len, &reply)) {
        if (reply.text + reply.text_len != (const char *)msg + len) {
            fuzz_fail("WELCOME text outside the message");
        }
        fz.sink += reply.port_id;
    }
    if (vsw_refused_decode(msg, len, &reply)) {
        fz.sink += reply.status + reply.text_len;
    }
    run_frames(msg, len);
}

static void fuzz_cleanup(void)
{
    switch_free();
    vpc_dhcp_server_free(fz.big);
    fz.big = NULL;
    if (fz.dir[0]) {
        unlink(fz.lease_file);
        /* Fails, and so tells on us, if a temporary file was left. */
        rmdir(fz.dir);
    }
}

static void fuzz_setup(void)
{
    VpcDhcpConfig cfg;
    const char *tmpdir = getenv("TMPDIR");

    vpc_dhcp_config_init(&cfg);
    cfg.max_leases = 64;
    cfg.log = quiet_log;
    fz.big = vpc_dhcp_server_new(&cfg);
    if (!fz.big) {
        fuzz_fail("cannot create the server");
    }
    fz.now = 1700000000;
    /*
     * Lease files are saved (with fsync) for every lease input: in memory
     * when there is /dev/shm, where an fsync costs nothing.
     */
    if (!tmpdir && access("/dev/shm", W_OK) == 0) {
        tmpdir = "/dev/shm";
    }
    snprintf(fz.dir, sizeof(fz.dir), "%s/vpcnet-fuzz-XXXXXX",
             tmpdir && strlen(tmpdir) < 32 ? tmpdir : "/tmp");
    if (!mkdtemp(fz.dir)) {
        fuzz_fail("cannot make a temporary directory");
    }
    snprintf(fz.lease_file, sizeof(fz.lease_file), "%s/leases", fz.dir);
    switch_new();
    atexit(fuzz_cleanup);
    fz.ready = true;
}

/* Every parser over the bytes, whatever they are. */
static void run_parsers(const uint8_t *p, size_t n)
{
    VpcEthView eth;
    VpcArpView arp;
    VpcIpv4View ip;
    VpcUdpView udp;
    VpcDhcpView dhcp;
    VpcDhcpOptIter it;
    VpcDhcpOpt opt;
    uint32_t acc = 0, addr;

    acc += vpc_csum_partial(0, p, n);
    if (vpc_eth_parse(p, n, &eth) == 0) {
        acc += eth.ethertype;
        if (vpc_arp_parse(eth.payload, eth.payload_len, &arp) == 0) {
            acc += arp.spa ^ arp.tpa;
        }
        if (vpc_ipv4_parse(eth.payload, eth.payload_len, &ip) == 0) {
            acc += ip.src ^ ip.dst;
            if (vpc_udp_parse(&ip, &udp) == 0
                && vpc_dhcp_parse(udp.payload, udp.payload_len, &dhcp) == 0) {
                acc += dhcp.msg_type;
            }
        }
    }
    /* The bytes as a bare DHCP message and as bare option bytes. */
    if (vpc_dhcp_parse(p, n, &dhcp) == 0) {
        if (vpc_dhcp_opt_get_ipv4(&dhcp, VPC_DHCP_OPT_REQUESTED_IP, &addr)) {
            acc += addr;
        }
        if (vpc_dhcp_opt_find(&dhcp, VPC_DHCP_OPT_CLIENT_ID, &opt)) {
            acc += opt.len ? opt.data[opt.len - 1] : 0;
        }
    }
    vpc_dhcp_opt_iter_init(&it, p, n);
    while (vpc_dhcp_opt_iter_next(&it, &opt) == 1) {
        acc += opt.len ? opt.data[0] + opt.data[opt.len - 1] : opt.code;
    }
    if (it.pos > n) {
        fuzz_fail("option walk went past the end");
    }
    fz.sink += acc;
}

/* Give @frame to @s and check what comes back. */
static void run_server(VpcDhcpServer *s, const uint8_t *frame, size_t len,
                       uint64_t now)
{
    uint8_t reply[VPC_DHCP_REPLY_MAX + GUARD_LEN];
    VpcDhcpReply out;
    VpcDhcpResult result;
    VpcEthView eth;
    VpcIpv4View ip;
    VpcUdpView udp;
    VpcDhcpView dhcp;

    memset(reply + VPC_DHCP_REPLY_MAX, GUARD_BYTE, GUARD_LEN);
    result = vpc_dhcp_server_input(s, 1, frame, len, now, reply,
                                   VPC_DHCP_REPLY_MAX, &out);
    for (size_t i = 0; i < GUARD_LEN; i++) {
        if (reply[VPC_DHCP_REPLY_MAX + i] != GUARD_BYTE) {
            fuzz_fail("reply written past its buffer");
        }
    }
    if (result != VPC_DHCP_REPLY) {
        return;
    }
    if (out.len > VPC_DHCP_REPLY_MAX || out.len < VPC_UDP4_FRAME_HLEN) {
        fuzz_fail("reply length out of bounds");
    }
    if (vpc_udp4_frame_parse(reply, out.len, &eth, &ip, &udp) != 0
        || vpc_dhcp_parse(udp.payload, udp.payload_len, &dhcp) != 0) {
        fuzz_fail("reply does not parse");
    }
    if (dhcp.hdr.op != VPC_BOOTREPLY || dhcp.msg_type != out.msg_type
        || memcmp(eth.dst, out.dst_mac, VPC_ETH_ALEN) != 0
        || udp.payload_len > VPC_DHCP_MSG_MAX) {
        fuzz_fail("reply inconsistent");
    }
}

/*
 * Make IPv4 and UDP checksums right, so the DHCP code gets the frame.
 * Returns where a DHCP message would start, or 0 when not IPv4/UDP.
 */
static size_t fix_checksums(uint8_t *p, size_t n)
{
    size_t off = VPC_ETH_HLEN, hlen;
    uint8_t *ip;

    if (n < VPC_ETH_VLAN_HLEN + VPC_IPV4_HLEN) {
        return 0;
    }
    if (vpc_get_be16(p + 12) == VPC_ETHERTYPE_VLAN) {
        off = VPC_ETH_VLAN_HLEN;
    }
    ip = p + off;
    hlen = (size_t)(ip[0] & 0xf) * 4;
    if (hlen < VPC_IPV4_HLEN || off + hlen > n) {
        return 0;
    }
    vpc_put_be16(ip + 10, 0);
    vpc_put_be16(ip + 10, vpc_ip_checksum(ip, hlen));
    if (ip[9] != VPC_IP_PROTO_UDP || off + hlen + VPC_UDP_HLEN > n) {
        return 0;
    }
    vpc_put_be16(ip + hlen + 6, 0);
    return off + hlen + VPC_UDP_HLEN;
}

static void count_lease(void *opaque, const VpcDhcpLeaseInfo *info)
{
    unsigned *n = opaque;

    *n += info->hostname[0] != '\0';
}

/*
 * The input as a lease file, loaded by a fresh server and listed, then
 * saved and loaded again.
 */
static void run_lease_file(const uint8_t *data, size_t size)
{
    VpcDhcpConfig cfg;
    unsigned n = 0, again = 0;
    VpcDhcpServer *s;
    VpcDhcpLeaseFile *lf;
    FILE *f = fopen(fz.lease_file, "wb");

    if (!f) {
        fuzz_fail("cannot write the lease file");
    }
    if (size && fwrite(data, 1, size, f) != size) {
        fuzz_fail("cannot write the lease file");
    }
    fclose(f);
    small_config(&cfg, size & 1);
    s = vpc_dhcp_server_new(&cfg);
    lf = vpc_dhcp_lease_file_new(fz.lease_file, NULL, NULL);
    if (!s || !lf) {
        fuzz_fail("cannot create the server");
    }
    vpc_dhcp_lease_file_load(lf, s);
    vpc_dhcp_server_foreach_lease(s, fz.now, count_lease, &n);
    if (vpc_dhcp_lease_file_save(lf, s, fz.now) < 0) {
        fuzz_fail("cannot save the lease file");
    }
    vpc_dhcp_server_free(s);
    s = vpc_dhcp_server_new(&cfg);
    vpc_dhcp_lease_file_load(lf, s);
    vpc_dhcp_server_foreach_lease(s, fz.now, count_lease, &again);
    /* What we wrote, we read back whole. */
    if (again != n) {
        fuzz_fail("the lease file lost entries in a save and load");
    }
    vpc_dhcp_server_free(s);
    vpc_dhcp_lease_file_free(lf);
    fz.sink += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    VpcDhcpConfig cfg;
    VpcDhcpServer *small;
    uint8_t *copy;
    size_t dhcp_off = 0;
    unsigned n = 0;

    if (!fz.ready) {
        fuzz_setup();
    }
    if (size > MAX_INPUT) {
        return 0;
    }
    if (size >= strlen(LEASE_MAGIC)
        && memcmp(data, LEASE_MAGIC, strlen(LEASE_MAGIC)) == 0) {
        run_lease_file(data, size);
        return 0;
    }
    if (++fz.inputs % RESET_EVERY == 0) {
        vpc_dhcp_server_free(fz.big);
        vpc_dhcp_config_init(&cfg);
        cfg.max_leases = 64;
        cfg.log = quiet_log;
        fz.big = vpc_dhcp_server_new(&cfg);
        switch_free();
        switch_new();
    }
    /* Time moves by 0..63 s per input, so offers and leases run out. */
    fz.now += size & 63;

    /* An exact-size copy: any read past the end is a sanitizer report. */
    copy = malloc(size ? size : 1);
    if (!copy) {
        return 0;
    }
    if (size) {
        memcpy(copy, data, size);
    }
    small_config(&cfg, fz.inputs & 1);
    small = vpc_dhcp_server_new(&cfg);
    if (!small) {
        fuzz_fail("cannot create the server");
    }
    run_proto(copy, size);
    for (int pass = 0; pass < 2; pass++) {
        run_parsers(copy, size);
        run_switch(copy, size, fz.now);
        run_server(fz.big, copy, size, fz.now);
        run_server(small, copy, size, fz.now);
        /* The same frame later: offers expire, leases are renewed. */
        run_server(small, copy, size, fz.now + 7);
        dhcp_off = fix_checksums(copy, size);
    }
    /*
     * The same request from more clients (the last chaddr octet varied;
     * the UDP checksum is off now) than the small server has addresses
     * and slots: the pool and the table run full.
     */
    if (dhcp_off && dhcp_off + 34 <= size) {
        for (uint8_t k = 1; k <= 6; k++) {
            copy[dhcp_off + 33] ^= k;
            run_server(small, copy, size, fz.now + 10 + k);
            copy[dhcp_off + 33] ^= k;
        }
    }
    vpc_dhcp_server_foreach_lease(small, fz.now + 200, count_lease, &n);
    fz.sink += n;
    vpc_dhcp_server_free(small);
    free(copy);
    return 0;
}

#ifndef VPC_FUZZ_LIBFUZZER

/* Seeds: well-formed frames of every kind the server handles. */

#define MAX_SEEDS 32

/**
 * Seed - one built-in input.
 * @len: bytes used in @data.
 * @data: the input.
 */
typedef struct Seed {
    size_t len;
    uint8_t data[MAX_INPUT];
} Seed;

/**
 * SeedMsg - a DHCP request to make into a seed; zero fields are absent.
 * @type: message type.
 * @client: last octet of the client MAC.
 * @flags: BOOTP flags.
 * @ciaddr: ciaddr.
 * @giaddr: giaddr.
 * @requested: option 50.
 * @server_id: option 54.
 * @unicast: to the server's MAC and address.
 * @vlan: with an 802.1Q tag.
 * @ip_options: with IPv4 options.
 * @extra: add hostname, client id, parameter list and overload options.
 */
typedef struct SeedMsg {
    uint8_t type;
    uint8_t client;
    uint16_t flags;
    uint32_t ciaddr;
    uint32_t giaddr;
    uint32_t requested;
    uint32_t server_id;
    bool unicast;
    bool vlan;
    bool ip_options;
    bool extra;
} SeedMsg;

static Seed seeds[MAX_SEEDS];
static unsigned n_seeds;

static Seed *new_seed(void)
{
    if (n_seeds == MAX_SEEDS) {
        fuzz_fail("too many seeds");
    }
    return &seeds[n_seeds++];
}

static void add_dhcp_seed(const SeedMsg *m)
{
    static const uint8_t server_mac[6] = { 0x02, 0x03, 0xff, 0, 0, 1 };
    static const uint8_t params[] = { 1, 3, 6, 15, 51, 54 };
    Seed *seed = new_seed();
    uint8_t msg[1024];
    VpcDhcpHeader h = { 0 };
    VpcDhcpWriter w;
    VpcUdp4Frame f = { 0 };
    int len;

    h.op = VPC_BOOTREQUEST;
    h.htype = VPC_DHCP_HTYPE_ETHER;
    h.hlen = 6;
    h.xid = 0xf0220000u + m->client;
    h.flags = m->flags;
    h.ciaddr = m->ciaddr;
    h.giaddr = m->giaddr;
    h.chaddr[1] = 0x03;
    h.chaddr[2] = 0xff;
    h.chaddr[5] = m->client;
    vpc_dhcp_writer_init(&w, msg, sizeof(msg), &h);
    vpc_dhcp_put_u8(&w, VPC_DHCP_OPT_MSG_TYPE, m->type);
    if (m->requested) {
        vpc_dhcp_put_u32(&w, VPC_DHCP_OPT_REQUESTED_IP, m->requested);
    }
    if (m->server_id) {
        vpc_dhcp_put_u32(&w, VPC_DHCP_OPT_SERVER_ID, m->server_id);
    }
    if (m->extra) {
        vpc_dhcp_put_option(&w, VPC_DHCP_OPT_HOSTNAME, "fuzz-host", 9);
        vpc_dhcp_put_option(&w, VPC_DHCP_OPT_CLIENT_ID, h.chaddr, 7);
        vpc_dhcp_put_option(&w, VPC_DHCP_OPT_PARAM_LIST, params,
                            sizeof(params));
        vpc_dhcp_put_u8(&w, VPC_DHCP_OPT_OVERLOAD, 3);
        vpc_dhcp_put_option(&w, 0x2a, NULL, 0);
    }
    len = vpc_dhcp_writer_finish(&w, VPC_BOOTP_MIN_LEN);
    if (len < 0) {
        fuzz_fail("seed does not fit");
    }

    memcpy(f.eth_src, h.chaddr, 6);
    memset(f.eth_dst, 0xff, 6);
    f.ip_dst = VPC_IPV4_BROADCAST;
    f.src_port = VPC_DHCP_CLIENT_PORT;
    if (m->unicast || m->giaddr) {
        memcpy(f.eth_dst, server_mac, 6);
        f.ip_dst = 0xa9fe0001;
        f.ip_src = m->giaddr ? m->giaddr : m->ciaddr;
        f.src_port = m->giaddr ? VPC_DHCP_SERVER_PORT : VPC_DHCP_CLIENT_PORT;
    }
    f.dst_port = VPC_DHCP_SERVER_PORT;
    f.ttl = 64;
    len = vpc_udp4_frame_build(seed->data, sizeof(seed->data), &f, msg, len);
    if (len < 0) {
        fuzz_fail("seed does not fit");
    }
    seed->len = len;
    if (m->ip_options) {
        /* Four NOPs after the fixed IPv4 header. */
        memmove(seed->data + 38, seed->data + 34, seed->len - 34);
        memset(seed->data + 34, 1, 4);
        seed->data[14] = 0x46;
        vpc_put_be16(seed->data + 16, vpc_get_be16(seed->data + 16) + 4);
        seed->len += 4;
        fix_checksums(seed->data, seed->len);
    }
    if (m->vlan) {
        memmove(seed->data + 16, seed->data + 12, seed->len - 12);
        vpc_put_be16(seed->data + 12, VPC_ETHERTYPE_VLAN);
        vpc_put_be16(seed->data + 14, 5);
        seed->len += 4;
    }
}

static void build_seeds(void)
{
    static const uint8_t arp[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x03, 0xff, 0, 0, 9,
        0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
        0x00, 0x03, 0xff, 0, 0, 9, 169, 254, 0, 20,
        0, 0, 0, 0, 0, 0, 169, 254, 0, 1,
    };
    static const char lease_text[] =
        LEASE_MAGIC " 1\n"
        "00:03:ff:00:00:03 169.254.0.16 bound 1700003600 host-a\n"
        "00:03:ff:00:00:04 169.254.0.17 released 1699990000 -\n"
        "- 169.254.0.18 declined 1700000300 -\n"
        "00:03:ff:00:00:01 169.254.0.20 bound 1700003600 -\n";
    const uint32_t server = 0xa9fe0001, first = 0xa9fe0010;
    size_t len;
    Seed *seed;

    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPDISCOVER, .client = 3,
                               .flags = VPC_DHCP_FLAG_BROADCAST,
                               .extra = true });
    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPDISCOVER, .client = 1 });
    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPREQUEST, .client = 3,
                               .requested = first, .server_id = server });
    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPREQUEST, .client = 4,
                               .requested = first + 1 });
    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPREQUEST, .client = 3,
                               .ciaddr = first, .unicast = true });
    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPREQUEST, .client = 3,
                               .ciaddr = first,
                               .flags = VPC_DHCP_FLAG_BROADCAST });
    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPREQUEST, .client = 5,
                               .requested = first + 2,
                               .server_id = 0xa9fe0063 });
    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPDECLINE, .client = 3,
                               .requested = first, .server_id = server });
    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPRELEASE, .client = 3,
                               .ciaddr = first, .server_id = server,
                               .unicast = true });
    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPINFORM, .client = 6,
                               .ciaddr = 0xa9fe1405, .unicast = true });
    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPDISCOVER, .client = 7,
                               .giaddr = 0xa9fe0002, .extra = true });
    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPDISCOVER, .client = 8,
                               .vlan = true });
    add_dhcp_seed(&(SeedMsg) { .type = VPC_DHCPREQUEST, .client = 2,
                               .requested = 0xa9fe1414,
                               .ip_options = true, .extra = true });
    seed = new_seed();
    memcpy(seed->data, arp, sizeof(arp));
    seed->len = sizeof(arp);
    seed = new_seed();
    memcpy(seed->data, lease_text, strlen(lease_text));
    seed->len = strlen(lease_text);
    /* A FRAMES message: the ARP request, a runt-sized frame, the ARP. */
    seed = new_seed();
    len = 0;
    if (!vsw_frames_append(seed->data + VSW_HDR_LEN, MAX_INPUT - VSW_HDR_LEN,
                           &len, arp, sizeof(arp)) ||
        !vsw_frames_append(seed->data + VSW_HDR_LEN, MAX_INPUT - VSW_HDR_LEN,
                           &len, arp, VSW_FRAME_MIN) ||
        !vsw_frames_append(seed->data + VSW_HDR_LEN, MAX_INPUT - VSW_HDR_LEN,
                           &len, arp, sizeof(arp))) {
        fuzz_fail("seed does not fit");
    }
    vsw_header_put(seed->data, VSW_MSG_FRAMES, len);
    seed->len = VSW_HDR_LEN + len;
}

/* xorshift64*: small, seedable, the same everywhere. */
static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rng_below(size_t n)
{
    return n ? (size_t)(rng() % n) : 0;
}

/* One random edit of @buf (length @len, capacity MAX_INPUT). */
static size_t mutate_once(uint8_t *buf, size_t len)
{
    static const uint8_t interesting[] = {
        0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x07, 0x08, 0x35, 0x36, 0x32,
        0x3d, 0x40, 0x45, 0x4f, 0x7f, 0x80, 0xfe, 0xff,
    };
    size_t at = rng_below(len), n;

    switch (rng_below(10)) {
    case 0:                             /* flip a bit */
        if (len) {
            buf[at] ^= 1u << rng_below(8);
        }
        break;
    case 1:                             /* a random byte */
        if (len) {
            buf[at] = rng();
        }
        break;
    case 2:                             /* an interesting byte */
        if (len) {
            buf[at] = interesting[rng_below(sizeof(interesting))];
        }
        break;
    case 3:                             /* an interesting 16-bit value */
        if (len >= 2) {
            static const uint16_t v16[] = { 0, 1, 7, 8, 19, 20, 236, 240,
                                            300, 548, 576, 0x7fff, 0x8000,
                                            0xffff };
            at = rng_below(len - 1);
            vpc_put_be16(buf + at, v16[rng_below(sizeof(v16) / 2)]);
        }
        break;
    case 4:                             /* truncate */
        return rng_below(len + 1);
    case 5:                             /* delete a run */
        n = rng_below(len - at + 1);
        memmove(buf + at, buf + at + n, len - at - n);
        return len - n;
    case 6:                             /* insert random bytes */
        n = rng_below(32);
        if (len + n > MAX_INPUT) {
            break;
        }
        memmove(buf + at + n, buf + at, len - at);
        for (size_t i = 0; i < n; i++) {
            buf[at + i] = rng();
        }
        return len + n;
    case 7:                             /* splice in part of another seed */
        {
            const Seed *other = &seeds[rng_below(n_seeds)];
            size_t from = rng_below(other->len);

            n = rng_below(other->len - from + 1);
            if (at + n > MAX_INPUT) {
                n = MAX_INPUT - at;
            }
            memcpy(buf + at, other->data + from, n);
            return at + n > len ? at + n : len;
        }
    case 8:                             /* a DHCP option length */
        if (len > 42 + 241) {
            at = 42 + 240 + rng_below(len - 42 - 241);
            buf[at] = rng_below(4) ? rng_below(16) : rng();
        }
        break;
    default:                            /* copy a run within the input */
        if (len) {
            size_t from = rng_below(len);

            n = rng_below(len - (at > from ? at : from) + 1);
            memmove(buf + at, buf + from, n);
        }
        break;
    }
    return len;
}

/* A whole non-negative number, or false. */
static bool parse_number(const char *text, unsigned long long *value)
{
    char tail;

    return text[0] >= '0' && text[0] <= '9'
           && sscanf(text, "%llu%c", value, &tail) == 1;
}

static bool run_file(const char *path)
{
    static uint8_t buf[MAX_INPUT];
    FILE *f = fopen(path, "rb");
    size_t len;

    if (!f) {
        fprintf(stderr, "fuzz-vpcnet: %s: %s\n", path, strerror(errno));
        return false;
    }
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    return true;
}

static bool write_seeds(const char *dir)
{
    for (unsigned i = 0; i < n_seeds; i++) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/seed-%02u", dir, i);
        f = fopen(path, "wb");
        if (!f || fwrite(seeds[i].data, 1, seeds[i].len, f) != seeds[i].len) {
            fprintf(stderr, "fuzz-vpcnet: %s: %s\n", path, strerror(errno));
            if (f) {
                fclose(f);
            }
            return false;
        }
        fclose(f);
    }
    return true;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    static uint8_t buf[MAX_INPUT];
    unsigned long long iterations = 200000, done = 0, seed = 0x5eed;
    unsigned long long time_limit = 25;
    const char *seed_dir = NULL;
    struct timespec start;
    int files = 0;

    for (int i = 1; i < argc; i++) {
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
            continue;                   /* TAP is all we speak */
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
        for (int i = 1; i < argc; i++) {
            if (argv[i][0] == '-') {
                if (strcmp(argv[i], "--tap") != 0) {
                    i++;
                }
                continue;
            }
            if (!run_file(argv[i])) {
                printf("not ok 1 - fuzz-vpcnet cannot read %s\n", argv[i]);
                return 1;
            }
        }
        printf("ok 1 - fuzz-vpcnet %d files\n", files);
        return 0;
    }

    clock_gettime(CLOCK_MONOTONIC, &start);
    rng_state = seed * 2 + 1;
    for (unsigned i = 0; i < n_seeds; i++) {
        LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len);
        done++;
    }
    while (done < iterations) {
        const Seed *base = &seeds[rng_below(n_seeds)];
        size_t len = base->len;
        unsigned edits = 1 + rng_below(8);

        memcpy(buf, base->data, len);
        for (unsigned e = 0; e < edits; e++) {
            len = mutate_once(buf, len);
        }
        LLVMFuzzerTestOneInput(buf, len);
        done++;
        /* Look at the clock only now and then: it costs a syscall. */
        if (done % 1024 == 0 && seconds_since(&start) > (double)time_limit) {
            break;
        }
    }
    printf("# seed %llu, %.1f s\n", seed, seconds_since(&start));
    printf("ok 1 - fuzz-vpcnet %llu iterations\n", done);
    return 0;
}

#endif
