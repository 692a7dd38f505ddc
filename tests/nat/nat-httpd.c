/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * nat-httpd: the smallest HTTP server that keeps up with a connections-
 * per-second benchmark, for make bench-nat (tests/bench/bench_nat.py).
 *
 * Theory of operation: one thread, one epoll set, non-blocking sockets.
 * Every connection is answered once, as soon as its request's header end
 * ("\r\n\r\n") has arrived, with a fixed 200 response carrying
 * "Connection: close", and then closed by the server.  A client such as
 * wrk therefore opens a new TCP connection for every request, so the rate
 * it reports is connections per second through whatever sits between it
 * and this server.  Python's http.server tops out far below what the NAT
 * engines under test can do; this does not.
 *
 *   nat-httpd ADDR PORT      (prints "ready" once it listens)
 */

#define _GNU_SOURCE     /* accept4 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define REQUEST_MAX 4096

static const char response[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 3\r\n"
    "Connection: close\r\n"
    "\r\n"
    "ok\n";

/*
 * Per-connection state: how far the header end has been matched, so a
 * request split across reads is still seen whole.
 */
struct conn {
    int fd;
    unsigned matched;
};

static int listen_on(const char *addr, int port)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    int one = 1;
    int fd;

    if (strchr(addr, ':')) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1) {
            return -1;
        }
        len = sizeof(*sin6);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
            return -1;
        }
        len = sizeof(*sin);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void conn_close(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Read what is there; answer and close once the header end is seen. */
static void conn_readable(int ep, struct conn *c)
{
    static const char end[] = "\r\n\r\n";
    char buf[REQUEST_MAX];
    ssize_t n, i;

    for (;;) {
        n = read(c->fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        if (n <= 0) {
            conn_close(ep, c);
            return;
        }
        for (i = 0; i < n; i++) {
            if (buf[i] == end[c->matched]) {
                c->matched++;
            } else {
                c->matched = buf[i] == end[0] ? 1 : 0;
            }
            if (c->matched == sizeof(end) - 1) {
                /* A fresh socket's send buffer always takes this much. */
                if (write(c->fd, response, sizeof(response) - 1) < 0) {
                    perror("nat-httpd: write");
                }
                conn_close(ep, c);
                return;
            }
        }
    }
}

static void accept_all(int ep, int lfd)
{
    struct epoll_event ev = { .events = EPOLLIN };
    struct conn *c;
    int fd;

    for (;;) {
        fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                perror("nat-httpd: accept");
            }
            return;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
        }
    }
}

int main(int argc, char **argv)
{
    struct epoll_event ev = { .events = EPOLLIN }, events[MAX_EVENTS];
    int lfd, ep, n, i;

    if (argc != 3) {
        fprintf(stderr, "usage: nat-httpd ADDR PORT\n");
        return 2;
    }
    lfd = listen_on(argv[1], atoi(argv[2]));
    if (lfd < 0) {
        perror("nat-httpd: listen");
        return 1;
    }
    ep = epoll_create1(0);
    if (ep < 0) {
        perror("nat-httpd: epoll_create1");
        return 1;
    }
    ev.data.ptr = NULL;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
        perror("nat-httpd: epoll_ctl");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0 && errno != EINTR) {
            perror("nat-httpd: epoll_wait");
            return 1;
        }
        for (i = 0; i < n; i++) {
            if (!events[i].data.ptr) {
                accept_all(ep, lfd);
            } else {
                conn_readable(ep, events[i].data.ptr);
            }
        }
    }
}
