/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the switching core.  Each test plugs a few ports into a
 * switch, sends frames from them with an explicit clock, and looks at
 * what waits in every port's output queue.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "net/vpcnet/switch.h"
#include "net/vpcnet/packet.h"
#include "dhcp-request.h"

#define T0          1000u               /* monotonic seconds */
#define WALL0       1700000000u         /* Unix seconds */
#define ETH_TEST    0x88b5              /* IEEE local experimental */
#define IP(a, b, c, d) \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };

/* Host n's MAC: 00:03:ff:xx:xx:xx. */
static const uint8_t *mac(unsigned n)
{
    static uint8_t macs[8][6];
    static unsigned next;
    uint8_t *m = macs[next++ % 8];

    m[0] = 0x00;
    m[1] = 0x03;
    m[2] = 0xff;
    m[3] = n >> 16;
    m[4] = n >> 8;
    m[5] = n;
    return m;
}

/**
 * Fixture - a switch and its ports.
 * @sw: the switch.
 * @port: the ports; port i's handle is &@handle[i].
 * @handle: the handles (their values are the port numbers).
 * @ready: per port, how often queue_ready was called.
 * @log: what the switch logged, one line each.
 * @mono: the monotonic clock.
 */
typedef struct Fixture {
    VswSwitch *sw;
    VswPort *port[VSW_MAX_PORTS + 1];
    unsigned handle[VSW_MAX_PORTS + 1];
    unsigned ready[VSW_MAX_PORTS + 1];
    GString *log;
    uint64_t mono;
} Fixture;

static void on_queue_ready(void *opaque, void *handle)
{
    Fixture *fx = opaque;

    fx->ready[*(unsigned *)handle]++;
}

static void on_log(void *opaque, const char *msg)
{
    Fixture *fx = opaque;

    g_string_append_printf(fx->log, "%s\n", msg);
}

static void fx_init(Fixture *fx)
{
    VswConfig cfg = {
        .cb = { .queue_ready = on_queue_ready, .log = on_log },
        .opaque = fx,
        .hash_seed = 0x0123456789abcdefull,
    };

    memset(fx, 0, sizeof(*fx));
    fx->sw = vsw_new(&cfg);
    g_assert_nonnull(fx->sw);
    fx->log = g_string_new("");
    fx->mono = T0;
    vsw_set_time(fx->sw, fx->mono, WALL0);
}

static void fx_finish(Fixture *fx)
{
    vsw_free(fx->sw);
    g_string_free(fx->log, TRUE);
}

static void fx_advance(Fixture *fx, unsigned seconds)
{
    fx->mono += seconds;
    vsw_set_time(fx->sw, fx->mono, WALL0 + (fx->mono - T0));
}

static VswPort *fx_add(Fixture *fx, unsigned i, unsigned flags)
{
    char label[16];

    snprintf(label, sizeof(label), "vm%u/net0", i);
    fx->handle[i] = i;
    fx->port[i] = vsw_port_add(fx->sw, &fx->handle[i], label, flags);
    g_assert_nonnull(fx->port[i]);
    g_assert(vsw_port_handle(fx->port[i]) == &fx->handle[i]);
    return fx->port[i];
}

/* Send a 60-byte test frame from port @from; @tag is its first data byte. */
static VswInputResult send_frame(Fixture *fx, unsigned from,
                                 const uint8_t *dst, const uint8_t *src,
                                 uint8_t tag)
{
    uint8_t frame[60] = { 0 };

    memcpy(frame, dst, 6);
    memcpy(frame + 6, src, 6);
    frame[12] = ETH_TEST >> 8;
    frame[13] = ETH_TEST & 0xff;
    frame[14] = tag;
    return vsw_input(fx->sw, fx->port[from], frame, sizeof(frame));
}

/*
 * Check that port @i holds exactly the frames tagged @tags (@n of
 * them), in order, then empty its queue.
 */
static void expect_queue(Fixture *fx, unsigned i, const uint8_t *tags,
                         unsigned n)
{
    const uint8_t *frame;
    size_t len;
    unsigned k;

    g_assert_cmpuint(vsw_port_queue_len(fx->port[i]), ==, n);
    for (k = 0; k < n; k++) {
        g_assert_true(vsw_port_peek(fx->port[i], k, &frame, &len));
        g_assert_cmpuint(len, ==, 60);
        g_assert_cmpuint(frame[14], ==, tags[k]);
    }
    g_assert_false(vsw_port_peek(fx->port[i], n, &frame, &len));
    vsw_port_pop(fx->port[i], n, true);
    g_assert_cmpuint(vsw_port_queue_len(fx->port[i]), ==, 0);
}

