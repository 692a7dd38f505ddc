/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: Ethernet CRC-32.  A nibble table keeps it small and free of
 * start-up work; callers on a per-frame hot path with long frames should
 * prefer zlib's crc32(), which computes the same value faster.
 */
#include "net/vpcnet/crc32.h"

static const uint32_t crc32_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
    0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t vpc_crc32_le_update(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ crc32_nibble[crc & 0xf];
        crc = (crc >> 4) ^ crc32_nibble[crc & 0xf];
    }
    return crc;
}

uint32_t vpc_crc32_le(const void *buf, size_t len)
{
    return ~vpc_crc32_le_update(0xffffffffu, buf, len);
}
