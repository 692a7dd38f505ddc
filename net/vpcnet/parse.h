/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: strict parsing of numbers in text that users and files give
 * us (options, lease files): what strtoul would take, and more, is not
 * what we mean.
 */
#ifndef VPCNET_PARSE_H
#define VPCNET_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * vpc_parse_u64 - @len decimal digits at @text (no sign, no space, no
 * leading "0x"), at most @max.  Returns 0 with @value set, or -1.
 */
int vpc_parse_u64_n(const char *text, size_t len, uint64_t max,
                    uint64_t *value);

/* vpc_parse_u64 - as vpc_parse_u64_n, over the whole NUL-terminated @text. */
int vpc_parse_u64(const char *text, uint64_t max, uint64_t *value);

#endif
