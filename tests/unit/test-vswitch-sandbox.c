/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of qemu-vswitch's lockdown: the daemon's own policy
 * (vswitch_sandbox() of net/vpcnet/vswitch-sandbox.c, the function and
 * table the daemon applies) on sandbox.c.  Every case forks a child that
 * sets itself up as the daemon does, with the daemon's own setup
 * functions (socket directory, lock, listening socket, lease file), locks
 * itself down, and then either makes the calls the daemon's loop makes,
 * all of which must work, or one the daemon never makes, which must kill
 * it with SIGSYS (seccomp) or fail with EACCES (Landlock, the gentle
 * socket rule).  A child cannot use GLib once locked down: it reports
 * each step on a pipe with write(2), so that a death names the step it
 * died in, and the parent asserts.
 */
#include <glib.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/vpcnet/daemon-util.h"
#include "net/vpcnet/dhcp-leases.h"
#include "net/vpcnet/dhcp-server.h"
#include "net/vpcnet/macaddr.h"
#include "net/vpcnet/sandbox.h"
#include "net/vpcnet/vswitch-daemon.h"

#define NETWORK         "sbx"
#define LEASE_MAC       "00:03:ff:12:34:56"
#define LEASE_ADDR      0xa9fe0014u     /* 169.254.0.20 */
#define CHILD_TIMEOUT_S 20

/* In the child: the write end of the progress pipe. */
static int progress_fd = -1;

/* In the child: one line of progress for the parent. */
static void G_GNUC_PRINTF(1, 2) say(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n > sizeof(line) - 2) {
        n = sizeof(line) - 2;
    }
    line[n++] = '\n';
    if (write(progress_fd, line, n) != n) {
        _exit(99);
    }
}

/* In the child: a step that did not work.  Exits 1. */
static void G_GNUC_NORETURN fail(const char *what)
{
    say("FAIL %s: %s", what, strerror(errno));
    _exit(1);
}

#define CHECK(cond, what) do { if (!(cond)) { fail(what); } } while (0)

/**
 * Daemon - what a child set up, as qemu-vswitch has it when it locks
 * itself down.
 * @paths: the network's files, under the test's XDG_RUNTIME_DIR.
 * @lock_fd: NAME.lock, held.
 * @listen_fd: NAME.sock, listening.
 * @client_fd: a port's end of a connection to it, made before.
 * @epfd: the event loop.
 * @signal_fd: SIGTERM.
 * @dhcp: a DHCP server with one bound lease.
 * @leases: its lease file.
 * @report: what the sandbox applied.
 */
typedef struct Daemon {
    VswitchPaths paths;
    int lock_fd;
    int listen_fd;
    int client_fd;
    int epfd;
    int signal_fd;
    VpcDhcpServer *dhcp;
    VpcDhcpLeaseFile *leases;
    VpcSandboxReport report;
} Daemon;

/**
 * Fixture - one case's place in the file system.
 * @base: its XDG_RUNTIME_DIR (the socket directory is base/vpcnet).
 * @outside: a file beside the socket directory, which Landlock hides.
 */
typedef struct Fixture {
    char *base;
    char *outside;
} Fixture;

static void fixture_init(Fixture *f)
{
    GError *err = NULL;

    f->base = g_dir_make_tmp("vsw-sandbox-XXXXXX", &err);
    g_assert_no_error(err);
    f->outside = g_build_filename(f->base, "outside", NULL);
    g_assert_true(g_file_set_contents(f->outside, "not for the daemon\n",
                                      -1, NULL));
}

static void remove_tree(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *sub = g_build_filename(path, name, NULL);

        if (g_file_test(sub, G_FILE_TEST_IS_DIR) &&
            !g_file_test(sub, G_FILE_TEST_IS_SYMLINK)) {
            remove_tree(sub);
        } else {
            g_unlink(sub);
        }
    }
    if (dir) {
        g_dir_close(dir);
    }
    g_rmdir(path);
}

static void fixture_free(Fixture *f)
{
    remove_tree(f->base);
    g_free(f->base);
    g_free(f->outside);
}

/*
 * In the child: set up as qemu-vswitch does (its own functions where it
 * has them), then lock down with vswitch_sandbox().
 */
