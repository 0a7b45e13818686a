"""`proeftuin register export`: one record per organisation, valid against the shared standard, never invented."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from govkit import BENEFITS
from govkit import edit as _edit
from govkit import manifest as _manifest

from proeftuin import wording
from proeftuin.governance import aiact

ROOT = Path(__file__).resolve().parents[2]
#: The standard as the programme shares it (`../shared` next to the project, or the machine's /work/shared).
STANDARD = next(folder for folder in (ROOT.parent / "shared", Path("/work/shared")) if folder.is_dir()) / \
    "standards" / "algoritmeregister-1.0.0.schema.json"
PACKAGED = ROOT / "src" / "proeftuin" / "governance" / "algoritmeregister-1.0.0.schema.json"
CONSIDERATIONS = ("Sneller een onderbouwde schatting dan met de hand; het alternatief was een rekenblad per "
                  "dienst, dat niemand bijhield.")
NAMES = {"kortrijk": "Stad Kortrijk", "menen": "Stad Menen", "w13": "W13", "waregem": "Stad Waregem",
         "harelbeke": "Stad Harelbeke", "leiedal": "Leiedal", "anzegem": "Gemeente Anzegem",
         "spiere-helkijn": "Gemeente Spiere-Helkijn"}


def _config(pilots: Path, monkeypatch, contacts: bool = True, name: str = "proeftuin.yaml") -> Path:
    """A copy of proeftuin.yaml beside the pilots (with a general contact address per organisation), selected."""
    config = yaml.safe_load((ROOT / "proeftuin.yaml").read_text(encoding="utf-8"))
    if contacts:
        for org in config["organisations"]:
            org["contact"] = f"https://www.{org['slug']}.be/contact"
    path = pilots.parent / name
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("PROEFTUIN_CONFIG", str(path))
    monkeypatch.setenv("PROEFTUIN_PILOTS_DIR", str(pilots))
    return path


def _standard_errors(record: dict) -> list[str]:
    """What the shared standard (read from its own file, not the packaged copy) finds wrong with `record`."""
    schema = json.loads(STANDARD.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(record)]


def _export(run_cli, tmp_path: Path, slug: str, org: str) -> dict:
    out = tmp_path / f"{slug}-{org}.json"
    result = run_cli("register", "export", slug, "--org", org, "--output", str(out))
    assert str(out) in result.stdout
    record = json.loads(out.read_text(encoding="utf-8"))
    assert _standard_errors(record) == []
    return record


def test_the_packaged_schema_is_the_shared_standard_byte_for_byte():
    assert PACKAGED.read_bytes() == STANDARD.read_bytes()


def test_the_standard_check_in_these_tests_can_fail():
    """Guard: a record missing a mandatory field or with a wrong status does not pass the check used above."""
    assert any("'contact' is a required property" in e for e in _standard_errors({"status": "Actief"}))
    assert any("'Actief' is not one of" in e for e in _standard_errors({"status": "Actief"}))
    assert any("is not a 'uri'" in e for e in _standard_errors({"link": "geen adres"}))


def test_the_owner_and_a_participant_each_get_a_valid_record_from_the_tracked_facts(run_cli, pilots_copy: Path,
                                                                                      tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PROEFTUIN_USER", "an.trekker")
    folder = pilots_copy / "ebox-besparing"
    _edit(folder, register={"considerations": CONSIDERATIONS})
    _config(pilots_copy, monkeypatch)
    baseline = run_cli.json("run", "ebox-besparing", "--baseline")
    model = run_cli.json("run", "ebox-besparing")
    assert model["champion"]  # the run registered the champion the technical text is about
    manifest = _manifest(folder)

    record = _export(run_cli, tmp_path, "ebox-besparing", "kortrijk")
    assert record["organization"] == "Stad Kortrijk" and record["contact"] == "https://www.kortrijk.be/contact"
    assert record["status"] == "In ontwikkeling"  # experiment: not in use yet
    assert record["start_date"] == manifest["history"][0]["at"][:7]
    assert "end_date" not in record
    assert record["publication_category"] == manifest["ai_act"]["profile"]["publication_category"] \
        == aiact.CATEGORY_C
    assert record["considerations"] == CONSIDERATIONS
    technical = record["technical_operation"]
    assert f"haalt een {wording.metric_label('forecast_mae')} van " \
           f"{wording.value('forecast_mae', model['metrics']['forecast_mae'])}" in technical
    assert f"tegenover {wording.value('forecast_mae', baseline['metrics']['forecast_mae'])}" in technical
    assert "(versie 1)" in technical
    for source in manifest["data"]:
        assert " ".join(source["description"].split()) in record["data"]
        assert f"licentie {source['licence']}; zonder persoonsgegevens; herkomst: {source['source']}" \
            in record["data"]
    assert manifest["question"] in record["purpose_and_impact"]
    assert "geen AI-systeem" in record["purpose_and_impact"]  # the profile's reasoning
    assert record["source_id"] == "proeftuin:ebox-besparing:kortrijk"

    promoted = run_cli.json("promote", "ebox-besparing", "--reason", "klaar voor de proef")
    assert promoted["promoted"]
    started = promoted["change"]["at"][:7]
    for org in ("kortrijk", "menen", "w13"):  # the owner and both participants: each their own record
        record = _export(run_cli, tmp_path, "ebox-besparing", org)
        assert record["organization"] == NAMES[org]
        assert record["contact"] == f"https://www.{org}.be/contact"
        assert record["source_id"] == f"proeftuin:ebox-besparing:{org}"
        assert record["status"] == "In gebruik" and record["start_date"] == started
        assert "Stad Kortrijk" in record["supplier"]  # developed by the owner, whoever publishes
        assert wording.value("forecast_mae", model["metrics"]["forecast_mae"]) in record["technical_operation"]

    run_cli("promote", "ebox-besparing", "--to", "gestopt", "--reason", "geen volumes van de eigen diensten")
    record = _export(run_cli, tmp_path, "ebox-besparing", "menen")
    stopped = _manifest(folder)["history"][-1]["at"][:7]
    assert record["status"] == "Buiten gebruik" and record["end_date"] == stopped and record["start_date"] == started


def test_the_share_sent_to_a_person_and_the_dpia_are_in_the_router_record(run_cli, pilots_copy: Path,
                                                                          tmp_path: Path, monkeypatch):
    folder = pilots_copy / "vragenrouter"
    _edit(folder, register={"considerations": CONSIDERATIONS},
          dpia={"status": "gedaan", "link": "https://www.kortrijk.be/privacy/dpia-vragenrouter"})
    _config(pilots_copy, monkeypatch)
    small = ("--param", "max_rows=400")
    run_cli("run", "vragenrouter", "--baseline", *small)
    model = run_cli.json("run", "vragenrouter", *small)
    assert model["champion"]
    record = _export(run_cli, tmp_path, "vragenrouter", "leiedal")
    assert record["organization"] == "Leiedal"
    assert f"Op testgegevens ging {wording.percent(1 - model['metrics']['auto_share'])} van de gevallen naar een " \
           f"medewerker (drempel 0.65)" in record["human_intervention"]
    assert wording.value("macro_f1", model["metrics"]["macro_f1"]) in record["technical_operation"]
    assert "met persoonsgegevens; herkomst: data.dekamer.be" in record["data"]
    assert "DPIA gedaan: https://www.kortrijk.be/privacy/dpia-vragenrouter" in record["impact_assessments"]
    assert record["impact_assessment_link"] == "https://www.kortrijk.be/privacy/dpia-vragenrouter"
    assert "automatisch verwijderd" in record["risk_management"]  # the scrubber, for a pilot with personal data


@pytest.mark.parametrize(("contacts", "changes", "missing", "not_missing"), [
    (False, {}, {"contact", "considerations"}, {"supplier", "publication_category", "start_date"}),
    (True, {}, {"considerations"}, {"contact"}),
    (False, {"register": {"considerations": CONSIDERATIONS}}, {"contact"}, {"considerations"}),
    (True, {"register": {"considerations": CONSIDERATIONS}, "stage": "idee", "history": []}, {"start_date"},
     {"contact", "considerations"}),
    (True, {"register": {"considerations": CONSIDERATIONS}, "ai_act": {
        "risk_class": "minimaal", "reasoning": "Nog niet bepaald met de beslishulp."}},
     {"publication_category", "supplier"}, {"contact", "considerations"}),
])
def test_a_record_the_facts_cannot_fill_names_each_missing_field_and_writes_nothing(
        run_cli, pilots_copy: Path, tmp_path: Path, monkeypatch, contacts, changes, missing, not_missing):
    folder = pilots_copy / "ebox-besparing"
    if changes:
        _edit(folder, **changes)
    _config(pilots_copy, monkeypatch, contacts=contacts)
    out = tmp_path / "record.json"
    result = run_cli("register", "export", "ebox-besparing", "--org", "kortrijk", "--output", str(out), code=1)
    assert not out.exists()
    assert "mist verplichte velden" in result.stderr and "er is niets geschreven" in result.stderr
    named = {line.strip()[2:].split(":")[0] for line in result.stderr.splitlines() if line.strip().startswith("- ")}
    assert named == missing, result.stderr
    assert not named & not_missing
    if "contact" in missing:
        assert "proeftuin.yaml" in result.stderr
    if "publication_category" in missing:
        assert "proeftuin ai-act ebox-besparing" in result.stderr
    out.write_bytes(b'{"vorige": "export"}\n')  # an earlier export stays as it was
    run_cli("register", "export", "ebox-besparing", "--org", "kortrijk", "--output", str(out), code=1)
    assert out.read_bytes() == b'{"vorige": "export"}\n'


def test_an_external_application_needs_its_supplier_named(run_cli, pilots_copy: Path, tmp_path: Path, monkeypatch):
    folder = pilots_copy / "ebox-besparing"
    _edit(folder, register={"considerations": CONSIDERATIONS})
    _config(pilots_copy, monkeypatch)
    answers = tmp_path / "extern.yaml"
    answers.write_text("algoritme: ja\nrol: extern\nai_systeem: nee\nimpactvol: nee\n", encoding="utf-8")
    run_cli("ai-act", "ebox-besparing", "--answers", str(answers))
    out = tmp_path / "record.json"
    result = run_cli("register", "export", "ebox-besparing", "--org", "kortrijk", "--output", str(out), code=1)
    assert "- supplier: de toepassing komt van buiten" in result.stderr and not out.exists()
    _edit(folder, register={"considerations": CONSIDERATIONS, "supplier": "Cipal Schaubroeck"})
    assert _export(run_cli, tmp_path, "ebox-besparing", "kortrijk")["supplier"] == "Cipal Schaubroeck"


@pytest.mark.parametrize(("args", "says"), [
    (("--org", "anzegem"), "Organisatie 'anzegem' gebruikt pilot ebox-besparing niet"),
    (("--org", "brugge"), "Onbekende organisatie 'brugge'"),
])
def test_only_an_organisation_that_uses_the_pilot_gets_a_record(run_cli, pilots_copy: Path, tmp_path: Path,
                                                                monkeypatch, args, says):
    _edit(pilots_copy / "ebox-besparing", register={"considerations": CONSIDERATIONS})
    _config(pilots_copy, monkeypatch)
    out = tmp_path / "record.json"
    result = run_cli("register", "export", "ebox-besparing", *args, "--output", str(out), code=1)
    assert "Fout: " in result.stderr and says in result.stderr
    assert ("kortrijk, menen, w13" if "anzegem" in args else "anzegem") in result.stderr  # who can get one
    assert not out.exists()


def test_an_output_folder_that_does_not_exist_is_refused(run_cli, pilots_copy: Path, tmp_path: Path, monkeypatch):
    _edit(pilots_copy / "ebox-besparing", register={"considerations": CONSIDERATIONS})
    _config(pilots_copy, monkeypatch)
    out = tmp_path / "nergens" / "record.json"
    result = run_cli("register", "export", "ebox-besparing", "--org", "kortrijk", "--output", str(out), code=1)
    assert "bestaat niet" in result.stderr and not out.parent.exists()


def test_a_profile_edited_by_hand_is_not_published(run_cli, pilots_copy: Path, tmp_path: Path, monkeypatch):
    """The register shows the category that follows from the answers, never one typed over them."""
    folder = pilots_copy / "vragenrouter"
    manifest = _manifest(folder)
    manifest["ai_act"]["profile"]["answers"] = BENEFITS  # high-risk answers, the rest still says category C
    _edit(folder, ai_act=manifest["ai_act"], register={"considerations": CONSIDERATIONS})
    _config(pilots_copy, monkeypatch)
    out = tmp_path / "record.json"
    result = run_cli("register", "export", "vragenrouter", "--org", "kortrijk", "--output", str(out), code=1)
    assert "volgt niet uit de antwoorden" in result.stderr and "vragenrouter/pilot.yaml" in result.stderr
    assert not out.exists()


def _high_risk(run_cli, pilots: Path, tmp_path: Path) -> None:
    answers = tmp_path / "uitkering.yaml"
    answers.write_text(yaml.safe_dump(BENEFITS), encoding="utf-8")
    run_cli("ai-act", "vragenrouter", "--answers", str(answers))


@pytest.mark.parametrize(("slug", "prepare", "category", "expect"), [
    ("vragenrouter", None, aiact.CATEGORY_C, {"impact_assessments": "DPIA: nog niet gedaan",
                                              "risk_management": "Onder de zekerheidsdrempel beslist"}),
    ("kennisbank", None, aiact.CATEGORY_C, {"technical_operation": "ziet dat de uitkomst van een AI-systeem komt",
                                            "impact_assessments": "Geen impacttoets nodig"}),
    ("digitale-maturiteit", None, aiact.CATEGORY_C, {"technical_operation": "k-means",
                                                     "purpose_and_impact": "Het systeem wordt nooit gebruikt voor"}),
    ("ebox-besparing", None, aiact.CATEGORY_C, {"purpose_and_impact": "geen AI-systeem",
                                                "technical_operation": "nog geen model in gebruik"}),
    ("vragenrouter", _high_risk, aiact.CATEGORY_A, {"impact_assessments": "Grondrechtenbeoordeling (FRIA, art. 27 "
                                                                          "AI-verordening): nog niet gedaan",
                                                    "purpose_and_impact": "hoog-risico AI"}),
], ids=["vragenrouter-minimaal", "kennisbank-transparantie", "digitale-maturiteit", "ebox-geen-ai",
        "vragenrouter-hoog-risico"])
def test_every_repo_pilot_exports_a_valid_record_for_each_organisation(run_cli, pilots_copy: Path, tmp_path: Path,
                                                                       monkeypatch, slug, prepare, category, expect):
    folder = pilots_copy / slug
    _edit(folder, register={"considerations": CONSIDERATIONS})
    _config(pilots_copy, monkeypatch)
    if prepare:
        prepare(run_cli, pilots_copy, tmp_path)
    manifest = _manifest(folder)
    assert manifest["ai_act"]["profile"]["publication_category"] == category
    for org in [manifest["owner"], *manifest["participants"]]:
        record = _export(run_cli, tmp_path, slug, org)
        assert record["organization"] == NAMES[org] and record["name"] == manifest["title"]
        assert record["publication_category"] == category
        assert record["status"] == "In ontwikkeling"
        for field, text in expect.items():
            assert text in record[field], (field, record[field])
