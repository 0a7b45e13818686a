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
"""

from __future__ import annotations

import calendar
import datetime
import functools
import importlib.util
import itertools
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import phonenumbers
from stdnum import iban as stdnum_iban

if TYPE_CHECKING:
    import pandas as pd

Finding = tuple[str, int, int]  # (type, start, end)
Token = tuple[int, int, str]  # (start, end, word)

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
PRIORITY = ["email", "iban", "rijksregisternummer", "telefoon", "nummerplaat", "adres", "naam"]

# ---------------------------------------------------------------- identifiers (pattern + checksum)

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


_NON_DIGIT_RE = re.compile(r"\D")
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
# (Patterns open with a plain character class and look behind after it: `re` skips ahead quickly to a
# possible first character only when the pattern starts with one, not with a look-behind or a repeat.)
_RRN_RE = re.compile(
    r"\d(?<![\w.-]\d)\d[. /-]?\d{2}[. /-]?\d{2}[. /-]?\d{3}[. /-]?\d{2}(?![\w-]|[.,/]\d)"
)
_IBAN_RE = re.compile(r"[A-Z](?<![\w-][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]){11,30}(?![\w-])")
# (Written to open with the class of a number's first character, '+', '0' or '(': `re` then skips to
# those; each alternative checks by a look-behind which one it was.)
_PHONE_BODY = r"(?:(?:[ ]?[./-][ ]?|[ ])?\d){5,10}(?![\w/-]|[ .,/-]\d|[.,]\d)"
_PHONE_RE = re.compile(
    r"[+0(](?<![\w+/.,-].)(?<!\d[ ./-].)"
    r"(?:(?:(?<=[+])|(?<=0)0)(?P<intl>[ ]?(?P<cc>32|31|33|352|49|44|[1-9]\d{0,2}(?=[ .-]))[ ]?"
    r"(?:\((?:0|\d{1,3})\)[ ]?|[ ./-])?)\d" + _PHONE_BODY
    + r"|(?<=[(])(?P<paren>0\d{1,3}\)[ ]?)\d" + _PHONE_BODY
    + r"|(?<=0)" + _PHONE_BODY + ")"
)
# Words just before a number that say it is a phone number (or, for bare digit strings, that it is not).
_PHONE_CUE_RE = re.compile(
    _opening_class(r"\btel", r"\bgsm", r"\bfax", r"\bmobiel", r"\bmobile", r"\bportable", r"\bt[ée]l[ée]?phone?",
                   r"\bbel\w*", r"\bgebeld", r"\bbereikbaar", r"\bphone", r"\bnummer", r"\bnr", r"\bn°", "☎", "📞",
                   r"\bcontact", r"\bsms", r"\bwhatsapp", r"\bappen", r"\bnum[ée]ro", r"\bbeller", r"\bop")
    + r"\b[^\n\d]{0,12}$"
)
_REFERENCE_CUE_RE = re.compile(
    _opening_class("factuur", "dossier", "klant", "referentie", r"\bref", "kbo", "ondernemings", "btw", "rekening",
                   "iban", "rijksregister", "rol", "order", "bestel", "kenmerk", "aanslag", "contract", "polis", "lid",
                   "ean", "artikel", "zaak", "ticket", "inschrijvings", "registratie", "vergunning", "omv")
    + r"\w*[^\n\d]{0,12}$"
)
_KBO_RE = re.compile(r"0\d{3}\.\d{3}\.\d{3}")
_PLATE_RE = re.compile(
    r"(?=[\dA-Z])(?<![\w-])(?:[1-9][- ]?[A-Z]{3}[- ]?\d{3}|(?P<old>[A-Z]{3})-\d{3}|\d{3}-[A-Z]{3}"
    # Dutch side codes (GV-482-K, 83-KNB-7, 12-ABC-3, XX-12-YY) and French SIV plates (FG-418-KL)
    r"|[A-Z]{2}-\d{3}-[A-Z]{1,2}|[A-Z]-\d{3}-[A-Z]{2}|\d{2}-[A-Z]{3}-\d|\d-[A-Z]{3}-\d{2}|\d{2}-[A-Z]{2}-[A-Z]{2}"
    r"|[A-Z]{2}-\d{2}-[A-Z]{2}|\d{2}-[A-Z]{2}-\d{2}|[A-Z]{2}-[A-Z]{2}-\d{2}|[A-Z]{3}-\d{2}-[A-Z]|[A-Z]-\d{2}-[A-Z]{3})(?![\w-])"
)
# Three-letter prefixes of references that the pre-2008 plate form (ABC-123) would otherwise catch.
_NOT_PLATE_PREFIXES = {"BTW", "REF", "DOS", "KBO", "OMV", "FAC", "INV", "NRS", "ART", "AFD"}


def _find_emails(text: str) -> list[tuple[str, int, int]]:
    return [("email", m.start(), m.end()) for m in _EMAIL_RE.finditer(text)]


def _find_rrn(text: str) -> list[tuple[str, int, int]]:
    """Valid national and BIS numbers anywhere; after a word that says so, also mistyped ones."""
    found: list[tuple[str, int, int]] = []
    for m in _RRN_RE.finditer(text):
        digits = _NON_DIGIT_RE.sub("", m.group())
        if _national_number_valid(digits):
            found.append(("rijksregisternummer", m.start(), m.end()))
    for m in _RRN_SHAPE_RE.finditer(text):
        if _plausible_birth(m.group()):  # '76.10.10-215.60': the register's own notation
            found.append(("rijksregisternummer", m.start(), m.end()))
    low = text.lower()
    if not any(word in low for word in _RRN_CUE_HINTS):
        return found
    for cue in _RRN_CUE_RE.finditer(text):
        typo = _RRN_TYPO_RE.match(text, cue.end())
        if typo and 10 <= sum(c.isdigit() for c in typo.group("num")) <= 12:
            found.append(("rijksregisternummer", typo.start("num"), typo.end("num")))
    return found


_RRN_SHAPE_RE = re.compile(r"\d(?<![\w.-]\d)\d\.\d{2}\.\d{2}[-.]\d{3}\.\d{2}(?![\w-]|[.,]\d)")


def _plausible_birth(number: str) -> bool:
    digits = _NON_DIGIT_RE.sub("", number)
    month, day = int(digits[2:4]), int(digits[4:6])
    return (month % 20 <= 12) and day <= 31


_RRN_CUE_HINTS = ("rijksregister", "rrn", "insz", "bis", "nationa", "registre", "niss", "identificatie", "n.n")
_IBAN_START_RE = re.compile(r"[A-Z]{2}\d\d")
_EIGHT_DIGITS_RE = re.compile(r"\d(?:[ ./()-]{0,3}\d){7}")  # no phone number is shorter
_PLATE_HINT_RE = re.compile(r"\d[- ]?[A-Z]{2}|[A-Z]{2}[- ]?\d")
_TEN_DIGITS_RE = re.compile(r"\d(?:[ ./-]?\d){9}")
# A number written right after 'rijksregisternummer', 'RRN', 'INSZ', 'nationaal nummer' ... is one,
# even with a digit too many or too few or a wrong check: a mistyped number still points at a person.
_RRN_CUE_RE = re.compile(
    _opening_class("rijksregister(?:nummer|nr)?", r"\brrn", r"\binsz(?:-nummer|nummer)?", r"\bbis-?nummer",
                   r"\bnationaal nummer", r"\bnational(?:e)? (?:nr|number)", r"\bregistre national",
                   r"\bnum[ée]ro national", r"\bniss", "identificatienummer(?: van het rijksregister)?",
                   r"\bn\.?n\.?(?=[ :])")
    + r"\.?"
)
_RRN_TYPO_RE = re.compile(
    r"[ ]*(?:\(?[A-Za-z]{0,4}\)?)?[ ]*[:=]?[ ]*(?:is[ ]+|nr\.?[ ]*)?(?P<num>\d(?:[ ./-]?\d){9,11})(?![\d])"
)


def _find_iban(text: str) -> list[tuple[str, int, int]]:
    """Match greedily, then keep the longest prefix whose check digits are valid."""
    found = []
    for m in _IBAN_RE.finditer(text):
        raw = m.group()
        ends = [i + 1 for i, ch in enumerate(raw) if ch != " "]
        for end in reversed(ends):
            if end < len(raw) and raw[end] != " ":
                continue  # only cut at group boundaries
            compact = raw[:end].replace(" ", "")
            if len(compact) < 15:
                break
            if _iban_valid(compact):
                found.append(("iban", m.start(), m.start() + end))
                break
    return found


def _national_number_valid(digits: str) -> bool:
    """A Belgian national or BIS number: check digits over the first nine digits (with a 2 in front
    for births from 2000 on, not in the future), and a birth date that can exist (BIS numbers add 20
    or 40 to the month; 0 is an unknown month or day). The rules of `stdnum.be.nn` / `stdnum.be.bis`,
    done here without their per-call overhead; a test compares the two on 20,000 numbers."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    check, year = int(digits[9:]), int(digits[:2])
    centuries = []
    if check == 97 - int(digits[:9]) % 97:
        centuries.append(1900)
    if 2000 + year <= _THIS_YEAR and check == 97 - int("2" + digits[:9]) % 97:
        centuries.append(2000)
    month, day = int(digits[2:4]), int(digits[4:6])
    if not centuries or month not in _REGISTER_MONTHS:
        return False
    month %= 20
    if not month or not day:
        return True
    return any(day <= calendar.monthrange(century + year, month)[1] for century in centuries)


