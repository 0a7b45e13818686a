"""Approving sign-ups through a real hub (issue 12, item 7): the approval page shows each applicant's
organisation, and only the admin's POST of its form with the `_xsrf` token changes anything. A followed link,
a POST without the token and a POST by a member change nothing; each attack compares the hub's stored rows
(`users_info`, `proeftuin_organisations`) before and after.
"""

from __future__ import annotations

import re
import sqlite3

import pytest
from hubkit import (
    PASSWORD,
    Browser,
    Platform,
    admin_and_members,
    approve,
    page_xsrf,
    running_platform,
    start_server,
    wait_until,
)

pytestmark = pytest.mark.timeout(600)

MEMBER = "mila-menen"  # approved (Menen); tries to approve others
APPLICANTS = {"anna-avelgem": "avelgem", "bart-wervik": "wervik", "cas-kuurne": "kuurne", "dirk-deerlijk": "deerlijk",
              "eva-zwevegem": "zwevegem"}
ACCOUNTS = (MEMBER, *APPLICANTS)


@pytest.fixture(scope="module")
def hub():
    with running_platform("proeftuin-approval-", ACCOUNTS) as (platform, _):
        yield platform


@pytest.fixture(scope="module")
def people(hub):
    """The admin (logged in, with an API token), an approved Menen member, and five applicants."""
    admin, members = admin_and_members(hub, {MEMBER: "menen"})
    for name, organisation in APPLICANTS.items():
        response = Browser(hub.url).sign_up(name, organisation)
        assert response.status_code == 200 and "beheerder" in response.text, response.text
    return admin, members[MEMBER]


def stored(hub: Platform) -> tuple[list[tuple], list[tuple]]:
    """Every row of NativeAuthenticator's users and of our memberships, read-only from the hub's database."""
    db = sqlite3.connect(f"file:{hub.state / 'hub' / 'jupyterhub.sqlite'}?mode=ro", uri=True)
    try:
        users = db.execute("SELECT * FROM users_info ORDER BY id").fetchall()
        memberships = db.execute("SELECT * FROM proeftuin_organisations ORDER BY username").fetchall()
    finally:
        db.close()
    return users, memberships


def row(hub: Platform, name: str) -> tuple[bool | None, str | None]:
    """(is_authorized, organisation) of one person as stored; None where there is no row."""
    users, memberships = stored(hub)
    columns = _columns(hub)
    authorized = next((bool(u[columns.index("is_authorized")]) for u in users
                       if u[columns.index("username")] == name), None)
    return authorized, next((m[1] for m in memberships if m[0] == name), None)


def _columns(hub: Platform) -> list[str]:
    db = sqlite3.connect(f"file:{hub.state / 'hub' / 'jupyterhub.sqlite'}?mode=ro", uri=True)
    try:
        return [c[1] for c in db.execute("PRAGMA table_info(users_info)")]
    finally:
        db.close()


def cannot_log_in_yet(hub: Platform, name: str) -> bool:
    refused = Browser(hub.url).login(name, PASSWORD)
    return refused.status_code == 403 and "nog niet goedgekeurd" in refused.text


def row_html(page: str, name: str) -> str:
    """The table row of one person on the approval page."""
    found = re.search(rf'<tr id="user-{re.escape(name)}">(.*?)</tr>', page, re.S)
    assert found, f"no row for {name}"
    return found.group(1)


def hub_groups(admin: Browser, name: str) -> list[str]:
    return admin.api("GET", f"/hub/api/users/{name}").json()["groups"]


def test_the_page_shows_each_applicants_organisation_in_dutch(hub, people):
    admin, member = people
    page = admin.http.get("/hub/authorize")
    assert page.status_code == 200
    assert "Aanvragen goedkeuren" in page.text and "Wachten op goedkeuring (5)" in page.text
    for name, organisation in APPLICANTS.items():
        cells = row_html(page.text, name)
        label = organisation.capitalize()
        assert f'<td class="chosen-organisation">{label}</td>' in cells, cells
        assert re.search(rf'<option value="{organisation}"\s+selected>{label}</option>', cells), cells
        assert 'method="post"' in cells and 'name="_xsrf"' in cells
        assert ">Goedkeuren</button>" in cells and "Weigeren</button>" in cells
    approved = row_html(page.text, MEMBER)
    assert '<td class="organisation">Menen</td>' in approved and "Intrekken</button>" in approved
    assert "Goedgekeurd (2)" in page.text  # the member and the admin
    # Members and anonymous visitors do not see the page.
    refused = member.http.get("/hub/authorize")
    assert refused.status_code == 403 and "Alleen een beheerder" in refused.text
    anonymous = Browser(hub.url).http.get("/hub/authorize")
    assert anonymous.status_code == 302 and "/hub/login" in anonymous.headers["location"]


