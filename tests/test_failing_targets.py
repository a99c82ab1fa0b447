"""Replay against targets that misbehave: every fault is a counted failure with a clear message,
the run goes on, no user dies with a traceback, and a user whose session cannot go on starts
over instead of sending what it does not have.

The targets are small stdlib servers on 127.0.0.1 that misbehave on purpose, one way per path;
the recordings are written by hand as `replay convert` writes them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import socket
import socketserver
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import Stats, run_locust

TIMEOUT = 1.0
"""Connect and read timeout of the replaying users, so a hung target costs seconds, not 60."""
RUN_TIME = "7s"

# (recording, path of its first request, what the request expects, the failure message says)
FAULTS = {
    "ServerError": ("/5xx", "", "status 503, recorded 200"),
    "ResetMidResponse": ("/reset", "", "response cut short after status 200"),
    "ShortOfLength": ("/short", 'save={"token": json_path("token")}', "response cut short"),
    "TruncatedJson": ("/truncated", 'save={"token": json_path("token")}', "token not found"),
    "HtmlInsteadOfJson": ("/html", 'save={"token": json_path("token")}', "token not found"),
    "MissingValue": ("/missing", 'save={"token": json_path("token")}', "token not found"),
    "RedirectAway": ("/away", 'expect=302, location="/dashboard"', "another host"),
    "RedirectToLogin": ("/to-login", 'expect=302, location="/dashboard"', "redirected to /login"),
    "RedirectToNoUrl": ("/no-url", 'expect=302, location="/dashboard"', "which is no URL"),
    "ReadTimeout": ("/hang", "", "no response"),
    "DroppedConnection": ("/drop", "", "no response"),
    "EmptyBody": ("/empty", 'save={"token": json_path("token")}', "token not found"),
    "DeepJson": ("/deep", 'save={"token": json_path("token")}', "token not found"),
    "Unsendable": ("/unsendable", 'headers={"X Bad": "1"}', "not sent: invalid header field"),
}


class Misbehaving(socketserver.ThreadingTCPServer):
    """An HTTP/1.1 server that answers each path with one fault, counting the paths it saw."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        with contextlib.suppress(OSError):
            while self._one_request():
                pass

    def _one_request(self) -> bool:
        line = self.rfile.readline(65536).decode("latin-1")
        if not line.strip():
            return False
        path = line.split()[1]
        length = 0
        while (header := self.rfile.readline(65536)) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        self.rfile.read(length)
        server: Misbehaving = self.server  # type: ignore[assignment]
        with server.lock:
            server.hits[path] += 1
        return self._answer(path)

    def _send(self, status: str, body: bytes, *headers: str, length: int | None = None) -> None:
        head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body) if length is None else length}"]
        self.wfile.write(("\r\n".join([*head, *headers, "", ""])).encode() + body)

    def _answer(self, path: str) -> bool:
        json_type = "Content-Type: application/json"
        if path == "/5xx":
            self._send("503 Service Unavailable", b"<h1>down for maintenance</h1>")
        elif path == "/reset":  # headers and half a body, then a TCP reset
            self._send("200 OK", b'{"token": "t-12', json_type, length=400)
            self.wfile.flush()
            linger = (1).to_bytes(4, "little") + (0).to_bytes(4, "little")
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            return False
        elif path == "/short":  # the connection closes before Content-Length is reached
            self._send("200 OK", b'{"token": "t-12', json_type, length=400)
            return False
        elif path == "/truncated":  # a body that ends with the connection, cut mid-JSON
            self.wfile.write(
                f"HTTP/1.1 200 OK\r\n{json_type}\r\nConnection: close\r\n\r\n".encode()
            )
            self.wfile.write(b'{"token": "t-12')
            return False
        elif path == "/html":
            self._send("200 OK", b"<!doctype html><p>Please log in</p>", "Content-Type: text/html")
        elif path == "/missing":
            self._send("200 OK", b'{"error": "no token today"}', json_type)
        elif path == "/away":
            self._send("302 Found", b"", "Location: http://login.elsewhere.example/dashboard")
        elif path == "/to-login":
            self._send("302 Found", b"", "Location: /login?next=/dashboard")
        elif path == "/no-url":  # urlsplit raises on it: a failure, not a user error
            self._send("302 Found", b"", "Location: http://[")
        elif path == "/drop":  # read the request, close without a word
            return False
        elif path == "/empty":
            self._send("200 OK", b"", json_type)
        elif path == "/deep":  # nested past the JSON parser's recursion limit
            self._send("200 OK", b"[" * 100_000 + b"]" * 100_000, json_type)
        elif path == "/hang":  # read the request, never answer
            self.server.release.wait(30)  # type: ignore[attr-defined]
            return False
        else:
            self._send("200 OK", b'{"token": "t-1234567890"}', json_type)
        return True


