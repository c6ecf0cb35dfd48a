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

Prints ratios against fio.  Usage: image_bench.py CLI WORKDIR [SIZE_MB]"""
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
    times = []
    for _ in range(ROUNDS):
        drop(OUT)
        subprocess.run(["sync"], check=True)
        t = time.monotonic()
        fn()
        times.append(time.monotonic() - t)
    return SIZE_MB / statistics.median(times)          # MB/s


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
        st = q.mapped_ram(False, OUT, ("multifd",) if multifd else (), params)
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


def qemu_timed(multifd, direct):
    times = []
    for _ in range(ROUNDS):
        drop(OUT)
        subprocess.run(["sync"], check=True)
        times.append(qemu_save(multifd, direct))
    return SIZE_MB / statistics.median(times)


def main():
    os.makedirs(WORK, exist_ok=True)
    with open(SRC, "wb") as f:                    # every page non-zero
        block = os.urandom(1 << 20)
        for _ in range(SIZE_MB):
            f.write(block)
    print(f"image bench: {SIZE_MB} MiB, {THREADS} threads, medians of {ROUNDS}, {WORK}")
    base = {"buffered": timed(lambda: fio(False)), "direct": timed(lambda: fio(True))}
    rows = []
    for threads in (1, THREADS):
        for direct in (False, True):
            kind = "direct" if direct else "buffered"
            mbs = timed(lambda: save(threads, direct))
            rows.append((f"dirtybit image save, {threads} thread{'s' if threads > 1 else ''}, "
                         f"{'O_DIRECT' if direct else 'buffered'}", mbs, kind))
    for name, multifd, direct in (("QEMU 10 mapped-ram", False, False),
                                  (f"QEMU 10 mapped-ram + multifd ({THREADS})", True, False),
                                  (f"QEMU 10 mapped-ram + multifd ({THREADS}) + direct-io",
                                   True, True)):
        try:
            rows.append((name, qemu_timed(multifd, direct), "direct" if direct else "buffered"))
        except RuntimeError as e:
            print(f"# {name}: {e}")
    print("\n| writer | MB/s | vs fio (same mode) |\n|---|---|---|")
    print(f"| fio sequential write, buffered + fsync | {base['buffered']:.0f} | 1.00 |")
    print(f"| fio sequential write, O_DIRECT + fsync | {base['direct']:.0f} | 1.00 |")
    for name, mbs, kind in rows:
        print(f"| {name} | {mbs:.0f} | {mbs / base[kind]:.2f} |")
    print("RESULT " + json.dumps({"fio": base, "rows": rows}))
    drop(OUT)
    drop(SRC)


main()
