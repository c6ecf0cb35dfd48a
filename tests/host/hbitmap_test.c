// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the hbitmap core at its edges, against the naive model.
 */
#include "kselftest_harness.h"
#include "hbitmap_ref.h"

long hbitmap_shim_fail_countdown;

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)
#define PiB (1ULL << 50)

struct pair {
	struct hbitmap *hb;
	struct ref r;
	char why[256];
};

static bool pair_init(struct pair *p, u64 size, u32 gran)
{
	p->hb = hbitmap_alloc(size, gran, GFP_KERNEL);
	ref_init(&p->r, size, gran);
	return p->hb != NULL;
}

static void pair_free(struct pair *p)
{
	hbitmap_free(p->hb);
	ref_free(&p->r);
}

static void pair_set(struct pair *p, u64 start, u64 len)
{
	hbitmap_set(p->hb, start, len);
	ref_fill(&p->r, start, len, 1);
}

static void pair_clear(struct pair *p, u64 start, u64 len)
{
	hbitmap_clear(p->hb, start, len);
	ref_fill(&p->r, start, len, 0);
}

#define ASSERT_SAME(p) ASSERT_EQ(0, hbitmap_compare((p)->hb, &(p)->r, (p)->why, \
						    sizeof((p)->why))) TH_LOG("%s", (p)->why)

TEST(params)
{
	EXPECT_EQ(0, hbitmap_check_params(64 * MiB, 64 * KiB));
	EXPECT_EQ(0, hbitmap_check_params(0, 512));
	EXPECT_EQ(-EINVAL, hbitmap_check_params(64 * MiB, 64000));
	EXPECT_EQ(-EINVAL, hbitmap_check_params(64 * MiB, 256));
	EXPECT_EQ(-EINVAL, hbitmap_check_params(64 * MiB, 0));
	EXPECT_EQ(0, hbitmap_check_params(64 * MiB, 1U << 31));
	/* 2^40 granules is the largest representable bitmap; one more is not. */
	EXPECT_EQ(0, hbitmap_check_params(HBITMAP_MAX_BITS << 9, 512));
	EXPECT_EQ(-E2BIG, hbitmap_check_params((HBITMAP_MAX_BITS << 9) + 1, 512));
	EXPECT_EQ(0, hbitmap_check_params(~0ULL, 1U << 31));
	EXPECT_EQ(-E2BIG, hbitmap_check_params(~0ULL, 1U << 23));
	EXPECT_EQ(NULL, hbitmap_alloc(64 * MiB, 64000, GFP_KERNEL));
}

TEST(empty_and_full)
{
	struct pair p;
	struct hbitmap_extent e;
	u64 cur = 0;

	ASSERT_TRUE(pair_init(&p, 64 * MiB + 1000, 64 * KiB));
	EXPECT_EQ(0, hbitmap_count(p.hb));
	EXPECT_EQ(HBITMAP_NONE, hbitmap_next_dirty(p.hb, 0));
	EXPECT_EQ(0, hbitmap_next_clean(p.hb, 0));
	EXPECT_FALSE(hbitmap_next_extent(p.hb, &cur, ~0ULL, &e));
	ASSERT_SAME(&p);

	pair_set(&p, 0, ~0ULL);
	EXPECT_EQ(1025 * 64 * KiB, hbitmap_count(p.hb));
	EXPECT_EQ(HBITMAP_NONE, hbitmap_next_clean(p.hb, 0));
	cur = 0;
	ASSERT_TRUE(hbitmap_next_extent(p.hb, &cur, ~0ULL, &e));
	EXPECT_EQ(0, e.start);
	EXPECT_EQ(64 * MiB + 1000, e.length);	/* clipped to the size */
	EXPECT_FALSE(hbitmap_next_extent(p.hb, &cur, ~0ULL, &e));
	ASSERT_SAME(&p);

	pair_clear(&p, 0, ~0ULL);
	ASSERT_SAME(&p);
	pair_free(&p);
}

TEST(zero_size)
{
	struct pair p;

	ASSERT_TRUE(pair_init(&p, 0, 512));
	pair_set(&p, 0, 4096);
	EXPECT_EQ(0, hbitmap_count(p.hb));
	EXPECT_EQ(HBITMAP_NONE, hbitmap_next_dirty(p.hb, 0));
	ASSERT_SAME(&p);
	pair_free(&p);
}

