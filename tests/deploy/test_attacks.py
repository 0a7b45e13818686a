"""Attack tests for issue 17 (storage, backup/restore, migrate): each one tries to cross a boundary and compares
the stored state before and after.

- A restore of a hostile archive writes nothing outside the state folder and, when it refuses, nothing inside it.
  "Hostile" includes archives whose manifest is internally consistent (every checksum recomputed), so the
  refusal has to come from the shape of the archive, not from a checksum.
- Secrets (hub files) come back owner-only; the backup's archive and its temporary files are never readable by
  others, and a link at --output is replaced, not followed.
- The database password and the S3 secret key appear in no output, no archive and no message.
- `migrate --replace` and `restore --force` delete only below their S3 prefix.
- `storage.apply_environment` never overrides a variable the person set.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, Cli

from proeftuin import storage
from proeftuin.deploy import backup as bk
from proeftuin.deploy import inventory
from proeftuin.settings import load_settings

pytestmark = pytest.mark.timeout(120)


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every entry below `folder` (files, folders, links): mode and content hash / link target."""
    found: dict[str, tuple[int, str]] = {}
    if not folder.exists():
        return found
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            what = "->" + os.readlink(path)
        elif stat.S_ISREG(info.st_mode):
            what = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            what = ""
        found[path.relative_to(folder).as_posix()] = (info.st_mode, what)
    return found


def _write_installation(state: Path) -> None:
    """A small embedded installation made with the product's own stores (fast: no training run)."""
    from jupyterhub import orm

    from proeftuin.ideas import IdeaStore

    settings = load_settings()
    assert settings.state_dir == state
    ideas = IdeaStore(settings)
    ideas.add(author="an", organisation="waregem", question="Kunnen we meldingen over zwerfvuil sorteren?",
              asked_by="dienst omgeving", service="omgeving", personal_data=False)
    hub = state / "hub"
    hub.mkdir(mode=0o700, parents=True, exist_ok=True)
    session = orm.new_session_factory(f"sqlite:///{hub / 'jupyterhub.sqlite'}")()
    session.add(orm.User(name="an"))
    session.commit()
    session.get_bind().dispose()
    session.close()
    (hub / "jupyterhub_cookie_secret").write_text(os.urandom(32).hex())
    (hub / "admin-password").write_text("geheim-wachtwoord\n")
    for path in hub.iterdir():
        path.chmod(0o600)
    artifacts = state / "mlflow" / "artifacts" / "1" / "abc" / "artifacts"
    artifacts.mkdir(parents=True)
    (artifacts / "model_card.md").write_text("# kaart\n")
    (state / "kennisbank" / "gids").mkdir(parents=True)
    (state / "kennisbank" / "gids" / "index.json").write_text("{}")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("aanval-bron")
    state = base / "state"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROEFTUIN_HOME", str(state))
        mp.delenv("PROEFTUIN_CONFIG", raising=False)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(ROOT)
        _write_installation(state)
        archive = base / "bron.tar.gz"
        bk.backup(load_settings(), archive)
    with tarfile.open(archive, "r:gz") as tar:
        files = {i.name: tar.extractfile(i).read() for i in tar if i.isfile()}  # type: ignore[union-attr]
    manifest = json.loads(files.pop(bk.MANIFEST))
    return {"archive": archive, "files": files, "manifest": manifest}


