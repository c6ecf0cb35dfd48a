// SPDX-License-Identifier: GPL-2.0
/*
 * Block targets: exact dirty sets, QEMU bitmap semantics, refusals,
 * permissions, owner-bound freezes and device removal.  Every expectation
 * is checked against a model the test keeps, granule by granule.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "loop.h"
#include "model.h"
#include "needs.h"
#include "run.h"

#define RAM_SIZE (64 * MiB)

static struct db_extent ext[65536];

/* ---- fixture: two brd disks, the first attached ---------------------------- */

FIXTURE(brd) {
	struct db db;
	int id;
};

FIXTURE_SETUP(brd)
{
	ASSERT_EQ(0, dirtybit_load());
	sh("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, sh("modprobe brd rd_nr=2 rd_size=%llu", RAM_SIZE / KiB));
	ASSERT_EQ(0, db_open(&self->db));
	self->id = db_attach(&self->db, "/dev/ram0");
	ASSERT_LT(0, self->id) TH_LOG("attach: %s", self->db.nl.extack);
}

FIXTURE_TEARDOWN(brd)
{
	db_detach(&self->db, "/dev/mapper/dirtybit-probes");
	sh("DM_DISABLE_UDEV=1 dmsetup remove dirtybit-probes 2>/dev/null");
	db_detach(&self->db, "/dev/ram0");
	db_detach(&self->db, "/dev/ram1");
	nl_close(&self->db.nl);
	sh("rmmod brd");
}

/* QEMU iotests' standard writes: the last one straddles a granule boundary. */
TEST_F(brd, standard_writes)
{
	struct db_bitmap_info bi;
	long n;

	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 0, 0));
	ASSERT_EQ(0, write_direct("/dev/ram0", 0, 512, 1));
	ASSERT_EQ(0, write_direct("/dev/ram0", 16 * MiB, 256 * KiB, 2));
	ASSERT_EQ(0, write_direct("/dev/ram0", 32736 * KiB, 64 * KiB, 3));
	ASSERT_EQ(0, db_info(&self->db, "/dev/ram0", "b0", &bi));
	EXPECT_EQ(65536, bi.granularity);
	EXPECT_EQ(458752, bi.count);
	EXPECT_EQ(DIRTYBIT_BITMAP_F_RECORDING, bi.flags);
	n = db_extents(&self->db, "/dev/ram0", "b0", ext, 16, NULL);
	ASSERT_EQ(3, n);
	EXPECT_EQ(0, ext[0].start);
	EXPECT_EQ(64 * KiB, ext[0].length);
	EXPECT_EQ(16 * MiB, ext[1].start);
	EXPECT_EQ(256 * KiB, ext[1].length);
	EXPECT_EQ(32704 * KiB, ext[2].start);
	EXPECT_EQ(128 * KiB, ext[2].length);
}

TEST_F(brd, random_writes_match_model_at_every_granularity)
{
	static const uint32_t grans[] = { 512, 4096, 65536, 1048576 };
	struct model m[4];
	int k;

	for (k = 0; k < 4; k++) {
		char name[16];

		snprintf(name, sizeof(name), "g%u", grans[k]);
		ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", name, grans[k], 0))
			TH_LOG("%s", self->db.nl.extack);
		model_init(&m[k], RAM_SIZE, grans[k]);
	}
	ASSERT_EQ(0, random_writes("/dev/ram0", RAM_SIZE, 0x5eed, 300, m, 4, 0, 0));
	ASSERT_EQ(0, read_all("/dev/ram0"));
	for (k = 0; k < 4; k++) {
		struct db_bitmap_info bi;
		char name[16];
		const char *why;

		snprintf(name, sizeof(name), "g%u", grans[k]);
		why = model_compare(&self->db, "/dev/ram0", name, &m[k]);
		EXPECT_EQ(NULL, why) TH_LOG("%s: %s", name, why);
		ASSERT_EQ(0, db_info(&self->db, "/dev/ram0", name, &bi));
		EXPECT_EQ(model_count(&m[k]), bi.count);
	}
}

TEST_F(brd, reads_and_flushes_do_not_count)
{
	struct db_bitmap_info bi;
	int fd;

	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 4096, 0));
	ASSERT_EQ(0, read_all("/dev/ram0"));
	fd = open("/dev/ram0", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(0, fdatasync(fd));
	close(fd);
	ASSERT_EQ(0, db_info(&self->db, "/dev/ram0", "b0", &bi));
	EXPECT_EQ(0, bi.count);
}

TEST_F(brd, writes_to_other_devices_do_not_count)
{
	struct db_bitmap_info bi;

	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 0, 0));
	ASSERT_EQ(0, write_direct("/dev/ram1", 0, MiB, 7));
	ASSERT_EQ(0, db_info(&self->db, "/dev/ram0", "b0", &bi));
	EXPECT_EQ(0, bi.count);
}

TEST_F(brd, disabled_bitmap_records_nothing_until_enabled)
{
	struct model m;

	model_init(&m, RAM_SIZE, 65536);
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 0, 1));
	ASSERT_EQ(0, write_direct("/dev/ram0", 0, 4096, 1));
	ASSERT_STREQ("", model_compare(&self->db, "/dev/ram0", "b0", &m) ?: "");
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_ENABLE, "/dev/ram0", "b0"));
	ASSERT_EQ(0, write_direct("/dev/ram0", MiB, 4096, 1));
	model_mark(&m, MiB, 4096);
	ASSERT_STREQ("", model_compare(&self->db, "/dev/ram0", "b0", &m) ?: "");
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_DISABLE, "/dev/ram0", "b0"));
	ASSERT_EQ(0, write_direct("/dev/ram0", 2 * MiB, 4096, 1));
	ASSERT_STREQ("", model_compare(&self->db, "/dev/ram0", "b0", &m) ?: "");
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_CLEAR, "/dev/ram0", "b0"));
	model_clear(&m);
	ASSERT_STREQ("", model_compare(&self->db, "/dev/ram0", "b0", &m) ?: "");
}

/* Writes during a freeze land in the successor; the frozen count stays. */
TEST_F(brd, freeze_abdicate_reclaim)
{
	struct model frozen, succ;
	struct db_bitmap_info bi;

	model_init(&frozen, RAM_SIZE, 65536);
	model_init(&succ, RAM_SIZE, 65536);
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 0, 0));
	ASSERT_EQ(0, write_direct("/dev/ram0", 0, 128 * KiB, 1));
	model_mark(&frozen, 0, 128 * KiB);
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0"));
	ASSERT_EQ(0, write_direct("/dev/ram0", 8 * MiB, 64 * KiB, 2));
	model_mark(&succ, 8 * MiB, 64 * KiB);
	ASSERT_EQ(0, db_info(&self->db, "/dev/ram0", "b0", &bi));
	EXPECT_EQ(DIRTYBIT_BITMAP_F_RECORDING | DIRTYBIT_BITMAP_F_FROZEN, bi.flags);
	EXPECT_EQ(128 * KiB, bi.count);
	EXPECT_EQ(64 * KiB, bi.successor_count);
	EXPECT_STREQ("", model_compare(&self->db, "/dev/ram0", "b0", &frozen) ?: "");

	/* abdicate: only the writes since the freeze remain */
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_ABDICATE, "/dev/ram0", "b0"));
	EXPECT_STREQ("", model_compare(&self->db, "/dev/ram0", "b0", &succ) ?: "");

	/* reclaim: old | new */
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0"));
	ASSERT_EQ(0, write_direct("/dev/ram0", 20 * MiB, 4096, 3));
	model_mark(&succ, 20 * MiB, 4096);
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_RECLAIM, "/dev/ram0", "b0"));
	EXPECT_STREQ("", model_compare(&self->db, "/dev/ram0", "b0", &succ) ?: "");
	ASSERT_EQ(0, db_info(&self->db, "/dev/ram0", "b0", &bi));
	EXPECT_EQ(DIRTYBIT_BITMAP_F_RECORDING, bi.flags);
	/* recording again after the reclaim */
	ASSERT_EQ(0, write_direct("/dev/ram0", 30 * MiB, 4096, 3));
	model_mark(&succ, 30 * MiB, 4096);
	EXPECT_STREQ("", model_compare(&self->db, "/dev/ram0", "b0", &succ) ?: "");
}

