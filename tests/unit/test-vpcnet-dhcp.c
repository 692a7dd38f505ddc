/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the DHCP server core.  Each test plays one or more
 * clients: it builds real request frames with the packet library, feeds
 * them to the server with an explicit clock, and checks every reply by
 * parsing it back (headers, checksums, addressing, options).
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "net/vpcnet/dhcp-server.h"
#include "net/vpcnet/dhcp-leases.h"
#include "net/vpcnet/packet.h"
#include "dhcp-request.h"

#define T0 1700000000ull
#define IP(a, b, c, d) \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define SERVER_IP   IP(169, 254, 0, 1)
#define RANGE_FIRST IP(169, 254, 0, 16)
#define RANGE_LAST  IP(169, 254, 10, 254)

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Client n's MAC: 00:03:ff:00:00:n. */
static const uint8_t *mac(unsigned n)
{
    static uint8_t macs[64][6];

    g_assert_cmpuint(n, <, 64);
    macs[n][0] = 0x00;
    macs[n][1] = 0x03;
    macs[n][2] = 0xff;
    macs[n][5] = n;
    return macs[n];
}

/**
 * Fixture - one server and the last reply it sent, parsed.
 * @cfg: the configuration, edited by a test before fx_start().
 * @s: the server.
 * @now: the clock the test passes in.
 * @reply: the reply buffer.
 * @out: where the last reply went.
 * @eth, @ip, @udp, @msg: the last reply, parsed.
 * @log: messages the server logged, one per line.
 * @lease_file: where the leases persist, set before fx_start(); NULL for
 *              none.
 * @lf: the lease file, with @lease_file.
 * @save_each: store the table after every message that changed it, as
 *             the most eager embedder would (the daemon waits a second).
 */
typedef struct Fixture {
    VpcDhcpConfig cfg;
    const char *lease_file;
    VpcDhcpLeaseFile *lf;
    bool save_each;
    VpcDhcpServer *s;
    uint64_t now;
    uint8_t reply[VPC_DHCP_REPLY_MAX];
    VpcDhcpReply out;
    VpcEthView eth;
    VpcIpv4View ip;
    VpcUdpView udp;
    VpcDhcpView msg;
    GString *log;
} Fixture;

/**
 * ClientMsg - a request to build; zero fields are left out.
 * @type: DHCP message type.
 * @client: index of the client's MAC.
 * @xid: transaction id (default 0x5eed0000 + client).
 * @flags: BOOTP flags.
 * @ciaddr: client address field.
 * @giaddr: relay address field; the frame then comes from the relay.
 * @requested: option 50.
 * @server_id: option 54.
 * @hostname: option 12.
 * @client_id: option 61, @client_id_len bytes.
 * @client_id_len: length of @client_id.
 * @ip_src: IPv4 source (default 0, or @giaddr).
 * @unicast: sent to the server's MAC and address, not broadcast.
 * @relay_mac: the relay's MAC, with @giaddr.
 */
typedef struct ClientMsg {
    uint8_t type;
    unsigned client;
    uint32_t xid;
    uint16_t flags;
    uint32_t ciaddr;
    uint32_t giaddr;
    uint32_t requested;
    uint32_t server_id;
    const char *hostname;
    const uint8_t *client_id;
    size_t client_id_len;
    uint32_t ip_src;
    bool unicast;
    const uint8_t *relay_mac;
} ClientMsg;

static void log_to_fixture(void *opaque, const char *msg)
{
    Fixture *fx = opaque;

    g_string_append_printf(fx->log, "%s\n", msg);
}

static void fx_init(Fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    vpc_dhcp_config_init(&fx->cfg);
    fx->cfg.log = log_to_fixture;
    fx->cfg.log_opaque = fx;
    fx->now = T0;
    fx->log = g_string_new("");
}

static void fx_start(Fixture *fx)
{
    fx->s = vpc_dhcp_server_new(&fx->cfg);
    g_assert_nonnull(fx->s);
    if (fx->lease_file) {
        fx->lf = vpc_dhcp_lease_file_new(fx->lease_file, log_to_fixture, fx);
        g_assert_nonnull(fx->lf);
        vpc_dhcp_lease_file_load(fx->lf, fx->s);
    }
}

static void fx_stop(Fixture *fx)
{
    vpc_dhcp_lease_file_free(fx->lf);
    fx->lf = NULL;
    vpc_dhcp_server_free(fx->s);
    fx->s = NULL;
}

static const VpcDhcpLeaseFileStats *lf_stats(Fixture *fx)
{
    return vpc_dhcp_lease_file_stats(fx->lf);
}

static void fx_finish(Fixture *fx)
{
    fx_stop(fx);
    g_string_free(fx->log, TRUE);
}

static const VpcDhcpStats *stats(Fixture *fx)
{
    return vpc_dhcp_server_stats(fx->s);
}

/* Build the request frame for @m; returns its length. */
static size_t build_request(Fixture *fx, const ClientMsg *m, uint8_t *frame,
                            size_t cap)
{
    TestDhcpRequest r = {
        .type = m->type,
        .chaddr = mac(m->client),
        .xid = m->xid ? m->xid : 0x5eed0000 + m->client,
        .flags = m->flags,
        .ciaddr = m->ciaddr,
        .giaddr = m->giaddr,
        .requested = m->requested,
        .server_id = m->server_id,
        .hostname = m->hostname,
        .client_id = m->client_id,
        .client_id_len = m->client_id_len,
        .ip_src = m->ip_src,
    };

    if (m->giaddr) {
        /* From the relay, to the server. */
        r.eth_src = m->relay_mac;
        r.eth_dst = fx->cfg.server_mac;
        r.ip_src = m->giaddr;
        r.ip_dst = fx->cfg.server_ip;
        r.src_port = VPC_DHCP_SERVER_PORT;
    } else if (m->unicast) {
        r.eth_dst = fx->cfg.server_mac;
        r.ip_dst = fx->cfg.server_ip;
    }
    return test_dhcp_request_build(&r, frame, cap);
}

/* Check a reply as any client would parse it, and keep it parsed. */
static void check_reply(Fixture *fx, uint32_t xid)
{
    VpcDhcpOpt opt;

    g_assert_cmpuint(fx->out.len, <=, VPC_DHCP_REPLY_MAX);
    g_assert_cmpint(vpc_udp4_frame_parse(fx->reply, fx->out.len, &fx->eth,
                                         &fx->ip, &fx->udp), ==, 0);
    g_assert_cmpint(vpc_dhcp_parse(fx->udp.payload, fx->udp.payload_len,
                                   &fx->msg), ==, 0);
    g_assert_cmpmem(fx->eth.dst, 6, fx->out.dst_mac, 6);
    g_assert_cmpmem(fx->eth.src, 6, fx->cfg.server_mac, 6);
    g_assert_cmpint(fx->out.broadcast, ==, vpc_mac_is_broadcast(fx->eth.dst));
    g_assert_cmphex(fx->ip.src, ==, fx->cfg.server_ip);
    g_assert_cmpuint(fx->udp.src_port, ==, VPC_DHCP_SERVER_PORT);
    g_assert_cmpuint(fx->udp.checksum, !=, 0);
    g_assert_cmpuint(fx->udp.payload_len, >=, VPC_BOOTP_MIN_LEN);
    g_assert_cmpuint(fx->udp.payload_len, <=, VPC_DHCP_MSG_MAX);
    g_assert_cmpuint(fx->msg.hdr.op, ==, VPC_BOOTREPLY);
    g_assert_cmphex(fx->msg.hdr.xid, ==, xid);
    g_assert_cmpuint(fx->msg.msg_type, ==, fx->out.msg_type);
    g_assert_true(vpc_dhcp_opt_find(&fx->msg, VPC_DHCP_OPT_SERVER_ID, &opt));
    g_assert_cmpuint(opt.len, ==, 4);
    g_assert_cmphex(vpc_get_be32(opt.data), ==, fx->cfg.server_ip);
}

