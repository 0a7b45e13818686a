"""The AI-Act decision: each risk group from a set of answers, each answer with its article, contradictions refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from govkit import BASE, BENEFITS

from proeftuin.governance import aiact
from proeftuin.governance.duties import duties
from proeftuin.pilot import load_manifest

ROOT = Path(__file__).resolve().parents[2]



def test_benefits_eligibility_is_high_risk_with_the_deployers_duties():
    d = aiact.decide(BENEFITS)
    assert (d.type, d.risk_group, d.risk_class) == ("AI-systeem", "hoog-risico AI", "hoog")
    assert d.annex_iii_area == aiact.ANNEX_III["openbare-diensten"]
    assert d.publication_category == aiact.CATEGORY_A
    assert "profielen" in d.reasoning() and "art. 6, lid 3" in d.reasoning()


def test_the_router_as_the_repository_answers_it_is_not_high_risk():
    manifest = load_manifest(ROOT / "pilots" / "vragenrouter" / "pilot.yaml")
    d = aiact.decide(manifest.ai_act.profile.answers, manifest.personal_data)
    assert d.risk_group == "geen hoog-risico AI" and d.risk_class == manifest.ai_act.risk_class == "minimaal"
    assert d.publication_category != aiact.CATEGORY_A


@pytest.mark.parametrize(("answers", "risk_group", "risk_class", "kind"), [
    ({**BASE, "verboden": ["sociale-scoring"]}, "verboden AI", "onaanvaardbaar", "AI-systeem"),
    ({**BENEFITS, "bijlage_i": "ja", "bijlage_iii": ["geen"], "profilering": "nee"}, "hoog-risico AI", "hoog",
     "AI-systeem"),
    ({**BASE, "interactie": "ja"}, "geen hoog-risico AI", "beperkt", "AI-systeem"),
    ({**BASE, "bijlage_iii": ["werkgelegenheid"], "profilering": "nee", "uitzondering_6_3": ["voorbereidend"]},
     "geen hoog-risico AI", "minimaal", "AI-systeem"),
    ({**BENEFITS, "bijlage_iii": ["noodoproepen"], "profilering": "nee", "uitzondering_6_3": ["geen"]},
     "hoog-risico AI", "hoog", "AI-systeem"),
    ({"algoritme": "ja", "rol": "extern", "ai_systeem": "algemeen-model", "uitzondering": "ja", "impactvol": "nee"},
     "uitzondering van toepassing", "minimaal", "AI-model voor algemene doeleinden"),
    ({"algoritme": "ja", "rol": "eigen-gebruik", "ai_systeem": "nee", "impactvol": "ja"},
     "niet van toepassing", "minimaal", "impactvol algoritme"),
    ({"algoritme": "nee"}, "niet van toepassing", "minimaal", "geen algoritme"),
])
def test_each_risk_group_is_reached(answers, risk_group, risk_class, kind):
    d = aiact.decide(answers)
    assert (d.risk_group, d.risk_class, d.type) == (risk_group, risk_class, kind)
    assert d.type in aiact.TYPES and d.risk_group in aiact.RISK_GROUPS
    assert len(d.steps) == len(d.answers) and set(d.answers) <= set(answers)
    assert all(answers[q] in ("nee", ["geen"]) for q in set(answers) - set(d.answers))  # only 'no' left unasked
    for _question, _answer, article in d.steps:
        assert "art." in article or "Handreiking" in article


def test_the_vocabulary_is_the_algoritmekaders():
    d = aiact.decide({**BASE, "rol": "extern"})
    assert d.role == "gebruiksverantwoordelijke"
    assert aiact.decide(BASE).role == "aanbieder + gebruiksverantwoordelijke"
    assert {q.id for q in aiact.QUESTIONS.values()} >= {"verboden", "bijlage_iii", "profilering", "uitzondering_6_3",
                                                         "interactie", "genereert", "open_source"}


def test_a_missing_answer_names_the_question():
    answers = dict(BASE)
    del answers["bijlage_iii"]
    with pytest.raises(aiact.MissingAnswer) as caught:
        aiact.decide(answers)
    assert caught.value.question.id == "bijlage_iii"


@pytest.mark.parametrize(("answers", "says"), [
    ({"algoritme": "ja", "rol": "eigen-gebruik", "ai_systeem": "nee", "impactvol": "nee", "profilering": "ja"},
     "geen AI-systeem"),
    ({**BENEFITS, "uitzondering_6_3": ["procedurele-taak"]}, "profielen van mensen"),
    ({**BASE, "bijlage_iii": ["geen", "onderwijs"]}, "spreken elkaar tegen"),
    ({**BASE, "verboden": ["manipulatie"], "open_source": "ja"}, "verboden praktijk"),
    ({**BENEFITS, "impactvol": "nee"}, "altijd impactvol"),
    ({**BASE, "rol": "iemand"}, "onbekend antwoord"),
    ({**BASE, "bijlage_4": "ja"}, "Onbekende vraag"),
    ({**BASE, "interactie": ["ja", "nee"]}, "één antwoord"),
])
def test_contradictions_and_unknown_answers_are_refused_in_dutch(answers, says):
    with pytest.raises(aiact.AnswerError) as caught:
        aiact.decide(answers)
    assert says in caught.value.message


def test_profiling_without_personal_data_contradicts_the_manifest():
    with pytest.raises(aiact.AnswerError, match="personal_data"):
        aiact.decide(BENEFITS, personal_data=False)


def _manifest_with(profile_answers: dict, personal: bool = True):
    from proeftuin.pilot import Manifest

    raw = yaml.safe_load((ROOT / "pilots" / "vragenrouter" / "pilot.yaml").read_text(encoding="utf-8"))
    d = aiact.decide(profile_answers, personal)
    raw["ai_act"] = {"risk_class": d.risk_class, "reasoning": d.reasoning(), "profile": {
        "answers": d.answers, "type": d.type, "role": d.role, "risk_group": d.risk_group,
        "annex_iii_area": d.annex_iii_area, "transparency": d.transparency, "open_source": d.open_source,
        "impactful": d.impactful, "publication_category": d.publication_category}}
    raw["data"][0]["personal_data"] = personal
    return Manifest.model_validate(raw)


def test_duties_follow_from_the_profile():
    folder = ROOT / "pilots" / "vragenrouter"
    high = {d.id: d for d in duties(_manifest_with(BENEFITS), folder)}
    assert {"ai_geletterdheid", "menselijk_toezicht", "logboeken", "werknemers_informeren", "betrokkenen_informeren",
            "registratie", "fria", "aanbieder_hoog_risico", "dpia"} <= set(high)
    assert high["fria"].article == "art. 27" and not high["fria"].met
    assert high["logboeken"].article == "art. 26, lid 6"
    chat = {d.id for d in duties(_manifest_with({**BASE, "interactie": "ja", "genereert": "ja"}, False), folder)}
    assert chat == {"ai_geletterdheid", "transparantie_interactie", "transparantie_genereert"}
    excepted = {d.id for d in duties(_manifest_with(
        {**BASE, "bijlage_iii": ["werkgelegenheid"], "profilering": "nee", "uitzondering_6_3": ["patronen"]}, False),
        folder)}
    assert {"beoordeling_vastgelegd", "registratie"} <= excepted and "fria" not in excepted
    assert [d.id for d in duties(_manifest_with({"algoritme": "nee"}, False), folder)] == []