static void expect_one(Fixture *fx, unsigned i, uint8_t tag)
{
    expect_queue(fx, i, &tag, 1);
}

static void expect_none(Fixture *fx, unsigned i)
{
    expect_queue(fx, i, NULL, 0);
}

/* Broadcast and multicast reach every other port, never the sender. */
static void test_flood(void)
{
    Fixture fx;
    unsigned i;

    fx_init(&fx);
    for (i = 0; i < 3; i++) {
        fx_add(&fx, i, 0);
    }
    g_assert_cmpint(send_frame(&fx, 0, bcast, mac(0), 1), ==, VSW_INPUT_OK);
    expect_none(&fx, 0);
    expect_one(&fx, 1, 1);
    expect_one(&fx, 2, 1);

    g_assert_cmpint(send_frame(&fx, 2, mcast, mac(2), 2), ==, VSW_INPUT_OK);
    expect_one(&fx, 0, 2);
    expect_one(&fx, 1, 2);
    expect_none(&fx, 2);
    g_assert_cmpuint(vsw_stats(fx.sw)->flooded, ==, 2);
    g_assert_cmpuint(vsw_stats(fx.sw)->copies, ==, 4);
    g_assert_cmpuint(vsw_port_stats(fx.port[1])->tx_frames, ==, 2);
    g_assert_cmpuint(vsw_port_stats(fx.port[0])->rx_frames, ==, 1);
    g_assert_cmpuint(vsw_port_stats(fx.port[0])->rx_bytes, ==, 60);
    /* queue_ready fires when a queue goes from empty to non-empty. */
    g_assert_cmpuint(fx.ready[0], ==, 1);
    g_assert_cmpuint(fx.ready[1], ==, 2);
    fx_finish(&fx);
}

/* Unknown unicast floods; learned unicast reaches only its port. */
static void test_learn_unicast(void)
{
    Fixture fx;
    uint8_t addr[6];
    unsigned i;

    fx_init(&fx);
    for (i = 0; i < 3; i++) {
        fx_add(&fx, i, 0);
    }
    /* Nobody knows host 1 yet: flooded. */
    send_frame(&fx, 0, mac(1), mac(0), 1);
    expect_none(&fx, 0);
    expect_one(&fx, 1, 1);
    expect_one(&fx, 2, 1);
    g_assert_cmpuint(vsw_stats(fx.sw)->unknown_unicast, ==, 1);

    /* Host 1 answers host 0, who was learned: only port 0 gets it. */
    send_frame(&fx, 1, mac(0), mac(1), 2);
    expect_one(&fx, 0, 2);
    expect_none(&fx, 1);
    expect_none(&fx, 2);

    /* And now host 1 is known too. */
    send_frame(&fx, 2, mac(1), mac(2), 3);
    expect_none(&fx, 0);
    expect_one(&fx, 1, 3);
    expect_none(&fx, 2);

    g_assert_cmpuint(vsw_stats(fx.sw)->unicast, ==, 2);
    g_assert_cmpuint(vsw_stats(fx.sw)->learned, ==, 3);
    g_assert(vsw_lookup(fx.sw, mac(2)) == fx.port[2]);
    g_assert_true(vsw_port_mac(fx.port[1], addr));
    g_assert_cmpmem(addr, 6, mac(1), 6);
    g_assert_cmpuint(vsw_port_stats(fx.port[1])->macs, ==, 1);
    fx_finish(&fx);
}

/* A frame for a MAC on the ingress port goes nowhere. */
static void test_no_hairpin(void)
{
    Fixture fx;

    fx_init(&fx);
    fx_add(&fx, 0, 0);
    fx_add(&fx, 1, 0);
    /* Port 0 bridges two hosts, 0 and 10. */
    send_frame(&fx, 0, bcast, mac(0), 1);
    send_frame(&fx, 0, bcast, mac(10), 2);
    expect_queue(&fx, 1, (const uint8_t[]){ 1, 2 }, 2);

    send_frame(&fx, 0, mac(0), mac(10), 3);
    expect_none(&fx, 0);
    expect_none(&fx, 1);
    g_assert_cmpuint(vsw_stats(fx.sw)->hairpin, ==, 1);
    g_assert_cmpuint(vsw_port_stats(fx.port[0])->hairpin, ==, 1);
    g_assert_cmpuint(vsw_port_stats(fx.port[0])->macs, ==, 2);
    fx_finish(&fx);
}

