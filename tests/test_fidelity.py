"""The fidelity suite's plumbing (fidelity/run), on its quickest app: install, start, record in
Chromium, convert, verify twice, load, check the app's data, stop. Whether the row passes is
the suite's own result (fidelity/RESULTS.md), not this test's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QUICKEST = "kinto"


@pytest.mark.skipif(
    not os.environ.get("REPLAY_FIDELITY_PLUMBING"),
    reason="installs an app from PyPI and takes a minute: set REPLAY_FIDELITY_PLUMBING=1",
)
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is absent")
def test_quick_run_fills_every_column_and_stops_the_app(tmp_path):
    done = subprocess.run(
        [str(ROOT / "fidelity" / "run"), "--only", QUICKEST, "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "FIDELITY_OUT": str(tmp_path), "PYTHON": sys.executable},
    )
    assert done.returncode in (0, 1), done.stderr  # 1: a row fails, which RESULTS.md reports
    row = next(line for line in done.stdout.splitlines() if line.startswith(f"| {QUICKEST} "))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    if cells[3] == "not installed":
        pytest.skip(f"{QUICKEST} cannot be installed here (pip)")
    assert len(cells) == 8 and "-" not in cells, row  # every stage ran
    assert re.fullmatch(r"\d+ of [1-9]\d*", cells[6]), row  # Locust sent requests
    assert (tmp_path / "RESULTS-quick.md").read_text().count(f"| {QUICKEST} ") == 1
    assert not _running(f"fidelity-{QUICKEST}-"), "the app outlived the run"


def _running(marker: str) -> list[str]:
    """Command lines of live processes that mention `marker` (the app's data folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in text and "pytest" not in text:
            found.append(text)
    return found
