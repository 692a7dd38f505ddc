/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A small eBPF interpreter for the steering programs (see bpf-vm.h).
 */
#include <string.h>

#include "bpf-vm.h"
#include "net/vpcnet/bridge/steering.h"

/* A map descriptor in a register: tagged, so it is never a pointer. */
#define MAP_TAG         0x5a5a000000000000ull
#define TC_ACT_SHOT     2
#define CTX_SIZE        192

typedef struct Vm {
    uint64_t r[11];
    uint8_t ctx[CTX_SIZE];
    uint8_t stack[VPC_VM_STACK];
    uint8_t guard[16];      /* r10 points here: never the context */
    VpcVmSkb *skb;
    VpcVmMaps *maps;
    VpcVmRun *run;
} Vm;

static bool in(const void *p, size_t n, const void *base, size_t size)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;

    return a >= b && n <= size && a - b <= size - n;
}

/* May the program touch [p, p + n)?  The stack, a map value. */
static bool mem_ok(Vm *vm, const void *p, size_t n)
{
    unsigned i;

    if (in(p, n, vm->stack, sizeof(vm->stack))) {
        return true;
    }
    if (vm->maps->counters &&
        in(p, n, vm->maps->counters, vm->maps->counters_size)) {
        return true;
    }
    for (i = 0; i < vm->maps->nips; i++) {
        if (in(p, n, &vm->maps->ips_value[i], sizeof(uint32_t))) {
            return true;
        }
    }
    return false;
}

static bool stack_ok(Vm *vm, uint64_t p, size_t n)
{
    return in((const void *)(uintptr_t)p, n, vm->stack, sizeof(vm->stack));
}

static size_t size_of(uint8_t code)
{
    switch (VPC_BPF_SIZE(code)) {
    case VPC_BPF_B:
        return 1;
    case VPC_BPF_H:
        return 2;
    case VPC_BPF_W:
        return 4;
    default:
        return 8;
    }
}

static uint64_t load(const void *p, size_t n)
{
    uint64_t v = 0;

    memcpy(&v, p, n);   /* little-endian host, as the programs assume */
    return v;
}

static void store(void *p, size_t n, uint64_t v)
{
    memcpy(p, &v, n);
}

/* Context loads: the fields steering.c reads, 32 bits wide. */
static bool ctx_load(Vm *vm, int64_t off, size_t n, uint64_t *v)
{
    if (n != 4) {
        return false;
    }
    switch (off) {
    case VPC_SKB_LEN:
        *v = vm->skb->len;
        return true;
    case VPC_SKB_INGRESS_IFINDEX:
        *v = vm->skb->ingress_ifindex;
        return true;
    case VPC_SKB_TC_INDEX:
        *v = vm->skb->tc_index;
        return true;
    default:
        return false;
    }
}

static bool ctx_store(Vm *vm, int64_t off, size_t n, uint64_t v)
{
    if (n != 4 || off != VPC_SKB_TC_INDEX) {
        return false;
    }
    vm->skb->tc_index = (uint32_t)v;
    return true;
}

static bool is_ctx(Vm *vm, uint64_t p)
{
    return p == (uint64_t)(uintptr_t)vm->ctx;
}

/* One's complement 32-bit addition with end-around carry. */
static uint32_t csum_add32(uint32_t a, uint32_t b)
{
    uint64_t s = (uint64_t)a + b;

    return (uint32_t)((s & 0xffffffffu) + (s >> 32));
}

