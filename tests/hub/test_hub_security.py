"""Issue 12, classes 1 and 2, on a real `proeftuin up`: a colleague of another organisation (Menen) sends every
MLflow write there is, in every spelling MLflow would read differently from the sign-on layer, at Kortrijk's
work; the store (MLflow's database and artifact folder) is compared before and after each attempt, and the
figure for the note is printed: `attack cases: N, allowed: 0`.

The world: Kortrijk's experiment with a run (metrics, params, tags, an artifact), a logged model, a registered
model with a version and the alias `champion`, and the experiment of the pilot `vragenrouter` (owner Kortrijk,
Waregem participates, Menen does not), all made with the MLflow client through the layer. Menen has work of
its own (the "own" ids some variants mix in). `kennisbank` and `vragenrouter` are pilots Menen is not in that
have no registered model yet (`up --no-train`): the names a rename would take over (the gallery serves them).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from hubkit import (
    Browser,
    Platform,
    admin_and_members,
    approve,
    mlflow_api,
    page_xsrf,
    running_platform,
    wait_until,
)

KORTRIJK, WAREGEM, MENEN = "kim-kortrijk", "wim-waregem", "mia-menen"
MOVED, REVOKED = "mats-kortrijk", "rob-kortrijk"  # the admin moves one to Menen and revokes the other
FREE_PILOTS = ("kennisbank", "vragenrouter")  # Menen is in neither; neither has a registered model
MARK = "menen-schreef-dit"  # a value in attack bodies: it must never be stored, nor logged
JSON = "application/json"
OVERRIDES = ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override")

pytestmark = pytest.mark.timeout(900)

CLIENT = r"""
import json, sys
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

org, experiment_name, model_name = sys.argv[1:4]
client = MlflowClient()
experiment = client.create_experiment(experiment_name)
run = client.create_run(experiment, tags={"proeftuin.organisation": org, "notitie": "van " + org})
client.log_batch(run.info.run_id, metrics=[Metric("macro_f1", 0.61, 0, 0)], params=[Param("max_rows", "300")],
                 tags=[RunTag("fase", "proef")])
client.log_text(run.info.run_id, "Wat we probeerden.", "notities.txt")
model = client.create_logged_model(experiment, name="router", source_run_id=run.info.run_id, tags={"soort": "tfidf"})
client.finalize_logged_model(model.model_id, "READY")
client.create_registered_model(model_name, tags={"doel": "router"})
version = client.create_model_version(model_name, source=f"models:/{model.model_id}", run_id=run.info.run_id,
                                      model_id=model.model_id, tags={"kwaliteit": "goed"})
client.set_registered_model_alias(model_name, "champion", version.version)
found = client.get_registered_model(model_name)
assert found.aliases == {"champion": version.version}, found.aliases
print("WORLD", json.dumps({"experiment_id": experiment, "run_id": run.info.run_id, "model_id": model.model_id,
                           "model": model_name}))
"""


@pytest.fixture(scope="module")
def platform():
    with running_platform("proeftuin-security-", (KORTRIJK, WAREGEM, MENEN, MOVED, REVOKED)) as (hub, _):
        yield hub


@pytest.fixture(scope="module")
def people(platform) -> dict[str, Browser]:
    admin, members = admin_and_members(platform, {KORTRIJK: "kortrijk", WAREGEM: "waregem", MENEN: "menen"})
    return {"beheerder": admin, **members}


def join(hub: Platform, admin: Browser, name: str, organisation: str) -> Browser:
    """A colleague signed up, approved by the admin, logged in and holding an API token."""
    return admin_and_members(hub, {name: organisation}, admin)[1][name]


def mlflow_client(hub: Platform, who: Browser, code: str, *args: str) -> str:
    """Run Python with the MLflow client, pointed at /services/mlflow with the person's hub token."""
    env = {**hub.env, "MLFLOW_TRACKING_URI": f"{hub.url}/services/mlflow", "MLFLOW_TRACKING_TOKEN": who.token}
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def world(platform, people) -> dict[str, str]:
    """Kortrijk's work and Menen's own, made with the MLflow client through the layer (which must keep working)."""
    def make(who: str, org: str, experiment: str, model: str) -> dict[str, str]:
        output = mlflow_client(platform, people[who], CLIENT, org, experiment, model)
        return json.loads(next(line for line in output.splitlines() if line.startswith("WORLD "))[6:])

    world = make(KORTRIJK, "kortrijk", "kortrijk-beveiliging", "kortrijk-router")
    own = make(MENEN, "menen", "menen-beveiliging", "menen-router")
    world.update({f"own_{k}": v for k, v in own.items()})
    pilot = mlflow_api(people[KORTRIJK], "POST", "experiments/create", json={"name": "vragenrouter"})
    assert pilot.status_code == 200, pilot.text
    world["pilot_experiment_id"] = pilot.json()["experiment_id"]
    for slug in FREE_PILOTS:
        assert mlflow_api(people[KORTRIJK], "GET", f"registered-models/get?name={slug}").status_code == 404
    return world


