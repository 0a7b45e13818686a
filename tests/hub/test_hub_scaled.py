"""The whole platform on the scaled backends: `proeftuin up` with the hub's database, MLflow and the ideas on a
real PostgreSQL server and MLflow's artifacts on a real S3 endpoint (moto's server mode).

One story, in order (one module, one pair of servers): sign-up and approval, a notebook run through
/services/mlflow whose artifact lands in the bucket; a restart with everything still there; a backup of the
running platform; a restore into fresh databases, a fresh bucket and a fresh state folder, and `up` on that:
the person logs in with the same password and finds their run, its artifact and the idea.

And the boundary: a notebook's code gets none of the storage credentials (not in its environment, not from
the services' processes), and the backup, which holds secrets, is readable by its owner only.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from hubkit import (
    BIN,
    IS_ROOT,
    PASSWORD,
    Browser,
    Platform,
    admin_and_members,
    mlflow_api,
    new_project,
    remove_project,
    run_in_kernel,
    start_server,
)
from servers import postgres_server, s3_server

MEMBER = "bart-schaal"
pytestmark = pytest.mark.timeout(1500)

KERNEL_CODE = r"""
import os
from pathlib import Path

import mlflow

experiment = mlflow.set_experiment("kortrijk-schaal")
with mlflow.start_run(run_name="op-postgresql", tags={"proeftuin.organisation": os.environ["PROEFTUIN_ORG"]}) as run:
    mlflow.log_metric("macro_f1", 0.64)
    mlflow.log_text("Wat we probeerden: de proeftuin op PostgreSQL en S3.", "notities.txt")
print("RUN", run.info.run_id)
print("ENV", sorted(k for k in os.environ if k.startswith(("PG", "AWS_", "MLFLOW_S3"))))
found = []
for proc in Path("/proc").iterdir():
    if proc.name.isdigit():
        try:
            if b"PGPASSWORD=" in (proc / "environ").read_bytes():
                found.append(proc.name)
        except OSError:
            pass
