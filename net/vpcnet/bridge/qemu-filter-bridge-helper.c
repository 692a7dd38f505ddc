/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qemu-filter-bridge-helper: the privileged half of -netdev filter-bridge.
 *
 * Theory of operation
 * -------------------
 * QEMU runs with no capability.  To put a guest NIC on a host adapter
 * it runs this helper, installed setuid root like qemu-bridge-helper,
 * with one end of a SOCK_SEQPACKET pair (helper-proto.h has the
 * messages):
 *
 *   qemu-filter-bridge-helper --fd=N --ifname=IF [--wifi=auto|on|off]
 *                             [--mac-spoof]
 *
 * 1. The ACL file (acl.h; /etc/qemu/filter-bridge.conf, fixed at build
 *    time and never named by the caller) must allow IF; a refusal is
 *    sent as an ERROR naming the file.  IF must be an Ethernet adapter
 *    (or Wi-Fi, which Linux presents as Ethernet).
 * 2. A tap is created for the guest, owned by the calling user, with
 *    IPv6 and forwarding off and the adapter's MTU, and is brought up.
 *    Its descriptor goes to QEMU with READY; the helper keeps no copy,
 *    so the tap lives exactly as long as QEMU holds it.
 * 3. The helper forks its keeper, a new session whose real and saved
 *    ids are root, so the user cannot signal or trace it, and exits,
 *    so that QEMU can reap it at once.  The keeper waits for ATTACH
 *    with the NIC's MAC.  Then, under the adapter's registry lock
 *    (registry.h), it removes stale records, refuses a MAC already on
 *    the adapter, records this one, creates the guest's maps, gives
 *    the tap its host-path filter (a clsact qdisc, a cls_bpf classifier
 *    and mirred, which live and die with the tap), builds and loads its
 *    four steering programs (steering.h), attaches them as tcx links on
 *    the tap and the adapter, and (wired) takes a
 *    PACKET_MR_PROMISC membership on the adapter.  The counters map
 *    (read-only) and the Wi-Fi address map go to QEMU with ATTACHED.
 * 4. The keeper then sleeps until its QEMU closes the socket or exits
 *    (a pidfd), whatever the cause, SIGKILL included; it removes its
 *    record and exits.  Links and the packet socket die with it, so the
 *    kernel detaches the programs and drops the promiscuity it added;
 *    the kernel counts promiscuity, so the adapter leaves promiscuous
 *    mode when the last guest's keeper goes.  Were the keeper itself
 *    killed, only its record would remain, and the next helper on that
 *    adapter removes it.
 *
 * What runs privileged is this file; it parses nothing from the guest.
 * Every decision it makes from text (ACL, records, messages) is in the
 * library, unit-tested and fuzzed.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>

#include "net/vpcnet/bridge/acl.h"
#include "net/vpcnet/bridge/bpf-sys.h"
#include "net/vpcnet/bridge/helper-proto.h"
#include "net/vpcnet/bridge/registry.h"
#include "net/vpcnet/bridge/steering.h"
#include "net/vpcnet/eth.h"
#include "net/vpcnet/macaddr.h"

#ifndef VPC_ACL_FILE
#define VPC_ACL_FILE VPC_ACL_DEFAULT_FILE
#endif

#define TAP_NAME_TEMPLATE   "vpcfb%d"
#define ACL_MAX             65536
#define IPS_PER_GUEST       32
#define VERIFIER_LOG        65536
/* /run/vpcnet-filter-bridge/NETNS.IFINDEX, then a file in it. */
#define REG_DIR_MAX         64
#define REG_PATH_MAX        (REG_DIR_MAX + 32)

/**
 * Helper - everything the helper and then its keeper hold.
 * @sock: the socket to QEMU.
 * @ifname: the host adapter.
 * @wifi_opt: -1 auto, 0 off, 1 on.
 * @mac_spoof: let the guest send any source MAC.
 * @uid: the user who ran QEMU.
 * @gid: their group.
 * @qemu_pid: QEMU (our parent).
 * @pidfd: a pidfd of QEMU, -1 until the keeper opens it.
 * @adapter_ifindex: the adapter's ifindex.
 * @adapter_mac: its MAC.
 * @wifi: shared-MAC mode, decided.
 * @tap: the tap's name.
 * @tap_ifindex: its ifindex.
 * @netns: the inode of our network namespace.
 * @attached: ATTACH succeeded; the rest below is valid.
 * @mac: the guest's MAC.
 * @links: the tcx links, one per steering program.
 * @counters_fd: the counters map.
 * @ips_fd: the Wi-Fi address map, or -1.
 * @promisc_fd: the packet socket holding promiscuity, or -1.
 * @record: the path of our registry record, "" when none.
 * @adapter_dir: the adapter's registry directory.
 */