def snapshot(hub: Platform) -> dict[str, str]:
    """Every MLflow table (its rows, hashed) and every stored artifact (size and hash), read-only."""
    db = sqlite3.connect(f"file:{hub.state / 'mlflow' / 'mlflow.db'}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        found = {f"table {t}": hashlib.sha256(repr(sorted(map(repr, db.execute(f'SELECT * FROM "{t}"')))).encode())
                 .hexdigest() for t in tables}
    finally:
        db.close()
    root = hub.state / "mlflow" / "artifacts"
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[f"artifact {path.relative_to(root)}"] = f"{path.stat().st_size} {digest}"
    return found


# --- the attack cases ----------------------------------------------------------------------------------

@dataclass
class Case:
    label: str
    method: str
    path: str  # below /services/mlflow, sent byte for byte (no client-side normalisation)
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def case(label: str, method: str, path: str, body: dict | list | str | bytes | None = None,
         content_type: str | None = JSON, **headers: str) -> Case:
    raw = body if isinstance(body, bytes | None) else (body if isinstance(body, str) else json.dumps(body)).encode()
    if content_type and raw is not None:
        headers["Content-Type"] = content_type
    return Case(label, method, path, raw, headers)


@dataclass
class Base:
    """One write aimed at Kortrijk's work: `key` names the id field, `own` Menen's own value for it."""

    endpoint: str  # below /mlflow/
    method: str
    body: dict
    key: str | None = None
    own: str | None = None


CAMEL = {"experiment_id": "experimentId", "run_id": "runId", "model_id": "modelId", "new_name": "newName"}
TWINS = {"runs/update", "runs/log-metric", "runs/log-parameter", "runs/set-tag"}  # messages with run_uuid too


def rest(endpoint: str, prefix: str = "/api/2.0") -> str:
    return f"{prefix}/mlflow/{endpoint}"


def variants(base: Base) -> list[Case]:
    """The request, and every other way of spelling it that MLflow reads (or used to read) differently."""
    ep, method, body, key = base.endpoint, base.method, base.body, base.key
    form = urlencode({k: v for k, v in body.items() if isinstance(v, str | int | float)})
    out = [
        case("api", method, rest(ep), body), case("ajax-api", method, rest(ep, "/ajax-api/2.0"), body),
        case("api 3.0", method, rest(ep, "/api/3.0"), body), case("trailing slash", method, rest(ep) + "/", body),
        case("encoded letter", method, rest(ep).replace("mlflow/", "ml%66low/"), body),
        case("encoded slash", method, rest(ep.replace("/", "%2F", 1)), body),
        case("dot segments", method, rest(f"runs/../{ep}"), body),
        case("string body", method, rest(ep), json.dumps(json.dumps(body))),
        case("array body", method, rest(ep), [body]),
        case("text body", method, rest(ep), body, "text/plain"),
        case("form body", method, rest(ep), form, "application/x-www-form-urlencoded"),
        case("no content type", method, rest(ep), body, None),
        *[case(f"{header} on the write", method, rest(ep), body, **{header: "GET"}) for header in OVERRIDES],
        *[case(f"GET with {header}", "GET", rest(ep), body, **{header: method}) for header in OVERRIDES],
    ]
    if key is None:
        return out
    target, own = body[key], base.own
    mine = {**body, key: own}
    text = json.dumps(mine)[:-1]
    out += [
        case("id in query, own in body", method, f"{rest(ep)}?{urlencode({key: target})}", mine),
        case("own in query, id in body", method, f"{rest(ep)}?{urlencode({key: own})}", body),
        case("duplicated key, own first", method, rest(ep), f"{text}, {json.dumps(key)}: {json.dumps(target)}}}"),
        case("duplicated key, own last", method, rest(ep), json.dumps(body)[:-1] + f", {json.dumps(key)}: "
             f"{json.dumps(own)}}}"),
    ]
    if key in CAMEL:
        camel = {k: v for k, v in body.items() if k != key} | {CAMEL[key]: target}
        out += [case("camelCase", method, rest(ep), camel),
                case("snake own, camel id", method, rest(ep), {**mine, CAMEL[key]: target}),
                case("camel id, snake own", method, rest(ep), {**camel, key: own})]
    if ep in TWINS:
        legacy = {k: v for k, v in body.items() if k != "run_id"} | {"run_uuid": target}
        out += [case("run_uuid", method, rest(ep), legacy),
                case("run_id own, run_uuid id", method, rest(ep), {**mine, "run_uuid": target}),
                case("runUuid id, run_id own", method, rest(ep), {"runUuid": target, **mine})]
    return out