/* Entries age out after VSW_MAC_AGE seconds of silence; traffic refreshes. */
static void test_aging(void)
{
    Fixture fx;

    fx_init(&fx);
    fx_add(&fx, 0, 0);
    fx_add(&fx, 1, 0);
    fx_add(&fx, 2, 0);
    send_frame(&fx, 0, bcast, mac(0), 1);
    send_frame(&fx, 1, bcast, mac(1), 1);
    expect_queue(&fx, 2, (const uint8_t[]){ 1, 1 }, 2);
    expect_one(&fx, 0, 1);
    expect_one(&fx, 1, 1);

    fx_advance(&fx, VSW_MAC_AGE - 100);
    send_frame(&fx, 1, bcast, mac(1), 2);  /* host 1 refreshes */
    expect_one(&fx, 0, 2);
    expect_one(&fx, 2, 2);

    fx_advance(&fx, 99);                  /* host 0: VSW_MAC_AGE - 1 s */
    send_frame(&fx, 2, mac(0), mac(2), 3);
    expect_one(&fx, 0, 3);
    expect_none(&fx, 1);

    fx_advance(&fx, 1);                   /* host 0 is gone: flood */
    g_assert_null(vsw_lookup(fx.sw, mac(0)));
    send_frame(&fx, 2, mac(0), mac(2), 4);
    expect_one(&fx, 0, 4);
    expect_one(&fx, 1, 4);
    g_assert_cmpuint(vsw_stats(fx.sw)->aged, ==, 1);
    g_assert_cmpuint(vsw_port_stats(fx.port[0])->macs, ==, 0);

    /* Host 1 was refreshed 100 s later and is still known. */
    send_frame(&fx, 2, mac(1), mac(2), 5);
    expect_none(&fx, 0);
    expect_one(&fx, 1, 5);
    fx_finish(&fx);
}

/* A MAC heard on another port moves there. */
static void test_move(void)
{
    Fixture fx;

    fx_init(&fx);
    fx_add(&fx, 0, 0);
    fx_add(&fx, 1, 0);
    fx_add(&fx, 2, 0);
    send_frame(&fx, 1, bcast, mac(1), 1);
    send_frame(&fx, 0, bcast, mac(0), 1);
    /* Port 1 now also bridges host 7, then host 7 moves to port 0. */
    send_frame(&fx, 1, bcast, mac(7), 1);
    send_frame(&fx, 0, bcast, mac(7), 1);
    g_assert(vsw_lookup(fx.sw, mac(7)) == fx.port[0]);
    g_assert_cmpuint(vsw_stats(fx.sw)->moved, ==, 1);
    g_assert_cmpuint(vsw_port_stats(fx.port[1])->macs, ==, 1);
    g_assert_cmpuint(vsw_port_stats(fx.port[0])->macs, ==, 2);
    fx_finish(&fx);
}

/* A stuck port's queue fills and drops; the other ports carry on. */
static void test_queue_bound(void)
{
    Fixture fx;
    const uint8_t *frame;
    size_t len;
    unsigned i;

    fx_init(&fx);
    fx_add(&fx, 0, 0);
    fx_add(&fx, 1, 0);      /* stuck: never drained */
    fx_add(&fx, 2, 0);
    for (i = 0; i < VSW_PORT_QUEUE + 44; i++) {
        send_frame(&fx, 0, bcast, mac(0), i);
        expect_one(&fx, 2, i);
    }
    g_assert_cmpuint(vsw_port_queue_len(fx.port[1]), ==, VSW_PORT_QUEUE);
    g_assert_cmpuint(vsw_port_stats(fx.port[1])->queue_drops, ==, 44);
    g_assert_cmpuint(vsw_port_stats(fx.port[1])->queue_high, ==,
                     VSW_PORT_QUEUE);
    g_assert_cmpuint(vsw_port_stats(fx.port[2])->queue_drops, ==, 0);
    g_assert_cmpuint(vsw_port_stats(fx.port[2])->tx_frames, ==,
                     VSW_PORT_QUEUE + 44);
    g_assert_cmpuint(vsw_stats(fx.sw)->queue_drops, ==, 44);
    g_assert_cmpuint(fx.ready[1], ==, 1);

    /* The stuck port holds the oldest frames, in order. */
    for (i = 0; i < VSW_PORT_QUEUE; i++) {
        g_assert_true(vsw_port_peek(fx.port[1], i, &frame, &len));
        g_assert_cmpuint(frame[14], ==, i & 0xff);
    }
    /* It drains part of its queue, then takes new frames again. */
    vsw_port_pop(fx.port[1], 10, true);
    vsw_port_pop(fx.port[1], 5, false);
    g_assert_cmpuint(vsw_port_stats(fx.port[1])->tx_frames, ==, 10);
    g_assert_cmpuint(vsw_port_stats(fx.port[1])->tx_errors, ==, 5);
    send_frame(&fx, 0, bcast, mac(0), 0xee);
    expect_one(&fx, 2, 0xee);
    g_assert_cmpuint(vsw_port_queue_len(fx.port[1]), ==,
                     VSW_PORT_QUEUE - 14);
    g_assert_true(vsw_port_peek(fx.port[1], 0, &frame, &len));
    g_assert_cmpuint(frame[14], ==, 15);
    g_assert_true(vsw_port_peek(fx.port[1], VSW_PORT_QUEUE - 15, &frame,
                                &len));
    g_assert_cmpuint(frame[14], ==, 0xee);
    /* Popping more than is queued empties the queue, no more. */
    vsw_port_pop(fx.port[1], 1000, true);
    g_assert_cmpuint(vsw_port_queue_len(fx.port[1]), ==, 0);
    fx_finish(&fx);
}