typedef struct Helper {
    int sock;
    const char *ifname;
    int wifi_opt;
    bool mac_spoof;
    uid_t uid;
    gid_t gid;
    pid_t qemu_pid;
    int pidfd;
    unsigned adapter_ifindex;
    uint8_t adapter_mac[6];
    bool wifi;
    char tap[IFNAMSIZ];
    unsigned tap_ifindex;
    unsigned long long netns;
    bool attached;
    uint8_t mac[6];
    int links[VPC_HOOK_NR];
    int counters_fd;
    int ips_fd;
    int promisc_fd;
    char record[REG_PATH_MAX];
    char adapter_dir[REG_DIR_MAX];
} Helper;

static bool in_keeper;

static void logmsg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void send_error(Helper *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logmsg(int prio, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (in_keeper) {
        vsyslog(prio, fmt, ap);
    } else {
        fprintf(stderr, "qemu-filter-bridge-helper: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}

/* Send @m, with @nfds descriptors.  Returns 0 or -errno. */
static int send_msg(int sock, const VpcFbhMsg *m, const int *fds,
                    unsigned nfds)
{
    char text[VPC_FBH_MSG_MAX];
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int) * VPC_FBH_MAX_FDS)];
    } control;
    struct iovec iov;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    int len = vpc_fbh_format(m, text, sizeof(text));

    if (len < 0) {
        return -EMSGSIZE;
    }
    iov.iov_base = text;
    iov.iov_len = (size_t)len;
    if (nfds) {
        struct cmsghdr *c;

        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static void send_error(Helper *h, const char *fmt, ...)
{
    VpcFbhMsg m = { .type = VPC_FBH_ERROR };
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(m.text, sizeof(m.text), fmt, ap);
    va_end(ap);
    /* QEMU reports it; the keeper's also go to syslog. */
    if (in_keeper) {
        logmsg(LOG_NOTICE, "%s", m.text);
    }
    if (send_msg(h->sock, &m, NULL, 0) < 0 && !in_keeper) {
        logmsg(LOG_ERR, "%s", m.text);
    }
}

/* A decimal number of at most 9 digits, all of @s up to a newline. */
static bool parse_decimal(const char *s, unsigned long *out)
{
    unsigned long v = 0;
    int digits = 0;

    while (*s >= '0' && *s <= '9' && digits < 9) {
        v = v * 10 + (unsigned long)(*s++ - '0');
        digits++;
    }
    if (!digits || (*s && *s != '\n')) {
        return false;
    }
    *out = v;
    return true;
}

static int read_file(const char *path, char *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    size_t n = 0;

    if (fd < 0) {
        return -errno;
    }
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            int err = errno;

            close(fd);
            return -err;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    *len = n;
    return 0;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t n;
    int err;

    if (fd < 0) {
        return -errno;
    }
    n = write(fd, text, strlen(text));
    err = n < 0 ? -errno : 0;
    close(fd);
    return err;
}

/* Step 1: the ACL, read as root from its fixed place. */
static bool check_acl(Helper *h)
{
    static char text[ACL_MAX];
    VpcAclResult res;
    struct stat st;
    size_t len = 0;
    int err;

    err = read_file(VPC_ACL_FILE, text, sizeof(text), &len);
    if (err) {
        send_error(h, "access to host adapter %s refused: cannot read the "
                   "ACL file %s (%s); the administrator allows an adapter "
                   "there with a line 'allow %s'", h->ifname, VPC_ACL_FILE,
                   strerror(-err), h->ifname);
        return false;
    }
    /* A file others may write would let them allow anything. */
    if (stat(VPC_ACL_FILE, &st) == 0 &&
        (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))) {
        send_error(h, "access to host adapter %s refused: the ACL file %s "
                   "must be owned by root and writable by root only",
                   h->ifname, VPC_ACL_FILE);
        return false;
    }
    if (len == sizeof(text)) {
        send_error(h, "access to host adapter %s refused: the ACL file %s "
                   "is larger than %d bytes", h->ifname, VPC_ACL_FILE,
                   ACL_MAX - 1);
        return false;
    }
    if (!vpc_acl_check(text, len, h->ifname, &res)) {
        send_error(h, "access to host adapter %s refused by the ACL file "
                   "%s: %s", h->ifname, VPC_ACL_FILE, res.reason);
        return false;
    }
    return true;
}

/* The interface name @name into @ifr (the caller checked its length). */
static void ifr_set_name(struct ifreq *ifr, const char *name)
{
    memset(ifr, 0, sizeof(*ifr));
    snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
}

static int ioctl_sock(void)
{
    return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

/* The adapter's ifindex, hardware type and MAC, from the kernel. */
static int adapter_info(const char *ifname, unsigned *ifindex,
                        uint8_t mac[6], int *mtu)
{
    struct ifreq ifr;
    int fd = ioctl_sock();
    int err = 0;

    if (fd < 0) {
        return -errno;
    }
    ifr_set_name(&ifr, ifname);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        err = -errno;
        goto out;
    }
    *ifindex = (unsigned)ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        err = -errno;
        goto out;
    }
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        err = -EPFNOSUPPORT;
        goto out;
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    if (mtu) {
        if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
            err = -errno;
            goto out;
        }
        *mtu = ifr.ifr_mtu;
    }
