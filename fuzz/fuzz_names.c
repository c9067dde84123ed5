// SPDX-License-Identifier: MIT
/* libFuzzer entry point: volt_time_parse_rfc3339 and volt_ref_parse_name (see harness.c). */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return voltfs_fuzz_names(data, size);
}
