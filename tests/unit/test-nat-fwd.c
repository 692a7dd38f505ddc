/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the NAT core's port forwards (net/vpcnet/nat/fwd.c):
 * -netdev user's hostfwd syntax accepted and refused with the right
 * message, forwards added and removed at run time, a taken port named,
 * and TCP and UDP forwards end to end from a host client on loopback to
 * the simulated guest.
 */
#include "nat-harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_parse(void)
{
    static const struct {
        const char *text;
        bool udp;
        int family;
        const char *host;
        uint16_t hport;
        int gfamily;
        const char *guest;
        uint16_t gport;
    } good[] = {
        { "tcp::2222-:22", false, AF_INET, "0.0.0.0", 2222, AF_INET,
          "0.0.0.0", 22 },
        { "::2222-:22", false, AF_INET, "0.0.0.0", 2222, AF_INET, "0.0.0.0",
          22 },
        { "udp::5353-:53", true, AF_INET, "0.0.0.0", 5353, AF_INET,
          "0.0.0.0", 53 },
        { "tcp:127.0.0.1:8080-10.0.2.15:80", false, AF_INET, "127.0.0.1",
          8080, AF_INET, "10.0.2.15", 80 },
        { "udp:0.0.0.0:65535-10.0.2.20:1", true, AF_INET, "0.0.0.0", 65535,
          AF_INET, "10.0.2.20", 1 },
        { "tcp:[::1]:8080-[fec0::15]:80", false, AF_INET6, "::1", 8080,
          AF_INET6, "fec0::15", 80 },
        { "tcp:[::]:8080-:80", false, AF_INET6, "::", 8080, AF_INET, "0.0.0.0",
          80 },
        { "tcp::8080-[fec0::1:2]:80", false, AF_INET, "0.0.0.0", 8080,
          AF_INET6, "fec0::1:2", 80 },
        { "udp:[::ffff:127.0.0.1]:53-:53", true, AF_INET6, "::ffff:127.0.0.1",
          53, AF_INET, "0.0.0.0", 53 },
        { "tcp::080-:022", false, AF_INET, "0.0.0.0", 80, AF_INET, "0.0.0.0",
          22 },
    };
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        { "", "expected [tcp|udp]" },
        { "tcp", "expected [tcp|udp]" },
        { "sctp::1-:2", "expected [tcp|udp]" },
        { "TCP::1-:2", "expected [tcp|udp]" },
        { "tcp::2222", "bad host address" },
        { "tcp::0-:22", "bad host address" },
        { "tcp::65536-:22", "bad host address" },
        { "tcp::-1-:22", "bad host address" },
        { "tcp::22x-:22", "bad host address" },
        { "tcp:1.2.3:80-:22", "bad host address" },
        { "tcp:1.2.3.4.5:80-:22", "bad host address" },
        { "tcp:[::1:80-:22", "bad host address" },
        { "tcp:[]:80-:22", "bad host address" },
        { "tcp:[::1]80-:22", "bad host address" },
        { "tcp:[10.0.0.1]:80-:22", "bad host address" },
        { "tcp:::1:80-:22", "bad host address" },
        { "tcp:host:80-:22", "bad host address" },
        { "tcp::123456-:22", "bad host address" },
        { "tcp::80-", "bad guest address" },
        { "tcp::80-:", "bad guest address" },
        { "tcp::80-:0", "bad guest address" },
        { "tcp::80-:22x", "bad guest address" },
        { "tcp::80-:22-", "bad guest address" },
        { "tcp::80-10.0.2:22", "bad guest address" },
        { "tcp::80-[fec0::15:22", "bad guest address" },
        { "tcp::80-22", "bad guest address" },
        { "tcp::80-:22 ", "bad guest address" },
    };
    VpcNatFwd f;
    char err[256];

    for (unsigned i = 0; i < G_N_ELEMENTS(good); i++) {
        uint8_t a[16] = { 0 };

        if (vpc_nat_fwd_parse(good[i].text, &f, err, sizeof(err)) < 0) {
            g_error("%s: %s", good[i].text, err);
        }
        g_assert_cmpint(f.udp, ==, good[i].udp);
        g_assert_cmpint(f.family, ==, good[i].family);
        g_assert_cmpint(inet_pton(good[i].family, good[i].host, a), ==, 1);
        g_assert_cmpmem(f.host_addr, 16, a, 16);
        g_assert_cmpuint(f.host_port, ==, good[i].hport);
        g_assert_cmpint(f.guest_family, ==, good[i].gfamily);
        memset(a, 0, sizeof(a));
        g_assert_cmpint(inet_pton(good[i].gfamily, good[i].guest, a), ==, 1);
        g_assert_cmpmem(f.guest_addr, 16, a, 16);
        g_assert_cmpuint(f.guest_port, ==, good[i].gport);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        err[0] = '\0';
        if (vpc_nat_fwd_parse(bad[i].text, &f, err, sizeof(err)) == 0) {
            g_error("'%s' was accepted", bad[i].text);
        }
        if (!strstr(err, bad[i].why) || !strstr(err, bad[i].text)) {
            g_error("'%s': '%s' does not say '%s'", bad[i].text, err,
                    bad[i].why);
        }
    }
    /* hostfwd_remove's form: no guest side. */
    g_assert_cmpint(vpc_nat_fwd_parse_remove("udp:127.0.0.1:53", &f, err,
                                             sizeof(err)), ==, 0);
    g_assert_true(f.udp);
    g_assert_cmpuint(f.host_port, ==, 53);
    g_assert_cmpint(vpc_nat_fwd_parse_remove("::2222", &f, err, sizeof(err)),
                    ==, 0);
    g_assert_cmpint(vpc_nat_fwd_parse_remove("tcp:[::1]:80", &f, err,
                                             sizeof(err)), ==, 0);
    g_assert_cmpint(f.family, ==, AF_INET6);
    g_assert_cmpint(vpc_nat_fwd_parse_remove("tcp::80-:22", &f, err,
                                             sizeof(err)), <, 0);
    g_assert_nonnull(strstr(err, "expected [tcp|udp]:[hostaddr]:hostport"));
    g_assert_cmpint(vpc_nat_fwd_parse_remove("tcp::0", &f, err, sizeof(err)),
                    <, 0);
}

