"""Proeftuin on the scaled backends, end to end: MLflow on a real PostgreSQL server with its artifacts on a real
S3 protocol endpoint (moto's server mode), the gallery serving the champion from there, kiosk feedback and ideas
in the platform's PostgreSQL database, the site showing it all. Only proeftuin.yaml (`storage:`) differs from the
embedded default; the password comes from a secret file, the S3 keys from the environment.

And the checks before anything starts: a wrong password, a server that is down, a missing bucket, a schema from a
newer MLflow, a password written in proeftuin.yaml: a Dutch message, exit 1, nothing created or changed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from browser import chromium_page
from conftest import ROOT, free_port, wait_for
from gradio_client import Client
from playwright.sync_api import expect
from servers import postgres_server, s3_server

TINY = ("--param", "max_rows=300")


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def s3():
    with s3_server() as server:
        yield server


def write_config(folder: Path, storage: dict) -> Path:
    """The repository's proeftuin.yaml with a `storage:` section (and the repository's pilots)."""
    config = yaml.safe_load((ROOT / "proeftuin.yaml").read_text())
    config.update(state_dir=str(folder / "state"), pilots_dir=str(ROOT / "pilots"), storage=storage)
    path = folder / "proeftuin.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class Scaled:
    """One installation on PostgreSQL and S3, shared by the tests of this module (training once)."""

    def __init__(self, folder: Path, pg, s3) -> None:
        self.folder, self.pg, self.s3 = folder, pg, s3
        tag = uuid.uuid4().hex[:8]
        self.bucket = s3.create_bucket(f"proeftuin-{tag}")
        self.databases = {"mlflow": f"mlflow_{tag}", "hub": f"hub_{tag}", "platform": f"platform_{tag}"}
        secret = folder / "db-password"
        secret.write_text(pg.password + "\n")
        secret.chmod(0o600)
        self.config = write_config(folder, {"postgresql": pg.server, "databases": self.databases,
                                            "password_file": str(secret), "s3": f"s3://{self.bucket}/mlflow",
                                            "s3_endpoint_url": s3.endpoint})
        self.state = folder / "state"
        for name in ("docs", "mkdocs.yml", "src", "templates"):  # what `docs build` reads from the project folder
            (folder / name).symlink_to(ROOT / name)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("AWS_", "MLFLOW_", "PROEFTUIN_", "PG"))}
        self.env.update({"PROEFTUIN_CONFIG": str(self.config), "AWS_ACCESS_KEY_ID": "proeftuin-test",
                         "AWS_SECRET_ACCESS_KEY": "proeftuin-test-geheim", "AWS_DEFAULT_REGION": "us-east-1"})

    def cli(self, *args: str, code: int = 0) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "proeftuin.cli", *args], cwd=self.folder, env=self.env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == code, done.stdout + done.stderr
        return done

    def rows(self, database: str, sql: str) -> list[tuple]:
        with self.pg.connect(self.databases[database]) as db:
            return db.execute(sql).fetchall()

    def settings(self):
        from proeftuin.settings import load_settings

        return load_settings(self.config)


@pytest.fixture(scope="module")
def scaled(pg, s3, tmp_path_factory) -> Scaled:
    installation = Scaled(tmp_path_factory.mktemp("scaled"), pg, s3)
    import json

    installation.run = json.loads(installation.cli("run", "vragenrouter", "--org", "waregem", *TINY, "--json").stdout)
    installation.cli("run", "vragenrouter", "--baseline", *TINY)
    return installation


@pytest.fixture
def scaled_env(scaled, monkeypatch):
    """This test process pointed at the scaled installation (as the CLI processes are)."""
    for key in [k for k in os.environ if k.startswith(("AWS_", "PG"))]:
        monkeypatch.delenv(key)
    for key, value in scaled.env.items():
        if key.startswith(("AWS_", "PROEFTUIN_CONFIG")):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("PROEFTUIN_HOME")
    return scaled


def test_runs_models_and_artifacts_live_in_postgresql_and_s3(scaled):
    run_id = scaled.run["run_id"]
    ((uri,),) = scaled.rows("mlflow", f"SELECT artifact_uri FROM runs WHERE run_uuid = '{run_id}'")
    assert uri.startswith(f"s3://{scaled.bucket}/mlflow/vragenrouter/")
    aliases = scaled.rows("mlflow", "SELECT name, alias FROM registered_model_aliases")
    assert ("vragenrouter", "champion") in aliases
    organisations = scaled.rows("mlflow", "SELECT value FROM tags WHERE key = 'proeftuin.organisation'")
    assert ("waregem",) in organisations
    keys = scaled.s3.objects(scaled.bucket)
    assert any(k.startswith(f"mlflow/vragenrouter/{run_id}/artifacts/") for k in keys)
    assert any(k.endswith("MLmodel") for k in keys) and any(k.endswith("data_profile.json") for k in keys)
    # nothing of it in the state folder: no SQLite database, no artifact files
    assert not (scaled.state / "mlflow" / "mlflow.db").exists()
    assert not list(scaled.state.rglob("MLmodel")) and not list(scaled.state.rglob("*.db"))
    # the secret file's password is nowhere in what the run left behind
    assert scaled.pg.password not in scaled.cli("compare", "vragenrouter", "--json").stdout


def test_mlflow_server_serves_the_scaled_store_and_the_champion_loads_from_s3(scaled_env, monkeypatch):
    scaled = scaled_env
    port = free_port()
    log = (scaled.folder / "mlflow-server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "proeftuin.cli", "mlflow", "--port", str(port)],
                              cwd=scaled.folder, env=scaled.env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/health", server, timeout=180)
        import mlflow
        import pandas as pd
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=url, registry_uri=url)
        found = client.search_runs([client.get_experiment_by_name("vragenrouter").experiment_id],
                                   filter_string="tags.`proeftuin.organisation` = 'waregem'")
        assert [r.info.run_id for r in found] == [scaled.run["run_id"]]
        monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", scaled.s3.endpoint)
        mlflow.set_tracking_uri(url)
        model = mlflow.pyfunc.load_model("models:/vragenrouter@champion")
        prediction = model.predict(pd.DataFrame({"text": ["Hoeveel agenten patrouilleren er in de stations?"]}))
        assert prediction.loc[0, "label_1"]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_gallery_serves_the_champion_and_kiosk_feedback_lands_in_postgresql(scaled, tmp_path):
    port = free_port()
    log = (tmp_path / "gallery.log").open("w")
    gallery = subprocess.Popen([sys.executable, "-m", "proeftuin.cli", "gallery", "--kiosk", "--port", str(port)],
                               cwd=scaled.folder, env=scaled.env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/health", gallery, timeout=180)
        assert "Vragenrouter" in httpx.get(url + "/").text
        route, top, *_ = Client(f"{url}/demo/vragenrouter/", verbose=False).predict(
            "Wie beslist over de pensioenen van ambtenaren?", api_name="/predict")
        assert route and top["confidences"]
        with chromium_page() as page:
            page.goto(url + "/demo/vragenrouter/")
            page.get_by_label("Vraag of melding").fill("Waar vraag ik een parkeerkaart aan?")
            page.get_by_role("button", name="Doorsturen").click()
            expect(page.get_by_label("Beslissing")).not_to_have_value("", timeout=30000)
            page.get_by_role("button", name="Ja, nuttig", exact=True).click()
            page.get_by_text("Bedankt voor je mening!").wait_for(timeout=30000)
    finally:
        gallery.terminate()
        gallery.wait(timeout=30)
        log.close()
    assert scaled.rows("platform", "SELECT pilot, verdict FROM feedback") == [("vragenrouter", "nuttig")]
    assert not (scaled.state / "gallery" / "feedback.sqlite3").exists()
    output = tmp_path / "feedback.csv"
    scaled.cli("feedback", "export", "--output", str(output))
    assert output.read_text().splitlines()[1].startswith("vragenrouter,")


def test_ideas_are_kept_in_postgresql_and_the_site_shows_results_and_ideas(scaled_env, tmp_path):
    scaled = scaled_env
    from proeftuin.ideas import IdeaStore

    store = IdeaStore(scaled.settings(), {"menen", "kortrijk"})
    idea = store.add(author="an", organisation="menen", question="Kunnen we de wachttijd aan het loket voorspellen?",
                     asked_by="het onthaal", service="Burgerzaken", personal_data=False)
    assert store.support(idea.id, organisation="kortrijk", author="bart") is True
    assert store.support(idea.id, organisation="kortrijk", author="bart") is False  # once per organisation
    assert scaled.rows("platform", "SELECT organisation FROM idea_support") == [("kortrijk",)]
    assert not (scaled.state / "ideas" / "ideas.sqlite3").exists()

    site = tmp_path / "site"
    scaled.cli("docs", "build", "--output", str(site))
    page = (site / "pilots" / "vragenrouter.html").read_text(encoding="utf-8")
    assert re.search(r"versie 1 van Waregem .{0,40}F1 0,\d\d: score \d+ op 100", page), "the champion from MLflow"
    assert "wachttijd aan het loket" in (site / "overzicht" / "ideeen.html").read_text(encoding="utf-8")


# -- before anything starts ----------------------------------------------------------------------------------


def _config(tmp_path: Path, **storage) -> dict[str, str]:
    path = write_config(tmp_path, storage)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_", "PROEFTUIN_", "PG"))}
    return {**env, "PROEFTUIN_CONFIG": str(path)}


def _mlflow_command(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proeftuin.cli", "mlflow", "--port", str(free_port())],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def _databases(pg) -> set[str]:
    with pg.connect() as db:
        return {row[0] for row in db.execute("SELECT datname FROM pg_database")}


def test_wrong_password_is_named_and_nothing_is_created(pg, tmp_path):
    env = _config(tmp_path, postgresql=pg.server, databases={"mlflow": "nooit_aangemaakt"})
    env["PROEFTUIN_DB_PASSWORD"] = "fout-wachtwoord"
    before = _databases(pg)
    done = _mlflow_command(tmp_path, env)
    assert done.returncode == 1
    assert "weigert de gebruiker proeftuin" in done.stderr and "PROEFTUIN_DB_PASSWORD" in done.stderr
    assert "fout-wachtwoord" not in done.stderr + done.stdout
    assert _databases(pg) == before and not (tmp_path / "state").exists()


def test_unreachable_database_server_is_named(tmp_path):
    env = _config(tmp_path, postgresql=f"postgresql://proeftuin@127.0.0.1:{free_port()}")
    done = _mlflow_command(tmp_path, env)
    assert done.returncode == 1 and "is niet bereikbaar" in done.stderr and "storage.postgresql" in done.stderr
    assert not (tmp_path / "state").exists()


def test_missing_bucket_and_missing_keys_are_named(pg, s3, tmp_path):
    env = _config(tmp_path, s3="s3://bestaat-niet-bucket/mlflow", s3_endpoint_url=s3.endpoint)
    env.update(AWS_ACCESS_KEY_ID="proeftuin-test", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    done = _mlflow_command(tmp_path, env)
    assert done.returncode == 1 and "De bucket bestaat-niet-bucket bestaat niet" in done.stderr
    run = subprocess.run([sys.executable, "-m", "proeftuin.cli", "run", "vragenrouter", *TINY], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "bestaat niet" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "state" / "mlflow" / "mlflow.db").exists()  # nothing started, nothing created
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(key)
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "geen-sleutels")
    env["AWS_CONFIG_FILE"] = str(tmp_path / "geen-config")
    done = _mlflow_command(tmp_path, env)
    assert done.returncode == 1 and "geen sleutels" in done.stderr and "AWS_ACCESS_KEY_ID" in done.stderr


def test_schema_from_a_newer_mlflow_stops_before_anything_changes(pg, tmp_path):
    name = pg.create_database(f"nieuwer_{uuid.uuid4().hex[:6]}")
    with pg.connect(name) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('f0f0f0f0f0f0')")
    env = _config(tmp_path, postgresql=pg.server, databases={"mlflow": name})
    env["PROEFTUIN_DB_PASSWORD"] = pg.password
    done = _mlflow_command(tmp_path, env)
    assert done.returncode == 1 and "nieuwere MLflow (schema f0f0f0f0f0f0)" in done.stderr
    with pg.connect(name) as db:
        tables = {r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert tables == {"alembic_version"}
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("f0f0f0f0f0f0",)]


def test_a_password_in_proeftuin_yaml_is_refused(tmp_path):
    env = _config(tmp_path, postgresql="postgresql://proeftuin:geheim@db.intern:5432")
    done = subprocess.run([sys.executable, "-m", "proeftuin.cli", "validate"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "zet geen wachtwoord in proeftuin.yaml" in done.stderr
    assert "geheim" not in done.stderr.replace("zet geen wachtwoord", "")


def test_up_checks_the_database_before_it_starts_anything(pg, tmp_path):
    for name in ("node_modules", "package.json", "src", "hub_config"):  # what `up` needs from the project folder
        (tmp_path / name).symlink_to(ROOT / name)
    env = _config(tmp_path, postgresql=pg.server)
    env["PROEFTUIN_DB_PASSWORD"] = "niet-het-wachtwoord"
    before = _databases(pg)
    done = subprocess.run([sys.executable, "-m", "proeftuin.cli", "up", "--no-train", "--port", str(free_port())],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "weigert de gebruiker proeftuin" in done.stderr and "Er is niets gestart of gewijzigd" in done.stderr
    assert _databases(pg) == before
    assert not (tmp_path / "state" / "hub" / "jupyterhub_cookie_secret").exists()
    assert not (tmp_path / "state" / "hub" / "admin-password").exists()
