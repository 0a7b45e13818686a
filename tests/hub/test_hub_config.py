"""The hub's configuration functions against a bare traitlets Config: no hub is started here."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from pathlib import Path

import pytest
from traitlets.config import Config

from proeftuin.errors import ConfigError
from proeftuin.hub.context import (
    HUB_CONFIG_FILE,
    HubContext,
    apply_config,
    ensure_admin_password,
    isolation,
    load_config_d,
    update_auth,
    update_base,
    update_services,
    update_spawner,
)
from proeftuin.hub.permissions import WRITES, Denied, Identity, Policy, find_route
from proeftuin.settings import get_settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def context(tmp_path: Path, hub: dict | None = None, isolate: bool = False) -> HubContext:
    text = (ROOT / "proeftuin.yaml").read_text()
    config = tmp_path / "proeftuin.yaml"
    config.write_text(text + ("\nhub:\n" + "\n".join(f"  {line}" for line in json.dumps(hub).splitlines())
                              if hub else ""))
    settings = load_settings(config)
    return HubContext(settings, config, 8000, isolate)


def test_embedded_default_is_native_auth_with_a_bootstrapped_admin(tmp_path):
    c = Config()
    hub = context(tmp_path)
    apply_config(c, hub)
    assert c.JupyterHub.authenticator_class == "proeftuin.hub.auth.ProeftuinNativeAuthenticator"
    assert c.Authenticator.admin_users == {"beheerder"}
    assert c.Authenticator.manage_groups is True
    assert c.NativeAuthenticator.open_signup is False  # an admin approves every sign-up
    assert c.NativeAuthenticator.minimum_password_length >= 10
    assert c.ProeftuinNativeAuthenticator.admin_password_file == str(hub.settings.state_dir / "hub" / "admin-password")
    assert set(c.ProeftuinNativeAuthenticator.organisations) == {o.slug for o in hub.settings.organisations}
    assert len(c.ProeftuinNativeAuthenticator.organisations) == 15


def test_state_and_addresses_live_in_the_state_folder(tmp_path):
    c = Config()
    hub = context(tmp_path)
    apply_config(c, hub)
    state = str(hub.settings.state_dir)
    assert c.JupyterHub.db_url == f"sqlite:///{state}/hub/jupyterhub.sqlite"
    assert c.JupyterHub.cookie_secret_file.startswith(state)
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000/"
    assert c.ConfigurableHTTPProxy.command[0].endswith("node_modules/.bin/configurable-http-proxy")
    assert "access:services" in c.JupyterHub.extra_user_scopes


def test_oidc_with_entra_id_tenant(tmp_path, monkeypatch):
    monkeypatch.setenv("PROEFTUIN_OIDC_CLIENT_SECRET", "geheim")
    hub = context(tmp_path, {"authenticator": "oidc", "public_url": "https://proeftuin.leiedal.be",
                             "oidc": {"client_id": "abc", "tenant_id": "tenant-1",
                                      "group_organisations": {"0f1e-guid": "kortrijk"}, "admin_groups": ["adm-guid"]}})
    c = Config()
    update_auth(c, hub)
    assert c.JupyterHub.authenticator_class == "proeftuin.hub.auth.ProeftuinOIDCAuthenticator"
    g = c.GenericOAuthenticator
    assert g.authorize_url == "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/authorize"
    assert g.token_url == "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
    assert g.userdata_from_id_token is True
    assert g.client_secret == "geheim"
    assert g.oauth_callback_url == "https://proeftuin.leiedal.be/hub/oauth_callback"
    assert g.auth_state_groups_key == "oauth_user.groups"
    assert "kortrijk" in g.allowed_groups and g.allow_all is False
    assert c.ProeftuinOIDCAuthenticator.organisation_claims == {"0f1e-guid": "kortrijk"}


def test_oidc_groups_map_to_organisations(tmp_path):
    from proeftuin.hub.auth import ProeftuinOIDCAuthenticator

    auth = ProeftuinOIDCAuthenticator(organisations={"kortrijk": "Kortrijk", "waregem": "Waregem"},
                                      organisation_claims={"guid-k": "kortrijk"}, admin_claims={"guid-adm"},
                                      auth_state_groups_key="oauth_user.groups", manage_groups=True)
    groups = asyncio.run(auth.get_user_groups({"oauth_user": {"groups": ["guid-k", "waregem", "vreemd"]}}))
    assert groups == {"kortrijk"}  # "waregem" is not in the table: a group named like a slug grants nothing
    admin = asyncio.run(auth.get_user_groups({"oauth_user": {"groups": ["guid-adm"]}}))
    assert admin == {"proeftuin-beheer"}


def test_oidc_claims_named_like_organisations_or_admins_grant_nothing():
    """Issue 12: a group someone may create in the identity provider, named like an organisation slug (or like
    the hub's admin group), maps to nothing; only claim values in organisation_claims/admin_claims count."""
    from proeftuin.hub.auth import ProeftuinOIDCAuthenticator

    auth = ProeftuinOIDCAuthenticator(organisations={"kortrijk": "Kortrijk", "waregem": "Waregem"},
                                      organisation_claims={"guid-k": "kortrijk", "guid-oud": "opgeheven"},
                                      admin_claims={"guid-adm"}, auth_state_groups_key="oauth_user.groups",
                                      manage_groups=True)
    lookalikes = {"oauth_user": {"groups": ["kortrijk", "waregem", "Kortrijk", "proeftuin-beheer", "guid-oud"]}}
    assert asyncio.run(auth.get_user_groups(lookalikes)) == set()
    assert asyncio.run(auth.get_user_groups({"oauth_user": {"groups": []}})) == set()
    both = asyncio.run(auth.get_user_groups({"oauth_user": {"groups": ["guid-k", "guid-adm", "waregem"]}}))
    assert both == {"kortrijk", "proeftuin-beheer"}


def test_oidc_without_client_id_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="client_id"):
        update_auth(Config(), context(tmp_path, {"authenticator": "oidc"}))


