"""Seed a notebook home with the pilots, the templates and the Dutch "Start hier" notebook.

Runs as the home's own account, never as root: `ProeftuinSpawner.prepare_home` starts it as
`python -I -S hub_seed.py <json>` after dropping to the user's uid and gids, so whatever the user put in
their home (a link `~/sjablonen -> /etc`, a planted `Start hier.ipynb` link) is only ever followed with the
user's own rights. Standard library only (-S: no site-packages), so it starts in a few milliseconds.

Only what is missing is copied, so a user's edits survive; a file that cannot be written is skipped with a
line on stderr (the server still starts).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

PILOT_FILES = ("pilot.yaml", "pipeline.py", "demo.py", "LESSONS.md", "notebook.ipynb")


def seed_home(home: Path, notebook: str = "", pilots_dir: str = "", templates_dir: str = "") -> list[str]:
    """Copy what is missing into `home`; returns the problems (empty: all done)."""
    problems: list[str] = []

    def attempt(action, *args) -> None:
        try:
            action(*args)
        except OSError as exc:
            problems.append(f"{args[-1]}: {exc.strerror or exc}")

    if notebook and Path(notebook).is_file():
        attempt(_copy_missing, Path(notebook), home / "Start hier.ipynb")
    pilots = Path(pilots_dir) if pilots_dir else None
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
