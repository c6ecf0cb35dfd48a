// SPDX-License-Identifier: GPL-2.0
/*
 * make bench, memory half (run in the VM by tools/vm/guest/bench.sh):
 *
 * 1. Harvest cost: with a fraction of the pages of a region written, one
 *    harvest = FREEZE (the cut, which re-arms the written pages) + a bulk
 *    read of the frozen bitmap + ABDICATE; against soft-dirty on the same
 *    amount of anonymous memory: read /proc/self/pagemap for the range,
 *    then write "4" to /proc/self/clear_refs.
 * 2. First-write fault cost: a write to every page of a fresh mapping of
 *    the region, against the same on a memfd shared mapping (untracked);
 *    and the write fault after a re-arm.
 *
 * Medians of REPS repetitions; the ratios are the result (TCG's absolute
 * times mean little).  Size: $BENCH_REGION_MB (default 1024).  The A/A
 * control measures soft-dirty at 1% again after the other patterns: it
 * must read 1.000 +- 0.005, or the run is marked invalid.  Under QEMU
 * icount ($DIRTYBIT_ICOUNT=1: guest time is the instruction count, 1 ns
 * each) the figures are also given as guest instructions per page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "region.h"

#define REPS	11

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The dirt patterns: a fraction of the pages, in runs of @cluster pages
 * spread evenly (1: scattered pages; 64: 256 KiB runs, like a guest
 * writing buffers).
 */
static const struct pattern {
	double fraction;
	unsigned long cluster;
} patterns[] = {
	{ 0.001, 1 }, { 0.01, 1 }, { 0.01, 64 }, { 0.1, 1 }, { 1.0, 1 },
};

#define NPATTERNS	(sizeof(patterns) / sizeof(patterns[0]))
#define AA_PATTERN	1	/* the pattern soft-dirty measures twice */

/* Writes @v into the pages of @p; returns how many pages that is. */
static unsigned long dirty_pattern(unsigned char *map, unsigned long npages,
				   const struct pattern *p, int v)
{
	unsigned long n = (unsigned long)(npages * p->fraction) / p->cluster;
	unsigned long stride = npages / n, i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < p->cluster; j++)
			((volatile unsigned char *)map)[(i * stride + j) * PAGE] =
				(unsigned char)v;
	return n * p->cluster;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* pagemap + clear_refs over @map: one soft-dirty harvest. */
static unsigned long soft_dirty_harvest(unsigned char *map, unsigned long npages,
					uint64_t *pm, int pagemap, int clear_refs)
{
	unsigned long dirty = 0, i;
	size_t len = npages * sizeof(uint64_t);

	if (pread(pagemap, pm, len, (unsigned long)map / PAGE * 8) != (ssize_t)len)
		die("pagemap");
	for (i = 0; i < npages; i++)
		dirty += (pm[i] >> 55) & 1;
	if (pwrite(clear_refs, "4", 1, 0) != 1)
		die("clear_refs");
	return dirty;
}

static unsigned long region_harvest(struct db *db, const char *target, unsigned int id,
				    uint64_t *words, unsigned long nwords)
{
	unsigned long dirty = 0, i;

	if (db_bitmap(db, DIRTYBIT_CMD_BITMAP_FREEZE, target, "b"))
		die("freeze");
	if (region_bitmap_read(id, "b", words, nwords))
		die("bitmap read");
	for (i = 0; i < nwords; i++)
		dirty += __builtin_popcountll(words[i]);
	if (db_bitmap(db, DIRTYBIT_CMD_BITMAP_ABDICATE, target, "b"))
		die("abdicate");
	return dirty;
}

/* The median seconds of REPS soft-dirty harvests after writing @p. */
static double soft_dirty_series(unsigned char *anon, unsigned long npages, uint64_t *pm,
				int pagemap, int clear_refs, const struct pattern *p,
				const char *label)
{
	unsigned long n = 0, got = 0;
	double t[REPS], m;
	int r;

	for (r = 0; r < REPS; r++) {
		n = dirty_pattern(anon, npages, p, r + 1);
		t[r] = now();
		got = soft_dirty_harvest(anon, npages, pm, pagemap, clear_refs);
		t[r] = now() - t[r];
	}
	m = median(t, REPS);
	printf("RESULT %s %.1f%% runs of %lu pages=%lu found=%lu %.6f s\n",
	       label, p->fraction * 100, p->cluster, n, got, m);
	return m;
}

/* Seconds per page to write one byte into every page of @map. */
static double touch_all(unsigned char *map, unsigned long npages, int v)
{
	double t = now();
	unsigned long i;

	for (i = 0; i < npages; i++)
		((volatile unsigned char *)map)[i * PAGE] = (unsigned char)v;
	return (now() - t) / npages;
}

