/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: a small eBPF assembler.
 *
 * Theory of operation
 *
 * The filter bridge's steering programs (steering.c) are generated at
 * run time, per guest, with the guest's MAC, its tap's ifindex and the
 * host adapter's identity as immediates.  Generating them here rather
 * than compiling C with clang keeps the build free of an LLVM
 * toolchain, keeps each program a few dozen instructions that can be
 * read next to the decisions they implement, and lets the unit tests and
 * the fuzzer run exactly the instructions the kernel runs (bpf-vm.c).
 *
 * A VpcBpfAsm is a fixed array of instructions plus labels.  Jumps name
 * a label; vpc_bpf_bind() fixes every jump to it once its place is
 * known, forward or backward.  Errors (too many instructions or labels,
 * a label bound twice or never) are sticky and reported once, by
 * vpc_bpf_finish(), so emitting code needs no error checks.
 *
 * The encoding is the kernel's (include/uapi/linux/bpf.h): 8-byte
 * instructions of opcode, destination and source register nibbles, a
 * signed 16-bit offset and a signed 32-bit immediate; a 64-bit
 * immediate load takes two.  Only what the steering programs use is
 * defined here.
 */
#ifndef VPCNET_BRIDGE_BPF_ASM_H
#define VPCNET_BRIDGE_BPF_ASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* struct bpf_insn of the kernel's UAPI, byte for byte. */
typedef struct VpcBpfInsn {
    uint8_t code;
    uint8_t regs;           /* dst in bits 0-3, src in bits 4-7 */
    int16_t off;
    int32_t imm;
} VpcBpfInsn;

#define VPC_BPF_MAX_INSNS   1024
#define VPC_BPF_MAX_LABELS  128

/* Instruction classes, sizes, modes, operations (UAPI values). */
#define VPC_BPF_LD          0x00
#define VPC_BPF_LDX         0x01
#define VPC_BPF_ST          0x02
#define VPC_BPF_STX         0x03
#define VPC_BPF_ALU         0x04
#define VPC_BPF_JMP         0x05
#define VPC_BPF_JMP32       0x06
#define VPC_BPF_ALU64       0x07
#define VPC_BPF_CLASS(code) ((code) & 0x07)

#define VPC_BPF_W           0x00
#define VPC_BPF_H           0x08
#define VPC_BPF_B           0x10
#define VPC_BPF_DW          0x18
#define VPC_BPF_SIZE(code)  ((code) & 0x18)

#define VPC_BPF_IMM         0x00
#define VPC_BPF_MEM         0x60
#define VPC_BPF_ATOMIC      0xc0
#define VPC_BPF_MODE(code)  ((code) & 0xe0)

#define VPC_BPF_K           0x00
#define VPC_BPF_X           0x08
#define VPC_BPF_SRC(code)   ((code) & 0x08)
#define VPC_BPF_OP(code)    ((code) & 0xf0)

#define VPC_BPF_ADD         0x00
#define VPC_BPF_SUB         0x10
#define VPC_BPF_MUL         0x20
#define VPC_BPF_OR          0x40
#define VPC_BPF_AND         0x50
#define VPC_BPF_LSH         0x60
#define VPC_BPF_RSH         0x70
#define VPC_BPF_XOR         0xa0
#define VPC_BPF_MOV         0xb0
#define VPC_BPF_END         0xd0    /* byte swap; VPC_BPF_X: to big endian */

#define VPC_BPF_JA          0x00
#define VPC_BPF_JEQ         0x10
#define VPC_BPF_JGT         0x20
#define VPC_BPF_JGE         0x30
#define VPC_BPF_JSET        0x40
#define VPC_BPF_JNE         0x50
#define VPC_BPF_CALL        0x80
#define VPC_BPF_EXIT        0x90
#define VPC_BPF_JLT         0xa0
#define VPC_BPF_JLE         0xb0

/* ld_imm64 source register values. */
#define VPC_BPF_PSEUDO_MAP_FD       1
#define VPC_BPF_PSEUDO_MAP_VALUE    2

/* Registers. */
enum {
    VPC_R0, VPC_R1, VPC_R2, VPC_R3, VPC_R4, VPC_R5,
    VPC_R6, VPC_R7, VPC_R8, VPC_R9, VPC_R10,
};

/**
 * VpcBpfAsm - a program being assembled.
 * @insns: the instructions so far.
 * @len: their number.
 * @label_at: per label, the index of the instruction it names, or -1.
 * @labels: labels handed out.
 * @error: the first error met, 0 while none; sticky.
 */
typedef struct VpcBpfAsm {
    VpcBpfInsn insns[VPC_BPF_MAX_INSNS];
    unsigned len;
    int label_at[VPC_BPF_MAX_LABELS];
    unsigned labels;
    int error;
} VpcBpfAsm;

/* Errors of vpc_bpf_finish(), negative. */
#define VPC_BPF_ERR_FULL        (-1)    /* out of instructions or labels */
#define VPC_BPF_ERR_LABEL       (-2)    /* a label bound twice or unbound */
#define VPC_BPF_ERR_RANGE       (-3)    /* a jump farther than 32767 */

void vpc_bpf_init(VpcBpfAsm *a);

/* vpc_bpf_label - a new, unbound label. */
int vpc_bpf_label(VpcBpfAsm *a);

/* vpc_bpf_bind - @label names the next instruction emitted. */
void vpc_bpf_bind(VpcBpfAsm *a, int label);

