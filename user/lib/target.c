// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdirtybit: targets (attach, detach, list): block devices and regions.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nl.h"

/*
 * A target by decimal id, by device path (a block device or a region's
 * node: anything with a '/'), or by region name (anything else, which the
 * kernel resolves: a region name has no '/').
 */
void db_put_target(struct nlmsghdr *nlh, const char *target)
{
	const char *p = target;

	while (*p && isdigit((unsigned char)*p))
		p++;
	if (*target && !*p)
		mnl_attr_put_u32(nlh, DIRTYBIT_A_TARGET_ID, (uint32_t)strtoul(target, NULL, 10));
	else if (strchr(target, '/'))
		mnl_attr_put_strz(nlh, DIRTYBIT_A_TARGET_PATH, target);
	else
		mnl_attr_put_strz(nlh, DIRTYBIT_A_REGION_NAME, target);
}

static int db_target_attr(const struct nlattr *attr, void *data)
{
	struct dirtybit_target *t = data;

	switch (mnl_attr_get_type(attr)) {
	case DIRTYBIT_A_TARGET_ID:
		db_attr_u32(attr, &t->id);
		break;
	case DIRTYBIT_A_TARGET_DEV:
		db_attr_u32(attr, &t->dev);
		break;
	case DIRTYBIT_A_TARGET_STATE:
		db_attr_u32(attr, &t->state);
		break;
	case DIRTYBIT_A_TARGET_NAME:
		db_attr_str(attr, t->name, sizeof(t->name));
		break;
	case DIRTYBIT_A_TARGET_START:
		db_attr_u64(attr, &t->start);
		break;
	case DIRTYBIT_A_TARGET_SIZE:
		db_attr_u64(attr, &t->size);
		break;
	case DIRTYBIT_A_TARGET_OVERFLOWS:
		db_attr_u64(attr, &t->overflows);
		break;
	case DIRTYBIT_A_TARGET_KIND:
		db_attr_u32(attr, &t->kind);
		break;
	case DIRTYBIT_A_REGION_FLAGS:
		db_attr_u32(attr, &t->region_flags);
		break;
	}
	return MNL_CB_OK;
}

struct db_target_walk {
	dirtybit_target_fn fn;
	void *data;
	struct dirtybit_target *out;
};

static int db_target_cb(const struct nlmsghdr *nlh, void *data)
{
	struct db_target_walk *w = data;
	struct dirtybit_target t = { 0 };

	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), db_target_attr, &t);
	if (w->out)
		*w->out = t;
	if (w->fn && w->fn(&t, w->data))
		return MNL_CB_STOP;
	return MNL_CB_OK;
}

int dirtybit_attach(struct dirtybit_ctx *ctx, const char *path, struct dirtybit_target *t)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct db_target_walk w = { .out = t };
	struct nlmsghdr *nlh;

	nlh = db_msg_start(ctx, buf, DIRTYBIT_CMD_TARGET_ATTACH, 0);
	mnl_attr_put_strz(nlh, DIRTYBIT_A_TARGET_PATH, path);
	return db_request(ctx, nlh, db_target_cb, &w);
}

int dirtybit_detach(struct dirtybit_ctx *ctx, const char *target)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = db_msg_start(ctx, buf, DIRTYBIT_CMD_TARGET_DETACH, 0);
	db_put_target(nlh, target);
	return db_request(ctx, nlh, NULL, NULL);
}

int dirtybit_targets(struct dirtybit_ctx *ctx, const char *target,
		     dirtybit_target_fn fn, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct db_target_walk w = { .fn = fn, .data = data };
	struct nlmsghdr *nlh;

	nlh = db_msg_start(ctx, buf, DIRTYBIT_CMD_TARGET_GET, target ? 0 : NLM_F_DUMP);
	if (target)
		db_put_target(nlh, target);
	return db_request(ctx, nlh, db_target_cb, &w);
}

static int db_copy_target(const struct dirtybit_target *t, void *data)
{
	*(struct dirtybit_target *)data = *t;
	return 0;
}

int db_target_lookup(struct dirtybit_ctx *ctx, const char *target, struct dirtybit_target *t)
{
	return dirtybit_targets(ctx, target, db_copy_target, t);
}

int dirtybit_target_get(struct dirtybit_ctx *ctx, const char *target, struct dirtybit_target *t)
{
	return db_target_lookup(ctx, target, t);
}
