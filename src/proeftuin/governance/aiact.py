"""The AI-Act profile of a pilot, reached by a guided decision (`proeftuin ai-act`).

The questions follow the structure of the Dutch government's public decision aid for the AI Act
(Beslishulp AI-verordening: algorithm? role, AI system?, exceptions, prohibited practices, high risk
through Annex I or III, profiling, the Art. 6(3) exceptions, transparency, open source) and its labels
use the vocabulary of the Algoritmekader, so a profile can be exchanged with other governments' records.

`decide(answers)` walks the questions with the answers it is given. A question it reaches without an
answer raises `MissingAnswer` (the interactive command asks it and walks again); an answer to a question
the walk never reaches contradicts another answer and is an error that says which. The walk is pure: the
same answers always give the same profile, which is how `validate` checks a stored one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from proeftuin.errors import ProeftuinError

YES, NO, NONE = "ja", "nee", "geen"


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    article: str
    choices: dict[str, str]  # answer key -> what it means (Dutch)
    help: str = ""
    multiple: bool = False   # several keys may apply (a list); NONE means none of them

    def label(self, key: str) -> str:
        return self.choices.get(key, key)


def _yes_no(yes: str = "ja", no: str = "nee") -> dict[str, str]:
    return {YES: yes, NO: no}


ROLES = {
    "eigen-gebruik": ("aanbieder + gebruiksverantwoordelijke", "We ontwikkelen het zelf en gebruiken het zelf"),
    "eigen-voor-anderen": ("aanbieder", "We ontwikkelen het, anderen gebruiken het"),
    "extern-aangepast": ("aanbieder + gebruiksverantwoordelijke",
                         "We gebruiken een extern ontwikkelde toepassing en passen ze aan"),
    "extern": ("gebruiksverantwoordelijke", "We gebruiken een extern ontwikkelde toepassing zonder aanpassingen"),
}
AI_TYPES = {
    YES: "AI-systeem",
    "algemeen-systeem": "AI-systeem voor algemene doeleinden",
    "algemeen-model": "AI-model voor algemene doeleinden",
}
PROHIBITED = {
    "manipulatie": "Misleidt of manipuleert mensen zodat ze schadelijke beslissingen nemen (art. 5, lid 1, a)",
    "kwetsbaarheden": "Misbruikt de kwetsbaarheid van mensen door leeftijd, beperking of sociale situatie "
                      "(art. 5, lid 1, b)",
    "sociale-scoring": "Geeft mensen een score op basis van hun gedrag of kenmerken, met nadelige gevolgen "
                       "elders (art. 5, lid 1, c)",
    "voorspellen-strafbare-feiten": "Voorspelt of iemand een strafbaar feit zal plegen, alleen op basis van een "
                                    "profiel (art. 5, lid 1, d)",
    "gezichtsdatabank": "Bouwt een databank van gezichten door beelden van internet of camera's te verzamelen "
                        "(art. 5, lid 1, e)",
    "emotieherkenning-werk-onderwijs": "Herkent emoties van mensen op het werk of op school (art. 5, lid 1, f)",
    "biometrische-categorisering": "Deelt mensen op basis van biometrische gegevens in naar ras, geloof, "
                                   "seksuele geaardheid of politieke mening (art. 5, lid 1, g)",
    "realtime-identificatie": "Herkent mensen op afstand en in realtime in de openbare ruimte voor de politie "
                              "(art. 5, lid 1, h)",
}
ANNEX_III = {
    "biometrie": "Biometrie: mensen op afstand herkennen of indelen (bijlage III, punt 1)",
    "kritieke-infrastructuur": "Kritieke infrastructuur: wegverkeer, water, gas, verwarming of elektriciteit "
                               "(bijlage III, punt 2)",
    "onderwijs": "Onderwijs en beroepsopleiding: toelating, beoordeling of toezicht op examens "
                 "(bijlage III, punt 3)",
    "werkgelegenheid": "Werkgelegenheid en personeelsbeheer: werving, selectie, beoordeling of taken van "
                       "werknemers (bijlage III, punt 4)",
    "openbare-diensten": "Toegang tot essentiële openbare diensten en uitkeringen: beoordelen of iemand recht "
                         "heeft op bijstand, een uitkering of een dienst (bijlage III, punt 5, a)",
    "noodoproepen": "Noodoproepen beoordelen en indelen, of hulpdiensten inzetten (bijlage III, punt 5, d)",
    "rechtshandhaving-migratie-rechtspraak": "Rechtshandhaving, migratie, rechtspraak of verkiezingen "
                                             "(bijlage III, punten 6 tot 8)",
}
EXCEPTIONS_6_3 = {
    "procedurele-taak": "Het voert alleen een beperkte procedurele taak uit (art. 6, lid 3, a)",
    "verbetert-menselijk-werk": "Het verbetert het resultaat van werk dat een mens al deed (art. 6, lid 3, b)",
    "patronen": "Het spoort patronen of afwijkingen op, zonder de menselijke beoordeling te vervangen "
                "(art. 6, lid 3, c)",
    "voorbereidend": "Het doet alleen voorbereidend werk voor een beoordeling (art. 6, lid 3, d)",
}

QUESTIONS: dict[str, Question] = {q.id: q for q in [
    Question("algoritme", "Bevat de toepassing een algoritme: regels of een model dat uit gegevens een uitkomst "
             "maakt?", "Handreiking Algoritmeregister; art. 3, punt 1", _yes_no()),
    Question("rol", "Wie ontwikkelt de toepassing en wie gebruikt ze?", "art. 3, punten 3 en 4; art. 25",
             {key: text for key, (_, text) in ROLES.items()}),
    Question("ai_systeem", "Is het een AI-systeem: een systeem dat uit zijn invoer afleidt hoe het een voorspelling, "
             "aanbeveling, inhoud of beslissing maakt, met enige zelfstandigheid?", "art. 3, punten 1, 63 en 66",
             {YES: "Ja, een AI-systeem", "algemeen-systeem": "Een AI-systeem voor algemene doeleinden",
              "algemeen-model": "Een AI-model voor algemene doeleinden",
              NO: "Nee: vaste regels die mensen bedachten, of alleen tellen en samenvatten"},
             help="Een model dat uit voorbeelden leert (zoals de sjablonen van Proeftuin) is een AI-systeem; "
                  "een rekenregel of een dashboard met gemiddelden niet."),
    Question("uitzondering", "Wordt de toepassing uitsluitend gebruikt voor defensie of nationale veiligheid, of "
             "uitsluitend voor wetenschappelijk onderzoek?", "art. 2, leden 3, 6 en 8",
             _yes_no(no="Nee (een proef met echte burgers, dossiers of medewerkers valt hier niet onder)")),
    Question("verboden", "Doet het systeem een van deze verboden praktijken?", "art. 5",
             {**PROHIBITED, NONE: "Geen van deze"}, multiple=True),
    Question("bijlage_i", "Is het een veiligheidsonderdeel van een product onder bijlage I (bijvoorbeeld een lift, "
             "machine, medisch hulpmiddel of speelgoed)?", "art. 6, lid 1; bijlage I", _yes_no()),
    Question("bijlage_iii", "Wordt het gebruikt in een van deze gebieden?", "art. 6, lid 2; bijlage III",
             {**ANNEX_III, NONE: "Geen van deze"}, multiple=True),
    Question("profilering", "Maakt het systeem profielen van mensen: beoordeelt of voorspelt het iets over een "
             "persoon, zoals zijn situatie, gedrag, betrouwbaarheid of recht op iets?", "art. 6, lid 3, laatste alinea",
             _yes_no(), help="Een systeem in een gebied van bijlage III dat profielen maakt, is altijd hoog-risico."),
    Question("uitzondering_6_3", "Geldt een van deze uitzonderingen (en verandert het systeem de uitkomst van een "
             "beslissing over een persoon niet wezenlijk)?", "art. 6, lid 3", {**EXCEPTIONS_6_3, NONE: "Geen van deze"},
             multiple=True),
    Question("interactie", "Praten of chatten mensen rechtstreeks met het systeem?", "art. 50, lid 1", _yes_no()),
    Question("genereert", "Maakt het systeem tekst, beelden, geluid of video die mensen te zien of te horen "
             "krijgen?", "art. 50, leden 2 en 4", _yes_no()),
    Question("emotie_biometrie", "Herkent het systeem emoties of deelt het mensen in op basis van biometrische "
             "gegevens?", "art. 50, lid 3", _yes_no()),
    Question("open_source", "Wordt het vrijgegeven onder een vrije en open-source licentie?", "art. 2, lid 12",
             _yes_no()),
    Question("impactvol", "Heeft de uitkomst gevolgen voor burgers of groepen, zoals rechtsgevolgen (een boete, "
             "een weigering) of een indeling van personen?", "Handreiking Algoritmeregister, categorie B",
             _yes_no()),
]}

TYPES = ("AI-systeem", "AI-systeem voor algemene doeleinden", "AI-model voor algemene doeleinden",
         "impactvol algoritme", "niet-impactvol algoritme", "geen algoritme")
RISK_GROUPS = ("verboden AI", "hoog-risico AI", "geen hoog-risico AI", "uitzondering van toepassing",
               "niet van toepassing")
CATEGORY_A = "Hoog-risico AI-systeem (Categorie A)"
CATEGORY_B = "Impactvolle algoritmes (Categorie B)"
CATEGORY_C = "Overige algoritmes (Categorie C)"
TRANSPARENCY = {
    "interactie": "Mensen moeten weten dat ze met een AI-systeem praten (art. 50, lid 1)",
    "genereert": "Gemaakte tekst, beelden of geluid moeten herkenbaar zijn als door AI gemaakt (art. 50, leden 2 "
                 "en 4)",
    "emotie_biometrie": "Mensen moeten weten dat hun emoties herkend of hun biometrische kenmerken ingedeeld "
                        "worden (art. 50, lid 3)",
}


class MissingAnswer(Exception):
    def __init__(self, question: Question) -> None:
        super().__init__(question.id)
        self.question = question


class AnswerError(ProeftuinError):
    """Answers that cannot be read or contradict each other: nothing is stored."""


@dataclass
class Decision:
    """What the walk found: the Algoritmekader labels, and each answered question with its article."""

    answers: dict[str, str | list[str]] = field(default_factory=dict)
    type: str = ""
    role: str = ""
    risk_group: str = ""
    annex_iii_area: str | None = None
    exception_6_3: list[str] = field(default_factory=list)
    transparency: list[str] = field(default_factory=list)
    open_source: bool = False
    impactful: bool = False
    steps: list[tuple[str, str, str]] = field(default_factory=list)  # (question, answer, article)

    @property
    def publication_category(self) -> str:
        if self.risk_group in ("hoog-risico AI", "verboden AI"):
            return CATEGORY_A
        return CATEGORY_B if self.impactful else CATEGORY_C

    @property
    def risk_class(self) -> str:
        """The manifest's short risk class (minimaal, beperkt, hoog, onaanvaardbaar) that follows from it."""
        if self.risk_group == "verboden AI":
            return "onaanvaardbaar"
        if self.risk_group == "hoog-risico AI":
            return "hoog"
        return "beperkt" if self.transparency else "minimaal"

    @property
    def is_ai(self) -> bool:
        return self.type in AI_TYPES.values()

    def reasoning(self) -> str:
        """One Dutch paragraph: the result and the answers that decided it, each with its article."""
        if self.risk_group == "verboden AI":
            why = "het systeem doet een verboden praktijk (art. 5); het mag niet gebruikt worden"
        elif self.risk_group == "hoog-risico AI":
            why = f"het wordt gebruikt in: {self.annex_iii_area}" if self.annex_iii_area else \
                "het is een veiligheidsonderdeel van een product (bijlage I)"
            if self.answers.get("profilering") == YES:
                why += ", en het maakt profielen van mensen (art. 6, lid 3, laatste alinea)"
        elif self.risk_group == "geen hoog-risico AI" and self.exception_6_3:
            why = (f"het wordt gebruikt in: {self.annex_iii_area}, maar een uitzondering geldt: "
                   + "; ".join(EXCEPTIONS_6_3[e] for e in self.exception_6_3)
                   + ". De beoordeling moet vastgelegd worden (art. 6, lid 4)")
        elif self.risk_group == "geen hoog-risico AI":
            why = "het wordt niet gebruikt in een gebied van bijlage III en is geen veiligheidsonderdeel (art. 6)"
        elif self.risk_group == "uitzondering van toepassing":
            why = ("een uitzondering van art. 2 geldt (defensie, nationale veiligheid of enkel wetenschappelijk "
                   "onderzoek)")
        else:
            why = "het is geen AI-systeem, dus de AI-verordening is niet van toepassing (art. 3, punt 1)"
        text = f"{self.type[:1].upper()}{self.type[1:]}, {self.risk_group}: {why}."
        if self.transparency:
            text += " Transparantieplicht: " + "; ".join(TRANSPARENCY[t] for t in self.transparency) + "."
        return text


