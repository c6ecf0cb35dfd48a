// SPDX-License-Identifier: GPL-2.0
/*
 * The re-arm of a memory region at a cut against what else changes page
 * tables and writes pages behind them:
 *
 *  - mprotect() toggling the mapping while the cut write-protects it: a
 *    dirty PTE made writable again between a write-protect walk and a
 *    clean walk would stay writable and clean, and no later write would be
 *    recorded;
 *  - an O_DIRECT read into region memory still in flight at a cut: the
 *    device writes the page after the cut, behind the page tables (on 6.1
 *    the page is held by a plain reference, not a pin).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "kselftest_harness.h"
#include "held.h"
#include "needs.h"
#include "region.h"
#include "run.h"

#define NPAGES		64
#define SIZE		(NPAGES * PAGE)
#define ROUNDS		100
#define NMAPS		64

FIXTURE(rearm) {
	struct db db;
	unsigned int id;
	char target[16];
	int fd;
	unsigned char *map;
};

FIXTURE_SETUP(rearm)
{
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, db_open(&self->db));
	self->fd = region_create("rearm", SIZE, 0, &self->id);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s", strerror(-self->fd));
	snprintf(self->target, sizeof(self->target), "%u", self->id);
	ASSERT_EQ(0, db_add(&self->db, self->target, "b", 0, 0));
	self->map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

FIXTURE_TEARDOWN(rearm)
{
	munmap(self->map, SIZE);
	close(self->fd);
	db_detach(&self->db, self->target);
	nl_close(&self->db.nl);
}

/*
 * The other thread: at each round's go, mprotect(PROT_READ) at once, then
 * PROT_READ | PROT_WRITE after that round's delay, and nothing more until
 * the next round (a later PROT_READ would write-protect again what a race
 * left writable, and hide it).
 */
struct toggler {
	pthread_t thread;
	unsigned char *map;
	atomic_int round;	/* -1: exit */
	atomic_int done;
	unsigned int delay_us;
};

static void spin_us(unsigned int us)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 < us);
}

static void *toggler_main(void *arg)
{
	struct toggler *t = arg;
	int seen = 0, r;

	while ((r = atomic_load(&t->round)) >= 0) {
		if (r == seen)
			continue;
		seen = r;
		mprotect(t->map, SIZE, PROT_READ);
		spin_us(t->delay_us);
		mprotect(t->map, SIZE, PROT_READ | PROT_WRITE);
		atomic_store(&t->done, r);
	}
	return NULL;
}

/*
 * Every round: all pages written through every mapping (dirty, writable
 * PTEs), a cut while another thread makes the first mapping read-only and
 * then writable again some time into the cut (a little later each round),
 * then every page written again through it.  Those writes come after the
 * cut: all must be recorded.  The re-arm walks every mapping of the
 * region; with many, a cut spends long between two visits of the first
 * one, where a write-protect walk and a separate clean walk would leave
 * a PTE made writable in between clean and writable: unrecorded writes.
 */
TEST_F_TIMEOUT(rearm, mprotect_during_the_cut_loses_no_write, 900)
{
	static unsigned long dirty[NPAGES];
	struct toggler t = { .map = self->map };
	unsigned char *maps[NMAPS];
	long lost = 0, n;
	int round, p, m;

	maps[0] = self->map;
	for (m = 1; m < NMAPS; m++) {
		maps[m] = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
		ASSERT_NE(MAP_FAILED, maps[m]);
	}
	ASSERT_EQ(0, pthread_create(&t.thread, NULL, toggler_main, &t));
	for (round = 1; round <= ROUNDS; round++) {
		for (m = 0; m < NMAPS; m++)
			for (p = 0; p < NPAGES; p++)
				maps[m][p * PAGE] = round;
		t.delay_us = (round % 50) * 200;
		atomic_store(&t.round, round);
		ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_CLEAR, self->target, "b"));
		while (atomic_load(&t.done) != round)
			;
		for (p = 0; p < NPAGES; p++)
			self->map[p * PAGE + 1] = round;
		n = region_dirty(&self->db, self->target, "b", dirty, NPAGES);
		ASSERT_LE(0, n);
		if (n != NPAGES && lost++ < 5)
			TH_LOG("round %d (PROT_WRITE back after %u us): %ld of %d pages written after the cut are clean",
			       round, t.delay_us, NPAGES - n, NPAGES);
	}
	atomic_store(&t.round, -1);
	pthread_join(t.thread, NULL);
	for (m = 1; m < NMAPS; m++)
		munmap(maps[m], SIZE);
	TH_LOG("%d rounds, %ld of them lost writes", ROUNDS, lost);
	EXPECT_EQ(0, lost);
}

/*
 * An O_DIRECT read into region page 7 from a device that holds reads
 * until released; a cut while the read is in flight.  The data lands
 * after the cut, so page 7 must be dirty in the new epoch.
 */
TEST_F_TIMEOUT(rearm, o_direct_read_in_flight_at_a_cut, 120)
{
	unsigned long dirty[NPAGES];
	struct held_io r;
	int fd;
	long n;

	sh("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, sh("modprobe brd rd_nr=1 rd_size=16384 && modprobe dm-delay"));
	ASSERT_EQ(0, held_dm_create("db-slowread", "/dev/ram0", 32768, 1, 600000));
	fd = open("/dev/mapper/db-slowread", O_RDONLY | O_DIRECT);
	ASSERT_LE(0, fd);

	ASSERT_EQ(0, held_submit(&r, fd, 0, self->map + 7 * PAGE, PAGE, 0, 0));
	/* The read faulted page 7 in for writing: it is in this epoch. */
	n = region_dirty(&self->db, self->target, "b", dirty, NPAGES);
	EXPECT_EQ(1, n);
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_CLEAR, self->target, "b"));
	ASSERT_EQ(0, held_release("db-slowread"));
	ASSERT_EQ(0, held_wait(&r));
	n = region_dirty(&self->db, self->target, "b", dirty, NPAGES);
	ASSERT_LE(0, n);
	EXPECT_EQ(1, n) TH_LOG("the page the device wrote after the cut is clean");
	if (n == 1)
		EXPECT_EQ(7, dirty[0]);
	close(fd);
	held_dm_remove("db-slowread");
	sh("rmmod brd");
}

NEEDS_HARNESS_MAIN("dirtybit brd dm-mod dm-delay", "dmsetup")
