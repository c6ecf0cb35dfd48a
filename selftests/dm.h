/* SPDX-License-Identifier: GPL-2.0 */
/*
 * device-mapper from the selftests: dmsetup as they run it, and tables
 * swapped under a live device (a linear device over a brd disk whose
 * table becomes a failing ("error") or growing one, for the backup tests).
 * dmsetup runs without udev in the VM: it makes the /dev/mapper nodes.
 */
#ifndef _DIRTYBIT_SELFTEST_DM_H
#define _DIRTYBIT_SELFTEST_DM_H

#include "run.h"

#define DMSETUP		"DM_DISABLE_UDEV=1 dmsetup"

/*
 * Replaces the table of dm device @name with @table (dmsetup's syntax;
 * lines separated by a backslash and n, which printf %b turns into one).
 */
static inline int dm_table(struct run *r, const char *name, const char *table)
{
	return run(r, DMSETUP " suspend %s && printf '%%b\\n' '%s' | " DMSETUP " load %s && "
		   DMSETUP " resume %s", name, table, name, name);
}

#endif /* _DIRTYBIT_SELFTEST_DM_H */
