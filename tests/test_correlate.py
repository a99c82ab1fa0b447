"""The correlation stage on small recordings made here: what context makes a value server-made."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.model import Exchange, Recording, Request, Response
from replay.convert import Options, convert
from replay.convert.correlate import json_leaves, left_boundary_regex
from replay.convert.scenario import FEW_KEYS, Ref, substitute_all

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
    assert patterns == {"order_id": r"/orders/(\d+)/", "basket": r'name="basket"\s+value="(\d+)'}
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


def test_a_small_id_is_read_from_the_url_a_page_holds_rather_than_an_unrelated_value():
    """Wagtail's editor page holds its ping URL `/ping/page/4/1/` (1: the editing session) in
    a `data-` attribute, after a checkbox whose value is also 1: the id is read from the URL,
    by a pattern with no recorded value in it."""
    editor = b"""<html><form><input type="checkbox" name="is_editing" value="1" hidden>
        <div data-w-swap-src-value="/sessions/ping/page/4/1/"></div></form></html>"""
    result, extractions = converted(
        exchange("POST", "/pages/add/", 302, headers=[("Location", "/pages/4/edit/")]),
        exchange("GET", "/pages/4/edit/", body=editor, headers=HTML),
        exchange("POST", "/sessions/ping/page/4/1/", body=b"{}", headers=JSON),
    )
    pattern = next(e.path for e in extractions if e.var != "page_id")
    assert re.search(pattern, editor.decode()).group(1) == "1"
    assert "4" not in pattern and "is_editing" not in pattern, pattern
    assert "self.page_id}/{self." in result.source


def test_a_small_id_first_sent_from_the_address_bar_is_the_users_own():
    """`/pages/3/add/` opened by typing it (the browser sends `Sec-Fetch-Site: none`) is not
    read from the dashboard that happens to link to page 3: the user brought that 3."""
    typed = (("Sec-Fetch-Site", "none"),)
    result, extractions = converted(
        exchange("GET", "/dashboard/", body=b'<html><a href="/pages/3/">Home</a></html>'),
        exchange("GET", "/pages/3/add/", body=b"<html></html>", sent_headers=typed),
        exchange("POST", "/pages/3/add/", 302, headers=[("Location", "/pages/3/")]),
    )
    assert extractions == []
    assert '"/pages/3/add/",' in result.source


def test_a_timestamp_the_server_wrote_in_a_page_is_correlated_whole():
    """Wagtail's `revision_created_at`, sent back in a form and in a multipart ping: the whole
    timestamp is read by its input's name, never a piece of it by the recorded text around."""
    stamp = "2026-12-02T01:32:47.783964+00:00"
    page = f'<html><input type="hidden" name="revision_created_at" value="{stamp}"></html>'
    multipart = (
        f'--b\r\nContent-Disposition: form-data; name="revision_created_at"\r\n\r\n{stamp}\r\n--b--'
    )
    result, extractions = converted(
        exchange("GET", "/pages/edit/", body=page.encode(), headers=HTML),
        exchange(
            "POST",
            "/pages/ping/",
            sent=multipart.encode(),
            sent_headers=(("Content-Type", "multipart/form-data; boundary=b"),),
        ),
        exchange(
            "POST",
            "/pages/edit/",
            302,
            headers=[("Location", "/pages/")],
            sent=f"loaded_revision_created_at={quote(stamp)}".encode(),
            sent_headers=FORM,
        ),
    )
    assert [(e.var, e.path) for e in extractions] == [
        ("revision_created_at", r'name="revision_created_at"\s+value="([\w\+\.:-]+)')
    ]
    assert "47.783964" not in literals(result.source), result.source


def _users(*rows: tuple[int, str]) -> bytes:
    cells = "".join(
        f'<tr><td><a href="/users/show/{n}">Show</a> <a href="/users/edit/{n}">Edit</a></td>'
        f"<td>{name}</td></tr>"
        for n, name in rows
    )
    return f"<html><table>{cells}</table></html>".encode()


def test_an_id_read_from_a_list_is_read_in_the_row_of_the_name_the_user_typed():
    """Flask-AppBuilder's user list: the new user's id is in the row that shows the user name
    this virtual user typed, wherever other users' rows put it; never the first row's id."""
    result, extractions = converted(
        exchange("GET", "/users/add", body=b"<html><form></form></html>", headers=HTML),
        exchange(
            "POST",
            "/users/add",
            302,
            headers=[("Location", "/users/list/")],
            sent=b"username=kjohnson42x&first_name=Kate",
            sent_headers=FORM,
        ),
        exchange("GET", "/users/list/", body=_users((1, "admin"), (25, "kjohnson42x"), (26, "bo"))),
        exchange("GET", "/users/edit/25", body=b"<html></html>", headers=HTML),
    )
    assert [(e.path, e.before) for e in extractions] == [(r"users/edit/(\d+)", True)]
    assert 'regex(r"users/edit/(\\d+)", before=self.username)' in result.source, result.source


