"""Correlation: values the server made that a later request sends back.

Two passes over the scenario, both linear in its size:
1. index every non-trivial value each request sends (path segments, query and form values,
   header values, JSON leaves, body tokens), keyed by the value itself;
2. walk the responses in order and look each of their values up in that index (JSON leaves,
   headers, Set-Cookie, Location parts, body tokens): a hit before a later request that sends
   the value is a correlation. The nearest preceding response is the source.
The request then sends a variable extracted from the live response instead of the recorded value.

Whether a value is worth correlating is decided by its shape or by its context: a small integer
or a plain word is server-made only where both ends say so (sent in an id position: a path
segment, an `id`/`pk`/`*_id` field, `If-Match`; made in one: a redirect's path, a JSON `id`
key or the `name` a create response picked, an HTML link or `value=` attribute); `?page=1`
is never one.
"""

from __future__ import annotations

import heapq
import json
import re
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from recorder.model import split_url
from recorder.sensitive import ZEROED
from replay.convert.parameters import multipart_fields
from replay.convert.rules import NO_RULES, ExtractRule, Rules, RulesError
from replay.convert.scenario import (
    Call,
    Correlation,
    Extraction,
    Json,
    Ref,
    Scenario,
    Text,
    Value,
    substitute_all,
    substitute_text,
    substitute_value,
)
from replay.names import identifier, url_template

