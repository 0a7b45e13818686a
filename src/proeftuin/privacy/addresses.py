"""Addresses as whole mentions: a street with its number, box, postcode and town (Dutch and French
forms, streets without a suffix in address context, postbus), and adjacent parts merged into one."""

from __future__ import annotations

import functools
import re

from .cues import CUE_WORDS
from .lexicons import _NOT_NAME, NAME_PARTICLES, default_lexicon
from .spans import _opening_class

STREET_SUFFIXES = (
    "straat", "laan", "plein", "steenweg", "weg", "dreef", "lei", "kaai", "markt", "hof", "pad",
    "dijk", "vest", "vesten", "singel", "wegel", "baan", "park", "kouter", "dries", "gracht", "ring",
    "boulevard", "plaats", "erf", "akker", "meers", "wal", "poort", "oever", "vaart", "dam", "hoek",
    "veld", "berg", "houk", "kapel", "kerkhof", "molen", "heirweg", "reke", "wijk", "zuid", "noord",
    "laantje", "straatje", "laai", "rei", "rui", "wandeling", "dreefje", "helling", "vliet", "steeg", "gang",
    "square", "galerij", "hoeve", "beemd", "bos", "donk", "kade", "plantsoen", "bolwerk", "straatweg",
    "allee", "kaaien", "pleintje", "dreven", "wegje", "baantje", "gaarde", "kwartier",
    "polder", "vijver", "burcht", "kouterweg",
    # abbreviations: 'Kerkstr. 1', 'Beukenln 1', 'Gentse Stwg. 4'
    "str", "strt", "ln", "stwg", "stw", "stwg", "pln",
)
STREET_MODIFIERS = {
    "grote", "kleine", "lange", "korte", "oude", "nieuwe", "hoge", "lage", "sint", "onze-lieve-vrouw",
    "burgemeester", "koning", "koningin", "generaal", "kardinaal", "pastoor", "pater", "dokter",
    "president", "prins", "prinses", "graaf", "baron", "ridder", "kanunnik", "deken", "abt", "kapitein",
    "albert", "leopold", "boudewijn", "astrid", "elisabeth", "ii", "iii", "i", "leopold-iii",
    "koning-albert", "west", "oost", "zuid", "noord", "heilig", "heilige", "o.l.vrouw", "olv",
}
_STREET_CONNECTORS = {"van", "de", "der", "den", "ter", "ten", "het", "'t", "op", "aan", "in", "la", "le"}
class _StreetEnd:
    """`search(word)`: does the word end in a street suffix? str.endswith on a tuple, not a regex."""

    @staticmethod
    @functools.lru_cache(maxsize=100_000)
    def search(word: str) -> bool:
        return word.lower().endswith(STREET_SUFFIXES)


_STREET_END_RE = _StreetEnd()
_HOUSE_NUMBER_RE = re.compile(
    r"(?P<pre>[^\W\d_][\w'’.-]*)[ ]+(?:(?:nr|no|n°|nummer|huisnummer)\.?[ ]*)?"
    r"(?P<num>(?P<digits>\d{1,4})(?: ?[a-zA-Z](?![\w]))?)"
    r"(?:[ ]*(?:-|/)[ ]*\d{1,4}(?![\d.,]))?"
    r"(?:[ ]*,?[ ]*(?:bus|b\.|bte|box|boîte|bt)[ ]*\d{1,4}[a-zA-Z]?"
    r"|[ ]*/[ ]*(?:\d{1,3}[a-zA-Z]?|[A-Za-z](?![\w])))?(?![\d])(?![.,]\d)"
)
_POSTCODE_RE = re.compile(
    r"(?<![\w/.,-])(?:(?:B|NL|F)-)?[1-9]\d{3}(?:[ ]?[A-Z]{2}(?= ))?[ ]+"
    r"(?P<town>[A-Z][^\W\d_A-Z]+(?:(?:-| )(?:[A-Z][^\W\d_A-Z]+|sur|lez|aan|de|den|op|over))*)(?![\w-])"
)
_POSTCODE_ANY_CASE_RE = re.compile(r"(?<![\w/.,-])[1-9]\d{3}[ ]+(?P<town>[^\W\d_][\w'’-]+)(?![\w-])")
_STREET_BEFORE_POSTCODE_RE = re.compile(r"(?<![\w'’-])([A-Z][\w'’-]+)[ ]*,[ ]*$")
_HOUSE_NUMBER_END_RE = re.compile(r"[^\W\d_]{3,}[ ]+\d{1,4}[a-zA-Z]?(?:[ ]*/[ ]*\w{1,3})?[ ,]*$")
_NOT_TOWN = {"euro", "eur", "uur", "stuks", "km", "m", "m²", "m2", "januari", "februari", "maart",
             "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"}
