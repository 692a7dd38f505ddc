/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: how a vpcnet daemon locks itself down once its setup is done.
 *
 * Theory of operation
 *
 * A daemon that parses frames its guests wrote should be able to do no
 * more, if a bug lets a guest take it over, than what it does anyway.
 * Once its files are open, its socket listens and it has detached, it
 * calls vpc_sandbox_apply() with a policy of its own, and the kernel
 * holds it to that policy until it exits.  Three layers, in order:
 *
 *   no_new_privs  prctl(PR_SET_NO_NEW_PRIVS): nothing it could execute
 *                 would gain privileges (and seccomp and Landlock need
 *                 it when the process has no CAP_SYS_ADMIN);
 *   Landlock      the file system only beneath the policy's directories,
 *                 each with the access rights it lists; with an ABI of 4
 *                 or more no TCP bind or connect, with 6 or more no
 *                 abstract UNIX socket and no signal outside the
 *                 daemon.  The ABI is probed at run time and every right
 *                 the kernel knows is handled, so what the policy does
 *                 not grant is refused with EACCES.  Best effort: a
 *                 kernel without Landlock (or with it disabled) leaves
 *                 the file system as it is, and the report says why;
 *   seccomp       a classic BPF allowlist of system calls, installed
 *                 last: the architecture is checked first (a call made
 *                 under another ABI, x32 included, kills), then the
 *                 number and, for some calls, one or two arguments; a
 *                 matching rule allows the call or fails it with an
 *                 errno of its choosing, and any call no rule matches
 *                 kills the whole process (SECCOMP_RET_KILL_PROCESS,
 *                 SIGSYS).
 *
 * The BPF program is built from the policy's table at run time, one
 * rule after the other, so the table is the one place that says what is
 * allowed; a daemon puts its busiest calls first.  No libseccomp.
 *
 * Limits: arguments are compared on their low 32 bits, which is all the
 * kernel reads of an int argument; pointer arguments (paths, addresses)
 * cannot be checked by seccomp, which is what Landlock is for.  A policy
 * of more than VPC_SANDBOX_MAX_RULES rules is refused.  Architectures
 * other than x86_64 and aarch64 get no seccomp filter (reported).
 */
#ifndef VPCNET_SANDBOX_H
#define VPCNET_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VPC_SANDBOX_MAX_RULES       128
#define VPC_SYSCALL_CHECKS          2

/* Landlock's file system access rights (linux/landlock.h). */
#define VPC_LANDLOCK_FS_EXECUTE     (1ull << 0)
#define VPC_LANDLOCK_FS_WRITE_FILE  (1ull << 1)
#define VPC_LANDLOCK_FS_READ_FILE   (1ull << 2)
#define VPC_LANDLOCK_FS_READ_DIR    (1ull << 3)
#define VPC_LANDLOCK_FS_REMOVE_DIR  (1ull << 4)
#define VPC_LANDLOCK_FS_REMOVE_FILE (1ull << 5)
#define VPC_LANDLOCK_FS_MAKE_CHAR   (1ull << 6)
#define VPC_LANDLOCK_FS_MAKE_DIR    (1ull << 7)
#define VPC_LANDLOCK_FS_MAKE_REG    (1ull << 8)
#define VPC_LANDLOCK_FS_MAKE_SOCK   (1ull << 9)
#define VPC_LANDLOCK_FS_MAKE_FIFO   (1ull << 10)
#define VPC_LANDLOCK_FS_MAKE_BLOCK  (1ull << 11)
#define VPC_LANDLOCK_FS_MAKE_SYM    (1ull << 12)
#define VPC_LANDLOCK_FS_REFER       (1ull << 13)    /* ABI 2 */
#define VPC_LANDLOCK_FS_TRUNCATE    (1ull << 14)    /* ABI 3 */
#define VPC_LANDLOCK_FS_IOCTL_DEV   (1ull << 15)    /* ABI 5 */

/**
 * VpcSyscallCheck - a condition on one argument of a system call.
 * @arg: which argument, 0 to 5.
 * @mask: the bits of its low 32 that are compared; 0: no condition.
 * @value: what they must be.
 */
typedef struct VpcSyscallCheck {
    uint8_t arg;
    uint32_t mask;
    uint32_t value;
} VpcSyscallCheck;

/**
 * VpcSyscallRule - one rule of a seccomp allowlist.
 * @nr: the system call's number on this architecture (SYS_...).
 * @name: its name, for messages and tests.
 * @check: conditions on its arguments, all of which must hold for the
 *         rule to match; unused ones have a @mask of 0.
 * @error: 0: a matching call is allowed; else it fails with this errno.
 *
 * Rules are tried in order; several rules for one call are
 * alternatives.
 */
typedef struct VpcSyscallRule {
    int nr;
    const char *name;
    VpcSyscallCheck check[VPC_SYSCALL_CHECKS];
    int error;
} VpcSyscallRule;

/**
 * VpcSandboxPath - a directory Landlock leaves usable.
 * @path: the directory (absolute).
 * @access: VPC_LANDLOCK_FS_* rights beneath it; rights the running
 *          kernel does not know are dropped.
 */
typedef struct VpcSandboxPath {
    const char *path;
    uint64_t access;
} VpcSandboxPath;

/**
 * VpcSandbox - a daemon's policy.
 * @rules: the seccomp allowlist, @n_rules of them.
 * @n_rules: how many.
 * @paths: the only places of the file system left usable, @n_paths.
 * @n_paths: how many (0: none at all).
 */
typedef struct VpcSandbox {
    const VpcSyscallRule *rules;
    size_t n_rules;
    const VpcSandboxPath *paths;
    size_t n_paths;
} VpcSandbox;

/**
 * VpcSandboxReport - what vpc_sandbox_apply() did.
 * @seccomp: the seccomp filter is installed.
 * @filter_len: its length in BPF instructions.
 * @landlock_abi: the kernel's Landlock ABI, 0 when it has none.
 * @landlock: a Landlock domain restricts the process.
 * @note: when @landlock or @seccomp is false, why (NUL-terminated).
 */
typedef struct VpcSandboxReport {
    bool seccomp;
    unsigned filter_len;
    int landlock_abi;
    bool landlock;
    char note[160];
} VpcSandboxReport;

/*
 * vpc_sandbox_apply - lock the calling process down to @sb, for good.
 * Returns 0, with @report saying what was applied (Landlock may not
 * have been); -1 with why in @err when the policy is bad (then nothing
 * changed) or no_new_privs or the seccomp filter could not be set (then
 * the process may be partly restricted: it should exit).
 * Single-threaded callers only: the filter and the domain bind the
 * calling thread and what it creates afterwards.
 */
int vpc_sandbox_apply(const VpcSandbox *sb, VpcSandboxReport *report,
                      char *err, size_t err_size);

/* vpc_landlock_abi - the running kernel's Landlock ABI, 0 for none. */
int vpc_landlock_abi(void);

#endif /* VPCNET_SANDBOX_H */