TOKEN = re.compile(r"[A-Za-z0-9_\-.~+/=%:|]{5,}")
TOKEN_PARTS = re.compile(r"[/?&=:.%+~|]")
TOKEN_PIECE = re.compile(r"[A-Za-z0-9_\-]{5,}")
"""A token's pieces between the separators TOKEN_PARTS splits on."""
AUTH_SCHEME = re.compile(r"^(Bearer|Token|JWT|Basic|Digest)\s+", re.IGNORECASE)
SOURCE_HEADERS_SKIPPED = frozenset(
    "date server content-type content-length content-encoding connection keep-alive vary "
    "cache-control expires age via accept-ranges transfer-encoding "
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
SERVER_NAMED = frozenset(
    "id pk uuid guid _id ids rev _rev version etag last_modified lastmodified "
    "if-match if-unmodified-since".split()
)
"""Names of places that hold what the server made: ids, revisions, concurrency tokens."""
PICKED_NAMES = frozenset("name slug path filename key".split())
"""Keys under which a create response names the new object, when the server picked it."""
CONDITIONAL = frozenset({"if-match", "if-unmodified-since"})
"""Optimistic-concurrency headers: sent only with a value read from the live response."""
LINK_NUMBER = re.compile(r"/(\d+)(?=[/?#]|$)")
HTML_LINK = re.compile(r"""\bhref=["']([^"'<>]*)""")
HTML_NUMBER_VALUE = re.compile(r"""\bvalue=["'](\d+)["']""")
PIECES = re.compile(r"[|.:\-]")
"""Separators of compound tokens: `2|ab12|cd34|1700000000`, a JWT, `rev-3-ab12`."""
DYNAMIC_RUN = re.compile(r"[\w\-.~+/=%:|]+")
DIGITS = re.compile(r"\d\d")
DATE_OR_VERSION = re.compile(r"v?\d+([.\-/:T ]\d+)*Z?|\d{4}-\d\d-\d\d.*")
BOUNDARIES = (6, 12, 24, 40, 64)
"""Lengths of left-boundary text tried, shortest first, when a value sits inside text."""


def server_named(name: str) -> bool:
    """`id`, `thing_id`, `thingId`, `items[0].pk`, `_rev`, `If-Match`: a place for a value the
    server made, as opposed to `page`, `size` or `q`."""
    if not ("[" in name or "." in name or "]" in name):  # one key: a form's thousands of fields
        last = "" if name.isdigit() else name
    else:
        keys = name.replace("[", ".").replace("]", ".").split(".")
        last = next((k for k in reversed(keys) if k and not k.isdigit()), "")
    return _server_named_key(last.translate(ZEROED))


@lru_cache(maxsize=4096)
def _server_named_key(last: str) -> bool:
    """The last key of a name, its digits made 0 (no check here tells one from another), read
    once: thousands of JSON paths end in the same few keys, and thousands of form fields
    (`f1` ... `f75000`) differ only in their numbers."""
    lower = last.lower()
    return (
        lower in SERVER_NAMED
        or lower.endswith(("_id", "-id", "_pk", "_ids"))
        or (len(last) > 2 and last.endswith("Id") and last[-3].islower())
    )


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
    linked: bool = False
    """A plain number read from the URL it is sent in, which a page holds: no other place is
    as sure."""


@dataclass(slots=True)
class Candidate:
    value: str
    sinks: list[Sink] = field(default_factory=list)
    source: Source | None = None
    first_sent: int = -1
    trivial: bool = False
    """Too plain to tell by its shape (`59`, `"3"`): correlated only from a server-named place."""
    field: str = ""
    """An id field that sends back a page's input of its name (see `_echoed`): replaced there
    only, whatever else sends the same plain value."""
    fields: frozenset[str] = frozenset()
    """Form fields that send it back as the page's form held it (see `_prefilled`)."""


@lru_cache(maxsize=1 << 16)
def is_trivial(value: str) -> bool:
    """Booleans, small numbers, short codes and plain words are never correlated.
    (Cached: a token is sent with request after request.)"""
    if value.isdigit():
        return len(value) < 4 or len(set(value)) == 1
    if len(value) < 8 or "://" in value or ("." in value and HOSTNAME.fullmatch(value)):
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
    """A version or a date; a time to the second (`2026-12-02T01:32:47.783964+00:00`, when a
    revision was saved) is what the server made, not a date a person picked."""
    if TIMESTAMP.match(value):
        return False
    return DATE_OR_VERSION.fullmatch(value) is not None


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")


def correlate(scenario: Scenario, rules: Rules = NO_RULES) -> Scenario:
    """Extract every server-made value from its live response and send that back."""
    calls = list(scenario.calls)
    echoed = _echoed(calls, {rule.value for rule in rules.extract})
    taken = frozenset((sink.call, c.field) for c in echoed for sink in c.sinks)
    candidates = _index_sinks(calls, {rule.value for rule in rules.extract}, taken=taken)
    shows = _find_sources(calls, candidates) if candidates else {}
    _prefilled(calls, candidates)
    for rule in rules.extract:
        _apply_rule(rule, candidates.get(rule.value), calls)
    correlated = [
        (c, c.source)
        for c in _whole(
            [
                c
                for c in candidates.values()
                if c.source is not None and any(s.primary for s in c.sinks)
            ]
        )
        if c.source is not None  # as above: for the type checker
    ]
    correlated += [(c, c.source) for c in echoed if c.source is not None]
    correlated.sort(key=lambda pair: (pair[1].call, pair[0].first_sent))
    names = Names()
    step_of = {id(call): step for step in scenario.steps for call in step.calls}
    substitutions: dict[int, list[tuple[Candidate, Ref]]] = {}
    typed = {c.value: c.first_sent for c in candidates.values() if c.source is None}
    shown: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    redirects = Redirects(calls, {len(c.value) for c, _ in correlated if not c.field})
    for candidate, source in correlated:
        made = source.make()
        var = made.var if source.from_rule else _var_name(made, calls[source.call])
        if not source.from_rule and (var in rules.ignore or candidate.value in rules.ignore):
            continue
        var = names.allocate(var, source.call, candidate.sinks[-1].call)
        if not source.from_rule:
            made = _beside_typed(made, source.call, calls, candidate.value, typed, shows, shown)
        extraction = replace(made, var=var)
        calls[source.call].extractions.append(extraction)
        ref = Ref(f"self.{var}")
        for sink in candidate.sinks:
            substitutions.setdefault(sink.call, []).append((candidate, ref))
        if not candidate.field:
            redirects.check(candidate, source.call, var)
        scenario.correlations.append(
            Correlation(
                var=var,
                source=f"{step_of[id(calls[source.call])].name}: {extraction.note}",
                sinks=_describe_sinks(candidate.sinks, calls, step_of),
            )
        )
    _page_text.cache_clear()
    _found_in.cache_clear()
    for index, pairs in substitutions.items():
        _substitute(calls[index], pairs)
    for call in calls:
        call.headers = [h for h in call.headers if not _stale_condition(*h)]
    return scenario


def _whole(correlated: list[Candidate]) -> list[Candidate]:
    """Without the pieces of a correlated token (`ab12` of `2|ab12|cd34|1700000000`, the
    `1764000000123` of an ETag `"1764000000123"`) that are sent only inside it, or inside the
    tokens that hold it (Flask-WTF signs the session's one token anew on every page): a token
    is correlated whole, once. Pieces are looked up, not compared pair by pair."""
    pieces: dict[str, list[Candidate]] = {}
    for candidate in correlated:
        value = candidate.value
        if TOKEN_PARTS.search(value) or "-" in value or '"' in value:
            for piece in {*TOKEN_PARTS.split(value), *PIECES.split(value)}:
                piece = piece.strip('"')
                if piece and piece != value:
                    pieces.setdefault(piece, []).append(candidate)
    kept = []
    for candidate in correlated:
        calls = {sink.call for sink in candidate.sinks}
        wholes = pieces.get(candidate.value, ())
        if not calls <= {s.call for whole in wholes for s in whole.sinks}:
            kept.append(candidate)
    return kept


def _beside_typed(
    made: Extraction,
    index: int,
    calls: list[Call],
    value: str,
    typed: dict[str, int],
    shows: dict[int, frozenset[str]],
    shown: dict[int, tuple[str, list[tuple[int, str]]]],
) -> Extraction:
    """A value read from a list (`/users/show/25` in a table of users) is read beside the
    value the user typed that the list shows next to it (the new user's name in that row),
    not from the first row: at run time other users' rows come first. `shows`: the values
    each page scanned for sources shows as whole tokens."""
    if made.source != "regex" or not typed:
        return made
    if index not in shown:  # one decode and scan of a page, however many values it gives
        shown.clear()  # values come in the order of their pages: only this one is kept
        text = calls[index].exchange.response.body.decode("utf-8", "replace")
        tokens = shows.get(index)
        shown[index] = text, _typed_shown(text, index, typed, tokens)
    text, anchors = shown[index]
    if not anchors:
        return made  # the page shows nothing the user typed: no row to tell
    starts = [at for at, _ in anchors]
    near = []
    for found in _standing(text, value, _in_word):
        i = bisect_right(starts, found)
        for anchor_at, anchor in anchors[max(0, i - 1) : i + 1]:  # the nearest on each side
            if abs(anchor_at - found) < ROW:
                near.append((abs(anchor_at - found), found, anchor_at, anchor))
    if not near:
        return made
    _, position, anchor_at, anchor = min(near)
    before = position < anchor_at
    for size in BOUNDARIES:
        left = _stable(text[_word_start(text, position - size) : position])
        pattern = _loose_whitespace(re.escape(left)) + _group_for(value)
        matches = list(re.finditer(pattern, text))
        if len({m.group(1) for m in matches}) < 2:
            return made  # no list: the first match is as good
        if before:
            side = [m for m in matches if m.end() <= anchor_at][-1:]
        else:
            side = [m for m in matches if m.start() >= anchor_at + len(anchor)][:1]
        if side and side[0].start(1) == position:
            return replace(made, path=pattern, near=anchor, before=before)
    return made


ROW = 3000
"""How far from a value in a list the typed value that tells its row may be."""


def _typed_shown(
    text: str, index: int, typed: dict[str, int], tokens: Collection[str] | None = None
) -> list[tuple[int, str]]:
    """(position, value) of the values typed before call `index` that `text` shows as whole
    tokens, in order. The page's tokens (those given: the ones among the typed, if known) are
    matched against `typed` as sets; only the few typed ones are looked for again."""
    if tokens is None:
        tokens = token_set(text)
    shown = [v for v in typed.keys() & tokens if typed[v] < index]
    return sorted((at, v) for v in shown for at in _standing(text, v, TOKEN_CHARS.__contains__))


TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~+/=%:|")
"""The characters of TOKEN."""
TOKEN_SPLIT = str.maketrans({chr(c): " " for c in range(128) if chr(c) not in TOKEN_CHARS})
"""ASCII text with every character TOKEN stops at made a space."""


def token_set(text: str) -> set[str]:
    """TOKEN's matches in `text`, as a set. ASCII text (most pages) is split on what is not a
    token character instead: the same runs, about a third faster than the regex."""
    if not text.isascii():
        return set(TOKEN.findall(text))
    return {run for run in set(text.translate(TOKEN_SPLIT).split()) if len(run) >= 5}


def _standing(text: str, value: str, joins: Callable[[str], bool]) -> Iterator[int]:
    """Where `value` stands in `text` with no character `joins` accepts on either side, as
    `(?<!c)value(?!c)` would match it (left to right, not overlapping), but by `str.find`:
    no regex compiled per value."""
    at = text.find(value)
    while at >= 0:
        end = at + len(value)
        if (at == 0 or not joins(text[at - 1])) and (end == len(text) or not joins(text[end])):
            yield at
            at = text.find(value, end)
        else:
            at = text.find(value, at + 1)


def _in_word(char: str) -> bool:
    """`[\\w-]`: a word character (Unicode, as `re` has it) or a hyphen."""
    return char.isalnum() or char in "_-"


class Redirects:
    """The calls with a redirect check, indexed by what their check may hold: the segments of
    the recorded Location, and once a check is rewritten, the pieces of its text as long as a
    correlated value. A value visits the checks that may hold it, not every check between its
    source and its last use (a chain of redirects, each making a token used much later)."""

    def __init__(self, calls: list[Call], lengths: set[int]) -> None:
        self.calls = calls
        self.lengths = sorted(lengths)
        self.raw: dict[int, str] = {}
        self.holding: dict[str, set[int]] = {}
        self.indexed: set[int] = set()
        for index, call in enumerate(calls):
            if call.location is None or call.exchange is None:
                continue
            if isinstance(call.location, str):
                raw = urlsplit(call.exchange.response.header("location") or "").path
                self.raw[index] = raw
                for segment in raw.split("/"):
                    self.holding.setdefault(unquote(segment), set()).add(index)
            else:
                self._index_text(index)

    def check(self, candidate: Candidate, first: int, var: str) -> None:
        """A redirect check never holds the recorded value: the response it is read from
        expects a `[var]` segment there (any one segment), a later one expects the variable:
        `first` is the call whose response the value is read from."""
        last = candidate.sinks[-1].call
        for index in sorted(self.holding.get(candidate.value, ())):
            if index < first or index > last:
                continue
            call = self.calls[index]
            ref = Ref(f"[{var}]") if index == first else Ref(f"self.{var}")
            was = call.location
            if isinstance(was, str):
                call.location = _named_segments(was, self.raw[index], candidate.value, ref)
            elif was is not None:
                call.location = substitute_value(was, partial(_replace, candidate, ref))
            if call.location is not was:
                self._index_text(index, ref.expr if index == first else "")

    def _index_text(self, index: int, written: str = "") -> None:
        """The pieces of the check's literal text as long as some value: what a later value
        may be found as (a whole segment or inside one). Its whole text the first time; after
        that only the pieces that overlap what a rewrite `written` (a `[var]` segment): a
        rewrite leaves the rest as it was, or cut where it puts a variable."""
        whole = index not in self.indexed
        self.indexed.add(index)
        location = self.calls[index].location
        for part in location.parts if isinstance(location, Text) else (location,):
            if not isinstance(part, str) or not (whole or (written and written in part)):
                continue
            for size in self.lengths:
                last = len(part) - size
                starts: Iterable[int] = range(last + 1)
                if not whole:
                    at, starts = part.find(written), set()
                    while at >= 0:
                        starts.update(
                            range(max(0, at - size + 1), min(at + len(written), last + 1))
                        )
                        at = part.find(written, at + 1)
                for at in starts:
                    self.holding.setdefault(part[at : at + size], set()).add(index)


def _named_segments(location: str, raw: str, value: str, ref: Ref) -> Value:
    """`location` (a URL template) with the segments that held `value` in the recorded
    target `raw` as `ref`; a `[var]` ref is written as that literal text."""
    parts = urlsplit(location)
    segments, recorded = parts.path.split("/"), raw.split("/")
    if len(segments) != len(recorded) or value not in map(unquote, recorded):
        return location
    pieces: list[str | Ref] = [location[: len(location) - len(parts.path)]]
    for i, (segment, was) in enumerate(zip(segments, recorded, strict=True)):
        pieces.append("/" if i else "")
        if unquote(was) != value:
            pieces.append(segment)
        else:
            pieces.append(ref.expr if ref.expr[:1] == "[" else ref)
    merged: list[str | Ref] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        elif piece != "":
            merged.append(piece)
    return merged[0] if len(merged) == 1 and isinstance(merged[0], str) else Text(tuple(merged))


def _stale_condition(name: str, value: Value) -> bool:
    """`If-Match` with a recorded ETag would only ever fail: sent when correlated, else not."""
    return name.lower() in CONDITIONAL and isinstance(value, str)


def recorded_sources(calls: list[Call]) -> Iterator[tuple[str, int, Extraction]]:
    """Every value a request sends, however plain, with the call whose response held it last
    before that and how to read it there: what `replay verify` compares live, so a value
    that differs decides, not its look."""
    candidates = _index_sinks(calls, set(), everything=True)
    if not candidates:
        return
    _find_sources(calls, candidates)
    for candidate in candidates.values():
        source = candidate.source
        if source is not None and any(s.primary for s in candidate.sinks):
            made = source.make()
            var = _var_name(made, calls[source.call])
            yield candidate.value, source.call, Extraction(var, made.source, made.path, made.note)


# Pass 1: what requests send


def _echoed(calls: list[Call], wanted: set[str]) -> list[Candidate]:
    """Plain ids a form sends back under the name of an input of the page before it
    (`revision_id=1` from `<input type="hidden" name="revision_id" value="1">`): read from
    that input, for that field only, though a URL of the same request sends another `1`.
    One walk: each page's inputs are read once."""
    inputs: dict[str, tuple[str, int, int]] = {}
    """Input name → its value, the call whose response held it last, and where."""
    found: dict[tuple[int, str], Candidate] = {}
    for index, call in enumerate(calls):
        for name, value in _fields_sent(call):
            held = inputs.get(name)
            if (
                held is None
                or held[0] != value
                or value in wanted
                or not (value.isdigit() and is_trivial(value) and server_named(name))
            ):
                continue
            _, at, position = held
            candidate = found.get((at, name))
            if candidate is None:
                response = calls[at].exchange.response
                reread = partial(_page_text, response.body, "replace")
                note = f"{_html_context(reread())} of {calls[at].method} "
                note += url_template(calls[at].exchange.request.path)
                make = _regex_extraction("regex", reread, position, value, note)
                candidate = found[(at, name)] = Candidate(
                    value, first_sent=index, trivial=True, field=name, source=Source(at, make)
                )
            candidate.sinks.append(Sink(index, f"form field {name}"))
        body = call.exchange.response.body
        if body and b"<input" in body:
            text = body.decode("utf-8", "replace")
            for tag in INPUT_TAG.finditer(text):
                named = re.search(r"""\bname=["']([^"']+)""", tag.group())
                valued = re.search(r"""\bvalue=["'](\d+)["']""", tag.group())
                if named and valued:
                    position = tag.start() + valued.start(1)
                    inputs[named.group(1)] = (valued.group(1), index, position)
    return list(found.values())


def _fields_sent(call: Call) -> Iterator[tuple[str, str]]:
    """(name, value) of the fields of a form or multipart body, as recorded."""
    body = call.body
    if body is None:
        return
    if body.kind == "form":
        yield from ((name, v) for name, v in body.fields if isinstance(v, str))
    elif body.kind == "text" and isinstance(body.text, str):
        yield from ((name, body.text[a:b]) for name, a, b in multipart_fields(body.text))


def _index_sinks(
    calls: list[Call],
    wanted: set[str],
    everything: bool = False,
    taken: frozenset[tuple[int, str]] = frozenset(),
) -> dict[str, Candidate]:
    """Every non-trivial value sent, a plain one sent in a server-named place (an id path
    segment, an `id` field, `If-Match`), and the values rules name, trivial or not; with
    `everything`, every value however plain (for verify's diff, where the live response
    decides)."""
    candidates: dict[str, Candidate] = {}
    typed: set[str] = set()
    for index, call in enumerate(calls):
        for value, where, named in _sent_values(call):
            trivial = not everything and value not in wanted and is_trivial(value)
            if not value or (trivial and not named) or value in typed:
                continue
            if taken and (index, where.removeprefix("form field ")) in taken:
                continue  # sent back from its page's input (`_echoed`)
            candidate = candidates.get(value)
            if candidate is None:
                if where == SECONDARY:
                    continue  # a page URL alone never makes a value worth correlating
                if trivial and _typed_in_address_bar(call):
                    typed.add(value)  # `/pages/3/add/` typed or bookmarked: the user's own
                    continue
                candidate = candidates[value] = Candidate(value, first_sent=index, trivial=trivial)
            if not candidate.sinks or candidate.sinks[-1].call != index:
                candidate.sinks.append(Sink(index, where, primary=where != SECONDARY))
            elif where != SECONDARY and not candidate.sinks[-1].primary:
                candidate.sinks[-1] = Sink(index, where)
    return candidates


def _typed_in_address_bar(call: Call) -> bool:
    """A navigation the browser says no page started (`Sec-Fetch-Site: none`)."""
    return (call.exchange.request.header("sec-fetch-site") or "").lower() == "none"


def _sent_values(call: Call) -> Iterator[tuple[str, str, bool]]:
    """Every value a request sends, decoded, with where it is sent and whether that place is
    server-named (see `server_named`; a numeric path segment is an id's place too)."""
    url = call.url
    if not isinstance(url, str):
        return
    path = split_url(url)[2]
    request = f"{call.method} {url_template(path)}"
    where = f"path segment of {request}"  # one string for all: a path may have thousands
    for segment in path.split("/"):
        if segment:
            yield unquote(segment), where, True
    if "?" in url:  # most URLs have no query
        for name, text in parse_qsl(urlsplit(url).query, keep_blank_values=False):
            yield text, f"query {name} of {request}", server_named(name)
            yield from ((t, f"query {name}", False) for t in _tokens(text) if t != text)
    for name, value in call.headers:
        if isinstance(value, str) and name.lower() not in BROWSER_HEADERS:
            yield from _header_values(name, value)
        elif name.lower() in PAGE_HEADERS:
            literal = value.parts if isinstance(value, Text) else (value,)
            for part in literal:
                if isinstance(part, str):
                    yield from _page_values(part)
    body = call.body
    if body is None:
        return
    if body.kind == "json":
        for path, leaf in json_leaves(body.value):
            yield leaf, f"JSON {path or '(body)'}", server_named(path)
    elif body.kind == "form":
        for name, value in body.fields:
            if isinstance(value, str):
                yield value, f"form field {name}", server_named(name)
    elif body.kind == "text" and isinstance(body.text, str):
        yield from ((t, "body", False) for t in _tokens(body.text))


@lru_cache(maxsize=4096)
def _header_values(name: str, value: str) -> tuple[tuple[str, str, bool], ...]:
    """What a header sends, as `_sent_values` gives it. Cached: request after request sends
    the same cookie, token and client headers."""
    bare = AUTH_SCHEME.sub("", value)
    where = f"header {name}"
    return (
        (bare, where, server_named(name)),
        *((t, where, False) for t in _tokens(bare) if t != bare),
    )


@lru_cache(maxsize=4096)
def _page_values(url: str) -> tuple[tuple[str, str, bool], ...]:
    """What the page's URL in a Referer or Origin holds: never a reason to correlate alone.
    Cached: the requests a page makes all name it."""
    return (
        *((t, SECONDARY, False) for t in _tokens(url)),
        *((n, SECONDARY, True) for n in LINK_NUMBER.findall(url)),
    )


def _tokens(text: str) -> Iterator[str]:
    for match in TOKEN.finditer(text):
        token = match.group()
        yield token
        if TOKEN_PARTS.search(token):
            yield from (p for p in TOKEN_PARTS.split(token) if p)
            decoded = unquote(token)
            if decoded != token:
                yield decoded


def json_leaves(value, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, leaf) of every string and integer in a JSON document, integers as text, in
    document order. A stack, not recursion: a document may nest as deep as its parser allows."""
    stack = [iter([(path, value)])]
    while stack:
        here, item = next(stack[-1], (None, None))
        if here is None:
            stack.pop()
        elif isinstance(item, dict):
            stack.append(iter([(f"{here}.{k}" if here else str(k), v) for k, v in item.items()]))
        elif isinstance(item, list):
            stack.append(iter([(f"{here}[{i}]", v) for i, v in enumerate(item)]))
        elif isinstance(item, str):
            yield here, item
        elif isinstance(item, int) and not isinstance(item, bool):
            yield here, str(item)


# Pass 2: what responses made


def _find_sources(calls: list[Call], candidates: dict[str, Candidate]) -> dict[int, frozenset[str]]:
    """For each value, the last response that carried it before a request first sent it;
    a named place (a key, a header) wins over a position in a list. A plain value (`59`)
    counts only where the response says the server made it, and a page that holds the URL
    it is first sent in (`/ping/page/4/1/` in a `data-url`) wins over any other place.
    Returns the values each page read as text shows as whole tokens (see `_beside_typed`)."""
    last_use = max(c.first_sent for c in candidates.values())
    plain = {c.value for c in candidates.values() if c.value.isdigit() and is_trivial(c.value)}
    links = _link_contexts(calls, candidates, plain)
    shows: dict[int, frozenset[str]] = {}
    for index, call in enumerate(calls[:last_use]):
        made = _made_values(call, candidates, plain, partial(shows.__setitem__, index))
        for value, make, positional, named in made:
            candidate = candidates[value]
            if index >= candidate.first_sent or (candidate.trivial and not named):
                continue
            if candidate.source and (
                candidate.source.linked or (positional and not candidate.source.positional)
            ):
                continue
            candidate.source = Source(index, make, positional)
        for value, make in _linked(call, links):
            if index < candidates[value].first_sent:
                candidates[value].source = Source(index, make, linked=True)
    return shows


def _link_contexts(
    calls: list[Call], candidates: dict[str, Candidate], plain: set[str]
) -> dict[str, set[str]]:
    r"""Per regex of the URL path a plain number is first sent in (`/admin/pages/(\d+)/edit/`;
    the other recorded values in it made `[^/]+`), the numbers sent at that place."""
    links: dict[str, set[str]] = {}
    for value in plain:
        path = calls[candidates[value].first_sent].exchange.request.path
        segments = path.split("/")
        if value in segments[2:]:
            at = segments.index(value, 2)
            start = max(0, at - LINK_REACH)
            pattern = "/".join(
                r"(\d+)" if i == at else _link_segment(segment)
                for i, segment in enumerate(segments[: at + LINK_REACH + 1][start:], start)
            )
            links.setdefault(pattern, set()).add(value)
    return links


LINK_REACH = 8
"""Path segments a link-context regex keeps on each side of its number: a URL's whole path
(any real one), never a thousand-segment path in each of a thousand regexes."""


def _link_segment(segment: str) -> str:
    literal = not segment or (LETTER.search(segment) and is_trivial(segment))
    return re.escape(segment).replace("\\-", "-") if literal else LINK_SEGMENT


LINK_SEGMENT = '[^/"]+'
"""A path segment that held a recorded value, in a link-context regex."""


def _linked(call: Call, links: dict[str, set[str]]) -> Iterator[tuple[str, MakeExtraction]]:
    """The plain numbers of `links` a response holds in the URL they are sent in, each read
    by that URL's regex (its first match must be the recorded number)."""
    response = call.exchange.response
    if not links or not response.body:
        return
    text = response.body.decode("utf-8", "replace")
    note = f"link in {_html_context(text)} of {call.method} "
    note += url_template(call.exchange.request.path)
    for pattern, numbers in links.items():
        match = re.search(pattern, text)
        if match and match.group(1) in numbers:
            word = pattern.split(r"/(\d+)", 1)[0].rsplit("/", 1)[-1].replace("\\", "")
            name = identifier(f"{_singular(word)}_id") if word.isidentifier() else ""
            yield match.group(1), partial(Extraction, name, "regex", pattern, note)


def _prefilled(calls: list[Call], candidates: dict[str, Candidate]) -> None:
    """Plain values with a digit (`2026-12-02`, `01:38:45`, `3`) a form posts back in a field
    that the page before it held in an input of that name (`<input name="date_joined_0"
    value="...">`): the server filled them in, a browser sends them as the live page has them,
    and so does the replay. Both ends name the place, so a date's shape does not matter. A
    value posted before a page showed it was typed; a plain word (`yes`) is the template's;
    choice inputs (checkboxes, radios, buttons) stay constants."""
    posted: dict[tuple[str, str], list[int]] = {}  # (field, value) → the calls that post it
    for index, call in enumerate(calls):
        if call.body is None or call.body.kind != "form":
            continue
        for name, value in call.body.fields:
            if not isinstance(value, str) or not value or value in candidates:
                continue  # a value with another place to be correlated from stays there
            if is_trivial(value) and DIGIT.search(value) and not server_named(name):
                posted.setdefault((name, value), []).append(index)
    if not posted:
        return
    found: dict[tuple[str, str], Source] = {}
    last = max(sends[0] for sends in posted.values())
    for index, call in enumerate(calls[:last]):
        for name, value, make in _inputs(call):
            sends = posted.get((name, value))
            if sends and index < sends[0]:
                found[name, value] = Source(index, make)  # the nearest page before wins
    names: dict[str, list[str]] = {}  # value → the fields that post it, in the order found
    for name, value in found:
        names.setdefault(value, []).append(name)
    for value, fields in names.items():  # one candidate's fields and sinks gathered at once
        candidate = candidates.setdefault(
            value, Candidate(value, source=found[fields[0], value], trivial=True)
        )
        candidate.fields |= frozenset(fields)
        taken = {sink.call for sink in candidate.sinks}
        fresh: list[Sink] = []
        for name in fields:  # a call another field already sends it in is not sent again
            sent = [Sink(i, f"form field {name}") for i in posted[name, value] if i not in taken]
            taken.update(sink.call for sink in sent)
            fresh += sent
        candidate.sinks = sorted(candidate.sinks + fresh, key=lambda sink: sink.call)
        candidate.first_sent = candidate.sinks[0].call


INPUT_START = re.compile(rb"<input\b", re.IGNORECASE)
INPUT_TAG = re.compile(r"<input\b[^<>]*>", re.IGNORECASE)
INPUT_ATTRIBUTE = re.compile(r"""\s(name|value|type)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
CHOICES = frozenset("checkbox radio submit button image reset file".split())
"""Inputs whose value is one of fixed choices: which one the user picked is what counts."""


def _inputs(call: Call) -> Iterator[tuple[str, str, MakeExtraction]]:
    """(name, value, how to read it live) of the text inputs of an HTML page whose name comes
    before their value (what the extraction is anchored on)."""
    response = call.exchange.response
    if not response.body or not INPUT_START.search(response.body):
        return
    reread = partial(_page_text, response.body, "replace")
    text = reread()
    note = f"HTML of {call.method} {url_template(call.exchange.request.path)}"
    for tag in INPUT_TAG.finditer(text):
        attributes = {m[1].lower(): m for m in INPUT_ATTRIBUTE.finditer(tag[0])}
        name, value, kind = (attributes.get(key) for key in ("name", "value", "type"))
        if name is None or value is None or name.start() > value.start():
            continue
        if kind is not None and (kind[2] or kind[3] or "").lower() in CHOICES:
            continue
        group = 2 if value[2] is not None else 3
        position = tag.start() + value.start(group)
        make = _regex_extraction("regex", reread, position, value[group], note)
        yield name[2] if name[2] is not None else name[3], value[group], make


def _apply_rule(rule: ExtractRule, candidate: Candidate | None, calls: list[Call]) -> None:
    """A rule's value comes from the last response before its first use that it reads from
    (that holds it, for a rule on a place no recorded response shows)."""
    if candidate is None:
        raise RulesError(f"correlation.extract {rule.var}: no request sends {rule.value!r}")
    index = nearest = None
    for at in range(candidate.first_sent - 1, -1, -1):
        if _holds(calls[at], rule.value):
            nearest = at if nearest is None else nearest
            if _reads(rule, calls[at]) == rule.value:
                index = at
                break
    index = nearest if index is None else index
    if index is None:
        raise RulesError(f"correlation.extract {rule.var}: no response before its use holds it")
    note = f"{rule.source} {rule.path} (a rule) in {calls[index].method} response"
    extraction = Extraction(rule.var, rule.source, rule.path, note)
    candidate.source = Source(index, lambda: extraction, from_rule=True)
    candidate.trivial = is_trivial(rule.value)  # then replaced where it stands whole


def _holds(call: Call, value: str) -> bool:
    response = call.exchange.response
    return value.encode() in response.body or any(value in v for _, v in response.headers)


def _reads(rule: ExtractRule, call: Call) -> str | None:
    """What the rule reads from the recorded response of `call`."""
    response = call.exchange.response
    if rule.source == "header":
        return response.header(rule.path)
    if rule.source == "cookie":
        cookies = (_cookie(v) for k, v in response.headers if k.lower() == "set-cookie")
        return next((c[1] for c in cookies if c and c[0] == rule.path), None)
    try:
        text = (
            response.header("location") or ""
            if rule.source == "location"
            else response.body.decode("utf-8")
        )
        if rule.source == "json":
            value = json.loads(text)
            for key in re.findall(r"[^.\[\]]+", rule.path):
                value = value[int(key) if isinstance(value, list) else key]
            return None if isinstance(value, bool) else str(value)
    except (UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError, RecursionError):
        return None
    match = re.search(rule.path, text)
    return match.group(1) if match else None


def _made_values(
    call: Call, wanted: dict, plain: set[str], shows: Callable[[frozenset[str]], None]
) -> Iterator[tuple[str, MakeExtraction, bool, bool]]:
    """Every value of `wanted` a response carries, with how to read it from the live response,
    whether it sits at a position in a JSON list, and whether its place is server-named.
    Numbers of `plain` are looked for only in server-named places (a redirect's path segment,
    an HTML link's path segment or a `value=` attribute). A body read as text is told to
    `shows` as the values of `wanted` it holds as whole tokens."""
    response = call.exchange.response
    described = ""

    def what() -> str:
        """`GET /p/[id]`, for the notes: only a response that holds a wanted value needs it."""
        nonlocal described
        described = described or f"{call.method} {url_template(call.exchange.request.path)}"
        return described

    for name, value in response.headers:
        lower = name.lower()
        if lower == "set-cookie":
            cookie = _cookie(value)
            if cookie and cookie[1] in wanted:
                note = f"cookie {cookie[0]} set by {what()}"
                yield cookie[1], _extraction("cookie", cookie[0], note), False, False
        elif lower == "location":
            note = f"Location of {what()}"
            tokens = token_set(value)
            yield from _in_text(value, tokens, _kept(value), "location", note, wanted)
            path = value.split("?", 1)[0]
            numbers = ((m.group(1), m.start(1)) for m in LINK_NUMBER.finditer(path))
            yield from _numbers(numbers, plain, _kept(value), "location", note)
        elif lower not in SOURCE_HEADERS_SKIPPED and value in wanted:
            named = lower in ("etag", "last-modified") or server_named(name)
            yield value, _extraction("header", name, f"header {name} of {what()}"), False, named
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
            created = call.method in ("POST", "PUT") and response.status in (200, 201)
            for path, leaf in _wanted_leaves(document, wanted):
                note = f"JSON {path} of {what()}"
                positional = "[" in path
                named = server_named(path) or (
                    created and not positional and path.rsplit(".", 1)[-1] in PICKED_NAMES
                )
                yield leaf, _extraction("json", path, note), positional, named
            return
    note = f"{_html_context(text)} of {what()}"
    reread = partial(_page_text, body, "strict")
    tokens = token_set(text)
    shows(frozenset(wanted.keys() & tokens))
    yield from _in_text(text, tokens, reread, "regex", note, wanted)
    if plain:
        yield from _numbers(_html_numbers(text), plain, reread, "regex", note)


def _html_numbers(text: str) -> Iterator[tuple[str, int]]:
    """(number, position) of the numeric path segments of links and of `value="59"`."""
    for link in HTML_LINK.finditer(text):
        for number in LINK_NUMBER.finditer(link.group(1)):
            yield number.group(1), link.start(1) + number.start(1)
    for value in HTML_NUMBER_VALUE.finditer(text):
        yield value.group(1), value.start(1)


def _numbers(
    found: Iterator[tuple[str, int]],
    plain: set[str],
    reread: Callable[[], str],
    source: str,
    note: str,
) -> Iterator[tuple[str, MakeExtraction, bool, bool]]:
    """The plain numbers wanted among `found`, each at its first server-named place."""
    seen: set[str] = set()
    for number, position in found:
        if number in plain and number not in seen:
            seen.add(number)
            yield number, _regex_extraction(source, reread, position, number, note), False, True


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
    text: str,
    tokens: set[str],
    reread: Callable[[], str],
    source: str,
    note: str,
    wanted: dict,
) -> Iterator[tuple[str, MakeExtraction, bool, bool]]:
    """Wanted values in free text, each with a regex that finds it again by the text on its
    left. The text's `tokens` (TOKEN's matches) are matched against `wanted` as sets, so a
    page costs one regex scan (a token's pieces lie inside it: only tokens with a separator
    are split again). `reread` gives the text again for that regex: a page's decoded text is
    not kept meanwhile (all of them would take as much memory again as the bodies)."""
    pieces = (TOKEN_PIECE.findall(token) for token in tokens if TOKEN_PARTS.search(token))
    found = wanted.keys() & tokens.union(*pieces)
    for value in found:
        make = _regex_extraction(source, reread, text.find(value), value, note)
        yield value, make, False, False


@lru_cache(maxsize=2)
def _page_text(body: bytes, errors: str) -> str:
    """A page's text, decoded once for the values read from it one after another (each one's
    extraction is made from it: a formset of thousands of inputs decoded a megabyte each)."""
    return body.decode("utf-8", errors)


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
    """The shortest `left text + (value)` regex whose first match in `text` is this value.
    The left text stops short of anything that looks recorded (a token, a number), so a
    pattern holds no recorded value and still matches the next page."""
    group = _group_for(value)
    end = position + len(value)
    right = text[end : end + 1]
    named = _named_attribute_start(text, position)
    if named is not None:
        literal, rest = _named_left(text[named:position])
        if _first_group(text, literal, rest + group) == value:
            return _loose_whitespace(re.escape(literal)) + rest + group
    tried = None
    for size in BOUNDARIES:
        left = _stable(text[_word_start(text, position - size) : position])
        if left == tried:
            continue  # cut back to the same text: found the same first match
        tried = left
        pattern = _loose_whitespace(re.escape(left)) + group
        literal = WHITESPACE.split(left, maxsplit=1)[0]
        rest = _loose_whitespace(re.escape(left[len(literal) :])) + group
        if _first_group(text, literal, rest) == value:
            return pattern
        if right:
            bounded = pattern.replace("+)", "+?)") + re.escape(right)
            if _first_group(text, "", bounded) == value:
                return bounded
    return re.escape(_stable(text[max(0, position - BOUNDARIES[-1]) : position])) + group


WHITESPACE = re.compile(r"[ \t\n\r\v\f]")
"""What `re.escape` escapes and `_loose_whitespace` loosens: a text without it is a literal."""


def _first_group(text: str, literal: str, rest: str) -> str | None:
    """Group 1 of the first match in `text` of `literal` (holding no whitespace) then the
    regex `rest`, as `re.search` of the whole regex would give it, mostly without compiling
    the whole: each value's own regex (its input's name) cost more than all the rest of
    correlating it. Where the literal first stands, `rest` (which many values share:
    `\\s+value="([\\w-]+)`, compiled once) decides; past that the whole regex looks. What
    a page's values share (` value="` left of each) is looked for once a page."""
    found = _found_in(text)
    if (literal, rest) in found:
        return found[literal, rest]
    at = text.find(literal)
    match = None if at < 0 else re.compile(rest).match(text, at + len(literal))
    if match is None and at >= 0:
        match = re.search(_loose_whitespace(re.escape(literal)) + rest, text)
    found[literal, rest] = group = match.group(1) if match else None
    return group