static void test_add_remove(void)
{
    NatHarness *h = nh_new(NULL);
    uint16_t taken = 0;
    int tfd = nh_tcp_listen(false, &taken, 1);
    uint16_t p = nh_free_port(false, false);
    char rule[80], err[256], text[1024];

    snprintf(rule, sizeof(rule), "tcp:127.0.0.1:%u-:22", p);
    g_assert_cmpint(vpc_nat_hostfwd_add(h->nat, rule, err, sizeof(err)), ==, 0);
    g_assert_cmpint(vpc_nat_hostfwd_add(h->nat, rule, err, sizeof(err)), <, 0);
    g_assert_nonnull(strstr(err, "forwarded already"));
    /* The same port over UDP is another forward. */
    snprintf(rule, sizeof(rule), "udp:127.0.0.1:%u-:22", p);
    g_assert_cmpint(vpc_nat_hostfwd_add(h->nat, rule, err, sizeof(err)), ==, 0);
    vpc_nat_describe(h->nat, text, sizeof(text));
    snprintf(rule, sizeof(rule), "hostfwd tcp 127.0.0.1:%u -> 10.0.2.15:22", p);
    g_assert_nonnull(strstr(text, rule));
    snprintf(rule, sizeof(rule), "hostfwd udp 127.0.0.1:%u -> 10.0.2.15:22", p);
    g_assert_nonnull(strstr(text, rule));
    /* A port that is taken: an error that names it. */
    snprintf(rule, sizeof(rule), "tcp:127.0.0.1:%u-:22", taken);
    g_assert_cmpint(vpc_nat_hostfwd_add(h->nat, rule, err, sizeof(err)), <, 0);
    snprintf(text, sizeof(text), "127.0.0.1:%u", taken);
    g_assert_nonnull(strstr(err, text));
    g_assert_nonnull(strstr(err, "taken"));
    /* The guest's IP version is off. */
    {
        VpcNatConfig cfg;
        NatHarness *h4;

        nh_config(&cfg);
        cfg.ipv6 = false;
        h4 = nh_new(&cfg);
        g_assert_cmpint(vpc_nat_hostfwd_add(h4->nat, "tcp::1-[fec0::15]:22",
                                            err, sizeof(err)), <, 0);
        g_assert_nonnull(strstr(err, "turned off"));
        nh_free(h4);
    }
    snprintf(rule, sizeof(rule), "tcp:127.0.0.1:%u", p);
    g_assert_cmpint(vpc_nat_hostfwd_remove(h->nat, rule, err, sizeof(err)),
                    ==, 0);
    g_assert_cmpint(vpc_nat_hostfwd_remove(h->nat, rule, err, sizeof(err)),
                    <, 0);
    g_assert_nonnull(strstr(err, "no forward"));
    snprintf(rule, sizeof(rule), "udp:127.0.0.1:%u", p);
    g_assert_cmpint(vpc_nat_hostfwd_remove(h->nat, rule, err, sizeof(err)),
                    ==, 0);
    /* Every slot: the 257th is refused. */
    for (unsigned i = 0; i < VPC_NAT_MAX_FWDS; i++) {
        snprintf(rule, sizeof(rule), "udp:127.0.0.1:%u-:%u", 20000 + i, i + 1);
        g_assert_cmpint(vpc_nat_hostfwd_add(h->nat, rule, err, sizeof(err)),
                        ==, 0);
    }
    g_assert_cmpint(vpc_nat_hostfwd_add(h->nat, "udp:127.0.0.1:30000-:1", err,
                                        sizeof(err)), <, 0);
    g_assert_nonnull(strstr(err, "at most"));
    close(tfd);
    nh_free(h);
}

