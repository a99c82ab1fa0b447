"""The one shape every capture source produces: a Recording of HTTP exchanges.

HAR files, the mitmproxy addon's capture stream and mitmproxy flow files all become a
`Recording`; everything downstream (filters, correlation, code generation) reads only this.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlsplit

from recorder.sensitive import REDACTED_TOKEN as REDACTED_TOKEN  # re-exported for readers
from recorder.sensitive import USERINFO
from recorder.sensitive import redaction_digest as redaction_digest

Headers = tuple[tuple[str, str], ...]
"""Headers in wire order with their original case; names may repeat."""


def header(headers: Headers, name: str) -> str | None:
    """The first value of header `name` (case-insensitive), or None."""
    name = name.lower()
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


PLAIN_URL = re.compile(
    r"(?:[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9.-]+)(?::([0-9]*))?|(?!//))(/[^?#\t\n\r]*)?"
)
"""An http(s) URL of a host name or IPv4 address, or a path, up to its query: nearly every
recorded URL."""


def split_url(url: str) -> tuple[str, int | None, str]:
    """`url`'s host name in lower case, port and path, as urlsplit gives them, and the port
    -1 when it is invalid (a URL urlsplit cannot split has no host). A plain URL is split by
    one regex: urlsplit takes several times as long."""
    plain = _plain(url)
    if plain:
        port = int(plain[2]) if plain[2] else None
        host = plain[1].lower() if plain[1] else ""
        return host, port if port is None or port <= 65535 else -1, plain[3] or ""
    return split_by_urlsplit(url)


def _plain(url: str) -> re.Match[str] | None:
    """PLAIN_URL's match when it takes `url` up to its query or fragment."""
    plain = PLAIN_URL.match(url)
    return plain if plain and (plain.end() == len(url) or url[plain.end()] in "?#") else None


def split_by_urlsplit(url: str) -> tuple[str, int | None, str]:
    """`split_url` for any URL, by urlsplit: the reference its fast path is held to."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "", None, ""
    try:
        port = parts.port
    except ValueError:
        port = -1
    return parts.hostname or "", port, parts.path


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    url: str
    http_version: str = "HTTP/1.1"
    headers: Headers = ()
    body: bytes = b""
    mime_type: str = ""
    declared_size: int = 0
    """Body size the source claims; more than len(body) means the source lost the body."""
    host: str = field(init=False, repr=False, compare=False)
    """The URL's host name in lower case ("" when it has none): worked out once, as every
    stage asks for it, and one string for all the requests to a host."""
    _path_start: int = field(init=False, repr=False, compare=False)
    _path_end: int = field(init=False, repr=False, compare=False)
    """Where the path is in a plain URL (a start of -1 for any other): the URL is split once,
    and the path cut out when asked. A string for every request would add to the peak
    memory; two numbers do not (most are small ints Python holds once)."""

    def __post_init__(self) -> None:
        # URL credentials (`http://user:pass@host`) never enter a Recording: from the URL they
        # would reach the target origin, the module's docstring and the summary.
        if "@" in self.url:
            object.__setattr__(self, "url", USERINFO.sub("", self.url, count=1))
        # Nor does a fragment: a browser never sends one (an OAuth callback's
        # `#access_token=...`), so a replay must not either.
        if "#" in self.url:
            object.__setattr__(self, "url", self.url.partition("#")[0])
        plain = _plain(self.url)
        if plain:
            host = plain[1].lower() if plain[1] else ""
            start, end = plain.span(3) if plain[3] else (0, 0)
        else:
            host, start, end = split_by_urlsplit(self.url)[0], -1, -1
        object.__setattr__(self, "host", sys.intern(host))
        object.__setattr__(self, "_path_start", start)
        object.__setattr__(self, "_path_end", end)

    @property
    def path(self) -> str:
        """The URL's path, as urlsplit gives it."""
        if self._path_start < 0:
            return split_url(self.url)[2]
        return self.url[self._path_start : self._path_end]

    def header(self, name: str) -> str | None:
        return header(self.headers, name)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str = ""
    http_version: str = "HTTP/1.1"
    headers: Headers = ()
    body: bytes = b""
    mime_type: str = ""

    def header(self, name: str) -> str | None:
        return header(self.headers, name)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its response, as the browser saw them."""

    request: Request
    response: Response
    started: float
    """Seconds since the epoch."""
    duration_ms: float = 0.0
    page_id: str = ""
    resource_type: str = ""
    """Chrome's `_resourceType` where the source has it (document, xhr, fetch, script...)."""
    error: str = ""
    """Why the exchange failed (aborted, connection error) if it did."""
    client: str = ""
    """The client's address where the source has it (a proxy capture, an access log)."""


LATEST = datetime(9000, 1, 1).timestamp()
"""Timestamps outside [epoch, LATEST] are an exporter's garbage: read as unknown."""


def start_time(seconds: float, unknown: float) -> float:
    """A recorded start in seconds since the epoch, or `unknown` when no clock could have
    given it (missing, negative, infinite, NaN, past the year 9000)."""
    return seconds if 0 < seconds <= LATEST else unknown


def sort_by_start(exchanges: list[Exchange]) -> None:
    """In the order they started. A reader gives an exchange whose start is unknown the
    start of the one before it in the file (0 at the head), so it keeps its place and adds no
    think time; here those at the head take the first known start. (Read as 1970 and sorted
    first, an entry without a `startedDateTime` made the next step wait 56 years.)"""
    head = next((i for i, x in enumerate(exchanges) if x.started), 0)
    for i in range(head):
        exchanges[i] = replace(exchanges[i], started=exchanges[head].started)
    exchanges.sort(key=lambda x: x.started)


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    title: str
    started: float


@dataclass(slots=True)
class Recording:
    """Exchanges in the order they started, with the pages they belong to."""

    source: str
    creator: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    """Entries the importer could not turn into HTTP exchanges, counted by reason."""
    warnings: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


class CaptureError(Exception):
    """A capture file that cannot be read; the message is one line for the user."""
