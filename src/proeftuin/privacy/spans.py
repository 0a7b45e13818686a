"""What every finder of the scrubber works with: a finding (type, start, end) and a token (start, end,
word); the builder of quick cue patterns; the joining of overlapping findings."""

from __future__ import annotations

import re

Finding = tuple[str, int, int]  # (type, start, end)
Token = tuple[int, int, str]  # (start, end, word)


def _opening_class(*alternatives: str) -> str:
    """A case-insensitive alternation of cue words, written to open with a character class of their
    first letters. `re` can skip quickly to a possible start only when a pattern opens with a class;
    an alternation of words (or one opening with `\\b`) is tried at every position of the text, which
    for the cue patterns cost more than everything else they guard. Each alternative is a literal
    first character and the rest of a pattern, optionally after `\\b`; the order is kept, so the match
    is the same as that of `(?i:alt1|alt2|...)`. After the first letter, `(?<!\\w.)` is the `\\b` before it.
    (A pattern that opens with a look-behind, `(?<![\\w-])rue|...`, is as quick: most positions fail it.)"""
    firsts, parts = [], []
    for alt in alternatives:
        boundary = alt.startswith(r"\b")
        alt = alt[2:] if boundary else alt
        first, rest = alt[0], alt[1:]
        if first.lower() not in firsts:
            firsts.append(first.lower())
        parts.append((r"(?<!\w.)" if boundary else "") + f"(?<={re.escape(first)})" + rest)
    return "(?i:[" + "".join(re.escape(f) for f in firsts) + "])(?i:" + "|".join(parts) + ")"


def _resolve_overlaps(found: list[Finding]) -> list[Finding]:
    """Sorted by start; overlapping names joined into one."""
    out: list[Finding] = []
    for f in sorted(found, key=lambda f: (f[1], -f[2])):
        if out and f[1] < out[-1][2]:
            out[-1] = (out[-1][0], out[-1][1], max(out[-1][2], f[2]))
        else:
            out.append(f)
    return out
