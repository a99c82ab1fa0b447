"""`replay verify` does work in proportion to the visit, however many values it sends back."""

from __future__ import annotations

import http.server
import json
import threading
from typing import ClassVar

from hostile import entry, har

from replay import cli, verify


class Words(http.server.BaseHTTPRequestHandler):
    """Answers `/api/words` with the recorded list, anything else with `{}`."""

    protocol_version = "HTTP/1.1"
    words: ClassVar[bytes] = b"[]"

    def do_GET(self):
        body = self.words if self.path == "/api/words" else b"{}"
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        self.wfile.write(f"{head}\r\n\r\n".encode() + body)

    def log_message(self, *args):
        pass


def test_verify_parses_each_request_once_however_many_values_come_back(tmp_path, monkeypatch):
    """A visit that reads 200 short words from one response and sends each back in a request
    of its own. Asked for each value whether each later request sent it, verify parsed the
    requests again every time: values x rows (2,000 words took 27 CPU-s, now under 2)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Words)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    words = [f"w{i:04d}" for i in range(200)]
    Words.words = json.dumps(words).encode()
    entries = [entry(f"{host}/api/words", response=json.dumps(words))]
    for i, word in enumerate(words):
        entries.append(entry(f"{host}/api/find?w={word}"))
        entries[-1]["startedDateTime"] = f"2026-01-01T00:00:01.{i:03d}Z"
    capture = tmp_path / "words.har"
    capture.write_text(json.dumps(har(entries)))
    parses = []
    counted = verify.sent_places
    monkeypatch.setattr(verify, "sent_places", lambda *a: parses.append(1) or counted(*a))
    try:
        assert cli.main(["convert", str(capture), "-o", str(tmp_path / "words.py")]) == 0
        code = cli.main(["verify", str(tmp_path / "words.py"), "--host", host])
    finally:
        server.shutdown()
    assert code == 0
    assert len(parses) <= 2 * len(entries), len(parses)
