"""Families: a pilot, the pilot it was forked from, and the forks of it (recorded as `forked_from`).

`proeftuin new --from` (proeftuin.scaffold) records the link; the site's family table and `proeftuin
compare --family` read the family from it. It lives with the pilot contract, so that neither needs
the scaffold to know who belongs together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Relative:
    slug: str
    forked_from: str | None
    depth: int  # 0 for the family's origin, 1 for its forks, ...


def family(slug: str, origins: Mapping[str, str | None]) -> list[Relative]:
    """The family tree around `slug`, origin first, then depth first by slug.

    `origins` maps every known pilot to the pilot it was forked from (None for an original). A
    `forked_from` naming a pilot that no longer exists ends the line upwards; a loop is cut.
    """
    if slug not in origins:
        return [Relative(slug, None, 0)]
    root, seen = slug, {slug}
    while (parent := origins.get(root)) in origins and parent not in seen:
        seen.add(parent)
        root = parent
    children: dict[str, list[str]] = {}
    for child, parent in origins.items():
        if parent and child != root:
            children.setdefault(parent, []).append(child)
    found: list[Relative] = []
    stack = [(root, 0)]
    visited: set[str] = set()
    while stack:
        node, depth = stack.pop()
        if node in visited:
            continue
        visited.add(node)
        found.append(Relative(node, origins.get(node), depth))
        stack += [(child, depth + 1) for child in sorted(children.get(node, []), reverse=True)]
    return found
