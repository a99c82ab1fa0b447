"""bench/run: every measure of issue 7 in one command, tables on stdout and in RESULTS.md.

bench/run            # the full set, about 15 minutes; rewrites bench/RESULTS.md
bench/run --quick    # fewer and shorter rounds, a few minutes; bench/out/RESULTS-quick.md
bench/run --only conversion,recorder
bench/run --only linear   # hostile captures at n and 4n, a few minutes
bench/run --only model    # replay model over 100k generated flows, a few minutes
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from dataclasses import dataclass

from bench.common import BENCH, OUT, Processes, machine, table
from bench.conversion import Capture, conversion
from bench.linear import linear
from bench.model import model
from bench.recorder import recorder
from bench.target import start_nginx
from bench.throughput import Timing, distributed, replay_throughput

MEASURES = ("throughput", "conversion", "recorder", "distributed", "linear", "model")


@dataclass(frozen=True, slots=True)
class Plan:
    """How long each measure runs: every loop is bounded by these counts and durations."""

    rounds: int
    window: float
    captures: tuple[Capture, ...]
    """What the conversion measure converts, and how many rounds each."""
    proxy_rounds: int
    proxy_window: float
    flows: int
    distributed_rounds: int


FULL = Plan(
    rounds=3,
    window=8,
    captures=(Capture("plain", 2000, 3), Capture("plain", 20000, 2), Capture("devtools", 20000, 2)),
    proxy_rounds=4,
    proxy_window=5,
    flows=100_000,
    distributed_rounds=3,
)
QUICK = Plan(
    rounds=2,
    window=4,
    captures=(Capture("plain", 2000, 2), Capture("plain", 20000, 1), Capture("devtools", 20000, 1)),
    proxy_rounds=2,
    proxy_window=4,
    flows=20_000,
    distributed_rounds=2,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument(
        "--only", default=",".join(MEASURES), help=f"comma-separated subset of {','.join(MEASURES)}"
    )
    args = parser.parse_args(argv)
    only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = set(only) - set(MEASURES)
    if unknown:
        parser.error(f"unknown measure(s): {', '.join(sorted(unknown))}")
    plan = QUICK if args.quick else FULL
    # A `timeout` or kill still stops what the benchmark started (Processes.__exit__).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.0f}s] {line}", file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    sections: list[tuple[str, str]] = []
    with Processes() as processes:
        target = None
        if {"throughput", "recorder", "distributed"} & set(only):
            target = start_nginx(processes, OUT / "nginx")
            say(f"nginx on {target.url}")
        timing = Timing(window=plan.window)
        if "throughput" in only:
            say("1. replay throughput")
            sections.append(
                (
                    "1. Replay throughput",
                    replay_throughput(processes, target, plan.rounds, timing, say),
                )
            )
        if "conversion" in only:
            say("2. conversion")
            sections.append(("2. Conversion", conversion(plan.captures, say)))
        if "recorder" in only:
            say("3. recorder")
            sections.append(
                (
                    "3. Recorder overhead",
                    recorder(
                        processes, target, plan.proxy_rounds, plan.proxy_window, plan.flows, say
                    ),
                )
            )
        if "distributed" in only:
            say("4. distributed")
            sections.append(
                (
                    "4. Distributed",
                    distributed(processes, target, plan.distributed_rounds, timing, say),
                )
            )
        if "linear" in only:
            say("5. near-linear conversion")
            sections.append(("5. Near-linear conversion", linear(say, runs=2 if args.quick else 3)))
        if "model" in only:
            say("6. traffic model")
            sections.append(("6. Traffic model", model(plan.flows, plan.rounds, say)))
    elapsed = time.monotonic() - started
    facts = [
        *machine(),
        ("load average (1 min) before / after", f"{load_before:.2f} / {os.getloadavg()[0]:.2f}"),
        ("benchmark", f"bench/run{' --quick' if args.quick else ''}, {elapsed / 60:.1f} min"),
    ]
    report = "\n".join(
        [
            "# Benchmark results",
            "",
            "Written by `bench/run` (method: README.md, section Benchmarks, and the docstring "
            "of each bench/ module). Every figure is a median over interleaved rounds with "
            "its min–max; ratios are taken within a round.",
            "",
            table(["machine", ""], facts),
            *(f"\n## {title}\n\n{body}" for title, body in sections),
            "",
        ]
    )
    print(report)
    path = (
        OUT / "RESULTS-quick.md"
        if args.quick or len(only) < len(MEASURES)
        else (BENCH / "RESULTS.md")
    )
    path.write_text(report)
    say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
