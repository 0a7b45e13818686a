"""Build and serve: `build_site` runs MkDocs (whose hooks, `site/hooks.py`, add the generated pages) into a
folder outside docs/, and `site_server` serves a built site. They back `proeftuin docs build` and
`proeftuin docs serve`.
"""

from __future__ import annotations

import logging
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from proeftuin.errors import ProeftuinError
from proeftuin.pilot import discover_pilots
from proeftuin.settings import Settings

MKDOCS_FILE = "mkdocs.yml"


def mkdocs_config_file(settings: Settings) -> Path:
    path = settings.project_root / MKDOCS_FILE
    if not path.is_file():
        raise ProeftuinError(f"{path} ontbreekt: zonder dat bestand kan de site niet gebouwd worden.",
                             "Start het commando in de projectmap van Proeftuin.")
    return path


def default_site_dir(settings: Settings) -> Path:
    return settings.state_dir / "site"


#: Between `build_site` and the hooks, which MkDocs loads as a module of its own: the settings to build with
#: (the docs service's, whose links go through the hub) and, after the build, why MLflow gave no results.
build_context: dict[str, Any] = {"settings": None, "tracking_note": None}


def build_site(settings: Settings, output: Path | None = None, strict: bool = False) -> Path:
    """Build the site into `output` (default `<state>/site`). Strict: broken pilots and warnings fail."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, ConfigurationError

    if strict:  # name the first broken file before MkDocs starts, as `proeftuin validate` would
        discover_pilots(settings.pilots_dir, {o.slug for o in settings.organisations}, strict=True)
    site_dir = (output or default_site_dir(settings)).resolve()
    docs_dir = (settings.project_root / "docs").resolve()
    if site_dir == docs_dir or docs_dir in site_dir.parents:
        raise ProeftuinError(f"De site kan niet in {docs_dir} gebouwd worden: daar staan de bronpagina's.",
                             "Kies met --output een map buiten docs/.")
    _route_mkdocs_logging()
    build_context.update(settings=settings, tracking_note=None)
    try:
        config = load_config(str(mkdocs_config_file(settings)), site_dir=str(site_dir), strict=strict)
        build(config)
    except (Abort, ConfigurationError) as exc:
        raise ProeftuinError(f"De site kon niet gebouwd worden: {exc}",
                             "Los de waarschuwingen hierboven op, of bouw zonder --strict.") from exc
    finally:
        build_context["settings"] = None
    return site_dir


def _route_mkdocs_logging() -> None:
    """MkDocs' own messages (warnings and up) on stderr, as `mkdocs build` would show them."""
    logger = logging.getLogger("mkdocs")
    if not any(getattr(h, "_proeftuin", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)-7s - %(message)s"))
        handler.setLevel(logging.WARNING)
        handler._proeftuin = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        return


def site_server(directory: Path, host: str, port: int) -> ThreadingHTTPServer:
    """A static file server for a built site (the caller runs `serve_forever`)."""
    return ThreadingHTTPServer((host, port), partial(_QuietHandler, directory=str(directory)))
