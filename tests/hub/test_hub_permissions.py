"""The MLflow policy's one reading of each request, without a hub: every way MLflow could read a request
differently from the check is refused or canonicalised, and the canonical form is what gets forwarded.

The policy looks MLflow state up through its `fetch` callable; here that is a small table of what a store
would answer (Kortrijk and Menen experiments, runs, models, logged models). The real MLflow behind the
real layer is tested in tests/hub/test_hub_security.py.
"""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import parse_qs

import pytest

from proeftuin.hub.permissions import (
    METHOD_OVERRIDE_HEADERS,
    WRITES,
    Denied,
    Forward,
    Identity,
    Policy,
    canonical_path,
    find_route,
    reads_body,
    route_table,
)

JSON = "application/json"
API, AJAX = "/api/2.0/mlflow", "/ajax-api/2.0/mlflow"
KORTRIJK_TAGS = [{"key": "proeftuin.owner", "value": "kortrijk"}, {"key": "proeftuin.organisations",
                                                                  "value": "kortrijk"}]
MENEN_TAGS = [{"key": "proeftuin.owner", "value": "menen"}, {"key": "proeftuin.organisations", "value": "menen"}]
EXPERIMENTS = {"1": {"name": "kortrijk-verkenning", "tags": KORTRIJK_TAGS},
               "2": {"name": "menen-verkenning", "tags": MENEN_TAGS},
               "3": {"name": "vragenrouter", "tags": []}}
RUNS = {"rk": "1", "rm": "2", "rp": "3"}
MODELS = {"kortrijk-model": KORTRIJK_TAGS, "menen-model": MENEN_TAGS}
LOGGED_MODELS = {"m-k": "1", "m-m": "2"}
PILOTS = {"vragenrouter": {"owner": "kortrijk", "organisations": ["kortrijk", "waregem"], "theme": "x"},
          "kennisbank": {"owner": "kortrijk", "organisations": ["kortrijk", "waregem", "harelbeke"], "theme": "x"}}

MENEN = Identity("mo-menen", frozenset({"menen"}))
KORTRIJK = Identity("kim-kortrijk", frozenset({"kortrijk"}))
ADMIN = Identity("beheerder", frozenset(), admin=True)
GALLERY = Identity("service:gallery", frozenset(), read_only=True)


async def fetch(api_path: str):
    """What MLflow's read API would answer for the policy's look-ups."""
    endpoint, _, query = api_path.partition("?")
    args = {k: v[0] for k, v in parse_qs(query).items()}
    if endpoint == "experiments/get" and args.get("experiment_id") in EXPERIMENTS:
        return {"experiment": EXPERIMENTS[args["experiment_id"]]}
    if endpoint == "experiments/get-by-name":
        found = [e for e in EXPERIMENTS.values() if e["name"] == args.get("experiment_name")]
        return {"experiment": found[0]} if found else None
    if endpoint == "runs/get" and args.get("run_id") in RUNS:
        return {"run": {"info": {"experiment_id": RUNS[args["run_id"]]}}}
    if endpoint == "registered-models/get" and args.get("name") in MODELS:
        return {"registered_model": {"name": args["name"], "tags": MODELS[args["name"]]}}
    if endpoint.startswith("logged-models/") and endpoint.split("/", 1)[1] in LOGGED_MODELS:
        return {"model": {"info": {"experiment_id": LOGGED_MODELS[endpoint.split("/", 1)[1]]}}}
    if endpoint in ("experiments/search", "registered-models/search"):  # two a page, to follow next_page_token
        items = [{"name": e["name"]} for e in EXPERIMENTS.values()] if endpoint.startswith("experiments") else \
            [{"name": name} for name in MODELS]
        start = int(args.get("page_token", 0))
        page = {"experiments" if endpoint.startswith("experiments") else "registered_models": items[start:start + 2]}
        return {**page, "next_page_token": str(start + 2)} if start + 2 < len(items) else page
    return None


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy(fetch, lambda: PILOTS)


