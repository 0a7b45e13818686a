"""`proeftuin backup` and `proeftuin restore`: one archive of everything the platform keeps, taken while it runs.

The archive is one gzip'd tar, mode 0600 (it holds the hub's secrets and password hashes), written through a
temporary file beside the output and renamed into place, so a failure leaves no half archive. Members:

    databases/<key>.sqlite     a SQLite database, copied with sqlite3's online backup API (one read snapshot)
    databases/<key>.pgdump     a PostgreSQL database, `pg_dump --format=custom` on an exported snapshot
    artifacts/<path>           every MLflow artifact (the state folder's artifacts folder, or s3://bucket/prefix)
    secrets/hub/<name>         the hub's secrets (cookie secret, admin password)
    files/kennisbank/<path>    the document indexes of `proeftuin kennisbank`
    manifest.json              last: versions, schema revisions, per database the table inventory, per member
                               its size and sha256 (see proeftuin.deploy.inventory)

Consistency: each database is read in one snapshot (SQLite's backup step holds one read transaction;
PostgreSQL's inventory runs in the REPEATABLE READ transaction whose snapshot pg_dump uses, so the recorded
checksums are those of the dump). Databases are copied before artifacts: MLflow writes a run's files before the
rows that point at them, so every artifact the copied rows name is in the archive. A local file that changes
while it is read is read again.

`restore` checks the whole archive before it changes anything (manifest, every member's sha256, format and
schema revisions, the configured backends reachable, the target empty unless `force`), stages every file beside
the state folder, restores the databases (SQLite files, or pg_restore into empty databases), compares their
inventories with the manifest, points MLflow's artifact locations at this installation's artifact root, fills the
artifact store and moves the staged files into place.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from proeftuin import storage, wording
from proeftuin.deploy import inventory
from proeftuin.errors import ProeftuinError
from proeftuin.files import swap_folder
from proeftuin.process import UpRecord, leftovers
from proeftuin.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
Progress = Callable[[str], None]

#: Files in <state>/hub that are not kept: the database (copied as a database), runtime files and logs.
HUB_SKIPPED_SUFFIXES = (".pid", ".sock", ".log", "-wal", "-shm", "-journal", ".tmp")
HUB_SKIPPED_NAMES = {"jupyterhub.sqlite", "up.json"}
#: Tables named in summaries, with their Dutch words.
HIGHLIGHTS = {"experiments": "experimenten", "runs": "runs", "registered_models": "modellen",
              "model_versions": "modelversies", "registered_model_aliases": "aliassen", "users": "gebruikers",
              "groups": "groepen", "feedback": "reacties", "ideas": "ideeën"}


class BackupError(ProeftuinError):
    """A backup or restore that cannot go on; nothing has been changed when it is raised before the restore
    begins writing (every check comes first)."""


def _quiet(_message: str) -> None:
    pass


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- what the installation holds ------------------------------------------------------------------

@dataclass
class Database:
    """One database of the installation: a SQLite file, or a database on a PostgreSQL server."""

    key: str
    parts: tuple[str, ...]
    kind: str  # "sqlite" | "postgresql"
    url: str  # SQLAlchemy URL, no password
    path: Path | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def member(self) -> str:
        return f"databases/{self.key}.{'sqlite' if self.kind == 'sqlite' else 'pgdump'}"

    @property
    def what(self) -> str:
        return inventory.DATABASE_WORDS.get(self.key, f"de databank {self.key}")

    @property
    def What(self) -> str:  # noqa: N802 (the same words at the start of a sentence)
        return _upper(self.what)

    def libpq(self) -> dict[str, str]:
        from sqlalchemy.engine import make_url

        url = make_url(self.url)
        return {"host": url.host or "127.0.0.1", "port": str(url.port or 5432), "user": url.username or "",
                "dbname": url.database or ""}


def databases(settings: Settings) -> list[Database]:
    """The installation's databases, those that share a PostgreSQL database (feedback and ideas) as one."""
    from sqlalchemy.engine import make_url

    found: dict[tuple, Database] = {}
    for part in storage.PARTS:
        url = storage.database_url(settings, part)
        if url.startswith(("http://", "https://")):
            raise BackupError(f"MLflow draait op een andere server ({url}): die databank kan Proeftuin niet bewaren.",
                              "Maak de back-up op die server, of zet mlflow.backend_store_uri op de databank zelf.")
        parsed = make_url(url)
        if parsed.drivername.startswith("sqlite"):
            path = Path(parsed.database or "")
            found[("sqlite", str(path))] = Database(part, (part,), "sqlite", url, path=path)
        elif parsed.drivername.startswith("postgresql"):
            secret = parsed.password or storage.password(settings)
            clean = parsed.set(password=None).render_as_string(hide_password=False)
            where = ("postgresql", parsed.host, parsed.port, parsed.database)
            if where in found:
                found[where].parts += (part,)
            else:
                found[where] = Database(part, (part,), "postgresql", clean, password=secret)
        else:
            raise BackupError(f"{_upper(storage.WHAT[part])} staat in een databank die Proeftuin niet kan "
                              f"bewaren ({parsed.drivername}).", "Gebruik SQLite of PostgreSQL (storage.postgresql).")
    result = list(found.values())
    for db in result:
        if len(db.parts) > 1:
            db.key = "platform" if set(db.parts) == {"feedback", "ideas"} else "+".join(db.parts)
    return result


def artifact_store(settings: Settings) -> str:
    """Where MLflow's artifacts are: a local folder (path) or s3://bucket/prefix."""
    root = settings.artifact_root
    folder = inventory.local_folder(root)
    if folder is not None:
        return str(folder)
    if root.startswith("s3://"):
        return root.rstrip("/")
    raise BackupError(f"De artefacten staan op {root}: Proeftuin kan alleen een map of S3-opslag bewaren.",
                      "Maak de back-up van die opslag met haar eigen middelen, of gebruik storage.s3.")


