"""Secrets stay out of everything we write: marker secrets planted in a HAR are searched for in
the generated files, convert's output, and Locust's output and reports of a run of the result.

Markers are distinctive strings, so "not found" means what it says.
"""

from __future__ import annotations

import base64
import http.server
import json
import re
import socket
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from conftest import convert, run_locust

from recorder import sensitive
from recorder.har import parse_har
from recorder.sensitive import redact_text, secret_header, secret_name
from replay.convert import convert as convert_recording
from replay.convert import summary
from replay.runtime.session import _check_location

# What the recording marks secret: password fields (form, JSON, any *password, pin, *secret),
# Authorization and API-key headers, cookies, and a token the server made (correlated).
RECORDED = {
    "form password": "PW-MARKER-FORM-91c",
    "json password": "PW-MARKER-JSON-3f8",
    "old password": "PW-MARKER-OLD-5b2",
    "new password": "PW-MARKER-NEW-6c3",
    "pin": "PIN-MARKER-8d4",
    "client secret": "CLIENT-SECRET-MARKER-9a0",
    "basic auth password": "BASIC-PW-MARKER-7c1",
    "basic auth header": base64.b64encode(b"alice:BASIC-PW-MARKER-7c1").decode(),
    "static bearer": "STATIC-BEARER-MARKER-77ee",
    "api key": "APIKEY-MARKER-44aa",
    "session cookie": "COOKIE-MARKER-1a2b3c",
    "login cookie": "COOKIE-MARKER-2d4e6f",
    "server-made token": "SERVER-TOKEN-MARKER-e5f6a7b8c9",
}
# What the run is given instead: these must reach the server, and nothing we write.
LIVE = {
    "REPLAY_EMAIL": "live.alice@example.com",
    "REPLAY_PASSWORD": "LIVE-PW-MARKER-0a1",
    # A second, different recorded password is a second credential, not the first one again.
    "REPLAY_PASSWORD_2": "LIVE-PW2-MARKER-1f2",
    "REPLAY_USERNAME": "live-alice",
    "REPLAY_AUTHORIZATION": "Bearer LIVE-BEARER-MARKER-2b3",
    "REPLAY_AUTHORIZATION_2": "Bearer LIVE-BEARER2-MARKER-3c4",
    "REPLAY_OLD_PASSWORD": "LIVE-OLD-MARKER-5d6",
    "REPLAY_NEW_PASSWORD": "LIVE-NEW-MARKER-7e8",
    "REPLAY_PIN": "LIVE-PIN-MARKER-9f0",
    "REPLAY_CLIENT_SECRET": "LIVE-CS-MARKER-a1b",
    "REPLAY_X_API_KEY": "LIVE-APIKEY-MARKER-4c5",
}
LIVE_TOKEN = "LIVE-SERVER-TOKEN-6d7e8f9a"
ORIGIN = "http://127.0.0.1:8765"


def _entry(method, path, status=200, headers=(), post=None, answer=(), body="", mime="text/html"):
    request = {
        "method": method,
        "url": ORIGIN + path,
        "httpVersion": "HTTP/1.1",
        "headers": [{"name": k, "value": v} for k, v in (("Accept-Language", "en-US"), *headers)],
    }
    if post:
        request["postData"] = post
    return {
        "startedDateTime": "",
        "time": 5,
        "_resourceType": "document" if mime == "text/html" else "fetch",
        "request": request,
        "response": {
            "status": status,
            "headers": [{"name": k, "value": v} for k, v in (("Content-Type", mime), *answer)],
            "content": {"mimeType": mime, "text": body},
        },
    }


def _form(text: str) -> dict:
    return {"mimeType": "application/x-www-form-urlencoded", "text": text}


def _json(value: dict) -> dict:
    return {"mimeType": "application/json", "text": json.dumps(value)}