TEST(size_not_multiple_of_granularity)
{
	struct pair p;
	struct hbitmap_extent e;
	u64 cur = 0;

	ASSERT_TRUE(pair_init(&p, 1000, 512));
	pair_set(&p, 999, 1);
	EXPECT_TRUE(hbitmap_test(p.hb, 512));
	EXPECT_FALSE(hbitmap_test(p.hb, 511));
	EXPECT_FALSE(hbitmap_test(p.hb, 1000));
	EXPECT_EQ(512, hbitmap_count(p.hb));	/* whole granules, like QEMU */
	ASSERT_TRUE(hbitmap_next_extent(p.hb, &cur, ~0ULL, &e));
	EXPECT_EQ(512, e.start);
	EXPECT_EQ(488, e.length);
	ASSERT_SAME(&p);
	/* Beyond the end: ignored, never a bit past the last granule. */
	pair_set(&p, 1000, 4096);
	pair_set(&p, ~0ULL - 10, 100);
	ASSERT_SAME(&p);
	pair_free(&p);
}

TEST(qemu_standard_writes)
{
	struct pair p;

	/* DESIGN.md §4: 7 granules, the last write straddling a boundary. */
	ASSERT_TRUE(pair_init(&p, 64 * MiB, 64 * KiB));
	pair_set(&p, 0, 512);
	pair_set(&p, 16 * MiB, 256 * KiB);
	pair_set(&p, 32736 * KiB, 64 * KiB);
	EXPECT_EQ(458752, hbitmap_count(p.hb));
	ASSERT_SAME(&p);
	pair_free(&p);
}

TEST(ranges_across_word_and_level_boundaries)
{
	static const u64 edges[] = { 0, 63, 64, 4095, 4096, 262143, 262144,
				     16777215, 16777216 };
	struct pair p;
	unsigned int i;

	/* 2^25 granules of 512 B: four upper levels. */
	ASSERT_TRUE(pair_init(&p, (1ULL << 25) * 512, 512));
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		u64 g = edges[i];

		pair_set(&p, (g ? g - 1 : 0) * 512, 3 * 512);
		ASSERT_SAME(&p);
		EXPECT_EQ((g ? g - 1 : 0) * 512, hbitmap_next_dirty(p.hb, g ? (g - 1) * 512 : 0));
		pair_clear(&p, g * 512, 512);
		ASSERT_SAME(&p);
	}
	/* A range over several whole words and a level boundary. */
	pair_set(&p, 4000 * 512, 300 * 512);
	ASSERT_SAME(&p);
	pair_clear(&p, 4001 * 512, 298 * 512);
	ASSERT_SAME(&p);
	pair_clear(&p, 0, ~0ULL);
	ASSERT_SAME(&p);
	EXPECT_EQ(HBITMAP_NONE, hbitmap_next_dirty(p.hb, 0));
	pair_free(&p);
}

TEST(last_granule)
{
	struct pair p;
	u64 size = (1ULL << 18) * 4096 + 4096 * 3 + 7;

	ASSERT_TRUE(pair_init(&p, size, 4096));
	pair_set(&p, size - 1, 1);
	EXPECT_TRUE(hbitmap_test(p.hb, size - 1));
	EXPECT_EQ(size - 7, hbitmap_next_dirty(p.hb, 0));
	EXPECT_EQ(size - 2, hbitmap_next_dirty(p.hb, size - 2));
	EXPECT_EQ(HBITMAP_NONE, hbitmap_next_clean(p.hb, size - 7));
	ASSERT_SAME(&p);
	pair_clear(&p, size - 1, 1);
	ASSERT_SAME(&p);
	EXPECT_EQ(HBITMAP_NONE, hbitmap_next_dirty(p.hb, 0));
	pair_free(&p);
}

TEST(next_dirty_and_clean_mid_granule)
{
	struct pair p;

	ASSERT_TRUE(pair_init(&p, 1 * MiB, 64 * KiB));
	pair_set(&p, 128 * KiB, 1);
	EXPECT_EQ(128 * KiB, hbitmap_next_dirty(p.hb, 5));
	EXPECT_EQ(130 * KiB, hbitmap_next_dirty(p.hb, 130 * KiB));
	EXPECT_EQ(HBITMAP_NONE, hbitmap_next_dirty(p.hb, 192 * KiB));
	EXPECT_EQ(5, hbitmap_next_clean(p.hb, 5));
	EXPECT_EQ(192 * KiB, hbitmap_next_clean(p.hb, 130 * KiB));
	EXPECT_EQ(HBITMAP_NONE, hbitmap_next_clean(p.hb, 1 * MiB));
	pair_free(&p);
}

struct taken {
	struct hbitmap_extent e[64];
	int n;
	int fail_at;		/* refuse the extent with this index */
};