def test_spawner_environment_and_culling(tmp_path):
    c = Config()
    hub = context(tmp_path, {"idle_timeout": 900})
    update_spawner(c, hub)
    update_services(c, hub)
    assert c.JupyterHub.spawner_class == "proeftuin.hub.spawner.ProeftuinSpawner"
    assert c.ProeftuinSpawner.tracking_uri == "http://127.0.0.1:8000/services/mlflow"
    assert c.ProeftuinSpawner.homes_dir == str(hub.settings.state_dir / "homes")
    assert c.ProeftuinSpawner.seed_notebook.endswith("templates/start-hier.ipynb")
    assert Path(c.ProeftuinSpawner.seed_notebook).is_file()
    assert "access:services" in c.Spawner.server_token_scopes
    names = {s["name"]: s for s in c.JupyterHub.services}
    assert {"mlflow", "gallery", "docs", "mlflow-server", "gallery-app", "idle-culler"} <= set(names)
    assert "--timeout=900" in names["idle-culler"]["command"]
    for public in ("mlflow", "gallery", "docs"):
        assert names[public]["url"].startswith("http://127.0.0.1:") and names[public]["oauth_no_confirm"]


def test_servers_start_through_the_fork_server_in_the_hub_folder(tmp_path, monkeypatch):
    c = Config()
    hub = context(tmp_path)
    update_spawner(c, hub)
    assert c.ProeftuinSpawner.fork_server == str(hub.hub_dir / "forkserver.sock")
    monkeypatch.setenv("PROEFTUIN_HOME", str(tmp_path / ("x" * 90) / "state"))
    deep = context(tmp_path)
    update_spawner(c, deep)
    assert c.ProeftuinSpawner.fork_server == ""  # a socket path too long for AF_UNIX: start the usual way


def test_hub_database_commits_without_fsync(tmp_path):
    """WAL with synchronous=NORMAL, for the hub's own database only (set through JupyterHub.db_kwargs)."""
    c = Config()
    update_base(c, context(tmp_path))
    connect_args = c.JupyterHub.db_kwargs["connect_args"]
    assert connect_args["check_same_thread"] is False
    db = sqlite3.connect(tmp_path / "hub.sqlite", **connect_args)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA synchronous").fetchone() == (1,)
    db.close()


def test_no_culler_when_idle_timeout_is_zero(tmp_path):
    c = Config()
    update_services(c, context(tmp_path, {"idle_timeout": 0}))
    assert "idle-culler" not in {s["name"] for s in c.JupyterHub.services}


def test_config_functions_only_set(tmp_path):
    """Called twice, the config is the same (nothing appended)."""
    hub = context(tmp_path)
    once, twice = Config(), Config()
    apply_config(once, hub)
    apply_config(twice, hub)
    apply_config(twice, hub)
    assert once == twice


def test_unknown_hub_setting_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="hub.authenticatr"):
        context(tmp_path, {"authenticatr": "native"})


def test_isolation_needs_root(tmp_path, monkeypatch):
    hub = context(tmp_path, {"isolation": "none"})
    assert isolation(hub.settings)[0] is False
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert isolation(context(tmp_path).settings)[2].startswith("het platform draait niet als root")
    with pytest.raises(ConfigError, match="system-users"):
        isolation(context(tmp_path, {"isolation": "system-users"}).settings)


