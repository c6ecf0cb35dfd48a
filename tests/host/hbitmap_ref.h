/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The naive model the hbitmap core is checked against (one byte per
 * granule), and a checker of the core's structural invariants.
 */
#ifndef _HBITMAP_REF_H
#define _HBITMAP_REF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hbitmap.h"

struct ref {
	u64 size;
	unsigned int shift;
	u64 nbits;
	unsigned char *bit;
};

static inline void ref_init(struct ref *r, u64 size, u32 granularity)
{
	r->size = size;
	r->shift = ilog2(granularity);
	r->nbits = (size + granularity - 1) >> r->shift;
	r->bit = calloc(r->nbits + 1, 1);
}

static inline void ref_free(struct ref *r)
{
	free(r->bit);
	r->bit = NULL;
}

static inline void ref_fill(struct ref *r, u64 start, u64 len, unsigned char v)
{
	u64 g, end;

	if (!len || start >= r->size)
		return;
	end = len > r->size - start ? r->size : start + len;
	for (g = start >> r->shift; g <= (end - 1) >> r->shift; g++)
		r->bit[g] = v;
}

static inline bool ref_test(const struct ref *r, u64 off)
{
	return off < r->size && r->bit[off >> r->shift];
}

static inline u64 ref_count(const struct ref *r)
{
	u64 g, n = 0;

	for (g = 0; g < r->nbits; g++)
		n += r->bit[g];
	return n << r->shift;
}

static inline u64 ref_next(const struct ref *r, u64 off, unsigned char v)
{
	u64 g;

	if (off >= r->size)
		return HBITMAP_NONE;
	for (g = off >> r->shift; g < r->nbits; g++)
		if (r->bit[g] == v)
			return (g << r->shift) > off ? g << r->shift : off;
	return HBITMAP_NONE;
}

/* ref |= src, any granularity: every granule overlapping a dirty byte of
 * src (a partial last granule of src covers only up to src's size).
 */
static inline void ref_merge(struct ref *r, const struct ref *src)
{
	u64 g, start, len;

	for (g = 0; g < src->nbits; g++) {
		if (!src->bit[g])
			continue;
		start = g << src->shift;
		len = 1ULL << src->shift;
		if (len > src->size - start)
			len = src->size - start;
		ref_fill(r, start, len, 1);
	}
}

/* Upper levels exact, unused leaf bits clear, count exact: 0 or a reason. */
static inline const char *hbitmap_check_invariants(const struct hbitmap *hb)
{
	u64 i, n = 0;
	int lvl;

#define W(l, i) ((u64)(hb)->levels[l].chunks[(i) >> HBITMAP_CHUNK_SHIFT] \
		 [(i) & (HBITMAP_CHUNK_WORDS - 1)].counter)
	if (hb->levels[0].nwords != 1)
		return "top level is not one word";
	for (lvl = 0; lvl < (int)hb->depth - 1; lvl++) {
		const struct hbitmap_level *c = &hb->levels[lvl + 1];

		for (i = 0; i < hb->levels[lvl].nwords * 64; i++) {
			bool up = W(lvl, i >> 6) >> (i & 63) & 1;
			bool down = i < c->nwords && W(lvl + 1, i) != 0;

			if (up != down)
				return up ? "upper bit over an empty word" :
					    "non-empty word without its upper bit";
		}
	}
	for (i = 0; i < hb->levels[hb->depth - 1].nwords; i++) {
		u64 w = W(hb->depth - 1, i);

		u64 valid = i * 64 + 64 <= hb->nbits ? ~0ULL :
			    i * 64 >= hb->nbits ? 0 : (1ULL << (hb->nbits & 63)) - 1;

		if (w & ~valid)
			return "bit set beyond the last granule";
		n += __builtin_popcountll(w);
	}
#undef W
	if ((u64)hb->count.counter != n)
		return "cached count differs from the leaf";
	return NULL;
}

/* Compares every observable of @hb with @r; 0 or a reason in @why. */
static inline int hbitmap_compare(const struct hbitmap *hb, const struct ref *r,
				  char *why, size_t len)
{
	struct hbitmap_extent e;
	const char *inv = hbitmap_check_invariants(hb);
	u64 g, cur = 0, expect;

	if (inv) {
		snprintf(why, len, "invariant: %s", inv);
		return -1;
	}
	if (hbitmap_count(hb) != ref_count(r)) {
		snprintf(why, len, "count %llu != %llu", (unsigned long long)hbitmap_count(hb),
			 (unsigned long long)ref_count(r));
		return -1;
	}
	/*
	 * test() on every granule of small bitmaps, on a stride of large ones
	 * (the extent walk below covers every granule anyway).
	 */
	for (g = 0; g < r->nbits; g += r->nbits > 8192 ? 61 : 1) {
		if (hbitmap_test(hb, g << r->shift) != r->bit[g]) {
			snprintf(why, len, "granule %llu differs", (unsigned long long)g);
			return -1;
		}
	}
	/* Extents: coalesced, in order, clipped to the size, covering exactly. */
	expect = 0;
	while (hbitmap_next_extent(hb, &cur, r->size, &e)) {
		u64 s = ref_next(r, expect, 1);
		u64 t;

		if (s != e.start) {
			snprintf(why, len, "extent starts at %llu, model %llu",
				 (unsigned long long)e.start, (unsigned long long)s);
			return -1;
		}
		t = ref_next(r, s, 0);
		if (t == HBITMAP_NONE)
			t = r->size;
		if (e.length != t - s) {
			snprintf(why, len, "extent at %llu: length %llu, model %llu",
				 (unsigned long long)s, (unsigned long long)e.length,
				 (unsigned long long)(t - s));
			return -1;
		}
		expect = t;
	}
	if (ref_next(r, expect, 1) != HBITMAP_NONE) {
		snprintf(why, len, "extent at %llu missing",
			 (unsigned long long)ref_next(r, expect, 1));
		return -1;
	}
	return 0;
}

#endif /* _HBITMAP_REF_H */
