"""The architecture's rules, held by tests: what a Locust worker loads, what a user carries."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import DATA, ROOT, convert
from locust.env import Environment
from locust.exception import InterruptTaskSet, RescheduleTask

from replay.runtime import users
from replay.runtime.session import RESTART_PAUSE, RecordedSession, UserState, task

CONVERSION_PACKAGES = (
    *("replay.convert", "replay.model", "replay.cli", "replay.verify"),
    *("recorder", "mitmproxy", "haralyzer", "playwright"),
)
"""What a worker never needs: conversion and model-learning code, the CLI, capture code and
their libraries..."""
WORKER_MODULES = {"replay.model", "replay.model.file"}
"""... but the traffic model's file format, which the runtime reads (`--model`)."""

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
        and name not in WORKER_MODULES
    ]
    assert forbidden == []


class Visit(RecordedSession):
    @task
    def home(self):
        self.get("/")


class Refused(RecordedSession):
    @task
    def home(self):
        self.get("/", expect=418)


def test_what_a_user_carries_between_sessions_is_one_declared_object(demo_app):
    """`user.replay` (a UserState) holds the user's number, sessions, identities, CSV rows and
    the failed flag: nothing else of ours is hung on the Locust user."""
    user_class = users.user_class(Visit)
    user_class.host = demo_app
    user = user_class(Environment(user_classes=[user_class], host=demo_app))
    before = set(vars(user))
    for session in (Visit, Visit, Refused):
        with contextlib.suppress(InterruptTaskSet, RescheduleTask):  # how a pass ends
            session(user).run()

    assert set(vars(user)) == before
    assert isinstance(user.replay, UserState)
    assert user.replay.sessions == 3 and user.replay.failed
    assert user.wait_time() >= RESTART_PAUSE - 0.5  # a failed session: a pause before the next
    assert not user.replay.failed