def secret_files(settings: Settings) -> dict[str, Path]:
    """Member name -> file: the hub's secrets and other kept files in <state>/hub, and the kennisbank indexes."""
    state = settings.state_dir
    found: dict[str, Path] = {}
    hub = state / "hub"
    if hub.is_dir():
        for path in sorted(hub.iterdir()):
            if (path.is_file() and not path.is_symlink() and path.name not in HUB_SKIPPED_NAMES
                    and not path.name.endswith(HUB_SKIPPED_SUFFIXES) and not path.name.startswith(".")):
                found[f"secrets/hub/{path.name}"] = path
    kennisbank = state / "kennisbank"
    if kennisbank.is_dir():
        for path in sorted(kennisbank.rglob("*")):
            if path.is_file() and not path.is_symlink():
                found[f"files/{path.relative_to(state).as_posix()}"] = path
    return found


def member_target(settings: Settings, member: str) -> Path:
    """Where a secrets/ or files/ member goes in the state folder."""
    rel = member.split("/", 1)[1]
    return settings.state_dir / rel


# --- versions and schema revisions ---------------------------------------------------------------

def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "onbekend"


def _scripts(kind: str):
    from alembic.script import ScriptDirectory

    if kind == "mlflow":
        from mlflow.store import db_migrations as package
    else:
        import jupyterhub as package
    folder = Path(package.__file__).parent
    return ScriptDirectory(str(folder if kind == "mlflow" else folder / "alembic"))


def schema_head(kind: str) -> str:
    """The schema revision this installation's MLflow (or JupyterHub) creates and expects."""
    return _scripts(kind).get_current_head()


def _revision(connection) -> str | None:
    import sqlalchemy as sa

    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def versions() -> dict[str, str]:
    import platform

    return {"proeftuin": _version("proeftuin"), "mlflow": _version("mlflow"), "jupyterhub": _version("jupyterhub"),
            "python": platform.python_version()}


# --- writing the archive ----------------------------------------------------------------------------

class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it."""

    def __init__(self, source) -> None:
        self.source, self.digest, self.size = source, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        block = self.source.read(size)
        self.digest.update(block)
        self.size += len(block)
        return block


class _Writer:
    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.members: dict[str, inventory.FileEntry] = {}

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(time.time())
        return info

    def add_stream(self, name: str, source, size: int) -> inventory.FileEntry:
        hashing = _Hashing(source)
        self.tar.addfile(self._info(name, size), hashing)
        if hashing.size != size:
            raise OSError(f"{name}: {hashing.size} bytes read, {size} expected")
        entry: inventory.FileEntry = {"size": size, "sha256": hashing.digest.hexdigest()}
        self.members[name] = entry
        return entry

    def add_bytes(self, name: str, data: bytes) -> inventory.FileEntry:
        return self.add_stream(name, io.BytesIO(data), len(data))

    def add_file(self, name: str, path: Path) -> inventory.FileEntry | None:
        """A local file, read again when it changes while it is read; None when it disappeared."""
        with tempfile.SpooledTemporaryFile(max_size=16 << 20) as spool:
            for _attempt in range(10):
                try:
                    before = path.stat()
                    spool.seek(0)
                    spool.truncate()
                    with path.open("rb") as handle:
                        shutil.copyfileobj(handle, spool, 1 << 20)
                    after = path.stat()
                except FileNotFoundError:
                    return None
                if (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns) == (
                        spool.tell(), after.st_mtime_ns):
                    size = spool.tell()
                    spool.seek(0)
                    return self.add_stream(name, spool, size)
                time.sleep(0.2)
        raise BackupError(f"{path} verandert voortdurend terwijl de back-up het leest.",
                          "Probeer opnieuw wanneer er geen grote run bezig is.")


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return found[-1]
    if path := shutil.which(name):
        return path
    raise BackupError(f"{name} ontbreekt op deze machine; het is nodig voor de PostgreSQL-databanken.",
                      "Installeer de PostgreSQL-clientprogramma's (apt-get install postgresql-client), even nieuw als "
                      "de server.")


def _pg_env(db: Database) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if db.password:
        env["PGPASSWORD"] = db.password
    elif os.environ.get("PGPASSWORD"):
        env["PGPASSWORD"] = os.environ["PGPASSWORD"]
    return env


def _pg_problem(db: Database, exc: BaseException) -> BackupError:
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    where = f"{db.libpq()['host']}:{db.libpq()['port']}"
    return BackupError(f"{db.What} (PostgreSQL {where}, databank {db.libpq()['dbname']}) is niet "
                       f"bruikbaar: {first}. Er is niets gewijzigd.",
                       "Controleer of de databankserver draait, storage.postgresql in proeftuin.yaml en het wachtwoord "
                       "(storage.password_file of storage.password_env).")


def _engine(db: Database):
    import sqlalchemy as sa

    args = {"connect_timeout": 10, **({"password": db.password} if db.password else {})}
    return sa.create_engine(db.url, connect_args=args, poolclass=sa.pool.NullPool)


def _copy_sqlite(db: Database, target: Path) -> tuple[inventory.DatabaseInventory, str | None]:
    """sqlite3's online backup in one step (one read snapshot, also of a WAL database), checked."""
    assert db.path is not None
    try:
        source = sqlite3.connect(f"file:{db.path}?mode=ro", uri=True, timeout=60)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            ok = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
            source.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{db.What} ({db.path}) kan niet gelezen worden: {exc}. Er is geen back-up "
                          "gemaakt.", f"Controleer het bestand (sqlite3 {db.path} 'PRAGMA quick_check').") from exc
    if ok != "ok":
        raise BackupError(f"{db.What} ({db.path}) is beschadigd ({ok}). Er is geen back-up gemaakt.",
                          "Herstel een eerdere back-up met `proeftuin restore`.")
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{target}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return inventory.database_inventory(connection), _revision(connection)
    finally:
        engine.dispose()


