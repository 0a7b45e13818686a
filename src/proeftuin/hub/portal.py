"""The portal: the hub's home page ("Wat wil je doen?") and the intake of ideas, served by the hub itself.

- `PortalHandler` (`GET /hub/portaal`, `JupyterHub.default_url`): start or open my notebook; the pilots of my
  organisation and those it takes part in, each with its stage, its champion's figure, its last run and links
  to its page on the knowledge site, its demo and its MLflow experiment; the gallery, the site, the ideas
  with "wij ook", the form to propose a question, and for admins the sign-ups waiting.
- `IdeaHandler` (`POST /hub/portaal/idee`) and `SupportHandler` (`POST /hub/portaal/idee/<id>/wij-ook`): the
  forms, POSTed with JupyterHub's `_xsrf` token, stored with `proeftuin.ideas.IdeaStore` (scrubbed there).
- `MlflowResults`: each pilot's figures from MLflow, read through the mlflow sign-on layer with a reader's
  hub token, cached for CACHE_SECONDS; a portal request waits at most BUDGET_SECONDS for them, so a slow or
  stopped MLflow never holds up the page (it then says that the results are not available right now).
- `DutchPages`: a jinja extension for the one thing JupyterHub's page.html does not put in a block, its
  `<html lang="en">` (and a few labels next to it). The templates themselves are in `hub_templates/`.

The handlers are registered by the authenticators (`get_handlers`), like NativeAuthenticator's pages:
`JupyterHub.extra_handlers` is deprecated since JupyterHub 3.1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from jinja2.ext import Extension
from jupyterhub._data import DATA_FILES_PATH
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from proeftuin import wording
from proeftuin.governance.duties import open_duties
from proeftuin.hub.auth import DutchRefusals, ProeftuinNativeAuthenticator
from proeftuin.ideas import FIELD_LABELS, IdeaError, IdeaStore
from proeftuin.pilot import Pilot, discover_pilots
from proeftuin.settings import get_settings
from proeftuin.site import STAGES, PilotEntry
from proeftuin.tags import CHAMPION_ALIAS

log = logging.getLogger("proeftuin.portal")

CACHE_SECONDS = 30  # how old a pilot's figures may be
FAILED_CACHE_SECONDS = 5  # after MLflow did not answer: try again this soon
BUDGET_SECONDS = 2.0  # the longest a portal request waits for MLflow
REQUEST_SECONDS = 10  # one MLflow call (a refresh goes on in the background after the budget)
#: The hub reads MLflow with this service's token: a reader there (role proeftuin-readers, see hub.py).
READER_SERVICE = "docs"
RECENT_RUNS = 10  # runs offered in the "compare" link
JUPYTERHUB_TEMPLATES = Path(DATA_FILES_PATH).resolve() / "templates"

NOT_AVAILABLE = "De resultaten uit MLflow zijn nu niet beschikbaar; probeer het over een minuut opnieuw."
NO_ORGANISATION = ("Je account hoort (nog) bij geen organisatie, dus er is niets bewaard. Vraag een beheerder om je "
                   "organisatie in te stellen op de goedkeuringspagina.")
XSRF_REFUSED = ("Dit formulier is verlopen of kwam niet van het portaal, dus er is niets bewaard. Open het portaal "
                "opnieuw en verstuur het formulier daar.")
LOGIN_FIRST = "Log eerst in: alleen collega's van de deelnemende organisaties kunnen ideeën indienen of steunen."


class DutchPages(Extension):
    """JupyterHub's page.html hard-codes `<html lang="en">` and a few English labels outside its blocks; the
    pages extend it (hub_templates/page.html), so this rewrites only those literals when jinja loads it.
    Set through `JupyterHub.jinja_environment_options`, so it applies to every page, error pages included."""

    REPLACEMENTS = {
        "templates/page.html": (
            ('<html lang="en">', '<html lang="nl">'),
            ("JupyterHub requires JavaScript.", "Proeftuin heeft JavaScript nodig."),
            ("Please enable it to proceed.", "Zet het aan in je browser om verder te gaan."),
            ('aria-label="Toggle navigation"', 'aria-label="Menu openen of sluiten"'),
            ('aria-label="Close"', 'aria-label="Sluiten"'),
            ("{% call modal('Error', btn_label='OK') %}", "{% call modal('Fout', btn_label='OK') %}"),
            ('<div class="ajax-error alert-danger">The error</div>', '<div class="ajax-error alert-danger">Fout</div>'),
        ),
        "templates/spawn_pending.html": (
            ("<summary>Event log</summary>", "<summary>Verloop</summary>"),
            ("</span> Complete</span>", "</span> klaar</span>"),
            (">Stop Server</button>", ">Stoppen</button>"),
            ("text('Stopping...')", "text('Bezig met stoppen…')"),
            ("text('Stopping server...')", "text('Je notebook stopt…')"),
            ("text('Server stopped successfully!')", "text('Je notebook is gestopt.')"),
            ("var errorMessage = 'Error stopping server';", "var errorMessage = 'Stoppen is mislukt';"),
            ("text('Stop Server')", "text('Stoppen')"),
        ),
        "templates/stop_pending.html": ((">refresh</a>", ">Vernieuwen</a>"),),
    }

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        path = Path(filename).resolve() if filename else Path()
        if path.parent == JUPYTERHUB_TEMPLATES:  # loaded as "templates/<name>" (jinja passes the local name)
            for old, new in self.REPLACEMENTS.get(f"templates/{path.name}", ()):
                source = source.replace(old, new)
        return source


# --- results from MLflow ---------------------------------------------------------------------------

class Unavailable(Exception):
    """MLflow (or its sign-on layer) did not answer as expected."""


@dataclass
class PilotResults:
    experiment_id: str | None = None
    champion_value: float | None = None
    champion_version: str | None = None
    last_run_ms: int | None = None
    recent_run_ids: list[str] = field(default_factory=list)
    unavailable: bool = False


class MlflowResults:
    """Each pilot's figures, read through `<layer>/services/mlflow/api/2.0/mlflow/...` with a hub token."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._cache: dict[str, tuple[float, PilotResults]] = {}
        self._refreshing: dict[str, asyncio.Task] = {}

    async def results(self, pilots: dict[str, str], token: str | None) -> dict[str, PilotResults | None]:
        """slug -> metric name in, slug -> its figures out (None: never fetched in time). Stale figures are
        refreshed in the background; this waits at most BUDGET_SECONDS for the refreshes."""
        now = time.monotonic()
        waiting = []
        for slug, metric in pilots.items():
            cached = self._cache.get(slug)
            if cached and now < cached[0]:
                continue
            task = self._refreshing.get(slug)
            if task is None:
                task = asyncio.ensure_future(self._refresh(slug, metric, token))
                self._refreshing[slug] = task
                task.add_done_callback(lambda _, slug=slug: self._refreshing.pop(slug, None))
            waiting.append(task)
        if waiting:
            await asyncio.wait(waiting, timeout=BUDGET_SECONDS)
        return {slug: (self._cache.get(slug) or (0, None))[1] for slug in pilots}

    async def _refresh(self, slug: str, metric: str, token: str | None) -> None:
        try:
            result, keep = await self._fetch(slug, metric, token), CACHE_SECONDS
        except Exception as exc:  # any failure of MLflow or the layer: the portal says so and carries on
            log.warning("Resultaten van %s niet opgehaald: %s", slug, exc)
            result, keep = PilotResults(unavailable=True), FAILED_CACHE_SECONDS
        self._cache[slug] = (time.monotonic() + keep, result)

    async def _call(self, token: str | None, endpoint: str, body: dict | None = None, **query) -> dict | None:
        if not token:
            raise Unavailable("de hub heeft geen token om MLflow te lezen")
        url = f"{self.base_url}/services/mlflow/api/2.0/mlflow/{endpoint}"
        if query:
            url += "?" + urlencode(query)
        try:
            response = await AsyncHTTPClient().fetch(
                url, method="POST" if body is not None else "GET", body=json.dumps(body) if body is not None else None,
                headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
                connect_timeout=BUDGET_SECONDS, request_timeout=REQUEST_SECONDS, raise_error=False)
        except (HTTPClientError, OSError) as exc:
            raise Unavailable(str(exc)) from exc
        if response.code == 404:
            return None
        if response.code != 200:
            raise Unavailable(f"HTTP {response.code} op {endpoint}")
        return json.loads(response.body)

    async def _fetch(self, slug: str, metric: str, token: str | None) -> PilotResults:
        found = await self._call(token, "experiments/get-by-name", experiment_name=slug)
        experiment = (found or {}).get("experiment")
        if not experiment or experiment.get("lifecycle_stage") == "deleted":
            return PilotResults()
        result = PilotResults(experiment_id=experiment["experiment_id"])
        runs = (await self._call(token, "runs/search", {
            "experiment_ids": [result.experiment_id], "max_results": RECENT_RUNS,
            "order_by": ["attributes.start_time DESC"]}) or {}).get("runs", [])
        result.recent_run_ids = [run["info"]["run_id"] for run in runs]
        result.last_run_ms = int(runs[0]["info"]["start_time"]) if runs else None
        alias = await self._call(token, "registered-models/alias", name=slug, alias=CHAMPION_ALIAS)
        version = (alias or {}).get("model_version") or {}
        if version.get("run_id"):
            result.champion_version = str(version.get("version"))
            run = next((r for r in runs if r["info"]["run_id"] == version["run_id"]), None)
            if run is None:
                run = ((await self._call(token, "runs/get", run_id=version["run_id"])) or {}).get("run")
            metrics = {m["key"]: m["value"] for m in ((run or {}).get("data") or {}).get("metrics", [])}
            result.champion_value = metrics.get(metric)
        return result


