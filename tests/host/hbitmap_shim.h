/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel primitives kmod/hbitmap.c uses, for building it on the host.
 * Atomics are sequentially consistent, as the kernel's value-returning ones.
 */
#ifndef _HBITMAP_SHIM_H
#define _HBITMAP_SHIM_H

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t u64;
typedef int64_t s64;
typedef uint32_t u32;
typedef uint64_t __le64;
typedef unsigned int gfp_t;

#define GFP_KERNEL 0u

typedef struct {
	s64 counter;
} atomic64_t;

#define SC __ATOMIC_SEQ_CST
static inline s64 atomic64_read(const atomic64_t *v)
{
	return __atomic_load_n(&v->counter, SC);
}

static inline void atomic64_set(atomic64_t *v, s64 i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic64_add(s64 i, atomic64_t *v)
{
	__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic64_sub(s64 i, atomic64_t *v)
{
	__atomic_fetch_sub(&v->counter, i, __ATOMIC_RELAXED);
}

static inline s64 atomic64_fetch_or(s64 i, atomic64_t *v)
{
	return __atomic_fetch_or(&v->counter, i, SC);
}

static inline s64 atomic64_fetch_andnot(s64 i, atomic64_t *v)
{
	return __atomic_fetch_and(&v->counter, ~i, SC);
}

static inline s64 atomic64_xchg(atomic64_t *v, s64 i)
{
	return __atomic_exchange_n(&v->counter, i, SC);
}
#undef SC

#define hweight64(x) ((unsigned int)__builtin_popcountll(x))
#define __ffs64(x) ((unsigned int)__builtin_ctzll(x))
#define ilog2(x) (63 - __builtin_clzll((u64)(x)))
#define is_power_of_2(x) ((x) != 0 && (((x) & ((x) - 1)) == 0))
/* Each argument evaluated once, as the kernel's: they may be racy reads. */
#define BIT_ULL(n) (1ULL << (n))
#define min(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a < _b ? _a : _b; })
#define min_t(t, a, b) ({ t _a = (a); t _b = (b); _a < _b ? _a : _b; })
#define max_t(t, a, b) ({ t _a = (a); t _b = (b); _a > _b ? _a : _b; })
#define cpu_to_le64(x) htole64(x)
#define le64_to_cpu(x) le64toh(x)
#define cond_resched() do { } while (0)
#define fatal_signal_pending(task) false

/* Allocation failure injection for the unit tests: fail the Nth call. */
extern long hbitmap_shim_fail_countdown;

static inline bool hbitmap_shim_fail(void)
{
	return hbitmap_shim_fail_countdown > 0 && --hbitmap_shim_fail_countdown == 0;
}

static inline void *kvcalloc(size_t n, size_t size, gfp_t gfp)
{
	(void)gfp;
	return hbitmap_shim_fail() ? NULL : calloc(n, size);
}

static inline void *kzalloc(size_t size, gfp_t gfp)
{
	return kvcalloc(1, size, gfp);
}

#define kvfree(p) free(p)
#define kfree(p) free(p)

#endif /* _HBITMAP_SHIM_H */