static VpcDhcpResult send_frame(Fixture *fx, const uint8_t *frame, size_t len)
{
    /* An exact-size copy, so a sanitizer sees any read past the end. */
    uint8_t *copy = g_memdup2(frame, len);
    VpcDhcpResult ret;

    ret = vpc_dhcp_server_input(fx->s, 3, copy, len, fx->now, fx->reply,
                                sizeof(fx->reply), &fx->out);
    g_free(copy);
    if (fx->lf && fx->save_each && vpc_dhcp_server_dirty(fx->s)) {
        vpc_dhcp_lease_file_save(fx->lf, fx->s, fx->now);
    }
    if (ret == VPC_DHCP_REPLY) {
        g_assert_cmpuint(fx->out.port, ==, 3);
    }
    return ret;
}

static VpcDhcpResult send_msg(Fixture *fx, const ClientMsg *m)
{
    uint8_t frame[1514];
    size_t len = build_request(fx, m, frame, sizeof(frame));
    VpcDhcpResult ret = send_frame(fx, frame, len);

    if (ret == VPC_DHCP_REPLY) {
        check_reply(fx, m->xid ? m->xid : 0x5eed0000 + m->client);
    }
    return ret;
}

static bool reply_u32(Fixture *fx, uint8_t code, uint32_t *value)
{
    return vpc_dhcp_opt_get_ipv4(&fx->msg, code, value);
}

static bool reply_has(Fixture *fx, uint8_t code)
{
    VpcDhcpOpt opt;

    return vpc_dhcp_opt_find(&fx->msg, code, &opt);
}

