"""The forwarding handler of the sign-on layer (`proeftuin.hub.proxy`): a signed-in request goes to the private
backend, request and answer streaming; for MLflow, writes are checked by `proeftuin.hub.permissions.Policy`
first and forwarded in their canonical form, and MLflow's telemetry and AI-assistant endpoints are answered
or refused here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import posixpath
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from tornado import httpclient, web
from tornado.httputil import HTTPHeaders

from proeftuin.hub.permissions import (
    METHOD_OVERRIDE_HEADERS,
    READ_METHODS,
    Denied,
    Forward,
    Identity,
    reads_body,
)
from proeftuin.hub.signon import SignOnMixin

log = logging.getLogger("proeftuin.hub.proxy")  # one log for the whole sign-on layer, as before the split
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length", "host", "authorization"}
#: The hub's and the services' own cookies (login, OAuth state, xsrf): never passed to a backend, which could
#: otherwise act as the visitor (the gallery runs registered model code).
HUB_COOKIE_PREFIXES = ("jupyterhub-", "service-", "__Host-", "_xsrf")
MAX_CHECKED_BODY = 32 * 1024**2  # an MLflow API write, read whole for the permission check; others stream
_ABORT = object()  # the client went away before its request body was complete


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


def _drain(queue: asyncio.Queue) -> None:
    while not queue.empty():
        queue.get_nowait()

