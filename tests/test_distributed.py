"""A Locust master and two workers on this machine replaying the demo recordings.

Each process is a real `locust` with the project's locustfile; the demo app says what it saw.
"""

from __future__ import annotations

import csv
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from conftest import ROOT, copy_recording, read_stats

RUN_TIME = 20
"""Seconds of load: long enough for every user to finish several sessions on both workers."""
USERS = 12
"""Four users per recording (three recordings of weight 1), two on each worker."""
LOGIN_USERS = USERS // 3
ACCOUNTS = LOGIN_USERS + 2
"""A spare row per worker: Locust may put one more user of a class on one worker."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


def _form(opener, url: str, page: str, **fields: str) -> str:
    """Fill in the form on `page` (with its CSRF token) and post it; the page it lands on."""
    html = opener.open(url + page).read().decode()
    token = re.search(r'name="csrf_token"\s+value="([\w-]+)"', html)[1]
    data = urllib.parse.urlencode({"csrf_token": token, **fields}).encode()
    return opener.open(url + page, data=data).read().decode()


def _sign_up(url: str, email: str, password: str) -> None:
    _form(_opener(), url, "/signup", name="Load Tester", email=email, password=password)


def _notes_of(url: str, email: str, password: str) -> int:
    """How many notes the account has: each DemoLogin session writes one."""
    dashboard = _form(_opener(), url, "/login", email=email, password=password)
    return dashboard.count('href="/notes/')


def _demo_stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_demo/stats") as response:
        return json.load(response)


def test_master_and_two_workers(demo_app, recordings, tmp_path):
    for name in ("demo_shop.py", "demo_login.py", "demo_browse.py"):
        copy_recording(name, recordings)
    accounts = [(f"row{i}.{os.getpid()}@example.com", f"row-{i}-password") for i in range(ACCOUNTS)]
    for email, password in accounts:
        _sign_up(demo_app, email, password)
    accounts_csv = tmp_path / "accounts.csv"
    with accounts_csv.open("w", newline="") as f:
        csv.writer(f).writerows([("email", "password"), *accounts])
    before = _demo_stats(demo_app)

    port = _free_port()
    locust = [sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py")]
    env = {**os.environ, "REPLAY_RECORDINGS_DIR": str(recordings)}
    prefix = tmp_path / "stats"
    master_command = [
        *locust,
        "--master",
        "--master-bind-host=127.0.0.1",
        f"--master-bind-port={port}",
        "--expect-workers=2",
        "--headless",
        f"--host={demo_app}",
        f"--users={USERS}",
        f"--spawn-rate={USERS}",
        f"--run-time={RUN_TIME}s",
        "--stop-timeout=5",
        f"--csv={prefix}",
        "--only-summary",
        f"--accounts={accounts_csv}",
        "--think-scale=0.05",
    ]
    worker_command = [*locust, "--worker", "--master-host=127.0.0.1", f"--master-port={port}"]
    logs = {name: (tmp_path / f"{name}.log").open("w+") for name in ("master", "w1", "w2")}
    processes = {
        name: subprocess.Popen(
            master_command if name == "master" else worker_command,
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for name, log in logs.items()
    }
    try:
        master = processes["master"].wait(timeout=RUN_TIME + 60)
        for name in ("w1", "w2"):
            assert processes[name].wait(timeout=30) == 0, f"worker {name} exit code"
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    output = {name: Path(log.name).read_text() for name, log in logs.items()}
    after = _demo_stats(demo_app)

    # The master's statistics hold every worker's requests, with no failure and no crash.
    stats = read_stats(prefix, output["master"], master)
    assert master == 0, output["master"][-3000:]
    assert stats.failed == 0, stats.failures
    for name, text in output.items():
        assert "Traceback" not in text, f"{name}:\n{text[-3000:]}"
    for name in ("POST /signup", "POST /login", "GET /notes/[note_id]", "GET /api/products"):
        assert stats.count(name) > LOGIN_USERS, f"{name}: {stats.count(name)}"
    assert "2 workers connected" in output["master"] or "(index 1)" in output["master"]

    # Every worker found the three recordings.
    for worker in ("w1", "w2"):
        for recording in ("DemoShop", "DemoLogin", "DemoBrowse"):
            assert recording in output[worker], f"{worker} did not load {recording}"

    # Sign-up e-mails are unique across both workers: the server saw no duplicate, and every
    # sign-up the master counted is an account (one may still have been in flight at the end).
    signed_up = [e for e in after["emails"] if e not in before["emails"]]
    assert after["duplicate_signups"] == before["duplicate_signups"]
    assert len(signed_up) == len(set(signed_up))
    assert 0 <= len(signed_up) - stats.count("POST /signup") <= LOGIN_USERS
    workers_seen = {re.search(r"w(\d+)u\d+i\d+@", e)[1] for e in signed_up}
    assert workers_seen == {"0", "1"}, f"sign-ups came from workers {workers_seen}"

    # Each login user of each worker took its own row of the accounts file.
    used = [email for email, password in accounts if _notes_of(demo_app, email, password)]
    assert len(used) == LOGIN_USERS, f"accounts used: {used}"

    # The master's summary sums the workers' final counts: every recording ran sessions.
    summaries = dict(re.findall(r"summary: (\w+): .*?(\d+) sessions started", output["master"]))
    assert set(summaries) == {"DemoShop", "DemoLogin", "DemoBrowse"}, output["master"][-3000:]
    assert all(int(n) > 0 for n in summaries.values()), summaries
