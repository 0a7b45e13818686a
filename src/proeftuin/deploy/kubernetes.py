"""`proeftuin deploy kubernetes`: the scaled-out platform rendered from the same proeftuin.yaml.

Pure functions: Settings + pilots in, file name -> text out (`render`). Nothing here talks to a cluster.

- `values.yaml`: the Zero to JupyterHub (z2jh) chart's values. One KubeSpawner profile per pilot template,
  the hub's authenticator (ProeftuinOIDCAuthenticator or ProeftuinNativeAuthenticator, as `proeftuin up`
  configures it), MLflow, the gallery and the docs as hub services behind their sign-on layers, idle culling,
  per-user limits, the hub database on PostgreSQL, user pods that reach nothing but the hub and its proxy.
- `platform.yaml`: Deployments, Services, PodDisruptionBudgets, NetworkPolicies (and, with the embedded
  default, a PersistentVolumeClaim) for MLflow, the gallery and the docs site; the Ingress to the hub's proxy;
  the ConfigMap with proeftuin.yaml. Each public service is a pod with its sign-on layer (the only port other
  pods may reach) and its private backend on a Unix socket in a volume the two containers share, as on one
  machine (proeftuin.hub.services).
- `RUNBOOK.md` / `RUNBOOK.nl.md`: install, secrets, backups, upgrades, restore.

Secrets are only ever named (`secretKeyRef`), never written: the rendered files can go into git. The output is
deterministic (sorted keys, fixed order), so a change in proeftuin.yaml shows as a diff of the rendered files.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from proeftuin.hub.config import ADMIN_GROUP, PUBLIC_SERVICES
from proeftuin.settings import Settings

#: The z2jh chart this rendering targets. 4.4.0 (2026-06-10) is the chart release that ships JupyterHub 5.5.0
#: (its changelog: "4.4.0 upgrades JupyterHub to 5.5.0"); `z2jh-values.schema.yaml` and
#: `z2jh-values.defaults.yaml` next to this module are that chart's values schema and defaults (appVersion 5.5.0).
CHART_VERSION = "4.4.0"
CHART_APP_VERSION = "5.5.0"
CHART_REPO_NAME = "jupyterhub"
CHART_REPO_URL = "https://hub.jupyter.org/helm-chart/"
#: The chart's own hub image at the same version; docker/platform.Dockerfile (target `hub`) adds Proeftuin to it.
HUB_BASE_IMAGE = f"quay.io/jupyterhub/k8s-hub:{CHART_VERSION}"
#: The Kubernetes version the manifests are checked against (kubernetes-validate's offline schemas): the minor
#: version of the chart's kube-scheduler (v1.35.x in the chart defaults).
KUBERNETES_VERSION = "1.35.0"
HELM_RELEASE = "proeftuin"
DEFAULT_NAMESPACE = "proeftuin"
DEFAULT_REGISTRY = "proeftuin"

HERE = Path(__file__).resolve().parent
VALUES_SCHEMA = HERE / "z2jh-values.schema.yaml"
VALUES_DEFAULTS = HERE / "z2jh-values.defaults.yaml"

# --- where things live inside the pods --------------------------------------------------------------------
POD_STATE = "/var/lib/proeftuin"  # PROEFTUIN_HOME: emptyDir (or the MLflow PVC below it)
POD_CONFIG_DIR = "/etc/proeftuin"  # the ConfigMap with proeftuin.yaml
POD_CONFIG = f"{POD_CONFIG_DIR}/proeftuin.yaml"
POD_APP = "/opt/proeftuin"  # templates/ and pilots/ in the images
POD_PILOTS = f"{POD_APP}/pilots"
POD_TEMPLATES = f"{POD_APP}/templates"
HUB_STATE = "/srv/jupyterhub/proeftuin"  # the hub pod's state (on the hub's PVC with the embedded default)
MLFLOW_SOCKET_DIR = f"{POD_STATE}/sockets/mlflow"  # = HubContext.mlflow_socket's folder with PROEFTUIN_HOME
GALLERY_SOCKET_DIR = f"{POD_STATE}/sockets/gallery"
SERVICE_PREFIX = "/services"
UID = 1000  # the images' unprivileged user (z2jh's singleuser.uid)
GID = 100  # z2jh's singleuser.fsGid; the platform pods use it too

# --- the Kubernetes names ---------------------------------------------------------------------------------
PART_OF = "proeftuin"
CONFIG_MAP = "proeftuin-config"
# Secrets' names (never their values), noqa S105: names, not passwords.
SECRET_DB = "proeftuin-db"  # noqa: S105 - key: password
SECRET_S3 = "proeftuin-s3"  # noqa: S105 - keys: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
SECRET_OIDC = "proeftuin-oidc"  # noqa: S105 - key: client-secret
SECRET_TLS = "proeftuin-tls"  # noqa: S105 - type kubernetes.io/tls, for the Ingress
#: The chart's own Secret: a generated token per hub service, key hub.services.<name>.apiToken.
HUB_SECRET = "hub"  # noqa: S105
#: In-cluster address of the hub's proxy (the chart's Service proxy-public): how the platform's own pods and
#: notebooks reach /services/mlflow, like 127.0.0.1:<hub port> on one machine.
PROXY_URL = "http://proxy-public"
HUB_API_URL = "http://hub:8081/hub/api"

#: Dutch names of the templates, for the profile list; an unknown template shows its folder name.
TEMPLATE_TITLES = {
    "retrieval-qa": "Vragen beantwoorden uit documenten",
    "survey-profiles": "Profielen uit een bevraging",
    "tabular-scenario": "Scenario's op tabeldata",
    "text-classification": "Teksten naar de juiste dienst sturen",
}

#: Requests and limits of the platform's containers.
RESOURCES = {
    "mlflow": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
    "gallery-app": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
    "signon": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    "docs": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
}


@dataclass(frozen=True)
class Target:
    """Where the rendering goes: namespace and images (registry/name:tag)."""

    namespace: str = DEFAULT_NAMESPACE
    image_registry: str = DEFAULT_REGISTRY
    image_tag: str = "latest"

    def image(self, name: str) -> str:
        return f"{self.image_registry.rstrip('/')}/{name}:{self.image_tag}"


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("proeftuin")
    except PackageNotFoundError:  # pragma: no cover - a source tree without an install
        return "0.0.0"


# --- small helpers ----------------------------------------------------------------------------------------

def _labels(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": f"proeftuin-{component}", "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/component": component}


def _selector(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": f"proeftuin-{component}"}


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _env(values: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in sorted(values.items())]


def _hub_token(service: str) -> dict[str, Any]:
    """A hub service's own token, from the chart's Secret (generated by the chart, never rendered)."""
    return _secret_env("JUPYTERHUB_API_TOKEN", HUB_SECRET, f"hub.services.{service}.apiToken")


def _quantity_memory(value: int) -> str:
    """Bytes as a Kubernetes quantity: whole MiB (Mi) or GiB (Gi)."""
    mib = max(1, value // 2**20)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def _chart_memory(value: int) -> str:
    """Bytes in z2jh's notation (K, M, G, T: powers of 1024, as KubeSpawner reads them)."""
    mib = max(1, value // 2**20)
    return f"{mib // 1024}G" if mib % 1024 == 0 else f"{mib}M"


def uses_postgresql(settings: Settings) -> bool:
    return bool(settings.storage.postgresql)


def remote_mlflow(settings: Settings) -> bool:
    """MLflow keeps nothing in its pod: its store and its artifacts are elsewhere (then it scales out)."""
    store = settings.mlflow.backend_store_uri or settings.storage.postgresql
    return bool(store) and not str(store).startswith("sqlite") and bool(settings.remote_artifact_root)


def mlflow_store_uri(settings: Settings) -> str:
    if settings.mlflow.backend_store_uri or uses_postgresql(settings):
        return settings.backend_store_uri
    return f"sqlite:///{POD_STATE}/mlflow/mlflow.db"


def mlflow_artifacts_destination(settings: Settings) -> str:
    return settings.remote_artifact_root or f"file://{POD_STATE}/mlflow/artifacts"


def _public_host(settings: Settings) -> str | None:
    return urlsplit(settings.hub.public_url).hostname if settings.hub.public_url else None


def _postgresql_target(settings: Settings) -> tuple[str, int] | None:
    if not settings.storage.postgresql:
        return None
    parts = urlsplit(settings.storage.postgresql)
    return parts.hostname or "", parts.port or 5432


def _service_environment(settings: Settings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """What every Proeftuin process in a platform pod gets (HubContext.environment, for Kubernetes)."""
    env = {
        "PROEFTUIN_CONFIG": POD_CONFIG,
        "PROEFTUIN_HOME": POD_STATE,
        "PROEFTUIN_PILOTS_DIR": POD_PILOTS,
        "PROEFTUIN_SERVICE_HOME": f"{POD_STATE}/home",
        "MLFLOW_TRACKING_URI": f"{PROXY_URL}{SERVICE_PREFIX}/mlflow",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "PYTHONUNBUFFERED": "1",
        "HOME": f"{POD_STATE}/home",
        "TMPDIR": "/tmp",  # noqa: S108 (an emptyDir of the pod's own)
    }
    return {**env, **(extra or {})}


def _signon_environment(settings: Settings, name: str) -> dict[str, str]:
    """An externally managed hub service: what the hub gives its managed services on one machine."""
    prefix = f"{SERVICE_PREFIX}/{name}/"
    port = getattr(settings.hub.ports, name)
    return {
        "JUPYTERHUB_API_URL": HUB_API_URL,
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_CLIENT_ID": f"service-{name}",
        "JUPYTERHUB_HOST": "",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
        "JUPYTERHUB_SERVICE_NAME": name,
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_SERVICE_URL": f"http://0.0.0.0:{port}",
    }


def _db_password_env(settings: Settings, *, proeftuin_code: bool) -> list[dict[str, Any]]:
    """The database password from its Secret: PGPASSWORD for libpq/psycopg, and storage.password_env for
    Proeftuin's own code (proeftuin.storage.password)."""
    if not uses_postgresql(settings):
        return []
    env = [_secret_env("PGPASSWORD", SECRET_DB, "password")]
    if proeftuin_code and settings.storage.password_env != "PGPASSWORD":  # noqa: S105 (a name)
        env.append(_secret_env(settings.storage.password_env, SECRET_DB, "password"))
    return env


def _s3_env(settings: Settings) -> list[dict[str, Any]]:
    if not (settings.remote_artifact_root or "").startswith("s3://"):
        return []
    env = [_secret_env("AWS_ACCESS_KEY_ID", SECRET_S3, "AWS_ACCESS_KEY_ID"),
           _secret_env("AWS_SECRET_ACCESS_KEY", SECRET_S3, "AWS_SECRET_ACCESS_KEY")]
    if settings.storage.s3_endpoint_url:
        env.append({"name": "MLFLOW_S3_ENDPOINT_URL", "value": settings.storage.s3_endpoint_url})
    return env


# --- the z2jh values --------------------------------------------------------------------------------------

def _template_kinds(settings: Settings, pilots: Sequence[Any]) -> list[str]:
    folder = settings.project_root / "templates"
    kinds = {p.name for p in folder.iterdir() if p.is_dir() and (p / "copier.yml").is_file()} \
        if folder.is_dir() else set()
    kinds |= {p.manifest.template for p in pilots if getattr(p, "manifest", None) is not None}
    return sorted(kinds)


START_URL = "/lab/tree/Start%20hier.ipynb"


def _seed_command(slugs: Sequence[str]) -> str:
    """postStart: 'Start hier' and the given pilots into the home, unless already there."""
    steps = [f'test -e "$HOME/Start hier.ipynb" || cp {POD_TEMPLATES}/start-hier.ipynb "$HOME/Start hier.ipynb"']
    if slugs:
        steps.append(f'mkdir -p "$HOME/pilots" && for s in {" ".join(slugs)}; do test -e "$HOME/pilots/$s" '
                     f'|| cp -R "{POD_PILOTS}/$s" "$HOME/pilots/$s"; done')
    return "; ".join(steps)


def profile_list(settings: Settings, pilots: Sequence[Any]) -> list[dict[str, Any]]:
    """One KubeSpawner profile per pilot template, naming the pilots made from it; the first is the default."""
    by_kind: dict[str, list[Any]] = {}
    for pilot in pilots:
        manifest = getattr(pilot, "manifest", None)
        if manifest is not None:
            by_kind.setdefault(manifest.template, []).append(pilot)
    profiles = []
    for kind in _template_kinds(settings, pilots):
        used = sorted(by_kind.get(kind, []), key=lambda p: p.slug)
        pilots_text = ", ".join(f"{p.manifest.title} ({p.slug})" for p in used) or "nog geen"
        slugs = [p.slug for p in used]
        profiles.append({
            "display_name": f"{TEMPLATE_TITLES.get(kind, kind)} ({kind})",
            "slug": kind,
            "description": f"Sjabloon {kind}. Pilots: {pilots_text}.",
            "kubespawner_override": {
                # the pilots of this template copied into the home (once; the user's changes stay), opened at start
                "lifecycle_hooks": {"postStart": {"exec": {"command": ["sh", "-c", _seed_command(slugs)]}}},
                "default_url": f"/lab/tree/pilots/{slugs[0]}/notebook.ipynb" if slugs else START_URL,
            },
        })
    if profiles:
        profiles[0]["default"] = True
    return profiles


def _authenticator_config(settings: Settings) -> dict[str, Any]:
    """hub.config: the same classes and traits as proeftuin.hub.config.update_auth, the secret left out (the
    hub reads it as OAUTH_CLIENT_SECRET from its Secret)."""
    cfg = settings.hub
    organisations = {o.slug: o.name for o in settings.organisations}
    config: dict[str, Any] = {
        "Authenticator": {"admin_users": [cfg.admin_user], "manage_groups": True},
    }
    if cfg.authenticator == "native":
        config["JupyterHub"] = {"authenticator_class": "proeftuin.hub.auth.ProeftuinNativeAuthenticator"}
        config["Authenticator"]["allow_all"] = True
        config["ProeftuinNativeAuthenticator"] = {"organisations": organisations,
                                                  "admin_password_file": f"{HUB_STATE}/hub/admin-password"}
        config["NativeAuthenticator"] = {
            "open_signup": False, "enable_signup": True, "check_common_password": True,
            "minimum_password_length": cfg.minimum_password_length, "allowed_failed_logins": 5,
            "seconds_before_next_try": 120}
        return config
    oidc = cfg.oidc
    authorize_url, token_url = oidc.authorize_url, oidc.token_url
    if oidc.tenant_id:
        base = f"https://login.microsoftonline.com/{oidc.tenant_id}/oauth2/v2.0"
        authorize_url, token_url = authorize_url or f"{base}/authorize", token_url or f"{base}/token"
    callback = oidc.callback_url or f"{(cfg.public_url or 'https://proeftuin.example').rstrip('/')}/hub/oauth_callback"
    config["JupyterHub"] = {"authenticator_class": "proeftuin.hub.auth.ProeftuinOIDCAuthenticator"}
    config["ProeftuinOIDCAuthenticator"] = {
        "organisation_claims": dict(sorted(oidc.group_organisations.items())),
        "admin_claims": sorted(oidc.admin_groups),
        "organisations": organisations,
    }
    generic: dict[str, Any] = {
        "client_id": oidc.client_id or "",
        "authorize_url": authorize_url or "",
        "token_url": token_url or "",
        "oauth_callback_url": callback,
        "login_service": oidc.login_service,
        "scope": list(oidc.scopes),
        "username_claim": oidc.username_claim,
        "auth_state_groups_key": f"oauth_user.{oidc.groups_claim}",
        "allowed_groups": sorted({*organisations, ADMIN_GROUP}),
        "admin_groups": [ADMIN_GROUP],
        "allow_all": False,
    }
    if oidc.userdata_url:
        generic["userdata_url"] = oidc.userdata_url
    else:
        generic["userdata_from_id_token"] = True
    config["GenericOAuthenticator"] = generic
    return config


#: hub.extraConfig: what hub.config cannot say (a path inside the hub image, a value computed per user).
HUB_EXTRA_CONFIG = '''\
# Rendered by `proeftuin deploy kubernetes`: the hub's Dutch pages (proeftuin.hub.templates) and MLflow's
# credential in every notebook (the user's own hub token, as ProeftuinSpawner sets it on one machine).
from proeftuin.hub.config import HUB_TEMPLATES

c.JupyterHub.template_paths = [str(HUB_TEMPLATES)]
c.JupyterHub.jinja_environment_options = {"extensions": ["proeftuin.hub.portal.DutchPages"]}
c.JupyterHub.template_vars = {"authenticator_native": %(native)s}
c.KubeSpawner.environment = {**dict(c.KubeSpawner.get("environment") or {}),
                             "MLFLOW_TRACKING_TOKEN": lambda spawner: spawner.api_token}
'''


def values(settings: Settings, pilots: Sequence[Any], target: Target) -> dict[str, Any]:
    """The z2jh values file (only what differs from the chart's defaults)."""
    cfg = settings.hub
    ports = cfg.ports
    services: dict[str, Any] = {}
    titles = {"mlflow": "MLflow: experimenten en modellen", "gallery": "Demogalerij", "docs": "Kennissite"}
    for name in PUBLIC_SERVICES:
        services[name] = {"url": f"http://proeftuin-{name}:{getattr(ports, name)}", "display": True,
                          "oauth_no_confirm": True, "info": {"titel": titles[name]}}
    services["gallery-app"] = {"display": False}  # a token only: the gallery's reader identity towards MLflow

    hub_env: dict[str, Any] = {
        "PROEFTUIN_CONFIG": POD_CONFIG,
        "PROEFTUIN_HOME": HUB_STATE,
        "PROEFTUIN_PILOTS_DIR": POD_PILOTS,
        "MLFLOW_TRACKING_URI": f"{PROXY_URL}{SERVICE_PREFIX}/mlflow",
    }
    for item in _db_password_env(settings, proeftuin_code=True):
        hub_env[item["name"]] = {"valueFrom": item["valueFrom"]}
    if cfg.authenticator == "oidc":
        hub_env["OAUTH_CLIENT_SECRET"] = {"valueFrom": {"secretKeyRef": {"name": SECRET_OIDC, "key": "client-secret"}}}

    hub_config = _authenticator_config(settings)
    hub_config["JupyterHub"].update({
        "default_url": "/hub/portaal",
        "extra_user_scopes": ["access:services"],
    })
    hub_config["KubeSpawner"] = {
        "server_token_scopes": ["users:activity!user", "access:servers!server", "access:services",
                                "read:users:name!user", "read:users:groups!user"],
        "http_timeout": cfg.start_timeout,
    }

    hub: dict[str, Any] = {
        "image": {"name": f"{target.image_registry.rstrip('/')}/hub", "tag": target.image_tag},
        "config": hub_config,
        "extraConfig": {"proeftuin": HUB_EXTRA_CONFIG % {"native": cfg.authenticator == "native"}},
        "extraEnv": hub_env,
        "extraVolumes": [{"name": "proeftuin-config", "configMap": {"name": CONFIG_MAP}}],
        "extraVolumeMounts": [{"name": "proeftuin-config", "mountPath": POD_CONFIG_DIR, "readOnly": True}],
        "services": services,
        "loadRoles": {
            "proeftuin-services": {"description": "Read users and groups for permission checks",
                                   "scopes": ["read:users", "read:groups"], "services": list(PUBLIC_SERVICES)},
            "proeftuin-readers": {"description": "Read MLflow through its sign-on layer",
                                  "scopes": ["access:services!service=mlflow"],
                                  "services": ["docs", "gallery-app"]},
        },
        "networkPolicy": {"egress": [_egress_to_layers(settings)]},
    }
    if uses_postgresql(settings):
        server = (settings.storage.postgresql or "").split("://", 1)[1].rstrip("/")
        # psycopg2 (in the chart's hub image) reads the password from PGPASSWORD (extraEnv, from the Secret).
        hub["db"] = {"type": "postgres", "url": f"postgresql://{server}/{settings.storage.databases.hub}"}

    limits = cfg.limits
    singleuser: dict[str, Any] = {
        "image": {"name": f"{target.image_registry.rstrip('/')}/singleuser", "tag": target.image_tag},
        "uid": UID,
        "fsGid": GID,
        "allowPrivilegeEscalation": False,
        "startTimeout": cfg.start_timeout,
        "defaultUrl": START_URL,
        "extraEnv": {
            "MLFLOW_TRACKING_URI": f"{PROXY_URL}{SERVICE_PREFIX}/mlflow",
            "PROEFTUIN_CONFIG": POD_CONFIG,
            "PROEFTUIN_PILOTS_DIR": POD_PILOTS,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
        },
        "storage": {
            "extraVolumes": [{"name": "proeftuin-config", "configMap": {"name": CONFIG_MAP}}],
            "extraVolumeMounts": [{"name": "proeftuin-config", "mountPath": POD_CONFIG_DIR, "readOnly": True}],
        },
        "lifecycleHooks": {"postStart": {"exec": {"command": ["sh", "-c", _seed_command([])]}}},
        "extraPodConfig": {"securityContext": {"runAsNonRoot": True, "runAsUser": UID, "fsGroup": GID,
                                               "seccompProfile": {"type": "RuntimeDefault"}}},
        # Notebooks reach the hub and its proxy (and through it /services/...), DNS, nothing else: not the
        # database, not the bucket, not a backend pod, not the cloud's metadata server.
        "networkPolicy": {
            "enabled": True,
            "egressAllowRules": {"cloudMetadataServer": False, "dnsPortsCloudMetadataServer": True,
                                 "dnsPortsKubeSystemNamespace": True, "dnsPortsPrivateIPs": True,
                                 "nonPrivateIPs": False, "privateIPs": False},
        },
        "profileList": profile_list(settings, pilots),
    }
    if limits.memory:
        singleuser["memory"] = {"limit": _chart_memory(limits.memory),
                                "guarantee": _chart_memory(min(limits.memory, 2**30))}
    if limits.cpu:
        singleuser["cpu"] = {"limit": limits.cpu}

    result: dict[str, Any] = {
        "fullnameOverride": "",
        "hub": hub,
        "singleuser": singleuser,
        # The platform's own Ingress (platform.yaml) sends everything to proxy-public.
        "proxy": {"service": {"type": "ClusterIP"},
                  "chp": {"networkPolicy": {"egress": [_egress_to_layers(settings)]}}},
        "ingress": {"enabled": False},
        "cull": ({"enabled": True, "timeout": cfg.idle_timeout, "every": min(600, max(60, cfg.idle_timeout // 6)),
                  "users": False, "adminUsers": True}
                 if cfg.idle_timeout else {"enabled": False}),
    }
    return result


def _egress_to_layers(settings: Settings) -> dict[str, Any]:
    """The hub and its proxy may open the sign-on layers (and only those ports of the platform's pods)."""
    ports = settings.hub.ports
    return {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": PART_OF}}}],
            "ports": [{"port": getattr(ports, n), "protocol": "TCP"} for n in PUBLIC_SERVICES]}


# --- the platform's manifests -----------------------------------------------------------------------------

def _pod_security() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": GID, "fsGroup": GID,
            "seccompProfile": {"type": "RuntimeDefault"}}


def _container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}}


def _unix_probe(socket_path: str, path: str, period: int, delay: int = 0) -> dict[str, Any]:
    """An exec probe: GET on the backend's Unix socket (the backend listens on no TCP port)."""
    code = ("import http.client,socket,sys;c=http.client.HTTPConnection('localhost',timeout=5);"
            "s=socket.socket(socket.AF_UNIX);s.settimeout(5);"
            f"s.connect({socket_path!r});c.sock=s;c.request('GET',{path!r});"
            "sys.exit(0 if c.getresponse().status<400 else 1)")
    return {"exec": {"command": ["python", "-c", code]}, "periodSeconds": period, "timeoutSeconds": 6,
            "initialDelaySeconds": delay, "failureThreshold": 3}


def _tcp_probe(port: int, period: int, delay: int = 0) -> dict[str, Any]:
    return {"tcpSocket": {"port": port}, "periodSeconds": period, "timeoutSeconds": 3,
            "initialDelaySeconds": delay, "failureThreshold": 3}


def _container(name: str, image: str, command: list[str], env: list[dict[str, Any]], mounts: list[dict[str, Any]],
               resources: str, ports: Iterable[int] = (), probes: tuple[dict, dict] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent", "command": command,
        "env": env, "volumeMounts": mounts, "resources": copy.deepcopy(RESOURCES[resources]),
        "securityContext": _container_security(),
    }
    if ports:
        spec["ports"] = [{"name": "http", "containerPort": p, "protocol": "TCP"} for p in ports]
    if probes:
        spec["readinessProbe"], spec["livenessProbe"] = probes
    return spec


def _signon(settings: Settings, target: Target, name: str, extra_mounts: list[dict[str, Any]]) -> dict[str, Any]:
    port = getattr(settings.hub.ports, name)
    env = _env(_service_environment(settings, _signon_environment(settings, name))) + [_hub_token(name)]
    return _container("signon", target.image("platform"), ["python", "-m", "proeftuin.hub.proxy", name], env,
                      [*_base_mounts(), *extra_mounts], "docs" if name == "docs" else "signon", [port],
                      (_tcp_probe(port, 5), _tcp_probe(port, 20, 30)))


def _base_mounts() -> list[dict[str, Any]]:
    return [{"name": "config", "mountPath": POD_CONFIG_DIR, "readOnly": True},
            {"name": "state", "mountPath": POD_STATE},
            {"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108 (the pod's own emptyDir)


def _base_volumes(extra: Iterable[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    return [{"name": "config", "configMap": {"name": CONFIG_MAP}},
            {"name": "state", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}},
            *extra]


def _deployment(component: str, replicas: int, containers: list[dict[str, Any]], volumes: list[dict[str, Any]],
                target: Target, recreate: bool = False) -> dict[str, Any]:
    strategy = {"type": "Recreate"} if recreate else {"type": "RollingUpdate",
                                                      "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"proeftuin-{component}", "namespace": target.namespace, "labels": _labels(component)},
        "spec": {
            "replicas": replicas, "revisionHistoryLimit": 3, "strategy": strategy,
            "selector": {"matchLabels": _selector(component)},
            "template": {
                "metadata": {"labels": _labels(component)},
                "spec": {"automountServiceAccountToken": False, "enableServiceLinks": False,
                         "securityContext": _pod_security(), "terminationGracePeriodSeconds": 30,
                         "containers": containers, "volumes": volumes},
            },
        },
    }


def _service(component: str, port: int, target: Target) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"proeftuin-{component}", "namespace": target.namespace, "labels": _labels(component)},
            "spec": {"type": "ClusterIP", "selector": _selector(component),
                     "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}]}}


def _pdb(component: str, replicas: int, target: Target) -> dict[str, Any]:
    budget = {"minAvailable": 1} if replicas > 1 else {"maxUnavailable": 1}
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": f"proeftuin-{component}", "namespace": target.namespace, "labels": _labels(component)},
            "spec": {**budget, "selector": {"matchLabels": _selector(component)}}}


def _network_policy(component: str, port: int, target: Target) -> dict[str, Any]:
    """Only the hub and its proxy (the chart's pods) reach the sign-on layer; nobody reaches anything else."""
    chart = [{"podSelector": {"matchLabels": {"app": "jupyterhub", "component": c}}} for c in ("hub", "proxy")]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"proeftuin-{component}", "namespace": target.namespace, "labels": _labels(component)},
            "spec": {"podSelector": {"matchLabels": _selector(component)}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": chart, "ports": [{"port": port, "protocol": "TCP"}]}]}}


def _mlflow(settings: Settings, target: Target) -> list[dict[str, Any]]:
    ports = settings.hub.ports
    scaled = remote_mlflow(settings)
    replicas = 2 if scaled else 1
    socket = f"{MLFLOW_SOCKET_DIR}/mlflow.sock"
    command = ["mlflow", "server", "--backend-store-uri", mlflow_store_uri(settings),
               "--serve-artifacts", "--artifacts-destination", mlflow_artifacts_destination(settings),
               "--default-artifact-root", "mlflow-artifacts:/", "--static-prefix", f"{SERVICE_PREFIX}/mlflow",
               "--uvicorn-opts", f"--uds {socket}", "--host", "127.0.0.1", "--port", str(settings.ports.mlflow),
               "--workers", "2"]
    socket_mount = {"name": "mlflow-socket", "mountPath": MLFLOW_SOCKET_DIR}
    mounts = [*_base_mounts(), socket_mount]
    volumes = _base_volumes([{"name": "mlflow-socket", "emptyDir": {}}])
    documents: list[dict[str, Any]] = []
    if not scaled:  # the embedded default: SQLite and files on a disk of their own (one pod at a time)
        mounts.append({"name": "mlflow-data", "mountPath": f"{POD_STATE}/mlflow"})
        volumes.append({"name": "mlflow-data", "persistentVolumeClaim": {"claimName": "proeftuin-mlflow"}})
        documents.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                          "metadata": {"name": "proeftuin-mlflow", "namespace": target.namespace,
                                       "labels": _labels("mlflow")},
                          "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}})
    env = _env(_service_environment(settings)) + _db_password_env(settings, proeftuin_code=False) + _s3_env(settings)
    backend = _container("mlflow", target.image("platform"), command, env, mounts, "mlflow", (),
                         (_unix_probe(socket, "/health", 10), _unix_probe(socket, "/health", 30, 60)))
    layer = _signon(settings, target, "mlflow", [socket_mount])
    documents += [
        _deployment("mlflow", replicas, [layer, backend], volumes, target, recreate=not scaled),
        _service("mlflow", ports.mlflow, target),
        _pdb("mlflow", replicas, target),
        _network_policy("mlflow", ports.mlflow, target),
    ]
    return documents


def _gallery(settings: Settings, target: Target) -> list[dict[str, Any]]:
    port = settings.hub.ports.gallery
    socket = f"{GALLERY_SOCKET_DIR}/gallery.sock"
    socket_mount = {"name": "gallery-socket", "mountPath": GALLERY_SOCKET_DIR}
    # The gallery runs registered model code: its own token (a reader of MLflow), the platform database for its
    # feedback, no S3 keys, no hub database.
    env = (_env(_service_environment(settings)) + [_hub_token("gallery-app")]
           + _db_password_env(settings, proeftuin_code=True))
    app = _container("gallery", target.image("platform"), ["python", "-m", "proeftuin.hub.services", "gallery"], env,
                     [*_base_mounts(), socket_mount], "gallery-app", (),
                     (_unix_probe(socket, "/", 10), _unix_probe(socket, "/", 30, 240)))
    layer = _signon(settings, target, "gallery", [socket_mount])
    volumes = _base_volumes([{"name": "gallery-socket", "emptyDir": {}}])
    return [_deployment("gallery", 2, [layer, app], volumes, target), _service("gallery", port, target),
            _pdb("gallery", 2, target), _network_policy("gallery", port, target)]


def _docs(settings: Settings, target: Target) -> list[dict[str, Any]]:
    port = settings.hub.ports.docs
    layer = _signon(settings, target, "docs", [])
    layer["env"] += _db_password_env(settings, proeftuin_code=True)  # the site lists the ideas (platform database)
    return [_deployment("docs", 2, [layer], _base_volumes(), target), _service("docs", port, target),
            _pdb("docs", 2, target), _network_policy("docs", port, target)]


def _ingress(settings: Settings, target: Target) -> dict[str, Any]:
    """Everything public goes to the hub's proxy: the hub, and /services/... through the sign-on layers."""
    host = _public_host(settings) or "proeftuin.example"
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "proeftuin", "namespace": target.namespace, "labels": _labels("ingress")},
            "spec": {"tls": [{"hosts": [host], "secretName": SECRET_TLS}],
                     "rules": [{"host": host, "http": {"paths": [
                         {"path": "/", "pathType": "Prefix",
                          "backend": {"service": {"name": "proxy-public", "port": {"name": "http"}}}}]}}]}}


def _config_map(config_text: str, target: Target) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CONFIG_MAP, "namespace": target.namespace, "labels": _labels("config")},
            "data": {"proeftuin.yaml": config_text}}