/* The hook of the dump below: clear the bitmap from another socket. */
static void clear_from_elsewhere(void *arg)
{
	struct db other;

	if (db_open(&other) == 0) {
		db_bitmap(&other, DIRTYBIT_CMD_BITMAP_CLEAR, "/dev/ram0", arg);
		nl_close(&other.nl);
	}
}

/*
 * 8,000 separate extents take many dump parts: each arrives once, in order,
 * resumed from the cursor; a range dump returns its slice; a clear between
 * two parts flags the rest NLM_F_DUMP_INTR.
 */
TEST_F(brd, extents_dump_resumes_and_reports_changes)
{
	const long nr = 8000;
	unsigned char *buf;
	int fd, intr;
	long i, n;

	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "fine", 512, 0));
	ASSERT_EQ(0, posix_memalign((void **)&buf, 4096, 4096));
	memset(buf, 0x5a, 4096);
	fd = open("/dev/ram0", O_WRONLY | O_DIRECT);
	ASSERT_LE(0, fd);
	for (i = 0; i < nr; i++)
		ASSERT_EQ(512, pwrite(fd, buf, 512, i * 2048));
	close(fd);
	free(buf);

	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "fine"));
	n = db_extents(&self->db, "/dev/ram0", "fine", ext, 65536, &intr);
	ASSERT_EQ(nr, n) TH_LOG("%s", self->db.nl.extack);
	TH_LOG("%ld extents in %d parts", n, self->db.dump_parts);
	EXPECT_LT(1, self->db.dump_parts);
	EXPECT_EQ(0, intr);
	for (i = 0; i < nr; i++) {
		ASSERT_EQ(i * 2048, ext[i].start);
		ASSERT_EQ(512, ext[i].length);
	}
	/* [1 MiB + 1 KiB, 1 MiB + 65 KiB): extents 512 .. 543, cut to the range */
	n = db_extents_in(&self->db, "/dev/ram0", "fine", MiB + KiB, 64 * KiB, ext, 64, NULL);
	ASSERT_EQ(32, n);
	EXPECT_EQ(MiB + 2 * KiB, ext[0].start);
	EXPECT_EQ(MiB + 64 * KiB, ext[31].start);
	/* Reclaim keeps the bits: the same 8,000 extents, now live. */
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_RECLAIM, "/dev/ram0", "fine"));
	self->db.dump_hook = clear_from_elsewhere;
	self->db.dump_hook_arg = "fine";
	n = db_extents(&self->db, "/dev/ram0", "fine", ext, 65536, &intr);
	self->db.dump_hook = NULL;
	ASSERT_LE(0, n);
	EXPECT_EQ(1, intr) TH_LOG("%ld extents in %d parts, none flagged", n, self->db.dump_parts);
}

TEST_F(brd, merge_across_granularities)
{
	struct model fine, coarse;

	model_init(&fine, RAM_SIZE, 512);
	model_init(&coarse, RAM_SIZE, MiB);
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "fine", 512, 1));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "coarse", MiB, 1));
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_ENABLE, "/dev/ram0", "fine"));
	ASSERT_EQ(0, write_direct("/dev/ram0", 3 * MiB + 512, 1024, 1));
	model_mark(&fine, 3 * MiB + 512, 1024);
	ASSERT_EQ(0, db_merge(&self->db, "/dev/ram0", "coarse", 0, "fine"))
		TH_LOG("%s", self->db.nl.extack);
	model_mark(&coarse, 3 * MiB + 512, 1024);
	EXPECT_STREQ("", model_compare(&self->db, "/dev/ram0", "coarse", &coarse) ?: "");

	/* coarse -> fine marks every fine granule under the coarse one */
	ASSERT_EQ(0, db_merge(&self->db, "/dev/ram0", "fine", 0, "coarse"));
	model_mark(&fine, 3 * MiB, MiB);
	EXPECT_STREQ("", model_compare(&self->db, "/dev/ram0", "fine", &fine) ?: "");

	/* across targets */
	ASSERT_LT(0, db_attach(&self->db, "/dev/ram1"));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram1", "other", 65536, 0));
	ASSERT_EQ(0, write_direct("/dev/ram1", 40 * MiB, 4096, 1));
	ASSERT_EQ(0, db_merge(&self->db, "/dev/ram0", "coarse", self->id + 1, "other"))
		TH_LOG("%s", self->db.nl.extack);
	model_mark(&coarse, 40 * MiB, 4096);
	EXPECT_STREQ("", model_compare(&self->db, "/dev/ram0", "coarse", &coarse) ?: "");
}

#define EXPECT_REFUSED(err, call, words) do {					\
	EXPECT_EQ(err, call);							\
	EXPECT_NE(NULL, strstr(self->db.nl.extack, words))			\
		TH_LOG("extack: '%s'", self->db.nl.extack);			\
} while (0)

