"""Scenario → a Python module a Locust user can read in a minute and edit.

Output is laid out the way `ruff format` lays it out (any configuration: a line that does not
fit in 88 columns is exploded one item per line with a trailing comma, which ruff keeps), so
generated files pass `ruff format --check` and `ruff check` without our help.
"""

from __future__ import annotations

import ast
import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from replay.convert.literals import ENCODERS, comment, docstring, literal
from replay.convert.scenario import Body, Call, Extraction, Scenario, Step, Text, Value
from replay.names import identifier

WIDTH = 88
SHARED_VALUE_LENGTH = 40
INDENT = "    "


@dataclass(frozen=True, slots=True)
class Code:
    """A Python expression that is never broken across lines."""

    text: str


@dataclass(slots=True)
class Collection:
    """A call, dict, list or tuple: printed flat when it fits, else one item per line."""

    open: str
    close: str
    items: list[Node]
    comments: list[str] = field(default_factory=list)
    """A comment line above each item ("" for none); any comment forces the exploded form."""


@dataclass(frozen=True, slots=True)
class Pair:
    """`key: value` in a dict, `name=value` in a call."""

    key: Code
    separator: str
    value: Node


Node = Code | Collection | Pair


def render(scenario: Scenario) -> list[str]:
    """The module for one recording, in pieces (one for each step) that join to its source."""
    lines = [
        docstring(
            f"Recorded from {scenario.source} by `replay convert`: {_summary(scenario)}.",
            "Edit freely: converting again writes a new file rather than merging into this one.",
            "Run it once with Locust's run_single_user (a debugger works): python FILE --host URL",
        ),
        "",
        "from locust import run_single_user",
        "",
        *_imports(scenario),
    ]
    if scenario.default_headers:
        headers = _dict((literal(k), Code(literal(v))) for k, v in scenario.default_headers)
        lines += ["", *_statement("HEADERS = ", headers, 0)]
    constants = _shared_header_values(scenario)
    if constants:
        lines.append("")
        for v, name in constants.items():
            lines += _assign(name, literal(v), 0)
    lines += [
        "",
        "",
        f"class {scenario.name}(RecordedSession):",
        INDENT + docstring(_counts(scenario)),
        "",
        *_assign("recorded_host", literal(scenario.host), 1),
        *_assign("capture", literal(scenario.source), 1),
        f"{INDENT}weight = 1",
    ]
    if scenario.default_headers:
        lines.append(f"{INDENT}default_headers = HEADERS")
    if scenario.locale != "en_US":
        lines.append(f"{INDENT}locale = {literal(scenario.locale)}")
    credentials = sorted({p.credential for p in scenario.parameters if p.kind == "credential"})
    if len(credentials) == 1:
        lines.append(f"{INDENT}credentials = ({literal(credentials[0])},)")
    elif credentials:
        names = Collection("(", ")", [Code(literal(c)) for c in credentials])
        lines += _statement("credentials = ", names, 1)
    if scenario.parameters:
        lines += ["", f"{INDENT}def on_start(self):"]
        for p in scenario.parameters:
            note = _credential_note(p.credential) if p.kind == "credential" else p.comment
            if note:
                lines.append(f"{INDENT * 2}# {comment(note)}")
            fits = width(f"{INDENT * 2}self.{p.var} = {p.expr}") <= WIDTH
            call = None if fits else _call_expression(p.expr)  # parsed only to be broken
            if call:
                lines += _statement(f"self.{p.var} = ", call, 2)
            else:
                lines += _assign(f"self.{p.var}", p.expr, 2)

    @functools.cache
    def header(name: str, value: Value) -> Pair:
        """A header as a call's dict holds it, made once: most calls send the same few."""
        shown = constants.get(value) if isinstance(value, str) else None
        return Pair(Code(literal(name)), ": ", Code(shown or literal(value)))

    main = [
        "",
        "",
        'if __name__ == "__main__":',
        f"{INDENT}run_single_user(single_pass({scenario.name}))",
    ]
    # Each step joined on its own: a module of 20,000 requests is never 300,000 separate lines,
    # nor one string of megabytes beside its pieces.
    return [
        "\n".join([*lines, ""]),
        *("\n".join(["", *_step(step, header), ""]) for step in scenario.steps),
        "\n".join([*main, ""]),
    ]


def _credential_note(name: str) -> str:
    """Where a credential comes from at run time (never the recorded login)."""
    return f"from --accounts or $REPLAY_{name.upper()}"


