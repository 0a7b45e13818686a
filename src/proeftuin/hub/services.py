"""The private backends behind the hub's sign-on layers (started and restarted by the hub).

Both listen on a Unix socket in a folder only their sign-on layer may enter, never on TCP: user code on
this machine cannot reach them except through /services/... with a hub token.

`python -m proeftuin.hub.services mlflow`: MLflow serving the platform's store and proxying artifacts (user
code never touches the state folder), under the prefix /services/mlflow.
`python -m proeftuin.hub.services gallery`: the demo gallery with root path /services/gallery; it reads the
champion models through /services/mlflow with its own hub token (a reader: it cannot write there).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from proeftuin.hub.context import ENV_SERVICE_HOME, SERVICE_PREFIX, HubContext, start_service
from proeftuin.process import (
    QUIET_MLFLOW,
    answers,
    child_preexec,
    mlflow_command,
    stop_group,
    wait_until,
)
from proeftuin.settings import Settings

log = logging.getLogger("proeftuin.hub.services")
# QUIET_MLFLOW: the UI asks the server for telemetry (`/ajax-api/3.0/mlflow/ui-telemetry`), which then says
# "disabled"; the sign-on layer answers that itself too.


def mlflow_backend_command(hub: HubContext, socket: Path | None, port: int | None = None,
                           workers: int = 1) -> list[str]:
    """MLflow behind /services/mlflow: artifacts go through the server (`mlflow-artifacts:/`). It listens on
    `socket`; `port` (loopback TCP) only for `up`'s training before the hub and any user server start."""
    settings: Settings = hub.settings
    listen = ["--uvicorn-opts", f"--uds {socket}"] if socket is not None else []
    return mlflow_command(
        settings.backend_store_uri, "127.0.0.1", port or settings.ports.mlflow, workers, *listen,
        "--serve-artifacts",
        "--artifacts-destination", settings.remote_artifact_root or hub.mlflow_artifacts_dir.as_uri(),
        "--default-artifact-root", "mlflow-artifacts:/",
        "--static-prefix", f"{SERVICE_PREFIX}/mlflow",
        python=str(hub.server_bin / "python"))


def root_path_guard(guard):
    """The gallery's rate limit and size cap, also for paths that carry the service prefix (root_path)."""
    from proeftuin.gallery import DemoGuard

    if not isinstance(guard, DemoGuard):
        return guard

    class RootPathDemoGuard(DemoGuard):
        def __init__(self) -> None:
            super().__init__(guard.app, guard.max_bytes, guard.per_minute)
            self.inner = guard.app
            self.app = self._restore_path

        async def __call__(self, scope, receive, send) -> None:
            root = scope.get("root_path", "")
            if scope["type"] == "http" and root and scope["path"].startswith(root + "/"):
                scope = {**scope, "path": scope["path"][len(root):], "proeftuin.full_path": scope["path"]}
            await super().__call__(scope, receive, send)

        async def _restore_path(self, scope, receive, send) -> None:
            if "proeftuin.full_path" in scope:
                scope = {**scope, "path": scope["proeftuin.full_path"]}
            await self.inner(scope, receive, send)

    return RootPathDemoGuard()


def _wait_for_mlflow(hub: HubContext, timeout: float = 180) -> None:
    """Both start together; the gallery loads the champions once, so it waits for MLflow first (through the
    hub, with its own token: the only way it reaches MLflow)."""
    token = {"Authorization": f"Bearer {os.environ.get('MLFLOW_TRACKING_TOKEN', '')}"}
    uri = os.environ.get("MLFLOW_TRACKING_URI") or hub.mlflow_service_uri  # in a Kubernetes pod: its Service
    if not wait_until(lambda: answers(f"{uri}/health", 3, token), timeout, interval=1):
        log.warning("MLflow is not up after %.0f s; the gallery starts without models", timeout)


def _own_log(path: Path) -> None:
    """The gallery runs registered model code: it writes to a log of its own instead of holding the hub's."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        log.warning("cannot open %s (%s); output stays in the hub's log", path, exc)
        return
    for target in (1, 2):
        os.dup2(fd, target)
    os.close(fd)


def run_gallery(hub: HubContext) -> None:
    import uvicorn

    from proeftuin.gallery import build_app

    _own_log(Path(os.environ.get(ENV_SERVICE_HOME) or hub.services_dir / "platform") / "gallery.log")
    _wait_for_mlflow(hub)
    guard = build_app(hub.settings)
    app = root_path_guard(guard)
    uvicorn.run(app, uds=str(hub.gallery_socket), root_path=f"{SERVICE_PREFIX}/gallery", log_level="warning",
                timeout_graceful_shutdown=5)


def run_mlflow(hub: HubContext) -> int:
    """MLflow (a launcher plus its uvicorn server) as one process group: when any part dies, all of it
    goes, and the hub starts it again."""
    import subprocess

    env = {**os.environ, **QUIET_MLFLOW}
    # its own group (stopped as a whole below); default signal actions, and SIGTERM when this launcher dies
    process = subprocess.Popen(mlflow_backend_command(hub, hub.mlflow_socket), env=env,  # noqa: S603
                               start_new_session=True, preexec_fn=child_preexec)
    try:
        code = process.wait()
        log.error("MLflow stopped with code %s; the hub will start it again", code)
        return code or 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_group(process)


def main(argv: list[str] | None = None) -> None:
    what, hub = start_service(argv)
    if what == "mlflow":
        sys.exit(run_mlflow(hub))
    elif what == "gallery":
        run_gallery(hub)
    else:
        sys.exit("gebruik: python -m proeftuin.hub.services mlflow|gallery")


if __name__ == "__main__":
    main()
