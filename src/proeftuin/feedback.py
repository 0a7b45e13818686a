"""Kiosk feedback ("Was dit nuttig?"): pilot, time and verdict, in the store `proeftuin.storage` gives for
"feedback" (SQLite in the state folder, or the platform's PostgreSQL database).

Input text is only kept when the configuration says so, and then only after scrubbing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from proeftuin import storage
from proeftuin.data import write_table_atomic
from proeftuin.settings import Settings

VERDICTS = ("nuttig", "niet nuttig")
metadata = sa.MetaData()
FEEDBACK = sa.Table(
    "feedback", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pilot", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("verdict", sa.Text, sa.CheckConstraint("verdict IN ('nuttig', 'niet nuttig')"), nullable=False),
    sa.Column("input_text", sa.Text),
    sqlite_autoincrement=True,
)


class FeedbackStore:
    def __init__(self, settings: Settings, store_text: bool = False) -> None:
        self.engine = storage.engine(settings, "feedback")
        self.store_text = store_text
        metadata.create_all(self.engine, checkfirst=True)

    @classmethod
    def existing(cls, settings: Settings) -> FeedbackStore | None:
        """The store when a kiosk collected feedback before, else None (an export never creates it)."""
        return cls(settings) if storage.has_tables(settings, "feedback", "feedback") else None

    def add(self, pilot: str, verdict: str, text: str | None = None) -> None:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}")
        kept = None
        if self.store_text and text:
            from proeftuin.privacy import scrub_text

            kept = scrub_text(text)[:5000]
        with self.engine.begin() as db:
            db.execute(FEEDBACK.insert().values(pilot=pilot, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                                                verdict=verdict, input_text=kept))

    def frame(self) -> pd.DataFrame:
        columns = [FEEDBACK.c.pilot, FEEDBACK.c.created_at, FEEDBACK.c.verdict, FEEDBACK.c.input_text]
        with self.engine.connect() as db:
            rows = db.execute(sa.select(*columns).order_by(FEEDBACK.c.id)).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=[c.name for c in columns])

    def export(self, output: Path) -> int:
        frame = self.frame()
        write_table_atomic(frame, output)
        return len(frame)


def feedback_path(state_dir: Path) -> Path:
    """The embedded default's file (`storage.sqlite_path(settings, "feedback")`)."""
    return state_dir / storage.SQLITE_FILES["feedback"]
