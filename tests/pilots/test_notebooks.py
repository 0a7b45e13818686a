"""Every pilot's exploration notebook executes top to bottom in a real kernel."""

from __future__ import annotations

import os

import nbformat
import pytest
from conftest import PILOTS
from nbclient import NotebookClient

NOTEBOOKS = sorted(PILOTS.glob("*/notebook.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.parent.name for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    monkeypatch.setenv("PROEFTUIN_MAX_ROWS", "300")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type == "display_data" and "image/png" in o.get("data", {}) for o in outputs), "no plot shown"


def test_at_least_one_notebook():
    assert NOTEBOOKS and os.path.getsize(NOTEBOOKS[0]) > 0