def secret_har() -> dict:
    r = RECORDED
    form = "application/x-www-form-urlencoded"
    cookies = f"sid={r['session cookie']}; session={r['login cookie']}"
    entries = [
        _entry(
            "GET",
            "/",
            answer=[("Set-Cookie", f"sid={r['session cookie']}; Path=/; HttpOnly")],
            body='<form><input type="hidden" name="csrf" value="csrf-abcdef123456"></form>',
        ),
        _entry(
            "POST",
            "/login",
            302,
            [("Cookie", f"sid={r['session cookie']}"), ("Content-Type", form)],
            _form(
                f"csrf=csrf-abcdef123456&email=alice%40example.com&password={r['form password']}"
            ),
            [("Location", "/home"), ("Set-Cookie", f"session={r['login cookie']}; Path=/")],
        ),
        _entry("GET", "/home", headers=[("Cookie", cookies)], body="<p>home</p>"),
        _entry(
            "POST",
            "/api/login",
            headers=[("Content-Type", "application/json"), ("Cookie", cookies)],
            post=_json({"username": "alice", "password": r["json password"]}),
            body=json.dumps({"token": r["server-made token"]}),
            mime="application/json",
        ),
        _entry(
            "GET",
            "/api/me",
            headers=[("Authorization", f"Bearer {r['server-made token']}")],
            body='{"name": "alice"}',
            mime="application/json",
        ),
        _entry(
            "GET",
            "/api/data",
            headers=[("Authorization", f"Basic {r['basic auth header']}")],
            body="[]",
            mime="application/json",
        ),
        _entry(
            "GET",
            "/api/items?page=2",
            headers=[
                ("X-Api-Key", r["api key"]),
                ("Authorization", f"Bearer {r['static bearer']}"),
            ],
            body="[]",
            mime="application/json",
        ),
        _entry(
            "PUT",
            "/api/password",
            204,
            [("Content-Type", "application/json"), ("X-CSRF-Token", "csrf-abcdef123456")],
            _json(
                {
                    "old_password": r["old password"],
                    "new_password": r["new password"],
                    "pin": r["pin"],
                }
            ),
            mime="application/json",
        ),
        _entry(
            "POST",
            "/api/client",
            headers=[("Content-Type", form), ("Cookie", cookies)],
            post=_form(f"client_id=shop-web&client_secret={r['client secret']}"),
            body="{}",
            mime="application/json",
        ),
    ]
    for second, entry in enumerate(entries):
        entry["startedDateTime"] = f"2026-01-01T10:00:{second * 2:02d}.000Z"
    return {"log": {"version": "1.2", "creator": {"name": "test"}, "entries": entries}}


