// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl structs are laid out the same on every x86 ABI: compiled with
 * -m64, -m32 and -mx32 (tools/check.sh), each size and offset must be the
 * number written here, and so must each ioctl number (it encodes the size),
 * and each netlink command, attribute and enum value (below).
 */
#include <stddef.h>
#include <linux/dirtybit.h>

#define AT(type, field, off) \
	_Static_assert(offsetof(struct type, field) == (off), #type "." #field)
#define SIZE(type, n) _Static_assert(sizeof(struct type) == (n), #type)

SIZE(dirtybit_ioc_version, 72);
AT(dirtybit_ioc_version, size, 0);
AT(dirtybit_ioc_version, protocol, 4);
AT(dirtybit_ioc_version, module, 8);
AT(dirtybit_ioc_version, reserved, 40);
_Static_assert(DIRTYBIT_IOC_VERSION == 0xc048db00, "DIRTYBIT_IOC_VERSION");

SIZE(dirtybit_ioc_bitmap_read, 152);
AT(dirtybit_ioc_bitmap_read, size, 0);
AT(dirtybit_ioc_bitmap_read, target_id, 4);
AT(dirtybit_ioc_bitmap_read, name, 8);
AT(dirtybit_ioc_bitmap_read, first_word, 72);
AT(dirtybit_ioc_bitmap_read, words, 80);
AT(dirtybit_ioc_bitmap_read, buf, 88);
AT(dirtybit_ioc_bitmap_read, total_words, 96);
AT(dirtybit_ioc_bitmap_read, count, 104);
AT(dirtybit_ioc_bitmap_read, granularity, 112);
AT(dirtybit_ioc_bitmap_read, flags, 116);
AT(dirtybit_ioc_bitmap_read, reserved, 120);
_Static_assert(DIRTYBIT_IOC_BITMAP_READ == 0xc098db01, "DIRTYBIT_IOC_BITMAP_READ");

SIZE(dirtybit_ioc_region_create, 120);
AT(dirtybit_ioc_region_create, flags, 4);
AT(dirtybit_ioc_region_create, bytes, 8);
AT(dirtybit_ioc_region_create, name, 16);
AT(dirtybit_ioc_region_create, target_id, 80);
AT(dirtybit_ioc_region_create, fd, 84);
AT(dirtybit_ioc_region_create, reserved, 88);
_Static_assert(DIRTYBIT_IOC_REGION_CREATE == 0xc078db02, "DIRTYBIT_IOC_REGION_CREATE");

SIZE(dirtybit_ioc_region_open, 112);
AT(dirtybit_ioc_region_open, flags, 4);
AT(dirtybit_ioc_region_open, target_id, 8);
AT(dirtybit_ioc_region_open, fd, 12);
AT(dirtybit_ioc_region_open, name, 16);
AT(dirtybit_ioc_region_open, reserved, 80);
_Static_assert(DIRTYBIT_IOC_REGION_OPEN == 0xc070db03, "DIRTYBIT_IOC_REGION_OPEN");

SIZE(dirtybit_region_info, 120);
AT(dirtybit_region_info, target_id, 4);
AT(dirtybit_region_info, bytes, 8);
AT(dirtybit_region_info, name, 16);
AT(dirtybit_region_info, flags, 80);
AT(dirtybit_region_info, pad, 84);
AT(dirtybit_region_info, reserved, 88);
_Static_assert(DIRTYBIT_REGION_IOC_INFO == 0xc078db10, "DIRTYBIT_REGION_IOC_INFO");
_Static_assert(DIRTYBIT_REGION_IOC_HOLD == 0xdb11, "DIRTYBIT_REGION_IOC_HOLD");
_Static_assert(DIRTYBIT_REGION_IOC_RELEASE == 0xdb12, "DIRTYBIT_REGION_IOC_RELEASE");

/*
 * The protocol's numbers: commands, attributes and enums may only be
 * appended to, never renumbered.
 */
#define NUM(name, n) _Static_assert((name) == (n), #name)

NUM(DIRTYBIT_CMD_UNSPEC, 0);
NUM(DIRTYBIT_CMD_GET_VERSION, 1);
NUM(DIRTYBIT_CMD_TARGET_ATTACH, 2);
NUM(DIRTYBIT_CMD_TARGET_DETACH, 3);
NUM(DIRTYBIT_CMD_TARGET_GET, 4);
NUM(DIRTYBIT_CMD_BITMAP_ADD, 5);
NUM(DIRTYBIT_CMD_BITMAP_REMOVE, 6);
NUM(DIRTYBIT_CMD_BITMAP_CLEAR, 7);
NUM(DIRTYBIT_CMD_BITMAP_ENABLE, 8);
NUM(DIRTYBIT_CMD_BITMAP_DISABLE, 9);
NUM(DIRTYBIT_CMD_BITMAP_MERGE, 10);
NUM(DIRTYBIT_CMD_BITMAP_FREEZE, 11);
NUM(DIRTYBIT_CMD_BITMAP_ABDICATE, 12);
NUM(DIRTYBIT_CMD_BITMAP_RECLAIM, 13);
NUM(DIRTYBIT_CMD_BITMAP_GET, 14);
NUM(DIRTYBIT_CMD_TRANSACTION, 15);
NUM(DIRTYBIT_CMD_EXTENTS_GET, 16);
NUM(DIRTYBIT_CMD_EVENT, 17);

NUM(DIRTYBIT_A_UNSPEC, 0);
NUM(DIRTYBIT_A_PAD, 1);
NUM(DIRTYBIT_A_VERSION_MODULE, 2);
NUM(DIRTYBIT_A_VERSION_PROTOCOL, 3);
NUM(DIRTYBIT_A_TARGET_ID, 4);
NUM(DIRTYBIT_A_TARGET_PATH, 5);
NUM(DIRTYBIT_A_TARGET_DEV, 6);
NUM(DIRTYBIT_A_TARGET_NAME, 7);
NUM(DIRTYBIT_A_TARGET_START, 8);
NUM(DIRTYBIT_A_TARGET_SIZE, 9);
NUM(DIRTYBIT_A_TARGET_STATE, 10);
NUM(DIRTYBIT_A_TARGET_OVERFLOWS, 11);
NUM(DIRTYBIT_A_BITMAP_NAME, 12);
NUM(DIRTYBIT_A_BITMAP_GRANULARITY, 13);
NUM(DIRTYBIT_A_BITMAP_DISABLED, 14);
NUM(DIRTYBIT_A_BITMAP_COUNT, 15);
NUM(DIRTYBIT_A_BITMAP_FLAGS, 16);
NUM(DIRTYBIT_A_BITMAP_SUCCESSOR_COUNT, 17);
NUM(DIRTYBIT_A_BITMAP_SOURCES, 18);
NUM(DIRTYBIT_A_SOURCE, 19);
NUM(DIRTYBIT_A_FORCE, 20);
NUM(DIRTYBIT_A_ACTIONS, 21);
NUM(DIRTYBIT_A_ACTION, 22);
NUM(DIRTYBIT_A_ACTION_CMD, 23);
NUM(DIRTYBIT_A_RANGE_START, 24);
NUM(DIRTYBIT_A_RANGE_LENGTH, 25);
NUM(DIRTYBIT_A_EXTENTS, 26);
NUM(DIRTYBIT_A_EXTENT, 27);
NUM(DIRTYBIT_A_EXTENT_START, 28);
NUM(DIRTYBIT_A_EXTENT_LENGTH, 29);
NUM(DIRTYBIT_A_EVENT, 30);
NUM(DIRTYBIT_A_TARGET_KIND, 31);
NUM(DIRTYBIT_A_REGION_FLAGS, 32);
NUM(DIRTYBIT_A_RANGE_ALL, 33);
NUM(DIRTYBIT_A_BITMAP_NEXT_PASS, 34);
NUM(DIRTYBIT_A_REGION_NAME, 35);

NUM(DIRTYBIT_TARGET_BLOCK, 0);
NUM(DIRTYBIT_TARGET_REGION, 1);

NUM(DIRTYBIT_TARGET_LIVE, 0);
NUM(DIRTYBIT_TARGET_GONE, 1);

NUM(DIRTYBIT_EVENT_UNSPEC, 0);
NUM(DIRTYBIT_EVENT_TARGET_ATTACHED, 1);
NUM(DIRTYBIT_EVENT_TARGET_DETACHED, 2);
NUM(DIRTYBIT_EVENT_TARGET_GONE, 3);
NUM(DIRTYBIT_EVENT_BITMAP_ADDED, 4);
NUM(DIRTYBIT_EVENT_BITMAP_REMOVED, 5);
NUM(DIRTYBIT_EVENT_BITMAP_FROZEN, 6);
NUM(DIRTYBIT_EVENT_BITMAP_ABDICATED, 7);
NUM(DIRTYBIT_EVENT_BITMAP_RECLAIMED, 8);
NUM(DIRTYBIT_EVENT_BITMAP_INCONSISTENT, 9);
NUM(DIRTYBIT_EVENT_BITMAP_ENABLED, 10);
NUM(DIRTYBIT_EVENT_BITMAP_DISABLED, 11);
NUM(DIRTYBIT_EVENT_BITMAP_CLEARED, 12);
NUM(DIRTYBIT_EVENT_BITMAP_MERGED, 13);

NUM(DIRTYBIT_BITMAP_F_RECORDING, 1);
NUM(DIRTYBIT_BITMAP_F_FROZEN, 2);
NUM(DIRTYBIT_BITMAP_F_INCONSISTENT, 4);
NUM(DIRTYBIT_REGION_F_NODE, 1);
NUM(DIRTYBIT_REGION_F_HELD, 2);
NUM(DIRTYBIT_REGION_F_DESTROYED, 4);
NUM(DIRTYBIT_REGION_OPEN_WRITE, 1);
NUM(DIRTYBIT_GENL_VERSION, 2);
NUM(DIRTYBIT_NAME_MAX, 64);
NUM(DIRTYBIT_VERSION_LEN, 32);
NUM(DIRTYBIT_MAX_ACTIONS, 64);
NUM(DIRTYBIT_MAX_SOURCES, 64);
NUM(DIRTYBIT_MAX_REGIONS, 256);
NUM(DIRTYBIT_DEFAULT_GRANULARITY, 65536);
