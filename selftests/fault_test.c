// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection, with dirtybit.ko loaded as fault_inject=Y (debugfs
 * dirtybit/fail_nth, see kmod/debug.c):
 *  - every fault point of every control operation (attach, each bitmap
 *    command, a transaction, a reply, the bulk read ioctl, region creation
 *    and opening) fails in turn, N = 1, 2, ... until the operation passes
 *    them all; after each failure the operation returned an error and the
 *    module's live objects and every bitmap (count, flags, extents) are
 *    exactly what they were;
 *  - every step of loading the module fails in turn and leaves nothing
 *    behind (the next load works);
 *  - where the marking path cannot account a write individually (no
 *    in-flight slot; a cut that stops waiting for earlier writes), the
 *    write is marked more widely, never lost;
 *  - a frozen bitmap holds the module: rmmod fails until the freeze ends,
 *    also when it ends because its agent died.
 */
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fault_ops.h"
#include "needs.h"

#define MAX_POINTS	200	/* more fault points in one operation is a bug */

static struct db_extent ext[16];

static long knob(const char *name)
{
	char path[128], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), DIRTYBIT_DEBUGFS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtol(buf, NULL, 10);
}

static int knob_set(const char *name, long value)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), DIRTYBIT_DEBUGFS "%s", name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", value) < 0;
	return fclose(f) || ret ? -EIO : 0;
}

/*
 * Runs @op with its Nth fault point failing, N = 1, 2, ..., until it passes
 * them all (then it must succeed); returns how many points it has.
 */
static int walk(struct __test_metadata *_metadata, struct ctx *c, const char *what,
		fault_op op)
{
	static char before[16384], after[16384];
	int n, ret;
	long left;

	for (n = 1; n <= MAX_POINTS; n++) {
		snapshot(c->db, before, sizeof(before));
		c->fd = -1;
		if (knob_set("fail_nth", n))
			break;
		ret = op(c);
		left = knob("fail_nth");
		knob_set("fail_nth", 0);
		if (left > 0) {
			EXPECT_EQ(0, ret) TH_LOG("%s: failed with no fault injected: %s", what,
						 c->db->nl.extack);
			TH_LOG("%s: %d fault points, each failed cleanly", what, n - 1);
			return n - 1;
		}
		EXPECT_GT(0, ret) TH_LOG("%s: fault point %d did not fail the operation", what, n);
		if (ret >= 0)
			return -1;
		snapshot(c->db, after, sizeof(after));
		EXPECT_STREQ(before, after) TH_LOG("%s: fault point %d changed state", what, n);
		if (strcmp(before, after))
			return -1;
	}
	EXPECT_TRUE(0) TH_LOG("%s: more than %d fault points", what, MAX_POINTS);
	return -1;
}

FIXTURE(faults) {
	struct db db;
	struct ctx c;
};

FIXTURE_SETUP(faults)
{
	const char *step = fault_fixture_up(&self->c, &self->db, "fault_inject=1");

	ASSERT_EQ(NULL, step) TH_LOG("fixture: %s", step);
	ASSERT_EQ(0, access(DIRTYBIT_DEBUGFS "fail_nth", W_OK));
}

FIXTURE_TEARDOWN(faults)
{
	knob_set("fail_nth", 0);
	db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_RECLAIM, "/dev/ram0", "b0");
	fault_fixture_down(&self->db);
}

