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
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import posixpath
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated, UserNotAllowed
from jupyterhub.utils import url_path_join
from tornado import httpclient, web
from tornado.httputil import HTTPHeaders
from tornado.netutil import DefaultLoopResolver, Resolver

from proeftuin.hub.context import SERVICE_PREFIX, HubContext, prepare_service_process
from proeftuin.hub.permissions import (
    METHOD_OVERRIDE_HEADERS,
    READ_METHODS,
    Denied,
    Forward,
    Identity,
    Policy,
    reads_body,
)
from proeftuin.process import die_with_parent

log = logging.getLogger("proeftuin.hub.proxy")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length", "host", "authorization"}
#: The hub's and the services' own cookies (login, OAuth state, xsrf): never passed to a backend, which could
#: otherwise act as the visitor (the gallery runs registered model code).
HUB_COOKIE_PREFIXES = ("jupyterhub-", "service-", "__Host-", "_xsrf")
#: The name the backends are reached by; `BackendResolver` maps it to the layer's Unix socket.
BACKEND = "http://localhost"
MAX_BODY = 2 * 1024**3
MAX_CHECKED_BODY = 32 * 1024**2  # an MLflow API write, read whole for the permission check; others stream
_ABORT = object()  # the client went away before its request body was complete
USER_CACHE_SECONDS = 30  # a user's organisations, for reads only: every write asks the hub afresh
TOKEN_CACHE_SECONDS = 3  # the hub's answer to "whose token is this": a revoked token stops working this soon


@dataclass
class Layer:
    name: str
    prefix: str  # /services/<name>
    upstream: str | None = None  # private backend (origin only): BACKEND, on a Unix socket
    strip_prefix: bool = False
    preserve_host: bool = False
    policy: Policy | None = None
    static_dir: Path | None = None
    status: str = ""  # docs: why the site is not there (yet)
    page_head: bytes = b""  # mlflow: added to the <head> of the UI's page (MLFLOW_UI_DEFAULTS)


#: MLflow 3.17's UI keeps these choices in the browser's localStorage only (`<key>_v1`, JSON values); no server
#: setting reaches them. Set before the UI's own script runs (it is `defer`red): the telemetry notice is
#: dismissed and the UI's telemetry switch off (the server sends nothing anyway, see MLFLOW_LOCAL_ANSWERS);
#: the "model training" view (`machine_learning`) instead of GenAI is the default, a user may switch and keeps
#: their choice; the AI assistant, which the UI offers on any page opened at localhost/127.0.0.1 and opens by
#: itself on the first visit, is hidden (its API is refused below). See docs/developer/hub.md ("MLflow UI").
MLFLOW_UI_DEFAULTS = (
    b'<script>(function(){try{var s=window.localStorage;'
    b'function set(k,v){s.setItem(k+"_v1",JSON.stringify(v));}'
    b'if(s.getItem("mlflow.workflowType_v1")===null){set("mlflow.workflowType","machine_learning");}'
    b'set("mlflow.telemetry.info.alert.dismissed",true);set("mlflow.settings.telemetry.enabled",false);'
    b'set("mlflow.assistant.fab.autoOpenedOnFirstLoad",true);set("mlflow.assistant.panelOpen",false);'
    b'}catch(e){}})();</script>'
    b'<style>[data-assistant-ui]{display:none!important}</style>')
#: Answered by the layer itself, never by MLflow: the UI's telemetry config says "off" whatever the server's
#: environment, and what the UI would report is dropped.
MLFLOW_LOCAL_ANSWERS = {
    ("GET", "/ajax-api/3.0/mlflow/ui-telemetry"): {"disable_ui_telemetry": True, "disable_ui_events": [],
                                                   "ui_rollout_percentage": 0},
    ("POST", "/ajax-api/3.0/mlflow/ui-telemetry"): {"status": "disabled"},
}
#: MLflow's AI assistant (3.17: Claude Code, Codex, Ollama or a gateway, with a Bash tool on the server): off.
MLFLOW_BLOCKED_PREFIXES = ("/ajax-api/3.0/mlflow/assistant", "/api/3.0/mlflow/assistant")


