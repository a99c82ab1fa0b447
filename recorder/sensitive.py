"""What counts as a secret: one set of names and shapes for the capture addon and the converter.

A value is secret by the name it is sent under (a form, query, JSON or multipart field, a
header) or by its shape whatever its name (a JWT, an AWS key id, a private key). The addon
replaces secrets with `REDACTED` before they reach the disk; the converter makes them
credentials read at run time. Both ask this module, so they never disagree.

Stdlib only: the addon is loaded by path (`mitmdump -s recorder/addon.py`) and imports this
beside it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import suppress
from functools import lru_cache, partial
from typing import NamedTuple
from urllib.parse import quote, quote_plus, unquote_plus

REDACTED = "REDACTED"
REDACTED_TOKEN = re.compile(r"REDACTED-([0-9a-f]{16})")
"""A token the recorder redacted, with its digest (see `redacted`)."""

PASSWORD_NAME = re.compile(
    r"pass(?:w(?:or)?d|phrase|code|wort)|pwd|(?:^|[^a-z])(?:pass|pw)(?:$|[^a-z])|kennwort"
    r"|mot[-_ ]?de[-_ ]?passe|contrase.{1,2}a|senha",
    re.I,
)
"""Passwords: `password`, `new_password1`, `user[password_confirmation]`, `passcode`, `pwd`, `pw`,
and in other languages: `passwort`, `mot_de_passe`, `contraseña`, `senha`."""
PERSONAL_NAME = re.compile(
    PASSWORD_NAME.pattern + r"|secret|(?:^|[^a-z])(?:pin|t?otp|mfa)(?:$|[^a-z]|code)"
    r"|security[-_ ]?(?:answer|code)|recovery[-_ ]?codes?"
    r"|(?:^|[^a-z])(?:ssn|cvv2?|cvc2?)(?:$|[^a-z])"
    r"|card[-_ \[.]?(?:number|num|no)(?:$|[^a-z])|(?:^|[^a-z])cc[-_ ]?(?:number|num)(?:$|[^a-z])",
    re.I,
)
"""What a person or an operator holds (a password, a PIN, a client secret, a card number or its
security code, a security answer, a 2FA recovery code): never digested, in a request or a
response. Short words (`pin`, `ssn`, `cvv`) count as whole words only: `shipping` and
`classname` are not secrets."""
SECRET_NAME = re.compile(
    PERSONAL_NAME.pattern + r"|token|api[-_ ]?key|(?:access|private|subscription|signing|account)"
    r"[-_ ]?key|(?:^|[^a-z])(?:app|auth|master|application|functions)[-_ ]?key|^appid$"
    r"|^key$|signature|^sig$|credential|^auth$|authori[sz]ation$|session[-_]?key"
    r"|(?:^|[^a-z])session(?:[-_ ]?(?:id|token))?$|^(?:jsessionid|(?:php)?sessid|sid)$",
    re.I,
)
"""Field and header names whose values are secrets (searched; see `secret_name`). A `session`
or `session_id` is a secret, and so are the session ids a server rewrites into URLs
(`jsessionid`, `PHPSESSID`, `sid`); `session_count` and `sessions` are not. `app_key`, `X-Auth-Key`,
`X-Master-Key` and `DD-APPLICATION-KEY` are; `monkey` and `keyword` are not."""
SECRET_HEADER = re.compile(r".-(?:auth|access|cookie)$|^authentication$", re.I)
"""Header names that hold a credential (`X-Auth`, `Authentication`, `X-Access`, `X-Cookie`)
where a field of the same word is a setting (`"access": "public"`): the standard `Cookie` is
handled as cookies."""
CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
"""Where a camelCase name's words meet: `securityAnswer` is read as `security_Answer`."""
ANTI_FORGERY = re.compile(r"csrf|xsrf", re.I)
"""Per-session anti-forgery tokens: server-made and correlated, never a credential."""
NOT_SECRET_NAME = re.compile(
    ANTI_FORGERY.pattern + r"|^_?token_?type$|expires|^grant_type$"
    r"|^(?:max|min|num|total)[\w-]*tokens?$|^tokens?[_-]?(?:count|limit|used|remaining)$",
    re.I,
)
"""Anti-forgery tokens and token metadata (`max_tokens` of an LLM request, `token_count`):
server-made, correlated, harmless."""
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
FLAGS = frozenset({"on", "off", "true", "false", "yes", "no", "0", "1", "null", "none"})
"""Checkbox, radio and boolean values: they say nothing secret, whatever the field's name."""
NOT_SECRET = FLAGS | {""}
"""What `secret_value` keeps: built once, not for each of a form's thousands of values."""

