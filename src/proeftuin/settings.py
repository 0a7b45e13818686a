"""The platform's settings: one YAML file (`proeftuin.yaml`) plus a few environment overrides.

The embedded defaults run on one machine (SQLite and files under the state folder); the same
fields point at PostgreSQL, S3-compatible storage and other hosts without code changes.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from proeftuin import units
from proeftuin.errors import ConfigError
from proeftuin.schema import Strict

CONFIG_FILENAME = "proeftuin.yaml"
ENV_CONFIG = "PROEFTUIN_CONFIG"
ENV_HOME = "PROEFTUIN_HOME"
ENV_PILOTS_DIR = "PROEFTUIN_PILOTS_DIR"
ENV_MODELS_DIR = "PROEFTUIN_MODELS_DIR"

OrganisationKind = Literal["gemeente", "stad", "regionale organisatie"]


class Organisation(Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    kind: OrganisationKind
    contact: str | None = Field(None, description="A general contact address (e-mail or https://...) for the "
                                "public register; never a person's own address.")


class Ports(Strict):
    hub: int = Field(8000, ge=1, le=65535)
    mlflow: int = Field(5000, ge=1, le=65535)
    gallery: int = Field(7860, ge=1, le=65535)
    docs: int = Field(8001, ge=1, le=65535)


class MlflowSettings(Strict):
    backend_store_uri: str | None = Field(
        None, description="SQLAlchemy URI of the tracking store; empty: SQLite in the state folder."
    )
    artifact_root: str | None = Field(
        None, description="Where run artifacts go (path or s3://...); empty: the state folder."
    )


class Databases(Strict):
    """The databases on the PostgreSQL server: MLflow and JupyterHub each keep their own schema history
    (both have a table `alembic_version`), so they cannot share one; feedback and ideas share the third."""

    mlflow: str = Field("proeftuin_mlflow", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    hub: str = Field("proeftuin_hub", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    platform: str = Field("proeftuin", pattern=r"^[a-z_][a-z0-9_]{0,62}$",
                          description="Kiosk feedback and ideas.")


class StorageSettings(Strict):
    """Where rows and files live. Empty: SQLite files and folders in the state folder (the embedded default).
    Passwords and keys never go in proeftuin.yaml: they come from the environment or from secret files."""

    postgresql: str | None = Field(
        None, description="PostgreSQL server for MLflow, the hub, feedback and ideas: postgresql://USER@HOST:PORT "
                          "(no password here: password_file or the variable password_env).")
    databases: Databases = Databases()
    password_file: Path | None = Field(None, description="File holding the database password (mode 0600).")
    password_env: str = Field("PROEFTUIN_DB_PASSWORD", description="Variable holding the database password.")
    s3: str | None = Field(None, description="MLflow artifacts on S3-compatible storage: s3://BUCKET/PREFIX.")
    s3_endpoint_url: str | None = Field(None, description="MinIO, Ceph, ...: https://HOST:PORT; empty: AWS.")
    s3_credentials_file: Path | None = Field(
        None, description="An AWS credentials file (access key and secret); empty: AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY from the environment.")

    @field_validator("postgresql")
    @classmethod
    def _postgresql(cls, value: str | None) -> str | None:
        if not value:
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.password is not None:  # first: the messages below repeat the address
            raise PydanticCustomError("wachtwoord", "zet geen wachtwoord in proeftuin.yaml; laat het weg uit het adres "
                                      "en zet het in storage.password_file of in de variabele PROEFTUIN_DB_PASSWORD")
        if parts.scheme not in ("postgresql", "postgresql+psycopg", "postgres"):
            raise PydanticCustomError("postgresql", "'{value}' is geen PostgreSQL-adres; schrijf "
                                      "postgresql://GEBRUIKER@SERVER:5432", {"value": value})
        if not parts.hostname or not parts.username:
            raise PydanticCustomError("postgresql", "'{value}' mist de gebruiker of de server; schrijf "
                                      "postgresql://GEBRUIKER@SERVER:5432", {"value": value})
        if parts.path.strip("/"):
            raise PydanticCustomError("postgresql", "geef alleen de server ('{value}' noemt een databank): de namen "
                                      "van de databanken staan onder storage.databases", {"value": value})
        return value

    @field_validator("s3")
    @classmethod
    def _s3(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith("s3://") or not value[5:].split("/")[0]:
            raise PydanticCustomError("s3", "'{value}' is geen S3-adres; schrijf s3://BUCKET/MAP", {"value": value})
        return value.rstrip("/")

    @field_validator("password_file", "s3_credentials_file", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        root = (info.context or {}).get("root")
        if value is None:
            return None
        path = value.expanduser()
        return (Path(root) / path).resolve() if not path.is_absolute() and root is not None else path


class GallerySettings(Strict):
    max_input_chars: int = Field(5000, ge=100, description="Longer demo inputs are cut, with a message.")
    max_request_bytes: int = Field(256 * 1024, ge=1024, description="Larger API requests are refused (413).")
    rate_limit_per_minute: int = Field(60, ge=0, description="Demo calls per client per minute; 0 = no limit.")
    store_feedback_text: bool = Field(False, description="Keep the (scrubbed) input with kiosk feedback.")
    concurrency_limit: int = Field(4, ge=1, description="Demo calls worked on at once per demo.")
    queue_size: int = Field(2000, ge=1, description="Waiting demo calls per demo before 'queue full'.")


class PublicUrls(Strict):
    """Where people reach each service (links in docs and cards); empty: http://<host>:<port>."""

    mlflow: str | None = None
    gallery: str | None = None
    docs: str | None = None


