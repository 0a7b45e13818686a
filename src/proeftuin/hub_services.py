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
            with urllib.request.urlopen(f"{hub.mlflow_backend_url}{SERVICE_PREFIX}/mlflow/health", timeout=3):  # noqa: S310
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


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    what = (argv or sys.argv[1:] or [""])[0]
    hub = HubContext.from_environment()
    if what == "mlflow":
        command = mlflow_backend_command(hub)
        os.execv(command[0], command)  # noqa: S606 (fixed argv); the hub supervises this process directly
    elif what == "gallery":
        run_gallery(hub)
    else:
        sys.exit("gebruik: python -m proeftuin.hub_services mlflow|gallery")


if __name__ == "__main__":
    main()