static void daemon_setup(Daemon *d, const Fixture *f, bool lock_down)
{
    struct epoll_event ev = { .events = EPOLLIN };
    struct rlimit no_core = { 0, 0 };
    VpcDhcpLeaseInfo lease = {
        .addr = LEASE_ADDR, .state = VPC_DHCP_LEASE_BOUND,
        .expires = (uint64_t)time(NULL) + 3600, .hostname = "sandboxed",
    };
    static VpcDhcpConfig cfg;
    sigset_t mask;

    /* A SIGSYS would dump core in the build directory. */
    setrlimit(RLIMIT_CORE, &no_core);
    vpc_log_init("test-vswitch-sandbox");
    setenv("XDG_RUNTIME_DIR", f->base, 1);
    CHECK(vswitch_compute_paths(NETWORK, &d->paths) == 0, "paths");
    CHECK(vswitch_make_dir(&d->paths) == 0, "socket directory");
    CHECK(vswitch_take_lock(&d->paths, &d->lock_fd) == 0, "lock");
    CHECK(vswitch_make_socket(&d->paths, &d->listen_fd) == 0, "socket");

    vpc_dhcp_config_init(&cfg);
    d->dhcp = vpc_dhcp_server_new(&cfg);
    CHECK(d->dhcp, "DHCP server");
    CHECK(vpc_mac_parse(LEASE_MAC, lease.mac) == 0, "MAC");
    CHECK(!vpc_dhcp_server_restore(d->dhcp, &lease), "restore a lease");
    d->leases = vpc_dhcp_lease_file_new(d->paths.lease_path, NULL, NULL);
    CHECK(d->leases, "lease file");
    vpc_dhcp_lease_file_load(d->leases, d->dhcp);

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0, "sigprocmask");
    d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    CHECK(d->signal_fd >= 0, "signalfd");
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    CHECK(d->epfd >= 0, "epoll");
    ev.data.fd = d->listen_fd;
    CHECK(epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->listen_fd, &ev) == 0,
          "epoll_ctl");
    ev.data.fd = d->signal_fd;
    CHECK(epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->signal_fd, &ev) == 0,
          "epoll_ctl");

    /* A port connects (QEMU does it from outside, before or after). */
    d->client_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    CHECK(d->client_fd >= 0, "client socket");
    CHECK(vswitch_connect(d->client_fd, d->paths.sock_path) == 0,
          "client connect");

    if (lock_down) {
        CHECK(vswitch_sandbox(&d->paths, &d->report) == 0, "sandbox");
        say("sandboxed seccomp=%d landlock=%d abi=%d",
            d->report.seccomp, d->report.landlock, d->report.landlock_abi);
    }
}

/**
 * Child - a forked child, seen from the parent.
 * @pid: its pid.
 * @lines: what it said, line by line.
 * @status: its wait status.
 */
typedef struct Child {
    pid_t pid;
    GPtrArray *lines;
    int status;
} Child;

typedef void ChildBody(const Fixture *f, void *opaque);
/* Called by the parent for each line the child says. */
typedef void ChildLine(Child *c, const char *line, void *opaque);

/*
 * Fork, run @body in the child (which exits 0 when it returns), collect
 * its lines until it exits or CHILD_TIMEOUT_S pass (then it is killed).
 */
static void run_child(Child *c, const Fixture *f, ChildBody *body,
                      ChildLine *on_line, void *opaque)
{
    gint64 deadline = g_get_monotonic_time() + CHILD_TIMEOUT_S * G_USEC_PER_SEC;
    GString *buf = g_string_new(NULL);
    int pipefd[2];

    g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
    fflush(stdout);
    fflush(stderr);
    c->lines = g_ptr_array_new_with_free_func(g_free);
    c->pid = fork();
    g_assert_cmpint(c->pid, >=, 0);
    if (c->pid == 0) {
        close(pipefd[0]);
        progress_fd = pipefd[1];
        body(f, opaque);
        _exit(0);
    }
    close(pipefd[1]);
    for (;;) {
        struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        char chunk[512], *nl;
        ssize_t n;

        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
            g_test_message("child %d timed out", c->pid);
            kill(c->pid, SIGKILL);
            break;
        }
        n = read(pipefd[0], chunk, sizeof(chunk));
        if (n <= 0) {
            break;
        }
        g_string_append_len(buf, chunk, n);
        while ((nl = strchr(buf->str, '\n'))) {
            char *line = g_strndup(buf->str, nl - buf->str);

            g_string_erase(buf, 0, nl - buf->str + 1);
            g_test_message("child: %s", line);
            g_ptr_array_add(c->lines, line);
            if (on_line) {
                on_line(c, line, opaque);
            }
        }
    }
    close(pipefd[0]);
    g_string_free(buf, TRUE);
    g_assert_cmpint(waitpid(c->pid, &c->status, 0), ==, c->pid);
}

