"""JupyterHub configuration for Proeftuin: small `update_*(c, hub)` functions that only set values.

`hub_config/jupyterhub_config.py` calls `apply_config(c, HubContext.from_environment())` (imported from
`proeftuin.hub.context`, which re-exports everything here); the tests call the same functions on a bare
`traitlets.config.Config()`. Config should never append or mutate, only set: every function here may be
called many times.

The hub runs on one machine (embedded default): the official configurable-http-proxy from npm, a
JupyterLab server per user started locally (under a system account per user when the hub runs as
root), and MLflow, the gallery and the docs site as hub-managed services behind the proxy, each with
single sign-on through the hub.

Everything the functions read comes from the `HubContext` they are given; this module does not import
`proeftuin.hub.context` (which imports this one), so the constants the config sets live here.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from proeftuin import storage
from proeftuin.errors import ConfigError
from proeftuin.hub.forkserver import socket_path_fits

if TYPE_CHECKING:
    from proeftuin.hub.context import HubContext

REPO_ROOT = Path(__file__).resolve().parents[3]
HUB_CONFIG_FILE = REPO_ROOT / "hub_config" / "jupyterhub_config.py"
HUB_TEMPLATES = Path(__file__).resolve().parent / "templates"
ADMIN_GROUP = "proeftuin-beheer"  # OIDC: admins by group claim
#: Services behind the hub's proxy, each reached at /services/<name>/ after single sign-on.
PUBLIC_SERVICES = ("mlflow", "gallery", "docs")
#: Set for every service process: `prepare_service_process` makes it the process's HOME (caches, config).
ENV_SERVICE_HOME = "PROEFTUIN_SERVICE_HOME"


class HubDatabaseConnection(sqlite3.Connection):
    """The hub's SQLite database in WAL mode with synchronous=NORMAL: a commit appends to the log instead
    of waiting for fsync. JupyterHub commits on its event loop several times per login and per spawn, and
    on a busy disk each fsync stalled every request (5 s during a burst of 20 logins). A power cut may
    lose the last commits (e.g. a just-approved sign-up), never the database's consistency.

    Set as `sqlite3.connect(factory=...)` through JupyterHub.db_kwargs, so only the hub's own database."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA journal_mode=WAL")
        self.execute("PRAGMA synchronous=NORMAL")


# --- the config functions -------------------------------------------------------------------------

