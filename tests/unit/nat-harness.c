/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the NAT core: the simulated guest and embedder
 * (nat-harness.h says how it works).
 */
#include "nat-harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

const uint8_t NH_GUEST_MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
const uint8_t NH_GW_MAC[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };

typedef struct NhWatch {
    VpcNatWatch *w;
    unsigned events;
    uint64_t gen;
} NhWatch;

static bool netns_ok;

/* Addresses */

NhAddr nh_addr4(uint32_t host_order)
{
    NhAddr a = { .v6 = false };

    vpc_put_be32(a.a, host_order);
    return a;
}

NhAddr nh_addr6(const char *text)
{
    NhAddr a = { .v6 = true };

    g_assert_cmpint(inet_pton(AF_INET6, text, a.a), ==, 1);
    return a;
}

NhAddr nh_gw(bool v6)
{
    return v6 ? nh_addr6("fec0::2") : nh_addr4(NH_GW4);
}

NhAddr nh_dns(bool v6)
{
    return v6 ? nh_addr6("fec0::3") : nh_addr4(NH_DNS4);
}

/* The process */

void nh_process_init(void)
{
    struct ifreq ifr = { 0 };
    int fd;

    signal(SIGPIPE, SIG_IGN);
    if (unshare(CLONE_NEWNET) < 0) {
        printf("# cannot make a network namespace: %s\n", strerror(errno));
        return;
    }
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        netns_ok = ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
    }
    if (fd >= 0) {
        close(fd);
    }
}

bool nh_private_netns(void)
{
    return netns_ok;
}

int nh_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    g_assert_nonnull(d);
    while ((e = readdir(d))) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n - 1;       /* the directory's own fd */
}

void nh_sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    int rc;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    rc = system(cmd);
    if (rc != 0) {
        g_error("'%s' failed: %d", cmd, rc);
    }
    g_free(cmd);
}

pid_t nh_peer_netns(void)
{
    int hold[2], ready[2];
    char c;
    pid_t pid;

    g_assert_true(netns_ok);
    g_assert_cmpint(pipe2(hold, O_CLOEXEC), ==, 0);
    g_assert_cmpint(pipe2(ready, O_CLOEXEC), ==, 0);
    fflush(stdout);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(hold[1]);
        if (unshare(CLONE_NEWNET) < 0 || write(ready[1], "x", 1) != 1) {
            _exit(1);
        }
        /* Live as long as the test process holds the pipe open. */
        while (read(hold[0], &c, 1) > 0) {
            continue;
        }
        _exit(0);
    }
    close(hold[0]);
    close(ready[1]);
    g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
    close(ready[0]);
    /* hold[1] stays open (and is not inherited) until we exit. */
    nh_sh("ip link add vnat0 type veth peer name vnat1 netns %d", (int)pid);
    nh_sh("ip addr add 198.51.100.1/24 dev vnat0 && "
          "ip -6 addr add 2001:db8:51::1/64 dev vnat0 nodad && "
          "ip link set vnat0 up");
    nh_sh("nsenter -t %d -n sh -c 'ip link set lo up && "
          "ip addr add 198.51.100.2/24 dev vnat1 && "
          "ip -6 addr add 2001:db8:51::2/64 dev vnat1 nodad && "
          "ip link set vnat1 up'", (int)pid);
    return pid;
}

/* The embedder's callbacks */

static bool parse_frame(NhPkt *p)
{
    const uint8_t *f = p->bytes->data;
    size_t len = p->bytes->len;

    if (vpc_eth_parse(f, len, &p->eth) < 0) {
        return false;
    }
    if (p->eth.ethertype == VPC_ETHERTYPE_ARP) {
        p->is_arp = true;
        return vpc_arp_parse(p->eth.payload, p->eth.payload_len,
                             &p->arp) == 0;
    }
    if (p->eth.ethertype == VPC_ETHERTYPE_IPV4) {
        if (vpc_ipv4_parse(p->eth.payload, p->eth.payload_len, &p->ip4) < 0) {
            return false;
        }
        p->src = nh_addr4(p->ip4.src);
        p->dst = nh_addr4(p->ip4.dst);
        p->proto = p->ip4.protocol;
        p->l4 = p->ip4.payload;
        p->l4_len = p->ip4.payload_len;
    } else if (p->eth.ethertype == VPC_ETHERTYPE_IPV6) {
        if (vpc_ipv6_parse(p->eth.payload, p->eth.payload_len, &p->ip6) < 0) {
            return false;
        }
        p->v6 = true;
        p->src.v6 = p->dst.v6 = true;
        memcpy(p->src.a, p->ip6.src, 16);
        memcpy(p->dst.a, p->ip6.dst, 16);
        p->proto = p->ip6.protocol;
        p->l4 = p->ip6.l4;
        p->l4_len = p->ip6.l4_len;
    } else {
        return false;
    }
    switch (p->proto) {
    case VPC_IP_PROTO_TCP:
        if (vpc_tcp_parse(p->l4, p->l4_len, &p->tcp) < 0) {
            return false;
        }
        break;
    case VPC_IP_PROTO_UDP:
        if (vpc_udp_parse_header(p->l4, p->l4_len, &p->udp) < 0 ||
            p->udp.length != p->l4_len) {
            return false;
        }
        break;
    case VPC_IP_PROTO_ICMP:
        return !p->v6 && vpc_icmp_parse(p->l4, p->l4_len, &p->icmp) == 0;
    case VPC_IPV6_NH_ICMPV6:
        return p->v6 && vpc_icmp6_parse(&p->ip6, &p->icmp) == 0;
    default:
        return false;
    }
    if (p->partial_csum) {
        return true;
    }
    if (p->v6) {
        return vpc_l4_checksum_ipv6(p->ip6.src, p->ip6.dst, p->proto, p->l4,
                                    p->l4_len) == 0;
    }
    if (p->proto == VPC_IP_PROTO_UDP && p->udp.checksum == 0) {
        return true;
    }
    return vpc_l4_checksum_ipv4(p->ip4.src, p->ip4.dst, p->proto, p->l4,
                                p->l4_len) == 0;
}

