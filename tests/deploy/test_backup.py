"""`proeftuin backup` / `proeftuin restore`, on installations built by really using the product: runs logged and a
champion registered with the CLI, ideas, kiosk feedback and a hub database with users and groups. The backup is
taken while another process keeps writing to MLflow's SQLite database; the restore goes to a fresh state folder
(and, for the scaled configuration, to fresh PostgreSQL databases and a fresh S3 bucket)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from conftest import ROOT, Cli
from mlflow.tracking import MlflowClient

from proeftuin.deploy import backup as bk
from proeftuin.deploy import inventory
from proeftuin.settings import get_settings

PILOT = "digitale-maturiteit"
WRITER = """
import sys, time, pathlib
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
uri, run_id, stop = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
client = MlflowClient(tracking_uri=uri)
step = 0
while not stop.exists():
    try:
        client.log_batch(run_id, metrics=[Metric("schrijver", float(step), int(time.time() * 1000), step)])
        step += 1
        (stop.parent / "steps.tmp").write_text(str(step))
        (stop.parent / "steps.tmp").replace(stop.parent / "steps")
    except Exception:  # a moment of 'database is locked' while the backup reads: try again
        time.sleep(0.01)
"""


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file below `folder`: mode and sha256 (to prove that a refused restore changed nothing)."""
    found = {}
    for path in sorted(folder.rglob("*")) if folder.exists() else []:
        if path.is_file():
            found[path.relative_to(folder).as_posix()] = (path.stat().st_mode, hashlib.sha256(path.read_bytes())
                                                          .hexdigest())
    return found


def _hub_database(url: str) -> None:
    from jupyterhub import orm

    session = orm.new_session_factory(url)()
    group = orm.Group(name="waregem")
    user = orm.User(name="an", admin=True)
    user.groups.append(group)
    session.add_all([group, user, orm.User(name="bert")])
    session.commit()
    session.close()


def _hub_facts(url: str) -> tuple[set[str], dict[str, list[str]]]:
    from jupyterhub import orm

    session = orm.new_session_factory(url)()
    try:
        return ({u.name for u in session.query(orm.User)},
                {g.name: sorted(u.name for u in g.users) for g in session.query(orm.Group)})
    finally:
        session.close()


def _add_ideas_and_feedback(settings) -> None:
    from proeftuin.feedback import FeedbackStore
    from proeftuin.ideas import IdeaStore

    ideas = IdeaStore(settings)
    idea = ideas.add(author="an", organisation="waregem", question="Kunnen we meldingen over zwerfvuil sorteren?",
                     asked_by="dienst omgeving", service="omgeving", personal_data=False)
    ideas.support(idea.id, organisation="kortrijk", author="bert")
    ideas.add(author="bert", organisation="kortrijk", question="Welke vragen komen het vaakst aan het onthaal?",
              asked_by="onthaal", service="burgerzaken", personal_data=True)
    feedback = FeedbackStore(settings)
    for verdict in ("nuttig", "nuttig", "niet nuttig"):
        feedback.add(PILOT, verdict)


