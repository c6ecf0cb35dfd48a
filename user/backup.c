// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit backup | backup verify | restore: qcow2 backups of tracked
 * block devices (full, or incremental on a backing chain) from a bitmap.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "backup/backup.h"
#include "backup/qcow2.h"
#include "backup/restore.h"
#include "common/util.h"

/*
 * Parses [--allow-backing-outside] around @want positional arguments
 * (after -o DEST for restore): QCOW2_ANY_BACKING in *@flags.
 */
static int chain_args(int argc, char **argv, unsigned int want, const char **pos,
		      const char **dest, unsigned int *flags)
{
	static const struct option opts[] = {
		{ "allow-backing-outside", no_argument, NULL, 'A' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int i;
	int c;

	*flags = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, dest ? "o:" : "", opts, NULL)) != -1) {
		if (c == 'A')
			*flags |= QCOW2_ANY_BACKING;
		else if (c == 'o' && dest && !*dest)
			*dest = optarg;
		else
			return -1;
	}
	if ((unsigned int)(argc - optind) != want || (dest && !*dest))
		return -1;
	for (i = 0; i < want; i++)
		pos[i] = argv[optind + i];
	return 0;
}

/* The reason, and what to do when the chain names a file elsewhere (-EXDEV). */
static int chain_error(struct cli *cli, int ret, const char *what, const char *err)
{
	return cli_error(cli, EXIT_FAILED, "%s%s%s", what, err,
			 ret == -EXDEV && !strstr(err, "--allow-backing-outside") ?
			 " (--allow-backing-outside follows it: only for backups you trust)" : "");
}

static int backup_verify(struct cli *cli, int argc, char **argv)
{
	const char *pos[2];
	unsigned int flags;
	char err[512] = "";
	uint64_t bytes;
	int ret;

	if (chain_args(argc, argv, 2, pos, NULL, &flags))
		return cli_usage(cli, &cmd_backup);
	ret = backup_restore(pos[0], pos[1], true, flags, &bytes, err, sizeof(err));
	if (ret)
		return chain_error(cli, ret, "", err);
	open_json_object(NULL);
	print_string(PRINT_ANY, "backup", "%s", pos[0]);
	print_bool(PRINT_JSON, "equal", NULL, true);
	print_string(PRINT_FP, NULL, " equals %s", pos[1]);
	print_u64(PRINT_ANY, "bytes", " (%llu bytes)\n", bytes);
	close_json_object();
	return EXIT_OK;
}

/* One line per device (two after passes): a JSON object with -j. */
static void print_result(const struct backup_opts *o, const struct backup_result *r,
			 const struct pass_result *passes)
{
	open_json_object(NULL);
	print_string(PRINT_ANY, "output", "%s: ", o->output);
	print_string(PRINT_ANY, "kind", "%s backup", o->full ? "full" : "incremental");
	print_uint(PRINT_JSON, "cluster_size", NULL, r->cluster);
	print_u64(PRINT_ANY, "clusters", ", %llu clusters", r->clusters);
	print_uint(PRINT_FP, NULL, " of %u", r->cluster);
	print_u64(PRINT_ANY, "data_clusters", " (%llu data", r->data);
	print_u64(PRINT_ANY, "zero_clusters", ", %llu zero)", r->zero);
	print_u64(PRINT_JSON, "bytes", NULL, r->bytes_read);
	print_u64(PRINT_JSON, "usec", NULL, (uint64_t)(r->seconds * 1e6));
	print_u64(PRINT_JSON, "extents", NULL, r->extents);
	print_u64(PRINT_JSON, "bytes_per_sec", NULL,
		  r->seconds > 0 ? (uint64_t)(r->bytes_read / r->seconds) : 0);
	print_float(", %.1f MB/s\n", r->seconds > 0 ? r->bytes_read / r->seconds / 1e6 : 0.0);
	cli_print_passes(passes, NULL, NULL);
	if (passes->npasses > 1 || passes->quiesced_seconds > 0) {
		print_string(PRINT_FP, NULL, "%s: ", o->output);
		print_uint(PRINT_FP, NULL, "%u pass", passes->npasses);
		print_string(PRINT_FP, NULL, "%s", passes->npasses == 1 ? "" : "es");
		print_float(", frozen %.3f s", passes->quiesced_seconds);
		print_float(" of %.3f s\n", passes->seconds);
	}
	close_json_object();
}

