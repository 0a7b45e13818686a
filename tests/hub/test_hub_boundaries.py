"""Attacks from inside the machine on a real `proeftuin up`: a notebook kernel of another organisation tries
to reach the backends directly, plants links in its home, looks for the platform's descriptors; the
services' own accounts try to read what they must not. Each attack compares what is stored before and after.

(The MLflow request matrix is in test_hub_security.py, approvals in test_hub_approval.py.)
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import subprocess
from pathlib import Path

import pytest
from hubkit import (
    IS_ROOT,
    Platform,
    admin_and_members,
    mlflow_api,
    proc_uids,
    run_in_kernel,
    running_platform,
    start_server,
    stop_server,
    wait_until,
)

from proeftuin.errors import ConfigError
from proeftuin.hub.context import GALLERY_ACCOUNT, SERVICE_ACCOUNT, HubContext, ensure_hub_state
from proeftuin.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]

OWNER, ATTACKER = "kai-kortrijk", "mo-menen"

pytestmark = [pytest.mark.timeout(600),
              pytest.mark.skipif(not IS_ROOT, reason="accounts per user and per service need root (CI runs as root)")]


@pytest.fixture(scope="module")
def platform():
    with running_platform("proeftuin-boundaries-", (OWNER, ATTACKER)) as (hub, _):
        yield hub


@pytest.fixture(scope="module")
def people(platform):
    admin, members = admin_and_members(platform, {OWNER: "kortrijk", ATTACKER: "menen"})
    owner, attacker = members[OWNER], members[ATTACKER]
    experiment = mlflow_api(owner, "POST", "experiments/create", json={"name": "kortrijk-eigen-werk"})
    assert experiment.status_code == 200, experiment.text
    start_server(attacker, ATTACKER)
    return admin, owner, attacker


def stored_state(hub: Platform) -> dict[str, str]:
    """A fingerprint of everything the platform stores: every file below the state folder except the users'
    homes and the logs, by path and content hash (the databases included)."""
    state = hub.state
    skip = (state / "homes", state / "hub" / "servers", state / "site", state / "services")
    found = {}
    for path in sorted(state.rglob("*")):
        if any(path == s or s in path.parents for s in skip) or path.is_symlink() or not path.is_file():
            continue
        if path.suffix in (".log",) or path.name.endswith(("-wal", "-shm", "-journal")):
            continue
        if path.name == "jupyterhub.sqlite":  # the hub records activity (last seen) all the time
            continue
        if path == state / "hub" / "up.json":  # `up`'s record of its processes: a new kernel is a new process
            continue
        found[str(path.relative_to(state))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


SCAN = r"""
import json, socket, urllib.request
from pathlib import Path

def listening():
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(ports)

TRIES = [("GET", "/api/2.0/mlflow/experiments/search?max_results=5"),
         ("GET", "/services/mlflow/api/2.0/mlflow/experiments/search?max_results=5"),
         ("POST", "/services/mlflow/api/2.0/mlflow/experiments/create"),
         ("POST", "/api/2.0/mlflow/experiments/create"),
         ("GET", "/health"), ("GET", "/services/gallery/health"), ("GET", "/services/gallery/")]
reached = []
for port in listening():
    for method, path in TRIES:
        body = json.dumps({"name": f"binnendoor-{port}"}).encode() if method == "POST" else None
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                text = answer.read(20000).decode("utf-8", "replace")
        except Exception:
            continue
        if "experiment" in text or "demos" in text or "Demogalerij" in text:
            reached.append(f"{port}{path}")
for target in SOCKETS:
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(target)
            sock.sendall(b"GET /health HTTP/1.0\r\n\r\n")
            reached.append(f"{target}: {sock.recv(100)!r}")
    except OSError as exc:
        print("REFUSED", target, type(exc).__name__)
print("PORTS", len(listening()))
print("REACHED", json.dumps(reached))
"""


def test_a_notebook_reaches_no_backend_directly(platform, people):
    """From a Menen kernel: every listening loopback port, asked for MLflow and gallery data without a token,
    and both backend sockets: nothing answers with data, nothing is created."""
    hub = platform
    admin, _, attacker = people
    before = stored_state(hub)
    sockets = [str(hub.state / "sockets" / "mlflow" / "mlflow.sock"),
               str(hub.state / "sockets" / "gallery" / "gallery.sock")]
    output = run_in_kernel(attacker, ATTACKER, hub.url, f"SOCKETS = {sockets!r}\n" + SCAN)
    reached = json.loads(next(line for line in output.splitlines() if line.startswith("REACHED "))[8:])
    assert int(next(line for line in output.splitlines() if line.startswith("PORTS ")).split()[1]) >= 5
    assert reached == [], output
    assert output.count("REFUSED") == 2 and "PermissionError" in output, output
    assert stored_state(hub) == before
    experiments = mlflow_api(admin, "POST", "experiments/search", json={"max_results": 1000}).json()
    assert not any(e["name"].startswith("binnendoor") for e in experiments.get("experiments", []))
    # The backends listen on no TCP port at all.
    for pid_needle in ("-m uvicorn", "proeftuin.hub.services gallery"):
        pid = hub.service_pid(pid_needle)
        assert pid is not None, pid_needle
        assert not tcp_listeners(pid), (pid_needle, tcp_listeners(pid))


def tcp_listeners(pid: int) -> set[int]:
    """Inodes of the TCP sockets a process listens on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                listening.add(int(fields[1].rsplit(":", 1)[1], 16))
    return listening


