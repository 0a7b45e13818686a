"""Person names: chains of capitalised words and particles, judged with the lexicons, the gazetteers
and the cue words before them, then grown to the whole mention (titles, initials, particles, a second
surname) and tagged again wherever a found surname recurs."""

from __future__ import annotations

import functools
import re

from .addresses import _STREET_END_RE
from .cues import (
    _ABBREVIATED_CUES,
    _ADJECTIVE_ENDINGS,
    _AMBIGUOUS_PARTICLES,
    _CAPS_BEFORE_RE,
    _CAPS_TAIL_RE,
    _CAPS_WORD_RE,
    _CUE_LIKE,
    _HYPHEN_TAIL_RE,
    _INITIAL_RE,
    _LEADING_PARTICLES,
    _PARTICLES_BEFORE_RE,
    _ROMAN_RE,
    _ROMANCE_PARTICLES,
    _SUBJECT_LINE_RE,
    _TITLES_BEFORE_RE,
    _TWO_WORD_CUES,
    CUE_WORDS,
    TITLE_WORDS,
    VENUE_WORDS,
    _chain_kind,
    _cue_strength,
    _is_cap,
    _joined,
    _may_end_in_caps,
    _may_end_in_particle,
    _may_end_in_title,
    _opens_sentence,
    _tokens,
)
from .fields import _field_names
from .gazetteers import _fold
from .lexicons import _NOT_NAME, NAME_PARTICLES, _zipf
from .spans import Finding, Token, _resolve_overlaps
from .words import _WordClasses


