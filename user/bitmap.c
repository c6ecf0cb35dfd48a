// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit bitmap ACTION TARGET NAME ... | bitmap list | extents: named
 * bitmaps and their dirty extents.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	uint8_t cmd;
} actions[] = {
	{ "add", DIRTYBIT_CMD_BITMAP_ADD },
	{ "remove", DIRTYBIT_CMD_BITMAP_REMOVE },
	{ "clear", DIRTYBIT_CMD_BITMAP_CLEAR },
	{ "enable", DIRTYBIT_CMD_BITMAP_ENABLE },
	{ "disable", DIRTYBIT_CMD_BITMAP_DISABLE },
	{ "merge", DIRTYBIT_CMD_BITMAP_MERGE },
	{ "freeze", DIRTYBIT_CMD_BITMAP_FREEZE },
	{ "abdicate", DIRTYBIT_CMD_BITMAP_ABDICATE },
	{ "reclaim", DIRTYBIT_CMD_BITMAP_RECLAIM },
};

static int print_bitmap(const struct dirtybit_bitmap *b, void *data)
{
	bool frozen = b->flags & DIRTYBIT_BITMAP_F_FROZEN;
	bool recording = b->flags & DIRTYBIT_BITMAP_F_RECORDING;

	(void)data;
	open_json_object(NULL);
	print_uint(PRINT_ANY, "target", "%u ", b->target_id);
	print_string(PRINT_ANY, "name", "%s", b->name);
	print_uint(PRINT_ANY, "granularity", " granularity %u", b->granularity);
	print_u64(PRINT_ANY, "count", " count %llu", b->count);
	print_bool(PRINT_JSON, "recording", NULL, recording);
	print_string(PRINT_FP, NULL, " %s", recording ? "recording" : "disabled");
	print_bool(PRINT_ANY, "frozen", ",frozen", frozen);
	print_bool(PRINT_ANY, "inconsistent", ",inconsistent",
		   b->flags & DIRTYBIT_BITMAP_F_INCONSISTENT);
	if (frozen)
		print_u64(PRINT_ANY, "successor_count", " successor %llu", b->successor_count);
	print_text("\n");
	close_json_object();
	return 0;
}

static int bitmap_list(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_ctx ctx;
	int ret;

	if (argc > 2)
		return cli_error(cli, EXIT_USAGE, "usage: bitmap list [DEVICE|ID]");
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	open_json_array(NULL);
	ret = dirtybit_bitmaps(&ctx, argc == 2 ? argv[1] : NULL, print_bitmap, NULL);
	close_json_array();
	dirtybit_close(&ctx);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "bitmap list: %s", ctx.err);
	return EXIT_OK;
}

static int bitmap(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_bitmap_req req = { 0 };
	uint64_t gran;
	struct dirtybit_ctx ctx;
	size_t i;
	int a, ret;
	uint8_t cmd = 0;

	if (argc >= 2 && !strcmp(argv[1], "list"))
		return bitmap_list(cli, argc - 1, argv + 1);
	for (i = 0; argc >= 2 && i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(argv[1], actions[i].name))
			cmd = actions[i].cmd;
	if (!cmd || argc < 4)
		return cli_usage(cli, &cmd_bitmap);
	req.target = argv[2];
	req.name = argv[3];
	a = 4;
	if (cmd == DIRTYBIT_CMD_BITMAP_MERGE) {
		if (argc < 5)
			return cli_usage(cli, &cmd_bitmap);
		req.source = argv[a++];
	}
	for (; a < argc; a++) {
		if (cmd == DIRTYBIT_CMD_BITMAP_ADD && !strcmp(argv[a], "--granularity") &&
		    a + 1 < argc) {
			if (cli_parse_size(argv[++a], UINT32_MAX, &gran))
				return cli_error(cli, EXIT_USAGE, "bad granularity '%s'", argv[a]);
			req.granularity = (uint32_t)gran;
		} else if (cmd == DIRTYBIT_CMD_BITMAP_ADD && !strcmp(argv[a], "--disabled")) {
			req.disabled = true;
		} else if (cmd == DIRTYBIT_CMD_BITMAP_RECLAIM && !strcmp(argv[a], "--force")) {
			req.force = true;
		} else if (cmd == DIRTYBIT_CMD_BITMAP_MERGE && !strcmp(argv[a], "--from") &&
			   a + 1 < argc) {
			req.source_target = argv[++a];
		} else {
			return cli_error(cli, EXIT_USAGE, "unexpected '%s'\n%s", argv[a],
					 cmd_bitmap.usage);
		}
	}
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	ret = dirtybit_bitmap(&ctx, cmd, &req);
	dirtybit_close(&ctx);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "bitmap %s %s %s: %s", argv[1], req.target,
				 req.name, ctx.err);
	return EXIT_OK;
}

static int print_extent(uint64_t start, uint64_t length, void *data)
{
	(void)data;
	open_json_object(NULL);
	print_u64(PRINT_ANY, "start", "%llu", start);
	print_u64(PRINT_ANY, "length", " %llu\n", length);
	close_json_object();
	return 0;
}

static int extents(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_ctx ctx;
	bool changed;
	int ret;

	if (argc != 3)
		return cli_usage(cli, &cmd_extents);
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	open_json_array(NULL);
	ret = dirtybit_extents(&ctx, argv[1], argv[2], print_extent, NULL, &changed);
	close_json_array();
	dirtybit_close(&ctx);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "extents %s %s: %s", argv[1], argv[2], ctx.err);
	if (changed)
		return cli_error(cli, EXIT_FAILED,
				 "extents %s %s: the bitmap changed during the listing; freeze it for a stable one",
				 argv[1], argv[2]);
	return EXIT_OK;
}

const struct cli_cmd cmd_bitmap = {
	"bitmap", bitmap, "add/remove/clear/enable/disable/merge/freeze/abdicate/reclaim/list",
	"usage: bitmap list [DEVICE|ID]\n"
	"       bitmap add DEVICE|ID NAME [--granularity SIZE] [--disabled]\n"
	"       bitmap remove|clear|enable|disable|freeze|abdicate DEVICE|ID NAME\n"
	"       bitmap reclaim DEVICE|ID NAME [--force]\n"
	"       bitmap merge DEVICE|ID NAME SOURCE [--from DEVICE|ID]",
};

const struct cli_cmd cmd_extents = {
	"extents", extents, "list a bitmap's dirty extents (bytes)",
	"usage: extents DEVICE|ID NAME",
};