TEST_F(brd, refusals_have_reasons)
{
	struct db *db = &self->db;

	EXPECT_REFUSED(-ENOENT, db_add(db, "/dev/ram1", "b", 0, 0), "not attached");
	EXPECT_REFUSED(-ENODEV, db_add(db, "/nonexistent", "b", 0, 0), "not a block device");
	EXPECT_REFUSED(-EINVAL, db_add(db, "/dev/ram0", "b", 64000, 0), "power of two");
	EXPECT_REFUSED(-EINVAL, db_add(db, "/dev/ram0", "b", 256, 0), "power of two");
	EXPECT_REFUSED(-EINVAL, db_add(db, "/dev/ram0", "a/b", 0, 0), "bitmap names");
	EXPECT_REFUSED(-EINVAL, db_add(db, "/dev/ram0", "", 0, 0), "empty");
	ASSERT_EQ(0, db_add(db, "/dev/ram0", "b", 0, 0));
	EXPECT_REFUSED(-EEXIST, db_add(db, "/dev/ram0", "b", 0, 0), "already exists");
	EXPECT_REFUSED(-ENOENT, db_bitmap(db, DIRTYBIT_CMD_BITMAP_CLEAR, "/dev/ram0", "nope"),
		       "no bitmap");
	EXPECT_REFUSED(-EINVAL, db_bitmap(db, DIRTYBIT_CMD_BITMAP_ABDICATE, "/dev/ram0", "b"),
		       "not frozen");
	EXPECT_REFUSED(-EINVAL, db_bitmap(db, DIRTYBIT_CMD_BITMAP_RECLAIM, "/dev/ram0", "b"),
		       "not frozen");
	ASSERT_EQ(0, db_bitmap(db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b"));
	EXPECT_REFUSED(-EBUSY, db_bitmap(db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b"),
		       "already frozen");
	EXPECT_REFUSED(-EBUSY, db_bitmap(db, DIRTYBIT_CMD_BITMAP_REMOVE, "/dev/ram0", "b"), "busy");
	EXPECT_REFUSED(-EBUSY, db_bitmap(db, DIRTYBIT_CMD_BITMAP_CLEAR, "/dev/ram0", "b"), "busy");
	EXPECT_REFUSED(-EBUSY, db_bitmap(db, DIRTYBIT_CMD_BITMAP_DISABLE, "/dev/ram0", "b"), "busy");
	EXPECT_REFUSED(-EBUSY, db_merge(db, "/dev/ram0", "b", 0, "b"), "busy");
	EXPECT_REFUSED(-EBUSY, db_detach(db, "/dev/ram0"), "frozen");
	EXPECT_REFUSED(-EEXIST, db_attach(db, "/dev/ram0"), "already attached");
	EXPECT_EQ(0, db_bitmap(db, DIRTYBIT_CMD_BITMAP_RECLAIM, "/dev/ram0", "b"));
	EXPECT_EQ(0, db_bitmap(db, DIRTYBIT_CMD_BITMAP_REMOVE, "/dev/ram0", "b"));
	EXPECT_REFUSED(-ENOENT, db_bitmap(db, DIRTYBIT_CMD_BITMAP_REMOVE, "/dev/ram0", "b"),
		       "no bitmap");
}

/* A failing action leaves every earlier one of its transaction undone. */
TEST_F(brd, transaction_over_two_devices_is_all_or_nothing)
{
	struct db_tx_action both[] = {
		{ DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0" },
		{ DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram1", "b1" },
	};
	struct db_tx_action bad[] = {
		{ DIRTYBIT_CMD_BITMAP_RECLAIM, "/dev/ram0", "b0" },
		{ DIRTYBIT_CMD_BITMAP_CLEAR, "/dev/ram1", "b1" },	/* busy */
	};
	struct db_tx_action chain[] = {
		{ DIRTYBIT_CMD_BITMAP_ADD, "/dev/ram0", "new" },
		{ DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "new" },
		{ DIRTYBIT_CMD_BITMAP_RECLAIM, "/dev/ram0", "new" },
		{ DIRTYBIT_CMD_BITMAP_REMOVE, "/dev/ram0", "new" },
	};
	struct db_bitmap_info bi;

	ASSERT_LT(0, db_attach(&self->db, "/dev/ram1"));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 0, 0));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram1", "b1", 0, 0));
	ASSERT_EQ(0, write_direct("/dev/ram0", 0, 4096, 1));
	ASSERT_EQ(0, write_direct("/dev/ram1", 0, 4096, 1));
	ASSERT_EQ(0, db_transaction(&self->db, both, 2)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_info(&self->db, "/dev/ram0", "b0", &bi));
	EXPECT_TRUE(bi.flags & DIRTYBIT_BITMAP_F_FROZEN);
	ASSERT_EQ(0, db_info(&self->db, "/dev/ram1", "b1", &bi));
	EXPECT_TRUE(bi.flags & DIRTYBIT_BITMAP_F_FROZEN);

	EXPECT_EQ(-EBUSY, db_transaction(&self->db, bad, 2));
	ASSERT_EQ(0, db_info(&self->db, "/dev/ram0", "b0", &bi));
	EXPECT_TRUE(bi.flags & DIRTYBIT_BITMAP_F_FROZEN) TH_LOG("reclaim applied in a failed transaction");
	EXPECT_EQ(65536, bi.count);

	/* Later actions see earlier ones. */
	EXPECT_EQ(0, db_transaction(&self->db, chain, 4)) TH_LOG("%s", self->db.nl.extack);
	EXPECT_EQ(-ENOENT, db_info(&self->db, "/dev/ram0", "new", &bi));
	both[0].cmd = both[1].cmd = DIRTYBIT_CMD_BITMAP_ABDICATE;
	EXPECT_EQ(0, db_transaction(&self->db, both, 2));
}

/*
 * An action in a transaction is parsed as its own command would be: only
 * the attributes that command takes, and only RECLAIM may force its way
 * past another socket's freeze.  ABDICATE with FORCE would let anyone throw
 * away a running backup's frozen bits.
 */
TEST_F(brd, transaction_actions_take_only_their_own_attributes)
{
	struct db_bitmap_info bi;
	struct nlattr *nest, *one;
	struct nl_msg m;
	struct db other;
	int i;
	static const struct {
		int cmd;
		int attr;		/* flag attribute the command does not take */
		const char *what;
	} bad[] = {
		{ DIRTYBIT_CMD_BITMAP_ABDICATE, DIRTYBIT_A_FORCE, "abdicate with force" },
		{ DIRTYBIT_CMD_BITMAP_FREEZE, DIRTYBIT_A_FORCE, "freeze with force" },
		{ DIRTYBIT_CMD_BITMAP_CLEAR, DIRTYBIT_A_BITMAP_DISABLED, "clear with disabled" },
		{ DIRTYBIT_CMD_BITMAP_REMOVE, DIRTYBIT_A_RANGE_ALL, "remove with range_all" },
	};

	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 0, 0));
	ASSERT_EQ(0, write_direct("/dev/ram0", 0, 4096, 1));
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0"));
	ASSERT_EQ(0, db_open(&other));
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		db_msg(&other, &m, DIRTYBIT_CMD_TRANSACTION);
		nest = db_nest(&m, DIRTYBIT_A_ACTIONS);
		one = db_nest(&m, DIRTYBIT_A_ACTION);
		db_put_u32(&m, DIRTYBIT_A_ACTION_CMD, bad[i].cmd);
		db_put_action(&m, "/dev/ram0", "b0");
		nl_put(&m, bad[i].attr, NULL, 0);
		db_nest_end(&m, one);
		db_nest_end(&m, nest);
		EXPECT_EQ(-EINVAL, nl_send(&other.nl, &m, NULL, 0)) TH_LOG("%s", bad[i].what);
		EXPECT_NE(0, other.nl.extack[0]) TH_LOG("%s: no reason given", bad[i].what);
	}
	/* The freeze is the first socket's: still frozen, its bits intact. */
	ASSERT_EQ(0, db_info(&self->db, "/dev/ram0", "b0", &bi));
	EXPECT_TRUE(bi.flags & DIRTYBIT_BITMAP_F_FROZEN);
	EXPECT_EQ(65536, bi.count);
	/* Without force another socket may not end it either way ... */
	struct db_tx_action abdicate[] = { { DIRTYBIT_CMD_BITMAP_ABDICATE, "/dev/ram0", "b0" } };
	EXPECT_EQ(-EPERM, db_transaction(&other, abdicate, 1));
	/* ... and with force it may only reclaim, which keeps every bit. */
	db_msg(&other, &m, DIRTYBIT_CMD_BITMAP_RECLAIM);
	db_put_action(&m, "/dev/ram0", "b0");
	nl_put(&m, DIRTYBIT_A_FORCE, NULL, 0);
	EXPECT_EQ(0, nl_send(&other.nl, &m, NULL, 0)) TH_LOG("%s", other.nl.extack);
	ASSERT_EQ(0, db_info(&self->db, "/dev/ram0", "b0", &bi));
	EXPECT_FALSE(bi.flags & DIRTYBIT_BITMAP_F_FROZEN);
	EXPECT_EQ(65536, bi.count);
	nl_close(&other.nl);
}

