"""Collections that Proeftuin itself provides as documents: the lessons learned of the pilots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from proeftuin.pilot import lessons
from proeftuin.text import anchor


def lessons_documents(pilots_dir: Path) -> pd.DataFrame:
    """The platform's own lessons learned: one document per heading of each pilot's LESSONS.md."""
    rows = []
    for path in sorted(pilots_dir.glob("*/LESSONS.md")):
        slug = path.parent.name
        parsed = lessons.read(path, strict=True)  # invalid UTF-8: a DataError in Dutch naming the file
        for section in parsed.sections:
            heading, body = section.heading, section.body
            if body:
                rows.append({"id": f"lessen:{slug}:{anchor(heading)}", "text": f"{parsed.title}. {heading}. {body}",
                             "source": f"Lessen van pilot {slug} ({heading})"})
    return pd.DataFrame(rows, columns=["id", "text", "source"])
