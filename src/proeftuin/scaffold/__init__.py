"""New pilots from copier templates, forks of a pilot for another organisation, and template updates.

Every command first builds the new pilot in a temporary folder, validates it (manifest, contract
files, pipeline import) and only then moves it into the pilots folder: a failure leaves nothing half
made and never overwrites an existing pilot. `update` merges the template's new version into the
pilot three ways (see the section below), so what the pilot's owners changed is never lost.
Forks record `forked_from`; `family` turns those links into the family the docs and `compare` show.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from proeftuin.errors import ProeftuinError
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


def _tidy_manifest(path: Path, **changes: Any) -> None:
    """Rewrite pilot.yaml readable (plain UTF-8, field order kept), with `changes` applied."""
    path.write_text(_dump_manifest(path.read_text(encoding="utf-8"), **changes), encoding="utf-8")


def _dump_manifest(content: str, **changes: Any) -> str:
    manifest = yaml.safe_load(content)
    manifest.update(changes)
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
        _tidy_manifest(built / MANIFEST, slug=slug, title=title, owner=org, participants=[], stage="idee",
                       forked_from=source.slug)
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
# Update: a three-way merge of the template's new version into the pilot, keeping the user's edits
# --------------------------------------------------------------------------------------------------
#
# copier's own `run_update` needs the pilot inside a *clean* git repository and the template as a git
# repository of its own with tagged versions (copier/_main.py: "Updating is only supported in
# git-tracked subprojects", "Destination repository is dirty"). A colleague who changed pipeline.py in
# a notebook has not committed anything and our templates are folders in this repository, so we do what
# copier does without git: the pilot keeps the template's files as they were when it last took them
# (BASE_FILE); `update` renders the template again with the recorded answers and merges per file.

BASE_FILE = ".template-base.json"
BACKUP_DIR = ".proeftuin-update-backup"
CONFLICT_SUFFIX = ".conflict"
MARK_OURS, MARK_SPLIT, MARK_THEIRS = "<<<<<<< jouw versie", "=======", ">>>>>>> nieuwe versie van het sjabloon"
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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.proeftuin-tmp")
    if isinstance(content, str):
        tmp.write_text(content, encoding="utf-8")
    else:
        tmp.write_bytes(content)
    if path.exists():
        shutil.copymode(path, tmp)
    os.replace(tmp, path)
    if path.suffix == ".py":  # never let a stale bytecode cache stand in for the new source
        for cached in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
            cached.unlink(missing_ok=True)


def merge3(ours: str, base: str, theirs: str) -> tuple[str, int]:
    """Line-based three-way merge (the diff3 algorithm): changes on one side are taken, the same change on
    both sides once, different changes to the same lines are a conflict shown between markers.

    Returns the merged text and the number of conflicts.
    """
    a, o, b = ours.splitlines(keepends=True), base.splitlines(keepends=True), theirs.splitlines(keepends=True)
    out: list[str] = []
    conflicts = 0
    io = ia = ib = 0
    for zo, zo_end, za, za_end, zb, zb_end in _sync_regions(o, a, b):
        chunk_o, chunk_a, chunk_b = o[io:zo], a[ia:za], b[ib:zb]
        if chunk_a or chunk_b:
            if chunk_a == chunk_b or chunk_b == chunk_o:
                out += chunk_a
            elif chunk_a == chunk_o:
                out += chunk_b
            else:
                conflicts += 1
                out += [MARK_OURS + "\n", *_closed(chunk_a), MARK_SPLIT + "\n", *_closed(chunk_b), MARK_THEIRS + "\n"]
        out += o[zo:zo_end]
        io, ia, ib = zo_end, za_end, zb_end
    return "".join(out), conflicts


def _closed(lines: list[str]) -> list[str]:
    return lines[:-1] + [lines[-1] if lines[-1].endswith("\n") else lines[-1] + "\n"] if lines else []


def _sync_regions(o: list[str], a: list[str], b: list[str]) -> list[tuple[int, int, int, int, int, int]]:
    """Stretches of the base that both sides kept unchanged, with where they sit in each side."""
    from difflib import SequenceMatcher

    a_blocks = SequenceMatcher(None, o, a, autojunk=False).get_matching_blocks()
    b_blocks = SequenceMatcher(None, o, b, autojunk=False).get_matching_blocks()
    regions = []
    i = j = 0
    while i < len(a_blocks) and j < len(b_blocks):
        a_base, a_side, a_len = a_blocks[i]
        b_base, b_side, b_len = b_blocks[j]
        start, end = max(a_base, b_base), min(a_base + a_len, b_base + b_len)
        if start < end:
            regions.append((start, end, a_side + start - a_base, a_side + end - a_base,
                            b_side + start - b_base, b_side + end - b_base))
        if a_base + a_len < b_base + b_len:
            i += 1
        else:
            j += 1
    regions.append((len(o), len(o), len(a), len(a), len(b), len(b)))
    return regions


def _still_valid(name: str, content: str) -> bool:
    """A merge that leaves Python, a notebook or YAML unreadable is treated as a conflict."""
    try:
        if name.endswith(".py"):
            compile(content, name, "exec")
        elif name.endswith((".ipynb", ".json")):
            json.loads(content)
        elif name.endswith((".yaml", ".yml")):
            yaml.safe_load(content)
    except (SyntaxError, ValueError, yaml.YAMLError):
        return False
    return True


def _conflict_file(name: str) -> str:
    """Where a conflict is written: the merge with markers, or for a notebook the template's version
    (a notebook with markers would no longer open in Jupyter)."""
    if name.endswith(".ipynb"):
        return name[: -len(".ipynb")] + ".sjabloon.ipynb"
    return name + CONFLICT_SUFFIX


@dataclass
class UpdateReport:
    """What `update` did (or, with dry_run, would do) per file, by relative path."""

    slug: str
    template: str
    dry_run: bool = False
    added: list[str] = field(default_factory=list)      # new in the template, or missing in the pilot
    updated: list[str] = field(default_factory=list)    # the template changed it, you had not: new version
    merged: list[str] = field(default_factory=list)     # you and the template changed it: both kept
    conflicts: dict[str, str] = field(default_factory=dict)  # same lines changed: file -> where both are
    yours: list[str] = field(default_factory=list)      # you changed it, the template did not: yours stays
    differs: list[str] = field(default_factory=list)    # no earlier template version known: yours stays
    replaced: list[str] = field(default_factory=list)   # --overwrite: template version, yours in the backup
    kept: list[str] = field(default_factory=list)       # the pilot's own files (lessons, data)
    deleted_by_you: list[str] = field(default_factory=list)
    removed_from_template: list[str] = field(default_factory=list)
    base_created: bool = False
    backup: str | None = None
    diffs: dict[str, str] = field(default_factory=dict)  # file -> unified diff of what changes in the pilot

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.merged or self.replaced or self.conflicts)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _diff(name: str, before: str, after: str) -> str:
    import difflib

    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        f"{name} (nu)", f"{name} (na update)"))


def update(settings: Settings, slug: str, overwrite: bool = False, dry_run: bool = False) -> UpdateReport:
    """Bring a pilot up to date with its template without losing what its owners changed.

    Per template file: unchanged by you -> the new version; unchanged by the template -> yours; changed by
    both -> merged, or a conflict: your file stays as it is and both versions go to a file next to it.
    pilot.yaml is merged the same way (never replaced); LESSONS.md and the data are never touched.
    With `overwrite`, code that differs from the template gets the template's version and yours goes to
    .proeftuin-update-backup/<time>/. If the updated pilot would no longer load, everything is put back.
    """
    known = {o.slug for o in settings.organisations}
    pilot = _existing(settings, slug, known)
    answers_path = pilot.path / ANSWERS_FILE
    if not answers_path.is_file():
        raise ProeftuinError(f"Pilot {slug} is niet uit een sjabloon gemaakt ({ANSWERS_FILE} ontbreekt), "
                             "dus er is niets om bij te werken.",
                             "Alleen pilots uit `proeftuin new --template` (of kopieën ervan) kunnen "
                             "bijgewerkt worden.")
    template = pilot.manifest.template
    if template not in list_templates(settings):
        raise ProeftuinError(f"Pilot {slug} komt uit sjabloon '{template}', maar dat sjabloon bestaat niet (meer) "
                             f"in {templates_dir(settings)}.",
                             f"Bestaande sjablonen: {', '.join(list_templates(settings)) or '(geen)'}. "
                             "Er is niets veranderd.")
    try:
        recorded = yaml.safe_load(answers_path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ProeftuinError(f"{answers_path} is onleesbaar: {exc}",
                             "Haal het bestand terug uit git; er is niets veranderd.") from exc
    questions = template_questions(settings, template)
    answers = {k: v for k, v in recorded.items() if k in questions}
    leftovers = sorted(name for name in _files(pilot.path)
                       if name.endswith((CONFLICT_SUFFIX, ".sjabloon.ipynb")))
    if leftovers and not dry_run:
        raise ProeftuinError(f"In {pilot.path} staat nog {', '.join(leftovers)} van een vorige update "
                             "(een conflict dat nog niet is afgewerkt).",
                             "Neem daaruit over wat je wil houden, verwijder het bestand en start "
                             f"`proeftuin update {slug}` opnieuw. Er is niets veranderd.")
    base = read_base(pilot.path)
    report = UpdateReport(slug=slug, template=template, dry_run=dry_run, base_created=base is None)
    writes: dict[str, str | bytes] = {}  # relative path -> new content
    with tempfile.TemporaryDirectory(prefix="proeftuin-update-") as tmp:
        fresh = Path(tmp) / slug
        render(template_path(settings, template), fresh, answers)
        _tidy_manifest(fresh / MANIFEST)
        theirs_text = _template_text(fresh)
        fresh_files = {name: path.read_bytes() for name, path in _files(fresh).items()}
    current = _files(pilot.path)
    for name, theirs_bytes in fresh_files.items():
        if name in (ANSWERS_FILE, BASE_FILE):
            continue
        mine = current.get(name)
        if mine is None:
            if base is not None and name in base and theirs_text.get(name) == base[name]:
                report.deleted_by_you.append(name)
            else:
                writes[name] = theirs_bytes
                report.added.append(name)
            continue
        if _owned(name):
            report.kept.append(name)
            continue
        mine_bytes = mine.read_bytes()
        if mine_bytes == theirs_bytes:
            continue
        theirs = theirs_text.get(name)
        try:
            ours = mine_bytes.decode("utf-8")
        except UnicodeDecodeError:
            ours = None
        if overwrite and name != MANIFEST:
            writes[name] = theirs_bytes
            report.replaced.append(name)
            continue
        old = None if base is None else base.get(name)
        if theirs is None or ours is None or old is None:
            (report.kept if name == MANIFEST else report.differs).append(name)
        elif ours == old:
            writes[name] = theirs
            report.updated.append(name)
        elif theirs == old:
            report.yours.append(name)
        else:
            merged, conflicts = merge3(ours, old, theirs)
            if conflicts == 0 and _still_valid(name, merged):
                writes[name] = merged
                report.merged.append(name)
            else:
                # As copier does, the template version counts as taken: the conflict file holds all of it,
                # and what the user keeps from it is their resolution (not offered again as a change).
                target = _conflict_file(name)
                writes[target] = theirs if target.endswith(".ipynb") else merged
                report.conflicts[name] = target
                report.diffs[name] = _diff(name, ours, writes[target])
    report.removed_from_template = sorted(n for n in (base or {}) if n not in fresh_files and n in current)
    for name, content in writes.items():
        if name in report.conflicts.values() or name in report.added:
            continue  # a conflict's diff is under its own name; an added file is all new
        after = content if isinstance(content, str) else content.decode("utf-8", "replace")
        report.diffs[name] = _diff(name, current[name].read_bytes().decode("utf-8", "replace"), after)
    if dry_run:
        return report
    writes[ANSWERS_FILE] = fresh_files[ANSWERS_FILE]
    writes[BASE_FILE] = _base_json(template, theirs_text)
    writes = {name: content for name, content in writes.items()
              if name not in current or current[name].read_bytes() != (
                  content.encode("utf-8") if isinstance(content, str) else content)}
    if writes:
        _apply(pilot.path, writes, report, known)
    return report


def _apply(folder: Path, writes: dict[str, str | bytes], report: UpdateReport,
           known: set[str]) -> None:
    """Write the update; if the pilot no longer loads afterwards, put every file back as it was."""
    import datetime as dt

    originals = {name: (folder / name).read_bytes() if (folder / name).is_file() else None for name in writes}
    if report.replaced:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = folder / BACKUP_DIR / stamp
        for name in report.replaced:
            (backup / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / name, backup / name)
        report.backup = str(backup)
    try:
        for name, content in writes.items():
            _write_atomic(folder / name, content)
        load_pilot(folder, known).pipeline()
    except Exception as exc:
        for name, content in originals.items():
            if content is None:
                (folder / name).unlink(missing_ok=True)
            else:
                _write_atomic(folder / name, content)
        problem = exc.message if isinstance(exc, ProeftuinError) else f"{type(exc).__name__}: {exc}"
        raise ProeftuinError(f"Na het bijwerken zou pilot {report.slug} niet meer werken ({problem}). "
                             "Alles is teruggezet zoals het was.",
                             f"Bekijk wat update wil veranderen met `proeftuin update {report.slug} --dry-run` "
                             "en neem het met de hand over, of vraag het datateam.") from exc


# --------------------------------------------------------------------------------------------------
# Families: a pilot, the pilot it was forked from, and the forks of it (recorded as `forked_from`)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relative:
    slug: str
    forked_from: str | None
    depth: int  # 0 for the family's origin, 1 for its forks, ...


def family(slug: str, origins: Mapping[str, str | None]) -> list[Relative]:
    """The family tree around `slug`, origin first, then depth first by slug.

    `origins` maps every known pilot to the pilot it was forked from (None for an original). A
    `forked_from` naming a pilot that no longer exists ends the line upwards; a loop is cut.
    """
    if slug not in origins:
        return [Relative(slug, None, 0)]
    root, seen = slug, {slug}
    while (parent := origins.get(root)) in origins and parent not in seen:
        seen.add(parent)
        root = parent
    children: dict[str, list[str]] = {}
    for child, parent in origins.items():
        if parent and child != root:
            children.setdefault(parent, []).append(child)
    found: list[Relative] = []
    stack = [(root, 0)]
    visited: set[str] = set()
    while stack:
        node, depth = stack.pop()
        if node in visited:
            continue
        visited.add(node)
        found.append(Relative(node, origins.get(node), depth))
        stack += [(child, depth + 1) for child in sorted(children.get(node, []), reverse=True)]
    return found

