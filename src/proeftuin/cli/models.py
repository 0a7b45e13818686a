"""`proeftuin models ...`: the language models of the platform, added once from a folder (never downloaded)."""

from __future__ import annotations

import json

import click

from proeftuin.units import format_memory


@click.group()
def models() -> None:
    """Taalmodellen van het platform: toevoegen (eenmalig, uit een map) en bekijken.

    \b
    Proeftuin downloadt nooit zelf een model. Download het op een computer met internet, bv.
      hf download DTAI-KULeuven/robbert-2023-dutch-base --local-dir robbert
    kopieer de map naar deze server en voeg ze toe met
      proeftuin models add robbert --name DTAI-KULeuven/robbert-2023-dutch-base
    Daarna kiest een pilot het met --param base_model=DTAI-KULeuven/robbert-2023-dutch-base.
    """


@models.command("add")
@click.argument("source", metavar="NAAM|MAP")
@click.option("--name", default=None, help="Naam waaronder pilots het model kiezen (standaard de mapnaam).")
@click.option("--licence", default=None, help="Licentie van het model (standaard uit README.md of LICENSE).")
def models_add(source: str, name: str | None, licence: str | None) -> None:
    """Voeg een gedownload model toe aan de modelmap, na controle: het laadt, heeft een tokenizer en classificeert."""
    from proeftuin.engines.language.catalogue import add_model

    click.echo(f"Model in {source} controleren (laden, tokenizer, één zin classificeren)…", err=True)
    info = add_model(source, name, licence)
    click.echo(f"Model {info.name} toegevoegd in {info.path} ({format_memory(info.size_bytes)}, licentie "
               f"{info.licence}). Kies het in een pilot met --param base_model={info.name}.")


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def models_list(as_json: bool) -> None:
    """Toon de taalmodellen op deze computer: naam, grootte, licentie en soort."""
    from proeftuin.engines.language.catalogue import list_models, models_dir

    found = list_models()
    if as_json:
        click.echo(json.dumps([m.as_dict() for m in found], ensure_ascii=False, indent=2))
        return
    for model in found:
        click.echo(f"{model.name:45} {format_memory(model.size_bytes):>10}  {model.licence:15} {model.architecture}")
    click.echo(f"Modelmap: {models_dir()} (voeg een model toe met `proeftuin models add MAP`).")
