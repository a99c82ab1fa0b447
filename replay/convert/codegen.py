"""Scenario → a Python module a Locust user can read in a minute and edit.

Output is laid out the way `ruff format` lays it out (any configuration: a line that does not
fit in 88 columns is exploded one item per line with a trailing comma, which ruff keeps), so
generated files pass `ruff format --check` and `ruff check` without our help.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from replay.convert.scenario import Body, Call, Extraction, Ref, Scenario, Step, Text, Value

WIDTH = 88
SHARED_VALUE_LENGTH = 40
CREDENTIAL = re.compile(r'self\.credential\("([^"]+)"\)')
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


def render(scenario: Scenario) -> str:
    """The module for one recording."""
    lines = [
        f'"""{_docstring(scenario.source)}, recorded {scenario.recorded or "(no date)"}.',
        "",
        f"Converted from {scenario.entries} recorded requests: {_summary(scenario)}.",
        "Edit freely; `replay convert` writes a new file rather than merging into this one.",
        '"""',
        "",
        *_imports(scenario),
    ]
    if scenario.default_headers:
        headers = _dict((Code(string(k)), Code(string(v))) for k, v in scenario.default_headers)
        lines += ["", *_statement("HEADERS = ", headers, 0)]
    constants = _shared_header_values(scenario)
    if constants:
        lines.append("")
        for v, name in constants.items():
            lines += _assign(name, string(v), 0)
    lines += [
        "",
        "",
        f"class {scenario.name}(RecordedSession):",
        f'{INDENT}"""{_docstring(_counts(scenario))}"""',
        "",
        *_assign("recorded_host", string(scenario.host), 1),
        *_assign("capture", string(scenario.source), 1),
        f"{INDENT}weight = 1",
    ]
    if scenario.default_headers:
        lines.append(f"{INDENT}default_headers = HEADERS")
    if scenario.locale != "en_US":
        lines.append(f"{INDENT}locale = {string(scenario.locale)}")
    credentials = sorted(set(CREDENTIAL.findall(" ".join(p.expr for p in scenario.parameters))))
    if len(credentials) == 1:
        lines.append(f"{INDENT}credentials = ({string(credentials[0])},)")
    elif credentials:
        names = Collection("(", ")", [Code(string(c)) for c in credentials])
        lines += _statement("credentials = ", names, 1)
    if scenario.parameters:
        lines += ["", f"{INDENT}def on_start(self):"]
        for p in scenario.parameters:
            if p.comment:
                lines.append(f"{INDENT * 2}# {_comment(p.comment)}")
            lines += _assign(f"self.{p.var}", p.expr, 2)
    # Each step joined on its own: a module of 20,000 requests is never 300,000 separate lines.
    steps = ("\n".join(["", *_step(step, constants)]) for step in scenario.steps)
    return "\n".join([*lines, *steps]) + "\n"


def _shared_header_values(scenario: Scenario) -> dict[str, str]:
    """Long header values many requests send alike (a browser's Accept) get a name, once."""
    uses: dict[tuple[str, str], int] = {}
    for call in scenario.calls:
        for name, v in call.headers:
            if isinstance(v, str) and len(v) >= SHARED_VALUE_LENGTH:
                uses[name, v] = uses.get((name, v), 0) + 1
    shared = [(name, v) for (name, v), count in uses.items() if count > 1]
    several = {n.lower() for n, _ in shared if sum(m.lower() == n.lower() for m, _ in shared) > 1}
    constants: dict[str, str] = {}
    for name, v in shared:
        if v in constants:
            continue
        base = re.sub(r"\W", "_", name).upper().strip("_") or "HEADER"
        if name.lower() in several and name.lower() == "accept":
            base += f"_{_media_kind(v)}"  # ACCEPT_HTML, ACCEPT_JSON rather than ACCEPT_2
        constant, n = base, 1
        while constant in constants.values() or constant == "HEADERS":
            n += 1
            constant = f"{base}_{n}"
        constants[v] = constant
    return constants


def _media_kind(accept: str) -> str:
    """`HTML` for text/html,..., `JSON` for application/json, `ANY` for */*."""
    first = accept.split(",", 1)[0].split(";", 1)[0].strip()
    kind = first.rsplit("/", 1)[-1].split("+")[-1]
    return "ANY" if kind == "*" else re.sub(r"\W", "_", kind).upper().strip("_") or "ANY"


def _imports(scenario: Scenario) -> list[str]:
    names = {"RecordedSession", "task"}
    names |= {EXTRACTORS[e.source] for call in scenario.calls for e in call.extractions}
    if any(_uses_url_encoding(call) for call in scenario.calls):
        names.add("urlencoded")
    runtime = ", ".join(sorted(names, key=lambda n: (not n[0].isupper(), n)))
    return [f"from replay.runtime import {runtime}"]


EXTRACTORS = {
    "json": "json_path",
    "header": "header",
    "cookie": "cookie",
    "regex": "regex",
    "location": "location",
}


