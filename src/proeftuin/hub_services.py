"""The private backends behind the hub's sign-on layers (started and restarted by the hub).

`python -m proeftuin.hub_services mlflow`: MLflow on its loopback port, serving the platform's store and
proxying artifacts (user code never touches the state folder), under the prefix /services/mlflow.
`python -m proeftuin.hub_services gallery`: the demo gallery with root path /services/gallery.
"""

from __future__ import annotations

import logging
import os
import sys

from proeftuin.hub import SERVICE_PREFIX, HubContext
from proeftuin.settings import Settings

log = logging.getLogger("proeftuin.hub_services")


def mlflow_backend_command(hub: HubContext, workers: int = 1) -> list[str]:
    """MLflow behind /services/mlflow: artifacts go through the server (`mlflow-artifacts:/`)."""
    settings: Settings = hub.settings
    return [
        hub.python, "-m", "mlflow", "server",
        "--backend-store-uri", settings.backend_store_uri,
        "--serve-artifacts",
        "--artifacts-destination", settings.mlflow.artifact_root or hub.mlflow_artifacts_dir.as_uri(),
        "--default-artifact-root", "mlflow-artifacts:/",
        "--static-prefix", f"{SERVICE_PREFIX}/mlflow",
        "--host", "127.0.0.1",
        "--port", str(settings.ports.mlflow),
        "--workers", str(workers),
    ]


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
    """Both start together; the gallery loads the champions once, so it waits for MLflow first."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{hub.mlflow_internal_uri}/health", timeout=3):  # noqa: S310
                return
        except OSError:
            time.sleep(1)
    log.warning("MLflow is not up after %.0f s; the gallery starts without models", timeout)


def run_gallery(hub: HubContext) -> None:
    import uvicorn

    from proeftuin.gallery import build_app

    _wait_for_mlflow(hub)
    guard = build_app(hub.settings)
    app = root_path_guard(guard)
    uvicorn.run(app, host="127.0.0.1", port=hub.settings.ports.gallery, root_path=f"{SERVICE_PREFIX}/gallery",
                log_level="warning", timeout_graceful_shutdown=5)


def run_mlflow(hub: HubContext) -> int:
    """MLflow (a launcher plus its uvicorn server) as one process group: when any part dies, all of it
    goes, and the hub starts it again."""
    import signal
    import subprocess

    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    process = subprocess.Popen(mlflow_backend_command(hub), env=env, start_new_session=True)  # noqa: S603
    try:
        code = process.wait()
        log.error("MLflow stopped with code %s; the hub will start it again", code)
        return code or 1
    except KeyboardInterrupt:
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=5)
                os.killpg(process.pid, 0)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                continue


def main(argv: list[str] | None = None) -> None:
    _exit_on_signals()
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    what = (argv or sys.argv[1:] or [""])[0]
    hub = HubContext.from_environment()
    if what == "mlflow":
        sys.exit(run_mlflow(hub))
    elif what == "gallery":
        run_gallery(hub)
    else:
        sys.exit("gebruik: python -m proeftuin.hub_services mlflow|gallery")


def _exit_on_signals() -> None:
    """The hub stops a service with SIGINT, then SIGTERM: both end it, even if SIGINT was inherited ignored."""
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)


if __name__ == "__main__":
    main()
