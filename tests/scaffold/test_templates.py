"""Templates render a complete pilot for every option combination; forks keep their provenance."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import ROOT
from nbclient import NotebookClient

from proeftuin.pilot import load_pilot
from proeftuin.scaffold import merge3

TEMPLATES = sorted(p.parent.name for p in (ROOT / "templates").glob("*/copier.yml"))
TINY = {"text-classification": ["max_rows=300"], "survey-profiles": ["max_rows=300"],
        "retrieval-qa": ["max_rows=300"]}


def _combinations(template: str) -> list[dict[str, bool]]:
    questions = yaml.safe_load((ROOT / "templates" / template / "copier.yml").read_text(encoding="utf-8"))
    flags = sorted(k for k, v in questions.items() if not k.startswith("_") and v.get("type") == "bool")
    return [dict(zip(flags, values, strict=True)) for values in itertools.product([True, False], repeat=len(flags))]


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
    assert answers["_src_path"] == "templates/tabular-scenario"
    run_cli("validate")
    assert run_cli.json("run", "ebox-besparing-menen", "--org", "menen")["champion"] is True


def test_update_of_a_pilot_without_a_recorded_template_version(run_cli, pilots_copy: Path):
    """A pilot made before .template-base.json existed: nothing that differs is touched, then the base is recorded."""
    folder = pilots_copy / "ebox-besparing"
    (folder / ".template-base.json").unlink()  # as it was before its first update
    lessons = (folder / "LESSONS.md").read_text(encoding="utf-8") + "\nEigen les.\n"
    (folder / "LESSONS.md").write_text(lessons, encoding="utf-8")
    manifest = (folder / "pilot.yaml").read_bytes()
    original = (folder / "demo.py").read_text(encoding="utf-8")
    (folder / "demo.py").write_text(original + "\n# eigen aanpassing\n", encoding="utf-8")
    (folder / "data" / "README.md").unlink()

    report = run_cli.json("update", "ebox-besparing")
    assert report["added"] == ["data/README.md"] and report["differs"] == ["demo.py"]
    assert report["base_created"] is True and "LESSONS.md" in report["kept"] and "pilot.yaml" in report["kept"]
    assert "# eigen aanpassing" in (folder / "demo.py").read_text(encoding="utf-8")
    assert (folder / "pilot.yaml").read_bytes() == manifest
    assert (folder / ".template-base.json").is_file()

    report = run_cli.json("update", "ebox-besparing", "--overwrite")
    assert report["replaced"] == ["demo.py"]
    assert (folder / "demo.py").read_text(encoding="utf-8") == original
    assert "# eigen aanpassing" in (Path(report["backup"]) / "demo.py").read_text(encoding="utf-8")
    assert Path(report["backup"]).parent == folder / ".proeftuin-update-backup"
    assert (folder / "LESSONS.md").read_text(encoding="utf-8") == lessons
    assert (folder / "pilot.yaml").read_bytes() == manifest  # --overwrite never replaces the manifest
    run_cli("validate")


@pytest.fixture
def own_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_pilots: Path) -> Path:
    """A project of our own (proeftuin.yaml + a copy of templates/) whose templates a test may change."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "proeftuin.yaml", project / "proeftuin.yaml")
    shutil.copytree(ROOT / "templates", project / "templates")
    monkeypatch.setenv("PROEFTUIN_CONFIG", str(project / "proeftuin.yaml"))
    return project / "templates"


