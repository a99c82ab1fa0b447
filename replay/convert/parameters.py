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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from urllib.parse import unquote_plus, urlsplit

from recorder.sensitive import (
    PAIR,
    REDACTED_TOKEN,
    VALUE_KEYS,
    ZEROED,
    encoded_secret,
    json_field,
    password_name,
    redact_text,
    secret_header,
    secret_name,
    secret_spans,
    secret_value,
    shows_secret,
    without_userinfo,
)
from replay.convert.known import hide_known
from replay.convert.literals import literal
from replay.convert.rules import NO_RULES, ParameterRule, Rules
from replay.convert.scenario import (
    Call,
    Extraction,
    Parameter,
    Ref,
    Scenario,
    Text,
    Value,
    substitute_value,
)
from replay.names import identifier, numbered, slugify

Served = Callable[[list[tuple[str, Call]]], set[str]]
"""Of (value, the call that first sends it), the values the site sent in a response before
that call: it made them. Asked once, for every candidate, so it can look in one pass."""

SIGN_UP = re.compile(r"sign-?up|register|registration|join|create[-_]?account|/users/?$", re.I)
SIGN_IN = re.compile(r"log-?in|sign-?in|session|auth|token|sso|oauth", re.I)
CREATE = re.compile(r"/(add|new|create|edit|change|update)(/|$)|/users/?$", re.I)
"""The path of a form that makes or changes an object (Django's `/things/add/`, `/7/change/`)."""
NEW_PASSWORD = re.compile(r"new|confirm|again|repeat|verify|retype|[12]$|[12]\]$", re.I)
"""A password being set rather than given: `new_password1`, `password2`, `..._confirmation`;
so is one a form sends twice (a confirmation) or a sign-up sends."""
OLD_PASSWORD = re.compile(r"old|current|existing", re.I)
"""The password the user already has: a credential even in a change form."""
UNIQUE_FIELD = re.compile(r"title|name|slug|subject|label|^key$|^code$", re.I)
"""What a create form names its object by (a title, a file name): the server wants it unique."""
TYPED_NAME = re.compile(r"^(?=.*[^\W\d_])[^\r\n\\\"<>{}\[\]]{1,120}$")
"""A name a person typed on one line (with a letter), not a text block, markup or an id."""
PERSON = re.compile(r"first_name|last_name|^name")
"""Providers of a person's names (a sign-up's `name`): realistic rather than unique."""
EMAIL = re.compile(r"^[\w.+\-]+@[\w\-]+(\.[\w\-]+)+$")
EMAIL_FIELD = re.compile(r"e-?mail", re.I)
DIGITS = re.compile(r"\d+")
IDENTITY_FIELD = re.compile(r"^(e-?mail|user(name)?|login|user_?id|account)$", re.I)
CACHE_BUSTER = re.compile(r"^(_|t|ts|time|timestamp|cb|cachebust(er)?|nocache|rnd|rand|v)$", re.I)
CLIENT_ID_HEADER = re.compile(r"request-?id|idempotency|correlation-?id|trace-?id|nonce", re.I)
NONCE = re.compile(r"^(state|nonce|code_verifier|idempotency[-_]?key)$", re.I)
BASIC = re.compile(r"^Basic\s", re.I)
"""HTTP Basic: `user:password` in base64, an account rather than a key (REDACTED in a proxy
capture; the scheme alone says so)."""
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
    places: int = 1
    """How many fields send it (a password and its confirmation are two)."""
    last_call: int = -1
    kind: str = ""
    """"secret", "credential", "unique", "fake" or "" (left as recorded)."""
    expr: str = ""


