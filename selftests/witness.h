/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The BPF witness (selftests/bpf/witness.bpf.c) from user space: load and
 * attach it, name the devices it watches, stamp the phase around each cut,
 * collect the completed ranges, and check a bitmap's epochs against them.
 *
 * Phases: 0 until the first cut; 2k - 1 while cut k runs (from just before
 * the request is sent until its answer); 2k after it.  A range completed
 * in phase 2k is in epoch k (from cut k to cut k + 1): DESIGN.md §3 has
 * every write submitted before a cut completed by its end and in the old
 * epoch, every later one in the new, so it was submitted after cut k and
 * before cut k + 1.  One completed while cut k ran may be in either epoch
 * around it: the witness cannot tell which side of the cut's own instant
 * it was.
 */
#ifndef _DIRTYBIT_SELFTEST_WITNESS_H
#define _DIRTYBIT_SELFTEST_WITNESS_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/libbpf.h>

#include "bpf/witness_record.h"
#include "witness.skel.h"

struct witness {
	struct witness_bpf *skel;
	struct ring_buffer *rb;
	struct witness_record *rec;
	size_t n, cap;
};

static inline int witness_collect(void *ctx, void *data, size_t size)
{
	struct witness *w = ctx;

	if (size < sizeof(struct witness_record))
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 65536;
		void *p = realloc(w->rec, cap * sizeof(*w->rec));

		if (!p)
			return -ENOMEM;
		w->rec = p;
		w->cap = cap;
	}
	memcpy(&w->rec[w->n++], data, sizeof(*w->rec));
	return 0;
}

/* Loads and attaches the witness.  Returns 0 or -errno. */
static inline int witness_open(struct witness *w)
{
	int ret;

	memset(w, 0, sizeof(*w));
	w->skel = witness_bpf__open_and_load();
	if (!w->skel)
		return errno ? -errno : -EINVAL;
	ret = witness_bpf__attach(w->skel);
	if (ret)
		return ret;
	w->rb = ring_buffer__new(bpf_map__fd(w->skel->maps.ranges), witness_collect, w, NULL);
	return w->rb ? 0 : -errno;
}

static inline void witness_close(struct witness *w)
{
	ring_buffer__free(w->rb);
	witness_bpf__destroy(w->skel);
	free(w->rec);
	memset(w, 0, sizeof(*w));
}

/* The kernel's dev_t of block device node @path, or 0. */
static inline uint32_t witness_dev(const char *path)
{
	struct stat st;

	if (stat(path, &st) || !S_ISBLK(st.st_mode))
		return 0;
	return major(st.st_rdev) << 20 | minor(st.st_rdev);
}

/* Watches the device @path's completions.  Returns 0 or -errno. */
static inline int witness_watch(struct witness *w, const char *path)
{
	struct witness_seen none = { { 0, 0 } };
	uint32_t dev = witness_dev(path);

	if (!dev)
		return -ENODEV;
	return bpf_map__update_elem(w->skel->maps.devs, &dev, sizeof(dev), &none, sizeof(none),
				    BPF_ANY);
}

/* How many completions each tracepoint saw on @path (zeros if unwatched). */
static inline struct witness_seen witness_seen(struct witness *w, const char *path)
{
	struct witness_seen seen = { { 0, 0 } };
	uint32_t dev = witness_dev(path);

	bpf_map__lookup_elem(w->skel->maps.devs, &dev, sizeof(dev), &seen, sizeof(seen), 0);
	return seen;
}

/* Takes what the ring buffer holds.  Returns 0 or -errno. */
static inline int witness_drain(struct witness *w)
{
	int ret = ring_buffer__consume(w->rb);

	return ret < 0 ? ret : 0;
}

static inline void witness_set_phase(struct witness *w, uint32_t phase)
{
	__atomic_store_n(&w->skel->bss->phase, phase, __ATOMIC_SEQ_CST);
}

static inline uint64_t witness_dropped(struct witness *w)
{
	return __atomic_load_n(&w->skel->bss->dropped, __ATOMIC_SEQ_CST);
}

/* ---- views: a target's bytes as the witnessed devices show them ----------- */

/*
 * A target as the witness sees it: sectors [start, start + nr) of the
 * watched device @dev are the target's bytes from 0 (the target itself, or
 * the disk of a partition: a disk's requests are traced on the whole disk).
 */
struct witness_view {
	uint32_t dev;
	uint64_t start, nr;
	uint64_t size;			/* the target's bytes */
};

