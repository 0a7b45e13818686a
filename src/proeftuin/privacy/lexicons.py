"""Name lists and word frequencies: deduce's first names, surnames, places and common words (read from
its data folder, without importing deduce) with the Flemish, Walloon, Moroccan-, Turkish- and
Polish-Belgian additions, as one `Lexicon`; wordfreq's frequencies (`_zipf`) tell ordinary words from
names."""

from __future__ import annotations

import functools
import importlib.util
import math
import re
from dataclasses import dataclass
from pathlib import Path

from .gazetteers import MUNICIPALITIES

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