_THIS_YEAR = datetime.date.today().year
_REGISTER_MONTHS = frozenset([*range(13), *range(20, 33), *range(40, 53)])


@functools.lru_cache(maxsize=128)
def _bban_pattern(country: str) -> re.Pattern | None:
    """The account-number structure of a country, from python-stdnum's IBAN registry (looked up once
    per country: the per-number lookup was the costliest step of the whole scrubber)."""
    if not stdnum_iban.is_valid(_IBAN_EXAMPLES.get(country, "")):
        return None
    info = stdnum_iban._ibandb.info(country)  # noqa: SLF001 - the registry stdnum validates with
    return stdnum_iban._struct_to_re(info[0][1].get("bban", ""))  # noqa: SLF001


def _iban_valid(compact: str) -> bool:
    if not _mod97(compact):
        return False
    pattern = _bban_pattern(compact[:2])
    if pattern is None:
        return stdnum_iban.is_valid(compact)  # a country without a cached structure: ask stdnum
    if not pattern.fullmatch(compact[4:]):
        return False
    if compact[:2] == "BE":  # the Belgian account number carries its own check digits
        account = int(compact[4:14])
        return (account % 97 or 97) == int(compact[14:16])
    return True


# One valid IBAN per country whose structure is cached (the others go through stdnum each time).
_IBAN_EXAMPLES = {
    "BE": "BE71096123456769", "NL": "NL91ABNA0417164300", "FR": "FR1420041010050500013M02606",
    "LU": "LU280019400644750000", "DE": "DE89370400440532013000", "GB": "GB82WEST12345698765432",
}


def _mod97(compact: str) -> bool:
    """The IBAN check digits, computed before stdnum looks up the country's structure."""
    rearranged = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
    except ValueError:
        return False


def _find_phones(text: str) -> list[tuple[str, int, int]]:
    """Belgian, Dutch and French numbers (and a few neighbours' with their country code).

    Belgian national forms are accepted when `phonenumbers` says they are *possible* (length per
    number type): its allocated ranges lag behind and a leak costs more than a false tag. A
    ten-digit national number that is not Belgian (Dutch 06 / 0xx, French 0x) needs more: digit
    groups, a bracketed area code or a phone word before it, because bare ten-digit strings are
    as often customer or invoice numbers.
    """
    found = []
    for m in _PHONE_RE.finditer(text):
        raw = m.group()
        if _KBO_RE.fullmatch(raw.lstrip("BE ")) or _DATE_LIKE_RE.fullmatch(raw):
            continue  # enterprise number 0xxx.xxx.xxx or a date, not a phone
        before = text[max(0, m.start() - 40) : m.start()]
        if m.group("intl"):
            body = raw[m.end("intl") - m.start() :]
            national = _NON_DIGIT_RE.sub("", body)
            if national.startswith("0"):
                national = national[1:]
            if len(national) >= 7 and _possible("+" + m.group("cc") + national):
                found.append(("telefoon", m.start(), m.end()))
            continue
        digits = _NON_DIGIT_RE.sub("", raw)
        if not digits.startswith("0") or digits[1:2] == "0":
            continue
        grouped = bool(m.group("paren")) or not raw.isdigit()
        cue = bool(_PHONE_CUE_RE.search(before))
        if len(digits) == 9 or (len(digits) == 10 and digits[1] == "4"):
            belgian = _possible("+32" + digits[1:])
            if belgian and (grouped or cue or not _REFERENCE_CUE_RE.search(before)):
                found.append(("telefoon", m.start(), m.end()))
                continue
        if len(digits) == 10 and (grouped or cue) and not (not cue and _REFERENCE_CUE_RE.search(before)):
            if any(_possible(digits, region) for region in ("NL", "FR")):
                found.append(("telefoon", m.start(), m.end()))
    return found


_DATE_LIKE_RE = re.compile(r"\d{1,2}([./-])\d{1,2}\1\d{2,4}")


@functools.lru_cache(maxsize=1)
def _possible_lengths() -> dict[str, frozenset[int]]:
    """National number lengths a Belgian, Dutch or French number may have, from phonenumbers' own
    metadata (the general description that `is_possible_number` checks against)."""
    lengths = {}
    for region in ("BE", "NL", "FR"):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        desc = metadata.general_desc if metadata is not None else None
        if metadata is None or desc is None:
            continue  # (phonenumbers ships metadata for all three)
        lengths[str(metadata.country_code)] = frozenset(desc.possible_length) | frozenset(
            desc.possible_length_local_only)
    return lengths


@functools.lru_cache(maxsize=4096)
def _possible(number: str, region: str | None = None) -> bool:
    """phonenumbers' `is_possible_number`. Parsing is its costly part (about 150 µs a number), so an
    international Belgian, Dutch or French number, '+32' and digits not starting with the national
    prefix 0, is checked on its length alone, which is all `is_possible_number` looks at there; a
    test compares the two on many numbers."""
    if region is None and number[:1] == "+" and number[3:4] not in ("", "0") and number[1:].isdigit():
        lengths = _possible_lengths().get(number[1:3])
        if lengths is not None:
            return len(number) - 3 in lengths
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(parsed)


def _find_plates(text: str) -> list[tuple[str, int, int]]:
    return [
        ("nummerplaat", m.start(), m.end())
        for m in _PLATE_RE.finditer(text)
        if not (m.group("old") and m.group("old") in _NOT_PLATE_PREFIXES)
    ]