/* On a terminal: the copy's progress, at most five times a second. */
static void backup_copying(void *arg, uint64_t done, uint64_t total, double seconds, bool end)
{
	static double last;

	(void)arg;
	if (end)
		fputs("\r\033[K", stderr);
	else if (progress_due(&last, mono_now()))
		fprintf(stderr, "\rbackup: %llu/%llu MiB (%.0f%%), %.1f MB/s",
			(unsigned long long)(done >> 20), (unsigned long long)(total >> 20),
			total ? 100.0 * done / total : 100.0, seconds > 0 ? done / seconds / 1e6 : 0.0);
}

/* A line per pass, when the writers are stopped for a last one. */
static void backup_pass(void *arg, unsigned int k, uint64_t bytes, double seconds, bool frozen)
{
	const struct backup_opts *o = arg;

	if (o->nfsfreeze || o->freeze_cmd)
		fprintf(stderr, "pass %u%s: %.1f MiB in %.3f s\n", k + 1,
			frozen ? " (frozen)" : "", bytes / 1048576.0, seconds);
}

static int backup(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bitmap", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ "full", no_argument, NULL, 'f' },
		{ "backing", required_argument, NULL, 'B' },
		{ "bitmap-mode", required_argument, NULL, 'm' },
		{ "cluster-size", required_argument, NULL, 'c' },
		{ "fsfreeze", required_argument, NULL, 'F' },
		{ "freeze-cmd", required_argument, NULL, 'Q' },
		{ "thaw-cmd", required_argument, NULL, 'U' },
		CLI_PASS_OPTIONS,
		{ "exec-frozen", required_argument, NULL, 'x' },
		{ "threads", required_argument, NULL, 't' },
		{ "direct", no_argument, NULL, 'd' },
		{ "clear", required_argument, NULL, 'C' },
		{ "allow-backing-outside", no_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	const char *outputs[BACKUP_MAX_DEVICES], *backings[BACKUP_MAX_DEVICES];
	const char *clears[BACKUP_MAX_CLEARS], *fsfreeze[BACKUP_MAX_FSFREEZE];
	struct backup_progress progress = { backup_copying, backup_pass, NULL };
	struct pass_result passes;
	bool pass_opts = false;
	unsigned int nout = 0, nback = 0, n, i, k;
	struct backup_opts group[BACKUP_MAX_DEVICES];
	struct backup_result res[BACKUP_MAX_DEVICES];
	char devices[256] = "";
	struct backup_opts o = { .stop = &cli_stop,
				 .threads = (unsigned int)cli_default_threads(),
				 .passes = { .max_passes = PASSES_DEFAULT,
					     .threshold = PASSES_THRESHOLD } };
	unsigned long long count;
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
			if (nout == BACKUP_MAX_DEVICES)
				return cli_error(cli, EXIT_USAGE, "at most %d outputs",
						 BACKUP_MAX_DEVICES);
			outputs[nout++] = optarg;
			break;
		case 'f':
			o.full = true;
			break;
		case 'B':
			if (nback == BACKUP_MAX_DEVICES)
				return cli_error(cli, EXIT_USAGE, "at most %d backing files",
						 BACKUP_MAX_DEVICES);
			backings[nback++] = optarg;
			break;
		case 'C':
			if (o.nclears == BACKUP_MAX_CLEARS)
				return cli_error(cli, EXIT_USAGE, "at most %d --clear bitmaps",
						 BACKUP_MAX_CLEARS);
			clears[o.nclears++] = optarg;
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
			if (o.nfsfreeze == BACKUP_MAX_FSFREEZE)
				return cli_error(cli, EXIT_USAGE, "at most %d --fsfreeze",
						 BACKUP_MAX_FSFREEZE);
			fsfreeze[o.nfsfreeze++] = optarg;
			break;
		case 'Q':
			o.freeze_cmd = optarg;
			break;
		case 'U':
			o.thaw_cmd = optarg;
			break;
		case 'x':
			o.exec_frozen = optarg;
			break;
		case 'd':
			o.direct = true;
			break;
		case 'A':
			o.any_backing = true;
			break;
		case 't':
			if (!cli_parse_count(optarg, 1, 64, &count))
				return cli_error(cli, EXIT_USAGE, "--threads: 1 to 64");
			o.threads = (unsigned int)count;
			break;
		default:
			ret = cli_pass_option(cli, c, optarg, &o.passes);
			if (ret < 0)
				return cli_usage(cli, &cmd_backup);
			if (ret)
				return ret;
			pass_opts = true;
		}
	}
	o.fsfreeze = fsfreeze;
	if (!o.freeze_cmd != !o.thaw_cmd)
		return cli_error(cli, EXIT_USAGE,
				 "--freeze-cmd and --thaw-cmd go together (the thaw undoes the freeze)");
	if (pass_opts && !o.nfsfreeze && !o.freeze_cmd)
		return cli_error(cli, EXIT_USAGE,
				 "--passes, --threshold and --max-freeze need --fsfreeze or --freeze-cmd: without stopping the writers a backup is one live pass");
	n = (unsigned int)(argc - optind);
	if (!n || !o.bitmap || o.full == !!nback)
		return cli_usage(cli, &cmd_backup);
	if (n > BACKUP_MAX_DEVICES || nout != n || (nback && nback != n))
		return cli_error(cli, EXIT_USAGE,
				 "%u device(s): give as many -o%s (at most %d devices)", n,
				 o.full ? "" : " and --backing", BACKUP_MAX_DEVICES);
	for (i = 0; i < o.nclears; i++) {
		if (!strcmp(clears[i], o.bitmap))
			return cli_error(cli, EXIT_USAGE, "--clear %s is the --bitmap itself",
					 clears[i]);
		for (k = 0; k < i; k++)
			if (!strcmp(clears[i], clears[k]))
				return cli_error(cli, EXIT_USAGE, "--clear %s given twice",
						 clears[i]);
	}
	o.clears = clears;
	progress.arg = &o;
	if (!cli->json && isatty(STDERR_FILENO))
		o.progress = &progress;
	for (i = 0; i < n; i++) {
		group[i] = o;
		group[i].device = argv[optind + i];
		group[i].output = outputs[i];
		group[i].backing = nback ? backings[i] : NULL;
		snprintf(devices + strlen(devices), sizeof(devices) - strlen(devices), "%s%s",
			 i ? ", " : "", group[i].device);
	}
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	cli_catch_stop_signals();
	ret = backup_run(&ctx, group, n, res, &passes, err, sizeof(err));
	dirtybit_close(&ctx);
	for (i = 0; ret && i < n; i++)
		if (res[i].kept)
			fprintf(stderr,
				"dirtybit: bitmap mode always: %s kept with %llu clusters; the bitmap of %s holds what it lacks, from byte %llu\n",
				group[i].output, (unsigned long long)res[i].clusters,
				group[i].device, (unsigned long long)res[i].kept_from);
	if (ret) {
		char what[300];

		snprintf(what, sizeof(what), "backup of %s: ", devices);
		return chain_error(cli, ret, what, err);
	}
	for (i = 0; i < n; i++)
		print_result(&group[i], &res[i], &passes);
	return EXIT_OK;
}

