"""Shared by the real-hub tests: a throw-away `proeftuin up`, a person at the hub, kernels on their server.

Each test module that needs a hub starts its own `Platform` (own project folder, ports and state).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LINKED = ("docs", "mkdocs.yml", "pilots", "node_modules", "templates", "src", "package.json")
PASSWORD = "proeftuin-test-wachtwoord-42"
IS_ROOT = os.geteuid() == 0
#: Seconds to open a kernel's websocket (tornado's default is 20): a new kernel on a server limited to half a
#: CPU, on a busy machine, can take longer to answer; a slow start is not what these tests are about.
WS_TIMEOUT = 120


def _free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
        ports.append(sock.getsockname()[1])
    for sock in sockets:
        sock.close()
    return ports


def wait_until(check, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen in {timeout:.0f} s (last error: {last})")


class Platform:
    """`proeftuin up` in a throw-away project folder (linked sources, own proeftuin.yaml and state)."""

    def __init__(self, project: Path, pilots: tuple[str, ...] | None = None, hub_settings: dict | None = None,
                 settings: dict | None = None, env: dict[str, str] | None = None) -> None:
        """pilots: link only these pilots into the project's pilots folder (default: the whole folder).
        hub_settings: more `hub:` settings for its proeftuin.yaml (e.g. {"limits": {"memory": "1G"}}).
        settings: other top-level sections of its proeftuin.yaml (e.g. storage); env: more variables for `up`."""
        self.project = project
        self.extra_env = dict(env or {})
        self.state = project / "state"
        hub_port, *others = _free_ports(11)
        self.port = hub_port
        config = yaml.safe_load((ROOT / "proeftuin.yaml").read_text())
        config["state_dir"] = str(self.state)
        config["ports"] = dict(zip(("hub", "mlflow", "gallery", "docs"), [hub_port, *others[:3]], strict=True))
        config["hub"] = {"idle_timeout": 3600, "ports": dict(zip(("api", "proxy_api", "mlflow", "gallery", "docs"),
                                                                 others[3:8], strict=True))}
        config["hub"].update(hub_settings or {})
        config.update(settings or {})
        (project / "proeftuin.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        for name in LINKED:
            if name == "pilots" and pilots is not None:
                (project / "pilots").mkdir()
                for slug in pilots:
                    (project / "pilots" / slug).symlink_to(ROOT / "pilots" / slug)
            else:
                (project / name).symlink_to(ROOT / name)
        self.url = f"http://127.0.0.1:{hub_port}"
        self.process: subprocess.Popen | None = None
        self.runs = 0

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PROEFTUIN_", "JUPYTERHUB_"))}
        return {**env, "PROEFTUIN_CONFIG": str(self.project / "proeftuin.yaml"), "PYTHONUNBUFFERED": "1",
                **self.extra_env}

    def start(self, train: bool = False, background: bool = False) -> str:
        """background: start `up` as a non-interactive shell starts a background job (`proeftuin up &` in a
        script): with SIGINT and SIGQUIT ignored."""
        self.runs += 1
        log = self.project / f"up-{self.runs}.log"
        flags = [] if train else ["--no-train"]
        self.process = subprocess.Popen([str(BIN / "proeftuin"), "up", *flags, "--port", str(self.port)],
                                        cwd=self.project, env=self.env, stdout=log.open("w"),
                                        stderr=subprocess.STDOUT, preexec_fn=_as_background_job if background else None)

        def ready():
            assert self.process.poll() is None, f"up exited: {log.read_text()}\n{self.hub_log()}"
            return "Proeftuin draait op" in log.read_text()

        wait_until(ready, 600 if train else 180, "proeftuin up")
        return log.read_text()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=150)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def hub_log(self) -> str:
        path = self.state / "hub" / "jupyterhub.log"
        return path.read_text()[-4000:] if path.exists() else ""

    def full_log(self) -> str:
        path = self.state / "hub" / "jupyterhub.log"
        return path.read_text() if path.exists() else ""

    def fork_server_pid(self) -> int | None:
        """The fork server of *this* platform: a child of `up` with its socket on the command line (its own
        children, the notebook servers, are forks of it and show the same command line)."""
        needle = f"proeftuin.hub.forkserver {self.state / 'hub' / 'forkserver.sock'}".encode()
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and needle in (proc / "cmdline").read_bytes().replace(b"\0", b" ") \
                        and proc_field(int(proc.name), "PPid") == self.process.pid:
                    return int(proc.name)
            except (OSError, StopIteration):
                continue
        return None

    def admin_password(self) -> str:
        return (self.state / "hub" / "admin-password").read_text().strip()

    def service_pid(self, needle: str) -> int | None:
        """The pid of one of *this* platform's service processes (matched on its PROEFTUIN_CONFIG)."""
        marker = f"PROEFTUIN_CONFIG={self.project / 'proeftuin.yaml'}".encode()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
                if needle.encode() in cmdline and marker in (proc / "environ").read_bytes():
                    return int(proc.name)
            except OSError:
                continue
        return None