/* DISCOVER, OFFER, REQUEST, ACK for @client; returns its address. */
static uint32_t dora(Fixture *fx, unsigned client, uint32_t requested)
{
    ClientMsg m = { .type = VPC_DHCPDISCOVER, .client = client,
                    .requested = requested,
                    .flags = VPC_DHCP_FLAG_BROADCAST };
    uint32_t offered;

    g_assert_cmpint(send_msg(fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx->out.msg_type, ==, VPC_DHCPOFFER);
    offered = fx->msg.hdr.yiaddr;
    m.type = VPC_DHCPREQUEST;
    m.requested = offered;
    m.server_id = SERVER_IP;
    g_assert_cmpint(send_msg(fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx->out.msg_type, ==, VPC_DHCPACK);
    g_assert_cmphex(fx->msg.hdr.yiaddr, ==, offered);
    return offered;
}

/* The lease table as listed. */
typedef struct LeaseList {
    unsigned n;
    VpcDhcpLeaseInfo lease[64];
    char hostname[64][VPC_DHCP_HOSTNAME_MAX + 1];
} LeaseList;

static void collect_lease(void *opaque, const VpcDhcpLeaseInfo *info)
{
    LeaseList *list = opaque;

    g_assert_cmpuint(list->n, <, 64);
    list->lease[list->n] = *info;
    g_strlcpy(list->hostname[list->n], info->hostname,
              sizeof(list->hostname[0]));
    list->lease[list->n].hostname = list->hostname[list->n];
    list->n++;
}

static void list_leases(Fixture *fx, LeaseList *list)
{
    unsigned n;

    memset(list, 0, sizeof(*list));
    n = vpc_dhcp_server_foreach_lease(fx->s, fx->now, collect_lease, list);
    g_assert_cmpuint(n, ==, list->n);
}

static const VpcDhcpLeaseInfo *lease_of_addr(LeaseList *list, uint32_t addr)
{
    for (unsigned i = 0; i < list->n; i++) {
        if (list->lease[i].addr == addr) {
            return &list->lease[i];
        }
    }
    return NULL;
}

static void test_config(void)
{
    VpcDhcpConfig cfg;
    VpcDhcpReservation resv[2] = {
        { { 0x00, 0x03, 0xff, 0, 0, 1 }, IP(169, 254, 0, 40) },
        { { 0x00, 0x03, 0xff, 0, 0, 1 }, IP(169, 254, 0, 41) },
    };
    char err[128];

    vpc_dhcp_config_init(&cfg);
    g_assert_cmphex(cfg.server_ip, ==, SERVER_IP);
    g_assert_cmphex(cfg.netmask, ==, IP(255, 255, 0, 0));
    g_assert_cmphex(cfg.range_start, ==, RANGE_FIRST);
    g_assert_cmphex(cfg.range_end, ==, RANGE_LAST);
    g_assert_cmphex(cfg.router, ==, 0);
    g_assert_cmpuint(cfg.lease_time, ==, 3600);
    g_assert_cmpuint(cfg.decline_hold, ==, 600);
    g_assert_cmpint(vpc_dhcp_config_check(&cfg, err, sizeof(err)), ==, 0);
    g_assert_cmpstr(err, ==, "");

#define REJECT(edit) do { \
        vpc_dhcp_config_init(&cfg); \
        edit; \
        g_assert_cmpint(vpc_dhcp_config_check(&cfg, err, sizeof(err)), \
                        ==, -1); \
        g_assert_cmpstr(err, !=, ""); \
        g_assert_null(vpc_dhcp_server_new(&cfg)); \
    } while (0)

    REJECT(cfg.netmask = IP(255, 255, 0, 255));
    REJECT(cfg.netmask = IP(255, 255, 255, 254));
    REJECT(cfg.server_ip = IP(169, 254, 0, 0));
    REJECT(cfg.range_start = IP(169, 254, 11, 0));
    REJECT(cfg.range_end = IP(169, 255, 0, 10));
    REJECT(cfg.netmask = IP(255, 0, 0, 0); cfg.range_end = IP(169, 255, 1, 0));
    REJECT(cfg.router = IP(10, 0, 0, 1));
    REJECT(cfg.n_dns = 5);
    REJECT(strcpy(cfg.domain, "bad domain"));
    REJECT(memset(cfg.domain, 'a', sizeof(cfg.domain)));
    REJECT(cfg.lease_time = 0);
    REJECT(cfg.max_leases = 0);
    REJECT(cfg.max_leases = VPC_DHCP_MAX_LEASES + 1);
    REJECT(cfg.reservations = resv; cfg.n_reservations = 2);
    REJECT(resv[1].mac[5] = 2; resv[1].addr = resv[0].addr;
           cfg.reservations = resv; cfg.n_reservations = 2);
    REJECT(cfg.reservations = resv; cfg.n_reservations = 1;
           resv[0].addr = SERVER_IP);
#undef REJECT
    /* The lease file is the daemon's: its name is checked there. */
    g_assert_null(vpc_dhcp_lease_file_new("", NULL, NULL));
}

/* The whole exchange, and the options of RFC 2132 the brief asks for. */
static void test_dora(void)
{
    Fixture fx;
    LeaseList list;
    uint32_t v, addr;

    fx_init(&fx);
    fx_start(&fx);
    addr = dora(&fx, 1, 0);
    g_assert_cmphex(addr, >=, RANGE_FIRST);
    g_assert_cmphex(addr, <=, RANGE_LAST);

    /* The ACK: broadcast, as the client asked, with the lease options. */
    g_assert_true(fx.out.broadcast);
    g_assert_cmphex(fx.ip.dst, ==, VPC_IPV4_BROADCAST);
    g_assert_cmpuint(fx.udp.dst_port, ==, VPC_DHCP_CLIENT_PORT);
    g_assert_true(reply_u32(&fx, VPC_DHCP_OPT_LEASE_TIME, &v));
    g_assert_cmpuint(v, ==, 3600);
    g_assert_true(reply_u32(&fx, VPC_DHCP_OPT_T1, &v));
    g_assert_cmpuint(v, ==, 1800);
    g_assert_true(reply_u32(&fx, VPC_DHCP_OPT_T2, &v));
    g_assert_cmpuint(v, ==, 3150);
    g_assert_true(reply_u32(&fx, VPC_DHCP_OPT_SUBNET_MASK, &v));
    g_assert_cmphex(v, ==, IP(255, 255, 0, 0));
    g_assert_false(reply_has(&fx, VPC_DHCP_OPT_ROUTER));
    g_assert_false(reply_has(&fx, VPC_DHCP_OPT_DNS));
    g_assert_false(reply_has(&fx, VPC_DHCP_OPT_DOMAIN));
    g_assert_cmphex(fx.msg.hdr.ciaddr, ==, 0);
    g_assert_cmpmem(fx.msg.hdr.chaddr, 6, mac(1), 6);

    list_leases(&fx, &list);
    g_assert_cmpuint(list.n, ==, 1);
    g_assert_cmpuint(list.lease[0].state, ==, VPC_DHCP_LEASE_BOUND);
    g_assert_cmphex(list.lease[0].addr, ==, addr);
    g_assert_cmpmem(list.lease[0].mac, 6, mac(1), 6);
    g_assert_cmpuint(list.lease[0].expires, ==, T0 + 3600);
    g_assert_false(list.lease[0].reserved);
    g_assert_cmpuint(list.lease[0].port, ==, 3);

    g_assert_cmpuint(stats(&fx)->rx_discover, ==, 1);
    g_assert_cmpuint(stats(&fx)->rx_request, ==, 1);
    g_assert_cmpuint(stats(&fx)->tx_offer, ==, 1);
    g_assert_cmpuint(stats(&fx)->tx_ack, ==, 1);
    g_assert_cmpuint(stats(&fx)->tx_nak, ==, 0);

    /* A second client gets another address. */
    g_assert_cmphex(dora(&fx, 2, 0), !=, addr);
    fx_finish(&fx);
}

static void test_options_configured(void)
{
    Fixture fx;
    VpcDhcpOpt opt;
    uint32_t v;

    fx_init(&fx);
    fx.cfg.router = IP(169, 254, 0, 2);
    fx.cfg.dns[0] = IP(169, 254, 0, 3);
    fx.cfg.dns[1] = IP(192, 0, 2, 53);
    fx.cfg.n_dns = 2;
    strcpy(fx.cfg.domain, "vpc.example");
    fx.cfg.lease_time = 800;
    fx_start(&fx);
    dora(&fx, 1, 0);
    g_assert_true(reply_u32(&fx, VPC_DHCP_OPT_ROUTER, &v));
    g_assert_cmphex(v, ==, IP(169, 254, 0, 2));
    g_assert_true(vpc_dhcp_opt_find(&fx.msg, VPC_DHCP_OPT_DNS, &opt));
    g_assert_cmpuint(opt.len, ==, 8);
    g_assert_cmphex(vpc_get_be32(opt.data), ==, IP(169, 254, 0, 3));
    g_assert_cmphex(vpc_get_be32(opt.data + 4), ==, IP(192, 0, 2, 53));
    g_assert_true(vpc_dhcp_opt_find(&fx.msg, VPC_DHCP_OPT_DOMAIN, &opt));
    g_assert_cmpmem(opt.data, opt.len, "vpc.example", 11);
    g_assert_true(reply_u32(&fx, VPC_DHCP_OPT_LEASE_TIME, &v));
    g_assert_cmpuint(v, ==, 800);
    g_assert_true(reply_u32(&fx, VPC_DHCP_OPT_T2, &v));
    g_assert_cmpuint(v, ==, 700);
    fx_finish(&fx);
}

/* Without the broadcast flag the reply is unicast to chaddr/yiaddr. */
static void test_broadcast_flag(void)
{
    Fixture fx;
    ClientMsg m = { .type = VPC_DHCPDISCOVER, .client = 1 };

    fx_init(&fx);
    fx_start(&fx);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_false(fx.out.broadcast);
    g_assert_cmpmem(fx.out.dst_mac, 6, mac(1), 6);
    g_assert_cmphex(fx.ip.dst, ==, fx.msg.hdr.yiaddr);
    g_assert_cmpuint(fx.udp.dst_port, ==, VPC_DHCP_CLIENT_PORT);
    g_assert_cmphex(fx.msg.hdr.flags, ==, 0);

    m.flags = VPC_DHCP_FLAG_BROADCAST;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_true(fx.out.broadcast);
    g_assert_cmphex(fx.ip.dst, ==, VPC_IPV4_BROADCAST);
    g_assert_cmphex(fx.msg.hdr.flags, ==, VPC_DHCP_FLAG_BROADCAST);
    fx_finish(&fx);
}

static void test_init_reboot(void)
{
    Fixture fx;
    ClientMsg m = { .type = VPC_DHCPREQUEST, .client = 1 };
    uint32_t addr, other;
    VpcDhcpOpt opt;

    fx_init(&fx);
    fx_start(&fx);
    addr = dora(&fx, 1, 0);
    other = addr == RANGE_FIRST ? RANGE_FIRST + 1 : RANGE_FIRST;

    /* The address it had: ACK. */
    m.requested = addr;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPACK);
    g_assert_cmphex(fx.msg.hdr.yiaddr, ==, addr);

    /* Another address: NAK, broadcast even without the flag. */
    m.requested = other;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPNAK);
    g_assert_true(fx.out.broadcast);
    g_assert_cmphex(fx.ip.dst, ==, VPC_IPV4_BROADCAST);
    g_assert_cmphex(fx.msg.hdr.yiaddr, ==, 0);
    g_assert_false(reply_has(&fx, VPC_DHCP_OPT_LEASE_TIME));
    g_assert_true(vpc_dhcp_opt_find(&fx.msg, VPC_DHCP_OPT_MESSAGE, &opt));

    /* Another network: NAK. */
    m.requested = IP(10, 0, 0, 5);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPNAK);

    /* An unknown client asking for a free address: ACK (authoritative). */
    m.client = 2;
    m.requested = other;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPACK);
    g_assert_cmphex(fx.msg.hdr.yiaddr, ==, other);

    /* An unknown client asking for a taken address: NAK. */
    m.client = 3;
    m.requested = addr;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPNAK);
    g_assert_cmpuint(stats(&fx)->tx_nak, ==, 3);

    /* A REQUEST with neither option 50 nor ciaddr matches no state. */
    m.requested = 0;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->bad_request, ==, 1);
    fx_finish(&fx);
}

/* Not authoritative: no record of the client, no answer (4.3.2). */
static void test_init_reboot_not_authoritative(void)
{
    Fixture fx;
    ClientMsg m = { .type = VPC_DHCPREQUEST, .client = 1,
                    .requested = IP(169, 254, 0, 77) };

    fx_init(&fx);
    fx.cfg.authoritative = false;
    fx_start(&fx);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->unknown_client, ==, 1);
    g_assert_cmpuint(stats(&fx)->tx_nak, ==, 0);
    fx_finish(&fx);
}

static void test_renew_rebind(void)
{
    Fixture fx;
    LeaseList list;
    ClientMsg m = { .type = VPC_DHCPREQUEST, .client = 1 };
    uint32_t addr;

    fx_init(&fx);
    fx_start(&fx);
    addr = dora(&fx, 1, 0);

    /* RENEWING at T1: unicast to us, answered unicast to ciaddr. */
    fx.now = T0 + 1800;
    m.ciaddr = addr;
    m.ip_src = addr;
    m.unicast = true;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPACK);
    g_assert_false(fx.out.broadcast);
    g_assert_cmpmem(fx.out.dst_mac, 6, mac(1), 6);
    g_assert_cmphex(fx.ip.dst, ==, addr);
    g_assert_cmphex(fx.msg.hdr.ciaddr, ==, addr);
    g_assert_cmphex(fx.msg.hdr.yiaddr, ==, addr);
    list_leases(&fx, &list);
    g_assert_cmpuint(list.lease[0].expires, ==, T0 + 1800 + 3600);

    /* REBINDING at T2: broadcast, still answered unicast to ciaddr. */
    fx.now = T0 + 1800 + 3200;
    m.unicast = false;
    m.flags = VPC_DHCP_FLAG_BROADCAST;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPACK);
    g_assert_false(fx.out.broadcast);
    g_assert_cmphex(fx.ip.dst, ==, addr);
    list_leases(&fx, &list);
    g_assert_cmpuint(list.lease[0].expires, ==, T0 + 1800 + 3200 + 3600);

    /* Renewing an address that is not its own: NAK, broadcast. */
    m.ciaddr = addr + 1;
    m.ip_src = addr + 1;
    m.unicast = true;
    m.flags = 0;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPNAK);
    g_assert_true(fx.out.broadcast);

    /* ciaddr and a different option 50 contradict each other. */
    m.ciaddr = addr;
    m.requested = addr + 1;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPNAK);
    fx_finish(&fx);
}

