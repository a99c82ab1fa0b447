"""Many users' traffic → sessions: whose request each one is, and where a visit ends.

A request belongs to the session that issued or last sent one of its tokens (a session cookie,
an `Authorization` token, a token a JSON response handed out); a request with no known token
goes to the last session of its client (address and User-Agent). A session that has been idle
longer than the gap is over: the next request starts a new one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from recorder.model import REDACTED_TOKEN, Exchange, Response, redaction_digest

IDLE_GAP = 30 * 60.0
"""Seconds of silence that end a visit (the usual web-analytics definition)."""
TOKEN = re.compile(r"[A-Za-z0-9._~+/=:-]{16,}")
"""A value long and unguessable enough to name one visitor; shorter cookie values (a language,
a consent flag) are shared by many."""
JSON_BODY_LIMIT = 64 * 1024
"""Larger JSON responses are lists and documents, not login answers: not searched for tokens."""


@dataclass(slots=True)
class Session:
    client: str
    exchanges: list[Exchange] = field(default_factory=list)
    last: float = 0.0
    """When its latest response ended (seconds since the epoch)."""
    identified: bool = False
    """Whether a token names it: then a request with an unknown token is someone else."""

    @property
    def started(self) -> float:
        return self.exchanges[0].started

    @property
    def duration(self) -> float:
        return self.last - self.started


def split_sessions(exchanges: Iterable[Exchange], idle_gap: float = IDLE_GAP) -> list[Session]:
    """Sessions in the order they started; `exchanges` in the order they started."""
    sessions: list[Session] = []
    by_token: dict[str, Session] = {}
    by_client: dict[str, Session] = {}
    for exchange in exchanges:
        tokens = sent_tokens(exchange)
        client = client_key(exchange)
        session = next((by_token[t] for t in tokens if t in by_token), None)
        if session is None:
            latest = by_client.get(client)
            if latest is not None and not (tokens and latest.identified):
                session = latest
        if session is None or exchange.started - session.last > idle_gap:
            session = Session(client)
            sessions.append(session)
        session.exchanges.append(exchange)
        session.last = max(session.last, exchange.started + exchange.duration_ms / 1000)
        issued = issued_tokens(exchange)
        for token in (*tokens, *issued):
            by_token[token] = session
        session.identified |= bool(tokens or issued)
        by_client[client] = session
    return sessions


def client_key(exchange: Exchange) -> str:
    """The client's address (the first X-Forwarded-For hop behind a balancer) and browser."""
    request = exchange.request
    forwarded = (request.header("x-forwarded-for") or "").split(",")[0].strip()
    return f"{forwarded or exchange.client} {request.header('user-agent') or ''}"


def sent_tokens(exchange: Exchange) -> tuple[str, ...]:
    """Cookie values and the Authorization token of the request that can name a visitor."""
    request = exchange.request
    values = [v.partition("=")[2].strip() for v in (request.header("cookie") or "").split(";")]
    authorization = request.header("authorization")
    if authorization:
        values.append(authorization.rpartition(" ")[2])
    return tuple(v for v in values if TOKEN.fullmatch(v))


def issued_tokens(exchange: Exchange) -> tuple[str, ...]:
    """Tokens the response gave this visitor: Set-Cookie values, and token-like JSON strings
    (a login's bearer token), also as the recorder writes them redacted."""
    response = exchange.response
    values = [
        value.split(";", 1)[0].partition("=")[2].strip()
        for name, value in response.headers
        if name.lower() == "set-cookie"
    ]
    if reads_body(response):
        values += _json_strings(response.body)
    tokens = [v for v in values if TOKEN.fullmatch(v)]
    return (*tokens, *(f"REDACTED-{redaction_digest(t)}" for t in tokens if not _redacted(t)))


def reads_body(response: Response) -> bool:
    """Whether the body may name a visitor: what a capture read for sessions must keep."""
    return "json" in response.mime_type and len(response.body) <= JSON_BODY_LIMIT


def _redacted(value: str) -> bool:
    return bool(REDACTED_TOKEN.fullmatch(value))


def _json_strings(body: bytes) -> list[str]:
    try:
        document = json.loads(body)
    except ValueError:
        return []
    found, stack = [], [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack += value.values()
        elif isinstance(value, list):
            stack += value
        elif isinstance(value, str):
            found.append(value)
    return found
