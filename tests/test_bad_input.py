"""`replay convert` on bad input: one line naming the file and the problem, exit 2, no traceback,
and an existing output file never half-overwritten.

The table tests run the real command line; the property test calls the same `main` in process
(hundreds of documents in seconds) and checks the same contract.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import DATA, ROOT, convert
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mitmproxy.io import FlowWriter, tnetstring
from mitmproxy.test import tflow, tutils

from recorder.har import parse_har
from replay import cli
from replay.convert import convert as convert_recording

GOOD = json.loads((DATA / "demo-browse.har").read_text(encoding="utf-8"))
OLD_OUTPUT = "# the recording the user already had\n"


def har(entries, **log) -> bytes:
    return json.dumps({"log": {"version": "1.2", "entries": entries, **log}}).encode()


def entry(url="http://127.0.0.1:8000/api/items", method="GET", status=200, **extra) -> dict:
    return {
        "startedDateTime": "2026-01-01T00:00:00.000Z",
        "time": 12.5,
        "request": {"method": method, "url": url, "httpVersion": "HTTP/1.1", "headers": []},
        "response": {
            "status": status,
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "content": {"mimeType": "application/json", "text": '{"items": [1, 2]}'},
        },
        **extra,
    }


def _good_entries() -> list[dict]:
    return GOOD["log"]["entries"]


def _retyped(mutate) -> bytes:
    document = json.loads(json.dumps(GOOD))
    for item in document["log"]["entries"]:
        mutate(item)
    return json.dumps(document).encode()


def _wrong_types(item: dict) -> None:
    item["request"]["headers"] = "not a list"
    item["request"]["queryString"] = None
    item["request"]["postData"] = {"text": 5, "mimeType": ["x"]}
    item["response"]["headers"] = [{"name": 1, "value": None}, "x"]
    item["response"]["content"] = [1]
    item["time"] = "slow"
    item["startedDateTime"] = 5
    item["pageref"] = {"a": 1}


def _binary_bodies(item: dict) -> None:
    item["request"]["postData"] = {
        "mimeType": "application/octet-stream",
        "text": "\x00\x01\ufffd\udcff raw",
    }
    item["response"]["content"] = {
        "mimeType": "application/json",
        "encoding": "base64",
        "text": base64.b64encode(bytes(range(256))).decode(),
    }


def _enormous(item: dict) -> None:
    item["request"]["headers"].append({"name": "X-Huge", "value": "h" * 1_000_000})
    item["response"]["content"] = {
        "mimeType": "application/json",
        "text": "[" + "1," * 500_000 + "1]",
    }


# Files that are not a usable capture: (name, bytes), the words the error must contain.
REJECTED = {
    "empty.har": (b"", "empty"),
    "blank.har": (b"  \n\t\n", "empty"),
    "truncated.har": ((DATA / "demo-browse.har").read_bytes()[:4000], "invalid JSON"),
    "malformed.har": (b'{"log": {"entries": [,]}}', "invalid JSON"),
    "latin1.har": (b'{"log": {"entries": []}, "x": "caf\xe9"}', "UTF-8"),
    "random.bin": (bytes(range(256)) * 64, "not a HAR file, a capture or a mitmproxy flow"),
    "corrupt.mitm": (b"1688:9:web" + bytes(range(256)), "not a mitmproxy flow file"),
    "list.har": (b"[1, 2, 3]", "not a HAR"),
    "no-log.har": (b'{"entries": []}', "no 'log'"),
    "entries-not-list.har": (b'{"log": {"entries": "x"}}', "entries"),
    "no-entries.har": (b'{"log": {"version": "1.2"}}', "entries"),
    "zero-entries.har": (har([]), "no entries"),
    "deeply-nested.har": (b'{"log": {"entries": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}", ""),
    "null-entries.har": (har([None, 1, "x", {"request": None}]), "not an entry"),
    "no-host.har": (har([entry(url="http://"), entry(url="http://:80/x")]), "host"),
    "bad-port.har": (har([entry(url="http://example.com:99999999/x")]), "URL"),
    "infinite.har": (
        b'{"log": {"entries": [{"request": {"url": "http://a.com/", '
        b'"method": "GET"}, "response": {"status": Infinity}, "time": NaN}]}}',
        "",
    ),
    "wrong-types.har": (_retyped(lambda e: e.update(request=[], response="x")), "request"),
    "csv.har": (b"email,password\nalice@example.com,secret\n", "not a HAR file"),
    "html.har": (b"<!doctype html><title>Not found</title>", "not a HAR file"),
}

# Odd but readable: converts to a module that compiles (and says what it could not use).
ACCEPTED = {
    "wrong-typed-fields.har": (_retyped(_wrong_types), ""),
    "binary-bodies.har": (_retyped(_binary_bodies), ""),
    "enormous.har": (_retyped(_enormous), ""),
    "duplicates.har": (har(_good_entries() * 2), ""),
    "version-9.har": (har(_good_entries(), version="9.9"), "unknown HAR version"),
    "bom.har": (b"\xef\xbb\xbf" + har(_good_entries()), ""),
}


def _assert_one_line_error(result: subprocess.CompletedProcess, path: Path, words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0], lines[0]
    assert words.lower() in lines[0].lower(), lines[0]


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_bad_file_is_one_line_exit_2_and_output_untouched(name, tmp_path):
    data, words = REJECTED[name]
    capture = tmp_path / name
    capture.write_bytes(data)
    output = tmp_path / "recording.py"
    output.write_text(OLD_OUTPUT)
    result = convert(capture, output)
    _assert_one_line_error(result, capture, words)
    assert output.read_text() == OLD_OUTPUT
    assert [p.name for p in tmp_path.iterdir()] == sorted([name, "recording.py"]) or not list(
        tmp_path.glob(".recording.py.*")
    ), "a temporary file was left behind"


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_odd_but_readable_file_converts_to_a_module_that_compiles(name, tmp_path):
    data, words = ACCEPTED[name]
    capture = tmp_path / name
    capture.write_bytes(data)
    output = tmp_path / "recording.py"
    result = convert(capture, output)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert words in result.stdout + result.stderr
    compile(output.read_text(encoding="utf-8"), str(output), "exec")


def _unreadable(kind: str, tmp_path: Path) -> tuple[Path, str]:
    """Paths no one can read a capture from, even as root."""
    path = tmp_path / "capture.har"
    if kind == "directory":
        path.mkdir()
        return path, "directory"
    if kind == "fifo":
        os.mkfifo(path)  # reading would block forever: must be refused, not read
        return path, "not a regular file"
    if kind == "dangling symlink":
        path.symlink_to(tmp_path / "gone.har")
        return path, "no such file"
    if kind == "missing":
        return path, "no such file"
    if kind == "under a file":
        (tmp_path / "plain").write_text("x")
        return tmp_path / "plain" / "capture.har", "no such file"
    if kind == "device":
        path.symlink_to("/dev/zero")  # endless: must be refused, not read
        return path, "not a regular file"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["directory", "fifo", "dangling symlink", "missing", "under a file", "device"]
)
def test_unreadable_path_is_one_line_exit_2(kind, tmp_path):
    capture, words = _unreadable(kind, tmp_path)
    output = tmp_path / "out" / "recording.py"
    started = time.monotonic()
    result = convert(capture, output)
    assert time.monotonic() - started < 20
    _assert_one_line_error(result, capture, words)
    assert not output.exists()


def test_output_that_cannot_be_written_is_one_line_exit_2(tmp_path):
    capture = DATA / "demo-browse.har"
    (tmp_path / "file").write_text("x")
    for output, words in (
        (tmp_path / "file" / "recording.py", "cannot write"),
        (tmp_path, "directory"),
    ):
        result = convert(capture, output)
        _assert_one_line_error(result, output, words)
    assert (tmp_path / "file").read_text() == "x"


def _big_capture(tmp_path: Path, n: int = 4000) -> Path:
    entries = []
    for i in range(n):
        item = entry(url=f"http://127.0.0.1:8000/api/items/{i}?page={i}")
        item["response"]["content"]["text"] = json.dumps({"id": i, "token": f"tok-{i:08d}x"})
        entries.append(item)
    capture = tmp_path / "big.har"
    capture.write_bytes(har(entries))
    return capture


def _convert_process(capture: Path, output: Path, **kwargs) -> subprocess.Popen:
    """`replay convert` that says "ready" once Python has started and imported the CLI, so
    a signal can be aimed at the conversion rather than at the interpreter's start-up."""
    argv = ["convert", str(capture), "-o", str(output)]
    code = (
        "import sys; from replay import cli; print('ready', flush=True); "
        f"sys.argv[1:] = {argv!r}; sys.exit(cli.main())"  # as the `replay` command runs it
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )
    assert process.stdout.readline() == "ready\n"
    return process