_WORD_RE = re.compile(r"[A-Z]\.(?=[ ]?[A-Z])|[^\W\d_][\w'’]*(?:-(?=\w)[\w'’]*)*")


# Streets without a suffix ('Kouter 5', 'Meir 23', 'Zand 14') count only in address context: after
# "in de", "aan de", "wonende", "Adres:" ... or followed by a postcode.
_ADDRESS_CUE_RE = re.compile(
    _opening_class(r"\bin de", r"\baan de", r"\bop de", r"\bnaar de", r"\blangs de",
                   r"\bwonende(?: in de| aan de| op de)?", r"\bwoon(?:t|achtig)?(?: in de| aan de| op de)?",
                   r"\badres(?:wijziging)?:?", r"\bter hoogte van(?: de)?", r"\bgelegen(?: aan de| in de)?",
                   r"\bverhuisd naar(?: de)?")
    + "[ ]*$"
)
_POSTCODE_AFTER_RE = re.compile(
    r"^(?:[ ]*,[ ]*|[ ]+te[ ]+|[ ]*\n[ ]*|[ ]+|[ ]*-[ ]*)(?:(?:B|NL|F)-)?[1-9]\d{3,4}(?:[ ]?[A-Z]{2})?[ ]+[A-Za-z]"
)
# French-style addresses (Wallonia, the Nord département): 'rue de la Gare 14', '12, rue Nationale',
# 'chaussée de Gand 100', with an optional five-digit French postcode and town after them.
_FR_STREET = (
    r"(?i:rue|avenue|av\.|chauss[ée]e|boulevard|bd|bld|place|quai|chemin|impasse|all[ée]e|route|clos|square"
    r"|dr[èe]ve|sentier|r[ée]sidence|cit[ée]|parvis|passage|faubourg)"
)
# Cheap test on the lower-cased text: a French street word as a word of its own, followed by a space
# or an apostrophe, as `_FR_ADDRESS_RE` requires ('rue de', "rue d'"); most texts hold none.
_FR_STREET_HINT_RE = re.compile(r"(?<![\w-])(?:" + _FR_STREET[4:] + r"(?=[ ]|[ ]?['’])")
_FR_NAME = (
    r"(?:[ ](?i:de|du|des|la|le|l[’']|d[’']|aux?|sur|en|saint|sainte|st|ste)\b"
    r"|[ ][A-ZÀ-Ý][\w’'-]*|[ ]?[’'][A-ZÀ-Ý][\w’'-]*)+"
)
_FR_ADDRESS_RE = re.compile(
    r"(?<![\w-])(?:(?P<num1>\d{1,4}(?:[ ]?(?:bis|ter|[a-zA-Z]))?),?[ ]+" + _FR_STREET + _FR_NAME
    + r"|" + _FR_STREET + _FR_NAME
    + r",?[ ]+(?P<num2>\d{1,4}(?:[ ]?[a-zA-Z](?!\w))?)(?:[ ]*(?:bte|bt|boîte|bus)[ ]*\d{1,4})?)"
    r"(?:[ ]*,?[ ]*(?:(?:F|B)-)?\d{4,5}[ ]+[A-ZÀ-Ý][\w’'-]*(?:[ -](?:[A-ZÀ-Ý][\w’'-]*|sur|lez|en|la|le))*)?(?![\w-])",
)
_POSTBUS_RE = re.compile(
    r"(?<![\w-])(?i:postbus|bo[iî]te postale|bp|pb|p\.b\.)[ ]*(?:nr\.?[ ]*)?\d{1,6}"
    r"(?:[ ]*,?[ ]*(?:(?:B|NL|F)-)?[1-9]\d{3,4}(?:[ ]?[A-Z]{2})?[ ]+[A-Z][\w’'-]*(?:[ -][A-Z][\w’'-]*)*)?(?![\w-])",
)
# 'Laan van Meerdervoort 12', 'Dreef ter Bede 3': the street type opens the name.
_LEADING_TYPE_RE = re.compile(
    r"\b(?:Laan|Dreef|Plein|Weg|Kaai|Kade|Lei|Steenweg|Hof|Park|Markt|Straat|Baan|Singel|Dijk|Gracht|Pad|Ring"
    r"|Vest|Wal|Plantsoen|Dam)(?:[ ](?:van|der|de|den|ter|ten|op|naar|'t|het|in|aan|bij))+[ ]$"
)
_NOT_STREET = {
    "tabel", "bijlage", "fase", "artikel", "art", "hoofdstuk", "lijn", "sectie", "punt", "titel", "boek",
    "deel", "afdeling", "paragraaf", "vraag", "bus", "perron", "kanaal", "zone", "pijler", "niveau",
    "klasse", "categorie", "type", "model", "versie", "kamer", "zaal", "lokaal", "verdieping", "blok",
    "nummer", "nr", "dag", "week", "jaar", "groep", "stap", "optie", "kilometer", "km", "uur", "minuten",
}