PLANT = r"""
import os, shutil
from pathlib import Path
home = Path.home()
shutil.rmtree(home / "sjablonen")
os.symlink(TARGET_DIR, home / "sjablonen")
(home / "Start hier.ipynb").unlink()
os.symlink(TARGET_FILE, home / "Start hier.ipynb")
shutil.rmtree(home / "pilots" / "vragenrouter")
os.symlink(TARGET_DIR, home / "pilots" / "vragenrouter")
print("PLANTED")
"""


def test_home_seeding_never_follows_the_users_links(platform, people):
    """Replace ~/sjablonen, a pilot folder and "Start hier.ipynb" by links to places outside the home, restart
    the server: nothing is written there (root used to copy the templates to where the link pointed)."""
    hub = platform
    _, _, attacker = people
    target_dir = hub.project / "buiten-de-home"
    target_dir.mkdir(mode=0o755)
    target_file = hub.project / "buiten-de-home-bestand.ipynb"
    before = stored_state(hub)
    output = run_in_kernel(attacker, ATTACKER, hub.url, f"TARGET_DIR = {str(target_dir)!r}\n"
                                                        f"TARGET_FILE = {str(target_file)!r}\n" + PLANT)
    assert "PLANTED" in output
    stop_server(attacker, ATTACKER)
    start_server(attacker, ATTACKER)
    assert list(target_dir.iterdir()) == []
    assert not os.path.lexists(target_file)
    home = hub.state / "homes" / ATTACKER
    assert os.readlink(home / "sjablonen") == str(target_dir)  # the user's own link, left as it was
    assert stored_state(hub) == before
    owner = pwd.getpwnam(f"pt-{ATTACKER}").pw_uid
    assert all(p.lstat().st_uid == owner for p in home.rglob("*") if not p.name.startswith("."))


FDS = r"""
import os
from pathlib import Path
targets = {}
for pid in ("self", str(os.getppid())):
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                targets[f"{pid}:{fd.name}"] = os.readlink(fd)
            except OSError:
                pass
    except OSError as exc:
        print("UNREADABLE", pid, type(exc).__name__)
os.write(1, MARK.encode() + b"\n")
os.write(2, MARK.encode() + b"\n")
print("FDS", repr(targets))
"""


def test_no_platform_descriptor_reaches_user_code(platform, people):
    """A kernel and its server hold no descriptor on a platform file (the hub's log, databases, secrets); what
    they write to stdout and stderr goes to the server's own log, never the hub's."""
    hub = platform
    _, _, attacker = people
    mark = "proeftuin-merkteken-7f3a"
    output = run_in_kernel(attacker, ATTACKER, hub.url, f"MARK = {mark!r}\n" + FDS)
    targets = eval(next(line for line in output.splitlines() if line.startswith("FDS "))[4:])  # noqa: S307
    own_log = str(hub.state / "hub" / "servers" / f"{ATTACKER}.log")
    platform_files = [t for t in targets.values() if t.startswith(str(hub.state)) and t != own_log
                      and not t.startswith(str(hub.state / "homes" / ATTACKER))]
    assert platform_files == [], targets
    elsewhere = [t for t in targets.values() if not t.startswith(str(hub.state / "homes" / ATTACKER))]
    assert not any(t.endswith(("jupyterhub.log", ".sqlite", "mlflow.db", "cookie_secret", "admin-password"))
                   for t in elsewhere), targets
    assert mark not in hub.full_log()
    wait_until(lambda: mark in Path(own_log).read_text(), 30, "the mark in the server's own log")
    assert Path(own_log).stat().st_uid == 0 and Path(own_log).stat().st_mode & 0o077 == 0


