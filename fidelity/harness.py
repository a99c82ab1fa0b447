"""What every app of the suite shares: install into a cache outside the repo, start and stop
by PID, record a flow in Chromium and through the recording proxy, convert, verify, load.

Only 127.0.0.1 is ever contacted, and every process started here is stopped by its id, also
on Ctrl-C (`stop_all`).
"""

from __future__ import annotations

import csv
import json
import os
import re
import runpy
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from recorder.browser import chromium_args, chromium_path
from recorder.proxy import free_port

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("FIDELITY_CACHE", "~/.cache/locust-replay-fidelity")).expanduser()
REPLAY = (sys.executable, "-m", "replay.cli")
STARTED: list[subprocess.Popen] = []
"""Processes this run started and has not stopped yet: `stop_all` ends them by id."""


class HarnessError(Exception):
    """An app could not be installed or started; one line for the table."""


def pip_venv(package: str, version: str, *extra: str) -> Path:
    """A virtual environment with `package==version` (and `extra` requirements), made once."""
    venv = CACHE / f"{package}-{version}"
    if not (venv / ".installed").exists():
        step(f"installing {package}=={version} into {venv}")
        check([sys.executable, "-m", "venv", "--clear", str(venv)], "python -m venv")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        check([*pip, f"{package}=={version}", *extra], f"pip install {package}=={version}")
        (venv / ".installed").touch()
    return venv


def npm_prefix(package: str, version: str) -> Path:
    """A folder whose node_modules holds `package@version`, installed once."""
    prefix = CACHE / f"{package}-{version}"
    if not (prefix / ".installed").exists():
        step(f"installing {package}@{version} into {prefix}")
        prefix.mkdir(parents=True, exist_ok=True)
        npm = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix)]
        check([*npm, f"{package}@{version}"], f"npm install {package}@{version}")
        (prefix / ".installed").touch()
    return prefix


def check(command: list[str], what: str, **kwargs) -> str:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise HarnessError(f"{what} failed: {last}")
    return done.stdout


def step(message: str) -> None:
    print(f"fidelity: {message}", file=sys.stderr, flush=True)


@dataclass
class Server:
    """An app running on 127.0.0.1, started by `start` and stopped by `stop`."""

    process: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> None:
        stop(self.process)


