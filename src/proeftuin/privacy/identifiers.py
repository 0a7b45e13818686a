"""Identifiers, found by pattern and then validated: e-mail addresses, Belgian national and BIS numbers
(check digits and a birth date that can exist), IBANs (check digits and the country's account structure,
from python-stdnum's registry), Belgian, Dutch and French phone numbers (phonenumbers) and number plates.
After a word that says what a number is ('rijksregisternummer', 'tel'), a mistyped or merely possible
one goes too. Each `_find_*` returns (type, start, end) findings."""

from __future__ import annotations

import calendar
import datetime
import functools
import re

import phonenumbers
from stdnum import iban as stdnum_iban

from .spans import _opening_class

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
