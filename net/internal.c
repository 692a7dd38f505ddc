/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * -netdev internal: a port on a qemu-vswitch internal network.
 *
 * Theory of operation
 * -------------------
 * An internal network is a switch shared by guests in separate QEMU
 * processes.  The switch is the qemu-vswitch daemon, one per network,
 * reached through an AF_UNIX SOCK_SEQPACKET socket whose path follows
 * from the network name.  docs/interop/vpcnet-vswitch-protocol.rst is the
 * contract: every message is one datagram with a 4-byte header (type,
 * flags, little-endian payload length); the client sends HELLO, the
 * daemon answers WELCOME, and from then on Ethernet frames travel
 * either way: many per FRAMES message when the WELCOME agreed to the
 * batching our HELLO asks for (VSW_HELLO_BATCH), else one per FRAME
 * message.
 *
 * Joining at startup is synchronous, so that a bad option, a helper
 * that cannot run or a switch that will not have us fails -netdev with
 * a clear error: connect; if nobody listens, start the daemon (it
 * daemonizes and exits 0 once its socket listens) and retry for
 * INTERNAL_START_TIMEOUT_MS; send HELLO and wait as long for WELCOME.
 *
 * After that the port never gives up.  When the connection drops (EOF,
 * an error, or a REFUSED message) the link goes down for the NIC, as if
 * its cable were pulled, and a realtime timer retries every
 * INTERNAL_RETRY_MS: reconnect, starting the daemon again if its socket
 * is gone, and send a new HELLO without blocking the main loop.  The
 * WELCOME brings the link back up.  A port refused by the switch (for
 * a duplicate MAC, say) retries with exponential backoff up to
 * INTERNAL_BACKOFF_MAX_MS, since the other VM may leave.
 *
 * Transmit, batched: a guest frame is appended, as a FRAMES record, to
 * the pending batch in the state (one message, up to VSW_PAYLOAD_MAX
 * bytes), and the first frame of a batch schedules a bottom half.  The
 * bottom half runs once the main loop has run the NIC, so it sends, in
 * one message, every frame the NIC transmitted in that pass; a frame
 * that would not fit sends the batch at once and starts a new one.
 * When the socket is full (EAGAIN) the batch stays, we return 0 for
 * every further frame so that the net layer queues it, and once the
 * socket is writable the batch goes and the net layer's queue is
 * flushed into a new one.  A lost connection discards the batch, and
 * counts its frames as drops; so does any other send error, ENOBUFS
 * included (the socket stays writable then, so waiting for it would
 * spin).
 *
 * Transmit, unbatched (a daemon that did not agree): a guest frame goes
 * out with one sendmsg() of a FRAME header and the frame's own iovec,
 * without copying; a full socket makes the net layer queue it in the
 * same way.
 *
 * Receive: messages land in one buffer in the state.  Each frame of a
 * FRAME, or of a FRAMES message record by record, goes to the NIC with
 * qemu_send_packet_async().  When the NIC cannot take one, the net
 * layer queues (copies) it; the rest of that message is handed over
 * too, since it is in hand and the net layer's queue takes them, and
 * reading stops until the sent callback has been called for every
 * frame queued (@rx_queued), so the queue never holds more of ours than
 * the rest of one message.  Frames outside VSW_FRAME_MIN..VSW_FRAME_MAX
 * bytes and malformed messages are dropped and counted; a malformed
 * FRAMES record drops the rest of its message.
 *
 * The socket asks for INTERNAL_SOCK_BUF of send and receive buffer, so
 * that a short stall of either side is absorbed there.
 *
 * `info network` shows the network, socket path, port id and state.
 */

#include "qemu/osdep.h"

#include <sys/un.h>

#include "net/net.h"
#include "clients.h"
#include "qapi/error.h"
#include "qapi/qapi-types-net.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/main-loop.h"
#include "qemu/sockets.h"
#include "qemu/timer.h"
#include "system/system.h"
#include "trace.h"
#include "vpcnet/vswitch-proto.h"

/* A guest frame in more pieces than this is linearized first. */
#define INTERNAL_TX_IOV_MAX         16

/* How long a join may take: the daemon starting, then its WELCOME. */
#define INTERNAL_START_TIMEOUT_MS   5000
/* Period of the reconnect timer while the port is down. */
#define INTERNAL_RETRY_MS           1000
/* Period of connection attempts while a daemon we started comes up. */
#define INTERNAL_SPAWN_POLL_MS      50
/* A refusal this soon after joining continues the previous one's backoff. */
#define INTERNAL_REFUSAL_STREAK_MS  10000
/* Longest wait between attempts after the switch refused the port. */
#define INTERNAL_BACKOFF_MAX_MS     30000
/* Messages handled per wakeup, so one busy port cannot starve the loop. */
#define INTERNAL_RX_BURST           64
/* Frames handed to the NIC per wakeup, for the same reason. */
#define INTERNAL_RX_FRAME_BURST     1024
/* Socket buffers to ask for (the kernel caps them). */
#define INTERNAL_SOCK_BUF           (1 << 20)

typedef enum InternalPortState {
    INTERNAL_PORT_DOWN,         /* no connection, the timer retries */
    INTERNAL_PORT_HELLO_SENT,   /* connected, waiting for WELCOME */
    INTERNAL_PORT_JOINED,       /* frames flow */
} InternalPortState;