static bool cb_send_frame(void *opaque, const struct iovec *iov,
                          unsigned iovcnt, size_t len)
{
    NatHarness *h = opaque;
    NhPkt *p;
    size_t vnet = h->cfg.vnet_hdr_len;
    GByteArray *b = g_byte_array_sized_new(len);

    for (unsigned i = 0; i < iovcnt; i++) {
        g_byte_array_append(b, iov[i].iov_base, iov[i].iov_len);
    }
    g_assert_cmpuint(b->len, ==, len);
    if (h->busy) {
        g_byte_array_unref(b);
        return false;
    }
    h->sent++;
    p = g_new0(NhPkt, 1);
    if (vnet) {
        struct virtio_net_hdr vh;

        g_assert_cmpuint(len, >=, vnet);
        memcpy(&vh, b->data, sizeof(vh));
        p->partial_csum = vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
        p->gso_size = vh.gso_type != VIRTIO_NET_HDR_GSO_NONE ? vh.gso_size
                                                             : 0;
        g_byte_array_remove_range(b, 0, vnet);
    }
    p->bytes = b;
    if (!parse_frame(p)) {
        g_error("the core sent a frame that does not parse or whose "
                "checksum is wrong (%zu bytes)", len);
    }
    if (!p->partial_csum && !p->is_arp) {
        /* Without GSO, no frame is larger than the MTU allows. */
        g_assert_cmpuint(p->bytes->len, <=, VPC_ETH_HLEN + h->cfg.mtu);
    }
    if (h->lose && h->lose(h, p, h->lose_opaque)) {
        h->lost++;
        nh_pkt_free(p);
        return true;
    }
    g_queue_push_tail(&h->out, p);
    return true;
}

static void cb_watch(void *opaque, int fd, unsigned events, VpcNatWatch *w)
{
    NatHarness *h = opaque;

    g_assert_cmpint(fd, >=, 0);
    if ((unsigned)fd >= h->n_watch) {
        unsigned n = MAX((unsigned)fd + 1, h->n_watch * 2);

        h->watch = g_renew(NhWatch, h->watch, n);
        memset(h->watch + h->n_watch, 0,
               (n - h->n_watch) * sizeof(*h->watch));
        h->n_watch = n;
    }
    if (!events) {
        h->watch[fd].w = NULL;
        h->watch[fd].events = 0;
    } else {
        if (h->watch[fd].w != w) {
            h->watch[fd].gen = ++h->watch_gen;
        }
        h->watch[fd].w = w;
        h->watch[fd].events = events;
    }
}

static void cb_timer_mod(void *opaque, int64_t deadline_ns)
{
    NatHarness *h = opaque;

    h->timer_ns = deadline_ns;
}

static int64_t cb_clock_ns(void *opaque)
{
    NatHarness *h = opaque;

    return h->now_ns;
}

static void cb_log(void *opaque, VpcNatLogLevel level, const char *msg)
{
    NatHarness *h = opaque;
    static const char lv[] = { 'E', 'W', 'I' };

    g_ptr_array_add(h->logs, g_strdup_printf("%c: %s", lv[level], msg));
}

static const VpcNatCallbacks callbacks = {
    .send_frame = cb_send_frame,
    .watch = cb_watch,
    .timer_mod = cb_timer_mod,
    .clock_ns = cb_clock_ns,
    .log = cb_log,
};

/* Creation */

void nh_config(VpcNatConfig *cfg)
{
    vpc_nat_config_init(cfg);
    cfg->host_loopback = true;
    cfg->resolv_conf = NULL;        /* nh_new: the harness's own */
}

void nh_write_resolv(NatHarness *h, const char *text)
{
    char *tmp = g_strdup_printf("%s.new", h->resolv);

    g_assert_true(g_file_set_contents(tmp, text, -1, NULL));
    g_assert_cmpint(rename(tmp, h->resolv), ==, 0);
    g_free(tmp);
}

NatHarness *nh_new(const VpcNatConfig *cfg)
{
    NatHarness *h = g_new0(NatHarness, 1);
    char err[256] = "";
    char *dir;

    alarm(120);     /* a hung test fails instead of stalling the suite */
    h->fds_at_start = nh_count_fds();
    if (cfg) {
        h->cfg = *cfg;
    } else {
        nh_config(&h->cfg);
    }
    dir = g_dir_make_tmp("nat-test-XXXXXX", NULL);
    g_assert_nonnull(dir);
    snprintf(h->dir, sizeof(h->dir), "%s", dir);
    g_free(dir);
    snprintf(h->resolv, sizeof(h->resolv), "%s/resolv.conf", h->dir);
    nh_write_resolv(h, "nameserver 127.0.0.1\n");
    if (!h->cfg.resolv_conf) {
        h->cfg.resolv_conf = h->resolv;
    }
    h->now_ns = 1000 * G_GINT64_CONSTANT(1000000000);
    h->timer_ns = INT64_MAX;
    g_queue_init(&h->out);
    h->logs = g_ptr_array_new_with_free_func(g_free);
    memcpy(h->mac, NH_GUEST_MAC, 6);
    h->ip4 = NH_GUEST_IP4;
    g_assert_cmpint(inet_pton(AF_INET6, "fec0::15", h->ip6), ==, 1);
    vpc_ipv6_link_local_from_mac(h->mac, h->ll6);
    h->nat = vpc_nat_new(&h->cfg, &callbacks, h, err, sizeof(err));
    if (!h->nat) {
        g_error("vpc_nat_new: %s", err);
    }
    return h;
}