/* A newcomer whose first MAC is live elsewhere is refused, or warned. */
static void test_duplicate_mac(void)
{
    Fixture fx;

    fx_init(&fx);
    fx_add(&fx, 0, 0);
    fx_add(&fx, 1, 0);
    fx_add(&fx, 2, VSW_PORT_DUP_WARN);
    send_frame(&fx, 0, bcast, mac(0), 1);
    expect_one(&fx, 1, 1);
    expect_one(&fx, 2, 1);

    /* Port 1 claims host 0's address: refused, its frame dropped. */
    g_assert_cmpint(send_frame(&fx, 1, bcast, mac(0), 2), ==,
                    VSW_INPUT_DUP_REFUSED);
    expect_none(&fx, 0);
    expect_none(&fx, 2);
    g_assert(vsw_lookup(fx.sw, mac(0)) == fx.port[0]);
    g_assert_cmpuint(vsw_stats(fx.sw)->dup_refused, ==, 1);
    g_assert_nonnull(strstr(fx.log->str, "refused"));
    vsw_port_remove(fx.sw, fx.port[1]);
    fx.port[1] = NULL;

    /* Port 2 asked for a warning: it stays and takes the address over. */
    g_assert_cmpint(send_frame(&fx, 2, bcast, mac(0), 3), ==, VSW_INPUT_OK);
    expect_one(&fx, 0, 3);
    g_assert_true(vsw_port_stats(fx.port[2])->dup_warned);
    g_assert_cmpuint(vsw_stats(fx.sw)->dup_warned, ==, 1);
    g_assert_nonnull(strstr(fx.log->str, "warning"));
    g_assert(vsw_lookup(fx.sw, mac(0)) == fx.port[2]);

    /* Only the first MAC counts: a later one is learned, not refused. */
    fx_add(&fx, 3, 0);
    g_assert_cmpint(send_frame(&fx, 3, bcast, mac(3), 4), ==, VSW_INPUT_OK);
    g_assert_cmpint(send_frame(&fx, 3, bcast, mac(0), 5), ==, VSW_INPUT_OK);
    g_assert(vsw_lookup(fx.sw, mac(0)) == fx.port[3]);

    /* An address that aged out is free again. */
    fx_advance(&fx, VSW_MAC_AGE);
    fx_add(&fx, 4, 0);
    g_assert_cmpint(send_frame(&fx, 4, bcast, mac(0), 6), ==, VSW_INPUT_OK);
    g_assert_cmpuint(vsw_stats(fx.sw)->dup_refused, ==, 1);
    fx_finish(&fx);
}

/* Removing a port forgets its MACs: frames to them flood again. */
static void test_port_remove(void)
{
    Fixture fx;

    fx_init(&fx);
    fx_add(&fx, 0, 0);
    fx_add(&fx, 1, 0);
    fx_add(&fx, 2, 0);
    send_frame(&fx, 1, bcast, mac(1), 1);
    send_frame(&fx, 1, bcast, mac(11), 1);
    send_frame(&fx, 2, bcast, mac(2), 1);
    g_assert(vsw_lookup(fx.sw, mac(11)) == fx.port[1]);
    vsw_port_remove(fx.sw, fx.port[1]);
    fx.port[1] = NULL;
    g_assert_cmpuint(vsw_port_count(fx.sw), ==, 2);
    g_assert_null(vsw_lookup(fx.sw, mac(1)));
    g_assert_null(vsw_lookup(fx.sw, mac(11)));
    g_assert(vsw_lookup(fx.sw, mac(2)) == fx.port[2]);
    expect_queue(&fx, 0, (const uint8_t[]){ 1, 1, 1 }, 3);
    expect_queue(&fx, 2, (const uint8_t[]){ 1, 1 }, 2);

    send_frame(&fx, 0, mac(1), mac(0), 2);
    expect_one(&fx, 2, 2);
    g_assert_cmpuint(vsw_stats(fx.sw)->unknown_unicast, ==, 1);

    /* The same host on a new port is no duplicate; ids are not reused. */
    fx_add(&fx, 3, 0);
    g_assert_cmpuint(vsw_port_id(fx.port[3]), ==, 4);
    g_assert_cmpint(send_frame(&fx, 3, bcast, mac(1), 3), ==, VSW_INPUT_OK);
    g_assert_cmpstr(vsw_port_label(fx.port[3]), ==, "vm3/net0");
    fx_finish(&fx);
}

