/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * -netdev nat: Virtual PC's "Shared Networking", vpcnet's own NAT.
 *
 * Theory of operation
 * -------------------
 * The translator is net/vpcnet/nat/ (nat.h says how it works): plain C
 * with no event loop of its own, embedded through five callbacks.  This
 * file is the glue that puts it on QEMU's main loop, between one NIC
 * and the host's sockets, and nothing more:
 *
 * - Options are -netdev user's (net=, host=, dns=, dhcpstart=,
 *   hostname=, domainname=, dnssearch=, ipv4=, ipv6=, ipv6-net= (QEMU
 *   turns it into ipv6-prefix= and ipv6-prefixlen=), ipv6-host=,
 *   ipv6-dns=, hostfwd=, restrict=) plus host-loopback=, mtu=,
 *   max-flows= and resolv-conf=, checked by the core's own
 *   vpc_nat_config_* functions, whose messages name the option.
 *
 * - Frames to the guest (send_frame) go out with
 *   qemu_sendv_packet_async().  When the NIC cannot take one, the net
 *   layer queues it and returns 0: we tell the core the guest is busy
 *   (vpc_nat_guest_busy: TCP stops reading its sockets), count the
 *   frame, and once the sent callback has seen every queued frame go,
 *   tell it the guest is ready again.  The net layer's queue has no
 *   limit for frames with a sent callback, so we refuse frames beyond
 *   NAT_TX_QUEUE_MAX (the core counts them as guest-busy drops and TCP
 *   rewinds to send them again), and while our link or the NIC's is
 *   down (TCP pauses until the link comes back instead of
 *   retransmitting into nothing).  "Ready" is told from a bottom half,
 *   never from inside the sent callback, which the NIC may call from
 *   its own handlers.
 *
 * - Frames from the guest go to vpc_nat_input() as they come; the
 *   first of a batch schedules a bottom half that calls
 *   vpc_nat_input_done(), so the ACKs and window updates that a burst
 *   of segments earned go out once, after the NIC's pass of the main
 *   loop.  A frame that arrives while a core call is running (a NIC or
 *   hub that answers synchronously from inside send_frame) is not fed
 *   to the core re-entrantly: receive returns 0, the net layer queues
 *   it, and the same bottom half flushes it.  The core takes any frame
 *   at once and never pushes back, so there is no can_receive.
 *
 * - File descriptors the core watches get qemu_set_fd_handler() read
 *   and write handlers whose opaque is the core's VpcNatWatch (the
 *   main loop's polling is level-triggered, as the core wants).
 *
 * - The core's one timer is a QEMUTimer on QEMU_CLOCK_REALTIME, and
 *   clock_ns reads the same clock: a monotonic host clock that keeps
 *   running while the VM is stopped.  Not QEMU_CLOCK_HOST, which is the
 *   wall clock and jumps with it (a step back would stall the core's
 *   retransmission and idle timers, a step forward fire them all);
 *   not the virtual clock, because the host's side of every connection
 *   keeps running while the guest is paused, and its timeouts with it.
 *
 * - The core's log lines go to error_report/warn_report/info_report,
 *   prefixed with the netdev's id.
 *
 * - virtio-net header (has_vnet_hdr): a NIC that can (virtio-net,
 *   e1000e, igb, vmxnet3) then sends us its segmentation and checksum
 *   work undone, which is where an emulated guest spends its time: TCP
 *   segments of up to 64 KiB (TSO), partial checksums.  The NIC sets
 *   the header's length after we exist, and may change it (virtio-net
 *   says 10, then 12 once the guest's driver is modern).  On the way in
 *   the header is taken off here: a TSO frame goes to the core as one
 *   big segment (it writes the payload to its socket and never checks a
 *   TCP checksum), and a partial checksum of any other frame is
 *   completed first (the DHCP server checks UDP checksums).  On the way
 *   out the core writes the header itself (vpc_nat_set_vnet, told the
 *   length and the offloads the guest took in set_offload): with
 *   checksum offload its TCP data goes with partial checksums and the
 *   rest says DATA_VALID; with TSO, TCP goes as GSO frames of up to
 *   64 KiB, one frame where there would have been 44 at MTU 1500.  We
 *   offer no UFO or USO.
 *
 * Port forwards can be changed at run time with HMP hostfwd_add and
 * hostfwd_remove (net/slirp.c asks net_nat_hmp_hostfwd() first, so
 * -netdev user's syntax works with a nat netdev's id) and with the QMP
 * commands nat-hostfwd-add, nat-hostfwd-remove and query-nat.
 * "info network" prints vpc_nat_describe(): the subnet, forwards, flows
 * and drop counters.
 */