void nh_free(NatHarness *h)
{
    char *path;

    vpc_nat_free(h->nat);
    for (unsigned i = 0; i < h->n_watch; i++) {
        if (h->watch[i].w) {
            g_error("fd %u is still watched after vpc_nat_free", i);
        }
    }
    g_assert_cmpint(h->timer_ns, ==, INT64_MAX);
    nh_flush(h);
    g_assert_cmpint(nh_count_fds(), ==, h->fds_at_start);
    g_free(h->watch);
    g_ptr_array_unref(h->logs);
    path = g_strdup_printf("%s.new", h->resolv);
    unlink(path);
    g_free(path);
    unlink(h->resolv);
    rmdir(h->dir);
    g_free(h);
    alarm(0);
}

/* Driving the core */

void nh_input_batch(NatHarness *h, const void *frame, size_t len)
{
    size_t vnet = h->cfg.vnet_hdr_len;
    uint8_t *buf = g_malloc0(vnet + len);

    /* A copy of exactly @len bytes: ASan sees any read past it. */
    memcpy(buf + vnet, frame, len);
    vpc_nat_input(h->nat, buf, vnet + len);
    g_free(buf);
}

void nh_input_done(NatHarness *h)
{
    vpc_nat_input_done(h->nat);
}

void nh_input(NatHarness *h, const void *frame, size_t len)
{
    nh_input_batch(h, frame, len);
    nh_input_done(h);
}

static void fire_timer(NatHarness *h)
{
    for (unsigned i = 0; h->timer_ns <= h->now_ns; i++) {
        g_assert_cmpuint(i, <, 1000);
        h->timer_ns = INT64_MAX;
        vpc_nat_timer(h->nat);
    }
}

void nh_poll(NatHarness *h, int timeout_ms)
{
    struct pollfd *pfd = g_new(struct pollfd, h->n_watch + 1);
    uint64_t *gen = g_new(uint64_t, h->n_watch + 1);
    unsigned n = 0;
    int r;

    for (unsigned fd = 0; fd < h->n_watch; fd++) {
        if (h->watch[fd].w) {
            pfd[n].fd = (int)fd;
            pfd[n].events = ((h->watch[fd].events & VPC_NAT_EV_IN) ? POLLIN
                                                                    : 0) |
                            ((h->watch[fd].events & VPC_NAT_EV_OUT) ? POLLOUT
                                                                     : 0);
            pfd[n].revents = 0;
            gen[n] = h->watch[fd].gen;
            n++;
        }
    }
    r = poll(pfd, n, timeout_ms);
    g_assert_true(r >= 0 || errno == EINTR);
    for (unsigned i = 0; r > 0 && i < n; i++) {
        int fd = pfd[i].fd;
        unsigned ev = 0;

        if (!pfd[i].revents) {
            continue;
        }
        /* The core may have closed this fd, or reused it, meanwhile. */
        if (!h->watch[fd].w || h->watch[fd].gen != gen[i]) {
            continue;
        }
        /* As vpcnet-nat maps epoll's events. */
        if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) {
            ev |= VPC_NAT_EV_IN;
        }
        if (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP)) {
            ev |= VPC_NAT_EV_OUT;
        }
        vpc_nat_ready(h->watch[fd].w, ev);
    }
    g_free(pfd);
    g_free(gen);
    fire_timer(h);
}

void nh_run(NatHarness *h, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    gint64 left;

    while ((left = end - g_get_monotonic_time()) > 0) {
        nh_poll(h, (int)MAX(1, left / 1000));
    }
}

void nh_advance(NatHarness *h, int64_t ms)
{
    int64_t target = h->now_ns + ms * 1000000;

    for (unsigned i = 0; h->timer_ns <= target; i++) {
        g_assert_cmpuint(i, <, 100000);
        if (h->timer_ns > h->now_ns) {
            h->now_ns = h->timer_ns;
        }
        h->timer_ns = INT64_MAX;
        vpc_nat_timer(h->nat);
    }
    h->now_ns = target;
}

/* Frames to the guest */

void nh_pkt_free(NhPkt *p)
{
    if (p) {
        g_byte_array_unref(p->bytes);
        g_free(p);
    }
}

bool nh_next(NatHarness *h, NhPkt **p, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (g_queue_is_empty(&h->out)) {
        gint64 left = end - g_get_monotonic_time();

        if (left <= 0) {
            nh_poll(h, 0);
            if (g_queue_is_empty(&h->out)) {
                *p = NULL;
                return false;
            }
            break;
        }
        nh_poll(h, (int)MAX(1, MIN(left / 1000, 20)));
    }
    *p = g_queue_pop_head(&h->out);
    return true;
}

unsigned nh_flush(NatHarness *h)
{
    unsigned n = 0;
    NhPkt *p;

    while ((p = g_queue_pop_head(&h->out))) {
        nh_pkt_free(p);
        n++;
    }
    return n;
}

unsigned nh_pending(NatHarness *h)
{
    return g_queue_get_length(&h->out);
}