def mlflow_blocked(path: str) -> bool:
    """Is this path (below /services/mlflow) one of MLflow's assistant endpoints, however it is spelled?
    MLflow's router matches the decoded path, so encoded letters and dot segments count."""
    decoded = unquote(path)
    forms = {path, decoded, posixpath.normpath(decoded), posixpath.normpath("/" + decoded.lstrip("/"))}
    return any(form.rstrip("/") == prefix or form.startswith(prefix + "/")
               for form in forms for prefix in MLFLOW_BLOCKED_PREFIXES)


class Directory:
    """The hub's view of a user (organisation groups, admin), asked with the service's own token."""

    def __init__(self, hub_api_url: str, token: str, organisations: set[str]) -> None:
        self.hub_api_url = hub_api_url
        self.token = token
        self.organisations = organisations
        self._cache: dict[str, tuple[float, Identity]] = {}

    async def identity(self, model: dict[str, Any], fresh: bool = False) -> Identity | None:
        """A user: their organisations and admin flag. A hub service's token (the gallery, the docs builder): a
        reader, with no organisation, that can write nothing. `fresh`: ask the hub now (every write, so an
        admin's change of organisation or a revocation counts from the very next write); otherwise an answer
        of at most USER_CACHE_SECONDS may do (reads, which everyone logged in may do anyway)."""
        kind = model.get("kind", "user")
        if kind == "service":
            return Identity(f"service:{model['name']}", frozenset(), read_only=True)
        if kind != "user":
            return None
        name = model["name"]
        cached = self._cache.get(name)
        if not fresh and cached and time.monotonic() - cached[0] < USER_CACHE_SECONDS:
            return cached[1]
        response = await httpclient.AsyncHTTPClient().fetch(
            url_path_join(self.hub_api_url, "users", name), headers={"Authorization": f"token {self.token}"},
            raise_error=False)
        if response.code != 200:
            log.warning("Could not look up user %s at the hub: HTTP %s", name, response.code)
            self._cache.pop(name, None)
            return None
        user = json.loads(response.body)
        identity = Identity(name, frozenset(set(user.get("groups") or []) & self.organisations),
                            bool(user.get("admin")))
        self._cache[name] = (time.monotonic(), identity)
        return identity


def layer_hub_auth() -> HubOAuth:
    """The layer's one HubOAuth (JupyterHub's singleton, shared with the OAuth callback), caching the hub's
    answer about a token for TOKEN_CACHE_SECONDS instead of JupyterHub's default 300 s: a token the admin
    revoked (approval withdrawn) is refused within seconds."""
    auth = HubOAuth.instance()
    if auth.cache_max_age != TOKEN_CACHE_SECONDS:
        auth.cache_max_age = TOKEN_CACHE_SECONDS
        auth.cache.clear()
        auth.cache.max_age = auth.cache.purge_interval = TOKEN_CACHE_SECONDS  # made from the default already
    return auth


class SignOnMixin(HubOAuthenticated):
    """Authenticate every request with the hub before anything else happens."""

    layer: Layer
    user_model: dict[str, Any] | None = None

    @property
    def hub_auth(self) -> HubOAuth:
        return layer_hub_auth()

    def initialize(self, layer: Layer, **kwargs) -> None:
        self.layer = layer
        if kwargs:
            super().initialize(**kwargs)

    def check_xsrf_cookie(self):
        # Browsers say where a request comes from; a same-origin request (the MLflow UI, a Gradio demo)
        # cannot be forged by another site. Everything else needs JupyterHub's own xsrf token.
        if self.request.headers.get("Sec-Fetch-Site") == "same-origin":
            return None
        return super().check_xsrf_cookie()

    async def prepare(self):
        model = await self.hub_auth.get_user(self, sync=False)
        if model:
            try:
                model = self.check_hub_user(model)
            except UserNotAllowed:
                model = None
        self.user_model = model
        if not model:
            self._refuse_anonymous()

    def _refuse_anonymous(self) -> None:
        wants_page = self.request.method in ("GET", "HEAD") and "text/html" in self.request.headers.get("Accept", "")
        if wants_page:
            self.redirect(self.get_login_url())
            return
        self.set_status(401)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("WWW-Authenticate", 'Bearer realm="Proeftuin"')
        self.finish(json.dumps({"error_code": "UNAUTHENTICATED",
                                "message": "Log eerst in via de Proeftuin-hub, of stuur een API-token mee "
                                           "(Authorization: token ...)."}))

    def write_error(self, status_code: int, **kwargs) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error_code": "ERROR", "message": self._reason}))