static int restore(struct cli *cli, int argc, char **argv)
{
	const char *top, *dest = NULL;
	unsigned int flags;
	char err[512] = "";
	uint64_t bytes;
	int ret;

	if (chain_args(argc, argv, 1, &top, &dest, &flags))
		return cli_usage(cli, &cmd_restore);
	ret = backup_restore(top, dest, false, flags, &bytes, err, sizeof(err));
	if (ret)
		return chain_error(cli, ret, "restore: ", err);
	open_json_object(NULL);
	print_string(PRINT_ANY, "backup", "%s: ", top);
	print_string(PRINT_JSON, "output", NULL, dest);
	print_u64(PRINT_ANY, "bytes", "restored %llu bytes", bytes);
	print_string(PRINT_FP, NULL, " to %s\n", dest);
	close_json_object();
	return EXIT_OK;
}

const struct cli_cmd cmd_backup = {
	"backup", backup, "full or incremental qcow2 backup from a bitmap; backup verify",
	"usage: backup DEVICE... --bitmap NAME -o FILE.qcow2... (--full | --backing PREVIOUS...)\n"
	"              [--bitmap-mode on-success|never|always] [--cluster-size SIZE]\n"
	"              [--clear NAME]... [--threads N] [--direct] [--allow-backing-outside]\n"
	"              [--fsfreeze MOUNTPOINT]... [--freeze-cmd CMD --thaw-cmd CMD]\n"
	"              [--passes N] [--threshold SIZE] [--max-freeze TIME] [--exec-frozen CMD]\n"
	"       (with --fsfreeze or --freeze-cmd: copies in passes, writers stopped only\n"
	"        for the last one, and the output is the devices at its cut)\n"
	"       (several devices: one -o, and for an incremental one --backing, per\n"
	"        device in order; one cut, and they succeed or fail together)\n"
	"       backup verify TOP.qcow2 DEVICE|FILE [--allow-backing-outside]",
};

const struct cli_cmd cmd_restore = {
	"restore", restore, "write a backup chain back to a device or file",
	"usage: restore TOP.qcow2 -o DEVICE|FILE [--allow-backing-outside]",
};
