// SPDX-License-Identifier: GPL-2.0
/*
 * The exact cut, proven the way a backup agent depends on it: writers keep
 * writing versioned blocks to a virtio disk while an agent takes a full copy
 * and then many incrementals (freeze, copy the frozen extents, abdicate).
 * The disk's queue is made 4 requests deep, so most writes wait for a tag
 * after they were marked: the window a cut must close is wide open.
 * After the writers stop and a last incremental is taken, the copy must
 * equal the disk byte for byte.  A write that was in flight at a cut and
 * missed by both epochs shows up as a stale block.
 *
 * Loaded with the module parameter cut_drain=0 the cut does not wait for
 * earlier writes; DIRTYBIT_EXPECT_LOSS=1 does that and expects the loss
 * (run by hand: tools/vm/run --tests cut_test with that environment).
 * Whether a racing write straddles a cut is luck, so the loss is proven
 * deterministically by the "held" cases: a dm-delay device holds one write
 * for seconds, and a cut without the drain loses it every time.
 *
 * The "among_bitmaps" variants run the same with three more recording
 * bitmaps (512 B, 64 KiB, 4 KiB): writes are then marked once into the
 * target's log and folded into each bitmap at reads and cuts, and the
 * backup chain must be as exact; the other bitmaps, never cut, must hold
 * exactly the blocks written.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "db.h"
#include "held.h"
#include "needs.h"
#include "run.h"

#define DISK		"/dev/vda"
#define AREA		(64 << 20)
#define BLOCK		4096
#define NBLOCKS		(AREA / BLOCK)
#define WRITERS		8
#define ROUNDS		20

struct shared {
	atomic_int stop;
	atomic_ulong version;
	atomic_ulong writes;
	atomic_uchar written[NBLOCKS];
};

/* Recording beside "backup" in the among_bitmaps variants. */
static const struct {
	const char *name;
	unsigned int granularity;
} others[] = { { "fine", 512 }, { "coarse", 65536 }, { "same", BLOCK } };

struct writer {
	pthread_t thread;
	struct shared *sh;
	unsigned int seed;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	unsigned char *buf;
	int fd = open(DISK, O_WRONLY | O_DIRECT);

	if (fd < 0 || posix_memalign((void **)&buf, BLOCK, 256 * BLOCK))
		return (void *)1;
	while (!atomic_load(&w->sh->stop)) {
		unsigned long n = rand_r(&w->seed) % 4 + 1;
		unsigned long b = rand_r(&w->seed) % (NBLOCKS - n);
		unsigned long v = atomic_fetch_add(&w->sh->version, 1) + 1;
		unsigned long i;

		for (i = 0; i < n; i++) {
			held_fill(buf + i * BLOCK, b + i, v);
			atomic_store(&w->sh->written[b + i], 1);
		}
		if (pwrite(fd, buf, n * BLOCK, b * BLOCK) != (ssize_t)(n * BLOCK))
			return (void *)2;
		atomic_fetch_add(&w->sh->writes, 1);
	}
	close(fd);
	free(buf);
	return NULL;
}

static int copy_range(int fd, unsigned char *copy, uint64_t start, uint64_t len)
{
	if (start >= AREA)
		return 0;
	if (start + len > AREA)
		len = AREA - start;
	return pread(fd, copy + start, len, start) == (ssize_t)len ? 0 : -errno;
}

static struct db_extent ext[NBLOCKS];

/*
 * One incremental: freeze, copy the frozen extents, abdicate.  With @stop,
 * the writers are told to stop right after the freeze: the writes in
 * flight at this cut are then the last ones to their blocks, so one the
 * cut misses stays stale.
 */
static int incremental(struct db *db, int fd, unsigned char *copy, long *copied,
		       atomic_int *stop)
{
	long n, i;
	int ret;

	ret = db_bitmap(db, DIRTYBIT_CMD_BITMAP_FREEZE, DISK, "backup");
	if (stop)
		atomic_store(stop, 1);
	if (ret)
		return ret;
	n = db_extents(db, DISK, "backup", ext, NBLOCKS, NULL);
	if (n < 0 || n > NBLOCKS)
		return n < 0 ? n : -E2BIG;
	for (i = 0; i < n; i++) {
		ret = copy_range(fd, copy, ext[i].start, ext[i].length);
		if (ret)
			return ret;
		*copied += ext[i].length;
	}
	return db_bitmap(db, DIRTYBIT_CMD_BITMAP_ABDICATE, DISK, "backup");
}

FIXTURE(cut) {
	int unused;
};

FIXTURE_VARIANT(cut) {
	bool others;
};

FIXTURE_VARIANT_ADD(cut, alone) {
	.others = false,
};

FIXTURE_VARIANT_ADD(cut, among_bitmaps) {
	.others = true,
};

/*
 * Every block written is in bitmap @name (granularity @g) and every
 * granule it holds has a written block: the count of granules off, or
 * -errno.
 */
