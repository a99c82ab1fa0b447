"""A population of simulated users through the recording proxy (mitmproxy in reverse mode in
front of the demo app) → `replay model` → a replay of the model at three times the rate.

The population is known: 200 sessions of three flow types in shares 60/30/10, arriving on a
ramp and a peak (per second, so the test stays short), each visitor from its own address with
its own cookies, thinking 0.2 to 0.6 s between pages.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from conftest import DATA, ROOT, read_stats

from recorder.flows import read_capture
from recorder.model import Exchange, Request, Response, redaction_digest
from recorder.proxy import run_capture_proxy
from replay.model.captures import read_captures
from replay.model.file import FlowModel, TrafficModel
from replay.model.flows import group_sessions
from replay.model.sessions import Session, split_sessions
from replay.runtime.model_shape import Schedule

INTERVAL = 2
"""Seconds per arrival count: `replay model --interval 2`, so a session the busy proxy saw a
little late still counts in its interval."""
COUNTS = [12, 16, 20, 24, 32, 40, 30, 26]
"""Sessions starting in each interval: a ramp and a peak, 200 in all."""
SHARES = {"browse": 6, "shop": 3, "notes": 1}
"""Of every ten sessions."""
FIRST_PAGE = {"browse": "/", "shop": "/shop", "notes": "/signup"}
SLUGS = ["espresso-cup", "pour-over-kettle", "burr-grinder", "house-blend", "travel-mug"]
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0 (simulated)"
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password"


class Visitor:
    """One simulated user: its own source address, its own cookies, plain HTTP."""

    def __init__(self, proxy_port: int, address: str, rng: random.Random) -> None:
        self.address, self.rng = address, rng
        self.connection = http.client.HTTPConnection(
            "127.0.0.1", proxy_port, timeout=30, source_address=(address, 0)
        )
        self.cookies: dict[str, str] = {}
        self.token = ""

    def request(self, method, path, *, body=None, form=None, accept=HTML, auth=False):
        headers = {"User-Agent": USER_AGENT, "Accept": accept, "Accept-Language": "en-US"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if form is not None:
            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";")[0]
        assert response.status < 400, f"{method} {path}: {response.status}"
        return response, text

    def think(self, low: float = 0.2, high: float = 0.6) -> None:
        time.sleep(self.rng.uniform(low, high))

    def browse(self) -> None:
        self.request("GET", "/")
        self.think()
        self.request("GET", "/products")
        slugs = self.rng.sample(SLUGS, 2)
        for slug in slugs[: 1 + (self.rng.random() < 0.3)]:  # some look at a second product
            self.think()
            self.request("GET", f"/products/{slug}")

    def shop(self) -> None:
        self.request("GET", "/shop")
        self.think()
        login = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        _, text = self.request("POST", "/api/login", body=login, accept="application/json")
        self.token = json.loads(text)["token"]
        self.request("GET", "/api/me", accept="application/json", auth=True)
        self.think(1.2, 1.6)  # longer than a step's idle gap: the order is a step of its own
        order = {"product": self.rng.choice(SLUGS), "quantity": 2}
        response, _ = self.request(
            "POST", "/api/orders", body=order, accept="application/json", auth=True
        )
        self.request("GET", response.getheader("Location"), accept="application/json", auth=True)

    def notes(self) -> None:
        _, page = self.request("GET", "/signup")
        self.think()
        email = f"visitor.{self.address.replace('.', '-')}.{os.getpid()}@example.com"
        form = {"csrf_token": _csrf(page), "name": "Sim Visitor", "email": email}
        response, _ = self.request("POST", "/signup", form={**form, "password": "visitor-pw-1"})
        _, page = self.request("GET", urlsplit(response.getheader("Location")).path)
        self.think()
        form = {"csrf_token": _csrf(page), "text": "Order more filters"}
        response, _ = self.request("POST", "/notes", form=form)
        self.request("GET", urlsplit(response.getheader("Location")).path)


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"\s+value="([\w-]+)"', page)[1]


def _population(proxy_port: int) -> tuple[float, Counter]:
    """Run every session on schedule; the second the schedule started at, and the kinds run."""
    rng = random.Random(15)
    kinds = [kind for kind, n in SHARES.items() for _ in range(n)]
    rng.shuffle(kinds)
    plan = []
    for interval, count in enumerate(COUNTS):
        for i in range(count):
            plan.append(((interval + 0.6 * i / count) * INTERVAL, kinds[len(plan) % 10]))
    start = float((int(time.time()) // INTERVAL + 2) * INTERVAL)

    def visit(numbered):
        number, (offset, kind) = numbered
        time.sleep(max(start + offset - time.time(), 0))
        address = f"127.1.{number // 200}.{number % 200 + 1}"
        visitor = Visitor(proxy_port, address, random.Random(number))
        try:
            getattr(visitor, kind)()
        finally:
            visitor.connection.close()

    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        list(pool.map(visit, enumerate(plan)))
    return start, Counter(kind for _, kind in plan)


@pytest.fixture(scope="module")
def population(demo_app, tmp_path_factory):
    """The capture of the whole population through the reverse proxy, and what was sent."""
    folder = tmp_path_factory.mktemp("population")
    capture = folder / "traffic.jsonl"
    proxy = run_capture_proxy(capture, 0, quiet=True, output=subprocess.DEVNULL, reverse=demo_app)
    with proxy:
        start, kinds = _population(proxy.port)
    return capture, start, kinds


def test_capture_knows_each_client(population):
    capture, _, _ = population
    clients = {x.client for x in read_capture(capture).exchanges}
    assert len(clients) == sum(COUNTS)


def _model(capture: Path, output: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "replay.cli", "model", str(capture), "-o", str(output), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def modelled(population, tmp_path_factory):
    """`replay model` over the population's capture, as a user runs it."""
    capture, _, _ = population
    folder = tmp_path_factory.mktemp("modelled") / "recordings"
    result = _model(capture, folder, "--interval", str(INTERVAL))
    assert result.returncode == 0, result.stderr
    return folder, result.stdout


