/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: messages between QEMU and qemu-filter-bridge-helper.
 *
 * Theory of operation
 *
 * QEMU makes an AF_UNIX SOCK_SEQPACKET pair and runs the helper with
 * one end (--fd=N).  Each message is one datagram: a line of text, a
 * verb and key=value words, and any descriptors as SCM_RIGHTS.
 *
 *   helper -> QEMU  READY v=1 tap=NAME tap-ifindex=N adapter-ifindex=N
 *                   adapter-mac=MAC mode=wired|wifi        + tap fd
 *   QEMU -> helper  ATTACH mac=MAC                         (the NIC's)
 *   helper -> QEMU  ATTACHED                               + counters
 *                                                  map (+ Wi-Fi map)
 *   helper -> QEMU  ERROR text...                  instead of either
 *
 * READY comes once the ACL allowed the adapter and the tap exists; the
 * helper has then forked its keeper, which holds the steering programs
 * and promiscuity and keeps reading: QEMU sends ATTACH once the NIC's
 * MAC is known (after the machine is built, or when a hot-plugged NIC
 * appears), and may send it again after an ERROR.  When QEMU closes
 * its end, or exits in any way, the keeper tears everything down.
 *
 * Text is ASCII; values hold no blanks; unknown keys are ignored (a
 * newer helper may say more), missing ones are errors.
 */
#ifndef VPCNET_BRIDGE_HELPER_PROTO_H
#define VPCNET_BRIDGE_HELPER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VPC_FBH_VERSION     1
#define VPC_FBH_MSG_MAX     512     /* bytes in one message */
#define VPC_FBH_TEXT_MAX    400     /* an ERROR's text */
#define VPC_FBH_MAX_FDS     4

typedef enum VpcFbhType {
    VPC_FBH_READY,
    VPC_FBH_ATTACH,
    VPC_FBH_ATTACHED,
    VPC_FBH_ERROR,
} VpcFbhType;

/**
 * VpcFbhMsg - one message, decoded.
 * @type: which one.
 * @tap: READY: the tap's name.
 * @tap_ifindex: READY: its ifindex.
 * @adapter_ifindex: READY: the host adapter's ifindex.
 * @adapter_mac: READY: its MAC.
 * @wifi: READY: shared-MAC (Wi-Fi) mode.
 * @mac: ATTACH: the guest NIC's MAC.
 * @text: ERROR: what went wrong, for the user.
 */
typedef struct VpcFbhMsg {
    VpcFbhType type;
    char tap[16];
    uint32_t tap_ifindex;
    uint32_t adapter_ifindex;
    uint8_t adapter_mac[6];
    bool wifi;
    uint8_t mac[6];
    char text[VPC_FBH_TEXT_MAX];
} VpcFbhMsg;

/* vpc_fbh_format - @m as text in @buf; its length, or -1 if too long. */
int vpc_fbh_format(const VpcFbhMsg *m, char *buf, size_t cap);

/*
 * vpc_fbh_parse - decode @len bytes (one message, not NUL-terminated,
 * a trailing newline allowed).  Returns 0, or -1 with a reason in
 * @why (NUL-terminated, @why_len bytes) for anything malformed.
 */
int vpc_fbh_parse(const char *buf, size_t len, VpcFbhMsg *m, char *why,
                  size_t why_len);

#endif
