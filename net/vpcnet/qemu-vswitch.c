/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qemu-vswitch: the switch daemon of one internal network.
 *
 * Theory of operation
 *
 * One daemon serves one network NAME.  It takes an flock on NAME.lock
 * (so a second daemon for the network bows out), listens on the
 * SOCK_SEQPACKET socket NAME.sock, and speaks the port protocol of
 * docs/interop/vpcnet-vswitch-protocol.rst with every client: HELLO,
 * WELCOME, then Ethernet frames both ways, one per FRAME message or,
 * on a port that agreed to batching, many per FRAMES message.
 * Switching (learning, aging, flooding, per-port queues, duplicate MACs)
 * and the DHCP hook are the core of switch.c; this file is its I/O: the
 * connections, an epoll loop, signals, timers, when the lease file is
 * written, and --list.  The daemon's other files each do one thing:
 * vswitch-options.c the command line, vswitch-setup.c the socket
 * directory, the lock and the listening socket, daemon-util.c (shared
 * with the other vpcnet daemons) logging and daemonizing.
 *
 * A connection is in one of three states:
 *   HELLO    accepted; its first message must arrive within
 *            HELLO_TIMEOUT_MS and be a HELLO (it joins, or is told why
 *            not) or a LIST request;
 *   JOINED   a port of the switch: messages are read in batches of up
 *            to RX_BATCH (recvmmsg) and their frames switched at once;
 *   LISTING  a --list client, fed its text as the socket takes it.
 * Every message is checked before use: its size against the header, the
 * header against the message type, a FRAME's length against the frame
 * limits, every record of a FRAMES payload (vsw_frames_next()) against
 * the payload; a message that fails is a protocol error, counted and
 * logged, and the connection is closed.  So is FRAMES from a port that
 * did not ask for batching.  The receive buffers hold RX_BATCH messages
 * of the largest size, allocated once.
 *
 * Batching: a port whose HELLO says VSW_HELLO_BATCH gets a WELCOME with
 * VSW_WELCOME_BATCH, and from then on may send FRAMES and receives only
 * FRAMES.  The choice is per port and made on output: a frame from a
 * batched port to a port without batching goes out as one FRAME
 * message, and frames of FRAME messages go to a batched port packed.
 *
 * Output: the core queues frames per port and says when a queue stops
 * being empty; the daemon writes every such queue after each round of
 * input, and also every FLUSH_EVERY frames within a round, so that the
 * hundreds of frames of a few FRAMES messages do not overflow a queue
 * of VSW_PORT_QUEUE while its socket has room.  A port without batching
 * gets one FRAME message per frame, header and frame as two iovecs,
 * TX_BATCH per sendmmsg.  A batched port gets the whole queue in as few
 * FRAMES messages as hold it (VSW_PAYLOAD_MAX bytes each), all in one
 * sendmmsg: per message one iovec for the header, then per frame one for
 * its length prefix and one for its bytes, straight from the queue's
 * slots, with headers and prefixes in small static arrays.  Frames leave
 * the queue only with the message that carried them: a message the
 * socket did not take keeps its frames queued.  A socket that fills up
 * gets EPOLLOUT until its queue drains; meanwhile the core drops what
 * does not fit for that port only.  Port sockets ask for PORT_SOCK_BUF
 * of send and receive buffer, so that a receiver's short stall is
 * absorbed there rather than dropped.  Nothing is allocated per frame
 * or per message.
 *
 * Time: the loop reads the monotonic clock (aging, timeouts) and the
 * wall clock (DHCP leases) once per wake-up.  The daemon exits when no
 * connection has existed for --idle-timeout seconds, or on SIGTERM,
 * SIGINT or SIGHUP, removing its socket first; the lease file stays.
 *
 * Lockdown: the daemon parses what guests wrote, so once it is set up
 * (lock held, lease file loaded, socket listening, event loop made,
 * detached and connected to syslog) and before it reads a single
 * message, it locks itself down for good (vswitch-sandbox.c, applied by
 * sandbox.c): no_new_privs; Landlock, where the kernel has it, leaving
 * it the socket directory only (the lease file's rewrite, the socket's
 * removal at exit), no TCP and no signal to anyone else; and a seccomp
 * allowlist of the calls this loop makes (sockets it already has,
 * epoll, the signalfd, malloc without executable memory, the lease
 * file, syslog), every other call killing the process with SIGSYS.  It
 * cannot execute anything, fork, open a network socket, trace or signal
 * a process, map executable memory nor, under Landlock, open another
 * file of its user.  A kernel without Landlock gets the rest and a log
 * line saying so; --no-sandbox skips it all, for debugging.
 *
 * Limits: VSW_MAX_PORTS ports and MAX_HELLO connections waiting to join;
 * only the daemon's user (and root) may connect, which the socket's mode
 * already ensures and SO_PEERCRED checks again.
 */
#include "net/vpcnet/vswitch-daemon.h"
#include "net/vpcnet/daemon-util.h"
#include "net/vpcnet/switch.h"
#include "net/vpcnet/dhcp-server.h"
#include "net/vpcnet/dhcp-leases.h"
#include "net/vpcnet/ipv4.h"
#include "net/vpcnet/macaddr.h"
#include "net/vpcnet/vswitch-proto.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define RX_BATCH            32      /* messages per recvmmsg */
#define TX_BATCH            64      /* messages per sendmmsg */
#define RX_MSG_MAX          VSW_MSG_MAX
/* Frames switched between two flushes of the output queues. */
#define FLUSH_EVERY         (VSW_PORT_QUEUE / 2)
/* SO_SNDBUF and SO_RCVBUF of a port (the kernel caps them). */
#define PORT_SOCK_BUF       (1 << 20)
#define MAX_HELLO           16      /* connections not joined yet */
#define MAX_CONNS           (VSW_MAX_PORTS + MAX_HELLO)
#define MAX_EVENTS          64
#define ACCEPT_BATCH        16
#define HELLO_TIMEOUT_MS    5000
#define LIST_TIMEOUT_MS     5000
/* How long after a DHCP table change the lease file is written. */
#define LEASE_SAVE_DELAY_MS 1000
#define LIST_CHUNK          4000    /* text bytes per LIST reply */
#define TEXT_MAX            160     /* WELCOME and REFUSED text */