def _kind(flow: dict) -> str:
    """Which of the population's flows a modelled type is, by the page it starts at."""
    first = flow["examples"][0].split(" ", 1)[1]
    return next(kind for kind, page in FIRST_PAGE.items() if page == first)


def test_model_recovers_types_shares_and_arrivals(population, modelled):
    _, start, kinds = population
    folder, output = modelled
    model = tomllib.loads((folder / "model.toml").read_text())
    types = model["type"]
    assert sorted(_kind(flow) for flow in types.values()) == sorted(SHARES)
    for name, flow in types.items():
        expected = kinds[_kind(flow)] / sum(COUNTS)
        assert abs(flow["share"] - expected) <= 0.05, (name, flow["share"], expected)
        assert (folder / flow["module"]).is_file()
        assert f"{name} " in output
    arrivals = model["arrivals"]
    assert arrivals["interval"] == INTERVAL
    assert arrivals["start"] == start
    assert sum(arrivals["counts"]) == sum(COUNTS)
    for interval, sent in enumerate(COUNTS):
        got = arrivals["counts"][interval]
        assert abs(got - sent) <= 0.1 * sent, (interval, got, sent)
    weights = tomllib.loads((folder / "replay.toml").read_text())["recording"]
    assert {name: table["weight"] for name, table in weights.items()} == {
        name: flow["sessions"] for name, flow in types.items()
    }


