// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdirtybit: bitmap commands, bitmap listings and extent dumps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nl.h"

/* The attributes of bitmap command @cmd, in a request or an ACTION nest. */
static int db_put_bitmap_req(struct dirtybit_ctx *ctx, struct nlmsghdr *nlh, uint8_t cmd,
			     const struct dirtybit_bitmap_req *req)
{
	struct dirtybit_target src = { 0 };
	int ret;

	if (strlen(req->target) >= PATH_MAX || strlen(req->name) >= DIRTYBIT_NAME_MAX ||
	    (req->source && strlen(req->source) >= DIRTYBIT_NAME_MAX))
		return db_fail(ctx, -ENAMETOOLONG, "target path or bitmap name too long");
	/* Merge sources are named by target id: resolve a path first. */
	if (cmd == DIRTYBIT_CMD_BITMAP_MERGE && req->source_target) {
		ret = db_target_lookup(ctx, req->source_target, &src);
		if (ret)
			return ret;
	}
	db_put_target(nlh, req->target);
	mnl_attr_put_strz(nlh, DIRTYBIT_A_BITMAP_NAME, req->name);
	if (cmd == DIRTYBIT_CMD_BITMAP_ADD && req->granularity)
		mnl_attr_put_u32(nlh, DIRTYBIT_A_BITMAP_GRANULARITY, req->granularity);
	if (cmd == DIRTYBIT_CMD_BITMAP_ADD && req->disabled)
		mnl_attr_put(nlh, DIRTYBIT_A_BITMAP_DISABLED, 0, NULL);
	if (cmd == DIRTYBIT_CMD_BITMAP_FREEZE && req->next_pass)
		mnl_attr_put(nlh, DIRTYBIT_A_BITMAP_NEXT_PASS, 0, NULL);
	if (cmd == DIRTYBIT_CMD_BITMAP_RECLAIM && req->force)
		mnl_attr_put(nlh, DIRTYBIT_A_FORCE, 0, NULL);
	if (cmd == DIRTYBIT_CMD_BITMAP_ABDICATE && req->keep) {
		mnl_attr_put_u64(nlh, DIRTYBIT_A_RANGE_START, req->keep_start);
		mnl_attr_put_u64(nlh, DIRTYBIT_A_RANGE_LENGTH, req->keep_len);
		if (req->keep_all)
			mnl_attr_put(nlh, DIRTYBIT_A_RANGE_ALL, 0, NULL);
	}
	if (cmd == DIRTYBIT_CMD_BITMAP_MERGE) {
		struct nlattr *all = mnl_attr_nest_start(nlh, DIRTYBIT_A_BITMAP_SOURCES);
		struct nlattr *one = mnl_attr_nest_start(nlh, DIRTYBIT_A_SOURCE);

		if (src.id)
			mnl_attr_put_u32(nlh, DIRTYBIT_A_TARGET_ID, src.id);
		mnl_attr_put_strz(nlh, DIRTYBIT_A_BITMAP_NAME, req->source);
		mnl_attr_nest_end(nlh, one);
		mnl_attr_nest_end(nlh, all);
	}
	return 0;
}

int dirtybit_bitmap(struct dirtybit_ctx *ctx, uint8_t cmd,
		    const struct dirtybit_bitmap_req *req)
{
	char buf[DB_BITMAP_REQ_SIZE];
	struct nlmsghdr *nlh = db_msg_start(ctx, buf, cmd, 0);
	int ret = db_put_bitmap_req(ctx, nlh, cmd, req);

	return ret ? ret : db_request(ctx, nlh, NULL, NULL);
}

int dirtybit_transaction(struct dirtybit_ctx *ctx, const struct dirtybit_tx_action *acts,
			 unsigned int n)
{
	struct nlmsghdr *nlh;
	struct nlattr *all;
	unsigned int i;
	char *buf;
	int ret = 0;

	if (!n || n > DIRTYBIT_MAX_ACTIONS)
		return db_fail(ctx, -EINVAL, "a transaction takes 1 to %d actions",
			       DIRTYBIT_MAX_ACTIONS);
	buf = malloc((size_t)n * DB_BITMAP_REQ_SIZE);
	if (!buf)
		return db_fail(ctx, -ENOMEM, "out of memory");
	nlh = db_msg_start(ctx, buf, DIRTYBIT_CMD_TRANSACTION, 0);
	all = mnl_attr_nest_start(nlh, DIRTYBIT_A_ACTIONS);
	for (i = 0; i < n && !ret; i++) {
		struct nlattr *one = mnl_attr_nest_start(nlh, DIRTYBIT_A_ACTION);

		mnl_attr_put_u32(nlh, DIRTYBIT_A_ACTION_CMD, acts[i].cmd);
		ret = db_put_bitmap_req(ctx, nlh, acts[i].cmd, &acts[i].req);
		mnl_attr_nest_end(nlh, one);
	}
	mnl_attr_nest_end(nlh, all);
	if (!ret)
		ret = db_request(ctx, nlh, NULL, NULL);
	free(buf);
	return ret;
}

