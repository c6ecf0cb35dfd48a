// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit backup | backup verify | restore: qcow2 backups of tracked
 * block devices (full, or incremental on a backing chain) from a bitmap.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "backup/run.h"

static volatile sig_atomic_t backup_stop;

static void on_signal(int sig)
{
	(void)sig;
	backup_stop = 1;
}

static const char backup_usage[] =
	"usage: backup DEVICE --bitmap NAME -o FILE.qcow2 (--full | --backing PREVIOUS)\n"
	"              [--bitmap-mode on-success|never|always] [--cluster-size SIZE]\n"
	"              [--threads N] [--direct] [--fsfreeze MOUNTPOINT] [--exec-frozen CMD]\n"
	"       backup verify TOP.qcow2 DEVICE|FILE";

static int backup_verify(struct cli *cli, int argc, char **argv)
{
	char err[512] = "";
	uint64_t bytes;

	if (argc != 3)
		return cli_error(cli, EXIT_USAGE, "%s", backup_usage);
	if (backup_restore(argv[1], argv[2], true, &bytes, err, sizeof(err)))
		return cli_error(cli, EXIT_FAILED, "%s", err);
	if (cli->json) {
		json_object_start(&cli->js, NULL);
		json_str(&cli->js, "backup", argv[1]);
		json_bool(&cli->js, "equal", true);
		json_u64(&cli->js, "bytes", bytes);
		json_object_end(&cli->js);
		fputc('\n', stdout);
	} else {
		printf("%s equals %s (%llu bytes)\n", argv[1], argv[2], (unsigned long long)bytes);
	}
	return EXIT_OK;
}

int cmd_backup(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bitmap", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ "full", no_argument, NULL, 'f' },
		{ "backing", required_argument, NULL, 'B' },
		{ "bitmap-mode", required_argument, NULL, 'm' },
		{ "cluster-size", required_argument, NULL, 'c' },
		{ "fsfreeze", required_argument, NULL, 'F' },
		{ "exec-frozen", required_argument, NULL, 'x' },
		{ "threads", required_argument, NULL, 't' },
		{ "direct", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct backup_opts o = { .stop = &backup_stop,
				 .threads = (unsigned int)cli_default_threads() };
	unsigned long long count;
	struct backup_result res;
	struct dirtybit_ctx ctx;
	char err[512] = "";
	uint64_t size;
	int c, ret;

	if (argc >= 2 && !strcmp(argv[1], "verify"))
		return backup_verify(cli, argc - 1, argv + 1);
	optind = 0;	/* GNU: start over, permuting (main stopped at the command) */
	while ((c = getopt_long(argc, argv, "b:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o.bitmap = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'f':
			o.full = true;
			break;
		case 'B':
			o.backing = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "on-success"))
				o.mode = BACKUP_ON_SUCCESS;
			else if (!strcmp(optarg, "never"))
				o.mode = BACKUP_NEVER;
			else if (!strcmp(optarg, "always"))
				o.mode = BACKUP_ALWAYS;
			else
				return cli_error(cli, EXIT_USAGE,
						 "--bitmap-mode: on-success, never or always");
			break;
		case 'c':
			if (cli_parse_size(optarg, 2U << 20, &size) || !size)
				return cli_error(cli, EXIT_USAGE, "--cluster-size: 4K to 2M");
			o.cluster = (uint32_t)size;
			break;
		case 'F':
			o.fsfreeze = optarg;
			break;
		case 'x':
			o.exec_frozen = optarg;
			break;
		case 'd':
			o.direct = true;
			break;
		case 't':
			if (!cli_parse_count(optarg, 1, 64, &count))
				return cli_error(cli, EXIT_USAGE, "--threads: 1 to 64");
			o.threads = (unsigned int)count;
			break;
		default:
			return cli_error(cli, EXIT_USAGE, "%s", backup_usage);
		}
	}
	if (argc - optind != 1 || !o.bitmap || !o.output || o.full == !!o.backing)
		return cli_error(cli, EXIT_USAGE, "%s", backup_usage);
	o.device = argv[optind];
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	o.progress = !cli->json && isatty(STDERR_FILENO);
	ret = backup_run(&ctx, &o, &res, err, sizeof(err));
	dirtybit_close(&ctx);
	if (ret && res.kept)
		return cli_error(cli, EXIT_FAILED,
				 "backup of %s: %s (bitmap mode always: %s kept with %llu clusters; the bitmap holds what it lacks, from byte %llu)",
				 o.device, err, o.output, (unsigned long long)res.clusters,
				 (unsigned long long)res.kept_from);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "backup of %s: %s", o.device, err);
	if (cli->json) {
		json_object_start(&cli->js, NULL);
		json_str(&cli->js, "output", o.output);
		json_str(&cli->js, "kind", o.full ? "full" : "incremental");
		json_u64(&cli->js, "cluster_size", res.cluster);
		json_u64(&cli->js, "clusters", res.clusters);
		json_u64(&cli->js, "data_clusters", res.data);
		json_u64(&cli->js, "zero_clusters", res.zero);
		json_u64(&cli->js, "bytes", res.bytes_read);
		json_u64(&cli->js, "usec", (uint64_t)(res.seconds * 1e6));
		json_u64(&cli->js, "extents", res.extents);
		json_u64(&cli->js, "bytes_per_sec",
			 res.seconds > 0 ? (uint64_t)(res.bytes_read / res.seconds) : 0);
		json_object_end(&cli->js);
		fputc('\n', stdout);
	} else {
		printf("%s: %s backup, %llu clusters of %u (%llu data, %llu zero), %.1f MB/s\n",
		       o.output, o.full ? "full" : "incremental",
		       (unsigned long long)res.clusters, res.cluster,
		       (unsigned long long)res.data, (unsigned long long)res.zero,
		       res.seconds > 0 ? res.bytes_read / res.seconds / 1e6 : 0.0);
	}
	return EXIT_OK;
}

int cmd_restore(struct cli *cli, int argc, char **argv)
{
	char err[512] = "";
	uint64_t bytes;

	if (argc != 4 || strcmp(argv[2], "-o"))
		return cli_error(cli, EXIT_USAGE, "usage: restore TOP.qcow2 -o DEVICE|FILE");
	if (backup_restore(argv[1], argv[3], false, &bytes, err, sizeof(err)))
		return cli_error(cli, EXIT_FAILED, "restore: %s", err);
	if (cli->json) {
		json_object_start(&cli->js, NULL);
		json_str(&cli->js, "backup", argv[1]);
		json_str(&cli->js, "output", argv[3]);
		json_u64(&cli->js, "bytes", bytes);
		json_object_end(&cli->js);
		fputc('\n', stdout);
	} else {
		printf("%s: restored %llu bytes to %s\n", argv[1], (unsigned long long)bytes,
		       argv[3]);
	}
	return EXIT_OK;
}
