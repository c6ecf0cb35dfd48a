/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dirtybit requests for the selftests, on the raw client in nl.h: targets,
 * bitmap actions, transactions, bitmap state and extent dumps.
 */
#ifndef _DIRTYBIT_SELFTEST_DB_H
#define _DIRTYBIT_SELFTEST_DB_H

#include <stdint.h>
#include <stdlib.h>
#include <linux/dirtybit.h>

#include "module.h"
#include "nl.h"

struct db {
	struct nl nl;
	int family;
	/* dumps (db_dump()): parts received by the last one, and a hook run
	 * once after its first part (to change the bitmap under the dump)
	 */
	int dump_parts;
	void (*dump_hook)(void *arg);
	void *dump_hook_arg;
};

static inline int db_open(struct db *db)
{
	int ret;

	memset(db, 0, sizeof(*db));
	ret = nl_open(&db->nl);

	if (ret)
		return ret;
	db->family = nl_family(&db->nl, DIRTYBIT_GENL_NAME);
	return db->family < 0 ? db->family : 0;
}

static inline void db_msg(struct db *db, struct nl_msg *m, int cmd)
{
	nl_msg_init(m, db->family, cmd, DIRTYBIT_GENL_VERSION);
}

static inline void db_put_str(struct nl_msg *m, int type, const char *s)
{
	nl_put(m, type, s, strlen(s) + 1);
}

static inline void db_put_u32(struct nl_msg *m, int type, uint32_t v)
{
	nl_put(m, type, &v, sizeof(v));
}

static inline void db_put_u64(struct nl_msg *m, int type, uint64_t v)
{
	nl_put(m, type, &v, sizeof(v));
}

static inline struct nlattr *db_nest(struct nl_msg *m, int type)
{
	return nl_put(m, type | NLA_F_NESTED, NULL, 0);
}

static inline void db_nest_end(struct nl_msg *m, struct nlattr *nest)
{
	nest->nla_len = (unsigned char *)m->data + m->len - (unsigned char *)nest;
}

