/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * DEC 21140A: the frame check sequence of received frames.
 *
 * Theory of operation
 * -------------------
 * The chip stores each received frame with its 4-byte FCS, and counts it
 * in RDES0 FL; we compute it, since the network hands us frames without
 * one.  That is a CRC-32 over every byte of every frame, on the path that
 * delivers frames to the guest: zlib's table-driven crc32() takes about
 * 0.75 ns a byte here, over 1 us for a full frame, the largest part of
 * the device's receive cost.  On x86 hosts with PCLMULQDQ we fold the
 * frame 64 bytes at a time with carry-less multiplies instead (the method
 * of Intel's "Fast CRC Computation for Generic Polynomials Using
 * PCLMULQDQ", with the constants for the bit-reflected polynomial
 * 0xEDB88320), about ten times faster, down to the last partial block:
 * handing the last few bytes (and whole short frames, the TCP ACKs of a
 * transfer) to zlib cost as much again as the folding, zlib's per-call
 * overhead on a short run.  Both give the same result; dec21140a-test's
 * "fcs" case checks the stored FCS over frame lengths that exercise every
 * tail.
 */
#include "qemu/osdep.h"
#include <zlib.h>
#include "dec21140a_fcs.h"

#if defined(HOST_X86_64) || defined(HOST_I386)
#include "qemu/int128.h"
#include "host/crypto/clmul.h"

/*
 * Fold: x (128 bits standing for the CRC state so far) times x^(k+64) and
 * x^k modulo P, plus the next 128 bits of data.
 */
static inline __m128i ATTR_CLMUL_ACCEL fold(__m128i x, __m128i k, __m128i d)
{
    __m128i hi = _mm_clmulepi64_si128(x, k, 0x11);
    __m128i lo = _mm_clmulepi64_si128(x, k, 0x00);

    return _mm_xor_si128(_mm_xor_si128(hi, lo), d);
}

static inline __m128i ATTR_CLMUL_ACCEL load(const uint8_t *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}

/*
 * The raw (not complemented) CRC state after @len bytes, from state @crc;
 * @len is at least 16.  Four lanes fold 64 bytes a round while there are
 * that many, one lane 16 bytes a round after that, and a last partial
 * block of r bytes is taken as two blocks: the r bytes of the state that
 * it pushes out (led by 16 - r zero bytes, which add nothing) and the
 * rest of the state followed by the r new bytes.
 */
static uint32_t ATTR_CLMUL_ACCEL
dec21140a_crc32_clmul(uint32_t crc, const uint8_t *p, size_t len)
{
    /* x^(4*128+64), x^(4*128) and x^(128+64), x^128 mod P, reflected. */
    const __m128i k1k2 = _mm_set_epi64x(0x1c6e41596ULL, 0x154442bd4ULL);
    const __m128i k3k4 = _mm_set_epi64x(0x0ccaa009eULL, 0x1751997d0ULL);
    /* x^64 mod P, for the 64 to 32 bit fold. */
    const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124ULL);
    /* Barrett reduction: P itself and floor(x^64 / P), reflected. */
    const __m128i pu = _mm_set_epi64x(0x1f7011641ULL, 0x1db710641ULL);
    const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
    __m128i x1 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(crc)), t;

    p += 16;
    len -= 16;
    if (len >= 48) {
        __m128i x2 = load(p), x3 = load(p + 16), x4 = load(p + 32);

        for (p += 48, len -= 48; len >= 64; p += 64, len -= 64) {
            x1 = fold(x1, k1k2, load(p));
            x2 = fold(x2, k1k2, load(p + 16));
            x3 = fold(x3, k1k2, load(p + 32));
            x4 = fold(x4, k1k2, load(p + 48));
        }
        x1 = fold(x1, k3k4, x2);
        x1 = fold(x1, k3k4, x3);
        x1 = fold(x1, k3k4, x4);
    }
    for (; len >= 16; p += 16, len -= 16) {
        x1 = fold(x1, k3k4, load(p));
    }
    if (len) {
        /* Zeros, the state, zeros; and 16 - len zero bytes, the tail. */
        uint8_t st[48] QEMU_ALIGNED(16) = { 0 }, tail[16] = { 0 };

        _mm_store_si128((__m128i *)(st + 16), x1);
        memcpy(tail + 16 - len, p, len);
        x1 = fold(load(st + len), k3k4,
                  _mm_xor_si128(load(st + 16 + len), load(tail)));
    }
    /* 128 to 64 bits (appending 32 zero bits), then 64 to 32. */
    t = _mm_clmulepi64_si128(x1, k3k4, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), t);
    t = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), k5, 0x00);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 4), t);
    t = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), pu, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), pu, 0x00);
    x1 = _mm_xor_si128(x1, t);
    return _mm_cvtsi128_si32(_mm_srli_si128(x1, 4));
}
#endif

uint32_t dec21140a_fcs(const uint8_t *buf, size_t len)
{
#if defined(HOST_X86_64) || defined(HOST_I386)
    if (HAVE_CLMUL_ACCEL && len >= 16) {
        return ~dec21140a_crc32_clmul(0xffffffffu, buf, len);
    }
#endif
    return crc32(0, buf, len);
}