def _dump_postgresql(db: Database, target: Path) -> tuple[inventory.DatabaseInventory, str | None]:
    """pg_dump of the database on a snapshot exported by the transaction that takes the inventory."""
    import sqlalchemy as sa

    engine = _engine(db)
    try:
        with engine.connect() as plain:
            connection = plain.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with connection.begin():
                snapshot = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar()
                libpq = db.libpq()
                done = subprocess.run(  # noqa: S603 (fixed program, arguments from the settings)
                    [_pg_bin("pg_dump"), "--format=custom", f"--snapshot={snapshot}", "--no-password",
                     f"--file={target}", f"--host={libpq['host']}", f"--port={libpq['port']}",
                     f"--username={libpq['user']}", libpq["dbname"]],
                    env=_pg_env(db), capture_output=True, text=True, timeout=6 * 3600)
                if done.returncode != 0:
                    raise BackupError(f"pg_dump kon {db.what} niet bewaren: "
                                      f"{(done.stderr.strip().splitlines() or ['onbekende fout'])[-1]}. Er is geen "
                                      "back-up gemaakt.", "Controleer de rechten van de databankgebruiker en of "
                                      "pg_dump even nieuw is als de server.")
                return inventory.database_inventory(connection), _revision(connection)
    except sa.exc.SQLAlchemyError as exc:
        raise _pg_problem(db, exc) from exc
    finally:
        engine.dispose()


def _s3(settings: Settings):
    storage.apply_environment(settings)
    return storage.s3_client(settings)


def backup(settings: Settings, output: Path, progress: Progress = _quiet) -> dict[str, Any]:
    """Write the archive `output` (atomically, mode 0600) while the platform may run; returns the summary
    (`summary()` of the manifest plus the archive's path and size)."""
    output = Path(output).expanduser().absolute()
    if output.is_dir():
        raise BackupError(f"{output} is een map.", "Geef een bestandsnaam, bv. --output proeftuin-backup.tar.gz.")
    if not output.parent.is_dir():
        raise BackupError(f"De map {output.parent} bestaat niet.", "Maak ze eerst, of kies een andere --output.")
    store = artifact_store(settings)
    local_artifacts = inventory.local_folder(store)
    if local_artifacts is not None and output.is_relative_to(local_artifacts.absolute()):
        raise BackupError("Het archief mag niet in de map met artefacten staan.", "Kies een --output buiten "
                          f"{local_artifacts}.")
    dbs = databases(settings)
    if any(db.kind == "postgresql" for db in dbs) or store.startswith("s3://"):
        progress("Opslag controleren…")
        storage.apply_environment(settings)
        storage.check(settings, tuple(p for p in storage.PARTS if p != "mlflow"))
    present = [db for db in dbs if db.kind == "postgresql" or (db.path is not None and db.path.is_file())]
    secrets = secret_files(settings)
    if not present and not secrets and (local_artifacts is None or not local_artifacts.is_dir()):
        raise BackupError(f"Er is niets om te bewaren: de statusmap {settings.state_dir} heeft nog geen databanken, "
                          "artefacten of geheimen.", "Controleer PROEFTUIN_HOME of state_dir in proeftuin.yaml.")
    manifest: dict[str, Any] = {
        "format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "versions": versions(),
        "schema": {}, "source": {"state_dir": str(settings.state_dir), "artifact_root": settings.artifact_root,
                                 "artifact_store": "s3" if store.startswith("s3://") else "folder",
                                 "databases": "postgresql" if any(d.kind == "postgresql" for d in dbs) else "sqlite"},
        "databases": {}, "artifacts": {}, "members": {},
    }
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)  # 0600
    tmp = Path(tmp_name)
    staging = Path(tempfile.mkdtemp(prefix=".proeftuin-backup-", dir=output.parent))  # 0700: dumps hold secrets
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6, format=tarfile.PAX_FORMAT) as tar:
                _write_archive(settings, store, present, secrets, manifest, staging, tar, progress)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(f"Back-up geschreven: {output}")
    return {"archive": str(output), "bytes": output.stat().st_size, **summary(manifest)}


