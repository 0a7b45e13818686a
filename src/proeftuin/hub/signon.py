"""Sign-on for the layers of `proeftuin.hub.proxy`: every request is authenticated with the hub first.

A request must carry a hub login (the service's OAuth cookie, or `Authorization: token|Bearer <hub API
token>` for scripts and MLflow clients); browsers without one are sent to the hub's login page, other
clients get 401 (`SignOnMixin`). `Directory` asks the hub which organisations a user belongs to, `Layer`
describes one service's layer.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyterhub.services.auth import HubOAuth, HubOAuthenticated, UserNotAllowed
from jupyterhub.utils import url_path_join
from tornado import httpclient

from proeftuin.hub.permissions import Identity, Policy

log = logging.getLogger("proeftuin.hub.proxy")  # one log for the whole sign-on layer, as before the split
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
