// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit region create | destroy | list: memory regions.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int print_region(const struct dirtybit_target *t, void *data)
{
	bool node = t->region_flags & DIRTYBIT_REGION_F_NODE;
	char path[128];

	(void)data;
	open_json_object(NULL);
	print_uint(PRINT_ANY, "id", "%u: ", t->id);
	print_string(PRINT_ANY, "kind", "%s ", "region");
	print_string(PRINT_ANY, "name", "%s", t->name);
	print_u64(PRINT_ANY, "size", " size %llu", t->size);
	if (node) {
		snprintf(path, sizeof(path), "/dev/%s/%s", DIRTYBIT_REGION_NODE_DIR, t->name);
		print_string(PRINT_ANY, "node", " node %s", path);
	}
	print_bool(PRINT_ANY, "held", " held", t->region_flags & DIRTYBIT_REGION_F_HELD);
	print_text("\n");
	close_json_object();
	return 0;
}

static int region_create(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_target t = { .kind = DIRTYBIT_TARGET_REGION };
	struct dirtybit_ctx ctx = { 0 };
	bool node = true;
	uint64_t bytes;
	int fd;

	if (argc == 5 && !strcmp(argv[4], "--no-node"))
		node = false;
	else if (argc != 4)
		return cli_error(cli, EXIT_USAGE, "usage: region create NAME SIZE [--no-node]");
	if (cli_parse_size(argv[3], UINT64_MAX, &bytes))
		bytes = 0;
	if (!bytes)
		return cli_error(cli, EXIT_USAGE, "region create: bad size '%s' (e.g. 4096, 64M, 1G)",
				 argv[3]);
	fd = dirtybit_region_create(&ctx, argv[2], bytes, node, &t.id);
	if (fd < 0)
		return cli_error(cli, EXIT_FAILED, "region create %s: %s", argv[2], ctx.err);
	close(fd);
	snprintf(t.name, sizeof(t.name), "%s", argv[2]);
	t.size = bytes;
	t.region_flags = node ? DIRTYBIT_REGION_F_NODE : 0;
	print_region(&t, cli);
	return EXIT_OK;
}

static int region_destroy(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_target t;
	struct dirtybit_ctx ctx;
	int ret;

	if (argc != 3)
		return cli_error(cli, EXIT_USAGE, "usage: region destroy NAME|ID");
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	ret = dirtybit_target_get(&ctx, argv[2], &t);
	/* Only a region: never detach a block device by mistake. */
	if (!ret && t.kind != DIRTYBIT_TARGET_REGION) {
		snprintf(ctx.err, sizeof(ctx.err), "target %u is not a region", t.id);
		ret = -EINVAL;
	}
	if (!ret)
		ret = dirtybit_detach(&ctx, argv[2]);
	dirtybit_close(&ctx);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "region destroy %s: %s", argv[2], ctx.err);
	return EXIT_OK;
}

static int print_if_region(const struct dirtybit_target *t, void *data)
{
	return t->kind == DIRTYBIT_TARGET_REGION ? print_region(t, data) : 0;
}

static int region_list(struct cli *cli, int argc, char **argv)
{
	struct dirtybit_ctx ctx;
	int ret;

	(void)argv;
	if (argc != 2)
		return cli_error(cli, EXIT_USAGE, "usage: region list");
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	open_json_array(NULL);
	ret = dirtybit_targets(&ctx, NULL, print_if_region, cli);
	close_json_array();
	dirtybit_close(&ctx);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "region list: %s", ctx.err);
	return EXIT_OK;
}

static int region(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "create"))
		return region_create(cli, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "destroy"))
		return region_destroy(cli, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return region_list(cli, argc, argv);
	return cli_usage(cli, &cmd_region);
}

const struct cli_cmd cmd_region = {
	"region", region, "create/destroy/list memory regions",
	"usage: region create NAME SIZE [--no-node] | destroy NAME|ID | list",
};