def manifests(settings: Settings, target: Target, config_text: str) -> list[dict[str, Any]]:
    """The platform's Kubernetes objects, in a fixed order (kind, then name)."""
    documents = [_config_map(config_text, target), *_mlflow(settings, target), *_gallery(settings, target),
                 *_docs(settings, target), _ingress(settings, target)]
    order = ["ConfigMap", "PersistentVolumeClaim", "Service", "Deployment", "PodDisruptionBudget", "NetworkPolicy",
             "Ingress"]
    return sorted(documents, key=lambda d: (order.index(d["kind"]), d["metadata"]["name"]))


# --- the runbook -------------------------------------------------------------------------------------------

def secrets(settings: Settings) -> list[tuple[str, list[str], str, str]]:
    """The Secrets to create before installing: name, keys, what (Dutch), what (English)."""
    found = [(SECRET_TLS, ["tls.crt", "tls.key"], "het certificaat van de publieke naam (type kubernetes.io/tls)",
              "the public name's certificate (type kubernetes.io/tls)")]
    if uses_postgresql(settings):
        found.append((SECRET_DB, ["password"], "het wachtwoord van de PostgreSQL-gebruiker",
                      "the PostgreSQL user's password"))
    if (settings.remote_artifact_root or "").startswith("s3://"):
        found.append((SECRET_S3, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], "de sleutels van de S3-bucket",
                      "the S3 bucket's keys"))
    if settings.hub.authenticator == "oidc":
        found.append((SECRET_OIDC, ["client-secret"], "het clientgeheim van de OpenID Connect-app",
                      "the OpenID Connect app's client secret"))
    return sorted(found)


