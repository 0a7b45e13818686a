"""New pilots from copier templates, forks of a pilot for another organisation, and template updates.

The public face of the scaffold (`proeftuin new`, `proeftuin new --from`, `proeftuin update`; the old
name `proeftuin.templates` is this module): every name below is importable from here as before.

- `proeftuin.scaffold.new`: render a template, `new_from_template`, `new_from_idea`, `fork`, and the
  template base (the template's files as the pilot last took them);
- `proeftuin.scaffold.update`: the three-way `update` (`merge3`), so what the pilot's owners changed is
  never lost;
- `proeftuin.pilot.families`: `family`, the family tree that the `forked_from` of forks make (the docs
  and `compare --family` show it), re-exported here.

Code that replaces one of these functions (a test's monkeypatch) patches it in the submodule that
defines it: `update` finds `render` in `proeftuin.scaffold.new`, for example, not here.
"""

from __future__ import annotations

from proeftuin.pilot.families import Relative, family
from proeftuin.scaffold.new import (
    ANSWERS_FILE,
    BACKUP_DIR,
    BASE_FILE,
    BASE_NOTE,
    CONFLICT_SUFFIX,
    IGNORE,
    PILOT_OWNED,
    fork,
    list_templates,
    new_from_idea,
    new_from_template,
    read_base,
    render,
    slugify,
    template_path,
    template_questions,
    templates_dir,
    write_base,
)
from proeftuin.scaffold.update import (
    MARK_OURS,
    MARK_SPLIT,
    MARK_THEIRS,
    UpdateReport,
    merge3,
    update,
)

__all__ = [
    "ANSWERS_FILE",
    "BACKUP_DIR",
    "BASE_FILE",
    "BASE_NOTE",
    "CONFLICT_SUFFIX",
    "IGNORE",
    "MARK_OURS",
    "MARK_SPLIT",
    "MARK_THEIRS",
    "PILOT_OWNED",
    "Relative",
    "UpdateReport",
    "family",
    "fork",
    "list_templates",
    "merge3",
    "new_from_idea",
    "new_from_template",
    "read_base",
    "render",
    "slugify",
    "template_path",
    "template_questions",
    "templates_dir",
    "update",
    "write_base",
]