def parameterize(
    scenario: Scenario, rules: Rules = NO_RULES, served: Served = lambda candidates: set()
) -> Scenario:
    """Replace typed values with per-user parameters; secrets never stay in the scenario."""
    calls = list(scenario.calls)
    texts = Texts()
    fields = [_fields(call, texts) for call in calls]  # read once: a body may hold thousands
    typed = _typed_values(fields)
    by_name = Fields()
    site_made = served(
        [
            (item.value, calls[item.first_call])
            for item in typed.values()
            if by_name[item.field].key_like
        ]
    )
    names, last = {correlation.var for correlation in scenario.correlations}, dict[str, int]()
    typed_per_field = Counter(item.field for item in typed.values())
    refs: dict[str, Ref] = {}
    forms: dict[int, Form] = {}
    slugs: dict[str, str] = {}
    """A generated value's slug → that value's variable."""
    for item in typed.values():
        rule = rules.parameters.get(item.field)
        if rule:
            item.kind, item.expr = "rule", rule.expr
        elif item.value in slugs:
            item.kind, item.expr = "derived", f"self.slugify(self.{slugs[item.value]})"
        else:
            if item.first_call not in forms:
                call = calls[item.first_call]
                forms[item.first_call] = _form(call, fields[item.first_call], by_name)
            _classify(item, by_name[item.field], forms[item.first_call], site_made)
        if item.kind == "fake" and item.places == 1 and typed_per_field[item.field] > 1:
            item.kind = "inline"  # a field typed anew each time: a fresh value each time
        if item.kind == "inline":
            refs[item.value] = Ref(item.expr)
        elif item.kind == "basic":
            refs[item.value] = Ref(f"self.{_basic_auth(scenario, item, names, last)}")
        elif item.kind:
            var = numbered(_var_for(item), names, last)
            refs[item.value] = Ref(f"self.{var}")
            scenario.parameters.append(_parameter(item, by_name[item.field], var, rule))
            if item.kind == "unique" and slugify(item.value) != item.value:
                slugs.setdefault(slugify(item.value), var)
    if refs:
        for call in calls:
            call.url = _substitute_query(call.url, refs)
            if call.body and call.body.kind == "text":
                spans = partial(_text_values, texts=texts, refs=refs)
                call.body.text = _substitute_spans(call.body.text, refs, spans)
            call.headers = [
                (k, _substitute_query(v, refs) if k.lower() == "referer" else v)
                for k, v in call.headers
            ]
            call.substitute(_replacer(refs))
            call.extractions = [_near_typed(e, refs) for e in call.extractions]
    made = _scrub(scenario, calls, names, last, refs)
    secrets = {v: refs[v] for v, item in typed.items() if _is_secret(item) and v in refs}
    hide_known(scenario, secrets | made)
    return scenario


def _near_typed(extraction: Extraction, refs: dict[str, Ref]) -> Extraction:
    """An extraction read beside a typed value (its row in a list) is read beside the value
    this user sent in its place."""
    ref = refs.get(extraction.near) if isinstance(extraction.near, str) else None
    if ref is None or "(" in ref.expr:  # a fresh value each time: nothing to find
        return extraction
    return replace(extraction, near=ref)


def _is_secret(item: Typed) -> bool:
    """Whether `item` became a secret (a credential may be an e-mail address): sent again
    anywhere, it is hidden there too (`hide_known`)."""
    return item.kind in ("secret", "basic") or (item.kind == "fake" and "password" in item.expr)


def _parameter(item: Typed, field: Field, var: str, rule: ParameterRule | None) -> Parameter:
    comment = _comment(item, field)
    if rule:
        return Parameter(var, rule.expr, comment, rule.kind, rule.credential)
    if item.kind in ("secret", "credential"):
        return credential_parameter(var, comment)
    return Parameter(var, item.expr, comment, "generated")


def _basic_auth(scenario: Scenario, item: Typed, names: set[str], last: dict) -> str:
    """An `Authorization: Basic` header is built at run time from the account's `username`
    and `password` (the accounts columns a sign-in form reads too), never one opaque value."""
    held = {p.credential: p.var for p in scenario.parameters if p.kind == "credential"}
    for column in ("username", "password"):
        if column not in held:
            held[column] = numbered(column, names, last)
            expr = f'self.credential("{column}")'
            scenario.parameters.append(Parameter(held[column], expr, "", "credential", column))
    expr = f"self.basic_auth(self.{held['username']}, self.{held['password']})"
    built = next((p.var for p in scenario.parameters if p.expr == expr), None)
    if built:  # another recorded account: this user signs in with its own, once
        return built
    var = numbered(_var_for(item), names, last)
    note = "HTTP Basic sign-in with the account above"
    scenario.parameters.append(Parameter(var, expr, note, "generated"))
    return var