def _secret_commands(settings: Settings, namespace: str) -> str:
    lines = []
    for name, keys, _, _ in secrets(settings):
        if name == SECRET_TLS:
            lines.append(f"kubectl -n {namespace} create secret tls {name} --cert=fullchain.pem --key=privkey.pem")
            continue
        literals = " ".join(f"--from-literal={k}=\"$(cat {k.lower().replace('_', '-')}.txt)\"" for k in keys)
        lines.append(f"kubectl -n {namespace} create secret generic {name} {literals}")
    return "\n".join(lines)


def _helm_command(namespace: str) -> str:
    return (f"helm upgrade --install {HELM_RELEASE} {CHART_REPO_NAME}/jupyterhub --version {CHART_VERSION} "
            f"--namespace {namespace} --values values.yaml --cleanup-on-fail --wait")


def _images(target: Target) -> str:
    return "\n".join([
        f"docker build -f docker/singleuser.Dockerfile -t {target.image('singleuser')} .",
        f"docker build -f docker/platform.Dockerfile -t {target.image('platform')} .",
        f"docker build -f docker/platform.Dockerfile --target hub -t {target.image('hub')} .",
        *(f"docker push {target.image(n)}" for n in ("singleuser", "platform", "hub")),
    ])


RUNBOOK_NL = """\
# Proeftuin op Kubernetes: draaiboek

Gemaakt met `proeftuin deploy kubernetes` uit proeftuin.yaml. Pas deze bestanden niet met de hand aan: wijzig
proeftuin.yaml en maak ze opnieuw (`proeftuin deploy kubernetes --output {out} --force`); git toont dan wat er
verandert.

- `values.yaml`: de instellingen van de Helm-chart Zero to JupyterHub {chart} (JupyterHub {app}).
- `platform.yaml`: MLflow, de demogalerij en de kennissite, elk achter zijn aanmeldlaag, en de Ingress.
- Naamruimte: `{ns}`. Images: `{images}`.

## 1. Images bouwen
Vanuit de projectmap van Proeftuin:
```
{build}
```

## 2. Geheimen aanmaken
Wachtwoorden en sleutels staan nooit in deze bestanden: maak ze een keer aan als Kubernetes-Secret.

{secret_table}
```
kubectl create namespace {ns}
{secret_commands}
```
De tokens van de hubdiensten maakt de chart zelf (Secret `hub`, sleutels `hub.services.<naam>.apiToken`).

## 3. Installeren en bijwerken
```
helm repo add {repo} {repo_url}
helm repo update
kubectl apply -n {ns} -f platform.yaml
{helm}
```
Daarna: open {url} en meld je aan.{native}

## 4. Back-ups
Maak elke nacht een back-up met `proeftuin backup` (de MLflow-databank, de hubdatabank, ideeën en feedback,
en de artefacten), bv. als Kubernetes-CronJob of vanaf een beheermachine met dezelfde proeftuin.yaml.
Bewaar de back-up buiten de cluster en probeer een terugzetting minstens een keer per kwartaal.

## 5. Bijwerken naar een nieuwe versie
1. Maak eerst een back-up (`proeftuin backup`).
2. Bouw en push de nieuwe images; maak de bestanden opnieuw met `--image-registry` en kijk de diff na.
3. `kubectl apply -n {ns} -f platform.yaml` en daarna het `helm upgrade`-commando hierboven.
4. Een nieuwe chartversie: lees eerst de changelog van Zero to JupyterHub (brekende wijzigingen).

## 6. Terugzetten
1. Zet de hub en de diensten stil: `kubectl -n {ns} scale deployment --all --replicas=0`.
2. Zet de back-up terug met `proeftuin restore` (dezelfde proeftuin.yaml, dezelfde databanken).
3. Start opnieuw: `kubectl apply -n {ns} -f platform.yaml` en het `helm upgrade`-commando.

## Wanneer is SQLite niet meer genoeg?
Gemeten met `bench/tracking_backends.py` op een machine met 2 cores (MLflow rechtstreeks op de opslag, elke run
zoals `proeftuin run` hem logt):

| meting | SQLite | PostgreSQL |
| --- | --- | --- |
| 10.000 runs loggen, 1 schrijver | 24,4 runs/s | 27,4 runs/s |
| `proeftuin compare --by organisation` over 10.000 runs | 12,7 s | 13,7 s |
| 1 / 4 / 16 schrijvers tegelijk (480 runs samen) | 26,4 / 24,2 / 20,6 runs/s | 31,6 / 23,0 / 19,5 runs/s |
| fouten (ook "database is locked") | 0 | 0 |

Tot 16 gelijktijdige schrijvers bleef SQLite foutloos; de grens is hier de processor (MLflow besteedt zo'n 40 ms
per run), niet de databank: ongeveer 1.200 tot 1.800 runs per minuut, veel meer dan vijftien gemeenten maken.
Kies PostgreSQL (`storage.postgresql`) en S3 (`storage.s3`) dus om andere redenen, en op Kubernetes altijd: zodra
meer dan een pod of machine dezelfde opslag gebruikt (een SQLite-bestand hoort niet op een netwerkschijf), voor
back-ups terwijl alles draait, en voor meer gelijktijdige schrijvers dan gemeten.
{warning}"""

