"""Correlation: values the server made that a later request sends back.

Two passes over the scenario, both linear in its size:
1. index every non-trivial value each request sends (path segments, query and form values,
   header values, JSON leaves, body tokens), keyed by the value itself;
2. walk the responses in order and look each of their values up in that index (JSON leaves,
   headers, Set-Cookie, Location parts, body tokens): a hit before a later request that sends
   the value is a correlation. The nearest preceding response is the source.
The request then sends a variable extracted from the live response instead of the recorded value.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache, partial
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from replay.convert.rules import NO_RULES, ExtractRule, Rules, RulesError
from replay.convert.scenario import (
    Call,
    Correlation,
    Extraction,
    Ref,
    Scenario,
    Text,
    substitute_all,
)
from replay.names import identifier, url_template

TOKEN = re.compile(r"[A-Za-z0-9_\-.~+/=%:]{5,}")
TOKEN_PARTS = re.compile(r"[/?&=:.%+~]")
TOKEN_PIECE = re.compile(r"[A-Za-z0-9_\-]{5,}")
"""A token's pieces between the separators TOKEN_PARTS splits on."""
AUTH_SCHEME = re.compile(r"^(Bearer|Token|JWT|Basic|Digest)\s+", re.IGNORECASE)
SOURCE_HEADERS_SKIPPED = frozenset(
    "date server content-type content-length content-encoding connection keep-alive vary "
    "cache-control expires last-modified etag age via accept-ranges transfer-encoding "
    "strict-transport-security content-security-policy access-control-allow-origin "
    "access-control-allow-headers access-control-allow-methods access-control-max-age "
    "report-to nel alt-svc x-content-type-options x-frame-options x-xss-protection "
    "referrer-policy permissions-policy cross-origin-opener-policy set-cookie".split()
)
DIGIT = re.compile(r"\d")
LETTER = re.compile(r"[^\W\d_]")
HOSTNAME = re.compile(r"([a-z0-9\-]+\.)+[a-z]{2,}(:\d+)?", re.IGNORECASE)
BROWSER_HEADERS = frozenset({"referer", "origin", "user-agent", "accept", "accept-language"})
"""Sent by the browser about itself and its page: never why a value counts as correlated."""
PAGE_HEADERS = frozenset({"referer", "origin"})
"""...but a correlated value in the page's URL is rewritten there too."""
SECONDARY = ""
GENERIC_KEYS = frozenset({"id", "uuid", "key", "value", "code", "token", "pk", "guid", "_id"})
BOUNDARIES = (6, 12, 24, 40, 64)
"""Lengths of left-boundary text tried, shortest first, when a value sits inside text."""


@dataclass(slots=True)
class Sink:
    call: int
    where: str
    primary: bool = True
    """False for Referer and Origin: substituted there, but never a reason to correlate."""


MakeExtraction = Callable[[], Extraction]
"""Builds the extraction (var left empty) only for values that turn out to be correlated."""


@dataclass(slots=True)
class Source:
    call: int
    make: MakeExtraction
    positional: bool = False
    """Read from a position in a JSON list: used only when no named source is as good."""
    from_rule: bool = False


@dataclass(slots=True)
class Candidate:
    value: str
    sinks: list[Sink] = field(default_factory=list)
    source: Source | None = None
    first_sent: int = -1


@lru_cache(maxsize=1 << 16)
def is_trivial(value: str) -> bool:
    """Booleans, small numbers, short codes and plain words are never correlated.
    (Cached: a token is sent with request after request.)"""
    if value.isdigit():
        return len(value) < 4 or len(set(value)) == 1
    if len(value) < 8 or "://" in value or HOSTNAME.fullmatch(value):
        return True
    has_digit = DIGIT.search(value) is not None
    has_alpha = LETTER.search(value) is not None
    if not has_alpha:
        return not has_digit or _looks_like_date_or_version(value)
    if not has_digit:
        # Long mixed-case opaque tokens happen; words, enums and dotted names do not count.
        return len(value) < 20 or value.islower() or value.isupper() or " " in value
    return _looks_like_date_or_version(value)


def _looks_like_date_or_version(value: str) -> bool:
    return bool(re.fullmatch(r"v?\d+([.\-/:T ]\d+)*Z?|\d{4}-\d\d-\d\d.*", value))


