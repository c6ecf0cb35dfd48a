// SPDX-License-Identifier: GPL-2.0
/*
 * Hierarchical dirty bitmap core.  Plain C shared by dirtybit.ko and the
 * host unit tests (through hbitmap_shim.h); see hbitmap.h for the rules.
 */
#ifdef __KERNEL__
#include <linux/bitops.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/byteorder.h>
#endif

#include "hbitmap.h"

#define HB_CHUNK_MASK	(HBITMAP_CHUNK_WORDS - 1)

static atomic64_t hb_live;

static inline u64 hb_read(const struct hbitmap_level *l, u64 i)
{
	return (u64)atomic64_read(hbitmap_word(l, i));
}

static inline const struct hbitmap_level *hb_leaf(const struct hbitmap *hb)
{
	return &hb->levels[hb->depth - 1];
}

/* Bits [lo, hi] of a word, 0 <= lo <= hi <= 63. */
static inline u64 hb_mask(unsigned int lo, unsigned int hi)
{
	return (~0ULL << lo) & (~0ULL >> (63 - hi));
}

static u64 hb_words(u64 nbits)
{
	return nbits ? (nbits + 63) >> 6 : 1;
}

/*
 * Whether a bitmap of @size bytes at @granularity can be made.
 *
 * Return: 0 if so; -EINVAL if @granularity is not a power of two from
 * 2^HBITMAP_MIN_GRANULARITY_SHIFT to 2^HBITMAP_MAX_GRANULARITY_SHIFT;
 * -E2BIG if @size would take more than HBITMAP_MAX_BITS granules.
 */
int hbitmap_check_params(u64 size, u32 granularity)
{
	unsigned int shift;

	if (!is_power_of_2(granularity))
		return -EINVAL;
	shift = ilog2(granularity);
	if (shift < HBITMAP_MIN_GRANULARITY_SHIFT ||
	    shift > HBITMAP_MAX_GRANULARITY_SHIFT)
		return -EINVAL;
	/* Granules, rounded up, without overflowing size + granularity. */
	if ((size >> shift) + !!(size & (granularity - 1)) > HBITMAP_MAX_BITS)
		return -E2BIG;
	return 0;
}

static u64 hb_nbits(u64 size, unsigned int shift)
{
	return (size >> shift) + !!(size & ((1ULL << shift) - 1));
}

/* Bytes hbitmap_alloc() takes for these parameters (chunk tables included). */
u64 hbitmap_memory(u64 size, u32 granularity)
{
	u64 n = hb_words(hb_nbits(size, ilog2(granularity)));
	u64 bytes = sizeof(struct hbitmap);

	for (;;) {
		u64 nchunks = (n + HB_CHUNK_MASK) >> HBITMAP_CHUNK_SHIFT;

		bytes += n * sizeof(atomic64_t) + nchunks * sizeof(void *);
		if (n == 1)
			return bytes;
		n = (n + 63) >> 6;
	}
}

static void hb_free_level(struct hbitmap_level *l)
{
	u64 c, nchunks = (l->nwords + HB_CHUNK_MASK) >> HBITMAP_CHUNK_SHIFT;

	if (!l->chunks)
		return;
	for (c = 0; c < nchunks; c++)
		kvfree(l->chunks[c]);
	kvfree(l->chunks);
	l->chunks = NULL;
}

/*
 * Allocates level @l, zeroed, in chunks; on failure the caller frees what
 * was allocated (hb_free_level()).
 *
 * Return: 0 on success, -ENOMEM, or -EINTR if the caller was killed.
 */
