"""Known secrets sent again where no rule looks.

Parameterization makes a value a credential where a rule of `recorder/sensitive.py` calls it
secret: its field's name, its shape, its place. The same value sent again elsewhere (a path
segment, a header of another name, a field under an innocent name, a Referer, a redirect's
`Location`) is the same secret: every literal piece of every request is searched for the
known values, as sent and percent-encoded, in one pass, and each becomes its credential's
ref. Step names, docstrings, statistics names and comments then show the variable, never the
value (`# recorded: key [x_api_key]`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import quote, urlsplit

from replay.convert.scenario import Call, Ref, Scenario, Text, Value, one_of, substitute_value
from replay.convert.steps import step_name
from replay.names import url_template

MIN_LENGTH = 8
"""Shorter secrets (a PIN, a four-letter password) are left where no rule finds them: as a
path segment or a word they are as likely an id or a page's name, and replacing every `1234`
or `admin` would break ordinary replays."""
EDGE = "[A-Za-z0-9]"
"""A known value counts only as a whole: not inside a longer run of letters and digits."""


def hide_known(scenario: Scenario, known: dict[str, Ref]) -> None:
    """Every whole occurrence of a `known` secret value (value → its credential's ref) that a
    request still sends literally becomes the ref."""
    secrets = {value: ref for value, ref in known.items() if len(value) >= MIN_LENGTH}
    if not secrets:
        return
    plain: dict[str, Ref] = {}
    in_url: dict[str, Ref] = {}
    for value, ref in secrets.items():
        encoded = quote(value, safe="", errors="surrogatepass")
        plain.setdefault(value, ref)
        in_url.setdefault(value, Ref(ref.expr, "url"))
        plain.setdefault(encoded, Ref(ref.expr, "url"))  # a URL inside a header or a field
        in_url.setdefault(encoded, Ref(ref.expr, "url"))
    pattern = _whole(plain)
    labels = {value: f"[{ref.expr.removeprefix('self.')}]" for value, ref in plain.items()}
    scenario.hidden = labels
    renames: dict[str, str] = {}
    taken = {step.name for step in scenario.steps}
    for step in scenario.steps:
        hits = [_hide(call, pattern, plain, in_url) for call in step.calls]
        if hits and hits[0]:  # named after its first request's path: after the variable now
            first = step.calls[0]
            name = step_name(first.method, urlsplit(_shown(first.url)).path)
            renames[step.name] = _renamed(step.name, name, taken)
            step.name = renames[step.name]
    named = _whole(renames, edge=r"\w")

    def shown(text: str) -> str:
        """Text for people (a docstring, a note naming a step or a request) with each secret
        as its variable (`/api/check/[password]`), and a renamed step by its new name."""
        text = pattern.sub(lambda m: labels[m[0]], text)
        return named.sub(lambda m: renames[m[0]], text) if renames else text

    for step in scenario.steps:
        step.title = shown(step.title)
        for call in step.calls:  # notes name the request a value was read from
            call.extractions = [replace(e, note=shown(e.note)) for e in call.extractions]
    scenario.parameters = [replace(p, comment=shown(p.comment)) for p in scenario.parameters]
    scenario.correlations = [
        replace(c, source=shown(c.source), sinks=tuple(map(shown, c.sinks)))
        for c in scenario.correlations
    ]


def relabeled(lines: list[str], hidden: dict[str, str]) -> list[str]:
    """`lines` (a summary's: a warning names a request by its recorded URL) with each
    `hidden` secret as its label."""
    if not hidden:
        return lines
    pattern = _whole(hidden)
    return [pattern.sub(lambda m: hidden[m[0]], line) for line in lines]


def _whole(values, edge: str = EDGE) -> re.Pattern:
    """Any of `values` as a whole: not inside a longer run of `edge` characters."""
    return re.compile(f"(?<!{edge})(?:{one_of(list(values))})(?!{edge})")


def _hide(call: Call, pattern: re.Pattern, plain: dict[str, Ref], in_url: dict[str, Ref]) -> bool:
    """`call` sending the refs where it sent a known secret literally; a URL that held one is
    named by its template with the variable (`/api/check/[password]`). Whether it did."""
    url, elsewhere = Finder(pattern, in_url), Finder(pattern, plain)
    call.url = substitute_value(call.url, url)
    if url.hits:
        call.name = url_template(urlsplit(_shown(call.url)).path)
    call.headers = [(k, substitute_value(v, elsewhere)) for k, v in call.headers]
    text = call.body is not None and call.body.kind == "text"
    call.substitute_body(Finder(pattern, plain, quoted=text))
    if call.location is not None:
        call.location = substitute_value(call.location, url)
    return bool(url.hits)


class Finder:
    """A `find` for `Call.substitute`: each occurrence becomes its ref (`quoted`: inside a
    JSON string of a text body, a `"` before it, one escaped for JSON); counts its hits."""

    def __init__(self, pattern: re.Pattern, refs: dict[str, Ref], quoted: bool = False) -> None:
        self.pattern, self.refs, self.quoted = pattern, refs, quoted
        self.hits = 0

    def __call__(self, text: str) -> Value:
        parts: list[str | Ref] = []
        position = 0
        for match in self.pattern.finditer(text):
            ref = self.refs[match[0]]
            if self.quoted and not ref.encode and text[match.start() - 1 : match.start()] == '"':
                ref = Ref(ref.expr, "json")
            parts += [text[position : match.start()], ref]
            position = match.end()
        if not parts:
            return text
        self.hits += 1
        parts.append(text[position:])
        return Text(tuple(p for p in parts if p != ""))


def _shown(url: Value) -> str:
    """`url` with each ref as `[name]`: what a statistics name shows."""
    if isinstance(url, str):
        return url
    return "".join(
        p if isinstance(p, str) else f"[{p.expr.removeprefix('self.')}]" for p in url.parts
    )


def _renamed(old: str, new: str, taken: set[str]) -> str:
    """`new` for the step named `old`, numbered when another step has that name."""
    taken.discard(old)
    name, count = new, 1
    while name in taken:
        count += 1
        name = f"{new}_{count}"
    taken.add(name)
    return name
