"""The "Verantwoording" section of each pilot page and the "Register" overview.

Per pilot: its stage and the history that led there, its AI-Act risk group with the reasoning and the
answered questions, the duties that follow and whether each is met, the DPIA/FRIA status, and per
organisation that uses it the public register record to download (or the fields it still misses).
The records are the ones `proeftuin register export` writes: same builder, same tracked facts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import quote

from proeftuin.errors import ProeftuinError
from proeftuin.governance import aiact, register
from proeftuin.governance.duties import duties, fria_required
from proeftuin.pilot import Manifest, Pilot
from proeftuin.site.collect import PILOTS_DIR, PilotEntry, SiteData
from proeftuin.site.sanitise import text
from proeftuin.text import anchor

REGISTER_PAGE = "register.md"  # under OVERVIEW_DIR
CATEGORIES = {
    aiact.CATEGORY_A: "Hoog-risico AI-systemen. Publicatie in het register is de norm; de overheid als gebruiker "
                      "registreert ze ook in de EU-databank (art. 49, lid 3).",
    aiact.CATEGORY_B: "Algoritmes met gevolgen voor burgers of groepen (een rechtsgevolg, een weigering, een indeling "
                      "van personen). Publicatie wordt verwacht.",
    aiact.CATEGORY_C: "Overige algoritmes: geen plicht, wel openheid als goede praktijk.",
}


@dataclass
class Record:
    """One organisation's register record: the JSON when it is complete and valid, else what is missing."""

    organisation: str
    content: dict | None = None
    missing: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def file_name(self) -> str:
        return f"register-{self.organisation}.json"


def records(entry: PilotEntry, data: SiteData) -> list[Record]:
    """A record per organisation that uses the pilot, built as `proeftuin register export` builds it."""
    m = entry.manifest
    if m is None or entry.broken:
        return []
    pilot = Pilot(entry.path, m)
    facts = entry.facts or register.Facts()
    out = []
    for org in m.organisations:
        record = Record(org)
        try:
            record.content = register.build(pilot, org, data.settings, facts)
        except register.RecordIncomplete as exc:
            record.missing = exc.missing
        except ProeftuinError as exc:
            record.errors = [exc.message]
        else:
            record.errors = register.validation_errors(record.content)
            if record.errors:
                record.content = None
        out.append(record)
    return out