@lru_cache(maxsize=2)
def _found_in(text: str) -> dict[tuple[str, str], str | None]:
    """What `_first_group` found in a page so far: its values are read one after another."""
    return {}


ALNUM_TAIL = re.compile(r"[^\W_]*\Z")
"""The letters and digits (`str.isalnum`) a text ends with."""


def _word_start(text: str, start: int) -> int:
    """`start`, moved back to the beginning of the word it cuts (`things/`, not `hings/`)."""
    start = max(0, start)
    tail = ALNUM_TAIL.search(text, max(0, start - 16), start)  # a word is mostly shorter
    at = tail.start() if tail else start  # (it always matches, if only the empty tail)
    if at > start - 16 or at == 0:
        return at
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    return start


def _stable(left: str) -> str:
    """`left` from after its last run that may be recorded data (a token, a number)."""
    for run in reversed(list(DYNAMIC_RUN.finditer(left))):  # the last such run, found first
        if DIGITS.search(run[0]) or not is_trivial(run[0]):
            return left[run.end() :]
    return left


NAMING = re.compile(r"""(name|id|property)=["']([^"']+)["']""")
WRITTEN_NAME = re.compile(r"_*[A-Za-z]+([-_.\[\]]+([A-Za-z]+|\d{1,2}))*\]?")
"""A name a developer wrote: words and small numbers (`date_joined_0`, `form-1-id`,
`user[email]`), not a generated token (`f8a3c2`)."""