typedef enum ConnState {
    CONN_HELLO,
    CONN_JOINED,
    CONN_LISTING,
} ConnState;

/**
 * Conn - one client connection.
 * @fd: its socket.
 * @state: see the theory of operation.
 * @port: the switch port, while JOINED.
 * @port_id: the port's id, kept for log lines after it is gone.
 * @batch: the port agreed to FRAMES messages (VSW_WELCOME_BATCH).
 * @label: the client's name for the port (printable, NUL-terminated).
 * @deadline_ms: HELLO and LISTING must be done by then (monotonic).
 * @dead: closed at the end of this loop iteration.
 * @epollout: EPOLLOUT is armed.
 * @flush: on the daemon's flush list.
 * @list_text: LISTING: the text to send (allocated).
 * @list_len: its length.
 * @list_off: how much of it went out.
 * @list_done: the terminating empty LIST went out.
 */
typedef struct Conn {
    int fd;
    ConnState state;
    VswPort *port;
    uint32_t port_id;
    bool batch;
    char label[VSW_LABEL_MAX + 1];
    int64_t deadline_ms;
    bool dead;
    bool epollout;
    bool flush;
    char *list_text;
    size_t list_len;
    size_t list_off;
    bool list_done;
} Conn;

/**
 * Daemon - the daemon's state.
 * @opt: the options.
 * @paths: the network's files.
 * @dhcp_cfg: the DHCP server's configuration (range, server MAC).
 * @dhcp: the DHCP server, NULL with --dhcp off.
 * @leases: its lease file (NAME.leases), NULL with --dhcp off.
 * @lease_save_ms: when the lease file is written next (the table went
 *                 dirty LEASE_SAVE_DELAY_MS before), 0 when not due.
 * @sw: the switch.
 * @epfd: the epoll instance.
 * @listen_fd: the listening socket.
 * @signal_fd: SIGTERM, SIGINT and SIGHUP.
 * @lock_fd: NAME.lock, flocked.
 * @conns: the connections, @n_conns of them, densely packed.
 * @n_conns: how many.
 * @n_hello: of them, in state HELLO.
 * @flush_list: connections whose queue went non-empty this round.
 * @n_flush: how many.
 * @since_flush: frames switched since the flush list was last written.
 * @now_ms: monotonic milliseconds, read once per wake-up.
 * @start_ms: @now_ms at startup.
 * @idle_since_ms: when @n_conns last dropped to 0.
 * @accepting: the listening socket is watched (see update_accepting()).
 * @quit: leave the loop.
 * @protocol_errors: connections closed for a protocol error.
 * @refused_peers: connections from other users, closed at once.
 * @connections: connections accepted.
 */
typedef struct Daemon {
    VswitchOptions opt;
    VswitchPaths paths;
    VpcDhcpConfig dhcp_cfg;
    VpcDhcpServer *dhcp;
    VpcDhcpLeaseFile *leases;
    int64_t lease_save_ms;
    VswSwitch *sw;
    int epfd;
    int listen_fd;
    int signal_fd;
    int lock_fd;
    Conn *conns[MAX_CONNS];
    unsigned n_conns;
    unsigned n_hello;
    Conn *flush_list[MAX_CONNS];
    unsigned n_flush;
    unsigned since_flush;
    int64_t now_ms;
    int64_t start_ms;
    int64_t idle_since_ms;
    bool accepting;
    bool quit;
    uint64_t protocol_errors;
    uint64_t refused_peers;
    uint64_t connections;
} Daemon;

/* Tags of the two epoll sources that are not connections. */
static char listen_tag, signal_tag;

/* Receive buffers of one recvmmsg batch. */
static uint8_t rx_buf[RX_BATCH][RX_MSG_MAX];

static Daemon daemon_state = {
    .epfd = -1, .listen_fd = -1, .signal_fd = -1, .lock_fd = -1,
};

static void update_time(Daemon *d)
{
    d->now_ms = vpc_monotonic_ms();
    vsw_set_time(d->sw, d->now_ms / 1000, time(NULL));
}

/*
 * The lease file is written a short while after the DHCP table changed,
 * so that a burst of DHCP traffic costs one fsync, not one per packet;
 * at most that while of bindings is lost when the daemon is killed.
 */
static void schedule_lease_save(Daemon *d)
{
    if (d->dhcp && !d->lease_save_ms && vpc_dhcp_server_dirty(d->dhcp)) {
        d->lease_save_ms = d->now_ms + LEASE_SAVE_DELAY_MS;
    }
}

static void save_leases(Daemon *d)
{
    d->lease_save_ms = 0;
    if (d->dhcp && vpc_dhcp_server_dirty(d->dhcp)) {
        vpc_dhcp_lease_file_save(d->leases, d->dhcp, time(NULL));
    }
}

/* Messages. */

