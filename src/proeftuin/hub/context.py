"""The hub's context: `HubContext` (settings, locations and addresses, resolved once), whether user servers
are isolated under accounts of their own, the state folder's `ensure_*` helpers, and what a service process
does first.

The JupyterHub config functions (`apply_config`, `update_*`, `load_config_d`) that
`hub_config/jupyterhub_config.py` calls with a `HubContext` are in `proeftuin.hub.config`; they are
re-exported here, so `proeftuin.hub.context` (and the old `proeftuin.hub`) keeps offering every name.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from proeftuin.errors import ConfigError
from proeftuin.hub.config import (  # noqa: F401 (part of this module's API)
    ADMIN_GROUP,
    ENV_SERVICE_HOME,
    HUB_CONFIG_FILE,
    HUB_TEMPLATES,
    PUBLIC_SERVICES,
    REPO_ROOT,
    HubDatabaseConnection,
    apply_config,
    load_config_d,
    update_auth,
    update_base,
    update_limits,
    update_services,
    update_spawner,
)
from proeftuin.hub.forkserver import SOCKET_NAME, socket_path_fits
from proeftuin.settings import Settings, find_config_file, get_settings

ENV_HUB_PORT = "PROEFTUIN_HUB_PORT"
SERVICE_PREFIX = "/services"
#: When `up` runs as root, the services run unprivileged: MLflow, the sign-on layers and the docs builder
#: as SERVICE_ACCOUNT (it owns the MLflow store and the built site), the gallery, which executes registered
#: model code, as GALLERY_ACCOUNT (it owns only its feedback; it reads models through /services/mlflow).
SERVICE_ACCOUNT = "proeftuin"
GALLERY_ACCOUNT = "proeftuin-galerij"


@dataclass(frozen=True)
class HubContext:
    """Everything the config functions need, resolved once (so the functions stay pure setters)."""

    settings: Settings
    config_file: Path
    port: int
    isolate: bool
    python: str = sys.executable
    user_bin: Path | None = None  # where user servers find python/proeftuin; None: the platform's own
    isolation_problem: str | None = None  # why users are not isolated, in Dutch

    @classmethod
    def from_environment(cls) -> HubContext:
        settings = get_settings()
        port = int(os.environ.get(ENV_HUB_PORT) or settings.ports.hub)
        isolate, user_bin, problem = isolation(settings)
        return cls(settings, find_config_file(), port, isolate, user_bin=user_bin, isolation_problem=problem)

    @classmethod
    def for_service(cls) -> HubContext:
        """Inside a service process (unprivileged): locations and addresses only, isolation is the hub's business."""
        settings = get_settings()
        return cls(settings, find_config_file(), int(os.environ.get(ENV_HUB_PORT) or settings.ports.hub), False)

    # Locations, derived from the state folder (never stored).
    @property
    def hub_dir(self) -> Path:
        return self.settings.state_dir / "hub"

    @property
    def homes_dir(self) -> Path:
        return self.settings.state_dir / "homes"

    @property
    def site_dir(self) -> Path:
        return self.settings.state_dir / "site"

    @property
    def fork_server_socket(self) -> Path:
        """Where `up` runs the fork server that starts notebook servers (in the hub's private folder)."""
        return self.hub_dir / SOCKET_NAME

    @property
    def admin_password_file(self) -> Path:
        return self.hub_dir / "admin-password"

    @property
    def mlflow_artifacts_dir(self) -> Path:
        return self.settings.mlflow_dir / "artifacts"

    @property
    def sockets_dir(self) -> Path:
        """The backends listen on Unix sockets below this folder, never on TCP (see docs/developer/security.md)."""
        return self.settings.state_dir / "sockets"

    @property
    def mlflow_socket(self) -> Path:
        """MLflow's socket; its folder (0700) is open to SERVICE_ACCOUNT only."""
        return self.sockets_dir / "mlflow" / "mlflow.sock"

    @property
    def gallery_socket(self) -> Path:
        """The gallery's socket; its folder (0750, group SERVICE_ACCOUNT) lets only the sign-on layer in."""
        return self.sockets_dir / "gallery" / "gallery.sock"

    @property
    def services_dir(self) -> Path:
        """Homes of the service accounts (caches, temporary files), one folder each."""
        return self.settings.state_dir / "services"

    @property
    def server_logs_dir(self) -> Path:
        """One log per user server, written by the hub (root-only): user code never holds the hub's log."""
        return self.hub_dir / "servers"

    def service_account(self, name: str) -> str | None:
        """The system account a service runs as; None: as the hub (not isolated, e.g. not root)."""
        if not self.isolate:
            return None
        return GALLERY_ACCOUNT if name == "gallery-app" else SERVICE_ACCOUNT

    @property
    def public_url(self) -> str:
        return (self.settings.hub.public_url or f"http://{self.settings.host}:{self.port}").rstrip("/")

    @property
    def internal_url(self) -> str:
        """How processes on this machine (notebooks, services) reach the hub's proxy."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def mlflow_service_uri(self) -> str:
        """MLflow for the platform's own processes (gallery, docs builder): through the hub and the sign-on
        layer with the process's own hub token, which makes them readers (no organisation, no writes)."""
        return self.service_url("mlflow")

    def service_url(self, name: str) -> str:
        return f"{self.internal_url}{SERVICE_PREFIX}/{name}"

    @property
    def proxy_command(self) -> str:
        return str(self.settings.project_root / "node_modules" / ".bin" / "configurable-http-proxy")

    @property
    def bin_dir(self) -> Path:
        return Path(self.python).parent

    @property
    def server_bin(self) -> Path:
        return self.user_bin or self.bin_dir

    @property
    def runtime_dir(self) -> Path:
        return runtime_dir(self.settings)

    def environment(self) -> dict[str, str]:
        """Variables every hub-managed service gets, so it reads the same proeftuin.yaml and state."""
        return {
            "PROEFTUIN_CONFIG": str(self.config_file),
            "PROEFTUIN_HOME": str(self.settings.state_dir),
            "PROEFTUIN_PILOTS_DIR": str(self.settings.pilots_dir),
            ENV_HUB_PORT: str(self.port),
            "MLFLOW_TRACKING_URI": self.mlflow_service_uri,
            # MLflow 3's background job runner (online scoring, trace archival) is not used here and
            # costs seven worker processes.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            # No usage data to MLflow's makers from the server or its UI (it asks the server whether to send).
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "PYTHONUNBUFFERED": "1",
        }