out:
    close(fd);
    return err;
}

/*
 * Wi-Fi adapters have a "phy80211" link (cfg80211) or a "wireless"
 * directory (wireless extensions) in sysfs.  sysfs shows the namespace
 * it was mounted in, so the answer only counts if its ifindex is ours.
 */
static bool adapter_is_wifi(const char *ifname, unsigned ifindex)
{
    char path[128], text[32];
    unsigned long sysfs_ifindex;
    size_t len = 0;
    struct stat st;

    snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", ifname);
    if (read_file(path, text, sizeof(text) - 1, &len) != 0) {
        return false;
    }
    text[len] = 0;
    if (!parse_decimal(text, &sysfs_ifindex) || sysfs_ifindex != ifindex) {
        return false;
    }
    snprintf(path, sizeof(path), "/sys/class/net/%s/phy80211", ifname);
    if (lstat(path, &st) == 0) {
        return true;
    }
    snprintf(path, sizeof(path), "/sys/class/net/%s/wireless", ifname);
    return lstat(path, &st) == 0;
}

static int set_if_flags(int fd, const char *name, short set)
{
    struct ifreq ifr;

    ifr_set_name(&ifr, name);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        return -errno;
    }
    ifr.ifr_flags |= set;
    return ioctl(fd, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* Step 2: the guest's tap.  Returns its descriptor or -errno. */
static int create_tap(Helper *h, int mtu)
{
    char path[128];
    struct ifreq ifr;
    int fd, sfd, err;

    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, TAP_NAME_TEMPLATE, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0 ||
        ioctl(fd, TUNSETOWNER, (unsigned long)h->uid) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    memcpy(h->tap, ifr.ifr_name, IFNAMSIZ);
    h->tap[IFNAMSIZ - 1] = 0;

    /*
     * The tap is a conduit, never an interface of the host: no IPv6
     * autoconfiguration (nothing of the host's leaks to the guest), no
     * forwarding of what arrives on it should our programs be gone.
     */
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
             h->tap);
    err = write_file(path, "1");
    if (err && err != -ENOENT) {
        goto fail;
    }
    snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding",
             h->tap);
    err = write_file(path, "0");
    if (err && err != -ENOENT) {
        goto fail;
    }

    sfd = ioctl_sock();
    if (sfd < 0) {
        err = -errno;
        goto fail;
    }
    ifr_set_name(&ifr, h->tap);
    ifr.ifr_mtu = mtu;
    if (ioctl(sfd, SIOCSIFMTU, &ifr) < 0 || ioctl(sfd, SIOCGIFINDEX,
                                                  &ifr) < 0) {
        err = -errno;
        close(sfd);
        goto fail;
    }
    h->tap_ifindex = (unsigned)ifr.ifr_ifindex;
    err = set_if_flags(sfd, h->tap, IFF_UP | IFF_NOARP);
    close(sfd);
    if (err) {
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return err;
}

/* Step 1 and 2: READY, or an ERROR.  Returns true when READY went. */
static bool prepare(Helper *h)
{
    VpcFbhMsg m = { .type = VPC_FBH_READY };
    struct stat st;
    int mtu = 1500;
    int tap_fd, err;

    if (!check_acl(h)) {
        return false;
    }
    err = adapter_info(h->ifname, &h->adapter_ifindex, h->adapter_mac, &mtu);
    if (err == -ENODEV) {
        send_error(h, "host adapter %s does not exist", h->ifname);
        return false;
    } else if (err == -EPFNOSUPPORT) {
        send_error(h, "host adapter %s is not an Ethernet or Wi-Fi adapter",
                   h->ifname);
        return false;
    } else if (err) {
        send_error(h, "host adapter %s: %s", h->ifname, strerror(-err));
        return false;
    }
    h->wifi = h->wifi_opt < 0 ? adapter_is_wifi(h->ifname, h->adapter_ifindex)
                              : h->wifi_opt;
    if (stat("/proc/self/ns/net", &st) < 0) {
        send_error(h, "cannot find our network namespace: %s",
                   strerror(errno));
        return false;
    }
    h->netns = (unsigned long long)st.st_ino;

    tap_fd = create_tap(h, mtu);
    if (tap_fd < 0) {
        send_error(h, "cannot create a tap for host adapter %s: %s",
                   h->ifname, strerror(-tap_fd));
        return false;
    }
    snprintf(m.tap, sizeof(m.tap), "%s", h->tap);
    m.tap_ifindex = h->tap_ifindex;
    m.adapter_ifindex = h->adapter_ifindex;
    memcpy(m.adapter_mac, h->adapter_mac, 6);
    m.wifi = h->wifi;
    err = send_msg(h->sock, &m, &tap_fd, 1);
    close(tap_fd);
    if (err) {
        logmsg(LOG_ERR, "cannot pass the tap to QEMU: %s", strerror(-err));
        return false;
    }
    return true;
}

