/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: strict parsing of numbers.  See parse.h.
 */
#include "net/vpcnet/parse.h"

#include <string.h>

int vpc_parse_u64_n(const char *text, size_t len, uint64_t max,
                    uint64_t *value)
{
    uint64_t v = 0;

    if (len == 0) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned digit = (unsigned char)text[i] - '0';

        if (digit > 9 || v > (max - digit) / 10) {
            return -1;
        }
        v = v * 10 + digit;
    }
    *value = v;
    return 0;
}

int vpc_parse_u64(const char *text, uint64_t max, uint64_t *value)
{
    return vpc_parse_u64_n(text, strlen(text), max, value);
}
