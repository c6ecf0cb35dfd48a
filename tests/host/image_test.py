#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Host tests of `dirtybit image` on plain files, and of QEMU compatibility
both ways with the installed qemu-system-x86_64 (bookworm-backports' 10.0):
QEMU loads an image dirtybit wrote, and dirtybit loads one QEMU saved.

Usage: image_test.py CLI WORKDIR.  TAP output."""
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import Qemu, ram_via_mapped_ram  # noqa: E402

CLI, WORK = sys.argv[1], sys.argv[2]
PAGE = 4096
MIB = 1 << 20
results = []


def path(name):
    return os.path.join(WORK, name)


def run(*args, ok=True):
    p = subprocess.run([CLI] + list(args), capture_output=True, text=True)
    if ok and p.returncode:
        raise AssertionError(f"dirtybit {' '.join(args)}: rc {p.returncode}: {p.stderr}")
    return p


def make_ram(name, size, seed, pages):
    """A file of @size with @pages random pages written, the rest zero."""
    rnd = random.Random(seed)
    with open(path(name), "wb") as f:
        f.truncate(size)
        for _ in range(pages):
            f.seek(rnd.randrange(size // PAGE) * PAGE + rnd.randrange(PAGE - 64))
            f.write(rnd.randbytes(64))
    return path(name)


def same(a, b):
    with open(a, "rb") as x, open(b, "rb") as y:
        while True:
            p, q = x.read(MIB), y.read(MIB)
            if p != q:
                return False
            if not p:
                return True


def case(fn):
    try:
        fn()
        results.append((True, fn.__name__, ""))
    except Exception as e:  # noqa: BLE001 - any failure fails the case
        results.append((False, fn.__name__, str(e)))
    return fn


@case
def save_info_verify_load_round_trip():
    ram = make_ram("ram.bin", 16 * MIB, 1, 600)
    run("image", "save", path("a.img"), f"ram={ram}")
    info = json.loads(run("-j", "image", "info", path("a.img")).stdout)
    assert info["complete"] and info["machine"] == "none", info
    blk = info["blocks"][0]
    assert blk["name"] == "ram" and blk["size"] == 16 * MIB, blk
    assert blk["pages_offset"] % MIB == 0, blk
    run("image", "verify", path("a.img"), f"ram={ram}")
    if os.path.exists(path("out.bin")):
        os.unlink(path("out.bin"))
    run("image", "load", path("a.img"), f"ram={path('out.bin')}")
    assert same(ram, path("out.bin")), "loaded file differs"
    # Zero pages are holes: the file holds only the written pages.
    st = os.stat(path("a.img"))
    assert st.st_size <= 16 * MIB + 2 * MIB, st.st_size
    assert st.st_blocks * 512 < 4 * MIB, st.st_blocks * 512


@case
def two_blocks_largest_first_threads_and_o_direct():
    big = make_ram("big.bin", 8 * MIB, 2, 300)
    small = make_ram("small.bin", 1 * MIB + 3 * PAGE, 3, 50)
    for opts in ([], ["--threads", "1"], ["--threads", "4", "--direct"]):
        run("image", "save", *opts, "--machine", "pc-q35-10.0", path("b.img"),
            f"vga.vram={small}", f"pc.ram={big}")
        info = json.loads(run("-j", "image", "info", path("b.img")).stdout)
        assert info["machine"] == "pc-q35-10.0", info
        assert [b["name"] for b in info["blocks"]] == ["pc.ram", "vga.vram"], info
        run("image", "verify", path("b.img"), f"pc.ram={big}", f"vga.vram={small}")
    run("image", "load", path("b.img"), f"vga.vram={path('small.out')}",
        f"pc.ram={path('big.out')}")
    assert same(big, path("big.out")) and same(small, path("small.out"))


@case
def changed_source_fails_verify():
    ram = make_ram("c.bin", 2 * MIB, 4, 40)
    run("image", "save", path("c.img"), f"ram={ram}")
    with open(ram, "r+b") as f:
        f.seek(5 * PAGE)
        f.write(b"x")
    p = run("image", "verify", path("c.img"), f"ram={ram}", ok=False)
    assert p.returncode == 1 and "page 5 differs" in p.stderr, p.stderr


@case
def interrupted_save_is_detected_and_refused():
    ram = make_ram("d.bin", 2 * MIB, 5, 40)
    run("image", "save", path("d.img"), f"ram={ram}")
    size = os.path.getsize(path("d.img"))
    # A save killed before its trailer: everything but the last bytes.
    with open(path("d.img"), "r+b") as f:
        f.truncate(size - 30)
    info = json.loads(run("-j", "image", "info", path("d.img")).stdout)
    assert not info["complete"], info
    p = run("image", "load", path("d.img"), f"ram={path('d.out')}", ok=False)
    assert p.returncode == 1 and "incomplete" in p.stderr, p.stderr


@case
def bad_input_is_refused_with_reasons():
    ram = make_ram("e.bin", 1 * MIB, 6, 10)
    with open(path("junk.img"), "wb") as f:
        f.write(b"not an image at all")
    checks = [
        (["image", "info", path("junk.img")], "no QEVM magic"),
        (["image", "info", path("missing.img")], "No such file"),
        (["image", "save", path("x.img"), "=" + ram], "BLOCK=PATH"),
        (["image", "save", path("x.img"), f"ram={ram}", f"ram={ram}"], "given twice"),
        (["image", "save", path("x.img"), f"ram={WORK}"], "not a regular file"),
        (["image", "load", path("a.img"), f"nosuch={path('y.bin')}"], "no block nosuch"),
        (["image", "bogus"], "unknown image action"),
        (["image", "save", "--threads", "0", path("x.img"), f"ram={ram}"], "--threads"),
        (["image", "save", "--threshold", "x", path("x.img"), f"ram={ram}"], "--threshold"),
    ]
    # The pass options image save and backup share (user/common/passes.c).
    for bad in ("+5", " 5", "-1", "5X", "18014398509481984k", "99999999999999999999"):
        checks.append((["image", "save", "--threshold", bad, path("x.img"), f"ram={ram}"],
                       "--threshold"))
    for bad in ("0", "0x1p3", "1e6min", "2m", "-1s", "0.0001ms", "s", ""):
        checks.append((["image", "save", "--max-freeze", bad, path("x.img"), f"ram={ram}"],
                       "--max-freeze"))
    checks.append((["image", "save", "--passes", "65", path("x.img"), f"ram={ram}"],
                   "--passes"))
    with open(path("odd.bin"), "wb") as f:
        f.write(b"x" * 5000)
    checks.append((["image", "save", path("x.img"), f"ram={path('odd.bin')}"],
                   "not a non-zero multiple of 4096"))
    for args, want in checks:
        p = run(*args, ok=False)
        assert p.returncode in (1, 2) and want in p.stderr, (args, p.stderr)
    for left in ("x.img", "x.img.partial", "y.bin"):
        assert not os.path.exists(path(left)), f"{left} was left behind"


@case
def block_names_with_equals_and_help():
    """--block NAME PATH takes any name; BLOCK=PATH splits at the first '='; a
    block named twice is refused. Every image action's --help exits 0."""
    ram = make_ram("eq.bin", 1 * MIB, 11, 20)
    small = make_ram("eq2.bin", 2 * PAGE, 12, 2)
    # --block before FILE, after it, and beside BLOCK=PATH.
    run("image", "save", "--block", "a=b", ram, path("eq.img"), f"c={small}",
        "--block", "d==", small)
    info = json.loads(run("-j", "image", "info", path("eq.img")).stdout)
    assert [b["name"] for b in info["blocks"]] == ["a=b", "c", "d=="], info
    run("image", "verify", path("eq.img"), "--block", "a=b", ram, "--block", "d==", small)
    for left in ("eq.out", "eq2.out"):
        if os.path.exists(path(left)):
            os.unlink(path(left))
    run("image", "load", path("eq.img"), "--block", "a=b", path("eq.out"),
        "--block", "d==", path("eq2.out"))
    assert same(ram, path("eq.out")) and same(small, path("eq2.out"))
    # BLOCK=PATH: block "a", file "b=...".
    p = run("image", "load", path("eq.img"), f"a=b={path('eq3.out')}", ok=False)
    assert p.returncode == 1 and "no block a\n" in p.stderr, p.stderr
    # --block=NAME PATH as getopt takes it in save.
    run("image", "verify", path("eq.img"), "--block=a=b", ram)
    # One destination per block: a second would go unchecked.
    zero = make_ram("eq0.bin", 1 * MIB, 13, 0)
    for action in ("verify", "load"):
        p = run("image", action, path("eq.img"), "--block", "a=b", ram, "--block", "a=b", zero,
                ok=False)
        assert p.returncode == 2 and "block a=b given twice" in p.stderr, p.stderr
    for args, want in ((["image", "save", path("x.img"), "--block", "a"], "--block"),
                       (["image", "save", path("x.img"), "--block", "", ram], "--block"),
                       (["image", "load", path("eq.img"), "--block", "a=b"], "--block")):
        p = run(*args, ok=False)
        assert p.returncode == 2 and want in p.stderr, (args, p.returncode, p.stderr)
    for left in ("x.img", "x.img.partial", "eq3.out"):
        assert not os.path.exists(path(left)), f"{left} was left behind"
    for action in ("save", "load", "info", "verify"):
        p = run("image", action, "--help")
        assert "dirtybit image save" in p.stdout, (action, p.stdout)


@case
def unsynced_rename_is_not_claimed():
    """The directory's fsync after the rename fails (an LD_PRELOAD shim):
    the save fails, saying so; FILE, complete, is kept (it already
    replaced any older one)."""
    ram = make_ram("ds.bin", 1 * MIB, 5, 20)
    shim = os.path.join(os.path.dirname(CLI), "host", "fail_dirsync.so")
    p = subprocess.run([CLI, "image", "save", path("ds.img"), f"ram={ram}"],
                       capture_output=True, text=True, env=dict(os.environ, LD_PRELOAD=shim))
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "may not survive a crash" in p.stderr, p.stderr
    run("image", "verify", path("ds.img"), f"ram={ram}")


@case
def qemu_loads_a_dirtybit_image():
    size = 64 * MIB
    ram = make_ram("q.bin", size, 7, 3000)
    run("image", "save", path("q.img"), f"ram={ram}")
    st = ram_via_mapped_ram(path("q1.sock"), ["-M", "none", "-m", "64M", "-incoming", "defer"],
                            open(path("qemu-load.log"), "w"), True, path("q.img"), size,
                            path("q.pmem"))
    assert st == "completed", f"incoming migration {st}"
    assert same(ram, path("q.pmem")), "guest RAM differs from the saved file"


@case
def dirtybit_loads_a_qemu_image():
    size = 64 * MIB
    ram = make_ram("r.bin", size, 8, 3000)
    st = ram_via_mapped_ram(path("q2.sock"),
                            ["-object",
                             f"memory-backend-file,id=ram,size=64M,mem-path={ram},share=on",
                             "-M", "none,memory-backend=ram"],
                            open(path("qemu-save.log"), "w"), False, path("r.img"), size,
                            path("r.pmem"))
    assert st == "completed", f"migration {st}"
    info = json.loads(run("-j", "image", "info", path("r.img")).stdout)
    assert info["complete"] and info["blocks"][0]["name"] == "ram", info
    if os.path.exists(path("r.out")):
        os.unlink(path("r.out"))
    run("image", "load", path("r.img"), f"ram={path('r.out')}")
    assert same(path("r.out"), path("r.pmem")), "loaded file differs from QEMU's RAM"


def description(img):
    """The JSON description at the end of image file @img, and the file."""
    with open(img, "rb") as f:
        data = f.read()
    at = data.rfind(b"\x00\x06")
    while at >= 0 and int.from_bytes(data[at + 2:at + 6], "big") != len(data) - at - 6:
        at = data.rfind(b"\x00\x06", 0, at)
    assert at >= 0, f"{img}: no description at its end"
    return json.loads(data[at + 6:]), data


@case
def description_and_header_equal_qemus():
    """QEMU saves a paused machine whose RAM is a file with some pages
    written; dirtybit saves the same blocks (QEMU's, loaded back) with the
    same --machine.  The JSON descriptions are equal but for the device
    sections QEMU saved and dirtybit, whose stream holds RAM only, does
    not; the bytes up to the first block's pages are equal."""
    for machine, ram_id in (("none", "ram"), ("pc-q35-10.0", "pc.ram")):
        ram = make_ram(f"m-{machine}.bin", 64 * MIB, 10, 500)
        q = Qemu(path("m.sock"), ["-S", "-object",
                                  f"memory-backend-file,id={ram_id},size=64M,mem-path={ram},"
                                  "share=on", "-M", f"{machine},memory-backend={ram_id}"],
                 open(path("qemu-desc.log"), "w"))
        try:
            st = q.mapped_ram(False, path("m-qemu.img"))
        finally:
            q.quit()
        assert st == "completed", f"{machine}: migration {st}"
        info = json.loads(run("-j", "image", "info", path("m-qemu.img")).stdout)
        blocks = [f"{b['name']}={path(f'm-block{i}.bin')}" for i, b in enumerate(info["blocks"])]
        for i in range(len(blocks)):
            if os.path.exists(path(f"m-block{i}.bin")):
                os.unlink(path(f"m-block{i}.bin"))
        run("image", "load", path("m-qemu.img"), *blocks)
        run("image", "save", "--machine", machine, path("m-ours.img"), *blocks)
        theirs, qemu_file = description(path("m-qemu.img"))
        ours, our_file = description(path("m-ours.img"))
        assert ours["devices"] == [], ours
        assert theirs["devices"], theirs
        theirs["devices"] = []
        assert ours == theirs, (machine, ours, theirs)
        first = info["blocks"][0]["pages_offset"]
        assert our_file[:first] == qemu_file[:first], f"{machine}: the header differs"
        mine = json.loads(run("-j", "image", "info", path("m-ours.img")).stdout)
        # The same blocks and valid pages.  Past the first block the order
        # may differ: QEMU sorts by max_length (a resizable block's is
        # larger), ties in creation order; dirtybit by size, ties by name.
        def blocks(i):
            return sorted((b["name"], b["size"], b["valid"]) for b in i["blocks"])
        assert blocks(mine) == blocks(info), (mine, info)


@case
def cli_is_valgrind_clean():
    ram = make_ram("v.bin", 4 * MIB, 9, 100)
    vg = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
          "--errors-for-leak-kinds=definite,indirect"]
    for args in (["image", "save", "--threads", "3", path("v.img"), f"ram={ram}"],
                 ["-j", "image", "info", path("v.img")],
                 ["image", "verify", path("v.img"), f"ram={ram}"],
                 ["image", "load", path("v.img"), f"ram={path('v.out')}"],
                 ["image", "load", path("v.img"), "--block", "ram", path("v.out")],
                 ["image", "info", path("junk.img")]):
        p = subprocess.run(vg + [CLI] + args, capture_output=True, text=True)
        assert p.returncode in (0, 1), (args, p.returncode, p.stderr[-2000:])


print("TAP version 13")
print(f"1..{len(results)}")
for i, (ok, name, why) in enumerate(results, 1):
    if why:
        print(f"# {name}: {why}")
    print(f"{'' if ok else 'not '}ok {i} {name}")
sys.exit(0 if all(r[0] for r in results) else 1)