def send(policy: Policy, who: Identity, method: str, path: str, body: dict | bytes | str | None = None,
         query: str = "", content_type: str | None = JSON) -> Forward:
    raw = body if isinstance(body, bytes | None) else (json.dumps(body) if isinstance(body, dict) else body).encode()
    return asyncio.run(policy.authorize(who, method, path, query, raw, content_type))


def refused(policy: Policy, *args, status: int | None = None, match: str | None = None, **kwargs) -> Denied:
    with pytest.raises(Denied) as caught:
        send(policy, *args, **kwargs)
    if status is not None:
        assert caught.value.status == status, caught.value.message
    if match is not None:
        assert re.search(match, caught.value.message), caught.value.message
    return caught.value


def forwarded(forward: Forward) -> dict:
    assert forward.content_type == JSON and forward.query == ""
    return json.loads(forward.body)


# --- the path ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "/api/2.0/mlflow/runs%2Flog-metric", "/api/2.0/mlflow/runs%2flog-metric", "/api/2.0/mlflow/runs/../runs/delete",
    "/api/2.0/mlflow/runs/%2e%2e/runs/delete", "/api/2.0/mlflow//runs/delete", "/api/2.0/mlflow/./runs/delete",
    "/api/2.0/mlflow/runs/delete//", "/api/2.0/mlflow/runs\\delete", "/api/2.0/mlflow/runs/delete%00",
    "/api/2.0/mlflow/runs/delete%5c", "/api/2.0/mlflow/runs/%ff", "api/2.0/mlflow/runs/delete",
])
def test_paths_two_readers_could_take_apart_are_refused(raw):
    with pytest.raises(Denied) as caught:
        canonical_path(raw)
    assert caught.value.status == 400 and "adres" in caught.value.message


def test_a_path_is_decoded_once_and_loses_one_trailing_slash():
    assert canonical_path("/api/2.0/mlflow/%72uns/delete/") == "/api/2.0/mlflow/runs/delete"
    assert canonical_path("/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/a%20b.txt") == \
        "/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/a b.txt"
    assert canonical_path("/") == "/"


@pytest.mark.parametrize("path", [f"{API}/runs/delete/", f"{API}/%72uns/delete", f"{AJAX}/runs/delete",
                                  f"{AJAX}/runs/delete/"])
def test_spellings_of_a_path_are_checked_as_the_route_they_reach(policy, path):
    refused(policy, MENEN, "POST", path, {"run_id": "rk"}, status=403, match="niet wijzigen")
    forward = send(policy, KORTRIJK, "POST", path, {"run_id": "rk"})
    assert forward.path == path.replace("%72", "r").rstrip("/")


def test_versions_and_prefixes_reach_only_routes_mlflow_has(policy):
    refused(policy, MENEN, "POST", "/api/3.0/mlflow/runs/delete", {"run_id": "rm"}, status=403, match="beheerders")
    refused(policy, MENEN, "POST", "/api/2.1/mlflow/runs/delete", {"run_id": "rm"}, status=403)
    refused(policy, MENEN, "POST", "/API/2.0/mlflow/runs/delete", {"run_id": "rm"}, status=403)


def test_every_templated_write_route_is_unambiguous():
    """A path with parameters matches exactly one route per method, or the policy could pick another than MLflow."""
    _, templated = route_table()
    for route in templated:
        sample = re.sub(r"\(\?P<\w+>[^)]*\)", "x1", route.pattern.pattern.strip("^$")).replace("\\", "")
        found = find_route(route.method, sample)
        assert found is not None and found[0] == route, (route, sample)


