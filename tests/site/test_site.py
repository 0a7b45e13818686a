"""The knowledge-sharing site, built for real with MkDocs Material from pilots and a real SQLite MLflow store."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml
from conftest import ROOT, free_port, wait_for

from proeftuin.site import number, sanitize_html, text

EVIL_TITLE = "<script>alert(1)</script>"
EVIL_LINK = "[x](javascript:alert(1))"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.handlers: list[str] = []  # on* attributes
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.handlers += [f"<{tag} {name}>" for name, _ in attrs if name.startswith("on")]
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")
        if values.get("id"):
            self.ids.add(values["id"])
        for name in ("href", "src"):
            if values.get(name) and tag in ("a", "img", "link", "script"):
                self.links.append(values[name])


    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data

    def inline_scripts_with(self, needle: str) -> list[str]:
        return [script for script in self.scripts if needle in script]


def parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def broken_internal_links(site: Path) -> list[str]:
    """Every relative href/src in every page must point to a file in the site (and to an id, with #)."""
    parsed = {page: parse(page) for page in site.rglob("*.html")}
    broken = []
    for page, links in parsed.items():
        if page.name == "404.html":  # MkDocs writes it with root-relative links on purpose
            continue
        for link in links.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site)} -> {link}")
            elif parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if parts.fragment not in ids:
                    broken.append(f"{page.relative_to(site)} -> {link} (anker ontbreekt)")
    return broken


def visible_text(page: Path) -> str:
    html = page.read_text(encoding="utf-8")
    article = html[html.find("<article"):html.find("</article>")]
    from html import unescape

    return " ".join(unescape(re.sub(r"<[^>]+>", " ", article)).split())


