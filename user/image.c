// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit image save | load | info | verify: fixed-ram memory images
 * (QEMU's mapped-ram files) of memory regions, or of plain files.
 *
 * A source or destination is a region's name, or BLOCK=PATH for a plain
 * file (or memfd) that stands for the RAM block BLOCK, or --block BLOCK
 * PATH for the same with any block name ('=' included).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"
#include "image/load.h"
#include "image/pages.h"
#include "image/save.h"
#include "common/util.h"

/* A source or destination as named on the command line. */
struct endpoint {
	const char *name;	/* a block's (path set) or a region's */
	size_t len;		/* of the block's name */
	const char *path;	/* NULL: a region */
};

/* @arg: BLOCK=PATH, split at the first '=', or a region's name. */
static int parse_endpoint(struct cli *cli, const char *arg, struct endpoint *e)
{
	const char *eq = strchr(arg, '=');

	e->name = arg;
	e->len = eq ? (size_t)(eq - arg) : strlen(arg);
	e->path = eq ? eq + 1 : NULL;
	if (eq && (eq == arg || e->len >= IMG_ID_MAX || !eq[1]))
		return cli_error(cli, EXIT_USAGE, "'%s': expected BLOCK=PATH", arg);
	return 0;
}

/* --block NAME PATH: @name as it is. */
static int block_endpoint(struct cli *cli, const char *name, const char *path,
			  struct endpoint *e)
{
	e->name = name;
	e->len = strlen(name);
	e->path = path;
	if (!path || !e->len || e->len >= IMG_ID_MAX || !path[0])
		return cli_error(cli, EXIT_USAGE, "--block: expected a NAME of 1 to %d bytes "
				 "and a PATH", IMG_ID_MAX - 1);
	return 0;
}

/*
 * Opens source/destination @e: a block's file, or a region (needs @ctx,
 * opened on first use).  Fills block, fd, size, target_id.
 */
static int open_endpoint(struct cli *cli, struct dirtybit_ctx *ctx, bool *ctx_open,
			 const struct endpoint *e, bool writable, bool create,
			 struct img_source *s)
{
	struct dirtybit_region_info info;
	struct stat st;
	int ret;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (e->path) {
		memcpy(s->block, e->name, e->len);
		s->path = e->path;
		s->fd = open(s->path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC |
			     (create ? O_CREAT : 0), 0644);
		if (s->fd < 0 || fstat(s->fd, &st))
			return cli_error(cli, EXIT_FAILED, "%s: %s", s->path, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return cli_error(cli, EXIT_FAILED, "%s: not a regular file", s->path);
		s->size = (uint64_t)st.st_size;
		return 0;
	}
	if (!*ctx_open) {
		ret = cli_open(cli, ctx);
		if (ret)
			return ret;
		*ctx_open = true;
	}
	s->fd = dirtybit_region_open(ctx, e->name, writable);
	if (s->fd < 0)
		return cli_error(cli, EXIT_FAILED, "region %s: %s", e->name, ctx->err);
	ret = dirtybit_region_info(s->fd, &info);
	if (ret)
		return cli_error(cli, EXIT_FAILED, "region %s: %s", e->name, strerror(-ret));
	snprintf(s->block, sizeof(s->block), "%s", info.name);
	s->size = info.bytes;
	s->target_id = info.target_id;
	return 0;
}

static void close_endpoints(struct img_source *s, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (s[i].fd >= 0)
			close(s[i].fd);
}

/* The image's own figures of pass @k, beside the engine's. */
static void print_pass(unsigned int k, const void *arg)
{
	const struct img_save_result *r = arg;

	print_u64(PRINT_JSON, "pages", NULL, r->pass[k].pages);
	print_u64(PRINT_JSON, "written", NULL, r->pass[k].written);
	print_u64(PRINT_JSON, "zero", NULL, r->pass[k].zero);
	print_u64(PRINT_JSON, "usec", NULL, (uint64_t)(r->passes.pass[k].seconds * 1e6));
	print_bool(PRINT_JSON, "held", NULL, r->passes.pass[k].quiesced);
}

static void print_save(const char *path, const struct img_save_result *r)
{
	open_json_object(NULL);
	print_string(PRINT_ANY, "file", "%s: ", path);
	print_uint(PRINT_FP, NULL, "%u pass", r->passes.npasses);
	print_string(PRINT_FP, NULL, "%s", r->passes.npasses == 1 ? "" : "es");
	print_float(" in %.3f s", r->seconds);
	print_float(", writers held %.3f s", r->passes.quiesced_seconds);
	cli_print_passes(&r->passes, print_pass, r);
	print_u64(PRINT_JSON, "hold_usec", NULL, (uint64_t)(r->passes.quiesced_seconds * 1e6));
	print_u64(PRINT_JSON, "usec", NULL, (uint64_t)(r->seconds * 1e6));
	print_u64(PRINT_ANY, "file_size", ", %llu bytes", r->file_size);
	print_u64(PRINT_ANY, "allocated", " (%llu allocated)\n", r->allocated);
	close_json_object();
}

/* Pass 1 on a terminal: how far, at most five times a second. */
static void save_copying(void *arg, const char *block, uint64_t done, uint64_t total, bool end)
{
	static double last;

	(void)arg;
	if (end)
		fputs("\r\033[K", stderr);	/* the pass's line replaces it */
	else if (progress_due(&last, mono_now()))
		fprintf(stderr, "\rpass 1: %s %llu/%llu MiB", block,
			(unsigned long long)(done * IMG_PAGE_SIZE >> 20),
			(unsigned long long)(total * IMG_PAGE_SIZE >> 20));
}

static void save_pass(void *arg, unsigned int k, const struct img_pass *p, double seconds,
		      bool held)
{
	(void)arg;
	fprintf(stderr, "pass %u%s: %llu pages, %llu written, %llu zero, %.3f s\n", k + 1,
		held ? " (writers held)" : "", (unsigned long long)p->pages,
		(unsigned long long)p->written, (unsigned long long)p->zero, seconds);
}

static const struct img_save_progress save_progress = {
	.copying = save_copying, .pass = save_pass,
};

static int image_save(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "machine", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "direct", no_argument, NULL, 'd' },
		CLI_PASS_OPTIONS,
		{ "no-hold", no_argument, NULL, 'H' },
		{ "bitmap", required_argument, NULL, 'b' },
		{ "keep-bitmap", no_argument, NULL, 'k' },
		{ "granularity", required_argument, NULL, 'g' },
		{ "exec-held", required_argument, NULL, 'x' },
		{ "block", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	struct img_save_opts o = { .bitmap = "image", .hold = true, .stop = &cli_stop,
				   .passes = { .max_passes = PASSES_DEFAULT,
					       .threshold = PASSES_THRESHOLD } };
	struct img_source src[IMG_MAX_BLOCKS];
	struct endpoint ep[IMG_MAX_BLOCKS];
	struct img_save_result res;
	struct dirtybit_ctx ctx = { 0 };
	bool ctx_open = false;
	unsigned int n = 0, nep = 0;
	char err[512] = "";
	unsigned long long v;
	uint64_t size;
	int c, ret = EXIT_OK;

	o.threads = (unsigned int)cli_default_threads();
	optind = 0;	/* GNU: start over, permuting (main stopped at the command) */
	while ((c = getopt_long(argc, argv, "m:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.machine = optarg;
			break;
		case 't':
			if (!cli_parse_count(optarg, 1, 64, &v))
				return cli_error(cli, EXIT_USAGE, "--threads: 1 to 64");
			o.threads = (unsigned int)v;
			break;
		case 'd':
			o.direct = true;
			break;
		case 'H':
			o.hold = false;
			break;
		case 'b':
			o.bitmap = optarg;
			break;
		case 'k':
			o.keep_bitmap = true;
			break;
		case 'g':
			if (cli_parse_size(optarg, 1ULL << 31, &size) || size < IMG_PAGE_SIZE ||
			    size & (size - 1))
				return cli_error(cli, EXIT_USAGE,
						 "--granularity: a power of two from 4K to 2G");
			o.granularity = size;
			break;
		case 'x':
			o.exec_held = optarg;
			break;
		case 'B':
			/* PATH is the next word (GNU getopt permutes it in place). */
			if (nep == IMG_MAX_BLOCKS)
				return cli_error(cli, EXIT_USAGE, "at most %d sources",
						 IMG_MAX_BLOCKS);
			ret = block_endpoint(cli, optarg, optind < argc ? argv[optind++] : NULL,
					     &ep[nep++]);
			break;
		default:
			ret = cli_pass_option(cli, c, optarg, &o.passes);
			if (ret >= 0)
				break;
			return cli_error(cli, EXIT_USAGE,
					 "usage: image save [OPTIONS] FILE REGION|BLOCK=PATH|--block BLOCK PATH...");
		}
		if (ret)
			return ret;
	}
	if (argc - optind < 1 || (argc - optind < 2 && !nep))
		return cli_error(cli, EXIT_USAGE,
				 "usage: image save [OPTIONS] FILE REGION|BLOCK=PATH|--block BLOCK PATH...");
	if (argc - optind - 1 > (int)(IMG_MAX_BLOCKS - nep))
		return cli_error(cli, EXIT_USAGE, "at most %d sources", IMG_MAX_BLOCKS);
	for (c = optind + 1; c < argc; c++) {
		ret = parse_endpoint(cli, argv[c], &ep[nep++]);
		if (ret)
			return ret;
	}
	for (; n < nep; n++) {
		ret = open_endpoint(cli, &ctx, &ctx_open, &ep[n], false, false, &src[n]);
		if (ret) {
			n++;
			goto out;
		}
	}
	if (!cli->json && isatty(STDERR_FILENO))
		o.progress = &save_progress;
	cli_catch_stop_signals();
	if (img_save(&ctx, argv[optind], src, n, &o, &res, err, sizeof(err))) {
		ret = cli_error(cli, EXIT_FAILED, "%s: %s", argv[optind], err);
		goto out;
	}
	print_save(argv[optind], &res);
out:
	close_endpoints(src, n);
	if (ctx_open)
		dirtybit_close(&ctx);
	return ret;
}

static int open_image(struct cli *cli, const char *path, struct img *img, int *fd)
{
	char err[512];

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return cli_error(cli, EXIT_FAILED, "%s: %s", path, strerror(errno));
	if (img_read(*fd, img, err, sizeof(err))) {
		close(*fd);
		img_free(img);
		return cli_error(cli, EXIT_FAILED, "%s: %s", path, err);
	}
	return 0;
}

static int image_info(struct cli *cli, int argc, char **argv)
{
	struct img img;
	unsigned int i;
	int fd, ret;

	if (argc != 2)
		return cli_error(cli, EXIT_USAGE, "usage: image info FILE");
	ret = open_image(cli, argv[1], &img, &fd);
	if (ret)
		return ret;
	open_json_object(NULL);
	print_string(PRINT_ANY, "file", "%s: ", argv[1]);
	print_string(PRINT_ANY, "machine", "machine %s", img.machine);
	print_uint(PRINT_FP, NULL, ", %u block", img.nblocks);
	print_string(PRINT_FP, NULL, "%s", img.nblocks == 1 ? "" : "s");
	print_bool(PRINT_JSON, "complete", NULL, img.complete);
	print_string(PRINT_FP, NULL, ", %s\n",
		     img.complete ? "complete" : "INCOMPLETE (an interrupted save)");
	print_u64(PRINT_JSON, "file_size", NULL, img.file_size);
	open_json_array("blocks");
	for (i = 0; i < img.nblocks; i++) {
		const struct img_block *b = &img.blocks[i];

		open_json_object(NULL);
		print_string(PRINT_ANY, "name", "  %s: ", b->id);
		print_u64(PRINT_ANY, "size", "%llu bytes", b->used_length);
		print_u64(PRINT_JSON, "pages", NULL, b->npages);
		print_u64(PRINT_ANY, "valid", ", %llu", bits_weight(b->valid, b->npages));
		print_u64(PRINT_FP, NULL, " of %llu pages valid", b->npages);
		print_u64(PRINT_ANY, "pages_offset", ", pages at %llu", b->pages_offset);
		print_u64(PRINT_ANY, "bitmap_offset", ", bitmap at %llu\n", b->bitmap_offset);
		close_json_object();
	}
	close_json_array();
	close_json_object();
	close(fd);
	img_free(&img);
	return EXIT_OK;
}

/* The destination for block @b: one of @dst by name, or NULL. */
static struct img_source *dest_for(struct img_source *dst, unsigned int n, const char *id)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(dst[i].block, id))
			return &dst[i];
	return NULL;
}

/*
 * load: every block into the region of its name, or, when destinations
 * are named, the named blocks into them (BLOCK=PATH or --block BLOCK PATH:
 * a file created or truncated to the block's size; REGION: the block of
 * the region's name).
 * verify: the image's structure, and that the named ones equal it.
 */
static int image_load(struct cli *cli, int argc, char **argv, bool verify)
{
	struct img_source dst[IMG_MAX_BLOCKS];
	struct endpoint ep[IMG_MAX_BLOCKS];
	struct dirtybit_ctx ctx = { 0 };
	struct img_copy copy = { .threads = (unsigned int)cli_default_threads(),
				 .stop = &cli_stop };
	bool ctx_open = false;
	unsigned int i, n = 0, nep = 0;
	char err[512];
	struct img img;
	int a, fd, ret;

	if (argc < 2)
		return cli_error(cli, EXIT_USAGE,
				 "usage: image %s FILE [REGION|BLOCK=PATH|--block BLOCK PATH...]",
				 verify ? "verify" : "load");
	for (a = 2; a < argc; a++) {
		if (nep == IMG_MAX_BLOCKS)
			return cli_error(cli, EXIT_USAGE, "at most %d destinations",
					 IMG_MAX_BLOCKS);
		if (!strcmp(argv[a], "--block")) {
			ret = block_endpoint(cli, a + 1 < argc ? argv[a + 1] : "",
					     a + 2 < argc ? argv[a + 2] : NULL, &ep[nep++]);
			a += 2;
		} else if (!strncmp(argv[a], "--block=", 8)) {
			ret = block_endpoint(cli, argv[a] + 8, a + 1 < argc ? argv[a + 1] : NULL,
					     &ep[nep++]);
			a++;
		} else {
			ret = parse_endpoint(cli, argv[a], &ep[nep++]);
		}
		if (ret)
			return ret;
		/* One destination per block: a second would go unused (verify: unchecked). */
		for (i = 0; i + 1 < nep; i++)
			if (ep[i].len == ep[nep - 1].len &&
			    !memcmp(ep[i].name, ep[nep - 1].name, ep[i].len))
				return cli_error(cli, EXIT_USAGE, "block %.*s given twice",
						 (int)ep[i].len, ep[i].name);
	}
	ret = open_image(cli, argv[1], &img, &fd);
	if (ret)
		return ret;
	if (!img.complete) {
		ret = cli_error(cli, EXIT_FAILED, "%s: incomplete (an interrupted save)", argv[1]);
		goto out;
	}
	/* Unknown block names are refused before a file is created. */
	for (i = 0; i < nep; i++) {
		char id[IMG_ID_MAX];

		if (!ep[i].path)
			continue;
		snprintf(id, sizeof(id), "%.*s", (int)ep[i].len, ep[i].name);
		if (!img_block_find(&img, id)) {
			ret = cli_error(cli, EXIT_FAILED, "%s: no block %s", argv[1], id);
			goto out;
		}
	}
	for (; n < nep; n++) {
		ret = open_endpoint(cli, &ctx, &ctx_open, &ep[n], !verify, !verify, &dst[n]);
		if (ret) {
			n++;
			goto out;
		}
	}
	/* Bad names are found before anything is written. */
	for (i = 0; i < n; i++) {
		if (!img_block_find(&img, dst[i].block)) {
			ret = cli_error(cli, EXIT_FAILED, "%s: no block %s", argv[1], dst[i].block);
			goto out;
		}
	}
	cli_catch_stop_signals();
	copy.src_fd = fd;
	for (i = 0; i < img.nblocks; i++) {
		const struct img_block *b = &img.blocks[i];
		struct img_source *d = dest_for(dst, n, b->id);
		struct img_source own;

		/* Named destinations: only those blocks. */
		if (!d && (verify || n))
			continue;
		if (!d) {
			/* No destination named: the region of the block's name. */
			const struct endpoint region = { .name = b->id };

			ret = open_endpoint(cli, &ctx, &ctx_open, &region, true, false, &own);
			if (ret)
				goto out;
			d = &own;
		}
		ret = img_load_block(&copy, b, d, verify, err, sizeof(err));
		if (d == &own)
			close(own.fd);
		if (ret) {
			ret = cli_error(cli, EXIT_FAILED, "%s: block %s: %s", argv[1], b->id, err);
			goto out;
		}
	}
	open_json_object(NULL);
	print_string(PRINT_ANY, "file", "%s: ", argv[1]);
	print_bool(PRINT_JSON, verify ? "verified" : "loaded", NULL, true);
	if (verify) {
		print_string(PRINT_FP, NULL, "structure ok%s\n",
			     n ? ", equal to the destinations" : "");
		print_u64(PRINT_JSON, "pages", NULL, copy.pages_written);
	} else {
		print_u64(PRINT_ANY, "pages", "loaded %llu pages", copy.pages_written);
		print_u64(PRINT_FP, NULL, " (%llu zero)\n", copy.pages_zero);
	}
	close_json_object();
out:
	close_endpoints(dst, n);
	if (ctx_open)
		dirtybit_close(&ctx);
	close(fd);
	img_free(&img);
	return ret;
}

static const char image_usage[] =
	"Usage: dirtybit image save [OPTIONS] FILE SOURCE...\n"
	"       dirtybit image info FILE\n"
	"       dirtybit image verify FILE [DEST...]\n"
	"       dirtybit image load FILE [DEST...]\n"
	"\n"
	"QEMU mapped-ram memory images.  SOURCE/DEST: a region, or BLOCK=PATH for a\n"
	"plain file standing for RAM block BLOCK (split at the first '='), or\n"
	"--block BLOCK PATH for the same with any name, '=' included.\n"
	"\n"
	"save options:\n"
	CLI_PASS_HELP
	"  --threads N          writer threads (online CPUs, at most 8)\n"
	"  --direct             write pages with O_DIRECT\n"
	"  --machine NAME       machine type recorded for QEMU (none)\n"
	"  --no-hold            last pass without holding the regions' writers\n"
	"  --exec-held CMD      run 'sh -c CMD' while the writers are held\n"
	"  --bitmap NAME        the regions' bitmap the save owns (image); one\n"
	"                       another save holds is refused\n"
	"  --granularity SIZE   of that bitmap, when created (the region's page)\n"
	"  --keep-bitmap        leave that bitmap recording afterwards\n"
	"See docs/IMAGES.md.";

static int image(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "help")) {
		printf("%s\n", image_usage);
		return EXIT_OK;
	}
	if (argc < 2) {
		fprintf(stderr, "%s\n", image_usage);
		return EXIT_USAGE;
	}
	argc--;
	argv++;
	if (!strcmp(argv[0], "save"))
		return image_save(cli, argc, argv);
	if (!strcmp(argv[0], "load"))
		return image_load(cli, argc, argv, false);
	if (!strcmp(argv[0], "verify"))
		return image_load(cli, argc, argv, true);
	if (!strcmp(argv[0], "info"))
		return image_info(cli, argc, argv);
	return cli_error(cli, EXIT_USAGE, "unknown image action '%s'", argv[0]);
}

const struct cli_cmd cmd_image = {
	"image", image, "save/load/info/verify fixed-ram memory images", image_usage,
};
