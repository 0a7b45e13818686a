"""A launcher that starts single-user servers from a Python process that has already imported them.

Starting `jupyterhub-singleuser` costs about 2.5 s of CPU, nearly all of it imports (JupyterLab runs
`node yarn config` at import, jsonschema compiles an IRI grammar); when 20 people start at once on two
cores that adds up to half a minute. The fork server imports everything once, then for each server:

    hub (ProeftuinSpawner) --unix socket--> fork server --fork()--> child: drop to the user's account,
                                                                    take the environment, run the server

Guarantees, in the order the child establishes them:
- Only the account that started the platform may connect: the socket lives in the hub's private folder
  (0700) and the child checks the peer's uid (SO_PEERCRED) before it reads anything.
- The fork server itself never reads a request: it accepts and forks, and the child reads. Its memory,
  which every server inherits, holds imported modules and a scrubbed environment (`clean_environment`),
  never a token, a password or another user's request.
- The child drops to the user's system account (groups, gid, uid; then checks it cannot get root back)
  before it changes directory or touches the user's environment, exactly like the spawner's
  `preexec_fn`; it closes the listening socket, resets signal handlers and starts a new session.
- The command must be `<this python> -m jupyterhub.singleuser [args]`; anything else is refused and the
  spawner starts the server the usual way (exec), as it does whenever the fork server does not answer.

The child reports "pid N" once it has read the request and "ready" when the server's event loop runs
(its port is bound), so the hub does not have to poll the port with growing back-off.

    python -s -P -m proeftuin.hub.forkserver <socket>
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import importlib
import json
import os
import pwd
import selectors
import signal
import socket
import struct
import sys
import traceback
from pathlib import Path

from proeftuin.hub import limits as hub_limits

#: Modules a single-user JupyterLab server imports while it starts (measured), imported once here.
PRELOAD = (
    "jupyterhub.singleuser", "jupyterhub.singleuser.extension", "jupyterlab", "jupyterlab.labapp",
    "jupyter_server_terminals", "jupyter_server_terminals.app", "jupyter_server.serverapp", "jinja2.ext",
    "jupyter_server.kernelspecs.handlers", "jupyter_server.nbconvert.handlers", "jupyter_server.view.handlers",
    "jupyter_server.services.api.handlers", "jupyter_server.services.config.handlers",
    "jupyter_server.services.contents.handlers", "jupyter_server.services.events.handlers",
    "jupyter_server.services.kernels.handlers", "jupyter_server.services.kernelspecs.handlers",
    "jupyter_server.services.nbconvert.handlers", "jupyter_server.services.security.handlers",
    "jupyter_server.services.sessions.handlers", "jupyter_server.services.shutdown", "tornado.platform.asyncio",
)
COMMAND = ("-m", "jupyterhub.singleuser")
#: What the fork server keeps of the environment it was started with (the rest may hold secrets).
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONUNBUFFERED")
MAX_REQUEST = 1 << 20
SOCKET_NAME = "forkserver.sock"


def clean_environment() -> dict[str, str]:
    return {k: os.environ[k] for k in KEEP_ENV if k in os.environ}


def command_for(python: str) -> list[str]:
    return [python, "-s", "-P", "-m", "proeftuin.hub.forkserver"]


def socket_path_fits(path: Path) -> bool:
    return len(os.fsencode(path)) < 104  # sun_path is 108 bytes on Linux, 104 on BSDs


# --- the server (runs as the platform's account, usually root) ------------------------------------

def preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()  # keep the imported objects out of every child's collections (and its copied pages)


def serve(path: Path, parent: int) -> None:
    """Accept and fork until the parent (`proeftuin up`) is gone or a stop signal arrives."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.unlink(missing_ok=True)
    old = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    listener.listen(128)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)

    def reap(signum=None, frame=None) -> None:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    stopping = []
    signal.signal(signal.SIGCHLD, reap)
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    sys.stderr.write(f"[proeftuin.hub.forkserver] ready on {path} (pid {os.getpid()})\n")
    sys.stderr.flush()
    try:
        while not stopping and os.getppid() == parent:
            if not selector.select(timeout=1.0):
                continue
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                continue
            pid = os.fork()
            if pid == 0:
                selector.close()
                _child(conn, listener)  # never returns
            conn.close()  # the parent never reads a request
    finally:
        selector.close()
        listener.close()
        path.unlink(missing_ok=True)


def _send(conn: socket.socket, line: str) -> None:
    try:
        conn.sendall(line.encode() + b"\n")
    except OSError:
        pass


def _read_request(conn: socket.socket) -> tuple[dict, int | None]:
    """The request, and the descriptor of the server's log when the hub sent one along (SCM_RIGHTS)."""
    conn.settimeout(30)
    header, fds, _, _ = socket.recv_fds(conn, 4, 1)
    log = fds[0] if fds else None
    if header and len(header) < 4:
        header += _read_exactly(conn, 4 - len(header))
    if len(header) != 4:
        raise ValueError("connection closed mid-request")
    (size,) = struct.unpack("!I", header)
    if size > MAX_REQUEST:
        raise ValueError(f"request of {size} bytes")
    request = json.loads(_read_exactly(conn, size))
    conn.settimeout(None)
    if not isinstance(request, dict) or not isinstance(request.get("argv"), list) \
            or not isinstance(request.get("env"), dict) or not isinstance(request.get("cwd"), str):
        raise ValueError("malformed request")
    return request, log