def test_model_learns_think_time_distributions(modelled):
    folder, _ = modelled
    types = tomllib.loads((folder / "model.toml").read_text())["type"]
    by_kind = {_kind(flow): flow for flow in types.values()}
    browse = by_kind["browse"]["think_after"]["view_home"]
    order = by_kind["shop"]["think_after"]["view_shop"]
    # The visitors thought 0.2 to 0.6 s between pages and 1.2 to 1.6 s before ordering, plus
    # what a busy proxy adds to both: a distribution, not one number.
    assert browse[0] >= 0.15 and order[0] >= 1.15
    assert 0.8 <= order[5] - browse[5] <= 1.2, (browse, order)
    assert browse[9] - browse[1] >= 0.2 and order[9] - order[1] >= 0.2


def _page_table(page: str, table_id: str) -> list[list[str]]:
    """The cells of the page's table `table_id`, row by row."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.DOTALL)
    assert table, table_id
    body = table.group(1).split("<tbody>", 1)[1]
    return [re.findall(r"<td>(.*?)</td>", row) for row in body.split("<tr>")[1:]]


def _self_contained(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page


def test_model_page_shows_arrivals_mix_and_think_times(modelled):
    """`replay model` writes model.html: one file, a plot and its numbers per part."""
    folder, output = modelled
    page = (folder / "model.html").read_text()
    _self_contained(page)
    assert f"look at the model: {folder / 'model.html'}" in output
    model = tomllib.loads((folder / "model.toml").read_text())
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', page)) == 3
    arrivals = _page_table(page, "arrivals")
    interval = model["arrivals"]["interval"]
    assert arrivals == [
        [f"{i * interval:g}", str(n)] for i, n in enumerate(model["arrivals"]["counts"])
    ]
    mix = {row[0]: row[1:4] for row in _page_table(page, "mix")}
    assert mix == {
        name: [f"{100 * flow['share']:.1f}%", str(flow["sessions"]), f"{flow['duration']:.1f}"]
        for name, flow in model["type"].items()
    }
    think = {row[0]: [float(v) for v in row[1:]] for row in _page_table(page, "think")}
    for name, flow in model["type"].items():
        for step, deciles in flow["think_after"].items():
            assert think[f"{name}.{step}"] == pytest.approx(deciles[::2], abs=0.006)


REPLAY_SECONDS = 10
MULTIPLIER = 3


def _replay(
    folder: Path, demo_app: str, tmp: Path, *extra: str, workers: int = 0, seconds=REPLAY_SECONDS
):
    """Locust on the model at MULTIPLIER x, with the arrival probe beside our locustfile;
    standalone or a master with `workers` workers. The statistics and the probe's records."""
    files = f"{ROOT / 'locustfile.py'},{ROOT / 'tests' / 'apps' / 'arrival_probe.py'}"
    env = {
        **os.environ,
        "REPLAY_RECORDINGS_DIR": str(folder),
        "ARRIVAL_PROBE": str(tmp / "probe"),
        "REPLAY_EMAIL": DEMO_EMAIL,
        "REPLAY_PASSWORD": DEMO_PASSWORD,
    }
    prefix = tmp / "stats"
    command = [sys.executable, "-m", "locust", "-f", files, "--headless", "--host", demo_app]
    command += ["--model", str(folder / "model.toml"), "--rate-multiplier", str(MULTIPLIER)]
    command += ["-u", "400", "--run-time", f"{seconds}s", "--stop-timeout", "3"]
    command += ["--csv", str(prefix), "--only-summary", *extra]
    helpers = []
    if workers:
        port = _free_port()
        command += ["--master", "--expect-workers", str(workers), "--master-bind-port", str(port)]
        worker = [sys.executable, "-m", "locust", "-f", files, "--worker"]
        worker += ["--master-port", str(port)]
        helpers = [
            subprocess.Popen(worker, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=None)
            for _ in range(workers)
        ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=120, env=env, cwd=tmp
        )
    finally:
        for helper in helpers:
            helper.wait(timeout=30)
    stats = read_stats(prefix, result.stdout + result.stderr, result.returncode)
    probes = [json.loads(p.read_text()) for p in tmp.glob("probe.*.json")]
    return stats, [p for p in probes if p["requests"]]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_replay(stats, probes, modelled_folder, time_scale=1.0, seconds=REPLAY_SECONDS):
    """MULTIPLIER x the recorded arrivals in every whole interval of the run (the model's
    interval / `time_scale`), the same mix, no failures: counted from when each session's
    first request was sent."""
    assert stats.failed == 0, stats.failures
    model = tomllib.loads((modelled_folder / "model.toml").read_text())
    interval = model["arrivals"]["interval"] / time_scale
    per_interval: Counter = Counter()
    kinds: Counter = Counter()
    first_pages = {page: kind for kind, page in FIRST_PAGE.items()}
    for probe in probes:
        began = probe["started"][0]
        for started, method, name, _failed in probe["requests"]:
            if method == "GET" and name in first_pages:
                per_interval[int((started - began) / interval)] += 1
                kinds[first_pages[name]] += 1
    recorded = model["arrivals"]["counts"]
    whole = int((seconds - 1) / interval)  # the stop cuts the last one short
    assert whole >= 4
    for n in range(whole):
        wanted = MULTIPLIER * recorded[n]
        assert abs(per_interval[n] - wanted) <= 0.1 * wanted, (n, per_interval, wanted)
    total = sum(kinds.values())
    for flow in model["type"].values():
        share = kinds[_kind(flow)] / total
        assert abs(share - flow["share"]) <= 0.05, (flow, kinds)
    assert "model summary:" in stats.output
    _check_page(modelled_folder)


