"""`replay verify`: one virtual user, one pass, every request compared with the recording.

The recording runs in this process on Locust's own Environment and FastHttpUser (gevent),
exactly the code a load test runs, with think times off. Each live exchange is paired with
the recorded one from the capture (same method and URL template, in order) and compared:
status, extractions, response shape, latency. Then the replay-and-diff: every value a
recorded response held that a later request sent as recorded, while the live response held
another there, is named with the rule that fixes it, however plain the value.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from locust.env import Environment
from locust.event import Events
from locust.exception import InterruptTaskSet, RescheduleTask, StopUser

from recorder.model import Exchange, Recording
from replay.convert.correlate import (
    BROWSER_HEADERS,
    DIGIT,
    is_trivial,
    json_leaves,
    recorded_sources,
)
from replay.convert.filters import Filtered
from replay.convert.redaction import restore_redacted
from replay.convert.rules import ExtractRule
from replay.convert.scenario import Extraction
from replay.convert.steps import build_scenario
from replay.names import url_template
from replay.runtime import session as runtime
from replay.runtime import users
from replay.runtime.settings import SettingsError, apply_env, load_settings

logger = logging.getLogger("replay")


class Seen:
    """One response, recorded or live, read the way the runtime's extractors read one."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes, ms: float):
        self.status_code = status
        self.header_list = headers
        self.headers = _Headers((name.lower(), value) for name, value in reversed(headers))
        self.content = body or b""
        self.ms = ms

    @classmethod
    def recorded(cls, exchange: Exchange) -> Seen:
        response = exchange.response
        return cls(response.status, list(response.headers), response.body, exchange.duration_ms)

    @classmethod
    def live(cls, response, ms: float) -> Seen:
        headers = list(response.headers.items()) if response.headers else []
        return cls(response.status_code or 0, headers, response.content or b"", ms)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)

    @property
    def kind(self) -> str:
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()

    def document(self):
        """The JSON body, or None."""
        try:
            return self.json() if self.content else None
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's limit
            return None


class _Headers(dict):
    """Header lookups by any case, as the extractors do them."""

    def get(self, name, default=None):
        return super().get(name.lower(), default)


@dataclass(slots=True)
class Row:
    """One request of the pass."""

    step: str
    method: str
    name: str
    url: str
    expect: int
    saves: tuple[str, ...]
    done: bool = False
    live: Seen | None = None
    problem: str = ""
    recorded: Seen | None = None
    exchange: Exchange | None = None
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    shape: list[str] = field(default_factory=list)
    """Differences that fail verification."""
    notes: list[str] = field(default_factory=list)
    sent: str = ""
    """What the live request carried (URL, header values, body), for the diff."""
    places: frozenset[tuple[str, str]] = frozenset()
    """The values it carried whole (path segments, query and form values, JSON leaves,
    headers): where a plain value such as `3` is looked for."""

    @property
    def ok(self) -> bool:
        """Sent, answered as recorded and shaped as recorded."""
        return self.done and not self.problem and not self.shape


@dataclass(slots=True)
class Finding:
    """A value the recording sends verbatim that the server made anew."""

    var: str
    recorded: str
    live: str | None
    note: str
    source: str
    path: str

    @property
    def rule(self) -> ExtractRule:
        """The rule that extracts this value from the live response."""
        return ExtractRule(self.var, self.recorded, self.source, self.path)


@dataclass(slots=True)
class Report:
    name: str
    rows: list[Row]
    not_run: list[str]
    findings: list[Finding]
    other_hosts: set[str]
    """Hosts other than the target the recording calls by absolute URL, as recorded: what
    `replay convert --include-host` kept."""

    @property
    def ok(self) -> bool:
        """Every request as recorded, and no value sent as recorded that the server made
        anew (a green pass that deleted the recorded object, not its own, is no pass)."""
        rows_ok = bool(self.rows) and not self.not_run and all(row.ok for row in self.rows)
        return rows_ok and not self.findings