/**
 * InternalState: one port on an internal network
 * @nc: the net client; its peer is the guest's NIC
 * @network: the network name
 * @sock_path: where the network's daemon listens
 * @helper: the qemu-vswitch program, NULL when none was found
 * @dhcp_off: HELLO and daemon option: the switch serves no DHCP
 * @dhcp_start: first leased address, network order, 0 for the default
 * @dhcp_end: last leased address, network order, 0 for the default
 * @dup_warn: HELLO option: stay on the network with a duplicate MAC
 * @fd: the connection to the daemon, -1 when down
 * @state: where the port is in its life
 * @port_id: the daemon's id for this port, valid once joined
 * @refused: the last connection ended with the switch refusing us; kept
 *     through the next WELCOME, since a duplicate MAC is only refused
 *     once the port sends
 * @admin_link_down: the user set the link down with set_link
 * @batch: the daemon agreed to FRAMES messages on this connection
 * @rx_paused: the NIC's queue is full, reading waits for its callback
 * @rx_queued: our frames the net layer holds for the NIC; reading
 *     resumes once their sent callbacks brought this to 0
 * @tx_blocked: the socket is full, the NIC's frames wait in our queue
 * @retry_timer: reconnects while the port is down
 * @backoff_ms: delay before the next attempt after a refusal
 * @joined_at_ms: when the port last joined
 * @hello_deadline_ms: when a pending WELCOME is given up on
 * @spawn_deadline_ms: until then the daemon we started may still come up
 * @drops: frames and messages dropped as malformed or out of size,
 *     and frames of batches lost with a connection
 * @tx_bh: sends the pending batch after the NIC's pass of the main loop
 * @tx_frames: frames in the pending batch, 0 when there is none
 * @tx_len: payload bytes of the pending batch
 * @rx_buf: one received message
 * @tx_buf: a guest frame in too many pieces, made one
 * @tx_msg: the pending batch, a FRAMES message (header, then records)
 */
typedef struct InternalState {
    NetClientState nc;
    char *network;
    char *sock_path;
    char *helper;
    bool dhcp_off;
    uint32_t dhcp_start;
    uint32_t dhcp_end;
    bool dup_warn;
    int fd;
    InternalPortState state;
    uint32_t port_id;
    bool refused;
    bool admin_link_down;
    bool batch;
    bool rx_paused;
    unsigned rx_queued;
    bool tx_blocked;
    QEMUTimer *retry_timer;
    int64_t backoff_ms;
    int64_t joined_at_ms;
    int64_t hello_deadline_ms;
    int64_t spawn_deadline_ms;
    uint64_t drops;
    QEMUBH *tx_bh;
    unsigned tx_frames;
    size_t tx_len;
    uint8_t rx_buf[VSW_MSG_MAX];
    uint8_t tx_buf[VSW_FRAME_MAX];
    uint8_t tx_msg[VSW_MSG_MAX];
} InternalState;

static void internal_readable(void *opaque);
static void internal_writable(void *opaque);

static int64_t internal_now_ms(void)
{
    return qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
}

static const char *internal_status_str(unsigned status)
{
    if (status == VSW_STATUS_BAD_HELLO) {
        return "bad hello (protocol version mismatch?)";
    }
    return vsw_status_name(status);
}

static void internal_update_info(InternalState *s)
{
    const char *state;

    if (s->state == INTERNAL_PORT_JOINED) {
        state = "joined";
    } else if (s->refused) {
        state = "refused";
    } else {
        state = "reconnecting";
    }
    if (s->state == INTERNAL_PORT_JOINED) {
        qemu_set_info_str(&s->nc, "network=%s,socket=%s,port=%" PRIu32
                          ",%s,%s", s->network, s->sock_path, s->port_id,
                          state, s->batch ? "batched" : "unbatched");
    } else {
        qemu_set_info_str(&s->nc, "network=%s,socket=%s,%s",
                          s->network, s->sock_path, state);
    }
}

/* Read while the port may hand frames to the NIC; write while blocked. */
static void internal_update_fd_handler(InternalState *s)
{
    bool want_read = s->state != INTERNAL_PORT_DOWN && !s->rx_paused;
    bool want_write = s->state == INTERNAL_PORT_JOINED && s->tx_blocked;

    if (s->fd < 0) {
        return;
    }
    qemu_set_fd_handler(s->fd, want_read ? internal_readable : NULL,
                        want_write ? internal_writable : NULL, s);
}

/*
 * The cable between the NIC and the switch: down while the port is not
 * joined, and while the user holds it down with set_link.
 */
static void internal_set_link(InternalState *s)
{
    NetClientState *nc = &s->nc;
    NetClientState *nic = nc->peer;
    bool down = s->state != INTERNAL_PORT_JOINED || s->admin_link_down;

    nc->link_down = down;
    if (nic && nic->info->type == NET_CLIENT_DRIVER_NIC &&
        nic->link_down != down) {
        nic->link_down = down;
        if (nic->info->link_status_changed) {
            nic->info->link_status_changed(nic);
        }
    }
}

