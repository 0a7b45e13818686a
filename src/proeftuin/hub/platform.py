"""`proeftuin up`: install what is missing, prepare the state folder, train missing champions, run the hub.

Steps are named `ensure_*` and are idempotent: running `up` again resumes with all users, notebooks,
runs and models intact.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import click

from proeftuin.errors import ProeftuinError
from proeftuin.hub import limits as hub_limits
from proeftuin.hub.context import (
    ENV_HUB_PORT,
    GALLERY_ACCOUNT,
    HUB_CONFIG_FILE,
    SERVICE_ACCOUNT,
    SERVICE_PREFIX,
    HubContext,
    ensure_admin_password,
    ensure_hub_state,
    ensure_service_state,
    unix_http_status,
)
from proeftuin.hub.forkserver import clean_environment, command_for, socket_path_fits
from proeftuin.hub.spawner import SYSTEM_PREFIX
from proeftuin.process import (
    UpRecord,
    child_preexec,
    describe,
    ensure_port_free,
    leftovers,
    marked_processes,
    stop_on_sigterm,
    stop_process,
    stop_processes,
    tree,
    wait_for_url,
    wait_until,
)

Say = Callable[[str], None]


def ensure_proxy_installed(hub: HubContext, say: Say) -> None:
    """The official configurable-http-proxy, installed locally from npm (never globally)."""
    if Path(hub.proxy_command).exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise ProeftuinError("configurable-http-proxy ontbreekt en npm is niet gevonden.",
                             "Installeer Node.js en npm (bv. `apt-get install nodejs npm`) en start "
                             "`proeftuin up` opnieuw.")
    say("configurable-http-proxy installeren met npm…")
    result = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],  # noqa: S603
                            cwd=hub.settings.project_root, capture_output=True, text=True)
    if result.returncode != 0 or not Path(hub.proxy_command).exists():
        raise ProeftuinError(f"npm install mislukte: {result.stderr.strip()[-500:]}",
                             "Controleer package.json en de netwerktoegang tot de npm-registry.")


PORT_HINT = ("Stop het programma dat de poort gebruikt (draait Proeftuin al?), of kies een andere poort met "
             "--port of in proeftuin.yaml (hub.ports).")


def ensure_ports_free(hub: HubContext) -> None:
    ports = hub.settings.hub.ports
    ensure_port_free(hub.settings.host, hub.port, "de hub", PORT_HINT)
    for port, what in ((ports.api, "de hub-API"), (ports.proxy_api, "de proxy-API"),
                       (ports.mlflow, "de MLflow-dienst"), (ports.gallery, "de galerijdienst"),
                       (ports.docs, "de kennissite"), (hub.settings.ports.mlflow, "MLflow (training bij de start)")):
        ensure_port_free("127.0.0.1", port, what, PORT_HINT)


def check_storage(hub: HubContext, say: Say) -> None:
    """Every database and bucket of `storage:` usable before anything starts (`proeftuin.storage.check`), and
    their credentials in this process's environment for what `up` runs itself (training, checks)."""
    from proeftuin import storage

    for line in storage.check(hub.settings):
        if storage.uses_postgresql(hub.settings) or hub.settings.remote_artifact_root:
            say(f"Opslag: {line}")
    storage.apply_environment(hub.settings)


def check_state(hub: HubContext) -> None:
    """A damaged database stops `up` with a message that names the file and what to do."""
    for path, what in ((hub.hub_dir / "jupyterhub.sqlite", "de hubdatabank (gebruikers, groepen)"),
                       (hub.settings.mlflow_dir / "mlflow.db", "de MLflow-databank (runs en modellen)")):
        if not path.exists():
            continue
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                ok = db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError:
            ok = False
        if not ok:
            raise ProeftuinError(
                f"{path} is beschadigd: dat is {what}.",
                f"Zet het bestand opzij (mv {path} {path}.beschadigd) en herstel een back-up, of start opnieuw "
                "zonder die gegevens. Er is niets gewijzigd.")
    for path in (hub.hub_dir / "jupyterhub_cookie_secret", hub.admin_password_file):
        if path.exists() and path.is_file() and path.stat().st_size == 0:
            raise ProeftuinError(f"{path} is leeg.", f"Verwijder {path}; `proeftuin up` maakt een nieuw.")


def pilots_without_champion(hub: HubContext) -> list[str]:
    from proeftuin import tracking
    from proeftuin.pilot import Pilot, discover_pilots

    settings = hub.settings
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    client = tracking.connect(settings)
    missing = []
    for pilot in discover_pilots(settings.pilots_dir, {o.slug for o in settings.organisations}, strict=False):
        if isinstance(pilot, Pilot):
            version, _ = tracking.champion_metric(client, pilot.slug, pilot.manifest.metric.name)
            if version is None:
                missing.append(pilot.slug)
    return missing


