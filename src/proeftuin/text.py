"""Small text helpers shared by light and heavy modules (no imports beyond the standard library)."""

from __future__ import annotations

import re
import unicodedata


def fold(text: str) -> str:
    """Lower case without accents: 'Één' -> 'een'."""
    return unicodedata.normalize("NFKD", str(text).lower()).encode("ascii", "ignore").decode()


def anchor(value: str) -> str:
    """A stable ASCII id for a heading, a theme or an organisation: 'Sociale zaken' -> 'sociale-zaken'."""
    return re.sub(r"[^a-z0-9]+", "-", fold(value)).strip("-")
