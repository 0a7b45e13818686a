"""The scaffold's package split: its public face, the file writer it shares, and the layer it keeps to."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import proeftuin.scaffold as scaffold
from proeftuin.pilot import families
from proeftuin.scaffold import new as scaffold_new

PUBLIC = ["ANSWERS_FILE", "BACKUP_DIR", "BASE_FILE", "BASE_NOTE", "CONFLICT_SUFFIX", "IGNORE", "MARK_OURS",
          "MARK_SPLIT", "MARK_THEIRS", "PILOT_OWNED", "Relative", "UpdateReport", "family", "fork", "list_templates",
          "merge3", "new_from_idea", "new_from_template", "read_base", "render", "slugify", "template_path",
          "template_questions", "templates_dir", "update", "write_base"]


def test_every_public_name_is_still_on_the_old_and_the_new_module():
    import proeftuin.templates

    assert proeftuin.templates is scaffold
    assert sorted(scaffold.__all__) == sorted(PUBLIC)
    assert all(hasattr(scaffold, name) for name in PUBLIC)
    assert scaffold.family is families.family and scaffold.Relative is families.Relative


def test_the_site_does_not_import_the_scaffold():
    code = "import sys, proeftuin.site; print(sorted(m for m in sys.modules if 'scaffold' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_families_follow_forked_from():
    origins = {"a": None, "a-menen": "a", "a-menen-ieper": "a-menen", "b": None, "lus": "lus"}
    assert [(r.slug, r.depth) for r in families.family("a-menen-ieper", origins)] == [
        ("a", 0), ("a-menen", 1), ("a-menen-ieper", 2)]
    assert families.family("weg", origins) == [families.Relative("weg", None, 0)]
    assert [r.slug for r in families.family("lus", origins)] == ["lus"]


def test_the_writer_makes_folders_keeps_the_mode_and_drops_stale_bytecode(tmp_path: Path):
    script = tmp_path / "pipeline.py"
    script.write_text("x = 1\n", encoding="utf-8")
    script.chmod(0o750)
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    (cache / "pipeline.cpython-311.pyc").write_bytes(b"oud")
    (cache / "demo.cpython-311.pyc").write_bytes(b"blijft")
    scaffold_new._write_atomic(script, "x = 2\n")
    assert script.read_text(encoding="utf-8") == "x = 2\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    assert [p.name for p in cache.iterdir()] == ["demo.cpython-311.pyc"]
    scaffold_new._write_atomic(tmp_path / "data" / "nieuw" / "x.bin", b"\x00\xff")
    assert (tmp_path / "data" / "nieuw" / "x.bin").read_bytes() == b"\x00\xff"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["__pycache__", "data", "pipeline.py"]  # no temp files


def test_a_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "pilot.yaml"
    target.write_text("oud\n", encoding="utf-8")

    def broken(src, dst):
        raise OSError("schijf vol")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        scaffold_new._write_atomic(target, "nieuw\n")
    assert target.read_text(encoding="utf-8") == "oud\n" and [p.name for p in tmp_path.iterdir()] == ["pilot.yaml"]
