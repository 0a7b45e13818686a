"""Where Proeftuin keeps its rows and files, from `storage:` in proeftuin.yaml.

Embedded default: SQLite files and folders in the state folder. Scaled: one PostgreSQL server with a
database for MLflow, one for JupyterHub and one for the platform's own tables (kiosk feedback, ideas), and
MLflow's artifacts on S3-compatible storage. Switching is configuration: every part asks this module for its
URL and engine. Passwords and keys never come from proeftuin.yaml: the database password from
`storage.password_file` or `storage.password_env`, the S3 keys from boto3's own chain (the environment, or
`storage.s3_credentials_file`); `environment()` hands them to MLflow and to the processes `up` starts.

`check()` is what `up` and `proeftuin mlflow` run before they start anything: each backend reachable, the
credentials right, the databases there (created when the account may) and no schema from a newer MLflow.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from proeftuin.errors import ConfigError, ProeftuinError
from proeftuin.settings import Settings

Part = Literal["mlflow", "hub", "feedback", "ideas"]
PARTS: tuple[Part, ...] = ("mlflow", "hub", "feedback", "ideas")
#: What each part holds, for messages.
WHAT = {"mlflow": "de MLflow-databank (runs en modellen)", "hub": "de hubdatabank (gebruikers, groepen)",
        "feedback": "de kioskfeedback", "ideas": "de ideeën"}


class StorageUnavailable(ProeftuinError):
    """A database or bucket cannot be used: nothing has been started or changed."""


#: The embedded default's file for each part, in the state folder (where they always were).
SQLITE_FILES: dict[Part, str] = {"mlflow": "mlflow/mlflow.db", "hub": "hub/jupyterhub.sqlite",
                                 "feedback": "gallery/feedback.sqlite3", "ideas": "ideas/ideas.sqlite3"}


def sqlite_path(settings: Settings, part: Part) -> Path:
    return settings.state_dir / SQLITE_FILES[part]


def uses_postgresql(settings: Settings) -> bool:
    return bool(settings.storage.postgresql)


def database_name(settings: Settings, part: Part) -> str:
    names = settings.storage.databases
    return {"mlflow": names.mlflow, "hub": names.hub}.get(part, names.platform)


def database_url(settings: Settings, part: Part) -> str:
    """SQLAlchemy URL (no password) of a part's database."""
    if part == "mlflow":
        return settings.backend_store_uri
    if uses_postgresql(settings):
        return settings.postgresql_url(database_name(settings, part))
    return f"sqlite:///{sqlite_path(settings, part)}"


def password(settings: Settings) -> str | None:
    """The database password: storage.password_file, else the variable storage.password_env, else none (libpq's
    own ~/.pgpass or PGPASSWORD then apply)."""
    storage = settings.storage
    if storage.password_file is not None:
        try:
            return storage.password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"Het wachtwoordbestand van de databank ({storage.password_file}) kan niet gelezen "
                              f"worden: {exc.strerror or exc}.",
                              "Controleer storage.password_file in proeftuin.yaml en de rechten op het "
                              "bestand.") from exc
    return os.environ.get(storage.password_env) or None


#: What boto3 reads for S3 (besides its config files): handed to the one service that writes artifacts.
S3_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION",
                "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE", "MLFLOW_S3_ENDPOINT_URL")


def environment(settings: Settings, s3: bool = True) -> dict[str, str]:
    """Variables MLflow, boto3 and libpq read: for this process (`apply_environment`) and the services `up`
    starts (which do not inherit the hub's environment). `s3=False`: the database password only (the gallery and
    the docs reach artifacts through MLflow, never the bucket)."""
    env: dict[str, str] = {}
    if uses_postgresql(settings) and (secret := password(settings)):
        env["PGPASSWORD"] = secret
    if not s3:
        return env
    env.update({key: os.environ[key] for key in S3_VARIABLES if os.environ.get(key)})
    storage = settings.storage
    if storage.s3_endpoint_url:
        env["MLFLOW_S3_ENDPOINT_URL"] = storage.s3_endpoint_url
    if storage.s3_credentials_file is not None:
        env["AWS_SHARED_CREDENTIALS_FILE"] = str(storage.s3_credentials_file)
    return env


def apply_environment(settings: Settings) -> None:
    """Set `environment()` in this process, never over what the person set themselves; what an earlier call set
    follows the settings now given (a process may be handed other settings, as the tests do)."""
    wanted = environment(settings)
    for key, value in list(_applied.items()):
        if os.environ.get(key) == value and key not in wanted:
            del os.environ[key]
            del _applied[key]
    for key, value in wanted.items():
        if key not in os.environ or os.environ[key] == _applied.get(key):
            os.environ[key] = _applied[key] = value


_applied: dict[str, str] = {}


def engine(settings: Settings, part: Part):
    """A SQLAlchemy engine for a part (feedback, ideas; the hub and MLflow make their own from the URL)."""
    url = database_url(settings, part)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return _engine(url, None)
    if url not in _checked:  # once per process: a Dutch message for a wrong password, a missing database made
        _check_postgresql(settings, database_name(settings, part))
        _checked.add(url)
    return _engine(url, password(settings))