static const char *child_last(const Child *c)
{
    return c->lines->len ? g_ptr_array_index(c->lines, c->lines->len - 1)
                         : "(nothing)";
}

static bool child_said(const Child *c, const char *text)
{
    for (guint i = 0; i < c->lines->len; i++) {
        if (strstr(g_ptr_array_index(c->lines, i), text)) {
            return true;
        }
    }
    return false;
}

static void assert_exited(const Child *c, int code)
{
    if (WIFSIGNALED(c->status)) {
        g_test_message("child killed by signal %d (%s) after: %s",
                       WTERMSIG(c->status), strsignal(WTERMSIG(c->status)),
                       child_last(c));
    }
    g_assert_true(WIFEXITED(c->status));
    g_assert_cmpint(WEXITSTATUS(c->status), ==, code);
}

static void child_free(Child *c)
{
    g_ptr_array_free(c->lines, TRUE);
}

/* Whether the kernel will enforce a Landlock domain. */
static bool have_landlock(void)
{
    return vpc_landlock_abi() > 0;
}

/* The daemon's loop: every kind of call it makes, sandboxed. */

static void daemon_calls_body(const Fixture *f, void *opaque)
{
    static uint8_t msg[4][256];
    struct epoll_event ev = { .events = EPOLLIN }, got[4];
    struct iovec iov[4];
    struct mmsghdr mm[4];
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 1 };
    struct signalfd_siginfo si;
    struct ucred cred;
    socklen_t cred_len = sizeof(cred);
    struct timespec ts;
    char *text = NULL, *big, *grown;
    size_t text_len = 0;
    FILE *mem;
    Daemon d;
    int conn, fd, size = 1 << 20, n, i;

    daemon_setup(&d, f, true);

    say("accept4");
    conn = accept4(d.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    CHECK(conn >= 0, "accept4");
    say("SO_PEERCRED");
    CHECK(getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) == 0,
          "getsockopt");
    CHECK(cred.uid == geteuid(), "peer uid");
    say("SO_SNDBUF, SO_RCVBUF");
    CHECK(setsockopt(conn, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) == 0,
          "SO_SNDBUF");
    CHECK(setsockopt(conn, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) == 0,
          "SO_RCVBUF");
    say("epoll_ctl");
    ev.data.fd = conn;
    CHECK(epoll_ctl(d.epfd, EPOLL_CTL_ADD, conn, &ev) == 0, "add");
    ev.events = EPOLLIN | EPOLLOUT;
    CHECK(epoll_ctl(d.epfd, EPOLL_CTL_MOD, conn, &ev) == 0, "mod");
    ev.events = EPOLLIN;
    CHECK(epoll_ctl(d.epfd, EPOLL_CTL_MOD, conn, &ev) == 0, "mod back");

    say("sendmsg, epoll_wait, recvmsg");
    iov[0].iov_base = msg[0];
    iov[0].iov_len = 64;
    memset(msg[0], 'h', 64);
    CHECK(sendmsg(d.client_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == 64,
          "sendmsg");
    n = epoll_wait(d.epfd, got, 4, 5000);
    CHECK(n == 1 && got[0].data.fd == conn, "epoll_wait");
    iov[0].iov_len = sizeof(msg[0]);
    CHECK(recvmsg(conn, &mh, MSG_DONTWAIT) == 64, "recvmsg");

    say("sendmmsg, recvmmsg");
    memset(mm, 0, sizeof(mm));
    for (i = 0; i < 4; i++) {
        iov[i].iov_base = msg[i];
        iov[i].iov_len = 100 + i;
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK(sendmmsg(conn, mm, 4, MSG_DONTWAIT | MSG_NOSIGNAL) == 4,
          "sendmmsg");
    for (i = 0; i < 4; i++) {
        iov[i].iov_len = sizeof(msg[i]);
    }
    n = recvmmsg(d.client_fd, mm, 4, MSG_DONTWAIT, NULL);
    CHECK(n == 4 && mm[3].msg_len == 103, "recvmmsg");

    say("malloc, realloc, free");
    big = malloc(3 << 20);      /* a port's queue: its own mapping */
    CHECK(big, "malloc");
    memset(big, 1, 3 << 20);
    grown = malloc(200 << 10);
    CHECK(grown, "malloc");
    grown = realloc(grown, 8 << 20);
    CHECK(grown, "realloc");
    memset(grown, 2, 8 << 20);
    free(grown);
    free(big);
    for (i = 0; i < 1000; i++) {
        free(malloc(4096 + i));
    }

    say("open_memstream");
    mem = open_memstream(&text, &text_len);
    CHECK(mem, "open_memstream");
    for (i = 0; i < 20000; i++) {
        fprintf(mem, "  169.254.%d.%d  %s  bound  expires in %d s\n",
                i / 256, i % 256, LEASE_MAC, i);
    }
    CHECK(fclose(mem) == 0 && text_len > (1 << 20), "fclose");
    free(text);

    say("clocks, getpid");
    CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0, "clock_gettime");
    CHECK(time(NULL) > 0, "time");
    CHECK(getpid() > 0, "getpid");

    say("lease file");
    CHECK(vpc_dhcp_lease_file_save(d.leases, d.dhcp, time(NULL)) == 0,
          "lease file save");
    CHECK(vpc_dhcp_lease_file_save(d.leases, d.dhcp, time(NULL)) == 0,
          "lease file save over the first");
    /* The save fsyncs the directory if it can open it: it must. */
    fd = open(d.paths.dir, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && fsync(fd) == 0, "the socket directory's fsync");
    close(fd);

    say("logging");
    vpc_log("a line on stderr from the sandbox");

    say("waiting for SIGTERM");
    n = epoll_wait(d.epfd, got, 4, 5000);
    CHECK(n == 1 && got[0].data.fd == d.signal_fd, "epoll_wait signal");
    CHECK(read(d.signal_fd, &si, sizeof(si)) == sizeof(si) &&
          si.ssi_signo == SIGTERM, "signalfd read");

    say("teardown");
    CHECK(unlink(d.paths.sock_path) == 0, "unlink the socket");
    close(conn);
    close(d.client_fd);
    close(d.listen_fd);
    close(d.epfd);
    close(d.signal_fd);
    close(d.lock_fd);
    vpc_dhcp_lease_file_free(d.leases);
    vpc_dhcp_server_free(d.dhcp);
    say("done");
}

