/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Fuzz target of the NAT core (net/vpcnet/nat/): everything a guest can
 * send it.
 *
 * One long-lived core (remade every RESET_EVERY inputs, so that freeing
 * a busy core is fuzzed too) runs with a fake clock, a watch table and
 * real peers on loopback in a network namespace of the fuzzer's own
 * (unshare(CLONE_NEWNET); where that is not allowed, restrict=on keeps
 * every datagram on loopback): a TCP listener that echoes and sometimes
 * closes or resets, a UDP echo server, a DNS responder on 127.0.0.1:53,
 * all reached through the gateway with host_loopback=on.
 *
 * An input is a list of records, each an opcode byte and its operands:
 * raw frames; TCP segments, UDP datagrams and ICMP messages built from a
 * few bytes with correct checksums and, for TCP, sequence numbers near
 * the ones in use (so that mutations reach the state machine, not the
 * checksum test); ARP, NDP, DHCP and DHCPv6 frames; the end of a batch;
 * the clock moved and the timer run; one poll of the fds; the guest
 * busy or ready; forwards added and removed; the peers' actions.  Every
 * frame the core sends must parse back with correct checksums and fit
 * the MTU, or the run aborts.
 *
 * Built twice (tests/unit/meson.build), like fuzz-vpcnet: a libFuzzer
 * binary with clang, and a standalone driver under ASan/UBSan that runs
 * built-in seeds and seeded mutations for a bounded time, speaking TAP:
 *
 *   fuzz-nat [--iterations N] [--seed S] [--time-limit SECONDS]
 *            [--write-seeds DIR] [FILE...]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/vpcnet/nat/nat.h"
#include "net/vpcnet/packet.h"
#include "fuzz-vpcnet.h"

#define MAX_INPUT       8192
#define RESET_EVERY     20000
#define MAX_WATCH       4096
#define N_PORTS         8
#define N_PEERS         32
#define GUEST_IP        0x0a00020fu
#define GW_IP           0x0a000202u
#define DNS_IP          0x0a000203u

enum {
    OP_RAW, OP_TCP, OP_UDP, OP_ICMP, OP_ARP, OP_NDP, OP_DHCP, OP_DONE,
    OP_CLOCK, OP_POLL, OP_BUSY, OP_FWD, OP_PEER, OP_COUNT
};

typedef struct Watch {
    VpcNatWatch *w;
    unsigned events;
} Watch;

/* What the guest's TCP port i knows. */
typedef struct Track {
    uint32_t snd;       /* our next sequence number */
    uint32_t rcv;       /* the core's next, as last seen */
} Track;

/**
 * FuzzNat - what lives across inputs.
 * @nat: the core; @cfg its configuration.
 * @now: the fake clock; @timer: the core's deadline.
 * @watch: the watch table, by fd.
 * @busy: the guest refuses frames.
 * @lfd, @ufd, @dfd: the TCP listener, UDP echo and DNS sockets.
 * @lport, @uport: their ports.
 * @peers: connections the listener accepted.
 * @track: per guest TCP port.
 * @inputs: inputs run since @nat was made.
 * @netns: we have a namespace of our own.
 */
typedef struct FuzzNat {
    bool ready;
    VpcNat *nat;
    VpcNatConfig cfg;
    int64_t now, timer;
    Watch watch[MAX_WATCH];
    bool busy;
    int lfd, ufd, dfd;
    uint16_t lport, uport;
    int peers[N_PEERS];
    Track track[N_PORTS];
    uint64_t inputs;
    bool netns;
    char resolv[64];
    uint8_t frame[MAX_INPUT + 256];
    volatile uint32_t sink; /* volatile: keeps the counters read */
} FuzzNat;

static FuzzNat fz;

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz-nat: %s\n", what);
    abort();
}