def _facts(settings, skip: str = "") -> dict:
    """What a person would check after a restore, read through the product's own APIs."""
    from proeftuin.feedback import FeedbackStore
    from proeftuin.ideas import IdeaStore

    uri = settings.backend_store_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champion = client.get_model_version_by_alias(PILOT, "champion")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()], max_results=100)
    return {
        "champion_run": champion.run_id, "champion_version": champion.version,
        "version_tags": champion.tags,
        "runs": {r.info.run_id: (r.data.metrics, r.data.params, {k: v for k, v in r.data.tags.items()})
                 for r in runs if r.info.run_id != skip},
        "ideas": [(i.question, i.organisation, i.supporters) for i in IdeaStore(settings).list()],
        "feedback": FeedbackStore(settings).frame()[["pilot", "verdict"]].values.tolist(),
    }


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory):
    """An embedded installation (SQLite, artifact folder) and a backup of it taken while MLflow is written to."""
    base = tmp_path_factory.mktemp("embedded")
    state = base / "state"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROEFTUIN_HOME", str(state))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("PROEFTUIN_PILOTS_DIR", raising=False)
        mp.delenv("PROEFTUIN_CONFIG", raising=False)
        mp.chdir(ROOT)
        run_cli = Cli()
        out = run_cli.json("run", PILOT, "--org", "waregem")
        assert out["champion"] is True
        settings = get_settings()
        uri = settings.backend_store_uri
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        client.set_model_version_tag(PILOT, "1", "beoordeeld_door", "an")
        client.set_tag(out["run_id"], "opmerking", "eerste run, Waregem")
        _add_ideas_and_feedback(settings)
        (state / "hub").mkdir(mode=0o700)
        _hub_database(f"sqlite:///{state / 'hub' / 'jupyterhub.sqlite'}")
        (state / "hub" / "jupyterhub_cookie_secret").write_text(os.urandom(32).hex())
        (state / "hub" / "admin-password").write_text("geheim-wachtwoord\n")
        (state / "hub" / "jupyterhub.pid").write_text("12345")
        (state / "hub" / "jupyterhub.log").write_text("runtime only\n")
        for path in (state / "hub").iterdir():
            path.chmod(0o600)

        writer_run = client.create_run(client.get_experiment_by_name(PILOT).experiment_id).info.run_id
        stop = base / "writer" / "stop"
        stop.parent.mkdir()
        writer = subprocess.Popen([sys.executable, "-c", WRITER, uri, writer_run, str(stop)], cwd=ROOT)
        try:
            deadline = time.monotonic() + 60
            while not (stop.parent / "steps").exists() or int((stop.parent / "steps").read_text() or 0) < 20:
                assert writer.poll() is None and time.monotonic() < deadline, "the writer did not start"
                time.sleep(0.1)
            archive = base / "proeftuin.tar.gz"
            steps_before_backup = int((stop.parent / "steps").read_text())
            result = run_cli("backup", "--output", str(archive), "--json")
            steps_after_backup = int((stop.parent / "steps").read_text())
        finally:
            stop.write_text("")
            writer.wait(timeout=60)
        assert steps_after_backup > steps_before_backup, "the writer kept writing while the backup ran"
        facts = _facts(settings, skip=writer_run)
        yield {"state": state, "archive": archive, "summary": json.loads(result.stdout), "facts": facts,
               "run_id": out["run_id"], "writer_run": writer_run, "settings": settings}


def _manifest(archive: Path) -> dict:
    with tarfile.open(archive, "r:gz") as tar:
        return json.load(tar.extractfile(bk.MANIFEST))


def test_backup_is_one_private_archive_with_a_manifest(embedded):
    archive = embedded["archive"]
    assert archive.stat().st_mode & 0o777 == 0o600
    assert not [p for p in archive.parent.iterdir() if p.name.startswith(".")], "no temporary file left behind"
    names = set(bk.iter_members(archive))
    assert {"databases/mlflow.sqlite", "databases/hub.sqlite", "databases/feedback.sqlite", "databases/ideas.sqlite",
            "secrets/hub/jupyterhub_cookie_secret", "secrets/hub/admin-password", "manifest.json"} <= names
    assert not {n for n in names if n.endswith((".pid", ".log"))}, "runtime files are not state"
    manifest = _manifest(archive)
    assert manifest["schema"]["mlflow"] == bk.schema_head("mlflow")
    assert manifest["schema"]["hub"] == bk.schema_head("hub")
    assert set(manifest["versions"]) >= {"proeftuin", "mlflow", "jupyterhub"}
    assert manifest["databases"]["hub"]["tables"]["users"]["rows"] == 2
    assert manifest["databases"]["ideas"]["tables"]["ideas"]["rows"] == 2
    artifacts = inventory.folder_inventory(embedded["state"] / "mlflow" / "artifacts")
    assert manifest["artifacts"]["files"] == artifacts["files"] and artifacts["objects"] > 5
    summary = embedded["summary"]
    assert summary["databases"]["mlflow"]["counts"]["registered_models"] == 1
    assert summary["databases"]["feedback"]["counts"]["feedback"] == 3


