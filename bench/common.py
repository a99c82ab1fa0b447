"""Plumbing every measure shares: processes we start (and always stop), pinning, statistics,
tables and the machine description that goes with every number."""

from __future__ import annotations

import datetime
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
PYTHON = sys.executable
GENERATOR_CPU = "0"
"""The load generator (or the proxy under test) runs here..."""
TARGET_CPU = "1"
"""...and nginx (and wrk when it feeds the proxy) here, so neither steals the other's core."""


def pinned(argv: Sequence[str], cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus, *argv] if cpus else list(argv)


class Processes:
    """Every process a measure starts, each in its own process group, all stopped on exit
    whatever happens (Ctrl-C, a failed measure), so no run leaves a server behind."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen] = []

    def start(
        self,
        argv: Sequence[str],
        *,
        cpus: str | None = None,
        log: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen:
        out = log.open("wb") if log else subprocess.DEVNULL
        try:
            process = subprocess.Popen(
                pinned(argv, cpus),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        finally:
            if log:
                out.close()
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 10.0) -> None:
        """SIGINT first (Locust and mitmdump write their results on it), then SIGKILL."""
        if process.poll() is None:
            for sig in (signal.SIGINT, signal.SIGKILL):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.wait(timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if process in self.running:
            self.running.remove(process)

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *_exc) -> None:
        for process in reversed(self.running[:]):
            self.stop(process, timeout=5.0)


@dataclass(frozen=True, slots=True)
class Measured:
    seconds: float
    cpu: float
    """CPU seconds (user + system, the command and its children): what the command costs
    whoever else the machine is serving at the time."""
    peak_rss: int
    """Bytes: the child's own maximum resident set (wait4), not an estimate from sampling."""
    returncode: int


def run_measured(
    argv: Sequence[str],
    *,
    stdout: Path,
    stderr: Path | None = None,
    cpus: str | None = None,
    timeout: float = 600.0,
) -> Measured:
    """Run one command to completion; wall time and peak RSS from the kernel's accounting.

    Started with fork, not Python's default vfork: after a vfork the kernel counts the
    parent's peak RSS as the child's (exec records the high-water mark of the memory it
    leaves), so every figure would be at least the benchmark's own peak. A forked child starts
    from what the parent holds at the time, which the measures keep small (no capture held in
    memory). `_USE_VFORK` is the escape hatch the subprocess documentation gives.
    """
    with stdout.open("wb") as out, (stderr or Path(os.devnull)).open("wb") as err:
        started = time.perf_counter()
        vfork, subprocess._USE_VFORK = subprocess._USE_VFORK, False
        try:
            process = subprocess.Popen(
                pinned(argv, cpus),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err if stderr else subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            subprocess._USE_VFORK = vfork
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(elapsed, cpu, usage.ru_maxrss * 1024, process.returncode)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode} at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f}s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss(pid: int) -> int:
    """Resident set of a running process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# Statistics: a median with its spread, never a single run.


def spread(values: Sequence[float], digits: int = 0, unit: str = "") -> str:
    """`median (min–max)`, the form every table uses."""
    if not values:
        return "n/a"
    fmt = f"{{:,.{digits}f}}"
    med = fmt.format(statistics.median(values))
    if len(values) == 1:
        return med + unit
    return f"{med}{unit} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def verdict(values: Sequence[float], target: float, at_least: bool) -> str:
    """Judged on the median of the per-round ratios."""
    if not values:
        return "n/a"
    median = statistics.median(values)
    met = median >= target if at_least else median <= target
    return "met" if met else "MISSED"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def mb(n: float) -> float:
    return n / 1e6


# The machine every number belongs to.


def _version(argv: Sequence[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (result.stdout + result.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def machine() -> list[tuple[str, str]]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return [
        ("date", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("cpus", f"{os.cpu_count()} × {cpu}"),
        ("kernel", platform.release()),
        ("os", _version(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"])),
        ("python", platform.python_version()),
        ("locust", metadata.version("locust")),
        ("geventhttpclient", metadata.version("geventhttpclient")),
        ("nginx", _version(["nginx", "-v"]).removeprefix("nginx version: ")),
        ("wrk", _version(["wrk", "--version"]).split(" [")[0]),
        ("mitmproxy", _version(["mitmdump", "--version"]).removeprefix("Mitmproxy: ")),
        ("memory", f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"),
    ]