@web.stream_request_body
class ProxyHandler(SignOnMixin, web.RequestHandler):
    """Forwards a request once the hub knows who sent it.

    Request bodies stream to the backend in bounded pieces (an upload of a model or a CSV never sits in
    memory here). The MLflow layer reads every other request whole (at most MAX_CHECKED_BODY): the policy
    reads it once and says what to forward (`Forward`: the canonical path and body). The answer is finished
    only once the request is read whole: a refusal decided earlier waits (the rest of the body is read and
    dropped), because tornado drops the connection of an answer finished early, and the hub's proxy, reusing
    it, then fails the next request with an error page.
    """

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    _who: Identity | None = None
    _path = "/"  # the request path below the service's prefix
    _target: Forward | None = None  # what the policy allowed (MLflow); None: forward the request as it came
    _checked: list[bytes] | None = None  # the body of a request the permission check reads
    _checked_size = 0
    _stream: asyncio.Queue | None = None  # pieces of a streamed body on their way to the backend
    _upstream: asyncio.Future | None = None  # the forwarding of a streamed request
    _client_gone = False
    _body_complete = False
    _refusal: Callable[[], None] | None = None  # decided before the body arrived, sent once it has

    async def prepare(self):
        await super().prepare()
        if self._finished or self._refusal:
            return
        layer, method = self.layer, self.request.method
        path = self._path = self.request.path[len(layer.prefix):] or "/"
        if layer.name == "mlflow":  # MLflow's telemetry and assistant endpoints never reach MLflow
            answer = MLFLOW_LOCAL_ANSWERS.get((method, path))
            if answer is not None:
                return self._once_body_is_in(lambda: self._send_json(200, answer))
            if mlflow_blocked(path):
                return self._deny(404, "De AI-assistent van MLflow staat uit in de Proeftuin: hij zou gegevens "
                                       "naar een taalmodel buiten het platform sturen.")
        if layer.policy is not None:
            self._who = await self.application.settings["directory"].identity(
                self.user_model, fresh=method not in READ_METHODS)
            if self._who is None:
                return self._deny(403, "Alleen ingelogde medewerkers kunnen MLflow gebruiken.")
            if reads_body(method, path):
                if int(self.request.headers.get("Content-Length") or 0) > MAX_CHECKED_BODY:
                    return self._too_large()
                self._checked = []
                return
            self._target = await self._authorize(path, None)
            if self._target is None:
                return
        self._stream = asyncio.Queue(maxsize=8)
        self._upstream = asyncio.ensure_future(self._forward(None))

    async def data_received(self, chunk: bytes) -> None:
        if self._finished or self._refusal:
            return
        if self._checked is not None:
            self._checked.append(chunk)
            self._checked_size += len(chunk)
            if self._checked_size > MAX_CHECKED_BODY:
                self._checked = None
                self._too_large()
        elif self._stream is not None:
            await self._stream.put(chunk)  # waits while the backend is slower than the client

    def on_connection_close(self) -> None:
        self._client_gone = True
        if self._stream is not None:
            _drain(self._stream)
            self._stream.put_nowait(_ABORT)
        super().on_connection_close()

    async def _serve(self, *args) -> None:
        self._body_complete = True
        if self._refusal:
            return self._refusal()
        if self._finished:
            return
        if self._upstream is not None:
            if not self._upstream.done():
                await self._stream.put(None)  # the whole body has arrived
            await self._upstream
            return
        body = b"".join(self._checked or [])
        if self.layer.policy is not None:
            self._target = await self._authorize(self._path, body)
            if self._target is None:
                return
            if self._target.body is not None:
                body = self._target.body
        await self._forward(body)

    get = head = post = put = patch = delete = options = _serve

    async def _authorize(self, path: str, body: bytes | None) -> Forward | None:
        """What to send to MLflow when the signed-in user may do this (`body` None: it streams, unread); None
        after refusing. A refusal is logged with user, organisations, endpoint and reason, never the body."""
        request, who = self.request, self._who
        try:
            return await self.layer.policy.authorize(who, request.method, path, request.query, body,
                                                     request.headers.get("Content-Type"))
        except Denied as exc:
            log.info("denied %s %s for %s (%s): %s", request.method, request.path, who.name,
                     ", ".join(sorted(who.organisations)) or "-", exc.reason)
            self._deny(exc.status, exc.message)
            return None

    def _too_large(self) -> None:
        self._deny(413, f"Deze MLflow-opdracht is groter dan {MAX_CHECKED_BODY // 1024**2} MB. Log grote "
                        "gegevens als artifact (mlflow.log_artifact) in plaats van als parameter of tag.")

    def _has_body(self) -> bool:
        headers = self.request.headers
        return int(headers.get("Content-Length") or 0) > 0 or "Transfer-Encoding" in headers

    def _once_body_is_in(self, answer: Callable[[], None]) -> None:
        if not self._body_complete:
            self._refusal = answer
        else:
            answer()

    def _refuse_anonymous(self) -> None:
        self._once_body_is_in(super()._refuse_anonymous)

    def _deny(self, status: int, message: str) -> None:
        self._once_body_is_in(lambda: self._send_refusal(status, message))

    def _send_json(self, status: int, payload: dict) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(payload))

    def _send_refusal(self, status: int, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        code = {400: "INVALID_PARAMETER_VALUE", 403: "PERMISSION_DENIED", 413: "REQUEST_TOO_LARGE"}.get(
            status, "ERROR")
        self.finish(json.dumps({"error_code": code, "message": message}, ensure_ascii=False))

    def _upstream_headers(self, body: bytes | None) -> HTTPHeaders:
        headers = HTTPHeaders()
        retyped = self._target is not None and self._target.content_type is not None  # a canonical body
        for name, value in self.request.headers.get_all():
            lower = name.lower()
            if lower in HOP_BY_HOP or lower == "cookie" or lower in METHOD_OVERRIDE_HEADERS:
                continue
            if retyped and lower in ("content-type", "content-encoding"):
                continue
            headers.add(name, value)
        if retyped:
            headers["Content-Type"] = self._target.content_type
        cookies = [f"{k}={v.value}" for k, v in self.request.cookies.items() if not k.startswith(HUB_COOKIE_PREFIXES)]
        if cookies:
            headers["Cookie"] = "; ".join(cookies)
        if self.layer.preserve_host:
            headers["Host"] = self.request.host
        headers["X-Forwarded-Proto"] = self.request.protocol
        headers["X-Forwarded-Host"] = self.request.host
        headers["X-Forwarded-User"] = self.user_model["name"]
        if body:
            headers["Content-Length"] = str(len(body))
        elif body is None and "Content-Length" in self.request.headers:  # a streamed body: as the client said
            headers["Content-Length"] = self.request.headers["Content-Length"]
        return headers

    async def _forward(self, body: bytes | None) -> None:
        """Send the request on and stream the answer back; `body` None: the body streams from `_stream`."""
        try:
            await self._relay(body)
        finally:
            if self._stream is not None:  # the backend is done: pieces still arriving have nowhere to go
                _drain(self._stream)
                self._stream = None

    async def _relay_page(self) -> None:
        """MLflow's UI page, read whole (a few kB) with `layer.page_head` added to its <head>."""
        headers = self._upstream_headers(None)
        for name in ("Accept-Encoding", "If-None-Match", "If-Modified-Since"):
            headers.pop(name, None)
        url = self.layer.upstream + self.layer.prefix + "/" + (f"?{self.request.query}" if self.request.query else "")
        try:
            response = await httpclient.AsyncHTTPClient().fetch(
                url, headers=headers, follow_redirects=False, raise_error=False, request_timeout=60, connect_timeout=10)
        except OSError as exc:
            log.warning("upstream %s failed: %s", url, exc)
            response = None
        if self._client_gone:
            return
        if response is None or response.code == 599:
            return self._deny(503, f"De dienst '{self.layer.name}' start (opnieuw) op; probeer het over enkele "
                                   "seconden nog eens.")
        body = response.body or b""
        if response.code == 200 and "text/html" in response.headers.get("Content-Type", "") and b"</head>" in body:
            body = body.replace(b"</head>", self.layer.page_head + b"</head>", 1)
        self.set_status(response.code, response.reason)
        for name in ("Content-Type", "Server", "Date"):
            self.clear_header(name)
        for name, value in response.headers.get_all():
            if name.lower() not in HOP_BY_HOP and name.lower() not in ("content-encoding", "etag", "last-modified"):
                self.add_header(name, value)
        self.set_header("Cache-Control", "no-cache")
        self.write(body)

    async def _relay(self, body: bytes | None) -> None:
        layer, target = self.layer, self._target
        if layer.page_head and self.request.method == "GET" and self._path == "/":
            return await self._relay_page()
        below, query = (target.path, target.query) if target else (self._path, self.request.query)
        path = below if layer.strip_prefix else layer.prefix + below
        url = layer.upstream + path + (f"?{query}" if query else "")
        status: dict[str, Any] = {}
        headers: list[tuple[str, str]] = []
        started = False

        def on_header(line: str) -> None:
            line = line.rstrip("\r\n")
            if line.startswith("HTTP/"):
                parts = line.split(" ", 2)
                status.update(code=int(parts[1]), reason=parts[2] if len(parts) > 2 else None)
                headers.clear()
            elif ":" in line:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))

        def start_response() -> None:
            nonlocal started
            started = True
            self.set_status(status.get("code", 502), status.get("reason"))
            for name in ("Content-Type", "Server", "Date"):
                self.clear_header(name)
            for name, value in headers:
                lower = name.lower()
                if lower in HOP_BY_HOP:
                    continue
                if lower == "location" and value.startswith(layer.upstream):
                    value = value[len(layer.upstream):] or "/"
                self.add_header(name, value)

        def on_chunk(chunk: bytes) -> None:
            if not started:
                start_response()
            if self.request.method != "HEAD":
                self.write(chunk)
                self.flush()

        method = self.request.method
        stream = self._stream

        async def produce(write) -> None:
            while (chunk := await stream.get()) is not None:
                if chunk is _ABORT:
                    raise httpclient.HTTPClientError(499, "de gebruiker brak de upload af")
                await write(chunk)

        streams = stream is not None and self._has_body()
        request = httpclient.HTTPRequest(
            url, method=method, headers=self._upstream_headers(body),
            body=body if body is not None and (body or method in ("POST", "PUT", "PATCH")) else None,
            body_producer=produce if streams else None,
            allow_nonstandard_methods=True, follow_redirects=False, decompress_response=False,
            request_timeout=3600, connect_timeout=10,
            header_callback=on_header, streaming_callback=on_chunk)
        try:
            response = await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        except (OSError, httpclient.HTTPClientError) as exc:
            response = None
            log.warning("upstream %s failed: %s", url, exc)
        if self._client_gone:
            return
        if response is None or (response.code == 599 and not started):
            if not started:
                return self._deny(503, f"De dienst '{layer.name}' start (opnieuw) op; probeer het over enkele "
                                       "seconden nog eens.")
            return  # the handler finishes once the request is read whole (finishing early drops the connection)
        if not started:
            start_response()


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