/* Check a frame the core sent: it must parse, with good checksums. */
static void check_frame(const uint8_t *f, size_t len)
{
    VpcEthView eth;
    VpcIpv4View ip;
    VpcIpv6View ip6;
    VpcTcpView tcp;
    VpcUdpView udp;
    VpcIcmpView icmp;
    VpcArpView arp;
    const uint8_t *l4;
    size_t l4_len;
    uint8_t proto;
    bool v6;

    if (vpc_eth_parse(f, len, &eth) < 0) {
        fuzz_fail("sent a frame that does not parse");
    }
    if (eth.ethertype == VPC_ETHERTYPE_ARP) {
        if (vpc_arp_parse(eth.payload, eth.payload_len, &arp) < 0) {
            fuzz_fail("sent a bad ARP packet");
        }
        return;
    }
    v6 = eth.ethertype == VPC_ETHERTYPE_IPV6;
    if (v6) {
        if (vpc_ipv6_parse(eth.payload, eth.payload_len, &ip6) < 0) {
            fuzz_fail("sent a bad IPv6 packet");
        }
        l4 = ip6.l4;
        l4_len = ip6.l4_len;
        proto = ip6.protocol;
    } else if (eth.ethertype == VPC_ETHERTYPE_IPV4) {
        if (vpc_ipv4_parse(eth.payload, eth.payload_len, &ip) < 0) {
            fuzz_fail("sent a bad IPv4 packet");
        }
        l4 = ip.payload;
        l4_len = ip.payload_len;
        proto = ip.protocol;
    } else {
        fuzz_fail("sent a frame of another ethertype");
        return;
    }
    if (VPC_ETH_HLEN + (v6 ? VPC_IPV6_HLEN + l4_len : ip.total_len) >
        VPC_ETH_HLEN + fz.cfg.mtu) {
        fuzz_fail("sent a packet larger than the MTU");
    }
    switch (proto) {
    case VPC_IP_PROTO_TCP:
        if (vpc_tcp_parse(l4, l4_len, &tcp) < 0) {
            fuzz_fail("sent a bad TCP header");
        }
        if (tcp.dst_port >= 40000 && tcp.dst_port < 40000 + N_PORTS) {
            Track *t = &fz.track[tcp.dst_port - 40000];

            t->rcv = tcp.seq + (uint32_t)tcp.payload_len +
                     ((tcp.flags & (VPC_TCP_SYN | VPC_TCP_FIN)) ? 1 : 0);
        }
        break;
    case VPC_IP_PROTO_UDP:
        if (vpc_udp_parse_header(l4, l4_len, &udp) < 0 ||
            udp.length != l4_len) {
            fuzz_fail("sent a bad UDP header");
        }
        break;
    case VPC_IP_PROTO_ICMP:
        if (v6 || vpc_icmp_parse(l4, l4_len, &icmp) < 0) {
            fuzz_fail("sent bad ICMP");
        }
        return;
    case VPC_IPV6_NH_ICMPV6:
        if (!v6 || vpc_icmp6_parse(&ip6, &icmp) < 0) {
            fuzz_fail("sent bad ICMPv6");
        }
        return;
    default:
        fuzz_fail("sent another protocol");
    }
    if (v6 ? vpc_l4_checksum_ipv6(ip6.src, ip6.dst, proto, l4, l4_len) != 0
           : vpc_l4_checksum_ipv4(ip.src, ip.dst, proto, l4, l4_len) != 0) {
        fuzz_fail("sent a bad upper-layer checksum");
    }
}

static bool cb_send(void *opaque, const struct iovec *iov, unsigned iovcnt,
                    size_t len)
{
    static uint8_t buf[70000];
    size_t off = 0;

    if (len > sizeof(buf)) {
        fuzz_fail("sent a frame larger than 64 KiB");
    }
    for (unsigned i = 0; i < iovcnt; i++) {
        memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    if (off != len) {
        fuzz_fail("iov and length disagree");
    }
    check_frame(buf, len);
    return !fz.busy;
}

static void cb_watch(void *opaque, int fd, unsigned events, VpcNatWatch *w)
{
    if (fd < 0 || fd >= MAX_WATCH) {
        fuzz_fail("watch: fd out of range");
    }
    fz.watch[fd].w = events ? w : NULL;
    fz.watch[fd].events = events;
}

static void cb_timer(void *opaque, int64_t deadline)
{
    fz.timer = deadline;
}

static int64_t cb_clock(void *opaque)
{
    return fz.now;
}

static const VpcNatCallbacks callbacks = {
    .send_frame = cb_send, .watch = cb_watch, .timer_mod = cb_timer,
    .clock_ns = cb_clock,
};

static int bind_lo(int type, uint16_t port, uint32_t addr, uint16_t *out)
{
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_port = htons(port),
                               .sin_addr.s_addr = htonl(addr) };
    socklen_t sl = sizeof(sin);
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        (type == SOCK_STREAM && listen(fd, 64) < 0)) {
        close(fd);
        return -1;
    }
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    if (out) {
        *out = ntohs(sin.sin_port);
    }
    return fd;
}

static void core_new(void)
{
    char err[256];

    vpc_nat_config_init(&fz.cfg);
    fz.cfg.host_loopback = true;
    fz.cfg.restricted = !fz.netns;
    fz.cfg.max_flows = 64;
    fz.cfg.tcp_idle_timeout = 60;
    fz.cfg.udp_idle_timeout = 20;
    fz.cfg.resolv_conf = fz.resolv;
    snprintf(fz.cfg.dnssearch[0], sizeof(fz.cfg.dnssearch[0]), "test");
    fz.cfg.n_dnssearch = 1;
    fz.nat = vpc_nat_new(&fz.cfg, &callbacks, NULL, err, sizeof(err));
    if (!fz.nat) {
        fprintf(stderr, "fuzz-nat: %s\n", err);
        abort();
    }
    fz.inputs = 0;
}

