"""Silent divergence at load: a green status with the wrong body is a failure in Locust's stats."""

from __future__ import annotations

from conftest import ROOT, run_locust
from test_correlate import HTML, JSON, exchange

from recorder.model import Recording
from replay.convert import Options, convert
from replay.demo.launch import running


def test_error_pages_empty_lists_and_login_redirects_fail_under_load(recordings, tmp_path):
    recorded = {
        "me": exchange("GET", "/api/me", body=b'{"name": "Ann"}', headers=JSON),
        "items": exchange("GET", "/api/items", body=b'[{"id": 1}, {"id": 2}]', headers=JSON),
        "account": exchange("GET", "/account", body=b"<html>Your account</html>", headers=HTML),
    }
    for name, drifting in recorded.items():  # a failed step ends the visit: one per recording
        ok = exchange("GET", "/api/ok", body=b'{"ok": true}', headers=JSON)
        recording = Recording(f"{name}.har", exchanges=[ok, drifting])
        source = convert(recording, Options(name=name)).source
        (recordings / f"{name}.py").write_text(source)
    assert 'returns="items"' in (recordings / "items.py").read_text()
    assert 'returns="json"' in (recordings / "me.py").read_text()

    with running([str(ROOT / "tests" / "apps" / "drifting.py"), "--port", "0"]) as url:
        stats = run_locust(recordings, url, users=3, run_time="5s", tmp=tmp_path)
    failures = {row["Name"]: row["Error"] for row in stats.failures}
    assert stats.count("GET /api/ok") > 0 and "/api/ok" not in failures, failures
    assert "text/html, recorded JSON" in failures["/api/me"]
    assert "no items, recorded a list with items" in failures["/api/items"]
    assert "redirected to the login page /accounts/login/" in failures["/account"]