def _check_page(folder: Path) -> None:
    """The page gained the run: the replayed arrivals beside the model's at MULTIPLIER x."""
    page = (folder / "model.html").read_text()
    _self_contained(page)
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', page)) == 4
    recorded = tomllib.loads((folder / "model.toml").read_text())["arrivals"]["counts"]
    rows = _page_table(page, "replayed-arrivals")
    assert len(rows) >= 3, rows
    for n, (_, model, replayed) in enumerate(rows):
        assert float(model) == MULTIPLIER * recorded[n % len(recorded)]
        assert abs(int(replayed) - float(model)) <= 0.1 * float(model), (n, rows)


def test_replay_at_three_times_the_rate(modelled, demo_app, tmp_path):
    folder, _ = modelled
    stats, probes = _replay(folder, demo_app, tmp_path)
    assert len(probes) == 1
    _check_replay(stats, probes, folder)


def test_replay_on_master_and_two_workers(modelled, demo_app, tmp_path):
    folder, _ = modelled
    stats, probes = _replay(folder, demo_app, tmp_path, workers=2)
    assert len(probes) == 2, "each worker runs its share of the schedule"
    _check_replay(stats, probes, folder)


# --- the parts on their own ----------------------------------------------------------------------


def _exchange(started, path, *, cookie="", auth="", set_cookie="", body=b"", client="10.0.0.1"):
    request_headers = [("User-Agent", USER_AGENT)]
    request_headers += [("Cookie", cookie)] if cookie else []
    request_headers += [("Authorization", auth)] if auth else []
    return Exchange(
        request=Request("GET", f"http://shop.test{path}", headers=tuple(request_headers)),
        response=Response(
            200,
            headers=(("Set-Cookie", set_cookie),) if set_cookie else (),
            body=body,
            mime_type="application/json" if body else "text/html",
        ),
        started=started,
        duration_ms=10,
        client=client,
    )


