"""New pilots from copier templates, forks of a pilot for another organisation, and template updates.

Every command first builds the new pilot in a temporary folder, validates it (manifest, contract
files, pipeline import) and only then moves it into the pilots folder: a failure leaves nothing half
made and never overwrites an existing pilot.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from proeftuin.errors import ProeftuinError
from proeftuin.pilot import MANIFEST, SLUG_PATTERN, Pilot, find_pilot, load_pilot
from proeftuin.settings import Settings

ANSWERS_FILE = ".copier-answers.yml"
# Files a pilot owns after it was made: `update` never touches them.
PILOT_OWNED = {MANIFEST, "LESSONS.md", ANSWERS_FILE}
IGNORE = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc", ".proeftuin-update-backup")


def templates_dir(settings: Settings) -> Path:
    return settings.project_root / "templates"


def list_templates(settings: Settings) -> list[str]:
    root = templates_dir(settings)
    return sorted(p.name for p in root.iterdir() if (p / "copier.yml").is_file()) if root.is_dir() else []


def template_path(settings: Settings, name: str) -> Path:
    known = list_templates(settings)
    if name not in known:
        raise ProeftuinError(f"Onbekend sjabloon '{name}'.", f"Kies een van: {', '.join(known) or '(geen)'}.")
    return templates_dir(settings) / name


def template_questions(settings: Settings, name: str) -> dict[str, Any]:
    raw = yaml.safe_load((template_path(settings, name) / "copier.yml").read_text(encoding="utf-8")) or {}
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:62] or "pilot"


def _check_new_slug(settings: Settings, slug: str) -> None:
    if not re.match(SLUG_PATTERN, slug):
        raise ProeftuinError(f"'{slug}' is geen geldige korte naam voor een pilot.",
                             "Gebruik 2 tot 63 kleine letters, cijfers en streepjes, bv. --slug ebox-besparing.")
    if (settings.pilots_dir / slug).exists():
        raise ProeftuinError(f"Er bestaat al een pilot '{slug}' in {settings.pilots_dir}.",
                             "Kies een andere naam met --slug; de bestaande pilot blijft ongewijzigd.")


def _tidy_manifest(path: Path, **changes: Any) -> None:
    """Rewrite pilot.yaml readable (plain UTF-8, field order kept), with `changes` applied."""
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False, width=110), encoding="utf-8")


def _install(settings: Settings, built: Path, slug: str) -> Pilot:
    """Validate a pilot built in a temporary folder and move it into the pilots folder."""
    known = {o.slug for o in settings.organisations}
    pilot = load_pilot(built, known)
    pilot.pipeline()
    settings.pilots_dir.mkdir(parents=True, exist_ok=True)
    target = settings.pilots_dir / slug
    if target.exists():  # made by someone else in the meantime
        raise ProeftuinError(f"Er bestaat al een pilot '{slug}'.", "Kies een andere naam met --slug.")
    shutil.copytree(built, target, ignore=IGNORE)
    return load_pilot(target, known)


def render(template: Path, destination: Path, answers: dict[str, Any]) -> None:
    """Render a copier template with the given answers, asking nothing."""
    from copier import run_copy

    try:
        run_copy(str(template), destination, data=answers, defaults=True, quiet=True, overwrite=True,
                 unsafe=False, vcs_ref="HEAD" if (template / ".git").exists() else None)
    except Exception as exc:  # copier raises many types (validation, Jinja errors); report them in Dutch
        raise ProeftuinError(f"Het sjabloon {template.name} kon niet ingevuld worden: {exc}",
                             "Kijk de antwoorden na (titel, organisatie, opties).") from exc


def new_from_template(settings: Settings, template: str, org: str, title: str, slug: str | None = None,
                      question: str | None = None, options: dict[str, Any] | None = None) -> Pilot:
    path = template_path(settings, template)
    settings.organisation(org)
    title = (title or "").strip()
    if len(title) < 3:
        raise ProeftuinError("Geef een titel van minstens 3 tekens.", 'Bijvoorbeeld: --title "eBox-besparing"')
    slug = slug or slugify(title)
    _check_new_slug(settings, slug)
    answers: dict[str, Any] = {"slug": slug, "title": title, "owner": org, **(options or {})}
    if question:
        answers["question"] = question
    unknown = sorted(set(answers) - set(template_questions(settings, template)))
    if unknown:
        raise ProeftuinError(f"Sjabloon {template} kent de optie(s) {', '.join(unknown)} niet.",
                             f"Opties: {', '.join(sorted(template_questions(settings, template)))}.")
    with tempfile.TemporaryDirectory(prefix="proeftuin-new-") as tmp:
        built = Path(tmp) / slug
        render(path, built, answers)
        _tidy_manifest(built / MANIFEST)
        return _install(settings, built, slug)


def fork(settings: Settings, source_slug: str, org: str, slug: str | None = None, title: str | None = None) -> Pilot:
    """Copy a pilot for another organisation; the copy records where it came from (`forked_from`)."""
    known = {o.slug for o in settings.organisations}
    settings.organisation(org)
    source = find_pilot(settings.pilots_dir, source_slug, known)
    slug = slug or f"{source.slug}-{org}"[:63].rstrip("-")
    _check_new_slug(settings, slug)
    organisation = settings.organisation(org)
    title = title or f"{source.manifest.title} ({organisation.name})"
    with tempfile.TemporaryDirectory(prefix="proeftuin-fork-") as tmp:
        built = Path(tmp) / slug
        shutil.copytree(source.path, built, ignore=IGNORE)
        _tidy_manifest(built / MANIFEST, slug=slug, title=title, owner=org, participants=[], stage="idee",
                       forked_from=source.slug)
        answers_path = built / ANSWERS_FILE
        if answers_path.is_file():
            answers = yaml.safe_load(answers_path.read_text(encoding="utf-8")) or {}
            answers.update(slug=slug, title=title, owner=org)
            _write_answers(answers_path, answers)
        return _install(settings, built, slug)


def _write_answers(path: Path, answers: dict[str, Any]) -> None:
    header = ("# Aangemaakt door `proeftuin new`; `proeftuin update` gebruikt deze antwoorden. "
              "Niet met de hand aanpassen.\n")
    path.write_text(header + yaml.safe_dump(answers, allow_unicode=True, sort_keys=False), encoding="utf-8")


@dataclass
class UpdateReport:
    slug: str
    template: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    differs: list[str] = field(default_factory=list)  # template changed it, pilot keeps its own (no --overwrite)
    kept: list[str] = field(default_factory=list)  # pilot-owned files (manifest, lessons, data)
    backup: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".proeftuin-update-backup" not in p.parts}


def update(settings: Settings, slug: str, overwrite: bool = False) -> UpdateReport:
    """Re-render the pilot's template with its recorded answers and bring the template's files up to date.

    The pilot's own files (pilot.yaml, LESSONS.md, data/*.csv) are never touched. A code file the
    template changed is replaced only with `overwrite`; the old version is kept in .proeftuin-update-backup/.
    """
    known = {o.slug for o in settings.organisations}
    pilot = find_pilot(settings.pilots_dir, slug, known)
    answers_path = pilot.path / ANSWERS_FILE
    if not answers_path.is_file():
        raise ProeftuinError(f"Pilot {slug} is niet met `proeftuin new` gemaakt ({ANSWERS_FILE} ontbreekt).",
                             "Alleen pilots uit een sjabloon kunnen bijgewerkt worden.")
    template = pilot.manifest.template
    path = template_path(settings, template)
    recorded = yaml.safe_load(answers_path.read_text(encoding="utf-8")) or {}
    questions = template_questions(settings, template)
    answers = {k: v for k, v in recorded.items() if k in questions}
    report = UpdateReport(slug=slug, template=template)
    with tempfile.TemporaryDirectory(prefix="proeftuin-update-") as tmp:
        fresh = Path(tmp) / slug
        render(path, fresh, answers)
        current = _files(pilot.path)
        backup = pilot.path / ".proeftuin-update-backup"
        for name, new in sorted(_files(fresh).items()):
            owned = name in PILOT_OWNED or (name.startswith("data/") and not name.endswith((".md", ".txt")))
            if name not in current:
                (pilot.path / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(new, pilot.path / name)
                report.added.append(name)
            elif owned:
                report.kept.append(name)
            elif new.read_bytes() != current[name].read_bytes():
                if overwrite:
                    (backup / name).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(current[name], backup / name)
                    shutil.copy2(new, current[name])
                    report.updated.append(name)
                    report.backup = str(backup)
                else:
                    report.differs.append(name)
    load_pilot(pilot.path, known).pipeline()  # still a valid pilot
    return report
