"""Planted secrets: more than forty shapes of secret are sent through the real capture addon
(mitmdump in front of a stand-in server) and written into a HAR, and none may appear in the
capture file, the generated module, convert's output, verify's output, or the CSV and HTML
reports of a Locust run. Each shape also gets a fast check of its own, addon and converter.

Markers are distinctive strings (or values of the shape under test), so "not found" means
what it says. recorder/sensitive.py holds the one list of what is recognised.
"""

from __future__ import annotations

import ast
import base64
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from conftest import ROOT, run_locust
from mitmproxy import http as mitm_http
from mitmproxy import io
from mitmproxy.test import tflow, tutils

import recorder
from recorder.addon import flow_record, header_record
from recorder.flows import read_capture
from recorder.har import parse_har
from recorder.proxy import run_capture_proxy
from replay.convert import Options, convert, summary
from replay.convert.rules import parse_rules
from replay.runtime import json_escaped, urlencoded

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
LOOPBACK_ONLY = ["--set", "block_list=/!(~d 127.0.0.1 | ~d localhost)/444"]


def _b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def jwt(subject: str) -> str:
    return f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'sub': subject})}.PLANTED{subject}sig"


def fill(prefix: str, length: int) -> str:
    return (prefix + "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")[:length]


AKIA = "AKIA" + fill("PLANTED", 16).upper()
PEM_BODY = "MIIEowIBAAKCAQEAPLANTEDpemKeyMaterial0123456789abcdef"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"
SERVER_JWT = jwt("server-made-login")
SESSION_IN_URL = "0123456789ABCDEF0123456789ABCDEF"
CARD = "4000056655665556"
"""A Luhn-valid test card number (Stripe's Visa debit)."""
HEX = [f"{i:x}" * 8 + "0123456789abcdef0123456789abcdef"[: 40 - 8] for i in range(10, 15)]
"""Distinct 40-hex tokens (a Rails or Devise reset token, a GitLab-style key)."""
NAMES = (
    *"passwort mot_de_passe contraseña contrasena senha securityAnswer security_answer".split(),
    *"ssn user_ssn cvv cvc card_number cardnumber cc_number cardNumber session".split(),
)
"""Field names in other languages and of other personal secrets."""
HEADER_NAMES = "X-Auth X-Session X-Session-Id Authentication X-Access X-Cookie".split()
"""A token the site made: it must stay correlated (extracted live), never a credential."""


@dataclass
class Plant:
    """One secret, the request that carries it, and (for a response-side secret) the answer."""

    what: str
    marker: str
    method: str = "GET"
    path: str = "/api/thing"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    mime: str = ""
    status: int = 200
    answer_headers: list[tuple[str, str]] = field(default_factory=list)
    answer: str = "{}"
    wire: bool = True
    """Whether it can go through the proxy (a browser never sends `user:pass@` on the wire)."""
    from_server: bool = False
    """The server made it: the capture keeps it in the response, for correlation."""


def form(what: str, marker: str, text: str, path: str = "/account/settings") -> Plant:
    return Plant(what, marker, "POST", path, [("Content-Type", FORM)], text, FORM)


def as_json(what: str, marker: str, value: dict, path: str = "/api/profile") -> Plant:
    return Plant(what, marker, "POST", path, [("Content-Type", JSON)], json.dumps(value), JSON)


def header(what: str, name: str, marker: str, prefix: str = "") -> Plant:
    return Plant(what, marker, headers=[(name, prefix + marker)])


def query(what: str, marker: str, text: str, path: str = "/api/files") -> Plant:
    return Plant(what, marker, path=f"{path}?{text}")


def multipart(what: str, marker: str, disposition: str) -> Plant:
    body = (
        '--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nhello\r\n'
        f"--XyZ\r\nContent-Disposition: form-data; {disposition}\r\n\r\n{marker}\r\n--XyZ--\r\n"
    )
    mime = "multipart/form-data; boundary=XyZ"
    return Plant(what, marker, "POST", "/api/upload", [("Content-Type", mime)], body, mime)


