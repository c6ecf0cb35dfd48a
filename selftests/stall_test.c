// SPDX-License-Identifier: GPL-2.0
/*
 * No wait on one target stalls anything else.  Two waits that can last:
 *  - a cut draining a write the device holds (dm-delay, released on cue);
 *  - a region's writer hold waiting for a write() whose source buffer
 *    faults for as long as its userfaultfd leaves it (as a FUSE mapping
 *    can).
 * While each is pending, commands on other targets, the generic netlink
 * controller (other families) and the removal of another tracked disk
 * must all go through.  The pending wait ends only when the test lets it:
 * each check is an order of events, not a duration.
 */
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "held.h"
#include "needs.h"
#include "region.h"
#include "run.h"

#define RAM_SECTORS	32768

/* What must still go through while a wait on another target is pending. */
static void others_go_through(struct __test_metadata *_metadata, struct db *db,
			      atomic_int *pending)
{
	struct db_bitmap_info bi;
	struct nl ctrl;

	EXPECT_EQ(0, db_bitmap(db, DIRTYBIT_CMD_BITMAP_CLEAR, "/dev/ram1", "b"))
		TH_LOG("%s", db->nl.extack);
	EXPECT_EQ(0, db_add(db, "/dev/ram1", "c", 0, 0)) TH_LOG("%s", db->nl.extack);
	EXPECT_EQ(0, db_info(db, "/dev/ram1", "c", &bi));
	EXPECT_EQ(0, db_bitmap(db, DIRTYBIT_CMD_BITMAP_REMOVE, "/dev/ram1", "c"));
	/* Another family's lookup, through the controller. */
	ASSERT_EQ(0, nl_open(&ctrl));
	EXPECT_LT(0, nl_family(&ctrl, "nlctrl"));
	nl_close(&ctrl);
	/* A tracked disk goes away (its target becomes gone). */
	EXPECT_EQ(0, sh(DMSETUP " remove db-other"));
	EXPECT_EQ(1, atomic_load(pending)) TH_LOG("the wait ended before the checks");
}

FIXTURE(stall) {
	struct db db;
};

FIXTURE_SETUP(stall)
{
	ASSERT_EQ(0, dirtybit_load());
	/* What a case that timed out (and so skipped its teardown) left. */
	ASSERT_EQ(0, db_open(&self->db));
	db_detach(&self->db, "/dev/mapper/db-slow");
	db_detach(&self->db, "/dev/mapper/db-other");
	db_detach(&self->db, "/dev/ram1");
	nl_close(&self->db.nl);
	held_dm_remove("db-other");
	held_dm_remove("db-slow");
	sh("echo 30 > /sys/module/dirtybit/parameters/drain_timeout");
	sh("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, sh("modprobe brd rd_nr=2 rd_size=16384 && modprobe dm-delay"));
	ASSERT_EQ(0, db_open(&self->db));
	ASSERT_LT(0, db_attach(&self->db, "/dev/ram1"));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram1", "b", 0, 0));
	ASSERT_EQ(0, sh(DMSETUP " create db-other --table '0 8192 linear /dev/ram1 8192'"));
	ASSERT_LT(0, db_attach(&self->db, "/dev/mapper/db-other"));
}

FIXTURE_TEARDOWN(stall)
{
	db_detach(&self->db, "/dev/mapper/db-slow");
	db_detach(&self->db, "/dev/ram1");
	nl_close(&self->db.nl);
	held_dm_remove("db-other");
	held_dm_remove("db-slow");
	sh("rmmod brd");
}

struct pending_cmd {
	pthread_t thread;
	int cmd;
	const char *target;
	atomic_int pending;
	int ret;
};

static void *clear_main(void *arg)
{
	struct pending_cmd *p = arg;
	struct db db;

	p->ret = db_open(&db);
	if (!p->ret) {
		p->ret = db_bitmap(&db, p->cmd, p->target, "b");
		nl_close(&db.nl);
	}
	atomic_store(&p->pending, 0);
	return NULL;
}

/* ---- a writer hold waiting for a write() stuck on its source ------------- */

struct stuck_write {
	pthread_t thread;
	int fd;
	void *src;
	ssize_t ret;
};

static void *stuck_write_main(void *arg)
{
	struct stuck_write *s = arg;

	s->ret = pwrite(s->fd, s->src, PAGE, 0);
	return NULL;
}

struct pending_hold {
	pthread_t thread;
	int fd;
	atomic_int pending;
	int ret;
};

static void *hold_main(void *arg)
{
	struct pending_hold *h = arg;

	h->ret = region_hold(h->fd);
	atomic_store(&h->pending, 0);
	return NULL;
}

/* Waits until the userfaultfd reports the fault of the stuck write. */
static int uffd_wait_fault(int uffd)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&pfd, 1, -1) != 1 || read(uffd, &msg, sizeof(msg)) != sizeof(msg))
		return -1;
	return msg.event == UFFD_EVENT_PAGEFAULT ? 0 : -1;
}

