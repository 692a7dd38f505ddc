/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: the flow table.
 *
 * Theory of operation
 *
 * All flows (TCP connections, UDP flows, echo flows) live in one array
 * of max_flows slots allocated at creation; free slots form a list.  An
 * open-addressing hash table of twice the size (a power of two), probed
 * linearly and compacted by backward shifting on removal, maps a
 * NatFlowKey to its slot.  The hash is keyed with a random seed drawn at
 * creation, so that a guest cannot aim its ports at one probe chain.
 *
 * Each flow type, and DNS flows apart from other UDP flows since their
 * timeout is shorter, has an LRU list (most recently active at the tail):
 * the idle sweep walks from the head and stops at the first flow still
 * within its timeout, so a sweep costs what it expires; eviction, when
 * the table is full, takes the head of the DNS list, then of the UDP
 * list, then of the echo list.  TCP connections are never evicted: a SYN
 * that finds the table full is refused with RST (tcp.c), which the guest
 * sees at once.
 *
 * Invariants: a slot is on the free list or in the hash table, never
 * both; a used slot is on exactly one LRU list, that of its type; every
 * used slot's fd is open or -1, and freeing a flow stops its watch and
 * closes its fd.
 */
#include "net/vpcnet/nat/nat-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

uint32_t nat_flow_index(const VpcNat *nat, const NatFlow *f)
{
    return (uint32_t)(f - nat->flows);
}

NatFlow *nat_flow_at(VpcNat *nat, uint32_t index)
{
    if (index >= nat->n_flows ||
        nat->flows[index].key.type == NAT_FLOW_FREE) {
        return NULL;
    }
    return &nat->flows[index];
}

