/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: no_new_privs, Landlock and a seccomp allowlist for the vpcnet
 * daemons.  See sandbox.h.
 */
#include "net/vpcnet/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* The build says which architecture (net/vpcnet/meson.build). */
#if defined(VPC_SANDBOX_ARCH_X86_64)
#define SANDBOX_AUDIT_ARCH  AUDIT_ARCH_X86_64
#define SANDBOX_X32_BIT     0x40000000u     /* x32 calls: __X32_SYSCALL_BIT */
#elif defined(VPC_SANDBOX_ARCH_AARCH64)
#define SANDBOX_AUDIT_ARCH  AUDIT_ARCH_AARCH64
#endif

/*
 * Landlock's system calls (the same numbers on every architecture) and
 * structures, for C libraries older than the kernel.
 */
#ifdef SYS_landlock_create_ruleset
#define NR_LANDLOCK_CREATE_RULESET      SYS_landlock_create_ruleset
#define NR_LANDLOCK_ADD_RULE            SYS_landlock_add_rule
#define NR_LANDLOCK_RESTRICT_SELF       SYS_landlock_restrict_self
#else
#define NR_LANDLOCK_CREATE_RULESET      444
#define NR_LANDLOCK_ADD_RULE            445
#define NR_LANDLOCK_RESTRICT_SELF       446
#endif
#define LANDLOCK_VERSION_FLAG           (1u << 0)
#define LANDLOCK_RULE_PATH_BENEATH      1
#define LANDLOCK_NET_BIND_TCP           (1ull << 0)
#define LANDLOCK_NET_CONNECT_TCP        (1ull << 1)
#define LANDLOCK_SCOPE_ABSTRACT_UNIX    (1ull << 0)
#define LANDLOCK_SCOPE_SIGNAL           (1ull << 1)

/**
 * LandlockRulesetAttr - struct landlock_ruleset_attr as of ABI 6; older
 * kernels are given the prefix they know.
 * @handled_access_fs: the file system rights the ruleset handles.
 * @handled_access_net: the network rights (ABI 4).
 * @scoped: the IPC scopes (ABI 6).
 */
typedef struct LandlockRulesetAttr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
} LandlockRulesetAttr;

/**
 * LandlockPathBeneathAttr - struct landlock_path_beneath_attr (packed).
 * @allowed_access: the rights beneath @parent_fd.
 * @parent_fd: an O_PATH descriptor of the directory.
 */
typedef struct __attribute__((packed)) LandlockPathBeneathAttr {
    uint64_t allowed_access;
    int32_t parent_fd;
} LandlockPathBeneathAttr;

#define FILTER_MAX  (8 + 8 * VPC_SANDBOX_MAX_RULES)