def _named_left(left: str) -> tuple[str, str]:
    """The regex for `name="date_joined_0" value="` left of a value, as a literal start (the
    naming attribute, kept whole when a developer wrote the name, however token-like
    `date_joined_0` looks: a written name holds no whitespace) and the regex of the rest
    (from after its last run that may be recorded)."""
    naming = NAMING.match(left)
    if naming is None or not WRITTEN_NAME.fullmatch(naming[2]):
        return "", _loose_whitespace(re.escape(_stable(left)))
    rest = left[naming.end() :]
    stable = _stable(rest)
    gap = "" if stable == rest else "[^<>]*?"
    return naming[0], gap + _loose_whitespace(re.escape(stable))


def _named_attribute_start(text: str, position: int) -> int | None:
    """Inside an HTML tag that names the value (`name="csrf_token" value="..."`), where the
    name attribute starts: the boundary that survives a page redesign."""
    tag_start = text.rfind("<", max(0, position - 300), position)
    if tag_start < 0 or ">" in text[tag_start:position]:
        return None
    name = re.search(r"""\b(name|id|property)=["'][^"']+["'][^<>]*$""", text[tag_start:position])
    return tag_start + name.start() if name else None


HEX_LOWER, HEX_UPPER = re.compile(r"[0-9a-f]+"), re.compile(r"[0-9A-F]+")