def test_ctrl_c_during_convert_leaves_the_old_output_intact(tmp_path):
    """SIGINT at points spread over a big conversion: the old module stays as it was (or, when
    the signal comes after the rename, the new one is whole); never a half-written file."""
    capture, output = _big_capture(tmp_path), tmp_path / "recording.py"
    process = _convert_process(capture, output)
    started = time.monotonic()
    assert process.wait(timeout=60) == 0
    whole = time.monotonic() - started
    interrupted = 0
    for fraction in (0.1, 0.3, 0.6, 0.95):
        output.write_text(OLD_OUTPUT)
        process = _convert_process(capture, output)
        time.sleep(whole * fraction)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert "Traceback" not in stderr
        assert not list(tmp_path.glob(".recording.py.*")), "a temporary file was left behind"
        text = output.read_text()
        if text != OLD_OUTPUT:  # the signal came after the rename: a whole new module
            compile(text, str(output), "exec")
        if process.returncode == 0:
            assert text != OLD_OUTPUT
            continue
        # 130, or killed by SIGINT after cleaning up (Python does that when a KeyboardInterrupt
        # went through an import or came during exit): a shell shows 130 for both.
        assert process.returncode in (130, -signal.SIGINT), stderr
        lines = stderr.strip().splitlines()
        if not lines:  # the signal came as Python exited, after the work was done
            assert text != OLD_OUTPUT
            continue
        assert len(lines) == 1 and "interrupted" in lines[0], stderr
        assert ("nothing written" in lines[0]) == (text == OLD_OUTPUT), lines[0]
        interrupted += text == OLD_OUTPUT
    assert interrupted >= 2, f"convert ({whole:.1f} s) finished before most signals"