def test_only_artifact_uploads_stream_unread():
    assert not reads_body("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/f.bin")
    assert not reads_body("put", "/ajax-api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/f.bin")
    assert not reads_body("PUT", "/api/2.0/mlflow-artifacts/artifacts/1%2F..%2F2/f.bin")  # refused before the body
    assert reads_body("POST", f"{API}/runs/log-batch") and reads_body("GET", f"{API}/runs/get")
    assert reads_body("PUT", "/api/3.0/mlflow/scorers/online-config")


# --- the body ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "content_type"), [
    (json.dumps(json.dumps({"run_id": "rk"})), JSON),  # a JSON string: MLflow decodes it a second time
    ('[{"run_id": "rk"}]', JSON), ("7", JSON), ("null", JSON), ('{"run_id": "rk"', JSON),
    ("run_id=rk", "application/x-www-form-urlencoded"), ('{"run_id": "rk"}', "text/plain"),
    ('{"run_id": "rk"}', None), ('{"run_id": "rk"}', "multipart/form-data; boundary=x"),
    ('{"run_id": "rk"}', "application/json; charset=latin-1"), ('\ufeff{"run_id": "rk"}', JSON),
    ('{"run_id": "rk", "run_id": "rm"}', JSON), ('{"run_id": "rm", "run_id": "rk"}', JSON),
    ('{"run_id": "rm", "tags": [{"key": "a", "key": "b", "value": "c"}]}', JSON),
    ('{"run_id": "rm", "runId": "rk"}', JSON), ('{"runId": "rm", "run_id": "rk"}', JSON),
    ('{"run_id": "rm", "run_uuid": "rk"}', JSON), ('{"run_uuid": "rk", "runId": "rm"}', JSON),
    ('{"run_id": 5}', JSON), ('{"run_id": "rm", "key": "k", "value": NaN}', JSON),
    ('{"run_id": "rm", "tags": [{"key": "a", "value": "b", "Key": 1, "value": "c"}]}', JSON),
    (b"\xff\xfe{}", JSON),
])
def test_bodies_two_readers_could_take_apart_are_refused(policy, body, content_type):
    raw = body if isinstance(body, bytes) else body.encode()
    refused(policy, KORTRIJK, "POST", f"{API}/runs/log-metric", raw, content_type=content_type, status=400)


def test_nested_two_spellings_are_refused(policy):
    body = {"run_id": "rm", "metrics": [{"key": "k", "value": 1, "timestamp": 1, "runId": "x", "run_id": "y"}]}
    refused(policy, MENEN, "POST", f"{API}/runs/log-batch", body, status=400, match="schrijfwijze")


def test_one_spelling_is_canonicalised_and_checked(policy):
    for body in ({"runId": "rk"}, {"run_uuid": "rk"}, {"runUuid": "rk"}, {"run_id": "rk", "run_uuid": "rk"}):
        refused(policy, MENEN, "POST", f"{API}/runs/set-tag", {**body, "key": "k"}, status=403)
        assert forwarded(send(policy, KORTRIJK, "POST", f"{API}/runs/set-tag", {**body, "key": "k"})) == \
            {"run_id": "rk", "key": "k"}
    # DeleteRun has no run_uuid: MLflow ignores it, and so does the canonical body (nothing names a run)
    refused(policy, KORTRIJK, "POST", f"{API}/runs/delete", {"run_uuid": "rk"}, status=400, match="run_id")
    metric = forwarded(send(policy, KORTRIJK, "POST", f"{API}/runs/log-metric",
                            {"runId": "rk", "key": "k", "value": "NaN", "timestamp": "5", "junk": {"a": 1}}))
    assert metric == {"run_id": "rk", "key": "k", "value": "NaN", "timestamp": 5}


def test_a_query_string_on_a_write_is_refused(policy):
    refused(policy, MENEN, "POST", f"{API}/runs/delete", {"run_id": "rm"}, query="run_id=rk", status=400,
            match="body")
    refused(policy, KORTRIJK, "DELETE", f"{API}/registered-models/alias", b"", query="name=kortrijk-model&alias=a",
            status=400)
    refused(policy, MENEN, "PUT", "/api/2.0/mlflow-artifacts/artifacts/2/rm/artifacts/f.txt", None,
            query="path=1/rk/artifacts/f.txt", status=400)


