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
from replay.convert.literals import literal
from replay.convert.scenario import (
    Parameter,
    Ref,
    Scenario,
    Text,
    Value,
    substitute_all,
    substitute_value,
)
from replay.convert.steps import HOST_REF
from replay.names import identifier

NOT_HOST = r"(?![A-Za-z0-9.:@_-]|%3[aA])"
"""After an origin: anything that cannot continue its host name or port."""


def map_origins(scenario: Scenario) -> Scenario:
    """Every recorded first-party origin in bodies, queries and headers, as its live origin."""
    origins = _origins(scenario)
    if not origins:
        return scenario
    others = {o: ref for o, ref in origins.items() if ref != HOST_REF}
    used: set[str] = set()  # the refs of the origins found somewhere

    def finder(refs: dict[str, Ref]) -> Callable[[str], Value]:
        """All of these origins, as is or percent-encoded (then the live one is encoded too),
        in one pass: thousands of subdomains cost no more per string than one."""
        encoded = {
            quote(o, safe="", errors="surrogatepass"): Ref(ref.expr, "url")
            for o, ref in refs.items()
        }
        replace = substitute_origins({**encoded, **refs})

        def find(text: str) -> Value:
            if "://" not in text and "%3A%2F%2F" not in text:  # no origin: most values
                return text
            value = replace(text)
            if isinstance(value, Text):
                used.update(ref.expr for ref in value.refs)
            return value

        return find

    find, in_header = finder(origins), finder(others)  # headers have the target's already
    for call in scenario.calls:
        call.url = _in_query(call.url, find)
        call.substitute_body(find)
        if others:
            call.headers = [(k, substitute_value(v, in_header)) for k, v in call.headers]
    scenario.parameters += [
        Parameter(
            ref.expr.removeprefix("self."),
            f"self.live_origin({literal(origin)})",
            comment="",
            kind="origin",
        )
        for origin, ref in others.items()
        if ref.expr in used
    ]
    return scenario


SEPARATOR = re.compile(r"://|%3A%2F%2F")
HOST_RUN = {
    len("://"): re.compile(r"[A-Za-z0-9.:@_-]*"),
    len("%3A%2F%2F"): re.compile(r"(?:[A-Za-z0-9.:@_-]|%3[aA])*"),
}
"""What NOT_HOST does not stop, after each separator."""
PLAIN_ORIGIN = re.compile(
    r"([A-Za-z][A-Za-z0-9.-]*)(?:://[A-Za-z0-9._-]+(?::[0-9]+)?|%3A%2F%2F[A-Za-z0-9._-]+(?:%3A[0-9]+)?)"
)
"""An origin (as is or percent-encoded) of a host name or IPv4 address and a port."""


def substitute_origins(refs: dict[str, Ref]) -> Callable[[str], Value]:
    """What `substitute_all(refs, NOT_HOST)` does for origins, without its regex, which takes
    seconds to compile for thousands of subdomains. An origin followed by NOT_HOST ends where
    the host characters after its `://` end: each `://` of a text is looked up in `refs` once
    per scheme. Origins of other characters (an IPv6 address) take the regex."""
    plain = [PLAIN_ORIGIN.fullmatch(key) for key in refs]
    if not all(plain):
        return substitute_all(refs, NOT_HOST)
    schemes = sorted({match[1] for match in plain if match}, key=len, reverse=True)

    def find(text: str) -> Value:
        parts: list[str | Ref] = []
        position = 0
        for separator in SEPARATOR.finditer(text):
            start, end = separator.span()
            end = HOST_RUN[end - start].match(text, end).end()  # type: ignore[union-attr]
            if text.startswith(("%3A", "%3a"), end):  # a port follows: not this origin
                continue
            for scheme in schemes:  # the leftmost first
                begin = start - len(scheme)
                ref = refs.get(text[begin:end]) if begin >= position else None
                if ref is not None:
                    parts += [text[position:begin], ref]
                    position = end
                    break
        if not parts:
            return text
        parts.append(text[position:])
        return Text(tuple(p for p in parts if p != ""))

    return find


def _origins(scenario: Scenario) -> dict[str, Ref]:
    """The target's origin, then every other host the recording sends requests to."""
    taken = set(RESERVED) | {p.var for p in scenario.parameters}
    taken |= {e.var for call in scenario.calls for e in call.extractions}
    origins = {scenario.host: HOST_REF} if scenario.host else {}
    last: dict[str, int] = {}
    for call in scenario.calls:
        if not isinstance(call.url, str) or "://" not in call.url:
            continue
        parts = urlsplit(call.url)
        origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # never user:password@
        if origin not in origins:
            origins[origin] = Ref(f"self.{_name(parts.hostname or '', taken, last)}")
    return origins


def _name(hostname: str, taken: set[str], last: dict[str, int]) -> str:
    """`api_host` for api.example.com, `host_10_0_0_5` for an IP address."""
    try:
        ipaddress.ip_address(hostname)
        return identifier(f"host_{hostname}", taken=taken, last=last)
    except ValueError:
        return identifier(f"{hostname.split('.')[0]}_host", taken=taken, last=last)


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
