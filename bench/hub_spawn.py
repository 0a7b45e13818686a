"""N users log in and start their notebook server at once: p50/p95 time to a ready server.

Proeftuin's hub (`proeftuin up --no-train`: NativeAuthenticator, ProeftuinSpawner with seeded homes and,
as root, a system account per user, plus the MLflow/gallery/docs services) side by side with a plain
JupyterHub (DummyAuthenticator, SimpleLocalProcessSpawner, no services), same proxy and same JupyterLab.
Goal: p95 within 10 s for 20 users on 2 cores.

Each person does what the hub's own pages do: log in (POST /hub/login), ask for a server, then follow
the spawn page's event stream (/hub/api/users/<name>/server/progress) until it says "ready" (the server
answers and its proxy route exists). The clock runs from the login to that event; "lab p95" runs on
until JupyterLab's page arrives (the spawn page's next step: /user/<name>/lab through the OAuth
handshake with the hub), each person doing so while the others still start. Besides wall-clock
times it prints the CPU seconds each side's processes used during the burst (the machine may be shared:
CPU seconds are less noisy than wall-clock time), and the load average.

    python bench/hub_spawn.py [--users 20]
"""

from __future__ import annotations

import argparse
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import yaml
from _common import ROOT, percentile

BIN = Path(sys.executable).parent
PASSWORD = "bench-wachtwoord-12345"


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"{what} did not happen in {timeout:.0f} s")


class Person:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, follow_redirects=False, timeout=120)

    def xsrf(self, page: str) -> str:
        self.http.get(page)
        return self._cookie_xsrf()

    def _cookie_xsrf(self) -> str:
        return self.http.cookies.get("_xsrf", path="/hub/") or self.http.cookies.get("_xsrf") or ""

    def login(self, name: str, password: str) -> None:
        response = self.http.post("/hub/login", data={"username": name, "password": password,
                                                      "_xsrf": self.xsrf("/hub/login")})
        assert response.status_code == 302, (name, response.status_code, response.text[:300])

    def spawn_and_wait(self, name: str) -> None:
        xsrf = self._cookie_xsrf()
        response = self.http.post(f"/hub/api/users/{name}/server", headers={"X-XSRFToken": xsrf})
        assert response.status_code in (201, 202), response.text
        if response.status_code == 201:
            return  # started and ready within the request
        with self.http.stream("GET", f"/hub/api/users/{name}/server/progress", headers={"X-XSRFToken": xsrf},
                              timeout=300) as events:
            for line in events.iter_lines():
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    if event.get("ready"):
                        return
                    if event.get("failed"):
                        raise SystemExit(f"the server of {name} failed to start: {event.get('message')}")
        raise SystemExit(f"the progress stream of {name} ended before the server was ready")


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_by_process() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, CPU seconds incl. reaped children) for every process."""
    table = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        table[int(proc.name)] = (int(fields[1]), cmdline, sum(int(f) for f in fields[11:15]) / TICKS)
    return table


def kind(cmdline: str) -> str:
    for needle, label in (("configurable-http-proxy", "proxy"), ("hub_forkserver", "servers"),
                          ("jupyterhub.singleuser", "servers"), ("jupyterhub-singleuser", "servers"),
                          ("bin/jupyterhub ", "hub"), ("proeftuin up", "up")):
        if needle in cmdline:
            return label
    return "services"


def cpu_used(root: int, before: dict, after: dict) -> dict[str, float]:
    """CPU seconds used between two snapshots by `root` and its descendants, by kind of process."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in after.items():
        children.setdefault(ppid, []).append(pid)
    used: dict[str, float] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        if pid not in after:
            continue
        _, cmdline, total = after[pid]
        earlier = before.get(pid)
        start = earlier[2] if earlier is not None and earlier[1] == cmdline else 0.0  # else: a new process
        label = kind(cmdline)
        used[label] = used.get(label, 0.0) + total - start
    return used


class Burst:
    """Times and CPU seconds of one side's burst of logins and spawns."""

    def __init__(self, url: str, names: list[str], password: str, root: int) -> None:
        before = cpu_by_process()
        self_before = os.times()
        load_before = os.getloadavg()[0]
        self.times, self.lab = run_concurrently(url, names, password)
        self_after = os.times()
        self.cpu = cpu_used(root, before, cpu_by_process())
        self.cpu["bench clients"] = self_after.user + self_after.system - self_before.user - self_before.system
        self.load = (load_before, os.getloadavg()[0])


def timed_login_and_spawn(url: str, name: str, password: str) -> tuple[float, float]:
    """(seconds to a ready server, seconds to JupyterLab's page), both from the login."""
    start = time.perf_counter()
    person = Person(url)
    person.login(name, password)
    person.spawn_and_wait(name)
    ready = time.perf_counter() - start
    # What the spawn page does next: open the server, through the OAuth handshake with the hub.
    lab = person.http.get(f"/user/{name}/lab", follow_redirects=True)
    assert lab.status_code == 200 and "jupyter-config-data" in lab.text, (name, lab.status_code, lab.url)
    return ready, time.perf_counter() - start


def run_concurrently(url: str, names: list[str], password: str) -> tuple[list[float], list[float]]:
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        results = list(pool.map(lambda n: timed_login_and_spawn(url, n, password), names))
    return [ready for ready, _ in results], [lab for _, lab in results]


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=180)
    except subprocess.TimeoutExpired:
        process.kill()