def _uses_url_encoding(call: Call) -> bool:
    texts = [call.url, *(v for _, v in call.headers)]
    if call.body:
        texts += [v for _, v in call.body.fields] + [call.body.text]
        texts += _json_texts(call.body.value)
    return any(isinstance(t, Text) and any(r.encode == "url" for r in t.refs) for t in texts)


def _json_texts(value) -> list[Text]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _json_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _json_texts(v)]
    return [value] if isinstance(value, Text) else []


def _summary(scenario: Scenario) -> str:
    dropped = ", ".join(f"{n} {reason}" for reason, n in sorted(scenario.dropped.items()))
    return f"{scenario.kept} kept" + (f", dropped {dropped}" if dropped else "")


def _counts(scenario: Scenario) -> str:
    host = scenario.host.split("://")[-1]
    return (
        f"{host}, recorded {scenario.recorded or '(no date)'}: "
        f"{_plural(scenario.kept, 'request')} kept of {scenario.entries}, "
        f"{_plural(len(scenario.correlations), 'correlation')}, "
        f"{_plural(len(scenario.parameters), 'parameter')}."
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _docstring(text: str) -> str:
    """Text safe inside a triple-quoted docstring."""
    escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    escaped = "".join(c if c.isprintable() else _escape_char(c) for c in escaped)
    return escaped + " " if escaped.endswith('"') else escaped


def _comment(text: str) -> str:
    return "".join(c if c.isprintable() else _escape_char(c) for c in text)


def _step(step: Step, constants: dict[str, str]) -> list[str]:
    lines = [
        f"{INDENT}@task",
        f"{INDENT}def {step.name}(self):",
        f'{INDENT * 2}"""{_docstring(step.title)}"""',
    ]
    for call in step.calls:
        lines += _statement("", _call(call, constants), 2)
    if step.think:
        lines.append(f"{INDENT * 2}self.think({step.think})")
    return lines


def _call(call: Call, constants: dict[str, str]) -> Collection:
    method = call.method.lower()
    known = method in ("get", "post", "put", "patch", "delete")
    items: list[Node] = [] if known else [Code(string(call.method))]
    items.append(Code(value(call.url)))
    name = _stats_name(call)
    if name:
        items.append(Pair(Code("name"), "=", Code(string(name))))
    if call.headers:
        headers = _dict(
            (
                Code(string(k)),
                Code(constants.get(v) or value(v) if isinstance(v, str) else value(v)),
            )
            for k, v in call.headers
        )
        items.append(Pair(Code("headers"), "=", headers))
    if call.body:
        items.append(_body(call.body))
    if call.expect != 200:
        items.append(Pair(Code("expect"), "=", Code(str(call.expect))))
    if call.location is not None:
        items.append(Pair(Code("location"), "=", Code(value(call.location))))
    if call.extractions:
        items.append(Pair(Code("save"), "=", _save(call.extractions)))
    return Collection(f"self.{method if known else 'request'}(", ")", items)


def _stats_name(call: Call) -> str | None:
    """The URL template, and for GraphQL the operation: one statistics row per query."""
    operation = None
    if call.body and call.body.kind == "json" and isinstance(call.body.value, dict):
        operation = call.body.value.get("operationName")
    elif isinstance(call.url, str):
        operation = dict(parse_qsl(urlsplit(call.url).query)).get("operationName")
    if not isinstance(operation, str) or not operation:
        return call.name
    path = call.name or urlsplit(call.url if isinstance(call.url, str) else "").path
    return f"{path} {operation}"


def _save(extractions: list[Extraction]) -> Collection:
    save = _dict(
        (
            Code(string(e.var)),
            Collection(f"{EXTRACTORS[e.source]}(", ")", [Code(_extractor_argument(e))]),
        )
        for e in extractions
    )
    save.comments = [_comment(e.note) for e in extractions]
    return save


def _extractor_argument(extraction: Extraction) -> str:
    regular = extraction.source in ("regex", "location")
    return pattern(extraction.path) if regular else string(extraction.path)


def _body(body: Body) -> Pair:
    if body.kind == "json":
        return Pair(Code("json"), "=", json_node(body.value))
    if body.kind == "form":
        keys = [k for k, _ in body.fields]
        if len(set(keys)) == len(keys):
            fields = _dict((Code(string(k)), Code(value(v))) for k, v in body.fields)
        else:
            fields = Collection(
                "[",
                "]",
                [Collection("(", ")", [Code(string(k)), Code(value(v))]) for k, v in body.fields],
            )
        return Pair(Code("data"), "=", fields)
    if body.kind == "text":
        return Pair(Code("data"), "=", Code(value(body.text)))
    return Pair(Code("data"), "=", Code(bytes_literal(body.raw)))


def _dict(pairs) -> Collection:
    return Collection("{", "}", [Pair(k, ": ", v) for k, v in pairs])


def json_node(obj) -> Node:
    """Decoded JSON (with refs) as a Python literal."""
    if isinstance(obj, dict):
        return _dict((Code(string(str(k))), json_node(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return Collection("[", "]", [json_node(v) for v in obj])
    if isinstance(obj, Ref):
        return Code(_ref_expr(obj))
    if isinstance(obj, str | Text):
        return Code(value(obj))
    if isinstance(obj, float) and not math.isfinite(obj):
        return Code(f'float("{obj}")')
    return Code(repr(obj))


# Layout


def _assign(target: str, value: str, depth: int) -> list[str]:
    """`target = value`; a string too long for the line goes in parentheses if it then fits."""
    line = f"{INDENT * depth}{target} = {value}"
    wrapped = len(INDENT) * (depth + 1) + len(value)
    if len(line) <= WIDTH or not value.startswith(('"', 'r"')) or wrapped > WIDTH:
        return [line]
    return [f"{INDENT * depth}{target} = (", f"{INDENT * (depth + 1)}{value}", f"{INDENT * depth})"]


def _statement(prefix: str, node: Node, depth: int) -> list[str]:
    lines = _layout(node, len(INDENT) * depth + len(prefix), 0)
    lines[0] = prefix + lines[0]
    return [INDENT * depth + line for line in lines]


def _flat(node: Node, room: int) -> str | None:
    """The one-line form if it takes at most `room` columns, else None (computed no further)."""
    if isinstance(node, Code):
        return node.text if len(node.text) <= room else None
    if isinstance(node, Pair):
        head = f"{node.key.text}{node.separator}"
        val = _flat(node.value, room - len(head))
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
        room -= len(part) + 2
    return f"{node.open}{', '.join(parts)}{node.close}"


def _layout(node: Node, column: int, trailing: int) -> list[str]:
    """Lines for `node` starting at `column`, leaving `trailing` columns for what follows."""
    flat = _flat(node, WIDTH - column - trailing)
    if flat is not None:
        return [flat]
    if isinstance(node, Code):
        return [node.text]
    if isinstance(node, Pair):
        head = f"{node.key.text}{node.separator}"
        lines = _layout(node.value, column + len(head), trailing)
        return [head + lines[0], *lines[1:]]
    lines = [node.open]
    comments = node.comments or [""] * len(node.items)
    for item, comment in zip(node.items, comments, strict=True):
        if comment:
            lines.append(f"{INDENT}# {comment}")
        inner = _layout(item, column + len(INDENT), 1)
        inner[-1] += ","
        lines += [INDENT + line for line in inner]
    lines.append(node.close)
    return lines


# Literals


def value(v: Value) -> str:
    """A literal string, or an f-string for a Text."""
    if isinstance(v, str):
        return string(v)
    if len(v.parts) == 1 and isinstance(v.parts[0], Ref) and not v.parts[0].encode:
        return v.parts[0].expr
    literal = "".join(p if isinstance(p, str) else "\0" for p in v.parts)
    quote = _quote_for(literal)
    out = []
    for part in v.parts:
        if isinstance(part, str):
            out.append(_escape(part, quote).replace("{", "{{").replace("}", "}}"))
        else:
            out.append("{" + _ref_expr(part) + "}")
    return f"f{quote}{''.join(out)}{quote}"


def _ref_expr(ref: Ref) -> str:
    if ref.encode == "url":
        return f"urlencoded({ref.expr})"
    return f"int({ref.expr})" if ref.encode == "int" else ref.expr


def pattern(s: str) -> str:
    """A regular expression as a raw string where one can hold it, else a plain literal."""
    quote = '"' if '"' not in s else "'"
    if quote in s or s.endswith("\\") or not s.isprintable():
        return string(s)
    return f"r{quote}{s}{quote}"


def string(s: str) -> str:
    quote = _quote_for(s)
    return f"{quote}{_escape(s, quote)}{quote}"


def bytes_literal(raw: bytes) -> str:
    quote = _quote_for(raw.decode("latin-1"))
    out = []
    for byte in raw:
        c = chr(byte)
        if c == "\\" or c == quote:
            out.append("\\" + c)
        elif 32 <= byte < 127:
            out.append(c)
        else:
            out.append(ESCAPES.get(c) or f"\\x{byte:02x}")
    return f"b{quote}{''.join(out)}{quote}"


ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _quote_for(s: str) -> str:
    """ruff's choice: double quotes unless that needs more escapes than single quotes."""
    return "'" if s.count('"') > s.count("'") else '"'


def _escape(s: str, quote: str) -> str:
    if s.isprintable() and "\\" not in s and quote not in s:
        return s
    out = []
    for c in s:
        if c == "\\" or c == quote:
            out.append("\\" + c)
        elif c.isprintable():
            out.append(c)
        else:
            out.append(_escape_char(c))
    return "".join(out)


def _escape_char(c: str) -> str:
    if c in ESCAPES:
        return ESCAPES[c]
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
