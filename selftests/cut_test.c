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
 * With the module parameter cut_drain=0 the cut does not wait for earlier
 * writes; DIRTYBIT_EXPECT_LOSS=1 then expects this test to find the loss
 * (run by hand: tools/vm/run --tests cut_test with that environment).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "db.h"

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
};

struct writer {
	pthread_t thread;
	struct shared *sh;
	unsigned int seed;
};

/* Each block carries (block number, version) in every 16 bytes. */
static void fill(unsigned char *buf, unsigned long block, unsigned long version)
{
	unsigned long *w = (unsigned long *)buf;
	int i;

	for (i = 0; i < BLOCK / 8; i += 2) {
		w[i] = block;
		w[i + 1] = version;
	}
}

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

		for (i = 0; i < n; i++)
			fill(buf + i * BLOCK, b + i, v);
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

	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, sh("echo %c > /sys/module/dirtybit/parameters/cut_drain",
			expect_loss ? 'N' : 'Y'));
	ASSERT_EQ(0, sh("echo 4 > /sys/block/vda/queue/nr_requests"));
	ASSERT_EQ(0, db_open(&db));
	ASSERT_LT(0, db_attach(&db, DISK)) TH_LOG("%s", db.nl.extack);
	ASSERT_EQ(0, db_add(&db, DISK, "backup", BLOCK, 0));
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

	sh("echo Y > /sys/module/dirtybit/parameters/cut_drain");
	close(fd);
	db_detach(&db, DISK);
	free(copy);
	free(disk);
}

TEST_HARNESS_MAIN
