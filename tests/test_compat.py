"""Compatibility safety net for the module move of issue 15 (src/proeftuin/ into packages).

Written against the layout of commit 266fccd, the last one before the move, and meant to pass unchanged after it:

1. Models logged by that code (tests/data/legacy_models/, made by its make_fixtures.py) still load with
   `mlflow.pyfunc.load_model` in a new process without pickle, and predict what they predicted then.
2. Every module of src/proeftuin/ then, and every (module, name) that code outside src imported or named as a
   dotted string then, still imports (the old paths are kept by the alias table). The lists are hard-coded on
   purpose: they name the OLD paths, so they must not be regenerated from the new layout.
3. `proeftuin ... --help` prints the same texts (tests/data/help/, see regenerate.py there) for the same commands.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import skops.io

import proeftuin

DATA = Path(__file__).resolve().parent / "data"
LEGACY_MODELS = DATA / "legacy_models"
HELP_DIR = DATA / "help"
FIXTURES = ("text_router", "retriever", "scenario", "survey")
#: Scores are shown rounded (4 decimals, euro cents, 1 decimal for area scores): equal within a thousandth.
TOLERANCE = 1e-3
MARKER = "PREDICTIONS:"

# Every module in src/proeftuin/ at 266fccd (all *.py; the compiled scrubber _privacy_native* left out).
LEGACY_MODULES = [
    "proeftuin",
    "proeftuin.cli",
    "proeftuin.cli_docs",
    "proeftuin.cli_hub",
    "proeftuin.cli_ideas",
    "proeftuin.cli_privacy",
    "proeftuin.cli_templates",
    "proeftuin.data",
    "proeftuin.errors",
    "proeftuin.feedback",
    "proeftuin.gallery",
    "proeftuin.hub",
    "proeftuin.hub_auth",
    "proeftuin.hub_forkserver",
    "proeftuin.hub_kernel",
    "proeftuin.hub_limits",
    "proeftuin.hub_permissions",
    "proeftuin.hub_platform",
    "proeftuin.hub_portal",
    "proeftuin.hub_process",
    "proeftuin.hub_proxy",
    "proeftuin.hub_seed",
    "proeftuin.hub_services",
    "proeftuin.hub_spawner",
    "proeftuin.ideas",
    "proeftuin.mlflow_models",
    "proeftuin.mlflow_models.retrieval",
    "proeftuin.mlflow_models.scenario",
    "proeftuin.mlflow_models.survey",
    "proeftuin.mlflow_models.text_router",
    "proeftuin.modelcard",
    "proeftuin.models",
    "proeftuin.native",
    "proeftuin.pilot",
    "proeftuin.plots",
    "proeftuin.privacy",
    "proeftuin.retrieval",
    "proeftuin.runs",
    "proeftuin.scenario",
    "proeftuin.services",
    "proeftuin.settings",
    "proeftuin.site",
    "proeftuin.site_hooks",
    "proeftuin.site_watch",
    "proeftuin.survey",
    "proeftuin.templates",
    "proeftuin.text",
    "proeftuin.textclf",
    "proeftuin.tracking",
    "proeftuin.wording",
]

# Every public (module, name) that code outside src imported at 266fccd (`from proeftuin... import ...` in pilots/,
# templates/ (.jinja, .ipynb), the pilots' .template-base.json, docs/, bench/, tests/, hub_config/) or named as a
# dotted string there or in src (JupyterHub classes, jinja extension, skops allow-list, monkeypatch targets),
# plus the `proeftuin.cli:main` entry point and the IPython extension hook of `proeftuin.hub_kernel`.
# 161 pairs, sorted; private names (`_...`) left out.
LEGACY_NAMES = [
    ("proeftuin", "hub_limits"),
    ("proeftuin", "native"),
    ("proeftuin", "privacy"),
    ("proeftuin", "site"),
    ("proeftuin", "tracking"),
    ("proeftuin", "wording"),
    ("proeftuin.cli", "cli"),
    ("proeftuin.cli", "main"),
    ("proeftuin.cli_privacy", "scrub"),
    ("proeftuin.data", "drop_empty"),
    ("proeftuin.data", "read_table"),
    ("proeftuin.errors", "ConfigError"),
    ("proeftuin.errors", "DataError"),
    ("proeftuin.errors", "ManifestError"),
    ("proeftuin.errors", "ProeftuinError"),
    ("proeftuin.hub", "GALLERY_ACCOUNT"),
    ("proeftuin.hub", "HUB_CONFIG_FILE"),
    ("proeftuin.hub", "HubContext"),
    ("proeftuin.hub", "SERVICE_ACCOUNT"),
    ("proeftuin.hub", "apply_config"),
    ("proeftuin.hub", "ensure_admin_password"),
    ("proeftuin.hub", "ensure_hub_state"),
    ("proeftuin.hub", "isolation"),
    ("proeftuin.hub", "load_config_d"),
    ("proeftuin.hub", "update_auth"),
    ("proeftuin.hub", "update_base"),
    ("proeftuin.hub", "update_limits"),
    ("proeftuin.hub", "update_services"),
    ("proeftuin.hub", "update_spawner"),
    ("proeftuin.hub_auth", "ProeftuinNativeAuthenticator"),
    ("proeftuin.hub_auth", "ProeftuinOIDCAuthenticator"),
    ("proeftuin.hub_forkserver", "ForkServerError"),
    ("proeftuin.hub_forkserver", "KEEP_ENV"),
    ("proeftuin.hub_forkserver", "clean_environment"),
    ("proeftuin.hub_forkserver", "command_for"),
    ("proeftuin.hub_forkserver", "spawn"),
    ("proeftuin.hub_kernel", "EXTENSION_ARG"),
    ("proeftuin.hub_kernel", "ProeftuinKernelSpecManager"),
    ("proeftuin.hub_kernel", "load_ipython_extension"),
    ("proeftuin.hub_limits", "Cgroup"),
    ("proeftuin.hub_limits", "GiB"),
    ("proeftuin.hub_limits", "Machine"),
    ("proeftuin.hub_limits", "MiB"),
    ("proeftuin.hub_limits", "Plan"),
    ("proeftuin.hub_permissions", "Denied"),
    ("proeftuin.hub_permissions", "Forward"),
    ("proeftuin.hub_permissions", "Identity"),
    ("proeftuin.hub_permissions", "METHOD_OVERRIDE_HEADERS"),
    ("proeftuin.hub_permissions", "Policy"),
    ("proeftuin.hub_permissions", "WRITES"),
    ("proeftuin.hub_permissions", "canonical_path"),
    ("proeftuin.hub_permissions", "find_route"),
    ("proeftuin.hub_permissions", "reads_body"),
    ("proeftuin.hub_permissions", "route_table"),
    ("proeftuin.hub_portal", "DutchPages"),
    ("proeftuin.hub_process", "Proc"),
    ("proeftuin.hub_process", "UpRecord"),
    ("proeftuin.hub_process", "alive"),
    ("proeftuin.hub_process", "describe"),
    ("proeftuin.hub_process", "leftovers"),
    ("proeftuin.hub_process", "stop_processes"),
    ("proeftuin.hub_process", "tree"),
    ("proeftuin.hub_spawner", "ProeftuinSpawner"),
    ("proeftuin.ideas", "Idea"),
    ("proeftuin.ideas", "IdeaError"),
    ("proeftuin.ideas", "IdeaStore"),
    ("proeftuin.ideas", "ideas_path"),
    ("proeftuin.models", "TextRouterModel"),
    ("proeftuin.models", "load_estimator"),
    ("proeftuin.models", "load_model"),
    ("proeftuin.models", "log_retriever"),
    ("proeftuin.models", "save_estimator"),
    ("proeftuin.pilot", "BrokenPilot"),
    ("proeftuin.pilot", "Pilot"),
    ("proeftuin.pilot", "Theme"),
    ("proeftuin.pilot", "discover_pilots"),
    ("proeftuin.pilot", "find_pilot"),
    ("proeftuin.pilot", "import_file"),
    ("proeftuin.pilot", "load_pilot"),
    ("proeftuin.privacy", "PurePythonScrubber"),
    ("proeftuin.privacy", "Scrubber"),
    ("proeftuin.privacy", "TAGS"),
    ("proeftuin.privacy", "default_lexicon"),
    ("proeftuin.privacy", "scrub_frame"),
    ("proeftuin.privacy", "scrub_text"),
    ("proeftuin.retrieval", "AI_NOTICE"),
    ("proeftuin.retrieval", "Encoder"),
    ("proeftuin.retrieval", "RetrievalConfig"),
    ("proeftuin.retrieval", "Retriever"),
    ("proeftuin.retrieval", "lessons_documents"),
    ("proeftuin.retrieval", "retrieval_metrics"),
    ("proeftuin.runs", "load_pilot_data"),
    ("proeftuin.runs", "split"),
    ("proeftuin.scenario", "AdoptionCurve"),
    ("proeftuin.scenario", "ScenarioModel"),
    ("proeftuin.scenario", "TOTAL"),
    ("proeftuin.scenario", "adoption_forecast_figure"),
    ("proeftuin.scenario", "forecast_metrics"),
    ("proeftuin.scenario", "read_adoption"),
    ("proeftuin.scenario", "read_units"),
    ("proeftuin.scenario", "read_volumes"),
    ("proeftuin.scenario", "scenario_curve_figure"),
    ("proeftuin.services", "ensure_port_free"),
    ("proeftuin.services", "free_port"),
    ("proeftuin.services", "mlflow_server_command"),
    ("proeftuin.services", "wait_for_url"),
    ("proeftuin.services", "wait_until_healthy"),
    ("proeftuin.settings", "get_settings"),
    ("proeftuin.settings", "load_settings"),
    ("proeftuin.site", "STAGES"),
    ("proeftuin.site", "build_site"),
    ("proeftuin.site", "collect_site"),
    ("proeftuin.site", "number"),
    ("proeftuin.site", "sanitize_html"),
    ("proeftuin.site", "site_server"),
    ("proeftuin.site", "text"),
    ("proeftuin.site_watch", "Watcher"),
    ("proeftuin.site_watch", "build_atomically"),
    ("proeftuin.site_watch", "fingerprint"),
    ("proeftuin.site_watch", "mlflow_ready"),
    ("proeftuin.site_watch", "served_dir"),
    ("proeftuin.site_watch", "what_changed"),
    ("proeftuin.survey", "AREAS"),
    ("proeftuin.survey", "GROUPS"),
    ("proeftuin.survey", "ITEMS"),
    ("proeftuin.survey", "ITEMS_PER_AREA"),
    ("proeftuin.survey", "MIN_GROUP"),
    ("proeftuin.survey", "SurveyProfiler"),
    ("proeftuin.survey", "aggregate"),
    ("proeftuin.survey", "area_scores"),
    ("proeftuin.survey", "check_answers"),
    ("proeftuin.survey", "fit_level_bands"),
    ("proeftuin.survey", "fit_profiles"),
    ("proeftuin.survey", "generate_respondents"),
    ("proeftuin.survey", "profile_figure"),
    ("proeftuin.survey", "profile_metrics"),
    ("proeftuin.templates", "merge3"),
    ("proeftuin.textclf", "ROUTE_AUTO"),
    ("proeftuin.textclf", "ROUTE_PERSON"),
    ("proeftuin.textclf", "ROUTE_SKIPPED"),
    ("proeftuin.textclf", "TextRouter"),
    ("proeftuin.textclf", "column_major_weights"),
    ("proeftuin.textclf", "duplicate_weights"),
    ("proeftuin.textclf", "emphasise_title"),
    ("proeftuin.textclf", "routing_metrics"),
    ("proeftuin.wording", "count"),
    ("proeftuin.wording", "date"),
    ("proeftuin.wording", "describe"),
    ("proeftuin.wording", "difference"),
    ("proeftuin.wording", "euro"),
    ("proeftuin.wording", "in_words"),
    ("proeftuin.wording", "metric"),
    ("proeftuin.wording", "metric_label"),
    ("proeftuin.wording", "number"),
    ("proeftuin.wording", "out_of_100"),
    ("proeftuin.wording", "percent"),
    ("proeftuin.wording", "ratio"),
    ("proeftuin.wording", "technical"),
    ("proeftuin.wording", "value"),
    ("proeftuin.wording", "versus_baseline"),
]

# Modules run with `python -m` at 266fccd (src, Makefile, docs, tests, bench).
RUNNABLE_MODULES = [
    "proeftuin.cli",
    "proeftuin.hub_forkserver",
    "proeftuin.hub_proxy",
    "proeftuin.hub_services",
    "proeftuin.native",
]


def _code_path() -> str:
    """The folder the imported `proeftuin` comes from, so child processes run the code this test runs."""
    return str(Path(proeftuin.__file__).resolve().parents[1])


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(MLFLOW_ALLOW_PICKLE_DESERIALIZATION="false", HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore",
               PYTHONPATH=os.pathsep.join(filter(None, [_code_path(), os.environ.get("PYTHONPATH", "")])))
    return env


# -- 1. models logged before the move --------------------------------------------------------------------------

PREDICT = f"""
import json, sys
import mlflow.pyfunc
import pandas as pd