SCHEMES = ("Bearer", "bearer", "BEARER", "Token")
CONTEXTS = (
    *"token tokens key keys api apikey secret auth reset password verify verification".split(),
    *"confirm confirmation invite invitation invitations activate activation".split(),
    *"unsubscribe magic recover recovery".split(),
)
"""A path segment or query name after which a random value is a key or a one-time token:
`/reset/<40 hex>`, `/api/<key>/...`, `?confirm=<hex>`; see README, "Safety"."""
RANDOM = (
    r"(?:[0-9a-fA-F]{32,}|(?=[\w-]*\d)(?=[\w-]*[a-z])(?=[\w-]*[A-Z])[A-Za-z0-9_-]{24,})(?![\w.-])"
)
"""32 or more hex digits, or 24 or more base64url characters mixing digits and both cases: a
whole segment or value (the first part of a JWT is left to the JWT shape)."""
KNOWN_SHAPES = {
    # Only where a token starts: tried at every `eyJ` of `eyJeyJeyJ...` it was quadratic.
    "jwt": r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    "aws_access_key_id": r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}"
    r"(?![A-Z0-9])",
    "private_key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----[^-]*(?:-----END [A-Z ]*PRIVATE KEY-----)?",
    "google_api_key": r"AIza[0-9A-Za-z_-]{35}",
    "github_token": r"(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})",
    "slack_token": r"xox[abposr]-[A-Za-z0-9-]{10,}",
    "stripe_key": r"(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}",
}
"""Secrets recognisable by shape alone, by what they are (the name a credential gets)."""
SCHEME_SPACE = r"(?: |%20|%2520|\+)"
"""The space after a scheme, also as a query value spells it (`?h=Bearer%20...`)."""
SCHEME_SHAPES = {
    "bearer_token": rf"(?<![\w.-])(?:{'|'.join(SCHEMES)}){SCHEME_SPACE}(?P<bearer_token_value>"
    r"(?![A-Z]?[a-z]+(?![\w.~+/=-]))[A-Za-z0-9._~+/-]{16,}=*)(?![\w.~+/=-])",
    "basic_credentials": rf"(?<![\w.-])Basic{SCHEME_SPACE}(?P<basic_credentials_value>"
    r"(?![A-Z]?[a-z]+(?![\w+/=]))[A-Za-z0-9+/]{8,}={0,2})(?![\w.~+/=-])",
}
"""The credential after an authorization scheme, in any header or string (the secret is the
`<kind>_value` group: the scheme stays)."""
CONTEXT = f"(?:{'|'.join(CONTEXTS)})"
CONTEXT_SEGMENT = f"/(?:[A-Za-z0-9]+[-_])*{CONTEXT}(?:[-_][A-Za-z0-9]+)*/"
"""A path segment holding one of `CONTEXTS` as a word: `/reset/`, `/reset-password/`,
`/password_resets/`, `/confirm-email/`."""
PLACED_SHAPES = {
    "url_token": f"(?:{CONTEXT_SEGMENT}|[?&;#]{CONTEXT}=)(?P<url_token_value>{RANDOM})",
}
"""A random value where a key or a one-time token stands (the `url_token_value` group)."""
FAMILIES = (KNOWN_SHAPES, SCHEME_SHAPES, PLACED_SHAPES)
"""Searched apart, each only where its hints are (see `_families`)."""
KNOWN_HINTS = (
    *"eyJ AKIA ASIA AGPA AIDA AROA AIPA ANPA ANVA AIza ghp_ gho_ ghu_ ghs_ ghr_".split(),
    *"github_pat_ xox _live_ _test_ PRIVATE".split(),
)
"""Each known shape holds one of these."""
SCHEME_HINTS = tuple(
    f"{scheme}{space}" for scheme in (*SCHEMES, "Basic") for space in (" ", "%20", "%2520", "+")
)
PLACE_STEMS = (
    *"token key api secret auth reset password verif confirm invit activat".split(),
    *"unsubscribe magic recover".split(),
)
"""Every word of `CONTEXTS` holds one: substring tests that skip most text cheaply."""
PLACE_HINT = re.compile(f"{CONTEXT_SEGMENT}|[?&;#]{CONTEXT}=")
"""Where a `url_token` may stand."""
HINTS = tuple(
    re.compile("|".join(map(re.escape, hints)))
    for hints in (KNOWN_HINTS, SCHEME_HINTS, PLACE_STEMS)
)
"""Each tuple of substrings as one search: one C call rather than a test per substring."""
HINT_BYTES = tuple(re.compile(hint.pattern.encode()) for hint in HINTS)
ANY_HINT = re.compile("|".join(hint.pattern for hint in HINTS))
"""Any family's hint: most text holds none, and one search then answers for all three."""
ANY_HINT_BYTES = re.compile(ANY_HINT.pattern.encode())
PLACE_HINT_BYTES = re.compile(PLACE_HINT.pattern.encode())
USERINFO = re.compile(r"(?<=//)[^/?#@\s]*@")
"""The `user:password@` of a URL."""
PAIR = re.compile(r"""(?<![^\s?&#;,"'(<])([^\s=&#?;,"'<>()]{1,100})=([^&#\r\n"'<>]*)""")
"""`name=value` in a query, a fragment, a urlencoded or text/plain body, or a line of text;
never a call's keyword argument (`password(length=14)` names no field)."""
JSON_PAIR = re.compile(
    r'(?:"([^"\\]{1,100})"|(?<![\w"])([A-Za-z_]\w{0,99}))\s*:\s*"((?:[^"\\]|\\.)*)"'
)
"""`"name": "value"` in JSON text, and a GraphQL argument `name: "value"`."""
COLON_QUOTE = re.compile(r':\s*"')
"""What every `JSON_PAIR` holds: text without it (a multipart part's headers) skips that search."""
VALUE_KEYS = frozenset({"value", "val", "data"})
LABEL_KEYS = ("name", "type", "key", "field", "id", "label")
"""`{"name": "password", "value": "..."}`: the value's sibling key names it."""
BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
NAMES_CACHED = 4096
"""Field and header names asked about, remembered: a capture sends a few names over and over."""
ZEROED = str.maketrans("123456789", "000000000")
"""A name's ASCII digits, each made 0: no pattern `_named` reads tells one digit from another
(`cvv2?` is followed by a non-letter, which any digit is; a test holds this), so `item_1` ...
`item_12000` are asked about once, and thousands of them do not push the others out."""
NAMED = {"secret": SECRET_NAME, "personal": PERSONAL_NAME, "password": PASSWORD_NAME}
LOOK_ALIKES = str.maketrans(
    "аеѕіјорсухԁһԛԝӏкАВЕКМНОРСТХЅІЈҮԚԜӀ"  # Cyrillic
    "αορικνυχγΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"  # Greek
    "ıɑɡ",  # Latin letters NFKD keeps apart
    "aesijopcyxdhqwlkABEKMHOPCTXSIJYQWlaopikvuxyABEZHIKMNOPTYXiag",
)
"""Letters that read as Latin ones: `pаssword` with a Cyrillic `а` names a password. NFKD has
already made fullwidth, mathematical and accented letters plain (`ｐａｓｓ`, `𝐩𝐰𝐝`, `pässword`)."""
INVISIBLE = frozenset({"Mn", "Me", "Cf"})
"""Combining marks and format characters (zero-width joiners, soft hyphens, bidi controls): a
name with one inside reads, and is matched, as the name without it."""
LOOK_ALIKE_HINT = re.compile(rb"[\x80-\xff]|%[c-fC-F][0-9a-fA-F]")
"""Bytes of a non-ASCII letter, raw or percent-encoded: a body skipped for holding no secret
word may still hold one spelled with look-alikes."""


