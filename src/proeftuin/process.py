"""Processes of the platform: starting, waiting for, stopping, and what `proeftuin up` started.

The helpers every command and service shares live here, once: a port check (`ensure_port_free`), a free
port, waiting until something answers (`wait_until`, `wait_for_url`), stopping a process or a process group
(`stop_process`, `stop_group`), SIGTERM as Ctrl-C (`stop_on_sigterm`) and the MLflow server's command line
(`mlflow_command`, `QUIET_MLFLOW`). Library code here raises; it does not print.

What `proeftuin up` started, so that nothing outlives it and a later `up` can clean up after a crash:

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
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from proeftuin.errors import ProeftuinError
from proeftuin.files import write_atomic

PR_SET_PDEATHSIG = 1
#: Programs of the platform (matched in a command line): the hub, its proxy, the services, the fork server.
OUR_PROGRAMS = (b"jupyterhub", b"configurable-http-proxy", b"proeftuin.hub.proxy", b"proeftuin.hub.services",
                b"proeftuin.hub.forkserver", b"jupyterhub_idle_culler", b"mlflow", b"uvicorn",
                b"proeftuin.hub_proxy", b"proeftuin.hub_services", b"proeftuin.hub_forkserver")  # names before 0.15


#: MLflow's server without calls home: no usage data from the server or its UI, no background job runner
#: (online scoring, trace archival: unused here, seven worker processes and about 30 s of CPU at each start).
QUIET_MLFLOW = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
PORT_HINT = "Stop het programma dat de poort gebruikt, of kies een andere poort met --port."


def ensure_port_free(host: str, port: int, what: str, hint: str = PORT_HINT) -> None:
    """A Dutch error when something listens on host:port. A port left in TIME_WAIT by a previous run counts
    as free (SO_REUSEADDR): the server we start next may take it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise ProeftuinError(f"Poort {port} op {host} is al in gebruik; {what} kan niet starten.", hint) from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until(ready: Callable[[], bool], timeout: float, interval: float = 0.3,
               process: subprocess.Popen | None = None) -> bool:
    """Call `ready` until it returns True (an OSError counts as not yet); False after `timeout` seconds, or
    as soon as `process` (when given) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if ready():
                return True
        except OSError:
            pass
        time.sleep(interval)
    return False


def answers(url: str, timeout: float = 2, headers: dict[str, str] | None = None) -> bool:
    """True when `url` answers with a success status (an error status or no answer raises OSError)."""
    import urllib.request  # here: the fork server imports this module and stays light

    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (our own http services)
    with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310
        return True


def wait_for_url(url: str, process: subprocess.Popen, timeout: float = 120.0, what: str = "De dienst") -> None:
    """Poll `url` until it answers, failing early (with a message) when the process has stopped."""
    if wait_until(lambda: answers(url), timeout, 0.3, process):
        return
    if process.poll() is not None:
        raise ProeftuinError(f"{what} stopte meteen (code {process.returncode}).",
                             "Bekijk de meldingen hierboven; controleer of de statusmap beschrijfbaar is.")
    raise ProeftuinError(f"{what} antwoordt niet op {url} na {timeout:.0f} s.")


def stop_process(process: subprocess.Popen, timeout: float = 15, first: int = signal.SIGINT) -> None:
    """`first` (Ctrl-C by default: a clean shutdown), then SIGTERM after `timeout` s, then SIGKILL after 10 s."""
    if process.poll() is not None:
        return
    process.send_signal(first)
    for then, wait in ((process.terminate, timeout), (process.kill, 10)):
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            then()


def stop_group(process: subprocess.Popen, timeout: float = 5) -> None:
    """SIGINT, SIGTERM, SIGKILL to the process group led by `process` (started with start_new_session),
    each with `timeout` seconds to end, until no member is left."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
            os.killpg(process.pid, 0)  # the leader is gone: are the others?
        except (subprocess.TimeoutExpired, ProcessLookupError):
            continue


def stop_on_sigterm() -> None:
    """Let SIGTERM (systemd, `kill`, test teardown) run the same clean shutdown as Ctrl-C, and let Ctrl-C work
    even when the shell started us with SIGINT ignored (a background job of a script: `proeftuin mlflow &`)."""

    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def mlflow_command(backend_store_uri: str, host: str, port: int, workers: int, *options: str,
                   python: str = sys.executable) -> list[str]:
    """`mlflow server` on a store; `options` say where artifacts go and how it listens."""
    return [python, "-m", "mlflow", "server", "--backend-store-uri", backend_store_uri, *options,
            "--host", host, "--port", str(port), "--workers", str(workers)]


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
        record = {"up": asdict(up), "processes": [asdict(p) for p in processes], "written": time.time()}
        write_atomic(self.path, json.dumps(record, indent=1), mode=0o600, fsync=True)

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

    def all_gone() -> bool:
        return not any(alive(p) for p in procs)

    signal_all(signal.SIGTERM)
    if not wait_until(all_gone, grace, 0.2):
        signal_all(signal.SIGKILL)
        wait_until(all_gone, 5, 0.1)
    return [p for p in procs if alive(p)]