def test_services_run_unprivileged_and_reach_nothing_secret(platform, people):
    """MLflow, the sign-on layers and the docs builder run as the service account, the gallery (which runs
    registered model code) as its own; the hub stays root. As those accounts, nothing secret can be read:
    not the hub's database, cookie secret or admin password, not a home; the gallery cannot reach MLflow's
    socket or write MLflow's store."""
    hub = platform
    _, owner, _ = people
    service, gallery = pwd.getpwnam(SERVICE_ACCOUNT).pw_uid, pwd.getpwnam(GALLERY_ACCOUNT).pw_uid
    python = Path(f"/proc/{hub.service_pid('proeftuin.hub.proxy mlflow')}/cmdline").read_bytes().split(b"\0")[0]
    for needle, uid in (("-m uvicorn", service), ("proeftuin.hub.proxy mlflow", service),
                        ("proeftuin.hub.proxy gallery", service), ("proeftuin.hub.proxy docs", service),
                        ("proeftuin.hub.services gallery", gallery)):
        pid = hub.service_pid(needle)
        assert pid is not None, needle
        assert proc_uids(pid) == {uid}, (needle, proc_uids(pid))
    assert (hub.state / "mlflow" / "mlflow.db").stat().st_uid == service
    secrets = [hub.state / "hub" / "jupyterhub.sqlite", hub.state / "hub" / "jupyterhub_cookie_secret",
               hub.state / "hub" / "admin-password", hub.state / "homes" / ATTACKER / "Start hier.ipynb"]
    probe = r"""
import socket, sys
from pathlib import Path
for path in sys.argv[2:]:
    try:
        Path(path).read_bytes()
        print("READ", path)
    except OSError:
        print("DENIED", path)
try:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(sys.argv[1])
    print("CONNECTED", sys.argv[1])
except OSError:
    print("REFUSED", sys.argv[1])
"""
    for account, socket_path, extra in (
            (GALLERY_ACCOUNT, hub.state / "sockets" / "mlflow" / "mlflow.sock", [hub.state / "mlflow" / "mlflow.db"]),
            (SERVICE_ACCOUNT, hub.state / "sockets" / "gallery" / "gallery.sock", [])):
        done = subprocess.run([python.decode(), "-I", "-c", probe, str(socket_path), *map(str, secrets + extra)],
                              user=account, group=account, extra_groups=[], capture_output=True, text=True,
                              cwd="/", timeout=60)
        lines = done.stdout.splitlines()
        assert not [line for line in lines if line.startswith("READ")], (account, done.stdout, done.stderr)
        assert len([line for line in lines if line.startswith("DENIED")]) == len(secrets + extra), done.stdout
        # The gallery may not enter MLflow's socket folder; the sign-on layer's account may enter the gallery's.
        assert (f"REFUSED {socket_path}" in lines) == (account == GALLERY_ACCOUNT), (account, done.stdout)
    # And the gallery still serves its demos: it reads the champions through /services/mlflow as a reader.
    health = wait_until(lambda: (r := owner.api("GET", "/services/gallery/health")).status_code == 200 and r.json(),
                        180, "the gallery")
    assert "vragenrouter" in health["demos"]


def _context(tmp_path: Path, state: Path, monkeypatch) -> HubContext:
    monkeypatch.setenv("PROEFTUIN_HOME", str(state))
    config = tmp_path / "proeftuin.yaml"
    config.write_text((ROOT / "proeftuin.yaml").read_text().replace("state_dir: .proeftuin", f"state_dir: {state}"))
    return HubContext(load_settings(config), config, 8000, True)


def test_service_state_goes_to_the_service_accounts_without_following_links(tmp_path, monkeypatch):
    """`up` gives the MLflow store and the site to `proeftuin`, the feedback to `proeftuin-galerij`, keeps the
    hub's folder root's, and a link planted in a service's folder does not hand its target to anyone."""
    hub = _context(tmp_path, tmp_path / "state", monkeypatch)
    outside = tmp_path / "van-root.txt"
    outside.write_text("niet van de dienst")
    (hub.settings.mlflow_dir).mkdir(parents=True)
    (hub.settings.mlflow_dir / "verwijzing").symlink_to(outside)
    (hub.settings.mlflow_dir / "mlflow.db").write_bytes(b"")
    ensure_hub_state(hub)
    service, gallery = pwd.getpwnam(SERVICE_ACCOUNT), pwd.getpwnam(GALLERY_ACCOUNT)
    assert (hub.settings.mlflow_dir / "mlflow.db").stat().st_uid == service.pw_uid
    assert hub.site_dir.stat().st_uid == service.pw_uid and hub.mlflow_socket.parent.stat().st_mode & 0o777 == 0o700
    assert (hub.settings.state_dir / "gallery").stat().st_uid == gallery.pw_uid
    gallery_sockets = hub.gallery_socket.parent.stat()
    assert (gallery_sockets.st_uid, gallery_sockets.st_gid, gallery_sockets.st_mode & 0o777) == \
        (gallery.pw_uid, service.pw_gid, 0o750)
    assert hub.hub_dir.stat().st_uid == 0 and hub.hub_dir.stat().st_mode & 0o777 == 0o700
    assert outside.stat().st_uid == 0  # the link itself changed hands, not what it points at
    assert (hub.settings.mlflow_dir / "verwijzing").lstat().st_uid == service.pw_uid


def test_a_state_folder_too_deep_for_a_socket_is_a_clear_error(tmp_path, monkeypatch):
    hub = _context(tmp_path, tmp_path / ("diep-" * 20) / "state", monkeypatch)
    with pytest.raises(ConfigError, match="te lang voor een Unix-socket"):
        ensure_hub_state(hub)