def _as_background_job() -> None:
    """What bash does for `cmd &` without job control: the job ignores SIGINT and SIGQUIT."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


def proc_field(pid: int, name: str) -> int:
    """A number from /proc/<pid>/status (PPid; Uid gives the real uid)."""
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith(f"{name}:"))
    return int(line.split()[1])


def proc_uids(pid: int) -> set[int]:
    """Real, effective, saved and filesystem uid of a process."""
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("Uid:"))
    return {int(v) for v in line.split()[1:]}


class Browser:
    """A person at the hub: cookies, the xsrf token, and an API token once logged in."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
        self.token: str | None = None

    def xsrf(self, page: str = "/hub/login") -> str:
        self.http.get(page)
        return self.http.cookies.get("_xsrf", path="/hub/") or self.http.cookies.get("_xsrf") or ""

    def login(self, name: str, password: str) -> httpx.Response:
        xsrf = self.xsrf()
        return self.http.post("/hub/login", data={"username": name, "password": password, "_xsrf": xsrf})

    def sign_up(self, name: str, organisation: str, password: str = PASSWORD) -> httpx.Response:
        xsrf = self.xsrf("/hub/signup")
        return self.http.post("/hub/signup", data={"username": name, "organisation": organisation,
                                                   "signup_password": password,
                                                   "signup_password_confirmation": password, "_xsrf": xsrf})

    def new_token(self, name: str) -> str:
        xsrf = self.http.cookies.get("_xsrf", path="/hub/") or self.http.cookies.get("_xsrf")
        response = self.http.post(f"/hub/api/users/{name}/tokens", json={"note": "test", "expires_in": 3600},
                                  headers={"X-XSRFToken": xsrf})
        assert response.status_code == 201, response.text
        self.token = response.json()["token"]
        return self.token

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)


def mlflow_api(who: Browser, method: str, endpoint: str, **kwargs) -> httpx.Response:
    return who.api(method, f"/services/mlflow/api/2.0/mlflow/{endpoint}", **kwargs)


def execute_request(msg_id: str, code: str) -> str:
    """A Jupyter `execute_request` message for a kernel's websocket channel."""
    return json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": uuid.uuid4().hex,
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}})


async def _execute(ws_url: str, token: str, code: str, timeout: float) -> tuple[str, dict]:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {token}"},
                                               connect_timeout=WS_TIMEOUT, request_timeout=WS_TIMEOUT))
    msg_id = uuid.uuid4().hex
    conn.write_message(execute_request(msg_id, code))
    output, reply, idle = [], None, False
    deadline = time.monotonic() + timeout
    while not (reply is not None and idle):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"kernel did not finish; output so far: {''.join(output)}"
        raw = await asyncio.wait_for(conn.read_message(), remaining)
        assert raw is not None, "kernel websocket closed"
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["header"]["msg_type"]
        if kind == "stream":
            output.append(msg["content"]["text"])
        elif kind == "error":
            output.append("\n".join(msg["content"]["traceback"]))
        elif kind == "execute_reply":
            reply = msg["content"]
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
    conn.close()
    return "".join(output), reply