#include "qemu/osdep.h"

#include <arpa/inet.h>

#include "net/net.h"
#include "clients.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-net.h"
#include "qapi/qapi-types-net.h"
#include "net/checksum.h"
#include "qemu/bswap.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/host-utils.h"
#include "qemu/iov.h"
#include "qemu/main-loop.h"
#include "qemu/queue.h"
#include "qemu/timer.h"
#include "standard-headers/linux/virtio_net.h"
#include "trace.h"
#include "vpcnet/nat/nat.h"

/*
 * Frames of ours the net layer may hold for a NIC that cannot take
 * them: a full TCP burst of the core's (64 segments) and then some.
 */
#define NAT_TX_QUEUE_MAX    256
/* The largest frame from the guest: a 64 KiB GSO frame and headers. */
#define NAT_RX_FRAME_MAX    (12 + 14 + 65535 + 4)
/* Pieces of a frame to the guest, the virtio-net header among them. */
/* "info network" and error messages. */
#define NAT_DESCRIBE_MAX    (4096 + VPC_NAT_MAX_FWDS * 96)
#define NAT_ERR_MAX         256

/**
 * NatState: one -netdev nat
 * @nc: the net client; its peer is the guest's NIC
 * @nat: the translator
 * @timer: the core's one timer, on QEMU_CLOCK_REALTIME
 * @rx_bh: ends a batch of guest frames (vpc_nat_input_done), after
 *     feeding the core the frames deferred meanwhile
 * @ready_bh: tells the core the guest can take frames again
 * @rx_batch: frames went to the core since @rx_bh last ran
 * @rx_deferred: frames wait in our incoming queue for @rx_bh
 * @tx_queued: frames of ours the net layer holds for the NIC
 * @tx_refused: send_frame said no (queue full, link down): the core
 *     waits for vpc_nat_guest_ready()
 * @closing: cleanup has begun; the core must not be called
 * @resolv_conf: resolv-conf=, which the core's config points at
 * @vnet_hdr_len: the NIC's virtio-net header length, 0 for none
 * @vnet_offloads: what the guest takes from us (VPC_NAT_OFFLOAD_*)
 * @vnet_gso_frames: TSO frames from the guest, for "info network"
 * @vnet_csum_fixed: partial checksums of the guest's completed here
 * @rx_buf: a guest frame in several pieces, made one
 * @next: on nat_states
 */
typedef struct NatState {
    NetClientState nc;
    VpcNat *nat;
    QEMUTimer *timer;
    QEMUBH *rx_bh;
    QEMUBH *ready_bh;
    bool rx_batch;
    bool rx_deferred;
    unsigned tx_queued;
    bool tx_refused;
    bool closing;
    char *resolv_conf;
    unsigned vnet_hdr_len;
    unsigned vnet_offloads;
    uint64_t vnet_gso_frames;
    uint64_t vnet_csum_fixed;
    QTAILQ_ENTRY(NatState) next;
    uint8_t rx_buf[NAT_RX_FRAME_MAX];
} NatState;

static QTAILQ_HEAD(, NatState) nat_states =
    QTAILQ_HEAD_INITIALIZER(nat_states);

/*
 * How deep we are in calls into a translator (any of them: everything
 * runs under the BQL in one thread).  A guest frame arriving meanwhile
 * waits for its netdev's bottom half.
 */
static unsigned nat_core_depth;

static void nat_enter(void)
{
    nat_core_depth++;
}

static void nat_leave(void)
{
    assert(nat_core_depth);
    nat_core_depth--;
}

/* The core's callbacks */

static void nat_tx_done(NetClientState *nc, ssize_t len)
{
    NatState *s = DO_UPCAST(NatState, nc, nc);

    assert(s->tx_queued);
    if (!--s->tx_queued && !s->closing) {
        trace_nat_tx_drained(s->nc.name);
        qemu_bh_schedule(s->ready_bh);
    }
}

/* Whether either end of the cable is down (set_link on us or the NIC). */
static bool nat_link_down(NatState *s)
{
    return s->nc.link_down || (s->nc.peer && s->nc.peer->link_down);
}

