"""The lifecycle: idee -> experiment -> pilot -> opschalen, and gestopt from any stage.

The manifest's `history` is the record; `stage` must be where the history ends. `consistency` finds a
manifest edited by hand into a state its history does not explain (what `proeftuin validate` reports),
and `write_sections` changes the manifest's governance sections only, keeping the rest as written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from proeftuin.errors import ManifestError, ProeftuinError
from proeftuin.files import write_atomic
from proeftuin.pilot import MANIFEST, Manifest, load_manifest

ORDER = ("idee", "experiment", "pilot", "opschalen")
STOPPED = "gestopt"
STAGES = (*ORDER, STOPPED)


def next_stage(stage: str) -> str | None:
    if stage == STOPPED or stage == ORDER[-1]:
        return None
    return ORDER[ORDER.index(stage) + 1]


def check_target(current: str, target: str) -> None:
    """A clear Dutch error for an unknown stage, a skipped stage, a step back or a stopped pilot."""
    if target not in STAGES:
        raise ProeftuinError(f"Onbekende fase '{target}'.", f"De fasen zijn: {', '.join(STAGES)}.")
    if current == STOPPED:
        raise ProeftuinError("Deze pilot is gestopt; een gestopte pilot gaat niet meer verder.",
                             "Begin opnieuw met een nieuwe pilot: proeftuin new --from <pilot> --org <organisatie>.")
    if target == STOPPED:
        return
    if target == current:
        raise ProeftuinError(f"De pilot staat al in fase '{current}'.",
                             f"De volgende fase is '{next_stage(current)}'." if next_stage(current) else
                             "Dit is de laatste fase.")
    if ORDER.index(target) < ORDER.index(current):
        raise ProeftuinError(f"Terug van '{current}' naar '{target}' kan niet.",
                             "Stop de pilot (--to gestopt) en begin opnieuw als het anders moet.")
    expected = next_stage(current)
    if target != expected:
        raise ProeftuinError(f"Een fase overslaan kan niet: na '{current}' komt '{expected}', niet '{target}'.",
                             f"Promoveer eerst naar '{expected}': proeftuin promote <pilot> --to {expected}")


def consistency(m: Manifest) -> list[str]:
    """Problems with the stage and history (empty when the history explains the stage)."""
    problems = []
    current = "idee"
    for i, change in enumerate(m.history):
        if change.previous != current:
            problems.append(f"history.{i}: begint bij '{change.previous}', maar de fase was toen '{current}'")
        elif current == STOPPED:
            problems.append(f"history.{i}: de pilot was al gestopt")
        elif change.stage != STOPPED and change.stage != next_stage(current):
            problems.append(f"history.{i}: van '{current}' naar '{change.stage}' slaat een fase over")
        elif change.stage == STOPPED and len(change.reason.strip()) < 5:
            problems.append(f"history.{i}: gestopt zonder reden")
        current = change.stage
    if m.stage != current:
        hint = "de geschiedenis is leeg" if not m.history else f"de geschiedenis eindigt bij '{current}'"
        problems.append(f"stage: '{m.stage}' past niet bij history ({hint}); een fase verandert alleen met "
                        f"`proeftuin promote`")
    return problems


_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*):")


def _replace_top_level(text: str, key: str, block: str | None) -> str:
    """`text` with the top-level `key:` block replaced by `block` (appended when absent, removed when None)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if (m := _TOP_KEY.match(line)) and m.group(1) == key), None)
    if start is None:
        if block is None:
            return text
        return text + ("" if not text or text.endswith("\n") else "\n") + block
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"
                                 or lines[end].startswith(("- ", "-\n"))):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():  # keep the blank lines between sections
        end -= 1
    return "".join(lines[:start]) + (block or "") + "".join(lines[end:])


def dump_section(key: str, value: Any) -> str:
    return yaml.safe_dump({key: value}, allow_unicode=True, sort_keys=False, width=110)


def write_sections(folder: Path, changes: dict[str, Any], known_organisations: set[str] | None = None) -> Manifest:
    """Change top-level sections of pilot.yaml (None removes one); validated first, written atomically.

    Comments and the layout of every other section stay as the owner wrote them. When the result would
    not validate, nothing is written and the error names the problem.
    """
    path = folder / MANIFEST
    text = path.read_text(encoding="utf-8")
    for key, value in changes.items():
        text = _replace_top_level(text, key, None if value is None else dump_section(key, value))
    scratch = path.with_name(f".{MANIFEST}.check")
    try:
        scratch.write_text(text, encoding="utf-8")
        try:
            manifest = load_manifest(scratch, known_organisations)
        except ManifestError as exc:
            raise ManifestError(str(path), exc.problems) from None
    finally:
        scratch.unlink(missing_ok=True)
    write_atomic(path, text)
    return manifest
