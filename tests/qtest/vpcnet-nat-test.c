/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qtests for -netdev nat: a dec21140a driven through its rings with the
 * libqos driver is the guest, and real sockets on 127.0.0.1 are the
 * host's side.  The cards send frames built here byte by byte (ARP,
 * DHCP, TCP) and the frames the translator sends back are checked
 * field by field, checksums included:
 *
 * - bad options fail with a message naming the option;
 * - DHCP: DISCOVER/OFFER/REQUEST/ACK with the router, DNS server, mask,
 *   lease time, MTU, host name, domain and search list of the options;
 * - TCP through the gateway to a real server on 127.0.0.1 with
 *   host-loopback=on: handshake, data both ways, FIN both ways;
 * - the host closed by default: the gateway, 127.0.0.1 and every
 *   address of the host's interfaces answer the guest's SYN with RST,
 *   and the server never sees a connection;
 * - port forwards added at run time, with HMP hostfwd_add (with and
 *   without the netdev's id) and with QMP nat-hostfwd-add, reached from
 *   a host socket and answered by the card; removed, they are refused;
 *   query-nat lists them; their errors;
 * - "info network" shows the subnet, the forwards and the counters,
 *   drops by reason among them (an IP fragment, dropped); a UDP forward
 *   carries a datagram both ways;
 * - two nat netdevs in one VM are independent;
 * - with the cable pulled (set_link) TCP towards the card waits, and
 *   resumes when it is plugged in again;
 * - the same works under -sandbox on.
 */
#include "qemu/osdep.h"
#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "libqos/dec21140a.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"

#define ETH_HLEN        14
#define IP_HLEN         20
#define TCP_HLEN        20
#define MAX_NICS        2
#define WAIT_MS         5000

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define GUEST_IP        IP4(10, 0, 2, 15)
#define GATEWAY_IP      IP4(10, 0, 2, 2)
#define DNS_IP          IP4(10, 0, 2, 3)
#define LOOPBACK_IP     IP4(127, 0, 0, 1)

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t guest_mac2[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
/* libslirp's form: 52:55 and the gateway's address. */
static const uint8_t gw_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };

/* Machines: one QEMU with up to MAX_NICS dec21140a cards on nat netdevs */

typedef struct Vm {
    QTestState *qts;
    QPCIBus *bus;
    QGuestAllocator alloc;
    QDec21140a nic[MAX_NICS];
    int n_nics;
} Vm;

/*
 * Start QEMU with @extra, and one card per entry of @opts (what follows
 * "-netdev nat,id=nI,"), card I at slot 5 + I with MAC @macs[I], its
 * filter set to its own address and broadcast as a driver would.
 */
static void vm_start(Vm *vm, const char *extra, int n_nics,
                     const char *const *opts, const uint8_t (*macs)[6])
{
    g_autoptr(GString) cmd = g_string_new("-machine pc -accel qtest");

    g_assert_cmpint(n_nics, <=, MAX_NICS);
    if (extra) {
        g_string_append_printf(cmd, " %s", extra);
    }
    for (int i = 0; i < n_nics; i++) {
        g_string_append_printf(cmd, " -netdev nat,id=n%d%s%s"
                               " -device dec21140a,netdev=n%d,addr=%x.0,"
                               "mac=%02x:%02x:%02x:%02x:%02x:%02x", i,
                               *opts[i] ? "," : "", opts[i], i, 5 + i,
                               macs[i][0], macs[i][1], macs[i][2], macs[i][3],
                               macs[i][4], macs[i][5]);
    }
    vm->qts = qtest_init(cmd->str);
    vm->bus = qpci_new_pc(vm->qts, NULL);
    pc_alloc_init(&vm->alloc, vm->qts, ALLOC_NO_FLAGS);
    vm->n_nics = n_nics;
    for (int i = 0; i < n_nics; i++) {
        const uint8_t filter[2][6] = {
            { macs[i][0], macs[i][1], macs[i][2], macs[i][3], macs[i][4],
              macs[i][5] },
            { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
        };

        qdec_pci_init(&vm->nic[i], vm->bus, QPCI_DEVFN(5 + i, 0));
        qdec_start(&vm->nic[i], &vm->alloc, 0);
        qdec_setup_frame(&vm->nic[i], DEC21140A_FILTER_PERFECT, filter, 2);
    }
}

static void vm_start1(Vm *vm, const char *extra, const char *opts)
{
    const char *const o[] = { opts };

    vm_start(vm, extra, 1, o, &guest_mac);
}

static void vm_stop(Vm *vm)
{
    for (int i = 0; i < vm->n_nics; i++) {
        qdec_stop(&vm->nic[i]);
        qdec_pci_fini(&vm->nic[i]);
    }
    qpci_free_pc(vm->bus);
    alloc_destroy(&vm->alloc);
    qtest_quit(vm->qts);
}

/* Checksums and headers */

static uint32_t be32_at(const uint8_t *p)
{
    return ldl_be_p(p);
}

/* The one's complement sum of @len bytes, folded, added to @sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += lduw_be_p(p + i);
    }
    if (len & 1) {
        sum += p[len - 1] << 8;
    }
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum & 0xffff;
}

/* The checksum of the TCP or UDP segment after the IPv4 header at @ip. */
static uint16_t l4_csum(const uint8_t *ip)
{
    size_t l4_len = lduw_be_p(ip + 2) - IP_HLEN;
    uint32_t sum = csum_add(0, ip + 12, 8) + ip[9] + l4_len;

    return csum_fold(csum_add(sum, ip + IP_HLEN, l4_len));
}

static void eth_put(uint8_t *f, const uint8_t *dst, const uint8_t *src,
                    uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    stw_be_p(f + 12, type);
}

/* An IPv4 header with DF for @l4_len bytes of @proto; @frag_off raw. */
static void ip_put(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto,
                   size_t l4_len, uint16_t frag)
{
    memset(ip, 0, IP_HLEN);
    ip[0] = 0x45;
    stw_be_p(ip + 2, IP_HLEN + l4_len);
    stw_be_p(ip + 4, g_test_rand_int() & 0xffff);
    stw_be_p(ip + 6, frag);
    ip[8] = 64;
    ip[9] = proto;
    stl_be_p(ip + 12, src);
    stl_be_p(ip + 16, dst);
    stw_be_p(ip + 10, csum_fold(csum_add(0, ip, IP_HLEN)));
}

/* The card's frames */

static void send_frame(QDec21140a *d, const uint8_t *frame, size_t len)
{
    g_assert_cmphex(qdec_tx(d, frame, len), ==, 0);
}

/* The next frame for the card, its length; -1 after qdec_rx's wait. */
static int recv_frame(QDec21140a *d, uint8_t *buf, size_t size)
{
    uint32_t rdes0;
    int len = qdec_rx(d, buf, size, &rdes0);

    if (len >= 0) {
        g_assert_false(rdes0 & RDES0_ES);
    }
    return len;
}

/* ARP */

static size_t arp_build(uint8_t *f, const uint8_t *mac, uint32_t spa,
                        uint32_t tpa)
{
    uint8_t *a = f + ETH_HLEN;

    memset(f, 0, 60);
    eth_put(f, bcast, mac, 0x0806);
    stw_be_p(a, 1);
    stw_be_p(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    stw_be_p(a + 6, 1);                 /* request */
    memcpy(a + 8, mac, 6);
    stl_be_p(a + 14, spa);
    stl_be_p(a + 24, tpa);
    return 60;
}

/*
 * The card asks who has @gateway: the translator answers with the
 * gateway's MAC, and learns the card's address and MAC on the way.
 */
static void arp_gateway(QDec21140a *d, const uint8_t *mac, uint32_t ip,
                        uint32_t gateway, const uint8_t *gateway_mac)
{
    uint8_t f[QDEC_BUF_SIZE];
    const uint8_t *a = f + ETH_HLEN;
    int len;

    send_frame(d, f, arp_build(f, mac, ip, gateway));
    len = recv_frame(d, f, sizeof(f));
    g_assert_cmpint(len, >=, ETH_HLEN + 28);
    g_assert_cmpmem(f, 6, mac, 6);
    g_assert_cmpmem(f + 6, 6, gateway_mac, 6);
    g_assert_cmphex(lduw_be_p(f + 12), ==, 0x0806);
    g_assert_cmpuint(lduw_be_p(a + 6), ==, 2);      /* reply */
    g_assert_cmpmem(a + 8, 6, gateway_mac, 6);
    g_assert_cmphex(be32_at(a + 14), ==, gateway);
    g_assert_cmpmem(a + 18, 6, mac, 6);
    g_assert_cmphex(be32_at(a + 24), ==, ip);
}

/* DHCP */

#define UDP_OFF         (ETH_HLEN + IP_HLEN)
#define BOOTP_OFF       (UDP_OFF + 8)
#define BOOTP_XID       4
#define BOOTP_FLAGS     10
#define BOOTP_YIADDR    16
#define BOOTP_CHADDR    28
#define BOOTP_COOKIE    236
#define BOOTP_OPTIONS   240
#define BOOTP_MIN_LEN   300
#define DHCP_FRAME_LEN  (BOOTP_OFF + BOOTP_MIN_LEN)
#define DHCP_COOKIE     0x63825363

enum {
    DHCPDISCOVER = 1,
    DHCPOFFER = 2,
    DHCPREQUEST = 3,
    DHCPACK = 5,
};

enum {
    OPT_PAD = 0,
    OPT_NETMASK = 1,
    OPT_ROUTER = 3,
    OPT_DNS = 6,
    OPT_HOSTNAME = 12,
    OPT_DOMAIN = 15,
    OPT_MTU = 26,
    OPT_REQUESTED_IP = 50,
    OPT_LEASE_TIME = 51,
    OPT_MSG_TYPE = 53,
    OPT_SERVER_ID = 54,
    OPT_PARAM_LIST = 55,
    OPT_SEARCH = 119,
    OPT_END = 255,
};

/* A DISCOVER or REQUEST from @mac, broadcast from 0.0.0.0. */
static size_t dhcp_build(uint8_t *f, const uint8_t *mac, uint32_t xid,
                         uint8_t type, uint32_t requested, uint32_t server_id)
{
    static const uint8_t params[] = {
        OPT_NETMASK, OPT_ROUTER, OPT_DNS, OPT_HOSTNAME, OPT_DOMAIN, OPT_MTU,
        OPT_LEASE_TIME, OPT_SERVER_ID, OPT_SEARCH,
    };
    uint8_t *ip = f + ETH_HLEN, *udp = f + UDP_OFF, *b = f + BOOTP_OFF;
    uint8_t *opt = b + BOOTP_OPTIONS;
    uint16_t csum;

    memset(f, 0, DHCP_FRAME_LEN);
    eth_put(f, bcast, mac, 0x0800);
    b[0] = 1;                           /* BOOTREQUEST */
    b[1] = 1;
    b[2] = 6;
    stl_be_p(b + BOOTP_XID, xid);
    stw_be_p(b + BOOTP_FLAGS, 0x8000);  /* answer by broadcast */
    memcpy(b + BOOTP_CHADDR, mac, 6);
    stl_be_p(b + BOOTP_COOKIE, DHCP_COOKIE);
    *opt++ = OPT_MSG_TYPE;
    *opt++ = 1;
    *opt++ = type;
    if (requested) {
        *opt++ = OPT_REQUESTED_IP;
        *opt++ = 4;
        stl_be_p(opt, requested);
        opt += 4;
    }
    if (server_id) {
        *opt++ = OPT_SERVER_ID;
        *opt++ = 4;
        stl_be_p(opt, server_id);
        opt += 4;
    }
    *opt++ = OPT_PARAM_LIST;
    *opt++ = sizeof(params);
    memcpy(opt, params, sizeof(params));
    opt += sizeof(params);
    *opt++ = OPT_END;
    g_assert_cmpint(opt - b, <=, BOOTP_MIN_LEN);

    ip_put(ip, 0, 0xffffffff, 17, 8 + BOOTP_MIN_LEN, 0);
    stw_be_p(udp, 68);
    stw_be_p(udp + 2, 67);
    stw_be_p(udp + 4, 8 + BOOTP_MIN_LEN);
    csum = l4_csum(ip);
    stw_be_p(udp + 6, csum ? csum : 0xffff);
    return DHCP_FRAME_LEN;
}

typedef struct DhcpReply {
    uint8_t type;
    uint32_t yiaddr;
    uint32_t mask, router, dns, server_id, lease_time;
    unsigned mtu;
    char hostname[64], domain[64];
    uint8_t search[256];
    unsigned search_len;
} DhcpReply;

/*
 * Wait for the server's answer to @xid: a well-formed BOOTREPLY from
 * @server to @mac with good checksums; what it says goes into @r.
 */
static void dhcp_recv(QDec21140a *d, const uint8_t *mac, uint32_t xid,
                      uint32_t server, DhcpReply *r)
{
    uint8_t f[QDEC_BUF_SIZE];
    const uint8_t *ip = f + ETH_HLEN, *udp = f + UDP_OFF, *b = f + BOOTP_OFF;
    size_t ip_len, bootp_len, i;
    int len;

    memset(r, 0, sizeof(*r));
    len = recv_frame(d, f, sizeof(f));
    g_assert_cmpint(len, >=, BOOTP_OFF + BOOTP_OPTIONS);
    g_assert_cmphex(lduw_be_p(f + 12), ==, 0x0800);
    g_assert_cmphex(ip[0], ==, 0x45);
    ip_len = lduw_be_p(ip + 2);
    g_assert_cmpuint(ip_len, <=, len - ETH_HLEN);
    g_assert_cmphex(csum_fold(csum_add(0, ip, IP_HLEN)), ==, 0);
    g_assert_cmphex(ip[9], ==, 17);
    g_assert_cmphex(be32_at(ip + 12), ==, server);
    g_assert_cmpuint(lduw_be_p(udp), ==, 67);
    g_assert_cmpuint(lduw_be_p(udp + 2), ==, 68);
    if (lduw_be_p(udp + 6)) {
        g_assert_cmphex(l4_csum(ip), ==, 0);
    }
    g_assert_cmpuint(b[0], ==, 2);
    g_assert_cmphex(be32_at(b + BOOTP_XID), ==, xid);
    g_assert_cmpmem(b + BOOTP_CHADDR, 6, mac, 6);
    g_assert_cmphex(be32_at(b + BOOTP_COOKIE), ==, DHCP_COOKIE);
    r->yiaddr = be32_at(b + BOOTP_YIADDR);
    bootp_len = ip_len - IP_HLEN - 8;
    for (i = BOOTP_OPTIONS; i < bootp_len && b[i] != OPT_END;) {
        uint8_t code = b[i], olen;
        const uint8_t *val;

        if (code == OPT_PAD) {
            i++;
            continue;
        }
        g_assert_cmpuint(i + 2, <=, bootp_len);
        olen = b[i + 1];
        val = b + i + 2;
        g_assert_cmpuint(i + 2 + olen, <=, bootp_len);
        switch (code) {
        case OPT_MSG_TYPE:
            r->type = val[0];
            break;
        case OPT_NETMASK:
            r->mask = be32_at(val);
            break;
        case OPT_ROUTER:
            r->router = be32_at(val);
            break;
        case OPT_DNS:
            r->dns = be32_at(val);
            break;
        case OPT_SERVER_ID:
            r->server_id = be32_at(val);
            break;
        case OPT_LEASE_TIME:
            r->lease_time = be32_at(val);
            break;
        case OPT_MTU:
            r->mtu = lduw_be_p(val);
            break;
        case OPT_HOSTNAME:
            memcpy(r->hostname, val, MIN(olen, sizeof(r->hostname) - 1));
            break;
        case OPT_DOMAIN:
            memcpy(r->domain, val, MIN(olen, sizeof(r->domain) - 1));
            break;
        case OPT_SEARCH:
            memcpy(r->search, val, olen);
            r->search_len = olen;
            break;
        }
        i += 2 + olen;
    }
    g_assert_cmpuint(i, <, bootp_len);
}

/* DISCOVER, OFFER, REQUEST, ACK: the ACK in @ack. */
static void dhcp_lease(QDec21140a *d, const uint8_t *mac, uint32_t server,
                       DhcpReply *ack)
{
    uint8_t f[DHCP_FRAME_LEN];
    uint32_t xid = g_test_rand_int();
    DhcpReply offer;

    send_frame(d, f, dhcp_build(f, mac, xid, DHCPDISCOVER, 0, 0));
    dhcp_recv(d, mac, xid, server, &offer);
    g_assert_cmpuint(offer.type, ==, DHCPOFFER);
    send_frame(d, f, dhcp_build(f, mac, xid, DHCPREQUEST, offer.yiaddr,
                                offer.server_id));
    dhcp_recv(d, mac, xid, server, ack);
    g_assert_cmpuint(ack->type, ==, DHCPACK);
    g_assert_cmphex(ack->yiaddr, ==, offer.yiaddr);
}

/* TCP, the guest's side */

enum {
    TCP_FIN = 0x01,
    TCP_SYN = 0x02,
    TCP_RST = 0x04,
    TCP_PSH = 0x08,
    TCP_ACK = 0x10,
};

/**
 * Conn: one TCP connection of the card's, with what it knows of it.
 * @d: the card
 * @mac: its MAC
 * @gw_mac: the gateway's MAC
 * @ip: its address
 * @port: its port
 * @peer_ip: the other end as the card sees it
 * @peer_port: its port
 * @snd_nxt: the card's next sequence number
 * @rcv_nxt: the next one expected from the translator
 */
typedef struct Conn {
    QDec21140a *d;
    const uint8_t *mac;
    const uint8_t *gw_mac;
    uint32_t ip;
    uint16_t port;
    uint32_t peer_ip;
    uint16_t peer_port;
    uint32_t snd_nxt;
    uint32_t rcv_nxt;
} Conn;

/* A segment as the card received it. */
typedef struct Seg {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t window;
    unsigned mss;               /* 0: no MSS option */
    uint8_t payload[QDEC_BUF_SIZE];
    size_t len;
} Seg;

/* Send a segment with @flags and @data from the card's end of @c. */
static void tcp_send(Conn *c, uint8_t flags, const void *data, size_t len)
{
    uint8_t f[QDEC_BUF_SIZE];
    uint8_t *ip = f + ETH_HLEN, *tcp = ip + IP_HLEN;
    size_t opt_len = (flags & TCP_SYN) ? 4 : 0;
    size_t hlen = TCP_HLEN + opt_len;

    g_assert_cmpuint(ETH_HLEN + IP_HLEN + hlen + len, <=, sizeof(f));
    memset(f, 0, sizeof(f));
    eth_put(f, c->gw_mac, c->mac, 0x0800);
    stw_be_p(tcp, c->port);
    stw_be_p(tcp + 2, c->peer_port);
    stl_be_p(tcp + 4, c->snd_nxt);
    stl_be_p(tcp + 8, (flags & TCP_ACK) ? c->rcv_nxt : 0);
    tcp[12] = (hlen / 4) << 4;
    tcp[13] = flags;
    stw_be_p(tcp + 14, 29200);
    if (opt_len) {
        tcp[20] = 2;                    /* MSS 1460 */
        tcp[21] = 4;
        stw_be_p(tcp + 22, 1460);
    }
    memcpy(tcp + hlen, data, len);
    ip_put(ip, c->ip, c->peer_ip, 6, hlen + len, 0x4000);
    stw_be_p(tcp + 16, l4_csum(ip));
    send_frame(c->d, f, MAX(ETH_HLEN + IP_HLEN + hlen + len, 60));
    c->snd_nxt += len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
}

/*
 * The next TCP segment of @c for the card, checked (MACs, checksums,
 * addresses), within WAIT_MS; false when none came.  Frames of other
 * kinds (the translator's ARP requests, say) are passed over.
 */
static bool tcp_recv(Conn *c, Seg *s)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;
    uint8_t f[QDEC_BUF_SIZE];

    while (g_get_monotonic_time() < deadline) {
        const uint8_t *ip = f + ETH_HLEN, *tcp = ip + IP_HLEN;
        size_t ip_len, hlen;
        int len = recv_frame(c->d, f, sizeof(f));

        if (len < 0) {
            return false;
        }
        if (len < ETH_HLEN + IP_HLEN + TCP_HLEN ||
            lduw_be_p(f + 12) != 0x0800 || ip[9] != 6) {
            continue;
        }
        g_assert_cmpmem(f, 6, c->mac, 6);
        g_assert_cmpmem(f + 6, 6, c->gw_mac, 6);
        g_assert_cmphex(ip[0], ==, 0x45);
        g_assert_cmphex(csum_fold(csum_add(0, ip, IP_HLEN)), ==, 0);
        ip_len = lduw_be_p(ip + 2);
        g_assert_cmpuint(ip_len, <=, len - ETH_HLEN);
        g_assert_cmphex(l4_csum(ip), ==, 0);
        s->src = be32_at(ip + 12);
        s->dst = be32_at(ip + 16);
        s->sport = lduw_be_p(tcp);
        s->dport = lduw_be_p(tcp + 2);
        if (s->src != c->peer_ip || s->dst != c->ip ||
            s->sport != c->peer_port || s->dport != c->port) {
            continue;
        }
        s->seq = be32_at(tcp + 4);
        s->ack = be32_at(tcp + 8);
        s->flags = tcp[13];
        s->window = lduw_be_p(tcp + 14);
        hlen = (tcp[12] >> 4) * 4;
        g_assert_cmpuint(hlen, >=, TCP_HLEN);
        g_assert_cmpuint(IP_HLEN + hlen, <=, ip_len);
        s->mss = 0;
        for (size_t i = TCP_HLEN; i < hlen;) {
            if (tcp[i] == 0) {
                break;
            }
            if (tcp[i] == 1) {
                i++;
                continue;
            }
            g_assert_cmpuint(i + 2, <=, hlen);
            if (tcp[i] == 2 && tcp[i + 1] == 4) {
                s->mss = lduw_be_p(tcp + i + 2);
            }
            i += tcp[i + 1];
        }
        s->len = ip_len - IP_HLEN - hlen;
        memcpy(s->payload, tcp + hlen, s->len);
        return true;
    }
    return false;
}

/*
 * Wait for @c's next new data (or FIN): segments the card has seen
 * already (retransmissions) and pure ACKs are passed over.  Returns the
 * segment; its data and FIN are acknowledged to the translator.
 */
static void tcp_recv_data(Conn *c, Seg *s)
{
    for (;;) {
        g_assert_true(tcp_recv(c, s));
        g_assert_false(s->flags & TCP_RST);
        if (!s->len && !(s->flags & TCP_FIN)) {
            continue;
        }
        if (s->seq != c->rcv_nxt) {
            /* Sent again before our ACK got there. */
            g_assert_cmpint((int32_t)(s->seq - c->rcv_nxt), <, 0);
            continue;
        }
        c->rcv_nxt += s->len + !!(s->flags & TCP_FIN);
        tcp_send(c, TCP_ACK, NULL, 0);
        return;
    }
}

/* Wait until the translator has acknowledged all the card sent. */
static void tcp_wait_acked(Conn *c)
{
    Seg s;

    do {
        g_assert_true(tcp_recv(c, &s));
        g_assert_false(s.flags & TCP_RST);
        g_assert_true(s.flags & TCP_ACK);
    } while (s.ack != c->snd_nxt);
}

/* UDP, the guest's side */

/* A datagram from @src:@sport to @dst:@dport, from @mac to @dst_mac. */
static void udp_send(QDec21140a *d, const uint8_t *mac, const uint8_t *dst_mac,
                     uint32_t src, uint16_t sport, uint32_t dst,
                     uint16_t dport, const void *data, size_t len)
{
    uint8_t f[QDEC_BUF_SIZE];
    uint8_t *ip = f + ETH_HLEN, *udp = ip + IP_HLEN;
    uint16_t csum;

    g_assert_cmpuint(ETH_HLEN + IP_HLEN + 8 + len, <=, sizeof(f));
    memset(f, 0, sizeof(f));
    eth_put(f, dst_mac, mac, 0x0800);
    stw_be_p(udp, sport);
    stw_be_p(udp + 2, dport);
    stw_be_p(udp + 4, 8 + len);
    memcpy(udp + 8, data, len);
    ip_put(ip, src, dst, 17, 8 + len, 0x4000);
    csum = l4_csum(ip);
    stw_be_p(udp + 6, csum ? csum : 0xffff);
    send_frame(d, f, MAX(ETH_HLEN + IP_HLEN + 8 + len, 60));
}

/*
 * The next UDP datagram for the card, checked; its addresses and ports
 * into the out parameters, its payload into @buf (@size bytes).
 * Returns the payload's length; other frames are passed over.
 */
static int udp_recv(QDec21140a *d, uint32_t *src, uint16_t *sport,
                    uint32_t *dst, uint16_t *dport, uint8_t *buf,
                    size_t size)
{
    uint8_t f[QDEC_BUF_SIZE];
    const uint8_t *ip = f + ETH_HLEN, *udp = ip + IP_HLEN;

    for (;;) {
        int len = recv_frame(d, f, sizeof(f));
        size_t udp_len;

        g_assert_cmpint(len, >=, 0);
        if (len < ETH_HLEN + IP_HLEN + 8 || lduw_be_p(f + 12) != 0x0800 ||
            ip[9] != 17) {
            continue;
        }
        g_assert_cmphex(csum_fold(csum_add(0, ip, IP_HLEN)), ==, 0);
        udp_len = lduw_be_p(udp + 4);
        g_assert_cmpuint(udp_len, ==, lduw_be_p(ip + 2) - IP_HLEN);
        g_assert_cmpuint(udp_len, >=, 8);
        g_assert_cmpuint(udp_len - 8, <=, size);
        if (lduw_be_p(udp + 6)) {
            g_assert_cmphex(l4_csum(ip), ==, 0);
        }
        *src = be32_at(ip + 12);
        *dst = be32_at(ip + 16);
        *sport = lduw_be_p(udp);
        *dport = lduw_be_p(udp + 2);
        memcpy(buf, udp + 8, udp_len - 8);
        return udp_len - 8;
    }
}

/* Host sockets */

/* A TCP socket listening on 127.0.0.1, its port in *@port. */
static int tcp_listener(uint16_t *port)
{
    struct sockaddr_in sin = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    socklen_t sl = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_cmpint(listen(fd, 8), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sin, &sl), ==, 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

/* A port of 127.0.0.1 that nobody uses now, for a forward to listen on. */
static uint16_t free_port(void)
{
    uint16_t port;
    int fd = tcp_listener(&port);

    close(fd);
    return port;
}

/* Whether @fd becomes ready for @events within @ms. */
static bool fd_wait(int fd, short events, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = events };

    return poll(&pfd, 1, ms) == 1;
}

static int tcp_accept(int lfd)
{
    int fd;

    g_assert_true(fd_wait(lfd, POLLIN, WAIT_MS));
    fd = accept(lfd, NULL, NULL);
    g_assert_cmpint(fd, >=, 0);
    return fd;
}

/* Connect to 127.0.0.1:@port; the socket, connected or connecting. */
static int tcp_connect(uint16_t port, int *err)
{
    struct sockaddr_in sin = {
        .sin_family = AF_INET,
        .sin_port = htons(port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    socklen_t sl = sizeof(*err);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    g_assert_cmpint(fd, >=, 0);
    *err = 0;
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        g_assert_cmpint(errno, ==, EINPROGRESS);
        g_assert_true(fd_wait(fd, POLLOUT, WAIT_MS));
        g_assert_cmpint(getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &sl), ==,
                        0);
    }
    return fd;
}

static void sock_write(int fd, const char *text)
{
    size_t len = strlen(text);

    g_assert_cmpint(send(fd, text, len, MSG_NOSIGNAL), ==, len);
}

/* Read exactly strlen(@text) bytes, within WAIT_MS, and compare. */
static void sock_expect(int fd, const char *text)
{
    size_t len = strlen(text), got = 0;
    char buf[256];

    g_assert_cmpuint(len, <, sizeof(buf));
    while (got < len) {
        ssize_t n;

        g_assert_true(fd_wait(fd, POLLIN, WAIT_MS));
        n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
        g_assert_cmpint(n, >, 0);
        got += n;
    }
    g_assert_cmpmem(buf, len, text, len);
}

/* End of file on @fd within WAIT_MS. */
static void sock_expect_eof(int fd)
{
    char c;

    g_assert_true(fd_wait(fd, POLLIN, WAIT_MS));
    g_assert_cmpint(recv(fd, &c, 1, MSG_DONTWAIT), ==, 0);
}

/* Exchanges */

/*
 * The card opens a connection to @dst:@port (the translator connects a
 * host socket to where that leads, @lfd listening there) and talks to
 * the server: data both ways, then the server closes and so does the
 * card.
 */
static void tcp_exchange_out(QDec21140a *d, uint32_t dst, int lfd,
                             uint16_t port)
{
    Conn c = {
        .d = d, .mac = guest_mac, .gw_mac = gw_mac, .ip = GUEST_IP,
        .port = 40000 + g_test_rand_int_range(0, 20000),
        .peer_ip = dst, .peer_port = port,
        .snd_nxt = g_test_rand_int(),
    };
    Seg s;
    int fd;

    tcp_send(&c, TCP_SYN, NULL, 0);
    /* The SYN-ACK comes once the host's connect succeeded. */
    fd = tcp_accept(lfd);
    g_assert_true(tcp_recv(&c, &s));
    g_assert_cmphex(s.flags, ==, TCP_SYN | TCP_ACK);
    g_assert_cmphex(s.ack, ==, c.snd_nxt);
    g_assert_cmpuint(s.mss, ==, 1460);      /* from the MTU, 1500 */
    g_assert_cmpuint(s.len, ==, 0);
    c.rcv_nxt = s.seq + 1;
    tcp_send(&c, TCP_ACK, NULL, 0);

    tcp_send(&c, TCP_ACK | TCP_PSH, "hello from the guest", 20);
    sock_expect(fd, "hello from the guest");
    tcp_wait_acked(&c);

    sock_write(fd, "hello from the host");
    tcp_recv_data(&c, &s);
    g_assert_cmpuint(s.len, ==, 19);
    g_assert_cmpmem(s.payload, s.len, "hello from the host", 19);

    /* The server closes: a FIN for the card, which closes too. */
    close(fd);
    tcp_recv_data(&c, &s);
    g_assert_cmpuint(s.len, ==, 0);
    g_assert_true(s.flags & TCP_FIN);
    tcp_send(&c, TCP_FIN | TCP_ACK, NULL, 0);
    tcp_wait_acked(&c);
}

/*
 * A host client connects to the forward on 127.0.0.1:@host_port, and
 * the card (@c, its address and port filled in) answers the
 * translator's SYN, which comes from the gateway and the client's port.
 * Returns the client's socket.
 */
static int fwd_connect(Conn *c, uint16_t host_port)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    Seg s;
    int err;
    int fd = tcp_connect(host_port, &err);

    g_assert_cmpint(err, ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sin, &sl), ==, 0);
    c->peer_port = ntohs(sin.sin_port);
    c->snd_nxt = g_test_rand_int();
    g_assert_true(tcp_recv(c, &s));
    g_assert_cmphex(s.flags, ==, TCP_SYN);
    g_assert_cmpuint(s.mss, ==, 1460);
    c->rcv_nxt = s.seq + 1;
    tcp_send(c, TCP_SYN | TCP_ACK, NULL, 0);
    tcp_wait_acked(c);
    return fd;
}