static bool nat_cb_send_frame(void *opaque, const struct iovec *iov,
                              unsigned iovcnt, size_t len)
{
    NatState *s = opaque;
    ssize_t ret;

    if (nat_link_down(s) || s->tx_queued >= NAT_TX_QUEUE_MAX) {
        /*
         * Link down: ready again once it comes up.  Queue full: once
         * the sent callback has seen it drain.
         */
        s->tx_refused = true;
        return false;
    }
    /* A virtio-net header, when there is one, is the core's. */
    ret = qemu_sendv_packet_async(&s->nc, iov, iovcnt, nat_tx_done);
    if (ret == 0) {
        /* Queued for a NIC that cannot take it now. */
        if (!s->tx_queued++) {
            trace_nat_tx_queued(s->nc.name, len);
        }
        if (s->nat) {
            vpc_nat_guest_busy(s->nat);
        }
    }
    return true;
}

static void nat_fd_read(void *opaque)
{
    nat_enter();
    vpc_nat_ready(opaque, VPC_NAT_EV_IN);
    nat_leave();
}

static void nat_fd_write(void *opaque)
{
    nat_enter();
    vpc_nat_ready(opaque, VPC_NAT_EV_OUT);
    nat_leave();
}

static void nat_cb_watch(void *opaque, int fd, unsigned events,
                         VpcNatWatch *w)
{
    qemu_set_fd_handler(fd, (events & VPC_NAT_EV_IN) ? nat_fd_read : NULL,
                        (events & VPC_NAT_EV_OUT) ? nat_fd_write : NULL,
                        events ? w : NULL);
}

static void nat_cb_timer_mod(void *opaque, int64_t deadline_ns)
{
    NatState *s = opaque;

    if (deadline_ns == INT64_MAX) {
        timer_del(s->timer);
    } else {
        timer_mod(s->timer, deadline_ns);
    }
}

static int64_t nat_cb_clock_ns(void *opaque)
{
    return qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
}

static void nat_cb_log(void *opaque, VpcNatLogLevel level, const char *msg)
{
    NatState *s = opaque;

    switch (level) {
    case VPC_NAT_LOG_ERROR:
        error_report("nat %s: %s", s->nc.name, msg);
        break;
    case VPC_NAT_LOG_WARNING:
        warn_report("nat %s: %s", s->nc.name, msg);
        break;
    default:
        info_report("nat %s: %s", s->nc.name, msg);
        break;
    }
}

static const VpcNatCallbacks nat_callbacks = {
    .send_frame = nat_cb_send_frame,
    .watch = nat_cb_watch,
    .timer_mod = nat_cb_timer_mod,
    .clock_ns = nat_cb_clock_ns,
    .log = nat_cb_log,
};

/* Main-loop handlers */

static void nat_timer_cb(void *opaque)
{
    NatState *s = opaque;

    nat_enter();
    vpc_nat_timer(s->nat);
    nat_leave();
}

/* The NIC's pass of the main loop is over: end the batch. */
static void nat_rx_bh_cb(void *opaque)
{
    NatState *s = opaque;

    if (s->rx_deferred) {
        s->rx_deferred = false;
        /* Feeds the frames that waited to nat_receive_iov(). */
        qemu_flush_queued_packets(&s->nc);
    }
    s->rx_batch = false;
    nat_enter();
    vpc_nat_input_done(s->nat);
    nat_leave();
}

static void nat_ready_bh_cb(void *opaque)
{
    NatState *s = opaque;

    if (nat_link_down(s) || s->tx_queued) {
        return;
    }
    s->tx_refused = false;
    trace_nat_guest_ready(s->nc.name);
    nat_enter();
    vpc_nat_guest_ready(s->nat);
    nat_leave();
}

/* The net client */

/*
 * A guest frame behind a virtio-net header, made one in rx_buf: take the
 * header off, completing a partial checksum it leaves to us.  The frame,
 * or NULL when it cannot be carried.
 */
static uint8_t *nat_vnet_frame(NatState *s, const struct iovec *iov,
                               int iovcnt, size_t size, size_t *len)
{
    struct virtio_net_hdr h;
    uint8_t *frame = s->rx_buf + s->vnet_hdr_len;

    if (size < s->vnet_hdr_len || size > sizeof(s->rx_buf)) {
        return NULL;
    }
    iov_to_buf(iov, iovcnt, 0, s->rx_buf, size);
    /* In host order: the NIC swaps it for a guest of the other one. */
    memcpy(&h, s->rx_buf, sizeof(h));
    *len = size - s->vnet_hdr_len;
    if ((h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) {
        /* TSO: one segment for the core, its TCP checksum unchecked. */
        s->vnet_gso_frames++;
    } else if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        size_t start = h.csum_start, at = start + h.csum_offset;

        if (start > *len || at + 2 > *len) {
            return NULL;
        }
        /* The field holds the pseudo-header's sum: add the rest to it. */
        stw_be_p(frame + at, net_checksum_finish_nozero(
                     net_checksum_add(*len - start, frame + start)));
        s->vnet_csum_fixed++;
    }
    return frame;
}