def _plants() -> list[Plant]:
    p = "PLANTED-"
    basic = base64.b64encode(f"alice:{p}basic-pw".encode()).decode()
    any_basic = base64.b64encode(f"bob:{p}any-basic-pw".encode()).decode()
    state = _b64({"password": f"{p}state-pw"})
    blob = _b64({"user": "alice", "password": f"{p}blob-pw"})
    new_password = f"{p}new-password1"
    confirmation = f"{p}password-confirmation"
    return [
        form(
            "form password",
            f"{p}form-pw",
            f"email=alice%40example.com&password={p}form-pw",
            "/login",
        ),
        form(
            "change form new_password1/2 and old_password",
            new_password,
            f"old_password={p}old-pw&new_password1={new_password}&new_password2={new_password}",
            "/password_change/",
        ),
        form(
            "old_password",
            f"{p}old-pw",
            f"old_password={p}old-pw&new_password1=x2&new_password2=x2",
        ),
        form(
            "password_confirmation",
            confirmation,
            f"email=new%40example.com&password={confirmation}&password_confirmation={confirmation}",
            "/signup",
        ),
        form(
            "user[password]",
            f"{p}rails-pw",
            f"user%5Bemail%5D=a%40b.c&user%5Bpassword%5D={p}rails-pw",
            "/users/sign_in",
        ),
        form(
            "user[password_confirmation]",
            f"{p}rails-confirm",
            f"user%5Bpassword%5D={p}rails-confirm&user%5Bpassword_confirmation%5D={p}rails-confirm",
            "/users",
        ),
        form("passcode", f"{p}passcode", f"passcode={p}passcode"),
        form("pin_code", f"{p}pin-code", f"pin_code={p}pin-code"),
        form("pin", f"{p}pin", f"pin={p}pin"),
        form("otp", f"{p}otp", f"otp={p}otp"),
        form("client_secret", f"{p}client-secret", f"client_id=web&client_secret={p}client-secret"),
        form("api_token field", f"{p}api-token-field", f"api_token={p}api-token-field&title=hi"),
        form("passphrase", f"{p}passphrase", f"passphrase={p}passphrase"),
        form("pwd", f"{p}pwd", f"pwd={p}pwd"),
        form(
            "stripe key by shape",
            "sk_live_PLANTEDstripe0123456789",
            "card=sk_live_PLANTEDstripe0123456789",
        ),
        as_json(
            "json password",
            f"{p}json-pw",
            {"email": "a@b.c", "password": f"{p}json-pw"},
            "/api/login",
        ),
        as_json("json newPassword", f"{p}json-new-pw", {"newPassword": f"{p}json-new-pw"}),
        as_json("json aws_access_key_id", AKIA, {"aws_access_key_id": AKIA}),
        as_json(
            "json aws_secret_access_key",
            "PLANTED/aws+secret/0123456789abcdefABCDEF",
            {"aws_secret_access_key": "PLANTED/aws+secret/0123456789abcdefABCDEF"},
        ),
        as_json("json PEM private key", PEM_BODY, {"note": PEM}),
        as_json("json numeric PIN", "80417263", {"email": "a@b.c", "pin": 80417263}),
        as_json("json refresh_token", f"{p}refresh-token", {"refresh_token": f"{p}refresh-token"}),
        as_json("json apiKey", f"{p}json-api-key", {"apiKey": f"{p}json-api-key"}),
        as_json(
            "github token by shape", fill("ghp_PLANTED", 40), {"note": fill("ghp_PLANTED", 40)}
        ),
        Plant(
            "text/plain password= line",
            f"{p}text-plain-pw",
            "POST",
            "/cgi/login",
            [("Content-Type", "text/plain")],
            f"user=alice\r\npassword={p}text-plain-pw\r\n",
            "text/plain",
        ),
        multipart("multipart password", f"{p}multipart-pw", 'name="password"'),
        multipart("multipart unquoted name", f"{p}multipart-unquoted", "name=password"),
        header("bearer token", "Authorization", f"{p}static-bearer-token", "Bearer "),
        Plant("basic auth", f"{p}basic-pw", headers=[("Authorization", f"Basic {basic}")]),
        header("X-Api-Key", "X-Api-Key", f"{p}x-api-key"),
        header("X-Goog-Api-Key", "X-Goog-Api-Key", f"{p}goog-api-key"),
        header("apikey", "apikey", f"{p}apikey-header"),
        header("X-API-Token", "X-API-Token", f"{p}x-api-token"),
        header("PRIVATE-TOKEN", "PRIVATE-TOKEN", f"{p}gitlab-private-token"),
        header("Ocp-Apim-Subscription-Key", "Ocp-Apim-Subscription-Key", f"{p}apim-key"),
        header("X-Amz-Security-Token", "X-Amz-Security-Token", f"{p}amz-security-token"),
        header("X-Auth-Token", "X-Auth-Token", f"{p}x-auth-token"),
        header("slack token by shape", "X-Slack", "xoxb-PLANTED-slack-0123456789"),
        header("cookie", "Cookie", f"{p}cookie-value", "sid="),
        query(
            "access_token query",
            f"{p}access-token-query",
            f"access_token={p}access-token-query&page=2",
        ),
        query("api_key query", f"{p}api-key-query", f"api_key={p}api-key-query"),
        query("google key query", fill("AIzaPLANTED", 39), f"key={fill('AIzaPLANTED', 39)}"),
        query(
            "presigned X-Amz-Credential",
            f"{AKIA}/20260101",
            f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={AKIA}%2F20260101%2Fus-east-1",
        ),
        query(
            "presigned X-Amz-Signature",
            "PLANTEDamzsignature0a1b2c3d4e5f",
            "X-Amz-Signature=PLANTEDamzsignature0a1b2c3d4e5f",
        ),
        query("SAS sig", f"{p}azure-sas-sig", f"sv=2022-11-02&sig={p}azure-sas-sig"),
        query("JWT in a query value", jwt("query"), f"ref={jwt('query')}"),
        Plant("JWT in a path segment", jwt("path"), path=f"/verify/{jwt('path')}/done"),
        Plant("AWS key id in a path segment", AKIA, path=f"/keys/{AKIA}/rotate"),
        Plant(
            "Referer token",
            f"{p}reset-token",
            "POST",
            "/reset/done",
            [("Referer", f"http://127.0.0.1:1/reset?token={p}reset-token"), ("Content-Type", FORM)],
            "choice=new",
            FORM,
        ),
        Plant("URL credentials", f"{p}url-pw", path="/userinfo", wire=False),
        Plant(
            "URL credentials in a Location",
            f"{p}location-pw",
            path="/go",
            status=302,
            answer_headers=[("Location", f"http://bob:{p}location-pw@ORIGIN/next")],
            answer="",
            from_server=True,
        ),
        # Shapes an outside attacker found copied into a module (issue #13, second round).
        header("Bearer under any header", "X-Upstream", f"{p}any-header-bearer", "Bearer "),
        header("Token scheme under any header", "X-Relay", f"{p}token-scheme-0123", "Token "),
        header("Basic under any header", "X-Legacy", any_basic, "Basic "),
        as_json(
            "Bearer in a JSON string",
            f"{p}json-bearer-0123",
            {"relay": f"Bearer {p}json-bearer-0123"},
        ),
        # Third round: the scheme's space as a query value spells it (an SSE or WebSocket URL).
        *(
            query(
                f"Bearer{space} in a query value",
                f"{p}query-bearer-{n}-0123",
                f"h=Bearer{space}{p}query-bearer-{n}-0123",
            )
            for n, space in enumerate(("%20", "+", "%2520"))
        ),
        Plant(
            "access_token fragment of a requested URL",
            f"{p}requested-fragment",
            path=f"/app/cb#access_token={p}requested-fragment&token_type=bearer",
            wire=False,
        ),
        Plant(
            "id_token fragment of a requested URL",
            jwt("fragment"),
            path=f"/cb#id_token={jwt('fragment')}",
            wire=False,
        ),
        query("base64 of a password in a state", state, f"state={state}", "/oauth/start"),
        query("base64 of a password in a query", blob, f"blob={blob}", "/api/export"),
        as_json(
            "JSON name/value pair",
            f"{p}name-value-pw",
            {
                "fields": [
                    {"name": "email", "value": "a@b.c"},
                    {"name": "password", "value": f"{p}name-value-pw"},
                ]
            },
        ),
        as_json(
            "JSON type/value credential",
            f"{p}type-value-pw",
            {
                "username": "alice",
                "credentials": [{"type": "password", "value": f"{p}type-value-pw"}],
            },
        ),
        Plant(
            "JSON body sent as text/plain",
            f"{p}text-json-pw",
            "POST",
            "/api/beacon-login",
            [("Content-Type", "text/plain;charset=UTF-8")],
            json.dumps({"email": "a@b.c", "password": f"{p}text-json-pw"}),
            "text/plain;charset=UTF-8",
        ),
        Plant("40-hex after /reset/", HEX[0], path=f"/reset/{HEX[0]}"),
        Plant("40-hex after /api/", HEX[1], path=f"/api/{HEX[1]}/projects"),
        Plant("40-hex after /invite/", HEX[2], path=f"/invite/{HEX[2]}/accept"),
        *(
            Plant(f"40-hex after /{segment}/", HEX[i], path=f"/{segment}/{HEX[i]}/edit")
            for i, segment in enumerate(
                ("reset-password", "password_resets", "confirm-email", "verify-email")
            )
        ),
        query("40-hex under confirm=", HEX[3], f"confirm={HEX[3]}", "/account"),
        query("32-hex under verify=", HEX[4][:32], f"verify={HEX[4][:32]}", "/email"),
        as_json(
            "GraphQL password inline",
            f"{p}graphql-inline",
            {"query": f'mutation {{ login(email: "a@b.c", password: "{p}graphql-inline") }}'},
            "/graphql",
        ),
        as_json(
            "GraphQL password in variables",
            f"{p}graphql-variables",
            {
                "query": "mutation Login($password: String!) { login(password: $password) }",
                "variables": {"email": "a@b.c", "password": f"{p}graphql-variables"},
            },
            "/graphql",
        ),
        as_json(
            "token URL inside a JSON string",
            f"{p}json-url-token",
            {"next": f"/cb?access_token={p}json-url-token&x=1"},
        ),
        form(
            "token URL inside a form value",
            f"{p}form-url-token",
            f"next=%2Fcb%3Faccess_token%3D{p}form-url-token",
        ),
        header("token URL in a header", "X-Original-Uri", f"{p}hdr-url-token", "/cb?api_key="),
        *(form(f"{name} field", f"{p}{name}-field", f"{name}={p}{name}-field") for name in NAMES),
        *(header(f"{name} header", name, f"{p}{name}-header") for name in HEADER_NAMES),
        # Names an outside attacker found copied (issue #13, third round).
        header("X-Authorization", "X-Authorization", f"{p}x-authorization"),
        header("X-Forwarded-Authorization", "X-Forwarded-Authorization", f"{p}fwd-authorization"),
        header("X-Auth-Key", "X-Auth-Key", f"{p}x-auth-key"),
        header("DD-APPLICATION-KEY", "DD-APPLICATION-KEY", f"{p}application-key"),
        header("X-Parse-Master-Key", "X-Parse-Master-Key", f"{p}parse-master-key"),
        header("X-Functions-Key", "X-Functions-Key", f"{p}functions-key"),
        form("pw", f"{p}pw-field", f"user=alice&pw={p}pw-field", "/login"),
        as_json("securityCode", f"{p}security-code", {"securityCode": f"{p}security-code"}),
        as_json("security_code", f"{p}security_code", {"security_code": f"{p}security_code"}),
        query("appid", f"{p}appid", f"q=London&appid={p}appid"),
        query("app_key", f"{p}app-key", f"app_id=1&app_key={p}app-key"),
        query("auth_key", f"{p}auth-key", f"auth_key={p}auth-key"),
        form("recovery_code", f"{p}recovery-code", f"recovery_code={p}recovery-code"),
        form(
            "card[number] field",
            CARD,
            f"card%5Bnumber%5D={CARD}&card%5Bcvc%5D=913&card%5Bexp_month%5D=12",
            "/v1/tokens",
        ),
        as_json(
            "card number nested as card.number",
            CARD[::-1],
            {"payment": {"card": {"number": CARD[::-1], "expMonth": 12}}},
            "/api/checkout",
        ),
        as_json(
            "JSON object under a password key",
            f"{p}nested-current-pw",
            {"password": {"current": f"{p}nested-current-pw", "new": f"{p}nested-new-pw"}},
        ),
        Plant(
            "Java ;jsessionid= path parameter",
            SESSION_IN_URL,
            path=f"/shop/cart;jsessionid={SESSION_IN_URL}?view=full",
        ),
        query("PHP ?PHPSESSID= query", SESSION_IN_URL[::-1], f"PHPSESSID={SESSION_IN_URL[::-1]}"),
        query("sid query", f"{p}sid-query", f"sid={p}sid-query&page=2"),
        Plant(
            "jsessionid in a Location",
            f"{p}location-jsessionid",
            path="/go",
            status=302,
            answer_headers=[("Location", f"/next;jsessionid={p}location-jsessionid")],
            answer="",
            from_server=True,
        ),
        as_json(
            "JSON array under a tokens key", f"{p}tokens-array", {"tokens": [f"{p}tokens-array"]}
        ),
        as_json(
            "raw key under a JSON Authorization key",
            f"{p}json-authorization",
            {"headers": {"Authorization": f"{p}json-authorization"}},
        ),
        form(
            "user:password@ of a URL in a form field",
            f"{p}form-userinfo",
            "url=" + urllib.parse.quote(f"https://u:{p}form-userinfo@hooks.example.com/x", safe=""),
        ),
        as_json(
            "user:password@ of a DSN in a JSON string",
            f"{p}dsn-userinfo",
            {"dsn": f"postgres://app:{p}dsn-userinfo@db:5432/x"},
        ),
        Plant(
            "form body labelled multipart without a boundary",
            f"{p}no-boundary-pw",
            "POST",
            "/login",
            [("Content-Type", "multipart/form-data")],
            f"user=alice&password={p}no-boundary-pw",
            "multipart/form-data",
        ),
        Plant(
            "redirect fragment token",
            f"{p}fragment-token",
            path="/oauth/authorize",
            status=302,
            answer_headers=[("Location", f"/cb#access_token={p}fragment-token&token_type=bearer")],
            answer="",
            from_server=True,
        ),
        # Spelled differently: percent-encoded, or named with look-alikes (issue #13, fourth
        # round). The markers hold none of the words the addon looks for first.
        *ENCODED,
        form(
            "password named with a Cyrillic а",
            f"{p}cyrillic-name",
            f"email=a%40b.c&p\u0430ssword={p}cyrillic-name",
            "/login",
        ),
        form(
            "password named in fullwidth letters, percent-encoded",
            f"{p}fullwidth-name",
            f"{urllib.parse.quote('ｐａｓｓｗｏｒｄ')}={p}fullwidth-name",
        ),
        form(
            "token named with a Greek ο and a zero-width joiner",
            f"{p}greek-zwj",
            f"t\u03bfk\u200den={p}greek-zwj",
        ),
    ]