# ---------------------------------------------------------------- lexicons (deduce data + Flemish)

_DEDUCE_LISTS = "data/lookup/src"


@functools.lru_cache(maxsize=1)
def _deduce_data_dir() -> Path:
    """deduce's data folder, found *without importing deduce*.

    `import deduce` runs `logging.basicConfig(stream=sys.stdout, level=logging.DEBUG)` (deduce 3.0.6,
    deduce/deduce.py), which would turn the root logger to DEBUG on stdout and corrupt e.g.
    `proeftuin run --json`. `find_spec` on a top-level package locates it without executing it.
    """
    spec = importlib.util.find_spec("deduce")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("Het pakket 'deduce' (namenlijsten) is niet geïnstalleerd.")
    return Path(list(spec.submodule_search_locations)[0]) / _DEDUCE_LISTS


def _read_deduce_list(path: str) -> set[str]:
    items = _deduce_data_dir() / path / "items.txt"
    return {line.strip() for line in items.read_text(encoding="utf-8").splitlines() if line.strip()}


# Names common in Flanders/Wallonia and among Moroccan-, Turkish- and Polish-Belgians that the
# (Netherlands-based) deduce lists miss. Kept short: unseen names are caught by context rules.
EXTRA_FIRST_NAMES = """
Wouter Pieter-Jan Jef Staf Lieven Koen Stijn Bram Joris Wim Geert Dirk Luc Marc Frank Filip Kurt
Griet Els Veerle Hilde Katrien An Ann Inge Lieve Sofie Nele Lotte Febe Fien Ine Jolien Kaat Marijke
Mathias Arno Seppe Senne Wout Warre Jules Lucas Lars Nand Robbe Ferre Mauro Rune Vic Cas Jasper
Marie-Claire Jean-Pierre Jean-Luc Dominique Pascal Sébastien Thierry Benoît Françoise Nathalie
Mohamed Mohammed Ahmed Youssef Mehdi Hamza Bilal Ayoub Anas Rachid Karim Samir Said Nordin Imad
Fatima Khadija Naima Nadia Samira Soukaina Hanane Yasmina Latifa Malika Salma Meryem Imane Zineb
Mehmet Mustafa Emre Burak Ahmet Hakan Murat Kemal Elif Ayşe Zeynep Fatma Emine Büşra Esra Hatice
Piotr Paweł Krzysztof Tomasz Marek Andrzej Katarzyna Agnieszka Małgorzata Joanna Magdalena Ewa
""".split()
EXTRA_SURNAMES = """
Peeters Janssens Maes Jacobs Mertens Willems Claes Goossens Wouters Dubois Lambert Dupont Martin
Vandenberghe Declercq Verhaeghe Vandamme Desmet Vanhoutte Dewaele Demeyere Vercruysse Vermeulen
Vanneste Debruyne Decock Deprez Lemaire Leclercq Lejeune Renard Delhaye Vandewalle Vanhove Casier
Benali Bouzid Azzouzi Bakkali Haddouchi Tahiri Chaouki Yilmaz Kaya Demir Şahin Çelik Öztürk Aydın
Kowalski Nowak Wiśniewski Wójcik Kamińska Lewandowski Zieliński Szymański Dąbrowski
""".split()

NAME_PARTICLES = {
    "van", "de", "der", "den", "vanden", "vander", "vande", "ver", "le", "la", "du", "des", "d'",
    "el", "al", "ben", "bou", "ait", "aït", "ter", "ten", "'t", "t'", "op", "in", "het", "di", "da",
    "v/d", "v.d.", "v.d", "v. d.", "V/d", "ibn", "bin", "von", "dos", "del",
}
_NOT_NAME = {
    # capitalised words that are not names even mid-sentence
    "euro", "eur", "btw", "iban", "bic", "ocmw", "cpas", "kbo", "ovam", "vdab", "rva", "riziv",
    "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag", "januari",
    "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
    "november", "december", "sint", "god", "covid", "pasen", "kerstmis", "stad", "gemeente",
    "dienst", "loket", "burgerzaken", "bevolking", "vlaanderen", "belgië", "nederland", "frankrijk",
    "brussel", "wallonië", "europa", "vlaams", "vlaamse", "belgische", "nederlands", "frans", "engels",
    "lijn", "post", "watergroep", "kringwinkel", "fluvius", "telenet", "proximus", "orange", "bpost",
    "mijn", "uw", "onze", "ons", "het", "een", "ik", "wij", "we", "u", "zij", "hij", "dit",
    "dat", "deze", "die", "rijksregisternummer", "nummerplaat", "adres", "straat", "tel", "gsm",
    "email", "e-mail", "mail", "rekeningnummer", "rekening", "dossier", "factuur", "referentie",
    "leiedal", "w13", "proeftuin", "vzw", "bv", "nv", "ov", "ok", "oké", "ps", "nb", "ja", "nee",
}

# Belgian municipalities and cities (Dutch names); alone they are not personal data.
MUNICIPALITIES = """
Aalst Aalter Aarschot Alveringem Anzegem Antwerpen Ardooie Arendonk As Asse Assenede Avelgem
Baarle-Hertog Balen Beernem Beerse Beersel Begijnendijk Bekkevoort Beringen Berlaar Berlare
Bertem Bever Beveren Bierbeek Bilzen Blankenberge Bocholt Boechout Bonheiden Boom Boortmeerbeek
Bornem Borsbeek Boutersem Brakel Brasschaat Brecht Bredene Bree Brugge Brussel Buggenhout Damme
Deerlijk Deinze Denderleeuw Dendermonde Dentergem Dessel Destelbergen
Diepenbeek Diest Diksmuide Dilbeek Dilsen-Stokkem Drogenbos Duffel Edegem Eeklo Erpe-Mere Essen
Evergem Galmaarden Gavere Geel Geetbets Genk Gent Geraardsbergen Gingelom Gistel Glabbeek
Grimbergen Grobbendonk Haacht Haaltert Halen Halle Hamme Harelbeke Hasselt Hechtel-Eksel
Heist-op-den-Berg Herent Herentals Herenthout Herk-de-Stad Herselt Herzele Heusden-Zolder Heuvelland
Hoegaarden Hoeilaart Hoogstraten Hooglede Houthulst Hove Huldenberg Hulshout Ichtegem Ieper Ingelmunster
Izegem Jabbeke Kalmthout Kampenhout Kapellen Kapelle-op-den-Bos Kaprijke Kasterlee Keerbergen
Kinrooi Knokke-Heist Koekelare Koksijde Kontich Kortemark Kortenaken Kortenberg Kortrijk Kraainem
Kruibeke Kruisem Kuurne Laakdal Laarne Lanaken Landen Langemark-Poelkapelle Lebbeke Lede Ledegem
Lendelede Lennik Leopoldsburg Leuven Lichtervelde Liedekerke Lier Lierde Lille Linkebeek Lint
Linter Lochristi Lokeren Lommel Londerzeel Lo-Reninge Lubbeek Lummen Maarkedal Maaseik Maasmechelen
Machelen Maldegem Malle Mechelen Meerhout Meise Melle Menen Merchtem Merelbeke Merksplas Mesen
Meulebeke Middelkerke Moerbeke Mol Moorslede Mortsel Nazareth Nevele Niel Nieuwerkerken Nieuwpoort
Nijlen Ninove Olen Oostende Oosterzele Oostkamp Oostrozebeke Opwijk Oudenaarde Oudenburg Oud-Heverlee
Oud-Turnhout Overijse Peer Pepingen Pittem Poperinge Putte Puurs-Sint-Amands Ranst Ravels Retie
Riemst Rijkevorsel Roeselare Ronse Roosdaal Rotselaar Ruiselede Rumst Schelle Scherpenheuvel-Zichem
Schilde Schoten Sint-Genesius-Rode Sint-Gillis-Waas Sint-Katelijne-Waver Sint-Laureins
Sint-Lievens-Houtem Sint-Martens-Latem Sint-Niklaas Sint-Pieters-Leeuw Sint-Truiden Spiere-Helkijn
Staden Steenokkerzeel Stekene Temse Ternat Tervuren Tessenderlo Tielt Tielt-Winge Tienen Tongeren
Torhout Tremelo Turnhout Veurne Vilvoorde Vleteren Voeren Vorselaar Vosselaar Waarschoot Waasmunster
Wachtebeke Waregem Wellen Wemmel Wervik Westerlo Wetteren Wevelgem Wezembeek-Oppem Wichelen
Wielsbeke Wijnegem Willebroek Wingene Wommelgem Wortegem-Petegem Wuustwezel Zandhoven Zaventem
Zedelgem Zele Zelzate Zemst Zingem Zoersel Zonhoven Zonnebeke Zottegem Zoutleeuw Zuienkerke Zulte
Zutendaal Zwalm Zwevegem Zwijndrecht Marke Bissegem Heule Bellegem Kooigem Rollegem Aalbeke Lauwe
Rekkem Gullegem Moorsele Heestert Ingooigem Tiegem Vichte Kerkhove Bossuit Outrijve Waarmaarde
Otegem Sint-Denijs Zwevegem Beveren-Leie Desselgem Sint-Eloois-Vijve Hulste Bavikhove Stasegem
Geluwe Kruiseke Dadizele Rumbeke Lendelede Doornik Moeskroen Luik Namen Bergen Charleroi Aarlen
Waver Nijvel Rijsel Parijs Amsterdam Kortrijkse Leie Schelde
""".split()


