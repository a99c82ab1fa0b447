"""Recorded browser sessions replayed by real Locust against real servers."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from conftest import DATA, convert, run_locust

LOGIN_ACCOUNT = {"REPLAY_EMAIL": "demo@example.com", "REPLAY_PASSWORD": "demo-password"}
TICKETS_ACCOUNT = {"REPLAY_USERNAME": "agent", "REPLAY_PASSWORD": "agent-pass"}


def converted(har: str, recordings: Path, *args: str) -> Path:
    output = recordings / f"{Path(har).stem.replace('-', '_')}.py"
    result = convert(DATA / har, output, *args)
    assert result.returncode == 0, result.stderr
    return output


def test_browsing_flow_replays_without_failures(demo_app, recordings, tmp_path):
    converted("demo-browse.har", recordings)
    stats = run_locust(recordings, demo_app, users=5, run_time="6s", tmp=tmp_path)
    assert stats.requests > 0
    assert stats.failed == 0, stats.failures
    assert stats.count("/api/products") > 0


@pytest.mark.parametrize(("users", "run_time"), [(2, "8s"), (20, "15s")])
def test_correlated_demo_flows_replay_clean(demo_app, recordings, tmp_path, users, run_time):
    """CSRF form login, bearer API, created ids, a redirect carrying an id: all correlated.
    Two recordings, so 2 users is one virtual user on each."""
    converted("demo-shop.har", recordings)
    converted("demo-login.har", recordings)
    stats = run_locust(
        recordings,
        demo_app,
        "--think-scale",
        "0.05",
        users=users,
        run_time=run_time,
        env=LOGIN_ACCOUNT,
        tmp=tmp_path,
    )
    assert stats.failed == 0, stats.failures
    for name in (
        "POST /signup",
        "GET /api/orders/[order_id]",
        "GET /notes/[note_id]",
        "POST /login",
    ):
        assert stats.count(name) > 0, f"{name} never ran:\n{stats.output[-2000:]}"


def test_verbatim_replay_fails_where_correlation_is_needed(demo_app, recordings, tmp_path):
    """Without correlation the recorded CSRF token, bearer token and ids go back: rejected."""
    converted("demo-shop.har", recordings, "--no-correlate")
    recorded_bearer = _recorded_header(DATA / "demo-shop.har", "authorization")
    stats = run_locust(
        recordings,
        demo_app,
        "--think-scale",
        "0",
        users=2,
        run_time="5s",
        env={"REPLAY_AUTHORIZATION": recorded_bearer},
        tmp=tmp_path,
    )
    assert stats.failed > 0
    failing = {(f["Method"], f["Name"]) for f in stats.failures}
    assert ("POST", "/signup") in failing, failing


def _recorded_header(har: Path, name: str) -> str:
    entries = json.loads(har.read_text())["log"]["entries"]
    headers = (h for e in entries for h in e["request"]["headers"])
    return next(h["value"] for h in headers if h["name"].lower() == name)


def test_second_application_with_other_token_styles(tickets_app, recordings, tmp_path):
    """Django-style double-submit CSRF, `Token` auth, UUID ids, an OAuth code in a redirect."""
    recording = converted("tickets.har", recordings)
    source = recording.read_text()
    assert 'cookie("csrftoken")' in source and "Token {self." in source
    stats = run_locust(
        recordings,
        tickets_app,
        "--think-scale",
        "0.05",
        users=10,
        run_time="10s",
        env=TICKETS_ACCOUNT,
        tmp=tmp_path,
    )
    assert stats.failed == 0, stats.failures
    assert stats.count("/api/tickets/[ticket_uuid]/comments/[comment_id]") > 0

    verbatim = recordings / "tickets.py"
    verbatim.unlink()
    converted("tickets.har", recordings, "--no-correlate")
    stats = run_locust(
        recordings,
        tickets_app,
        "--think-scale",
        "0",
        users=2,
        run_time="4s",
        env=TICKETS_ACCOUNT,
        tmp=tmp_path,
    )
    assert stats.failed > 0


def test_sign_up_emails_are_unique_across_users(demo_app, recordings, tmp_path):
    converted("demo-shop.har", recordings)
    before = _demo_stats(demo_app)
    stats = run_locust(
        recordings, demo_app, "--think-scale", "0", users=50, run_time="10s", tmp=tmp_path
    )
    after = _demo_stats(demo_app)
    assert stats.failed == 0, stats.failures
    assert after["duplicate_signups"] == before["duplicate_signups"]
    signed_up = after["users"] - before["users"]
    # A sign-up still in flight when the run stops (one per user) reaches the server but not the
    # statistics, nor do some sent in the run's last moments (Locust's CSV misses those).
    assert 0 <= signed_up - stats.count("POST /signup") <= 50 + signed_up // 10
    assert stats.count("POST /signup") > 100


def _demo_stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_demo/stats") as response:
        return json.load(response)
