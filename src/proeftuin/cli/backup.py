"""`proeftuin backup` and `proeftuin restore`: one archive of the platform's state (see proeftuin.deploy.backup)."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _say(message: str) -> None:
    """Progress, on stderr (stdout stays one JSON object with --json)."""
    click.echo(message, err=True)


@click.command()
@click.option("--output", "output", required=True, metavar="BESTAND",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Het archief om te schrijven, bv. proeftuin-backup.tar.gz.")
@click.option("--json", "as_json", is_flag=True, help="Samenvatting als JSON.")
def backup(output: Path, as_json: bool) -> None:
    """Bewaar alles wat het platform bijhoudt in één archief, terwijl het blijft draaien.

    \b
    In het archief: de MLflow-databank (runs, modellen, aliassen), de artefacten,
    de hubdatabank (gebruikers, groepen), kioskfeedback, ideeën en de kennisbanken.
    Let op: het archief bevat ook de geheimen van de hub (cookiegeheim,
    beheerderswachtwoord) en wachtwoord-hashes. Het krijgt modus 0600: bewaar het
    even veilig als de server zelf. De persoonlijke mappen van gebruikers zitten
    er niet in (back-up die met de back-up van de server).
    Terugzetten: proeftuin restore ARCHIEF.
    Voorbeeld:
      proeftuin backup --output /veilig/proeftuin-$(date +%F).tar.gz
    """
    from proeftuin.cli import _settings
    from proeftuin.deploy.backup import backup as make_backup
    from proeftuin.deploy.backup import describe

    result = make_backup(_settings(), output, _say)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"Back-up klaar: {result['archive']}")
    for line in describe(result):
        click.echo(line)
    click.echo("→ Bewaar het archief op een andere machine; het bevat geheimen (modus 0600). "
               f"Terugzetten: proeftuin restore {result['archive']}")


@click.command()
@click.argument("archive", metavar="ARCHIEF", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Vervang wat er al staat (databanken, artefacten, geheimen). Zonder --force weigert "
                   "restore een installatie die niet leeg is.")
@click.option("--json", "as_json", is_flag=True, help="Samenvatting als JSON.")
def restore(archive: Path, force: bool, as_json: bool) -> None:
    """Zet een back-up van `proeftuin backup` terug in deze installatie.

    \b
    Eerst wordt het hele archief gecontroleerd (inhoudslijst, controlesommen,
    versies van MLflow en JupyterHub); klopt er iets niet, dan verandert er niets.
    Stop het platform eerst. De databanken en de artefacten gaan naar de opslag
    uit proeftuin.yaml (SQLite en mappen, of PostgreSQL en S3). Daarna wordt
    nagekeken of alles er precies zo staat als in de back-up.
    Voorbeeld:
      proeftuin restore /veilig/proeftuin-2025-03-01.tar.gz
    """
    from proeftuin.cli import _settings
    from proeftuin.deploy.backup import describe
    from proeftuin.deploy.backup import restore as do_restore

    result = do_restore(_settings(), archive, force=force, progress=_say)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"Hersteld uit {result['archive']} (back-up van {result.get('created_at') or 'onbekende datum'}):")
    for line in describe(result):
        click.echo(line)
    if result["replaced"]:
        click.echo("Vervangen: " + "; ".join(result["replaced"]) + ".")
    click.echo("→ Start het platform met `proeftuin up`.")