@dataclass(frozen=True)
class Lexicon:
    first_names: frozenset[str]
    surnames: frozenset[str]
    places: frozenset[str]
    common_words: frozenset[str]


@functools.lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """Name and place lists, lower-cased: deduce's lists plus the Belgian additions above."""
    first = {n.lower() for n in _read_deduce_list("names/lst_first_name") | set(EXTRA_FIRST_NAMES)}
    last = _read_deduce_list("names/lst_surname") | _read_deduce_list("names/lst_interfix_surname")
    surnames = {n.lower() for n in last | set(EXTRA_SURNAMES)}
    places = {p.lower() for p in MUNICIPALITIES} | {"de panne", "de haan", "de pinte", "la louvière"}
    places |= {p.lower() for p in _read_deduce_list("locations/lst_placename/lst_municipality")}
    common = _read_deduce_list("whitelist/lst_common_word") | _read_deduce_list("whitelist/lst_stop_word")
    return Lexicon(frozenset(first), frozenset(surnames), frozenset(places), frozenset(w.lower() for w in common))


# ---------------------------------------------------------------- addresses

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


# ---------------------------------------------------------------- gazetteers: what is *not* a person

@functools.lru_cache(maxsize=200_000)
def _fold(word: str) -> str:
    """Lower case without diacritics: real text writes 'Belgie', 'Financien', 'Wallonie'."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


# Countries, regions and foreign places (Dutch exonyms plus common English/French forms). One-word
# entries block a word; multi-word entries ("Verenigde Staten") block the whole span.
COUNTRIES = """
afghanistan albanie algerije andorra angola argentinie armenie australie azerbeidzjan bahrein
bangladesh belarus wit-rusland belgie benin bhutan bolivia bosnie bosnie-herzegovina botswana
brazilie bulgarije burundi cambodja canada chili china colombia congo kongo cuba cyprus denemarken
djibouti duitsland ecuador egypte eritrea estland ethiopie filipijnen finland frankrijk gabon gambia
georgie ghana griekenland groenland guatemala guinee haiti honduras hongarije ierland ijsland india
indonesie irak iran israel italie ivoorkust jamaica japan jemen jordanie kameroen kazachstan kenia
kirgizie koeweit kosovo kroatie laos letland libanon liberia libie liechtenstein litouwen luxemburg
macedonie noord-macedonie madagaskar malawi maleisie mali malta marokko mauritanie mexico moldavie
monaco mongolie montenegro mozambique myanmar birma namibie nederland holland nepal nicaragua niger
nigeria noorwegen oekraine oezbekistan oman oostenrijk pakistan palestina panama paraguay peru polen
portugal qatar roemenie rusland rwanda saoedi-arabie senegal servie singapore slovakije slovenie
soedan somalie spanje syrie tadzjikistan taiwan tanzania thailand togo tsjaad tsjechie tunesie
turkije turkmenistan uganda uruguay venezuela vietnam zambia zimbabwe zweden zwitserland engeland
schotland wales europa afrika azie amerika oceanie antarctica gaza tibet koerdistan catalonie
zuid-afrika noord-korea zuid-korea nieuw-zeeland oost-timor kaapverdie vaticaan
france belgique belgium germany deutschland england spain espagne italy italia netherlands turkey
morocco maroc usa vs vk
""".split()
PLACES_ABROAD = """
londen parijs rome berlijn madrid lissabon wenen praag warschau boedapest athene moskou istanbul
ankara washington frankfurt munchen keulen aken dusseldorf hamburg turijn milaan napels barcelona
geneve straatsburg luxemburg rotterdam amsterdam utrecht eindhoven maastricht lille kinshasa rabat
casablanca tanger nador algiers tunis cairo beiroet damascus bagdad kabul teheran jeruzalem peking
beijing tokio delhi mosul raqqa aleppo braunschweig lindau calais duinkerke straatsburg
dinant bertrix luik namen bergen charleroi aarlen bastenaken hoei doornik moeskroen aat lessen
komen edingen zinnik nijvel waver geldenaken borgworm verviers eupen malmedy spa seraing froyennes
picardie ardennen henegouwen kempen limburg antwerpen oost-vlaanderen west-vlaanderen vlaams-brabant
waals-brabant zeebrugge zaventem schiphol vlaanderen wallonie brussel arkansas texas californie
florida nangarhar syrie darfur sahel maghreb balkan benelux schengen noordzee schelde maas
jette elsene schaarbeek anderlecht molenbeek sint-jans-molenbeek ukkel vorst etterbeek evere
ganshoren koekelberg oudergem watermaal-bosvoorde sint-gillis sint-joost-ten-node schuman
sint-agatha-berchem sint-lambrechts-woluwe sint-pieters-woluwe roma munt
fransen duitsers belgen turken marokkanen nederlanders britten amerikanen russen polen syriers
""".split()
MULTIWORD_PLACES = [
    "verenigde staten", "verenigd koninkrijk", "verenigde arabische emiraten", "sierra leone",
    "sri lanka", "costa rica", "el salvador", "burkina faso", "democratische republiek congo",
    "centraal-afrikaanse republiek", "dominicaanse republiek", "tsjechische republiek",
    "groothertogdom luxemburg", "verenigde naties", "europese unie", "new york", "los angeles",
    "hong kong", "den haag", "addis abeba", "albert hein", "albert heijn", "la louviere", "saudi arabie",
    "zuid duitse", "grote markt",
    "de morgen", "de standaard", "de tijd", "het laatste nieuws", "het nieuwsblad", "le soir",
    "le monde", "la libre", "france inter", "de lijn", "de post", "de watergroep", "de kringwinkel",
]
# Nationality and regional adjectives; both the -s and -se forms are generated.
_ADJECTIVE_STEMS = """
afghaans albanees algerijns amerikaans arabisch argentijns armeens australisch azerbeidzjaans
belgisch braziliaans brits bulgaars canadees chinees congolees cubaans cypriotisch deens duits
egyptisch engels eritrees estisch ethiopisch europees fins frans georgisch grieks hongaars iers
indiaas indonesisch iraaks iraans israelisch italiaans japans jordaans keniaans koerdisch kroatisch
lets libanees libisch litouws luxemburgs marokkaans mexicaans nederlands noors oekraiens oostenrijks
pakistaans palestijns pools portugees roemeens russisch saoedisch schots servisch slovaaks sloveens
somalisch spaans syrisch tsjechisch tunesisch turks vlaams waals zweeds zwitsers afrikaans
aziatisch brussels luiks gents antwerps kortrijks limburgs kempisch henegouws picardisch
scandinavisch westers oosters nederlandstalig franstalig duitstalig engelstalig anderstalig
federaal nationaal internationaal koninklijk gewestelijk provinciaal gemeentelijk centraal
grondwettelijk burgerlijk gerechtelijk wetenschappelijk gemeenschappelijk hoofdstedelijk
islamitisch christelijk katholiek joods socialistisch liberaal
""".split()


def _inflect(stem: str) -> set[str]:
    forms = {stem}
    if stem.endswith("ees"):
        forms.add(stem[:-3] + "ese")
    elif stem.endswith("aal"):
        forms.add(stem[:-3] + "ale")
    elif stem.endswith(("ig", "ijk", "isch")):
        forms.add(stem + "e")
    else:
        forms.add(stem + "e")
    return forms


NATIONALITIES = {form for stem in _ADJECTIVE_STEMS for form in _inflect(stem)}
# Institutions, bodies and the head words of their names (Belgian, EU, generic). A chain of
# capitalised words that contains one of these is an organisation, not a person.
INSTITUTION_WORDS = """
kamer senaat staat staten regering ministerraad parlement hof raad commissie dienst diensten fod
pod agentschap inspectie regie unie gewest gewesten gemeenschap gemeenschappen provincie provincies
wetboek wet grondwet decreet ordonnantie verordening richtlijn verdrag akkoord parket rechtbank
tribunaal politie justitie financien volksgezondheid defensie binnenlandse buitenlandse zaken
economie werk mobiliteit ministerie kabinet administratie directie directoraat-generaal bestuur
fonds instituut centrum comite college orde bank ziekenfonds ziekenfondsen kas rijksdienst rekenhof
vereniging verbond federatie bond navo nato vn eu ocmw ombudsdienst ombudsman state konings
koninkrijk stichting universiteit hogeschool ziekenhuis museum krant partij groep netwerk beweging
project programma plan systeem model verslag vragen antwoorden integraal kamercommissie
cassatie justitie gezondheidsraad arbeidsraad douane accijnzen belastingen fiscaliteit pensioenen
asiel migratie vreemdelingenzaken energie klimaat landbouw onderwijs sport cultuur toerisme
veiligheid begroting openbaar overheid overheden bijstand bevoegdheid zetel gouvernement
gemeenten gemeente stad steden regio zone zones brandweer leger spoorwegen post telecom
handel ontwikkelingssamenwerking middenstand zelfstandigen kmo digitale agenda armoedebestrijding
werkgelegenheid consumentenzaken wetenschapsbeleid ambtenarenzaken overheidsbedrijven
fraudebestrijding privacy sociale secretariaat
""".split()
# Compound heads: 'Gezondheidsraad', 'Belastinginspectie', 'Vluchtelingenwerk' (only for words
# that are not themselves in the name lists: 'Oosterhof' stays a surname).
_ORG_SUFFIXES = (
    "raad", "hof", "dienst", "diensten", "commissie", "centrum", "instituut", "fonds", "agentschap",
    "inspectie", "bank", "ministerie", "directie", "bestuur", "parket", "rechtbank", "vereniging",
    "verbond", "federatie", "bond", "maatschappij", "organisatie", "netwerk", "beweging", "museum",
    "groep", "partij", "unie", "gewest", "wetboek", "kantoor", "stichting", "huis", "park", "plan",
    "project", "systeem", "verbinding", "complex", "toren", "werk", "programma", "akkoord", "wet",
    "decreet", "kas", "politie", "secretariaat", "cel", "korps", "gemeenschap", "ziekenfonds", "ziekenfondsen",
    "verdrag",
)
# Companies, media, products and other capitalised non-persons met in Belgian text.
ORGANISATIONS = """
knack vrt rtbf vtm microsoft google facebook twitter apple amazon blokker proximus bpost infrabel
nmbs sncb delhaize colruyt deloitte fluvius elia engie electrabel telenet orange base ryanair
brussels airlines frontex europol interpol unicef unesco oeso opec who diyanet vlabel kce riziv
windows iphone android covid corona ku ugent vub ulb uclouvain
""".split()
_NOUN_SUFFIXES = ("ing", "ingen", "heid", "tie", "ties", "teit", "schap", "isme", "last")
_ADJECTIVE_ENDINGS = ("ige", "ische", "ele", "aire", "ale", "ieke", "ieve", "ene", "erde")
# Flemish surnames glue their particle on: 'Vermandere', 'Vandenbroucke', 'Debrabandere' are no compounds.
_SURNAME_PREFIXES = ("ver", "van", "vande", "vanden", "vander", "de", "der", "den", "ter", "ten", "le", "la", "d'")
_ROMAN_RE = re.compile(r"(?:I{1,3}|IV|VI{0,3}|IX|X)")
_ROMANCE_PARTICLES = {"le", "la", "du", "des", "di", "da", "del", "della", "dos"}
_FUNCTION_WORDS = {"in", "het", "op", "les", "des", "en", "of", "voor", "met", "bij", "zoals", "over"}


# ---------------------------------------------------------------- person names

_INITIAL_RE = re.compile(r"(?:[A-Z]|Th|Ch|Ph|Chr|Joh|Wm|Fr|Jac|Hub|Ant|Jos|St)\.-?")
_SENTENCE_END_CHARS = frozenset(".!?:;\n\"“•*>-")


def _opens_sentence(text: str, pos: int) -> bool:
    """Does a sentence start at `pos`: only white space in the 8 characters before it, or a sentence
    mark ('.', '!', ':', a bullet, a new line ...) followed by white space only? (What the regex
    `(?:[.!?:;\n"“•*>-]\s*|^\s*)$` says of text[pos - 8 : pos], without running a regex per word.)"""
    before = text[max(0, pos - 8) : pos]
    core = before.rstrip()
    return not core or core[-1] in _SENTENCE_END_CHARS or "\n" in before[len(core) :]
# Cue words: after a title a capitalised word is a name whatever it is (unless it is a country or an
# institution); after a role or relation word it must still look like a name.
STRONG_CUES = {
    "meneer", "mevrouw", "mevr", "mevr.", "mr", "mr.", "dhr", "dhr.", "heer", "mw", "mw.", "mme",
    "madame", "monsieur", "mijnheer", "mejuffrouw", "juffrouw", "dokter", "dr", "dr.", "familie",
    "fam", "fam.", "wijlen", "genaamd", "heet", "naam", "ondergetekende", "prof", "prof.",
}
ROLE_CUES = {
    "minister", "premier", "staatssecretaris", "eerste", "koning", "koningin", "prins", "prinses",
    "gouverneur", "burgemeester", "schepen", "voorzitter", "commissaris", "ombudsman", "directeur",
    "kunstenaar", "politicus", "journalist", "professor", "advocaat", "ambassadeur", "president",
    "kamerlid", "volksvertegenwoordiger", "senator", "generaal", "kolonel", "paus", "bisschop",
    "kardinaal", "collega", "woordvoerder", "gedelegeerd", "bestuurder", "rechter", "onderzoeker",
    "zanger", "schrijver", "auteur", "acteur", "trainer", "speler", "zangeres", "actrice",
}
WEAK_CUES = {
    "beste", "geachte", "dag", "hallo", "hoi", "buurman", "buurvrouw", "zoon", "dochter",
    "echtgenoot", "echtgenote", "partner", "vader", "moeder", "broer", "zus", "kleinzoon",
    "kleindochter", "ben", "namens", "contactpersoon", "klant", "bewoner", "eigenaar", "huurder",
    "verhuurder", "aanvrager", "patiënt", "leerling", "cliënt", "groeten", "groet", "vriendelijke",
    "overleden", "tel", "melder", "mvg", "vriend", "vriendin", "oom", "tante", "opa", "oma",
}
CUE_WORDS = STRONG_CUES | ROLE_CUES | WEAK_CUES
_ABBREVIATED_CUES = {"mevr", "mr", "dhr", "mw", "dr", "fam", "prof"}
# particles that may open a surname on their own ("De Smet", "Van Damme", "El Amrani")
_LEADING_PARTICLES = {
    "van", "de", "der", "den", "vanden", "vander", "vande", "ver", "le", "la", "du", "des", "d'", "el",
    "al", "ben", "bou", "ait", "aït", "ter", "ten", "di", "da", "dos", "del", "della", "von", "mc",
}


@functools.lru_cache(maxsize=100_000)
def _cue_strength(word: str) -> int:
    """3 after a title ('mevrouw'), 2 after a role ('burgemeester'), 1 after a weak cue, else 0."""
    low = word.lower()
    last = low.split("-")[-1]  # 'Groen-politicus', 'ex-minister'
    if low in STRONG_CUES or last in STRONG_CUES:
        return 3
    if low in ROLE_CUES or last in ROLE_CUES or low.endswith(("lid", "minister", "voorzitter", "secretaris")):
        return 2
    if low in WEAK_CUES:
        return 1
    return 0


def _joined(text: str, left: Token, right: Token) -> bool:
    """Do two chain words (start, end, word) belong to one name: separated by a space or a hyphen, or
    after an initial or an abbreviated title by its dot ('Mw. Prof. Dr. A.B. de Vries')?"""
    gap = text[left[1] : right[0]]
    if gap in (" ", "-", " - "):
        return True
    return left[2].endswith((".", ".-")) and gap in ("", " ") or (
        gap in (".", ". ") and left[2].lower() in TITLE_WORDS and _is_cap(left[2]))


def _is_cap(token: str) -> bool:
    """Capitalised as a name is: 'Peeters', 'A.', "d'Hondt", not 'OCMW' or 'peeters'."""
    if token[:1].isupper():
        return not (len(token) > 2 and token.isupper()) or token.endswith((".", ".-"))
    return len(token) > 2 and token[1] in "'’" and token[2:3].isupper() and token[0] == "d"


@functools.lru_cache(maxsize=200_000)
def _chain_kind(token: str) -> int:
    """Can this word be part of a chain of name words: 2 capitalised, 1 a particle ('van', 'v/d'), 0 not."""
    if _is_cap(token):
        return 2
    return 1 if token.lower() in NAME_PARTICLES or token[:2].lower() in ("v/", "v.") else 0


# Name tokens: initials ('A.', 'A.B.' as 'A.' 'B.', 'J.-P.', 'Th.'), 'v/d' and 'v.d.' (van der/den),
# words with an apostrophe or hyphen inside ("d'Hondt", 'Visser-de', 'Jan-Willem').
# (Written as one letter, then what may follow it: a pattern that opens with a character class lets
# `re` skip quickly to the next letter.)
_NAME_TOKEN_RE = re.compile(
    r"[^\W\d_](?:"
    r"(?:(?<=[A-Z])|(?<=T)h|(?<=C)hr?|(?<=P)h|(?<=J)(?:oh|ac|os)|(?<=W)m|(?<=F)r|(?<=H)ub|(?<=A)nt|(?<=S)t)\."
    r"(?:-(?=[A-Z]\.))?(?=[ ]?[-A-Z(]|[ ]?(?:[a-z']{1,4}[ ]+){1,3}[A-Z])"
    r"|(?<=[vV])(?<!\w[vV])(?:/|\.[ ]?)[dD]\.?(?=[ ][A-Z])"
    r"|[\w'’]*(?:-(?=\w)[\w'’]*)*)"
)
_MATCH_START, _MATCH_END, _MATCH_TEXT = re.Match.start, re.Match.end, re.Match.group


def _tokens(text: str) -> list[Token]:
    """(start, end, word) of every name token, built without a Python loop per word."""
    matches = list(_NAME_TOKEN_RE.finditer(text))
    return list(zip(map(_MATCH_START, matches), map(_MATCH_END, matches), map(_MATCH_TEXT, matches), strict=True))
# Titles and forms of address are part of the mention: '[NAAM]' replaces 'Mw. Prof. Dr. A.B. de Vries'
# whole, and 'mevrouw X' too (the form of address gives the gender away).
TITLE_WORDS = {
    "dhr", "mevr", "mw", "mr", "mrs", "ms", "dr", "drs", "prof", "ir", "ing", "lic", "mgr", "me",
    "mme", "mlle", "m", "st", "ds", "kand", "bc", "ba", "ma", "msc", "phd", "em", "zr", "br", "fam", "wed",
    "meneer", "mevrouw", "mijnheer", "mejuffrouw", "juffrouw", "madame", "monsieur", "mademoiselle", "heer",
    "dokter", "meester", "professor", "familie", "weduwe",
}
# After these words capitalised words name a place or an organisation, not a person.
VENUE_WORDS = {
    "zaal", "feestzaal", "dienstencentrum", "vzw", "wzc", "woonzorgcentrum", "rusthuis", "az", "ziekenhuis",
    "school", "basisschool", "kleuterschool", "campus", "café", "cafe", "restaurant", "brasserie", "taverne",
    "parking", "sporthal", "zwembad", "cc", "jeugdhuis", "kunstkring", "residentie", "assistentiewoningen",
    "kinderdagverblijf", "kdv", "bibliotheek", "buurthuis", "ontmoetingscentrum", "ocmw", "wijkcentrum",
    "bv", "nv", "bvba", "firma", "bedrijf", "winkel", "supermarkt", "apotheek", "kerk", "parochie", "kapel",
    "hotel", "camping", "project", "wijk", "domein", "park", "kasteel", "hoeve", "centrum", "gemeenschapscentrum",
}
# Subject lines hold titles, not people ('Onderwerp: Klacht Afvalophaling Imog')
_SUBJECT_LINE_RE = re.compile(r"^[ \t]*(?i:onderwerp|betreft|subject|objet|re|fw|fwd)[ \t]*:[^\n]*", re.M)
# 'mijn naam is X', 'ik ben X', 'de heer X': the word before the cue decides
_TWO_WORD_CUES = {
    "is": {("naam", "is"), ("zij", "is"), ("hij", "is"), ("dit", "is"), ("hier", "is")},
    "de": {("de", "heer")}, "heer": {("de", "heer")}, "ben": {("ik", "ben"), ("hier", "ben")},
    "heet": {("ik", "heet"), ("zij", "heet"), ("hij", "heet")}, "suis": {("je", "suis")},
    "est": {("nom", "est"), ("appelle", "est")}, "naam": {("mijn", "naam"), ("zijn", "naam"), ("haar", "naam")},
    "appelle": {("m'", "appelle"), ("je", "appelle")}, "la": {("de", "la")}, "le": {("de", "le")},
}
# 'van', 'van de', 'de' alone before a surname are as often a preposition or an article
_AMBIGUOUS_PARTICLES = (["van"], ["de"], ["van", "de"], ["la"], ["le"], ["des"], ["du"])
_CUE_LIKE = frozenset(CUE_WORDS | TITLE_WORDS | set(_TWO_WORD_CUES))
_TITLES_BEFORE_RE = re.compile(
    r"(?:(?:\b(?i:de[ ]+heer|" + "|".join(sorted(TITLE_WORDS, key=len, reverse=True))
    + r")\b\.?|\b[A-Z]\.(?:-?[A-Z]\.)*)"
    r"[ ]*(?:/[ ]*)?)+$"
)
_CAPS_BEFORE_RE = re.compile(r"(?<![\w'’-])([A-Z][A-Z'’-]{2,})[ ]+$")
_PARTICLE_ENDINGS = (  # the particles of `_PARTICLES_BEFORE_RE`, also its cheap test
    "van", "de", "der", "den", "ter", "ten", "'t", "’t", "vande", "vanden", "vander", "von", "le", "la", "du", "des",
    "di", "da", "dos", "del", "el", "al", "bou", "ait", "aït", "ibn", "bin", "v/d", "v.d.", "d'", "d’",
)


# Cheap tests before the `$`-anchored searches of `_expand`: `re` tries such a pattern at every
# position of the window, so first look whether the window can end the way the pattern must.
def _may_end_in_title(window: str) -> bool:
    """Can `_TITLES_BEFORE_RE` match: does the window end in a title word or an initial, then spaces
    and at most one '/'?"""
    tail = window.rstrip(" ")
    if tail.endswith("/"):
        tail = tail[:-1].rstrip(" ")
    if len(tail) >= 2 and tail[-1] == "." and "A" <= tail[-2] <= "Z":
        return True  # an initial ('A.')
    if tail.endswith("."):
        tail = tail[:-1]
    k = len(tail)
    while k and tail[k - 1].isalpha():
        k -= 1
    word = tail[k:]
    return not word.isascii() or word.lower() in TITLE_WORDS  # ('de heer' ends in 'heer')


def _may_end_in_particle(window: str) -> bool:
    """Can `_PARTICLES_BEFORE_RE` match: does the window end in a particle and at most one space?"""
    tail = window[:-1] if window.endswith(" ") else window
    return not tail[-6:].isascii() or tail[-6:].lower().endswith(_PARTICLE_ENDINGS)


def _may_end_in_caps(window: str) -> bool:
    """Can `_CAPS_BEFORE_RE` match: a space after a capital letter, an apostrophe or a hyphen?"""
    word = window.rstrip(" ")
    return len(word) < len(window) and bool(word) and (word[-1] in "'’-" or "A" <= word[-1] <= "Z")


_PARTICLES_BEFORE_RE = re.compile(
    r"(?:(?<![\w'’])(?:" + "|".join(map(re.escape, _PARTICLE_ENDINGS)) + r")[ ]?)+$",
    re.I,
)


# A word of lower-case Latin letters only: wordfreq's tokenizer keeps it as one token as it is.
_PLAIN_WORD_RE = re.compile(r"[a-zàáâäçèéêëìíîïñòóôöùúûüýÿœæ]+")


@functools.lru_cache(maxsize=200_000)
def _zipf(word: str, lang: str = "nl") -> float:
    """wordfreq's `zipf_frequency`. For a plain lower-case word its value is read straight from the
    frequency table and rounded as wordfreq rounds it: wordfreq's own tokenizing and normalising took
    a fifth of the scrubber's time on real messages. A test compares the two on the whole lexicon."""
    if not _PLAIN_WORD_RE.fullmatch(word):
        from wordfreq import zipf_frequency

        return zipf_frequency(word, lang)
    freq = _frequencies(lang).get(word)
    if not freq:
        return 0.0
    freq = round(freq, math.floor(-math.log(freq, 10)) + 3)  # as wordfreq._word_frequency
    return round(math.log(freq, 10) + 9, 2)  # as wordfreq.freq_to_zipf, rounded as zipf_frequency