def test_write_failing_midway_leaves_the_old_output_intact(tmp_path):
    """The disk fills while the module is written (a file-size limit stands in for a full
    disk): one line, exit 2, the old module as it was, no temporary file left."""
    capture, output = _big_capture(tmp_path, 1500), tmp_path / "recording.py"
    output.write_text(OLD_OUTPUT)
    limit = 64 * 1024  # the new module is several times this

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    process = _convert_process(capture, output, preexec_fn=limit_file_size)
    _, stderr = process.communicate(timeout=60)
    result = subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
    _assert_one_line_error(result, output, "too large")
    assert output.read_text() == OLD_OUTPUT
    assert not list(tmp_path.glob(".recording.py.*")), "a temporary file was left behind"


# --- the property: any HAR-shaped document converts to a module that compiles, or fails cleanly

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
TOKENS = st.sampled_from(
    ["tok-3f9a8b7c6d5e", "a7f3-99b1-4c2d", "42", "", "x y\"'{}\\ %s", "é€𝄞\x00\n", "1e99"]
)
"""A small pool, so values a response makes come back in later requests (correlations)."""


def _mostly(usual, odd=JSON):
    """The usual value nine times in ten, else an odd one (by default: any JSON at all).
    Hypothesis favours small choices, so the odd branch hangs on a middle value."""
    return st.integers(0, 9).flatmap(lambda n: odd if n == 5 else usual)


