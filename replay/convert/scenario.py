"""The Scenario: what a recording replays, as plain data between the analysis stages and codegen.

A value that changes at run time is a `Ref` (a Python expression such as `self.token`);
a string that mixes recorded text and run-time values is a `Text`. Correlation and
parameterization both work by substituting recorded values with refs (`Call.substitute`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from itertools import groupby
from os.path import commonprefix
from typing import Any, Literal

from ahocorasick_rs import BytesAhoCorasick, MatchKind

from recorder.model import Exchange


@dataclass(frozen=True, slots=True)
class Ref:
    """A run-time value: `expr` is emitted as Python; `encode` names how it is escaped."""

    expr: str
    encode: str = ""
    """"" (the string as is), "url" (percent-encoded), "json" (escaped inside a JSON string of
    a text body) or "int" (a JSON number); several joined by `+` are applied in turn (`json+url`:
    escaped in a JSON string, then the JSON percent-encoded in a query)."""

    @property
    def encodings(self) -> tuple[str, ...]:
        return tuple(self.encode.split("+")) if self.encode else ()


@dataclass(frozen=True, slots=True)
class Text:
    """A string assembled from literal pieces and refs."""

    parts: tuple[str | Ref, ...]

    @property
    def refs(self) -> Iterator[Ref]:
        return (p for p in self.parts if isinstance(p, Ref))


Value = str | Text
"""A literal string, or a Text once something in it was substituted."""

Json = Any
"""Decoded JSON whose leaves may be replaced by Ref (the whole value) or Text (inside a string)."""


@dataclass(slots=True)
class Body:
    """A request body. `kind` says how codegen passes it to the client."""

    kind: str
    """"json" (value), "form" (fields), "text" (text) or "bytes" (raw)."""
    value: Json = None
    fields: list[tuple[str, Value]] = field(default_factory=list)
    text: Value = ""
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class Extraction:
    """Where a correlated value is read from in a live response."""

    var: str
    source: str
    """"json", "header", "cookie", "regex" (over the body) or "location" (regex over Location)."""
    path: str
    """JSON path, header or cookie name, or a regex with one group."""
    note: str
    """Where the value was seen in the recording, for the comment in generated code."""
    near: str | Ref | None = None
    """A value the user typed that the page shows beside this one (the user name in the row
    of a list): the match of `path` nearest it is read, `before` it or after it."""
    before: bool = True


@dataclass(slots=True)
class Call:
    """One HTTP request of a step, as it will be sent."""

    method: str
    url: Value
    """Path and query on the target host, or an absolute URL on a mapped host."""
    headers: list[tuple[str, Value]]
    body: Body | None
    expect: int
    name: str | None = None
    """Statistics name (the URL template) when it differs from the URL."""
    location: Value | None = None
    """The recorded redirect target, checked at run time."""
    returns: str | None = None
    """What the recorded body was, checked at run time: "json", or "items" (a non-empty list)."""
    extractions: list[Extraction] = field(default_factory=list)
    exchange: Exchange = field(repr=False, compare=False, kw_only=True)
    """The recorded exchange this request replays."""

    def substitute(self, find: Callable[[str], Value]) -> None:
        """Rewrite every string of the request with `find`, which returns it or a Text."""
        self.url = substitute_value(self.url, find)
        self.headers = [_substitute_header(header, find) for header in self.headers]
        self.substitute_body(find)

    def substitute_body(self, find: Callable[[str], Value]) -> None:
        """Rewrite every string of the body (JSON leaves, form values, text) with `find`."""
        body = self.body
        if body is None:
            return
        if body.kind == "json":
            body.value = _substitute_json(body.value, find)
        elif body.kind == "form":
            body.fields = [  # a form may have thousands of fields, most of them literal
                (k, find(v) if isinstance(v, str) else substitute_value(v, find))
                for k, v in body.fields
            ]
        elif body.kind == "text":
            body.text = substitute_value(body.text, find)


@dataclass(slots=True)
class Step:
    """One user action: becomes one @task method."""

    name: str
    title: str
    calls: list[Call]
    think: float = 0.0
    """Seconds the user paused after this step, as recorded."""


ParameterKind = Literal["credential", "generated", "data", "constant", "origin"]
"""Where a parameter's value comes from at run time: `credential` from --accounts or
$REPLAY_<NAME>, never from the recording; `generated` from Faker or a fresh unique value;
`data` a CSV column; `constant` the text a rule gives; `origin` where a recorded host is in
this run."""


@dataclass(frozen=True, slots=True)
class Parameter:
    """A per-user value set in on_start, such as a Faker call or a secret."""

    var: str
    expr: str
    comment: str
    kind: ParameterKind
    credential: str = ""
    """The name a `credential` is looked up by (the accounts column, $REPLAY_<NAME>)."""


@dataclass(frozen=True, slots=True)
class Correlation:
    var: str
    source: str
    """Step and location of the extraction, for the summary."""
    sinks: tuple[str, ...]


@dataclass(slots=True)
class Scenario:
    name: str
    """Class name of the generated task set."""
    host: str
    """Origin the recording was made against (scheme://host[:port])."""
    source: str
    recorded: str
    """Date of the recording (YYYY-MM-DD)."""
    steps: list[Step]
    default_headers: list[tuple[str, str]] = field(default_factory=list)
    locale: str = "en_US"
    parameters: list[Parameter] = field(default_factory=list)
    correlations: list[Correlation] = field(default_factory=list)
    entries: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    hidden: dict[str, str] = field(default_factory=dict)
    """A known secret the recording sends (as recorded and percent-encoded) → what people see
    in its place, `[its variable]`: convert's summary shows that (see `known.hide_known`)."""

    @property
    def calls(self) -> Iterator[Call]:
        return (call for step in self.steps for call in step.calls)

    @property
    def kept(self) -> int:
        return sum(len(step.calls) for step in self.steps)


def substitute_text(text: str, value: str, ref: Ref) -> Value:
    """`text` with every occurrence of `value` replaced by `ref` (a Text), or `text` unchanged."""
    if value not in text:
        return text
    pieces = text.split(value)
    parts: list[str | Ref] = []
    for i, piece in enumerate(pieces):
        if i:
            parts.append(ref)
        if piece:
            parts.append(piece)
    return Text(tuple(parts))


def substitute_all(refs: dict[str, Ref], after: str = "") -> Callable[[str], Value]:
    """A `find` that replaces every occurrence of any key of `refs` with its ref, leftmost first
    and at one place the longest, in one pass however many keys there are. `after` is a
    lookahead an occurrence must satisfy. A few keys are looked for with `str.find` instead: a
    request sends one or two correlated values, and building a matcher for each request would
    cost more than all the rest of correlation."""
    keys = [k for k in refs if k]
    if not after and len(keys) <= FEW_KEYS:
        return partial(_substitute_few, refs, keys)
    if after:
        return partial(_substitute_matches, refs, _pattern(tuple(sorted(keys)), after).finditer)
    return partial(_substitute_bytes, refs, _automaton(tuple(sorted(keys))))


FEW_KEYS = 16
"""Up to this many keys, `str.find` for each (a scan in C) beats one pass of a matcher."""
TEXT, LONE = "utf-8", "surrogatepass"
"""How text is searched as bytes: a recorded string may hold a lone surrogate (a capture is
untrusted), and it round-trips."""


@lru_cache(maxsize=8)
def _pattern(keys: tuple[str, ...], after: str) -> re.Pattern:
    """The regex for `keys`, built once for the requests that send the same thousands."""
    return re.compile(f"(?:{_alternatives(list(keys)) or '(?!)'}){after}")  # none: no match


@lru_cache(maxsize=8)
def _automaton(keys: tuple[str, ...]) -> tuple[BytesAhoCorasick, tuple[str, ...]]:
    """An Aho-Corasick automaton of `keys` as bytes, and the keys by its pattern index, built
    once for the requests that send the same thousands: linear in their length, where a regex
    of 7,500 tokens took a quarter of a second to compile."""
    automaton = BytesAhoCorasick(
        [key.encode(TEXT, LONE) for key in keys], matchkind=MatchKind.LeftmostLongest
    )
    return automaton, keys


def _substitute_bytes(
    refs: dict[str, Ref], matcher: tuple[BytesAhoCorasick, tuple[str, ...]], text: str
) -> Value:
    """`substitute_all`'s replacement with the automaton, over `text` as bytes: a match of
    whole encoded keys starts and ends where characters do, so each piece between two decodes
    on its own."""
    automaton, keys = matcher
    data = text.encode(TEXT, LONE)
    matches = automaton.find_matches_as_indexes(data)
    if not matches:
        return text
    parts: list[str | Ref] = []
    position = 0
    for index, start, end in matches:
        parts += [data[position:start].decode(TEXT, LONE), refs[keys[index]]]
        position = end
    parts.append(data[position:].decode(TEXT, LONE))
    return Text(tuple(p for p in parts if p != ""))


def _substitute_matches(
    refs: dict[str, Ref], matches: Callable[[str], Iterator[re.Match]], text: str
) -> Value:
    """`substitute_all`'s replacement with a regex (its lookahead `after` needs one)."""
    parts: list[str | Ref] = []
    position = 0
    for match in matches(text):
        parts += [text[position : match.start()], refs[match[0]]]
        position = match.end()
    if not parts:
        return text
    parts.append(text[position:])
    return Text(tuple(p for p in parts if p != ""))


def _substitute_few(refs: dict[str, Ref], keys: list[str], text: str) -> Value:
    """`substitute_all`'s replacement by `str.find`: the leftmost occurrence of any key, at one
    place the longest, and on from its end. Each key's next occurrence is looked for again only
    once passed, so every key scans the text once."""
    starts = [text.find(key) for key in keys]
    parts: list[str | Ref] = []
    position = 0
    while True:
        first = -1  # the index in `keys` of the next key to replace
        for i, key in enumerate(keys):
            if 0 <= starts[i] < position:
                starts[i] = text.find(key, position)
            if starts[i] >= 0 and (
                first < 0 or (starts[i], -len(key)) < (starts[first], -len(keys[first]))
            ):
                first = i
        if first < 0:
            break
        start, key = starts[first], keys[first]
        parts += [text[position:start], refs[key]]
        position = start + len(key)
    if not parts:
        return text
    parts.append(text[position:])
    return Text(tuple(p for p in parts if p != ""))


def one_of(words: list[str]) -> str:
    """A regex for any of `words` (none: never matches), as fast with thousands as with two."""
    return _alternatives(sorted({w for w in words if w})) or "(?!)"


TRIE_DEPTH = 32
"""Branching levels of the regex substitute_all builds; deeper keys are tried one by one."""


def _alternatives(words: list[str], depth: int = 0) -> str:
    """A regex for the sorted, distinct, non-empty `words`, shaped as a trie: at a position only
    the branch for the next character is tried, so matching does not slow down with the number
    of words (an alternation of thousands of tokens tries each of them at every position)."""
    if depth == TRIE_DEPTH:
        return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    branches = []
    for _, group in groupby(words, key=lambda w: w[0]):
        same = list(group)
        prefix = commonprefix(same)
        rest = [w[len(prefix) :] for w in same if len(w) > len(prefix)]
        if not rest:
            branches.append(re.escape(prefix))
        else:
            optional = "?" if len(rest) < len(same) else ""  # a word ends here: longest first
            branches.append(f"{re.escape(prefix)}(?:{_alternatives(rest, depth + 1)}){optional}")
    return "|".join(branches)


def _substitute_header(
    header: tuple[str, Value], find: Callable[[str], Value]
) -> tuple[str, Value]:
    """The pair itself when its value does not change: most calls share their header pairs."""
    name, value = header
    new = substitute_value(value, find)
    return header if new is value else (name, new)


def substitute_value(value: Value, find: Callable[[str], Value]) -> Value:
    """`value` with `find` applied to each literal piece (a Ref stays as it is); `value` itself
    when `find` changed none (every stage rewrites every header: most are left as they were)."""
    if isinstance(value, str):
        return find(value)
    parts: list[str | Ref] = []
    changed = False
    for part in value.parts:
        if isinstance(part, str):
            new = find(part)
            changed = changed or new is not part
            parts.extend(new.parts if isinstance(new, Text) else (new,))
        else:
            parts.append(part)
    return Text(tuple(parts)) if changed else value


def _substitute_json(value: Json, find: Callable[[str], Value]) -> Json:
    if isinstance(value, str):  # the leaves first: there are more of them than of anything
        new = find(value)
        return value if new is value else _whole_ref(new)
    if isinstance(value, dict):
        return {k: _substitute_json(v, find) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_json(v, find) for v in value]
    if isinstance(value, Text):
        return _whole_ref(substitute_value(value, find))
    if isinstance(value, int) and not isinstance(value, bool):
        new = find(str(value))
        if isinstance(new, Text) and len(new.parts) == 1 and isinstance(new.parts[0], Ref):
            return replace(new.parts[0], encode="int")
    return value


def _whole_ref(new: Value) -> Json:
    """A string that is entirely one ref is sent as the ref's own value (unless encoded)."""
    if isinstance(new, Text) and len(new.parts) == 1 and isinstance(new.parts[0], Ref):
        return new.parts[0] if not new.parts[0].encode else new
    return new