def _drain(queue: asyncio.Queue) -> None:
    while not queue.empty():
        queue.get_nowait()


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
    prepare_service_process()
    die_with_parent()  # the hub started us: when it goes (even by SIGKILL), so do we
    logging.basicConfig(level=logging.INFO, format="[%(levelname).1s %(asctime)s %(name)s] %(message)s")
    name = (argv or sys.argv[1:] or [""])[0]
    hub = HubContext.for_service()
    backend = {"mlflow": hub.mlflow_socket, "gallery": hub.gallery_socket}.get(name)
    resolver = BackendResolver(sockets={"localhost": str(backend)} if backend else {})
    httpclient.AsyncHTTPClient.configure(None, max_clients=256, max_body_size=MAX_BODY, max_buffer_size=MAX_BODY,
                                         resolver=resolver)
    asyncio.run(serve(name, hub))


async def serve(name: str, hub: HubContext) -> None:
    app = make_app(name, hub)
    port = getattr(hub.settings.hub.ports, name)
    app.listen(port, "127.0.0.1", max_body_size=MAX_BODY, max_buffer_size=MAX_BODY, xheaders=True)
    log.info("%s sign-on layer on http://127.0.0.1:%d%s/%s/", name, port, SERVICE_PREFIX, name)
    await asyncio.Event().wait()


if __name__ == "__main__":
    main()