def correlate(scenario: Scenario, rules: Rules = NO_RULES) -> Scenario:
    """Extract every server-made value from its live response and send that back."""
    calls = list(scenario.calls)
    candidates = _index_sinks(calls, {rule.value for rule in rules.extract})
    if not candidates:
        return scenario
    _find_sources(calls, candidates)
    for rule in rules.extract:
        _apply_rule(rule, candidates.get(rule.value), calls)
    correlated = [
        c for c in candidates.values() if c.source is not None and any(s.primary for s in c.sinks)
    ]
    correlated.sort(key=lambda c: (c.source.call, c.first_sent))
    names = Names()
    step_of = {id(call): step for step in scenario.steps for call in step.calls}
    substitutions: dict[int, list[tuple[str, Ref]]] = {}
    for candidate in correlated:
        source = candidate.source
        made = source.make()
        var = made.var if source.from_rule else _var_name(made, calls[source.call])
        if not source.from_rule and (var in rules.ignore or candidate.value in rules.ignore):
            continue
        var = names.allocate(var, source.call, candidate.sinks[-1].call)
        extraction = Extraction(var, made.source, made.path, made.note)
        calls[source.call].extractions.append(extraction)
        ref = Ref(f"self.{var}")
        for sink in candidate.sinks:
            substitutions.setdefault(sink.call, []).append((candidate.value, ref))
        scenario.correlations.append(
            Correlation(
                var=var,
                source=f"{step_of[id(calls[source.call])].name}: {extraction.note}",
                sinks=_describe_sinks(candidate.sinks, calls, step_of),
            )
        )
    for index, pairs in substitutions.items():
        _substitute(calls[index], pairs)
    return scenario


# Pass 1: what requests send


def _index_sinks(calls: list[Call], wanted: set[str]) -> dict[str, Candidate]:
    """Every non-trivial value sent (and the values rules name, trivial or not)."""
    candidates: dict[str, Candidate] = {}
    for index, call in enumerate(calls):
        for value, where in _sent_values(call):
            if is_trivial(value) and value not in wanted:
                continue
            candidate = candidates.get(value)
            if candidate is None:
                if where == SECONDARY:
                    continue  # a page URL alone never makes a value worth correlating
                candidate = candidates[value] = Candidate(value, first_sent=index)
            if not candidate.sinks or candidate.sinks[-1].call != index:
                candidate.sinks.append(Sink(index, where, primary=where != SECONDARY))
            elif where != SECONDARY and not candidate.sinks[-1].primary:
                candidate.sinks[-1] = Sink(index, where)
    return candidates


def _sent_values(call: Call) -> Iterator[tuple[str, str]]:
    """Every value a request sends, decoded, with where it is sent."""
    if not isinstance(call.url, str):
        return
    parts = urlsplit(call.url)
    request = f"{call.method} {url_template(parts.path)}"
    for segment in parts.path.split("/"):
        if segment:
            yield unquote(segment), f"path segment of {request}"
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        yield value, f"query {name} of {request}"
        yield from ((t, f"query {name}") for t in _tokens(value) if t != value)
    for name, value in call.headers:
        if isinstance(value, str) and name.lower() not in BROWSER_HEADERS:
            bare = AUTH_SCHEME.sub("", value)
            yield bare, f"header {name}"
            yield from ((t, f"header {name}") for t in _tokens(bare) if t != bare)
        elif name.lower() in PAGE_HEADERS:
            literal = value.parts if isinstance(value, Text) else (value,)
            for part in literal:
                if isinstance(part, str):
                    yield from ((t, SECONDARY) for t in _tokens(part))
    body = call.body
    if body is None:
        return
    if body.kind == "json":
        for path, leaf in _json_leaves(body.value):
            yield leaf, f"JSON {path or '(body)'}"
    elif body.kind == "form":
        for name, value in body.fields:
            if isinstance(value, str):
                yield value, f"form field {name}"
    elif body.kind == "text" and isinstance(body.text, str):
        yield from ((t, "body") for t in _tokens(body.text))


def _tokens(text: str) -> Iterator[str]:
    for match in TOKEN.finditer(text):
        token = match.group()
        yield token
        if TOKEN_PARTS.search(token):
            yield from (p for p in TOKEN_PARTS.split(token) if p)
            decoded = unquote(token)
            if decoded != token:
                yield decoded


