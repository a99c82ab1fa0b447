"""What Locust users know works on recordings: user classes, waits, on_start/on_stop, events,
logging, connection pools, profiles, and subclassing a recording in one's own locustfile."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from conftest import DATA, ROOT, run_locust
from test_controls import converted, har, stand_in


def test_identity_once_per_user_fixed_count_wait_time_profile_and_logging(
    demo_app, recordings, tmp_path
):
    """replay.toml: DemoLogin logs in once per user (logout when it stops) with a fixed count
    of one; DemoBrowse waits constant(0.5) between steps; the `demo` profile gives the host and
    the accounts file. Every message of ours goes to --logfile, none to the terminal."""
    converted(DATA / "demo-login.har", recordings)
    converted(DATA / "demo-browse.har", recordings)
    (recordings / "accounts.csv").write_text("email,password\ndemo@example.com,demo-password\n")
    (recordings / "replay.toml").write_text(
        "[recording.DemoLogin]\n"
        "fixed_count = 1\n"
        'on_start = ["view_home", "view_login", "post_login"]\n\n'
        "[recording.DemoBrowse]\n"
        'wait_time = "constant(0.5)"\n\n'
        "[env.demo]\n"
        f'host = "{demo_app}"\n'
        'accounts = "accounts.csv"\n'
    )
    log = tmp_path / "run.log"
    stats = run_locust(
        recordings,
        "",
        "--env",
        "demo",
        "--think-scale",
        "0",
        "--logfile",
        str(log),
        users=3,
        run_time="4s",
        tmp=tmp_path,
    )
    assert stats.failed == 0, stats.failures
    assert stats.count("POST /login") == 1
    assert stats.count("POST /notes") >= 3
    # Sent as the run stops, after the last CSV write: Locust's printed totals have it.
    assert re.search(r"POST +/logout +1 +0\(", stats.output), stats.output[-3000:]
    text = log.read_text()
    assert f"recordings DemoBrowse (weight 1), DemoLogin (fixed_count 1) against {demo_app}" in text
    login = re.search(r"summary: DemoLogin: 1 user, (\d+) sessions started, (\d+) completed", text)
    assert login and int(login.group(2)) >= 3, text
    browse = re.search(r"summary: DemoBrowse: 2 users, (\d+) sessions started", text)
    assert browse and 2 <= int(browse.group(1)) <= 6, text
    assert "summary:" not in stats.output and "recordings Demo" not in stats.output


def test_shared_connection_pool_bounds_connections(recordings, tmp_path):
    with stand_in() as gateway:
        converted(
            har(tmp_path / "ping.har", [("GET", "http://gw.example.test/ping", 200, {}, None)] * 3),
            recordings,
        )
        (recordings / "replay.toml").write_text("[recording.Ping]\nconnection_pool = 2\n")
        pooled = run_locust(
            recordings, gateway.url, "--think-scale", "0", users=10, run_time="2s", tmp=tmp_path
        )
        shared = set(gateway.connections)
        gateway.connections.clear()
        own = run_locust(
            recordings,
            gateway.url,
            "--think-scale",
            "0",
            "--connection-pool",
            "0",
            users=10,
            run_time="2s",
            tmp=tmp_path,
        )
    assert pooled.failed == own.failed == 0
    assert pooled.requests > 50 and own.requests > 50
    assert len(shared) <= 2 < 10 <= len(gateway.connections)


def test_a_slow_import_does_not_cut_the_run_short(recordings, tmp_path):
    """Locust's --run-time timer counts from gevent's last loop turn, which can be before the
    recordings were imported: a big recording on a busy machine ended the run at once."""
    with stand_in() as gateway:
        converted(
            har(tmp_path / "ping.har", [("GET", "http://gw.example.test/ping", 200, {}, None)]),
            recordings,
        )
        (recordings / "slow_import.py").write_text(
            "import time\n\nstarted = time.perf_counter()\n"
            "while time.perf_counter() - started < 3:\n    pass\n"
        )
        started = time.monotonic()
        stats = run_locust(
            recordings, gateway.url, "--think-scale", "0", run_time="2s", tmp=tmp_path
        )
    assert time.monotonic() - started >= 5, stats.output[-2000:]
    assert stats.failed == 0 and stats.requests > 20, stats.output[-2000:]


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Using recordings in your own locustfile", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_locustfile_subclasses_a_recording_beside_ours(demo_app, recordings, tmp_path):
    """The README's own example: a task added to the recorded shop, a user of it, a listener of
    its own; run with our locustfile, so our summary is logged beside the example's."""
    converted(DATA / "demo-shop.har", recordings)
    mine = tmp_path / "my_locustfile.py"
    mine.write_text(readme_example())
    stats = run_locust(
        recordings,
        demo_app,
        "-f",
        f"{ROOT / 'locustfile.py'},{mine}",
        "--recordings",
        "Shopper",
        "--think-scale",
        "0",
        users=2,
        run_time="4s",
        tmp=tmp_path,
    )
    assert stats.failed == 0, stats.failures
    checked = stats.count("/api/orders/[id] total")
    assert checked > 0 and stats.count("POST /api/orders") >= checked
    logged = re.search(r"order totals checked: (\d+), wrong: 0", stats.output)
    assert logged and int(logged.group(1)) >= checked  # the CSV misses the last second
    assert re.search(r"summary: ShopWithCheck: 2 users, \d+ sessions started", stats.output)