def credential_parameter(var: str, comment: str) -> Parameter:
    """`self.<var>` read from the accounts column (or $REPLAY_<NAME>) named after the field:
    `user`, although the attribute is `user_` (RecordedSession has a `user`)."""
    name = var.rstrip("_") or var
    return Parameter(var, f"self.credential({literal(name)})", comment, "credential", name)


def _typed_values(fields: list[list[tuple[str, str]]]) -> dict[str, Typed]:
    """Each distinct value of the calls' `fields`, with the first field and call sending it."""
    found: dict[str, Typed] = {}
    for index, sent in enumerate(fields):
        for field, value in sent:
            if not value:
                continue
            item = found.get(value)
            if item is None:
                found[value] = Typed(value, field, index, last_call=index)
                continue
            item.places += 1
            if item.last_call != index:
                item.uses += 1
                item.last_call = index
    return found


def _fields(call: Call, texts: Texts) -> list[tuple[str, str]]:
    """(field name, literal value) for every value a user could have typed in this request,
    in one list (a form's thousands of fields, yielded one by one, cost twice as much)."""
    found = [(name, text) for _, name, text in _query_pairs(call.url)]
    found += [
        (name, value)
        for name, value in call.headers
        if isinstance(value, str) and (secret_header(name) or CLIENT_ID_HEADER.search(name))
    ]
    body = call.body
    if body is None:
        return found
    if body.kind == "form":
        found += [(k, v) for k, v in body.fields if isinstance(v, str)]
    elif body.kind == "json":
        _json_strings(body.value, "", found)
    elif body.kind == "text":
        for part in _literal_parts(body.text):
            walked = texts[part]
            found += [(name, part[start:end]) for name, start, end in walked.multipart]
            # A text/plain form (`password=...` lines): its secret fields only.
            found += [(n, part[start:end]) for n, start, end in walked.pairs if secret_name(n)]
    return found


def _literal_parts(value: Value) -> tuple:
    return (
        tuple(p for p in value.parts if isinstance(p, str)) if isinstance(value, Text) else (value,)
    )