/* Lengths outside 14..9018 are refused; the limits themselves pass. */
static void test_bad_length(void)
{
    static uint8_t frame[VSW_FRAME_MAX + 1];
    Fixture fx;
    const uint8_t *out;
    size_t len;

    fx_init(&fx);
    fx_add(&fx, 0, 0);
    fx_add(&fx, 1, 0);
    memset(frame, 0xff, 6);
    memcpy(frame + 6, mac(0), 6);
    g_assert_cmpint(vsw_input(fx.sw, fx.port[0], frame, 13), ==,
                    VSW_INPUT_BAD_LENGTH);
    g_assert_cmpint(vsw_input(fx.sw, fx.port[0], frame, VSW_FRAME_MAX + 1),
                    ==, VSW_INPUT_BAD_LENGTH);
    g_assert_cmpint(vsw_input(fx.sw, fx.port[0], frame, 0), ==,
                    VSW_INPUT_BAD_LENGTH);
    g_assert_cmpuint(vsw_port_queue_len(fx.port[1]), ==, 0);
    g_assert_cmpuint(vsw_port_stats(fx.port[0])->bad_length, ==, 3);
    g_assert_cmpint(vsw_input(fx.sw, fx.port[0], frame, 14), ==,
                    VSW_INPUT_OK);
    g_assert_cmpint(vsw_input(fx.sw, fx.port[0], frame, VSW_FRAME_MAX), ==,
                    VSW_INPUT_OK);
    g_assert_true(vsw_port_peek(fx.port[1], 1, &out, &len));
    g_assert_cmpuint(len, ==, VSW_FRAME_MAX);
    g_assert_cmpmem(out, len, frame, len);
    fx_finish(&fx);
}

/* Multicast and zero sources are switched but never learned. */
static void test_bad_source(void)
{
    static const uint8_t zero[6];
    uint8_t addr[6];
    Fixture fx;

    fx_init(&fx);
    fx_add(&fx, 0, 0);
    fx_add(&fx, 1, 0);
    send_frame(&fx, 0, bcast, mcast, 1);
    send_frame(&fx, 0, bcast, zero, 2);
    expect_queue(&fx, 1, (const uint8_t[]){ 1, 2 }, 2);
    g_assert_null(vsw_lookup(fx.sw, mcast));
    g_assert_null(vsw_lookup(fx.sw, zero));
    g_assert_false(vsw_port_mac(fx.port[0], addr));
    g_assert_cmpuint(vsw_port_stats(fx.port[0])->bad_source, ==, 2);
    fx_finish(&fx);
}

/* Ports and MACs are bounded: per switch, per port, in the table. */
static void test_limits(void)
{
    Fixture fx;
    unsigned i, p;

    fx_init(&fx);
    for (i = 0; i < VSW_MAX_PORTS; i++) {
        fx_add(&fx, i, 0);
    }
    g_assert_null(vsw_port_add(fx.sw, NULL, "one too many", 0));

    /*
     * One port cannot own more than VSW_PORT_MACS addresses.  All the
     * frames go to port 0, so that only its queue fills.
     */
    send_frame(&fx, 0, bcast, mac(0), 0);
    for (i = 0; i < VSW_PORT_MACS + 10; i++) {
        send_frame(&fx, 0, mac(0), mac(1000 + i), 0);
    }
    g_assert_cmpuint(vsw_port_stats(fx.port[0])->macs, ==, VSW_PORT_MACS);
    g_assert_cmpuint(vsw_port_stats(fx.port[0])->mac_limit, ==, 11);

    /* Fill the table from more ports; then no more is learned. */
    for (p = 1; p * VSW_PORT_MACS < VSW_MAC_ENTRIES + VSW_PORT_MACS; p++) {
        for (i = 0; i < VSW_PORT_MACS; i++) {
            send_frame(&fx, p, mac(0), mac(p * 4096 + i), 0);
        }
    }
    g_assert_cmpuint(vsw_stats(fx.sw)->learned, ==, VSW_MAC_ENTRIES);
    g_assert_cmpuint(vsw_stats(fx.sw)->table_full, ==, VSW_PORT_MACS);

    /* Once they age out, the table sweeps itself and learns again. */
    fx_advance(&fx, VSW_MAC_AGE);
    send_frame(&fx, 1, mac(0), mac(1), 0);
    g_assert(vsw_lookup(fx.sw, mac(1)) == fx.port[1]);
    g_assert_cmpuint(vsw_stats(fx.sw)->aged, ==, VSW_MAC_ENTRIES);
    fx_finish(&fx);
}