static int tcp_client(bool v6, uint16_t port)
{
    struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
                               .sin6_port = htons(port),
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(v6 ? AF_INET6 : AF_INET,
                    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int r = v6 ? connect(fd, (struct sockaddr *)&s6, sizeof(s6))
               : connect(fd, (struct sockaddr *)&s4, sizeof(s4));

    g_assert_true(r == 0 || errno == EINPROGRESS);
    return fd;
}

/* The guest's side of a forwarded connection: answer the core's SYN. */
static void guest_accept(NatHarness *h, NhTcp *c, uint16_t guest_port,
                         bool v6)
{
    NhPkt *p;

    for (;;) {
        g_assert_true(nh_next(h, &p, 3000));
        if (!p->is_arp && p->proto == VPC_IP_PROTO_TCP) {
            break;
        }
        nh_pkt_free(p);
    }
    g_assert_cmphex(p->tcp.flags, ==, VPC_TCP_SYN);
    g_assert_cmpuint(p->tcp.dst_port, ==, guest_port);
    g_assert_true(p->tcp.has_mss && p->tcp.has_wscale);
    /* From the gateway address and the client's port. */
    g_assert_cmpmem(p->src.a, v6 ? 16 : 4, nh_gw(v6).a, v6 ? 16 : 4);
    nh_tcp_init(c, h, &p->src, p->tcp.src_port);
    c->sport = guest_port;
    c->irs = p->tcp.seq;
    c->rcv_nxt = p->tcp.seq + 1;
    c->ws = true;
    c->peer_wscale = p->tcp.wscale;
    c->peer_mss = p->tcp.mss;
    nh_pkt_free(p);
    {
        uint8_t f[128];
        VpcTcpHeader th = { .src_port = c->sport, .dst_port = c->dport,
                            .seq = c->iss, .ack = c->rcv_nxt,
                            .flags = VPC_TCP_SYN | VPC_TCP_ACK,
                            .window = 65535, .mss = 1460,
                            .send_wscale = true, .wscale = c->wscale };

        nh_input(h, f, nh_build_tcp(h, f, &c->dst, &th, NULL, 0));
    }
    c->snd_nxt = c->snd_una = c->iss + 1;
    /* Our SYN-ACK is acknowledged. */
    g_assert_true(nh_next(h, &p, 1000));
    g_assert_true(nh_tcp_match(c, p));
    g_assert_cmpuint(p->tcp.ack, ==, c->iss + 1);
    c->peer_wnd = (uint32_t)p->tcp.window << c->peer_wscale;
    nh_pkt_free(p);
}

static void tcp_forward(bool v6)
{
    NatHarness *h = nh_new(NULL);
    uint16_t port = nh_free_port(v6, false);
    size_t len = 300000;
    guint8 *up = nh_random_bytes(len, 21), *down = nh_random_bytes(len, 22);
    char rule[80], err[256], *got, *want = nh_sha256(down, len);
    size_t got_len;
    NhSource *src;
    NhSink *sink;
    NhTcp c;
    int cli, cli2;

    snprintf(rule, sizeof(rule), v6 ? "tcp:[::1]:%u-[fec0::15]:2222"
                                    : "tcp:127.0.0.1:%u-:2222", port);
    g_assert_cmpint(vpc_nat_hostfwd_add(h->nat, rule, err, sizeof(err)), ==, 0);
    cli = tcp_client(v6, port);
    /* The guest has not spoken: the core asks for its MAC first. */
    {
        NhPkt *p;

        g_assert_true(nh_next(h, &p, 3000));
        g_assert_true(v6 ? p->icmp.type == VPC_ICMP6_NEIGHBOR_SOLICIT
                         : p->is_arp);
        nh_pkt_free(p);
    }
    if (!v6) {
        nh_send_arp(h, VPC_ARP_OP_REPLY, NH_GUEST_IP4, NH_GW4, NH_GW_MAC);
    } else {
        NhAddr gw6 = nh_gw(true);

        nh_send_echo(h, &gw6, 1, 1, NULL, 0);      /* teaches our MAC */
        nh_flush(h);
    }
    nh_advance(h, 1100);                            /* the SYN again */
    guest_accept(h, &c, 2222, v6);
    /* Blocking from here on, for the threads. */
    g_assert_cmpint(fcntl(cli, F_SETFL, 0), ==, 0);
    sink = nh_sink_start(cli);
    cli2 = dup(cli);
    src = nh_source_start(cli2, up, len, false);
    g_assert_true(nh_tcp_recv(&c, len, 20000));
    g_assert_cmpmem(c.rx->data, len, up, len);
    g_assert_true(nh_tcp_send_all(&c, down, len, 20000));
    nh_tcp_send(&c, VPC_TCP_ACK | VPC_TCP_FIN, NULL, 0);
    got = nh_sink_join(sink, &got_len);
    g_assert_cmpuint(got_len, ==, len);
    g_assert_cmpstr(got, ==, want);
    nh_source_join(src);
    g_assert_true(nh_tcp_recv(&c, 0, 3000));
    g_assert_true(c.fin_rcvd);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->flows_active, ==, 0);
    /* Removed: the port is closed again. */
    snprintf(rule, sizeof(rule), v6 ? "tcp:[::1]:%u" : "tcp:127.0.0.1:%u",
             port);
    g_assert_cmpint(vpc_nat_hostfwd_remove(h->nat, rule, err, sizeof(err)),
                    ==, 0);
    close(cli);
    close(cli2);
    cli = tcp_client(v6, port);
    nh_run(h, 50);
    {
        char b;

        g_assert_cmpint(read(cli, &b, 1), <, 0);
        g_assert_cmpint(errno, ==, ECONNREFUSED);
    }
    close(cli);
    nh_tcp_destroy(&c);
    g_free(got);
    g_free(want);
    g_free(up);
    g_free(down);
    nh_free(h);
}