/*
 * A host client connects to the forward on 127.0.0.1:@host_port; the
 * card, as @guest_ip:@guest_port, answers the translator's SYN from the
 * gateway and talks to the client; the client closes.
 */
static void tcp_exchange_in(QDec21140a *d, const uint8_t *mac,
                            const uint8_t *gateway_mac, uint32_t guest_ip,
                            uint32_t gateway, uint16_t host_port,
                            uint16_t guest_port)
{
    Conn c = {
        .d = d, .mac = mac, .gw_mac = gateway_mac, .ip = guest_ip,
        .port = guest_port, .peer_ip = gateway,
    };
    g_autofree char *greeting = g_strdup_printf("hello guest port %u",
                                                guest_port);
    Seg s;
    int fd = fwd_connect(&c, host_port);

    sock_write(fd, greeting);
    tcp_recv_data(&c, &s);
    g_assert_cmpuint(s.len, ==, strlen(greeting));
    g_assert_cmpmem(s.payload, s.len, greeting, strlen(greeting));
    tcp_send(&c, TCP_ACK | TCP_PSH, "hello host", 10);
    sock_expect(fd, "hello host");
    tcp_wait_acked(&c);

    /* The client closes; the card closes its side; the client sees EOF. */
    shutdown(fd, SHUT_WR);
    tcp_recv_data(&c, &s);
    g_assert_true(s.flags & TCP_FIN);
    tcp_send(&c, TCP_FIN | TCP_ACK, NULL, 0);
    tcp_wait_acked(&c);
    sock_expect_eof(fd);
    close(fd);
}

