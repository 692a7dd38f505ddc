/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the DHCP server's lease file.  See dhcp-leases.h.
 */
#include "net/vpcnet/dhcp-leases.h"
#include "net/vpcnet/ipv4.h"
#include "net/vpcnet/macaddr.h"
#include "net/vpcnet/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEASE_FILE_MAGIC    "vpcnet-dhcp-leases"
#define LEASE_FILE_HEADER   LEASE_FILE_MAGIC " 1"
#define LEASE_LINE_MAX      255
#define LEASE_TMP_SUFFIX    ".tmp-XXXXXX"

/**
 * VpcDhcpLeaseFile - one lease file.
 * @path: the file.
 * @tmp: room for the temporary file's name.
 * @dir: the file's directory, fsynced after a rename.
 * @log: where problems go, or NULL.
 * @log_opaque: passed to @log.
 * @stats: counters.
 */
struct VpcDhcpLeaseFile {
    char *path;
    char *tmp;
    char *dir;
    void (*log)(void *opaque, const char *msg);
    void *log_opaque;
    VpcDhcpLeaseFileStats stats;
};

static void lf_log(VpcDhcpLeaseFile *lf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void lf_log(VpcDhcpLeaseFile *lf, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (!lf->log) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    lf->log(lf->log_opaque, msg);
}

VpcDhcpLeaseFile *vpc_dhcp_lease_file_new(const char *path,
                                          void (*log)(void *opaque,
                                                      const char *msg),
                                          void *log_opaque)
{
    VpcDhcpLeaseFile *lf;
    const char *slash;
    size_t len;

    if (!path || !path[0] || strlen(path) > VPC_DHCP_LEASE_PATH_MAX) {
        return NULL;
    }
    lf = calloc(1, sizeof(*lf));
    if (!lf) {
        return NULL;
    }
    len = strlen(path);
    slash = strrchr(path, '/');
    lf->log = log;
    lf->log_opaque = log_opaque;
    lf->path = strdup(path);
    lf->tmp = malloc(len + sizeof(LEASE_TMP_SUFFIX));
    if (!slash) {
        lf->dir = strdup(".");
    } else if (slash == path) {
        lf->dir = strdup("/");
    } else {
        lf->dir = strndup(path, slash - path);
    }
    if (!lf->path || !lf->tmp || !lf->dir) {
        vpc_dhcp_lease_file_free(lf);
        return NULL;
    }
    return lf;
}

void vpc_dhcp_lease_file_free(VpcDhcpLeaseFile *lf)
{
    if (!lf) {
        return;
    }
    free(lf->path);
    free(lf->tmp);
    free(lf->dir);
    free(lf);
}

const VpcDhcpLeaseFileStats *vpc_dhcp_lease_file_stats(
    const VpcDhcpLeaseFile *lf)
{
    return &lf->stats;
}

/* Saving */

static const char *lease_file_state(VpcDhcpLeaseState state)
{
    /* An offer is not a binding: keep only the client's memory. */
    return state == VPC_DHCP_LEASE_OFFERED ? "released"
           : vpc_dhcp_lease_state_name(state);
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/**
 * LeaseWriter - the state of one save, passed through the lease walk.
 * @fd: the temporary file.
 * @buf: lines not yet written.
 * @used: bytes used in @buf.
 * @failed: the call that failed first, or NULL.
 */
typedef struct LeaseWriter {
    int fd;
    char buf[4096];
    size_t used;
    const char *failed;
} LeaseWriter;

static void writer_put(LeaseWriter *w, const char *line, size_t n)
{
    if (w->failed) {
        return;
    }
    if (w->used + n > sizeof(w->buf)) {
        if (write_all(w->fd, w->buf, w->used) < 0) {
            w->failed = "write";
            return;
        }
        w->used = 0;
    }
    memcpy(w->buf + w->used, line, n);
    w->used += n;
}

static void write_lease(void *opaque, const VpcDhcpLeaseInfo *l)
{
    LeaseWriter *w = opaque;
    char line[160], mac[VPC_MAC_STRLEN], ip[VPC_IPV4_ADDR_STRLEN];
    int n;

    if (l->state == VPC_DHCP_LEASE_DECLINED) {
        snprintf(mac, sizeof(mac), "-");
    } else {
        vpc_mac_format(l->mac, mac);
    }
    vpc_ipv4_format(l->addr, ip);
    n = snprintf(line, sizeof(line), "%s %s %s %" PRIu64 " %s\n", mac, ip,
                 lease_file_state(l->state), l->expires,
                 l->hostname && l->hostname[0] ? l->hostname : "-");
    writer_put(w, line, (size_t)n);
}

/*
 * Rewrite the whole file: a temporary file in the same directory, fsync,
 * rename over the old one, fsync the directory.  The only buffers are on
 * the stack or made at creation.
 */
int vpc_dhcp_lease_file_save(VpcDhcpLeaseFile *lf, VpcDhcpServer *s,
                             uint64_t now)
{
    static const char header[] = "# vpcnet DHCP leases: mac address state "
                                 "expires hostname\n" LEASE_FILE_HEADER "\n";
    LeaseWriter w = { .used = 0 };
    int dir_fd, saved_errno = 0;

    snprintf(lf->tmp, strlen(lf->path) + sizeof(LEASE_TMP_SUFFIX), "%s%s",
             lf->path, LEASE_TMP_SUFFIX);
    w.fd = mkstemp(lf->tmp);
    if (w.fd < 0) {
        lf->stats.write_errors++;
        lf_log(lf, "cannot create %s: %s", lf->tmp, strerror(errno));
        return -1;
    }
    fcntl(w.fd, F_SETFD, FD_CLOEXEC);

    writer_put(&w, header, sizeof(header) - 1);
    vpc_dhcp_server_foreach_lease(s, now, write_lease, &w);
    if (!w.failed && write_all(w.fd, w.buf, w.used) < 0) {
        w.failed = "write";
    }
    if (!w.failed && fsync(w.fd) < 0) {
        w.failed = "fsync";
    }
    saved_errno = errno;
    if (close(w.fd) < 0 && !w.failed) {
        w.failed = "close";
        saved_errno = errno;
    }
    if (!w.failed && rename(lf->tmp, lf->path) < 0) {
        w.failed = "rename";
        saved_errno = errno;
    }
    if (w.failed) {
        unlink(lf->tmp);
        lf->stats.write_errors++;
        lf_log(lf, "cannot write lease file %s (%s: %s); keeping the old "
               "one", lf->path, w.failed, strerror(saved_errno));
        return -1;
    }
    /* Make the rename itself durable; not every file system can. */
    dir_fd = open(lf->dir, O_RDONLY);
    if (dir_fd >= 0) {
        fsync(dir_fd);
        close(dir_fd);
    }
    vpc_dhcp_server_saved(s);
    lf->stats.writes++;
    return 0;
}

/* Loading */

/*
 * Take one "mac address state expires hostname" line.  Returns NULL, or
 * why the line is refused: here for its syntax, by the server for what
 * it says.
 */
static const char *lease_line_load(VpcDhcpServer *s, char *line)
{
    char *fields[6], *save = NULL;
    unsigned n = 0;
    VpcDhcpLeaseInfo info = { .hostname = NULL };
    struct in_addr in;

    for (char *tok = strtok_r(line, " \t", &save); tok && n < 6;
         tok = strtok_r(NULL, " \t", &save)) {
        fields[n++] = tok;
    }
    if (n != 5) {
        return "not five fields";
    }
    if (strcmp(fields[2], "bound") == 0) {
        info.state = VPC_DHCP_LEASE_BOUND;
    } else if (strcmp(fields[2], "released") == 0) {
        info.state = VPC_DHCP_LEASE_RELEASED;
    } else if (strcmp(fields[2], "declined") == 0) {
        info.state = VPC_DHCP_LEASE_DECLINED;
    } else {
        return "unknown state";
    }
    if (info.state == VPC_DHCP_LEASE_DECLINED) {
        if (strcmp(fields[0], "-") != 0) {
            return "a declined address names a client";
        }
    } else if (vpc_mac_parse(fields[0], info.mac) < 0) {
        return "bad MAC address";
    }
    if (inet_pton(AF_INET, fields[1], &in) != 1) {
        return "bad IPv4 address";
    }
    info.addr = ntohl(in.s_addr);
    if (vpc_parse_u64(fields[3], UINT64_MAX, &info.expires) < 0) {
        return "bad expiry time";
    }
    if (strcmp(fields[4], "-") != 0) {
        info.hostname = fields[4];
    }
    return vpc_dhcp_server_restore(s, &info);
}

static void lease_file_bad_line(VpcDhcpLeaseFile *lf, unsigned lineno,
                                const char *why)
{
    lf->stats.bad_lines++;
    lf_log(lf, "lease file %s line %u: %s; line ignored", lf->path, lineno,
           why);
}

void vpc_dhcp_lease_file_load(VpcDhcpLeaseFile *lf, VpcDhcpServer *s)
{
    char line[LEASE_LINE_MAX + 1];
    unsigned lineno = 0;
    bool header_seen = false;
    FILE *f;

    f = fopen(lf->path, "r");
    if (!f) {
        if (errno != ENOENT) {
            lf_log(lf, "cannot read lease file %s: %s", lf->path,
                   strerror(errno));
        }
        return;
    }
    for (;;) {
        size_t n = 0;
        bool too_long = false, has_nul = false;
        const char *why;
        int ch;

        /* Byte by byte: bounded memory, and a NUL cannot hide a newline. */
        while ((ch = getc(f)) != EOF && ch != '\n') {
            if (n < LEASE_LINE_MAX) {
                line[n++] = (char)ch;
            } else {
                too_long = true;
            }
            has_nul |= ch == '\0';
        }
        if (ch == EOF && n == 0 && !too_long) {
            break;
        }
        lineno++;
        line[n] = '\0';
        if (ch == EOF) {
            /* We always end with a newline: this is a torn write. */
            lease_file_bad_line(lf, lineno, "truncated (no newline at end)");
            break;
        }
        if (too_long || has_nul) {
            lease_file_bad_line(lf, lineno, too_long ? "too long"
                                : "NUL character");
            continue;
        }
        if (n == 0 || line[0] == '#') {
            continue;
        }
        if (strcmp(line, LEASE_FILE_HEADER) == 0) {
            header_seen = true;
            continue;
        }
        if (strncmp(line, LEASE_FILE_MAGIC, strlen(LEASE_FILE_MAGIC)) == 0) {
            /* A format we do not know: better no leases than wrong ones. */
            lf_log(lf, "lease file %s line %u: unsupported format; file "
                   "ignored", lf->path, lineno);
            lf->stats.bad_lines++;
            break;
        }
        if (!header_seen) {
            /* Report once, then judge each line on its own. */
            lease_file_bad_line(lf, lineno, "no header before the first "
                                "lease");
            header_seen = true;
        }
        why = lease_line_load(s, line);
        if (why) {
            lease_file_bad_line(lf, lineno, why);
        } else {
            lf->stats.loaded++;
        }
    }
    if (ferror(f)) {
        lf_log(lf, "error reading lease file %s", lf->path);
    }
    fclose(f);
    /* What was loaded is what the file says. */
    vpc_dhcp_server_saved(s);
}