static long compare_written(struct db *db, const char *name, unsigned int g,
			    const struct shared *sh)
{
	static unsigned char covered[NBLOCKS];
	long n, i, off = 0;
	uint64_t b;

	memset(covered, 0, sizeof(covered));
	n = db_extents_in(db, DISK, name, 0, AREA, ext, NBLOCKS, NULL);
	if (n < 0 || n > NBLOCKS)
		return n < 0 ? n : -E2BIG;
	for (i = 0; i < n; i++)
		for (b = ext[i].start / BLOCK; b * BLOCK < ext[i].start + ext[i].length &&
		     b < NBLOCKS; b++)
			covered[b] = 1;
	for (b = 0; b < NBLOCKS; b += g > BLOCK ? g / BLOCK : 1) {
		unsigned int k, per = g > BLOCK ? g / BLOCK : 1, any = 0;

		for (k = 0; k < per; k++)
			any |= atomic_load(&sh->written[b + k]);
		if (covered[b] != any)
			off++;
		for (k = 1; k < per; k++)
			if (covered[b + k] != covered[b])
				off++;
	}
	return off;
}

FIXTURE_SETUP(cut)
{
}

FIXTURE_TEARDOWN(cut)
{
}

/* Several hundred thousand writes under TCG: minutes, not seconds. */
TEST_F_TIMEOUT(cut, incremental_chain_under_concurrent_writers_is_exact, 600)
{
	int expect_loss = getenv("DIRTYBIT_EXPECT_LOSS") != NULL;
	struct writer w[WRITERS];
	struct shared state = { 0 };
	unsigned char *copy, *disk;
	long copied = 0, stale = 0;
	struct db db;
	int fd, i, r;

	ASSERT_EQ(0, dirtybit_reload(expect_loss ? "cut_drain=0" : ""));
	ASSERT_EQ(0, sh("echo 4 > /sys/block/vda/queue/nr_requests"));
	ASSERT_EQ(0, db_open(&db));
	ASSERT_LT(0, db_attach(&db, DISK)) TH_LOG("%s", db.nl.extack);
	ASSERT_EQ(0, db_add(&db, DISK, "backup", BLOCK, 0));
	for (i = 0; variant->others && i < (int)ARRAY_SIZE(others); i++)
		ASSERT_EQ(0, db_add(&db, DISK, others[i].name, others[i].granularity, 0));
	ASSERT_EQ(0, posix_memalign((void **)&copy, BLOCK, AREA));
	ASSERT_EQ(0, posix_memalign((void **)&disk, BLOCK, AREA));
	fd = open(DISK, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, fd);

	for (i = 0; i < WRITERS; i++) {
		w[i].sh = &state;
		w[i].seed = 1000 + i;
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL, writer_main, &w[i]));
	}
	/* The full copy: the bitmap already records writes made during it. */
	ASSERT_EQ(0, copy_range(fd, copy, 0, AREA));
	for (r = 0; r < ROUNDS; r++)
		ASSERT_EQ(0, incremental(&db, fd, copy, &copied,
					 r == ROUNDS - 1 ? &state.stop : NULL))
			TH_LOG("%s", db.nl.extack);
	for (i = 0; i < WRITERS; i++) {
		void *ret;

		pthread_join(w[i].thread, &ret);
		EXPECT_EQ(NULL, ret);
	}
	ASSERT_EQ(0, incremental(&db, fd, copy, &copied, NULL));

	ASSERT_EQ(0, copy_range(fd, disk, 0, AREA));
	for (i = 0; i < NBLOCKS; i++)
		if (memcmp(copy + (long)i * BLOCK, disk + (long)i * BLOCK, BLOCK))
			stale++;
	TH_LOG("%lu writes, %d incrementals copying %ld KiB, %ld stale blocks",
	       atomic_load(&state.writes), ROUNDS + 1, copied / 1024, stale);
	EXPECT_LT(0, atomic_load(&state.writes));
	if (expect_loss) {
		EXPECT_LT(0, stale) TH_LOG("no write was lost without the drain this time");
	} else {
		EXPECT_EQ(0, stale);
	}
	for (i = 0; variant->others && i < (int)ARRAY_SIZE(others); i++)
		EXPECT_EQ(0, compare_written(&db, others[i].name, others[i].granularity, &state))
			TH_LOG("bitmap %s", others[i].name);

	close(fd);
	db_detach(&db, DISK);
	nl_close(&db.nl);
	dirtybit_reload("");
	free(copy);
	free(disk);
}

/* ---- one write held in flight across a cut -------------------------------- */

#define HELD_DEV	"/dev/mapper/dirtybit-held"
#define HELD_BLOCKNO	100
#define HELD_DELAY_MS	5000

FIXTURE(held) {
	struct db db;
	int fd;
};

FIXTURE_VARIANT(held) {
	bool drain;
	int drain_timeout;	/* seconds; 0: the default */
	bool others;		/* more recording bitmaps: marked through the log */
};

FIXTURE_VARIANT_ADD(held, drained) {
	.drain = true,
};