def _replace(path: Path, old: str, new: str) -> None:
    content = path.read_text(encoding="utf-8")
    assert content.count(old) == 1, f"{old!r} in {path}"
    path.write_text(content.replace(old, new), encoding="utf-8")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_update_keeps_your_edits_and_brings_the_template_change(run_cli, own_templates: Path, empty_pilots: Path):
    run_cli("new", "--template", "tabular-scenario", "--org", "kortrijk", "--title", "Proef update", "--slug", "proef")
    folder = empty_pilots / "proef"
    assert (folder / ".template-base.json").is_file()
    answers = yaml.safe_load((folder / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["_src_path"] == "templates/tabular-scenario"  # no machine path in a shared pilot
    assert run_cli.json("update", "proef")["merged"] == []  # fresh from the template: nothing to do
    fresh = run_cli.json("run", "proef")["metrics"]

    # Kortrijk edits by hand: its own number format in the demo and a parameter in the manifest; and promotes it.
    _replace(folder / "demo.py", "def _euro(value: float) -> str:", "def _euro(value: float) -> str:  # Kortrijk")
    run_cli("promote", "proef", "--reason", "klaar voor de eerste runs")
    _replace(folder / "pilot.yaml", "  forecast_horizon: 24", "  forecast_horizon: 36")
    notebook = nbformat.read(folder / "notebook.ipynb", as_version=4)  # as Jupyter saves a run notebook
    code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    code.execution_count = 1
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Proef update\n")]
    nbformat.write(notebook, folder / "notebook.ipynb")
    # Meanwhile the template improves: another line of the demo, a new parameter, a new file.
    template = own_templates / "tabular-scenario" / "template"
    _replace(template / "demo.py.jinja", "build_demo() only builds the Blocks; the gallery mounts and launches it.",
             "build_demo() only builds the Blocks (template v2).")
    _replace(template / "pilot.yaml.jinja", "  max_rows: 0\n", "  max_rows: 0\n  rounding: 2\n")
    (template / "data" / "BRONNEN.md").write_text("# Bronnen\n", encoding="utf-8")
    _replace(template / "notebook.ipynb", "# Scenario: verkennen", "# Scenario: verkennen (versie 2)")

    before = _snapshot(folder)
    dry = run_cli("update", "proef", "--dry-run")
    assert "Proefdraai: er is niets veranderd" in dry.stdout
    assert "+build_demo() only builds the Blocks (template v2)." in dry.stdout
    assert _snapshot(folder) == before

    report = run_cli.json("update", "proef")
    assert report["added"] == ["data/BRONNEN.md"]
    assert sorted(report["merged"]) == ["demo.py", "notebook.ipynb", "pilot.yaml"]
    assert report["conflicts"] == {} and report["backup"] is None
    demo = (folder / "demo.py").read_text(encoding="utf-8")
    assert "def _euro(value: float) -> str:  # Kortrijk" in demo and "(template v2)" in demo
    manifest = yaml.safe_load((folder / "pilot.yaml").read_text(encoding="utf-8"))
    assert manifest["stage"] == "experiment" and manifest["parameters"]["forecast_horizon"] == 36
    assert [change["stage"] for change in manifest["history"]] == ["experiment"]  # the lifecycle is the pilot's own
    assert manifest["parameters"]["rounding"] == 2
    notebook = nbformat.read(folder / "notebook.ipynb", as_version=4)
    assert notebook.cells[0].source.startswith("# Scenario: verkennen (versie 2)")
    assert [o.text for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs] == ["Proef update\n"]
    run_cli("validate")
    updated = run_cli.json("run", "proef")["metrics"]  # same pipeline and data: the same results as before
    for name in ("forecast_mae", "yearly_saving_eur", "forecast_activation_12m"):
        assert updated[name] == pytest.approx(fresh[name]), name

    again = run_cli("update", "proef")
    assert "er is niets te veranderen" in again.stdout and "demo.py" in again.stdout  # your edits stay
    assert (folder / "demo.py").read_text(encoding="utf-8") == demo


def test_update_conflict_keeps_your_file_and_says_what_to_do(run_cli, own_templates: Path, empty_pilots: Path):
    run_cli("new", "--template", "tabular-scenario", "--org", "kortrijk", "--title", "Proef conflict",
            "--slug", "proef")
    folder = empty_pilots / "proef"
    _replace(folder / "pipeline.py", "HERE = Path(__file__).parent\n", "HERE = Path(__file__).parent  # eigen\n")
    notebook = json.loads((folder / "notebook.ipynb").read_text(encoding="utf-8"))
    notebook["cells"][0]["source"][0] = "# Scenario: onze eigen verkenning\n"
    (folder / "notebook.ipynb").write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    template = own_templates / "tabular-scenario" / "template"
    _replace(template / "pipeline.py.jinja", "HERE = Path(__file__).parent\n",
             "HERE = Path(__file__).resolve().parent\n")
    _replace(template / "pipeline.py.jinja", "def load_data(params: dict) -> pd.DataFrame:",
             "def load_data(params: dict) -> pd.DataFrame:  # v2")
    _replace(template / "notebook.ipynb", "# Scenario: verkennen", "# Scenario: verkennen (versie 2)")
    before = _snapshot(folder)

    result = run_cli("update", "proef", code=1)
    assert "Conflict in pipeline.py" in result.stdout and "<<<<<<< jouw versie" in result.stdout
    assert "Conflict in notebook.ipynb" in result.stdout and "notebook.sjabloon.ipynb" in result.stdout
    assert "conflict" in result.stderr
    after = _snapshot(folder)
    assert after["pipeline.py"] == before["pipeline.py"] and after["notebook.ipynb"] == before["notebook.ipynb"]
    merged = (folder / "pipeline.py.conflict").read_text(encoding="utf-8")
    assert "<<<<<<< jouw versie\nHERE = Path(__file__).parent  # eigen\n=======\n" in merged
    assert "HERE = Path(__file__).resolve().parent\n>>>>>>> nieuwe versie van het sjabloon" in merged
    assert "# v2" in merged  # the template's other change in that file is in it too
    assert "(versie 2)" in (folder / "notebook.sjabloon.ipynb").read_text(encoding="utf-8")
    run_cli("validate")  # the pilot still works as it was

    refused = run_cli("update", "proef", code=1)
    assert "pipeline.py.conflict" in refused.stderr and "Er is niets veranderd" in refused.stderr

    # Resolve as the message says: keep a mix, save it as pipeline.py, remove the conflict files.
    resolved = merged.replace("<<<<<<< jouw versie\nHERE = Path(__file__).parent  # eigen\n=======\n", "")
    resolved = resolved.replace("HERE = Path(__file__).resolve().parent\n>>>>>>> nieuwe versie van het sjabloon\n",
                                "HERE = Path(__file__).resolve().parent  # eigen\n")
    (folder / "pipeline.py").write_text(resolved, encoding="utf-8")
    (folder / "pipeline.py.conflict").unlink()
    (folder / "notebook.sjabloon.ipynb").unlink()
    report = run_cli.json("update", "proef")
    assert report["conflicts"] == {} and (folder / "pipeline.py").read_text(encoding="utf-8") == resolved
    run_cli("validate")


def test_update_puts_everything_back_when_the_result_would_not_load(run_cli, own_templates: Path,
                                                                    empty_pilots: Path):
    run_cli("new", "--template", "tabular-scenario", "--org", "kortrijk", "--title", "Proef terug", "--slug", "proef")
    folder = empty_pilots / "proef"
    _replace(folder / "demo.py", "def _euro(value: float) -> str:", "def _euro(value: float) -> str:  # eigen")
    template = own_templates / "tabular-scenario" / "template"
    _replace(template / "pipeline.py.jinja", "HERE = Path(__file__).parent\n",
             "HERE = Path(__file__).parent\nimport een_module_die_niet_bestaat  # noqa\n")
    _replace(template / "demo.py.jinja", "build_demo() only builds the Blocks; the gallery mounts and launches it.",
             "build_demo() only builds the Blocks (template v2).")
    before = _snapshot(folder)
    result = run_cli("update", "proef", code=1)
    assert "niet meer werken" in result.stderr and "Alles is teruggezet" in result.stderr
    assert "--dry-run" in result.stderr
    assert _snapshot(folder) == before


def test_fork_is_updated_with_its_own_answers(run_cli, own_templates: Path, empty_pilots: Path):
    run_cli("new", "--template", "tabular-scenario", "--org", "kortrijk", "--title", "Proef", "--slug", "proef")
    run_cli("new", "--from", "proef", "--org", "menen")
    fork = empty_pilots / "proef-menen"
    _replace(fork / "pilot.yaml", "participants: []", "participants:\n- wervik")
    template = own_templates / "tabular-scenario" / "template"
    _replace(template / "demo.py.jinja", "build_demo() only builds the Blocks; the gallery mounts and launches it.",
             "build_demo() only builds the Blocks (template v2).")
    report = run_cli.json("update", "proef-menen")
    assert report["conflicts"] == {} and "demo.py" in report["updated"]
    demo = (fork / "demo.py").read_text(encoding="utf-8")
    assert "(template v2)" in demo and 'TITLE = "Proef (Menen)"' in demo  # its own title arrives too
    manifest = load_pilot(fork, {"menen", "wervik"}).manifest
    assert manifest.forked_from == "proef" and manifest.owner == "menen" and manifest.participants == ["wervik"]
    assert manifest.title == "Proef (Menen)"
    assert "(template v2)" not in (empty_pilots / "proef" / "demo.py").read_text(encoding="utf-8")


def test_three_way_merge():
    base = "a\nb\nc\nd\ne\n"
    assert merge3("a\nB\nc\nd\ne\n", base, "a\nb\nc\nd\nE\n") == ("a\nB\nc\nd\nE\n", 0)
    assert merge3("a\nB\nc\nd\ne\n", base, "a\nB\nc\nd\ne\n") == ("a\nB\nc\nd\ne\n", 0)  # same change once
    assert merge3("a\nc\nd\ne\n", base, "a\nb\nc\nd\ne\nf\n") == ("a\nc\nd\ne\nf\n", 0)
    text, conflicts = merge3("a\nX\nc\nd\ne\n", base, "a\nY\nc\nd\ne\n")
    assert conflicts == 1 and text == ("a\n<<<<<<< jouw versie\nX\n=======\nY\n"
                                       ">>>>>>> nieuwe versie van het sjabloon\nc\nd\ne\n")


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
    (["--template", "tabular-scenario", "--title", "Iets"], "Geef de organisatie"),
    (["--template", "tabular-scenario", "--org", "kortrijk", "--title", "ab"], "minstens 3 tekens"),
    (["--template", "tabular-scenario", "--org", "kortrijk", "--title", "Iets", "--option", "onbekend=1"],
     "kent de optie"),
    (["--template", "tabular-scenario", "--org", "kortrijk", "--title", "Iets", "--option", "with_baseline"],
     "sleutel=waarde"),
    (["--from", "ebox-besparing", "--org", "parijs"], "Onbekende organisatie"),
    (["--from", "ebox-besparing", "--template", "tabular-scenario", "--org", "menen"], "niet allebei"),
    (["--from", "../pilots/ebox-besparing", "--org", "menen"], "Onbekende pilot"),
    (["--from", "ebox-besparing", "--org", "menen", "--slug", "ebox-besparing"], "bestaat al"),
])
def test_bad_input_says_what_to_do_and_overwrites_nothing(run_cli, pilots_copy: Path, args, message):
    before = {p: p.stat().st_mtime_ns for p in pilots_copy.rglob("*") if p.is_file()}
    result = run_cli("new", *args, code=1)
    assert message in result.stderr and "\n→ " in result.stderr  # what is wrong, then what to do
    assert "Traceback" not in result.stderr
    after = {p: p.stat().st_mtime_ns for p in pilots_copy.rglob("*") if p.is_file()}
    assert before == after


