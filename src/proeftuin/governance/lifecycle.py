"""What the governance commands do: promote on evidence, store an AI-Act profile or a FRIA, report the status.

Each change is checked completely before anything is written; MLflow is written first (the write the sign-on
layer checks against the user's organisation), the manifest last and atomically. So a refusal, a failing gate
or a server that is down leaves the manifest and the experiment as they were.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from proeftuin import tracking
from proeftuin.errors import ManifestError, ProeftuinError
from proeftuin.governance import aiact, stages
from proeftuin.governance.duties import Duty, duties
from proeftuin.governance.gates import Context, Gate, gates_for
from proeftuin.pilot import Pilot
from proeftuin.settings import Settings
from proeftuin.tags import TAG_STAGE

FRIA_FIELDS = {
    "processes": "In welke processen van de organisatie wordt het systeem gebruikt, waarvoor?",
    "period_and_frequency": "Hoe lang en hoe vaak wordt het gebruikt?",
    "affected_groups": "Welke groepen mensen merken er gevolgen van?",
    "risks": "Welke specifieke risico's op schade zijn er voor die groepen?",
    "oversight": "Hoe houden mensen toezicht (volgens de gebruiksaanwijzing)?",
    "mitigation": "Wat gebeurt er als een risico zich voordoet, met hoe mensen kunnen klagen?",
}


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def governance_problems(pilot: Pilot) -> list[str]:
    """Everything `validate` reports beyond the manifest's own fields: history, profile, risk class."""
    m = pilot.manifest
    problems = stages.consistency(m)
    profile = m.ai_act.profile
    if profile is not None:
        try:
            decision = aiact.decide(profile.answers, m.personal_data)
        except aiact.MissingAnswer as missing:
            problems.append(f"ai_act.profile.answers: het antwoord op '{missing.question.id}' ontbreekt")
            return problems
        except ProeftuinError as exc:
            problems.append(f"ai_act.profile.answers: {exc.message}")
            return problems
        for name in ("type", "role", "risk_group", "annex_iii_area", "publication_category", "transparency",
                     "open_source"):
            stored, derived = getattr(profile, name), getattr(decision, name)
            if stored != derived:
                problems.append(f"ai_act.profile.{name}: '{stored}' volgt niet uit de antwoorden ('{derived}'); "
                                f"bepaal het profiel opnieuw met `proeftuin ai-act {m.slug}`")
        if m.ai_act.risk_class != decision.risk_class:
            problems.append(f"ai_act.risk_class: '{m.ai_act.risk_class}' past niet bij het profiel "
                            f"('{decision.risk_group}' geeft '{decision.risk_class}')")
    return problems


def check_consistent(pilot: Pilot) -> None:
    problems = governance_problems(pilot)
    if problems:
        raise ManifestError(str(pilot.path / "pilot.yaml"), problems)


@dataclass
class Promotion:
    slug: str
    current: str
    target: str
    gates: list[Gate]
    promoted: bool = False
    dry_run: bool = False
    change: dict[str, Any] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        return not all(g.passed for g in self.gates)

    def as_dict(self) -> dict[str, Any]:
        return {"pilot": self.slug, "from": self.current, "to": self.target, "promoted": self.promoted,
                "dry_run": self.dry_run, "blocked": self.blocked, "gates": [g.as_dict() for g in self.gates],
                "change": self.change}


def check_writer(pilot: Pilot, organisation: str, settings: Settings) -> None:
    settings.organisation(organisation)
    if organisation not in pilot.manifest.organisations:
        raise ProeftuinError(
            f"{organisation} mag pilot {pilot.slug} niet wijzigen: die is van {pilot.manifest.owner}"
            + (f" (doen mee: {', '.join(pilot.manifest.participants)})" if pilot.manifest.participants else "") + ".",
            "Vraag de eigenaar om je organisatie toe te voegen aan participants, of hergebruik de pilot voor je "
            f"eigen organisatie: proeftuin new --from {pilot.slug} --org {organisation}")