static ssize_t nat_receive_iov(NetClientState *nc, const struct iovec *iov,
                               int iovcnt)
{
    NatState *s = DO_UPCAST(NatState, nc, nc);
    size_t size = iov_size(iov, iovcnt);
    uint8_t *frame;
    size_t len;

    if (nat_core_depth) {
        /* Not re-entrantly: the net layer keeps it for the bottom half. */
        trace_nat_rx_deferred(s->nc.name, size);
        s->rx_deferred = true;
        qemu_bh_schedule(s->rx_bh);
        return 0;
    }
    nat_enter();
    if (s->vnet_hdr_len) {
        frame = nat_vnet_frame(s, iov, iovcnt, size, &len);
        if (frame) {
            vpc_nat_input(s->nat, frame, len);
        } else {
            trace_nat_rx_bad_vnet(s->nc.name, size);
        }
    } else if (iovcnt == 1) {
        vpc_nat_input(s->nat, iov[0].iov_base, size);
    } else if (size <= sizeof(s->rx_buf)) {
        iov_to_buf(iov, iovcnt, 0, s->rx_buf, size);
        vpc_nat_input(s->nat, s->rx_buf, size);
    } else {
        /* Larger than any frame the core could carry. */
        trace_nat_rx_too_big(s->nc.name, size);
    }
    nat_leave();
    if (!s->rx_batch) {
        s->rx_batch = true;
        qemu_bh_schedule(s->rx_bh);
    }
    return size;
}

static ssize_t nat_receive(NetClientState *nc, const uint8_t *buf,
                           size_t size)
{
    struct iovec iov = {
        .iov_base = (void *)buf,
        .iov_len = size,
    };

    return nat_receive_iov(nc, &iov, 1);
}

/*
 * set_link, on us or on the NIC (the net layer tells us both): while
 * either is down the net layer drops frames, and send_frame refuses the
 * core's, so TCP pauses instead of retransmitting into nothing; once
 * both are up again, it resumes.
 */
static void nat_link_status_changed(NetClientState *nc)
{
    NatState *s = DO_UPCAST(NatState, nc, nc);

    trace_nat_link(s->nc.name, !nat_link_down(s));
    /*
     * set_link on us calls this before it brings the NIC's end up too:
     * the bottom half looks at both once set_link is done.
     */
    if (s->tx_refused) {
        qemu_bh_schedule(s->ready_bh);
    }
}

/* virtio-net header: the NIC asks, then sets its length and offloads. */

static bool nat_has_vnet_hdr(NetClientState *nc)
{
    return true;
}

static bool nat_has_vnet_hdr_len(NetClientState *nc, int len)
{
    return len == sizeof(struct virtio_net_hdr) ||
           len == sizeof(struct virtio_net_hdr_mrg_rxbuf);
}

static void nat_set_vnet_hdr_len(NetClientState *nc, int len)
{
    NatState *s = DO_UPCAST(NatState, nc, nc);

    assert(nat_has_vnet_hdr_len(nc, len));
    trace_nat_vnet_hdr(s->nc.name, len);
    s->vnet_hdr_len = len;
    if (s->nat) {
        vpc_nat_set_vnet(s->nat, 0, len, s->vnet_offloads);
    }
}

/*
 * What the guest takes from us: partial checksums (then the rest of our
 * frames say DATA_VALID) and TCP GSO frames; not UFO or USO, which we
 * never send.
 */
static void nat_set_offload(NetClientState *nc, int csum, int tso4, int tso6,
                            int ecn, int ufo, int uso4, int uso6)
{
    NatState *s = DO_UPCAST(NatState, nc, nc);

    s->vnet_offloads = (csum ? VPC_NAT_OFFLOAD_CSUM : 0) |
                       (tso4 ? VPC_NAT_OFFLOAD_TSO4 : 0) |
                       (tso6 ? VPC_NAT_OFFLOAD_TSO6 : 0);
    if (s->nat) {
        vpc_nat_set_vnet(s->nat, 0, s->vnet_hdr_len, s->vnet_offloads);
    }
}