def write_pilot(pilots: Path, slug: str, **changes) -> Path:
    """A copy of the vragenrouter pilot under another slug, with manifest fields changed."""
    folder = pilots / slug
    shutil.copytree(pilots / "vragenrouter", folder, symlinks=True)
    manifest = yaml.safe_load((folder / "pilot.yaml").read_text(encoding="utf-8"))
    manifest.update(slug=slug, **changes)
    (folder / "pilot.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    return folder


# -- escaping and notation ---------------------------------------------------------------------------------


def test_manifest_text_is_inert_markdown_and_html():
    assert "<" not in text(EVIL_TITLE) and "[" not in text(EVIL_LINK) and "(" not in text(EVIL_LINK)
    assert "\n" not in text("regel een\n# kop\n<script>")


def test_numbers_use_dutch_notation():
    assert number(0.5321) == "0,53"
    assert number(3048, 0) == "3.048"
    assert number(None) == "—"
    assert number(0.00234) == "0,0023" and number(-0.0412) == "-0,041" and number(0.0) == "0,00"


def test_sanitizer_removes_script_urls_and_event_handlers():
    html = '<a href="javascript:alert(1)" onclick="x()">a</a><img src="data:text/html;base64,AA" onerror=alert(2)>'
    clean = sanitize_html(html)
    assert "javascript:" not in clean and "onclick" not in clean and "onerror" not in clean and "data:" not in clean


# -- builds ------------------------------------------------------------------------------------------------


def test_site_with_tracked_results(run_cli, tmp_path: Path):
    """Two real runs (a model for Waregem, a baseline) in the fresh SQLite store, then a real build."""
    run_cli.json("run", "vragenrouter", "--param", "max_rows=300", "--org", "waregem")
    run_cli.json("run", "vragenrouter", "--param", "max_rows=300", "--baseline")
    site = tmp_path / "site"
    docs_before = sorted(p.relative_to(ROOT) for p in (ROOT / "docs").rglob("*"))
    result = run_cli("docs", "build", "--output", str(site))
    assert "Site gebouwd" in result.stdout
    assert sorted(p.relative_to(ROOT) for p in (ROOT / "docs").rglob("*")) == docs_before, "wrote into docs/"

    page = site / "pilots" / "vragenrouter.html"
    html = page.read_text(encoding="utf-8")
    assert '<html lang="nl"' in html
    words = visible_text(page)
    for expected in ("Vraag: Naar welke dienst", "Eigenaar Kortrijk", "Doen mee Waregem, Harelbeke, Leiedal",
                     "dienstverlening", "experiment", "text-classification", "CC0-1.0", "Menselijk toezicht",
                     "Risicoklasse AI-verordening minimaal", "Beste run per organisatie", "Waregem",
                     "Wat we probeerden", "Wat werkte", "Wat niet werkte", "Volgende stap",
                     "Hergebruiken in je eigen organisatie", "Demo van deze pilot", "Alle runs in MLflow"):
        assert expected in words, expected
    assert re.search(r"macro-F1 0,\d\d", words), "the champion's metric in Dutch notation"
    assert re.search(r"macro-F1 0,\d\d: score \d+ op 100 voor de juiste dienst", words), "and in words"
    assert "gemiddeld over alle diensten: een kleine dienst telt even zwaar als een grote" in words  # explained
    assert not re.search(r"\b0\.\d\d\b", words), "numbers must use a decimal comma"
    assert 'class="pt-chart"' in html and "Baseline" in words
    for image in ("verwarringsmatrix.png", "labelverdeling.png"):
        assert (site / "pilots" / "vragenrouter" / image).stat().st_size > 1000
        assert f'src="vragenrouter/{image}"' in html
    assert "/#/experiments/" in html and "/demo/vragenrouter" in html

    organisations = visible_text(site / "overzicht" / "organisaties.html")
    for name in ("Anzegem", "Spiere-Helkijn", "W13", "Kortrijk", "Leiedal"):
        assert name in organisations
    assert "Nog geen pilot" in organisations  # organisations without a pilot are listed too
    themes = visible_text(site / "overzicht" / "themas.html")
    assert all(t in themes.lower() for t in ("regiowerking", "digitaal veilig", "informatie- en archiefbeheer",
                                             "artificiële intelligentie"))
    assert "Vragenrouter" in visible_text(site / "overzicht" / "lessen.html")
    assert "Wat is een model?" in visible_text(site / "ai-geletterdheid.html")
    assert (site / "developer" / "architecture.html").is_file()

    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert index["config"]["lang"] == ["nl"]
    assert any(doc["location"].startswith("pilots/vragenrouter.html") for doc in index["docs"])
    assert broken_internal_links(site) == []
    every_page = "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
    assert "fonts.googleapis" not in every_page and not re.search(r'<script[^>]+src="https?:', every_page)


def test_site_builds_when_the_tracking_server_is_down(run_cli, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    site = tmp_path / "site"
    run_cli("docs", "build", "--output", str(site), "--strict")
    words = visible_text(site / "pilots" / "vragenrouter.html")
    assert "Resultaten niet beschikbaar" in words and "127.0.0.1:9" in words
    assert "Wat werkte" in words  # the rest of the page is still there
    assert "Resultaten niet beschikbaar" in visible_text(site / "pilots" / "index.html")


def test_plain_mkdocs_strict_build_passes(tmp_path: Path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    mkdocs = Path(sys.executable).with_name("mkdocs")
    out = subprocess.run([str(mkdocs), "build", "--strict", "-d", str(tmp_path / "site")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "site" / "pilots" / "vragenrouter.html").is_file()


def test_default_output_is_the_state_folder(run_cli, fresh_store: Path):
    run_cli("docs", "build")
    assert (fresh_store / "site" / "index.html").is_file()
    assert not (ROOT / "docs" / "pilots").exists()


# -- bad input -------------------------------------------------------------------------------------------


def test_broken_and_hostile_pilots_get_honest_pages(run_cli, pilots_copy: Path, tmp_path: Path):
    write_pilot(pilots_copy, "kapot", theme="ruimtevaart")
    (write_pilot(pilots_copy, "zonder-lessen") / "LESSONS.md").unlink()
    hostile = write_pilot(pilots_copy, "kwaadaardig", title=EVIL_TITLE, question=f"Wat doet {EVIL_LINK} hier?",
                          human_oversight={"description": '<img src=x onerror="alert(3)"> en een mens beslist'})
    lessons = hostile / "LESSONS.md"
    hostile_lesson = "<script>alert(4)</script> [klik](javascript:alert(5))\n\nTekst{: onclick=\"alert(6)\"}\n"
    lessons.write_text(lessons.read_text(encoding="utf-8").replace("## Wat werkte", "## Wat werkte\n" + hostile_lesson),
                       encoding="utf-8")
    site = tmp_path / "site"
    run_cli("docs", "build", "--output", str(site))

    broken = visible_text(site / "pilots" / "kapot.html")
    assert "Deze pilot is onvolledig" in broken and "pilot.yaml" in broken and "theme" in broken
    assert "proeftuin validate" in broken
    no_lessons = visible_text(site / "pilots" / "zonder-lessen.html")
    assert "LESSONS.md" in no_lessons and "ontbreekt" in no_lessons and "Nog geen lessen" in no_lessons
    assert "Eigenaar Kortrijk" in no_lessons  # the card is still shown

    hostile_page = visible_text(site / "pilots" / "kwaadaardig.html")
    assert EVIL_TITLE in hostile_page and EVIL_LINK in hostile_page  # shown as written, as text
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;" in (site / "pilots" / "kwaadaardig.html").read_text()
    for page in site.rglob("*.html"):
        parsed = parse(page)
        assert not parsed.handlers, (page, parsed.handlers)
        assert not parsed.inline_scripts_with("alert"), page
        assert not [link for link in parsed.links if link.strip().lower().startswith(("javascript:", "data:"))]
    index = (site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "<script>" not in index and "<img" not in index  # Material renders search results as HTML
    assert broken_internal_links(site) == []

    failed = run_cli("docs", "build", "--output", str(tmp_path / "strict"), "--strict", code=1)
    assert "kapot" in failed.stderr and "pilot.yaml" in failed.stderr and "theme" in failed.stderr


def test_docs_inside_docs_folder_is_refused(run_cli):
    failed = run_cli("docs", "build", "--output", str(ROOT / "docs" / "site"), code=1)
    assert "docs" in failed.stderr and "--output" in failed.stderr


# -- serve -----------------------------------------------------------------------------------------------


def test_serve_binds_loopback_and_serves_the_site(tmp_path: Path, fresh_store: Path):
    port = free_port()
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    process = subprocess.Popen([sys.executable, "-m", "proeftuin.cli", "docs", "serve", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/index.html", process, timeout=180)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/pilots/vragenrouter.html", timeout=5) as response:
            assert "Vragenrouter" in response.read().decode()
        assert (fresh_store / "site" / "index.html").is_file()
    finally:
        process.terminate()
        process.wait(timeout=20)


# -- families (forks) --------------------------------------------------------------------------------------


def test_pilot_pages_show_the_family(run_cli, pilots_copy: Path, tmp_path: Path):
    """An original, a fork for Menen, a fork of that fork for Wervik, and one whose source is gone."""
    run_cli("new", "--from", "ebox-besparing", "--org", "menen")
    run_cli("new", "--from", "ebox-besparing-menen", "--org", "wervik", "--slug", "ebox-wervik")
    write_pilot(pilots_copy, "wees", forked_from="verdwenen-pilot")
    run_cli.json("run", "ebox-besparing-menen", "--org", "menen")
    site = tmp_path / "site"
    run_cli("docs", "build", "--output", str(site), "--strict")

    original = site / "pilots" / "ebox-besparing.html"
    words = visible_text(original)
    assert "Hergebruikt door eBox-besparing (Menen) (Menen)" in words
    assert "Familie" in words and "proeftuin compare ebox-besparing --family" in words
    assert "proeftuin new --from ebox-besparing --org" in words  # how to make your own copy
    assert "ebox-besparing-menen.html" in parse(original).links
    family = words[words.index("Deze pilot bestaat ook in andere organisaties"):words.index("Alle runs van de familie")]
    first, second = family.index("eBox-besparing (deze pagina) Kortrijk origineel"), family.index("(Menen) Menen")
    assert first < second
    assert family.index("eBox-besparing (Menen) Menen") < family.index("eBox-besparing (Menen) (Wervik) Wervik")
    assert re.search(r"eBox-besparing \(Menen\) Menen eBox-besparing idee MAE van de prognose 0,0*[1-9]\d",
                     family), family
    assert "nog geen model" in family  # the original and Wervik have no runs in this store

    fork = site / "pilots" / "ebox-besparing-menen.html"
    words = visible_text(fork)
    assert "Gebaseerd op eBox-besparing (Kortrijk)" in words
    assert "Hergebruikt door eBox-besparing (Menen) (Wervik) (Wervik)" in words
    assert {"ebox-besparing.html", "ebox-wervik.html"} <= set(parse(fork).links)
    words = visible_text(site / "pilots" / "ebox-wervik.html")
    assert "Gebaseerd op eBox-besparing (Menen) (Menen)" in words and "(deze pagina)" in words

    orphan = visible_text(site / "pilots" / "wees.html")
    assert "Gebaseerd op verdwenen-pilot (die pilot staat niet meer in de proeftuin)" in orphan
    assert "## Familie" not in orphan and "Deze pilot bestaat ook" not in orphan
    alone = visible_text(site / "pilots" / "vragenrouter.html")
    assert "Familie" not in alone.split("Lessen")[0].split("Resultaten")[1]
    index = visible_text(site / "pilots" / "index.html")
    assert re.search(r"eBox-besparing \(Menen\) \(kopie van eBox-besparing ?\)", index), index
    assert broken_internal_links(site) == []


# -- ideas on the site -------------------------------------------------------------------------------------


def test_ideas_page_lists_ideas_and_keeps_hostile_text_inert(run_cli, fresh_store: Path, pilots_copy: Path,
                                                              tmp_path: Path):
    from proeftuin.ideas import IdeaStore
    from proeftuin.settings import get_settings

    store = IdeaStore(get_settings(), {"kortrijk", "menen", "waregem"})
    hostile = store.add(author="mallory", organisation="menen",
                        question=f"{EVIL_TITLE} {EVIL_LINK} **vet** {{#kaping}} <img src=x onerror=alert(2)>",
                        asked_by="[klik](javascript:alert(3))", service="<b>Burgerzaken</b>",
                        data_available="| kolom | tabel |", personal_data=False,
                        impact="<a href='javascript:alert(4)'>meer</a>")
    store.support(hostile.id, organisation="kortrijk", author="an")
    plain = store.add(author="an", organisation="kortrijk", question="Welke vragen krijgt het onthaal het vaakst?",
                      asked_by="het onthaal", service="Onthaal", personal_data=True, impact="")
    store.support(plain.id, organisation="menen", author="bram")
    store.support(plain.id, organisation="waregem", author="carla")
    run_cli("new", "--from-idea", str(plain.id), "--template", "text-classification", "--slug", "onthaalvragen")
    site = tmp_path / "site"
    run_cli("docs", "build", "--output", str(site), "--strict")

    page = site / "overzicht" / "ideeen.html"
    links = parse(page)
    words = visible_text(page)
    assert links.handlers == [] and not links.inline_scripts_with("alert")
    assert not [link for link in links.links if link.lower().startswith("javascript:")]
    html = page.read_text(encoding="utf-8")
    assert "<b>Burgerzaken" not in html and 'id="kaping"' not in html and "<strong>vet" not in html
    for shown in (EVIL_TITLE, EVIL_LINK, "**vet**", "{#kaping}", "<b>Burgerzaken</b>", "| kolom | tabel |"):
        assert shown in words, shown  # shown as written
    assert f"Idee {plain.id}: Welke vragen krijgt het onthaal het vaakst?" in words
    assert "Wie stelt de vraag het onthaal" in words and "Persoonsgegevens ja" in words
    assert "Wij ook 2: Menen, Waregem" in words and "Wij ook 1: Kortrijk" in words
    assert "Voorgesteld door Kortrijk, op" in words and "Voorgesteld door Menen, op" in words
    assert "Wat een goed antwoord zou veranderen niet ingevuld" in words
    assert "../pilots/onthaalvragen.html" in links.links and "Werd de pilot nog geen pilot" in words
    assert f"idee-{plain.id}" in links.ids
    assert "Ideeën" in visible_text(site / "index.html") or "ideeen.html" in (site / "index.html").read_text()
    assert broken_internal_links(site) == []


def test_ideas_page_without_ideas(run_cli, tmp_path: Path, fresh_store: Path):
    site = tmp_path / "site"
    run_cli("docs", "build", "--output", str(site))
    assert "nog geen ideeën voorgesteld" in visible_text(site / "overzicht" / "ideeen.html")
    assert not (fresh_store / "ideas").exists()  # building shows the ideas, it never creates their store


# -- the watcher of the served site (real MLflow server, real builds) ---------------------------------------


def _finished_run(client, slug: str) -> str:
    experiment = client.get_experiment_by_name(slug)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(slug)
    run = client.create_run(experiment_id, tags={"proeftuin.organisation": "menen", "proeftuin.kind": "model"})
    client.log_metric(run.info.run_id, "macro_f1", 0.5)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def test_fingerprint_changes_with_a_run_or_an_alias_and_only_then(mlflow_server, fresh_store: Path):
    from mlflow.tracking import MlflowClient

    from proeftuin.settings import get_settings
    from proeftuin.site.watch import fingerprint, mlflow_ready, what_changed

    url, settings = mlflow_server["url"], get_settings()
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    assert mlflow_ready(url) and not mlflow_ready("http://127.0.0.1:9")
    before = fingerprint(settings, url, None)
    assert before.mlflow is not None
    assert what_changed(before, fingerprint(settings, url, None)) == []  # looking changes nothing

    run_id = _finished_run(client, "vragenrouter")
    after_run = fingerprint(settings, url, None)
    assert after_run.mlflow["latest_run"][0] == run_id
    assert any(r.startswith("run finished") for r in what_changed(before, after_run))
    client.create_run(client.get_experiment_by_name("vragenrouter").experiment_id)  # still running: not shown
    client.create_run(client.create_experiment("geen-pilot"))  # not a pilot's experiment
    assert what_changed(after_run, fingerprint(settings, url, None)) == []

    if not client.search_registered_models("name = 'vragenrouter'"):
        client.create_registered_model("vragenrouter")
    version = client.create_model_version("vragenrouter", f"runs:/{run_id}/model", run_id)
    with_version = fingerprint(settings, url, None)
    assert what_changed(after_run, with_version)
    client.set_registered_model_alias("vragenrouter", "champion", version.version)
    with_alias = fingerprint(settings, url, None)
    assert [r for r in what_changed(with_version, with_alias) if r.startswith("models/champions changed")]
    assert what_changed(with_alias, fingerprint(settings, url, None)) == []

    lessons = settings.pilots_dir / "vragenrouter" / "LESSONS.md"
    stamp = lessons.stat()
    try:
        os.utime(lessons, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
        assert what_changed(with_alias, fingerprint(settings, url, None)) == ["pilots changed (vragenrouter)"]
    finally:
        os.utime(lessons, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))


def test_watcher_builds_when_mlflow_answers_and_rebuilds_on_a_run(mlflow_server, fresh_store: Path, tmp_path: Path):
    from mlflow.tracking import MlflowClient

    from proeftuin.settings import get_settings
    from proeftuin.site.watch import Watcher, served_dir

    url, settings = mlflow_server["url"], get_settings()
    statuses: list[str] = []
    os.environ["MLFLOW_TRACKING_URI"] = url  # the build reads MLflow the way the docs service does
    try:
        down = Watcher(settings, tmp_path / "down", "http://127.0.0.1:9", set_status=statuses.append)
        assert down.step() is None and not served_dir(tmp_path / "down").exists()  # waits for MLflow

        watcher = Watcher(settings, tmp_path / "site", url, set_status=statuses.append)
        assert watcher.step() == "first build" and statuses == [""]
        page = served_dir(tmp_path / "site") / "pilots" / "vragenrouter.html"
        runs_before = visible_text(page)
        assert "Resultaten niet beschikbaar" not in runs_before
        assert watcher.step() is None  # nothing changed: no build
        _finished_run(MlflowClient(tracking_uri=url, registry_uri=url), "vragenrouter")
        reason = watcher.step()
        assert reason and reason.startswith("run finished"), reason
        assert "Beste run per organisatie" in visible_text(page) and watcher.builds == 2
        assert len(list((tmp_path / "site").glob(".build-*"))) == 2  # the served build and the one before
    finally:
        os.environ.pop("MLFLOW_TRACKING_URI", None)


def test_a_failed_build_keeps_the_last_good_site(fresh_store: Path, tmp_path: Path):
    from proeftuin.settings import get_settings
    from proeftuin.site.watch import Watcher, build_atomically, served_dir

    settings, root = get_settings(), tmp_path / "site"
    good = build_atomically(settings, root)
    served = served_dir(root)
    index = (served / "index.html").read_bytes()
    files = sorted(p.relative_to(served) for p in served.rglob("*"))

    def half_then_broken(settings, target: Path) -> None:
        target.mkdir(parents=True)
        (target / "index.html").write_text("half", encoding="utf-8")
        raise RuntimeError("mkdocs stopped halfway")

    broken_settings = settings.model_copy(update={"project_root": tmp_path / "geen-project"})  # no mkdocs.yml
    for attempt in (lambda: build_atomically(settings, root, half_then_broken),
                    lambda: build_atomically(broken_settings, root)):
        try:
            attempt()
        except Exception:  # noqa: BLE001 (both kinds of failure are the point)
            pass
        else:
            raise AssertionError("the build should have failed")
        assert served.resolve() == good.resolve() and (served / "index.html").read_bytes() == index
        assert sorted(p.relative_to(served) for p in served.rglob("*")) == files
        assert [p.name for p in root.iterdir() if p.name.startswith(".build-")] == [good.name]

    statuses: list[str] = []
    watcher = Watcher(broken_settings, root, "sqlite:///unused", set_status=statuses.append)
    assert watcher.step() == "first build" and watcher.failures == 1 and statuses == []  # old site stays online
    assert watcher.step() is None  # and is tried again after a pause, not at every poll
    assert served.resolve() == good.resolve()