TEST_F(faults, every_fault_point_of_every_control_operation_unwinds)
{
	struct ctx *c = &self->c;
	int total = 0, n;

	ASSERT_EQ(0, std_writes());
#define WALK(op) do {						\
		n = walk(_metadata, c, #op, op);		\
		ASSERT_LE(0, n);				\
		total += n;					\
	} while (0)
	WALK(op_attach);
	ASSERT_EQ(0, std_writes());
	WALK(op_add);
	WALK(op_target_get);
	WALK(op_bitmap_read);
	WALK(op_merge);
	WALK(op_clear);
	ASSERT_EQ(0, std_writes());
	WALK(op_freeze);
	WALK(op_reclaim);
	ASSERT_EQ(0, op_freeze(c));
	ASSERT_EQ(0, std_writes());
	WALK(op_next_pass);
	ASSERT_EQ(0, std_writes());
	WALK(op_abdicate);
	WALK(op_transaction);
	ASSERT_EQ(0, op_reclaim(c));
	WALK(op_remove);
	WALK(op_region_create);
	close(c->fd);
	WALK(op_region_open);
	close(c->fd);
	EXPECT_EQ(0, db_detach(&self->db, "/dev/dirtybit-regions/fr"));
#undef WALK
	TH_LOG("%d fault points in all, each failed once; faults injected: %ld",
	       total, knob("faults"));
	EXPECT_EQ(total, knob("faults"));
}

/* A write the in-flight table cannot take goes to the carry set. */
TEST_F(faults, write_without_a_slot_is_marked_in_every_later_epoch)
{
	struct db_bitmap_info bi;
	long n;

	ASSERT_EQ(0, knob_set("fail_nth", 1));
	ASSERT_EQ(0, write_direct("/dev/ram0", 8 * MiB, 4096, 7));
	EXPECT_EQ(0, knob("fail_nth"));
	knob_set("fail_nth", 0);
	ASSERT_EQ(0, db_info(&self->db, "/dev/ram0", "b0", &bi));
	/*
	 * brd is bio-based: a write completing there without a slot cannot be
	 * told from one queued before the attach, so it also marks the whole
	 * target in the epoch it completes in (more, never less).
	 */
	EXPECT_EQ(RAM_SIZE, bi.count);
	/* Two cuts later the write is still there, and in a new bitmap. */
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_CLEAR, "/dev/ram0", "b0"));
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_CLEAR, "/dev/ram0", "b0"));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "new", 0, 0));
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_CLEAR, "/dev/ram0", "b1"));
	n = db_extents(&self->db, "/dev/ram0", "b0", ext, 4, NULL);
	ASSERT_EQ(1, n);
	EXPECT_EQ(8 * MiB, ext[0].start);
	n = db_extents(&self->db, "/dev/ram0", "b1", ext, 4, NULL);
	ASSERT_EQ(1, n);
	EXPECT_EQ(8 * MiB, ext[0].start);
	EXPECT_EQ(65536, ext[0].length);	/* the carry set's granularity */
	n = db_extents(&self->db, "/dev/ram0", "new", ext, 4, NULL);
	EXPECT_EQ(1, n);
}

/*
 * A write in flight at a cut, the cut made to stop waiting for it (as a
 * drain_timeout would): the write is marked in the new epoch too.  The
 * write sits in dm-delay for 10 s, far longer than the cut takes.
 */
static void *slow_write(void *dev)
{
	return (void *)(intptr_t)write_direct(dev, 1 * MiB, 4096, 9);
}

TEST_F(faults, cut_that_stops_waiting_marks_the_write_in_the_new_epoch)
{
	struct db_bitmap_info bi;
	pthread_t th;
	void *wret;
	int n, ret = -1, deadline;
	long left = -1;

	ASSERT_EQ(0, sh(DMSETUP " create dbfault --table "
			"'0 131072 delay /dev/ram1 0 0 /dev/ram1 0 10000'"));
	ASSERT_LT(0, db_attach(&self->db, "/dev/mapper/dbfault"));
	ASSERT_EQ(0, db_add(&self->db, "/dev/mapper/dbfault", "d", 0, 0));
	ASSERT_EQ(0, pthread_create(&th, NULL, slow_write, "/dev/mapper/dbfault"));
	/* Marked as it is queued; it completes 10 s later. */
	for (deadline = 0; deadline < 500; deadline++) {
		if (!db_info(&self->db, "/dev/mapper/dbfault", "d", &bi) && bi.count)
			break;
		usleep(10000);
	}
	ASSERT_EQ(65536, bi.count);
	/* The allocations of a CLEAR fail first; the next point is the drain. */
	for (n = 1; n <= MAX_POINTS; n++) {
		ASSERT_EQ(0, knob_set("fail_nth", n));
		ret = db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_CLEAR, "/dev/mapper/dbfault", "d");
		left = knob("fail_nth");
		knob_set("fail_nth", 0);
		if (!ret)
			break;
	}
	ASSERT_EQ(0, ret);
	EXPECT_EQ(0, left) TH_LOG("the drain's fault point was not reached");
	ASSERT_EQ(0, db_info(&self->db, "/dev/mapper/dbfault", "d", &bi));
	EXPECT_EQ(65536, bi.count);
	ASSERT_EQ(1, db_extents(&self->db, "/dev/mapper/dbfault", "d", ext, 4, NULL));
	EXPECT_EQ(1 * MiB, ext[0].start);
	pthread_join(th, &wret);
	EXPECT_EQ(0, (intptr_t)wret);
	EXPECT_EQ(0, db_detach(&self->db, "/dev/mapper/dbfault"));
	sh(DMSETUP " remove dbfault");
}