print("PASSWORD_SEEN_IN", found)
"""


class Installation:
    """A project whose proeftuin.yaml points at its own databases and bucket on the shared servers."""

    def __init__(self, pg, s3, tag: str) -> None:
        self.pg, self.s3 = pg, s3
        self.project = new_project(f"proeftuin-schaal-{tag}-")
        self.bucket = s3.create_bucket(f"proeftuin-{tag}-{uuid.uuid4().hex[:6]}")
        self.databases = {part: f"{part}_{tag}_{uuid.uuid4().hex[:6]}" for part in ("mlflow", "hub", "platform")}
        secret = self.project / "db-password"
        secret.write_text(pg.password)
        secret.chmod(0o600)
        storage = {"postgresql": pg.server, "databases": self.databases, "password_file": str(secret),
                   "s3": f"s3://{self.bucket}/mlflow", "s3_endpoint_url": s3.endpoint}
        keys = {k: v for k, v in s3.environment.items() if k.startswith("AWS_")}
        self.hub = Platform(self.project, pilots=("vragenrouter",), settings={"storage": storage}, env=keys)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([str(BIN / "proeftuin"), *args], cwd=self.project, env=self.hub.env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def rows(self, part: str, sql: str) -> list[tuple]:
        with self.pg.connect(self.databases[part]) as db:
            return db.execute(sql).fetchall()


@pytest.fixture(scope="module")
def servers():
    with postgres_server() as pg, s3_server() as s3:
        yield pg, s3


@pytest.fixture(scope="module")
def first(servers):
    installation = Installation(*servers, "eerste")
    try:
        yield installation
    finally:
        installation.hub.stop()
        remove_project(installation.project, accounts=(MEMBER,))


def test_the_platform_runs_restarts_backs_up_and_restores_on_postgresql_and_s3(servers, first, tmp_path):
    hub = first.hub
    output = hub.start()
    assert "Opslag: PostgreSQL op 127.0.0.1" in output and f"s3://{first.bucket}/mlflow" in output
    admin, members = admin_and_members(hub, {MEMBER: "kortrijk"})
    bart = members[MEMBER]
    start_server(bart, MEMBER)
    kernel = run_in_kernel(bart, MEMBER, hub.url, KERNEL_CODE)
    run_id = next(line.split()[1] for line in kernel.splitlines() if line.startswith("RUN "))

    # the boundary: a notebook gets no storage credential, and cannot read one from a service's process
    assert "ENV []" in kernel, kernel
    if IS_ROOT:
        assert "PASSWORD_SEEN_IN []" in kernel, kernel

    # where things are: the hub's users, the run and the idea in PostgreSQL, the artifact in the bucket
    assert (MEMBER,) in first.rows("hub", "SELECT name FROM users")
    assert first.rows("mlflow", f"SELECT status FROM runs WHERE run_uuid = '{run_id}'") == [("FINISHED",)]
    artifact = next(k for k in first.s3.objects(first.bucket) if k.endswith(f"{run_id}/artifacts/notities.txt"))
    assert first.s3.objects(first.bucket)[artifact].startswith(b"Wat we probeerden")
    assert not (hub.state / "hub" / "jupyterhub.sqlite").exists() and not (hub.state / "mlflow" / "mlflow.db").exists()
    from proeftuin.ideas import IdeaStore
    from proeftuin.settings import load_settings

    IdeaStore(load_settings(hub.project / "proeftuin.yaml"), {"kortrijk"}).add(
        author=MEMBER, organisation="kortrijk", question="Kunnen we de drukte in het containerpark voorspellen?",
        asked_by="de milieudienst", service="Milieu", personal_data=False)

    # a restart: the person, their group and their run are all still there
    hub.stop()
    hub.start()
    again = Browser(hub.url)
    assert again.login(MEMBER, PASSWORD).status_code == 302, hub.hub_log()
    again.new_token(MEMBER)
    assert "kortrijk" in again.api("GET", f"/hub/api/users/{MEMBER}").json()["groups"]
    found = mlflow_api(again, "GET", "runs/get", params={"run_id": run_id})
    assert found.status_code == 200 and found.json()["run"]["data"]["metrics"][0]["value"] == 0.64

    # a backup of the running platform (it holds secrets: owner only)
    archive = tmp_path / "proeftuin-backup.tar.gz"
    summary = json.loads(first.cli("backup", "--output", str(archive), "--json").stdout)
    assert archive.stat().st_mode & 0o777 == 0o600
    assert summary, summary
    hub.stop()

    # restore into fresh databases, a fresh bucket and a fresh state folder; `up` on it
    second = Installation(*servers, "tweede")
    try:
        second.cli("restore", str(archive), "--json")
        restored = second.hub
        restored.start()
        bart_again = Browser(restored.url)
        assert bart_again.login(MEMBER, PASSWORD).status_code == 302, restored.hub_log()
        bart_again.new_token(MEMBER)
        run = mlflow_api(bart_again, "GET", "runs/get", params={"run_id": run_id})
        assert run.status_code == 200 and run.json()["run"]["info"]["run_name"] == "op-postgresql"
        listed = mlflow_api(bart_again, "GET", "artifacts/list", params={"run_id": run_id})
        assert [f["path"] for f in listed.json().get("files", [])] == ["notities.txt"], listed.text
        assert any(k.endswith(f"{run_id}/artifacts/notities.txt") for k in second.s3.objects(second.bucket))
        assert second.rows("platform", "SELECT organisation FROM ideas") == [("kortrijk",)]
        # the first installation's databases and bucket are untouched by the restore
        assert first.rows("mlflow", f"SELECT count(*) FROM runs WHERE run_uuid = '{run_id}'") == [(1,)]
        assert artifact in first.s3.objects(first.bucket)
    finally:
        second.hub.stop()
        remove_project(second.project, accounts=(MEMBER,))
    assert Path(archive).is_file()