def bases(w: dict[str, str]) -> list[Base]:
    """Every MLflow write a member may send, aimed at Kortrijk's experiment, run and registered model."""
    E, R, RM = w["experiment_id"], w["run_id"], w["model"]

    def experiment(endpoint: str, body: dict) -> Base:
        return Base(endpoint, "POST", {"experiment_id": E, **body}, "experiment_id", w["own_experiment_id"])

    def run(endpoint: str, body: dict) -> Base:
        return Base(endpoint, "POST", {"run_id": R, **body}, "run_id", w["own_run_id"])

    def model(endpoint: str, body: dict, method: str = "POST") -> Base:
        return Base(endpoint, method, {"name": RM, **body}, "name", w["own_model"])

    return [
        experiment("experiments/delete", {}), experiment("experiments/restore", {}),
        experiment("experiments/update", {"new_name": MARK}),
        experiment("experiments/set-experiment-tag", {"key": "notitie", "value": MARK}),
        experiment("experiments/delete-experiment-tag", {"key": "proeftuin.owner"}),
        experiment("runs/create", {"run_name": MARK}), experiment("logged-models", {"name": MARK}),
        run("runs/update", {"status": "KILLED", "run_name": MARK}), run("runs/delete", {}), run("runs/restore", {}),
        run("runs/log-metric", {"key": "macro_f1", "value": 0.99, "timestamp": 1, "step": 0}),
        run("runs/log-parameter", {"key": "indringer", "value": MARK}),
        run("runs/set-tag", {"key": "notitie", "value": MARK}), run("runs/delete-tag", {"key": "notitie"}),
        run("runs/log-batch", {"metrics": [{"key": "macro_f1", "value": 0.99, "timestamp": 1, "step": 1}],
                               "tags": [{"key": "fase", "value": MARK}]}),
        run("runs/log-model", {"model_json": json.dumps({"artifact_path": MARK, "flavors": {}})}),
        run("runs/log-inputs", {"datasets": [{"dataset": {"name": MARK, "digest": "0", "source_type": "local",
                                                          "source": "x"}}]}),
        run("runs/outputs", {"models": [{"model_id": w["own_model_id"], "step": 0}]}),
        model("registered-models/update", {"description": MARK}, "PATCH"),
        model("registered-models/delete", {}, "DELETE"),
        model("registered-models/rename", {"new_name": MARK}),
        model("registered-models/set-tag", {"key": "doel", "value": MARK}),
        model("registered-models/delete-tag", {"key": "doel"}, "DELETE"),
        model("registered-models/alias", {"alias": "champion", "version": "1"}),
        model("registered-models/alias", {"alias": "champion"}, "DELETE"),
        model("model-versions/create", {"source": f"models:/{w['own_model_id']}", "model_id": w["own_model_id"]}),
        model("model-versions/update", {"version": "1", "description": MARK}, "PATCH"),
        model("model-versions/delete", {"version": "1"}, "DELETE"),
        model("model-versions/transition-stage", {"version": "1", "stage": "Archived"}),
        model("model-versions/set-tag", {"version": "1", "key": "kwaliteit", "value": MARK}),
        model("model-versions/delete-tag", {"version": "1", "key": "kwaliteit"}, "DELETE"),
    ]


def logged_model_cases(w: dict[str, str]) -> list[Case]:
    """Routes with the logged model in the path; some handlers read `model_id` from the body instead."""
    M, own = w["model_id"], w["own_model_id"]
    routes = [("PATCH", "", {"status": "LOGGED_MODEL_UPLOAD_FAILED"}), ("DELETE", "", {}),
              ("POST", "/params", {"params": [{"key": "indringer", "value": MARK}]}),
              ("PATCH", "/tags", {"tags": [{"key": "soort", "value": MARK}]}), ("DELETE", "/tags/soort", {})]
    out = []
    for method, rest_of_path, body in routes:
        mine = rest(f"logged-models/{own}{rest_of_path}")
        out += [case("logged model in path", method, rest(f"logged-models/{M}{rest_of_path}"), body),
                case("ajax-api", method, rest(f"logged-models/{M}{rest_of_path}", "/ajax-api/2.0"), body),
                case("trailing slash", method, rest(f"logged-models/{M}{rest_of_path}") + "/", body),
                case("string body", method, rest(f"logged-models/{M}{rest_of_path}"), json.dumps(json.dumps(body))),
                case("own path, model_id in body", method, mine, {**body, "model_id": M}),
                case("own path, modelId in body", method, mine, {**body, "modelId": M}),
                case("own path, id in query", method, f"{mine}?model_id={M}", body),
                case("encoded slash", method, rest(f"logged-models%2F{M}{rest_of_path}"), body)]
    return out


