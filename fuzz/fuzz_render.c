// SPDX-License-Identifier: MIT
/* libFuzzer entry point: the args, env and unit renderers (see harness.c). */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return voltfs_fuzz_render(data, size);
}