@functools.lru_cache(maxsize=4)
def _frequencies(lang: str) -> dict[str, float]:
    from wordfreq import get_frequency_dict

    return get_frequency_dict(lang, "best")


class _NameFinder:
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



_HYPHEN_TAIL_RE = re.compile(r"-(?:(?:de|van|der|den|ter|ten|le|la|el|ben)[ ])*[A-Z][\w'’]+")
_CAPS_TAIL_RE = re.compile(r"[ ]+([A-Z][A-Z'’-]{2,})(?![\w])")
# Form fields and mail headers whose value is a person: 'Naam: jan peeters', 'Van: Sofie De Coninck <...>'.
FIELD_LABELS = (
    "naam", "voornaam", "achternaam", "familienaam", "volledige naam", "naam en voornaam", "voornaam en naam", "nom",
    "prénom", "prenom", "nom et prénom", "van", "aan", "cc", "bcc", "contactpersoon", "contact", "melder", "aanvrager",
    "klant", "bewoner", "eigenaar", "huurder", "verhuurder", "ondergetekende", "patiënt", "patient", "cliënt", "client",
    "behandelaar", "dossierbeheerder", "getuige", "begunstigde", "rekeninghouder", "titularis", "partner", "echtgenoot",
    "echtgenote", "ouder", "moeder", "vader", "kind", "leerling", "bestuurder", "overtreder", "beller", "geadresseerde",
    "afzender", "ondertekend", "naam aanvrager", "naam melder", "voorzitter", "secretaris", "penningmeester",
    "verantwoordelijke", "verontschuldigd", "aanwezig", "afwezig", "behandeld door", "opgesteld door", "gemeld door",
    "door", "auteur", "tolk", "begeleider", "mentor", "chauffeur", "slachtoffer", "dader",
)
_FIELD_RE = re.compile(
    r"(?:^|(?<=[\n;|]))[ \t>*•-]*(?i:" + "|".join(re.escape(w) for w in sorted(FIELD_LABELS, key=len, reverse=True))
    + r")[ \t]*:[ \t]*(?P<value>(?:(?![ ][-–—][ ])[^\n,;<(\[|@\d]){2,80})(?![\w.+-]*@)",
    re.M,
)
# Closing formulas: the next line is the writer's name ('Met vriendelijke groeten,\nJan Peeters').
_CLOSING_RE = re.compile(
    r"(?i:groet(?:en|jes)?|mvg|m\.v\.g\.?|vriendelijke groet(?:en)?|hoogachtend|cordialement|bien [àa] vous"
    r"|salutations|alvast bedankt|bedankt|dank u|dank je|met dank|tot dan|tot later|vg|gr)"
    r"[ \t]*[,!.]?[ \t]*\n+[ \t]*(?P<value>[^\n,;<(\[|@\d]{2,60})"
)
_PUNCTUATION_RE = re.compile(r"[,;.:!?()\n]")
# Words after which a *lower-case* listed first name is a name ('mevrouw claeys', 'ik ben mehmet yilmaz').
LOWER_CASE_CUES = {
    "mevrouw", "meneer", "mijnheer", "heer", "dhr", "mevr", "mw", "madame", "monsieur", "mme", "heet", "suis",
    "appelle", "broer", "zus", "zoon", "dochter", "partner", "echtgenoot", "echtgenote", "buurman", "buurvrouw",
    "collega", "moeder", "vader", "kleinzoon", "kleindochter", "groeten", "groetjes", "mvg", "groet",
}
LOWER_CASE_CUE_PAIRS = {("ik", "ben"), ("naam", "is"), ("mijn", "naam"), ("zij", "is"), ("hij", "is"),
                        ("mijn", "man"), ("mijn", "vrouw"), ("je", "suis")}