def name_cases(w: dict[str, str]) -> list[Case]:
    """New names and targets: renames, creations, versions from someone else's model, tags that decide rights."""
    own_model, own_experiment = w["own_model"], w["own_experiment_id"]
    out = []
    for slug in FREE_PILOTS:
        out += [case(f"create model {slug}", "POST", rest("registered-models/create"), {"name": slug}),
                case(f"create experiment {slug}", "POST", rest("experiments/create"), {"name": slug}),
                case(f"rename own model to {slug}", "POST", rest("registered-models/rename"),
                     {"name": own_model, "new_name": slug}),
                case(f"rename own model to {slug} (newName)", "POST", rest("registered-models/rename", "/ajax-api/2.0"),
                     {"name": own_model, "newName": slug}),
                case(f"update own experiment to {slug}", "POST", rest("experiments/update"),
                     {"experiment_id": own_experiment, "new_name": slug}),
                case(f"update own experiment to {slug} (camelCase)", "POST", rest("experiments/update"),
                     {"experimentId": own_experiment, "newName": slug})]
    out += [
        case("rename own model to Kortrijk's experiment", "POST", rest("registered-models/rename"),
             {"name": own_model, "new_name": "kortrijk-beveiliging"}),
        case("create model named like Kortrijk's experiment", "POST", rest("registered-models/create"),
             {"name": "kortrijk-beveiliging"}),
        case("version from Kortrijk's logged model", "POST", rest("model-versions/create"),
             {"name": own_model, "source": f"models:/{w['model_id']}", "model_id": w["model_id"]}),
        case("version from Kortrijk's registered version", "POST", rest("model-versions/create"),
             {"name": own_model, "source": f"models:/{w['model']}/1"}),
        case("version from Kortrijk's alias", "POST", rest("model-versions/create"),
             {"name": own_model, "source": f"models:/{w['model']}@champion"}),
        case("share own experiment with Kortrijk's tag", "POST", rest("experiments/set-experiment-tag"),
             {"experiment_id": own_experiment, "key": "proeftuin.organisations", "value": "menen,kortrijk"}),
        case("give own model to Kortrijk", "POST", rest("registered-models/set-tag"),
             {"name": own_model, "key": "proeftuin.owner", "value": "kortrijk"}),
        case("own run in Kortrijk's name", "POST", rest("runs/set-tag"),
             {"run_id": w["own_run_id"], "key": "proeftuin.user", "value": KORTRIJK}),
        case("new run for Kortrijk", "POST", rest("runs/create"),
             {"experiment_id": own_experiment, "tags": [{"key": "proeftuin.organisation", "value": "kortrijk"}]}),
        case("run in a pilot Menen is not in", "POST", rest("runs/create"),
             {"experiment_id": w["pilot_experiment_id"], "run_name": MARK}),
        case("create experiment like Kortrijk's (case, Cyrillic o)", "POST", rest("experiments/create"),
             {"name": "Kortrijk-Beveiliging".replace("o", "\u043e")}),
        case("rename own model like Kortrijk's (trailing space)", "POST", rest("registered-models/rename"),
             {"name": own_model, "new_name": w["model"] + " "}),
        *[case(f"create model like a pilot: {name!r}", "POST", rest("registered-models/create"), {"name": name})
          for name in ("Kennisbank", "kennisbank ", "kennisbank\t", "kennisbank\u200b", "\ufeffkennisbank",
                       "k\u0435nnisbank")],
        case("logged model in own experiment from Kortrijk's run", "POST", rest("logged-models"),
             {"experiment_id": own_experiment, "name": MARK, "source_run_id": w["run_id"]}),
        case("logged model from Kortrijk's run (camelCase)", "POST", rest("logged-models", "/ajax-api/2.0"),
             {"experimentId": own_experiment, "name": MARK, "sourceRunId": w["run_id"]}),
        case("own run's output: Kortrijk's logged model", "POST", rest("runs/outputs"),
             {"run_id": w["own_run_id"], "models": [{"model_id": w["model_id"], "step": 0}]}),
        case("own version with Kortrijk's run", "POST", rest("model-versions/create"),
             {"name": own_model, "source": f"runs:/{w['run_id']}/notities.txt", "run_id": w["run_id"]}),
        case("own version from own model, Kortrijk's run", "POST", rest("model-versions/create"),
             {"name": own_model, "source": f"models:/{w['own_model_id']}", "model_id": w["own_model_id"],
              "run_id": w["run_id"]}),
    ]
    return out