/* A connection to 127.0.0.1:@port is refused: nobody listens. */
static void expect_refused(uint16_t port)
{
    int err;
    int fd = tcp_connect(port, &err);

    g_assert_cmpint(err, ==, ECONNREFUSED);
    close(fd);
}

/*
 * The card's SYN to @dst:@port is answered with RST at once, and the
 * server listening on @lfd sees no connection.
 */
static void expect_rst(QDec21140a *d, uint32_t dst, uint16_t port, int lfd)
{
    Conn c = {
        .d = d, .mac = guest_mac, .gw_mac = gw_mac, .ip = GUEST_IP,
        .port = 40000 + g_test_rand_int_range(0, 20000),
        .peer_ip = dst, .peer_port = port,
        .snd_nxt = g_test_rand_int(),
    };
    Seg s;

    tcp_send(&c, TCP_SYN, NULL, 0);
    g_assert_true(tcp_recv(&c, &s));
    g_assert_true(s.flags & TCP_RST);
    g_assert_cmphex(s.ack, ==, c.snd_nxt);
    g_assert_false(fd_wait(lfd, POLLIN, 100));
}

/* Monitors */

/* Run an HMP command and return its output. */
static char *hmp(QTestState *qts, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static char *hmp(QTestState *qts, const char *fmt, ...)
{
    va_list ap;
    char *out;

    va_start(ap, fmt);
    out = qtest_vhmp(qts, fmt, ap);
    va_end(ap);
    g_test_message("hmp: %s", out);
    return out;
}

/* A QMP command that must fail with a message containing @error. */
static void qmp_expect_error(QTestState *qts, const char *cmd,
                             const char *rule, const char *id,
                             const char *error)
{
    QDict *resp = qtest_qmp(qts, "{'execute': %s, 'arguments': "
                            "{'id': %s, 'rule': %s}}", cmd, id, rule);
    QDict *e = qdict_get_qdict(resp, "error");
    const char *desc;

    g_assert_nonnull(e);
    desc = qdict_get_str(e, "desc");
    g_test_message("%s %s: %s", cmd, rule, desc);
    g_assert_nonnull(strstr(desc, error));
    qobject_unref(resp);
}

static void qmp_ok(QTestState *qts, const char *cmd, const char *id,
                   const char *rule)
{
    QDict *resp = qtest_qmp(qts, "{'execute': %s, 'arguments': "
                            "{'id': %s, 'rule': %s}}", cmd, id, rule);

    g_assert_nonnull(resp);
    if (qdict_haskey(resp, "error")) {
        g_test_message("%s: %s", cmd, qdict_get_str(
                           qdict_get_qdict(resp, "error"), "desc"));
    }
    g_assert_true(qdict_haskey(resp, "return"));
    qobject_unref(resp);
}

/* The nat netdev @id of query-nat's answer (a new reference), or NULL. */
static QDict *query_nat(QTestState *qts, const char *id)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'query-nat'}");
    QList *list = qdict_get_qlist(resp, "return");
    QListEntry *e;
    QDict *found = NULL;

    g_assert_nonnull(list);
    QLIST_FOREACH_ENTRY(list, e) {
        QDict *n = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(n, "id"), id)) {
            found = n;
            qobject_ref(found);
        }
    }
    qobject_unref(resp);
    return found;
}