/*
 * Among more bitmaps, with the log left unfolded until the cut
 * (fold_before_cut=0): the held write, marked into the log at its
 * submission, reaches the frozen bitmap through the cut's fold of the log
 * it replaced, or not at all.
 */
FIXTURE_VARIANT_ADD(held, drained_among_bitmaps) {
	.drain = true,
	.others = true,
};

/* The drain gives up after 1 s: the held write is carried into the new epoch. */
FIXTURE_VARIANT_ADD(held, drain_timed_out) {
	.drain = true,
	.drain_timeout = 1,
};

FIXTURE_VARIANT_ADD(held, without_drain) {
	.drain = false,
};

/*
 * dm-delay over a brd disk: reads pass at once, writes are held for
 * HELD_DELAY_MS.  The tracked device is the dm device itself.
 */
FIXTURE_SETUP(held)
{
	unsigned char buf[BLOCK] __attribute__((aligned(BLOCK)));
	int fd, i;

	ASSERT_EQ(0, dirtybit_reload(!variant->drain ? "cut_drain=0" :
				     variant->others ? "fold_before_cut=0" : ""));
	ASSERT_EQ(0, sh("echo %d > /sys/module/dirtybit/parameters/drain_timeout",
			variant->drain_timeout ?: 30));
	sh("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, sh("modprobe brd rd_nr=1 rd_size=%d && modprobe dm-delay", 16 << 10));
	/* Version 0 of the block, before the delay device exists. */
	fd = open("/dev/ram0", O_WRONLY | O_DIRECT);
	ASSERT_LE(0, fd);
	held_fill(buf, HELD_BLOCKNO, 0);
	ASSERT_EQ(BLOCK, pwrite(fd, buf, BLOCK, HELD_BLOCKNO * BLOCK));
	close(fd);
	ASSERT_EQ(0, sh("DM_DISABLE_UDEV=1 dmsetup create dirtybit-held --table "
			"'0 32768 delay /dev/ram0 0 0 /dev/ram0 0 %d'", HELD_DELAY_MS));
	self->fd = open(HELD_DEV, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, db_open(&self->db));
	ASSERT_LT(0, db_attach(&self->db, HELD_DEV)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, HELD_DEV, "backup", BLOCK, 0));
	for (i = 0; variant->others && i < (int)ARRAY_SIZE(others); i++)
		ASSERT_EQ(0, db_add(&self->db, HELD_DEV, others[i].name, others[i].granularity, 0));
}

FIXTURE_TEARDOWN(held)
{
	db_detach(&self->db, HELD_DEV);
	nl_close(&self->db.nl);
	close(self->fd);
	sh("DM_DISABLE_UDEV=1 dmsetup remove dirtybit-held");
	sh("rmmod brd");
	sh("echo 30 > /sys/module/dirtybit/parameters/drain_timeout");
	dirtybit_reload("");
}

/*
 * A backup agent's incremental, by hand: the write is submitted before the
 * freeze, the agent reads the frozen blocks right after it.  With the drain
 * the freeze waits for the write and the agent copies version 1.  Without
 * it the agent copies version 0, the write lands later, and the next epoch
 * does not have the block: the chain ends with a stale block.
 */
TEST_F_TIMEOUT(held, write_in_flight_at_the_cut, 120)
{
	struct held_io h;
	unsigned long copied, now;
	long n;

	ASSERT_EQ(0, held_write_block(&h, self->fd, HELD_BLOCKNO, 1));
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, HELD_DEV, "backup"));
	n = db_extents(&self->db, HELD_DEV, "backup", ext, NBLOCKS, NULL);
	ASSERT_EQ(1, n);
	EXPECT_EQ(HELD_BLOCKNO * BLOCK, ext[0].start);
	copied = held_version(self->fd, HELD_BLOCKNO);
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_ABDICATE, HELD_DEV, "backup"));
	ASSERT_EQ(0, held_wait(&h));

	/* The next incremental, after the write completed. */
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, HELD_DEV, "backup"));
	n = db_extents(&self->db, HELD_DEV, "backup", ext, NBLOCKS, NULL);
	ASSERT_LE(0, n);
	if (n == 1 && ext[0].start == HELD_BLOCKNO * BLOCK)
		copied = held_version(self->fd, HELD_BLOCKNO);
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_ABDICATE, HELD_DEV, "backup"));
	now = held_version(self->fd, HELD_BLOCKNO);

	TH_LOG("drain %s: the chain holds version %lu, the device %lu",
	       variant->drain ? "on" : "off", copied, now);
	EXPECT_EQ(1, now);
	if (variant->drain && variant->drain_timeout) {
		/* copied in the first epoch or, carried, in the second */
		EXPECT_EQ(now, copied);
	} else if (variant->drain) {
		EXPECT_EQ(0, n);
		EXPECT_EQ(now, copied);
	} else {
		/* The mechanism's absence must be visible: this is the loss. */
		EXPECT_EQ(0, copied);
	}
}

NEEDS_SCRATCH_DISKS
NEEDS_HARNESS_MAIN("dirtybit brd dm-mod dm-delay", "dirtybit dmsetup")