/* set_link on our side: remember what the user wants. */
static void internal_link_status_changed(NetClientState *nc)
{
    InternalState *s = DO_UPCAST(InternalState, nc, nc);

    s->admin_link_down = nc->link_down;
    if (s->state != INTERNAL_PORT_JOINED) {
        /* No frames for a switch we are not joined to. */
        nc->link_down = true;
    }
}

/*
 * Whether a refusal now repeats the one that ended the last connection:
 * this connection did not stay joined for long in between.
 */
static bool internal_refusal_streak(InternalState *s)
{
    return s->refused &&
           (s->state != INTERNAL_PORT_JOINED ||
            internal_now_ms() - s->joined_at_ms < INTERNAL_REFUSAL_STREAK_MS);
}

static void internal_arm_retry(InternalState *s, int64_t delay_ms)
{
    timer_mod(s->retry_timer, internal_now_ms() + delay_ms);
}

/*
 * Close the connection; the link goes down and the timer retries.  A
 * refusal backs off, any other loss retries at the normal pace.
 */
static void internal_disconnect(InternalState *s, int err, bool refused)
{
    int64_t delay_ms = INTERNAL_RETRY_MS;
    bool streak = internal_refusal_streak(s);

    if (s->fd >= 0) {
        qemu_set_fd_handler(s->fd, NULL, NULL, NULL);
        close(s->fd);
        s->fd = -1;
    }
    s->state = INTERNAL_PORT_DOWN;
    s->rx_paused = false;
    s->tx_blocked = false;
    /* The batch was for the old connection. */
    qemu_bh_cancel(s->tx_bh);
    if (s->tx_frames) {
        s->drops += s->tx_frames;
        trace_internal_tx_discard(s->network, s->tx_frames, s->tx_len);
        s->tx_frames = 0;
        s->tx_len = 0;
    }
    s->batch = false;
    /* Our frames queued at the NIC belong to the old connection. */
    qemu_purge_queued_packets(&s->nc);
    s->rx_queued = 0;

    if (refused) {
        s->backoff_ms = streak ?
            MIN(s->backoff_ms * 2, INTERNAL_BACKOFF_MAX_MS) :
            INTERNAL_RETRY_MS;
        delay_ms = s->backoff_ms;
    }
    s->refused = refused;
    trace_internal_disconnect(s->network, err, delay_ms);

    internal_set_link(s);
    /* The NIC's frames waiting for us are dropped by our receive. */
    qemu_flush_queued_packets(&s->nc);
    internal_update_info(s);
    internal_arm_retry(s, delay_ms);
}

/* The socket path the protocol defines for @network. */
static char *internal_socket_path(const char *network)
{
    char dir[PATH_MAX];
    char path[PATH_MAX];

    if (vsw_socket_dir(dir, sizeof(dir), g_getenv("XDG_RUNTIME_DIR"),
                       geteuid()) < 0 ||
        vsw_network_path(path, sizeof(path), dir, network, ".sock") < 0) {
        return NULL;
    }
    return g_strdup(path);
}

/*
 * The qemu-vswitch to start: next to the QEMU executable, else in the
 * helper directory.  NULL when neither exists.
 */
static char *internal_find_helper(void)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *in_helperdir =
        get_relocated_path(CONFIG_QEMU_HELPERDIR "/qemu-vswitch");

    if (exe) {
        g_autofree char *exe_dir = g_path_get_dirname(exe);
        char *beside_exe = g_build_filename(exe_dir, "qemu-vswitch", NULL);

        if (access(beside_exe, X_OK) == 0) {
            return beside_exe;
        }
        g_free(beside_exe);
    }
    if (access(in_helperdir, X_OK) == 0) {
        return g_steal_pointer(&in_helperdir);
    }
    return NULL;
}

static bool internal_parse_ipv4(const char *option, const char *str,
                                uint32_t *addr, Error **errp)
{
    struct in_addr in;

    if (inet_pton(AF_INET, str, &in) != 1) {
        error_setg(errp, "internal: %s '%s' is not an IPv4 address",
                   option, str);
        return false;
    }
    if (in.s_addr == 0) {
        error_setg(errp, "internal: %s may not be 0.0.0.0", option);
        return false;
    }
    *addr = in.s_addr;
    return true;
}

/*
 * Open a non-blocking connection to the daemon.  Returns the fd, or
 * -errno: -ENOENT or -ECONNREFUSED when nobody serves the network,
 * -EAGAIN when its backlog is full.
 */
static int internal_connect(InternalState *s)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int bufsize = INTERNAL_SOCK_BUF;
    int fd;
    int err;

    fd = qemu_socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (fd < 0) {
        return -errno;
    }
    qemu_socket_set_nonblock(fd);
    /* Room for bursts both ways; what the kernel grants will do. */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
    pstrcpy(addr.sun_path, sizeof(addr.sun_path), s->sock_path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        err = errno;
        close(fd);
        trace_internal_connect(s->network, s->sock_path, err);
        return -err;
    }
    trace_internal_connect(s->network, s->sock_path, 0);
    return fd;
}

static void internal_helper_exited(GPid pid, gint wait_status,
                                   gpointer opaque)
{
    trace_internal_helper_exited(pid, wait_status);
    g_spawn_close_pid(pid);
}

/*
 * Start the network's daemon.  It daemonizes, so the process we start
 * exits soon; GLib reaps it.  Returns its pid, or 0 with @errp set.
 */