/* How many forwards query-nat lists for @id, and whether @rule is one. */
static int query_hostfwd(QTestState *qts, const char *id, const char *rule,
                         bool *found)
{
    g_autoptr(QDict) n = query_nat(qts, id);
    QList *fwds;
    QListEntry *e;
    int count = 0;

    g_assert_nonnull(n);
    fwds = qdict_get_qlist(n, "hostfwd");
    *found = false;
    QLIST_FOREACH_ENTRY(fwds, e) {
        QDict *f = qobject_to(QDict, qlist_entry_obj(e));

        count++;
        if (!strcmp(qdict_get_str(f, "rule"), rule)) {
            *found = true;
        }
    }
    return count;
}

/* A counter of query-nat's "counters", or a drop count by reason. */
static uint64_t nat_counter(QTestState *qts, const char *id, const char *key)
{
    g_autoptr(QDict) n = query_nat(qts, id);
    QDict *k = qdict_get_qdict(n, "counters");
    QList *drops = qdict_get_qlist(k, "drops");
    QListEntry *e;

    if (qdict_haskey(k, key)) {
        return qdict_get_int(k, key);
    }
    QLIST_FOREACH_ENTRY(drops, e) {
        QDict *d = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(d, "reason"), key)) {
            return qdict_get_int(d, "count");
        }
    }
    g_assert_not_reached();
}

