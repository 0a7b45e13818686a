"""The public register record: one record per organisation that uses a pilot, in the Dutch algorithm register's
publication standard 1.0.0 (`../shared/standards/algoritmeregister-1.0.0.schema.json`; Flanders has none yet).

Every field comes from the manifest, `proeftuin.yaml` or the tracked facts (MLflow). A mandatory field none of
them can fill is reported by name (`RecordIncomplete`), never invented.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from proeftuin import wording
from proeftuin.errors import ProeftuinError
from proeftuin.governance import aiact
from proeftuin.governance.duties import dpia_status, fria_required
from proeftuin.pilot import Pilot
from proeftuin.settings import Settings

SCHEMA_FILE = "algoritmeregister-1.0.0.schema.json"
STATUS = {"idee": "In ontwikkeling", "experiment": "In ontwikkeling", "pilot": "In gebruik",
          "opschalen": "In gebruik", "gestopt": "Buiten gebruik"}
#: The programme's themes -> the register's (the OWMS theme list of official publications).
THEMES = {"regiowerking": "Bestuur", "digitaal veilig": "Openbare orde en veiligheid", "dienstverlening": "Bestuur",
          "data": "Bestuur", "informatie- en archiefbeheer": "Bestuur", "infrastructuur": "Ruimte en infrastructuur",
          "artificiële intelligentie": "Bestuur"}
TASKS = {
    "classification": "Een taalmodel (TF-IDF-kenmerken en logistische regressie, scikit-learn) leert uit voorbeelden "
                      "met hun juiste antwoord welke klasse bij een tekst hoort en geeft de drie waarschijnlijkste "
                      "met hun zekerheid.",
    "retrieval": "Een zoekmodel (BM25, eventueel herschikt met een taalmodel) zoekt de passages die het best bij een "
                 "vraag passen en toont ze met hun bron; het schrijft zelf geen antwoord.",
    "scenario": "Een rekenmodel (een groeicurve, gefit met scipy) schat uit historische cijfers hoe een aantal zich "
                "verder ontwikkelt, met een onzekerheidsband.",
    "clustering": "Een indelingsmodel (k-means, scikit-learn) deelt antwoorden op een vragenlijst in profielen in en "
                  "koppelt elk profiel aan een voorstel.",
}
MAX = {"name": 99, "description_short": 399, "organization": 99, "purpose_and_impact": 2499, "considerations": 2499,
       "human_intervention": 2499, "risk_management": 2499, "legal_basis": 2499, "legal_basis_title": 99,
       "impact_assessment_explanation": 2499, "data": 2499, "technical_operation": 4999, "supplier": 199}


class RecordIncomplete(ProeftuinError):
    def __init__(self, slug: str, org: str, missing: dict[str, str]) -> None:
        self.missing = missing
        lines = "\n".join(f"  - {name}: {todo}" for name, todo in missing.items())
        super().__init__(f"Het registerrecord van {slug} voor {org} mist verplichte velden:\n{lines}",
                         "Vul ze aan en exporteer opnieuw; er is niets geschreven.")


@dataclass
class Facts:
    """What MLflow knows about the pilot (none of it when the store is unreachable)."""

    champion_value: float | None = None
    champion_version: str | None = None
    baseline_value: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)


def facts_from_mlflow(client: Any, pilot: Pilot) -> Facts:
    from proeftuin import tracking

    metric = pilot.manifest.metric
    facts = Facts()
    version = tracking.champion_version(client, pilot.slug)
    if version is not None and version.run_id:
        facts.champion_version = str(version.version)
        facts.metrics = dict(client.get_run(version.run_id).data.metrics)
        facts.champion_value = facts.metrics.get(metric.name)
    experiment = client.get_experiment_by_name(pilot.slug)
    if experiment is not None:
        rows = tracking.compare_runs(client, experiment.experiment_id, metric.name, metric.greater_is_better)
        baseline = next((r for r in rows if r.kind == "baseline" and metric.name in r.metrics), None)
        facts.baseline_value = baseline.metrics[metric.name] if baseline else None
    return facts


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The standard's JSON Schema: a byte-for-byte copy of the shared standard, shipped with the package (EUPL-1.2)."""
    return json.loads((Path(__file__).parent / SCHEMA_FILE).read_text(encoding="utf-8"))


