"""Ideas: questions from the organisation that may become an AI pilot ("vragen uit de organisatie
vertalen naar een AI-pilot").

An idea is proposed on the portal (or with the API below), stored (SQLite in the state folder, or the platform's
PostgreSQL database: `proeftuin.storage`) with
its author, organisation and time, listed on the portal and on the site's "Ideeën" page, supported by
other organisations ("wij ook", once per organisation) and finally turned into a pilot with
`proeftuin new --from-idea`. Free text is scrubbed of personal data *before* it is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from pydantic import BaseModel, Field

from proeftuin import storage
from proeftuin.errors import ProeftuinError
from proeftuin.settings import Settings

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

metadata = sa.MetaData()
IDEAS = sa.Table(
    "ideas", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("organisation", sa.Text, nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("asked_by", sa.Text, nullable=False),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("data_available", sa.Text, nullable=False, server_default=""),
    sa.Column("personal_data", sa.Integer, sa.CheckConstraint("personal_data IN (0, 1)"), nullable=False),
    sa.Column("impact", sa.Text, nullable=False, server_default=""),
    sa.Column("stage", sa.Text, nullable=False, server_default="idee"),
    sa.Column("pilot", sa.Text),
    sqlite_autoincrement=True,
)
SUPPORT = sa.Table(
    "idea_support", metadata,
    sa.Column("idea_id", sa.Integer, sa.ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("organisation", sa.Text, primary_key=True),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
)


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
    """The embedded default's file (`storage.sqlite_path(settings, "ideas")`)."""
    return state_dir / storage.SQLITE_FILES["ideas"]


class IdeaStore:
    """The ideas, in the store `proeftuin.storage` gives for "ideas". Organisation slugs are checked by the
    caller against `proeftuin.yaml` (`known_organisations`), so this store never invents one."""

    def __init__(self, settings: Settings, known_organisations: set[str] | None = None) -> None:
        self.engine = storage.engine(settings, "ideas")
        self.known = known_organisations
        metadata.create_all(self.engine, checkfirst=True)

    @classmethod
    def existing(cls, settings: Settings, known_organisations: set[str] | None = None) -> IdeaStore | None:
        """The store when someone proposed something before, else None (a reader never creates it)."""
        if not storage.has_tables(settings, "ideas", "ideas", "idea_support"):
            return None
        return cls(settings, known_organisations)

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
        with self.engine.begin() as db:  # one transaction: committed whole or not at all
            idea_id = db.execute(IDEAS.insert().values(
                created_at=now, author=author, organisation=organisation, personal_data=int(bool(personal_data)),
                **scrubbed).returning(IDEAS.c.id)).scalar_one()
        return self.get(idea_id)

    def get(self, idea_id: int) -> Idea:
        ideas = self._select(IDEAS.c.id == idea_id)
        if not ideas:
            raise IdeaError(f"Er is geen idee met nummer {idea_id}. Zie `proeftuin idea list`.")
        return ideas[0]

    def list(self) -> list[Idea]:
        """All ideas, newest first."""
        return self._select(None)

    def _select(self, where) -> list[Idea]:
        query = IDEAS.select().order_by(IDEAS.c.id.desc())
        with self.engine.connect() as db:
            rows = db.execute(query if where is None else query.where(where)).mappings().all()
            support: dict[int, list[str]] = {}
            for idea_id, organisation in db.execute(sa.select(SUPPORT.c.idea_id, SUPPORT.c.organisation)
                                                    .order_by(SUPPORT.c.created_at, SUPPORT.c.organisation)):
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
        with self.engine.begin() as db:
            return storage.insert_ignoring_duplicates(db, SUPPORT, idea_id=idea_id, organisation=organisation,
                                                      author=author, created_at=now)

    def link_pilot(self, idea_id: int, slug: str) -> Idea:
        """Mark the idea as turned into pilot `slug` (its stage follows the pilot from then on)."""
        self.get(idea_id)
        with self.engine.begin() as db:
            db.execute(IDEAS.update().where(IDEAS.c.id == idea_id).values(pilot=slug, stage="experiment"))
        return self.get(idea_id)