/* Send one message of @type with a payload in one or two pieces. */
static int send_msg(int fd, uint8_t type, const void *a, size_t a_len,
                    const void *b, size_t b_len)
{
    uint8_t hdr[VSW_HDR_LEN];
    struct iovec iov[3] = {
        { .iov_base = hdr, .iov_len = sizeof(hdr) },
        { .iov_base = (void *)a, .iov_len = a_len },
        { .iov_base = (void *)b, .iov_len = b_len },
    };
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3 };
    ssize_t n;

    vsw_header_put(hdr, type, a_len + b_len);
    do {
        n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

static int send_welcome(int fd, uint16_t status, uint16_t flags,
                        uint32_t port_id, const char *text)
{
    uint8_t w[VSW_WELCOME_LEN];

    vsw_welcome_encode(status, flags, port_id, w);
    return send_msg(fd, VSW_MSG_WELCOME, w, sizeof(w), text, strlen(text));
}

static int send_refused(int fd, uint16_t status, const char *text)
{
    uint8_t r[VSW_REFUSED_LEN];

    vsw_refused_encode(status, r);
    return send_msg(fd, VSW_MSG_REFUSED, r, sizeof(r), text, strlen(text));
}

/* Connections. */

static const char *conn_name(const Conn *c, char *buf, size_t size)
{
    if (c->state == CONN_JOINED || c->port_id) {
        snprintf(buf, size, "port %" PRIu32 " (%s)", c->port_id, c->label);
    } else {
        snprintf(buf, size, "connection %d", c->fd);
    }
    return buf;
}

/* Close @c at the end of this round; its port goes now. */
static void conn_kill(Daemon *d, Conn *c)
{
    if (c->dead) {
        return;
    }
    c->dead = true;
    if (c->port) {
        vsw_port_remove(d->sw, c->port);
        c->port = NULL;
    }
}

static void protocol_error(Daemon *d, Conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void protocol_error(Daemon *d, Conn *c, const char *fmt, ...)
{
    char name[64];
    char why[128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    d->protocol_errors++;
    vpc_log("%s: protocol error: %s; closing",
            conn_name(c, name, sizeof(name)), why);
    conn_kill(d, c);
}

static void conn_set_epollout(Daemon *d, Conn *c, bool on)
{
    struct epoll_event ev = {
        .events = EPOLLIN | (on ? EPOLLOUT : 0),
        .data.ptr = c,
    };

    if (c->epollout == on) {
        return;
    }
    if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        vpc_log("epoll_ctl: %s", strerror(errno));
        conn_kill(d, c);
        return;
    }
    c->epollout = on;
}

static void conn_free(Daemon *d, Conn *c)
{
    unsigned i;

    for (i = 0; i < d->n_conns; i++) {
        if (d->conns[i] == c) {
            d->conns[i] = d->conns[--d->n_conns];
            break;
        }
    }
    if (c->state == CONN_HELLO) {
        d->n_hello--;
    }
    if (c->port) {
        vsw_port_remove(d->sw, c->port);
    }
    close(c->fd);
    free(c->list_text);
    free(c);
    if (!d->n_conns) {
        d->idle_since_ms = d->now_ms;
    }
}

static void on_queue_ready(void *opaque, void *handle)
{
    Daemon *d = opaque;
    Conn *c = handle;

    if (!c->flush && d->n_flush < MAX_CONNS) {
        c->flush = true;
        d->flush_list[d->n_flush++] = c;
    }
}

static void on_log(void *opaque, const char *msg)
{
    vpc_log("%s", msg);
}

/* A send to @c failed for good with @err: close it. */
static void conn_send_failed(Daemon *d, Conn *c, int err)
{
    if (err != EPIPE && err != ECONNRESET) {
        vpc_log("port %" PRIu32 " (%s): send: %s", c->port_id, c->label,
                strerror(err));
    }
    conn_kill(d, c);
}

/*
 * Send @n messages prepared from the head of @c's queue, message i
 * carrying @msg_frames[i] frames, and release the frames of those that
 * went.  Returns true when the caller may go on with the next ones:
 * all went, or the first could never go (EMSGSIZE, ENOBUFS: it is
 * dropped, the next ones may fit).  False when the socket is full, or
 * the connection failed and was killed.
 */
static bool conn_send_queued(Daemon *d, Conn *c, struct mmsghdr *mmsg,
                             const unsigned *msg_frames, unsigned n)
{
    unsigned i, popped = 0;
    int sent;

    do {
        sent = sendmmsg(c->fd, mmsg, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return false;
        }
        if (errno == EMSGSIZE || errno == ENOBUFS) {
            vsw_port_pop(c->port, msg_frames[0], false);
            return true;
        }
        conn_send_failed(d, c, errno);
        return false;
    }
    for (i = 0; i < (unsigned)sent; i++) {
        popped += msg_frames[i];
    }
    vsw_port_pop(c->port, popped, true);
    return (unsigned)sent == n;
}

/*
 * Write what waits in the queue of a port without batching: one FRAME
 * message per frame, TX_BATCH messages per sendmmsg.
 */
static void conn_flush_frame(Daemon *d, Conn *c)
{
    static uint8_t hdr[TX_BATCH][VSW_HDR_LEN];
    static struct iovec iov[TX_BATCH][2];
    static struct mmsghdr mmsg[TX_BATCH];
    static unsigned msg_frames[TX_BATCH];
    const uint8_t *frame;
    size_t len;
    unsigned n, i;

    while (c->port && (n = vsw_port_queue_len(c->port)) > 0) {
        if (n > TX_BATCH) {
            n = TX_BATCH;
        }
        for (i = 0; i < n; i++) {
            vsw_port_peek(c->port, i, &frame, &len);
            vsw_header_put(hdr[i], VSW_MSG_FRAME, len);
            iov[i][0].iov_base = hdr[i];
            iov[i][0].iov_len = VSW_HDR_LEN;
            iov[i][1].iov_base = (void *)frame;
            iov[i][1].iov_len = len;
            memset(&mmsg[i], 0, sizeof(mmsg[i]));
            mmsg[i].msg_hdr.msg_iov = iov[i];
            mmsg[i].msg_hdr.msg_iovlen = 2;
            msg_frames[i] = 1;
        }
        if (!conn_send_queued(d, c, mmsg, msg_frames, n)) {
            break;
        }
    }
}

/*
 * Write what waits in the queue of a batched port: as few FRAMES
 * messages as hold it, each up to VSW_PAYLOAD_MAX bytes, all of them in
 * one sendmmsg.  The iovecs point straight into the queue's slots; only
 * the headers and length prefixes live here.  A message either goes
 * whole or not at all (SOCK_SEQPACKET), so the frames of the messages
 * that did not go stay queued for the next try.
 */
static void conn_flush_frames(Daemon *d, Conn *c)
{
    static uint8_t hdr[TX_BATCH][VSW_HDR_LEN];
    static uint8_t prefix[VSW_PORT_QUEUE][VSW_FRAMES_PREFIX_LEN];
    static struct iovec iov[TX_BATCH + 2 * VSW_PORT_QUEUE];
    static struct mmsghdr mmsg[TX_BATCH];
    static unsigned msg_frames[TX_BATCH];
    VswFramesIov m;
    const uint8_t *frame;
    size_t len, iov_used, iov_room;
    unsigned q, f, n;
    int added;

    while (c->port && (q = vsw_port_queue_len(c->port)) > 0) {
        f = 0;
        n = 0;
        iov_used = 0;
        while (f < q && n < TX_BATCH) {
            iov_room = sizeof(iov) / sizeof(iov[0]) - iov_used;
            vsw_frames_iov_init(&m, hdr[n], &iov[iov_used],
                                iov_room < IOV_MAX ? iov_room : IOV_MAX,
                                &prefix[f], VSW_PORT_QUEUE - f);
            added = 1;
            while (f < q && vsw_port_peek(c->port, f, &frame, &len)) {
                added = vsw_frames_iov_add(&m, frame, len);
                if (added <= 0) {
                    break;
                }
                f++;
            }
            if (m.frames) {
                vsw_frames_iov_finish(&m);
                memset(&mmsg[n], 0, sizeof(mmsg[n]));
                mmsg[n].msg_hdr.msg_iov = m.iov;
                mmsg[n].msg_hdr.msg_iovlen = m.iovcnt;
                msg_frames[n] = m.frames;
                iov_used += m.iovcnt;
                n++;
            }
            /* A full message (0) goes on to the next one. */
            if (added < 0 || !m.frames) {
                break;
            }
        }
        if (!n) {
            /*
             * The oldest frame has a length no message may carry; the
             * core never queues one, but do not spin on it.
             */
            vsw_port_pop(c->port, 1, false);
            continue;
        }
        if (!conn_send_queued(d, c, mmsg, msg_frames, n)) {
            break;
        }
    }
}

/*
 * Write what waits in @c's queue.  Stops when the socket is full, and
 * leaves EPOLLOUT armed exactly while something is left.
 */
static void conn_flush(Daemon *d, Conn *c)
{
    if (c->batch) {
        conn_flush_frames(d, c);
    } else {
        conn_flush_frame(d, c);
    }
    if (c->port) {
        conn_set_epollout(d, c, vsw_port_queue_len(c->port) > 0);
    }
}

/* Write every queue that went non-empty since the last time. */
static void flush_all(Daemon *d)
{
    unsigned i;

    for (i = 0; i < d->n_flush; i++) {
        Conn *c = d->flush_list[i];

        c->flush = false;
        if (!c->dead) {
            conn_flush(d, c);
        }
    }
    d->n_flush = 0;
    d->since_flush = 0;
}

/* Network full and duplicate MAC refusals name the network's settings. */
static void describe_config(const Daemon *d, char *buf, size_t size)
{
    char a[VPC_IPV4_ADDR_STRLEN], b[VPC_IPV4_ADDR_STRLEN];

    if (d->opt.dhcp_off) {
        snprintf(buf, size, "dhcp=off");
        return;
    }
    vpc_ipv4_format(d->dhcp_cfg.range_start, a);
    vpc_ipv4_format(d->dhcp_cfg.range_end, b);
    snprintf(buf, size, "dhcp=on, range %s-%s, lease %" PRIu32 " s", a, b,
             d->dhcp_cfg.lease_time);
}

/* Whether the settings a HELLO asks for differ from ours. */
static bool hello_config_differs(const Daemon *d, uint16_t flags,
                                 uint32_t start, uint32_t end)
{
    VpcDhcpConfig def;

    vpc_dhcp_config_init(&def);
    if (!!(flags & VSW_HELLO_DHCP_OFF) != d->opt.dhcp_off) {
        return true;
    }
    if (d->opt.dhcp_off) {
        return false;
    }
    return (start ? start : def.range_start) != d->dhcp_cfg.range_start ||
           (end ? end : def.range_end) != d->dhcp_cfg.range_end;
}

/*
 * Room for a burst in the port's socket: a receiver that stalls for a
 * moment should not make the daemon drop.  The kernel caps the sizes
 * (net.core.wmem_max, rmem_max); what it grants is good enough.
 */
static void set_port_buffers(int fd)
{
    int size = PORT_SOCK_BUF;

    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* A HELLO: join, or say why not. */
static void handle_hello(Daemon *d, Conn *c, const uint8_t *p, size_t len)
{
    char text[TEXT_MAX];
    char config[96];
    VswHello hello;
    bool differs;

    if (!vsw_hello_decode(p, len, &hello) || hello.version != VSW_VERSION) {
        d->protocol_errors++;
        vpc_log("connection %d: bad HELLO (%zu bytes, version %u)", c->fd,
                len, len == VSW_HELLO_LEN ? (unsigned)hello.version : 0u);
        snprintf(text, sizeof(text), "bad hello: this is qemu-vswitch "
                 "protocol version %d, hello of %d bytes", VSW_VERSION,
                 VSW_HELLO_LEN);
        send_welcome(c->fd, VSW_STATUS_BAD_HELLO, 0, 0, text);
        conn_kill(d, c);
        return;
    }
    snprintf(c->label, sizeof(c->label), "%s", hello.label);

    c->port = vsw_port_add(d->sw, c, c->label,
                           hello.flags & VSW_HELLO_DUP_WARN ? VSW_PORT_DUP_WARN
                                                      : 0);
    if (!c->port) {
        vpc_log("connection %d (%s) refused: network full (%u ports)",
                c->fd, c->label, vsw_port_count(d->sw));
        snprintf(text, sizeof(text), "network %s is full (%d ports)",
                 d->opt.network, VSW_MAX_PORTS);
        send_welcome(c->fd, VSW_STATUS_FULL, 0, 0, text);
        conn_kill(d, c);
        return;
    }
    c->port_id = vsw_port_id(c->port);
    c->state = CONN_JOINED;
    c->batch = hello.flags & VSW_HELLO_BATCH;
    d->n_hello--;
    set_port_buffers(c->fd);

    differs = hello_config_differs(d, hello.flags, hello.dhcp_start,
                                   hello.dhcp_end);
    describe_config(d, config, sizeof(config));
    if (differs) {
        snprintf(text, sizeof(text), "network %s keeps its settings: %s",
                 d->opt.network, config);
    } else {
        snprintf(text, sizeof(text), "joined network %s (%s)",
                 d->opt.network, config);
    }
    vpc_log("port %" PRIu32 " (%s) joined%s%s", c->port_id, c->label,
            c->batch ? ", batched" : "",
            differs ? "; it asked for other settings" : "");
    if (send_welcome(c->fd, VSW_STATUS_JOINED,
                     (differs ? VSW_WELCOME_CONFIG_DIFFERS : 0) |
                     (c->batch ? VSW_WELCOME_BATCH : 0), c->port_id,
                     text) < 0) {
        conn_kill(d, c);
    }
}

/* The LIST text: the network, its ports, its leases, its counters. */

static void list_lease(void *opaque, const VpcDhcpLeaseInfo *l)
{
    FILE *f = opaque;
    time_t now = time(NULL);
    char ip[VPC_IPV4_ADDR_STRLEN], mac[VPC_MAC_STRLEN];
    long long left = (long long)l->expires - (long long)now;

    vpc_ipv4_format(l->addr, ip);
    vpc_mac_format(l->mac, mac);
    fprintf(f, "  %-15s  %s  %-8s  %s %lld s%s%s%s\n", ip, mac,
            vpc_dhcp_lease_state_name(l->state),
            left >= 0 ? "expires in" : "ended", left >= 0 ? left : -left,
            l->reserved ? "  reserved" : "",
            l->hostname[0] ? "  host " : "", l->hostname);
}

static char *list_text(Daemon *d, size_t *len)
{
    const VswStats *st = vsw_stats(d->sw);
    char *text = NULL;
    char config[96], mac[18];
    unsigned i;
    FILE *f;

    f = open_memstream(&text, len);
    if (!f) {
        return NULL;
    }
    describe_config(d, config, sizeof(config));
    fprintf(f, "network %s: pid %ld, up %" PRId64 " s, %s, "
            "idle timeout %u s\n", d->opt.network, (long)getpid(),
            (d->now_ms - d->start_ms) / 1000, config, d->opt.idle_timeout);
    fprintf(f, "ports: %u\n", vsw_port_count(d->sw));
    fprintf(f, "  %-5s  %-32s  %-17s  %10s  %10s  %8s\n", "id", "label",
            "mac", "rx", "tx", "drops");
    for (i = 0; i < vsw_port_count(d->sw); i++) {
        const VswPort *p = vsw_port_at(d->sw, i);
        const VswPortStats *ps = vsw_port_stats(p);
        uint8_t addr[6];

        if (vsw_port_mac(p, addr)) {
            vpc_mac_format(addr, mac);
        } else {
            snprintf(mac, sizeof(mac), "-");
        }
        fprintf(f, "  %-5" PRIu32 "  %-32s  %-17s  %10" PRIu64 "  %10"
                PRIu64 "  %8" PRIu64 "%s%s\n", vsw_port_id(p),
                vsw_port_label(p), mac, ps->rx_frames, ps->tx_frames,
                ps->queue_drops + ps->tx_errors,
                ((Conn *)vsw_port_handle(p))->batch ? "  batched" : "",
                ps->dup_warned ? "  duplicate MAC" : "");
    }
    if (d->dhcp) {
        fprintf(f, "leases:\n");
        vpc_dhcp_server_foreach_lease(d->dhcp, time(NULL), list_lease, f);
    }
    fprintf(f, "counters: frames %" PRIu64 ", flooded %" PRIu64
            ", unicast %" PRIu64 ", queue drops %" PRIu64
            ", dhcp %" PRIu64 ", duplicate MACs refused %" PRIu64
            ", protocol errors %" PRIu64 "\n", st->frames, st->flooded,
            st->unicast, st->queue_drops, st->dhcp_consumed,
            st->dup_refused, d->protocol_errors);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/*
 * Feed a LISTING connection: chunks of text, each one LIST message, then
 * an empty LIST; then it is closed.
 */
static void conn_list_flush(Daemon *d, Conn *c)
{
    size_t n;
    int ret;

    while (!c->list_done) {
        n = c->list_len - c->list_off;
        if (n > LIST_CHUNK) {
            n = LIST_CHUNK;
        }
        ret = send_msg(c->fd, VSW_MSG_LIST, c->list_text + c->list_off, n,
                       NULL, 0);
        if (ret == -EAGAIN) {
            conn_set_epollout(d, c, true);
            return;
        }
        if (ret < 0) {
            break;
        }
        if (!n) {
            c->list_done = true;
        }
        c->list_off += n;
    }
    conn_kill(d, c);
}

static void handle_list(Daemon *d, Conn *c)
{
    /* What --list shows is what a restarted daemon would load. */
    save_leases(d);
    c->list_text = list_text(d, &c->list_len);
    if (!c->list_text) {
        vpc_log("connection %d: no memory for the list", c->fd);
        conn_kill(d, c);
        return;
    }
    c->state = CONN_LISTING;
    d->n_hello--;
    c->deadline_ms = d->now_ms + LIST_TIMEOUT_MS;
    conn_list_flush(d, c);
}

/*
 * Check the header of a message of @n bytes; returns its type, or -1
 * after a protocol error.
 */
static int check_header(Daemon *d, Conn *c, const uint8_t *msg, size_t n,
                        bool truncated)
{
    uint8_t type;
    size_t len;

    if (truncated) {
        protocol_error(d, c, "message over %d bytes", RX_MSG_MAX);
        return -1;
    }
    if (!vsw_header_get(msg, n, &type, &len)) {
        protocol_error(d, c, "message of %zu bytes with a header that does "
                       "not match its size", n);
        return -1;
    }
    return type;
}

/* The first message of a connection. */
static void conn_read_hello(Daemon *d, Conn *c)
{
    struct iovec iov = { .iov_base = rx_buf[0], .iov_len = RX_MSG_MAX };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    char text[TEXT_MAX];
    ssize_t n;
    int type;

    n = recvmsg(c->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            conn_kill(d, c);
        }
        return;
    }
    if (n == 0) {
        /* Gone before saying anything: a probe, not an error. */
        conn_kill(d, c);
        return;
    }
    type = check_header(d, c, rx_buf[0], n, msg.msg_flags & MSG_TRUNC);
    if (type == VSW_MSG_HELLO) {
        handle_hello(d, c, rx_buf[0] + VSW_HDR_LEN, n - VSW_HDR_LEN);
    } else if (type == VSW_MSG_LIST && n == VSW_HDR_LEN) {
        handle_list(d, c);
    } else if (type >= 0) {
        snprintf(text, sizeof(text), "expected HELLO, got message type %d",
                 type);
        send_welcome(c->fd, VSW_STATUS_BAD_HELLO, 0, 0, text);
        protocol_error(d, c, "%s", text);
    }
}

/*
 * Switch one frame from @c.  Returns false when the port was thrown
 * out for a duplicate MAC.  Every FLUSH_EVERY frames the output queues
 * are written, so that a long run of frames from FRAMES messages does
 * not overflow them while their sockets have room.
 */
static bool conn_input(Daemon *d, Conn *c, const uint8_t *frame, size_t len)
{
    char text[TEXT_MAX];
    char mac[VPC_MAC_STRLEN];
    uint8_t addr[6];
    VswPort *owner;

    if (vsw_input(d->sw, c->port, frame, len) == VSW_INPUT_DUP_REFUSED) {
        vsw_port_mac(c->port, addr);
        vpc_mac_format(addr, mac);
        owner = vsw_lookup(d->sw, addr);
        snprintf(text, sizeof(text), "MAC %s is in use on port %" PRIu32
                 " (%s) of network %s", mac,
                 owner ? vsw_port_id(owner) : 0,
                 owner ? vsw_port_label(owner) : "?", d->opt.network);
        send_refused(c->fd, VSW_STATUS_DUP_MAC, text);
        conn_kill(d, c);
        return false;
    }
    if (++d->since_flush >= FLUSH_EVERY) {
        flush_all(d);
    }
    return true;
}

/*
 * The frames of a FRAMES message from @c, in order.  A malformed record
 * is a protocol error; the frames before it have been switched.
 */
static void conn_input_frames(Daemon *d, Conn *c, const uint8_t *p,
                              size_t len)
{
    const uint8_t *frame;
    size_t off = 0, frame_len;
    int ret;

    if (!c->batch) {
        protocol_error(d, c, "FRAMES message, but batching was not "
                       "agreed");
        return;
    }
    while ((ret = vsw_frames_next(p, len, &off, &frame, &frame_len)) > 0) {
        if (!conn_input(d, c, frame, frame_len) || c->dead) {
            return;
        }
    }
    if (ret < 0) {
        protocol_error(d, c, "malformed FRAMES message of %zu bytes: %s "
                       "(record at offset %zu, length %zu)", len,
                       vsw_frames_strerror(ret), off, frame_len);
    }
}

/* A joined port: read a batch of messages and switch their frames. */
static void conn_read_frames(Daemon *d, Conn *c)
{
    static struct mmsghdr mmsg[RX_BATCH];
    static struct iovec iov[RX_BATCH];
    int n, i, type;

    for (i = 0; i < RX_BATCH; i++) {
        iov[i].iov_base = rx_buf[i];
        iov[i].iov_len = RX_MSG_MAX;
        memset(&mmsg[i], 0, sizeof(mmsg[i]));
        mmsg[i].msg_hdr.msg_iov = &iov[i];
        mmsg[i].msg_hdr.msg_iovlen = 1;
    }
    n = recvmmsg(c->fd, mmsg, RX_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            conn_kill(d, c);
        }
        return;
    }
    for (i = 0; i < n && !c->dead; i++) {
        size_t len = mmsg[i].msg_len;
        const uint8_t *m = rx_buf[i];

        if (len == 0) {
            vpc_log("port %" PRIu32 " (%s) left", c->port_id, c->label);
            conn_kill(d, c);
            break;
        }
        type = check_header(d, c, m, len,
                            mmsg[i].msg_hdr.msg_flags & MSG_TRUNC);
        if (type < 0) {
            break;
        }
        len -= VSW_HDR_LEN;
        if (type == VSW_MSG_FRAMES) {
            conn_input_frames(d, c, m + VSW_HDR_LEN, len);
            continue;
        }
        if (type != VSW_MSG_FRAME) {
            protocol_error(d, c, "unexpected message type %d", type);
            break;
        }
        if (len < VSW_FRAME_MIN || len > VSW_FRAME_MAX) {
            protocol_error(d, c, "frame of %zu bytes", len);
            break;
        }
        if (!conn_input(d, c, m + VSW_HDR_LEN, len)) {
            break;
        }
    }
}

/*
 * Watch the listening socket only while a connection could be taken:
 * when MAX_HELLO connections are waiting to join (or MAX_CONNS exist),
 * newcomers wait in the kernel's backlog, as if the daemon were slow,
 * rather than being accepted and closed, which a QEMU starting up would
 * take for a refusal.
 */
static void update_accepting(Daemon *d)
{
    struct epoll_event ev = { .data.ptr = &listen_tag };
    bool room = d->n_hello < MAX_HELLO && d->n_conns < MAX_CONNS;

    if (room == d->accepting) {
        return;
    }
    ev.events = room ? EPOLLIN : 0;
    if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, d->listen_fd, &ev) < 0) {
        vpc_log("epoll_ctl: %s", strerror(errno));
        return;
    }
    d->accepting = room;
}

