"""Measures 1 and 4: how many requests per second Locust makes against nginx.

Every variant runs 50 users with no think time against the same nginx, one after another in
each round (a b c d e f, a b c d e f, ...), so a slow minute of the machine hits all of them
alike and the ratios are taken within a round. (f) is the peer: the HAR that (e) converts,
turned into a locustfile by har2locust (bench/peer.py) and run as it comes out.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench import peer
from bench.common import (
    BENCH,
    GENERATOR_CPU,
    OUT,
    PYTHON,
    ROOT,
    Processes,
    free_port,
    spread,
    table,
    verdict,
)
from bench.session_har import record
from bench.target import Target

USERS = 50
LOCUSTFILES = BENCH / "locustfiles"
METER = LOCUSTFILES / "meter.py"
RECORDINGS = OUT / "recordings"


@dataclass(frozen=True, slots=True)
class Rate:
    rps: float
    failures: int
    requests: int
    cpu: float
    """Share of one core the generator used over the window (1.0 = a full core)."""
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Timing:
    window: float
    warmup: float = 2.0


SESSION_HAR = OUT / "bench_session.har"
PEER_LOCUSTFILE = OUT / "har2locust_session.py"
"""(f): outside RECORDINGS, which locustfile.py loads whole."""


def prepare_recording(target: Target) -> Path:
    """(e): record the session against this nginx, then convert it like a user would."""
    if RECORDINGS.exists():
        shutil.rmtree(RECORDINGS)
    RECORDINGS.mkdir(parents=True)
    har = SESSION_HAR
    record(target.url, har)
    output = RECORDINGS / "bench_session.py"
    subprocess.run(
        [PYTHON, "-m", "replay.cli", "convert", str(har), "-o", str(output)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return output


def wrk(processes: Processes, target: Target, timing: Timing) -> Rate:
    """(a): what the machine can do with no Python in the loop."""
    log = OUT / "wrk.out"
    process = processes.start(
        ["wrk", "-t1", f"-c{USERS}", f"-d{timing.window:.0f}s", f"{target.url}/api/products"],
        cpus=GENERATOR_CPU,
        log=log,
    )
    process.wait(timing.window + 30)
    processes.stop(process)
    text = log.read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return Rate(rps, int(bad.group(1)) if bad else 0, requests, 1.0)


def locust(
    processes: Processes,
    target: Target,
    locustfile: Path,
    timing: Timing,
    *,
    workers: int = 0,
    cpus: str | None = GENERATOR_CPU,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Rate:
    """Run Locust headless (standalone, or a master with `workers` workers) and read the
    meter of every process that ran users; their rates add up."""
    meter_dir = OUT / "meter"
    if meter_dir.exists():
        shutil.rmtree(meter_dir)
    meter_dir.mkdir(parents=True)
    # An upper bound: the run is stopped as soon as every meter has written (a busy machine
    # can take seconds to spawn the users, and the window starts after that).
    run_time = int(timing.warmup + timing.window + 30)
    env = {
        **(env or {}),
        "BENCH_METER_DIR": str(meter_dir),
        "BENCH_WARMUP": str(timing.warmup),
        "BENCH_WINDOW": str(timing.window),
    }
    base = [PYTHON, "-m", "locust", "-f", f"{locustfile},{METER}", "--loglevel", "WARNING", *args]
    run = [
        "--headless",
        "-u",
        str(USERS),
        "-r",
        str(USERS),
        "-t",
        f"{run_time}s",
        "--host",
        target.url,
        "--only-summary",
        "--stop-timeout",
        "1",
    ]
    started = []
    if workers:
        port = free_port()
        main = processes.start(
            [
                *base,
                *run,
                "--master",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                str(port),
                "--expect-workers",
                str(workers),
            ],
            cpus=cpus,
            env=env,
            log=OUT / "locust-master.out",
        )
        started.append(main)
        for i in range(workers):
            started.append(
                processes.start(
                    [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
                    cpus=cpus,
                    env=env,
                    log=OUT / f"locust-worker{i}.out",
                )
            )
    else:
        main = processes.start([*base, *run], cpus=cpus, env=env, log=OUT / "locust.out")
        started.append(main)
    expected = workers or 1
    deadline = time.monotonic() + run_time + 60
    while (
        len(list(meter_dir.glob("*.json"))) < expected
        and main.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    for process in started:
        processes.stop(process)
    results = [json.loads(p.read_text()) for p in meter_dir.glob("*.json")]
    if len(results) != expected:
        log = (OUT / ("locust-master.out" if workers else "locust.out")).read_text()
        raise RuntimeError(f"{locustfile.name}: {len(results)} of {expected} meters\n{log[-3000:]}")
    return Rate(
        rps=sum(r["requests"] / r["seconds"] for r in results),
        failures=sum(r["failures"] for r in results),
        requests=sum(r["requests"] for r in results),
        cpu=sum(r["cpu"] for r in results),
        errors=tuple(e for r in results for e in r["errors"]),
    )


REPLAY_ARGS = ("--think-scale", "0")


def ours(recording: Path) -> dict:
    """The project's own locustfile on the recordings folder of `recording`."""
    return {
        "file": ROOT / "locustfile.py",
        "args": REPLAY_ARGS,
        "env": {"REPLAY_RECORDINGS_DIR": str(recording.parent)},
    }