def artifact_cases(w: dict[str, str]) -> list[Case]:
    """Uploads (streamed: decided on the path alone), deletes and multipart uploads into Kortrijk's run."""
    E, R, OE, OR = w["experiment_id"], w["run_id"], w["own_experiment_id"], w["own_run_id"]
    target, own = f"{E}/{R}/artifacts", f"{OE}/{OR}/artifacts"
    encoded_id = "".join(f"%{ord(c):02X}" for c in E)
    paths = {
        "Kortrijk's run": f"{target}/notities.txt", "new file": f"{target}/nieuw.txt",
        "dot segments from own experiment": f"{OE}/../{target}/notities.txt",
        "dot segments from own run": f"{own}/../../../{target}/notities.txt",
        "encoded slashes": f"{OE}%2F..%2F{target}/notities.txt", "encoded dots": f"{OE}/%2e%2e/{target}/notities.txt",
        "encoded experiment id": f"{encoded_id}/{R}/artifacts/notities.txt", "trailing slash": f"{target}/nieuw.txt/",
        "double slash": f"{OE}//{target}/notities.txt", "backslash": f"{OE}/..\\{target}/notities.txt",
    }
    out = []
    for label, path in paths.items():
        for prefix in ("/api/2.0", "/ajax-api/2.0"):
            base = f"{prefix}/mlflow-artifacts"
            out += [case(f"upload: {label}", "PUT", f"{base}/artifacts/{path}", b"overschreven", "text/plain"),
                    case(f"delete: {label}", "DELETE", f"{base}/artifacts/{path}"),
                    *[case(f"multipart {verb}: {label}", "POST", f"{base}/mpu/{verb}/{path.rsplit('/', 1)[0]}",
                           {"path": "notities.txt", "num_parts": 1, "upload_id": "u", "parts": []})
                      for verb in ("create", "complete", "abort")]]
    out += [
        case("delete the whole experiment's artifacts", "DELETE", f"/api/2.0/mlflow-artifacts/artifacts/{E}"),
        case("upload to own path, Kortrijk's in the query", "PUT",
             f"/api/2.0/mlflow-artifacts/artifacts/{own}/x.txt?path={target}/notities.txt", b"x", "text/plain"),
        *[case(f"upload with {header}: DELETE", "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{target}/notities.txt",
               b"x", "text/plain", **{header: "DELETE"}) for header in OVERRIDES],
        *[case(f"POST with {header}: PUT", "POST", f"/api/2.0/mlflow-artifacts/artifacts/{target}/notities.txt",
               b"x", "text/plain", **{header: "PUT"}) for header in OVERRIDES],
        *[case(f"multipart {verb}: own path, '..' as file name", "POST",
               f"/api/2.0/mlflow-artifacts/mpu/{verb}/{own}", {"path": "/tmp/..", "upload_id": "u", "parts": []})
          for verb in ("create", "complete", "abort")],
        case("multipart create: string body", "POST", f"/api/2.0/mlflow-artifacts/mpu/create/{target}",
             json.dumps(json.dumps({"path": "notities.txt"}))),
        case("multipart create: duplicated path", "POST", f"/api/2.0/mlflow-artifacts/mpu/create/{own}",
             '{"path": "a.txt", "path": "../../../' + target + '/notities.txt"}'),
    ]
    return out


def graphql_cases() -> list[Case]:
    mutation = 'mutation { testMutation(inputString: "x") { output } }'
    search = 'mutation { mlflowSearchRuns(input: {experimentIds: ["1"]}) { totalCount } }'
    mixed = "query A { __typename } " + mutation.replace("mutation", "mutation B")
    out = []
    for label, query in (("mutation", mutation), ("search mutation", search), ("query and mutation", mixed)):
        out += [case(f"graphql {label}", "POST", "/graphql", {"query": query}),
                case(f"graphql {label}, trailing slash", "POST", "/graphql/", {"query": query}),
                case(f"graphql {label}, string body", "POST", "/graphql", json.dumps(json.dumps({"query": query}))),
                case(f"graphql {label}, text body", "POST", "/graphql", {"query": query}, "text/plain"),
                case(f"graphql {label}, form body", "POST", "/graphql", urlencode({"query": query}),
                     "application/x-www-form-urlencoded"),
                case(f"graphql {label} as GET body", "GET", "/graphql", {"query": query}),
                case(f"graphql {label}, operationName of the query", "POST", "/graphql",
                     {"query": query, "operationName": "A"}),
                case(f"graphql {label} behind a duplicated query", "POST", "/graphql",
                     '{"query": "{ __typename }", "query": ' + json.dumps(query) + "}"),
                case(f"graphql {label} on ajax-api", "POST", "/ajax-api/2.0/graphql", {"query": query})]
    return out


