"""What generated recordings stand on: a SequentialTaskSet whose requests check themselves.

Every worker imports this module, so it imports Locust, Faker and the standard library only.
One instance of a recording is one visitor: a fresh cookie jar and fresh data; when the last
step is done, or a step fails, the user starts over as a new visitor.
"""

from __future__ import annotations

import base64
import contextlib
import html
import inspect
import itertools
import json
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, cast
from urllib.parse import quote, urlsplit

import locust
from faker import Faker
from locust import SequentialTaskSet, task
from locust.contrib.fasthttp import LocustBadStatusCode
from locust.exception import InterruptTaskSet, StopUser

from replay.names import slugify, url_template
from replay.runtime.data import PROCESS_TAG, Accounts, MissingData, Unique, credential, faker
from replay.runtime.settings import (
    NO_SETTINGS,
    RecordingSettings,
    SettingsError,
    host_map,
    parse_wait_time,
)

__all__ = [
    "RecordedSession",
    "cookie",
    "header",
    "json_escaped",
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
"""Seconds from the start of a failed session to the start of the next, so a down target is
not hammered in a tight loop (applied between sessions by `replay.users.RecordingUser`)."""
LOGOUT = re.compile(r"log_?out|sign_?out|log_?off", re.IGNORECASE)
"""Steps that end an identity: run when the user stops once on_start steps keep one."""
LOGIN = re.compile(r"log_?in|sign_?in", re.IGNORECASE)
"""A redirect there, where the recording had none, is a session the server dropped."""


class HostNotAllowed(Exception):
    """A recorded host that is neither the target nor mapped: the request is never sent."""


class NotSent(Exception):
    """A request the HTTP client refused to send (an invalid header name, a bad URL)."""


@dataclass(slots=True)
class Counts:
    """Sessions of one recording in this process, for the end-of-run summary."""

    users: int = 0
    started: int = 0
    completed: int = 0
    missing: Counter = field(default_factory=Counter)
    """Missing extractions by variable."""


@dataclass(slots=True)
class UserState:
    """What one virtual user carries from one session to the next, as `user.replay`."""

    number: int = field(default_factory=lambda: next(_user_numbers))
    """Unique in this process: with the worker's index, tags the user's unique values."""
    sessions: int = 0
    """Sessions started, the running one included."""
    identities: dict[type, dict[str, Any]] = field(default_factory=dict)
    """Per recording, what a completed session kept (cookies aside) while the user keeps its
    identity: its data and extracted values."""
    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per CSV file, the row this user took: its own for the whole run."""
    failed: bool = False
    """The last session failed: the next starts no sooner than RESTART_PAUSE after it."""

    @classmethod
    def of(cls, user) -> UserState:
        """`user.replay`, made on first use: any Locust user may run a recording."""
        state = user.__dict__.get("replay")
        if state is None:
            state = user.replay = cls()
        return state


@dataclass(slots=True)
class Plan:
    """What a recording's steps and requests need in a run, worked out once per class, so the
    request path only reads attributes."""

    environment: Any
    fake: Faker
    worker: int
    think_scale: float
    step_wait: Callable | None
    """Locust wait_time function replacing the recorded think times, or None."""
    routes: dict[str, str]
    """Recorded netloc → live origin; "" sends the path to the target (--host)."""
    allowed: frozenset[str]
    """Live netlocs absolute URLs may name besides the target (the mapped hosts)."""
    first: tuple[Callable, ...]
    """Steps of a new visitor's session."""
    repeat: tuple[Callable, ...]
    """Steps of later sessions of a user that keeps its identity (on_start steps done)."""
    stop: tuple[Callable, ...]
    """Steps run when the user stops (a logout)."""
    counts: Counts = field(default_factory=Counts)

    @property
    def keeps_identity(self) -> bool:
        return bool(self.stop) or self.repeat != self.first


class Extractor:
    """Reads one value out of a live response; None when it is not there."""

    def __init__(self, description: str, read: Callable[[Any, Any], Any]):
        self.description = description
        self.read = read

    def __call__(self, session: RecordedSession | None, response) -> Any:
        try:
            return self.read(session, response)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
            return None  # RecursionError: a live JSON body nested past the parser's limit

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


def regex(pattern: str, *, before: Any = None, after: Any = None) -> Extractor:
    """The first group of `pattern` in the body (HTML inputs, meta tags, script literals); in
    a list, its last match before the value `before` or its first after `after` (the row of
    what this user made: other users' rows come and go around it)."""
    compiled = re.compile(pattern)
    near = before if before is not None else after

    def read(_session, response):
        text = response.text or ""
        if near is None:
            match = compiled.search(text)
            return match.group(1) if match else None
        at = _find(text, str(near))
        if at < 0:
            return None
        if before is not None:
            matches = list(compiled.finditer(text, 0, at))
            return matches[-1].group(1) if matches else None
        match = compiled.search(text, at + len(str(near)))
        return match.group(1) if match else None

    side = "" if near is None else f" {'before' if before is not None else 'after'} {near!r}"
    return Extractor(f"body /{pattern}/{side}", read)


def _find(text: str, value: str) -> int:
    """Where a value shows in a page, as written or HTML-escaped."""
    at = text.find(value)
    return at if at >= 0 else text.find(html.escape(value))


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


def json_escaped(value: Any) -> str:
    """A run-time value placed inside a JSON string of a text body (JSON sent as text/plain):
    a password holding `"` or `\\` must not end the string."""
    return json.dumps(str(value), ensure_ascii=False)[1:-1]


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
    capture: str = ""
    """The capture this was converted from, for `replay verify`."""

    def __init__(self, parent, closing: bool = False) -> None:
        """One session; `closing` for the on_stop steps, which are not a session of their own."""
        super().__init__(parent)
        cls, user = type(self), self.user
        plan = cls.__dict__.get("_plan")
        if plan is None or plan.environment is not user.environment:
            plan = cls.prepare(user.environment)
        self._plan = plan
        self._http = self.client
        self.step = ""
        self._pause = 0.0
        self._options = user.environment.parsed_options
        state = self._state = UserState.of(user)
        state.sessions += 1
        self.fake = plan.fake
        self.unique = Unique(
            self.fake, f"{PROCESS_TAG}w{plan.worker}u{state.number}i{state.sessions}"
        )
        identity = state.identities.get(cls)
        if identity is None:
            self.client.cookiejar.clear()
            self._steps = iter(plan.first)
        else:
            # Same visitor again: its cookies, data and extracted values, no new on_start data.
            self.on_start = _keep_identity  # type: ignore[method-assign]
            self._steps = iter(plan.repeat)
        if plan.keeps_identity:
            self._internal = {*vars(self), "_internal"}
            self.__dict__.update(identity or {})
        if not closing:
            plan.counts.started += 1
            if state.sessions == 1:
                plan.counts.users += 1

    @classmethod
    def prepare(cls, environment, settings: RecordingSettings = NO_SETTINGS) -> Plan:
        """Options and settings of this run, resolved once for every session of the recording.

        The command line wins over `settings` (the recording's `[recording.NAME]` table).
        """
        options = environment.parsed_options

        def choose(key, default):
            given = getattr(options, key, None)
            if given is None:
                given = getattr(settings, key)
            return default if given is None else given

        wait = parse_wait_time(choose("wait_time", "recorded"))
        tasks = cast("list[Callable]", cls.tasks)  # a recording's tasks are its step methods
        steps = {step.__name__: step for step in tasks}
        once = _step_names(settings.on_start, steps, cls, "on_start")
        stop = _step_names(
            settings.on_stop
            if settings.on_stop is not None
            else [name for name in steps if once and LOGOUT.search(name)],
            steps,
            cls,
            "on_stop",
        )
        first = tuple(step for step in tasks if step.__name__ not in stop)
        repeat = tuple(step for step in first if step.__name__ not in once)
        if not repeat:
            raise SettingsError(f"{cls.__name__}: on_start and on_stop leave no step to repeat")
        recorded = urlsplit(cls.recorded_host).netloc.lower()
        routes = {recorded: "", **host_map(getattr(options, "map_host", None))}
        plan = Plan(
            environment=environment,
            fake=faker(getattr(options, "locale", None) or cls.locale),
            worker=getattr(environment.runner, "worker_index", 0),
            think_scale=choose("think_scale", 1.0),
            step_wait=wait and getattr(locust, wait[0])(*wait[1]),
            routes=routes,
            allowed=frozenset(urlsplit(origin).netloc for origin in routes.values() if origin),
            first=first,
            repeat=repeat,
            stop=tuple(steps[name] for name in stop),
        )
        cls._plan = plan
        return plan

    @property
    def host(self) -> str:
        """The origin this run targets (--host), for values such as Referer and Origin."""
        return self.user.host or self.recorded_host

    # Locust's scheduling, bent to "one pass per visitor"

    def get_next_task(self):
        step = next(self._steps, None)
        if step is None:
            self._completed()
            raise InterruptTaskSet(reschedule=False)
        return step

    def execute_task(self, task):
        self.step = task.__name__
        super().execute_task(task)

    def wait_time(self) -> float:
        """The recorded think time after this step × --think-scale, or the wait_time chosen
        for the run or the recording (Locust's `between(1, 5)` and friends)."""
        pause, self._pause = self._pause, 0.0
        step_wait = self._plan.step_wait
        return step_wait(self) if step_wait else pause * self._plan.think_scale

    def _completed(self) -> None:
        plan = self._plan
        plan.counts.completed += 1
        if plan.keeps_identity:
            identity = {k: v for k, v in vars(self).items() if k not in self._internal}
            self._state.identities[type(self)] = identity

    def _failed(self) -> NoReturn:
        """Start over as a new visitor, after a pause between sessions."""
        self._state.identities.pop(type(self), None)
        self._state.failed = True
        raise InterruptTaskSet(reschedule=False)

    @classmethod
    def finish(cls, user) -> None:
        """The on_stop steps (a logout), for the identity `user` kept; called as it stops."""
        plan = cls.__dict__.get("_plan")
        if plan is None or not plan.stop or cls not in UserState.of(user).identities:
            return
        session = cls(user, closing=True)
        with contextlib.suppress(InterruptTaskSet):  # a failed step is counted already
            for step in plan.stop:
                session.step = step.__name__
                step(session)

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
        returns: str | None = None,
        save: dict[str, Extractor] | None = None,
        **body,
    ):
        """Send one recorded request; fail it (and restart the visit) if it is not as recorded:
        another status, a redirect elsewhere, or with `returns` ("json", "items") a body that
        is no JSON (an error page) or an empty list where the recording had items."""
        if url[:1] != "/":
            url = self._route(method, url, name)
        defaults = self.default_headers
        if defaults:
            headers = {**defaults, **headers} if headers else defaults
        try:
            sent = self._http.request(
                method,
                url,
                name=name,
                headers=headers,
                catch_response=True,
                allow_redirects=False,
                **body,
            )
        except Exception as e:  # e.g. an invalid header name: never sent, but counted
            self._fail_unsent(method, name or url, NotSent(f"{self.step}: not sent: {e}"))
        with sent as response:
            as_recorded = (
                response.status_code == expect
                and location is None
                and returns is None
                and not response.request_meta["exception"]
            )  # the common case, decided without a call
            problem = "" if as_recorded else self._check(response, expect, location, returns)
            if not problem and save:
                problem = self._save(response, save)
            if problem:
                response.failure(f"{self.step}: {problem}")
            elif expect >= 400:
                response.success()  # the error the recording had (a 401 before sign-in)
        if problem:
            self._failed()
        return response

    def _route(self, method: str, url: str, name: str | None) -> str:
        """An absolute URL goes to the target or a mapped host, rewritten; any other recorded
        host is never contacted: the request fails, counted, and the visit starts over."""
        netloc = urlsplit(url).netloc
        live = self._plan.routes.get(netloc.lower())
        if live is not None:
            return live + (url.split(netloc, 1)[1] or "/")
        if netloc in self._plan.allowed or netloc == urlsplit(self.host).netloc:
            return url
        error = HostNotAllowed(
            f"{self.step}: {netloc} is neither the target nor mapped, so it was not contacted "
            f"(to send it somewhere, add --map-host {netloc}=URL)"
        )
        self._fail_unsent(method, name or url, error)

    def _fail_unsent(self, method: str, name: str, error: Exception) -> NoReturn:
        """A request that never left: a failure in Locust's statistics, and the visit over."""
        self.user.environment.events.request.fire(
            request_type=method,
            name=name,
            response_time=0,
            response_length=0,
            exception=error,
            context={},
        )
        self._failed()

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

    def _check(self, response, expect: int, location: str | None, returns: str | None) -> str:
        status = response.status_code
        if status != expect:
            if not status:
                return f"no response ({response.error or 'connection failed'})"
            target = response.headers.get("Location") or ""
            if 300 <= status < 400 and LOGIN.search(target.partition("?")[0]):
                return f"redirected to the login page {target}, recorded status {expect}"
            return f"status {status}, recorded {expect}"
        broken = getattr(response, "request_meta", {}).get("exception")
        if broken and not isinstance(broken, LocustBadStatusCode):
            # the status line came, the body did not (a reset, a close mid-body)
            return f"response cut short after status {status} ({broken!r})"
        if location is not None:
            live = response.headers.get("Location") or ""
            try:
                return _check_location(live, location, self._netloc(location))
            except ValueError:  # urlsplit: an unclosed [, a port out of range
                return f"redirected to {live!r}, which is no URL"
        if returns is not None:
            return _check_body(response, returns)
        return ""

    def live_origin(self, recorded: str) -> str:
        """Where the recording's `recorded` origin is in this run: the target (--host) or the
        host --map-host names; unmapped, the recorded origin itself (data, never contacted)."""
        live = self._plan.routes.get(urlsplit(recorded).netloc.lower())
        return recorded if live is None else live or self.host

    def _netloc(self, url: str) -> str:
        """Where `url` of the recording goes in this run: the target's or a mapped host's."""
        recorded = urlsplit(url).netloc
        live = self._plan.routes.get(recorded.lower()) if recorded else ""
        return recorded if live is None else urlsplit(live or self.host).netloc

    def _save(self, response, save: dict[str, Extractor]) -> str:
        for var, extractor in save.items():
            value = extractor(self, response)
            if value is None:
                self._plan.counts.missing[var] += 1
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
        """A column of a CSV data file in --data-dir (default: beside the recording): this
        user's own row, or with `shared` the next row round-robin (JMeter's CSV Data Set,
        k6's SharedArray)."""
        try:
            folder = getattr(self._options, "data_dir", None)
            folder = folder or Path(inspect.getfile(type(self))).parent
            path = str(Path(folder) / file)
            row = _rows(path, self.user.environment).cycle() if shared else self._own_row(path)
            if column not in row:
                raise MissingData(f"{file} has no column {column!r} (columns: {', '.join(row)})")
            return row[column]
        except MissingData as e:
            self._stop_for_missing(f"data {file}", e)

    def _own_row(self, path: str) -> dict[str, str]:
        """The row of CSV `path` this user took: each user keeps its own for the whole run."""
        rows = self._state.rows
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
    def basic_auth(username: str, password: str) -> str:
        """The `Authorization` value of HTTP Basic for an account."""
        return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    @staticmethod
    def uuid() -> str:
        """A client-made id (request id, idempotency key): new for every request."""
        return str(uuid.uuid4())

    slugify = staticmethod(slugify)
    """A slug follows the title this user typed."""