static void daemon_calls_line(Child *c, const char *line, void *opaque)
{
    if (!strcmp(line, "waiting for SIGTERM")) {
        kill(c->pid, SIGTERM);
    }
}

static void test_daemon_calls(void)
{
    g_autofree char *leases = NULL, *sock = NULL, *text = NULL;
    Fixture f;
    Child c;

    fixture_init(&f);
    run_child(&c, &f, daemon_calls_body, daemon_calls_line, NULL);
    assert_exited(&c, 0);
    g_assert_true(child_said(&c, "done"));
    g_assert_true(child_said(&c, have_landlock() ? "landlock=1"
                                                 : "landlock=0"));
    g_assert_true(child_said(&c, "seccomp=1"));

    /* What the sandboxed child wrote is there; its socket is not. */
    leases = g_build_filename(f.base, "vpcnet", NETWORK ".leases", NULL);
    sock = g_build_filename(f.base, "vpcnet", NETWORK ".sock", NULL);
    g_assert_true(g_file_get_contents(leases, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, LEASE_MAC " 169.254.0.20 bound "));
    g_assert_nonnull(strstr(text, " sandboxed\n"));
    g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
    child_free(&c);
    fixture_free(&f);
}

/* The status file of a locked-down process. */

static void status_body(const Fixture *f, void *opaque)
{
    int *pipefd = opaque;
    Daemon d;
    char c;

    close(pipefd[1]);
    daemon_setup(&d, f, true);
    say("look at me");
    /* The parent closes its end when it has looked. */
    CHECK(read(pipefd[0], &c, 1) == 0, "read");
}