/*
 * Build a broadcast DHCPDISCOVER from host @n with BOOTP @flags; returns
 * its length.
 */
static size_t build_discover(unsigned n, uint16_t flags, uint8_t *frame,
                             size_t cap)
{
    TestDhcpRequest r = {
        .type = VPC_DHCPDISCOVER,
        .chaddr = mac(n),
        .xid = 0x5eed0000 + n,
        .flags = flags,
    };

    return test_dhcp_request_build(&r, frame, cap);
}

/* Parse the DHCP reply waiting first on port @i and return yiaddr. */
static uint32_t take_offer(Fixture *fx, unsigned i, unsigned client)
{
    VpcEthView eth;
    VpcIpv4View ip;
    VpcUdpView udp;
    VpcDhcpView msg;
    const uint8_t *frame;
    size_t len;
    uint32_t yiaddr;

    g_assert_true(vsw_port_peek(fx->port[i], 0, &frame, &len));
    g_assert_cmpint(vpc_udp4_frame_parse(frame, len, &eth, &ip, &udp), ==, 0);
    g_assert_cmpuint(udp.dst_port, ==, VPC_DHCP_CLIENT_PORT);
    g_assert_cmpint(vpc_dhcp_parse(udp.payload, udp.payload_len, &msg), ==,
                    0);
    g_assert_cmpuint(msg.msg_type, ==, VPC_DHCPOFFER);
    g_assert_cmpmem(msg.hdr.chaddr, 6, mac(client), 6);
    yiaddr = msg.hdr.yiaddr;
    vsw_port_pop(fx->port[i], 1, true);
    return yiaddr;
}

/* With a server attached, DHCP requests are answered, not flooded. */
static void test_dhcp_on(void)
{
    static const uint8_t server_mac[6] = { 0x02, 0x03, 0xff, 0, 0, 1 };
    uint8_t frame[VPC_DHCP_REPLY_MAX];
    VpcDhcpConfig cfg;
    VpcDhcpServer *server;
    Fixture fx;
    size_t len;
    uint32_t addr;

    vpc_dhcp_config_init(&cfg);
    server = vpc_dhcp_server_new(&cfg);
    g_assert_nonnull(server);
    fx_init(&fx);
    vsw_set_dhcp(fx.sw, server, server_mac);
    fx_add(&fx, 0, 0);
    fx_add(&fx, 1, 0);
    fx_add(&fx, 2, 0);

    len = build_discover(0, 0, frame, sizeof(frame));
    g_assert_cmpint(vsw_input(fx.sw, fx.port[0], frame, len), ==,
                    VSW_INPUT_OK);
    /* Unicast to the client (no broadcast flag): only port 0 hears it. */
    g_assert_cmpuint(vsw_port_queue_len(fx.port[0]), ==, 1);
    addr = take_offer(&fx, 0, 0);
    g_assert_cmpuint(addr, >=, IP(169, 254, 0, 16));
    g_assert_cmpuint(addr, <=, IP(169, 254, 10, 254));
    expect_none(&fx, 1);
    expect_none(&fx, 2);
    g_assert_cmpuint(vsw_stats(fx.sw)->dhcp_consumed, ==, 1);
    g_assert_cmpuint(vsw_stats(fx.sw)->dhcp_replies, ==, 1);
    g_assert_cmpuint(vsw_port_stats(fx.port[0])->dhcp_consumed, ==, 1);
    g_assert_cmpuint(vpc_dhcp_server_stats(server)->tx_offer, ==, 1);

    /* With the broadcast flag the OFFER goes to every port. */
    len = build_discover(1, VPC_DHCP_FLAG_BROADCAST, frame, sizeof(frame));
    g_assert_cmpint(vsw_input(fx.sw, fx.port[1], frame, len), ==,
                    VSW_INPUT_OK);
    take_offer(&fx, 0, 1);
    take_offer(&fx, 1, 1);
    take_offer(&fx, 2, 1);

    /* Other broadcasts still flood. */
    send_frame(&fx, 2, bcast, mac(2), 9);
    expect_one(&fx, 0, 9);
    expect_one(&fx, 1, 9);
    fx_finish(&fx);
    vpc_dhcp_server_free(server);
}

