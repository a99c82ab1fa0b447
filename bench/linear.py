"""Measure 5: conversion stays near-linear on captures made to be slow (issue 13).

Every shape of tests/hostile.py, the fewest bytes per entry a HAR can have, and the generated
shopping session of bench/har_gen.py, each at n and 4n, the smaller at least 1 MB. Each input is
converted by a fresh process pinned to CPU 0: read and convert in process, best of three (the
interpreter's start and writing the module are the same for every input: measure 2 has them).
Targets: 4n takes at most 5 times as long as n; every input converts at 2 MB/s or more.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from bench import har_gen
from bench.common import GENERATOR_CPU, OUT, PYTHON, ROOT, mb, pinned, table
from tests import hostile

PROBE = """
import gc, sys, time
from recorder.har import read_har
from replay.convert import convert
best = float("inf")
for _ in range(int(sys.argv[2])):
    gc.collect()
    started = time.perf_counter()
    convert(read_har(sys.argv[1]))
    best = min(best, time.perf_counter() - started)
print(best)
"""
MAX_RATIO = 5
MIN_RATE = 2.0
"""MB/s."""


def _plain(entries: int, path: Path) -> None:
    har_gen.write(entries, path)


def _hostile(make: Callable[[int], hostile.Har]) -> Callable[[int, Path], None]:
    return lambda n, path: hostile.write(make(n), path)


SHAPES: dict[str, tuple[int, Callable[[int, Path], None]]] = {
    **{
        name: (n, _hostile(hostile.SHAPES[name]))
        for name, n in (
            ("shared header values", 1_200),
            ("multipart, unterminated", 13_000),
            ("multipart, many fields", 12_000),
            ("correlated values in one request", 7_500),
            ("first-party subdomains", 2_600),
        )
    },
    "minimal entries": (7_000, _hostile(hostile.minimal_entries)),
    "plain session (bench/har_gen.py)": (230, _plain),
}
"""Shape → n (about 1 MB) and how to write the HAR."""


def seconds(har: Path, runs: int) -> float:
    result = subprocess.run(
        pinned([PYTHON, "-c", PROBE, str(har), str(runs)], GENERATOR_CPU),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=1200,
    )
    return float(result.stdout.strip().splitlines()[-1])


def linear(say, runs: int = 3) -> str:
    rows = []
    for name, (n, write) in SHAPES.items():
        measured = []
        for size in (n, 4 * n):
            har = OUT / "linear.har"
            write(size, har)
            took = seconds(har, runs)
            measured.append((size, har.stat().st_size, took))
            say(f"  {name}, n={size:,}: {mb(har.stat().st_size):.2f} MB in {took:.2f} s")
        ratio = measured[1][2] / measured[0][2]
        for i, (size, length, took) in enumerate(measured):
            rate = mb(length) / took
            rows.append(
                [
                    name if i == 0 else "",
                    f"{size:,}",
                    f"{mb(length):.2f}",
                    f"{took:.2f}",
                    f"{rate:.1f}",
                    f"{ratio:.1f}" if i else "",
                    "met" if rate >= MIN_RATE and (i == 0 or ratio <= MAX_RATIO) else "MISSED",
                ]
            )
    return "\n".join(
        [
            f"Read and convert in one process pinned to CPU {GENERATOR_CPU}, best of {runs}; "
            "the shapes are tests/hostile.py's (the test suite runs them small). Targets: "
            f"time at 4n ≤ {MAX_RATIO} × time at n; ≥ {MIN_RATE:.0f} MB/s for every input.",
            "",
            table(["shape", "n", "MB", "seconds", "MB/s", "4n / n", ""], rows),
        ]
    )