_NUMBER_RE = re.compile(r"[ (\n,-](\d{1,4})(?!\d)")
_NUMBER_MARKERS = (" nr.", " nr", " no.", " no", " n°", " nummer", " huisnummer")


def _numbers(text: str) -> list[int]:
    """Where the numbers of up to four digits start (after a space, bracket, new line or hyphen)."""
    starts = [m.start(1) for m in _NUMBER_RE.finditer(text)]
    if text[:1].isdigit():
        starts.insert(0, 0)
    return starts


def _skip_spaces_back(text: str, end: int) -> int:
    while end > 0 and text[end - 1] == " ":
        end -= 1
    return end


def _house_numbers(text: str, numbers: list[int]) -> list[re.Match]:
    """`_HOUSE_NUMBER_RE` matches, found from the numbers backwards: a text has far fewer numbers
    than words, and scanning every word for a number after it was the slowest part."""
    matches, last = [], -1
    for number in numbers:
        end = _skip_spaces_back(text, number)
        if end == number:
            continue  # '8500-Kortrijk', '(12': no word before the number
        if text[end - 1] in ".or" and text.endswith(_NUMBER_MARKERS, 0, end):  # 'Kerkstraat nr. 14'
            marker = next(mk for mk in _NUMBER_MARKERS if text.endswith(mk, 0, end))
            end = _skip_spaces_back(text, end - len(marker))
        start = end
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "'’.-"):
            start -= 1
        while start < end and not text[start].isalpha():
            start += 1
        if start >= end or start <= last or (start > 0 and text[start - 1] not in " \n\t(,;:'\""):
            continue  # no word, inside a word or an e-mail address
        m = _HOUSE_NUMBER_RE.match(text, start)
        if m:
            matches.append(m)
            last = m.start()
    return matches