static GPid internal_spawn_daemon(InternalState *s, Error **errp)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) gerr = NULL;
    char addr[INET_ADDRSTRLEN];
    GPid pid;

    if (!s->helper) {
        error_setg(errp, "internal: no switch serves network '%s' at %s, "
                   "and qemu-vswitch is neither next to the QEMU executable "
                   "nor in %s; name it with helper=PATH",
                   s->network, s->sock_path, CONFIG_QEMU_HELPERDIR);
        return 0;
    }
    g_ptr_array_add(argv, g_strdup(s->helper));
    g_ptr_array_add(argv, g_strdup("--network"));
    g_ptr_array_add(argv, g_strdup(s->network));
    if (s->dhcp_off) {
        g_ptr_array_add(argv, g_strdup("--dhcp"));
        g_ptr_array_add(argv, g_strdup("off"));
    }
    if (s->dhcp_start) {
        inet_ntop(AF_INET, &s->dhcp_start, addr, sizeof(addr));
        g_ptr_array_add(argv, g_strdup("--dhcp-start"));
        g_ptr_array_add(argv, g_strdup(addr));
        inet_ntop(AF_INET, &s->dhcp_end, addr, sizeof(addr));
        g_ptr_array_add(argv, g_strdup("--dhcp-end"));
        g_ptr_array_add(argv, g_strdup(addr));
    }
    g_ptr_array_add(argv, g_strdup("--daemonize"));
    g_ptr_array_add(argv, NULL);

    trace_internal_spawn(s->network, s->helper);
    if (!g_spawn_async(NULL, (char **)argv->pdata, NULL,
                       G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &gerr)) {
        error_setg(errp, "internal: cannot start the switch of network "
                   "'%s': %s", s->network, gerr->message);
        /* libvirt runs QEMU with -sandbox ...,spawn=deny. */
        error_append_hint(errp, "Under -sandbox spawn=deny QEMU may not "
                          "start programs: start the switch first, with "
                          "'%s --network %s --daemonize --idle-timeout 0'\n",
                          s->helper, s->network);
        return 0;
    }
    return pid;
}

/*
 * Connect at startup, starting the daemon when nobody serves the
 * network and waiting up to INTERNAL_START_TIMEOUT_MS for it.
 */
static int internal_connect_or_start(InternalState *s, Error **errp)
{
    int64_t deadline_ms;
    GPid pid;
    int status;
    int fd;

    fd = internal_connect(s);
    if (fd >= 0) {
        return fd;
    }
    if (fd != -ENOENT && fd != -ECONNREFUSED && fd != -EAGAIN) {
        error_setg_errno(errp, -fd, "internal: cannot connect to %s",
                         s->sock_path);
        return -1;
    }

    pid = internal_spawn_daemon(s, errp);
    if (!pid) {
        return -1;
    }
    deadline_ms = internal_now_ms() + INTERNAL_START_TIMEOUT_MS;
    for (;;) {
        g_usleep(INTERNAL_SPAWN_POLL_MS * 1000);
        fd = internal_connect(s);
        if (fd >= 0) {
            break;
        }
        if (pid && waitpid(pid, &status, WNOHANG) == pid) {
            trace_internal_helper_exited(pid, status);
            g_spawn_close_pid(pid);
            pid = 0;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                error_setg(errp, "internal: %s failed to start the switch "
                           "of network '%s' (exit status %d)", s->helper,
                           s->network,
                           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                return -1;
            }
        }
        if (internal_now_ms() >= deadline_ms) {
            error_setg_errno(errp, -fd, "internal: started %s, but no "
                             "switch listens at %s after %d s", s->helper,
                             s->sock_path, INTERNAL_START_TIMEOUT_MS / 1000);
            break;
        }
    }
    if (pid) {
        g_child_watch_add(pid, internal_helper_exited, NULL);
    }
    return fd;
}

static int internal_send_hello(InternalState *s)
{
    uint8_t msg[VSW_HDR_LEN + VSW_HELLO_LEN];
    VswHello hello = {
        .version = VSW_VERSION,
        .flags = (s->dhcp_off ? VSW_HELLO_DHCP_OFF : 0) |
                 (s->dup_warn ? VSW_HELLO_DUP_WARN : 0) |
                 VSW_HELLO_BATCH,
        .dhcp_start = ntohl(s->dhcp_start),
        .dhcp_end = ntohl(s->dhcp_end),
    };

    /* "vm-name/netdev-id", cut to fit. */
    snprintf(hello.label, sizeof(hello.label), "%s/%s",
             qemu_name ? qemu_name : "qemu", s->nc.name);
    trace_internal_hello(s->network, hello.label, hello.flags);
    vsw_header_put(msg, VSW_MSG_HELLO, VSW_HELLO_LEN);
    vsw_hello_encode(&hello, msg + VSW_HDR_LEN);
    if (send(s->fd, msg, sizeof(msg), MSG_NOSIGNAL) != sizeof(msg)) {
        return -errno;
    }
    return 0;
}

/*
 * Handle the daemon's WELCOME.  Returns the status; a non-zero status is
 * described in @errp.
 */