class HubPorts(Strict):
    """Loopback ports behind the hub: its API, the proxy's API and the services' sign-on layers."""

    api: int = Field(8081, ge=1, le=65535, description="JupyterHub's own API (only the proxy and services use it).")
    proxy_api: int = Field(8082, ge=1, le=65535, description="configurable-http-proxy's REST API.")
    mlflow: int = Field(8083, ge=1, le=65535, description="MLflow's permission proxy (/services/mlflow/).")
    gallery: int = Field(8084, ge=1, le=65535, description="The gallery's sign-on layer (/services/gallery/).")
    docs: int = Field(8085, ge=1, le=65535, description="The docs site with sign-on (/services/docs/).")


class OidcSettings(Strict):
    """OpenID Connect (e.g. Microsoft Entra ID); the client secret is read from an environment variable."""

    client_id: str | None = None
    client_secret_env: str = Field("PROEFTUIN_OIDC_CLIENT_SECRET", description="Variable holding the client secret.")
    tenant_id: str | None = Field(None, description="Entra ID tenant: fills in the authorize and token URLs.")
    authorize_url: str | None = None
    token_url: str | None = None
    userdata_url: str | None = Field(None, description="Empty: user data comes from the ID token (Entra ID).")
    callback_url: str | None = Field(None, description="Empty: <hub.public_url>/hub/oauth_callback.")
    login_service: str = Field("Microsoft Entra ID", description="Shown on the login button.")
    scopes: list[str] = ["openid", "profile", "email"]
    username_claim: str = "preferred_username"
    groups_claim: str = Field("groups", description="Claim with the user's groups (Entra ID: group object ids).")
    group_organisations: dict[str, str] = Field(
        default_factory=dict, description="Group claim value -> organisation slug; empty: values are slugs.")
    admin_groups: list[str] = Field(default_factory=list, description="Group claim values that make a hub admin.")