static void nat_print_info(NetClientState *nc, Monitor *mon)
{
    NatState *s = DO_UPCAST(NatState, nc, nc);
    g_autofree char *text = g_malloc(NAT_DESCRIBE_MAX);
    g_auto(GStrv) lines = NULL;

    vpc_nat_describe(s->nat, text, NAT_DESCRIBE_MAX);
    lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        if (*lines[i]) {
            monitor_printf(mon, "%s%s\n", lines[i][0] == ' ' ? "" : "  ",
                           lines[i]);
        }
    }
    if (s->vnet_hdr_len) {
        monitor_printf(mon, "  virtio-net header %u bytes%s; from the guest "
                       "%" PRIu64 " TSO frames, %" PRIu64 " checksums "
                       "completed\n", s->vnet_hdr_len,
                       (s->vnet_offloads & VPC_NAT_OFFLOAD_TSO4)
                       ? ", TSO and checksums to the guest"
                       : s->vnet_offloads ? ", checksums to the guest" : "",
                       s->vnet_gso_frames, s->vnet_csum_fixed);
    }
}

static void nat_cleanup(NetClientState *nc)
{
    NatState *s = DO_UPCAST(NatState, nc, nc);

    s->closing = true;
    /*
     * Our frames still queued at the NIC have nat_tx_done() as their
     * callback: drop them while the state is here.
     */
    qemu_purge_queued_packets(nc);
    /* Closes every socket, unwatching it, and disarms the timer. */
    vpc_nat_free(s->nat);
    s->nat = NULL;
    timer_free(s->timer);
    s->timer = NULL;
    qemu_bh_delete(s->rx_bh);
    s->rx_bh = NULL;
    qemu_bh_delete(s->ready_bh);
    s->ready_bh = NULL;
    g_free(s->resolv_conf);
    s->resolv_conf = NULL;
    if (QTAILQ_IN_USE(s, next)) {
        QTAILQ_REMOVE(&nat_states, s, next);
    }
}

static NetClientInfo net_nat_info = {
    .type = NET_CLIENT_DRIVER_NAT,
    .size = sizeof(NatState),
    .receive = nat_receive,
    .receive_iov = nat_receive_iov,
    .link_status_changed = nat_link_status_changed,
    .print_info = nat_print_info,
    .has_vnet_hdr = nat_has_vnet_hdr,
    .has_vnet_hdr_len = nat_has_vnet_hdr_len,
    .set_vnet_hdr_len = nat_set_vnet_hdr_len,
    .set_offload = nat_set_offload,
    .cleanup = nat_cleanup,
};

/* Options */

static bool nat_parse_ipv4(const char *option, const char *text,
                           uint32_t *addr, Error **errp)
{
    struct in_addr in;

    if (inet_pton(AF_INET, text, &in) != 1) {
        error_setg(errp, "nat: %s=%s is not an IPv4 address", option, text);
        return false;
    }
    *addr = ntohl(in.s_addr);
    return true;
}

static bool nat_parse_ipv6(const char *option, const char *text,
                           uint8_t addr[16], Error **errp)
{
    if (inet_pton(AF_INET6, text, addr) != 1) {
        error_setg(errp, "nat: %s=%s is not an IPv6 address", option, text);
        return false;
    }
    return true;
}

static bool nat_copy_name(const char *option, const char *text, char *dst,
                          Error **errp)
{
    if (strlen(text) > VPC_NAT_NAME_MAX) {
        error_setg(errp, "nat: %s=%s is longer than %d characters", option,
                   text, VPC_NAT_NAME_MAX);
        return false;
    }
    pstrcpy(dst, VPC_NAT_NAME_MAX + 1, text);
    return true;
}