static void status_line(Child *c, const char *line, void *opaque)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", c->pid);
    g_autofree char *status = NULL;
    int *pipefd = opaque;

    if (strcmp(line, "look at me")) {
        return;
    }
    g_assert_true(g_file_get_contents(path, &status, NULL, NULL));
    g_assert_nonnull(strstr(status, "\nNoNewPrivs:\t1\n"));
    g_assert_nonnull(strstr(status, "\nSeccomp:\t2\n"));
    close(pipefd[1]);
    pipefd[1] = -1;
}

static void test_status(void)
{
    int pipefd[2];
    Fixture f;
    Child c;

    fixture_init(&f);
    g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
    run_child(&c, &f, status_body, status_line, pipefd);
    assert_exited(&c, 0);
    g_assert_cmpint(pipefd[1], ==, -1);
    close(pipefd[0]);
    child_free(&c);
    fixture_free(&f);
}

/*
 * syslog, sandboxed: the first message through the connection made
 * before; after /dev/log went away and came back, glibc's reconnect
 * (socket, connect, sendto); and a /dev/log that is a stream socket,
 * whose socket() the policy refuses with EACCES rather than kill.  The
 * child gets /dev of its own (a mount namespace), which the parent
 * reaches through /proc/PID/root.
 */

static void write_proc(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);

    CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text),
          path);
    close(fd);
}

static void private_dev(void)
{
    char map[64];
    uid_t uid = geteuid();
    gid_t gid = getegid();

    if (unshare(CLONE_NEWNS) < 0) {
        /* Not root: a user namespace of our own, mapped to ourselves. */
        CHECK(unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0, "unshare");
        write_proc("/proc/self/setgroups", "deny");
        snprintf(map, sizeof(map), "%u %u 1", (unsigned)uid, (unsigned)uid);
        write_proc("/proc/self/uid_map", map);
        snprintf(map, sizeof(map), "%u %u 1", (unsigned)gid, (unsigned)gid);
        write_proc("/proc/self/gid_map", map);
    }
    CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0,
          "private mounts");
    CHECK(mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
                "mode=0755") == 0, "tmpfs on /dev");
}

static int bind_unix(const char *path, int type)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        (type == SOCK_STREAM && listen(fd, 4) < 0)) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

/* A datagram waiting on @fd, in @buf; its length or -1 (sandbox-safe). */
static ssize_t recv_now(int fd, char *buf, size_t size)
{
    struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

    if (n >= 0) {
        buf[n] = '\0';
    }
    return n;
}

/* In the parent: a datagram that arrives on @fd within @ms. */
static ssize_t recv_within(int fd, char *buf, size_t size, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    if (ms && poll(&pfd, 1, ms) != 1) {
        return -1;
    }
    return recv_now(fd, buf, size);
}

typedef struct SyslogCase {
    int go[2];          /* parent to child: go on (one byte per step) */
    int receiver;       /* the parent's /dev/log */
    int stream;         /* the parent's stream /dev/log */
    bool got_three;
} SyslogCase;

static void syslog_body(const Fixture *f, void *opaque)
{
    SyslogCase *sc = opaque;
    char buf[512], c;
    int receiver;
    Daemon d;

    private_dev();
    receiver = bind_unix("/dev/log", SOCK_DGRAM);
    CHECK(receiver >= 0, "bind /dev/log");
    vpc_log_init("test-vswitch-sandbox");
    vpc_log_to_syslog();
    /* vswitch_sandbox() logs what it applied: sandboxed, to syslog. */
    daemon_setup(&d, f, true);
    /* syslog() sent it before it returned: it is there. */
    CHECK(recv_now(receiver, buf, sizeof(buf)) > 0, "recvmsg");
    say("syslog got: %s", buf);

    close(receiver);
    vpc_log("two, for nobody");
    say("receiver gone");
    CHECK(read(sc->go[0], &c, 1) == 1, "wait");
    vpc_log("three, after a reconnect");
    say("sent three");
    CHECK(read(sc->go[0], &c, 1) == 1, "wait");
    vpc_log("four, to a stream socket");
    say("sent four");
}

