"""Shared fixtures: the demo app on a free port, and real Locust runs with their statistics."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import locust  # noqa: F401  (gevent patches the standard library on import: before any test thread)
import pytest

from replay.demo.launch import running

# A suite started in the background (`nohup pytest &`) inherits SIGINT ignored, and so would
# every process it starts; the tests that press Ctrl-C need their child to hear it.
signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
CORPUS = ROOT.parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"no shared HAR corpus at {CORPUS} (it sits beside CI's checkout)"
)
"""For tests that read the corpus: they run in CI and skip on a fresh clone."""


@pytest.fixture(scope="session")
def demo_app():
    """The bundled demo app, one per test session (tests use fresh accounts, so none interfere)."""
    with running(["-m", "replay.demo", "--host", "127.0.0.1", "--port", "0"]) as url:
        yield url


@pytest.fixture
def tickets_app():
    with running([str(ROOT / "tests" / "apps" / "tickets.py"), "--port", "0"]) as url:
        yield url


def convert(har: Path, output: Path, *args: str) -> subprocess.CompletedProcess:
    """`replay convert` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "replay.cli", "convert", str(har), "-o", str(output), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@dataclass
class Stats:
    """Locust's own statistics of a finished run, by request name."""

    rows: dict[str, dict[str, str]]
    failures: list[dict[str, str]]
    output: str
    returncode: int

    @property
    def requests(self) -> int:
        return int(self.rows["Aggregated"]["Request Count"])

    @property
    def failed(self) -> int:
        return int(self.rows["Aggregated"]["Failure Count"])

    def count(self, name: str) -> int:
        """Requests named `name`, or `METHOD name`."""
        return sum(
            int(r["Request Count"])
            for key, r in self.rows.items()
            if key == name or key.split(" ", 1)[-1] == name
        )


def run_locust(
    recordings: Path,
    host: str,
    *args: str,
    users: int = 1,
    run_time: str = "5s",
    env: dict[str, str] | None = None,
    tmp: Path,
) -> Stats:
    """Real Locust, headless and bounded, on the project's locustfile and `recordings`."""
    prefix = tmp / "stats"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "locustfile.py"),
        "--headless",
        "--host",
        host,
        "-u",
        str(users),
        "-r",
        str(max(users, 1)),
        "--run-time",
        run_time,
        "--stop-timeout",
        "2",
        "--csv",
        str(prefix),
        "--only-summary",
        *args,
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp,
        env={**os.environ, "REPLAY_RECORDINGS_DIR": str(recordings), **(env or {})},
    )
    return read_stats(prefix, result.stdout + result.stderr, result.returncode)


def read_stats(prefix: Path, output: str, returncode: int) -> Stats:
    stats_file = Path(f"{prefix}_stats.csv")
    if not stats_file.exists():
        raise AssertionError(f"locust wrote no statistics (exit {returncode}):\n{output[-3000:]}")
    with stats_file.open() as f:
        rows = {f"{row['Type']} {row['Name']}".strip(): row for row in csv.DictReader(f)}
    with Path(f"{prefix}_failures.csv").open() as f:
        failures = list(csv.DictReader(f))
    return Stats(rows, failures, output, returncode)


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    folder = tmp_path / "recordings"
    folder.mkdir()
    return folder


def copy_recording(name: str, folder: Path) -> Path:
    """A committed example recording, copied so a test can run it alone."""
    target = folder / name
    shutil.copy(ROOT / "recordings" / name, target)
    return target
