"""The real platform: `proeftuin up` (JupyterHub, configurable-http-proxy, MLflow, gallery, docs), real
single-user JupyterLab servers and a real kernel on them. One hub for the whole module.

The story: sign up and approve a Kortrijk and a Waregem user; the Kortrijk user's notebook logs a run
through /services/mlflow; Waregem can read it but not change it; anonymous clients get nothing; after a
restart everything is still there.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from hubkit import (
    IS_ROOT,
    PASSWORD,
    Browser,
    Platform,
    approve,
    mlflow_api,
    new_project,
    proc_field,
    proc_uids,
    remove_project,
    run_in_kernel,
    running_platform,
    server_pid,
    start_server,
    stop_server,
    wait_until,
)

from proeftuin.hub.forkserver import KEEP_ENV, ForkServerError, clean_environment, command_for, spawn

KORTRIJK, WAREGEM = "an-kortrijk", "ben-waregem"

pytestmark = pytest.mark.timeout(600)


KERNEL_CODE = r"""
import os
from pathlib import Path

import mlflow

assert os.environ["MLFLOW_TRACKING_URI"].endswith("/services/mlflow"), os.environ["MLFLOW_TRACKING_URI"]
experiment = mlflow.set_experiment("kortrijk-verkenning")
with mlflow.start_run(run_name="eerste-proef", tags={"proeftuin.organisation": os.environ["PROEFTUIN_ORG"]}) as run:
    mlflow.log_params({"max_rows": 300})
    mlflow.log_metric("macro_f1", 0.61)
    mlflow.log_text("Wat we probeerden: een kleine proef.", "notities.txt")
print("RUN", run.info.run_id, experiment.experiment_id)
print("ORG", os.environ["PROEFTUIN_ORG"], "HOME", os.environ["HOME"])
print("SEEDED", sorted(p.name for p in Path.home().iterdir()))
for secret in SECRETS:
    try:
        Path(secret).read_bytes()[:1]
        print("READABLE", secret)
    except OSError:
        print("DENIED", secret)
"""


@pytest.fixture(scope="module")
def platform():
    with running_platform("proeftuin-hub-", (KORTRIJK, WAREGEM)) as started:
        yield started


@pytest.fixture(scope="module")
def people(platform):
    """Admin, Kortrijk and Waregem users, signed up and approved through the hub's own pages."""
    hub, _ = platform
    admin = Browser(hub.url)
    assert admin.login("beheerder", hub.admin_password()).status_code == 302, hub.hub_log()
    admin.new_token("beheerder")
    users = {}
    for name, org in ((KORTRIJK, "kortrijk"), (WAREGEM, "waregem")):
        person = Browser(hub.url)
        response = person.sign_up(name, org)
        assert response.status_code == 200 and "beheerder" in response.text, response.text
        refused = person.login(name, PASSWORD)
        assert refused.status_code == 403 and "nog niet goedgekeurd" in refused.text
        assert approve(admin, name).status_code == 302
        assert person.login(name, PASSWORD).status_code == 302
        person.new_token(name)
        users[name] = person
    return admin, users[KORTRIJK], users[WAREGEM]


@pytest.fixture(scope="module")
def logged_run(platform, people):
    """The Kortrijk user's server runs code in a real kernel that logs a run through /services/mlflow."""
    hub, _ = platform
    _, kortrijk, _ = people
    response = kortrijk.api("POST", f"/hub/api/users/{KORTRIJK}/server")
    assert response.status_code in (201, 202), response.text

    def ready():
        model = kortrijk.api("GET", f"/hub/api/users/{KORTRIJK}").json()
        server = model["servers"].get("")
        return server and server["ready"]

    wait_until(ready, 120, "the Kortrijk server to start")
    secrets = [str(hub.state / "hub" / "jupyterhub.sqlite"), str(hub.state / "hub" / "admin-password"),
               str(hub.state / "mlflow" / "mlflow.db")]
    code = f"SECRETS = {secrets!r}\n" + KERNEL_CODE
    output = run_in_kernel(kortrijk, KORTRIJK, hub.url, code)
    run_id, experiment_id = next(line.split()[1:] for line in output.splitlines() if line.startswith("RUN "))
    return {"run_id": run_id, "experiment_id": experiment_id, "output": output}


