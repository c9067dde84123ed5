// SPDX-License-Identifier: MIT
/* libFuzzer entry point: volt_manifest_parse and the manifest validator (see harness.c). */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return voltfs_fuzz_manifest(data, size);
}
