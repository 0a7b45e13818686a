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
The cgroup v1 and v2 backends (this process's cgroups, a cgroup's files, the platform's group in each
hierarchy, the check that the kernel enforces a limit) are in `proeftuin.hub.cgroups`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from proeftuin.hub.cgroups import (  # noqa: F401 (part of this module's API)
    CFS_PERIOD_US,
    HUB_LEAF_SUFFIX,
    PROBE_LIMIT,
    Cgroup,
    Machine,
    controllers,
    limit_is_enforced,
    own_cgroup,
    try_cgroup1,
    try_cgroup2,
    v2_base,
)
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

#: Priority (nice) of user servers when CPU cannot be capped (rlimit): the hub and services go first.
FALLBACK_NICE = 10
#: In every server's environment (so the fork server's child finds the group); the limits themselves are
#: JupyterHub's own MEM_LIMIT and CPU_LIMIT (Spawner.mem_limit, Spawner.cpu_limit).
ENV_GROUP = "PROEFTUIN_CGROUP"
ENV_MEMORY = "MEM_LIMIT"
ENV_CPU = "CPU_LIMIT"
SERVER_PREFIX = "pt-"

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


def prepare_platform(memory: int, cpu: float, group: str, machine: Machine | None = None,
                     check: bool = True) -> Plan:
    """Run by `proeftuin up` before it starts the hub: choose the mechanism, make the platform's group
    (whose presence tells the hub and the fork server to use cgroups) and say why when it cannot."""
    if not memory and not cpu:
        return Plan("none", 0, 0.0)
    machine = machine or Machine.current()
    platform, why_not_v2, moved = try_cgroup2(machine, group)
    why_not_v1 = ""
    if platform is None:
        platform, why_not_v1 = try_cgroup1(machine, group)
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
    base = v2_base(machine, group)
    if base is not None and "memory" in controllers(base / group):
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


def release_for_spawner(spawner) -> bool:
    """release_server for a ProeftuinSpawner (its user and the platform group in its environment)."""
    return release_server(spawner.user.name, str(spawner.environment.get(ENV_GROUP, "")))
