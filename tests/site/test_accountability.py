"""The "Verantwoording" section and the "Register" overview, built for real with MkDocs from real runs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml
from conftest import ROOT
from test_site import broken_internal_links, parse, visible_text

from proeftuin import wording

#: The standard as the programme shares it (`../shared` next to the project, or the machine's /work/shared).
STANDARD = next(folder for folder in (ROOT.parent / "shared", Path("/work/shared")) if folder.is_dir()) / \
    "standards" / "algoritmeregister-1.0.0.schema.json"
HOSTILE = "<script>alert(1)</script> [klik](javascript:alert(1)) {: onclick=alert(1) }"
#: A municipality deciding with a model who is entitled to a supplementary benefit (bijlage III, punt 5, a).
BENEFITS = {"algoritme": "ja", "rol": "eigen-gebruik", "ai_systeem": "ja", "uitzondering": "nee",
            "verboden": ["geen"], "bijlage_i": "nee", "bijlage_iii": ["openbare-diensten"], "profilering": "ja",
            "interactie": "nee", "genereert": "nee", "emotie_biometrie": "nee", "open_source": "nee"}


def _with_contacts(tmp_path: Path, monkeypatch, pilots: Path) -> None:
    config = yaml.safe_load((ROOT / "proeftuin.yaml").read_text(encoding="utf-8"))
    for org in config["organisations"]:
        if org["slug"] != "menen":  # Menen has no contact address yet: its record must say so
            org["contact"] = f"https://www.{org['slug']}.be/contact"
    (tmp_path / "proeftuin.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    for name in ("mkdocs.yml", "docs", "src"):  # the site is built from the project next to its configuration
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.setenv("PROEFTUIN_CONFIG", str(tmp_path / "proeftuin.yaml"))
    monkeypatch.setenv("PROEFTUIN_PILOTS_DIR", str(pilots))


def _edit(folder: Path, **changes) -> None:
    path = folder / "pilot.yaml"
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_each_pilot_page_accounts_for_itself_and_offers_valid_register_records(run_cli, pilots_copy: Path,
                                                                              tmp_path: Path, monkeypatch):
    _with_contacts(tmp_path, monkeypatch, pilots_copy)
    _edit(pilots_copy / "ebox-besparing",
          register={"considerations": "Sneller een onderbouwde schatting dan met de hand; het alternatief was een "
                                      "rekenblad per dienst."})
    baseline = run_cli.json("run", "ebox-besparing", "--baseline")
    model = run_cli.json("run", "ebox-besparing")
    # A high-risk pilot: a copy of the router that decides on benefits, with the decision recorded by the CLI.
    run_cli("new", "--from", "vragenrouter", "--org", "anzegem")
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump(BENEFITS), encoding="utf-8")
    run_cli("ai-act", "vragenrouter-anzegem", "--answers", str(answers), "--org", "anzegem")
    run_cli("promote", "vragenrouter-anzegem", "--org", "anzegem", "--reason", HOSTILE)
    site = tmp_path / "site"
    run_cli("docs", "build", "--output", str(site), "--strict")

    page = site / "pilots" / "ebox-besparing.html"
    words = visible_text(page)
    for expected in ("Verantwoording", "Fase en geschiedenis", "De pilot staat in fase experiment",
                     "idee → experiment", "Kortrijk", "Manifest en gegevens op orde", "Risicogroep",
                     "Niet van toepassing", "niet-impactvol algoritme", "Waarom:", "De beantwoorde vragen",
                     "art. 3, punten 1, 63 en 66", "Plichten", "DPIA: niet nodig", "FRIA", "niet vereist",
                     "Registerrecord", "AI-geletterdheid"):
        assert expected in words, expected
    assert "proeftuin-team" not in words  # who clicked stays in the manifest; the site names the organisation
    # Kortrijk and W13 have all fields: a record each, valid against the standard; Menen's says what is missing.
    validator = jsonschema.Draft7Validator(json.loads(STANDARD.read_text(encoding="utf-8")),
                                           format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    for org, name in (("kortrijk", "Stad Kortrijk"), ("w13", "W13")):
        record = json.loads((site / "pilots" / "ebox-besparing" / f"register-{org}.json").read_text(encoding="utf-8"))
        assert list(validator.iter_errors(record)) == []
        assert record["organization"].startswith(name) and record["status"] == "In ontwikkeling"
        assert record["contact"] == f"https://www.{org}.be/contact"
        assert f'href="ebox-besparing/register-{org}.json"' in page.read_text(encoding="utf-8")
    technical = record["technical_operation"]  # the champion the run registered, against the baseline run
    assert "versie 1" in technical and wording.value("forecast_mae", model["metrics"]["forecast_mae"]) in technical
    assert wording.value("forecast_mae", baseline["metrics"]["forecast_mae"]) in technical
    assert not (site / "pilots" / "ebox-besparing" / "register-menen.json").exists()
    assert "Menen: nog niet volledig, ontbreekt: contact" in words

    # The router's records are incomplete (no considerations): named, not invented.
    router = visible_text(site / "pilots" / "vragenrouter.html")
    assert "ontbreekt: considerations" in router and "Geen hoog-risico AI" in router
    assert "✗ nog open" in router and "AI-geletterdheid van wie het systeem gebruikt" in router
    assert not list((site / "pilots" / "vragenrouter").glob("register-*.json"))

    high = site / "pilots" / "vragenrouter-anzegem.html"
    words = visible_text(high)
    assert "Hoog-risico AI" in words and "Gebied van bijlage III" in words
    assert "✗ nog open Beoordeling van de gevolgen voor de grondrechten (FRIA) art. 27" in words
    assert "Vul de FRIA in met: proeftuin fria vragenrouter-anzegem" in words
    assert "Logboeken minstens zes maanden bewaren" in words
    assert "<script>alert(1)</script>" in words  # the hostile reason is shown as text ...
    parsed = parse(high)
    assert not parsed.handlers and not parsed.inline_scripts_with("alert")  # ... and does nothing
    assert not any(link.startswith("javascript:") for link in parsed.links)

    overview = site / "overzicht" / "register.html"
    register = visible_text(overview)
    category_a = register[register.index("Hoog-risico AI-systeem (Categorie A)"):
                          register.index("Impactvolle algoritmes (Categorie B)")]
    assert "Vragenrouter" in category_a and "nog geen volledig record" in category_a
    category_c = register[register.index("Overige algoritmes (Categorie C)"):]
    for title in ("eBox-besparing", "Kennisbank voor het contactcenter", "Digitale maturiteit"):
        assert title in category_c, title
    assert 'href="../pilots/ebox-besparing/register-kortrijk.json"' in overview.read_text(encoding="utf-8")
    assert "Verantwoording" in visible_text(site / "verantwoording.html")
    assert broken_internal_links(site) == []