uint64_t nh_drops(NatHarness *h, VpcNatDrop d)
{
    return vpc_nat_stats(h->nat)->drops[d];
}

uint64_t nh_drops_total(NatHarness *h)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < VPC_NAT_DROP_COUNT; i++) {
        n += vpc_nat_stats(h->nat)->drops[i];
    }
    return n;
}

/* Guest frames */

size_t nh_build_ip6_from(NatHarness *h, uint8_t *buf, const uint8_t *src,
                         const uint8_t *dst, const uint8_t *dst_mac,
                         uint8_t proto, uint8_t hop_limit, const void *l4,
                         size_t l4_len)
{
    vpc_eth_put_header(buf, dst_mac, h->mac, VPC_ETHERTYPE_IPV6);
    vpc_ipv6_put_header(buf + VPC_ETH_HLEN, src, dst, proto,
                        (uint16_t)l4_len, hop_limit);
    memmove(buf + VPC_ETH_HLEN + VPC_IPV6_HLEN, l4, l4_len);
    return VPC_ETH_HLEN + VPC_IPV6_HLEN + l4_len;
}

size_t nh_build_icmp6(NatHarness *h, uint8_t *buf, const uint8_t *src,
                      const uint8_t *dst, const uint8_t *dst_mac,
                      uint8_t hop_limit, const void *msg, size_t len)
{
    uint8_t *m = g_memdup2(msg, len);
    size_t n;

    vpc_put_be16(m + 2, 0);
    vpc_put_be16(m + 2, vpc_l4_checksum_ipv6(src, dst, VPC_IPV6_NH_ICMPV6,
                                             m, len));
    n = nh_build_ip6_from(h, buf, src, dst, dst_mac, VPC_IPV6_NH_ICMPV6,
                          hop_limit, m, len);
    g_free(m);
    return n;
}

size_t nh_build_ip(NatHarness *h, uint8_t *buf, const NhAddr *dst,
                   uint8_t proto, const void *l4, size_t l4_len)
{
    uint8_t *ip = buf + VPC_ETH_HLEN;

    if (dst->v6) {
        const uint8_t *src = vpc_ipv6_is_link_local(dst->a) ? h->ll6 : h->ip6;

        return nh_build_ip6_from(h, buf, src, dst->a, h->cfg.gateway_mac,
                                 proto, 64, l4, l4_len);
    }
    vpc_eth_put_header(buf, h->cfg.gateway_mac, h->mac, VPC_ETHERTYPE_IPV4);
    vpc_ipv4_put_header(ip, h->ip4, vpc_get_be32(dst->a), proto,
                        (uint16_t)l4_len, 1, 64, true);
    memmove(ip + VPC_IPV4_HLEN, l4, l4_len);
    return VPC_ETH_HLEN + VPC_IPV4_HLEN + l4_len;
}

static uint16_t l4_csum(NatHarness *h, const NhAddr *dst, uint8_t proto,
                        const uint8_t *l4, size_t len)
{
    if (dst->v6) {
        const uint8_t *src = vpc_ipv6_is_link_local(dst->a) ? h->ll6 : h->ip6;

        return vpc_l4_checksum_ipv6(src, dst->a, proto, l4, len);
    }
    return vpc_l4_checksum_ipv4(h->ip4, vpc_get_be32(dst->a), proto, l4, len);
}

size_t nh_build_tcp(NatHarness *h, uint8_t *buf, const NhAddr *dst,
                    const VpcTcpHeader *th, const void *data, size_t len)
{
    uint8_t *seg = g_malloc(VPC_TCP_MAX_HLEN + len);
    size_t hlen = vpc_tcp_put_header(seg, th);
    size_t n;

    if (len) {
        memcpy(seg + hlen, data, len);
    }
    vpc_put_be16(seg + 16, l4_csum(h, dst, VPC_IP_PROTO_TCP, seg, hlen + len));
    n = nh_build_ip(h, buf, dst, VPC_IP_PROTO_TCP, seg, hlen + len);
    g_free(seg);
    return n;
}

size_t nh_build_udp(NatHarness *h, uint8_t *buf, const NhAddr *dst,
                    uint16_t sport, uint16_t dport, const void *data,
                    size_t len)
{
    uint8_t *u = g_malloc(VPC_UDP_HLEN + len);
    uint16_t sum;
    size_t n;

    vpc_put_be16(u, sport);
    vpc_put_be16(u + 2, dport);
    vpc_put_be16(u + 4, (uint16_t)(VPC_UDP_HLEN + len));
    vpc_put_be16(u + 6, 0);
    if (len) {
        memcpy(u + VPC_UDP_HLEN, data, len);
    }
    sum = l4_csum(h, dst, VPC_IP_PROTO_UDP, u, VPC_UDP_HLEN + len);
    vpc_put_be16(u + 6, sum ? sum : 0xffff);
    n = nh_build_ip(h, buf, dst, VPC_IP_PROTO_UDP, u, VPC_UDP_HLEN + len);
    g_free(u);
    return n;
}

size_t nh_build_echo(NatHarness *h, uint8_t *buf, const NhAddr *dst,
                     uint16_t id, uint16_t seq, const void *data, size_t len)
{
    uint8_t *m = g_malloc0(VPC_ICMP_HLEN + len);
    size_t n;

    m[0] = dst->v6 ? VPC_ICMP6_ECHO_REQUEST : VPC_ICMP_ECHO_REQUEST;
    vpc_put_be16(m + 4, id);
    vpc_put_be16(m + 6, seq);
    if (len) {
        memcpy(m + VPC_ICMP_HLEN, data, len);
    }
    if (dst->v6) {
        vpc_put_be16(m + 2, l4_csum(h, dst, VPC_IPV6_NH_ICMPV6, m,
                                    VPC_ICMP_HLEN + len));
        n = nh_build_ip(h, buf, dst, VPC_IPV6_NH_ICMPV6, m,
                        VPC_ICMP_HLEN + len);
    } else {
        vpc_put_be16(m + 2, vpc_ip_checksum(m, VPC_ICMP_HLEN + len));
        n = nh_build_ip(h, buf, dst, VPC_IP_PROTO_ICMP, m,
                        VPC_ICMP_HLEN + len);
    }
    g_free(m);
    return n;
}