def test_up_prints_address_and_admin_password_location(platform):
    hub, output = platform
    assert f"Proeftuin draait op {hub.url}/" in output
    password_file = hub.state / "hub" / "admin-password"
    assert str(password_file) in output and hub.admin_password() in output
    assert password_file.stat().st_mode & 0o777 == 0o600
    if not IS_ROOT:
        assert "NIET van elkaar afgeschermd" in output
    else:
        assert "Afscherming: elke gebruiker een eigen account" in output and "proeftuin-galerij" in output
        assert "Limieten per notebookserver: 4 GiB geheugen, 1 CPU (cgroup" in output


def test_groups_are_the_organisations(platform, people):
    admin, _, _ = people
    groups = {g["name"]: g for g in admin.api("GET", "/hub/api/groups").json()}
    assert KORTRIJK in groups["kortrijk"]["users"] and WAREGEM in groups["waregem"]["users"]
    assert WAREGEM not in groups["kortrijk"]["users"]


def test_bad_sign_ups_and_logins_get_a_dutch_message(platform, people):
    hub, _ = platform
    stranger = Browser(hub.url)
    unknown = stranger.sign_up("carla", "atlantis")
    assert unknown.status_code == 400 and "Onbekende organisatie" in unknown.text
    wrong = stranger.login(KORTRIJK, "niet-het-wachtwoord")
    assert wrong.status_code == 403 and "wachtwoord is fout" in wrong.text
    assert Browser(hub.url).http.get("/hub/api/user").status_code == 403


def test_colleagues_signing_up_at_once_get_one_account_per_name(platform, people):
    """Sign-ups hash the password off the hub's event loop, so several can be under way at once: the same
    name asked four times at once gives one account, and the others hear that the name is taken."""
    from concurrent.futures import ThreadPoolExecutor

    hub, _ = platform
    at_the_door = [(Browser(hub.url), org) for org in ("kortrijk", "waregem", "kortrijk", "waregem")]
    with ThreadPoolExecutor(len(at_the_door)) as pool:
        answers = list(pool.map(lambda pair: pair[0].sign_up("dora", pair[1]), at_the_door))
    made = [a for a in answers if a.status_code == 200]
    assert len(made) == 1 and "beheerder" in made[0].text, [a.status_code for a in answers]
    assert all(a.status_code == 400 and "al in gebruik" in a.text for a in answers if a.status_code != 200)
    weak = Browser(hub.url).sign_up("eva", "kortrijk", password="1234")
    assert weak.status_code == 400 and "sterker wachtwoord" in weak.text


def test_users_reach_only_their_own_server(platform, people, logged_run):
    _, kortrijk, waregem = people
    assert kortrijk.api("GET", f"/user/{KORTRIJK}/api/contents").status_code == 200
    assert waregem.api("GET", f"/user/{KORTRIJK}/api/contents").status_code in (403, 404)
    assert waregem.api("GET", f"/hub/api/users/{KORTRIJK}").status_code in (403, 404)


def test_notebook_home_is_seeded_and_isolated(platform, logged_run):
    hub, _ = platform
    output = logged_run["output"]
    assert "ORG kortrijk" in output
    seeded = next(line for line in output.splitlines() if line.startswith("SEEDED"))
    assert "Start hier.ipynb" in seeded and "pilots" in seeded
    home = hub.state / "homes" / KORTRIJK
    assert (home / "pilots" / "vragenrouter" / "pipeline.py").is_file()
    if IS_ROOT:
        assert pwd.getpwuid(home.stat().st_uid).pw_name == f"pt-{KORTRIJK}"
        assert "READABLE" not in output, output
        assert output.count("DENIED") == 3


