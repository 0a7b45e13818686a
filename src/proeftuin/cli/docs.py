"""`proeftuin docs build` and `proeftuin docs serve`: the knowledge-sharing site (MkDocs Material)."""

from __future__ import annotations

from pathlib import Path

import click

from proeftuin.errors import ProeftuinError
from proeftuin.settings import get_settings


@click.group("docs")
def docs() -> None:
    """De kennissite: één pagina per pilot (fiche, resultaten uit MLflow, lessen) en overzichten."""


@docs.command("build")
@click.option("--output", "output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Map voor de gebouwde site (standaard <statusmap>/site).")
@click.option("--strict", is_flag=True,
              help="Stop bij een onvolledige pilot, een kapotte link of een andere waarschuwing (voor CI).")
def build(output: Path | None, strict: bool) -> None:
    """Bouw de site uit docs/, de pilots en hun resultaten in MLflow."""
    from proeftuin.site import build_site

    site_dir = build_site(get_settings(), output, strict)
    pages = sum(1 for _ in site_dir.rglob("*.html"))
    click.echo(f"Site gebouwd in {site_dir} ({pages} pagina's). Bekijk ze met `proeftuin docs serve`.")


@docs.command("serve")
@click.option("--port", type=int, default=None, help="Poort (standaard uit proeftuin.yaml: 8001).")
@click.option("--host", default=None, help="Adres om op te luisteren (standaard 127.0.0.1).")
@click.option("--output", "output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Map voor de gebouwde site (standaard <statusmap>/site).")
def serve(port: int | None, host: str | None, output: Path | None) -> None:
    """Bouw de site en toon ze op http://127.0.0.1:8001 (stoppen met Ctrl+C)."""
    from proeftuin.site import build_site, site_server

    settings = get_settings()
    site_dir = build_site(settings, output)
    host, port = host or settings.host, port or settings.ports.docs
    try:
        server = site_server(site_dir, host, port)
    except OSError as exc:
        raise ProeftuinError(f"Poort {port} op {host} is niet beschikbaar ({exc.strerror}).",
                             "Kies een andere poort met --port.") from exc
    click.echo(f"De kennissite draait op http://{host}:{port}/ (stoppen met Ctrl+C).", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
