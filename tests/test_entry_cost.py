"""What every entry of a capture costs, whatever it holds: the work done once per request is
done once, and what a capture does not need is not done at all (issue 13, "minimal entries")."""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import re
from pathlib import Path

import hostile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.har import parse_har, read_har
from recorder.model import CaptureError
from replay.convert import convert, filters
from replay.names import url_template

SEGMENT = re.compile(
    r"""^(
        \d+
      | [0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}
      | [0-9a-f]{8,}
      | (?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}
      | eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+
    )$""",
    re.VERBOSE | re.IGNORECASE,
)
"""An id segment, matched one segment at a time: the reference url_template's one pass is
held to."""
PIECES = ["/", "1", "42", "a", "f", "F", "0123abcd", "-", "_", ".", "\n", ";", "=", "eyJ", "x" * 16,
          "a1" * 8, "é", "١", "Z"]  # fmt: skip


def capture(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "minimal.har"
    hostile.write(hostile.minimal_entries(n), path)
    return path


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
def test_a_path_is_templated_as_segment_by_segment(path):
    reference = "/".join(
        "[id]" if SEGMENT.match(s) else s for s in re.sub(r";[^/]*", "", path).split("/")
    )
    assert url_template(path) == reference


def test_conversion_splits_a_request_url_once_and_templates_its_path_twice(tmp_path):
    """The Request split its URL when it was read: of the stages, only correlation splits the
    URL the call sends (restoring a redacted value may have changed it). The call's name and
    the places correlation names template the path; a response's place only when it is
    named."""
    n = 200
    recording = read_har(capture(tmp_path, n))
    profile = cProfile.Profile()
    profile.runcall(convert, recording)
    calls: dict[str, int] = {}
    for (_, _, function), (count, *_) in pstats.Stats(profile).stats.items():
        calls[function] = calls.get(function, 0) + count
    assert calls.get("split_url", 0) + calls.get("urlsplit", 0) <= n + 5
    assert calls.get("url_template", 0) <= 2 * n + 5


def test_a_capture_of_one_host_looks_up_no_registrable_domain(tmp_path):
    """Loading the public suffix list takes a twentieth of a second, what 1,000 entries take:
    only a request to another host than the target's needs it."""
    filters._domain.cache_clear()
    convert(read_har(capture(tmp_path, 20)))
    assert filters._domain.cache_info().misses == 0


WORDS = ["/", "collect", "g/", "Beacon", "TRACK", "ing", "pixel", "rum", "b/ss/x", "client",
         "-", "perf", "report", "user", "match", "SYNC", "cookie", "csp", ".gif", "?", "utm",
         "ſ", "K", "ı", "İ", "é", "\n"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=8).map("".join))
def test_an_analytics_path_is_found_as_the_case_blind_search_finds_it(path):
    assert filters._analytics_path(path) == bool(filters.ANALYTICS_PATHS.search(path))


class Stream(io.StringIO):
    """A capture read a chunk at a time, noting whether the garbage collector runs meanwhile."""

    def __init__(self, text: str):
        super().__init__(text)
        self.collecting: list[bool] = []

    def read(self, size: int | None = -1) -> str:
        self.collecting.append(gc.isenabled())
        return super().read(size)


def test_the_garbage_collector_is_paused_while_a_har_is_read_and_runs_again_after(tmp_path):
    """Each entry makes a dozen objects and no cycle: the collector walking them took a tenth
    of reading 40,000 entries."""
    stream = Stream(capture(tmp_path, 20).read_text())
    assert len(parse_har(stream).exchanges) == 20
    assert stream.collecting and not any(stream.collecting)
    assert gc.isenabled()
    with pytest.raises(CaptureError):
        parse_har(Stream('{"log": {"entries": [}}'))
    assert gc.isenabled()
