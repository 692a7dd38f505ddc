/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the internet checksum.  See checksum.h.
 */
#include "net/vpcnet/checksum.h"

#include <string.h>

/* Fold a wide one's-complement sum to 16 bits (end-around carry). */
static uint32_t csum_fold16(uint64_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint32_t)sum;
}

/*
 * One's-complement sums do not depend on the word size or the byte order
 * they are taken in (RFC 1071, section 2): sum native 64-bit words with
 * an end-around carry, fold, and swap to big-endian order at the end.
 */
uint32_t vpc_csum_partial(uint32_t sum, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint64_t acc = 0, w64;
    uint32_t w32;
    uint16_t w16 = 0;

    while (len >= 8) {
        memcpy(&w64, p, 8);
        acc += w64;
        acc += acc < w64;
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        memcpy(&w32, p, 4);
        acc += w32;
        acc += acc < w32;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        memcpy(&w16, p, 2);
        acc += w16;
        acc += acc < w16;
        p += 2;
        len -= 2;
    }
    if (len) {
        /* The odd byte is the high half of a zero-padded word. */
        w16 = 0;
        memcpy(&w16, p, 1);
        acc += w16;
        acc += acc < w16;
    }
    acc = csum_fold16(acc);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    acc = (uint16_t)(acc << 8 | acc >> 8);
#endif
    return csum_fold16(acc + sum);
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

uint32_t vpc_csum_pseudo_ipv6(const uint8_t src[16], const uint8_t dst[16],
                              uint8_t next_header, uint32_t l4_len)
{
    uint32_t sum = vpc_csum_partial(0, src, 16);

    sum = vpc_csum_partial(sum, dst, 16);
    return csum_fold16((uint64_t)sum + (l4_len >> 16) + (l4_len & 0xffff) +
                       next_header);
}

uint16_t vpc_l4_checksum_ipv6(const uint8_t src[16], const uint8_t dst[16],
                              uint8_t next_header, const void *l4,
                              size_t len)
{
    uint32_t sum = vpc_csum_pseudo_ipv6(src, dst, next_header,
                                        (uint32_t)len);

    return vpc_csum_fold(vpc_csum_partial(sum, l4, len));
}
