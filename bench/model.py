"""Measure 6: `replay model` over 100k flows of many users: wall time and peak RSS against the
capture's size (issue 15: under a minute, memory under 2x the capture).

The capture is generated in the recorder's own line format: visitors of three flow types in
shares 60/30/10, each from its own address with its own session cookie, arriving on a ramp and a
peak over two hours, every page answered with a 2 KB HTML document (as the demo app's are).
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

from bench.common import GENERATOR_CPU, OUT, PYTHON, ROOT, mb, run_measured, spread, table, verdict
from recorder.addon import FORMAT, VERSION

ORIGIN = "http://shop.test"
FLOWS = {
    "browse": ["GET /", "GET /products", "GET /products/{slug}", "GET /products/{slug}"],
    "shop": ["GET /shop", "GET /products/{slug}", "POST /cart", "GET /cart", "POST /checkout"],
    "signup": ["GET /signup", "POST /signup", "GET /account"],
}
SHARES = {"browse": 6, "shop": 3, "signup": 1}
SLUGS = ["espresso-cup", "pour-over-kettle", "burr-grinder", "house-blend", "travel-mug"]
PAGE = "<!doctype html><html><body><main>{}</main></body></html>"
SPAN = 2 * 3600.0
"""Seconds the generated traffic covers: long enough to be counted per minute."""


def generate(path: str | Path, flows: int, seed: int = 7) -> int:
    """A capture of about `flows` exchanges; the exchanges written."""
    rng = random.Random(seed)
    kinds = [kind for kind, n in SHARES.items() for _ in range(n)]
    mean_length = sum(len(FLOWS[k]) * n for k, n in SHARES.items()) / sum(SHARES.values())
    sessions = int(flows / mean_length)
    # A ramp to a peak at two thirds of the span and down again: starts drawn from a triangle.
    starts = sorted(rng.triangular(0, SPAN, SPAN * 2 / 3) for _ in range(sessions))
    records = []
    for number, start in enumerate(starts):
        kind = kinds[number % len(kinds)]
        token = f"{rng.getrandbits(128):032x}"
        address = f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
        client = f"{address}:{40000 + number % 20000}"
        at = start
        for step, template in enumerate(FLOWS[kind]):
            method, path_template = template.split(" ")
            url = ORIGIN + path_template.format(slug=rng.choice(SLUGS))
            records.append(_record(number, step, method, url, at, client, token))
            at += 0.05 + rng.uniform(0.5, 8.0)
    records.sort(key=lambda r: r["started"])
    with open(path, "w", encoding="utf-8") as f:
        header = {"format": FORMAT, "version": VERSION, "creator": "bench/model.py"}
        f.write(json.dumps(header) + "\n")
        for record in records:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
    return len(records)


def _record(number, step, method, url, at, client, token) -> dict:
    cookie = [["Cookie", f"session={token}"]] if step else []
    set_cookie = [] if step else [["Set-Cookie", f"session={token}; Path=/; HttpOnly"]]
    body = "quantity=1&item=house-blend" if method == "POST" else ""
    text = PAGE.format(f"<p>visitor {number}, page {step}</p>" + "<p>Good coffee.</p>" * 100)
    return {
        "kind": "exchange",
        "id": f"{number}-{step}",
        "started": 1_764_000_000 + at,
        "duration_ms": 20.0,
        "request": {
            "method": method,
            "url": url,
            "http_version": "HTTP/1.1",
            "headers": [["Host", "shop.test"], ["User-Agent", "bench"], *cookie],
            "body": body,
            "body_encoding": "utf-8",
            "mime_type": "application/x-www-form-urlencoded" if body else "",
            "declared_size": len(body),
        },
        "response": {
            "status": 200,
            "reason": "OK",
            "http_version": "HTTP/1.1",
            "headers": [["Content-Type", "text/html; charset=utf-8"], *set_cookie],
            "body": text,
            "body_encoding": "utf-8",
            "mime_type": "text/html",
        },
        "error": "",
        "websocket": False,
        "client": client,
    }


def model(flows: int, rounds: int, say) -> str:
    folder = OUT / "model"
    folder.mkdir(parents=True, exist_ok=True)
    capture = folder / "traffic.jsonl"
    # In a process of its own: a child forked from a bench grown by the generation would count
    # that memory in its peak RSS before it runs `replay model`.
    generator = f"from bench.model import generate; print(generate({str(capture)!r}, {flows}))"
    written = int(
        subprocess.run(
            [PYTHON, "-c", generator], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout
    )
    size = capture.stat().st_size
    say(f"  capture: {written:,} flows, {mb(size):.0f} MB")
    times, ratios, peaks = [], [], []
    for n in range(rounds):
        run = run_measured(
            [PYTHON, "-m", "replay.cli", "model", str(capture), "-o", str(folder / "recordings")],
            stdout=folder / "model.out",
            cpus=GENERATOR_CPU,
        )
        if run.returncode:
            raise SystemExit(f"replay model failed: see {folder / 'model.out'}")
        times.append(run.seconds)
        peaks.append(mb(run.peak_rss))
        ratios.append(run.peak_rss / size)
        say(f"  round {n + 1}/{rounds}: {run.seconds:.1f} s, peak RSS {mb(run.peak_rss):.0f} MB")
    capture.unlink()
    return "\n".join(
        [
            f"`replay model` over a generated capture of {written:,} flows ({mb(size):.0f} MB; "
            "three flow types, one session cookie and address per visitor, 2 KB pages), pinned "
            f"to CPU {GENERATOR_CPU}; {rounds} rounds; wall time and peak RSS from wait4.",
            "",
            table(
                ["measure", "median (min–max)", "target", ""],
                [
                    ["wall time, s", spread(times, 1), "< 60", verdict(times, 60, at_least=False)],
                    ["peak RSS, MB", spread(peaks), "", ""],
                    [
                        "peak RSS / capture size",
                        spread(ratios, 2),
                        "< 2",
                        verdict(ratios, 2, at_least=False),
                    ],
                ],
            ),
        ]
    )