/* A relay gets the replies, on port 67, at its MAC. */
static void test_relay(void)
{
    static const uint8_t relay_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };
    Fixture fx;
    ClientMsg m = { .type = VPC_DHCPDISCOVER, .client = 1,
                    .giaddr = IP(169, 254, 0, 2), .relay_mac = relay_mac,
                    .flags = VPC_DHCP_FLAG_BROADCAST };
    uint32_t addr;

    fx_init(&fx);
    fx_start(&fx);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPOFFER);
    g_assert_false(fx.out.broadcast);
    g_assert_cmpmem(fx.out.dst_mac, 6, relay_mac, 6);
    g_assert_cmphex(fx.ip.dst, ==, IP(169, 254, 0, 2));
    g_assert_cmpuint(fx.udp.dst_port, ==, VPC_DHCP_SERVER_PORT);
    g_assert_cmphex(fx.msg.hdr.giaddr, ==, IP(169, 254, 0, 2));
    addr = fx.msg.hdr.yiaddr;

    m.type = VPC_DHCPREQUEST;
    m.server_id = SERVER_IP;
    m.requested = addr;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPACK);
    g_assert_cmpuint(fx.udp.dst_port, ==, VPC_DHCP_SERVER_PORT);

    /* A NAK also goes to the relay, with the broadcast bit set. */
    m.flags = 0;
    m.requested = addr + 1;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPNAK);
    g_assert_cmpmem(fx.out.dst_mac, 6, relay_mac, 6);
    g_assert_cmphex(fx.ip.dst, ==, IP(169, 254, 0, 2));
    g_assert_cmphex(fx.msg.hdr.flags & VPC_DHCP_FLAG_BROADCAST, !=, 0);

    /* A relay on another subnet: we have no pool for it. */
    m.type = VPC_DHCPDISCOVER;
    m.giaddr = IP(10, 1, 1, 1);
    m.server_id = 0;
    m.requested = 0;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->wrong_subnet, ==, 1);
    fx_finish(&fx);
}

static void test_inform(void)
{
    Fixture fx;
    LeaseList list;
    ClientMsg m = { .type = VPC_DHCPINFORM, .client = 1,
                    .ciaddr = IP(169, 254, 20, 5),
                    .ip_src = IP(169, 254, 20, 5), .unicast = true };
    uint32_t v;

    fx_init(&fx);
    fx.cfg.router = IP(169, 254, 0, 2);
    fx_start(&fx);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPACK);
    g_assert_cmphex(fx.msg.hdr.yiaddr, ==, 0);
    g_assert_cmphex(fx.msg.hdr.ciaddr, ==, IP(169, 254, 20, 5));
    g_assert_cmphex(fx.ip.dst, ==, IP(169, 254, 20, 5));
    g_assert_cmpmem(fx.out.dst_mac, 6, mac(1), 6);
    g_assert_false(reply_has(&fx, VPC_DHCP_OPT_LEASE_TIME));
    g_assert_false(reply_has(&fx, VPC_DHCP_OPT_T1));
    g_assert_false(reply_has(&fx, VPC_DHCP_OPT_T2));
    g_assert_true(reply_u32(&fx, VPC_DHCP_OPT_SUBNET_MASK, &v));
    g_assert_true(reply_u32(&fx, VPC_DHCP_OPT_ROUTER, &v));
    list_leases(&fx, &list);
    g_assert_cmpuint(list.n, ==, 0);

    /* ciaddr left empty: the source address says where the client is. */
    m.ciaddr = 0;
    m.ip_src = IP(169, 254, 20, 6);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmphex(fx.ip.dst, ==, IP(169, 254, 20, 6));

    m.ip_src = 0;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->inform_no_address, ==, 1);
    m.ciaddr = m.ip_src = IP(10, 0, 0, 1);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->wrong_subnet, ==, 1);
    g_assert_cmpuint(stats(&fx)->rx_inform, ==, 4);
    fx_finish(&fx);
}

static void test_decline(void)
{
    Fixture fx;
    LeaseList list;
    ClientMsg m = { .type = VPC_DHCPDECLINE, .client = 1,
                    .server_id = SERVER_IP };
    const VpcDhcpLeaseInfo *held;
    uint32_t addr;

    fx_init(&fx);
    fx_start(&fx);
    addr = dora(&fx, 1, 0);

    /* Somebody else cannot decline it for the holder. */
    m.client = 2;
    m.requested = addr;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_CONSUMED);
    g_assert_cmpuint(stats(&fx)->decline_ignored, ==, 1);

    m.client = 1;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_CONSUMED);
    g_assert_cmpuint(stats(&fx)->declined, ==, 1);
    list_leases(&fx, &list);
    held = lease_of_addr(&list, addr);
    g_assert_nonnull(held);
    g_assert_cmpuint(held->state, ==, VPC_DHCP_LEASE_DECLINED);
    g_assert_true(vpc_mac_is_zero(held->mac));
    g_assert_cmpuint(held->expires, ==, T0 + 600);

    /* Held back: not for the decliner, not for anyone asking for it. */
    g_assert_cmphex(dora(&fx, 1, 0), !=, addr);
    g_assert_cmphex(dora(&fx, 2, addr), !=, addr);
    m.type = VPC_DHCPREQUEST;
    m.client = 3;
    m.server_id = 0;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPNAK);

    /* After the hold it can be had again. */
    fx.now = T0 + 599;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPNAK);
    fx.now = T0 + 600;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPACK);
    g_assert_cmphex(fx.msg.hdr.yiaddr, ==, addr);

    /* A DECLINE naming another server, or without option 50. */
    m.type = VPC_DHCPDECLINE;
    m.server_id = IP(169, 254, 0, 99);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->wrong_server, ==, 1);
    m.server_id = SERVER_IP;
    m.requested = 0;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->bad_request, ==, 1);
    fx_finish(&fx);
}

/* With no decline hold, a declined address is simply free again. */
static void test_decline_no_hold(void)
{
    Fixture fx;
    LeaseList list;
    ClientMsg m = { .type = VPC_DHCPDECLINE, .client = 1,
                    .server_id = SERVER_IP };

    fx_init(&fx);
    fx.cfg.decline_hold = 0;
    fx.cfg.range_end = fx.cfg.range_start;
    fx_start(&fx);
    m.requested = dora(&fx, 1, 0);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_CONSUMED);
    g_assert_cmpuint(stats(&fx)->declined, ==, 1);
    list_leases(&fx, &list);
    g_assert_cmpuint(list.n, ==, 0);
    g_assert_cmphex(dora(&fx, 2, 0), ==, RANGE_FIRST);
    fx_finish(&fx);
}

