"""The cgroup backends of `proeftuin.hub.limits`: what this process sees, one cgroup's files, and the
platform's group made in a cgroup v2 or v1 hierarchy.

What each mechanism writes per server (cgroup2, cgroup1) is described in `proeftuin.hub.limits`.

A `Cgroup` is one directory (v2) or one per v1 hierarchy (memory first, then cpu); `Machine` finds the
cgroups this process is in (from /proc/self/cgroup and /proc/self/mountinfo). Which mechanism a platform
uses, and what each server gets, is decided in `proeftuin.hub.limits`.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from proeftuin.units import MiB

CFS_PERIOD_US = 100_000
HUB_LEAF_SUFFIX = "-hub"


# --- what this process sees ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Machine:
    """The cgroup directories of this process: its cgroup in the v2 (unified) hierarchy, and in the v1
    memory and cpu hierarchies; None where there is none."""

    v2: Path | None = None
    v1_memory: Path | None = None
    v1_cpu: Path | None = None

    @classmethod
    def current(cls) -> Machine:
        try:
            return cls.parse(Path("/proc/self/cgroup").read_text(), Path("/proc/self/mountinfo").read_text())
        except OSError:
            return cls()

    @classmethod
    def parse(cls, proc_cgroup: str, mountinfo: str) -> Machine:
        """From /proc/self/cgroup and /proc/self/mountinfo (a mount's root may be a subtree: containers)."""
        paths: dict[str, str] = {}
        for line in proc_cgroup.splitlines():
            parts = line.split(":", 2)
            if len(parts) == 3:
                for controller in parts[1].split(",") if parts[1] else [""]:
                    paths[controller] = parts[2]
        v2 = memory = cpu = None
        for line in mountinfo.splitlines():
            left, sep, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if not sep or len(fields) < 5 or len(tail) < 3:
                continue
            root, mount_point, fstype, options = fields[3], _unescape(fields[4]), tail[0], tail[2].split(",")
            if fstype == "cgroup2" and "" in paths and v2 is None:
                v2 = _inside(mount_point, root, paths[""])
            elif fstype == "cgroup":
                if "memory" in options and "memory" in paths and memory is None:
                    memory = _inside(mount_point, root, paths["memory"])
                if "cpu" in options and "cpu" in paths and cpu is None:
                    cpu = _inside(mount_point, root, paths["cpu"])
        return cls(v2, memory, cpu)


def _unescape(path: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def _inside(mount_point: str, mount_root: str, cgroup: str) -> Path | None:
    """Where a cgroup path (as /proc/self/cgroup gives it) is below a mount of (part of) its hierarchy."""
    if mount_root != "/" and not (cgroup == mount_root or cgroup.startswith(mount_root.rstrip("/") + "/")):
        return None
    relative = cgroup[len(mount_root):] if mount_root != "/" else cgroup
    return Path(mount_point, *[p for p in relative.split("/") if p])


# --- the cgroups ------------------------------------------------------------------------------------

def _write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _read(path: Path) -> str:
    return path.read_text().strip()


@dataclass(frozen=True)
class Cgroup:
    """One cgroup: a single directory (v2), or one per v1 hierarchy (memory first, then cpu if any)."""

    version: Literal[1, 2]
    dirs: tuple[Path, ...]

    @property
    def memory_dir(self) -> Path:
        return self.dirs[0]

    @property
    def cpu_dir(self) -> Path | None:
        return self.dirs[0] if self.version == 2 else (self.dirs[1] if len(self.dirs) > 1 else None)

    def child(self, name: str) -> Cgroup:
        return Cgroup(self.version, tuple(d / name for d in self.dirs))

    def exists(self) -> bool:
        return all(d.is_dir() for d in self.dirs)

    def create(self) -> None:
        for folder in self.dirs:
            try:
                folder.mkdir()
            except FileExistsError:
                pass

    def set_limits(self, memory: int, cpu: float) -> None:
        """memory in bytes (0: none), cpu in CPUs (0: none); no swap beyond the memory limit."""
        if self.version == 2:
            if memory:
                _write(self.memory_dir / "memory.max", str(memory))
                if (self.memory_dir / "memory.swap.max").exists():
                    _write(self.memory_dir / "memory.swap.max", "0")
            if cpu and (self.memory_dir / "cpu.max").exists():
                _write(self.memory_dir / "cpu.max", f"{max(1000, int(cpu * CFS_PERIOD_US))} {CFS_PERIOD_US}")
            return
        if memory:
            limit, memsw = self.memory_dir / "memory.limit_in_bytes", self.memory_dir / "memory.memsw.limit_in_bytes"
            # memsw may never be below the memory limit: lower the memory first, raise memsw first.
            order = [(limit, memory), (memsw, memory)]
            try:
                current = int(_read(limit))
            except (OSError, ValueError):
                current = 0
            if memory > current:
                order.reverse()
            for path, value in order:
                if path.exists():
                    _write(path, str(value))
        if cpu and self.cpu_dir is not None:
            _write(self.cpu_dir / "cpu.cfs_period_us", str(CFS_PERIOD_US))
            _write(self.cpu_dir / "cpu.cfs_quota_us", str(max(1000, int(cpu * CFS_PERIOD_US))))

    def limits(self) -> tuple[int | None, float | None]:
        """(memory bytes, CPUs) as the kernel has them; None: unlimited."""
        if self.version == 2:
            raw = _read(self.memory_dir / "memory.max")
            memory = None if raw == "max" else int(raw)
            cpu = None
            if (self.memory_dir / "cpu.max").exists():
                quota, period = _read(self.memory_dir / "cpu.max").split()
                cpu = None if quota == "max" else int(quota) / int(period)
            return memory, cpu
        memory = int(_read(self.memory_dir / "memory.limit_in_bytes"))
        cpu = None
        if self.cpu_dir is not None:
            quota = int(_read(self.cpu_dir / "cpu.cfs_quota_us"))
            cpu = None if quota < 0 else quota / int(_read(self.cpu_dir / "cpu.cfs_period_us"))
        return (None if memory >= 1 << 62 else memory), cpu

    def join(self, pid: int = 0) -> None:
        """Move a process (default: this one) into this cgroup; needs root (or a delegated subtree)."""
        value = str(pid or os.getpid())
        for folder in self.dirs:
            _write(folder / "cgroup.procs", value)

    def procs(self) -> set[int]:
        pids: set[int] = set()
        for folder in self.dirs:
            try:
                pids.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
            except FileNotFoundError:
                continue
        return pids

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer stopped in this cgroup since it was made."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.memory_dir / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def kill_all(self, timeout: float = 10.0) -> bool:
        """SIGKILL everything in the cgroup (again, until it is empty: a process may fork meanwhile)."""
        deadline = time.monotonic() + timeout
        me = os.getpid()
        while True:
            pids = self.procs() - {me}
            if not pids:
                return True
            kill_file = self.memory_dir / "cgroup.kill"
            if self.version == 2 and kill_file.exists():
                try:
                    _write(kill_file, "1")
                except OSError:
                    pass
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def remove(self, timeout: float = 5.0) -> bool:
        """Remove the (empty) cgroup; its children first. False when something is still inside."""
        deadline = time.monotonic() + timeout
        ok = True
        for folder in self.dirs:
            if not folder.is_dir():
                continue
            for sub in sorted((p for p in folder.iterdir() if p.is_dir()), reverse=True):
                ok &= Cgroup(self.version, (sub,)).remove(max(0.0, deadline - time.monotonic()))
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        ok = False
                        break
                    time.sleep(0.05)
        return ok


# --- the platform's group, in a v2 or a v1 hierarchy ------------------------------------------------

def can_write(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def v2_base(machine: Machine, group: str) -> Path | None:
    if machine.v2 is None:
        return None
    own = machine.v2
    return own.parent if own.name == group + HUB_LEAF_SUFFIX else own


def controllers(folder: Path) -> set[str]:
    try:
        return set((folder / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


def try_cgroup2(machine: Machine, group: str) -> tuple[Cgroup | None, str, Path | None]:
    """The platform group in a delegated v2 subtree: (group, why not, leaf `up` moved into)."""
    base = v2_base(machine, group)
    if base is None:
        return None, "geen cgroup v2", None
    if not {"memory", "cpu"} <= controllers(base):
        return None, f"cgroup v2 geeft {base} geen memory- en cpu-controller", None
    if not can_write(base):
        return None, f"geen schrijfrechten op {base} (start als root of als systemd-dienst met Delegate=yes)", None
    moved = None
    subtree = base / "cgroup.subtree_control"
    if not {"memory", "cpu"} <= set(_read(subtree).split()):
        try:
            _write(subtree, "+memory +cpu")
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                return None, f"{subtree} weigert memory en cpu ({exc.strerror})", None
            # v2: no processes in a cgroup that hands controllers down. Move `up` itself into a leaf.
            leaf = base / (group + HUB_LEAF_SUFFIX)
            try:
                leaf.mkdir(exist_ok=True)
                _write(leaf / "cgroup.procs", str(os.getpid()))
                moved = leaf
                _write(subtree, "+memory +cpu")
            except OSError:
                if moved is not None:
                    _write(base / "cgroup.procs", str(os.getpid()))
                try:
                    leaf.rmdir()
                except OSError:
                    pass
                return None, (f"de cgroup {base} bevat ook andere processen; start Proeftuin als systemd-dienst "
                              "met Delegate=yes"), None
    platform = Cgroup(2, (base / group,))
    platform.create()
    _write(base / group / "cgroup.subtree_control", "+memory +cpu")
    return platform, "", moved


def try_cgroup1(machine: Machine, group: str) -> tuple[Cgroup | None, str]:
    if machine.v1_memory is None:
        return None, "geen cgroup v1-memory-controller"
    dirs = [machine.v1_memory] + ([machine.v1_cpu] if machine.v1_cpu and machine.v1_cpu != machine.v1_memory else [])
    for folder in dirs:
        if not can_write(folder):
            return None, f"geen schrijfrechten op {folder} (start `proeftuin up` als root)"
    platform = Cgroup(1, tuple(d / group for d in dirs))
    try:
        platform.create()
        use_hierarchy = platform.memory_dir / "memory.use_hierarchy"
        if use_hierarchy.exists() and _read(use_hierarchy) != "1":
            _write(use_hierarchy, "1")  # limits of the group count for its children too
    except OSError as exc:
        platform.remove(0)
        return None, f"{platform.memory_dir} kan niet gemaakt worden ({exc.strerror})"
    return platform, ""


PROBE_LIMIT = 64 * MiB
_PROBE_CODE = f"data = b'x' * {4 * PROBE_LIMIT}\nprint(len(data))"


def limit_is_enforced(platform: Cgroup) -> bool:
    """Does the kernel really stop a process that writes more than its cgroup's memory limit? A child
    writes 256 MiB in a cgroup of 64 MiB and must be killed (some sandboxed kernels only pretend)."""
    probe = platform.child(f"probe-{os.getpid()}")
    try:
        probe.create()
        probe.set_limits(PROBE_LIMIT, 0)
        result = subprocess.run([sys.executable, "-I", "-S", "-c", _PROBE_CODE], preexec_fn=probe.join,  # noqa: S603
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                timeout=60, check=False)
        return result.returncode == -signal.SIGKILL
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        probe.kill_all(5)
        probe.remove()


# --- the cgroup a process is in ----------------------------------------------------------------------

def own_cgroup() -> Cgroup | None:
    """The memory cgroup this process is in (for a kernel: its server's), or None."""
    machine = Machine.current()
    if machine.v2 is not None and (machine.v2 / "memory.max").exists():
        return Cgroup(2, (machine.v2,))
    if machine.v1_memory is not None and machine.v1_memory.is_dir():
        return Cgroup(1, (machine.v1_memory,))
    return None