TEST_F_TIMEOUT(stall, a_hold_waiting_for_a_stuck_write_holds_up_nothing, 180)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct uffdio_zeropage zero;
	struct pending_hold h;
	struct stuck_write s;
	static unsigned int id;		/* static: the harness longjmps */
	int uffd, fd;
	void *src;

	fd = region_create("stall", 16 * PAGE, 0, &id);
	ASSERT_LE(0, fd);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	src = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, src);
	reg.range.start = (unsigned long)src;
	reg.range.len = PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	/* write() from a page nobody provides: it waits in the fault. */
	s.fd = fd;
	s.src = src;
	ASSERT_EQ(0, pthread_create(&s.thread, NULL, stuck_write_main, &s));
	ASSERT_EQ(0, uffd_wait_fault(uffd));
	/* The hold waits for that write. */
	h.fd = fd;
	atomic_store(&h.pending, 1);
	ASSERT_EQ(0, pthread_create(&h.thread, NULL, hold_main, &h));
	usleep(500000);

	others_go_through(_metadata, &self->db, &h.pending);

	zero.range.start = (unsigned long)src;
	zero.range.len = PAGE;
	zero.mode = 0;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &zero));
	pthread_join(s.thread, NULL);
	EXPECT_EQ(PAGE, s.ret);
	pthread_join(h.thread, NULL);
	EXPECT_EQ(0, h.ret);
	EXPECT_EQ(0, region_release(fd));
	close(uffd);
	close(fd);
	{
		char target[16];

		snprintf(target, sizeof(target), "%u", id);
		db_detach(&self->db, target);
	}
}

TEST_F_TIMEOUT(stall, a_draining_cut_holds_up_no_other_target, 180)
{
	const char *slow = "/dev/mapper/db-slow";
	struct pending_cmd p = { .cmd = DIRTYBIT_CMD_BITMAP_CLEAR, .target = slow };
	struct held_io w;
	int fd;

	ASSERT_EQ(0, held_dm_create("db-slow", "/dev/ram0", RAM_SECTORS, 0, 600000));
	ASSERT_LT(0, db_attach(&self->db, slow));
	ASSERT_EQ(0, db_add(&self->db, slow, "b", 0, 0));
	ASSERT_EQ(0, sh("echo 600 > /sys/module/dirtybit/parameters/drain_timeout"));
	fd = open(slow, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, held_write_block(&w, fd, 5, 1));
	atomic_store(&p.pending, 1);
	ASSERT_EQ(0, pthread_create(&p.thread, NULL, clear_main, &p));
	/* Let the clear reach its drain (it cannot finish before the release). */
	usleep(500000);

	others_go_through(_metadata, &self->db, &p.pending);

	ASSERT_EQ(0, held_release("db-slow"));
	pthread_join(p.thread, NULL);
	EXPECT_EQ(0, p.ret);
	EXPECT_EQ(0, held_wait(&w));
	close(fd);
	sh("echo 30 > /sys/module/dirtybit/parameters/drain_timeout");
}

NEEDS_HARNESS_MAIN("dirtybit brd dm-mod dm-delay", "dmsetup")