HOSTS = _mostly(
    st.sampled_from(["127.0.0.1:8000", "127.0.0.1:8000", "api.127.0.0.1.nip.io", "cdn.other.net"]),
    st.sampled_from(
        ["", "[::1]:9", "a:x", "b:99999", "UPPER.example.COM", "xn--bcher-kva.example"]
    ),
)
PATHS = st.lists(
    st.sampled_from(["api", "users", "42", "orders", "login", "signup", "a b", "%2F", "{x}", "é"])
    | TOKENS,
    max_size=4,
).map("/".join)


@st.composite
def urls(draw):
    scheme = draw(_mostly(st.just("http"), st.sampled_from(["https", "HTTP", "ws", "data", "x"])))
    query = draw(st.lists(st.tuples(st.sampled_from(["q", "id", "token", "_", "email"]), TOKENS)))
    url = f"{scheme}://{draw(HOSTS)}/{draw(PATHS)}"
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")


HEADERS = st.lists(
    _mostly(
        st.fixed_dictionaries(
            {
                "name": _mostly(
                    st.sampled_from(
                        ["Content-Type", "Authorization", "Cookie", "Set-Cookie", "Location"]
                        + ["X-Token", "Accept-Language", "Host", "content-length", "", "a b:"]
                    )
                ),
                "value": _mostly(TOKENS.map(lambda t: f"Bearer {t}") | TOKENS),
            }
        )
    ),
    max_size=4,
)
BODY_TEXT = st.one_of(
    st.fixed_dictionaries({"token": TOKENS, "id": st.integers(), "items": JSON}).map(json.dumps),
    st.fixed_dictionaries({"email": TOKENS, "password": TOKENS, "name": TOKENS}).map(
        lambda d: "&".join(f"{k}={v}" for k, v in d.items())
    ),
    TOKENS.map(lambda t: f'<input type="hidden" name="csrf" value="{t}">'),
    st.text(max_size=30),
)
MIME = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b"]
    + ["text/html", "text/plain", "image/png", ""]
)


def _content(draw) -> dict:
    return draw(
        st.fixed_dictionaries(
            {},
            optional={
                "mimeType": _mostly(MIME),
                "text": _mostly(BODY_TEXT),
                "encoding": _mostly(st.just("utf-8"), st.sampled_from(["base64", "x", 1])),
                "params": _mostly(
                    st.lists(st.fixed_dictionaries({"name": TOKENS, "value": TOKENS}))
                ),
                "size": _mostly(st.integers()),
            },
        )
    )


@st.composite
def entries(draw):
    request = draw(
        st.fixed_dictionaries(
            {
                "url": _mostly(urls()),
                "method": _mostly(
                    st.sampled_from(["GET", "POST", "put", "DELETE"]),
                    st.sampled_from(["", "OPTIONS", "G ET", "é"]) | JSON,
                ),
            },
            optional={
                "httpVersion": _mostly(st.sampled_from(["HTTP/1.1", "h2", "http/2.0"])),
                "headers": _mostly(HEADERS),
                "queryString": JSON,
                "bodySize": _mostly(st.integers()),
            },
        )
    )
    if draw(st.booleans()):
        request["postData"] = _content(draw)
    response = draw(
        st.fixed_dictionaries(
            {
                "status": _mostly(
                    st.sampled_from([200, 200, 201, 204, 302, 404, 500]),
                    st.sampled_from([0, -1, 99, 1000, 2**70, "200", 200.5, True]) | JSON,
                ),
            },
            optional={
                "statusText": _mostly(st.text(max_size=5)),
                "headers": _mostly(HEADERS),
                "_error": _mostly(st.just(""), st.just("net::ERR_ABORTED")),
            },
        )
    )
    response["content"] = _content(draw)
    return draw(
        st.fixed_dictionaries(
            {"request": _mostly(st.just(request)), "response": _mostly(st.just(response))},
            optional={
                "startedDateTime": _mostly(
                    st.datetimes().map(lambda d: d.isoformat() + "Z"),
                    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
                    | JSON,
                ),
                "time": _mostly(st.floats(allow_nan=True) | st.integers()),
                "pageref": _mostly(st.sampled_from(["page_1", "page_2"])),
                "_resourceType": _mostly(st.sampled_from(["document", "xhr", "fetch", "script"])),
            },
        )
    )


