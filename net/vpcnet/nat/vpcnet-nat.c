/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet-nat: the NAT translator on a network namespace's tap device,
 * in slirp4netns's calling convention.
 *
 * Theory of operation
 *
 *   vpcnet-nat [options] PID TAPNAME
 *   vpcnet-nat [options] --netns-type=path PATH TAPNAME
 *
 * A child process joins the target network namespace (and its user
 * namespace when given, or when we are not root and the target's differs,
 * as for a rootless container), creates TAPNAME there with IFF_VNET_HDR
 * and TSO/checksum offloads, configures it with --configure (10.0.2.100/24
 * or the --cidr's .100, the MTU, a default route via .2, lo up), passes
 * the tap's descriptor back over a socket pair and exits.  The parent
 * stays in our own namespaces, where the translator's sockets must live,
 * and runs the NAT core (nat.h) on the tap: frames in and out carry a
 * virtio-net header, so the namespace's TCP hands us 64 KiB segments and
 * takes 64 KiB segments back (GSO), at the cost of one system call each.
 *
 * The loop is one epoll set: the tap (read in batches; written until it
 * would block, then the core is told the guest is busy until EPOLLOUT),
 * the descriptors the core watches, a timerfd for the core's timer, the
 * --exit-fd (readable or closed: leave), and SIGINT/SIGTERM.  Readiness
 * is written once to --ready-fd when the tap, its configuration and every
 * --hostfwd are in place.
 *
 * Compared with slirp4netns: the host is closed to the guest by default
 * (--enable-host-loopback maps 10.0.2.2 to the host's loopback; slirp4
 * netns's --disable-host-loopback is accepted and is already the case);
 * port forwards are --hostfwd options in -netdev user's syntax rather
 * than an API socket; IPv6 uses fd00::/64 as slirp4netns does.
 */
#include "net/vpcnet/nat/nat.h"
#include "net/vpcnet/daemon-util.h"
#include "net/vpcnet/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VNET_HDR_LEN        12
#define TAP_READ_BATCH      64
#define TAP_FRAME_MAX       (VNET_HDR_LEN + 14 + 65535 + 4)
#define MAX_EVENTS          64
#define MAX_HOSTFWD         VPC_NAT_MAX_FWDS
#define GUEST_HOST_PART     100

/**
 * Options - what the command line says.
 * @configure: configure the tap in the namespace.
 * @mtu: the tap's MTU.
 * @cidr: the guest network, or NULL for 10.0.2.0/24.
 * @ipv6: serve IPv6.
 * @host_loopback: map the gateway to the host's loopback.
 * @ready_fd: where to say we are ready, or -1.
 * @exit_fd: whose end means exit, or -1.
 * @netns_path: the namespace by path, or NULL (then @pid).
 * @userns_path: a user namespace to join first, or NULL.
 * @pid: the target process, with no @netns_path.
 * @tapname: the tap's name.
 * @hostfwd: forwards, @n_hostfwd of them.
 * @n_hostfwd: see @hostfwd.
 * @max_flows: 0, or the flow table's size.
 * @resolv_conf: NULL, or where the resolvers are listed.
 */
typedef struct Options {
    bool configure;
    unsigned mtu;
    const char *cidr;
    bool ipv6;
    bool host_loopback;
    int ready_fd;
    int exit_fd;
    const char *netns_path;
    const char *userns_path;
    long pid;
    const char *tapname;
    const char *hostfwd[MAX_HOSTFWD];
    unsigned n_hostfwd;
    unsigned max_flows;
    const char *resolv_conf;
} Options;

/**
 * Front - the running translator.
 * @opt: the options.
 * @nat: the core.
 * @epfd: the epoll set.
 * @tap_fd: the tap.
 * @timer_fd: the core's timer.
 * @sig_fd: SIGINT and SIGTERM.
 * @tap_out: EPOLLOUT is armed on the tap.
 * @quit: leave the loop.
 */
typedef struct Front {
    Options opt;
    VpcNat *nat;
    int epfd;
    int tap_fd;
    int timer_fd;
    int sig_fd;
    bool tap_out;
    bool quit;
} Front;

/* Tags of our own epoll sources; anything else is a VpcNatWatch. */
static char tap_tag, timer_tag, exit_tag, sig_tag;
static uint8_t tap_buf[TAP_FRAME_MAX];

/*
 * Which descriptors are in the epoll set, so that turning one on again
 * is one epoll_ctl, not a MOD that fails and an ADD.  The core turns
 * reading off and on once per request/response on a TCP connection.
 */
static uint8_t *in_epoll;
static size_t in_epoll_len;

static void usage(FILE *f)
{
    fprintf(f,
"Usage: vpcnet-nat [OPTION]... PID|--netns-type=path PATH TAPNAME\n"
"User-mode NAT for a network namespace: Virtual PC's Shared Networking,\n"
"in slirp4netns's calling convention.\n"
"\n"
"  -c, --configure            configure TAPNAME: address .100 of the\n"
"                             network, MTU, default route via .2, lo up\n"
"  -m, --mtu N                the tap's MTU, 576 to 65520 (default 1500)\n"
"      --cidr A.B.C.D/N       the guest network (default 10.0.2.0/24)\n"
"  -6, --enable-ipv6          IPv6 too (fd00::/64, router advertisements)\n"
"      --enable-host-loopback the gateway address reaches the host's\n"
"                             loopback (default: the host is closed)\n"
"      --disable-host-loopback  the default; for slirp4netns's scripts\n"
"      --hostfwd RULE         forward a host port: [tcp|udp]:[hostaddr]:\n"
"                             hostport-[guestaddr]:guestport (repeatable)\n"
"  -r, --ready-fd FD          write \"1\" to FD once ready\n"
"  -e, --exit-fd FD           exit when FD becomes readable or closes\n"
"      --netns-type=path      the target is a namespace file, not a PID\n"
"      --userns-path PATH     join this user namespace first\n"
"      --max-flows N          at most N flows (default %u)\n"
"      --resolv-conf PATH     the host's resolvers (/etc/resolv.conf)\n"
"  -h, --help                 this text\n"
"\n"
"The guest's DNS server is .3 of the network, forwarded to the first\n"
"nameserver of the host's resolv.conf.\n", VPC_NAT_DEFAULT_FLOWS);
}

static int parse_uint(const char *text, unsigned long max, unsigned long *v)
{
    uint64_t x;

    if (vpc_parse_u64(text, max, &x) < 0) {
        return -1;
    }
    *v = (unsigned long)x;
    return 0;
}

static int parse_options(int argc, char **argv, Options *opt)
{
    enum {
        OPT_CIDR = 256, OPT_HOST_LOOPBACK, OPT_NO_HOST_LOOPBACK, OPT_HOSTFWD,
        OPT_NETNS_TYPE, OPT_USERNS, OPT_MAX_FLOWS, OPT_RESOLV, OPT_IGNORED,
        OPT_UNSUPPORTED,
    };
    static const struct option longopts[] = {
        { "configure", no_argument, NULL, 'c' },
        { "mtu", required_argument, NULL, 'm' },
        { "cidr", required_argument, NULL, OPT_CIDR },
        { "enable-ipv6", no_argument, NULL, '6' },
        { "enable-host-loopback", no_argument, NULL, OPT_HOST_LOOPBACK },
        { "disable-host-loopback", no_argument, NULL, OPT_NO_HOST_LOOPBACK },
        { "hostfwd", required_argument, NULL, OPT_HOSTFWD },
        { "ready-fd", required_argument, NULL, 'r' },
        { "exit-fd", required_argument, NULL, 'e' },
        { "netns-type", required_argument, NULL, OPT_NETNS_TYPE },
        { "userns-path", required_argument, NULL, OPT_USERNS },
        { "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
        { "resolv-conf", required_argument, NULL, OPT_RESOLV },
        /* slirp4netns's hardening switches: we always run this way. */
        { "enable-sandbox", no_argument, NULL, OPT_IGNORED },
        { "enable-seccomp", no_argument, NULL, OPT_IGNORED },
        { "api-socket", required_argument, NULL, OPT_UNSUPPORTED },
        { "disable-dns", no_argument, NULL, OPT_UNSUPPORTED },
        { "outbound-addr", required_argument, NULL, OPT_UNSUPPORTED },
        { "outbound-addr6", required_argument, NULL, OPT_UNSUPPORTED },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool by_path = false;
    unsigned long v;
    int c, idx;

    opt->mtu = 1500;
    opt->ready_fd = opt->exit_fd = -1;
    while ((c = getopt_long(argc, argv, "+cm:6r:e:h", longopts, &idx)) != -1) {
        switch (c) {
        case 'c':
            opt->configure = true;
            break;
        case 'm':
            if (parse_uint(optarg, VPC_NAT_MTU_MAX, &v) < 0 ||
                v < VPC_NAT_MTU_MIN) {
                vpc_log("--mtu takes %u to %u, not '%s'", VPC_NAT_MTU_MIN,
                        VPC_NAT_MTU_MAX, optarg);
                return -1;
            }
            opt->mtu = (unsigned)v;
            break;
        case OPT_CIDR:
            opt->cidr = optarg;
            break;
        case '6':
            opt->ipv6 = true;
            break;
        case OPT_HOST_LOOPBACK:
            opt->host_loopback = true;
            break;
        case OPT_NO_HOST_LOOPBACK:
            opt->host_loopback = false;
            break;
        case OPT_HOSTFWD:
            if (opt->n_hostfwd == MAX_HOSTFWD) {
                vpc_log("at most %d --hostfwd", MAX_HOSTFWD);
                return -1;
            }
            opt->hostfwd[opt->n_hostfwd++] = optarg;
            break;
        case 'r':
        case 'e':
            if (parse_uint(optarg, INT_MAX, &v) < 0) {
                vpc_log("--%s takes a file descriptor, not '%s'",
                        c == 'r' ? "ready-fd" : "exit-fd", optarg);
                return -1;
            }
            *(c == 'r' ? &opt->ready_fd : &opt->exit_fd) = (int)v;
            break;
        case OPT_NETNS_TYPE:
            if (strcmp(optarg, "path") == 0) {
                by_path = true;
            } else if (strcmp(optarg, "pid") != 0) {
                vpc_log("--netns-type takes path or pid, not '%s'", optarg);
                return -1;
            }
            break;
        case OPT_USERNS:
            opt->userns_path = optarg;
            break;
        case OPT_MAX_FLOWS:
            if (parse_uint(optarg, VPC_NAT_MAX_FLOWS, &v) < 0 || v < 16) {
                vpc_log("--max-flows takes 16 to %u, not '%s'",
                        VPC_NAT_MAX_FLOWS, optarg);
                return -1;
            }
            opt->max_flows = (unsigned)v;
            break;
        case OPT_RESOLV:
            opt->resolv_conf = optarg;
            break;
        case OPT_IGNORED:
            break;
        case OPT_UNSUPPORTED:
            vpc_log("--%s is not supported by vpcnet-nat%s",
                    longopts[idx].name,
                    strcmp(longopts[idx].name, "api-socket") == 0
                    ? ": give port forwards as --hostfwd" : "");
            return -1;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (argc - optind != 2) {
        vpc_log("expected %s TAPNAME", by_path ? "PATH" : "PID");
        usage(stderr);
        return -1;
    }
    if (by_path) {
        opt->netns_path = argv[optind];
    } else if (parse_uint(argv[optind], INT_MAX, &v) < 0 || v == 0) {
        vpc_log("'%s' is not a process id (use --netns-type=path for a "
                "namespace file)", argv[optind]);
        return -1;
    } else {
        opt->pid = (long)v;
    }
    opt->tapname = argv[optind + 1];
    if (!opt->tapname[0] || strlen(opt->tapname) >= IFNAMSIZ) {
        vpc_log("bad tap name '%s'", opt->tapname);
        return -1;
    }
    return 0;
}

/* The child's side: in the target namespace, make and configure the tap. */

static int if_ioctl(int sock, unsigned long req, struct ifreq *ifr,
                    const char *what)
{
    if (ioctl(sock, req, ifr) < 0) {
        vpc_log("%s %s: %s", what, ifr->ifr_name, strerror(errno));
        return -1;
    }
    return 0;
}

static int set_up(int sock, const char *name)
{
    struct ifreq ifr = { 0 };

    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (if_ioctl(sock, SIOCGIFFLAGS, &ifr, "get flags of") < 0) {
        return -1;
    }
    ifr.ifr_flags |= IFF_UP;
    return if_ioctl(sock, SIOCSIFFLAGS, &ifr, "bring up");
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)sa;

    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(addr);
}

static int configure_tap(const Options *opt, const VpcNatConfig *cfg)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = { 0 };
    struct rtentry rt = { 0 };
    int ret = -1;

    if (sock < 0) {
        vpc_log("socket: %s", strerror(errno));
        return -1;
    }
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", opt->tapname);
    ifr.ifr_mtu = (int)opt->mtu;
    if (if_ioctl(sock, SIOCSIFMTU, &ifr, "set the MTU of") < 0) {
        goto out;
    }
    set_sin(&ifr.ifr_addr, cfg->net | GUEST_HOST_PART);
    if (if_ioctl(sock, SIOCSIFADDR, &ifr, "set the address of") < 0) {
        goto out;
    }
    set_sin(&ifr.ifr_netmask, cfg->netmask);
    if (if_ioctl(sock, SIOCSIFNETMASK, &ifr, "set the netmask of") < 0) {
        goto out;
    }
    if (set_up(sock, opt->tapname) < 0 || set_up(sock, "lo") < 0) {
        goto out;
    }
    set_sin(&rt.rt_dst, 0);
    set_sin(&rt.rt_genmask, 0);
    set_sin(&rt.rt_gateway, cfg->host);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = (char *)opt->tapname;
    if (ioctl(sock, SIOCADDRT, &rt) < 0 && errno != EEXIST) {
        vpc_log("add the default route via %s: %s",
                inet_ntoa((struct in_addr){ htonl(cfg->host) }),
                strerror(errno));
        goto out;
    }
    ret = 0;
out:
    close(sock);
    return ret;
}

static int open_tap(const char *name)
{
    struct ifreq ifr = { 0 };
    int hdr = VNET_HDR_LEN;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        vpc_log("cannot open /dev/net/tun: %s", strerror(errno));
        return -1;
    }
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        vpc_log("cannot create the tap %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
        ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
        vpc_log("cannot set the offloads of %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static bool same_ns(const char *a, const char *b)
{
    struct stat sa, sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
           sa.st_dev == sb.st_dev;
}

static int join(const char *path, int type, const char *what)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || setns(fd, type) < 0) {
        vpc_log("cannot join the %s namespace %s: %s", what, path,
                strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    return 0;
}

static int send_fd(int sock, int fd)
{
    char c = 'T';
    struct iovec iov = { .iov_base = &c, .iov_len = 1 };
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = u.buf, .msg_controllen = sizeof(u.buf),
    };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
    char c;
    struct iovec iov = { .iov_base = &c, .iov_len = 1 };
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = u.buf, .msg_controllen = sizeof(u.buf),
    };
    struct cmsghdr *cm;
    int fd = -1;

    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) {
        return -1;
    }
    cm = CMSG_FIRSTHDR(&msg);
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len == CMSG_LEN(sizeof(int))) {
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    }
    return fd;
}

/* In a child: join the namespaces, make the tap, send it back. */
static int make_tap(const Options *opt, const VpcNatConfig *cfg)
{
    char netns[64], userns[64];
    int sv[2], status, fd;
    pid_t pid;

    if (opt->netns_path) {
        snprintf(netns, sizeof(netns), "%.63s", opt->netns_path);
    } else {
        snprintf(netns, sizeof(netns), "/proc/%ld/ns/net", opt->pid);
        snprintf(userns, sizeof(userns), "/proc/%ld/ns/user", opt->pid);
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        vpc_log("socketpair: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        vpc_log("fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        if (opt->userns_path) {
            if (join(opt->userns_path, CLONE_NEWUSER, "user") < 0) {
                _exit(1);
            }
        } else if (!opt->netns_path && geteuid() != 0 &&
                   !same_ns(userns, "/proc/self/ns/user") &&
                   join(userns, CLONE_NEWUSER, "user") < 0) {
            _exit(1);
        }
        if (join(opt->netns_path ? opt->netns_path : netns, CLONE_NEWNET,
                 "network") < 0) {
            _exit(1);
        }
        fd = open_tap(opt->tapname);
        if (fd < 0 || (opt->configure && configure_tap(opt, cfg) < 0) ||
            send_fd(sv[1], fd) < 0) {
            _exit(1);
        }
        _exit(0);
    }
    close(sv[1]);
    fd = recv_fd(sv[0]);
    close(sv[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

/* The core's callbacks */

static void epoll_set(Front *fr, int fd, uint32_t events, void *tag)
{
    struct epoll_event ev = { .events = events, .data.ptr = tag };
    bool known = (size_t)fd < in_epoll_len && in_epoll[fd];

    if ((size_t)fd >= in_epoll_len) {
        size_t len = (size_t)fd * 2 + 64;
        uint8_t *p = realloc(in_epoll, len);

        if (!p) {
            vpc_log("out of memory");
            exit(1);
        }
        memset(p + in_epoll_len, 0, len - in_epoll_len);
        in_epoll = p;
        in_epoll_len = len;
    }
    /* EPOLLHUP and EPOLLERR come even with no events: off is removal. */
    if (!events) {
        if (known) {
            epoll_ctl(fr->epfd, EPOLL_CTL_DEL, fd, NULL);
        }
        in_epoll[fd] = 0;
        return;
    }
    if (epoll_ctl(fr->epfd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
                  &ev) < 0) {
        /* A descriptor closed and reused behind our back: try the other. */
        if (epoll_ctl(fr->epfd, known ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd,
                      &ev) < 0) {
            vpc_log("epoll_ctl: %s", strerror(errno));
            return;
        }
    }
    in_epoll[fd] = 1;
}

static bool cb_send_frame(void *opaque, const struct iovec *iov,
                          unsigned iovcnt, size_t len)
{
    Front *fr = opaque;
    ssize_t n = writev(fr->tap_fd, iov, (int)iovcnt);

    if (n == (ssize_t)len) {
        return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        /* The namespace is not reading: wait until it does. */
        vpc_nat_guest_busy(fr->nat);
        if (!fr->tap_out) {
            fr->tap_out = true;
            epoll_set(fr, fr->tap_fd, EPOLLIN | EPOLLOUT, &tap_tag);
        }
    }
    return false;
}

static void cb_watch(void *opaque, int fd, unsigned events, VpcNatWatch *w)
{
    Front *fr = opaque;

    epoll_set(fr, fd, ((events & VPC_NAT_EV_IN) ? EPOLLIN : 0) |
                      ((events & VPC_NAT_EV_OUT) ? EPOLLOUT : 0), w);
}

static void cb_timer_mod(void *opaque, int64_t deadline_ns)
{
    Front *fr = opaque;
    struct itimerspec its = { 0 };

    if (deadline_ns != INT64_MAX) {
        if (deadline_ns <= 0) {
            deadline_ns = 1;
        }
        its.it_value.tv_sec = deadline_ns / 1000000000ll;
        its.it_value.tv_nsec = deadline_ns % 1000000000ll;
    }
    timerfd_settime(fr->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int64_t cb_clock_ns(void *opaque)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void cb_log(void *opaque, VpcNatLogLevel level, const char *msg)
{
    vpc_log("%s%s", level == VPC_NAT_LOG_ERROR ? "error: " :
                    level == VPC_NAT_LOG_WARNING ? "warning: " : "", msg);
}

static const VpcNatCallbacks callbacks = {
    .send_frame = cb_send_frame,
    .watch = cb_watch,
    .timer_mod = cb_timer_mod,
    .clock_ns = cb_clock_ns,
    .log = cb_log,
};

/* The loop */

static void tap_readable(Front *fr)
{
    for (unsigned i = 0; i < TAP_READ_BATCH; i++) {
        ssize_t n = read(fr->tap_fd, tap_buf, sizeof(tap_buf));

        if (n <= 0) {
            break;
        }
        vpc_nat_input(fr->nat, tap_buf, (size_t)n);
    }
    vpc_nat_input_done(fr->nat);
}

static void run(Front *fr)
{
    struct epoll_event ev[MAX_EVENTS];

    while (!fr->quit) {
        int n = epoll_wait(fr->epfd, ev, MAX_EVENTS, -1);

        if (n < 0 && errno != EINTR) {
            vpc_log("epoll_wait: %s", strerror(errno));
            return;
        }
        for (int i = 0; i < n && !fr->quit; i++) {
            void *tag = ev[i].data.ptr;
            uint32_t e = ev[i].events;

            if (tag == &tap_tag) {
                if (e & EPOLLOUT) {
                    fr->tap_out = false;
                    epoll_set(fr, fr->tap_fd, EPOLLIN, &tap_tag);
                    vpc_nat_guest_ready(fr->nat);
                }
                if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                    tap_readable(fr);
                }
            } else if (tag == &timer_tag) {
                uint64_t ticks;

                if (read(fr->timer_fd, &ticks, sizeof(ticks)) > 0) {
                    vpc_nat_timer(fr->nat);
                }
            } else if (tag == &exit_tag || tag == &sig_tag) {
                fr->quit = true;
            } else {
                unsigned events = 0;

                if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                    events |= VPC_NAT_EV_IN;
                }
                if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
                    events |= VPC_NAT_EV_OUT;
                }
                vpc_nat_ready(tag, events);
            }
        }
    }
}

static int make_loop(Front *fr)
{
    sigset_t mask;

    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    fr->epfd = epoll_create1(EPOLL_CLOEXEC);
    fr->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
                                  TFD_CLOEXEC);
    fr->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fr->epfd < 0 || fr->timer_fd < 0 || fr->sig_fd < 0) {
        vpc_log("cannot set up the event loop: %s", strerror(errno));
        return -1;
    }
    epoll_set(fr, fr->timer_fd, EPOLLIN, &timer_tag);
    epoll_set(fr, fr->sig_fd, EPOLLIN, &sig_tag);
    if (fr->opt.exit_fd >= 0) {
        epoll_set(fr, fr->opt.exit_fd, EPOLLIN, &exit_tag);
    }
    return 0;
}

static int make_config(const Options *opt, VpcNatConfig *cfg)
{
    char err[160];

    vpc_nat_config_init(cfg);
    if (opt->cidr && vpc_nat_config_set_net(cfg, opt->cidr, err,
                                            sizeof(err)) < 0) {
        vpc_log("--cidr: %s", err);
        return -1;
    }
    /* slirp4netns's guest is .100, and so is our first DHCP address. */
    cfg->dhcp_start = cfg->net | GUEST_HOST_PART;
    cfg->ipv6 = opt->ipv6;
    if (vpc_nat_config_set_net6(cfg, "fd00::/64", err, sizeof(err)) < 0) {
        vpc_log("%s", err);
        return -1;
    }
    cfg->host_loopback = opt->host_loopback;
    cfg->mtu = opt->mtu;
    cfg->vnet_hdr_len = VNET_HDR_LEN;
    if (opt->max_flows) {
        cfg->max_flows = opt->max_flows;
    }
    if (opt->resolv_conf) {
        cfg->resolv_conf = opt->resolv_conf;
    }
    if (vpc_nat_config_check(cfg, err, sizeof(err)) < 0) {
        vpc_log("%s", err);
        return -1;
    }
    return 0;
}

/* Room for a flow per descriptor: raise the soft limit to the hard one. */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    Front fr = { .epfd = -1, .tap_fd = -1, .timer_fd = -1, .sig_fd = -1 };
    VpcNatConfig cfg;
    char err[256];
    int flags;

    vpc_log_init("vpcnet-nat");
    if (parse_options(argc, argv, &fr.opt) < 0 ||
        make_config(&fr.opt, &cfg) < 0) {
        return 1;
    }
    raise_nofile();
    fr.tap_fd = make_tap(&fr.opt, &cfg);
    if (fr.tap_fd < 0) {
        return 1;
    }
    flags = fcntl(fr.tap_fd, F_GETFL);
    fcntl(fr.tap_fd, F_SETFL, flags | O_NONBLOCK);
    if (make_loop(&fr) < 0) {
        return 1;
    }
    fr.nat = vpc_nat_new(&cfg, &callbacks, &fr, err, sizeof(err));
    if (!fr.nat) {
        vpc_log("%s", err);
        return 1;
    }
    for (unsigned i = 0; i < fr.opt.n_hostfwd; i++) {
        if (vpc_nat_hostfwd_add(fr.nat, fr.opt.hostfwd[i], err,
                                sizeof(err)) < 0) {
            vpc_log("%s", err);
            vpc_nat_free(fr.nat);
            return 1;
        }
    }
    epoll_set(&fr, fr.tap_fd, EPOLLIN, &tap_tag);
    if (fr.opt.ready_fd >= 0) {
        if (write(fr.opt.ready_fd, "1", 1) != 1) {
            vpc_log("cannot write to --ready-fd: %s", strerror(errno));
        }
        close(fr.opt.ready_fd);
    }
    run(&fr);
    vpc_nat_free(fr.nat);
    return 0;
}