ENCODED = [
    query(
        "token URL double-percent-encoded in a query",
        "PLANTED-double-encoded",
        "next=%252Fcb%253Faccess_token%253DPLANTED-double-encoded",
        "/sso/return",
    ),
    form(
        "token URL double-percent-encoded in a form",
        "PLANTED-double-encoded-form",
        "next=%252Fcb%253Faccess_token%253DPLANTED-double-encoded-form",
    ),
    as_json(
        "token URL percent-encoded in a JSON string",
        "PLANTED-encoded-json-url",
        {"returnTo": "%2Fcb%3Faccess_token%3DPLANTED-encoded-json-url"},
    ),
    query(
        "user:password@ of a URL in a query value",
        "PLANTED-query-userinfo",
        "webhook="
        + urllib.parse.quote("https://u:PLANTED-query-userinfo@hooks.example/x", safe=""),
    ),
    query(
        "GraphQL GET variables, percent-encoded JSON",
        "PLANTED-graphql-get-token",
        "variables=" + urllib.parse.quote(json.dumps({"token": "PLANTED-graphql-get-token"})),
        "/graphql",
    ),
    query(
        "GraphQL GET variables, percent-encoded JSON nested under a password key",
        "PLANTED-encoded-nested",  # what the value (with `/` and `"` after it) begins with
        "variables="
        + urllib.parse.quote(json.dumps({"password": {"current": 'PLANTED-encoded-nested/"pw'}})),
        "/graphql",
    ),
]
"""Secrets a value shows once percent-decoded, once or twice over."""