def _normalise(question: Question, raw: object) -> str | list[str]:
    values = raw if isinstance(raw, list) else [raw]
    keys = [str(v).strip().lower() for v in values if str(v).strip()]
    unknown = [k for k in keys if k not in question.choices]
    if not keys or unknown:
        shown = ", ".join(unknown) or "(leeg)"
        raise AnswerError(f"Vraag '{question.id}' ({question.text}): onbekend antwoord {shown}.",
                          f"Kies uit: {', '.join(question.choices)}.")
    if not question.multiple:
        if len(keys) > 1:
            raise AnswerError(f"Vraag '{question.id}' heeft één antwoord, niet {len(keys)}.",
                              f"Kies één van: {', '.join(question.choices)}.")
        return keys[0]
    if NONE in keys and len(keys) > 1:
        raise AnswerError(f"Vraag '{question.id}': 'geen' en een ander antwoord spreken elkaar tegen.",
                          "Kies 'geen' of de antwoorden die gelden, niet allebei.")
    return sorted(set(keys), key=list(question.choices).index)


def decide(answers: Mapping[str, object], personal_data: bool = True) -> Decision:
    """Walk the questions with `answers` (question id -> key, or a list of keys where several apply)."""
    unknown = [key for key in answers if key not in QUESTIONS]
    if unknown:
        raise AnswerError(f"Onbekende vraag: {', '.join(unknown)}.", f"De vragen zijn: {', '.join(QUESTIONS)}.")
    d = Decision()

    def ask(qid: str) -> str | list[str]:
        question = QUESTIONS[qid]
        if qid not in answers:
            raise MissingAnswer(question)
        value = _normalise(question, answers[qid])
        d.answers[qid] = value
        shown = "; ".join(question.label(v) for v in value) if isinstance(value, list) else question.label(value)
        d.steps.append((question.text, shown, question.article))
        return value

    _walk(d, ask)
    for qid in answers:
        if qid not in d.answers and not _harmless(d, qid, _normalise(QUESTIONS[qid], answers[qid])):
            raise AnswerError(
                f"Het antwoord op '{qid}' ({QUESTIONS[qid].text}) spreekt de andere antwoorden tegen: die vraag "
                f"komt niet aan de orde, omdat {_why_not_asked(d, qid)}.",
                "Haal dat antwoord weg, of pas het antwoord aan dat de vraag uitsluit.")
    if d.answers.get("profilering") == YES and not personal_data:
        raise AnswerError("Je antwoordde dat het systeem profielen van mensen maakt, maar pilot.yaml zegt dat geen "
                          "enkele gegevensbron persoonsgegevens bevat.",
                          "Zet personal_data: true bij de gegevens die over personen gaan, of pas het antwoord op "
                          "'profilering' aan.")
    return d


