// SPDX-License-Identifier: GPL-2.0
/*
 * The pass options and the pass report that image save and backup share,
 * so both read the same and print the same JSON shape.
 */
#include <stdio.h>

#include "cli.h"

int cli_pass_option(struct cli *cli, int c, const char *arg, struct pass_opts *o)
{
	unsigned long long v;

	switch (c) {
	case CLI_OPT_PASSES:
		if (!cli_parse_count(arg, 1, PASSES_MAX, &v))
			return cli_error(cli, EXIT_USAGE, "--passes: 1 to %d", PASSES_MAX);
		o->max_passes = (unsigned int)v;
		return 0;
	case CLI_OPT_THRESHOLD:
		if (passes_parse_threshold(arg, &o->threshold))
			return cli_error(cli, EXIT_USAGE,
					 "--threshold: a size (256K, 1M) or a number of 4 KiB pages");
		return 0;
	case CLI_OPT_MAX_FREEZE:
		if (passes_parse_duration(arg, &o->max_freeze))
			return cli_error(cli, EXIT_USAGE,
					 "--max-freeze: a duration above 0 (2s, 500ms, 1.5)");
		return 0;
	}
	return -1;
}

void cli_print_passes(const struct pass_result *r,
		      void (*more)(unsigned int k, const void *arg), const void *arg)
{
	unsigned int k;

	if (!is_json_context())
		return;
	open_json_array("passes");
	for (k = 0; k < r->npasses; k++) {
		open_json_object(NULL);
		print_u64(PRINT_JSON, "bytes", NULL, r->pass[k].bytes);
		print_u64(PRINT_JSON, "ms", NULL, (uint64_t)(r->pass[k].seconds * 1e3));
		print_bool(PRINT_JSON, "frozen", NULL, r->pass[k].quiesced);
		if (more)
			more(k, arg);
		close_json_object();
	}
	close_json_array();
	print_u64(PRINT_JSON, "frozen_ms", NULL, (uint64_t)(r->quiesced_seconds * 1e3));
	print_u64(PRINT_JSON, "total_ms", NULL, (uint64_t)(r->seconds * 1e3));
}
