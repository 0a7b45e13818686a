"""LESSONS.md, the lessons a pilot learned: the one parser the validation, the site and the kennisbank share.

A LESSONS.md is a title (`# Lessen: ...`) and sections under level-2 headings (`## Wat werkte`). `parse`
returns the text before the first heading (`preamble`) and the sections in the order they appear:

- a heading is a line that starts with `## ` (so `###` subheadings stay inside their section, and so does
  an indented `  ## ...`); its text is what follows, without the spaces around it;
- a `## ` line inside a closed fenced code block (``` or ~~~) is code, not a heading; a fence that is
  never closed fences nothing (as Python-Markdown, which renders the site, does);
- line endings may be LF, CRLF or CR; a UTF-8 byte order mark at the start is ignored;
- each section's body is its text without the blank lines and spaces around it; a heading may repeat
  (each is a section of its own).

Invalid UTF-8: `read` decodes tolerantly by default (every invalid byte becomes U+FFFD), which is what
the validation and the site always did, so a LESSONS.md saved in another encoding still validates and
its page still shows, with a replacement character where a letter could not be read. With
`strict=True` (the kennisbank, which indexes the text) it raises a `DataError` in Dutch that names the
file and the place of the first invalid byte, instead of Python's UnicodeDecodeError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from proeftuin.errors import DataError

LESSONS = "LESSONS.md"
HEADING = "## "
REQUIRED_HEADINGS = ("## Wat we probeerden", "## Wat werkte", "## Wat niet werkte", "## Volgende stap")

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_FENCE_CLOSE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*$")


@dataclass(frozen=True)
class Section:
    heading: str  # the heading's text, without "## " and the spaces around it
    body: str     # the text under it up to the next level-2 heading, stripped
    line: int     # the heading's line number (1 for the first line)

    @property
    def key(self) -> str:
        """The heading as written in Markdown: `## Wat werkte`."""
        return f"{HEADING}{self.heading}".rstrip()


@dataclass(frozen=True)
class Lessons:
    preamble: str  # everything before the first level-2 heading (usually the `# Lessen: ...` title), as written
    sections: tuple[Section, ...]

    @property
    def title(self) -> str:
        """The preamble without the `#` of its title line (what the kennisbank calls the document)."""
        return self.preamble.strip().lstrip("# ").strip()

    def by_heading(self) -> dict[str, str]:
        """`## heading` -> body; when a heading repeats, the last one's body (in the place of the first)."""
        return {section.key: section.body for section in self.sections}


def _fenced(lines: list[str]) -> set[int]:
    """The indexes of the lines inside closed fenced code blocks, the fences included."""
    inside: set[int] = set()
    i = 0
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i])
        if opening and not (opening["fence"][0] == "`" and "`" in opening["info"]):
            fence = opening["fence"]
            for j in range(i + 1, len(lines)):
                closing = _FENCE_CLOSE.match(lines[j])
                if closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence):
                    inside.update(range(i, j + 1))
                    i = j
                    break
        i += 1
    return inside


def parse(markdown: str) -> Lessons:
    """The preamble and the level-2 sections of a LESSONS.md (see the module's docstring)."""
    lines = _LINE_BREAK.split(markdown.removeprefix("\ufeff"))
    fenced = _fenced(lines)
    starts = [i for i, line in enumerate(lines) if line.startswith(HEADING) and i not in fenced]
    ends = [*starts[1:], len(lines)] if starts else []
    sections = tuple(
        Section(lines[start][len(HEADING):].strip(), "\n".join(lines[start + 1:end]).strip(), start + 1)
        for start, end in zip(starts, ends, strict=True)
    )
    return Lessons("\n".join(lines[:starts[0]] if starts else lines), sections)


def read_text(path: Path, strict: bool = False) -> str:
    """The text of a LESSONS.md with its line endings as "\n" (as `Path.read_text` gives them): invalid
    UTF-8 replaced by U+FFFD, or with `strict` a DataError in Dutch that says where it is."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8", errors="strict" if strict else "replace")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path} is geen geldige UTF-8-tekst (regel {line}, byte {exc.start + 1}).",
                        "Open het bestand in een teksteditor en bewaar het opnieuw met de codering UTF-8; "
                        "er is niets veranderd.") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read(path: Path, strict: bool = False) -> Lessons:
    """`parse` of a LESSONS.md file, decoded as `read_text` does."""
    return parse(read_text(path, strict=strict))


def missing_headings(markdown: str, required: Iterable[str] = REQUIRED_HEADINGS) -> list[str]:
    """The required `## ` headings the text does not contain, in the order given (what validation checks).

    A heading counts as present wherever its text appears, also inside a longer line or a code block: the
    check that validation always made, kept so that no pilot that validated before stops validating. A
    section the parser does not see (say `## Wat werkte goed`) is shown on the site as not filled in.
    """
    return [heading for heading in required if heading not in markdown]
