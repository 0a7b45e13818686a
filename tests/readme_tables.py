"""The README's command table and pilot table, made from the CLI itself and from the pilot folders.

tests/test_readme.py compares them with what README.md holds between the markers
`<!-- commands:start -->` ... `<!-- commands:end -->` and `<!-- pilots:start -->` ... `<!-- pilots:end -->`,
so a new command, option or pilot that the README does not show fails the suite. After an intended change:

    .venv/bin/python tests/readme_tables.py     # rewrites both tables in README.md
    git diff README.md
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
sys.path.insert(0, str(HERE / "data" / "help"))
from regenerate import PROG, commands, root_command  # noqa: E402 (the help snapshots walk the same tree)


def _command(path: tuple[str, ...]) -> click.Command:
    command = root_command()
    for name in path:
        command = command.get_command(click.Context(command, info_name=PROG), name)
    return command


def _usage(command: click.Command, path: tuple[str, ...]) -> str:
    """`proeftuin run <slug> [--org ORG] [--json]`: arguments, then every visible option as a user types it."""
    parts = [PROG, *path]
    for param in command.params:
        if isinstance(param, click.Argument):
            parts.append(f"<{param.name}>" if param.required else f"[<{param.name}>]")
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        flag = max(param.opts, key=len)
        value = param.metavar or (flag.lstrip("-").upper().replace("-", "_") if flag.startswith("--")
                                  else param.name.upper())
        text = flag if param.is_flag or param.count else f"{flag} {value}"
        parts.append(text if param.required else f"[{text}]")
    return " ".join(parts)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def command_table() -> str:
    """One row per command a user runs (groups are only their subcommands' prefix)."""
    rows = ["| opdracht | wat het doet |", "| --- | --- |"]
    for path in commands():
        command = _command(path)
        if not path or isinstance(command, click.Group) or command.hidden:
            continue
        rows.append(f"| `{_cell(_usage(command, path))}` | {_cell(command.get_short_help_str(limit=300))} |")
    return "\n".join(rows)


def pilot_table() -> str:
    """Every pilot in pilots/: slug, title, question, owner, stage and task, from its manifest."""
    from proeftuin.pilot import discover_pilots

    rows = ["| pilot | vraag | eigenaar | fase | taak |", "| --- | --- | --- | --- | --- |"]
    for pilot in discover_pilots(HERE.parent / "pilots"):
        m = pilot.manifest
        rows.append(f"| `{m.slug}` ({_cell(m.title)}) | {_cell(m.question)} | {m.owner} | {m.stage} | {m.task} |")
    return "\n".join(rows)


TABLES = {"commands": command_table, "pilots": pilot_table}


def section(text: str, name: str) -> str | None:
    """What the README holds between the markers of `name`, or None when the markers are missing."""
    found = re.search(_markers(name), text, re.S)
    return found.group(1).strip("\n") if found else None


def _markers(name: str) -> str:
    return rf"<!-- {name}:start -->(.*?)<!-- {name}:end -->"


def rewrite(text: str) -> str:
    for name, make in TABLES.items():
        if section(text, name) is None:
            raise SystemExit(f"README.md mist de markeringen <!-- {name}:start --> en <!-- {name}:end -->.")
        table = make()
        text = re.sub(_markers(name), lambda _, table=table, name=name:
                      f"<!-- {name}:start -->\n{table}\n<!-- {name}:end -->", text, flags=re.S)
    return text


if __name__ == "__main__":
    README.write_text(rewrite(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"{README} bijgewerkt")