def secret_name(name: str) -> bool:
    """Whether a field named `name` (form, query, JSON key, multipart part, header) holds a
    secret: `password`, `new_password1`, `user[password_confirmation]`, `pin_code`, `api_key`,
    `access_token`, `client_secret`, `X-Amz-Signature`, `PRIVATE-TOKEN`; not `csrf_token`."""
    return _named("secret", name.translate(ZEROED))


def personal_name(name: str) -> bool:
    return _named("personal", name.translate(ZEROED))


def password_name(name: str) -> bool:
    return _named("password", name.translate(ZEROED))


@lru_cache(maxsize=NAMES_CACHED)
def _named(kind: str, name: str) -> bool:
    """Asked by `kind` (a key of `NAMED`): hashing a pattern hashes all its code. A name
    spelled with look-alikes is also read as written, without its camelCase split: the case of
    a look-alike says nothing (`pАssword`)."""
    plain = folded(name)
    spellings = (CAMEL.sub("_", plain), plain) if plain != name else (CAMEL.sub("_", name),)
    return any(
        NAMED[kind].search(words) and not NOT_SECRET_NAME.search(words) for words in spellings
    )


def folded(name: str) -> str:
    """`name` as it reads: UTF-8 read as Latin-1 read again, compatibility forms and accents
    made plain (NFKD), invisible characters dropped, Cyrillic and Greek look-alikes made Latin
    (`LOOK_ALIKES`). An ASCII name is itself."""
    if name.isascii():
        return name
    with suppress(UnicodeError):
        name = name.encode("latin-1").decode("utf-8")
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in INVISIBLE)
    return kept.translate(LOOK_ALIKES)


