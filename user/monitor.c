// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit monitor: print state changes as they happen, one line each
 * (with -j, one JSON object per line).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct monitor {
	unsigned long left;		/* events still to print; 0: no limit */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int print_event(const struct dirtybit_event_info *ev, void *data)
{
	struct monitor *mon = data;
	const char *name = dirtybit_event_name(ev->event);

	open_json_object(NULL);
	print_string(PRINT_JSON, "event", NULL, name);
	print_uint(PRINT_ANY, "target", "target %u", ev->target_id);
	if (ev->bitmap[0])
		print_string(PRINT_ANY, "bitmap", " bitmap %s", ev->bitmap);
	print_string(PRINT_FP, NULL, " %s\n", name);
	close_json_object();
	fflush(stdout);
	return mon->left && --mon->left == 0;
}

static int monitor(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct monitor mon = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct dirtybit_ctx ctx;
	char *end;
	int c, ret;

	optind = 0;	/* GNU: start over (main stopped at the command) */
	while ((c = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		if (c != 'c')
			return cli_usage(cli, &cmd_monitor);
		errno = 0;
		mon.left = strtoul(optarg, &end, 10);
		if (errno || *end || !mon.left || optarg[0] == '-')
			return cli_error(cli, EXIT_USAGE, "--count wants a positive number");
	}
	if (optind != argc)
		return cli_usage(cli, &cmd_monitor);
	ret = cli_open(cli, &ctx);
	if (ret)
		return ret;
	/* No SA_RESTART: a signal ends the blocking receive, and the monitor. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	do {
		ret = dirtybit_monitor(&ctx, print_event, &mon);
		if (ret == -ENOBUFS)
			fprintf(stderr, "%s: %s\n", cli->prog, ctx.err);
	} while (ret == -ENOBUFS && !stop);
	dirtybit_close(&ctx);
	if (ret < 0 && !(stop && ret == -EINTR))
		return cli_error(cli, EXIT_FAILED, "monitor: %s", ctx.err);
	return EXIT_OK;
}

const struct cli_cmd cmd_monitor = {
	"monitor", monitor, "print state changes as they happen",
	"usage: monitor [--count N]",
};
