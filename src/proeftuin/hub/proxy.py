"""Single sign-on in front of each service: `python -m proeftuin.hub.proxy mlflow|gallery|docs`.

A small tornado app per service, started by the hub at /services/<name>/. A request must carry a
hub login (the service's OAuth cookie, or `Authorization: token|Bearer <hub API token>` for scripts and
MLflow clients); browsers without one are sent to the hub's login page, other clients get 401.
Then:
- mlflow: reads pass; writes are checked by `hub_permissions.Policy`, then forwarded to the private
  MLflow server;
- gallery: forwarded to the private gallery app;
- docs: the built docs site, served from the state folder (built once MLflow answers, rebuilt within a
  minute of a finished run, a new champion, a changed pilot or idea: `site_watch`).

The code: `proeftuin.hub.signon` (the hub login, `Layer`, `Directory`), `proeftuin.hub.forward` (the
forwarding handler and what it answers itself for MLflow), this module (the docs handler, one app per
service, `main`). Their names are re-exported here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
from typing import Any

from jupyterhub.services.auth import HubOAuthCallbackHandler
from tornado import httpclient, web
from tornado.netutil import DefaultLoopResolver, Resolver

from proeftuin.hub.context import SERVICE_PREFIX, HubContext, start_service
from proeftuin.hub.forward import (  # noqa: F401 (part of this module's API)
    HOP_BY_HOP,
    HUB_COOKIE_PREFIXES,
    MAX_CHECKED_BODY,
    MLFLOW_BLOCKED_PREFIXES,
    MLFLOW_LOCAL_ANSWERS,
    MLFLOW_UI_DEFAULTS,
    ProxyHandler,
    mlflow_blocked,
)
from proeftuin.hub.permissions import (  # noqa: F401 (part of this module's API)
    METHOD_OVERRIDE_HEADERS,
    READ_METHODS,
    Denied,
    Forward,
    Identity,
    Policy,
    reads_body,
)
from proeftuin.hub.signon import (  # noqa: F401 (part of this module's API)
    TOKEN_CACHE_SECONDS,
    USER_CACHE_SECONDS,
    Directory,
    Layer,
    SignOnMixin,
    layer_hub_auth,
)

log = logging.getLogger("proeftuin.hub.proxy")
#: The name the backends are reached by; `BackendResolver` maps it to the layer's Unix socket.
BACKEND = "http://localhost"
MAX_BODY = 2 * 1024**3


class UnreadableDocsPath(web.HTTPError):
    """A docs address that is no file name: not UTF-8 once decoded (`%c0%ae`, an overlong '.'), a NUL or other
    control character, a backslash."""

    message = ("Dit adres van de kennissite is niet leesbaar (ongeldige of gecodeerde tekens). Open de kennissite "
               "via haar startpagina en volg de links.")

    def __init__(self, why: str) -> None:
        super().__init__(400, "unreadable docs path: %s", why)


class DocsHandler(SignOnMixin, web.StaticFileHandler):
    def decode_argument(self, value: bytes | None, name: str | None = None) -> str | None:
        """The path below /services/docs/, decoded once: refused with 400 where it is no plain file name (tornado
        would answer an overlong UTF-8 sequence in English, and a NUL with a 500 from the file system)."""
        if value is None:
            return None
        try:
            path = value.decode("utf-8") if isinstance(value, bytes) else value
        except UnicodeDecodeError:
            raise UnreadableDocsPath("not UTF-8") from None
        if name is None and ("\\" in path or any(ord(c) < 32 or ord(c) == 127 for c in path)):  # the path
            raise UnreadableDocsPath("backslash or control character")
        return path

    def write_error(self, status_code: int, **kwargs) -> None:
        error = kwargs.get("exc_info", (None, None))[1]
        if isinstance(error, UnreadableDocsPath):
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(f"<!doctype html><html lang='nl'><meta charset='utf-8'><title>Kennissite</title>"
                        f"<p>{error.message}</p></html>")
            return
        super().write_error(status_code, **kwargs)

    async def prepare(self):
        await super().prepare()
        if self._finished:
            return
        if self.layer.status:
            self.set_status(503)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(f"<!doctype html><html lang='nl'><meta charset='utf-8'><title>Kennissite</title>"
                        f"<p>{self.layer.status}</p></html>")

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        absolute = os.path.abspath(os.path.join(root, path))
        if os.path.isdir(absolute):
            absolute = os.path.join(absolute, "index.html")
        return absolute

    def validate_absolute_path(self, root: str, absolute_path: str):
        if os.path.basename(absolute_path) == "index.html" and not self.request.path.endswith("/") \
                and not self.request.path.endswith("index.html"):
            self.redirect(self.request.path + "/")
            return None
        return super().validate_absolute_path(root, absolute_path)


def _pilots_loader(hub: HubContext):
    from proeftuin.pilot import Pilot, discover_pilots

    state: dict[str, Any] = {"at": 0.0, "pilots": {}}
    orgs = {o.slug for o in hub.settings.organisations}

    def pilots() -> dict[str, dict[str, Any]]:
        if time.monotonic() - state["at"] > 60:
            found = {}
            for pilot in discover_pilots(hub.settings.pilots_dir, orgs, strict=False):
                if isinstance(pilot, Pilot):
                    m = pilot.manifest
                    found[m.slug] = {"owner": m.owner, "organisations": list(m.organisations), "theme": m.theme}
            state.update(at=time.monotonic(), pilots=found)
        return state["pilots"]

    return pilots


class BackendResolver(Resolver):
    """Resolves the backend's name to the Unix socket it listens on (the backends have no TCP port that user
    code could reach); every other name as usual (the hub's API)."""

    def initialize(self, sockets: dict[str, str]) -> None:  # noqa: D401 (tornado's Configurable)
        self.sockets = sockets
        self.fallback = DefaultLoopResolver()

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC):
        if host in self.sockets:
            return [(socket.AF_UNIX, self.sockets[host])]
        return await self.fallback.resolve(host, port, family)