static uint16_t csum_fold32(uint32_t s)
{
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static const char *call(Vm *vm, int32_t helper)
{
    uint64_t *r = vm->r;
    VpcVmSkb *skb = vm->skb;

    switch (helper) {
    case VPC_BPF_FUNC_skb_load_bytes: {
        uint64_t off = r[2] & 0xffffffffu, len = r[4] & 0xffffffffu;

        if (!is_ctx(vm, r[1]) || len == 0 || !stack_ok(vm, r[3], len)) {
            return "skb_load_bytes: bad arguments";
        }
        if (off > 0xffff || off + len > skb->len) {
            memset((void *)(uintptr_t)r[3], 0, len);
            r[0] = (uint64_t)-14;   /* -EFAULT */
        } else {
            memcpy((void *)(uintptr_t)r[3], skb->data + off, len);
            r[0] = 0;
        }
        return NULL;
    }
    case VPC_BPF_FUNC_skb_store_bytes: {
        uint64_t off = r[2] & 0xffffffffu, len = r[4] & 0xffffffffu;

        if (!is_ctx(vm, r[1]) || len == 0 || !stack_ok(vm, r[3], len) ||
            (r[5] & ~7ull)) {
            return "skb_store_bytes: bad arguments";
        }
        if (off + len > skb->len) {
            r[0] = (uint64_t)-14;
        } else {
            memcpy(skb->data + off, (void *)(uintptr_t)r[3], len);
            r[0] = 0;
        }
        return NULL;
    }
    case VPC_BPF_FUNC_skb_change_type:
        if (!is_ctx(vm, r[1])) {
            return "skb_change_type: bad context";
        }
        /* the kernel's subset: HOST, BROADCAST, MULTICAST, OTHERHOST */
        if (skb->pkt_type > VPC_PACKET_OTHERHOST ||
            r[2] > VPC_PACKET_OTHERHOST) {
            r[0] = (uint64_t)-22;
        } else {
            skb->pkt_type = (uint32_t)r[2];
            r[0] = 0;
        }
        return NULL;
    case VPC_BPF_FUNC_redirect:
        if (r[2] & ~(uint64_t)VPC_BPF_F_INGRESS) {
            r[0] = TC_ACT_SHOT;
            return NULL;
        }
        vm->run->redirect_ifindex = (uint32_t)r[1];
        vm->run->redirect_flags = r[2];
        r[0] = VPC_TCX_REDIRECT;
        return NULL;
    case VPC_BPF_FUNC_clone_redirect: {
        VpcVmClone *c;

        if (!is_ctx(vm, r[1])) {
            return "clone_redirect: bad context";
        }
        if (vm->run->nclones == VPC_VM_MAX_CLONES) {
            return "clone_redirect: too many clones";
        }
        c = &vm->run->clones[vm->run->nclones++];
        c->ifindex = (uint32_t)r[2];
        c->flags = r[3];
        c->skb = *skb;
        r[0] = (r[3] & ~(uint64_t)VPC_BPF_F_INGRESS) ? (uint64_t)-22 : 0;
        return NULL;
    }
    case VPC_BPF_FUNC_map_lookup_elem: {
        unsigned i;

        if ((r[1] & ~0xffffffffull) != MAP_TAG ||
            (int)(r[1] & 0xffffffffu) != vm->maps->ips_fd ||
            !stack_ok(vm, r[2], 16)) {
            return "map_lookup_elem: bad arguments";
        }
        r[0] = 0;
        for (i = 0; i < vm->maps->nips; i++) {
            if (!memcmp(vm->maps->ips[i], (void *)(uintptr_t)r[2], 16)) {
                r[0] = (uint64_t)(uintptr_t)&vm->maps->ips_value[i];
            }
        }
        return NULL;
    }
    case VPC_BPF_FUNC_csum_diff: {
        uint64_t from_size = r[2] & 0xffffffffu, to_size = r[4] & 0xffffffffu;
        uint32_t sum = (uint32_t)r[5];
        uint64_t i;

        if (((from_size | to_size) & 3) || from_size + to_size > 512 ||
            (from_size && !stack_ok(vm, r[1], from_size)) ||
            (to_size && !stack_ok(vm, r[3], to_size))) {
            return "csum_diff: bad arguments";
        }
        for (i = 0; i < from_size; i += 4) {
            sum = csum_add32(sum, ~(uint32_t)load((void *)(uintptr_t)(r[1] +
                                                                 i), 4));
        }
        for (i = 0; i < to_size; i += 4) {
            sum = csum_add32(sum, (uint32_t)load((void *)(uintptr_t)(r[3] +
                                                                i), 4));
        }
        r[0] = sum;
        return NULL;
    }
    case VPC_BPF_FUNC_l4_csum_replace: {
        uint64_t off = r[2] & 0xffffffffu;
        uint16_t field;

        if (!is_ctx(vm, r[1]) || (r[5] & 0xf) != 0 || r[3] != 0) {
            return "l4_csum_replace: only the by-difference form is modelled";
        }
        if (off + 2 > skb->len) {
            r[0] = (uint64_t)-14;
            return NULL;
        }
        /*
         * inet_proto_csum_replace_by_diff(): sum = ~fold(diff + ~sum).
         * The diff is a sum of 32-bit words as memory holds them, so the
         * field is read the same way (host order of its two bytes).
         */
        field = (uint16_t)load(skb->data + off, 2);
        field = (uint16_t)~csum_fold32(csum_add32((uint32_t)r[4],
                                                  (uint16_t)~field));
        store(skb->data + off, 2, field);
        r[0] = 0;
        return NULL;
    }
    default:
        return "call to a helper the model does not know";
    }
}

void vpc_vm_ips_add(VpcVmMaps *maps, const uint8_t key[16])
{
    if (maps->nips < VPC_VM_HASH_KEYS) {
        memcpy(maps->ips[maps->nips], key, 16);
        maps->ips_value[maps->nips] = 1;
        maps->nips++;
    }
}

void vpc_vm_run(const VpcBpfInsn *insns, unsigned n, VpcVmSkb *skb,
                VpcVmMaps *maps, VpcVmRun *run)
{
    static Vm vm;
    unsigned pc = 0;

    memset(&vm, 0, sizeof(vm));
    memset(run, 0, sizeof(*run));
    vm.skb = skb;
    vm.maps = maps;
    vm.run = run;
    vm.r[1] = (uint64_t)(uintptr_t)vm.ctx;
    vm.r[10] = (uint64_t)(uintptr_t)(vm.stack + sizeof(vm.stack));

    for (;;) {
        const VpcBpfInsn *in;
        unsigned dst, src;
        uint8_t cls, op;
        uint64_t a, b;
        size_t sz;

        if (pc >= n) {
            run->error = "ran off the end";
            return;
        }
        if (++run->steps > VPC_VM_MAX_STEPS) {
            run->error = "too many steps";
            return;
        }
        in = &insns[pc];
        dst = in->regs & 0x0f;
        src = in->regs >> 4;
        if (dst > 10 || src > 10) {
            run->error = "bad register";
            return;
        }
        cls = VPC_BPF_CLASS(in->code);
        op = VPC_BPF_OP(in->code);
        sz = size_of(in->code);

        switch (cls) {
        case VPC_BPF_ALU64:
        case VPC_BPF_ALU: {
            bool is64 = cls == VPC_BPF_ALU64;

            if (dst == 10) {
                run->error = "write to r10";
                return;
            }
            a = vm.r[dst];
            b = VPC_BPF_SRC(in->code) == VPC_BPF_X ? vm.r[src] :
                (uint64_t)(int64_t)in->imm;
            if (op == VPC_BPF_END) {
                uint64_t v = a;

                if (VPC_BPF_SRC(in->code) != VPC_BPF_X) {
                    run->error = "only to-big-endian swaps are modelled";
                    return;
                }
                if (in->imm == 16) {
                    v = (uint16_t)((a & 0xff) << 8 | ((a >> 8) & 0xff));
                } else if (in->imm == 32) {
                    v = __builtin_bswap32((uint32_t)a);
                } else {
                    v = __builtin_bswap64(a);
                }
                vm.r[dst] = v;
                break;
            }
            if (!is64) {
                a = (uint32_t)a;
                b = (uint32_t)b;
            }
            switch (op) {
            case VPC_BPF_ADD:
                a += b;
                break;
            case VPC_BPF_SUB:
                a -= b;
                break;
            case VPC_BPF_MUL:
                a *= b;
                break;
            case VPC_BPF_OR:
                a |= b;
                break;
            case VPC_BPF_AND:
                a &= b;
                break;
            case VPC_BPF_LSH:
                a <<= (b & (is64 ? 63 : 31));
                break;
            case VPC_BPF_RSH:
                a >>= (b & (is64 ? 63 : 31));
                break;
            case VPC_BPF_XOR:
                a ^= b;
                break;
            case VPC_BPF_MOV:
                a = b;
                break;
            default:
                run->error = "ALU operation the model does not know";
                return;
            }
            vm.r[dst] = is64 ? a : (uint32_t)a;
            break;
        }
        case VPC_BPF_LDX: {
            uint64_t addr = vm.r[src] + (int64_t)in->off;

            if (VPC_BPF_MODE(in->code) != VPC_BPF_MEM || dst == 10) {
                run->error = "bad load";
                return;
            }
            if (is_ctx(&vm, vm.r[src])) {
                if (!ctx_load(&vm, in->off, sz, &vm.r[dst])) {
                    run->error = "load of a context field not modelled";
                    return;
                }
                break;
            }
            if (!mem_ok(&vm, (void *)(uintptr_t)addr, sz)) {
                run->error = "load outside the stack and map values";
                return;
            }
            vm.r[dst] = load((void *)(uintptr_t)addr, sz);
            break;
        }
        case VPC_BPF_ST:
        case VPC_BPF_STX: {
            uint64_t addr = vm.r[dst] + (int64_t)in->off;
            uint64_t v = cls == VPC_BPF_STX ? vm.r[src] :
                         (uint64_t)(int64_t)in->imm;

            if (is_ctx(&vm, vm.r[dst])) {
                if (VPC_BPF_MODE(in->code) != VPC_BPF_MEM ||
                    !ctx_store(&vm, in->off, sz, v)) {
                    run->error = "store to a context field not modelled";
                    return;
                }
                break;
            }
            if (!mem_ok(&vm, (void *)(uintptr_t)addr, sz)) {
                run->error = "store outside the stack and map values";
                return;
            }
            if (VPC_BPF_MODE(in->code) == VPC_BPF_ATOMIC) {
                if (cls != VPC_BPF_STX || in->imm != VPC_BPF_ADD ||
                    (sz != 8 && sz != 4)) {
                    run->error = "atomic operation not modelled";
                    return;
                }
                v += load((void *)(uintptr_t)addr, sz);
            } else if (VPC_BPF_MODE(in->code) != VPC_BPF_MEM) {
                run->error = "bad store";
                return;
            }
            store((void *)(uintptr_t)addr, sz, v);
            break;
        }
        case VPC_BPF_LD:
            if (in->code != (VPC_BPF_LD | VPC_BPF_IMM | VPC_BPF_DW) ||
                pc + 1 >= n || dst == 10) {
                run->error = "bad ld_imm64";
                return;
            }
            if (src == VPC_BPF_PSEUDO_MAP_FD) {
                vm.r[dst] = MAP_TAG | (uint32_t)in->imm;
            } else if (src == VPC_BPF_PSEUDO_MAP_VALUE) {
                if (in->imm != maps->counters_fd || !maps->counters ||
                    (uint32_t)insns[pc + 1].imm >= maps->counters_size) {
                    run->error = "map value of an unknown map";
                    return;
                }
                vm.r[dst] = (uint64_t)(uintptr_t)maps->counters +
                            (uint32_t)insns[pc + 1].imm;
            } else if (src == 0) {
                vm.r[dst] = (uint32_t)in->imm |
                            (uint64_t)(uint32_t)insns[pc + 1].imm << 32;
            } else {
                run->error = "ld_imm64 kind not modelled";
                return;
            }
            pc++;
            break;
        case VPC_BPF_JMP:
        case VPC_BPF_JMP32: {
            bool is32 = cls == VPC_BPF_JMP32, take;

            if (op == VPC_BPF_CALL && cls == VPC_BPF_JMP) {
                const char *err = call(&vm, in->imm);

                if (err) {
                    run->error = err;
                    return;
                }
                /* r1-r5 are clobbered by a call */
                vm.r[1] = vm.r[2] = vm.r[3] = vm.r[4] = vm.r[5] = 0xdead;
                break;
            }
            if (op == VPC_BPF_EXIT && cls == VPC_BPF_JMP) {
                run->verdict = (int64_t)(int32_t)vm.r[0];
                return;
            }
            a = vm.r[dst];
            b = VPC_BPF_SRC(in->code) == VPC_BPF_X ? vm.r[src] :
                (uint64_t)(int64_t)in->imm;
            if (is32) {
                a = (uint32_t)a;
                b = (uint32_t)b;
            }
            switch (op) {
            case VPC_BPF_JA:
                take = true;
                break;
            case VPC_BPF_JEQ:
                take = a == b;
                break;
            case VPC_BPF_JNE:
                take = a != b;
                break;
            case VPC_BPF_JGT:
                take = a > b;
                break;
            case VPC_BPF_JGE:
                take = a >= b;
                break;
            case VPC_BPF_JLT:
                take = a < b;
                break;
            case VPC_BPF_JLE:
                take = a <= b;
                break;
            case VPC_BPF_JSET:
                take = (a & b) != 0;
                break;
            default:
                run->error = "jump operation not modelled";
                return;
            }
            if (take) {
                pc = (unsigned)((int)pc + in->off);
            }
            break;
        }
        default:
            run->error = "instruction class not modelled";
            return;
        }
        pc++;
    }
}