/* Tests */

/* Run QEMU with one bad -netdev nat: it must fail saying @error. */
static void expect_bad_netdev(const char *netdev, const char *error)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    const char *argv[] = {
        "timeout", "30", qemu, "-machine", "pc", "-accel", "qtest",
        "-display", "none", "-nodefaults", "-S",
        "-netdev", netdev, "-device", "dec21140a,netdev=n0", NULL,
    };
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL, *errout = NULL;
    g_autofree char *where = g_strdup_printf("-netdev %s: ", netdev);
    const char *msg;
    int status;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
                               NULL, NULL, &out, &errout, &status, &err));
    g_assert_no_error(err);
    g_test_message("-netdev %s: %s", netdev, errout);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    /* The message, not the option echoed before it, says what is wrong. */
    msg = strstr(errout, where);
    g_assert_nonnull(msg);
    g_assert_nonnull(strstr(msg + strlen(where), error));
}

static void test_bad_options(void)
{
    g_autofree char *long_name = g_strnfill(64, 'h');
    g_autofree char *long_host = g_strdup_printf("nat,id=n0,hostname=%s",
                                                 long_name);
    uint16_t port;
    int lfd = tcp_listener(&port);
    g_autofree char *taken = g_strdup_printf(
        "nat,id=n0,hostfwd=tcp:127.0.0.1:%u-:22", port);

    expect_bad_netdev("nat,id=n0,net=10.0.2.0/31", "net=10.0.2.0/31");
    expect_bad_netdev("nat,id=n0,net=example", "net=example: not an IPv4");
    expect_bad_netdev("nat,id=n0,host=10.0.3.2", "host=10.0.3.2 is not an "
                      "address of net=");
    expect_bad_netdev("nat,id=n0,host=gateway", "host=gateway is not an "
                      "IPv4 address");
    expect_bad_netdev("nat,id=n0,dns=10.0.2.2", "dns= and host= must differ");
    expect_bad_netdev("nat,id=n0,dns=10.0.2.x", "dns=10.0.2.x is not an IPv4");
    expect_bad_netdev("nat,id=n0,dhcpstart=10.0.2.255", "dhcpstart=10.0.2.255");
    expect_bad_netdev("nat,id=n0,ipv4=off,ipv6=off", "ipv4=off and ipv6=off");
    expect_bad_netdev("nat,id=n0,ipv6-net=fe80::/64", "ipv6-net: not a "
                      "unicast global prefix");
    expect_bad_netdev("nat,id=n0,ipv6-net=fd00::/127", "ipv6-net=fd00::/127: "
                      "prefix length must be 8 to 126");
    expect_bad_netdev("nat,id=n0,ipv6-host=fd00::2", "ipv6-host is not in "
                      "ipv6-net");
    expect_bad_netdev("nat,id=n0,ipv6-dns=fec0::x", "ipv6-dns=fec0::x is not "
                      "an IPv6 address");
    expect_bad_netdev(long_host, "hostname=hhhh");
    expect_bad_netdev(long_host, "is longer than 63 characters");
    expect_bad_netdev("nat,id=n0,dnssearch=a..b", "dnssearch=");
    expect_bad_netdev("nat,id=n0,mtu=100", "mtu=100: must be 576 to 65520");
    expect_bad_netdev("nat,id=n0,mtu=1000", "mtu=1000: IPv6 needs at least "
                      "1280");
    expect_bad_netdev("nat,id=n0,mtu=big", "Parameter 'mtu' expects");
    expect_bad_netdev("nat,id=n0,max-flows=8", "max-flows=8: must be 16 to");
    expect_bad_netdev("nat,id=n0,host-loopback=maybe", "Parameter "
                      "'host-loopback' expects 'on' or 'off'");
    expect_bad_netdev("nat,id=n0,resolv-conf=", "resolv-conf may not be "
                      "empty");
    expect_bad_netdev("nat,id=n0,hostfwd=tcp:2222-:22",
                      "hostfwd=tcp:2222-:22:");
    expect_bad_netdev("nat,id=n0,hostfwd=tcp::0-:22", "bad host address or "
                      "port");
    expect_bad_netdev("nat,id=n0,hostfwd=tcp::2222-:70000", "bad guest "
                      "address or port");
    expect_bad_netdev("nat,id=n0,hostfwd=tcp::2222-10.0.2.15:22,"
                      "hostfwd=tcp::2222-10.0.2.16:22",
                      "that host port is forwarded already");
    expect_bad_netdev("nat,id=n0,ipv6=off,hostfwd=tcp::2222-[fec0::15]:22",
                      "the guest side's IP version is turned off");
    /* Binding a port that is taken says so. */
    expect_bad_netdev(taken, "(the port is taken)");
    close(lfd);
}