def own_descriptors(log: int | None, keep: int) -> None:
    """The child keeps only stdin (/dev/null), stdout and stderr (the server's own log, else /dev/null) and
    its connection to the hub: nothing the fork server inherited (the platform's log) reaches user code."""
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    for target in (1, 2):
        os.dup2(log if log is not None else devnull, target)
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        fd = int(name)
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass  # the folder's own descriptor, already gone


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 65536))
        if not chunk:
            raise ValueError("connection closed mid-request")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def drop_privileges(account: str) -> None:
    """As the spawner's preexec_fn (jupyterhub.spawner.set_user_setuid), but strict: no fallbacks."""
    user = pwd.getpwnam(account)
    if user.pw_uid == 0:
        raise PermissionError(f"{account} is root")
    os.setgroups(os.getgrouplist(account, user.pw_gid))
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise PermissionError("still able to become root after dropping privileges")
    if os.getuid() != user.pw_uid or os.geteuid() != user.pw_uid or os.getegid() != user.pw_gid:
        raise PermissionError(f"could not become {account}")


def _child(conn: socket.socket, listener: socket.socket) -> None:
    code = 1
    try:
        listener.close()
        for signum in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()
        uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
        if uid != os.getuid():
            raise PermissionError(f"connection from uid {uid}")
        request, log = _read_request(conn)
        argv = [str(a) for a in request["argv"]]
        if len(argv) < 3 or tuple(argv[1:3]) != COMMAND or os.path.realpath(argv[0]) != os.path.realpath(
                sys.executable):
            _send(conn, "error unsupported command")
            os._exit(2)
        _send(conn, f"pid {os.getpid()}")
        own_descriptors(log, keep=conn.fileno())
        hub_limits.enter_server(request["env"])  # as root: into the user's cgroup, with all the server starts
        if request.get("user"):
            drop_privileges(str(request["user"]))
        elif os.getuid() == 0 and "--allow-root" not in argv:
            raise PermissionError("refusing to run a server as root without --allow-root")
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        sys.argv = ["jupyterhub-singleuser", *argv[3:]]
        run_server(argv[3:], conn)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 (a child must never return into the fork server's loop)
        traceback.print_exc()
        _send(conn, "error see log")
    finally:
        try:
            atexit._run_exitfuncs()  # what the interpreter would do at exit; the child must not return
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def run_server(args: list[str], conn: socket.socket) -> None:
    """JupyterHubSingleUser.launch_instance, with a "ready" line once the event loop runs."""
    from jupyterhub.singleuser.extension import JupyterHubSingleUser

    serverapp = JupyterHubSingleUser.initialize_server(argv=args)

    def ready() -> None:
        _send(conn, "ready")
        conn.close()

    serverapp.io_loop.add_callback(ready)  # runs after the callbacks that bind the port
    serverapp.start()


# --- the client (the spawner, inside the hub) -----------------------------------------------------

class ForkServerError(RuntimeError):
    """The fork server could not start this server (absent, refused, or the child failed)."""


async def spawn(path: Path, argv: list[str], env: dict[str, str], cwd: str, user: str | None,
                on_pid, ready_timeout: float, log: int | None = None) -> int:
    """Ask the fork server for a server; call on_pid(pid) as soon as it is known, return once it is ready.
    `log`: a descriptor the server writes its output to (passed along, SCM_RIGHTS)."""
    body = json.dumps({"argv": argv, "env": env, "cwd": cwd, "user": user}).encode()

    def send() -> socket.socket:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.settimeout(10)
            conn.connect(str(path))
            socket.send_fds(conn, [struct.pack("!I", len(body))], [log] if log is not None else [])
            conn.sendall(body)
            conn.setblocking(False)
            return conn
        except BaseException:
            conn.close()
            raise

    try:
        conn = await asyncio.to_thread(send)
        reader, writer = await asyncio.open_unix_connection(sock=conn)
    except (TimeoutError, OSError) as exc:
        raise ForkServerError(f"no fork server at {path}: {exc}") from None
    try:
        first = (await asyncio.wait_for(reader.readline(), 30)).decode().strip()
        if not first.startswith("pid "):
            raise ForkServerError(f"fork server refused: {first or 'no answer'}")
        pid = int(first.split()[1])
        on_pid(pid)
        second = (await asyncio.wait_for(reader.readline(), ready_timeout)).decode().strip()
        if second != "ready":
            raise RuntimeError(f"the server (pid {pid}) stopped while starting: {second or 'exited'}")
        return pid
    finally:
        writer.close()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("gebruik: python -m proeftuin.hub.forkserver <socket>")
    parent = os.getppid()
    kept = clean_environment()
    os.environ.clear()
    os.environ.update(kept)
    preload()
    serve(Path(args[0]), parent)


if __name__ == "__main__":
    main()