def test_delete_forwards_its_canonical_body(policy):
    body = {"name": "kortrijk-model", "alias": "champion"}
    refused(policy, MENEN, "DELETE", f"{API}/registered-models/alias", body, status=403)
    assert forwarded(send(policy, KORTRIJK, "DELETE", f"{API}/registered-models/alias", body)) == body
    refused(policy, MENEN, "DELETE", f"{API}/registered-models/delete", b"", content_type=None, status=400,
            match="'name'")


def test_reads_pass_as_they_came_but_without_a_body(policy):
    assert send(policy, GALLERY, "GET", f"{API}/runs/get", None, query="run_id=rk") == \
        Forward(f"{API}/runs/get", query="run_id=rk")
    assert send(policy, MENEN, "GET", f"{API}/%72uns/get", b"", query="run_id=rk").path == f"{API}/%72uns/get"
    refused(policy, MENEN, "GET", f"{API}/runs/get", {"run_id": "rk"}, status=400, match="geen body")
    search = send(policy, GALLERY, "POST", f"{AJAX}/runs/search/", b'{"experiment_ids": ["1"]}', query="x=1")
    assert search == Forward(f"{AJAX}/runs/search")  # its body unchanged, no query


# --- path parameters, renames, new names ----------------------------------------------------------------

def test_a_path_parameter_and_a_body_field_name_one_resource(policy):
    refused(policy, MENEN, "PATCH", f"{API}/logged-models/m-m", {"model_id": "m-k", "status": 2}, status=400,
            match="adres")
    refused(policy, MENEN, "PATCH", f"{API}/logged-models/m-m", {"modelId": "m-k", "status": 2}, status=400)
    refused(policy, MENEN, "PATCH", f"{API}/logged-models/m-k", {"status": 2}, status=403)
    refused(policy, MENEN, "DELETE", f"{API}/logged-models/m-k/tags/t", None, status=403)
    finalize = forwarded(send(policy, MENEN, "PATCH", f"{API}/logged-models/m-m", {"status": "LOGGED_MODEL_READY"}))
    assert finalize == {"model_id": "m-m", "status": "LOGGED_MODEL_READY"}
    tag = forwarded(send(policy, MENEN, "DELETE", f"{AJAX}/logged-models/m-m/tags/t", {"tag_key": "t"}))
    assert tag == {"model_id": "m-m", "tag_key": "t"}


@pytest.mark.parametrize(("path", "body"), [
    (f"{API}/registered-models/rename", {"name": "menen-model", "new_name": "kennisbank"}),
    (f"{API}/registered-models/rename", {"name": "menen-model", "newName": "vragenrouter"}),
    (f"{API}/registered-models/rename", {"name": "menen-model", "new_name": "kortrijk-model"}),
    (f"{API}/registered-models/rename", {"name": "menen-model", "new_name": "kortrijk-verkenning"}),
    (f"{API}/experiments/update", {"experiment_id": "2", "new_name": "kennisbank"}),
    (f"{AJAX}/experiments/update", {"experimentId": "2", "newName": "vragenrouter"}),
    (f"{API}/experiments/create", {"name": "kennisbank"}),
    (f"{API}/experiments/create", {"name": "kortrijk-model"}),
    (f"{API}/registered-models/create", {"name": "kennisbank"}),
    (f"{API}/registered-models/create", {"name": "kortrijk-verkenning"}),
])
def test_new_names_that_belong_to_others_are_refused(policy, path, body):
    refused(policy, MENEN, "POST", path, body, status=403, match="hoort bij")