/*
 * The registry (registry.h).  Returns the locked descriptor of the
 * adapter's lock file, or -errno.  The lock file is re-checked after
 * locking: a keeper that found the directory empty may have removed it
 * while we waited.
 */
static int registry_lock(Helper *h)
{
    char lock_path[REG_PATH_MAX];
    struct stat st, fst;
    int tries, fd;

    snprintf(h->adapter_dir, sizeof(h->adapter_dir), "%s/%llu.%u",
             VPC_FB_RUN_DIR, h->netns, h->adapter_ifindex);
    snprintf(lock_path, sizeof(lock_path), "%s/lock", h->adapter_dir);
    for (tries = 0; tries < 10; tries++) {
        if (mkdir(VPC_FB_RUN_DIR, 0755) < 0 && errno != EEXIST) {
            return -errno;
        }
        if (lstat(VPC_FB_RUN_DIR, &st) < 0 || !S_ISDIR(st.st_mode) ||
            st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
            return -EPERM;
        }
        if (mkdir(h->adapter_dir, 0755) < 0 && errno != EEXIST) {
            if (errno == ENOENT) {
                continue;
            }
            return -errno;
        }
        fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                  0644);
        if (fd < 0) {
            if (errno == ENOENT) {
                continue;
            }
            return -errno;
        }
        if (flock(fd, LOCK_EX) < 0) {
            int err = -errno;

            close(fd);
            return err;
        }
        if (fstat(fd, &fst) == 0 && stat(lock_path, &st) == 0 &&
            st.st_ino == fst.st_ino && st.st_dev == fst.st_dev) {
            return fd;
        }
        close(fd);
    }
    return -EAGAIN;
}

/* Under the lock: if no record is left, remove the directory. */
static void registry_unlock(Helper *h, int lock_fd)
{
    char lock_path[REG_PATH_MAX];
    struct dirent *de;
    bool empty = true;
    DIR *d;

    d = opendir(h->adapter_dir);
    if (d) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
                strcmp(de->d_name, "lock")) {
                empty = false;
                break;
            }
        }
        closedir(d);
    }
    if (empty) {
        snprintf(lock_path, sizeof(lock_path), "%s/lock", h->adapter_dir);
        unlink(lock_path);
        rmdir(h->adapter_dir);
        rmdir(VPC_FB_RUN_DIR);  /* fails while other adapters are there */
    }
    close(lock_fd);
}

static bool process_alive(int pid, uint64_t start, void *opaque)
{
    char path[64], stat[1024];
    uint64_t now_start;
    size_t len = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if (read_file(path, stat, sizeof(stat), &len) != 0) {
        return false;
    }
    return vpc_proc_stat_start(stat, len, &now_start) == 0 &&
           now_start == start;
}

/*
 * Under the lock: remove every stale record.  If @mac has a live
 * record, return it in @holder and true.
 */
static bool registry_sweep(Helper *h, const uint8_t mac[6],
                           VpcFbRecord *holder)
{
    struct dirent *de;
    bool taken = false;
    uint8_t name_mac[6];
    DIR *d;

    d = opendir(h->adapter_dir);
    if (!d) {
        return false;
    }
    while ((de = readdir(d)) != NULL) {
        char path[REG_PATH_MAX], text[VPC_FB_RECORD_MAX + 1];
        VpcFbRecord rec;
        size_t len = 0;

        if (vpc_fb_record_name_parse(de->d_name, name_mac) != 0) {
            continue;   /* not one of ours: leave it */
        }
        /* a record's name is 17 characters: this fits */
        snprintf(path, sizeof(path), "%s/%.17s", h->adapter_dir, de->d_name);
        if (read_file(path, text, sizeof(text), &len) != 0) {
            len = 0;
        }
        if (vpc_fb_judge(de->d_name, text, len, process_alive, NULL, &rec) ==
            VPC_FB_STALE) {
            logmsg(LOG_NOTICE, "%s: removing the stale record of %s "
                   "(keeper %d gone)", h->ifname, de->d_name, rec.keeper_pid);
            unlink(path);
        } else if (vpc_mac_equal(name_mac, mac)) {
            *holder = rec;
            taken = true;
        }
    }
    closedir(d);
    return taken;
}

static int self_start_time(uint64_t *start)
{
    char stat[1024];
    size_t len = 0;
    int err = read_file("/proc/self/stat", stat, sizeof(stat), &len);

    if (err) {
        return err;
    }
    return vpc_proc_stat_start(stat, len, start) == 0 ? 0 : -EINVAL;
}

