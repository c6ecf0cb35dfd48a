/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hierarchical dirty bitmap: the core every dirtybit target uses.
 *
 * One bit per granule at the bottom (leaf) level; each upper level holds one
 * bit per 64-bit word of the level below, set when that word is non-zero, up
 * to a single top word.  Finding the next dirty granule costs O(levels) and
 * walking or clearing the dirty set costs O(dirty), not O(size).
 *
 * Storage is split into chunks of HBITMAP_CHUNK_WORDS words so that no single
 * allocation exceeds what kvmalloc() accepts, however large the device.
 *
 * Concurrency:
 * - hbitmap_set() may run on any number of CPUs at once, concurrently with
 *   everything else below except hbitmap_resize(), hbitmap_deserialize() and
 *   hbitmap_free(); it never sleeps, never allocates, takes no lock and can be
 *   called with preemption or interrupts disabled.
 * - The modifying operations hbitmap_clear(), hbitmap_take(),
 *   hbitmap_merge() (on its destination) must be serialized against each
 *   other by the caller.  They never sleep either, but cost O(dirty), so
 *   they belong in process context.
 * - hbitmap_resize() and hbitmap_deserialize() need exclusive access.
 * - Readers (test, count, next_dirty/next_clean, next_extent, serialize,
 *   copy/merge on their source) may run concurrently with marking and see
 *   each leaf word atomically: a granule marked before the read started is
 *   seen, one marked during it may or may not be.  Between a concurrent clear
 *   and mark an upper-level bit may briefly be set over an all-zero word;
 *   readers skip such words, so it costs a look, never a result.  Every
 *   0->1 and 1->0 leaf transition is counted once, so hbitmap_count() is
 *   exact whenever no modification is in flight (and never reported < 0).
 * - hbitmap_take() atomically clears and reports granules word by word: a
 *   granule marked at any time is either reported by some take or still set.
 */
#ifndef _DIRTYBIT_HBITMAP_H
#define _DIRTYBIT_HBITMAP_H

#ifdef __KERNEL__
#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/types.h>
#else
#include "hbitmap_shim.h"
#endif

#define HBITMAP_MIN_GRANULARITY_SHIFT	9	/* 512 bytes */
#define HBITMAP_MAX_GRANULARITY_SHIFT	31	/* 2 GiB, like QEMU */
#define HBITMAP_MAX_BITS_SHIFT		40	/* 2^40 granules */
#define HBITMAP_MAX_BITS		BIT_ULL(HBITMAP_MAX_BITS_SHIFT)
#define HBITMAP_MAX_LEVELS		8	/* 64^7 >= 2^40 */
#define HBITMAP_CHUNK_SHIFT		16	/* 64 Ki words = 512 KiB */
#define HBITMAP_CHUNK_WORDS		BIT_ULL(HBITMAP_CHUNK_SHIFT)
#define HBITMAP_NONE			(~0ULL)

struct hbitmap_level {
	atomic64_t **chunks;
	u64 nwords;
};

struct hbitmap {
	u64 size;			/* bytes covered */
	u64 nbits;			/* granules */
	unsigned int shift;		/* log2(granularity) */
	unsigned int depth;		/* levels; [depth - 1] is the leaf */
	atomic64_t count;		/* set leaf bits */
	struct hbitmap_level levels[HBITMAP_MAX_LEVELS];
};

struct hbitmap_extent {
	u64 start;			/* bytes */
	u64 length;			/* bytes */
};

/* Reports one coalesced run of taken granules; non-zero to stop (the
 * run and everything not yet reported are set again).
 */
typedef int (*hbitmap_extent_fn)(void *opaque, u64 start, u64 length);

int hbitmap_check_params(u64 size, u32 granularity);
struct hbitmap *hbitmap_alloc(u64 size, u32 granularity, gfp_t gfp);
void hbitmap_free(struct hbitmap *hb);
/* hbitmaps allocated and not yet freed, for leak checks. */
u64 hbitmap_live(void);
struct hbitmap *hbitmap_copy(const struct hbitmap *src, gfp_t gfp);
u64 hbitmap_memory(u64 size, u32 granularity);

static inline u32 hbitmap_granularity(const struct hbitmap *hb)
{
	return 1U << hb->shift;
}

void hbitmap_set(struct hbitmap *hb, u64 start, u64 length);

/* Word @i of level @l. */
static inline atomic64_t *hbitmap_word(const struct hbitmap_level *l, u64 i)
{
	return &l->chunks[i >> HBITMAP_CHUNK_SHIFT][i & (HBITMAP_CHUNK_WORDS - 1)];
}

/*
 * Is [@start, @start + @length) within one leaf word whose bits are all set
 * already?  Then marking it would store nothing.  False says nothing more.
 */
static inline bool hbitmap_all_set(const struct hbitmap *hb, u64 start, u64 length)
{
	u64 first = start >> hb->shift, last, mask;

	if (!length || start >= hb->size || length > hb->size - start)
		return false;
	last = (start + length - 1) >> hb->shift;
	if (first >> 6 != last >> 6)
		return false;
	mask = (~0ULL << (first & 63)) & (~0ULL >> (63 - (last & 63)));
	return ((u64)atomic64_read(hbitmap_word(&hb->levels[hb->depth - 1], first >> 6)) &
		mask) == mask;
}

/*
 * hbitmap_set(), with the common case of a busy device decided inline: a
 * range whose bits are all set already, where hbitmap_set() would find
 * nothing to store either.
 */
static inline void hbitmap_mark(struct hbitmap *hb, u64 start, u64 length)
{
	if (!hbitmap_all_set(hb, start, length))
		hbitmap_set(hb, start, length);
}

void hbitmap_clear(struct hbitmap *hb, u64 start, u64 length);
bool hbitmap_test(const struct hbitmap *hb, u64 offset);
u64 hbitmap_count(const struct hbitmap *hb);
u64 hbitmap_next_dirty(const struct hbitmap *hb, u64 offset);
u64 hbitmap_next_clean(const struct hbitmap *hb, u64 offset);
bool hbitmap_next_extent(const struct hbitmap *hb, u64 *cursor, u64 end,
			 struct hbitmap_extent *ext);
void hbitmap_merge(struct hbitmap *dst, const struct hbitmap *src);
int hbitmap_take(struct hbitmap *hb, u64 start, u64 length,
		 hbitmap_extent_fn fn, void *opaque);

u64 hbitmap_serialized_words(const struct hbitmap *hb);
int hbitmap_serialize(const struct hbitmap *hb, u64 first_word, u64 nwords,
		      __le64 *out);
int hbitmap_deserialize(struct hbitmap *hb, u64 first_word, u64 nwords,
			const __le64 *in);
int hbitmap_resize(struct hbitmap *hb, u64 size, gfp_t gfp);

#endif /* _DIRTYBIT_HBITMAP_H */
