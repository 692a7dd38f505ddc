/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: a small eBPF assembler (see bpf-asm.h).
 *
 * A jump to a label not bound yet keeps the label's number in its
 * offset field and is marked in @pending; vpc_bpf_finish() rewrites
 * every marked offset once all labels are bound.
 */
#include <string.h>

#include "net/vpcnet/bridge/bpf-asm.h"

/* A jump whose offset field still holds a label number. */
#define PENDING_LABEL_BIAS  0x4000

static void fail(VpcBpfAsm *a, int err)
{
    if (!a->error) {
        a->error = err;
    }
}

void vpc_bpf_init(VpcBpfAsm *a)
{
    memset(a, 0, sizeof(*a));
}

int vpc_bpf_label(VpcBpfAsm *a)
{
    if (a->labels >= VPC_BPF_MAX_LABELS) {
        fail(a, VPC_BPF_ERR_FULL);
        return 0;
    }
    a->label_at[a->labels] = -1;
    return a->labels++;
}

void vpc_bpf_bind(VpcBpfAsm *a, int label)
{
    if (label < 0 || (unsigned)label >= a->labels) {
        fail(a, VPC_BPF_ERR_LABEL);
        return;
    }
    if (a->label_at[label] >= 0) {
        fail(a, VPC_BPF_ERR_LABEL);
        return;
    }
    a->label_at[label] = a->len;
}

void vpc_bpf_emit(VpcBpfAsm *a, uint8_t code, unsigned dst, unsigned src,
                  int16_t off, int32_t imm)
{
    VpcBpfInsn *insn;

    if (a->len >= VPC_BPF_MAX_INSNS) {
        fail(a, VPC_BPF_ERR_FULL);
        return;
    }
    insn = &a->insns[a->len++];
    insn->code = code;
    insn->regs = (dst & 0x0f) | (src & 0x0f) << 4;
    insn->off = off;
    insn->imm = imm;
}

/*
 * Jumps are emitted with the label in @off (biased) and resolved by
 * vpc_bpf_finish(); @imm carries the compare operand as usual.
 */
void vpc_bpf_emit_jump(VpcBpfAsm *a, uint8_t code, unsigned dst,
                       unsigned src, int32_t imm, int label)
{
    if (label < 0 || (unsigned)label >= a->labels) {
        fail(a, VPC_BPF_ERR_LABEL);
        return;
    }
    vpc_bpf_emit(a, code, dst, src, (int16_t)(PENDING_LABEL_BIAS + label),
                 imm);
}

static void emit_ld_imm64(VpcBpfAsm *a, unsigned dst, unsigned src,
                          uint32_t lo, uint32_t hi)
{
    vpc_bpf_emit(a, VPC_BPF_LD | VPC_BPF_IMM | VPC_BPF_DW, dst, src, 0,
                 (int32_t)lo);
    vpc_bpf_emit(a, 0, 0, 0, 0, (int32_t)hi);
}

void vpc_bpf_ld_imm64(VpcBpfAsm *a, unsigned dst, uint64_t imm)
{
    emit_ld_imm64(a, dst, 0, (uint32_t)imm, (uint32_t)(imm >> 32));
}

void vpc_bpf_ld_map_fd(VpcBpfAsm *a, unsigned dst, int fd)
{
    emit_ld_imm64(a, dst, VPC_BPF_PSEUDO_MAP_FD, (uint32_t)fd, 0);
}

void vpc_bpf_ld_map_value(VpcBpfAsm *a, unsigned dst, int fd, uint32_t off)
{
    emit_ld_imm64(a, dst, VPC_BPF_PSEUDO_MAP_VALUE, (uint32_t)fd, off);
}

static bool is_jump(const VpcBpfInsn *insn)
{
    uint8_t cls = VPC_BPF_CLASS(insn->code);
    uint8_t op = VPC_BPF_OP(insn->code);

    return (cls == VPC_BPF_JMP || cls == VPC_BPF_JMP32) &&
           op != VPC_BPF_CALL && op != VPC_BPF_EXIT;
}

int vpc_bpf_finish(VpcBpfAsm *a)
{
    unsigned i;

    if (a->error) {
        return a->error;
    }
    for (i = 0; i < a->len; i++) {
        VpcBpfInsn *insn = &a->insns[i];
        long target, delta;
        int label;

        if (!is_jump(insn)) {
            /* the second half of an ld_imm64 has code 0: never a jump */
            continue;
        }
        label = insn->off - PENDING_LABEL_BIAS;
        if (label < 0 || (unsigned)label >= a->labels ||
            a->label_at[label] < 0) {
            return a->error = VPC_BPF_ERR_LABEL;
        }
        target = a->label_at[label];
        delta = target - (long)i - 1;
        if (delta < -32768 || delta > 32767) {
            return a->error = VPC_BPF_ERR_RANGE;
        }
        insn->off = (int16_t)delta;
    }
    return (int)a->len;
}