def test_sessions_follow_cookies_and_tokens_not_only_the_address():
    """Two visitors behind one address and browser: told apart by their session cookies and
    the bearer token a login answer gave one of them; an hour's silence starts a new visit."""
    alice, bob = "a" * 24, "b" * 24
    token = "t0k3n" * 8
    exchanges = [
        _exchange(0, "/login", set_cookie=f"sid={alice}; HttpOnly"),
        _exchange(1, "/", cookie=f"sid={alice}"),
        _exchange(2, "/", cookie=f"sid={bob}"),
        _exchange(3, "/api/login", cookie=f"sid={bob}", body=json.dumps({"token": token}).encode()),
        _exchange(4, "/api/me", auth=f"Bearer {token}"),
        _exchange(5, "/cart", cookie=f"sid={alice}"),
        _exchange(6, "/api/me", auth=f"Bearer REDACTED-{redaction_digest(token)}"),
        _exchange(3600 + 7, "/", cookie=f"sid={alice}"),
    ]
    sessions = split_sessions(exchanges, idle_gap=1800)
    assert [[urlsplit(x.request.url).path for x in s.exchanges] for s in sessions] == [
        ["/login", "/", "/cart"],
        ["/", "/api/login", "/api/me", "/api/me"],
        ["/"],
    ]


def test_flow_types_keep_small_variations_together():
    def session(*paths):
        return Session("c", [_exchange(i, p) for i, p in enumerate(paths)])

    browse = [session("/", "/products", f"/products/{slug}") for slug in SLUGS]
    browse.append(session("/", "/products", "/products/a-mug", "/products/a-cup"))
    notes = [session("/signup", "/dashboard", "/notes/1") for _ in range(2)]
    types = group_sessions([*browse, *notes])
    assert [(flow.name, len(flow.sessions)) for flow in types] == [
        ("ProductsVisit", 6),
        ("SignupVisit", 2),
    ]
    assert len(group_sessions([*browse, *notes], similarity=0.9)) > 2


def test_schedule_is_split_between_workers_not_repeated():
    flows = (FlowModel("A", "a.py", 0.6, 60), FlowModel("B", "b.py", 0.3, 30))
    flows += (FlowModel("C", "c.py", 0.1, 10),)
    model = TrafficModel(interval=60.0, start=0.0, counts=(30, 90, 60), types=flows)
    schedule = Schedule(model, multiplier=2)
    whole = list(itertools.islice(schedule.arrivals(), 360))
    assert [due for _, due in whole][:3] == pytest.approx([0.5, 1.5, 2.5])  # 60 a minute
    assert sum(due < 60 for _, due in whole) == 60 and sum(due < 120 for _, due in whole) == 240
    shares = [sorted(itertools.islice(schedule.arrivals(worker, 3), 120)) for worker in range(3)]
    assert sorted(a for share in shares for a in share) == sorted(whole)
    mix = Counter(schedule.type_of(index) for index, _ in whole)
    assert [mix[i] / len(whole) for i in range(3)] == pytest.approx([0.6, 0.3, 0.1], abs=0.01)
    faster = Schedule(model, multiplier=2, time_scale=60)  # an hour in a minute
    assert [due for _, due in itertools.islice(faster.arrivals(), 3)] == pytest.approx(
        [0.5 / 60, 1.5 / 60, 2.5 / 60]
    )


