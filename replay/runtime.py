"""What generated recordings stand on: a SequentialTaskSet whose requests check themselves.

Every worker imports this module, so it imports Locust, Faker and the standard library only.
One instance of a recording is one visitor: a fresh cookie jar and fresh data; when the last
step is done, or a step fails, the user starts over as a new visitor.
"""

from __future__ import annotations

import itertools
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

from locust import SequentialTaskSet, task
from locust.exception import InterruptTaskSet, StopUser

from replay.data import PROCESS_TAG, Accounts, MissingData, Unique, credential, faker
from replay.templates import url_template

__all__ = [
    "RecordedSession",
    "cookie",
    "header",
    "json_path",
    "location",
    "regex",
    "task",
    "urlencoded",
]

logger = logging.getLogger("replay")

_user_numbers = itertools.count(1)
_accounts: dict[str, Accounts] = {}

RESTART_PAUSE = 1.0
"""Seconds a user waits before starting over after a failed step, so a down target is not
hammered in a tight loop."""


class Extractor:
    """Reads one value out of a live response; None when it is not there."""

    def __init__(self, description: str, read: Callable[[Any, Any], Any]):
        self.description = description
        self.read = read

    def __call__(self, session: RecordedSession, response) -> Any:
        try:
            return self.read(session, response)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return None

    def __repr__(self) -> str:
        return self.description


def json_path(path: str) -> Extractor:
    """`authentication.token` or `items[0].id` in the JSON body, as a string."""
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]

    def read(_session, response):
        value = _json(response)
        for key in keys:
            value = value[key]
        if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
            return None
        return value if isinstance(value, str) else str(value)

    return Extractor(f"JSON {path}", read)


def header(name: str) -> Extractor:
    return Extractor(f"header {name}", lambda _s, r: r.headers.get(name) or None)


def cookie(name: str) -> Extractor:
    """A cookie the server set, as the visitor's cookie jar holds it now."""

    def read(session, _response):
        return next((c.value for c in session.client.cookiejar if c.name == name), None)

    return Extractor(f"cookie {name}", read)


def regex(pattern: str) -> Extractor:
    """The first group of `pattern` in the body (HTML inputs, meta tags, script literals)."""
    compiled = re.compile(pattern)

    def read(_session, response):
        match = compiled.search(response.text or "")
        return match.group(1) if match else None

    return Extractor(f"body /{pattern}/", read)


def location(pattern: str) -> Extractor:
    """The first group of `pattern` in the redirect target."""
    compiled = re.compile(pattern)

    def read(_session, response):
        match = compiled.search(response.headers.get("Location") or "")
        return match.group(1) if match else None

    return Extractor(f"Location /{pattern}/", read)


def urlencoded(value: Any) -> str:
    """A run-time value placed in a URL or form, percent-encoded as the browser sent it."""
    return quote(str(value), safe="")


def _json(response):
    """Parse a body once however many values are read from it."""
    cached = getattr(response, "_replay_json", None)
    if cached is None:
        cached = response._replay_json = response.json()
    return cached