def test_free_new_names_pass_and_new_models_are_owned_by_the_creator(policy):
    assert forwarded(send(policy, MENEN, "POST", f"{API}/registered-models/rename",
                          {"name": "menen-model", "new_name": "menen-model-2"}))["new_name"] == "menen-model-2"
    created = forwarded(send(policy, MENEN, "POST", f"{API}/registered-models/create", {"name": "menen-nieuw", "tags": [
        {"key": "proeftuin.owner", "value": "kortrijk"}, {"key": "proeftuin.organisations", "value": "kortrijk"}]}))
    assert {t["key"]: t["value"] for t in created["tags"]} == {"proeftuin.owner": "menen",
                                                               "proeftuin.organisations": "menen"}
    assert send(policy, KORTRIJK, "POST", f"{API}/experiments/update",
                {"experiment_id": "1", "new_name": "kennisbank"}).path == f"{API}/experiments/update"


def test_tags_that_decide_rights_are_for_admins(policy):
    for path, body in ((f"{API}/experiments/set-experiment-tag", {"experiment_id": "2", "key": "proeftuin.owner",
                                                                  "value": "kortrijk"}),
                       (f"{API}/experiments/delete-experiment-tag", {"experiment_id": "2", "key": "proeftuin.owner"}),
                       (f"{API}/registered-models/set-tag", {"name": "menen-model", "key": "proeftuin.organisations",
                                                            "value": "menen,kortrijk"}),
                       (f"{API}/registered-models/delete-tag", {"name": "menen-model", "key": "proeftuin.owner"})):
        refused(policy, MENEN, "POST" if "delete-tag" not in path else "DELETE", path, body, status=403,
                match="beheerder")
        assert send(policy, ADMIN, "POST" if "delete-tag" not in path else "DELETE", path, body).body


def test_a_model_version_may_only_come_from_a_model_one_may_change(policy):
    path = f"{API}/model-versions/create"
    refused(policy, MENEN, "POST", path, {"name": "menen-model", "source": "models:/m-k", "model_id": "m-k"},
            status=403)
    refused(policy, MENEN, "POST", path, {"name": "menen-model", "source": "models:/kortrijk-model/1"}, status=403)
    refused(policy, MENEN, "POST", path, {"name": "menen-model", "source": "models:/kortrijk-model@champion"},
            status=403)
    refused(policy, MENEN, "POST", path, {"name": "kortrijk-model", "source": "models:/m-m", "model_id": "m-m"},
            status=403)
    mine = {"name": "menen-model", "source": "models:/m-m", "model_id": "m-m", "run_id": "rm"}
    assert forwarded(send(policy, MENEN, "POST", path, mine)) == mine


LOOK_ALIKES = [  # a pilot's slug (Menen is in neither pilot), another organisation's model or experiment
    "Kennisbank", "KENNISBANK", "kennisbank ", " kennisbank", "kennisbank\u00a0", "k\u0435nnisbank",  # Cyrillic е
    "kennisb\u0430nk", "\u041a\u0435nnisbank", "kennisb\u03b1nk",  # Cyrillic а, К; Greek α
    "\uff4b\uff45\uff4e\uff4e\uff49\uff53\uff42\uff41\uff4e\uff4b",  # full width
    "Vragenrouter", "vrag\u0435nr\u043euter", "Kortrijk-Model", "kortrijk-m\u043edel", "KORTRIJK-VERKENNING",
    "kortrijk-verkenning\u3000",
]
INVISIBLE = ["kennisbank\t", "kennisbank\u200b", "\ufeffkennisbank", "kennis\u200dbank", "kennisbank\n",
             "\u202ekennisbank", "menen-nieuw\u200b", "menen\u00adnieuw", "menen\x00", "menen\ue000"]


def new_name_writes(name: str) -> list[tuple[str, dict]]:
    return [(f"{API}/experiments/create", {"name": name}), (f"{API}/registered-models/create", {"name": name}),
            (f"{API}/registered-models/rename", {"name": "menen-model", "new_name": name}),
            (f"{AJAX}/experiments/update", {"experimentId": "2", "newName": name})]


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_names_that_look_like_a_pilot_or_another_organisations_name_are_refused(policy, name):
    for path, body in new_name_writes(name):
        refused(policy, MENEN, "POST", path, body, status=403, match="lijkt in MLflow op .*kies een duidelijk andere")


