"""The lexical index: Dutch text processing (accents folded, light suffix stripping) and the TF-IDF views.

Two views of each text: stemmed words and word pairs, and character n-grams (3 to 5, within words), which
catch compounds and spelling variants ("spoorweg" in "spoorwegpersoneel"). `LexicalIndex` gives the
`Retriever` its cosines over them; the vocabularies and idf weights are stored by `Retriever.save`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import scipy.sparse as sp

from proeftuin.errors import DataError
from proeftuin.text import fold

_SUFFIXES = ("heden", "heid", "ingen", "ing", "lijk", "tjes", "jes", "en", "es", "s", "e")
_WORD = re.compile(r"[a-z0-9]+")
_FIRST_LINE = re.compile(r"\s{3,}|\n")
HEAD_CHARS = 400  # the opening of a passage, where an answer usually restates the subject of the question
KINDS = ("words", "chars")


def stem(word: str) -> str:
    """Light suffix stripping for Dutch: enough to match 'aanvragen' with 'aanvraag'-like forms."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # "bedrijffen" -> "bedrijf"
    return word.replace("aa", "a").replace("ee", "e").replace("oo", "o").replace("uu", "u")


def words(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(fold(text))]


def word_grams(text: str) -> list[str]:
    """Stemmed words and word pairs: pairs keep names and terms together ("federale politie")."""
    tokens = words(text)
    return tokens + [f"{x}_{y}" for x, y in zip(tokens, tokens[1:], strict=False)]


def first_line(text: str) -> str:
    """The subject line of a question (up to the first line break or run of spaces); the whole text otherwise."""
    return _FIRST_LINE.split(str(text).strip(), maxsplit=1)[0]


def _vectorizer(kind: str, vocabulary: dict[str, int] | None = None, plain: bool = False):
    from sklearn.feature_extraction.text import TfidfVectorizer

    if kind == "words" and plain:
        return TfidfVectorizer(sublinear_tf=True, vocabulary=vocabulary, dtype=np.float32)
    if kind == "words":
        return TfidfVectorizer(analyzer=word_grams, sublinear_tf=True, vocabulary=vocabulary, dtype=np.float32)
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, preprocessor=fold,
                           vocabulary=vocabulary, dtype=np.float32)


def _doc_lengths(texts: list[str]) -> np.ndarray:
    """log(1 + words) per document: a feature of the learned re-ranker."""
    return np.log1p([len(t.split()) for t in texts]).astype(np.float32)


def _standardise(block: np.ndarray) -> np.ndarray:
    return (block - block.mean(1, keepdims=True)) / (block.std(1, keepdims=True) + 1e-9)


def check_collection(ids: list[Any], texts: list[Any]) -> None:
    """Every document needs a unique, non-empty id and some text."""
    clean = [str(i).strip() for i in ids]
    empty = [n for n, i in enumerate(clean) if not i]
    if empty:
        raise DataError(f"{len(empty)} document(en) zonder id (eerste op rij {empty[0] + 2}).",
                        "Geef elk document een eigen id en indexeer opnieuw; de bestaande index blijft staan.")
    seen: set[str] = set()
    dupes = sorted({i for i in clean if i in seen or seen.add(i)})
    if dupes:
        raise DataError(f"Dubbele id's in de collectie: {', '.join(dupes[:5])}{' …' if len(dupes) > 5 else ''}.",
                        "Elk document heeft een eigen id nodig; de bestaande index blijft staan.")
    if not clean:
        raise DataError("De collectie is leeg.", "Geef een CSV met minstens één document.")
    if all(not str(t).strip() for t in texts):
        raise DataError("Alle documenten zijn leeg.", "Kies de kolom met de tekst (--text-column).")


class LexicalIndex:
    """The lexical stage of the `Retriever` (which holds `config`, `ids`, `vectorizers` and `matrices`)."""

    def _cosines(self, kind: str, questions: list[str] | sp.csr_matrix, target: str | None = None) -> np.ndarray:
        """Cosine of each question (texts or their vectors) with every document of matrix `target`."""
        vectors = self.vectorizers[kind].transform(questions) if isinstance(questions, list) else questions
        name = target or kind
        return (vectors @ self._by_term(name, self.matrices[name])).toarray()

    def _by_term(self, name: str, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """`matrix` (rows x terms) transposed once and kept: a product per query stays cheap."""
        if name not in self._transposed:
            self._transposed[name] = matrix.T.tocsr()
        return self._transposed[name]

    def scores(self, questions: list[str]) -> np.ndarray:
        """Fused lexical score of every document for every question (questions x documents)."""
        w = self.config.char_weight
        out = np.zeros((len(questions), len(self.ids)), dtype=np.float32)
        for kind, weight in (("words", 1 - w), ("chars", w)):
            if weight:
                out += weight * self._cosines(kind, questions)
        return out
