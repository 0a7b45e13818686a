"""The knowledge-sharing site: pages written by the platform from what it knows about each pilot.

One module per step, and this package as their public face (every name below stays importable from
`proeftuin.site`):

- `collect`: `collect_site` reads the pilots (lenient discovery, so a broken pilot gets a page saying what
  is wrong), their lessons and their results from MLflow (or why there are none) into `SiteData`.
- `render`: `render_pages` turns that into Markdown pages and images keyed by their path in the site.
- `sanitise`: every string from a manifest made inert (`text`, `attr`), a pilot's own Markdown without
  raw HTML (`safe_markdown`), and the generated HTML without script URLs (`sanitize_html`).
- `build`: `build_site` and `site_server` back `proeftuin docs build` and `proeftuin docs serve`.
- `hooks`: hands the pages to MkDocs as virtual files, so nothing generated ever lands in docs/.
- `watch`: keeps the site the docs service serves current.

The submodules import from each other, never from this package.
"""

from __future__ import annotations

from proeftuin.site.build import (
    MKDOCS_FILE,
    build_context,
    build_site,
    default_site_dir,
    mkdocs_config_file,
    site_server,
)
from proeftuin.site.collect import (
    LESSONS,
    OVERVIEW_DIR,
    PILOTS_DIR,
    PLOTS,
    PilotEntry,
    ResultRow,
    Results,
    SiteData,
    collect_site,
    log,
)
from proeftuin.site.render import (
    IDEAS_PAGE,
    RECENT_LESSONS,
    RISK_CLASSES,
    STAGES,
    THEMES,
    _lesson_sections,  # noqa: F401 (re-exported: tests/pilot/test_lessons.py)
    ideas_page,
    lessons_page,
    organisations_page,
    pilot_page,
    pilots_index,
    render_pages,
    stages_page,
    themes_page,
)
from proeftuin.site.sanitise import attr, safe_markdown, sanitize_html, text
from proeftuin.wording import METRIC_NAMES, MONTHS, date, metric_label, number

__all__ = [
    "IDEAS_PAGE", "LESSONS", "METRIC_NAMES", "MKDOCS_FILE", "MONTHS", "OVERVIEW_DIR", "PILOTS_DIR", "PLOTS",
    "RECENT_LESSONS", "RISK_CLASSES", "STAGES", "THEMES",
    "PilotEntry", "ResultRow", "Results", "SiteData",
    "attr", "build_context", "build_site", "collect_site", "date", "default_site_dir", "ideas_page", "lessons_page",
    "log", "metric_label", "mkdocs_config_file", "number", "organisations_page", "pilot_page", "pilots_index",
    "render_pages", "safe_markdown", "sanitize_html", "site_server", "stages_page", "text", "themes_page",
]
