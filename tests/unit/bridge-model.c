/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A model of the kernel around the steering programs (see
 * bridge-model.h).
 */
#include <string.h>

#include "bridge-model.h"

static void process_verdict(Model *m, const VpcVmRun *run, VpcVmSkb *skb,
                            int depth, bool *go_on);

void model_init(Model *m, const uint8_t adapter_mac[6], bool wifi)
{
    memset(m, 0, sizeof(*m));
    memcpy(m->adapter_mac, adapter_mac, 6);
    m->wifi = wifi;
    m->host_path_len = (unsigned)vpc_bridge_build_host_path(&m->host_path);
}

/* skb->pkt_type as eth_type_trans() sets it on a device with @own. */
static uint32_t pkt_type(const VpcVmSkb *skb, const uint8_t *own)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

    if (skb->data[0] & 1) {
        return memcmp(skb->data, bcast, 6) ? 2 : 1;
    }
    return own && !memcmp(skb->data, own, 6) ? VPC_PACKET_HOST
                                             : VPC_PACKET_OTHERHOST;
}

int model_add_guest(Model *m, const uint8_t mac[6], bool mac_spoof)
{
    ModelGuest *g;
    int h;

    if (m->nguests == MODEL_MAX_GUESTS) {
        return -1;
    }
    g = &m->guests[m->nguests];
    memset(g, 0, sizeof(*g));
    memcpy(g->port.guest_mac, mac, 6);
    memcpy(g->port.adapter_mac, m->adapter_mac, 6);
    g->port.tap_ifindex = MODEL_TAP0 + m->nguests;
    g->port.adapter_ifindex = MODEL_ADAPTER;
    g->port.wifi = m->wifi;
    g->port.mac_spoof = mac_spoof;
    g->port.counters_fd = 10;
    g->port.ips_fd = 11;
    g->maps.counters_fd = 10;
    g->maps.counters = &g->counters;
    g->maps.counters_size = sizeof(g->counters);
    g->maps.ips_fd = 11;
    for (h = 0; h < VPC_HOOK_NR; h++) {
        int n = vpc_bridge_build_prog(&g->prog[h], h, &g->port);

        if (n < 0) {
            m->error = "a program did not assemble";
            return -1;
        }
        g->len[h] = (unsigned)n;
    }
    return (int)m->nguests++;
}

static void deliver(Model *m, int to, const VpcVmSkb *skb)
{
    if (m->nlog < MODEL_MAX_LOG) {
        m->log[m->nlog].to = to;
        m->log[m->nlog].skb = *skb;
        m->nlog++;
    } else {
        m->error = "more deliveries than the log holds";
    }
}

static bool run_prog(Model *m, ModelGuest *g, VpcBridgeHook hook,
                     VpcVmSkb *skb, VpcVmRun *run)
{
    vpc_vm_run(g->prog[hook].insns, g->len[hook], skb, &g->maps, run);
    if (run->error) {
        m->error = run->error;
        return false;
    }
    return true;
}

static void adapter_ingress(Model *m, VpcVmSkb *skb, int depth);
static void adapter_egress(Model *m, VpcVmSkb *skb, int depth);

/* Where a redirect to @ifindex with @flags takes @skb. */
static void redirect_to(Model *m, uint32_t ifindex, uint64_t flags,
                        VpcVmSkb *skb, int depth)
{
    unsigned i;

    if (depth >= MODEL_MAX_DEPTH) {
        m->error = "redirections nest too deep (a loop?)";
        return;
    }
    if (ifindex == MODEL_ADAPTER) {
        if (flags & VPC_BPF_F_INGRESS) {
            skb->ingress_ifindex = MODEL_ADAPTER;
            skb->pkt_type = pkt_type(skb, m->adapter_mac);
            adapter_ingress(m, skb, depth + 1);
        } else {
            adapter_egress(m, skb, depth + 1);
        }
        return;
    }
    for (i = 0; i < m->nguests; i++) {
        if (ifindex == m->guests[i].port.tap_ifindex) {
            if (flags & VPC_BPF_F_INGRESS) {
                m->error = "a redirect into a tap's ingress";
                return;
            }
            deliver(m, (int)i, skb);
            return;
        }
    }
    m->error = "a redirect to an unknown device";
}

/*
 * The clones first (in the order they were made), then the verdict;
 * @go_on says whether the chain continues with @skb.
 */