static void syslog_line(Child *c, const char *line, void *opaque)
{
    SyslogCase *sc = opaque;
    g_autofree char *dev_log = g_strdup_printf("/proc/%d/root/dev/log",
                                               c->pid);
    char buf[512];

    if (!strcmp(line, "receiver gone")) {
        g_assert_cmpint(unlink(dev_log), ==, 0);
        sc->receiver = bind_unix(dev_log, SOCK_DGRAM);
        g_assert_cmpint(sc->receiver, >=, 0);
        g_assert_cmpint(write(sc->go[1], "g", 1), ==, 1);
    } else if (!strcmp(line, "sent three")) {
        sc->got_three = recv_within(sc->receiver, buf, sizeof(buf),
                                    5000) > 0 &&
                        strstr(buf, "three, after a reconnect");
        g_assert_cmpint(recv_within(sc->receiver, buf, sizeof(buf), 0), <,
                        0);
        close(sc->receiver);
        g_assert_cmpint(unlink(dev_log), ==, 0);
        sc->stream = bind_unix(dev_log, SOCK_STREAM);
        g_assert_cmpint(sc->stream, >=, 0);
        g_assert_cmpint(write(sc->go[1], "g", 1), ==, 1);
    }
}

static void test_syslog(void)
{
    SyslogCase sc = { .receiver = -1, .stream = -1 };
    Fixture f;
    Child c;

    fixture_init(&f);
    g_assert_cmpint(pipe2(sc.go, O_CLOEXEC), ==, 0);
    run_child(&c, &f, syslog_body, syslog_line, &sc);
    assert_exited(&c, 0);
    g_assert_true(child_said(&c, "syslog got: "));
    g_assert_true(child_said(&c, "sandbox: seccomp allowlist of"));
    g_assert_true(sc.got_three);
    g_assert_true(child_said(&c, "sent four"));
    /* The stream socket was refused (EACCES): nobody connected. */
    g_assert_cmpint(sc.stream, >=, 0);
    g_assert_cmpint(poll(&(struct pollfd){ .fd = sc.stream, .events = POLLIN },
                         1, 0), ==, 0);
    close(sc.stream);
    close(sc.go[0]);
    close(sc.go[1]);
    child_free(&c);
    fixture_free(&f);
}

/* What the daemon never does: killed (SIGSYS), or refused (an errno). */

typedef enum Expect {
    EXPECT_SIGSYS,      /* seccomp kills the process */
    EXPECT_EACCES,      /* refused: EACCES */
    EXPECT_LANDLOCK,    /* EACCES when the kernel has Landlock, else fine */
} Expect;

/* A forbidden step: 0 when it worked, else the errno it failed with. */
typedef int ForbiddenFn(const Daemon *d, const Fixture *f);

typedef struct Forbidden {
    const char *name;
    ForbiddenFn *fn;
    Expect expect;
} Forbidden;

static int result(int ret)
{
    return ret < 0 ? errno : 0;
}

static int do_execve(const Daemon *d, const Fixture *f)
{
    char *argv[] = { (char *)"/bin/true", NULL };

    return result(execve("/bin/true", argv, environ));
}

static int do_ptrace(const Daemon *d, const Fixture *f)
{
    return result(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
}

static int do_socket_inet(const Daemon *d, const Fixture *f)
{
    return result(socket(AF_INET, SOCK_STREAM, 0));
}

static int do_socket_inet6(const Daemon *d, const Fixture *f)
{
    return result(socket(AF_INET6, SOCK_DGRAM, 0));
}

static int do_socket_netlink(const Daemon *d, const Fixture *f)
{
    return result(socket(AF_NETLINK, SOCK_RAW, 0));
}

static int do_socket_unix_stream(const Daemon *d, const Fixture *f)
{
    return result(socket(AF_UNIX, SOCK_STREAM, 0));
}

static int do_socket_unix_seqpacket(const Daemon *d, const Fixture *f)
{
    return result(socket(AF_UNIX, SOCK_SEQPACKET, 0));
}

static int do_fork(const Daemon *d, const Fixture *f)
{
    pid_t pid = fork();

    if (pid == 0) {
        _exit(0);
    }
    return result(pid);
}

static int do_kill(const Daemon *d, const Fixture *f)
{
    return result(kill(getpid(), 0));
}

static int do_mmap_exec(const Daemon *d, const Fixture *f)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? errno : 0;
}

