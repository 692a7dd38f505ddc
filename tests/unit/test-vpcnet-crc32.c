/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the Ethernet CRC-32.
 */
#include <glib.h>
#include <string.h>

#include "net/vpcnet/crc32.h"

/* The CRC-32 check value from the catalogue of parametrised CRCs. */
static void test_check_value(void)
{
    g_assert_cmphex(vpc_crc32_le("123456789", 9), ==, 0xcbf43926);
}

static void test_empty(void)
{
    g_assert_cmphex(vpc_crc32_le("", 0), ==, 0);
}

/* Feeding the data in pieces gives the same result as in one go. */
static void test_incremental(void)
{
    const char *s = "The quick brown fox jumps over the lazy dog";
    uint32_t crc = 0xffffffffu;

    crc = vpc_crc32_le_update(crc, s, 10);
    crc = vpc_crc32_le_update(crc, s + 10, strlen(s) - 10);
    g_assert_cmphex(~crc, ==, 0x414fa339);
    g_assert_cmphex(vpc_crc32_le(s, strlen(s)), ==, 0x414fa339);
}

/*
 * A frame followed by its FCS (little-endian) leaves the well-known
 * residue 0xdebb20e3 in the complemented CRC register.
 */
static void test_fcs_residue(void)
{
    uint8_t frame[64 + 4];
    uint32_t fcs;

    for (unsigned i = 0; i < 64; i++) {
        frame[i] = i * 7 + 3;
    }
    fcs = vpc_crc32_le(frame, 64);
    frame[64] = fcs;
    frame[65] = fcs >> 8;
    frame[66] = fcs >> 16;
    frame[67] = fcs >> 24;
    g_assert_cmphex(vpc_crc32_le(frame, sizeof(frame)), ==, 0x2144df1c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vpcnet/crc32/check-value", test_check_value);
    g_test_add_func("/vpcnet/crc32/empty", test_empty);
    g_test_add_func("/vpcnet/crc32/incremental", test_incremental);
    g_test_add_func("/vpcnet/crc32/fcs-residue", test_fcs_residue);
    return g_test_run();
}
