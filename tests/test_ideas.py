"""Ideas: the store (scrubbing, "wij ook" once per organisation, refusals that store nothing) and the CLI
(`proeftuin idea list`, `proeftuin new --from-idea`), driven as a user would against real files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from proeftuin.ideas import IdeaError, IdeaStore, ideas_path
from proeftuin.settings import get_settings

ORGS = {"kortrijk", "menen", "waregem", "zwevegem"}
QUESTION = ("Kunnen we meldingen over sluikstort automatisch naar de juiste ploeg sturen? "
            "Jan Peeters belde hierover op 0470 12 34 56.")


def _store(state: Path) -> IdeaStore:
    return IdeaStore(get_settings(), ORGS)  # get_settings: PROEFTUIN_HOME is the test's state folder


def _propose(store: IdeaStore, **changes):
    fields = dict(author="an", organisation="kortrijk", question=QUESTION, asked_by="het contactcenter",
                  service="Omgeving", data_available="een export van de meldingen", personal_data=True,
                  impact="sneller opruimen")
    return store.add(**{**fields, **changes})


# -- the store -------------------------------------------------------------------------------------------


def test_free_text_is_scrubbed_before_it_is_stored(fresh_store: Path):
    idea = _propose(_store(fresh_store))
    raw = b"".join(f.read_bytes() for f in ideas_path(fresh_store).parent.iterdir())  # database, WAL, if any
    assert "Peeters" not in idea.question and "0470" not in idea.question
    assert b"Peeters" not in raw and b"0470 12 34 56" not in raw
    assert idea.question.startswith("Kunnen we meldingen") and idea.stage == "idee" and idea.pilot is None


def test_wij_ook_counts_once_per_organisation(fresh_store: Path):
    store = _store(fresh_store)
    idea = _propose(store)
    assert store.support(idea.id, organisation="menen", author="bram") is True
    assert store.support(idea.id, organisation="menen", author="carla") is False  # same organisation, other person
    assert store.support(idea.id, organisation="waregem", author="dirk") is True
    assert store.get(idea.id).supporters == ["menen", "waregem"]
    with pytest.raises(IdeaError, match="eigen organisatie"):
        store.support(idea.id, organisation="kortrijk", author="an")
    assert store.get(idea.id).supporters == ["menen", "waregem"]


@pytest.mark.parametrize("changes, message", [
    ({"question": "x" * 20_000}, "te lang"),
    ({"question": "   "}, "verplicht"),
    ({"organisation": "gent"}, "Onbekende organisatie"),
])
def test_bad_ideas_are_refused_and_nothing_is_stored(fresh_store: Path, changes, message):
    store = _store(fresh_store)
    with pytest.raises(IdeaError, match=message):
        _propose(store, **changes)
    assert store.list() == []


def test_support_from_an_unknown_organisation_is_refused(fresh_store: Path):
    store = _store(fresh_store)
    idea = _propose(store)
    with pytest.raises(IdeaError, match="Onbekende organisatie"):
        store.support(idea.id, organisation="gent", author="x")
    assert store.get(idea.id).supporters == []


# -- the CLI ---------------------------------------------------------------------------------------------


def test_every_idea_command_has_help(run_cli):
    for args in (["idea"], ["idea", "list"], ["new"]):
        out = run_cli(*args, "--help").stdout
        assert "Usage" in out or "Gebruik" in out
    assert "--from-idea" in run_cli("new", "--help").stdout


def test_idea_list_without_ideas_says_how_to_propose_one(run_cli, fresh_store: Path):
    assert "nog geen ideeën" in run_cli("idea", "list").stdout
    assert run_cli.json("idea", "list") == []
    assert not ideas_path(fresh_store).exists()  # listing creates nothing


def test_idea_list_shows_a_table_and_json(run_cli, fresh_store: Path):
    store = _store(fresh_store)
    first = _propose(store)
    second = _propose(store, organisation="menen", question="Welke vragen krijgt het onthaal het vaakst?",
                      personal_data=False)
    store.support(first.id, organisation="zwevegem", author="eva")
    out = run_cli("idea", "list").stdout
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["nr", "datum", "organisatie"]
    assert lines[1].startswith(str(second.id)) and "Menen" in lines[1]  # newest first
    assert "Kortrijk" in lines[2] and "idee" in lines[2] and " 1 " in lines[2]
    rows = run_cli.json("idea", "list")
    assert [r["id"] for r in rows] == [second.id, first.id]
    assert rows[1]["support_count"] == 1 and rows[1]["supporters"] == ["zwevegem"]
    assert rows[1]["organisation_name"] == "Kortrijk" and rows[1]["personal_data"] is True


def test_new_from_idea_makes_a_valid_pilot_linked_both_ways(run_cli, fresh_store: Path, pilots_copy: Path):
    store = _store(fresh_store)
    idea = _propose(store)
    out = run_cli.json("new", "--from-idea", str(idea.id), "--template", "text-classification",
                       "--title", "Sluikstort naar de juiste ploeg")
    assert out["slug"] == "sluikstort-naar-de-juiste-ploeg" and out["owner"] == "kortrijk" and out["idea"] == idea.id
    manifest = yaml.safe_load((pilots_copy / out["slug"] / "pilot.yaml").read_text(encoding="utf-8"))
    assert manifest["question"] == idea.question and "Peeters" not in manifest["question"]
    assert manifest["owner"] == "kortrijk" and manifest["idea"] == idea.id
    assert all(source["personal_data"] for source in manifest["data"])
    assert store.get(idea.id).pilot == out["slug"] and store.get(idea.id).stage == "experiment"
    assert f"✓ {out['slug']}" in run_cli("validate").stdout

    # the title follows from the question when --title is left out; "no personal data" keeps the template's
    # own flags (this template's example data holds personal data, so it stays marked)
    other = _propose(store, organisation="waregem", question="Welke vragen krijgt het onthaal het vaakst?",
                     personal_data=False)
    made = run_cli.json("new", "--from-idea", str(other.id), "--template", "text-classification")
    assert made["slug"] == "welke-vragen-krijgt-het-onthaal-het-vaakst" and made["personal_data"] is True
    manifest = yaml.safe_load((pilots_copy / made["slug"] / "pilot.yaml").read_text(encoding="utf-8"))
    assert manifest["title"] == "Welke vragen krijgt het onthaal het vaakst?" and manifest["owner"] == "waregem"


def test_new_from_idea_refuses_bad_input_and_writes_nothing(run_cli, fresh_store: Path, pilots_copy: Path):
    store = _store(fresh_store)
    idea = _propose(store)
    before = sorted(p.name for p in pilots_copy.iterdir())
    result = run_cli("new", "--from-idea", "99", "--template", "text-classification", code=1)
    assert "geen idee met nummer 99" in result.stderr
    result = run_cli("new", "--from-idea", str(idea.id), "--template", "geen-sjabloon", code=1)
    assert "Onbekend sjabloon 'geen-sjabloon'" in result.stderr
    result = run_cli("new", "--from-idea", str(idea.id), code=1)
    assert "--template" in result.stderr
    result = run_cli("new", "--from-idea", str(idea.id), "--template", "text-classification", "--org", "menen", code=1)
    assert "uit het idee" in result.stderr
    assert sorted(p.name for p in pilots_copy.iterdir()) == before
    assert store.get(idea.id).pilot is None

    run_cli("new", "--from-idea", str(idea.id), "--template", "text-classification", "--slug", "sluikstort")
    result = run_cli("new", "--from-idea", str(idea.id), "--template", "text-classification", "--slug", "tweede",
                     code=1)
    assert "werd al pilot 'sluikstort'" in result.stderr
    assert not (pilots_copy / "tweede").exists()


def test_new_from_idea_without_any_ideas_is_a_clear_error(run_cli, fresh_store: Path, pilots_copy: Path):
    result = run_cli("new", "--from-idea", "1", "--template", "text-classification", code=1)
    assert "geen idee met nummer 1" in result.stderr and "Een vraag voorstellen" in result.stderr
    assert not ideas_path(fresh_store).exists()
    assert get_settings().pilots_dir == pilots_copy
