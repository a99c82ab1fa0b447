"""Run a server (the demo shop, a test app) as a child process on a free port.

Servers print one line "... on http://HOST:PORT" once listening (started with `--port 0`);
that line is the only way to learn the port without a race.
"""

from __future__ import annotations

import contextlib
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

ADDRESS = re.compile(r" on (http://\S+)")


def start_server(args: list[str], timeout: float = 15.0) -> tuple[subprocess.Popen[str], str]:
    """Start `python *args`; return the process and its base URL.

    Output keeps being drained in the background, so a chatty server never blocks on a full
    pipe; it is quoted in the error when the server does not come up.
    """
    process = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    found: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            output.append(line)
            if match := ADDRESS.search(line):
                found.put(match.group(1))
        found.put(None)

    threading.Thread(target=drain, daemon=True).start()
    try:
        base_url = found.get(timeout=timeout)
        if base_url is None:
            raise RuntimeError("exited before printing its address")
        _wait_until_answering(base_url, deadline=time.monotonic() + timeout)
    except (queue.Empty, RuntimeError, TimeoutError) as error:
        stop(process)
        raise RuntimeError(f"server {args} did not start ({error}):\n{''.join(output)}") from None
    return process, base_url


def _wait_until_answering(base_url: str, deadline: float) -> None:
    """Poll until the server sends any HTTP response (an error status counts)."""
    while True:
        try:
            with urllib.request.urlopen(base_url + "/", timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{base_url} never answered") from None
            time.sleep(0.05)


def stop(process: subprocess.Popen[str]) -> None:
    """Terminate the server, killing it if it does not exit promptly."""
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running(args: list[str]) -> Iterator[str]:
    """Run a server for the length of a `with` block, yielding its base URL."""
    process, base_url = start_server(args)
    try:
        yield base_url
    finally:
        stop(process)