/* Fill @cfg from @o; the order is -netdev user's (net= moves the rest). */
static bool nat_make_config(const NetdevNatOptions *o, VpcNatConfig *cfg,
                            Error **errp)
{
    char err[NAT_ERR_MAX];
    StringList *l;

    vpc_nat_config_init(cfg);
    if (o->has_ipv4) {
        cfg->ipv4 = o->ipv4;
    }
    if (o->has_ipv6) {
        cfg->ipv6 = o->ipv6;
    }
    if (o->net && vpc_nat_config_set_net(cfg, o->net, err, sizeof(err)) < 0) {
        error_setg(errp, "nat: %s", err);
        return false;
    }
    if (o->host && !nat_parse_ipv4("host", o->host, &cfg->host, errp)) {
        return false;
    }
    if (o->host) {
        /* The gateway's MAC follows its address, as libslirp's does. */
        cfg->gateway_mac[2] = cfg->host >> 24;
        cfg->gateway_mac[3] = cfg->host >> 16;
        cfg->gateway_mac[4] = cfg->host >> 8;
        cfg->gateway_mac[5] = cfg->host;
    }
    if (o->dns && !nat_parse_ipv4("dns", o->dns, &cfg->dns, errp)) {
        return false;
    }
    if (o->dhcpstart &&
        !nat_parse_ipv4("dhcpstart", o->dhcpstart, &cfg->dhcp_start, errp)) {
        return false;
    }
    if (o->hostname &&
        !nat_copy_name("hostname", o->hostname, cfg->hostname, errp)) {
        return false;
    }
    if (o->domainname &&
        !nat_copy_name("domainname", o->domainname, cfg->domainname, errp)) {
        return false;
    }
    for (l = o->dnssearch; l; l = l->next) {
        if (cfg->n_dnssearch == VPC_NAT_MAX_DNSSEARCH) {
            error_setg(errp, "nat: at most %d dnssearch= domains",
                       VPC_NAT_MAX_DNSSEARCH);
            return false;
        }
        if (!nat_copy_name("dnssearch", l->value->str,
                           cfg->dnssearch[cfg->n_dnssearch++], errp)) {
            return false;
        }
    }
    if (o->ipv6_prefix || o->has_ipv6_prefixlen) {
        g_autofree char *net6 = g_strdup_printf(
            "%s/%" PRId64, o->ipv6_prefix ? o->ipv6_prefix : "fec0::",
            o->has_ipv6_prefixlen ? o->ipv6_prefixlen : 64);

        if (vpc_nat_config_set_net6(cfg, net6, err, sizeof(err)) < 0) {
            error_setg(errp, "nat: %s", err);
            return false;
        }
    }
    if (o->ipv6_host &&
        !nat_parse_ipv6("ipv6-host", o->ipv6_host, cfg->ip6_host, errp)) {
        return false;
    }
    if (o->ipv6_dns &&
        !nat_parse_ipv6("ipv6-dns", o->ipv6_dns, cfg->ip6_dns, errp)) {
        return false;
    }
    cfg->restricted = o->has_q_restrict && o->q_restrict;
    cfg->host_loopback = o->has_host_loopback && o->host_loopback;
    if (o->has_mtu) {
        cfg->mtu = o->mtu;
    }
    if (o->has_max_flows) {
        cfg->max_flows = o->max_flows;
    }
    if (o->resolv_conf) {
        if (!*o->resolv_conf) {
            error_setg(errp, "nat: resolv-conf may not be empty");
            return false;
        }
        cfg->resolv_conf = o->resolv_conf;
    }
    if (vpc_nat_config_check(cfg, err, sizeof(err)) < 0) {
        error_setg(errp, "nat: %s", err);
        return false;
    }
    return true;
}

static void nat_update_info(NatState *s)
{
    const VpcNatConfig *c = vpc_nat_config(s->nat);
    char net[INET_ADDRSTRLEN] = "off";
    struct in_addr in = { .s_addr = htonl(c->net) };

    if (c->ipv4) {
        inet_ntop(AF_INET, &in, net, sizeof(net));
    }
    qemu_set_info_str(&s->nc, "net=%s/%d,restrict=%s,host-loopback=%s",
                      net, c->ipv4 ? ctpop32(c->netmask) : 0,
                      c->restricted ? "on" : "off",
                      c->host_loopback ? "on" : "off");
}