def _group_for(value: str) -> str:
    """A capture group for values of this kind, not just this value: the next token may have
    a `-` where this one had none."""
    if value.isdigit():
        return r"(\d+)"
    if HEX_LOWER.fullmatch(value) or HEX_UPPER.fullmatch(value):
        return r"([0-9a-fA-F]+)"
    extra = "".join(sorted({c for c in value if not c.isalnum() and c not in "_-"}))
    return f"([\\w{re.escape(extra)}-]+)"


@lru_cache(maxsize=4096)
def _loose_whitespace(escaped: str) -> str:
    """Any run of whitespace matches any other; `-` needs no escape outside a class.
    Cached: the text left of a page's values (` value="`) is the same value after value."""
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
    return _resource_in(call.url if isinstance(call.url, str) else "")


@lru_cache(maxsize=4096)
def _resource_in(url: str) -> str:
    """`order` for `/api/orders/8f3a`. Cached: the values of one response are named after
    the same URL."""
    words = [w for w in urlsplit(url).path.split("/") if w and url_template(w) == w]
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


def _substitute(call: Call, pairs: list[tuple[Candidate, Ref]]) -> None:
    """Each value, as sent or percent-encoded, becomes its variable: all in one pass over each
    string, so a request sending thousands of correlated values costs no more per value. A
    plain value (`59`) is replaced only where it stands whole, in the places that made it."""
    echoed = [(c, r) for c, r in pairs if c.field]
    if echoed:
        _substitute_fields(call, echoed)
    pairs = [(c, r) for c, r in pairs if not c.field]
    shaped = [(c.value, r) for c, r in pairs if not c.trivial]
    refs = {_percent_encoded(v): Ref(r.expr, "url") for v, r in shaped}
    refs.update(shaped)
    if refs:
        call.substitute(substitute_all(refs))
    for from_rule, named in ((False, server_named), (True, _anywhere)):
        plain = {
            c.value: r
            for c, r in pairs
            if c.trivial
            and not c.fields
            and c.source is not None
            and c.source.from_rule is from_rule
        }
        if plain:
            _substitute_plain(call, plain, named)
    prefilled = {c.value: (c.fields, r) for c, r in pairs if c.fields}
    if prefilled and call.body is not None and call.body.kind == "form":
        call.body.fields = [_prefilled_field(name, v, prefilled) for name, v in call.body.fields]
    if isinstance(call.url, Text):
        call.name = _template_name(call.url)


