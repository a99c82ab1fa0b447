"""A new user's first hour: a fresh clone, an installed wheel in an empty folder, and the path
after `replay demo`, each driven as a user would, from the command line."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import termios
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import DATA, ROOT

needs_chromium = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed"
)


def _checkout_files() -> list[str]:
    """What a clone of this working tree holds: tracked and new files, nothing ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [name for name in listed if (ROOT / name).is_file()]


def _clone(into: Path) -> Path:
    for name in _checkout_files():
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, into / name)
    return into


def test_fresh_clone_skips_corpus_tests_with_a_reason(tmp_path):
    """No ../shared/corpus beside a fresh clone: its tests skip and say why, nothing fails."""
    clone = _clone(tmp_path / "locust-replay")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "corpus or problem"]
        + ["tests/test_convert.py", "tests/test_codegen.py"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "failed" not in result.stdout
    assert "no shared HAR corpus at" in result.stdout, result.stdout[-3000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A wheel built from this tree, installed in a fresh venv; its dependencies are borrowed
    from the test's environment (a .pth line), so nothing is downloaded and this checkout is not
    importable from it."""
    where = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(where)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    wheel = next(where.glob("locust_replay-*.whl"))
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return venv / "bin"


def _replay(
    bin_dir: Path, *args: str, cwd: Path, timeout: float = 60, **env
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_dir / "replay"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
    )


@needs_chromium
def test_installed_wheel_works_in_an_empty_folder(installed, tmp_path):
    """init, convert, record, verify, run and demo from an empty folder, on ./recordings."""
    home = tmp_path / "project"
    home.mkdir()
    where = subprocess.run(
        [installed / "python", "-c", "import replay; print(replay.__file__)"],
        cwd=home,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(installed.parent) in where and str(ROOT) not in where

    init = _replay(installed, "init", cwd=home)
    assert init.returncode == 0, init.stderr
    assert (home / "recordings" / "replay.toml").is_file()
    assert "raw/" in (home / "recordings" / ".gitignore").read_text()
    assert "wrote" in init.stdout and "replay.toml" in init.stdout

    converted = _replay(installed, "convert", str(DATA / "demo-browse.har"), cwd=home)
    assert converted.returncode == 0, converted.stderr
    assert (home / "recordings" / "demo_browse.py").is_file()

    demo_app = subprocess.Popen(
        [installed / "replay", "demo", "--serve", "--port", "0"],
        cwd=home,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = re.search(r" on (http://\S+)", demo_app.stdout.readline()).group(1)
        (home / "steps.txt").write_text('click "text=Browse the shop"\nwait 300\n')
        recorded = _replay(
            installed, "record", "visit", "--browser", f"{url}/", "--steps", "steps.txt", cwd=home
        )
        assert recorded.returncode == 0, recorded.stderr
        assert (home / "recordings" / "raw" / "visit.har").is_file()

        verified = _replay(
            installed, "verify", "recordings/demo_browse.py", "--host", url, cwd=home
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr

        listed = _replay(installed, "run", "-l", cwd=home)
        users = set(listed.stdout.partition("Available Users:")[2].split()) - {"TrafficModel"}
        assert users == {"DemoBrowse", "Visit"}, listed.stdout  # none of the checkout's

        ran = _replay(
            installed,
            *("run", "--headless", "-u", "2", "-r", "2", "-t", "3s", "--host", url),
            *("--think-scale", "0", "--csv", "stats", "--only-summary"),
            cwd=home,
        )
        assert ran.returncode == 0, ran.stderr[-3000:]
        with (home / "stats_stats.csv").open() as f:
            total = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
        assert int(total["Request Count"]) > 0 and total["Failure Count"] == "0"
    finally:
        demo_app.terminate()
        demo_app.wait(timeout=10)

    demo = _replay(installed, "demo", "--run-time", "3s", "--users", "2", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "DemoLogin" in demo.stdout + demo.stderr  # the shipped recordings, not ./recordings
    assert "replay demo --serve --port" in demo.stdout


def replay_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """`replay ARGS` from this checkout, in the folder `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "replay.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_two_recordings_of_one_capture_are_both_listed(tmp_path):
    """Converted twice from one capture, or copied by hand: Locust lists every recording."""
    for name in ("first", "second"):
        converted = replay_cli(
            "convert", str(DATA / "demo-browse.har"), "-o", f"recordings/{name}.py", cwd=tmp_path
        )
        assert converted.returncode == 0, converted.stderr
    assert "class DemoBrowse is taken" in converted.stdout
    shutil.copy(tmp_path / "recordings" / "first.py", tmp_path / "recordings" / "copy.py")
    listed = replay_cli("run", "-l", cwd=tmp_path)
    users = set(listed.stdout.partition("Available Users:")[2].split()) - {"TrafficModel"}
    assert users == {"DemoBrowse", "DemoBrowse_first", "Second"}, listed.stdout  # copy.py first
    assert "DemoBrowse is also defined in" in listed.stderr


def test_a_class_on_any_line_of_a_module_is_taken(tmp_path):
    """Another module's classes, on its first line or any later one (CRLF line ends too), are
    not given again."""
    from recorder.model import Recording
    from replay.cli import _free_class_name

    (tmp_path / "mine.py").write_text(
        "class DemoBrowse(Base):\r\n    pass\r\nclass Mine(Base): ...\n"
    )
    (tmp_path / "other.py").write_text(
        '"""Hand-written."""\r\n\r\nclass Mine1(Base):\r\n    pass\n'
    )
    recording = Recording(source="raw/demo-browse.har")
    assert _free_class_name(recording, tmp_path / "mine.py") == "DemoBrowse"  # its own
    assert _free_class_name(recording, tmp_path / "new.py") == "New"
    (tmp_path / "new.py").write_text("class New(Base): ...\n")
    assert _free_class_name(recording, tmp_path / "mine.py") == "DemoBrowse"
    assert _free_class_name(recording, tmp_path / "new2.py") == "New2"


def test_an_empty_recordings_folder_says_what_to_do(tmp_path):
    (tmp_path / "recordings").mkdir()
    result = replay_cli("run", "--headless", "-t", "1s", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "replay: error: no recordings in recordings: `replay convert CAPTURE` or `replay record "
        "NAME` writes one there (--recordings-dir DIR reads another folder)"
    ]
    plain = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py"), "--headless"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "REPLAY_RECORDINGS_DIR": str(tmp_path / "recordings")},
    )
    assert plain.returncode != 0
    assert f"no recordings in {tmp_path / 'recordings'}: `replay convert" in plain.stderr


