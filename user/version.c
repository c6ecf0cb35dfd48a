// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit version: the CLI's and the kernel module's versions.
 */
#include "cli.h"

static int version(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_version v;
	struct dirtybit_ctx ctx;
	int ret;

	(void)argv;
	if (argc > 1)
		return cli_error(cli, EXIT_USAGE, "version takes no arguments");
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	ret = dirtybit_get_version(&ctx, &v);
	dirtybit_close(&ctx);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "version query: %s", ctx.err);

	open_json_object(NULL);
	print_string(PRINT_ANY, "cli", "dirtybit %s\n", DIRTYBIT_VERSION);
	print_string(PRINT_ANY, "module", "module %s", v.module);
	print_uint(PRINT_ANY, "protocol", " (protocol %u)\n", v.protocol);
	close_json_object();
	return EXIT_OK;
}

const struct cli_cmd cmd_version = {
	"version", version, "show the CLI's and the kernel module's versions",
	"usage: version",
};
