"""Measure 2: `replay convert` (correlation on) against har2locust on the same generated HARs.

Two kinds of capture from bench/har_gen.py: the plain long session, and the same kind of visit
as Chrome DevTools saves it (Chrome's extra fields, base64 images, big HTML pages, JSON answers
of 50-500 KB). Wall time and peak RSS come from the kernel (wait4) for the whole command,
start-up included, as a user would wait for it. har2locust is bench/peer.py's.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import har_gen, peer
from bench.common import (
    GENERATOR_CPU,
    OUT,
    PYTHON,
    ROOT,
    Measured,
    mb,
    run_measured,
    spread,
    table,
    verdict,
)

IMPORT_PROBE = """
import re, sys, time
from pathlib import Path
sys.dont_write_bytecode = sys.argv[2] == "compile"
from replay.runtime.users import load_module
def peak():
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024
before = peak()
started = time.perf_counter()
load_module(Path(sys.argv[1]))
print(time.perf_counter() - started, before, peak())
"""
"""Loads the module as a Locust worker does (replay.runtime.users.load_module, Locust and the
runtime imported first): compiled from source ("compile", the first import after a convert)
or from the bytecode Python cached then ("cached", every later start). Prints its seconds and
the process's peak RSS (VmHWM: this process's own, since its exec) before and after it."""
IMPORT_SECONDS, IMPORT_RSS = 1.0, 150e6
"""Targets of the first import: under a second, and the worker's peak RSS under 150 MB."""


@dataclass(frozen=True, slots=True)
class Capture:
    style: str
    """A bench/har_gen.py style: "plain" or "devtools"."""
    entries: int
    rounds: int

    @property
    def name(self) -> str:
        return f"{'generated' if self.style == 'plain' else self.style}_{self.entries}"

    @property
    def label(self) -> str:
        return f"{self.entries:,}{', DevTools' if self.style == 'devtools' else ''}"


@dataclass(frozen=True, slots=True)
class Import:
    seconds: float
    baseline: int
    """Peak RSS of the worker before the module (Locust and the runtime), bytes."""
    peak_rss: int


def import_module(module: Path, how: str) -> Import:
    cached = Path(importlib.util.cache_from_source(str(module)))
    if how == "compile":
        cached.unlink(missing_ok=True)
    result = subprocess.run(
        [PYTHON, "-c", IMPORT_PROBE, str(module), how],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )
    seconds, baseline, peak = result.stdout.strip().splitlines()[-1].split()
    return Import(float(seconds), int(baseline), int(peak))


