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
	if (t->kind == DIRTYBIT_TARGET_REGION)
		return print_region(t, data);
	open_json_object(NULL);
	print_uint(PRINT_ANY, "id", "%u: ", t->id);
	print_string(PRINT_JSON, "kind", NULL, "block");
	print_string(PRINT_ANY, "name", "%s", t->name);
	print_u64(PRINT_JSON, "major", NULL, t->dev >> 20 ? (t->dev & 0xfff00) >> 8 : t->dev >> 8);
	print_u64(PRINT_JSON, "minor", NULL, (t->dev & 0xff) | ((t->dev >> 12) & 0xfff00));
	print_u64(PRINT_ANY, "start", " start %llu", t->start);
	print_u64(PRINT_ANY, "size", " size %llu", t->size);
	print_string(PRINT_ANY, "state", " %s", state_name(t->state));
	print_u64(PRINT_JSON, "overflows", NULL, t->overflows);
	print_bool(PRINT_FP, NULL, " (overflows)", t->overflows);
	print_text("\n");
	close_json_object();
	return 0;
}

static int attach(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_target t;
	struct dirtybit_ctx ctx;
	int ret;

	if (argc != 2)
		return cli_usage(cli, &cmd_attach);
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	ret = dirtybit_attach(&ctx, argv[1], &t);
	dirtybit_close(&ctx);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "attach %s: %s", argv[1], ctx.err);
	print_target(&t, NULL);
	return EXIT_OK;
}

static int detach(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_ctx ctx;
	int ret;

	if (argc != 2)
		return cli_usage(cli, &cmd_detach);
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	ret = dirtybit_detach(&ctx, argv[1]);
	dirtybit_close(&ctx);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "detach %s: %s", argv[1], ctx.err);
	return EXIT_OK;
}

static int targets(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_ctx ctx;
	int ret;

	if (argc > 2)
		return cli_usage(cli, &cmd_targets);
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	open_json_array(NULL);
	ret = dirtybit_targets(&ctx, argc == 2 ? argv[1] : NULL, print_target, cli);
	close_json_array();
	dirtybit_close(&ctx);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "targets: %s", ctx.err);
	return EXIT_OK;
}

const struct cli_cmd cmd_attach = {
	"attach", attach, "start tracking writes to a block device",
	"usage: attach DEVICE",
};

const struct cli_cmd cmd_detach = {
	"detach", detach, "stop tracking; drops its bitmaps",
	"usage: detach DEVICE|ID",
};

const struct cli_cmd cmd_targets = {
	"targets", targets, "list tracked targets",
	"usage: targets [DEVICE|ID]",
};
