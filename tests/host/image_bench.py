#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make bench, image part (on the host: the writer's core takes a plain file
as its page source).  Saves SIZE of non-zero memory from a file into an
image on the same file system as the baselines, medians of ROUNDS:

  - fio sequential writes of the same amount (bs=1M, end_fsync), buffered
    and O_DIRECT: the file system's own throughput;
  - dirtybit image save: 1 thread, N threads, each buffered and --direct;
  - QEMU's own mapped-ram save of the same memory (memory-backend-file on
    the same source), plain, + multifd (N channels), + multifd + direct-io.

Each round runs every writer once, in an order that rotates from round to
round, so a disk that drifts during the run weighs on all of them alike.
Prints medians (min-max) and ratios against fio; each dirtybit row also
against QEMU's multifd + direct-io save of the same round, pair by pair,
and so does a second run of that QEMU save (A/A: the disk's own noise).
Usage: image_bench.py CLI WORKDIR [SIZE_MB]"""
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import Qemu  # noqa: E402

CLI, WORK = sys.argv[1], sys.argv[2]
SIZE_MB = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
THREADS = min(4, os.cpu_count() or 1)
SRC = os.path.join(WORK, "src.bin")
OUT = os.path.join(WORK, "out.img")


def drop(path):
    if os.path.exists(path):
        os.unlink(path)


def timed(fn):
    """Seconds of one run of @fn, from an empty file system cache of OUT."""
    t = time.monotonic()
    fn()
    return time.monotonic() - t


def fio(direct):
    subprocess.run(["fio", "--name=seq", f"--filename={OUT}", "--rw=write", "--bs=1M",
                    f"--size={SIZE_MB}M", "--ioengine=psync", f"--direct={int(direct)}",
                    "--end_fsync=1", "--output-format=json"],
                   check=True, capture_output=True)


def save(threads, direct):
    args = [CLI, "image", "save", "--threads", str(threads), OUT, f"ram={SRC}"]
    if direct:
        args.insert(3, "--direct")
    subprocess.run(args, check=True, capture_output=True)


def qemu_save(multifd, direct):
    q = Qemu(os.path.join(WORK, "bench.sock"),
             ["-object", f"memory-backend-file,id=ram,size={SIZE_MB}M,mem-path={SRC},share=on",
              "-M", "none,memory-backend=ram"], open(os.path.join(WORK, "qemu.log"), "w"))
    try:
        params = {"max-bandwidth": 1 << 40}      # the default caps it at 128 MiB/s
        if multifd:
            params["multifd-channels"] = THREADS
        if direct:
            params["direct-io"] = True
        t = time.monotonic()
        # Polled often: the end of the migration is not rounded up by 0.1 s.
        st = q.mapped_ram(False, OUT, ("multifd",) if multifd else (), params, poll=0.01)
        took = time.monotonic() - t
        if st != "completed":
            raise RuntimeError(f"QEMU migration {st}")
    finally:
        q.quit()
    # QEMU does not fsync the file; count the flush like fio and dirtybit do.
    t = time.monotonic()
    fd = os.open(OUT, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return took + time.monotonic() - t


QEMU_BEST = f"QEMU 10 mapped-ram + multifd ({THREADS}) + direct-io"
QEMU_AA = QEMU_BEST + ", again (A/A)"


def writers():
    """(name, fio mode, seconds of one run) for every row."""
    rows = [("fio sequential write, buffered + fsync", "buffered", lambda: timed(lambda: fio(False))),
            ("fio sequential write, O_DIRECT + fsync", "direct", lambda: timed(lambda: fio(True)))]
    for threads in (1, THREADS):
        for direct in (False, True):
            rows.append((f"dirtybit image save, {threads} thread{'s' if threads > 1 else ''}, "
                         f"{'O_DIRECT' if direct else 'buffered'}",
                         "direct" if direct else "buffered",
                         lambda t=threads, d=direct: timed(lambda: save(t, d))))
    for name, multifd, direct in (("QEMU 10 mapped-ram", False, False),
                                  (f"QEMU 10 mapped-ram + multifd ({THREADS})", True, False),
                                  (QEMU_BEST, True, True), (QEMU_AA, True, True)):
        rows.append((name, "direct" if direct else "buffered",
                     lambda m=multifd, d=direct: qemu_save(m, d)))
    return rows


def spread(xs, fmt):
    return f"{fmt(statistics.median(xs))} ({fmt(min(xs))}–{fmt(max(xs))})"


def main():
    os.makedirs(WORK, exist_ok=True)
    with open(SRC, "wb") as f:                    # every page non-zero
        block = os.urandom(1 << 20)
        for _ in range(SIZE_MB):
            f.write(block)
    print(f"image bench: {SIZE_MB} MiB, {THREADS} threads, medians of {ROUNDS} rounds, {WORK}")
    rows = writers()
    secs = {name: [] for name, _, _ in rows}
    failed = set()
    for r in range(ROUNDS):
        for name, _, run in rows[r % len(rows):] + rows[:r % len(rows)]:
            if name in failed:
                continue
            drop(OUT)
            subprocess.run(["sync"], check=True)
            try:
                secs[name].append(run())
            except RuntimeError as e:
                print(f"# {name}: {e}")
                failed.add(name)
    base = {kind: statistics.median(SIZE_MB / t for t in secs[name])
            for name, kind, _ in rows[:2]}
    best = secs.get(QEMU_BEST) if QEMU_BEST not in failed else None
    print(f"\n| writer | MB/s, median (min–max) | vs fio (same mode) | vs {QEMU_BEST}, "
          "paired by round |\n|---|---|---|---|")
    result = []
    for name, kind, _ in rows:
        if name in failed:
            continue
        mbs = [SIZE_MB / t for t in secs[name]]
        vs = "—"
        if best and (name.startswith("dirtybit") or name == QEMU_AA):
            vs = spread([q / t for q, t in zip(best, secs[name])], lambda x: f"{x:.2f}")
        print(f"| {name} | {spread(mbs, lambda x: f'{x:.0f}')} | "
              f"{statistics.median(mbs) / base[kind]:.2f} | {vs} |")
        result.append((name, statistics.median(mbs), kind))
    print("RESULT " + json.dumps({"fio": base, "rows": result}))
    drop(OUT)
    drop(SRC)


main()
