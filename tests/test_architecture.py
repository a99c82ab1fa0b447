"""The architecture's rules, held by tests: what a Locust worker may load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import DATA, ROOT, convert

CONVERSION_PACKAGES = ("replay.convert", "recorder", "mitmproxy", "haralyzer", "playwright")
"""What a worker never needs: conversion code, capture code and their libraries."""

WORKER = """
import atexit, json, sys

output = sys.argv[1]

def _dump():
    with open(output, "w") as f:
        json.dump(sorted(sys.modules), f)

atexit.register(_dump)
from locust.main import main

sys.argv = ["locust", *sys.argv[2:]]
main()
"""
"""Real Locust in a fresh interpreter, writing the modules it loaded when it exits."""


def test_a_locust_run_loads_no_conversion_code(demo_app, recordings, tmp_path):
    """The locustfile and a generated recording, run by Locust: the runtime, Locust and Faker
    are loaded; no module of the converter, the recorder, mitmproxy or haralyzer."""
    result = convert(DATA / "demo-browse.har", recordings / "demo_browse.py")
    assert result.returncode == 0, result.stderr
    loaded = tmp_path / "modules.json"
    run = subprocess.run(
        [sys.executable, "-c", WORKER, str(loaded)]
        + ["-f", str(ROOT / "locustfile.py"), "--headless", "--host", demo_app]
        + ["-u", "1", "-r", "1", "--run-time", "2s", "--stop-timeout", "1", "--only-summary"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "REPLAY_RECORDINGS_DIR": str(recordings)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    modules = json.loads(Path(loaded).read_text())
    assert {"recordings.demo_browse", "replay.runtime.session", "faker"} <= set(modules)
    forbidden = [
        name
        for name in modules
        if any(name == p or name.startswith(f"{p}.") for p in CONVERSION_PACKAGES)
    ]
    assert forbidden == []
