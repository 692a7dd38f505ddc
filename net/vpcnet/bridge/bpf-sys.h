/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: the bpf(2) calls of the filter bridge, Linux only.
 *
 * The helper creates the maps, loads the programs and attaches them as
 * tcx links (kernel 6.6 or later), all of which need CAP_BPF and
 * CAP_NET_ADMIN.  QEMU, holding no capability, only updates and reads
 * maps through descriptors the helper passed it: since Linux 6.5 the
 * kernel.unprivileged_bpf_disabled sysctl gates creating maps and
 * loading programs, not using a map one has been given.
 *
 * The attribute layouts are spelled out here, not taken from
 * <linux/bpf.h>, because distribution headers may predate tcx.  Every
 * function returns a descriptor or 0, or -errno.
 */
#ifndef VPCNET_BRIDGE_BPF_SYS_H
#define VPCNET_BRIDGE_BPF_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/vpcnet/bridge/bpf-asm.h"

#define VPC_BPF_MAP_TYPE_HASH   1
#define VPC_BPF_MAP_TYPE_ARRAY  2
#define VPC_BPF_F_RDONLY        (1u << 3)   /* read-only for syscalls */

/* vpc_bpf_map_create - a map; @name is at most 15 characters. */
int vpc_bpf_map_create(uint32_t type, uint32_t key_size, uint32_t value_size,
                       uint32_t max_entries, uint32_t flags,
                       const char *name);

int vpc_bpf_map_lookup(int fd, const void *key, void *value);
int vpc_bpf_map_update(int fd, const void *key, const void *value);
int vpc_bpf_map_delete(int fd, const void *key);

/*
 * vpc_bpf_prog_load_tc - load @n instructions as a tc (tcx) program.
 * The verifier's complaints, if any, land in @log (may be NULL).
 */
int vpc_bpf_prog_load_tc(const VpcBpfInsn *insns, unsigned n,
                         const char *name, char *log, size_t log_size);

/*
 * vpc_bpf_tcx_attach - attach @prog_fd to @ifindex's ingress or egress
 * as a link, at the head of the chain or (@tail) at its end.  The
 * program stays attached while the returned descriptor is open.
 */
int vpc_bpf_tcx_attach(int prog_fd, unsigned ifindex, bool egress,
                       bool tail);

/* vpc_bpf_tcx_count - how many programs @ifindex's hook runs. */
int vpc_bpf_tcx_count(unsigned ifindex, bool egress);

#endif