_LOWER_CASE_PAIR_SECONDS = frozenset(second for _, second in LOWER_CASE_CUE_PAIRS)
_LOWER_CASE_CUE_WORDS = frozenset(LOWER_CASE_CUES | _LOWER_CASE_PAIR_SECONDS)
_CAPS_PAIR_RE = re.compile(r"[A-ZÀ-Ý][A-ZÀ-Ý]{2,}[ ,.]+[A-ZÀ-Ý]{3,}")
_UPPER_RE = re.compile(r"[A-ZÀ-Ý]")
_LETTER_RE = re.compile(r"[^\W\d_]")
_SENTENCE_TAIL_RE = re.compile(r"[.!?:)\n-][ \t]*([^\W\d_][\w'’ -]{1,40}?)[ \t.!]*$")


def _sign_off_spans(text: str) -> list[tuple[int, int]]:
    """A message or a short line that may be nothing but a name: 'Dank je! Ann', '...weg? Koen',
    'marcel vanbelle' at the end, 'Geert Vandekerckhove' on its own line above an address."""
    spans = []
    tail = _SENTENCE_TAIL_RE.search(text, max(0, len(text) - 45))
    if tail:
        spans.append(tail.span(1))
    if "\n" in text:
        pos = 0
        for line in text.split("\n"):
            stripped = line.strip()
            if 3 <= len(stripped) <= 40 and stripped[:1].isalpha() and not any(c.isdigit() for c in stripped):
                start = pos + line.index(stripped)
                spans.append((start, start + len(stripped.rstrip(".!,"))))
            pos += len(line) + 1
    return spans
