"""Parameterization: what the user typed becomes per-user data; what is secret leaves the file.

A value counts as typed when a request sends it and no response made it (correlation runs
first and has already turned server-made values into variables). It is classified by the
field it is sent in and by its shape: a Faker call, a value unique across the whole run, or a
credential read at run time. One variable per distinct value, so the e-mail a user signed up
with is the one they log in with.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit

from replay.convert.rules import NO_RULES, ParameterRule, Rules
from replay.convert.scenario import Call, Parameter, Ref, Scenario, Text, Value
from replay.names import identifier, numbered

SIGN_UP = re.compile(r"sign-?up|register|registration|join|create[-_]?account|/users/?$", re.I)
EMAIL = re.compile(r"^[\w.+\-]+@[\w\-]+(\.[\w\-]+)+$")
SECRET_FIELD = re.compile(
    r"pass(word|wd|phrase)?$|^pwd$|secret|^pin$|otp|totp|api_?key|(?<!csrf_)(?<!xsrf_)token$",
    re.I,
)
PASSWORD_FIELD = re.compile(r"pass(word|wd|phrase)?$|^pwd$", re.I)
SECRET_HEADER = re.compile(r"^(authorization|x-api-key|api-key|x-auth-token|x-access-token)$", re.I)
IDENTITY_FIELD = re.compile(r"^(e-?mail|user(name)?|login|user_?id|account)$", re.I)
CACHE_BUSTER = re.compile(r"^(_|t|ts|time|timestamp|cb|cachebust(er)?|nocache|rnd|rand|v)$", re.I)
CLIENT_ID_HEADER = re.compile(r"request-?id|idempotency|correlation-?id|trace-?id|nonce", re.I)
NONCE = re.compile(r"^(state|nonce|code_verifier|idempotency[-_]?key)$", re.I)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

WORDS = r"^[^\W\d_][^\W\d_ .'\-]*([ .'\-]+[^\W\d_]+)*\.?$"
"""Letters in words: a name, a city, a search term; not a URL, an id or a JSON document."""
PROSE = r"^(?!.*://)(?![\[{])[^\n]{2,300}$"
ANY = r"^(?!.*://).{1,120}$"

# Field name → Faker provider and the shape a recorded value must have, first match wins.
PROVIDERS: tuple[tuple[re.Pattern, str, re.Pattern], ...] = tuple(
    (re.compile(pattern, re.I), provider, re.compile(shape))
    for pattern, provider, shape in (
        (r"first_?name|given_?name|fname", "first_name()", WORDS),
        (r"last_?name|surname|family_?name|lname", "last_name()", WORDS),
        (r"^(full_?)?name$|display_?name|your_?name", "name()", WORDS),
        (r"user_?name|login|nick|handle", "user_name()", r"^[\w.\-]{2,40}$"),
        (r"phone|mobile|^tel", "phone_number()", r"^\+?[\d ()./\-]{6,20}$"),
        (r"street|address", "street_address()", ANY),
        (r"city|town", "city()", WORDS),
        (r"zip|post_?code|postal", "postcode()", r"^[\w \-]{3,10}$"),
        (r"country", "country()", WORDS),
        (r"company|organi[sz]ation|employer", "company()", ANY),
        (r"job|occupation", "job()", WORDS),
        (r"^(q|query|search|term|keywords?)$", "word()", WORDS),
        (r"birth|dob", "date()", r"^\d{4}-\d\d-\d\d$"),
        (r"comment|message|body|text|description|note|content|bio|review", "sentence()", PROSE),
    )
)


@dataclass(slots=True)
class Typed:
    """One distinct value the user typed, and what it becomes."""

    value: str
    field: str
    first_call: int
    uses: int = 1
    """How many requests send it."""
    last_call: int = -1
    kind: str = ""
    """"secret", "credential", "unique", "fake" or "" (left as recorded)."""
    expr: str = ""


def parameterize(scenario: Scenario, rules: Rules = NO_RULES) -> Scenario:
    """Replace typed values with per-user parameters; secrets never stay in the scenario."""
    calls = list(scenario.calls)
    typed = _typed_values(calls)
    names, last = {correlation.var for correlation in scenario.correlations}, {}
    typed_per_field = Counter(item.field for item in typed.values())
    refs: dict[str, Ref] = {}
    for item in typed.values():
        rule = rules.parameters.get(item.field)
        if rule:
            item.kind, item.expr = "rule", rule.expr
        else:
            _classify(item, calls)
        if item.kind == "fake" and item.uses == 1 and typed_per_field[item.field] > 1:
            item.kind = "inline"  # a field typed anew each time: a fresh value each time
        if item.kind == "inline":
            refs[item.value] = Ref(item.expr)
        elif item.kind:
            var = numbered(_var_for(item), names, last)
            refs[item.value] = Ref(f"self.{var}")
            scenario.parameters.append(_parameter(item, var, rule))
    if refs:
        for call in calls:
            call.url = _substitute_query(call.url, refs)
            if call.body and call.body.kind == "text":
                call.body.text = _substitute_spans(call.body.text, refs, _multipart_values)
            call.headers = [
                (k, _substitute_query(v, refs) if k.lower() == "referer" else v)
                for k, v in call.headers
            ]
            call.substitute(_replacer(refs))
    return scenario


def _parameter(item: Typed, var: str, rule: ParameterRule | None) -> Parameter:
    comment = _comment(item)
    if rule:
        return Parameter(var, rule.expr, comment, rule.kind, rule.credential)
    if item.kind in ("secret", "credential"):  # $REPLAY_<VAR>, or the accounts column
        return Parameter(var, f'self.credential("{var}")', comment, "credential", var)
    return Parameter(var, item.expr, comment, "generated")


def _typed_values(calls: list[Call]) -> dict[str, Typed]:
    found: dict[str, Typed] = {}
    for index, call in enumerate(calls):
        for field, value in _fields(call):
            if not value:
                continue
            item = found.get(value)
            if item is None:
                found[value] = Typed(value, field, index, last_call=index)
            elif item.last_call != index:
                item.uses += 1
                item.last_call = index
    return found


def _fields(call: Call) -> Iterator[tuple[str, str]]:
    """(field name, literal value) for every value a user could have typed in this request."""
    for _, name, value in _query_pairs(call.url):
        yield name, value
    for name, value in call.headers:
        if isinstance(value, str) and (SECRET_HEADER.match(name) or CLIENT_ID_HEADER.search(name)):
            yield name, value
    body = call.body
    if body is None:
        return
    if body.kind == "form":
        yield from ((k, v) for k, v in body.fields if isinstance(v, str))
    elif body.kind == "json":
        yield from _json_strings(body.value, "")
    elif body.kind == "text":
        for part in _literal_parts(body.text):
            yield from ((name, part[start:end]) for name, start, end in _multipart_fields(part))


def _literal_parts(value: Value) -> tuple:
    return (
        tuple(p for p in value.parts if isinstance(p, str)) if isinstance(value, Text) else (value,)
    )


def _json_strings(value, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _json_strings(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v, key)
    elif isinstance(value, str):
        yield key, value


def _classify(item: Typed, calls: list[Call]) -> None:
    field, value = item.field, item.value
    signing_up = _is_sign_up(calls[item.first_call])
    if CACHE_BUSTER.match(field) and value.isdigit() and len(value) in (10, 13):
        item.kind, item.expr = "inline", "self.now_ms()" if len(value) == 13 else "self.now()"
    elif CLIENT_ID_HEADER.search(field) and UUID.match(value):
        item.kind, item.expr = "inline", "self.uuid()"
    elif NONCE.match(field) and len(value) >= 8:
        item.kind, item.expr = "fake", "self.unique.value()"
    elif SECRET_HEADER.match(field):
        item.kind = "secret"
    elif SECRET_FIELD.search(field):
        if signing_up and PASSWORD_FIELD.search(field):
            item.kind, item.expr = "fake", "self.fake.password(length=14)"
        else:
            item.kind = "secret"
    elif EMAIL.match(value) or re.search(r"e-?mail", field, re.I):
        if signing_up:
            item.kind, item.expr = "unique", "self.unique.email()"
        elif _sent_with_secret(calls[item.first_call]):
            item.kind = "credential"
        else:
            item.kind, item.expr = "fake", "self.fake.email()"
    elif IDENTITY_FIELD.match(field) and _sent_with_secret(calls[item.first_call]):
        if signing_up:
            item.kind, item.expr = "unique", "self.unique.user_name()"
        else:
            item.kind = "credential"
    else:
        provider = next(
            (p for pattern, p, shape in PROVIDERS if pattern.search(field) and shape.match(value)),
            "",
        )
        if provider:
            unique = signing_up and provider == "user_name()"
            item.kind = "unique" if unique else "fake"
            item.expr = f"self.unique.{provider}" if unique else f"self.fake.{provider}"


def _is_sign_up(call: Call) -> bool:
    return call.method in ("POST", "PUT") and bool(
        SIGN_UP.search(urlsplit(call.url if isinstance(call.url, str) else "").path)
    )


def _sent_with_secret(call: Call) -> bool:
    return any(SECRET_FIELD.search(field) for field, _ in _fields(call))


def _var_for(item: Typed) -> str:
    if item.kind in ("secret", "credential") and PASSWORD_FIELD.fullmatch(item.field):
        return "password"
    if item.expr.endswith("email()") or (item.kind == "credential" and EMAIL.match(item.value)):
        return "email"
    return identifier(item.field, "value")


def _comment(item: Typed) -> str:
    if item.kind == "secret" or (item.kind == "fake" and "password" in item.expr):
        return "never stored in the recording"
    shown = item.value if len(item.value) <= 60 else item.value[:57] + "..."
    return f"recorded: {shown}"


def _replacer(refs: dict[str, Ref]):
    """Whole-value replacement: a typed value is a field's entire value, never a fragment."""

    def find(text: str) -> Value:
        ref = refs.get(text)
        return Text((ref,)) if ref else text

    return find


