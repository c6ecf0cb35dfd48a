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

Usage: export_check.py EXPORT_DISK WORKDIR TEST...: TAP, for the tests
(and "demo") that ran.  A slot whose test ran must hold its archive: empty,
it fails; the slot of a test that did not run is skipped.
export_check.py --exports TEST... exits 0 when one of them exports."""
import os
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import ram_via_mapped_ram  # noqa: E402

SLOT = 256 << 20


def extract(disk, slot, into):
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


def qemu_loads_region_image(d, work):
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


def qemu_img_agrees_with_chain(d, work):
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


# slot, the programs that fill it, the check's name and the check.
CHECKS = [(0, {"image_test"}, "qemu_loads_the_image_of_region_ram", qemu_loads_region_image),
          (1, {"backup_test", "demo"}, "qemu_img_checks_and_compares_the_backup_chain",
           qemu_img_agrees_with_chain)]


def main(argv):
    if argv[1:2] == ["--exports"]:
        return 0 if any(ran & set(argv[2:]) for _, ran, _, _ in CHECKS) else 1
    disk, work, ran = argv[1], argv[2], set(argv[3:])
    print(f"TAP version 13\n1..{len(CHECKS)}")
    bad = 0
    for i, (slot, fillers, name, check) in enumerate(CHECKS, 1):
        if not fillers & ran:
            print(f"ok {i} {name} # SKIP {' or '.join(sorted(fillers))} did not run")
            continue
        d = os.path.join(work, f"export{slot}")
        try:
            why = check(d, work) if extract(disk, slot, d) else \
                f"slot {slot} is empty: {' or '.join(sorted(fillers & ran))} exported nothing"
        except Exception as e:  # noqa: BLE001 - any failure fails the check
            why = str(e)
        if why:
            print(f"# {why}")
            bad += 1
        print(f"{'not ' if why else ''}ok {i} {name}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