def proeftuin(users: int, folder: Path) -> Burst:
    project = folder / "proeftuin"
    project.mkdir(mode=0o755)
    hub_port, *others = free_ports(11)
    config = yaml.safe_load((ROOT / "proeftuin.yaml").read_text())
    config["state_dir"] = str(project / "state")
    config["ports"] = dict(zip(("hub", "mlflow", "gallery", "docs"), [hub_port, *others[:3]], strict=True))
    config["hub"] = {"ports": dict(zip(("api", "proxy_api", "mlflow", "gallery", "docs"), others[3:8], strict=True))}
    (project / "proeftuin.yaml").write_text(yaml.safe_dump(config))
    for name in ("docs", "mkdocs.yml", "pilots", "node_modules", "templates", "src", "package.json"):
        (project / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PROEFTUIN_"))}
    env["PROEFTUIN_CONFIG"] = str(project / "proeftuin.yaml")
    log = project / "up.log"
    process = subprocess.Popen([str(BIN / "proeftuin"), "up", "--no-train"], cwd=project, env=env,
                               stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{hub_port}"
    names = [f"bench{i:02d}" for i in range(users)]
    try:
        wait(lambda: "Proeftuin draait op" in log.read_text(), 240, "proeftuin up")
        admin = Person(url)
        admin.login("beheerder", (project / "state" / "hub" / "admin-password").read_text().strip())
        for name in names:
            person = Person(url)
            xsrf = person.xsrf("/hub/signup")
            person.http.post("/hub/signup", data={"username": name, "organisation": "kortrijk", "_xsrf": xsrf,
                                                  "signup_password": PASSWORD,
                                                  "signup_password_confirmation": PASSWORD})
            page = admin.http.get("/hub/authorize")  # approval is a POST form with the page's XSRF token
            xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
            admin.http.post(f"/hub/authorize/{name}", data={"_xsrf": xsrf, "action": "approve"})
        time.sleep(5)  # let the services finish starting: measure spawns, not the platform's start
        return Burst(url, names, PASSWORD, process.pid)
    finally:
        stop(process)
        if os.geteuid() == 0:
            for name in names:
                subprocess.run(["userdel", f"pt-{name}"], capture_output=True)
                subprocess.run(["groupdel", f"pt-{name}"], capture_output=True)


BASELINE_CONFIG = """
c = get_config()
c.JupyterHub.bind_url = "http://127.0.0.1:{port}/"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{api}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api}"
c.ConfigurableHTTPProxy.command = ["{chp}"]
c.JupyterHub.db_url = "sqlite:///{folder}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{folder}/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{password}"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{folder}/homes/{{username}}"
c.Spawner.cmd = ["{singleuser}"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120  # the same timeouts as Proeftuin's (hub.start_timeout)
c.Spawner.http_timeout = 120
c.Spawner.args = {args}
"""


def baseline(users: int, folder: Path) -> Burst:
    work = folder / "baseline"
    work.mkdir()
    port, api, proxy_api = free_ports(3)
    (work / "jupyterhub_config.py").write_text(BASELINE_CONFIG.format(
        port=port, api=api, proxy_api=proxy_api, folder=work, password=PASSWORD,
        chp=ROOT / "node_modules" / ".bin" / "configurable-http-proxy", singleuser=BIN / "jupyterhub-singleuser",
        args=["--allow-root"] if os.geteuid() == 0 else []))
    process = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(work / "jupyterhub_config.py")], cwd=work,
                               stdout=(work / "hub.log").open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait(lambda: httpx.get(f"{url}/hub/health", timeout=3).status_code == 200, 120, "plain JupyterHub")
        return Burst(url, [f"plain{i:02d}" for i in range(users)], PASSWORD, process.pid)
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hub-spawn-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        plain = baseline(args.users, folder) if not os.environ.get("BENCH_ONLY_PROEFTUIN") else None
        ours = proeftuin(args.users, folder)
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(folder, ignore_errors=True)
    print(f"{args.users} users log in and start a server at once ({os.cpu_count()} cores, "
          f"{'as root: a system account per user' if os.geteuid() == 0 else 'not root: no isolation'})")
    kinds = ("hub", "servers", "proxy", "services", "bench clients")
    print(f"{'':<40}{'p50 (s)':>9}{'p95 (s)':>9}{'max (s)':>9}{'lab p95':>9}{'load':>12}   CPU s: "
          + " / ".join(kinds))
    for label, burst in (("plain JupyterHub (SimpleLocalProcess)", plain), ("Proeftuin (up, isolated spawner)", ours)):
        if burst is None:
            continue
        times = burst.times
        print(f"{label:<40}{percentile(times, 50):>9.1f}{percentile(times, 95):>9.1f}{max(times):>9.1f}"
              f"{percentile(burst.lab, 95):>9.1f}{burst.load[0]:>6.1f}>{burst.load[1]:<5.1f}   "
              f"{sum(burst.cpu.values()):.1f} = "
              + " / ".join(f"{burst.cpu.get(k, 0.0):.1f}" for k in kinds))
    if plain is not None:
        print(f"ratio Proeftuin / plain: p50 {percentile(ours.times, 50) / percentile(plain.times, 50):.2f}x, "
              f"p95 {percentile(ours.times, 95) / percentile(plain.times, 95):.2f}x, CPU seconds "
              f"{sum(ours.cpu.values()) / sum(plain.cpu.values()):.2f}x")
    print(f"goal p95 <= 10 s: {'met' if percentile(ours.times, 95) <= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