def file_artifact_experiments(hub: HubContext) -> list[str]:
    """Experiments whose artifacts live at a file path: users behind the hub cannot log models there."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=hub.settings.backend_store_uri)
    return sorted(e.name for e in client.search_experiments()
                  if e.experiment_id != "0" and e.artifact_location.startswith(("file:", "/")))


def ensure_champions(hub: HubContext, say: Say, params: tuple[str, ...] = ()) -> list[str]:
    """Train a champion for every pilot without one, through the platform's MLflow (artifacts proxied).

    This MLflow listens on loopback TCP (the training runs are its only clients) and only now: before the
    hub starts, when no user server runs and `stop_user_processes` has ended anything a user left behind.
    It runs as the service account, so what it stores belongs to the account that serves it later."""
    from proeftuin.hub.services import mlflow_backend_command

    missing = pilots_without_champion(hub)
    if not missing:
        return []
    say(f"Kampioensmodel trainen voor: {', '.join(missing)} (eenmalig, even geduld)…")
    ensure_service_state(hub)
    log = (hub.hub_dir / "mlflow-training.log").open("a")
    port = hub.settings.ports.mlflow
    account = hub.service_account("mlflow-server")
    home = hub.services_dir / (account or "platform")
    server = subprocess.Popen(  # noqa: S603 (fixed argv)
        mlflow_backend_command(hub, None, port), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, user=account, group=account, extra_groups=[] if account else None,
        cwd=hub.settings.project_root, env={**os.environ, **hub.environment(), "HOME": str(home)},
        preexec_fn=child_preexec)  # stops on SIGINT even from a background `up`; dies with `up`
    uri = f"http://127.0.0.1:{port}{SERVICE_PREFIX}/mlflow"
    try:
        wait_for_url(f"{uri}/health", server, 180, "MLflow")
        env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PROEFTUIN_CONFIG": str(hub.config_file)}
        env.pop("PROEFTUIN_ORG", None)
        for slug in missing:
            args = [hub.python, "-m", "proeftuin.cli", "run", slug, "--json"]
            for value in params:
                args += ["--param", value]
            result = subprocess.run(args, env=env, capture_output=True, text=True)  # noqa: S603
            if result.returncode != 0:
                say(f"  {slug}: training mislukt, de galerij toont een foutkaart. {result.stderr.strip()[-300:]}")
                continue
            metrics = json.loads(result.stdout).get("metrics", {})
            say(f"  {slug}: klaar ({', '.join(f'{k} {v:.3f}' for k, v in list(metrics.items())[:2])})")
    finally:
        stop_process(server, 30)
        log.close()
    return missing


def wait_for_socket(hub: HubContext, process: subprocess.Popen, timeout: float) -> None:
    """Until MLflow answers on its Unix socket (the hub starts it as a service)."""
    def healthy() -> bool:
        return unix_http_status(hub.mlflow_socket, f"{SERVICE_PREFIX}/mlflow/health") == 200

    if not wait_until(healthy, timeout, 0.5, process):
        raise ProeftuinError(f"MLflow antwoordt niet op {hub.mlflow_socket} na {timeout:.0f} s.")


def stop_user_processes(hub: HubContext) -> list[int]:
    """End every process of this platform's user accounts (pt-<name> for each home) still running while the
    platform is down: nothing a notebook started outlives the platform, and nothing is waiting when `up`
    starts its services (among them the training MLflow on loopback TCP)."""
    import pwd

    if not hub.isolate or not hub.homes_dir.is_dir():
        return []
    uids = set()
    for home in hub.homes_dir.iterdir():
        try:
            account = pwd.getpwnam(f"{SYSTEM_PREFIX}{home.name}")
        except KeyError:
            continue
        if account.pw_uid != 0:
            uids.add(account.pw_uid)
    stopped = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if proc.stat().st_uid in uids:
                os.kill(int(proc.name), signal.SIGKILL)
                stopped.append(int(proc.name))
        except (OSError, ProcessLookupError):
            continue
    return stopped


def ensure_limits(hub: HubContext, say: Say) -> hub_limits.Plan:
    """hub.limits: the platform's cgroup for the notebook servers (or rlimits), and one line that says which."""
    limits = hub.settings.hub.limits
    plan = hub_limits.prepare_platform(limits.memory, limits.cpu, hub_limits.group_name(hub.port))
    say(click.style(plan.describe(), fg=None if plan.enforced or plan.mechanism == "none" else "yellow"))
    return plan


def start_fork_server(hub: HubContext, log) -> subprocess.Popen | None:
    """The launcher for notebook servers (see hub_forkserver), with a scrubbed environment: what it holds
    in memory, every notebook server inherits."""
    path = hub.fork_server_socket
    if not socket_path_fits(path):
        return None
    path.unlink(missing_ok=True)
    return subprocess.Popen([*command_for(str(hub.server_bin / "python")), str(path)],  # noqa: S603
                            cwd="/", env=clean_environment(), stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=child_preexec)


