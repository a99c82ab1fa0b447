"""Replay controls with real Locust: verify, host mapping, stats names, pacing, shapes, weights."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from conftest import DATA, ROOT, convert, run_locust

from replay.runtime import shapes
from replay.runtime.settings import (
    Settings,
    SettingsError,
    apply_env,
    check_host,
    host_map,
    load_settings,
)

LOGIN_ACCOUNT = {"REPLAY_EMAIL": "demo@example.com", "REPLAY_PASSWORD": "demo-password"}


class StandIn(ThreadingHTTPServer):
    """A local server that answers anything and remembers every request and connection."""

    daemon_threads = True

    def __init__(self, redirects: dict[str, str] | None = None):
        self.requests: list[tuple[str, str]] = []
        self.bodies: list[bytes] = []
        self.connections: set[int] = set()
        self.redirects = redirects or {}
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connections can be counted
    disable_nagle_algorithm = True

    def _answer(self):
        server: StandIn = self.server
        server.requests.append((self.command, self.path))
        server.connections.add(self.client_address[1])
        server.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        target = server.redirects.get(self.path)
        body = b"" if target else b'{"ok": true}'
        self.send_response(302 if target else 200)
        if target:
            self.send_header("Location", target)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def stand_in(redirects: dict[str, str] | None = None) -> Iterator[StandIn]:
    server = StandIn(redirects)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def har(path: Path, entries: list[tuple]) -> Path:
    """A HAR of (method, url, status, response headers, request JSON body) entries, 0.1 s apart."""
    rows = []
    for i, (method, url, status, headers, body) in enumerate(entries):
        request = {"method": method, "url": url, "httpVersion": "HTTP/1.1", "headers": []}
        if body is not None:
            request["headers"] = [{"name": "Content-Type", "value": "application/json"}]
            request["postData"] = {"mimeType": "application/json", "text": json.dumps(body)}
        html = url.endswith("/")
        rows.append(
            {
                "startedDateTime": f"2026-11-26T10:00:{i:02d}.000Z",
                "time": 5,
                "_resourceType": "document" if html else "fetch",
                "request": request,
                "response": {
                    "status": status,
                    "httpVersion": "HTTP/1.1",
                    "headers": [{"name": k, "value": v} for k, v in headers.items()],
                    "content": {
                        "mimeType": "text/html" if html else "application/json",
                        "text": "<html></html>" if html else '{"ok": true}',
                    },
                },
            }
        )
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": rows}}))
    return path


def converted(har_file: Path, recordings: Path, *args: str) -> Path:
    output = recordings / f"{har_file.stem.replace('-', '_')}.py"
    result = convert(har_file, output, *args)
    assert result.returncode == 0, result.stderr
    return output


def replay(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "replay.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def test_verify_names_the_uncorrelated_value_and_fix_makes_it_verify(
    demo_app, recordings, tmp_path
):
    """Converted verbatim, the shop's sign-up sends the recorded CSRF token: verify fails on
    that step and names the token; --fix writes the rule, converts again, and verifies."""
    recording = converted(DATA / "demo-shop.har", recordings, "--no-correlate")
    recorded_bearer = _recorded_header(DATA / "demo-shop.har", "authorization")
    env = {"REPLAY_AUTHORIZATION": recorded_bearer}
    failed = replay("verify", str(recording), "--host", demo_app, env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    out = failed.stdout
    assert re.search(r"post_signup\s+POST /signup\s+403, recorded 302 .*FAIL", out), out
    assert "not run: view_shop" in out
    token = re.search(r'"csrf_token": "([^"]+)"', recording.read_text()).group(1)
    assert f"not correlated: csrf_token: the recording sends '{token[:37]}" in out, out
    assert "[[correlation.extract]]" in out and "replay verify --fix" in out
    rules = recording.with_suffix(".rules.toml")
    assert not rules.exists()

    fixed = replay("verify", str(recording), "--host", demo_app, "--fix", env=env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "var = 'csrf_token'" in rules.read_text()
    again = replay("verify", str(recording), "--host", demo_app)
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.search(r"post_api_login +POST /api/login +200 .* ok +login_token found", again.stdout)
    assert "verified: DemoShop replays as recorded" in again.stdout


def _recorded_header(har_file: Path, name: str) -> str:
    entries = json.loads(har_file.read_text())["log"]["entries"]
    headers = (h for e in entries for h in e["request"]["headers"])
    return next(h["value"] for h in headers if h["name"].lower() == name)


def test_mapped_hosts_are_rewritten_and_unmapped_hosts_never_contacted(recordings, tmp_path):
    """Recorded against shop.example.test with an api.example.test host and a third host;
    replayed against stand-in B with the API mapped: the third server hears nothing."""
    with stand_in() as api, stand_in() as third, stand_in({"/go": f"{api.url}/welcome"}) as shop:
        capture = har(
            tmp_path / "hosts.har",
            [
                ("GET", "http://shop.example.test/", 200, {}, None),
                ("GET", "http://shop.example.test/go", 302, _to("/welcome"), None),
                ("GET", "http://api.example.test/welcome", 200, {}, None),
                ("POST", "http://api.example.test/graphql", 200, {}, {"operationName": "Cart"}),
                ("POST", "http://shop.example.test/oauth/start", 200, {}, OAUTH_START),
                ("GET", f"http://shop.example.test/login?next={RETURN_TO_ENCODED}", 200, {}, None),
                ("GET", f"{third.url}/widget.json", 200, {}, None),
            ],
        )
        converted(capture, recordings, "--include-host", "127.0.0.1")
        stats = run_locust(
            recordings,
            shop.url,
            "--think-scale",
            "0",
            "--map-host",
            f"api.example.test={api.url}",
            users=2,
            run_time="3s",
            tmp=tmp_path,
        )
    assert third.requests == []
    assert ("GET", "/go") in shop.requests and ("GET", "/welcome") not in shop.requests
    # URLs of the recorded hosts inside requests point at the live ones.
    assert {
        "redirect_uri": f"{api.url}/callback",
        "return_to": f"{shop.url}/done",
        "origin": quote(shop.url, safe=""),
    } in [json.loads(body) for body in shop.bodies if body]
    assert ("GET", f"/login?next={quote(shop.url, safe='')}%2Fdone") in shop.requests
    assert ("POST", "/graphql") in api.requests
    assert stats.count("POST /graphql Cart") > 0, stats.rows.keys()
    failing = {f["Name"]: f["Error"] for f in stats.failures}
    assert set(failing) == {"/widget.json"}, failing
    message = failing["/widget.json"]
    port = third.url.rsplit(":", 1)[1]
    assert "not contacted" in message and f"--map-host 127.0.0.1:{port}=URL" in message


OAUTH_START = {
    "redirect_uri": "http://api.example.test/callback",
    "return_to": "http://shop.example.test/done",
    "origin": quote("http://shop.example.test", safe=""),
}
RETURN_TO_ENCODED = quote("http://shop.example.test/done", safe="")


def _to(path: str) -> dict[str, str]:
    return {"Location": f"http://api.example.test{path}"}


def test_weights_hold_session_ratio_and_pacing_holds_arrival_rate(demo_app, recordings, tmp_path):
    """Weights 3:1 (one from replay.toml, one from Locust's --config-users over it) and
    --pacing 1: each user starts a session a second, so sessions arrive 3:1 at 8 per second."""
    converted(DATA / "demo-browse.har", recordings)
    converted(DATA / "demo-login.har", recordings)
    (recordings / "replay.toml").write_text(
        "[recording.DemoBrowse]\nweight = 3\n\n[recording.DemoLogin]\nweight = 5\n"
    )
    stats = run_locust(
        recordings,
        demo_app,
        "--think-scale",
        "0",
        "--pacing",
        "1",
        "--config-users",
        '{"user_class_name": "DemoLogin", "weight": 1}',
        users=8,
        run_time="20s",
        env=LOGIN_ACCOUNT,
        tmp=tmp_path,
    )
    assert stats.failed == 0, stats.failures
    started = _sessions_started(stats.output)
    assert 0.9 * 3 <= started["DemoBrowse"] / started["DemoLogin"] <= 1.1 * 3, started
    seconds = _seconds_between("All users spawned", "--run-time limit reached", stats.output)
    # Each user starts a session when it is spawned (up to a second before "All users
    # spawned") and then one a second: at most `seconds + 2` sessions each.
    assert 8 * (seconds - 1) <= sum(started.values()) <= 8 * (seconds + 2), (started, seconds)


def _sessions_started(output: str) -> dict[str, int]:
    return {
        name: int(n)
        for name, n in re.findall(r"summary: (\w+): \d+ users?, (\d+) sessions started", output)
    }


def _seconds_between(first: str, last: str, output: str) -> float:
    """Seconds between two of Locust's log lines (the run is timed from a clock that can
    start late when the machine is busy, so the test measures instead of assuming)."""
    times = [
        datetime.strptime(re.search(rf"\[([^\]]+)\].*{re.escape(line)}", output)[1], STAMP)
        for line in (first, last)
    ]
    return (times[1] - times[0]).total_seconds()


STAMP = "%Y-%m-%d %H:%M:%S,%f"


def test_step_shape_drives_the_user_count(demo_app, recordings, tmp_path):
    converted(DATA / "demo-browse.har", recordings)
    stats = run_locust(
        recordings,
        demo_app,
        "--load-shape",
        "step",
        "--shape-steps",
        "4",
        "--csv-full-history",
        users=4,
        run_time="6s",
        tmp=tmp_path,
    )
    assert stats.failed == 0, stats.failures
    with (tmp_path / "stats_stats_history.csv").open() as f:
        rows = [row for row in csv.DictReader(f) if row["Name"] == "Aggregated"]
    counts = [int(row["User Count"]) for row in rows if row["User Count"] != "0"]
    assert counts == sorted(counts) and counts[0] == 1 and counts[-1] == 4, counts
    assert {2, 3} <= set(counts), counts


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (shapes.RampShape, [1, 3, 5, 8, 10]),
        (shapes.StepShape, [3, 5, 8, 10, 10]),
        (shapes.SpikeShape, [2, 2, 10, 2, 2]),
    ],
)
def test_shapes_over_a_run(shape, expected):
    options = SimpleNamespace(shape_steps=4)
    assert [shape().users_at(p, 10, options) for p in (0.0, 0.25, 0.5, 0.75, 0.99)] == expected


@pytest.mark.parametrize(
    "check",
    [
        lambda: check_host("http://[::1"),
        lambda: check_host("http://127.0.0.1:70000"),
        lambda: host_map(["api.example.com=http://["]),
        lambda: host_map(["[=http://127.0.0.1:1"]),
    ],
    ids=["--host IPv6", "--host port", "--map-host TO", "--map-host FROM"],
)
def test_a_host_that_urlsplit_cannot_read_is_a_settings_error(check):
    """`replay verify` and Locust say it in one line, not `internal error: ValueError`."""
    with pytest.raises(SettingsError, match="is not a URL or host"):
        check()


@pytest.mark.parametrize(
    "line",
    [
        "network_timeout = -1",
        "connect_timeout = nan",
        "think_scale = -0.5",
        "pacing = inf",
        "connection_pool = -1",
    ],
)
def test_a_settings_number_the_command_line_would_refuse_is_refused(line, tmp_path):
    (tmp_path / "replay.toml").write_text(f"[env.ci]\n{line}\n")
    with pytest.raises(SettingsError, match=line.split(" = ")[0]):
        load_settings(None, tmp_path)


def test_an_env_without_a_settings_file_says_so():
    with pytest.raises(SettingsError, match=r"no settings file \(replay.toml or --settings\)"):
        apply_env(SimpleNamespace(env="nope"), Settings())
