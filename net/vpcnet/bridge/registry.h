/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: the per-adapter registry of guests.
 *
 * Theory of operation
 *
 * Guests of many QEMU processes share a host adapter, and each has its
 * own helper process (its "keeper", see qemu-filter-bridge-helper.c),
 * so what is on an adapter is written down where all keepers see it:
 *
 *   /run/vpcnet-filter-bridge/NETNS.IFINDEX/     one directory an adapter
 *       lock                                     flock()ed around changes
 *       00-03-ff-12-34-56                        one record a guest MAC
 *
 * NETNS is the inode of the network namespace (/proc/self/ns/net), so
 * adapters of different namespaces never meet.  A record is one line:
 *
 *   vpcnet-filter-bridge v=1 mac=M keeper=PID start=TICKS qemu=PID
 *       uid=UID tap=NAME tap-ifindex=N mode=wired|wifi
 *
 * Creating the record with O_EXCL is what refuses a second guest with
 * the same MAC, across processes.  The keeper removes its record when
 * its guest goes; a keeper that was killed cannot, so every helper,
 * under the lock, first judges each record: one that does not parse, or
 * whose keeper (pid and start time, against pid reuse) is gone, is
 * stale and removed.  Everything else a keeper holds (tcx links,
 * promiscuity, the tap) is released by the kernel when it dies, so a
 * stale record is the only trace a crash can leave.
 *
 * This file has the decisions and formats; the helper does the I/O.
 */
#ifndef VPCNET_BRIDGE_REGISTRY_H
#define VPCNET_BRIDGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VPC_FB_RUN_DIR      "/run/vpcnet-filter-bridge"
#define VPC_FB_RECORD_MAX   256

/**
 * VpcFbRecord - one guest on an adapter.
 * @mac: the guest NIC's MAC.
 * @keeper_pid: the helper process that holds its programs.
 * @keeper_start: that process's start time (clock ticks since boot).
 * @qemu_pid: the QEMU it serves.
 * @uid: the user who ran that QEMU.
 * @tap: the guest's tap.
 * @tap_ifindex: its ifindex.
 * @wifi: shared-MAC mode.
 */
typedef struct VpcFbRecord {
    uint8_t mac[6];
    int keeper_pid;
    uint64_t keeper_start;
    int qemu_pid;
    unsigned uid;
    char tap[16];
    uint32_t tap_ifindex;
    bool wifi;
} VpcFbRecord;

/* vpc_fb_record_format - @r as a record line; its length, or -1. */
int vpc_fb_record_format(const VpcFbRecord *r, char *buf, size_t cap);

/* vpc_fb_record_parse - read a record; 0, or -1 if it is malformed. */
int vpc_fb_record_parse(const char *buf, size_t len, VpcFbRecord *r);

/* vpc_fb_record_name - the file name for @mac: "00-03-ff-12-34-56". */
void vpc_fb_record_name(const uint8_t mac[6], char name[18]);

/* vpc_fb_record_name_parse - the MAC a record's file name stands for. */
int vpc_fb_record_name_parse(const char *name, uint8_t mac[6]);

/*
 * vpc_proc_stat_start - the start time (field 22) from the text of
 * /proc/PID/stat.  The command name in parentheses may hold anything,
 * so fields are counted from its last ')'.  Returns 0 or -1.
 */
int vpc_proc_stat_start(const char *stat, size_t len, uint64_t *start);

typedef enum VpcFbJudgement {
    VPC_FB_LIVE,        /* a guest is there */
    VPC_FB_STALE,       /* remove it */
} VpcFbJudgement;

/*
 * vpc_fb_judge - what to make of the record @text named @name, given
 * @alive(pid, start_time, opaque): whether that process still runs.
 * A record whose contents do not parse or do not match its name is
 * stale too.  @rec gets what was parsed.
 */
VpcFbJudgement vpc_fb_judge(const char *name, const char *text, size_t len,
                            bool (*alive)(int pid, uint64_t start,
                                          void *opaque),
                            void *opaque, VpcFbRecord *rec);

#endif