def runtime_dir(settings: Settings) -> Path:
    """A small virtualenv for user servers when the platform's Python is out of their reach."""
    return settings.state_dir / "runtime" / "venv"


def others_can_run(path: Path) -> bool:
    """Can an unprivileged account execute this file (every folder above it searchable)?"""
    try:
        real = path.resolve()
        return bool(real.stat().st_mode & 0o001) and all(p.stat().st_mode & 0o001 for p in real.parents)
    except OSError:
        return False


def system_python() -> Path:
    return Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")


def isolation(settings: Settings, python: str = sys.executable) -> tuple[bool, Path | None, str | None]:
    """(isolate?, bin folder for user servers, why not isolated). A system account per user needs root,
    and a Python the accounts may run: the platform's own, else the same version from the OS."""
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    problem = None
    user_bin = None
    if settings.hub.isolation == "none":
        problem = "hub.isolation staat op 'none' in proeftuin.yaml"
    elif not root:
        problem = "het platform draait niet als root, dus er kunnen geen accounts per gebruiker gemaakt worden"
    elif others_can_run(Path(python)) and others_can_run(Path(sys.prefix) / "pyvenv.cfg"):
        user_bin = None
    elif others_can_run(system_python()):
        user_bin = runtime_dir(settings) / "bin"
    else:
        problem = (f"de Python van het platform ({Path(python).resolve()}) is onbereikbaar voor andere accounts "
                   f"en {system_python()} ontbreekt")
    if problem and settings.hub.isolation == "system-users":
        raise ConfigError(f"hub.isolation is 'system-users', maar afscherming is niet mogelijk: {problem}.",
                          "Start `proeftuin up` als root met een bereikbare Python, of zet hub.isolation op 'auto'.")
    return problem is None, user_bin, problem


def should_isolate(settings: Settings) -> bool:
    return isolation(settings)[0]


