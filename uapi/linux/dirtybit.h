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
 * the command does not take, or of the wrong type or length, is refused
 * with -EINVAL and an extack message.  State-changing or activity-revealing
 * commands need CAP_NET_ADMIN (GENL_ADMIN_PERM, "admin" below); the version
 * query does not; TARGET_ATTACH also needs CAP_SYS_ADMIN.  Commands on
 * different targets never wait for each other (but behind another family's
 * registration, which waits for every command in progress: at most
 * drain_timeout).
 *
 * Notation.  Every request and reply is drawn as a tree of attributes, one
 * per line as "NAME: TYPE, limits", with the DIRTYBIT_A_ prefix left off; a
 * nest's attributes are indented under it, and a nest that repeats is
 * drawn once, followed by "...".  [NAME] is optional; "one of:" means
 * exactly one of the lines under it.  NLA_NUL_STRING lengths exclude the
 * NUL.  <target>, <bitmap> and <target reply> stand for these trees:
 *
 *    <target>: one of:
 *        TARGET_ID: NLA_U32, >= 1
 *        TARGET_PATH: NLA_NUL_STRING, max PATH_MAX - 1; a block device node
 *                     or a region's node, resolved in the caller's namespace
 *        REGION_NAME: NLA_NUL_STRING, max DIRTYBIT_NAME_MAX - 1; a region
 *
 *    <bitmap>:
 *        <target>
 *        BITMAP_NAME: NLA_NUL_STRING, 1 to DIRTYBIT_NAME_MAX - 1 bytes of
 *                     [A-Za-z0-9_.:-], unique per target
 *
 *    <target reply>:
 *        TARGET_ID: NLA_U32
 *        TARGET_KIND: NLA_U32, enum dirtybit_target_kind
 *        TARGET_SIZE: NLA_U64, bytes tracked
 *        TARGET_STATE: NLA_U32, enum dirtybit_target_state (a region: LIVE)
 *        TARGET_DEV: NLA_U32, dev_t as new_encode_dev(); a region's node, or 0
 *        TARGET_NAME: NLA_NUL_STRING; the kernel's name ("vdb1"), or the
 *                     region's name (max DIRTYBIT_NAME_MAX - 1)
 *        [TARGET_START]: NLA_U64, a block device's: byte offset in the
 *                     whole disk
 *        [TARGET_OVERFLOWS]: NLA_U64, a block device's: writes the cut
 *                     could not account for individually (see docs)
 *        [REGION_FLAGS]: NLA_U32, a region's: DIRTYBIT_REGION_F_*
 *
 * Targets.  A target is a tracked block device (a whole disk, or a partition
 * tracked as a range of its disk) or a memory region (below).
 *
 * DIRTYBIT_CMD_GET_VERSION (do)
 *    request: no attributes
 *    reply:
 *        VERSION_MODULE: NLA_NUL_STRING, max DIRTYBIT_VERSION_LEN - 1, "0.1.0"
 *        VERSION_PROTOCOL: NLA_U32, DIRTYBIT_GENL_VERSION
 *
 * DIRTYBIT_CMD_TARGET_ATTACH (do, admin, CAP_SYS_ADMIN)
 *    request:
 *        TARGET_PATH: NLA_NUL_STRING, max PATH_MAX - 1; a block device node
 *    reply:
 *        <target reply>
 *    A bio-based device (dm, md): returns once the writes submitted before
 *    it have completed (-ETIMEDOUT, nothing attached, if that takes over
 *    drain_timeout).  Regions are created by an ioctl, not attached.
 *
 * DIRTYBIT_CMD_TARGET_DETACH (do, admin)
 *    request:
 *        <target>
 *    reply: none (ACK)
 *    A region is destroyed: its name, node and bitmaps go at once, its
 *    memory when the last file descriptor and mapping of it are gone.
 *
 * DIRTYBIT_CMD_TARGET_GET (do, dump; admin)
 *    request (do):
 *        <target>
 *    request (dump): no attributes needed; every target is listed
 *    reply, one message per target:
 *        <target reply>
 *
 * DIRTYBIT_CMD_BITMAP_ADD (do, admin; a cut, so the bitmap starts at a
 * known point)
 *    request:
 *        <bitmap>
 *        [BITMAP_GRANULARITY]: NLA_U32, a power of two from 512 to 2^31;
 *                     default DIRTYBIT_DEFAULT_GRANULARITY, for a region
 *                     the page size (also its minimum)
 *        [BITMAP_DISABLED]: NLA_FLAG
 *
 * DIRTYBIT_CMD_BITMAP_REMOVE (do, admin)
 * DIRTYBIT_CMD_BITMAP_CLEAR (do, admin; a cut)
 * DIRTYBIT_CMD_BITMAP_ENABLE (do, admin)
 * DIRTYBIT_CMD_BITMAP_DISABLE (do, admin)
 *    request:
 *        <bitmap>
 *
 * DIRTYBIT_CMD_BITMAP_MERGE (do, admin): BITMAP_NAME |= each source
 *    request:
 *        <bitmap>
 *        BITMAP_SOURCES: NLA_NESTED, 1 to DIRTYBIT_MAX_SOURCES sources
 *            SOURCE: NLA_NESTED
 *                [one of:] (none: the request's target)
 *                    TARGET_ID: NLA_U32, >= 1
 *                    REGION_NAME: NLA_NUL_STRING, max DIRTYBIT_NAME_MAX - 1
 *                BITMAP_NAME: NLA_NUL_STRING, as in <bitmap>
 *            SOURCE: NLA_NESTED
 *                ...
 *            ...
 *
 * DIRTYBIT_CMD_BITMAP_FREEZE (do, admin; a cut)
 *    request:
 *        <bitmap>
 *        [BITMAP_NEXT_PASS]: NLA_FLAG, see Passes
 *
 * DIRTYBIT_CMD_BITMAP_ABDICATE (do, admin)
 *    request:
 *        <bitmap>
 *        [RANGE_START]: NLA_U64, at most the target's size; default 0
 *        [RANGE_LENGTH]: NLA_U64, default the rest of the target; the range
 *                     must end within it
 *        [RANGE_ALL]: NLA_FLAG, with RANGE_START or RANGE_LENGTH only
 *    The frozen bits inside the range stay dirty (every granule of it with
 *    RANGE_ALL, a full backup's): a backup that stopped part way.
 *
 * DIRTYBIT_CMD_BITMAP_RECLAIM (do, admin)
 *    request:
 *        <bitmap>
 *        [FORCE]: NLA_FLAG, end another socket's freeze
 *
 *    ADD to RECLAIM reply: none (ACK).
 *
 * DIRTYBIT_CMD_BITMAP_GET (do, dump; admin)
 *    request (do):
 *        <bitmap>
 *    request (dump): the bitmaps of every target, or of one:
 *        [<target>]
 *    reply, one message per bitmap:
 *        TARGET_ID: NLA_U32
 *        BITMAP_NAME: NLA_NUL_STRING, max DIRTYBIT_NAME_MAX - 1
 *        BITMAP_GRANULARITY: NLA_U32, bytes per bit
 *        BITMAP_COUNT: NLA_U64, dirty bytes (frozen: of the frozen bits)
 *        BITMAP_FLAGS: NLA_U32, DIRTYBIT_BITMAP_F_*
 *        [BITMAP_SUCCESSOR_COUNT]: NLA_U64, frozen only: bytes since the cut
 *    A bitmap is INCONSISTENT when it may have missed writes: its device
 *    grew past the size it was attached with, its media changed (loop
 *    device given another file, medium swapped), or a passthrough command
 *    (SG_IO, NVMe ioctl) sending data or none reached it.  It can only be
 *    removed (a frozen one reclaimed, not abdicated; it is no merge
 *    source); after a resize, re-attach the device.
 *
 * DIRTYBIT_CMD_TRANSACTION (do, admin)
 *    request:
 *        ACTIONS: NLA_NESTED, 1 to DIRTYBIT_MAX_ACTIONS actions
 *            ACTION: NLA_NESTED
 *                ACTION_CMD: NLA_U32, DIRTYBIT_CMD_BITMAP_ADD to
 *                            DIRTYBIT_CMD_BITMAP_RECLAIM
 *                the request attributes of that command, above, and no
 *                other: each ACTION is validated against its own
 *                command's policy
 *            ACTION: NLA_NESTED
 *                ...
 *            ...
 *    reply: none (ACK)
 *    All actions are validated first; then all apply at one cut, or none
 *    does.
 *
 * DIRTYBIT_CMD_EXTENTS_GET (dump, admin)
 *    request:
 *        <bitmap>
 *        [RANGE_START]: NLA_U64, bytes; default 0
 *        [RANGE_LENGTH]: NLA_U64, bytes; default the rest of the target
 *    reply, in parts:
 *        TARGET_ID: NLA_U32
 *        BITMAP_NAME: NLA_NUL_STRING, max DIRTYBIT_NAME_MAX - 1
 *        EXTENTS: NLA_NESTED
 *            EXTENT: NLA_NESTED
 *                EXTENT_START: NLA_U64, bytes
 *                EXTENT_LENGTH: NLA_U64, bytes
 *            EXTENT: NLA_NESTED
 *                ...
 *            ...
 *    Extents are coalesced and in order.  Resumable; a part is flagged
 *    NLM_F_DUMP_INTR when the bitmap was cleared, merged, frozen,
 *    abdicated or reclaimed since the previous one.
 *
 * DIRTYBIT_CMD_EVENT (multicast group "events", CAP_NET_ADMIN to join)
 *        EVENT: NLA_U32, enum dirtybit_event
 *        TARGET_ID: NLA_U32
 *        [BITMAP_NAME]: NLA_NUL_STRING, max DIRTYBIT_NAME_MAX - 1
 *    One per command that changed something (a transaction sends one per
 *    action), never per write.  An agent that keeps an incremental chain
 *    watches for CLEARED, MERGED and RECLAIMED on its bitmap from anyone
 *    else.
 *
 * Freezes are owned by the netlink socket that made them: when it closes
 * (the agent exited or was killed) without ABDICATE or RECLAIM, the module
 * reclaims.  ABDICATE and RECLAIM are refused (-EPERM) from any other socket
 * unless RECLAIM carries FORCE (only RECLAIM takes FORCE: it keeps every
 * bit).
 *
 * Passes.  A backup that copies in passes (each pass the writes made during
 * the previous one, the last under a file system freeze) keeps one freeze
 * from its first cut to its end.  FREEZE with BITMAP_NEXT_PASS, from the
 * socket that froze the bitmap, is a cut that sets the frozen bits (the
 * pass just copied) aside, makes the successor's bits (every write since
 * the previous cut) the frozen bits, and starts a new successor.  The
 * bitmap stays frozen, by the same owner.  ABDICATE then leaves exactly the
 * writes after the last cut (a range it keeps takes the bits of every pass
 * inside it); RECLAIM, and the module's reclaim when the socket closes,
 * give back the bits of every pass and every write since: nothing is lost
 * at any pass.  Refused: -EINVAL if the bitmap is not frozen or became
 * inconsistent (reclaim it), -EPERM from another socket, -ENODEV if the
 * device is gone, -EINVAL in a TRANSACTION that also freezes, abdicates,
 * reclaims or takes another pass of the same bitmap.  BITMAP_COUNT is the
 * frozen bits' (this pass's) count; each pass sends EVENT_BITMAP_FROZEN.
 *
 * A cut (CLEAR, FREEZE, a TRANSACTION, and ADD so a new bitmap starts at a
 * known point) is exact: when the command returns, a copy of the old epoch
 * made from then on reads every write the old epoch holds; a write whose
 * data it may miss (one still in flight at the cut) is in the new epoch.
 * (A blk-mq disk's writes are marked as they complete; a bio-based disk's
 * as they are submitted, and the cut waits for those before it.)  A path
 * that cannot be tracked makes the bitmaps INCONSISTENT instead.
 *
 * /dev/dirtybit
 * -------------
 *
 *   DIRTYBIT_IOC_VERSION   struct dirtybit_ioc_version   (read/write)
 *     in:   size = sizeof(struct dirtybit_ioc_version), reserved all zero
 *     out:  protocol, module version string
 *
 *   DIRTYBIT_IOC_BITMAP_READ   struct dirtybit_ioc_bitmap_read   (read/write)
 *     Copies a bitmap's bottom level, one bit per granule, into a buffer of
 *     little-endian __u64 words: bit k of word w is granule 64 * w + k.
 *     in:   size, target_id, name, first_word, words (the buffer's length
 *           in words), buf (user pointer), reserved all zero
 *     out:  words (copied: at most the bitmap's words from first_word),
 *           total_words, count (dirty bytes), granularity, flags
 *     Needs CAP_NET_ADMIN, like the netlink commands.  A frozen bitmap
 *     reads stable; of a recording one, writes during the call may or may
 *     not show.  -EAGAIN if the bitmap was cleared, merged, frozen,
 *     abdicated, reclaimed or replaced during the call (read it again);
 *     -ENOENT for an unknown target or bitmap, -EINVAL for a bad size,
 *     name, first_word past the end or non-zero reserved field.
 *
 *   DIRTYBIT_IOC_REGION_CREATE   struct dirtybit_ioc_region_create
 *     Creates a memory region of @bytes (a multiple of the page size, at
 *     most the machine's memory; its pages are allocated now and charged to
 *     the caller's memory cgroup) named @name, with the device node
 *     /dev/dirtybit-regions/NAME if DIRTYBIT_REGION_F_NODE.  out: its
 *     target id and a new O_RDWR | O_CLOEXEC fd.  The region lives until
 *     TARGET_DETACH, not just while the fd does (and holds the module
 *     while it exists).  Needs CAP_NET_ADMIN and CAP_SYS_ADMIN.
 *     -EINVAL bad size/name/flags/reserved, -E2BIG too large, -EEXIST name
 *     taken, -ENOSPC DIRTYBIT_MAX_REGIONS reached, -ENOMEM, -EFAULT (then
 *     nothing was created).
 *   DIRTYBIT_IOC_REGION_OPEN     struct dirtybit_ioc_region_open
 *     A new fd (O_CLOEXEC; read-only unless DIRTYBIT_REGION_OPEN_WRITE) of
 *     the region with @target_id, or named @name if @target_id is 0.  Needs
 *     CAP_NET_ADMIN and CAP_SYS_ADMIN.  -ENOENT no such region.
 *
 * Region files (from the two ioctls, or open() of the node)
 * ---------------------------------------------------------
 *
 *   mmap     MAP_SHARED only (-EINVAL for MAP_PRIVATE), within the region
 *            (-EINVAL past its end), writable unless the file is read-only
 *            (-EACCES).  The first write to a page after each cut of the
 *            region's bitmaps marks it; reads never do.
 *   pread/read, lseek (SEEK_END gives the size): the contents.
 *   DIRTYBIT_REGION_IOC_INFO     struct dirtybit_region_info (read/write)
 *   DIRTYBIT_REGION_IOC_HOLD     new write faults wait until RELEASE, or
 *            until this file is closed (CAP_NET_ADMIN; -EBUSY already held).
 *            When it returns, no CPU write reaches the region until then;
 *            the holder must not write to it itself.
 *   DIRTYBIT_REGION_IOC_RELEASE  -EPERM from another file, -EINVAL unheld.
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
/*
 * The protocol's version, the family's: 1 first; 2 added REGION_NAME.
 * libdirtybit refuses a module of another version, with both numbers.
 */
#define DIRTYBIT_GENL_VERSION	2
#define DIRTYBIT_MCGRP_EVENTS	"events"

#define DIRTYBIT_DEVICE_NAME	"dirtybit"
#define DIRTYBIT_VERSION_LEN	32

enum dirtybit_cmd {
	DIRTYBIT_CMD_UNSPEC,
	DIRTYBIT_CMD_GET_VERSION,
	DIRTYBIT_CMD_TARGET_ATTACH,
	DIRTYBIT_CMD_TARGET_DETACH,
	DIRTYBIT_CMD_TARGET_GET,
	DIRTYBIT_CMD_BITMAP_ADD,
	DIRTYBIT_CMD_BITMAP_REMOVE,
	DIRTYBIT_CMD_BITMAP_CLEAR,
	DIRTYBIT_CMD_BITMAP_ENABLE,
	DIRTYBIT_CMD_BITMAP_DISABLE,
	DIRTYBIT_CMD_BITMAP_MERGE,
	DIRTYBIT_CMD_BITMAP_FREEZE,
	DIRTYBIT_CMD_BITMAP_ABDICATE,
	DIRTYBIT_CMD_BITMAP_RECLAIM,
	DIRTYBIT_CMD_BITMAP_GET,
	DIRTYBIT_CMD_TRANSACTION,
	DIRTYBIT_CMD_EXTENTS_GET,
	DIRTYBIT_CMD_EVENT,

	__DIRTYBIT_CMD_MAX,
	DIRTYBIT_CMD_MAX = __DIRTYBIT_CMD_MAX - 1
};

enum dirtybit_attr {
	DIRTYBIT_A_UNSPEC,
	DIRTYBIT_A_PAD,
	DIRTYBIT_A_VERSION_MODULE,	/* string */
	DIRTYBIT_A_VERSION_PROTOCOL,	/* u32 */
	DIRTYBIT_A_TARGET_ID,		/* u32 */
	DIRTYBIT_A_TARGET_PATH,		/* string */
	DIRTYBIT_A_TARGET_DEV,		/* u32 */
	DIRTYBIT_A_TARGET_NAME,		/* string */
	DIRTYBIT_A_TARGET_START,	/* u64 */
	DIRTYBIT_A_TARGET_SIZE,		/* u64 */
	DIRTYBIT_A_TARGET_STATE,	/* u32, enum dirtybit_target_state */
	DIRTYBIT_A_TARGET_OVERFLOWS,	/* u64 */
	DIRTYBIT_A_BITMAP_NAME,		/* string */
	DIRTYBIT_A_BITMAP_GRANULARITY,	/* u32 */
	DIRTYBIT_A_BITMAP_DISABLED,	/* flag */
	DIRTYBIT_A_BITMAP_COUNT,	/* u64 */
	DIRTYBIT_A_BITMAP_FLAGS,	/* u32, DIRTYBIT_BITMAP_F_* */
	DIRTYBIT_A_BITMAP_SUCCESSOR_COUNT, /* u64 */
	DIRTYBIT_A_BITMAP_SOURCES,	/* nest of DIRTYBIT_A_SOURCE */
	DIRTYBIT_A_SOURCE,		/* nest: [TARGET_ID], BITMAP_NAME */
	DIRTYBIT_A_FORCE,		/* flag */
	DIRTYBIT_A_ACTIONS,		/* nest of DIRTYBIT_A_ACTION */
	DIRTYBIT_A_ACTION,		/* nest: ACTION_CMD + that command's attributes */
	DIRTYBIT_A_ACTION_CMD,		/* u32 */
	DIRTYBIT_A_RANGE_START,		/* u64 */
	DIRTYBIT_A_RANGE_LENGTH,	/* u64 */
	DIRTYBIT_A_EXTENTS,		/* nest of DIRTYBIT_A_EXTENT */
	DIRTYBIT_A_EXTENT,		/* nest: EXTENT_START, EXTENT_LENGTH */
	DIRTYBIT_A_EXTENT_START,	/* u64 */
	DIRTYBIT_A_EXTENT_LENGTH,	/* u64 */
	DIRTYBIT_A_EVENT,		/* u32, enum dirtybit_event */
	DIRTYBIT_A_TARGET_KIND,		/* u32, enum dirtybit_target_kind */
	DIRTYBIT_A_REGION_FLAGS,	/* u32, DIRTYBIT_REGION_F_* */
	DIRTYBIT_A_RANGE_ALL,		/* flag: the whole range, not its dirty bits */
	DIRTYBIT_A_BITMAP_NEXT_PASS,	/* flag: FREEZE of a bitmap already frozen */
	DIRTYBIT_A_REGION_NAME,		/* string: a region by name, in requests */

	__DIRTYBIT_A_MAX,
	DIRTYBIT_A_MAX = __DIRTYBIT_A_MAX - 1
};

#define DIRTYBIT_NAME_MAX		64	/* bitmap names, NUL included */
#define DIRTYBIT_DEFAULT_GRANULARITY	65536
#define DIRTYBIT_MAX_ACTIONS		64	/* per transaction */
#define DIRTYBIT_MAX_SOURCES		64	/* per merge */

enum dirtybit_target_kind {
	DIRTYBIT_TARGET_BLOCK,		/* a block device or partition */
	DIRTYBIT_TARGET_REGION,		/* a memory region */
};

enum dirtybit_target_state {
	DIRTYBIT_TARGET_LIVE,		/* tracking */
	DIRTYBIT_TARGET_GONE,		/* the device went away; bitmaps readable */
};

#define DIRTYBIT_BITMAP_F_RECORDING	(1U << 0)	/* enabled */
#define DIRTYBIT_BITMAP_F_FROZEN	(1U << 1)	/* busy: a backup holds it */
#define DIRTYBIT_BITMAP_F_INCONSISTENT	(1U << 2)	/* missed writes: remove it */

enum dirtybit_event {
	DIRTYBIT_EVENT_UNSPEC,
	DIRTYBIT_EVENT_TARGET_ATTACHED,
	DIRTYBIT_EVENT_TARGET_DETACHED,
	DIRTYBIT_EVENT_TARGET_GONE,
	DIRTYBIT_EVENT_BITMAP_ADDED,
	DIRTYBIT_EVENT_BITMAP_REMOVED,
	DIRTYBIT_EVENT_BITMAP_FROZEN,
	DIRTYBIT_EVENT_BITMAP_ABDICATED,
	DIRTYBIT_EVENT_BITMAP_RECLAIMED,
	DIRTYBIT_EVENT_BITMAP_INCONSISTENT,
	DIRTYBIT_EVENT_BITMAP_ENABLED,
	DIRTYBIT_EVENT_BITMAP_DISABLED,
	DIRTYBIT_EVENT_BITMAP_CLEARED,	/* an epoch ended outside a backup */
	DIRTYBIT_EVENT_BITMAP_MERGED,	/* the destination gained bits */
};

struct dirtybit_ioc_version {
	__u32 size;		/* in: sizeof(*this) */
	__u32 protocol;		/* out: DIRTYBIT_GENL_VERSION */
	char module[DIRTYBIT_VERSION_LEN];	/* out: NUL-terminated */
	__u64 reserved[4];	/* in: zero */
};

struct dirtybit_ioc_bitmap_read {
	__u32 size;		/* in: sizeof(*this) */
	__u32 target_id;	/* in */
	char name[DIRTYBIT_NAME_MAX];	/* in: NUL-terminated */
	__u64 first_word;	/* in */
	__u64 words;		/* in: buffer length in words; out: words copied */
	__u64 buf;		/* in: user pointer to __u64 words */
	__u64 total_words;	/* out: words the whole bitmap has */
	__u64 count;		/* out: dirty bytes in the whole bitmap */
	__u32 granularity;	/* out: bytes per bit */
	__u32 flags;		/* out: DIRTYBIT_BITMAP_F_* */
	__u64 reserved[4];	/* in: zero */
};

#define DIRTYBIT_MAX_REGIONS		256
#define DIRTYBIT_REGION_NODE_DIR	"dirtybit-regions"	/* /dev/dirtybit-regions/NAME */

/* Region flags: creation (NODE) and state (the rest, read only). */
#define DIRTYBIT_REGION_F_NODE		(1U << 0)	/* has a device node */
#define DIRTYBIT_REGION_F_HELD		(1U << 1)	/* writers are held */
#define DIRTYBIT_REGION_F_DESTROYED	(1U << 2)	/* only its fds keep it */

struct dirtybit_ioc_region_create {
	__u32 size;		/* in: sizeof(*this) */
	__u32 flags;		/* in: DIRTYBIT_REGION_F_NODE or 0 */
	__u64 bytes;		/* in: a multiple of the page size */
	char name[DIRTYBIT_NAME_MAX];	/* in: NUL-terminated, unique */
	__u32 target_id;	/* out */
	__s32 fd;		/* out: the region, O_RDWR | O_CLOEXEC */
	__u64 reserved[4];	/* in: zero */
};

#define DIRTYBIT_REGION_OPEN_WRITE	(1U << 0)	/* else read only */

struct dirtybit_ioc_region_open {
	__u32 size;		/* in: sizeof(*this) */
	__u32 flags;		/* in: DIRTYBIT_REGION_OPEN_* */
	__u32 target_id;	/* in: the region's id, or 0 to open by name */
	__s32 fd;		/* out: O_CLOEXEC */
	char name[DIRTYBIT_NAME_MAX];	/* in: when target_id is 0 */
	__u64 reserved[4];	/* in: zero */
};

struct dirtybit_region_info {
	__u32 size;		/* in: sizeof(*this) */
	__u32 target_id;	/* out */
	__u64 bytes;		/* out */
	char name[DIRTYBIT_NAME_MAX];	/* out */
	__u32 flags;		/* out: DIRTYBIT_REGION_F_* */
	__u32 pad;		/* zero */
	__u64 reserved[4];	/* in: zero */
};

#define DIRTYBIT_IOC_MAGIC	0xdb
#define DIRTYBIT_IOC_VERSION	_IOWR(DIRTYBIT_IOC_MAGIC, 0x00, struct dirtybit_ioc_version)
#define DIRTYBIT_IOC_BITMAP_READ	\
	_IOWR(DIRTYBIT_IOC_MAGIC, 0x01, struct dirtybit_ioc_bitmap_read)
#define DIRTYBIT_IOC_REGION_CREATE	\
	_IOWR(DIRTYBIT_IOC_MAGIC, 0x02, struct dirtybit_ioc_region_create)
#define DIRTYBIT_IOC_REGION_OPEN	\
	_IOWR(DIRTYBIT_IOC_MAGIC, 0x03, struct dirtybit_ioc_region_open)

/* On a region's file descriptor. */
#define DIRTYBIT_REGION_IOC_INFO	\
	_IOWR(DIRTYBIT_IOC_MAGIC, 0x10, struct dirtybit_region_info)
#define DIRTYBIT_REGION_IOC_HOLD	_IO(DIRTYBIT_IOC_MAGIC, 0x11)
#define DIRTYBIT_REGION_IOC_RELEASE	_IO(DIRTYBIT_IOC_MAGIC, 0x12)

#endif /* _UAPI_LINUX_DIRTYBIT_H */