static int count_reply(struct nlmsghdr *r, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* Bitmap dump parts, and whether one came flagged NLM_F_DUMP_INTR. */
static int bitmap_dump(struct db *db, int *parts, int *intr, void (*hook)(void *), void *arg)
{
	struct nl_msg m;
	int n = 0, ret;

	db_msg(db, &m, DIRTYBIT_CMD_BITMAP_GET);
	db_put_target(&m, "/dev/ram0");
	db->dump_hook = hook;
	db->dump_hook_arg = arg;
	ret = db_dump(db, &m, count_reply, &n, intr);
	db->dump_hook = NULL;
	*parts = db->dump_parts;
	return ret ? ret : n;
}

static void add_from_elsewhere(void *arg)
{
	struct db other;

	if (db_open(&other) == 0) {
		db_add(&other, "/dev/ram0", arg, 0, 0);
		nl_close(&other.nl);
	}
}

/* A bitmap list that spans parts says so when the bitmaps changed between them. */
TEST_F(brd, bitmap_dump_reports_changes)
{
	char name[16];
	int i, n, parts, intr;

	for (i = 0; i < 1200; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", name, 0, 1));
	}
	n = bitmap_dump(&self->db, &parts, &intr, NULL, NULL);
	ASSERT_EQ(1200, n);
	ASSERT_LT(2, parts);
	EXPECT_EQ(0, intr);
	n = bitmap_dump(&self->db, &parts, &intr, add_from_elsewhere, "late");
	ASSERT_LE(1200, n);
	EXPECT_EQ(1, intr) TH_LOG("%d bitmaps in %d parts, none flagged", n, parts);
}

static int child_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST_F(brd, unprivileged_user_gets_eperm)
{
	pid_t pid;

	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 0, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct db u;
		struct db_bitmap_info bi;
		int bad = 0;

		if (setgid(65534) || setuid(65534) || db_open(&u))
			_exit(100);
		bad |= db_attach(&u, "/dev/ram1") != -EPERM;
		bad |= (db_add(&u, "/dev/ram0", "x", 0, 0) != -EPERM) << 1;
		bad |= (db_info(&u, "/dev/ram0", "b0", &bi) != -EPERM) << 2;
		bad |= (db_extents(&u, "/dev/ram0", "b0", ext, 16, NULL) != -EPERM) << 3;
		bad |= (db_bitmap(&u, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0") != -EPERM) << 4;
		bad |= (db_detach(&u, "/dev/ram0") != -EPERM) << 5;
		_exit(bad);
	}
	EXPECT_EQ(0, child_status(pid));
}

/* ---- /dev/dirtybit: DIRTYBIT_IOC_BITMAP_READ ------------------------------ */

static int bitmap_read(int fd, int target, const char *name, uint64_t first,
		       uint64_t *buf, uint64_t words, struct dirtybit_ioc_bitmap_read *r)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->target_id = target;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->first_word = first;
	r->words = words;
	r->buf = (uintptr_t)buf;
	return ioctl(fd, DIRTYBIT_IOC_BITMAP_READ, r) ? -errno : 0;
}

/*
 * The bottom level of a frozen bitmap in bulk equals the model bit for bit,
 * whole or in slices; bad requests are refused without touching anything.
 */
TEST_F(brd, bitmap_read_ioctl)
{
	const uint64_t total = RAM_SIZE / 4096 / 64;
	struct dirtybit_ioc_bitmap_read r;
	uint64_t *words, *guarded, g;
	struct model m;
	pid_t pid;
	int fd;

	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b", 4096, 0));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "fine", 512, 0));
	model_init(&m, RAM_SIZE, 4096);
	ASSERT_EQ(0, random_writes("/dev/ram0", RAM_SIZE, 0x10c, 200, &m, 1, 0, 0));
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b"));
	fd = open("/dev/dirtybit", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	words = calloc(2048, 8);

	ASSERT_EQ(0, bitmap_read(fd, self->id, "b", 0, words, total + 8, &r));
	EXPECT_EQ(total, r.words);
	EXPECT_EQ(total, r.total_words);
	EXPECT_EQ(4096, r.granularity);
	EXPECT_EQ(DIRTYBIT_BITMAP_F_RECORDING | DIRTYBIT_BITMAP_F_FROZEN, r.flags);
	EXPECT_EQ(model_count(&m), r.count);
	for (g = 0; g < RAM_SIZE / 4096; g++)
		ASSERT_EQ(m.bit[g], (words[g / 64] >> (g % 64)) & 1) TH_LOG("granule %llu",
									 (unsigned long long)g);
	/* a slice, and the tail from the last word */
	memset(words, 0xff, total * 8);
	ASSERT_EQ(0, bitmap_read(fd, self->id, "b", 100, words, 10, &r));
	EXPECT_EQ(10, r.words);
	for (g = 100 * 64; g < 110 * 64; g++)
		ASSERT_EQ(m.bit[g], (words[g / 64 - 100] >> (g % 64)) & 1);
	ASSERT_EQ(0, bitmap_read(fd, self->id, "b", total - 1, words, 10, &r));
	EXPECT_EQ(1, r.words);
	ASSERT_EQ(0, bitmap_read(fd, self->id, "b", total, words, 10, &r));
	EXPECT_EQ(0, r.words);

	/* refusals */
	EXPECT_EQ(-EINVAL, bitmap_read(fd, self->id, "b", total + 1, words, 1, &r));
	EXPECT_EQ(-ENOENT, bitmap_read(fd, self->id, "nope", 0, words, 1, &r));
	EXPECT_EQ(-ENOENT, bitmap_read(fd, 9999, "b", 0, words, 1, &r));
	EXPECT_EQ(-EINVAL, bitmap_read(fd, self->id, "", 0, words, 1, &r));
	bitmap_read(fd, self->id, "b", 0, words, 1, &r);
	r.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(fd, DIRTYBIT_IOC_BITMAP_READ, &r));
	EXPECT_EQ(EINVAL, errno);
	r.reserved[3] = 0;
	r.size = sizeof(r) - 8;
	EXPECT_EQ(-1, ioctl(fd, DIRTYBIT_IOC_BITMAP_READ, &r));
	EXPECT_EQ(EINVAL, errno);
	r.size = sizeof(r);
	memset(r.name, 'x', sizeof(r.name));		/* no NUL */
	EXPECT_EQ(-1, ioctl(fd, DIRTYBIT_IOC_BITMAP_READ, &r));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, DIRTYBIT_IOC_BITMAP_READ, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-EFAULT, bitmap_read(fd, self->id, "b", 0, (uint64_t *)8, 1, &r));
	/*
	 * 2,048 words of "fine" into a buffer whose second page is read-only:
	 * -EFAULT, and the first page holds the first 512 words.
	 */
	ASSERT_EQ(0, bitmap_read(fd, self->id, "fine", 0, words, 512, &r));
	guarded = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, guarded);
	ASSERT_EQ(0, mprotect((char *)guarded + 4096, 4096, PROT_READ));
	EXPECT_EQ(-EFAULT, bitmap_read(fd, self->id, "fine", 0, guarded, 2048, &r));
	EXPECT_EQ(0, memcmp(guarded, words, 4096));
	munmap(guarded, 8192);
	EXPECT_EQ(-ENOTTY, ioctl(fd, _IO(DIRTYBIT_IOC_MAGIC, 0x7f), 0) ? -errno : 0);

	/* the same privilege as netlink: an open fd is not enough */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(100);
		_exit(bitmap_read(fd, self->id, "b", 0, words, 1, &r) == -EPERM ? 0 : 1);
	}
	EXPECT_EQ(0, child_status(pid));
	close(fd);
	free(words);
	free(m.bit);
}

/* The agent that froze a bitmap dies without abdicating: the module reclaims. */
/*
 * Bitmap @name of ram0 is no longer frozen: the module's reclaim of a dead
 * freezer runs from a work item, so wait for it (not a timing test).
 */
static bool reclaimed(struct db *db, const char *name)
{
	struct db_bitmap_info bi;
	int i;

	for (i = 0; i < 600; i++) {
		if (db_info(db, "/dev/ram0", name, &bi))
			return false;
		if (!(bi.flags & DIRTYBIT_BITMAP_F_FROZEN))
			return true;
		usleep(50000);
	}
	return false;
}

TEST_F(brd, killed_freezer_is_reclaimed)
{
	struct model m;
	int pipefd[2];
	pid_t pid;
	char c;

	model_init(&m, RAM_SIZE, 65536);
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 0, 0));
	ASSERT_EQ(0, write_direct("/dev/ram0", 0, 4096, 1));
	model_mark(&m, 0, 4096);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct db agent;

		if (db_open(&agent) ||
		    db_bitmap(&agent, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0"))
			_exit(1);
		if (write(pipefd[1], "f", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	/* Someone else's freeze: refused without force. */
	EXPECT_EQ(-EPERM, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_ABDICATE, "/dev/ram0", "b0"));
	ASSERT_EQ(0, write_direct("/dev/ram0", 5 * MiB, 4096, 2));
	model_mark(&m, 5 * MiB, 4096);
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, child_status(pid));
	EXPECT_TRUE(reclaimed(&self->db, "b0"));
	EXPECT_STREQ("", model_compare(&self->db, "/dev/ram0", "b0", &m) ?: "");
}

/* brd goes away under an attached target: the bitmaps stay readable. */
TEST_F(brd, device_removal_keeps_bitmaps)
{
	struct db_bitmap_info bi;
	char id[16];
	struct model m;

	model_init(&m, RAM_SIZE, 65536);
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 0, 0));
	ASSERT_EQ(0, write_direct("/dev/ram0", MiB, 4096, 1));
	model_mark(&m, MiB, 4096);
	ASSERT_EQ(0, sh("rmmod brd"));
	snprintf(id, sizeof(id), "%d", self->id);
	EXPECT_EQ(DIRTYBIT_TARGET_GONE, db_target_state(&self->db, id));
	/* by id: the path went away with the device */
	EXPECT_EQ(0, db_info(&self->db, id, "b0", &bi));
	EXPECT_EQ(64 * KiB, bi.count);
	EXPECT_STREQ("", model_compare(&self->db, id, "b0", &m) ?: "");
	EXPECT_EQ(0, db_detach(&self->db, id));
	sh("modprobe brd rd_nr=2 rd_size=%llu", RAM_SIZE / KiB);
}