RUNBOOK_EN = """\
# Proeftuin on Kubernetes: runbook

Rendered by `proeftuin deploy kubernetes` from proeftuin.yaml. Do not edit these files by hand: change
proeftuin.yaml and render again (`proeftuin deploy kubernetes --output {out} --force`); git then shows what changes.

- `values.yaml`: values for the Zero to JupyterHub Helm chart {chart} (JupyterHub {app}).
- `platform.yaml`: MLflow, the demo gallery and the docs site, each behind its sign-on layer, and the Ingress.
- Namespace: `{ns}`. Images: `{images}`.

## 1. Build the images
From the Proeftuin project folder:
```
{build}
```

## 2. Create the secrets
Passwords and keys are never in these files: create them once as Kubernetes Secrets.

{secret_table}
```
kubectl create namespace {ns}
{secret_commands}
```
The chart creates the hub services' tokens itself (Secret `hub`, keys `hub.services.<name>.apiToken`).

## 3. Install and upgrade
```
helm repo add {repo} {repo_url}
helm repo update
kubectl apply -n {ns} -f platform.yaml
{helm}
```
Then open {url} and log in.{native}

## 4. Backups
Back up every night with `proeftuin backup` (the MLflow database, the hub database, ideas and feedback, and the
artifacts), e.g. as a Kubernetes CronJob or from an admin machine with the same proeftuin.yaml. Keep the backup
outside the cluster and try a restore at least once a quarter.

## 5. Upgrading
1. Back up first (`proeftuin backup`).
2. Build and push the new images; render again with `--image-registry` and review the diff.
3. `kubectl apply -n {ns} -f platform.yaml`, then the `helm upgrade` command above.
4. A new chart version: read the Zero to JupyterHub changelog first (breaking changes).

## 6. Restore
1. Stop the hub and the services: `kubectl -n {ns} scale deployment --all --replicas=0`.
2. Restore the backup with `proeftuin restore` (same proeftuin.yaml, same databases).
3. Start again: `kubectl apply -n {ns} -f platform.yaml` and the `helm upgrade` command.

## When is SQLite no longer enough?
Measured with `bench/tracking_backends.py` on a 2-core machine (MLflow straight on the store, each run logged as
`proeftuin run` logs it):

| measure | SQLite | PostgreSQL |
| --- | --- | --- |
| log 10,000 runs, 1 writer | 24.4 runs/s | 27.4 runs/s |
| `proeftuin compare --by organisation` over 10,000 runs | 12.7 s | 13.7 s |
| 1 / 4 / 16 concurrent writers (480 runs together) | 26.4 / 24.2 / 20.6 runs/s | 31.6 / 23.0 / 19.5 runs/s |
| errors (including "database is locked") | 0 | 0 |

Up to 16 concurrent writers SQLite made no error; the limit here is the CPU (MLflow spends about 40 ms per run),
not the database: roughly 1,200 to 1,800 runs a minute, far more than fifteen municipalities produce. Choose
PostgreSQL (`storage.postgresql`) and S3 (`storage.s3`) for other reasons, and always on Kubernetes: as soon as
more than one pod or machine uses the store (a SQLite file does not belong on a network share), for backups
while everything runs, and for more concurrent writers than measured.
{warning}"""

