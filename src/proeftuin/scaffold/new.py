"""New pilots from copier templates and forks of a pilot for another organisation.

Every command first builds the new pilot in a temporary folder, validates it (manifest, contract
files, pipeline import) and only then moves it into the pilots folder: a failure leaves nothing half
made and never overwrites an existing pilot. Forks record `forked_from` (proeftuin.pilot.families).
Each new pilot also keeps the template's files as they were rendered (BASE_FILE, at the end of this
module): the base that `update` (proeftuin.scaffold.update) merges against.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from proeftuin.errors import ProeftuinError
from proeftuin.files import write_atomic
from proeftuin.pilot import MANIFEST, SLUG_PATTERN, Pilot, find_pilot, load_pilot
from proeftuin.settings import Settings
from proeftuin.text import anchor

ANSWERS_FILE = ".copier-answers.yml"
# Files a pilot owns after it was made: `update` adds them when missing but never changes them.
PILOT_OWNED = {"LESSONS.md", ANSWERS_FILE}
IGNORE = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc", ".proeftuin-update-backup",
                                "*.conflict", "*.sjabloon.ipynb")


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
    return anchor(text)[:62] or "pilot"


def _check_new_slug(settings: Settings, slug: str) -> None:
    if not re.match(SLUG_PATTERN, slug):
        raise ProeftuinError(f"'{slug}' is geen geldige korte naam voor een pilot.",
                             "Gebruik 2 tot 63 kleine letters, cijfers en streepjes, bv. --slug ebox-besparing.")
    if (settings.pilots_dir / slug).exists():
        raise ProeftuinError(f"Er bestaat al een pilot '{slug}' in {settings.pilots_dir}.",
                             "Kies een andere naam met --slug; de bestaande pilot blijft ongewijzigd.")


def _tidy_manifest(path: Path, drop: tuple[str, ...] = (), **changes: Any) -> None:
    """Rewrite pilot.yaml readable (plain UTF-8, field order kept), with `changes` applied and `drop` removed."""
    path.write_text(_dump_manifest(path.read_text(encoding="utf-8"), drop, **changes), encoding="utf-8")


#: What a fork does not inherit: its own lifecycle, and the assessments and duties of the organisation that did them.
NOT_INHERITED = ("history", "dpia", "fria", "duties")


def _dump_manifest(content: str, drop: tuple[str, ...] = (), **changes: Any) -> str:
    manifest = yaml.safe_load(content)
    manifest.update(changes)
    for key in drop:
        manifest.pop(key, None)
    return yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False, width=110)


def _existing(settings: Settings, slug: str, known: set[str]) -> Pilot:
    """A pilot in the pilots folder by its slug (never a path outside it)."""
    if not re.match(SLUG_PATTERN, slug):
        raise ProeftuinError(f"Onbekende pilot '{slug}'.",
                             "Geef de korte naam van een pilot uit `proeftuin list`, bv. ebox-besparing.")
    return find_pilot(settings.pilots_dir, slug, known)


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
    _portable_source(destination / ANSWERS_FILE, template)


def _portable_source(answers_path: Path, template: Path) -> None:
    """Record the template as templates/<name>, not as this machine's absolute path (pilots are shared)."""
    if answers_path.is_file():
        content = answers_path.read_text(encoding="utf-8")
        portable = re.sub(r"(?m)^_src_path: .*$", f"_src_path: templates/{template.name}", content, count=1)
        if portable != content:
            answers_path.write_text(portable, encoding="utf-8")


def new_from_template(settings: Settings, template: str, org: str, title: str, slug: str | None = None,
                      question: str | None = None, options: dict[str, Any] | None = None,
                      manifest_changes: Callable[[dict[str, Any]], None] | None = None) -> Pilot:
    """A new pilot from a template. `manifest_changes` edits the rendered manifest (a dict) before it is checked
    and installed; those edits are the pilot's own (a later `update` keeps them), not the template's."""
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
        write_base(built, template, _template_text(built))
        if manifest_changes is not None:
            manifest = yaml.safe_load((built / MANIFEST).read_text(encoding="utf-8"))
            manifest_changes(manifest)
            _tidy_manifest(built / MANIFEST, **manifest)
        return _install(settings, built, slug)


def new_from_idea(settings: Settings, store: Any, idea_id: int, template: str, title: str | None = None,
                  slug: str | None = None, options: dict[str, Any] | None = None) -> Pilot:
    """A pilot from a proposed question (`proeftuin.ideas`): its question, its organisation as owner, its
    personal-data answer on the data sources, and the link both ways (`idea:` in the manifest, the pilot's
    slug in the store). Nothing is written when anything is wrong."""
    from proeftuin.ideas import IdeaError

    template_path(settings, template)  # an unknown template fails before anything else
    if store is None:
        raise IdeaError(f"Er is geen idee met nummer {idea_id}: er zijn nog geen ideeën.",
                        "Ideeën stel je voor op de startpagina van de proeftuin (Een vraag voorstellen).")
    idea = store.get(idea_id)
    if idea.pilot:
        raise IdeaError(f"Idee {idea_id} werd al pilot '{idea.pilot}'.",
                        f"Werk verder in die pilot, of maak er een kopie van: proeftuin new --from {idea.pilot} "
                        "--org <jouw organisatie>.")
    question = " ".join(idea.question.split())
    if len(question) < 10:
        raise IdeaError(f"De vraag van idee {idea_id} is te kort voor een pilot (minstens 10 tekens).",
                        "Vraag de indiener om de vraag uit te schrijven, of stel ze opnieuw voor.")
    title = (title or idea.title).strip()

    def changes(manifest: dict[str, Any]) -> None:
        manifest["idea"] = idea.id
        if idea.personal_data:  # the organisation's own data will hold personal data: scrub it
            for source in manifest.get("data", []):
                source["personal_data"] = True

    pilot = new_from_template(settings, template, idea.organisation, title, slug=slug, question=question,
                              options=options, manifest_changes=changes)
    try:
        store.link_pilot(idea.id, pilot.slug)
    except Exception:
        shutil.rmtree(pilot.path, ignore_errors=True)  # no pilot without its link back
        raise
    return pilot


