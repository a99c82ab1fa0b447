"""A capture is untrusted input: what it holds reaches a generated module as data, never as code,
names stay valid and distinct, and a request that could not be sent fails `replay verify`.

The generated code's wording is held here too: what each step did, counts with their plurals,
where a credential comes from, and the `__main__` block that runs a recording once.
"""

from __future__ import annotations

import ast
import http.server
import json
import keyword
import logging
import os
import subprocess
import sys
import threading
import unicodedata
from pathlib import Path

import pytest
from conftest import DATA, ROOT, convert
from hypothesis import given
from hypothesis import strategies as st

from recorder.addon import FORMAT, VERSION
from recorder.flows import read_capture
from recorder.har import parse_har
from replay import cli, names
from replay.convert import Options, summary
from replay.convert import convert as convert_recording
from replay.convert.rules import RulesError, parse_rules
from replay.runtime.data import faker
from replay.runtime.session import RecordedSession

PAYLOAD = "x\"+__import__('os').system('echo PWNED')+\""


def entry(url, method="GET", headers=(), body=None, mime="", status=200, answer=(), text=""):
    request = {"method": method, "url": url, "httpVersion": "HTTP/1.1"}
    request["headers"] = [{"name": k, "value": v} for k, v in headers]
    if body is not None:
        request["postData"] = {"mimeType": mime, "text": body}
    return {
        "startedDateTime": "2026-01-01T00:00:00.000Z",
        "time": 10,
        "request": request,
        "response": {
            "status": status,
            "headers": [{"name": k, "value": v} for k, v in answer],
            "content": {"mimeType": "text/html", "text": text},
        },
    }


def converted(entries, name="hostile", **options):
    recording = parse_har(json.dumps({"log": {"version": "1.2", "entries": entries}}), name)
    return recording, convert_recording(recording, Options(**options))


def calls(tree: ast.AST, function: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == function
    ]


def load(source: str, tmp_path: Path, name: str = "generated"):
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    namespace: dict = {"__name__": name}
    exec(compile(source, str(path), "exec"), namespace)
    return namespace


def test_userinfo_of_a_recorded_url_never_becomes_code_nor_shows(tmp_path):
    """It was written into `self.live_origin("...")` unescaped: the payload ran at every start."""
    quoted = 'http://api"+str(1)+".example.com'  # a host name urlsplit accepts
    recording, result = converted(
        [
            entry("http://alice:hunter2@app.example.com/", headers=[("Accept", "text/html")]),
            entry("http://app.example.com/next?to=http://api.example.com/a&at=" + quoted + "/b"),
            entry(f"http://{PAYLOAD}@api.example.com/data"),
            entry(f"{quoted}/data"),
        ],
        include_hosts=("example.com",),
    )
    tree = ast.parse(result.source)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "__import__"]
    origins = [ast.literal_eval(a) for call in calls(tree, "live_origin") for a in call.args]
    assert origins == ["http://api.example.com", quoted]
    lines = "\n".join(summary(recording, result, tmp_path / "x.py"))
    for shown in (result.source, lines):
        assert "hunter2" not in shown and "alice:" not in shown and "__import__" not in shown
    namespace = load(result.source, tmp_path)
    assert namespace["Hostile"].recorded_host == "http://app.example.com"


def test_a_requested_urls_fragment_is_never_sent():
    """A browser never sends a fragment, yet a capture may hold one in a request's URL (an
    OAuth callback's `#access_token=...`): replayed, Locust would put it on the wire."""
    _, result = converted(
        [
            entry("http://app.example.com/"),
            entry("http://app.example.com/docs?page=2#section-2"),
            entry("http://app.example.com/cb#access_token=" + "a1B2" * 8 + "&state=xyz"),
        ]
    )
    sent = [ast.unparse(call.args[0]) for call in calls(ast.parse(result.source), "get")]
    assert sent == ["'/'", "'/docs?page=2'", "'/cb'"]
    assert "credential" not in result.source


@pytest.mark.parametrize("header", ["ᵗᵃˢᵏ", "1-Forwarded", "X²", "HEADERS", "Hostile", "ˢᵉˡᶠ"])
def test_header_names_become_valid_constants_that_shadow_nothing(header, tmp_path):
    """A constant named from `ᵗᵃˢᵏ` was `task` once Python normalised it (NFKC), replacing the
    decorator; `1-Forwarded` and `X²` were SyntaxErrors."""
    shared = [(header, "v" * 60), ("Accept", "text/html," + "v" * 60)]
    pages = [("a", shared), ("b", shared), ("c", [("Accept", "*/*")])]
    _, result = converted([entry(f"http://app.example.com/{p}", headers=h) for p, h in pages])
    tree = ast.parse(result.source)
    constants = [t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets]
    assert len(constants) == 2 and len(set(constants)) == 2
    assert all(c.isascii() and c.isupper() and c != "HEADERS" for c in constants), constants
    namespace = load(result.source, tmp_path)
    from replay.runtime import task

    steps = namespace["Hostile"].tasks
    assert namespace["task"] is task and [s.__name__ for s in steps] == ["view_a", "view_b"]


