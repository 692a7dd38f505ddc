/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * -netdev filter-bridge: Virtual PC's "Host Adapter" bridge mode.
 *
 * Theory of operation
 * -------------------
 * The guest NIC appears on the host adapter's LAN under its own MAC,
 * and reaches the wire, the host's own stack on that adapter and the
 * other guests on it, in this QEMU or another, without host<->guest or
 * guest<->guest unicast ever touching the wire.  The switching is done
 * in the kernel by four small tcx programs per guest, described in
 * net/vpcnet/bridge/steering.h; QEMU only reads and writes the guest's
 * tap, and holds no capability.
 *
 * Setting up needs privileges, so it is the helper's job
 * (net/vpcnet/bridge/qemu-filter-bridge-helper.c; the messages are in
 * helper-proto.h).  At -netdev time we run the helper with one end of a
 * SOCK_SEQPACKET pair and wait for READY and the tap, or an ERROR (the
 * ACL refused the adapter, say), which fails -netdev.  The helper
 * leaves a keeper process on the other end of the socket.  Once the
 * NIC's MAC is known (when the machine is built, or shortly after a
 * hot-plugged NIC appears: a timer looks for it) we send ATTACH and
 * wait for ATTACHED with the counters map (and the Wi-Fi address map),
 * or an ERROR such as a duplicate MAC on the adapter: at startup that
 * ends QEMU, later it is reported and the link stays down.  Closing the
 * socket (netdev_del, or QEMU's exit, SIGKILL included) makes the
 * keeper remove everything; if the keeper goes first, the link goes
 * down for good and the tap is closed.
 *
 * Frames: what the NIC sends is written to the tap (linearized, and for
 * Wi-Fi rewritten by net/vpcnet/bridge/wifi.c, when needed); a full
 * tap makes the net layer queue until the tap is writable.  What the
 * tap yields goes to the NIC, up to FB_RX_BURST frames a wakeup; a NIC
 * that cannot take more stops the reading until its queue drains.  The
 * kernel also enforces the source MAC; we check it first so that the
 * drop is counted here and never reaches the tap.
 *
 * Link: the guest sees its cable plugged only while the adapter is up
 * with carrier (a NETLINK_ROUTE socket follows RTM_NEWLINK), the
 * programs are attached, and the user has not set the link down.
 *
 * Wi-Fi: vpc_wifi_* learn the guest's addresses from its ARP, DHCP and
 * NDP; each one is put into the kernel's map unless it is one of the
 * host's own addresses.
 *
 * `info network` shows the adapter, the mode, the tap and the link,
 * then the kernel's per-path counters and every drop by reason.
 */

#include "qemu/osdep.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "net/eth.h"
#include "net/net.h"
#include "clients.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qapi/qapi-types-net.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/main-loop.h"
#include "qemu/notify.h"
#include "qemu/sockets.h"
#include "qemu/timer.h"
#include "hw/qdev-core.h"
#include "system/system.h"
#include "trace.h"
#include "vpcnet/bridge/bpf-sys.h"
#include "vpcnet/bridge/helper-proto.h"
#include "vpcnet/bridge/steering.h"
#include "vpcnet/bridge/wifi.h"
#include "vpcnet/eth.h"
#include "vpcnet/macaddr.h"

#define FB_HELPER_NAME      "qemu-filter-bridge-helper"
/* How long the helper and its keeper may take to answer. */
#define FB_REPLY_TIMEOUT_MS 10000
/* Period of the look for a hot-plugged NIC. */
#define FB_ATTACH_POLL_MS   100
/* Frames handed to the NIC per wakeup. */
#define FB_RX_BURST         64
/* Room for a guest frame grown by the Wi-Fi DHCP rewrite. */
#define FB_TX_BUF           (65536 + VPC_WIFI_DHCP_GROWTH)

/* Drops counted here, in QEMU (the kernel counts its own). */
typedef enum FbDrop {
    FB_DROP_SPOOFED,        /* source MAC not the NIC's */
    FB_DROP_RUNT,           /* shorter than an Ethernet header */
    FB_DROP_NOT_ATTACHED,   /* before ATTACHED, or after the keeper left */
    FB_DROP_LINK_DOWN,      /* the adapter is down or has no carrier */
    FB_DROP_TAP_ERROR,      /* the tap refused a write */
    FB_DROP_NR
} FbDrop;

static const char *const fb_drop_names[FB_DROP_NR] = {
    [FB_DROP_SPOOFED] = "spoofed-source",
    [FB_DROP_RUNT] = "runt",
    [FB_DROP_NOT_ATTACHED] = "not-attached",
    [FB_DROP_LINK_DOWN] = "link-down",
    [FB_DROP_TAP_ERROR] = "tap-error",
};

/**
 * FilterBridgeState: one guest NIC on a host adapter
 * @nc: the net client; its peer is the guest's NIC
 * @ifname: the host adapter
 * @helper: the helper program
 * @wifi_opt: what wifi= said
 * @mac_spoof: the guest may send from any source MAC
 * @sock: the socket to the keeper, -1 once it is gone
 * @tap_fd: the guest's tap, -1 once closed
 * @tap: its name
 * @tap_ifindex: its ifindex
 * @adapter_ifindex: the adapter's
 * @adapter_mac: the adapter's MAC
 * @wifi: shared-MAC (Wi-Fi) mode
 * @attached: the programs are in place
 * @attach_failed: an ATTACH was refused; not retried by itself
 * @mac: the NIC's MAC, once attached
 * @counters_fd: the kernel's counters for this guest
 * @ips_fd: Wi-Fi: the addresses the kernel steers to this guest
 * @nl_fd: NETLINK_ROUTE socket following the adapter's state
 * @adapter_up: the adapter is up and has carrier
 * @adapter_gone: the adapter was deleted
 * @admin_link_down: the user set the link down with set_link
 * @rx_paused: the NIC's queue is full; reading waits for it
 * @tx_blocked: the tap is full; writing waits for it
 * @attach_timer: looks for a hot-plugged NIC
 * @machine_done: attaches a cold-plugged NIC once the machine is built
 * @wifi_guest: Wi-Fi learning and DHCP rewriting
 * @drops: indexed by FbDrop
 * @tx_buf: a guest frame, linearized or rewritten
 * @rx_buf: a frame from the tap
 */
typedef struct FilterBridgeState {
    NetClientState nc;
    char *ifname;
    char *helper;
    OnOffAuto wifi_opt;
    bool mac_spoof;
    int sock;
    int tap_fd;
    char tap[16];
    unsigned tap_ifindex;
    unsigned adapter_ifindex;
    uint8_t adapter_mac[6];
    bool wifi;
    bool attached;
    bool attach_failed;
    uint8_t mac[6];
    int counters_fd;
    int ips_fd;
    int nl_fd;
    bool adapter_up;
    bool adapter_gone;
    bool admin_link_down;
    bool rx_paused;
    bool tx_blocked;
    QEMUTimer *attach_timer;
    Notifier machine_done;
    VpcWifiGuest wifi_guest;
    uint64_t drops[FB_DROP_NR];
    uint8_t tx_buf[FB_TX_BUF];
    uint8_t rx_buf[65536];
} FilterBridgeState;

static void fb_tap_readable(void *opaque);
static void fb_tap_writable(void *opaque);

static int64_t fb_now_ms(void)
{
    return qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
}

static void fb_update_info(FilterBridgeState *s)
{
    const char *link;

    if (s->adapter_gone) {
        link = "adapter-gone";
    } else if (s->sock < 0) {
        link = "helper-gone";
    } else if (!s->attached) {
        link = s->attach_failed ? "refused" : "attaching";
    } else {
        link = s->adapter_up ? "up" : "no-carrier";
    }
    qemu_set_info_str(&s->nc, "ifname=%s,mode=%s,tap=%s,link=%s", s->ifname,
                      s->wifi ? "wifi" : "wired", s->tap, link);
}

static void fb_update_fd_handler(FilterBridgeState *s)
{
    if (s->tap_fd < 0) {
        return;
    }
    qemu_set_fd_handler(s->tap_fd,
                        s->attached && !s->rx_paused ? fb_tap_readable : NULL,
                        s->tx_blocked ? fb_tap_writable : NULL, s);
}

/*
 * The cable: plugged while the programs are attached, the adapter is
 * up with carrier, and the user has not pulled it.  Like set_link on a
 * netdev, this sets both ends; the NIC hears of every change (some
 * NICs look at our end, some at their own).
 */
static void fb_set_link(FilterBridgeState *s)
{
    NetClientState *nic = s->nc.peer;
    bool down = !s->attached || !s->adapter_up || s->admin_link_down;
    bool changed = s->nc.link_down != down;

    s->nc.link_down = down;
    if (nic && nic->info->type == NET_CLIENT_DRIVER_NIC &&
        (changed || nic->link_down != down)) {
        nic->link_down = down;
        if (nic->info->link_status_changed) {
            nic->info->link_status_changed(nic);
        }
    }
    fb_update_info(s);
}

/* set_link on our side: remember what the user wants. */
static void fb_link_status_changed(NetClientState *nc)
{
    FilterBridgeState *s = DO_UPCAST(FilterBridgeState, nc, nc);

    s->admin_link_down = nc->link_down;
    fb_set_link(s);
}

static void fb_close_tap(FilterBridgeState *s)
{
    if (s->tap_fd >= 0) {
        qemu_set_fd_handler(s->tap_fd, NULL, NULL, NULL);
        close(s->tap_fd);
        s->tap_fd = -1;
    }
}

/* Send one message with no descriptors. */
static int fb_send(FilterBridgeState *s, const VpcFbhMsg *m)
{
    char text[VPC_FBH_MSG_MAX];
    int len = vpc_fbh_format(m, text, sizeof(text));

    if (len < 0) {
        return -EMSGSIZE;
    }
    if (send(s->sock, text, len, MSG_NOSIGNAL) != len) {
        return -errno;
    }
    return 0;
}

/*
 * Wait up to FB_REPLY_TIMEOUT_MS for one message and its descriptors
 * (at most @max_fds are kept, the rest closed).  Returns the number of
 * descriptors, or -1 with @errp set.
 */
static int fb_recv(int sock, VpcFbhMsg *m, int *fds, int max_fds,
                   const char *waiting_for, Error **errp)
{
    char buf[VPC_FBH_MSG_MAX + 1], why[80];
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int) * VPC_FBH_MAX_FDS)];
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    int64_t deadline = fb_now_ms() + FB_REPLY_TIMEOUT_MS;
    struct cmsghdr *c;
    int nfds = 0;
    ssize_t n;

    for (;;) {
        GPollFD pfd = { .fd = sock, .events = G_IO_IN | G_IO_HUP };
        int64_t left = deadline - fb_now_ms();

        if (left <= 0) {
            error_setg(errp, "filter-bridge: the helper did not send %s "
                       "within %d s", waiting_for,
                       FB_REPLY_TIMEOUT_MS / 1000);
            return -1;
        }
        if (g_poll(&pfd, 1, left) > 0) {
            break;
        }
    }
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    n = RETRY_ON_EINTR(recvmsg(sock, &msg, MSG_CMSG_CLOEXEC));
    if (n <= 0) {
        error_setg(errp, "filter-bridge: the helper exited without sending "
                   "%s (is it installed setuid root? see "
                   "docs/system/netdev/filter-bridge.rst)", waiting_for);
        return -1;
    }
    for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int *got = (int *)CMSG_DATA(c);
            int i;

            for (i = 0; i < k; i++) {
                if (nfds < max_fds) {
                    fds[nfds++] = got[i];
                } else {
                    close(got[i]);
                }
            }
        }
    }
    if (vpc_fbh_parse(buf, n, m, why, sizeof(why)) != 0) {
        error_setg(errp, "filter-bridge: bad message from the helper: %s",
                   why);
        goto fail;
    }
    if (m->type == VPC_FBH_ERROR) {
        error_setg(errp, "filter-bridge: %s", m->text);
        goto fail;
    }
    return nfds;
