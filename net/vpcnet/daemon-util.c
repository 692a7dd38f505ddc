/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: logging, daemonizing and the clock of the vpcnet daemons.  See
 * daemon-util.h.
 */
#include "net/vpcnet/daemon-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "vpcnet";
static const char *log_tag;
static bool log_syslog;

void vpc_log_init(const char *program)
{
    log_program = program;
}

void vpc_log_set_tag(const char *tag)
{
    log_tag = tag;
}

void vpc_vlog(const char *fmt, va_list ap)
{
    char line[512];

    /* Detached, stderr is /dev/null: the messages go to syslog. */
    if (log_syslog) {
        vsnprintf(line, sizeof(line), fmt, ap);
        if (log_tag) {
            syslog(LOG_INFO, "%s: %s", log_tag, line);
        } else {
            syslog(LOG_INFO, "%s", line);
        }
        return;
    }
    fprintf(stderr, "%s: ", log_program);
    if (log_tag) {
        fprintf(stderr, "%s: ", log_tag);
    }
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void vpc_log(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vpc_vlog(fmt, ap);
    va_end(ap);
}

void vpc_log_to_syslog(void)
{
    /*
     * Connect to /dev/log and read the time zone (syslog's time stamps)
     * now, while the daemon may still open files: a sandboxed daemon
     * could not later.
     */
    tzset();
    openlog(log_program, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    log_syslog = true;
}

/*
 * The child reports over a pipe once it is ready (its socket listens),
 * and only then does the parent exit 0, so that whoever started the
 * daemon can use it at once.
 */
void vpc_daemonize_start(int *ready_fd)
{
    int pipefd[2];
    int status;
    pid_t pid;
    char c = 0;

    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        vpc_log("pipe: %s", strerror(errno));
        exit(1);
    }
    pid = fork();
    if (pid < 0) {
        vpc_log("fork: %s", strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        close(pipefd[1]);
        while (read(pipefd[0], &c, 1) < 0 && errno == EINTR) {
            continue;
        }
        if (c == 'R') {
            exit(0);
        }
        /* The child failed, and said why on our stderr. */
        if (waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
            exit(WEXITSTATUS(status));
        }
        exit(1);
    }
    close(pipefd[0]);
    setsid();
    *ready_fd = pipefd[1];
}

void vpc_daemonize_detach(void)
{
    int null = open("/dev/null", O_RDWR);

    if (chdir("/") < 0) {
        vpc_log("chdir /: %s", strerror(errno));
    }
    vpc_log_to_syslog();
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO) {
            close(null);
        }
    }
}

void vpc_daemonize_ready(int ready_fd)
{
    if (write(ready_fd, "R", 1) != 1) {
        /* The parent died: nobody waits for the news. */
    }
    close(ready_fd);
}

int64_t vpc_monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
