// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's own fault injection under dirtybit's control operations
 * (the debug kernel of make check-debug: CONFIG_FAULT_INJECTION, which
 * gives fail-nth, with FAILSLAB and FAIL_PAGE_ALLOC).  fault_test fails the module's own
 * fault points; here /proc/thread-self/fail-nth fails the Nth allocation
 * the calling thread makes anywhere in the kernel (netlink and generic
 * netlink, the block layer, VFS, kobjects, the page allocator), N = 1, 2,
 * ... until the operation makes no more allocations.  After each failure
 * the operation returned an error and the module's objects and every
 * bitmap are as they were; or, when only the answer was lost (netlink
 * could not allocate the ack: -ENOBUFS), exactly as the operation leaves
 * them when it succeeds (then the test undoes it); and writes to both
 * disks, through whatever the failure may have left behind, change
 * nothing either.  Anything the kernel reports (WARN, KASAN, lockdep, a
 * leak at the end of the run) fails the run through the judge.
 *
 * SKIPs on a kernel without fail-nth (Debian's), like every case whose
 * prerequisite is missing.
 */
#include <fcntl.h>

#include "kselftest_harness.h"
#include "fault_ops.h"
#include "needs.h"

#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define MAX_POINTS	2000	/* allocations in one operation, kernel-wide */

static int write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n < 0 ? -errno : 0;
}

/*
 * The calling thread's fail-nth, opened once: opening it again while armed
 * would spend the count on the open's own allocations.
 */
static int fail_nth_fd = -1;

/* Arms the thread's fail-nth: its Nth allocation from now on fails. */
static int fail_nth_set(int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	return pwrite(fail_nth_fd, buf, len, 0) == len ? 0 : -errno;
}

/* What is left of the count: 0 once the failure was injected. */
static long fail_nth_left(void)
{
	char buf[16] = "";

	if (pread(fail_nth_fd, buf, sizeof(buf) - 1, 0) < 0)
		return -errno;
	return strtol(buf, NULL, 10);
}

/* The inject/verbose settings of failslab and fail_page_alloc. */
static int fail_attrs(int armed)
{
	static const char *const dirs[] = { "failslab", "fail_page_alloc" };
	char path[128];
	unsigned int i;
	int ret = 0;

	for (i = 0; i < 2; i++) {
		/* Sleeping allocations fail too (by default only atomic ones). */
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/ignore-gfp-wait", dirs[i]);
		ret = ret ?: write_file(path, armed ? "N" : "Y");
		/* One line per injected failure, no stack dump (the judge). */
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/verbose", dirs[i]);
		ret = ret ?: write_file(path, armed ? "1" : "2");
	}
	/* Single pages too, not only order >= 1 (user pages stay exempt). */
	return ret ?: write_file("/sys/kernel/debug/fail_page_alloc/min-order",
				 armed ? "0" : "1");
}

/* Marks the stretch where the judge expects allocation failure traces. */
static void kmsg(const char *line)
{
	write_file("/dev/kmsg", line);
}

/* An operation, and how to take back its effect when it succeeded. */
struct fop {
	const char *what;
	fault_op op;
	fault_op undo;	/* NULL: the operation changes nothing */
	bool makes_node;	/* it asks for a node under /dev (devtmpfs) */
};

#define NODE_LINE	"region node fr: "

/*
 * Snapshot @s with its node line as it is when the node is there.
 * device_add() ignores devtmpfs_create_node()'s -ENOMEM (6.1 and 6.12:
 * drivers/base/core.c): an allocation failed below that makes a region
 * whose node never appears (udev, from the uevent, would still make it),
 * and nothing tells the module.  Return: whether the node was missing.
 */
static bool node_as_made(char *s)
{
	char *line = strstr(s, NODE_LINE "0");

	if (line)
		line[strlen(NODE_LINE)] = '1';
	return line;
}

/*
 * Runs @f with the Nth allocation of the calling thread failing, N = 1, 2,
 * ... until one passes with the count not reached.  Returns how many
 * allocations failed it, or -1.
 */