/* Under the lock: write our record; -EEXIST if a live one is there. */
static int registry_add(Helper *h, const uint8_t mac[6])
{
    VpcFbRecord rec = {
        .keeper_pid = getpid(),
        .qemu_pid = h->qemu_pid,
        .uid = h->uid,
        .tap_ifindex = h->tap_ifindex,
        .wifi = h->wifi,
    };
    char name[18], text[VPC_FB_RECORD_MAX];
    int fd, len, err;

    memcpy(rec.mac, mac, 6);
    snprintf(rec.tap, sizeof(rec.tap), "%s", h->tap);
    err = self_start_time(&rec.keeper_start);
    if (err) {
        return err;
    }
    len = vpc_fb_record_format(&rec, text, sizeof(text));
    if (len < 0) {
        return -EINVAL;
    }
    vpc_fb_record_name(mac, name);
    snprintf(h->record, sizeof(h->record), "%s/%.17s", h->adapter_dir, name);
    fd = open(h->record, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
              O_NOFOLLOW, 0644);
    if (fd < 0) {
        err = -errno;
        h->record[0] = 0;
        return err;
    }
    if (write(fd, text, (size_t)len) != len) {
        err = -EIO;
        close(fd);
        unlink(h->record);
        h->record[0] = 0;
        return err;
    }
    close(fd);
    return 0;
}

static void registry_remove(Helper *h)
{
    int lock_fd;

    if (!h->record[0]) {
        return;
    }
    lock_fd = registry_lock(h);
    unlink(h->record);
    h->record[0] = 0;
    if (lock_fd >= 0) {
        registry_unlock(h, lock_fd);
    }
}

/* Release what an ATTACH set up (the record excepted). */
static void detach(Helper *h)
{
    int i;

    for (i = 0; i < VPC_HOOK_NR; i++) {
        if (h->links[i] >= 0) {
            close(h->links[i]);
            h->links[i] = -1;
        }
    }
    if (h->promisc_fd >= 0) {
        close(h->promisc_fd);
        h->promisc_fd = -1;
    }
    if (h->counters_fd >= 0) {
        close(h->counters_fd);
        h->counters_fd = -1;
    }
    if (h->ips_fd >= 0) {
        close(h->ips_fd);
        h->ips_fd = -1;
    }
    h->attached = false;
}

/* Hold the adapter in promiscuous mode for as long as the socket lives. */
static int take_promiscuity(Helper *h)
{
    struct packet_mreq mr = {
        .mr_ifindex = (int)h->adapter_ifindex,
        .mr_type = PACKET_MR_PROMISC,
    };
    /* Protocol 0: the socket receives nothing. */
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -errno;
    }
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
                   sizeof(mr)) < 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    h->promisc_fd = fd;
    return 0;
}

/* A netlink request being built: header, struct, attributes. */
typedef struct NlReq {
    union {
        struct nlmsghdr nh;
        uint8_t buf[512];
    };
    unsigned nest[4];
    int depth;
} NlReq;

static void *nl_put(NlReq *r, uint16_t type, const void *data, size_t len)
{
    /* (the requests are fixed and far smaller than buf) */
    struct nlattr *at = (struct nlattr *)(r->buf +
                                          NLMSG_ALIGN(r->nh.nlmsg_len));

    at->nla_type = type;
    at->nla_len = NLA_HDRLEN + len;
    if (len) {
        memcpy((uint8_t *)at + NLA_HDRLEN, data, len);
    }
    r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + NLA_ALIGN(at->nla_len);
    return at;
}

static void nl_begin(NlReq *r, uint16_t type)
{
    r->nest[r->depth++] = NLMSG_ALIGN(r->nh.nlmsg_len);
    nl_put(r, type | NLA_F_NESTED, NULL, 0);
}

static void nl_end(NlReq *r)
{
    unsigned off = r->nest[--r->depth];

    ((struct nlattr *)(r->buf + off))->nla_len = r->nh.nlmsg_len - off;
}

static struct tcmsg *nl_tc(NlReq *r, uint16_t type, uint16_t flags)
{
    struct tcmsg *tc;

    memset(r, 0, sizeof(*r));
    r->nh.nlmsg_type = type;
    r->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    r->nh.nlmsg_len = NLMSG_LENGTH(sizeof(*tc));
    tc = NLMSG_DATA(&r->nh);
    tc->tcm_family = AF_UNSPEC;
    return tc;
}

/* Send @r on @fd and wait for its acknowledgement: 0 or -errno. */
static int nl_talk(int fd, NlReq *r)
{
    uint8_t reply[1024];
    struct nlmsghdr *nh = (struct nlmsghdr *)reply;
    ssize_t n;

    if (send(fd, r->buf, r->nh.nlmsg_len, 0) < 0) {
        return -errno;
    }
    n = recv(fd, reply, sizeof(reply), 0);
    if (n < 0) {
        return -errno;
    }
    if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) ||
        nh->nlmsg_type != NLMSG_ERROR) {
        return -EPROTO;
    }
    return ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
}

/*
 * T's host path (steering.h): a clsact qdisc on T whose ingress runs
 * @classifier_fd with `mirred ingress redirect dev A`.  They live with
 * T, so nothing of them outlives the guest.  Returns 0 or -errno.
 */