def _shared_header_values(scenario: Scenario) -> dict[str, str]:
    """Long header values many requests send alike (a browser's Accept) get a name, once."""
    uses: dict[tuple[str, str], int] = {}
    for call in scenario.calls:
        for name, v in call.headers:
            if isinstance(v, str) and len(v) >= SHARED_VALUE_LENGTH:
                uses[name, v] = uses.get((name, v), 0) + 1
    shared = [(name, v) for (name, v), count in uses.items() if count > 1]
    per_name = Counter(name.lower() for name, _ in shared)
    constants: dict[str, str] = {}
    taken, last = {"HEADERS", scenario.name}, dict[str, int]()
    for name, v in shared:
        if v in constants:
            continue
        if per_name[name.lower()] > 1 and name.lower() == "accept":
            name += f"_{_media_kind(v)}"  # ACCEPT_HTML, ACCEPT_JSON rather than ACCEPT_2
        constants[v] = identifier(name, "header", style="upper", taken=taken, last=last)
    return constants


def _media_kind(accept: str) -> str:
    """`html` for text/html,..., `json` for application/json, `any` for */*."""
    first = accept.split(",", 1)[0].split(";", 1)[0].strip()
    kind = first.rsplit("/", 1)[-1].split("+")[-1]
    return "any" if kind in ("*", "") else kind


def _imports(scenario: Scenario) -> list[str]:
    names = {"RecordedSession", "single_pass", "task"}
    names |= {EXTRACTORS[e.source] for call in scenario.calls for e in call.extractions}
    names |= {ENCODERS[e] for call in scenario.calls for e in _encodings(call) if e in ENCODERS}
    ordered = sorted(names, key=lambda n: (not n[0].isupper(), n))
    line = f"from replay.runtime import {', '.join(ordered)}"
    if width(line) <= WIDTH:
        return [line]
    return ["from replay.runtime import (", *(f"{INDENT}{n}," for n in ordered), ")"]


EXTRACTORS = {
    "json": "json_path",
    "header": "header",
    "cookie": "cookie",
    "regex": "regex",
    "location": "location",
}


def _encodings(call: Call) -> set[str]:
    texts = [call.url, *(v for _, v in call.headers)]
    if call.body:
        texts += [v for _, v in call.body.fields] + [call.body.text]
        texts += _json_texts(call.body.value)
    return {e for t in texts if isinstance(t, Text) for r in t.refs for e in r.encodings}


def _json_texts(value) -> list[Text]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _json_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _json_texts(v)]
    return [value] if isinstance(value, Text) else []


def _summary(scenario: Scenario) -> str:
    dropped = ", ".join(plural(n, reason) for reason, n in sorted(scenario.dropped.items()))
    kept = f"{scenario.kept} of {plural(scenario.entries, 'request')} kept"
    return kept + (f", dropped {dropped}" if dropped else "")


def _counts(scenario: Scenario) -> str:
    host = scenario.host.split("://")[-1]
    return (
        f"The visit recorded on {host} on {scenario.recorded or '(no date)'}: "
        f"{plural(len(scenario.steps), 'step')}, "
        f"{plural(len(scenario.correlations), 'correlated value')}, "
        f"{plural(len(scenario.parameters), 'parameter')}."
    )


PHRASE = re.compile(r"(.*?)( without .*| \(.*)?$", re.S)
"""The noun phrase, and what qualifies it; it matches any text (both groups may be empty)."""


def plural(n: int, phrase: str) -> str:
    """`1 request`, `10 static assets`, `2 entries without request/response`, `3 failed or
    aborted`: the phrase's noun takes the number."""
    if n == 1:
        return f"1 {phrase}"
    head, tail = PHRASE.match(phrase).groups()  # type: ignore[union-attr]
    words = head.split(" ")
    last = words[-1]
    if words[0] in ("not", "no") or last.endswith("ed") or not last[-1:].isalpha():
        return f"{n} {phrase}"
    if last[-1] == "y" and last[-2:-1] not in tuple("aeiou"):
        last = last[:-1] + "ies"
    elif last.endswith(("s", "x", "ch", "sh")):
        last += "es"
    else:
        last += "s"
    return f"{n} {' '.join([*words[:-1], last])}{tail or ''}"


HeaderNode = Callable[[str, Value], Pair]
"""A header's name and value → its node in a call's `headers=`."""


