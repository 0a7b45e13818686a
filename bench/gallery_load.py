"""Load on the gallery: N simulated visitors call the vragenrouter's /predict for a bounded time.

The same load, with the same predict function, then runs against a plain `gr.Interface(...).launch()`
with default settings; both are printed side by side with the ratio. Everything stays on loopback;
each visitor uses its own 127.x address (so the gallery's per-client rate limit sees separate clients).

Two paces, both measured:
- visitors (the goal): a person at an inspiration day picks or types a question, reads the four
  answers (route, top 3, words, scrubbed text) and asks again after 5 to 15 seconds; arrivals are
  spread over the first 5 seconds. 300 of them ask about 25 questions per second.
- stress: the same visitors asking again 0.5 to 2 seconds after each answer (about 8x the demand):
  shows the capacity, where latency grows with the queue.

Usage: python bench/gallery_load.py [--visitors 300] [--seconds 30] [--max-rows 0] [--pace visitors|stress|both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp  # noqa: E402
from _common import ROOT, percentile

from proeftuin.services import free_port, wait_for_url  # noqa: E402

QUESTIONS = [
    "Treinen op de lijn Kortrijk-Gent hebben elke ochtend vertraging. Wat doet de NMBS daaraan?",
    "Hoeveel asielaanvragen werden vorig jaar ingediend en hoe lang duurt de behandeling gemiddeld?",
    "Hoeveel militairen worden ingezet voor de bewaking van de straten en wat kost dat?",
    "Hoeveel gevangenen verblijven in de gevangenis van Brugge en hoe groot is de overbevolking?",
    "Wanneer wordt de pensioenbonus afgeschaft en wat betekent dat voor zelfstandigen?",
    "Hoeveel controles op sociale fraude gebeurden in de bouwsector in 2016?",
]
PACES = {"visitors": ((5.0, 15.0), 5.0), "stress": ((0.5, 2.0), 2.0)}  # (think seconds, arrival spread)


async def ask(session: aiohttp.ClientSession, base: str, question: str) -> None:
    """One /predict call the way gradio_client makes it: POST the input, read the result from the stream."""
    async with session.post(f"{base}/gradio_api/call/predict", json={"data": [question]}) as posted:
        posted.raise_for_status()
        event_id = (await posted.json())["event_id"]
    done = False
    async with session.get(f"{base}/gradio_api/call/predict/{event_id}") as stream:
        stream.raise_for_status()
        async for raw in stream.content:
            line = raw.decode()
            if line.startswith("event: error"):
                raise RuntimeError("event error")
            if line.startswith("event: complete"):
                done = True
            elif done and line.startswith("data:"):
                json.loads(line[5:])
                return
    raise RuntimeError("stream ended without result")


async def visitor(index: int, base: str, stop_at: float, pace: str, results: list, errors: list) -> None:
    address = f"127.0.{1 + index // 250}.{2 + index % 250}"
    rng = random.Random(index)
    (think_min, think_max), spread = PACES[pace]
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.sleep(rng.uniform(0, spread))
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            try:
                await ask(session, base, rng.choice(QUESTIONS))
                results.append(time.perf_counter() - start)
            except Exception as exc:  # counted, not fatal: the benchmark reports errors
                errors.append(f"{type(exc).__name__}: {exc}"[:120])
            await asyncio.sleep(rng.uniform(think_min, think_max))


async def load(base: str, visitors: int, seconds: float, pace: str) -> dict:
    results: list[float] = []
    errors: list[str] = []
    start = time.monotonic()
    stop_at = start + seconds
    await asyncio.gather(*(visitor(i, base, stop_at, pace, results, errors) for i in range(visitors)))
    elapsed = time.monotonic() - start
    ms = [r * 1000 for r in results] or [float("nan")]
    return {"ok": len(results), "errors": len(errors), "p50": percentile(ms, 50), "p95": percentile(ms, 95),
            "p99": percentile(ms, 99), "per_s": len(results) / elapsed, "sample_error": errors[:1]}


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=open(log, "w"),  # noqa: SIM115
                            stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--max-rows", type=int, default=0, help="train the champion on fewer rows (0 = all)")
    parser.add_argument("--pace", choices=[*PACES, "both"], default="both")
    options = parser.parse_args()
    paces = list(PACES) if options.pace == "both" else [options.pace]
    state = Path(tempfile.mkdtemp(prefix="gallery-bench-"))
    env = {**os.environ, "PROEFTUIN_HOME": str(state)}
    env.pop("MLFLOW_TRACKING_URI", None)
    print("training the champion…", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "proeftuin.cli", "run", "vragenrouter", "--param",
                    f"max_rows={options.max_rows}"], cwd=ROOT, env=env, check=True, capture_output=True)
    rows = {}
    for name, args, path in (
        ("gallery", ["-m", "proeftuin.cli", "gallery", "--port"], "/demo/vragenrouter"),
        ("plain gr.Interface", [str(ROOT / "bench" / "_plain_interface.py")], ""),
    ):
        port = free_port()
        server = start([*args, str(port)], env, state / f"{name.split()[0]}.log")
        base = f"http://127.0.0.1:{port}{path}"
        try:
            wait_for_url(f"{base}/", server, timeout=300, what=name)
            for pace in paces:
                print(f"{name}: {options.visitors} visitors, {pace} pace, {options.seconds:.0f} s…", file=sys.stderr)
                rows[name, pace] = asyncio.run(load(base, options.visitors, options.seconds, pace))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"\n{options.visitors} visitors, {options.seconds:.0f} s, loopback, {os.cpu_count()} cores, "
          f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'':<20}{'pace':<10}{'ok':>7}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>8}")
    for (name, pace), r in rows.items():
        print(f"{name:<20}{pace:<10}{r['ok']:>7}{r['errors']:>8}{r['p50']:>9.0f}{r['p95']:>9.0f}{r['p99']:>9.0f}"
              f"{r['per_s']:>8.1f}" + (f"   e.g. {r['sample_error'][0]}" if r["sample_error"] else ""))
    for pace in paces:
        ours, plain = rows["gallery", pace], rows["plain gr.Interface", pace]
        print(f"{pace}: ratio plain / gallery p95 latency {plain['p95'] / ours['p95']:.1f}x, "
              f"throughput gallery / plain {ours['per_s'] / max(plain['per_s'], 1e-9):.1f}x")
    for pace in paces:
        ours = rows["gallery", pace]
        met = ours["p95"] <= 1000 and not ours["errors"]
        print(f"goal ({pace} pace): p95 <= 1000 ms with 0 errors -> {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