#define NH_FRAME_MAX (VPC_ETH_HLEN + 65600)

void nh_send_tcp(NatHarness *h, const NhAddr *dst, const VpcTcpHeader *th,
                 const void *data, size_t len)
{
    uint8_t *buf = g_malloc(NH_FRAME_MAX);

    nh_input(h, buf, nh_build_tcp(h, buf, dst, th, data, len));
    g_free(buf);
}

void nh_send_udp(NatHarness *h, const NhAddr *dst, uint16_t sport,
                 uint16_t dport, const void *data, size_t len)
{
    uint8_t *buf = g_malloc(NH_FRAME_MAX);

    nh_input(h, buf, nh_build_udp(h, buf, dst, sport, dport, data, len));
    g_free(buf);
}

void nh_send_echo(NatHarness *h, const NhAddr *dst, uint16_t id,
                  uint16_t seq, const void *data, size_t len)
{
    uint8_t *buf = g_malloc(NH_FRAME_MAX);

    nh_input(h, buf, nh_build_echo(h, buf, dst, id, seq, data, len));
    g_free(buf);
}

void nh_send_arp(NatHarness *h, uint16_t op, uint32_t spa, uint32_t tpa,
                 const uint8_t *dst_mac)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint8_t f[60] = { 0 };
    uint8_t *p = f + VPC_ETH_HLEN;

    vpc_eth_put_header(f, dst_mac ? dst_mac : bcast, h->mac,
                       VPC_ETHERTYPE_ARP);
    vpc_put_be16(p, 1);
    vpc_put_be16(p + 2, VPC_ETHERTYPE_IPV4);
    p[4] = 6;
    p[5] = 4;
    vpc_put_be16(p + 6, op);
    memcpy(p + 8, h->mac, 6);
    vpc_put_be32(p + 14, spa);
    if (op == VPC_ARP_OP_REPLY) {
        memcpy(p + 18, h->cfg.gateway_mac, 6);
    }
    vpc_put_be32(p + 24, tpa);
    nh_input(h, f, sizeof(f));
}

/* The guest's TCP */

void nh_tcp_init(NhTcp *c, NatHarness *h, const NhAddr *dst, uint16_t dport)
{
    static uint16_t next_port = 40000;

    memset(c, 0, sizeof(*c));
    c->h = h;
    c->dst = *dst;
    c->dport = dport;
    c->sport = next_port++;
    if (next_port > 60000) {
        next_port = 40000;
    }
    c->iss = g_random_int();
    c->snd_nxt = c->snd_una = c->iss;
    c->wnd = 256 * 1024;
    c->wscale = 7;
    c->rx = g_byte_array_new();
    c->auto_ack = true;
}

void nh_tcp_destroy(NhTcp *c)
{
    g_byte_array_unref(c->rx);
    c->rx = NULL;
}

static uint16_t tcp_window_field(const NhTcp *c)
{
    if (c->ws) {
        return (uint16_t)MIN(c->wnd >> c->wscale, 65535u);
    }
    return (uint16_t)MIN(c->wnd, 65535u);
}

void nh_tcp_send_batch(NhTcp *c, uint8_t flags, const void *data, size_t len)
{
    uint8_t *buf = g_malloc(NH_FRAME_MAX);
    VpcTcpHeader th = {
        .src_port = c->sport, .dst_port = c->dport, .seq = c->snd_nxt,
        .ack = (flags & VPC_TCP_ACK) ? c->rcv_nxt : 0, .flags = flags,
        .window = tcp_window_field(c),
    };

    nh_input_batch(c->h, buf, nh_build_tcp(c->h, buf, &c->dst, &th, data,
                                           len));
    g_free(buf);
    c->snd_nxt += (uint32_t)len + ((flags & VPC_TCP_FIN) ? 1 : 0);
}

void nh_tcp_send(NhTcp *c, uint8_t flags, const void *data, size_t len)
{
    nh_tcp_send_batch(c, flags, data, len);
    nh_input_done(c->h);
}

void nh_tcp_syn(NhTcp *c, uint16_t mss, int wscale)
{
    uint8_t *buf = g_malloc(NH_FRAME_MAX);
    VpcTcpHeader th = {
        .src_port = c->sport, .dst_port = c->dport, .seq = c->iss,
        .flags = VPC_TCP_SYN, .window = (uint16_t)MIN(c->wnd, 65535u),
        .mss = mss, .send_wscale = wscale >= 0,
        .wscale = wscale >= 0 ? (uint8_t)wscale : 0,
    };

    if (wscale >= 0) {
        c->wscale = (uint8_t)wscale;
    }
    c->ws = wscale >= 0;        /* until the SYN-ACK says otherwise */
    nh_input(c->h, buf, nh_build_tcp(c->h, buf, &c->dst, &th, NULL, 0));
    g_free(buf);
    c->snd_nxt = c->snd_una = c->iss + 1;
}

