"""Generated code says exactly what was recorded: any string, any bytes, sent back unchanged."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import hostile
from conftest import CORPUS, needs_corpus, run_locust
from hostile import HOST, entry, har, token
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.har import parse_har, read_har
from replay.convert import Options, codegen, convert
from replay.convert.literals import comment, literal
from replay.convert.scenario import Ref, Text


@given(st.text())
def test_any_string_literal_evaluates_to_itself(s):
    assert eval(literal(s)) == s


@given(st.binary())
def test_any_bytes_literal_evaluates_to_itself(b):
    assert eval(literal(b)) == b


@given(st.text())
def test_a_comment_shows_printable_text_as_it_is_and_the_rest_escaped_on_one_line(s):
    shown = comment(s)
    assert shown.isprintable() and (shown == s) == s.isprintable()


@given(st.lists(st.one_of(st.text(), st.sampled_from(["a", "b"])), max_size=6))
def test_templates_interpolate_exactly(pieces):
    """Literal text (braces, quotes, backslashes included) around run-time values."""
    parts = tuple(Ref(f"self.{p}") if p in ("a", "b") else p for p in pieces if p)
    expected = "".join({"a": "A1", "b": "{B}"}.get(p, p) for p in pieces)

    class Self:
        a, b = "A1", "{B}"

    assert eval(literal(Text(parts)), {"self": Self}) == expected


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=12), max_size=4))
def test_json_bodies_round_trip(document):
    node = codegen.json_node(document)
    lines = codegen._statement("x = ", node, 0)
    namespace: dict = {}
    exec("\n".join(lines), namespace)
    assert namespace["x"] == document


class Echo(http.server.BaseHTTPRequestHandler):
    """Keeps every request body it receives."""

    bodies: list[bytes] = []

    def do_PATCH(self):
        length = int(self.headers.get("Content-Length", 0))
        Echo.bodies.append(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@needs_corpus
def test_problematic_characters_are_sent_exactly_as_recorded(recordings, tmp_path):
    har = CORPUS / "har2locust" / "string-problematic-characters.har"
    recorded = json.loads(har.read_text())["log"]["entries"][0]["request"]["postData"]["text"]
    (recordings / "strings.py").write_text(convert(read_har(har), Options()).source)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        stats = run_locust(recordings, url, users=1, run_time="2s", tmp=tmp_path)
    finally:
        server.shutdown()
    assert stats.failed == 0, stats.failures
    assert Echo.bodies and all(body == recorded.encode() for body in Echo.bodies)


def test_a_count_reads_right_whatever_the_phrase_holds():
    """A drop reason comes from the capture (a line's `kind`), so it may hold a line break."""
    assert codegen.plural(10, "static asset") == "10 static assets"
    assert codegen.plural(2, "odd\nthing") == "2 odd\nthings"


def test_a_graphql_get_is_named_by_its_operation_however_the_query_spells_it(tmp_path):
    """The query is read only when it may name an operation: plainly or percent-encoded."""
    capture = tmp_path / "graphql.har"
    queries = ("operationName=Cart", "operation%4Eame=Basket", "query=%7Bme%7D")
    entries = [
        hostile.entry(f"{hostile.HOST}/graphql?{query}", second=i)
        for i, query in enumerate(queries)
    ]
    hostile.write(hostile.har(entries), capture)
    source = convert(read_har(str(capture))).source
    assert 'name="/graphql Cart"' in source and 'name="/graphql Basket"' in source
    assert 'name="/graphql"' in source


def _ruff_clean(sources: dict[str, str], folder: Path) -> None:
    """Every module passes `ruff check` and `ruff format --check` as test_convert runs them
    (--isolated: 88 columns), in one run of each for speed."""
    for name, source in sources.items():
        (folder / f"{name}.py").write_text(source, encoding="utf-8")
    for check in (["check", "--isolated"], ["format", "--isolated", "--check"]):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", *check, str(folder)], capture_output=True, text=True
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr


def _source(entries: list[dict], source: str = "capture.har") -> str:
    return convert(parse_har(json.dumps(har(entries)), source)).source


def test_a_long_runtime_import_is_wrapped_as_ruff_sorts_it(tmp_path):
    """Four ordinary extractions (a page, JSON, a header, a Location) import more than fits on
    one line: the names go one per line in parentheses, as ruff's isort writes them."""
    t1, t2, t3, t4 = (token(i) for i in range(1, 5))
    page = entry(f"{HOST}/", response=f'<meta name="csrf-token" content="{t1}">')
    page["response"]["content"]["mimeType"] = "text/html"
    login = entry(f"{HOST}/api/login", "POST", body="{}", response=json.dumps({"token": t2}))
    login["response"]["headers"].append({"name": "X-Request-Token", "value": t3})
    login["startedDateTime"] = "2026-01-01T00:00:01Z"
    redirect = entry(f"{HOST}/go", second=2)
    redirect["response"]["status"] = 302
    redirect["response"]["headers"].append({"name": "Location", "value": f"/orders/{t4}"})
    sent = [("X-Csrf-Token", t1), ("Authorization", f"Bearer {t2}"), ("X-Request-Token", t3)]
    source = _source([page, login, redirect, entry(f"{HOST}/orders/{t4}", headers=sent, second=3)])
    assert "from replay.runtime import (\n    RecordedSession,\n" in source
    _ruff_clean({"four_extractors": source}, tmp_path)


def test_a_long_credential_name_breaks_inside_the_call(tmp_path):
    """`self.NAME = self.credential("NAME")` of a secret field named at any length around the
    limit (names are cut at 40): a line too wide breaks inside the call's parentheses."""
    sources = {}
    for length in range(22, 34):
        name = ("payment_gateway_merchant_api_key_" * 3)[:length].strip("_")
        body = json.dumps({name: "mk-7f3a9c21b4d8e6f0"})
        sources[f"name_{length}"] = _source([entry(f"{HOST}/api/pay", "POST", body=body)])
    assert sum("self.credential(\n" in source for source in sources.values()) > 1
    _ruff_clean(sources, tmp_path)


def test_wide_and_combining_characters_are_laid_out_by_their_columns(tmp_path):
    """ruff counts two columns for a Chinese, Japanese or Korean character and none for a
    combining accent: JSON values and a capture's path at every length around the limit lay
    out as ruff lays them out (a line one column too wide, or parentheses ruff takes off,
    fail)."""
    sources = {}
    wide, combining = "東京のラーメン" * 6, "cafe\u0301 " * 16  # 2 and 5/6 columns a character
    for kind, text, lengths in (
        ("wide", wide, range(24, 34)),
        ("combining", combining, range(60, 80)),
    ):
        for length in lengths:  # 50 to 66 columns: the line of either crosses 88
            body = json.dumps({"title": text[:length]})
            entries = [entry(f"{HOST}/api/notes", "POST", body=body)]
            sources[f"{kind}_{length}"] = _source(entries, f"/{text[:length]}/capture.har")
    _ruff_clean(sources, tmp_path)