class _NameFinder(_WordClasses):
    """Finds the person names in a text (`find`), with the word classes of `_WordClasses`."""

    def caps_names(self, text: str) -> list[tuple[str, int, int]]:
        """Names written in capitals: runs of capitalised words the name lists know, after a title, or
        next to another listed name ('ROGER VANDENBERGHE', 'DHR. VANDENDRIESSCHE', 'JANSSENS Marc')."""
        found = []
        for m in _CAPS_WORD_RE.finditer(text):
            word = m.group().title()
            low = word.lower()
            if low in self.lex.common_words or self.not_a_person(word) or low in self.lex.places or low in _NOT_NAME:
                continue
            before = text[max(0, m.start() - 12) : m.start()].lower()
            titled = bool(re.search(r"(?:dhr|mevr|mw|mr|dr|heer|mevrouw|meneer|ben|naam|is)\.?[ ]+$", before))
            if titled or (self.is_listed_name(word) and _zipf(low) < 4.0):
                found.append(("naam", m.start(), m.end()))
        return found

    def name_words(self, text: str, start: int, end: int, strict: bool, prefix: bool = False,
                   first_needed: bool = False) -> tuple[int, int] | None:
        """The span of a person's name at the start of text[start:end] (a field value, a line),
        whatever its case, or None when the words are ordinary words, places or organisations."""
        words = list(re.finditer(r"[vV]/[dD]|[^\W\d_](?:[\w'’.]|-(?=\w))*", text[start:end]))
        taken = []
        for w in words[:6]:
            tok = w.group().rstrip(".")
            low = tok.lower()
            if low in NAME_PARTICLES or low in ("v/d", "v.d"):
                taken.append(w)
                continue
            after_particle = bool(taken) and taken[-1].group().lower() in NAME_PARTICLES | {"v/d"}
            if self.not_a_person(tok) or low in _NOT_NAME or low in CUE_WORDS or (
                    low in self.lex.places and not after_particle):
                break  # 'Aan: Dienst Burgerzaken'; but 'v/d Sluis', 'Van Kortrijk' are names
            capitalised = _is_cap(tok) and not strict
            if low in self.lex.common_words or (
                    self.is_ordinary(tok) and not capitalised and not self.is_known_name(tok)):
                break
            if strict and not (self.is_known_name(tok) or self.namey(tok)):
                break
            taken.append(w)
        while taken and taken[-1].group().lower() in NAME_PARTICLES:
            taken.pop()
        if first_needed and (len(taken) != len(words) or len(taken) > 4 or not taken or not any(
                self.is_first_name(w.group()) or (_is_cap(w.group()) and self.is_listed_name(w.group()))
                for w in taken)):
            return None  # a line or message end is a name only if it is nothing but one
        if not taken or (not prefix and len(taken) < len([w for w in words if w.group()[:1].isalpha()][:6])
                         and strict):
            return None
        return start + taken[0].start(), start + taken[-1].end()

    # -- chains ------------------------------------------------------------------------------------

    def find(self, text: str) -> list[tuple[str, int, int]]:
        tokens = _tokens(text)
        found: list[tuple[str, int, int]] = []
        subjects = [m.span() for m in _SUBJECT_LINE_RE.finditer(text)] if ":" in text else []
        n = len(tokens)
        kinds = [_chain_kind(word) for _, _, word in tokens]
        after = 0  # the first word not yet part of a chain
        for i in range(n):
            if i < after or not kinds[i]:
                continue  # only capitalised words and particles start a chain
            s, e, tok = tokens[i]
            # chain of capitalised words and particles separated by single spaces or hyphens; after
            # an initial or an abbreviated title also by its dot ('Mw. Prof. Dr. A.B. de Vries')
            j = i
            while j + 1 < n and kinds[j + 1] and _joined(text, tokens[j], tokens[j + 1]):
                j += 1
            if 2 not in kinds[i : j + 1]:
                after = j + 1  # particles only ('in de', 'van het'): no name without a capital
                continue
            prev = tokens[i - 1][2].lower() if i else ""
            if (prev in VENUE_WORDS and text[tokens[i - 1][1] : s] == " ") or (
                    subjects and any(a <= s < b for a, b in subjects)):
                after = j + 1  # 'zaal De Schakel', 'WZC Ter Melle'; 'Onderwerp: Klacht Afvalophaling Imog'
                continue
            if i == j and not self._may_stand_alone(tok) and prev not in _CUE_LIKE:
                continue  # a lone capitalised word without a cue: most open a sentence ('Graag', 'Ik')
            self._judge_chain(text, tokens, i, j, found)
            after = j + 1
        found += _field_names(self, text, tokens)
        if not found:
            return found
        found = self._expand(text, _resolve_overlaps(found))
        return self._repeat_mentions(text, tokens, found)

    @functools.lru_cache(maxsize=100_000)  # noqa: B019
    def _may_stand_alone(self, token: str) -> bool:
        """Could `_accept` take this word on its own, without a cue before it?"""
        if token.lower() in NAME_PARTICLES:
            return False
        core = token[2:] if len(token) > 2 and token[1] in "'’" else token
        return self.is_listed_name(token) or (core is not token and self.namey(core))

    def _may_grow_left(self, before: str) -> bool:
        """Cheap test before the regexes of `_expand`: is the word before a title, an initial, a
        particle, a hyphen, a word in capitals or a possible first name?"""
        if before.endswith("-"):
            return True
        words = before.split()
        if not words:
            return False
        last = words[-1]
        low = last.lower().rstrip(".")
        return (low in TITLE_WORDS or low in NAME_PARTICLES or last.endswith(".") or last.isupper()
                or low.split("-")[-1] in NAME_PARTICLES  # 'Visser-de Jong'
                or low in ("'t", "d'", "v/d") or (_is_cap(last) and (self.is_known_name(last) or self.namey(last))))

    def _expand(self, text: str, found: list[Finding]) -> list[Finding]:
        """Grow each name to the whole mention: titles, initials and particles before it ('Mw. Dr.
        A.B. de Vries'), a first name before a particle ('Peter de Vries'), a hyphenated second
        surname ('Visser-de Jong') and surnames in capitals next to it ('JANSSENS Marc')."""
        out: list[Finding] = []
        for kind, start, end in found:
            floor = out[-1][2] if out else 0  # never into the name before
            for _ in range(6):  # a mention is a few words long: never walk back through a whole text
                if start - floor < 2 or not self._may_grow_left(text[max(floor, start - 16) : start]):
                    break
                base = max(floor, start - 60)
                window = text[base:start]
                moved = False
                m = _TITLES_BEFORE_RE.search(window) if _may_end_in_title(window) else None
                if m and m.start() < len(window):
                    start, moved = base + m.start(), True
                    base = max(floor, start - 60)
                    window = text[base:start]
                m = _PARTICLES_BEFORE_RE.search(window) if _may_end_in_particle(window) else None
                if m and m.start() < len(window):
                    particles = window[m.start() :].split()
                    lone_van = [p.lower() for p in particles] in _AMBIGUOUS_PARTICLES
                    first = re.search(r"([^\W\d_][\w'’-]*)(?:[ ]+|-)$", window[: m.start()])
                    if first and window[: m.start()].endswith("-") and _is_cap(first.group(1)):
                        start, moved = base + first.start(1), True  # 'Visser-de Jong'
                    elif first and _is_cap(first.group(1)) and (
                            self.is_known_name(first.group(1)) or self.namey(first.group(1))):
                        start, moved = base + first.start(1), True  # 'Peter de Vries', 'Jan van den Broeck'
                    elif not lone_van or _TITLES_BEFORE_RE.search(window[: m.start()]):
                        start, moved = base + m.start(), True  # 'van der Sluis', 'mevrouw van Dam'
                window = text[max(floor, start - 40) : start]
                caps = _CAPS_BEFORE_RE.search(window) if _may_end_in_caps(window) else None
                if caps and self.namey(caps.group(1).title()) and not self.not_a_person(caps.group(1)):
                    start, moved = max(floor, start - 40) + caps.start(1), True
                if not moved:
                    break
            for _ in range(4):
                if text[end : end + 1] not in ("-", " "):
                    break
                tail = _HYPHEN_TAIL_RE.match(text, end) or _CAPS_TAIL_RE.match(text, end)
                if not tail or (tail.re is _CAPS_TAIL_RE and not (
                        self.namey(tail.group(1).title()) and not self.not_a_person(tail.group(1)))):
                    break
                end = tail.end()
            out.append((kind, start, end))
            lone = text[start:end]
            if lone.lower() in self.lex.first_names and " " not in lone:  # 'Decock, Annelies'
                surname = re.search(r"(?<![\w'’-])([A-Z][\w'’-]+),[ ]$", text[max(0, start - 40) : start])
                if surname and (self.is_known_name(surname.group(1)) or self.namey(surname.group(1))):
                    out[-1] = (kind, max(0, start - 40) + surname.start(1), end)
        return _resolve_overlaps(out)

    @functools.lru_cache(maxsize=100_000)  # noqa: B019
    def _may_repeat(self, token: str) -> bool:
        """A word of a found name that is a name wherever it stands again: a rare capitalised word."""
        return len(token) >= 4 and _is_cap(token) and self.namey(token) and not self.is_ordinary(token)

    def _repeat_mentions(self, text: str, tokens: list[Token], found: list[Finding]) -> list[Finding]:
        """'Fabrice Leggeri ... Volgens Leggeri': a surname found once is tagged at every mention."""
        known = set()
        k = 0
        for _, fs, fe in found:
            while k < len(tokens) and tokens[k][0] < fs:
                k += 1
            j = k
            while j < len(tokens) and tokens[j][1] <= fe:
                tok = tokens[j][2]
                if self._may_repeat(tok):
                    known.add(tok)
                j += 1
        if not known:
            return found
        extra = [("naam", s, e) for s, e, tok in tokens if tok in known]
        return _resolve_overlaps(found + extra)

    def _judge_chain(self, text: str, tokens: list[Token], i: int, j: int, found: list[Finding]) -> None:
        chain = tokens[i : j + 1]
        prev = tokens[i - 1][2].lower() if i > 0 else ""
        before = text[tokens[i - 1][1] : chain[0][0]] if i > 0 else ""
        at_sentence_start = i == 0 or _opens_sentence(text, chain[0][0])
        gap = before.strip()
        cue = 0
        if gap in ("", ",") or (gap == "." and prev in _ABBREVIATED_CUES):
            cue = _cue_strength(prev)
        # 'de heer', 'mijn naam is': look one word further back
        if not cue and i > 1 and prev in _TWO_WORD_CUES and gap in ("", ","):
            cue = 3 if (tokens[i - 2][2].lower(), prev) in _TWO_WORD_CUES[prev] else 0
        for first, last in self._names_in_chain(tuple(t for _, _, t in chain), cue, at_sentence_start):
            found.append(("naam", chain[first][0], chain[last][1]))

    @functools.lru_cache(maxsize=100_000)  # noqa: B019 - one finder per scrubber, lives as long
    def _names_in_chain(self, chain: tuple[str, ...], cue: int, at_sentence_start: bool) -> tuple[tuple[int, int], ...]:
        """The names in a chain of words, as (first, last) word positions. It depends on the words, the
        cue before them and whether they open a sentence only, so a chain seen before ('In de', 'Met
        vriendelijke') costs one lookup."""
        found: list[tuple[int, int]] = []
        blocked = self._blocked_mask(chain)
        # an organisation ('Raad van State', 'Commissie Tegemoetkoming Geneesmiddelen') takes the
        # whole chain with it, unless a title cue opens a person inside it
        k = 0
        while k < len(chain):
            tok = chain[k]
            low = tok.lower().rstrip(".")
            if (low in NAME_PARTICLES and not _is_cap(tok) and k + 1 < len(chain)
                    and _cue_strength(chain[k + 1])):
                k += 1  # 'van Prof. Dr. X': the preposition before a title
                continue
            strength = _cue_strength(tok) if (_is_cap(tok) or low in TITLE_WORDS) and k + 1 < len(chain) else 0
            if strength and low not in NAME_PARTICLES:
                cue = strength
                k += 1
                continue
            first_of_sentence = k == 0 and at_sentence_start
            if blocked[k] == 2 and cue < 2:
                return tuple(found)  # organisation chain: no more names in it
            is_blocked = bool(blocked[k])
            if first_of_sentence and not is_blocked and low not in NAME_PARTICLES and not _INITIAL_RE.fullmatch(
                    tok) and self.is_ordinary(tok) and not (
                low in self.lex.first_names and any(_is_cap(t) for t in chain[k + 1 : k + 4])
            ):
                is_blocked = True
            if is_blocked:
                k += 1
                cue = cue if cue >= 2 and k < len(chain) else 0  # 'minister van Justitie Geens'
                continue
            m = k + 1
            while m < len(chain) and not blocked[m]:
                m += 1
            first, last = k, m - 1  # the run of free words
            while last >= first and chain[last].lower() in NAME_PARTICLES and not _is_cap(chain[last]):
                last -= 1
            while first <= last and not _is_cap(chain[first]) and chain[first].lower() in NAME_PARTICLES:
                first += 1
            words = chain[first : last + 1]
            if words and self._accept(words, cue, first_of_sentence):
                found.append((first, last))
            else:
                cut = next((x for x, t in enumerate(words) if x and t in NAME_PARTICLES), 0)
                if cut and self._accept(words[:cut], cue, first_of_sentence):  # 'Rita van het Sociaal Huis'
                    found.append((first, first + cut - 1))
            k = m
            cue = cue if not words else 0  # 'minister van Justitie X': 'van' alone keeps the cue
        return tuple(found)

    def _blocked_mask(self, chain: tuple[str, ...]) -> tuple[int, ...]:  # (cached with `_names_in_chain`)
        """Per word: 0 free, 1 ends a name (place, nationality, month), 2 organisation head."""
        folded = [_fold(t) for t in chain]
        mask = [0] * len(chain)
        k = 0
        while k < len(chain):  # multi-word places and media: 'Verenigde Staten', 'De Morgen'
            if folded[k] not in self.multiword_firsts:
                k += 1
                continue
            for size in range(min(self.max_multi, len(chain) - k), 1, -1):
                if tuple(folded[k : k + size]) in self.multiword:
                    mask[k : k + size] = [1] * size
                    break
            k += 1
        for k, tok in enumerate(chain):
            low = tok.lower().rstrip(".")
            if mask[k] or (low in NAME_PARTICLES and not _is_cap(tok)):
                continue
            glued = k > 0 and chain[k - 1].lower() in _LEADING_PARTICLES  # 'Van Damme', 'De Panne'
            after_first = k > 0 and self.is_first_name(chain[k - 1])  # 'Laura Geldhof', not an org
            if after_first and _fold(tok) not in self.institutions and not self.not_a_person(tok):
                continue
            if not self.is_listed_name(tok) and self.is_org_compound(tok) or _fold(tok) in self.institutions:
                mask[k] = 2
            elif self.not_a_person(tok) or (low in self.lex.places and not glued):
                mask[k] = 1
            elif low in NAME_PARTICLES and _is_cap(tok) and low not in _LEADING_PARTICLES:
                mask[k] = 1  # 'In', 'Het', 'Op' opening a sentence
        return tuple(mask)

    def _accept(self, run: tuple[str, ...], cue: int, sentence_start: bool) -> bool:  # (as `_blocked_mask`)
        words = [t for t in run if not _ROMAN_RE.fullmatch(t)]  # 'Albert II'
        content = [w for w in words if w.lower() not in NAME_PARTICLES]
        if not content or len(content) > 4:
            return False
        if content[0].lower() in TITLE_WORDS:
            return False  # 'Madame, Monsieur'
        after_first = self.is_first_name(content[0])
        for w in content:
            low = w.lower()
            if len(w) == 2 and w.isupper() and not w.endswith("."):
                return False  # 'PV KO'
            if (cue < 2 and not after_first and len(w) >= 7 and _STREET_END_RE.search(w)
                    and low not in self.lex.surnames):
                return False  # a street named as a place: 'in de Gentsesteenweg'

        if self.is_first_name(content[0]) and 2 <= len(content) <= 4 and not any(
                self.not_a_person(w, compounds=False) for w in content) and (
                len(words) > len(content) or all(_is_cap(w) for w in content[1:])) and not any(
                _zipf(w.lower(), "en") >= 4.0 and w.lower() not in self.lex.surnames for w in content[1:]):
            # a first name the lists know, then capitalised words or particles that are no place,
            # country or body: 'Marleen De Wolf', 'Lucas ter Haar', 'Denise Bal', 'Laura Geldhof'
            return True
        if any(self.not_a_person(w) for w in content):
            return False
        if cue >= 3:
            return True
        if cue:  # role or relation word: the words must look like a name (first one may be ordinary)
            return all(self.namey(w) for w in content[1:]) and (
                self.namey(content[0]) or (len(content) > 1 and content[0].lower() not in self.lex.common_words)
            )
        if len(words) >= 2:
            if words[0].lower() in _LEADING_PARTICLES and _is_cap(words[0]):  # 'De Smet', 'Van den Bossche'
                if words[0].lower() in _ROMANCE_PARTICLES and not self.is_listed_name(content[-1]):
                    return False  # 'La Sante', 'Le Monde': French articles, not 'Le Pen'
                return " ".join(w.lower() for w in words) not in self.lex.places and all(self.namey(w) for w in content)
            if _INITIAL_RE.fullmatch(words[0]):  # 'A. de Jong', 'K. Vandenbroucke', 'J.-P. Lenoir'
                rest = [w for w in content if not _INITIAL_RE.fullmatch(w)]
                particle = len(words) > len(content)
                return bool(rest) and all(
                    self.namey(w) or self.is_known_name(w) or particle or not self.is_ordinary(w) for w in rest)
            if content[0].lower().endswith(_ADJECTIVE_ENDINGS) and not self.is_listed_name(content[0]):
                return False  # 'Overmatige Schuldenlast', 'Biliaire Cirrose'
            if len(content) < 2 or all(_zipf(w.lower(), "en") >= 4.0 for w in content):
                return False  # 'Alpha Jet', 'Windows Server': English words
            if not all(self.namey(w) for w in content[1:]):
                return False
            first = content[0].lower()
            if self.namey(content[0]) or (first in self.lex.first_names and first not in self.lex.common_words):
                return not sentence_start or any(self.is_listed_name(w) for w in content) or len(content) >= 2
            # an ordinary first word ('Roos', 'Nest') only mid-sentence, never an adjective
            return not sentence_start and first not in self.lex.common_words and not first.endswith("e")
        # a single capitalised word mid-sentence: a name only when the lists know it
        word = content[0]
        core = word[2:] if len(word) > 2 and word[1] in "'’" else word  # "d'Hondt"
        if len(core) < 3 or not all(p[1:].replace("'", "").islower() for p in core.split("-") if p):
            return False  # 'NOx', 'SI': abbreviations
        if word.lower() in self.lex.places or _STREET_END_RE.search(word) and not self.is_known_name(word):
            return False  # 'Kortrijk', 'in de Kerkstraat': places
        parts = word.split("-")
        if len(parts) > 1 and all(p[:1].isupper() and p.lower() in self.lex.first_names for p in parts):
            return True  # 'Jan-Willem', 'Anne-Sophie', also opening a sentence
        if sentence_start:  # a rare first name opening a sentence: 'Hanne contacteert haar morgen'
            low = word.lower()
            return self.is_first_name(word) and _zipf(low) < 4.2 and _zipf(low, "en") < 4.5 and _zipf(low, "fr") < 4.5
        # alone, mid-sentence: a name the lists know ("d'Hondt": its core); an unlisted rare word is as
        # often an organisation, product or place ('Selor', 'Fedasil', 'Vielsalm')
        return self.is_listed_name(word) or (core is not word and self.namey(core))