def _walk(d: Decision, ask) -> None:
    if ask("algoritme") == NO:
        d.type, d.risk_group = "geen algoritme", "niet van toepassing"
        return
    d.role = ROLES[ask("rol")][0]
    kind = ask("ai_systeem")
    if kind == NO:
        d.impactful = ask("impactvol") == YES
        d.type = "impactvol algoritme" if d.impactful else "niet-impactvol algoritme"
        d.risk_group = "niet van toepassing"
        return
    d.type = AI_TYPES[kind]
    if ask("uitzondering") == YES:
        d.risk_group = "uitzondering van toepassing"
        d.impactful = ask("impactvol") == YES
        return
    if ask("verboden") != [NONE]:
        d.risk_group = "verboden AI"
        return
    if ask("bijlage_i") == YES:
        d.risk_group = "hoog-risico AI"
    else:
        areas = ask("bijlage_iii")
        if areas == [NONE]:
            d.risk_group = "geen hoog-risico AI"
        else:
            d.annex_iii_area = ANNEX_III[areas[0]]
            if ask("profilering") == YES:
                d.risk_group = "hoog-risico AI"
            elif (exceptions := ask("uitzondering_6_3")) != [NONE]:
                d.risk_group, d.exception_6_3 = "geen hoog-risico AI", list(exceptions)
            else:
                d.risk_group = "hoog-risico AI"
    d.transparency = [qid for qid in ("interactie", "genereert", "emotie_biometrie") if ask(qid) == YES]
    d.open_source = ask("open_source") == YES
    d.impactful = True if d.risk_group == "hoog-risico AI" else ask("impactvol") == YES