bool nh_tcp_match(const NhTcp *c, const NhPkt *p)
{
    return !p->is_arp && p->proto == VPC_IP_PROTO_TCP &&
           p->v6 == c->dst.v6 && memcmp(p->src.a, c->dst.a, 16) == 0 &&
           p->tcp.src_port == c->dport && p->tcp.dst_port == c->sport;
}

bool nh_tcp_wait_synack(NhTcp *c, NhPkt **synack, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    NhPkt *p;

    if (synack) {
        *synack = NULL;
    }
    while (g_get_monotonic_time() < end) {
        if (!nh_next(c->h, &p, 20)) {
            continue;
        }
        if (!nh_tcp_match(c, p)) {
            nh_pkt_free(p);
            continue;
        }
        if (p->tcp.flags & VPC_TCP_RST) {
            c->rst_rcvd = true;
            if (synack) {
                *synack = p;
            } else {
                nh_pkt_free(p);
            }
            return false;
        }
        g_assert_cmphex(p->tcp.flags & (VPC_TCP_SYN | VPC_TCP_ACK), ==,
                        VPC_TCP_SYN | VPC_TCP_ACK);
        g_assert_cmpuint(p->tcp.ack, ==, c->iss + 1);
        c->irs = p->tcp.seq;
        c->rcv_nxt = p->tcp.seq + 1;
        c->peer_mss = p->tcp.has_mss ? p->tcp.mss : 536;
        c->ws = c->ws && p->tcp.has_wscale;
        c->peer_wscale = c->ws ? p->tcp.wscale : 0;
        c->peer_wnd = p->tcp.window;
        nh_tcp_send(c, VPC_TCP_ACK, NULL, 0);
        if (synack) {
            *synack = p;
        } else {
            nh_pkt_free(p);
        }
        return true;
    }
    return false;
}

void nh_tcp_connect(NhTcp *c)
{
    nh_tcp_syn(c, 1460, 7);
    if (!nh_tcp_wait_synack(c, NULL, 5000)) {
        g_error("no SYN-ACK for port %u", c->dport);
    }
}

bool nh_tcp_take(NhTcp *c, const NhPkt *p)
{
    const VpcTcpView *t = &p->tcp;
    uint32_t len = (uint32_t)t->payload_len;
    bool fin = t->flags & VPC_TCP_FIN;

    if (t->flags & VPC_TCP_RST) {
        c->rst_rcvd = true;
        return true;
    }
    if (t->flags & VPC_TCP_ACK) {
        if (vpc_seq_lt(c->snd_una, t->ack) && vpc_seq_le(t->ack, c->snd_nxt)) {
            c->snd_una = t->ack;
        } else if (!len && !fin && t->ack == c->snd_una) {
            c->dupacks_rcvd++;
        }
        c->peer_wnd = (uint32_t)t->window << c->peer_wscale;
    }
    if (!len && !fin) {
        return true;
    }
    if (vpc_seq_lt(t->seq, c->rcv_nxt)) {
        uint32_t skip = c->rcv_nxt - t->seq;

        if (skip >= len + (fin ? 1 : 0)) {
            c->ooo_rcvd++;
            return false;           /* all of it old */
        }
        g_byte_array_append(c->rx, t->payload + skip, len - skip);
        c->rcv_nxt += len - skip;
    } else if (t->seq != c->rcv_nxt) {
        c->ooo_rcvd++;
        return false;
    } else {
        g_byte_array_append(c->rx, t->payload, len);
        c->rcv_nxt += len;
    }
    if (fin) {
        c->rcv_nxt++;
        c->fin_rcvd = true;
    }
    return true;
}

bool nh_tcp_recv(NhTcp *c, size_t want, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    NhPkt *p;

    for (;;) {
        if (want ? c->rx->len >= want : (c->fin_rcvd || c->rst_rcvd)) {
            return true;
        }
        if (c->rst_rcvd || g_get_monotonic_time() >= end) {
            return false;
        }
        if (!nh_next(c->h, &p, 20)) {
            continue;
        }
        if (nh_tcp_match(c, p)) {
            bool fresh = (p->tcp.payload_len ||
                          (p->tcp.flags & VPC_TCP_FIN));
            bool in_order = nh_tcp_take(c, p);

            if (c->auto_ack && fresh && !c->rst_rcvd) {
                (void)in_order;     /* out of order: a duplicate ACK */
                nh_tcp_send(c, VPC_TCP_ACK, NULL, 0);
            }
        }
        nh_pkt_free(p);
    }
}

bool nh_tcp_wait_acked(NhTcp *c, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    NhPkt *p;

    while (c->snd_una != c->snd_nxt && g_get_monotonic_time() < end) {
        if (nh_next(c->h, &p, 20)) {
            if (nh_tcp_match(c, p)) {
                nh_tcp_take(c, p);
            }
            nh_pkt_free(p);
        }
    }
    return c->snd_una == c->snd_nxt;
}

