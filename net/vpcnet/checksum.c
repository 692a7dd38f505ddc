/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the internet checksum.  See checksum.h.
 */
#include "net/vpcnet/checksum.h"

/* Fold a wide one's-complement sum to 16 bits (end-around carry). */
static uint32_t csum_fold16(uint64_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint32_t)sum;
}

uint32_t vpc_csum_partial(uint32_t sum, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint64_t acc = sum;

    /* A 64-bit accumulator cannot carry out for any length we can hold. */
    while (len >= 2) {
        acc += (uint32_t)(p[0] << 8 | p[1]);
        p += 2;
        len -= 2;
    }
    if (len) {
        acc += (uint32_t)p[0] << 8;
    }
    return csum_fold16(acc);
}

uint16_t vpc_csum_fold(uint32_t sum)
{
    return (uint16_t)~csum_fold16(sum);
}

uint16_t vpc_ip_checksum(const void *buf, size_t len)
{
    return vpc_csum_fold(vpc_csum_partial(0, buf, len));
}

uint32_t vpc_csum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                              uint16_t l4_len)
{
    uint64_t sum = 0;

    sum += src >> 16;
    sum += src & 0xffff;
    sum += dst >> 16;
    sum += dst & 0xffff;
    sum += proto;
    sum += l4_len;
    return csum_fold16(sum);
}

uint16_t vpc_l4_checksum_ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                              const void *l4, size_t len)
{
    uint32_t sum = vpc_csum_pseudo_ipv4(src, dst, proto, (uint16_t)len);

    return vpc_csum_fold(vpc_csum_partial(sum, l4, len));
}

uint16_t vpc_csum_adjust16(uint16_t csum, uint16_t from, uint16_t to)
{
    uint64_t sum = (uint16_t)~csum;

    sum += (uint16_t)~from;
    sum += to;
    return (uint16_t)~csum_fold16(sum);
}

uint16_t vpc_csum_adjust32(uint16_t csum, uint32_t from, uint32_t to)
{
    uint64_t sum = (uint16_t)~csum;

    sum += (uint16_t)~(from >> 16);
    sum += (uint16_t)~from;
    sum += to >> 16;
    sum += to & 0xffff;
    return (uint16_t)~csum_fold16(sum);
}
