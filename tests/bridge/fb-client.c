/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fb-client: a stand-in for QEMU on the filter bridge, for the namespace
 * tests and the benchmark.
 *
 * It does what -netdev filter-bridge does with the privileged helper
 * (runs it with one end of a SOCK_SEQPACKET pair, takes the tap from
 * READY, sends ATTACH with the guest's MAC, takes the maps from
 * ATTACHED), then, in place of a guest NIC, one of:
 *
 *   --relay=NETNS:TAP   copy frames between the helper's tap and an
 *                       existing tap TAP in network namespace NETNS (a
 *                       name under /run/netns), whose kernel stack then
 *                       acts as the guest: ping, TCP, raw sockets;
 *   --blast=SIZE        write SIZE-byte frames to the tap as fast as it
 *                       takes them (from --src, default --mac, to --dst),
 *                       and count;
 *   --sink              read and count frames.
 *
 * The guest tap is opened before anything else; with --user=NAME the
 * client then drops to that user (no capabilities), so the helper runs
 * as it would for an unprivileged QEMU.  Lines on stdout:
 *
 *   ready tap=NAME mode=wired|wifi        once attached
 *   error TEXT                            the helper refused (exit 2)
 *   counters k=v ...                      on SIGUSR1, and at the end
 *   rate frames=N seconds=S               --blast/--sink, at the end
 *
 * It runs until SIGTERM/SIGINT, or --seconds=S for --blast and --sink.
 *
 *   fb-client --query=IF     prints "tcx IF ingress=N egress=N": how many
 *                            tcx programs IF runs (needs CAP_BPF)
 *
 * For the benchmark's baselines, --blast and --sink also run on a tap
 * that is not the helper's, with the same loop: --tap=NAME attaches to
 * an existing tap (a Linux bridge's port, say), --open=PATH opens a
 * character device (a macvtap's /dev/tapN); no helper then.
 *
 *   fb-client --helper=PATH --ifname=IF --mac=MAC [--wifi=on|off|auto]
 *             [--mac-spoof] [--user=NAME] [--ip=ADDR...]
 *             (--relay=NETNS:TAP | --blast=SIZE --dst=MAC | --sink)
 *             [--seconds=S]
 *
 * --ip=ADDR (IPv4 or IPv6, repeatable) puts ADDR into the Wi-Fi address
 * map, as QEMU would once it learned it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>
#include <linux/if_tun.h>

#include "net/vpcnet/bridge/bpf-sys.h"
#include "net/vpcnet/bridge/helper-proto.h"
#include "net/vpcnet/bridge/steering.h"
#include "net/vpcnet/macaddr.h"

#define MAX_IPS 8

static volatile sig_atomic_t stop, want_counters;

static void on_signal(int sig)
{
    if (sig == SIGUSR1) {
        want_counters = 1;
    } else {
        stop = 1;
    }
}

static void catch_signals(void)
{
    struct sigaction sa = { .sa_handler = on_signal };
    struct sigaction ign = { .sa_handler = SIG_IGN };

    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGPIPE, &ign, NULL);
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "fb-client: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static int recv_msg(int sock, VpcFbhMsg *m, int *fds, int max_fds)
{
    char buf[VPC_FBH_MSG_MAX + 1], why[80];
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int) * VPC_FBH_MAX_FDS)];
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
    };
    struct cmsghdr *c;
    int nfds = 0;
    ssize_t n;

    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) {
        return -1;
    }
    for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

            if (k > max_fds) {
                k = max_fds;
            }
            memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)k);
            nfds = k;
        }
    }
    if (vpc_fbh_parse(buf, (size_t)n, m, why, sizeof(why)) != 0) {
        die("bad message from the helper: %s", why);
    }
    return nfds;
}

static int send_attach(int sock, const uint8_t mac[6])
{
    VpcFbhMsg m = { .type = VPC_FBH_ATTACH };
    char text[VPC_FBH_MSG_MAX];
    int len;

    memcpy(m.mac, mac, 6);
    len = vpc_fbh_format(&m, text, sizeof(text));
    return send(sock, text, (size_t)len, 0) == len ? 0 : -1;
}

/* Open the existing tap @name in the network namespace /run/netns/@ns. */
static int open_guest_tap(const char *ns, const char *name)
{
    char path[256];
    struct ifreq ifr;
    int self, target, fd;

    self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof(path), "/run/netns/%s", ns);
    target = open(path, O_RDONLY | O_CLOEXEC);
    if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) < 0) {
        die("cannot enter network namespace %s", ns);
    }
    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
        die("cannot open the guest tap %s", name);
    }
    if (setns(self, CLONE_NEWNET) < 0) {
        die("cannot return to our network namespace%s", "");
    }
    close(self);
    close(target);
    return fd;
}