static void test_release_same_address(void)
{
    Fixture fx;
    LeaseList list;
    ClientMsg m = { .type = VPC_DHCPRELEASE, .client = 1,
                    .server_id = SERVER_IP, .unicast = true };
    uint32_t addr;

    fx_init(&fx);
    fx_start(&fx);
    addr = dora(&fx, 1, 0);

    /* A RELEASE for an address the client does not hold changes nothing. */
    m.ciaddr = m.ip_src = addr + 1;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_CONSUMED);
    g_assert_cmpuint(stats(&fx)->release_ignored, ==, 1);

    m.ciaddr = m.ip_src = addr;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_CONSUMED);
    g_assert_cmpuint(stats(&fx)->released, ==, 1);
    list_leases(&fx, &list);
    g_assert_cmpuint(list.n, ==, 1);
    g_assert_cmpuint(list.lease[0].state, ==, VPC_DHCP_LEASE_RELEASED);

    /* Others, even asking for it, get other addresses while any are left. */
    for (unsigned c = 2; c < 10; c++) {
        g_assert_cmphex(dora(&fx, c, addr), !=, addr);
    }
    /* The client comes back and gets its address again. */
    g_assert_cmphex(dora(&fx, 1, 0), ==, addr);
    fx_finish(&fx);
}

/* One address, 60 s leases: expiry is what frees it. */
static void test_expiry(void)
{
    Fixture fx;
    LeaseList list;
    ClientMsg m = { .type = VPC_DHCPDISCOVER, .client = 2 };
    uint32_t addr;

    fx_init(&fx);
    fx.cfg.range_end = fx.cfg.range_start;
    fx.cfg.lease_time = 60;
    fx_start(&fx);
    addr = dora(&fx, 1, 0);
    g_assert_cmphex(addr, ==, RANGE_FIRST);

    fx.now = T0 + 59;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->no_free_address, ==, 1);

    fx.now = T0 + 60;
    list_leases(&fx, &list);
    g_assert_cmpuint(list.lease[0].state, ==, VPC_DHCP_LEASE_RELEASED);
    g_assert_cmpuint(stats(&fx)->expired, ==, 1);
    g_assert_cmphex(dora(&fx, 2, 0), ==, addr);
    list_leases(&fx, &list);
    g_assert_cmpuint(list.n, ==, 1);
    g_assert_cmpmem(list.lease[0].mac, 6, mac(2), 6);
    fx_finish(&fx);
}

/* An offer holds its address for offer_hold seconds, no longer. */
static void test_offer_hold(void)
{
    Fixture fx;
    ClientMsg m = { .type = VPC_DHCPDISCOVER, .client = 1 };

    fx_init(&fx);
    fx.cfg.range_end = fx.cfg.range_start;
    fx_start(&fx);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    m.client = 2;
    fx.now = T0 + 59;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);
    fx.now = T0 + 60;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmphex(fx.msg.hdr.yiaddr, ==, RANGE_FIRST);
    fx_finish(&fx);
}

static void test_reservations(void)
{
    Fixture fx;
    LeaseList list;
    VpcDhcpReservation resv[2];
    ClientMsg m = { .type = VPC_DHCPREQUEST, .client = 5 };
    const VpcDhcpLeaseInfo *info;
    uint32_t addr;

    memcpy(resv[0].mac, mac(10), 6);
    resv[0].addr = IP(169, 254, 20, 20);        /* outside the range */
    memcpy(resv[1].mac, mac(11), 6);
    resv[1].addr = IP(169, 254, 0, 50);         /* inside the range */
    fx_init(&fx);
    fx.cfg.reservations = resv;
    fx.cfg.n_reservations = 2;
    fx_start(&fx);

    /* The reservation wins over what the client asks for. */
    g_assert_cmphex(dora(&fx, 10, IP(169, 254, 0, 30)), ==,
                    IP(169, 254, 20, 20));
    g_assert_cmphex(dora(&fx, 11, 0), ==, IP(169, 254, 0, 50));
    list_leases(&fx, &list);
    info = lease_of_addr(&list, IP(169, 254, 20, 20));
    g_assert_nonnull(info);
    g_assert_true(info->reserved);

    /* Nobody else gets a reserved address, asked for or not. */
    g_assert_cmphex(dora(&fx, 12, IP(169, 254, 0, 50)), !=,
                    IP(169, 254, 0, 50));
    m.requested = IP(169, 254, 20, 20);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPNAK);
    /* And the reserved client gets nothing else. */
    m.client = 10;
    m.requested = IP(169, 254, 0, 31);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPNAK);

    /* Unless its address is declined: then the pool serves it. */
    m.type = VPC_DHCPDECLINE;
    m.server_id = SERVER_IP;
    m.requested = IP(169, 254, 20, 20);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_CONSUMED);
    addr = dora(&fx, 10, 0);
    g_assert_cmphex(addr, >=, RANGE_FIRST);
    g_assert_cmphex(addr, <=, RANGE_LAST);
    /* After the hold the reservation wins again. */
    fx.now = T0 + 600;
    g_assert_cmphex(dora(&fx, 10, 0), ==, IP(169, 254, 20, 20));
    fx_finish(&fx);
}

static void test_pool_exhausted(void)
{
    Fixture fx;
    ClientMsg m = { .type = VPC_DHCPDISCOVER, .client = 4 };
    uint32_t got[3];

    fx_init(&fx);
    fx.cfg.range_end = fx.cfg.range_start + 2;
    fx_start(&fx);
    for (unsigned c = 1; c <= 3; c++) {
        got[c - 1] = dora(&fx, c, 0);
    }
    g_assert_cmphex(got[0], !=, got[1]);
    g_assert_cmphex(got[1], !=, got[2]);
    g_assert_cmphex(got[0], !=, got[2]);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->no_free_address, ==, 1);
    g_assert_cmpuint(stats(&fx)->tx_offer, ==, 3);
    fx_finish(&fx);
}

/* A full lease table: no OFFER, counted, until a slot is reusable. */
static void test_table_full(void)
{
    Fixture fx;
    ClientMsg m = { .type = VPC_DHCPDISCOVER, .client = 3 };
    ClientMsg rel = { .type = VPC_DHCPRELEASE, .client = 1,
                      .server_id = SERVER_IP, .unicast = true };

    fx_init(&fx);
    fx.cfg.max_leases = 2;
    fx_start(&fx);
    rel.ciaddr = dora(&fx, 1, 0);
    dora(&fx, 2, 0);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->no_free_slot, ==, 1);
    g_assert_cmpuint(stats(&fx)->tx_offer, ==, 2);
    /* No ACK either for an unknown client asking for a free address. */
    m.type = VPC_DHCPREQUEST;
    m.requested = IP(169, 254, 5, 5);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->no_free_slot, ==, 2);
    g_assert_cmpuint(stats(&fx)->tx_ack, ==, 2);
    m.type = VPC_DHCPDISCOVER;
    m.requested = 0;
    /* A released client's memory gives way to a new client. */
    g_assert_cmpint(send_msg(&fx, &rel), ==, VPC_DHCP_CONSUMED);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPOFFER);
    fx_finish(&fx);
}

/* A REQUEST selecting another server withdraws our offer. */
static void test_request_other_server(void)
{
    Fixture fx;
    LeaseList list;
    ClientMsg m = { .type = VPC_DHCPDISCOVER, .client = 1 };

    fx_init(&fx);
    fx.cfg.range_end = fx.cfg.range_start;
    fx_start(&fx);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    m.client = 2;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_DROPPED);

    m.client = 1;
    m.type = VPC_DHCPREQUEST;
    m.server_id = IP(169, 254, 0, 99);
    m.requested = IP(169, 254, 0, 200);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_CONSUMED);
    g_assert_cmpuint(stats(&fx)->offer_cancelled, ==, 1);
    list_leases(&fx, &list);
    g_assert_cmpuint(list.lease[0].state, ==, VPC_DHCP_LEASE_RELEASED);

    g_assert_cmphex(dora(&fx, 2, 0), ==, RANGE_FIRST);
    fx_finish(&fx);
}

