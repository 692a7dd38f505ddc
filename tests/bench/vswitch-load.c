/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vswitch-load: a load generator for make bench-switch.  It joins two
 * ports of a virtual switch, blasts unicast Ethernet frames of one size
 * from the first to the second for a fixed time, and reports what the
 * second received.
 *
 * Theory of operation
 *
 * Three peers, one per way of joining a switch:
 *   vswitch  qemu-vswitch's port protocol (vswitch-proto.h): a
 *            SOCK_SEQPACKET connection per port, HELLO, WELCOME, then
 *            one FRAME message (header and frame) per Ethernet frame,
 *            or with --pack N, batching: both ports ask for it in their
 *            HELLO, the sender packs N frames into each FRAMES message,
 *            and the receiver unpacks the FRAMES the switch sends it;
 *   vde      vde_switch, through libvdeplug (vde_open() does vde's
 *            control-socket handshake); frames then travel as datagrams
 *            on the connected data socket vde_datafd() returns;
 *   mcast    what QEMU's -netdev dgram does with a multicast remote: each
 *            Ethernet frame is one UDP datagram to the group, the port a
 *            socket that joined it.  There is no switch process: this
 *            is the kernel's cost of the transport.
 *
 * Setup: port B (the receiver) first sends one frame from its own MAC to
 * A's, which the switch floods and so learns B; the tool waits until A
 * receives it, proving the path works (for mcast, A sends a probe and B
 * must receive it).  Then a sender thread writes frames from A to B with
 * sendmmsg, --batch messages at a time (each one frame, or --pack frames
 * in one FRAMES), as fast as the socket takes them, while a receiver
 * thread counts the frames that reach B with recvmmsg, unpacking FRAMES
 * record by record.  Both sockets are blocking with a short timeout, so
 * that either thread sees the stop flag soon.
 *
 * Figures: after --seconds the sender stops; the frames B received up to
 * that moment, divided by the elapsed time, are the rate (received, not
 * sent).  B then keeps reading until nothing arrives for DRAIN_IDLE_MS,
 * and whatever was sent but never arrived is a drop (a switch queue, a
 * socket buffer or UDP overflowing).  Gbit/s counts Ethernet frame
 * bytes without FCS, preamble or gap.  The result is one line of
 * key=value pairs on stdout, with the CPU share of the sender, the
 * receiver and (--switch-pid) the switch process while the sender ran,
 * and how long the switch waited for a CPU: on a small machine, who was
 * short of CPU.
 *
 * Limits: one sender, one receiver, one frame size per run; frames are
 * all alike (only their addresses matter to a switch), so a FRAMES
 * message is the same frame --pack times.
 */
#include "net/vpcnet/switch.h"
#include "net/vpcnet/vswitch-proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef CONFIG_VDEPLUG
#include <libvdeplug.h>
#endif

#define BATCH_MAX       256
#define BATCH_DEFAULT   32
#define PACK_MAX        VSW_FRAMES_MAX_RECORDS
#define RX_BATCH        64
#define IO_TIMEOUT_MS   100     /* blocking calls wake up this often */
#define LEARN_WAIT_MS   3000    /* the setup frame must arrive by then */
#define DRAIN_IDLE_MS   300     /* after the run, read until this quiet */
#define DRAIN_MAX_MS    3000
#define ETHERTYPE_BENCH 0x88b5  /* IEEE 802 local experimental */
#define ETH_HLEN        14
#define SIZE_MIN        60      /* the shortest frame without FCS */

typedef enum Peer {
    PEER_VSWITCH,
    PEER_VDE,
    PEER_MCAST,
} Peer;

static const char *const peer_names[] = {
    [PEER_VSWITCH] = "vswitch",
    [PEER_VDE] = "vde",
    [PEER_MCAST] = "mcast",
};

/**
 * Options - the command line.
 * @peer: which kind of switch.
 * @target: vswitch: the network name, or a socket path when it holds a
 *          '/'; vde: vde_switch's control directory; mcast: the group
 *          as ADDR:PORT.
 * @local: mcast: the local address to send from and join on.
 * @size: frame bytes, without FCS.
 * @seconds: how long the sender runs.
 * @batch: messages per sendmmsg.
 * @pack: vswitch: frames per FRAMES message; 0 for FRAME messages.
 * @switch_pid: the switch process whose CPU time to measure, or 0.
 */