class RecordedSession(SequentialTaskSet):
    """A recorded visit, replayed in order by one virtual user.

    Generated subclasses call `get`/`post`/... with the recorded status (`expect`), the
    redirect target (`location`) and the values to keep from the response (`save`).
    """

    recorded_host: str = ""
    """Origin the recording was made against: the default target when --host is not given."""
    weight: int = 1
    default_headers: dict[str, str] = {}
    locale: str = "en_US"
    """Faker locale, from the recording's Accept-Language; --locale overrides it."""
    credentials: tuple[str, ...] = ()
    """Names `credential()` is called with, so a run can check them before it starts."""

    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.client.cookiejar.clear()
        self.step = ""
        self._remaining = len(self.tasks)
        self._pause = 0.0
        options = self.user.environment.parsed_options
        self._options = options
        self._think_scale = getattr(options, "think_scale", 1.0)
        user = self.user
        if not hasattr(user, "replay_number"):
            user.replay_number = next(_user_numbers)
            user.replay_iteration = 0
        user.replay_iteration += 1
        self.fake = faker(getattr(options, "locale", None) or self.locale)
        worker = getattr(user.environment.runner, "worker_index", 0)
        self.unique = Unique(
            self.fake, f"{PROCESS_TAG}w{worker}u{user.replay_number}i{user.replay_iteration}"
        )

    @property
    def host(self) -> str:
        """The origin this run targets (--host), for values such as Referer and Origin."""
        return self.user.host or self.recorded_host

    # Locust's scheduling, bent to "one pass per visitor"

    def get_next_task(self):
        if self._remaining == 0:
            self.interrupt(reschedule=True)
        self._remaining -= 1
        return super().get_next_task()

    def execute_task(self, task):
        self.step = task.__name__
        super().execute_task(task)

    def wait_time(self) -> float:
        """The recorded think time after this step, scaled by --think-scale."""
        pause, self._pause = self._pause, 0.0
        return pause * self._think_scale

    def think(self, seconds: float) -> None:
        """Pause as the recorded user did once this step is done (Locust's wait applies it)."""
        self._pause = seconds

    # Requests

    def request(
        self,
        method: str,
        url: str,
        *,
        name: str | None = None,
        headers: dict[str, str] | None = None,
        expect: int = 200,
        location: str | None = None,
        save: dict[str, Extractor] | None = None,
        **body,
    ):
        """Send one recorded request; fail it (and restart the visit) if it is not as recorded."""
        if self.default_headers:
            headers = {**self.default_headers, **headers} if headers else self.default_headers
        with self.client.request(
            method,
            url,
            name=name,
            headers=headers,
            catch_response=True,
            allow_redirects=False,
            **body,
        ) as response:
            problem = self._check(response, expect, location)
            if not problem and save:
                problem = self._save(response, save)
            if problem:
                response.failure(f"{self.step}: {problem}")
        if problem:
            self._pause = RESTART_PAUSE
            raise InterruptTaskSet(reschedule=False)
        return response

    def get(self, url: str, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs):
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs):
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs):
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def _check(self, response, expect: int, location: str | None) -> str:
        status = response.status_code
        if status != expect:
            if not status:
                return f"no response ({response.error or 'connection failed'})"
            return f"status {status}, recorded {expect}"
        if location is not None:
            return _check_location(response.headers.get("Location") or "", location, self.host)
        return ""

    def _save(self, response, save: dict[str, Extractor]) -> str:
        for var, extractor in save.items():
            value = extractor(self, response)
            if value is None:
                return f"{var} not found ({extractor}) in the response of step {self.step}"
            setattr(self, var, value)
        return ""

    # Per-user data

    def credential(self, name: str) -> str:
        """A login name, password or API key: from the user's row of --accounts, else from
        $REPLAY_<NAME>. Never stored in a recording."""
        try:
            path = getattr(self._options, "accounts", None)
            return credential(name, self._own_row(path) if path else None)
        except MissingData as e:
            self._stop_for_missing(f"credential {name}", e)

    def data(self, file: str, column: str, shared: bool = False) -> str:
        """A column of a CSV data file beside the recording: this user's own row, or with
        `shared` the next row round-robin (JMeter's CSV Data Set, k6's SharedArray)."""
        try:
            path = str(Path(sys.modules[type(self).__module__].__file__).parent / file)
            row = _rows(path, self.user.environment).cycle() if shared else self._own_row(path)
            if column not in row:
                raise MissingData(f"{file} has no column {column!r} (columns: {', '.join(row)})")
            return row[column]
        except MissingData as e:
            self._stop_for_missing(f"data {file}", e)

    def _own_row(self, path: str) -> dict[str, str]:
        """The row of CSV `path` this user took: each user keeps its own for the whole run."""
        rows = self.user.__dict__.setdefault("replay_rows", {})
        if path not in rows:
            rows[path] = _rows(path, self.user.environment).take()
        return rows[path]

    def _stop_for_missing(self, what: str, error: MissingData) -> NoReturn:
        """Without its data a user cannot go on: a counted failure, one log line, and it stops."""
        self.user.environment.events.request.fire(
            request_type="DATA",
            name=what,
            response_time=0,
            response_length=0,
            exception=error,
            context={},
        )
        logger.error("%s: stopping this user: %s", type(self).__name__, error)
        raise StopUser() from None

    @staticmethod
    def now_ms() -> str:
        """A cache buster like the browser's `?_=1636025335990`."""
        return str(int(time.time() * 1000))

    @staticmethod
    def now() -> str:
        return str(int(time.time()))

    @staticmethod
    def uuid() -> str:
        """A client-made id (request id, idempotency key): new for every request."""
        return str(uuid.uuid4())


def _rows(path: str, environment) -> Accounts:
    """One reader per CSV file and process; workers deal its rows between them."""
    rows = _accounts.get(path)
    if rows is None:
        runner = environment.runner
        options = environment.parsed_options
        rows = _accounts[path] = Accounts(
            path, getattr(runner, "worker_index", 0), getattr(options, "workers", 1)
        )
    return rows


def _check_location(live: str, recorded: str, host: str) -> str:
    """A redirect must go where the recording went: same host, same URL template."""
    live_parts, recorded_parts = urlsplit(live), urlsplit(recorded)
    if live_parts.netloc and live_parts.netloc != (recorded_parts.netloc or urlsplit(host).netloc):
        return f"redirected to another host: {live_parts.netloc}"
    if url_template(live_parts.path) != url_template(recorded_parts.path):
        return f"redirected to {live_parts.path or '/'}, recorded {recorded_parts.path or '/'}"
    return ""
