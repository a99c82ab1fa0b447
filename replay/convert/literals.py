"""Recorded data as Python source: the only way recorded text reaches a generated module.

A capture is untrusted input: a quote, a backslash, a line break or a `{` in a header, a URL
or a page title must come out as data, never as code. `literal` makes an expression that
evaluates to the value, `docstring` and `comment` make text that stays text. Codegen and the
stages that write expressions (`self.live_origin(...)`, a rules file's constants) call these;
nothing else puts recorded text into code.
"""

from __future__ import annotations

import math
import re

from replay.convert.scenario import Ref, Text

ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def literal(value, *, raw: bool = False) -> str:
    """An expression that evaluates to `value`: a string, an f-string for a Text (its refs
    interpolated), bytes, a number, a bool or None. `raw`: a regular expression, written as a
    raw string where one can hold it, so it reads as the user would write it."""
    if isinstance(value, str):
        return _raw(value) if raw and _raw_safe(value) else _string(value)
    if isinstance(value, Text):
        return _template(value)
    if isinstance(value, Ref):
        return ref_expression(value)
    if isinstance(value, bytes):
        return _bytes(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    raise TypeError(f"no literal for {type(value).__name__}")


def docstring(*lines: str) -> str:
    """A triple-quoted docstring holding `lines` as they read (one line, or a summary line,
    a blank line and the rest)."""
    escaped = [_escape(line, "").replace('"""', '\\"\\"\\"') for line in lines]
    if len(escaped) > 1:
        return "\n".join(['"""' + escaped[0], "", *escaped[1:], '"""'])
    return f'"""{escaped[0]} """' if escaped[0].endswith('"') else f'"""{escaped[0]}"""'


def comment(text: str) -> str:
    """`text` on one comment line: line breaks and other controls are shown escaped."""
    if text.isprintable():  # nearly always: one check, not one per character
        return text
    return "".join(c if c.isprintable() else _escape_char(c) for c in text)


ENCODERS = {"url": "urlencoded", "json": "json_escaped"}
"""The runtime function that escapes a Ref of each encoding ("int" is the builtin)."""


def ref_expression(ref: Ref) -> str:
    """A run-time value, encoded as the request sends it: `url+url` is percent-encoded twice."""
    expr = ref.expr
    for encoding in ref.encodings:
        expr = f"{ENCODERS.get(encoding, encoding)}({expr})"
    return expr


def _string(s: str) -> str:
    if PLAIN.fullmatch(s):  # nearly always: one check in C, not counts and escapes
        return f'"{s}"'
    quote = _quote_for(s)
    return f"{quote}{_escape(s, quote)}{quote}"


def _raw_safe(s: str) -> bool:
    return s.isprintable() and not s.endswith("\\") and not ('"' in s and "'" in s)


def _raw(s: str) -> str:
    quote = "'" if '"' in s else '"'
    return f"r{quote}{s}{quote}"


def _template(text: Text) -> str:
    """An f-string: literal pieces escaped (braces doubled), refs interpolated."""
    parts = text.parts
    if len(parts) == 1 and isinstance(parts[0], Ref) and not parts[0].encode:
        return parts[0].expr
    expressions = [ref_expression(p) for p in parts if isinstance(p, Ref)]
    quote = _quote_for("".join(p if isinstance(p, str) else "\0" for p in parts))
    if any(quote in e for e in expressions):  # an f-string's expressions cannot hold its quote
        quote = "'" if quote == '"' else '"'
    out, interpolated = [], iter(expressions)
    for part in parts:
        if isinstance(part, str):
            out.append(_escape(part, quote).replace("{", "{{").replace("}", "}}"))
        else:
            out.append("{" + next(interpolated) + "}")
    return f"f{quote}{''.join(out)}{quote}"


def _bytes(raw: bytes) -> str:
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


def _quote_for(s: str) -> str:
    """ruff's choice: double quotes unless that needs more escapes than single quotes."""
    return "'" if s.count('"') > s.count("'") else '"'


def _escape(s: str, quote: str) -> str:
    """`s` inside a (non-raw) string literal quoted with `quote` ("" inside a docstring)."""
    if s.isprintable() and "\\" not in s and (not quote or quote not in s):
        return s
    # Runs of printable ASCII are copied by the regex engine: a megabyte body of text lines
    # is not a megabyte of Python steps.
    return NOT_PLAIN.sub(lambda match: _escaped(match[0], quote), s)


PLAIN = re.compile(r"[ !#-&(-\[\]-~]*")
"""Printable ASCII without quotes or a backslash: written as it is, between double quotes."""
NOT_PLAIN = re.compile(r"""[^ -~]|["'\\]""")
"""Every character that is not printable ASCII, and the quotes and backslash."""


def _escaped(c: str, quote: str) -> str:
    if c == "\\" or c == quote:
        return "\\" + c
    return c if c.isprintable() else _escape_char(c)


def _escape_char(c: str) -> str:
    if c in ESCAPES:
        return ESCAPES[c]
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
