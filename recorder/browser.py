"""Record a HAR with Chromium driven by Playwright (`replay record NAME --browser URL`).

Interactive (a person clicks through a headed window and closes it) or scripted: a Playwright
script (`def run(page)`) or a list of simple steps. Chromium is the system one, never a
Playwright download, and is kept off the network except for the hosts being recorded.
"""

from __future__ import annotations

import json
import logging
import os
import runpy
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

log = logging.getLogger(__name__)

DEFAULT_CHROMIUM = "/usr/bin/chromium"
QUIET_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    "--no-pings",
    "--disable-client-side-phishing-detection",
    "--disable-features=OptimizationHints,OptimizationGuideModelDownloading,Translate,"
    "MediaRouter,CertificateTransparencyComponentUpdater,AutofillServerCommunication,"
    "NetworkTimeServiceQuerying",
)
"""Chromium's own background traffic off, so the HAR holds only what the page did."""

STEP_ARITY = {"goto": (1,), "click": (1,), "fill": (2,), "wait": (1,), "press": (1, 2)}
"""Step actions and how many arguments each takes (`press KEY` or `press SELECTOR KEY`)."""

Step = tuple[str, ...]


class BrowserError(Exception):
    """Recording with the browser failed; the message is one line for the user."""


def chromium_path() -> str:
    return os.environ.get("REPLAY_CHROMIUM") or DEFAULT_CHROMIUM


def chromium_args(url: str, proxy: str | None = None, hosts: Sequence[str] = ()) -> list[str]:
    """Flags that keep Chromium quiet and let it resolve only loopback, the URL's host and
    `hosts` (through a proxy, the proxy resolves names and decides instead)."""
    allowed = ["127.0.0.1", "localhost", urlsplit(url).hostname or "", *hosts]
    excludes = ", ".join(f"EXCLUDE {host}" for host in dict.fromkeys(filter(None, allowed)))
    args = [*QUIET_FLAGS, f"--host-resolver-rules=MAP * ~NOTFOUND, {excludes}"]
    if proxy:
        args += [f"--proxy-server={proxy}", "--proxy-bypass-list=<-loopback>"]
    return args