def admin_only_cases(w: dict[str, str]) -> list[Case]:
    """Writes no member needs (traces, webhooks, datasets, scorers, workspaces, the UI's extra routes)."""
    E, R = w["experiment_id"], w["run_id"]
    writes = [
        ("POST", "/api/3.0/mlflow/traces", {"trace": {"trace_info": {"trace_id": "tr-1", "trace_location": {
            "type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": E}}, "state": "OK"}}}),
        ("POST", rest("traces"), {"experiment_id": E, "timestamp_ms": 1}),
        ("POST", rest("traces/delete-traces"), {"experiment_id": E, "max_timestamp_millis": 2**62}),
        ("POST", "/api/3.0/mlflow/traces/delete-traces", {"experiment_id": E, "max_timestamp_millis": 2**62}),
        ("POST", rest("traces/link-to-run"), {"trace_ids": ["tr-1"], "run_id": R}),
        ("POST", rest("webhooks"), {"name": MARK, "url": "https://example.org/x", "events": []}),
        ("POST", "/api/3.0/mlflow/datasets/create", {"name": MARK, "experiment_ids": [E]}),
        ("POST", "/api/3.0/mlflow/scorers/register", {"experiment_id": E, "name": MARK, "serialized_scorer": "{}"}),
        ("POST", "/api/3.0/mlflow/issues", {"experiment_id": E, "name": MARK}),
        ("POST", "/api/3.0/mlflow/workspaces", {"name": MARK}),
        ("POST", rest("artifacts/presigned-upload-url"), {"run_id": R, "path": "x"}),
        ("POST", rest("runs/create-promptlab-run", "/ajax-api/2.0"), {"experiment_id": E, "prompt_template": MARK}),
        ("POST", rest("gateway-proxy", "/ajax-api/2.0"), {"gateway_path": "x"}),
        ("POST", "/api/3.0/mlflow/gateway/secrets/create", {"secret_name": MARK, "secret_value": "x"}),
    ]
    out = [case(f"admin-only {path}", method, path, body) for method, path, body in writes]
    out += [case(f"admin-only {path} (ajax-api)", method, path.replace("/api/", "/ajax-api/", 1), body)
            for method, path, body in writes if path.startswith("/api/")]
    out.append(case("upload-artifact with ids in the query", "POST",
                    f"{rest('upload-artifact', '/ajax-api/2.0')}?run_uuid={R}&path=vals.txt", b"x", "text/plain"))
    return out


def attack_cases(w: dict[str, str]) -> list[Case]:
    cases = [c for base in bases(w) for c in variants(base)]
    for c in cases:
        c.label = f"{c.method} {c.path.split('?')[0].rsplit('mlflow/', 1)[-1]}: {c.label}"
    return cases + logged_model_cases(w) + name_cases(w) + artifact_cases(w) + graphql_cases() + admin_only_cases(w)


def send(hub: Platform, token: str, c: Case) -> tuple[int, dict]:
    """The request exactly as written (http.client does not normalise paths or merge headers)."""
    connection = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=60)
    try:
        connection.request(c.method, f"/services/mlflow{c.path}", body=c.body,
                           headers={"Authorization": f"token {token}", **c.headers})
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
    finally:
        connection.close()
    try:
        answer = json.loads(text)
    except ValueError:
        answer = {"text": text[:200]}
    return response.status, answer if isinstance(answer, dict) else {"text": text[:200]}


def refusals_logged(hub: Platform) -> int:
    return sum(f"for {MENEN} (menen):" in line for line in hub.full_log().splitlines() if "denied " in line)


# --- the tests -----------------------------------------------------------------------------------------

def test_another_organisation_changes_nothing_through_any_write(platform, people, world):
    """Every case gets 400 or 403 from the layer with a Dutch message (or a 404 that changes nothing), and the
    store is byte for byte what it was; each refusal is logged with user and organisation, never the body."""
    cases = attack_cases(world)
    token = people[MENEN].token
    logged_before = refusals_logged(platform)
    allowed, refused = [], 0
    for c in cases:
        before = snapshot(platform)
        status, answer = send(platform, token, c)
        after = snapshot(platform)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        if status in (400, 403) and not changed:
            refused += 1
            if not answer.get("message") or answer.get("error_code") not in ("INVALID_PARAMETER_VALUE",
                                                                              "PERMISSION_DENIED"):
                allowed.append((c.label, status, "not the layer's refusal", answer))
        elif status != 404 or changed:
            allowed.append((c.label, status, changed, answer))
    figure = f"attack cases: {len(cases)}, allowed: {len(allowed)}"
    print(figure)
    assert not allowed, f"{figure}\n" + "\n".join(map(repr, allowed[:30]))
    wait_until(lambda: refusals_logged(platform) - logged_before >= refused, 30, "every refusal to be logged")
    assert MARK not in platform.full_log()  # refusals are logged without the body