def conversion(captures: tuple[Capture, ...], say) -> str:
    """Each round converts a capture with both tools, one after the other."""
    tool = peer.har2locust()
    rows, ratio_rows, medians = [], [], {}
    tiny = OUT / "generated-10.har"
    har_gen.write(10, tiny)
    floor = run_measured(
        [PYTHON, "-m", "replay.cli", "convert", str(tiny), "-o", str(OUT / "generated_10.py")],
        stdout=OUT / "convert-10.log",
        cpus=GENERATOR_CPU,
    )
    _check(floor, OUT / "convert-10.log")
    for capture in captures:
        entries, rounds, key = capture.entries, capture.rounds, capture.name
        har = OUT / f"{key}.har"
        har_gen.write(entries, har, capture.style)
        size = har.stat().st_size
        with har.open("rb") as f:  # in chunks: the benchmark's RSS stays small (common.py)
            digest = hashlib.file_digest(f, "sha256").hexdigest()[:12]
        ours_module, theirs_module = OUT / f"{key}.py", OUT / f"h2l_{key}.py"
        ours: list[Measured] = []
        theirs: list[Measured] = []
        for n in range(rounds):
            run = run_measured(
                [PYTHON, "-m", "replay.cli", "convert", str(har), "-o", str(ours_module)],
                stdout=OUT / f"convert-{key}.log",
                cpus=GENERATOR_CPU,
            )
            _check(run, OUT / f"convert-{key}.log")
            ours.append(run)
            log = OUT / f"har2locust-{key}.log"
            run = run_measured(
                [str(tool), str(har)], stdout=theirs_module, stderr=log, cpus=GENERATOR_CPU
            )
            _check(run, log)
            theirs.append(run)
            say(
                f"  {capture.label} entries, round {n + 1}/{rounds}: replay convert "
                f"{ours[-1].seconds:.2f} s {mb(ours[-1].peak_rss):.0f} MB, har2locust "
                f"{theirs[-1].seconds:.2f} s {mb(theirs[-1].peak_rss):.0f} MB"
            )
        first = [import_module(ours_module, "compile") for _ in range(2)]
        import_module(ours_module, "cached")  # the first start writes the bytecode
        later = [import_module(ours_module, "cached") for _ in range(2)]
        say(f"  {capture.label} entries, first import {first[-1].seconds:.2f} s")
        if capture.style == "plain":
            medians[entries] = (
                statistics.median(r.seconds for r in ours),
                statistics.median(r.cpu for r in ours),
            )
        time_ratios = [a.seconds / b.seconds for a, b in zip(ours, theirs, strict=True)]
        cpu_ratios = [a.cpu / b.cpu for a, b in zip(ours, theirs, strict=True)]
        rss_ratios = [r.peak_rss / size for r in ours]
        rows += [
            [
                f"{capture.label} entries, {mb(size):.1f} MB (sha256 {digest})",
                "replay convert",
                spread([r.seconds for r in ours], 2, " s"),
                spread([r.cpu for r in ours], 2, " s"),
                spread([mb(r.peak_rss) for r in ours], 0, " MB"),
                f"{mb(ours_module.stat().st_size):.1f} MB",
            ],
            [
                "",
                f"har2locust {peer.version()}",
                spread([r.seconds for r in theirs], 2, " s"),
                spread([r.cpu for r in theirs], 2, " s"),
                spread([mb(r.peak_rss) for r in theirs], 0, " MB"),
                f"{mb(theirs_module.stat().st_size):.1f} MB",
            ],
        ]
        peaks = [mb(i.peak_rss) for i in first]
        ratio_rows += [
            [
                f"time, replay / har2locust ({capture.label})",
                spread(time_ratios, 2),
                f"{statistics.median(cpu_ratios):.2f}",
                "≤ 0.4",
                verdict(time_ratios, 0.4, at_least=False),
            ],
            [
                f"peak RSS / HAR size ({capture.label})",
                spread(rss_ratios, 2),
                "",
                "≤ 2",
                verdict(rss_ratios, 2.0, at_least=False),
            ],
            [
                f"generated module, first import ({capture.label})",
                spread([i.seconds for i in first], 2, " s"),
                "",
                f"< {IMPORT_SECONDS:.0f} s",
                verdict([i.seconds for i in first], IMPORT_SECONDS, at_least=False),
            ],
            [
                f"worker peak RSS with it, first import ({capture.label})",
                spread(peaks, 0, " MB")
                + f" (Locust and the runtime: {mb(first[0].baseline):.0f} MB)",
                "",
                f"< {mb(IMPORT_RSS):.0f} MB",
                verdict(peaks, mb(IMPORT_RSS), at_least=False),
            ],
            [
                f"the same, bytecode cached by the first ({capture.label})",
                spread([i.seconds for i in later], 2, " s")
                + f", {spread([mb(i.peak_rss) for i in later], 0, ' MB')}",
                "",
                "",
                "",
            ],
        ]
    if len(medians) > 1:
        small, large = min(medians), max(medians)
        scale = medians[large][0] / medians[small][0]
        ratio_rows.append(
            [
                f"time {large:,} / {small:,} entries (medians)",
                f"{scale:.1f}",
                f"{medians[large][1] / medians[small][1]:.1f}",
                "≤ 12",
                verdict([scale], 12, at_least=False),
            ]
        )
    return "\n".join(
        [
            f"Generated HARs (bench/har_gen.py), one process pinned to CPU {GENERATOR_CPU}; "
            "wall time, CPU time (user + system, children included: har2locust runs ruff) and "
            "peak RSS of the whole command; median (min–max). CPU time is what the command "
            "costs whatever else the machine is doing; the targets are judged on wall time. "
            "The floor under "
            f"every RSS figure: `replay convert` of a 10-entry HAR peaks at "
            f"{mb(floor.peak_rss):.0f} MB (the interpreter and the converter's imports), "
            f"{floor.seconds:.2f} s. Import: the generated module loaded as a Locust worker "
            "loads it (replay.runtime.users.load_module, Locust and the runtime loaded first), "
            "right after the conversion (compiled from source); its time, and the worker's "
            "peak RSS once it is loaded. Python caches the bytecode then, and later starts "
            "import that.",
            "",
            table(["input", "converter", "time", "CPU", "peak RSS", "output"], rows),
            "",
            table(["measure", "median (min–max)", "by CPU time", "target", ""], ratio_rows),
        ]
    )


def _check(run: Measured, log: Path) -> None:
    if run.returncode != 0:
        raise RuntimeError(f"conversion failed ({run.returncode}): {log.read_text()[-2000:]}")