static int hb_alloc_level(struct hbitmap_level *l, u64 nwords, gfp_t gfp)
{
	u64 c, nchunks = (nwords + HB_CHUNK_MASK) >> HBITMAP_CHUNK_SHIFT;

	l->nwords = nwords;
	l->chunks = kvcalloc(nchunks, sizeof(*l->chunks), gfp);
	if (!l->chunks)
		return -ENOMEM;
	for (c = 0; c < nchunks; c++) {
		u64 n = min_t(u64, nwords - (c << HBITMAP_CHUNK_SHIFT),
			      HBITMAP_CHUNK_WORDS);

		l->chunks[c] = kvcalloc(n, sizeof(atomic64_t), gfp);
		if (!l->chunks[c])
			return -ENOMEM;
		/* A large bitmap takes a while: its caller may be killed. */
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

static void hb_free_levels(struct hbitmap *hb)
{
	unsigned int i;

	for (i = 0; i < hb->depth; i++)
		hb_free_level(&hb->levels[i]);
}

/*
 * Sets up the level geometry of @hb for @size and allocates it, zeroed.
 *
 * Return: 0 on success; -ENOMEM or -EINTR (hb_alloc_level()), with
 * nothing left allocated.
 */
static int hb_init(struct hbitmap *hb, u64 size, unsigned int shift, gfp_t gfp)
{
	u64 n[HBITMAP_MAX_LEVELS];
	unsigned int depth = 0, i;
	int ret;

	hb->size = size;
	hb->shift = shift;
	hb->nbits = hb_nbits(size, shift);
	n[depth++] = hb_words(hb->nbits);
	while (n[depth - 1] > 1) {
		n[depth] = (n[depth - 1] + 63) >> 6;
		depth++;
	}
	hb->depth = depth;
	atomic64_set(&hb->count, 0);
	memset(hb->levels, 0, sizeof(hb->levels));

	for (i = 0; i < depth; i++) {
		/* n[] runs leaf to top; levels[] top to leaf. */
		ret = hb_alloc_level(&hb->levels[depth - 1 - i], n[i], gfp);
		if (ret) {
			hb_free_levels(hb);
			return ret;
		}
	}
	return 0;
}

/*
 * A clean bitmap of @size bytes at @granularity.
 *
 * Return: the bitmap, or NULL if the parameters are refused
 * (hbitmap_check_params()) or the allocation failed or was interrupted.
 */
struct hbitmap *hbitmap_alloc(u64 size, u32 granularity, gfp_t gfp)
{
	struct hbitmap *hb;

	if (hbitmap_check_params(size, granularity))
		return NULL;
	hb = kzalloc(sizeof(*hb), gfp);
	if (!hb)
		return NULL;
	if (hb_init(hb, size, ilog2(granularity), gfp)) {
		kfree(hb);
		return NULL;
	}
	atomic64_add(1, &hb_live);
	return hb;
}

u64 hbitmap_live(void)
{
	return atomic64_read(&hb_live);
}

void hbitmap_free(struct hbitmap *hb)
{
	if (!hb)
		return;
	atomic64_sub(1, &hb_live);
	hb_free_levels(hb);
	kfree(hb);
}

/*
 * Upper levels of a set: called after leaf word @i went from zero to
 * non-zero.  A parent word that was already non-zero has its ancestors set,
 * or has a clearer about to re-check it (hb_clear_parents()).
 */
static void hb_set_parents(struct hbitmap *hb, u64 i)
{
	int lvl;

	for (lvl = hb->depth - 2; lvl >= 0; lvl--) {
		u64 bit = 1ULL << (i & 63);

		i >>= 6;
		if (atomic64_fetch_or(bit, hbitmap_word(&hb->levels[lvl], i)))
			return;
	}
}

/*
 * Upper levels of a clear: called after word @i of level @lvl became zero
 * (or was found zero under a set parent bit).  Each ancestor bit is cleared,
 * then (after the full barrier of the RMW) the child word is read again; a
 * marker that refilled it meanwhile either saw the parent bit still set (and
 * stopped) or will set it after us, so the bit is set back and the walk
 * ends.  Clearers are serialized by the caller.
 */
static void hb_clear_parents(struct hbitmap *hb, int lvl, u64 i)
{
	for (lvl--; lvl >= 0; lvl--) {
		const struct hbitmap_level *child = &hb->levels[lvl + 1];
		atomic64_t *w = hbitmap_word(&hb->levels[lvl], i >> 6);
		u64 bit = 1ULL << (i & 63);
		u64 old;

		old = (u64)atomic64_fetch_andnot(bit, w);
		if (hb_read(child, i)) {
			atomic64_fetch_or(bit, w);
			return;
		}
		if (old & ~bit)
			return;
		i >>= 6;
	}
}

/* Sets @mask in leaf word @i; the marking path's only store. */
static void hb_set_word(struct hbitmap *hb, u64 i, u64 mask)
{
	atomic64_t *w = hbitmap_word(hb_leaf(hb), i);
	u64 old = (u64)atomic64_read(w);

	/* Already dirty: no store, no shared cache line dirtied. */
	if ((old & mask) == mask)
		return;
	old = (u64)atomic64_fetch_or(mask, w);
	if (mask & ~old)
		atomic64_add(hweight64(mask & ~old), &hb->count);
	if (!old)
		hb_set_parents(hb, i);
}

/* The marking path: see hbitmap.h for where it may run. */
void hbitmap_set(struct hbitmap *hb, u64 start, u64 length)
{
	u64 first, last, i;

	if (!length || start >= hb->size)
		return;
	if (length > hb->size - start)
		length = hb->size - start;
	first = start >> hb->shift;
	last = (start + length - 1) >> hb->shift;

	for (i = first >> 6; i <= last >> 6; i++) {
		unsigned int lo = i == first >> 6 ? first & 63 : 0;
		unsigned int hi = i == last >> 6 ? last & 63 : 63;

		hb_set_word(hb, i, hb_mask(lo, hi));
	}
}

/* Clears @mask in leaf word @i and returns the bits that were set. */
static u64 hb_clear_word(struct hbitmap *hb, u64 i, u64 mask)
{
	atomic64_t *w = hbitmap_word(hb_leaf(hb), i);
	u64 old, taken;

	if (mask == ~0ULL)
		old = (u64)atomic64_xchg(w, 0);
	else
		old = (u64)atomic64_fetch_andnot(mask, w);
	taken = old & mask;
	if (!taken)
		return 0;
	atomic64_sub(hweight64(taken), &hb->count);
	if (!(old & ~mask))
		hb_clear_parents(hb, hb->depth - 1, i);
	return taken;
}

/*
 * First set bit at flat index >= @b of level @lvl, or HBITMAP_NONE.  When the
 * rest of @b's word is empty, the parent level names the next non-zero word.
 * A parent bit over an empty word only moves the search on.  Such a stale
 * bit is left when a marker, delayed between its leaf and parent updates,
 * races two clears; with @repair (clearers only, which are serialized) the
 * search clears it.  Recursion depth is bounded by HBITMAP_MAX_LEVELS.
 */
static u64 hb_find(struct hbitmap *hb, int lvl, u64 b, bool repair)
{
	const struct hbitmap_level *l = &hb->levels[lvl];
	u64 w, pw;

	if ((b >> 6) >= l->nwords)
		return HBITMAP_NONE;
	w = hb_read(l, b >> 6) & (~0ULL << (b & 63));
	if (w)
		return (b & ~63ULL) + __ffs64(w);
	if (lvl == 0)
		return HBITMAP_NONE;
	for (pw = (b >> 6) + 1;; pw++) {
		pw = hb_find(hb, lvl - 1, pw, repair);
		if (pw == HBITMAP_NONE)
			return HBITMAP_NONE;
		w = hb_read(l, pw);
		if (w)
			return (pw << 6) + __ffs64(w);
		if (repair)
			hb_clear_parents(hb, lvl, pw);
	}
}

/* Readers never repair, so they never write through the cast. */
static u64 hb_next_set_bit(const struct hbitmap *hb, u64 bit)
{
	u64 found = hb_find((struct hbitmap *)hb, hb->depth - 1, bit, false);

	return found < hb->nbits ? found : HBITMAP_NONE;
}

static u64 hb_next_set_bit_repair(struct hbitmap *hb, u64 bit)
{
	u64 found = hb_find(hb, hb->depth - 1, bit, true);

	return found < hb->nbits ? found : HBITMAP_NONE;
}

static u64 hb_next_clear_bit(const struct hbitmap *hb, u64 bit)
{
	const struct hbitmap_level *leaf = hb_leaf(hb);
	u64 i, w;

	for (i = bit >> 6; i < leaf->nwords; i++) {
		w = ~hb_read(leaf, i);
		if (i == bit >> 6)
			w &= ~0ULL << (bit & 63);
		if (w) {
			bit = (i << 6) + __ffs64(w);
			return bit < hb->nbits ? bit : HBITMAP_NONE;
		}
	}
	return HBITMAP_NONE;
}

bool hbitmap_test(const struct hbitmap *hb, u64 offset)
{
	u64 bit = offset >> hb->shift;

	if (offset >= hb->size)
		return false;
	return hb_read(hb_leaf(hb), bit >> 6) & (1ULL << (bit & 63));
}

u64 hbitmap_count(const struct hbitmap *hb)
{
	s64 n = atomic64_read(&hb->count);

	return n > 0 ? (u64)n << hb->shift : 0;
}

/* First dirty byte at or after @offset, or HBITMAP_NONE. */
u64 hbitmap_next_dirty(const struct hbitmap *hb, u64 offset)
{
	u64 bit;

	if (offset >= hb->size)
		return HBITMAP_NONE;
	bit = hb_next_set_bit(hb, offset >> hb->shift);
	if (bit == HBITMAP_NONE)
		return HBITMAP_NONE;
	return max_t(u64, offset, bit << hb->shift);
}

/* First clean byte at or after @offset, or HBITMAP_NONE. */
u64 hbitmap_next_clean(const struct hbitmap *hb, u64 offset)
{
	u64 bit;

	if (offset >= hb->size)
		return HBITMAP_NONE;
	bit = hb_next_clear_bit(hb, offset >> hb->shift);
	if (bit == HBITMAP_NONE)
		return HBITMAP_NONE;
	return max_t(u64, offset, bit << hb->shift);
}

/*
 * The next coalesced dirty extent in [*cursor, end), clipped to both ends;
 * advances *cursor past it.  False when there is none.
 */
bool hbitmap_next_extent(const struct hbitmap *hb, u64 *cursor, u64 end,
			 struct hbitmap_extent *ext)
{
	u64 start, stop;

	end = min(end, hb->size);
	for (;;) {
		if (*cursor >= end)
			return false;
		start = hbitmap_next_dirty(hb, *cursor);
		if (start >= end) {
			*cursor = end;
			return false;
		}
		stop = min(hbitmap_next_clean(hb, start), end);
		if (stop > start)
			break;
		/* Cleared under a concurrent reader: look past that granule. */
		*cursor = (start | (hbitmap_granularity(hb) - 1)) + 1;
	}
	ext->start = start;
	ext->length = stop - start;
	*cursor = stop;
	return true;
}

/*
 * Calls @fn(leaf word index, bits) with the bits of every leaf word that
 * overlaps [start, start + length), after clearing them.  Visits only words
 * that are non-zero, so the cost follows the dirty set.
 *
 * Return: 0, or the first non-zero return of @fn, which stops the walk.
 */
static int hb_clear_range(struct hbitmap *hb, u64 start, u64 length,
			  int (*fn)(struct hbitmap *hb, u64 i, u64 bits,
				    void *opaque),
			  void *opaque)
{
	u64 first, last, i;
	int ret;

	if (!length || start >= hb->size)
		return 0;
	if (length > hb->size - start)
		length = hb->size - start;
	first = start >> hb->shift;
	last = (start + length - 1) >> hb->shift;

	for (i = first; i <= last; i = ((i >> 6) + 1) << 6) {
		unsigned int hi;
		u64 bits;

		i = hb_next_set_bit_repair(hb, i);
		if (i == HBITMAP_NONE || i > last)
			break;
		hi = (i >> 6) == (last >> 6) ? last & 63 : 63;
		bits = hb_clear_word(hb, i >> 6, hb_mask(i & 63, hi));
		if (bits && fn) {
			ret = fn(hb, i >> 6, bits, opaque);
			if (ret)
				return ret;
		}
	}
	return 0;
}

void hbitmap_clear(struct hbitmap *hb, u64 start, u64 length)
{
	hb_clear_range(hb, start, length, NULL, NULL);
}

struct hb_take_state {
	hbitmap_extent_fn fn;
	void *opaque;
	u64 run_start;		/* granule */
	u64 run_len;		/* granules; 0 when no run is open */
	int err;
};

/*
 * Reports the open run, if any, to the taker.
 *
 * Return: 0, or the error of the taker's callback (the run is set again).
 */
static int hb_take_flush(struct hbitmap *hb, struct hb_take_state *st)
{
	u64 start = st->run_start << hb->shift;
	u64 len = min(st->run_len << hb->shift, hb->size - start);
	int ret;

	if (!st->run_len)
		return 0;
	st->run_len = 0;
	ret = st->fn(st->opaque, start, len);
	if (ret)
		/* Never lose a bit: the caller did not take this run. */
		hbitmap_set(hb, start, len);
	return ret;
}

/*
 * Adds the taken @bits of leaf word @i to the runs, reporting each run
 * that ends.
 *
 * Return: 0, or the error of hb_take_flush() (the word's untaken bits are
 * set again).
 */
static int hb_take_word(struct hbitmap *hb, u64 i, u64 bits, void *opaque)
{
	struct hb_take_state *st = opaque;
	int ret;

	while (bits) {
		unsigned int lo = __ffs64(bits);
		unsigned int n = ~bits >> lo ? __ffs64(~bits >> lo) : 64 - lo;
		u64 g = (i << 6) + lo;

		if (st->run_len && st->run_start + st->run_len == g) {
			st->run_len += n;
		} else {
			ret = hb_take_flush(hb, st);
			if (ret) {
				/* Put back what this word still holds. */
				hb_set_word(hb, i, bits);
				return ret;
			}
			st->run_start = g;
			st->run_len = n;
		}
		bits &= ~hb_mask(lo, lo + n - 1);
	}
	return 0;
}

/*
 * Atomically takes (clears and reports, as coalesced byte extents clipped to
 * the size) every dirty granule overlapping [start, start + length).  If @fn
 * fails, the run it refused and everything not yet reported stay set.
 *
 * Return: 0 once every granule was taken, or the first error of @fn.
 */
int hbitmap_take(struct hbitmap *hb, u64 start, u64 length,
		 hbitmap_extent_fn fn, void *opaque)
{
	struct hb_take_state st = { .fn = fn, .opaque = opaque };
	int ret;

	ret = hb_clear_range(hb, start, length, hb_take_word, &st);
	if (ret)
		return ret;
	return hb_take_flush(hb, &st);
}

/* dst |= src, whatever the two granularities: a dst granule becomes dirty
 * when it overlaps any dirty byte of src.  Clipped to dst's size.
 */
void hbitmap_merge(struct hbitmap *dst, const struct hbitmap *src)
{
	struct hbitmap_extent ext;
	u64 cursor = 0;

	while (hbitmap_next_extent(src, &cursor, src->size, &ext))
		hbitmap_set(dst, ext.start, ext.length);
}

/* Return: a new bitmap with @src's bits, or NULL as hbitmap_alloc(). */
struct hbitmap *hbitmap_copy(const struct hbitmap *src, gfp_t gfp)
{
	struct hbitmap *hb = hbitmap_alloc(src->size, hbitmap_granularity(src),
					   gfp);

	if (hb)
		hbitmap_merge(hb, src);
	return hb;
}

/* Recomputes the upper levels above leaf words [lo, hi]. */
static void hb_rebuild(struct hbitmap *hb, u64 lo, u64 hi)
{
	int lvl;

	for (lvl = hb->depth - 2; lvl >= 0; lvl--) {
		const struct hbitmap_level *child = &hb->levels[lvl + 1];
		u64 p, c;

		for (p = lo >> 6; p <= hi >> 6; p++) {
			u64 w = 0;

			for (c = p << 6; c < child->nwords && c < (p + 1) << 6; c++)
				if (hb_read(child, c))
					w |= 1ULL << (c & 63);
			atomic64_set(hbitmap_word(&hb->levels[lvl], p), w);
		}
		lo >>= 6;
		hi >>= 6;
	}
}

/* Leaf words in the serialized form: ceil(granules / 64), at least 1. */
u64 hbitmap_serialized_words(const struct hbitmap *hb)
{
	return hb_leaf(hb)->nwords;
}

static bool hb_words_in_range(const struct hbitmap *hb, u64 first, u64 n)
{
	u64 total = hb_leaf(hb)->nwords;

	return first <= total && n <= total - first;
}

/*
 * Copies leaf words [first, first + n) as little-endian 64-bit words.
 *
 * Return: 0 on success, -EINVAL if the words are not all within @hb.
 */
int hbitmap_serialize(const struct hbitmap *hb, u64 first_word, u64 nwords,
		      __le64 *out)
{
	u64 k;

	if (!hb_words_in_range(hb, first_word, nwords))
		return -EINVAL;
	for (k = 0; k < nwords; k++)
		out[k] = cpu_to_le64(hb_read(hb_leaf(hb), first_word + k));
	return 0;
}

/* Leaf bits at or beyond nbits never exist: the mask of word @i's valid bits. */
static u64 hb_valid_mask(const struct hbitmap *hb, u64 i)
{
	u64 nbits = hb->nbits;

	if ((i + 1) << 6 <= nbits)
		return ~0ULL;
	if (i << 6 >= nbits)
		return 0;
	return hb_mask(0, (nbits - 1) & 63);
}

/*
 * Replaces leaf words [first, first + n) with little-endian @in (bits past
 * the last granule ignored), then rebuilds the upper levels and the count.
 * Needs exclusive access.
 *
 * Return: 0 on success, -EINVAL (nothing changed) if the words are not all
 * within @hb.
 */
int hbitmap_deserialize(struct hbitmap *hb, u64 first_word, u64 nwords,
			const __le64 *in)
{
	const struct hbitmap_level *leaf = hb_leaf(hb);
	s64 delta = 0;
	u64 k;

	if (!hb_words_in_range(hb, first_word, nwords))
		return -EINVAL;
	if (!nwords)
		return 0;
	for (k = 0; k < nwords; k++) {
		u64 i = first_word + k;
		u64 v = le64_to_cpu(in[k]) & hb_valid_mask(hb, i);

		delta += (s64)hweight64(v) - (s64)hweight64(hb_read(leaf, i));
		atomic64_set(hbitmap_word(leaf, i), v);
	}
	atomic64_add(delta, &hb->count);
	hb_rebuild(hb, first_word, first_word + nwords - 1);
	return 0;
}

/*
 * Truncates or grows @hb to @size bytes, keeping the granularity.  Granules
 * beyond the old end start clean; a partial last granule that grows keeps its
 * bit.  Needs exclusive access; on failure @hb is unchanged.
 *
 * Return: 0 on success; -E2BIG if @size takes too many granules;
 * -ENOMEM, or -EINTR if the caller was killed while allocating.
 */
int hbitmap_resize(struct hbitmap *hb, u64 size, gfp_t gfp)
{
	struct hbitmap tmp;
	u64 i, n, count = 0;
	int ret;

	ret = hbitmap_check_params(size, hbitmap_granularity(hb));
	if (ret)
		return ret;
	ret = hb_init(&tmp, size, hb->shift, gfp);
	if (ret)
		return ret;

	n = min(hb_leaf(hb)->nwords, hb_leaf(&tmp)->nwords);
	for (i = 0; i < n; i++) {
		u64 v = hb_read(hb_leaf(hb), i) & hb_valid_mask(&tmp, i);

		atomic64_set(hbitmap_word(hb_leaf(&tmp), i), v);
		count += hweight64(v);
	}
	atomic64_set(&tmp.count, count);
	hb_rebuild(&tmp, 0, hb_leaf(&tmp)->nwords - 1);

	hb_free_levels(hb);
	*hb = tmp;
	return 0;
}