def _json_leaves(value, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _json_leaves(item, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value
    elif isinstance(value, int) and not isinstance(value, bool):
        yield path, str(value)


# Pass 2: what responses made


def _find_sources(calls: list[Call], candidates: dict[str, Candidate]) -> None:
    """For each value, the last response that carried it before a request first sent it;
    a named place (a key, a header) wins over a position in a list."""
    last_use = max(c.first_sent for c in candidates.values())
    for index, call in enumerate(calls[:last_use]):
        for value, make, positional in _made_values(call, candidates):
            candidate = candidates[value]
            if index >= candidate.first_sent:
                continue
            if positional and candidate.source and not candidate.source.positional:
                continue
            candidate.source = Source(index, make, positional)


def _apply_rule(rule: ExtractRule, candidate: Candidate | None, calls: list[Call]) -> None:
    """A rule's value comes from the last response before its first use that carries it."""
    if candidate is None:
        raise RulesError(f"correlation.extract {rule.var}: no request sends {rule.value!r}")
    needle = rule.value.encode()
    for index in range(candidate.first_sent - 1, -1, -1):
        response = calls[index].exchange.response if calls[index].exchange else None
        if response and (
            needle in response.body or any(rule.value in v for _, v in response.headers)
        ):
            note = f"{rule.source} {rule.path} (a rule) in {calls[index].method} response"
            extraction = Extraction(rule.var, rule.source, rule.path, note)
            candidate.source = Source(index, lambda e=extraction: e, from_rule=True)
            return
    raise RulesError(f"correlation.extract {rule.var}: no response before its use holds it")


def _made_values(call: Call, wanted: dict) -> Iterator[tuple[str, MakeExtraction, bool]]:
    """Every value of `wanted` a response carries, with how to read it from the live response."""
    exchange = call.exchange
    if exchange is None:
        return
    response = exchange.response
    what = f"{call.method} {url_template(urlsplit(exchange.request.url).path)}"
    for name, value in response.headers:
        lower = name.lower()
        if lower == "set-cookie":
            cookie = _cookie(value)
            if cookie and cookie[1] in wanted:
                note = f"cookie {cookie[0]} set by {what}"
                yield cookie[1], _extraction("cookie", cookie[0], note), False
        elif lower == "location":
            yield from _in_text(value, _kept(value), "location", f"Location of {what}", wanted)
        elif lower not in SOURCE_HEADERS_SKIPPED and value in wanted:
            yield value, _extraction("header", name, f"header {name} of {what}"), False
    body = response.body
    if not body:
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return
    if "json" in response.mime_type or text[:1] in "{[":
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):  # nested past json's limit: read as text
            document = None
        if document is not None:
            for path, leaf in _wanted_leaves(document, wanted):
                note = f"JSON {path} of {what}"
                yield leaf, _extraction("json", path, note), "[" in path
            return
    note = f"{_html_context(text)} of {what}"
    yield from _in_text(text, partial(body.decode, "utf-8"), "regex", note, wanted)


def _wanted_leaves(document, wanted: dict) -> Iterator[tuple[str, str]]:
    """(path, value) of the JSON leaves in `wanted`, in document order; a path is only spelled
    out for a hit. A stack of open containers, not recursion: a body may nest a thousand deep."""
    if not isinstance(document, dict | list):
        return
    stack = [(_items(document), document, "")]
    while stack:
        items, container, path = stack[-1]
        for key, item in items:
            if type(item) is str or type(item) is int:
                leaf = item if type(item) is str else str(item)
                if leaf in wanted:
                    yield _child(path, key, container), leaf
            elif isinstance(item, dict | list):
                stack.append((_items(item), item, _child(path, key, container)))
                break
        else:
            stack.pop()


def _items(container: dict | list) -> Iterator[tuple]:
    return iter(container.items()) if isinstance(container, dict) else enumerate(container)


def _child(path: str, key, container) -> str:
    if isinstance(container, list):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _in_text(
    text: str, reread: Callable[[], str], source: str, note: str, wanted: dict
) -> Iterator[tuple[str, MakeExtraction, bool]]:
    """Wanted values in free text, each with a regex that finds it again by the text on its
    left. Tokens are matched against `wanted` as sets, so a page costs two regex scans.
    `reread` gives the text again for that regex: a page's decoded text is not kept meanwhile
    (all of them would take as much memory again as the bodies)."""
    found = wanted.keys() & {*TOKEN.findall(text), *TOKEN_PIECE.findall(text)}
    for value in found:
        yield value, _regex_extraction(source, reread, text.find(value), value, note), False


def _kept(text: str) -> Callable[[], str]:
    return lambda: text


def _regex_extraction(
    source: str, reread: Callable[[], str], position: int, value: str, note: str
) -> MakeExtraction:
    def make() -> Extraction:
        text = reread()
        pattern = left_boundary_regex(text, position, value)
        description = _describe(text, position, note)
        return Extraction(_name_in_text(text, position, description), source, pattern, description)

    return make


def _name_in_text(text: str, position: int, description: str) -> str:
    """The name the text gives the value: an input's name, a JSON key, a query or path word."""
    match = re.search(r"(input|meta) ([\w\-]+)", description)
    if match:
        return identifier(match.group(2))
    left = text[max(0, position - 40) : position]
    key = re.search(r"([A-Za-z_][\w\-]*)[\"']?\s*([:=/])\s*[\"']?$", left)
    if not key:
        return ""
    if key.group(2) != "/":
        return identifier(key.group(1))
    # A path segment: /orders/8f3a → order_id, /products/burr-grinder → product_slug
    word = _singular(key.group(1))
    end = text[position:].split("/", 1)[0].split("?", 1)[0]
    kind = "slug" if re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", end) else "id"
    return identifier(f"{word}_{kind}")


def _extraction(source: str, path: str, note: str) -> MakeExtraction:
    return lambda: Extraction("", source, path, note)


def left_boundary_regex(text: str, position: int, value: str) -> str:
    """The shortest `left text + (value)` regex whose first match in `text` is this value."""
    group = _group_for(value)
    end = position + len(value)
    right = text[end : end + 1]
    named = _named_attribute_start(text, position)
    if named is not None:
        pattern = _loose_whitespace(re.escape(text[named:position])) + group
        match = re.search(pattern, text)
        if match and match.group(1) == value:
            return pattern
    for size in BOUNDARIES:
        left = text[max(0, position - size) : position]
        pattern = _loose_whitespace(re.escape(left)) + group
        match = re.search(pattern, text)
        if match and match.group(1) == value:
            return pattern
        if right:
            bounded = pattern.replace("+)", "+?)") + re.escape(right)
            match = re.search(bounded, text)
            if match and match.group(1) == value:
                return bounded
    return re.escape(text[max(0, position - BOUNDARIES[-1]) : position]) + group


def _named_attribute_start(text: str, position: int) -> int | None:
    """Inside an HTML tag that names the value (`name="csrf_token" value="..."`), where the
    name attribute starts: the boundary that survives a page redesign."""
    tag_start = text.rfind("<", max(0, position - 300), position)
    if tag_start < 0 or ">" in text[tag_start:position]:
        return None
    name = re.search(r"""\b(name|id|property)=["'][^"']+["'][^<>]*$""", text[tag_start:position])
    return tag_start + name.start() if name else None


def _group_for(value: str) -> str:
    """A capture group for values of this kind, not just this value: the next token may have
    a `-` where this one had none."""
    if value.isdigit():
        return r"(\d+)"
    if re.fullmatch(r"[0-9a-f]+", value) or re.fullmatch(r"[0-9A-F]+", value):
        return r"([0-9a-fA-F]+)"
    extra = "".join(sorted({c for c in value if not c.isalnum() and c not in "_-"}))
    return f"([\\w{re.escape(extra)}-]+)"


def _loose_whitespace(escaped: str) -> str:
    """Any run of whitespace matches any other; `-` needs no escape outside a class."""
    return re.sub(r"(\\\s)+|(\\ )+", r"\\s+", escaped).replace("\\-", "-")


HTML_INPUT = re.compile(r"""name=["']([^"']+)["'][^>]*$""")


def _describe(text: str, position: int, note: str) -> str:
    """'hidden input csrf_token in GET /login' rather than just 'body of GET /login'."""
    tag_start = text.rfind("<", 0, position)
    tag = text[tag_start:position] if tag_start >= 0 and ">" not in text[tag_start:position] else ""
    if tag.startswith("<input"):
        name = HTML_INPUT.search(tag) or re.search(r"""name=["']([^"']+)""", tag)
        label = f"input {name.group(1)}" if name else "an input"
        return f"{'hidden ' if 'hidden' in tag else ''}{label} in {note}"
    if tag.startswith("<meta"):
        name = re.search(r"""name=["']([^"']+)""", tag)
        return f"meta {name.group(1) if name else 'tag'} in {note}"
    return note


def _html_context(text: str) -> str:
    return "HTML" if "<html" in text[:2000].lower() else "body"


def _cookie(set_cookie: str) -> tuple[str, str] | None:
    try:
        jar = SimpleCookie()
        jar.load(set_cookie.split(";", 1)[0])
    except Exception:  # noqa: BLE001 (a malformed Set-Cookie is just not a source)
        return None
    for morsel in jar.values():
        return morsel.key, morsel.value
    return None


def _describe_sinks(sinks: list[Sink], calls: list[Call], step_of: dict) -> tuple[str, ...]:
    """'post_api_orders: header Authorization (3 requests)', once per step and place."""
    counts: dict[str, int] = {}
    for sink in sinks:
        if sink.primary:
            key = f"{step_of[id(calls[sink.call])].name}: {sink.where}"
            counts[key] = counts.get(key, 0) + 1
    return tuple(key if n == 1 else f"{key} ({n} requests)" for key, n in counts.items())


# Naming and substitution


def _var_name(extraction: Extraction, call: Call) -> str:
    """A name that says what the value is: `order_id`, `csrf_token`, `authorization`."""
    if extraction.source == "json":
        keys = [k for k in re.split(r"[.\[\]]+", extraction.path) if k and not k.isdigit()]
        last, owner = (keys[-1] if keys else ""), (keys[-2] if len(keys) > 1 else "")
    elif extraction.source in ("header", "cookie"):
        last, owner = extraction.path, ""
    else:
        last, owner = extraction.var, ""
    if not last or last.lower() in GENERIC_KEYS or last.lower() == _resource(call):
        owner = _singular(owner) if owner else _resource(call)
        return identifier(f"{owner}_{last or 'id'}")
    return identifier(last)


def _resource(call: Call) -> str:
    path = call.url if isinstance(call.url, str) else ""
    words = [w for w in urlsplit(path).path.split("/") if w and url_template(w) == w]
    return identifier(_singular(words[-1]) if words else "value")


def _singular(word: str) -> str:
    """`orders` → `order`, `items` → `item`: enough English for variable names."""
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


class Names:
    """Variable names as a person would pick them: `csrf_token` again for the next page's
    token once the last one is no longer sent, `item_id_2` only while two ids are in use."""

    def __init__(self) -> None:
        self.busy_until: dict[str, int] = {}
        # Per base name: its numbers in use as (last call, n), those free again, the next new
        # one. Names are allocated in call order, so a number once free stays free until taken:
        # thousands of ids of one base are named in n log n steps, not by counting up each time.
        self.busy: dict[str, list[tuple[int, int]]] = {}
        self.free: dict[str, list[int]] = {}
        self.fresh: dict[str, int] = {}

    def allocate(self, base: str, first_call: int, last_call: int) -> str:
        busy, free = self.busy.setdefault(base, []), self.free.setdefault(base, [])
        while busy and busy[0][0] <= first_call:
            heapq.heappush(free, heapq.heappop(busy)[1])
        skipped = []
        while True:
            if free:
                n = heapq.heappop(free)
            else:
                n = self.fresh[base] = self.fresh.get(base, 0) + 1
            name = base if n == 1 else f"{base}_{n}"
            if name not in RESERVED and self.busy_until.get(name, -1) <= first_call:
                break
            skipped.append(n)  # reserved, or another base's name in use: maybe free later
        for number in skipped:
            heapq.heappush(free, number)
        heapq.heappush(busy, (last_call, n))
        self.busy_until[name] = last_call
        return name


RESERVED = frozenset(
    "client user host step tasks parent weight fake unique locale credentials default_headers "
    "recorded_host".split()
)
"""Attributes RecordedSession already has."""


def _substitute(call: Call, pairs: list[tuple[str, Ref]]) -> None:
    """Each value, as sent or percent-encoded, becomes its variable: all in one pass over each
    string, so a request sending thousands of correlated values costs no more per value."""
    refs = {quote(v, safe=""): Ref(r.expr, "url") for v, r in pairs}
    refs.update(pairs)
    call.substitute(substitute_all(refs))
    if isinstance(call.url, Text):
        call.name = _template_name(call.url)


def _template_name(url: Text) -> str:
    """`/orders/[order_id]` for a URL whose path holds correlated values."""
    rendered = "".join(
        p if isinstance(p, str) else f"[{p.expr.removeprefix('self.')}]" for p in url.parts
    )
    return url_template(urlsplit(rendered).path)
