"""The context of a person's name: cue words (titles, roles, relations), titles that belong to the
mention, venue words, the name tokens, and the cheap tests the name finder runs before its patterns."""

from __future__ import annotations

import functools
import re

from .lexicons import NAME_PARTICLES
from .spans import Token

# Word shapes: nouns and adjectives are no names, nor are Roman numerals ('Albert II') or function words.
_NOUN_SUFFIXES = ("ing", "ingen", "heid", "tie", "ties", "teit", "schap", "isme", "last")
_ADJECTIVE_ENDINGS = ("ige", "ische", "ele", "aire", "ale", "ieke", "ieve", "ene", "erde")
# Flemish surnames glue their particle on: 'Vermandere', 'Vandenbroucke', 'Debrabandere' are no compounds.
_SURNAME_PREFIXES = ("ver", "van", "vande", "vanden", "vander", "de", "der", "den", "ter", "ten", "le", "la", "d'")
_ROMAN_RE = re.compile(r"(?:I{1,3}|IV|VI{0,3}|IX|X)")
_ROMANCE_PARTICLES = {"le", "la", "du", "des", "di", "da", "del", "della", "dos"}
_FUNCTION_WORDS = {"in", "het", "op", "les", "des", "en", "of", "voor", "met", "bij", "zoals", "over"}



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


_HYPHEN_TAIL_RE = re.compile(r"-(?:(?:de|van|der|den|ter|ten|le|la|el|ben)[ ])*[A-Z][\w'’]+")
_CAPS_TAIL_RE = re.compile(r"[ ]+([A-Z][A-Z'’-]{2,})(?![\w])")


# All-capitals text: 'IK BEN ROGER VANDENBERGHE', 'MIJN HUISBAAS DHR. VANDENDRIESSCHE'
_CAPS_WORD_RE = re.compile(r"(?<![\w'’])[A-ZÀ-Ý][A-ZÀ-Ý'’-]{2,}(?![\w'’])")