@st.composite
def har_documents(draw) -> bytes:
    log = draw(
        st.fixed_dictionaries(
            {"entries": _mostly(st.lists(_mostly(entries()), min_size=1, max_size=8))},
            optional={
                "version": _mostly(st.sampled_from(["1.2", "1.1"]), st.just("2.0") | JSON),
                "creator": _mostly(st.fixed_dictionaries({"name": TOKENS, "version": TOKENS})),
                "pages": _mostly(
                    st.lists(
                        st.fixed_dictionaries(
                            {"id": _mostly(st.sampled_from(["page_1", "page_2"]))},
                            optional={"title": JSON, "startedDateTime": JSON},
                        ),
                        max_size=2,
                    )
                ),
            },
        )
    )
    raw = json.dumps({"log": log}).encode()
    cut = draw(_mostly(st.just(1.0), st.sampled_from([0.0, 0.5, 0.99])))
    return raw[: int(len(raw) * cut)]


@settings(
    max_examples=int(os.environ.get("REPLAY_HYPOTHESIS_EXAMPLES", 100)),
    deadline=None,
    database=None,  # failures print their example; nothing is written into the project
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=har_documents())
def test_any_har_document_converts_to_a_module_that_compiles_or_fails_cleanly(document, caplog):
    """In process (hundreds of documents in seconds); `main` is what the command runs."""
    with tempfile.TemporaryDirectory() as folder:
        capture, output = Path(folder) / "generated.har", Path(folder) / "out" / "recording.py"
        capture.write_bytes(document)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="replay"):
            code = cli.main(["convert", str(capture), "-o", str(output)])
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        event(f"exit {code}")
        if code == 0:
            assert not errors, errors
            compile(output.read_text(encoding="utf-8"), str(output), "exec")
        else:
            event(errors[0].split(": ", 3)[-1][:40] if errors else "no message")
            assert code == 2, errors
            assert len(errors) == 1 and "\n" not in errors[0], errors
            assert str(capture) in errors[0], errors
            assert not output.exists()


def _errors_in_process(argv: list[str], caplog) -> tuple[int, list[str]]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="replay"):
        code = cli.main(argv)
    return code, [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--host", "http://[::1"], "--host 'http://[::1' is not a URL"),
        (["--include-host", "http://["], "--include-host 'http://[' is not a URL"),
        (["--host", "http://127.0.0.1:99999"], "Port out of range"),
        (["-o", ""], "not a file name"),
        (["-o", "."], "not a file name"),
    ],
    ids=["host IPv6", "include-host IPv6", "port", "-o empty", "-o ."],
)
def test_a_bad_option_value_is_one_line_exit_2(args, words, tmp_path, caplog, monkeypatch):
    """Not `internal error: ValueError: Invalid IPv6 URL` from deep in the conversion."""
    monkeypatch.chdir(tmp_path)
    code, errors = _errors_in_process(["convert", str(DATA / "demo-browse.har"), *args], caplog)
    assert (code, len(errors)) == (2, 1), errors
    assert words in errors[0] and "internal error" not in errors[0], errors


