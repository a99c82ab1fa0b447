"""Forms by what they do: only a sign-in form's fields are credentials; a form that creates or
changes something gets unique names and one generated new password; flags stay as recorded.

Pure and fast: a HAR in memory through `convert()`, the generated module read as text.
"""

from __future__ import annotations

import json
import re

from recorder.addon import flow_record, header_record
from recorder.flows import read_capture
from recorder.har import parse_har
from replay.convert import convert

ORIGIN = "http://127.0.0.1:1"
FORM = "application/x-www-form-urlencoded"
CSRF = "csrf0123456789abcdefABCDEF"
PAGE = f'<form><input type="hidden" name="csrfmiddlewaretoken" value="{CSRF}"></form>'


def entry(method, path, second, form="", status=200, location="", body=PAGE):
    request = {"method": method, "url": ORIGIN + path, "httpVersion": "HTTP/1.1", "headers": []}
    if form:
        request["headers"] = [{"name": "Content-Type", "value": FORM}]
        request["postData"] = {"mimeType": FORM, "text": form}
    headers = [{"name": "Content-Type", "value": "text/html"}]
    if location:
        headers.append({"name": "Location", "value": location})
    return {
        "startedDateTime": f"2026-01-01T10:00:{second:02d}.000Z",
        "time": 5,
        "_resourceType": "document",
        "request": request,
        "response": {
            "status": status,
            "headers": headers,
            "content": {"mimeType": "text/html", "text": body},
        },
    }


def module(*entries: dict) -> str:
    document = {"log": {"version": "1.2", "entries": list(entries)}}
    return convert(parse_har(json.dumps(document), "forms.har")).source


def parameters(source: str) -> dict[str, str]:
    """`self.<var> = <expression>` of on_start."""
    return dict(re.findall(r"^        self\.(\w+) = (.+)$", source, re.M))


def test_a_create_user_form_gets_a_unique_name_and_one_generated_password():
    """Django admin's "add user": the typed user name is unique, password1 and password2 get
    one generated secret, and the `usable_password=true` radio stays as recorded."""
    source = module(
        entry("GET", "/admin/login/", 0),
        entry(
            "POST",
            "/admin/login/",
            2,
            f"csrfmiddlewaretoken={CSRF}&username=admin&password=Adm1n-Secret-pw",
            302,
            "/admin/",
        ),
        entry("GET", "/admin/auth/user/add/", 4),
        entry(
            "POST",
            "/admin/auth/user/add/",
            6,
            f"csrfmiddlewaretoken={CSRF}&username=newbie42&password1=N3w-User-pw-x"
            "&password2=N3w-User-pw-x&usable_password=true&_save=Save",
            302,
            "/admin/auth/user/59/change/",
        ),
    )
    params = parameters(source)
    assert "Adm1n-Secret-pw" not in source and "N3w-User-pw-x" not in source
    # The sign-in form: its fields are the account's credentials.
    assert params["username"] == 'self.credential("username")', params
    assert params["password"] == 'self.credential("password")', params
    # The create form: a unique user name and one new password, sent in both fields.
    generated = [v for v, e in params.items() if e == "self.fake.password(length=14)"]
    assert len(generated) == 1, params
    assert f'"password1": self.{generated[0]}' in source
    assert f'"password2": self.{generated[0]}' in source
    assert "self.unique.user_name()" in params.values(), params
    assert '"usable_password": "true"' in source
    assert source.count("self.credential(") == 2, source


def test_a_credential_is_read_from_the_column_named_after_its_field():
    """A `user` field's attribute is `user_` (RecordedSession has a `user`); its accounts
    column and variable were `user_` and $REPLAY_USER_ too."""
    source = module(
        entry("GET", "/login", 0),
        entry("POST", "/login", 2, "user=alice&pass=Al1ce-pw-xyz", 302, "/"),
    )
    assert parameters(source)["user_"] == 'self.credential("user")', source
    assert "$REPLAY_USER\n" in source and '"user_"' not in source


def test_a_change_password_form_keeps_the_old_password_a_credential():
    source = module(
        entry("GET", "/password_change/", 0),
        entry(
            "POST",
            "/password_change/",
            2,
            f"csrfmiddlewaretoken={CSRF}&old_password=Old-pw-123&new_password1=New-pw-456"
            "&new_password2=New-pw-456",
            302,
            "/password_change/done/",
        ),
    )
    params = parameters(source)
    assert "Old-pw-123" not in source and "New-pw-456" not in source
    assert params["old_password"] == 'self.credential("old_password")', params
    assert [e for e in params.values() if "fake.password" in e] == ["self.fake.password(length=14)"]
    assert '"new_password1": self.new_password1' in source
    assert '"new_password2": self.new_password1' in source


def test_a_rails_sign_up_sends_one_generated_password_in_both_fields():
    source = module(
        entry("GET", "/users/sign_up", 0),
        entry(
            "POST",
            "/users",
            2,
            "user%5Bemail%5D=new%40example.com&user%5Bpassword%5D=Rails-pw-789"
            "&user%5Bpassword_confirmation%5D=Rails-pw-789&user%5Bterms%5D=1",
            302,
            "/",
        ),
    )
    params = parameters(source)
    assert "Rails-pw-789" not in source
    assert "self.unique.email()" in params.values(), params
    password = next(v for v, e in params.items() if "fake.password" in e)
    assert f'"user[password]": self.{password}' in source
    assert f'"user[password_confirmation]": self.{password}' in source
    assert '"user[terms]": "1"' in source
    assert "self.credential(" not in source


def test_a_create_form_names_its_object_uniquely_and_keeps_its_checkboxes():
    source = module(
        entry("GET", "/notes/add/", 0),
        entry(
            "POST",
            "/notes/add/",
            2,
            f"csrfmiddlewaretoken={CSRF}&title=Trip+to+Oslo&published=on&first_name=Alice",
            302,
            "/notes/7/change/",
        ),
    )
    params = parameters(source)
    assert params.get("title") == 'self.unique.value("title-")', params
    assert params.get("first_name") == "self.fake.first_name()", params
    assert '"published": "on"' in source
    assert "self.credential(" not in source


def test_a_token_field_the_recorder_digested_is_correlated_from_its_page(tmp_path):
    """The addon digests a token-named form field (Rails' `authenticity_token`); the
    converter finds the raw token in the page that held it, and correlates it."""
    from mitmproxy.test import tflow, tutils

    token = "AuthToken0123456789abcdefXYZ"
    page = tflow.tflow(
        req=tutils.treq(method=b"GET", host="127.0.0.1", port=1, path=b"/notes/new"),
        resp=tutils.tresp(
            headers=[(b"Content-Type", b"text/html")],
            content=f'<input type="hidden" name="authenticity_token" value="{token}">'.encode(),
        ),
    )
    post = tflow.tflow(
        req=tutils.treq(
            method=b"POST",
            host="127.0.0.1",
            port=1,
            path=b"/notes",
            headers=[(b"Content-Type", FORM.encode())],
            content=f"authenticity_token={token}&note%5Btitle%5D=Hello".encode(),
        ),
        resp=tutils.tresp(status_code=302, headers=[(b"Location", b"/notes/3")], content=b""),
    )
    post.request.timestamp_start = page.request.timestamp_start + 2
    capture = tmp_path / "notes.jsonl"
    lines = [header_record(True), flow_record(page), flow_record(post)]
    capture.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert f"authenticity_token={token}" not in capture.read_text()
    source = convert(read_capture(capture)).source
    assert "REDACTED" not in source and token not in source, source
    assert re.search(r'"authenticity_token": self\.\w+', source), source
    assert "self.credential(" not in source, source