/* Without a server, a DISCOVER is a broadcast like any other. */
static void test_dhcp_off(void)
{
    uint8_t frame[VPC_DHCP_REPLY_MAX];
    const uint8_t *out;
    Fixture fx;
    size_t len, out_len;
    unsigned i;

    fx_init(&fx);
    fx_add(&fx, 0, 0);
    fx_add(&fx, 1, 0);
    fx_add(&fx, 2, 0);
    len = build_discover(0, 0, frame, sizeof(frame));
    g_assert_cmpint(vsw_input(fx.sw, fx.port[0], frame, len), ==,
                    VSW_INPUT_OK);
    g_assert_cmpuint(vsw_port_queue_len(fx.port[0]), ==, 0);
    for (i = 1; i < 3; i++) {
        g_assert_cmpuint(vsw_port_queue_len(fx.port[i]), ==, 1);
        g_assert_true(vsw_port_peek(fx.port[i], 0, &out, &out_len));
        g_assert_cmpmem(out, out_len, frame, len);
    }
    g_assert_cmpuint(vsw_stats(fx.sw)->dhcp_consumed, ==, 0);
    fx_finish(&fx);
}

/*
 * With DHCP on, broadcast IPv4 frames that the server cannot parse (a
 * guest's own protocol over ethertype 0x0800, a truncated header) are
 * still switched: only DHCP requests are the server's.
 */
static void test_dhcp_passes_non_dhcp(void)
{
    static const uint8_t server_mac[6] = { 0x02, 0x03, 0xff, 0, 0, 1 };
    uint8_t frame[VPC_DHCP_REPLY_MAX];
    const uint8_t *out;
    VpcDhcpConfig cfg;
    VpcDhcpServer *server;
    Fixture fx;
    size_t len, out_len;

    vpc_dhcp_config_init(&cfg);
    server = vpc_dhcp_server_new(&cfg);
    g_assert_nonnull(server);
    fx_init(&fx);
    vsw_set_dhcp(fx.sw, server, server_mac);
    fx_add(&fx, 0, 0);
    fx_add(&fx, 1, 0);

    /* A DISCOVER whose IPv4 header is cut short, then garbage. */
    len = build_discover(0, 0, frame, sizeof(frame));
    memset(frame + 14, 0xa5, 60);
    len = 14 + 60;
    g_assert_cmpint(vsw_input(fx.sw, fx.port[0], frame, len), ==,
                    VSW_INPUT_OK);
    g_assert_cmpuint(vsw_port_queue_len(fx.port[1]), ==, 1);
    g_assert_true(vsw_port_peek(fx.port[1], 0, &out, &out_len));
    g_assert_cmpmem(out, out_len, frame, len);
    expect_none(&fx, 0);
    g_assert_cmpuint(vsw_stats(fx.sw)->dhcp_consumed, ==, 0);
    g_assert_cmpuint(vpc_dhcp_server_stats(server)->malformed[
                         -VPC_PKT_IP_VERSION], ==, 1);
    fx_finish(&fx);
    vpc_dhcp_server_free(server);
}

/* Build an ARP request from host @n (169.254.1.n) for @target. */
static size_t build_arp_request(unsigned n, const uint8_t *dst,
                                uint32_t target, uint8_t *frame)
{
    uint8_t *arp = frame + 14;

    memset(frame, 0, 60);
    memcpy(frame, dst, 6);
    memcpy(frame + 6, mac(n), 6);
    vpc_put_be16(frame + 12, VPC_ETHERTYPE_ARP);
    vpc_put_be16(arp, 1);
    vpc_put_be16(arp + 2, VPC_ETHERTYPE_IPV4);
    arp[4] = 6;
    arp[5] = 4;
    vpc_put_be16(arp + 6, VPC_ARP_OP_REQUEST);
    memcpy(arp + 8, mac(n), 6);
    vpc_put_be32(arp + 14, IP(169, 254, 1, n));
    vpc_put_be32(arp + 24, target);
    return 60;
}

/*
 * Clients renew by unicast to the server, so its address must resolve:
 * the switch answers ARP for it, broadcast or unicast to its MAC, and
 * for no other address.
 */