def start(command: list[str], *, port: int, ready: str, log: Path, **popen) -> Server:
    """Start `command` (its own process group) and wait until `ready` answers below 500."""
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **popen,
        )
    STARTED.append(process)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise HarnessError(f"exited with code {process.returncode}: {tail[0]}")
        try:
            urllib.request.urlopen(url + ready, timeout=2).close()
            return Server(process, url, log)
        except urllib.error.HTTPError as e:
            if e.code < 500:
                return Server(process, url, log)
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(process)
            raise HarnessError(f"did not answer on {url}{ready} within 90 s")
        time.sleep(0.3)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group this harness made for it, then SIGKILL."""
    if process.poll() is None:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(process.pid, sig)
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break
    if process in STARTED:
        STARTED.remove(process)


def stop_all() -> None:
    for process in list(STARTED):
        stop(process)


def write_accounts(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def flow_env(account: dict[str, str], tag: str) -> dict[str, str]:
    """What a flow script reads: the account it logs in with and a tag for the data it types."""
    return {
        **os.environ,
        "FIDELITY_USERNAME": account["username"],
        "FIDELITY_PASSWORD": account["password"],
        "FIDELITY_TAG": tag,
    }


def record_browser(name: str, url: str, script: Path, folder: Path, env: dict) -> Outcome:
    """`replay record NAME --browser URL --script flow.py`: Playwright records a HAR."""
    command = [*REPLAY, "record", name, "--browser", url, "--script", str(script)]
    return run(command, folder / f"record-{name}.log", cwd=folder, env=env, timeout=240)


def record_proxy(name: str, url: str, script: Path, folder: Path, env: dict) -> Outcome:
    """`replay record NAME --proxy`, with Chromium pointed at it running the same script."""
    port = free_port()
    log = folder / f"record-{name}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*REPLAY, "record", name, "--proxy", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    STARTED.append(process)
    try:
        _wait_for_port(port, process)
        saved = {key: os.environ.get(key) for key in env if key.startswith("FIDELITY_")}
        os.environ.update({key: env[key] for key in saved})
        try:
            _drive_chromium(url, script, proxy=f"http://127.0.0.1:{port}")
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    except Exception as e:  # noqa: BLE001 (the row shows it; the harness goes on)
        stop(process)
        return Outcome(False, f"browser through the proxy: {_one_line(e)}", log)
    process.send_signal(signal.SIGINT)  # replay record converts the capture on Ctrl-C
    try:
        code = process.wait(120)
    except subprocess.TimeoutExpired:
        code = -1
    stop(process)
    return Outcome(code == 0, "" if code == 0 else _last_error(log), log)


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise HarnessError("the recording proxy did not start") from None
            time.sleep(0.2)


def _drive_chromium(url: str, script: Path, proxy: str) -> None:
    """The flow script in a fresh Chromium that sends everything through `proxy`."""
    from playwright.sync_api import sync_playwright

    flow = runpy.run_path(str(script))["run"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=chromium_args(url, proxy)
        )
        try:
            page = browser.new_context().new_page()
            page.goto(url)
            flow(page)
            page.wait_for_load_state("networkidle", timeout=5000)
        finally:
            browser.close()


@dataclass
class Outcome:
    ok: bool
    detail: str
    log: Path


def run(command: list[str], log: Path, *, timeout: float, **kwargs) -> Outcome:
    """Run a command to the end, its output into `log`; the first failure line is the detail."""
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
        )
        STARTED.append(process)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = -1
        stop(process)
    return Outcome(code == 0, "" if code == 0 else _last_error(log), log)


FAILURE_LINE = re.compile(r"\bFAIL\b|MISSING|error|Error|Traceback")


def _last_error(log: Path) -> str:
    """The first line of `log` that names a failure, else its last line."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return next((line for line in lines if FAILURE_LINE.search(line)), lines[-1] if lines else "")


def _one_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def lint(module: Path) -> Outcome:
    """A generated recording must pass ruff as recordings/ of the project does (recorded URLs
    may be as long as the application made them)."""
    log = module.with_suffix(".ruff.log")
    ruff = [sys.executable, "-m", "ruff"]
    ignores = ["--extend-per-file-ignores", "**/recordings/*:E501"]
    check = run([*ruff, "check", "--no-cache", *ignores, str(module)], log, timeout=60, cwd=ROOT)
    if not check.ok:
        return check
    return run([*ruff, "format", "--check", "--no-cache", str(module)], log, timeout=60, cwd=ROOT)


@dataclass
class Load:
    """What a Locust run's --csv files say."""

    requests: int = 0
    failures: int = 0
    by_name: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def succeeded(self, method: str, pattern: str) -> int:
        """Successful requests whose method is `method` and whose name matches `pattern`."""
        return sum(
            count - failed
            for (kind, name), (count, failed) in self.by_name.items()
            if kind == method and re.search(pattern, name)
        )


def read_load(prefix: Path) -> Load:
    """Counts from `--json-file PREFIX` (written once every user has stopped; the `--csv`
    statistics are written earlier and miss the last requests), failure texts from the CSV."""
    load = Load()
    stats = Path(f"{prefix}.json")
    if not stats.exists():
        return load
    for entry in json.loads(stats.read_text()):
        count, failed = entry["num_requests"], entry["num_failures"]
        load.by_name[(entry["method"], entry["name"])] = (count, failed)
        load.requests += count
        load.failures += failed
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        with failures.open(newline="") as f:
            for row in csv.DictReader(f):
                load.errors.append(
                    f"{row['Occurrences']}x {row['Method']} {row['Name']}: {row['Error']}"
                )
    return load
