"""Per-user data: rules files, CSV accounts, and secrets that never reach a recording."""

from __future__ import annotations

import csv
import json
import re
import urllib.parse
import urllib.request
from pathlib import Path

from conftest import DATA, convert, run_locust

RECORDED_PASSWORDS = ("S3cret-pass!", "demo-password", "agent-pass")


def test_no_recorded_password_or_authorization_reaches_a_recording(tmp_path):
    for har in ("demo-shop.har", "demo-login.har", "tickets.har"):
        output = tmp_path / f"{har}.py"
        result = convert(DATA / har, output)
        assert result.returncode == 0, result.stderr
        text = output.read_text() + result.stdout + result.stderr
        secrets = [*RECORDED_PASSWORDS, *_recorded_authorizations(DATA / har)]
        assert not [s for s in secrets if s in text]
        assert "self.credential(" in text or "self.fake.password(" in text


def test_rules_file_is_applied_on_every_convert(tmp_path):
    output = tmp_path / "recordings" / "demo_shop.py"
    order_id = _recorded_json(DATA / "demo-shop.har", "/api/orders", "id")
    (tmp_path / "recordings").mkdir()
    (tmp_path / "recordings" / "demo_shop.rules.toml").write_text(
        _taken_over("new_order", order_id, 'json = "id"')
        + '\n[parameters]\nname = "faker.first_name"\n'
        + 'text = { constant = "Same note for everyone" }\n'
    )
    for _ in range(2):  # re-running keeps the choices
        result = convert(DATA / "demo-shop.har", output)
        assert result.returncode == 0, result.stderr
        source = output.read_text()
        assert '"new_order": json_path("id")' in source
        assert "order_id" not in source
        assert 'f"/api/orders/{self.new_order}"' in source
        assert "self.name = self.fake.first_name()" in source
        assert 'self.text = "Same note for everyone"' in source

    (tmp_path / "recordings" / "demo_shop.rules.toml").write_text("[parameters]\nname = 3\n")
    result = convert(DATA / "demo-shop.har", output)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "parameters.name" in result.stderr


def test_a_rule_can_read_a_value_from_the_location_header(tmp_path):
    """What `replay verify --fix` writes for a value that came in a redirect."""
    recorded = _recorded_location(DATA / "demo-login.har", "/notes")
    note_id = recorded.rsplit("/", 1)[1]
    (tmp_path / "recordings").mkdir()
    (tmp_path / "recordings" / "demo_login.rules.toml").write_text(
        _taken_over("new_note", note_id, r"location = '/notes/(\d+)'")
    )
    output = tmp_path / "recordings" / "demo_login.py"
    result = convert(DATA / "demo-login.har", output)
    assert result.returncode == 0, result.stderr
    source = output.read_text()
    assert '"new_note": location(r"/notes/(\\d+)")' in source, source
    assert 'f"/notes/{self.new_note}"' in source


def test_login_flow_with_a_csv_of_accounts(demo_app, recordings, tmp_path):
    """Each virtual user logs in with its own row; one row short is a counted, named failure."""
    accounts = [(f"csv-user-{i}@example.com", f"password-{i}-long") for i in range(4)]
    for email, password in accounts:
        _sign_up(demo_app, email, password)
    table = tmp_path / "accounts.csv"
    with table.open("w", newline="") as f:
        csv.writer(f).writerows([("email", "password"), *accounts])
    result = convert(DATA / "demo-login.har", recordings / "demo_login.py")
    assert result.returncode == 0, result.stderr

    stats = run_locust(
        recordings,
        demo_app,
        "--accounts",
        str(table),
        "--think-scale",
        "0",
        users=4,
        run_time="4s",
        tmp=tmp_path,
    )
    assert stats.failed == 0, stats.failures
    notes = _demo_stats(demo_app)["notes_by_email"]
    assert all(notes.get(email, 0) > 0 for email, _ in accounts), notes

    stats = run_locust(
        recordings,
        demo_app,
        "--accounts",
        str(table),
        "--think-scale",
        "0",
        users=5,
        run_time="3s",
        tmp=tmp_path,
    )
    assert [f["Name"] for f in stats.failures] == ["credential email"]
    assert "ran out of rows" in stats.failures[0]["Error"]
    assert "Traceback" not in stats.output


def _sign_up(base: str, email: str, password: str) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    page = opener.open(f"{base}/signup").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "name": "CSV User", "email": email, "password": password}
    opener.open(f"{base}/signup", urllib.parse.urlencode(form).encode()).read()


