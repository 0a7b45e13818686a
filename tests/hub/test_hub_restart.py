"""A second `up` after a crash, and the quiet, Dutch front ends, on a real platform (one project, three starts).

Order matters (one platform for the module): JupyterLab and MLflow are checked on the first start; then `up`
is killed with SIGKILL and started again as a background job (SIGINT ignored, as a script's `proeftuin up &`);
that one is stopped with SIGINT; a third start must find nothing of the earlier ones and all state intact.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hubkit import Browser, Platform, admin_and_members, mlflow_api, new_project, remove_project, start_server

from proeftuin.process import Proc, UpRecord, alive, describe, leftovers, stop_processes, tree

MEMBER = "an-herstart"
pytestmark = pytest.mark.timeout(900)


def _sleeper(*extra: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", *extra], env=env)


def test_leftovers_are_only_our_own_processes(tmp_path):
    """The record names a process by pid, start time and command line: a reused pid or another program under
    a recorded pid is left alone; a platform program marked with this state folder is found unrecorded."""
    state = tmp_path / "state"
    ours, stranger = _sleeper("ours"), _sleeper("stranger")
    port_env = {**os.environ, "PROEFTUIN_HOME": str(state), "PROEFTUIN_HUB_PORT": "1"}
    marked = _sleeper("uvicorn", env=port_env)  # runs "a platform program" with our state folder
    other_state = _sleeper("uvicorn", env={**port_env, "PROEFTUIN_HOME": str(tmp_path / "elders")})
    try:
        time.sleep(0.3)
        mine, theirs = describe(ours.pid, "ours"), describe(stranger.pid)
        record = UpRecord(state / "hub" / "up.json")
        record.write(Proc(999_999, 1, "proeftuin up", "up"), [
            mine,
            Proc(stranger.pid, theirs.start + 1, theirs.cmdline),  # the pid was reused by another process
            Proc(stranger.pid, theirs.start, "python -m something-else"),  # another program under that pid
        ])
        assert oct((state / "hub" / "up.json").stat().st_mode & 0o777) == "0o600"
        running, left = leftovers(record, state)
        assert running is None
        assert sorted(p.pid for p in left) == sorted([ours.pid, marked.pid])
        assert stop_processes(left, grace=5) == []
        assert ours.wait(5) is not None and marked.wait(5) is not None
        assert stranger.poll() is None and other_state.poll() is None  # never ours
        # A recorded `up` that still runs: nothing is stopped (that platform is in use).
        record.write(describe(stranger.pid, "up"), [describe(other_state.pid)])
        running, left = leftovers(record, state)
        assert running is not None and running.pid == stranger.pid and left == []
    finally:
        for process in (ours, stranger, marked, other_state):
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def platform():
    project = new_project("proeftuin-restart-")
    hub = Platform(project, pilots=("vragenrouter",))
    people: dict = {}
    try:
        hub.start()
        people["admin"], members = admin_and_members(hub, {MEMBER: "kortrijk"})
        people["member"] = members[MEMBER]
        yield hub, people
    finally:
        hub.stop()
        remove_project(project, accounts=(MEMBER,))


def _lab(who: Browser, path: str) -> dict:
    response = who.api("GET", f"/user/{MEMBER}/lab/api/{path}")
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return response.json()


def _effective(settings: dict, name: str):
    """A setting as JupyterLab applies it: the user's own value, else the schema's (overridden) default."""
    return settings["settings"].get(name, settings["schema"]["properties"][name]["default"])


def test_jupyterlab_opens_in_dutch_on_start_hier_without_calls_out(platform):
    hub, people = platform
    member = people["member"]
    start_server(member, MEMBER)
    # The server's front door leads to "Start hier" in JupyterLab.
    url, location = f"/user/{MEMBER}/", ""
    for _ in range(5):
        response = member.api("GET", url)
        if response.status_code not in (301, 302, 303, 307):
            break
        location = response.headers["Location"]
        url = location if location.startswith("/") else f"/user/{MEMBER}/{location}"
        if "/lab/tree/" in location:
            break
    assert location.split("?")[0].endswith("/lab/tree/Start%20hier.ipynb"), location
    page = member.api("GET", f"/user/{MEMBER}/lab/tree/Start%20hier.ipynb")
    assert page.status_code == 200 and "jupyter-config-data" in page.text
    # Dutch by default (the language pack installed and listed), and the user may still choose another.
    translation = _lab(member, "settings/@jupyterlab/translation-extension:plugin")
    assert _effective(translation, "locale") == "nl_NL"
    packs = _lab(member, "translations")["data"]
    assert "nl_NL" in packs, packs.keys()
    dutch = _lab(member, "translations/nl_NL")["data"]
    assert dutch and "jupyterlab" in dutch
    # No news feed and no update check: the settings say so, and the server's handlers would not call out.
    notification = _lab(member, "settings/@jupyterlab/apputils-extension:notification")
    assert _effective(notification, "fetchNews") == "false"
    assert _effective(notification, "checkForUpdates") is False
    assert _lab(member, "news") == {"news": []}
    assert _lab(member, "update") == {"notification": None}
    spawned = [line for line in hub.full_log().splitlines() if "Spawning" in line and "singleuser" in line]
    assert spawned and all("--LabApp.news_url=None" in line and "NeverCheckForUpdate" in line and
                           "--LabApp.extension_manager=readonly" in line for line in spawned), spawned[-1:]
    # "Start hier" lists each pilot's notebook with a link.
    notebook = member.api("GET", f"/user/{MEMBER}/api/contents/Start%20hier.ipynb").json()["content"]
    text = "".join("".join(cell["source"]) for cell in notebook["cells"])
    assert "[Vragenrouter](pilots/vragenrouter/notebook.ipynb)" in text


def test_mlflow_runs_without_telemetry_or_assistant(platform):
    hub, people = platform
    member = people["member"]
    launcher = hub.service_pid("proeftuin.hub.services mlflow")
    assert launcher is not None
    for pid in [launcher, *(p.pid for p in tree({launcher: "mlflow"}))]:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert b"MLFLOW_DISABLE_TELEMETRY=true" in environ and b"DO_NOT_TRACK=true" in environ, pid
    config = member.api("GET", "/services/mlflow/ajax-api/3.0/mlflow/ui-telemetry")
    assert config.status_code == 200 and config.json()["disable_ui_telemetry"] is True
    report = member.api("POST", "/services/mlflow/ajax-api/3.0/mlflow/ui-telemetry", json={"records": [{"x": 1}]},
                        headers={"Sec-Fetch-Site": "same-origin"})
    assert report.status_code == 200 and report.json() == {"status": "disabled"}
    page = member.api("GET", "/services/mlflow/")
    assert page.status_code == 200 and "static-files/static/js/main" in page.text
    head = page.text.split("</head>")[0]
    assert '"mlflow.workflowType","machine_learning"' in head and "[data-assistant-ui]{display:none" in head
    for path in ("ajax-api/3.0/mlflow/assistant/config", "ajax-api/3.0/mlflow/%61ssistant/config",
                 "ajax-api/3.0/mlflow/x/../assistant/providers"):
        blocked = member.api("GET", f"/services/mlflow/{path}")
        assert blocked.status_code == 404 and "AI-assistent" in blocked.json()["message"], path


def _state(hub: Platform) -> dict:
    def rows(path: Path, query: str):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute(query).fetchall()

    ideas = hub.state / "ideas" / "ideas.sqlite3"
    return {"users": rows(hub.state / "hub" / "jupyterhub.sqlite", "SELECT name, admin FROM users ORDER BY name"),
            "runs": rows(hub.state / "mlflow" / "mlflow.db", "SELECT count(*) FROM runs"),
            "ideas": rows(ideas, "SELECT count(*) FROM sqlite_master") if ideas.exists() else None,
            "ideas_bytes": hashlib.sha256(ideas.read_bytes()).hexdigest() if ideas.exists() else None}


def _ours(hub: Platform) -> list[Proc]:
    """`up` and everything below it (hub, proxy, services, backends, fork server, notebook servers)."""
    procs = tree({hub.process.pid: "up"})
    assert len(procs) >= 6, procs
    return procs


def test_up_killed_with_sigkill_starts_again(platform):
    hub, people = platform
    member = people["member"]
    experiment = mlflow_api(member, "POST", "experiments/create", json={"name": "kortrijk-herstart-proef"})
    assert experiment.status_code == 200, experiment.text
    run = mlflow_api(member, "POST", "runs/create", json={"experiment_id": experiment.json()["experiment_id"]})
    assert run.status_code == 200, run.text
    first = _ours(hub)
    before = _state(hub)
    assert before["runs"][0][0] >= 1 and (MEMBER, 0) in before["users"]
    hub.process.send_signal(signal.SIGKILL)
    hub.process.wait()
    started = time.monotonic()
    output = hub.start(background=True)  # the next test stops this one with SIGINT
    print(f"second up ready after {time.monotonic() - started:.1f} s:\n{output}")
    assert "Proeftuin draait op" in output
    assert not [p for p in first if alive(p)], "processes of the killed up are still running"
    assert _state(hub) == before
    assert people["admin"].api("GET", f"/hub/api/users/{MEMBER}").status_code == 200


def test_background_up_stops_on_sigint_and_starts_clean(platform):
    hub, people = platform
    second = _ours(hub)
    before = _state(hub)
    record = hub.state / "hub" / "up.json"
    assert record.is_file() and oct(record.stat().st_mode & 0o777) == "0o600"
    hub.process.send_signal(signal.SIGINT)  # ignored by the shell for a background job: `up` must handle it
    assert hub.process.wait(timeout=150) == 0
    assert not [p for p in second if alive(p)], "processes of the stopped up are still running"
    assert not record.exists()
    output = hub.start()
    assert "vorige start" not in output, output  # nothing was left behind
    assert _state(hub) == before
    assert Browser(hub.url).login(MEMBER, "proeftuin-test-wachtwoord-42").status_code == 302