def test_the_run_time_reads_the_match_beside_the_value_it_is_given():
    from replay.runtime.session import regex

    class Page:  # what an extractor reads of a response
        text = _users((1, "admin"), (7, "ann &amp; co"), (9, "kjohnson42x")).decode()

    assert regex(r"edit/(\d+)")(None, Page) == "1"
    assert regex(r"edit/(\d+)", before="kjohnson42x")(None, Page) == "9"
    assert regex(r"edit/(\d+)", before="ann & co")(None, Page) == "7"
    assert regex(r"show/(\d+)", after="admin")(None, Page) == "7"
    assert regex(r"edit/(\d+)", before="nobody")(None, Page) is None


def test_an_id_field_sent_back_from_its_input_is_read_there_beside_another_id_of_that_value():
    """Wagtail's ping sends its editing session (1) in the URL and the revision (also 1)
    in a multipart `revision_id` field: the field is read from the page's `revision_id`
    input, the URL from the URL the page holds; at load the two differ."""
    editor = b"""<html><input type="hidden" name="revision_id" value="1">
        <div data-w-swap-src-value="/sessions/ping/page/4/1/"></div></html>"""
    multipart = '--b\r\nContent-Disposition: form-data; name="revision_id"\r\n\r\n1\r\n--b--'
    result, extractions = converted(
        exchange("POST", "/pages/add/", 302, headers=[("Location", "/pages/4/edit/")]),
        exchange("GET", "/pages/4/edit/", body=editor, headers=HTML),
        exchange(
            "POST",
            "/sessions/ping/page/4/1/",
            body=b"{}",
            headers=JSON,
            sent=multipart.encode(),
            sent_headers=(("Content-Type", "multipart/form-data; boundary=b"),),
        ),
    )
    assert {e.var: e.path for e in extractions}["revision_id"] == (
        r'name="revision_id"\s+value="(\d+)'
    )
    source = result.source
    assert re.search(r'f"/sessions/ping/page/\{self\.page_id\}/\{self\.(?!revision)\w+\}/"', source)
    assert 'name="revision_id"\\r\\n\\r\\n{self.revision_id}\\r\\n' in source, source


MULTIPART = b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n%s\r\n--b--'
PARTS = (("Content-Type", "multipart/form-data; boundary=b"),)


def test_a_piece_shared_by_tokens_each_page_signs_anew_is_not_correlated_on_its_own():
    """Flask-WTF's CSRF token is the session's one token signed anew on every page
    (`payload.stamp.signature`): each page's token is correlated whole; the payload they
    share is not one more variable."""
    payload = "IjkyYzgyMzAwMmFlM2VjMWQ0Mjg4NGU5MjQ5MTM0MmNlYTFhN2RjOWQi"
    tokens = [
        f"{payload}.aw922Q.{signature}" for signature in ("_tRiSonnLZhgT7xp", "x4Kq9ZpLmW2rT8vB")
    ]
    steps = []
    for n, token in enumerate(tokens):
        page = f'<input id="csrf_token" name="csrf_token" type="hidden" value="{token}">'
        steps += [
            exchange("GET", f"/form{n}", body=page.encode(), headers=HTML),
            exchange("POST", f"/form{n}", sent=MULTIPART % token.encode(), sent_headers=PARTS),
        ]
    result, extractions = converted(*steps)
    assert [e.var for e in extractions] == ["csrf_token", "csrf_token"], extractions
    assert payload not in literals(result.source)


def test_verify_diff_compares_only_where_its_pattern_reads_the_recorded_value():
    """A plain word of a redirect (`change` in /users/59/change/) has no pattern that finds it
    in the Location: the diff must not pair it with whatever that pattern reads live."""
    from replay.verify import Row, Seen, _uncorrelated, sent_places

    created = exchange(
        "POST",
        "/admin/users/add/",
        302,
        headers=(("Location", "/admin/users/59/change/"),),
        sent=b"username=ada",
        sent_headers=FORM,
    )
    change = exchange("GET", "/admin/users/59/change/", headers=HTML, body=b"<html></html>")
    recording = Recording("users.har", exchanges=[created, change])
    live = [
        Seen(302, [("Location", "/admin/users/60/change/")], b"", 1.0),
        Seen(200, list(HTML), b"<html></html>", 1.0),
    ]
    rows = []
    for recorded, seen in zip([created, change], live, strict=True):
        url = recorded.request.url
        row = Row("s", recorded.request.method, url, url, 200, (), True, seen)
        row.recorded, row.exchange = Seen.recorded(recorded), recorded
        row.sent, row.places = url, sent_places(url, [], "")
        rows.append(row)
    findings = _uncorrelated(rows, recording, ORIGIN)
    assert [(f.recorded, f.live) for f in findings] == [("59", "60")]


