// SPDX-License-Identifier: GPL-2.0
/*
 * Differential fuzzer: random operation sequences on the hbitmap core and on
 * the naive model, every observable compared after each step.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>

#include "hbitmap_ref.h"

long hbitmap_shim_fail_countdown;

struct input {
	const uint8_t *p;
	size_t left;
};

static u64 take_bytes(struct input *in, int n)
{
	u64 v = 0;

	while (n--) {
		v = v << 8 | (in->left ? *in->p : 0);
		if (in->left) {
			in->p++;
			in->left--;
		}
	}
	return v;
}

/* Sizes: mostly a few thousand granules, one in eight past 2^18 (so ranges
 * cross upper-level words); often not a multiple of the granularity. */
static u64 pick_size(struct input *in, u32 gran)
{
	u64 granules = take_bytes(in, 2) % 5000 + (take_bytes(in, 1) % 8 == 0 ? 260000 : 0);

	return granules * gran + take_bytes(in, 2) % gran;
}

static u32 pick_gran(struct input *in)
{
	return 1U << (9 + take_bytes(in, 1) % 12);	/* 512 B .. 1 MiB */
}

/* An offset within (or just past) the bitmap, biased to interesting edges. */
static u64 pick_off(struct input *in, u64 size, u32 gran)
{
	u64 v = take_bytes(in, 4);

	switch (v & 3) {
	case 0:
		return (v >> 2) % (size + 1);
	case 1:
		return ((v >> 2) % (size / gran + 1)) * gran;
	case 2:
		return ((v >> 2) % (size / (gran * 64ULL) + 1)) * gran * 64 - (v >> 20 & 1) * gran;
	default:
		return size - ((v >> 2) % (2ULL * gran) + 1) % (size + 1);
	}
}

static void fail(const char *what, const char *why)
{
	fprintf(stderr, "mismatch after %s: %s\n", what, why);
	abort();
}

static void check(const struct hbitmap *hb, const struct ref *r, const char *what)
{
	char why[256];

	if (hbitmap_compare(hb, r, why, sizeof(why)))
		fail(what, why);
}

struct take_log {
	struct ref *r;		/* taken granules are cleared here */
	u64 lo, hi;		/* the range asked for */
	int refuse;		/* refuse the Nth extent, -1 never */
	int n;
};

static int take_cb(void *opaque, u64 start, u64 len)
{
	struct take_log *t = opaque;
	u64 g;

	if (t->n++ == t->refuse)
		return -EIO;
	/* Every reported granule must be dirty in the model and overlap the range. */
	for (g = start >> t->r->shift; g <= (start + len - 1) >> t->r->shift; g++) {
		if (!t->r->bit[g])
			fail("take", "reported a clean granule");
		if (((g + 1) << t->r->shift) <= t->lo || (g << t->r->shift) >= t->hi)
			fail("take", "reported outside the range");
		t->r->bit[g] = 0;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	u32 ga = pick_gran(&in), gb = pick_gran(&in);
	u64 sa = pick_size(&in, ga), sb = pick_size(&in, gb);
	struct hbitmap *a = hbitmap_alloc(sa, ga, GFP_KERNEL);
	struct hbitmap *b = hbitmap_alloc(sb, gb, GFP_KERNEL);
	struct ref ra, rb;
	int steps = 0;

	assert(a && b);
	ref_init(&ra, sa, ga);
	ref_init(&rb, sb, gb);

	while (in.left && steps++ < 64) {
		u64 op = take_bytes(&in, 1) % 10;
		u64 off = pick_off(&in, ra.size, ga);
		u64 len = take_bytes(&in, 3) * (take_bytes(&in, 1) % 4 ? 1 : ga);

		switch (op) {
		case 0:
		case 1:
			if (op)
				hbitmap_mark(a, off, len);	/* the marking path's */
			else
				hbitmap_set(a, off, len);
			ref_fill(&ra, off, len, 1);
			check(a, &ra, "set");
			break;
		case 2:
			hbitmap_clear(a, off, len);
			ref_fill(&ra, off, len, 0);
			check(a, &ra, "clear");
			break;
		case 3: {
			struct take_log t = { &ra, off, len > ~0ULL - off ? ~0ULL : off + len,
					      (int)(take_bytes(&in, 1) % 8) - 2, 0 };
			int ret = hbitmap_take(a, off, len, take_cb, &t);

			if ((ret != 0) != (t.refuse >= 0 && t.n > t.refuse))
				fail("take", "wrong return");
			/* A complete take leaves nothing in the range. */
			if (!ret && len && off < ra.size)
				ref_fill(&ra, off, len, 0);
			check(a, &ra, "take");
			break;
		}
		case 4: {
			u64 boff = pick_off(&in, rb.size, gb);

			hbitmap_set(b, boff, len);
			ref_fill(&rb, boff, len, 1);
			check(b, &rb, "set b");
			break;
		}
		case 5:
			hbitmap_merge(a, b);
			ref_merge(&ra, &rb);
			check(a, &ra, "merge");
			check(b, &rb, "merge source");
			break;
		case 6: {
			u64 n = hbitmap_serialized_words(a);
			__le64 *buf = calloc(n, sizeof(*buf));
			struct hbitmap *c = hbitmap_alloc(sa, ga, GFP_KERNEL);
			u64 split = n ? take_bytes(&in, 2) % n : 0;

			assert(buf && c);
			hbitmap_set(c, off, len);	/* overwritten */
			if (hbitmap_serialize(a, 0, n, buf) ||
			    hbitmap_deserialize(c, 0, split, buf) ||
			    hbitmap_deserialize(c, split, n - split, buf + split))
				fail("serialize", "refused a valid range");
			check(c, &ra, "deserialize");
			free(buf);
			hbitmap_free(c);
			break;
		}
		case 7: {
			u64 ns = pick_size(&in, ga);
			struct ref nr;
			u64 g;

			if (hbitmap_resize(a, ns, GFP_KERNEL))
				fail("resize", "refused");
			ref_init(&nr, ns, ga);
			for (g = 0; g < nr.nbits && g < ra.nbits; g++)
				nr.bit[g] = ra.bit[g];
			ref_free(&ra);
			ra = nr;
			sa = ns;
			check(a, &ra, "resize");
			break;
		}
		case 8: {
			struct hbitmap *c = hbitmap_copy(a, GFP_KERNEL);

			assert(c);
			check(c, &ra, "copy");
			hbitmap_free(c);
			break;
		}
		default:
			if (hbitmap_next_dirty(a, off) != ref_next(&ra, off, 1))
				fail("next_dirty", "differs");
			if (hbitmap_next_clean(a, off) != ref_next(&ra, off, 0))
				fail("next_clean", "differs");
			if (hbitmap_test(a, off) != ref_test(&ra, off))
				fail("test", "differs");
			break;
		}
	}
	hbitmap_free(a);
	hbitmap_free(b);
	ref_free(&ra);
	ref_free(&rb);
	return 0;
}
