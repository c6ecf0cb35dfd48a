// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit version: the CLI's and the kernel module's versions.
 */
#include "cli.h"

int cmd_version(struct cli *cli, int argc, char **argv)
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

	if (cli->json) {
		json_object_start(&cli->js, NULL);
		json_str(&cli->js, "cli", DIRTYBIT_VERSION);
		json_str(&cli->js, "module", v.module);
		json_u64(&cli->js, "protocol", v.protocol);
		json_object_end(&cli->js);
	} else {
		printf("dirtybit %s\nmodule %s (protocol %u)\n", DIRTYBIT_VERSION,
		       v.module, v.protocol);
	}
	return EXIT_OK;
}
