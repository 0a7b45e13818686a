"""`proeftuin migrate`: a real embedded installation (made by using the product) moved to a real PostgreSQL
server and a real S3 endpoint (moto's server mode), compared row by row and byte by byte, then used from there."""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import bcrypt
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from conftest import ROOT, Cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import postgres_server, s3_server  # noqa: E402

from proeftuin import storage  # noqa: E402
from proeftuin.deploy.migrate import MigrationFailed, MigrationRefused, migrate  # noqa: E402
from proeftuin.settings import Settings, load_settings  # noqa: E402

pytestmark = pytest.mark.timeout(300)
BUCKET = "proeftuin-artefacten"


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def s3():
    with s3_server() as server:
        server.create_bucket(BUCKET)
        yield server


def _config(folder: Path, state: Path, password_file: Path, databases: dict[str, str], **storage_extra) -> Path:
    raw = yaml.safe_load((ROOT / "proeftuin.yaml").read_text(encoding="utf-8"))
    raw.update(state_dir=str(state), pilots_dir=str(ROOT / "pilots"))
    raw["storage"] = {"databases": databases, "password_file": str(password_file), **storage_extra}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "proeftuin.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory, pg):
    """An embedded installation made by using the product: a training run (a champion), ideas with support,
    kiosk feedback and a hub database with a user, its organisation group and NativeAuthenticator's record."""
    folder = tmp_path_factory.mktemp("embedded")
    state = folder / "state"
    secret = folder / "db-password"
    secret.write_text(pg.password + "\n")
    secret.chmod(0o600)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROEFTUIN_HOME", str(state))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("PROEFTUIN_PILOTS_DIR", raising=False)
        mp.setenv("PROEFTUIN_CONFIG", str(_config(folder, state, secret, {})))
        out = Cli().json("run", "vragenrouter", "--org", "waregem", "--param", "max_rows=300")
        assert out["champion"] is True
        settings = load_settings()

        from proeftuin.feedback import FeedbackStore
        from proeftuin.ideas import IdeaStore

        ideas = IdeaStore(settings, {o.slug for o in settings.organisations})
        first = ideas.add(author="an", organisation="kortrijk", question="Kunnen we meldingen sneller sorteren?",
                          asked_by="de dienst burgerzaken", service="burgerzaken", personal_data=True)
        ideas.add(author="bert", organisation="menen", question="Welke straten hebben het meeste zwerfvuil?",
                  asked_by="de milieudienst", service="milieu", personal_data=False, impact="gerichter vegen")
        assert ideas.support(first.id, organisation="waregem", author="carla")
        feedback = FeedbackStore(settings)
        for verdict in ("nuttig", "niet nuttig", "nuttig"):
            feedback.add("vragenrouter", verdict)

        import nativeauthenticator.orm
        from jupyterhub import orm

        from proeftuin.hub.auth import Membership

        hub_db = storage.sqlite_path(settings, "hub")
        hub_db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        session = orm.new_session_factory(f"sqlite:///{hub_db}")()
        user = orm.User(name="an")
        group = orm.Group(name="kortrijk")
        group.users.append(user)
        session.add_all([user, group, Membership(username="an", organisation="kortrijk"),
                         nativeauthenticator.orm.UserInfo(username="an", is_authorized=True,
                                                          password=bcrypt.hashpw(b"lang-genoeg-wachtwoord",
                                                                                 bcrypt.gensalt(4)))])
        session.commit()
        session.get_bind().dispose()
        session.close()
    return {"folder": folder, "state": state, "secret": secret, "run": out}


def _source_settings(installation, databases: dict[str, str], monkeypatch) -> Settings:
    folder = installation["folder"] / "-".join(databases.values())
    config = _config(folder, installation["state"], installation["secret"], databases)
    monkeypatch.setenv("PROEFTUIN_HOME", str(installation["state"]))
    monkeypatch.setenv("PROEFTUIN_CONFIG", str(config))
    return load_settings(config)


def _names(tag: str) -> dict[str, str]:
    return {"mlflow": f"{tag}_mlflow", "hub": f"{tag}_hub", "platform": f"{tag}_platform"}


