"""Reading the tables pilots train on: clear Dutch errors for wrong files, never a silent guess."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pandas as pd

from proeftuin.errors import DataError
from proeftuin.files import atomic_write


def sniff_delimiter(sample: str) -> str:
    """`,` or `;` (Belgian Excel exports use `;`), whichever the header line holds more of."""
    header = sample.splitlines()[0] if sample else ""
    return ";" if header.count(";") > header.count(",") else ","


def read_table(path: str | Path, required: list[str]) -> pd.DataFrame:
    """A CSV as strings; names the expected and found columns when one is missing."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Het bestand {path} bestaat niet.", "Controleer het pad (--data).")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            delimiter = sniff_delimiter(handle.read(64 * 1024))
        frame = pd.read_csv(path, sep=delimiter, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} is geen UTF-8-tekst (fout op byte {exc.start}).",
            "Sla het bestand op als 'CSV UTF-8' (in Excel: Opslaan als → CSV UTF-8) en probeer opnieuw.",
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise DataError(
            f"{path} is geen leesbaar CSV-bestand: {exc}",
            "Controleer dat het een CSV met een kopregel is, gescheiden door komma's of puntkomma's.",
        ) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path} mist de kolom(men) {', '.join(missing)}.",
            f"Verwacht: {', '.join(required)}. Gevonden: {', '.join(map(str, frame.columns)) or '(geen)'}."
            " Geef de juiste kolomnamen mee, bv. --param text_column=...",
        )
    return frame


def drop_empty(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, int]:
    """Rows whose `column` is blank are skipped; the count is returned so it can be reported."""
    keep = frame[column].astype(str).str.strip() != ""
    return frame[keep].reset_index(drop=True), int((~keep).sum())


def frame_hash(frame: pd.DataFrame) -> str:
    """A content hash of a table (order-sensitive), to tag runs with the data they saw."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def write_table_atomic(frame: pd.DataFrame, path: str | Path, delimiter: str = ",") -> Path:
    """Write a CSV via a temporary file in the same folder, so a failure never leaves half a file."""
    path = Path(path)
    if not path.parent.is_dir():
        raise DataError(f"De map {path.parent} bestaat niet.", "Maak de map eerst aan of kies een ander pad.")
    with atomic_write(path, newline="") as handle:
        frame.to_csv(handle, index=False, sep=delimiter)
    return path
