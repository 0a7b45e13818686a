"""Update: a three-way merge of the template's new version into a pilot, keeping its owners' edits.

copier's own `run_update` needs the pilot inside a *clean* git repository and the template as a git
repository of its own with tagged versions (copier/_main.py: "Updating is only supported in
git-tracked subprojects", "Destination repository is dirty"). A colleague who changed pipeline.py in
a notebook has not committed anything and our templates are folders in this repository, so we do what
copier does without git: the pilot keeps the template's files as they were when it last took them
(BASE_FILE, written by proeftuin.scaffold.new); `update` renders the template again with the recorded
answers and merges per file.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from proeftuin.errors import ProeftuinError
from proeftuin.pilot import MANIFEST, load_pilot
from proeftuin.scaffold.new import (
    ANSWERS_FILE,
    BACKUP_DIR,
    BASE_FILE,
    CONFLICT_SUFFIX,
    _base_json,
    _existing,
    _files,
    _owned,
    _template_text,
    _tidy_manifest,
    _write_atomic,
    list_templates,
    read_base,
    render,
    template_path,
    template_questions,
    templates_dir,
)
from proeftuin.settings import Settings

MARK_OURS, MARK_SPLIT, MARK_THEIRS = "<<<<<<< jouw versie", "=======", ">>>>>>> nieuwe versie van het sjabloon"


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