EMBEDDED_WARNING_NL = """
## Let op: ingebouwde opslag
proeftuin.yaml noemt geen `storage.postgresql` en `storage.s3`. MLflow draait dan als een pod met een eigen schijf
(PersistentVolumeClaim `proeftuin-mlflow`), de hub op zijn eigen schijf, en ideeën en feedback blijven in de pod
die ze schrijft. Goed om te proberen; zet voor een echte uitrol `storage.postgresql` en `storage.s3`.
"""
EMBEDDED_WARNING_EN = """
## Note: embedded storage
proeftuin.yaml names no `storage.postgresql` and `storage.s3`. MLflow then runs as one pod with a disk of its own
(PersistentVolumeClaim `proeftuin-mlflow`), the hub on its own disk, and ideas and feedback stay in the pod that
writes them. Fine for a trial; set `storage.postgresql` and `storage.s3` for a real deployment.
"""


def runbook(settings: Settings, target: Target, language: str, out: str = "DIR") -> str:
    dutch = language == "nl"
    rows = ["| Secret | " + ("sleutels | waarvoor" if dutch else "keys | what for") + " |", "| --- | --- | --- |"]
    rows += [f"| `{name}` | {', '.join(f'`{k}`' for k in keys)} | {nl if dutch else en} |"
             for name, keys, nl, en in secrets(settings)]
    embedded = not remote_mlflow(settings)
    native = ""
    if settings.hub.authenticator == "native":
        native = (f"\nHet wachtwoord van de beheerder ({settings.hub.admin_user}): "
                  f"`kubectl -n {target.namespace} exec deploy/hub -- cat {HUB_STATE}/hub/admin-password`."
                  if dutch else
                  f"\nThe admin's ({settings.hub.admin_user}) password: "
                  f"`kubectl -n {target.namespace} exec deploy/hub -- cat {HUB_STATE}/hub/admin-password`.")
    text = (RUNBOOK_NL if dutch else RUNBOOK_EN).format(
        out=out, chart=CHART_VERSION, app=CHART_APP_VERSION, ns=target.namespace,
        images=", ".join(target.image(n) for n in ("hub", "platform", "singleuser")), build=_images(target),
        secret_table="\n".join(rows), secret_commands=_secret_commands(settings, target.namespace),
        repo=CHART_REPO_NAME, repo_url=CHART_REPO_URL, helm=_helm_command(target.namespace),
        url=settings.hub.public_url or f"https://{_public_host(settings) or 'proeftuin.example'}", native=native,
        warning=(EMBEDDED_WARNING_NL if dutch else EMBEDDED_WARNING_EN) if embedded else "")
    return text