# --- state folder helpers (idempotent, named ensure_*) ---------------------------------------------

def ensure_hub_state(hub: HubContext) -> None:
    """The state folder and the hub's private folder; traversable by user accounts when isolating."""
    state = hub.settings.ensure_state_dir()
    hub.hub_dir.mkdir(mode=0o700, exist_ok=True)
    hub.hub_dir.chmod(0o700)
    hub.mlflow_artifacts_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    hub.homes_dir.mkdir(mode=0o711, exist_ok=True)
    # User accounts need to pass through to their homes, never to list or read the rest.
    state.chmod(0o711 if hub.isolate else 0o700)
    hub.homes_dir.chmod(0o711 if hub.isolate else 0o700)
    if hub.isolate and hub.user_bin is not None:
        ensure_user_runtime(hub)
    ensure_service_state(hub)


def ensure_service_accounts() -> dict[str, pwd.struct_passwd]:
    """The unprivileged system accounts of the services (no login shell, no home of their own)."""
    accounts = {}
    for name in (SERVICE_ACCOUNT, GALLERY_ACCOUNT):
        try:
            accounts[name] = pwd.getpwnam(name)
        except KeyError:
            subprocess.run([shutil.which("useradd") or "/usr/sbin/useradd", "--system", "--user-group",  # noqa: S603
                            "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                            "--comment", "Proeftuin-dienst", name], check=True, capture_output=True, text=True)
            accounts[name] = pwd.getpwnam(name)
    return accounts


def ensure_service_state(hub: HubContext) -> None:
    """Each service owns only the state it needs: SERVICE_ACCOUNT the MLflow store, the built site and MLflow's
    socket folder; GALLERY_ACCOUNT the gallery's feedback and its socket folder, which SERVICE_ACCOUNT's group
    (the sign-on layer) may enter. The hub's folder (database, cookie secret, admin password, logs) and the
    homes stay out of their reach. Idempotent; without isolation everything belongs to the one account."""
    for path in (hub.mlflow_socket, hub.gallery_socket):
        if not socket_path_fits(path):
            raise ConfigError(f"Het pad {path} is te lang voor een Unix-socket (hoogstens 103 tekens).",
                              "Kies een kortere statusmap met PROEFTUIN_HOME of state_dir in proeftuin.yaml.")
    from proeftuin.ideas import IdeaStore, ideas_path

    # The ideas: written by the portal (in the hub), read by the docs builder (SERVICE_ACCOUNT), which owns them.
    ideas_dir = ideas_path(hub.settings.state_dir).parent
    folders = {hub.sockets_dir: 0o711, hub.mlflow_socket.parent: 0o700, hub.gallery_socket.parent: 0o750,
               hub.services_dir: 0o711, hub.site_dir: 0o700, hub.settings.state_dir / "gallery": 0o700,
               ideas_dir: 0o700}
    for name in (SERVICE_ACCOUNT, GALLERY_ACCOUNT, "platform"):
        folders[hub.services_dir / name] = 0o700
    for folder, mode in folders.items():
        folder.mkdir(mode=mode, parents=True, exist_ok=True)
        folder.chmod(mode if hub.isolate else 0o700)
    if not hub.isolate:
        return
    accounts = ensure_service_accounts()
    service, gallery = accounts[SERVICE_ACCOUNT], accounts[GALLERY_ACCOUNT]
    owners = {hub.settings.mlflow_dir: (service.pw_uid, service.pw_gid),
              hub.site_dir: (service.pw_uid, service.pw_gid),
              hub.mlflow_socket.parent: (service.pw_uid, service.pw_gid),
              hub.services_dir / SERVICE_ACCOUNT: (service.pw_uid, service.pw_gid),
              hub.settings.state_dir / "gallery": (gallery.pw_uid, gallery.pw_gid),
              hub.gallery_socket.parent: (gallery.pw_uid, service.pw_gid),
              hub.services_dir / GALLERY_ACCOUNT: (gallery.pw_uid, gallery.pw_gid),
              ideas_dir: (service.pw_uid, service.pw_gid)}
    # Created here and given to SERVICE_ACCOUNT: SQLite, running as root in the hub, then gives the -wal and
    # -shm files it creates the database file's owner, so the docs builder can keep reading them.
    IdeaStore(hub.settings)
    for top, (uid, gid) in owners.items():
        chown_tree(top, uid, gid)


def chown_tree(top: Path, uid: int, gid: int) -> None:
    """Give a folder and everything below it to an account, never following links (lchown)."""
    paths = [str(top)]
    for folder, dirs, files in os.walk(top, followlinks=False):
        paths += [os.path.join(folder, name) for name in (*dirs, *files)]
    for path in paths:
        info = os.lstat(path)
        if (info.st_uid, info.st_gid) != (uid, gid):
            os.lchown(path, uid, gid)


def ensure_user_runtime(hub: HubContext) -> Path:
    """A virtualenv on the OS's Python that sees the platform's packages (read-only), for user servers."""
    venv = hub.runtime_dir
    site = next(Path(sys.prefix).glob("lib/python3*/site-packages"))
    if not (venv / "bin" / "python").exists():
        subprocess.run([str(system_python()), "-m", "venv", "--without-pip", str(venv)],  # noqa: S603
                       check=True, capture_output=True)
    target = next(venv.glob("lib/python3*/site-packages"))
    (target / "proeftuin-platform.pth").write_text(f"import site; site.addsitedir({str(site)!r})\n")
    python = venv / "bin" / "python"
    for name, module in (("proeftuin", "proeftuin.cli"), ("mlflow", "mlflow.cli")):
        script = venv / "bin" / name
        script.write_text(f"#!{python}\nimport sys\nfrom {module} import {'main' if name == 'proeftuin' else 'cli'}"
                          f" as entry\nsys.exit(entry())\n")
        script.chmod(0o755)
    for folder in (hub.settings.state_dir / "runtime", *venv.rglob("*"), venv):
        if folder.is_dir():
            folder.chmod(0o755)
    return venv


def ensure_admin_password(path: Path) -> tuple[str, bool]:
    """The first admin's password: generated once, stored with mode 0600. Returns (password, created)."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    password = secrets.token_urlsafe(15)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password, True


def proxy_installed(hub: HubContext) -> bool:
    return Path(hub.proxy_command).exists() or shutil.which("configurable-http-proxy") is not None


# --- inside a service process ----------------------------------------------------------------------

def prepare_service_process() -> None:
    """First thing a hub-managed service does: stop on the hub's signals, keep caches and temporary files in
    its own folder (the service accounts have no home; /tmp is shared with user code), create files for
    its own account only, and use its own hub token as its MLflow credential (a reader there)."""
    import signal

    # The hub stops a service with SIGINT, then SIGTERM: both end it, even if SIGINT was inherited ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    os.umask(0o077)
    home = os.environ.get(ENV_SERVICE_HOME)
    if home:
        tmp = Path(home) / "tmp"
        tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ.update({"HOME": home, "TMPDIR": str(tmp), "GRADIO_TEMP_DIR": str(tmp / "gradio"),
                           "MPLCONFIGDIR": str(Path(home) / "matplotlib"), "XDG_CACHE_HOME": str(Path(home) / "cache")})
    if os.environ.get("JUPYTERHUB_API_TOKEN"):
        os.environ.setdefault("MLFLOW_TRACKING_TOKEN", os.environ["JUPYTERHUB_API_TOKEN"])


def start_service(argv: list[str] | None, log_format: str = "[%(name)s] %(message)s") -> tuple[str, HubContext]:
    """The opening of every hub-managed service's `main()`: prepare the process, die with the hub (even when
    it is killed with SIGKILL), log to stderr; returns the service asked for (the first argument) and its
    context."""
    import logging
    import sys

    from proeftuin.process import die_with_parent

    prepare_service_process()
    die_with_parent()
    logging.basicConfig(level=logging.INFO, format=log_format)
    return (argv or sys.argv[1:] or [""])[0], HubContext.for_service()


def unix_http_status(socket_path: Path, path: str, timeout: float = 3) -> int:
    """The HTTP status of a GET to a backend on its Unix socket (`up` waits for MLflow this way)."""
    import http.client
    import socket

    class Connection(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(str(socket_path))

    connection = Connection("localhost", timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()