_checked: set[str] = set()


@lru_cache(maxsize=16)
def _engine(url: str, secret: str | None):
    import sqlalchemy as sa

    if url.startswith("sqlite"):  # a connection per use, as sqlite3 itself: nothing held open across a fork
        created = sa.create_engine(url, connect_args={"timeout": 10}, poolclass=sa.pool.NullPool)

        @sa.event.listens_for(created, "connect")
        def _pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return created
    args = {"connect_timeout": 10, **({"password": secret} if secret else {})}
    return sa.create_engine(url, connect_args=args, pool_pre_ping=True, pool_size=2, max_overflow=4)


def has_tables(settings: Settings, part: Part, *names: str) -> bool:
    """Whether a part's store exists with these tables, without creating anything (a reader's question)."""
    import sqlalchemy as sa

    url = database_url(settings, part)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return False
    with engine(settings, part).connect() as connection:
        found = set(sa.inspect(connection).get_table_names())
    return set(names) <= found


def insert_ignoring_duplicates(connection, table, **values) -> bool:
    """INSERT that does nothing when the key exists (SQLite and PostgreSQL); True when a row was added."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    key = next(iter(table.primary_key.columns))  # RETURNING gives no row when nothing was inserted (rowcount
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(key)  # is not reliable on both)
    return connection.execute(statement).first() is not None


# --- checks before anything starts ------------------------------------------------------------------

def check(settings: Settings, parts: tuple[Part, ...] = PARTS) -> list[str]:
    """Every backend of `parts` usable, else `StorageUnavailable` naming the first problem and what to do.
    Returns what was checked (Dutch lines for `up` to show). Changes nothing except creating a missing
    PostgreSQL database when the account may."""
    done: list[str] = []
    if "mlflow" in parts:
        done.append(_check_mlflow_schema(settings))
    if uses_postgresql(settings):
        for name in dict.fromkeys(database_name(settings, p) for p in parts if p != "mlflow"):
            done.append(_check_postgresql(settings, name))
    if settings.remote_artifact_root and settings.remote_artifact_root.startswith("s3://"):
        done.append(check_bucket(settings))
    return done


def _server(settings: Settings) -> dict[str, str | int]:
    parts = urlsplit(settings.storage.postgresql or "")
    return {"host": parts.hostname or "127.0.0.1", "port": parts.port or 5432, "user": parts.username or ""}


def _connect_postgresql(settings: Settings, database: str):
    import psycopg

    server = _server(settings)
    secret = password(settings) or os.environ.get("PGPASSWORD")
    return psycopg.connect(dbname=database, connect_timeout=5, autocommit=True,
                           **server, **({"password": secret} if secret else {}))


def _check_postgresql(settings: Settings, database: str) -> str:
    import psycopg

    server = _server(settings)
    where = f"PostgreSQL op {server['host']}:{server['port']}"
    try:
        with _connect_postgresql(settings, database):
            return f"{where}: databank {database} bereikbaar"
    except psycopg.OperationalError as exc:
        text = str(exc)
        if f'database "{database}" does not exist' not in text:
            raise StorageUnavailable(*_postgresql_problem(text, where, settings)) from exc
    try:  # the database is missing: create it when the account may
        with _connect_postgresql(settings, "postgres") as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
    except psycopg.Error as exc:
        raise StorageUnavailable(
            f"{where}: de databank {database} bestaat niet en {server['user']} mag ze niet aanmaken "
            f"({str(exc).strip().splitlines()[0]}). Er is niets gestart of gewijzigd.",
            f"Laat de databankbeheerder ze aanmaken: CREATE DATABASE {database} OWNER {server['user']}; "
            "of kies een bestaande naam onder storage.databases.") from exc
    return f"{where}: databank {database} aangemaakt"


def _postgresql_problem(text: str, where: str, settings: Settings) -> tuple[str, str]:
    first = text.strip().splitlines()[0] if text.strip() else "onbekende fout"
    user = _server(settings)["user"]
    if "password authentication failed" in text or "no password supplied" in text:
        source = settings.storage.password_file or f"de variabele {settings.storage.password_env}"
        return (f"{where} weigert de gebruiker {user}: het wachtwoord klopt niet of ontbreekt. Er is niets gestart "
                "of gewijzigd.", f"Zet het juiste wachtwoord in {source} (storage.password_file of "
                f"storage.password_env in proeftuin.yaml), of vraag de databankbeheerder om de rechten van {user}.")
    if 'role "' in text and "does not exist" in text:
        return (f"{where} kent de gebruiker {user} niet. Er is niets gestart of gewijzigd.",
                "Controleer de gebruiker in storage.postgresql, of laat de databankbeheerder hem aanmaken.")
    return (f"{where} is niet bereikbaar ({first}). Er is niets gestart of gewijzigd.",
            "Controleer of de databankserver draait en storage.postgresql (server en poort) in proeftuin.yaml; "
            "of maak storage.postgresql leeg voor de ingebouwde SQLite.")


@lru_cache(maxsize=1)
def _mlflow_revisions() -> frozenset[str]:
    """Every schema revision this MLflow knows (read once per process: ~60 migration scripts)."""
    from alembic.script import ScriptDirectory
    from mlflow.store import db_migrations

    return frozenset(r.revision for r in ScriptDirectory(str(Path(db_migrations.__file__).parent)).walk_revisions())


def schema_revision(url: str, secret: str | None = None) -> str | None:
    """The alembic revision a database is at; None when it has none yet (new, empty)."""
    import sqlalchemy as sa

    args = {"connect_timeout": 5, **({"password": secret} if secret else {})} if url.startswith("postgresql") else {}
    created = sa.create_engine(url, connect_args=args)
    try:
        with created.connect() as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        created.dispose()


def _check_mlflow_schema(settings: Settings) -> str:
    url = settings.backend_store_uri
    if url.startswith(("http://", "https://")):
        return f"MLflow op {url}"
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return "MLflow: nieuwe SQLite-databank"
    if uses_postgresql(settings) and url == settings.postgresql_url(settings.storage.databases.mlflow):
        _check_postgresql(settings, settings.storage.databases.mlflow)  # (an explicit mlflow URI: its own business)
    import sqlalchemy as sa

    try:
        revision = schema_revision(url, password(settings) if url.startswith("postgresql") else None)
    except sa.exc.SQLAlchemyError as exc:
        raise StorageUnavailable(f"{WHAT['mlflow'].capitalize()} ({_safe(url)}) kan niet gelezen worden: "
                                 f"{str(exc.orig if hasattr(exc, 'orig') else exc).strip().splitlines()[0]}. "
                                 "Er is niets gestart of gewijzigd.",
                                 "Herstel een back-up (proeftuin restore) of controleer het adres.") from exc
    if revision is not None and revision not in _mlflow_revisions():
        import mlflow

        raise StorageUnavailable(
            f"{WHAT['mlflow'].capitalize()} ({_safe(url)}) komt van een nieuwere MLflow (schema {revision}) dan deze "
            f"installatie (MLflow {mlflow.__version__}). Er is niets gestart of gewijzigd.",
            "Installeer de MLflow-versie waarmee de databank gemaakt is (make install na git pull), of herstel een "
            "back-up van deze versie.")
    return f"MLflow: databank {_safe(url)} (schema {revision or 'nieuw'})"


def _safe(url: str) -> str:
    """A URL for messages: never a password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@")


