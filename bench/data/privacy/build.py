"""Turn the hand-marked privacy test texts (`*.marked.txt`) into `{text, annotations}` JSON lines.

Markup, one message per block (blocks separated by a line with only `---`):
    Beste, ik ben ⟦naam|Mw. Dr. A.B. de Vries⟧ en woon op ⟦adres|Kerkstraat 12 bus 3, 8500 Kortrijk⟧.
Tags: naam, adres, telefoon, email, rijksregisternummer, iban, nummerplaat. A line starting with `#`
is a comment. Run: python bench/data/privacy/build.py  (writes dev.jsonl and test.jsonl next to it).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TAGS = {"naam", "adres", "telefoon", "email", "rijksregisternummer", "iban", "nummerplaat"}
_MARK = re.compile(r"⟦([a-z]+)\|(.*?)⟧", re.S)


def parse_block(block: str) -> dict:
    lines = [ln for ln in block.strip("\n").splitlines() if not ln.startswith("#")]
    raw = "\n".join(lines).strip()
    text, annotations, pos = [], [], 0
    length = 0
    for m in _MARK.finditer(raw):
        tag, inner = m.group(1), m.group(2)
        if tag not in TAGS:
            raise ValueError(f"onbekende tag {tag!r} in: {raw[:80]}")
        if "⟦" in inner or "⟧" in inner:
            raise ValueError(f"geneste markering in: {raw[:80]}")
        before = raw[pos : m.start()]
        text.append(before)
        length += len(before)
        annotations.append({"start": length, "end": length + len(inner), "tag": tag})
        text.append(inner)
        length += len(inner)
        pos = m.end()
    rest = raw[pos:]
    if "⟦" in rest or "⟧" in rest:
        raise ValueError(f"onafgesloten markering in: {raw[:80]}")
    text.append(rest)
    return {"text": "".join(text), "annotations": annotations}


def build(marked: Path) -> list[dict]:
    blocks = re.split(r"^---[ \t]*$", marked.read_text(encoding="utf-8"), flags=re.M)
    return [parse_block(b) for b in blocks if b.strip() and not all(
        ln.startswith("#") or not ln.strip() for ln in b.splitlines())]


def main() -> None:
    for name in ("dev", "test"):
        marked = HERE / f"{name}.marked.txt"
        if not marked.exists():
            print(f"{marked.name}: ontbreekt, overgeslagen", file=sys.stderr)
            continue
        records = build(marked)
        out = HERE / f"{name}.jsonl"
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        counts: dict[str, int] = {}
        for r in records:
            for a in r["annotations"]:
                counts[a["tag"]] = counts.get(a["tag"], 0) + 1
        print(f"{out.name}: {len(records)} teksten, {sum(counts.values())} vermeldingen {counts}")


if __name__ == "__main__":
    main()
