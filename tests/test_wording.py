"""Metrics in words: Dutch number formatting and a label and explanation for every metric a pilot logs."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pytest
from conftest import PILOTS, ROOT

from proeftuin import privacy, wording
from proeftuin.wording import (
    count,
    date,
    describe,
    difference,
    euro,
    in_words,
    metric,
    metric_label,
    number,
    out_of_100,
    percent,
    ratio,
    technical,
    value,
    versus_baseline,
)

SRC = ROOT / "src" / "proeftuin"
TEMPLATES = ROOT / "templates"
NO_VALUE = [None, math.nan, math.inf, -math.inf, float("nan")]


# --------------------------------------------------------------------------------------------------
# Which metrics exist: read from the code and the pilots, so a new metric without words fails here
# --------------------------------------------------------------------------------------------------


def _returned_keys(function: ast.AST) -> set[str]:
    keys: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
            keys |= {k.value for k in node.value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return keys


def _assigned_metric_keys(tree: ast.AST) -> set[str]:
    """`metrics["x"] = ...` (also in tuple targets) with a literal key."""
    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) \
                and isinstance(node.value, ast.Name) and node.value.id == "metrics" \
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            keys.add(node.slice.value)
    return keys


def logged_metrics() -> set[str]:
    """Every metric name the engines, the run and the pilots produce."""
    names: set[str] = set()
    for path in [*SRC.rglob("*.py"), *PILOTS.glob("*/pipeline.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and (node.name.endswith("_metrics") or node.name == "evaluate"):
                names |= _returned_keys(node)
        names |= _assigned_metric_keys(tree)
    primary = re.compile(r"^metric:\s*\n\s+name:\s*([\w@.-]+)", re.MULTILINE)
    for manifest in [*PILOTS.glob("*/pilot.yaml"), *TEMPLATES.glob("*/template/pilot.yaml.jinja")]:
        names |= set(primary.findall(manifest.read_text(encoding="utf-8")))
    return names


LOGGED = sorted(logged_metrics())


def test_the_list_of_logged_metrics_is_derived_from_all_four_engines():
    assert {"macro_f1", "top3_accuracy", "auto_share", "recall_at_5", "mrr", "forecast_mae", "yearly_saving_eur",
            "silhouette", "smallest_profile_share", "train_rows", "skipped_empty", "n"} <= set(LOGGED)


@pytest.mark.parametrize("name", LOGGED)
def test_every_logged_metric_has_words(name: str):
    assert name in wording.METRICS, f"{name} is logged but has no entry in wording.METRICS"
    words = metric(name)
    assert words.label and words.label != name.replace("_", " ") or name == "n"
    assert words.explanation.endswith("."), "a plain-Dutch explanation, as a sentence"
    assert words.unit in wording.UNITS
    for x in (0.0, 0.5432, 1.0, 3.0):
        line = describe(name, x)
        assert "nan" not in line.lower() and not re.search(r"\d\.\d", line), line
        assert "{" not in line, f"unfilled placeholder in {line!r}"
    for missing in NO_VALUE:
        assert describe(name, missing).endswith("—")


@pytest.mark.parametrize("kind", sorted(privacy.TAGS))
def test_every_kind_of_removed_personal_data_has_words(kind: str):
    assert kind in wording.PRIVACY_KINDS
    name = f"{wording.PRIVACY_PREFIX}{kind}"
    assert wording.is_fact(name) and wording.explain(name)
    assert describe(name, 3).startswith("3 ") and describe(name, 1).startswith("1 ")


def test_labels_are_unique():
    labels = [w.label for w in wording.METRICS.values()]
    assert len(labels) == len(set(labels))


# --------------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------------


def test_numbers_in_dutch_notation():
    assert number(0.5321) == "0,53"
    assert number(3048, 0) == "3.048"
    assert number(1234567.891) == "1.234.567,89"
    assert number(-1234.5, 1) == "-1.234,5"
    assert number(0.00234) == "0,0023" and number(-0.0412) == "-0,041"
    assert number(0.0) == "0,00" and number(-0.0) == "0,00" and number(-0.0001, 0) == "0"
    assert number(7) == "7,00" and number("0.5") == "0,50"


@pytest.mark.parametrize("missing", [*NO_VALUE, "geen getal", True])
def test_no_value_is_a_dash_never_nan(missing):
    for formatted in (number(missing), count(missing), euro(missing), percent(missing), out_of_100(missing),
                      date(missing), value("macro_f1", missing), value("yearly_saving_eur", missing)):
        assert formatted == "—"
    assert technical("macro_f1", missing) == "macro-F1 —"


def test_euro_percent_and_counts():
    assert euro(42257.4) == "€ 42.257"
    assert euro(-1200) == "€ -1.200"
    assert euro(1234.5, 2) == "€ 1.234,50"
    assert euro(12_345_678) == "€ 12.345.678"
    assert percent(0.12) == "12 %" and percent(0.6234) == "62 %" and percent(1) == "100 %"
    assert percent(0.004) == "0,4 %" and percent(0.056) == "5,6 %" and percent(-0.05) == "-5 %"
    assert count(3048.2) == "3.048"


def test_out_of_100_never_rounds_to_all_or_nothing():
    assert out_of_100(0.5432) == "54 van de 100"
    assert out_of_100(1.0) == "100 van de 100" and out_of_100(0) == "0 van de 100"
    assert out_of_100(0.998) == "meer dan 99 van de 100"
    assert out_of_100(0.002) == "minder dan 1 van de 100"


def test_date_in_dutch():
    assert re.fullmatch(r"1[45] november 2023", date(1_700_000_000_000))
    assert date(0) == "—"


# --------------------------------------------------------------------------------------------------
# Metrics in words
# --------------------------------------------------------------------------------------------------


def test_the_examples_of_the_issue():
    assert technical("macro_f1", 0.5432) == "macro-F1 0,54"
    assert describe("yearly_saving_eur", 42257.4) == "jaarlijkse besparing € 42.257"
    assert wording.explain("recall_at_5") == "Hoe vaak het juiste antwoord bij de eerste 5 zit."
    assert describe("accuracy", 0.5432) == "de juiste dienst in 54 van de 100 vragen (nauwkeurigheid 0,54)"
    assert describe("recall_at_5", 0.944) == \
        "het juiste antwoord zit bij de eerste 5 in 94 van de 100 vragen (recall@5 0,94)"


def test_each_kind_of_value_reads_as_words():
    assert describe("macro_f1", 0.5432).startswith("score 54 op 100 voor de juiste dienst")
    assert in_words("auto_share", 0.62).startswith("62 % van de vragen")
    assert in_words("mrr", 0.763) == "het juiste antwoord staat gemiddeld rond plaats 1,3"
    assert in_words("mrr", 0.0).endswith("plaats —")
    assert in_words("forecast_mae", 0.041) == "de prognose zit gemiddeld 4,1 procentpunt naast de gemeten activatie"
    assert in_words("silhouette", 0.55).startswith("duidelijk onderscheid")
    assert in_words("silhouette", -0.2).startswith("nauwelijks onderscheid")
    assert describe("silhouette", -0.2).endswith("(silhouetscore -0,20)")
    assert describe("n", 54) == "gemeten op 54 voorbeelden" and describe("n", 1) == "gemeten op 1 voorbeeld"
    assert describe("train_rows", 12345) == "geleerd van 12.345 rijen"
    assert describe("yearly_saving_eur", -500) == "jaarlijkse besparing € -500"


def test_an_unknown_metric_degrades_gracefully():
    assert metric_label("f2_score_weighted") == "f2 score weighted"
    assert wording.explain("f2_score_weighted") == ""
    assert describe("f2_score_weighted", 0.5) == "f2 score weighted 0,50"
    assert describe("f2_score_weighted", 12345.678) == "f2 score weighted 12.345,68"
    assert describe("f2_score_weighted", math.nan) == "f2 score weighted —"
    assert not wording.is_fact("f2_score_weighted")


def test_comparison_with_the_baseline():
    assert difference("macro_f1", 0.54, 0.4635) == "+0,077"
    assert difference("forecast_mae", 0.03, 0.041) == "-0,011"
    assert difference("yearly_saving_eur", 43000, 42000) == "+€ 1.000"
    assert difference("macro_f1", None, 0.4) == "—"
    assert ratio(0.54, 0.4635) == "1,17×" and ratio(0.5, 0) == "—" and ratio(math.nan, 1) == "—"
    assert versus_baseline("macro_f1", 0.54, 0.4635) == "beter dan de baseline (0,46): +0,077"
    assert versus_baseline("forecast_mae", 0.03, 0.041).startswith("beter dan")  # lower is better
    assert versus_baseline("forecast_mae", 0.05, 0.041, greater_is_better=False).startswith("slechter dan")
    assert versus_baseline("auto_share", 0.7, 0.6).startswith("hoger dan")  # a trade-off, not "better"
    assert versus_baseline("macro_f1", 0.5, 0.5).startswith("even goed als")
    assert versus_baseline("macro_f1", None, 0.5) == "geen vergelijking met de baseline mogelijk"
    assert wording.direction(True) == "hoger is beter" and wording.direction(False) == "lager is beter"


def test_the_site_keeps_its_old_names():
    from proeftuin import site
    assert site.number is number and site.metric_label is metric_label and site.date is date
    assert site.METRIC_NAMES["macro_f1"] == "macro-F1" and site.MONTHS[0] == "januari"


def test_one_copy_of_dutch_number_formatting_in_the_platform():
    """No module formats Dutch numbers on its own (the hub's CPU limits are not metrics and stay there)."""
    pattern = re.compile(r"""replace\(\s*["']\.["']\s*,\s*["'],["']\s*\)""")
    offenders = [p.name for p in SRC.rglob("*.py")
                 if p.name != "wording.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_module_has_no_heavy_imports():
    source = Path(wording.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|from)\s+(pandas|numpy|mlflow|sklearn|gradio)", source, re.MULTILINE)