/* DHCP hands out what the options say. */
static void test_dhcp(void)
{
    /* The search list, as option 119 encodes it (RFC 3397). */
    static const uint8_t search[] = {
        7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
        4, 't', 'e', 's', 't', 0,
    };
    DhcpReply ack;
    Vm vm;

    vm_start1(&vm, NULL, "hostname=vpc-guest,domainname=example.org,"
              "dnssearch=example.org,dnssearch=test");
    dhcp_lease(&vm.nic[0], guest_mac, GATEWAY_IP, &ack);
    g_assert_cmphex(ack.yiaddr, ==, GUEST_IP);
    g_assert_cmphex(ack.server_id, ==, GATEWAY_IP);
    g_assert_cmphex(ack.mask, ==, 0xffffff00);
    g_assert_cmphex(ack.router, ==, GATEWAY_IP);
    g_assert_cmphex(ack.dns, ==, DNS_IP);
    g_assert_cmpuint(ack.lease_time, ==, 86400);
    g_assert_cmpuint(ack.mtu, ==, 1500);
    g_assert_cmpstr(ack.hostname, ==, "vpc-guest");
    g_assert_cmpstr(ack.domain, ==, "example.org");
    g_assert_cmpmem(ack.search, ack.search_len, search, sizeof(search));
    g_assert_cmpuint(nat_counter(vm.qts, "n0", "dhcp-replies"), ==, 2);
    vm_stop(&vm);

    /* Another subnet and MTU move all of it. */
    vm_start1(&vm, NULL, "net=192.168.76.0/24,dhcpstart=192.168.76.100,"
              "mtu=9000");
    dhcp_lease(&vm.nic[0], guest_mac, IP4(192, 168, 76, 2), &ack);
    g_assert_cmphex(ack.yiaddr, ==, IP4(192, 168, 76, 100));
    g_assert_cmphex(ack.router, ==, IP4(192, 168, 76, 2));
    g_assert_cmphex(ack.dns, ==, IP4(192, 168, 76, 3));
    g_assert_cmpuint(ack.mtu, ==, 9000);
    vm_stop(&vm);
}

/* TCP to a real server on the host's loopback, with host-loopback=on. */
static void test_tcp_host_loopback(void)
{
    uint16_t port;
    int lfd = tcp_listener(&port);
    DhcpReply ack;
    Vm vm;

    vm_start1(&vm, NULL, "host-loopback=on");
    dhcp_lease(&vm.nic[0], guest_mac, GATEWAY_IP, &ack);
    arp_gateway(&vm.nic[0], guest_mac, ack.yiaddr, GATEWAY_IP, gw_mac);
    tcp_exchange_out(&vm.nic[0], GATEWAY_IP, lfd, port);
    g_assert_cmpuint(nat_counter(vm.qts, "n0", "tcp-flows"), ==, 1);
    /* Only the gateway means the host: 127.0.0.1 itself stays closed. */
    expect_rst(&vm.nic[0], LOOPBACK_IP, port, lfd);
    vm_stop(&vm);
    close(lfd);
}

/*
 * The host is closed by default: the gateway, its loopback and every
 * address of its interfaces answer with RST, and the server listening
 * on all of them sees nothing.
 */
static void test_host_closed(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sin);
    struct ifaddrs *ifa, *i;
    uint16_t port;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int addrs = 0;
    Vm vm;

    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_cmpint(listen(lfd, 8), ==, 0);
    g_assert_cmpint(getsockname(lfd, (struct sockaddr *)&sin, &sl), ==, 0);
    port = ntohs(sin.sin_port);

    vm_start1(&vm, NULL, "");
    arp_gateway(&vm.nic[0], guest_mac, GUEST_IP, GATEWAY_IP, gw_mac);
    expect_rst(&vm.nic[0], GATEWAY_IP, port, lfd);
    expect_rst(&vm.nic[0], LOOPBACK_IP, port, lfd);
    g_assert_cmpint(getifaddrs(&ifa), ==, 0);
    for (i = ifa; i; i = i->ifa_next) {
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
            uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)
                               ->sin_addr.s_addr);

            g_test_message("host address %s: %08x", i->ifa_name, a);
            expect_rst(&vm.nic[0], a, port, lfd);
            addrs++;
        }
    }
    freeifaddrs(ifa);
    g_assert_cmpint(addrs, >=, 1);
    g_assert_cmpuint(nat_counter(vm.qts, "n0", "tcp-refused"), ==,
                     2 + addrs);
    g_assert_cmpuint(nat_counter(vm.qts, "n0", "tcp-flows"), ==, 0);
    vm_stop(&vm);
    close(lfd);
}

