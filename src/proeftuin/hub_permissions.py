"""Who may write what in MLflow, decided server-side in front of the MLflow server.

Everyone logged in may read every experiment, run and model (knowledge sharing). Writes are allowed
only to members of the owning and participating organisations (and admins):

- a pilot's experiment and registered model (both named after its slug): the organisations in the
  pilot's manifest on the server, never what a client claims;
- any other experiment: its `proeftuin.owner` and `proeftuin.organisations` tags, which this layer sets
  on creation from the creator's organisation; any other model: the same tags, or those of the
  experiment with the model's name;
- runs, logged models and artifacts: the experiment they belong to.

Runs get the tags `proeftuin.user` (the hub user) and `proeftuin.organisation` (one of the user's
organisations) set here, so a run cannot be logged in someone else's name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

TAG_OWNER = "proeftuin.owner"
TAG_ORGS = "proeftuin.organisations"
TAG_ORG = "proeftuin.organisation"
TAG_USER = "proeftuin.user"
PROTECTED_EXPERIMENT_TAGS = {TAG_OWNER, TAG_ORGS}

API = re.compile(r"^/(?:ajax-)?api/[23]\.0/mlflow/(?P<endpoint>.+?)/?$")
ARTIFACTS = re.compile(
    r"^/(?:ajax-)?api/2\.0/mlflow-artifacts/(?:artifacts|mpu/(?:create|complete|abort))/(?P<path>.*)$")
LOGGED_MODEL = re.compile(r"^logged-models/(?P<id>[^/]+)(?:/.*)?$")

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
READ_POSTS = {
    "runs/search", "experiments/search", "experiments/search-datasets", "logged-models/search",
    "traces/search", "model-versions/search", "registered-models/search", "metrics/get-history-bulk-interval",
}
EXPERIMENT_WRITES = {
    "experiments/update", "experiments/delete", "experiments/restore", "experiments/set-experiment-tag",
    "experiments/delete-experiment-tag", "runs/create", "logged-models",
}
RUN_WRITES = {
    "runs/update", "runs/delete", "runs/restore", "runs/log-metric", "runs/log-parameter", "runs/set-tag",
    "runs/delete-tag", "runs/log-batch", "runs/log-model", "runs/log-inputs", "runs/log-outputs",
}
MODEL_WRITES = {
    "registered-models/create", "registered-models/update", "registered-models/delete",
    "registered-models/rename", "registered-models/set-tag", "registered-models/delete-tag",
    "registered-models/alias", "model-versions/create", "model-versions/update", "model-versions/delete",
    "model-versions/transition-stage", "model-versions/set-tag", "model-versions/delete-tag",
}


@dataclass(frozen=True)
class Identity:
    name: str
    organisations: frozenset[str]
    admin: bool = False

    @property
    def organisation(self) -> str | None:
        return min(self.organisations) if self.organisations else None


@dataclass(frozen=True)
class Action:
    """What a request does: `read`, `create_experiment`, `experiment`, `run`, `logged_model`, `model`,
    `artifact` (key: the experiment id in the path) or `unknown` (a write we do not recognise)."""

    kind: str
    key: str | None = None
    endpoint: str = ""


class Denied(Exception):
    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def classify(method: str, path: str, args: dict[str, str], body: dict[str, Any]) -> Action:
    """Map an MLflow request (path without the service prefix) to the resource it writes, if any."""
    method = method.upper()
    if method in READ_METHODS:
        return Action("read")
    if path == "/graphql":
        query = str(body.get("query", ""))
        return Action("unknown", endpoint="graphql") if query.lstrip().startswith("mutation") else Action("read")
    if match := ARTIFACTS.match(path):
        first = match["path"].split("/", 1)[0]
        return Action("artifact", first, "mlflow-artifacts")
    match = API.match(path)
    if not match:
        return Action("unknown", endpoint=path)
    endpoint = match["endpoint"]
    value = {**args, **{k: v for k, v in body.items() if isinstance(v, str | int)}}
    if endpoint in READ_POSTS:
        return Action("read", endpoint=endpoint)
    if endpoint == "experiments/create":
        return Action("create_experiment", str(body.get("name", "")), endpoint)
    if endpoint in EXPERIMENT_WRITES:
        return Action("experiment", _str(value.get("experiment_id")), endpoint)
    if endpoint in RUN_WRITES:
        return Action("run", _str(value.get("run_id") or value.get("run_uuid")), endpoint)
    if endpoint in MODEL_WRITES:
        return Action("model", _str(value.get("name")), endpoint)
    if m := LOGGED_MODEL.match(endpoint):
        return Action("logged_model", m["id"], endpoint)
    return Action("unknown", endpoint=endpoint)


def reads_body(method: str, path: str) -> bool:
    """Whether the check needs the request body (an API write, JSON); other requests, such as artifact
    uploads, are decided on method and path alone, so their body can stream through."""
    return method.upper() not in READ_METHODS and (path == "/graphql" or API.match(path) is not None)


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _tags(items: Any) -> dict[str, str]:
    if isinstance(items, dict):
        return {str(k): str(v) for k, v in items.items()}
    return {str(t.get("key")): str(t.get("value")) for t in items or [] if isinstance(t, dict)}


def _orgs_from_tags(tags: dict[str, str]) -> set[str]:
    orgs = {o.strip() for o in tags.get(TAG_ORGS, "").split(",") if o.strip()}
    if tags.get(TAG_OWNER):
        orgs.add(tags[TAG_OWNER].strip())
    return orgs


FetchJson = Callable[[str], Awaitable[dict[str, Any] | None]]


@dataclass
class Policy:
    """Checks a write against the user's organisations; may rewrite the request body (tags)."""

    fetch: FetchJson  # GET an MLflow API path (e.g. "experiments/get?experiment_id=1") -> JSON or None (404)
    pilots: Callable[[], dict[str, dict[str, Any]]]  # slug -> {"owner", "organisations", "theme"}
    _run_experiment: dict[str, str] = field(default_factory=dict)

    async def authorize(self, who: Identity, method: str, path: str, args: dict[str, str], raw: bytes) -> bytes:
        body = _json(raw) if reads_body(method, path) else {}
        action = classify(method, path, args, body)
        if action.kind == "read":
            return raw
        if action.kind == "unknown":
            if who.admin:
                return raw
            raise Denied(f"Deze bewerking ({action.endpoint}) is in de Proeftuin alleen voor beheerders.")
        if action.kind == "create_experiment":
            return await self._create_experiment(who, action.key or "", body, raw)
        if action.kind == "model" and action.endpoint == "registered-models/create":
            return await self._create_model(who, action.key or "", body, raw)
        experiment_orgs, what = await self._orgs_for(action)
        if not who.admin and not (who.organisations & experiment_orgs):
            mine = ", ".join(sorted(who.organisations)) or "geen organisatie"
            owners = ", ".join(sorted(experiment_orgs)) or "alleen beheerders"
            raise Denied(f"Je mag {what} lezen maar niet wijzigen: dat mogen alleen {owners} "
                         f"(jij: {mine}). Log je run in een eigen experiment of vraag de eigenaar je toe te voegen.")
        return self._rewrite(who, action, body, raw)

    async def _orgs_for(self, action: Action) -> tuple[set[str], str]:
        if action.kind in ("experiment", "artifact"):
            return await self._experiment_orgs(action.key), f"experiment {action.key}"
        if action.kind == "run":
            experiment_id = await self._experiment_of_run(action.key)
            return await self._experiment_orgs(experiment_id), f"de run {action.key} (experiment {experiment_id})"
        if action.kind == "logged_model":
            found = await self.fetch(f"logged-models/{quote(action.key or '')}")
            experiment_id = ((found or {}).get("model") or {}).get("info", {}).get("experiment_id")
            return await self._experiment_orgs(_str(experiment_id)), f"het model {action.key}"
        orgs = await self._model_orgs(action.key or "")
        return (orgs or set()), f"het geregistreerde model {action.key}"

    async def _experiment_of_run(self, run_id: str | None) -> str | None:
        if not run_id:
            return None
        if run_id not in self._run_experiment:
            found = await self.fetch(f"runs/get?run_id={quote(run_id)}")
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

    async def _model_orgs(self, name: str) -> set[str] | None:
        """None: the model does not exist yet."""
        pilot = self.pilots().get(name)
        if pilot is not None:
            return set(pilot["organisations"])
        found = await self.fetch(f"registered-models/get?name={quote(name)}")
        if found is None:
            return None
        tags = _tags((found.get("registered_model") or {}).get("tags"))
        if _orgs_from_tags(tags):
            return _orgs_from_tags(tags)
        experiment = await self.fetch(f"experiments/get-by-name?experiment_name={quote(name)}")
        return _orgs_from_tags(_tags(((experiment or {}).get("experiment") or {}).get("tags")))

    async def _create_experiment(self, who: Identity, name: str, body: dict, raw: bytes) -> bytes:
        tags = _tags(body.get("tags"))
        pilot = self.pilots().get(name)
        if pilot is not None:
            if not who.admin and not (who.organisations & set(pilot["organisations"])):
                raise Denied(f"Het experiment van pilot '{name}' kan alleen aangemaakt worden door "
                             f"{', '.join(pilot['organisations'])}.")
            tags.update({TAG_OWNER: pilot["owner"], TAG_ORGS: ",".join(pilot["organisations"]),
                         "proeftuin.pilot": name})
        elif not who.admin or not _orgs_from_tags(tags):
            if not who.organisation:
                raise Denied("Je account hoort bij geen organisatie; vraag een beheerder je toe te voegen.")
            tags.update({TAG_OWNER: who.organisation, TAG_ORGS: who.organisation})
        body["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        if not who.admin:
            body.pop("artifact_location", None)  # artifacts always go through the server
        return json.dumps(body).encode()

    async def _create_model(self, who: Identity, name: str, body: dict, raw: bytes) -> bytes:
        orgs = await self._model_orgs(name)
        if orgs is None and self.pilots().get(name) is None:
            experiment = await self.fetch(f"experiments/get-by-name?experiment_name={quote(name)}")
            orgs = _orgs_from_tags(_tags(((experiment or {}).get("experiment") or {}).get("tags"))) or None
        if orgs is not None:
            if not who.admin and not (who.organisations & orgs):
                raise Denied(f"Het model '{name}' mag alleen geregistreerd worden door {', '.join(sorted(orgs))}.")
            return raw
        if not who.organisation and not who.admin:
            raise Denied("Je account hoort bij geen organisatie; vraag een beheerder je toe te voegen.")
        tags = _tags(body.get("tags"))
        if who.organisation:
            tags.setdefault(TAG_OWNER, who.organisation)
            tags.setdefault(TAG_ORGS, who.organisation)
        body["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        return json.dumps(body).encode()

    def _rewrite(self, who: Identity, action: Action, body: dict, raw: bytes) -> bytes:
        """Identity tags on runs come from the hub; protected experiment tags are for admins."""
        if who.admin:
            return raw
        if action.endpoint == "experiments/set-experiment-tag" and body.get("key") in PROTECTED_EXPERIMENT_TAGS:
            raise Denied("Eigenaar en deelnemende organisaties van een experiment kan alleen een beheerder wijzigen.")
        if action.endpoint == "runs/create":
            tags = _tags(body.get("tags"))
            organisation = tags.get(TAG_ORG) or who.organisation or ""
            if organisation not in who.organisations:
                raise Denied(f"Je kan geen run loggen voor '{organisation}': je hoort bij "
                             f"{', '.join(sorted(who.organisations)) or 'geen organisatie'}.")
            tags.update({TAG_USER: who.name, TAG_ORG: organisation, "mlflow.user": who.name})
            body["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
            body["user_id"] = who.name
            return json.dumps(body).encode()
        if action.endpoint in ("runs/set-tag", "runs/log-batch"):
            tags = {body.get("key"): body.get("value")} if action.endpoint == "runs/set-tag" else \
                _tags(body.get("tags"))
            if TAG_USER in tags and tags[TAG_USER] != who.name:
                raise Denied(f"De tag {TAG_USER} is altijd je eigen gebruikersnaam ({who.name}).")
            if TAG_ORG in tags and tags[TAG_ORG] not in who.organisations:
                raise Denied(f"De tag {TAG_ORG} moet een van je eigen organisaties zijn.")
        return raw


def _json(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
