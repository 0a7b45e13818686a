"""The hub: JupyterHub's configuration, the platform supervisor, sign-on, spawner, fork server and services.

`proeftuin.hub` itself imports nothing: the fork server and the notebook servers import single modules of
this package and must stay light. The names of `proeftuin.hub.context` (the old `proeftuin.hub` module)
are still reachable here, loaded on first use.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    if (Path(__file__).parent / f"{name}.py").is_file():  # `from proeftuin.hub import limits`: only that module
        return importlib.import_module(f"{__name__}.{name}")
    context = importlib.import_module("proeftuin.hub.context")
    try:
        return getattr(context, name)
    except AttributeError:
        raise AttributeError(f"module 'proeftuin.hub' has no attribute {name!r}") from None