static void accept_conns(Daemon *d)
{
    struct epoll_event ev = { .events = EPOLLIN };
    struct ucred cred;
    socklen_t cred_len;
    unsigned i;
    Conn *c;
    int fd;

    for (i = 0; i < ACCEPT_BATCH &&
         d->n_hello < MAX_HELLO && d->n_conns < MAX_CONNS; i++) {
        fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED) {
                vpc_log("accept: %s", strerror(errno));
            }
            return;
        }
        /* The socket's mode keeps others out; make sure of it. */
        cred_len = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 ||
            (cred.uid != geteuid() && cred.uid != 0)) {
            d->refused_peers++;
            vpc_log("refused a connection from uid %u", (unsigned)cred.uid);
            close(fd);
            continue;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->state = CONN_HELLO;
        c->deadline_ms = d->now_ms + HELLO_TIMEOUT_MS;
        ev.data.ptr = c;
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            vpc_log("epoll_ctl: %s", strerror(errno));
            close(fd);
            free(c);
            continue;
        }
        d->conns[d->n_conns++] = c;
        d->n_hello++;
        d->connections++;
    }
    update_accepting(d);
}

static void handle_signal(Daemon *d)
{
    struct signalfd_siginfo si;

    if (read(d->signal_fd, &si, sizeof(si)) == sizeof(si)) {
        vpc_log("signal %u: exiting", si.ssi_signo);
        d->quit = true;
    }
}

