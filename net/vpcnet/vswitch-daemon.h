/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qemu-vswitch: what the daemon's own files share, and nothing else
 * includes.  qemu-vswitch.c is the daemon (its theory of operation is
 * there); vswitch-options.c reads its command line; vswitch-setup.c
 * finds and claims its place in the file system: the socket directory,
 * the lock and the listening socket; vswitch-sandbox.c is the policy
 * the daemon locks itself down to once set up.
 */
#ifndef VPCNET_VSWITCH_DAEMON_H
#define VPCNET_VSWITCH_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "net/vpcnet/dhcp-server.h"
#include "net/vpcnet/sandbox.h"

#define VSWITCH_MAX_RESERVATIONS    64      /* --reserve options */
#define VSWITCH_DIR_BUF             160
#define VSWITCH_PATH_BUF            256     /* DIR_BUF + '/' + NAME + suffix */

/**
 * VswitchOptions - the command line.
 * @network: the network's name.
 * @dhcp_off: serve no DHCP.
 * @dhcp_start: first address of the DHCP range, host order (0: default).
 * @dhcp_end: last address (0: default).
 * @lease_time: the DHCP lease time in seconds (0: default).
 * @reserve: the --reserve options, @n_reserve of them.
 * @n_reserve: how many.
 * @idle_timeout: seconds without connections before exiting, 0 never.
 * @daemonize: detach once the socket listens.
 * @list: print the running daemon's ports and leases instead.
 * @no_sandbox: skip the lockdown (for debugging: strace, gdb, a
 *              system call the policy lacks).
 */
typedef struct VswitchOptions {
    const char *network;
    bool dhcp_off;
    uint32_t dhcp_start;
    uint32_t dhcp_end;
    uint32_t lease_time;
    VpcDhcpReservation reserve[VSWITCH_MAX_RESERVATIONS];
    unsigned n_reserve;
    unsigned idle_timeout;
    bool daemonize;
    bool list;
    bool no_sandbox;
} VswitchOptions;

/**
 * VswitchPaths - where a network's files are.
 * @dir: the socket directory.
 * @sock_path: NAME.sock.
 * @lock_path: NAME.lock.
 * @lease_path: NAME.leases.
 */
typedef struct VswitchPaths {
    char dir[VSWITCH_DIR_BUF];
    char sock_path[VSWITCH_PATH_BUF];
    char lock_path[VSWITCH_PATH_BUF];
    char lease_path[VSWITCH_PATH_BUF];
} VswitchPaths;

/* vswitch-options.c */

/*
 * vswitch_parse_options - fill @opt from the command line; 0, or -1
 * after saying why.  --help prints the usage and exits 0.
 */
int vswitch_parse_options(int argc, char **argv, VswitchOptions *opt);

/* vswitch-setup.c */

/*
 * vswitch_compute_paths - the files of @network: $XDG_RUNTIME_DIR/vpcnet,
 * else /run/vpcnet for root, else /tmp/vpcnet-UID.  0, or -1 after
 * saying why.
 */
int vswitch_compute_paths(const char *network, VswitchPaths *paths);

/*
 * vswitch_make_dir - create the socket directory (0700), or check that
 * the one there is ours and closed to others.  0, or -1 after saying
 * why.
 */
int vswitch_make_dir(const VswitchPaths *paths);

/*
 * vswitch_take_lock - take NAME.lock into *@lock_fd and write our pid in
 * it.  0 with it held, 1 when another daemon holds it and serves the
 * network, -1 on errors (said).  *@lock_fd is set once the file is open.
 */
int vswitch_take_lock(const VswitchPaths *paths, int *lock_fd);

/*
 * vswitch_make_socket - bind and listen on NAME.sock (mode 0600),
 * replacing a dead daemon's; call with the lock held.  0, or -1 after
 * saying why.  *@listen_fd is set once the socket exists.
 */
int vswitch_make_socket(const VswitchPaths *paths, int *listen_fd);

/*
 * vswitch_connect - connect the AF_UNIX socket @fd to @path; 0, or -1
 * with errno set.
 */
int vswitch_connect(int fd, const char *path);

/* vswitch-sandbox.c */

/*
 * vswitch_sandbox - lock the daemon down for good, to the system calls
 * its loop makes and to the socket directory of @paths; log what was
 * applied (in @report too).  0, or -1 after saying why (seccomp could
 * not be set up; a kernel without Landlock is not an error).
 */
int vswitch_sandbox(const VswitchPaths *paths, VpcSandboxReport *report);

#endif /* VPCNET_VSWITCH_DAEMON_H */