static int install_host_path(Helper *h, int classifier_fd)
{
    static NlReq r;
    struct tc_mirred mirred = {
        .action = TC_ACT_STOLEN,
        .eaction = TCA_INGRESS_REDIR,
        .ifindex = h->adapter_ifindex,
    };
    uint32_t fd32 = (uint32_t)classifier_fd, flags = 0;
    struct tcmsg *tc;
    int fd, err;

    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        return -errno;
    }
    /* A previous ATTACH's, if it failed after this step. */
    tc = nl_tc(&r, RTM_DELQDISC, 0);
    tc->tcm_ifindex = (int)h->tap_ifindex;
    tc->tcm_parent = TC_H_CLSACT;
    tc->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
    nl_talk(fd, &r);

    tc = nl_tc(&r, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL);
    tc->tcm_ifindex = (int)h->tap_ifindex;
    tc->tcm_parent = TC_H_CLSACT;
    tc->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
    nl_put(&r, TCA_KIND, "clsact", sizeof("clsact"));
    err = nl_talk(fd, &r);
    if (err) {
        goto out;
    }

    tc = nl_tc(&r, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL);
    tc->tcm_ifindex = (int)h->tap_ifindex;
    tc->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
    tc->tcm_handle = 1;
    tc->tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL));
    nl_put(&r, TCA_KIND, "bpf", sizeof("bpf"));
    nl_begin(&r, TCA_OPTIONS);
    nl_put(&r, TCA_BPF_FD, &fd32, sizeof(fd32));
    nl_put(&r, TCA_BPF_NAME, VPC_BRIDGE_HOST_PATH_NAME,
           sizeof(VPC_BRIDGE_HOST_PATH_NAME));
    nl_put(&r, TCA_BPF_FLAGS, &flags, sizeof(flags));
    nl_begin(&r, TCA_BPF_ACT);
    nl_begin(&r, 1);
    nl_put(&r, TCA_ACT_KIND, "mirred", sizeof("mirred"));
    nl_begin(&r, TCA_ACT_OPTIONS);
    nl_put(&r, TCA_MIRRED_PARMS, &mirred, sizeof(mirred));
    nl_end(&r);
    nl_end(&r);
    nl_end(&r);
    nl_end(&r);
    err = nl_talk(fd, &r);
out:
    close(fd);
    return err;
}

/* The host-path classifier, loaded and installed.  0 or an ERROR sent. */
static int install_host_path_filter(Helper *h, char *log, size_t log_size)
{
    static VpcBpfAsm a;
    int n = vpc_bridge_build_host_path(&a);
    int prog, err;

    if (n < 0) {
        send_error(h, "internal error: cannot assemble the %s program (%d)",
                   VPC_BRIDGE_HOST_PATH_NAME, n);
        return -1;
    }
    prog = vpc_bpf_prog_load_tc(a.insns, (unsigned)n,
                                VPC_BRIDGE_HOST_PATH_NAME, log, log_size);
    if (prog < 0) {
        logmsg(LOG_ERR, "verifier log of %s:\n%s", VPC_BRIDGE_HOST_PATH_NAME,
               log);
        send_error(h, "the kernel refused the %s program: %s",
                   VPC_BRIDGE_HOST_PATH_NAME, strerror(-prog));
        return -1;
    }
    err = install_host_path(h, prog);
    close(prog);
    if (err) {
        send_error(h, "cannot give %s its host-path filter (clsact, cls_bpf, "
                   "mirred): %s", h->tap, strerror(-err));
        return -1;
    }
    return 0;
}

/* The four programs, loaded and linked.  Returns 0 or an ERROR sent. */
static int install_programs(Helper *h)
{
    static char log[VERIFIER_LOG];
    static VpcBpfAsm a;
    VpcBridgePort port = {
        .tap_ifindex = h->tap_ifindex,
        .adapter_ifindex = h->adapter_ifindex,
        .wifi = h->wifi,
        .mac_spoof = h->mac_spoof,
        .counters_fd = h->counters_fd,
        .ips_fd = h->ips_fd,
    };
    /* Adapter side first; the tap's program last, when all is ready. */
    static const struct {
        VpcBridgeHook hook;
        bool on_tap, egress, tail;
    } order[VPC_HOOK_NR] = {
        { VPC_HOOK_WIRE_EXIT, false, true, true },
        { VPC_HOOK_ADAPTER_EGRESS, false, true, false },
        { VPC_HOOK_ADAPTER_INGRESS, false, false, false },
        { VPC_HOOK_TAP_INGRESS, true, false, false },
    };
    int i;

    memcpy(port.guest_mac, h->mac, 6);
    memcpy(port.adapter_mac, h->adapter_mac, 6);
    /* Before TAP_INGRESS, which passes the host's frames on to it. */
    if (install_host_path_filter(h, log, sizeof(log)) < 0) {
        return -1;
    }
    for (i = 0; i < VPC_HOOK_NR; i++) {
        const char *name = vpc_bridge_hook_name(order[i].hook);
        int n = vpc_bridge_build_prog(&a, order[i].hook, &port);
        int prog, link;

        if (n < 0) {
            send_error(h, "internal error: cannot assemble the %s program "
                       "(%d)", name, n);
            return -1;
        }
        prog = vpc_bpf_prog_load_tc(a.insns, (unsigned)n, name, log,
                                    sizeof(log));
        if (prog < 0) {
            logmsg(LOG_ERR, "verifier log of %s:\n%s", name, log);
            send_error(h, "the kernel refused the %s program: %s%s", name,
                       strerror(-prog), prog == -EPERM ?
                       " (the helper needs CAP_BPF and CAP_NET_ADMIN: is it "
                       "installed setuid root?)" : "");
            return -1;
        }
        link = vpc_bpf_tcx_attach(prog, order[i].on_tap ? h->tap_ifindex :
                                  h->adapter_ifindex, order[i].egress,
                                  order[i].tail);
        close(prog);
        if (link < 0) {
            send_error(h, "cannot attach the %s program to %s: %s%s", name,
                       order[i].on_tap ? h->tap : h->ifname, strerror(-link),
                       link == -EINVAL ? " (tcx needs Linux 6.6 or later)" :
                       "");
            return -1;
        }
        h->links[order[i].hook] = link;
    }
    return 0;
}