static void process_verdict(Model *m, const VpcVmRun *run, VpcVmSkb *skb,
                            int depth, bool *go_on)
{
    unsigned i;

    for (i = 0; i < run->nclones; i++) {
        VpcVmSkb copy = run->clones[i].skb;

        redirect_to(m, run->clones[i].ifindex, run->clones[i].flags, &copy,
                    depth);
    }
    *go_on = false;
    switch (run->verdict) {
    case VPC_TCX_NEXT:
    case VPC_TCX_PASS:
        *go_on = true;
        break;
    case VPC_TCX_DROP:
        break;
    case VPC_TCX_REDIRECT:
        redirect_to(m, run->redirect_ifindex, run->redirect_flags, skb,
                    depth);
        break;
    default:
        m->error = "a verdict tcx does not know";
    }
}

static void adapter_ingress(Model *m, VpcVmSkb *skb, int depth)
{
    int i;

    for (i = (int)m->nguests - 1; i >= 0 && !m->error; i--) {
        VpcVmRun run;
        bool go_on;

        if (!run_prog(m, &m->guests[i], VPC_HOOK_ADAPTER_INGRESS, skb,
                      &run)) {
            return;
        }
        process_verdict(m, &run, skb, depth, &go_on);
        if (!go_on) {
            return;
        }
    }
    deliver(m, MODEL_HOST, skb);
}

static void adapter_egress(Model *m, VpcVmSkb *skb, int depth)
{
    int i;

    for (i = (int)m->nguests - 1; i >= 0 && !m->error; i--) {
        VpcVmRun run;
        bool go_on;

        if (!run_prog(m, &m->guests[i], VPC_HOOK_ADAPTER_EGRESS, skb,
                      &run)) {
            return;
        }
        process_verdict(m, &run, skb, depth, &go_on);
        if (!go_on) {
            return;
        }
    }
    for (i = 0; i < (int)m->nguests && !m->error; i++) {
        VpcVmRun run;
        bool go_on;

        if (!run_prog(m, &m->guests[i], VPC_HOOK_WIRE_EXIT, skb, &run)) {
            return;
        }
        process_verdict(m, &run, skb, depth, &go_on);
        if (!go_on) {
            return;
        }
    }
    deliver(m, MODEL_WIRE, skb);
}

static bool start(Model *m, VpcVmSkb *skb, const uint8_t *frame,
                  size_t len, uint32_t ingress_ifindex)
{
    m->nlog = 0;
    m->error = NULL;
    if (len > sizeof(skb->data)) {
        m->error = "frame too long for the model";
        return false;
    }
    memset(skb, 0, sizeof(*skb));
    memcpy(skb->data, frame, len);
    skb->len = len;
    skb->ingress_ifindex = ingress_ifindex;
    skb->pkt_type = pkt_type(skb, ingress_ifindex == MODEL_ADAPTER ?
                             m->adapter_mac : NULL);
    return true;
}

void model_from_guest(Model *m, unsigned guest, const uint8_t *frame,
                      size_t len)
{
    ModelGuest *g = &m->guests[guest];
    VpcVmSkb skb;
    VpcVmRun run;
    bool go_on;

    if (!start(m, &skb, frame, len, g->port.tap_ifindex) ||
        !run_prog(m, g, VPC_HOOK_TAP_INGRESS, &skb, &run)) {
        return;
    }
    process_verdict(m, &run, &skb, 0, &go_on);
    if (!go_on || m->error) {
        return;
    }
    /* T's clsact ingress: the host-path classifier, then mirred */
    vpc_vm_run(m->host_path.insns, m->host_path_len, &skb, &g->maps, &run);
    if (run.error) {
        m->error = run.error;
    } else if (run.verdict != -1) {
        m->error = "a guest's frame went on into the tap's own stack";
    } else {
        skb.ingress_ifindex = MODEL_ADAPTER;
        adapter_ingress(m, &skb, 1);
    }
}

void model_from_host(Model *m, const uint8_t *frame, size_t len)
{
    VpcVmSkb skb;

    if (start(m, &skb, frame, len, 0)) {
        adapter_egress(m, &skb, 0);
    }
}

void model_from_wire(Model *m, const uint8_t *frame, size_t len)
{
    VpcVmSkb skb;

    if (start(m, &skb, frame, len, MODEL_ADAPTER)) {
        adapter_ingress(m, &skb, 0);
    }
}

unsigned model_count(const Model *m, int to)
{
    unsigned i, n = 0;

    for (i = 0; i < m->nlog; i++) {
        n += m->log[i].to == to;
    }
    return n;
}

const ModelDelivery *model_find(const Model *m, int to)
{
    unsigned i;

    for (i = 0; i < m->nlog; i++) {
        if (m->log[i].to == to) {
            return &m->log[i];
        }
    }
    return NULL;
}
