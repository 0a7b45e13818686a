"""`proeftuin deploy ...`: the platform rendered for a bigger setting (Kubernetes), from the same proeftuin.yaml."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def deploy() -> None:
    """Uitrollen op grotere schaal: dezelfde proeftuin.yaml, andere omgeving.

    \b
    proeftuin deploy kubernetes --output uitrol/ maakt de bestanden voor Kubernetes
    (Helm-chart Zero to JupyterHub, MLflow, galerij en kennissite) en een draaiboek.
    """


@deploy.command("kubernetes")
@click.option("--output", "output", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Map waarin de bestanden komen (values.yaml, platform.yaml, RUNBOOK.md, RUNBOOK.nl.md).")
@click.option("--namespace", default="proeftuin", show_default=True, help="Kubernetes-naamruimte.")
@click.option("--image-registry", default="proeftuin", show_default=True,
              help="Register van de images, bv. registry.example.be/proeftuin (hub, platform, singleuser).")
@click.option("--image-tag", default=None, help="Tag van de images (standaard de versie van Proeftuin).")
@click.option("--force", is_flag=True, help="Schrijf ook in een map die niet leeg is (bestaande bestanden worden "
                                             "overschreven).")
def kubernetes(output: Path, namespace: str, image_registry: str, image_tag: str | None, force: bool) -> None:
    """Maak de Kubernetes-bestanden uit proeftuin.yaml, gecontroleerd tegen de chart en Kubernetes.

    Er komen geen wachtwoorden of sleutels in de bestanden: het draaiboek zegt welke
    Kubernetes-Secrets je aanmaakt.
    """
    from proeftuin.deploy import kubernetes as k8s
    from proeftuin.pilot import discover_pilots
    from proeftuin.settings import find_config_file, load_settings

    if output.exists() and not output.is_dir():
        click.secho(f"Fout: {output} is een bestand, geen map.", fg="red", err=True)
        click.echo("→ Kies met --output een (nieuwe) map.", err=True)
        sys.exit(1)
    if output.is_dir() and any(output.iterdir()) and not force:
        click.secho(f"Fout: de map {output} is niet leeg; er wordt niets overschreven.", fg="red", err=True)
        click.echo("→ Kies een lege of nieuwe map, of voeg --force toe om de bestanden erin te vervangen.", err=True)
        sys.exit(1)
    config_file = find_config_file()
    settings = load_settings(config_file)
    pilots = discover_pilots(settings.pilots_dir, {o.slug for o in settings.organisations}, strict=False)
    target = k8s.Target(namespace=namespace, image_registry=image_registry,
                        image_tag=image_tag or k8s.package_version())
    files = k8s.render(settings, pilots, target, config_file.read_text(encoding="utf-8"), out=str(output))
    problems = k8s.check(files)
    if problems:
        click.secho("Fout: de gemaakte bestanden zijn niet geldig; er is niets geschreven:", fg="red", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        click.echo("→ Controleer proeftuin.yaml; blijft het, meld het aan het datateam met deze lijst.", err=True)
        sys.exit(1)
    for path in k8s.write(files, output):
        click.echo(f"Geschreven: {path}")
    if not k8s.remote_mlflow(settings):
        click.secho("Let op: proeftuin.yaml noemt geen storage.postgresql en storage.s3. MLflow draait dan als één "
                    "pod met een eigen schijf; goed om te proberen, niet voor een echte uitrol.", fg="yellow")
    click.echo(f"→ Volgende stap: lees {output / 'RUNBOOK.nl.md'} (geheimen aanmaken, helm en kubectl).")