# All-capitals text: 'IK BEN ROGER VANDENBERGHE', 'MIJN HUISBAAS DHR. VANDENDRIESSCHE'
_CAPS_WORD_RE = re.compile(r"(?<![\w'’])[A-ZÀ-Ý][A-ZÀ-Ý'’-]{2,}(?![\w'’])")


_FIELD_LAST_WORDS = frozenset(label.split()[-1] for label in FIELD_LABELS)
_CLOSING_WORDS = ("groet", "groeten", "groetjes", "mvg", "m.v.g", "hoogachtend", "cordialement", "vous", "salutations",
                  "bedankt", "dank u", "dank je", "met dank", "tot dan", "tot later", "vg", "gr")


def _has_field(text: str) -> bool:
    """Is there a ':' right after a field label ('Naam:', 'Van :')? Times ('10:30') and subjects are not."""
    at = text.find(":")
    while at != -1:
        words = text[max(0, at - 25) : at].split()
        if words and words[-1].lower().strip(">*•-") in _FIELD_LAST_WORDS:
            return True
        at = text.find(":", at + 1)
    return False


def _has_closing(text: str) -> bool:
    if "\n" not in text:
        return False
    return any(line.strip().rstrip(",!.").lower().endswith(_CLOSING_WORDS) for line in text.split("\n"))