/* Malformed requests: each refused with an error and a message. */
TEST_F(brd, malformed_requests_are_refused_with_reasons)
{
	struct db *db = &self->db;
	char longname[100];
	struct nlattr *nest;
	struct nl_msg m;
	uint8_t small = 1;
	int i;

	/* granularity as one byte instead of a u32 */
	db_msg(db, &m, DIRTYBIT_CMD_BITMAP_ADD);
	db_put_action(&m, "/dev/ram0", "b");
	nl_put(&m, DIRTYBIT_A_BITMAP_GRANULARITY, &small, 1);
	EXPECT_EQ(-EINVAL, nl_send(&db->nl, &m, NULL, 0));
	EXPECT_STRNE("", db->nl.extack);

	/* a name longer than DIRTYBIT_NAME_MAX - 1 */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	EXPECT_EQ(-EINVAL, db_add(db, "/dev/ram0", longname, 0, 0));
	EXPECT_STRNE("", db->nl.extack);

	/* no name */
	db_msg(db, &m, DIRTYBIT_CMD_BITMAP_CLEAR);
	db_put_str(&m, DIRTYBIT_A_TARGET_PATH, "/dev/ram0");
	EXPECT_EQ(-EINVAL, nl_send(&db->nl, &m, NULL, 0));
	EXPECT_NE(NULL, strstr(db->nl.extack, "missing BITMAP_NAME"));

	/* an attribute this command does not take */
	db_msg(db, &m, DIRTYBIT_CMD_BITMAP_CLEAR);
	db_put_action(&m, "/dev/ram0", "b");
	db_put_u32(&m, DIRTYBIT_A_BITMAP_GRANULARITY, 4096);
	EXPECT_EQ(-EINVAL, nl_send(&db->nl, &m, NULL, 0));
	EXPECT_STRNE("", db->nl.extack);

	/* both ways of naming a target */
	db_msg(db, &m, DIRTYBIT_CMD_BITMAP_CLEAR);
	db_put_action(&m, "/dev/ram0", "b");
	db_put_u32(&m, DIRTYBIT_A_TARGET_ID, self->id);
	EXPECT_EQ(-EINVAL, nl_send(&db->nl, &m, NULL, 0));
	EXPECT_NE(NULL, strstr(db->nl.extack, "not both"));

	/* target id 0 and an unknown id */
	db_msg(db, &m, DIRTYBIT_CMD_TARGET_GET);
	db_put_u32(&m, DIRTYBIT_A_TARGET_ID, 0);
	EXPECT_EQ(-ERANGE, nl_send(&db->nl, &m, NULL, 0));	/* policy minimum */
	EXPECT_STRNE("", db->nl.extack);
	db_msg(db, &m, DIRTYBIT_CMD_TARGET_GET);
	db_put_u32(&m, DIRTYBIT_A_TARGET_ID, 999999);
	EXPECT_EQ(-ENOENT, nl_send(&db->nl, &m, NULL, 0));
	EXPECT_STRNE("", db->nl.extack);

	/* a transaction of 65 actions, an empty one, an action without a command */
	db_msg(db, &m, DIRTYBIT_CMD_TRANSACTION);
	nest = db_nest(&m, DIRTYBIT_A_ACTIONS);
	for (i = 0; i < 65; i++) {
		struct nlattr *one = db_nest(&m, DIRTYBIT_A_ACTION);

		db_put_u32(&m, DIRTYBIT_A_ACTION_CMD, DIRTYBIT_CMD_BITMAP_CLEAR);
		db_nest_end(&m, one);
	}
	db_nest_end(&m, nest);
	i = nl_send(&db->nl, &m, NULL, 0);
	EXPECT_GT(0, i);
	EXPECT_STRNE("", db->nl.extack) TH_LOG("65 actions: %d", i);
	db_msg(db, &m, DIRTYBIT_CMD_TRANSACTION);
	db_nest_end(&m, db_nest(&m, DIRTYBIT_A_ACTIONS));
	EXPECT_EQ(-EINVAL, nl_send(&db->nl, &m, NULL, 0));
	db_msg(db, &m, DIRTYBIT_CMD_TRANSACTION);
	nest = db_nest(&m, DIRTYBIT_A_ACTIONS);
	db_nest_end(&m, db_nest(&m, DIRTYBIT_A_ACTION));
	db_nest_end(&m, nest);
	EXPECT_EQ(-EINVAL, nl_send(&db->nl, &m, NULL, 0));
	EXPECT_NE(NULL, strstr(db->nl.extack, "ACTION_CMD"));
	/* an action command that is not a bitmap action */
	db_msg(db, &m, DIRTYBIT_CMD_TRANSACTION);
	nest = db_nest(&m, DIRTYBIT_A_ACTIONS);
	{
		struct nlattr *one = db_nest(&m, DIRTYBIT_A_ACTION);

		db_put_u32(&m, DIRTYBIT_A_ACTION_CMD, DIRTYBIT_CMD_TARGET_DETACH);
		db_put_action(&m, "/dev/ram0", "b");
		db_nest_end(&m, one);
	}
	db_nest_end(&m, nest);
	EXPECT_EQ(-ERANGE, nl_send(&db->nl, &m, NULL, 0));	/* policy range */
	EXPECT_STRNE("", db->nl.extack);
}

static atomic_int writer_stop;

static void *writer_loop(void *arg)
{
	uint64_t seed = 42;

	(void)arg;
	while (!atomic_load(&writer_stop))
		if (write_direct("/dev/ram0", rnd(&seed) % (RAM_SIZE / 4096) * 4096, 4096, 9))
			return (void *)1;
	return NULL;
}

/* Unloading the module under I/O with targets and a freeze: clean. */
TEST_F(brd, rmmod_under_io_with_targets_attached)
{
	pthread_t t;
	void *ret;
	int i;

	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 4096, 0));
	ASSERT_LT(0, db_attach(&self->db, "/dev/ram1"));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram1", "b1", 0, 0));
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram1", "b1"));
	atomic_store(&writer_stop, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, writer_loop, NULL));
	usleep(100000);
	nl_close(&self->db.nl);
	/* The freeze's socket is gone; its reclaim may still be queued. */
	for (i = 0; i < 100 && dirtybit_unload() == -EAGAIN; i++)
		usleep(50000);
	EXPECT_FALSE(dirtybit_loaded());
	atomic_store(&writer_stop, 1);
	pthread_join(t, &ret);
	EXPECT_EQ(NULL, ret);
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, db_open(&self->db));
	EXPECT_EQ(-ENOENT, db_add(&self->db, "/dev/ram0", "b0", 0, 0));
}

/* debugfs dirtybit/objects' block_probes: how many are registered. */
static int block_probes(void)
{
	char objs[256];
	const char *p;

	dirtybit_objects(objs, sizeof(objs));
	p = strstr(objs, "block_probes ");
	return p ? atoi(p + strlen("block_probes ")) : -1;
}

#define PROBE_CYCLES 40
#define PROBES_BLK_MQ 1		/* request completion */
#define PROBES_ALL 6		/* and request issue and the bio probes, for a bio-based disk */
#define DELAYED "/dev/mapper/dirtybit-probes"
#define DELAYED_WRITERS 4

/* Writes held 10 ms each by dm-delay: some are always in flight. */
static void *delayed_writer(void *arg)
{
	uint64_t seed = (uintptr_t)arg;

	while (!atomic_load(&writer_stop))
		if (write_direct(DELAYED, rnd(&seed) % (RAM_SIZE / 4096) * 4096, 4096, 9))
			return (void *)1;
	return NULL;
}

/*
 * The block path pays for nothing while no block target is attached: the
 * probes come with the first attach and go with the last detach or
 * removal, and the bio probes only while a bio-based disk (brd) is
 * attached.  Attached again under writers whose bios a dm-delay device
 * keeps in flight across every unregister and register, a write made after
 * each attach is in the bitmap its freeze cuts (which drains the writes in
 * flight, so a slot leaked across a re-register would hold it up).  Each
 * of its 40 cycles waits for several RCU grace periods (unhook, probe
 * registration, the attach's queue freezes), which a loaded host stretches
 * (6.12's dm-delay kthread spins while it holds bios): 120 s, not 30.
 */
