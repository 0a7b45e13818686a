"""What `proeftuin up` started, so that nothing outlives it and a later `up` can clean up after a crash.

- Children stop on SIGINT and SIGTERM whatever the shell left them: a background job of a
  non-interactive shell (`proeftuin up &` in a script) starts with SIGINT and SIGQUIT ignored, and an
  ignored signal stays ignored across exec. `reset_signals` puts the default actions back.
- Children die with their parent where Linux allows it (`prctl(PR_SET_PDEATHSIG, SIGTERM)`):
  the hub and the fork server with `up`, the services with the hub.
- `up` records its processes in `<state>/hub/up.json` (mode 0600, written atomically): pid, start time
  (field 22 of /proc/<pid>/stat, so a reused pid is never mistaken for ours) and command line. A later
  `up` stops what is still alive of that record (`leftovers`, `stop_processes`), and also any process
  that runs one of the platform's programs with this state folder in its environment
  (`PROEFTUIN_HOME=<state>`): the services and the proxy inherit it from the hub.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1
#: Programs of the platform (matched in a command line): the hub, its proxy, the services, the fork server.
OUR_PROGRAMS = (b"jupyterhub", b"configurable-http-proxy", b"proeftuin.hub.proxy", b"proeftuin.hub.services",
                b"proeftuin.hub.forkserver", b"jupyterhub_idle_culler", b"mlflow", b"uvicorn",
                b"proeftuin.hub_proxy", b"proeftuin.hub_services", b"proeftuin.hub_forkserver")  # names before 0.15


@dataclass(frozen=True)
class Proc:
    pid: int
    start: int  # clock ticks since boot (/proc/<pid>/stat field 22)
    cmdline: str  # arguments joined by spaces
    what: str = ""


def reset_signals() -> None:
    """SIGINT, SIGTERM and SIGQUIT back to their default actions (in a child before exec, or at start)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask Linux to send `sig` to this process when its parent exits; False where that is not possible.
    When the parent went between our look at it and the request (we were reparented), the signal is sent
    now. (A parent gone even before that is not noticed: `up`'s record and sweep catch such a process.)"""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return True


def child_preexec() -> None:
    """`preexec_fn` for the children `up` starts: default signal actions, and die when `up` dies."""
    reset_signals()
    die_with_parent(signal.SIGTERM)


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on; None when the process does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces or ')': split after the last one
    return stat[stat.rindex(")") + 2:].split()


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22); None when it does not exist."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def cmdline(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")


def describe(pid: int, what: str = "") -> Proc | None:
    start, line = start_time(pid), cmdline(pid)
    if start is None or not line:  # gone, or a zombie (no command line)
        return None
    return Proc(pid, start, line, what)


def alive(proc: Proc) -> bool:
    """Still the same process: same pid, same start time, same command line."""
    return start_time(proc.pid) == proc.start and cmdline(proc.pid) == proc.cmdline


def _parent(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields else None


def descendants(pids: set[int]) -> list[int]:
    """Every living descendant of these processes (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(pids)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found and child not in pids:
                found.append(child)
                todo.append(child)
    return found


def tree(roots: dict[int, str]) -> list[Proc]:
    """The roots (pid -> what) and all their living descendants, described."""
    procs = [describe(pid, what) for pid, what in roots.items()]
    procs += [describe(pid) for pid in descendants(set(roots))]
    return [p for p in procs if p is not None]


def marked_processes(state_dir: Path) -> list[Proc]:
    """Processes running one of the platform's programs with this state folder in their environment: `up`
    gives the hub PROEFTUIN_HOME=<state> and PROEFTUIN_HUB_PORT, which its proxy and services inherit or get
    (`HubContext.environment`). User servers have a PROEFTUIN_HOME of their own; a `proeftuin mlflow` in a
    shell with PROEFTUIN_HOME set has no PROEFTUIN_HUB_PORT."""
    marker = f"PROEFTUIN_HOME={state_dir}".encode()
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            if not any(program in raw for program in OUR_PROGRAMS):
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
            if marker not in environ or not any(v.startswith(b"PROEFTUIN_HUB_PORT=") for v in environ):
                continue
        except OSError:
            continue
        proc = describe(int(entry.name), "")
        if proc is not None:
            found.append(proc)
    return found


class UpRecord:
    """<state>/hub/up.json: the `up` process and what it started."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> tuple[Proc | None, list[Proc]]:
        try:
            data = json.loads(self.path.read_text())
            up = Proc(**data["up"]) if data.get("up") else None
            return up, [Proc(**p) for p in data.get("processes", [])]
        except (OSError, ValueError, TypeError, KeyError):
            return None, []

    def write(self, up: Proc, processes: list[Proc]) -> None:
        """Atomically (a new file, fsync'd, renamed over the old one), mode 0600."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"up": asdict(up), "processes": [asdict(p) for p in processes], "written": time.time()},
                      handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def leftovers(record: UpRecord, state_dir: Path) -> tuple[Proc | None, list[Proc]]:
    """(a running `up` of this state folder, or None; the processes of a previous `up` still alive).

    A recorded process counts only when it is still the same one (pid, start time and command line); its
    descendants count too. Processes marked with this state folder (`marked_processes`) are added."""
    up, recorded = record.read()
    running_up = up if up is not None and up.pid != os.getpid() and alive(up) else None
    ours = {p.pid: p for p in recorded if alive(p)}
    for pid in descendants(set(ours)):
        proc = describe(pid)
        if proc is not None:
            ours.setdefault(pid, proc)
    for proc in marked_processes(state_dir):
        ours.setdefault(proc.pid, proc)
    if running_up is not None:  # never ours to stop: that `up` and what it runs are someone's platform
        return running_up, []
    return None, sorted(ours.values(), key=lambda p: p.pid)


def stop_processes(procs: list[Proc], grace: float = 15) -> list[Proc]:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL; only processes still the same as described.
    Returns those that are still alive at the end (none, unless the kernel could not kill them)."""
    def signal_all(sig: int) -> None:
        for proc in procs:
            if alive(proc):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(proc.pid, sig)

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in procs):
        time.sleep(0.2)
    if any(alive(p) for p in procs):
        signal_all(signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(p) for p in procs):
            time.sleep(0.1)
    return [p for p in procs if alive(p)]
