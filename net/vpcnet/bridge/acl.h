/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: the helper's access control list.
 *
 * The privileged helper only bridges an adapter its ACL file
 * (/etc/qemu/filter-bridge.conf) allows.  The file is read by the
 * helper, as root, and is never named by the caller.  One rule a line:
 *
 *   allow IFNAME      allow IFNAME
 *   deny IFNAME       deny IFNAME
 *   allow all         allow every adapter
 *   deny all          deny every adapter
 *   # text            a comment; blank lines are ignored
 *
 * An adapter is allowed when some allow rule names it (or is "all") and
 * no deny rule does: deny wins, whatever the order, and what the file
 * does not allow is denied.  A line that is none of the above makes
 * the whole file refuse everything, so a typo never opens more than was
 * meant.  Words are separated by blanks or tabs; interface names are
 * 1 to 15 characters, as the kernel's.
 *
 * vpc_acl_check() is a pure function of the file's bytes, so the
 * fuzzer can feed it anything.
 */
#ifndef VPCNET_BRIDGE_ACL_H
#define VPCNET_BRIDGE_ACL_H

#include <stdbool.h>
#include <stddef.h>

#define VPC_ACL_DEFAULT_FILE    "/etc/qemu/filter-bridge.conf"
#define VPC_ACL_REASON_MAX      160

typedef enum VpcAclVerdict {
    VPC_ACL_ALLOWED,
    VPC_ACL_DENIED,         /* a deny rule names it */
    VPC_ACL_NOT_ALLOWED,    /* no allow rule names it */
    VPC_ACL_BAD_FILE,       /* a line the parser does not understand */
} VpcAclVerdict;

/**
 * VpcAclResult - what the ACL says about one adapter.
 * @verdict: the decision.
 * @line: the rule that decided (allow/deny) or the bad line; 0 if none.
 * @reason: one sentence for the user, without the file's name.
 */
typedef struct VpcAclResult {
    VpcAclVerdict verdict;
    unsigned line;
    char reason[VPC_ACL_REASON_MAX];
} VpcAclResult;

/*
 * vpc_acl_check - decide whether @ifname may be bridged, by the rules in
 * @text (@len bytes, need not be NUL-terminated).  Returns true only for
 * VPC_ACL_ALLOWED.
 */
bool vpc_acl_check(const char *text, size_t len, const char *ifname,
                   VpcAclResult *res);

#endif