_results: MlflowResults | None = None


def mlflow_results() -> MlflowResults:
    """One cache per hub process, reading through the mlflow sign-on layer on its loopback port."""
    global _results
    if _results is None:
        _results = MlflowResults(f"http://127.0.0.1:{get_settings().hub.ports.mlflow}")
    return _results


# --- the pages -------------------------------------------------------------------------------------

def _when(timestamp_ms: int | None) -> str:
    if not timestamp_ms:
        return "nog geen run"
    moment = dt.datetime.fromtimestamp(timestamp_ms / 1000)
    return f"{wording.date(timestamp_ms)} om {moment:%H:%M}"


class PortalBase(DutchRefusals):
    """The portal page, rendered by GET and by a refused form (with the form's values, so nothing typed is lost)."""

    xsrf_refused = XSRF_REFUSED
    forbidden = LOGIN_FIRST

    @property
    def settings_(self):
        return get_settings()

    def organisations(self) -> dict[str, str]:
        return {o.slug: o.name for o in self.settings_.organisations}

    def my_organisation(self) -> str | None:
        """The user's organisation: their hub group that is an organisation of proeftuin.yaml."""
        known = self.organisations()
        return next((g.name for g in self.current_user.groups if g.name in known), None)

    def ideas(self) -> IdeaStore:
        return IdeaStore(self.settings_, set(self.organisations()))

    def service_url(self, name: str, path: str = "") -> str:
        return url_path_join(self.base_url, "services", name) + "/" + path

    async def pilot_cards(self, organisation: str | None) -> tuple[list[dict], bool]:
        """The user's pilots (all of them when they have no organisation) and whether MLflow answered for all."""
        names = self.organisations()
        pilots = [p for p in discover_pilots(self.settings_.pilots_dir, set(names), strict=False)
                  if isinstance(p, Pilot) and (organisation is None or organisation in p.manifest.organisations)]
        service = self.services.get(READER_SERVICE)
        figures = await mlflow_results().results({p.manifest.slug: p.manifest.metric.name for p in pilots},
                                                 getattr(service, "api_token", None))
        cards, complete = [], True
        for pilot in pilots:
            m = pilot.manifest
            found = figures.get(m.slug)
            available = found is not None and not found.unavailable
            complete = complete and available
            # mkdocs.yml: use_directory_urls: false, so pilots/<folder>.md is served as pilots/<folder>.html
            page = PilotEntry(pilot.path.name, pilot.path, m).page.removesuffix(".md") + ".html"
            card = {"slug": m.slug, "title": m.title, "question": m.question, "stage": m.stage,
                    "stage_text": STAGES.get(m.stage, ""), "owner": names.get(m.owner, m.owner),
                    "participants": [names.get(o, o) for o in m.participants], "available": available,
                    "risk_group": m.ai_act.profile.risk_group if m.ai_act.profile else "nog niet bepaald",
                    "open_duties": len(open_duties(m, pilot.path)),
                    "docs_url": self.service_url("docs", page),
                    "accountability_url": self.service_url("docs", page) + "#verantwoording",
                    "demo_url": self.service_url("gallery", f"demo/{quote(m.slug)}/")}
            if available:
                card["last_run"] = _when(found.last_run_ms)
                if found.champion_value is not None:  # "macro-F1 0,54 — de juiste dienst in 54 van de 100 vragen"
                    figure = wording.technical(m.metric.name, found.champion_value)
                    words = wording.in_words(m.metric.name, found.champion_value)
                    card["champion"] = figure if words == figure else f"{figure} — {words}"
                    if m.metric.baseline is not None:
                        card["baseline"] = wording.value(m.metric.name, m.metric.baseline)
                if found.experiment_id:
                    card["mlflow_url"] = self.service_url("mlflow", f"#/experiments/{found.experiment_id}")
                if len(found.recent_run_ids) > 1:
                    runs, ids = quote(json.dumps(found.recent_run_ids)), quote(json.dumps([found.experiment_id]))
                    card["compare_url"] = self.service_url("mlflow", f"#/compare-runs?runs={runs}&experiments={ids}")
            cards.append(card)
        return cards, complete

    def waiting_sign_ups(self) -> int | None:
        if not (self.current_user.admin and isinstance(self.authenticator, ProeftuinNativeAuthenticator)):
            return None
        from nativeauthenticator.orm import UserInfo

        return self.db.query(UserInfo).filter(UserInfo.is_authorized.is_(False)).count()

    async def portal(self, status: int = 200, alert: str = "", message: str = "", form: dict | None = None) -> None:
        user = self.current_user
        organisation = self.my_organisation()
        names = self.organisations()
        if status >= 400:
            self.log.warning("%s %s door %s niet uitgevoerd: %s", self.request.method, self.request.path, user.name,
                             message)
        cards, complete = await self.pilot_cards(organisation)
        ideas = await asyncio.to_thread(lambda: self.ideas().list())
        self.set_status(status)
        self.finish(await self.render_template(
            "proeftuin-portal.html", page_title="Portaal", organisation=organisation,
            organisation_name=names.get(organisation or "", ""), pilots=cards, results_complete=complete,
            not_available=NOT_AVAILABLE, ideas=ideas, organisation_names=names, alert=alert, message=message,
            form=form or {}, labels=FIELD_LABELS, waiting=self.waiting_sign_ups(),
            server_ready=bool(user.spawner.ready), server_url=user.url,
            gallery_url=self.service_url("gallery"), docs_url=self.service_url("docs"),
            mlflow_url=self.service_url("mlflow")))

    def back(self, **query) -> None:
        """POST, then redirect, then GET: the portal says what happened, worked out from the stored state."""
        idea = next(iter(query.values()))
        self.redirect(url_path_join(self.hub.base_url, "portaal") + "?" + urlencode(query) + f"#idee-{idea}")


