"""JupyterHub for Proeftuin: load proeftuin.yaml, set traits, then the local escape hatch.

All values are set by small functions in `proeftuin.hub.context` (tested against a bare Config);
put site-specific extras in jupyterhub_config.d/*.py, loaded last and in name order.
"""

from pathlib import Path

from proeftuin.hub.context import HubContext, apply_config, load_config_d

c = get_config()  # noqa: F821 (provided by JupyterHub)
apply_config(c, HubContext.from_environment())
load_config_d(load_subconfig, Path(__file__).parent / "jupyterhub_config.d")  # noqa: F821
