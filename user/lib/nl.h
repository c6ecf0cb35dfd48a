/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdirtybit internals: generic netlink requests over libmnl.
 */
#ifndef _LIBDIRTYBIT_NL_H
#define _LIBDIRTYBIT_NL_H

#include <libmnl/libmnl.h>
#include <limits.h>
#include <linux/genetlink.h>

/* Large enough for any message the kernel sends, dump batches included. */
#define DB_RECV_SIZE 32768
/* One bitmap command or transaction action: two paths, two names, the rest. */
#define DB_BITMAP_REQ_SIZE (2 * PATH_MAX + 2 * DIRTYBIT_NAME_MAX + 256)

#include "libdirtybit.h"

/* Called for each reply message; returns MNL_CB_OK/STOP/ERROR. */
typedef int (*db_reply_fn)(const struct nlmsghdr *nlh, void *data);

struct nlmsghdr *db_msg_start(struct dirtybit_ctx *ctx, char *buf,
			      uint8_t cmd, uint16_t flags);
int db_request(struct dirtybit_ctx *ctx, struct nlmsghdr *nlh,
	       db_reply_fn cb, void *data);
void db_put_target(struct nlmsghdr *nlh, const char *target);
int db_target_lookup(struct dirtybit_ctx *ctx, const char *target, struct dirtybit_target *t);
/*
 * An attribute's value into *out if it is well formed (length, and a NUL
 * for strings); a malformed one leaves *out as it was.
 */
void db_attr_u32(const struct nlattr *attr, uint32_t *out);
void db_attr_u64(const struct nlattr *attr, uint64_t *out);
void db_attr_str(const struct nlattr *attr, char *out, size_t size);
int db_fail(struct dirtybit_ctx *ctx, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* _LIBDIRTYBIT_NL_H */