QUERY_PAIR = re.compile(r"([?&])([^=&#?]+)=([^&#]*)")
MULTIPART_TEXT_FIELD = re.compile(r'Content-Disposition: form-data; name="([^"]+)"', re.I)
"""The header line of a multipart text field (file parts have a filename and stay as recorded)."""


def _query_pairs(url: Value) -> Iterator[tuple[re.Match, str, str]]:
    """(match, name, decoded value) for every query pair in the literal parts of a URL."""
    for part in url.parts if isinstance(url, Text) else (url,):
        if isinstance(part, str):
            for match in QUERY_PAIR.finditer(part):
                yield match, unquote_plus(match.group(2)), unquote_plus(match.group(3))


def _multipart_fields(text: str) -> Iterator[tuple[str, int, int]]:
    """(name, start, end) of each text field's value in a multipart body. Each part is read
    once, up to the next line that starts with `--`: parts never closed cost one pass in all."""
    start = 0
    while (end := text.find("\r\n--", start)) >= 0:
        head_end = text.find("\r\n\r\n", start, end)
        if head_end >= 0:
            for line in text[start:head_end].split("\r\n"):
                field = MULTIPART_TEXT_FIELD.fullmatch(line)
                if field:
                    yield field[1], head_end + 4, end
                    break
        start = end + 4