@lru_cache(maxsize=NAMES_CACHED)
def secret_header(name: str) -> bool:
    """`Authorization` and every header with a secret name: `X-Api-Key`, `X-Goog-Api-Key`,
    `apikey`, `PRIVATE-TOKEN`, `Ocp-Apim-Subscription-Key`, `X-Amz-Security-Token`, `X-Auth`,
    `X-Session-Id`."""
    plain = folded(name)
    return (
        plain.lower() in CREDENTIAL_HEADERS
        or bool(SECRET_HEADER.search(plain))
        or secret_name(name)
    )


def json_field(document: dict, key: str, parent: str = "") -> str:
    """The name a JSON value is sent under: its key, or the secret name its sibling gives it
    (`{"name": "password", "value": "..."}`, `{"type": "password", "value": "..."}`), or its
    `parent`'s name with it where that is secret: every value under a secret key
    (`{"password": {"current": ...}}`) and a key that is secret under its parent
    (`{"card": {"number": ...}}`, as the form field `card[number]`)."""
    if key.lower() in VALUE_KEYS:
        for label in LABEL_KEYS:
            named = document.get(label)
            if isinstance(named, str) and secret_name(named):
                return named
    if parent and not secret_name(key) and not NOT_SECRET_NAME.search(key):
        nested = f"{parent}[{key}]"
        if secret_name(parent) or secret_name(nested):
            return nested
    return key


def secret_value(value: object) -> bool:
    """Flags (`on`, `true`, `1`), nulls and empty strings say nothing secret and keep their
    value; a JSON number (a PIN) is a secret."""
    if isinstance(value, str):
        return value.strip().lower() not in NOT_SECRET
    return isinstance(value, int | float) and not isinstance(value, bool)


