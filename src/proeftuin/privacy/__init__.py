"""Personal-data scrubber for Dutch and Flemish citizen text.

Identifiers are found by pattern and then *validated* (check digits of rijksregisternummers and
IBANs, with python-stdnum's IBAN registry; phonenumbers for Belgian, Dutch and French numbers), so that
invoice or dossier numbers that merely look like an identifier survive; after a word that says what
a number is ('rijksregisternummer', 'tel'), a mistyped or merely possible one goes too. Each finding
is a whole mention: a name with its titles, initials and particles, an address with its number, box,
postcode and town, in one placeholder. Person names use the name lists shipped with `deduce` (Dutch
de-identification) plus Flemish/Walloon/Moroccan-Belgian particles, cue words, form fields and the
capitalisation of Dutch text; `wordfreq` tells ordinary Dutch words from names. Everything runs
offline: the packages carry their own data. See docs/developer/privacy.md.

This module is the scrubber itself (`Scrubber`, `scrub_text`, `scrub_frame`) and the package's one
entry point; the finders live beside it:

- `identifiers`: e-mail, rijksregisternummer, IBAN, phone, number plate (pattern + checksum);
- `addresses`: streets with number, box, postcode and town;
- `lexicons`: the name lists (`Lexicon`, `default_lexicon`) and word frequencies;
- `gazetteers`: places, countries, nationalities, institutions, organisations: what is not a person;
- `cues`, `words`, `names`, `fields`: the context words of names, what one word is, the name finder,
  names in form fields and sign-offs;
- `spans`: the finding and token tuples every finder shares.

Every name of the former single module `privacy.py` still resolves here (`proeftuin.privacy._zipf`).
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import addresses, cues, fields, gazetteers, identifiers, lexicons, names, spans, words
from .addresses import STREET_MODIFIERS, STREET_SUFFIXES, _find_addresses, _merge_addresses
from .cues import CUE_WORDS, ROLE_CUES, STRONG_CUES, TITLE_WORDS, VENUE_WORDS, WEAK_CUES
from .fields import FIELD_LABELS, LOWER_CASE_CUE_PAIRS, LOWER_CASE_CUES
from .gazetteers import (
    COUNTRIES,
    INSTITUTION_WORDS,
    MULTIWORD_PLACES,
    MUNICIPALITIES,
    NATIONALITIES,
    ORGANISATIONS,
    PLACES_ABROAD,
)
from .identifiers import (
    _EIGHT_DIGITS_RE,
    _IBAN_START_RE,
    _PLATE_HINT_RE,
    _TEN_DIGITS_RE,
    _find_emails,
    _find_iban,
    _find_phones,
    _find_plates,
    _find_rrn,
)
from .identifiers import _iban_valid as _iban_valid  # (the tests compare these with their libraries)
from .identifiers import _national_number_valid as _national_number_valid
from .identifiers import _possible as _possible
from .lexicons import _PLAIN_WORD_RE as _PLAIN_WORD_RE
from .lexicons import EXTRA_FIRST_NAMES, EXTRA_SURNAMES, NAME_PARTICLES, Lexicon, default_lexicon
from .lexicons import _zipf as _zipf
from .names import _NameFinder
from .spans import Finding, Token

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COMPILED", "COUNTRIES", "CUE_WORDS", "EXTRA_FIRST_NAMES", "EXTRA_SURNAMES", "FIELD_LABELS", "INSTITUTION_WORDS",
    "LOWER_CASE_CUES", "LOWER_CASE_CUE_PAIRS", "MULTIWORD_PLACES", "MUNICIPALITIES", "NAME_PARTICLES",
    "NATIONALITIES", "ORGANISATIONS", "PLACES_ABROAD", "PRIORITY", "ROLE_CUES", "STREET_MODIFIERS",
    "STREET_SUFFIXES", "STRONG_CUES", "TAGS", "TITLE_WORDS", "VENUE_WORDS", "WEAK_CUES", "Finding", "Lexicon",
    "PurePythonScrubber", "ScrubResult", "Scrubber", "Token", "default_lexicon", "default_scrubber", "scrub_frame",
    "scrub_text",
]

TAGS: dict[str, str] = {
    "naam": "[NAAM]",
    "rijksregisternummer": "[RIJKSREGISTERNUMMER]",
    "iban": "[IBAN]",
    "telefoon": "[TELEFOON]",
    "email": "[EMAIL]",
    "adres": "[ADRES]",
    "nummerplaat": "[NUMMERPLAAT]",
}

# When two findings overlap, the type listed first wins (validated identifiers before guesses).
SCRUB_PASSES = 3  # `Scrubber.scrub` looks again after replacing, until it finds nothing new or this many passes
PRIORITY = ["email", "iban", "rijksregisternummer", "telefoon", "nummerplaat", "adres", "naam"]


@dataclass
class ScrubResult:
    text: str
    findings: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(kind for kind, _, _ in self.findings))


_RANK = {kind: r for r, kind in enumerate(PRIORITY)}


def _candidate_order(finding: tuple[str, int, int]) -> tuple[int, int]:
    """Validated identifiers before guesses; of one type, the longest first."""
    return _RANK[finding[0]], finding[1] - finding[2]


class Scrubber:
    """Finds personal data and replaces each finding by its Dutch tag.

    `names=False` keeps only the pattern part (identifiers, addresses, plates), several times faster.
    """

    def __init__(self, names: bool = True, lexicon: Lexicon | None = None) -> None:
        self.names = names
        self._name_finder = _NameFinder(lexicon or default_lexicon()) if names else None

    def find(self, text: str) -> list[tuple[str, int, int]]:
        candidates = _find_emails(text) if "@" in text else []
        if _TEN_DIGITS_RE.search(text):  # cheap scans first: most messages hold neither
            candidates += _find_rrn(text)
        if _IBAN_START_RE.search(text):
            candidates += _find_iban(text)
        if _EIGHT_DIGITS_RE.search(text):
            candidates += _find_phones(text)
        if _PLATE_HINT_RE.search(text):
            candidates += _find_plates(text)
        candidates += _find_addresses(text)
        if self._name_finder is not None:
            candidates += self._name_finder.find(text)
        candidates.sort(key=_candidate_order)
        taken: list[tuple[str, int, int]] = []
        used = bytearray(len(text))
        for kind, start, end in candidates:
            if not any(used[start:end]):
                taken.append((kind, start, end))
                used[start:end] = b"\x01" * (end - start)
        taken.sort(key=lambda f: f[1])
        return _merge_addresses(text, taken)

    def scrub(self, text: str) -> ScrubResult:
        """Replace every finding by its tag, then look again: a tag changes the context a name is read in
        ("de schenkers [NAAM] en zijn vrouw [NAAM] van Peter Paul Rubens" shows a name the first pass missed).
        At most SCRUB_PASSES passes; the findings of a later pass are positions in the text of the pass before."""
        every: list[tuple[str, int, int]] = []
        findings = self.find(text)
        for done in range(1, SCRUB_PASSES + 1):
            if not findings:
                break
            parts, pos = [], 0
            for kind, start, end in findings:
                parts.append(text[pos:start])
                parts.append(TAGS[kind])
                pos = end
            parts.append(text[pos:])
            text = "".join(parts)
            every += findings
            findings = self.find(text) if done < SCRUB_PASSES else []
        return ScrubResult(text, every)


@functools.lru_cache(maxsize=1)
def default_scrubber() -> Scrubber:
    return Scrubber()


def scrub_text(text: str) -> str:
    """Scrub one text with the shared default scrubber; non-strings pass through unchanged."""
    if not isinstance(text, str):
        return text
    return default_scrubber().scrub(text).text


def scrub_frame(df: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Return a scrubbed copy of `df` and the number of findings per type over `columns`."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"Kolom(men) niet gevonden: {missing}; beschikbaar: {list(df.columns)}")
    scrubber = default_scrubber()
    totals: Counter[str] = Counter()
    out = df.copy()

    def scrub_value(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        result = scrubber.scrub(value)
        totals.update(result.counts)
        return result.text

    import pandas as pd

    for column in columns:
        values = [scrub_value(v) for v in df[column].tolist()]
        out[column] = pd.Series(values, index=df.index, dtype=df[column].dtype)
    return out, dict(totals)


# The compiled build of this package, when there is one (`python -m proeftuin.native build`, run by
# `make install`): the same code through mypyc, about 1.3x faster. Used only when built from exactly
# these sources; otherwise, or with PROEFTUIN_PRIVACY_PURE=1, everything above runs as it is.
PurePythonScrubber = Scrubber
_COMPILED_NAMES = ("Lexicon", "ScrubResult", "Scrubber", "default_lexicon", "default_scrubber")


def _use_compiled() -> bool:
    from proeftuin.native import compiled_scrubber

    compiled = compiled_scrubber()
    if compiled is None:
        return False
    globals().update({name: getattr(compiled, name) for name in _COMPILED_NAMES})
    return True


COMPILED = __name__ == "proeftuin.privacy" and _use_compiled()  # (the compiled copy itself: no)
_MODULES = (identifiers, addresses, lexicons, gazetteers, cues, words, names, fields, spans)


def _former_name(name: str) -> Any:
    """Any other name of the former single module `privacy.py` (`privacy._find_phones`), from the
    module that holds it now."""
    for module in _MODULES:
        if name in vars(module):
            return vars(module)[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "proeftuin.privacy":  # (not in the compiled copy: mypyc's set-up of a module asks it for
    globals()["__getattr__"] = _former_name  # `__file__` before its globals exist, and a `__getattr__` crashes)
