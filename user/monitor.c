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
	struct cli *cli;
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
	struct cli *cli = mon->cli;

	if (cli->json) {
		json_object_start(&cli->js, NULL);
		json_str(&cli->js, "event", dirtybit_event_name(ev->event));
		json_u64(&cli->js, "target", ev->target_id);
		if (ev->bitmap[0])
			json_str(&cli->js, "bitmap", ev->bitmap);
		json_object_end(&cli->js);
	} else if (ev->bitmap[0]) {
		printf("target %u bitmap %s %s\n", ev->target_id, ev->bitmap,
		       dirtybit_event_name(ev->event));
	} else {
		printf("target %u %s\n", ev->target_id, dirtybit_event_name(ev->event));
	}
	fflush(stdout);
	return mon->left && --mon->left == 0;
}

int cmd_monitor(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct monitor mon = { .cli = cli };
	struct sigaction sa = { .sa_handler = on_signal };
	struct dirtybit_ctx ctx;
	char *end;
	int c, ret;

	optind = 0;	/* GNU: start over (main stopped at the command) */
	while ((c = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		if (c != 'c')
			return cli_error(cli, EXIT_USAGE, "usage: monitor [--count N]");
		errno = 0;
		mon.left = strtoul(optarg, &end, 10);
		if (errno || *end || !mon.left || optarg[0] == '-')
			return cli_error(cli, EXIT_USAGE, "--count wants a positive number");
	}
	if (optind != argc)
		return cli_error(cli, EXIT_USAGE, "usage: monitor [--count N]");
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
