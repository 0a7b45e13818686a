"""What the governance tests share: AI-Act answers and reading and editing a copied pilot's manifest."""

from __future__ import annotations

from pathlib import Path

import yaml

BASE = {"algoritme": "ja", "rol": "eigen-gebruik", "ai_systeem": "ja", "uitzondering": "nee", "verboden": ["geen"],
        "bijlage_i": "nee", "bijlage_iii": ["geen"], "interactie": "nee", "genereert": "nee",
        "emotie_biometrie": "nee", "open_source": "nee", "impactvol": "nee"}
#: A municipality deciding with a model who is entitled to a supplementary benefit (bijlage III, punt 5, a).
BENEFITS = {**BASE, "bijlage_iii": ["openbare-diensten"], "profilering": "ja"}
del BENEFITS["impactvol"]


def manifest(folder: Path) -> dict:
    return yaml.safe_load((folder / "pilot.yaml").read_text(encoding="utf-8"))


def edit(folder: Path, **changes) -> None:
    """Change top-level fields of the pilot's manifest, as a person editing pilot.yaml would."""
    found = manifest(folder)
    found.update(changes)
    (folder / "pilot.yaml").write_text(yaml.safe_dump(found, allow_unicode=True, sort_keys=False), encoding="utf-8")
