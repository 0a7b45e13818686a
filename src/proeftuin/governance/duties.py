"""The duties that follow from a pilot's AI-Act profile, and whether the manifest shows each is met.

Most duties are met by saying how (the manifest's `duties:` mapping, duty id -> Dutch text, at least
20 characters); the FRIA, the DPIA and human oversight are met by their own sections of the manifest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from proeftuin.pilot import Manifest

MIN_TEXT = 20
PUBLIC_BODY = True  # every Proeftuin organisation is a municipality or a regional public body (Art. 27)


@dataclass(frozen=True)
class Duty:
    id: str
    title: str
    article: str
    met: bool
    how: str   # how it is met, or what to do (Dutch)

    def as_dict(self) -> dict:
        return asdict(self)


def _text_duty(m: Manifest, duty_id: str, title: str, article: str) -> Duty:
    how = m.duties.get(duty_id, "").strip()
    if len(how) >= MIN_TEXT:
        return Duty(duty_id, title, article, True, how)
    return Duty(duty_id, title, article, False,
                f"Beschrijf in pilot.yaml onder duties: {duty_id}: hoe jullie dit doen (minstens {MIN_TEXT} tekens).")


def dpia_status(m: Manifest, folder: Path) -> tuple[bool, str]:
    """(done, Dutch explanation) for the DPIA of a pilot with personal data."""
    d = m.dpia
    if d is None:
        return False, ("Er is geen DPIA. Voeg in pilot.yaml toe: dpia: {status: gedaan, link: ...} (of file: ...), "
                       "of dpia: {status: niet nodig, reasoning: waarom niet}.")
    if d.status == "niet nodig":
        if len(d.reasoning.strip()) < MIN_TEXT:
            return False, "De DPIA is 'niet nodig' zonder uitleg: schrijf in dpia.reasoning waarom niet."
        return True, f"Geen DPIA nodig: {d.reasoning.strip()}"
    if d.file:
        path = (folder / d.file).resolve()
        if not path.is_relative_to(folder.resolve()) or not path.is_file():
            return False, f"Het DPIA-bestand '{d.file}' staat niet in de pilotmap."
        return True, f"DPIA gedaan: {d.file}"
    if d.link and d.link.startswith(("https://", "http://")):
        return True, f"DPIA gedaan: {d.link}"
    return False, "De DPIA is 'gedaan' maar zonder link (https://...) of bestand: voeg dpia.link of dpia.file toe."


def fria_required(m: Manifest) -> bool:
    profile = m.ai_act.profile
    return bool(profile and profile.risk_group == "hoog-risico AI" and PUBLIC_BODY
                and "gebruiksverantwoordelijke" in profile.role)


def duties(m: Manifest, folder: Path) -> list[Duty]:
    """Every duty that follows from the profile (none without a profile) plus the DPIA where personal data is used."""
    out: list[Duty] = []
    profile = m.ai_act.profile
    if m.personal_data:
        done, how = dpia_status(m, folder)
        out.append(Duty("dpia", "Gegevensbeschermingseffectbeoordeling (DPIA)", "AVG, art. 35", done, how))
    if profile is None:
        return out
    if profile.risk_group == "verboden AI":
        out.append(Duty("niet_gebruiken", "Een verboden AI-systeem mag niet gebruikt worden", "art. 5", False,
                        "Stop de pilot: proeftuin promote <pilot> --to gestopt --reason \"verboden praktijk\"."))
        return out
    ai = profile.type in ("AI-systeem", "AI-systeem voor algemene doeleinden", "AI-model voor algemene doeleinden")
    if not ai or profile.risk_group == "uitzondering van toepassing":
        return out
    out.append(_text_duty(m, "ai_geletterdheid", "AI-geletterdheid van wie het systeem gebruikt", "art. 4"))
    for key, title, article in (
            ("interactie", "Mensen melden dat ze met een AI-systeem praten", "art. 50, lid 1"),
            ("genereert", "Door AI gemaakte inhoud herkenbaar maken", "art. 50, leden 2 en 4"),
            ("emotie_biometrie", "Melden dat emoties herkend of biometrische kenmerken ingedeeld worden",
             "art. 50, lid 3")):
        if key in profile.transparency:
            out.append(_text_duty(m, f"transparantie_{key}", title, article))
    if profile.risk_group == "geen hoog-risico AI" and profile.annex_iii_area:
        out.append(Duty("beoordeling_vastgelegd", "Vastleggen waarom het geen hoog-risico is", "art. 6, lid 4", True,
                        "Vastgelegd in het AI-Act-profiel van deze pilot."))
        out.append(_text_duty(m, "registratie", "Registratie in de EU-databank", "art. 49, lid 2"))
    if profile.risk_group != "hoog-risico AI":
        return out
    if "aanbieder" in profile.role:
        out.append(_text_duty(m, "aanbieder_hoog_risico", "Plichten van de aanbieder: risicobeheer, datakwaliteit, "
                              "technische documentatie, conformiteitsbeoordeling",
                              "art. 9 tot 17, 43 en 49, lid 1"))
    if "gebruiksverantwoordelijke" in profile.role:
        out.append(Duty("menselijk_toezicht", "Menselijk toezicht door bevoegde en opgeleide mensen",
                        "art. 26, lid 2", True, m.human_oversight.description))
        out.append(_text_duty(m, "logboeken", "Logboeken minstens zes maanden bewaren", "art. 26, lid 6"))
        out.append(_text_duty(m, "werknemers_informeren", "Werknemers en hun vertegenwoordigers informeren",
                              "art. 26, lid 7"))
        out.append(_text_duty(m, "betrokkenen_informeren", "Mensen over wie beslist wordt informeren",
                              "art. 26, lid 11"))
        out.append(_text_duty(m, "registratie", "Registratie in de EU-databank (overheid als gebruiker)",
                              "art. 26, lid 8; art. 49, lid 3"))
        if fria_required(m):
            done = m.fria is not None
            out.append(Duty("fria", "Beoordeling van de gevolgen voor de grondrechten (FRIA)", "art. 27", done,
                            f"Ingevuld door {m.fria.completed_by} op {m.fria.completed_at[:10]}." if done else
                            f"Vul de FRIA in met: proeftuin fria {m.slug}"))
    return out


def open_duties(m: Manifest, folder: Path) -> list[Duty]:
    return [d for d in duties(m, folder) if not d.met]