@pytest.mark.parametrize("name", INVISIBLE)
def test_names_with_invisible_or_control_characters_are_refused(policy, name):
    for who in (MENEN, ADMIN):
        for path, body in new_name_writes(name):
            refused(policy, who, "POST", path, body, status=400, match="onzichtbaar teken of stuurteken")


def test_look_alikes_of_a_pilot_are_refused_to_its_participants_too_but_not_its_own_name(policy):
    for path, body in ((f"{API}/experiments/create", {"name": "Kennisbank"}),
                       (f"{API}/registered-models/create", {"name": "kennisb\u0430nk"}),
                       (f"{API}/registered-models/rename", {"name": "kortrijk-model", "new_name": "Kennisbank "}),
                       (f"{API}/experiments/update", {"experiment_id": "1", "new_name": "KENNISBANK"})):
        refused(policy, KORTRIJK, "POST", path, body, status=403, match="gebruik precies 'kennisbank'")
    created = forwarded(send(policy, KORTRIJK, "POST", f"{API}/experiments/create", {"name": "kennisbank"}))
    assert created["name"] == "kennisbank"
    assert send(policy, ADMIN, "POST", f"{API}/registered-models/create", {"name": "Kennisbank"}).body  # admins may


def test_look_alikes_of_ones_own_names_and_distinct_names_pass(policy):
    for name in ("Menen-Model", "menen-m\u043edel", "kennisbank-menen", "kennis bank", "kennisbanken", "Menen Nieuw"):
        assert forwarded(send(policy, MENEN, "POST", f"{API}/registered-models/create", {"name": name}))["name"] == name
        assert forwarded(send(policy, MENEN, "POST", f"{API}/experiments/update",
                              {"experiment_id": "2", "new_name": name}))["new_name"] == name


@pytest.mark.parametrize(("path", "body"), [
    (f"{API}/logged-models", {"experiment_id": "2", "name": "m", "source_run_id": "rk"}),
    (f"{AJAX}/logged-models", {"experimentId": "2", "sourceRunId": "rk"}),
    (f"{API}/logged-models", {"experiment_id": "2", "source_run_id": "onbekend"}),
    (f"{API}/runs/outputs", {"run_id": "rm", "models": [{"model_id": "m-k", "step": 0}]}),
    (f"{API}/runs/outputs", {"run_id": "rm", "models": [{"model_id": "m-m"}, {"modelId": "m-k"}]}),
    (f"{API}/model-versions/create", {"name": "menen-model", "source": "models:/m-m", "model_id": "m-m",
                                      "run_id": "rk"}),
    (f"{API}/model-versions/create", {"name": "menen-model", "source": "runs:/rk/model", "runId": "rk"}),
])
def test_a_link_into_another_organisations_run_or_model_is_refused(policy, path, body):
    refused(policy, MENEN, "POST", path, body, status=403, match="niet wijzigen")


def test_links_into_ones_own_work_and_model_inputs_pass(policy):
    created = forwarded(send(policy, MENEN, "POST", f"{API}/logged-models",
                             {"experiment_id": "2", "name": "m", "source_run_id": "rm"}))
    assert created["source_run_id"] == "rm"
    assert forwarded(send(policy, KORTRIJK, "POST", f"{API}/logged-models",
                          {"experiment_id": "1", "source_run_id": "rk"}))["source_run_id"] == "rk"
    output = forwarded(send(policy, MENEN, "POST", f"{API}/runs/outputs",
                            {"run_id": "rm", "models": [{"model_id": "m-m", "step": 1}]}))
    assert output["models"] == [{"model_id": "m-m", "step": 1}]
    used = forwarded(send(policy, MENEN, "POST", f"{API}/runs/log-inputs",
                          {"run_id": "rm", "models": [{"model_id": "m-k"}]}))  # using a model is reading it
    assert used["models"] == [{"model_id": "m-k"}]
    assert forwarded(send(policy, ADMIN, "POST", f"{API}/logged-models", {"experiment_id": "2", "source_run_id": "rk"}))