fail:
    while (nfds) {
        close(fds[--nfds]);
    }
    return -1;
}

/* The helper: next to the QEMU executable, else in the helper directory. */
static char *fb_find_helper(void)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);

    if (exe) {
        g_autofree char *exe_dir = g_path_get_dirname(exe);
        char *beside_exe = g_build_filename(exe_dir, FB_HELPER_NAME, NULL);

        if (access(beside_exe, X_OK) == 0) {
            return beside_exe;
        }
        g_free(beside_exe);
    }
    return get_relocated_path(CONFIG_QEMU_HELPERDIR "/" FB_HELPER_NAME);
}

/*
 * Run the helper and wait for READY.  Returns the tap fd, or -1 with
 * @errp set.
 */
static int fb_run_helper(FilterBridgeState *s, Error **errp)
{
    Error *err = NULL;
    VpcFbhMsg m;
    int sv[2], fds[1], nfds, status;
    g_autofree char *fd_arg = NULL, *ifname_arg = NULL;
    char *argv[6];
    int argc = 0;
    pid_t pid;

    if (qemu_socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
        error_setg_errno(errp, errno, "filter-bridge: socketpair");
        return -1;
    }
    /* Everything the child needs, made before fork(): it only execs. */
    fd_arg = g_strdup_printf("--fd=%d", sv[1]);
    ifname_arg = g_strdup_printf("--ifname=%s", s->ifname);
    argv[argc++] = s->helper;
    argv[argc++] = fd_arg;
    argv[argc++] = ifname_arg;
    argv[argc++] = (char *)(s->wifi_opt == ON_OFF_AUTO_ON ? "--wifi=on" :
                            s->wifi_opt == ON_OFF_AUTO_OFF ? "--wifi=off" :
                            "--wifi=auto");
    if (s->mac_spoof) {
        argv[argc++] = (char *)"--mac-spoof";
    }
    argv[argc] = NULL;

    trace_filter_bridge_helper(s->ifname, s->helper);
    pid = fork();
    if (pid < 0) {
        error_setg_errno(errp, errno, "filter-bridge: cannot fork");
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        /* stdin, stdout, stderr and our end: sorted, as asked */
        const int keep[] = { 0, 1, 2, sv[1] };

        qemu_close_all_open_fd(keep, sv[1] > 2 ? 4 : 3);
        fcntl(sv[1], F_SETFD, 0);
        execv(s->helper, argv);
        _exit(127);
    }
    close(sv[1]);
    s->sock = sv[0];

    nfds = fb_recv(s->sock, &m, fds, 1, "READY", &err);
    /* The helper exits once READY is out; its keeper stays. */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        /* again */
    }
    if (nfds < 0) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
            error_free(err);
            error_setg(errp, "filter-bridge: cannot run the helper %s",
                       s->helper);
        } else {
            error_propagate(errp, err);
        }
        return -1;
    }
    if (m.type != VPC_FBH_READY || nfds != 1) {
        error_setg(errp, "filter-bridge: the helper did not pass a tap");
        while (nfds) {
            close(fds[--nfds]);
        }
        return -1;
    }
    pstrcpy(s->tap, sizeof(s->tap), m.tap);
    s->tap_ifindex = m.tap_ifindex;
    s->adapter_ifindex = m.adapter_ifindex;
    memcpy(s->adapter_mac, m.adapter_mac, 6);
    s->wifi = m.wifi;
    trace_filter_bridge_ready(s->ifname, s->tap, s->wifi);
    return fds[0];
}