@pytest.fixture
def misbehaving():
    server = Misbehaving()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def _recording(folder: Path, name: str, path: str, options: str) -> None:
    """A two-step recording as convert writes it: the second step needs the first to work."""
    options = f", {options}" if options else ""
    (folder / f"{name.lower()}.py").write_text(
        f'''from replay.runtime import RecordedSession, json_path, task


class {name}(RecordedSession):
    """127.0.0.1:8000, recorded 2026-11-26: 2 requests, written by hand for this test."""

    recorded_host = "http://127.0.0.1:8000"

    @task
    def first(self):
        self.get("{path}"{options})

    @task
    def then(self):
        self.get("/after{path}")
'''
    )


def _folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    (folder / "recordings").mkdir(parents=True)
    return folder


def _assert_clean_run(stats: Stats, tmp: Path) -> None:
    """Locust finished on its own, and no user died of an exception."""
    assert "Traceback" not in stats.output, stats.output[-3000:]
    exceptions = tmp / "stats_exceptions.csv"
    if exceptions.exists():
        with exceptions.open() as f:
            assert not list(csv.DictReader(f)), exceptions.read_text()
    assert "--run-time limit reached" in stats.output, stats.output[-3000:]


def _errors(stats: Stats, path: str) -> list[str]:
    return [f["Error"] for f in stats.failures if f["Name"] == path]


@contextlib.contextmanager
def _unreachable(kind: str):
    """An address where connecting fails: refused (nothing listens), or never answered (a
    listener whose accept queue is full, so the kernel drops new connection attempts)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        if kind == "refused":
            listener.close()
            yield f"http://127.0.0.1:{port}"
            return
        listener.listen(0)
        fillers = []
        try:
            for _ in range(8):  # fill the accept queue; later SYNs are dropped
                filler = socket.socket()
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
                fillers.append(filler)
            time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            for filler in fillers:
                filler.close()


def test_failing_targets_are_counted_failures_and_users_start_over(misbehaving, tmp_path):
    faulty = _folder(tmp_path, "faulty")
    for name, (path, options, _) in FAULTS.items():
        _recording(faulty / "recordings", name, path, options)
    unreachable = {}
    for kind in ("refused", "connect-timeout"):
        unreachable[kind] = _folder(tmp_path, kind)
        _recording(unreachable[kind] / "recordings", "Unreachable", "/first", "")

    with (
        _unreachable("refused") as refused,
        _unreachable("connect-timeout") as silent,
        concurrent.futures.ThreadPoolExecutor(3) as pool,
    ):
        runs = {
            kind: pool.submit(
                run_locust,
                folder / "recordings",
                host,
                "--think-scale",
                "0",
                "--network-timeout",
                str(TIMEOUT),
                "--connect-timeout",
                str(TIMEOUT),
                users=users,
                run_time=RUN_TIME,
                tmp=folder,
            )
            for kind, folder, host, users in (
                ("faulty", faulty, misbehaving.url, len(FAULTS)),
                ("refused", unreachable["refused"], refused, 1),
                ("connect-timeout", unreachable["connect-timeout"], silent, 1),
            )
        }
        stats = {kind: run.result() for kind, run in runs.items()}

    faulty_stats = stats["faulty"]
    _assert_clean_run(faulty_stats, faulty)
    for name, (path, _, message) in FAULTS.items():
        errors = _errors(faulty_stats, path)
        assert errors, f"{name}: no failure counted for {path}:\n{faulty_stats.failures}"
        assert all("first: " in e for e in errors), errors
        assert any(message in e for e in errors), (name, errors)
        # The run went on and the user started over: the fault came back on the next session,
        # and the step after it was never sent with what the fault left out.
        attempts = faulty_stats.count(path)
        assert attempts >= 2, f"{name}: only {attempts} attempt(s)"
        assert misbehaving.hits[f"/after{path}"] == 0, f"{name} went on after the fault"
        assert faulty_stats.count(f"/after{path}") == 0

    for kind, words in (("refused", "refused"), ("connect-timeout", "timed out")):
        run = stats[kind]
        _assert_clean_run(run, unreachable[kind])
        errors = _errors(run, "/first")
        assert errors and all("first: no response" in e for e in errors), (kind, errors)
        assert any(words in e.lower() for e in errors), (kind, errors)
        assert run.count("/first") >= 2 and run.count("/after/first") == 0, (kind, run.rows)


def test_an_error_status_the_recording_had_is_no_failure(misbehaving, tmp_path):
    """A recorded 401 before sign-in, or a 503, replayed as recorded: Locust's client marks
    every 4xx and 5xx as an error, and it read as a body cut short."""
    folder = _folder(tmp_path, "expected")
    _recording(folder / "recordings", "ExpectedError", "/5xx", "expect=503")
    stats = run_locust(
        folder / "recordings", misbehaving.url, "--think-scale", "0", run_time="3s", tmp=folder
    )
    _assert_clean_run(stats, folder)
    assert stats.failed == 0, stats.failures
    assert stats.count("/5xx") >= 2 and stats.count("/after/5xx") >= 2, stats.rows