static int do_mprotect(const Daemon *d, const Fixture *f)
{
    static char page[8192] __attribute__((aligned(4096)));

    return result(mprotect(page, 4096, PROT_READ));
}

static int do_setsockopt_other(const Daemon *d, const Fixture *f)
{
    int one = 1;

    return result(setsockopt(d->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one,
                             sizeof(one)));
}

static int do_getsockopt_other(const Daemon *d, const Fixture *f)
{
    socklen_t len = sizeof(int);
    int type;

    return result(getsockopt(d->listen_fd, SOL_SOCKET, SO_TYPE, &type,
                             &len));
}

static int do_fcntl_setfl(const Daemon *d, const Fixture *f)
{
    return result(fcntl(d->client_fd, F_SETFL, O_NONBLOCK));
}

static int do_bind(const Daemon *d, const Fixture *f)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    return result(bind(d->client_fd, (struct sockaddr *)&addr,
                       sizeof(sa_family_t)));
}

#ifdef VPC_SANDBOX_ARCH_X86_64
static int do_x32(const Daemon *d, const Fixture *f)
{
    return result(syscall(0x40000000 | SYS_getpid));
}
#endif

static int do_open_outside(const Daemon *d, const Fixture *f)
{
    int fd = open(f->outside, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        close(fd);
    }
    return result(fd);
}

static int do_create_outside(const Daemon *d, const Fixture *f)
{
    char path[VSWITCH_PATH_BUF];
    int fd;

    snprintf(path, sizeof(path), "%s/new", f->base);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
    }
    return result(fd);
}

static int do_unlink_outside(const Daemon *d, const Fixture *f)
{
    return result(unlink(f->outside));
}

static int do_open_etc(const Daemon *d, const Fixture *f)
{
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        close(fd);
    }
    return result(fd);
}

static const Forbidden forbidden[] = {
    { "execve", do_execve, EXPECT_SIGSYS },
    { "ptrace", do_ptrace, EXPECT_SIGSYS },
    { "socket-inet", do_socket_inet, EXPECT_SIGSYS },
    { "socket-inet6", do_socket_inet6, EXPECT_SIGSYS },
    { "socket-netlink", do_socket_netlink, EXPECT_SIGSYS },
    { "socket-unix-seqpacket", do_socket_unix_seqpacket, EXPECT_EACCES },
    { "socket-unix-stream", do_socket_unix_stream, EXPECT_EACCES },
    { "fork", do_fork, EXPECT_SIGSYS },
    { "kill", do_kill, EXPECT_SIGSYS },
    { "mmap-exec", do_mmap_exec, EXPECT_SIGSYS },
    { "mprotect", do_mprotect, EXPECT_SIGSYS },
    { "setsockopt-reuseaddr", do_setsockopt_other, EXPECT_SIGSYS },
    { "getsockopt-type", do_getsockopt_other, EXPECT_SIGSYS },
    { "fcntl-setfl", do_fcntl_setfl, EXPECT_SIGSYS },
    { "bind", do_bind, EXPECT_SIGSYS },
#ifdef VPC_SANDBOX_ARCH_X86_64
    { "x32-getpid", do_x32, EXPECT_SIGSYS },
#endif
    { "open-beside-the-socket-dir", do_open_outside, EXPECT_LANDLOCK },
    { "create-beside-the-socket-dir", do_create_outside, EXPECT_LANDLOCK },
    { "unlink-beside-the-socket-dir", do_unlink_outside, EXPECT_LANDLOCK },
    { "open-etc-passwd", do_open_etc, EXPECT_LANDLOCK },
};