/* The epoll timeout: the next HELLO, LIST, lease file or idle deadline. */
static int next_timeout(const Daemon *d)
{
    int64_t deadline = INT64_MAX;
    int64_t wait;
    unsigned i;

    for (i = 0; i < d->n_conns; i++) {
        if (d->conns[i]->state != CONN_JOINED &&
            d->conns[i]->deadline_ms < deadline) {
            deadline = d->conns[i]->deadline_ms;
        }
    }
    if (!d->n_conns && d->opt.idle_timeout) {
        int64_t idle = d->idle_since_ms + d->opt.idle_timeout * 1000ll;

        if (idle < deadline) {
            deadline = idle;
        }
    }
    if (d->lease_save_ms && d->lease_save_ms < deadline) {
        deadline = d->lease_save_ms;
    }
    if (deadline == INT64_MAX) {
        return -1;
    }
    wait = deadline - vpc_monotonic_ms();
    return wait < 0 ? 0 : wait > 60000 ? 60000 : (int)wait + 1;
}

static void check_timeouts(Daemon *d)
{
    unsigned i;

    if (d->lease_save_ms && d->now_ms >= d->lease_save_ms) {
        save_leases(d);
    }
    for (i = 0; i < d->n_conns; i++) {
        Conn *c = d->conns[i];

        if (c->state != CONN_JOINED && !c->dead &&
            d->now_ms >= c->deadline_ms) {
            vpc_log("connection %d: %s timed out", c->fd,
                    c->state == CONN_HELLO ? "HELLO" : "LIST");
            conn_kill(d, c);
        }
    }
    if (!d->n_conns && d->opt.idle_timeout &&
        d->now_ms >= d->idle_since_ms + d->opt.idle_timeout * 1000ll) {
        vpc_log("no port for %u s: exiting", d->opt.idle_timeout);
        d->quit = true;
    }
}