/* hostfwd_add and hostfwd_remove through HMP. */
static void test_hostfwd_hmp(void)
{
    uint16_t port1 = free_port(), port2 = free_port();
    g_autofree char *rule1 = g_strdup_printf("tcp:127.0.0.1:%u-:8080", port1);
    g_autofree char *rule2 = g_strdup_printf("tcp:127.0.0.1:%u-:8081", port2);
    /* As query-nat lists them, with the default guest address. */
    g_autofree char *listed1 = g_strdup_printf(
        "tcp:127.0.0.1:%u-10.0.2.15:8080", port1);
    g_autofree char *listed2 = g_strdup_printf(
        "tcp:127.0.0.1:%u-10.0.2.15:8081", port2);
    g_autofree char *out = NULL;
    bool found;
    Vm vm;

    vm_start1(&vm, NULL, "");
    arp_gateway(&vm.nic[0], guest_mac, GUEST_IP, GATEWAY_IP, gw_mac);
    expect_refused(port1);

    /* With the netdev's id. */
    out = hmp(vm.qts, "hostfwd_add n0 %s", rule1);
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    g_assert_cmpint(query_hostfwd(vm.qts, "n0", listed1, &found), ==, 1);
    g_assert_true(found);
    tcp_exchange_in(&vm.nic[0], guest_mac, gw_mac, GUEST_IP, GATEWAY_IP,
                    port1, 8080);

    /* Without: the first nat netdev, there being no -netdev user. */
    out = hmp(vm.qts, "hostfwd_add %s", rule2);
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    tcp_exchange_in(&vm.nic[0], guest_mac, gw_mac, GUEST_IP, GATEWAY_IP,
                    port2, 8081);

    /* Errors are reported, and change nothing. */
    out = hmp(vm.qts, "hostfwd_add n0 %s", rule1);
    g_assert_nonnull(strstr(out, "forwarded already"));
    g_free(out);
    out = hmp(vm.qts, "hostfwd_add n0 tcp:127.0.0.1:%u", port1);
    g_assert_nonnull(strstr(out, "bad host address or port"));
    g_free(out);
    out = hmp(vm.qts, "hostfwd_remove n0 udp:127.0.0.1:%u", port1);
    g_assert_nonnull(strstr(out, "no forward of"));
    g_free(out);
    g_assert_cmpint(query_hostfwd(vm.qts, "n0", listed2, &found), ==, 2);
    g_assert_true(found);

    /* Removed, they are refused; the other stays. */
    out = hmp(vm.qts, "hostfwd_remove n0 tcp:127.0.0.1:%u", port1);
    g_assert_nonnull(strstr(out, "removed"));
    g_free(out);
    expect_refused(port1);
    tcp_exchange_in(&vm.nic[0], guest_mac, gw_mac, GUEST_IP, GATEWAY_IP,
                    port2, 8081);
    out = hmp(vm.qts, "hostfwd_remove tcp:127.0.0.1:%u", port2);
    g_assert_nonnull(strstr(out, "removed"));
    expect_refused(port2);
    g_assert_cmpint(query_hostfwd(vm.qts, "n0", listed2, &found), ==, 0);
    vm_stop(&vm);
}

/* nat-hostfwd-add, nat-hostfwd-remove and query-nat through QMP. */
static void test_hostfwd_qmp(void)
{
    uint16_t port = free_port(), start_port = free_port();
    g_autofree char *rule = g_strdup_printf("tcp:127.0.0.1:%u-10.0.2.15:2222",
                                            port);
    g_autofree char *host_end = g_strdup_printf("tcp:127.0.0.1:%u", port);
    g_autofree char *opts = g_strdup_printf(
        "hostfwd=tcp:127.0.0.1:%u-:22", start_port);
    g_autofree char *start_rule = g_strdup_printf(
        "tcp:127.0.0.1:%u-10.0.2.15:22", start_port);
    uint16_t taken_port;
    int taken = tcp_listener(&taken_port);
    g_autofree char *taken_rule = g_strdup_printf("tcp:127.0.0.1:%u-:22",
                                                  taken_port);
    bool found;
    Vm vm;

    vm_start1(&vm, "-netdev user,id=u0", opts);
    arp_gateway(&vm.nic[0], guest_mac, GUEST_IP, GATEWAY_IP, gw_mac);
    g_assert_cmpint(query_hostfwd(vm.qts, "n0", start_rule, &found), ==, 1);
    g_assert_true(found);
    tcp_exchange_in(&vm.nic[0], guest_mac, gw_mac, GUEST_IP, GATEWAY_IP,
                    start_port, 22);

    qmp_ok(vm.qts, "nat-hostfwd-add", "n0", rule);
    g_assert_cmpint(query_hostfwd(vm.qts, "n0", rule, &found), ==, 2);
    g_assert_true(found);
    tcp_exchange_in(&vm.nic[0], guest_mac, gw_mac, GUEST_IP, GATEWAY_IP,
                    port, 2222);

    qmp_expect_error(vm.qts, "nat-hostfwd-add", rule, "n0",
                     "forwarded already");
    qmp_expect_error(vm.qts, "nat-hostfwd-add", taken_rule, "n0",
                     "(the port is taken)");
    qmp_expect_error(vm.qts, "nat-hostfwd-add", rule, "nope",
                     "there is no netdev 'nope'");
    qmp_expect_error(vm.qts, "nat-hostfwd-add", rule, "u0",
                     "netdev 'u0' is of type user, not nat");
    qmp_expect_error(vm.qts, "nat-hostfwd-remove", "tcp::1", "n0",
                     "no forward of tcp::1");

    qmp_ok(vm.qts, "nat-hostfwd-remove", "n0", host_end);
    expect_refused(port);
    g_assert_cmpint(query_hostfwd(vm.qts, "n0", rule, &found), ==, 1);
    g_assert_false(found);
    qmp_expect_error(vm.qts, "nat-hostfwd-remove", host_end, "n0",
                     "no forward of");
    vm_stop(&vm);
    close(taken);
}

/*
 * "info network": the subnet and options, the forwards, the flow and
 * frame counters, and drops by reason (an IP fragment, which the
 * translator does not reassemble).
 */
