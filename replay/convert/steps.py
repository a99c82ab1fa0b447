"""Kept exchanges → a Scenario of steps: one step per user action, with its think time.

A step starts at a page change, a navigation or an idle gap; a redirect hop stays in the
step that caused it. Headers the browser or the HTTP client manages are dropped here;
`If-Match` stays for correlation (an ETag sent back), which drops it when it cannot be
read live.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urljoin, urlsplit

from recorder.model import Exchange, Recording, split_url
from recorder.sensitive import has_shape, secret_header
from replay.convert.filters import Filtered, is_document
from replay.convert.scenario import Body, Call, Ref, Scenario, Step, Value, substitute_text
from replay.convert.titles import step_title
from replay.names import identifier, url_template

MANAGED_HEADERS = frozenset(
    "cookie content-length host connection keep-alive proxy-connection proxy-authorization te "
    "trailer transfer-encoding upgrade accept-encoding priority upgrade-insecure-requests "
    "if-none-match if-modified-since cache-control pragma dnt "
    "purpose x-requested-with-sec".split()
)
MANAGED_PREFIXES = (":", "sec-fetch-", "sec-ch-", "sec-gpc", "sec-purpose", "x-devtools")
JSON_DEPTH = 32
"""A JSON body nested deeper is sent as its recorded text: as a Python literal it would be
unreadable, and past 200 levels not even valid Python."""
IDLE_GAP = 1.0
"""Seconds without a request after which the user is taken to have done something new."""
VERBS = {"GET": "view", "POST": "post", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
HOST_REF = Ref("self.host")


@dataclass(frozen=True, slots=True)
class StepOptions:
    name: str = "Recording"
    idle_gap: float = IDLE_GAP


def build_scenario(
    recording: Recording, filtered: Filtered, options: StepOptions = StepOptions()
) -> Scenario:
    """Group the kept exchanges into steps and turn each exchange into a Call."""
    steps = [_step(group, filtered.target) for group in _group(filtered.kept, options.idle_gap)]
    _name_steps(steps)
    _set_think_times(steps)
    scenario = Scenario(
        name=options.name,
        host=filtered.target,
        source=recording.source,
        recorded=_date(filtered.kept),
        steps=steps,
        entries=len(recording.exchanges) + sum(recording.skipped.values()),
        dropped={**recording.skipped, **filtered.dropped},
    )
    _hoist_default_headers(scenario)
    scenario.locale = _locale(filtered.kept)
    return scenario


def _locale(exchanges: list[Exchange]) -> str:
    """Faker locale from the browser's first Accept-Language (`de-DE,de;q=0.9` → `de_DE`)."""
    for exchange in exchanges:
        language = exchange.request.header("accept-language")
        if language:
            first = language.split(",")[0].split(";")[0].strip()
            if re.fullmatch(r"[a-z]{2}[-_][A-Za-z]{2}", first):
                return f"{first[:2]}_{first[3:].upper()}"
            if re.fullmatch(r"[a-z]{2}", first):
                return {"en": "en_US", "sv": "sv_SE", "de": "de_DE", "fr": "fr_FR"}.get(
                    first, first
                )
    return "en_US"


def _group(exchanges: list[Exchange], idle_gap: float) -> list[list[Exchange]]:
    groups: list[list[Exchange]] = []
    redirect_target = ""
    last_end = 0.0
    for exchange in exchanges:
        new_step = not groups or (
            exchange.request.url != redirect_target
            and (
                exchange.page_id != groups[-1][-1].page_id
                or is_document(exchange)
                or exchange.started - last_end > idle_gap
            )
        )
        if new_step:
            groups.append([exchange])
        else:
            groups[-1].append(exchange)
        last_end = max(last_end, exchange.started + exchange.duration_ms / 1000)
        location = exchange.response.header("location")
        redirect_target = urljoin(exchange.request.url, location) if location else ""
    return groups


def _step(exchanges: list[Exchange], target: str) -> Step:
    first = exchanges[0]
    path = first.request.path or "/"
    return Step(
        name=step_name(first.request.method, path),
        title=step_title(exchanges),
        calls=[to_call(exchange, target) for exchange in exchanges],
    )


def step_name(method: str, path: str) -> str:
    words = [w for w in path.split("/") if w and url_template(w) == w][-2:]
    return identifier("_".join([VERBS.get(method, method.lower()), *(words or ["home"])]))


def _name_steps(steps: list[Step]) -> None:
    seen: dict[str, int] = {}
    for step in steps:
        count = seen[step.name] = seen.get(step.name, 0) + 1
        if count > 1:
            step.name = f"{step.name}_{count}"


