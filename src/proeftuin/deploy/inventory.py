"""Inventories of what Proeftuin holds, to prove that a copy (a backup, a restore, a migration) holds the same.

A database inventory (`database_inventory`) is, per table, the row count and a checksum of its rows. The
checksum does not depend on the order of the rows nor of the columns, and every value is normalised first
(`normalise`), so the same data gives the same checksum on SQLite and on PostgreSQL:

- booleans become 0/1 (SQLite keeps them as integers), an integral float or Decimal becomes an int, other
  floats keep their shortest exact form (NaN and infinities by name);
- datetimes become ISO text in UTC without a zone (``2024-05-01 12:00:00.000000``), dates and times ISO text;
- bytes, bytearray and memoryview become ``{"$bytes": hex}``; UUIDs text; dicts and lists canonical JSON.

Each row is hashed as the sorted (column, value) pairs; a table's checksum is the sum of its rows' hashes
modulo 2**256 (a multiset hash: duplicates count, order does not), written as hex.

An artifact inventory (`folder_inventory`, `s3_inventory`, `artifact_inventory`) is the object count, the
total bytes and per file (path relative to the store's root, with ``/``) its size and sha256.

`compare_databases`, `compare_artifacts` and `compare` name every difference between two inventories in
Dutch (an empty list: the same). Inventories are plain JSON-able dicts, so they go into a manifest as they are.

Used by `proeftuin backup` / `restore` (`proeftuin.deploy.backup`) and `proeftuin migrate`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import unquote, urlsplit

#: Row hashes are summed modulo this (sha256 values).
MODULUS = 2**256
#: Shown when a list of differences would be longer.
MAX_NAMED = 20


class TableSummary(TypedDict):
    rows: int
    checksum: str


class FileEntry(TypedDict):
    size: int
    sha256: str


class ArtifactInventory(TypedDict):
    objects: int
    bytes: int
    files: dict[str, FileEntry]


DatabaseInventory = dict[str, TableSummary]


# --- values and rows ------------------------------------------------------------------------------

def normalise(value: Any) -> Any:
    """A JSON-able form of a database value that is the same on SQLite and on PostgreSQL."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        value = float(value)
    if isinstance(value, float):
        if math.isnan(value):
            return {"$float": "NaN"}
        if math.isinf(value):
            return {"$float": "Infinity" if value > 0 else "-Infinity"}
        return int(value) if value.is_integer() and abs(value) < 2**63 else value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {"$json": json.dumps({str(k): normalise(v) for k, v in value.items()}, sort_keys=True,
                                    ensure_ascii=False, separators=(",", ":"))}
    if isinstance(value, list | tuple):
        return {"$json": json.dumps([normalise(v) for v in value], sort_keys=True, ensure_ascii=False,
                                    separators=(",", ":"))}
    return {"$repr": str(value)}


