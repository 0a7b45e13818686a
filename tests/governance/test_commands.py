"""`proeftuin ai-act`, `fria` and `status` as a user drives them: what is stored, what is refused, what is shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from govkit import BASE, BENEFITS
from govkit import edit as _edit
from govkit import manifest as _manifest

from proeftuin.cli import cli
from proeftuin.governance import aiact
from proeftuin.governance.lifecycle import FRIA_FIELDS

CHAT = {**BASE, "interactie": "ja", "genereert": "ja", "open_source": "ja"}
FRIA = {
    "processes": "Beoordelen of een aanvrager recht heeft op de aanvullende toelage van het OCMW.",
    "period_and_frequency": "Een jaar lang, bij elke aanvraag (ongeveer 40 per week).",
    "affected_groups": "Aanvragers van een toelage, vaak gezinnen met een laag inkomen.",
    "risks": "Een terechte aanvraag wordt als onterecht voorgesteld; groepen krijgen vaker een weigering.",
    "oversight": "Een maatschappelijk werker beslist elke aanvraag zelf en ziet waarom het model iets voorstelt.",
    "mitigation": "Elke weigering kan met bezwaar naar het vast bureau; het model wordt dan stilgelegd en herzien.",
}


def _write(path: Path, value) -> Path:
    path.write_text(value if isinstance(value, str) else yaml.safe_dump(value, allow_unicode=True),
                    encoding="utf-8")
    return path


def _gates(report: dict) -> dict[str, bool]:
    return {gate["id"]: gate["passed"] for gate in report["gates"]}


def _status(run_cli) -> dict[str, dict]:
    return {row["pilot"]: row for row in run_cli.json("status")}


# -- ai-act -------------------------------------------------------------------------------------------------

def test_answers_from_a_file_are_stored_as_the_profile_and_the_rest_of_the_manifest_stays(run_cli, pilots_copy: Path,
                                                                                          tmp_path: Path,
                                                                                          monkeypatch):
    monkeypatch.setenv("PROEFTUIN_USER", "an.trekker")
    path = pilots_copy / "vragenrouter" / "pilot.yaml"
    before = path.read_text(encoding="utf-8")
    answers = _write(tmp_path / "antwoorden.json", json.dumps(CHAT))  # JSON is YAML too
    result = run_cli("ai-act", "vragenrouter", "--answers", str(answers))
    assert "Risicogroep: geen hoog-risico AI" in result.stdout
    assert "Mensen melden dat ze met een AI-systeem praten (art. 50, lid 1)" in result.stdout  # a duty that follows
    assert "Opgeslagen in" in result.stdout
    ai_act = _manifest(pilots_copy / "vragenrouter")["ai_act"]
    profile = ai_act["profile"]
    assert ai_act["risk_class"] == "beperkt"
    assert profile["risk_group"] == "geen hoog-risico AI" and profile["transparency"] == ["interactie", "genereert"]
    assert profile["answers"] == CHAT and profile["decided_by"] == "an.trekker" and profile["decided_at"]
    assert "Transparantieplicht" in ai_act["reasoning"] and "art. 50, lid 1" in ai_act["reasoning"]
    assert [s["article"] for s in profile["steps"]] == [aiact.QUESTIONS[q].article for q in CHAT]
    assert profile["steps"][0]["question"] == aiact.QUESTIONS["algoritme"].text
    after = path.read_text(encoding="utf-8")
    kept = before[: before.index("\nai_act:")]
    assert after.startswith(kept) and "participants: [waregem, harelbeke, leiedal]" in after  # layout kept
    assert after[after.index("\nhistory:"):] == before[before.index("\nhistory:"):]
    run_cli("validate")


def test_a_dry_run_shows_the_result_and_changes_nothing(run_cli, pilots_copy: Path, tmp_path: Path):
    path = pilots_copy / "vragenrouter" / "pilot.yaml"
    before = path.read_bytes()
    answers = _write(tmp_path / "antwoorden.yaml", CHAT)
    result = run_cli("ai-act", "vragenrouter", "--answers", str(answers), "--dry-run")
    assert "Risicogroep: geen hoog-risico AI" in result.stdout and "niets opgeslagen" in result.stdout
    assert "Praten of chatten mensen rechtstreeks met het systeem?\n    → ja  [art. 50, lid 1]" in result.stdout
    shown = run_cli.json("ai-act", "vragenrouter", "--answers", str(answers), "--dry-run")
    assert not shown["stored"] and shown["risk_class"] == "beperkt"
    assert shown["transparency"] == ["interactie", "genereert"]
    assert path.read_bytes() == before


def test_the_questions_are_listed_in_dutch(run_cli):
    out = run_cli("ai-act", "--questions", "vragenrouter").stdout
    for question in aiact.QUESTIONS.values():
        assert f"{question.id}: {question.text} [{question.article}]" in out
    assert "Bevat de toepassing een algoritme" in out and "openbare-diensten: Toegang tot essentiële" in out
    assert "verboden: Doet het systeem een van deze verboden praktijken? [art. 5] (meerdere)" in out


def _number(qid: str, answer) -> str:
    keys = list(aiact.QUESTIONS[qid].choices)
    values = answer if isinstance(answer, list) else [answer]
    return ",".join(str(keys.index(v) + 1) for v in values)


def test_answering_the_questions_one_by_one_ends_at_not_high_risk_for_the_router(pilots_copy: Path, monkeypatch):
    monkeypatch.setenv("PROEFTUIN_USER", "an.trekker")
    folder = pilots_copy / "vragenrouter"
    router = _manifest(folder)["ai_act"]["profile"]["answers"]
    # a number out of range and two answers to a one-answer question are asked again
    typed = ["9", "1,2"] + [_number(q, a) for q, a in router.items()]
    result = CliRunner().invoke(cli, ["ai-act", "vragenrouter"], input="\n".join(typed) + "\n",
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Kies uit 1 tot 2." in result.stdout and "Kies precies één antwoord." in result.stdout
    assert aiact.QUESTIONS["bijlage_iii"].text in result.stdout and "Artikel: art. 6, lid 2; bijlage III" \
        in result.stdout
    assert "Risicogroep: geen hoog-risico AI" in result.stdout
    profile = _manifest(folder)["ai_act"]["profile"]
    assert profile["risk_group"] == "geen hoog-risico AI" and profile["answers"] == router
    assert profile["decided_by"] == "an.trekker"


def test_stopping_halfway_through_the_questions_stores_nothing(pilots_copy: Path):
    path = pilots_copy / "vragenrouter" / "pilot.yaml"
    before = path.read_bytes()
    result = CliRunner().invoke(cli, ["ai-act", "vragenrouter"], input="1\n1\n", catch_exceptions=False)
    assert result.exit_code == 1
    assert "Geen antwoord gekregen op 'ai_systeem'" in result.stderr and "niets opgeslagen" in result.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize("command", ["ai-act", "fria"])
def test_another_organisation_is_refused_before_the_first_question(pilots_copy: Path, command):
    path = pilots_copy / "vragenrouter" / "pilot.yaml"
    before = path.read_bytes()
    result = CliRunner().invoke(cli, [command, "vragenrouter", "--org", "anzegem"], input="1\n",
                                catch_exceptions=False)
    assert result.exit_code == 1 and "anzegem mag pilot vragenrouter niet wijzigen" in result.stderr
    assert "?" not in result.stdout  # not one question was asked
    assert path.read_bytes() == before


@pytest.mark.parametrize(("slug", "answers", "says"), [
    ("vragenrouter", {k: v for k, v in BASE.items() if k != "bijlage_iii"},
     "Het antwoord op 'bijlage_iii' ontbreekt: Wordt het gebruikt in een van deze gebieden?"),
    ("vragenrouter", {**BASE, "bijlage_iii": ["geen", "onderwijs"]}, "spreken elkaar tegen"),
    ("vragenrouter", {"algoritme": "ja", "rol": "eigen-gebruik", "ai_systeem": "nee", "impactvol": "nee",
                      "profilering": "ja"}, "geen AI-systeem"),
    ("vragenrouter", {**BENEFITS, "uitzondering_6_3": ["procedurele-taak"]}, "profielen van mensen"),
    ("vragenrouter", {**BASE, "rol": "iemand"}, "onbekend antwoord iemand"),
    ("vragenrouter", {**BASE, "bijlage_4": "ja"}, "Onbekende vraag: bijlage_4"),
    ("kennisbank", BENEFITS, "personal_data"),  # profiles of people from data without personal data
    ("vragenrouter", "algoritme: [ja\n", "geen geldige YAML of JSON"),
    ("vragenrouter", "- algoritme\n- ja\n", "moet per vraag een antwoord geven"),
    ("vragenrouter", "", "moet per vraag een antwoord geven"),
    ("vragenrouter", None, "bestaat niet"),
], ids=["ontbrekend", "tegenstrijdig", "geen-ai-profilering", "uitzondering-bij-profilering", "onbekend-antwoord",
        "onbekende-vraag", "zonder-persoonsgegevens", "kapotte-yaml", "lijst", "leeg", "geen-bestand"])
def test_bad_answers_are_refused_by_name_and_change_nothing(run_cli, pilots_copy: Path, tmp_path: Path, slug, answers,
                                                            says):
    path = pilots_copy / slug / "pilot.yaml"
    before = path.read_bytes()
    file = tmp_path / "antwoorden.yaml"
    if answers is not None:
        _write(file, answers)
    result = run_cli("ai-act", slug, "--answers", str(file), code=1)
    assert "Fout: " in result.stderr and says in result.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize("extra", [(), ("--json",), ("--dry-run",)])
def test_another_organisation_cannot_set_the_profile(run_cli, pilots_copy: Path, tmp_path: Path, extra):
    path = pilots_copy / "vragenrouter" / "pilot.yaml"
    before = path.read_bytes()
    answers = _write(tmp_path / "antwoorden.yaml", CHAT)
    result = run_cli("ai-act", "vragenrouter", "--answers", str(answers), "--org", "anzegem", *extra, code=1)
    assert "anzegem mag pilot vragenrouter niet wijzigen" in result.stderr
    assert "proeftuin new --from vragenrouter --org anzegem" in result.stderr
    assert path.read_bytes() == before
    assert "Onbekende organisatie 'brugge'" in run_cli("ai-act", "vragenrouter", "--answers", str(answers),
                                                       "--org", "brugge", code=1).stderr
    assert path.read_bytes() == before


# -- a high-risk pilot and its FRIA --------------------------------------------------------------------------

def test_a_high_risk_benefits_pilot_needs_its_fria_before_it_becomes_a_pilot(run_cli, pilots_copy: Path,
                                                                             tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PROEFTUIN_USER", "an.trekker")
    slug, folder = "ebox-besparing", pilots_copy / "ebox-besparing"
    data = _manifest(folder)["data"]
    data[0]["personal_data"] = True  # the copy now decides on files about people
    _edit(folder, data=data, dpia={"status": "gedaan", "link": "https://www.kortrijk.be/privacy/dpia-toelage"})
    shown = run_cli("ai-act", slug, "--answers", str(_write(tmp_path / "uitkering.yaml", BENEFITS))).stdout
    assert "Risicogroep: hoog-risico AI" in shown and "Publicatiecategorie: Hoog-risico AI-systeem (Categorie A)" \
        in shown
    assert "✓ Menselijk toezicht door bevoegde en opgeleide mensen (art. 26, lid 2)" in shown
    for duty in ("✗ Logboeken minstens zes maanden bewaren (art. 26, lid 6)",
                 "✗ Werknemers en hun vertegenwoordigers informeren (art. 26, lid 7)",
                 "✗ Mensen over wie beslist wordt informeren (art. 26, lid 11)",
                 "✗ Registratie in de EU-databank (overheid als gebruiker) (art. 26, lid 8; art. 49, lid 3)",
                 "✗ Beoordeling van de gevolgen voor de grondrechten (FRIA) (art. 27): Vul de FRIA in met: "
                 f"proeftuin fria {slug}"):
        assert duty in shown
    assert _manifest(folder)["ai_act"]["risk_class"] == "hoog"
    run_cli("validate")

    run_cli("run", slug, "--baseline")
    run_cli("run", slug)
    before = (folder / "pilot.yaml").read_bytes()
    report = json.loads(run_cli("promote", slug, "--json", code=1).stdout)
    gates = _gates(report)
    assert gates.pop("fria") is False and all(gates.values())  # every other gate passes on the real runs
    assert set(gates) == {"baseline", "demo", "ai_act", "toezicht", "persoonsgegevens"}
    assert f"proeftuin fria {slug}" in json.dumps(report, ensure_ascii=False)
    assert (folder / "pilot.yaml").read_bytes() == before

    row = _status(run_cli)[slug]
    assert row["risk_group"] == "hoog-risico AI" and row["stage"] == "experiment" and row["next_stage"] == "pilot"
    assert [g["id"] for g in row["missing_gates"]] == ["fria"]
    open_duties = {d["id"]: d for d in row["open_duties"]}
    assert {"logboeken", "werknemers_informeren", "betrokkenen_informeren", "registratie", "fria",
            "ai_geletterdheid", "aanbieder_hoog_risico"} <= set(open_duties)
    assert "menselijk_toezicht" not in open_duties and "dpia" not in open_duties  # both met by the manifest
    assert open_duties["logboeken"]["article"] == "art. 26, lid 6"

    incomplete = {k: v for k, v in FRIA.items() if k not in ("risks", "mitigation")}
    result = run_cli("fria", slug, "--answers", str(_write(tmp_path / "half.yaml", incomplete)), code=1)
    assert "De FRIA is niet volledig: risks, mitigation ontbreekt" in result.stderr
    result = run_cli("fria", slug, "--answers", str(_write(tmp_path / "meer.yaml", {**FRIA, "kosten": "laag"})),
                     code=1)
    assert "Onbekend onderdeel van de FRIA: kosten" in result.stderr and "period_and_frequency" in result.stderr
    result = run_cli("fria", slug, "--answers", str(_write(tmp_path / "kort.yaml", {**FRIA, "risks": "weinig"})),
                     code=1)
    assert "fria.risks" in result.stderr  # too short to be an assessment
    result = run_cli("fria", slug, "--answers", str(_write(tmp_path / "ander.yaml", FRIA)), "--org", "anzegem",
                     code=1)
    assert "anzegem mag pilot ebox-besparing niet wijzigen" in result.stderr
    assert (folder / "pilot.yaml").read_bytes() == before

    stored = run_cli.json("fria", slug, "--answers", str(_write(tmp_path / "fria.yaml", FRIA)))
    assert stored["required"] and stored["fria"]["completed_by"] == "an.trekker"
    fria = _manifest(folder)["fria"]
    assert {k: fria[k] for k in FRIA_FIELDS} == FRIA and set(FRIA) == set(FRIA_FIELDS)
    assert fria["completed_by"] == "an.trekker" and fria["completed_at"]
    run_cli("validate")

    dry = json.loads(run_cli("promote", slug, "--dry-run", "--json").stdout)
    assert all(_gates(dry).values()) and "Ingevuld door an.trekker" in \
        {g["id"]: g for g in dry["gates"]}["fria"]["detail"]
    row = _status(run_cli)[slug]
    assert row["missing_gates"] == [] and "fria" not in {d["id"] for d in row["open_duties"]}
    assert "logboeken" in {d["id"] for d in row["open_duties"]}  # still to describe in duties:
    assert run_cli.json("promote", slug)["promoted"]
    assert _manifest(folder)["stage"] == "pilot"


def test_a_fria_for_a_pilot_that_does_not_need_one_says_so(run_cli, pilots_copy: Path, tmp_path: Path):
    result = run_cli("fria", "kennisbank", "--answers", str(_write(tmp_path / "fria.yaml", FRIA)))
    assert "FRIA opgeslagen" in result.stdout and "niet verplicht" in result.stdout
    assert _manifest(pilots_copy / "kennisbank")["fria"]["risks"] == FRIA["risks"]


def test_answering_the_fria_one_by_one_stores_it(pilots_copy: Path):
    result = CliRunner().invoke(cli, ["fria", "ebox-besparing"], input="\n".join(FRIA.values()) + "\n",
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert FRIA_FIELDS["affected_groups"] in result.stdout
    assert _manifest(pilots_copy / "ebox-besparing")["fria"]["mitigation"] == FRIA["mitigation"]


# -- status --------------------------------------------------------------------------------------------------

def test_status_lists_every_pilot_with_its_stage_risk_missing_gates_and_open_duties(run_cli, pilots_copy: Path):
    broken = pilots_copy / "kapot"
    broken.mkdir()
    (broken / "pilot.yaml").write_text("slug: kapot\ntitle: Kapot\n", encoding="utf-8")
    rows = _status(run_cli)
    assert set(rows) == {"vragenrouter", "kennisbank", "digitale-maturiteit", "ebox-besparing", "kapot"}
    assert "error" in rows["kapot"]
    for slug in ("vragenrouter", "kennisbank", "digitale-maturiteit", "ebox-besparing"):
        manifest = _manifest(pilots_copy / slug)
        row = rows[slug]
        assert row["stage"] == manifest["stage"] == "experiment" and row["next_stage"] == "pilot"
        assert row["risk_group"] == manifest["ai_act"]["profile"]["risk_group"]
        assert {"baseline", "demo"} <= {g["id"] for g in row["missing_gates"]}
        assert row["problems"] == []
    assert rows["ebox-besparing"]["risk_group"] == "niet van toepassing" and rows["ebox-besparing"]["open_duties"] \
        == []  # not an AI system: no AI-Act duties
    assert {g["id"] for g in rows["vragenrouter"]["missing_gates"]} == {"baseline", "demo", "toezicht",
                                                                         "persoonsgegevens"}
    assert {d["id"] for d in rows["vragenrouter"]["open_duties"]} == {"dpia", "ai_geletterdheid"}
    assert {d["id"] for d in rows["kennisbank"]["open_duties"]} == {"ai_geletterdheid", "transparantie_interactie"}

    _edit(pilots_copy / "kennisbank", duties={"transparantie_interactie": "Boven elk antwoord staat dat een "
                                                                          "AI-systeem het voorstelt."})
    assert {d["id"] for d in _status(run_cli)["kennisbank"]["open_duties"]} == {"ai_geletterdheid"}

    run_cli("run", "ebox-besparing", "--baseline")
    run_cli("run", "ebox-besparing")
    assert _status(run_cli)["ebox-besparing"]["missing_gates"] == []

    text = run_cli("status").stdout
    assert "ebox-besparing (eBox-besparing): fase experiment, risicogroep niet van toepassing" in text
    assert "Naar pilot: alle poorten gehaald" in text
    assert "vragenrouter (Vragenrouter): fase experiment, risicogroep geen hoog-risico AI\n  Naar pilot: nog 4 " \
           "poort(en)" in text
    assert "✗ Een gelogde run verslaat de gelogde baseline op macro-F1 (testgegevens): Er is nog geen baseline " \
           "gelogd. Doe: proeftuin run vragenrouter --baseline" in text
    assert "Open plicht: Gegevensbeschermingseffectbeoordeling (DPIA) (AVG, art. 35)" in text
    assert "kapot: ONGELDIG" in text


def test_status_shows_a_manifest_edited_into_an_inconsistent_state(run_cli, pilots_copy: Path):
    folder = pilots_copy / "vragenrouter"
    ai_act = _manifest(folder)["ai_act"]
    ai_act["profile"]["risk_group"] = "hoog-risico AI"
    _edit(folder, ai_act=ai_act)
    row = _status(run_cli)["vragenrouter"]
    assert any("volgt niet uit de antwoorden" in p for p in row["problems"])
    assert row["missing_gates"] == []  # no gates are judged on an inconsistent manifest
    assert "! ai_act.profile.risk_group" in run_cli("status").stdout