static void setup(void)
{
    struct ifreq ifr = { .ifr_name = "lo" };
    FILE *f;
    int fd;

    signal(SIGPIPE, SIG_IGN);
    if (unshare(CLONE_NEWNET) == 0) {
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
            ifr.ifr_flags |= IFF_UP;
            fz.netns = ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    snprintf(fz.resolv, sizeof(fz.resolv), "/tmp/fuzz-nat-%d.resolv",
             (int)getpid());
    f = fopen(fz.resolv, "w");
    if (!f) {
        fuzz_fail("cannot write resolv.conf");
    }
    fputs("nameserver 127.0.0.1\n", f);
    fclose(f);
    fz.lfd = bind_lo(SOCK_STREAM, 0, INADDR_LOOPBACK, &fz.lport);
    fz.ufd = bind_lo(SOCK_DGRAM, 0, INADDR_LOOPBACK, &fz.uport);
    fz.dfd = fz.netns ? bind_lo(SOCK_DGRAM, 53, INADDR_LOOPBACK, NULL) : -1;
    if (fz.lfd < 0 || fz.ufd < 0) {
        fuzz_fail("cannot make the loopback peers");
    }
    for (int i = 0; i < N_PEERS; i++) {
        fz.peers[i] = -1;
    }
    fz.now = 1000000000000ll;
    fz.timer = INT64_MAX;
    core_new();
    fz.ready = true;
}

/* The loopback peers: accept, echo, answer. */
static void service_peers(void)
{
    uint8_t buf[2048];
    struct sockaddr_storage ss;
    socklen_t sl;
    ssize_t n;
    int fd;

    while ((fd = accept4(fz.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC))
           >= 0) {
        int slot = -1;

        for (int i = 0; i < N_PEERS; i++) {
            if (fz.peers[i] < 0) {
                slot = i;
                break;
            }
        }
        if (slot < 0) {
            close(fd);
            continue;
        }
        fz.peers[slot] = fd;
    }
    for (int i = 0; i < N_PEERS; i++) {
        if (fz.peers[i] < 0) {
            continue;
        }
        n = read(fz.peers[i], buf, sizeof(buf));
        if (n > 0) {
            (void)!write(fz.peers[i], buf, (size_t)n);
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            close(fz.peers[i]);
            fz.peers[i] = -1;
        }
    }
    for (int k = 0; k < 2; k++) {
        int sfd = k ? fz.dfd : fz.ufd;

        for (int j = 0; sfd >= 0 && j < 16; j++) {
            sl = sizeof(ss);
            n = recvfrom(sfd, buf, sizeof(buf), MSG_DONTWAIT,
                         (struct sockaddr *)&ss, &sl);
            if (n < 0) {
                break;
            }
            if (k && n >= 12) {
                buf[2] |= 0x80;     /* a DNS "answer" */
            }
            sendto(sfd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&ss,
                   sl);
        }
    }
}

static void run_timer(void)
{
    for (int i = 0; fz.timer <= fz.now && i < 64; i++) {
        fz.timer = INT64_MAX;
        vpc_nat_timer(fz.nat);
    }
}

static void poll_once(void)
{
    struct pollfd pfd[MAX_WATCH];
    unsigned n = 0;

    service_peers();
    for (int fd = 0; fd < MAX_WATCH; fd++) {
        if (fz.watch[fd].w) {
            pfd[n].fd = fd;
            pfd[n].events = ((fz.watch[fd].events & VPC_NAT_EV_IN) ? POLLIN
                                                                    : 0) |
                            ((fz.watch[fd].events & VPC_NAT_EV_OUT) ? POLLOUT
                                                                     : 0);
            pfd[n].revents = 0;
            n++;
        }
    }
    if (poll(pfd, n, 0) <= 0) {
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned ev = 0;
        VpcNatWatch *w = fz.watch[pfd[i].fd].w;

        if (!pfd[i].revents || !w) {
            continue;
        }
        if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) {
            ev |= VPC_NAT_EV_IN;
        }
        if (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP)) {
            ev |= VPC_NAT_EV_OUT;
        }
        vpc_nat_ready(w, ev);
    }
    run_timer();
}

/* Input bytes, read one at a time; zeros once they run out. */
typedef struct Reader {
    const uint8_t *p;
    size_t n;
} Reader;

static uint8_t rd8(Reader *r)
{
    if (!r->n) {
        return 0;
    }
    r->n--;
    return *r->p++;
}

static uint16_t rd16(Reader *r)
{
    return (uint16_t)(rd8(r) << 8 | rd8(r));
}

/* Up to @max bytes of payload: a length byte, then the bytes. */
static size_t rd_blob(Reader *r, const uint8_t **data, size_t max)
{
    size_t len = rd8(r);

    if (len == 255) {
        len = rd16(r);
    }
    if (len > r->n) {
        len = r->n;
    }
    if (len > max) {
        len = max;
    }
    *data = r->p;
    r->p += len;
    r->n -= len;
    return len;
}

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t gw_ll[16] = { 0xfe, 0x80, [8] = 0x50, 0x55, 0x0a, 0xff,
                                   0xfe, 0x00, 0x02, 0x02 };