# --- rendering, checking, writing --------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    """Sorted keys, block style; text of more than one line (proeftuin.yaml, the hub's extra config) as `|`."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=True, allow_unicode=True, default_flow_style=False, width=120)


HEADER = ("# Rendered by `proeftuin deploy kubernetes` from proeftuin.yaml; render again instead of editing.\n"
          "# No secret values in here: they are named (secretKeyRef) and created once, see RUNBOOK.md.\n")


def render(settings: Settings, pilots: Sequence[Any], target: Target | None = None,
           config_text: str | None = None, out: str = "DIR") -> dict[str, str]:
    """File name -> content, for `write`. `config_text` is proeftuin.yaml as the pods read it (ConfigMap)."""
    target = target or Target(image_tag=package_version())
    if config_text is None:
        config_text = (settings.project_root / "proeftuin.yaml").read_text(encoding="utf-8")
    docs = manifests(settings, target, config_text)
    return {
        "values.yaml": HEADER + f"# Chart: {CHART_REPO_NAME}/jupyterhub {CHART_VERSION} (JupyterHub "
                                f"{CHART_APP_VERSION}), {CHART_REPO_URL}\n" + _dump(values(settings, pilots, target)),
        "platform.yaml": HEADER + "---\n".join(_dump(d) for d in docs),
        "RUNBOOK.md": runbook(settings, target, "en", out),
        "RUNBOOK.nl.md": runbook(settings, target, "nl", out),
    }