def _mlflow_fetch(base: str):
    async def fetch(api_path: str) -> dict[str, Any] | None:
        response = await httpclient.AsyncHTTPClient().fetch(
            f"{base}{SERVICE_PREFIX}/mlflow/api/2.0/mlflow/{api_path}", raise_error=False, request_timeout=30)
        if response.code == 200:
            return json.loads(response.body)
        if response.code in (400, 404):
            return None
        raise Denied(f"MLflow antwoordt niet (HTTP {response.code}); probeer het zo opnieuw.", 503)

    return fetch


def docs_watcher(hub: HubContext, layer: Layer) -> Any:
    """The docs builder: links point at the services behind the hub; MLflow is read through its sign-on layer
    with the service's own token (`prepare_service_process`), like the build itself does."""
    from proeftuin import tracking
    from proeftuin.settings import PublicUrls
    from proeftuin.site.watch import Watcher

    urls = hub.settings.urls
    settings = hub.settings.model_copy(update={"urls": PublicUrls(
        mlflow=urls.mlflow or f"{hub.public_url}{SERVICE_PREFIX}/mlflow",
        gallery=urls.gallery or f"{hub.public_url}{SERVICE_PREFIX}/gallery",
        docs=urls.docs or f"{hub.public_url}{SERVICE_PREFIX}/docs")})

    def set_status(message: str) -> None:
        layer.status = message

    return Watcher(settings, hub.site_dir, tracking.tracking_uri(settings), os.environ.get("MLFLOW_TRACKING_TOKEN"),
                   set_status)


def _build_docs(hub: HubContext, layer: Layer) -> None:
    """Build the site in the background once MLflow answers, then whenever what it shows changed."""
    docs_watcher(hub, layer).run()


def make_app(name: str, hub: HubContext) -> web.Application:
    prefix = f"{SERVICE_PREFIX}/{name}"
    settings = hub.settings
    layer = Layer(name, prefix)
    routes: list = [(f"{prefix}/oauth_callback", HubOAuthCallbackHandler)]
    if name == "mlflow":
        layer.upstream = BACKEND
        layer.policy = Policy(_mlflow_fetch(BACKEND), _pilots_loader(hub))
        layer.page_head = MLFLOW_UI_DEFAULTS
        routes.append((f"{prefix}(/.*)?", ProxyHandler, {"layer": layer}))
    elif name == "gallery":
        layer.upstream, layer.strip_prefix, layer.preserve_host = BACKEND, True, True
        routes.append((f"{prefix}(/.*)?", ProxyHandler, {"layer": layer}))
    elif name == "docs":
        from proeftuin.site.watch import served_dir

        hub.site_dir.mkdir(parents=True, exist_ok=True)
        layer.static_dir = served_dir(hub.site_dir)  # a link to the last good build, swapped atomically
        if not layer.static_dir.is_dir():  # after a restart the last good site is online at once
            layer.status = ("De kennissite wordt gebouwd zodra MLflow klaar is; vernieuw deze pagina over een "
                            "halve minuut.")
        routes.append((f"{prefix}/?(.*)", DocsHandler,
                       {"layer": layer, "path": str(layer.static_dir), "default_filename": "index.html",
                        "allowed_symlink_directory": str(hub.site_dir)}))
        threading.Thread(target=_build_docs, args=(hub, layer), daemon=True, name="docs-build").start()
    else:
        raise SystemExit(f"onbekende dienst '{name}': kies mlflow, gallery of docs")
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    directory = Directory(os.environ.get("JUPYTERHUB_API_URL", ""), token, {o.slug for o in settings.organisations})
    return web.Application(routes, cookie_secret=os.urandom(32), directory=directory)


def main(argv: list[str] | None = None) -> None:
    name, hub = start_service(argv, "[%(levelname).1s %(asctime)s %(name)s] %(message)s")
    backend = {"mlflow": hub.mlflow_socket, "gallery": hub.gallery_socket}.get(name)
    resolver = BackendResolver(sockets={"localhost": str(backend)} if backend else {})
    httpclient.AsyncHTTPClient.configure(None, max_clients=256, max_body_size=MAX_BODY, max_buffer_size=MAX_BODY,
                                         resolver=resolver)
    asyncio.run(serve(name, hub))


def listen_address(name: str, hub: HubContext) -> tuple[str, int]:
    """Where the layer listens: the service URL the hub gave it (`JUPYTERHUB_SERVICE_URL`; on one machine
    http://127.0.0.1:<hub.ports.NAME>, in a Kubernetes pod the pod's address), else loopback and the setting."""
    from urllib.parse import urlsplit

    given = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", ""))
    if given.hostname and given.port:
        return given.hostname, given.port
    return "127.0.0.1", getattr(hub.settings.hub.ports, name)


async def serve(name: str, hub: HubContext) -> None:
    app = make_app(name, hub)
    host, port = listen_address(name, hub)
    app.listen(port, host, max_body_size=MAX_BODY, max_buffer_size=MAX_BODY, xheaders=True)
    log.info("%s sign-on layer on http://%s:%d%s/%s/", name, host, port, SERVICE_PREFIX, name)
    await asyncio.Event().wait()


if __name__ == "__main__":
    main()