/* The guest's source and a destination of family @v6 chosen by @which. */
static void pick_addrs(bool v6, uint8_t which, uint8_t src[16],
                       uint8_t dst[16])
{
    static const uint8_t prefix[2] = { 0xfe, 0xc0 };

    memset(src, 0, 16);
    memset(dst, 0, 16);
    if (!v6) {
        static const uint32_t dsts[] = { GW_IP, DNS_IP, 0xc6336402,
                                         0x7f000001, 0x0a0002ff, 0xe0000001,
                                         0x0a000210, 0 };

        vpc_put_be32(src, GUEST_IP);
        vpc_put_be32(dst, dsts[which % 8]);
        return;
    }
    memcpy(src, prefix, 2);
    src[15] = 0x15;
    switch (which % 6) {
    case 0:
        memcpy(dst, prefix, 2);
        dst[15] = 2;
        break;
    case 1:
        memcpy(dst, prefix, 2);
        dst[15] = 3;
        break;
    case 2:
        memcpy(dst, gw_ll, 16);
        memcpy(src, gw_ll, 8);
        src[15] = 0x99;
        break;
    case 3:
        dst[0] = 0x20;
        dst[1] = 0x01;
        dst[2] = 0x0d;
        dst[3] = 0xb8;
        dst[15] = 2;
        break;
    case 4:
        dst[15] = 1;
        break;
    default:
        dst[0] = 0xff;
        dst[1] = 0x02;
        dst[15] = 1;
        break;
    }
}

/* Wrap @l4 (already in fz.frame at its place) and feed it. */
static void send_ip(bool v6, const uint8_t *src, const uint8_t *dst,
                    uint8_t proto, size_t l4_len, uint8_t ttl)
{
    uint8_t *f = fz.frame;

    vpc_eth_put_header(f, fz.cfg.gateway_mac, guest_mac,
                       v6 ? VPC_ETHERTYPE_IPV6 : VPC_ETHERTYPE_IPV4);
    if (v6) {
        vpc_ipv6_put_header(f + 14, src, dst, proto, (uint16_t)l4_len, ttl);
        vpc_nat_input(fz.nat, f, 14 + 40 + l4_len);
    } else {
        vpc_ipv4_put_header(f + 14, vpc_get_be32(src), vpc_get_be32(dst),
                            proto, (uint16_t)l4_len, 0, ttl, true);
        vpc_nat_input(fz.nat, f, 14 + 20 + l4_len);
    }
}

static size_t l4_off(bool v6)
{
    return 14 + (v6 ? 40 : 20);
}

static void put_l4_csum(bool v6, const uint8_t *src, const uint8_t *dst,
                        uint8_t proto, uint8_t *l4, size_t len, size_t at)
{
    uint16_t sum;

    vpc_put_be16(l4 + at, 0);
    sum = v6 ? vpc_l4_checksum_ipv6(src, dst, proto, l4, len)
             : vpc_l4_checksum_ipv4(vpc_get_be32(src), vpc_get_be32(dst),
                                    proto, l4, len);
    vpc_put_be16(l4 + at, sum);
}

static void op_tcp(Reader *r)
{
    uint8_t a = rd8(r), flags = rd8(r), port = rd8(r), mode = rd8(r);
    bool v6 = a & 0x80;
    uint8_t src[16], dst[16];
    Track *t = &fz.track[port % N_PORTS];
    uint8_t *l4 = fz.frame + l4_off(v6);
    const uint8_t *data;
    size_t len, hlen;
    uint16_t dports[4] = { fz.lport, 53, 1, fz.uport };
    VpcTcpHeader th = {
        .src_port = (uint16_t)(40000 + port % N_PORTS),
        .dst_port = dports[(a >> 4) & 3],
        .flags = flags,
        .window = rd16(r),
    };

    pick_addrs(v6, a & 0x0f, src, dst);
    if (flags & VPC_TCP_SYN) {
        th.mss = (mode & 1) ? rd16(r) : 0;
        th.send_wscale = mode & 2;
        th.wscale = rd8(r);
        if (!(flags & VPC_TCP_ACK)) {
            t->snd = (uint32_t)rand();
        }
    }
    /* Mostly the sequence numbers in use, sometimes nudged. */
    th.seq = t->snd + ((mode & 4) ? (uint32_t)(int8_t)rd8(r) : 0);
    th.ack = t->rcv + ((mode & 8) ? (uint32_t)(int8_t)rd8(r) * 97 : 0);
    if (mode & 0x10) {
        th.seq = (uint32_t)rd16(r) << 16 | rd16(r);
    }
    hlen = vpc_tcp_put_header(l4, &th);
    len = rd_blob(r, &data, fz.cfg.mtu - 60 - 40);
    memcpy(l4 + hlen, data, len);
    put_l4_csum(v6, src, dst, VPC_IP_PROTO_TCP, l4, hlen + len, 16);
    if (!(mode & 0x20)) {
        t->snd = th.seq + (uint32_t)len +
                 ((flags & (VPC_TCP_SYN | VPC_TCP_FIN)) ? 1 : 0);
    }
    send_ip(v6, src, dst, VPC_IP_PROTO_TCP, hlen + len, 64);
}

static void op_udp(Reader *r)
{
    uint8_t a = rd8(r), port = rd8(r);
    bool v6 = a & 0x80;
    uint8_t src[16], dst[16];
    uint8_t *l4 = fz.frame + l4_off(v6);
    uint16_t dports[4] = { fz.uport, 53, 9, 547 };
    const uint8_t *data;
    size_t len;

    pick_addrs(v6, a & 0x0f, src, dst);
    len = rd_blob(r, &data, fz.cfg.mtu - 48);
    vpc_put_be16(l4, (uint16_t)(30000 + port % 64));
    vpc_put_be16(l4 + 2, dports[(a >> 4) & 3]);
    vpc_put_be16(l4 + 4, (uint16_t)(8 + len));
    memcpy(l4 + 8, data, len);
    put_l4_csum(v6, src, dst, VPC_IP_PROTO_UDP, l4, 8 + len, 6);
    send_ip(v6, src, dst, VPC_IP_PROTO_UDP, 8 + len, 64);
}