static void run(Daemon *d)
{
    struct epoll_event ev[MAX_EVENTS];
    unsigned i;
    int n, k;

    while (!d->quit) {
        n = epoll_wait(d->epfd, ev, MAX_EVENTS, next_timeout(d));
        if (n < 0 && errno != EINTR) {
            vpc_log("epoll_wait: %s", strerror(errno));
            break;
        }
        update_time(d);
        for (k = 0; k < n; k++) {
            Conn *c = ev[k].data.ptr;

            if (ev[k].data.ptr == &listen_tag) {
                accept_conns(d);
                continue;
            }
            if (ev[k].data.ptr == &signal_tag) {
                handle_signal(d);
                continue;
            }
            if (c->dead) {
                continue;
            }
            if (ev[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                switch (c->state) {
                case CONN_HELLO:
                    conn_read_hello(d, c);
                    break;
                case CONN_JOINED:
                    conn_read_frames(d, c);
                    break;
                case CONN_LISTING:
                    /* Nothing more is expected; EOF or junk ends it. */
                    conn_kill(d, c);
                    break;
                }
            }
            if (!c->dead && (ev[k].events & EPOLLOUT)) {
                if (c->state == CONN_LISTING) {
                    conn_list_flush(d, c);
                } else {
                    on_queue_ready(d, c);
                }
            }
        }
        flush_all(d);
        schedule_lease_save(d);
        check_timeouts(d);
        for (i = 0; i < d->n_conns;) {
            if (d->conns[i]->dead) {
                conn_free(d, d->conns[i]);
            } else {
                i++;
            }
        }
        update_accepting(d);
    }
}

/* Setup and teardown. */

static void dhcp_log(void *opaque, const char *msg)
{
    vpc_log("dhcp: %s", msg);
}

static int make_switch(Daemon *d)
{
    VswConfig cfg = {
        .cb = { .queue_ready = on_queue_ready, .log = on_log },
        .opaque = d,
    };
    char err[128];

    if (getrandom(&cfg.hash_seed, sizeof(cfg.hash_seed), GRND_NONBLOCK) !=
        (ssize_t)sizeof(cfg.hash_seed)) {
        cfg.hash_seed = (uint64_t)vpc_monotonic_ms() * 0x9e3779b97f4a7c15ull ^
                        (uint64_t)getpid();
    }
    d->sw = vsw_new(&cfg);
    if (!d->sw) {
        vpc_log("out of memory");
        return -1;
    }
    vpc_dhcp_config_init(&d->dhcp_cfg);
    if (d->opt.dhcp_start) {
        d->dhcp_cfg.range_start = d->opt.dhcp_start;
        d->dhcp_cfg.range_end = d->opt.dhcp_end;
    }
    if (d->opt.lease_time) {
        d->dhcp_cfg.lease_time = d->opt.lease_time;
    }
    d->dhcp_cfg.reservations = d->opt.reserve;
    d->dhcp_cfg.n_reservations = d->opt.n_reserve;
    if (d->opt.dhcp_off) {
        return 0;
    }
    d->dhcp_cfg.log = dhcp_log;
    if (vpc_dhcp_config_check(&d->dhcp_cfg, err, sizeof(err)) < 0) {
        vpc_log("bad DHCP settings: %s", err);
        return -1;
    }
    d->dhcp = vpc_dhcp_server_new(&d->dhcp_cfg);
    if (!d->dhcp) {
        vpc_log("cannot start the DHCP server");
        return -1;
    }
    d->leases = vpc_dhcp_lease_file_new(d->paths.lease_path, dhcp_log, NULL);
    if (!d->leases) {
        vpc_log("cannot use the lease file %s", d->paths.lease_path);
        return -1;
    }
    vpc_dhcp_lease_file_load(d->leases, d->dhcp);
    vsw_set_dhcp(d->sw, d->dhcp, d->dhcp_cfg.server_mac);
    return 0;
}

static int make_loop(Daemon *d)
{
    struct epoll_event ev = { .events = EPOLLIN };
    sigset_t mask;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
        vpc_log("sigprocmask: %s", strerror(errno));
        return -1;
    }
    /* Every send says MSG_NOSIGNAL; this is for what might not. */
    sigaction(SIGPIPE, &(struct sigaction){ .sa_handler = SIG_IGN }, NULL);
    d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (d->signal_fd < 0 || d->epfd < 0) {
        vpc_log("cannot set up the event loop: %s", strerror(errno));
        return -1;
    }
    ev.data.ptr = &signal_tag;
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->signal_fd, &ev) < 0) {
        vpc_log("epoll_ctl: %s", strerror(errno));
        return -1;
    }
    ev.data.ptr = &listen_tag;
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->listen_fd, &ev) < 0) {
        vpc_log("epoll_ctl: %s", strerror(errno));
        return -1;
    }
    d->accepting = true;
    return 0;
}

