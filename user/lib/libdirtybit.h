/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdirtybit: all of the dirtybit CLI's kernel access, for agents to link.
 *
 * Every call returns 0 (or a positive count) on success and a negative errno
 * on failure, with a one-line human-readable reason in ctx->err: the kernel's
 * extack message when it sent one.
 */
#ifndef _LIBDIRTYBIT_H
#define _LIBDIRTYBIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/dirtybit.h>

struct mnl_socket;

struct dirtybit_ctx {
	struct mnl_socket *nl;
	uint16_t family;
	uint32_t portid;
	uint32_t seq;
	char err[512];
};

struct dirtybit_version {
	char module[DIRTYBIT_VERSION_LEN];
	uint32_t protocol;
};

/* Opens the control socket and resolves the family; -ENOENT with a clear
 * message when the module is not loaded (and could not be autoloaded).
 */
int dirtybit_open(struct dirtybit_ctx *ctx);
void dirtybit_close(struct dirtybit_ctx *ctx);

int dirtybit_get_version(struct dirtybit_ctx *ctx, struct dirtybit_version *v);

#endif /* _LIBDIRTYBIT_H */