def update_base(c, hub: HubContext) -> None:
    """Addresses, state files and the proxy: everything stateful lives in <state>/hub (mode 0700)."""
    hub_dir = hub.hub_dir
    tls = hub.settings.hub.tls
    c.JupyterHub.bind_url = f"{'https' if tls else 'http'}://{hub.settings.host}:{hub.port}/"
    if tls:  # HTTPS on the public port (the proxy's); otherwise the login page says what plain HTTP means
        c.JupyterHub.ssl_cert = str(tls.certificate)
        c.JupyterHub.ssl_key = str(tls.key)
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{hub.settings.hub.ports.api}"
    c.JupyterHub.db_url = storage.database_url(hub.settings, "hub")  # SQLite in hub_dir, or PostgreSQL
    if storage.uses_postgresql(hub.settings):
        secret = storage.password(hub.settings)
        c.JupyterHub.db_kwargs = {"pool_pre_ping": True,
                                  "connect_args": {"connect_timeout": 10, **({"password": secret} if secret else {})}}
    else:
        c.JupyterHub.db_kwargs = {"connect_args": {"check_same_thread": False, "factory": HubDatabaseConnection}}
    c.JupyterHub.cookie_secret_file = str(hub_dir / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(hub_dir / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True  # Ctrl-C stops notebook servers; homes and state stay
    c.JupyterHub.default_url = "/hub/portaal"  # proeftuin.hub.portal: "Wat wil je doen?"
    c.JupyterHub.extra_user_scopes = {"access:services"}  # every logged-in user may open every service
    # Dutch pages that extend JupyterHub's own (hub_templates/*.html), with lang="nl" (hub_portal.DutchPages).
    c.JupyterHub.template_paths = [str(HUB_TEMPLATES)]
    c.JupyterHub.jinja_environment_options = {"extensions": ["proeftuin.hub.portal.DutchPages"]}
    c.JupyterHub.template_vars = {"authenticator_native": hub.settings.hub.authenticator == "native"}
    c.ConfigurableHTTPProxy.command = [hub.proxy_command]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub.settings.hub.ports.proxy_api}"
    c.ConfigurableHTTPProxy.pid_file = str(hub_dir / "proxy.pid")
    c.ConfigurableHTTPProxy.should_start = True


def update_auth(c, hub: HubContext) -> None:
    """NativeAuthenticator (embedded default) or OpenID Connect; groups = organisations either way."""
    cfg = hub.settings.hub
    c.Authenticator.admin_users = {cfg.admin_user}
    c.Authenticator.manage_groups = True
    if cfg.authenticator == "native":
        c.JupyterHub.authenticator_class = "proeftuin.hub.auth.ProeftuinNativeAuthenticator"
        c.Authenticator.allow_all = True  # the admin's approval of each sign-up is the gate
        c.ProeftuinNativeAuthenticator.organisations = {o.slug: o.name for o in hub.settings.organisations}
        c.ProeftuinNativeAuthenticator.admin_password_file = str(hub.admin_password_file)
        c.NativeAuthenticator.open_signup = False
        c.NativeAuthenticator.enable_signup = True
        c.NativeAuthenticator.minimum_password_length = cfg.minimum_password_length
        c.NativeAuthenticator.check_common_password = True
        c.NativeAuthenticator.allowed_failed_logins = 5
        c.NativeAuthenticator.seconds_before_next_try = 120
        return
    oidc = cfg.oidc
    if not oidc.client_id:
        raise ConfigError("hub.authenticator is 'oidc', maar hub.oidc.client_id is leeg.",
                          "Vul client_id (en tenant_id of de URL's van je identiteitsprovider) in proeftuin.yaml in.")
    authorize_url, token_url = oidc.authorize_url, oidc.token_url
    if oidc.tenant_id:
        base = f"https://login.microsoftonline.com/{oidc.tenant_id}/oauth2/v2.0"
        authorize_url, token_url = authorize_url or f"{base}/authorize", token_url or f"{base}/token"
    if not (authorize_url and token_url):
        raise ConfigError("hub.oidc heeft geen tenant_id en geen authorize_url/token_url.",
                          "Geef tenant_id op (Microsoft Entra ID) of de URL's van je OpenID Connect-provider.")
    c.JupyterHub.authenticator_class = "proeftuin.hub.auth.ProeftuinOIDCAuthenticator"
    c.ProeftuinOIDCAuthenticator.organisation_claims = dict(oidc.group_organisations)
    c.ProeftuinOIDCAuthenticator.admin_claims = set(oidc.admin_groups)
    c.ProeftuinOIDCAuthenticator.organisations = {o.slug: o.name for o in hub.settings.organisations}
    c.GenericOAuthenticator.client_id = oidc.client_id
    c.GenericOAuthenticator.client_secret = os.environ.get(oidc.client_secret_env, "")
    c.GenericOAuthenticator.authorize_url = authorize_url
    c.GenericOAuthenticator.token_url = token_url
    if oidc.userdata_url:
        c.GenericOAuthenticator.userdata_url = oidc.userdata_url
    else:
        c.GenericOAuthenticator.userdata_from_id_token = True
    c.GenericOAuthenticator.oauth_callback_url = oidc.callback_url or f"{hub.public_url}/hub/oauth_callback"
    c.GenericOAuthenticator.login_service = oidc.login_service
    c.GenericOAuthenticator.scope = list(oidc.scopes)
    c.GenericOAuthenticator.username_claim = oidc.username_claim
    c.GenericOAuthenticator.auth_state_groups_key = f"oauth_user.{oidc.groups_claim}"
    # Only members of a known organisation (or an admin group) get in.
    c.GenericOAuthenticator.allowed_groups = {o.slug for o in hub.settings.organisations} | {ADMIN_GROUP}
    c.GenericOAuthenticator.admin_groups = {ADMIN_GROUP}
    c.GenericOAuthenticator.allow_all = False


def update_spawner(c, hub: HubContext) -> None:
    """JupyterLab per user, home in the state folder, tracking URI and credentials in the environment."""
    cfg = hub.settings.hub
    c.JupyterHub.spawner_class = "proeftuin.hub.spawner.ProeftuinSpawner"
    c.Spawner.cmd = [str(hub.server_bin / "python"), "-m", "jupyterhub.singleuser"]
    # JupyterLab opens on "Start hier", which lists every pilot's notebook (hub_seed); Dutch and without
    # calls to the internet (ProeftuinSpawner.lab_config_dir, hub_spawner.LAB_ARGS).
    c.Spawner.default_url = "/lab/tree/Start%20hier.ipynb"
    c.Spawner.start_timeout = cfg.start_timeout
    c.Spawner.http_timeout = cfg.start_timeout
    # $JUPYTERHUB_API_TOKEN doubles as the MLflow credential, so it may reach the services.
    c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", "access:services",
                                     "read:users:name!user", "read:users:groups!user"]
    c.ProeftuinSpawner.homes_dir = str(hub.homes_dir)
    c.ProeftuinSpawner.server_logs_dir = str(hub.server_logs_dir)
    c.ProeftuinSpawner.isolate = hub.isolate
    c.ProeftuinSpawner.organisations = [o.slug for o in hub.settings.organisations]
    c.ProeftuinSpawner.tracking_uri = hub.service_url("mlflow")
    c.ProeftuinSpawner.seed_notebook = str(REPO_ROOT / "templates" / "start-hier.ipynb")
    c.ProeftuinSpawner.pilots_dir = str(hub.settings.pilots_dir)
    c.ProeftuinSpawner.templates_dir = str(REPO_ROOT / "templates")
    c.ProeftuinSpawner.proeftuin_config = str(hub.config_file)
    c.ProeftuinSpawner.bin_dir = str(hub.server_bin)
    c.ProeftuinSpawner.jupyter_prefix = str(hub.bin_dir.parent)  # the platform's virtualenv, even on the runtime one
    c.ProeftuinSpawner.lab_config_dir = str(REPO_ROOT / "hub_config" / "jupyter")
    # Started by `proeftuin up`; when it does not answer, servers start the usual way.
    c.ProeftuinSpawner.fork_server = str(hub.fork_server_socket) if socket_path_fits(hub.fork_server_socket) else ""
    update_limits(c, hub)


