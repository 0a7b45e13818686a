"""The word classes of the name finder: whether one word is an ordinary Dutch word, a name the lists
know, a first name, something that is not a person (a country, a nationality, a place abroad, an
institution or organisation, a compound with an organisation's head noun) or name-like (rare in Dutch,
English and French alike)."""

from __future__ import annotations

import functools

from .cues import _FUNCTION_WORDS, _NOUN_SUFFIXES, _SURNAME_PREFIXES, CUE_WORDS
from .gazetteers import (
    _ORG_SUFFIXES,
    COUNTRIES,
    INSTITUTION_WORDS,
    MULTIWORD_PLACES,
    NATIONALITIES,
    ORGANISATIONS,
    PLACES_ABROAD,
    _fold,
)
from .lexicons import _NOT_NAME, Lexicon, _zipf


class _WordClasses:
    """What one word is: ordinary Dutch, a listed (first) name, no person (a place, a country, a body), or
    name-like. Each answer is cached per word; one instance per scrubber, as long-lived as it."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lex = lexicon
        self.gazetteer = frozenset(
            _fold(w) for w in [*COUNTRIES, *PLACES_ABROAD, *NATIONALITIES, *ORGANISATIONS]
        )
        self.institutions = frozenset(_fold(w) for w in INSTITUTION_WORDS)
        self.multiword = {tuple(_fold(p).split()) for p in MULTIWORD_PLACES}
        self.max_multi = max(len(p) for p in self.multiword)
        self.multiword_firsts = frozenset(p[0] for p in self.multiword)

    # -- word classes ------------------------------------------------------------------------------

    @functools.lru_cache(maxsize=100_000)  # noqa: B019 - one finder per scrubber, lives as long
    def is_ordinary(self, token: str) -> bool:
        """An ordinary Dutch word (or function word), whatever the name lists say."""
        low = token.lower().rstrip(".")
        if low in _NOT_NAME or low in self.lex.common_words or low in CUE_WORDS:
            return True
        return _zipf(low) >= 3.0 and not self.is_listed_name(token)

    @functools.lru_cache(maxsize=100_000)  # noqa: B019 - one finder per scrubber, lives as long
    def is_listed_name(self, token: str) -> bool:
        """In the first-name or surname lists and not too frequent a Dutch word: the deduce lists
        hold 'Kamer', 'Staat', 'Hof', 'Schat' as surnames, which on their own are no evidence."""
        low = token.lower().rstrip(".")
        if low in self.lex.common_words:
            return False
        if low not in self.lex.first_names and low not in self.lex.surnames:
            low = _fold(low)  # 'Cédric', 'Zoë' in lists written without accents
        if "-" in low and all(p in self.lex.first_names for p in low.split("-")):
            return True  # 'Jan-Willem', 'Marie-Louise'

        if low in self.lex.first_names:
            return _zipf(low) < 5.4
        if low in self.lex.surnames:
            return _zipf(low) < 4.4
        return False

    @functools.lru_cache(maxsize=100_000)  # noqa: B019 - one finder per scrubber, lives as long
    def is_first_name(self, token: str) -> bool:
        """A first name the lists know that is not also an ordinary word ('Roos' and 'Will' are)."""
        low = token.lower()
        if "-" in low:
            return all(p in self.lex.first_names for p in low.split("-"))
        return low in self.lex.first_names and low not in self.lex.common_words and _zipf(low) < 5.4

    @functools.lru_cache(maxsize=100_000)  # noqa: B019 - one finder per scrubber, lives as long
    def is_known_name(self, token: str) -> bool:
        low = token.lower()
        return low in self.lex.first_names or low in self.lex.surnames

    @functools.lru_cache(maxsize=100_000)  # noqa: B019 - one finder per scrubber, lives as long
    def not_a_person(self, token: str, compounds: bool = True) -> bool:
        """Countries, nationalities, places abroad, institutions and (`compounds`) organisation heads."""
        f = _fold(token.rstrip("."))
        if f in self.gazetteer or f in self.institutions or f in _NOT_NAME:
            return True
        if "-" in f and any(p in self.gazetteer or p in self.institutions for p in f.split("-")):
            return True  # 'Iraaks-Koerdistan', 'Commissie-Juncker'
        return compounds and self.is_org_compound(token)

    @functools.lru_cache(maxsize=100_000)  # noqa: B019
    def is_org_compound(self, token: str) -> bool:
        f = _fold(token)
        if f in self.institutions:
            return True
        capital_parts = "-" in f and all(p[:1].isupper() for p in token.split("-"))  # 'Jean-Pierre'
        if self.is_known_name(token) or capital_parts and not f.endswith(_ORG_SUFFIXES):
            return False
        if len(f) >= 7 and f.endswith(_ORG_SUFFIXES):
            return True
        # other compounds with a frequent Dutch head noun: 'Financietoren', 'ESTA-systeem'
        if "-" in f:
            parts = f.split("-")
            return any(_zipf(p) >= 3.5 for p in parts if len(p) >= 4) or not token.split("-")[-1][:1].isupper()
        if len(f) >= 9 and not self.is_known_name(token) and not f.startswith(_SURNAME_PREFIXES):
            for i in range(3, len(f) - 4):
                head = f[i:]
                if head not in ("meester", "lieve", "andere", "ander") and _zipf(head) >= 4.2:
                    return True
        return False

    @functools.lru_cache(maxsize=100_000)  # noqa: B019 - one finder per scrubber, lives as long
    def namey(self, token: str) -> bool:
        """Looks like a name: listed, or rare in Dutch, English and French alike."""
        if self.not_a_person(token) or token.lower() in _FUNCTION_WORDS:
            return False
        if self.is_listed_name(token):
            return True
        low = token.lower()
        if low.endswith(_NOUN_SUFFIXES):
            return False  # 'Vernietiging', 'Schuldenlast' are nouns, not names
        return _zipf(low) < 3.0 and _zipf(low, "en") < 3.6 and _zipf(low, "fr") < 3.6