typedef struct Options {
    Peer peer;
    const char *target;
    const char *local;
    size_t size;
    double seconds;
    unsigned batch;
    unsigned pack;
    long switch_pid;
} Options;

/**
 * Port - one end: a socket and what is needed to close it.
 * @fd: the socket frames go through.
 * @vde: the libvdeplug connection behind @fd (vde only).
 */
typedef struct Port {
    int fd;
#ifdef CONFIG_VDEPLUG
    VDECONN *vde;
#endif
} Port;

/**
 * Run - what the two threads share.
 * @opt: the options.
 * @tx: port A, the sender.
 * @rx: port B, the receiver.
 * @msg: the message the sender repeats (header and frame, or a FRAMES
 *       message of @msg_frames frames, for vswitch; the bare frame
 *       otherwise), @msg_len bytes.
 * @msg_frames: frames in @msg.
 * @stop_tx: tells the sender to stop.
 * @stop_rx: tells the receiver to stop.
 * @sent: frames the sender wrote.
 * @received: frames from A to B the receiver counted.
 * @other: other frames or messages B got (the setup flood, truncated
 *         or malformed messages).
 * @error: a thread failed; its message is on stderr.
 * @tx_cpu: CPU seconds the sender used.
 * @rx_cpu: CPU seconds the receiver used while the sender ran.
 */
typedef struct Run {
    Options opt;
    Port tx;
    Port rx;
    uint8_t *msg;
    size_t msg_len;
    unsigned msg_frames;
    atomic_bool stop_tx;
    atomic_bool stop_rx;
    atomic_ullong sent;
    atomic_ullong received;
    atomic_ullong other;
    atomic_bool error;
    double tx_cpu;
    double rx_cpu;
} Run;

static const uint8_t mac_a[6] = { 0x02, 0x76, 0x6c, 0x6f, 0x61, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0x76, 0x6c, 0x6f, 0x61, 0x0b };

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                     noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "vswitch-load: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds the calling thread has used. */
static double thread_cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The scheduler's statistics of task @pid (its main thread: both switch
 * daemons have one): seconds on a CPU into @run, seconds runnable but
 * waiting for one into @wait.  False when they cannot be read.
 */
static bool task_sched_s(long pid, double *run, double *wait)
{
    char path[64];
    unsigned long long run_ns, wait_ns;
    FILE *f;
    int n;

    snprintf(path, sizeof(path), "/proc/%ld/schedstat", pid);
    f = fopen(path, "r");
    if (!f) {
        return false;
    }
    n = fscanf(f, "%llu %llu", &run_ns, &wait_ns);
    fclose(f);
    *run = run_ns / 1e9;
    *wait = wait_ns / 1e9;
    return n == 2;
}

static void set_timeouts(int fd, unsigned ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };

    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
        die("SO_RCVTIMEO/SO_SNDTIMEO: %s", strerror(errno));
    }
}

/* An Ethernet frame of @size bytes from @src to @dst. */
static void build_frame(uint8_t *frame, size_t size, const uint8_t *dst,
                        const uint8_t *src)
{
    memset(frame, 0, size);
    memcpy(frame, dst, 6);
    memcpy(frame + 6, src, 6);
    frame[12] = ETHERTYPE_BENCH >> 8;
    frame[13] = ETHERTYPE_BENCH & 0xff;
    memcpy(frame + ETH_HLEN, "vswitch-load", 12);
}

/*
 * The message that carries @frame on @peer's ports into @out, which
 * holds VSW_MSG_MAX bytes: @pack copies of it in one FRAMES message,
 * or with @pack 0 one FRAME (vswitch); the bare frame otherwise.
 * Returns its length.
 */
static size_t frame_msg(Peer peer, unsigned pack, const uint8_t *frame,
                        size_t size, uint8_t *out)
{
    size_t len = 0;
    unsigned i;

    if (peer != PEER_VSWITCH) {
        memcpy(out, frame, size);
        return size;
    }
    if (!pack) {
        vsw_header_put(out, VSW_MSG_FRAME, size);
        memcpy(out + VSW_HDR_LEN, frame, size);
        return VSW_HDR_LEN + size;
    }
    for (i = 0; i < pack; i++) {
        if (!vsw_frames_append(out + VSW_HDR_LEN, VSW_PAYLOAD_MAX, &len,
                               frame, size)) {
            die("%u frames of %zu bytes do not fit in one message", pack,
                size);
        }
    }
    vsw_header_put(out, VSW_MSG_FRAMES, len);
    return VSW_HDR_LEN + len;
}