def forge(target: Path, files: dict[str, bytes], manifest: dict, specials: list[tarfile.TarInfo] = (),
          resign: bool = True, sizes: dict[str, int] | None = None) -> Path:
    """An archive with these regular members (in order), these special members first, and the manifest last;
    with `resign` the manifest's member list is recomputed, so every checksum in it is right."""
    manifest = json.loads(json.dumps(manifest))
    if resign:
        manifest["members"] = {name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                               for name, data in files.items()}
    with tarfile.open(target, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info in specials:
            tar.addfile(info)
        for name, data in [*files.items(), (bk.MANIFEST, json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return target


@pytest.fixture
def occupied(fresh_store: Path) -> Path:
    """A target installation holding something of its own, so a refusal that changes anything shows."""
    _write_installation(fresh_store)
    return fresh_store


def _refused(state: Path, archive: Path, *words: str, force: bool = True) -> str:
    """Restore must exit 1 with a Dutch message, changing nothing in the state folder nor beside it."""
    parent = state.parent
    before, around = snapshot(state), snapshot(parent)
    result = Cli()("restore", str(archive), *(["--force"] if force else []), code=1)
    assert snapshot(state) == before, "a refused restore changed the state folder"
    assert snapshot(parent) == around, "a refused restore wrote beside the state folder"
    assert "Er is niets gewijzigd" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    return result.stderr


def _special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3
    return info


# --- hostile tar members -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../buiten.txt", "artifacts/../../buiten.txt", "artifacts/1/../../../buiten.txt",
                                  "/tmp/proeftuin-aanval-absoluut.txt", "./artifacts/x", "artifacts//x",
                                  "artifacts/./x", "artifacts/x/", "onbekend/x", "artifacts"])
def test_unsafe_member_names_are_refused(source, occupied: Path, tmp_path: Path, name: str):
    files = {**source["files"], name: b"aanval"}
    archive = forge(tmp_path / "aanval.tar.gz", files, source["manifest"])
    _refused(occupied, archive, "beschadigd of onvolledig")
    assert not Path("/tmp/proeftuin-aanval-absoluut.txt").exists()
    assert not (tmp_path.parent / "buiten.txt").exists()


def test_a_name_that_collides_after_normalisation_is_refused(source, occupied: Path, tmp_path: Path):
    victim = next(n for n in source["files"] if n.startswith("artifacts/"))
    twin = victim.replace("artifacts/", "artifacts/./", 1)
    files = {**source["files"], twin: b"de tweede versie"}
    _refused(occupied, forge(tmp_path / "tweeling.tar.gz", files, source["manifest"]), "beschadigd of onvolledig")


@pytest.mark.parametrize("kind,linkname", [(tarfile.SYMTYPE, "/etc/passwd"), (tarfile.SYMTYPE, "../../.."),
                                           (tarfile.LNKTYPE, "secrets/hub/admin-password"),
                                           (tarfile.CHRTYPE, ""), (tarfile.FIFOTYPE, "")])
def test_links_and_devices_are_refused(source, occupied: Path, tmp_path: Path, kind: bytes, linkname: str):
    special = _special("artifacts/1/link", kind, linkname)
    archive = forge(tmp_path / "link.tar.gz", source["files"], source["manifest"], specials=[special])
    _refused(occupied, archive, "onverwacht onderdeel")


# --- archives whose manifest is consistent, but which point outside what a backup makes --------------------

@pytest.mark.parametrize("member", ["secrets/mlflow/mlflow.db", "secrets/hub/jupyterhub.sqlite",
                                    "secrets/hub/up.json", "secrets/homes/an/.bashrc", "files/homes/an/.profile",
                                    "files/hub/admin-password", "secrets/hub/sub/x", "secrets/hub/.verborgen",
                                    "files/services/mlflow.env", "databases/ideas.sqlite.extra"])
def test_a_signed_member_outside_the_kept_places_is_refused(source, occupied: Path, tmp_path: Path, member: str):
    files = {**source["files"], member: b"overschreven door een archief\n"}
    _refused(occupied, forge(tmp_path / "plek.tar.gz", files, source["manifest"]))


def test_a_manifest_database_member_outside_the_staging_folder_is_refused(source, occupied: Path, tmp_path: Path):
    """The manifest names where a database is in the archive: pointing it at a file on the machine must not move
    that file into the state folder (or chmod it)."""
    import sqlite3

    victim = tmp_path / "slachtoffer.sqlite"
    with sqlite3.connect(victim) as db:
        db.execute("CREATE TABLE t (x INTEGER)")
        db.execute("INSERT INTO t VALUES (1)")
    db.close()
    victim.chmod(0o640)
    victim_before = snapshot(tmp_path)["slachtoffer.sqlite"]
    tables = inventory.database_inventory(f"sqlite:///{victim}")
    for pointer in (f"../{victim.name}", str(victim), "databases/../../" + victim.name):
        manifest = json.loads(json.dumps(source["manifest"]))
        manifest["databases"]["ideas"].update(member=pointer, tables=tables)
        files = {k: v for k, v in source["files"].items() if k != "databases/ideas.sqlite"}
        _refused(occupied, forge(tmp_path / "wijzer.tar.gz", files, manifest))
        assert snapshot(tmp_path)["slachtoffer.sqlite"] == victim_before


def test_a_manifest_database_member_that_is_not_in_the_archive_is_refused(source, occupied: Path, tmp_path: Path):
    """A database entry naming no member would otherwise restore an empty database over the real one."""
    manifest = json.loads(json.dumps(source["manifest"]))
    manifest["databases"]["ideas"].update(member="databases/leeg.sqlite", tables={})
    files = {k: v for k, v in source["files"].items() if k != "databases/ideas.sqlite"}
    _refused(occupied, forge(tmp_path / "leeg.tar.gz", files, manifest))


@pytest.mark.parametrize("change", ["extra", "missing", "outside", "size"])
def test_an_artifact_list_that_disagrees_with_the_members_is_refused_before_any_change(
        source, occupied: Path, tmp_path: Path, change: str):
    manifest = json.loads(json.dumps(source["manifest"]))
    listed = manifest["artifacts"]["files"]
    first = next(iter(listed))
    if change == "extra":
        listed["1/bestaat/niet.txt"] = {"size": 1, "sha256": "0" * 64}
    elif change == "missing":
        del listed[first]
    elif change == "outside":
        listed["../../../../../../etc/hostname"] = {"size": 1, "sha256": "0" * 64}
    else:
        listed[first] = {"size": listed[first]["size"] + 1, "sha256": listed[first]["sha256"]}
    manifest["artifacts"].update(inventory.summarise_files(listed))
    _refused(occupied, forge(tmp_path / "lijst.tar.gz", source["files"], manifest))


# --- size: a bomb stops with a Dutch message before it fills the disk ------------------------------------------

def _header_only(target: Path, name: str, size: int) -> Path:
    """A gzip'd tar whose first member claims `size` bytes (a decompression bomb's header, without the bomb)."""
    info = tarfile.TarInfo(name)
    info.size = size
    target.write_bytes(gzip.compress(info.tobuf(tarfile.PAX_FORMAT) + b"\0" * 4096))
    return target


def test_a_member_larger_than_the_free_space_is_refused_before_writing(occupied: Path, tmp_path: Path):
    free = os.statvfs(occupied.parent)
    size = free.f_bavail * free.f_frsize + (1 << 30)
    stderr = _refused(occupied, _header_only(tmp_path / "bom.tar.gz", "artifacts/1/bom.bin", size))
    assert "ruimte" in stderr and "beschadigd" not in stderr, stderr


def test_a_huge_manifest_is_not_read_into_memory(occupied: Path, tmp_path: Path):
    stderr = _refused(occupied, _header_only(tmp_path / "groot.tar.gz", bk.MANIFEST, 8 << 30))
    assert bk.MANIFEST in stderr, stderr


# --- modes: restored secrets, the archive and its temporary files -------------------------------------------

def test_restored_secrets_replace_open_files_owner_only(source, occupied: Path):
    (occupied / "hub" / "admin-password").chmod(0o644)
    (occupied / "kennisbank" / "gids" / "index.json").chmod(0o666)
    (occupied / "hub" / "oud-geheim").write_text("weg ermee")
    Cli()("restore", str(source["archive"]), "--force")
    assert (occupied / "hub" / "admin-password").read_text() == "geheim-wachtwoord\n"
    assert not (occupied / "hub" / "oud-geheim").exists()
    for member in source["files"]:
        if member.startswith(("secrets/", "files/")):
            target = bk.member_target(load_settings(), member)
            assert stat.S_IMODE(target.lstat().st_mode) == 0o600, member
    assert stat.S_IMODE(occupied.stat().st_mode) == 0o700  # (what is below it is then reachable by no one else)
    assert stat.S_IMODE((occupied / "hub").stat().st_mode) & 0o077 == 0


def test_backup_never_follows_a_link_at_output_and_never_shows_a_readable_file(occupied: Path, tmp_path: Path):
    out = tmp_path / "uit"
    out.mkdir()
    victim = tmp_path / "slachtoffer.txt"
    victim.write_text("niet overschrijven")
    victim.chmod(0o644)
    (out / "b.tar.gz").symlink_to(victim)
    seen: list[tuple[str, int]] = []

    def look(_message: str) -> None:  # called while the archive is being written
        for path in out.iterdir():
            seen.append((path.name, stat.S_IMODE(path.lstat().st_mode)))
            if path.is_dir():
                seen.extend((f"{path.name}/{p.name}", stat.S_IMODE(p.lstat().st_mode)) for p in path.iterdir())

    old = os.umask(0)  # the most careless umask a person could have
    try:
        bk.backup(load_settings(), out / "b.tar.gz", look)
    finally:
        os.umask(old)
    assert victim.read_text() == "niet overschrijven" and stat.S_IMODE(victim.stat().st_mode) == 0o644
    archive = out / "b.tar.gz"
    assert not archive.is_symlink() and stat.S_IMODE(archive.stat().st_mode) == 0o600
    temporary = [(name, mode) for name, mode in seen if name != "b.tar.gz"]
    assert temporary, "the progress callback saw the temporary files"
    assert all(mode & 0o077 == 0 for _, mode in temporary), temporary
    assert sorted(p.name for p in out.iterdir()) == ["b.tar.gz"]


# --- credentials --------------------------------------------------------------------------------------------

MARKER = "Zq8-uniek-wachtwoord-merkteken"


@pytest.mark.parametrize("url", [f"postgresql://proeftuin:{MARKER}@db.example:5432",
                                 f"http://proeftuin:{MARKER}@db.example:5432",
                                 f"mysql://proeftuin:{MARKER}@db.example:5432",
                                 f"postgresql://proeftuin:{MARKER}@db.example:5432/mlflow",
                                 f"postgresql://proeftuin:{MARKER}@"])
def test_a_password_in_the_address_is_refused_and_never_echoed(occupied: Path, url: str):
    before = snapshot(occupied)
    for args in (["migrate", "--to", url, "--artifacts", "s3://b/p"],
                 ["migrate", "--to", url, "--artifacts", "s3://b/p", "--json"]):
        result = Cli()(*args, code=1)
        assert MARKER not in result.stdout + result.stderr, result.stderr
        assert "Er is niets gewijzigd" in result.stderr, result.stderr
    assert snapshot(occupied) == before


def test_a_password_in_proeftuin_yaml_is_never_echoed(occupied: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch):
    for url in (f"postgresql://proeftuin:{MARKER}@db.example:5432", f"https://proeftuin:{MARKER}@db.example"):
        config = yaml.safe_load((ROOT / "proeftuin.yaml").read_text(encoding="utf-8"))
        config["storage"] = {"postgresql": url}
        path = tmp_path / "proeftuin.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("PROEFTUIN_CONFIG", str(path))
        result = Cli()("backup", "--output", str(tmp_path / "b.tar.gz"), code=1)
        assert MARKER not in result.stdout + result.stderr, result.stderr


def test_apply_environment_never_overrides_what_the_person_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    secret = tmp_path / "db-password"
    secret.write_text("uit-het-bestand\n")
    secret.chmod(0o600)
    config = yaml.safe_load((ROOT / "proeftuin.yaml").read_text(encoding="utf-8"))
    config["storage"] = {"postgresql": "postgresql://proeftuin@127.0.0.1:1", "password_file": str(secret),
                         "s3": "s3://b/p", "s3_endpoint_url": "http://127.0.0.1:1"}
    path = tmp_path / "proeftuin.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    scaled = load_settings(path)
    embedded = load_settings(ROOT / "proeftuin.yaml")
    monkeypatch.setenv("PGPASSWORD", "van-de-persoon")
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", "http://door-de-persoon:9000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sleutel-van-de-persoon")
    for settings in (scaled, embedded, scaled):
        storage.apply_environment(settings)
        assert os.environ["PGPASSWORD"] == "van-de-persoon"
        assert os.environ["MLFLOW_S3_ENDPOINT_URL"] == "http://door-de-persoon:9000"
        assert os.environ["AWS_SECRET_ACCESS_KEY"] == "sleutel-van-de-persoon"
    # what apply_environment set itself follows the settings; once the person sets it, it is theirs
    monkeypatch.delenv("PGPASSWORD")
    storage.apply_environment(scaled)
    assert os.environ["PGPASSWORD"] == "uit-het-bestand"
    monkeypatch.setenv("PGPASSWORD", "nu-van-de-persoon")
    storage.apply_environment(embedded)
    storage.apply_environment(scaled)
    assert os.environ["PGPASSWORD"] == "nu-van-de-persoon"
    monkeypatch.delenv("PGPASSWORD")
    storage.apply_environment(embedded)
    assert "PGPASSWORD" not in os.environ


# --- the scaled backends: secrets in outputs, deletes outside the prefix, uploads of local files -------------

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import postgres_server, s3_server  # noqa: E402

BUCKET = "aanval"
#: objects beside the prefix `mlflow` that neither --replace nor --force may touch
NEIGHBOURS = {"mlflow-ander/x.txt": b"buur 1", "mlflowx": b"buur 2", "andere-map/mlflow/y.txt": b"buur 3",
              "mlflow": b"een object met de naam van de map"}


@pytest.fixture(scope="module")
def servers():
    with postgres_server() as pg, s3_server() as s3:
        s3.create_bucket(BUCKET)
        client = s3.client()
        for key, data in NEIGHBOURS.items():
            client.put_object(Bucket=BUCKET, Key=key, Body=data)
        yield pg, s3


def _scaled_config(folder: Path, pg, s3, state: Path) -> Path:
    password = folder / "db-password"
    password.write_text(pg.password + "\n")
    password.chmod(0o600)
    config = yaml.safe_load((ROOT / "proeftuin.yaml").read_text(encoding="utf-8"))
    config.update(state_dir=str(state), pilots_dir=str(ROOT / "pilots"))
    config["storage"] = {"postgresql": pg.server, "password_file": str(password), "s3": f"s3://{BUCKET}/mlflow",
                         "s3_endpoint_url": s3.endpoint}  # the databases migrate filled (the default names)
    path = folder / "proeftuin-schaal.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _leaks(text: str | bytes, pg, s3) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [what for what, secret in (("database password", pg.password),
                                      ("S3 secret", s3.environment["AWS_SECRET_ACCESS_KEY"]))
            if secret.encode() in data]


