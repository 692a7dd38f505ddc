/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qemu-vswitch: the daemon's place in the file system.  A network NAME
 * has three files in the socket directory: NAME.lock, flocked by the
 * daemon that serves it (who holds it writes its pid there); NAME.sock,
 * the listening SOCK_SEQPACKET socket; NAME.leases, the DHCP lease file
 * (dhcp-leases.c).  The directory is the user's alone (0700), the socket
 * too (0600): the file system keeps other users out before SO_PEERCRED
 * does.
 */
#include "net/vpcnet/vswitch-daemon.h"
#include "net/vpcnet/daemon-util.h"
#include "net/vpcnet/parse.h"
#include "net/vpcnet/vswitch-proto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOCK_WAIT_MS        2000
#define LISTEN_BACKLOG      64

/*
 * Fill in the paths: $XDG_RUNTIME_DIR/vpcnet, else /run/vpcnet for root,
 * else /tmp/vpcnet-UID.  A relative XDG_RUNTIME_DIR is made absolute,
 * since a daemon changes to "/".
 */
int vswitch_compute_paths(const char *network, VswitchPaths *p)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    struct sockaddr_un addr;
    char cwd[4096];
    char abs_xdg[sizeof(cwd) + VSWITCH_DIR_BUF];

    if (xdg && xdg[0] && xdg[0] != '/') {
        if (!getcwd(cwd, sizeof(cwd))) {
            vpc_log("cannot resolve XDG_RUNTIME_DIR=%s: %s", xdg,
                    strerror(errno));
            return -1;
        }
        snprintf(abs_xdg, sizeof(abs_xdg), "%s/%s", cwd, xdg);
        xdg = abs_xdg;
    }
    if (vsw_socket_dir(p->dir, sizeof(p->dir), xdg, geteuid()) < 0 ||
        vsw_network_path(p->sock_path, sizeof(p->sock_path), p->dir,
                         network, ".sock") < 0 ||
        vsw_network_path(p->lock_path, sizeof(p->lock_path), p->dir,
                         network, ".lock") < 0 ||
        vsw_network_path(p->lease_path, sizeof(p->lease_path), p->dir,
                         network, ".leases") < 0) {
        vpc_log("socket directory name too long (XDG_RUNTIME_DIR=%s)",
                xdg ? xdg : "");
        return -1;
    }
    if (strlen(p->sock_path) >= sizeof(addr.sun_path)) {
        vpc_log("socket path too long for AF_UNIX: %s", p->sock_path);
        return -1;
    }
    return 0;
}

/*
 * Create the socket directory with mode 0700, or check that the one
 * found is ours and closed to others: in /tmp another user could have
 * made it first.
 */
int vswitch_make_dir(const VswitchPaths *p)
{
    struct stat st;

    if (mkdir(p->dir, 0700) < 0 && errno != EEXIST) {
        vpc_log("cannot create %s: %s", p->dir, strerror(errno));
        return -1;
    }
    if (lstat(p->dir, &st) < 0) {
        vpc_log("cannot stat %s: %s", p->dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
        vpc_log("refusing %s: not a directory owned by uid %u", p->dir,
                (unsigned)geteuid());
        return -1;
    }
    if ((st.st_mode & 07777) != 0700 && chmod(p->dir, 0700) < 0) {
        vpc_log("cannot chmod 0700 %s: %s", p->dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* vswitch_compute_paths() made sure that the socket's path fits. */
static void sun_addr(struct sockaddr_un *addr, const char *path)
{
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    memcpy(addr->sun_path, path,
           strnlen(path, sizeof(addr->sun_path) - 1));
}

int vswitch_connect(int fd, const char *path)
{
    struct sockaddr_un addr;

    sun_addr(&addr, path);
    return connect(fd, (struct sockaddr *)&addr, sizeof(addr));
}

/* Whether a daemon answers on @path right now. */
static bool socket_answers(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    bool ok;

    if (fd < 0) {
        return false;
    }
    ok = vswitch_connect(fd, path) == 0;
    close(fd);
    return ok;
}

/* The pid written in the lock file by its holder, or 0. */
static unsigned long lock_holder(int fd)
{
    char buf[24];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    uint64_t pid;

    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    /* The digits, then the end of the file or its newline. */
    return vpc_parse_u64_n(buf, strcspn(buf, "\n"), ULONG_MAX, &pid) < 0 ?
           0 : pid;
}

/*
 * Take NAME.lock.  Returns 0 with it held, 1 when another daemon holds
 * it and serves the network, -1 on errors.  A holder that does not
 * answer on the socket may be starting or exiting (it removes the socket
 * first), so the lock is retried for LOCK_WAIT_MS before giving up.
 */
int vswitch_take_lock(const VswitchPaths *p, int *lock_fd)
{
    int64_t deadline = vpc_monotonic_ms() + LOCK_WAIT_MS;
    char pid[24];
    unsigned long holder;
    int n;

    *lock_fd = open(p->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                    0600);
    if (*lock_fd < 0) {
        vpc_log("cannot open %s: %s", p->lock_path, strerror(errno));
        return -1;
    }
    while (flock(*lock_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            vpc_log("cannot lock %s: %s", p->lock_path, strerror(errno));
            return -1;
        }
        if (socket_answers(p->sock_path) ||
            vpc_monotonic_ms() > deadline) {
            holder = lock_holder(*lock_fd);
            vpc_log("network already served by another qemu-vswitch "
                    "(pid %lu, lock %s)", holder, p->lock_path);
            return 1;
        }
        usleep(20 * 1000);
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(*lock_fd, 0) < 0 || pwrite(*lock_fd, pid, n, 0) != n) {
        vpc_log("cannot write %s: %s", p->lock_path, strerror(errno));
    }
    return 0;
}

/*
 * Bind and listen on NAME.sock, mode 0600.  We hold the lock: any old
 * socket there is a dead daemon's.
 */
int vswitch_make_socket(const VswitchPaths *p, int *listen_fd)
{
    struct sockaddr_un addr;
    mode_t old_umask;
    int ret;

    if (unlink(p->sock_path) < 0 && errno != ENOENT) {
        vpc_log("cannot remove stale %s: %s", p->sock_path, strerror(errno));
        return -1;
    }
    *listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
                        SOCK_CLOEXEC, 0);
    if (*listen_fd < 0) {
        vpc_log("socket: %s", strerror(errno));
        return -1;
    }
    sun_addr(&addr, p->sock_path);
    /* No moment with a socket others could open. */
    old_umask = umask(0177);
    ret = bind(*listen_fd, (struct sockaddr *)&addr, sizeof(addr));
    umask(old_umask);
    if (ret < 0) {
        vpc_log("cannot bind %s: %s", p->sock_path, strerror(errno));
        return -1;
    }
    if (chmod(p->sock_path, 0600) < 0 ||
        listen(*listen_fd, LISTEN_BACKLOG) < 0) {
        vpc_log("cannot listen on %s: %s", p->sock_path, strerror(errno));
        unlink(p->sock_path);
        return -1;
    }
    return 0;
}
