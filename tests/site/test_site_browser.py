"""The built site in Debian's Chromium: search for a pilot, open its page, and check WCAG 2.1 AA with axe-core."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from browser import chromium_page, screenshot, serious_axe_violations

from proeftuin.site import site_server


@pytest.fixture
def served_site(run_cli, tmp_path: Path):
    """A site with one real tracked run, served over http on a free loopback port."""
    run_cli.json("run", "vragenrouter", "--param", "max_rows=300", "--org", "waregem")
    site = tmp_path / "site"
    run_cli("docs", "build", "--output", str(site))
    server = site_server(site, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_search_a_pilot_and_open_its_page(served_site: str):
    violations: dict[str, list[dict]] = {}
    with chromium_page() as page:
        page.goto(f"{served_site}/index.html")
        assert page.locator("html").get_attribute("lang") == "nl"
        violations["welkom"] = serious_axe_violations(page)

        search = page.locator("input.md-search__input")
        search.click()
        search.press_sequentially("vragenrouter", delay=30)  # Material searches on key events, not on fill()
        result = page.locator(".md-search-result__link").first
        result.wait_for(timeout=15000)
        assert "Vragenrouter" in page.locator(".md-search-result").inner_text()
        screenshot(page, "site-search-vragenrouter")
        result.click()

        page.wait_for_url("**/pilots/vragenrouter.html*", timeout=15000)
        page.locator("h1").wait_for()
        assert page.locator("h1").inner_text() == "Vragenrouter"
        content = page.locator("article").inner_text()
        assert "Beste run per organisatie" in content and "Waregem" in content
        assert page.locator("img[src$='verwarringsmatrix.png']").evaluate("img => img.naturalWidth") > 0
        violations["pilot"] = serious_axe_violations(page)
        screenshot(page, "site-pilot-vragenrouter")

        for path in ("overzicht/organisaties.html", "ai-geletterdheid.html"):
            page.goto(f"{served_site}/{path}")
            violations[path] = serious_axe_violations(page)
    assert violations == {name: [] for name in violations}, violations
