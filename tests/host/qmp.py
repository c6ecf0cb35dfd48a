# SPDX-License-Identifier: GPL-2.0
"""A minimal QMP client for the host image tests (QEMU's own python
package is not in Debian's qemu-system-x86)."""
import json
import socket
import subprocess
import time


class Qemu:
    def __init__(self, sock_path, args, log):
        self.proc = subprocess.Popen(
            ["qemu-system-x86_64", "-nodefaults", "-display", "none",
             "-accel", "tcg", "-qmp", f"unix:{sock_path},server=on,wait=off"] + args,
            stdout=log, stderr=subprocess.STDOUT)
        for _ in range(600):
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(sock_path)
                break
            except OSError:
                self.sock.close()
                if self.proc.poll() is not None:
                    raise RuntimeError("qemu exited early")
                time.sleep(0.05)
        else:
            raise RuntimeError("no QMP socket")
        self.f = self.sock.makefile("rw")
        json.loads(self.f.readline())           # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            msg = json.loads(self.f.readline())
            if "return" in msg:
                return msg["return"]
            if "error" in msg:
                raise RuntimeError(f"{name}: {msg['error']['desc']}")

    def migration_done(self, timeout=300, poll=0.1):
        """Polls query-migrate every @poll s until it completes; the final status."""
        end = time.time() + timeout
        while time.time() < end:
            st = self.cmd("query-migrate").get("status", "none")
            if st in ("completed", "failed", "cancelled"):
                return st
            time.sleep(poll)
        return "timeout"

    def mapped_ram(self, incoming, path, caps=(), params=None, poll=0.1):
        """Migrates to (or, @incoming, from) file @path with the mapped-ram
        capability and @caps on, after setting @params; the final status."""
        self.cmd("migrate-set-capabilities",
                 capabilities=[{"capability": c, "state": True}
                               for c in ("mapped-ram",) + tuple(caps)])
        if params:
            self.cmd("migrate-set-parameters", **params)
        self.cmd("migrate-incoming" if incoming else "migrate", uri=f"file:{path}")
        return self.migration_done(timeout=3600, poll=poll)

    def quit(self):
        try:
            self.cmd("quit")
        except (RuntimeError, OSError, ValueError):
            pass
        self.proc.wait(timeout=30)


def ram_via_mapped_ram(sock_path, args, log, incoming, image, size, pmem):
    """Starts QEMU with @args, migrates from (@incoming) or to file @image
    with mapped-ram, writes @size bytes of its RAM to @pmem if that
    completed, and quits; the migration's final status."""
    q = Qemu(sock_path, args, log)
    try:
        st = q.mapped_ram(incoming, image)
        if st == "completed":
            q.cmd("pmemsave", val=0, size=size, filename=pmem)
    finally:
        q.quit()
    return st