def test_run_is_logged_with_the_users_organisation(platform, people, logged_run):
    _, _, waregem = people
    found = mlflow_api(waregem, "POST", "runs/search", json={
        "experiment_ids": [logged_run["experiment_id"]],
        "filter": "tags.`proeftuin.organisation` = 'kortrijk'"}).json()["runs"]
    assert [r["info"]["run_id"] for r in found] == [logged_run["run_id"]]
    tags = {t["key"]: t["value"] for t in found[0]["data"]["tags"]}
    assert tags["proeftuin.user"] == KORTRIJK
    experiment = mlflow_api(waregem, "GET", f"experiments/get?experiment_id={logged_run['experiment_id']}").json()
    experiment_tags = {t["key"]: t["value"] for t in experiment["experiment"]["tags"]}
    assert experiment_tags["proeftuin.owner"] == "kortrijk"
    assert experiment["experiment"]["artifact_location"].startswith("mlflow-artifacts:")
    artifact = waregem.api("GET", f"/services/mlflow/api/2.0/mlflow-artifacts/artifacts/"
                                  f"{logged_run['experiment_id']}/{logged_run['run_id']}/artifacts/notities.txt")
    assert artifact.status_code == 200 and "kleine proef" in artifact.text


def test_waregem_can_read_but_not_change_the_kortrijk_run(platform, people, logged_run):
    _, kortrijk, waregem = people
    run_id, experiment_id = logged_run["run_id"], logged_run["experiment_id"]
    assert mlflow_api(waregem, "GET", f"runs/get?run_id={run_id}").status_code == 200
    attempts = [
        ("runs/log-metric", {"run_id": run_id, "key": "macro_f1", "value": 0.99, "timestamp": 0, "step": 0}),
        ("runs/set-tag", {"run_id": run_id, "key": "notitie", "value": "van Waregem"}),
        ("runs/delete", {"run_id": run_id}),
        ("runs/create", {"experiment_id": experiment_id, "start_time": 0}),
        ("experiments/set-experiment-tag", {"experiment_id": experiment_id, "key": "proeftuin.organisations",
                                            "value": "kortrijk,waregem"}),
    ]
    for endpoint, body in attempts:
        response = mlflow_api(waregem, "POST", endpoint, json=body)
        assert response.status_code == 403, (endpoint, response.text)
        assert "niet wijzigen" in response.json()["message"] or "beheerder" in response.json()["message"]
    upload = waregem.api("PUT", f"/services/mlflow/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/"
                                "artifacts/vals.txt", content=b"x")
    assert upload.status_code == 403
    run = mlflow_api(kortrijk, "GET", f"runs/get?run_id={run_id}").json()["run"]
    assert {m["key"]: m["value"] for m in run["data"]["metrics"]} == {"macro_f1": 0.61}
    assert run["info"]["lifecycle_stage"] == "active"
    # Kortrijk cannot log in Waregem's name either.
    spoof = mlflow_api(kortrijk, "POST", "runs/create", json={
        "experiment_id": experiment_id, "tags": [{"key": "proeftuin.organisation", "value": "waregem"}]})
    assert spoof.status_code == 403


