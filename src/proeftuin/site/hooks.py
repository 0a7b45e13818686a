"""MkDocs hooks (see `hooks:` in mkdocs.yml): the generated pilot pages enter the build as virtual files.

Plain `mkdocs build --strict` and `proeftuin docs build` run the same code. The data is collected once
per build in `on_config`; `on_files` adds the pages and images; `on_page_content` sanitises the HTML
of generated pages as a last line of defence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files, InclusionLevel

from proeftuin.errors import ProeftuinError
from proeftuin.settings import find_config_file, load_settings
from proeftuin.site.build import build_context, default_site_dir
from proeftuin.site.collect import OVERVIEW_DIR, PILOTS_DIR, collect_site
from proeftuin.site.render import render_pages
from proeftuin.site.sanitise import sanitize_html

_generated: dict[str, str | bytes] = {}
DEVELOPER_DIR = "developer/"


def on_config(config: Any) -> Any:
    root = Path(config.config_file_path).parent
    try:  # `build_site` hands over its settings (the docs service's links go through the hub)
        settings = build_context["settings"] or load_settings(find_config_file(root))
        data = collect_site(settings)
    except ProeftuinError as exc:
        raise PluginError(str(exc)) from exc
    build_context["tracking_note"] = data.tracking_note
    if Path(config.site_dir) == root / ".proeftuin" / "site":  # the default: follow PROEFTUIN_HOME
        config.site_dir = str(default_site_dir(settings))
    _generated.clear()
    _generated.update(render_pages(data))
    config.nav = _expand_nav(config.nav, Path(config.docs_dir))
    return config


def _expand_nav(nav: Any, docs_dir: Path) -> Any:
    """A nav entry "folder/" becomes one entry per Markdown page in docs/folder (titles from their headings)."""
    if isinstance(nav, list):
        return [_expand_nav(item, docs_dir) for item in nav]
    if isinstance(nav, dict):
        return {title: _expand_nav(value, docs_dir) for title, value in nav.items()}
    if isinstance(nav, str) and nav.endswith("/") and (docs_dir / nav).is_dir():
        pages = sorted((docs_dir / nav).glob("*.md"), key=lambda p: (p.name != "index.md", p.name))
        return [p.relative_to(docs_dir).as_posix() for p in pages]
    return nav


def on_files(files: Files, config: Any) -> Files:
    for src_uri, content in _generated.items():
        if files.get_file_from_path(src_uri) is not None:
            raise PluginError(f"docs/{src_uri} botst met een gegenereerde pagina: verwijder of hernoem het bestand.")
        top_level = src_uri in (f"{PILOTS_DIR}/index.md",) or src_uri.startswith(f"{OVERVIEW_DIR}/")
        inclusion = InclusionLevel.UNDEFINED if top_level or not src_uri.endswith(".md") else InclusionLevel.NOT_IN_NAV
        files.append(File.generated(config, src_uri, content=content, inclusion=inclusion))
    return files


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    if page.file.src_uri in _generated:
        return sanitize_html(html)
    if page.file.src_uri.startswith(DEVELOPER_DIR):  # English pages on a Dutch site (WCAG 3.1.2)
        return f'<div lang="en">\n{html}\n</div>'
    return html