static void test_dhcp_arp(void)
{
    static const uint8_t server_mac[6] = { 0x02, 0x03, 0xff, 0, 0, 1 };
    uint8_t frame[60];
    const uint8_t *out;
    VpcArpView arp;
    VpcDhcpConfig cfg;
    VpcDhcpServer *server;
    Fixture fx;
    size_t len, out_len;

    vpc_dhcp_config_init(&cfg);
    server = vpc_dhcp_server_new(&cfg);
    g_assert_nonnull(server);
    fx_init(&fx);
    vsw_set_dhcp(fx.sw, server, server_mac);
    fx_add(&fx, 0, 0);
    fx_add(&fx, 1, 0);

    len = build_arp_request(0, bcast, cfg.server_ip, frame);
    g_assert_cmpint(vsw_input(fx.sw, fx.port[0], frame, len), ==,
                    VSW_INPUT_OK);
    /* The request is flooded as on a wire; the answer is for port 0. */
    g_assert_cmpuint(vsw_port_queue_len(fx.port[1]), ==, 1);
    vsw_port_pop(fx.port[1], 1, true);
    g_assert_cmpuint(vsw_port_queue_len(fx.port[0]), ==, 1);
    g_assert_true(vsw_port_peek(fx.port[0], 0, &out, &out_len));
    g_assert_cmpuint(out_len, ==, 60);
    g_assert_cmpmem(out, 6, mac(0), 6);
    g_assert_cmpmem(out + 6, 6, server_mac, 6);
    g_assert_cmpuint(vpc_get_be16(out + 12), ==, VPC_ETHERTYPE_ARP);
    g_assert_cmpint(vpc_arp_parse(out + 14, out_len - 14, &arp), ==, 0);
    g_assert_cmpuint(arp.op, ==, VPC_ARP_OP_REPLY);
    g_assert_cmpmem(arp.sha, 6, server_mac, 6);
    g_assert_cmpuint(arp.spa, ==, cfg.server_ip);
    g_assert_cmpmem(arp.tha, 6, mac(0), 6);
    g_assert_cmpuint(arp.tpa, ==, IP(169, 254, 1, 0));
    vsw_port_pop(fx.port[0], 1, true);

    /* A neighbour cache checking its entry asks the server's MAC. */
    len = build_arp_request(1, server_mac, cfg.server_ip, frame);
    g_assert_cmpint(vsw_input(fx.sw, fx.port[1], frame, len), ==,
                    VSW_INPUT_OK);
    g_assert_cmpuint(vsw_port_queue_len(fx.port[1]), ==, 1);
    vsw_port_pop(fx.port[1], 1, true);
    expect_none(&fx, 0);

    /* Another address is the guests' business. */
    len = build_arp_request(0, bcast, IP(169, 254, 1, 1), frame);
    vsw_input(fx.sw, fx.port[0], frame, len);
    expect_none(&fx, 0);
    g_assert_cmpuint(vsw_port_queue_len(fx.port[1]), ==, 1);
    vsw_port_pop(fx.port[1], 1, true);
    g_assert_cmpuint(vsw_stats(fx.sw)->arp_replies, ==, 2);
    fx_finish(&fx);
    vpc_dhcp_server_free(server);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vpcnet/switch/flood", test_flood);
    g_test_add_func("/vpcnet/switch/learn-unicast", test_learn_unicast);
    g_test_add_func("/vpcnet/switch/no-hairpin", test_no_hairpin);
    g_test_add_func("/vpcnet/switch/aging", test_aging);
    g_test_add_func("/vpcnet/switch/move", test_move);
    g_test_add_func("/vpcnet/switch/queue-bound", test_queue_bound);
    g_test_add_func("/vpcnet/switch/duplicate-mac", test_duplicate_mac);
    g_test_add_func("/vpcnet/switch/port-remove", test_port_remove);
    g_test_add_func("/vpcnet/switch/bad-length", test_bad_length);
    g_test_add_func("/vpcnet/switch/bad-source", test_bad_source);
    g_test_add_func("/vpcnet/switch/limits", test_limits);
    g_test_add_func("/vpcnet/switch/dhcp-on", test_dhcp_on);
    g_test_add_func("/vpcnet/switch/dhcp-off", test_dhcp_off);
    g_test_add_func("/vpcnet/switch/dhcp-passes-non-dhcp",
                    test_dhcp_passes_non_dhcp);
    g_test_add_func("/vpcnet/switch/dhcp-arp", test_dhcp_arp);
    return g_test_run();
}