def _write_archive(settings: Settings, store: str, present: list[Database], secrets: dict[str, Path],
                   manifest: dict[str, Any], staging: Path, tar: tarfile.TarFile, progress: Progress) -> None:
    writer = _Writer(tar)
    for db in present:  # databases first: every artifact their rows name is then in the archive
        progress(f"{db.What} kopiëren…")
        copy = staging / Path(db.member).name
        tables, revision = (_copy_sqlite if db.kind == "sqlite" else _dump_postgresql)(db, copy)
        with copy.open("rb") as handle:
            writer.add_stream(db.member, handle, copy.stat().st_size)
        copy.unlink()
        manifest["databases"][db.key] = {"parts": list(db.parts), "format": db.kind, "member": db.member,
                                         "revision": revision, "tables": tables}
        for kind in ("mlflow", "hub"):
            if kind in db.parts:
                manifest["schema"][kind] = revision
    progress("Artefacten kopiëren…")
    files = _backup_artifacts(settings, store, writer, progress)
    manifest["artifacts"] = {"store": manifest["source"]["artifact_store"], **inventory.summarise_files(files)}
    for name, path in secrets.items():
        writer.add_file(name, path)
    manifest["members"] = writer.members
    writer.add_bytes(MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8"))


def _backup_artifacts(settings: Settings, store: str, writer: _Writer, progress: Progress,
                      ) -> dict[str, inventory.FileEntry]:
    files: dict[str, inventory.FileEntry] = {}
    if store.startswith("s3://"):
        from botocore.exceptions import BotoCoreError, ClientError

        client = _s3(settings)
        bucket, prefix = storage.bucket_and_prefix(store)
        start = f"{prefix}/" if prefix else ""
        try:
            for count, (key, size) in enumerate(inventory.s3_keys(client, bucket, prefix), 1):
                body = client.get_object(Bucket=bucket, Key=start + key)["Body"]
                files[key] = writer.add_stream(f"artifacts/{key}", body, size)
                if count % 200 == 0:
                    progress(f"  {count} artefacten…")
        except (BotoCoreError, ClientError) as exc:
            raise BackupError(f"De artefacten op {store} kunnen niet gelezen worden: {exc}. Er is geen back-up "
                              "gemaakt.",
                              "Controleer storage.s3, storage.s3_endpoint_url en de sleutels.") from exc
        return files
    root = Path(store)
    if not root.is_dir():
        return files
    count = 0
    for top, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            path = Path(top) / name
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            entry = writer.add_file(f"artifacts/{rel}", path)
            if entry is not None:
                files[rel] = entry
                count += 1
                if count % 200 == 0:
                    progress(f"  {count} artefacten…")
    return files


def summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """Per database: tables, rows and the highlighted counts; artifacts: objects and bytes; versions."""
    parts = {}
    for key, entry in manifest.get("databases", {}).items():
        tables = entry.get("tables", {})
        parts[key] = {"parts": entry.get("parts", [key]), "tables": len(tables),
                      "rows": sum(t["rows"] for t in tables.values()),
                      "counts": {name: tables[name]["rows"] for name in HIGHLIGHTS if name in tables}}
    artifacts = manifest.get("artifacts", {})
    secrets = [m for m in manifest.get("members", {}) if m.startswith(("secrets/", "files/"))]
    return {"databases": parts,
            "artifacts": {"objects": artifacts.get("objects", 0), "bytes": artifacts.get("bytes", 0)},
            "secrets": len(secrets), "versions": manifest.get("versions", {}), "schema": manifest.get("schema", {})}


def describe(result: dict[str, Any]) -> list[str]:
    """The summary in Dutch lines, for people."""
    lines = []
    for key, part in result.get("databases", {}).items():
        counts = ", ".join(f"{wording.count(n)} {HIGHLIGHTS[name]}" for name, n in part["counts"].items())
        what = inventory.DATABASE_WORDS.get(key, key)
        lines.append(f"  {what[:1].upper()}{what[1:]}: {wording.count(part['tables'])} tabellen, "
                     f"{wording.count(part['rows'])} rijen{f' ({counts})' if counts else ''}")
    artifacts = result.get("artifacts", {})
    lines.append(f"  Artefacten: {wording.count(artifacts.get('objects', 0))} bestanden, "
                 f"{wording.number(artifacts.get('bytes', 0) / 1e6, 1)} MB")
    lines.append(f"  Geheimen en andere bestanden: {wording.count(result.get('secrets', 0))}")
    return lines


# --- reading and checking an archive ----------------------------------------------------------------

#: Room left free on the staging disk while an archive is unpacked, and the largest manifest read into memory.
RESERVE_BYTES = 64 << 20
MAX_MANIFEST_BYTES = 256 << 20


def _safe_member(name: str) -> bool:
    """Only the shapes `backup` writes, spelled the one way it spells them (no `.`, `..`, `//`, absolute or
    trailing `/`): databases/<file>, artifacts/<path>, secrets/hub/<name> (a name `secret_files` would keep) and
    files/kennisbank/<path>. Anything else could land elsewhere in the state folder (the hub database, a home)."""
    path = PurePosixPath(name)
    if (not name or path.is_absolute() or path.as_posix() != name or ".." in path.parts or "\0" in name
            or name.endswith("/")):
        return False
    parts = path.parts
    if name == MANIFEST:
        return True
    if parts[0] == "databases":
        return len(parts) == 2 and name.endswith((".sqlite", ".pgdump"))
    if parts[0] == "artifacts":
        return len(parts) >= 2
    if parts[:2] == ("secrets", "hub"):
        return (len(parts) == 3 and parts[2] not in HUB_SKIPPED_NAMES and not parts[2].endswith(HUB_SKIPPED_SUFFIXES)
                and not parts[2].startswith("."))
    return parts[:2] == ("files", "kennisbank") and len(parts) >= 3


def _room(archive: Path, staging: Path, size: int) -> None:
    """Refuse a member that would not fit on the staging disk (a decompression bomb, or simply too little room),
    before a byte of it is written."""
    found = os.statvfs(staging)
    free = found.f_bavail * found.f_frsize
    if size > free - RESERVE_BYTES or (found.f_files and found.f_favail < 1000):
        raise BackupError(f"Er is te weinig ruimte om het archief {archive} uit te pakken: een onderdeel is "
                          f"{wording.number(size / 1e9, 1)} GB, er is {wording.number(free / 1e9, 1)} GB vrij naast "
                          f"de statusmap ({staging.parent}). Er is niets gewijzigd.",
                          "Maak ruimte vrij (de herstelde gegevens hebben even veel nodig als het uitgepakte archief), "
                          "of controleer het archief: een onderdeel van die grootte kan ook een aanval zijn.")


def _damaged(archive: Path, why: str) -> BackupError:
    return BackupError(f"Het archief {archive} is beschadigd of onvolledig ({why}). Er is niets gewijzigd.",
                       "Neem een andere back-up, of kopieer het archief opnieuw (het is misschien afgebroken).")


def read_archive(archive: Path, staging: Path) -> dict[str, Any]:
    """Unpack every member into `staging` while hashing it; then check it against the manifest. Returns the
    manifest. Raises BackupError (nothing outside `staging` is touched) for a damaged or altered archive."""
    seen: dict[str, inventory.FileEntry] = {}
    manifest_bytes = None
    try:
        with tarfile.open(archive, mode="r|gz") as tar:
            for info in tar:
                if info.isdir():
                    continue
                if not info.isfile() or not _safe_member(info.name) or info.name in seen:
                    raise _damaged(archive, f"onverwacht onderdeel {info.name!r}")
                source = tar.extractfile(info)
                assert source is not None
                if info.name == MANIFEST:
                    if info.size > MAX_MANIFEST_BYTES:
                        raise _damaged(archive, f"{MANIFEST} is {wording.number(info.size / 1e6, 0)} MB, te groot "
                                       "voor een inhoudslijst")
                    manifest_bytes = source.read()
                    seen[MANIFEST] = {"size": len(manifest_bytes), "sha256": ""}
                    continue
                _room(archive, staging, info.size)
                target = staging / info.name
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                digest, size = hashlib.sha256(), 0
                with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                    while block := source.read(1 << 20):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
                seen[info.name] = {"size": size, "sha256": digest.hexdigest()}
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise BackupError(f"De schijf naast de statusmap ({staging.parent}) liep vol tijdens het uitpakken van "
                              f"{archive}. Er is niets gewijzigd.", "Maak ruimte vrij en herstel opnieuw.") from exc
        if isinstance(exc, FileNotFoundError) and not archive.exists():
            raise BackupError(f"Het archief {archive} bestaat niet.", "Geef het pad van een back-up van "
                              "`proeftuin backup`.") from exc
        text = str(exc)
        why = ("het bestand houdt te vroeg op" if isinstance(exc, EOFError) or "end of" in text
               else "de gecomprimeerde gegevens kloppen niet" if isinstance(exc, zlib.error) or "gzip" in text.lower()
               else "geen geldig tar-archief" if isinstance(exc, tarfile.TarError) else text or type(exc).__name__)
        raise _damaged(archive, why) from exc
    if manifest_bytes is None:
        raise _damaged(archive, f"{MANIFEST} ontbreekt")
    try:
        manifest = json.loads(manifest_bytes)
        members = manifest["members"]
        manifest["format"], manifest["databases"], manifest["artifacts"]  # noqa: B018 (present)
    except (ValueError, KeyError, TypeError) as exc:
        raise _damaged(archive, f"{MANIFEST} is onleesbaar") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Het archief {archive} heeft formaat {manifest.get('format')}; deze Proeftuin "
                          f"({_version('proeftuin')}) kent alleen formaat {FORMAT}. Er is niets gewijzigd.",
                          "Herstel met de Proeftuin-versie die het maakte "
                          f"({manifest.get('versions', {}).get('proeftuin')}).")
    problems = []
    for name, entry in members.items():
        got = seen.get(name)
        if got is None:
            problems.append(f"{name} ontbreekt")
        elif (got["size"], got["sha256"]) != (entry["size"], entry["sha256"]):
            problems.append(f"{name} is gewijzigd (controlesom klopt niet)")
    problems += [f"{name} staat niet in {MANIFEST}" for name in seen if name != MANIFEST and name not in members]
    problems += _manifest_problems(manifest)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; en nog {len(problems) - 5}" if len(problems) > 5 else "")
        raise BackupError(f"Het archief {archive} klopt niet met zijn inhoudslijst: {shown}. Er is niets gewijzigd.",
                          "Gebruik een andere back-up: deze is beschadigd of aangepast.")
    return manifest