static void note(VpcSandboxReport *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(VpcSandboxReport *r, const char *fmt, ...)
{
    size_t used = strlen(r->note);
    va_list ap;

    if (used + 2 >= sizeof(r->note)) {
        return;
    }
    if (used) {
        r->note[used++] = ';';
        r->note[used++] = ' ';
        r->note[used] = '\0';
    }
    va_start(ap, fmt);
    vsnprintf(r->note + used, sizeof(r->note) - used, fmt, ap);
    va_end(ap);
}

int vpc_landlock_abi(void)
{
    long abi = syscall(NR_LANDLOCK_CREATE_RULESET, NULL, 0,
                       LANDLOCK_VERSION_FLAG);

    return abi < 0 ? 0 : (int)abi;
}

/* Every file system right the kernel's ABI knows. */
static uint64_t landlock_fs_rights(int abi)
{
    uint64_t rights = (VPC_LANDLOCK_FS_MAKE_SYM << 1) - 1;

    if (abi >= 2) {
        rights |= VPC_LANDLOCK_FS_REFER;
    }
    if (abi >= 3) {
        rights |= VPC_LANDLOCK_FS_TRUNCATE;
    }
    if (abi >= 5) {
        rights |= VPC_LANDLOCK_FS_IOCTL_DEV;
    }
    return rights;
}

/*
 * Restrict the process to @sb's paths.  Best effort: false, with why in
 * @r, when the kernel cannot, and then nothing changed.
 */
static bool apply_landlock(const VpcSandbox *sb, VpcSandboxReport *r)
{
    LandlockRulesetAttr attr = { 0 };
    size_t attr_size = sizeof(attr.handled_access_fs);
    int abi = vpc_landlock_abi();
    int ruleset, saved;
    size_t i;

    r->landlock_abi = abi;
    if (abi <= 0) {
        note(r, "no Landlock in this kernel (%s)",
             errno == EOPNOTSUPP ? "disabled at boot" : strerror(errno));
        return false;
    }
    attr.handled_access_fs = landlock_fs_rights(abi);
    if (abi >= 4) {
        attr.handled_access_net = LANDLOCK_NET_BIND_TCP |
                                  LANDLOCK_NET_CONNECT_TCP;
        attr_size = offsetof(LandlockRulesetAttr, scoped);
    }
    if (abi >= 6) {
        attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX | LANDLOCK_SCOPE_SIGNAL;
        attr_size = sizeof(attr);
    }
    ruleset = syscall(NR_LANDLOCK_CREATE_RULESET, &attr, attr_size, 0);
    if (ruleset < 0) {
        note(r, "Landlock ruleset: %s", strerror(errno));
        return false;
    }
    for (i = 0; i < sb->n_paths; i++) {
        LandlockPathBeneathAttr rule = {
            .allowed_access = sb->paths[i].access & attr.handled_access_fs,
        };
        int ret;

        rule.parent_fd = open(sb->paths[i].path, O_PATH | O_CLOEXEC |
                              O_DIRECTORY);
        if (rule.parent_fd < 0) {
            note(r, "Landlock: %s: %s", sb->paths[i].path, strerror(errno));
            close(ruleset);
            return false;
        }
        ret = syscall(NR_LANDLOCK_ADD_RULE, ruleset,
                      LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
        saved = errno;
        close(rule.parent_fd);
        if (ret < 0) {
            note(r, "Landlock rule for %s: %s", sb->paths[i].path,
                 strerror(saved));
            close(ruleset);
            return false;
        }
    }
    if (syscall(NR_LANDLOCK_RESTRICT_SELF, ruleset, 0) < 0) {
        note(r, "Landlock: restrict_self: %s", strerror(errno));
        close(ruleset);
        return false;
    }
    close(ruleset);
    return true;
}

#ifdef SANDBOX_AUDIT_ARCH

/* Where the low 32 bits of argument @arg are in struct seccomp_data. */
static uint32_t arg_low_offset(unsigned arg)
{
    static const uint16_t one = 1;
    bool big_endian = *(const uint8_t *)&one == 0;

    return offsetof(struct seccomp_data, args) + 8 * arg +
           (big_endian ? 4 : 0);
}

static uint32_t rule_action(const VpcSyscallRule *rule)
{
    return rule->error ? SECCOMP_RET_ERRNO | (rule->error & SECCOMP_RET_DATA)
                       : SECCOMP_RET_ALLOW;
}

/*
 * The program: check the architecture, load the number, then per rule
 *   JEQ nr            (else: past this rule)
 *   [LD arg, AND mask, JEQ value (else: to the reload)]...
 *   RET action
 *   LD nr             (only after argument checks: the reload)
 * and last RET KILL_PROCESS.  Every jump is short and forward.
 * Returns the length, or 0 when @max is too small.
 */
static unsigned build_filter(const VpcSandbox *sb, struct sock_filter *f,
                             unsigned max)
{
    const uint32_t nr_off = offsetof(struct seccomp_data, nr);
    unsigned n = 0;
    size_t i;

#define EMIT(insn) do { if (n >= max) { return 0; } f[n++] = insn; } while (0)
    EMIT(((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
          offsetof(struct seccomp_data, arch))));
    EMIT(((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
          SANDBOX_AUDIT_ARCH, 1, 0)));
    EMIT(((struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
          SECCOMP_RET_KILL_PROCESS)));
    EMIT(((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, nr_off)));
#ifdef SANDBOX_X32_BIT
    EMIT(((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
          SANDBOX_X32_BIT, 0, 1)));
    EMIT(((struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
          SECCOMP_RET_KILL_PROCESS)));
#endif
    for (i = 0; i < sb->n_rules; i++) {
        const VpcSyscallRule *rule = &sb->rules[i];
        unsigned body = 1, left, c;

        for (c = 0; c < VPC_SYSCALL_CHECKS; c++) {
            if (rule->check[c].mask) {
                body += rule->check[c].mask == UINT32_MAX ? 2 : 3;
            }
        }
        if (body > 1) {
            body++;     /* the reload */
        }
        EMIT(((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
              (uint32_t)rule->nr, 0, body)));
        left = body - 1;
        for (c = 0; c < VPC_SYSCALL_CHECKS; c++) {
            const VpcSyscallCheck *k = &rule->check[c];

            if (!k->mask) {
                continue;
            }
            EMIT(((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                  arg_low_offset(k->arg))));
            left--;
            if (k->mask != UINT32_MAX) {
                EMIT(((struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K,
                      k->mask)));
                left--;
            }
            /* Else: to the reload, the last instruction of the body. */
            left--;
            EMIT(((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                  k->value & k->mask, 0, left)));
        }
        EMIT(((struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
              rule_action(rule))));
        if (body > 1) {
            EMIT(((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                  nr_off)));
        }
    }
    EMIT(((struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
          SECCOMP_RET_KILL_PROCESS)));
#undef EMIT
    return n;
}

/*
 * Check @sb and build its filter into @filter; its length, or 0 after
 * saying why in @err.
 */
static unsigned make_filter(const VpcSandbox *sb, struct sock_filter *filter,
                            char *err, size_t err_size)
{
    unsigned len;
    size_t i;

    if (sb->n_rules > VPC_SANDBOX_MAX_RULES) {
        snprintf(err, err_size, "seccomp: %zu rules, more than %d",
                 sb->n_rules, VPC_SANDBOX_MAX_RULES);
        return 0;
    }
    for (i = 0; i < sb->n_rules; i++) {
        const VpcSyscallRule *rule = &sb->rules[i];

        if (rule->check[0].arg > 5 || rule->check[1].arg > 5) {
            snprintf(err, err_size, "seccomp rule %s: no argument %u",
                     rule->name, rule->check[0].arg > 5
                     ? rule->check[0].arg : rule->check[1].arg);
            return 0;
        }
    }
    len = build_filter(sb, filter, FILTER_MAX);
    if (!len) {
        snprintf(err, err_size, "seccomp: filter too long");
    }
    return len;
}

#endif

int vpc_sandbox_apply(const VpcSandbox *sb, VpcSandboxReport *report,
                      char *err, size_t err_size)
{
#ifdef SANDBOX_AUDIT_ARCH
    struct sock_filter filter[FILTER_MAX];
    struct sock_fprog prog = { .filter = filter };
#endif

    memset(report, 0, sizeof(*report));
#ifdef SANDBOX_AUDIT_ARCH
    /* A policy that cannot be built changes nothing. */
    prog.len = make_filter(sb, filter, err, err_size);
    if (!prog.len) {
        return -1;
    }
#endif
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(err, err_size, "no_new_privs: %s", strerror(errno));
        return -1;
    }
    report->landlock = apply_landlock(sb, report);
#ifdef SANDBOX_AUDIT_ARCH
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
        snprintf(err, err_size, "seccomp filter: %s", strerror(errno));
        return -1;
    }
    report->seccomp = true;
    report->filter_len = prog.len;
#else
    note(report, "no seccomp filter for this architecture");
#endif
    return 0;
}