def row_digest(row: Mapping[str, Any]) -> int:
    """The sha256 of one row (column order does not matter), as an integer."""
    pairs = sorted((str(k), normalise(v)) for k, v in row.items())
    text = json.dumps(pairs, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big")


def table_summary(rows: Iterable[Mapping[str, Any]]) -> TableSummary:
    """Row count and order-independent checksum of any iterable of rows (dicts of column -> value)."""
    count, total = 0, 0
    for row in rows:
        count += 1
        total = (total + row_digest(row)) % MODULUS
    return {"rows": count, "checksum": f"{total:064x}"}


# --- databases ------------------------------------------------------------------------------------

def _connect_args(url: str, password: str | None) -> dict[str, Any]:
    if url.startswith("postgresql"):
        return {"connect_timeout": 10, **({"password": password} if password else {})}
    return {}


def database_inventory(source: Any, password: str | None = None, *, tables: Iterable[str] | None = None,
                       ) -> DatabaseInventory:
    """Per table of a database: rows and checksum. `source` is a SQLAlchemy URL (without password; give it as
    `password`), an Engine, or an open Connection (then it is read inside that connection's transaction, e.g. a
    REPEATABLE READ snapshot shared with pg_dump). `tables` limits the tables (default: all in the default schema)."""
    import sqlalchemy as sa

    if isinstance(source, sa.engine.Connection):
        return _inventory(source, tables)
    engine = source if isinstance(source, sa.engine.Engine) else sa.create_engine(
        str(source), connect_args=_connect_args(str(source), password))
    try:
        with engine.connect() as connection:
            return _inventory(connection, tables)
    finally:
        if not isinstance(source, sa.engine.Engine):
            engine.dispose()


def _inventory(connection, tables: Iterable[str] | None) -> DatabaseInventory:
    import sqlalchemy as sa

    metadata = sa.MetaData()
    names = sorted(tables) if tables is not None else sorted(sa.inspect(connection).get_table_names())
    result: DatabaseInventory = {}
    for name in names:
        table = sa.Table(name, metadata, autoload_with=connection)
        try:
            result[name] = table_summary(_rows(connection, sa.select(table)))
        except (ValueError, TypeError):  # a value the reflected type cannot parse (e.g. odd text in a DATETIME)
            raw = sa.select(*[sa.literal_column(connection.dialect.identifier_preparer.quote(c.name)).label(c.name)
                              for c in table.columns]).select_from(table)
            result[name] = table_summary(_rows(connection, raw))
    return result


def _rows(connection, statement) -> Iterator[Mapping[str, Any]]:
    # per statement: Connection.execution_options would change the caller's connection for good
    for row in connection.execute(statement.execution_options(stream_results=True, yield_per=2000)):
        yield row._mapping


def compare_databases(expected: DatabaseInventory, actual: DatabaseInventory, what: str) -> list[str]:
    """Every difference between two database inventories, in Dutch; `what` names the database in the lines."""
    lines = []
    for name in sorted(set(expected) - set(actual)):
        lines.append(f"{what}: de tabel {name} ontbreekt ({_rows_nl(expected[name]['rows'])} verwacht).")
    for name in sorted(set(actual) - set(expected)):
        lines.append(f"{what}: de tabel {name} is er te veel ({_rows_nl(actual[name]['rows'])}).")
    for name in sorted(set(expected) & set(actual)):
        want, got = expected[name], actual[name]
        if want["rows"] != got["rows"]:
            lines.append(f"{what}: de tabel {name} heeft {_rows_nl(got['rows'])} in plaats van {want['rows']}.")
        elif want["checksum"] != got["checksum"]:
            lines.append(f"{what}: de tabel {name} heeft evenveel rijen ({want['rows']}), maar andere inhoud "
                         "(de controlesom verschilt).")
    return lines


def _rows_nl(count: int) -> str:
    return "1 rij" if count == 1 else f"{count} rijen"


# --- artifact stores ------------------------------------------------------------------------------

def sha256_file(path: Path, chunk: int = 1 << 20) -> FileEntry:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
            size += len(block)
    return {"size": size, "sha256": digest.hexdigest()}


def summarise_files(files: Mapping[str, FileEntry]) -> ArtifactInventory:
    ordered = {k: files[k] for k in sorted(files)}
    return {"objects": len(ordered), "bytes": sum(f["size"] for f in ordered.values()), "files": ordered}


def folder_inventory(folder: str | os.PathLike) -> ArtifactInventory:
    """Every regular file below `folder` (a missing folder is an empty store); links are not followed."""
    root = Path(folder)
    files: dict[str, FileEntry] = {}
    if root.is_dir():
        for top, dirs, names in os.walk(root, followlinks=False):
            dirs.sort()
            for name in names:
                path = Path(top) / name
                if path.is_file() and not path.is_symlink():
                    files[path.relative_to(root).as_posix()] = sha256_file(path)
    return summarise_files(files)


def s3_keys(client, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
    """(key relative to prefix, size) of every object below s3://bucket/prefix."""
    start = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=start):
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):
                yield item["Key"][len(start):], int(item["Size"])