@lru_cache(maxsize=1 << 14)
def _percent_encoded(value: str) -> str:
    """`value` as a URL sends it encoded. Cached: a token is sent request after request."""
    return quote(value, safe="", errors="surrogatepass")


def _prefilled_field(
    name: str, value: Value, prefilled: dict[str, tuple[frozenset[str], Ref]]
) -> tuple[str, Value]:
    """A form field, sending the live page's input where it posts back what the page held
    (`prefilled`: value → the fields that do, and its ref; looked up, not one entry per
    field and value, as a page of 12,000 inputs holding `1` would make)."""
    held = prefilled.get(value) if isinstance(value, str) else None
    return (name, Text((held[1],))) if held is not None and name in held[0] else (name, value)


def _substitute_fields(call: Call, pairs: list[tuple[Candidate, Ref]]) -> None:
    """The form or multipart fields that send back a page's input of their name, where they
    send its value, send its ref instead: a form's fields in one pass however many (a
    formset's thousands of `form-N-id`)."""
    body = call.body
    if body is not None and body.kind == "form":
        refs: dict[tuple[str, str], Ref] = {}
        for candidate, ref in pairs:
            refs.setdefault((candidate.field, candidate.value), ref)
        body.fields = [
            (k, Text((refs[k, v],)) if isinstance(v, str) and (k, v) in refs else v)
            for k, v in body.fields
        ]
    elif body is not None and body.kind == "text":
        for candidate, ref in pairs:  # the first one found makes the body a Text: not yet all
            if isinstance(body.text, str):
                body.text = _in_multipart(body.text, candidate.field, candidate.value, ref)