int net_init_nat(const Netdev *netdev, const char *name,
                 NetClientState *peer, Error **errp)
{
    const NetdevNatOptions *o;
    char err[NAT_ERR_MAX];
    VpcNatConfig cfg;
    NetClientState *nc;
    NatState *s;
    StringList *l;

    assert(netdev->type == NET_CLIENT_DRIVER_NAT);
    o = &netdev->u.nat;
    if (!nat_make_config(o, &cfg, errp)) {
        return -1;
    }

    nc = qemu_new_net_client(&net_nat_info, peer, "nat", name);
    s = DO_UPCAST(NatState, nc, nc);
    s->timer = timer_new_ns(QEMU_CLOCK_REALTIME, nat_timer_cb, s);
    s->rx_bh = qemu_bh_new(nat_rx_bh_cb, s);
    s->ready_bh = qemu_bh_new(nat_ready_bh_cb, s);
    s->resolv_conf = g_strdup(cfg.resolv_conf);
    cfg.resolv_conf = s->resolv_conf;

    nat_enter();
    s->nat = vpc_nat_new(&cfg, &nat_callbacks, s, err, sizeof(err));
    nat_leave();
    if (!s->nat) {
        error_setg(errp, "nat: %s", err);
        goto fail;
    }
    for (l = o->hostfwd; l; l = l->next) {
        if (vpc_nat_hostfwd_add(s->nat, l->value->str, err,
                                sizeof(err)) < 0) {
            error_setg(errp, "nat: %s", err);
            goto fail;
        }
        trace_nat_hostfwd(s->nc.name, "add", l->value->str);
    }
    QTAILQ_INSERT_TAIL(&nat_states, s, next);
    nat_update_info(s);
    trace_nat_new(s->nc.name, cfg.mtu, vpc_nat_config(s->nat)->max_flows);
    return 0;

fail:
    qemu_del_net_client(nc);
    return -1;
}

/* Run-time forwarding: HMP and QMP */

static NatState *nat_find(const char *id, Error **errp)
{
    NetClientState *nc = qemu_find_netdev(id);

    if (!nc) {
        error_setg(errp, "there is no netdev '%s'", id);
        return NULL;
    }
    if (nc->info->type != NET_CLIENT_DRIVER_NAT) {
        error_setg(errp, "netdev '%s' is of type %s, not nat", id,
                   NetClientDriver_str(nc->info->type));
        return NULL;
    }
    return DO_UPCAST(NatState, nc, nc);
}

static int nat_hostfwd(NatState *s, const char *rule, bool add,
                       Error **errp)
{
    char err[NAT_ERR_MAX];
    int ret;

    nat_enter();
    ret = add ? vpc_nat_hostfwd_add(s->nat, rule, err, sizeof(err))
              : vpc_nat_hostfwd_remove(s->nat, rule, err, sizeof(err));
    nat_leave();
    if (ret < 0) {
        error_setg(errp, "nat %s: %s", s->nc.name, err);
        return -1;
    }
    trace_nat_hostfwd(s->nc.name, add ? "add" : "remove", rule);
    return 0;
}

bool net_nat_hmp_hostfwd(Monitor *mon, const char *id, const char *rule,
                         bool add, bool no_user_netdev)
{
    Error *err = NULL;
    NatState *s;

    if (id) {
        NetClientState *nc = qemu_find_netdev(id);

        if (!nc || nc->info->type != NET_CLIENT_DRIVER_NAT) {
            return false;
        }
        s = DO_UPCAST(NatState, nc, nc);
    } else {
        /* -netdev user keeps the command without an id, as before. */
        if (!no_user_netdev || QTAILQ_EMPTY(&nat_states)) {
            return false;
        }
        s = QTAILQ_FIRST(&nat_states);
    }
    if (nat_hostfwd(s, rule, add, &err) < 0) {
        error_report_err(err);
    } else if (!add) {
        monitor_printf(mon, "host forwarding rule for %s removed\n", rule);
    }
    return true;
}

void qmp_nat_hostfwd_add(const char *id, const char *rule, Error **errp)
{
    NatState *s = nat_find(id, errp);

    if (s) {
        nat_hostfwd(s, rule, true, errp);
    }
}

void qmp_nat_hostfwd_remove(const char *id, const char *rule, Error **errp)
{
    NatState *s = nat_find(id, errp);

    if (s) {
        nat_hostfwd(s, rule, false, errp);
    }
}

static char *nat_format_addr(int family, const uint8_t *addr)
{
    char text[INET6_ADDRSTRLEN];

    inet_ntop(family, addr, text, sizeof(text));
    return g_strdup(text);
}

