"""eBox-besparing: the business case's unit figures exactly, the what-if curve, the forecast, the champion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import PILOTS, ROOT

from proeftuin.engines.scenario import TOTAL, AdoptionCurve, ScenarioModel, read_units
from proeftuin.errors import DataError
from proeftuin.pilot import load_pilot

PILOT = PILOTS / "ebox-besparing"
NO_VOLUMES = {t: 0 for t in ("handtekening_digitaal", "handtekening_integratie", "ebox_gewone_brief",
                             "ebox_aangetekende_brief", "ebox_bulk_gewoon", "ebox_bulk_aangetekend")}


@pytest.fixture(scope="module")
def scenario() -> ScenarioModel:
    units = read_units(PILOT / "data" / "eenheden.csv")
    return ScenarioModel(units=units, volumes=dict(NO_VOLUMES), activation=0.4,
                         adoption=AdoptionCurve("linear", [0.01, 0.1]), months=["2024-01"])


@pytest.mark.parametrize(("doc_type", "volume", "expected"), [
    ("handtekening_digitaal", 1, 1.12),
    ("handtekening_integratie", 70, 23.20),
    ("ebox_gewone_brief", 1, 2.54),
    ("ebox_aangetekende_brief", 1, 11.11),
    ("ebox_bulk_gewoon", 30, 24.13),
    ("ebox_bulk_aangetekend", 30, 126.97),
])
def test_every_unit_figure_of_the_business_case(scenario, doc_type, volume, expected):
    savings = scenario.savings({doc_type: volume}, activation=1.0)
    assert savings[doc_type] == expected
    assert savings[TOTAL] == expected


def test_default_activation_is_40_percent_and_only_scales_ebox(scenario):
    assert load_pilot(PILOT).manifest.parameters["activation_rate"] == 0.4
    savings = scenario.savings({"ebox_gewone_brief": 100, "handtekening_digitaal": 100})
    assert savings["ebox_gewone_brief"] == round(100 * 2.54 * 0.4, 2)
    assert savings["handtekening_digitaal"] == 112.0


def test_curve_rises_with_activation(scenario):
    curve = scenario.curve(volumes={"ebox_gewone_brief": 1000})
    assert curve[TOTAL].is_monotonic_increasing
    assert curve[TOTAL].iloc[0] == 0 and curve[TOTAL].iloc[-1] == 2540.0


@pytest.mark.parametrize("bad", [{"ebox_gewone_brief": -5}, {"ebox_gewone_brief": "veel"},
                                 {"ebox_gewone_brief": float("nan")}, {"onbekend_type": 3}])
def test_bad_volumes_get_a_dutch_message(scenario, bad):
    with pytest.raises(DataError) as err:
        scenario.savings(bad)
    assert any(word in err.value.message for word in ("negatief", "geen getal", "Onbekend"))


def test_decimal_comma_and_semicolons_from_excel(tmp_path):
    (tmp_path / "eenheden.csv").write_text("type;omschrijving;besparing_eur;per_aantal;hangt_af_van_activatie\n"
                                           "brief;Brief;2,54;1;ja\n", encoding="utf-8")
    assert read_units(tmp_path / "eenheden.csv")[0].saving_eur == 2.54


def test_run_logs_promotes_and_the_champion_loads_without_pickle(run_cli, fresh_store):
    result = run_cli.json("run", "ebox-besparing")
    assert result["champion"] is True
    assert result["metrics"]["forecast_mae"] < 0.02
    assert result["metrics"]["yearly_saving_eur"] == 42257.36
    baseline = run_cli.json("run", "ebox-besparing", "--baseline")
    assert baseline["metrics"]["forecast_mae"] > result["metrics"]["forecast_mae"]
    code = (
        "import json, mlflow, pandas as pd\n"
        "from proeftuin import tracking\nfrom proeftuin.settings import get_settings\n"
        "tracking.connect(get_settings())\n"
        "m = mlflow.pyfunc.load_model('models:/ebox-besparing@champion')\n"
        f"row = {{**{NO_VOLUMES!r}, 'ebox_bulk_aangetekend': 30, 'activatie': 1.0}}\n"
        "out = m.predict(pd.DataFrame([row]))\n"
        "print(json.dumps({'total': float(out['totaal_eur'][0])}))\n"
    )
    env = {**os.environ, "PROEFTUIN_HOME": str(fresh_store), "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"total": 126.97}


def test_demo_builds_and_predicts(scenario):
    from proeftuin.pilot import import_file

    demo = import_file("proeftuin_pilots.ebox_besparing.demo_test", PILOT / "demo.py")
    blocks = demo.build_demo(scenario)
    assert "predict" in {d.api_name for d in blocks.fns.values()}
    fn = next(d.fn for d in blocks.fns.values() if d.api_name == "predict")
    summary, table, figure = fn(100, 0, 0, 1, 0, 0, 0)
    assert "2,54" in summary and isinstance(table, pd.DataFrame) and figure is not None
    summary, table, _ = fn(40, 0, 0, -3, 0, 0, 0)
    assert "negatief" in summary and table is None


def test_bad_volumes_file_stops_the_run(run_cli, pilots_copy: Path):
    volumes = pilots_copy / "ebox-besparing" / "data" / "volumes.csv"
    volumes.unlink()
    volumes.write_text("type,volume_per_jaar\nebox_gewone_brief,-10\n", encoding="utf-8")
    result = run_cli("run", "ebox-besparing", code=1)
    assert "negatief" in result.stderr