def _step(step: Step, header: HeaderNode) -> list[str]:
    lines = [
        f"{INDENT}@task",
        f"{INDENT}def {step.name}(self):",
        INDENT * 2 + docstring(step.title),
    ]
    for call in step.calls:
        lines += _statement("", _call(call, header), 2)
    if math.isfinite(step.think) and step.think > 0:
        lines.append(f"{INDENT * 2}self.think({literal(step.think)})")
    return lines


def _call(call: Call, header: HeaderNode) -> Collection:
    method = call.method.lower()
    known = method in ("get", "post", "put", "patch", "delete")
    items: list[Node] = [] if known else [Code(literal(call.method))]
    items.append(Code(literal(_without_userinfo(call.url))))
    name = _stats_name(call)
    if name:
        items.append(Pair(Code("name"), "=", Code(literal(name))))
    if call.headers:
        headers = Collection("{", "}", [header(k, v) for k, v in call.headers])
        items.append(Pair(Code("headers"), "=", headers))
    if call.body:
        items.append(_body(call.body))
    if call.expect != 200:
        items.append(Pair(Code("expect"), "=", Code(literal(call.expect))))
    if call.location is not None:
        location = _without_userinfo(call.location)
        items.append(Pair(Code("location"), "=", Code(literal(location))))
    if call.returns == "items" or (
        call.returns and not any(e.source == "json" for e in call.extractions)
    ):  # a JSON value read from the body checks it already
        items.append(Pair(Code("returns"), "=", Code(literal(call.returns))))
    if call.extractions:
        items.append(Pair(Code("save"), "=", _save(call.extractions)))
    return Collection(f"self.{method if known else 'request'}(", ")", items)


USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


def _without_userinfo(url: Value) -> Value:
    """An absolute URL without the user:password@ it may carry: credentials never reach code
    (a browser sends them as an Authorization header, which is a credential of its own)."""
    if isinstance(url, str):
        return USERINFO.sub(r"\1", url)
    first, *rest = url.parts
    return Text((USERINFO.sub(r"\1", first), *rest)) if isinstance(first, str) else url


def _stats_name(call: Call) -> str | None:
    """The URL template, and for GraphQL the operation: one statistics row per query."""
    operation = None
    if call.body and call.body.kind == "json" and isinstance(call.body.value, dict):
        operation = call.body.value.get("operationName")
    elif isinstance(call.url, str) and ("operationName" in call.url or "%" in call.url):
        # (a URL that names no operation, plainly or percent-encoded, is not parsed)
        operation = dict(parse_qsl(urlsplit(call.url).query)).get("operationName")
    if not isinstance(operation, str) or not operation:
        return call.name
    path = call.name or urlsplit(call.url if isinstance(call.url, str) else "").path
    return f"{path} {operation}"


def _save(extractions: list[Extraction]) -> Collection:
    save = _dict(
        (literal(e.var), Collection(f"{EXTRACTORS[e.source]}(", ")", _extractor_arguments(e)))
        for e in extractions
    )
    save.comments = [comment(e.note) for e in extractions]
    return save


def _extractor_arguments(extraction: Extraction) -> list[Node]:
    regular = extraction.source in ("regex", "location")
    arguments: list[Node] = [Code(literal(extraction.path, raw=regular))]
    if extraction.near is not None:
        side = "before" if extraction.before else "after"
        arguments.append(Pair(Code(side), "=", Code(literal(extraction.near))))
    return arguments


def _body(body: Body) -> Pair:
    if body.kind == "json":
        return Pair(Code("json"), "=", json_node(body.value))
    if body.kind == "form":
        keys = [k for k, _ in body.fields]
        if len(set(keys)) == len(keys):
            # `_dict`'s entries of one Code each, made at once: a form may have thousands
            fields = Collection(
                "{", "}", [Code(f"{literal(k)}: {literal(v)}") for k, v in body.fields]
            )
        else:
            fields = Collection(
                "[",
                "]",
                [
                    Collection("(", ")", [Code(literal(k)), Code(literal(v))])
                    for k, v in body.fields
                ],
            )
        return Pair(Code("data"), "=", fields)
    if body.kind == "text":
        return Pair(Code("data"), "=", Code(literal(body.text)))
    return Pair(Code("data"), "=", Code(literal(body.raw)))


def _dict(pairs: Iterable[tuple[str, Node]]) -> Collection:
    """`{key: value, ...}` of keys written as code: an entry whose value is one Code is one Code
    (laid out alike, never broken), as a form or a JSON list of records has thousands."""
    return Collection(
        "{",
        "}",
        [
            Code(f"{k}: {v.text}") if isinstance(v, Code) else Pair(Code(k), ": ", v)
            for k, v in pairs
        ],
    )


