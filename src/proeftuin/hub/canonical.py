"""MLflow's own routes, and the one reading of each MLflow request that the write policy decides on.

MLflow reads a request in its own ways (a JSON string body is decoded twice, a field has two spellings,
`run_uuid` stands in for `run_id`, percent-encoded slashes become path separators, a path parameter and a
body field can both name the resource). So the layer never forwards what it did not read. Each write is
parsed once into a canonical form (here), decided on that (`proeftuin.hub.permissions.Policy`), and exactly
that form is forwarded:

- the path is decoded once and normalised (no `..`, `.` or empty segments, no encoded slash, one
  trailing slash dropped), then matched against MLflow's own route table (`handlers.get_endpoints()`,
  built from its protobuf service definitions); a write matching no route, or a route the policy
  does not map to what it writes (`permissions.WRITES`), is for admins only;
- the body must be one JSON object (no string, array, form or text; no duplicated keys; not both
  spellings of a field; `run_uuid` only when it equals `run_id`; a field that is also a path parameter
  only with the path's value). It is parsed with the route's own protobuf message (MLflow's own
  `parse_dict`) and re-serialised with MLflow's `message_to_json`: unknown fields are dropped, and
  MLflow receives exactly the fields that were checked, as `application/json` without a query string
  (a query string on a write is refused: MLflow reads the body, so it would be a second reading);
- graphql: only documents whose every operation is a query, forwarded as canonical JSON;
- artifact uploads (PUT) are decided on the canonical path alone, so their body streams unchanged;
- method-override headers are dropped from every request (METHOD_OVERRIDE_HEADERS, by the layer).

The policy's own rules (who may write what, reads, searches) are described in `proeftuin.hub.permissions`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import unquote

METHOD_OVERRIDE_HEADERS = frozenset({"x-http-method-override", "x-http-method", "x-method-override"})
JSON = "application/json"
LEGACY_TWINS = {"run_uuid": "run_id"}  # MLflow reads `run_id or run_uuid`
# Served by MLflow's Flask app but missing from get_endpoints() (its entry there lacks a slash).
EXTRA_ROUTES = [("/ajax-api/2.0/mlflow/experiments/search-datasets", None, ["POST"])]
API_PREFIX = re.compile(r"^/(?:ajax-)?api/\d+\.\d+/")

BAD_PATH = ("Dit adres kan de Proeftuin niet eenduidig lezen ({why}). Gebruik het gewone MLflow-adres, zonder "
            "gecodeerde tekens, '..' of dubbele '/'.")
NOT_JSON = ("Stuur de gegevens van een MLflow-wijziging als één JSON-object met Content-Type: application/json "
            "(geen tekst, lijst, formulier of JSON in een tekenreeks).")


class Denied(Exception):
    """A refusal: `message` (Dutch, says what to do) for the user, `reason` for the log (never the body)."""

    def __init__(self, message: str, status: int = 403, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason or message


# --- MLflow's own routes --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    method: str
    endpoint: str  # below /api|ajax-api/<version>/, e.g. "mlflow/runs/log-metric"; "graphql"
    message: type | None  # the request's protobuf message; None: a route MLflow does not parse with one
    pattern: re.Pattern | None = None  # for a path with parameters (<model_id>, <path:artifact_path>)


@cache
def route_table() -> tuple[dict[tuple[str, str], Route], tuple[Route, ...]]:
    """(method, path) -> route for fixed paths, and the routes with path parameters, as MLflow registers
    them. Loaded once (importing MLflow's handlers takes a few seconds)."""
    from google.protobuf.message import Message
    from mlflow.server.handlers import STATIC_PREFIX_ENV_VAR, get_endpoints

    prefix = os.environ.get(STATIC_PREFIX_ENV_VAR, "").rstrip("/")
    fixed: dict[tuple[str, str], Route] = {}
    templated: list[Route] = []
    for path, target, methods in [*get_endpoints(get_handler=lambda message: message), *EXTRA_ROUTES]:
        path = path[len(prefix):] if prefix and path.startswith(prefix + "/") else path
        message = target if isinstance(target, type) and issubclass(target, Message) else None
        endpoint = API_PREFIX.sub("", path).lstrip("/")
        for method in methods:
            if "<" in path:
                templated.append(Route(method, endpoint, message, _pattern(path)))
            else:
                fixed.setdefault((method, path), Route(method, endpoint, message))
    return fixed, tuple(templated)


def _pattern(template: str) -> re.Pattern:
    def group(match: re.Match) -> str:
        return f"(?P<{match[2]}>{'.+' if match[1] == 'path' else '[^/]+'})"

    return re.compile("^" + re.sub(r"<(?:(\w+):)?(\w+)>", group, re.escape(template)) + "$")


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route MLflow serves `path` (canonical) with, and its path parameters; None: no route, or more
    than one that could (we do not guess which MLflow picks)."""
    fixed, templated = route_table()
    if (route := fixed.get((method, path))) is not None:
        return route, {}
    found = [(r, m.groupdict()) for r in templated if r.method == method and (m := r.pattern.match(path))]
    return found[0] if len(found) == 1 else None


# --- reading a request once -----------------------------------------------------------------------------

def canonical_path(raw: str) -> str:
    """The path decoded once, as MLflow will route it; refuses what two readers could take apart."""
    if re.search(r"%(?:2f|5c|00)", raw, re.IGNORECASE):
        raise Denied(BAD_PATH.format(why="een gecodeerde '/'"), 400, "encoded slash in path")
    try:
        path = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise Denied(BAD_PATH.format(why="geen geldige UTF-8"), 400, "path is not UTF-8") from None
    if "\\" in path or any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise Denied(BAD_PATH.format(why="een '\\' of stuurteken"), 400, "backslash or control character in path")
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    if not path.startswith("/") or path != "/" and any(part in ("", ".", "..") for part in path[1:].split("/")):
        raise Denied(BAD_PATH.format(why="'..', '.' of een leeg deel"), 400, "dot or empty segment in path")
    return path


def json_object(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The body as one JSON object (empty: {}), read once: duplicated keys and anything else are refused."""
    if not raw.strip():
        return {}
    media, _, parameters = (content_type or "").partition(";")
    charset = re.search(r"charset=\"?([\w-]+)", parameters, re.IGNORECASE)
    if media.strip().lower() != JSON or (charset and charset[1].lower() not in ("utf-8", "utf8")):
        raise Denied(NOT_JSON, 400, f"body is not JSON (content type {media.strip() or 'missing'})")
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Denied(NOT_JSON, 400, "body does not parse as JSON") from None
    if not isinstance(value, dict):
        raise Denied(NOT_JSON, 400, f"body is a JSON {type(value).__name__}, not an object")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        key = next(k for i, (k, _) in enumerate(pairs) if k in dict(pairs[:i]))
        raise Denied(f"Het veld '{key}' staat twee keer in de JSON; stuur elk veld één keer.", 400,
                     f"duplicated key {key!r}")
    return value


def canonical_fields(route: Route, params: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """The body as MLflow's handler will read it: parsed with the route's protobuf message, re-serialised with
    MLflow's own `message_to_json` (snake_case names, unknown fields gone)."""
    from google.protobuf.json_format import ParseError
    from mlflow.utils.proto_json_utils import message_to_json, parse_dict

    message = route.message()
    descriptor = message.DESCRIPTOR
    _refuse_two_spellings(body, descriptor)
    body = dict(body)
    for legacy, current in LEGACY_TWINS.items():
        if legacy in descriptor.fields_by_name and current in descriptor.fields_by_name:
            old, new = _pop(body, descriptor.fields_by_name[legacy]), _pop(body, descriptor.fields_by_name[current])
            if old is not None and new is not None and old != new:
                raise Denied(f"'{legacy}' en '{current}' verschillen; stuur alleen '{current}'.", 400,
                             f"{legacy} differs from {current}")
            if (value := new if new is not None else old) is not None:
                body[current] = value
    for name, value in params.items():
        if name in descriptor.fields_by_name:
            given = _pop(body, descriptor.fields_by_name[name])
            if given is not None and given != value:
                raise Denied(f"'{name}' in de body verschilt van het adres; laat het weg uit de body.", 400,
                             f"body {name} differs from the path")
            body[name] = value
    try:
        parse_dict(body, message)
    except ParseError:
        raise Denied(f"De gegevens passen niet bij deze MLflow-opdracht ({descriptor.name}): controleer de "
                     "veldnamen en hun types.", 400, f"body does not parse as {descriptor.name}") from None
    return json.loads(message_to_json(message, pretty=False))


def _refuse_two_spellings(value: Any, descriptor: Any) -> None:
    """protobuf accepts `run_id` and `runId` and lets the later one win: a body with both is ambiguous."""
    if not isinstance(value, dict):
        return
    for f in descriptor.fields:
        if f.name != f.json_name and f.name in value and f.json_name in value:
            raise Denied(f"Het veld '{f.name}' staat er ook als '{f.json_name}'; gebruik één schrijfwijze.", 400,
                         f"both {f.name} and {f.json_name}")
        nested = f.message_type
        if nested is None or nested.GetOptions().map_entry or nested.full_name.startswith("google.protobuf."):
            continue
        inner = value.get(f.name, value.get(f.json_name))
        for item in inner if isinstance(inner, list) else [inner]:
            _refuse_two_spellings(item, nested)


def _pop(body: dict[str, Any], f: Any) -> Any:
    value = body.pop(f.name, None)
    json_value = body.pop(f.json_name, None)
    return value if value is not None else json_value


def graphql_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Only queries: MLflow executes the document it is sent, so every operation in it must read."""
    from graphql import FragmentDefinitionNode, GraphQLError, OperationDefinitionNode, OperationType, parse

    query, variables, name = body.get("query"), body.get("variables"), body.get("operationName")
    if not isinstance(query, str) or not isinstance(variables, dict | None) or not isinstance(name, str | None):
        raise Denied("Stuur GraphQL als {\"query\": \"...\", \"variables\": {...}}.", 400, "malformed graphql body")
    try:
        definitions = parse(query).definitions
    except GraphQLError:
        raise Denied("Deze GraphQL-opdracht is niet leesbaar; controleer de query.", 400,
                     "graphql does not parse") from None
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if not operations or any(not isinstance(d, OperationDefinitionNode | FragmentDefinitionNode) for d in definitions):
        raise Denied("Stuur in GraphQL alleen query's (en fragmenten).", 400, "graphql without a plain query")
    if any(op.operation != OperationType.QUERY for op in operations):
        raise Denied("Via GraphQL kan je in de Proeftuin alleen lezen (query); wijzig via de MLflow-API.",
                     reason="graphql mutation or subscription")
    return {"query": query, "variables": variables, "operationName": name}


def check_multipart_path(fields: dict[str, Any]) -> None:
    """A multipart upload stores the file under the URL's path, named after the last part of `path`."""
    name = str(fields.get("path", "")).rsplit("/", 1)[-1]
    if name in ("", ".", "..") or "\\" in name:
        raise Denied("Een meerdelige upload heeft een gewone bestandsnaam nodig in 'path'.", 400,
                     "multipart path has no plain file name")