def upload(what: str, marker: str, filename: str, mime: str, content: str) -> Plant:
    disposition = f'form-data; name="file"; filename="{filename}"'
    body = (
        f"--XyZ\r\nContent-Disposition: {disposition}\r\nContent-Type: {mime}\r\n\r\n"
        f"{content}\r\n--XyZ--\r\n"
    )
    kind = "multipart/form-data; boundary=XyZ"
    return Plant(what, marker, "POST", "/api/upload", [("Content-Type", kind)], body, kind)


def _known_elsewhere() -> list[Plant]:
    """Uploaded files, judged by the addon as the converter judges them; and a secret the
    converter knows (a credential elsewhere), sent again where no rule looks."""
    p = "PLANTED-"
    key, password = f"{p}known-key-in-path", f"{p}known-pw-in-path"
    return [
        upload(
            "uploaded .env file", f"{p}env-file", ".env", "text/plain", f"DB_PASSWORD={p}env-file"
        ),
        upload(
            "uploaded JSON file",
            f"{p}json-file",
            "creds.json",
            "application/json",
            json.dumps({"password": f"{p}json-file"}),
        ),
        upload("uploaded key of a secret shape", AKIA, "keys.txt", "text/plain", AKIA),
        # the addon sees one request at a time: it cannot know these
        Plant(
            "known key again as a path segment",
            key,
            path=f"/v1/{key}/data",
            headers=[("X-Api-Key", key)],
            wire=False,
        ),
        Plant(
            "known password again in the path",
            password,
            "POST",
            f"/api/check/{password}",
            [("Content-Type", FORM)],
            f"password={password}",
            FORM,
            wire=False,
        ),
    ]


PLANTS = [*_plants(), *_known_elsewhere()]


