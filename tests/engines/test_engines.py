"""The engine registry: built-in engines, an added one that round-trips through MLflow, and `predict` per engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing
from importlib.metadata import EntryPoint
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from conftest import PILOTS, ROOT

from proeftuin import tracking
from proeftuin.engines import registry
from proeftuin.errors import ProeftuinError
from proeftuin.models import ENGINE_KEY, load_model, log_model, native
from proeftuin.pilot import Manifest
from proeftuin.settings import get_settings, load_settings

BUILT_IN = {"classification": "textclf", "retrieval": "retrieval", "scenario": "scenario", "clustering": "survey"}

# A fifth engine, as another package would ship it: a module and an entry point in its metadata.
PLUGIN = '''
"""A tiny engine: multiplies the column x by a factor (stored as JSON) and adds an offset (the model config)."""
import json
from pathlib import Path

import pandas as pd

from proeftuin.engines.registry import Engine


class Multiplier:
    def __init__(self, factor, offset=0.0):
        self.factor, self.offset = factor, offset

    def predict(self, frame):
        return pd.DataFrame({"y": frame["x"].astype(float) * self.factor + self.offset})


def save(model, folder):
    path = folder / "factor.json"
    path.write_text(json.dumps({"factor": model.factor}), encoding="utf-8")
    return {"factor": str(path)}


def load(artifacts, config):
    return Multiplier(json.loads(Path(artifacts["factor"]).read_text(encoding="utf-8"))["factor"], **config)


ENGINE = Engine(name="multiplier", task="multiplying", model_type=Multiplier, save=save, load=load,
                config=lambda model: {"offset": model.offset},
                signature_example=lambda model, test: test[["x"]].head(2))
'''
ENTRY_POINT = EntryPoint("multiplying", "tiny_engine:ENGINE", registry.GROUP)

PREDICT = """
import json, sys
import mlflow, pandas as pd
from proeftuin.models import native

mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.pyfunc.load_model(sys.argv[2])
out = model.predict(pd.DataFrame({"x": [1.0, 2.5]}))
print(json.dumps({"native": type(native(model)).__name__, "y": out["y"].tolist()}))
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny engine installed in a folder (module + dist-info with its entry point); the registry restored after."""
    folder = tmp_path / "plugin"
    info = folder / "proeftuin_tiny-0.1.dist-info"
    info.mkdir(parents=True)
    (folder / "tiny_engine.py").write_text(PLUGIN, encoding="utf-8")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: proeftuin-tiny\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[{registry.GROUP}]\nmultiplying = tiny_engine:ENGINE\n",
                                           encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    for name in ("_entry_points", "_engines"):
        monkeypatch.setattr(registry, name, dict(getattr(registry, name)))
    monkeypatch.setattr(registry, "_discovered", registry._discovered)
    yield folder
    sys.modules.pop("tiny_engine", None)


def test_the_four_built_in_engines_are_registered():
    assert {e.task: e.name for e in registry.engines()} == BUILT_IN
    assert [entry.name for entry in registry.DEFAULT_ENGINES] == list(BUILT_IN)
    for task, name in BUILT_IN.items():
        assert registry.engine_for_task(task) is registry.engine_named(name)
    # every task a manifest may name has an engine
    assert set(typing.get_args(Manifest.model_fields["task"].annotation)) <= set(registry.tasks())
    assert [e.name for e in registry.engines() if not e.predicts_rows] == ["scenario"]


def test_task_names_are_known_without_importing_an_engine():
    code = ("import sys\nfrom proeftuin.engines.registry import tasks\nprint(tasks())\n"
            "print([m for m in sys.modules if m.startswith('proeftuin.engines.') and not m.endswith('.registry')])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    listed, imported = done.stdout.strip().splitlines()
    assert listed == str(sorted(BUILT_IN)) and imported == "[]"


def test_an_added_engine_round_trips_through_mlflow_in_a_new_process(plugin: Path, tmp_path: Path,
                                                                     fresh_store: Path):
    registry.register(ENTRY_POINT)
    registry.register(ENTRY_POINT)  # the same engine again changes nothing
    from tiny_engine import ENGINE, Multiplier  # noqa: PLC0415 (the plugin's module, on sys.path from the fixture)

    registry.register(ENGINE)  # the engine itself, once its entry point is known: nothing new either

    engine = registry.engine_for_model(Multiplier(3.0, 0.5))
    assert (engine.name, engine.task) == ("multiplier", "multiplying") and "multiplying" in registry.tasks()

    tracking.connect(get_settings())  # the test's own state folder
    with mlflow.start_run():
        uri = log_model(Multiplier(3.0, 0.5), tmp_path, pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    flavor = mlflow.models.get_model_info(uri).flavors["python_function"]
    assert flavor["config"] == {ENGINE_KEY: "multiplier", "offset": 0.5}
    assert flavor["model_code_path"].endswith("mlflow_models/engine.py")
    assert load_model(uri).predict(pd.DataFrame({"x": [1.0, 2.5]}))["y"].tolist() == [3.5, 8.0]

    # A new process finds the engine through the entry point in the plugin's metadata, and refuses pickle.
    env = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false",
           "PYTHONPATH": os.pathsep.join([str(plugin), str(ROOT / "src")])}
    store = load_settings(ROOT / "proeftuin.yaml").backend_store_uri
    done = subprocess.run([sys.executable, "-c", PREDICT, store, uri], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"native": "Multiplier", "y": [3.5, 8.0]}


def test_a_second_engine_for_a_task_or_an_entry_point_to_another_task_is_refused(plugin: Path):
    registry.register(ENTRY_POINT)
    with pytest.raises(ProeftuinError, match="Er is al een engine voor de taak 'classification'"):
        registry.register(EntryPoint("classification", "tiny_engine:ENGINE", registry.GROUP))
    registry.register(EntryPoint("vermenigvuldigen", "tiny_engine:ENGINE", registry.GROUP))
    with pytest.raises(ProeftuinError, match="tiny_engine:ENGINE is geen engine voor de taak 'vermenigvuldigen'"):
        registry.engine_for_task("vermenigvuldigen")


def test_unknown_model_task_or_name_is_a_dutch_error():
    with pytest.raises(ProeftuinError) as error:
        registry.engine_for_model(object())
    assert "Geen engine kent een model van type object" in error.value.message
    assert "TextRouter" in error.value.hint and "registreer een engine" in error.value.hint
    with pytest.raises(ProeftuinError, match="Geen engine voor de taak 'vertalen'") as error:
        registry.engine_for_task("vertalen")
    assert "classification" in error.value.hint
    with pytest.raises(ProeftuinError, match="Geen engine met de naam 'bestaat-niet'") as error:
        registry.engine_named("bestaat-niet")
    assert "proeftuin run" in error.value.hint


def test_native_unwraps_a_loaded_model_and_leaves_a_native_one_alone(fresh_store: Path, tmp_path: Path):
    from proeftuin.engines.scenario import ScenarioModel

    model = ScenarioModel.from_json((ROOT / "tests/data/legacy_models/scenario/model/artifacts/model.json")
                                    .read_text(encoding="utf-8"))
    assert native(model) is model
    tracking.connect(get_settings())
    with mlflow.start_run():
        uri = log_model(model, tmp_path)
    loaded = native(load_model(uri))
    assert isinstance(loaded, ScenarioModel) and loaded.savings() == model.savings()


def test_predict_refuses_a_pilot_whose_engine_does_not_predict_rows(run_cli, tmp_path: Path):
    run_cli("run", "ebox-besparing")
    output = tmp_path / "uit.csv"
    data = PILOTS / "ebox-besparing" / "data" / "volumes.csv"
    result = run_cli("predict", "ebox-besparing", "--data", str(data), "--output", str(output), code=1)
    assert "Pilot ebox-besparing voorspelt geen rijen uit een CSV-bestand" in result.stderr
    assert "proeftuin gallery" in result.stderr and "Traceback" not in result.stderr
    assert not output.exists()


def test_predict_writes_a_profile_per_respondent(run_cli, tmp_path: Path):
    """The survey engine predicts rows: every column of the CSV goes in, scores and profile come out."""
    run_cli("run", "digitale-maturiteit", "--param", "max_rows=300")
    answers = tmp_path / "antwoorden.csv"
    pd.read_csv(PILOTS / "digitale-maturiteit" / "data" / "respondenten.csv").head(7).to_csv(answers, index=False)
    output = tmp_path / "profielen.csv"
    result = run_cli("predict", "digitale-maturiteit", "--data", str(answers), "--output", str(output))
    written = pd.read_csv(output)
    assert len(written) == 7 and {"respondent", "informatie_1", "informatie", "profiel", "opleidingstraject"} <= set(
        written)
    assert "7 rijen geschreven naar" in result.stdout and "profiel" in result.stdout