/*
 * MsgIter - the frames of one message received on a port: the bare
 * frame (vde, mcast), a FRAME's or the records of a FRAMES (vswitch).
 * @peer: the kind of port.
 * @msg: the message, @len bytes.
 * @len: its length.
 * @off: FRAMES: the next record's offset in the payload.
 * @done: the one frame of a non-FRAMES message was returned.
 */
typedef struct MsgIter {
    Peer peer;
    const uint8_t *msg;
    size_t len;
    size_t off;
    bool done;
} MsgIter;

/*
 * The next frame of @it: 1 with @frame and @frame_len set, 0 at the
 * end, -1 when the message is no frame or a malformed FRAMES.
 */
static int msg_next_frame(MsgIter *it, const uint8_t **frame,
                          size_t *frame_len)
{
    uint8_t type;
    size_t plen;
    int ret;

    if (it->peer != PEER_VSWITCH) {
        if (it->done) {
            return 0;
        }
        it->done = true;
        *frame = it->msg;
        *frame_len = it->len;
        return 1;
    }
    if (!vsw_header_get(it->msg, it->len, &type, &plen)) {
        return -1;
    }
    if (type == VSW_MSG_FRAMES) {
        ret = vsw_frames_next(it->msg + VSW_HDR_LEN, plen, &it->off, frame,
                              frame_len);
        return ret < 0 ? -1 : ret;
    }
    if (type != VSW_MSG_FRAME) {
        return -1;
    }
    if (it->done) {
        return 0;
    }
    it->done = true;
    *frame = it->msg + VSW_HDR_LEN;
    *frame_len = plen;
    return 1;
}

/* vswitch: the socket of network @target (a name, or a path). */
static void vswitch_path(const char *target, char *path, size_t size)
{
    char dir[256];

    if (strchr(target, '/')) {
        if (snprintf(path, size, "%s", target) >= (int)size) {
            die("socket path too long: %s", target);
        }
        return;
    }
    if (!vsw_network_name_valid(target)) {
        die("invalid network name: %s", target);
    }
    if (vsw_socket_dir(dir, sizeof(dir), getenv("XDG_RUNTIME_DIR"),
                       geteuid()) < 0 ||
        vsw_network_path(path, size, dir, target, ".sock") < 0) {
        die("socket path too long for network %s", target);
    }
}

/*
 * vswitch: connect to the daemon and join as @label, asking for
 * batching when @batch.
 */
static void vswitch_join(const char *target, const char *label, bool batch,
                         Port *port)
{
    /* A rerun's MACs may still be live on the last run's ports. */
    VswHello hello = {
        .version = VSW_VERSION,
        .flags = VSW_HELLO_DUP_WARN | (batch ? VSW_HELLO_BATCH : 0),
    };
    uint8_t msg[VSW_HDR_LEN + VSW_HELLO_LEN];
    uint8_t reply[VSW_HDR_LEN + 512];
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    VswReply r;
    uint8_t type;
    size_t len;
    ssize_t n;

    vswitch_path(target, addr.sun_path, sizeof(addr.sun_path));
    port->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (port->fd < 0) {
        die("socket: %s", strerror(errno));
    }
    if (connect(port->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        die("connect %s: %s", addr.sun_path, strerror(errno));
    }
    set_timeouts(port->fd, LEARN_WAIT_MS);
    snprintf(hello.label, sizeof(hello.label), "%s", label);
    vsw_header_put(msg, VSW_MSG_HELLO, VSW_HELLO_LEN);
    vsw_hello_encode(&hello, msg + VSW_HDR_LEN);
    if (send(port->fd, msg, sizeof(msg), MSG_NOSIGNAL) != sizeof(msg)) {
        die("send HELLO: %s", strerror(errno));
    }
    n = recv(port->fd, reply, sizeof(reply), 0);
    if (n < 0) {
        die("no WELCOME: %s", strerror(errno));
    }
    if (!vsw_header_get(reply, n, &type, &len) || type != VSW_MSG_WELCOME ||
        !vsw_welcome_decode(reply + VSW_HDR_LEN, len, &r)) {
        die("bad reply to HELLO (%zd bytes)", n);
    }
    if (r.status != VSW_STATUS_JOINED) {
        die("switch refused %s: %s: %.*s", label, vsw_status_name(r.status),
            (int)r.text_len, r.text);
    }
    if (batch && !(r.flags & VSW_WELCOME_BATCH)) {
        die("the switch does not do batching (FRAMES) for %s", label);
    }
}

#ifdef CONFIG_VDEPLUG
static void vde_join(const char *target, const char *label, Port *port)
{
    char url[512];

    snprintf(url, sizeof(url), "vde://%s", target);
    port->vde = vde_open(url, (char *)label, NULL);
    if (!port->vde) {
        die("vde_open %s: %s", url, strerror(errno));
    }
    port->fd = vde_datafd(port->vde);
}
#endif

static double parse_number(const char *opt, const char *text, double min,
                           double max)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (errno || end == text || *end || v < min || v > max) {
        die("%s wants a number from %g to %g, not %s", opt, min, max, text);
    }
    return v;
}