def deep_merge(base: Any, override: Any) -> Any:
    """`override` over `base` as Helm merges values: mappings key by key, anything else replaced."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


@lru_cache(maxsize=1)
def _chart_files() -> tuple[dict[str, Any], dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the schema is 3000 lines: libyaml when there
    return (yaml.load(VALUES_SCHEMA.read_text(encoding="utf-8"), Loader=loader),  # noqa: S506 (a safe loader)
            yaml.load(VALUES_DEFAULTS.read_text(encoding="utf-8"), Loader=loader))  # noqa: S506


def values_problems(rendered: Mapping[str, Any]) -> list[str]:
    """What the chart's schema says about the values merged over its defaults; empty: valid."""
    import jsonschema

    schema, defaults = _chart_files()
    validator = jsonschema.Draft7Validator(schema)
    merged = deep_merge(defaults, rendered)
    return sorted(f"{'.'.join(str(p) for p in e.absolute_path) or '(values)'}: {e.message}"
                  for e in validator.iter_errors(merged))


def manifest_problems(documents: Iterable[Mapping[str, Any]], kubernetes_version: str = KUBERNETES_VERSION
                      ) -> list[str]:
    """kubernetes-validate --strict on each object (offline schemas); empty: valid."""
    import kubernetes_validate

    problems = []
    for doc in documents:
        try:
            kubernetes_validate.validate(dict(doc), kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            problems.append(f"{doc.get('kind')} {doc.get('metadata', {}).get('name')}: {where}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{doc.get('kind')} {doc.get('metadata', {}).get('name')}: {exc}")
    return problems


def check(files: Mapping[str, str]) -> list[str]:
    """The rendered files checked offline: the values against the chart, the manifests against Kubernetes
    (when kubernetes-validate is installed: the `deploy` extra)."""
    problems = [f"values.yaml: {p}" for p in values_problems(yaml.safe_load(files["values.yaml"]))]
    try:
        import kubernetes_validate  # noqa: F401
    except ImportError:
        return problems
    documents = [d for d in yaml.safe_load_all(files["platform.yaml"]) if d]
    return problems + [f"platform.yaml: {p}" for p in manifest_problems(documents)]


def write(files: Mapping[str, str], out_dir: Path) -> list[Path]:
    from proeftuin.files import write_atomic

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sorted(files):
        path = out_dir / name
        write_atomic(path, files[name])
        written.append(path)
    return written
