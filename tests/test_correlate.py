"""The correlation stage on small recordings made here: what context makes a value server-made."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.model import Exchange, Recording, Request, Response
from replay.convert import Options, convert
from replay.convert.correlate import json_leaves, left_boundary_regex
from replay.convert.scenario import Ref, substitute_all

ORIGIN = "http://127.0.0.1:8000"
HTML = (("Content-Type", "text/html; charset=utf-8"),)
JSON = (("Content-Type", "application/json"),)
FORM = (("Content-Type", "application/x-www-form-urlencoded"),)
XSRF = "2|1a2b3c4d|0f9e8d7c6b5a49382716a5b4c3d2e1f0|1764000000"


def exchange(method, path, status=200, body=b"", headers=(), sent=b"", sent_headers=()):
    exchange.started += 2.0  # every request is its own step
    return Exchange(
        Request(method, ORIGIN + path, headers=tuple(sent_headers), body=sent),
        Response(status, headers=tuple(headers), body=body),
        started=exchange.started,
        resource_type="document",
    )


exchange.started = 1_764_000_000.0


def converted(*exchanges: Exchange):
    result = convert(Recording("flow.har", exchanges=list(exchanges)), Options(name="flow"))
    extractions = [e for call in result.scenario.calls for e in call.extractions]
    return result, extractions


def lint_clean(source: str, tmp_path) -> None:
    module = tmp_path / "flow.py"
    module.write_text(source)
    for check in (["check", "--isolated"], ["format", "--isolated", "--check"]):
        lint = subprocess.run([sys.executable, "-m", "ruff", *check, str(module)], text=True)
        assert lint.returncode == 0


def literals(source: str) -> str:
    """The module without its comments: where a recorded value must not be."""
    return "\n".join(line.split("#", 1)[0] for line in source.splitlines())


def test_a_small_id_in_a_create_redirect_is_correlated_and_a_page_number_is_not(tmp_path):
    result, extractions = converted(
        exchange("GET", "/things/?page=1", body=b"<html><a href='/things/?page=2'>2</a></html>"),
        exchange(
            "POST",
            "/things/add/",
            302,
            headers=[("Location", "/things/59/change/")],
            sent=b"name=Lamp&price=1599",
            sent_headers=FORM,
        ),
        exchange("GET", "/things/59/change/", body=b"<html><h1>Change thing</h1></html>"),
        exchange(
            "POST",
            "/things/59/change/",
            302,
            headers=[("Location", "/things/")],
            sent=b"name=Lamp+2&price=1599",
            sent_headers=FORM,
        ),
        exchange("POST", "/things/59/delete/", 302, headers=[("Location", "/things/")]),
        exchange("GET", "/things/?page=1", body=b"<html></html>"),
    )
    source = result.source
    assert [(e.var, e.source, e.path) for e in extractions] == [
        ("thing_id", "location", r"things/(\d+)")
    ]
    assert 'location="/things/[thing_id]/change/"' in source
    assert 'f"/things/{self.thing_id}/change/"' in source
    assert 'f"/things/{self.thing_id}/delete/"' in source
    assert '"/things/?page=1"' in source
    assert "1599" in source  # a price that holds the digits of the id is not an id
    assert "59/" not in literals(source)
    lint_clean(source, tmp_path)


def test_small_ids_under_json_id_keys_are_correlated_and_constants_are_not():
    created = {"id": 7, "owner_id": 3, "count": 7, "page": 3}
    result, extractions = converted(
        exchange("GET", "/api/items?page=3&per_page=7", body=b'{"page": 3, "per_page": 7}'),
        exchange("POST", "/api/items", 201, json.dumps(created).encode(), JSON, b'{"n": 1}', JSON),
        exchange("GET", "/api/items/7?page=3", body=b'{"id": 7}', headers=JSON),
        exchange(
            "PUT", "/api/items/7", body=b"{}", sent=b'{"owner_id": 3, "page": 3}', sent_headers=JSON
        ),
    )
    assert sorted((e.var, e.path) for e in extractions) == [
        ("item_id", "id"),
        ("owner_id", "owner_id"),
    ]
    source = result.source
    assert 'f"/api/items/{self.item_id}?page=3"' in source
    assert '"/api/items?page=3&per_page=7"' in source
    assert re.search(r'"owner_id": int\(self\.owner_id\),\s*"page": 3', source), source


def test_a_small_id_in_an_html_link_or_value_attribute_is_correlated():
    page = b"""<html><ul><li><a href="/orders/12/">Order</a></li></ul><form>
        <input type="hidden" name="basket" value="4"><input name="qty" value="4"></form></html>"""
    result, extractions = converted(
        exchange("GET", "/orders/", body=page, headers=HTML),
        exchange("GET", "/orders/12/", body=b"<html></html>", headers=HTML),
        exchange("POST", "/checkout/", sent=b"basket_id=4&qty=4", sent_headers=FORM),
    )
    patterns = {e.var: e.path for e in extractions}
    assert patterns == {"order_id": r"orders/(\d+)", "basket": r'name="basket"\s+value="(\d+)'}
    source = result.source
    assert 'f"/orders/{self.order_id}/"' in source
    assert re.search(r'"basket_id": self\.basket,\s*"qty": "4"', source), source


def test_a_compound_token_is_correlated_whole_and_once(tmp_path):
    page = f'<html><form><input type="hidden" name="_xsrf" value="{XSRF}"></form></html>'
    cookie = f'_xsrf="{XSRF}"; Path=/'.replace('"', "")
    result, extractions = converted(
        exchange("GET", "/form", body=page.encode(), headers=[*HTML, ("Set-Cookie", cookie)]),
        exchange(
            "POST",
            "/form",
            302,
            headers=[("Location", "/done")],
            sent=f"_xsrf={XSRF}&title=Hello".encode(),
            sent_headers=[*FORM, ("X-XSRFToken", XSRF)],
        ),
        exchange("POST", "/api/save", sent=b"{}", sent_headers=[*JSON, ("X-XSRFToken", XSRF)]),
    )
    assert len(extractions) == 1 and len(result.scenario.correlations) == 1, extractions
    fragments = [p for p in re.split(r"[|.:\-]", XSRF) if len(p) > 1]
    for extraction in extractions:
        assert not any(fragment in extraction.path for fragment in fragments), extraction
    assert not any(fragment in literals(result.source) for fragment in fragments)
    assert result.source.count("self.xsrf") == 3, result.source
    lint_clean(result.source, tmp_path)


def test_a_pattern_never_holds_the_recorded_values_left_of_it():
    text = '<td data-v="Ab12Cd34Ef56Gh78"></td><td id="c-8f3a9c21d0e4" data-v="Zq8Wm2Pn6Rt4Yv1X">'
    value = "Zq8Wm2Pn6Rt4Yv1X"
    pattern = left_boundary_regex(text, text.index(value), value)
    assert re.search(pattern, text).group(1) == value
    assert "8f3a" not in pattern, pattern


def test_etag_is_sent_back_in_if_match_and_a_revision_in_the_body():
    result, extractions = converted(
        exchange(
            "GET",
            "/api/docs/5",
            headers=[*JSON, ("ETag", '"3"')],
            body=b'{"id": 5, "title": "a", "last_modified": 1764000000123, "rev": "3-9af0"}',
        ),
        exchange(
            "PUT",
            "/api/docs/5",
            sent=b'{"title": "b", "last_modified": 1764000000123, "rev": "3-9af0"}',
            sent_headers=[*JSON, ("If-Match", '"3"')],
            headers=[*JSON, ("ETag", '"4"')],
            body=b'{"id": 5}',
        ),
        exchange("DELETE", "/api/docs/5", sent_headers=[("If-Match", '"9"')]),
    )
    by_source = {(e.source, e.path) for e in extractions}
    assert {("header", "ETag"), ("json", "last_modified"), ("json", "rev")} <= by_source
    source = result.source
    assert '"If-Match": self.etag' in source
    assert '"9"' not in source  # an If-Match the recording cannot explain is not sent stale


def test_a_name_the_server_picked_is_read_from_the_create_response_and_a_rename_is_not():
    result, extractions = converted(
        exchange("POST", "/api/notebooks", 201, b'{"name": "Untitled", "type": "nb"}', JSON),
        exchange("GET", "/api/notebooks/Untitled", headers=JSON, body=b'{"name": "Untitled"}'),
        exchange(
            "PATCH",
            "/api/notebooks/Untitled",
            headers=JSON,
            body=b'{"name": "groceries"}',
            sent=b'{"name": "groceries"}',
            sent_headers=JSON,
        ),
        exchange("GET", "/api/notebooks/groceries", headers=JSON, body=b'{"name": "groceries"}'),
    )
    assert [(e.var, e.path) for e in extractions] == [("name", "name")]
    source = result.source
    assert 'f"/api/notebooks/{self.name}"' in source
    assert len(result.scenario.correlations) == 1  # the typed name is a parameter's business


def test_verify_diff_names_a_plain_value_the_server_made_anew_and_its_rule_fixes_it():
    """No name says `3` is server-made, so conversion leaves it; the live response held `4`
    where the recorded one held `3`, and the next request sent `3`: the diff names it, and
    the rule it writes replaces `3` where it stands whole only."""
    from replay.convert.rules import extract_rule_text, parse_rules
    from replay.verify import Row, Seen, _uncorrelated, sent_places

    slot = exchange("GET", "/api/slot", body=b'{"n": 3, "of": 12}', headers=JSON)
    book = exchange(
        "POST", "/api/book", sent=b'{"slot": 3, "seats": 3, "price": 1350}', sent_headers=JSON
    )
    recording = Recording("slots.har", exchanges=[slot, book])
    _, extractions = converted(slot, book)
    assert extractions == []

    live = [Seen(200, list(JSON), b'{"n": 4, "of": 12}', 1.0), Seen(200, list(JSON), b"{}", 1.0)]
    bodies = ["", '{"slot": 3, "seats": 3, "price": 1350}']
    rows = []
    for recorded, seen, body in zip([slot, book], live, bodies, strict=True):
        url = recorded.request.url
        row = Row("s", recorded.request.method, url, url, 200, (), True, seen)
        row.recorded, row.exchange = Seen.recorded(recorded), recorded
        row.sent, row.places = f"{url} {body}", sent_places(url, [("Accept", "*/*")], body)
        rows.append(row)
    findings = _uncorrelated(rows, recording, ORIGIN)
    assert [(f.var, f.recorded, f.live, f.source, f.path) for f in findings] == [
        ("n", "3", "4", "json", "n")
    ]
    rules = parse_rules(extract_rule_text(findings[0].rule), "slots.rules.toml")
    source = convert(recording, Options(name="slots", rules=rules)).source
    assert '"n": json_path("n")' in source
    assert '"slot": int(self.n)' in source and '"seats": int(self.n)' in source
    assert '"price": 1350' in source

    rows[0].live = Seen(200, list(JSON), b'{"n": 3, "of": 12}', 1.0)  # the same live: no finding
    assert _uncorrelated(rows, recording, ORIGIN) == []


def test_json_leaves_walks_any_depth_in_document_order():
    document: list = []
    innermost = document
    for _ in range(20_000):  # twenty times the interpreter's recursion limit
        innermost.append([])
        innermost = innermost[0]
    innermost.append({"id": 7, "flag": True, "name": "x"})
    [(path, leaf), (_, name)] = json_leaves(document)
    assert path == "[0]" * 20_000 + "[0].id" and leaf == "7" and name == "x"
    assert list(json_leaves({"a": [1, {"b": "x"}], "": {"": "q"}})) == [
        ("a[0]", "1"),
        ("a[1].b", "x"),
        ("", "q"),
    ]


def token_chain(n: int) -> list[Exchange]:
    """A login, then `n - 1` refreshes, each sending the token the last response made."""
    made = [json.dumps({"token": f"tok{i:08d}abcdefXYZ"}).encode() for i in range(n)]
    return [exchange("POST", "/login", body=made[0], headers=JSON)] + [
        exchange(
            "POST",
            "/api/refresh",
            body=made[i],
            headers=JSON,
            sent_headers=[("Authorization", f"Bearer tok{i - 1:08d}abcdefXYZ")],
        )
        for i in range(1, n)
    ]


def test_correlating_more_requests_compiles_no_more_regexes(monkeypatch):
    """Each request sends its own token: substituting it compiles nothing per request (a regex
    compiled for each one was most of correlation's time on a 20,000-entry capture)."""
    compile_regex, compiled = re.compile, []

    def counting(*args, **kwargs):
        compiled.append(args[0])
        return compile_regex(*args, **kwargs)

    converted(*token_chain(5))  # what is compiled once, on first use
    monkeypatch.setattr(re, "compile", counting)
    counts = []
    for n in (20, 80):
        compiled.clear()
        _, extractions = converted(*token_chain(n))
        assert len(extractions) == n - 1
        counts.append(len(compiled))
    assert counts[1] <= counts[0], counts


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.text("ab%", min_size=1, max_size=4), st.sampled_from("xyz"), max_size=6),
    st.text("ab%c", max_size=30),
)
def test_few_keys_are_substituted_as_the_regex_does(keys, text):
    """`str.find` for a few keys replaces what the one-regex pass would: leftmost, longest."""
    refs = {key: Ref(f"self.{var}") for key, var in keys.items()}
    assert substitute_all(refs)(text) == substitute_all(refs, after="(?:)")(text)