/* Calls @fn(arg, off, len) with the part of @r in @v, in @v's bytes. */
static inline void witness_map(const struct witness_view *v, const struct witness_record *r,
			       void (*fn)(void *arg, uint64_t off, uint64_t len), void *arg)
{
	uint64_t lo = r->sector, hi = r->sector + r->nr_sectors;

	if (r->dev != v->dev)
		return;
	if (lo < v->start)
		lo = v->start;
	if (hi > v->start + v->nr)
		hi = v->start + v->nr;
	if (lo < hi)
		fn(arg, (lo - v->start) << 9, (hi - lo) << 9);
}

/* ---- the check ----------------------------------------------------------- */

/* Granule flags of one epoch's check. */
#define WG_DIRTY	1	/* dirty in this epoch */
#define WG_IN		2	/* completed within the epoch */
#define WG_BEFORE	4	/* completed during the cut that opened it */
#define WG_AFTER	8	/* completed during the cut that closed it */
#define WG_NEXT		16	/* dirty in the next epoch */

struct witness_marks {
	unsigned char *g;
	uint64_t gran, ngran, size;
	unsigned char flag;
	uint64_t ranges, bytes;
};

static inline void witness_mark_range(void *arg, uint64_t off, uint64_t len)
{
	struct witness_marks *m = arg;
	uint64_t g;

	if (!len || off >= m->size)
		return;
	if (off + len > m->size)
		len = m->size - off;
	m->ranges++;
	m->bytes += len;
	for (g = off / m->gran; g <= (off + len - 1) / m->gran; g++)
		m->g[g] |= m->flag;
}

/* The block layer's operations the witness records (include/linux/blk_types.h). */
#define WITNESS_OP_WRITE		1
#define WITNESS_OP_DISCARD		3
#define WITNESS_OP_WRITE_ZEROES		9

/* What one epoch's check found. */
struct witness_result {
	uint64_t ranges;	/* witnessed ranges completed within the epoch */
	uint64_t bytes[16];	/* their bytes, by REQ_OP */
	uint64_t dirty;		/* dirty granules */
	uint64_t lost;		/* granules witnessed and not dirty */
	uint64_t extra;		/* dirty granules no witnessed range touched */
	uint64_t first_lost;	/* byte offset of the first lost granule */
	uint64_t ops[16];	/* ranges by REQ_OP */
};

/*
 * Checks epoch @k (k >= 1) of a bitmap of granularity @gran: @dirty and
 * @next are the dirty extents of epochs k and k + 1.  Lost:
 * a granule a range completed in phase 2k touched and epoch k lacks, or
 * one a range completed during cut k + 1 touched and both epochs lack.
 * Extra: a dirty granule of epoch k that no range completed from the start
 * of cut k to the end of cut k + 1 touched.
 */
static inline int witness_check(const struct witness *w, const struct witness_view *v,
				uint32_t gran, unsigned int k,
				const struct db_extent *dirty, long ndirty,
				const struct db_extent *next, long nnext,
				struct witness_result *res)
{
	struct witness_marks m = { .gran = gran, .size = v->size };
	uint64_t g;
	size_t i;
	long e;

	memset(res, 0, sizeof(*res));
	res->first_lost = ~0ULL;
	m.ngran = (v->size + gran - 1) / gran;
	m.g = calloc(m.ngran, 1);
	if (!m.g)
		return -ENOMEM;
	m.flag = WG_DIRTY;
	for (e = 0; e < ndirty; e++)
		witness_mark_range(&m, dirty[e].start, dirty[e].length);
	m.flag = WG_NEXT;
	for (e = 0; e < nnext; e++)
		witness_mark_range(&m, next[e].start, next[e].length);
	for (i = 0; i < w->n; i++) {
		const struct witness_record *r = &w->rec[i];
		uint64_t before = m.ranges, bytes = m.bytes;

		if (r->phase == 2 * k)
			m.flag = WG_IN;
		else if (r->phase == 2 * k - 1)
			m.flag = WG_BEFORE;
		else if (r->phase == 2 * k + 1)
			m.flag = WG_AFTER;
		else
			continue;
		witness_map(v, r, witness_mark_range, &m);
		if (m.flag == WG_IN && m.ranges > before) {
			res->ranges++;
			res->ops[r->op & 15]++;
			res->bytes[r->op & 15] += m.bytes - bytes;
		}
	}
	for (g = 0; g < m.ngran; g++) {
		unsigned char f = m.g[g];
		int lost = ((f & WG_IN) && !(f & WG_DIRTY)) ||
			   ((f & WG_AFTER) && !(f & (WG_DIRTY | WG_NEXT)));

		if (f & WG_DIRTY)
			res->dirty++;
		if (lost) {
			if (!res->lost)
				res->first_lost = g * gran;
			res->lost++;
		}
		if ((f & WG_DIRTY) && !(f & (WG_IN | WG_BEFORE | WG_AFTER)))
			res->extra++;
	}
	free(m.g);
	return 0;
}

#endif /* _DIRTYBIT_SELFTEST_WITNESS_H */