def test_an_output_that_is_not_a_regular_file_is_refused_not_replaced(tmp_path, caplog):
    """`-o /dev/null` run as root renamed a file over the device; a FIFO stands in for it."""
    fifo = tmp_path / "out.py"
    os.mkfifo(fifo)
    code, errors = _errors_in_process(
        ["convert", str(DATA / "demo-browse.har"), "-o", str(fifo)], caplog
    )
    assert (code, errors) == (2, [f"replay: error: {fifo}: cannot write: not a regular file"])
    assert fifo.is_fifo()


def test_an_output_that_is_a_symbolic_link_replaces_the_file_it_points_to(tmp_path, caplog):
    target = tmp_path / "kept" / "recording.py"
    target.parent.mkdir()
    target.write_text(OLD_OUTPUT)
    link = tmp_path / "link.py"
    link.symlink_to(target)
    code, errors = _errors_in_process(
        ["convert", str(DATA / "demo-browse.har"), "-o", str(link)], caplog
    )
    assert (code, errors) == (0, [])
    assert link.is_symlink() and "class " in target.read_text()


def _flow_file(change) -> bytes:
    """A one-flow `mitmdump -w` file whose serialised state `change` edits."""
    flow = tflow.tflow(req=tutils.treq(host="127.0.0.1", port=8000, path=b"/x?a=1"), resp=True)
    out = io.BytesIO()
    FlowWriter(out).add(flow)
    state = tnetstring.loads(out.getvalue())
    change(state)
    return tnetstring.dumps(state)


@pytest.mark.parametrize(
    "change",
    [
        lambda state: state.update(server_conn={}),
        lambda state: state.update(client_conn=None),
        lambda state: state["client_conn"].update(proxy_mode=0),
    ],
    ids=["server_conn {}", "client_conn None", "proxy_mode 0"],
)
def test_a_flow_file_whose_state_mitmproxy_cannot_load_is_one_line_exit_2(change, tmp_path, caplog):
    """mitmproxy loads a flow's state unchecked: KeyError, AttributeError, not FlowReadException."""
    capture = tmp_path / "session.mitm"
    capture.write_bytes(_flow_file(change))
    code, errors = _errors_in_process(
        ["convert", str(capture), "-o", str(tmp_path / "o.py")], caplog
    )
    assert (code, len(errors)) == (2, 1), errors
    assert f"{capture} is not a mitmproxy flow file" in errors[0]


@pytest.mark.parametrize(
    "change",
    [
        lambda state: state["request"].update(path=b"\xff\xfe"),
        lambda state: state["request"].update(timestamp_start=1e308),
    ],
    ids=["path not UTF-8 (after the port)", "a start past any clock"],
)
def test_a_flow_of_odd_values_converts_and_is_said_in_printable_text(change, tmp_path, capfd):
    """Not `internal error: UnicodeEncodeError` (quoting the origin) or `OverflowError` (the
    date in the docstring); the summary escapes the path's undecodable bytes."""
    capture, output = tmp_path / "session.mitm", tmp_path / "o.py"
    capture.write_bytes(_flow_file(change))
    assert cli.main(["convert", str(capture), "-o", str(output)]) == 0
    printed = capfd.readouterr()
    printed.out.encode("utf-8")  # lone surrogates would not encode
    compile(output.read_text(encoding="utf-8"), str(output), "exec")


def test_an_entry_without_a_start_time_keeps_its_place_and_adds_no_think_time():
    """Read as 1970, it was sorted first and the step after it waited 56 years."""
    entries = [entry(f"http://127.0.0.1:8000/{p}") for p in "abc"]
    for n, e in enumerate(entries):
        e["startedDateTime"] = f"2026-01-01T00:00:{3 * n:02d}Z"
    del entries[1]["startedDateTime"]
    recording = parse_har(har(entries).decode(), "no-time.har")
    assert [x.request.url[-1] for x in recording.exchanges] == ["a", "b", "c"]
    source = convert_recording(recording).source
    thinks = [
        float(line.split("(")[1].rstrip(")"))
        for line in source.splitlines()
        if "self.think(" in line
    ]
    assert thinks and max(thinks) <= 6, thinks