def json_node(obj) -> Node:
    """Decoded JSON (with refs) as a Python literal."""
    if isinstance(obj, dict):
        return _dict((literal(str(k)), json_node(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return Collection("[", "]", [json_node(v) for v in obj])
    return Code(literal(obj))


# Layout


NON_ASCII = re.compile(r"[^\x00-\x7f]")


def width(text: str) -> int:
    """Columns `text` takes as ruff counts them (unicode-width, per character): two for an
    East Asian wide or fullwidth character, none for a combining mark, one for the rest."""
    if text.isascii():  # nearly always, and known without reading the text
        return len(text)
    extra = Counter(NON_ASCII.findall(text))
    return len(text) + sum((_char_width(c) - 1) * n for c, n in extra.items())


@functools.cache
def _char_width(c: str) -> int:
    if unicodedata.east_asian_width(c) in ("W", "F"):
        return 2
    return 0 if unicodedata.category(c) in ("Mn", "Me") else 1


def _call_expression(expr: str) -> Collection | None:
    """A parameter's expression if it is a call (`self.credential("...")`), as one: a line
    too wide for it then breaks inside the parentheses, as ruff breaks it."""
    try:
        call = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(call, ast.Call) or any(isinstance(a, ast.GeneratorExp) for a in call.args):
        return None  # (a lone generator argument takes no trailing comma)
    items: list[Node] = [Code(ast.get_source_segment(expr, a) or "") for a in call.args]
    for k in call.keywords:
        value = ast.get_source_segment(expr, k.value) or ""
        items.append(Code(f"{k.arg}={value}" if k.arg else f"**{value}"))
    node = Collection(f"{ast.get_source_segment(expr, call.func)}(", ")", items)
    return node if _flat(node, width(expr)) == expr else None  # spaced as written, or left be


def _assign(target: str, value: str, depth: int) -> list[str]:
    """`target = value`; a string too long for the line goes in parentheses if it then fits."""
    line = f"{INDENT * depth}{target} = {value}"
    wrapped = len(INDENT) * (depth + 1) + width(value)
    if width(line) <= WIDTH or not value.startswith(('"', 'r"')) or wrapped > WIDTH:
        return [line]
    return [f"{INDENT * depth}{target} = (", f"{INDENT * (depth + 1)}{value}", f"{INDENT * depth})"]


def _statement(prefix: str, node: Node, depth: int) -> list[str]:
    margin = INDENT * depth
    lines = _layout(node, len(margin) + width(prefix), 0, margin)
    lines[0] = margin + prefix + lines[0]
    return lines


def _flat(node: Node, room: int) -> str | None:
    """The one-line form if it takes at most `room` columns, else None (computed no further)."""
    if isinstance(node, Code):
        return node.text if width(node.text) <= room else None
    if isinstance(node, Pair):
        head = f"{node.key.text}{node.separator}"
        val = _flat(node.value, room - width(head))
        return None if val is None else head + val
    if any(node.comments):
        return None
    room -= len(node.open) + len(node.close)
    parts = []
    for item in node.items:
        part = _flat(item, room)
        if part is None:
            return None
        parts.append(part)
        room -= width(part) + 2
    return f"{node.open}{', '.join(parts)}{node.close}"


def _layout(node: Node, column: int, trailing: int, margin: str) -> list[str]:
    """Lines for `node` starting at `column`, leaving `trailing` columns for what follows, on
    a line indented by `margin`: the first line without what precedes the node on it, every
    other line indented in full, so each line is built once however deep it is."""
    if isinstance(node, Code):  # never broken, whatever room there is
        return [node.text]
    flat = _flat(node, WIDTH - column - trailing)
    if flat is not None:
        return [flat]
    if isinstance(node, Pair):
        head = f"{node.key.text}{node.separator}"
        lines = _layout(node.value, column + width(head), trailing, margin)
        lines[0] = head + lines[0]
        return lines
    inner = margin + INDENT
    lines = [node.open]
    comments = node.comments or [""] * len(node.items)
    for item, note in zip(node.items, comments, strict=True):
        if note:
            lines.append(f"{inner}# {note}")
        first, *rest = _layout(item, column + len(INDENT), 1, inner)
        if rest:
            lines += [inner + first, *rest[:-1], f"{rest[-1]},"]
        else:
            lines.append(f"{inner}{first},")
    lines.append(margin + node.close)
    return lines
