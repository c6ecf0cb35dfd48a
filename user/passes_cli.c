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

void cli_json_passes(struct cli *cli, const struct pass_result *r,
		     void (*more)(struct cli *cli, unsigned int k, const void *arg),
		     const void *arg)
{
	unsigned int k;

	json_array_start(&cli->js, "passes");
	for (k = 0; k < r->npasses; k++) {
		json_object_start(&cli->js, NULL);
		json_u64(&cli->js, "bytes", r->pass[k].bytes);
		json_u64(&cli->js, "ms", (uint64_t)(r->pass[k].seconds * 1e3));
		json_bool(&cli->js, "frozen", r->pass[k].quiesced);
		if (more)
			more(cli, k, arg);
		json_object_end(&cli->js);
	}
	json_array_end(&cli->js);
	json_u64(&cli->js, "frozen_ms", (uint64_t)(r->quiesced_seconds * 1e3));
	json_u64(&cli->js, "total_ms", (uint64_t)(r->seconds * 1e3));
}
