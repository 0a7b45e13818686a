"""JupyterLab per user, on this machine: a home in the state folder, seeded with the pilots and a Dutch
"Start hier" notebook, and an environment that points MLflow at the hub's service with the user's token.

When the hub runs as root (`isolate`), every hub user gets a system account `pt-<name>` and their server
runs under it: user code cannot read the hub's database, secrets, MLflow's store or other homes.
Without root everything runs as the one account that started the platform (a single-team trial).

Servers start through the fork server (`proeftuin.hub.forkserver`, started by `proeftuin up`) when it
answers, else the usual way (exec); either way under the same account, in the same home, with the same
environment. Seeding a home and creating an account run in a thread, never on the hub's event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import threading
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from jupyterhub.utils import maybe_future, random_port
from traitlets import Bool, List, Unicode

from proeftuin.hub import limits as hub_limits
from proeftuin.hub import seed as hub_seed
from proeftuin.hub.forkserver import ForkServerError, spawn
from proeftuin.hub.seed import seed_home

SYSTEM_PREFIX = "pt-"
#: Server extensions a Proeftuin notebook server does not use (no language servers are installed; no
#: classic-notebook extensions); each costs start-up time. A user may enable them in ~/.jupyter.
DISABLED_EXTENSIONS = ("jupyter_lsp", "notebook_shim")
#: JupyterLab without calls to the internet: no news feed, no "newer version" check against PyPI (the
#: handlers answer empty), and the extension manager read-only (no PyPI listing; users cannot install
#: into the platform anyway). The matching settings defaults (fetchNews "false", checkForUpdates false) and
#: Dutch as the default language are in hub_config/jupyter/labconfig/default_setting_overrides.json.
LAB_ARGS = ("--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate")
_ACCOUNTS = threading.Lock()  # useradd locks /etc/passwd: one at a time


def system_username(hub_name: str) -> str:
    """A prefix keeps hub names (e.g. 'root') from ever matching an existing system account."""
    return f"{SYSTEM_PREFIX}{hub_name}"


def ensure_system_user(name: str, home: Path) -> pwd.struct_passwd:
    """The user's system account, created when missing (one useradd at a time: it locks /etc/passwd). No login
    shell: the account exists only to run the user's server (terminals in JupyterLab use $SHELL)."""
    with _ACCOUNTS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            subprocess.run(  # noqa: S603 (fixed argv, validated name)
                [shutil.which("useradd") or "/usr/sbin/useradd", "--no-create-home", "--home-dir", str(home),
                 "--shell", "/usr/sbin/nologin", "--user-group", "--comment", "Proeftuin-gebruiker", name],
                check=True, capture_output=True, text=True)
            return pwd.getpwnam(name)


