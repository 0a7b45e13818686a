from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

from proeftuin.errors import ConfigError
from proeftuin.settings import load_settings


def test_embedded_defaults_list_the_fifteen_organisations(fresh_store: Path):
    settings = load_settings(ROOT / "proeftuin.yaml")
    kinds = {o.slug: o.kind for o in settings.organisations}
    assert len(kinds) == 15
    assert kinds["kortrijk"] == "stad" and kinds["anzegem"] == "gemeente"
    assert kinds["leiedal"] == kinds["w13"] == "regionale organisatie"
    assert settings.host == "127.0.0.1"


def test_state_folder_follows_proeftuin_home_and_holds_the_store(fresh_store: Path):
    settings = load_settings(ROOT / "proeftuin.yaml")
    assert settings.state_dir == fresh_store
    assert settings.backend_store_uri == f"sqlite:///{fresh_store / 'mlflow' / 'mlflow.db'}"
    assert settings.artifact_root.startswith(f"file://{fresh_store}")
    settings.ensure_state_dir()
    assert (fresh_store.stat().st_mode & 0o777) == 0o700


def test_default_state_folder_is_inside_the_project(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PROEFTUIN_HOME")
    assert load_settings(ROOT / "proeftuin.yaml").state_dir == ROOT / ".proeftuin"


def test_typo_in_config_names_the_field(tmp_path: Path):
    config = tmp_path / "proeftuin.yaml"
    config.write_text((ROOT / "proeftuin.yaml").read_text().replace("host:", "hots:"))
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert "hots" in str(err.value) and str(config) in str(err.value)


def test_unknown_organisation_lists_the_known_ones():
    settings = load_settings(ROOT / "proeftuin.yaml")
    with pytest.raises(ConfigError) as err:
        settings.organisation("brugge")
    assert "brugge" in str(err.value) and "kortrijk" in str(err.value)


def test_proeftuin_sends_no_usage_data_unless_an_administrator_allows_it():
    """MLflow and Gradio report usage to their makers by default; any process that imports proeftuin does not."""
    import os
    import subprocess
    import sys

    probe = ("import proeftuin.tracking, proeftuin.gallery\n"
             "from mlflow.environment_variables import MLFLOW_DISABLE_TELEMETRY\n"
             "from gradio.analytics import analytics_enabled\n"
             "print(MLFLOW_DISABLE_TELEMETRY.get(), analytics_enabled())")
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLFLOW_DISABLE_TELEMETRY", "GRADIO_ANALYTICS_ENABLED", "DO_NOT_TRACK")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]
    allowed = {**env, "MLFLOW_DISABLE_TELEMETRY": "false", "GRADIO_ANALYTICS_ENABLED": "True"}
    out = subprocess.run([sys.executable, "-c", probe], env=allowed, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