def fork(settings: Settings, source_slug: str, org: str, slug: str | None = None, title: str | None = None) -> Pilot:
    """Copy a pilot for another organisation; the copy records where it came from (`forked_from`)."""
    known = {o.slug for o in settings.organisations}
    organisation = settings.organisation(org)
    source = _existing(settings, source_slug, known)
    slug = slug or f"{source.slug}-{org}"[:63].rstrip("-")
    _check_new_slug(settings, slug)
    title = title or f"{source.manifest.title} ({organisation.name})"
    with tempfile.TemporaryDirectory(prefix="proeftuin-fork-") as tmp:
        built = Path(tmp) / slug
        shutil.copytree(source.path, built, ignore=IGNORE)
        _tidy_manifest(built / MANIFEST, NOT_INHERITED, slug=slug, title=title, owner=org, participants=[],
                       stage="idee", forked_from=source.slug)
        answers_path = built / ANSWERS_FILE
        if answers_path.is_file():
            answers = yaml.safe_load(answers_path.read_text(encoding="utf-8")) or {}
            answers.update(slug=slug, title=title, owner=org)
            if "_src_path" in answers:
                answers["_src_path"] = f"templates/{source.manifest.template}"
            _write_answers(answers_path, answers)
        base = read_base(built)
        if base is not None and MANIFEST in base:
            # The template rendered with the fork's answers would say this slug, title and owner: so these
            # are not the fork's own edits, and a later update must not see them as such.
            base[MANIFEST] = _dump_manifest(base[MANIFEST], slug=slug, title=title, owner=org)
            write_base(built, source.manifest.template, base)
        return _install(settings, built, slug)


def _write_answers(path: Path, answers: dict[str, Any]) -> None:
    header = ("# Aangemaakt door `proeftuin new`; `proeftuin update` gebruikt deze antwoorden. "
              "Niet met de hand aanpassen.\n")
    path.write_text(header + yaml.safe_dump(answers, allow_unicode=True, sort_keys=False), encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# The template base: the template's files as the pilot last took them (what `update` merges against)
# --------------------------------------------------------------------------------------------------

BASE_FILE = ".template-base.json"
BACKUP_DIR = ".proeftuin-update-backup"
CONFLICT_SUFFIX = ".conflict"
BASE_NOTE = ("Zo zagen de bestanden van het sjabloon eruit toen deze pilot ze het laatst overnam. "
             "`proeftuin update` vergelijkt ermee om jouw eigen aanpassingen te bewaren. Niet aanpassen.")


def _owned(name: str) -> bool:
    """Files the pilot owns once made: update adds them when missing but never changes them."""
    return name in PILOT_OWNED or name == BASE_FILE or (
        name.startswith("data/") and not name.endswith((".md", ".txt")))


def _files(root: Path) -> dict[str, Path]:
    skip = {"__pycache__", ".ipynb_checkpoints", BACKUP_DIR}
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
            if p.is_file() and not skip.intersection(p.relative_to(root).parts)}


def _template_text(root: Path) -> dict[str, str]:
    """The files of a fresh render that `update` merges (text only; data and lessons are the pilot's)."""
    found = {}
    for name, path in _files(root).items():
        if _owned(name) or name.endswith(CONFLICT_SUFFIX):
            continue
        try:
            found[name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # a binary file: added when missing, otherwise left alone
    return found


def _base_json(template: str, files: dict[str, str]) -> str:
    payload = {"uitleg": BASE_NOTE, "template": template, "files": dict(sorted(files.items()))}
    return json.dumps(payload, ensure_ascii=False, indent=1) + "\n"


def write_base(folder: Path, template: str, files: dict[str, str]) -> None:
    _write_atomic(folder / BASE_FILE, _base_json(template, files))


def read_base(folder: Path) -> dict[str, str] | None:
    path = folder / BASE_FILE
    if not path.is_file():
        return None
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        if isinstance(files, dict) and all(isinstance(v, str) for v in files.values()):
            return files
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        pass
    raise ProeftuinError(f"{path} is beschadigd: de pilot weet niet meer welke sjabloonversie hij had.",
                         f"Haal het bestand terug uit git (git checkout -- {path}) of verwijder het; dan neemt "
                         "de volgende update de huidige sjabloonversie als vertrekpunt en verandert hij geen "
                         "bestanden die van het sjabloon verschillen.")


def _write_atomic(path: Path, content: str | bytes) -> None:
    """Write a pilot's file through proeftuin.files (old content until the rename, its mode kept), making its
    folder when needed and removing the bytecode of a replaced .py file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, content)
    if path.suffix == ".py":  # never let a stale bytecode cache stand in for the new source
        for cached in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
            cached.unlink(missing_ok=True)