def test_distributed_run_sets_up_on_the_master_and_loads_on_every_worker(
    demo_app, recordings, tmp_path
):
    converted(DATA / "demo-browse.har", recordings)
    stats = run_locust(
        recordings,
        demo_app,
        "--processes",
        "2",
        "--think-scale",
        "0.05",
        users=4,
        run_time="4s",
        tmp=tmp_path,
    )
    assert stats.failed == 0, stats.failures
    assert stats.requests > 0
    output = stats.output
    assert output.count("recordings DemoBrowse (weight 1) against") == 1, output
    assert output.count("worker: recordings loaded: DemoBrowse") == 2, output
    assert output.count("summary: DemoBrowse: 2 users") == 2, output  # each worker's own
    assert "summary: DemoBrowse: 4 users" in output, output  # the master's, summed


def test_each_run_from_the_web_ui_deals_the_accounts_afresh(demo_app, recordings, tmp_path):
    """The web UI starts run after run in one process; with one account and one user, the second
    run's user must get that account again, not "ran out of rows"."""
    converted(DATA / "demo-login.har", recordings)
    (recordings / "accounts.csv").write_text("email,password\ndemo@example.com,demo-password\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    web = f"http://127.0.0.1:{port}"
    log = (tmp_path / "locust.out").open("w")
    locust = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py")]
        + ["--web-host", "127.0.0.1", "--web-port", str(port), "--host", demo_app]
        + ["--accounts", str(recordings / "accounts.csv"), "--think-scale", "0"],
        cwd=tmp_path,
        env={**os.environ, "REPLAY_RECORDINGS_DIR": str(recordings)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(web)
        for _ in range(2):
            form = urllib.parse.urlencode({"user_count": 1, "spawn_rate": 1, "host": demo_app})
            urllib.request.urlopen(f"{web}/swarm", form.encode(), timeout=10).read()
            time.sleep(2.5)
            with urllib.request.urlopen(f"{web}/stats/requests", timeout=10) as response:
                stats = json.load(response)  # this run's: Locust clears them on each start
            urllib.request.urlopen(f"{web}/stop", b"", timeout=10).read()
            time.sleep(0.5)
            errors = [f"{e['name']}: {e['error']}" for e in stats["errors"]]
            assert not errors, errors
            logins = [s for s in stats["stats"] if s["name"] == "/login" and s["method"] == "POST"]
            assert logins and logins[0]["num_requests"] > 0, stats["stats"]
    finally:
        locust.terminate()
        locust.wait(timeout=30)
        log.close()


def _wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_replay_run_help_lists_our_options_beside_locusts():
    """Locust prints --help before it imports a locustfile; `replay run` registers ours first."""
    result = subprocess.run(
        [sys.executable, "-m", "replay.cli", "run", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "--run-time" in result.stdout and "--headless" in result.stdout  # Locust's own
    for option in ("--recordings", "--map-host", "--think-scale", "--network-timeout"):
        assert option in result.stdout, option


def test_the_profile_chooses_the_data_files(recordings, tmp_path):
    """A rules-file parameter reads its CSV from the recordings folder, or from the data folder
    an --env profile names: switching data sets is one word."""
    (recordings / "comments.rules.toml").write_text(
        '[parameters]\ncomment = { file = "comments.csv", column = "comment" }\n'
    )
    staging = tmp_path / "staging"
    staging.mkdir()
    for folder, tag in ((recordings, "default"), (staging, "staging")):
        rows = "".join(f"{tag}-{i}\n" for i in range(4))
        (folder / "comments.csv").write_text(f"comment\n{rows}")
    (recordings / "replay.toml").write_text('[env.staging]\ndata_dir = "../staging"\n')
    body = {"comment": "as recorded"}
    with stand_in() as server:
        entries = [("POST", "http://shop.example.test/api/comments", 200, {}, body)]
        converted(har(tmp_path / "comments.har", entries), recordings)
        sent = {}
        for profile in ((), ("--env", "staging")):
            server.bodies.clear()
            stats = run_locust(
                recordings, server.url, *profile, users=2, run_time="2s", tmp=tmp_path
            )
            assert stats.failed == 0, stats.failures
            sent[profile] = {json.loads(b)["comment"] for b in server.bodies if b}
    assert sent[()] == {"default-0", "default-1"}
    assert sent[("--env", "staging")] == {"staging-0", "staging-1"}


def test_our_options_are_in_the_web_ui_and_apply_from_its_form(demo_app, recordings, tmp_path):
    """The web UI lists the options a run reads when it starts; a value typed in its form
    (text, as the UI sends it) applies as on the command line: think scale 0 runs flat out."""
    converted(DATA / "demo-browse.har", recordings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    web = f"http://127.0.0.1:{port}"
    log = (tmp_path / "locust.out").open("w")
    locust = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py")]
        + ["--web-host", "127.0.0.1", "--web-port", str(port), "--host", demo_app],
        cwd=tmp_path,
        env={**os.environ, "REPLAY_RECORDINGS_DIR": str(recordings)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(web)
        with urllib.request.urlopen(web, timeout=10) as response:
            page = response.read().decode()
        options = json.loads(re.search(r"window\.templateArgs = (\{.*?\})\n", page)[1])
        shown = set(options["extra_options"])
        assert {"think_scale", "map_host", "accounts", "pacing", "wait_time"} <= shown, shown
        assert not {"recordings", "env", "settings", "load_shape"} & shown, shown
        form = {"user_count": 1, "spawn_rate": 1, "host": demo_app}
        form |= {"think_scale": "0", "pacing": "", "connection_pool": ""}
        urllib.request.urlopen(f"{web}/swarm", urllib.parse.urlencode(form).encode(), timeout=10)
        time.sleep(2.5)
        with urllib.request.urlopen(f"{web}/stats/requests", timeout=10) as response:
            stats = json.load(response)
        urllib.request.urlopen(f"{web}/stop", b"", timeout=10).read()
    finally:
        locust.terminate()
        locust.wait(timeout=30)
        log.close()
    assert not stats["errors"], stats["errors"]
    total = next(s for s in stats["stats"] if s["name"] == "Aggregated")
    assert total["num_requests"] >= 10, (total, (tmp_path / "locust.out").read_text()[-2000:])
