"""`proeftuin --help` (and a command's --help) answers without loading the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "mlflow", "sklearn", "gradio", "torch", "transformers", "jupyterhub", "mkdocs")
PROBE = """
import sys
from click.testing import CliRunner
from proeftuin.cli import cli
result = CliRunner().invoke(cli, sys.argv[1:], prog_name="proeftuin")
assert result.exit_code == 0, result.output
print(" ".join(sorted(m for m in {heavy!r} if m in sys.modules)) or "-")
"""


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["docs", "--help"], ["scrub", "--help"]])
def test_help_loads_no_heavy_library(args):
    result = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "-", f"`proeftuin {' '.join(args)}` laadt {result.stdout.strip()}"