def variants(recording: Path, peer_file: Path) -> dict[str, tuple[str, dict]]:
    """Label → how to run it; (e) is the project's own locustfile on the converted HAR, (f)
    har2locust's locustfile of the same HAR."""
    return {
        "a": ("wrk, 1 thread, 50 connections: GET /api/products", {}),
        "b": (
            "FastHttpUser, minimal: GET /api/products",
            {"file": LOCUSTFILES / "fast_minimal.py"},
        ),
        "c": ("HttpUser, minimal: GET /api/products", {"file": LOCUSTFILES / "http_minimal.py"}),
        "d": (
            "FastHttpUser SequentialTaskSet by hand: 5-request session",
            {"file": LOCUSTFILES / "handwritten.py"},
        ),
        "e": ("recorded + `replay convert` + locustfile.py: same session", ours(recording)),
        "f": (
            f"the same recorded HAR + har2locust {peer.version()}: its locustfile",
            {"file": peer_file},
        ),
    }


TARGETS = (("e", "d", 0.97), ("e", "b", 0.75), ("e", "c", 3.0), ("e", "f", 1.0))


def replay_throughput(
    processes: Processes, target: Target, rounds: int, timing: Timing, say
) -> str:
    """Measure 1: every variant in every round; the table with per-round ratios."""
    recording = prepare_recording(target)
    runs = variants(recording, peer.locustfile(SESSION_HAR, PEER_LOCUSTFILE))
    rates: dict[str, list[Rate]] = {label: [] for label in runs}
    for n in range(rounds):
        for label, (_title, spec) in runs.items():
            if label == "a":
                rate = wrk(processes, target, timing)
            else:
                rate = locust(
                    processes,
                    target,
                    spec["file"],
                    timing,
                    args=spec.get("args", ()),
                    env=spec.get("env"),
                )
            rates[label].append(rate)
            say(
                f"  round {n + 1}/{rounds} ({label}) {rate.rps:,.0f} req/s, "
                f"{rate.failures} failed, cpu {rate.cpu:.2f}"
            )
    rows = [
        [
            f"({label})",
            title,
            spread([r.rps for r in rates[label]]),
            spread([r.rps / r.cpu for r in rates[label]]),
            f"{statistics.median(r.cpu for r in rates[label]):.2f}",
            f"{sum(r.failures for r in rates[label])} of {sum(r.requests for r in rates[label]):,}",
        ]
        for label, (title, _spec) in runs.items()
    ]
    out = [
        f"Requests per second, one process on one core (CPU {GENERATOR_CPU}; nginx on the "
        f"other), {USERS} users, no think time; {rounds} rounds × {timing.window:.0f} s "
        f"windows after a {timing.warmup:.0f} s warm-up; median (min–max). `cpu` is the share "
        "of its core the generator got: below 1.0 the machine lent it to someone else, which "
        "`req per CPU-s` (req/s ÷ cpu) discounts; wrk's is taken as 1.",
        "",
        "(f) is har2locust's output run unedited"
        + (f" except: {'; '.join(peer.EDITS)}" if peer.EDITS else "")
        + ". It sends the recorded bearer token and the recorded `sid` cookie as fixed "
        "headers (the cookie jar's new `sid` is not sent over them), which nginx's stateless "
        "check accepts: every visitor replays the recorder's session, where (d) and (e) open "
        "their own. It checks no status beyond Locust's own 4xx/5xx and `rest`'s JSON parse.",
        "",
        table(["", "load generator", "req/s", "req per CPU-s", "cpu", "failed"], rows),
        "",
        table(
            [
                "ratio",
                "req/s, per round",
                "req/s, median (min–max)",
                "per CPU-s, median",
                "target",
                "",
            ],
            [_ratio(rates, a, b, goal) for a, b, goal in TARGETS]
            + [_ratio(rates, "d", "b", None), _ratio(rates, "d", "c", None)],
        ),
    ]
    failed = [(label, r.errors) for label in "def" for r in rates[label] if r.failures]
    if failed:
        out += ["", f"errors: {failed[:3]}"]
    return "\n".join(out)