static int take_cb(void *opaque, u64 start, u64 len)
{
	struct taken *t = opaque;

	if (t->n == t->fail_at)
		return -ENOSPC;
	t->e[t->n].start = start;
	t->e[t->n].length = len;
	t->n++;
	return 0;
}

TEST(take_reports_coalesced_extents_and_clears)
{
	struct pair p;
	struct taken t = { .fail_at = -1 };

	ASSERT_TRUE(pair_init(&p, 64 * MiB, 64 * KiB));
	pair_set(&p, 0, 512);
	pair_set(&p, 62 * 64 * KiB, 4 * 64 * KiB);	/* across a word */
	pair_set(&p, 64 * MiB - 1, 1);
	ASSERT_EQ(0, hbitmap_take(p.hb, 0, ~0ULL, take_cb, &t));
	ASSERT_EQ(3, t.n);
	EXPECT_EQ(0, t.e[0].start);
	EXPECT_EQ(64 * KiB, t.e[0].length);
	EXPECT_EQ(62 * 64 * KiB, t.e[1].start);
	EXPECT_EQ(4 * 64 * KiB, t.e[1].length);
	EXPECT_EQ(64 * MiB - 64 * KiB, t.e[2].start);
	ref_fill(&p.r, 0, ~0ULL, 0);
	ASSERT_SAME(&p);
	pair_free(&p);
}

TEST(take_partial_range)
{
	struct pair p;
	struct taken t = { .fail_at = -1 };

	ASSERT_TRUE(pair_init(&p, 64 * MiB, 64 * KiB));
	pair_set(&p, 0, 10 * MiB);
	ASSERT_EQ(0, hbitmap_take(p.hb, 1 * MiB + 1, 2 * MiB, take_cb, &t));
	ASSERT_EQ(1, t.n);
	EXPECT_EQ(1 * MiB, t.e[0].start);
	EXPECT_EQ(2 * MiB + 64 * KiB, t.e[0].length);
	ref_fill(&p.r, 1 * MiB + 1, 2 * MiB, 0);
	ASSERT_SAME(&p);
	pair_free(&p);
}

TEST(take_failure_loses_nothing)
{
	struct pair p;
	struct taken t = { .fail_at = 1 };
	int i;

	ASSERT_TRUE(pair_init(&p, 64 * MiB, 64 * KiB));
	for (i = 0; i < 10; i++)
		pair_set(&p, i * 5 * MiB, 100 * KiB);
	EXPECT_EQ(-ENOSPC, hbitmap_take(p.hb, 0, ~0ULL, take_cb, &t));
	ASSERT_EQ(1, t.n);
	/* Only the one extent that was accepted is gone. */
	ref_fill(&p.r, t.e[0].start, t.e[0].length, 0);
	ASSERT_SAME(&p);
	pair_free(&p);
}

static void merge_case(struct __test_metadata *_metadata, u32 dst_gran, u32 src_gran,
		       u64 dst_size, u64 src_size)
{
	struct pair d, s;
	int i;

	ASSERT_TRUE(pair_init(&d, dst_size, dst_gran));
	ASSERT_TRUE(pair_init(&s, src_size, src_gran));
	srand(dst_gran ^ src_gran);
	for (i = 0; i < 200; i++) {
		u64 off = (u64)rand() * 4096 % src_size;

		pair_set(&s, off, rand() % (300 * KiB) + 1);
		if (i % 3 == 0)
			pair_set(&d, (u64)rand() * 512 % dst_size, 512);
	}
	hbitmap_merge(d.hb, s.hb);
	ref_merge(&d.r, &s.r);
	ASSERT_SAME(&d);
	ASSERT_SAME(&s);	/* the source is untouched */
	pair_free(&d);
	pair_free(&s);
}

TEST(merge_any_granularity)
{
	merge_case(_metadata, 64 * KiB, 64 * KiB, 64 * MiB, 64 * MiB);
	merge_case(_metadata, 128 * KiB, 32 * KiB, 64 * MiB, 64 * MiB);	/* finer into coarser */
	merge_case(_metadata, 32 * KiB, 128 * KiB, 64 * MiB, 64 * MiB);	/* coarser into finer */
	merge_case(_metadata, 512, 1 * MiB, 64 * MiB, 64 * MiB);
	merge_case(_metadata, 64 * KiB, 4 * KiB, 32 * MiB, 64 * MiB);	/* larger source */
	merge_case(_metadata, 4 * KiB, 64 * KiB, 64 * MiB + 512, 32 * MiB + 100);
}