static NatHostFwd *nat_hostfwd_info(const VpcNatConfig *c,
                                    const VpcNatFwd *f)
{
    static const uint8_t zero[16];
    NatHostFwd *info = g_new0(NatHostFwd, 1);
    uint8_t guest[16];
    bool v6host = f->family == AF_INET6;
    bool v6guest = f->guest_family == AF_INET6;

    info->udp = f->udp;
    info->host_addr = nat_format_addr(f->family, f->host_addr);
    info->host_port = f->host_port;
    memcpy(guest, f->guest_addr, 16);
    if (!v6guest && !memcmp(guest, zero, 4)) {
        /* The default: the first DHCP address. */
        guest[0] = c->dhcp_start >> 24;
        guest[1] = c->dhcp_start >> 16;
        guest[2] = c->dhcp_start >> 8;
        guest[3] = c->dhcp_start;
    }
    if (!v6guest || memcmp(guest, zero, 16)) {
        info->guest_addr = nat_format_addr(f->guest_family, guest);
    }
    info->guest_port = f->guest_port;
    info->rule = g_strdup_printf("%s:%s%s%s:%u-%s%s%s:%u",
                                 f->udp ? "udp" : "tcp", v6host ? "[" : "",
                                 info->host_addr, v6host ? "]" : "",
                                 f->host_port, v6guest ? "[" : "",
                                 info->guest_addr ? info->guest_addr : "",
                                 v6guest ? "]" : "", f->guest_port);
    return info;
}

static NatCounters *nat_counters(const VpcNatStats *st)
{
    NatCounters *k = g_new0(NatCounters, 1);
    NatDropCountList **tail = &k->drops;

    k->rx_frames = st->rx_frames;
    k->tx_frames = st->tx_frames;
    k->arp_replies = st->arp_replies;
    k->dhcp_replies = st->dhcp_replies;
    k->ndp_replies = st->ndp_replies;
    k->dhcpv6_replies = st->dhcpv6_replies;
    k->tcp_flows = st->tcp_flows;
    k->tcp_refused = st->tcp_refused;
    k->tcp_timeouts = st->tcp_timeouts;
    k->tcp_retransmits = st->tcp_retransmits;
    k->tcp_partial_writes = st->tcp_partial_writes;
    k->udp_flows = st->udp_flows;
    k->udp_evicted = st->udp_evicted;
    k->icmp_errors = st->icmp_errors;
    k->echo_requests = st->echo_requests;
    k->dns_queries = st->dns_queries;
    k->dns_servfail = st->dns_servfail;
    k->flows_active = st->flows_active;
    k->flows_max = st->flows_max;
    k->flows_peak = st->flows_peak;
    for (unsigned i = 0; i < VPC_NAT_DROP_COUNT; i++) {
        NatDropCount *d = g_new0(NatDropCount, 1);

        d->reason = g_strdup(vpc_nat_drop_name(i));
        d->count = st->drops[i];
        QAPI_LIST_APPEND(tail, d);
    }
    return k;
}

NatInfoList *qmp_query_nat(Error **errp)
{
    NatInfoList *list = NULL, **tail = &list;
    NatState *s;

    QTAILQ_FOREACH(s, &nat_states, next) {
        const VpcNatConfig *c = vpc_nat_config(s->nat);
        NatInfo *info = g_new0(NatInfo, 1);
        NatHostFwdList **fwd_tail = &info->hostfwd;
        VpcNatFwd fwds[VPC_NAT_MAX_FWDS];
        unsigned n = vpc_nat_hostfwds(s->nat, fwds, VPC_NAT_MAX_FWDS);
        uint8_t a4[4];

        info->id = g_strdup(s->nc.name);
        if (c->ipv4) {
            stl_be_p(a4, c->net);
            info->net = g_strdup_printf("%u.%u.%u.%u/%d", a4[0], a4[1],
                                        a4[2], a4[3], ctpop32(c->netmask));
            stl_be_p(a4, c->host);
            info->host = nat_format_addr(AF_INET, a4);
            stl_be_p(a4, c->dns);
            info->dns = nat_format_addr(AF_INET, a4);
        }
        if (c->ipv6) {
            g_autofree char *prefix = nat_format_addr(AF_INET6,
                                                      c->ip6_prefix);

            info->ipv6_net = g_strdup_printf("%s/%u", prefix,
                                             c->ip6_prefix_len);
            info->ipv6_host = nat_format_addr(AF_INET6, c->ip6_host);
            info->ipv6_dns = nat_format_addr(AF_INET6, c->ip6_dns);
        }
        info->q_restrict = c->restricted;
        info->host_loopback = c->host_loopback;
        info->mtu = c->mtu;
        for (unsigned i = 0; i < MIN(n, VPC_NAT_MAX_FWDS); i++) {
            QAPI_LIST_APPEND(fwd_tail, nat_hostfwd_info(c, &fwds[i]));
        }
        info->counters = nat_counters(vpc_nat_stats(s->nat));
        QAPI_LIST_APPEND(tail, info);
    }
    return list;
}