def _ratio(rates: dict[str, list[Rate]], a: str, b: str, goal: float | None) -> list[str]:
    ratios = [x.rps / y.rps for x, y in zip(rates[a], rates[b], strict=True)]
    per_cpu = [(x.rps / x.cpu) / (y.rps / y.cpu) for x, y in zip(rates[a], rates[b], strict=True)]
    return [
        f"({a})/({b})",
        ", ".join(f"{r:.3f}" for r in ratios),
        spread(ratios, 3),
        f"{statistics.median(per_cpu):.3f}",
        f"≥ {goal}" if goal else "",
        verdict(ratios, goal, at_least=True) if goal else "",
    ]


def distributed(processes: Processes, target: Target, rounds: int, timing: Timing, say) -> str:
    """Measure 4: the recorded session from one standalone process vs master + 2 workers,
    all unpinned on the 2 cores (nginx stays pinned to its core)."""
    recording = RECORDINGS / "bench_session.py"
    if not recording.exists():
        recording = prepare_recording(target)
    spec = ours(recording)
    kinds = {"standalone": 0, "master + 2 workers": 2}
    rates: dict[str, list[Rate]] = {kind: [] for kind in kinds}
    for n in range(rounds):
        for kind, workers in kinds.items():
            rate = locust(
                processes,
                target,
                spec["file"],
                timing,
                workers=workers,
                cpus=None,
                args=spec["args"],
                env=spec["env"],
            )
            rates[kind].append(rate)
            say(
                f"  round {n + 1}/{rounds} ({kind}) {rate.rps:,.0f} req/s, "
                f"{rate.failures} failed, cpu {rate.cpu:.2f}"
            )
    ratios = [d.rps / s.rps for s, d in zip(*rates.values(), strict=True)]
    rows = [
        [
            kind,
            spread([r.rps for r in rates[kind]]),
            f"{sum(r.failures for r in rates[kind])} of {sum(r.requests for r in rates[kind]):,}",
            f"{statistics.median(r.cpu for r in rates[kind]):.2f}",
        ]
        for kind in kinds
    ]
    return "\n".join(
        [
            f"The recorded session (e), {USERS} users, no think time, Locust processes unpinned on "
            f"both cores (nginx pinned to CPU 1 in both); {rounds} rounds × {timing.window:.0f} s.",
            "",
            table(["", "req/s", "failed", "cpu (cores)"], rows),
            "",
            f"master + 2 workers / standalone, per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
            f"median {spread(ratios, 2)}",
        ]
    )