def test_a_value_the_page_filled_into_its_form_is_posted_back_live():
    """Django's change form shows the user's date joined in two inputs (and hidden `initial-`
    copies) that the save posts back: a date or time is server-made there, read by the
    input's name. A checkbox's value, a template's plain word, a typed value stay."""
    page = b"""<html><form><input type="hidden" name="csrf" value="x7Gq2Lk9Vb3NmR8tYw4Z">
        <input type="text" name="date_joined_0" value="2026-12-02" class="vDateField">
        <input type="text" name="date_joined_1" value="01:38:45" size="8">
        <input type="hidden" name="initial-date_joined_0" value="2026-12-02">
        <input type="checkbox" name="is_active" value="1" checked>
        <input type="hidden" name="post" value="yes"><input name="first_name" value="">
        </form></html>"""
    sent = (
        b"csrf=x7Gq2Lk9Vb3NmR8tYw4Z&date_joined_0=2026-12-02&date_joined_1=01%3A38%3A45"
        b"&initial-date_joined_0=2026-12-02&is_active=1&post=yes&first_name=Grace&age=31"
    )
    result, extractions = converted(
        exchange("GET", "/admin/users/7/change/", body=page, headers=HTML),
        exchange("POST", "/admin/users/7/change/", 302, sent=sent, sent_headers=FORM),
    )
    patterns = {e.var: e.path for e in extractions}
    assert patterns["date_joined_0"] == r'name="date_joined_0"\s+value="([\w-]+)'
    assert patterns["date_joined_1"] == r'name="date_joined_1"\s+value="([\w:-]+)'
    assert set(patterns) == {"csrf", "date_joined_0", "date_joined_1"}
    source = result.source
    assert '"initial-date_joined_0": self.date_joined_0' in source, source
    assert '"is_active": "1"' in source and '"post": "yes"' in source
    assert '"age": "31"' in source


def test_the_value_inside_a_quoted_etag_is_not_extracted_again():
    """Kinto's ETag is `"<last_modified>"` and its JSON holds the bare number: If-Match sends
    the ETag whole, so the number alone is sent nowhere and no extraction is left unused."""
    result, extractions = converted(
        exchange(
            "GET",
            "/v1/records/a1",
            headers=[*JSON, ("ETag", '"1764000000123"')],
            body=b'{"data": {"id": "a1", "last_modified": 1764000000123}}',
        ),
        exchange(
            "PATCH",
            "/v1/records/a1",
            sent=b'{"data": {"done": true}}',
            sent_headers=[*JSON, ("If-Match", '"1764000000123"')],
            headers=[*JSON, ("ETag", '"1764000000456"')],
            body=b'{"data": {"id": "a1", "last_modified": 1764000000456}}',
        ),
        exchange("DELETE", "/v1/records/a1", sent_headers=[("If-Match", '"1764000000456"')]),
    )
    assert [(e.var, e.source, e.path) for e in extractions] == [("etag", "header", "ETag")] * 2
    assert result.source.count('"If-Match": self.etag') == 2


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


def test_verify_diff_ignores_a_plain_value_sent_live_in_another_place_and_page_words():
    """The recorded id 3 is sent live as the new id 4, and a live editing session happens to
    be 3 in another segment, a body 3 bytes long: no finding. Nor is `delete`, a word of the
    page's links."""
    from replay.verify import Row, Seen, _uncorrelated, sent_places

    page = b'<html><a href="/api/slot/3/delete">Delete</a></html>'
    slot = exchange("GET", "/api/slot", body=page, headers=HTML)
    ping = exchange(
        "POST",
        "/api/slot/3/delete/1",
        body=b"{}",
        headers=JSON,
        sent_headers=[("Content-Length", "3")],
    )
    recording = Recording("slots.har", exchanges=[slot, ping])
    live_page = b'<html><a href="/api/slot/4/delete">Delete</a></html>'
    rows = []
    for recorded, seen, url in (
        (slot, Seen(200, list(HTML), live_page, 1.0), slot.request.url),
        (ping, Seen(200, list(JSON), b"{}", 1.0), ORIGIN + "/api/slot/4/delete/3"),
    ):
        row = Row("s", recorded.request.method, url, url, 200, (), True, seen)
        row.recorded, row.exchange = Seen.recorded(recorded), recorded
        row.sent, row.places = url, sent_places(url, [("Content-Length", "3")], "")
        rows.append(row)
    assert _uncorrelated(rows, recording, ORIGIN) == []
    rows[1].places = sent_places(ORIGIN + "/api/slot/3/delete/3", [], "")  # 3 sent as recorded
    assert [f.recorded for f in _uncorrelated(rows, recording, ORIGIN)] == ["3"]


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


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text("ab%é\ud800😀", min_size=1, max_size=4),
        st.sampled_from("xyz"),
        min_size=FEW_KEYS + 1,
        max_size=40,
    ),
    st.text("ab%é\ud800😀c", max_size=60),
)
def test_many_keys_are_substituted_as_the_regex_does(keys, text):
    """The automaton for many keys, over text as bytes, replaces what the regex would: leftmost,
    longest, also around characters of two, three and four bytes and lone surrogates."""
    refs = {key: Ref(f"self.{var}") for key, var in keys.items()}
    assert substitute_all(refs)(text) == substitute_all(refs, after="(?:)")(text)
