// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit: the command line.  Global options, then a command in the style
 * of iproute2; each command lives in its own file.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* In the order dirtybit help lists them. */
static const struct cli_cmd *const commands[] = {
	&cmd_version, &cmd_attach, &cmd_detach, &cmd_targets, &cmd_region, &cmd_backup,
	&cmd_restore, &cmd_image, &cmd_bitmap, &cmd_extents, &cmd_monitor,
};

int cli_error(struct cli *cli, int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int cli_usage(struct cli *cli, const struct cli_cmd *cmd)
{
	return cli_error(cli, EXIT_USAGE, "%s", cmd->usage);
}

int cli_parse_size(const char *s, uint64_t max, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || (end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B")))
			return -1;
		shift = 10 * (int)(u - units + 1);
	}
	if (v > (max >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

bool cli_parse_count(const char *s, unsigned long long min, unsigned long long max,
		     unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return *s >= '0' && *s <= '9' && !*end && !errno && *out >= min && *out <= max;
}

int cli_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

volatile sig_atomic_t cli_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

void cli_catch_stop_signals(void)
{
	/* Every signal whose default action ends the process, but those that
	 * report a bug (SEGV, BUS, ...) and SIGKILL/SIGSTOP, which cannot be
	 * caught.  SIGXFSZ is ignored instead: the write that passed the file
	 * size limit fails with EFBIG, which says why.
	 */
	static const int sigs[] = {
		SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE,
		SIGXCPU, SIGVTALRM, SIGPROF,
	};
	struct sigaction sa = { .sa_handler = on_stop_signal };
	size_t i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGXFSZ, SIG_IGN);
	/* Never stopped midway (Ctrl-Z, a background write) with a file
	 * system frozen or writers held.
	 */
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
}

int cli_open(struct cli *cli, struct dirtybit_ctx *ctx)
{
	int ret = dirtybit_open(ctx);

	if (ret == -ENOENT)
		return cli_error(cli, EXIT_NO_MODULE, "%s", ctx->err);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "%s", ctx->err);
	return 0;
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"Usage: dirtybit [OPTIONS] COMMAND [ARGS...]\n"
		"\n"
		"Track which parts of block devices and memory regions were written.\n"
		"\n"
		"Options:\n"
		"  -j, --json      print machine-readable JSON\n"
		"  -V, --version   print the CLI version and exit\n"
		"  -h, --help      print this help and exit\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out,
		"\n"
		"'dirtybit COMMAND --help' (or -h, or 'dirtybit help COMMAND') shows a\n"
		"command's usage.\n"
		"\n"
		"Exit status: 0 success, 1 operation failed, 2 usage error,\n"
		"3 kernel module not loaded.  See dirtybit(8).\n");
}

static const struct cli_cmd *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i]->name))
			return commands[i];
	return NULL;
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

/*
 * "COMMAND --help" or "COMMAND SUBCOMMAND --help" (or -h): only where an
 * option may stand first, so that "-h" as an option's value or as a name
 * further on (backup -o -h, bitmap remove vdb -h) is never taken for it.
 */
static bool wants_help(int argc, char **argv)
{
	if (argc > 1 && is_help(argv[1]))
		return true;
	return argc > 2 && argv[1][0] != '-' && is_help(argv[2]);
}

/* dirtybit help [COMMAND] */
static int help(struct cli *cli, int argc, char **argv)
{
	const struct cli_cmd *cmd;

	if (argc < 2) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc > 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return cli_error(cli, EXIT_USAGE, "unknown command '%s' (try 'dirtybit help')",
				 argv[1]);
	printf("%s\n", cmd->usage);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { .prog = "dirtybit" };
	const struct cli_cmd *cmd;
	int c;

	/* '+': options after the command belong to the command. */
	while ((c = getopt_long(argc, argv, "+jVh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			cli.json = true;
			break;
		case 'V':
			printf("dirtybit %s\n", DIRTYBIT_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	print_init(cli.json, stdout);
	if (!strcmp(argv[0], "help"))
		return help(&cli, argc, argv);
	cmd = find_command(argv[0]);
	if (cmd && wants_help(argc, argv)) {
		printf("%s\n", cmd->usage);
		return EXIT_OK;
	}
	if (cmd)
		return cmd->run(&cli, argc, argv);
	return cli_error(&cli, EXIT_USAGE, "unknown command '%s' (try 'dirtybit help')",
			 argv[0]);
}