class PortalHandler(PortalBase):
    """GET /hub/portaal: "Wat wil je doen?". Anonymous visitors go to the login page first."""

    @web.authenticated
    async def get(self):
        alert, message = "", ""
        for key in ("idee", "steun"):
            raw = self.get_argument(key, "")
            if raw.isdigit():
                alert, message = await asyncio.to_thread(self._state_of, key, int(raw))
        await self.portal(alert=alert, message=message)

    def _state_of(self, key: str, number_: int) -> tuple[str, str]:
        try:
            idea = self.ideas().get(number_)
        except IdeaError as exc:
            return "alert-info", exc.message
        if key == "idee":
            return "alert-success", f"Idee {idea.id} is bewaard: \u201c{idea.title}\u201d. Je collega's zien het hier."
        mine = self.my_organisation()
        if mine in idea.supporters:
            return "alert-success", (f"{self.organisations().get(mine, mine)} staat bij idee {idea.id} als organisatie "
                                     f"die 'wij ook' zei ({len(idea.supporters)} in totaal).")
        return "alert-info", f"Idee {idea.id} heeft {len(idea.supporters)} keer 'wij ook'."


class IdeaHandler(PortalBase):
    """POST /hub/portaal/idee: a new idea of the user's organisation; a refusal keeps what was typed."""

    @web.authenticated
    async def post(self):
        form = {name: self.get_body_argument(name, "", strip=False) for name in FIELD_LABELS}
        form["personal_data"] = self.get_body_argument("personal_data", "")
        organisation = self.my_organisation()
        if organisation is None:
            await self.portal(403, "alert-danger", NO_ORGANISATION, form)
            return
        if form["personal_data"] not in ("ja", "nee"):
            await self.portal(400, "alert-danger", "Kies of er persoonsgegevens bij komen kijken: ja of nee. "
                                                   "Er is nog niets bewaard.", form)
            return
        try:
            idea = await asyncio.to_thread(
                self.ideas().add, author=self.current_user.name, organisation=organisation,
                question=form["question"], asked_by=form["asked_by"], service=form["service"],
                data_available=form["data_available"], personal_data=form["personal_data"] == "ja",
                impact=form["impact"])
        except IdeaError as exc:
            await self.portal(400, "alert-danger", f"{exc.message} Er is nog niets bewaard.", form)
            return
        self.log.info("Idee %s ingediend door %s (%s)", idea.id, self.current_user.name, organisation)
        self.back(idee=idea.id)