static int walk(struct __test_metadata *_metadata, struct ctx *c, const struct fop *f,
		int *lost, int *nodeless)
{
	static char before[16384], done[16384], after[16384];
	int n, ret;
	long left;

	/*
	 * Once to warm up (the module keeps a spare log after a transaction,
	 * the kernel fills its caches), then the state the operation leaves
	 * when it works, and back.
	 */
	c->fd = -1;
	if (!f->op(c) && f->undo)
		f->undo(c);
	snapshot(c->db, before, sizeof(before));
	c->fd = -1;
	ret = f->op(c);
	EXPECT_EQ(0, ret) TH_LOG("%s: %d without injection: %s", f->what, ret, c->db->nl.extack);
	if (ret)
		return -1;
	snapshot(c->db, done, sizeof(done));
	if (f->undo)
		EXPECT_EQ(0, f->undo(c)) TH_LOG("%s: undo", f->what);
	snapshot(c->db, after, sizeof(after));
	EXPECT_STREQ(before, after) TH_LOG("%s: undo does not restore the state", f->what);
	if (strcmp(before, after))
		return -1;

	for (n = 1; n <= MAX_POINTS; n++) {
		c->fd = -1;
		if (fail_nth_set(n))
			break;
		ret = f->op(c);
		left = fail_nth_left();
		fail_nth_set(0);
		if (left > 0) {
			EXPECT_EQ(0, ret) TH_LOG("%s: failed with no fault injected: %s", f->what,
						 c->db->nl.extack);
			TH_LOG("%s: %d allocations, each failure clean", f->what, n - 1);
			if (!ret && f->undo)
				EXPECT_EQ(0, f->undo(c));
			return ret ? -1 : n - 1;
		}
		snapshot(c->db, after, sizeof(after));
		if (!ret && f->makes_node && strcmp(done, after) && node_as_made(after)) {
			TH_LOG("%s: allocation %d: done without its node (devtmpfs's failure, not reported to its caller)",
			       f->what, n);
			(*nodeless)++;
		}
		if (!ret || !strcmp(before, done)) {
			/* It worked despite the failure (the kernel had a
			 * fallback), or it changes nothing anyway: the state
			 * is what a success leaves.
			 */
			EXPECT_STREQ(done, after) TH_LOG("%s: allocation %d, %d, wrong state",
							 f->what, n, ret);
			if (!ret && f->undo)
				EXPECT_EQ(0, f->undo(c));
		} else if (!strcmp(after, done) && ret == -ENOBUFS) {
			/* Done, but netlink lost the answer. */
			(*lost)++;
			if (f->undo)
				EXPECT_EQ(0, f->undo(c));
		} else {
			EXPECT_STREQ(before, after)
				TH_LOG("%s: allocation %d failed the operation (%d) and changed state",
				       f->what, n, ret);
		}
		if (c->fd >= 0)
			close(c->fd);
		/*
		 * I/O through whatever the failure left behind (a stale entry
		 * of a failed attach in the block hash: KASAN on the debug
		 * kernel), to the fixture's ranges, dirty already: the state
		 * stays the same.
		 */
		EXPECT_EQ(0, std_writes()) TH_LOG("%s: writes after allocation %d", f->what, n);
		snapshot(c->db, after, sizeof(after));
		EXPECT_STREQ(before, after) TH_LOG("%s: after allocation %d", f->what, n);
		if (strcmp(before, after))
			return -1;
	}
	EXPECT_TRUE(0) TH_LOG("%s: more than %d allocations", f->what, MAX_POINTS);
	return -1;
}

static int op_detach_ram1(struct ctx *c)
{
	return db_detach(c->db, "/dev/ram1");
}

static int op_attach_ram1(struct ctx *c)
{
	return op_attach(c);
}

static int op_remove_new(struct ctx *c)
{
	return db_bitmap(c->db, DIRTYBIT_CMD_BITMAP_REMOVE, "/dev/ram0", "new");
}