def test_a_followed_approval_link_approves_or_discards_nobody(hub, people):
    admin, _ = people
    name = "anna-avelgem"
    before = stored(hub)
    token = page_xsrf(admin.http.get("/hub/authorize"))
    browser_link = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "document"}
    for path in (f"/hub/authorize/{name}", f"/hub/discard/{name}",
                 f"/hub/authorize/{name}?action=approve&organisation=kortrijk&_xsrf={token}",
                 f"/hub/discard/{name}?_xsrf={token}"):
        for headers in ({}, browser_link):
            answer = admin.http.get(path, headers=headers)
            assert answer.status_code == 405, (path, answer.status_code)
            assert answer.headers["allow"] == "POST"
            assert "Er is niets veranderd" in answer.text and "goedkeuringspagina" in answer.text
    assert stored(hub) == before
    assert cannot_log_in_yet(hub, name)


def test_a_post_without_the_xsrf_token_changes_nothing(hub, people):
    admin, member = people
    name = "anna-avelgem"
    before = stored(hub)
    member_token = member.http.cookies.get("_xsrf", path="/hub/")
    assert member_token
    for extra in ({}, {"_xsrf": ""}, {"_xsrf": "niet-echt"}, {"_xsrf": member_token}):
        for path in (f"/hub/authorize/{name}", f"/hub/discard/{name}"):
            answer = admin.http.post(path, data={"action": "approve", "organisation": "kortrijk", **extra})
            assert answer.status_code == 403, (path, extra, answer.status_code)
            assert "Open de goedkeuringspagina opnieuw" in answer.text
    # A cross-site form (what a page elsewhere could make the admin's browser send) has no token either.
    cross_site = admin.http.post(f"/hub/authorize/{name}", data={"action": "approve", "organisation": "kortrijk"},
                                 headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "cross-site",
                                          "Origin": "https://elders.example"})
    assert cross_site.status_code == 403
    assert stored(hub) == before
    assert cannot_log_in_yet(hub, name)


def test_a_member_cannot_approve_discard_or_revoke(hub, people):
    _, member = people
    before = stored(hub)
    token = member.http.cookies.get("_xsrf", path="/hub/")
    attempts = [("/hub/authorize/anna-avelgem", {"action": "approve", "organisation": "menen"}),
                ("/hub/discard/anna-avelgem", {}),
                (f"/hub/authorize/{MEMBER}", {"action": "approve", "organisation": "kortrijk"}),
                ("/hub/authorize/beheerder", {"action": "revoke"})]
    for path, form in attempts:
        answer = member.http.post(path, data={**form, "_xsrf": token})
        assert answer.status_code == 403, (path, answer.status_code)
        assert "Alleen een beheerder" in answer.text
        # The member's API token does not count on the hub's pages (so no xsrf check is skipped for it).
        with_token = member.api("POST", path, data=form)
        assert with_token.status_code == 403, (path, with_token.status_code)
    assert stored(hub) == before
    assert cannot_log_in_yet(hub, "anna-avelgem")
    assert hub_groups(people[0], MEMBER) == ["menen"]


def test_an_unknown_organisation_is_refused_in_dutch(hub, people):
    admin, _ = people
    before = stored(hub)
    for organisation in ("atlantis", "", "proeftuin-beheer"):
        answer = approve(admin, "anna-avelgem", organisation)
        assert answer.status_code == 400, (organisation, answer.status_code)
        assert "Er is niets veranderd" in answer.text and "organisatie" in answer.text
    unknown_action = admin.http.post("/hub/authorize/anna-avelgem",
                                     data={"_xsrf": page_xsrf(admin.http.get("/hub/authorize")), "action": "toggle"})
    assert unknown_action.status_code == 400 and "Onbekende actie" in unknown_action.text
    missing = admin.http.post("/hub/authorize/niemand", data={"_xsrf": page_xsrf(admin.http.get("/hub/authorize")),
                                                              "action": "approve", "organisation": "kortrijk"})
    assert missing.status_code == 404 and "Er is geen aanvraag van niemand" in missing.text
    assert stored(hub) == before


def test_the_admin_approves_with_another_organisation(hub, people):
    """Bart chose Wervik; the admin corrects it to Waregem before approving: Bart logs in and is in Waregem."""
    admin, _ = people
    name = "bart-wervik"
    users_before, memberships_before = stored(hub)
    answer = approve(admin, name, "waregem")
    assert answer.status_code == 302 and answer.headers["location"].startswith("/hub/authorize?naam=bart-wervik")
    assert row(hub, name) == (True, "waregem")
    users_after, memberships_after = stored(hub)
    username = _columns(hub).index("username")
    assert [u for u in users_after if u[username] != name] == [u for u in users_before if u[username] != name]
    assert [m for m in memberships_after if m[0] != name] == [m for m in memberships_before if m[0] != name]
    said = admin.http.get(answer.headers["location"])
    assert "bart-wervik is goedgekeurd (organisatie: Waregem) en kan inloggen" in said.text
    assert '<td class="organisation">Waregem</td>' in row_html(said.text, name)
    bart = Browser(hub.url)
    assert bart.login(name, PASSWORD).status_code == 302
    assert hub_groups(admin, name) == ["waregem"]
    # Changing the organisation of an approved user moves their hub group at once (no new login needed).
    assert approve(admin, name, "wervik").status_code == 302
    assert row(hub, name) == (True, "wervik") and hub_groups(admin, name) == ["wervik"]
    # Sending the same form twice does the same (approval is set, never toggled).
    assert approve(admin, name, "wervik").status_code == 302
    assert row(hub, name) == (True, "wervik")