def s3_client(settings: Settings):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=settings.storage.s3_endpoint_url or os.environ.get("MLFLOW_S3_ENDPOINT_URL"),
                        config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}))


def bucket_and_prefix(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


def check_bucket(settings: Settings) -> str:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    apply_environment(settings)
    uri = settings.remote_artifact_root or ""
    bucket, _ = bucket_and_prefix(uri)
    where = settings.storage.s3_endpoint_url or "AWS S3"
    try:
        s3_client(settings).head_bucket(Bucket=bucket)
    except NoCredentialsError as exc:
        raise StorageUnavailable(
            f"Er zijn geen sleutels voor de opslag {where} (bucket {bucket}). Er is niets gestart of gewijzigd.",
            "Zet AWS_ACCESS_KEY_ID en AWS_SECRET_ACCESS_KEY in de omgeving, of storage.s3_credentials_file in "
            "proeftuin.yaml (een AWS-credentialsbestand, modus 0600).") from exc
    except EndpointConnectionError as exc:
        raise StorageUnavailable(f"De opslag {where} is niet bereikbaar. Er is niets gestart of gewijzigd.",
                                 "Controleer storage.s3_endpoint_url en of de opslagdienst draait.") from exc
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            raise StorageUnavailable(f"De bucket {bucket} bestaat niet op {where}. Er is niets gestart of gewijzigd.",
                                     f"Laat de opslagbeheerder de bucket {bucket} aanmaken, of pas storage.s3 "
                                     "aan.") from exc
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise StorageUnavailable(f"De opslag {where} weigert de sleutels voor bucket {bucket} ({code}). Er is "
                                     "niets gestart of gewijzigd.",
                                     "Controleer AWS_ACCESS_KEY_ID en AWS_SECRET_ACCESS_KEY (of "
                                     "storage.s3_credentials_file) en de rechten op de bucket.") from exc
        raise StorageUnavailable(f"De opslag {where} antwoordt met een fout ({code}) voor bucket {bucket}.",
                                 "Controleer storage.s3 en storage.s3_endpoint_url.") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"De opslag {where} kan niet gebruikt worden ({exc}). Er is niets gestart of "
                                 "gewijzigd.", "Controleer storage.s3 en storage.s3_endpoint_url.") from exc
    return f"Artefacten: {uri} op {where}"