def _demo_stats(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/_demo/stats") as response:
        return json.load(response)


def _entries(har: Path) -> list[dict]:
    return json.loads(har.read_text())["log"]["entries"]


def _recorded_authorizations(har: Path) -> set[str]:
    headers = (h for e in _entries(har) for h in e["request"]["headers"])
    return {h["value"].split()[-1] for h in headers if h["name"].lower() == "authorization"}


def _taken_over(var: str, value: str, source: str) -> str:
    """Rules by which `value` is correlated by a rule of ours, not by the engine."""
    return (
        f'[correlation]\nignore = ["{value}"]\n\n'
        f'[[correlation.extract]]\nvar = "{var}"\nvalue = "{value}"\n{source}\n'
    )


def _recorded_location(har: Path, path: str) -> str:
    for entry in _entries(har):
        if entry["request"]["method"] == "POST" and entry["request"]["url"].endswith(path):
            return next(
                h["value"] for h in entry["response"]["headers"] if h["name"].lower() == "location"
            )
    raise AssertionError(f"no POST {path} in {har}")


def _recorded_json(har: Path, path: str, key: str) -> str:
    for entry in _entries(har):
        if entry["request"]["method"] == "POST" and entry["request"]["url"].endswith(path):
            return json.loads(entry["response"]["content"]["text"])[key]
    raise AssertionError(f"no POST {path} in {har}")


def test_a_basic_authorization_is_built_from_the_accounts_username_and_password():
    """Kinto's API signs every request in with HTTP Basic: the header is an account (the
    username and password columns --accounts has for a sign-in form), not one opaque secret,
    whether the capture holds it raw (a HAR) or REDACTED (the proxy)."""
    import base64

    from recorder.model import Exchange, Recording, Request, Response
    from replay.convert import Options
    from replay.convert import convert as convert_recording
    from replay.runtime.session import RecordedSession

    raw = "Basic " + base64.b64encode(b"ada:Pw-8f3a9b2c").decode()
    other = "Basic " + base64.b64encode(b"bob:Pw-0c1d2e3f").decode()
    for recorded, then in ((raw, raw), ("Basic REDACTED", "Basic REDACTED"), (raw, other)):
        exchanges = [
            Exchange(
                Request(
                    method, f"http://127.0.0.1:8888{path}", headers=(("Authorization", header),)
                ),
                Response(200, headers=(("Content-Type", "application/json"),), body=b"{}"),
                started=1_764_000_000.0 + i,
            )
            for i, (method, path, header) in enumerate(
                (("GET", "/v1/", recorded), ("DELETE", "/v1/notes/a1", then))
            )
        ]
        source = convert_recording(Recording("k.har", exchanges=exchanges), Options()).source
        assert 'self.username = self.credential("username")' in source, source
        assert 'self.password = self.credential("password")' in source
        assert "self.authorization = self.basic_auth(self.username, self.password)" in source
        assert source.count('"Authorization": self.authorization') == 2
        assert "basic_auth" not in source.replace("self.authorization = self.basic_auth", "")
        assert recorded.split()[1] not in source and then.split()[1] not in source
        assert "ada" not in source and "bob" not in source
    assert RecordedSession.basic_auth("ada", "Pw-8f3a9b2c") == raw


def test_a_secret_in_json_sent_as_text_is_one_credential_escaped_as_json():
    """The same password in a JSON body sent as text/plain and in a text/plain form is one
    credential (it was two), and in the JSON it is escaped: a live password holding `"` or
    a backslash ended the string and broke the body."""
    import ast
    from types import SimpleNamespace

    from recorder.model import Exchange, Recording, Request, Response
    from replay.convert import Options
    from replay.convert import convert as convert_recording
    from replay.runtime.session import json_escaped

    bodies = (
        '{"user":"ada@example.com","password":"Pw-8f3a9b2c-long"}',
        "user=ada@example.com\npassword=Pw-8f3a9b2c-long\n",
    )
    exchanges = [
        Exchange(
            Request(
                "POST",
                f"http://127.0.0.1:8888/api/{i}",
                headers=(("Content-Type", "text/plain"),),
                body=body.encode(),
                mime_type="text/plain",
            ),
            Response(200, headers=(("Content-Type", "text/html"),), body=b"ok"),
            started=1_764_000_000.0 + i,
        )
        for i, body in enumerate(bodies)
    ]
    source = convert_recording(Recording("t.har", exchanges=exchanges), Options()).source
    assert "Pw-8f3a9b2c" not in source
    assert source.count("self.credential(") == 1, source
    sent = [
        k.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        for k in node.keywords
        if k.arg == "data"
    ]
    live = 'a"quote\\back\nslash'
    scope = {"self": SimpleNamespace(password=live), "json_escaped": json_escaped}
    json_body, form_body = (eval(compile(ast.Expression(e), "t", "eval"), scope) for e in sent)
    assert json.loads(json_body) == {"user": "ada@example.com", "password": live}
    assert form_body == f"user=ada@example.com\npassword={live}\n"