def test_discarding_removes_the_request(hub, people):
    admin, _ = people
    name = "cas-kuurne"
    assert row(hub, name) == (False, "kuurne")
    answer = admin.http.post(f"/hub/discard/{name}", data={"_xsrf": page_xsrf(admin.http.get("/hub/authorize"))})
    assert answer.status_code == 302
    assert row(hub, name) == (None, None)
    page = admin.http.get(answer.headers["location"])
    assert "Er is geen aanvraag (meer) van cas-kuurne" in page.text and 'id="user-cas-kuurne"' not in page.text
    refused = Browser(hub.url).login(name, PASSWORD)
    assert refused.status_code == 403 and "wachtwoord is fout" in refused.text
    # An approved user is not discarded (revoke first).
    approved = admin.http.post(f"/hub/discard/{MEMBER}", data={"_xsrf": page_xsrf(admin.http.get("/hub/authorize"))})
    assert approved.status_code == 400 and "Trek eerst de goedkeuring in" in approved.text
    assert row(hub, MEMBER) == (True, "menen")


def test_revoking_logs_the_person_out_and_takes_away_their_group(hub, people):
    admin, _ = people
    name = "dirk-deerlijk"
    assert approve(admin, name).status_code == 302  # no organisation sent: the one chosen at sign-up
    dirk = Browser(hub.url)
    assert dirk.login(name, PASSWORD).status_code == 302
    dirk.new_token(name)
    assert hub_groups(admin, name) == ["deerlijk"]
    start_server(dirk, name)
    token = page_xsrf(admin.http.get("/hub/authorize"))
    answer = admin.http.post(f"/hub/authorize/{name}", data={"_xsrf": token, "action": "revoke"})
    assert answer.status_code == 302
    assert row(hub, name) == (False, "deerlijk")
    model = admin.api("GET", f"/hub/api/users/{name}").json()
    assert model["groups"] == [] and not model["servers"]
    assert dirk.api("GET", "/hub/api/user").status_code == 403  # the API token is gone
    assert dirk.http.get("/hub/home").status_code == 302  # and the browser session
    assert cannot_log_in_yet(hub, name)
    pending = admin.http.get("/hub/authorize").text.split('id="approved"')[0]
    assert 'class="chosen-organisation">Deerlijk<' in row_html(pending, name)  # back among the requests
    # The admin cannot revoke their own approval.
    own = admin.http.post("/hub/authorize/beheerder", data={"_xsrf": token, "action": "revoke"})
    assert own.status_code == 400 and row(hub, "beheerder")[0] is True


def test_the_admin_approves_by_clicking_in_chromium(hub, people):
    """Chromium: log in as the admin, open the approval page, see Eva's organisation, pick another one in her
    row and click Goedkeuren; she is approved with that organisation and can log in."""
    from browser import chromium_page, screenshot, serious_axe_violations

    admin, _ = people
    name = "eva-zwevegem"
    with chromium_page() as page:
        page.goto(f"{hub.url}/hub/login")
        page.fill("#username_input", "beheerder")
        page.fill("#password_input", hub.admin_password())
        page.click("#login_submit")
        page.wait_for_url("**/hub/**", timeout=60_000)
        page.goto(f"{hub.url}/hub/authorize")
        eva = page.locator(f"#user-{name}")
        assert eva.locator(".chosen-organisation").inner_text() == "Zwevegem"
        screenshot(page, "hub-approval-page")
        assert serious_axe_violations(page) == []
        eva.get_by_label(f"Organisatie voor {name}").select_option("harelbeke")
        eva.get_by_role("button", name="Goedkeuren").click()
        page.wait_for_url("**/hub/authorize?naam=eva-zwevegem*", timeout=60_000)
        page.get_by_text("eva-zwevegem is goedgekeurd (organisatie: Harelbeke)").wait_for(timeout=30_000)
        assert page.locator(f"#approved #user-{name} .organisation").inner_text() == "Harelbeke"
        screenshot(page, "hub-approval-done")
    assert row(hub, name) == (True, "harelbeke")
    eva_browser = Browser(hub.url)
    assert eva_browser.login(name, PASSWORD).status_code == 302
    wait_until(lambda: hub_groups(admin, name) == ["harelbeke"], 30, "Eva's hub group")