/* The events multicast group's id, from the controller; -errno. */
static inline int db_events_group(struct nl *nl)
{
	static unsigned char reply[8192];
	struct nlattr *grps, *grp, *a;
	struct nl_msg m;
	int ret;

	nl_msg_init(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	nl_put(&m, CTRL_ATTR_FAMILY_NAME, DIRTYBIT_GENL_NAME, sizeof(DIRTYBIT_GENL_NAME));
	ret = nl_send(nl, &m, reply, sizeof(reply));
	if (ret < 0)
		return ret;
	grps = nl_attr(reply, ret, CTRL_ATTR_MCAST_GROUPS);
	if (!grps)
		return -ENOENT;
	nl_for_each_nested(grp, grps)
		nl_for_each_nested(a, grp)
			if (a->nla_type == CTRL_ATTR_MCAST_GRP_ID)
				return *(uint32_t *)nl_attr_data(a);
	return -ENOENT;
}

/* Sends @m; the u32 attribute @type of the reply, or -errno (-EPROTO: absent). */
static inline long db_request_u32(struct db *db, struct nl_msg *m, int type)
{
	static unsigned char reply[4096];
	struct nlattr *a;
	int ret = nl_send(&db->nl, m, reply, sizeof(reply));

	if (ret < 0)
		return ret;
	a = nl_attr(reply, ret, type);
	return a ? (long)*(uint32_t *)nl_attr_data(a) : -EPROTO;
}

/* Attaches @path; returns the target id or -errno. */
static inline int db_attach(struct db *db, const char *path)
{
	struct nl_msg m;

	db_msg(db, &m, DIRTYBIT_CMD_TARGET_ATTACH);
	db_put_str(&m, DIRTYBIT_A_TARGET_PATH, path);
	return (int)db_request_u32(db, &m, DIRTYBIT_A_TARGET_ID);
}

/* A target by device path, or by id written in decimal (as the CLI does). */
static inline void db_put_target(struct nl_msg *m, const char *target)
{
	if (target[0] >= '0' && target[0] <= '9')
		db_put_u32(m, DIRTYBIT_A_TARGET_ID, (uint32_t)strtoul(target, NULL, 10));
	else
		db_put_str(m, DIRTYBIT_A_TARGET_PATH, target);
}

static inline int db_detach(struct db *db, const char *target)
{
	struct nl_msg m;

	db_msg(db, &m, DIRTYBIT_CMD_TARGET_DETACH);
	db_put_target(&m, target);
	return nl_send(&db->nl, &m, NULL, 0);
}

/* The attributes of a bitmap action, inside a request or an ACTION nest. */
static inline void db_put_action(struct nl_msg *m, const char *target, const char *name)
{
	db_put_target(m, target);
	db_put_str(m, DIRTYBIT_A_BITMAP_NAME, name);
}

/* A target's state (live, gone), asked by id, which outlives the device;
 * ~0U if the request failed.
 */
static inline uint32_t db_target_state(struct db *db, const char *id)
{
	struct nl_msg m;
	long state;

	db_msg(db, &m, DIRTYBIT_CMD_TARGET_GET);
	db_put_target(&m, id);
	state = db_request_u32(db, &m, DIRTYBIT_A_TARGET_STATE);
	return state < 0 ? ~0U : (uint32_t)state;
}

/* remove, clear, enable, disable, freeze, abdicate, reclaim */
static inline int db_bitmap(struct db *db, int cmd, const char *path, const char *name)
{
	struct nl_msg m;

	db_msg(db, &m, cmd);
	db_put_action(&m, path, name);
	return nl_send(&db->nl, &m, NULL, 0);
}

/*
 * @cmd (ABDICATE) with RANGE_START @start, RANGE_LENGTH @len (~0: none, the
 * rest) and, if @all, RANGE_ALL: the frozen bits kept, every granule of
 * them with @all.
 */
static inline int db_bitmap_range(struct db *db, int cmd, const char *path, const char *name,
				  uint64_t start, uint64_t len, int all)
{
	struct nl_msg m;

	db_msg(db, &m, cmd);
	db_put_action(&m, path, name);
	db_put_u64(&m, DIRTYBIT_A_RANGE_START, start);
	if (len != ~0ULL)
		db_put_u64(&m, DIRTYBIT_A_RANGE_LENGTH, len);
	if (all)
		nl_put(&m, DIRTYBIT_A_RANGE_ALL, NULL, 0);
	return nl_send(&db->nl, &m, NULL, 0);
}

/* FREEZE with BITMAP_NEXT_PASS: the next pass's cut of a frozen bitmap. */
static inline int db_next_pass(struct db *db, const char *path, const char *name)
{
	struct nl_msg m;

	db_msg(db, &m, DIRTYBIT_CMD_BITMAP_FREEZE);
	db_put_action(&m, path, name);
	nl_put(&m, DIRTYBIT_A_BITMAP_NEXT_PASS, NULL, 0);
	return nl_send(&db->nl, &m, NULL, 0);
}

static inline int db_add(struct db *db, const char *path, const char *name,
			 uint32_t gran, int disabled)
{
	struct nl_msg m;

	db_msg(db, &m, DIRTYBIT_CMD_BITMAP_ADD);
	db_put_action(&m, path, name);
	if (gran)
		db_put_u32(&m, DIRTYBIT_A_BITMAP_GRANULARITY, gran);
	if (disabled)
		nl_put(&m, DIRTYBIT_A_BITMAP_DISABLED, NULL, 0);
	return nl_send(&db->nl, &m, NULL, 0);
}

/* dst |= src (src on target @src_id, 0: the same target). */
static inline int db_merge(struct db *db, const char *path, const char *dst,
			   uint32_t src_id, const char *src)
{
	struct nlattr *nest, *one;
	struct nl_msg m;

	db_msg(db, &m, DIRTYBIT_CMD_BITMAP_MERGE);
	db_put_action(&m, path, dst);
	nest = db_nest(&m, DIRTYBIT_A_BITMAP_SOURCES);
	one = db_nest(&m, DIRTYBIT_A_SOURCE);
	if (src_id)
		db_put_u32(&m, DIRTYBIT_A_TARGET_ID, src_id);
	db_put_str(&m, DIRTYBIT_A_BITMAP_NAME, src);
	db_nest_end(&m, one);
	db_nest_end(&m, nest);
	return nl_send(&db->nl, &m, NULL, 0);
}

struct db_tx_action {
	int cmd;
	const char *path;
	const char *name;
};

/* @next_pass[i] (NULL: none): action i, a FREEZE, is a next pass. */
static inline int db_transaction_passes(struct db *db, const struct db_tx_action *acts, int n,
					const int *next_pass)
{
	struct nlattr *nest, *one;
	struct nl_msg m;
	int i;

	db_msg(db, &m, DIRTYBIT_CMD_TRANSACTION);
	nest = db_nest(&m, DIRTYBIT_A_ACTIONS);
	for (i = 0; i < n; i++) {
		one = db_nest(&m, DIRTYBIT_A_ACTION);
		db_put_u32(&m, DIRTYBIT_A_ACTION_CMD, acts[i].cmd);
		db_put_action(&m, acts[i].path, acts[i].name);
		if (next_pass && next_pass[i])
			nl_put(&m, DIRTYBIT_A_BITMAP_NEXT_PASS, NULL, 0);
		db_nest_end(&m, one);
	}
	db_nest_end(&m, nest);
	return nl_send(&db->nl, &m, NULL, 0);
}

static inline int db_transaction(struct db *db, const struct db_tx_action *acts, int n)
{
	return db_transaction_passes(db, acts, n, NULL);
}

struct db_bitmap_info {
	uint32_t granularity;
	uint32_t flags;
	uint64_t count;
	uint64_t successor_count;
};

static inline int db_info(struct db *db, const char *path, const char *name,
			  struct db_bitmap_info *bi)
{
	static unsigned char reply[4096];
	struct nl_msg m;
	struct nlattr *a;
	int ret;

	db_msg(db, &m, DIRTYBIT_CMD_BITMAP_GET);
	db_put_action(&m, path, name);
	ret = nl_send(&db->nl, &m, reply, sizeof(reply));
	if (ret < 0)
		return ret;
	memset(bi, 0, sizeof(*bi));
	if ((a = nl_attr(reply, ret, DIRTYBIT_A_BITMAP_GRANULARITY)))
		bi->granularity = *(uint32_t *)nl_attr_data(a);
	if ((a = nl_attr(reply, ret, DIRTYBIT_A_BITMAP_FLAGS)))
		bi->flags = *(uint32_t *)nl_attr_data(a);
	if ((a = nl_attr(reply, ret, DIRTYBIT_A_BITMAP_COUNT)))
		memcpy(&bi->count, nl_attr_data(a), 8);
	if ((a = nl_attr(reply, ret, DIRTYBIT_A_BITMAP_SUCCESSOR_COUNT)))
		memcpy(&bi->successor_count, nl_attr_data(a), 8);
	return 0;
}

/* db_dump()'s wrapper of the caller's @fn. */
struct db_dump {
	struct db *db;
	nl_reply_fn fn;
	void *arg;
	int *intr;
};

static inline int db_dump_reply(struct nlmsghdr *r, void *arg)
{
	struct db_dump *d = arg;

	if (!r) {
		if (d->db->nl.reads == 1 && d->db->dump_hook)
			d->db->dump_hook(d->db->dump_hook_arg);
		return 0;
	}
	if (d->intr && (r->nlmsg_flags & NLM_F_DUMP_INTR))
		*d->intr = 1;
	return d->fn(r, d->arg);
}

/*
 * Sends @m as a dump and reads it to its end, each part's messages to
 * @fn.  db->dump_parts counts the reads it took and db->dump_hook runs once
 * after the first; *intr (if set) is set when a part came flagged
 * NLM_F_DUMP_INTR.  Returns 0 or -errno.
 */
static inline int db_dump(struct db *db, struct nl_msg *m, nl_reply_fn fn, void *arg, int *intr)
{
	struct db_dump d = { db, fn, arg, intr };
	int ret;

	((struct nlmsghdr *)m->data)->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	if (intr)
		*intr = 0;
	ret = nl_exchange(&db->nl, m, db_dump_reply, &d);
	db->dump_parts = db->nl.reads;
	return ret;
}

struct db_extent {
	uint64_t start, length;
};

struct db_extents {
	struct db_extent *out;
	long max, n;
};

/* The extents of one part of an EXTENTS_GET dump. */
static inline int db_extents_part(struct nlmsghdr *r, void *arg)
{
	struct db_extents *x = arg;
	struct nlattr *nest = nl_attr(r, r->nlmsg_len, DIRTYBIT_A_EXTENTS), *e, *a;

	if (!nest)
		return 0;
	nl_for_each_nested(e, nest) {
		uint64_t v[2] = { 0, 0 };

		nl_for_each_nested(a, e) {
			if (a->nla_type == DIRTYBIT_A_EXTENT_START)
				memcpy(&v[0], nl_attr_data(a), 8);
			if (a->nla_type == DIRTYBIT_A_EXTENT_LENGTH)
				memcpy(&v[1], nl_attr_data(a), 8);
		}
		if (x->n < x->max) {
			x->out[x->n].start = v[0];
			x->out[x->n].length = v[1];
		}
		x->n++;
	}
	return 0;
}

/*
 * Dumps the extents of a bitmap within [@start, @start + @len) (@len 0: to
 * the end) into @out (at most @max).  Returns how many (more than @max
 * means they did not all fit) or -errno; *intr is set when a part came
 * flagged NLM_F_DUMP_INTR.
 */
static inline long db_extents_in(struct db *db, const char *path, const char *name,
				 uint64_t start, uint64_t len,
				 struct db_extent *out, long max, int *intr)
{
	struct db_extents x = { out, max, 0 };
	struct nl_msg m;
	int ret;

	db_msg(db, &m, DIRTYBIT_CMD_EXTENTS_GET);
	db_put_action(&m, path, name);
	if (start)
		db_put_u64(&m, DIRTYBIT_A_RANGE_START, start);
	if (len)
		db_put_u64(&m, DIRTYBIT_A_RANGE_LENGTH, len);
	ret = db_dump(db, &m, db_extents_part, &x, intr);
	return ret ? ret : x.n;
}

static inline long db_extents(struct db *db, const char *path, const char *name,
			      struct db_extent *out, long max, int *intr)
{
	return db_extents_in(db, path, name, 0, 0, out, max, intr);
}

#endif /* _DIRTYBIT_SELFTEST_DB_H */