def redaction_digest(value: str) -> str:
    """The digest the recorder writes for `value`: what finds it again where it is raw."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def redacted(value: str) -> str:
    """What replaces a token (a session cookie, a bearer token, an API key): `REDACTED-` and 16
    hex digits of its SHA-256. The value is gone, yet the converter can still tell where the
    same value was set and sent, so correlation works through redaction. A value under 16
    characters (a short, guessable one) gets a bare REDACTED."""
    if len(value) < 16:
        return REDACTED
    return f"{REDACTED}-{redaction_digest(value)}"


def redacted_field(name: str, value: object) -> str:
    """A password or PIN is replaced whole (its digest could be cracked); a token is digested."""
    return REDACTED if personal_name(name) or not isinstance(value, str) else redacted(value)


def _families(text: str | bytes) -> tuple[int, ...]:
    """The families of shapes `text` may hold, by their hints: each family is searched only
    where it may be, as a search trying every shape at every position is several times
    slower than these substring tests."""
    if isinstance(text, str):
        if ANY_HINT.search(text) is None:
            return ()
        known, scheme, stem = (hint.search(text) is not None for hint in HINTS)
        placed = stem and PLACE_HINT.search(text) is not None
    else:
        if ANY_HINT_BYTES.search(text) is None:
            return ()
        known, scheme, stem = (hint.search(text) is not None for hint in HINT_BYTES)
        placed = stem and PLACE_HINT_BYTES.search(text) is not None
    found = (known, scheme, placed)
    return tuple(i for i, hit in enumerate(found) if hit)


@lru_cache(maxsize=2 * 2 ** len(FAMILIES))
def _shape(families: tuple[int, ...], binary: bool = False) -> re.Pattern:
    """One search for the shapes of these families; a match's `lastgroup` is its kind."""
    shapes = [item for family in families for item in FAMILIES[family].items()]
    pattern = "|".join(f"(?P<{kind}>{shape})" for kind, shape in shapes)
    return re.compile(pattern.encode() if binary else pattern)


def _secret(match: re.Match) -> tuple[int, int]:
    """The span of the secret a shape matched: its `<kind>_value` group, or all of it."""
    inner = f"{match.lastgroup}_value"
    return match.span(inner) if inner in match.re.groupindex else match.span()


def has_shape(text: str | bytes) -> bool:
    """Whether `text` holds a secret of a known shape."""
    families = _families(text)
    return bool(families) and _shape(families, isinstance(text, bytes)).search(text) is not None


def redact_shapes(text: str) -> str:
    families = _families(text)
    if not families:
        return text
    parts, position = [], 0
    for match in _shape(families).finditer(text):
        start, end = _secret(match)
        parts += [text[position:start], redacted(text[start:end])]
        position = end
    return "".join([*parts, text[position:]])


def encoded_secret(value: str) -> bool:
    """Whether `value` is base64 of text that shows a secret (a `state` holding
    `{"password": ...}`): what no rule would let through in clear stays hidden encoded too."""
    if not BASE64.fullmatch(value):
        return False
    try:
        padded = value + "=" * (-len(value) % 4)
        decoded = base64.b64decode(padded.replace("-", "+").replace("_", "/")).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    return redact_text(decoded) != decoded


def shows_secret(value: str) -> bool:
    """Whether any rule here calls `value` a secret, whatever name it is sent under (the
    caller asks `secret_name` of the name): never print it. When not, it prints as it is:
    `redact_text` leaves it unchanged."""
    return has_shape(value) or redact_text(value) != value or encoded_secret(value)


class Span(NamedTuple):
    """Where a secret stands in a text, and what it is."""

    start: int
    end: int
    name: str
    """Its field's name or its shape's; "" for a URL's `user:password@`, which is dropped."""
    secret: str
    """The secret itself: what `text[start:end]` holds, encoded as `encode` says."""
    encode: str = ""
    """How the text holds it: "" as it is, else the run-time encodings (`json`, `url`) that
    give `text[start:end]` from `secret`, innermost first, joined by `+` (`url+url`): a query
    value is percent-encoded, a JSON string's escaped, and each level of percent-encoding
    around them adds one `url`."""
    whole: bool = False
    """It could not be told apart inside its encoded value: the span is the whole value."""


def secret_spans(text: str, pairs: bool = False) -> list[Span]:
    """Each secret inside free text (a URL, a GraphQL query, JSON sent as text): values of a
    secret shape, named after it; `"name": "value"` strings under a secret name; tokens the
    recorder redacted; with `pairs`, secret `name=value` pairs too (a URL inside a field:
    `/cb?access_token=...`); and inside a percent-encoded value, what it decodes to shows (see
    `_decoded_spans`, which says more of one found both ways: its name and encoding). Left to
    right, never overlapping."""
    spans: list[Span] = []
    if "%" in text and ENCODED.search(text):
        for value in ENCODED_VALUE.finditer(text):
            spans += _decoded_spans(value[0], value.start())
    return _leftmost(spans + _spans(text, pairs))