def _manifest_problems(manifest: dict[str, Any]) -> list[str]:
    """What restore reads from the manifest besides the member list must agree with it: each database entry names
    its own member (`databases/<key>.sqlite|pgdump`, in the archive), and the artifact list is exactly the
    artifacts/ members with the same sizes and checksums (restore uploads and compares by that list)."""
    problems = []
    members = manifest["members"]
    try:
        for key, entry in manifest["databases"].items():
            expected = f"databases/{key}.{'sqlite' if entry['format'] == 'sqlite' else 'pgdump'}"
            if (entry["format"] not in ("sqlite", "postgresql") or entry["member"] != expected
                    or expected not in members or not set(entry["parts"]) <= set(storage.PARTS)
                    or not isinstance(entry["tables"], dict)):
                problems.append(f"de databank {key} in {MANIFEST} wijst naar {entry.get('member')!r}")
        files = manifest["artifacts"].get("files", {})
        stored = {name.removeprefix("artifacts/"): entry for name, entry in members.items()
                  if name.startswith("artifacts/")}
        for rel in sorted(set(files) ^ set(stored))[:5]:
            problems.append(f"artefact {rel!r} staat niet zowel in de artefactenlijst als in het archief")
        problems += [f"artefact {rel!r} heeft een andere grootte of controlesom in de artefactenlijst"
                     for rel in sorted(set(files) & set(stored))
                     if (files[rel]["size"], files[rel]["sha256"]) != (stored[rel]["size"], stored[rel]["sha256"])][:5]
        if (manifest["artifacts"].get("objects"), manifest["artifacts"].get("bytes")) != (
                len(files), sum(f["size"] for f in files.values())):
            problems.append("de telling van de artefacten klopt niet met de artefactenlijst")
        problems += [f"{name!r} is geen onderdeel dat een back-up maakt" for name in members
                     if not _safe_member(name) or name == MANIFEST][:5]
    except (KeyError, TypeError, AttributeError):
        problems.append(f"{MANIFEST} heeft niet de vorm van een back-up")
    return problems