static void op_icmp(Reader *r)
{
    uint8_t a = rd8(r), type = rd8(r), code = rd8(r);
    bool v6 = a & 0x80;
    uint8_t src[16], dst[16];
    uint8_t *l4 = fz.frame + l4_off(v6);
    const uint8_t *data;
    size_t len;

    pick_addrs(v6, a & 0x0f, src, dst);
    l4[0] = (a & 0x40) ? type : (v6 ? VPC_ICMP6_ECHO_REQUEST
                                    : VPC_ICMP_ECHO_REQUEST);
    l4[1] = (a & 0x40) ? code : 0;
    vpc_put_be16(l4 + 4, rd16(r));
    vpc_put_be16(l4 + 6, rd16(r));
    len = rd_blob(r, &data, fz.cfg.mtu - 48 - 8);
    memcpy(l4 + 8, data, len);
    if (v6) {
        put_l4_csum(v6, src, dst, VPC_IPV6_NH_ICMPV6, l4, 8 + len, 2);
        send_ip(v6, src, dst, VPC_IPV6_NH_ICMPV6, 8 + len, 64);
    } else {
        vpc_put_be16(l4 + 2, 0);
        vpc_put_be16(l4 + 2, vpc_ip_checksum(l4, 8 + len));
        send_ip(v6, src, dst, VPC_IP_PROTO_ICMP, 8 + len, 64);
    }
}

static void op_arp(Reader *r)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint8_t *f = fz.frame, *p = f + 14;
    uint8_t a = rd8(r);

    memset(f, 0, 60);
    vpc_eth_put_header(f, (a & 1) ? fz.cfg.gateway_mac : bcast, guest_mac,
                       VPC_ETHERTYPE_ARP);
    vpc_put_be16(p, 1);
    vpc_put_be16(p + 2, VPC_ETHERTYPE_IPV4);
    p[4] = 6;
    p[5] = 4;
    vpc_put_be16(p + 6, (a & 2) ? 2 : 1);
    memcpy(p + 8, guest_mac, 6);
    vpc_put_be32(p + 14, (a & 4) ? 0x0a000200u | rd8(r) : GUEST_IP);
    vpc_put_be32(p + 24, 0x0a000200u | rd8(r));
    vpc_nat_input(fz.nat, f, (a & 8) ? 14 + rd8(r) % 28 : 60);
}

/* NDP and DHCPv6: an ICMPv6 or UDP body from the input, hop limit 255. */
static void op_ndp(Reader *r)
{
    static const uint8_t all_routers[16] = { 0xff, 0x02, [15] = 2 };
    static const uint8_t all_dhcp[16] = { 0xff, 0x02, [13] = 1, [15] = 2 };
    uint8_t a = rd8(r), src[16] = { 0 };
    uint8_t *l4 = fz.frame + l4_off(true);
    const uint8_t *data;
    size_t len = rd_blob(r, &data, 1000);

    if (!(a & 4)) {
        memcpy(src, gw_ll, 8);
        src[15] = 0x99;
    }
    if (a & 1) {
        /* DHCPv6 to all servers. */
        vpc_put_be16(l4, 546);
        vpc_put_be16(l4 + 2, 547);
        vpc_put_be16(l4 + 4, (uint16_t)(8 + len));
        memcpy(l4 + 8, data, len);
        put_l4_csum(true, src, all_dhcp, VPC_IP_PROTO_UDP, l4, 8 + len, 6);
        send_ip(true, src, all_dhcp, VPC_IP_PROTO_UDP, 8 + len, 1);
        return;
    }
    l4[0] = (uint8_t)(VPC_ICMP6_ROUTER_SOLICIT + (a >> 4) % 5);
    l4[1] = 0;
    memcpy(l4 + 4, data, len);
    if (!(a & 2) && len >= 20) {
        memcpy(l4 + 8, gw_ll, 16);      /* a target of ours */
        l4[8 + 15] = (a & 8) ? 2 : 2;
    }
    put_l4_csum(true, src, all_routers, VPC_IPV6_NH_ICMPV6, l4, 4 + len, 2);
    send_ip(true, src, all_routers, VPC_IPV6_NH_ICMPV6, 4 + len,
            (a & 8) ? 64 : 255);
}

