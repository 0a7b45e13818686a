"""Limits per notebook server: memory and CPU for a user's JupyterLab server and everything it starts.

One notebook that fills the machine's memory must not take down the hub or a colleague's work. Each user
server gets a cgroup of its own; the server, its kernels, terminals and every process they start are in
it, and the kernel's OOM killer stops whatever goes over the limit *inside* that cgroup only.

Mechanisms, best first (`prepare_platform`, run by `proeftuin up`, picks one and says which):

- **cgroup2**: a cgroup v2 subtree we may write (root, or a systemd service with `Delegate=yes`) whose
  `cgroup.controllers` offers `memory` and `cpu`. Per server: `memory.max`, `memory.swap.max = 0`,
  `cpu.max`. v2 forbids processes in a cgroup that hands controllers to its children, so when the cgroup
  `up` runs in holds only `up` itself, `up` first moves into a leaf `<group>-hub` next to `<group>`.
- **cgroup1**: the cgroup v1 `memory` (and `cpu`) controllers. Per server: `memory.limit_in_bytes` and
  `memory.memsw.limit_in_bytes` (no swap beyond the limit, when the kernel accounts swap),
  `cpu.cfs_quota_us` / `cpu.cfs_period_us`.
- **rlimit**: no usable cgroups (not root, no controllers, or the kernel does not enforce them: `up`
  checks that a process over a small limit really is killed). Each process of a server gets
  `RLIMIT_DATA` = the memory limit; CPU cannot be capped, servers only run at a lower priority (nice).
  RLIMIT_DATA, not RLIMIT_AS: it counts the memory a process can write to (heap, anonymous mappings),
  not the address space it merely reserves or maps from libraries. Measured: `import torch` fails under
  an RLIMIT_AS of 1.5 GiB (libtorch_cpu.so alone maps more), while numpy, pandas, torch and
  scikit-learn run under an RLIMIT_DATA of 700 MiB. It is per process, so a server with three kernels
  may use three times the limit: a fallback, not a guarantee.
- **none**: `hub.limits.memory` and `hub.limits.cpu` are both 0.

Layout (v1: in the memory and in the cpu hierarchy, below the cgroup `up` runs in, so it works in a
container; v2: below the delegated cgroup):

    <own cgroup>/<group>/            all notebook servers of this platform: memory at most RAM - reserve
    <own cgroup>/<group>/pt-<user>/  one server and everything it starts

`<group>` is `proeftuin-<hub port>`, so two platforms on one machine (the tests) never share a cgroup.
The hub and the fork server do not decide anything themselves: they use the platform group when `up`
prepared it (`find_group`), else rlimits. The hub creates a user's cgroup just before the server starts
(`prepare_server`), the new process moves itself in as root before it drops to the user's account (the
spawner's `preexec_fn`; the fork server's child via `enter_server`), and when the server has stopped the
hub kills whatever is left in it and removes it (`release_server`): no user process outlives its server.

The kernels' side (a Dutch message instead of JupyterLab's "kernel died") is in `proeftuin.hub.kernel`.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from proeftuin.units import (  # noqa: F401 (part of this module's API)
    DEFAULT_CPU,
    DEFAULT_MEMORY,
    MAX_CPU,
    MIN_CPU,
    MIN_MEMORY,
    GiB,
    MiB,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
)

CFS_PERIOD_US = 100_000
#: Priority (nice) of user servers when CPU cannot be capped (rlimit): the hub and services go first.
FALLBACK_NICE = 10
#: In every server's environment (so the fork server's child finds the group); the limits themselves are
#: JupyterHub's own MEM_LIMIT and CPU_LIMIT (Spawner.mem_limit, Spawner.cpu_limit).
ENV_GROUP = "PROEFTUIN_CGROUP"
ENV_MEMORY = "MEM_LIMIT"
ENV_CPU = "CPU_LIMIT"
SERVER_PREFIX = "pt-"
HUB_LEAF_SUFFIX = "-hub"

Mechanism = Literal["cgroup2", "cgroup1", "rlimit", "none"]


def group_name(port: int) -> str:
    """The platform's cgroup: one per hub port, so two platforms on one machine never share it."""
    return f"proeftuin-{port}"


def server_cgroup_name(user: str) -> str:
    """pt-<name> like the system account; characters a path cannot hold are escaped (%xx)."""
    return SERVER_PREFIX + re.sub(r"[^A-Za-z0-9._@+-]", lambda m: "".join(f"%{b:02x}" for b in m.group().encode()),
                                  user)


