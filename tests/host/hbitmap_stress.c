// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency: several threads mark random ranges while a harvester takes
 * (clears and reports) the dirty set and a reader walks it.  At the end every
 * granule ever marked has been reported by some take, none was reported that
 * was never marked, and the structure is exact again.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "hbitmap_ref.h"

long hbitmap_shim_fail_countdown;

#define SIZE		(64ULL << 20)
#define GRAN		512
#define NBITS		(SIZE / GRAN)
#define MARKERS		4
#define MARKS		200000

struct stress {
	struct hbitmap *hb;
	unsigned char marked[MARKERS][NBITS];	/* per marker: what it marked */
	unsigned char reported[NBITS];		/* harvester only */
	int markers_left;
	u64 takes, bad_extents, bad_reads;
};

struct marker {
	struct stress *st;
	int id;
};

static void *marker_fn(void *arg)
{
	struct marker *m = arg;
	unsigned int seed = 1234 + m->id;
	int i;

	for (i = 0; i < MARKS; i++) {
		u64 off = (u64)rand_r(&seed) * GRAN % SIZE;
		u64 len = (u64)(rand_r(&seed) % 128 + 1) * GRAN / 2;
		u64 g, end = off + len > SIZE ? SIZE : off + len;

		/* Record first: a take may report the range the moment it is set. */
		for (g = off / GRAN; g <= (end - 1) / GRAN; g++)
			m->st->marked[m->id][g] = 1;
		hbitmap_set(m->st->hb, off, len);
	}
	__atomic_fetch_sub(&m->st->markers_left, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int report_cb(void *opaque, u64 start, u64 len)
{
	struct stress *st = opaque;
	u64 g;

	if (!len || start % GRAN || start + len > SIZE)
		st->bad_extents++;
	for (g = start / GRAN; g < (start + len + GRAN - 1) / GRAN; g++)
		st->reported[g] = 1;
	return 0;
}

static void *harvester_fn(void *arg)
{
	struct stress *st = arg;

	while (__atomic_load_n(&st->markers_left, __ATOMIC_SEQ_CST) > 0) {
		hbitmap_take(st->hb, 0, SIZE, report_cb, st);
		st->takes++;
	}
	return NULL;
}

static void *reader_fn(void *arg)
{
	struct stress *st = arg;
	struct hbitmap_extent e;

	while (__atomic_load_n(&st->markers_left, __ATOMIC_SEQ_CST) > 0) {
		u64 cur = 0, last_end = 0;

		while (hbitmap_next_extent(st->hb, &cur, SIZE, &e)) {
			if (!e.length || e.start < last_end || e.start + e.length > SIZE) {
				fprintf(stderr, "# bad read %llu+%llu after %llu\n",
					(unsigned long long)e.start, (unsigned long long)e.length,
					(unsigned long long)last_end);
				st->bad_reads++;
			}
			last_end = e.start + e.length;
		}
		(void)hbitmap_count(st->hb);
	}
	return NULL;
}

TEST(mark_take_read_concurrently)
{
	struct stress *st = calloc(1, sizeof(*st));
	pthread_t markers[MARKERS], harvester, reader;
	struct marker m[MARKERS];
	u64 g, lost = 0, spurious = 0;
	int i;

	ASSERT_NE(NULL, st);
	st->hb = hbitmap_alloc(SIZE, GRAN, GFP_KERNEL);
	ASSERT_NE(NULL, st->hb);
	ASSERT_EQ(3, st->hb->depth);
	st->markers_left = MARKERS;

	ASSERT_EQ(0, pthread_create(&harvester, NULL, harvester_fn, st));
	ASSERT_EQ(0, pthread_create(&reader, NULL, reader_fn, st));
	for (i = 0; i < MARKERS; i++) {
		m[i].st = st;
		m[i].id = i;
		ASSERT_EQ(0, pthread_create(&markers[i], NULL, marker_fn, &m[i]));
	}
	for (i = 0; i < MARKERS; i++)
		pthread_join(markers[i], NULL);
	pthread_join(harvester, NULL);
	pthread_join(reader, NULL);

	/* The last harvest, with everything quiet. */
	ASSERT_EQ(0, hbitmap_take(st->hb, 0, SIZE, report_cb, st));
	EXPECT_EQ(0, hbitmap_count(st->hb));
	EXPECT_EQ(NULL, hbitmap_check_invariants(st->hb))
		TH_LOG("%s", hbitmap_check_invariants(st->hb));
	EXPECT_EQ(0, st->bad_extents);
	EXPECT_EQ(0, st->bad_reads);

	for (g = 0; g < NBITS; g++) {
		bool any = false;

		for (i = 0; i < MARKERS; i++)
			any |= st->marked[i][g];
		lost += any && !st->reported[g];
		spurious += !any && st->reported[g];
	}
	EXPECT_EQ(0, lost);
	EXPECT_EQ(0, spurious);
	TH_LOG("%llu concurrent takes", (unsigned long long)st->takes);
	hbitmap_free(st->hb);
	free(st);
}

TEST(mark_while_clearing_ranges)
{
	/* Clears race with marks of the same words: the upper levels must stay
	 * exact (no set leaf word left invisible to the search).
	 */
	struct stress *st = calloc(1, sizeof(*st));
	pthread_t markers[MARKERS];
	struct marker m[MARKERS];
	unsigned int seed = 99;
	u64 g, invisible = 0;
	int i;

	ASSERT_NE(NULL, st);
	st->hb = hbitmap_alloc(SIZE, GRAN, GFP_KERNEL);
	ASSERT_NE(NULL, st->hb);
	st->markers_left = MARKERS;
	for (i = 0; i < MARKERS; i++) {
		m[i].st = st;
		m[i].id = i;
		ASSERT_EQ(0, pthread_create(&markers[i], NULL, marker_fn, &m[i]));
	}
	while (__atomic_load_n(&st->markers_left, __ATOMIC_SEQ_CST) > 0) {
		u64 off = (u64)rand_r(&seed) * GRAN % SIZE;

		hbitmap_clear(st->hb, off, (u64)(rand_r(&seed) % 4096) * GRAN);
	}
	for (i = 0; i < MARKERS; i++)
		pthread_join(markers[i], NULL);

	EXPECT_EQ(NULL, hbitmap_check_invariants(st->hb));
	/* Whatever is set must be found by the search. */
	for (g = 0; g < NBITS; g++)
		if (hbitmap_test(st->hb, g * GRAN) &&
		    hbitmap_next_dirty(st->hb, g * GRAN) != g * GRAN)
			invisible++;
	EXPECT_EQ(0, invisible);
	hbitmap_free(st->hb);
	free(st);
}

TEST_HARNESS_MAIN