/* Remove the socket first, so that clients find no stale one. */
static void teardown(Daemon *d)
{
    if (d->listen_fd >= 0) {
        unlink(d->paths.sock_path);
        close(d->listen_fd);
    }
    while (d->n_conns) {
        conn_free(d, d->conns[0]);
    }
    save_leases(d);
    vsw_free(d->sw);
    vpc_dhcp_lease_file_free(d->leases);
    vpc_dhcp_server_free(d->dhcp);
    if (d->epfd >= 0) {
        close(d->epfd);
    }
    if (d->signal_fd >= 0) {
        close(d->signal_fd);
    }
    if (d->lock_fd >= 0) {
        close(d->lock_fd);
    }
}

/* --list: ask the running daemon and print its answer. */
static int do_list(Daemon *d)
{
    static uint8_t buf[VSW_HDR_LEN + 65536];
    struct timeval tv = { .tv_sec = 5 };
    const char *path = d->paths.sock_path;
    uint8_t hdr[VSW_HDR_LEN];
    uint8_t type;
    size_t len;
    ssize_t n;
    int fd;

    vsw_header_put(hdr, VSW_MSG_LIST, 0);

    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        vpc_log("socket: %s", strerror(errno));
        return 1;
    }
    if (vswitch_connect(fd, path) < 0) {
        vpc_log("no qemu-vswitch serves the network (%s: %s)", path,
                strerror(errno));
        close(fd);
        return 1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) != sizeof(hdr)) {
        vpc_log("send: %s", strerror(errno));
        close(fd);
        return 1;
    }
    for (;;) {
        n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0) {
            vpc_log("no answer: %s", strerror(errno));
            break;
        }
        if (!vsw_header_get(buf, n, &type, &len) || type != VSW_MSG_LIST) {
            vpc_log("unexpected answer from the daemon");
            break;
        }
        if (len == 0) {
            close(fd);
            return fflush(stdout) == 0 ? 0 : 1;
        }
        fwrite(buf + VSW_HDR_LEN, 1, len, stdout);
    }
    close(fd);
    return 1;
}