def _in_multipart(text: str, name: str, value: str, ref: Ref) -> Value:
    """The multipart body `text` with the field `name`, where it sends `value`, sending `ref`."""
    position = 0
    parts: list[str | Ref] = []
    for sent, start, end in multipart_fields(text):
        if sent == name and text[start:end] == value:
            parts += [text[position:start], ref]
            position = end
    if not parts:
        return text
    return Text(tuple(p for p in (*parts, text[position:]) if p != ""))


def _anywhere(_name: str) -> bool:
    return True


def _substitute_plain(call: Call, refs: dict[str, Ref], named: Callable[[str], bool]) -> None:
    """Plain values (`59`) are replaced only where they stand whole, in places `named` accepts
    (server-named fields, keys and headers; any, for a rule's value) and in path segments;
    `?page=59` and `1599` stay. One pass over each string, however many values."""
    in_url = partial(_in_url, refs=refs, named=named)
    call.url = substitute_value(call.url, in_url)
    headers = []
    for name, header in call.headers:
        if name.lower() in PAGE_HEADERS:
            header = substitute_value(header, in_url)
        elif named(name) and isinstance(header, str) and header in refs:
            header = Text((refs[header],))
        headers.append((name, header))
    call.headers = headers
    body = call.body
    if body is not None and body.kind == "json":
        body.value = _json_plain(body.value, refs, named)
    elif body is not None and body.kind == "form":
        body.fields = [
            (name, Text((refs[v],)) if isinstance(v, str) and v in refs and named(name) else v)
            for name, v in body.fields
        ]


