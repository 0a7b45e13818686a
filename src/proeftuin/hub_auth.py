"""Who may log in, and to which organisation they belong (one JupyterHub group per organisation).

- `ProeftuinNativeAuthenticator`: NativeAuthenticator with an organisation chosen at sign-up, admin
  approval, Dutch messages and a first admin bootstrapped from a generated password (no default password).
- `ProeftuinOIDCAuthenticator`: OpenID Connect (e.g. Microsoft Entra ID); organisations come from a
  group claim, mapped to organisation slugs.
Both return the organisation as the user's only group, so the hub's groups always follow the source.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import bcrypt
from jinja2 import ChoiceLoader, DictLoader
from jupyterhub.orm import Base
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler
from nativeauthenticator.handlers import SignUpHandler
from nativeauthenticator.orm import UserInfo
from oauthenticator.generic import GenericOAuthenticator
from sqlalchemy import Column, String
from tornado.escape import url_escape
from tornado.httputil import url_concat
from traitlets import Dict, Set, Unicode

from proeftuin.hub import ADMIN_GROUP, ensure_admin_password

USERNAME = re.compile(r"^[a-z][a-z0-9_-]{0,29}$")


class Membership(Base):
    """The organisation a user chose at sign-up (kept in the hub's own database)."""

    __tablename__ = "proeftuin_organisations"
    username = Column(String(255), primary_key=True)
    organisation = Column(String(64), nullable=False)


SIGNUP_TEMPLATE = """{% extends "page.html" %}
{% block main %}
<div id="login-main" class="container">
  <form action="{{ base_url }}signup" method="post" role="form" class="mx-auto" style="max-width: 28rem">
    <h1 class="h3 my-3">Account aanvragen</h1>
    {% if result_message %}
    <div class="alert {{ alert }}" role="alert"><p>{{ result_message }}</p></div>
    {% endif %}
    <input type="hidden" name="_xsrf" value="{{ xsrf }}"/>
    <label for="username_input" class="form-label">Gebruikersnaam (kleine letters, cijfers, - of _)</label>
    <input id="username_input" type="text" name="username" value="{{ username or '' }}" autocapitalize="off"
           autocorrect="off" class="form-control mb-3" autofocus required pattern="[a-z][a-z0-9_\\-]{0,29}"/>
    <label for="organisation_input" class="form-label">Organisatie</label>
    <select id="organisation_input" name="organisation" class="form-select mb-3" required>
      <option value="">Kies je organisatie…</option>
      {% for slug, name in organisations %}
      <option value="{{ slug }}" {% if slug == organisation %}selected{% endif %}>{{ name }}</option>
      {% endfor %}
    </select>
    <label for="password_input" class="form-label">Wachtwoord (minstens {{ minimum_length }} tekens)</label>
    <input id="password_input" type="password" name="signup_password" class="form-control mb-3" required/>
    <label for="password_confirmation_input" class="form-label">Herhaal het wachtwoord</label>
    <input id="password_confirmation_input" type="password" name="signup_password_confirmation"
           class="form-control mb-3" required/>
    <input type="submit" id="signup_submit" class="btn btn-jupyter" value="Account aanvragen"/>
    <p class="mt-3">Al een account? <a href="{{ base_url }}login">Log in</a>.</p>
  </form>
</div>
{% endblock %}
"""

LOGIN_FAILED = "Gebruikersnaam of wachtwoord is fout. Probeer opnieuw."


def _register_template(handler) -> None:
    env = handler.settings["jinja2_env"]
    if not getattr(env, "_proeftuin_templates", False):
        env.loader = ChoiceLoader([DictLoader({"proeftuin-signup.html": SIGNUP_TEMPLATE}), env.loader])
        env._proeftuin_templates = True


class ProeftuinSignUpHandler(SignUpHandler):
    """Sign-up with an organisation; an unknown organisation or bad name gets a Dutch message (400)."""

    async def _page(self, **values) -> None:
        _register_template(self)
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
            "native-login.html", sync=kwargs.get("sync", False),
            next=url_escape(self.get_argument("next", default="")), username=username, login_error=login_error,
            custom_html=self.authenticator.custom_html, login_url=self.settings["login_url"],
            enable_signup=self.authenticator.enable_signup, two_factor_auth=self.authenticator.allow_2fa,
            authenticator_login_url=url_concat(self.authenticator.login_url(self.hub.base_url),
                                               {"next": self.get_argument("next", "")}))

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
        replaced = {r"/login": ProeftuinLoginHandler, r"/signup": ProeftuinSignUpHandler}
        return [(route, replaced.get(route, handler)) for route, handler in super().get_handlers(app)]


class ProeftuinOIDCAuthenticator(GenericOAuthenticator):
    """OpenID Connect; the group claim decides the organisation (and admin rights)."""

    organisations = Dict(Unicode(), help="Organisation slug -> name.").tag(config=True)
    organisation_claims = Dict(
        Unicode(), help="Group claim value (e.g. an Entra ID group object id) -> organisation slug.").tag(config=True)
    admin_claims = Set(Unicode(), help="Group claim values that make the user a hub admin.").tag(config=True)

    async def get_user_groups(self, auth_state: dict) -> set[str]:
        raw = set(await super().get_user_groups(auth_state))
        groups = {self.organisation_claims.get(value, value) for value in raw} & set(self.organisations)
        if raw & self.admin_claims:
            groups.add(ADMIN_GROUP)
        return groups
