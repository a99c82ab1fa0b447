"""The capture addon's redaction where a secret hides from a plain byte search: a body in
another charset, a STOMP frame over a WebSocket, an uploaded file (whose
planted secrets `tests/test_planted_secrets.py` checks, addon and converter alike)."""

from __future__ import annotations

import base64
import json

import pytest
from mitmproxy.test import tflow, tutils
from mitmproxy.websocket import WebSocketMessage

from recorder.addon import flow_record, message_record, redact_body
from recorder.charsets import Charset, charset, decoded

P = "PLANTED-"


def _written(record: dict) -> bytes:
    """The body bytes a capture line holds."""
    if record["body_encoding"] == "base64":
        return base64.b64decode(record["body"])
    return record["body"].encode()


def _login(body: bytes, content_type: str) -> dict:
    flow = tflow.tflow(
        req=tutils.treq(
            method=b"POST",
            path=b"/api/login",
            headers=[(b"Content-Type", content_type.encode())],
            content=body,
        ),
        resp=True,
    )
    return flow_record(flow)["request"]


JSON_LOGINS = [
    ("utf-16", "application/json; charset=utf-16"),  # Python writes a BOM
    ("utf-16-be", "application/json; charset=UTF-16BE"),
    ("utf-16-le", "application/json; charset=utf-16"),  # no BOM: the zeros tell the order
    ("utf-32", "application/json"),  # a BOM alone
    ("cp500", "text/plain; charset=IBM500"),  # EBCDIC: no ASCII byte where ASCII was
]


@pytest.mark.parametrize("declared", ["utf-16", "IBM500", "latin-1"])
def test_a_utf8_body_whose_charset_label_lies_is_judged_as_it_reads(declared):
    """A misconfigured client labels a plain UTF-8 form `charset=utf-16`: read as the label
    says, `password=...` became CJK nonsense that encodes back to the same bytes, and was
    written to the capture file in clear (the converter sent that nonsense as the body)."""
    marker = f"{P}lying-{declared}"
    body = f"username=alice&password={marker}"
    body += "x" * (len(body) % 2)  # UTF-16 decodes only an even length
    written = _written(
        _login(body.encode(), f"application/x-www-form-urlencoded; charset={declared}")
    )
    assert written == b"username=alice&password=REDACTED", written


@pytest.mark.parametrize("codec, content_type", JSON_LOGINS, ids=[c for c, _ in JSON_LOGINS])
def test_the_addon_redacts_a_login_in_another_charset_and_keeps_the_charset(codec, content_type):
    marker = f"{P}{codec}-pw"
    document = {"email": "a@b.c", "password": marker}
    written = _written(_login(json.dumps(document).encode(codec), content_type))
    # written back in its own charset, readable as it was sent, without the password
    found = charset(written, content_type)
    assert found is not None
    text = written[len(found.bom) :].decode(found.codec)
    assert json.loads(text) == {"email": "a@b.c", "password": "REDACTED"}


def test_a_body_in_another_charset_without_a_secret_is_written_as_sent():
    body = json.dumps({"q": "grüße"}).encode("utf-16")
    assert _written(_login(body, "application/json; charset=utf-16")) == body


def test_a_binary_upload_that_starts_like_a_bom_is_not_decoded():
    """FF FE starts a UTF-16 BOM and many binary files alike: only text types are read so."""
    assert charset(b"\xff\xfe" + "password=x".encode("utf-16-le"), "image/png") is None
    assert charset(b"\xff\xfepassword", "application/json") == Charset("utf-16-le", b"\xff\xfe")


def test_a_charset_that_does_not_give_the_same_bytes_back_is_not_decoded():
    """`unicode_escape` is a Python codec, not a charset: it reads `\\u0070` as `p` and
    writes `é` as `\\xe9`."""
    body = b'{"note": "\\u0070 \xe9"}'
    assert charset(body, "application/json; charset=unicode_escape")
    assert decoded(body, "application/json; charset=unicode_escape") is None


def test_the_addon_reads_a_json_name_written_with_escapes():
    """`{"\\u0070assword": ...}` is `{"password": ...}` to every JSON reader."""
    body = b'{"\\u0070assword": "PLANTED-escaped-name"}'
    assert json.loads(_written(_login(body, "application/json")))["password"] == "REDACTED"


def test_the_addon_redacts_a_response_password_in_utf16():
    """A response loses what a person holds (a password), in any charset; tokens stay."""
    body = json.dumps({"password": f"{P}response-pw", "token": "server-token"}).encode("utf-16")
    shown = redact_body(body, "application/json", sent=False)
    assert json.loads(shown.decode("utf-16")) == {"password": "REDACTED", "token": "server-token"}


def _frame(text: str, from_client: bool = True) -> str:
    message = WebSocketMessage(1, from_client, text.encode())
    return json.dumps(message_record(tflow.twebsocketflow(), message))


@pytest.mark.parametrize("command", ["CONNECT", "STOMP"])
def test_the_addon_redacts_a_stomp_passcode_sent_over_a_websocket(command):
    """RabbitMQ Web-STOMP signs in with `login:`/`passcode:` header lines."""
    marker = f"{P}stomp-passcode"
    record = _frame(f"{command}\naccept-version:1.2\nlogin:alice\npasscode:{marker}\n\n\x00")
    assert marker not in record
    assert "login:alice" in record and "passcode:REDACTED" in record


def test_the_addon_redacts_any_secret_header_line_of_a_text_frame():
    marker = f"{P}frame-token"
    record = _frame(f"SUBSCRIBE\nid:0\nX-Api-Key:{marker}\ndestination:/queue/a\n\n\x00")
    assert marker not in record and "destination:/queue/a" in record


def test_a_json_message_is_redacted_as_json():
    """Its first key is no header line's name (`{"password"`): the frame stays JSON."""
    record = json.loads(_frame(json.dumps({"password": f"{P}ws-json", "type": "auth"})))
    assert json.loads(record["body"]) == {"password": "REDACTED", "type": "auth"}


def test_a_message_line_that_names_no_secret_stays():
    text = "SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello: world\x00"
    assert json.loads(_frame(text))["body"] == text


def test_an_uploaded_file_without_a_secret_is_written_as_sent():
    content = b"\x89PNG\r\n\x1a\n\x00\xffname=value; token"
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + content + b"\r\n--XyZ--\r\n"
    )
    assert redact_body(body, "multipart/form-data; boundary=XyZ") == body
