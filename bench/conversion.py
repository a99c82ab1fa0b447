"""Measure 2: `replay convert` (correlation on) against har2locust on the same generated HARs.

Wall time and peak RSS come from the kernel (wait4) for the whole command, start-up included,
as a user would wait for it. har2locust lives in its own virtual environment under bench/out,
installed by the benchmark from PyPI on first use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import statistics
import subprocess
from pathlib import Path

from bench import har_gen
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

HAR2LOCUST_VENV = OUT / "har2locust-venv"
IMPORT_PROBE = """
import importlib.util, sys, time
sys.dont_write_bytecode = sys.argv[2] == "compile"
import replay.runtime.session
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("recording_under_test", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(time.perf_counter() - started)
"""
"""Times the module alone: compiled from source ("compile", the first import after a convert)
or from the bytecode Python cached then ("cached", every later start). Locust and the runtime
are imported first, as locustfile.py has already done when it loads a recording."""


def har2locust() -> Path:
    executable = HAR2LOCUST_VENV / "bin" / "har2locust"
    if not executable.exists():
        subprocess.run([PYTHON, "-m", "venv", str(HAR2LOCUST_VENV)], check=True, timeout=120)
        subprocess.run(
            [str(HAR2LOCUST_VENV / "bin" / "pip"), "install", "-q", "har2locust"],
            check=True,
            timeout=600,
        )
    return executable


def import_seconds(module: Path, how: str) -> float:
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
    return float(result.stdout.strip().splitlines()[-1])


def conversion(sizes: dict[int, int], say) -> str:
    """`sizes`: entries → rounds. Each round converts with both tools, one after the other."""
    tool = har2locust()
    version = subprocess.run([str(tool), "--version"], capture_output=True, text=True).stdout
    rows, ratio_rows, medians, imports = [], [], {}, {}
    tiny = OUT / "generated-10.har"
    har_gen.write(10, tiny)
    floor = run_measured(
        [PYTHON, "-m", "replay.cli", "convert", str(tiny), "-o", str(OUT / "generated_10.py")],
        stdout=OUT / "convert-10.log",
        cpus=GENERATOR_CPU,
    )
    _check(floor, OUT / "convert-10.log")
    for entries, rounds in sizes.items():
        har = OUT / f"generated-{entries}.har"
        har_gen.write(entries, har)
        size = har.stat().st_size
        digest = hashlib.sha256(har.read_bytes()).hexdigest()[:12]
        ours_module, theirs_module = OUT / f"generated_{entries}.py", OUT / f"h2l_{entries}.py"
        ours: list[Measured] = []
        theirs: list[Measured] = []
        for n in range(rounds):
            run = run_measured(
                [PYTHON, "-m", "replay.cli", "convert", str(har), "-o", str(ours_module)],
                stdout=OUT / f"convert-{entries}.log",
                cpus=GENERATOR_CPU,
            )
            _check(run, OUT / f"convert-{entries}.log")
            ours.append(run)
            log = OUT / f"har2locust-{entries}.log"
            run = run_measured(
                [str(tool), str(har)], stdout=theirs_module, stderr=log, cpus=GENERATOR_CPU
            )
            _check(run, log)
            theirs.append(run)
            say(
                f"  {entries} entries, round {n + 1}/{rounds}: replay convert "
                f"{ours[-1].seconds:.2f} s {mb(ours[-1].peak_rss):.0f} MB, har2locust "
                f"{theirs[-1].seconds:.2f} s {mb(theirs[-1].peak_rss):.0f} MB"
            )
        imports[entries] = [import_seconds(ours_module, "compile") for _ in range(2)]
        import_seconds(ours_module, "cached")  # the first start writes the bytecode
        reimports = [import_seconds(ours_module, "cached") for _ in range(2)]
        medians[entries] = (
            statistics.median(r.seconds for r in ours),
            statistics.median(r.cpu for r in ours),
        )
        time_ratios = [a.seconds / b.seconds for a, b in zip(ours, theirs, strict=True)]
        cpu_ratios = [a.cpu / b.cpu for a, b in zip(ours, theirs, strict=True)]
        rss_ratios = [r.peak_rss / size for r in ours]
        label = f"{entries:,} entries, {mb(size):.1f} MB (sha256 {digest})"
        rows += [
            [
                label,
                "replay convert",
                spread([r.seconds for r in ours], 2, " s"),
                spread([r.cpu for r in ours], 2, " s"),
                spread([mb(r.peak_rss) for r in ours], 0, " MB"),
                f"{mb(ours_module.stat().st_size):.1f} MB",
            ],
            [
                "",
                f"har2locust {version.split()[-1] if version else ''}",
                spread([r.seconds for r in theirs], 2, " s"),
                spread([r.cpu for r in theirs], 2, " s"),
                spread([mb(r.peak_rss) for r in theirs], 0, " MB"),
                f"{mb(theirs_module.stat().st_size):.1f} MB",
            ],
        ]
        ratio_rows += [
            [
                f"time, replay / har2locust ({entries:,})",
                spread(time_ratios, 2),
                f"{statistics.median(cpu_ratios):.2f}",
                "≤ 0.4",
                verdict(time_ratios, 0.4, at_least=False),
            ],
            [
                f"peak RSS / HAR size ({entries:,})",
                spread(rss_ratios, 2),
                "",
                "≤ 2",
                verdict(rss_ratios, 2.0, at_least=False),
            ],
            [
                f"generated module import ({entries:,})",
                spread(imports[entries], 2, " s"),
                "",
                "< 1 s",
                verdict(imports[entries], 1.0, at_least=False),
            ],
            [
                f"the same, bytecode cached by the first ({entries:,})",
                spread(reimports, 2, " s"),
                "",
                "",
                "",
            ],
        ]
    small, large = min(medians), max(medians)
    if small != large:
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
            f"{floor.seconds:.2f} s. Import: the generated module's first import right after "
            "the conversion (compiled from source), once Locust and the runtime are loaded; "
            "Python caches the bytecode then, and later starts import that.",
            "",
            table(["input", "converter", "time", "CPU", "peak RSS", "output"], rows),
            "",
            table(["measure", "median (min–max)", "by CPU time", "target", ""], ratio_rows),
        ]
    )


def _check(run: Measured, log: Path) -> None:
    if run.returncode != 0:
        raise RuntimeError(f"conversion failed ({run.returncode}): {log.read_text()[-2000:]}")