def check_compatible(manifest: dict[str, Any]) -> None:
    """The archive's schema revisions are the ones this installation's MLflow and JupyterHub expect."""
    made = manifest.get("versions", {})
    for kind, name in (("mlflow", "MLflow"), ("hub", "JupyterHub")):
        revision = manifest.get("schema", {}).get(kind)
        if revision is None:
            continue
        head = schema_head(kind)
        if revision != head:
            package = "mlflow" if kind == "mlflow" else "jupyterhub"
            known = revision in {r.revision for r in _scripts(kind).walk_revisions()}
            upgrade = {"mlflow": "mlflow db upgrade", "hub": "jupyterhub upgrade-db"}[kind]
            raise BackupError(
                f"Deze back-up komt van een {'oudere' if known else 'andere of nieuwere'} {name} ({name} "
                f"{made.get(package, 'onbekend')}, schema {revision}); deze installatie heeft {name} "
                f"{_version(package)} met schema {head}. Er is niets gewijzigd.",
                f"Herstel met dezelfde versie als de back-up (pip install {package}=={made.get(package, '…')}) in "
                f"een aparte omgeving{f', en werk de databank daarna bij met `{upgrade}`' if known else ''}.")


# --- restoring --------------------------------------------------------------------------------------

def _refuse_running(settings: Settings) -> None:
    running, left = leftovers(UpRecord(settings.state_dir / "hub" / "up.json"), settings.state_dir)
    if running is not None or left:
        pid = (running or left[0]).pid
        raise BackupError(f"Proeftuin draait nog met deze statusmap ({settings.state_dir}, proces {pid}): herstellen "
                          "kan alleen als het platform stilstaat. Er is niets gewijzigd.",
                          f"Stop het platform eerst (Ctrl-C in het venster van `proeftuin up`, of kill -INT {pid}).")


def _pg_tables(db: Database) -> list[str]:
    import sqlalchemy as sa

    engine = _engine(db)
    try:
        with engine.connect() as connection:
            return sorted(sa.inspect(connection).get_table_names())
    except sa.exc.OperationalError as exc:
        if "does not exist" in str(exc) and "database" in str(exc):
            _create_database(db)
            return []
        raise _pg_problem(db, exc) from exc
    except sa.exc.SQLAlchemyError as exc:
        raise _pg_problem(db, exc) from exc
    finally:
        engine.dispose()


def _create_database(db: Database) -> None:
    import sqlalchemy as sa

    admin = Database(db.key, db.parts, db.kind, db.url.rsplit("/", 1)[0] + "/postgres", password=db.password)
    engine = _engine(admin)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{db.libpq()["dbname"]}"'))
    except sa.exc.SQLAlchemyError as exc:
        raise BackupError(f"De databank {db.libpq()['dbname']} bestaat niet en kan niet aangemaakt worden. Er is "
                          "niets gewijzigd.", f"Laat de databankbeheerder ze aanmaken: CREATE DATABASE "
                          f"{db.libpq()['dbname']} OWNER {db.libpq()['user']};") from exc
    finally:
        engine.dispose()