class ProeftuinSpawner(LocalProcessSpawner):
    homes_dir = Unicode(help="Folder holding one home per hub user (in the state folder).").tag(config=True)
    isolate = Bool(False, help="Run each server under its own system account (needs root).").tag(config=True)
    organisations = List(Unicode(), help="Organisation slugs; the user's group among them is PROEFTUIN_ORG.").tag(
        config=True)
    tracking_uri = Unicode(help="MLflow as users reach it: the hub's /services/mlflow.").tag(config=True)
    seed_notebook = Unicode(help="The Dutch 'Start hier' notebook copied into new homes.").tag(config=True)
    pilots_dir = Unicode(help="Pilots copied into each home (code and manifest; data linked).").tag(config=True)
    templates_dir = Unicode(help="Pilot templates (templates/<kind>/) copied into each home.").tag(config=True)
    proeftuin_config = Unicode(help="proeftuin.yaml, so `proeftuin` works in a notebook.").tag(config=True)
    bin_dir = Unicode(help="The virtualenv's bin folder (proeftuin, jupyter).").tag(config=True)
    jupyter_prefix = Unicode(help="The platform's environment: its etc/jupyter enables JupyterLab and the other "
                                  "server extensions, its share/jupyter holds lab extensions and kernels. User "
                                  "servers on the runtime virtualenv would not see them otherwise.").tag(config=True)
    server_logs_dir = Unicode(help="Folder of the per-server logs (in the hub's private folder).").tag(config=True)
    lab_config_dir = Unicode(help="A Jupyter config folder read before the platform's (JUPYTER_CONFIG_PATH): its "
                                  "labconfig/default_setting_overrides.json sets JupyterLab's defaults for every user "
                                  "(Dutch, no news); a user's own settings still win.").tag(config=True)
    fork_server = Unicode(help="Unix socket of the fork server (proeftuin.hub.forkserver); empty: always "
                               "start servers the usual way.").tag(config=True)

    @property
    def home_dir(self) -> Path:
        return Path(self.homes_dir) / self.user.name

    @property
    def organisation(self) -> str:
        groups = sorted(g.name for g in self.user.groups if g.name in self.organisations)
        return groups[0] if groups else ""

    async def start(self):
        home, account = self.home_dir, system_username(self.user.name) if self.isolate else None
        await asyncio.to_thread(self.prepare_home, home, account)
        self.notebook_dir = str(home)
        if self.fork_server and not (self.shell_cmd or self.popen_kwargs):
            try:
                return await self._start_forked(home, account)
            except ForkServerError as exc:
                self.log.warning("Fork server unavailable for %s (%s); starting the usual way", self.user.name, exc)
        return await self._start_exec()

    async def _start_exec(self):
        """LocalProcessSpawner.start with the server's output in its own log and nothing on stdin (it would
        otherwise inherit the hub's log file)."""
        configured = dict(self.popen_kwargs)
        log = self.server_log()
        self.popen_kwargs = {"stdin": subprocess.DEVNULL, "stdout": log, "stderr": subprocess.STDOUT, **configured}
        try:
            return await super().start()
        finally:
            self.popen_kwargs = configured
            os.close(log)

    async def _start_forked(self, home: Path, account: str | None):
        if self.port == 0:
            self.port = random_port()
        argv = [*self.cmd, *self.get_args()]
        env = self.get_env()
        self.log.info("Spawning %s (fork server)", shlex.join(argv))

        def started(pid: int) -> None:
            self.proc, self.pid = None, pid  # poll/stop by pid, as after a hub restart

        log = self.server_log()
        try:
            await spawn(Path(self.fork_server), argv, env, str(home), account, started, self.start_timeout, log=log)
        finally:
            os.close(log)
        return (self.ip or "127.0.0.1", self.port)

    def prepare_home(self, home: Path, account_name: str | None) -> None:
        """Create the home (as root: the homes folder is root's) and seed it as the user (hub_seed), so links
        the user planted in their home are only followed with the user's own rights.

        Runs in a thread: no hub database access here (home and account name are passed in)."""
        Path(self.homes_dir).mkdir(mode=0o711 if self.isolate else 0o700, parents=True, exist_ok=True)
        home.mkdir(mode=0o700, exist_ok=True)
        if not stat.S_ISDIR(home.lstat().st_mode):
            raise RuntimeError(f"{home} is not a folder")
        request = {"home": str(home), "notebook": self.seed_notebook, "pilots_dir": self.pilots_dir,
                   "templates_dir": self.templates_dir}
        if not self.isolate:
            for problem in seed_home(home, self.seed_notebook, self.pilots_dir, self.templates_dir):
                self.log.warning("Seeding %s: skipped %s", home, problem)
            return
        account = ensure_system_user(account_name, home)
        info = home.lstat()
        if (info.st_uid, info.st_gid) != (account.pw_uid, account.pw_gid):
            os.lchown(home, account.pw_uid, account.pw_gid)
        home.chmod(0o700)  # a folder (checked above) in a folder only root may change
        done = subprocess.run(  # noqa: S603 (fixed argv: the platform's Python and our own script)
            [str(Path(self.bin_dir) / "python"), "-I", "-S", hub_seed.__file__, json.dumps(request)],
            user=account.pw_uid, group=account.pw_gid, extra_groups=[], cwd=home, env={"LANG": "C.UTF-8"},
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or done.stderr:
            self.log.warning("Seeding %s as %s: %s", home, account_name, done.stderr.strip()[-1000:])

    def server_log(self) -> int:
        """A descriptor on the server's own log (the hub's private folder, root-only): a server never holds the
        hub's log, nor any other descriptor of the platform's."""
        folder = Path(self.server_logs_dir)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return os.open(folder / f"{self.user.name}.log",
                       os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)

    def make_preexec_fn(self, name):
        enter_limits = hub_limits.prepare_for_spawner(self)  # makes the user's cgroup now; the child enters it
        if self.isolate:
            drop = set_user_setuid(system_username(name))

            def preexec_isolated():
                enter_limits()  # as root, before dropping privileges: the server and all it starts are inside
                drop()

            return preexec_isolated
        home = str(self.home_dir)

        def preexec():
            enter_limits()
            os.chdir(home)

        return preexec

    async def run_post_stop_hook(self):
        """After every stop, also of a server that died by itself: kill what is left in the user's cgroup
        (kernels, background processes) and remove it. No user process outlives its server."""
        await maybe_future(super().run_post_stop_hook())
        if not await asyncio.to_thread(hub_limits.release_for_spawner, self):
            self.log.warning("Processes of %s's server were still running after SIGKILL", self.user.name)

    def get_args(self):
        args = [*super().get_args(), *(f"--ServerApp.jpserver_extensions={name}=False" for name in DISABLED_EXTENSIONS),
                *LAB_ARGS]
        if not self.isolate and os.geteuid() == 0:
            args.append("--allow-root")  # hub.isolation: none as root; `up` warns that nothing is isolated
        return args

    def user_env(self, env):
        env["USER"] = system_username(self.user.name) if self.isolate else pwd.getpwuid(os.getuid()).pw_name
        env["HOME"] = str(self.home_dir)
        env["SHELL"] = "/bin/bash"
        return env

    def get_env(self):
        env = super().get_env()
        env["PATH"] = f"{self.bin_dir}:{env.get('PATH', '/usr/local/bin:/usr/bin:/bin')}"
        env["MLFLOW_TRACKING_URI"] = self.tracking_uri
        env["MLFLOW_TRACKING_TOKEN"] = env.get("JUPYTERHUB_API_TOKEN", "")
        env["MLFLOW_DISABLE_TELEMETRY"] = "true"  # notebooks send no usage data to MLflow's makers
        env["DO_NOT_TRACK"] = "true"  # nor to others that honour it
        config_path = [self.lab_config_dir] if self.lab_config_dir else []
        if self.jupyter_prefix:
            config_path.append(str(Path(self.jupyter_prefix) / "etc" / "jupyter"))
        if config_path:
            env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(config_path)
        if self.jupyter_prefix:
            env["JUPYTER_PATH"] = str(Path(self.jupyter_prefix) / "share" / "jupyter")
        env["PROEFTUIN_ORG"] = self.organisation
        env["PROEFTUIN_USER"] = self.user.name
        env["PROEFTUIN_CONFIG"] = self.proeftuin_config
        env["PROEFTUIN_HOME"] = str(self.home_dir / ".proeftuin")  # never the platform's state folder
        env["PROEFTUIN_PILOTS_DIR"] = str(self.home_dir / "pilots")
        return env
