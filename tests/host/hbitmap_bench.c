// SPDX-License-Identifier: GPL-2.0
/*
 * Host micro-benchmarks of the hbitmap core (make bench).  The same
 * kmod/hbitmap.c the module runs, built with -O2 and without sanitizers.
 *
 * Every figure is the median of several repetitions, so one noisy
 * repetition does not move it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hbitmap.h"

long hbitmap_shim_fail_countdown;

#define KiB	(1ULL << 10)
#define MiB	(1ULL << 20)
#define TiB	(1ULL << 40)
#define PiB	(1ULL << 50)
#define REPS	9

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* xorshift64*: deterministic offsets, cheap enough not to dominate a mark. */
static u64 rng_state = 0x9e3779b97f4a7c15ULL;

static u64 rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static struct hbitmap *alloc_or_die(u64 size, u32 gran)
{
	struct hbitmap *hb = hbitmap_alloc(size, gran, GFP_KERNEL);

	if (!hb) {
		fprintf(stderr, "hbitmap_alloc(%llu, %u) failed\n",
			(unsigned long long)size, gran);
		exit(1);
	}
	return hb;
}

#define MARKS	(1 << 20)
static u64 offsets[MARKS];

/*
 * ns per hbitmap_set() of a 4 KiB write at 64 KiB granularity over 1 TiB.
 * Newly dirty: every mark hits a clean granule (the bitmap is cleared
 * between repetitions, outside the timed loop).  Already dirty: the same
 * offsets again, so every mark finds its bit set.
 */
static void bench_mark(double *fresh, double *again)
{
	struct hbitmap *hb = alloc_or_die(TiB, 64 * KiB);
	double f[REPS], a[REPS], t;
	int r, i;

	for (i = 0; i < MARKS; i++)
		offsets[i] = (rng() % (TiB / (4 * KiB))) * 4 * KiB;
	for (r = 0; r < REPS; r++) {
		hbitmap_clear(hb, 0, TiB);
		t = now_ns();
		for (i = 0; i < MARKS; i++)
			hbitmap_set(hb, offsets[i], 4 * KiB);
		f[r] = (now_ns() - t) / MARKS;
		t = now_ns();
		for (i = 0; i < MARKS; i++)
			hbitmap_set(hb, offsets[i], 4 * KiB);
		a[r] = (now_ns() - t) / MARKS;
	}
	*fresh = median(f, REPS);
	*again = median(a, REPS);
	hbitmap_free(hb);
}

static int count_extent(void *opaque, u64 start, u64 length)
{
	(void)start;
	(void)length;
	++*(u64 *)opaque;
	return 0;
}

/*
 * Harvest a 1 TiB / 64 KiB bitmap holding @nextents random extents of 1 to
 * 16 granules: walk (next_extent over the whole size, read-only) and take
 * (report and clear, what a backup does at the cut).  Returns microseconds.
 */
static void bench_harvest(int nextents, double *walk_us, double *take_us,
			  u64 *seen)
{
	struct hbitmap *hb = alloc_or_die(TiB, 64 * KiB);
	double w[REPS], k[REPS], t;
	struct hbitmap_extent e;
	int r, i;

	for (r = 0; r < REPS; r++) {
		u64 cursor = 0, n = 0;

		rng_state = 0x9e3779b97f4a7c15ULL;
		for (i = 0; i < nextents; i++)
			hbitmap_set(hb, rng() % TiB, (rng() % 16 + 1) * 64 * KiB);
		t = now_ns();
		while (hbitmap_next_extent(hb, &cursor, TiB, &e))
			n++;
		w[r] = (now_ns() - t) / 1e3;
		*seen = n;
		n = 0;
		t = now_ns();
		hbitmap_take(hb, 0, TiB, count_extent, &n);
		k[r] = (now_ns() - t) / 1e3;
		if (n != *seen || hbitmap_count(hb)) {
			fprintf(stderr, "take reported %llu extents, walk %llu\n",
				(unsigned long long)n, (unsigned long long)*seen);
			exit(1);
		}
	}
	*walk_us = median(w, REPS);
	*take_us = median(k, REPS);
	hbitmap_free(hb);
}

int main(void)
{
	double fresh, again, walk, take, walk0, take0;
	u64 seen, seen0;
	u64 m1t = hbitmap_memory(TiB, 64 * KiB), m1p = hbitmap_memory(PiB, 64 * KiB);

	bench_mark(&fresh, &again);
	bench_harvest(1000, &walk, &take, &seen);
	bench_harvest(0, &walk0, &take0, &seen0);

	printf("hbitmap micro-benchmarks (host, -O2, median of %d)\n", REPS);
	printf("%-58s %12s\n", "measure", "value");
	printf("%-58s %9.1f ns\n", "mark 4 KiB write, 64 KiB gran, newly dirty", fresh);
	printf("%-58s %9.1f ns\n", "mark 4 KiB write, 64 KiB gran, already dirty", again);
	printf("%-58s %9.1f us\n", "walk extents, 1 TiB / 64 KiB, 1000 random extents", walk);
	printf("%-58s %9.1f us\n", "take (report + clear) same bitmap", take);
	printf("%-58s %9.0f ns\n", "walk extents, 1 TiB / 64 KiB, clean", walk0 * 1e3);
	printf("%-58s %9.0f ns\n", "take, 1 TiB / 64 KiB, clean", take0 * 1e3);
	printf("%-58s %9.2f MiB\n", "memory, 1 TiB at 64 KiB (leaf 2 MiB)", (double)m1t / MiB);
	printf("%-58s %9.2f MiB\n", "memory, 1 PiB at 64 KiB (leaf 2048 MiB)", (double)m1p / MiB);
	printf("%-58s %12llu\n", "coalesced extents found in the 1000-extent bitmap",
	       (unsigned long long)seen);
	return 0;
}