def promote(settings: Settings, pilot: Pilot, organisation: str, target: str | None = None, reason: str = "",
            dry_run: bool = False) -> Promotion:
    m = pilot.manifest
    check_consistent(pilot)
    target = target or stages.next_stage(m.stage) or (m.stage if m.stage == stages.STOPPED else None)
    if target is None:
        raise ProeftuinError(f"Pilot {pilot.slug} staat al in de laatste fase ('{m.stage}').")
    stages.check_target(m.stage, target)
    check_writer(pilot, organisation, settings)
    if target == stages.STOPPED and len(reason.strip()) < 5:
        raise ProeftuinError("Een pilot stoppen kan alleen met een reden.",
                             f'Bijvoorbeeld: proeftuin promote {pilot.slug} --to gestopt --reason "geen data"')
    client = tracking.connect(settings)
    result = Promotion(pilot.slug, m.stage, target, gates_for(target, Context(pilot, settings, client)),
                       dry_run=dry_run)
    if dry_run or result.blocked:
        return result
    evidence: dict[str, str] = {}
    for gate in result.gates:
        evidence.update({f"{gate.id}.{k}" if k in evidence else k: v for k, v in gate.evidence.items()})
    change = {"stage": target, "previous": m.stage, "at": now(), "by": tracking.current_user(),
              "organisation": organisation, "reason": reason.strip() or "Alle poorten gehaald.",
              "evidence": evidence}
    experiment_id = tracking.ensure_experiment(client, pilot, settings)
    client.set_experiment_tag(experiment_id, f"{TAG_STAGE}.{len(m.history) + 1}",
                              json.dumps(change, ensure_ascii=False, sort_keys=True))
    client.set_experiment_tag(experiment_id, TAG_STAGE, target)
    history = [c.model_dump() for c in m.history] + [change]
    known = {o.slug for o in settings.organisations}
    try:
        stages.write_sections(pilot.path, {"stage": target, "history": history}, known)
    except BaseException:
        client.set_experiment_tag(experiment_id, TAG_STAGE, m.stage)  # the manifest stayed: so does the stage
        raise
    result.promoted, result.change = True, change
    return result


def record_profile(settings: Settings, pilot: Pilot, organisation: str, decision: aiact.Decision) -> dict[str, Any]:
    """Store the decision's profile, risk class and reasoning in the manifest (nothing when it would not validate)."""
    check_writer(pilot, organisation, settings)
    profile = {"answers": decision.answers, "type": decision.type, "role": decision.role,
               "risk_group": decision.risk_group, "annex_iii_area": decision.annex_iii_area,
               "transparency": decision.transparency, "open_source": decision.open_source,
               "impactful": decision.impactful, "publication_category": decision.publication_category,
               "steps": [{"question": q, "answer": a, "article": art} for q, a, art in decision.steps],
               "decided_by": tracking.current_user(), "decided_at": now()}
    ai_act = {"risk_class": decision.risk_class, "reasoning": decision.reasoning(), "profile": profile}
    known = {o.slug for o in settings.organisations}
    stages.write_sections(pilot.path, {"ai_act": ai_act}, known)
    return ai_act


def record_fria(settings: Settings, pilot: Pilot, organisation: str, answers: dict[str, Any]) -> dict[str, Any]:
    check_writer(pilot, organisation, settings)
    unknown = [key for key in answers if key not in FRIA_FIELDS]
    if unknown:
        raise ProeftuinError(f"Onbekend onderdeel van de FRIA: {', '.join(unknown)}.",
                             f"De onderdelen zijn: {', '.join(FRIA_FIELDS)}.")
    missing = [key for key in FRIA_FIELDS if not str(answers.get(key, "")).strip()]
    if missing:
        raise ProeftuinError(f"De FRIA is niet volledig: {', '.join(missing)} ontbreekt.",
                             "Beantwoord elk onderdeel (art. 27, lid 1, a tot f); er is niets opgeslagen.")
    fria = {key: " ".join(str(answers[key]).split()) for key in FRIA_FIELDS}
    fria.update(completed_by=tracking.current_user(), completed_at=now())
    known = {o.slug for o in settings.organisations}
    stages.write_sections(pilot.path, {"fria": fria}, known)
    return fria


@dataclass
class Status:
    slug: str
    title: str
    stage: str
    risk_group: str | None
    next_stage: str | None
    missing_gates: list[Gate]
    open_duties: list[Duty]
    problems: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"pilot": self.slug, "title": self.title, "stage": self.stage, "risk_group": self.risk_group,
                "next_stage": self.next_stage, "missing_gates": [g.as_dict() for g in self.missing_gates],
                "open_duties": [asdict(d) for d in self.open_duties], "problems": self.problems}


def status(settings: Settings, pilot: Pilot, client: Any) -> Status:
    m = pilot.manifest
    profile = m.ai_act.profile
    problems = governance_problems(pilot)
    target = stages.next_stage(m.stage)
    missing = []
    if target is not None and not problems:
        missing = [g for g in gates_for(target, Context(pilot, settings, client)) if not g.passed]
    return Status(m.slug, m.title, m.stage, profile.risk_group if profile else None, target, missing,
                  [d for d in duties(m, pilot.path) if not d.met], problems)
