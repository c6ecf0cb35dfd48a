/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control operations the fault injection tests fail point by point
 * (fault_test with the module's own knob, failnth_test with the kernel's
 * fail-nth), and the snapshot of everything a failed one must leave as it
 * was: the module's live objects, the fixture's bitmaps (count, flags,
 * extents) and the region node.  The fixture: /dev/ram0 and /dev/ram1 of
 * RAM_SIZE, ram0 attached with bitmaps b0 and b1.
 */
#ifndef _DIRTYBIT_SELFTEST_FAULT_OPS_H
#define _DIRTYBIT_SELFTEST_FAULT_OPS_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dm.h"
#include "model.h"
#include "region.h"

#define RAM_SIZE	(64 * MiB)

static inline void append(char *out, size_t size, const char *fmt, ...)
{
	size_t len = strlen(out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + len, size - len, fmt, ap);
	va_end(ap);
}

/* Everything a failed operation must leave as it was, as text. */
static inline void snapshot(struct db *db, char *out, size_t size)
{
	static const char *const targets[] = { "/dev/ram0", "/dev/ram1" };
	static const char *const names[] = { "b0", "b1", "new", "t1" };
	struct db_extent ext[64];
	unsigned int t, k;

	dirtybit_objects(out, size / 2);
	append(out, size, "region node fr: %d\n", !access("/dev/dirtybit-regions/fr", F_OK));
	for (t = 0; t < 2; t++) {
		for (k = 0; k < 4; k++) {
			struct db_bitmap_info bi;
			int ret = db_info(db, targets[t], names[k], &bi);
			long n, i;

			append(out, size, "%s %s: %d", targets[t], names[k], ret);
			if (ret) {
				append(out, size, "\n");
				continue;
			}
			append(out, size, " count %llu flags %u successor %llu",
			       (unsigned long long)bi.count, bi.flags,
			       (unsigned long long)bi.successor_count);
			n = db_extents(db, targets[t], names[k], ext, 64, NULL);
			for (i = 0; i < n && i < 64; i++)
				append(out, size, " %llu+%llu", (unsigned long long)ext[i].start,
				       (unsigned long long)ext[i].length);
			append(out, size, "\n");
		}
	}
}

struct ctx {
	struct db *db;
	unsigned int id;	/* of /dev/ram0 */
	int fd;			/* what an operation opened, or -1 */
};

typedef int (*fault_op)(struct ctx *c);

static inline int op_attach(struct ctx *c)
{
	int id = db_attach(c->db, "/dev/ram1");

	return id < 0 ? id : 0;
}

static inline int op_add(struct ctx *c)
{
	return db_add(c->db, "/dev/ram0", "new", 4096, 0);
}

static inline int op_clear(struct ctx *c)
{
	return db_bitmap(c->db, DIRTYBIT_CMD_BITMAP_CLEAR, "/dev/ram0", "b0");
}

static inline int op_merge(struct ctx *c)
{
	return db_merge(c->db, "/dev/ram0", "b1", 0, "b0");
}

static inline int op_freeze(struct ctx *c)
{
	return db_bitmap(c->db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0");
}

static inline int op_next_pass(struct ctx *c)
{
	return db_next_pass(c->db, "/dev/ram0", "b0");
}

static inline int op_reclaim(struct ctx *c)
{
	return db_bitmap(c->db, DIRTYBIT_CMD_BITMAP_RECLAIM, "/dev/ram0", "b0");
}

static inline int op_abdicate(struct ctx *c)
{
	return db_bitmap_range(c->db, DIRTYBIT_CMD_BITMAP_ABDICATE, "/dev/ram0", "b0",
			       16 * MiB, ~0ULL, 0);
}

static inline int op_transaction(struct ctx *c)
{
	static const struct db_tx_action acts[] = {
		{ DIRTYBIT_CMD_BITMAP_CLEAR, "/dev/ram0", "b1" },
		{ DIRTYBIT_CMD_BITMAP_ADD, "/dev/ram0", "t1" },
		{ DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0" },
		{ DIRTYBIT_CMD_BITMAP_ADD, "/dev/ram1", "t1" },
	};

	return db_transaction(c->db, acts, 4);
}

static inline int op_remove(struct ctx *c)
{
	return db_bitmap(c->db, DIRTYBIT_CMD_BITMAP_REMOVE, "/dev/ram0", "b1");
}

static inline int op_target_get(struct ctx *c)
{
	return db_target_state(c->db, "/dev/ram0") == DIRTYBIT_TARGET_LIVE ? 0 : -EIO;
}

static inline int op_bitmap_read(struct ctx *c)
{
	static uint64_t words[RAM_SIZE / 65536 / 64];

	return region_bitmap_read(c->id, "b0", words, sizeof(words) / 8);
}

static inline int op_region_create(struct ctx *c)
{
	c->fd = region_create("fr", 16 * PAGE, DIRTYBIT_REGION_F_NODE, NULL);
	return c->fd < 0 ? c->fd : 0;
}

static inline int op_region_open(struct ctx *c)
{
	c->fd = region_open("fr", 0, 1);
	return c->fd < 0 ? c->fd : 0;
}

/* The standard writes, to both disks. */
static inline int std_writes(void)
{
	return write_direct("/dev/ram0", 0, 512, 1) ||
	       write_direct("/dev/ram0", 16 * MiB, 256 * KiB, 2) ||
	       write_direct("/dev/ram0", 32736 * KiB, 64 * KiB, 3) ||
	       write_direct("/dev/ram1", 8 * MiB, 4096, 4);
}

/*
 * The fixture, with the module loaded afresh with @params.  Returns 0, or
 * the step that failed (its reason on stderr).
 */
static inline const char *fault_fixture_up(struct ctx *c, struct db *db, const char *params)
{
	int id;

	sh("rmmod brd 2>/dev/null");
	if (dirtybit_reload(params))
		return "load";
	if (sh("modprobe brd rd_nr=2 rd_size=%llu", RAM_SIZE / KiB))
		return "brd";
	if (db_open(db))
		return "netlink";
	c->db = db;
	id = db_attach(db, "/dev/ram0");
	if (id <= 0) {
		fprintf(stderr, "attach: %d %s\n", id, db->nl.extack);
		return "attach";
	}
	c->id = id;
	if (db_add(db, "/dev/ram0", "b0", 0, 0) || db_add(db, "/dev/ram0", "b1", 4096, 0))
		return "add";
	return NULL;
}

static inline void fault_fixture_down(struct db *db)
{
	db_detach(db, "/dev/ram0");
	db_detach(db, "/dev/ram1");
	nl_close(&db->nl);
	sh("rmmod brd");
	/* The next test loads the module without fault injection. */
	dirtybit_unload();
}

#endif