def wait_for_fork_server(hub: HubContext, process: subprocess.Popen | None, timeout: float) -> bool:
    return process is not None and wait_until(hub.fork_server_socket.exists, timeout, 0.1, process)


def up_record(hub: HubContext) -> UpRecord:
    return UpRecord(hub.hub_dir / "up.json")


def stop_leftovers(hub: HubContext, say: Say) -> list[int]:
    """Processes of a previous `up` of this state folder that are still running (it was killed, or a child
    missed its stop): said in Dutch, stopped (SIGTERM, then SIGKILL), before anything is started. A running
    `up` of the same state folder is refused instead: that platform is in use. Returns the stopped pids."""
    running, left = leftovers(up_record(hub), hub.settings.state_dir)
    if running is not None:
        raise ProeftuinError(f"Proeftuin draait al met deze statusmap ({hub.settings.state_dir}, proces "
                             f"{running.pid}).",
                             f"Stop die eerst (Ctrl-C in zijn venster, of kill -INT {running.pid}), of start met "
                             "een andere statusmap (PROEFTUIN_HOME).")
    if not left:
        return []
    names = ", ".join(f"{_short(p.cmdline)} ({p.pid})" for p in left[:8]) + (" …" if len(left) > 8 else "")
    say(click.style(f"Er draaien nog processen van een vorige start: {names}. Die worden nu gestopt.",
                    fg="yellow"))
    remaining = stop_processes(left)
    if remaining:
        raise ProeftuinError("Deze processen van een vorige start konden niet gestopt worden: "
                             f"{', '.join(str(p.pid) for p in remaining)}.",
                             "Stop ze met `kill -9 <pid>` (als root) en start `proeftuin up` opnieuw.")
    up_record(hub).remove()
    return [p.pid for p in left]


def _short(command: str) -> str:
    """A readable name for a command line: the platform program it runs."""
    words = command.split()
    for marker in ("proeftuin.hub.proxy", "proeftuin.hub.services", "proeftuin.hub.forkserver", "-m"):
        if marker in words and words.index(marker) + 1 < len(words):
            at = words.index(marker)
            return " ".join(words[at:at + 2]) if marker != "-m" else " ".join(words[at + 1:at + 3])
    return Path(words[0]).name if words else "?"


class Recorder:
    """Keeps <state>/hub/up.json current: `up` itself, the hub, the fork server and all their descendants
    (the proxy, the services and their backends, notebook servers), rewritten when that set changes."""

    def __init__(self, hub: HubContext) -> None:
        self.record = up_record(hub)
        self.me = describe(os.getpid(), "up")
        self.roots: dict[int, str] = {}
        self.known: list = []
        self.last = 0.0

    def add(self, process: subprocess.Popen | None, what: str) -> None:
        if process is not None:
            self.roots[process.pid] = what
            self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        if self.me is None or (not force and time.monotonic() - self.last < 10):
            return
        self.last = time.monotonic()
        procs = tree(self.roots)
        if force or {(p.pid, p.start) for p in procs} != {(p.pid, p.start) for p in self.known}:
            self.known = procs
            self.record.write(self.me, procs)

    def sweep(self, hub: HubContext) -> None:
        """After the hub stopped: whatever of ours is still running (a proxy or a sign-on layer that missed
        the stop) gets SIGTERM, then SIGKILL; then the record goes."""
        found = [*self.known, *tree(self.roots), *marked_processes(hub.settings.state_dir)]
        seen = {(p.pid, p.start): p for p in found}
        stop_processes(list(seen.values()), grace=10)
        self.record.remove()


