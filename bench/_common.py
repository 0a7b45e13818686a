"""Shared helpers for the benchmarks: the vragenrouter pilot and its standard held-out split."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from proeftuin.pilot import find_pilot  # noqa: E402
from proeftuin.runs import load_pilot_data, split  # noqa: E402
from proeftuin.settings import load_settings  # noqa: E402


def router_split(overrides: dict[str, str] | None = None):
    """The pilot, its params, and the same train/test split `proeftuin run` uses."""
    pilot = find_pilot(load_settings(ROOT / "proeftuin.yaml").pilots_dir, "vragenrouter")
    params = pilot.params(overrides)
    data = load_pilot_data(pilot, params)
    train, test = split(pilot, data, params)
    return pilot, params, train, test


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def help_if_asked(doc: str | None) -> None:
    """`-h`/`--help` on a benchmark prints its docstring (what it measures and how to run it) and exits."""
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print((doc or "").strip())
        raise SystemExit(0)