def _multipart_values(text: str) -> Iterator[tuple[int, int]]:
    return ((start, end) for _, start, end in _multipart_fields(text))


def _query_values(text: str) -> Iterator[tuple[int, int]]:
    return ((match.start(3), match.end(3)) for match in QUERY_PAIR.finditer(text))


def _substitute_query(url: Value, refs: dict[str, Ref]) -> Value:
    """Query values that are parameters become refs, percent-encoded as the browser sent them."""
    return _substitute_spans(url, refs, _query_values, decode=unquote_plus)


def _substitute_spans(
    text: Value,
    refs: dict[str, Ref],
    spans: Callable[[str], Iterator[tuple[int, int]]],
    decode=None,
) -> Value:
    """Replace the values at the `spans` of each literal piece that are parameters."""
    parts: list[str | Ref] = []
    changed = False
    for part in text.parts if isinstance(text, Text) else (text,):
        if not isinstance(part, str):
            parts.append(part)
            continue
        position = 0
        for start, end in spans(part):
            ref = refs.get(decode(part[start:end]) if decode else part[start:end])
            if ref is None:
                continue
            encoded = decode is not None and not ref.expr.endswith("()")
            parts += [part[position:start], Ref(ref.expr, "url") if encoded else ref]
            position, changed = end, True
        parts.append(part[position:])
    return _merge(parts) if changed else text


def _merge(parts: list[str | Ref]) -> Text:
    merged: list[str | Ref] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    return Text(tuple(merged))