def run_in_kernel(who: Browser, name: str, url: str, code: str, timeout: float = 180) -> str:
    """Execute code in a new kernel on the user's own spawned server (REST API + websocket)."""
    response = who.api("POST", f"/user/{name}/api/kernels", json={"name": "python3"})
    assert response.status_code == 201, response.text
    kernel = response.json()["id"]
    ws_url = url.replace("http://", "ws://") + f"/user/{name}/api/kernels/{kernel}/channels"
    try:
        output, reply = asyncio.run(_execute(ws_url, who.token, code, timeout))
    finally:
        who.api("DELETE", f"/user/{name}/api/kernels/{kernel}")
    assert reply["status"] == "ok", output
    return output


def server_pid(admin: Browser, name: str) -> int:
    return admin.api("GET", f"/hub/api/users/{name}").json()["servers"][""]["state"]["pid"]


def start_server(who: Browser, name: str) -> None:
    response = who.api("POST", f"/hub/api/users/{name}/server")
    assert response.status_code in (201, 202), response.text
    wait_until(lambda: (who.api("GET", f"/hub/api/users/{name}").json()["servers"].get("") or {}).get("ready"),
               120, f"the server of {name} to start")


def stop_server(who: Browser, name: str) -> None:
    assert who.api("DELETE", f"/hub/api/users/{name}/server").status_code in (202, 204)
    wait_until(lambda: not who.api("GET", f"/hub/api/users/{name}").json()["servers"], 60, f"{name}'s server to stop")


def page_xsrf(page: httpx.Response) -> str:
    """The `_xsrf` token of the first form on a hub page."""
    found = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert found, f"no _xsrf field on {page.url} ({page.status_code})"
    return found.group(1)


def approve(admin: Browser, name: str, organisation: str | None = None) -> httpx.Response:
    """The admin approves a sign-up on the hub's approval page (optionally changing the organisation): open the
    page, take its `_xsrf` token and POST the applicant's form. Returns the POST's answer (302 back to the page)."""
    page = admin.http.get("/hub/authorize")
    assert page.status_code == 200 and f'id="user-{name}"' in page.text, (page.status_code, page.text[:500])
    form = {"_xsrf": page_xsrf(page), "action": "approve"}
    if organisation is not None:
        form["organisation"] = organisation
    return admin.http.post(f"/hub/authorize/{name}", data=form)


def new_project(prefix: str) -> Path:
    project = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    project.chmod(0o755)  # system accounts must reach the code and their homes below it
    return project


def remove_project(project: Path, accounts: tuple[str, ...] = ()) -> None:
    """Remove the test's system accounts (pt-<name>) and its folder (kept with PROEFTUIN_KEEP_TEST_HUB)."""
    if IS_ROOT:
        for name in accounts:
            subprocess.run(["userdel", f"pt-{name}"], capture_output=True)
            subprocess.run(["groupdel", f"pt-{name}"], capture_output=True)
    if os.environ.get("PROEFTUIN_KEEP_TEST_HUB"):
        print(f"hub test folder kept: {project}")
    else:
        shutil.rmtree(project, ignore_errors=True)


@contextmanager
def running_platform(prefix: str, accounts: tuple[str, ...] = (), **options):
    """A started `Platform` in a new project folder (yields it and `up`'s output); stopped and removed after,
    with the system accounts of `accounts`. `options` go to `Platform` (pilots, hub_settings)."""
    project = new_project(prefix)
    hub = Platform(project, **options)
    try:
        output = hub.start()
        yield hub, output
    finally:
        hub.stop()
        remove_project(project, accounts)


def admin_and_members(hub: Platform, members: dict[str, str],
                      admin: Browser | None = None) -> tuple[Browser, dict[str, Browser]]:
    """The admin, logged in with an API token (unless given), and each member (name -> organisation) signed
    up, approved through the approval page, logged in and holding an API token."""
    if admin is None:
        admin = Browser(hub.url)
        assert admin.login("beheerder", hub.admin_password()).status_code == 302, hub.hub_log()
        admin.new_token("beheerder")
    people = {}
    for name, organisation in members.items():
        person = Browser(hub.url)
        assert person.sign_up(name, organisation).status_code == 200
        assert approve(admin, name).status_code in (200, 302)
        assert person.login(name, PASSWORD).status_code == 302, hub.hub_log()
        person.new_token(name)
        people[name] = person
    return admin, people