static int db_bitmap_attr(const struct nlattr *attr, void *data)
{
	struct dirtybit_bitmap *b = data;

	switch (mnl_attr_get_type(attr)) {
	case DIRTYBIT_A_TARGET_ID:
		db_attr_u32(attr, &b->target_id);
		break;
	case DIRTYBIT_A_BITMAP_NAME:
		db_attr_str(attr, b->name, sizeof(b->name));
		break;
	case DIRTYBIT_A_BITMAP_GRANULARITY:
		db_attr_u32(attr, &b->granularity);
		break;
	case DIRTYBIT_A_BITMAP_FLAGS:
		db_attr_u32(attr, &b->flags);
		break;
	case DIRTYBIT_A_BITMAP_COUNT:
		db_attr_u64(attr, &b->count);
		break;
	case DIRTYBIT_A_BITMAP_SUCCESSOR_COUNT:
		db_attr_u64(attr, &b->successor_count);
		break;
	}
	return MNL_CB_OK;
}

struct db_bitmap_walk {
	dirtybit_bitmap_fn fn;
	void *data;
};

static int db_bitmap_cb(const struct nlmsghdr *nlh, void *data)
{
	struct db_bitmap_walk *w = data;
	struct dirtybit_bitmap b = { 0 };

	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), db_bitmap_attr, &b);
	return w->fn(&b, w->data) ? MNL_CB_STOP : MNL_CB_OK;
}

int dirtybit_bitmaps(struct dirtybit_ctx *ctx, const char *target,
		     dirtybit_bitmap_fn fn, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct db_bitmap_walk w = { fn, data };
	struct nlmsghdr *nlh;

	nlh = db_msg_start(ctx, buf, DIRTYBIT_CMD_BITMAP_GET, NLM_F_DUMP);
	if (target)
		db_put_target(nlh, target);
	return db_request(ctx, nlh, db_bitmap_cb, &w);
}

struct db_bitmap_find {
	const char *name;
	struct dirtybit_bitmap *out;
	bool found;
};

static int db_bitmap_find_cb(const struct dirtybit_bitmap *b, void *data)
{
	struct db_bitmap_find *f = data;

	if (!strcmp(b->name, f->name)) {
		*f->out = *b;
		f->found = true;
	}
	return 0;
}

int dirtybit_bitmap_get(struct dirtybit_ctx *ctx, const char *target, const char *name,
			struct dirtybit_bitmap *b)
{
	struct db_bitmap_find f = { name, b, false };
	int ret = dirtybit_bitmaps(ctx, target, db_bitmap_find_cb, &f);

	if (!ret && !f.found)
		ret = db_fail(ctx, -ENOENT, "no bitmap %s on %s", name, target);
	return ret;
}

struct db_extent_walk {
	dirtybit_extent_fn fn;
	void *data;
	bool *changed;
	int stopped;
};

static int db_extent_cb(const struct nlmsghdr *nlh, void *data)
{
	struct db_extent_walk *w = data;
	const struct nlattr *a, *e, *x;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR && w->changed)
		*w->changed = true;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) != DIRTYBIT_A_EXTENTS)
			continue;
		mnl_attr_for_each_nested(e, a) {
			uint64_t start = 0, length = 0;

			mnl_attr_for_each_nested(x, e) {
				if (mnl_attr_get_type(x) == DIRTYBIT_A_EXTENT_START)
					db_attr_u64(x, &start);
				else if (mnl_attr_get_type(x) == DIRTYBIT_A_EXTENT_LENGTH)
					db_attr_u64(x, &length);
			}
			/* Keep reading to the end of the dump, but stop calling. */
			if (!w->stopped && w->fn(start, length, w->data))
				w->stopped = 1;
		}
	}
	return MNL_CB_OK;
}

int dirtybit_extents(struct dirtybit_ctx *ctx, const char *target, const char *name,
		     dirtybit_extent_fn fn, void *data, bool *changed)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct db_extent_walk w = { fn, data, changed, 0 };
	struct nlmsghdr *nlh;

	if (changed)
		*changed = false;
	nlh = db_msg_start(ctx, buf, DIRTYBIT_CMD_EXTENTS_GET, NLM_F_DUMP);
	db_put_target(nlh, target);
	mnl_attr_put_strz(nlh, DIRTYBIT_A_BITMAP_NAME, name);
	return db_request(ctx, nlh, db_extent_cb, &w);
}