def parse_steps(text: str) -> list[Step]:
    """Steps from a text file (one `action arg...` per line, shell quoting, `#` comments) or a
    JSON list of lists (`[["goto", "/login"], ["fill", "#email", "a@example.com"]]`)."""
    if text.lstrip().startswith("["):
        try:
            raw = json.loads(text)
        except ValueError as e:
            raise BrowserError(f"steps: invalid JSON ({e})") from e
        if not all(isinstance(step, list) for step in raw):
            raise BrowserError('steps: JSON steps are lists such as ["click", "#submit"]')
    else:
        try:
            raw = [
                shlex.split(line)
                for line in text.splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
        except ValueError as e:
            raise BrowserError(f"steps: {e}") from e
    steps = [tuple(str(part) for part in step) for step in raw]
    for number, step in enumerate(steps, start=1):
        _check_step(number, step)
    return steps


def load_steps(path: str | Path) -> list[Step]:
    try:
        return parse_steps(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise BrowserError(f"cannot read steps file {path}: {e.strerror}") from e


def _check_step(number: int, step: Step) -> None:
    action, *args = step or ("",)
    if action not in STEP_ARITY:
        raise BrowserError(
            f"step {number}: unknown action {action!r} (known: {', '.join(STEP_ARITY)})"
        )
    if len(args) not in STEP_ARITY[action]:
        takes = " or ".join(map(str, STEP_ARITY[action]))
        raise BrowserError(
            f"step {number}: {action} takes {takes} argument(s), got {len(args)} in "
            f"{shlex.join(step)}: quote a value with spaces, as in  fill '#name' 'Ada Lovelace'"
        )
    if action == "wait" and not args[0].isdigit():
        raise BrowserError(f"step {number}: wait takes milliseconds, not {args[0]!r}")


def record_browser(
    url: str,
    har_path: str | Path,
    *,
    script: str | Path | None = None,
    steps: Sequence[Step] | None = None,
    proxy: str | None = None,
    headless: bool = True,
    hosts: Sequence[str] = (),
) -> Path:
    """Open `url` in a fresh Chromium context that records a HAR (bodies embedded) to `har_path`.

    With `script` (a Python file defining `run(page)`) or `steps`, run them; otherwise wait
    until the person closes every tab (headed) or the page settles (headless). The HAR is
    written when the context closes, also when a step fails. `proxy` ("http://127.0.0.1:8080")
    sends all traffic, loopback included, through that proxy as well. Requests whose body the
    HAR lost are named by convert's summary, when they are kept.
    """
    # Imported here, as in the helpers below: it costs 0.15 s that other commands need not pay.
    from playwright.sync_api import Error, sync_playwright

    executable = chromium_path()
    if not Path(executable).exists():
        raise BrowserError(f"Chromium not found at {executable} (set REPLAY_CHROMIUM)")
    if not headless and not _has_display():
        raise BrowserError(
            "no display to open a browser window on ($DISPLAY is not set): drive the browser "
            "with --steps FILE or --script FILE (they run headless), or record through "
            "--proxy from a browser elsewhere"
        )
    if steps and steps[0][0] == "goto" and _same_page(urljoin(url, steps[0][1]), url):
        steps = steps[1:]  # the browser opens `url` already: once is what the person meant
    run = _load_script(script) if script else None
    har_path = Path(har_path)
    har_path.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable,
                headless=headless,
                args=chromium_args(url, proxy, hosts),
                handle_sigint=False,  # Ctrl+C must not kill Chromium before the HAR is saved
            )
        except Error as e:
            raise BrowserError(f"cannot start Chromium: {_first_line(e)}") from e
        context = browser.new_context(
            record_har_path=str(har_path),
            record_har_content="embed",
            ignore_https_errors=bool(proxy),  # the proxy presents its own certificates
            service_workers="block",  # a service worker would answer requests off the HAR
        )
        try:
            page = context.new_page()
            try:
                page.goto(url)
            except Error as e:
                raise BrowserError(f"cannot open {url}: {_first_line(e)}") from e
            if run:
                run(page)
            elif steps:
                _run_steps(page, url, steps)
            elif not headless:
                while context.pages:
                    context.pages[0].wait_for_event("close", timeout=0)
            if context.pages:
                _settle(context.pages[-1])
        finally:
            context.close()
            browser.close()
    return har_path


def _has_display() -> bool:
    """A window can open: always off Linux, on Linux with an X or Wayland display."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _same_page(a: str, b: str) -> bool:
    """`http://host` and `http://host/` are one page."""
    return (a if urlsplit(a).path else f"{a}/") == (b if urlsplit(b).path else f"{b}/")


def _load_script(script: str | Path) -> Any:
    try:
        run = runpy.run_path(str(script)).get("run")
    except OSError as e:
        raise BrowserError(f"cannot read script {script}: {e.strerror}") from e
    if not callable(run):
        raise BrowserError(f"{script} must define run(page)")
    return run


def _run_steps(page: Any, base_url: str, steps: Sequence[Step]) -> None:
    from playwright.sync_api import Error

    for number, step in enumerate(steps, start=1):
        action, *args = step
        try:
            if action == "goto":
                page.goto(urljoin(base_url, args[0]))
            elif action == "click":
                page.click(args[0])
            elif action == "fill":
                page.fill(args[0], args[1])
            elif action == "wait":
                page.wait_for_timeout(int(args[0]))
            elif len(args) == 2:
                page.press(args[0], args[1])
            else:
                page.keyboard.press(args[0])
        except Error as e:
            raise BrowserError(f"step {number} ({shlex.join(step)}): {_first_line(e)}") from e


def _settle(page: Any) -> None:
    """Let requests in flight finish so their responses make it into the HAR."""
    from playwright.sync_api import Error

    try:
        page.wait_for_load_state("networkidle", timeout=5000)
    except Error:
        log.info("the page kept the network busy; closing anyway")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