/* Wi-Fi: the addresses the kernel steers to this guest. */
static bool fb_is_host_address(const VpcBridgeIpKey *key)
{
    static const uint8_t v4_prefix[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
    };
    struct ifaddrs *ifa, *list;
    bool found = false;

    if (getifaddrs(&list) < 0) {
        return false;
    }
    for (ifa = list; ifa && !found; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr) {
            continue;
        }
        if (ifa->ifa_addr->sa_family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)ifa->ifa_addr;

            found = !memcmp(key->addr, v4_prefix, 12) &&
                    !memcmp(key->addr + 12, &sin->sin_addr, 4);
        } else if (ifa->ifa_addr->sa_family == AF_INET6) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ifa->ifa_addr;

            found = !memcmp(key->addr, &sin6->sin6_addr, 16);
        }
    }
    freeifaddrs(list);
    return found;
}

static bool fb_wifi_add_addr(void *opaque, const VpcBridgeIpKey *key)
{
    FilterBridgeState *s = opaque;
    char text[INET6_ADDRSTRLEN];
    uint32_t one = 1;
    int err;

    if (!memcmp(key->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
        inet_ntop(AF_INET, key->addr + 12, text, sizeof(text));
    } else {
        inet_ntop(AF_INET6, key->addr, text, sizeof(text));
    }
    if (fb_is_host_address(key)) {
        warn_report_once("filter-bridge %s: the guest claims %s, an address "
                         "of this host; it is not steered to the guest",
                         s->nc.name, text);
        trace_filter_bridge_wifi_learn(s->nc.name, text, "host-address");
        return false;
    }
    err = vpc_bpf_map_update(s->ips_fd, key, &one);
    trace_filter_bridge_wifi_learn(s->nc.name, text,
                                   err ? strerror(-err) : "ok");
    return err == 0;
}

static void fb_wifi_del_addr(void *opaque, const VpcBridgeIpKey *key)
{
    FilterBridgeState *s = opaque;

    vpc_bpf_map_delete(s->ips_fd, key);
}

static const VpcWifiOps fb_wifi_ops = {
    .add_addr = fb_wifi_add_addr,
    .del_addr = fb_wifi_del_addr,
};

/* The NIC on the other end, once it exists and has its MAC. */
static NICState *fb_nic(FilterBridgeState *s)
{
    NetClientState *peer = s->nc.peer;

    if (!peer || peer->info->type != NET_CLIENT_DRIVER_NIC) {
        return NULL;
    }
    return qemu_get_nic(peer);
}

/*
 * ATTACH with the NIC's MAC.  Returns true once ATTACHED, false with
 * @errp set.
 */
static bool fb_attach(FilterBridgeState *s, Error **errp)
{
    VpcFbhMsg m = { .type = VPC_FBH_ATTACH };
    NICState *nic = fb_nic(s);
    char mac[VPC_MAC_STRLEN];
    int fds[2], nfds, err;

    if (!nic) {
        error_setg(errp, "filter-bridge %s: no NIC uses this netdev",
                   s->nc.name);
        return false;
    }
    if (s->sock < 0) {
        error_setg(errp, "filter-bridge %s: the helper is gone", s->nc.name);
        return false;
    }
    memcpy(m.mac, nic->conf->macaddr.a, 6);
    vpc_mac_format(m.mac, mac);
    trace_filter_bridge_attach(s->nc.name, mac);
    err = fb_send(s, &m);
    if (err) {
        error_setg_errno(errp, -err, "filter-bridge %s: cannot talk to the "
                         "helper", s->nc.name);
        return false;
    }
    nfds = fb_recv(s->sock, &m, fds, 2, "ATTACHED", errp);
    if (nfds < 0) {
        s->attach_failed = true;
        fb_update_info(s);
        return false;
    }
    if (m.type != VPC_FBH_ATTACHED || nfds < 1 || (s->wifi && nfds < 2)) {
        error_setg(errp, "filter-bridge %s: the helper did not pass its "
                   "maps", s->nc.name);
        while (nfds) {
            close(fds[--nfds]);
        }
        return false;
    }
    s->counters_fd = fds[0];
    s->ips_fd = nfds > 1 ? fds[1] : -1;
    memcpy(s->mac, nic->conf->macaddr.a, 6);
    if (s->wifi) {
        vpc_wifi_guest_init(&s->wifi_guest, s->mac, s->adapter_mac,
                            &fb_wifi_ops, s);
    }
    s->attached = true;
    s->attach_failed = false;
    trace_filter_bridge_attached(s->nc.name, mac, s->tap);
    fb_update_fd_handler(s);
    fb_set_link(s);
    return true;
}

/* A cold-plugged NIC: attach once the machine is built, or give up. */
static void fb_machine_done(Notifier *notifier, void *data)
{
    FilterBridgeState *s = container_of(notifier, FilterBridgeState,
                                        machine_done);
    Error *err = NULL;

    if (s->attached) {
        return;
    }
    if (!fb_nic(s)) {
        /* no NIC yet: the timer looks for one plugged in later */
        timer_mod(s->attach_timer, fb_now_ms() + FB_ATTACH_POLL_MS);
        return;
    }
    if (!fb_attach(s, &err)) {
        error_report_err(err);
        exit(1);
    }
}

/* A hot-plugged NIC: look for it until it is there. */
static void fb_attach_poll(void *opaque)
{
    FilterBridgeState *s = opaque;
    Error *err = NULL;

    if (s->attached || s->attach_failed || s->sock < 0) {
        return;
    }
    /* a NIC has its final MAC by the time it is our peer */
    if (!phase_check(PHASE_MACHINE_READY) || !fb_nic(s)) {
        timer_mod(s->attach_timer, fb_now_ms() + FB_ATTACH_POLL_MS);
        return;
    }
    if (!fb_attach(s, &err)) {
        error_report_err(err);
    }
}

/* The keeper said something, or went away. */
static void fb_sock_readable(void *opaque)
{
    FilterBridgeState *s = opaque;
    char buf[VPC_FBH_MSG_MAX];
    ssize_t n;

    n = recv(s->sock, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n > 0) {
        return;     /* nothing is expected here; ignore */
    }
    trace_filter_bridge_keeper_gone(s->nc.name);
    error_report("filter-bridge %s: the helper keeping the bridge on %s "
                 "exited; the NIC is unplugged", s->nc.name, s->ifname);
    qemu_set_fd_handler(s->sock, NULL, NULL, NULL);
    close(s->sock);
    s->sock = -1;
    s->attached = false;
    fb_close_tap(s);
    fb_set_link(s);
}

/* The adapter's state from an RTM_NEWLINK/RTM_DELLINK. */
static void fb_adapter_state(FilterBridgeState *s, bool deleted,
                             unsigned flags)
{
    bool up = !deleted && (flags & IFF_UP) && (flags & IFF_RUNNING);

    if (deleted && !s->adapter_gone) {
        s->adapter_gone = true;
        error_report("filter-bridge %s: host adapter %s was removed; the "
                     "NIC is unplugged", s->nc.name, s->ifname);
    }
    if (up != s->adapter_up) {
        s->adapter_up = up;
        trace_filter_bridge_link(s->nc.name, s->ifname, up);
        fb_set_link(s);
    }
}

static void fb_netlink_readable(void *opaque)
{
    FilterBridgeState *s = opaque;
    char buf[16384] QEMU_ALIGNED(8);
    ssize_t n;

    while ((n = recv(s->nl_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
        struct nlmsghdr *h;
        int len = n;

        for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
             h = NLMSG_NEXT(h, len)) {
            struct ifinfomsg *ifi = NLMSG_DATA(h);

            if ((h->nlmsg_type != RTM_NEWLINK &&
                 h->nlmsg_type != RTM_DELLINK) ||
                h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) ||
                ifi->ifi_index != (int)s->adapter_ifindex ||
                s->adapter_gone) {
                continue;
            }
            fb_adapter_state(s, h->nlmsg_type == RTM_DELLINK,
                             ifi->ifi_flags);
        }
    }
}

/* Follow the adapter: subscribe first, then read its state once. */
static int fb_watch_adapter(FilterBridgeState *s, Error **errp)
{
    struct sockaddr_nl addr = { .nl_family = AF_NETLINK,
                                .nl_groups = RTMGRP_LINK };
    struct ifreq ifr = { 0 };
    int fd;

    s->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                      NETLINK_ROUTE);
    if (s->nl_fd < 0 ||
        bind(s->nl_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        error_setg_errno(errp, errno, "filter-bridge: cannot follow the "
                         "state of %s", s->ifname);
        return -1;
    }
    qemu_set_fd_handler(s->nl_fd, fb_netlink_readable, NULL, s);

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    pstrcpy(ifr.ifr_name, sizeof(ifr.ifr_name), s->ifname);
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        error_setg_errno(errp, errno, "filter-bridge: cannot read the state "
                         "of %s", s->ifname);
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    s->adapter_up = (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
    return 0;
}

/* Guest -> tap. */
static ssize_t fb_receive_iov(NetClientState *nc, const struct iovec *iov,
                              int iovcnt)
{
    FilterBridgeState *s = DO_UPCAST(FilterBridgeState, nc, nc);
    size_t size = iov_size(iov, iovcnt);
    struct iovec one;
    uint8_t src[6];
    ssize_t n;

    if (!s->attached || s->tap_fd < 0) {
        s->drops[FB_DROP_NOT_ATTACHED]++;
        return size;
    }
    if (!s->adapter_up) {
        s->drops[FB_DROP_LINK_DOWN]++;
        return size;
    }
    if (size < VPC_ETH_HLEN) {
        s->drops[FB_DROP_RUNT]++;
        trace_filter_bridge_drop(s->nc.name, fb_drop_names[FB_DROP_RUNT],
                                 size);
        return size;
    }
    iov_to_buf(iov, iovcnt, 6, src, 6);
    if (!s->mac_spoof && !vpc_mac_equal(src, s->mac)) {
        s->drops[FB_DROP_SPOOFED]++;
        trace_filter_bridge_drop(s->nc.name, fb_drop_names[FB_DROP_SPOOFED],
                                 size);
        return size;
    }
    if (s->wifi && size <= sizeof(s->tx_buf) - VPC_WIFI_DHCP_GROWTH) {
        size_t len = iov_to_buf(iov, iovcnt, 0, s->tx_buf, size);

        len = vpc_wifi_from_guest(&s->wifi_guest, s->tx_buf, len,
                                  sizeof(s->tx_buf), fb_now_ms());
        one.iov_base = s->tx_buf;
        one.iov_len = len;
        iov = &one;
        iovcnt = 1;
    }
    n = RETRY_ON_EINTR(writev(s->tap_fd, iov, iovcnt));
    if (n < 0 && errno == EAGAIN) {
        /* the net layer queues; we are told when the tap has room */
        s->tx_blocked = true;
        fb_update_fd_handler(s);
        return 0;
    }
    if (n < 0) {
        s->drops[FB_DROP_TAP_ERROR]++;
        trace_filter_bridge_drop(s->nc.name,
                                 fb_drop_names[FB_DROP_TAP_ERROR], size);
    }
    return size;
}

static void fb_tap_writable(void *opaque)
{
    FilterBridgeState *s = opaque;

    s->tx_blocked = false;
    fb_update_fd_handler(s);
    qemu_flush_queued_packets(&s->nc);
}

static void fb_rx_done(NetClientState *nc, ssize_t len)
{
    FilterBridgeState *s = DO_UPCAST(FilterBridgeState, nc, nc);

    s->rx_paused = false;
    fb_update_fd_handler(s);
}

/* Tap -> guest. */
static void fb_tap_readable(void *opaque)
{
    FilterBridgeState *s = opaque;
    int frames;

    for (frames = 0; frames < FB_RX_BURST; frames++) {
        ssize_t n = read(s->tap_fd, s->rx_buf, sizeof(s->rx_buf));

        if (n <= 0) {
            break;
        }
        if (s->wifi) {
            vpc_wifi_to_guest(&s->wifi_guest, s->rx_buf, n, fb_now_ms());
        }
        /* Frames from the host's stack come unpadded; NICs want 60 bytes. */
        if (n < ETH_ZLEN && net_peer_needs_padding(&s->nc)) {
            memset(s->rx_buf + n, 0, ETH_ZLEN - n);
            n = ETH_ZLEN;
        }
        if (qemu_send_packet_async(&s->nc, s->rx_buf, n, fb_rx_done) == 0) {
            s->rx_paused = true;
            fb_update_fd_handler(s);
            break;
        }
    }
}

/* info network: the counters under the one-line summary. */
static void fb_print_info(NetClientState *nc, Monitor *mon)
{
    FilterBridgeState *s = DO_UPCAST(FilterBridgeState, nc, nc);
    VpcBridgeCounters k = { { 0 } };
    uint32_t key = 0;
    int i;

    if (s->counters_fd < 0 ||
        vpc_bpf_map_lookup(s->counters_fd, &key, &k) != 0) {
        monitor_printf(mon, "  (no counters: not attached)\n");
    } else {
        uint64_t *c = k.c;
        uint64_t to_guests = c[VPC_BC_TX_FORWARD] > c[VPC_BC_TX_WIRE] ?
            c[VPC_BC_TX_FORWARD] - c[VPC_BC_TX_WIRE] : 0;

        monitor_printf(mon, "  guest mac %02x:%02x:%02x:%02x:%02x:%02x, "
                       "adapter mac %02x:%02x:%02x:%02x:%02x:%02x\n",
                       s->mac[0], s->mac[1], s->mac[2], s->mac[3], s->mac[4],
                       s->mac[5], s->adapter_mac[0], s->adapter_mac[1],
                       s->adapter_mac[2], s->adapter_mac[3],
                       s->adapter_mac[4], s->adapter_mac[5]);
        monitor_printf(mon, "  sent: to-host=%" PRIu64 " to-wire=%" PRIu64
                       " to-guests=%" PRIu64 " flood=%" PRIu64
                       " (on the wire %" PRIu64 ")\n", c[VPC_BC_TX_HOST],
                       c[VPC_BC_TX_WIRE], to_guests, c[VPC_BC_TX_FLOOD],
                       c[VPC_BC_TX_WIRE_FLOOD]);
        monitor_printf(mon, "  received: from-wire=%" PRIu64 " from-host=%"
                       PRIu64 " from-guests=%" PRIu64 " flood from-wire=%"
                       PRIu64 " from-host=%" PRIu64 " from-guests=%" PRIu64
                       "\n", c[VPC_BC_RX_WIRE], c[VPC_BC_RX_HOST],
                       c[VPC_BC_RX_GUEST], c[VPC_BC_RX_WIRE_FLOOD],
                       c[VPC_BC_RX_HOST_FLOOD], c[VPC_BC_RX_GUEST_FLOOD]);
        monitor_printf(mon, "  kernel drops: spoofed-source=%" PRIu64
                       " runt=%" PRIu64 " wifi-non-ip=%" PRIu64
                       " copy-failed=%" PRIu64 "\n", c[VPC_BC_DROP_SPOOF],
                       c[VPC_BC_DROP_RUNT], c[VPC_BC_DROP_WIFI_NON_IP],
                       c[VPC_BC_DROP_COPY]);
        if (s->wifi) {
            monitor_printf(mon, "  wifi: rewritten=%" PRIu64 " steered=%"
                           PRIu64, c[VPC_BC_WIFI_REWRITTEN],
                           c[VPC_BC_WIFI_STEERED]);
            for (i = 0; i < VPC_WIFI_NR; i++) {
                monitor_printf(mon, " %s=%" PRIu64, vpc_wifi_counter_name(i),
                               s->wifi_guest.counters[i]);
            }
            monitor_printf(mon, "\n");
        }
    }
    monitor_printf(mon, "  qemu drops:");
    for (i = 0; i < FB_DROP_NR; i++) {
        monitor_printf(mon, " %s=%" PRIu64, fb_drop_names[i], s->drops[i]);
    }
    monitor_printf(mon, "\n");
}

static void fb_cleanup(NetClientState *nc)
{
    FilterBridgeState *s = DO_UPCAST(FilterBridgeState, nc, nc);

    if (s->machine_done.notify) {
        qemu_remove_machine_init_done_notifier(&s->machine_done);
        s->machine_done.notify = NULL;
    }
    if (s->attach_timer) {
        timer_free(s->attach_timer);
        s->attach_timer = NULL;
    }
    fb_close_tap(s);
    if (s->sock >= 0) {
        /* the keeper sees the close and takes everything down */
        qemu_set_fd_handler(s->sock, NULL, NULL, NULL);
        close(s->sock);
        s->sock = -1;
    }
    if (s->nl_fd >= 0) {
        qemu_set_fd_handler(s->nl_fd, NULL, NULL, NULL);
        close(s->nl_fd);
        s->nl_fd = -1;
    }
    if (s->counters_fd >= 0) {
        close(s->counters_fd);
        s->counters_fd = -1;
    }
    if (s->ips_fd >= 0) {
        close(s->ips_fd);
        s->ips_fd = -1;
    }
    g_free(s->ifname);
    g_free(s->helper);
}

static NetClientInfo net_filter_bridge_info = {
    .type = NET_CLIENT_DRIVER_FILTER_BRIDGE,
    .size = sizeof(FilterBridgeState),
    .receive_iov = fb_receive_iov,
    .cleanup = fb_cleanup,
    .link_status_changed = fb_link_status_changed,
    .print_info = fb_print_info,
};

int net_init_filter_bridge(const Netdev *netdev, const char *name,
                           NetClientState *peer, Error **errp)
{
    const NetdevFilterBridgeOptions *opts;
    NetClientState *nc;
    FilterBridgeState *s;
    int tap_fd;

    assert(netdev->type == NET_CLIENT_DRIVER_FILTER_BRIDGE);
    opts = &netdev->u.filter_bridge;

    if (!*opts->ifname || strlen(opts->ifname) >= IFNAMSIZ ||
        strchr(opts->ifname, '/') || strchr(opts->ifname, ' ')) {
        error_setg(errp, "filter-bridge: ifname '%s' is not an interface "
                   "name (1 to %d characters, no '/' or blanks)",
                   opts->ifname, IFNAMSIZ - 1);
        return -1;
    }
    if (!if_nametoindex(opts->ifname)) {
        error_setg(errp, "filter-bridge: there is no host adapter '%s'",
                   opts->ifname);
        return -1;
    }
    if (opts->helper && !*opts->helper) {
        error_setg(errp, "filter-bridge: helper may not be empty");
        return -1;
    }

    nc = qemu_new_net_client(&net_filter_bridge_info, peer, "filter-bridge",
                             name);
    s = DO_UPCAST(FilterBridgeState, nc, nc);
    s->ifname = g_strdup(opts->ifname);
    s->helper = opts->helper ? g_strdup(opts->helper) : fb_find_helper();
    s->wifi_opt = opts->has_wifi ? opts->wifi : ON_OFF_AUTO_AUTO;
    s->mac_spoof = opts->has_mac_spoof && opts->mac_spoof;
    s->sock = -1;
    s->tap_fd = -1;
    s->counters_fd = -1;
    s->ips_fd = -1;
    s->nl_fd = -1;
    pstrcpy(s->tap, sizeof(s->tap), "-");
    s->attach_timer = timer_new_ms(QEMU_CLOCK_REALTIME, fb_attach_poll, s);

    if (fb_watch_adapter(s, errp) < 0) {
        goto fail;
    }
    tap_fd = fb_run_helper(s, errp);
    if (tap_fd < 0) {
        goto fail;
    }
    s->tap_fd = tap_fd;
    qemu_socket_set_nonblock(s->tap_fd);
    qemu_set_fd_handler(s->sock, fb_sock_readable, NULL, s);
    fb_set_link(s);

    if (phase_check(PHASE_MACHINE_READY)) {
        /* netdev_add: the NIC comes later */
        timer_mod(s->attach_timer, fb_now_ms() + FB_ATTACH_POLL_MS);
    } else {
        s->machine_done.notify = fb_machine_done;
        qemu_add_machine_init_done_notifier(&s->machine_done);
    }
    return 0;

fail:
    qemu_del_net_client(nc);
    return -1;
}