def test_kortrijk_and_pilot_participants_still_write(platform, people, world):
    """The legitimate paths: Kortrijk logs to its run (REST, ajax-api, camelCase, run_uuid) and, with the MLflow
    client, a new run; Waregem logs in the vragenrouter pilot's experiment; Menen changes its own work."""
    kortrijk, waregem, menen = people[KORTRIJK], people[WAREGEM], people[MENEN]
    run_id = world["run_id"]
    for endpoint, body in (("runs/log-metric", {"run_id": run_id, "key": "recall", "value": 0.7, "timestamp": 1}),
                           ("runs/log-metric/", {"runId": run_id, "key": "precision", "value": 0.8, "timestamp": 1}),
                           ("runs/log-parameter", {"run_uuid": run_id, "key": "taal", "value": "nl"})):
        answer = kortrijk.api("POST", f"/services/mlflow/ajax-api/2.0/mlflow/{endpoint}", json=body)
        assert answer.status_code == 200, answer.text
    stored = mlflow_api(kortrijk, "GET", f"runs/get?run_id={run_id}").json()["run"]["data"]
    assert {m["key"]: m["value"] for m in stored["metrics"]} == {"macro_f1": 0.61, "recall": 0.7, "precision": 0.8}
    assert {p["key"]: p["value"] for p in stored["params"]}["taal"] == "nl"
    output = mlflow_client(platform, kortrijk, """
import mlflow, sys
mlflow.set_experiment("kortrijk-beveiliging")
with mlflow.start_run(tags={"proeftuin.organisation": "kortrijk"}) as run:
    mlflow.log_metrics({"macro_f1": 0.64, "accuracy": 0.7})
    mlflow.log_dict({"drempel": 0.5}, "instellingen.json")
found = mlflow.get_run(run.info.run_id)
print("CLIENT", found.data.metrics["macro_f1"], found.data.tags["proeftuin.user"])
""")
    assert f"CLIENT 0.64 {KORTRIJK}" in output, output
    pilot = mlflow_api(waregem, "POST", "runs/create", json={"experiment_id": world["pilot_experiment_id"]})
    assert pilot.status_code == 200, pilot.text
    pilot_run = pilot.json()["run"]["info"]["run_id"]
    assert mlflow_api(waregem, "POST", "runs/log-metric", json={
        "run_id": pilot_run, "key": "macro_f1", "value": 0.5, "timestamp": 1}).status_code == 200
    renamed = mlflow_api(menen, "POST", "registered-models/rename",
                         json={"name": world["own_model"], "new_name": "menen-router-2"})
    assert renamed.status_code == 200, renamed.text
    assert mlflow_api(menen, "POST", "registered-models/rename",
                      json={"name": "menen-router-2", "new_name": world["own_model"]}).status_code == 200


def test_a_hub_service_reads_but_writes_nothing(platform, people, world):
    """The gallery's own hub token (a service, not a person) is a reader at /services/mlflow."""
    pid = platform.service_pid("proeftuin.hub.services gallery")
    assert pid is not None
    environ = dict(item.split(b"=", 1) for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                   if b"=" in item)
    gallery = Browser(platform.url)
    gallery.token = environ[b"JUPYTERHUB_API_TOKEN"].decode()
    assert mlflow_api(gallery, "GET", f"runs/get?run_id={world['run_id']}").status_code == 200
    assert mlflow_api(gallery, "POST", "runs/search", json={"experiment_ids": [world["experiment_id"]]}).json()["runs"]
    before = snapshot(platform)
    for endpoint, body in (("experiments/create", {"name": "galerij"}), ("runs/delete", {"run_id": world["run_id"]}),
                           ("registered-models/create", {"name": FREE_PILOTS[0]})):
        answer = mlflow_api(gallery, "POST", endpoint, json=body)
        assert answer.status_code == 403 and "alleen lezen" in answer.json()["message"], answer.text
    assert snapshot(platform) == before


def test_method_override_headers_never_reach_mlflow(platform, people, world):
    """A read that asks to be a DELETE stays a read: the header is dropped, the artifact is still there."""
    path = f"/api/2.0/mlflow-artifacts/artifacts/{world['experiment_id']}/{world['run_id']}/artifacts/notities.txt"
    before = snapshot(platform)
    for header in OVERRIDES:
        status, _ = send(platform, people[MENEN].token, case("override", "GET", path, None, None, **{header: "DELETE"}))
        assert status == 200
    assert snapshot(platform) == before