def verify(session: type[runtime.RecordedSession], args: argparse.Namespace, capture) -> Report:
    """Run `session` once against args.host and compare it with `capture` (a Recording)."""
    settings = load_settings(args.settings, Path(args.recording).parent)
    # The pass's own options, as Locust would parse them for a run with think times off;
    # the caller's stay as given (verify --fix converts and verifies again with them).
    options = argparse.Namespace(**{**vars(args), "think_scale": 0.0, "wait_time": None})
    profile_host = apply_env(options, settings)
    host = options.host or profile_host
    if not host:
        raise SettingsError("give --host URL, or an --env profile with a host")
    rows, not_run = _run_once(session, host, options, settings)
    if capture is not None:
        _pair(rows, capture.exchanges)
        for row in rows:
            if row.recorded is not None and row.live is not None and row.live.status_code:
                row.shape, row.notes = shape_differences(row.recorded, row.live)
    findings = _uncorrelated(rows, capture, session.recorded_host) if capture is not None else []
    absolute = (urlsplit(row.url) for row in rows if row.url[:1] != "/")
    other_hosts = {
        url.hostname for url in absolute if url.hostname and url.netloc != urlsplit(host).netloc
    }
    return Report(session.__name__, rows, not_run, findings, other_hosts)


def _run_once(session, host, options, settings) -> tuple[list[Row], list[str]]:
    """The pass itself: one user, one session, requests seen through Locust's request event."""
    rows: list[Row] = []

    class Verified(session):
        def request(self, method, url, *, name=None, expect=200, save=None, **kwargs):
            row = Row(self.step, method, name or url, url, expect, tuple(save or ()))
            rows.append(row)
            try:
                return super().request(method, url, name=name, expect=expect, save=save, **kwargs)
            except (InterruptTaskSet, RescheduleTask, StopUser):
                raise
            except Exception as e:  # raised before it was sent: a bad URL or header name
                row.done, row.problem = True, f"not sent: {e}"
                raise InterruptTaskSet(reschedule=False) from None

    Verified.__name__ = session.__name__
    events = Events()
    user_class = users.user_class(Verified)
    user_class.host = host
    users.set_timeouts(user_class, options)
    environment = Environment(
        user_classes=[user_class],
        host=host,
        parsed_options=options,
        events=events,
        catch_exceptions=False,  # a step that raises ends the pass, a failure, below
    )
    Verified.prepare(environment, settings.recording(session.__name__))

    def on_request(request_type, name, response=None, exception=None, response_time=0, **_):
        if not rows or rows[-1].done:  # not a request of the recording: its data, say
            rows.append(Row(instance.step or "on_start", request_type, name, name, 0, ()))
        row = rows[-1]
        row.done = True
        row.problem = str(exception).removeprefix(f"{row.step}: ") if exception else ""
        if response is not None:
            row.live = Seen.live(response, response_time)
            request = getattr(response, "request", None)
            if request is not None:
                payload = request.payload or b""
                body = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
                headers = list(request.headers.items())
                row.sent = " ".join([str(request.url), *(v for _, v in headers), body])
                row.places = sent_places(str(request.url), headers, body)
        missing = next((var for var in row.saves if f"{var} not found" in row.problem), None)
        if missing is not None:
            row.missing, row.found = [missing], list(row.saves[: row.saves.index(missing)])
        elif not row.problem:
            row.found = list(row.saves)

    events.request.add_listener(on_request)
    instance = Verified(user_class(environment))
    try:
        instance.run()  # a pass ends in a control-flow exception, whether it went through or not
    except (InterruptTaskSet, RescheduleTask, StopUser):
        pass
    except Exception as e:  # noqa: BLE001 (the step's own code: a failure of the pass)
        step = instance.step or "on_start"
        rows.append(Row(step, "", "(the step's code)", "", 0, (), done=True))
        rows[-1].problem = f"raised {type(e).__name__}: {e}; nothing after it was sent"
    reached = {row.step for row in rows} | {instance.step}
    return rows, [t.__name__ for t in Verified.tasks if t.__name__ not in reached]