def record_files(entry: PilotEntry, found: list[Record]) -> dict[str, bytes]:
    """The downloadable records, next to the pilot's plots (pilots/<folder>/register-<org>.json)."""
    return {f"{PILOTS_DIR}/{entry.folder}/{r.file_name}":
            (json.dumps(r.content, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
            for r in found if r.content is not None}


def section(entry: PilotEntry, m: Manifest, data: SiteData, found: list[Record]) -> list[str]:
    """The "Verantwoording" section of a pilot page."""
    lines = ["## Verantwoording", "",
             "Wat dit systeem is onder de AI-verordening, welke plichten daaruit volgen en hoe ver de pilot staat. "
             "Zo kan iedereen nagaan waarom de pilot een volgende stap mocht zetten "
             "(uitleg: [Verantwoording](../verantwoording.md)).", ""]
    lines += _history(m, data)
    lines += _risk(m)
    lines += _duties(entry, m)
    lines += _records(entry, m, data, found)
    return lines


def _history(m: Manifest, data: SiteData) -> list[str]:
    lines = ["### Fase en geschiedenis", "", f"De pilot staat in fase **{text(m.stage)}**.", ""]
    if not m.history:
        return lines + [f"Nog geen stap vastgelegd. Een stap zet je met `proeftuin promote {m.slug}`; "
                        "die controleert eerst of het bewijs er is.", ""]
    lines += ["| Datum | Stap | Organisatie | Reden | Bewijs |", "| --- | --- | --- | --- | --- |"]
    for change in m.history:
        evidence = ", ".join(f"{text(key)}: <code>{text(value.removeprefix('sha256:')[:12])}</code>"
                             for key, value in sorted(change.evidence.items())) or "—"
        lines.append(f"| {text(change.at[:10])} | {text(change.previous)} → {text(change.stage)} | "
                     f"{text(data.org_name(change.organisation))} | {text(change.reason) or '—'} | {evidence} |")
    return lines + [""]


def _risk(m: Manifest) -> list[str]:
    profile = m.ai_act.profile
    lines = ["### Risicogroep", ""]
    if profile is None:
        return lines + [f"Risicoklasse volgens de pilot: **{text(m.ai_act.risk_class)}**. {text(m.ai_act.reasoning)}",
                        "", "Het AI-Act-profiel is nog niet bepaald. Beantwoord de vragen met "
                        f"`proeftuin ai-act {m.slug}`.", ""]
    group = profile.risk_group[:1].upper() + profile.risk_group[1:]
    lines += [f"**{text(group)}** ({text(profile.type)}; rol: {text(profile.role)}; "
              f"publicatiecategorie: {text(profile.publication_category)}).", "",
              f"**Waarom:** {text(m.ai_act.reasoning)}", ""]
    if profile.annex_iii_area:
        lines += [f"Gebied van bijlage III: {text(profile.annex_iii_area)}.", ""]
    if profile.steps:
        lines += ['??? info "De beantwoorde vragen, elk met het artikel waarop ze steunen"', "",
                  "    | Vraag | Antwoord | Artikel |", "    | --- | --- | --- |"]
        lines += [f"    | {text(s.question)} | {text(s.answer)} | {text(s.article)} |" for s in profile.steps]
        lines.append("")
    lines += ["Iedereen die met dit systeem werkt, moet weten wat het kan en niet kan "
              "(de plicht tot AI-geletterdheid, zie [AI-geletterdheid](../ai-geletterdheid.md)).", ""]
    return lines


def _duties(entry: PilotEntry, m: Manifest) -> list[str]:
    lines = ["### Plichten", ""]
    found = duties(m, entry.path)
    if found:
        lines += ["| | Plicht | Artikel | Hoe |", "| --- | --- | --- | --- |"]
        for duty in found:
            mark = '<span class="pt-met">✓ voldaan</span>' if duty.met else '<span class="pt-open">✗ nog open</span>'
            lines.append(f"| {mark} | {text(duty.title)} | {text(duty.article)} | {text(duty.how)} |")
    else:
        lines.append("Uit het profiel volgen geen bijzondere plichten." if m.ai_act.profile else
                     "De plichten volgen uit het AI-Act-profiel, dat er nog niet is.")
    lines.append("")
    if not m.personal_data:  # with personal data the DPIA is one of the duties above
        lines += ["**DPIA:** niet nodig, de pilot gebruikt geen persoonsgegevens.", ""]
    if not fria_required(m):  # when it is required, it is one of the duties above
        lines += ["**FRIA (grondrechtenbeoordeling, art. 27):** niet vereist voor deze risicogroep.", ""]
    return lines


def _records(entry: PilotEntry, m: Manifest, data: SiteData, found: list[Record]) -> list[str]:
    lines = ["### Registerrecord", "",
             "Per organisatie die de pilot gebruikt een record volgens de publicatiestandaard 1.0 van het "
             "Nederlandse algoritmeregister (Vlaanderen heeft er nog geen). Hetzelfde record maak je met "
             f"`proeftuin register export {m.slug} --org <organisatie> --output record.json`.", ""]
    if not found:
        lines.append("Nog geen record: los eerst de problemen bovenaan deze pagina op.")
    for record in found:
        name = text(data.org_name(record.organisation))
        if record.content is not None:
            lines.append(f"- {name}: [{record.file_name}]({quote(entry.folder)}/{record.file_name})"
                         f'{{: download="{record.file_name}" }}')
        elif record.missing:
            lines.append(f"- {name}: nog niet volledig, ontbreekt: "
                         + "; ".join(f"<code>{text(k)}</code> ({text(v)})" for k, v in record.missing.items()))
        else:
            lines.append(f"- {name}: geen geldig record: {text('; '.join(record.errors))}")
    return lines + [""]


def register_page(data: SiteData, found: dict[str, list[Record]]) -> str:
    """All pilots per publication category of the register, with their records."""
    lines = ["# Register", "",
             "Alle pilots per publicatiecategorie van het algoritmeregister. De categorie volgt uit het "
             "AI-Act-profiel van de pilot; het record per organisatie download je op de pagina van de pilot.", ""]
    valid = sorted((e for e in data.pilots if e.manifest and not e.broken), key=lambda e: e.title.lower())
    for category, description in CATEGORIES.items():
        pilots = [e for e in valid if e.manifest.ai_act.profile
                  and e.manifest.ai_act.profile.publication_category == category]
        lines += [f"## {text(category)} {{#{anchor(category)}}}", "", text(description), ""]
        lines += _register_table(pilots, data, found) or ["Geen pilot in deze categorie.", ""]
    undecided = [e for e in valid if e.manifest.ai_act.profile is None]
    if undecided:
        lines += ["## Nog niet bepaald {#nog-niet-bepaald}", "",
                  "Voor deze pilots is het AI-Act-profiel nog niet bepaald: `proeftuin ai-act <pilot>`.", ""]
        lines += [f"- [{text(e.title)}](../{PILOTS_DIR}/{quote(e.page_name)})" for e in undecided] + [""]
    return "\n".join(lines) + "\n"


def _register_table(pilots: list[PilotEntry], data: SiteData, found: dict[str, list[Record]]) -> list[str]:
    if not pilots:
        return []
    lines = ["| Pilot | Risicogroep | Fase | Records |", "| --- | --- | --- | --- |"]
    for e in pilots:
        m = e.manifest
        ready = [r for r in found.get(e.slug, []) if r.content is not None]
        records_cell = ", ".join(
            f"[{text(data.org_name(r.organisation))}](../{PILOTS_DIR}/{quote(e.folder)}/{r.file_name})"
            for r in ready) or "nog geen volledig record"
        lines.append(f"| [{text(m.title)}](../{PILOTS_DIR}/{quote(e.page_name)}#verantwoording) | "
                     f"{text(m.ai_act.profile.risk_group)} | "
                     f"[{text(m.stage)}](fasen.md#{anchor(m.stage)}) | {records_cell} |")
    return lines + [""]