def test_a_big_upload_streams_through_the_sign_on_layer(platform, people, logged_run):
    """A 256 MB artifact arrives whole through /services/mlflow while the sign-on layer's memory grows far less
    (it used to hold the whole upload); an MLflow API call too big to check is refused with what to do."""
    hub, _ = platform
    _, kortrijk, _ = people
    run_id, experiment_id = logged_run["run_id"], logged_run["experiment_id"]
    layer = hub.service_pid("proeftuin.hub.proxy mlflow")
    assert layer is not None
    peak_before = proc_field(layer, "VmHWM")  # kB: the most memory the layer ever held
    piece, pieces = os.urandom(1024**2), 256
    sent = hashlib.sha256()

    def body():
        for _ in range(pieces):
            sent.update(piece)
            yield piece

    path = f"/services/mlflow/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/groot.bin"
    upload = kortrijk.api("PUT", path, content=body(), headers={"Content-Length": str(pieces * len(piece))},
                          timeout=600)
    assert upload.status_code == 200, upload.text
    grown_mb = (proc_field(layer, "VmHWM") - peak_before) / 1024
    assert grown_mb < 64, f"the sign-on layer held {grown_mb:.0f} MB of a 256 MB upload"

    def downloaded() -> tuple[int, str]:
        """Size and sha256 of the stored artifact, read back through the layer."""
        received, size = hashlib.sha256(), 0
        with kortrijk.http.stream("GET", path, headers={"Authorization": f"token {kortrijk.token}"},
                                  timeout=600) as download:
            assert download.status_code == 200
            for chunk in download.iter_bytes():
                received.update(chunk)
                size += len(chunk)
        return size, received.hexdigest()

    assert downloaded() == (pieces * len(piece), sent.hexdigest())
    # An upload of the same file that breaks off halfway replaces nothing.
    with socket.create_connection(("127.0.0.1", hub.port)) as broken:
        broken.sendall(f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{hub.port}\r\nAuthorization: token "
                       f"{kortrijk.token}\r\nContent-Length: {64 * 1024**2}\r\n\r\n".encode())
        for _ in range(8):
            broken.sendall(piece)
    time.sleep(2)  # the layer notices the closed connection and breaks off its upload to MLflow
    assert downloaded() == (pieces * len(piece), sent.hexdigest())
    huge = mlflow_api(kortrijk, "POST", "runs/log-batch", json={
        "run_id": run_id, "params": [{"key": "opmerking", "value": "x" * (40 * 1024**2)}]}, timeout=600)
    assert huge.status_code == 413 and "log_artifact" in huge.json()["message"], huge.text
    run = mlflow_api(kortrijk, "GET", f"runs/get?run_id={run_id}").json()["run"]
    assert "opmerking" not in {p["key"] for p in run["data"].get("params", [])}


def test_pilot_experiments_follow_the_manifest(platform, people):
    """vragenrouter: owner Kortrijk with Waregem participating; Menen is not in it."""
    hub, _ = platform
    admin, _, waregem = people
    created = mlflow_api(waregem, "POST", "experiments/create", json={"name": "vragenrouter"})
    assert created.status_code == 200, created.text
    tags = {t["key"]: t["value"] for t in mlflow_api(waregem, "GET", "experiments/get-by-name?experiment_name="
                                                     "vragenrouter").json()["experiment"]["tags"]}
    assert tags["proeftuin.owner"] == "kortrijk" and "waregem" in tags["proeftuin.organisations"]
    assert mlflow_api(admin, "POST", "registered-models/create", json={"name": "andere-pilot"}).status_code == 200


def test_anonymous_clients_get_nothing(platform, logged_run):
    hub, _ = platform
    anonymous = httpx.Client(base_url=hub.url, follow_redirects=False, timeout=30)
    for service in ("mlflow", "gallery", "docs"):
        api = anonymous.get(f"/services/{service}/")
        assert api.status_code == 401, (service, api.status_code)
        page = anonymous.get(f"/services/{service}/", headers={"Accept": "text/html"})
        assert page.status_code == 302 and "/hub/api/oauth2/authorize" in page.headers["location"]
    search = anonymous.post("/services/mlflow/api/2.0/mlflow/runs/search", json={"experiment_ids": ["0"]})
    assert search.status_code == 401 and logged_run["run_id"] not in search.text
    bogus = anonymous.get("/services/mlflow/api/2.0/mlflow/experiments/search",
                          headers={"Authorization": "Bearer niet-echt"})
    assert bogus.status_code == 401
    assert anonymous.get(f"/user/{KORTRIJK}/api/contents").status_code in (302, 403)


def test_logged_in_users_reach_every_service(platform, people):
    _, kortrijk, _ = people
    assert "Demogalerij" in wait_until(
        lambda: (r := kortrijk.api("GET", "/services/gallery/")).status_code == 200 and r.text, 120, "gallery")
    health = kortrijk.api("GET", "/services/gallery/health").json()
    assert "vragenrouter" in health["demos"]
    docs = wait_until(lambda: (r := kortrijk.api("GET", "/services/docs/")).status_code == 200 and r.text, 180,
                      "docs site")
    assert "<html" in docs.lower()


