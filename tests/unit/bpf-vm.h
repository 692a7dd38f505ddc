/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A small eBPF interpreter for the unit tests and the fuzzer of the
 * filter bridge's steering programs (net/vpcnet/bridge/steering.c).
 *
 * It runs exactly the instructions the helper loads into the kernel, on
 * a frame and a model of the __sk_buff fields the programs touch, with
 * the helpers they call.  It is strict where the kernel's verifier is:
 * every load and store must fall inside the stack, the context fields
 * the programs may use, or a map value; the frame is only reached
 * through bpf_skb_load_bytes()/bpf_skb_store_bytes(), which check
 * bounds as the kernel does; and a run stops after VPC_VM_MAX_STEPS.
 * Anything else ends the run with an error, which the tests treat as a
 * failure.
 *
 * Pointers live in the 64-bit registers as host addresses; a tag-free
 * model is enough because every access is checked against the three
 * regions above.  Maps are the test's: a map descriptor in an ld_imm64
 * is looked up in VpcVmMaps, an array map's value is its one value, a
 * hash map (the Wi-Fi addresses) is a small table of 16-byte keys.
 *
 * What the programs asked for is recorded in VpcVmRun: the verdict
 * (r0), a pending bpf_redirect() target, and each bpf_clone_redirect()
 * with a copy of the frame and its tc_index at that moment.
 */
#ifndef TESTS_UNIT_BPF_VM_H
#define TESTS_UNIT_BPF_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/vpcnet/bridge/bpf-asm.h"

#define VPC_VM_MAX_STEPS    100000
#define VPC_VM_STACK        512
#define VPC_VM_FRAME_MAX    2048
#define VPC_VM_MAX_CLONES   8
#define VPC_VM_HASH_KEYS    32

/* The map descriptors the generated programs are given. */
typedef struct VpcVmMaps {
    int counters_fd;        /* array map of one value */
    void *counters;         /* ...that value */
    size_t counters_size;
    int ips_fd;             /* hash map, 16-byte keys, 4-byte values */
    uint8_t ips[VPC_VM_HASH_KEYS][16];
    uint32_t ips_value[VPC_VM_HASH_KEYS];
    unsigned nips;
} VpcVmMaps;

/* The frame and the __sk_buff fields the programs see. */
typedef struct VpcVmSkb {
    uint8_t data[VPC_VM_FRAME_MAX];
    size_t len;
    uint32_t ingress_ifindex;
    uint32_t tc_index;
    uint32_t pkt_type;      /* skb->pkt_type (bpf_skb_change_type) */
} VpcVmSkb;

typedef struct VpcVmClone {
    uint32_t ifindex;
    uint64_t flags;
    VpcVmSkb skb;
} VpcVmClone;

/**
 * VpcVmRun - what one run did.
 * @error: 0, or why the run was stopped (a message).
 * @verdict: r0 at exit.
 * @redirect_ifindex: the target of the last bpf_redirect(), 0 if none.
 * @redirect_flags: its flags.
 * @clones: the bpf_clone_redirect() calls, in order.
 * @nclones: their number.
 * @steps: instructions executed.
 */
typedef struct VpcVmRun {
    const char *error;
    int64_t verdict;
    uint32_t redirect_ifindex;
    uint64_t redirect_flags;
    VpcVmClone clones[VPC_VM_MAX_CLONES];
    unsigned nclones;
    unsigned long steps;
} VpcVmRun;

/* vpc_vm_run - run @n instructions on @skb (which it may change). */
void vpc_vm_run(const VpcBpfInsn *insns, unsigned n, VpcVmSkb *skb,
                VpcVmMaps *maps, VpcVmRun *run);

/* vpc_vm_ips_add - put @key into the hash map. */
void vpc_vm_ips_add(VpcVmMaps *maps, const uint8_t key[16]);

#endif
