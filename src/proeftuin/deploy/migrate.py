"""`proeftuin migrate`: move an embedded installation (SQLite files and the artifact folder in the state folder)
to the scaled backends (one PostgreSQL server, MLflow artifacts on S3-compatible storage).

The steps, each of which can stop the migration with a Dutch message:

1. Pre-flight, before anything is written: the platform is not running, the source is embedded and sound
   (every SQLite file copied byte for byte into a private snapshot, which passes `PRAGMA quick_check`, and
   at the schema revision this installation's MLflow and JupyterHub write), the server and the bucket are
   usable with the credentials (`storage.check`), and the target databases and the S3 prefix are empty.
   With `replace=True` a non-empty target is emptied instead.
2. Schema, made by the applications' own code so their migration history is right: MLflow's alembic
   (`mlflow.store.db.utils._initialize_tables`), JupyterHub's `orm.new_session_factory` (with
   NativeAuthenticator's `users_info` and the membership table registered on its `Base`), the platform's
   tables from `proeftuin.feedback.metadata` and `proeftuin.ideas.metadata`; any other table in a source is
   created from its reflection.
3. Rows, table by table in foreign-key order, one transaction per part; the source is only ever read (the
   snapshot, opened read-only). PostgreSQL sequences are set past the copied ids. MLflow's artifact URIs
   under the state folder are rewritten to the S3 root (`URI_COLUMNS`), and the artifact files uploaded.
4. Comparison: rows and checksums per table (the rewritten columns after applying the same rewrite to the
   source), bytes per artifact; then the `storage:` section for proeftuin.yaml.

The source is never written: a failure halfway leaves it as it was and names where it stopped; the target may
then be emptied and the migration rerun (`replace=True`, `--replace`).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import ValidationError

from proeftuin import storage
from proeftuin.deploy import inventory
from proeftuin.errors import ProeftuinError
from proeftuin.settings import Settings, StorageSettings

Progress = Callable[[str], None]
#: Called after each table is copied (part, table, rows copied), before the next one starts. An exception
#: raised in it stops the migration there as any failure would (the tests use it to stop halfway).
AfterTable = Callable[[str, str, int], None]

#: MLflow's columns holding an artifact location (MLflow 3.17's schema); a value under the state folder's
#: artifact root is rewritten to the S3 root.
URI_COLUMNS: dict[str, tuple[str, ...]] = {
    "experiments": ("artifact_location",),
    "runs": ("artifact_uri",),
    "model_versions": ("source", "storage_location"),
    "logged_models": ("artifact_location",),
    "workspaces": ("default_artifact_root",),
    "trace_tags": ("value",),  # mlflow.artifactLocation of a trace
}
#: Which database of `storage.databases` each part goes to.
DATABASE_OF = {"mlflow": "mlflow", "hub": "hub", "feedback": "platform", "ideas": "platform"}
BATCH = 2000


class MigrationRefused(ProeftuinError):
    """The pre-flight found a problem: nothing has been written anywhere."""


class MigrationFailed(ProeftuinError):
    """The migration stopped halfway: the source is untouched, the target may hold part of the copy."""

    exit_code = 2


@dataclass
class TableResult:
    part: str
    table: str
    rows: int
    rewritten: int = 0
    same: bool | None = None
    problem: str = ""


@dataclass
class MigrationReport:
    target: Settings
    tables: list[TableResult] = field(default_factory=list)
    artifacts: int = 0
    artifact_bytes: int = 0
    artifacts_same: bool | None = None
    artifact_problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.same for t in self.tables) and self.artifacts_same is not False

    def storage_section(self) -> str:
        """The `storage:` section for proeftuin.yaml (never a password)."""
        return storage_section(self.target)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "tables": [t.__dict__ for t in self.tables],
                "artifacts": {"files": self.artifacts, "bytes": self.artifact_bytes, "same": self.artifacts_same,
                              "problems": self.artifact_problems},
                "warnings": self.warnings, "skipped": self.skipped, "storage": yaml.safe_load(self.storage_section())}


def storage_section(target: Settings) -> str:
    s = target.storage
    section: dict[str, Any] = {"postgresql": s.postgresql, "databases": s.databases.model_dump()}
    if s.password_file is not None:
        section["password_file"] = str(s.password_file)
    elif s.password_env != StorageSettings.model_fields["password_env"].default:
        section["password_env"] = s.password_env
    section["s3"] = s.s3
    if s.s3_endpoint_url:
        section["s3_endpoint_url"] = s.s3_endpoint_url
    if s.s3_credentials_file is not None:
        section["s3_credentials_file"] = str(s.s3_credentials_file)
    secret = (f"het wachtwoord staat in {s.password_file}" if s.password_file is not None
              else f"het wachtwoord komt uit de variabele {s.password_env}")
    return (f"# {secret}; de S3-sleutels uit AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY of s3_credentials_file\n"
            + yaml.safe_dump({"storage": section}, sort_keys=False, allow_unicode=True))


# --- the rewrite ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rewrite:
    """From the embedded artifact root (file:///<state>/mlflow/artifacts, or that path) to the S3 root."""

    root_uri: str
    s3_root: str

    @property
    def root_path(self) -> str:
        return unquote(urlsplit(self.root_uri).path).rstrip("/")

    def relative(self, value: str) -> str | None:
        """The part after the artifact root, '' for the root itself; None when `value` is not under it."""
        for prefix, decode in ((self.root_uri.rstrip("/"), True), (self.root_path, False)):
            if value == prefix:
                return ""
            if value.startswith(prefix + "/"):
                rest = value[len(prefix) + 1:]
                return unquote(rest) if decode else rest
        return None

    def value(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        rest = self.relative(value)
        if rest is None:
            return value
        return f"{self.s3_root}/{rest}" if rest else self.s3_root

    def row(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """A source row as it is written to the target: URI columns rewritten. An experiment whose location is a
        local folder outside the state folder (MLflow's `Default` in ./mlruns) gets MLflow's own default under
        the S3 root, so new runs there land on S3 too."""
        columns = URI_COLUMNS.get(table)
        if not columns:
            return row
        changed = dict(row)
        for column in columns:
            if column in changed:
                changed[column] = self.value(changed[column])
        if table == "experiments" and _is_local(changed.get("artifact_location")):
            changed["artifact_location"] = f"{self.s3_root}/{changed['experiment_id']}"
        return changed


def _is_local(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith(("file:", "/")))


# --- the source -------------------------------------------------------------------------------------

@dataclass
class Source:
    part: str
    path: Path      # the file in the state folder (only ever read as bytes)
    copy: Path      # the private snapshot, opened read-only after recovery

    @property
    def url(self) -> str:
        return f"sqlite:///file:{self.copy}?mode=ro&uri=true"


def _source_file(settings: Settings, part: str) -> Path:
    if part == "mlflow":
        return Path(settings.backend_store_uri.removeprefix("sqlite:///"))
    return storage.sqlite_path(settings, part)  # type: ignore[arg-type]


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_size, found.st_mtime_ns


def _snapshot(part: str, path: Path, folder: Path) -> Source:
    """Copy the database file and its journal byte for byte (nothing opens the original), then let SQLite
    recover the copy and check it."""
    companions = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    before = [_stat(p) for p in companions]
    copy = folder / f"{part}.sqlite"
    for original, stat in zip(companions, before, strict=True):
        if stat is not None:
            shutil.copyfile(original, copy.with_name(copy.name + original.name[len(path.name):]))
    if [_stat(p) for p in companions] != before:
        raise MigrationRefused(f"{path} veranderde terwijl het gelezen werd: er schrijft nog iets in "
                               f"{storage.WHAT[part]}. Er is niets gewijzigd.",
                               "Stop het platform (Ctrl-C in het venster van `proeftuin up`, ook `proeftuin mlflow` "
                               "en `proeftuin gallery`) en probeer opnieuw.")
    try:
        db = sqlite3.connect(copy)
        try:
            verdict = [r[0] for r in db.execute("PRAGMA quick_check")]
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("PRAGMA journal_mode=DELETE")
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        verdict = [str(exc)]
    if verdict != ["ok"]:
        raise MigrationRefused(f"{path} ({storage.WHAT[part]}) is beschadigd: {'; '.join(verdict[:3])}. Er is "
                               "niets gewijzigd.",
                               "Herstel eerst een back-up van de statusmap, en verhuis dan.")
    return Source(part, path, copy)


def _revision(url: str) -> str | None:
    return storage.schema_revision(url)


def _mlflow_head() -> str:
    from alembic.script import ScriptDirectory
    from mlflow.store import db_migrations

    return ScriptDirectory(str(Path(db_migrations.__file__).parent)).get_heads()[0]


def _hub_head() -> str:
    import jupyterhub
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(jupyterhub.__file__).parent / "alembic")).get_heads()[0]


def _check_revision(source: Source) -> None:
    if source.part not in ("mlflow", "hub"):
        return
    found = _revision(source.url)
    head = _mlflow_head() if source.part == "mlflow" else _hub_head()
    if found == head:
        return
    url = f"sqlite:///{source.path}"
    fix = (f"Werk ze eerst bij met `mlflow db upgrade {url}`" if source.part == "mlflow" else
           f"Werk ze eerst bij met `jupyterhub upgrade-db --JupyterHub.db_url={url}`")
    raise MigrationRefused(f"{_upper(storage.WHAT[source.part])} ({source.path}) heeft schema {found or 'geen'}, "
                           f"deze installatie schrijft {head}. Er is niets gewijzigd.",
                           f"{fix} (na een back-up), of gebruik de versie waarmee ze gemaakt is; verhuis dan opnieuw.")


# --- the target -------------------------------------------------------------------------------------

def target_settings(settings: Settings, to_postgresql: str, to_s3: str, s3_endpoint_url: str | None) -> Settings:
    """The settings after the migration: the same file with storage.postgresql, .s3 and .s3_endpoint_url set."""
    values = {**settings.storage.model_dump(), "postgresql": to_postgresql, "s3": to_s3,
              "s3_endpoint_url": s3_endpoint_url or settings.storage.s3_endpoint_url}
    try:
        chosen = StorageSettings.model_validate(values, context={"root": settings.project_root})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise MigrationRefused(f"Het doel klopt niet: {problems}. Er is niets gewijzigd.",
                               "Bijvoorbeeld: proeftuin migrate --to postgresql://proeftuin@db.example:5432 "
                               "--artifacts s3://proeftuin/mlflow") from None
    if not chosen.postgresql or not chosen.s3:
        raise MigrationRefused("Geef zowel de databankserver (--to) als de artefactopslag (--artifacts). Er is niets "
                               "gewijzigd.", "Bijvoorbeeld: proeftuin migrate --to postgresql://proeftuin@db:5432 "
                               "--artifacts s3://proeftuin/mlflow")
    return settings.model_copy(update={"storage": chosen})


def _engine(target: Settings, database: str):
    import sqlalchemy as sa

    return sa.create_engine(target.postgresql_url(database), connect_args={"connect_timeout": 10},
                            poolclass=sa.pool.NullPool)


@contextmanager
def _pgpassword(secret: str | None) -> Iterator[None]:
    """libpq's PGPASSWORD for this process while migrating: MLflow's and JupyterHub's alembic open their own
    connections from the URL, which never carries the password."""
    if not secret:
        yield
        return
    old = os.environ.get("PGPASSWORD")
    os.environ["PGPASSWORD"] = secret
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PGPASSWORD", None)
        else:
            os.environ["PGPASSWORD"] = old


def _contents(engine) -> list[str]:
    import sqlalchemy as sa

    with engine.connect() as connection:
        return sorted(sa.inspect(connection).get_table_names())


def _empty_database(engine) -> None:
    """Drop every table, sequence and type of the public schema (--replace): what the account owns there."""
    import sqlalchemy as sa

    with engine.begin() as connection:
        for (name,) in connection.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")):
            connection.execute(sa.text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
        for (name,) in connection.execute(sa.text(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")):
            connection.execute(sa.text(f'DROP SEQUENCE IF EXISTS "{name}" CASCADE'))
        for (name,) in connection.execute(sa.text(
                "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')")):
            connection.execute(sa.text(f'DROP TYPE IF EXISTS "{name}" CASCADE'))


def _objects(client, bucket: str, prefix: str) -> Iterator[dict]:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""):
        yield from page.get("Contents", [])


# --- schema -----------------------------------------------------------------------------------------

def _make_schema(part: str, engine) -> None:
    """The part's tables, made by the application that owns them."""
    if part == "mlflow":
        from mlflow.store.db.utils import _initialize_tables

        _initialize_tables(engine)
    elif part == "hub":
        import nativeauthenticator.orm  # noqa: F401 (registers users_info on JupyterHub's Base)
        from jupyterhub import orm

        import proeftuin.hub.auth  # noqa: F401 (registers the membership table on JupyterHub's Base)

        factory = orm.new_session_factory(engine.url.render_as_string(hide_password=False),
                                          connect_args={"connect_timeout": 10})
        factory.kw["bind"].dispose()
    else:
        import importlib

        metadata = getattr(importlib.import_module(f"proeftuin.{part}"), "metadata", None)
        if metadata is not None:
            metadata.create_all(engine, checkfirst=True)


def _create_missing(source_tables, engine) -> list[str]:
    """Tables of the source that the application's code did not make (a plug-in's): from their reflection."""
    import sqlalchemy as sa

    existing = set(_contents(engine))
    metadata = sa.MetaData()
    made = []
    for table in source_tables:
        if table.name in existing:
            continue
        copy = table.to_metadata(metadata)
        for column in copy.columns:
            try:
                column.type = column.type.as_generic()
            except NotImplementedError:
                pass
        made.append(table.name)
    metadata.create_all(engine)
    return made


# --- rows -------------------------------------------------------------------------------------------

def _converter(column) -> Callable[[Any], Any] | None:
    """A value from SQLite made fit for the PostgreSQL column (SQLite keeps booleans as 0/1 and times as text)."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return None
    if kind is bool:
        return lambda v: v if v is None or isinstance(v, bool) else bool(v)
    if kind is datetime:
        return lambda v: datetime.fromisoformat(v) if isinstance(v, str) else v
    return None


def _sorted(metadata, names: set[str]) -> list:
    import warnings

    import sqlalchemy as sa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)  # a cycle: sorted as well as possible
        return [t for t in metadata.sorted_tables if t.name in names]


def _copy_table(source_connection, target_connection, source_table, target_table, rewrite: Rewrite | None,
                ) -> tuple[int, int]:
    import sqlalchemy as sa

    missing = [c.name for c in source_table.columns if c.name not in target_table.columns]
    if missing:
        raise ProeftuinError(f"de kolom(men) {', '.join(missing)} bestaan niet in het doel")
    converters = {c.name: f for c in target_table.columns if (f := _converter(c)) is not None}
    order = list(source_table.primary_key.columns) or list(source_table.columns)
    result = source_connection.execution_options(yield_per=BATCH).execute(sa.select(source_table).order_by(*order))
    copied = rewritten = 0
    for chunk in result.mappings().partitions(BATCH):
        rows = []
        for mapping in chunk:
            row = dict(mapping)
            if rewrite is not None:
                new = rewrite.row(source_table.name, row)
                rewritten += new != row
                row = new
            for name, convert in converters.items():
                if name in row:
                    row[name] = convert(row[name])
            rows.append(row)
        target_connection.execute(target_table.insert(), rows)
        copied += len(rows)
    return copied, rewritten


def _set_sequences(connection, tables) -> None:
    """Every serial/identity column's sequence just past the largest copied id."""
    import sqlalchemy as sa

    for table in tables:
        for column in table.columns:
            sequence = connection.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                          {"t": f'"{table.name}"', "c": column.name}).scalar()
            if sequence:
                connection.execute(sa.text(
                    f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false)'),  # noqa: S608 (reflected names)
                    {"s": sequence})


# --- artifacts --------------------------------------------------------------------------------------

def _key(prefix: str, relative: str) -> str:
    return f"{prefix}/{relative}" if prefix else relative


# --- the migration ----------------------------------------------------------------------------------

@dataclass
class _Where:
    part: str = ""
    table: str = ""

    def describe(self) -> str:
        if not self.part:
            return "bij het begin"
        what = storage.WHAT.get(self.part, self.part)  # type: ignore[call-overload]
        return f"bij {what}, tabel {self.table}" if self.table else f"bij {what}"


def migrate(settings: Settings, to_postgresql: str, to_s3: str, s3_endpoint_url: str | None = None,
            progress: Progress = lambda _message: None, *, replace: bool = False,
            after_table: AfterTable | None = None) -> MigrationReport:
    """Move the embedded installation of `settings` to PostgreSQL (`to_postgresql`, postgresql://USER@HOST:PORT,
    the password from storage.password_file or storage.password_env) and S3 (`to_s3`, s3://BUCKET/PREFIX).

    Raises `MigrationRefused` (nothing written) or `MigrationFailed` (stopped halfway; the source untouched);
    returns the report (check `.ok`: every table and artifact the same on both sides)."""
    target = target_settings(settings, to_postgresql, to_s3, s3_endpoint_url)
    _check_embedded(settings)
    _check_not_running(settings)
    snapshot = Path(tempfile.mkdtemp(prefix="proeftuin-migrate-"))
    try:
        secret = storage.password(target)
        with _pgpassword(secret):
            return _migrate(settings, target, snapshot, progress, replace, after_table)
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)


def _check_embedded(settings: Settings) -> None:
    if settings.storage.postgresql or not settings.backend_store_uri.startswith("sqlite:///"):
        raise MigrationRefused("Deze installatie gebruikt al een databankserver (storage.postgresql of "
                               "mlflow.backend_store_uri in proeftuin.yaml): er is geen ingebouwde installatie om te "
                               "verhuizen. Er is niets gewijzigd.",
                               "Maak storage.postgresql en mlflow.backend_store_uri leeg om vanaf de SQLite-bestanden "
                               "in de statusmap te verhuizen.")
    if settings.remote_artifact_root:
        raise MigrationRefused(f"De artefacten staan al buiten de statusmap ({settings.remote_artifact_root}). Er is "
                               "niets gewijzigd.",
                               "Maak mlflow.artifact_root en storage.s3 leeg in proeftuin.yaml om vanaf de statusmap "
                               "te verhuizen.")


def _check_not_running(settings: Settings) -> None:
    from proeftuin.process import UpRecord, leftovers

    up, others = leftovers(UpRecord(settings.state_dir / "hub" / "up.json"), settings.state_dir)
    running = up or (others[0] if others else None)
    if running is not None:
        raise MigrationRefused(f"Het platform draait nog op deze statusmap (proces {running.pid}). Er is niets "
                               "gewijzigd.",
                               "Stop het eerst (Ctrl-C in het venster van `proeftuin up`) en verhuis dan: tijdens de "
                               "verhuizing mag niemand iets schrijven.")


def _migrate(settings: Settings, target: Settings, snapshot: Path, progress: Progress, replace: bool,
             after_table: AfterTable | None) -> MigrationReport:
    import sqlalchemy as sa

    report = MigrationReport(target)
    # 1. pre-flight: nothing is written before all of it passed
    sources: dict[str, Source] = {}
    for part in storage.PARTS:
        path = _source_file(settings, part)
        if not path.is_file():
            report.skipped.append(part)
            continue
        sources[part] = _snapshot(part, path, snapshot)
        _check_revision(sources[part])
        progress(f"Bron in orde: {storage.WHAT[part]} ({path})")
    artifact_root = Path(unquote(urlsplit(settings.artifact_root).path))
    expected_files = inventory.folder_inventory(artifact_root)  # what `_upload` sends and `_compare` expects
    files = sorted(expected_files["files"])
    if not sources and not files:
        raise MigrationRefused(f"Er is niets om te verhuizen: geen databanken of artefacten in {settings.state_dir}.",
                               "Controleer state_dir in proeftuin.yaml of PROEFTUIN_HOME.")
    needed = tuple(p for p in storage.PARTS if p in sources)
    for line in storage.check(target, needed or ("mlflow",)):
        progress(line)
    databases = {part: storage.database_name(target, part) for part in sources}  # type: ignore[arg-type]
    engines = {name: _engine(target, name) for name in dict.fromkeys(databases.values())}
    client = storage.s3_client(target)
    bucket, prefix = storage.bucket_and_prefix(target.storage.s3 or "")
    filled = {name: found for name, engine in engines.items() if (found := _contents(engine))}
    has_objects = next(iter(_objects(client, bucket, prefix)), None) is not None
    if (filled or has_objects) and not replace:
        what = [f"databank {name} ({len(tables)} tabellen)" for name, tables in filled.items()]
        what += [f"{target.storage.s3} (bevat al bestanden)"] if has_objects else []
        raise MigrationRefused(f"Het doel is niet leeg: {', '.join(what)}. Misschien stopte een eerdere verhuizing "
                               "halverwege. Er is niets gewijzigd.",
                               "Start opnieuw met --replace: dat maakt deze databanken en die S3-map eerst leeg (alles "
                               "wat erin staat gaat verloren). Of kies lege databanken (storage.databases) en een "
                               "andere S3-map.")
    where = _Where()
    rewrite = Rewrite(settings.artifact_root, target.storage.s3 or "")
    try:
        if replace:
            for name in filled:
                progress(f"Databank {name} leegmaken (--replace)")
                _empty_database(engines[name])
            if has_objects:
                progress(f"{target.storage.s3} leegmaken (--replace)")
                _delete_objects(client, bucket, prefix)
        # 2 and 3. schema and rows, part by part
        for part, source in sources.items():
            where.part, where.table = part, ""
            engine = engines[databases[part]]
            progress(f"{_upper(storage.WHAT[part])} → databank {databases[part]}")
            _make_schema(part, engine)
            source_engine = sa.create_engine(source.url, poolclass=sa.pool.NullPool)
            try:
                source_meta = sa.MetaData()
                source_meta.reflect(source_engine)
                tables = {t.name: t for t in source_meta.tables.values() if t.name != "alembic_version"}
                for made in _create_missing(tables.values(), engine):
                    progress(f"  tabel {made} aangemaakt naar het model van de bron")
                target_meta = sa.MetaData()
                target_meta.reflect(engine, only=list(tables))
                ordered = _sorted(target_meta, set(tables))
                with source_engine.connect() as reader, engine.begin() as writer:
                    for table in reversed(ordered):  # rows the application's own code seeded (MLflow's workspace)
                        writer.execute(table.delete())
                    for table in ordered:
                        where.table = table.name
                        rows, changed = _copy_table(reader, writer, tables[table.name], table,
                                                    rewrite if part == "mlflow" else None)
                        report.tables.append(TableResult(part, table.name, rows, changed))
                        if rows:
                            note = f" ({changed} adressen naar S3)" if changed else ""
                            progress(f"  {table.name}: {rows} {'rij' if rows == 1 else 'rijen'}{note}")
                        if after_table is not None:
                            after_table(part, table.name, rows)
                    where.table = "(volgnummers)"
                    _set_sequences(writer, ordered)
                empty = sum(1 for t in report.tables if t.part == part and not t.rows)
                if empty:
                    progress(f"  en {empty} lege tabellen")
            finally:
                source_engine.dispose()
        # artifacts
        where.part, where.table = "artifacts", ""
        if files:
            progress(f"Artefacten: {len(files)} bestanden naar {target.storage.s3}")
        report.artifacts, report.artifact_bytes = _upload(client, bucket, prefix, artifact_root, files, progress)
        report.warnings += _outside_root(sources.get("mlflow"), rewrite)
        # 4. comparison
        where.part, where.table = "compare", ""
        _compare(report, sources, engines, databases, rewrite, client, bucket, prefix, expected_files, progress)
    except (Exception, KeyboardInterrupt) as exc:
        reason = exc.message if isinstance(exc, ProeftuinError) else _reason(exc)
        place = {"artifacts": "bij het opladen van de artefacten", "compare": "bij de vergelijking"}.get(
            where.part, where.describe())
        raise MigrationFailed(
            f"De verhuizing stopte {place}: {reason}. De bron in {settings.state_dir} is niet gewijzigd; het doel "
            "bevat mogelijk een deel van de gegevens.",
            "Los de oorzaak op en start de verhuizing opnieuw met --replace (dat maakt het doel eerst leeg).") from exc
    finally:
        for engine in engines.values():
            engine.dispose()
    return report


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "onderbroken (Ctrl-C)"
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _delete_objects(client, bucket: str, prefix: str) -> None:
    keys = [{"Key": o["Key"]} for o in _objects(client, bucket, prefix)]
    for start in range(0, len(keys), 1000):
        client.delete_objects(Bucket=bucket, Delete={"Objects": keys[start:start + 1000], "Quiet": True})


def _upload(client, bucket: str, prefix: str, root: Path, files: list[str], progress: Progress) -> tuple[int, int]:
    """Each file (relative to `root`, with /) to s3://bucket/prefix/<the same path>, eight at a time."""
    def one(relative: str) -> int:
        path = root / relative
        client.upload_file(str(path), bucket, _key(prefix, relative))
        return path.stat().st_size

    done = size = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        for uploaded in pool.map(one, files):
            done += 1
            size += uploaded
            if done % 500 == 0:
                progress(f"  {done} van {len(files)} bestanden")
    return done, size


def _outside_root(source: Source | None, rewrite: Rewrite) -> list[str]:
    """Runs and models whose artifacts are on this machine outside the state folder: not moved, said so."""
    if source is None:
        return []
    import sqlalchemy as sa

    engine = sa.create_engine(source.url, poolclass=sa.pool.NullPool)
    found: list[str] = []
    try:
        with engine.connect() as connection:
            for table, column, what in (("runs", "artifact_uri", "run"), ("logged_models", "artifact_location",
                                                                         "gelogd model")):
                if not sa.inspect(connection).has_table(table):
                    continue
                values = [v for (v,) in connection.execute(sa.text(f'SELECT "{column}" FROM "{table}"'))]  # noqa: S608
                outside = [v for v in values if _is_local(v) and rewrite.relative(v) is None]
                if outside:
                    found.append(f"{len(outside)} {what}(s) met artefacten buiten de statusmap (bv. {outside[0]}): "
                                 "die bestanden zijn niet verhuisd.")
    finally:
        engine.dispose()
    return found


# --- comparison -------------------------------------------------------------------------------------

def _compare(report: MigrationReport, sources: dict[str, Source], engines, databases, rewrite: Rewrite,
             client, bucket: str, prefix: str, expected_files: inventory.ArtifactInventory, progress: Progress) -> None:
    """Rows and checksums per table (`inventory`, normalised so SQLite and PostgreSQL agree; MLflow's source rows
    after the same rewrite as the copy), then every artifact's size and sha256 as read back from S3."""
    import sqlalchemy as sa

    progress("Vergelijken: rijen en controlegetal per tabel, sha256 per artefact")
    by_part: dict[str, list[TableResult]] = {}
    for result in report.tables:
        by_part.setdefault(result.part, []).append(result)
    for part, results in by_part.items():
        names = [r.table for r in results]
        actual = inventory.database_inventory(engines[databases[part]], tables=names)
        plain = [n for n in names if part != "mlflow" or n not in URI_COLUMNS]
        source_engine = sa.create_engine(sources[part].url, poolclass=sa.pool.NullPool)
        try:
            expected = inventory.database_inventory(source_engine, tables=plain)
            with source_engine.connect() as connection:
                for name in set(names) - set(plain):
                    table = sa.Table(name, sa.MetaData(), autoload_with=connection)
                    rows = (rewrite.row(name, dict(r._mapping)) for r in connection.execute(sa.select(table)))
                    expected[name] = inventory.table_summary(rows)
        finally:
            source_engine.dispose()
        for result in results:
            lines = inventory.compare_databases({result.table: expected[result.table]},
                                                {result.table: actual[result.table]}, storage.WHAT[part])
            result.same = not lines
            result.problem = " ".join(lines)
    found = inventory.s3_inventory(client, bucket, prefix)
    report.artifact_problems = inventory.compare_artifacts(expected_files, found)
    report.artifacts_same = not report.artifact_problems
