"""The capture side against real parts: a stdlib upstream, the real mitmdump, real Chromium.

Secrets below are distinctive strings so "not in the file" means what it says.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import http.server
import json
import re
import resource
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from conftest import DATA, convert, run_locust
from mitmproxy import exceptions, io
from mitmproxy.test import taddons, tflow

import recorder
from recorder.addon import (
    FORMAT,
    Capture,
    redact_body,
    redact_header,
    redact_url,
)
from recorder.browser import (
    BrowserError,
    chromium_path,
    parse_steps,
    record_browser,
)
from recorder.flows import read_capture, read_mitm_flows
from recorder.model import CaptureError
from recorder.proxy import (
    CaptureOptions,
    ProxyError,
    free_port,
    mitmdump_command,
    run_capture_proxy,
)
from recorder.sensitive import REDACTED, redaction_digest
from replay.convert import Options, bodies_missing
from replay.convert import convert as convert_recording

PASSWORD = "hunter2-pw-5e1"
SESSION = "sess-91b2d4c7"
BASIC = "Basic " + base64.b64encode(b"alice:basic-pw-77a").decode()
LOOPBACK_ONLY = ["--set", "block_list=/!(~d 127.0.0.1 | ~d localhost)/444"]
BINARY = bytes(range(256))

PAGE = b"""<!doctype html><title>shop</title>
<input id=email><input id=password type=password><button id=login>Log in</button>
<script>
document.getElementById("login").onclick = async () => {
  const r = await fetch("/api/login", {method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({email: email.value, password: password.value})});
  const {user} = await r.json();
  await fetch("/api/items?user=" + encodeURIComponent(user));
};
</script>"""


class Upstream(http.server.BaseHTTPRequestHandler):
    """The application being recorded: a page, a JSON login with a cookie, and odd bodies."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def reply(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        with contextlib.suppress(ConnectionError):  # a client that gave up (the point of /slow)
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path == "/":
            self.reply(200, PAGE, "text/html; charset=utf-8")
        elif path == "/api/items":
            self.reply(200, b'{"items": [1, 2, 3]}', "application/json")
        elif path == "/binary":
            self.reply(200, BINARY, "image/png")
        elif path == "/gzip":
            self.reply(200, gzip.compress(b"zipped " * 20), "text/plain", Content_Encoding="gzip")
        elif path == "/slow":
            self.server.slow_started.set()
            self.server.release.wait(5)
            self.reply(200, b"late", "text/plain")
        else:
            self.reply(404, b"no such page", "text/plain")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/api/login":
            user = json.loads(body)["email"]
            cookie = f"session={SESSION}; Path=/; HttpOnly"
            self.reply(
                200, json.dumps({"user": user}).encode(), "application/json", Set_Cookie=cookie
            )
        else:  # a form post, answered the usual way: redirect to the next page
            self.reply(303, b"", "text/plain", Location="/api/items")


