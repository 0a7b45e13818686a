"""`proeftuin idea ...`: the questions proposed on the portal, which `proeftuin new --from-idea` turns into pilots."""

from __future__ import annotations

import json

import click

from proeftuin.settings import Settings


def open_ideas(settings: Settings, create: bool = False):
    """The platform's idea store, or None when nobody proposed anything yet (and `create` is off)."""
    from proeftuin.ideas import IdeaStore

    known = {o.slug for o in settings.organisations}
    return IdeaStore(settings, known) if create else IdeaStore.existing(settings, known)


def idea_date(created_at: str) -> str:
    """The day an idea was proposed, in Dutch ("3 juni 2025")."""
    import datetime as dt

    from proeftuin.wording import date

    try:
        return date(dt.datetime.fromisoformat(created_at).timestamp() * 1000)
    except (TypeError, ValueError):
        return created_at


@click.group()
def idea() -> None:
    """Ideeën: vragen uit de organisatie die een AI-pilot kunnen worden.

    \b
    Een medewerker stelt een vraag voor op de startpagina van de proeftuin (Een vraag voorstellen);
    andere organisaties zeggen er "wij ook" bij. Het datateam maakt er een pilot van met
    proeftuin new --from-idea <nummer> --template <sjabloon>.
    """


@idea.command("list")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON (alle velden, voor scripts).")
def idea_list(as_json: bool) -> None:
    """Toon alle ideeën, het nieuwste eerst: nummer, datum, organisatie, fase, aantal "wij ook" en titel."""
    from proeftuin.settings import get_settings

    settings = get_settings()
    store = open_ideas(settings)
    ideas = store.list() if store else []
    names = {o.slug: o.name for o in settings.organisations}
    if as_json:
        click.echo(json.dumps([{**i.model_dump(), "title": i.title, "organisation_name": names.get(i.organisation,
                                i.organisation), "support_count": len(i.supporters)} for i in ideas],
                              ensure_ascii=False, indent=2))
        return
    if not ideas:
        click.echo("Er zijn nog geen ideeën. Stel er een voor op de startpagina van de proeftuin "
                   "(Een vraag voorstellen).")
        return
    rows = [(str(i.id), idea_date(i.created_at), names.get(i.organisation, i.organisation),
             i.stage if not i.pilot else f"{i.stage} ({i.pilot})", str(len(i.supporters)), i.title) for i in ideas]
    header = ("nr", "datum", "organisatie", "fase", "wij ook", "titel")
    widths = [max(len(r[n]) for r in [header, *rows]) for n in range(5)]
    for row in [header, *rows]:
        click.echo("  ".join(f"{cell:<{w}}" for cell, w in zip(row[:5], widths, strict=True)) + "  " + row[5])
    open_ones = [i for i in ideas if not i.pilot]
    if open_ones:
        click.echo(f"→ Maak van een idee een pilot: proeftuin new --from-idea {open_ones[0].id} "
                   "--template text-classification")