def test_runs_carry_the_hubs_identity(policy):
    refused(policy, MENEN, "POST", f"{API}/runs/set-tag", {"run_id": "rm", "key": "proeftuin.user", "value": "kim"},
            status=403)
    refused(policy, MENEN, "POST", f"{API}/runs/log-batch",
            {"run_id": "rm", "tags": [{"key": "proeftuin.organisation", "value": "kortrijk"}]}, status=403)
    run = forwarded(send(policy, MENEN, "POST", f"{API}/runs/create",
                         {"experimentId": "2", "userId": "kim", "tags": [{"key": "mlflow.user", "value": "kim"}]}))
    assert run["user_id"] == "mo-menen" and {"key": "mlflow.user", "value": "mo-menen"} in run["tags"]


# --- graphql, artifacts, unknown routes, services ------------------------------------------------------

@pytest.mark.parametrize("query", [
    'mutation { mlflowSearchRuns(input: {experimentIds: ["1"]}) { totalCount } }',
    'query A { mlflowGetRun(input: {runId: "rk"}) { run { info { runId } } } } mutation B { testMutation }',
    "subscription { x }",
    "{ testMutation }  mutation { testMutation(inputString: \"x\") { output } }",
])
def test_graphql_only_reads(policy, query):
    refused(policy, MENEN, "POST", "/graphql", {"query": query}, status=403, match="alleen lezen")


@pytest.mark.parametrize("body", [
    {"query": "type Query { x: Int }"}, {"query": "{ x"}, {"query": 5}, {"query": "{ x }", "variables": "{}"},
    {"query": "{ x }", "operationName": ["A"]}, {},
])
def test_graphql_that_is_not_a_plain_query_is_refused(policy, body):
    refused(policy, MENEN, "POST", "/graphql", body, status=400)


def test_graphql_queries_pass_canonical(policy):
    query = 'query Q { mlflowGetRun(input: {runId: "rk"}) { run { info { runId } } } }'
    sent = {"query": query, "variables": {"a": 1}, "operationName": "Q", "extensions": {"persistedQuery": 1}}
    assert forwarded(send(policy, GALLERY, "POST", "/graphql/", sent)) == {
        "query": query, "variables": {"a": 1}, "operationName": "Q"}
    refused(policy, MENEN, "POST", "/graphql", b'{"query": "{ x }", "query": "mutation { y }"}', status=400)
    refused(policy, MENEN, "POST", "/graphql", json.dumps(json.dumps({"query": "{ x }"})), status=400)


@pytest.mark.parametrize("path", [
    "1/rk/artifacts/f.txt", "2%2F..%2F1/rk/artifacts/f.txt", "2/../1/rk/artifacts/f.txt", "2/rm/../../1/f.txt",
    "f.txt", "%31/rk/artifacts/f.txt",
])
def test_artifact_writes_are_decided_on_the_canonical_path(policy, path):
    for method, verb in (("PUT", "artifacts"), ("DELETE", "artifacts"), ("POST", "mpu/create"),
                         ("POST", "mpu/complete"), ("POST", "mpu/abort")):
        for prefix in ("/api/2.0", "/ajax-api/2.0"):
            body = None if method == "PUT" else {"path": "/home/mo/f.txt", "upload_id": "u", "parts": []}
            refused(policy, MENEN, method, f"{prefix}/mlflow-artifacts/{verb}/{path}", body)