def _pair(rows: list[Row], exchanges: list[Exchange]) -> None:
    """Each live request with the next recorded one of the same method and URL template."""
    position = 0
    for row in rows:
        template = url_template(urlsplit(row.url).path)
        for index in range(position, len(exchanges)):
            request = exchanges[index].request
            if request.method == row.method and url_template(urlsplit(request.url).path) == (
                template
            ):
                row.exchange, row.recorded = exchanges[index], Seen.recorded(exchanges[index])
                position = index + 1
                break


def shape_differences(recorded: Seen, live: Seen) -> tuple[list[str], list[str]]:
    """(differences that fail, differences worth a note) between two responses."""
    failing: list[str] = []
    notes: list[str] = []
    if not recorded.content:
        return failing, notes  # the capture kept no body: nothing to compare
    if recorded.kind and live.kind and recorded.kind != live.kind:
        failing.append(f"content type {live.kind}, recorded {recorded.kind}")
    was, now = recorded.document(), live.document()
    if isinstance(was, list) and isinstance(now, list):
        if was and not now:
            failing.append(f"empty list, recorded {len(was)} items")
        was, now = (was[0], now[0]) if was and now else (None, None)
    if isinstance(was, dict) and isinstance(now, dict):
        if was.keys() - now.keys():
            failing.append(f"JSON keys missing: {', '.join(sorted(was.keys() - now.keys()))}")
        if now.keys() - was.keys():
            notes.append(f"new JSON keys: {', '.join(sorted(now.keys() - was.keys()))}")
    elif was is not None and now is not None and type(was) is not type(now):
        failing.append(f"JSON {type(now).__name__}, recorded {type(was).__name__}")
    if size_class(len(recorded.content)) != size_class(len(live.content)):
        notes.append(
            f"size {size_class(len(live.content))}, recorded {size_class(len(recorded.content))}"
        )
    return failing, notes


def size_class(size: int) -> str:
    if not size:
        return "empty"
    for limit, label in ((1_000, "<1 kB"), (10_000, "1-10 kB"), (100_000, "10-100 kB")):
        if size < limit:
            return label
    return ">100 kB"


# The diff: which recorded value should have been correlated


def _uncorrelated(rows: list[Row], capture: Recording, target: str) -> list[Finding]:
    """The replay-and-diff: every value a recorded response held that a later request of
    this pass sent as recorded, while the live response held another there. However plain
    the value (`3`), the live response decides; the place it is read from is the one that
    reads the recorded value from the recorded response (like is compared with like)."""
    paired = [row for row in rows if row.exchange is not None]
    if not paired:
        return []
    exchanges = [row.exchange for row in paired if row.exchange is not None]
    scenario = build_scenario(capture, Filtered(exchanges, target))
    calls = list(restore_redacted(scenario).calls)
    found: list[tuple[int, Finding]] = []
    names: set[str] = set()
    sent_later = _SentLater(paired)
    for value, index, extraction in recorded_sources(calls):
        live = paired[index].live
        if live is None or not sent_later(value, index):
            continue
        if extraction.source == "regex" and not DIGIT.search(value) and is_trivial(value):
            continue  # a word of the page (`delete` of a link), not a value the server made
        if read(extraction, Seen.recorded(calls[index].exchange)) != value:
            continue  # a pattern that misses the recorded value says nothing of the live one
        now = read(extraction, live)
        if now is None or now == value:
            continue
        var, n = extraction.var, 1
        while var in names:
            n += 1
            var = f"{extraction.var}_{n}"
        names.add(var)
        finding = Finding(var, value, now, extraction.note, extraction.source, extraction.path)
        found.append((index, finding))
    return [finding for _, finding in sorted(found, key=lambda pair: pair[0])]