/* Step 3: ATTACH mac=... */
static void attach(Helper *h, const uint8_t mac[6])
{
    VpcFbhMsg m = { .type = VPC_FBH_ATTACHED };
    char macstr[VPC_MAC_STRLEN], holder_mac[VPC_MAC_STRLEN];
    uint8_t now_mac[6];
    VpcFbRecord holder;
    unsigned ifindex;
    int fds[2], nfds, lock_fd, err;

    vpc_mac_format(mac, macstr);
    if (h->attached) {
        if (!vpc_mac_equal(mac, h->mac)) {
            send_error(h, "this NIC is already attached to %s as %s",
                       h->ifname, macstr);
            return;
        }
        fds[0] = h->counters_fd;
        fds[1] = h->ips_fd;
        send_msg(h->sock, &m, fds, h->ips_fd >= 0 ? 2 : 1);
        return;
    }
    if (vpc_mac_is_multicast(mac) || vpc_mac_is_zero(mac)) {
        send_error(h, "MAC %s is not a unicast address", macstr);
        return;
    }
    /* The adapter may have changed since READY. */
    err = adapter_info(h->ifname, &ifindex, now_mac, NULL);
    if (err || ifindex != h->adapter_ifindex) {
        send_error(h, "host adapter %s went away", h->ifname);
        return;
    }
    memcpy(h->adapter_mac, now_mac, 6);
    if (vpc_mac_equal(mac, h->adapter_mac)) {
        send_error(h, "MAC %s is the host adapter %s's own; give the NIC "
                   "another mac=", macstr, h->ifname);
        return;
    }

    lock_fd = registry_lock(h);
    if (lock_fd < 0) {
        send_error(h, "cannot lock the registry %s: %s", VPC_FB_RUN_DIR,
                   strerror(-lock_fd));
        return;
    }
    if (registry_sweep(h, mac, &holder)) {
        vpc_mac_format(holder.mac, holder_mac);
        send_error(h, "MAC %s is already in use on host adapter %s by "
                   "another guest (QEMU pid %d, tap %s); give this NIC "
                   "another mac=", holder_mac, h->ifname, holder.qemu_pid,
                   holder.tap);
        registry_unlock(h, lock_fd);
        return;
    }
    err = registry_add(h, mac);
    registry_unlock(h, lock_fd);
    if (err == -EEXIST) {
        send_error(h, "MAC %s is already in use on host adapter %s",
                   macstr, h->ifname);
        return;
    } else if (err) {
        send_error(h, "cannot record MAC %s in %s: %s", macstr,
                   h->adapter_dir, strerror(-err));
        return;
    }
    memcpy(h->mac, mac, 6);

    h->counters_fd = vpc_bpf_map_create(VPC_BPF_MAP_TYPE_ARRAY, 4,
                                        sizeof(VpcBridgeCounters), 1,
                                        VPC_BPF_F_RDONLY, "vpcfb_counters");
    if (h->counters_fd < 0) {
        send_error(h, "cannot create the counters map: %s%s",
                   strerror(-h->counters_fd), h->counters_fd == -EPERM ?
                   " (is the helper installed setuid root?)" : "");
        goto fail;
    }
    if (h->wifi) {
        h->ips_fd = vpc_bpf_map_create(VPC_BPF_MAP_TYPE_HASH,
                                       sizeof(VpcBridgeIpKey), 4,
                                       IPS_PER_GUEST, 0, "vpcfb_ips");
        if (h->ips_fd < 0) {
            send_error(h, "cannot create the address map: %s",
                       strerror(-h->ips_fd));
            goto fail;
        }
    }
    if (install_programs(h) < 0) {
        goto fail;
    }
    if (!h->wifi) {
        err = take_promiscuity(h);
        if (err) {
            send_error(h, "cannot put %s in promiscuous mode: %s", h->ifname,
                       strerror(-err));
            goto fail;
        }
    }
    h->attached = true;
    fds[0] = h->counters_fd;
    fds[1] = h->ips_fd;
    nfds = h->ips_fd >= 0 ? 2 : 1;
    err = send_msg(h->sock, &m, fds, (unsigned)nfds);
    if (err) {
        logmsg(LOG_ERR, "cannot answer QEMU: %s", strerror(-err));
    }
    return;
fail:
    detach(h);
    registry_remove(h);
}

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    return (int)syscall(434, pid, 0);
#endif
}

