// SPDX-License-Identifier: GPL-2.0
/*
 * The pass engine (see passes.h).
 *
 * Pass 1 copies the first cut's set with the writers running.  After each
 * pass the engine asks how much was written since its cut: when that is at
 * most the threshold, or the pass limit is reached, the next pass is the
 * last one — the writers are quiesced, a last cut taken, the rest copied,
 * the quiesced hook run and the writers resumed — so the copy equals the
 * source at that last cut, and the writers stop only for the last pass.
 * Otherwise the next pass runs live.  The last pass's time is estimated
 * from the live passes' copy rate before anything is quiesced; one that
 * would take longer than allowed cancels instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "util.h"

static int stopped(const struct pass_ops *ops, const struct pass_opts *o)
{
	return stop_requested(o->stop, ops->err, ops->errlen);
}

/* Too slow to quiesce for: -ETIME with the reason, else 0. */
static int too_long(const struct pass_ops *ops, const struct pass_opts *o, uint64_t pending,
		    uint64_t live_bytes, double live_seconds)
{
	double rate, estimate;

	if (o->max_freeze <= 0 || !live_bytes || live_seconds <= 0)
		return 0;
	rate = live_bytes / live_seconds;
	estimate = pending / rate;
	if (estimate <= o->max_freeze)
		return 0;
	return errf(ops->err, ops->errlen, -ETIME,
		    "cancelled before quiescing: the last pass would take about %.2f s (%llu bytes left at %.1f MB/s), more than --max-freeze %.2f s; the writers are faster than the copy: allow more, or back up when they are quieter",
		    estimate, (unsigned long long)pending, rate / 1e6, o->max_freeze);
}

int passes_run(const struct pass_ops *ops, void *arg, const struct pass_opts *o,
	       struct pass_result *res)
{
	unsigned int max = o->max_passes ? o->max_passes : PASSES_DEFAULT, k;
	double t0 = mono_now(), live_seconds = 0, tq = 0, t;
	uint64_t pending = 0, live_bytes = 0;
	int ret = 0, r;

	memset(res, 0, sizeof(*res));
	if (max > PASSES_MAX)
		max = PASSES_MAX;
	for (k = 0; !ret; k++) {
		struct pass_stat *p = &res->pass[k];
		bool last = k + 1 >= max || (k && pending <= o->threshold);

		if (last && ops->quiesce) {
			ret = stopped(ops, o);
			if (!ret)
				ret = too_long(ops, o, pending, live_bytes, live_seconds);
			if (ret)
				break;
			tq = mono_now();
			p->quiesced = true;
			ret = ops->quiesce(arg);
		}
		t = mono_now();
		if (!ret && k)
			ret = ops->next_cut(arg);
		else if (!ret && ops->first_cut)
			ret = ops->first_cut(arg);
		if (!ret)
			ret = ops->copy(arg, k, &p->bytes);
		p->seconds = mono_now() - t;
		if (!ret && last && ops->quiesced)
			ret = ops->quiesced(arg);
		if (p->quiesced) {
			r = ops->resume(arg, ret);
			if (!ret)
				ret = r;
			res->quiesced_seconds = mono_now() - tq;
		}
		res->npasses = k + 1;
		if (ops->report)
			ops->report(arg, k, p->bytes, p->seconds, p->quiesced);
		if (!ret)
			ret = stopped(ops, o);
		if (ret || last)
			break;
		live_bytes += p->bytes;
		live_seconds += p->seconds;
		ret = ops->pending(arg, &pending);
	}
	res->seconds = mono_now() - t0;
	return ret;
}

int passes_parse_threshold(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned int shift;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (!*end) {
		if (v > UINT64_MAX / 4096)
			return -EINVAL;
		*bytes = v * 4096;	/* pages, as image save always took */
		return 0;
	}
	switch (*end | 0x20) {
	case 'k':
		shift = 10;
		break;
	case 'm':
		shift = 20;
		break;
	case 'g':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (v > UINT64_MAX >> shift || (end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B")))
		return -EINVAL;
	*bytes = (uint64_t)v << shift;
	return 0;
}

int passes_parse_duration(const char *s, double *seconds)
{
	const char *p;
	char *end;
	double v;

	/* Decimal only: digits and at most one point, then the unit. */
	for (p = s; (*p >= '0' && *p <= '9') || *p == '.'; p++)
		;
	if (p == s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end != p)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		v /= 1000;
	else if (!strcmp(end, "min"))
		v *= 60;
	else if (*end && strcmp(end, "s"))
		return -EINVAL;
	if (!(v >= 1e-3) || v > 1e6)
		return -EINVAL;
	*seconds = v;
	return 0;
}
