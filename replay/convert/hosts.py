"""Absolute URLs of the recording's own hosts, inside requests, follow the run's host mapping.

Requests carry such URLs as data: an OAuth `redirect_uri`, a `return_to` field, a `next` page
in a query, a Referer. Replayed as recorded, they would send the target back to the host the
recording was made on. So the target's origin becomes `self.host` (what --host says), and each
other recorded host's origin a value the session works out once,
`self.api_host = self.live_origin("https://api.example.com")`: where --map-host sends that
host, or the recorded origin unchanged when it is not mapped (named in data, never contacted).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import cast
from urllib.parse import quote, urlsplit

from replay.convert.correlate import RESERVED
from replay.convert.scenario import Parameter, Ref, Scenario, Text, Value, substitute_value
from replay.convert.steps import HOST_REF
from replay.names import identifier

NOT_HOST = r"(?![A-Za-z0-9.:@_-]|%3[aA])"
"""After an origin: anything that cannot continue its host name or port."""


class Origin:
    """Finds one recorded origin in a string, as is or percent-encoded (then the live origin is
    encoded too), and remembers whether it found any."""

    def __init__(self, origin: str, ref: Ref):
        self.origin, self.ref, self.used = origin, ref, False
        plain, encoded = re.escape(origin), re.escape(quote(origin, safe=""))
        self.pattern = re.compile(f"({plain}){NOT_HOST}|({encoded}){NOT_HOST}")
        self.encoded = Ref(ref.expr, "url")

    def __call__(self, text: str) -> Value:
        parts: list[str | Ref] = []
        position = 0
        for match in self.pattern.finditer(text):
            parts += [text[position : match.start()], self.ref if match[1] else self.encoded]
            position = match.end()
        if not parts:
            return text
        self.used = True
        parts.append(text[position:])
        return Text(tuple(p for p in parts if p != ""))


def map_origins(scenario: Scenario) -> Scenario:
    """Every recorded first-party origin in bodies, queries and headers, as its live origin."""
    origins = _origins(scenario)
    others = [o for o in origins if o.ref != HOST_REF]  # headers have the target's already

    def find(text: str) -> Value:
        value: Value = text
        for origin in origins:
            value = substitute_value(value, origin)
        return value

    for call in scenario.calls:
        call.url = _in_query(call.url, find)
        call.substitute_body(find)
        for origin in others:
            call.headers = [(k, substitute_value(v, origin)) for k, v in call.headers]
    scenario.parameters += [
        Parameter(
            o.ref.expr.removeprefix("self."),
            f'self.live_origin("{o.origin}")',
            comment="",
            kind="origin",
        )
        for o in others
        if o.used
    ]
    return scenario


def _origins(scenario: Scenario) -> list[Origin]:
    """The target's origin, then every other host the recording sends requests to."""
    taken = set(RESERVED) | {p.var for p in scenario.parameters}
    taken |= {e.var for call in scenario.calls for e in call.extractions}
    origins = [Origin(scenario.host, HOST_REF)] if scenario.host else []
    for call in scenario.calls:
        if not isinstance(call.url, str) or "://" not in call.url:
            continue
        parts = urlsplit(call.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if all(o.origin != origin for o in origins):
            name = _name(parts.hostname or "", taken)
            taken.add(name)
            origins.append(Origin(origin, Ref(f"self.{name}")))
    return origins


def _name(hostname: str, taken: set[str]) -> str:
    """`api_host` for api.example.com, `host_10_0_0_5` for an IP address."""
    try:
        ipaddress.ip_address(hostname)
        base = identifier(f"host_{hostname}")
    except ValueError:
        base = identifier(f"{hostname.split('.')[0]}_host")
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def _in_query(url: Value, find: Callable[[str], Value]) -> Value:
    """Only the query of a request's own URL: its origin is routed at run time, not rewritten."""
    parts = (url,) if isinstance(url, str) else url.parts
    for i, part in enumerate(parts):
        if isinstance(part, str) and "?" in part:
            path, query = part.split("?", 1)
            rest = Text((query, *parts[i + 1 :]))
            replaced = cast(Text, substitute_value(rest, find))  # a Text stays a Text
            if replaced == rest:
                return url
            return Text(tuple(p for p in (*parts[:i], f"{path}?", *replaced.parts) if p != ""))
    return url