/* mcast: parse ADDR:PORT. */
static void mcast_group(const char *target, struct sockaddr_in *sin)
{
    char host[64];
    const char *colon = strrchr(target, ':');

    if (!colon || colon - target >= (long)sizeof(host)) {
        die("--target for mcast is ADDR:PORT, not %s", target);
    }
    memcpy(host, target, colon - target);
    host[colon - target] = '\0';
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(parse_number("the group's port", colon + 1, 1,
                                       65535));
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
        !IN_MULTICAST(ntohl(sin->sin_addr.s_addr))) {
        die("not a multicast ADDR:PORT: %s", target);
    }
}

/*
 * mcast: A's socket sends to the group from @local (connected, so that
 * sendmmsg needs no address); B's is bound to the group and joins it on
 * @local, as -netdev dgram does.
 */
static void mcast_join(const char *target, const char *local, bool receiver,
                       Port *port)
{
    struct sockaddr_in group;
    struct ip_mreq mreq;
    struct in_addr ifaddr;
    int one = 1;

    mcast_group(target, &group);
    if (inet_pton(AF_INET, local, &ifaddr) != 1) {
        die("not an IPv4 address: %s", local);
    }
    port->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (port->fd < 0) {
        die("socket: %s", strerror(errno));
    }
    if (!receiver) {
        if (setsockopt(port->fd, IPPROTO_IP, IP_MULTICAST_IF, &ifaddr,
                       sizeof(ifaddr)) < 0 ||
            setsockopt(port->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one,
                       sizeof(one)) < 0) {
            die("multicast options: %s", strerror(errno));
        }
        if (connect(port->fd, (struct sockaddr *)&group, sizeof(group)) < 0) {
            die("connect %s: %s", target, strerror(errno));
        }
        return;
    }
    mreq.imr_multiaddr = group.sin_addr;
    mreq.imr_interface = ifaddr;
    if (setsockopt(port->fd, SOL_SOCKET, SO_REUSEADDR, &one,
                   sizeof(one)) < 0 ||
        bind(port->fd, (struct sockaddr *)&group, sizeof(group)) < 0 ||
        setsockopt(port->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq,
                   sizeof(mreq)) < 0) {
        die("join %s on %s: %s", target, local, strerror(errno));
    }
}

static void port_open(const Options *opt, bool receiver, Port *port)
{
    const char *label = receiver ? "vswitch-load/rx" : "vswitch-load/tx";

    memset(port, 0, sizeof(*port));
    switch (opt->peer) {
    case PEER_VSWITCH:
        vswitch_join(opt->target, label, opt->pack > 0, port);
        break;
    case PEER_VDE:
#ifdef CONFIG_VDEPLUG
        vde_join(opt->target, label, port);
        break;
#else
        die("built without libvdeplug (install libvdeplug-dev, reconfigure)");
#endif
    case PEER_MCAST:
        mcast_join(opt->target, opt->local, receiver, port);
        break;
    }
}

static void port_close(Port *port)
{
#ifdef CONFIG_VDEPLUG
    if (port->vde) {
        vde_close(port->vde);
        return;
    }
#endif
    close(port->fd);
}

