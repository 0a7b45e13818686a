"""The `--help` snapshots of every `proeftuin` command, one text file per command (`proeftuin-docs-build.txt`).

tests/test_compat.py regenerates each text in memory and compares it to its file, so a module move that
changes what a user reads in `--help` (or loses a command) fails there. After an INTENDED change to a help text
or a new command, rewrite the snapshots and review the diff:

    .venv/bin/python tests/data/help/regenerate.py
    git diff tests/data/help/

Each text is what click prints for `proeftuin <path> --help`, made in-process with click's CliRunner at a fixed
terminal width (TERMINAL_WIDTH, COLUMNS set to the same) so it does not depend on the terminal it runs in.
The command tree is the click group behind the `proeftuin = "proeftuin.cli:main"` entry point, walked
recursively (subgroups included, hidden commands too).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click
from click.testing import CliRunner

HERE = Path(__file__).resolve().parent
PROG = "proeftuin"
TERMINAL_WIDTH = 100
SUFFIX = ".txt"


def root_command() -> click.Command:
    """The click command `proeftuin` runs: `main` itself when it is one, else the group `main` calls (`cli`)."""
    import proeftuin.cli as module

    main = module.main
    return main if isinstance(main, click.Command) else module.cli


def commands(command: click.Command | None = None, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path, the root `()` first, depth first in the order click lists them."""
    command = command or root_command()
    yield path
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=PROG)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                yield from commands(sub, (*path, name))


def filename(path: tuple[str, ...]) -> str:
    return "-".join((PROG, *path)) + SUFFIX


def render(path: tuple[str, ...]) -> str:
    """`proeftuin <path> --help` as a user reads it (exit code 0 checked)."""
    runner = CliRunner(env={"COLUMNS": str(TERMINAL_WIDTH)})
    result = runner.invoke(root_command(), [*path, "--help"], prog_name=PROG, terminal_width=TERMINAL_WIDTH)
    if result.exit_code != 0:
        raise RuntimeError(f"{PROG} {' '.join(path)} --help exited with {result.exit_code}: {result.output}")
    return result.output


def snapshots() -> dict[str, str]:
    """Snapshot file name -> text, for the commands as they are now."""
    return {filename(path): render(path) for path in commands()}


def main() -> None:
    texts = snapshots()
    for old in HERE.glob(f"{PROG}*{SUFFIX}"):
        if old.name not in texts:
            old.unlink()
    for name, text in texts.items():
        (HERE / name).write_text(text, encoding="utf-8")
    sys.stdout.write(f"{len(texts)} help snapshots written to {HERE}\n")


if __name__ == "__main__":
    main()
