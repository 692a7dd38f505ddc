/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qemu-vswitch: the daemon's sandbox policy, applied by sandbox.c once
 * the daemon is set up (see the theory of operation in qemu-vswitch.c).
 *
 * By then the lock is held, the socket listens, the lease file is
 * loaded, the event loop, signalfd and (with --daemonize) the syslog
 * connection exist, and the time zone is read.  What is left is the loop
 * of qemu-vswitch.c and what it calls, so the allowlist below is what
 * that loop was seen to call, plus the fallbacks named with their
 * reason.  The busiest calls come first.
 *
 * Seen: the daemon's three suites (tests/unit/test-vswitch-daemon.py,
 * tests/qtest/vpcnet-internal-test, tests/guest/test_internal.py) under
 * strace -f -ff, 23 daemons, the calls each made after its lockdown,
 * most frequent first: epoll_wait, sendmmsg, recvmmsg, write, close,
 * accept4, setsockopt, sendmsg, epoll_ctl, getsockopt, geteuid, recvmsg,
 * getpid, munmap, socket and connect (syslog: this machine has no
 * /dev/log), mmap, unlink, exit_group, read, openat, fsync, brk, fcntl,
 * rename.  Allowed though not seen there: clock_gettime and time (where
 * the vDSO is missing), mremap (a --list text past malloc's mmap
 * threshold), getrandom (mkstemp's second try), sendto (syslog's send
 * when /dev/log exists; tests/unit/test-vswitch-sandbox.c sends some).
 * Seen only before the lockdown, so not allowed: bind, listen, flock,
 * ftruncate, pwrite64, mkdir, chmod, umask, chdir, dup2, setsid,
 * signalfd4, epoll_create1, rt_sigprocmask, rt_sigaction, mprotect, the
 * lease file's load (newfstatat, lseek) and the time zone's.
 *
 * The file system: only the socket directory, where the lease file is
 * rewritten (mkstemp, write, fsync, rename, fsync of the directory) and
 * the socket removed at exit.  syslog's /dev/log needs no Landlock rule:
 * Landlock does not govern connecting to a named socket.
 */
#include "net/vpcnet/vswitch-daemon.h"
#include "net/vpcnet/daemon-util.h"
#include "net/vpcnet/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#define ALLOW(call)         { .nr = SYS_##call, .name = #call }
/* Allowed when argument @arg, masked with @mask, is @value. */
#define ALLOW_IF(call, arg, mask, value) \
    { .nr = SYS_##call, .name = #call, \
      .check = { { (arg), (mask), (value) } } }
#define ALLOW_IF2(call, a1, m1, v1, a2, m2, v2) \
    { .nr = SYS_##call, .name = #call, \
      .check = { { (a1), (m1), (v1) }, { (a2), (m2), (v2) } } }
#define EVERY_BIT           UINT32_MAX