static void test_tcp4(void)
{
    tcp_forward(false);
}

static void test_tcp6(void)
{
    tcp_forward(true);
}

/* A connection a forward made outlives the forward. */
static void test_tcp_outlives(void)
{
    NatHarness *h = nh_new(NULL);
    uint16_t port = nh_free_port(false, false);
    char rule[80], err[256], b[8];
    NhTcp c;
    int cli;

    nh_send_arp(h, VPC_ARP_OP_REQUEST, NH_GUEST_IP4, NH_GW4, NULL);
    nh_flush(h);
    snprintf(rule, sizeof(rule), "tcp:127.0.0.1:%u-10.0.2.15:80", port);
    g_assert_cmpint(vpc_nat_hostfwd_add(h->nat, rule, err, sizeof(err)), ==, 0);
    cli = tcp_client(false, port);
    guest_accept(h, &c, 80, false);
    snprintf(rule, sizeof(rule), "tcp:127.0.0.1:%u", port);
    g_assert_cmpint(vpc_nat_hostfwd_remove(h->nat, rule, err, sizeof(err)),
                    ==, 0);
    nh_tcp_send(&c, VPC_TCP_ACK | VPC_TCP_PSH, "still", 5);
    nh_run(h, 50);
    g_assert_cmpint(recv(cli, b, sizeof(b), MSG_DONTWAIT), ==, 5);
    g_assert_cmpmem(b, 5, "still", 5);
    close(cli);
    g_assert_true(nh_tcp_recv(&c, 0, 3000));
    nh_tcp_send(&c, VPC_TCP_ACK | VPC_TCP_FIN, NULL, 0);
    nh_poll(h, 0);
    nh_tcp_destroy(&c);
    nh_free(h);
}

