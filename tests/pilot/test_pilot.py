"""The pilot contract: every pilot in the repo validates; broken manifests say file, field and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import PILOTS, ROOT

from proeftuin.errors import ManifestError, ProeftuinError
from proeftuin.pilot import BrokenPilot, Pilot, discover_pilots, find_pilot
from proeftuin.settings import load_settings

ORGS = {o.slug for o in load_settings(ROOT / "proeftuin.yaml").organisations}


def test_every_pilot_in_the_repo_validates_strictly():
    pilots = discover_pilots(PILOTS, ORGS, strict=True, import_pipelines=True)
    assert "vragenrouter" in [p.slug for p in pilots]
    assert all(isinstance(pilot, Pilot) for pilot in pilots)


def test_lessons_learned_need_their_fixed_headings(pilots_copy: Path):
    lessons = pilots_copy / "vragenrouter" / "LESSONS.md"
    lessons.write_text(lessons.read_text().replace("## Wat niet werkte", "## Problemen"))
    with pytest.raises(ManifestError) as err:
        discover_pilots(pilots_copy, ORGS)
    assert str(lessons) in str(err.value) and "Wat niet werkte" in str(err.value)


def _edit(pilots: Path, change) -> Path:
    manifest = pilots / "vragenrouter" / "pilot.yaml"
    data = yaml.safe_load(manifest.read_text())
    change(data)
    manifest.write_text(yaml.safe_dump(data, allow_unicode=True))
    return manifest


BROKEN = {
    "missing field": (lambda d: d.pop("question"), "question", "verplicht veld ontbreekt"),
    "typo": (lambda d: d.update(titel="x"), "titel", "onbekend veld"),
    "bad theme": (lambda d: d.update(theme="sport"), "theme", "sport"),
    "bad stage": (lambda d: d.update(stage="productie"), "stage", "productie"),
    "unknown org": (lambda d: d.update(owner="brugge"), "owner", "brugge"),
    "slug mismatch": (lambda d: d.update(slug="andere-naam"), "slug", "mapnaam"),
    "missing data file": (lambda d: d["data"][0].update(path="data/weg.csv"), "data.0.path", "bestaat niet"),
    "threshold not a parameter": (lambda d: d["human_oversight"].update(threshold_parameter="drempel"),
                                  "threshold_parameter", "drempel"),
    "wrong risk class": (lambda d: d["ai_act"].update(risk_class="laag"), "ai_act.risk_class", "laag"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_manifest_names_file_field_and_problem(pilots_copy: Path, run_cli, case: str):
    change, field, problem = BROKEN[case]
    manifest = _edit(pilots_copy, change)
    with pytest.raises(ManifestError) as err:
        discover_pilots(pilots_copy, ORGS, strict=True)
    message = str(err.value)
    assert str(manifest) in message and field in message and problem in message
    result = run_cli("validate", code=1)
    assert str(manifest) in result.stderr and field in result.stderr


def test_invalid_yaml_names_the_line(pilots_copy: Path):
    manifest = pilots_copy / "vragenrouter" / "pilot.yaml"
    manifest.write_text(manifest.read_text() + "\nparameters: [unclosed\n")
    with pytest.raises(ManifestError) as err:
        discover_pilots(pilots_copy, ORGS)
    assert "regel" in str(err.value) and str(manifest) in str(err.value)


def test_lenient_discovery_keeps_the_good_pilots(pilots_copy: Path):
    broken = pilots_copy / "kapot"
    broken.mkdir()
    (broken / "pilot.yaml").write_text("slug: kapot\n")
    found = discover_pilots(pilots_copy, ORGS, strict=False)
    by_slug = {p.slug: p for p in found}
    assert isinstance(by_slug["kapot"], BrokenPilot)
    assert "demo.py" in str(by_slug["kapot"].error)
    assert isinstance(by_slug["vragenrouter"], Pilot)
    with pytest.raises(ManifestError):
        discover_pilots(pilots_copy, ORGS, strict=True)


def test_pipeline_that_raises_at_import_is_reported(pilots_copy: Path):
    (pilots_copy / "vragenrouter" / "pipeline.py").write_text("raise RuntimeError('stuk')\n")
    found = {p.slug: p for p in discover_pilots(pilots_copy, ORGS, strict=False, import_pipelines=True)}
    assert isinstance(found["vragenrouter"], BrokenPilot) and "RuntimeError: stuk" in str(found["vragenrouter"].error)
    assert all(isinstance(p, Pilot) for slug, p in found.items() if slug != "vragenrouter")


def test_pipeline_missing_a_contract_function(pilots_copy: Path):
    (pilots_copy / "vragenrouter" / "pipeline.py").write_text("def load_data(p):\n    return None\n")
    with pytest.raises(ManifestError) as err:
        find_pilot(pilots_copy, "vragenrouter", ORGS).pipeline()
    assert "train" in str(err.value) and "evaluate" in str(err.value)


def test_parameters_are_coerced_and_checked():
    pilot = find_pilot(PILOTS, "vragenrouter", ORGS)
    params = pilot.params({"threshold": "0.7", "char_ngrams": "nee", "max_rows": "50"})
    assert params["threshold"] == 0.7 and params["char_ngrams"] is False and params["max_rows"] == 50
    with pytest.raises(ProeftuinError, match="verwacht een float"):
        pilot.params({"threshold": "hoog"})
    with pytest.raises(ProeftuinError) as err:
        pilot.params({"drempel": "1"})
    assert "threshold" in str(err.value)


def test_unknown_slug_lists_the_known_ones(run_cli):
    result = run_cli("run", "onbekend", code=1)
    assert "Onbekende pilot 'onbekend'" in result.stderr and "vragenrouter" in result.stderr
