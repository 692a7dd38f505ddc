/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the DHCP server's lease file.
 *
 * Theory of operation
 *
 * The DHCP core (dhcp-server.[ch]) does no I/O: it marks itself dirty when
 * a binding changes and takes stored entries back one by one.  This is the
 * store that the qemu-vswitch daemon uses: one text file, a header line
 * and then one "mac address state expires hostname" line per entry.
 *
 * Saving rewrites the whole file: a temporary file in the same directory,
 * fsync, rename over the old one, fsync the directory, so a crash leaves
 * either the old file or the new one, never a mix.  An offer is stored as
 * the client's memory ("released"), not as a binding.  The embedder
 * decides when to save; the daemon saves a short while after the table
 * went dirty, before it lists the table and when it exits, never per
 * packet.
 *
 * Loading reads the file back at start, byte by byte into a bounded line:
 * a line that does not parse, names an address the server would not hand
 * out, or repeats a client or an address is reported and skipped; a file
 * of an unknown format is ignored as a whole.  Nothing in the file is
 * trusted.
 */
#ifndef VPCNET_DHCP_LEASES_H
#define VPCNET_DHCP_LEASES_H

#include <stdint.h>

#include "net/vpcnet/dhcp-server.h"

#define VPC_DHCP_LEASE_PATH_MAX     4000

/**
 * VpcDhcpLeaseFileStats - what the lease file did since it was opened.
 * @loaded: entries taken from the file.
 * @bad_lines: lines reported and skipped.
 * @writes: rewrites of the file.
 * @write_errors: rewrites that failed (the old file kept).
 */
typedef struct VpcDhcpLeaseFileStats {
    uint64_t loaded;
    uint64_t bad_lines;
    uint64_t writes;
    uint64_t write_errors;
} VpcDhcpLeaseFileStats;

typedef struct VpcDhcpLeaseFile VpcDhcpLeaseFile;

/*
 * vpc_dhcp_lease_file_new - the lease file at @path, not yet read.
 * @log (may be NULL) gets one line per problem: bad lines, failed
 * writes.  NULL when @path is empty or longer than
 * VPC_DHCP_LEASE_PATH_MAX, or memory runs out.
 */
VpcDhcpLeaseFile *vpc_dhcp_lease_file_new(const char *path,
                                          void (*log)(void *opaque,
                                                      const char *msg),
                                          void *log_opaque);

/* vpc_dhcp_lease_file_free - forget @lf (NULL is fine); the file stays. */
void vpc_dhcp_lease_file_free(VpcDhcpLeaseFile *lf);

/*
 * vpc_dhcp_lease_file_load - restore the entries of the file into @s, a
 * server that has served nobody yet.  A missing file is an empty table.
 */
void vpc_dhcp_lease_file_load(VpcDhcpLeaseFile *lf, VpcDhcpServer *s);

/*
 * vpc_dhcp_lease_file_save - write @s's table as of @now and mark it
 * saved.  Returns 0, or -1 (reported, counted, the old file kept and @s
 * still dirty).
 */
int vpc_dhcp_lease_file_save(VpcDhcpLeaseFile *lf, VpcDhcpServer *s,
                             uint64_t now);

/* vpc_dhcp_lease_file_stats - the counters of @lf, valid while it lives. */
const VpcDhcpLeaseFileStats *vpc_dhcp_lease_file_stats(
    const VpcDhcpLeaseFile *lf);

#endif
