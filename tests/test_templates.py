"""Templates render a complete pilot for every option combination; forks keep their provenance."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from conftest import ROOT
from proeftuin.pilot import load_pilot

TEMPLATES = sorted(p.parent.name for p in (ROOT / "templates").glob("*/copier.yml"))
TINY = {"text-classification": ["max_rows=300"], "survey-profiles": ["max_rows=300"],
        "retrieval-qa": ["max_rows=300"]}


def _combinations(template: str) -> list[dict[str, bool]]:
    questions = yaml.safe_load((ROOT / "templates" / template / "copier.yml").read_text(encoding="utf-8"))
    flags = sorted(k for k, v in questions.items() if not k.startswith("_") and v.get("type") == "bool")
    return [dict(zip(flags, values)) for values in itertools.product([True, False], repeat=len(flags))]


CASES = [(t, combo) for t in TEMPLATES for combo in _combinations(t)]


def _ids(case) -> str:
    template, combo = case
    return "-".join([template, *[f"{k}={'ja' if v else 'nee'}" for k, v in combo.items()]])


@pytest.fixture
def empty_pilots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "pilots"
    target.mkdir()
    monkeypatch.setenv("PROEFTUIN_PILOTS_DIR", str(target))
    return target


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_template_renders_a_pilot_that_validates_runs_and_demos(case, run_cli, empty_pilots):
    template, combo = case
    options = [arg for k, v in combo.items() for arg in ("--option", f"{k}={str(v).lower()}")]
    made = run_cli.json("new", "--template", template, "--org", "kortrijk", "--title", "Proef met één sjabloon",
                        "--slug", "proef", *options)
    folder = Path(made["path"])
    assert folder == empty_pilots / "proef"
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in {".py", ".yaml", ".yml", ".md", ".ipynb", ".txt", ".csv"}:
            text = path.read_text(encoding="utf-8")
            assert "{{" not in text and "{%" not in text, f"placeholder left in {path.name}"
    pilot = load_pilot(folder, {"kortrijk"})
    assert pilot.manifest.template == template and pilot.manifest.owner == "kortrijk"
    assert pilot.manifest.title == "Proef met één sjabloon"
    run_cli("validate")

    params = [arg for p in TINY.get(template, []) for arg in ("--param", p)]
    result = run_cli.json("run", "proef", *params)
    assert result["champion"] is True
    has_baseline = callable(getattr(pilot.pipeline(), "train_baseline", None))
    assert has_baseline == combo.get("with_baseline", has_baseline)

    sys.path.insert(0, str(folder))
    try:
        import demo  # noqa: PLC0415 (the rendered pilot's module)

        from proeftuin.models import load_model

        blocks = demo.build_demo(load_model("models:/proef@champion"))
        assert "predict" in {d.api_name for d in blocks.fns.values()}
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("demo", None)

    notebook = nbformat.read(folder / "notebook.ipynb", as_version=4)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROEFTUIN_MAX_ROWS", "300")
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]


def test_fork_records_where_it_came_from(run_cli, pilots_copy: Path):
    made = run_cli.json("new", "--from", "ebox-besparing", "--org", "menen")
    assert made["slug"] == "ebox-besparing-menen" and made["forked_from"] == "ebox-besparing"
    pilot = load_pilot(pilots_copy / "ebox-besparing-menen", {"menen"})
    assert pilot.manifest.owner == "menen" and pilot.manifest.forked_from == "ebox-besparing"
    assert pilot.manifest.title == "eBox-besparing (Menen)"
    answers = yaml.safe_load((pilot.path / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["slug"] == "ebox-besparing-menen" and answers["owner"] == "menen"
    run_cli("validate")
    assert run_cli.json("run", "ebox-besparing-menen", "--org", "menen")["champion"] is True


def test_update_keeps_own_files_and_restores_template_code(run_cli, pilots_copy: Path):
    folder = pilots_copy / "ebox-besparing"
    (folder / "LESSONS.md").write_text((folder / "LESSONS.md").read_text(encoding="utf-8") + "\nEigen les.\n",
                                       encoding="utf-8")
    original = (folder / "demo.py").read_text(encoding="utf-8")
    (folder / "demo.py").write_text(original + "\n# eigen aanpassing\n", encoding="utf-8")
    (folder / "data" / "README.md").unlink()

    report = run_cli.json("update", "ebox-besparing")
    assert report["added"] == ["data/README.md"] and report["differs"] == ["demo.py"]
    assert "LESSONS.md" in report["kept"] and "pilot.yaml" in report["kept"]
    assert "# eigen aanpassing" in (folder / "demo.py").read_text(encoding="utf-8")

    report = run_cli.json("update", "ebox-besparing", "--overwrite")
    assert report["updated"] == ["demo.py"]
    assert (folder / "demo.py").read_text(encoding="utf-8") == original
    assert "# eigen aanpassing" in (Path(report["backup"]) / "demo.py").read_text(encoding="utf-8")
    assert "Eigen les." in (folder / "LESSONS.md").read_text(encoding="utf-8")
    run_cli("validate")


@pytest.mark.parametrize(("args", "message"), [
    (["--template", "bestaat-niet", "--org", "kortrijk", "--title", "Iets"], "Onbekend sjabloon"),
    (["--template", "tabular-scenario", "--org", "parijs", "--title", "Iets"], "Onbekende organisatie"),
    (["--template", "tabular-scenario", "--org", "kortrijk", "--title", "Iets", "--slug", "ebox-besparing"],
     "bestaat al"),
    (["--template", "tabular-scenario", "--org", "kortrijk", "--title", "Iets", "--slug", "Met Spaties"],
     "geen geldige korte naam"),
    (["--from", "ebox-besparing", "--org", "kortrijk", "--slug", "vragenrouter"], "bestaat al"),
    (["--from", "onbekend", "--org", "menen"], "Onbekende pilot"),
    (["--org", "kortrijk", "--title", "Iets"], "Geef een sjabloon"),
])
def test_bad_input_says_what_to_do_and_overwrites_nothing(run_cli, pilots_copy: Path, args, message):
    before = {p: p.stat().st_mtime_ns for p in pilots_copy.rglob("*") if p.is_file()}
    result = run_cli("new", *args, code=1)
    assert message in result.stderr
    after = {p: p.stat().st_mtime_ns for p in pilots_copy.rglob("*") if p.is_file()}
    assert before == after