static unsigned internal_welcomed(InternalState *s, const uint8_t *payload,
                                  size_t len, Error **errp)
{
    VswReply welcome;
    g_autofree char *text = NULL;
    unsigned status;

    if (!vsw_welcome_decode(payload, len, &welcome)) {
        error_setg(errp, "internal: network '%s': short WELCOME from the "
                   "switch", s->network);
        return VSW_STATUS_BAD_HELLO;
    }
    status = welcome.status;
    text = g_strndup(welcome.text, welcome.text_len);
    trace_internal_welcome(s->network, status, welcome.flags,
                           welcome.port_id);
    if (status != VSW_STATUS_JOINED) {
        error_setg(errp, "internal: the switch of network '%s' refused "
                   "the port: %s%s%s", s->network,
                   internal_status_str(status), *text ? ": " : "", text);
        return status;
    }
    if (welcome.flags & VSW_WELCOME_CONFIG_DIFFERS) {
        warn_report("internal: network '%s' runs with other DHCP settings "
                    "than netdev '%s' asks for; the switch keeps its own%s%s",
                    s->network, s->nc.name, *text ? ": " : "", text);
    }
    s->port_id = welcome.port_id;
    s->batch = welcome.flags & VSW_WELCOME_BATCH;
    s->state = INTERNAL_PORT_JOINED;
    s->joined_at_ms = internal_now_ms();
    timer_del(s->retry_timer);
    internal_set_link(s);
    internal_update_fd_handler(s);
    internal_update_info(s);
    return status;
}

/* The switch threw the port out after it joined. */
static void internal_refused(InternalState *s, const uint8_t *payload,
                             size_t len)
{
    g_autofree char *text = NULL;
    unsigned status = 0;
    VswReply refused;

    if (vsw_refused_decode(payload, len, &refused)) {
        status = refused.status;
        text = g_strndup(refused.text, refused.text_len);
    }
    trace_internal_refused(s->network, status);
    /* Report each refusal once, not every retry of the same one. */
    if (!internal_refusal_streak(s)) {
        error_report("internal: netdev '%s': the switch of network '%s' "
                     "refused the port: %s%s%s; retrying",
                     s->nc.name, s->network, internal_status_str(status),
                     text && *text ? ": " : "", text ? text : "");
    }
    internal_disconnect(s, 0, true);
}

/* The net layer delivered (or purged) one of our queued frames. */
static void internal_rx_drained(NetClientState *nc, ssize_t len)
{
    InternalState *s = DO_UPCAST(InternalState, nc, nc);

    if (s->rx_queued) {
        s->rx_queued--;
    }
    if (s->rx_paused && !s->rx_queued) {
        s->rx_paused = false;
        trace_internal_rx_pause(s->network, false);
        internal_update_fd_handler(s);
    }
}

static void internal_drop(InternalState *s, const char *why, size_t len)
{
    s->drops++;
    trace_internal_drop(s->network, why, len);
}

/*
 * Hand one received frame to the NIC.  When the net layer has to queue
 * it, reading pauses until every queued frame of ours is gone.
 */
static void internal_rx_frame(InternalState *s, const uint8_t *frame,
                              size_t len)
{
    if (qemu_send_packet_async(&s->nc, frame, len,
                               internal_rx_drained) != 0) {
        return;
    }
    /* Queued (copied) at the NIC. */
    s->rx_queued++;
    if (!s->rx_paused) {
        s->rx_paused = true;
        trace_internal_rx_pause(s->network, true);
        internal_update_fd_handler(s);
    }
}

/*
 * The frames of a FRAMES payload, in order.  A malformed record drops
 * the rest of the message.  Returns the frames handed to the NIC.
 */
static unsigned internal_rx_frames(InternalState *s, const uint8_t *payload,
                                   size_t len)
{
    const uint8_t *frame;
    size_t off = 0, frame_len;
    unsigned n = 0;
    int ret;

    while ((ret = vsw_frames_next(payload, len, &off, &frame,
                                  &frame_len)) > 0) {
        internal_rx_frame(s, frame, frame_len);
        n++;
    }
    if (ret < 0) {
        s->drops++;
        trace_internal_rx_bad_frames(s->network, vsw_frames_strerror(ret),
                                     len, off, frame_len);
    }
    return n;
}

/*
 * One message from the daemon.  Returns false when the port went down;
 * adds the frames handed to the NIC to *@frames.
 */
static bool internal_handle_message(InternalState *s, size_t size,
                                    unsigned *frames)
{
    const uint8_t *payload = s->rx_buf + VSW_HDR_LEN;
    uint8_t type;
    size_t len;
    Error *err = NULL;

    if (!vsw_header_get(s->rx_buf, size, &type, &len)) {
        internal_drop(s, "header does not match the message size", size);
        return true;
    }

    switch (type) {
    case VSW_MSG_FRAME:
        if (s->state != INTERNAL_PORT_JOINED) {
            internal_drop(s, "frame before WELCOME", len);
        } else if (len < VSW_FRAME_MIN || len > VSW_FRAME_MAX) {
            internal_drop(s, "frame size out of range", len);
        } else {
            internal_rx_frame(s, payload, len);
            (*frames)++;
        }
        return true;
    case VSW_MSG_FRAMES:
        if (s->state != INTERNAL_PORT_JOINED) {
            internal_drop(s, "frames before WELCOME", len);
        } else if (!s->batch) {
            internal_drop(s, "FRAMES, but batching was not agreed", len);
        } else {
            *frames += internal_rx_frames(s, payload, len);
        }
        return true;
    case VSW_MSG_WELCOME:
        if (s->state != INTERNAL_PORT_HELLO_SENT) {
            internal_drop(s, "unexpected WELCOME", len);
            return true;
        }
        if (internal_welcomed(s, payload, len, &err) != VSW_STATUS_JOINED) {
            if (!internal_refusal_streak(s)) {
                error_report_err(err);
            } else {
                error_free(err);
            }
            internal_disconnect(s, 0, true);
            return false;
        }
        return true;
    case VSW_MSG_REFUSED:
        internal_refused(s, payload, len);
        return false;
    default:
        internal_drop(s, "unknown message type", size);
        return true;
    }
}

