"""What counts as a secret: one set of names and shapes for the capture addon and the converter.

A value is secret by the name it is sent under (a form, query, JSON or multipart field, a
header) or by its shape whatever its name (a JWT, an AWS key id, a private key). The addon
replaces secrets with `REDACTED` before they reach the disk; the converter makes them
credentials read at run time. Both ask this module, so they never disagree.

Stdlib only: the addon is loaded by path (`mitmdump -s recorder/addon.py`) and imports this
beside it.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from urllib.parse import unquote_plus

REDACTED = "REDACTED"
REDACTED_TOKEN = re.compile(r"REDACTED-([0-9a-f]{16})")
"""A token the recorder redacted, with its digest (see `redacted`)."""

PASSWORD_NAME = re.compile(r"pass(?:w(?:or)?d|phrase|code)|pwd|(?:^|[^a-z])pass(?:$|[^a-z])", re.I)
"""Passwords: `password`, `new_password1`, `user[password_confirmation]`, `passcode`, `pwd`."""
PERSONAL_NAME = re.compile(
    PASSWORD_NAME.pattern + r"|secret|(?:^|[^a-z])(?:pin|t?otp|mfa)(?:$|[^a-z]|code)", re.I
)
"""What a person or an operator holds (a password, a PIN, a client secret): never digested,
in a request or a response."""
SECRET_NAME = re.compile(
    PERSONAL_NAME.pattern + r"|token|api[-_ ]?key|(?:access|private|subscription|signing|account)"
    r"[-_ ]?key|^key$|signature|^sig$|credential|^auth$|session[-_]?key",
    re.I,
)
"""Field and header names whose values are secrets (searched; see `secret_name`)."""
NOT_SECRET_NAME = re.compile(r"csrf|xsrf|^_?token_?type$|expires|^grant_type$", re.I)
"""Per-session anti-forgery tokens and token metadata: server-made, correlated, harmless."""
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
FLAGS = frozenset({"on", "off", "true", "false", "yes", "no", "0", "1", "null", "none"})
"""Checkbox, radio and boolean values: they say nothing secret, whatever the field's name."""

SHAPES = {
    "jwt": r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    "aws_access_key_id": r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}"
    r"(?![A-Z0-9])",
    "private_key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----[^-]*(?:-----END [A-Z ]*PRIVATE KEY-----)?",
    "google_api_key": r"AIza[0-9A-Za-z_-]{35}",
    "github_token": r"(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})",
    "slack_token": r"xox[abposr]-[A-Za-z0-9-]{10,}",
    "stripe_key": r"(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}",
}
"""Secrets recognisable by shape alone, by what they are (the name a credential gets)."""
SHAPE = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in SHAPES.items()))
SHAPE_BYTES = re.compile(SHAPE.pattern.encode())
SHAPE_HINTS = (
    *"eyJ AKIA ASIA AGPA AIDA AROA AIPA ANPA ANVA AIza ghp_ gho_ ghu_ ghs_ ghr_".split(),
    *"github_pat_ xox _live_ _test_ PRIVATE".split(),
)
"""Each shape holds one of these: text with none is skipped (a shape search is slower)."""
SHAPE_HINT_BYTES = tuple(hint.encode() for hint in SHAPE_HINTS)
USERINFO = re.compile(r"(?<=//)[^/?#@\s]*@")
"""The `user:password@` of a URL."""
PAIR = re.compile(r"""(?<![^\s?&#;,"'(<])([^\s=&#?;,"'<>]{1,100})=([^&#\r\n"'<>]*)""")
"""`name=value` in a query, a fragment, a urlencoded or text/plain body, or a line of text."""
JSON_PAIR = re.compile(r'"([^"\\]{1,100})"\s*:\s*"((?:[^"\\]|\\.)*)"')
NAMES_CACHED = 4096
"""Field and header names asked about, remembered: a capture sends a few names over and over."""


@lru_cache(maxsize=NAMES_CACHED)
def secret_name(name: str) -> bool:
    """Whether a field named `name` (form, query, JSON key, multipart part, header) holds a
    secret: `password`, `new_password1`, `user[password_confirmation]`, `pin_code`, `api_key`,
    `access_token`, `client_secret`, `X-Amz-Signature`, `PRIVATE-TOKEN`; not `csrf_token`."""
    return bool(SECRET_NAME.search(name)) and not NOT_SECRET_NAME.search(name)


@lru_cache(maxsize=NAMES_CACHED)
def personal_name(name: str) -> bool:
    return bool(PERSONAL_NAME.search(name)) and not NOT_SECRET_NAME.search(name)


@lru_cache(maxsize=NAMES_CACHED)
def password_name(name: str) -> bool:
    return bool(PASSWORD_NAME.search(name)) and not NOT_SECRET_NAME.search(name)


@lru_cache(maxsize=NAMES_CACHED)
def secret_header(name: str) -> bool:
    """`Authorization` and every header with a secret name: `X-Api-Key`, `X-Goog-Api-Key`,
    `apikey`, `PRIVATE-TOKEN`, `Ocp-Apim-Subscription-Key`, `X-Amz-Security-Token`."""
    return name.lower() in CREDENTIAL_HEADERS or secret_name(name)


def secret_value(value: object) -> bool:
    """Flags (`on`, `true`, `1`), nulls and empty strings say nothing secret and keep their
    value; a JSON number (a PIN) is a secret."""
    if isinstance(value, str):
        return value.strip().lower() not in FLAGS | {""}
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


def may_hold_shape(text: str | bytes) -> bool:
    if isinstance(text, str):
        return any(hint in text for hint in SHAPE_HINTS)
    return any(hint in text for hint in SHAPE_HINT_BYTES)


def has_shape(text: str | bytes) -> bool:
    """Whether `text` holds a secret of a known shape."""
    if not may_hold_shape(text):
        return False
    if isinstance(text, str):
        return SHAPE.search(text) is not None
    return SHAPE_BYTES.search(text) is not None


def redact_shapes(text: str) -> str:
    return SHAPE.sub(lambda m: redacted(m[0]), text) if may_hold_shape(text) else text


def redact_text(text: str) -> str:
    """Free text (a URL, a header value, a text body, a line of a summary) with every secret
    it shows replaced: URL credentials, secret-named `name=value` and `"name": "value"` pairs,
    and values of a secret shape."""
    if "@" in text:
        text = USERINFO.sub("", text)
    if "=" in text:
        text = PAIR.sub(_pair, text)
    if '"' in text:
        text = JSON_PAIR.sub(_json_pair, text)
    return redact_shapes(text)


def _pair(match: re.Match) -> str:
    name = unquote_plus(match[1])
    if not secret_name(name) or not secret_value(unquote_plus(match[2])):
        return match[0]
    return f"{match[1]}={redacted_field(name, unquote_plus(match[2]))}"


def _json_pair(match: re.Match) -> str:
    name, value = match[1], match[2]
    if not secret_name(name) or not secret_value(value):
        return match[0]
    return f'"{name}":"{redacted_field(name, value)}"'
