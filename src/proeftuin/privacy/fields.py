"""Names that stand in a known place: form fields and mail headers ('Naam: jan peeters'), the line
after a closing formula, a message or line that is nothing but a name, and lower-case names after a
form of address ('mevrouw claeys')."""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING

from .cues import STRONG_CUES, TITLE_WORDS
from .lexicons import NAME_PARTICLES
from .spans import Finding, Token

if TYPE_CHECKING:
    from .names import _NameFinder  # (names.py calls `_field_names`: imported for the type only)


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