static void internal_readable(void *opaque)
{
    InternalState *s = opaque;
    unsigned frames = 0;
    ssize_t size;
    int i;

    for (i = 0; i < INTERNAL_RX_BURST && frames < INTERNAL_RX_FRAME_BURST &&
         s->fd >= 0 && !s->rx_paused; i++) {
        size = recv(s->fd, s->rx_buf, sizeof(s->rx_buf), MSG_DONTWAIT);
        if (size < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                return;
            }
            internal_disconnect(s, errno, false);
            return;
        }
        if (size == 0) {
            /* The daemon is gone: restart it and rejoin. */
            internal_disconnect(s, 0, false);
            return;
        }
        if (!internal_handle_message(s, size, &frames)) {
            return;
        }
    }
}

/*
 * Send the pending batch, if any.  Returns false when the socket is
 * full: the batch stays, tx_blocked is set and the write handler waits
 * for room.  Any other error drops the batch (the read handler sees
 * the connection go).
 */
static bool internal_tx_flush(InternalState *s)
{
    size_t size = VSW_HDR_LEN + s->tx_len;
    ssize_t ret;

    if (!s->tx_frames) {
        return true;
    }
    vsw_header_put(s->tx_msg, VSW_MSG_FRAMES, s->tx_len);
    do {
        ret = send(s->fd, s->tx_msg, size, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (ret < 0 && errno == EINTR);

    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!s->tx_blocked) {
                s->tx_blocked = true;
                trace_internal_tx_blocked(s->network, s->tx_frames,
                                          s->tx_len);
                internal_update_fd_handler(s);
            }
            return false;
        }
        s->drops += s->tx_frames;
        trace_internal_drop(s->network, "transmit error", size);
    } else {
        trace_internal_tx_frames(s->network, s->tx_frames, s->tx_len);
    }
    s->tx_frames = 0;
    s->tx_len = 0;
    return true;
}

/* The NIC's pass of the main loop is over: send what it transmitted. */
static void internal_tx_bh(void *opaque)
{
    InternalState *s = opaque;

    if (s->state == INTERNAL_PORT_JOINED && !s->tx_blocked) {
        internal_tx_flush(s);
    }
}

static void internal_writable(void *opaque)
{
    InternalState *s = opaque;

    /* The batch that did not fit goes first. */
    if (s->batch && !internal_tx_flush(s)) {
        return;
    }
    s->tx_blocked = false;
    internal_update_fd_handler(s);
    qemu_flush_queued_packets(&s->nc);
}

/*
 * A guest frame of @size bytes, batched: append it to the pending
 * batch, sending the batch first when the frame does not fit.  Returns
 * 0 while the socket is full, so that the net layer queues the frame.
 */
static ssize_t internal_tx_batched(InternalState *s, const struct iovec *iov,
                                   int iovcnt, size_t size)
{
    uint8_t *payload = s->tx_msg + VSW_HDR_LEN;
    size_t room = sizeof(s->tx_msg) - VSW_HDR_LEN;
    uint8_t *dst;

    if (s->tx_blocked) {
        return 0;
    }
    dst = vsw_frames_reserve(payload, room, &s->tx_len, size);
    if (!dst) {
        if (!internal_tx_flush(s)) {
            return 0;
        }
        dst = vsw_frames_reserve(payload, room, &s->tx_len, size);
        /* An empty batch takes any frame of a valid size. */
        assert(dst);
    }
    iov_to_buf(iov, iovcnt, 0, dst, size);
    if (!s->tx_frames++) {
        qemu_bh_schedule(s->tx_bh);
    }
    return size;
}

