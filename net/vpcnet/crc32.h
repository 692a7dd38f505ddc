/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the Ethernet CRC-32 (IEEE 802.3, reflected, polynomial
 * 0xEDB88320), as the frame check sequence, the 21140A's hash filter and
 * its SROM checksum all use it.
 */
#ifndef VPCNET_CRC32_H
#define VPCNET_CRC32_H

#include <stddef.h>
#include <stdint.h>

/*
 * vpc_crc32_le_update - continue a reflected CRC-32 over @len bytes.
 * @crc: the running value; start from 0xFFFFFFFF.
 * The final FCS is the complement of the result.
 */
uint32_t vpc_crc32_le_update(uint32_t crc, const void *buf, size_t len);

/* vpc_crc32_le - the Ethernet FCS of @buf (complemented, as on the wire). */
uint32_t vpc_crc32_le(const void *buf, size_t len);

#endif
