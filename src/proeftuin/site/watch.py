"""Keeping the served knowledge site current: build when MLflow answers, rebuild when something changed.

The docs service (`hub_proxy docs`) runs `watch` in a background thread. Every POLL_SECONDS it takes a
*fingerprint* of what the site shows and rebuilds only when that changed:

- MLflow, through the same address and token the build uses (three small REST calls, whatever the number
  of runs): the pilot experiments (id, lifecycle, last update), the run that ended last in any of them
  (id, status, end time) and the registered models with their aliases and latest versions;
- the pilots folder: each pilot's folder, `pilot.yaml` and `LESSONS.md` (name, mtime, size);
- the ideas (`IdeaStore.list()`: proposals, "wij ook", links to pilots).

A build goes into a fresh folder next to the served one (`<site root>/.build-<time>`) and is swapped in
with one rename of the `current` link, only on success: a visitor sees the old site or the new one,
never a half-built or broken one. A build that fails, or whose MLflow went away during the build while
the served site had results, keeps the last good site online and is tried again after a pause.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proeftuin.settings import Settings

log = logging.getLogger("proeftuin.site.watch")

POLL_SECONDS = 15
MLFLOW_WAIT_SECONDS = 300  # build without results after this long without MLflow (and rebuild once it answers)
RETRY_SECONDS = (30, 60, 120, 300, 600)  # pause after 1, 2, ... failed builds in a row
CURRENT = "current"  # the served site: a link to one build folder, swapped atomically
BUILD_PREFIX = ".build-"
KEEP_BUILDS = 2  # the served build and the one before (a visitor may still be reading a file of it)
API = "/api/2.0/mlflow"


class MlflowUnavailable(Exception):
    """MLflow did not answer (or not with 200): no fingerprint this time."""


def served_dir(site_root: Path) -> Path:
    """The folder visitors are served: `<site root>/current`, a link to the last good build."""
    return site_root / CURRENT


# --------------------------------------------------------------------------------------------------
# MLflow, read cheaply over its REST API
# --------------------------------------------------------------------------------------------------


def _request(uri: str, path: str, token: str | None, body: dict[str, Any] | None = None,
             timeout: float = 10) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{uri.rstrip('/')}{path}", data=data, headers=headers,  # noqa: S310
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only)
            payload = response.read()
    except urllib.error.HTTPError as exc:
        raise MlflowUnavailable(f"HTTP {exc.code} op {path}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise MlflowUnavailable(str(getattr(exc, "reason", exc))) from None
    try:
        return json.loads(payload) if payload.strip().startswith(b"{") else {}
    except ValueError:
        raise MlflowUnavailable(f"geen JSON op {path}") from None


def mlflow_ready(uri: str, token: str | None = None) -> bool:
    """MLflow answers its health check with 200 (through the sign-on layer: with the service's token, since
    the layer answers an anonymous request itself, with 401, even while MLflow is down)."""
    if not uri.startswith(("http://", "https://")):
        return True  # a local store (sqlite:///...) is always there
    try:
        _request(uri, "/health", token, timeout=5)
    except MlflowUnavailable:
        return False
    return True


def mlflow_fingerprint(uri: str, token: str | None, slugs: set[str]) -> dict[str, Any]:
    """What of MLflow the site shows, in three calls: the pilots' experiments, the run that ended last in
    any of them, and the registered models with their aliases. Raises `MlflowUnavailable`."""
    found = _request(uri, f"{API}/experiments/search", token,
                     {"max_results": 1000, "view_type": "ALL"}).get("experiments", [])
    experiments = {e["name"]: [e.get("experiment_id"), e.get("lifecycle_stage"), e.get("last_update_time")]
                   for e in found if e.get("name") in slugs}
    latest = None
    ids = sorted(str(e[0]) for e in experiments.values() if e[1] == "active")
    if ids:
        runs = _request(uri, f"{API}/runs/search", token, {
            "experiment_ids": ids, "max_results": 1, "run_view_type": "ACTIVE_ONLY",
            "filter": "attributes.end_time > 0", "order_by": ["attributes.end_time DESC"]}).get("runs", [])
        if runs:
            info = runs[0]["info"]
            latest = [info.get("run_id"), info.get("status"), info.get("end_time"), info.get("experiment_id")]
    models = _request(uri, f"{API}/registered-models/search?max_results=1000", token)  # GET only in MLflow
    registry = {m["name"]: {"aliases": sorted((a["alias"], a["version"]) for a in m.get("aliases", [])),
                            "versions": sorted(str(v.get("version")) for v in m.get("latest_versions", [])),
                            "updated": m.get("last_updated_timestamp")}
                for m in models.get("registered_models", []) if m.get("name") in slugs}
    return {"experiments": experiments, "latest_run": latest, "models": registry}


# --------------------------------------------------------------------------------------------------
# Local sources: pilots and ideas
# --------------------------------------------------------------------------------------------------


def _stamp(path: Path) -> list[Any] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_mtime_ns, info.st_size]


def pilots_fingerprint(pilots_dir: Path) -> dict[str, Any]:
    """Per pilot folder: its own stamp (files added or removed), its manifest's and its LESSONS.md's."""
    from proeftuin.pilot import MANIFEST
    from proeftuin.site.collect import LESSONS

    if not pilots_dir.is_dir():
        return {}
    return {folder.name: [_stamp(folder), _stamp(folder / MANIFEST), _stamp(folder / LESSONS)]
            for folder in sorted(pilots_dir.iterdir()) if folder.is_dir() and not folder.name.startswith((".", "_"))}


def ideas_fingerprint(settings: Settings) -> str | None:
    """A hash of every idea as the site shows it (None: no ideas yet, or not readable)."""
    from proeftuin.ideas import IdeaStore

    try:
        store = IdeaStore.existing(settings)
        if store is None:
            return None
        ideas = store.list()
    except Exception as exc:  # noqa: BLE001 (database or permission errors: the page says so, nothing to watch)
        log.warning("ideas not readable for the site: %s", exc)
        return "unreadable"
    blob = json.dumps([i.model_dump() for i in ideas], sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


@dataclass
class Fingerprint:
    mlflow: dict[str, Any] | None  # None: MLflow did not answer
    pilots: dict[str, Any] = field(default_factory=dict)
    ideas: str | None = None


def fingerprint(settings: Settings, uri: str, token: str | None) -> Fingerprint:
    pilots = pilots_fingerprint(settings.pilots_dir)
    slugs = set(pilots) | _manifest_slugs(settings)
    try:
        remote = mlflow_fingerprint(uri, token, slugs) if uri.startswith(("http://", "https://")) else {}
    except MlflowUnavailable as exc:
        log.info("MLflow not reachable for the site's fingerprint: %s", exc)
        remote = None
    return Fingerprint(remote, pilots, ideas_fingerprint(settings))


def _manifest_slugs(settings: Settings) -> set[str]:
    """Pilot slugs as written in the manifests (usually the folder name, but not necessarily)."""
    from proeftuin.pilot import Pilot, discover_pilots

    return {p.manifest.slug for p in discover_pilots(settings.pilots_dir, {o.slug for o in settings.organisations},
                                                     strict=False) if isinstance(p, Pilot)}


def what_changed(old: Fingerprint | None, new: Fingerprint) -> list[str]:
    """The reasons for a rebuild, in words for the log (empty: nothing the site shows changed)."""
    if old is None:
        return ["first build"]
    reasons = []
    if new.mlflow is not None and old.mlflow != new.mlflow:
        if old.mlflow is None:
            reasons.append("MLflow answers again")
        else:
            if old.mlflow.get("latest_run") != new.mlflow.get("latest_run"):
                reasons.append(f"run finished ({(new.mlflow.get('latest_run') or ['?'])[0]})")
            if old.mlflow.get("models") != new.mlflow.get("models"):
                changed = sorted(n for n in {*old.mlflow.get("models", {}), *new.mlflow.get("models", {})}
                                 if old.mlflow["models"].get(n) != new.mlflow["models"].get(n))
                reasons.append(f"models/champions changed ({', '.join(changed)})")
            if old.mlflow.get("experiments") != new.mlflow.get("experiments"):
                reasons.append("pilot experiments changed")
    if old.pilots != new.pilots:
        changed = sorted(n for n in {*old.pilots, *new.pilots} if old.pilots.get(n) != new.pilots.get(n))
        reasons.append(f"pilots changed ({', '.join(changed)})")
    if old.ideas != new.ideas:
        reasons.append("ideas changed")
    return reasons


# --------------------------------------------------------------------------------------------------
# Building next to the served site and swapping it in
# --------------------------------------------------------------------------------------------------


class BuildRejected(Exception):
    """The build finished, but is worse than the site being served (e.g. MLflow vanished during it)."""


def build_atomically(settings: Settings, site_root: Path, builder: Callable[[Settings, Path], Any] | None = None,
                     reject_without_results: bool = False) -> Path:
    """Build into a fresh folder in `site_root` and make it the served one with one rename; return it.

    On any error the fresh folder is removed and the served site is untouched. `reject_without_results`:
    refuse a build made while MLflow was unreachable (the served site has results: keep those)."""
    from proeftuin.site.build import build_context, build_site

    site_root.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = site_root / f"{BUILD_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{threading.get_ident() % 10000}"
    try:
        (builder or build_site)(settings, target)
        if not (target / "index.html").is_file():
            raise BuildRejected("the build wrote no index.html")
        if reject_without_results and build_context["tracking_note"]:
            raise BuildRejected(f"MLflow was unreachable during the build: {build_context['tracking_note']}")
        link = site_root / f".{CURRENT}-{target.name}"
        link.symlink_to(target.name)  # relative: the state folder may move
        os.replace(link, served_dir(site_root))  # one rename: old site or new site, never neither
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    _remove_old_builds(site_root, target)
    return target


def _remove_old_builds(site_root: Path, keep: Path) -> None:
    builds = sorted((p for p in site_root.glob(f"{BUILD_PREFIX}*") if p.is_dir() and not p.is_symlink()),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [b for b in builds if b != keep][KEEP_BUILDS - 1:]:
        shutil.rmtree(old, ignore_errors=True)
    for stray in site_root.glob(f".{CURRENT}-*"):  # a link left by a build killed between its two steps
        if stray.is_symlink():
            stray.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------------


@dataclass
class Watcher:
    """State of the docs service's builder; `status` is the Dutch reason the site is not there (yet)."""

    settings: Settings
    site_root: Path
    uri: str
    token: str | None = None
    set_status: Callable[[str], None] = lambda message: None
    builder: Callable[[Settings, Path], Any] | None = None
    built: Fingerprint | None = None
    failures: int = 0
    retry_at: float = 0.0
    has_results: bool = False
    builds: int = 0

    def step(self, waited: float = 0.0) -> str | None:
        """One poll: build when needed. Returns the reason of a build (also when it failed), else None."""
        if self.built is None and not mlflow_ready(self.uri, self.token) and waited < MLFLOW_WAIT_SECONDS:
            return None  # first build only once MLflow answers (else every page would say "niet beschikbaar")
        current = fingerprint(self.settings, self.uri, self.token)
        reasons = what_changed(self.built, current)
        if self.built is not None and current.mlflow is None and self.has_results:
            return None  # MLflow away for a moment: keep the site with results, look again later
        if not reasons or time.monotonic() < self.retry_at:
            return None
        reason = "; ".join(reasons + ([f"retry after {self.failures} failed build(s)"] if self.failures else []))
        started = time.monotonic()
        try:
            build_atomically(self.settings, self.site_root, self.builder,
                             reject_without_results=self.has_results)
        except Exception as exc:  # noqa: BLE001 (a broken page must not take the service down)
            self.failures += 1
            self.retry_at = time.monotonic() + RETRY_SECONDS[min(self.failures, len(RETRY_SECONDS)) - 1]
            log.warning("docs site rebuild failed (%s): %s; the last good site stays online", reason, exc)
            if self.built is None and not served_dir(self.site_root).exists():
                self.set_status(f"De kennissite kon niet gebouwd worden: {exc}. Een nieuwe poging volgt.")
            return reason
        from proeftuin.site.build import build_context

        self.built, self.failures, self.retry_at, self.builds = current, 0, 0.0, self.builds + 1
        self.has_results = current.mlflow is not None and not build_context["tracking_note"]
        self.set_status("")
        log.info("docs site rebuilt in %.1f s (%s)", time.monotonic() - started, reason)
        return reason

    def run(self, stop: threading.Event | None = None, poll_seconds: float = POLL_SECONDS) -> None:
        stop = stop or threading.Event()
        began = time.monotonic()
        while not stop.is_set():
            try:
                self.step(time.monotonic() - began)
            except Exception:  # noqa: BLE001 (never let the watcher thread die)
                log.exception("docs watcher step failed")
            stop.wait(poll_seconds)
