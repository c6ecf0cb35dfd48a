/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * dirtybit: in-kernel write tracking for block devices and memory regions.
 *
 * The one contract between dirtybit.ko and userspace.  Two planes:
 *
 *   control  generic netlink family "dirtybit" (DIRTYBIT_GENL_NAME),
 *            version DIRTYBIT_GENL_VERSION, autoloaded by family name.
 *   data     the misc device /dev/dirtybit, ioctls below.
 *
 * Generic netlink
 * ---------------
 *
 * Every command is validated strictly against its own policy: an attribute
 * the command does not take is refused with -EINVAL and an extack message.
 * State-changing or activity-revealing commands need CAP_NET_ADMIN
 * (GENL_ADMIN_PERM); the version query does not.
 *
 *   DIRTYBIT_CMD_GET_VERSION            (do)
 *     request:  no attributes
 *     reply:    DIRTYBIT_A_VERSION_MODULE    NLA_NUL_STRING  "0.1.0"
 *               DIRTYBIT_A_VERSION_PROTOCOL  NLA_U32         DIRTYBIT_GENL_VERSION
 *
 * /dev/dirtybit
 * -------------
 *
 *   DIRTYBIT_IOC_VERSION   struct dirtybit_ioc_version   (read/write)
 *     in:   size = sizeof(struct dirtybit_ioc_version), reserved all zero
 *     out:  protocol, module version string
 *
 * Every ioctl argument starts with a __u32 size, carries only fixed-width
 * fields with explicit padding, passes user pointers as __u64, and has its
 * reserved fields checked for zero (-EINVAL otherwise), so the layout is the
 * same on i386, x32 and x86-64.
 */
#ifndef _UAPI_LINUX_DIRTYBIT_H
#define _UAPI_LINUX_DIRTYBIT_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define DIRTYBIT_GENL_NAME	"dirtybit"
#define DIRTYBIT_GENL_VERSION	1
#define DIRTYBIT_MCGRP_EVENTS	"events"

#define DIRTYBIT_DEVICE_NAME	"dirtybit"
#define DIRTYBIT_VERSION_LEN	32

enum dirtybit_cmd {
	DIRTYBIT_CMD_UNSPEC,
	DIRTYBIT_CMD_GET_VERSION,

	__DIRTYBIT_CMD_MAX,
	DIRTYBIT_CMD_MAX = __DIRTYBIT_CMD_MAX - 1
};

enum dirtybit_attr {
	DIRTYBIT_A_UNSPEC,
	DIRTYBIT_A_PAD,
	DIRTYBIT_A_VERSION_MODULE,	/* string */
	DIRTYBIT_A_VERSION_PROTOCOL,	/* u32 */

	__DIRTYBIT_A_MAX,
	DIRTYBIT_A_MAX = __DIRTYBIT_A_MAX - 1
};

struct dirtybit_ioc_version {
	__u32 size;		/* in: sizeof(*this) */
	__u32 protocol;		/* out: DIRTYBIT_GENL_VERSION */
	char module[DIRTYBIT_VERSION_LEN];	/* out: NUL-terminated */
	__u64 reserved[4];	/* in: zero */
};

#define DIRTYBIT_IOC_MAGIC	0xdb
#define DIRTYBIT_IOC_VERSION	_IOWR(DIRTYBIT_IOC_MAGIC, 0x00, struct dirtybit_ioc_version)

#endif /* _UAPI_LINUX_DIRTYBIT_H */
