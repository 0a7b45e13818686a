"""`proeftuin migrate`: from the embedded SQLite files and artifact folder to PostgreSQL and S3."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--to", "to_postgresql", required=True, metavar="URL",
              help="De PostgreSQL-server: postgresql://GEBRUIKER@SERVER:5432 (zonder wachtwoord en zonder databank; "
                   "het wachtwoord komt uit storage.password_file of de variabele PROEFTUIN_DB_PASSWORD).")
@click.option("--artifacts", "to_s3", required=True, metavar="S3URI",
              help="Waar de MLflow-artefacten naartoe gaan: s3://BUCKET/MAP.")
@click.option("--s3-endpoint-url", default=None, metavar="URL",
              help="S3-compatibele opslag (MinIO, Ceph, ...): https://SERVER:POORT; weglaten voor AWS S3.")
@click.option("--replace", is_flag=True,
              help="Maak de doeldatabanken en de S3-map eerst leeg (na een verhuizing die halverwege stopte). "
                   "Alles wat erin staat gaat verloren.")
@click.option("--json", "as_json", is_flag=True, help="Verslag als JSON (voortgang op stderr).")
def migrate(to_postgresql: str, to_s3: str, s3_endpoint_url: str | None, replace: bool, as_json: bool) -> None:
    """Verhuis de ingebouwde installatie naar een PostgreSQL-server en S3-opslag.

    \b
    Alles wat nu in de statusmap staat gaat mee: MLflow (runs, modellen, kampioenen), de hub
    (gebruikers, groepen, organisaties), de kioskfeedback en de ideeën gaan naar drie databanken
    (storage.databases in proeftuin.yaml), de artefacten naar de S3-map. De statusmap zelf wordt
    alleen gelezen, nooit gewijzigd. Stop het platform eerst (proeftuin up, proeftuin mlflow).
    De S3-sleutels komen uit AWS_ACCESS_KEY_ID en AWS_SECRET_ACCESS_KEY (of storage.s3_credentials_file).

    \b
    Voorbeeld:
      export PROEFTUIN_DB_PASSWORD=...   (of storage.password_file in proeftuin.yaml)
      proeftuin migrate --to postgresql://proeftuin@db.example:5432 \\
          --artifacts s3://proeftuin/mlflow --s3-endpoint-url https://minio.example:9000

    \b
    Daarna: zet de storage-sectie die het commando toont in proeftuin.yaml en start het platform.
    """
    from proeftuin.cli import _progress, _settings
    from proeftuin.deploy.migrate import migrate as run_migration

    report = run_migration(_settings(), to_postgresql, to_s3, s3_endpoint_url, progress=_progress, replace=replace)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
        if not report.ok:
            raise SystemExit(1)
        return
    rows = sum(t.rows for t in report.tables)
    click.echo(f"{len(report.tables)} tabellen ({rows} rijen) en {report.artifacts} artefacten verhuisd.")
    from proeftuin.storage import WHAT

    for skipped in report.skipped:
        click.echo(f"  Niet verhuisd: {WHAT.get(skipped, skipped)} (die staat nog niet in de statusmap).")
    for warning in report.warnings:
        click.secho(f"Let op: {warning}", fg="yellow")
    different = [t for t in report.tables if not t.same]
    if different or report.artifact_problems:
        for table in different:
            click.secho(f"Verschil in {table.part}, tabel {table.table}: {table.problem}.", fg="red", err=True)
        for problem in report.artifact_problems[:20]:
            click.secho(f"Verschil in de artefacten: {problem}.", fg="red", err=True)
        click.echo("→ De bron is niet gewijzigd. Zoek de oorzaak en verhuis opnieuw met --replace; zet proeftuin.yaml "
                   "nog niet om.", err=True)
        raise SystemExit(1)
    click.secho("Vergeleken: elke tabel (rijen en controlegetal) en elk artefact (sha256) is gelijk aan de bron.",
                fg="green")
    click.echo("\nZet dit in proeftuin.yaml (in de plaats van een bestaande storage-sectie) en start het platform:\n")
    click.echo(report.storage_section())
    click.echo("De statusmap blijft zoals ze was: bewaar ze als back-up tot alles op de nieuwe opslag werkt.")