static void print_counters(int fd)
{
    VpcBridgeCounters c;
    uint32_t key = 0;
    int i;

    if (vpc_bpf_map_lookup(fd, &key, &c) != 0) {
        printf("counters unreadable\n");
        fflush(stdout);
        return;
    }
    printf("counters");
    for (i = 0; i < VPC_BC_NR; i++) {
        printf(" %s=%llu", vpc_bridge_counter_name(i),
               (unsigned long long)c.c[i]);
    }
    printf("\n");
    fflush(stdout);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void relay(int tap, int guest, int counters_fd)
{
    static uint8_t buf[65536];

    while (!stop) {
        struct pollfd pfd[2] = {
            { .fd = tap, .events = POLLIN },
            { .fd = guest, .events = POLLIN },
        };
        int i;

        if (want_counters) {
            want_counters = 0;
            print_counters(counters_fd);
        }
        if (poll(pfd, 2, 200) <= 0) {
            continue;
        }
        for (i = 0; i < 2; i++) {
            if (pfd[i].revents & POLLIN) {
                ssize_t n = read(pfd[i].fd, buf, sizeof(buf));

                if (n > 0 && write(pfd[1 - i].fd, buf, (size_t)n) < 0) {
                    /* a full queue drops the frame, as a NIC would */
                }
            }
        }
    }
}

static void blast(int tap, const uint8_t src[6], const uint8_t dst[6],
                  int size, double seconds)
{
    uint8_t frame[1514];
    unsigned long long frames = 0;
    double start = now(), end = start + seconds;

    memset(frame, 0, sizeof(frame));
    memcpy(frame, dst, 6);
    memcpy(frame + 6, src, 6);
    frame[12] = 0x88;   /* IEEE local experimental ethertype */
    frame[13] = 0xb5;
    while (!stop) {
        ssize_t n = write(tap, frame, (size_t)size);

        if (n == size) {
            frames++;
        }
        if ((frames & 1023) == 0 && now() >= end) {
            break;
        }
    }
    printf("rate frames=%llu seconds=%.3f\n", frames, now() - start);
}

static void sink(int tap, double seconds)
{
    static uint8_t buf[65536];
    unsigned long long frames = 0;
    double start = now(), end = start + seconds;

    fcntl(tap, F_SETFL, fcntl(tap, F_GETFL) | O_NONBLOCK);
    while (!stop && now() < end) {
        struct pollfd pfd = { .fd = tap, .events = POLLIN };

        if (poll(&pfd, 1, 100) <= 0) {
            continue;
        }
        while (read(tap, buf, sizeof(buf)) > 0) {
            frames++;
        }
    }
    printf("rate frames=%llu seconds=%.3f\n", frames, now() - start);
}

static void add_ip(int ips_fd, const char *text)
{
    VpcBridgeIpKey key;
    struct in_addr a4;
    uint32_t one = 1;
    int err;

    if (inet_pton(AF_INET, text, &a4) == 1) {
        vpc_bridge_ip_key_v4(&key, ntohl(a4.s_addr));
    } else if (inet_pton(AF_INET6, text, key.addr) != 1) {
        die("not an address: %s", text);
    }
    err = vpc_bpf_map_update(ips_fd, &key, &one);
    if (err) {
        fprintf(stderr, "fb-client: cannot add %s: %s\n", text,
                strerror(-err));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    const char *helper = NULL, *ifname = NULL, *wifi = "auto", *user = NULL;
    const char *relay_arg = NULL, *ips[MAX_IPS];
    const char *own_tap = NULL, *open_path = NULL;
    uint8_t mac[6] = { 0 }, dst[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint8_t src[6];
    bool have_src = false;
    int blast_size = 0, nips = 0, guest = -1, sv[2], fds[4], nfds, i;
    bool mac_spoof = false, do_sink = false, have_mac = false;
    double seconds = 3;
    VpcFbhMsg m;
    pid_t pid;
    int status;

    if (argc == 2 && !strncmp(argv[1], "--query=", 8)) {
        unsigned ifindex = if_nametoindex(argv[1] + 8);
        int in, out;

        if (!ifindex) {
            die("no interface %s", argv[1] + 8);
        }
        in = vpc_bpf_tcx_count(ifindex, false);
        out = vpc_bpf_tcx_count(ifindex, true);
        printf("tcx %s ingress=%d egress=%d\n", argv[1] + 8, in, out);
        return in < 0 || out < 0;
    }
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strncmp(a, "--helper=", 9)) {
            helper = a + 9;
        } else if (!strncmp(a, "--ifname=", 9)) {
            ifname = a + 9;
        } else if (!strncmp(a, "--mac=", 6)) {
            have_mac = vpc_mac_parse(a + 6, mac) == 0;
        } else if (!strncmp(a, "--dst=", 6)) {
            vpc_mac_parse(a + 6, dst);
        } else if (!strncmp(a, "--src=", 6)) {
            have_src = vpc_mac_parse(a + 6, src) == 0;
        } else if (!strncmp(a, "--wifi=", 7)) {
            wifi = a + 7;
        } else if (!strcmp(a, "--mac-spoof")) {
            mac_spoof = true;
        } else if (!strncmp(a, "--user=", 7)) {
            user = a + 7;
        } else if (!strncmp(a, "--ip=", 5) && nips < MAX_IPS) {
            ips[nips++] = a + 5;
        } else if (!strncmp(a, "--relay=", 8)) {
            relay_arg = a + 8;
        } else if (!strncmp(a, "--blast=", 8)) {
            blast_size = atoi(a + 8);
        } else if (!strcmp(a, "--sink")) {
            do_sink = true;
        } else if (!strncmp(a, "--tap=", 6)) {
            own_tap = a + 6;
        } else if (!strncmp(a, "--open=", 7)) {
            open_path = a + 7;
        } else if (!strncmp(a, "--seconds=", 10)) {
            seconds = atof(a + 10);
        } else {
            die("unknown argument %s", a);
        }
    }
    if (!have_src) {
        memcpy(src, mac, 6);
    }
    if (own_tap || open_path) {
        /* a baseline: the same loops on a tap of someone else's */
        struct ifreq ifr;
        int tap;

        if (!have_mac || relay_arg || (!blast_size && !do_sink)) {
            die("--tap/--open need --mac and --blast or --sink%s", "");
        }
        if (own_tap) {
            tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
            memset(&ifr, 0, sizeof(ifr));
            ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
            snprintf(ifr.ifr_name, IFNAMSIZ, "%s", own_tap);
            if (tap < 0 || ioctl(tap, TUNSETIFF, &ifr) < 0) {
                die("cannot attach to tap %s", own_tap);
            }
        } else {
            tap = open(open_path, O_RDWR | O_CLOEXEC);
            if (tap < 0) {
                die("cannot open %s", open_path);
            }
            /* a macvtap starts with virtio headers: frames as they are */
            memset(&ifr, 0, sizeof(ifr));
            ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
            ioctl(tap, TUNSETIFF, &ifr);
        }
        printf("ready tap=%s mode=baseline\n", own_tap ? own_tap : open_path);
        fflush(stdout);
        catch_signals();
        if (blast_size) {
            blast(tap, src, dst, blast_size, seconds);
        } else {
            sink(tap, seconds);
        }
        return 0;
    }
    if (!helper || !ifname || !have_mac ||
        !!relay_arg + !!blast_size + do_sink != 1 ||
        (blast_size && (blast_size < 14 || blast_size > 1514))) {
        die("usage: see the comment at the top of %s", __FILE__);
    }
    if (relay_arg) {
        char ns[128];
        const char *colon = strchr(relay_arg, ':');

        if (!colon || (size_t)(colon - relay_arg) >= sizeof(ns)) {
            die("--relay=NETNS:TAP, not %s", relay_arg);
        }
        memcpy(ns, relay_arg, (size_t)(colon - relay_arg));
        ns[colon - relay_arg] = 0;
        guest = open_guest_tap(ns, colon + 1);
    }
    if (user) {
        struct passwd *pw = getpwnam(user);

        if (!pw || setgroups(0, NULL) < 0 ||
            setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
            setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
            die("cannot become %s", user);
        }
    }

    catch_signals();
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        die("socketpair: %s", strerror(errno));
    }
    pid = fork();
    if (pid == 0) {
        char fd_arg[32], if_arg[64], wifi_arg[32];

        dup2(sv[1], 3);
        snprintf(fd_arg, sizeof(fd_arg), "--fd=3");
        snprintf(if_arg, sizeof(if_arg), "--ifname=%s", ifname);
        snprintf(wifi_arg, sizeof(wifi_arg), "--wifi=%s", wifi);
        execl(helper, helper, fd_arg, if_arg, wifi_arg,
              mac_spoof ? "--mac-spoof" : NULL, (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    nfds = recv_msg(sv[0], &m, fds, 4);
    waitpid(pid, &status, 0);
    if (nfds < 0) {
        printf("error the helper exited with status %d\n", status);
        return 2;
    }
    if (m.type == VPC_FBH_ERROR) {
        printf("error %s\n", m.text);
        return 2;
    }
    if (m.type != VPC_FBH_READY || nfds != 1) {
        die("expected READY and a tap%s", "");
    }
    {
        int tap = fds[0], counters_fd, ips_fd = -1;
        bool is_wifi = m.wifi;
        char tap_name[16];

        snprintf(tap_name, sizeof(tap_name), "%s", m.tap);
        send_attach(sv[0], mac);
        nfds = recv_msg(sv[0], &m, fds, 4);
        if (nfds < 0) {
            printf("error the keeper went away\n");
            return 2;
        }
        if (m.type == VPC_FBH_ERROR) {
            printf("error %s\n", m.text);
            return 2;
        }
        if (m.type != VPC_FBH_ATTACHED || nfds < 1) {
            die("expected ATTACHED%s", "");
        }
        counters_fd = fds[0];
        if (nfds > 1) {
            ips_fd = fds[1];
        }
        for (i = 0; i < nips; i++) {
            if (ips_fd < 0) {
                die("--ip needs Wi-Fi mode%s", "");
            }
            add_ip(ips_fd, ips[i]);
        }
        printf("ready tap=%s mode=%s\n", tap_name,
               is_wifi ? "wifi" : "wired");
        fflush(stdout);
        if (relay_arg) {
            relay(tap, guest, counters_fd);
        } else if (blast_size) {
            blast(tap, src, dst, blast_size, seconds);
        } else {
            sink(tap, seconds);
        }
        print_counters(counters_fd);
    }
    return 0;
}