def test_admin_password_is_generated_once_with_mode_0600(tmp_path):
    path = tmp_path / "hub" / "admin-password"
    password, created = ensure_admin_password(path)
    assert created and len(password) >= 16
    assert path.stat().st_mode & 0o777 == 0o600
    assert ensure_admin_password(path) == (password, False)


def test_thin_config_file_and_escape_hatch(tmp_path):
    text = HUB_CONFIG_FILE.read_text()
    assert "apply_config" in text and "jupyterhub_config.d" in text and len(text.splitlines()) < 20
    (tmp_path / "50-extra.py").write_text("")
    (tmp_path / "10-eerst.py").write_text("")
    loaded = []
    assert load_config_d(loaded.append, tmp_path) == [tmp_path / "10-eerst.py", tmp_path / "50-extra.py"]
    assert loaded == [str(tmp_path / "10-eerst.py"), str(tmp_path / "50-extra.py")]


def test_hub_config_file_loads_in_jupyterhub(tmp_path, monkeypatch):
    """The real file, through JupyterHub's own config loader."""
    from jupyterhub.app import JupyterHub

    monkeypatch.setenv("PROEFTUIN_HOME", str(tmp_path / "state"))
    app = JupyterHub()
    app.load_config_file(str(HUB_CONFIG_FILE))
    assert app.config.JupyterHub.authenticator_class.endswith("ProeftuinNativeAuthenticator")
    assert app.config.JupyterHub.db_url.startswith(f"sqlite:///{get_settings().state_dir}")


# --- MLflow write permissions (the policy in front of MLflow), without a server -----------------------
# The canonical reading itself (every bypass variant) is tested in tests/hub/test_hub_permissions.py.

def test_writes_map_to_what_they_write():
    """MLflow's own route table, matched on the canonical path: ajax-api and api alike, path parameters."""
    def target(method: str, path: str):
        route, params = find_route(method, path)
        kind, key = WRITES.get(route.endpoint, (None, ""))
        return kind, params.get(key)

    assert target("POST", "/ajax-api/2.0/mlflow/runs/log-batch") == ("run", None)
    assert target("POST", "/api/2.0/mlflow/runs/create") == ("experiment", None)
    assert target("POST", "/api/2.0/mlflow/registered-models/create") == ("new_model", None)
    assert target("DELETE", "/api/2.0/mlflow/registered-models/alias") == ("model", None)
    assert target("PUT", "/api/2.0/mlflow-artifacts/artifacts/7/abc/artifacts/f.txt") == \
        ("artifact", "7/abc/artifacts/f.txt")
    assert target("PATCH", "/api/2.0/mlflow/logged-models/m-1") == ("logged_model", "m-1")
    assert target("POST", "/api/3.0/mlflow/traces") == (None, None)  # admin only
    assert find_route("POST", "/api/2.0/mlflow/gateway/anything") is None
    assert find_route("POST", "/api/3.0/mlflow/runs/log-metric") is None  # MLflow has no such route


def _policy(experiments: dict[str, dict], runs: dict[str, str]) -> Policy:
    async def fetch(path: str):
        if path.startswith("experiments/get?"):
            exp = experiments.get(path.split("=")[1])
            return {"experiment": exp} if exp else None
        if path.startswith("runs/get?"):
            run = path.split("=")[1]
            return {"run": {"info": {"experiment_id": runs[run]}}} if run in runs else None
        return None

    pilots = {"vragenrouter": {"owner": "kortrijk", "organisations": ["kortrijk", "waregem"], "theme": "x"}}
    return Policy(fetch, lambda: pilots)


def _write(policy: Policy, who: Identity, path: str, body: dict) -> dict:
    """The JSON the layer forwards for a POST of `body`."""
    forward = asyncio.run(policy.authorize(who, "POST", path, "", json.dumps(body).encode(), "application/json"))
    assert forward.content_type == "application/json" and forward.query == ""
    return json.loads(forward.body)


def test_policy_checks_organisations():
    experiments = {"1": {"name": "verkenning", "tags": [{"key": "proeftuin.owner", "value": "menen"},
                                                        {"key": "proeftuin.organisations", "value": "menen"}]},
                   "2": {"name": "vragenrouter", "tags": []}}
    policy = _policy(experiments, {"r1": "1", "r2": "2"})
    menen, waregem = Identity("m", frozenset({"menen"})), Identity("w", frozenset({"waregem"}))
    admin = Identity("a", frozenset(), admin=True)
    log = "/api/2.0/mlflow/runs/log-metric"
    body = {"run_id": "r1", "key": "k", "value": 1}
    assert _write(policy, menen, log, body) == {**body, "value": 1.0}
    assert _write(policy, admin, log, body) == {**body, "value": 1.0}
    with pytest.raises(Denied, match="niet wijzigen"):
        _write(policy, waregem, log, body)
    # the pilot's manifest decides, not the experiment's tags
    pilot_run = {"run_id": "r2", "key": "k", "value": 1}
    assert _write(policy, waregem, log, pilot_run)["run_id"] == "r2"
    with pytest.raises(Denied):
        _write(policy, menen, log, pilot_run)
    # a hub service reads, and writes nothing
    gallery = Identity("service:gallery", frozenset(), read_only=True)
    assert asyncio.run(policy.authorize(gallery, "GET", "/api/2.0/mlflow/runs/get", "run_id=r1")).query == "run_id=r1"
    with pytest.raises(Denied, match="alleen lezen"):
        _write(policy, gallery, log, body)


