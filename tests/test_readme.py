"""The README shows every command with its options, and every pilot, as the code has them today."""

from __future__ import annotations

import pytest
from readme_tables import README, TABLES, section


@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_readme_table_is_what_the_code_says(name):
    shown = section(README.read_text(encoding="utf-8"), name)
    assert shown is not None, f"README.md mist <!-- {name}:start --> ... <!-- {name}:end -->"
    assert shown == TABLES[name](), (
        f"De tabel '{name}' in README.md loopt achter op de code: draai `python tests/readme_tables.py` en kijk "
        "het verschil na.")


def test_every_command_and_pilot_has_a_row():
    text = README.read_text(encoding="utf-8")
    commands = section(text, "commands")
    for needle in ("`proeftuin run <slug>", "`proeftuin docs build", "`proeftuin up", "[--baseline]"):
        assert needle in commands
    pilots = section(text, "pilots")
    for slug in ("vragenrouter", "kennisbank", "ebox-besparing", "digitale-maturiteit"):
        assert f"`{slug}`" in pilots