bool nh_tcp_send_all(NhTcp *c, const void *data, size_t len, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    gint64 last_progress = g_get_monotonic_time();
    uint32_t base = c->snd_nxt;
    const uint8_t *d = data;
    unsigned dups = 0;

    while (c->snd_una - base < len) {
        uint32_t off = c->snd_nxt - base;
        uint32_t old_una = c->snd_una;
        NhPkt *p;

        if (g_get_monotonic_time() >= end || c->rst_rcvd) {
            return false;
        }
        while (off < len && c->snd_nxt - c->snd_una < c->peer_wnd) {
            size_t seg = MIN(MIN(len - off, c->peer_mss),
                             c->peer_wnd - (c->snd_nxt - c->snd_una));

            nh_tcp_send_batch(c, VPC_TCP_ACK | VPC_TCP_PSH, d + off, seg);
            off += (uint32_t)seg;
        }
        nh_input_done(c->h);
        if (!nh_next(c->h, &p, 20)) {
            /* Our retransmission timeout: go back to the oldest byte. */
            if (g_get_monotonic_time() - last_progress > 300000) {
                c->snd_nxt = c->snd_una;
                last_progress = g_get_monotonic_time();
            }
            continue;
        }
        if (nh_tcp_match(c, p)) {
            unsigned before = c->dupacks_rcvd;

            nh_tcp_take(c, p);
            if (c->snd_una != old_una) {
                last_progress = g_get_monotonic_time();
                dups = 0;
            } else if (c->dupacks_rcvd != before && ++dups >= 3) {
                /* The core asks for a resend: go back N. */
                c->snd_nxt = c->snd_una;
                dups = 0;
            }
        }
        nh_pkt_free(p);
    }
    return true;
}

/* Host peers */

static socklen_t loopback(bool v6, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        s6->sin6_port = htons(port);
        return sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s4->sin_port = htons(port);
        return sizeof(*s4);
    }
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&ss, &sl), ==, 0);
    return ntohs(ss.ss_family == AF_INET
                 ? ((struct sockaddr_in *)&ss)->sin_port
                 : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

int nh_tcp_listen(bool v6, uint16_t *port, int backlog)
{
    struct sockaddr_storage ss;
    socklen_t sl = loopback(v6, *port, &ss);
    int fd = socket(v6 ? AF_INET6 : AF_INET,
                    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    g_assert_cmpint(fd, >=, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&ss, sl), ==, 0);
    g_assert_cmpint(listen(fd, backlog), ==, 0);
    *port = bound_port(fd);
    return fd;
}

int nh_udp_bind(bool v6, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = loopback(v6, *port, &ss);
    int fd = socket(v6 ? AF_INET6 : AF_INET,
                    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&ss, sl), ==, 0);
    *port = bound_port(fd);
    return fd;
}

uint16_t nh_free_port(bool v6, bool udp)
{
    uint16_t port = 0;
    int fd = udp ? nh_udp_bind(v6, &port) : nh_tcp_listen(v6, &port, 1);

    close(fd);
    return port;
}

int nh_accept(NatHarness *h, int lfd, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

        if (fd >= 0 || g_get_monotonic_time() >= end) {
            return fd;
        }
        nh_poll(h, 10);
    }
}

struct NhSink {
    GThread *thread;
    int fd;
    size_t len;
    char *digest;
};

static gpointer sink_main(gpointer opaque)
{
    NhSink *s = opaque;
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    guint8 *buf = g_malloc(65536);
    ssize_t n;

    while ((n = read(s->fd, buf, 65536)) > 0) {
        g_checksum_update(sum, buf, n);
        s->len += (size_t)n;
    }
    s->digest = g_strdup(g_checksum_get_string(sum));
    g_checksum_free(sum);
    g_free(buf);
    return NULL;
}

NhSink *nh_sink_start(int fd)
{
    NhSink *s = g_new0(NhSink, 1);

    s->fd = fd;
    s->thread = g_thread_new("sink", sink_main, s);
    return s;
}

char *nh_sink_join(NhSink *s, size_t *len)
{
    char *d;

    g_thread_join(s->thread);
    d = s->digest;
    *len = s->len;
    g_free(s);
    return d;
}

struct NhSource {
    GThread *thread;
    int fd;
    const guint8 *data;
    size_t len;
    bool then_close;
};

static gpointer source_main(gpointer opaque)
{
    NhSource *s = opaque;
    size_t off = 0;

    while (off < s->len) {
        ssize_t n = write(s->fd, s->data + off, s->len - off);

        if (n <= 0) {
            break;
        }
        off += (size_t)n;
    }
    if (s->then_close) {
        close(s->fd);
    } else {
        shutdown(s->fd, SHUT_WR);
    }
    return NULL;
}

NhSource *nh_source_start(int fd, const void *data, size_t len,
                          bool then_close)
{
    NhSource *s = g_new0(NhSource, 1);

    s->fd = fd;
    s->data = data;
    s->len = len;
    s->then_close = then_close;
    s->thread = g_thread_new("source", source_main, s);
    return s;
}

void nh_source_join(NhSource *s)
{
    g_thread_join(s->thread);
    g_free(s);
}

guint8 *nh_random_bytes(size_t len, uint32_t seed)
{
    guint8 *b = g_malloc(len);
    GRand *r = g_rand_new_with_seed(seed);

    for (size_t i = 0; i < len; i++) {
        b[i] = (guint8)g_rand_int(r);
    }
    g_rand_free(r);
    return b;
}

char *nh_sha256(const void *data, size_t len)
{
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
}

/* The DNS responder */

#define NH_DNS_MAX_SOCKS 16

struct NhDns {
    GThread *thread;
    int stop[2];
    int fds[NH_DNS_MAX_SOCKS];
    bool tcp[NH_DNS_MAX_SOCKS];
    uint8_t last_byte[NH_DNS_MAX_SOCKS];
    unsigned n;
    gint queries;
};