static ssize_t internal_receive_iov(NetClientState *nc,
                                    const struct iovec *iov, int iovcnt)
{
    InternalState *s = DO_UPCAST(InternalState, nc, nc);
    size_t size = iov_size(iov, iovcnt);
    struct iovec msg_iov[1 + INTERNAL_TX_IOV_MAX];
    uint8_t hdr[VSW_HDR_LEN];
    struct msghdr msg = {
        .msg_iov = msg_iov,
    };
    ssize_t ret;

    if (s->state != INTERNAL_PORT_JOINED) {
        internal_drop(s, "transmit while not joined", size);
        return size;
    }
    if (size < VSW_FRAME_MIN || size > VSW_FRAME_MAX) {
        internal_drop(s, "transmit size out of range", size);
        return size;
    }
    if (s->batch) {
        return internal_tx_batched(s, iov, iovcnt, size);
    }
    if (s->tx_blocked) {
        return 0;
    }

    vsw_header_put(hdr, VSW_MSG_FRAME, size);
    msg_iov[0].iov_base = hdr;
    msg_iov[0].iov_len = sizeof(hdr);
    if (iovcnt <= INTERNAL_TX_IOV_MAX) {
        memcpy(&msg_iov[1], iov, iovcnt * sizeof(*iov));
        msg.msg_iovlen = 1 + iovcnt;
    } else {
        iov_to_buf(iov, iovcnt, 0, s->tx_buf, size);
        msg_iov[1].iov_base = s->tx_buf;
        msg_iov[1].iov_len = size;
        msg.msg_iovlen = 2;
    }
    do {
        ret = sendmsg(s->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (ret < 0 && errno == EINTR);

    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* Keep the frame queued until the socket drains. */
            s->tx_blocked = true;
            internal_update_fd_handler(s);
            return 0;
        }
        /* The read handler sees the hang-up and takes the port down. */
        internal_drop(s, "transmit error", size);
    }
    return size;
}

static ssize_t internal_receive(NetClientState *nc, const uint8_t *buf,
                                size_t size)
{
    struct iovec iov = {
        .iov_base = (void *)buf,
        .iov_len = size,
    };

    return internal_receive_iov(nc, &iov, 1);
}

/*
 * The reconnect timer: connect, starting the daemon when its socket is
 * gone, then say HELLO; or give up on a WELCOME that does not come.
 */
static void internal_retry(void *opaque)
{
    InternalState *s = opaque;
    int64_t now_ms = internal_now_ms();
    Error *err = NULL;
    GPid pid;
    int fd;

    if (s->state == INTERNAL_PORT_HELLO_SENT) {
        if (now_ms < s->hello_deadline_ms) {
            internal_arm_retry(s, INTERNAL_RETRY_MS);
            return;
        }
        internal_disconnect(s, ETIMEDOUT, false);
        return;
    }
    if (s->state != INTERNAL_PORT_DOWN) {
        return;
    }

    fd = internal_connect(s);
    if (fd == -ENOENT || fd == -ECONNREFUSED) {
        /* Start the daemon once, then give it time to come up. */
        if (now_ms >= s->spawn_deadline_ms) {
            pid = internal_spawn_daemon(s, &err);
            if (pid) {
                g_child_watch_add(pid, internal_helper_exited, NULL);
            } else {
                warn_report_err(err);
            }
            s->spawn_deadline_ms = now_ms + INTERNAL_START_TIMEOUT_MS;
        }
    }
    if (fd < 0) {
        /* Poll faster while a daemon we started comes up. */
        internal_arm_retry(s, now_ms < s->spawn_deadline_ms ?
                           INTERNAL_SPAWN_POLL_MS : INTERNAL_RETRY_MS);
        return;
    }

    s->fd = fd;
    s->spawn_deadline_ms = 0;
    if (internal_send_hello(s) < 0) {
        internal_disconnect(s, errno, false);
        return;
    }
    s->state = INTERNAL_PORT_HELLO_SENT;
    s->hello_deadline_ms = now_ms + INTERNAL_START_TIMEOUT_MS;
    internal_update_fd_handler(s);
    internal_arm_retry(s, INTERNAL_RETRY_MS);
}

/* Wait at startup for the WELCOME, at most INTERNAL_START_TIMEOUT_MS. */
static bool internal_wait_welcome(InternalState *s, Error **errp)
{
    int64_t deadline_ms = internal_now_ms() + INTERNAL_START_TIMEOUT_MS;
    GPollFD pfd = { .fd = s->fd, .events = G_IO_IN };
    uint8_t type;
    size_t len;
    ssize_t size;
    int64_t left_ms;

    for (;;) {
        left_ms = deadline_ms - internal_now_ms();
        if (left_ms <= 0) {
            error_setg(errp, "internal: the switch of network '%s' did not "
                       "answer within %d s", s->network,
                       INTERNAL_START_TIMEOUT_MS / 1000);
            return false;
        }
        if (g_poll(&pfd, 1, left_ms) < 0) {
            if (errno == EINTR) {
                continue;
            }
            error_setg_errno(errp, errno, "internal: poll");
            return false;
        }
        if (!(pfd.revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))) {
            continue;
        }
        size = recv(s->fd, s->rx_buf, sizeof(s->rx_buf), MSG_DONTWAIT);
        if (size < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (size <= 0) {
            error_setg_errno(errp, size < 0 ? errno : ECONNRESET,
                             "internal: the switch of network '%s' closed "
                             "the connection before WELCOME", s->network);
            return false;
        }
        if (!vsw_header_get(s->rx_buf, size, &type, &len)) {
            continue;
        }
        if (type == VSW_MSG_WELCOME) {
            return internal_welcomed(s, s->rx_buf + VSW_HDR_LEN, len,
                                     errp) == VSW_STATUS_JOINED;
        }
        if (type == VSW_MSG_REFUSED) {
            error_setg(errp, "internal: the switch of network '%s' refused "
                       "the port", s->network);
            return false;
        }
        /* Nothing else is due before WELCOME. */
    }
}

