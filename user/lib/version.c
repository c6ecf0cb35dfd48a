// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdirtybit: DIRTYBIT_CMD_GET_VERSION.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nl.h"

static int db_version_attr(const struct nlattr *attr, void *data)
{
	struct dirtybit_version *v = data;

	switch (mnl_attr_get_type(attr)) {
	case DIRTYBIT_A_VERSION_MODULE:
		db_attr_str(attr, v->module, sizeof(v->module));
		break;
	case DIRTYBIT_A_VERSION_PROTOCOL:
		db_attr_u32(attr, &v->protocol);
		break;
	}
	return MNL_CB_OK;
}

static int db_version_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), db_version_attr, data);
	return MNL_CB_OK;
}

int dirtybit_get_version(struct dirtybit_ctx *ctx, struct dirtybit_version *v)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	memset(v, 0, sizeof(*v));
	nlh = db_msg_start(ctx, buf, DIRTYBIT_CMD_GET_VERSION, 0);
	return db_request(ctx, nlh, db_version_cb, v);
}