class _SentLater:
    """Whether a live request after a given row carried a value as recorded: a plain one in
    the place the recording sent it (`3` as the third segment of `/slots/3`, `seats=3`; not
    the `3` of another id that happens to be 3 live), any other anywhere, encoded or not.
    Indexed once: asking each value of each row parsed the requests again, values x rows."""

    def __init__(self, rows: list[Row]):
        self.last_plain: dict[str, int] = {}
        """A plain value → the last row that sent it where the recording did."""
        for index, row in enumerate(rows):
            if row.exchange is None:
                continue
            request = row.exchange.request
            body = request.body.decode("utf-8", "replace")
            recorded = sent_places(request.url, list(request.headers), body)
            for place in row.places & recorded:
                self.last_plain[place[1]] = index
        self.starts = list(itertools.accumulate((len(row.sent) + 1 for row in rows), initial=0))
        self.text = "\0".join(row.sent for row in rows)

    def __call__(self, value: str, index: int) -> bool:
        """Sent by a row after `index`."""
        if is_trivial(value):
            return self.last_plain.get(value, -1) > index
        start = self.starts[index + 1]
        return (
            self.text.find(value, start) >= 0 or self.text.find(quote(value, safe=""), start) >= 0
        )


TRANSPORT_HEADERS = frozenset({"content-length", "host", "connection", "accept-encoding"})
"""Headers about the message, not values of the application (a Content-Length of 84 is no
id 84)."""


def sent_places(url: str, headers: list[tuple[str, str]], body: str) -> frozenset[tuple[str, str]]:
    """(place, value) of each value a request carries whole: path segments by position,
    query and form values, JSON leaves and headers by name."""
    parts = urlsplit(url)
    places = {(f"path {i}", unquote(s)) for i, s in enumerate(parts.path.split("/"))}
    places |= {(f"query {name}", value) for name, value in parse_qsl(parts.query)}
    places |= {
        (f"header {name.lower()}", value)
        for name, value in headers
        if name.lower() not in BROWSER_HEADERS | TRANSPORT_HEADERS
    }
    try:
        document = json.loads(body) if body[:1] in ("{", "[") else None
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's limit
        document = None
    if document is not None:
        places |= {(f"JSON {path}", leaf) for path, leaf in json_leaves(document)}
    else:
        places |= {(f"field {name}", value) for name, value in parse_qsl(body)}
    return frozenset(places)


def read(extraction: Extraction, seen: Seen) -> str | None:
    """The value `extraction` reads from a response, recorded or live."""
    if extraction.source == "cookie":
        prefix = f"{extraction.path}="
        cookies = (v for k, v in seen.header_list if k.lower() == "set-cookie")
        return next((c.split(";")[0][len(prefix) :] for c in cookies if c.startswith(prefix)), None)
    extractor = {
        "json": runtime.json_path,
        "header": runtime.header,
        "regex": runtime.regex,
        "location": runtime.location,
    }[extraction.source](extraction.path)
    return extractor(None, seen)


# Output


def table(report: Report) -> list[str]:
    """The per-request table and, for a failure, what differs and the rule that fixes it."""
    lines = [f"{'step':<22} {'request':<40} {'status':<18} {'ms live/rec':<12} checks"]
    step = None
    for row in report.rows:
        status = str(row.live.status_code if row.live else "not sent")
        if row.live and row.live.status_code != row.expect:
            status += f", recorded {row.expect}"
        latency = f"{row.live.ms:.0f}" if row.live else "-"
        if row.recorded is not None:
            latency += f" / {row.recorded.ms:.0f}"
        checks = [f"{var} found" for var in row.found] + [f"{var} MISSING" for var in row.missing]
        checks += row.shape + row.notes
        if row.problem and not row.missing:
            checks.append(row.problem)
        mark = "ok  " if row.ok else "FAIL"
        label = row.step if row.step != step else ""
        step = row.step
        lines.append(
            f"{label:<22} {row.method + ' ' + row.name:<40.40} {status:<18} {latency:<12} "
            f"{mark} {'; '.join(checks)}".rstrip()
        )
    if report.not_run:
        lines.append(f"not run: {', '.join(report.not_run)}")
    for finding in report.findings:
        live = "nothing" if finding.live is None else repr(_short(finding.live))
        lines.append(
            f"not correlated: {finding.var}: the recording sends {_short(finding.recorded)!r} "
            f"({finding.note}); live that response held {live}"
        )
    return lines


def _short(value: str) -> str:
    return value if len(value) <= 40 else f"{value[:37]}..."