def _replace(candidate: Candidate, ref: Ref, text: str) -> Value:
    if candidate.trivial:
        return _in_url(text, {candidate.value: ref}, server_named)
    return substitute_text(text, candidate.value, ref)


URL_PLACE = re.compile(r"(?<=/)([^/?#]+)(?=[/?#]|$)|[?&]([^=&#]*)=([^&#]*)")
"""A path segment, or a query field's name and value."""


def _in_url(text: str, refs: dict[str, Ref], named: Callable[[str], bool]) -> Value:
    """Values of `refs` where they are a whole path segment or a `named` query field's value."""
    parts: list[str | Ref] = []
    last = 0
    for match in URL_PLACE.finditer(text):
        group = 1 if match.group(1) is not None else 3
        if group == 3 and not named(unquote(match.group(2))):
            continue
        ref = refs.get(match.group(group))
        if ref is not None:
            parts += [text[last : match.start(group)], ref]
            last = match.end(group)
    if not parts:
        return text
    return Text(tuple(p for p in (*parts, text[last:]) if p != ""))


def _json_plain(node: Json, refs: dict[str, Ref], named: Callable[[str], bool], key="") -> Json:
    if isinstance(node, dict):
        return {k: _json_plain(v, refs, named, str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_json_plain(v, refs, named, key) for v in node]
    if isinstance(node, bool) or not isinstance(node, int | str) or not named(key):
        return node
    ref = refs.get(str(node))
    if ref is None:
        return node
    return Ref(ref.expr, "int") if isinstance(node, int) else ref


def _template_name(url: Text) -> str:
    """`/orders/[order_id]` for a URL whose path holds correlated values."""
    rendered = "".join(
        p if isinstance(p, str) else f"[{p.expr.removeprefix('self.')}]" for p in url.parts
    )
    return url_template(urlsplit(rendered).path)