def deal_rows_afresh() -> None:
    """Forget which CSV rows were taken: a new run's users start from the top again (the web
    UI starts one run after another in the same process), and see the file as it is now."""
    _accounts.clear()


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


def _keep_identity() -> None:
    """on_start of a visitor that keeps its identity: its data is already there."""


def _step_names(names, steps: dict, cls: type, key: str) -> list[str]:
    unknown = [name for name in names if name not in steps]
    if unknown:
        raise SettingsError(
            f"{cls.__name__}: {key} names no step {', '.join(unknown)} (steps: {', '.join(steps)})"
        )
    return list(names)


def _check_body(response, returns: str) -> str:
    """A JSON body where the recording had one (by its type, or by its look when the server
    names none; an empty body is no error page); items where it had a non-empty list."""
    kind = response.headers.get("Content-Type") or ""
    body = (response.content or b"").lstrip()
    if body and "json" not in kind and (kind or body[:1] not in b"{["):
        return f"{kind.split(';')[0] or 'no content type'}, recorded JSON (an error page?)"
    if returns == "items" and (body[:1] != b"[" or body[1:].lstrip()[:1] == b"]"):
        return "no items, recorded a list with items"
    return ""


def _check_location(live: str, recorded: str, netloc: str) -> str:
    """A redirect must go where the recording went: same host, same URL template (a
    `[name]` segment of the recorded target is any one segment: a value read from it)."""
    live_parts, recorded_parts = urlsplit(live), urlsplit(recorded)
    if live_parts.netloc and live_parts.netloc != netloc:
        return f"redirected to another host: {live_parts.netloc}"
    live_path, recorded_path = live_parts.path.split("/"), url_template(recorded_parts.path)
    if len(live_path) != recorded_path.count("/") + 1 or any(
        want != url_template(got) and not (want[:1] == "[" and got)
        for want, got in zip(recorded_path.split("/"), live_path, strict=True)
    ):
        return f"redirected to {live_parts.path or '/'}, recorded {recorded_parts.path or '/'}"
    return ""