def run_platform(hub: HubContext, say: Say, train: bool = True) -> int:
    """Start everything and wait for Ctrl-C; returns the hub's exit code. `say` shows a line to the user (the
    command passes click.echo): this module does not print."""
    # A background `up` (`proeftuin up &` in a script) starts with SIGINT ignored: restore it first, so Ctrl-C
    # or `kill -INT` stops it at every step; `kill` (SIGTERM) stops it as cleanly.
    stop_on_sigterm()
    ensure_proxy_installed(hub, say)
    stop_leftovers(hub, say)
    ensure_ports_free(hub)
    check_storage(hub, say)
    ensure_hub_state(hub)
    check_state(hub)
    password, created = ensure_admin_password(hub.admin_password_file)
    stop_user_processes(hub)
    if train:
        ensure_champions(hub, say)
    stale = file_artifact_experiments(hub)
    ensure_service_state(hub)  # also what training and the checks above wrote as root (e.g. a new mlflow.db)
    if stale:
        say(click.style(f"Let op: de experimenten {', '.join(stale)} bewaren artefacten rechtstreeks in de "
                        "statusmap; vanuit notebooks kan je er lezen maar geen modellen in loggen. Zie "
                        "docs/developer/hub.md.", fg="yellow"))
    if not hub.isolate:
        say(click.style(f"Let op: gebruikers zijn NIET van elkaar afgeschermd ({hub.isolation_problem}). Alle "
                        "notebooks draaien onder één account en kunnen elkaars bestanden, de hubdatabank en de "
                        "statusmap lezen. Gebruik dit alleen voor een proef met één team; start als root voor "
                        "afscherming.", fg="yellow", bold=True))
    else:
        say(f"Afscherming: elke gebruiker een eigen account (pt-<naam>); MLflow en de kennissite draaien als "
            f"{SERVICE_ACCOUNT}, de galerij als {GALLERY_ACCOUNT}; MLflow en de galerij zijn alleen via "
            "/services/... bereikbaar (Unix-sockets).")
    limits = ensure_limits(hub, say)  # before the hub and the fork server start: they use what it prepared
    env = {**os.environ, "PROEFTUIN_CONFIG": str(hub.config_file), ENV_HUB_PORT: str(hub.port),
           "PROEFTUIN_HOME": str(hub.settings.state_dir)}
    log_path = hub.hub_dir / "jupyterhub.log"
    log = log_path.open("a")
    recorder = Recorder(hub)
    forks = start_fork_server(hub, log)
    recorder.add(forks, "snelstarter")
    # Its own session (a Ctrl-C in the terminal reaches only `up`, which stops the hub in order); default
    # signal actions and SIGTERM when `up` dies, also by SIGKILL.
    process = subprocess.Popen(  # noqa: S603 (fixed argv)
        [str(hub.bin_dir / "jupyterhub"), "-f", str(HUB_CONFIG_FILE)], cwd=hub.hub_dir, env=env,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=child_preexec)
    recorder.add(process, "hub")
    try:
        wait_for_url(f"{hub.internal_url}/hub/health", process, 120, "De hub")
        recorder.refresh(force=True)  # the proxy and the services now run
        try:
            wait_for_socket(hub, process, 180)
        except ProeftuinError as exc:
            say(click.style(f"Let op: {exc.message} De hub draait wel; zie {log_path}.",
                            fg="yellow"))
        recorder.refresh(force=True)
        if not wait_for_fork_server(hub, forks, 120):
            say(click.style("Let op: de snelstarter voor notebooks draait niet; notebookservers starten trager. "
                            f"Zie {log_path}.", fg="yellow"))
        say(click.style(f"Proeftuin draait op {hub.public_url}/", fg="green", bold=True))
        say(f"  portaal    {hub.public_url}/hub/portaal")
        for name, title in (("mlflow", "MLflow"), ("gallery", "galerij"), ("docs", "kennissite")):
            say(f"  {title:<10} {hub.public_url}{SERVICE_PREFIX}/{name}/")
        admin = hub.settings.hub.admin_user
        if hub.settings.hub.authenticator == "native":
            if created:
                say(click.style(f"Beheerder: {admin}, wachtwoord {password} (wordt maar één keer getoond).",
                                fg="cyan"))
            say(f"Het wachtwoord van {admin} staat in {hub.admin_password_file} (alleen leesbaar voor jou).")
            say(f"Nieuwe collega's vragen een account aan op {hub.public_url}/hub/signup; keur ze goed op "
                f"{hub.public_url}/hub/authorize.")
        say(f"Logboek: {log_path}. Stoppen: Ctrl-C.")
        restarts: list[float] = []
        while True:
            try:
                return process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            recorder.refresh()  # a restarted service, a new notebook server
            if forks is not None and forks.poll() is not None:  # a dead fork server is started again
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < 300] + [now]
                if len(restarts) > 3:  # keeps dying (e.g. an import fails): stop trying, exec still works
                    log.write(f"[proeftuin up] de snelstarter stopte {len(restarts)} keer in 5 minuten (code "
                              f"{forks.returncode}); notebookservers starten verder zonder snelstarter\n")
                    forks = None
                else:
                    log.write(f"[proeftuin up] de snelstarter stopte (code {forks.returncode}); opnieuw gestart\n")
                    forks = start_fork_server(hub, log)
                    recorder.add(forks, "snelstarter")
                log.flush()
    except KeyboardInterrupt:
        say("\nProeftuin wordt gestopt (notebooks, diensten, proxy)…")
        return 0
    finally:
        stop_process(process, 90)
        if forks is not None:
            stop_process(forks, 10)
        recorder.sweep(hub)  # nothing of ours outlives `up`, also what missed the hub's stop
        hub_limits.release_platform(limits)  # whatever a server left behind; then the platform's cgroup
        log.close()
