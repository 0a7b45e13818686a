"""The lifecycle on real runs: every gate fails on purpose and then passes; bad input changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
import yaml
from govkit import edit as _edit

from proeftuin import tracking
from proeftuin.settings import get_settings
from proeftuin.tags import TAG_STAGE

ANSWERS = {"algoritme": "ja", "rol": "eigen-gebruik", "ai_systeem": "nee", "impactvol": "nee"}


def _experiment_tags(slug: str) -> dict[str, str]:
    experiment = tracking.connect(get_settings()).get_experiment_by_name(slug)  # the test's own store
    return {} if experiment is None else dict(experiment.tags)


def _state(folder: Path) -> tuple[bytes, dict[str, str]]:
    """What a refused command must leave as it was: the manifest's bytes and the experiment's tags."""
    return (folder / "pilot.yaml").read_bytes(), _experiment_tags(folder.name)


def _gates(report: dict) -> dict[str, bool]:
    return {gate["id"]: gate["passed"] for gate in report["gates"]}


def test_ebox_moves_only_on_evidence_and_records_each_step(run_cli, pilots_copy: Path, monkeypatch):
    monkeypatch.setenv("PROEFTUIN_USER", "an.trekker")
    folder = pilots_copy / "ebox-besparing"
    run_cli("validate")
    before = _state(folder)
    blocked = run_cli("promote", "ebox-besparing", "--json", code=1)
    report = json.loads(blocked.stdout)
    assert report["to"] == "pilot" and report["blocked"] and not report["promoted"]
    assert _gates(report) == {"baseline": False, "demo": False, "ai_act": True, "toezicht": True}
    assert "proeftuin run ebox-besparing --baseline" in json.dumps(report, ensure_ascii=False)
    assert (folder / "pilot.yaml").read_bytes() == before[0]
    assert TAG_STAGE not in _experiment_tags("ebox-besparing")

    baseline = run_cli.json("run", "ebox-besparing", "--baseline")
    model = run_cli.json("run", "ebox-besparing")
    assert model["metrics"]["forecast_mae"] < baseline["metrics"]["forecast_mae"]
    dry = json.loads(run_cli("promote", "ebox-besparing", "--dry-run", "--json").stdout)
    assert all(_gates(dry).values()) and not dry["promoted"]
    assert (folder / "pilot.yaml").read_bytes() == before[0]

    done = run_cli.json("promote", "ebox-besparing", "--reason", "klaar voor de proef")
    assert done["promoted"] and done["change"]["evidence"]["run_id"] == model["run_id"]
    assert done["change"]["evidence"]["baseline_run_id"] == baseline["run_id"]
    manifest = yaml.safe_load((folder / "pilot.yaml").read_text(encoding="utf-8"))
    assert manifest["stage"] == "pilot"
    last = manifest["history"][-1]
    assert (last["previous"], last["stage"], last["by"], last["organisation"], last["reason"]) == (
        "experiment", "pilot", "an.trekker", "kortrijk", "klaar voor de proef")
    assert last["evidence"]["demo.py"].startswith("sha256:")
    tags = _experiment_tags("ebox-besparing")
    assert tags[TAG_STAGE] == "pilot"
    assert json.loads(tags[f"{TAG_STAGE}.{len(manifest['history'])}"])["evidence"]["run_id"] == model["run_id"]
    run_cli("validate")

    # to opschalen: lessons, champion, two other organisations, a valid register record
    _edit(folder, participants=[])
    report = json.loads(run_cli("promote", "ebox-besparing", "--json", code=1).stdout)
    gates = _gates(report)
    assert gates["kampioen"] and not gates["hergebruik"] and not gates["register"]
    run_cli("new", "--from", "ebox-besparing", "--org", "menen")
    _edit(folder, participants=["waregem"], register={"considerations": "Sneller een onderbouwde schatting dan met "
                                                                       "de hand; alternatief was een rekenblad."})
    config = yaml.safe_load(Path("proeftuin.yaml").read_text(encoding="utf-8"))
    for org in config["organisations"]:
        org["contact"] = f"https://www.{org['slug']}.be/contact"
    (pilots_copy.parent / "proeftuin.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("PROEFTUIN_CONFIG", str(pilots_copy.parent / "proeftuin.yaml"))
    monkeypatch.setenv("PROEFTUIN_PILOTS_DIR", str(pilots_copy))
    report = json.loads(run_cli("promote", "ebox-besparing", "--json").stdout)
    assert report["promoted"] and all(_gates(report).values())
    assert report["change"]["evidence"]["forks"] == "ebox-besparing-menen"
    assert _experiment_tags("ebox-besparing")[TAG_STAGE] == "opschalen"
    fork = yaml.safe_load((pilots_copy / "ebox-besparing-menen" / "pilot.yaml").read_text(encoding="utf-8"))
    assert fork["stage"] == "idee" and "history" not in fork  # a fork starts its own lifecycle


def test_a_pilot_with_personal_data_and_no_dpia_cannot_reach_pilot(run_cli, pilots_copy: Path):
    folder = pilots_copy / "ebox-besparing"
    manifest = yaml.safe_load((folder / "pilot.yaml").read_text(encoding="utf-8"))
    manifest["data"][0]["personal_data"] = True
    _edit(folder, data=manifest["data"])
    run_cli("run", "ebox-besparing", "--baseline")
    run_cli("run", "ebox-besparing")
    before = _state(folder)
    report = json.loads(run_cli("promote", "ebox-besparing", "--json", code=1).stdout)
    gates = _gates(report)
    assert not gates.pop("persoonsgegevens") and all(gates.values())  # the DPIA is what blocks it
    assert _state(folder) == before
    _edit(folder, dpia={"status": "niet nodig", "reasoning": "kort"})
    assert not _gates(json.loads(run_cli("promote", "ebox-besparing", "--json", code=1).stdout))["persoonsgegevens"]
    _edit(folder, dpia={"status": "gedaan", "file": "../vragenrouter/pilot.yaml"})  # not in the pilot's folder
    assert not _gates(json.loads(run_cli("promote", "ebox-besparing", "--json", code=1).stdout))["persoonsgegevens"]
    (folder / "dpia.pdf").write_bytes(b"%PDF-1.4 DPIA")
    _edit(folder, dpia={"status": "gedaan", "file": "dpia.pdf"})
    report = run_cli.json("promote", "ebox-besparing")
    assert report["promoted"] and report["change"]["evidence"]["dpia"].startswith("sha256:")


def test_the_scrubber_report_must_be_clean_and_a_run_must_beat_the_baseline(run_cli, pilots_copy: Path):
    folder = pilots_copy / "vragenrouter"
    # The pilot keeps the sender's name in a column it stores: the scrubber's report is not clean.
    pipeline = folder / "pipeline.py"
    pipeline.write_text(pipeline.read_text(encoding="utf-8") + (
        "\n\n_load_data = load_data\n\n\ndef load_data(params):\n    data = _load_data(params)\n"
        "    data['afzender'] = 'Mevrouw An Vandenberghe, Kerkstraat 12, 8500 Kortrijk'\n    return data\n"),
        encoding="utf-8")
    _edit(folder, dpia={"status": "gedaan", "link": "https://www.kortrijk.be/privacy/dpia-vragenrouter"})
    small = ("--param", "max_rows=400")
    run_cli("run", "vragenrouter", "--baseline", *small)
    run_cli("run", "vragenrouter", *small, "--param", "prior_alpha=50")  # a model that learns almost nothing
    report = json.loads(run_cli("promote", "vragenrouter", "--json", code=1).stdout)
    gates = {g["id"]: g for g in report["gates"]}
    assert not gates["baseline"]["passed"] and "niet beter dan de baseline" in gates["baseline"]["detail"]
    assert not gates["persoonsgegevens"]["passed"] and "kolom afzender" in gates["persoonsgegevens"]["detail"]
    assert gates["toezicht"]["passed"] and "medewerker" in gates["toezicht"]["detail"]  # threshold: share measured
    assert gates["demo"]["passed"]
    run_cli("run", "vragenrouter", "--param", "max_rows=300")  # a better run, but on other data than the baseline
    gate = {g["id"]: g for g in json.loads(run_cli("promote", "vragenrouter", "--json", code=1).stdout)["gates"]}
    assert not gate["baseline"]["passed"] and "geen baseline op dezelfde gegevens" in gate["baseline"]["detail"]


@pytest.mark.parametrize(("args", "says"), [
    (("--to", "klaar"), "Onbekende fase 'klaar'"),
    (("--to", "opschalen"), "Een fase overslaan kan niet"),
    (("--to", "idee"), "Terug van 'experiment' naar 'idee' kan niet"),
    (("--to", "experiment"), "staat al in fase 'experiment'"),
    (("--to", "gestopt"), "alleen met een reden"),
    (("--org", "anzegem"), "anzegem mag pilot ebox-besparing niet wijzigen"),
    (("--org", "anzegem", "--dry-run"), "anzegem mag pilot ebox-besparing niet wijzigen"),
    (("--org", "brugge"), "Onbekende organisatie 'brugge'"),
])
def test_bad_promotions_say_what_to_do_and_change_nothing(run_cli, pilots_copy: Path, args, says):
    folder = pilots_copy / "ebox-besparing"
    run_cli("run", "ebox-besparing", "--baseline")  # the experiment exists, with its tags
    before = _state(folder)
    result = run_cli("promote", "ebox-besparing", *args, code=1)
    assert says in result.stderr
    assert _state(folder) == before


def test_stopping_needs_a_reason_and_ends_the_lifecycle(run_cli, pilots_copy: Path):
    folder = pilots_copy / "ebox-besparing"
    run_cli("promote", "ebox-besparing", "--to", "gestopt", "--reason", "geen volumes van de eigen diensten")
    manifest = yaml.safe_load((folder / "pilot.yaml").read_text(encoding="utf-8"))
    assert manifest["stage"] == "gestopt" and manifest["history"][-1]["reason"].startswith("geen volumes")
    assert _experiment_tags("ebox-besparing")[TAG_STAGE] == "gestopt"
    before = _state(folder)
    assert "gestopte pilot" in run_cli("promote", "ebox-besparing", code=1).stderr
    assert _state(folder) == before
    run_cli("validate")


@pytest.mark.parametrize(("edit", "says"), [
    (lambda m: m.update(stage="opschalen"), "past niet bij history"),
    (lambda m: m["history"][0].update(stage="pilot"), "slaat een fase over"),
    (lambda m: m["history"].append({**m["history"][0], "previous": "pilot", "stage": "opschalen"}),
     "begint bij 'pilot'"),
    (lambda m: m["ai_act"]["profile"].update(risk_group="hoog-risico AI"), "volgt niet uit de antwoorden"),
    (lambda m: m["ai_act"].update(risk_class="hoog"), "past niet bij het profiel"),
])
def test_validate_reports_a_manifest_edited_into_an_inconsistent_state(run_cli, pilots_copy: Path, edit, says):
    path = pilots_copy / "vragenrouter" / "pilot.yaml"
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(manifest)
    path.write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = run_cli("validate", code=1)
    assert says in result.stderr and "vragenrouter/pilot.yaml" in result.stderr
    before = path.read_bytes()
    assert says in run_cli("promote", "vragenrouter", code=1).stderr  # no promotion from an inconsistent state
    assert path.read_bytes() == before


def test_a_server_that_is_down_changes_nothing(run_cli, pilots_copy: Path, monkeypatch):
    from conftest import free_port

    folder = pilots_copy / "ebox-besparing"
    before = (folder / "pilot.yaml").read_bytes()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    result = run_cli("promote", "ebox-besparing", "--to", "gestopt", "--reason", "test van een dode server", code=1)
    assert "niet bereikbaar" in result.stderr
    assert (folder / "pilot.yaml").read_bytes() == before
    mlflow.set_tracking_uri(None)