/*
 * Send one frame from @src_port (MAC @src) to @dst, then wait until
 * @dst_port receives a frame from @src: the switch learned @src and the
 * path works.
 */
static void setup_frame(const Run *run, Port *src_port, const uint8_t *src,
                        Port *dst_port, const uint8_t *dst)
{
    static uint8_t frame[SIZE_MIN], msg[VSW_MSG_MAX];
    static uint8_t buf[VSW_MSG_MAX];
    double deadline = now_s() + LEARN_WAIT_MS / 1000.0;
    const uint8_t *f = NULL;
    size_t len, flen;
    MsgIter it;
    ssize_t n;

    build_frame(frame, sizeof(frame), dst, src);
    len = frame_msg(run->opt.peer, run->opt.pack ? 1 : 0, frame,
                    sizeof(frame), msg);
    set_timeouts(dst_port->fd, IO_TIMEOUT_MS);
    if (send(src_port->fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
        die("send the setup frame: %s", strerror(errno));
    }
    while (now_s() < deadline) {
        n = recv(dst_port->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            die("recv the setup frame: %s", strerror(errno));
        }
        if (n == 0) {
            die("the switch closed the port");
        }
        if (n <= 0) {
            continue;
        }
        it = (MsgIter) { .peer = run->opt.peer, .msg = buf, .len = n };
        while (msg_next_frame(&it, &f, &flen) > 0) {
            if (flen >= ETH_HLEN && !memcmp(f + 6, src, 6)) {
                return;
            }
        }
    }
    die("the setup frame did not arrive within %d ms", LEARN_WAIT_MS);
}

static void *sender(void *opaque)
{
    Run *run = opaque;
    struct mmsghdr mmsg[BATCH_MAX];
    struct iovec iov = { .iov_base = run->msg, .iov_len = run->msg_len };
    unsigned batch = run->opt.batch;
    double cpu0 = thread_cpu_s();
    unsigned i;
    int n;

    memset(mmsg, 0, sizeof(mmsg));
    for (i = 0; i < batch; i++) {
        mmsg[i].msg_hdr.msg_iov = &iov;
        mmsg[i].msg_hdr.msg_iovlen = 1;
    }
    while (!atomic_load_explicit(&run->stop_tx, memory_order_relaxed)) {
        n = sendmmsg(run->tx.fd, mmsg, batch, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS ||
                errno == ECONNREFUSED) {
                continue;
            }
            fprintf(stderr, "vswitch-load: sendmmsg: %s\n", strerror(errno));
            atomic_store(&run->error, true);
            break;
        }
        atomic_fetch_add_explicit(&run->sent, (unsigned long long)n *
                                  run->msg_frames, memory_order_relaxed);
    }
    run->tx_cpu = thread_cpu_s() - cpu0;
    return NULL;
}

static void *receiver(void *opaque)
{
    Run *run = opaque;
    size_t slot = run->opt.pack ? VSW_MSG_MAX : VSW_HDR_LEN + VSW_FRAME_MAX;
    uint8_t *bufs = malloc(RX_BATCH * slot);
    struct mmsghdr mmsg[RX_BATCH];
    struct iovec iov[RX_BATCH];
    unsigned long long got, other;
    const uint8_t *f = NULL;
    double cpu0 = thread_cpu_s();
    bool window = true;
    size_t flen;
    MsgIter it;
    int n, i, ret;

    if (!bufs) {
        fprintf(stderr, "vswitch-load: out of memory\n");
        atomic_store(&run->error, true);
        return NULL;
    }
    memset(mmsg, 0, sizeof(mmsg));
    for (i = 0; i < RX_BATCH; i++) {
        iov[i].iov_base = bufs + i * slot;
        iov[i].iov_len = slot;
        mmsg[i].msg_hdr.msg_iov = &iov[i];
        mmsg[i].msg_hdr.msg_iovlen = 1;
    }
    while (!atomic_load_explicit(&run->stop_rx, memory_order_relaxed)) {
        if (window && atomic_load_explicit(&run->stop_tx,
                                           memory_order_relaxed)) {
            run->rx_cpu = thread_cpu_s() - cpu0;
            window = false;
        }
        n = recvmmsg(run->rx.fd, mmsg, RX_BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            fprintf(stderr, "vswitch-load: recvmmsg: %s\n", strerror(errno));
            atomic_store(&run->error, true);
            break;
        }
        if (n == 0) {
            break;
        }
        got = other = 0;
        for (i = 0; i < n; i++) {
            if (mmsg[i].msg_hdr.msg_flags & MSG_TRUNC) {
                other++;
                continue;
            }
            it = (MsgIter) {
                .peer = run->opt.peer, .msg = iov[i].iov_base,
                .len = mmsg[i].msg_len,
            };
            while ((ret = msg_next_frame(&it, &f, &flen)) > 0) {
                if (flen == run->opt.size && !memcmp(f, mac_b, 6) &&
                    !memcmp(f + 6, mac_a, 6)) {
                    got++;
                } else {
                    other++;
                }
            }
            if (ret < 0) {
                other++;
            }
        }
        atomic_fetch_add_explicit(&run->received, got, memory_order_relaxed);
        atomic_fetch_add_explicit(&run->other, other, memory_order_relaxed);
    }
    free(bufs);
    return NULL;
}