static void op_dhcp(Reader *r)
{
    VpcDhcpHeader h = { .op = 1, .htype = 1, .hlen = 6 };
    VpcDhcpWriter w;
    VpcUdp4Frame uf = { .ip_dst = VPC_IPV4_BROADCAST, .src_port = 68,
                        .dst_port = 67, .ttl = 64 };
    uint8_t msg[600];
    const uint8_t *opts;
    size_t olen;
    int len;

    h.xid = rd16(r);
    memcpy(h.chaddr, guest_mac, 6);
    h.chaddr[5] ^= rd8(r) & 3;
    h.ciaddr = (rd8(r) & 1) ? GUEST_IP : 0;
    vpc_dhcp_writer_init(&w, msg, sizeof(msg), &h);
    vpc_dhcp_put_u8(&w, VPC_DHCP_OPT_MSG_TYPE, (uint8_t)(1 + rd8(r) % 8));
    olen = rd_blob(r, &opts, 250);
    if (olen >= 2) {
        vpc_dhcp_put_option(&w, opts[0], opts + 1, olen - 1);
    }
    len = vpc_dhcp_writer_finish(&w, 300);
    if (len < 0) {
        return;
    }
    memcpy(uf.eth_src, h.chaddr, 6);
    memset(uf.eth_dst, 0xff, 6);
    len = vpc_udp4_frame_build(fz.frame, sizeof(fz.frame), &uf, msg,
                               (size_t)len);
    if (len > 0) {
        vpc_nat_input(fz.nat, fz.frame, (size_t)len);
    }
}

static void op_fwd(Reader *r)
{
    static const char *const rules[] = {
        "tcp:127.0.0.1:%u-:22", "udp:127.0.0.1:%u-:5353",
        "tcp:[::1]:%u-[fec0::15]:80", "udp:[::1]:%u-:53",
    };
    uint8_t a = rd8(r);
    char rule[80], err[256];
    unsigned port = 20000 + (a >> 2) % 8;

    snprintf(rule, sizeof(rule), rules[a & 3], port);
    if (vpc_nat_hostfwd_add(fz.nat, rule, err, sizeof(err)) < 0) {
        char *dash = strchr(rule, '-');

        *dash = '\0';
        vpc_nat_hostfwd_remove(fz.nat, rule, err, sizeof(err));
    }
    /* A client that talks to it. */
    if (a & 0x80) {
        struct sockaddr_in sin = { .sin_family = AF_INET,
                                   .sin_port = htons(port),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, ((a & 1) ? SOCK_DGRAM : SOCK_STREAM) |
                        SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        if (fd >= 0) {
            if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 ||
                errno == EINPROGRESS) {
                (void)!send(fd, "hello", 5, MSG_DONTWAIT);
            }
            for (int i = 0; i < N_PEERS; i++) {
                if (fz.peers[i] < 0) {
                    fz.peers[i] = fd;
                    fd = -1;
                    break;
                }
            }
            if (fd >= 0) {
                close(fd);
            }
        }
    }
}