static void forbidden_body(const Fixture *f, void *opaque)
{
    const Forbidden *fb = opaque;
    Daemon d;
    int err;

    daemon_setup(&d, f, true);
    say("calling %s", fb->name);
    err = fb->fn(&d, f);
    say("%s returned errno %d", fb->name, err);
    _exit(err);
}

static void test_forbidden(gconstpointer data)
{
    const Forbidden *fb = data;
    g_autofree char *calling = g_strdup_printf("calling %s", fb->name);
    Fixture f;
    Child c;

    fixture_init(&f);
    run_child(&c, &f, forbidden_body, NULL, (void *)fb);
    /* It got as far as the forbidden call. */
    g_assert_true(child_said(&c, calling));
    switch (fb->expect) {
    case EXPECT_SIGSYS:
        if (!WIFSIGNALED(c.status)) {
            g_test_message("not killed: %s", child_last(&c));
        }
        g_assert_true(WIFSIGNALED(c.status));
        g_assert_cmpint(WTERMSIG(c.status), ==, SIGSYS);
        g_assert_cmpstr(child_last(&c), ==, calling);
        break;
    case EXPECT_EACCES:
        assert_exited(&c, EACCES);
        break;
    case EXPECT_LANDLOCK:
        assert_exited(&c, have_landlock() ? EACCES : 0);
        break;
    }
    /* The file beside the socket directory is still there. */
    g_assert_true(g_file_test(f.outside, G_FILE_TEST_EXISTS) ||
                  !have_landlock());
    child_free(&c);
    fixture_free(&f);
}

/* The same calls without the sandbox: what the cases above prove. */
static void unsandboxed_body(const Fixture *f, void *opaque)
{
    Daemon d;
    int err;

    daemon_setup(&d, f, false);
    err = do_socket_inet(&d, f);
    err = err ? err : do_open_outside(&d, f);
    err = err ? err : do_setsockopt_other(&d, f);
    err = err ? err : do_fcntl_setfl(&d, f);
    err = err ? err : do_socket_unix_stream(&d, f);
    _exit(err);
}

static void test_unsandboxed(void)
{
    Fixture f;
    Child c;

    fixture_init(&f);
    run_child(&c, &f, unsandboxed_body, NULL, NULL);
    assert_exited(&c, 0);
    child_free(&c);
    fixture_free(&f);
}

/* sandbox.c itself: a policy of too many rules is refused. */
static void too_many_body(const Fixture *f, void *opaque)
{
    static VpcSyscallRule rules[VPC_SANDBOX_MAX_RULES + 1];
    VpcSandbox sb = { .rules = rules, .n_rules = G_N_ELEMENTS(rules) };
    VpcSandboxReport report;
    char err[160] = "";

    for (size_t i = 0; i < G_N_ELEMENTS(rules); i++) {
        rules[i] = (VpcSyscallRule){ .nr = SYS_getpid, .name = "getpid" };
    }
    say("apply: %d", vpc_sandbox_apply(&sb, &report, err, sizeof(err)));
    say("err: %s", err);
    /* No filter: a call no rule would allow still works. */
    say("socket: %d", socket(AF_INET, SOCK_DGRAM, 0) >= 0);
}

static void test_too_many_rules(void)
{
    Fixture f;
    Child c;

    fixture_init(&f);
    run_child(&c, &f, too_many_body, NULL, NULL);
    assert_exited(&c, 0);
    g_assert_true(child_said(&c, "apply: -1"));
    g_assert_true(child_said(&c, "more than"));
    g_assert_true(child_said(&c, "socket: 1"));
    child_free(&c);
    fixture_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vswitch-sandbox/daemon-calls", test_daemon_calls);
    g_test_add_func("/vswitch-sandbox/proc-status", test_status);
    g_test_add_func("/vswitch-sandbox/syslog", test_syslog);
    g_test_add_func("/vswitch-sandbox/unsandboxed", test_unsandboxed);
    for (size_t i = 0; i < G_N_ELEMENTS(forbidden); i++) {
        g_autofree char *path = g_strdup_printf("/vswitch-sandbox/forbidden/%s",
                                                forbidden[i].name);

        g_test_add_data_func(path, &forbidden[i], test_forbidden);
    }
    g_test_add_func("/sandbox/too-many-rules", test_too_many_rules);
    return g_test_run();
}