def test_mlflow_ui_opens_in_a_browser_after_login(platform, people, logged_run):
    """Chromium: log in on the hub's page, open /services/mlflow/ (OAuth via the hub, no confirmation),
    and MLflow's own UI loads its assets and lists the Kortrijk experiment through the sign-on layer."""
    from browser import chromium_page, screenshot

    hub, _ = platform
    refused: list[str] = []
    with chromium_page() as page:
        # MLflow's UI asks for the user of its own basic-auth app, which is not used here (404, harmless), and
        # for its AI assistant, which the sign-on layer refuses on purpose (404: it would call out).
        page.on("response", lambda r: refused.append(f"{r.status} {r.url}")
                if "/services/mlflow/" in r.url and r.status >= 400 and not r.url.endswith("/users/current")
                and "/mlflow/assistant" not in r.url else None)
        page.goto(f"{hub.url}/hub/login")
        page.fill("#username_input", KORTRIJK)
        page.fill("#password_input", PASSWORD)
        page.click("#login_submit")
        page.wait_for_url("**/hub/**", timeout=60_000)
        page.goto(f"{hub.url}/services/mlflow/", timeout=120_000)
        page.get_by_text("kortrijk-verkenning").first.wait_for(timeout=120_000)
        assert page.url.startswith(f"{hub.url}/services/mlflow/"), page.url
        screenshot(page, "hub-mlflow-ui")
        page.goto(f"{hub.url}/services/mlflow/#/experiments/{logged_run['experiment_id']}/runs")
        try:
            page.get_by_text("eerste-proef").first.wait_for(timeout=120_000)  # the run, read through the layer
        finally:
            screenshot(page, "hub-mlflow-runs")
    assert not refused, refused


def test_a_dead_service_is_restarted(platform, people):
    hub, _ = platform
    _, kortrijk, _ = people
    pid = hub.service_pid("-m uvicorn")  # MLflow's own server process behind /services/mlflow
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: hub.service_pid("-m uvicorn") not in (None, pid), 90, "the hub restarting MLflow")
    wait_until(lambda: mlflow_api(kortrijk, "GET", "experiments/search?max_results=5").status_code == 200, 120,
               "MLflow to answer again")
    assert "Service mlflow-server exited" in hub.full_log()


def test_servers_are_forked_by_the_fork_server_under_the_users_account(platform, people, logged_run):
    """The Kortrijk server is a child of the fork server, runs as pt-an-kortrijk (all four uids, when root),
    and the fork server holds no secret in its environment (every server inherits its memory)."""
    hub, _ = platform
    admin, _, _ = people
    fork = hub.fork_server_pid()
    assert fork is not None, hub.hub_log()
    pid = server_pid(admin, KORTRIJK)
    assert proc_field(pid, "PPid") == fork
    assert "(fork server)" in hub.full_log()
    expected = pwd.getpwnam(f"pt-{KORTRIJK}").pw_uid if IS_ROOT else os.getuid()
    assert proc_uids(pid) == {expected}
    lab = people[1].api("GET", f"/user/{KORTRIJK}/lab")
    assert lab.status_code == 200 and "jupyter-config-data" in lab.text, (lab.status_code, lab.text[:300])
    environ = (Path(f"/proc/{fork}/environ").read_bytes()).split(b"\0")
    names = {item.split(b"=", 1)[0].decode() for item in environ if item}
    assert names <= set(KEEP_ENV), names
    assert not any(b"TOKEN" in item or b"SECRET" in item for item in environ)


def test_a_dead_fork_server_is_restarted_and_servers_start_meanwhile(platform, people):
    """Kill the fork server: the next server starts the usual way (exec), `up` starts a new fork server,
    and the server after that comes from the new one."""
    hub, _ = platform
    admin, _, waregem = people
    old = hub.fork_server_pid()
    assert old is not None
    os.kill(old, signal.SIGKILL)
    start_server(waregem, WAREGEM)
    assert f"Fork server unavailable for {WAREGEM}" in hub.full_log()
    lab = waregem.api("GET", f"/user/{WAREGEM}/lab")  # JupyterLab itself, on an exec'd server too
    assert lab.status_code == 200 and "jupyter-config-data" in lab.text, (lab.status_code, lab.text[:300])
    assert proc_field(server_pid(admin, WAREGEM), "PPid") != old
    new = wait_until(lambda: (pid := hub.fork_server_pid()) not in (None, old) and pid, 120,
                     "up to start a new fork server")
    wait_until(lambda: (hub.state / "hub" / "forkserver.sock").exists(), 120, "the new fork server to listen")
    stop_server(waregem, WAREGEM)
    start_server(waregem, WAREGEM)
    assert proc_field(server_pid(admin, WAREGEM), "PPid") == new
    stop_server(waregem, WAREGEM)


