// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl structs are laid out the same on every x86 ABI: compiled with
 * -m64, -m32 and -mx32 (tools/check.sh), each size and offset must be the
 * number written here, and so must each ioctl number (it encodes the size).
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