def _set_think_times(steps: list[Step]) -> None:
    for step, following in zip(steps, steps[1:], strict=False):
        end = max(c.exchange.started + c.exchange.duration_ms / 1000 for c in step.calls)
        step.think = round(max(following.calls[0].exchange.started - end, 0.0), 1)


def to_call(exchange: Exchange, target: str) -> Call:
    """One exchange as the request to send: relative URL, kept headers, decoded body."""
    request, response = exchange.request, exchange.response
    url, path = request.url, request.path
    if url.startswith(target + "/") or url == target:
        url = url[len(target) :] or "/"
        if url.startswith("//") or not path:  # else the relative URL's path is the same
            path = split_url(url)[2]
    template = url_template(path)
    location = response.header("location")
    if location and location.startswith(target):
        location = location[len(target) :] or "/"
    if location:  # the check is on the path; queries and fragments carry tokens
        location = _template(re.split(r"[?#]", location, maxsplit=1)[0])
    return Call(
        method=request.method,
        url=url,
        headers=[kept for name, value in request.headers if (kept := _header(name, value, target))],
        body=_body(exchange),
        expect=200 if response.status == 304 else response.status,
        name=template if template != path or "?" in url or "://" in url else None,
        location=location if 300 <= response.status < 400 and location else None,
        returns=_returns(exchange),
        exchange=exchange,
    )


def _returns(exchange: Exchange) -> str | None:
    """A JSON body is checked for at run time, and a list that had items for items: an error
    page or an empty list with status 200 is a failure, not a green request."""
    response = exchange.response
    if not 200 <= response.status < 300 or not response.body.strip():
        return None
    if "json" not in (response.header("content-type") or response.mime_type or "").lower():
        return None
    body = response.body.lstrip()
    return "items" if body[:1] == b"[" and body[1:].lstrip()[:1] != b"]" else "json"


def _template(location: str) -> str:
    """A redirect target as its check reads it: ids are `[id]`, never the recorded value."""
    parts = urlsplit(location)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    return origin + url_template(parts.path)


@functools.lru_cache(maxsize=4096)
def _header(name: str, value: str, target: str) -> tuple[str, Value] | None:
    """A recorded request header as the call sends it, or None when the client manages it.
    Remembered: most requests of a capture send the same few headers."""
    if _managed(name):
        return None
    return name, substitute_text(value, target, HOST_REF)


def _managed(name: str) -> bool:
    name = name.lower()
    return name in MANAGED_HEADERS or name.startswith(MANAGED_PREFIXES)


def _body(exchange: Exchange) -> Body | None:
    request = exchange.request
    if not request.body:
        return None
    mime = (request.mime_type or request.header("content-type") or "").lower()
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return Body("bytes", raw=request.body)
    if "json" in mime:
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):  # nested past json's limit: sent as recorded
            value = None
        if value is not None and _depth(value) <= JSON_DEPTH:
            return Body("json", value=value)
    if "x-www-form-urlencoded" in mime and _is_form(text):
        return Body("form", fields=list(_form_fields(text)))
    return Body("text", text=text)


def _form_fields(text: str) -> list[tuple[str, str]]:
    """`parse_qsl(text, keep_blank_values=True)`: a form holding neither `%` nor `+` has
    nothing to decode, so its pairs are split in C (a form may have thousands)."""
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True)
    return [(name, value) for name, _, value in (p.partition("=") for p in text.split("&") if p)]


def _depth(value) -> int:
    """How deeply JSON containers nest, walked with a stack: a body may nest thousands deep."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, depth)
        stack += ((child, depth + 1) for child in value)
    return deepest


def _is_form(text: str) -> bool:
    """Re-encoding the parsed fields must give the same bytes back, or we keep the text."""
    return bool(re.fullmatch(r"[^&=]+=[^&]*(&[^&=]+=[^&]*)*", text))


def _hoist_default_headers(scenario: Scenario) -> None:
    """Headers every request sends alike become the user's defaults, written once; a secret
    (an API key) stays with the requests, where it becomes a credential."""
    calls = list(scenario.calls)
    if len(calls) < 2:
        return
    common = {
        (k.lower(), v)
        for k, v in calls[0].headers
        if isinstance(v, str) and not secret_header(k) and not has_shape(v)
    }
    for call in calls[1:]:
        if not common:
            return
        common &= {(k.lower(), v) for k, v in call.headers if isinstance(v, str)}
    if not common:
        return
    scenario.default_headers = [
        (k, v) for k, v in calls[0].headers if isinstance(v, str) and (k.lower(), v) in common
    ]
    for call in calls:
        call.headers = [
            h
            for h in call.headers
            if not isinstance(h[1], str) or (h[0].lower(), h[1]) not in common
        ]


def _date(exchanges: list[Exchange]) -> str:
    started = next((e.started for e in exchanges if e.started), 0.0)
    return datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d") if started else ""
