"""Kiosk feedback ("Was dit nuttig?"): pilot, time and verdict in SQLite in the state folder.

Input text is only kept when the configuration says so, and then only after scrubbing.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from proeftuin.data import write_table_atomic

VERDICTS = ("nuttig", "niet nuttig")
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pilot TEXT NOT NULL,
    created_at TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('nuttig', 'niet nuttig')),
    input_text TEXT
)
"""


class FeedbackStore:
    def __init__(self, path: Path, store_text: bool = False) -> None:
        self.path = path
        self.store_text = store_text
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def add(self, pilot: str, verdict: str, text: str | None = None) -> None:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}")
        kept = None
        if self.store_text and text:
            from proeftuin.privacy import scrub_text

            kept = scrub_text(text)[:5000]
        with self._connect() as db:
            db.execute("INSERT INTO feedback (pilot, created_at, verdict, input_text) VALUES (?, ?, ?, ?)",
                       (pilot, datetime.now(UTC).isoformat(timespec="seconds"), verdict, kept))

    def frame(self) -> pd.DataFrame:
        with self._connect() as db:
            return pd.read_sql_query("SELECT pilot, created_at, verdict, input_text FROM feedback ORDER BY id", db)

    def export(self, output: Path) -> int:
        frame = self.frame()
        write_table_atomic(frame, output)
        return len(frame)


def feedback_path(state_dir: Path) -> Path:
    return state_dir / "gallery" / "feedback.sqlite3"
