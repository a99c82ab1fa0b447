"""The converter on real HAR files: every corpus file converts cleanly, output is lint-clean."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, DATA, convert, needs_corpus

from recorder.har import _LogReader, parse_har, read_har
from recorder.model import CaptureError
from replay.convert import Options
from replay.convert import convert as convert_recording
from replay.convert.correlate import is_trivial

CORPUS_FILES = sorted(CORPUS.glob("*/*.har"))
NOTHING_TO_REPLAY = {"mitmproxy__websocket.har", "mitmproxy__with-bom.har"}


@needs_corpus
def test_corpus_is_there():
    assert len(CORPUS_FILES) >= 17, f"expected the shared HAR corpus in {CORPUS}"


@needs_corpus
@pytest.mark.parametrize("har", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_file_converts_to_a_clean_module(har: Path, tmp_path: Path):
    output = tmp_path / "recording.py"
    result = convert(har, output)
    if har.name in NOTHING_TO_REPLAY:
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "no request left to replay" in lines[0], result.stderr
        assert not output.exists()
        return
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    compile(output.read_text(encoding="utf-8"), str(output), "exec")
    for check in (["check", "--isolated"], ["format", "--isolated", "--check"]):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", *check, str(output)], capture_output=True, text=True
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr


def test_output_is_formatted_wherever_the_capture_lives(tmp_path: Path):
    """The capture's path is written into the module: any length must still lay out cleanly."""
    recording = read_har(DATA / "demo-login.har")
    for length in range(60, 110):
        recording.source = "/" + "d" * (length - len("/demo-login.har") - 1) + "/demo-login.har"
        module = tmp_path / f"recording_{length}.py"
        module.write_text(convert_recording(recording, Options()).source, encoding="utf-8")
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--isolated", "--check", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize("har", [*CORPUS_FILES, *sorted(DATA.glob("*.har"))], ids=lambda p: p.name)
def test_no_correlation_on_a_trivial_value(har: Path):
    """Every correlation has a real source, real sinks and a value that is not trivial."""
    recording = read_har(har)
    try:
        result = convert_recording(recording, Options())
    except Exception:  # noqa: BLE001 (files with nothing to replay are covered above)
        return
    scenario = result.scenario
    extracted = {e.var: e for call in scenario.calls for e in call.extractions}
    for correlation in scenario.correlations:
        assert correlation.var in extracted, correlation
        assert correlation.sinks, correlation
        assert f"self.{correlation.var}" in result.source
    # The recorded value behind each variable: found again by replaying the extraction offline.
    for call in scenario.calls:
        for extraction in call.extractions:
            value = _recorded_value(call.exchange, extraction)
            assert value is not None, (har.name, extraction)
            assert not is_trivial(value), (har.name, extraction.var, value)


def _recorded_value(exchange, extraction):
    import json
    import re

    from replay.runtime import json_path

    response = exchange.response
    if extraction.source == "json":

        class Recorded:
            def json(self):
                return json.loads(response.body)

        return json_path(extraction.path)(None, Recorded())
    if extraction.source == "header":
        return response.header(extraction.path)
    if extraction.source == "cookie":
        cookies = [v for k, v in response.headers if k.lower() == "set-cookie"]
        prefix = extraction.path + "="
        return next((c.split(";")[0][len(prefix) :] for c in cookies if c.startswith(prefix)), None)
    text = (
        response.header("location") if extraction.source == "location" else response.body.decode()
    )
    match = re.search(extraction.path, text or "")
    return match.group(1) if match else None


@pytest.mark.parametrize("chunk", [7, 100, 4096])
def test_har_read_in_small_chunks_reads_the_same(chunk: int, monkeypatch, tmp_path: Path):
    """The reader decodes a file a chunk at a time (so a large capture is never whole in
    memory); values, numbers and errors that straddle chunks read as from the whole text."""
    files = [*CORPUS_FILES, *sorted(DATA.glob("*.har"))]
    whole = {har: parse_har(har.read_text(encoding="utf-8-sig"), str(har)) for har in files}
    monkeypatch.setattr(_LogReader, "CHUNK", chunk)
    for har in files:
        assert read_har(har) == whole[har], har
    broken = tmp_path / "broken.har"
    text = (DATA / "demo-browse.har").read_text()
    broken.write_text(text[: len(text) // 2] + '\n\n"oops": }' + text[len(text) // 2 :])
    with pytest.raises(CaptureError) as error:
        read_har(broken)
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(broken.read_text())
    assert f"at line {expected.value.lineno})" in str(error.value)


def test_the_garbage_collector_is_paused_while_converting_and_runs_again_after():
    """Walking the millions of objects a big capture makes took a quarter of its conversion."""
    recording = read_har(DATA / "demo-login.har")
    seen = []
    convert_recording(recording, stage=lambda name: seen.append(gc.isenabled()))
    assert seen and not any(seen)
    assert gc.isenabled()
    with pytest.raises(ValueError):
        convert_recording(recording, stage=lambda name: int("not a stage"))
    assert gc.isenabled()