@given(st.text(max_size=30), st.sampled_from(["snake", "upper", "camel"]))
def test_every_name_is_a_stable_identifier_no_one_else_uses(text, style):
    name = names.identifier(text, style=style)
    assert name.isidentifier() and name.isascii()
    assert unicodedata.normalize("NFKC", name) == name
    assert not keyword.iskeyword(name) and name not in names.TAKEN
    taken = {name}
    assert names.identifier(text, style=style, taken=taken) not in {name}
    assert len(taken) == 2


def test_session_names_cover_what_a_recorded_session_has():
    public = {n for n in dir(RecordedSession) if not n.startswith("_")}
    assert public <= names.SESSION_NAMES
    assert {"step", "fake", "unique"} <= names.SESSION_NAMES  # set on each instance


@pytest.mark.parametrize(
    "rule",
    [
        '[[correlation.extract]]\nvar = "basket_id\\n"\nvalue = "8f3a9c21"\njson = "id"',
        '[[correlation.extract]]\nvar = "ﬁle"\nvalue = "8f3a9c21"\njson = "id"',
        '[[correlation.extract]]\nvar = "class"\nvalue = "8f3a9c21"\njson = "id"',
        '[[correlation.extract]]\nvar = "post"\nvalue = "8f3a9c21"\njson = "id"',
        '[parameters]\ncity = "faker.city\\n"',
        '[parameters]\ncity = "credential.pass\\nword"',
    ],
)
def test_rules_names_are_whole_python_names(rule):
    """`$` matched before a trailing newline: `basket_id\\n` was accepted as a name."""
    with pytest.raises(RulesError):
        parse_rules(rule, "x.rules.toml")


def test_rule_constants_are_python_values():
    """`json.dumps` wrote `true` and `Infinity`: names Python does not know."""
    rules = parse_rules(
        "[parameters]\nflag = { constant = true }\nlimit = { constant = inf }\n"
        'note = { constant = "a\\"b\\\\c" }',
        "x.rules.toml",
    )
    values = {name: eval(rule.expr) for name, rule in rules.parameters.items()}
    assert values == {"flag": True, "limit": float("inf"), "note": 'a"b\\c'}


def capture_line(url: str, duration, started: float = 1_767_225_600.0) -> str:
    message = {"http_version": "HTTP/1.1", "headers": [], "body": "", "body_encoding": "utf-8"}
    return json.dumps(
        {
            "kind": "exchange",
            "started": started,
            "duration_ms": duration,
            "request": {"method": "GET", "url": url, "mime_type": "", **message},
            "response": {"status": 200, "reason": "OK", "mime_type": "text/html", **message},
        }
    )


@pytest.mark.parametrize("duration", [float("nan"), float("inf"), -5.0])
def test_a_duration_that_is_not_one_is_refused_in_one_line(duration, tmp_path, caplog):
    """JSON's NaN reached the module as `self.think(nan)`."""
    capture, output = tmp_path / "c.jsonl", tmp_path / "c.py"
    header = json.dumps({"format": FORMAT, "version": VERSION})
    lines = [capture_line("http://app.example.com/", duration)]
    lines.append(capture_line("http://app.example.com/next", 1.0, started=1_767_225_605.0))
    capture.write_text("\n".join([header, *lines]) + "\n")
    with caplog.at_level(logging.ERROR, logger="replay"):
        code = cli.main(["convert", str(capture), "-o", str(output)])
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert code == 2 and len(errors) == 1 and "duration_ms" in errors[0], errors
    assert not output.exists()
    lines[0] = capture_line("http://app.example.com/", 12.0)
    capture.write_text("\n".join([header, *lines]) + "\n")
    assert "self.think(5.0)" in convert_recording(read_capture(capture)).source


class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def target():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


UNSENDABLE = """
from replay.runtime import RecordedSession, task


class Unsendable(RecordedSession):
    @task
    def first(self):
        self.get("/")
        {call}

    @task
    def second(self):
        self.get("/")
"""