TEST_F_TIMEOUT(brd, block_probes_only_while_a_target_is_attached, 120)
{
	pthread_t writers[DELAYED_WRITERS];
	uint64_t seed = 7;
	char id[16], loop[32];
	void *ret;
	int i, nr;

	EXPECT_EQ(PROBES_ALL, block_probes());
	ASSERT_LT(0, db_attach(&self->db, "/dev/ram1"));
	EXPECT_EQ(0, db_detach(&self->db, "/dev/ram0"));
	EXPECT_EQ(PROBES_ALL, block_probes());
	EXPECT_EQ(0, db_detach(&self->db, "/dev/ram1"));
	EXPECT_EQ(0, block_probes());
	/* A loop device is blk-mq: its writes are marked as they complete. */
	nr = loop_attach("/dev/ram1", 0, loop);
	ASSERT_LE(0, nr);
	ASSERT_LT(0, db_attach(&self->db, loop));
	EXPECT_EQ(PROBES_BLK_MQ, block_probes());
	ASSERT_EQ(0, db_add(&self->db, loop, "b0", 4096, 0));
	ASSERT_EQ(0, write_direct(loop, MiB, 4096, 3));
	EXPECT_EQ(1, db_extents_in(&self->db, loop, "b0", MiB, 4096, ext, 4, NULL));
	ASSERT_LT(0, db_attach(&self->db, "/dev/ram0"));
	EXPECT_EQ(PROBES_ALL, block_probes());
	EXPECT_EQ(0, db_detach(&self->db, "/dev/ram0"));
	EXPECT_EQ(PROBES_BLK_MQ, block_probes());
	EXPECT_EQ(0, db_detach(&self->db, loop));
	loop_detach(nr);
	EXPECT_EQ(0, block_probes());

	ASSERT_EQ(0, sh("modprobe dm-delay && DM_DISABLE_UDEV=1 dmsetup create dirtybit-probes "
			"--table '0 %llu delay /dev/ram0 0 0 /dev/ram0 0 10'", RAM_SIZE / 512));
	atomic_store(&writer_stop, 0);
	for (i = 0; i < DELAYED_WRITERS; i++)
		ASSERT_EQ(0, pthread_create(&writers[i], NULL, delayed_writer,
					    (void *)(uintptr_t)(i + 1)));
	for (i = 0; i < PROBE_CYCLES; i++) {
		uint64_t off = rnd(&seed) % (RAM_SIZE / 4096) * 4096;

		ASSERT_LT(0, db_attach(&self->db, DELAYED)) TH_LOG("cycle %d", i);
		EXPECT_EQ(PROBES_ALL, block_probes());
		ASSERT_EQ(0, db_add(&self->db, DELAYED, "b0", 4096, 0));
		ASSERT_EQ(0, write_direct(DELAYED, off, 4096, 5));
		ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, DELAYED, "b0"));
		EXPECT_EQ(1, db_extents_in(&self->db, DELAYED, "b0", off, 4096, ext, 4, NULL))
			TH_LOG("cycle %d: the write at %llu is not in the bitmap", i,
			       (unsigned long long)off);
		ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_ABDICATE, DELAYED, "b0"));
		ASSERT_EQ(0, db_detach(&self->db, DELAYED));
		EXPECT_EQ(0, block_probes());
	}
	atomic_store(&writer_stop, 1);
	for (i = 0; i < DELAYED_WRITERS; i++) {
		pthread_join(writers[i], &ret);
		EXPECT_EQ(NULL, ret);
	}
	sh("DM_DISABLE_UDEV=1 dmsetup remove dirtybit-probes");

	/* A removed device's target keeps its bitmaps, not the probes. */
	self->id = db_attach(&self->db, "/dev/ram1");
	ASSERT_LT(0, self->id);
	EXPECT_EQ(PROBES_ALL, block_probes());
	ASSERT_EQ(0, sh("rmmod brd"));
	EXPECT_EQ(0, block_probes());
	snprintf(id, sizeof(id), "%d", self->id);
	EXPECT_EQ(DIRTYBIT_TARGET_GONE, db_target_state(&self->db, id));
	EXPECT_EQ(0, db_detach(&self->db, id));
	sh("modprobe brd rd_nr=2 rd_size=%llu", RAM_SIZE / KiB);
}

/*
 * A bitmap is allocated whole when it is added.  One that would need more
 * memory than the machine has is refused at once, with its reason, not
 * attempted until the allocator gives up (or the OOM killer steps in).
 */
TEST(bitmap_larger_than_memory_is_refused)
{
	const char *dev = "/dev/mapper/db-huge";
	struct db_bitmap_info bi;
	struct db db;

	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, sh("modprobe dm-zero"));
	/* 16 TiB of zeroes: at 512 bytes a granule, a 4 GiB bitmap. */
	ASSERT_EQ(0, sh("DM_DISABLE_UDEV=1 dmsetup create db-huge --table '0 %llu zero'",
			(16ULL << 40) / 512));
	ASSERT_EQ(0, db_open(&db));
	ASSERT_LT(0, db_attach(&db, dev)) TH_LOG("%s", db.nl.extack);
	EXPECT_EQ(-E2BIG, db_add(&db, dev, "fine", 512, 0));
	EXPECT_NE(NULL, strstr(db.nl.extack, "memory")) TH_LOG("%s", db.nl.extack);
	/* At 64 KiB a granule: 32 MiB. */
	EXPECT_EQ(0, db_add(&db, dev, "coarse", 0, 0)) TH_LOG("%s", db.nl.extack);
	EXPECT_EQ(0, db_info(&db, dev, "coarse", &bi));
	db_detach(&db, dev);
	nl_close(&db.nl);
	sh("DM_DISABLE_UDEV=1 dmsetup remove db-huge");
}

/* ---- a partitioned loop device ---------------------------------------------- */

#define LOOP_FILE	"/tmp/disk.img"
#define PART_START	(1 * MiB)
#define PART_SIZE	(32 * MiB)

/* A 48 MiB image with one MBR partition at 1 MiB, 32 MiB long; attached
 * to a free loop device with partition scanning.  Returns the loop number
 * and fills in the disk's and the partition's node paths.
 */
static int loop_setup(char disk[32], char part[32])
{
	unsigned char mbr[512] = { 0 };
	uint32_t lba = PART_START / 512, n = PART_SIZE / 512;
	int fd, nr;

	fd = open(LOOP_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 48 * MiB))
		return -1;
	mbr[446 + 4] = 0x83;			/* Linux */
	memcpy(&mbr[446 + 8], &lba, 4);
	memcpy(&mbr[446 + 12], &n, 4);
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	n = pwrite(fd, mbr, sizeof(mbr), 0) != sizeof(mbr);
	close(fd);
	if (n)
		return -1;
	nr = loop_attach(LOOP_FILE, LO_FLAGS_PARTSCAN, disk);
	if (nr < 0)
		return -1;
	snprintf(part, 32, "/dev/loop%dp1", nr);
	/* devtmpfs creates the partition node asynchronously */
	for (n = 0; n < 100 && access(part, F_OK); n++)
		usleep(20000);
	return access(part, F_OK) ? -1 : nr;
}

static void loop_teardown(int nr)
{
	loop_detach(nr);
	unlink(LOOP_FILE);
}

/*
 * A partition is a range of its disk: writes through the whole-disk node
 * inside the partition count at partition-relative offsets, writes outside
 * it do not; discards count; detaching the loop device makes it gone.
 */