def _harmless(d: Decision, qid: str, value: str | list[str]) -> bool:
    """An answer to a question the walk did not reach, that does not contradict it: a 'nee' or 'geen' (nothing
    claimed), or 'impactvol: ja' for a high-risk system (which is impactful anyway). It is not stored."""
    if qid == "impactvol" and d.risk_group == "hoog-risico AI":
        return value == YES
    return value in (NO, [NONE])


def _why_not_asked(d: Decision, qid: str) -> str:
    a = d.answers
    if a.get("algoritme") == NO:
        return "je antwoordde dat de toepassing geen algoritme bevat"
    if a.get("ai_systeem") == NO:
        return "je antwoordde dat het geen AI-systeem is"
    if a.get("uitzondering") == YES:
        return "je antwoordde dat een uitzondering van art. 2 geldt"
    if d.risk_group == "verboden AI":
        return "het systeem doet een verboden praktijk: daarna telt niets meer"
    if qid in ("profilering", "uitzondering_6_3") and a.get("bijlage_i") == YES:
        return "het is een veiligheidsonderdeel van een product (bijlage I): dan is het altijd hoog-risico"
    if qid in ("profilering", "uitzondering_6_3") and a.get("bijlage_iii") == [NONE]:
        return "het wordt in geen gebied van bijlage III gebruikt"
    if qid == "uitzondering_6_3" and a.get("profilering") == YES:
        return "het maakt profielen van mensen: dan geldt geen uitzondering van art. 6, lid 3"
    if qid == "impactvol" and d.risk_group == "hoog-risico AI":
        return "een hoog-risico AI-systeem is altijd impactvol (categorie A)"
    return "een eerder antwoord haar uitsluit"