class HubLimits(Strict):
    """Per notebook server (JupyterLab, its kernels, terminals and every process they start, together);
    enforced with cgroups where the machine has them, see proeftuin.hub.limits. The defaults fit a
    2-core, 24 GiB machine: a few people computing at once, with room left for the hub and the services."""

    memory: int = Field(units.DEFAULT_MEMORY, description="Bytes, written as 4G or 512M (G = GiB); 0 = no limit.")
    cpu: float = Field(units.DEFAULT_CPU, description="CPUs' share: 1 = one CPU, 0.5 = half of one; 0 = no limit.")

    @field_validator("memory", "cpu", mode="before")
    @classmethod
    def _parse(cls, value: object, info: ValidationInfo) -> int | float:
        parse = units.parse_memory if info.field_name == "memory" else units.parse_cpu
        try:
            return parse(value)
        except ValueError as exc:
            raise PydanticCustomError("geheugen" if info.field_name == "memory" else "cpu", str(exc)) from None


class HubTLS(Strict):
    """HTTPS on the hub's public port: a certificate (with its chain) and its private key, PEM files that the
    hub (root) reads at start. Relative paths are relative to proeftuin.yaml."""

    certificate: Path = Field(description="PEM certificate, with the intermediate certificates after it.")
    key: Path = Field(description="PEM private key of the certificate (keep it mode 0600).")

    @field_validator("certificate", "key", mode="after")
    @classmethod
    def _exists(cls, value: Path, info: ValidationInfo) -> Path:
        root = (info.context or {}).get("root")
        path = value.expanduser()
        if not path.is_absolute() and root is not None:
            path = (Path(root) / path).resolve()
        if not path.is_file():
            what = "het certificaat" if info.field_name == "certificate" else "de sleutel"
            raise PydanticCustomError(
                "bestand", "{path} bestaat niet of is geen bestand; geef het pad van {what} (PEM), of laat hub.tls weg "
                "om zonder HTTPS te werken", {"path": str(path), "what": what})
        return path


class HubSettings(Strict):
    """JupyterHub: one login for notebooks, MLflow, the gallery and the docs (`proeftuin up`)."""

    authenticator: Literal["native", "oidc"] = Field(
        "native", description="native: sign-up with admin approval; oidc: the organisations' identity provider.")
    admin_user: str = Field("beheerder", pattern=r"^[a-z][a-z0-9_-]{0,29}$",
                            description="First admin; its generated password is in <state>/hub/admin-password.")
    isolation: Literal["auto", "system-users", "none"] = Field(
        "auto", description="auto: a system account per user when started as root, else none (single team).")
    idle_timeout: int = Field(3600, ge=0, description="Stop notebook servers idle this many seconds; 0 = never.")
    start_timeout: int = Field(120, ge=10, description="Seconds a notebook server may take to start.")
    minimum_password_length: int = Field(10, ge=8)
    public_url: str | None = Field(None, description="Where people reach the hub (https://...); empty: http://host:port.")
    ports: HubPorts = HubPorts()
    oidc: OidcSettings = OidcSettings()
    limits: HubLimits = HubLimits()
    tls: HubTLS | None = Field(None, description="HTTPS on the public port; empty: plain HTTP (or a reverse proxy).")