static void op_peer(Reader *r)
{
    uint8_t a = rd8(r);
    int *fd = &fz.peers[a % N_PEERS];
    static uint8_t bulk[65536];

    service_peers();
    if (*fd < 0) {
        return;
    }
    switch ((a >> 5) & 3) {
    case 0:
        (void)!send(*fd, bulk, 1u << (a & 15 ? (a & 15) : 1), MSG_DONTWAIT);
        break;
    case 1:
        shutdown(*fd, SHUT_WR);
        break;
    case 2: {
        struct linger lg = { 1, 0 };

        setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(*fd);
        *fd = -1;
        break;
    }
    default:
        close(*fd);
        *fd = -1;
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Reader r = { data, size };
    unsigned ops = 0;

    if (!fz.ready) {
        setup();
    }
    if (++fz.inputs > RESET_EVERY) {
        vpc_nat_free(fz.nat);
        for (int fd = 0; fd < MAX_WATCH; fd++) {
            if (fz.watch[fd].w) {
                fuzz_fail("a watch outlived vpc_nat_free");
            }
        }
        if (fz.timer != INT64_MAX) {
            fuzz_fail("the timer outlived vpc_nat_free");
        }
        core_new();
    }
    while (r.n && ops++ < 256) {
        uint8_t op = rd8(&r) % OP_COUNT;
        const uint8_t *raw;
        size_t len;

        switch (op) {
        case OP_RAW:
            len = rd_blob(&r, &raw, MAX_INPUT);
            memcpy(fz.frame, raw, len);
            vpc_nat_input(fz.nat, fz.frame, len);
            break;
        case OP_TCP:
            op_tcp(&r);
            break;
        case OP_UDP:
            op_udp(&r);
            break;
        case OP_ICMP:
            op_icmp(&r);
            break;
        case OP_ARP:
            op_arp(&r);
            break;
        case OP_NDP:
            op_ndp(&r);
            break;
        case OP_DHCP:
            op_dhcp(&r);
            break;
        case OP_DONE:
            vpc_nat_input_done(fz.nat);
            break;
        case OP_CLOCK: {
            uint8_t a = rd8(&r);

            fz.now += (int64_t)(a & 0x3f) << ((a >> 6) * 6) << 20;
            run_timer();
            break;
        }
        case OP_POLL:
            poll_once();
            break;
        case OP_BUSY:
            fz.busy = !fz.busy;
            if (fz.busy) {
                vpc_nat_guest_busy(fz.nat);
            } else {
                vpc_nat_guest_ready(fz.nat);
            }
            break;
        case OP_FWD:
            op_fwd(&r);
            break;
        case OP_PEER:
            op_peer(&r);
            break;
        }
    }
    vpc_nat_input_done(fz.nat);
    if (fz.busy) {
        fz.busy = false;
        vpc_nat_guest_ready(fz.nat);
    }
    poll_once();
    fz.now += 10000000;     /* 10 ms of fake time per input */
    run_timer();
    {
        const VpcNatStats *st = vpc_nat_stats(fz.nat);

        if (st->flows_active > st->flows_max) {
            fuzz_fail("more flows than the table holds");
        }
        fz.sink += (uint32_t)st->rx_frames;
    }
    return 0;
}

#ifndef VPC_FUZZ_LIBFUZZER

typedef struct Seed {
    uint8_t data[MAX_INPUT];
    size_t len;
} Seed;

static Seed seeds[32];
static unsigned n_seeds;

static Seed *seed_begin(void)
{
    Seed *s = &seeds[n_seeds++];

    s->len = 0;
    return s;
}

static void put(Seed *s, const void *p, size_t n)
{
    if (s->len + n <= MAX_INPUT) {
        memcpy(s->data + s->len, p, n);
        s->len += n;
    }
}

#define PUT(s, ...) put((s), (const uint8_t[]){ __VA_ARGS__ }, \
                        sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void build_seeds(void)
{
    Seed *s;

    /* A TCP connection to the echo listener: SYN, ACK, data, FIN. */
    s = seed_begin();
    PUT(s, OP_TCP, 0x00, VPC_TCP_SYN, 0, 0x03, 0xff, 0xff, 0x05, 0xb4, 7, 0);
    PUT(s, OP_DONE, OP_POLL, OP_POLL);
    PUT(s, OP_TCP, 0x00, VPC_TCP_ACK, 0, 0, 0x04, 0x00, 0);
    PUT(s, OP_TCP, 0x00, VPC_TCP_ACK | VPC_TCP_PSH, 0, 0, 0x04, 0x00, 5, 'h',
        'e', 'l', 'l', 'o');
    PUT(s, OP_DONE, OP_POLL, OP_PEER, 0x08, OP_POLL);
    PUT(s, OP_TCP, 0x00, VPC_TCP_ACK, 0, 0, 0x00, 0x00, 0);
    PUT(s, OP_CLOCK, 0x48, OP_POLL);
    PUT(s, OP_TCP, 0x00, VPC_TCP_ACK | VPC_TCP_FIN, 0, 0, 0x04, 0x00, 0);
    PUT(s, OP_PEER, 0x20, OP_POLL, OP_CLOCK, 0x90);
    /* IPv6, out of order, RST. */
    s = seed_begin();
    PUT(s, OP_TCP, 0x80, VPC_TCP_SYN, 1, 0x02, 0xff, 0xff, 8, 0);
    PUT(s, OP_DONE, OP_POLL, OP_POLL);
    PUT(s, OP_TCP, 0x80, VPC_TCP_ACK, 1, 0x04, 0x10, 0x00, 0x40, 3, 'a', 'b',
        'c');
    PUT(s, OP_TCP, 0x80, VPC_TCP_RST, 1, 0, 0, 0, 0);
    /* UDP both ways, DNS, a port unreachable. */
    s = seed_begin();
    PUT(s, OP_UDP, 0x00, 1, 4, 'p', 'i', 'n', 'g', OP_POLL, OP_POLL);
    PUT(s, OP_UDP, 0x11, 2, 12, 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
        OP_POLL);
    PUT(s, OP_UDP, 0x20, 3, 1, 'x', OP_POLL, OP_UDP, 0x90, 4, 2, 'h', 'i');
    PUT(s, OP_CLOCK, 0x85, OP_POLL);
    /* ICMP echo to us and out; other ICMP. */
    s = seed_begin();
    PUT(s, OP_ICMP, 0x00, 0, 0, 0x12, 0x34, 0, 1, 4, 'p', 'i', 'n', 'g');
    PUT(s, OP_ICMP, 0x02, 0, 0, 0x12, 0x35, 0, 1, 0, OP_POLL);
    PUT(s, OP_ICMP, 0x83, 0, 0, 0x12, 0x36, 0, 1, 2, 'x', 'y', OP_POLL);
    PUT(s, OP_ICMP, 0x40, 13, 0, 0, 0, 0, 0, 0);
    /* ARP, NDP, DHCP, DHCPv6. */
    s = seed_begin();
    PUT(s, OP_ARP, 0x00, OP_ARP, 0x06, 0x30, 3, OP_ARP, 0x08, 10);
    PUT(s, OP_NDP, 0x00, 4, 0, 0, 0, 0);
    PUT(s, OP_NDP, 0x20, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0);
    PUT(s, OP_NDP, 0x01, 12, 11, 1, 2, 3, 0, 1, 0, 4, 0, 3, 0, 1);
    PUT(s, OP_DHCP, 0x12, 0x34, 0, 0, 0, 0);
    PUT(s, OP_DHCP, 0x12, 0x35, 0, 0, 2, 5, 50, 10, 0, 2, 27);
    PUT(s, OP_CLOCK, 0xff);
    /* Forwards: add, a client, data from the peer. */
    s = seed_begin();
    PUT(s, OP_FWD, 0x80, OP_POLL, OP_ARP, 0x02, OP_CLOCK, 0x50, OP_POLL);
    PUT(s, OP_FWD, 0x81, OP_POLL, OP_POLL, OP_FWD, 0x80);
    /* A busy guest while the peer sends. */
    s = seed_begin();
    PUT(s, OP_TCP, 0x00, VPC_TCP_SYN, 2, 0x03, 0xff, 0xff, 0x05, 0xb4, 7, 0);
    PUT(s, OP_DONE, OP_POLL, OP_POLL);
    PUT(s, OP_TCP, 0x00, VPC_TCP_ACK, 2, 0, 0xff, 0xff, 0);
    PUT(s, OP_TCP, 0x00, VPC_TCP_ACK | VPC_TCP_PSH, 2, 0, 0xff, 0xff, 4, 'd',
        'a', 't', 'a');
    PUT(s, OP_DONE, OP_BUSY, OP_POLL, OP_PEER, 0x0f, OP_POLL, OP_BUSY,
        OP_POLL, OP_CLOCK, 0x44, OP_TCP, 0x00, VPC_TCP_ACK, 2, 0x08, 0, 0,
        0x10, 0, OP_PEER, 0x40);
    /* Raw frames: a runt and a VLAN tag. */
    s = seed_begin();
    PUT(s, OP_RAW, 10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 1);
    PUT(s, OP_RAW, 18, 0x52, 0x55, 10, 0, 2, 2, 0x52, 0x54, 0, 0x12, 0x34,
        0x56, 0x81, 0x00, 0, 5, 0x08, 0x00);
}

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

static size_t mutate_once(uint8_t *buf, size_t len)
{
    size_t at = rng_below(len), n;

    switch (rng_below(8)) {
    case 0:
        if (len) {
            buf[at] ^= (uint8_t)(1u << rng_below(8));
        }
        break;
    case 1:
        if (len) {
            buf[at] = (uint8_t)rng();
        }
        break;
    case 2:
        if (len) {
            buf[at] = (uint8_t)rng_below(OP_COUNT);
        }
        break;
    case 3:
        return rng_below(len + 1);
    case 4:
        n = rng_below(len - at + 1);
        memmove(buf + at, buf + at + n, len - at - n);
        return len - n;
    case 5:
        n = rng_below(16);
        if (len + n > MAX_INPUT) {
            break;
        }
        memmove(buf + at + n, buf + at, len - at);
        for (size_t i = 0; i < n; i++) {
            buf[at + i] = (uint8_t)rng();
        }
        return len + n;
    default: {
        /* Splice in part of another seed: whole records, often. */
        const Seed *o = &seeds[rng_below(n_seeds)];
        size_t from = rng_below(o->len);

        n = rng_below(o->len - from + 1);
        if (len + n > MAX_INPUT) {
            break;
        }
        memmove(buf + at + n, buf + at, len - at);
        memcpy(buf + at, o->data + from, n);
        return len + n;
    }
    }
    return len;
}

static bool parse_number(const char *text, unsigned long long *value)
{
    char tail;

    return text[0] >= '0' && text[0] <= '9' &&
           sscanf(text, "%llu%c", value, &tail) == 1;
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
    unsigned long long iterations = 100000, done = 0, seed = 0x5eed;
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
        for (unsigned i = 0; i < n_seeds; i++) {
            char path[512];
            FILE *f;

            snprintf(path, sizeof(path), "%s/seed-%02u", seed_dir, i);
            f = fopen(path, "wb");
            if (!f || fwrite(seeds[i].data, 1, seeds[i].len, f) !=
                seeds[i].len) {
                perror(path);
                return 1;
            }
            fclose(f);
        }
        return 0;
    }
    printf("1..1\n");
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (files) {
        for (int i = 1; i < argc; i++) {
            FILE *f;
            size_t len;

            if (argv[i][0] == '-') {
                i += strcmp(argv[i], "--tap") != 0;
                continue;
            }
            f = fopen(argv[i], "rb");
            if (!f) {
                printf("not ok 1 - fuzz-nat cannot read %s\n", argv[i]);
                return 1;
            }
            len = fread(buf, 1, sizeof(buf), f);
            fclose(f);
            LLVMFuzzerTestOneInput(buf, len);
        }
        printf("ok 1 - fuzz-nat %d files\n", files);
        return 0;
    }
    rng_state = seed * 2 + 1;
    srand((unsigned)seed);
    for (unsigned i = 0; i < n_seeds; i++) {
        LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len);
        done++;
    }
    while (done < iterations) {
        const Seed *base = &seeds[rng_below(n_seeds)];
        size_t len = base->len;
        unsigned edits = 1 + (unsigned)rng_below(6);

        memcpy(buf, base->data, len);
        for (unsigned e = 0; e < edits; e++) {
            len = mutate_once(buf, len);
        }
        LLVMFuzzerTestOneInput(buf, len);
        done++;
        if (done % 256 == 0 && seconds_since(&start) > (double)time_limit) {
            break;
        }
    }
    vpc_nat_free(fz.nat);
    unlink(fz.resolv);
    printf("# seed %llu, %.1f s, %s\n", seed, seconds_since(&start),
           fz.netns ? "own network namespace" : "restrict=on on the host");
    printf("ok 1 - fuzz-nat %llu iterations\n", done);
    return 0;
}

#endif
