"""Measure 5: conversion stays near-linear on captures made to be slow (issue 13).

Every shape of tests/hostile.py, the fewest bytes per entry a HAR can have, and the generated
shopping session of bench/har_gen.py, each at n and 4n, the smaller at least 1 MB. Both sizes are
converted in turn, round after round, each conversion by a fresh process pinned to CPU 0, so no
cache a round filled makes a later one cheaper: read and convert, best of three each (the
interpreter's start and writing the module are the same for every input: measure 2 has them).
Targets: 4n takes at most 5 times the CPU time of n; every input converts at 2 MB or more per
CPU-second (CPU time, not wall time: on a shared machine the wall clock counts other processes).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from bench import har_gen
from bench.common import GENERATOR_CPU, OUT, PYTHON, ROOT, mb, pinned, table
from tests import hostile

PROBE = """
import sys, time
from recorder.har import read_har
from replay.convert import convert
started, started_cpu = time.perf_counter(), time.process_time()
convert(read_har(sys.argv[1]))
print(time.perf_counter() - started, time.process_time() - started_cpu)
"""
"""One cold conversion: wall and CPU seconds."""
MAX_RATIO = 5
MIN_RATE = 2.0
"""MB per CPU-second."""


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
            ("one field, many typed values", 1_400),
            ("e-mails in one request", 30_000),
            ("correlated values in one request", 7_500),
            ("first-party subdomains", 2_600),
            ("page of unclosed titles", 150_000),
            ("form of many fields", 75_000),
            ("JSON bulk import", 5_500),
            ("chain of redirects, tokens used later", 2_250),
            ("form of prefilled inputs", 21_500),
            ("formset of echoed ids", 7_000),
            ("pages of hidden inputs posted back", 160),
        )
    },
    "minimal entries": (10_000, _hostile(hostile.minimal_entries)),
    "plain session (bench/har_gen.py)": (230, _plain),
}
"""Shape → n (about 1 MB) and how to write the HAR."""


def seconds(hars: list[Path], runs: int) -> tuple[list[float], list[float]]:
    """Best wall and best CPU seconds for each input, converted in turn round after round:
    n and 4n see the same busy machine."""
    wall, cpu = [float("inf")] * len(hars), [float("inf")] * len(hars)
    for _ in range(runs):
        for i, har in enumerate(hars):
            result = subprocess.run(
                pinned([PYTHON, "-c", PROBE, str(har)], GENERATOR_CPU),
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            )
            took, used = map(float, result.stdout.split()[-2:])
            wall[i], cpu[i] = min(wall[i], took), min(cpu[i], used)
    return wall, cpu


def linear(say, runs: int = 3) -> str:
    rows = []
    for name, (n, write) in SHAPES.items():
        sizes, hars = (n, 4 * n), [OUT / "linear-n.har", OUT / "linear-4n.har"]
        for size, har in zip(sizes, hars, strict=True):
            write(size, har)
        times, cpu = seconds(hars, runs)
        measured = [
            (size, har.stat().st_size, took, used)
            for size, har, took, used in zip(sizes, hars, times, cpu, strict=True)
        ]
        say(f"  {name}: " + ", ".join(f"{mb(b):.2f} MB in {t:.2f} s" for _, b, t, _ in measured))
        ratio, cpu_ratio = times[1] / times[0], cpu[1] / cpu[0]
        for i, (size, length, took, used) in enumerate(measured):
            rate = mb(length) / used
            met = rate >= MIN_RATE and (i == 0 or cpu_ratio <= MAX_RATIO)
            rows.append(
                [
                    name if i == 0 else "",
                    f"{size:,}",
                    f"{mb(length):.2f}",
                    f"{took:.2f}",
                    f"{mb(length) / took:.1f}",
                    f"{rate:.1f}",
                    f"{ratio:.1f} ({cpu_ratio:.1f})" if i else "",
                    "met" if met else "MISSED",
                ]
            )
    return "\n".join(
        [
            f"Read and convert, each time in a fresh process pinned to CPU {GENERATOR_CPU}, "
            f"n and 4n in turn, best of {runs} each; "
            "the shapes are tests/hostile.py's (the test suite runs them small). Targets: "
            f"CPU time at 4n ≤ {MAX_RATIO} × CPU time at n; ≥ {MIN_RATE:.0f} MB per CPU-second "
            "for every input. Judged on CPU time: the machine is shared, and the wall clock "
            "counts what other processes took.",
            "",
            table(
                ["shape", "n", "MB", "seconds", "MB/s", "MB per CPU-s", "4n / n (CPU)", ""], rows
            ),
        ]
    )