TEST(partition_of_a_loop_device)
{
	char disk[32], part[32], idstr[16];
	struct db_bitmap_info bi;
	struct model m;
	struct db db;
	int nr, id;

	ASSERT_EQ(0, dirtybit_load());
	nr = loop_setup(disk, part);
	ASSERT_LE(0, nr);
	ASSERT_EQ(0, db_open(&db));
	id = db_attach(&db, part);
	ASSERT_LT(0, id) TH_LOG("%s", db.nl.extack);
	ASSERT_EQ(0, db_add(&db, part, "b", 4096, 0));
	model_init(&m, PART_SIZE, 4096);

	ASSERT_EQ(0, write_direct(part, 64 * KiB, 8 * KiB, 1));
	model_mark(&m, 64 * KiB, 8 * KiB);
	ASSERT_EQ(0, write_direct(disk, PART_START + 5 * MiB, 4 * KiB, 2));
	model_mark(&m, 5 * MiB, 4 * KiB);
	/* straddles the partition's start: only the inside part counts */
	ASSERT_EQ(0, write_direct(disk, PART_START - 4 * KiB, 12 * KiB, 3));
	model_mark(&m, 0, 8 * KiB);
	/* outside: before and after the partition */
	ASSERT_EQ(0, write_direct(disk, 512 * KiB, 4 * KiB, 4));
	ASSERT_EQ(0, write_direct(disk, PART_START + PART_SIZE + MiB, 4 * KiB, 5));
	ASSERT_EQ(0, blk_ioctl_range(part, BLKDISCARD, 10 * MiB, 2 * MiB));
	model_mark(&m, 10 * MiB, 2 * MiB);
	EXPECT_STREQ("", model_compare(&db, part, "b", &m) ?: "");
	ASSERT_EQ(0, db_info(&db, part, "b", &bi));
	EXPECT_EQ(model_count(&m), bi.count);

	/* losetup -d: the partition disappears, the target goes gone */
	loop_teardown(nr);
	snprintf(idstr, sizeof(idstr), "%d", id);
	EXPECT_EQ(DIRTYBIT_TARGET_GONE, db_target_state(&db, idstr));
	ASSERT_EQ(0, db_info(&db, idstr, "b", &bi));
	EXPECT_EQ(model_count(&m), bi.count);
	EXPECT_EQ(0, db_detach(&db, idstr));
	nl_close(&db.nl);
}

/*
 * The loop device grows under its targets (the image is extended and
 * LOOP_SET_CAPACITY): a write past the old end cannot be in bitmaps sized
 * at attach, so the whole disk's bitmaps turn inconsistent — no freeze, no
 * abdication of a freeze taken before, no new bitmap until re-attached —
 * while the partition, which did not change, keeps working.
 */
TEST(device_growth_makes_bitmaps_inconsistent)
{
	char disk[32], part[32];
	struct db_bitmap_info bi;
	struct db db;
	int nr, fd, disk_id;

	ASSERT_EQ(0, dirtybit_load());
	nr = loop_setup(disk, part);
	ASSERT_LE(0, nr);
	ASSERT_EQ(0, db_open(&db));
	disk_id = db_attach(&db, disk);
	ASSERT_LT(0, disk_id) TH_LOG("%s", db.nl.extack);
	ASSERT_LT(0, db_attach(&db, part)) TH_LOG("%s", db.nl.extack);
	ASSERT_EQ(0, db_add(&db, disk, "b", 4096, 0));
	ASSERT_EQ(0, db_add(&db, disk, "f", 4096, 0));
	ASSERT_EQ(0, db_add(&db, part, "p", 4096, 0));
	ASSERT_EQ(0, write_direct(disk, 2 * MiB, 4 * KiB, 1));
	ASSERT_EQ(0, db_bitmap(&db, DIRTYBIT_CMD_BITMAP_FREEZE, disk, "f"));

	/* 48 MiB -> 64 MiB, then a write at 56 MiB */
	fd = open(LOOP_FILE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 64 * MiB));
	close(fd);
	fd = open(disk, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, LOOP_SET_CAPACITY, 0));
	close(fd);
	ASSERT_EQ(0, write_direct(disk, 56 * MiB, 4 * KiB, 2));

	ASSERT_EQ(0, db_info(&db, disk, "b", &bi));
	EXPECT_EQ(DIRTYBIT_BITMAP_F_RECORDING | DIRTYBIT_BITMAP_F_INCONSISTENT, bi.flags);
	EXPECT_EQ(-EINVAL, db_bitmap(&db, DIRTYBIT_CMD_BITMAP_FREEZE, disk, "b"));
	EXPECT_NE(NULL, strstr(db.nl.extack, "inconsistent")) TH_LOG("%s", db.nl.extack);
	EXPECT_EQ(-EINVAL, db_bitmap(&db, DIRTYBIT_CMD_BITMAP_ABDICATE, disk, "f"));
	EXPECT_NE(NULL, strstr(db.nl.extack, "reclaim it")) TH_LOG("%s", db.nl.extack);
	EXPECT_EQ(0, db_bitmap(&db, DIRTYBIT_CMD_BITMAP_RECLAIM, disk, "f"));
	EXPECT_EQ(-EINVAL, db_add(&db, disk, "c", 4096, 0));
	EXPECT_NE(NULL, strstr(db.nl.extack, "changed size")) TH_LOG("%s", db.nl.extack);
	/* Its bits cannot be trusted, so they cannot be merged anywhere. */
	EXPECT_EQ(-EINVAL, db_merge(&db, part, "p", disk_id, "b"));
	EXPECT_NE(NULL, strstr(db.nl.extack, "inconsistent")) TH_LOG("%s", db.nl.extack);
	EXPECT_EQ(0, db_bitmap(&db, DIRTYBIT_CMD_BITMAP_REMOVE, disk, "b"));

	/* the partition did not change */
	ASSERT_EQ(0, db_info(&db, part, "p", &bi));
	EXPECT_EQ(DIRTYBIT_BITMAP_F_RECORDING, bi.flags);
	EXPECT_EQ(4 * KiB, bi.count);
	EXPECT_EQ(0, db_bitmap(&db, DIRTYBIT_CMD_BITMAP_FREEZE, part, "p"));
	EXPECT_EQ(0, db_bitmap(&db, DIRTYBIT_CMD_BITMAP_ABDICATE, part, "p"));

	/* attached again, the disk is tracked at its new size */
	EXPECT_EQ(0, db_detach(&db, disk));
	ASSERT_LT(0, db_attach(&db, disk)) TH_LOG("%s", db.nl.extack);
	ASSERT_EQ(0, db_add(&db, disk, "b", 4096, 0));
	ASSERT_EQ(0, write_direct(disk, 60 * MiB, 4 * KiB, 3));
	ASSERT_EQ(0, db_info(&db, disk, "b", &bi));
	EXPECT_EQ(DIRTYBIT_BITMAP_F_RECORDING, bi.flags);
	EXPECT_EQ(4 * KiB, bi.count);
	db_detach(&db, disk);
	db_detach(&db, part);
	nl_close(&db.nl);
	loop_teardown(nr);
}

/*
 * ABDICATE with a range (a backup that stopped part way): the frozen bits
 * inside it stay, with RANGE_ALL every granule of it; ranges past the end,
 * or on another command, are refused.
 */
