"""Benchmark of the privacy scrubber on hand-annotated text, side by side with simpler scrubbers.

Run: python bench/privacy_scrub.py [--deduce] [--misses]

Prints, per set and per type, recall as "no trace left" and as "mention fully covered" (one
placeholder), the share of findings that hit a mention, the share of ordinary words kept, and the
messages per second on one core for typical 300-character messages (the compiled scrubber beside the
same code as plain Python, when `make install` could compile it). Sets (bench/data/privacy/):
- dev.jsonl: written by one author; rules may be tuned on it;
- test.jsonl: written independently by another author, never looked at while tuning: the figure to report.
`--misses` lists what the scrubber misses on the *dev* set (never on the test set).
`--deduce` adds plain `deduce` (loading it takes a minute or more).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from privacy_annotated import DATA, KINDS, load, score  # noqa: E402
from privacy_corpus import generate  # noqa: E402

from proeftuin import privacy  # noqa: E402
from proeftuin.privacy import PurePythonScrubber, Scrubber  # noqa: E402

NAIVE = {
    "rijksregisternummer": re.compile(r"\b\d{2}[.]?\d{2}[.]?\d{2}[-]?\d{3}[.]?\d{2}\b"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}\b"),
    "telefoon": re.compile(r"(?:\+32|0)\d[\d /.]{7,11}\d"),
    "email": re.compile(r"\S+@\S+\.\w+"),
    "nummerplaat": re.compile(r"\b\d-[A-Z]{3}-\d{3}\b"),
    "adres": re.compile(r"\b[A-Z]\w+(?:straat|laan|plein|steenweg|weg) \d+"),
}


def naive_find(text: str) -> list[tuple[str, int, int]]:
    return [(k, m.start(), m.end()) for k, rx in NAIVE.items() for m in rx.finditer(text)]


DEDUCE_TYPES = {"persoon": "naam", "telefoonnummer": "telefoon", "emailadres": "email", "locatie": "adres"}


def deduce_finder():
    from deduce import Deduce

    model = Deduce()

    def find(text: str) -> list[tuple[str, int, int]]:
        doc = model.deidentify(text)
        return [(DEDUCE_TYPES[a.tag], a.start_char, a.end_char) for a in doc.annotations if a.tag in DEDUCE_TYPES]

    return find


def typical_messages(n: int, length: int = 300) -> list[str]:
    """`n` different messages of about `length` characters, cut at a word boundary from the annotated
    and the generated texts (both kinds of message a contact centre gets). No message is repeated:
    a repeated message would find the scrubber's word caches warm and flatter the figure."""
    texts = [r["text"] for name in ("dev", "test") for r in load(DATA / f"{name}.jsonl")]
    annotated = sum(map(len, texts))
    texts += [m.text for m in generate(max(0, n * length - annotated) // 100 + 100, 99, "heldout")]
    pool = " ".join(t.replace("\n", " ") for t in texts)
    out, i = [], 0
    while len(out) < n:
        j = pool.rfind(" ", i, i + length)
        if j <= i:
            i = 0
            continue
        out.append(pool[i:j])
        i = j + 1
    return out


def throughput(find, texts: list[str]) -> float:
    for t in texts[:200]:
        find(t)  # one-time loads (name lists, wordfreq tables) are not per-message cost
    start = time.perf_counter()
    for t in texts:
        find(t)
    return len(texts) / (time.perf_counter() - start)


def report(label: str, records: list[dict], systems: dict) -> None:
    scores = {name: score(records, f) for name, f in systems.items()}
    first = next(iter(scores.values()))
    print(f"\n== {label}: {len(records)} texts, {first['mentions']} mentions ==")
    print(f"{'type':22}{'n':>5}" + "".join(f"{name:>26}" for name in systems))
    print(f"{'':27}" + "".join(f"{'no trace / fully covered':>26}" for _ in systems))
    for kind in KINDS:
        n = first["per_type"][kind]["support"]
        cells = "".join(
            f"{'{:.3f} / {:.3f}'.format(s['per_type'][kind]['no_trace'], s['per_type'][kind]['fully_covered']):>26}"
            for s in scores.values())
        print(f"{kind:22}{n:>5}{cells}")
    print(f"{'findings on a mention':27}" + "".join(f"{s['precision']:>26.3f}" for s in scores.values()))
    print(f"{'ordinary words kept':27}" + "".join(f"{s['words_kept']:>26.4f}" for s in scores.values()))


def main() -> None:
    args = sys.argv[1:]
    systems = {"proeftuin": Scrubber().find, "patterns only": Scrubber(names=False).find, "naive regex": naive_find}
    if "--deduce" in args:
        t0 = time.perf_counter()
        systems["deduce 3.0.6"] = deduce_finder()
        print(f"deduce loaded in {time.perf_counter() - t0:.1f} s")
    dev, test = load(DATA / "dev.jsonl"), load(DATA / "test.jsonl")
    report("dev (one author; tuned on)", dev, systems)
    report("test (another author; never tuned on)", test, systems)
    if "--misses" in args:
        print("\n== misses on dev ==")
        for miss in score(dev, systems["proeftuin"])["misses"]:
            print(f"{miss['tag']:12} {miss['mention']!r:40} in {miss['context']!r}")
    texts = typical_messages(3000)
    mean = sum(map(len, texts)) / len(texts)
    build = "compiled with mypyc" if privacy.COMPILED else (
        "pure Python: no compiled build (python -m proeftuin.native build)")
    print(f"\n== throughput, one core, {len(texts)} messages of {mean:.0f} characters; scrubber {build} ==")
    if privacy.COMPILED:  # the same source as plain Python, side by side
        systems = {"proeftuin": systems["proeftuin"], "proeftuin, pure Python": PurePythonScrubber().find,
                   **{k: v for k, v in systems.items() if k != "proeftuin"}}
    speed = {name: throughput(f, texts) for name, f in systems.items()}
    for name, v in speed.items():
        print(f"{name:22}{v:>10.0f} msgs/s   ratio vs naive regex {v / speed['naive regex']:.2f}x")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    from _common import help_if_asked

    help_if_asked(__doc__)
    main()