class SupportHandler(PortalBase):
    """POST /hub/portaal/idee/<id>/wij-ook: the user's organisation has the same question (once per organisation)."""

    @web.authenticated
    async def post(self, raw_id: str):
        organisation = self.my_organisation()
        if organisation is None:
            await self.portal(403, "alert-danger", NO_ORGANISATION)
            return
        store = self.ideas()
        try:
            idea = await asyncio.to_thread(store.get, int(raw_id))
        except IdeaError as exc:
            await self.portal(404, "alert-danger", exc.message)
            return
        try:
            added = await asyncio.to_thread(store.support, idea.id, organisation=organisation,
                                            author=self.current_user.name)
        except IdeaError as exc:
            await self.portal(400, "alert-danger", f"{exc.message} Er is niets veranderd.")
            return
        if not added:
            name = self.organisations().get(organisation, organisation)
            await self.portal(409, "alert-warning", f"{name} zei al 'wij ook' bij idee {idea.id}; elke organisatie "
                                                    "telt één keer. Er is niets veranderd.")
            return
        self.log.info("Idee %s: 'wij ook' van %s (%s)", idea.id, organisation, self.current_user.name)
        self.back(steun=idea.id)


#: Added to the authenticators' routes (below the hub's prefix).
PORTAL_HANDLERS = [(r"/portaal", PortalHandler), (r"/portaal/idee", IdeaHandler),
                   (r"/portaal/idee/([0-9]+)/wij-ook", SupportHandler)]
