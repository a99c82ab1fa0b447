"""Measure 3: what recording costs a proxy: mitmdump with our capture addon against plain
mitmdump and mitmdump's own HAR dump, and whether the addon's memory stays flat.

mitmdump (single-threaded Python) is pinned to one core; wrk and nginx share the other, so
the proxy is the bottleneck and its requests per second are what the table compares. wrk
speaks to it as to any forward proxy (absolute-form request lines).
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from bench.common import (
    GENERATOR_CPU,
    OUT,
    ROOT,
    TARGET_CPU,
    Processes,
    cpu_seconds,
    free_port,
    mb,
    rss,
    spread,
    table,
    verdict,
    wait_for_port,
)
from bench.target import Target

CONNECTIONS = 8
MEMORY_SECONDS = 420
"""Bound on the memory run: on a busy machine it reports the flows it reached in that time."""
WRK_SCRIPT = """
-- Requests in absolute form, as a browser sends them to a forward proxy.
wrk.path = os.getenv("WRK_URL")
"""


ADDON = "mitmdump -s recorder/addon.py"


def _variants(folder: Path) -> dict[str, list[str]]:
    return {
        "plain mitmdump": [],
        ADDON: [
            "-s",
            str(ROOT / "recorder" / "addon.py"),
            "--set",
            f"capture_file={folder / 'capture.jsonl'}",
        ],
        "mitmdump --set hardump=...": ["--set", f"hardump={folder / 'dump.har'}"],
    }


def _start_proxy(processes: Processes, extra: list[str], name: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    mitmdump = shutil.which("mitmdump") or "mitmdump"
    process = processes.start(
        [mitmdump, "-q", "--listen-host", "127.0.0.1", "-p", str(port), *extra],
        cpus=GENERATOR_CPU,
        log=OUT / f"mitmdump-{name}.out",
    )
    wait_for_port(port, process, timeout=30)
    return process, port


def _wrk(
    processes: Processes, port: int, target: Target, seconds: float, reverse: bool = False
) -> tuple[float, int, int]:
    """Requests/s, requests and non-2xx answers of one wrk run through the proxy (to a reverse
    proxy as to the application itself: origin-form request lines)."""
    script = OUT / "proxy.lua"
    script.write_text(WRK_SCRIPT)
    log = OUT / "wrk-proxy.out"
    process = processes.start(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds:.0f}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        cpus=TARGET_CPU,
        log=log,
        env={"WRK_URL": "/api/products" if reverse else f"{target.url}/api/products"},
    )
    process.wait(seconds + 60)
    processes.stop(process)
    text = log.read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    count = int(re.search(r"(\d+) requests in", text).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return rps, count, int(bad.group(1)) if bad else 0


def recorder(
    processes: Processes, target: Target, rounds: int, window: float, flows: int, say
) -> str:
    folder = OUT / "recorder"
    rates: dict[str, list[float]] = {name: [] for name in _variants(folder)}
    per_cpu: dict[str, list[float]] = {name: [] for name in _variants(folder)}
    failures = 0
    for n in range(rounds):
        for name, extra in _variants(folder).items():
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            proxy, port = _start_proxy(processes, extra, f"{n}-{len(extra)}")
            _wrk(processes, port, target, 1)  # connections and code paths warm
            used = cpu_seconds(proxy.pid)
            rps, count, bad = _wrk(processes, port, target, window)
            used = cpu_seconds(proxy.pid) - used
            processes.stop(proxy, timeout=60)
            rates[name].append(rps)
            per_cpu[name].append(count / max(used, 0.01))
            failures += bad
            say(f"  round {n + 1}/{rounds} ({name}) {rps:,.0f} req/s, cpu {used / window:.2f}")
    plain, addon, har = rates.values()
    ratios = [a / p for a, p in zip(addon, plain, strict=True)]
    cpu_plain, cpu_addon, _cpu_har = per_cpu.values()
    cpu_ratios = [a / p for a, p in zip(cpu_addon, cpu_plain, strict=True)]
    har_ratios = [h / p for h, p in zip(har, plain, strict=True)]
    memory, captured = _memory(processes, target, folder, flows, statistics.median(addon), say)
    growth = memory[-1][1] - memory[1][1]
    flat = growth <= max(0.05 * memory[1][1], 8e6)
    samples = ", ".join(f"{count:,}: {mb(size):.0f} MB" for count, size in memory)
    return "\n".join(
        [
            f"Requests/s through the proxy (GET of a 1.6 KB JSON document, wrk with {CONNECTIONS} "
            f"connections), mitmdump -q pinned to CPU {GENERATOR_CPU}, wrk and nginx on CPU "
            f"{TARGET_CPU}; {rounds} rounds × {window:.0f} s; median (min–max). `req per CPU-s` "
            "divides by the CPU time the proxy got, which discounts what a busy machine took "
            "from it; the target is judged on req/s.",
            "",
            table(
                ["proxy", "req/s", "req per CPU-s", "÷ plain, per round"],
                [
                    [
                        name,
                        spread(values),
                        spread(per_cpu[name]),
                        _per_round(values, plain),
                    ]
                    for name, values in rates.items()
                ],
            ),
            "",
            table(
                ["measure", "value", "by CPU time", "target", ""],
                [
                    [
                        "addon / plain mitmdump",
                        spread(ratios, 3),
                        f"{statistics.median(cpu_ratios):.3f}",
                        "≥ 0.95",
                        verdict(ratios, 0.95, at_least=True),
                    ],
                    ["hardump / plain mitmdump", spread(har_ratios, 3), "", "", ""],
                    [
                        f"addon RSS growth, {memory[1][0]:,} → {memory[-1][0]:,} flows",
                        f"{mb(growth):+.1f} MB",
                        "",
                        "flat (≤ 5% or 8 MB)",
                        "met" if flat else "MISSED",
                    ],
                ],
            ),
            "",
            f"Addon RSS by flows: {samples}; capture file {mb(captured):.0f} MB. "
            f"Non-2xx answers through the proxy: {failures}.",
            "",
            _reverse(processes, target, rounds, window, say),
        ]
    )


def _reverse(processes: Processes, target: Target, rounds: int, window: float, say) -> str:
    """The same in reverse-proxy mode (`replay record NAME --reverse URL`), wrk speaking to the
    proxy as to the application."""
    folder = OUT / "recorder-reverse"
    variants = {
        "plain mitmdump --mode reverse": [],
        "the same -s recorder/addon.py": _variants(folder)[ADDON],
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    failures = 0
    for n in range(rounds):
        for name, extra in variants.items():
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            mode = ["--mode", f"reverse:{target.url}", *extra]
            proxy, port = _start_proxy(processes, mode, f"reverse-{n}-{len(extra)}")
            _wrk(processes, port, target, 1, reverse=True)
            rps, _count, bad = _wrk(processes, port, target, window, reverse=True)
            processes.stop(proxy, timeout=60)
            rates[name].append(rps)
            failures += bad
            say(f"  reverse round {n + 1}/{rounds} ({name}) {rps:,.0f} req/s")
    shutil.rmtree(folder)
    plain, addon = rates.values()
    ratios = [a / p for a, p in zip(addon, plain, strict=True)]
    return "\n".join(
        [
            f"Reverse proxy, the same load and pinning; {rounds} rounds × {window:.0f} s.",
            "",
            table(
                ["proxy", "req/s", "÷ plain, per round"],
                [
                    [name, spread(values), _per_round(values, plain)]
                    for name, values in rates.items()
                ],
            ),
            "",
            table(
                ["measure", "value", "target", ""],
                [
                    [
                        "reverse: addon / plain mitmdump",
                        spread(ratios, 3),
                        "≥ 0.95",
                        verdict(ratios, 0.95, at_least=True),
                    ]
                ],
            ),
            "",
            f"Non-2xx answers through the reverse proxy: {failures}.",
        ]
    )


def _memory(
    processes: Processes, target: Target, folder: Path, flows: int, rate: float, say
) -> tuple[list[tuple[int, int]], int]:
    """RSS of the addon's mitmdump after each quarter of `flows` requests (wrk cannot stop at
    a count, so it runs for as long as the last rate needs, and the flows are counted from what
    wrk got back)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    proxy, port = _start_proxy(processes, _variants(folder)[ADDON], "memory")
    _wrk(processes, port, target, 1)
    samples = [(0, rss(proxy.pid))]
    done = 0
    deadline = time.monotonic() + MEMORY_SECONDS
    for quarter in range(1, 5):
        for _attempt in range(5):  # a slower minute of the machine needs another short run
            left = deadline - time.monotonic()
            if done >= quarter * flows / 4 or left < 1:
                break
            seconds = min(left, max(1.0, (quarter * flows / 4 - done) / rate))
            rate_now, count, _bad = _wrk(processes, port, target, seconds)
            done += count
            rate = max(rate_now, 1.0)
        samples.append((done, rss(proxy.pid)))
        say(f"  addon after {done:,} flows: RSS {mb(samples[-1][1]):.0f} MB")
    processes.stop(proxy, timeout=60)
    captured = (folder / "capture.jsonl").stat().st_size
    shutil.rmtree(folder)
    return samples, captured


def _per_round(values: list[float], plain: list[float]) -> str:
    return ", ".join(f"{v / p:.3f}" for v, p in zip(values, plain, strict=True))