static int op_info(struct ctx *c)
{
	struct db_bitmap_info bi;

	return db_info(c->db, "/dev/ram0", "b0", &bi);
}

static int op_extents(struct ctx *c)
{
	struct db_extent e[64];
	long n = db_extents(c->db, "/dev/ram0", "b0", e, 64, NULL);

	return n < 0 ? (int)n : 0;
}

/* The region "fr" goes, named by REGION_NAME: it may have no node. */
static int op_region_gone(struct ctx *c)
{
	struct nl_msg m;

	close(c->fd);
	c->fd = -1;
	db_msg(c->db, &m, DIRTYBIT_CMD_TARGET_DETACH);
	db_put_str(&m, DIRTYBIT_A_REGION_NAME, "fr");
	return nl_send(&c->db->nl, &m, NULL, 0);
}

static int op_close(struct ctx *c)
{
	close(c->fd);
	c->fd = -1;
	return 0;
}

FIXTURE(failnth) {
	struct db db;
	struct ctx c;
};

FIXTURE_SETUP(failnth)
{
	const char *step;

	/* The case SKIPs (a SKIP here would not stop it running). */
	if (access(FAIL_NTH, F_OK))
		return;
	fail_nth_fd = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fail_nth_fd);
	ASSERT_EQ(0, fail_attrs(1));
	step = fault_fixture_up(&self->c, &self->db, "");
	ASSERT_EQ(NULL, step) TH_LOG("fixture: %s", step);
	ASSERT_EQ(0, std_writes());
}

FIXTURE_TEARDOWN(failnth)
{
	if (access(FAIL_NTH, F_OK))
		return;
	fail_nth_set(0);
	close(fail_nth_fd);
	fail_attrs(0);
	kmsg("dirtybit-rig: injected-faults-end");
	fault_fixture_down(&self->db);
}

TEST_F_TIMEOUT(failnth, every_allocation_below_every_control_operation_fails_cleanly, 900)
{
	static const struct fop fops[] = {
		{ "attach", op_attach, op_detach_ram1, false },
		{ "add", op_add, op_remove_new, false },
		{ "info", op_info, NULL, false },
		{ "extents", op_extents, NULL, false },
		{ "target_get", op_target_get, NULL, false },
		{ "bitmap_read", op_bitmap_read, NULL, false },
		{ "freeze", op_freeze, op_reclaim, false },
		{ "region_create", op_region_create, op_region_gone, true },
	};
	static const struct fop after_attach[] = {
		{ "detach", op_detach_ram1, op_attach_ram1, false },
	};
	static const struct fop with_region[] = {
		{ "region_open", op_region_open, op_close, false },
	};
	int total = 0, lost = 0, nodeless = 0, n;
	unsigned int i;

	if (access(FAIL_NTH, F_OK))
		SKIP(return, "no " FAIL_NTH " (a kernel without CONFIG_FAULT_INJECTION; make check-debug has it)");
	kmsg("dirtybit-rig: injected-faults-begin");
	for (i = 0; i < ARRAY_SIZE(fops); i++) {
		n = walk(_metadata, &self->c, &fops[i], &lost, &nodeless);
		ASSERT_LE(0, n);
		total += n;
	}
	ASSERT_EQ(0, op_attach(&self->c));
	n = walk(_metadata, &self->c, &after_attach[0], &lost, &nodeless);
	ASSERT_LE(0, n);
	total += n;
	/* The region stays (it has a node) for the opens. */
	ASSERT_EQ(0, op_region_create(&self->c));
	op_close(&self->c);
	n = walk(_metadata, &self->c, &with_region[0], &lost, &nodeless);
	ASSERT_LE(0, n);
	total += n;
	kmsg("dirtybit-rig: injected-faults-end");
	EXPECT_EQ(0, op_region_gone(&self->c));
	TH_LOG("%d kernel allocations failed in turn; %d answers lost after success; %d regions made without their node",
	       total, lost, nodeless);
}

NEEDS_HARNESS_MAIN("dirtybit brd", "")
