// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdirtybit: the events multicast group.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nl.h"

const char *dirtybit_event_name(uint32_t event)
{
	static const char *const names[] = {
		[DIRTYBIT_EVENT_TARGET_ATTACHED] = "attached",
		[DIRTYBIT_EVENT_TARGET_DETACHED] = "detached",
		[DIRTYBIT_EVENT_TARGET_GONE] = "gone",
		[DIRTYBIT_EVENT_BITMAP_ADDED] = "added",
		[DIRTYBIT_EVENT_BITMAP_REMOVED] = "removed",
		[DIRTYBIT_EVENT_BITMAP_FROZEN] = "frozen",
		[DIRTYBIT_EVENT_BITMAP_ABDICATED] = "abdicated",
		[DIRTYBIT_EVENT_BITMAP_RECLAIMED] = "reclaimed",
		[DIRTYBIT_EVENT_BITMAP_INCONSISTENT] = "inconsistent",
		[DIRTYBIT_EVENT_BITMAP_ENABLED] = "enabled",
		[DIRTYBIT_EVENT_BITMAP_DISABLED] = "disabled",
		[DIRTYBIT_EVENT_BITMAP_CLEARED] = "cleared",
		[DIRTYBIT_EVENT_BITMAP_MERGED] = "merged",
	};

	if (event < sizeof(names) / sizeof(names[0]) && names[event])
		return names[event];
	return "unknown";
}

static int db_event_attr(const struct nlattr *attr, void *data)
{
	struct dirtybit_event_info *ev = data;

	switch (mnl_attr_get_type(attr)) {
	case DIRTYBIT_A_EVENT:
		db_attr_u32(attr, &ev->event);
		break;
	case DIRTYBIT_A_TARGET_ID:
		db_attr_u32(attr, &ev->target_id);
		break;
	case DIRTYBIT_A_BITMAP_NAME:
		db_attr_str(attr, ev->bitmap, sizeof(ev->bitmap));
		break;
	}
	return MNL_CB_OK;
}

struct db_monitor {
	dirtybit_event_fn fn;
	void *data;
	int ret;
};

static int db_event_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	struct db_monitor *mon = data;
	struct dirtybit_event_info ev = { 0 };

	if (g->cmd != DIRTYBIT_CMD_EVENT)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*g), db_event_attr, &ev);
	mon->ret = mon->fn(&ev, mon->data);
	return mon->ret ? MNL_CB_STOP : MNL_CB_OK;
}

/* Joining twice is harmless: membership is a bit per group. */
int dirtybit_subscribe(struct dirtybit_ctx *ctx)
{
	int grp = ctx->events_group;

	if (!grp)
		return db_fail(ctx, -ENOENT, "the module offers no \"%s\" group",
			       DIRTYBIT_MCGRP_EVENTS);
	if (mnl_socket_setsockopt(ctx->nl, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0)
		return db_fail(ctx, -errno, "joining the events group: %s", strerror(errno));
	return 0;
}

int dirtybit_monitor(struct dirtybit_ctx *ctx, dirtybit_event_fn fn, void *data)
{
	struct db_monitor mon = { .fn = fn, .data = data };
	char buf[DB_RECV_SIZE];
	int ret;

	ret = dirtybit_subscribe(ctx);
	if (ret)
		return ret;
	for (;;) {
		ret = mnl_socket_recvfrom(ctx->nl, buf, sizeof(buf));
		if (ret < 0 && errno == ENOBUFS)
			return db_fail(ctx, -ENOBUFS, "events were lost (receive buffer overrun)");
		if (ret < 0)
			return db_fail(ctx, -errno, "netlink receive: %s", strerror(errno));
		/* Multicast: sequence number 0, sender the kernel (port 0). */
		ret = mnl_cb_run(buf, ret, 0, 0, db_event_cb, &mon);
		if (ret == MNL_CB_STOP && mon.ret)
			return mon.ret;
		if (ret < 0)
			return db_fail(ctx, -errno, "bad event message: %s", strerror(errno));
	}
}