def _failed_verify(recording: Path, target: str) -> subprocess.CompletedProcess:
    """`replay verify` of `recording` against `target`, which must exit 1."""
    result = subprocess.run(
        [sys.executable, "-m", "replay.cli", "verify", str(recording), "--host", target],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=recording.parent,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    return result


@pytest.mark.parametrize(
    "call, reason",
    [
        ('self.get("//other.example.com/path")', "invalid request URI"),
        ('self.get("/", headers={"X Bad": "1"})', "invalid header field name"),
    ],
)
def test_verify_fails_a_request_that_could_not_be_sent(call, reason, target, tmp_path):
    """It printed a traceback, `not sent ... ok`, and exited 0: "replays as recorded"."""
    recording = tmp_path / "unsendable.py"
    recording.write_text(UNSENDABLE.format(call=call))
    result = _failed_verify(recording, target)
    assert "Traceback" not in result.stderr, result.stderr
    failed = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert len(failed) == 1 and f"not sent: {reason}" in failed[0], result.stdout
    assert "not run: second" in result.stdout


RAISES = """
from replay.runtime import RecordedSession, task


class Raises(RecordedSession):
    {on_start}

    @task
    def first(self):
        self.get("/")
        order = {{}}["id"]
        self.post(f"/orders/{{order}}")

    @task
    def second(self):
        self.get("/")
"""


@pytest.mark.parametrize(
    "on_start, step",
    [("pass", "first"), ('def on_start(self):\n        self.token = {}["token"]', "on_start")],
    ids=["in a step", "in on_start"],
)
def test_verify_fails_a_pass_whose_code_raises(on_start, step, target, tmp_path):
    """A step that raised between its requests was `ok` ("replays as recorded", exit 0: Locust
    reports it as a user error, no request event); one in on_start was an internal error."""
    recording = tmp_path / "raises.py"
    recording.write_text(RAISES.format(on_start=on_start.replace("pass", "")))
    result = _failed_verify(recording, target)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    failed = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert len(failed) == 1 and "raised KeyError" in failed[0], failed
    assert any(line.startswith(step) for line in result.stdout.splitlines()), result.stdout


def test_every_faker_locale_has_the_providers_the_converter_writes():
    """Faker's en_PH, fil_PH, tl_PH and tl lack phone_number(): a recording made in the
    Philippines raised in every user."""
    for locale in ("en_PH", "fil_PH", "tl_PH", "tl"):
        fake = faker(locale)
        assert fake.phone_number() and fake.name(), locale


DEEP = """
from replay.runtime import RecordedSession, task

DEEP = "[" * 5000 + "]" * 5000


class Deep(RecordedSession):
    @task
    def send_deep(self):
        self.post("/", data=DEEP, headers={"Content-Type": "application/json"})
"""


def test_verify_of_a_json_body_nested_past_the_parser_limit_is_no_crash(target, tmp_path):
    """A JSON body too deep for json.loads (convert sends it as its recorded text) ended verify
    with a RecursionError."""
    recording = tmp_path / "deep.py"
    recording.write_text(DEEP)
    result = subprocess.run(
        [sys.executable, "-m", "replay.cli", "verify", str(recording), "--host", target],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_docstrings_say_what_the_user_did(tmp_path):
    output = tmp_path / "demo_shop.py"
    assert convert(DATA / "demo-shop.har", output).returncode == 0
    tree = ast.parse(output.read_text())
    [session] = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    steps = {f.name: ast.get_docstring(f) for f in session.body if isinstance(f, ast.FunctionDef)}
    assert steps["view_signup"] == "Open the Sign up page"
    assert steps["post_signup"] == "Sign up"
    assert steps["post_api_orders"] == "Create an order"
    assert steps["update_api_orders"] == "Update the order"
    assert steps["post_notes"] == "Submit the notes form"
    module, described = ast.get_docstring(tree), ast.get_docstring(session)
    assert "19 of 33 requests kept, dropped 14 static assets" in module
    assert "10 steps, 5 correlated values, 4 parameters" in described
    assert "2026-11-26" not in module and "33" not in described  # said once, in one place


def test_a_credential_says_where_it_comes_from_never_what_was_typed(tmp_path):
    output = tmp_path / "demo_login.py"
    assert convert(DATA / "demo-login.har", output).returncode == 0
    recorded = json.loads((DATA / "demo-login.har").read_text())["log"]["entries"]
    login = next(e for e in recorded if e["request"]["method"] == "POST")
    typed = [p.split("=")[1] for p in login["request"]["postData"]["text"].split("&")]
    source = output.read_text()
    assert "        # from --accounts or $REPLAY_EMAIL\n" in source
    assert "        # from --accounts or $REPLAY_PASSWORD\n" in source
    assert not [t for t in typed if len(t) > 3 and t.replace("%40", "@") in source]


def test_a_recording_runs_once_as_a_script(demo_app, tmp_path):
    """`python recordings/NAME.py --host URL`: Locust's run_single_user, one pass, then it ends."""
    output = tmp_path / "demo_browse.py"
    assert convert(DATA / "demo-browse.har", output).returncode == 0
    result = subprocess.run(
        [sys.executable, str(output), "--host", demo_app],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    requests = [line.split() for line in result.stdout.splitlines() if line[:4] in ("GET\t",)]
    assert [r[1] for r in requests].count("/products/burr-grinder") == 1, result.stdout
    assert len(requests) == len(calls(ast.parse(output.read_text()), "get")), result.stdout