static const VpcSyscallRule vswitch_syscalls[] = {
    /* The loop: wait, then read and write the ports' sockets. */
#ifdef SYS_epoll_wait
    ALLOW(epoll_wait),
#else
    ALLOW(epoll_pwait),
#endif
    ALLOW(recvmmsg),        /* a port's messages, RX_BATCH at a time */
    ALLOW(sendmmsg),        /* a port's queued frames */
    ALLOW(sendmsg),         /* WELCOME, REFUSED, LIST */
    ALLOW(recvmsg),         /* the first message: HELLO or LIST */
    ALLOW(epoll_ctl),       /* connections in and out, EPOLLOUT */
    ALLOW(accept4),         /* new connections */
    /* SO_PEERCRED: only the daemon's user (and root) may connect. */
    ALLOW_IF2(getsockopt, 1, EVERY_BIT, SOL_SOCKET,
              2, EVERY_BIT, SO_PEERCRED),
    ALLOW(geteuid),
    /* A port's send and receive buffers (PORT_SOCK_BUF). */
    ALLOW_IF2(setsockopt, 1, EVERY_BIT, SOL_SOCKET,
              2, EVERY_BIT, SO_SNDBUF),
    ALLOW_IF2(setsockopt, 1, EVERY_BIT, SOL_SOCKET,
              2, EVERY_BIT, SO_RCVBUF),
    ALLOW(read),            /* the signalfd: SIGTERM, SIGINT, SIGHUP */
    ALLOW(write),           /* log lines on stderr, the lease file */
    ALLOW(close),
    /* The clocks are read in the vDSO; these where it is missing. */
    ALLOW(clock_gettime),
#ifdef SYS_time
    ALLOW(time),
#endif
    /*
     * malloc and free: a port's queue (2.3 MB, its own mapping), the
     * --list text (open_memstream, which may grow by mremap).  Never
     * executable memory: no PROT_EXEC, no mprotect.
     */
    ALLOW_IF(mmap, 2, PROT_EXEC, 0),
    ALLOW(munmap),
    ALLOW(mremap),
    ALLOW(brk),
    ALLOW(getpid),          /* --list's header, syslog's LOG_PID */
    /*
     * The lease file (dhcp-leases.c): mkstemp's openat, its FD_CLOEXEC,
     * write, fsync, rename over NAME.leases, openat and fsync of the
     * directory; unlink of the temporary file if that failed, and of
     * the socket at exit.  mkstemp asks getrandom for a new name when
     * the first one it drew exists.
     */
    ALLOW(openat),
    ALLOW_IF(fcntl, 1, EVERY_BIT, F_SETFD),
    ALLOW(fsync),
#ifdef SYS_rename
    ALLOW(rename),
#elif defined(SYS_renameat)
    ALLOW(renameat),
#else
    ALLOW(renameat2),
#endif
#ifdef SYS_unlink
    ALLOW(unlink),
#else
    ALLOW(unlinkat),
#endif
    ALLOW(getrandom),
    /*
     * syslog (--daemonize): the connection to /dev/log is made before
     * the lockdown, but glibc makes it again after a failed send, and on
     * every message while /dev/log is missing: a datagram socket, its
     * connect, its send (sendto).  A stream socket, which glibc tries
     * next when /dev/log is one, is refused with EACCES (those messages
     * are lost); any other socket kills.
     */
    ALLOW(sendto),
    ALLOW_IF2(socket, 0, EVERY_BIT, AF_UNIX,
              1, EVERY_BIT, SOCK_DGRAM | SOCK_CLOEXEC),
    { .nr = SYS_socket, .name = "socket",
      .check = { { 0, EVERY_BIT, AF_UNIX } }, .error = EACCES },
    ALLOW(connect),
    ALLOW(exit_group),
};

/* The socket directory: the lease file's rewrite, the socket's unlink. */
#define SOCKET_DIR_ACCESS (VPC_LANDLOCK_FS_READ_FILE | \
                           VPC_LANDLOCK_FS_WRITE_FILE | \
                           VPC_LANDLOCK_FS_READ_DIR | \
                           VPC_LANDLOCK_FS_REMOVE_FILE | \
                           VPC_LANDLOCK_FS_MAKE_REG)

int vswitch_sandbox(const VswitchPaths *paths, VpcSandboxReport *report)
{
    const VpcSandboxPath dir = {
        .path = paths->dir, .access = SOCKET_DIR_ACCESS,
    };
    const VpcSandbox sb = {
        .rules = vswitch_syscalls,
        .n_rules = sizeof(vswitch_syscalls) / sizeof(vswitch_syscalls[0]),
        .paths = &dir,
        .n_paths = 1,
    };
    char err[160];

    if (vpc_sandbox_apply(&sb, report, err, sizeof(err)) < 0) {
        vpc_log("cannot sandbox the daemon: %s (--no-sandbox runs it "
                "without)", err);
        return -1;
    }
    if (report->landlock) {
        vpc_log("sandbox: seccomp allowlist of %zu rules, Landlock ABI %d: "
                "files only in %s", sb.n_rules, report->landlock_abi,
                paths->dir);
    } else {
        vpc_log("sandbox: seccomp allowlist of %zu rules%s; file system "
                "not restricted: %s", sb.n_rules,
                report->seccomp ? "" : " not installed", report->note);
    }
    return 0;
}