def test_a_move_to_another_organisation_counts_from_the_very_next_write(platform, people, world):
    """The layer asks the hub who someone is on every write: once the admin moves a Kortrijk colleague to Menen,
    their next write to Kortrijk's experiment is refused (not after the layer's 30 s read cache)."""
    admin = people["beheerder"]
    person = join(platform, admin, MOVED, "kortrijk")
    tag = {"experiment_id": world["experiment_id"], "key": "verhuis", "value": "voor"}
    answer = mlflow_api(person, "POST", "experiments/set-experiment-tag", json=tag)
    assert answer.status_code == 200, answer.text  # the layer now knows them as Kortrijk
    assert approve(admin, MOVED, "menen").status_code == 302
    before = snapshot(platform)
    answer = mlflow_api(person, "POST", "experiments/set-experiment-tag", json={**tag, "value": "na"})
    assert answer.status_code == 403 and "jij: menen" in answer.json()["message"], answer.text
    assert snapshot(platform) == before
    own = {"experiment_id": world["own_experiment_id"], "key": "verhuis", "value": "na"}
    assert mlflow_api(person, "POST", "experiments/set-experiment-tag", json=own).status_code == 200


def test_a_revoked_colleagues_token_stops_working_within_seconds(platform, people, world):
    """Revoking an approval deletes the person's tokens at the hub; the layer writes nothing for them from the very
    next request, and refuses the token itself as soon as its short token cache (a few seconds) has expired."""
    admin = people["beheerder"]
    person = join(platform, admin, REVOKED, "kortrijk")
    read = f"experiments/get?experiment_id={world['experiment_id']}"
    assert mlflow_api(person, "GET", read).status_code == 200  # the layer has seen (and cached) the token
    page = admin.http.get("/hub/authorize")
    revoked = admin.http.post(f"/hub/authorize/{REVOKED}", data={"_xsrf": page_xsrf(page), "action": "revoke"})
    assert revoked.status_code == 302, revoked.text
    started = time.monotonic()
    before = snapshot(platform)
    answer = mlflow_api(person, "POST", "experiments/set-experiment-tag",
                        json={"experiment_id": world["experiment_id"], "key": "ingetrokken", "value": MARK})
    assert answer.status_code in (401, 403), answer.text
    assert snapshot(platform) == before
    wait_until(lambda: mlflow_api(person, "GET", read).status_code == 401, 15, "the revoked token to be refused",
               interval=0.2)
    assert time.monotonic() - started < 10


UNREADABLE_DOCS = ["%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "%c0%ae%c0%ae/", "%e0%80%ae%e0%80%ae/index.html", "%ff",
                   "a%00b", "..%5c..%5cetc%5cpasswd", "%0d%0aindex.html"]
#: Not UTF-8: the hub's proxy (configurable-http-proxy) cannot route them (`decodeURIComponent` throws) and
#: answers 500 itself, with the hub's error page, before any sign-on layer sees the request.
NOT_UTF8 = {"%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "%c0%ae%c0%ae/", "%e0%80%ae%e0%80%ae/index.html", "%ff"}


def get_raw(port: int, path: str, token: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"Authorization": f"token {token}"})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


@pytest.mark.parametrize("path", UNREADABLE_DOCS)
def test_the_docs_layer_answers_an_unreadable_address_with_a_400(platform, people, path):
    """Overlong UTF-8 ('%c0%ae' is a '.' spelled in two bytes), a NUL, a backslash, a line break, sent byte for
    byte to the docs layer itself (on loopback, as a notebook could): 400 with a short Dutch message, never a 500."""
    port = yaml.safe_load((platform.project / "proeftuin.yaml").read_text())["hub"]["ports"]["docs"]
    status, text = get_raw(port, f"/services/docs/{path}", people[MENEN].token)
    assert status == 400 and "niet leesbaar" in text, (status, text[:300])


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.xfail(
    strict=True, reason="configurable-http-proxy answers 500 for a path that is not UTF-8 (URIError in "
                        "targetForReq), before the docs layer; needs the hub's proxy set-up")) if p in NOT_UTF8 else p
    for p in UNREADABLE_DOCS])
def test_an_unreadable_docs_address_through_the_hub_is_a_400(platform, people, path):
    """The same through the hub, as a logged-in colleague's browser would send it."""
    status, text = get_raw(platform.port, f"/services/docs/{path}", people[MENEN].token)
    assert status == 400 and "niet leesbaar" in text, (status, text[:300])
