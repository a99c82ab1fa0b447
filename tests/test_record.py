"""`replay record`: a session recorded through the proxy or a driven Chromium, then replayed."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import run_locust

from recorder.proxy import free_port

needs_chromium = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed"
)

STEPS = """\
# browse the shop like a visitor
click "text=Browse the shop"
wait 400
click "a[href='/products/burr-grinder']"
wait 400
goto /products
"""


def replay(*args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "replay.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@needs_chromium
def test_scripted_browser_recording_replays_clean(demo_app, tmp_path):
    (tmp_path / "steps.txt").write_text(STEPS)
    process = replay(
        "record", "browse", "--browser", f"{demo_app}/", "--steps", "steps.txt", cwd=tmp_path
    )
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    recording = tmp_path / "recordings" / "browse.py"
    assert (tmp_path / "recordings" / "raw" / "browse.har").exists()
    assert '"/products/burr-grinder"' in recording.read_text()

    stats = run_locust(recording.parent, demo_app, users=3, run_time="5s", tmp=tmp_path)
    assert stats.failed == 0, stats.failures
    assert stats.count("GET /products/burr-grinder") > 0


def test_proxy_recording_converts_on_ctrl_c(demo_app, tmp_path):
    port = free_port()
    process = replay("record", "visit", "--proxy", "--port", str(port), cwd=tmp_path)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{port}"})
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            opener.open(f"{demo_app}/products", timeout=2).read()
            break
        except OSError:
            assert time.monotonic() < deadline, "the recording proxy never answered"
            time.sleep(0.2)
    for path in ("/products/travel-mug", "/api/products/travel-mug"):
        opener.open(f"{demo_app}{path}", timeout=5).read()

    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"127.0.0.1:{port}" in err  # it told the person where to point the browser
    source = (tmp_path / "recordings" / "visit.py").read_text()
    assert re.search(r'self\.get\(\s*"/api/products/travel-mug"', source), source