def test_first_convert_makes_the_recordings_folder_and_says_so(tmp_path):
    result = replay_cli("convert", str(DATA / "demo-browse.har"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "recordings" / "demo_browse.py").is_file()
    assert "created recordings/" in result.stdout


# The smaller frictions of a first hour, each as the user met it.


def test_verify_of_a_file_that_is_no_recording_is_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("call the shop team\n")
    (tmp_path / "broken.py").write_text("import nowhere_to_be_found\n")
    for name, says in (("notes.txt", "not a recording"), ("broken.py", "cannot load")):
        result = replay_cli("verify", name, "--host", "http://127.0.0.1:9", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr


def test_a_host_without_scheme_is_one_line(tmp_path):
    converted = replay_cli("convert", str(DATA / "demo-browse.har"), cwd=tmp_path)
    assert converted.returncode == 0, converted.stderr
    for command in (
        ("verify", "recordings/demo_browse.py", "--host", "127.0.0.1:8000"),
        ("run", "--headless", "-t", "1s", "--host", "127.0.0.1:8000"),
    ):
        result = replay_cli(*command, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "use http://127.0.0.1:8000" in result.stderr
        assert "Traceback" not in result.stderr


def test_verify_against_a_closed_port_names_the_cause_first(tmp_path):
    converted = replay_cli("convert", str(DATA / "demo-browse.har"), cwd=tmp_path)
    assert converted.returncode == 0, converted.stderr
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
        result = replay_cli(
            "verify",
            "recordings/demo_browse.py",
            "--host",
            f"http://127.0.0.1:{closed}",
            cwd=tmp_path,
        )
    row = next(line for line in result.stdout.splitlines() if "GET /" in line)
    assert "FAIL no response" in row and "size" not in row, result.stdout


def test_convert_into_a_pipe_closed_early_prints_no_traceback(tmp_path):
    result = subprocess.run(
        f"{shlex.quote(sys.executable)} -m replay.cli convert {DATA / 'demo-shop.har'} | head -1",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert len(result.stdout.splitlines()) == 1, result.stdout
    assert result.stderr == ""
    assert (tmp_path / "recordings" / "demo_shop.py").is_file()


@needs_chromium
def test_record_with_a_window_but_no_display_suggests_steps(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [sys.executable, "-m", "replay.cli", "record", "x", "--browser", "http://127.0.0.1:9/"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--steps" in result.stderr and "--script" in result.stderr


def test_a_step_with_an_unquoted_value_says_to_quote(tmp_path):
    (tmp_path / "steps.txt").write_text("goto /signup\nfill #name Ada Lovelace\n")
    result = replay_cli(
        "record", "x", "--browser", "http://127.0.0.1:9/", "--steps", "steps.txt", cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "replay: error: step 2: fill takes 2 argument(s), got 3 in fill '#name' Ada Lovelace: "
        "quote a value with spaces, as in  fill '#name' 'Ada Lovelace'"
    )


@needs_chromium
def test_browser_url_and_a_first_goto_of_it_record_the_page_once(demo_app, tmp_path):
    (tmp_path / "steps.txt").write_text(f"goto {demo_app}\nclick 'text=Browse the shop'\n")
    result = replay_cli(
        "record", "visit", "--browser", f"{demo_app}/", "--steps", "steps.txt", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    entries = json.loads((tmp_path / "recordings" / "raw" / "visit.har").read_text())["log"]
    pages = [e for e in entries["entries"] if e["request"]["url"] == f"{demo_app}/"]
    assert len(pages) == 1, [e["request"]["url"] for e in entries["entries"]]


def test_counts_read_as_english_and_hosts_say_how_many_more(tmp_path):
    from test_controls import har

    one = har(tmp_path / "one.har", [("GET", "http://shop.test/api/cart", 200, {}, None)])
    result = replay_cli("convert", str(one), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"read 1 entry from {one}" in result.stdout
    assert "kept 1 request in 1 step against" in result.stdout

    entries = [("GET", "http://shop.test/api/cart", 200, {}, None)]
    entries += [("GET", f"http://cdn{i}.test/x", 200, {}, None) for i in range(10)]
    many = har(tmp_path / "many.har", entries)
    result = replay_cli("convert", str(many), cwd=tmp_path)
    hosts = next(line for line in result.stdout.splitlines() if line.startswith("hosts: "))
    assert hosts.count("(1)") == 8 and hosts.endswith(", and 3 more"), hosts


def test_an_account_column_takes_the_right_article():
    from replay.runtime.data import MissingData, credential

    with pytest.raises(MissingData, match="with an 'apikey' column"):
        credential("apikey", None)
    with pytest.raises(MissingData, match="with a 'password' column"):
        credential("password", None)


def test_long_names_are_cut_between_words():
    from replay.names import identifier

    name = identifier("view_products_professional_espresso_grinders_deluxe")
    assert name == "view_products_professional_espresso"
    assert identifier("x" * 60) == "x" * 40  # one long word: cut, it has no other place


def test_convert_and_demo_help_describe_the_command(tmp_path):
    for command, says in (("convert", "readable Locust"), ("demo", "--serve")):
        result = replay_cli(command, "--help", cwd=tmp_path)
        assert result.returncode == 0
        assert says in result.stdout
        assert "8089" not in result.stdout


def test_a_run_too_short_for_a_session_hints_at_think_times(demo_app, recordings, tmp_path):
    from conftest import run_locust
    from test_controls import converted

    converted(DATA / "demo-browse.har", recordings)
    stats = run_locust(recordings, demo_app, users=1, run_time="2s", tmp=tmp_path)
    assert "0 completed (a session waits the recorded think times" in stats.output
    assert "--think-scale 0" in stats.output


def _har(path: Path, entries: list[tuple]) -> Path:
    """A HAR of (method, url, status, response headers, response body) entries; the body's
    type follows the URL: a page for `/`, a script for `.js`, else JSON."""
    rows = []
    for i, (method, url, status, headers, body) in enumerate(entries):
        kind, mime = (
            ("document", "text/html")
            if url.endswith("/")
            else ("script", "application/javascript")
            if url.endswith(".js")
            else ("fetch", "application/json")
        )
        rows.append(
            {
                "startedDateTime": f"2026-11-26T10:00:{i:02d}.000Z",
                "time": 5,
                "_resourceType": kind,
                "request": {"method": method, "url": url, "httpVersion": "HTTP/1.1", "headers": []},
                "response": {
                    "status": status,
                    "httpVersion": "HTTP/1.1",
                    "headers": [{"name": k, "value": v} for k, v in headers.items()],
                    "content": {"mimeType": mime, "text": body},
                },
            }
        )
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": rows}}))
    return path


def test_convert_warns_about_each_host_a_run_will_not_contact(tmp_path):
    """An apex → www redirect is the way into the site, not a request to replay; telemetry is
    dropped; a kept request to another host of the site is named with the --map-host that
    makes a run send it; third-party hosts with the --include-host that would keep one."""
    capture = _har(
        tmp_path / "visit.har",
        [
            ("GET", "https://example.com/", 301, {"Location": "https://www.example.com/"}, ""),
            ("GET", "https://www.example.com/", 200, {}, "<html>home</html>"),
            ("GET", "https://api.example.com/v1/cart", 200, {}, '{"items": []}'),
            ("POST", "https://www.example.com/clientperf", 204, {}, ""),
            ("GET", "https://www.example.com/usermatch?p=7", 302, {"Location": "/x"}, ""),
            ("GET", "https://widgets.othersite.com/v1/config", 200, {}, "{}"),
        ],
    )
    result = replay_cli("convert", str(capture), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "kept 2 requests in 1 step against https://www.example.com" in out, out
    assert re.search(r"dropped +1  third-party host", out), out
    assert re.search(r"dropped +1  redirect onto the target host", out), out
    assert re.search(r"dropped +2  analytics beacon", out), out
    assert "(widgets.othersite.com: --include-host HOST keeps a first-party one)" in out, out
    warnings = [line for line in out.splitlines() if "unless mapped" in line]
    assert warnings == [
        "warning: 1 kept request to api.example.com, which a run does not contact unless "
        "mapped: add --map-host api.example.com=URL to replay run and verify (the target is "
        "https://www.example.com)"
    ], out


def test_a_key_the_site_hands_out_is_not_a_credential(tmp_path):
    """An API key in the site's own script is the site's value: sent as recorded, never
    asked of the user as a credential. The same key with no response that held it is one."""
    key = "f3a9c2e1d4b5a697"
    script = ("GET", "https://shop.test/static/app.js", 200, {}, f'cfg={{apikey:"{key}"}}')
    search = ("GET", f"https://shop.test/api/search?apikey={key}&q=mug", 200, {}, "[]")
    home = ("GET", "https://shop.test/", 200, {}, "<html>shop</html>")
    for name, entries, credential in (
        ("served", [home, script, search], False),
        ("typed", [home, search], True),
    ):
        result = replay_cli("convert", str(_har(tmp_path / f"{name}.har", entries)), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        source = (tmp_path / "recordings" / f"{name}.py").read_text()
        assert ('self.credential("apikey")' in source) is credential, source
        assert (key in source) is not credential, source


class Terminal:
    """A pseudo-terminal for a child's stderr, as in a person's shell: `shown()` is what the
    child has written to it so far."""

    def __init__(self) -> None:
        self.reader, self.child_side = os.openpty()
        size = struct.pack("HHHH", 24, 100, 0, 0)  # rows, columns: a new pty has none
        fcntl.ioctl(self.child_side, termios.TIOCSWINSZ, size)
        self.written = b""

    def shown(self) -> str:
        while select.select([self.reader], [], [], 0.05)[0]:
            try:
                chunk = os.read(self.reader, 65536)
            except OSError:  # EIO: the child's side is closed
                break
            if not chunk:
                break
            self.written += chunk
        return self.written.decode(errors="replace")


def _on_terminal(command: list[str], cwd: Path, **kwargs) -> tuple[subprocess.Popen, Terminal]:
    terminal = Terminal()
    process = subprocess.Popen(command, cwd=cwd, stderr=terminal.child_side, **kwargs)
    os.close(terminal.child_side)
    return process, terminal


def test_a_long_conversion_shows_progress_on_a_terminal_only(tmp_path):
    capture = tmp_path / "long.har"
    subprocess.run(
        [sys.executable, "-m", "bench.har_gen", "8000", str(capture)], cwd=ROOT, check=True
    )
    command = [sys.executable, "-m", "replay.cli", "convert", str(capture)]
    process, terminal = _on_terminal(command, tmp_path, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while process.poll() is None:  # read as it comes: a full terminal would stop the child
        terminal.shown()
        assert time.monotonic() < deadline
    assert process.returncode == 0
    shown = terminal.shown()
    assert "converting long.har: " in shown and "/6 [" in shown, shown
    assert "correlate" in shown or "parameters" in shown or "generate" in shown, shown
    piped = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0 and "converting" not in piped.stderr, piped.stderr


def test_recording_through_the_proxy_counts_flows_on_a_terminal(demo_app, tmp_path):
    from recorder.proxy import free_port

    port = free_port()
    command = [
        sys.executable,
        "-m",
        "replay.cli",
        "record",
        "visit",
        "--proxy",
        "--port",
        str(port),
    ]
    process, terminal = _on_terminal(command, tmp_path, stdout=subprocess.PIPE, text=True)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{port}"})
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            opener.open(f"{demo_app}/products", timeout=2).read()
            break
        except OSError:
            assert time.monotonic() < deadline, "the recording proxy never answered"
            time.sleep(0.2)
    for path in ("/products/travel-mug", "/api/products/travel-mug"):
        opener.open(f"{demo_app}{path}", timeout=5).read()
    deadline = time.monotonic() + 10
    while "3 flows" not in terminal.shown():
        assert time.monotonic() < deadline, terminal.shown()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert process.returncode == 0
    assert (tmp_path / "recordings" / "visit.py").is_file()
