#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""QEMU loads an image of a dirtybit region: tools/vm/run calls this after a
VM run whose image_test left, on the export disk, the image of a region
named "ram" and the copy of the region taken under the writer hold (layout
in selftests/image_test.c).  QEMU 10 loads the image into -M none and its
guest RAM must equal the copy.  TAP output.

Usage: image_export_check.py EXPORT_DISK WORKDIR"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import Qemu  # noqa: E402

MIB = 1 << 20
disk, work = sys.argv[1], sys.argv[2]


def check():
    with open(disk, "rb") as f:
        words = f.readline().split()
        if len(words) != 3 or words[0] != b"dirtybit-export":
            return "no export on the disk"
        img_len, copy_len = int(words[1]), int(words[2])
        f.seek(1 * MIB)
        with open(os.path.join(work, "ram.img"), "wb") as out:
            out.write(f.read(img_len))
        f.seek(129 * MIB)
        held = f.read(copy_len)
    q = Qemu(os.path.join(work, "export.sock"),
             ["-M", "none", "-m", f"{copy_len // MIB}M", "-incoming", "defer"],
             open(os.path.join(work, "qemu-export.log"), "w"))
    try:
        st = q.mapped_ram(True, os.path.join(work, "ram.img"))
        if st != "completed":
            return f"incoming migration {st}"
        q.cmd("pmemsave", val=0, size=copy_len, filename=os.path.join(work, "ram.pmem"))
    finally:
        q.quit()
    with open(os.path.join(work, "ram.pmem"), "rb") as f:
        if f.read() != held:
            return "guest RAM differs from the region's held copy"
    return None


why = check()
print("TAP version 13\n1..1")
if why:
    print(f"# {why}")
print(f"{'not ' if why else ''}ok 1 qemu_loads_the_image_of_region_ram")
sys.exit(1 if why else 0)