/* The same MAC lands on the same address in fresh servers. */
static void test_hash_stability(void)
{
    Fixture a, b;
    GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);

    fx_init(&a);
    fx_start(&a);
    fx_init(&b);
    fx_start(&b);
    for (unsigned c = 1; c < 30; c++) {
        uint32_t addr = dora(&a, c, 0);

        g_assert_cmphex(dora(&b, c, 0), ==, addr);
        g_hash_table_add(seen, GUINT_TO_POINTER(addr));
    }
    g_assert_cmpuint(g_hash_table_size(seen), ==, 29);
    g_hash_table_destroy(seen);
    fx_finish(&a);
    fx_finish(&b);
}

static void test_client_id_and_hostname(void)
{
    static const uint8_t cid[7] = { 1, 0x00, 0x03, 0xff, 0, 0, 1 };
    uint8_t long_cid[255];
    Fixture fx;
    LeaseList list;
    VpcDhcpOpt opt;
    ClientMsg m = { .type = VPC_DHCPDISCOVER, .client = 1,
                    .client_id = cid, .client_id_len = sizeof(cid),
                    .hostname = "xp-guest" };

    fx_init(&fx);
    fx_start(&fx);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_true(vpc_dhcp_opt_find(&fx.msg, VPC_DHCP_OPT_CLIENT_ID, &opt));
    g_assert_cmpmem(opt.data, opt.len, cid, sizeof(cid));
    list_leases(&fx, &list);
    g_assert_cmpstr(list.lease[0].hostname, ==, "xp-guest");

    /* A host name we could not write back safely is not kept. */
    m.client = 2;
    m.hostname = "bad name\n";
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    list_leases(&fx, &list);
    g_assert_cmpstr(list.lease[1].hostname, ==, "");
    fx_finish(&fx);

    /* Every option at its largest: the reply still fits 576 bytes. */
    memset(long_cid, 0x5a, sizeof(long_cid));
    fx_init(&fx);
    fx.cfg.router = IP(169, 254, 0, 2);
    fx.cfg.n_dns = 4;
    for (unsigned i = 0; i < 4; i++) {
        fx.cfg.dns[i] = IP(192, 0, 2, i + 1);
    }
    memset(fx.cfg.domain, 'd', VPC_DHCP_DOMAIN_MAX);
    fx_start(&fx);
    m.client = 3;
    m.client_id = long_cid;
    m.client_id_len = sizeof(long_cid);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_true(reply_has(&fx, VPC_DHCP_OPT_DOMAIN));
    g_assert_false(reply_has(&fx, VPC_DHCP_OPT_CLIENT_ID));
    g_assert_cmpuint(fx.ip.total_len, <=, 576);
    fx_finish(&fx);
}

/* Frames that are not DHCP requests to us, each counted by reason. */
static void test_drops_counted(void)
{
    Fixture fx;
    LeaseList list;
    ClientMsg m = { .type = VPC_DHCPDISCOVER, .client = 1 };
    uint8_t frame[1514], *ip = frame + 14, *dhcp = frame + 42;
    size_t len;
    VpcDhcpReply out;

    fx_init(&fx);
    fx_start(&fx);
    len = build_request(&fx, &m, frame, sizeof(frame));

    /*
     * Below DHCP, a malformed frame is counted and handed back: a switch
     * forwards it like any other frame.
     */
    g_assert_cmpint(send_frame(&fx, frame, 10), ==, VPC_DHCP_NOT_DHCP);
    g_assert_cmpuint(stats(&fx)->malformed[-VPC_PKT_ETH_TRUNCATED], ==, 1);
    g_assert_cmpint(send_frame(&fx, frame, 30), ==, VPC_DHCP_NOT_DHCP);
    g_assert_cmpuint(stats(&fx)->malformed[-VPC_PKT_IP_TRUNCATED], ==, 1);
    g_assert_cmpint(send_frame(&fx, frame, len - 1), ==, VPC_DHCP_NOT_DHCP);
    g_assert_cmpuint(stats(&fx)->malformed[-VPC_PKT_IP_TOTAL_LENGTH], ==, 1);

    ip[10] ^= 1;
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_NOT_DHCP);
    g_assert_cmpuint(stats(&fx)->malformed[-VPC_PKT_IP_CHECKSUM], ==, 1);
    ip[10] ^= 1;

    frame[50] ^= 1;                     /* inside the DHCP payload */
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_NOT_DHCP);
    g_assert_cmpuint(stats(&fx)->malformed[-VPC_PKT_UDP_CHECKSUM], ==, 1);
    frame[50] ^= 1;
    list_leases(&fx, &list);
    g_assert_cmpuint(list.n, ==, 0);

    /* Without a UDP checksum, edit the DHCP part freely. */
    vpc_put_be16(frame + 40, 0);
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_REPLY);
    dhcp[243] = VPC_DHCP_OPT_PAD;       /* END after option 53 */
    memset(dhcp + 243, 0, len - 42 - 243);
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->malformed[-VPC_PKT_DHCP_NO_END], ==, 1);
    dhcp[243] = VPC_DHCP_OPT_END;
    dhcp[236] = 0;
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->malformed[-VPC_PKT_DHCP_COOKIE], ==, 1);
    dhcp[236] = 0x63;

    dhcp[0] = VPC_BOOTREPLY;
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->not_bootrequest, ==, 1);
    dhcp[0] = VPC_BOOTREQUEST;
    dhcp[1] = 6;                        /* IEEE 802 hardware type */
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->bad_hardware, ==, 1);
    dhcp[1] = 1;
    dhcp[28] = 0x01;                    /* multicast chaddr */
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->bad_hardware, ==, 2);
    dhcp[28] = 0x00;
    dhcp[242] = VPC_DHCPOFFER;
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->bad_message_type, ==, 1);
    dhcp[240] = 60;                     /* option 53 becomes option 60 */
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->no_message_type, ==, 1);
    dhcp[240] = VPC_DHCP_OPT_MSG_TYPE;
    dhcp[242] = VPC_DHCPDISCOVER;

    /* Not for us: another port, another MAC, another address. */
    vpc_put_be16(frame + 36, 68);
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_NOT_DHCP);
    g_assert_cmpuint(stats(&fx)->not_dhcp, ==, 1);
    vpc_put_be16(frame + 36, 67);
    memcpy(frame, mac(9), 6);
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_NOT_DHCP);
    g_assert_cmpuint(stats(&fx)->other_destination, ==, 1);
    memcpy(frame, bcast_mac, 6);
    vpc_put_be32(ip + 16, IP(169, 254, 0, 9));
    vpc_put_be16(ip + 10, 0);
    vpc_put_be16(ip + 10, vpc_ip_checksum(ip, 20));
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_NOT_DHCP);
    g_assert_cmpuint(stats(&fx)->other_destination, ==, 2);
    /* The subnet's broadcast address is for us. */
    vpc_put_be32(ip + 16, IP(169, 254, 255, 255));
    vpc_put_be16(ip + 10, 0);
    vpc_put_be16(ip + 10, vpc_ip_checksum(ip, 20));
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_REPLY);
    /* A fragment. */
    vpc_put_be16(ip + 6, 0x2000);
    vpc_put_be16(ip + 10, 0);
    vpc_put_be16(ip + 10, vpc_ip_checksum(ip, 20));
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->fragments, ==, 1);
    vpc_put_be16(ip + 6, 0);
    vpc_put_be16(ip + 10, 0);
    vpc_put_be16(ip + 10, vpc_ip_checksum(ip, 20));
    /* Another protocol; then ARP. */
    ip[9] = VPC_IP_PROTO_TCP;
    vpc_put_be16(ip + 10, 0);
    vpc_put_be16(ip + 10, vpc_ip_checksum(ip, 20));
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_NOT_DHCP);
    g_assert_cmpuint(stats(&fx)->not_dhcp, ==, 2);
    vpc_put_be16(frame + 12, VPC_ETHERTYPE_ARP);
    g_assert_cmpint(send_frame(&fx, frame, 60), ==, VPC_DHCP_NOT_DHCP);
    g_assert_cmpuint(stats(&fx)->not_dhcp, ==, 3);
    vpc_put_be16(frame + 12, VPC_ETHERTYPE_VLAN);
    g_assert_cmpint(send_frame(&fx, frame, len), ==, VPC_DHCP_NOT_DHCP);
    g_assert_cmpuint(stats(&fx)->vlan_tagged, ==, 1);
    g_assert_cmpuint(stats(&fx)->frames, ==, 21);
    fx_stop(&fx);

    /* A reply buffer too small: dropped before any state changes. */
    fx_start(&fx);
    len = build_request(&fx, &m, frame, sizeof(frame));
    g_assert_cmpint(vpc_dhcp_server_input(fx.s, 0, frame, len, fx.now,
                                          fx.reply, VPC_DHCP_REPLY_MAX - 1,
                                          &out), ==, VPC_DHCP_DROPPED);
    g_assert_cmpuint(stats(&fx)->reply_no_space, ==, 1);
    list_leases(&fx, &list);
    g_assert_cmpuint(list.n, ==, 0);
    fx_finish(&fx);
}

