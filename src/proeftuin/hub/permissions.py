"""Who may write what in MLflow, decided server-side in front of the MLflow server, on one reading of each request.

Everyone logged in may read every experiment, run and model (knowledge sharing). Writes are allowed
only to members of the owning and participating organisations (and admins):

- a pilot's experiment and registered model (both named after its slug): the organisations in the
  pilot's manifest on the server, never what a client claims;
- any other experiment: its `proeftuin.owner` and `proeftuin.organisations` tags, which this layer sets
  on creation from the creator's organisation; any other model: the same tags, or those of the
  experiment with the model's name;
- runs, logged models and artifacts: the experiment they belong to;
- a new name (a created experiment or model, a rename, an experiment update) may not be one that
  belongs to others: a pilot's slug, another organisation's model or experiment; nor one that only
  looks like such a name in the MLflow UI (`name_key`: NFKC, case, surrounding and repeated whitespace,
  invisible format characters, Cyrillic and Greek look-alike letters). A look-alike of a pilot's slug is
  refused to every member, participants too (they use the slug itself); a name with a control or format
  character (tab, zero-width space, BOM, ...) is refused outright;
- links a write makes besides its target (LINKS) need write rights on what they link to: a logged model's
  `source_run_id`, a run's output models (`runs/outputs`), a model version's `run_id` and `model_id`. A
  run's input models (`runs/log-inputs`) do not: using a model that everyone may read is reading it, and
  the link is stored on the user's own run.

Runs get the tags `proeftuin.user` (the hub user) and `proeftuin.organisation` (one of the user's
organisations) set here, so a run cannot be logged in someone else's name. A hub service (the gallery,
the docs builder) is a reader: it may read everything and write nothing.

One reading of each request (the design): each write is parsed once into a canonical form, decided on
that, and exactly that form is forwarded. The reading (MLflow's route table, the canonical path and body,
graphql, method-override headers) is `proeftuin.hub.canonical`; a write matching no route, or a route
this module does not map to what it writes (WRITES), is for admins only; artifact uploads (PUT) are
decided on the canonical path alone (`reads_body`), so their body streams unchanged.

Reads (GET, HEAD, OPTIONS) are forwarded as they came, but without a body: MLflow reads a GET body when
there is no query string, so a read that carries one is refused. POSTs that only search (READS) go to
the canonical path with their body unchanged: their handlers cannot write.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlparse

from proeftuin.hub.canonical import (  # noqa: F401 (part of this module's API)
    API_PREFIX,
    BAD_PATH,
    EXTRA_ROUTES,
    JSON,
    LEGACY_TWINS,
    METHOD_OVERRIDE_HEADERS,
    NOT_JSON,
    Denied,
    Route,
    canonical_fields,
    canonical_path,
    check_multipart_path,
    find_route,
    graphql_fields,
    json_object,
    route_table,
)
from proeftuin.tags import PROTECTED_TAGS, TAG_ORG, TAG_ORGS, TAG_OWNER, TAG_PILOT, TAG_USER  # noqa: F401

READ_METHODS = {"GET", "HEAD", "OPTIONS"}

# What each write a member may send writes: route (below /api|ajax-api/<version>/, MLflow's spelling) ->
# (kind, the body field or path parameter naming it). Every other write is for admins only.
NEW_EXPERIMENT, NEW_MODEL = "new_experiment", "new_model"
EXPERIMENT, RUN, MODEL, LOGGED_MODEL, ARTIFACT = "experiment", "run", "model", "logged_model", "artifact"
WRITES: dict[str, tuple[str, str]] = {
    "mlflow/experiments/create": (NEW_EXPERIMENT, "name"),
    **{f"mlflow/experiments/{verb}": (EXPERIMENT, "experiment_id") for verb in (
        "update", "delete", "restore", "set-experiment-tag", "delete-experiment-tag")},
    "mlflow/runs/create": (EXPERIMENT, "experiment_id"),
    "mlflow/logged-models": (EXPERIMENT, "experiment_id"),
    **{f"mlflow/runs/{verb}": (RUN, "run_id") for verb in (
        "update", "delete", "restore", "log-metric", "log-parameter", "set-tag", "delete-tag", "log-batch",
        "log-model", "log-inputs", "outputs")},
    "mlflow/registered-models/create": (NEW_MODEL, "name"),
    **{f"mlflow/registered-models/{verb}": (MODEL, "name") for verb in (
        "update", "delete", "rename", "set-tag", "delete-tag", "alias")},
    **{f"mlflow/model-versions/{verb}": (MODEL, "name") for verb in (
        "create", "update", "delete", "transition-stage", "set-tag", "delete-tag")},
    **{f"mlflow/logged-models/<model_id>{rest}": (LOGGED_MODEL, "model_id") for rest in (
        "", "/params", "/tags", "/tags/<tag_key>")},
    "mlflow-artifacts/artifacts/<path:artifact_path>": (ARTIFACT, "artifact_path"),
    **{f"mlflow-artifacts/mpu/{verb}/<path:artifact_path>": (ARTIFACT, "artifact_path") for verb in (
        "create", "complete", "abort")},
}
RENAMES = {"mlflow/experiments/update", "mlflow/registered-models/rename"}  # their `new_name` is a new name
# Links a write makes besides its target: route -> [(kind, field)], where field "a[].b" is `b` of every item of
# the list `a`. Each linked object needs write rights too: a link is shown on the linked object's page (its
# lineage), so it would change another organisation's work. See the module docstring for what is not a link.
LINKS: dict[str, list[tuple[str, str]]] = {
    "mlflow/logged-models": [(RUN, "source_run_id")],
    "mlflow/runs/outputs": [(LOGGED_MODEL, "models[].model_id")],
    "mlflow/model-versions/create": [(RUN, "run_id"), (LOGGED_MODEL, "model_id")],
}
READS = {  # POST routes that only read
    "mlflow/runs/search", "mlflow/experiments/search", "mlflow/experiments/search-datasets",
    "mlflow/logged-models/search", "mlflow/registered-models/get-latest-versions", "mlflow/traces/search",
    "mlflow/traces/batchGetInfos", "mlflow/traces/metrics", "mlflow/datasets/search",
}
QUERY_ON_WRITE = ("Een MLflow-wijziging draagt haar velden in de JSON-body, niet in het adres: laat '?{query}' "
                  "weg en zet de velden in de body.")
BODY_ON_READ = "Een leesopdracht ({method}) heeft geen body: zet de velden in het adres (?veld=waarde) of gebruik POST."
ADMIN_ONLY = "Deze bewerking ({endpoint}) is in de Proeftuin alleen voor beheerders."
NO_ORGANISATION = "Je account hoort bij geen organisatie; vraag een beheerder je toe te voegen."
INVISIBLE_IN_NAME = ("De naam {name} bevat een onzichtbaar teken of stuurteken ({char}); typ de naam opnieuw met "
                     "gewone letters, cijfers, spaties, '-' of '_'.")
LOOKS_LIKE = ("De naam '{name}' lijkt in MLflow op '{other}', die hoort bij {owners} (jij: {mine}); kies een "
              "duidelijk andere naam voor {what}.")
LOOKS_LIKE_PILOT = ("De naam '{name}' lijkt in MLflow op die van de pilot '{other}'; gebruik precies '{other}' als "
                    "je het werk van de pilot bedoelt (als je organisatie eraan deelneemt), of kies een duidelijk "
                    "andere naam voor {what}.")
# Cyrillic and Greek letters that look like Latin ones (after casefold), for `name_key`.
CONFUSABLES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "к": "k", "м": "m",
    "т": "t", "һ": "h", "н": "h", "в": "b", "ѕ": "s", "ј": "j", "ԁ": "d", "ӏ": "l", "ı": "i",
    "α": "a", "ε": "e", "ο": "o", "ρ": "p", "χ": "x", "υ": "y", "γ": "y", "ι": "i", "κ": "k", "μ": "m",
    "τ": "t", "η": "h", "β": "b", "ν": "v",
})


@dataclass(frozen=True)
class Identity:
    name: str
    organisations: frozenset[str]
    admin: bool = False
    read_only: bool = False  # a hub service (gallery, docs): reads everything, writes nothing

    @property
    def organisation(self) -> str | None:
        return min(self.organisations) if self.organisations else None


@dataclass(frozen=True)
class Forward:
    """What the sign-on layer sends to MLflow once a request is allowed: `path` below the service prefix
    (percent-encoded), `body` (None: the client's body unchanged, streamed if it was not read), its
    `content_type` (None: the client's) and `query` (only reads keep theirs)."""

    path: str
    body: bytes | None = None
    content_type: str | None = None
    query: str = ""


def reads_body(method: str, path: str) -> bool:
    """Whether the layer reads the whole body before deciding: always, except for an artifact upload (PUT),
    which is decided on its path alone so a 256 MB file streams through. A PUT whose path cannot be read
    is refused before its body."""
    if method.upper() != "PUT":
        return True
    try:
        found = find_route("PUT", canonical_path(path))
    except Denied:
        return False
    return found is None or WRITES.get(found[0].endpoint, ("",))[0] != ARTIFACT


# --- names that look alike -----------------------------------------------------------------------------

def name_key(name: str) -> str:
    """What a name looks like in the MLflow UI: NFKC, invisible format characters (Unicode Cf) gone, casefolded,
    Cyrillic and Greek look-alikes as Latin letters, whitespace stripped at the ends and collapsed inside."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf").casefold().translate(CONFUSABLES)
    return " ".join(text.split())


def _refuse_invisible(name: str) -> None:
    """A name with a control, format, private-use or unassigned character (Unicode category C) is refused."""
    for char in name:
        if unicodedata.category(char).startswith("C"):
            raise Denied(INVISIBLE_IN_NAME.format(name=json.dumps(name, ensure_ascii=True), char=f"U+{ord(char):04X}"),
                         400, f"name with character U+{ord(char):04X}")


# --- who owns what --------------------------------------------------------------------------------------

def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _tags(items: Any) -> dict[str, str]:
    if isinstance(items, dict):
        return {str(k): str(v) for k, v in items.items()}
    return {str(t.get("key")): str(t.get("value")) for t in items or [] if isinstance(t, dict)}


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def _orgs_from_tags(tags: dict[str, str]) -> set[str]:
    orgs = {o.strip() for o in tags.get(TAG_ORGS, "").split(",") if o.strip()}
    if tags.get(TAG_OWNER):
        orgs.add(tags[TAG_OWNER].strip())
    return orgs


def _linked(fields: dict[str, Any], path: str) -> list[str]:
    """The values a LINKS field names: "source_run_id", or "models[].model_id" (each item's `model_id`)."""
    if "[]." not in path:
        return [value] if (value := _str(fields.get(path))) is not None else []
    outer, inner = path.split("[].", 1)
    items = fields.get(outer) or []
    return [value for item in items if isinstance(item, dict) and (value := _str(item.get(inner))) is not None]


def _mine(who: Identity) -> str:
    return ", ".join(sorted(who.organisations)) or "geen organisatie"


FetchJson = Callable[[str], Awaitable[dict[str, Any] | None]]


@dataclass
class Policy:
    """Reads each MLflow request once, checks it against the user's organisations, and says what to forward."""

    fetch: FetchJson  # GET an MLflow API path (e.g. "experiments/get?experiment_id=1") -> JSON or None (404)
    pilots: Callable[[], dict[str, dict[str, Any]]]  # slug -> {"owner", "organisations", "theme"}
    _run_experiment: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        route_table()  # load MLflow's routes when the layer starts, not on the first write

    async def authorize(self, who: Identity, method: str, path: str, query: str = "", body: bytes | None = None,
                        content_type: str | None = None) -> Forward:
        """`path` below the service prefix as sent; `body` None: not read (an upload that streams)."""
        method = method.upper()
        if method in READ_METHODS:
            if body:
                raise Denied(BODY_ON_READ.format(method=method), 400, "body on a read")
            return Forward(path, query=query)
        canonical = canonical_path(path)
        route, params = find_route(method, canonical) or (None, {})
        if route is not None and route.endpoint in READS:
            return Forward(quote(canonical))  # a search: its handler cannot write, its body goes as it came
        if route is not None and route.endpoint == "graphql":
            fields = graphql_fields(json_object(body or b"", content_type))
            return Forward(quote(canonical), json.dumps(fields).encode(), JSON)
        kind, key = WRITES.get(route.endpoint, (None, "")) if route else (None, "")
        if who.read_only:
            raise Denied(f"De dienst '{who.name.removeprefix('service:')}' mag MLflow alleen lezen.",
                         reason="read-only identity")
        if kind is None and not who.admin:
            raise Denied(ADMIN_ONLY.format(endpoint=route.endpoint if route else canonical),
                         reason="unknown or admin-only write")
        if route is None or route.message is None:
            return Forward(path, query=query)  # an admin, on a route MLflow does not read with a message
        if query:
            raise Denied(QUERY_ON_WRITE.format(query=query[:80]), 400, "query string on a write")
        if kind == ARTIFACT and method == "PUT":
            await self._require(who, ARTIFACT, params[key])
            return Forward(quote(canonical))
        fields = canonical_fields(route, params, json_object(body or b"", content_type))
        if route.endpoint.startswith("mlflow-artifacts/mpu/"):
            check_multipart_path(fields)
        if kind == NEW_EXPERIMENT:
            fields = await self._create_experiment(who, fields)
        elif kind == NEW_MODEL:
            fields = await self._create_model(who, fields)
        elif kind is not None:
            if (value := _str(params[key] if key in params else fields.get(key))) is None:
                raise Denied(f"Deze opdracht zegt niet wat ze wijzigt: vul het veld '{key}' in.", 400, f"no {key}")
            await self._require(who, kind, value)
            if not who.admin:
                await self._check_fields(who, route.endpoint, fields)
                fields = self._stamp_run(who, route.endpoint, fields)
            elif route.endpoint in RENAMES and fields.get("new_name"):
                _refuse_invisible(str(fields["new_name"]))
        return Forward(quote(canonical), json.dumps(fields).encode(), JSON)

    async def _require(self, who: Identity, kind: str, key: Any) -> None:
        orgs, what = await self._owners(kind, _str(key))
        if not who.admin and not (who.organisations & orgs):
            owners = ", ".join(sorted(orgs)) or "beheerders"
            raise Denied(f"Je mag {what} lezen maar niet wijzigen: dat mogen alleen {owners} (jij: {_mine(who)}). "
                         "Log je run in een eigen experiment of vraag de eigenaar je toe te voegen.",
                         reason=f"{kind} {key} belongs to {owners}")

    async def _owners(self, kind: str, key: str | None) -> tuple[set[str], str]:
        if kind == EXPERIMENT:
            return await self._experiment_orgs(key), f"experiment {key}"
        if kind == ARTIFACT:
            experiment_id = (key or "").split("/", 1)[0]
            return await self._experiment_orgs(experiment_id), f"de artifacts van experiment {experiment_id}"
        if kind == RUN:
            experiment_id = await self._experiment_of_run(key)
            return await self._experiment_orgs(experiment_id), f"de run {key} (experiment {experiment_id})"
        if kind == LOGGED_MODEL:
            found = await self.fetch(f"logged-models/{quote(key or '', safe='')}") if key else None
            experiment_id = ((found or {}).get("model") or {}).get("info", {}).get("experiment_id")
            return await self._experiment_orgs(_str(experiment_id)), f"het model {key}"
        return (await self._name_orgs(key or "") or set()), f"het geregistreerde model {key}"

    async def _experiment_of_run(self, run_id: str | None) -> str | None:
        if not run_id:
            return None
        if run_id not in self._run_experiment:
            found = await self.fetch(f"runs/get?run_id={quote(run_id, safe='')}")
            experiment_id = ((found or {}).get("run") or {}).get("info", {}).get("experiment_id")
            if experiment_id is None:
                return None
            self._run_experiment[run_id] = str(experiment_id)
        return self._run_experiment[run_id]

    async def _experiment_orgs(self, experiment_id: str | None) -> set[str]:
        if not experiment_id or not experiment_id.isdigit():
            return set()
        found = await self.fetch(f"experiments/get?experiment_id={experiment_id}")
        experiment = (found or {}).get("experiment") or {}
        pilot = self.pilots().get(experiment.get("name", ""))
        if pilot is not None:
            return set(pilot["organisations"])
        return _orgs_from_tags(_tags(experiment.get("tags")))

    async def _name_orgs(self, name: str) -> set[str] | None:
        """Who a name belongs to: a pilot's slug, a registered model, an experiment; None: nobody yet."""
        pilot = self.pilots().get(name)
        if pilot is not None:
            return set(pilot["organisations"])
        if not name:
            return set()
        model = await self.fetch(f"registered-models/get?name={quote(name, safe='')}")
        if model is not None and (orgs := _orgs_from_tags(_tags((model.get("registered_model") or {}).get("tags")))):
            return orgs
        experiment = await self.fetch(f"experiments/get-by-name?experiment_name={quote(name, safe='')}")
        if experiment is None:
            return None if model is None else set()
        return _orgs_from_tags(_tags((experiment.get("experiment") or {}).get("tags")))

    async def _claim(self, who: Identity, name: str, what: str) -> set[str] | None:
        """A new name must not be one that belongs to others (a pilot's slug decides what the gallery serves), nor
        look like one in the MLflow UI (`name_key`), nor hold an invisible or control character. Returns who the
        name itself belongs to (None: nobody yet)."""
        _refuse_invisible(name)
        orgs = await self._name_orgs(name)
        if who.admin:
            return orgs
        if orgs is not None and not (who.organisations & orgs):
            owners = ", ".join(sorted(orgs)) or "de beheerders"
            raise Denied(f"De naam '{name}' hoort bij {owners} (jij: {_mine(who)}); kies een andere naam voor {what}.",
                         reason=f"name {name!r} belongs to {owners}")
        key = name_key(name)
        for slug in self.pilots():
            if slug != name and name_key(slug) == key:
                raise Denied(LOOKS_LIKE_PILOT.format(name=name, other=slug, what=what),
                             reason=f"name {name!r} looks like the pilot {slug!r}")
        for other in await self._names_like(key):
            if other == name:
                continue
            others = await self._name_orgs(other)
            if others is not None and not (who.organisations & others):
                owners = ", ".join(sorted(others)) or "de beheerders"
                raise Denied(LOOKS_LIKE.format(name=name, other=other, owners=owners, mine=_mine(who), what=what),
                             reason=f"name {name!r} looks like {other!r} of {owners}")
        return orgs

    async def _names_like(self, key: str) -> set[str]:
        """The existing experiments and registered models (deleted experiments too: MLflow keeps their names)
        whose name looks like `key`. (`fetch` raises when MLflow does not answer; the real-hub attack test has a
        look-alike of an existing name, so a listing that stops working fails there.)"""
        found: set[str] = set()
        for listing, field_name, extra in (("experiments/search", "experiments", "&view_type=3"),  # ViewType.ALL
                                           ("registered-models/search", "registered_models", "")):
            token = ""
            while True:
                page = await self.fetch(f"{listing}?max_results=1000{extra}"
                                        + (f"&page_token={quote(token, safe='')}" if token else "")) or {}
                found |= {str(item.get("name", "")) for item in page.get(field_name) or []
                          if name_key(str(item.get("name", ""))) == key}
                token = page.get("next_page_token") or ""
                if not token:
                    break
        return found

    async def _create_experiment(self, who: Identity, fields: dict[str, Any]) -> dict[str, Any]:
        name = str(fields.get("name", ""))
        await self._claim(who, name, "je experiment")
        tags = _tags(fields.get("tags"))
        pilot = self.pilots().get(name)
        if pilot is not None:
            tags.update({TAG_OWNER: pilot["owner"], TAG_ORGS: ",".join(pilot["organisations"]),
                         TAG_PILOT: name})
        elif not who.admin or not _orgs_from_tags(tags):
            if not who.organisation:
                raise Denied(NO_ORGANISATION, reason="no organisation")
            tags.update({TAG_OWNER: who.organisation, TAG_ORGS: who.organisation})
        fields["tags"] = _tag_list(tags)
        if not who.admin:
            fields.pop("artifact_location", None)  # artifacts always go through the server
        return fields

    async def _create_model(self, who: Identity, fields: dict[str, Any]) -> dict[str, Any]:
        name = str(fields.get("name", ""))
        if await self._claim(who, name, "je model") is not None:
            return fields  # a pilot's or an experiment's name: those decide (an existing model: MLflow refuses)
        if not who.organisation and not who.admin:
            raise Denied(NO_ORGANISATION, reason="no organisation")
        tags = _tags(fields.get("tags"))
        if who.organisation and not who.admin:
            tags.update({TAG_OWNER: who.organisation, TAG_ORGS: who.organisation})
        elif who.organisation:
            tags.setdefault(TAG_OWNER, who.organisation)
            tags.setdefault(TAG_ORGS, who.organisation)
        fields["tags"] = _tag_list(tags)
        return fields

    async def _check_fields(self, who: Identity, endpoint: str, fields: dict[str, Any]) -> None:
        """What a write names besides its target: new names, tags that decide rights, a version's source."""
        if endpoint in RENAMES and fields.get("new_name"):
            what = "dit experiment" if "experiments" in endpoint else "dit model"
            await self._claim(who, str(fields["new_name"]), what)
        protected = endpoint.endswith(("/set-experiment-tag", "/delete-experiment-tag")) or \
            endpoint in ("mlflow/registered-models/set-tag", "mlflow/registered-models/delete-tag")
        if protected and fields.get("key") in PROTECTED_TAGS:
            raise Denied("Eigenaar en deelnemende organisaties kan alleen een beheerder wijzigen.",
                         reason=f"protected tag {fields['key']}")
        if endpoint in ("mlflow/runs/set-tag", "mlflow/runs/log-batch"):
            tags = _tags(fields.get("tags")) if endpoint.endswith("log-batch") else \
                {fields.get("key"): fields.get("value")}
            if TAG_USER in tags and tags[TAG_USER] != who.name:
                raise Denied(f"De tag {TAG_USER} is altijd je eigen gebruikersnaam ({who.name}).",
                             reason=f"{TAG_USER} of someone else")
            if TAG_ORG in tags and tags[TAG_ORG] not in who.organisations:
                raise Denied(f"De tag {TAG_ORG} moet een van je eigen organisaties zijn.", reason=f"{TAG_ORG} not mine")
        for kind, path in LINKS.get(endpoint, []):
            for value in _linked(fields, path):
                await self._require(who, kind, value)
        if endpoint == "mlflow/model-versions/create":
            await self._check_version_source(who, fields)

    async def _check_version_source(self, who: Identity, fields: dict[str, Any]) -> None:
        """MLflow tags the logged model a version comes from (`mlflow.modelVersions`): that model must be one
        the user may change, named by `model_id` (LINKS) or through another registered version (`models:/name/1`),
        whose run and logged model MLflow then links."""
        from mlflow.exceptions import MlflowException
        from mlflow.store.artifact.utils.models import _parse_model_uri

        source = str(fields.get("source", ""))
        parsed = urlparse(source)
        if parsed.scheme == "models" and not parsed.netloc:
            try:
                uri = _parse_model_uri(source)
            except MlflowException:
                return  # MLflow refuses this source too
            if uri.model_id is None:
                await self._require(who, MODEL, uri.name)

    def _stamp_run(self, who: Identity, endpoint: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A new run carries its user and organisation from the hub, never from the client."""
        if endpoint != "mlflow/runs/create":
            return fields
        tags = _tags(fields.get("tags"))
        organisation = tags.get(TAG_ORG) or who.organisation or ""
        if organisation not in who.organisations:
            raise Denied(f"Je kan geen run loggen voor '{organisation}': je hoort bij {_mine(who)}.",
                         reason=f"run for {organisation!r}")
        tags.update({TAG_USER: who.name, TAG_ORG: organisation, "mlflow.user": who.name})
        return {**fields, "tags": _tag_list(tags), "user_id": who.name}
