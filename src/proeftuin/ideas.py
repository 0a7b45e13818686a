"""Ideas: questions from the organisation that may become an AI pilot ("vragen uit de organisatie
vertalen naar een AI-pilot").

An idea is proposed on the portal (or with the API below), stored in SQLite in the state folder with
its author, organisation and time, listed on the portal and on the site's "Ideeën" page, supported by
other organisations ("wij ook", once per organisation) and finally turned into a pilot with
`proeftuin new --from-idea`. Free text is scrubbed of personal data *before* it is stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from proeftuin.errors import ProeftuinError

#: Longest text kept per field; longer input is refused, not cut (a cut question reads as another one).
MAX_LENGTHS = {"question": 2000, "asked_by": 200, "service": 200, "data_available": 2000, "impact": 2000}
#: What each field is called on the form and in messages.
FIELD_LABELS = {
    "question": "de vraag",
    "asked_by": "wie de vraag stelt",
    "service": "de dienst",
    "data_available": "welke gegevens er zijn",
    "impact": "wat een goed antwoord zou veranderen",
}
REQUIRED = ("question", "asked_by", "service")

SCHEMA = """
CREATE TABLE IF NOT EXISTS ideas (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    author TEXT NOT NULL,
    organisation TEXT NOT NULL,
    question TEXT NOT NULL,
    asked_by TEXT NOT NULL,
    service TEXT NOT NULL,
    data_available TEXT NOT NULL DEFAULT '',
    personal_data INTEGER NOT NULL CHECK (personal_data IN (0, 1)),
    impact TEXT NOT NULL DEFAULT '',
    stage TEXT NOT NULL DEFAULT 'idee',
    pilot TEXT
);
CREATE TABLE IF NOT EXISTS idea_support (
    idea_id INTEGER NOT NULL REFERENCES ideas(id) ON DELETE CASCADE,
    organisation TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (idea_id, organisation)
);
"""


class IdeaError(ProeftuinError):
    """Bad input for an idea: the message says in Dutch what is wrong and what to do."""


class Idea(BaseModel):
    id: int
    created_at: str
    author: str
    organisation: str
    question: str
    asked_by: str
    service: str
    data_available: str = ""
    personal_data: bool
    impact: str = ""
    stage: str = "idee"
    pilot: str | None = None
    #: organisations that said "wij ook" (never the proposing one), in the order they did
    supporters: list[str] = Field(default_factory=list)

    @property
    def title(self) -> str:
        """The question's first line, at most 80 characters, for lists."""
        first = self.question.strip().splitlines()[0] if self.question.strip() else ""
        return first if len(first) <= 80 else first[:77].rstrip() + "…"


def ideas_path(state_dir: Path) -> Path:
    return state_dir / "ideas" / "ideas.sqlite3"


class IdeaStore:
    """Ideas in `<state>/ideas/ideas.sqlite3`. Organisation slugs are checked by the caller against
    `proeftuin.yaml` (`known_organisations`), so this store never invents one."""

    def __init__(self, path: Path, known_organisations: set[str] | None = None) -> None:
        self.path = path
        self.known = known_organisations
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA journal_mode=WAL")
            with db:  # one transaction: committed whole or not at all
                yield db
        finally:
            db.close()

    def _check_organisation(self, organisation: str) -> None:
        if self.known is not None and organisation not in self.known:
            raise IdeaError(f"Onbekende organisatie '{organisation}'. Kies een organisatie uit proeftuin.yaml "
                            f"({', '.join(sorted(self.known))}).")

    def add(self, *, author: str, organisation: str, question: str, asked_by: str, service: str,
            data_available: str = "", personal_data: bool, impact: str = "") -> Idea:
        """Store a new idea of stage `idee`; free text is scrubbed first. Raises `IdeaError` (nothing
        stored) for a missing or too long field or an unknown organisation."""
        self._check_organisation(organisation)
        fields = {"question": question, "asked_by": asked_by, "service": service,
                  "data_available": data_available, "impact": impact}
        for name, value in fields.items():
            value = (value or "").strip()
            if name in REQUIRED and not value:
                raise IdeaError(f"Vul {FIELD_LABELS[name]} in: dat veld is verplicht.")
            if len(value) > MAX_LENGTHS[name]:
                raise IdeaError(f"{FIELD_LABELS[name].capitalize()} is te lang ({len(value)} tekens); houd het "
                                f"onder {MAX_LENGTHS[name]} tekens en zet details in de bijlage van de pilot.")
            fields[name] = value
        from proeftuin.privacy import scrub_text

        scrubbed = {name: scrub_text(value) for name, value in fields.items()}
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            cursor = db.execute(
                "INSERT INTO ideas (created_at, author, organisation, question, asked_by, service, data_available,"
                " personal_data, impact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now, author, organisation, scrubbed["question"], scrubbed["asked_by"], scrubbed["service"],
                 scrubbed["data_available"], int(bool(personal_data)), scrubbed["impact"]))
            idea_id = cursor.lastrowid
        return self.get(idea_id)

    def get(self, idea_id: int) -> Idea:
        ideas = self._select("WHERE i.id = ?", (idea_id,))
        if not ideas:
            raise IdeaError(f"Er is geen idee met nummer {idea_id}. Zie `proeftuin idea list`.")
        return ideas[0]

    def list(self) -> list[Idea]:
        """All ideas, newest first."""
        return self._select("", ())

    def _select(self, where: str, args: tuple) -> list[Idea]:
        with self._db() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(f"SELECT * FROM ideas i {where} ORDER BY i.id DESC", args).fetchall()  # noqa: S608
            support: dict[int, list[str]] = {}
            for idea_id, organisation in db.execute(
                    "SELECT idea_id, organisation FROM idea_support ORDER BY created_at, organisation"):
                support.setdefault(idea_id, []).append(organisation)
        return [Idea(**{**dict(row), "personal_data": bool(row["personal_data"]),
                        "supporters": support.get(row["id"], [])}) for row in rows]

    def support(self, idea_id: int, *, organisation: str, author: str) -> bool:
        """Record "wij ook" for `organisation`. False when that organisation already did (nothing is
        stored twice); `IdeaError` for the proposing organisation itself or an unknown idea."""
        self._check_organisation(organisation)
        idea = self.get(idea_id)
        if idea.organisation == organisation:
            raise IdeaError("Dit idee komt van je eigen organisatie; 'wij ook' is voor andere organisaties.")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            cursor = db.execute("INSERT OR IGNORE INTO idea_support (idea_id, organisation, author, created_at) "
                                "VALUES (?, ?, ?, ?)", (idea_id, organisation, author, now))
            return cursor.rowcount == 1

    def link_pilot(self, idea_id: int, slug: str) -> Idea:
        """Mark the idea as turned into pilot `slug` (its stage follows the pilot from then on)."""
        self.get(idea_id)
        with self._db() as db:
            db.execute("UPDATE ideas SET pilot = ?, stage = 'experiment' WHERE id = ?", (slug, idea_id))
        return self.get(idea_id)
