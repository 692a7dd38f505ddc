/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The libFuzzer entry point of fuzz-vpcnet.c, declared here so that the
 * standalone driver and libFuzzer builds see one prototype.
 */
#ifndef TESTS_UNIT_FUZZ_VPCNET_H
#define TESTS_UNIT_FUZZ_VPCNET_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
