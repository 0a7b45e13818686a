"""Who may log in, and to which organisation they belong (one JupyterHub group per organisation).

- `ProeftuinNativeAuthenticator`: NativeAuthenticator with an organisation chosen at sign-up, admin
  approval, Dutch messages and a first admin bootstrapped from a generated password (no default password).
  Approval happens on our own page (`/hub/authorize`): it shows each applicant's organisation, lets the admin
  change it, and changes anything only on a POST carrying the XSRF token (never on a followed link).
  The pages' templates are in `hub_templates/` (JupyterHub's `template_paths`, set in `hub.update_base`).
- `ProeftuinOIDCAuthenticator`: OpenID Connect (e.g. Microsoft Entra ID); organisations come from a
  group claim, mapped to organisation slugs only through the configured table.
Both return the organisation as the user's only group, so the hub's groups always follow the source.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import bcrypt
from jupyterhub.handlers import BaseHandler
from jupyterhub.orm import Base
from jupyterhub.scopes import needs_scope
from jupyterhub.utils import new_token
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler
from nativeauthenticator.handlers import SignUpHandler
from nativeauthenticator.orm import UserInfo
from oauthenticator.generic import GenericOAuthenticator
from sqlalchemy import Column, String
from tornado import web
from tornado.escape import url_escape
from tornado.httputil import url_concat
from traitlets import Dict, Set, Unicode

from proeftuin.hub.context import ADMIN_GROUP, ensure_admin_password

USERNAME = re.compile(r"^[a-z][a-z0-9_-]{0,29}$")


class Membership(Base):
    """The organisation a user chose at sign-up (kept in the hub's own database)."""

    __tablename__ = "proeftuin_organisations"
    username = Column(String(255), primary_key=True)
    organisation = Column(String(64), nullable=False)


LOGIN_FAILED = "Gebruikersnaam of wachtwoord is fout. Probeer opnieuw."


class ProeftuinSignUpHandler(SignUpHandler):
    """Sign-up with an organisation; an unknown organisation or bad name gets a Dutch message (400)."""

    async def _page(self, **values) -> None:
        auth = self.authenticator
        html = await self.render_template(
            "proeftuin-signup.html", organisations=sorted(auth.organisations.items(), key=lambda kv: kv[1]),
            minimum_length=auth.minimum_password_length, **values)
        self.finish(html)

    async def get(self):
        await self._page()

    async def post(self):
        auth = self.authenticator
        username = auth.normalize_username(self.get_body_argument("username", "", strip=True))
        organisation = self.get_body_argument("organisation", "", strip=True)
        password = self.get_body_argument("signup_password", "", strip=False)
        confirmation = self.get_body_argument("signup_password_confirmation", "", strip=False)
        problem = None
        if not USERNAME.match(username):
            problem = ("Een gebruikersnaam begint met een kleine letter en bevat alleen kleine letters, cijfers, "
                       "- of _ (hoogstens 30 tekens).")
        elif organisation not in auth.organisations:
            known = ", ".join(sorted(auth.organisations))
            problem = f"Onbekende organisatie '{organisation}'. Kies een van: {known}."
        elif auth.user_exists(username):
            problem = _taken(username)
        elif password != confirmation:
            problem = "De twee wachtwoorden zijn niet gelijk. Typ ze opnieuw."
        user = None
        if problem is None:
            user = await auth.sign_up(username, password)
            if user is None:
                problem = _taken(username) if auth.user_exists(username) else (
                    f"Kies een sterker wachtwoord: minstens {auth.minimum_password_length} tekens en geen "
                    "veelgebruikt wachtwoord.")
        if problem is not None:
            self.set_status(400)
            await self._page(alert="alert-danger", result_message=problem, username=username,
                             organisation=organisation)
            return
        auth.set_organisation(username, organisation)
        message = ("Je account is aangemaakt. Je kan nu inloggen." if user.is_authorized else
                   "Je aanvraag is verstuurd. Zodra een beheerder ze goedkeurt, kan je inloggen.")
        await self._page(alert="alert-success", result_message=message)


def _taken(username: str) -> str:
    return f"De gebruikersnaam '{username}' is al in gebruik. Kies een andere."


class ProeftuinLoginHandler(NativeLoginHandler):
    """NativeAuthenticator's login page with Dutch messages and a 403 on failure.

    nativeauthenticator 1.3.0's own `post` uses `self.statsd`, which JupyterHub 6 removed.
    """

    def _render(self, login_error=None, username=None, **kwargs):
        return self.render_template(
            "login.html", sync=kwargs.get("sync", False), username=username, login_error=login_error,
            enable_signup=self.authenticator.enable_signup, two_factor_auth=self.authenticator.allow_2fa,
            insecure=not self._over_https(),
            authenticator_login_url=url_concat(self.authenticator.login_url(self.hub.base_url),
                                               {"next": self.get_argument("next", "")}))

    def _over_https(self) -> bool:
        """Did the browser use HTTPS? The first X-Forwarded-Proto is the outermost proxy's (the organisation's
        reverse proxy; configurable-http-proxy appends its own `http`, which tornado's xheaders would take).
        A visitor who forges it only hides the warning from themselves."""
        forwarded = self.request.headers.get("X-Forwarded-Proto", "")
        return (forwarded.split(",")[0].strip().lower() or self.request.protocol) == "https"

    async def post(self):
        data = {arg: self.get_argument(arg, strip=False) for arg in self.request.arguments}
        user = await self.login_user(data)
        if user:
            self._jupyterhub_user = user
            self.redirect(self.get_next_url(user))
            return
        username = data.get("username", "")
        error = LOGIN_FAILED
        info = self.authenticator.get_user(username)
        if info is not None and not info.is_authorized and await self.authenticator.check_password(
                info, data.get("password", "")):
            error = f"Het account {username} is nog niet goedgekeurd door een beheerder."
        self.set_status(403)
        self.finish(await self._render(login_error=error, username=username))


admin_users_scope = needs_scope("admin:users")  # the check NativeAuthenticator's own approval handlers use

XSRF_REFUSED = ("Dit formulier is verlopen of kwam niet van de goedkeuringspagina, dus er is niets veranderd. "
                "Open de goedkeuringspagina opnieuw en klik daar op de knop.")
ADMINS_ONLY = ("Alleen een beheerder kan aanvragen goedkeuren, weigeren of intrekken. Er is niets veranderd. "
               "Log in met een beheerdersaccount.")


class DutchRefusals(BaseHandler):
    """A Dutch page for JupyterHub's own 403s (a POST without a valid `_xsrf` token, a missing scope), which
    are English and come before the handler runs. Subclasses say what the refusal means for their form."""

    xsrf_refused = XSRF_REFUSED
    forbidden = ADMINS_ONLY

    def write_error(self, status_code, **kwargs):
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and status_code == 403 and not getattr(exc, "jupyterhub_message", None):
            xsrf = "xsrf" in (exc.log_message or "").lower()
            exc.reason = "Niet uitgevoerd" if xsrf else "Geen toegang"
            exc.jupyterhub_message = self.xsrf_refused if xsrf else self.forbidden
        super().write_error(status_code, **kwargs)


class _ApprovalBase(DutchRefusals):
    """The approval handlers: their page, and what the page says about a person."""

    def _person(self, info: UserInfo) -> dict:
        auth = self.authenticator
        organisation = auth.get_organisation(info.username)
        if organisation in auth.organisations:
            label = auth.organisations[organisation]
        elif organisation:
            label = f"onbekend ({organisation})"
        else:
            label = "geen"
        return {"username": info.username, "organisation": organisation, "organisation_label": label,
                "is_admin": info.username in auth.admin_users}

    async def _page(self, status: int = 200, alert: str = "", message: str = "") -> None:
        auth = self.authenticator
        if status >= 400:
            self.log.warning("%s %s door %s niet uitgevoerd: %s", self.request.method, self.request.path,
                             self.current_user.name, message)
        infos = self.db.query(UserInfo).order_by(UserInfo.id).all()
        pending = [self._person(i) for i in infos if not i.is_authorized]
        approved = sorted((self._person(i) for i in infos if i.is_authorized), key=lambda p: p["username"])
        self.set_status(status)
        self.finish(await self.render_template(
            "proeftuin-authorize.html", pending=pending, approved=approved, alert=alert, message=message,
            organisations=sorted(auth.organisations.items(), key=lambda kv: kv[1]),
            organisation_names=set(auth.organisations)))

    def _done(self, name: str) -> None:
        """Back to the page (POST, then redirect, then GET), which says where `name` now stands."""
        self.redirect(url_concat(self.hub.base_url + "authorize", {"naam": name}) + "#user-" + url_escape(name))

    def _state_of(self, name: str) -> tuple[str, str]:
        """What the page says about `name` after a change: read from the database, so it is always true."""
        info = self.authenticator.get_user(name)
        if info is None:
            return "alert-info", f"Er is geen aanvraag (meer) van {name}."
        if not info.is_authorized:
            return "alert-info", f"{name} wacht op goedkeuring en kan niet inloggen."
        organisation = self.authenticator.organisations.get(self.authenticator.get_organisation(name) or "", "geen")
        return "alert-success", f"{name} is goedgekeurd (organisatie: {organisation}) en kan inloggen."

    async def _end_sessions(self, name: str) -> None:
        """Stop the person's servers, revoke their tokens and log them out everywhere (if they are a hub user)."""
        user = self.find_user(name)
        if user is None:
            return
        for server_name, spawner in list(user.spawners.items()):
            if spawner.active and not spawner._stop_pending:
                await self.stop_single_user(user, server_name)
        for token in list(user.orm_user.api_tokens):
            self.db.delete(token)
        user.orm_user.cookie_id = new_token()
        self.db.commit()
        user.sync_groups([])


class AuthorizationPageHandler(_ApprovalBase):
    """/hub/authorize: every applicant and approved user with their organisation, a form per person.
    Anonymous visitors are sent to the login page first (an admin opening the address before logging in)."""

    @web.authenticated
    @admin_users_scope
    async def get(self):
        name = self.get_argument("naam", "")
        alert, message = self._state_of(name) if name else ("", "")
        await self._page(alert=alert, message=message)


class ByButtonOnly(_ApprovalBase):
    """A GET on an action URL (a link in an e-mail, an old NativeAuthenticator link): changes nothing."""

    async def get(self, name):
        self.set_status(405)
        self.set_header("Allow", "POST")
        self.finish(await self.render_template("proeftuin-by-button.html"))


class AuthorizeHandler(ByButtonOnly):
    """POST /hub/authorize/<name>: action=approve (with an organisation; also changes an approved user's
    organisation) or action=revoke. Setting, not toggling: sending the same form twice does the same."""

    @admin_users_scope
    async def post(self, name):
        auth = self.authenticator
        info = auth.get_user(name)
        action = self.get_body_argument("action", "")
        if info is None:
            await self._page(404, "alert-danger", f"Er is geen aanvraag van {name}. Misschien is ze al geweigerd; "
                                                  "bekijk de lijst hieronder.")
            return
        admin = self.current_user.name
        if action == "revoke":
            if name in auth.admin_users or name == admin:
                await self._page(400, "alert-danger", f"{name} is beheerder; die goedkeuring kan je hier niet "
                                                      "intrekken.")
                return
            info.is_authorized = False
            self.db.commit()
            await self._end_sessions(name)
            self.log.info("Goedkeuring van %s ingetrokken door %s", name, admin)
            self._done(name)
            return
        if action != "approve":
            await self._page(400, "alert-danger", "Onbekende actie. Klik op Goedkeuren, Weigeren of Intrekken.")
            return
        organisation = self.get_body_argument("organisation", None, strip=True)
        if organisation is None:  # a form without the select: keep the organisation chosen at sign-up
            organisation = auth.get_organisation(name) or ""
        if organisation not in auth.organisations:
            problem = (f"Kies een organisatie voor {name}." if not organisation else
                       f"Onbekende organisatie '{organisation}'. Kies er een uit de lijst.")
            await self._page(400, "alert-danger", f"{problem} Er is niets veranderd.")
            return
        auth.set_organisation(name, organisation)
        info.is_authorized = True
        self.db.commit()
        user = self.find_user(name)  # a hub user already (an earlier login): its groups follow at once
        if user is not None:
            user.sync_groups([organisation])
        self.log.info("%s goedgekeurd door %s (organisatie %s)", name, admin, organisation)
        self._done(name)


class DiscardHandler(ByButtonOnly):
    """POST /hub/discard/<name>: removes a request that is not approved (and the hub user, if any)."""

    @admin_users_scope
    async def post(self, name):
        auth = self.authenticator
        info = auth.get_user(name)
        if info is not None and info.is_authorized:
            await self._page(400, "alert-danger", f"{name} is goedgekeurd. Trek eerst de goedkeuring in; daarna "
                                                  "kan je de aanvraag weigeren.")
            return
        if info is not None:
            await self._end_sessions(name)
            user = self.find_user(name)
            auth.delete_user(user if user is not None else type("User", (), {"name": name})())
            if user is not None:
                await user.delete_spawners()
                self.users.delete(user)
            self.log.info("Aanvraag van %s geweigerd door %s", name, self.current_user.name)
        self._done(name)


class ProeftuinNativeAuthenticator(NativeAuthenticator):
    organisations = Dict(Unicode(), help="Organisation slug -> name; one must be chosen at sign-up.").tag(config=True)
    admin_password_file = Unicode(
        help="File (mode 0600) with the first admin's generated password; created when missing.").tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        Membership.__table__.create(self.db.bind, checkfirst=True)
        self.ensure_admin()

    def ensure_admin(self) -> None:
        """No default password: each admin without an account gets one from the generated password."""
        if not self.admin_password_file:
            return
        password, _ = ensure_admin_password(Path(self.admin_password_file))
        for name in sorted(self.admin_users):
            if self.get_user(name) is None:
                self.db.add(UserInfo(username=name, password=bcrypt.hashpw(password.encode(), bcrypt.gensalt()),
                                     is_authorized=True))
                self.db.commit()
                self.log.info("Beheerder %s aangemaakt met het wachtwoord uit %s", name, self.admin_password_file)

    def get_organisation(self, username: str) -> str | None:
        row = self.db.get(Membership, username)
        return row.organisation if row is not None else None

    def set_organisation(self, username: str, organisation: str) -> None:
        row = self.db.get(Membership, username)
        if row is None:
            self.db.add(Membership(username=username, organisation=organisation))
        else:
            row.organisation = organisation
        self.db.commit()

    async def sign_up(self, username: str, password: str) -> UserInfo | None:
        """NativeAuthenticator.create_user with the bcrypt hash made in a thread: a room full of colleagues
        signing up at once must not stall the hub for everyone (0.25 s of CPU each). None when the name is
        taken or invalid or the password too weak. (Self-approval by e-mail is not used in the Proeftuin.)"""
        username = self.normalize_username(username)
        if self.user_exists(username) or not self.validate_username(username) \
                or not self.is_password_strong(password) or not self.enable_signup:
            return None
        hashed = await asyncio.to_thread(bcrypt.hashpw, password.encode(), bcrypt.gensalt())
        if self.user_exists(username):  # taken by someone else while hashing
            return None
        info = UserInfo(username=username, password=hashed,
                        is_authorized=bool(self.open_signup or username in self.get_authed_users()))
        self.db.add(info)
        self.db.commit()
        return info

    async def check_password(self, info: UserInfo, password: str) -> bool:
        """bcrypt (cost 12, about 0.25 s of CPU) in a thread, so a burst of logins does not stall the hub's
        event loop; bcrypt releases the GIL. Same check as UserInfo.is_valid_password, in constant time."""
        stored = info.password
        if not stored:
            return False
        return await asyncio.to_thread(bcrypt.checkpw, password.encode(), stored)

    async def authenticate(self, handler, data):
        """NativeAuthenticator.authenticate with the password check off the event loop."""
        name = self.normalize_username(data.get("username", ""))
        info = self.get_user(name)
        if info is None or (self.allowed_failed_logins and self.is_blocked(name)):
            return None
        valid = await self.check_password(info, data.get("password", ""))
        if info.has_2fa and not info.is_valid_token(data.get("2fa")):
            valid = False
        if not (valid and info.is_authorized):
            self.add_login_attempt(name)
            return None
        self.successful_login(name)
        organisation = self.get_organisation(name)
        return {"name": name, "groups": [organisation] if organisation in self.organisations else []}

    def delete_user(self, user):
        row = self.db.get(Membership, user.name)
        if row is not None:
            self.db.delete(row)
            self.db.commit()
        return super().delete_user(user)

    def get_handlers(self, app):
        """NativeAuthenticator's routes with our own login, sign-up and approval handlers. Its e-mail
        self-approval link (`/confirm/<slug>`, a GET that approves) is not served: the Proeftuin does not use it."""
        replaced = {r"/login": ProeftuinLoginHandler, r"/signup": ProeftuinSignUpHandler,
                    r"/authorize": AuthorizationPageHandler, r"/authorize/([^/]*)": AuthorizeHandler,
                    r"/discard/([^/]*)": DiscardHandler}
        from proeftuin.hub.portal import PORTAL_HANDLERS

        return [(route, replaced.get(route, handler)) for route, handler in super().get_handlers(app)
                if not route.startswith(r"/confirm/")] + PORTAL_HANDLERS


class ProeftuinOIDCAuthenticator(GenericOAuthenticator):
    """OpenID Connect; the group claim decides the organisation (and admin rights)."""

    organisations = Dict(Unicode(), help="Organisation slug -> name.").tag(config=True)
    organisation_claims = Dict(
        Unicode(), help="Group claim value (e.g. an Entra ID group object id) -> organisation slug.").tag(config=True)
    admin_claims = Set(Unicode(), help="Group claim values that make the user a hub admin.").tag(config=True)

    def get_handlers(self, app):
        """OAuthenticator's login and callback, and the portal."""
        from proeftuin.hub.portal import PORTAL_HANDLERS

        return super().get_handlers(app) + PORTAL_HANDLERS

    async def get_user_groups(self, auth_state: dict) -> set[str]:
        raw = set(await super().get_user_groups(auth_state))
        # Only through the table: a claim value that merely looks like an organisation slug grants nothing.
        groups = {self.organisation_claims[value] for value in raw if value in self.organisation_claims}
        groups &= set(self.organisations)
        if raw & self.admin_claims:
            groups.add(ADMIN_GROUP)
        return groups