import proeftuin

print("PROEFTUIN:" + proeftuin.__file__)
model = mlflow.pyfunc.load_model(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as handle:
    frame = pd.DataFrame.from_records(json.load(handle))
out = model.predict(frame)
print({MARKER!r} + out.to_json(orient="records", force_ascii=False, double_precision=15))
"""


def _plain(value):
    return None if isinstance(value, float) and math.isnan(value) else value


def assert_same_predictions(actual: list[dict], expected: list[dict]) -> None:
    assert len(actual) == len(expected)
    for number, (got, want) in enumerate(zip(actual, expected, strict=True)):
        assert list(got) == list(want), f"row {number}: other columns"
        for key, value in want.items():
            seen = _plain(got[key])
            if isinstance(value, bool) or not isinstance(value, int | float):
                assert seen == value, f"row {number}, {key}: {seen!r} != {value!r}"
            else:
                assert isinstance(seen, int | float), f"row {number}, {key}: {seen!r} is not a number"
                assert seen == pytest.approx(value, abs=TOLERANCE), f"row {number}, {key}: {seen} != {value}"


@pytest.mark.parametrize("name", FIXTURES)
def test_legacy_model_loads_and_predicts_the_same_in_a_new_process(name: str, tmp_path: Path):
    fixture = LEGACY_MODELS / name
    model = shutil.copytree(fixture / "model", tmp_path / "model")  # a copy: the fixture stays untouched
    done = subprocess.run([sys.executable, "-c", PREDICT, str(model), str(fixture / "input.json")], cwd=tmp_path,
                          env=_child_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    imported = [line.removeprefix("PROEFTUIN:") for line in done.stdout.splitlines() if line.startswith("PROEFTUIN:")]
    assert imported and Path(imported[0]).resolve().is_relative_to(_code_path()), imported  # the code under test
    actual = json.loads(lines[-1][len(MARKER):])
    expected = json.loads((fixture / "expected.json").read_text(encoding="utf-8"))
    assert_same_predictions(actual, expected)


def test_legacy_fixtures_are_small_and_complete():
    for name in FIXTURES:
        for part in ("model/MLmodel", "input.json", "expected.json"):
            assert (LEGACY_MODELS / name / part).is_file(), f"{name}/{part}"
    size = sum(f.stat().st_size for f in LEGACY_MODELS.rglob("*") if f.is_file())
    assert size < 3_000_000


def test_legacy_text_router_skops_file_passes_the_allow_list():
    from proeftuin.models import load_estimator

    path = LEGACY_MODELS / "text_router" / "model" / "artifacts" / "estimator.skops"
    untrusted = skops.io.get_untrusted_types(file=path)
    assert "proeftuin.textclf.emphasise_title" in untrusted  # the old path, as stored in the file
    estimator = load_estimator(path)
    words = estimator.named_steps["features"].transformer_list[0][1]
    assert words.preprocessor is importlib.import_module("proeftuin.textclf").emphasise_title
    expected = json.loads((LEGACY_MODELS / "text_router" / "expected.json").read_text(encoding="utf-8"))
    assert {row["label_1"] for row in expected if row["label_1"]} <= set(estimator.classes_)


# -- 2. old import paths ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", LEGACY_MODULES)
def test_legacy_module_imports(module: str):
    imported = importlib.import_module(module)
    # one module object per name: a monkeypatch through the old name reaches the code that runs
    assert sys.modules[module] is imported


@pytest.mark.parametrize(("module", "name"), LEGACY_NAMES, ids=[f"{m}:{n}" for m, n in LEGACY_NAMES])
def test_legacy_name_imports(module: str, name: str):
    imported = importlib.import_module(module)
    # `from package import submodule` imports a submodule that is not an attribute yet (and then makes it one).
    if not hasattr(imported, name) and hasattr(imported, "__path__") \
            and importlib.util.find_spec(f"{module}.{name}") is not None:
        importlib.import_module(f"{module}.{name}")
    assert hasattr(imported, name), f"from {module} import {name}"


def test_legacy_lists_are_sorted_and_public():
    assert LEGACY_NAMES == sorted(set(LEGACY_NAMES))
    assert LEGACY_MODULES == sorted(set(LEGACY_MODULES))
    assert not [pair for pair in LEGACY_NAMES if pair[1].startswith("_")]


RUNPY_PROBE = """
import importlib.util, sys
module = sys.argv[1]
spec = importlib.util.find_spec(module)
assert spec is not None, module
name = module
if spec.submodule_search_locations is not None:
    name = f"{module}.__main__"
    spec = importlib.util.find_spec(name)
    assert spec is not None, f"{module} is a package without __main__"
get_code = getattr(spec.loader, "get_code", None)
assert get_code is not None, f"{module}: its loader {spec.loader!r} has no get_code (runpy needs it)"
assert get_code(name) is not None, f"{module}: no code to run"
"""


@pytest.mark.parametrize("module", RUNNABLE_MODULES)
def test_legacy_module_runs_with_python_m(module: str, tmp_path: Path):
    """What runpy needs for `python -m module` in a new process (as a user types it): a spec (of
    `module.__main__` when the module became a package) whose loader gives the code for that name. Nothing is
    run: some of these start servers."""
    done = subprocess.run([sys.executable, "-c", RUNPY_PROBE, module], cwd=tmp_path, env=_child_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize(("args", "code", "expected"), [
    (["-m", "proeftuin.cli", "--help"], 0, "Usage: proeftuin"),
    (["-m", "proeftuin.native", "--help"], 0, "python -m proeftuin.native"),
    # the old name runs the moved module, which names itself by its new name
    (["-m", "proeftuin.hub_forkserver"], 1, "gebruik: python -m proeftuin.hub.forkserver"),
], ids=["cli", "native", "hub_forkserver"])
def test_legacy_python_m_in_a_new_process(args: list[str], code: int, expected: str, tmp_path: Path):
    done = subprocess.run([sys.executable, *args], cwd=tmp_path, env={**_child_env(), "COLUMNS": "100"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stderr[-3000:]
    assert expected in done.stdout + done.stderr


# -- 3. --help snapshots ---------------------------------------------------------------------------------------

def _regenerate():
    spec = importlib.util.spec_from_file_location("proeftuin_help_regenerate", HELP_DIR / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SNAPSHOT_FILES = sorted(p.name for p in HELP_DIR.glob("proeftuin*.txt"))


@pytest.fixture(scope="module")
def help_texts() -> dict[str, str]:
    return _regenerate().snapshots()


def test_help_commands_equal_the_snapshot_files(help_texts: dict[str, str]):
    assert SNAPSHOT_FILES, "no snapshots: run tests/data/help/regenerate.py"
    assert sorted(help_texts) == SNAPSHOT_FILES


@pytest.mark.parametrize("filename", SNAPSHOT_FILES)
def test_help_text_equals_its_snapshot(filename: str, help_texts: dict[str, str]):
    assert filename in help_texts, f"{filename}: the command is gone"
    assert help_texts[filename] == (HELP_DIR / filename).read_text(encoding="utf-8")