TEST(copy)
{
	struct pair p;
	struct hbitmap *c;
	char why[256];

	ASSERT_TRUE(pair_init(&p, 10 * MiB + 3, 4096));
	pair_set(&p, 12345, 678901);
	pair_set(&p, 10 * MiB, 3);
	c = hbitmap_copy(p.hb, GFP_KERNEL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, hbitmap_compare(c, &p.r, why, sizeof(why))) TH_LOG("%s", why);
	hbitmap_free(c);
	pair_free(&p);
}

TEST(serialize_roundtrip)
{
	struct pair p;
	struct hbitmap *h2;
	__le64 *buf;
	u64 n, i;
	char why[256];

	ASSERT_TRUE(pair_init(&p, 100 * MiB + 4096, 4096));
	pair_set(&p, 0, 4096);
	pair_set(&p, 50 * MiB - 1, 2);
	pair_set(&p, 100 * MiB, 4096);
	n = hbitmap_serialized_words(p.hb);
	EXPECT_EQ((25601 + 63) / 64, n);
	buf = calloc(n, 8);
	ASSERT_EQ(0, hbitmap_serialize(p.hb, 0, n, buf));
	/* Little-endian words, bit n = granule n. */
	EXPECT_EQ(1, ((unsigned char *)buf)[0]);
	EXPECT_EQ(-EINVAL, hbitmap_serialize(p.hb, 1, n, buf));
	EXPECT_EQ(-EINVAL, hbitmap_serialize(p.hb, ~0ULL, 2, buf));

	h2 = hbitmap_alloc(100 * MiB + 4096, 4096, GFP_KERNEL);
	ASSERT_NE(NULL, h2);
	hbitmap_set(h2, 70 * MiB, 10 * MiB);	/* overwritten below */
	/* In two pieces, to exercise partial ranges. */
	ASSERT_EQ(0, hbitmap_deserialize(h2, 0, n / 2, buf));
	ASSERT_EQ(0, hbitmap_deserialize(h2, n / 2, n - n / 2, buf + n / 2));
	ASSERT_EQ(0, hbitmap_compare(h2, &p.r, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_EQ(-EINVAL, hbitmap_deserialize(h2, n, 1, buf));

	/* Bits past the last granule in the input are dropped. */
	for (i = 0; i < n; i++)
		buf[i] = ~0ULL;
	ASSERT_EQ(0, hbitmap_deserialize(h2, 0, n, buf));
	EXPECT_EQ(25601 * 4096ULL, hbitmap_count(h2));
	EXPECT_EQ(NULL, hbitmap_check_invariants(h2));
	free(buf);
	hbitmap_free(h2);
	pair_free(&p);
}

TEST(resize_grow_and_truncate)
{
	struct pair p;
	struct ref r2;
	char why[256];
	u64 g;

	ASSERT_TRUE(pair_init(&p, 64 * MiB, 64 * KiB));
	pair_set(&p, 0, 512);
	pair_set(&p, 40 * MiB, 1 * MiB);
	pair_set(&p, 64 * MiB - 1, 1);

	/* Grow: old bits kept, new space clean. */
	ASSERT_EQ(0, hbitmap_resize(p.hb, 1 * GiB + 5, GFP_KERNEL));
	ref_init(&r2, 1 * GiB + 5, 64 * KiB);
	for (g = 0; g < p.r.nbits; g++)
		r2.bit[g] = p.r.bit[g];
	ASSERT_EQ(0, hbitmap_compare(p.hb, &r2, why, sizeof(why))) TH_LOG("%s", why);
	hbitmap_set(p.hb, 1 * GiB, 5);
	ref_fill(&r2, 1 * GiB, 5, 1);
	ASSERT_EQ(0, hbitmap_compare(p.hb, &r2, why, sizeof(why))) TH_LOG("%s", why);

	/* Truncate: bits beyond the new end dropped, count follows. */
	ASSERT_EQ(0, hbitmap_resize(p.hb, 40 * MiB + 100, GFP_KERNEL));
	ref_free(&r2);
	ref_init(&r2, 40 * MiB + 100, 64 * KiB);
	r2.bit[0] = 1;
	r2.bit[640] = 1;
	ASSERT_EQ(0, hbitmap_compare(p.hb, &r2, why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(-E2BIG, hbitmap_resize(p.hb, ~0ULL, GFP_KERNEL));
	ASSERT_EQ(0, hbitmap_compare(p.hb, &r2, why, sizeof(why))) TH_LOG("%s", why);
	ref_free(&r2);
	pair_free(&p);
}

TEST(allocation_failures_unwind)
{
	struct hbitmap *hb;
	long n;

	/* Fail each allocation in turn (LeakSanitizer checks the unwind). */
	for (n = 1; n < 64; n++) {
		hbitmap_shim_fail_countdown = n;
		hb = hbitmap_alloc(300 * GiB, 4096, GFP_KERNEL);
		if (hb) {
			/* Every earlier allocation failed and unwound; this one never hit it. */
			EXPECT_EQ(1, hbitmap_shim_fail_countdown);
			hbitmap_free(hb);
			break;
		}
	}
	EXPECT_LT(3, n);
	hbitmap_shim_fail_countdown = 0;

	hb = hbitmap_alloc(1 * GiB, 4096, GFP_KERNEL);
	ASSERT_NE(NULL, hb);
	hbitmap_set(hb, 5 * MiB, 1);
	hbitmap_shim_fail_countdown = 2;
	EXPECT_EQ(-ENOMEM, hbitmap_resize(hb, 2 * GiB, GFP_KERNEL));
	hbitmap_shim_fail_countdown = 0;
	EXPECT_TRUE(hbitmap_test(hb, 5 * MiB));		/* unchanged on failure */
	EXPECT_EQ(1 * GiB, hb->size);
	hbitmap_free(hb);
}

TEST(memory_bounds)
{
	/* At most one bit per granule plus 2% for the upper levels. */
	u64 sizes[] = { 64 * MiB, 1 * TiB, 1 * PiB };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		u64 leaf = sizes[i] / (64 * KiB) / 8;
		u64 mem = hbitmap_memory(sizes[i], 64 * KiB);

		EXPECT_LE(mem, leaf + leaf / 50 + 4096) TH_LOG("%llu", (unsigned long long)sizes[i]);
	}
	/* 1 TiB at 64 KiB really allocates. */
	{
		struct hbitmap *hb = hbitmap_alloc(1 * TiB, 64 * KiB, GFP_KERNEL);

		ASSERT_NE(NULL, hb);
		hbitmap_set(hb, 1 * TiB - 1, 1);
		EXPECT_EQ(1 * TiB - 64 * KiB, hbitmap_next_dirty(hb, 0));
		hbitmap_free(hb);
	}
}

TEST(random_against_model)
{
	static const u32 grans[] = { 512, 4096, 64 * KiB, 1 * MiB };
	unsigned int round;

	srand(42);
	for (round = 0; round < 40; round++) {
		u32 gran = grans[round % 4];
		u64 size = (u64)(rand() % 100000 + 1) * (rand() % 3 ? gran : 777);
		struct pair p;
		int op;

		ASSERT_TRUE(pair_init(&p, size, gran));
		for (op = 0; op < 300; op++) {
			u64 off = (u64)rand() * rand() % (size + gran);
			u64 len = (u64)rand() % (size / 8 + 2);

			if (rand() % 3)
				pair_set(&p, off, len);
			else
				pair_clear(&p, off, len);
			EXPECT_EQ(ref_next(&p.r, off, 1), hbitmap_next_dirty(p.hb, off));
			EXPECT_EQ(ref_next(&p.r, off, 0), hbitmap_next_clean(p.hb, off));
		}
		ASSERT_SAME(&p);
		pair_free(&p);
	}
}

/*
 * hbitmap_all_set(), which lets the marking path skip a mark: true only if
 * every granule of the range is set (never a lost mark), and true for
 * every such range within one leaf word (the case it exists for).
 */
TEST(all_set_only_when_every_granule_is)
{
	static const u32 grans[] = { 512, 4096, 64 * KiB };
	unsigned int round;

	srand(7);
	for (round = 0; round < 30; round++) {
		u32 gran = grans[round % 3];
		u64 size = (u64)(rand() % 5000 + 1) * (rand() % 2 ? gran : 777);
		struct pair p;
		int op;

		ASSERT_TRUE(pair_init(&p, size, gran));
		for (op = 0; op < 2000; op++) {
			u64 off = (u64)rand() * rand() % (size + gran);
			u64 len = (u64)rand() % (rand() % 4 ? 70ULL * gran : size + 2);
			u64 first = off / gran, last = (off + len - 1) / gran, g;
			bool all = len && off < size && len <= size - off;

			if (rand() % 4 == 0)
				pair_set(&p, off, len);
			else if (rand() % 8 == 0)
				pair_clear(&p, rand() % size, rand() % (4 * gran));
			for (g = first; all && g <= last; g++)
				all = ref_test(&p.r, g * gran);
			if (hbitmap_all_set(p.hb, off, len)) {
				ASSERT_TRUE(all);
			} else if (all) {
				ASSERT_NE(first / 64, last / 64);
			}
		}
		pair_free(&p);
	}
}

TEST_HARNESS_MAIN