class Settings(Strict):
    project_root: Path
    state_dir: Path = Path(".proeftuin")
    pilots_dir: Path = Path("pilots")
    #: Language models added with `proeftuin models add` (not secret: readable by every notebook).
    models_dir: Path = Path("models")
    host: str = "127.0.0.1"
    ports: Ports = Ports()
    mlflow: MlflowSettings = MlflowSettings()
    storage: StorageSettings = StorageSettings()
    urls: PublicUrls = PublicUrls()
    gallery: GallerySettings = GallerySettings()
    hub: HubSettings = HubSettings()
    organisations: list[Organisation]

    @field_validator("organisations")
    @classmethod
    def _unique_slugs(cls, orgs: list[Organisation]) -> list[Organisation]:
        slugs = [o.slug for o in orgs]
        doubles = sorted({s for s in slugs if slugs.count(s) > 1})
        if doubles:
            raise ValueError(f"organisatie dubbel opgegeven: {', '.join(doubles)}")
        if not orgs:
            raise ValueError("geef minstens één organisatie op")
        return orgs

    # Derived locations: computed, never stored, so an override of state_dir moves them all.
    @property
    def mlflow_dir(self) -> Path:
        return self.state_dir / "mlflow"

    @property
    def backend_store_uri(self) -> str:
        """mlflow.backend_store_uri, else the MLflow database on storage.postgresql, else SQLite."""
        if self.mlflow.backend_store_uri:
            return self.mlflow.backend_store_uri
        if self.storage.postgresql:
            return self.postgresql_url(self.storage.databases.mlflow)
        return f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def remote_artifact_root(self) -> str | None:
        """Artifacts outside the state folder (mlflow.artifact_root, else storage.s3); None: the embedded default."""
        return self.mlflow.artifact_root or self.storage.s3

    @property
    def artifact_root(self) -> str:
        return self.remote_artifact_root or (self.mlflow_dir / "artifacts").as_uri()

    def postgresql_url(self, database: str) -> str:
        """SQLAlchemy URL of one database on storage.postgresql (psycopg 3), without a password."""
        server = self.storage.postgresql or ""
        return "postgresql+psycopg://" + server.split("://", 1)[1].rstrip("/") + "/" + database

    def public_url(self, service: Literal["mlflow", "gallery", "docs"]) -> str:
        configured = getattr(self.urls, service)
        return (configured or f"http://{self.host}:{getattr(self.ports, service)}").rstrip("/")

    def organisation(self, slug: str) -> Organisation:
        for org in self.organisations:
            if org.slug == slug:
                return org
        known = ", ".join(o.slug for o in self.organisations)
        raise ConfigError(
            f"Onbekende organisatie '{slug}'.", f"Kies een van: {known}."
        )

    def ensure_state_dir(self) -> Path:
        """Create the state folder with owner-only permissions (it holds databases and secrets)."""
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.mlflow_dir.mkdir(mode=0o700, exist_ok=True)
        return self.state_dir


def find_config_file(start: Path | None = None) -> Path:
    """`PROEFTUIN_CONFIG`, else the nearest `proeftuin.yaml` from the working folder upwards."""
    if env := os.environ.get(ENV_CONFIG):
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"{ENV_CONFIG} wijst naar {path}, maar dat bestand bestaat niet.",
                f"Zet {ENV_CONFIG} op het pad van proeftuin.yaml of maak de variabele leeg.",
            )
        return path.resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"Geen {CONFIG_FILENAME} gevonden in {here} of een map erboven.",
        f"Start het commando in de projectmap van Proeftuin, of zet {ENV_CONFIG}.",
    )


def _resolve(root: Path, value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (root / path).resolve()


def load_settings(config_file: Path | None = None) -> Settings:
    """Read and validate the settings; environment variables win over the file."""
    path = config_file or find_config_file()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path} kan niet gelezen worden: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} moet een YAML-mapping zijn (sleutel: waarde).")
    root = path.parent
    raw = dict(raw)
    raw["project_root"] = root
    raw["state_dir"] = _resolve(root, os.environ.get(ENV_HOME) or raw.get("state_dir", ".proeftuin"))
    raw["pilots_dir"] = _resolve(root, os.environ.get(ENV_PILOTS_DIR) or raw.get("pilots_dir", "pilots"))
    raw["models_dir"] = _resolve(root, os.environ.get(ENV_MODELS_DIR) or raw.get("models_dir", "models"))
    try:
        return Settings.model_validate(raw, context={"root": root})
    except ValidationError as exc:
        problems = "\n".join(
            f"  - {'.'.join(str(p) for p in err['loc']) or '(bestand)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path} is ongeldig:\n{problems}") from exc


@lru_cache(maxsize=1)
def _cached(config_file: str, env_key: tuple[str | None, ...]) -> Settings:
    return load_settings(Path(config_file))


def get_settings() -> Settings:
    """Settings for this process; re-read when the file or an override variable changes."""
    path = find_config_file()
    env_key = tuple(os.environ.get(k) for k in (ENV_HOME, ENV_PILOTS_DIR))
    return _cached(str(path), env_key)