/* Step 4: serve ATTACH until QEMU goes, then clean up. */
static void keeper(Helper *h)
{
    char buf[VPC_FBH_MSG_MAX + 1], why[80];
    VpcFbhMsg m;

    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = h->sock, .events = POLLIN },
            { .fd = h->pidfd, .events = POLLIN },
        };
        ssize_t n;

        if (poll(pfd, h->pidfd >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (pfd[1].revents) {
            break;      /* QEMU exited */
        }
        if (!pfd[0].revents) {
            continue;
        }
        n = recv(h->sock, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (n <= 0) {
            break;      /* QEMU closed its end */
        }
        if (vpc_fbh_parse(buf, (size_t)n, &m, why, sizeof(why)) != 0) {
            send_error(h, "bad message from QEMU: %s", why);
            continue;
        }
        if (m.type == VPC_FBH_ATTACH) {
            attach(h, m.mac);
        } else {
            send_error(h, "unexpected message from QEMU");
        }
    }
    detach(h);
    registry_remove(h);
}

static void usage(void)
{
    fprintf(stderr,
            "Usage: qemu-filter-bridge-helper --fd=N --ifname=IF "
            "[--wifi=auto|on|off] [--mac-spoof]\n"
            "Run by QEMU for -netdev filter-bridge; access is controlled "
            "by %s.\n", VPC_ACL_FILE);
}

static bool is_seqpacket(int fd)
{
    int type = 0;
    socklen_t len = sizeof(type);

    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
           type == SOCK_SEQPACKET;
}

int main(int argc, char **argv)
{
    Helper h = {
        .sock = -1, .wifi_opt = -1, .pidfd = -1, .counters_fd = -1,
        .ips_fd = -1, .promisc_fd = -1,
    };
    pid_t pid;
    int i;

    for (i = 0; i < VPC_HOOK_NR; i++) {
        h.links[i] = -1;
    }
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (strncmp(arg, "--fd=", 5) == 0) {
            unsigned long v;

            if (!parse_decimal(arg + 5, &v) || v > INT_MAX) {
                usage();
                return 1;
            }
            h.sock = (int)v;
        } else if (strncmp(arg, "--ifname=", 9) == 0) {
            h.ifname = arg + 9;
        } else if (strcmp(arg, "--wifi=auto") == 0) {
            h.wifi_opt = -1;
        } else if (strcmp(arg, "--wifi=on") == 0) {
            h.wifi_opt = 1;
        } else if (strcmp(arg, "--wifi=off") == 0) {
            h.wifi_opt = 0;
        } else if (strcmp(arg, "--mac-spoof") == 0) {
            h.mac_spoof = true;
        } else {
            usage();
            return 1;
        }
    }
    if (h.sock < 0 || !h.ifname || !is_seqpacket(h.sock)) {
        usage();
        return 1;
    }
    {
        struct sigaction ign = { .sa_handler = SIG_IGN };

        sigaction(SIGPIPE, &ign, NULL);
    }
    umask(022);
    h.uid = getuid();
    h.gid = getgid();
    h.qemu_pid = getppid();

    if (!*h.ifname || strlen(h.ifname) >= IFNAMSIZ ||
        strchr(h.ifname, '/')) {
        send_error(&h, "'%s' is not an interface name", h.ifname);
        return 1;
    }
    /*
     * Set up as root: with real and saved ids root too, the user who
     * ran us can neither signal nor trace the keeper.
     */
    if (geteuid() == 0 && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) <
                           0)) {
        send_error(&h, "cannot become root: %s", strerror(errno));
        return 1;
    }
    if (!prepare(&h)) {
        return 1;
    }

    pid = fork();
    if (pid < 0) {
        logmsg(LOG_ERR, "cannot fork the keeper: %s", strerror(errno));
        return 1;
    }
    if (pid > 0) {
        return 0;       /* QEMU reaps us; the keeper carries on */
    }
    in_keeper = true;
    openlog("qemu-filter-bridge-helper", LOG_PID, LOG_DAEMON);
    setsid();
    i = open("/dev/null", O_RDWR);
    if (i >= 0) {
        dup2(i, 0);
        dup2(i, 1);
        dup2(i, 2);
        if (i > 2) {
            close(i);
        }
    }
    /* Our parent exited; QEMU is its parent, whose pid we noted. */
    h.pidfd = pidfd_open_compat(h.qemu_pid);
    if (h.pidfd < 0 && errno == ESRCH) {
        return 0;
    }
    keeper(&h);
    return 0;
}