def _entry(plant: Plant, origin: str, second: int) -> dict:
    url = origin + plant.path
    if plant.what == "URL credentials":
        url = url.replace("://", f"://alice:{plant.marker}@")
    request = {
        "method": plant.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "headers": [{"name": k, "value": v} for k, v in plant.headers],
    }
    if plant.body:
        request["postData"] = {"mimeType": plant.mime, "text": plant.body}
    mime = JSON if plant.answer else "text/html"
    return {
        "startedDateTime": f"2026-01-01T10:{second // 60:02d}:{second % 60:02d}.000Z",
        "time": 5,
        "_resourceType": "fetch",
        "request": request,
        "response": {
            "status": plant.status,
            "headers": [
                {"name": k, "value": v.replace("ORIGIN", origin.split("//")[1])}
                for k, v in [("Content-Type", mime), *plant.answer_headers]
            ],
            "content": {"mimeType": mime, "text": plant.answer},
        },
    }


def _login_entries(origin: str) -> list[dict]:
    """A sign-in whose response hands out a JWT that the next request sends: correlated."""
    login = Plant(
        "login",
        "",
        "POST",
        "/api/session",
        [("Content-Type", JSON)],
        json.dumps({"email": "alice@example.com", "password": "PLANTED-login-pw"}),
        JSON,
        answer=json.dumps({"token": SERVER_JWT}),
    )
    me = Plant("me", "", headers=[("Authorization", f"Bearer {SERVER_JWT}")], path="/api/me")
    return [_entry(login, origin, 0), _entry(me, origin, 2)]


def har(plants: list[Plant], origin: str = "http://127.0.0.1:1") -> dict:
    entries = _login_entries(origin)
    entries += [_entry(plant, origin, 4 + 2 * i) for i, plant in enumerate(plants)]
    return {"log": {"version": "1.2", "creator": {"name": "test"}, "entries": entries}}


MARKERS = {plant.what: plant.marker for plant in PLANTS} | {
    "login password": "PLANTED-login-pw",
    "server-made JWT": SERVER_JWT,
}


def _leaks(texts: dict[str, str], markers: dict[str, str]) -> list[str]:
    return [
        f"{what} in {where}"
        for where, text in texts.items()
        for what, marker in markers.items()
        if marker in text or urllib.parse.quote(marker, safe="") in text
    ]


# --- one shape at a time: the addon and the converter, in process --------------------------


@pytest.mark.parametrize(
    "plant", [p for p in PLANTS if p.wire and not p.from_server], ids=lambda p: p.what
)
def test_the_addon_writes_no_planted_secret(plant):
    url = "http://127.0.0.1:1" + plant.path
    flow = tflow.tflow(
        req=tutils.treq(
            method=plant.method.encode(),
            host="127.0.0.1",
            port=1,
            path=plant.path.encode(),
            headers=[(k.encode(), v.encode()) for k, v in plant.headers],
            content=plant.body.encode(),
        ),
        resp=True,
    )
    assert flow.request.pretty_url == url
    record = json.dumps(flow_record(flow), ensure_ascii=False)
    assert not _leaks({"capture line": record}, {plant.what: plant.marker})


@pytest.mark.parametrize("plant", PLANTS, ids=lambda p: p.what)
def test_the_converter_copies_no_planted_secret(plant):
    recording = parse_har(json.dumps(har([plant])), "planted.har")
    result = convert(recording)
    lines = "\n".join(summary(recording, result, Path("planted.py")))
    assert not _leaks({"module": result.source, "summary": lines}, {plant.what: plant.marker})
    compile(result.source, "planted.py", "exec")


def test_a_server_made_token_stays_correlated_not_a_credential():
    recording = parse_har(json.dumps(har([])), "planted.har")
    source = convert(recording).source
    assert '_token": json_path("token")' in source, source
    assert re.search(r'"Authorization": f"Bearer \{self\.\w+_token\}"', source), source
    assert 'credential("authorization' not in source


# --- all at once, end to end: real mitmdump, convert, verify, Locust ---------------------------


class StandIn(http.server.BaseHTTPRequestHandler):
    """Answers every request as recorded, with live tokens of its own; never echoes a request."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.hits += 1
        path = self.path.split("?")[0]
        status, headers, body = 200, [("Content-Type", JSON)], b"{}"
        if path == "/api/session":
            body = json.dumps({"token": jwt("live-login")}).encode()
        elif path == "/go":
            status, body, headers = 302, b"", [("Location", "/next")]
        elif path == "/oauth/authorize":
            status, body = 302, b""
            headers = [
                ("Location", "/cb#access_token=live-fragment"),
                ("Content-Type", "text/html"),
            ]
        self.send_response(status)
        for name, value in [*headers, ("Content-Length", str(len(body)))]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer


@pytest.fixture
def stand_in():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    server.daemon_threads = True
    server.hits = 0
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _send_through(proxy_url: str, origin: str) -> None:
    """The recording session a browser would make, through the proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy_url}))
    for entry in har([p for p in PLANTS if p.wire], origin)["log"]["entries"]:
        request = entry["request"]
        body = request.get("postData", {}).get("text")
        sent = urllib.request.Request(
            request["url"],
            data=body.encode() if body is not None else None,
            headers={h["name"]: h["value"] for h in request["headers"]},
            method=request["method"],
        )
        try:
            opener.open(sent, timeout=10).read()
        except urllib.error.HTTPError as e:  # the 302 to /cb, followed: fine either way
            e.read()


def _replay(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "replay.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **env},
    )


def _credentials(module: Path) -> dict[str, str]:
    """A live value for every credential the module reads: what a run is given."""
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "credentials":
            names = ast.literal_eval(node.value)
            # A PIN sent as a JSON number must be a number.
            return {f"REPLAY_{n.upper()}": "4321" if "pin" in n else f"live-{n}" for n in names}
    return {}


