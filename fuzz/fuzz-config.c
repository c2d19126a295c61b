/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the server's INI configuration reader. */
#include "daemon/config.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct error_info e;

	config_defaults(&c);
	config_parse_ini(&c, (const char *)data, size, "fuzz.ini", &e);
	return 0;
}
