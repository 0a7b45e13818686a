"""Proeftuin: the shared AI sandbox of the South-West Flemish cities and municipalities."""

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

# Proeftuin sends no usage data anywhere. MLflow and Gradio report usage to their makers by default;
# both are off for every process that imports proeftuin (CLI, services, notebooks) unless an
# administrator sets the variable explicitly.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

#: Modules that moved into packages (docs/developer/architecture.md). Pilots, notebooks, the models logged
#: before the move (their entry files and skops files name these modules) and an administrator's
#: jupyterhub_config.py keep importing the old names: each is the new module itself, not a copy.
MOVED = {
    "proeftuin.cli_docs": "proeftuin.cli.docs",
    "proeftuin.cli_hub": "proeftuin.cli.hub",
    "proeftuin.cli_ideas": "proeftuin.cli.ideas",
    "proeftuin.cli_privacy": "proeftuin.cli.privacy",
    "proeftuin.cli_templates": "proeftuin.cli.templates",
    "proeftuin.hub_auth": "proeftuin.hub.auth",
    "proeftuin.hub_forkserver": "proeftuin.hub.forkserver",
    "proeftuin.hub_kernel": "proeftuin.hub.kernel",
    "proeftuin.hub_limits": "proeftuin.hub.limits",
    "proeftuin.hub_permissions": "proeftuin.hub.permissions",
    "proeftuin.hub_platform": "proeftuin.hub.platform",
    "proeftuin.hub_portal": "proeftuin.hub.portal",
    "proeftuin.hub_process": "proeftuin.process",
    "proeftuin.hub_proxy": "proeftuin.hub.proxy",
    "proeftuin.hub_seed": "proeftuin.hub.seed",
    "proeftuin.hub_services": "proeftuin.hub.services",
    "proeftuin.hub_spawner": "proeftuin.hub.spawner",
    "proeftuin.retrieval": "proeftuin.engines.retrieval",
    "proeftuin.scenario": "proeftuin.engines.scenario",
    "proeftuin.site_hooks": "proeftuin.site.hooks",
    "proeftuin.site_watch": "proeftuin.site.watch",
    "proeftuin.survey": "proeftuin.engines.survey",
    "proeftuin.templates": "proeftuin.scaffold",
    "proeftuin.textclf": "proeftuin.engines.textclf",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module name as the module it moved to (the same object in sys.modules)."""

    def find_spec(self, name, path=None, target=None):
        if name in MOVED:
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        # importlib returns whatever sys.modules holds under the name after this call
        sys.modules[module.__name__] = importlib.import_module(MOVED[module.__name__])

    def get_code(self, name):
        """The moved module's code, so that `python -m <old name>` runs it (runpy asks for this)."""
        target = MOVED[name]
        return importlib.util.find_spec(target).loader.get_code(target)


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())
