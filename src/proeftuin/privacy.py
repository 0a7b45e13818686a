"""Personal-data scrubber for Dutch and Flemish citizen text.

Identifiers are found by pattern and then *validated* by maintained libraries (python-stdnum for
rijksregisternummers and IBANs, phonenumbers for Belgian phone numbers), so that invoice or dossier
numbers that merely look like an identifier survive. Person names use the name lists shipped with
`deduce` (Dutch de-identification) plus Flemish/Walloon/Moroccan-Belgian particles, cue words and
the capitalisation of Dutch text; `wordfreq` tells ordinary Dutch words from names at sentence
start. Everything runs offline: the packages carry their own data. See docs/developer/privacy.md.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum.be import bis as stdnum_bis
from stdnum.be import nn as stdnum_nn

if TYPE_CHECKING:
    import pandas as pd

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

_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
_RRN_RE = re.compile(
    r"(?<![\w.-])\d{2}[. /-]?\d{2}[. /-]?\d{2}[. /-]?\d{3}[. /-]?\d{2}(?![\w-]|[.,/]\d)"
)
_IBAN_RE = re.compile(r"(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![\w-])")
_PHONE_RE = re.compile(
    r"(?<![\w+/.-])(?<!\d[ ./-])(?:(?:\+|00) ?32[ ./-]?(?:\(0\) ?)?|0)[1-9](?:[ ./-]?\d){6,8}(?![\w/-]|[ .,/-]\d)"
)
_KBO_RE = re.compile(r"0\d{3}\.\d{3}\.\d{3}")
_PLATE_RE = re.compile(
    r"(?<![\w-])(?:[1-9][- ]?[A-Z]{3}[- ]?\d{3}|(?P<old>[A-Z]{3})-\d{3}|\d{3}-[A-Z]{3})(?![\w-])"
)
# Three-letter prefixes of references that the pre-2008 plate form (ABC-123) would otherwise catch.
_NOT_PLATE_PREFIXES = {"BTW", "REF", "DOS", "KBO", "OMV", "FAC", "INV", "NRS", "ART", "AFD"}


def _find_emails(text: str) -> list[tuple[str, int, int]]:
    return [("email", m.start(), m.end()) for m in _EMAIL_RE.finditer(text)]


def _find_rrn(text: str) -> list[tuple[str, int, int]]:
    found = []
    for m in _RRN_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if stdnum_nn.is_valid(digits) or stdnum_bis.is_valid(digits):
            found.append(("rijksregisternummer", m.start(), m.end()))
    return found


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
            if stdnum_iban.is_valid(compact):
                found.append(("iban", m.start(), m.start() + end))
                break
    return found


def _find_phones(text: str) -> list[tuple[str, int, int]]:
    found = []
    for m in _PHONE_RE.finditer(text):
        raw = m.group()
        digits = re.sub(r"\D", "", raw.replace("(0)", ""))
        if raw.startswith(("+", "00")):
            national = digits[4:] if raw.startswith("00") else digits[2:]
        else:
            national = digits[1:]
        if len(national) not in (8, 9) or (len(national) == 9) != national.startswith("4"):
            continue
        if _KBO_RE.fullmatch(raw):
            continue  # enterprise number 0xxx.xxx.xxx, not a phone
        try:
            number = phonenumbers.parse("+32" + national, None)
        except phonenumbers.NumberParseException:
            continue
        # is_possible (length per number type) rather than is_valid: the numbering-plan ranges in
        # phonenumbers' metadata lag behind newly allocated numbers, and a leak costs more.
        if phonenumbers.is_possible_number(number) and national[0] != "0":
            found.append(("telefoon", m.start(), m.end()))
    return found


def _find_plates(text: str) -> list[tuple[str, int, int]]:
    return [
        ("nummerplaat", m.start(), m.end())
        for m in _PLATE_RE.finditer(text)
        if not (m.group("old") and m.group("old") in _NOT_PLATE_PREFIXES)
    ]


# ---------------------------------------------------------------- lexicons (deduce data + Flemish)

_DEDUCE_LISTS = "data/lookup/src"


def _read_deduce_list(path: str) -> set[str]:
    items = resources.files("deduce").joinpath(f"{_DEDUCE_LISTS}/{path}/items.txt")
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
}
# Words after which a capitalised word is a name, whatever it is.
CUE_WORDS = {
    "meneer", "mevrouw", "mevr", "mevr.", "mr", "mr.", "dhr", "dhr.", "heer", "mw", "mw.", "mme",
    "madame", "monsieur", "dokter", "dr", "dr.", "beste", "geachte", "dag", "hallo", "hoi", "buurman",
    "buurvrouw", "collega", "zoon", "dochter", "echtgenoot", "echtgenote", "partner", "vader",
    "moeder", "broer", "zus", "kleinzoon", "kleindochter", "naam", "heet", "ben", "namens",
    "contactpersoon", "klant", "bewoner", "eigenaar", "huurder", "verhuurder", "aanvrager", "patiënt",
    "leerling", "cliënt", "genaamd", "groeten", "groet", "vriendelijke", "door", "met", "aan",
    "mijnheer", "familie", "fam", "fam.", "wijlen", "overleden", "ondergetekende", "tel",
}
_ABBREVIATED_CUES = {"mevr", "mr", "dhr", "mw", "dr", "fam"}
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
    "laantje", "straatje", "laai", "wandeling", "dreefje", "helling", "vliet", "steeg", "gang", "square", "galerij", "hoeve", "beemd", "bos", "donk",
)
STREET_MODIFIERS = {
    "grote", "kleine", "lange", "korte", "oude", "nieuwe", "hoge", "lage", "sint", "onze-lieve-vrouw",
    "burgemeester", "koning", "koningin", "generaal", "kardinaal", "pastoor", "pater", "dokter",
    "president", "prins", "prinses", "graaf", "baron", "ridder", "kanunnik", "deken", "abt", "kapitein",
    "albert", "leopold", "boudewijn", "astrid", "elisabeth", "ii", "iii", "i", "leopold-iii",
    "koning-albert", "west", "oost", "zuid", "noord", "heilig", "heilige", "o.l.vrouw", "olv",
}
_STREET_CONNECTORS = {"van", "de", "der", "den", "ter", "ten", "het", "'t", "op", "aan", "in", "la", "le"}
_STREET_END_RE = re.compile(r"(?:" + "|".join(sorted(STREET_SUFFIXES, key=len, reverse=True)) + r")$", re.I)
_HOUSE_NUMBER_RE = re.compile(
    r"(?P<pre>[^\W\d_][\w'’.-]*)[ ]+(?P<num>\d{1,4}(?: ?[a-zA-Z](?![\w]))?)"
    r"(?:[ ]*,?[ ]*(?:bus|b\.|bte)[ ]*\d{1,4}[a-zA-Z]?|[ ]*/[ ]*\d{1,3}[a-zA-Z]?)?(?![\d])(?![.,]\d)"
)
_POSTCODE_RE = re.compile(
    r"(?<![\w/.,-])(?:B-)?[1-9]\d{3}[ ]+(?P<town>[A-Z][^\W\d_A-Z]+(?:(?:-| )(?:[A-Z][^\W\d_A-Z]+|sur|lez|aan|de|den|op|over))*)(?![\w-])"
)
_NOT_TOWN = {"euro", "eur", "uur", "stuks", "km", "m", "m²", "m2", "januari", "februari", "maart",
             "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"}
_WORD_RE = re.compile(r"[A-Z]\.(?=[ ]?[A-Z])|[^\W\d_](?:[\w'’]|-(?=\w))*")


def _find_addresses(text: str) -> list[tuple[str, int, int]]:
    found = []
    for m in _HOUSE_NUMBER_RE.finditer(text):
        word = m.group("pre").rstrip(".")
        if not word[:1].isupper() or not _STREET_END_RE.search(word):
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
            if head and head.group().lower() in _STREET_CONNECTORS and head.end() < m.start("pre"):
                start = head.end() + 1
            else:
                break
        found.append(("adres", start, m.end()))
    for m in _POSTCODE_RE.finditer(text):
        town = m.group("town")
        if town.lower() in _NOT_TOWN:
            continue
        found.append(("adres", m.start(), m.end()))
    return found


# ---------------------------------------------------------------- person names

_INITIAL_RE = re.compile(r"[A-Z]\.")
_SENTENCE_END = re.compile(r"(?:^|[.!?:;\n\"“(]\s*|^\s*)$")


def _is_cap(token: str) -> bool:
    return token[:1].isupper() and not (len(token) > 2 and token.isupper())


@functools.lru_cache(maxsize=200_000)
def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "nl")


class _NameFinder:
    def __init__(self, lexicon: Lexicon) -> None:
        self.lex = lexicon

    def is_ordinary(self, token: str) -> bool:
        low = token.lower().rstrip(".")
        if low in _NOT_NAME or low in self.lex.common_words or low in CUE_WORDS:
            return True
        if low in self.lex.first_names or low in self.lex.surnames:
            return False
        return _zipf(low) >= 3.0

    def is_known_name(self, token: str) -> bool:
        low = token.lower()
        return low in self.lex.first_names or low in self.lex.surnames

    def find(self, text: str) -> list[tuple[str, int, int]]:
        tokens = [(m.start(), m.end(), m.group()) for m in _WORD_RE.finditer(text)]
        found: list[tuple[str, int, int]] = []
        i, n = 0, len(tokens)
        while i < n:
            s, e, tok = tokens[i]
            if not (_is_cap(tok) or tok.lower() in NAME_PARTICLES):
                i += 1
                continue
            # chain of capitalised words and particles separated by single spaces or hyphens
            j = i
            while j + 1 < n and text[tokens[j][1] : tokens[j + 1][0]] in (" ", "-", " - ") and (
                _is_cap(tokens[j + 1][2]) or tokens[j + 1][2].lower() in NAME_PARTICLES
            ):
                j += 1
            self._judge_chain(text, tokens, i, j, found)
            i = j + 1
        return found

    def _judge_chain(self, text: str, tokens: list, i: int, j: int, found: list) -> None:
        lex = self.lex
        chain = tokens[i : j + 1]
        prev = tokens[i - 1][2].lower() if i > 0 else ""
        before = text[tokens[i - 1][1] : chain[0][0]] if i > 0 else ""
        at_sentence_start = i == 0 or bool(_SENTENCE_END.search(text[: chain[0][0]]))
        gap = before.strip()
        cue = prev in CUE_WORDS and (gap in ("", ",") or (gap == "." and prev in _ABBREVIATED_CUES))
        # split the chain at words that are never part of a name (places, months, ordinary words)
        k = 0
        while k < len(chain):
            s, e, tok = chain[k]
            low = tok.lower().rstrip(".")
            first_of_sentence = k == 0 and at_sentence_start
            if low in CUE_WORDS and low not in NAME_PARTICLES and _is_cap(tok) and k + 1 < len(chain):
                cue = True
                k += 1
                continue
            blocked = self._blocked(chain, k)
            if first_of_sentence and not blocked and low not in NAME_PARTICLES and self.is_ordinary(tok) and not (
                low in lex.first_names and k + 1 < len(chain) and _is_cap(chain[k + 1][2])
            ):
                blocked = True
            if blocked:
                k += 1
                cue = False
                continue
            # collect the run up to the next blocked word
            run = [chain[k]]
            m = k + 1
            while m < len(chain):
                if self._blocked(chain, m):
                    break
                run.append(chain[m])
                m += 1
            while run and run[-1][2].lower() in NAME_PARTICLES and not _is_cap(run[-1][2]):
                run.pop()
            while run and not _is_cap(run[0][2]) and run[0][2].lower() in NAME_PARTICLES:
                run.pop(0)
            if run and self._accept(run, cue, first_of_sentence):
                found.append(("naam", run[0][0], run[-1][1]))
            k = m
            cue = False

    def _blocked(self, chain: list, k: int) -> bool:
        """Words that end a name: months, institutions, and places unless they follow a particle."""
        low = chain[k][2].lower().rstrip(".")
        if low in NAME_PARTICLES:
            return False
        return low in _NOT_NAME or (low in self.lex.places and not self._glued_to_name(chain, k))

    def _glued_to_name(self, chain: list, k: int) -> bool:
        """'Van Damme' or 'De Panne' as a surname: a place right after a particle."""
        return k > 0 and chain[k - 1][2].lower() in NAME_PARTICLES

    def _accept(self, run: list, cue: bool, sentence_start: bool) -> bool:
        words = [t for _, _, t in run]
        lows = [w.lower() for w in words]
        core = [w for w in words if w.lower() not in NAME_PARTICLES or _is_cap(w)]
        content = [w for w in words if w.lower() not in NAME_PARTICLES]
        if not content:
            return False
        if cue:
            return True
        if len(core) >= 2:
            if words[0].lower() in NAME_PARTICLES:  # "De Smet", "El Amrani", "Van den Bossche"
                return " ".join(lows) not in self.lex.places
            if any(w in self.lex.first_names for w in lows if w not in NAME_PARTICLES):
                return True
            if any(self.is_known_name(w) for w in content) or _INITIAL_RE.fullmatch(words[0]):
                return True
            if sentence_start:  # e.g. a signature line: every word must look like a name
                return not any(self.is_ordinary(w) for w in content)
            return not all(self.is_ordinary(w) for w in content)
        # a single capitalised word mid-sentence: a name when the lists know it
        word = content[0]
        return not sentence_start and self.is_known_name(word) and word.lower() not in self.lex.places


# ---------------------------------------------------------------- scrubber


@dataclass
class ScrubResult:
    text: str
    findings: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(kind for kind, _, _ in self.findings))


class Scrubber:
    """Finds personal data and replaces each finding by its Dutch tag.

    `names=False` keeps only the pattern part (identifiers, addresses, plates), several times faster.
    """

    def __init__(self, names: bool = True, lexicon: Lexicon | None = None) -> None:
        self.names = names
        self._name_finder = _NameFinder(lexicon or default_lexicon()) if names else None

    def find(self, text: str) -> list[tuple[str, int, int]]:
        candidates = (
            _find_emails(text) + _find_iban(text) + _find_rrn(text) + _find_phones(text)
            + _find_plates(text) + _find_addresses(text)
        )
        if self._name_finder is not None:
            candidates += self._name_finder.find(text)
        rank = {kind: r for r, kind in enumerate(PRIORITY)}
        candidates.sort(key=lambda f: (rank[f[0]], f[1] - f[2]))
        taken: list[tuple[str, int, int]] = []
        for kind, start, end in candidates:
            if all(end <= s or start >= e for _, s, e in taken):
                taken.append((kind, start, end))
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
        if merged and f[0] == "adres" == merged[-1][0] and text[merged[-1][2] : f[1]].strip(" ,") == "":
            merged[-1] = ("adres", merged[-1][1], f[2])
        else:
            merged.append(f)
    return merged


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
