#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checks, on the host, what a VM run's tests left on the rig's export disk
(/dev/vdc in the guest, 2 GiB): tar archives, slot 0 at 0 (up to 256 MiB),
slot 1 at 256 MiB.

  slot 0, from image_test: ram.img, a live image of a region named "ram",
          and ram-held.bin, the region copied under the writer hold.  QEMU
          10 loads the image into -M none; guest RAM must equal the copy.
  slot 1, from backup_test (or make demo): a backup chain (*.qcow2, top
          last.qcow2) and device.raw, the device after the last backup.
          qemu-img check
          finds no errors or leaks in any image, qemu-img compare finds the
          chain equal to the device, info --backing-chain lists it (both
          printed as comments).

Usage: export_check.py EXPORT_DISK WORKDIR.  TAP; a slot left empty is
skipped (its test did not run)."""
import os
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import ram_via_mapped_ram  # noqa: E402

SLOT = 256 << 20
disk, work = sys.argv[1], sys.argv[2]


def extract(slot, into):
    """The slot's archive into @into; False if the slot is empty."""
    with open(disk, "rb") as f:
        f.seek(slot * SLOT)
        if f.read(512).strip(b"\0") == b"":
            return False
        f.seek(slot * SLOT)
        os.makedirs(into, exist_ok=True)
        with tarfile.open(fileobj=f, mode="r|") as tar:
            tar.extractall(into, filter="data")
    return True


def qemu_loads_region_image(d):
    held = open(os.path.join(d, "ram-held.bin"), "rb").read()
    st = ram_via_mapped_ram(os.path.join(work, "export.sock"),
                            ["-M", "none", "-m", f"{len(held) >> 20}M", "-incoming", "defer"],
                            open(os.path.join(work, "qemu-export.log"), "w"), True,
                            os.path.join(d, "ram.img"), len(held), os.path.join(d, "ram.pmem"))
    if st != "completed":
        return f"incoming migration {st}"
    if open(os.path.join(d, "ram.pmem"), "rb").read() != held:
        return "guest RAM differs from the region's held copy"
    return None


def qemu_img_agrees_with_chain(d):
    for name in sorted(os.listdir(d)):
        if name.endswith(".qcow2"):
            p = subprocess.run(["qemu-img", "check", os.path.join(d, name)],
                               capture_output=True, text=True)
            if p.returncode:
                return f"qemu-img check {name}: {p.stdout.strip()} {p.stderr.strip()}"
    top = os.path.join(d, "last.qcow2")
    p = subprocess.run(["qemu-img", "compare", top, os.path.join(d, "device.raw")],
                       capture_output=True, text=True)
    if p.returncode:
        return f"qemu-img compare: {p.stdout.strip()} {p.stderr.strip()}"
    print(f"# qemu-img compare last.qcow2 device.raw: {p.stdout.strip()}")
    p = subprocess.run(["qemu-img", "info", "--backing-chain", top],
                       capture_output=True, text=True)
    if p.returncode or p.stdout.count("image:") < 2:
        return f"qemu-img info --backing-chain: {p.stdout.strip()} {p.stderr.strip()}"
    print("# qemu-img info --backing-chain: " +
          " <- ".join(os.path.basename(line.split()[-1]) for line in p.stdout.splitlines()
                      if line.startswith("image:")))
    return None


CHECKS = [(0, "qemu_loads_the_image_of_region_ram", qemu_loads_region_image),
          (1, "qemu_img_checks_and_compares_the_backup_chain", qemu_img_agrees_with_chain)]

print(f"TAP version 13\n1..{len(CHECKS)}")
bad = 0
for i, (slot, name, check) in enumerate(CHECKS, 1):
    d = os.path.join(work, f"export{slot}")
    try:
        why = check(d) if extract(slot, d) else "skip"
    except Exception as e:  # noqa: BLE001 - any failure fails the check
        why = str(e)
    if why == "skip":
        print(f"ok {i} {name} # SKIP its test did not run")
        continue
    if why:
        print(f"# {why}")
        bad += 1
    print(f"{'not ' if why else ''}ok {i} {name}")
sys.exit(1 if bad else 0)