def test_the_copy_taken_during_writes_is_consistent(embedded, tmp_path: Path):
    with tarfile.open(embedded["archive"], "r:gz") as tar:
        data = tar.extractfile("databases/mlflow.sqlite").read()
    copy = tmp_path / "mlflow.sqlite"
    copy.write_bytes(data)
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        steps = db.execute("SELECT count(*), max(step) FROM metrics WHERE run_uuid = ? AND key = 'schrijver'",
                           (embedded["writer_run"],)).fetchone()
        latest = db.execute("SELECT step FROM latest_metrics WHERE run_uuid = ? AND key = 'schrijver'",
                            (embedded["writer_run"],)).fetchone()
    assert steps[0] >= 20 and steps[0] == steps[1] + 1, "one snapshot: every step up to the last, none missing"
    assert latest[0] == steps[1], "latest_metrics agrees with metrics (one transaction's view)"
    assert inventory.database_inventory(f"sqlite:///{copy}") == _manifest(embedded["archive"])["databases"]["mlflow"][
        "tables"]


def test_restore_into_a_fresh_folder_brings_everything_back(embedded, run_cli, fresh_store: Path):
    result = json.loads(run_cli("restore", str(embedded["archive"]), "--json").stdout)
    settings = get_settings()
    assert settings.state_dir == fresh_store
    manifest = _manifest(embedded["archive"])
    # databases: identical to the manifest, except that artifact locations now point at this installation
    old_root, new_root = manifest["source"]["artifact_root"], settings.artifact_root
    assert result["rewritten_locations"] > 0
    copy = fresh_store.parent / "check.sqlite"
    with sqlite3.connect(fresh_store / "mlflow" / "mlflow.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    engine = sa.create_engine(f"sqlite:///{copy}")
    with engine.begin() as connection:
        assert bk.rewrite_locations(connection, new_root, old_root) == result["rewritten_locations"]
        assert inventory.database_inventory(connection) == manifest["databases"]["mlflow"]["tables"]
    engine.dispose()
    for part, path in (("hub", "hub/jupyterhub.sqlite"), ("feedback", "gallery/feedback.sqlite3"),
                       ("ideas", "ideas/ideas.sqlite3")):
        restored = inventory.database_inventory(f"sqlite:///{fresh_store / path}")
        assert inventory.compare_databases(manifest["databases"][part]["tables"], restored, part) == []
    # artifacts byte-identical to the source installation's
    source = inventory.folder_inventory(embedded["state"] / "mlflow" / "artifacts")
    assert inventory.compare_artifacts(source, inventory.folder_inventory(fresh_store / "mlflow" / "artifacts")) == []
    # facts, through the product's APIs
    assert _facts(settings, skip=embedded["writer_run"]) == embedded["facts"]
    client = MlflowClient(tracking_uri=settings.backend_store_uri, registry_uri=settings.backend_store_uri)
    run = client.get_run(embedded["run_id"])
    assert run.info.artifact_uri.startswith(new_root), "artifacts are read from the restored folder"
    card = Path(client.download_artifacts(run.info.run_id, "model_card.md", str(fresh_store.parent)))
    assert card.read_bytes() == (Path(run.info.artifact_uri.removeprefix("file://")) / "model_card.md").read_bytes()
    import mlflow.pyfunc

    from proeftuin import tracking

    tracking.connect(settings)  # the restored store, as every command of the product connects
    champion = client.get_model_version_by_alias(PILOT, "champion")
    logged = client.get_logged_model(champion.source.removeprefix("models:/"))
    assert logged.artifact_location.startswith(new_root), "the champion's files are the restored ones"
    assert mlflow.pyfunc.load_model(f"models:/{PILOT}@champion") is not None
    users, groups = _hub_facts(f"sqlite:///{fresh_store / 'hub' / 'jupyterhub.sqlite'}")
    assert users == {"an", "bert"} and groups == {"waregem": ["an"]}
    secret = fresh_store / "hub" / "jupyterhub_cookie_secret"
    assert secret.read_bytes() == (embedded["state"] / "hub" / "jupyterhub_cookie_secret").read_bytes()
    assert secret.stat().st_mode & 0o777 == 0o600
    assert not (fresh_store / "hub" / "jupyterhub.pid").exists()
    assert not [p for p in fresh_store.parent.iterdir() if "herstel" in p.name], "staging removed"


def _rebuilt(archive: Path, target: Path, change) -> Path:
    """A copy of the archive with members changed by `change(name, data) -> data`."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(target, "w:gz") as out:
        for info in source:
            data = change(info.name, source.extractfile(info).read())
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return target


@pytest.fixture
def occupied(fresh_store: Path) -> Path:
    """A target installation that already holds something (an idea), to prove that refusals change nothing."""
    _add_ideas_and_feedback(get_settings())
    (fresh_store / "hub").mkdir(mode=0o700, exist_ok=True)
    (fresh_store / "hub" / "admin-password").write_text("ander wachtwoord\n")
    return fresh_store


def _refused(run_cli, state: Path, args: list[str], *words: str) -> str:
    before = snapshot(state)
    result = run_cli("restore", *args, code=1)
    assert snapshot(state) == before, "a refused restore changes nothing"
    assert not [p for p in state.parent.iterdir() if "herstel" in p.name]
    for word in words:
        assert word in result.stderr, result.stderr
    return result.stderr


def test_a_truncated_archive_changes_nothing(embedded, run_cli, occupied: Path, tmp_path: Path):
    data = embedded["archive"].read_bytes()
    cut = tmp_path / "afgebroken.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    _refused(run_cli, occupied, [str(cut), "--force"], "beschadigd of onvolledig", "Er is niets gewijzigd")


def test_a_changed_member_changes_nothing(embedded, run_cli, occupied: Path, tmp_path: Path):
    victim = next(n for n in bk.iter_members(embedded["archive"]) if n.endswith("model_card.md"))

    def change(name: str, data: bytes) -> bytes:
        return data.replace(b"a", b"o", 1) if name == victim else data

    changed = _rebuilt(embedded["archive"], tmp_path / "gewijzigd.tar.gz", change)
    _refused(run_cli, occupied, [str(changed), "--force"], victim, "controlesom klopt niet")


def test_a_backup_from_another_mlflow_schema_changes_nothing(embedded, run_cli, occupied: Path, tmp_path: Path):
    def change(name: str, data: bytes) -> bytes:
        if name != bk.MANIFEST:
            return data
        manifest = json.loads(data)
        manifest["schema"]["mlflow"] = "0123456789ab"
        manifest["versions"]["mlflow"] = "9.9.9"
        return json.dumps(manifest).encode()

    other = _rebuilt(embedded["archive"], tmp_path / "ander-schema.tar.gz", change)
    stderr = _refused(run_cli, occupied, [str(other), "--force"], "MLflow", "0123456789ab", "mlflow==9.9.9")
    assert "Er is niets gewijzigd" in stderr


def test_a_non_empty_installation_needs_force(embedded, run_cli, occupied: Path):
    stderr = _refused(run_cli, occupied, [str(embedded["archive"])], "Er staat al iets", "--force", "de ideeën")
    assert "Er is niets gewijzigd" in stderr
    # with --force it is replaced: the target's own idea and password are gone, the archive's are there
    run_cli("restore", str(embedded["archive"]), "--force")
    assert (occupied / "hub" / "admin-password").read_text() == "geheim-wachtwoord\n"
    assert _facts(get_settings(), skip=embedded["writer_run"]) == embedded["facts"]


def test_a_failed_backup_leaves_no_file(run_cli, fresh_store: Path, tmp_path: Path):
    (fresh_store / "gallery").mkdir(parents=True)
    (fresh_store / "gallery" / "feedback.sqlite3").write_bytes(b"dit is geen databank" * 100)
    out = tmp_path / "uit"
    out.mkdir()
    result = run_cli("backup", "--output", str(out / "b.tar.gz"), code=1)
    assert "kioskfeedback" in result.stderr and "Er is geen back-up gemaakt" in result.stderr
    assert list(out.iterdir()) == []


# --- the scaled configuration: PostgreSQL and S3 ----------------------------------------------------------

def _config(folder: Path, pg, s3, databases: dict[str, str], bucket: str) -> Path:
    config = yaml.safe_load((ROOT / "proeftuin.yaml").read_text())
    password = folder / "db-password"
    password.write_text(pg.password)
    password.chmod(0o600)
    config.update(state_dir=str(folder / "state"), pilots_dir=str(ROOT / "pilots"))
    config["storage"] = {"postgresql": pg.server, "databases": databases, "s3": f"s3://{bucket}/mlflow",
                         "s3_endpoint_url": s3.endpoint, "password_file": str(password)}
    path = folder / "proeftuin.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


def test_postgresql_and_s3_round_trip(run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from servers import postgres_server, s3_server

    with postgres_server() as pg, s3_server() as s3:
        for key, value in s3.environment.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("PROEFTUIN_HOME")
        s3.create_bucket("bron")
        s3.create_bucket("doel")
        source_dbs = {"mlflow": "bron_mlflow", "hub": "bron_hub", "platform": "bron"}
        for name in source_dbs.values():
            pg.create_database(name)
        (tmp_path / "bron").mkdir()
        monkeypatch.setenv("PROEFTUIN_CONFIG", str(_config(tmp_path / "bron", pg, s3, source_dbs, "bron")))
        out = run_cli.json("run", PILOT, "--org", "kortrijk")
        source = get_settings()
        assert source.backend_store_uri.startswith("postgresql+psycopg://")
        _add_ideas_and_feedback(source)
        _hub_database(pg.url("bron_hub"))
        (source.state_dir / "hub").mkdir(mode=0o700, parents=True, exist_ok=True)
        (source.state_dir / "hub" / "jupyterhub_cookie_secret").write_text("cookie")
        facts = _facts_pg(source, pg, "bron_mlflow")
        archive = tmp_path / "schaal.tar.gz"
        summary = json.loads(run_cli("backup", "--output", str(archive), "--json").stdout)
        assert {"databases/mlflow.pgdump", "databases/hub.pgdump", "databases/platform.pgdump"} <= set(
            bk.iter_members(archive))
        assert summary["databases"]["platform"]["counts"] == {"feedback": 3, "ideas": 2}

        target_dbs = {"mlflow": "doel_mlflow", "hub": "doel_hub", "platform": "doel"}
        (tmp_path / "doel").mkdir()
        monkeypatch.setenv("PROEFTUIN_CONFIG", str(_config(tmp_path / "doel", pg, s3, target_dbs, "doel")))
        result = json.loads(run_cli("restore", str(archive), "--json").stdout)
        target = get_settings()
        assert result["rewritten_locations"] > 0
        assert _facts_pg(target, pg, "doel_mlflow") == facts
        client = MlflowClient(tracking_uri=pg.url("doel_mlflow"), registry_uri=pg.url("doel_mlflow"))
        run = client.get_run(out["run_id"])
        assert run.info.artifact_uri.startswith("s3://doel/mlflow/")
        assert s3.objects("doel") == s3.objects("bron"), "every artifact byte-identical, same keys"
        card = Path(client.download_artifacts(run.info.run_id, "model_card.md", str(tmp_path)))
        assert card.read_bytes() == s3.objects("bron")[run.info.artifact_uri.removeprefix("s3://doel/") +
                                                       "/model_card.md"]
        assert _hub_facts(pg.url("doel_hub")) == ({"an", "bert"}, {"waregem": ["an"]})
        assert (target.state_dir / "hub" / "jupyterhub_cookie_secret").read_text() == "cookie"
        # the same data on the other server reads the same: the inventories agree table by table
        for part, (old, new) in {"hub": ("bron_hub", "doel_hub"), "platform": ("bron", "doel")}.items():
            assert inventory.database_inventory(pg.url(old)) == inventory.database_inventory(pg.url(new)), part
        # restoring again into the now filled databases is refused, and changes nothing
        before = inventory.database_inventory(pg.url("doel_mlflow"))
        refused = run_cli("restore", str(archive), code=1)
        assert "Er staat al iets" in refused.stderr and "PostgreSQL-databank doel_mlflow" in refused.stderr
        assert inventory.database_inventory(pg.url("doel_mlflow")) == before
        with pg.connect() as db:  # the pools of MLflow and the stores: closed, so the server stops at once
            db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                       "AND backend_type = 'client backend'")


def _facts_pg(settings, pg, database: str) -> dict:
    """`_facts` with the password in the URL (MlflowClient reads no password file)."""
    from proeftuin import storage

    storage.apply_environment(settings)
    facts = _facts(settings.model_copy(update={"mlflow": settings.mlflow.model_copy(
        update={"backend_store_uri": pg.url(database)})}))
    return facts
