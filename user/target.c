// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit attach | detach | targets: block targets (and regions, listed).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *state_name(uint32_t state)
{
	return state == DIRTYBIT_TARGET_GONE ? "gone" : "live";
}

int print_target(const struct dirtybit_target *t, void *data)
{
	struct cli *cli = data;

	if (t->kind == DIRTYBIT_TARGET_REGION)
		return print_region(t, cli);
	if (cli->json) {
		json_object_start(&cli->js, NULL);
		json_u64(&cli->js, "id", t->id);
		json_str(&cli->js, "kind", "block");
		json_str(&cli->js, "name", t->name);
		json_u64(&cli->js, "major", t->dev >> 20 ? (t->dev & 0xfff00) >> 8 : t->dev >> 8);
		json_u64(&cli->js, "minor", (t->dev & 0xff) | ((t->dev >> 12) & 0xfff00));
		json_u64(&cli->js, "start", t->start);
		json_u64(&cli->js, "size", t->size);
		json_str(&cli->js, "state", state_name(t->state));
		json_u64(&cli->js, "overflows", t->overflows);
		json_object_end(&cli->js);
	} else {
		printf("%u: %s start %llu size %llu %s%s\n", t->id, t->name,
		       (unsigned long long)t->start, (unsigned long long)t->size,
		       state_name(t->state), t->overflows ? " (overflows)" : "");
	}
	return 0;
}

int cmd_attach(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_target t;
	struct dirtybit_ctx ctx;
	int ret;

	if (argc != 2)
		return cli_error(cli, EXIT_USAGE, "usage: attach DEVICE");
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	ret = dirtybit_attach(&ctx, argv[1], &t);
	dirtybit_close(&ctx);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "attach %s: %s", argv[1], ctx.err);
	print_target(&t, cli);
	return EXIT_OK;
}

int cmd_detach(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_ctx ctx;
	int ret;

	if (argc != 2)
		return cli_error(cli, EXIT_USAGE, "usage: detach DEVICE|ID");
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	ret = dirtybit_detach(&ctx, argv[1]);
	dirtybit_close(&ctx);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "detach %s: %s", argv[1], ctx.err);
	return EXIT_OK;
}

int cmd_targets(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_ctx ctx;
	int ret;

	if (argc > 2)
		return cli_error(cli, EXIT_USAGE, "usage: targets [DEVICE|ID]");
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	if (cli->json)
		json_array_start(&cli->js, NULL);
	ret = dirtybit_targets(&ctx, argc == 2 ? argv[1] : NULL, print_target, cli);
	if (cli->json)
		json_array_end(&cli->js);
	dirtybit_close(&ctx);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "targets: %s", ctx.err);
	return EXIT_OK;
}
