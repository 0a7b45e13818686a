"""The knowledge site behind a real hub stays current: built once MLflow answers (never a site whose every
pilot says "Resultaten niet beschikbaar"), and a run a notebook user logs appears on the served pilot page
within a minute. One `proeftuin up` for the module; run under the hub lock:

    flock /tmp/proeftuin-hub.lock .venv/bin/pytest -x -q tests/hub/test_hub_site.py
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest
from hubkit import admin_and_members, running_platform, wait_until

pytestmark = pytest.mark.timeout(900)

ANNE = "anne-kortrijk"
PAGE = "/services/docs/pilots/vragenrouter.html"

# What a notebook user does: the MLflow client, pointed at /services/mlflow with their own hub token (the
# spawner sets MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN the same way in every notebook server).
NOTEBOOK = r"""
import json
from mlflow import MlflowClient

client = MlflowClient()
experiment = client.get_experiment_by_name("vragenrouter")
experiment_id = experiment.experiment_id if experiment else client.create_experiment("vragenrouter")
run = client.create_run(experiment_id, tags={"proeftuin.organisation": "kortrijk", "proeftuin.kind": "model"})
client.log_metric(run.info.run_id, "macro_f1", 0.61)
client.set_terminated(run.info.run_id)
print("RUN", json.dumps({"run_id": run.info.run_id}))
"""


@pytest.fixture(scope="module")
def platform():
    with running_platform("proeftuin-site-", (ANNE,), pilots=("vragenrouter",)) as (hub, _):
        yield hub


@pytest.fixture(scope="module")
def anne(platform):
    return admin_and_members(platform, {ANNE: "kortrijk"})[1][ANNE]


def served_page(who, path: str = PAGE) -> str | None:
    response = who.api("GET", path)
    return response.text if response.status_code == 200 else None


def words(html: str) -> str:
    from html import unescape

    article = html[html.find("<article"):html.find("</article>")]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", article)).split())


def test_first_site_is_built_once_mlflow_answers(platform, anne):
    page = wait_until(lambda: served_page(anne), 180, "the first docs site")
    text = words(page)
    assert "Resultaten niet beschikbaar" not in text, "built before MLflow answered"
    assert "Er zijn nog geen runs" in text
    assert "/services/mlflow/#/experiments/" not in page  # no experiment yet
    assert "/services/gallery/demo/vragenrouter" in page, "links go through the hub"
    assert "docs site rebuilt" in platform.full_log() and "(first build)" in platform.full_log()
    ideas = served_page(anne, "/services/docs/overzicht/ideeen.html")
    assert ideas and "nog geen ideeën voorgesteld" in words(ideas)


def test_a_run_logged_from_a_notebook_appears_on_the_served_page_within_a_minute(platform, anne):
    wait_until(lambda: served_page(anne), 180, "the first docs site")
    env = {**platform.env, "MLFLOW_TRACKING_URI": f"{platform.url}/services/mlflow",
           "MLFLOW_TRACKING_TOKEN": anne.token}
    done = subprocess.run([sys.executable, "-c", NOTEBOOK], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RUN "))[4:])["run_id"]
    logged = time.monotonic()

    def shows_the_run():
        page = served_page(anne)
        return page if page and "Beste run per organisatie" in words(page) else None

    page = wait_until(shows_the_run, 90, "the run on the served pilot page", interval=2)
    elapsed = time.monotonic() - logged
    assert elapsed <= 60, f"the run appeared only after {elapsed:.0f} s"
    text = words(page)
    assert re.search(r"Kortrijk .*0,61", text), text
    assert "/services/mlflow/#/experiments/" in page  # the experiment's link, through the hub
    log = platform.full_log()
    assert re.search(rf"docs site rebuilt in [\d.]+ s \(run finished \({run_id}\)", log), log[-3000:]
    print(f"run on the served page {elapsed:.1f} s after it was logged")