static void sleep_s(double s)
{
    struct timespec ts = { .tv_sec = s, .tv_nsec = (s - (time_t)s) * 1e9 };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        continue;
    }
}

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: vswitch-load --peer vswitch|vde|mcast --target TARGET\n"
        "                    [--size BYTES] [--seconds S] [--batch N]\n"
        "                    [--pack N] [--local ADDR] [--switch-pid PID]\n"
        "       vswitch-load --peers\n"
        "  vswitch: TARGET is the network name (socket under\n"
        "           $XDG_RUNTIME_DIR/vpcnet) or the socket's path\n"
        "  vde:     TARGET is vde_switch's control directory (its -s)\n"
        "  mcast:   TARGET is the group ADDR:PORT, joined on --local\n"
        "           (default 127.0.0.1), as -netdev dgram does\n"
        "Frames of --size bytes without FCS (default 64) go from one port\n"
        "to the other for --seconds (default 5), --batch (default %d)\n"
        "messages per sendmmsg.  vswitch with --pack N (1 to %d): both\n"
        "ports negotiate batching and every message is a FRAMES of N\n"
        "frames (default 0: one FRAME message per frame).  Prints one\n"
        "line of key=value figures; with --switch-pid, also the CPU time\n"
        "the switch process used.\n"
        "--peers lists the peers this build supports.\n",
        BATCH_DEFAULT, PACK_MAX);
}