/*
 * vpc_bpf_finish - resolve the jumps.  Returns the number of
 * instructions, or a VPC_BPF_ERR_* code.
 */
int vpc_bpf_finish(VpcBpfAsm *a);

/* Raw emission: one instruction, and one jump to @label. */
void vpc_bpf_emit(VpcBpfAsm *a, uint8_t code, unsigned dst, unsigned src,
                  int16_t off, int32_t imm);
void vpc_bpf_emit_jump(VpcBpfAsm *a, uint8_t code, unsigned dst,
                       unsigned src, int32_t imm, int label);

/* dst = imm (64-bit, sign-extended) and dst = src. */
static inline void vpc_bpf_mov_imm(VpcBpfAsm *a, unsigned dst, int32_t imm)
{
    vpc_bpf_emit(a, VPC_BPF_ALU64 | VPC_BPF_MOV | VPC_BPF_K, dst, 0, 0, imm);
}

static inline void vpc_bpf_mov_reg(VpcBpfAsm *a, unsigned dst, unsigned src)
{
    vpc_bpf_emit(a, VPC_BPF_ALU64 | VPC_BPF_MOV | VPC_BPF_X, dst, src, 0, 0);
}

/* dst op= imm, dst op= src (64-bit ALU). */
static inline void vpc_bpf_alu_imm(VpcBpfAsm *a, uint8_t op, unsigned dst,
                                   int32_t imm)
{
    vpc_bpf_emit(a, VPC_BPF_ALU64 | op | VPC_BPF_K, dst, 0, 0, imm);
}

static inline void vpc_bpf_alu_reg(VpcBpfAsm *a, uint8_t op, unsigned dst,
                                   unsigned src)
{
    vpc_bpf_emit(a, VPC_BPF_ALU64 | op | VPC_BPF_X, dst, src, 0, 0);
}

/* dst = *(size *)(src + off); *(size *)(dst + off) = src or imm. */
static inline void vpc_bpf_ldx(VpcBpfAsm *a, uint8_t size, unsigned dst,
                               unsigned src, int16_t off)
{
    vpc_bpf_emit(a, VPC_BPF_LDX | VPC_BPF_MEM | size, dst, src, off, 0);
}

static inline void vpc_bpf_stx(VpcBpfAsm *a, uint8_t size, unsigned dst,
                               unsigned src, int16_t off)
{
    vpc_bpf_emit(a, VPC_BPF_STX | VPC_BPF_MEM | size, dst, src, off, 0);
}

static inline void vpc_bpf_st_imm(VpcBpfAsm *a, uint8_t size, unsigned dst,
                                  int16_t off, int32_t imm)
{
    vpc_bpf_emit(a, VPC_BPF_ST | VPC_BPF_MEM | size, dst, 0, off, imm);
}

/* lock *(u64 *)(dst + off) += src. */
static inline void vpc_bpf_atomic_add64(VpcBpfAsm *a, unsigned dst,
                                        unsigned src, int16_t off)
{
    vpc_bpf_emit(a, VPC_BPF_STX | VPC_BPF_ATOMIC | VPC_BPF_DW, dst, src, off,
                 VPC_BPF_ADD);
}

/* if (dst op imm) goto label; 64-bit and 32-bit compares. */
static inline void vpc_bpf_jmp_imm(VpcBpfAsm *a, uint8_t op, unsigned dst,
                                   int32_t imm, int label)
{
    vpc_bpf_emit_jump(a, VPC_BPF_JMP | op | VPC_BPF_K, dst, 0, imm, label);
}

static inline void vpc_bpf_jmp32_imm(VpcBpfAsm *a, uint8_t op, unsigned dst,
                                     int32_t imm, int label)
{
    vpc_bpf_emit_jump(a, VPC_BPF_JMP32 | op | VPC_BPF_K, dst, 0, imm, label);
}

static inline void vpc_bpf_jmp_reg(VpcBpfAsm *a, uint8_t op, unsigned dst,
                                   unsigned src, int label)
{
    vpc_bpf_emit_jump(a, VPC_BPF_JMP | op | VPC_BPF_X, dst, src, 0, label);
}

static inline void vpc_bpf_ja(VpcBpfAsm *a, int label)
{
    vpc_bpf_emit_jump(a, VPC_BPF_JMP | VPC_BPF_JA, 0, 0, 0, label);
}

static inline void vpc_bpf_call(VpcBpfAsm *a, int32_t helper)
{
    vpc_bpf_emit(a, VPC_BPF_JMP | VPC_BPF_CALL, 0, 0, 0, helper);
}

static inline void vpc_bpf_exit(VpcBpfAsm *a)
{
    vpc_bpf_emit(a, VPC_BPF_JMP | VPC_BPF_EXIT, 0, 0, 0, 0);
}

/* dst = 64-bit immediate; dst = map @fd, or its value at @off (array). */
void vpc_bpf_ld_imm64(VpcBpfAsm *a, unsigned dst, uint64_t imm);
void vpc_bpf_ld_map_fd(VpcBpfAsm *a, unsigned dst, int fd);
void vpc_bpf_ld_map_value(VpcBpfAsm *a, unsigned dst, int fd, uint32_t off);

/* dst = htobe16/htobe32(dst) on a little-endian machine. */
static inline void vpc_bpf_to_be(VpcBpfAsm *a, unsigned dst, int bits)
{
    vpc_bpf_emit(a, VPC_BPF_ALU | VPC_BPF_END | VPC_BPF_X, dst, 0, 0, bits);
}

#endif