def test_bad_model_or_capture_is_one_line_and_exit_2(tmp_path):
    broken = tmp_path / "model.toml"
    broken.write_text("[arrivals]\ninterval = 1\n")
    locust = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py"), "--headless"]
        + ["--model", str(broken), "--run-time", "2s", "--host", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert locust.returncode == 2
    assert "not a traffic model" in locust.stderr and "Traceback" not in locust.stderr
    model = _model(tmp_path / "missing.jsonl", tmp_path / "out")
    assert model.returncode == 2
    assert model.stderr.strip() == f"replay: error: {tmp_path / 'missing.jsonl'}: no such file"


def test_record_reverse_rotates_captures_then_models(demo_app, tmp_path):
    """`replay record NAME --reverse URL`: every client through one port, the capture continued
    in NAME.1.jsonl past --rotate-mb, and the model built from all the files at Ctrl-C."""
    port = _free_port()
    record = subprocess.Popen(
        [sys.executable, "-m", "replay.cli", "record", "crowd", "--reverse", demo_app]
        + ["--port", str(port), "--rotate-mb", "1", "--session-gap", "60"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                break
            except OSError:
                assert time.monotonic() < deadline and record.poll() is None, record.stderr.read()
                time.sleep(0.1)
        for number in range(6):
            visitor = Visitor(port, f"127.2.0.{number + 1}", random.Random(number))
            visitor.request("GET", "/")
            visitor.request("GET", "/products")
            # A big upload (refused: no token) takes the capture past a megabyte.
            upload = {"User-Agent": USER_AGENT}
            visitor.connection.request("POST", "/api/orders", b"x" * 300_000, upload)
            visitor.connection.getresponse().read()
            visitor.connection.close()
    finally:
        record.send_signal(signal.SIGINT)
        out, err = record.communicate(timeout=60)
    assert record.returncode == 0, err
    raw = tmp_path / "recordings" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == ["crowd.1.jsonl", "crowd.jsonl"]
    exchanges = [x for p in raw.iterdir() for x in read_capture(p).exchanges]
    assert len(exchanges) == 6 * 3
    assert "6 sessions in 1 flow types" in out
    assert (tmp_path / "recordings" / "model.toml").is_file()


# --- access logs ---------------------------------------------------------------------------------

LOG_MINUTES = 100
LOG_FLOWS = {
    "browse": [("GET", "/", 200), ("GET", "/static/app.css", 200), ("GET", "/products", 200)],
    "shop": [("GET", "/shop", 200), ("GET", "/api/products", 200)],
    "notes": [("GET", "/signup", 200), ("POST", "/signup", 302), ("GET", "/dashboard", 302)],
}
"""Each session also views one product (browse, shop); notes never gets past its sign-up."""


def _log_sessions() -> tuple[list[int], list[tuple[float, str, str, list]]]:
    """Sessions per minute (a ramp every ten minutes, a peak at minutes 40 and 41) and the
    sessions: (start, client, kind, requests), 60/30/10."""
    rng = random.Random(5)
    counts = [70 if m in (40, 41) else 20 + 3 * (m % 10) for m in range(LOG_MINUTES)]
    kinds = [kind for kind, n in SHARES.items() for _ in range(n)]
    start = 1_764_547_200  # 2025-12-01 00:00 UTC
    sessions = []
    for minute, count in enumerate(counts):
        for i in range(count):
            kind = kinds[len(sessions) % 10]
            requests = list(LOG_FLOWS[kind])
            slug = rng.choice(SLUGS)
            if kind == "browse":
                requests.append(("GET", f"/products/{slug}", 200))
            elif kind == "shop":
                requests.append(("GET", f"/api/products/{slug}", 200))
            client = (
                f"10.{len(sessions) // 65536}.{len(sessions) // 256 % 256}.{len(sessions) % 256}"
            )
            sessions.append((start + minute * 60 + 50 * i / count, client, kind, requests))
    return counts, sessions


def _log_lines(sessions, as_json: bool) -> list[str]:
    lines = []
    for started, client, _kind, requests in sessions:
        for n, (method, path, status) in enumerate(requests):
            at = started + 2 * n
            if as_json:
                entry = {"time": at, "client": client, "method": method, "path": path}
                lines.append((at, json.dumps(entry | {"status": status, "user_agent": USER_AGENT})))
            else:
                stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(at))
                lines.append(
                    (
                        at,
                        f'{client} - - [{stamp}] "{method} {path} HTTP/1.1" {status} 512 '
                        f'"-" "{USER_AGENT}"',
                    )
                )
    return [line for _, line in sorted(lines, key=lambda pair: pair[0])]


def test_access_log_is_modelled_and_replayed_get_only(demo_app, tmp_path):
    counts, sessions = _log_sessions()
    log = tmp_path / "access.log"
    lines = _log_lines(sessions, as_json=False)
    assert len(lines) >= 10_000
    log.write_text("\n".join(lines) + "\n")
    folder = tmp_path / "recordings"
    result = _model(log, folder)
    assert result.returncode == 0, result.stderr
    posts = sum(method == "POST" for *_, requests in sessions for method, _, _ in requests)
    assert f"dropped {posts:5d}  POST request (an access log has no body to send)" in result.stdout
    model = tomllib.loads((folder / "model.toml").read_text())
    assert model["arrivals"]["interval"] == 60 and model["arrivals"]["counts"] == counts
    types = model["type"]
    assert sorted(_kind(flow) for flow in types.values()) == sorted(SHARES)
    for flow in types.values():
        assert abs(flow["share"] - SHARES[_kind(flow)] / 10) <= 0.05
    assert "post(" not in "".join(p.read_text() for p in folder.glob("*.py"))

    as_json = tmp_path / "access.jsonl"
    as_json.write_text("\n".join(_log_lines(sessions, as_json=True)) + "\n")
    assert _model(as_json, tmp_path / "from_json").returncode == 0
    assert (tmp_path / "from_json" / "model.toml").read_text().splitlines()[1:] == (
        (folder / "model.toml").read_text().splitlines()[1:]
    )

    # A minute of the log in three seconds, three times the sessions, no think time.
    extra = ("--time-scale", "20", "--think-scale", "0")
    stats, probes = _replay(folder, demo_app, tmp_path, *extra, seconds=13)
    _check_replay(stats, probes, folder, time_scale=20, seconds=13)


def test_a_new_model_removes_the_recordings_of_types_it_no_longer_has(tmp_path):
    """A later plain `replay run` loads every recording in the folder: the earlier model's
    type must go, and only what a model wrote (its model.toml names it) ever goes."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "mine.py").write_text("# written by hand\n")
    first = _model(DATA / "tickets.har", folder)
    assert first.returncode == 0, first.stderr
    (earlier,) = tomllib.loads((folder / "model.toml").read_text())["type"].values()
    second = _model(DATA / "demo-login.har", folder)
    assert second.returncode == 0, second.stderr
    (later,) = tomllib.loads((folder / "model.toml").read_text())["type"].values()
    assert earlier["module"] != later["module"]
    assert sorted(p.name for p in folder.glob("*.py")) == sorted([later["module"], "mine.py"])
    assert f"removed {folder / earlier['module']}" in second.stdout


def test_a_capture_is_modelled_without_its_bodies_but_the_representatives(population):
    """Sessions and arrivals are learned from a capture read without bodies (the build's
    memory stays below the capture's size); the sessions converted are read again in full."""
    capture, _, _ = population
    whole = read_capture(capture)
    captures = read_captures([capture], "")
    light = captures.recording.exchanges
    assert len(light) == len(whole.exchanges)
    assert [x.request.url for x in light] == [x.request.url for x in whole.exchanges]
    bodies = sum(len(x.request.body) + len(x.response.body) for x in light)
    assert bodies < 0.05 * sum(len(x.request.body) + len(x.response.body) for x in whole.exchanges)
    assert captures.full(light[100:160]) == whole.exchanges[100:160]


def test_model_runtime_loads_no_converter():
    """Workers read the model file and run the schedule without the converter or mitmproxy."""
    probe = (
        "import sys, replay.runtime.model_shape; "
        "print(sorted(m for m in sys.modules if m.startswith(('replay.convert', 'mitmproxy', "
        "'replay.model.build', 'matplotlib'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_user_cap_binds_with_a_warning(modelled, demo_app, tmp_path):
    """-u is a safety cap on the pool: when the curve needs more, a warning says so, and the
    sessions that had to wait for a free user are counted late."""
    folder, _ = modelled
    stats, _ = _replay(folder, demo_app, tmp_path, "-u", "3", seconds=6)
    assert "-u 3 caps the pool" in stats.output
    assert re.search(r"model summary: \d+ sessions started late \(up to [\d.]+ s\)", stats.output)
