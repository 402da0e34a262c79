"""Run Python code under the restrictions echannel.service puts on the daemon, without a running systemd.

systemd applies SystemCallFilter=, MemoryDenyWriteExecute= and RestrictAddressFamilies= as seccomp filters
and ProcSubset=pid / ProtectProc=invisible as a private /proc mount. This module rebuilds the same filters
from the unit file (the syscall groups come from `systemd-analyze syscall-filter`, so they are the installed
systemd's own lists) and loads them with libseccomp, after dropping to an unprivileged user; the caller runs it
inside `unshare -m` with /proc remounted `subset=pid,hidepid=invisible` and with every capability dropped
(`setpriv --bounding-set=-all`, like CapabilityBoundingSet= empty; the uid stays, since this machine's Python
lives under /root where another user cannot read).

    python unit_sandbox.py UNIT_FILE WORKLOAD.py     # exit status: the workload's

What it does not reproduce: DevicePolicy (cgroup BPF), ProtectSystem (read-only mounts), PrivateTmp, the
capability bounding set beyond what dropping root gives, IPAddressDeny. Those do not touch how numpy,
OpenCV or onnxruntime allocate memory or call the kernel, which is what this is for.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import runpy
import socket
import subprocess
import sys
from pathlib import Path

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_EQ = 4
SCMP_CMP_GE = 5
SCMP_CMP_MASKED_EQ = 7
PROT_WRITE, PROT_EXEC = 0x2, 0x4
SHM_EXEC = 0o100000


def scmp_act_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


class ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)
    ]


def unit_settings(unit_file: str) -> dict[str, list[str]]:
    """The [Service] assignments of a unit file, each key's values in order."""
    settings: dict[str, list[str]] = {}
    for line in Path(unit_file).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def syscall_groups() -> dict[str, list[str]]:
    """Every @group of the installed systemd with its members (names and nested @groups)."""
    text = subprocess.run(
        ["systemd-analyze", "syscall-filter", "--no-pager"], check=True, capture_output=True, text=True
    ).stdout
    groups: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(names: list[str], groups: dict[str, list[str]]) -> set[str]:
    out: set[str] = set()
    for name in names:
        out |= expand(groups[name], groups) if name.startswith("@") else {name}
    return out


def allowed_syscalls(filters: list[str], groups: dict[str, list[str]]) -> set[str]:
    """SystemCallFilter= semantics: the first non-~ line starts an allow list, ~ lines remove from it."""
    allowed: set[str] = set()
    for value in filters:
        if value.startswith("~"):
            allowed -= expand(value[1:].split(), groups)
        else:
            allowed |= expand(value.split(), groups)
    return allowed


class Seccomp:
    def __init__(self) -> None:
        self.lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2", use_errno=True)
        self.lib.seccomp_init.restype = ctypes.c_void_p
        self.lib.seccomp_init.argtypes = [ctypes.c_uint32]
        self.lib.seccomp_rule_add_array.argtypes = [
            ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(ArgCmp)
        ]
        self.lib.seccomp_load.argtypes = [ctypes.c_void_p]
        self.lib.seccomp_release.argtypes = [ctypes.c_void_p]
        self.lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]

    def number(self, name: str) -> int | None:
        nr = self.lib.seccomp_syscall_resolve_name(name.encode())
        return nr if nr >= 0 else None  # a name this architecture does not have

    def load(self, default: int, rules: list[tuple[int, str, list[ArgCmp]]]) -> None:
        """One filter; the kernel combines stacked filters by the most restrictive action (like systemd)."""
        ctx = self.lib.seccomp_init(default)
        try:
            for action, name, conditions in rules:
                nr = self.number(name)
                if nr is None:
                    continue
                array = (ArgCmp * len(conditions))(*conditions) if conditions else None
                rc = self.lib.seccomp_rule_add_array(ctx, action, nr, len(conditions), array)
                if rc < 0:
                    raise OSError(-rc, f"seccomp rule for {name}")
            rc = self.lib.seccomp_load(ctx)  # also sets no_new_privs (NoNewPrivileges=yes)
            if rc < 0:
                raise OSError(-rc, "seccomp_load")
        finally:
            self.lib.seccomp_release(ctx)


def apply_unit(unit_file: str) -> list[str]:
    """Load the unit's seccomp-based restrictions into this process; return what was applied."""
    settings = unit_settings(unit_file)
    seccomp = Seccomp()
    applied = []
    eperm = scmp_act_errno(errno.EPERM)
    if settings.get("MemoryDenyWriteExecute", ["no"])[-1] == "yes":
        wx = PROT_WRITE | PROT_EXEC
        seccomp.load(SCMP_ACT_ALLOW, [
            (eperm, "mmap", [ArgCmp(2, SCMP_CMP_MASKED_EQ, wx, wx)]),
            (eperm, "mmap2", [ArgCmp(2, SCMP_CMP_MASKED_EQ, wx, wx)]),
            (eperm, "mprotect", [ArgCmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)]),
            (eperm, "pkey_mprotect", [ArgCmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)]),
            (eperm, "shmat", [ArgCmp(2, SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC)]),
        ])
        applied.append("MemoryDenyWriteExecute")
    families = settings.get("RestrictAddressFamilies")
    if families:
        allowed_families = {int(getattr(socket, name)) for name in families[-1].split()}
        refuse = scmp_act_errno(errno.EAFNOSUPPORT)
        rules = [(refuse, "socket", [ArgCmp(0, SCMP_CMP_EQ, f, 0)]) for f in range(64) if f not in allowed_families]
        rules.append((refuse, "socket", [ArgCmp(0, SCMP_CMP_GE, 64, 0)]))
        seccomp.load(SCMP_ACT_ALLOW, rules)
        applied.append(f"RestrictAddressFamilies ({families[-1]})")
    # Last, as systemd does: the allow list does not include seccomp() itself.
    filters = settings.get("SystemCallFilter", [])
    if filters:
        allowed = allowed_syscalls(filters, syscall_groups())
        seccomp.load(eperm, [(SCMP_ACT_ALLOW, name, []) for name in sorted(allowed)])
        applied.append(f"SystemCallFilter ({len(allowed)} names allowed)")
    return applied


def main(argv: list[str]) -> int:
    unit_file, workload = argv[1], argv[2]
    for line in apply_unit(unit_file):
        print(f"sandbox: {line}", flush=True)
    sys.argv = [workload, *argv[3:]]
    runpy.run_path(workload, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
