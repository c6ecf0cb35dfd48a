// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdirtybit: the control socket, family resolution, and request/reply
 * handling with the kernel's extack messages.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "nl.h"

int db_fail(struct dirtybit_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
	return err;
}

void db_attr_u32(const struct nlattr *attr, uint32_t *out)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		*out = mnl_attr_get_u32(attr);
}

void db_attr_u64(const struct nlattr *attr, uint64_t *out)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U64) == 0)
		*out = mnl_attr_get_u64(attr);
}

void db_attr_str(const struct nlattr *attr, char *out, size_t size)
{
	if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(out, size, "%s", mnl_attr_get_str(attr));
}

struct nlmsghdr *db_msg_start(struct dirtybit_ctx *ctx, char *buf,
			      uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = ctx->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++ctx->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = DIRTYBIT_GENL_VERSION;
	return nlh;
}

static int db_extack_attr(const struct nlattr *attr, void *data)
{
	const char **msg = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		*msg = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

/* What mnl_cb_run2() hands every callback, control ones included. */
struct db_call {
	struct dirtybit_ctx *ctx;
	db_reply_fn cb;
	void *data;
};

static int db_reply_cb(const struct nlmsghdr *nlh, void *data)
{
	struct db_call *call = data;

	return call->cb ? call->cb(nlh, call->data) : MNL_CB_OK;
}

/* NLMSG_ERROR: an ACK (error 0) or a refusal with its extack message. */
static int db_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dirtybit_ctx *ctx = ((struct db_call *)data)->ctx;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const char *msg = NULL;
	unsigned int off = sizeof(*e);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return db_fail(ctx, MNL_CB_ERROR, "truncated netlink error");
	if (e->error == 0)
		return MNL_CB_STOP;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(e->msg);
		mnl_attr_parse(nlh, off, db_extack_attr, &msg);
	}
	if (msg && *msg)
		db_fail(ctx, e->error, "%s (%s)", msg, strerror(-e->error));
	else
		db_fail(ctx, e->error, "%s", strerror(-e->error));
	errno = -e->error;
	return MNL_CB_ERROR;
}

/* NLMSG_DONE ends a dump; it carries the dump's error, if any. */
static int db_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dirtybit_ctx *ctx = ((struct db_call *)data)->ctx;
	int err = 0;

	if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(err)))
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	if (!err)
		return MNL_CB_STOP;
	db_fail(ctx, err, "%s", strerror(-err));
	errno = -err;
	return MNL_CB_ERROR;
}

/* Sends @nlh and runs @cb on every reply until the ACK (or the end of a
 * dump).  0 or -errno, with ctx->err set.
 */
int db_request(struct dirtybit_ctx *ctx, struct nlmsghdr *nlh,
	       db_reply_fn cb, void *data)
{
	static const mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = db_error_cb,
		[NLMSG_DONE] = db_done_cb,
	};
	struct db_call call = { .ctx = ctx, .cb = cb, .data = data };
	char buf[DB_RECV_SIZE];
	uint32_t seq = nlh->nlmsg_seq;
	int ret;

	ctx->err[0] = '\0';
	if (mnl_socket_sendto(ctx->nl, nlh, nlh->nlmsg_len) < 0)
		return db_fail(ctx, -errno, "netlink send: %s", strerror(errno));
	for (;;) {
		ret = mnl_socket_recvfrom(ctx->nl, buf, sizeof(buf));
		if (ret < 0)
			return db_fail(ctx, -errno, "netlink receive: %s", strerror(errno));
		errno = 0;
		ret = mnl_cb_run2(buf, ret, seq, ctx->portid, db_reply_cb, &call,
				  (mnl_cb_t *)ctl, NLMSG_MIN_TYPE);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret < 0) {
			int err = errno ? -errno : -EPROTO;

			if (!ctx->err[0])
				db_fail(ctx, err, "%s", strerror(-err));
			return err;
		}
	}
}

struct db_family {
	uint16_t id;
	uint32_t version;
	uint32_t events_group;
};

struct db_mcgrp {
	char name[GENL_NAMSIZ];
	uint32_t id;
};

/* One entry of CTRL_ATTR_MCAST_GROUPS: a name and an id. */
static int db_mcgrp_attr(const struct nlattr *attr, void *data)
{
	struct db_mcgrp *g = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_MCAST_GRP_NAME)
		db_attr_str(attr, g->name, sizeof(g->name));
	if (mnl_attr_get_type(attr) == CTRL_ATTR_MCAST_GRP_ID)
		db_attr_u32(attr, &g->id);
	return MNL_CB_OK;
}

static void db_family_groups(const struct nlattr *groups, struct db_family *f)
{
	const struct nlattr *grp;

	mnl_attr_for_each_nested(grp, groups) {
		struct db_mcgrp g = { "", 0 };

		mnl_attr_parse_nested(grp, db_mcgrp_attr, &g);
		if (!strcmp(g.name, DIRTYBIT_MCGRP_EVENTS))
			f->events_group = g.id;
	}
}

static int db_family_attr(const struct nlattr *attr, void *data)
{
	struct db_family *f = data;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_FAMILY_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
			f->id = mnl_attr_get_u16(attr);
		break;
	case CTRL_ATTR_VERSION:
		db_attr_u32(attr, &f->version);
		break;
	case CTRL_ATTR_MCAST_GROUPS:
		db_family_groups(attr, f);
		break;
	}
	return MNL_CB_OK;
}

static int db_family_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), db_family_attr, data);
	return MNL_CB_OK;
}

int dirtybit_open(struct dirtybit_ctx *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct db_family fam = { 0 };
	struct nlmsghdr *nlh;
	int one = 1, ret;

	memset(ctx, 0, sizeof(*ctx));
	ctx->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!ctx->nl)
		return db_fail(ctx, -errno, "netlink socket: %s", strerror(errno));
	mnl_socket_setsockopt(ctx->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(ctx->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(ctx->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = db_fail(ctx, -errno, "netlink bind: %s", strerror(errno));
		goto err_close;
	}
	ctx->portid = mnl_socket_get_portid(ctx->nl);

	/* Resolving the family makes the kernel autoload the module. */
	ctx->family = GENL_ID_CTRL;
	nlh = db_msg_start(ctx, buf, CTRL_CMD_GETFAMILY, 0);
	((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, DIRTYBIT_GENL_NAME);
	ret = db_request(ctx, nlh, db_family_cb, &fam);
	if (ret == -ENOENT || (!ret && !fam.id)) {
		ret = db_fail(ctx, -ENOENT,
			      "kernel module not loaded (no generic netlink family \"%s\"; try 'modprobe dirtybit')",
			      DIRTYBIT_GENL_NAME);
		goto err_close;
	}
	if (ret)
		goto err_close;
	if (fam.version != DIRTYBIT_GENL_VERSION) {
		ret = db_fail(ctx, -EPROTO, "kernel speaks protocol %u, this program %u",
			      fam.version, DIRTYBIT_GENL_VERSION);
		goto err_close;
	}
	ctx->family = fam.id;
	ctx->events_group = fam.events_group;
	return 0;

err_close:
	mnl_socket_close(ctx->nl);
	ctx->nl = NULL;
	return ret;
}

void dirtybit_close(struct dirtybit_ctx *ctx)
{
	if (ctx->nl)
		mnl_socket_close(ctx->nl);
	ctx->nl = NULL;
}