def test_forking_twice_for_the_same_organisation_keeps_the_first_fork(run_cli, pilots_copy: Path):
    run_cli("new", "--from", "ebox-besparing", "--org", "menen")
    fork = pilots_copy / "ebox-besparing-menen"
    (fork / "LESSONS.md").write_text((fork / "LESSONS.md").read_text(encoding="utf-8") + "\nMenen leerde iets.\n",
                                     encoding="utf-8")
    before = _snapshot(pilots_copy)
    result = run_cli("new", "--from", "ebox-besparing", "--org", "menen", code=1)
    assert "bestaat al" in result.stderr and "--slug" in result.stderr
    assert _snapshot(pilots_copy) == before


def _break_base(folder: Path) -> None:
    (folder / ".template-base.json").write_text("{niet: json", encoding="utf-8")


@pytest.mark.parametrize(("slug", "damage", "message"), [
    ("bestaat-niet", None, "Onbekende pilot"),
    ("../pilots/proef", None, "Onbekende pilot"),
    ("vragenrouter", None, "niet uit een sjabloon gemaakt"),
    ("proef", "template", "bestaat niet (meer)"),
    ("proef", "base", "beschadigd"),
    ("proef", "answers", "onleesbaar"),
])
def test_update_bad_input_says_what_to_do_and_changes_nothing(run_cli, own_templates: Path, empty_pilots: Path,
                                                              slug, damage, message):
    shutil.copytree(ROOT / "pilots" / "vragenrouter", empty_pilots / "vragenrouter", copy_function=os.symlink,
                    ignore=shutil.ignore_patterns("__pycache__"))
    run_cli("new", "--template", "tabular-scenario", "--org", "kortrijk", "--title", "Proef", "--slug", "proef")
    folder = empty_pilots / "proef"
    if damage == "template":
        shutil.rmtree(own_templates / "tabular-scenario")
    elif damage == "base":
        _break_base(folder)
    elif damage == "answers":
        (folder / ".copier-answers.yml").write_text("slug: [niet af\n", encoding="utf-8")
    before = _snapshot(empty_pilots)
    result = run_cli("update", slug, code=1)
    assert message in result.stderr and "\n→ " in result.stderr and "Traceback" not in result.stderr
    assert _snapshot(empty_pilots) == before