def _find_addresses(text: str) -> list[tuple[str, int, int]]:
    found: list[tuple[str, int, int]] = []
    numbers = _numbers(text)
    for m in _house_numbers(text, numbers):
        word = m.group("pre").rstrip(".")
        if not word[:1].isupper() and not (
                _STREET_END_RE.search(word) and len(word) >= 7 and (
                    _POSTCODE_AFTER_RE.match(text[m.end() : m.end() + 30])
                    or _ADDRESS_CUE_RE.search(text[max(0, m.start() - 40) : m.start()]))):
            continue  # 'leiestraat 45 8930 lauwe', 'ik woon in de kerkstraat 5' count
        if not _STREET_END_RE.search(word):
            low = word.lower()
            number = int(m.group("digits"))
            if (
                m.group("pre").endswith(".") or word.isupper() or low in _NOT_STREET or low in _NOT_NAME
                or low in NAME_PARTICLES
                or len(m.group("num")) == 4 and 1900 <= number <= 2100
            ):
                continue  # 'Kempen. 1.', 'Tabel 3', 'Richtlijn 2004
            start = m.start("pre")
            prev = list(_WORD_RE.finditer(text[max(0, start - 30) : start]))
            if prev and text[start - 1] == " " and (prev[-1].group().lower() in STREET_MODIFIERS or (
                    prev[-1].group() in {w.title() for w in _STREET_CONNECTORS})):  # 'Grote Kring 2', 'Ter Bede 25'
                start = max(0, start - 30) + prev[-1].start()  # 'Grote Kring 2'
            lead = _LEADING_TYPE_RE.search(text[max(0, start - 30) : start])
            if lead:
                start = max(0, start - 30) + lead.start()
            postcode_after = _POSTCODE_AFTER_RE.match(text[m.end() : m.end() + 30])
            if lead or postcode_after or _ADDRESS_CUE_RE.search(text[max(0, start - 40) : start]):
                found.append(("adres", start, m.end()))
            continue
        start = m.start("pre")
        # Walk back over modifiers ("Grote", "Burgemeester X") and connectors ("Kapel ter Bede").
        words = list(_WORD_RE.finditer(text[max(0, start - 80) : start]))
        offset = max(0, start - 80)
        for w in reversed(words):
            between = text[offset + w.end() : start]
            if between not in (" ", "-"):
                break
            token = w.group()
            low = token.lower().rstrip(".")
            if low in STREET_MODIFIERS or (token[:1].isupper() and low not in _NOT_NAME and low in _STREET_CONNECTORS):
                start = offset + w.start()
            elif low in _STREET_CONNECTORS:
                start = offset + w.start()
            elif (
                token[:1].isupper() and token.isalpha() and not token.isupper()
                and low not in _NOT_NAME and low not in CUE_WORDS and m.start("pre") - start < 30
            ):
                start = offset + w.start()  # person name in a street name: "Stijn Streuvelsstraat"
            else:
                break
        # never start on a bare connector
        while True:
            head = _WORD_RE.match(text, start)
            if head and head.group() in _STREET_CONNECTORS and head.end() < m.start("pre"):
                start = head.end() + 1
            else:
                break
        found.append(("adres", start, m.end()))
    low = text.lower()
    if _FR_STREET_HINT_RE.search(low):
        found.extend(("adres", m.start(), m.end()) for m in _FR_ADDRESS_RE.finditer(text))
    if "bus" in low or "bp" in low or "pb" in low or "boîte" in low or "p.b." in low:
        found.extend(("adres", m.start(), m.end()) for m in _POSTBUS_RE.finditer(text))
    for number in numbers:  # postcodes: only where a number starts
        if text[number] == "0" or not text[number : number + 4].isdigit():
            continue
        begin = number
        for prefix in ("B-", "F-", "NL-"):  # 'B-8500 Kortrijk'
            at = number - len(prefix)
            if text.endswith(prefix, 0, number) and (at == 0 or not text[at - 1].isalnum()):
                begin = at
        postcode = _POSTCODE_RE.match(text, begin)
        if postcode and postcode.group("town").lower() not in _NOT_TOWN:
            street = _STREET_BEFORE_POSTCODE_RE.search(text, max(0, begin - 50), begin)
            if street and _STREET_END_RE.search(street.group(1)) and len(street.group(1)) >= 7:
                begin = street.start(1)  # 'Kerkstraat, 8500 Kortrijk': a street without number
            found.append(("adres", min(begin, postcode.start()), postcode.end()))
            continue
        postcode = _POSTCODE_ANY_CASE_RE.match(text, number)
        if postcode and postcode.group("town").lower() in default_lexicon().places and _HOUSE_NUMBER_END_RE.search(
                text, max(0, postcode.start() - 12), postcode.start()):
            found.append(("adres", postcode.start(), postcode.end()))  # 'HOOGSTRAAT 201 8970 POPERINGE'
    return found


def _merge_addresses(text: str, findings: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """'Kerkstraat 12, 8500 Kortrijk' is one address, not two."""
    merged: list[tuple[str, int, int]] = []
    for f in findings:
        if merged and f[0] == "adres" == merged[-1][0] and _ADDRESS_GLUE_RE.fullmatch(text, merged[-1][2], f[1]):
            merged[-1] = ("adres", merged[-1][1], f[2])
        else:
            merged.append(f)
    out = []
    for kind, start, end in merged:
        if kind == "adres":  # 'Meersbaan 3 Zwevegem': a municipality right after the number
            town = _TOWN_AFTER_RE.match(text, end)
            if town and town.group(1).lower() in default_lexicon().places:
                end = town.end()
        out.append((kind, start, end))
    return out


_ADDRESS_GLUE_RE = re.compile(
    r"[ ,]*(?:\n[ \t]*)?(?:te[ ]+)?|,?[ ]*(?:kamer|app\.?|appartement|verdieping|bus|box)[ ]*\w{1,4},?[ ]*"
)
_TOWN_AFTER_RE = re.compile(r"(?:[ ,]*[ ]te[ ]+|[ ,]+)([A-Z][\w'’-]+|[a-z][\w'’-]+(?=[ .,]|$))")
