/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A model of the kernel around the filter bridge's steering programs,
 * for the unit tests and the fuzzer: a host adapter A with its tcx
 * ingress and egress chains, a tap per guest, the host's stack and the
 * wire.  The programs themselves run in bpf-vm.c; this file does what
 * the kernel does with their verdicts:
 *
 *   - a guest's frame enters its tap's ingress (ingress ifindex T);
 *   - the host's frame enters A's egress (ingress ifindex 0), the
 *     wire's enters A's ingress (ingress ifindex A);
 *   - A's ingress chain runs the guests' ADAPTER_INGRESS programs, the
 *     newest first (each is attached at the head); what passes them all
 *     reaches the host's stack;
 *   - A's egress chain runs the ADAPTER_EGRESS programs, newest first,
 *     then the WIRE_EXIT programs, oldest first (each is appended at the
 *     tail); what passes them all goes on the wire;
 *   - a guest's frame that TAP_INGRESS passes on (TCX_NEXT) meets T's
 *     host-path classifier; a match is mirred into A's ingress (ingress
 *     ifindex A, tc_index and pkt_type kept), anything else would go up
 *     T's own stack, which the model reports as an error;
 *   - pkt_type is what eth_type_trans() makes it on the device that
 *     received the frame: on T, whose own MAC no frame is sent to,
 *     unicast is OTHERHOST;
 *   - bpf_redirect(A, BPF_F_INGRESS) re-enters A's ingress (ingress
 *     ifindex A, tc_index kept, pkt_type recomputed for A),
 *     bpf_redirect(A, 0) A's egress (ingress ifindex kept),
 *     bpf_redirect(T, 0) delivers to that guest; a clone
 *     does the same with a copy made at the time of the call;
 *   - redirections nest at most MODEL_MAX_DEPTH deep, like the kernel's
 *     transmit recursion limit.
 *
 * Every delivery is logged with the frame as delivered.
 */
#ifndef TESTS_UNIT_BRIDGE_MODEL_H
#define TESTS_UNIT_BRIDGE_MODEL_H

#include "bpf-vm.h"
#include "net/vpcnet/bridge/steering.h"

#define MODEL_MAX_GUESTS    6
#define MODEL_MAX_LOG       64
#define MODEL_MAX_DEPTH     8
#define MODEL_ADAPTER       2
#define MODEL_TAP0          100     /* guest i's tap is MODEL_TAP0 + i */

typedef enum ModelPlace {
    MODEL_HOST = -1,
    MODEL_WIRE = -2,
    /* 0.. : guest i */
} ModelPlace;

typedef struct ModelDelivery {
    int to;                 /* a ModelPlace or a guest index */
    VpcVmSkb skb;
} ModelDelivery;

typedef struct ModelGuest {
    VpcBridgePort port;
    VpcBpfAsm prog[VPC_HOOK_NR];
    unsigned len[VPC_HOOK_NR];
    VpcBridgeCounters counters;
    VpcVmMaps maps;
} ModelGuest;

typedef struct Model {
    uint8_t adapter_mac[6];
    bool wifi;
    ModelGuest guests[MODEL_MAX_GUESTS];
    unsigned nguests;
    VpcBpfAsm host_path;
    unsigned host_path_len;
    ModelDelivery log[MODEL_MAX_LOG];
    unsigned nlog;
    const char *error;
} Model;

void model_init(Model *m, const uint8_t adapter_mac[6], bool wifi);

/* model_add_guest - a guest with @mac; its index, or -1. */
int model_add_guest(Model *m, const uint8_t mac[6], bool mac_spoof);

/* The three ways into the bridge.  The log is cleared first. */
void model_from_guest(Model *m, unsigned guest, const uint8_t *frame,
                      size_t len);
void model_from_host(Model *m, const uint8_t *frame, size_t len);
void model_from_wire(Model *m, const uint8_t *frame, size_t len);

/* model_count - deliveries to @to in the log. */
unsigned model_count(const Model *m, int to);

/* model_find - the first delivery to @to, or NULL. */
const ModelDelivery *model_find(const Model *m, int to);

#endif
