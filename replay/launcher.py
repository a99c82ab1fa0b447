"""Running Locust on the recordings: `replay run` and `replay demo`.

Locust runs as a child process with the packaged locustfile, so every Locust flag works
exactly as Locust documents it; we only fill in the locustfile, the recordings folder and a
host.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import replay
from replay.demo.launch import running

logger = logging.getLogger("replay")

LOCUSTFILE = Path(__file__).resolve().parent / "runtime" / "locustfile.py"
DEMO_ACCOUNT = {"REPLAY_EMAIL": "demo@example.com", "REPLAY_PASSWORD": "demo-password"}
"""The demo app's seed account, for the shipped login recording (never a real secret)."""
DEMO_APP = ["-m", "replay.demo", "--host", "127.0.0.1", "--port"]
DEMO_PORT = 8000
"""Where `replay demo --serve` listens by default (not 8089: Locust's web UI)."""


def demo_recordings() -> Path:
    """The shipped demo recordings: inside the installed package, or a checkout's recordings/."""
    packaged = Path(__file__).resolve().parent / "demo" / "recordings"
    return (
        packaged if packaged.is_dir() else Path(replay.__file__).resolve().parents[1] / "recordings"
    )


LOCUST_WITH_OUR_OPTIONS = (
    "from locust import events\n"
    "from locust.main import main\n"
    "from replay.runtime.settings import add_arguments\n"
    "events.init_command_line_parser.add_listener(add_arguments)\n"
    "main()\n"
)
"""`python -m locust`, with our options registered before Locust parses any: so its --help
(printed before it imports the locustfile) lists them."""


def locust(args: list[str], recordings: Path, env: dict[str, str] | None = None) -> int:
    """`locust -f <the packaged locustfile> ARGS` on `recordings`; Locust's exit code is ours."""
    command = [sys.executable, "-c", LOCUST_WITH_OUR_OPTIONS, "-f", str(LOCUSTFILE), *args]
    logger.info("running: locust %s on %s", shlex.join(args), recordings)
    env = {**os.environ, **(env or {}), "REPLAY_RECORDINGS_DIR": str(recordings.absolute())}
    return subprocess.call(command, env=env)


def demo(users: int, run_time: str) -> int:
    """Start the demo app, replay the shipped recordings against it headless, stop it; then
    say how to go on with a recording of one's own."""
    with running([*DEMO_APP, "0"]) as url:
        logger.info("demo app on %s", url)
        code = locust(
            [
                "--headless",
                "--host",
                url,
                "--recordings",
                "Demo*",
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
            demo_recordings(),
            env=DEMO_ACCOUNT,
        )
    for line in next_steps(DEMO_PORT if port_is_free(DEMO_PORT) else free_port()):
        logger.info("%s", line)
    return code


def next_steps(port: int) -> list[str]:
    """The commands that take a newcomer from the demo to a recording of their own."""
    url = f"http://127.0.0.1:{port}"
    account = " ".join(f"{k}={v}" for k, v in DEMO_ACCOUNT.items())
    return [
        "",
        "Next, a recording of your own (demo account: demo@example.com / demo-password):",
        f"  replay demo --serve --port {port}    # the demo app alone, in another terminal",
        f"  replay record mine --browser {url}/  # click through, close the window",
        "      (no display? add --steps steps.txt: lines like  goto /login  and",
        "       fill 'input[name=email]' demo@example.com  ; quote values with spaces)",
        f"  replay verify recordings/mine.py --host {url}",
        f"  {account} \\",
        f"      replay run --headless -u 5 -r 5 -t 30s --host {url}",
        "`replay init` sets up a project folder; `replay demo --help` says more.",
    ]


def serve_demo(port: int) -> None:
    """The demo app alone, in the foreground, until Ctrl-C: this process becomes the app, so
    a signal that stops `replay demo --serve` stops the app (no server left behind)."""
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, *DEMO_APP, str(port)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