def test_fork_server_refuses_what_it_does_not_start(tmp_path):
    """Only `<its python> -m jupyterhub.singleuser`, only well-formed requests; never root without
    --allow-root. A refusal before the pid makes the spawner start the server the usual way."""
    path = Path(tempfile.mkdtemp(prefix="fs-", dir="/tmp")) / "f.sock"
    server = subprocess.Popen([*command_for(sys.executable), str(path)], env=clean_environment())
    try:
        wait_until(path.exists, 120, "the fork server to listen", interval=0.1)
        assert path.stat().st_mode & 0o777 == 0o600
        pids: list[int] = []
        with pytest.raises(ForkServerError, match="unsupported command"):
            asyncio.run(spawn(path, ["/bin/sh", "-c", "id"], {}, "/", None, pids.append, 30))
        with pytest.raises(ForkServerError, match="unsupported command"):
            asyncio.run(spawn(path, ["/usr/bin/python3", "-m", "jupyterhub.singleuser"], {}, "/", None,
                              pids.append, 30))
        with socket.socket(socket.AF_UNIX) as raw:
            raw.connect(str(path))
            raw.sendall(b"\x00\x00\x00\x05hallo")
            raw.settimeout(30)
            assert not raw.recv(100).startswith(b"pid")
        if IS_ROOT:
            with pytest.raises(RuntimeError, match="stopped while starting"):
                asyncio.run(spawn(path, [sys.executable, "-m", "jupyterhub.singleuser"], {}, "/", None,
                                  pids.append, 30))
            assert len(pids) == 1
        assert server.poll() is None  # a refused or failed child never takes the fork server down
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(path.parent, ignore_errors=True)
    assert not path.exists()


def test_restart_keeps_users_runs_and_notebooks(platform, people, logged_run):
    hub, _ = platform
    hub.stop()
    assert hub.process.returncode == 0
    output = hub.start()
    assert "wachtwoord" in output and hub.admin_password() not in output  # printed only the first time
    again = Browser(hub.url)
    assert again.login(KORTRIJK, PASSWORD).status_code == 302
    again.new_token(KORTRIJK)
    run = wait_until(lambda: mlflow_api(again, "GET", f"runs/get?run_id={logged_run['run_id']}").json()["run"], 120,
                     "the run to be found after the restart")
    assert run["data"]["metrics"][0]["value"] == 0.61
    assert (hub.state / "homes" / KORTRIJK / "Start hier.ipynb").is_file()
    model = again.api("GET", f"/hub/api/users/{KORTRIJK}").json()
    assert "kortrijk" in model["groups"]


def test_up_trains_a_champion_for_each_pilot_without_one():
    """A fresh state with one pilot: `up` trains it through the platform's MLflow and registers the
    champion, which users then find through /services/mlflow; the next `up` finds it and trains nothing."""
    project = new_project("proeftuin-train-")
    hub = Platform(project, pilots=("digitale-maturiteit",))
    try:
        output = hub.start(train=True)
        assert "Kampioensmodel trainen voor: digitale-maturiteit" in output, output
        assert "digitale-maturiteit: klaar" in output, output
        admin = Browser(hub.url)
        assert admin.login("beheerder", hub.admin_password()).status_code == 302
        admin.new_token("beheerder")
        champion = mlflow_api(admin, "GET", "registered-models/alias?name=digitale-maturiteit&alias=champion")
        assert champion.status_code == 200, champion.text
        version = champion.json()["model_version"]
        assert version["name"] == "digitale-maturiteit" and version["source"]
        run = mlflow_api(admin, "GET", f"runs/get?run_id={version['run_id']}").json()["run"]
        assert run["data"]["metrics"], run
        hub.stop()
        again = hub.start(train=True)
        assert "Kampioensmodel trainen" not in again, again
    finally:
        hub.stop()
        remove_project(project)
