/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: the bpf(2) calls of the filter bridge (see bpf-sys.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "net/vpcnet/bridge/bpf-sys.h"

/* bpf(2) commands (enum bpf_cmd) and attach types we use. */
enum {
    CMD_MAP_CREATE = 0,
    CMD_MAP_LOOKUP_ELEM = 1,
    CMD_MAP_UPDATE_ELEM = 2,
    CMD_MAP_DELETE_ELEM = 3,
    CMD_PROG_LOAD = 5,
    CMD_PROG_QUERY = 16,
    CMD_LINK_CREATE = 28,
};
#define PROG_TYPE_SCHED_CLS 3
#define ATTACH_TCX_INGRESS  46
#define ATTACH_TCX_EGRESS   47
#define F_BEFORE            (1u << 3)
#define F_AFTER             (1u << 4)

typedef union Attr {
    struct {
        uint32_t map_type;
        uint32_t key_size;
        uint32_t value_size;
        uint32_t max_entries;
        uint32_t map_flags;
        uint32_t inner_map_fd;
        uint32_t numa_node;
        char map_name[16];
    } map;
    struct {
        uint32_t map_fd;
        uint32_t pad;
        uint64_t key;
        uint64_t value;
        uint64_t flags;
    } elem;
    struct {
        uint32_t prog_type;
        uint32_t insn_cnt;
        uint64_t insns;
        uint64_t license;
        uint32_t log_level;
        uint32_t log_size;
        uint64_t log_buf;
        uint32_t kern_version;
        uint32_t prog_flags;
        char prog_name[16];
    } load;
    struct {
        uint32_t prog_fd;
        uint32_t target_ifindex;
        uint32_t attach_type;
        uint32_t flags;
        uint32_t relative_fd;
        uint32_t pad;
        uint64_t expected_revision;
    } link;
    struct {
        uint32_t target_ifindex;
        uint32_t attach_type;
        uint32_t query_flags;
        uint32_t attach_flags;
        uint64_t prog_ids;
        uint32_t count;
        uint32_t pad;
        uint64_t prog_attach_flags;
        uint64_t link_ids;
        uint64_t link_attach_flags;
        uint64_t revision;
    } query;
    uint8_t bytes[128];
} Attr;

static long sys_bpf(int cmd, Attr *attr)
{
    long r = syscall(__NR_bpf, cmd, attr, sizeof(*attr));

    return r < 0 ? -errno : r;
}

/* Object names may hold [A-Za-z0-9_.] only: anything else becomes '_'. */
static void copy_name(char dst[16], const char *name)
{
    size_t i;

    for (i = 0; i < 15 && name[i]; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_';

        dst[i] = ok ? c : '_';
    }
    dst[i] = 0;
}

static uint64_t ptr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

int vpc_bpf_map_create(uint32_t type, uint32_t key_size, uint32_t value_size,
                       uint32_t max_entries, uint32_t flags,
                       const char *name)
{
    Attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.map.map_type = type;
    attr.map.key_size = key_size;
    attr.map.value_size = value_size;
    attr.map.max_entries = max_entries;
    attr.map.map_flags = flags;
    copy_name(attr.map.map_name, name);
    return (int)sys_bpf(CMD_MAP_CREATE, &attr);
}

static int map_elem(int cmd, int fd, const void *key, const void *value)
{
    Attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.elem.map_fd = (uint32_t)fd;
    attr.elem.key = ptr(key);
    attr.elem.value = ptr(value);
    return (int)sys_bpf(cmd, &attr);
}

int vpc_bpf_map_lookup(int fd, const void *key, void *value)
{
    return map_elem(CMD_MAP_LOOKUP_ELEM, fd, key, value);
}

int vpc_bpf_map_update(int fd, const void *key, const void *value)
{
    return map_elem(CMD_MAP_UPDATE_ELEM, fd, key, value);
}

int vpc_bpf_map_delete(int fd, const void *key)
{
    return map_elem(CMD_MAP_DELETE_ELEM, fd, key, NULL);
}

int vpc_bpf_prog_load_tc(const VpcBpfInsn *insns, unsigned n,
                         const char *name, char *log, size_t log_size)
{
    Attr attr;
    int r;

    memset(&attr, 0, sizeof(attr));
    attr.load.prog_type = PROG_TYPE_SCHED_CLS;
    attr.load.insn_cnt = n;
    attr.load.insns = ptr(insns);
    attr.load.license = ptr("GPL");
    copy_name(attr.load.prog_name, name);
    r = (int)sys_bpf(CMD_PROG_LOAD, &attr);
    if ((r == -EACCES || r == -EINVAL) && log && log_size > 1) {
        /* Only on failure: load again with the verifier's log. */
        log[0] = 0;
        attr.load.log_level = 1;
        attr.load.log_size = (uint32_t)log_size;
        attr.load.log_buf = ptr(log);
        r = (int)sys_bpf(CMD_PROG_LOAD, &attr);
    } else if (log && log_size) {
        log[0] = 0;
    }
    return r;
}

int vpc_bpf_tcx_attach(int prog_fd, unsigned ifindex, bool egress,
                       bool tail)
{
    Attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.link.prog_fd = (uint32_t)prog_fd;
    attr.link.target_ifindex = ifindex;
    attr.link.attach_type = egress ? ATTACH_TCX_EGRESS : ATTACH_TCX_INGRESS;
    attr.link.flags = tail ? F_AFTER : F_BEFORE;
    return (int)sys_bpf(CMD_LINK_CREATE, &attr);
}

int vpc_bpf_tcx_count(unsigned ifindex, bool egress)
{
    Attr attr;
    long r;

    memset(&attr, 0, sizeof(attr));
    attr.query.target_ifindex = ifindex;
    attr.query.attach_type = egress ? ATTACH_TCX_EGRESS : ATTACH_TCX_INGRESS;
    r = sys_bpf(CMD_PROG_QUERY, &attr);
    return r < 0 ? (int)r : (int)attr.query.count;
}