def _fingerprint(state: Path) -> dict[str, tuple[int, int, str]]:
    """Every file of the state folder: size, modification time and sha256."""
    found = {}
    for path in sorted(state.rglob("*")):
        if path.is_file():
            info = path.stat()
            found[str(path.relative_to(state))] = (info.st_size, info.st_mtime_ns,
                                                  hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def _plain(value):
    """One form per value for the row-by-row comparison (SQLite keeps booleans as 0/1 and times as text)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def _rows(url: str, password: str | None = None) -> dict[str, list[tuple]]:
    args = {"password": password} if password else {}
    engine = sa.create_engine(url, connect_args=args, poolclass=sa.pool.NullPool)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {name: sorted((tuple((c.name, _plain(v)) for c, v in zip(table.columns, row, strict=True))
                                  for row in connection.execute(sa.select(table))), key=repr)
                    for name, table in metadata.tables.items() if name not in ("alembic_version", "sqlite_sequence")}
    finally:
        engine.dispose()


def _rewritten(table: str, row: tuple, root: str, s3_root: str) -> tuple:
    """What the migration promises for MLflow's artifact locations: under the state folder → under the S3 root;
    the Default experiment's ./mlruns → MLflow's default under the S3 root."""
    columns = {"experiments": {"artifact_location"}, "runs": {"artifact_uri"}, "logged_models": {"artifact_location"},
               "model_versions": {"source", "storage_location"}, "workspaces": {"default_artifact_root"},
               "trace_tags": {"value"}}.get(table, set())
    values = dict(row)
    for column in columns:
        value = values.get(column)
        if isinstance(value, str) and (value == root or value.startswith(root + "/")):
            values[column] = s3_root + value[len(root):]
    if table == "experiments" and str(values["artifact_location"]).startswith(("/", "file:")):
        values["artifact_location"] = f"{s3_root}/{values['experiment_id']}"
    return tuple(values.items())


def test_migrate_moves_every_row_and_artifact_and_the_platform_runs_on_the_target(installation, pg, s3, monkeypatch,
                                                                                 run_cli, capsys):
    for key, value in s3.environment.items():
        monkeypatch.setenv(key, value)
    names = _names("heel")
    settings = _source_settings(installation, names, monkeypatch)
    state = installation["state"]
    before = _fingerprint(state)
    s3_root = f"s3://{BUCKET}/heel"

    result = run_cli("migrate", "--to", pg.server, "--artifacts", s3_root, "--s3-endpoint-url", s3.endpoint, "--json")
    report = json.loads(result.stdout)
    assert report["ok"] is True, report
    assert {t["table"] for t in report["tables"]} >= {"experiments", "runs", "metrics", "model_versions",
                                                       "registered_model_aliases", "users", "groups",
                                                       "user_group_map", "users_info", "proeftuin_organisations",
                                                       "feedback", "ideas", "idea_support"}
    assert all(t["same"] for t in report["tables"])
    assert report["storage"]["storage"]["postgresql"] == pg.server
    assert report["storage"]["storage"]["s3"] == s3_root
    assert pg.password not in result.stdout and pg.password not in result.stderr
    assert "runs: 1 rij (1 adressen naar S3)" in result.stderr  # progress per table
    assert _fingerprint(state) == before, "the source changed"

    # every table, every row (MLflow's artifact locations as promised)
    root = settings.artifact_root
    for part in storage.PARTS:
        source = _rows(f"sqlite:///{storage.sqlite_path(settings, part)}")
        target = _rows(pg.url(storage.database_name(settings, part)))
        if part in ("feedback", "ideas"):
            target = {name: target[name] for name in source}
        else:
            assert set(target) == set(source), part
        for name, rows in source.items():
            expected = sorted((_rewritten(name, r, root, s3_root) for r in rows), key=repr) if part == "mlflow" \
                else rows
            assert target[name] == expected, f"{part}.{name}"
    # every artifact, byte for byte, and nothing else
    artifacts = settings.mlflow_dir / "artifacts"
    files = {f"heel/{p.relative_to(artifacts).as_posix()}": p.read_bytes() for p in artifacts.rglob("*") if p.is_file()}
    assert s3.objects(BUCKET) == files and files

    # the administrator puts the printed section in proeftuin.yaml: everything works from PostgreSQL and S3
    section = report["storage"]["storage"]
    config = _config(installation["folder"] / "na-de-verhuizing", installation["folder"] / "new-state",
                     installation["secret"], section["databases"], postgresql=section["postgresql"], s3=section["s3"],
                     s3_endpoint_url=section["s3_endpoint_url"])
    monkeypatch.setenv("PROEFTUIN_HOME", str(installation["folder"] / "new-state"))
    monkeypatch.setenv("PROEFTUIN_CONFIG", str(config))
    target = load_settings(config)
    assert target.backend_store_uri.startswith("postgresql")
    storage.apply_environment(target)

    from proeftuin import tracking

    client = tracking.connect(target)
    try:
        _use_the_target(client, target, installation, names, pg, s3_root)
    finally:  # no connection left open: the server's smart shutdown waits for them
        client._tracking_client.store.engine.dispose()
        client._get_registry_client().store.engine.dispose()
        storage._engine.cache_clear()
    assert _fingerprint(state) == before


def _use_the_target(client, target: Settings, installation, names: dict[str, str], pg, s3_root: str) -> None:
    from proeftuin.models import load_model

    champion = client.get_model_version_by_alias("vragenrouter", "champion")
    assert champion.run_id == installation["run"]["run_id"]
    assert client.get_run(champion.run_id).info.artifact_uri.startswith(f"{s3_root}/vragenrouter/")
    model = load_model("models:/vragenrouter@champion")
    routed = model.predict(pd.DataFrame({"text": ["Wanneer wordt mijn paspoort verlengd?"]}))
    assert {"label_1", "probability_1", "route"} <= set(routed.columns)
    # new rows get new ids (the sequences are past the copied ones)
    from proeftuin.ideas import IdeaStore

    ideas = IdeaStore(target, {o.slug for o in target.organisations})
    assert [i.supporters for i in ideas.list()] == [[], ["waregem"]]
    new = ideas.add(author="dirk", organisation="anzegem", question="Kan een chatbot het afvalrooster uitleggen?",
                    asked_by="het onthaal", service="onthaal", personal_data=False)
    assert new.id == 3
    ideas.engine.dispose()
    experiment = client.create_experiment("na-de-verhuizing")
    assert int(experiment) == 2
    # the hub's own code reads its database on the target
    from jupyterhub import orm

    import proeftuin.hub.auth  # noqa: F401

    session = orm.new_session_factory(target.postgresql_url(names["hub"]),
                                      connect_args={"password": pg.password})()
    user = session.query(orm.User).filter_by(name="an").one()
    assert [g.name for g in user.groups] == ["kortrijk"]
    session.close()
    session.get_bind().dispose()


def test_a_killed_migration_leaves_the_source_untouched_and_a_rerun_refuses(installation, pg, s3, monkeypatch):
    for key, value in s3.environment.items():
        monkeypatch.setenv(key, value)
    settings = _source_settings(installation, _names("gedood"), monkeypatch)
    before = _fingerprint(installation["state"])
    s3_root = f"s3://{BUCKET}/gedood"
    env = {**os.environ}
    process = subprocess.Popen([sys.executable, "-m", "proeftuin.cli", "migrate", "--to", pg.server, "--artifacts",
                                s3_root, "--s3-endpoint-url", s3.endpoint], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if "De hubdatabank" in line:  # MLflow's rows are in, the hub's are being copied
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert _fingerprint(installation["state"]) == before
    with pytest.raises(MigrationRefused) as refused:
        migrate(settings, pg.server, s3_root, s3.endpoint)
    assert "niet leeg" in str(refused.value) and "--replace" in str(refused.value)
    assert migrate(settings, pg.server, s3_root, s3.endpoint, replace=True).ok
    assert _fingerprint(installation["state"]) == before


def test_a_failure_halfway_leaves_the_source_untouched_names_where_and_a_rerun_needs_replace(
        installation, pg, s3, monkeypatch):
    for key, value in s3.environment.items():
        monkeypatch.setenv(key, value)
    settings = _source_settings(installation, _names("half"), monkeypatch)
    before = _fingerprint(installation["state"])
    s3_root = f"s3://{BUCKET}/half"

    def stop_after_params(part: str, table: str, rows: int) -> None:
        if (part, table) == ("mlflow", "params"):
            raise RuntimeError("schijf vol (proef)")

    with pytest.raises(MigrationFailed) as failed:
        migrate(settings, pg.server, s3_root, s3.endpoint, after_table=stop_after_params)
    message = str(failed.value)
    assert "de MLflow-databank (runs en modellen), tabel params" in message
    assert "schijf vol (proef)" in message and "niet gewijzigd" in message and "--replace" in message
    assert _fingerprint(installation["state"]) == before
    with pg.connect("half_mlflow") as db:  # the part's rows were one transaction: none of them stayed
        assert db.execute("SELECT count(*) FROM experiments").fetchone() == (0,)

    with pytest.raises(MigrationRefused) as refused:
        migrate(settings, pg.server, s3_root, s3.endpoint)
    assert "niet leeg" in str(refused.value) and "half_mlflow" in str(refused.value)
    assert "--replace" in str(refused.value)

    report = migrate(settings, pg.server, s3_root, s3.endpoint, replace=True)
    assert report.ok and report.artifacts > 0
    assert _fingerprint(installation["state"]) == before


def test_a_conflict_in_the_target_stops_with_the_table_named(installation, pg, s3, monkeypatch):
    """A target written behind the migration's back (here: between two tables, by the hook) makes the copy fail
    on a constraint; the message names the part and the table, and the source stays as it was."""
    for key, value in s3.environment.items():
        monkeypatch.setenv(key, value)
    settings = _source_settings(installation, _names("botsing"), monkeypatch)
    before = _fingerprint(installation["state"])

    def someone_writes(part: str, table: str, rows: int) -> None:
        if (part, table) == ("hub", "users"):
            with pg.connect("botsing_hub") as db:
                db.execute("INSERT INTO users_info (id, username, password) VALUES (1, 'indringer', 'x')")

    with pytest.raises(MigrationFailed) as failed:
        migrate(settings, pg.server, f"s3://{BUCKET}/botsing", s3.endpoint, after_table=someone_writes)
    assert "de hubdatabank (gebruikers, groepen), tabel users_info" in str(failed.value)
    assert "duplicate key" in str(failed.value)
    assert _fingerprint(installation["state"]) == before


@pytest.mark.parametrize("problem", ["unreachable", "wrong password", "password in the address"])
def test_bad_targets_are_refused_before_anything_is_written(problem, installation, pg, s3, monkeypatch, run_cli):
    for key, value in s3.environment.items():
        monkeypatch.setenv(key, value)
    tag = problem.replace(" ", "_")
    settings = _source_settings(installation, _names(tag), monkeypatch)
    server = pg.server
    if problem == "unreachable":
        from servers import free_port

        server = f"postgresql://proeftuin@127.0.0.1:{free_port()}"
    elif problem == "wrong password":
        wrong = installation["folder"] / "wrong-password"
        wrong.write_text("niet-het-wachtwoord")
        config = _config(installation["folder"] / f"{tag}-wrong", installation["state"],
                         wrong, _names(tag))
        monkeypatch.setenv("PROEFTUIN_CONFIG", str(config))
    else:
        server = f"postgresql://proeftuin:{pg.password}@127.0.0.1:{pg.port}"
    before = _fingerprint(installation["state"])
    result = run_cli("migrate", "--to", server, "--artifacts", f"s3://{BUCKET}/{tag}", "--s3-endpoint-url",
                     s3.endpoint, code=1)
    said = result.stderr
    expected = {"unreachable": "is niet bereikbaar", "wrong password": "het wachtwoord klopt niet",
                "password in the address": "zet geen wachtwoord in proeftuin.yaml"}[problem]
    assert expected in said and "→" in said, said
    assert pg.password not in said
    assert _fingerprint(installation["state"]) == before
    with pg.connect() as db:
        assert db.execute("SELECT count(*) FROM pg_database WHERE datname LIKE %s", (f"{tag}%",)).fetchone() == (0,)
    assert not [k for k in s3.objects(BUCKET) if k.startswith(f"{tag}/")]
    del settings


def test_a_missing_bucket_is_refused(installation, pg, s3, monkeypatch, run_cli):
    for key, value in s3.environment.items():
        monkeypatch.setenv(key, value)
    _source_settings(installation, _names("geenbucket"), monkeypatch)
    result = run_cli("migrate", "--to", pg.server, "--artifacts", "s3://bestaat-niet/x", "--s3-endpoint-url",
                     s3.endpoint, code=1)
    assert "De bucket bestaat-niet bestaat niet" in result.stderr