def _field_names(finder: _NameFinder, text: str, tokens: list[Token]) -> list[Finding]:
    """Names in form fields, after closing formulas and, in lower case, after a form of address."""
    found = []
    for rx, present in ((_FIELD_RE, _has_field), (_CLOSING_RE, _has_closing)):
        if not present(text):
            continue  # cheap test first: most messages have neither a field nor a signature
        for m in rx.finditer(text):
            span = finder.name_words(text, m.start("value"), m.end("value"), strict=rx is _CLOSING_RE)
            if span:
                found.append(("naam", *span))
    # the cues among the words (a set lookup per word: a case-insensitive regex of the cue words
    # tried at every character cost more than the whole name finder's chain walk)
    lowered = [t.lower() for _, _, t in tokens]
    for cue_at in itertools.compress(range(len(tokens) - 1), map(_LOWER_CASE_CUE_WORDS.__contains__, lowered)):
        k = cue_at + 1  # the word after the cue
        prev = lowered[cue_at]
        s, e, tok = tokens[k]
        if not tok[:1].islower() or tok in NAME_PARTICLES:
            continue
        cue = prev in LOWER_CASE_CUES or (k > 1 and (lowered[k - 2], prev) in LOWER_CASE_CUE_PAIRS)
        if not cue or text[tokens[k - 1][1] : s] not in (" ", ", ", ". ", ": "):
            continue
        strong = prev in STRONG_CUES or prev in TITLE_WORDS  # 'mevr. dewulf': after a title any rare word
        if finder.is_first_name(tok) or finder.is_listed_name(tok) or (strong and finder.namey(tok)):
            stop = _PUNCTUATION_RE.search(text, s, min(len(text), s + 60))  # 'fatma demir, leiestraat 45'
            end = stop.start() if stop else min(len(text), s + 60)
            span = finder.name_words(text, s, end, strict=True, prefix=True)
            if span:
                found.append(("naam", *span))
    for start, end in _sign_off_spans(text):
        span = finder.name_words(text, start, end, strict=True, first_needed=True)
        if span:
            found.append(("naam", *span))
    if _CAPS_PAIR_RE.search(text) and len(_UPPER_RE.findall(text)) > 0.6 * len(_LETTER_RE.findall(text)):
        found += finder.caps_names(text)  # a message written in capitals
    return found


def _resolve_overlaps(found: list[Finding]) -> list[Finding]:
    """Sorted by start; overlapping names joined into one."""
    out: list[Finding] = []
    for f in sorted(found, key=lambda f: (f[1], -f[2])):
        if out and f[1] < out[-1][2]:
            out[-1] = (out[-1][0], out[-1][1], max(out[-1][2], f[2]))
        else:
            out.append(f)
    return out


# ---------------------------------------------------------------- scrubber


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
        findings = self.find(text)
        parts, pos = [], 0
        for kind, start, end in findings:
            parts.append(text[pos:start])
            parts.append(TAGS[kind])
            pos = end
        parts.append(text[pos:])
        return ScrubResult("".join(parts), findings)


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


# The compiled build of this very file, when there is one (`python -m proeftuin.native build`, run by
# `make install`): the same code through mypyc, about 1.3x faster. Used only when built from exactly
# this source; otherwise, or with PROEFTUIN_PRIVACY_PURE=1, everything above runs as it is.
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
