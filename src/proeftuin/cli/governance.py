"""`proeftuin promote`, `ai-act`, `fria`, `register export` and `status`: the lifecycle and its accountability."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from proeftuin.errors import ProeftuinError

STAGE_HELP = "idee, experiment, pilot, opschalen of gestopt (standaard de volgende fase)"


def _emit(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _load(slug: str):
    from proeftuin.pilot import find_pilot
    from proeftuin.settings import get_settings

    settings = get_settings()
    return settings, find_pilot(settings.pilots_dir, slug, {o.slug for o in settings.organisations})


def _organisation(org: str | None, pilot) -> str:
    return org or os.environ.get("PROEFTUIN_ORG") or pilot.manifest.owner


def _read_answers(path: Path) -> dict[str, Any]:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProeftuinError(f"Het antwoordbestand '{path}' bestaat niet.") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProeftuinError(f"Het antwoordbestand '{path}' is geen geldige YAML of JSON: {exc}.",
                             "Schrijf per vraag een regel 'vraag: antwoord', bv. 'algoritme: ja'.") from exc
    if not isinstance(raw, dict):
        raise ProeftuinError(f"Het antwoordbestand '{path}' moet per vraag een antwoord geven (een mapping).",
                             "Bijvoorbeeld:\n  algoritme: ja\n  rol: eigen-gebruik")
    return {str(k): v for k, v in raw.items()}


def _gate_lines(gates) -> None:
    for gate in gates:
        mark = click.style("✓", fg="green") if gate.passed else click.style("✗", fg="red")
        click.echo(f"  {mark} {gate.title}")
        click.echo(f"      {gate.detail}")


@click.command()
@click.argument("slug")
@click.option("--to", "target", default=None, metavar="FASE", help=f"Doelfase: {STAGE_HELP}.")
@click.option("--org", default=None, help="Jouw organisatie (standaard $PROEFTUIN_ORG of de eigenaar).")
@click.option("--reason", default="", help="Waarom (verplicht bij --to gestopt).")
@click.option("--dry-run", is_flag=True, help="Controleer alleen de poorten; verander niets.")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def promote(slug: str, target: str | None, org: str | None, reason: str, dry_run: bool, as_json: bool) -> None:
    """Breng een pilot naar de volgende fase als het bewijs er is.

    \b
    De fasen: idee → experiment → pilot → opschalen, en gestopt (met een reden) vanuit elke fase.
    Elke poort wordt gecontroleerd op bewijs (runs, baseline, demo, AI-Act-profiel, DPIA, FRIA, lessen,
    hergebruik, registerrecord). Zijn ze allemaal gehaald, dan komt de stap met wie, wanneer, waarom en het
    bewijs in pilot.yaml (history) en als tags op het MLflow-experiment. Anders: exit 1 en wat te doen.

    \b
    Voorbeelden:
      proeftuin promote vragenrouter --dry-run
      proeftuin promote vragenrouter --to pilot --reason "klaar voor de proef met het contactcenter"
      proeftuin promote vragenrouter --to gestopt --reason "geen geanonimiseerde export beschikbaar"
    """
    from proeftuin.governance.lifecycle import promote as do_promote

    settings, pilot = _load(slug)
    result = do_promote(settings, pilot, _organisation(org, pilot), target, reason, dry_run)
    if as_json:
        _emit(result.as_dict())
    else:
        click.echo(f"{slug}: {result.current} → {result.target}")
        _gate_lines(result.gates)
        if result.promoted:
            click.secho(f"Gepromoveerd naar '{result.target}'. Vastgelegd in pilot.yaml en in MLflow.", fg="green")
        elif result.blocked:
            click.secho("Nog niet: los de poorten met ✗ op en probeer opnieuw. Er is niets veranderd.", fg="red",
                        err=True)
        else:
            click.echo("Alle poorten gehaald (--dry-run: niets veranderd).")
    if result.blocked:
        sys.exit(1)


def _ask(question) -> str | list[str]:
    click.echo("")
    click.secho(question.text, bold=True)
    if question.help:
        click.echo(f"  ({question.help})")
    click.echo(f"  Artikel: {question.article}")
    keys = list(question.choices)
    for i, key in enumerate(keys, 1):
        click.echo(f"  {i}. {question.choices[key]}")
    hint = "nummers gescheiden door komma's" if question.multiple else "een nummer"
    while True:
        try:
            raw = click.prompt(f"Antwoord ({hint})")
        except click.Abort:
            raise ProeftuinError(f"Geen antwoord gekregen op '{question.id}'; er is niets opgeslagen.",
                                 "Beantwoord de vragen in een terminal, of geef ze met --answers BESTAND.") from None
        try:
            picked = [keys[int(part) - 1] for part in raw.replace(" ", "").split(",") if part]
        except (ValueError, IndexError):
            click.echo(f"Kies uit 1 tot {len(keys)}.")
            continue
        if picked and (question.multiple or len(picked) == 1):
            return picked if question.multiple else picked[0]
        click.echo("Kies precies één antwoord." if not question.multiple else "Kies minstens één antwoord.")


@click.command("ai-act")
@click.argument("slug")
@click.option("--answers", "answers_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML- of JSON-bestand met per vraag het antwoord (voor scripts); zonder: de vragen één voor één.")
@click.option("--org", default=None, help="Jouw organisatie (standaard $PROEFTUIN_ORG of de eigenaar).")
@click.option("--dry-run", is_flag=True, help="Toon het resultaat zonder het op te slaan.")
@click.option("--questions", "list_questions", is_flag=True, help="Toon alle vragen en hun antwoorden en stop.")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def ai_act(slug: str, answers_file: Path | None, org: str | None, dry_run: bool, list_questions: bool,
           as_json: bool) -> None:
    """Bepaal wat de pilot is onder de AI-verordening, met een beslishulp.

    \b
    De vragen volgen de Beslishulp AI-verordening van de Nederlandse overheid: is het een algoritme en een
    AI-systeem, welke rol heb je, geldt een uitzondering, is het verboden (art. 5), hoog-risico (bijlage I en III,
    profilering, uitzonderingen van art. 6, lid 3), welke transparantieplichten gelden (art. 50), open source.
    Antwoorden, resultaat en redenering komen in pilot.yaml (ai_act). Elk antwoord noemt zijn artikel.

    \b
    Voorbeeld van een antwoordbestand (--answers):
      algoritme: ja
      rol: eigen-gebruik
      ai_systeem: ja
      uitzondering: nee
      verboden: [geen]
      bijlage_i: nee
      bijlage_iii: [geen]
      interactie: nee
      genereert: nee
      emotie_biometrie: nee
      open_source: ja
      impactvol: nee
    """
    from proeftuin.governance import aiact
    from proeftuin.governance.duties import duties
    from proeftuin.governance.lifecycle import check_writer, record_profile

    if list_questions:
        for q in aiact.QUESTIONS.values():
            click.echo(f"{q.id}: {q.text} [{q.article}]" + (" (meerdere)" if q.multiple else ""))
            for key, text in q.choices.items():
                click.echo(f"    {key}: {text}")
        return
    settings, pilot = _load(slug)
    organisation = _organisation(org, pilot)
    check_writer(pilot, organisation, settings)  # before the questions, not after them (also for --dry-run)
    answers = _read_answers(answers_file) if answers_file else {}
    while True:
        try:
            decision = aiact.decide(answers, pilot.manifest.personal_data)
            break
        except aiact.MissingAnswer as missing:
            q = missing.question
            if answers_file:
                raise ProeftuinError(
                    f"Het antwoord op '{q.id}' ontbreekt: {q.text} ({q.article}).",
                    f"Voeg toe aan {answers_file}: {q.id}: "
                    f"{' | '.join(q.choices)}") from None
            answers[q.id] = _ask(q)
    stored = None if dry_run else record_profile(settings, pilot, organisation, decision)
    if as_json:
        _emit({"pilot": slug, "stored": stored is not None, "type": decision.type, "role": decision.role,
               "risk_group": decision.risk_group, "risk_class": decision.risk_class,
               "annex_iii_area": decision.annex_iii_area, "transparency": decision.transparency,
               "open_source": decision.open_source, "publication_category": decision.publication_category,
               "reasoning": decision.reasoning(),
               "steps": [{"question": q, "answer": a, "article": art} for q, a, art in decision.steps]})
        return
    click.echo("")
    for question, answer, article in decision.steps:
        click.echo(f"  {question}\n    → {answer}  [{article}]")
    click.echo("")
    click.secho(f"Type: {decision.type}", bold=True)
    if decision.role:
        click.echo(f"Rol: {decision.role}")
    click.secho(f"Risicogroep: {decision.risk_group}", bold=True)
    if decision.annex_iii_area:
        click.echo(f"Gebied: {decision.annex_iii_area}")
    click.echo(f"Publicatiecategorie: {decision.publication_category}")
    click.echo(f"Waarom: {decision.reasoning()}")
    if stored is not None:
        pilot = _load(slug)[1]
        following = duties(pilot.manifest, pilot.path)
        click.echo("\nPlichten die hieruit volgen:" + ("" if following else " geen (de AI-verordening legt niets op)."))
        for duty in following:
            mark = "✓" if duty.met else "✗"
            click.echo(f"  {mark} {duty.title} ({duty.article})" + ("" if duty.met else f": {duty.how}"))
        click.secho(f"Opgeslagen in {pilot.path / 'pilot.yaml'} (ai_act).", fg="green")
    else:
        click.echo("(--dry-run: niets opgeslagen)")


@click.command()
@click.argument("slug")
@click.option("--answers", "answers_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML- of JSON-bestand met de zes onderdelen (voor scripts); zonder: de vragen één voor één.")
@click.option("--org", default=None, help="Jouw organisatie (standaard $PROEFTUIN_ORG of de eigenaar).")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def fria(slug: str, answers_file: Path | None, org: str | None, as_json: bool) -> None:
    """Vul de beoordeling van de gevolgen voor de grondrechten in (FRIA, art. 27 AI-verordening).

    \b
    Zes onderdelen (art. 27, lid 1, a tot f): processes (de processen waarin het systeem gebruikt wordt),
    period_and_frequency (hoe lang en hoe vaak), affected_groups (wie er gevolgen van merkt), risks (de
    specifieke risico's), oversight (het menselijk toezicht), mitigation (wat er gebeurt als een risico zich
    voordoet, met de klachtenregeling). Ze komen in pilot.yaml (fria).
    """
    from proeftuin.governance.duties import fria_required
    from proeftuin.governance.lifecycle import FRIA_FIELDS, check_writer, record_fria

    settings, pilot = _load(slug)
    organisation = _organisation(org, pilot)
    check_writer(pilot, organisation, settings)  # before the questions, not after them
    if answers_file:
        answers = _read_answers(answers_file)
    else:
        try:
            answers = {key: click.prompt(question) for key, question in FRIA_FIELDS.items()}
        except click.Abort:
            raise ProeftuinError("De FRIA is niet afgewerkt; er is niets opgeslagen.",
                                 f"Beantwoord alle onderdelen, of geef ze met --answers BESTAND: "
                                 f"{', '.join(FRIA_FIELDS)}.") from None
    stored = record_fria(settings, pilot, organisation, answers)
    if as_json:
        _emit({"pilot": slug, "required": fria_required(pilot.manifest), "fria": stored})
        return
    click.secho(f"FRIA opgeslagen in {pilot.path / 'pilot.yaml'} (fria).", fg="green")
    if not fria_required(pilot.manifest):
        click.echo("Let op: volgens het AI-Act-profiel is een FRIA voor deze pilot niet verplicht.")


@click.group("register")
def register_group() -> None:
    """Het publieke algoritmeregister: één record per organisatie die een pilot gebruikt."""


@register_group.command("export")
@click.argument("slug")
@click.option("--org", required=True, help="De organisatie waarvoor het record is (eigenaar of deelnemer).")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="JSON-bestand om te schrijven.")
def register_export(slug: str, org: str, output_path: Path) -> None:
    """Schrijf het registerrecord (publicatiestandaard algoritmeregister 1.0.0), gecontroleerd tegen de standaard.

    Elk veld komt uit pilot.yaml, proeftuin.yaml of MLflow. Een verplicht veld dat nergens uit volgt, wordt
    bij naam genoemd en niet verzonnen; dan wordt er niets geschreven.
    """
    from proeftuin import tracking
    from proeftuin.files import write_atomic
    from proeftuin.governance import register
    from proeftuin.governance.lifecycle import check_consistent

    settings, pilot = _load(slug)
    check_consistent(pilot)  # publish only a profile that follows from its answers (what `validate` checks)
    if not output_path.parent.is_dir():
        raise ProeftuinError(f"De map '{output_path.parent}' bestaat niet.", "Maak ze eerst, of kies een andere.")
    facts = register.facts_from_mlflow(tracking.connect(settings), pilot)
    record = register.build(pilot, org, settings, facts)
    errors = register.validation_errors(record)
    if errors:
        raise ProeftuinError("Het record voldoet niet aan de standaard:\n" + "\n".join(f"  - {e}" for e in errors),
                             "Pas de genoemde velden aan in pilot.yaml; er is niets geschreven.")
    write_atomic(output_path, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    click.echo(f"Registerrecord van {slug} voor {org} geschreven naar {output_path} "
               f"({record['publication_category']}, status {record['status']}).")


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def status(as_json: bool) -> None:
    """Elke pilot met zijn fase, risicogroep, de poorten die nog ontbreken en de open plichten."""
    from proeftuin import tracking
    from proeftuin.governance.lifecycle import status as pilot_status
    from proeftuin.pilot import BrokenPilot, discover_pilots
    from proeftuin.settings import get_settings

    settings = get_settings()
    client = tracking.connect(settings)
    rows = []
    for found in discover_pilots(settings.pilots_dir, {o.slug for o in settings.organisations}, strict=False):
        if isinstance(found, BrokenPilot):
            rows.append({"pilot": found.slug, "error": found.error.message})
            continue
        rows.append(pilot_status(settings, found, client).as_dict())
    if as_json:
        _emit(rows)
        return
    for row in rows:
        if "error" in row:
            click.secho(f"{row['pilot']}: ONGELDIG: {row['error'].splitlines()[0]}", fg="red")
            continue
        click.secho(f"{row['pilot']} ({row['title']}): fase {row['stage']}, "
                    f"risicogroep {row['risk_group'] or 'nog niet bepaald'}", bold=True)
        for problem in row["problems"]:
            click.secho(f"  ! {problem}", fg="red")
        if row["next_stage"]:
            gates = row["missing_gates"]
            click.echo(f"  Naar {row['next_stage']}: " + ("alle poorten gehaald" if not gates else
                                                          f"nog {len(gates)} poort(en)"))
            for gate in gates:
                click.echo(f"    ✗ {gate['title']}: {gate['detail']}")
        for duty in row["open_duties"]:
            click.echo(f"  Open plicht: {duty['title']} ({duty['article']})")