class StandIn(http.server.BaseHTTPRequestHandler):
    """The recorded application: answers as recorded, but fails some requests on purpose (a
    500, a reset mid-response) so failure messages reach the reports too."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _reply(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _seen(self, what: str, value: str | None) -> None:
        with self.server.lock:
            self.server.seen[(what, value)] += 1

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/":
            page = b'<form><input type="hidden" name="csrf" value="csrf-live-987654321"></form>'
            self._reply(200, page, Set_Cookie="sid=live-sid-1; Path=/")
        elif path == "/home":
            self._reply(200, b"<p>home</p>")
        elif path == "/api/me":
            self._seen("me", self.headers.get("Authorization"))
            self._reply(200, b'{"name": "alice"}')
        elif path == "/api/data":
            self._seen("data", self.headers.get("Authorization"))
            self._reply(200, b"[]")
        elif path == "/api/items":
            self._seen("items", self.headers.get("X-Api-Key"))
            self._reply(200, b"[]")
        else:
            self._reply(404)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/login":
            self._seen("login", parse_qs(body.decode()).get("password", [""])[0])
            self._reply(302, Location="/home", Set_Cookie="session=live-session-2; Path=/")
        elif self.path == "/api/login":
            self._seen("api login", json.loads(body).get("password"))
            self._reply(200, json.dumps({"token": LIVE_TOKEN}).encode())
        else:  # /api/client: always a server error
            self._reply(500, b"<h1>Internal Server Error</h1>")

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.puts += 1
            reset = self.server.puts % 2 == 0
        if not reset:
            self._reply(204)
            return
        # Every other time: a status line, half a body, and a TCP reset.
        self.wfile.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 50\r\n\r\n{")
        self.wfile.flush()
        linger = (1).to_bytes(4, "little") + (0).to_bytes(4, "little")
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        self.close_connection = True


@pytest.fixture
def stand_in():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    server.daemon_threads = True
    server.lock, server.seen, server.puts = threading.Lock(), Counter(), 0
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _leaks(texts: dict[str, str], markers: dict[str, str]) -> list[str]:
    return [
        f"{what} ({marker}) in {where}"
        for where, text in texts.items()
        for what, marker in markers.items()
        if marker in text
    ]


def _files(folder: Path) -> dict[str, str]:
    return {
        str(path): path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_no_secret_in_generated_files_summary_logs_or_reports(stand_in, tmp_path):
    har = tmp_path / "capture" / "secrets.har"
    har.parent.mkdir()
    har.write_text(json.dumps(secret_har()))
    recordings = tmp_path / "recordings"
    result = convert(har, recordings / "secrets.py")
    assert result.returncode == 0, result.stderr
    written = _files(recordings)
    assert written, "convert wrote nothing"
    leaks = _leaks(
        {**written, "convert stdout": result.stdout, "convert stderr": result.stderr}, RECORDED
    )
    assert not leaks, leaks

    run = tmp_path / "run"
    run.mkdir()
    stats = run_locust(
        recordings,
        stand_in.url,
        "--think-scale",
        "0",
        "--loglevel",
        "DEBUG",
        users=3,
        run_time="4s",
        env=LIVE,
        tmp=run,
    )
    # The live credentials were used, and the failures really happened (so their messages
    # are in the reports searched below).
    seen = stand_in.seen
    assert seen["login", LIVE["REPLAY_PASSWORD"]] > 0, seen
    assert seen["api login", LIVE["REPLAY_PASSWORD_2"]] > 0, seen
    assert seen["me", f"Bearer {LIVE_TOKEN}"] > 0, seen
    account = f"{LIVE['REPLAY_USERNAME']}:{LIVE['REPLAY_PASSWORD']}".encode()
    assert seen["data", f"Basic {base64.b64encode(account).decode()}"] > 0, seen
    assert seen["items", LIVE["REPLAY_X_API_KEY"]] > 0, seen
    assert {f["Name"] for f in stats.failures} >= {"/api/password", "/api/client"}, stats.failures

    reports = {**_files(run), "locust output": stats.output}
    assert any(name.endswith("_failures.csv") for name in reports), list(reports)
    live = {name: value.split()[-1] for name, value in LIVE.items() if "MARKER" in value}
    leaks = _leaks(reports, {**RECORDED, **live, "live token": LIVE_TOKEN})
    assert not leaks, leaks


def _multipart_password(marker: str) -> dict:
    text = (
        '--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nhello\r\n'
        f'--XyZ\r\nContent-Disposition: form-data; name="password"\r\n\r\n{marker}\r\n--XyZ--\r\n'
    )
    content_type = "multipart/form-data; boundary=XyZ"
    return _entry(
        "POST",
        "/api/profile",
        headers=[("Content-Type", content_type)],
        post={"mimeType": content_type, "text": text},
        body="{}",
        mime="application/json",
    )


SECRET_PLACES = {
    "multipart password": _multipart_password,
    "query access_token": lambda marker: _entry(
        "GET", f"/api/items?access_token={marker}&page=2", body="{}", mime="application/json"
    ),
    "form api_token": lambda marker: _entry(
        "POST",
        "/api/notes",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        post=_form(f"api_token={marker}&title=hello"),
        body="{}",
        mime="application/json",
    ),
}


@pytest.mark.parametrize("place", SECRET_PLACES)
def test_secret_fields_stay_out_of_the_recording(place, tmp_path):
    """Secrets the capture addon redacts must not reach a recording converted from an
    unredacted HAR either: they become credentials read at run time."""
    marker = "PW-MARKER-FIELD-2e7"
    entry = SECRET_PLACES[place](marker)
    entry["startedDateTime"] = "2026-01-01T10:00:00.000Z"
    har = tmp_path / "secret.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    output = tmp_path / "recordings" / "secret.py"
    result = convert(har, output)
    assert result.returncode == 0, result.stderr
    assert marker not in output.read_text() + result.stdout + result.stderr
    assert "self.credential(" in output.read_text()


# --- what recorder/sensitive.py calls secret, and what it leaves alone ------------------------

HEX40 = "3f2a9c1e5b7d4f6a8c0e2b4d6f8a0c2e4b6d8f0a"


@pytest.mark.parametrize(
    "name",
    [
        *"passwort mot_de_passe contraseña contrasena senha securityAnswer security_answer".split(),
        *"ssn user_ssn userSsn cvv cvc2 card_number cardnumber cardNumber cc_number".split(),
        *"session session_id sessionId user_session".split(),
        *"pw new_pw appid app_key appKey auth_key recovery_code securityCode security_code".split(),
        *"X-Authorization X-Forwarded-Authorization X-Auth-Key X-Master-Key".split(),
        *"X-Parse-Master-Key X-Functions-Key DD-APPLICATION-KEY jsessionid PHPSESSID sid".split(),
        # look-alikes: Cyrillic а and А, Greek ο, fullwidth, mathematical bold, a zero-width
        # joiner, a soft hyphen, an accent, UTF-8 read as Latin-1
        *"p\u0430ssword p\u0410ssword t\u03bfken ｐａｓｓｗｏｒｄ pa\u200dssword".split(),
        *"\U0001d429\U0001d430\U0001d41d api\u00adkey pa\u0301ssword p\u00d0\u00b0ssword".split(),
    ],
)
def test_secret_names(name):
    assert secret_name(name) and secret_header(name)


def test_a_names_digits_say_nothing_about_its_secret():
    """`secret_name` and its kin ask about a name with each digit made 0 (`item_1` ... `item_12000`
    are asked once): a digit the name patterns read would make that wrong. Only `cvv2?` and
    `cvc2?` hold one, and a non-letter, which any digit is, may follow `cvv` as well."""
    patterns = (sensitive.SECRET_NAME, sensitive.NOT_SECRET_NAME)
    read = [re.sub(r"cv[vc]2\?|\{\d+(?:,\d*)?\}", "", p.pattern) for p in patterns]  # no {1,2}
    assert not any(re.search(r"\d", pattern) for pattern in read), read
    names = "cvv2 cvv7 cvc2x cvc9x cvv23 pin1 pin4code totp9 contrase12a item_3 apiKey2"
    named = sensitive._named.__wrapped__
    for name in names.split():
        zeroed = name.translate(sensitive.ZEROED)
        for kind in sensitive.NAMED:
            assert named(kind, name) == named(kind, zeroed), (name, kind)


@pytest.mark.parametrize(
    "name", "X-Auth X-Session X-Session-Id Authentication X-Access X-Cookie".split()
)
def test_secret_header_names(name):
    assert secret_header(name)


@pytest.mark.parametrize("name", ["\u0410uthorization", "X-\u0410pi-Key", "X-Аuth"])
def test_a_header_spelled_with_look_alikes_is_a_credential(name):
    assert secret_header(name)


@pytest.mark.parametrize(
    "name",
    [
        *"session_count sessions session_timeout classname lesson shipping opinion".split(),
        *"cardinality access accessible discard success auth_method".split(),
        *"page app_version app_id keyword monkey pwa authorization_status sidebar".split(),
        # folded, they stay what they were
        *"straße città ｐａｇｅ имя город κατηγορία 名前 café_id".split(),
        # token counts of an LLM request, not tokens
        *"max_tokens maxTokens max_new_tokens num_tokens total_tokens token_count".split(),
    ],
)
def test_names_that_are_not_secrets(name):
    assert not secret_name(name)


@pytest.mark.parametrize(
    "name", "Cookie Access-Control-Request-Method Accept X-Requested-With".split()
)
def test_headers_that_are_not_credentials(name):
    assert not secret_header(name)


@pytest.mark.parametrize(
    "text",
    [
        f"/reset/{HEX40}",
        f"/api/{HEX40}/projects",
        f"/account?confirm={HEX40}&next=/",
        f"/invite/{HEX40[:32]}",
        "/unsubscribe/aB3dE5fG7hJ9kL1mN3pQ5rS7tU",
        "X-Relay: Bearer abc123def456ghi789",
        "Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
        '{"relay": "Basic Ym9iOnNlY3JldA=="}',
        'mutation { login(user: "bob", password: "hunter2") }',
        # percent-encoded: once, twice, JSON, a URL's user:password@
        "/sso?next=%2Fcb%3Faccess_token%3Dabc123",
        "/sso?next=%252Fcb%253Faccess_token%253Dabc123",
        "/graphql?variables=%7B%22token%22%3A%20%22abc123%22%7D",
        "/graphql?variables=%7B%22token%22%3A+%22abc123%22%7D",
        "/hook?url=https%3A%2F%2Fu%3Ahunter2%40hooks.example%2Fx",
    ],
)
def test_secret_shapes_in_text(text):
    assert redact_text(text) != text


@pytest.mark.parametrize(
    "text",
    [
        f"/commit/{HEX40}",  # a git hash is no secret
        f"/blob/{HEX40}/README.md",
        f"/search?sha={HEX40}",
        f"/static/app.{HEX40[:32]}.js",
        f"/monkey/{HEX40}",  # a listed word only as a word of the segment
        f"/tokenizer-models/{HEX40}",
        f'If-None-Match: "{HEX40[:32]}"',
        "/api/v1/users/8412/some-long-resource-name-2",
        "WWW-Authenticate: Bearer realm=api",
        "Bearer authentication is required",
        "Basic Information",
        "parameter password = self.fake.password(length=14)",
        '{"session_count": "12", "title": "Token economics"}',
        "/login?next=%2Faccount%3Ftab%3D2%26page%3D3",  # an encoded return URL, no secret
        "/search?filter=%7B%22category%22%3A%20%22books%22%7D",
        "/share?u=mailto%3Aa%40b.c&t=100%25%20off",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert redact_text(text) == text


@pytest.mark.parametrize("handed_out", [False, True])
def test_an_anti_forgery_token_no_response_gave_is_named_in_the_summary(handed_out, tmp_path):
    """A recorded X-CSRF-Token is no secret, but sent as recorded by every user it is refused:
    convert says so, unless a response of the capture hands it out (then it is correlated)."""
    token = "e3b0c44298fc1c149afbf4c8996fb924"
    page = f'<meta name="csrf-token" content="{token}">' if handed_out else "<p>hi</p>"
    entries = [
        _entry("GET", "/", body=page),
        _entry(
            "POST",
            "/api/notes",
            headers=[
                ("X-CSRF-Token", token),
                ("X-CSRF-Protection", "1"),
                ("Content-Type", "application/json"),
            ],
            post=_json({"title": "hello"}),
            body="{}",
            mime="application/json",
        ),
    ]
    for second, entry in enumerate(entries):
        entry["startedDateTime"] = f"2026-01-01T10:00:0{second}.000Z"
    recording = parse_har(json.dumps({"log": {"version": "1.2", "entries": entries}}), "c.har")
    result = convert_recording(recording)
    warned = [
        line
        for line in summary(recording, result, tmp_path / "c.py")
        if line.startswith("warning: X-CSRF")
    ]
    assert bool(warned) != handed_out, warned
    assert (f'"X-CSRF-Token": "{token}"' in result.source) != handed_out, result.source


def test_a_field_named_like_a_credential_header_is_no_secret(tmp_path):
    """`X-Access` is a credential header; a JSON `"access": "public"` is a setting."""
    entry = _entry(
        "POST",
        "/api/notes",
        headers=[("Content-Type", "application/json")],
        post=_json({"title": "hello", "access": "public-read", "x_access": "all"}),
        body="{}",
        mime="application/json",
    )
    entry["startedDateTime"] = "2026-01-01T10:00:00.000Z"
    recording = parse_har(json.dumps({"log": {"version": "1.2", "entries": [entry]}}), "a.har")
    source = convert_recording(recording).source
    assert '"access": "public-read"' in source and "self.credential(" not in source, source


def test_a_redirect_to_a_rewritten_session_id_passes_its_check():
    """`;jsessionid=` is a new session id each run: the check compares the path without it."""
    live = "/cart;jsessionid=LIVE0123456789ABCDEF0123456789AB"
    assert _check_location(live, "/cart", "127.0.0.1:1") == ""
    assert _check_location("/login", "/cart", "127.0.0.1:1") != ""