static void test_info_network(void)
{
    uint16_t port = free_port();
    g_autofree char *opts = g_strdup_printf(
        "net=10.0.2.0/24,hostfwd=udp:127.0.0.1:%u-:53", port);
    g_autofree char *out = NULL, *fwd_re = NULL;
    uint8_t f[QDEC_BUF_SIZE];
    Vm vm;

    vm_start1(&vm, NULL, opts);
    arp_gateway(&vm.nic[0], guest_mac, GUEST_IP, GATEWAY_IP, gw_mac);
    /* The first fragment of a UDP datagram: more fragments follow. */
    memset(f, 0, sizeof(f));
    eth_put(f, gw_mac, guest_mac, 0x0800);
    ip_put(f + ETH_HLEN, GUEST_IP, IP4(192, 0, 2, 99), 17, 200, 0x2000);
    send_frame(&vm.nic[0], f, ETH_HLEN + IP_HLEN + 200);

    out = hmp(vm.qts, "info network");
    g_assert_true(g_regex_match_simple(
        "n0: index=0,type=nat,net=10\\.0\\.2\\.0/24,restrict=off,"
        "host-loopback=off\r?\n", out, 0, 0));
    g_assert_true(g_regex_match_simple(
        "\n  net=10\\.0\\.2\\.0/24 host=10\\.0\\.2\\.2 dns=10\\.0\\.2\\.3 "
        "ipv6-net=fec0::/64 mtu=1500 host-closed\r?\n", out, 0, 0));
    fwd_re = g_strdup_printf("\n  hostfwd udp 127\\.0\\.0\\.1:%u -> "
                             "10\\.0\\.2\\.15:53\r?\n", port);
    g_assert_true(g_regex_match_simple(fwd_re, out, 0, 0));
    g_assert_true(g_regex_match_simple(
        "\n  flows 0/[0-9]+ \\(tcp 0 udp 0 echo 0\\), peak 0; frames in 2 "
        "out 1\r?\n", out, 0, 0));
    g_assert_true(g_regex_match_simple("\n  drops: fragment 1\r?\n", out, 0,
                                       0));
    g_assert_cmpuint(nat_counter(vm.qts, "n0", "fragment"), ==, 1);
    g_assert_cmpuint(nat_counter(vm.qts, "n0", "arp-replies"), ==, 1);

    /*
     * The UDP forward: a host client's datagram reaches the card from
     * the gateway and the client's port, and the card's answer goes
     * back to the client.
     */
    {
        struct sockaddr_in to = {
            .sin_family = AF_INET, .sin_port = htons(port),
            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        }, me;
        socklen_t sl = sizeof(me);
        int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        uint8_t buf[64];
        uint32_t src, dst;
        uint16_t sport, dport;
        int n;

        g_assert_cmpint(sendto(u, "query", 5, 0, (struct sockaddr *)&to,
                               sizeof(to)), ==, 5);
        g_assert_cmpint(getsockname(u, (struct sockaddr *)&me, &sl), ==, 0);
        n = udp_recv(&vm.nic[0], &src, &sport, &dst, &dport, buf,
                     sizeof(buf));
        g_assert_cmpmem(buf, n, "query", 5);
        g_assert_cmphex(src, ==, GATEWAY_IP);
        g_assert_cmpuint(sport, ==, ntohs(me.sin_port));
        g_assert_cmphex(dst, ==, GUEST_IP);
        g_assert_cmpuint(dport, ==, 53);
        udp_send(&vm.nic[0], guest_mac, gw_mac, GUEST_IP, 53, GATEWAY_IP,
                 sport, "answer", 6);
        g_assert_true(fd_wait(u, POLLIN, WAIT_MS));
        g_assert_cmpint(recv(u, buf, sizeof(buf), 0), ==, 6);
        g_assert_cmpmem(buf, 6, "answer", 6);
        close(u);
        g_assert_cmpuint(nat_counter(vm.qts, "n0", "udp-flows"), ==, 1);
    }
    vm_stop(&vm);
}

/*
 * Two nat netdevs in one VM, on different subnets: each card gets its
 * own lease, and a forward of one reaches that card only.
 */
static void test_two_netdevs(void)
{
    const char *const opts[] = { "", "net=192.168.76.0/24" };
    const uint8_t macs[2][6] = {
        { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
        { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 },
    };
    static const uint8_t gw_mac1[6] = { 0x52, 0x55, 0xc0, 0xa8, 0x4c, 0x02 };
    uint16_t port = free_port();
    g_autofree char *out = NULL;
    uint8_t f[QDEC_BUF_SIZE];
    DhcpReply ack0, ack1;
    Vm vm;

    vm_start(&vm, NULL, 2, opts, macs);
    dhcp_lease(&vm.nic[0], macs[0], GATEWAY_IP, &ack0);
    dhcp_lease(&vm.nic[1], macs[1], IP4(192, 168, 76, 2), &ack1);
    g_assert_cmphex(ack0.yiaddr, ==, GUEST_IP);
    g_assert_cmphex(ack1.yiaddr, ==, IP4(192, 168, 76, 15));
    g_assert_cmphex(ack1.router, ==, IP4(192, 168, 76, 2));
    arp_gateway(&vm.nic[1], guest_mac2, ack1.yiaddr, IP4(192, 168, 76, 2),
                gw_mac1);

    out = hmp(vm.qts, "hostfwd_add n1 tcp:127.0.0.1:%u-:7", port);
    g_assert_cmpstr(out, ==, "");
    tcp_exchange_in(&vm.nic[1], guest_mac2, gw_mac1, ack1.yiaddr,
                    IP4(192, 168, 76, 2), port, 7);
    /* Card 0 saw none of it. */
    g_assert_cmpint(recv_frame(&vm.nic[0], f, sizeof(f)), ==, -1);
    g_assert_cmpuint(nat_counter(vm.qts, "n0", "tx-frames"), ==, 2);
    g_assert_cmpuint(nat_counter(vm.qts, "n1", "tcp-flows"), ==, 1);
    vm_stop(&vm);
}

/*
 * The cable pulled (set_link, on the netdev or on the NIC): what the
 * host sends meanwhile is refused by the netdev (counted as guest-busy)
 * and waits in the host socket; plugged in again, it arrives in order.
 */
static void test_link(void)
{
    static const char *const names[] = { "n0", "dec21140a.0" };
    uint16_t port = free_port();
    g_autofree char *out = NULL;
    Conn c = {
        .mac = guest_mac, .gw_mac = gw_mac, .ip = GUEST_IP, .port = 8080,
        .peer_ip = GATEWAY_IP,
    };
    Vm vm;
    Seg s;
    int fd;

    vm_start1(&vm, NULL, "");
    c.d = &vm.nic[0];
    arp_gateway(&vm.nic[0], guest_mac, GUEST_IP, GATEWAY_IP, gw_mac);
    out = hmp(vm.qts, "hostfwd_add n0 tcp:127.0.0.1:%u-:8080", port);
    g_assert_cmpstr(out, ==, "");
    fd = fwd_connect(&c, port);
    for (int i = 0; i < 2; i++) {
        g_autofree char *text = g_strdup_printf("sent with %s down", names[i]);
        uint64_t busy = nat_counter(vm.qts, "n0", "guest-busy");
        gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

        g_free(hmp(vm.qts, "set_link %s off", names[i]));
        sock_write(fd, text);
        while (nat_counter(vm.qts, "n0", "guest-busy") == busy) {
            g_assert_cmpint(g_get_monotonic_time(), <, deadline);
            g_usleep(10 * 1000);
        }
        g_free(hmp(vm.qts, "set_link %s on", names[i]));
        tcp_recv_data(&c, &s);
        g_assert_cmpuint(s.len, ==, strlen(text));
        g_assert_cmpmem(s.payload, s.len, text, strlen(text));
    }
    close(fd);
    vm_stop(&vm);
}

/* The same under -sandbox on, with every optional restriction too. */
static void test_sandbox(void)
{
    uint16_t lport, fport = free_port();
    int lfd = tcp_listener(&lport);
    g_autofree char *out = NULL;
    DhcpReply ack;
    Vm vm;

    vm_start1(&vm, "-sandbox on,obsolete=deny,elevateprivileges=deny,"
              "spawn=deny,resourcecontrol=deny", "host-loopback=on");
    dhcp_lease(&vm.nic[0], guest_mac, GATEWAY_IP, &ack);
    arp_gateway(&vm.nic[0], guest_mac, ack.yiaddr, GATEWAY_IP, gw_mac);
    tcp_exchange_out(&vm.nic[0], GATEWAY_IP, lfd, lport);
    out = hmp(vm.qts, "hostfwd_add n0 tcp:127.0.0.1:%u-:8080", fport);
    g_assert_cmpstr(out, ==, "");
    tcp_exchange_in(&vm.nic[0], guest_mac, gw_mac, GUEST_IP, GATEWAY_IP,
                    fport, 8080);
    vm_stop(&vm);
    close(lfd);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("vpcnet-nat/bad-options", test_bad_options);
    qtest_add_func("vpcnet-nat/dhcp", test_dhcp);
    qtest_add_func("vpcnet-nat/tcp-host-loopback", test_tcp_host_loopback);
    qtest_add_func("vpcnet-nat/host-closed", test_host_closed);
    qtest_add_func("vpcnet-nat/hostfwd-hmp", test_hostfwd_hmp);
    qtest_add_func("vpcnet-nat/hostfwd-qmp", test_hostfwd_qmp);
    qtest_add_func("vpcnet-nat/info-network", test_info_network);
    qtest_add_func("vpcnet-nat/two-netdevs", test_two_netdevs);
    qtest_add_func("vpcnet-nat/link", test_link);
    qtest_add_func("vpcnet-nat/sandbox", test_sandbox);

    return g_test_run();
}