def validation_errors(record: dict[str, Any]) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft7Validator(schema(),
                                           format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(record)'}: {e.message}"
            for e in sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))]


def organisation_name(settings: Settings, slug: str) -> str:
    org = settings.organisation(slug)
    prefix = {"stad": "Stad ", "gemeente": "Gemeente "}.get(org.kind, "")
    return f"{prefix}{org.name}"


def _month(timestamp: str) -> str:
    return timestamp[:7]


def _clip(key: str, text: str) -> str:
    limit = MAX.get(key)
    text = " ".join(text.split())
    return text if limit is None or len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build(pilot: Pilot, org: str, settings: Settings, facts: Facts) -> dict[str, Any]:
    """The record for `org` (which must use the pilot). Raises RecordIncomplete naming every field it cannot fill."""
    m = pilot.manifest
    organisation = settings.organisation(org)  # an unknown organisation is said as such
    if org not in m.organisations:
        raise ProeftuinError(
            f"Organisatie '{org}' gebruikt pilot {m.slug} niet (eigenaar {m.owner}, doen mee: "
            f"{', '.join(m.participants) or 'niemand'}).",
            f"Exporteer voor een van: {', '.join(m.organisations)}; of voeg {org} toe aan participants.")
    missing: dict[str, str] = {}
    profile = m.ai_act.profile
    record: dict[str, Any] = {
        "name": m.title,
        "description_short": f"{m.title}: {m.question} Een proef in Proeftuin, de AI-proeftuin van de "
                             f"Zuid-West-Vlaamse gemeenten.",
        "organization": organisation_name(settings, org),
        "theme": [THEMES.get(m.theme, "Bestuur")],
        "status": STATUS[m.stage],
    }
    started = next((c for c in m.history if c.stage == "pilot"), None) or (m.history[0] if m.history else None)
    if started is None:
        missing["start_date"] = "de pilot heeft nog geen geschiedenis: promoveer hem eerst (proeftuin promote)"
    else:
        record["start_date"] = _month(started.at)
    stopped = next((c for c in m.history if c.stage == "gestopt"), None)
    if stopped is not None:
        record["end_date"] = _month(stopped.at)
    contact = organisation.contact
    if contact:
        record["contact"] = contact
    else:
        missing["contact"] = (f"geef {org} een algemeen contactadres (e-mail of https://...) in proeftuin.yaml, "
                              f"organisations: contact")
    if m.publication.link:
        record["link"] = m.publication.link
    if profile is None:
        missing["publication_category"] = f"bepaal eerst het AI-Act-profiel: proeftuin ai-act {m.slug}"
    else:
        record["publication_category"] = profile.publication_category
    purpose = f"Doel: {m.question} {m.ai_act.reasoning}"
    if m.restrictions:
        purpose += " Het systeem wordt nooit gebruikt voor: " + "; ".join(m.restrictions) + "."
    record["purpose_and_impact"] = purpose
    if m.publication.considerations:
        record["considerations"] = m.publication.considerations
    else:
        missing["considerations"] = ("schrijf de afweging van voor- en nadelen en de overwogen alternatieven in "
                                     "pilot.yaml, register: considerations")
    oversight = m.human_oversight.description
    if m.human_oversight.threshold_parameter and "auto_share" in facts.metrics:
        share = 1 - facts.metrics["auto_share"]
        oversight += (f" Op testgegevens ging {wording.percent(share)} van de gevallen naar een medewerker "
                      f"(drempel {m.parameters.get(m.human_oversight.threshold_parameter)}).")
    record["human_intervention"] = oversight
    record["risk_management"] = _risk_management(pilot)
    if m.publication.legal_basis:
        record["legal_basis"] = m.publication.legal_basis
    if m.publication.legal_basis_link:
        record["legal_basis_link"] = m.publication.legal_basis_link
    record["impact_assessments"], link = _assessments(pilot)
    if link:
        record["impact_assessment_link"] = link
    record["data"] = " ".join(
        f"{s.description or s.path} (licentie {s.licence}; {'met' if s.personal_data else 'zonder'} "
        f"persoonsgegevens{'; herkomst: ' + s.source if s.source else ''})." for s in m.data)
    record["technical_operation"] = _technical(pilot, facts)
    if m.publication.supplier:
        record["supplier"] = m.publication.supplier
    elif profile is not None and profile.role.startswith("aanbieder"):
        record["supplier"] = (f"Eigen ontwikkeling in Proeftuin, met open-source bibliotheken (eigenaar: "
                              f"{organisation_name(settings, m.owner)})")
    else:
        missing["supplier"] = "de toepassing komt van buiten: zet de leverancier in pilot.yaml, register: supplier"
    if m.publication.source_code_link:
        record["source_code_link"] = m.publication.source_code_link
    record["language"], record["schema"] = "nld", "1.0.0"
    record["source_id"] = f"proeftuin:{m.slug}:{org}"
    if missing:
        raise RecordIncomplete(m.slug, org, missing)
    return {key: _clip(key, value) if isinstance(value, str) and key in MAX else value
            for key, value in record.items()}