def _files(folder: Path) -> dict[str, str]:
    return {
        str(path): path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_planted_secrets_reach_no_file_output_or_report(stand_in, tmp_path):
    assert len(PLANTS) >= 40
    # 1. The capture file the real addon writes, in front of the stand-in server.
    capture = tmp_path / "capture" / "planted.jsonl"
    with run_capture_proxy(capture, 0, quiet=True, extra_args=LOOPBACK_ONLY) as proxy:
        _send_through(proxy.url, stand_in.url)
    lines = [json.loads(line) for line in capture.read_text().splitlines()]
    sent = {p.what: p.marker for p in PLANTS if p.wire and not p.from_server}
    assert len(lines) > len(sent), "the proxy recorded too little"
    assert not _leaks({"capture file": capture.read_text()}, sent)
    requests = json.dumps([line.get("request") for line in lines])
    assert not _leaks({"capture requests": requests}, MARKERS)

    # 2. Converted: from the redacted capture, and from a HAR holding every secret in clear.
    recordings = tmp_path / "recordings"
    from_capture = _replay(
        "convert", str(capture), "-o", str(tmp_path / "from_capture" / "c.py"), env={}
    )
    assert from_capture.returncode == 0, from_capture.stderr
    har_file = tmp_path / "planted.har"
    har_file.write_text(json.dumps(har(PLANTS, stand_in.url)))
    module = recordings / "planted.py"
    converted = _replay("convert", str(har_file), "-o", str(module), env={})
    assert converted.returncode == 0, converted.stderr
    outputs = {
        **_files(tmp_path / "from_capture"),
        **_files(recordings),
        "convert output": converted.stdout + converted.stderr + from_capture.stdout,
        "convert errors": from_capture.stderr,
    }
    assert not _leaks(outputs, MARKERS)
    source = module.read_text()
    assert re.search(r"Bearer \{self\.\w+_token\}", source), "the login token is not correlated"

    # 3. verify and a short Locust run, given live credentials.
    live = _credentials(module)
    assert len(live) >= 30, live
    verified = _replay("verify", str(module), "--host", stand_in.url, env=live)
    run = tmp_path / "run"
    run.mkdir()
    html = run / "report.html"
    before = stand_in.hits
    stats = run_locust(
        recordings,
        stand_in.url,
        "--think-scale",
        "0",
        "--html",
        str(html),
        users=2,
        run_time="6s",
        env=live,
        tmp=run,
    )
    assert stand_in.hits > before and stats.returncode == 0, stats.output[-2000:]
    assert html.exists()
    reports = {
        **_files(run),
        "verify output": verified.stdout + verified.stderr,
        "locust output": stats.output,
    }
    assert not _leaks(reports, MARKERS)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_convert_warnings_never_print_a_token_named_query_value(tmp_path):
    """A warning names the request by its URL: its secret query values are redacted."""
    marker = "PLANTED-warning-token"
    lost_body = Plant("lost body", marker, "PUT", f"/api/doc?access_token={marker}&v=2")
    document = har([lost_body])
    document["log"]["entries"][-1]["request"]["bodySize"] = 500  # declared, never carried
    recording = parse_har(json.dumps(document), "planted.har")
    result = convert(recording)
    lines = summary(recording, result, tmp_path / "planted.py")
    warnings = [line for line in lines if line.startswith("warning:")]
    assert warnings and "/api/doc?access_token=REDACTED" in warnings[0], lines
    assert not _leaks({"summary": "\n".join(lines), "module": result.source}, {"w": marker})


def test_a_comment_never_prints_a_value_under_a_secret_name():
    """A rules file may make a password a generated value; its comment still hides the
    recorded one (as it hides any value a rule here would call secret)."""
    recording = parse_har(json.dumps(har([])), "planted.har")
    rules = parse_rules('[parameters]\npassword = "faker.word"\n', "planted.rules.toml")
    source = convert(recording, Options(rules=rules)).source
    assert "self.fake.word()" in source, source
    assert not _leaks({"module": source}, {"login password": "PLANTED-login-pw"})


def _query(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query)[name][0]


READ_BACK = {
    "token URL double-percent-encoded in a query": (
        "access_token",
        lambda sent: _query(unquote(_query(sent, "next")), "access_token"),
    ),
    "token URL double-percent-encoded in a form": (
        "access_token",
        lambda sent: _query(unquote(sent), "access_token"),
    ),
    "token URL percent-encoded in a JSON string": (
        "access_token",
        lambda sent: _query(unquote(sent), "access_token"),
    ),
    "GraphQL GET variables, percent-encoded JSON": (
        "token",
        lambda sent: json.loads(_query(sent, "variables"))["token"],
    ),
    "GraphQL GET variables, percent-encoded JSON nested under a password key": (
        "password_current",
        lambda sent: json.loads(_query(sent, "variables"))["password"]["current"],
    ),
}
"""The credential each secret becomes, and how the site reads it back out of what a replay
sends, level by level."""


@pytest.mark.parametrize("plant", [p for p in ENCODED if p.what in READ_BACK], ids=lambda p: p.what)
def test_a_secret_inside_an_encoded_value_is_sent_encoded_as_recorded(plant):
    """The module sends the live secret where the recorded one stood, percent-encoded as many
    times as the recording held it (and JSON-escaped inside a JSON string): the site decodes
    it as it decoded the recorded one. A live value full of reserved characters shows it."""
    live = 'a/b&c=d?e %f"g'
    source = convert(parse_har(json.dumps(har([plant])), "planted.har")).source
    name, read_back = READ_BACK[plant.what]
    credential = re.search(rf'self\.(\w+) = self\.credential\("{name}"\)', source)
    assert credential, source
    var = credential[1]
    scope = {"urlencoded": urlencoded, "json_escaped": json_escaped}
    scope["self"] = SimpleNamespace(**{var: live})
    sent = [
        eval(compile(ast.Expression(node), "module", "eval"), scope)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.JoinedStr) and f"self.{var}" in ast.unparse(node)
    ]
    assert [read_back(text) for text in sent] == [live], sent