def kernel_soft_limit(memory: int) -> int:
    """What a kernel may allocate before MemoryError: a bit below the server's limit, which the server
    itself (about 150 MiB) and other kernels share."""
    return max(memory - max(256 * MiB, memory // 8), memory // 2)


def total_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def servers_total(memory: int, ram: int | None = None) -> int:
    """All notebook servers together: the machine's memory minus what the hub, the proxy, MLflow, the
    gallery and the docs need (at least 2 GiB, or an eighth of the memory). Never below one server."""
    ram = total_memory() if ram is None else ram
    return max((ram - max(2 * GiB, ram // 8)) // MiB * MiB, memory)


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


@dataclass(frozen=True)
class Plan:
    """What `proeftuin up` applies to every notebook server, and how."""

    mechanism: Mechanism
    memory: int
    cpu: float
    group: Cgroup | None = None
    reason: str = ""  # Dutch: why no cgroups (rlimit) or no limits at all (none)
    total: int = 0  # all servers together (cgroups only)
    moved_to: Path | None = field(default=None, compare=False)  # v2: the leaf `up` moved itself into

    @property
    def enforced(self) -> bool:
        return self.mechanism in ("cgroup1", "cgroup2")

    def describe(self) -> str:
        """The one Dutch line `up` prints."""
        memory = f"{format_memory(self.memory)} geheugen" if self.memory else "geheugen onbeperkt"
        if self.mechanism == "none":
            return "Limieten per notebookserver: geen (hub.limits.memory en hub.limits.cpu staan op 0)."
        if self.enforced:
            cpu = format_cpu(self.cpu) if self.cpu else "CPU onbeperkt"
            if self.cpu and self.group is not None and self.group.cpu_dir is None:
                cpu = "CPU onbeperkt (geen cpu-controller)"
            version = "v2" if self.mechanism == "cgroup2" else "v1"
            return (f"Limieten per notebookserver: {memory}, {cpu} (cgroup {version}; alle notebookservers samen "
                    f"hoogstens {format_memory(self.total)}).")
        if self.memory:
            memory = f"{format_memory(self.memory)} geheugen per proces (RLIMIT_DATA)"
        cpu = "CPU niet te begrenzen, alleen lagere voorrang" if self.cpu else "CPU onbeperkt"
        return (f"Limieten per notebookserver: {memory}, {cpu}; geen cgroups: {self.reason}. Eén notebookserver "
                "met meerdere kernels kan zo meer gebruiken; zie docs/developer/hub.md (limieten).")


def _can_write(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def _v2_base(machine: Machine, group: str) -> Path | None:
    if machine.v2 is None:
        return None
    own = machine.v2
    return own.parent if own.name == group + HUB_LEAF_SUFFIX else own


def _controllers(folder: Path) -> set[str]:
    try:
        return set((folder / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


def _try_cgroup2(machine: Machine, group: str) -> tuple[Cgroup | None, str, Path | None]:
    """The platform group in a delegated v2 subtree: (group, why not, leaf `up` moved into)."""
    base = _v2_base(machine, group)
    if base is None:
        return None, "geen cgroup v2", None
    if not {"memory", "cpu"} <= _controllers(base):
        return None, f"cgroup v2 geeft {base} geen memory- en cpu-controller", None
    if not _can_write(base):
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


def _try_cgroup1(machine: Machine, group: str) -> tuple[Cgroup | None, str]:
    if machine.v1_memory is None:
        return None, "geen cgroup v1-memory-controller"
    dirs = [machine.v1_memory] + ([machine.v1_cpu] if machine.v1_cpu and machine.v1_cpu != machine.v1_memory else [])
    for folder in dirs:
        if not _can_write(folder):
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


def prepare_platform(memory: int, cpu: float, group: str, machine: Machine | None = None,
                     check: bool = True) -> Plan:
    """Run by `proeftuin up` before it starts the hub: choose the mechanism, make the platform's group
    (whose presence tells the hub and the fork server to use cgroups) and say why when it cannot."""
    if not memory and not cpu:
        return Plan("none", 0, 0.0)
    machine = machine or Machine.current()
    platform, why_not_v2, moved = _try_cgroup2(machine, group)
    why_not_v1 = ""
    if platform is None:
        platform, why_not_v1 = _try_cgroup1(machine, group)
    # Why not: the reason of the hierarchy the machine has memory in (hybrid machines have both mounts).
    reason = why_not_v1 if machine.v1_memory is not None else (
        why_not_v2 if machine.v2 is not None else "geen cgroup v1 of v2 gevonden")
    if platform is not None and check and memory and not limit_is_enforced(platform):
        platform.remove()
        platform, reason = None, "de kernel dwingt de geheugenlimiet van een cgroup niet af (getest)"
    if platform is not None:
        total = servers_total(memory)
        platform.set_limits(total, 0)
        return Plan("cgroup2" if platform.version == 2 else "cgroup1", memory, cpu, platform, total=total,
                    moved_to=moved)
    if not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        return Plan("none", memory, cpu, reason="geen Linux: geen cgroups en geen RLIMIT_DATA")
    return Plan("rlimit", memory, cpu, reason=reason)


def release_platform(plan: Plan) -> None:
    """At the end of `up`: stop what is left of the notebook servers and remove the platform's group."""
    if plan.group is None or not plan.group.exists():
        return
    for folder in plan.group.memory_dir.iterdir():
        if folder.is_dir() and folder.name.startswith((SERVER_PREFIX, "probe-")):
            server = plan.group.child(folder.name)
            server.kill_all()
            server.remove()
    plan.group.remove(1)
    find_group.cache_clear()


@lru_cache(maxsize=8)
def find_group(group: str) -> Cgroup | None:
    """The platform's group as `up` prepared it, seen from this process (the hub, the fork server; both
    run in the cgroup of `up`). None: `up` found no usable cgroups, or the hub runs without `up`."""
    if not group:
        return None
    machine = Machine.current()
    base = _v2_base(machine, group)
    if base is not None and "memory" in _controllers(base / group):
        return Cgroup(2, (base / group,))
    if machine.v1_memory is not None and (machine.v1_memory / group).is_dir():
        dirs = [machine.v1_memory / group]
        if machine.v1_cpu is not None and machine.v1_cpu != machine.v1_memory and (machine.v1_cpu / group).is_dir():
            dirs.append(machine.v1_cpu / group)
        return Cgroup(1, tuple(dirs))
    return None


def set_rlimits(memory: int, cpu: float) -> None:
    """The fallback, in the server's process (inherited by its kernels): RLIMIT_DATA, and a lower priority."""
    import resource

    if memory:
        resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    if cpu:
        os.nice(FALLBACK_NICE)


# --- per server -------------------------------------------------------------------------------------

def prepare_server(user: str, memory: int, cpu: float, group: str) -> Callable[[], None]:
    """In the hub (root), before a server starts: make the user's cgroup with its limits. Returns what the
    new process calls, as root and before it drops privileges, to enter it (or to set its rlimits)."""
    memory, cpu = int(memory or 0), float(cpu or 0)
    platform = find_group(group) if (memory or cpu) else None
    if platform is None:
        if not (memory or cpu):
            return lambda: None
        return lambda: set_rlimits(memory, cpu)
    server = platform.child(server_cgroup_name(user))
    server.create()
    server.set_limits(memory, cpu)
    return server.join


def prepare_for_spawner(spawner) -> Callable[[], None]:
    """prepare_server with a ProeftuinSpawner's user and limits (Spawner.mem_limit, cpu_limit, environment)."""
    return prepare_server(spawner.user.name, spawner.mem_limit or 0, spawner.cpu_limit or 0,
                          str(spawner.environment.get(ENV_GROUP, "")))


def limits_from_environment(env: Mapping[str, str]) -> tuple[str, int, float, str]:
    """(user, memory, cpu, group) from a server's environment (what the hub sends the fork server)."""
    return (env.get("JUPYTERHUB_USER", ""), int(env.get(ENV_MEMORY) or 0), float(env.get(ENV_CPU) or 0),
            env.get(ENV_GROUP, ""))


def enter_server(env: Mapping[str, str]) -> None:
    """The fork server's child, as root before it drops privileges: into the user's cgroup."""
    user, memory, cpu, group = limits_from_environment(env)
    prepare_server(user, memory, cpu, group)()


def release_server(user: str, group: str) -> bool:
    """After a server stopped (or died): kill what is left in its cgroup and remove it. True when gone."""
    platform = find_group(group) if group else None
    if platform is None:
        return True
    server = platform.child(server_cgroup_name(user))
    if not server.exists():
        return True
    killed = server.kill_all()
    return server.remove() and killed


def server_cgroup(user: str, group: str) -> Cgroup | None:
    platform = find_group(group)
    return platform.child(server_cgroup_name(user)) if platform is not None else None


def own_cgroup() -> Cgroup | None:
    """The memory cgroup this process is in (for a kernel: its server's), or None."""
    machine = Machine.current()
    if machine.v2 is not None and (machine.v2 / "memory.max").exists():
        return Cgroup(2, (machine.v2,))
    if machine.v1_memory is not None and machine.v1_memory.is_dir():
        return Cgroup(1, (machine.v1_memory,))
    return None


def release_for_spawner(spawner) -> bool:
    """release_server for a ProeftuinSpawner (its user and the platform group in its environment)."""
    return release_server(spawner.user.name, str(spawner.environment.get(ENV_GROUP, "")))