static int udp_client(const char *addr, uint16_t *port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sin);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    g_assert_cmpint(inet_pton(AF_INET, addr, &sin.sin_addr), ==, 1);
    sin.sin_port = htons(*port);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    *port = ntohs(sin.sin_port);
    return fd;
}

static NhPkt *next_udp(NatHarness *h)
{
    NhPkt *p;

    while (nh_next(h, &p, 2000)) {
        if (!p->is_arp && p->proto == VPC_IP_PROTO_UDP) {
            return p;
        }
        nh_pkt_free(p);
    }
    g_error("no datagram for the guest");
}

/* UDP: two clients on the same port number, each answered. */
static void test_udp(void)
{
    NatHarness *h = nh_new(NULL);
    uint16_t port = nh_free_port(false, true), cport = 0, gp[2];
    struct sockaddr_in to = { .sin_family = AF_INET,
                              .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    char rule[80], err[256], b[16];
    NhAddr gw = nh_gw(false);
    int cli[2];
    NhPkt *p;

    nh_send_arp(h, VPC_ARP_OP_REQUEST, NH_GUEST_IP4, NH_GW4, NULL);
    nh_flush(h);
    snprintf(rule, sizeof(rule), "udp:127.0.0.1:%u-:5353", port);
    g_assert_cmpint(vpc_nat_hostfwd_add(h->nat, rule, err, sizeof(err)), ==, 0);
    cli[0] = udp_client("127.0.0.1", &cport);
    cli[1] = udp_client("127.0.0.2", &cport);
    for (int i = 0; i < 2; i++) {
        snprintf(b, sizeof(b), "from %d", i);
        g_assert_cmpint(sendto(cli[i], b, strlen(b), 0,
                               (struct sockaddr *)&to, sizeof(to)), >, 0);
        p = next_udp(h);
        g_assert_cmpuint(p->udp.dst_port, ==, 5353);
        g_assert_cmphex(vpc_get_be32(p->src.a), ==, NH_GW4);
        g_assert_cmpmem(p->udp.payload, p->udp.payload_len, b, strlen(b));
        gp[i] = p->udp.src_port;
        nh_pkt_free(p);
    }
    /* The first keeps its port; the second, on the same port, another. */
    g_assert_cmpuint(gp[0], ==, cport);
    g_assert_cmpuint(gp[1], !=, gp[0]);
    for (int i = 1; i >= 0; i--) {
        snprintf(b, sizeof(b), "to %d", i);
        nh_send_udp(h, &gw, 5353, gp[i], b, strlen(b));
    }
    for (int i = 0; i < 2; i++) {
        char r[16];
        ssize_t n = -1;

        for (int t = 0; t < 100 && n < 0; t++) {
            n = recv(cli[i], r, sizeof(r), MSG_DONTWAIT);
            if (n < 0) {
                nh_poll(h, 10);
            }
        }
        snprintf(b, sizeof(b), "to %d", i);
        g_assert_cmpmem(r, n, b, strlen(b));
    }
    g_assert_cmpuint(vpc_nat_stats(h->nat)->flows_active, ==, 2);
    /* Removing the forward takes its flows. */
    snprintf(rule, sizeof(rule), "udp:127.0.0.1:%u", port);
    g_assert_cmpint(vpc_nat_hostfwd_remove(h->nat, rule, err, sizeof(err)),
                    ==, 0);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->flows_active, ==, 0);
    close(cli[0]);
    close(cli[1]);
    nh_free(h);
}

int main(int argc, char **argv)
{
    nh_process_init();
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nat/fwd/parse", test_parse);
    g_test_add_func("/nat/fwd/add-remove", test_add_remove);
    g_test_add_func("/nat/fwd/tcp4", test_tcp4);
    g_test_add_func("/nat/fwd/tcp6", test_tcp6);
    g_test_add_func("/nat/fwd/tcp-outlives", test_tcp_outlives);
    g_test_add_func("/nat/fwd/udp", test_udp);
    return g_test_run();
}
