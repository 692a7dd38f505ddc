/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: what every vpcnet daemon does the same way, whatever it serves
 * (qemu-vswitch today, the NAT front end next): log one line at a time to
 * stderr or, once detached, to syslog; detach with --daemonize so that
 * its starter learns when it is ready; read the monotonic clock.
 *
 * Linked into the daemons only, never into the library QEMU links:
 * the library does no I/O of its own.  Linux (and glibc) only, as the
 * daemons are.
 */
#ifndef VPCNET_DAEMON_UTIL_H
#define VPCNET_DAEMON_UTIL_H

#include <stdarg.h>
#include <stdint.h>

/*
 * vpc_log_init - name the program (the stderr prefix, syslog's ident);
 * a string that lives as long as the process.
 */
void vpc_log_init(const char *program);

/*
 * vpc_log_set_tag - what each line names after the program (a network,
 * say), or NULL for nothing; it must outlive its use.
 */
void vpc_log_set_tag(const char *tag);

/*
 * vpc_log - one line: "PROGRAM: TAG: text" on stderr, or "TAG: text" at
 * LOG_INFO after vpc_log_to_syslog().
 */
void vpc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vpc_vlog(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

/*
 * vpc_log_to_syslog - log to syslog (LOG_DAEMON) from now on, connected
 * to it now (LOG_NDELAY) and with the time zone read now, before a
 * sandbox closes the file system.
 */
void vpc_log_to_syslog(void);

/*
 * vpc_daemonize_start - fork for --daemonize: the parent waits for the
 * child's vpc_daemonize_ready() (then exits 0) or its exit (then exits
 * with its status), and never returns.  Returns in the child, a session
 * leader, with the write end of the pipe the parent reads in *@ready_fd.
 */
void vpc_daemonize_start(int *ready_fd);

/*
 * vpc_daemonize_detach - in the child: change to "/", log to syslog,
 * point stdin, stdout and stderr at /dev/null.
 */
void vpc_daemonize_detach(void);

/* vpc_daemonize_ready - tell the waiting parent to exit 0. */
void vpc_daemonize_ready(int ready_fd);

/* vpc_monotonic_ms - CLOCK_MONOTONIC in milliseconds. */
int64_t vpc_monotonic_ms(void);

#endif /* VPCNET_DAEMON_UTIL_H */