def _json_strings(value, key: str, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`found` and each (name, string) of `value`, in order: appended to one list, as a generator
    at each level of thousands of objects cost three times as much."""
    if isinstance(value, dict):
        for k, v in value.items():
            k = str(k)
            name = json_field(value, k, key) if k.lower() in VALUE_KEYS else _json_name(k, key)
            _json_strings(v, name, found)
    elif isinstance(value, list):
        for v in value:
            _json_strings(v, key, found)
    elif isinstance(value, str):
        found.append((key, value))
    elif isinstance(value, int) and not isinstance(value, bool) and secret_name(key):
        found.append((key, str(value)))  # a PIN sent as a JSON number
    return found


@lru_cache(maxsize=4096)
def _json_name(key: str, parent: str) -> str:
    """`json_field` of a key no sibling names (only a `value` has its name in a sibling), asked
    once: the thousands of records of a bulk import have the same few keys."""
    return json_field({}, key, parent)


def _classify(item: Typed, field: Field, form: Form, site_made: set[str]) -> None:
    value, role = item.value, form.role
    if not secret_value(value):
        return  # a checkbox, a radio button, a flag: `on`, `true`, `1` stay as recorded
    if value in site_made:
        return  # a key the site hands every visitor (in a page or a script): its own
    if field.cache_buster and value.isdigit() and len(value) in (10, 13):
        item.kind, item.expr = "inline", "self.now_ms()" if len(value) == 13 else "self.now()"
    elif field.client_id and UUID.match(value):
        item.kind, item.expr = "inline", "self.uuid()"
    elif field.nonce and len(value) >= 8:
        item.kind, item.expr = "fake", "self.unique.value()"
    elif field.secret and BASIC.match(value):
        item.kind = "basic"
    elif value in form.new_passwords:
        item.kind, item.expr = "fake", "self.fake.password(length=14)"
    elif field.secret or encoded_secret(value):
        item.kind = "secret"
    elif field.email or EMAIL.match(value):
        if role == "create":
            item.kind, item.expr = "unique", "self.unique.email()"
        elif role == "sign-in":
            item.kind = "credential"
        else:
            item.kind, item.expr = "fake", "self.fake.email()"
    elif field.identity and role == "sign-in":
        item.kind = "credential"
    else:
        provider = (
            next((p for p, shape in field.providers if shape.match(value)), "")
            if field.providers  # most names stand for no provider: no generator for them
            else ""
        )
        if role == "create" and provider == "user_name()":
            item.kind, item.expr = "unique", "self.unique.user_name()"
        elif (
            role == "create"
            and field.unique
            and TYPED_NAME.match(value)
            and not PERSON.search(provider)
        ):
            item.kind, item.expr = "unique", _unique_expr(item.field)
        elif provider:
            item.kind, item.expr = "fake", f"self.fake.{provider}"


@dataclass(frozen=True, slots=True)
class Field:
    """What a field's name says about the values typed in it (see `_classify`)."""

    cache_buster: bool
    client_id: bool
    nonce: bool
    secret: bool
    """A secret header or field name."""
    named_secret: bool
    """A secret field name (a form's, as `_form` reads them)."""
    password: bool
    """A secret that is a password."""
    email: bool
    identity: bool
    unique: bool
    providers: tuple[tuple[str, re.Pattern], ...]
    """The Faker providers the name may stand for, each with the shape a value must have."""

    @property
    def key_like(self) -> bool:
        """Secret by its name (an API key, a token), not a password: maybe the site's own."""
        return self.secret and not self.password


def _field(name: str, secret: bool, named_secret: bool, password: bool) -> Field:
    return Field(
        cache_buster=bool(CACHE_BUSTER.match(name)),
        client_id=bool(CLIENT_ID_HEADER.search(name)),
        nonce=bool(NONCE.match(name)),
        secret=secret,
        named_secret=named_secret,
        password=password,
        email=bool(EMAIL_FIELD.search(name)),
        identity=bool(IDENTITY_FIELD.match(name)),
        unique=bool(UNIQUE_FIELD.search(name)),
        providers=tuple((p, shape) for pattern, p, shape in PROVIDERS if pattern.search(name)),
    )


class Fields(dict[str, Field]):
    """What each field name says, read once per conversion. Thousands of values typed in one
    field ask the same questions, and so do thousands of fields whose names differ only in
    their numbers (`item_1` ... `item_12000`): no pattern `_field` reads matches a digit (a test
    holds this), and neither does any sensitive reads (`ZEROED`), so they share one answer,
    found by the name with its digits made 0 before anything else is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.alike: dict[str, Field] = {}

    def __missing__(self, name: str) -> Field:
        zeroed = name.translate(ZEROED)
        field = self.alike.get(zeroed)
        if field is None:
            named_secret = secret_name(zeroed)
            secret = named_secret or secret_header(zeroed)
            password = secret and password_name(zeroed)
            field = _field(DIGITS.sub("0", zeroed), secret, named_secret, password)
            self.alike[zeroed] = field
        self[name] = field
        return field


@dataclass(frozen=True, slots=True)
class Form:
    """What the request that first sent a value does."""

    role: str
    """"sign-in" (only its fields are credentials), "create" (it makes or changes something:
    its names are unique, a new password is generated) or ""."""
    new_passwords: frozenset[str] = frozenset()
    """The passwords it sets (each one generated secret, whatever fields repeat it)."""


def _form(call: Call, fields: list[tuple[str, str]], by_name: Fields) -> Form:
    """What `call`, which sends `fields`, does."""
    if call.method not in ("POST", "PUT", "PATCH"):
        return Form("")
    path = urlsplit(call.exchange.request.url).path  # as recorded: an id may be a variable now
    secrets = [(f, v) for f, v in fields if by_name[f].named_secret and secret_value(v)]
    sent = Counter(v for _, v in fields)
    signing_up = bool(SIGN_UP.search(path))
    new_passwords = frozenset(
        v
        for f, v in secrets
        if by_name[f].password
        and not OLD_PASSWORD.search(f)
        and (signing_up or NEW_PASSWORD.search(f) or sent[v] > 1)
    )
    if signing_up or new_passwords:
        return Form("create", new_passwords)
    if secrets:
        return Form("sign-in")
    if CREATE.search(path) or call.method in ("PUT", "PATCH"):
        return Form("create")
    return Form("sign-in" if SIGN_IN.search(path) else "")


def _unique_expr(field: str) -> str:
    prefix = identifier(re.sub(r"[\[\]]", "_", field), "value").replace("_", "-")
    return f'self.unique.value("{prefix}-")'


def _var_for(item: Typed) -> str:
    if item.kind in ("secret", "credential") and re.fullmatch(r"pass(word|wd)?|pwd", item.field):
        return "password"
    if item.expr.endswith("email()") or (item.kind == "credential" and EMAIL.match(item.value)):
        return "email"
    return identifier(item.field, "value")


def _comment(item: Typed, field: Field) -> str:
    if (
        item.kind == "secret"
        or (item.kind == "fake" and "password" in item.expr)
        or field.named_secret
        or shows_secret(item.value)
    ):
        return NEVER_STORED
    shown = item.value  # shows no secret: redacted, it reads the same
    return f"recorded: {shown if len(shown) <= 60 else shown[:57] + '...'}"


def _scrub(
    scenario: Scenario, calls: list[Call], names: set[str], last: dict, known: dict[str, Ref]
) -> dict[str, Ref]:
    """What no field rule made a parameter but is secret by its shape (a JWT in a path
    segment, an AWS key id inside a URL, a private key in a body), a secret-named string
    inside text (a GraphQL `password: "..."`, JSON sent as text/plain, a URL with `?token=`
    inside a header or a field) or a token the recorder redacted becomes a credential, one
    per distinct value; a URL's credentials are dropped.
    A Referer's secret fields, which no request of the recording sends, are sent as REDACTED.
    Returns the credentials it made (recorded value → ref)."""
    found = dict(known)  # a value a field rule made a parameter already: the same variable
    made: dict[str, Ref] = {}

    def credential(value: str, name: str, whole: bool = False) -> Ref:
        if value not in found:
            name, note = (f"encoded_{name}", WHOLE_ENCODED) if whole else (name, NEVER_STORED)
            var = numbered(identifier(name, "token"), names, last)
            scenario.parameters.append(credential_parameter(var, note))
            found[value] = made[value] = Ref(f"self.{var}")
        return found[value]

    def finder(pairs: bool) -> Callable[[str], Value]:
        def find(text: str) -> Value:
            text = without_userinfo(text)
            spans = secret_spans(text, pairs)
            if not spans:  # nearly every value
                return text
            parts: list[str | Ref] = []
            position = 0
            for span in spans:
                parts.append(text[position : span.start])
                position = span.end
                if not span.name:  # a URL's `user:password@`, percent-encoded: dropped
                    continue
                ref = credential(span.secret, span.name, span.whole)
                encode = span.encode
                if not encode and text[span.start - 1 : span.start] == '"':
                    encode = "json"  # a shape inside a JSON string of text: escaped
                parts.append(Ref(ref.expr, encode) if encode else ref)
            parts.append(text[position:])
            if any(isinstance(part, Ref) for part in parts):
                return _merge(parts)
            return "".join(map(str, parts)) if position else text  # dropped only, or nothing

        return find

    # A URL's and a text body's own `name=value` pairs were read above (a site's own key
    # stays); a header's or a field's are not.
    in_place, in_values = finder(pairs=False), finder(pairs=True)
    for call in calls:
        call.url = substitute_value(call.url, in_place)
        call.headers = [
            (k, substitute_value(v, _redact_referer if k.lower() == "referer" else in_values))
            for k, v in call.headers
        ]
        call.substitute_body(in_place if call.body and call.body.kind == "text" else in_values)
        if call.location is not None:
            call.location = substitute_value(call.location, in_place)
    return made


NEVER_STORED = "never stored in the recording"
WHOLE_ENCODED = "never stored in the recording: the whole percent-encoded value that holds it"
"""A secret inside a percent-encoded value that could not be told apart from the rest: the
run is given the whole value, encoded as recorded (convert's summary says so)."""


def _redact_referer(text: str) -> str:
    return REDACTED_TOKEN.sub("REDACTED", redact_text(text))


def _replacer(refs: dict[str, Ref]):
    """Whole-value replacement: a typed value is a field's entire value, never a fragment."""

    def find(text: str) -> Value:
        ref = refs.get(text)
        return Text((ref,)) if ref else text

    return find


QUERY_PAIR = re.compile(r"(?:([?&#])|;)([^=&#?/;]+)=((?(1)[^&#]*|[^&#?/;]*))")
"""A query pair, a fragment's (`#access_token=...`: never sent by a browser, yet recorded), or
a path parameter (`/cart;jsessionid=...`)."""
MULTIPART_TEXT_FIELD = re.compile(r'Content-Disposition: form-data; name="?([^"\r\n;]+)"?', re.I)
"""The header line of a multipart text field (file parts have a filename and stay as recorded)."""


def _query_pairs(url: Value) -> Iterator[tuple[re.Match, str, str]]:
    """(match, name, decoded value) for every query pair in the literal parts of a URL."""
    for part in url.parts if isinstance(url, Text) else (url,):
        if isinstance(part, str):
            for match in QUERY_PAIR.finditer(part):
                yield match, unquote_plus(match.group(2)), unquote_plus(match.group(3))


def multipart_fields(text: str) -> Iterator[tuple[str, int, int]]:
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


@dataclass(frozen=True, slots=True)
class TextFields:
    """The fields of a piece of text body, each (name, start of its value, end)."""

    multipart: tuple[tuple[str, int, int], ...]
    """Multipart text fields."""
    pairs: tuple[tuple[str, int, int], ...]
    """`name=value` pairs with a value (a text/plain form, a line of a file part): not the
    `name="..."` of every part's header."""


class Texts(dict[str, TextFields]):
    """Each piece of text body walked once: `_fields` reads what it sends, and the
    substitution of parameters finds the same places again without a second walk."""

    def __missing__(self, text: str) -> TextFields:
        pairs = tuple((m[1], m.start(2), m.end(2)) for m in PAIR.finditer(text) if m[2])
        walked = self[text] = TextFields(tuple(multipart_fields(text)), pairs)
        return walked


def _text_values(text: str, texts: Texts, refs: dict[str, Ref]) -> list[tuple[int, int]]:
    """The multipart values of `text` that are parameters, and the values of `name=value`
    pairs outside those (inside, they went with the value), in order. A pair lies on one
    line, and a multipart value is whole lines: the pair is inside one or outside all."""
    walked = texts[text]
    replaced = [(start, end) for _, start, end in walked.multipart if text[start:end] in refs]
    spans = list(replaced)
    ahead = 0
    for _, start, end in walked.pairs:
        while ahead < len(replaced) and replaced[ahead][1] <= start:
            ahead += 1
        if ahead == len(replaced) or start < replaced[ahead][0]:
            spans.append((start, end))
    return sorted(spans)


def _query_values(text: str) -> Iterator[tuple[int, int]]:
    return ((match.start(3), match.end(3)) for match in QUERY_PAIR.finditer(text))


def _substitute_query(url: Value, refs: dict[str, Ref]) -> Value:
    """Query values that are parameters become refs, percent-encoded as the browser sent them."""
    return _substitute_spans(url, refs, _query_values, decode=unquote_plus)


def _substitute_spans(
    text: Value,
    refs: dict[str, Ref],
    spans: Callable[[str], Iterable[tuple[int, int]]],
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
