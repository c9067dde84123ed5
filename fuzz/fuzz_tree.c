// SPDX-License-Identifier: MIT
/*
 * libFuzzer entry point: volt_manifest_parse, then volt_tree_build and a
 * walk of every node (see harness.c).
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return voltfs_fuzz_tree(data, size);
}