def s3_inventory(client, bucket: str, prefix: str) -> ArtifactInventory:
    """Every object below s3://bucket/prefix, each read once to hash it (ETags are no sha256)."""
    start = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    files: dict[str, FileEntry] = {}
    for key, _ in s3_keys(client, bucket, prefix):
        body = client.get_object(Bucket=bucket, Key=start + key)["Body"]
        digest, size = hashlib.sha256(), 0
        for block in body.iter_chunks(1 << 20):
            digest.update(block)
            size += len(block)
        files[key] = {"size": size, "sha256": digest.hexdigest()}
    return summarise_files(files)


def local_folder(uri: str) -> Path | None:
    """The folder of a local artifact store (a path or file:// URI); None for anything else (s3://, ...)."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme == "" or (len(parts.scheme) == 1 and os.name == "nt"):
        return Path(uri)
    return None


def artifact_inventory(uri: str, s3_client=None) -> ArtifactInventory:
    """The inventory of a store given as a folder, a file:// URI or s3://bucket/prefix (then `s3_client`, a
    boto3 S3 client, is required)."""
    folder = local_folder(uri)
    if folder is not None:
        return folder_inventory(folder)
    if uri.startswith("s3://"):
        if s3_client is None:
            raise ValueError("an s3:// store needs an s3_client")
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        return s3_inventory(s3_client, bucket, prefix)
    raise ValueError(f"unsupported artifact store: {uri}")


def compare_artifacts(expected: ArtifactInventory, actual: ArtifactInventory, what: str = "de artefacten",
                      ) -> list[str]:
    """Every difference between two artifact inventories, in Dutch (at most MAX_NAMED files named per kind)."""
    want, got = expected["files"], actual["files"]
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    changed = sorted(k for k in set(want) & set(got) if want[k]["sha256"] != got[k]["sha256"]
                     or want[k]["size"] != got[k]["size"])
    lines = []
    kinds = (("ontbreekt", "ontbreken", missing), ("is er te veel", "zijn er te veel", extra),
             ("heeft een andere inhoud", "hebben een andere inhoud", changed))
    for one, more, names in kinds:
        for name in names[:MAX_NAMED]:
            lines.append(f"{what}: {name} {one}.")
        if len(names) > MAX_NAMED:
            lines.append(f"{what}: nog {len(names) - MAX_NAMED} andere bestanden {more}.")
    if not lines and (expected["objects"], expected["bytes"]) != (actual["objects"], actual["bytes"]):
        lines.append(f"{what}: {actual['objects']} bestanden ({actual['bytes']} bytes) in plaats van "
                     f"{expected['objects']} ({expected['bytes']} bytes).")
    return lines


# --- both -------------------------------------------------------------------------------------------

class Inventory(TypedDict, total=False):
    """What `compare` takes: databases by name (e.g. "mlflow", "hub") and optionally an artifact store."""

    databases: dict[str, DatabaseInventory]
    artifacts: ArtifactInventory


#: How each known database is called in messages.
DATABASE_WORDS = {"mlflow": "de MLflow-databank", "hub": "de hubdatabank", "feedback": "de kioskfeedback",
                  "ideas": "de ideeën", "platform": "de platformdatabank (feedback en ideeën)"}


def compare(expected: Inventory, actual: Inventory) -> list[str]:
    """Every difference between two inventories (databases by name, artifacts), in Dutch; empty: the same."""
    lines = []
    want, got = expected.get("databases", {}), actual.get("databases", {})
    for name in sorted(set(want) | set(got)):
        what = DATABASE_WORDS.get(name, f"de databank {name}")
        if name not in got:
            lines.append(f"{what[:1].upper()}{what[1:]} ontbreekt.")
        elif name not in want:
            lines.append(f"{what[:1].upper()}{what[1:]} is er te veel.")
        else:
            lines += [line[:1].upper() + line[1:] for line in compare_databases(want[name], got[name], what)]
    if "artifacts" in expected or "artifacts" in actual:
        empty: ArtifactInventory = {"objects": 0, "bytes": 0, "files": {}}
        lines += [line[:1].upper() + line[1:] for line in
                  compare_artifacts(expected.get("artifacts", empty), actual.get("artifacts", empty))]
    return lines


def fingerprint(value: Any) -> str:
    """A short sha256 of any JSON-able value (e.g. a whole inventory), for logs and summaries."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16].lower()