static void parse_options(int argc, char **argv, Options *opt)
{
    static const struct option longopts[] = {
        { "peer", required_argument, NULL, 'p' },
        { "target", required_argument, NULL, 't' },
        { "local", required_argument, NULL, 'l' },
        { "size", required_argument, NULL, 's' },
        { "seconds", required_argument, NULL, 'd' },
        { "batch", required_argument, NULL, 'b' },
        { "pack", required_argument, NULL, 'k' },
        { "switch-pid", required_argument, NULL, 'P' },
        { "peers", no_argument, NULL, 'L' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool have_peer = false;
    unsigned i;
    int c;

    *opt = (Options) {
        .local = "127.0.0.1", .size = 64, .seconds = 5,
        .batch = BATCH_DEFAULT,
    };
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            for (i = 0; i < sizeof(peer_names) / sizeof(peer_names[0]); i++) {
                if (!strcmp(optarg, peer_names[i])) {
                    opt->peer = i;
                    have_peer = true;
                }
            }
            if (!have_peer) {
                die("unknown --peer %s", optarg);
            }
            break;
        case 't':
            opt->target = optarg;
            break;
        case 'l':
            opt->local = optarg;
            break;
        case 's':
            opt->size = parse_number("--size", optarg, SIZE_MIN, 1514);
            break;
        case 'd':
            opt->seconds = parse_number("--seconds", optarg, 0.1, 3600);
            break;
        case 'b':
            opt->batch = parse_number("--batch", optarg, 1, BATCH_MAX);
            break;
        case 'k':
            opt->pack = parse_number("--pack", optarg, 0, PACK_MAX);
            break;
        case 'P':
            opt->switch_pid = parse_number("--switch-pid", optarg, 1,
                                           1 << 30);
            break;
        case 'L':
            /* The peers this build can drive. */
#ifdef CONFIG_VDEPLUG
            printf("vswitch vde mcast\n");
#else
            printf("vswitch mcast\n");
#endif
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind != argc || !have_peer || !opt->target) {
        usage(stderr);
        exit(2);
    }
    if (opt->pack && opt->peer != PEER_VSWITCH) {
        die("--pack is for --peer vswitch only");
    }
}

int main(int argc, char **argv)
{
    static Run run;
    pthread_t tx_thread, rx_thread;
    uint8_t frame[1514];
    unsigned long long sent, received, window, drops;
    double start, elapsed, drain_start, idle_since, pps;
    double sw_run0, sw_wait0, sw_run, sw_wait;
    bool sw_stats = false;

    parse_options(argc, argv, &run.opt);
    run.msg = malloc(VSW_MSG_MAX);
    if (!run.msg) {
        die("out of memory");
    }
    port_open(&run.opt, true, &run.rx);
    port_open(&run.opt, false, &run.tx);
    if (run.opt.peer == PEER_MCAST) {
        setup_frame(&run, &run.tx, mac_a, &run.rx, mac_b);
    } else {
        setup_frame(&run, &run.rx, mac_b, &run.tx, mac_a);
    }
    set_timeouts(run.tx.fd, IO_TIMEOUT_MS);
    set_timeouts(run.rx.fd, IO_TIMEOUT_MS);
    build_frame(frame, run.opt.size, mac_b, mac_a);
    run.msg_len = frame_msg(run.opt.peer, run.opt.pack, frame, run.opt.size,
                            run.msg);
    run.msg_frames = run.opt.pack ? run.opt.pack : 1;

    if (pthread_create(&rx_thread, NULL, receiver, &run) ||
        pthread_create(&tx_thread, NULL, sender, &run)) {
        die("cannot start threads");
    }
    if (run.opt.switch_pid) {
        sw_stats = task_sched_s(run.opt.switch_pid, &sw_run0, &sw_wait0);
    }
    start = now_s();
    sleep_s(run.opt.seconds);
    atomic_store(&run.stop_tx, true);
    window = atomic_load(&run.received);
    elapsed = now_s() - start;
    if (sw_stats) {
        sw_stats = task_sched_s(run.opt.switch_pid, &sw_run, &sw_wait);
        sw_run -= sw_run0;
        sw_wait -= sw_wait0;
    }
    pthread_join(tx_thread, NULL);
    sent = atomic_load(&run.sent);

    /* Whatever is still in flight is late, not lost. */
    drain_start = idle_since = now_s();
    received = window;
    while (now_s() - idle_since < DRAIN_IDLE_MS / 1000.0 &&
           now_s() - drain_start < DRAIN_MAX_MS / 1000.0 &&
           received < sent) {
        sleep_s(0.02);
        if (atomic_load(&run.received) != received) {
            received = atomic_load(&run.received);
            idle_since = now_s();
        }
    }
    atomic_store(&run.stop_rx, true);
    pthread_join(rx_thread, NULL);
    received = atomic_load(&run.received);
    if (atomic_load(&run.error)) {
        return 1;
    }
    drops = sent > received ? sent - received : 0;
    pps = window / elapsed;
    printf("peer=%s pack=%u size=%zu seconds=%.3f sent=%llu received=%llu "
           "drops=%llu other=%llu pps=%.0f gbps=%.3f drop_pct=%.2f "
           "tx_cpu=%.2f rx_cpu=%.2f",
           peer_names[run.opt.peer], run.opt.pack, run.opt.size, elapsed,
           sent, received,
           drops, (unsigned long long)atomic_load(&run.other), pps,
           pps * run.opt.size * 8 / 1e9, sent ? 100.0 * drops / sent : 0.0,
           run.tx_cpu / elapsed, run.rx_cpu / elapsed);
    if (sw_stats) {
        /* Per frame that came in, whether it made it out or not. */
        printf(" switch_cpu=%.2f switch_wait=%.2f switch_ns_per_frame=%.0f",
               sw_run / elapsed, sw_wait / elapsed,
               sent ? sw_run * 1e9 / sent : 0.0);
    }
    putchar('\n');
    port_close(&run.tx);
    port_close(&run.rx);
    free(run.msg);
    return 0;
}
