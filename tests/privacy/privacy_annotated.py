"""Scoring of the scrubber on hand-annotated texts (`{text, annotations: [{start, end, tag}]}` lines).

The sets live in bench/data/privacy/: `dev.jsonl` (tune on it) and `test.jsonl` (written by another
author, never looked at while tuning; report on it). See docs/developer/privacy.md.

Per type, a mention counts as
- **no trace left** when every letter and digit of it lies inside some finding (of any type: a phone
  number tagged as a register number is gone all the same), titles and forms of address excepted;
- **fully covered** when one single finding covers it from its first to its last letter or digit, so
  that one placeholder replaces the whole mention ("Peter de [NAAM]" is a trace, and not covered).
Precision is the share of findings that overlap a mention; "words kept" is the share of words outside
every mention that no finding touches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "privacy"
KINDS = ["naam", "adres", "telefoon", "email", "rijksregisternummer", "iban", "nummerplaat"]
# Tag spellings other annotators use, mapped onto ours.
SYNONYMS = {
    "name": "naam", "person": "naam", "persoon": "naam", "per": "naam", "address": "adres",
    "locatie": "adres", "street": "adres", "phone": "telefoon", "telefoonnummer": "telefoon",
    "tel": "telefoon", "e-mail": "email", "emailadres": "email", "mail": "email", "rrn": "rijksregisternummer",
    "insz": "rijksregisternummer", "national_number": "rijksregisternummer", "nn": "rijksregisternummer",
    "bankrekening": "iban", "rekeningnummer": "iban", "kenteken": "nummerplaat", "plate": "nummerplaat",
    "license_plate": "nummerplaat",
}
_TITLE_RE = re.compile(
    r"\b(?:de heer|heer|mevrouw|meneer|mijnheer|madame|monsieur|mme|mevr|mw|dhr|mr|dr|prof|ir|ing|drs)\b\.?",
    re.I,
)
_WORD_RE = re.compile(r"[^\W\d_]+")

Finder = Callable[[str], list[tuple[str, int, int]]]


def tag_of(raw: str) -> str | None:
    tag = raw.strip().lower()
    tag = SYNONYMS.get(tag, tag)
    return tag if tag in KINDS else None


def load(path: Path) -> list[dict]:
    """Read a JSON-lines set and check each annotation points into its text."""
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        text = record["text"]
        for a in record["annotations"]:
            if not (0 <= a["start"] < a["end"] <= len(text)):
                raise ValueError(f"{path.name}:{n}: annotatie {a} valt buiten de tekst")
        records.append(record)
    return records


def _alnum_positions(text: str, start: int, end: int, skip_titles: bool) -> list[int]:
    span = text[start:end]
    skipped: set[int] = set()
    if skip_titles:
        for m in _TITLE_RE.finditer(span):
            skipped.update(range(start + m.start(), start + m.end()))
    return [i for i in range(start, end) if text[i].isalnum() and i not in skipped]


def score(records: Iterable[dict], find: Finder) -> dict:
    gold = {k: 0 for k in KINDS}
    no_trace = {k: 0 for k in KINDS}
    full = {k: 0 for k in KINDS}
    found_total = found_hit = 0
    words_total = words_kept = 0
    misses: list[dict] = []
    for record in records:
        text = record["text"]
        mentions = [(tag_of(a["tag"]), a["start"], a["end"]) for a in record["annotations"]]
        mentions = [m for m in mentions if m[0]]
        found = find(text)
        covered = bytearray(len(text))
        for _, fs, fe in found:
            covered[fs:fe] = b"\x01" * (fe - fs)
        for kind, s, e in mentions:
            gold[kind] += 1
            letters = _alnum_positions(text, s, e, skip_titles=True)
            clean = all(covered[i] for i in letters)
            core = _alnum_positions(text, s, e, skip_titles=False)
            whole = bool(core) and any(fs <= core[0] and core[-1] < fe for _, fs, fe in found)
            no_trace[kind] += clean
            full[kind] += whole
            if not whole:
                misses.append({"tag": kind, "mention": text[s:e], "context": text[max(0, s - 40) : e + 40],
                               "found": [(k, text[fs:fe]) for k, fs, fe in found if fs < e + 40 and s - 40 < fe]})
        for _, fs, fe in found:
            found_total += 1
            found_hit += any(fs < e and s < fe for _, s, e in mentions)
        for w in _WORD_RE.finditer(text):
            if any(w.start() < e and s < w.end() for _, s, e in mentions):
                continue
            words_total += 1
            words_kept += not any(covered[w.start() : w.end()])
    per_type = {
        k: {"support": gold[k], "no_trace": no_trace[k] / gold[k] if gold[k] else 1.0,
            "fully_covered": full[k] / gold[k] if gold[k] else 1.0}
        for k in KINDS
    }
    return {
        "per_type": per_type,
        "precision": found_hit / found_total if found_total else 1.0,
        "words_kept": words_kept / words_total if words_total else 1.0,
        "mentions": sum(gold.values()),
        "misses": misses,
    }


def false_positives(records: Iterable[dict], find: Finder) -> list[tuple[str, str]]:
    """Findings that overlap no mention, with some context: what to review after a rule change."""
    out = []
    for record in records:
        text = record["text"]
        spans = [(a["start"], a["end"]) for a in record["annotations"]]
        for kind, fs, fe in find(text):
            if not any(fs < e and s < fe for s, e in spans):
                out.append((kind, text[max(0, fs - 30) : fs] + "<<" + text[fs:fe] + ">>" + text[fe : fe + 20]))
    return out