static uint32_t key_hash(const VpcNat *nat, const NatFlowKey *k)
{
    uint64_t w[sizeof(NatFlowKey) / 8];
    uint64_t h = nat->hash_seed;

    memcpy(w, k, sizeof(w));
    for (unsigned i = 0; i < sizeof(w) / 8; i++) {
        h ^= w[i];
        h *= 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (uint32_t)h;
}

int nat_flows_init(VpcNat *nat, char *err, size_t errlen)
{
    uint32_t hash_size = 16;

    _Static_assert(sizeof(NatFlowKey) % 8 == 0, "keys hash by 8 bytes");
    nat->n_flows = nat->cfg.max_flows;
    while (hash_size < 2 * nat->n_flows) {
        hash_size <<= 1;
    }
    nat->flows = calloc(nat->n_flows, sizeof(*nat->flows));
    nat->hash = malloc(hash_size * sizeof(*nat->hash));
    if (!nat->flows || !nat->hash) {
        snprintf(err, errlen, "out of memory for %u flows", nat->n_flows);
        return -1;
    }
    memset(nat->hash, 0xff, hash_size * sizeof(*nat->hash));
    nat->hash_mask = hash_size - 1;
    if (getrandom(&nat->hash_seed, sizeof(nat->hash_seed), 0) !=
        sizeof(nat->hash_seed)) {
        nat->hash_seed = (uint64_t)nat->now_ns ^ (uint64_t)getpid() << 32;
    }
    for (uint32_t i = 0; i < nat->n_flows; i++) {
        NatFlow *f = &nat->flows[i];

        f->fd = -1;
        f->lru_next = i + 1 < nat->n_flows ? i + 1 : NAT_NONE;
        f->timer_prev = f->timer_next = NAT_NONE;
    }
    nat->free_head = 0;
    for (unsigned t = 0; t < NAT_LRU_LISTS; t++) {
        nat->lru_head[t] = nat->lru_tail[t] = NAT_NONE;
    }
    nat->timer_head = NAT_NONE;
    nat->ack_pending_head = NAT_NONE;
    nat->stats.flows_max = nat->n_flows;
    return 0;
}

void nat_flows_free(VpcNat *nat)
{
    if (nat->flows) {
        for (uint32_t i = 0; i < nat->n_flows; i++) {
            if (nat->flows[i].key.type != NAT_FLOW_FREE) {
                nat_flow_free(nat, &nat->flows[i]);
            }
        }
    }
    free(nat->flows);
    free(nat->hash);
    nat->flows = NULL;
    nat->hash = NULL;
}

NatFlow *nat_flow_lookup(VpcNat *nat, const NatFlowKey *key)
{
    uint32_t slot = key_hash(nat, key) & nat->hash_mask;

    for (;;) {
        uint32_t idx = nat->hash[slot];

        if (idx == NAT_NONE) {
            return NULL;
        }
        if (memcmp(&nat->flows[idx].key, key, sizeof(*key)) == 0) {
            return &nat->flows[idx];
        }
        slot = (slot + 1) & nat->hash_mask;
    }
}

/* DNS flows have their own list: their timeout is much shorter. */
static unsigned lru_list(const NatFlow *f)
{
    return f->key.type == NAT_FLOW_UDP && f->key.dns ? NAT_LRU_DNS
                                                     : f->key.type;
}

static void lru_unlink(VpcNat *nat, NatFlow *f)
{
    unsigned t = lru_list(f);

    if (f->lru_prev != NAT_NONE) {
        nat->flows[f->lru_prev].lru_next = f->lru_next;
    } else {
        nat->lru_head[t] = f->lru_next;
    }
    if (f->lru_next != NAT_NONE) {
        nat->flows[f->lru_next].lru_prev = f->lru_prev;
    } else {
        nat->lru_tail[t] = f->lru_prev;
    }
}

static void lru_append(VpcNat *nat, NatFlow *f)
{
    unsigned t = lru_list(f);
    uint32_t idx = nat_flow_index(nat, f);

    f->lru_next = NAT_NONE;
    f->lru_prev = nat->lru_tail[t];
    if (nat->lru_tail[t] != NAT_NONE) {
        nat->flows[nat->lru_tail[t]].lru_next = idx;
    } else {
        nat->lru_head[t] = idx;
    }
    nat->lru_tail[t] = idx;
}

void nat_flow_touch(VpcNat *nat, NatFlow *f)
{
    f->active_ns = nat->now_ns;
    if (nat->lru_tail[lru_list(f)] != nat_flow_index(nat, f)) {
        lru_unlink(nat, f);
        lru_append(nat, f);
    }
}

static void hash_remove(VpcNat *nat, uint32_t slot)
{
    uint32_t hole = slot, next = slot;

    /* Backward-shift deletion: later members of the chain move up. */
    for (;;) {
        uint32_t idx, home;

        next = (next + 1) & nat->hash_mask;
        idx = nat->hash[next];
        if (idx == NAT_NONE) {
            break;
        }
        home = key_hash(nat, &nat->flows[idx].key) & nat->hash_mask;
        /* Can idx move to the hole: is home cyclically outside (hole, next]? */
        if (((next - home) & nat->hash_mask) >=
            ((next - hole) & nat->hash_mask)) {
            nat->hash[hole] = idx;
            nat->flows[idx].hash_slot = hole;
            hole = next;
        }
    }
    nat->hash[hole] = NAT_NONE;
}

static NatFlow *flow_evict_one(VpcNat *nat)
{
    static const unsigned order[] = { NAT_LRU_DNS, NAT_FLOW_UDP,
                                      NAT_FLOW_ECHO };

    for (unsigned i = 0; i < 3; i++) {
        uint32_t idx = nat->lru_head[order[i]];

        if (idx != NAT_NONE) {
            nat->stats.udp_evicted++;
            nat_flow_free(nat, &nat->flows[idx]);
            return &nat->flows[idx];
        }
    }
    return NULL;
}

NatFlow *nat_flow_new(VpcNat *nat, const NatFlowKey *key, bool may_evict)
{
    NatFlow *f;
    uint32_t idx, slot, pending_next;
    bool pending;

    if (nat->free_head == NAT_NONE && (!may_evict || !flow_evict_one(nat))) {
        nat_drop(nat, VPC_NAT_DROP_TABLE_FULL);
        return NULL;
    }
    idx = nat->free_head;
    f = &nat->flows[idx];
    nat->free_head = f->lru_next;
    pending = f->in_pending_list;
    pending_next = f->pending_next;
    memset(f, 0, sizeof(*f));
    /* The slot may still be on the ACK list: it stays linked. */
    f->in_pending_list = pending;
    f->pending_next = pending_next;
    f->key = *key;
    f->fd = -1;
    f->watch.nat = nat;
    f->watch.kind = NAT_WATCH_FLOW;
    f->watch.index = idx;
    f->timer_prev = f->timer_next = NAT_NONE;
    f->active_ns = nat->now_ns;
    lru_append(nat, f);
    slot = key_hash(nat, key) & nat->hash_mask;
    while (nat->hash[slot] != NAT_NONE) {
        slot = (slot + 1) & nat->hash_mask;
    }
    nat->hash[slot] = idx;
    f->hash_slot = slot;
    nat->type_count[key->type]++;
    nat->stats.flows_active++;
    if (nat->stats.flows_active > nat->stats.flows_peak) {
        nat->stats.flows_peak = nat->stats.flows_active;
    }
    if (nat->sweep_ns > nat->now_ns + NAT_SWEEP_NS) {
        nat->sweep_ns = nat->now_ns + NAT_SWEEP_NS;
    }
    /* The sweep needs the timer running while any flow lives. */
    if (nat->sweep_ns + NAT_TIMER_SLACK_NS < nat->armed_ns) {
        nat->armed_ns = nat->sweep_ns + NAT_TIMER_SLACK_NS;
        nat->cb.timer_mod(nat->opaque, nat->armed_ns);
    }
    return f;
}

void nat_flow_free(VpcNat *nat, NatFlow *f)
{
    uint32_t idx = nat_flow_index(nat, f);

    if (f->key.type == NAT_FLOW_FREE) {
        return;
    }
    if (f->fd >= 0) {
        if (f->events) {
            nat_watch(nat, f->fd, 0, &f->watch);
        }
        close(f->fd);
        f->fd = -1;
    }
    if (f->key.type == NAT_FLOW_ECHO && f->echo.raw && nat->raw_id_flow &&
        nat->raw_id_flow[f->echo.host_id] == idx) {
        nat->raw_id_flow[f->echo.host_id] = NAT_NONE;
    }
    nat_flow_set_timer(nat, f, 0);
    hash_remove(nat, f->hash_slot);
    lru_unlink(nat, f);
    nat->type_count[f->key.type]--;
    nat->stats.flows_active--;
    f->key.type = NAT_FLOW_FREE;
    f->lru_next = nat->free_head;
    nat->free_head = idx;
}

static int64_t idle_limit_ns(const VpcNat *nat, const NatFlow *f)
{
    int64_t s;

    switch (f->key.type) {
    case NAT_FLOW_TCP:
        s = nat->cfg.tcp_idle_timeout;
        break;
    case NAT_FLOW_UDP:
        s = f->key.dns ? NAT_DNS_IDLE_S : nat->cfg.udp_idle_timeout;
        break;
    default:
        s = NAT_ECHO_IDLE_S;
        break;
    }
    return s * 1000000000ll;
}

void nat_flows_sweep(VpcNat *nat)
{
    for (unsigned t = NAT_FLOW_TCP; t < NAT_LRU_LISTS; t++) {
        uint32_t idx = nat->lru_head[t];

        while (idx != NAT_NONE) {
            NatFlow *f = &nat->flows[idx];
            uint32_t next = f->lru_next;

            /* Oldest first: the first one still in time ends the walk. */
            if (nat->now_ns - f->active_ns < idle_limit_ns(nat, f)) {
                break;
            }
            if (f->key.type == NAT_FLOW_TCP) {
                nat->stats.tcp_timeouts++;
                nat_tcp_close(nat, f);
            } else {
                nat_flow_free(nat, f);
            }
            idx = next;
        }
    }
}