def test_a_secret_it_cannot_place_in_an_encoded_value_makes_the_whole_value_a_credential():
    """Lower-case escapes (`%2b`) are not what convert would write again: the whole value is
    the credential, and convert's summary says so in one line."""
    marker = "PLANTED-lower-case-escape"
    plant = query("x", marker, f"next=%2Fcb%3Faccess_token%3D{marker}%2bx", "/sso")
    recording = parse_har(json.dumps(har([plant])), "planted.har")
    result = convert(recording)
    lines = summary(recording, result, Path("planted.py"))
    assert not _leaks({"module": result.source, "summary": "\n".join(lines)}, {"x": marker})
    assert 'self.get(f"/sso?next={self.encoded_access_token}"' in result.source, result.source
    warned = [line for line in lines if "encoded_access_token is a whole" in line]
    assert len(warned) == 1 and warned[0].startswith("warning: "), lines


def test_a_token_the_addon_redacted_inside_an_encoded_value_keeps_its_name_and_encoding(tmp_path):
    """Converted from the capture file, the addon's `REDACTED-<digest>` inside a return URL
    encoded twice is the `access_token` of the URL inside, and sent encoded three times over
    as the secret was (twice around the URL, once in its query)."""
    flows = [
        tflow.tflow(req=tutils.treq(host="127.0.0.1", port=1, path=path.encode()), resp=True)
        for path in ("/", ENCODED[0].path)
    ]
    capture = tmp_path / "encoded.jsonl"
    lines = [header_record(True), *map(flow_record, flows)]
    capture.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert ENCODED[0].marker not in capture.read_text()
    source = convert(read_capture(capture)).source
    sent = "%253D{urlencoded(urlencoded(urlencoded(self.access_token)))}"
    assert sent in source and "REDACTED" not in source, source


# --- a known secret sent again elsewhere; a body in another charset ---------------------------


def _converted(plants: list[Plant]) -> dict[str, str]:
    recording = parse_har(json.dumps(har(plants)), "planted.har")
    result = convert(recording)
    compile(result.source, "planted.py", "exec")
    return {
        "module": result.source,
        "summary": "\n".join(summary(recording, result, Path("planted.py"))),
    }


KEY = "PLANTED-known-api-key-0123"
PASSWORD = "PLANTED-known-password"
SENT_AGAIN = [
    Plant("as a path segment", KEY, path=f"/v1/{KEY}/data"),
    Plant("in a header of another name", KEY, headers=[("X-Debug-Key", KEY)]),
    Plant("in a Referer", KEY, headers=[("Referer", f"http://127.0.0.1:1/docs?k={KEY}")]),
    query("in a query under an innocent name", KEY, f"q={KEY}"),
    as_json("in JSON under an innocent name", KEY, {"note": f"key {KEY}", "copy": KEY}),
    form("in a form field under an innocent name", KEY, f"comment={KEY}"),
    multipart("in a multipart field under an innocent name", KEY, 'name="title2"'),
    Plant(
        "in a redirect's Location",
        KEY,
        path="/go",
        status=302,
        answer_headers=[("Location", f"/keys/{KEY}/done")],
        answer="",
    ),
]


@pytest.mark.parametrize("plant", SENT_AGAIN, ids=lambda p: p.what)
def test_a_known_api_key_sent_again_anywhere_sends_the_credential(plant):
    """The key is a credential where its header sends it; sent again in another place, it is
    the same credential there, never the recorded value."""
    texts = _converted([header("API key header", "X-Api-Key", KEY), plant])
    assert not _leaks(texts, {"api key": KEY})
    assert texts["module"].count("self.x_api_key") >= 2, texts["module"]
    assert 'credential("x_api_key")' in texts["module"]


def test_a_known_api_key_echoed_by_the_server_and_sent_again_stays_out():
    """Where a server hands the key back (a Location, a response header) and a later request
    sends it on: correlated from the live response, or the credential; never the value."""
    texts = _converted(
        [
            header("API key header", "X-Api-Key", KEY),
            Plant(
                "a redirect to a URL holding it",
                KEY,
                path="/go",
                status=302,
                answer_headers=[("Location", f"/keys/{KEY}/done")],
                answer="",
            ),
            Plant("the redirect followed", KEY, path=f"/keys/{KEY}/done"),
            Plant("echoed in a header", KEY, path="/echo", answer_headers=[("X-Echo-Key", KEY)]),
            Plant("sent on in another header", KEY, headers=[("X-Forward", KEY)]),
        ]
    )
    assert not _leaks(texts, {"api key": KEY})


def test_a_warning_about_a_request_shows_a_known_secret_in_its_url_as_the_variable():
    document = har(
        [header("API key header", "X-Api-Key", KEY), Plant("lost body", KEY, "PUT", f"/docs/{KEY}")]
    )
    document["log"]["entries"][-1]["request"]["bodySize"] = 500  # declared, never carried
    recording = parse_har(json.dumps(document), "planted.har")
    lines = summary(recording, convert(recording), Path("planted.py"))
    assert "warning: PUT http://127.0.0.1:1/docs/[x_api_key]: it declared" in "\n".join(lines)
    assert not _leaks({"summary": "\n".join(lines)}, {"api key": KEY})