static GPtrArray *dir_entries(const char *dir)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d))) {
        g_ptr_array_add(names, g_strdup(name));
    }
    g_dir_close(d);
    return names;
}

static void remove_dir(const char *dir)
{
    GPtrArray *names = dir_entries(dir);

    for (unsigned i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(dir, names->pdata[i], NULL);
        g_unlink(path);
    }
    g_ptr_array_free(names, TRUE);
    g_rmdir(dir);
}

static void test_persistence(void)
{
    g_autofree char *dir = g_dir_make_tmp("vpcnet-dhcp-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "leases", NULL);
    g_autofree char *contents = NULL;
    Fixture fx;
    LeaseList list;
    ClientMsg m = { .type = VPC_DHCPDISCOVER, .client = 1,
                    .hostname = "guest-a",
                    .flags = VPC_DHCP_FLAG_BROADCAST };
    GPtrArray *names;
    uint32_t a, b, c;
    const VpcDhcpLeaseInfo *info;

    fx_init(&fx);
    fx.lease_file = file;
    fx.save_each = true;
    fx_start(&fx);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    a = fx.msg.hdr.yiaddr;
    /* An offer alone writes nothing. */
    g_assert_cmpuint(lf_stats(&fx)->writes, ==, 0);
    m.type = VPC_DHCPREQUEST;
    m.server_id = SERVER_IP;
    m.requested = a;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(lf_stats(&fx)->writes, ==, 1);
    b = dora(&fx, 2, 0);
    c = dora(&fx, 3, 0);
    m = (ClientMsg) { .type = VPC_DHCPRELEASE, .client = 2, .ciaddr = b,
                      .ip_src = b, .unicast = true, .server_id = SERVER_IP };
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_CONSUMED);
    m = (ClientMsg) { .type = VPC_DHCPDECLINE, .client = 3, .requested = c,
                      .server_id = SERVER_IP };
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_CONSUMED);
    g_assert_cmpuint(lf_stats(&fx)->writes, ==, 5);
    g_assert_cmpuint(lf_stats(&fx)->write_errors, ==, 0);

    /* A renewal a moment later is not worth an fsync... */
    fx.now += 10;
    m = (ClientMsg) { .type = VPC_DHCPREQUEST, .client = 1, .ciaddr = a,
                      .ip_src = a, .unicast = true };
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(lf_stats(&fx)->writes, ==, 5);
    /* ...one that moves the expiry by more than an eighth is. */
    fx.now = T0 + 500;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(lf_stats(&fx)->writes, ==, 6);
    fx_stop(&fx);

    /* Only the lease file is left: no temporary file behind. */
    names = dir_entries(dir);
    g_assert_cmpuint(names->len, ==, 1);
    g_assert_cmpstr(names->pdata[0], ==, "leases");
    g_ptr_array_free(names, TRUE);
    g_assert_true(g_file_get_contents(file, &contents, NULL, NULL));
    g_assert_true(g_str_has_prefix(contents, "# vpcnet"));
    g_assert_nonnull(strstr(contents, "\nvpcnet-dhcp-leases 1\n"));
    g_assert_nonnull(strstr(contents, " guest-a\n"));

    /* A new server on the same file knows everything again. */
    fx_start(&fx);
    g_assert_cmpuint(lf_stats(&fx)->loaded, ==, 3);
    g_assert_cmpuint(lf_stats(&fx)->bad_lines, ==, 0);
    g_assert_cmpstr(fx.log->str, ==, "");
    list_leases(&fx, &list);
    g_assert_cmpuint(list.n, ==, 3);
    info = lease_of_addr(&list, a);
    g_assert_cmpuint(info->state, ==, VPC_DHCP_LEASE_BOUND);
    g_assert_cmpmem(info->mac, 6, mac(1), 6);
    g_assert_cmpuint(info->expires, ==, T0 + 500 + 3600);
    g_assert_cmpstr(info->hostname, ==, "guest-a");
    info = lease_of_addr(&list, b);
    g_assert_cmpuint(info->state, ==, VPC_DHCP_LEASE_RELEASED);
    info = lease_of_addr(&list, c);
    g_assert_cmpuint(info->state, ==, VPC_DHCP_LEASE_DECLINED);
    g_assert_cmpuint(info->expires, ==, T0 + 600);

    m = (ClientMsg) { .type = VPC_DHCPREQUEST, .client = 1, .requested = a };
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPACK);
    m.requested = b;
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPNAK);
    g_assert_cmphex(dora(&fx, 2, 0), ==, b);
    g_assert_cmphex(dora(&fx, 4, c), !=, c);
    fx_finish(&fx);
    remove_dir(dir);
}