def _risk_management(pilot: Pilot) -> str:
    m = pilot.manifest
    parts = []
    if m.publication.risk_management:
        parts.append(m.publication.risk_management)
    if m.personal_data:
        parts.append("Persoonsgegevens (namen, rijksregisternummers, IBAN's, telefoonnummers, e-mail- en "
                     "straatadressen) worden automatisch verwijderd vóór training, logging en tonen.")
    if m.human_oversight.threshold_parameter:
        parts.append("Onder de zekerheidsdrempel beslist altijd een medewerker.")
    parts.append("Een nieuw model vervangt het gebruikte alleen als het op testgegevens die het niet zag beter "
                 "scoort; elke run is terug te vinden met wie, wanneer en op welke gegevens.")
    if m.fria is not None:
        parts.append(f"Maatregelen uit de grondrechtenbeoordeling: {m.fria.mitigation}")
    return " ".join(parts)


def _assessments(pilot: Pilot) -> tuple[str, str | None]:
    m = pilot.manifest
    done = []
    link = None
    if m.personal_data:
        ok, how = dpia_status(m, pilot.path)
        done.append(how if ok else "DPIA: nog niet gedaan")
        if m.dpia is not None and m.dpia.link:
            link = m.dpia.link
    if fria_required(m):
        done.append("Grondrechtenbeoordeling (FRIA, art. 27 AI-verordening): "
                    + ("gedaan" if m.fria is not None else "nog niet gedaan"))
    return (" ".join(done) if done else "Geen impacttoets nodig: de pilot gebruikt geen persoonsgegevens en is "
            "geen hoog-risico AI-systeem."), link


def _technical(pilot: Pilot, facts: Facts) -> str:
    m = pilot.manifest
    text = TASKS.get(m.task, f"Taak: {m.task}.")
    label = wording.metric_label(m.metric.name)
    if facts.champion_value is not None:
        text += (f" Het gebruikte model (versie {facts.champion_version}) haalt een {label} van "
                 f"{wording.value(m.metric.name, facts.champion_value)} op testgegevens die het niet zag")
        baseline = facts.baseline_value if facts.baseline_value is not None else m.metric.baseline
        if baseline is not None:
            text += f", tegenover {wording.value(m.metric.name, baseline)} voor de eenvoudige vergelijkingsaanpak"
        text += "."
    elif m.metric.baseline is not None:
        text += (f" Er is nog geen model in gebruik; de eenvoudige vergelijkingsaanpak haalt een {label} van "
                 f"{wording.value(m.metric.name, m.metric.baseline)}.")
    if m.ai_act.profile is not None and aiact.TRANSPARENCY.keys() & set(m.ai_act.profile.transparency):
        text += " Wie het systeem gebruikt, ziet dat de uitkomst van een AI-systeem komt."
    return text