def test_scaled_backends_keep_secrets_and_their_prefix(servers, occupied: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    pg, s3 = servers
    for key, value in s3.environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PROEFTUIN_DB_PASSWORD", pg.password)
    pg.create_database("proeftuin_mlflow")  # (migrate makes the databases of the parts it moves; no MLflow here)
    to = ["migrate", "--to", pg.server, "--artifacts", f"s3://{BUCKET}/mlflow", "--s3-endpoint-url", s3.endpoint]
    outputs = []
    first = Cli()(*to, "--json")
    outputs += [first.stdout, first.stderr]
    again = Cli()(*to, code=1)  # the target is filled now: refused without --replace
    outputs += [again.stdout, again.stderr]
    replaced = Cli()(*to, "--replace")
    outputs += [replaced.stdout, replaced.stderr]
    objects = s3.objects(BUCKET)
    assert {k: objects[k] for k in NEIGHBOURS} == NEIGHBOURS, "--replace touched objects outside its prefix"
    assert "mlflow/1/abc/artifacts/model_card.md" in objects

    # the migrated installation, as its printed storage section says, backed up: no secret in the archive
    monkeypatch.setenv("PROEFTUIN_CONFIG", str(_scaled_config(tmp_path, pg, s3, occupied)))
    archive = tmp_path / "schaal.tar.gz"
    made = Cli()("backup", "--output", str(archive), "--json")
    outputs += [made.stdout, made.stderr]
    with tarfile.open(archive, "r:gz") as tar:
        members = {i.name: tar.extractfile(i).read() for i in tar if i.isfile()}  # type: ignore[union-attr]
    for name, data in members.items():
        assert not _leaks(data, pg, s3), name
    for text in outputs:
        assert not _leaks(text, pg, s3), text
    assert json.loads(made.stdout)["databases"]["platform"]["counts"] == {"ideas": 1}

    # a consistent archive listing a local file as an artifact must not upload it; --force deletes only below
    # the prefix
    local = tmp_path / "geheim-op-de-server.txt"
    local.write_text("niet naar de bucket")
    manifest = json.loads(members.pop(bk.MANIFEST))
    rel = os.path.relpath(local, "/" + "x/" * 12)  # ../../../ ... /geheim-op-de-server.txt, whatever the staging
    manifest["artifacts"]["files"][rel] = inventory.sha256_file(local)
    manifest["artifacts"].update(inventory.summarise_files(manifest["artifacts"]["files"]))
    before_objects = s3.objects(BUCKET)
    before_rows = inventory.database_inventory(pg.url("proeftuin"))
    stderr = _refused(occupied, forge(tmp_path / "lokaal.tar.gz", members, manifest))
    assert not _leaks(stderr, pg, s3)
    assert s3.objects(BUCKET) == before_objects
    assert inventory.database_inventory(pg.url("proeftuin")) == before_rows

    s3.client().put_object(Bucket=BUCKET, Key="mlflow/extra.txt", Body=b"weg bij --force")
    restored = Cli()("restore", str(archive), "--force", "--json")
    assert not _leaks(restored.stdout + restored.stderr, pg, s3)
    objects = s3.objects(BUCKET)
    assert "mlflow/extra.txt" not in objects
    assert {k: objects[k] for k in NEIGHBOURS} == NEIGHBOURS, "--force touched objects outside its prefix"
    with pg.connect() as db:  # close the stores' pools, so the server stops at once
        db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                   "AND backend_type = 'client backend'")