static void test_lease_file_corrupt(void)
{
    g_autofree char *dir = g_dir_make_tmp("vpcnet-dhcp-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "leases", NULL);
    g_autofree char *long_line = g_strnfill(300, 'a');
    GString *text = g_string_new("");
    Fixture fx;
    LeaseList list;
    ClientMsg m = { .type = VPC_DHCPREQUEST, .client = 1,
                    .requested = IP(169, 254, 0, 20) };

    g_string_append(text,
        "# comment\n"
        "vpcnet-dhcp-leases 1\n"
        "\n"
        "00:03:ff:00:00:01 169.254.0.20 bound 1700003600 good-one\n"
        "garbage\n"                                                 /* 5 */
        "00:03:ff:00:00:02 169.254.0.21 bound 1700003600\n"
        "00:03:ff:00:00:0g 169.254.0.22 bound 1700003600 -\n"
        "01:03:ff:00:00:03 169.254.0.23 bound 1700003600 -\n"
        "00:03:ff:00:00:04 169.254.0.300 bound 1700003600 -\n"
        "00:03:ff:00:00:05 10.0.0.1 bound 1700003600 -\n"           /* 10 */
        "00:03:ff:00:00:06 169.254.11.1 bound 1700003600 -\n"
        "00:03:ff:00:00:01 169.254.0.24 bound 1700003600 -\n"
        "00:03:ff:00:00:07 169.254.0.20 bound 1700003600 -\n"
        "00:03:ff:00:00:08 169.254.0.25 leased 1700003600 -\n"
        "00:03:ff:00:00:09 169.254.0.26 bound -5 -\n"               /* 15 */
        "00:03:ff:00:00:0a 169.254.0.27 bound 99999999999999999999 -\n"
        "00:03:ff:00:00:0b 169.254.0.28 bound 1700003600 bad/host\n");
    g_string_append_printf(text, "%s\n", long_line);
    g_string_append(text, "00:03:ff:00:00:0c 169.254.0.29 bound 1700");
    g_string_append_c(text, '\0');
    g_string_append(text, "003600 -\n"                              /* 19 */
        "00:03:ff:00:00:0d 169.254.0.1 bound 1700003600 -\n"
        "00:03:ff:00:00:0e 169.254.0.30 released 1699990000 -\n"
        "- 169.254.0.31 declined 1700000300 -\n"
        "00:03:ff:00:00:0f 169.254.0.32 declined 1700000300 -\n"
        "00:03:ff:00:00:10 169.254.0.33 bound 1700003600 - extra\n"
        "00:03:ff:00:00:11 169.254.0.34 bound 17000");             /* 25 */
    g_assert_true(g_file_set_contents(file, text->str, text->len, NULL));

    fx_init(&fx);
    fx.lease_file = file;
    fx_start(&fx);
    g_assert_cmpuint(lf_stats(&fx)->loaded, ==, 3);
    g_assert_cmpuint(lf_stats(&fx)->bad_lines, ==, 19);
    g_assert_nonnull(strstr(fx.log->str, "line 5: not five fields"));
    g_assert_nonnull(strstr(fx.log->str, "line 12: second entry for one "
                            "client"));
    g_assert_nonnull(strstr(fx.log->str, "line 13: second entry for one "
                            "address"));
    g_assert_nonnull(strstr(fx.log->str, "line 18: too long"));
    g_assert_nonnull(strstr(fx.log->str, "line 19: NUL"));
    g_assert_nonnull(strstr(fx.log->str, "line 25: truncated"));
    list_leases(&fx, &list);
    g_assert_cmpuint(list.n, ==, 3);
    g_assert_cmpstr(lease_of_addr(&list, IP(169, 254, 0, 20))->hostname, ==,
                    "good-one");
    g_assert_cmpuint(lease_of_addr(&list, IP(169, 254, 0, 31))->state, ==,
                    VPC_DHCP_LEASE_DECLINED);
    g_assert_cmpint(send_msg(&fx, &m), ==, VPC_DHCP_REPLY);
    g_assert_cmpuint(fx.out.msg_type, ==, VPC_DHCPACK);
    fx_finish(&fx);

    /* A format we do not know: nothing is taken. */
    g_string_assign(text, "vpcnet-dhcp-leases 2\n"
                    "00:03:ff:00:00:01 169.254.0.20 bound 1700003600 -\n");
    g_assert_true(g_file_set_contents(file, text->str, text->len, NULL));
    fx_init(&fx);
    fx.lease_file = file;
    fx_start(&fx);
    g_assert_cmpuint(lf_stats(&fx)->loaded, ==, 0);
    g_assert_cmpuint(lf_stats(&fx)->bad_lines, ==, 1);
    fx_finish(&fx);

    /* No header: reported once, the lines still judged one by one. */
    g_string_assign(text,
                    "00:03:ff:00:00:01 169.254.0.20 bound 1700003600 -\n");
    g_assert_true(g_file_set_contents(file, text->str, text->len, NULL));
    fx_init(&fx);
    fx.lease_file = file;
    fx_start(&fx);
    g_assert_cmpuint(lf_stats(&fx)->loaded, ==, 1);
    g_assert_cmpuint(lf_stats(&fx)->bad_lines, ==, 1);
    fx_finish(&fx);

    /* A lease from the far future is cut to one lease time. */
    g_string_assign(text, "vpcnet-dhcp-leases 1\n"
                    "00:03:ff:00:00:01 169.254.0.20 bound "
                    "18446744073709551615 -\n");
    g_assert_true(g_file_set_contents(file, text->str, text->len, NULL));
    fx_init(&fx);
    fx.lease_file = file;
    fx_start(&fx);
    list_leases(&fx, &list);
    g_assert_cmpuint(list.lease[0].expires, ==, T0 + 3600);
    fx_finish(&fx);

    g_string_free(text, TRUE);
    remove_dir(dir);
}

/*
 * The core never touches the file: a burst of requests only marks the
 * table dirty, and one save by the embedder stores all of it.
 */
static void test_lease_file_burst(void)
{
    g_autofree char *dir = g_dir_make_tmp("vpcnet-dhcp-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "leases", NULL);
    g_autofree char *contents = NULL;
    g_auto(GStrv) bound = NULL;
    Fixture fx;

    fx_init(&fx);
    fx.lease_file = file;
    fx_start(&fx);
    g_assert_false(vpc_dhcp_server_dirty(fx.s));
    for (unsigned i = 1; i <= 50; i++) {
        dora(&fx, i, 0);
    }
    g_assert_true(vpc_dhcp_server_dirty(fx.s));
    g_assert_cmpuint(lf_stats(&fx)->writes, ==, 0);
    g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
    g_assert_cmpint(vpc_dhcp_lease_file_save(fx.lf, fx.s, fx.now), ==, 0);
    g_assert_false(vpc_dhcp_server_dirty(fx.s));
    g_assert_cmpuint(lf_stats(&fx)->writes, ==, 1);
    g_assert_true(g_file_get_contents(file, &contents, NULL, NULL));
    bound = g_strsplit(contents, " bound ", -1);
    g_assert_cmpuint(g_strv_length(bound), ==, 51);
    fx_stop(&fx);
    fx_start(&fx);
    g_assert_cmpuint(lf_stats(&fx)->loaded, ==, 50);
    fx_finish(&fx);
    remove_dir(dir);
}

/* A lease file that cannot be written: served anyway, reported. */
static void test_lease_file_unwritable(void)
{
    Fixture fx;

    fx_init(&fx);
    fx.lease_file = "/nonexistent-vpcnet-dir/leases";
    fx.save_each = true;
    fx_start(&fx);
    dora(&fx, 1, 0);
    g_assert_cmpuint(lf_stats(&fx)->write_errors, ==, 1);
    g_assert_nonnull(strstr(fx.log->str, "cannot create"));
    fx_finish(&fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vpcnet/dhcp/config", test_config);
    g_test_add_func("/vpcnet/dhcp/dora", test_dora);
    g_test_add_func("/vpcnet/dhcp/options-configured",
                    test_options_configured);
    g_test_add_func("/vpcnet/dhcp/broadcast-flag", test_broadcast_flag);
    g_test_add_func("/vpcnet/dhcp/init-reboot", test_init_reboot);
    g_test_add_func("/vpcnet/dhcp/init-reboot-not-authoritative",
                    test_init_reboot_not_authoritative);
    g_test_add_func("/vpcnet/dhcp/renew-rebind", test_renew_rebind);
    g_test_add_func("/vpcnet/dhcp/relay", test_relay);
    g_test_add_func("/vpcnet/dhcp/inform", test_inform);
    g_test_add_func("/vpcnet/dhcp/decline", test_decline);
    g_test_add_func("/vpcnet/dhcp/decline-no-hold", test_decline_no_hold);
    g_test_add_func("/vpcnet/dhcp/release-same-address",
                    test_release_same_address);
    g_test_add_func("/vpcnet/dhcp/expiry", test_expiry);
    g_test_add_func("/vpcnet/dhcp/offer-hold", test_offer_hold);
    g_test_add_func("/vpcnet/dhcp/reservations", test_reservations);
    g_test_add_func("/vpcnet/dhcp/pool-exhausted", test_pool_exhausted);
    g_test_add_func("/vpcnet/dhcp/table-full", test_table_full);
    g_test_add_func("/vpcnet/dhcp/request-other-server",
                    test_request_other_server);
    g_test_add_func("/vpcnet/dhcp/hash-stability", test_hash_stability);
    g_test_add_func("/vpcnet/dhcp/client-id-and-hostname",
                    test_client_id_and_hostname);
    g_test_add_func("/vpcnet/dhcp/drops-counted", test_drops_counted);
    g_test_add_func("/vpcnet/dhcp/persistence", test_persistence);
    g_test_add_func("/vpcnet/dhcp/lease-file-corrupt",
                    test_lease_file_corrupt);
    g_test_add_func("/vpcnet/dhcp/lease-file-unwritable",
                    test_lease_file_unwritable);
    g_test_add_func("/vpcnet/dhcp/lease-file-burst", test_lease_file_burst);
    return g_test_run();
}