int main(int argc, char **argv)
{
    Daemon *d = &daemon_state;
    VpcSandboxReport sandbox;
    int ready_fd = -1;
    int ret;

    vpc_log_init("qemu-vswitch");
    if (vswitch_parse_options(argc, argv, &d->opt) < 0 ||
        vswitch_compute_paths(d->opt.network, &d->paths) < 0) {
        return 1;
    }
    if (d->opt.list) {
        return do_list(d);
    }
    if (d->opt.daemonize) {
        vpc_daemonize_start(&ready_fd);
    }
    if (vswitch_make_dir(&d->paths) < 0) {
        return 1;
    }
    ret = vswitch_take_lock(&d->paths, &d->lock_fd);
    if (ret) {
        /* Started to serve a network that is served: job done. */
        return ret > 0 && d->opt.daemonize ? 0 : 1;
    }
    d->start_ms = d->now_ms = d->idle_since_ms = vpc_monotonic_ms();
    if (make_switch(d) < 0 ||
        vswitch_make_socket(&d->paths, &d->listen_fd) < 0 ||
        make_loop(d) < 0) {
        teardown(d);
        return 1;
    }
    update_time(d);
    if (ready_fd >= 0) {
        vpc_daemonize_detach();
    }
    if (d->opt.no_sandbox) {
        vpc_log("sandbox: off (--no-sandbox)");
    } else if (vswitch_sandbox(&d->paths, &sandbox) < 0) {
        teardown(d);
        return 1;
    }
    if (ready_fd >= 0) {
        vpc_daemonize_ready(ready_fd);
    } else {
        vpc_log("listening on %s (pid %ld)", d->paths.sock_path,
                (long)getpid());
    }
    run(d);
    teardown(d);
    return 0;
}