int main(void)
{
	unsigned long mb = getenv("BENCH_REGION_MB") ? strtoul(getenv("BENCH_REGION_MB"), NULL, 0) : 1024;
	unsigned long size = mb << 20, npages = size / PAGE, nwords = (npages + 63) / 64;
	double sd[NPATTERNS], rg[NPATTERNS], t[REPS], fault_region, fault_memfd, fault_rearm, sd_aa, aa;
	int icount = getenv("DIRTYBIT_ICOUNT") && atoi(getenv("DIRTYBIT_ICOUNT"));
	unsigned long pages[NPATTERNS];
	uint64_t *pm = malloc(npages * sizeof(uint64_t));
	uint64_t *words = malloc(nwords * sizeof(uint64_t));
	int pagemap = open("/proc/self/pagemap", O_RDONLY);
	int clear_refs = open("/proc/self/clear_refs", O_WRONLY);
	unsigned char *anon, *map;
	unsigned int id = 0;
	char target[16];
	struct db db;
	unsigned int f;
	int r, fd;

	if (!pm || !words || pagemap < 0 || clear_refs < 0)
		die("setup");
	printf("region bench: %lu MiB, %d repetitions%s\n", mb, REPS,
	       icount ? ", icount (1 ns = 1 guest instruction)" : "");

	/* soft-dirty on anonymous memory */
	anon = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		die("anon");
	/* Per-page soft-dirty, like the region's bitmap: no huge pages. */
	madvise(anon, size, MADV_NOHUGEPAGE);
	touch_all(anon, npages, 1);
	soft_dirty_harvest(anon, npages, pm, pagemap, clear_refs);
	for (f = 0; f < NPATTERNS; f++)
		sd[f] = soft_dirty_series(anon, npages, pm, pagemap, clear_refs, &patterns[f],
					  "soft-dirty");
	sd_aa = soft_dirty_series(anon, npages, pm, pagemap, clear_refs, &patterns[AA_PATTERN],
				  "soft-dirty-again");
	munmap(anon, size);

	/* the region */
	if (db_open(&db))
		die("netlink");
	fd = region_create("bench", size, 0, &id);
	if (fd < 0)
		die("region create");
	snprintf(target, sizeof(target), "%u", id);
	if (db_add(&db, target, "b", 0, 0))
		die("bitmap add");
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	fault_region = touch_all(map, npages, 1);	/* fresh mapping */
	region_harvest(&db, target, id, words, nwords);
	fault_rearm = touch_all(map, npages, 2);	/* every PTE write-protected */
	region_harvest(&db, target, id, words, nwords);
	for (f = 0; f < NPATTERNS; f++) {
		unsigned long n = 0, got = 0;

		for (r = 0; r < REPS; r++) {
			n = dirty_pattern(map, npages, &patterns[f], r + 1);
			t[r] = now();
			got = region_harvest(&db, target, id, words, nwords);
			t[r] = now() - t[r];
		}
		rg[f] = median(t, REPS);
		pages[f] = n;
		printf("RESULT region %.1f%% runs of %lu pages=%lu found=%lu %.6f s\n",
		       patterns[f].fraction * 100, patterns[f].cluster, n, got, rg[f]);
	}
	munmap(map, size);
	close(fd);
	db_detach(&db, target);

	/* untracked: a memfd shared mapping */
	fd = memfd_create("bench", 0);
	if (fd < 0 || ftruncate(fd, size))
		die("memfd");
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("memfd mmap");
	fault_memfd = touch_all(map, npages, 1);
	munmap(map, size);
	close(fd);

	aa = sd_aa / sd[AA_PATTERN];
	printf("\n| dirty | written as | soft-dirty harvest (s) | dirtybit harvest (s) | soft-dirty / dirtybit |%s\n",
	       icount ? " instructions per dirty page, soft-dirty / dirtybit |" : "");
	printf("|---|---|---|---|---|%s\n", icount ? "---|" : "");
	for (f = 0; f < NPATTERNS; f++) {
		printf("| %.1f%% | %s | %.4f | %.4f | %.1f× |", patterns[f].fraction * 100,
		       patterns[f].cluster == 1 ? "scattered pages" : "256 KiB runs",
		       sd[f], rg[f], sd[f] / rg[f]);
		if (icount)
			printf(" %.0f / %.0f |", sd[f] * 1e9 / pages[f], rg[f] * 1e9 / pages[f]);
		printf("\n");
	}
	printf("| %.1f%% | soft-dirty again (A/A) | %.4f | | %.3f |%s\n",
	       patterns[AA_PATTERN].fraction * 100, sd_aa, aa, icount ? " |" : "");
	if (aa < 0.995 || aa > 1.005)
		printf("\nINVALID RUN: the soft-dirty A/A pair reads %.3f, not 1.000 +- 0.005\n", aa);
	printf("\n| first write to a page | %s per page | vs memfd |\n|---|---|---|\n",
	       icount ? "instructions" : "µs");
	printf("| memfd MAP_SHARED, fresh mapping (untracked) | %.2f | 1.00 |\n",
	       fault_memfd * (icount ? 1e9 : 1e6));
	printf("| region, fresh mapping | %.2f | %.2f |\n", fault_region * (icount ? 1e9 : 1e6),
	       fault_region / fault_memfd);
	printf("| region, after a harvest (its PTE write-protected or removed) | %.2f | %.2f |\n",
	       fault_rearm * (icount ? 1e9 : 1e6), fault_rearm / fault_memfd);
	nl_close(&db.nl);
	return 0;
}