TEST_F(brd, abdicate_keeps_a_range)
{
	struct db *db = &self->db;
	struct model m;

	model_init(&m, RAM_SIZE, 65536);
	ASSERT_EQ(0, db_add(db, "/dev/ram0", "b0", 0, 0));
	ASSERT_EQ(0, write_direct("/dev/ram0", 0, 64 * KiB, 1));
	ASSERT_EQ(0, write_direct("/dev/ram0", 4 * MiB, 64 * KiB, 1));
	ASSERT_EQ(0, write_direct("/dev/ram0", 12 * MiB, 128 * KiB, 1));
	ASSERT_EQ(0, db_bitmap(db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0"));
	ASSERT_EQ(0, write_direct("/dev/ram0", 8 * MiB, 4096, 2));
	EXPECT_REFUSED(-EINVAL, db_bitmap_range(db, DIRTYBIT_CMD_BITMAP_ABDICATE, "/dev/ram0", "b0",
						 RAM_SIZE + 1, ~0ULL, 0), "past the end");
	EXPECT_REFUSED(-EINVAL, db_bitmap_range(db, DIRTYBIT_CMD_BITMAP_ABDICATE, "/dev/ram0", "b0",
						 2, ~0ULL - 1, 0), "past the end");
	EXPECT_REFUSED(-EINVAL, db_bitmap_range(db, DIRTYBIT_CMD_BITMAP_RECLAIM, "/dev/ram0", "b0",
						 0, ~0ULL, 0), "Unsupported");
	/* Frozen bits from 4 MiB on stay; the one at 0 was copied. */
	ASSERT_EQ(0, db_bitmap_range(db, DIRTYBIT_CMD_BITMAP_ABDICATE, "/dev/ram0", "b0",
				     4 * MiB, ~0ULL, 0)) TH_LOG("%s", db->nl.extack);
	model_mark(&m, 4 * MiB, 64 * KiB);
	model_mark(&m, 8 * MiB, 4096);
	model_mark(&m, 12 * MiB, 128 * KiB);
	EXPECT_STREQ("", model_compare(db, "/dev/ram0", "b0", &m) ?: "");
	/* RANGE_ALL: every granule of [60M, 60M + 192K), clean or not. */
	ASSERT_EQ(0, db_bitmap(db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0"));
	ASSERT_EQ(0, db_bitmap_range(db, DIRTYBIT_CMD_BITMAP_ABDICATE, "/dev/ram0", "b0",
				     60 * MiB, 192 * KiB, 1)) TH_LOG("%s", db->nl.extack);
	model_clear(&m);
	model_mark(&m, 60 * MiB, 192 * KiB);
	EXPECT_STREQ("", model_compare(db, "/dev/ram0", "b0", &m) ?: "");
	free(m.bit);
}

/*
 * Passes under one freeze (FREEZE with NEXT_PASS): each next pass's frozen
 * bits are exactly the writes since the previous cut; ABDICATE leaves the
 * writes after the last cut, RECLAIM and a killed owner's reclaim give
 * back every pass's bits and every write since; a range ABDICATE keeps
 * inside it the bits of every pass.  Refused: not frozen, another socket.
 */
TEST_F(brd, next_pass_keeps_every_pass_until_the_freeze_ends)
{
	struct model all, pass, after;
	struct db *db = &self->db;
	struct db_bitmap_info bi;
	struct db other;
	int i, pipefd[2];
	pid_t pid;
	char c;

	model_init(&all, RAM_SIZE, 65536);
	model_init(&pass, RAM_SIZE, 65536);
	model_init(&after, RAM_SIZE, 65536);
	ASSERT_EQ(0, db_add(db, "/dev/ram0", "b0", 0, 0));
	EXPECT_REFUSED(-EINVAL, db_next_pass(db, "/dev/ram0", "b0"), "frozen before");
	ASSERT_EQ(0, write_direct("/dev/ram0", 0, 64 * KiB, 1));
	model_mark(&all, 0, 64 * KiB);
	ASSERT_EQ(0, db_bitmap(db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0"));
	/* Three passes, each with its own writes. */
	for (i = 1; i <= 3; i++) {
		model_clear(&pass);
		ASSERT_EQ(0, write_direct("/dev/ram0", i * 4 * MiB, 64 * KiB * i, i));
		model_mark(&pass, i * 4 * MiB, 64 * KiB * i);
		model_mark(&all, i * 4 * MiB, 64 * KiB * i);
		ASSERT_EQ(0, db_info(db, "/dev/ram0", "b0", &bi));
		EXPECT_EQ(64 * KiB * i, bi.successor_count);
		ASSERT_EQ(0, db_next_pass(db, "/dev/ram0", "b0")) TH_LOG("%s", db->nl.extack);
		EXPECT_STREQ("", model_compare(db, "/dev/ram0", "b0", &pass) ?: "");
		ASSERT_EQ(0, db_info(db, "/dev/ram0", "b0", &bi));
		EXPECT_EQ(DIRTYBIT_BITMAP_F_RECORDING | DIRTYBIT_BITMAP_F_FROZEN, bi.flags);
		EXPECT_EQ(0, bi.successor_count);
	}
	/*
	 * One cut of a bitmap per transaction when one is a next pass: a set
	 * still marked until the cut would be freed (or set aside) otherwise.
	 */
	{
		static const struct db_tx_action twice[] = {
			{ DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0" },
			{ DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0" },
		}, ended[] = {
			{ DIRTYBIT_CMD_BITMAP_ABDICATE, "/dev/ram0", "b0" },
			{ DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0" },
			{ DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0" },
		}, then_end[] = {
			{ DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0" },
			{ DIRTYBIT_CMD_BITMAP_RECLAIM, "/dev/ram0", "b0" },
		};
		static const int both[] = { 1, 1 }, last[] = { 0, 0, 1 }, first[] = { 1, 0 };

		EXPECT_REFUSED(-EINVAL, db_transaction_passes(db, twice, 2, both), "only freeze");
		EXPECT_REFUSED(-EINVAL, db_transaction_passes(db, ended, 3, last), "only freeze");
		EXPECT_REFUSED(-EINVAL, db_transaction_passes(db, then_end, 2, first),
			       "next pass in this");
		/* Nothing changed: the third pass's set, frozen. */
		EXPECT_STREQ("", model_compare(db, "/dev/ram0", "b0", &pass) ?: "");
	}
	ASSERT_EQ(0, write_direct("/dev/ram0", 40 * MiB, 4096, 9));
	model_mark(&all, 40 * MiB, 4096);
	model_mark(&after, 40 * MiB, 4096);
	/* Another socket may not take a pass. */
	ASSERT_EQ(0, db_open(&other));
	EXPECT_EQ(-EPERM, db_next_pass(&other, "/dev/ram0", "b0"));
	EXPECT_NE(NULL, strstr(other.nl.extack, "another socket")) TH_LOG("%s", other.nl.extack);
	nl_close(&other.nl);
	/* RECLAIM: every pass and every write since. */
	ASSERT_EQ(0, db_bitmap(db, DIRTYBIT_CMD_BITMAP_RECLAIM, "/dev/ram0", "b0"));
	EXPECT_STREQ("", model_compare(db, "/dev/ram0", "b0", &all) ?: "");

	/* ABDICATE after passes: the writes after the last cut only. */
	ASSERT_EQ(0, db_bitmap(db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0"));
	ASSERT_EQ(0, write_direct("/dev/ram0", 50 * MiB, 4096, 1));
	ASSERT_EQ(0, db_next_pass(db, "/dev/ram0", "b0"));
	ASSERT_EQ(0, db_next_pass(db, "/dev/ram0", "b0"));
	model_clear(&after);
	ASSERT_EQ(0, write_direct("/dev/ram0", 52 * MiB, 4096, 1));
	model_mark(&after, 52 * MiB, 4096);
	ASSERT_EQ(0, db_bitmap(db, DIRTYBIT_CMD_BITMAP_ABDICATE, "/dev/ram0", "b0"));
	EXPECT_STREQ("", model_compare(db, "/dev/ram0", "b0", &after) ?: "");

	/* A range ABDICATE keeps, inside it, the bits of every pass. */
	ASSERT_EQ(0, db_bitmap(db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0"));
	ASSERT_EQ(0, write_direct("/dev/ram0", 60 * MiB, 4096, 1));
	ASSERT_EQ(0, db_next_pass(db, "/dev/ram0", "b0"));
	ASSERT_EQ(0, write_direct("/dev/ram0", 61 * MiB, 4096, 1));
	ASSERT_EQ(0, db_next_pass(db, "/dev/ram0", "b0"));
	ASSERT_EQ(0, db_bitmap_range(db, DIRTYBIT_CMD_BITMAP_ABDICATE, "/dev/ram0", "b0",
				     56 * MiB, ~0ULL, 0)) TH_LOG("%s", db->nl.extack);
	model_clear(&after);	/* 52M: below the range, copied */
	model_mark(&after, 60 * MiB, 4096);
	model_mark(&after, 61 * MiB, 4096);
	EXPECT_STREQ("", model_compare(db, "/dev/ram0", "b0", &after) ?: "");

	/* A killed owner, passes in: the module reclaims them all. */
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct db agent;

		if (db_open(&agent) ||
		    db_bitmap(&agent, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b0") ||
		    write_direct("/dev/ram0", 33 * MiB, 4096, 5) ||
		    db_next_pass(&agent, "/dev/ram0", "b0") ||
		    write_direct("/dev/ram0", 34 * MiB, 4096, 5) ||
		    db_next_pass(&agent, "/dev/ram0", "b0") ||
		    write(pipefd[1], "f", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	model_mark(&after, 33 * MiB, 4096);
	model_mark(&after, 34 * MiB, 4096);
	ASSERT_EQ(0, write_direct("/dev/ram0", 35 * MiB, 4096, 5));
	model_mark(&after, 35 * MiB, 4096);
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, child_status(pid));
	EXPECT_TRUE(reclaimed(db, "b0"));
	EXPECT_STREQ("", model_compare(db, "/dev/ram0", "b0", &after) ?: "");
	free(all.bit);
	free(pass.bit);
	free(after.bit);
}

NEEDS_HARNESS_MAIN("dirtybit brd dm-mod dm-delay dm-zero loop", "dmsetup losetup truncate")
