"""Real backend servers for the storage tests and the benchmarks: a PostgreSQL cluster and moto's S3 server.

Each runs on loopback in a temporary folder, never as root (under the `postgres` / `nobody` account when the
tests run as root), with the parent-death signal set after the account change, so a killed test run leaves
nothing behind. Debian's `postgresql` package provides initdb and postgres (`make test` installs it as root).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from proeftuin.process import stop_process

IS_ROOT = os.geteuid() == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    if path := shutil.which(name):
        return path
    raise RuntimeError(f"{name} ontbreekt: installeer PostgreSQL (make test doet dat als root: apt-get install "
                       "postgresql)")


def _unprivileged(account: str) -> list[str]:
    """argv prefix: drop to `account` when root; the parent-death signal is set after the change either way."""
    if IS_ROOT:
        return ["setpriv", f"--reuid={account}", f"--regid={pwd.getpwnam(account).pw_gid}", "--clear-groups",
                "--pdeathsig=TERM", "--"]
    return ["setpriv", "--pdeathsig=TERM", "--"]


def _owned_tempdir(account: str, prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if IS_ROOT:
        entry = pwd.getpwnam(account)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    return folder


def _wait_port(port: int, process: subprocess.Popen, what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} stopte meteen (code {process.returncode}): {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} antwoordt niet op poort {port} na {timeout:.0f} s: {log.read_text()[-2000:]}")


@dataclass
class Postgres:
    host: str
    port: int
    user: str
    password: str
    folder: Path

    @property
    def server(self) -> str:
        """What goes in proeftuin.yaml (storage.postgresql): no password."""
        return f"postgresql://{self.user}@{self.host}:{self.port}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=database, autocommit=True)

    def create_database(self, name: str) -> str:
        with self.connect() as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with self.connect() as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_server():
    """A fresh PostgreSQL cluster with a password-protected superuser `proeftuin` on a free loopback port."""
    account = "postgres"
    folder = _owned_tempdir(account, "proeftuin-pg-")
    data, log = folder / "data", folder / "server.log"
    password = secrets.token_urlsafe(16)
    pwfile = folder / "pw"
    pwfile.write_text(password)
    if IS_ROOT:
        entry = pwd.getpwnam(account)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    pwfile.chmod(0o600)
    subprocess.run([*_unprivileged(account), _pg_bin("initdb"), "-D", str(data), "-U", "proeftuin",
                    "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                   check=True, capture_output=True, cwd=folder)
    pwfile.unlink()
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [*_unprivileged(account), _pg_bin("postgres"), "-D", str(data), "-p", str(port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={folder}",
             "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    try:
        _wait_port(port, process, "PostgreSQL", log)
        server = Postgres("127.0.0.1", port, "proeftuin", password, folder)
        deadline = time.monotonic() + 30
        while True:  # the port answers a moment before the server accepts logins
            try:
                server.connect().close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield server
    finally:
        stop_process(process, timeout=30)  # SIGINT first: PostgreSQL's "fast" shutdown (SIGTERM waits for clients)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class S3:
    endpoint: str
    folder: Path

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="proeftuin-test",
                            aws_secret_access_key="proeftuin-test-geheim", region_name="us-east-1")

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> dict[str, bytes]:
        client = self.client()
        found: dict[str, bytes] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                found[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        return found

    #: for the environment of a process that uses it (boto3 and MLflow read these)
    environment = property(lambda self: {"AWS_ACCESS_KEY_ID": "proeftuin-test",
                                         "AWS_SECRET_ACCESS_KEY": "proeftuin-test-geheim",
                                         "AWS_DEFAULT_REGION": "us-east-1", "MLFLOW_S3_ENDPOINT_URL": self.endpoint})


@contextmanager
def s3_server():
    """moto's S3 server mode (a real S3 protocol endpoint) on a free loopback port."""
    account = "nobody"
    folder = _owned_tempdir(account, "proeftuin-s3-")
    log = folder / "server.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with log.open("w") as out:
        process = subprocess.Popen([*_unprivileged(account), sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                    "-p", str(port)], stdout=out, stderr=subprocess.STDOUT, cwd=folder,
                                   env={**env, "HOME": str(folder)})
    try:
        _wait_port(port, process, "moto (S3)", log)
        yield S3(f"http://127.0.0.1:{port}", folder)
    finally:
        stop_process(process, timeout=20)
        shutil.rmtree(folder, ignore_errors=True)