ENCODED = re.compile(r"%(?:25|2[26fF]|3[aAdDfF]|40|7[bB])")
"""A percent-escape of what a URL, a query or JSON is made of (`%`, `"`, `&`, `/`, `:`, `=`,
`?`, `@`, `{`): a value holding none reads, to every rule here, as it does decoded."""
VALUE_CHAR = r"""[^\s&=?#"'<>]"""
ENCODED_VALUE = re.compile(f"(?<!{VALUE_CHAR}){VALUE_CHAR}*{ENCODED.pattern}{VALUE_CHAR}*")
"""A whole value (up to a delimiter of a query, a form, a string) holding such an escape.
Tried only where a value starts (the lookbehind): linear, however long the text."""
DECODE_DEPTH = 3
"""Percent-encoded this many times over at most: an SSO hop's return URL is encoded twice."""


def _decoded_spans(value: str, offset: int) -> list[Span]:
    """The secrets of a percent-encoded `value` (at `offset` in its text), found in what it
    decodes to, one level after another (a URL, a query, JSON, examined like one), and placed
    back where `value` holds them encoded. One that cannot be placed makes the whole value
    its span. Each level is decoded once and searched left to right: linear."""
    found: list[Span] = []
    decoded = value
    for level in range(1, DECODE_DEPTH + 1):
        if not ENCODED.search(decoded):
            break
        decoded = unquote_plus(decoded)
        inner = _spans(decoded, pairs=True)
        if decoded.lstrip()[:1] in ("{", "["):
            in_json = _json_spans(decoded)
            if in_json is None:
                return [Span(offset, offset + len(value), "json", value, whole=True)]
            inner = in_json + inner
        if "@" in decoded and "//" in decoded:
            inner += [Span(m.start(), m.end(), "", m[0]) for m in USERINFO.finditer(decoded)]
        if not inner:
            continue
        position = 0
        encoders: tuple[Callable[[str], str] | None, ...] = PERCENT_ENCODERS
        for span in _leftmost(inner):
            for encoder in encoders:
                held = _encoded(decoded[span.start : span.end], level, encoder)
                start = value.find(held, position)
                if start >= 0:
                    break
            else:
                name = span.name or "url"
                return [Span(offset, offset + len(value), name, value, whole=True)]
            encoders = (encoder,)  # the encoding that placed one places the others
            position = start + len(held)
            inside_json = span.name and decoded[span.start - 1 : span.start] == '"'
            inner_encode = span.encode or ("json" if inside_json else "")
            encode = "+".join([inner_encode] * bool(inner_encode) + ["url"] * level)
            found.append(Span(offset + start, offset + position, span.name, span.secret, encode))
    return _leftmost(found[::-1]) if found else found  # found at two levels: the deeper says more


PERCENT_ENCODERS = (
    partial(quote, safe=""),
    partial(quote_plus, safe=""),
    partial(quote, safe="/"),
    None,
)
"""How a browser or a script may have percent-encoded a value: every reserved character
(`encodeURIComponent`), spaces as `+` (a form), `/` left as it is (Python's `quote`), or
none of the secret's characters (None)."""


def _encoded(text: str, level: int, encoder: Callable[[str], str] | None) -> str:
    if encoder is None:
        return text
    for _ in range(level):
        text = encoder(text)
    return text


