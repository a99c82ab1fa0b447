"""bench/'s own parts: the conversion measure's captures must be the same bytes on every
machine, the DevTools-style one must carry what Chrome writes (the peers read it as such), and
a measured command's peak RSS must be its own."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

from bench import har_gen
from bench.common import ROOT
from recorder.har import read_har


def test_the_devtools_capture_is_the_same_bytes_every_time(tmp_path):
    first, second = tmp_path / "a.har", tmp_path / "b.har"
    har_gen.write(150, first, "devtools")
    har_gen.write(150, second, "devtools")
    assert first.read_bytes() == second.read_bytes()


def test_the_devtools_capture_reads_like_chrome_wrote_it(tmp_path):
    path = tmp_path / "devtools.har"
    har_gen.write(150, path, "devtools")
    log = json.loads(path.read_text())["log"]
    entries = log["entries"]
    assert len(entries) == 150 and log["creator"]["name"] == "WebInspector"
    assert {e["pageref"] for e in entries} <= {p["id"] for p in log["pages"]}
    assert {"script", "other", "parser"} <= {e["_initiator"]["type"] for e in entries}
    assert all(e["request"]["headers"][0]["name"] == ":authority" for e in entries)
    images = [e["response"]["content"] for e in entries if e["_resourceType"] == "image"]
    assert images and all(c["encoding"] == "base64" and c["size"] > 0 for c in images)
    recording = read_har(path)
    assert len(recording.exchanges) == 150
    read = [x.response.body for x in recording.exchanges if x.resource_type == "image"]
    assert read == [base64.b64decode(c["text"]) for c in images]


PEAK_PROBE = """
import os, sys
from pathlib import Path
from bench.common import rss, run_measured
held = bytearray(150_000_000)
held[::4096] = b"x" * len(held[::4096])  # resident: this process's peak grows by 150 MB
del held
run = run_measured(["true"], stdout=Path(os.devnull))
print(run.returncode, run.peak_rss, rss(os.getpid()))
"""
"""In a process of its own, as bench/run is: no gevent there to reap the child first."""


def test_a_commands_peak_rss_is_its_own_not_the_benchmarks():
    probe = subprocess.run(
        [sys.executable, "-c", PEAK_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    returncode, peak, held = map(int, probe.stdout.split())
    assert returncode == 0 and peak < held + 75_000_000, (peak, held)