def test_policy_sets_identity_tags_on_new_runs():
    policy = _policy({"1": {"name": "eigen", "tags": [{"key": "proeftuin.owner", "value": "menen"}]}}, {})
    menen = Identity("mia", frozenset({"menen"}))
    out = _write(policy, menen, "/api/2.0/mlflow/runs/create",
                 {"experiment_id": "1", "tags": [{"key": "proeftuin.user", "value": "iemand-anders"}]})
    tags = {t["key"]: t["value"] for t in out["tags"]}
    assert tags["proeftuin.user"] == "mia" and tags["proeftuin.organisation"] == "menen" and out["user_id"] == "mia"
    created = _write(policy, menen, "/api/2.0/mlflow/experiments/create",
                     {"name": "mijn-proef", "artifact_location": "file:///x"})
    assert "artifact_location" not in created
    assert {t["key"]: t["value"] for t in created["tags"]}["proeftuin.owner"] == "menen"
    with pytest.raises(Denied):
        _write(policy, menen, "/api/2.0/mlflow/experiments/create", {"name": "vragenrouter"})


def test_hub_tls_needs_existing_files_and_turns_on_https(tmp_path):
    with pytest.raises(ConfigError, match=r"hub\.tls\.certificate: .*nergens\.pem bestaat niet"):
        context(tmp_path, {"tls": {"certificate": "nergens.pem", "key": "nergens.key"}})
    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match=r"hub\.tls\.key: .*geen\.key bestaat niet.*de sleutel"):
        context(tmp_path, {"tls": {"certificate": "cert.pem", "key": "geen.key"}})
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    hub = context(tmp_path, {"tls": {"certificate": "cert.pem", "key": str(tmp_path / "key.pem")}})
    c = Config()
    update_base(c, hub)
    assert c.JupyterHub.ssl_cert == str(tmp_path / "cert.pem") and c.JupyterHub.ssl_key == str(tmp_path / "key.pem")
    assert c.JupyterHub.bind_url == "https://127.0.0.1:8000/"
    plain = Config()
    update_base(plain, context(tmp_path))
    assert plain.JupyterHub.bind_url.startswith("http://") and "ssl_cert" not in plain.JupyterHub


def test_hub_pages_are_dutch_templates_that_extend_jupyterhubs_own(tmp_path):
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
    from jupyterhub._data import DATA_FILES_PATH

    c = Config()
    update_base(c, context(tmp_path))
    assert c.JupyterHub.default_url == "/hub/portaal"
    (folder,) = c.JupyterHub.template_paths
    base = str(Path(DATA_FILES_PATH) / "templates")
    # The loader JupyterHub builds from template_paths (app.init_tornado_settings), with our jinja options.
    env = Environment(loader=ChoiceLoader([PrefixLoader({"templates": FileSystemLoader([base])}, "/"),
                                           FileSystemLoader([folder, base])]),
                      autoescape=True, **c.JupyterHub.jinja_environment_options)
    for name in sorted(p.name for p in Path(folder).glob("*.html")):
        env.get_template(name)  # parses, and what it extends exists
    page = env.get_template("page.html").render(static_url=lambda *a, **k: "/s", base_url="/hub/", services=[],
                                                 parsed_scopes=set())
    assert '<html lang="nl">' in page and "Proeftuin heeft JavaScript nodig." in page
    assert '{% extends "templates/login.html" %}' in (Path(folder) / "login.html").read_text()
    # the token page: JupyterHub's markup (its script finds the form by these ids), Dutch words
    token = env.get_template("token.html").render(static_url=lambda *a, **k: "/s", base_url="/hub/", services=[],
                                                  parsed_scopes=set(), api_tokens=[], oauth_clients=[],
                                                  token_expires_in_options_html="")
    assert 'id="request-token-form"' in token and 'id="token-note"' in token and "Nieuwe sleutel aanmaken" in token
    assert "Request new API token" not in token and '<html lang="nl">' in token
