"""The peer a Locust user would pick instead of `replay convert`: har2locust, which turns a HAR
into a locustfile. It lives in its own virtual environment under bench/out, installed from
PyPI on first use at the version the figures were taken with."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from bench.common import OUT, PYTHON

VERSION = "0.9.4"
VENV = OUT / "har2locust-venv"
EXECUTABLE = VENV / "bin" / "har2locust"
EDITS: tuple[str, ...] = ()
"""What the replay measure changes in har2locust's locustfile before it runs: nothing. Locust's
--host replaces the class's recorded `host`, and the recorded Host header names the same nginx
(the session is recorded against it in the same run)."""


def har2locust() -> Path:
    """The har2locust command, installed on first use."""
    if not EXECUTABLE.exists():
        subprocess.run([PYTHON, "-m", "venv", str(VENV)], check=True, timeout=120)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", f"har2locust=={VERSION}"],
            check=True,
            timeout=600,
        )
    return EXECUTABLE


@functools.cache
def version() -> str:
    result = subprocess.run([str(har2locust()), "--version"], capture_output=True, text=True)
    return result.stdout.split()[-1] if result.stdout else "?"


def locustfile(har: Path, output: Path) -> Path:
    """har2locust's locustfile of `har` (its own ruff pass included), as its README runs it."""
    result = subprocess.run(
        [str(har2locust()), str(har)], capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise RuntimeError(f"har2locust failed ({result.returncode}): {result.stderr[-2000:]}")
    output.write_text(result.stdout)
    return output
