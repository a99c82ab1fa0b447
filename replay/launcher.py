"""Running Locust on the recordings: `replay run` and `replay demo`.

Locust runs as a child process with the project's locustfile, so every Locust flag works
exactly as Locust documents it; we only fill in the locustfile and a host.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from replay.demo.launch import running

logger = logging.getLogger("replay")

DEMO_ACCOUNT = {"REPLAY_EMAIL": "demo@example.com", "REPLAY_PASSWORD": "demo-password"}
"""The demo app's seed account, for the shipped login recording (never a real secret)."""


def project_locustfile() -> Path:
    """locustfile.py of the project in the current folder, else of this checkout."""
    for folder in (Path.cwd(), Path(__file__).resolve().parent.parent):
        candidate = folder / "locustfile.py"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("no locustfile.py here; run replay from the project folder")


LOCUST_WITH_OUR_OPTIONS = (
    "from locust import events\n"
    "from locust.main import main\n"
    "from replay.runtime.settings import add_arguments\n"
    "events.init_command_line_parser.add_listener(add_arguments)\n"
    "main()\n"
)
"""`python -m locust`, with our options registered before Locust parses any: so its --help
(printed before it imports the locustfile) lists them."""


def locust(args: list[str], env: dict[str, str] | None = None) -> int:
    """Run `locust -f locustfile.py ARGS`; Locust's exit code is ours."""
    locustfile = str(project_locustfile())
    command = [sys.executable, "-c", LOCUST_WITH_OUR_OPTIONS, "-f", locustfile, *args]
    logger.info("running: locust -f %s", " ".join([locustfile, *args]))
    return subprocess.call(command, env={**os.environ, **(env or {})})


def demo(users: int, run_time: str) -> int:
    """Start the demo app, replay the shipped recordings against it headless, stop it."""
    with running(["-m", "replay.demo", "--host", "127.0.0.1", "--port", "0"]) as url:
        logger.info("demo app on %s", url)
        return locust(
            [
                "--headless",
                "--host",
                url,
                "-u",
                str(users),
                "-r",
                str(users),
                "--run-time",
                run_time,
                "--stop-timeout",
                "5",
                "--only-summary",
            ],
            env=DEMO_ACCOUNT,
        )