def _occupied(settings: Settings, targets: list[Database], store: str) -> list[str]:
    """What is already in the configured backends (Dutch), that a restore would replace."""
    found = []
    for db in targets:
        if db.kind == "sqlite":
            if db.path is not None and db.path.is_file() and db.path.stat().st_size > 0:
                found.append(f"{db.what} ({db.path})")
        elif tables := _pg_tables(db):
            found.append(f"{db.what} (PostgreSQL-databank {db.libpq()['dbname']}, {len(tables)} tabellen)")
    if store.startswith("s3://"):
        bucket, prefix = storage.bucket_and_prefix(store)
        count = sum(1 for _ in inventory.s3_keys(_s3(settings), bucket, prefix))
        if count:
            found.append(f"{count} artefacten op {store}")
    else:
        folder = Path(store)
        count = sum(1 for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
        if count:
            found.append(f"{count} artefacten in {folder}")
    secrets = [p for p in secret_files(settings).values()]
    if secrets:
        found.append(f"{len(secrets)} geheimen en andere bestanden in {settings.state_dir}")
    return found


def _match(manifest: dict[str, Any], targets: list[Database], archive: Path) -> list[tuple[dict, Database]]:
    by_parts = {tuple(sorted(db.parts)): db for db in targets}
    pairs = []
    for key, entry in manifest["databases"].items():
        target = by_parts.get(tuple(sorted(entry["parts"])))
        kind = entry["format"]
        if target is None or target.kind != kind:
            here = "PostgreSQL" if any(t.kind == "postgresql" for t in targets) else "SQLite"
            there = "PostgreSQL" if kind == "postgresql" else "SQLite"
            raise BackupError(f"Het archief {archive} bevat {inventory.DATABASE_WORDS.get(key, key)} in {there}; deze "
                              f"installatie gebruikt {here}. Er is niets gewijzigd.",
                              f"Herstel in een installatie met {there} (storage: in proeftuin.yaml) en verhuis daarna "
                              "met `proeftuin migrate`.")
        pairs.append((entry, target))
    return pairs


def _location_pairs(old_root: str, new_root: str) -> list[tuple[str, str]]:
    """(old, new) text to replace in MLflow's artifact locations, for both the URI and the plain path form."""
    old_root, new_root = old_root.rstrip("/"), new_root.rstrip("/")
    if old_root == new_root:
        return []
    pairs = [(old_root, new_root)]
    old_path, new_path = inventory.local_folder(old_root), inventory.local_folder(new_root)
    if old_path is not None and new_path is not None and str(old_path) not in old_root:
        pairs.append((str(old_path), str(new_path)))
    return pairs


def rewrite_locations(connection, old_root: str, new_root: str) -> int:
    """Point every artifact location in an MLflow database (experiments, runs, model versions, logged models,
    ...) from `old_root` to `new_root`: each text value that is `old_root` or starts with `old_root/`. Returns the
    number of values changed. Runs in the caller's transaction."""
    import sqlalchemy as sa

    changed = 0
    metadata = sa.MetaData()
    for name in sa.inspect(connection).get_table_names():
        table = sa.Table(name, metadata, autoload_with=connection)
        for column in table.columns:
            try:
                is_text = column.type.python_type is str
            except NotImplementedError:
                is_text = False
            if not is_text:
                continue
            for old, new in _location_pairs(old_root, new_root):
                starts = column.startswith(old + "/", autoescape=True)
                found = sa.select(sa.func.count()).select_from(table).where(sa.or_(starts, column == old))
                if not connection.execute(found).scalar():  # (PostgreSQL checks a new value's length even then)
                    continue
                changed += connection.execute(table.update().where(starts).values(
                    {column.name: sa.func.replace(column, old + "/", new + "/")})).rowcount
                changed += connection.execute(table.update().where(column == old).values({column.name: new})).rowcount
    return changed


def _clear_postgresql(db: Database) -> None:
    import sqlalchemy as sa

    engine = _engine(db)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.SQLAlchemyError as exc:
        raise _pg_problem(db, exc) from exc
    finally:
        engine.dispose()


def _pg_restore(db: Database, dump: Path) -> None:
    libpq = db.libpq()
    done = subprocess.run(  # noqa: S603 (fixed program, arguments from the settings)
        [_pg_bin("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
         "--no-password", f"--host={libpq['host']}", f"--port={libpq['port']}", f"--username={libpq['user']}",
         f"--dbname={libpq['dbname']}", str(dump)], env=_pg_env(db), capture_output=True, text=True, timeout=6 * 3600)
    if done.returncode != 0:
        raise BackupError(f"pg_restore kon {db.what} niet herstellen: "
                          f"{(done.stderr.strip().splitlines() or ['onbekende fout'])[-1]}. De databank is leeg "
                          "gebleven (één transactie).", "Controleer de rechten van de databankgebruiker en of "
                          "pg_restore even nieuw is als de server waar de back-up van komt.")


def restore(settings: Settings, archive: Path, force: bool = False, progress: Progress = _quiet) -> dict[str, Any]:
    """Restore `archive` into the configured backends. Every check comes before the first change; returns the
    summary with what was replaced, how many artifact locations were pointed here and the checks done."""
    import sqlalchemy as sa

    archive = Path(archive).expanduser().absolute()
    if not archive.is_file():
        raise BackupError(f"Het archief {archive} bestaat niet.",
                          "Geef het pad van een back-up van `proeftuin backup`.")
    _refuse_running(settings)
    targets = databases(settings)
    store = artifact_store(settings)
    if any(db.kind == "postgresql" for db in targets) or store.startswith("s3://"):
        progress("Opslag controleren…")
        storage.apply_environment(settings)
        storage.check(settings, tuple(p for p in storage.PARTS if p != "mlflow"))
    state = settings.state_dir.absolute()
    state.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{state.name}-herstel-", dir=state.parent))
    checks: list[str] = []
    try:
        occupied = _occupied(settings, targets, store)
        if occupied and not force:
            raise BackupError(f"Er staat al iets in deze installatie: {'; '.join(occupied)}. Er is niets gewijzigd.",
                              "Herstel in een lege statusmap (PROEFTUIN_HOME) en lege databanken, of vervang alles "
                              "met --force (eerst zelf een back-up nemen: proeftuin backup --output ...).")
        progress(f"Archief controleren: {archive}…")
        manifest = read_archive(archive, staging)
        check_compatible(manifest)
        _check_places(settings, manifest)
        pairs = _match(manifest, targets, archive)
        absent = [db for db in targets if all(db is not target for _, target in pairs)]
        checks.append(f"{len(manifest['members'])} onderdelen, elke controlesom klopt")
        for line in occupied:
            progress(f"Wordt vervangen: {line}")
        # SQLite: check and prepare the staged copies (nothing in the state folder changes yet)
        old_root, new_root = manifest["source"]["artifact_root"], settings.artifact_root
        rewritten = 0
        for entry, db in pairs:
            staged = staging / entry["member"]
            if db.kind != "sqlite":
                continue
            engine = sa.create_engine(f"sqlite:///{staged}", poolclass=sa.pool.NullPool)
            with engine.connect() as connection:
                ok = connection.exec_driver_sql("PRAGMA quick_check").scalar()
            if ok != "ok":
                engine.dispose()
                raise BackupError(f"{db.What} in het archief is beschadigd ({ok}). Er is niets "
                                  "gewijzigd.", "Gebruik een andere back-up.")
            rewritten += _rows_as_listed(engine, entry, db, old_root, new_root, lambda found, db=db: BackupError(
                f"{db.What} in het archief klopt niet met de inhoudslijst: {found} Er is niets gewijzigd.",
                "Gebruik een andere back-up."))
            checks.append(f"{db.what}: elke tabel dezelfde rijen als bij de back-up")
        # from here on the backends change: PostgreSQL (one transaction per database), S3, then the state folder
        for db in absent:
            if db.kind == "postgresql" and _pg_tables(db):
                _clear_postgresql(db)
        for entry, db in pairs:
            if db.kind != "postgresql":
                continue
            progress(f"{db.What} herstellen (pg_restore)…")
            if _pg_tables(db):
                _clear_postgresql(db)
            _pg_restore(db, staging / entry["member"])
            rewritten += _rows_as_listed(_engine(db), entry, db, old_root, new_root, lambda found, db=db: BackupError(
                f"{db.What} is hersteld, maar verschilt van de back-up: {found}",
                "Herstel opnieuw met --force, of meld dit aan de beheerder van het platform."))
            checks.append(f"{db.what}: elke tabel dezelfde rijen als bij de back-up")
        progress("Artefacten terugzetten…")
        _restore_artifacts(settings, store, staging / "artifacts", manifest, force)
        settings.ensure_state_dir()
        state.chmod(0o700)
        for entry, db in pairs:
            if db.kind == "sqlite":
                _place_sqlite(staging / entry["member"], db.path)
        for db in absent:  # with --force: a database the archive does not hold is emptied
            if db.kind == "sqlite" and db.path is not None:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{db.path}{suffix}").unlink(missing_ok=True)
        for member in manifest["members"]:
            if member.startswith(("secrets/", "files/")):
                target = member_target(settings, member)
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.replace(staging / member, target)
                target.chmod(0o600)
        if force:  # what the archive does not hold is not part of the restored state
            restored = {member_target(settings, m) for m in manifest["members"]}
            for path in secret_files(settings).values():
                if path not in restored:
                    path.unlink()
        progress("Herstelde gegevens nakijken…")
        actual = (inventory.s3_inventory(_s3(settings), *storage.bucket_and_prefix(store)) if store.startswith("s3://")
                  else inventory.folder_inventory(store))
        expected = {k: v for k, v in manifest["artifacts"].items() if k in ("objects", "bytes", "files")}
        differences = inventory.compare_artifacts(expected, actual)  # type: ignore[arg-type]
        if differences:
            raise BackupError("De artefacten zijn teruggezet, maar verschillen van de back-up: "
                              f"{' '.join(differences[:5])}",
                              "Herstel opnieuw met --force.")
        checks.append(f"artefacten: {actual['objects']} bestanden, elk byte gelijk aan de back-up")
        if rewritten:
            checks.append(f"{rewritten} artefactlocaties in MLflow wijzen nu naar {new_root} (waren {old_root})")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for line in checks:
        progress(f"✓ {line}")
    return {"archive": str(archive), **summary(manifest), "replaced": occupied, "checks": checks,
            "rewritten_locations": rewritten, "created_at": manifest.get("created_at")}


def _check_places(settings: Settings, manifest: dict[str, Any]) -> None:
    """Every secrets/ and files/ member lands in the state folder itself: no folder on its way is a link (which
    would carry the file elsewhere) and the place is not a folder."""
    state = settings.state_dir.absolute()
    for member in manifest["members"]:
        if not member.startswith(("secrets/", "files/")):
            continue
        target = member_target(settings, member).absolute()
        folder = state
        for part in target.relative_to(state).parts[:-1]:
            folder = folder / part
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                raise BackupError(f"{folder} is een koppeling of geen map: {member} uit het archief zou daar buiten "
                                  "de statusmap terechtkomen. Er is niets gewijzigd.",
                                  f"Verwijder {folder} (of vervang het door een gewone map) en herstel opnieuw.")
        if target.is_dir() and not target.is_symlink():
            raise BackupError(f"{target} is een map, maar het archief heeft daar een bestand. Er is niets gewijzigd.",
                              f"Verwijder of hernoem {target} en herstel opnieuw.")


def _place_sqlite(staged: Path, target: Path | None) -> None:
    """Move a checked copy over the database file, without the old file's journal or WAL (SQLite would apply
    an old WAL to the new file)."""
    assert target is not None
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged.chmod(0o600)
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(staged, target)


def _rows_as_listed(engine, entry: dict[str, Any], db, old_root: str, new_root: str,
                    unlike: Callable[[str], BackupError]) -> int:
    """Every table of a database as the manifest lists it (else `unlike(<the first differences>)` is raised), then
    MLflow's artifact locations moved from the backup's root to this installation's; returns how many moved."""
    try:
        with engine.begin() as connection:
            differences = inventory.compare_databases(entry["tables"], inventory.database_inventory(connection),
                                                      db.what)
            if differences:
                raise unlike(" ".join(differences[:5]))
            return rewrite_locations(connection, old_root, new_root) if "mlflow" in db.parts else 0
    finally:
        engine.dispose()


def _restore_artifacts(settings: Settings, store: str, staged: Path, manifest: dict[str, Any], force: bool) -> None:
    files = manifest["artifacts"].get("files", {})
    if store.startswith("s3://"):
        client = _s3(settings)
        bucket, prefix = storage.bucket_and_prefix(store)
        start = f"{prefix}/" if prefix else ""
        for rel in files:
            client.upload_file(str(staged / rel), bucket, start + rel)
        if force:
            extra = [k for k, _ in inventory.s3_keys(client, bucket, prefix) if k not in files]
            for chunk in range(0, len(extra), 1000):
                client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": start + k}
                                                                         for k in extra[chunk:chunk + 1000]]})
        return
    folder = Path(store)
    folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not staged.is_dir():
        staged.mkdir(mode=0o700)
    staged.chmod(0o700)
    swap_folder(staged, folder)


def iter_members(archive: Path) -> Iterator[str]:
    """The member names of an archive (for tools and tests)."""
    with tarfile.open(archive, mode="r:gz") as tar:
        yield from tar.getnames()