/* rmmod while a bitmap is frozen: refused, until the freeze ends. */
TEST_F(faults, frozen_bitmap_holds_the_module)
{
	struct db_bitmap_info bi;
	pid_t pid;
	int status, i;

	ASSERT_EQ(0, std_writes());
	ASSERT_EQ(0, op_freeze(&self->c));
	EXPECT_EQ(-EWOULDBLOCK, dirtybit_unload());
	ASSERT_TRUE(dirtybit_loaded());
	ASSERT_EQ(0, op_reclaim(&self->c));
	ASSERT_EQ(0, db_info(&self->db, "/dev/ram0", "b0", &bi));
	EXPECT_EQ(458752, bi.count);

	/* An agent that dies holding a freeze: the reclaim lets the module go. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct db agent;

		if (db_open(&agent) ||
		    db_bitmap(&agent, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/ram0", "b1"))
			_exit(1);
		_exit(dirtybit_unload() == -EWOULDBLOCK ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	for (i = 0; i < 500; i++) {
		if (!db_info(&self->db, "/dev/ram0", "b1", &bi) &&
		    !(bi.flags & DIRTYBIT_BITMAP_F_FROZEN))
			break;
		usleep(10000);
	}
	EXPECT_EQ(0, bi.flags & DIRTYBIT_BITMAP_F_FROZEN);
	EXPECT_EQ(4096 + 256 * KiB + 64 * KiB, bi.count);
	EXPECT_EQ(0, db_detach(&self->db, "/dev/ram0"));
	nl_close(&self->db.nl);
	EXPECT_EQ(0, dirtybit_unload());
}

/* Each step of the init ladder fails in turn; then a plain load works. */
TEST(every_step_of_loading_unwinds)
{
	char params[64];
	struct db db;
	int n, ret;
	long left = 0;

	ASSERT_EQ(0, dirtybit_unload());
	for (n = 1; n <= MAX_POINTS; n++) {
		snprintf(params, sizeof(params), "fault_inject=1 fail_load_nth=%d", n);
		ret = dirtybit_load_params(params);
		if (!ret) {
			left = knob("fail_nth");
			knob_set("fail_nth", 0);
			ASSERT_EQ(0, dirtybit_unload());
			if (left > 0)
				break;
			continue;
		}
		EXPECT_FALSE(dirtybit_loaded());
		EXPECT_NE(0, access("/dev/dirtybit", F_OK)) TH_LOG("step %d left the node", n);
		EXPECT_NE(0, access("/sys/class/dirtybit-region", F_OK))
			TH_LOG("step %d left the class", n);
		EXPECT_NE(0, access("/sys/kernel/debug/dirtybit", F_OK))
			TH_LOG("step %d left debugfs", n);
	}
	ASSERT_LT(0, left);
	TH_LOG("loading has %d fault points, each unwound", n - 1);
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, db_open(&db));
	EXPECT_EQ(-ENOENT, db_detach(&db, "1"));
	nl_close(&db.nl);
	ASSERT_EQ(0, dirtybit_unload());
}

NEEDS_HARNESS_MAIN("dirtybit brd dm-mod", "dmsetup")