def test_a_known_password_sent_again_as_a_path_segment_names_its_step_by_the_variable():
    texts = _converted(
        [
            form("login", PASSWORD, f"email=a%40b.c&password={PASSWORD}", "/login"),
            Plant("same password in the path", PASSWORD, path=f"/api/check/{PASSWORD}"),
        ]
    )
    assert not _leaks(texts, {"password": PASSWORD})
    module = texts["module"]
    assert "def view_check_password_2(self):" in module, module
    assert 'name="/api/check/[password_2]"' in module
    assert "/api/check/{urlencoded(self.password_2)}" in module
    assert "planted_known" not in module.lower()


def test_a_step_named_after_a_long_known_key_is_named_after_its_variable():
    """A method name is cut to whole words at 40 characters: the key's first words stay in
    it unless the name is made again from the path the call now sends."""
    key = "PLANTED-letters-only-key-of-many-words-here"
    texts = _converted([header("key", "X-Api-Key", key), Plant("path", key, path=f"/v1/{key}")])
    assert "def view_v1_x_api_key(self):" in texts["module"], texts["module"]
    assert "letters" not in texts["module"]


def test_a_known_api_key_sent_again_in_the_same_request_as_a_path_segment():
    texts = _converted([Plant("key in path", KEY, path=f"/v1/{KEY}", headers=[("X-Api-Key", KEY)])])
    assert not _leaks(texts, {"api key": KEY})


def test_a_value_inside_a_longer_word_or_shorter_than_eight_characters_is_left_alone():
    """A known value counts as a whole only; a short one (a PIN) as a path segment is as likely
    an id: replacing every `4321` would break ordinary replays."""
    texts = _converted(
        [
            as_json("pin", "4321", {"pin": "4321", "token": KEY}),
            Plant("pin-like id", "4321", path="/orders/4321"),
            Plant("longer word", KEY, path=f"/v1/x{KEY}"),
        ]
    )
    assert '"/orders/4321"' in texts["module"]
    assert f'"/v1/x{KEY}"' in texts["module"]


def _flow_file(tmp_path: Path, method: str, path: str, headers: list, body: bytes) -> Path:
    out = tmp_path / "capture.mitm"
    with out.open("wb") as f:
        writer = io.FlowWriter(f)
        for n, (m, p, h, b) in enumerate([("GET", "/", [], b""), (method, path, headers, body)]):
            flow = tflow.tflow(resp=True)
            flow.request = mitm_http.Request.make(m, f"http://127.0.0.1:1{p}", b, h)
            flow.response = mitm_http.Response.make(
                200, b"{}", [(b"Content-Type", b"application/json")]
            )
            flow.request.timestamp_start = 1_767_225_600 + 3 * n
            flow.request.timestamp_end = flow.response.timestamp_end = flow.request.timestamp_start
            writer.add(flow)
    return out


def _jsonl_file(tmp_path: Path, method: str, path: str, headers: list, body: bytes) -> Path:
    """The addon's capture of the same flows, unredacted (the reader must decode it too)."""
    out = tmp_path / "capture.jsonl"
    with (tmp_path / "capture.mitm").open("rb") as f:
        flows = list(io.FlowReader(f).stream())
    lines = [header_record(False), *(flow_record(flow, redact=False) for flow in flows)]
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return out


def _har_file(tmp_path: Path, method: str, path: str, headers: list, body: bytes) -> Path:
    """A HAR whose exporter kept the body's bytes, as base64."""
    plant = Plant("utf-16 login", "", method, path, [(k.decode(), v.decode()) for k, v in headers])
    document = har([plant])
    entry = document["log"]["entries"][-1]["request"]
    mime = headers[0][1].decode()
    entry["postData"] = {
        "mimeType": mime,
        "text": base64.b64encode(body).decode(),
        "encoding": "base64",
    }
    out = tmp_path / "capture.har"
    out.write_text(json.dumps(document))
    return out


@pytest.mark.parametrize(
    "reader", [_flow_file, _jsonl_file, _har_file], ids=["flows", "jsonl", "har"]
)
@pytest.mark.parametrize(
    "codec, content_type",
    [("utf-16", "application/json; charset=utf-16"), ("utf-32", "application/json")],
)
def test_a_json_login_in_another_charset_is_read_as_json(tmp_path, reader, codec, content_type):
    """Decoded by its charset before it is judged: the password becomes a credential, and the
    module sends the body as UTF-8, declared so."""
    marker = f"PLANTED-{codec}-pw"
    body = json.dumps({"email": "a@b.c", "password": marker}).encode(codec)
    headers = [(b"Content-Type", content_type.encode())]
    _flow_file(tmp_path, "POST", "/api/login", headers, body)
    capture = reader(tmp_path, "POST", "/api/login", headers, body)
    recording = recorder.read(capture)
    result = convert(recording)
    source = result.source
    assert not _leaks({"module": source}, {"password": marker})
    said = summary(recording, result, Path("planted.py"))
    assert not [line for line in said if "declared a" in line], said  # the whole body is there
    login = source[source.index('"/api/login"') :]
    login = login[: login.index("\n        )\n")]
    assert 'json={"email": self.email' in login and "data=" not in login, login
    if "charset" in content_type:
        assert '"Content-Type": "application/json; charset=utf-8"' in login, login


def test_a_har_text_body_declared_utf16_is_sent_declared_utf8():
    """A HAR holds the body as text; what the module sends is its UTF-8, so it says so."""
    plant = Plant(
        "text declared utf-16",
        "",
        "POST",
        "/api/notes",
        [("Content-Type", "text/plain; charset=UTF-16")],
        "note=hello",
        "text/plain; charset=UTF-16",
    )
    source = convert(parse_har(json.dumps(har([plant])), "planted.har")).source
    assert '"Content-Type": "text/plain; charset=utf-8"' in source, source
    assert "UTF-16" not in source
