"""Seed a notebook home with the pilots, the templates and the Dutch "Start hier" notebook.

Runs as the home's own account, never as root: `ProeftuinSpawner.prepare_home` starts it as
`python -I -S hub_seed.py <json>` after dropping to the user's uid and gids, so whatever the user put in
their home (a link `~/sjablonen -> /etc`, a planted `Start hier.ipynb` link) is only ever followed with the
user's own rights. Standard library only (-S: no site-packages), so it starts in a few milliseconds.

Only what is missing is copied, so a user's edits survive; a file that cannot be written is skipped with a
line on stderr (the server still starts). "Start hier" gets a link to each pilot's notebook (in place of
the `<!-- proeftuin:pilots -->` line of templates/start-hier.ipynb); JupyterLab opens on it
(`Spawner.default_url`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

PILOT_FILES = ("pilot.yaml", "pipeline.py", "demo.py", "LESSONS.md", "notebook.ipynb")
PILOTS_MARKER = "<!-- proeftuin:pilots -->"
_TITLE = re.compile(r"^title:\s*(.+?)\s*$", re.MULTILINE)


def seed_home(home: Path, notebook: str = "", pilots_dir: str = "", templates_dir: str = "") -> list[str]:
    """Copy what is missing into `home`; returns the problems (empty: all done)."""
    problems: list[str] = []

    def attempt(action, *args) -> None:
        try:
            action(*args)
        except OSError as exc:
            problems.append(f"{args[-1]}: {exc.strerror or exc}")

    pilots = Path(pilots_dir) if pilots_dir else None
    if notebook and Path(notebook).is_file():
        attempt(_write_start_notebook, Path(notebook), pilot_links(pilots), home / "Start hier.ipynb")
    if pilots and pilots.is_dir():
        for folder in sorted(p for p in pilots.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
            target = home / "pilots" / folder.name
            for name in PILOT_FILES:
                if (folder / name).is_file():
                    attempt(_copy_missing, folder / name, target / name)
            if (folder / "data").is_dir() and not os.path.lexists(target / "data"):
                attempt(_link, folder / "data", target / "data")  # the shared source data, read-only for users
    templates = Path(templates_dir) if templates_dir else None
    if templates and templates.is_dir():
        for kind in sorted(p for p in templates.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
            if not os.path.lexists(home / "sjablonen" / kind.name):
                attempt(_copy_tree, kind, home / "sjablonen" / kind.name)
    return problems


def pilot_links(pilots: Path | None) -> list[tuple[str, str]]:
    """(title, notebook path relative to the home) of every pilot with a notebook, in folder order. The title
    is read from pilot.yaml's top-level `title:` line (standard library only: no YAML parser here)."""
    links = []
    if pilots is None or not pilots.is_dir():
        return links
    for folder in sorted(p for p in pilots.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        if not (folder / "notebook.ipynb").is_file():
            continue
        title = folder.name
        try:
            found = _TITLE.search((folder / "pilot.yaml").read_text(encoding="utf-8"))
            if found:
                title = found.group(1).strip().strip("'\"") or folder.name
        except OSError:
            pass
        links.append((title, f"pilots/{folder.name}/notebook.ipynb"))
    return links


def render_start_notebook(text: str, links: list[tuple[str, str]]) -> str:
    """The "Start hier" notebook with the marker line (and the fallback line after it) replaced by a list of
    links, one per pilot; unchanged when it has no marker or there are no pilots."""
    if not links or PILOTS_MARKER not in text:
        return text
    notebook = json.loads(text)
    for cell in notebook.get("cells", []):
        lines = "".join(cell.get("source", [])).splitlines(keepends=True)
        if not any(PILOTS_MARKER in line for line in lines):
            continue
        at = next(i for i, line in enumerate(lines) if PILOTS_MARKER in line)
        items = [f"- [{_escape(title)}]({path.replace(' ', '%20')})\n" for title, path in links]
        cell["source"] = lines[:at] + items + lines[at + 2:]
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def _escape(title: str) -> str:
    return re.sub(r"([\[\]\\*_`<>])", r"\\\1", title)


def _write_start_notebook(source: Path, links: list[tuple[str, str]], target: Path) -> None:
    """Like _copy_missing, with the pilots filled in; a new file only (O_EXCL, never through a link)."""
    if os.path.lexists(target):
        return
    text = render_start_notebook(source.read_text(encoding="utf-8"), links)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _copy_missing(source: Path, target: Path) -> None:
    if os.path.lexists(target):  # a link counts as present: never write through it
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source)


def _copy_tree(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, symlinks=True)


def main(argv: list[str]) -> int:
    request = json.loads(argv[0])
    problems = seed_home(Path(request["home"]), request.get("notebook", ""), request.get("pilots_dir", ""),
                         request.get("templates_dir", ""))
    for problem in problems:
        sys.stderr.write(f"[proeftuin seed] overgeslagen: {problem}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