size_t nh_dns_query(uint8_t *buf, uint16_t id, const char *name)
{
    size_t pos = 12;
    gchar **labels = g_strsplit(name, ".", -1);

    memset(buf, 0, 12);
    vpc_put_be16(buf, id);
    vpc_put_be16(buf + 2, 0x0100);
    vpc_put_be16(buf + 4, 1);
    for (gchar **l = labels; *l; l++) {
        size_t n = strlen(*l);

        buf[pos++] = (uint8_t)n;
        memcpy(buf + pos, *l, n);
        pos += n;
    }
    buf[pos++] = 0;
    vpc_put_be16(buf + pos, 1);
    vpc_put_be16(buf + pos + 2, 1);
    g_strfreev(labels);
    return pos + 4;
}

/* Answer query @q of @len bytes into @out; 0 for no answer. */
static size_t dns_answer(const uint8_t *q, size_t len, uint8_t last,
                         uint8_t *out)
{
    size_t pos = 12;

    if (len < 12 || len > 400) {
        return 0;
    }
    while (pos < len && q[pos]) {
        pos += 1 + q[pos];
    }
    pos += 5;
    if (pos > len) {
        return 0;
    }
    memcpy(out, q, pos);
    vpc_put_be16(out + 2, 0x8180);
    vpc_put_be16(out + 6, 1);
    vpc_put_be16(out + 8, 0);
    vpc_put_be16(out + 10, 0);
    out[pos++] = 0xc0;
    out[pos++] = 12;
    vpc_put_be16(out + pos, 1);
    vpc_put_be16(out + pos + 2, 1);
    vpc_put_be32(out + pos + 4, 60);
    vpc_put_be16(out + pos + 8, 4);
    out[pos + 10] = 192;
    out[pos + 11] = 0;
    out[pos + 12] = 2;
    out[pos + 13] = last;
    return pos + 14;
}

static bool read_full(int fd, uint8_t *buf, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = read(fd, buf + off, len - off);

        if (n <= 0) {
            return false;
        }
        off += (size_t)n;
    }
    return true;
}

static gpointer dns_main(gpointer opaque)
{
    NhDns *d = opaque;
    uint8_t q[512], a[600];

    for (;;) {
        struct pollfd pfd[NH_DNS_MAX_SOCKS + 1];

        for (unsigned i = 0; i < d->n; i++) {
            pfd[i].fd = d->fds[i];
            pfd[i].events = POLLIN;
        }
        pfd[d->n].fd = d->stop[0];
        pfd[d->n].events = POLLIN;
        if (poll(pfd, d->n + 1, -1) < 0) {
            continue;
        }
        if (pfd[d->n].revents) {
            return NULL;
        }
        for (unsigned i = 0; i < d->n; i++) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof(ss);
            ssize_t n;
            size_t alen;

            if (!(pfd[i].revents & POLLIN)) {
                continue;
            }
            if (!d->tcp[i]) {
                n = recvfrom(d->fds[i], q, sizeof(q), MSG_DONTWAIT,
                             (struct sockaddr *)&ss, &sl);
                if (n <= 0) {
                    continue;
                }
                g_atomic_int_inc(&d->queries);
                alen = dns_answer(q, (size_t)n, d->last_byte[i], a);
                if (alen) {
                    sendto(d->fds[i], a, alen, 0, (struct sockaddr *)&ss, sl);
                }
            } else {
                int c = accept4(d->fds[i], NULL, NULL, SOCK_CLOEXEC);
                struct timeval tv = { .tv_sec = 3 };
                uint8_t l2[2];

                if (c < 0) {
                    continue;
                }
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                /* Queries on the connection until the client closes. */
                while (read_full(c, l2, 2)) {
                    size_t ql = vpc_get_be16(l2);

                    if (ql > sizeof(q) || !read_full(c, q, ql)) {
                        break;
                    }
                    g_atomic_int_inc(&d->queries);
                    alen = dns_answer(q, ql, d->last_byte[i], a + 2);
                    vpc_put_be16(a, (uint16_t)alen);
                    if (!alen || write(c, a, alen + 2) != (ssize_t)alen + 2) {
                        break;
                    }
                }
                close(c);
            }
        }
    }
}

NhDns *nh_dns_start(const char *const *addrs)
{
    NhDns *d = g_new0(NhDns, 1);

    g_assert_cmpint(pipe2(d->stop, O_CLOEXEC), ==, 0);
    for (const char *const *a = addrs; *a; a++) {
        for (int tcp = 0; tcp < 2; tcp++) {
            struct sockaddr_in sin = { .sin_family = AF_INET,
                                       .sin_port = htons(53) };
            int one = 1;
            int fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) |
                            SOCK_CLOEXEC, 0);

            g_assert_cmpint(fd, >=, 0);
            g_assert_cmpuint(d->n, <, NH_DNS_MAX_SOCKS);
            g_assert_cmpint(inet_pton(AF_INET, *a, &sin.sin_addr), ==, 1);
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
                g_error("DNS responder: bind %s:53: %s", *a,
                        strerror(errno));
            }
            if (tcp) {
                g_assert_cmpint(listen(fd, 8), ==, 0);
            }
            d->fds[d->n] = fd;
            d->tcp[d->n] = tcp;
            d->last_byte[d->n] = (uint8_t)(ntohl(sin.sin_addr.s_addr) & 0xff);
            d->n++;
        }
    }
    d->thread = g_thread_new("dns", dns_main, d);
    return d;
}

unsigned nh_dns_queries(NhDns *d)
{
    return (unsigned)g_atomic_int_get(&d->queries);
}

void nh_dns_stop(NhDns *d)
{
    g_assert_cmpint(write(d->stop[1], "x", 1), ==, 1);
    g_thread_join(d->thread);
    for (unsigned i = 0; i < d->n; i++) {
        close(d->fds[i]);
    }
    close(d->stop[0]);
    close(d->stop[1]);
    g_free(d);
}
