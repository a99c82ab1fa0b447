"""Correlation through the recorder's redaction.

The recorder writes a token it hides (a bearer token, a session cookie, a `token` field) as
`REDACTED-` and a digest of it. The same token often stands raw elsewhere in the capture: a
login response hands out the bearer token the next requests send; a CSRF cookie is echoed in
an `X-CSRFToken` header. Found by its digest, the raw value is put back in place of the
placeholder, and correlation links the two as if nothing had been redacted.

Only a value the capture holds raw where it comes from is put back: a token a request sends
must stand in an earlier response (correlation then replaces it with the live one); a cookie
must stand in a later request. A token from outside (an API key) stays redacted and becomes a
credential.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import partial
from urllib.parse import quote

from recorder.sensitive import REDACTED_TOKEN, redaction_digest
from replay.convert.scenario import Call, Scenario

TOKEN = re.compile(r"[A-Za-z0-9_\-.~+/=]{16,}")
"""A value long enough to have been digested (the recorder digests 16 characters and up)."""
PIECE_SEPARATORS = re.compile(r"[=/.~+]")


def restore_redacted(scenario: Scenario) -> Scenario:
    """Placeholders whose token the capture holds raw, replaced by that token."""
    calls = list(scenario.calls)
    sent = [_placeholders(_sent_texts(call)) for call in calls]
    set_by = [_placeholders(_cookies_set(call)) for call in calls]
    if not any(sent) and not any(set_by):
        return scenario
    received: dict[str, str] = {}  # digest → raw value, from the responses so far
    for index, call in enumerate(calls):
        known = {d: received[d] for d in sent[index] if d in received}
        if known:  # anywhere the request sends it; a URL gets it percent-encoded
            url = call.url
            call.substitute(partial(_put_back, known=known))
            call.url = _put_back(url, {d: quote(v, safe="-._~") for d, v in known.items()})
        for value in _received_values(call):
            received.setdefault(redaction_digest(value), value)
    later_sent: dict[str, str] = {}  # digest → raw value, from the requests after
    for index in range(len(calls) - 1, -1, -1):
        call = calls[index]
        known = {d: later_sent[d] for d in set_by[index] if d in later_sent}
        if known:
            response = call.exchange.response
            headers = tuple((k, _put_back(v, known)) for k, v in response.headers)
            call.exchange = replace(call.exchange, response=replace(response, headers=headers))
        for text in _sent_texts(call):
            for value in _tokens(text):
                later_sent.setdefault(redaction_digest(value), value)
    return scenario


def _placeholders(texts) -> set[str]:
    return {m for text in texts for m in REDACTED_TOKEN.findall(text)}


def _put_back(value, known: dict[str, str]):
    if not isinstance(value, str):
        return value
    return REDACTED_TOKEN.sub(lambda m: known.get(m[1], m[0]), value)


def _sent_texts(call: Call) -> list[str]:
    """Header values and the literal body a request sends."""
    texts = [v for _, v in call.headers if isinstance(v, str)]
    if isinstance(call.url, str):
        texts.append(call.url)
    body = call.body
    if body is not None and body.kind in ("form", "text"):
        texts += [v for _, v in body.fields if isinstance(v, str)]
        texts += [body.text] if isinstance(body.text, str) else []
    elif body is not None and body.kind == "json":
        texts.append(json.dumps(body.value))
    return texts


def _cookies_set(call: Call) -> list[str]:
    return [v for k, v in call.exchange.response.headers if k.lower() == "set-cookie"]


def _received_values(call: Call) -> list[str]:
    """Every token-like value of a response: header values and body tokens."""
    response = call.exchange.response
    texts = [v for _, v in response.headers]
    texts.append(response.body.decode("utf-8", "replace") if response.body else "")
    return [value for text in texts for value in _tokens(text)]


def _tokens(text: str) -> list[str]:
    """Token-like runs, and their pieces between `=`, `/`, `.`: a token inside a URL or a
    `name=value` pair is found too."""
    found = []
    for token in TOKEN.findall(text):
        found.append(token)
        found += [p for p in PIECE_SEPARATORS.split(token) if len(p) >= 16 and p != token]
    return found