def _json_spans(text: str) -> list[Span] | None:
    """The secrets of `text` read as a JSON document, by the rules of a JSON body (a value
    under a secret key at any depth, or named by its sibling: `json_field`), each where the
    text holds it escaped; None if one cannot be found there. Not JSON: none."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return []
    spans, position = [], 0
    for name, value in _json_secrets(document):
        for ascii_only in (False, True):
            held = json.dumps(value, ensure_ascii=ascii_only)
            held = held[1:-1] if isinstance(value, str) else held
            start = text.find(held, position)
            if start >= 0:
                break
        else:
            return None
        position = start + len(held)
        kind = "json" if isinstance(value, str) else ""
        spans.append(Span(start, position, name, str(value), kind))
    return spans


def _json_secrets(document: object) -> list[tuple[str, str | int | float]]:
    """(name, value) of each secret string or number of `document`, in document order; walked
    without recursion, as a document may be nested as deep as the parser allows."""
    found: list[tuple[str, str | int | float]] = []
    stack: list[Iterator[tuple[str, object]]] = [iter([("", document)])]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        name, value = item
        if isinstance(value, dict):
            stack.append(_json_members(value, name))
        elif isinstance(value, list):
            stack.append((name, member) for member in value)
        elif isinstance(value, str | int | float) and name and _secret_leaf(name, value):
            found.append((name, value))
    return found


def _secret_leaf(name: str, value: str | int | float) -> bool:
    """A string or a number (a PIN), not a flag, sent under a secret name."""
    return not isinstance(value, bool) and secret_name(name) and secret_value(value)


def _json_members(document: dict, parent: str) -> Iterator[tuple[str, object]]:
    for key, value in document.items():
        yield json_field(document, str(key), parent), value


def _spans(text: str, pairs: bool) -> list[Span]:
    """`secret_spans` of `text` as it stands, not decoded."""
    spans = []
    if pairs and "=" in text:
        for m in PAIR.finditer(text):
            name, value = _unquoted(m[1]), _unquoted(m[2])
            if secret_name(name) and secret_value(value) and m[2] != REDACTED:
                spans.append(Span(m.start(2), m.end(2), name, value, "url"))
    if families := _families(text):
        for m in _shape(families).finditer(text):
            start, end = _secret(m)
            spans.append(Span(start, end, m.lastgroup or "token", text[start:end]))
    if COLON_QUOTE.search(text):
        for m in JSON_PAIR.finditer(text):
            name = m[1] or m[2]
            if secret_name(name) and secret_value(m[3]):
                spans.append(Span(m.start(3), m.end(3), name, m[3], "json"))
    if "REDACTED-" in text:
        spans += [Span(m.start(), m.end(), "token", m[0]) for m in REDACTED_TOKEN.finditer(text)]
    return spans


def _unquoted(text: str) -> str:
    """`unquote_plus`, skipped where there is nothing to decode (most names and values)."""
    return unquote_plus(text) if "%" in text or "+" in text else text


def _leftmost(spans: list[Span]) -> list[Span]:
    """`spans` left to right, each overlapping an earlier or longer one left out."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda span: (span.start, -span.end)):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def redact_text(text: str) -> str:
    """Free text (a URL, a header value, a text body, a line of a summary) with every secret
    it shows replaced: URL credentials, secret-named `name=value` and `"name": "value"` pairs,
    and values of a secret shape."""
    text = without_userinfo(text)
    if "=" in text:
        text = PAIR.sub(_pair, text)
    if COLON_QUOTE.search(text):
        text = JSON_PAIR.sub(_json_pair, text)
    text = redact_shapes(text)
    return _redact_encoded(text) if "%" in text and ENCODED.search(text) else text


def _redact_encoded(text: str) -> str:
    """`text` with the secrets its percent-encoded values decode to replaced where they stand:
    a value that hides one it cannot place is replaced whole."""
    parts, position = [], 0
    for value in ENCODED_VALUE.finditer(text):
        for span in _decoded_spans(value[0], value.start()):
            hidden = REDACTED if span.whole else redacted_field(span.name, span.secret)
            parts += [text[position : span.start], hidden if span.name else ""]
            position = span.end
    return "".join([*parts, text[position:]])


def without_userinfo(text: str) -> str:
    """`text` without a URL's `user:password@`: searched only where both `//` and `@` are (an
    e-mail address has no `//`)."""
    return USERINFO.sub("", text) if "@" in text and "//" in text else text


def _pair(match: re.Match) -> str:
    name = unquote_plus(match[1])
    if not secret_name(name) or not secret_value(unquote_plus(match[2])):
        return match[0]
    return f"{match[1]}={redacted_field(name, unquote_plus(match[2]))}"


def _json_pair(match: re.Match) -> str:
    name, value = match[1] or match[2], match[3]
    if not secret_name(name) or not secret_value(value):
        return match[0]
    return f'{match[0][: match.start(3) - match.start()]}{redacted_field(name, value)}"'
