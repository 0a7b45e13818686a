"""Benchmark of the privacy scrubber against plain `deduce` and a naive regex scrubber.

Run: python bench/privacy_scrub.py [N]. Prints precision/recall per type on the seen and the
held-out corpus, ordinary-word survival and messages per second on one core, side by side.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from privacy_corpus import evaluate, generate  # noqa: E402

from proeftuin.privacy import Scrubber  # noqa: E402

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


def throughput(find, texts: list[str]) -> float:
    start = time.perf_counter()
    for t in texts:
        find(t)
    return len(texts) / (time.perf_counter() - start)


def main(n: int = 2000) -> None:
    corpora = {"seen (seed 7)": generate(n, 7, "seen"), "held-out (seed 2024, unseen names)": generate(n, 2024, "heldout")}
    t0 = time.perf_counter()
    dd = deduce_finder()
    print(f"deduce loaded in {time.perf_counter() - t0:.1f} s")
    systems = {"proeftuin": Scrubber().find, "patterns only": Scrubber(names=False).find,
               "deduce 3.0.6": dd, "naive regex": naive_find}
    texts = [m.text for m in corpora["seen (seed 7)"]]
    # One-time loads (wordfreq's nl/en/fr tables, deduce's lookup structures) are not per-message
    # cost: time them apart, then measure throughput warm, each system after the same warm-up.
    warmup = [m.text for m in generate(200, 99, "heldout")]
    for name, f in systems.items():
        t0 = time.perf_counter()
        for t in warmup:
            f(t)
        print(f"warm-up {name:16} {time.perf_counter() - t0:5.2f} s for {len(warmup)} messages (incl. one-time loads)")
    speed = {name: throughput(f, texts) for name, f in systems.items()}
    for label, msgs in corpora.items():
        scores = {name: evaluate(msgs, f) for name, f in systems.items()}
        print(f"\n== {label}: {len(msgs)} messages ==")
        print(f"{'type':22}" + "".join(f"{name:>24}" for name in systems))
        for kind in scores["proeftuin"]["per_type"]:
            cells = "".join(
                f"{'P %.3f R %.3f' % (s['per_type'][kind]['precision'], s['per_type'][kind]['recall']):>24}"
                for s in scores.values())
            print(f"{kind:22}{cells}   n={scores['proeftuin']['per_type'][kind]['support']}")
        print(f"{'word survival':22}" + "".join(f"{s['word_survival']:>24.4f}" for s in scores.values()))
    print("\n== throughput, one core, seen corpus ==")
    for name, v in speed.items():
        print(f"{name:22}{v:>10.0f} msgs/s   ratio vs deduce {v / speed['deduce 3.0.6']:.2f}x   "
              f"vs naive regex {v / speed['naive regex']:.2f}x")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    from _common import help_if_asked

    help_if_asked(__doc__)
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