@pytest.fixture(scope="module")
def upstream():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    server.slow_started, server.release = threading.Event(), threading.Event()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def proxy_opener(proxy_url: str) -> urllib.request.OpenerDirector:
    """A client through the proxy with its own cookie jar, as a browser would have."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": proxy_url}),
        urllib.request.HTTPCookieProcessor(CookieJar()),
    )


def session(opener: urllib.request.OpenerDirector, base: str) -> list[tuple[str, str]]:
    """Log in, browse, post a form; return the (method, path) of every hop, redirects included."""
    get = {"X-Mixed-Case": "kept", "Authorization": BASIC}
    login = json.dumps({"email": "alice@example.com", "password": PASSWORD}).encode()
    form = urllib.parse.urlencode({"user": "alice", "password": PASSWORD, "next": "/"}).encode()
    opener.open(urllib.request.Request(base + "/")).read()
    opener.open(
        urllib.request.Request(
            base + "/api/login", data=login, headers={"Content-Type": "application/json"}
        )
    ).read()
    opener.open(urllib.request.Request(base + "/api/items?page=2", headers=get)).read()
    opener.open(urllib.request.Request(base + "/form", data=form)).read()
    opener.open(base + "/binary").read()
    opener.open(base + "/gzip").read()
    return [
        ("GET", "/"),
        ("POST", "/api/login"),
        ("GET", "/api/items?page=2"),
        ("POST", "/form"),
        ("GET", "/api/items"),
        ("GET", "/binary"),
        ("GET", "/gzip"),
    ]


def hops(recording, base: str) -> list[tuple[str, str]]:
    return [(x.request.method, x.request.url.removeprefix(base)) for x in recording.exchanges]


def test_capture_keeps_every_finished_flow_through_kill_9(upstream, tmp_path):
    capture, base = tmp_path / "raw" / "shop.jsonl", upstream.url
    upstream.slow_started.clear()
    proxy = run_capture_proxy(capture, 0, quiet=True, extra_args=LOOPBACK_ONLY)
    try:
        expected = session(proxy_opener(proxy.url), base)
        in_flight = threading.Thread(target=_get_ignoring_errors, args=(proxy.url, base + "/slow"))
        in_flight.start()
        assert upstream.slow_started.wait(5)
        proxy.process.kill()
        proxy.process.wait()
    finally:
        proxy.stop()
    in_flight.join(5)

    header = json.loads(capture.read_bytes().split(b"\n", 1)[0])
    assert (header["format"], header["version"], header["redacted"]) == (FORMAT, 1, True)
    recording = read_capture(capture)
    assert hops(recording, base) == expected  # everything answered, nothing in flight
    assert recording.warnings == [] and recording.skipped == {}
    raw = capture.read_bytes()
    for secret in (PASSWORD, SESSION, BASIC.split()[1]):
        assert secret.encode() not in raw

    page, login, items, form, redirected, binary, zipped = recording.exchanges
    assert page.response.status == 200 and page.response.body == PAGE
    assert page.response.mime_type == "text/html; charset=utf-8"
    assert json.loads(login.request.body) == {"email": "alice@example.com", "password": REDACTED}
    assert login.request.mime_type == "application/json"
    assert login.response.header("Set-Cookie") == f"session={REDACTED}; Path=/; HttpOnly"
    assert items.request.header("Cookie") == f"session={REDACTED}"
    assert items.request.header("Authorization") == f"Basic {REDACTED}"
    assert ("X-Mixed-Case", "kept") in items.request.headers  # original case and value
    assert urllib.parse.parse_qs(form.request.body.decode())["password"] == [REDACTED]
    assert (form.response.status, form.response.reason) == (303, "See Other")
    assert form.response.header("Location") == "/api/items"
    assert redirected.response.body == b'{"items": [1, 2, 3]}'
    assert binary.response.body == BINARY and binary.response.mime_type == "image/png"
    assert zipped.response.body == b"zipped " * 20  # stored decoded, as browsers' HARs do
    for x in recording.exchanges:
        assert x.request.http_version == x.response.http_version == "HTTP/1.1"
        assert x.duration_ms >= 0 and x.error == ""
        assert x.request.declared_size == len(x.request.body)
    assert [x.started for x in recording.exchanges] == sorted(
        x.started for x in recording.exchanges
    )

    with capture.open("ab") as f:  # what a kill -9 halfway through a write leaves behind
        f.write(b'{"kind": "exchange", "id": "cut sh')
    truncated = read_capture(capture)
    assert len(truncated.exchanges) == len(expected)
    assert "incomplete last line" in truncated.warnings[0]
    assert_converts(capture, tmp_path / "shop.py")


def test_upstream_down_and_client_gone_are_exchanges_with_errors(upstream, tmp_path):
    capture, dead = tmp_path / "errors.jsonl", f"http://127.0.0.1:{free_port()}"
    base = upstream.url
    upstream.slow_started.clear()
    with run_capture_proxy(capture, 0, quiet=True, extra_args=LOOPBACK_ONLY) as proxy:
        with pytest.raises(urllib.error.HTTPError) as refused:
            proxy_opener(proxy.url).open(dead + "/api/items")
        assert refused.value.code == 502
        with socket.create_connection(("127.0.0.1", proxy.port)) as client:
            host = base.removeprefix("http://")
            client.sendall(f"GET {base}/slow HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            assert upstream.slow_started.wait(5)
        assert _wait(lambda: capture.read_bytes().count(b"\n") == 3)
        assert proxy_opener(proxy.url).open(base + "/api/items").status == 200
    refused_flow, gone, fine = read_capture(capture).exchanges
    assert refused_flow.request.url == dead + "/api/items"
    assert refused_flow.response.status == 0 and "connect call failed" in refused_flow.error.lower()
    assert gone.request.url == base + "/slow" and "disconnect" in gone.error.lower()
    assert fine.error == "" and fine.response.status == 200


@pytest.mark.parametrize("where", ["not-a-directory", "disk-full"])
def test_unwritable_capture_path_is_refused_at_startup(tmp_path, where):
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "x.jsonl" if where == "not-a-directory" else Path("/dev/full")
    if where == "disk-full" and not target.exists():
        pytest.skip("no /dev/full here")
    with pytest.raises(ProxyError, match=f"cannot write {target}: "):
        run_capture_proxy(target, 0)
    if where == "not-a-directory":  # mitmdump itself refuses too, naming the culprit
        command = mitmdump_command(target, free_port(), quiet=True)
        done = subprocess.run(command, capture_output=True, text=True, timeout=20)
        assert done.returncode != 0
        assert f"cannot write {target}: File exists: {target.parent}" in done.stdout


def test_disk_full_mid_session_logs_once_keeps_proxying_and_recovers(upstream, tmp_path):
    """RLIMIT_FSIZE makes the disk 'full' for mitmdump alone: writes fail with EFBIG."""
    capture, items = tmp_path / "full.jsonl", upstream.url + "/api/items"
    # The log goes to a pipe: the file size limit would hit a log file as well.
    terse = [*LOOPBACK_ONLY, "--set", "flow_detail=0", "--set", "termlog_verbosity=warning"]
    with run_capture_proxy(capture, 0, extra_args=terse, output=subprocess.PIPE) as proxy:
        opener = proxy_opener(proxy.url)
        opener.open(items + "?before").read()
        assert _wait(lambda: b"?before" in capture.read_bytes())
        full = capture.stat().st_size + 100  # room for part of one more line
        unlimited = resource.RLIM_INFINITY
        resource.prlimit(proxy.process.pid, resource.RLIMIT_FSIZE, (full, unlimited))
        for n in range(3):
            assert opener.open(f"{items}?lost={n}").read() == b'{"items": [1, 2, 3]}'
        resource.prlimit(proxy.process.pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
        opener.open(items + "?after").read()
        assert _wait(lambda: b"?after" in capture.read_bytes())
    output = proxy.process.stdout.read().decode()
    assert output.count("cannot write") == 1 and "NOT being recorded" in output
    assert "3 flows were lost" in output
    recording = read_capture(capture)
    assert [x.request.url.removeprefix(items) for x in recording.exchanges] == ["?before", "?after"]
    assert len(recording.warnings) == 1 and "unreadable line" in recording.warnings[0]


def test_flow_file_reads_like_the_capture(upstream, tmp_path):
    """`mitmdump -w` next to the addon (unredacted): both readers must see the same traffic."""
    capture, flows = tmp_path / "c.jsonl", tmp_path / "flows.mitm"
    extra = [*LOOPBACK_ONLY, "-w", str(flows)]
    unredacted = CaptureOptions(redact=False)
    with run_capture_proxy(capture, 0, unredacted, quiet=True, extra_args=extra) as proxy:
        expected = session(proxy_opener(proxy.url), upstream.url)
    from_flows, from_capture = recorder.read(flows), recorder.read(capture)
    assert from_flows.creator == "mitmproxy" and from_capture.creator.startswith("mitmproxy ")
    assert hops(from_flows, upstream.url) == expected
    assert from_flows.exchanges == from_capture.exchanges
    assert PASSWORD.encode() in from_flows.exchanges[1].request.body  # a faithful import
    assert_converts(flows, tmp_path / "flows.py")


def assert_converts(capture, output):
    """`replay convert` takes the file as it is, whatever its format."""
    result = convert(capture, output)
    assert result.returncode == 0, result.stderr
    source = output.read_text()
    compile(source, str(output), "exec")
    assert '"/api/items"' in source
    assert PASSWORD not in source


def test_flow_file_skips_other_protocols_and_survives_truncation(tmp_path):
    path = tmp_path / "mixed.mitm"
    with path.open("wb") as f:
        writer = io.FlowWriter(f)
        for flow in (
            tflow.tflow(resp=True),
            tflow.ttcpflow(),
            tflow.tdnsflow(),
            tflow.tflow(err=True),
        ):
            writer.add(flow)
    recording = read_mitm_flows(path)
    assert recording.skipped == {"tcp flow": 1, "dns flow": 1}
    ok, failed = recording.exchanges
    assert ok.response.status == 200 and failed.error == "error" and failed.response.status == 0

    path.write_bytes(path.read_bytes()[:-10])
    cut = read_mitm_flows(path)
    assert len(cut.exchanges) == 1 and "unreadable" in cut.warnings[0]
    path.write_bytes(b"not a flow file")
    with pytest.raises(CaptureError):
        read_mitm_flows(path)


def test_addon_filters_hosts_and_writes_websocket_messages(tmp_path):
    path, addon = tmp_path / "ws.jsonl", Capture()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, capture_file=str(path), capture_hosts=["example.com"])
        ws = tflow.tflow(resp=True, ws=True)
        ws.request.host = "chat.example.com"
        other = tflow.tflow(resp=True)
        other.request.host = "tracker.example.net"
        for flow in (ws, other):
            addon.response(flow)
        addon.websocket_message(ws)
        with pytest.raises(exceptions.OptionsError):
            tctx.configure(addon, capture_filter="~bogus(")
        addon.done()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line.get("kind") for line in lines] == [None, "exchange", "websocket_message"]
    assert lines[2]["flow_id"] == lines[1]["id"] and lines[2]["from_client"] is False
    recording = read_capture(path)
    assert recording.exchanges == [] and recording.skipped == {
        "websocket": 1,
        "websocket message": 1,
    }


def test_addon_refuses_to_append_to_a_foreign_file(tmp_path):
    foreign, addon = tmp_path / "notes.txt", Capture()
    foreign.write_text("my notes\n")
    with taddons.context(addon) as tctx, pytest.raises(exceptions.OptionsError):
        tctx.configure(addon, capture_file=str(foreign))
    assert foreign.read_text() == "my notes\n"


def test_redaction_keeps_names_and_structure():
    assert redact_header("Proxy-Authorization", "Basic abc") == f"Basic {REDACTED}"
    assert redact_header("authorization", "token") == REDACTED
    assert redact_header("Cookie", "a=1; b=; c=3") == f"a={REDACTED}; b=; c={REDACTED}"
    assert redact_header("Set-Cookie", "a=; Max-Age=0") == "a=; Max-Age=0"  # a deletion stays one
    assert redact_header("X-Api-Key", "k", frozenset({"x-api-key"})) == REDACTED
    assert redact_header("Accept", "*/*") == "*/*"
    # A long token keeps a digest the converter can match; a password-bearing scheme does not.
    token = "8d3f0c1e9a7b4c2d6e5f"
    digested = f"{REDACTED}-{redaction_digest(token)}"
    assert redact_header("Authorization", f"Bearer {token}") == f"Bearer {digested}"
    assert redact_header("Authorization", token) == digested
    assert redact_header("Authorization", f"Basic {token}") == f"Basic {REDACTED}"
    assert redact_header("Set-Cookie", f"sid={token}; Path=/") == f"sid={digested}; Path=/"
    assert redact_header("X-Api-Key", token, frozenset({"x-api-key"})) == digested
    assert redact_url("http://h/p?user=a&passwd=b%20c") == f"http://h/p?user=a&passwd={REDACTED}"
    nested = b'{"user": {"newPassword": "x", "remember_password": true, "client_secret": 7}}'
    assert json.loads(redact_body(nested, "text/plain")) == {
        "user": {"newPassword": REDACTED, "remember_password": True, "client_secret": REDACTED}
    }
    untouched = b'{"user":  "a"}'
    assert redact_body(untouched, "application/json") is untouched
    multipart = (
        b'--XX\r\nContent-Disposition: form-data; name="user"\r\n\r\nalice\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="password"\r\n\r\nsesame\r\n--XX--\r\n'
    )
    redacted = redact_body(multipart, "multipart/form-data; boundary=XX")
    assert b"sesame" not in redacted and b"alice" in redacted and redacted.endswith(b"--XX--\r\n")


def test_read_capture_rejects_what_it_cannot_read(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"format": "locust-replay-capture", "version": 99}\n')
    with pytest.raises(CaptureError, match="version 99"):
        read_capture(path)
    path.write_text('{"log": {}}')
    with pytest.raises(CaptureError, match="not a locust-replay capture"):
        read_capture(path)
    with pytest.raises(CaptureError):
        read_capture(tmp_path / "missing.jsonl")


def test_read_tells_the_formats_apart_by_content_not_by_name(tmp_path):
    """One reader for every source: a HAR, a capture and a flow file, each under another's
    name; anything else is a one-line CaptureError."""
    har, capture, flows = tmp_path / "a.jsonl", tmp_path / "b.mitm", tmp_path / "c.har"
    har.write_bytes(b"\xef\xbb\xbf\n " + (DATA / "demo-login.har").read_bytes())
    header = {"format": "locust-replay-capture", "version": 1, "creator": "by hand"}
    capture.write_text(json.dumps(header) + "\n")
    with flows.open("wb") as f:
        io.FlowWriter(f).add(tflow.tflow(resp=True))

    assert len(recorder.read(har).exchanges) > 1
    assert recorder.read(capture).creator == "by hand"
    assert recorder.read(flows).creator == "mitmproxy"

    odd = tmp_path / "odd"
    for content, reason in [
        (b"  \n", "empty file"),
        (b"<html></html>", "not a HAR file, a capture or a mitmproxy flow file"),
        (capture.read_bytes() + b"[" * 100_000, "nested too deeply"),
    ]:
        odd.write_bytes(content)
        with pytest.raises(CaptureError, match=reason):
            recorder.read(odd)
    with pytest.raises(CaptureError, match="is a directory"):
        recorder.read(tmp_path)
    with pytest.raises(CaptureError, match="no such file"):
        recorder.read(tmp_path / "missing.har")


def test_steps_parse_from_text_or_json_and_fail_in_one_line():
    text = 'goto /login\n# comment\nfill "input[name=q]" "two words"\npress Enter\nwait 100\n'
    steps = [("goto", "/login"), ("fill", "input[name=q]", "two words"), ("press", "Enter")]
    assert parse_steps(text) == [*steps, ("wait", "100")]
    assert parse_steps(json.dumps([*map(list, steps), ["wait", 100]])) == parse_steps(text)
    for bad, message in [
        ("hover #menu", "step 1: unknown action 'hover'"),
        ("goto /\nfill #email", "step 2: fill takes 2 argument"),
        ("wait soon", "wait takes milliseconds"),
        ("[1, 2]", "JSON steps are lists"),
    ]:
        with pytest.raises(BrowserError, match=message):
            parse_steps(bad)


@pytest.mark.skipif(not Path(chromium_path()).exists(), reason=f"no Chromium at {chromium_path()}")
def test_browser_steps_record_a_har(upstream, tmp_path):
    steps = parse_steps(
        f"""# log in the way a person would
        goto /
        fill #email alice@example.com
        fill #password {PASSWORD}
        click "button#login"
        wait 200
        """
    )
    har = record_browser(upstream.url + "/", tmp_path / "shop.har", steps=steps)
    requests = [e["request"] for e in json.loads(har.read_text())["log"]["entries"]]
    seen = [(r["method"], r["url"].removeprefix(upstream.url)) for r in requests]
    assert [hop for hop in seen if hop[1] != "/favicon.ico"] == [
        ("GET", "/"),  # once: the first `goto /` is the page the browser opened
        ("POST", "/api/login"),
        ("GET", "/api/items?user=alice%40example.com"),
    ]
    login = next(r for r in requests if r["method"] == "POST")
    assert json.loads(login["postData"]["text"]) == {
        "email": "alice@example.com",
        "password": PASSWORD,
    }
    assert kept_without_body(har) == []

    document = json.loads(har.read_text())
    for entry in document["log"]["entries"]:
        entry["request"].pop("postData", None)  # what Playwright sometimes does to a PUT
    har.write_text(json.dumps(document))
    assert ["POST" in w and "/api/login" in w for w in kept_without_body(har)] == [True]
    # A request the converter drops (another site's) is not replayed, so it is not named.
    entry = document["log"]["entries"][1]
    entry["request"]["url"] = "https://beacons.example.net/collect"
    har.write_text(json.dumps(document))
    assert kept_without_body(har) == []


def kept_without_body(har) -> list[str]:
    return bodies_missing(convert_recording(recorder.read(har), Options()).filtered)


def _get_ignoring_errors(proxy_url: str, url: str) -> None:
    """The request in flight when mitmdump dies: it fails, which is the point."""
    with contextlib.suppress(OSError):
        proxy_opener(proxy_url).open(url).read()


def _wait(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


class Bulk(http.server.BaseHTTPRequestHandler):
    """Big bodies both ways, written and read in chunks: `GET /bytes/N`, `POST /upload`."""

    protocol_version = "HTTP/1.1"
    CHUNK = bytes(range(256)) * 256

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        size = int(self.path.rsplit("/", 1)[1])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for _ in range(size // len(self.CHUNK)):
            self.wfile.write(self.CHUNK)

    def do_POST(self) -> None:
        left, received = int(self.headers["Content-Length"]), 0
        while left:
            data = self.rfile.read(min(left, 1 << 16))
            left, received = left - len(data), received + len(data)
        body = json.dumps({"received": received}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_huge_bodies_stream_through_and_the_capture_says_they_were_not_kept(tmp_path):
    """Huge bodies stream through (mitmproxy's stream_large_bodies, on by default) untouched
    and are neither held in memory nor written; the capture keeps the exchange and says its body
    went by."""
    huge = 48 * 1024 * 1024
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bulk)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    capture = tmp_path / "huge.jsonl"
    try:
        with run_capture_proxy(capture, 0, quiet=True, extra_args=LOOPBACK_ONLY) as proxy:
            opener = proxy_opener(proxy.url)
            with opener.open(f"{base}/bytes/{huge}") as download:
                assert (
                    sum(len(chunk) for chunk in iter(lambda: download.read(1 << 20), b"")) == huge
                )
            upload = urllib.request.Request(
                f"{base}/upload", data=b"x" * huge, headers={"Content-Type": "text/plain"}
            )
            assert json.loads(opener.open(upload).read()) == {"received": huge}
            assert opener.open(f"{base}/bytes/{len(Bulk.CHUNK)}").read() == Bulk.CHUNK
            assert _wait(lambda: capture.read_bytes().count(b"\n") == 4)
            assert proxy.process.poll() is None
    finally:
        server.shutdown()
        server.server_close()
    assert capture.stat().st_size < 1024 * 1024  # neither huge body was written
    recording = read_capture(capture)
    download, uploaded, small = recording.exchanges
    assert (download.response.status, download.response.body) == (200, b"")
    assert uploaded.request.body == b"" and uploaded.request.declared_size == huge
    assert small.response.body == Bulk.CHUNK  # under the limit: kept as usual
    [warning] = bodies_missing(convert_recording(recording, Options()).filtered)
    assert f"{huge}-byte body" in warning and "/upload" in warning


def test_redacted_proxy_capture_still_correlates(tickets_app, tmp_path):
    """Through the proxy with redaction on (the default), the capture shows neither the CSRF
    cookie where it is set nor the API key where it is sent; the recording still reads both
    from live responses (digests link them to where the capture holds them) and replays clean."""
    capture = tmp_path / "tickets.jsonl"
    with run_capture_proxy(capture, 0, quiet=True, extra_args=LOOPBACK_ONLY) as proxy:
        jar = CookieJar()
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": proxy.url}),
            urllib.request.HTTPCookieProcessor(jar),
        )
        opener.open(f"{tickets_app}/app").read()
        csrf = next(c.value for c in jar if c.name == "csrftoken")

        def send(method: str, path: str, body: dict | None = None, key: str = "") -> dict:
            headers = {"X-CSRFToken": csrf, "Content-Type": "application/json"}
            headers |= {"Authorization": f"Token {key}"} if key else {}
            data = json.dumps(body).encode() if body is not None else None
            request = urllib.request.Request(
                tickets_app + path, data=data, headers=headers, method=method
            )
            return json.loads(opener.open(request).read())

        key = send("POST", "/api/auth", {"username": "agent", "password": "agent-pass"})["key"]
        ticket = send("POST", "/api/tickets", {"title": "Printer on fire"}, key)["ticket"]
        send("GET", f"/api/tickets/{ticket['uuid']}", key=key)
        assert _wait(lambda: capture.read_bytes().count(b"\n") == 5)
    recording = read_capture(capture)
    sent_key = recording.exchanges[2].request.header("Authorization")
    set_csrf = recording.exchanges[0].response.header("Set-Cookie")
    assert re.fullmatch(r"Token REDACTED-[0-9a-f]{16}", sent_key) and key not in sent_key
    assert set_csrf.startswith("csrftoken=REDACTED-") and csrf not in set_csrf

    recordings = tmp_path / "recordings"
    result = convert(capture, recordings / "tickets.py")
    assert result.returncode == 0, result.stderr
    source = (recordings / "tickets.py").read_text()
    assert 'cookie("csrftoken")' in source and 'json_path("key")' in source, source
    assert key not in source and csrf not in source and "REDACTED" not in source
    stats = run_locust(
        recordings,
        tickets_app,
        "--think-scale",
        "0",
        users=3,
        run_time="4s",
        env={"REPLAY_USERNAME": "agent", "REPLAY_PASSWORD": "agent-pass"},
        tmp=tmp_path,
    )
    assert stats.failed == 0, stats.failures
    assert stats.count("POST /api/tickets") > 0
