"""Generated code says exactly what was recorded: any string, any bytes, sent back unchanged."""

from __future__ import annotations

import http.server
import json
import threading

import hostile
from conftest import CORPUS, needs_corpus, run_locust
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.har import read_har
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