def update_limits(c, hub: HubContext) -> None:
    """hub.limits per server (proeftuin.hub.limits): JupyterHub's own mem_limit/cpu_limit (MEM_LIMIT and
    CPU_LIMIT in the server's environment), the platform's cgroup group, and kernels that say in Dutch
    when they run out of memory (proeftuin.hub.kernel)."""
    from proeftuin.hub.limits import ENV_GROUP, group_name

    limits = hub.settings.hub.limits
    c.Spawner.mem_limit = limits.memory or None
    c.Spawner.cpu_limit = limits.cpu or None
    c.Spawner.environment = {ENV_GROUP: group_name(hub.port)}
    c.Spawner.args = ["--ServerApp.kernel_spec_manager_class=proeftuin.hub.kernel.ProeftuinKernelSpecManager"]


def update_services(c, hub: HubContext) -> None:
    """MLflow, the gallery and the docs behind the proxy; each public one is a sign-on layer in front of a
    private backend on a Unix socket. When isolating, every service runs under an unprivileged account
    (`HubContext.service_account`). The hub restarts any managed service that exits."""
    ports = hub.settings.hub.ports
    cwd = str(hub.settings.project_root)
    python = str(hub.server_bin / "python")  # a Python the service accounts may run

    def service(name: str, command: list[str], secrets: dict[str, str] | None = None, **extra) -> dict:
        account = hub.service_account(name)
        home = hub.services_dir / (account or "platform")
        # DO_NOT_TRACK: no usage data from any service that honours it (MLflow does; see hub_services)
        spec = {"name": name, "command": command, "cwd": cwd, "display": False,
                "environment": {**hub.environment(), ENV_SERVICE_HOME: str(home), "DO_NOT_TRACK": "true",
                                **(secrets or {})}, **extra}
        if account:
            spec["user"] = account
        return spec

    def layer(name: str, port: int, title: str, secrets: dict[str, str] | None = None) -> dict:
        return service(name, [python, "-m", "proeftuin.hub.proxy", name], secrets, url=f"http://127.0.0.1:{port}",
                       display=True, oauth_no_confirm=True, info={"titel": title})

    # Storage credentials (storage: in proeftuin.yaml) only where they are used: MLflow's backend writes the
    # database and the artifacts; the gallery (feedback) and the docs (ideas) only the platform's database.
    database_only = storage.environment(hub.settings, s3=False)
    services = [
        layer("mlflow", ports.mlflow, "MLflow: experimenten en modellen"),
        service("mlflow-server", [python, "-m", "proeftuin.hub.services", "mlflow"], storage.environment(hub.settings)),
        layer("gallery", ports.gallery, "Demogalerij"),
        service("gallery-app", [python, "-m", "proeftuin.hub.services", "gallery"], database_only),
        layer("docs", ports.docs, "Kennissite", database_only),
    ]
    if hub.settings.hub.idle_timeout:
        services.append(service("idle-culler", [python, "-m", "jupyterhub_idle_culler",
                                                f"--timeout={hub.settings.hub.idle_timeout}", "--cull-every=60"]))
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = [
        # The sign-on layers look up a user's organisations and admin flag with their own token.
        {"name": "proeftuin-services", "description": "Read users and groups for permission checks",
         "scopes": ["read:users", "read:groups"], "services": list(PUBLIC_SERVICES)},
        # The gallery and the docs builder read models and runs through /services/mlflow (read-only there).
        {"name": "proeftuin-readers", "description": "Read MLflow through its sign-on layer",
         "scopes": ["access:services!service=mlflow"], "services": ["gallery-app", "docs"]},
        {"name": "idle-culler", "description": "Stop idle notebook servers",
         "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
         "services": ["idle-culler"] if hub.settings.hub.idle_timeout else []},
    ]


def apply_config(c, hub: HubContext) -> None:
    update_base(c, hub)
    update_auth(c, hub)
    update_spawner(c, hub)
    update_services(c, hub)


def load_config_d(load_subconfig, folder: Path) -> list[Path]:
    """The escape hatch: every hub_config/jupyterhub_config.d/*.py, in name order, after our config."""
    files = sorted(folder.glob("*.py")) if folder.is_dir() else []
    for path in files:
        load_subconfig(str(path))
    return files

