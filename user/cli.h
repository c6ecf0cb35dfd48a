/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dirtybit command line: shared state and the command table.
 */
#ifndef _DIRTYBIT_CLI_H
#define _DIRTYBIT_CLI_H

#include <signal.h>
#include <stdbool.h>

#include "common/passes.h"
#include "libdirtybit.h"
#include "print.h"

/* Exit codes scripts can rely on (see docs/dirtybit.8). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,	/* the operation failed; the reason is on stderr */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_NO_MODULE = 3,	/* dirtybit.ko is not loaded */
};

struct cli {
	bool json;
	const char *prog;
};

/*
 * A command: dirtybit NAME [ARGS...] runs @run with argv[0] the name.
 * "dirtybit NAME --help" (or -h, or "dirtybit help NAME") prints @usage
 * on stdout; a usage error prints it on stderr.
 */
struct cli_cmd {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary;	/* its line in dirtybit help */
	const char *usage;	/* "usage: NAME ...", lines without a final newline */
};

/* Opens the kernel connection; on failure prints the reason, returns the
 * exit code to use (EXIT_NO_MODULE when the module is absent).
 */
int cli_open(struct cli *cli, struct dirtybit_ctx *ctx);
int cli_error(struct cli *cli, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* @cmd's usage as a usage error: EXIT_USAGE. */
int cli_usage(struct cli *cli, const struct cli_cmd *cmd);

extern const struct cli_cmd cmd_version, cmd_attach, cmd_detach, cmd_targets, cmd_region,
	cmd_backup, cmd_restore, cmd_image, cmd_bitmap, cmd_extents, cmd_monitor;

/* "4096", "64K", "1G", "2MiB" (decimal; K M G T): 0 and *out, or -1 if
 * malformed or above @max.
 */
int cli_parse_size(const char *s, uint64_t max, uint64_t *out);
/* A decimal count in [min, max], or false. */
bool cli_parse_count(const char *s, unsigned long long min, unsigned long long max,
		     unsigned long long *out);
/*
 * Set by any signal that would end the process (cli_catch_stop_signals()):
 * a backup, save or load stops cleanly instead, undoing what it must.
 */
extern volatile sig_atomic_t cli_stop;
void cli_catch_stop_signals(void);

/*
 * The pass options image save and backup share: add CLI_PASS_OPTIONS to
 * the getopt table and hand each option to cli_pass_option() (0 taken,
 * -1 not a pass option, else the exit code of its refusal).
 */
enum { CLI_OPT_PASSES = 0x1000, CLI_OPT_THRESHOLD, CLI_OPT_MAX_FREEZE };
#define CLI_PASS_OPTIONS						\
	{ "passes", required_argument, NULL, CLI_OPT_PASSES },		\
	{ "threshold", required_argument, NULL, CLI_OPT_THRESHOLD },	\
	{ "max-freeze", required_argument, NULL, CLI_OPT_MAX_FREEZE }
#define CLI_PASS_HELP							\
	"  --passes N           passes at most, the frozen last one included (8)\n" \
	"  --threshold SIZE     written during a pass at most SIZE (or pages): the\n" \
	"                       next pass is the last, frozen (64 pages)\n" \
	"  --max-freeze TIME    cancel if the frozen pass would take longer (2s,\n" \
	"                       500ms), estimated from the live passes' rate\n"
int cli_pass_option(struct cli *cli, int c, const char *arg, struct pass_opts *o);
/* JSON only: "passes": [{bytes, ms, frozen, ...@more}], "frozen_ms", "total_ms". */
void cli_print_passes(const struct pass_result *r,
		      void (*more)(unsigned int k, const void *arg), const void *arg);

/* Worker threads by default: the CPUs online, 1 to 8. */
int cli_default_threads(void);

/* One target (block or region) as a line of text or a JSON object. */
int print_target(const struct dirtybit_target *t, void *data);
int print_region(const struct dirtybit_target *t, void *data);

#endif /* _DIRTYBIT_CLI_H */
