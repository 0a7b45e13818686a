"""The demo gallery as visitors meet it: a real `proeftuin gallery` process, real Gradio, real Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from browser import chromium_page, screenshot, serious_axe_violations
from conftest import PILOTS, ROOT, free_port, wait_for
from gradio_client import Client
from playwright.sync_api import expect

TINY = ["--param", "max_rows=300"]


def _copy_pilot(target: Path, slug: str) -> Path:
    folder = target / slug
    shutil.copytree(PILOTS / "vragenrouter", folder, ignore=shutil.ignore_patterns("*.csv", "__pycache__"))
    (folder / "data" / "dekamer_2017_nl.csv").symlink_to(PILOTS / "vragenrouter" / "data" / "dekamer_2017_nl.csv")
    manifest = yaml.safe_load((folder / "pilot.yaml").read_text())
    manifest.update(slug=slug, title=f"Kopie {slug}")
    (folder / "pilot.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True))
    return folder


class TrainedPilots:
    """The pilots the galleries show and one state folder with their champions, trained once for both galleries
    (the plain one and the kiosk): a champion for vragenrouter and kapotte-demo, none for zonder-model, and an
    invalid pilot. Only the kiosk writes to the state (its feedback)."""

    def __init__(self, tmp: Path) -> None:
        self.state = tmp / "state"
        pilots = tmp / "pilots"
        pilots.mkdir()
        _copy_pilot(pilots, "vragenrouter")
        _copy_pilot(pilots, "zonder-model")
        broken = _copy_pilot(pilots, "kapotte-demo")
        invalid = pilots / "ongeldig"
        invalid.mkdir()
        (invalid / "pilot.yaml").write_text("slug: ongeldig\n")
        self.env = {**os.environ, "PROEFTUIN_HOME": str(self.state), "PROEFTUIN_PILOTS_DIR": str(pilots)}
        self.env.pop("MLFLOW_TRACKING_URI", None)
        for slug in ("vragenrouter", "kapotte-demo"):
            self.cli("run", slug, *TINY)
        (broken / "demo.py").write_text("import gradio as gr\nraise ImportError('module rekenhulp ontbreekt')\n")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "proeftuin.cli", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done


class Gallery:
    def __init__(self, tmp: Path, trained: TrainedPilots, kiosk: bool) -> None:
        self.trained = trained
        self.state, self.env = trained.state, trained.env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = ["gallery", "--port", str(self.port)] + (["--kiosk"] if kiosk else [])
        self.log = open(tmp / "gallery.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen([sys.executable, "-m", "proeftuin.cli", *args], cwd=ROOT, env=self.env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(f"{self.url}/health", self.process, timeout=180)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return self.trained.cli(*args)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()  # not left running for the tests after this module, and still an error
            self.process.wait()
            raise
        finally:
            self.log.close()


@pytest.fixture(scope="module")
def trained_pilots(tmp_path_factory):
    return TrainedPilots(tmp_path_factory.mktemp("gallery-pilots"))


@pytest.fixture(scope="module")
def gallery(tmp_path_factory, trained_pilots):
    server = Gallery(tmp_path_factory.mktemp("gallery"), trained_pilots, kiosk=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory, trained_pilots):
    server = Gallery(tmp_path_factory.mktemp("kiosk"), trained_pilots, kiosk=True)
    yield server
    server.stop()


def predict(gallery: Gallery, text: str):
    return Client(f"{gallery.url}/demo/vragenrouter/", verbose=False).predict(text, api_name="/predict")


def test_landing_page_has_a_card_per_pilot_and_keeps_serving_past_broken_ones(gallery):
    page = httpx.get(gallery.url + "/").text
    assert '<html lang="nl"' in page
    assert 'href="demo/vragenrouter/"' in page and "Probeer de demo" in page
    assert "Nog geen model" in page and "proeftuin run zonder-model" in page
    assert "De demo kon niet starten" in page and "rekenhulp" in page
    assert "Deze pilot is ongeldig" in page
    # the champion's figure in words, with the technical one beside it (Dutch notation)
    assert re.search(r"score \d+ op 100 voor de juiste dienst.*\(macro-F1 0,\d\d\)", page), page
    assert httpx.get(gallery.url + "/demo/zonder-model/").status_code == 200
    assert httpx.get(gallery.url + "/demo/kapotte-demo/").status_code == 503
    assert httpx.get(gallery.url + "/demo/bestaat-niet/").status_code == 404


def test_router_predict_api_routes_and_scrubs(gallery):
    route, top, words, seen = predict(gallery,
                                      "De treinen van de NMBS rijden met vertraging. Mail me: an.peeters@telenet.be")
    assert route.startswith(("Automatisch doorgestuurd naar:", "Naar een medewerker"))
    confidences = top["confidences"]
    assert len(confidences) == 3 and confidences[0]["confidence"] >= confidences[1]["confidence"]
    assert top["label"] == confidences[0]["label"]
    assert words and "[EMAIL]" in seen and "peeters" not in seen


def test_bad_inputs_get_a_clear_message(gallery):
    assert predict(gallery, "")[0].startswith("Typ eerst een vraag")
    long_route, _, _, seen = predict(gallery, "Wanneer komt de vuilniswagen? " * 300)
    assert "alleen de eerste 5.000" in long_route and len(seen) <= 5000
    garbage = bytes(range(256)).decode("latin-1") * 4
    assert predict(gallery, garbage)[0]
    huge = httpx.post(f"{gallery.url}/demo/vragenrouter/gradio_api/call/predict",
                      json={"data": ["x" * 2_000_000]}, timeout=30)
    assert huge.status_code == 413 and "te groot" in huge.json()["error"]
    assert predict(gallery, "Wie beslist over de pensioenen?")[1]["confidences"]  # still serving


def test_rate_limit_per_client(gallery):
    transport = httpx.HTTPTransport(local_address="127.0.0.77")
    with httpx.Client(transport=transport, timeout=30) as client:
        codes = [client.post(f"{gallery.url}/demo/vragenrouter/gradio_api/call/predict",
                             json={"data": ["Hoeveel kost de NMBS?"]}).status_code for _ in range(61)]
    assert codes[:60] == [200] * 60 and codes[60] == 429
    assert predict(gallery, "Andere bezoeker: wie regelt asiel?")[1]["confidences"]  # other clients unaffected


def test_browser_visitor_routes_an_example_and_pages_are_accessible(gallery):
    with chromium_page() as page:
        page.goto(gallery.url + "/")
        assert not serious_axe_violations(page), serious_axe_violations(page)
        page.get_by_role("link", name="Probeer de demo: Kopie vragenrouter").click()
        page.wait_for_url("**/demo/vragenrouter/")
        page.get_by_label("Vraag of melding").fill("Hoeveel militairen zijn ingezet voor de bewaking van de straten?")
        page.get_by_role("button", name="Doorsturen").click()
        decision = page.get_by_label("Beslissing")
        expect(decision).not_to_have_value("", timeout=30000)
        assert decision.input_value().startswith(("Automatisch doorgestuurd naar:", "Naar een medewerker"))
        expect(page.get_by_test_id("label")).to_contain_text(re.compile(r"[Mm]inister|Staatssecretaris"), timeout=10000)
        screenshot(page, "gallery-vragenrouter")
        violations = serious_axe_violations(page)
        assert not violations, violations


def test_kiosk_feedback_is_stored_without_text_and_exported(kiosk, tmp_path):
    with chromium_page() as page:
        page.goto(kiosk.url + "/demo/vragenrouter/")
        page.get_by_label("Vraag of melding").fill("Waar vraag ik een parkeerkaart aan? Mijn nummerplaat is 1-ABC-123.")
        page.get_by_role("button", name="Doorsturen").click()
        expect(page.get_by_label("Beslissing")).not_to_have_value("", timeout=30000)
        page.get_by_role("button", name="Ja, nuttig", exact=True).click()
        page.get_by_text("Bedankt voor je mening!").wait_for(timeout=30000)
        screenshot(page, "gallery-kiosk")
        assert not serious_axe_violations(page)
    output = tmp_path / "feedback.csv"
    kiosk.cli("feedback", "export", "--output", str(output))
    lines = output.read_text().strip().splitlines()
    assert lines[0] == "pilot,created_at,verdict,input_text"
    assert len(lines) == 2 and lines[1].startswith("vragenrouter,") and ",nuttig," in lines[1] + ","
    assert "ABC" not in output.read_text()


def test_feedback_export_without_feedback_says_what_to_do(run_cli, tmp_path):
    result = run_cli("feedback", "export", "--output", str(tmp_path / "x.csv"), code=1)
    assert "--kiosk" in result.stderr