static void internal_cleanup(NetClientState *nc)
{
    InternalState *s = DO_UPCAST(InternalState, nc, nc);

    /*
     * Frames we handed the peer with qemu_send_packet_async() may still
     * wait in its queue, with internal_rx_drained() as their callback:
     * drop them before the state goes.
     */
    qemu_purge_queued_packets(nc);
    if (s->fd >= 0) {
        qemu_set_fd_handler(s->fd, NULL, NULL, NULL);
        close(s->fd);
        s->fd = -1;
    }
    timer_free(s->retry_timer);
    s->retry_timer = NULL;
    qemu_bh_delete(s->tx_bh);
    s->tx_bh = NULL;
    g_free(s->network);
    g_free(s->sock_path);
    g_free(s->helper);
}

static NetClientInfo net_internal_info = {
    .type = NET_CLIENT_DRIVER_INTERNAL,
    .size = sizeof(InternalState),
    .receive = internal_receive,
    .receive_iov = internal_receive_iov,
    .link_status_changed = internal_link_status_changed,
    .cleanup = internal_cleanup,
};

/* Check the options; fills the settings of @opts into the caller's. */
static bool internal_check_options(const NetdevInternalOptions *opts,
                                   uint32_t *dhcp_start, uint32_t *dhcp_end,
                                   Error **errp)
{
    *dhcp_start = 0;
    *dhcp_end = 0;

    if (!vsw_network_name_valid(opts->network)) {
        error_setg(errp, "internal: network name '%s' may only contain "
                   "letters, digits, '_', '.' and '-', must not start "
                   "with '.', and must be 1 to %d characters long",
                   opts->network, VSW_NAME_MAX);
        return false;
    }
    if (opts->dhcp_start || opts->dhcp_end) {
        if (opts->has_dhcp && !opts->dhcp) {
            error_setg(errp, "internal: dhcp-start and dhcp-end need "
                       "dhcp=on");
            return false;
        }
        if (!opts->dhcp_start || !opts->dhcp_end) {
            error_setg(errp, "internal: give dhcp-start and dhcp-end "
                       "together");
            return false;
        }
        if (!internal_parse_ipv4("dhcp-start", opts->dhcp_start, dhcp_start,
                                 errp) ||
            !internal_parse_ipv4("dhcp-end", opts->dhcp_end, dhcp_end,
                                 errp)) {
            return false;
        }
        if (ntohl(*dhcp_start) > ntohl(*dhcp_end)) {
            error_setg(errp, "internal: dhcp-start %s comes after "
                       "dhcp-end %s", opts->dhcp_start, opts->dhcp_end);
            return false;
        }
    }
    if (opts->helper && !*opts->helper) {
        error_setg(errp, "internal: helper may not be empty");
        return false;
    }
    return true;
}

int net_init_internal(const Netdev *netdev, const char *name,
                      NetClientState *peer, Error **errp)
{
    const NetdevInternalOptions *opts;
    g_autofree char *sock_path = NULL;
    struct sockaddr_un addr;
    uint32_t dhcp_start, dhcp_end;
    NetClientState *nc;
    InternalState *s;

    assert(netdev->type == NET_CLIENT_DRIVER_INTERNAL);
    opts = &netdev->u.internal;

    if (!internal_check_options(opts, &dhcp_start, &dhcp_end, errp)) {
        return -1;
    }
    sock_path = internal_socket_path(opts->network);
    if (!sock_path || strlen(sock_path) >= sizeof(addr.sun_path)) {
        error_setg(errp, "internal: the socket path of network '%s' under "
                   "XDG_RUNTIME_DIR=%s is longer than %zu bytes; set "
                   "XDG_RUNTIME_DIR to a shorter directory", opts->network,
                   g_getenv("XDG_RUNTIME_DIR") ?: "", sizeof(addr.sun_path) - 1);
        return -1;
    }

    nc = qemu_new_net_client(&net_internal_info, peer, "internal", name);
    s = DO_UPCAST(InternalState, nc, nc);
    s->network = g_strdup(opts->network);
    s->sock_path = g_steal_pointer(&sock_path);
    s->helper = opts->helper ? g_strdup(opts->helper) :
        internal_find_helper();
    s->dhcp_off = opts->has_dhcp && !opts->dhcp;
    s->dhcp_start = dhcp_start;
    s->dhcp_end = dhcp_end;
    s->dup_warn = opts->has_dup_mac &&
        opts->dup_mac == NETDEV_INTERNAL_DUP_MAC_WARN;
    s->fd = -1;
    s->state = INTERNAL_PORT_DOWN;
    s->retry_timer = timer_new_ms(QEMU_CLOCK_REALTIME, internal_retry, s);
    s->tx_bh = qemu_bh_new(internal_tx_bh, s);

    s->fd = internal_connect_or_start(s, errp);
    if (s->fd < 0) {
        goto fail;
    }
    if (internal_send_hello(s) < 0) {
        error_setg_errno(errp, errno, "internal: cannot send HELLO to %s",
                         s->sock_path);
        goto fail;
    }
    s->state = INTERNAL_PORT_HELLO_SENT;
    if (!internal_wait_welcome(s, errp)) {
        goto fail;
    }
    return 0;

fail:
    qemu_del_net_client(nc);
    return -1;
}