def test_artifact_uploads_stream_to_the_canonical_path(policy):
    forward = send(policy, MENEN, "PUT", "/api/2.0/mlflow-artifacts/artifacts/2/rm/artifacts/a%20b%25.txt/", None)
    assert forward == Forward("/api/2.0/mlflow-artifacts/artifacts/2/rm/artifacts/a%20b%25.txt")
    upload = forwarded(send(policy, MENEN, "POST", "/api/2.0/mlflow-artifacts/mpu/create/2/rm/artifacts",
                            {"path": "/home/mo/f.bin", "num_parts": 2, "extra": 1}))
    assert upload == {"path": "/home/mo/f.bin", "num_parts": 2}
    for name in ("/home/mo/..", "", ".", "C:\\x\\..\\f"):
        refused(policy, MENEN, "POST", "/api/2.0/mlflow-artifacts/mpu/create/2/rm/artifacts", {"path": name},
                status=400)


@pytest.mark.parametrize(("method", "path"), [
    ("POST", f"{AJAX}/upload-artifact"), ("POST", f"{AJAX}/runs/create-promptlab-run"),
    ("POST", f"{AJAX}/gateway-proxy"), ("POST", f"{API}/webhooks"), ("POST", "/api/3.0/mlflow/traces"),
    ("POST", f"{API}/traces/delete-traces"), ("PATCH", "/api/3.0/mlflow/traces/t-1/tags"),
    ("POST", "/api/3.0/mlflow/datasets/create"), ("POST", f"{API}/artifacts/presigned-upload-url"),
    ("POST", "/api/3.0/mlflow/scorers/register"), ("PUT", "/api/3.0/mlflow/scorers/online-config"),
    ("POST", "/api/3.0/mlflow/workspaces"), ("POST", f"{API}/runs/get"), ("POST", "/v1/traces"),
    ("POST", "/ajax-api/3.0/mlflow/ui-telemetry"),
])
def test_writes_without_a_mapping_are_for_admins(policy, method, path):
    refused(policy, KORTRIJK, method, path, {"experiment_id": "1", "run_id": "rk"}, status=403, match="beheerders")
    assert send(policy, ADMIN, method, path, b"{}").path == path  # admins may, canonical where MLflow parses


def test_an_admin_gets_the_raw_request_only_where_mlflow_reads_no_message(policy):
    raw = send(policy, ADMIN, "POST", f"{AJAX}/upload-artifact", b"data", query="run_uuid=rk&path=f.txt",
               content_type="application/octet-stream")
    assert raw == Forward(f"{AJAX}/upload-artifact", query="run_uuid=rk&path=f.txt")
    traced = forwarded(send(policy, ADMIN, "POST", f"{API}/traces/delete-traces",
                            {"experiment_id": "1", "max_timestamp_millis": 5, "x": 1}))
    assert traced == {"experiment_id": "1", "max_timestamp_millis": 5}
    refused(policy, ADMIN, "POST", f"{API}/runs/delete", json.dumps(json.dumps({"run_id": "rk"})), status=400)


def test_a_service_reads_and_writes_nothing(policy):
    for path, body in ((f"{API}/experiments/create", {"name": "x"}), (f"{API}/runs/delete", {"run_id": "rk"}),
                       (f"{API}/registered-models/create", {"name": "galerij"}), (f"{AJAX}/webhooks", {})):
        refused(policy, GALLERY, "POST", path, body, status=403, match="alleen lezen")
    refused(policy, GALLERY, "PUT", "/api/2.0/mlflow-artifacts/artifacts/1/rk/artifacts/f", None, status=403)


def test_method_override_headers_are_named():
    assert {"x-http-method-override", "x-http-method", "x-method-override"} <= METHOD_OVERRIDE_HEADERS


def test_every_mapped_write_is_a_route_mlflow_serves():
    fixed, templated = route_table()
    endpoints = {r.endpoint for r in fixed.values()} | {r.endpoint for r in templated}
    assert set(WRITES) <= endpoints, set(WRITES) - endpoints
