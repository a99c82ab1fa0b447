"""mitmproxy addon: stream every finished flow to a JSON-lines capture file.

    mitmdump -s recorder/addon.py --set capture_file=recordings/raw/NAME.jsonl

Each flow is written (one line, one write) the moment it finishes, so `kill -9` of mitmdump
loses at most the flows still in flight, and nothing is kept in memory. Secrets are redacted
before they reach the disk unless `capture_redact=false`. Line format: see `flow_record`,
`message_record` and `header_record`; `recorder.flows.read_capture` reads it back.

This file is loaded by path (`mitmdump -s`), so it imports only mitmproxy and the stdlib.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from mitmproxy import ctx, exceptions, flowfilter, http, version
from mitmproxy.websocket import WebSocketMessage

try:
    from recorder import charsets, sensitive
except ImportError:  # loaded by path by a mitmproxy without this package: these are beside
    import charsets  # type: ignore[no-redef,import-not-found]
    import sensitive  # type: ignore[no-redef,import-not-found]

FORMAT = "locust-replay-capture"
VERSION = 1
PASSWORD_SCHEMES = frozenset({"basic", "digest", "ntlm", "negotiate"})
"""Authorization schemes that carry a password (or a hash of one): never digested."""
PERSONAL_HINT = (
    rb"pass|pw|secret|pin|otp|mfa|kennwort|contrase|senha|answer|ssn|cvv|cvc|card|cc[-_]?n"
    rb"|security|recovery"
)
SECRET_HINT = re.compile(PERSONAL_HINT + rb"|token|key|sig|credential|auth|session|basic|appid")
"""In a lowered body: no such word, no secret field (most bodies); re.I is several times slower."""
PERSONAL_IN_RESPONSE = re.compile(PERSONAL_HINT)
USERINFO_HINT = re.compile(rb"(?://|%2[fF]%2[fF])[^/?#@\s]{0,256}?(?:@|%40)")
"""The `user:password@` of a URL, plain or percent-encoded, in a body."""

Record = dict[str, Any]


# --- redaction: pure functions over header values and bodies (what is secret: sensitive.py) ----


def redact_header(
    name: str, value: str, extra: frozenset[str] = frozenset(), sent: bool = True
) -> str:
    """Hide credentials but keep what later stages need: the auth scheme and cookie names.
    Basic and other password-bearing schemes lose the whole value. A request's other headers
    lose the secrets they show (an API key, a Referer's `?token=`, a JWT); a response's keep
    them, as the tokens the server made, for correlation."""
    lname = name.lower()
    if lname in sensitive.CREDENTIAL_HEADERS:
        scheme, sep, token = value.partition(" ")
        if not sep:
            return sensitive.redacted(value)
        if scheme.lower() in PASSWORD_SCHEMES:
            return f"{scheme} {sensitive.REDACTED}"
        return f"{scheme} {sensitive.redacted(token)}"
    if lname == "cookie":
        return "; ".join(_redact_cookie(part.strip()) for part in value.split(";") if part.strip())
    if lname == "set-cookie":
        pair, sep, attributes = value.partition(";")
        return _redact_cookie(pair.strip()) + sep + attributes
    if lname in extra or (sent and sensitive.secret_header(name) and sensitive.secret_value(value)):
        return sensitive.redacted(value)
    if not sent:  # a Location or a Link keeps its tokens, not a `user:password@`
        return sensitive.USERINFO.sub("", value) if "@" in value else value
    return sensitive.redact_text(value)


def _redact_cookie(pair: str) -> str:
    """`name=value` → `name=REDACTED-…`; an empty value (a deletion) stays empty."""
    name, sep, value = pair.partition("=")
    if not sep:
        return sensitive.REDACTED
    return f"{name}={sensitive.redacted(value.strip())}" if value.strip() else pair


def redact_form(text: str, is_secret=sensitive.secret_name) -> str:
    """Redact secret fields of an urlencoded form or query, leaving every other byte as sent.
    A value of a secret shape (a JWT, an AWS key id) goes whatever its field's name."""
    parts = text.split("&")
    for i, part in enumerate(parts):
        name, sep, value = part.partition("=")
        if not sep or not value:
            continue
        field, plain = unquote_plus(name), unquote_plus(value)
        if is_secret(field) and sensitive.secret_value(plain):
            parts[i] = f"{name}={sensitive.redacted_field(field, plain)}"
        elif sensitive.has_shape(f"?{field}={plain}") or sensitive.encoded_secret(plain):
            parts[i] = f"{name}={sensitive.redacted(plain)}"
        elif any(c in value for c in '%=@"') and (shown := sensitive.redact_text(value)) != value:
            # a URL with `?token=...` or `user:password@`, JSON: read decoded, redacted as sent
            parts[i] = f"{name}={shown}"
    return "&".join(parts)


PATH_PARAMETER = re.compile(r"(?<=;)[^/;]+")


def redact_url(url: str) -> str:
    """A URL without its credentials, secret query and fragment fields, and secret shapes."""
    url = sensitive.USERINFO.sub("", url, count=1) if "@" in url else url
    rest, hash_, fragment = url.partition("#")
    base, question, query = rest.partition("?")
    base = sensitive.redact_shapes(base)
    if ";" in base:  # a path parameter is a field: `/cart;jsessionid=...`
        base = PATH_PARAMETER.sub(lambda parameter: redact_form(parameter[0]), base)
    return (
        base
        + question
        + redact_form(query)
        + hash_
        + (redact_form(fragment) if "=" in fragment else sensitive.redact_shapes(fragment))
    )


def _redact_json_value(value: Any, is_secret, key: str = "") -> tuple[Any, bool]:
    """The value, sent under `key`, with secret fields replaced, and whether anything was
    replaced. Every string under a secret key is secret (`{"tokens": [...]}`)."""
    if isinstance(value, dict):
        out, changed = {}, False
        for name, item in value.items():
            field = sensitive.json_field(value, name, key)
            if is_secret(field) and sensitive.secret_value(item):
                out[name], hit = sensitive.redacted_field(field, item), True
            else:
                out[name], hit = _redact_json_value(item, is_secret, field)
            changed |= hit
        return out, changed
    if isinstance(value, list):
        items = [_redact_json_value(item, is_secret, key) for item in value]
        return [item for item, _ in items], any(hit for _, hit in items)
    if key and is_secret(key) and sensitive.secret_value(value):
        return sensitive.redacted_field(key, value), True
    if isinstance(value, str) and is_secret is sensitive.secret_name:
        redacted_text = sensitive.redact_text(value)  # a shape, a GraphQL `password: "..."`
        return redacted_text, redacted_text != value
    return value, False


MULTIPART_NAME = re.compile(rb'\bname=(?:"([^"]*)"|([^;\r\n]+))', re.I)


def _redact_multipart(body: bytes, content_type: str, is_secret) -> bytes:
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if not boundary:
        return body
    delimiter = b"--" + boundary[1].encode("latin-1")
    parts = body.split(delimiter)
    for i, part in enumerate(parts):
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep or not content.strip():
            continue  # cheap tests first: a body can be made of a million empty parts
        if b"filename=" in head:  # an uploaded file: what a request sends, judged as text
            if is_secret is sensitive.secret_name:
                parts[i] = head + sep + _redact_file(content, head)
            continue
        name = MULTIPART_NAME.search(head)
        if not name:
            continue
        field = (name[1] if name[1] is not None else name[2]).decode("latin-1").strip()
        value = content.removesuffix(b"\r\n").decode("latin-1")
        if is_secret(field) and sensitive.secret_value(value):
            secret = sensitive.redacted_field(field, value).encode()
            parts[i] = head + sep + secret + b"\r\n"
        elif is_secret is sensitive.secret_name and sensitive.has_shape(value):
            parts[i] = head + sep + sensitive.redact_shapes(value).encode("latin-1") + b"\r\n"
    return delimiter.join(parts)


PART_TYPE = re.compile(rb"^content-type:([^\r\n]*)", re.I | re.M)


def _redact_file(content: bytes, head: bytes) -> bytes:
    """An uploaded file's content without the secrets the converter finds in it (a `.env`'s
    `DB_PASSWORD=...`, a JSON file's `"password": "..."`, a key of a secret shape), by the
    function the converter's scrub asks of a body's text, `sensitive.secret_spans`, with its
    secret `name=value` pairs. Other bytes stay as they were."""
    declared = PART_TYPE.search(head)
    content_type = declared[1].decode("latin-1").strip() if declared else ""
    found = charsets.decoded(content, content_type)
    text = found[0] if found else content.decode("utf-8", "surrogateescape")
    parts, position = [], 0
    for start, end, name, *_ in sensitive.secret_spans(text, pairs=True):
        value = text[start:end]
        if not sensitive.REDACTED_TOKEN.fullmatch(value):
            parts += [text[position:start], sensitive.redacted_field(name, value)]
            position = end
    if not parts:
        return content
    shown = "".join([*parts, text[position:]])
    return found[1].encode(shown) if found else shown.encode("utf-8", "surrogateescape")


HEADER_LINE = re.compile(r"^([\w.-]{1,100}):([^\r\n]*)", re.M)
"""A `name:value` header line of a text frame (STOMP's `passcode:...`, a line protocol), its name
as a header's is written: a JSON frame's `{"password": ...}` is no header line."""


def redact_frame(frame: bytes) -> bytes:
    """A client's WebSocket text message with the values of its secret header lines
    redacted: STOMP's `CONNECT` signs in with `login:` and `passcode:` lines."""
    if b":" not in frame:
        return frame
    text = frame.decode("utf-8", "surrogateescape")
    shown = HEADER_LINE.sub(_header_line, text)
    return frame if shown == text else shown.encode("utf-8", "surrogateescape")


def _header_line(line: re.Match) -> str:
    name, value = line[1], line[2]
    if not sensitive.secret_name(name) or not sensitive.secret_value(value):
        return line[0]
    return f"{name}:{sensitive.redacted_field(name, value)}"


def redact_body(body: bytes, content_type: str, sent: bool = True) -> bytes:
    """Redact secret fields of JSON, urlencoded, multipart and text bodies, and values of a
    secret shape. A response (`sent=False`) loses only what a person holds (passwords, PINs,
    client secrets): the tokens a server makes stay, for correlation. A body in another
    charset (a UTF-16 BOM, `charset=utf-16`) is judged as its text and written back in it."""
    found = charsets.decoded(body, content_type)
    if found is not None:
        utf8 = found[0].encode("utf-8", "surrogatepass")
        redacted = redact_body(utf8, charsets.declared_utf8(content_type), sent)
        return (
            body if redacted == utf8 else found[1].encode(redacted.decode("utf-8", "surrogatepass"))
        )
    hint = SECRET_HINT if sent else PERSONAL_IN_RESPONSE
    shown = sent and (sensitive.has_shape(body) or USERINFO_HINT.search(body) is not None)
    spelled = b"\\u" in body or sensitive.LOOK_ALIKE_HINT.search(body)
    if not hint.search(body.lower()) and not shown and not spelled:
        # no such field name, no such shape, no URL credentials, no JSON escape or non-ASCII
        # letter that could spell one (`"\u0070assword"`, `pаssword`): skip (most bodies)
        return body
    is_secret = sensitive.secret_name if sent else sensitive.personal_name
    mime = content_type.lower()
    if "multipart/form-data" in mime and "boundary=" in mime:
        return _redact_multipart(body, content_type, is_secret)
    if "x-www-form-urlencoded" in mime or "multipart/form-data" in mime:
        # (multipart without a boundary: read as a form, as the converter reads it)
        return redact_form(body.decode("latin-1"), is_secret).encode("latin-1")
    # Many apps send JSON as text/plain (no CORS preflight), so look at the body as well.
    if "json" in mime or body.lstrip()[:1] in (b"{", b"["):
        try:
            redacted_document, changed = _redact_json_value(json.loads(body), is_secret)
        except ValueError:
            pass
        except RecursionError:  # nested too deep to look into: none of it reaches the disk
            return sensitive.REDACTED.encode()
        else:
            if not changed:
                return body
            return json.dumps(redacted_document, ensure_ascii=False, separators=(",", ":")).encode()
    if not sent or "html" in mime:
        return body
    text = body.decode("latin-1")  # a text/plain form, a line protocol: `password=...` lines
    redacted_text = sensitive.redact_text(text)
    return body if redacted_text == text else redacted_text.encode("latin-1")


# --- records: what one line of the capture file holds ----------------------------------------


def header_record(redacted: bool) -> Record:
    """The first line of every capture file; `format` comes first so the file can be sniffed."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "creator": f"mitmproxy {version.VERSION}",
        "created": time.time(),
        "redacted": redacted,
    }


def body_record(data: bytes) -> Record:
    """Text stays readable in the file; anything not UTF-8 is base64."""
    try:
        return {"body": data.decode("utf-8"), "body_encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(data).decode("ascii"), "body_encoding": "base64"}


def _message_record(
    message: http.Message, redact: bool, extra: frozenset[str]
) -> tuple[Record, int]:
    """Headers, body and mime type of a request or response, and the body size it declared."""
    content_type = message.headers.get("content-type", "")
    sent = isinstance(message, http.Request)
    content = message.get_content(strict=False)
    if content is None:  # streamed (stream_large_bodies): the body went by unrecorded
        length = message.headers.get("content-length", "")
        declared = int(length) if length.isdigit() else 0
        content = b""
    else:
        if redact:
            content = redact_body(content, content_type, sent)
        declared = len(content)
    headers = [
        [name, redact_header(name, value, extra, sent) if redact else value]
        for name, value in message.headers.items(multi=True)
    ]
    record = {"http_version": message.http_version, "headers": headers}
    return record | body_record(content) | {"mime_type": content_type}, declared


def flow_record(
    flow: http.HTTPFlow, redact: bool = True, extra_headers: frozenset[str] = frozenset()
) -> Record:
    """One finished HTTP flow (response or error) as a capture line.

    Bodies are decoded (Content-Encoding removed) like a browser's HAR; `declared_size` is the
    request body size the source saw, so a streamed body shows up as lost rather than empty.
    """
    request, response = flow.request, flow.response
    req, declared = _message_record(request, redact, extra_headers)
    url = redact_url(request.pretty_url) if redact else request.pretty_url
    started = request.timestamp_start
    ended = (
        (response and response.timestamp_end)
        or (flow.error and flow.error.timestamp)
        or request.timestamp_end
        or started
    )
    record: Record = {
        "kind": "exchange",
        "id": flow.id,
        "started": started,
        "duration_ms": round((ended - started) * 1000, 3),
        "request": {"method": request.method, "url": url} | req | {"declared_size": declared},
        "response": None,
        "error": flow.error.msg if flow.error else "",
        "websocket": flow.websocket is not None,
        "client": _client_address(flow),
    }
    if response:
        resp, _ = _message_record(response, redact, extra_headers)
        record["response"] = {"status": response.status_code, "reason": response.reason} | resp
    return record


def _client_address(flow: http.HTTPFlow) -> str:
    """Who sent the request, so a capture of many users splits into sessions."""
    peer = flow.client_conn.peername
    return str(peer[0]) if peer else ""


def message_record(flow: http.HTTPFlow, message: WebSocketMessage, redact: bool = True) -> Record:
    """One WebSocket message, tied to its handshake exchange by `flow_id`."""
    content = message.content
    if redact and message.is_text:
        if message.from_client:
            content = redact_frame(content)
        content = redact_body(content, "", sent=message.from_client)
    return {
        "kind": "websocket_message",
        "flow_id": flow.id,
        "timestamp": message.timestamp,
        "from_client": message.from_client,
        "type": message.type.name.lower(),
    } | body_record(content)


# --- the file ----------------------------------------------------------------------------------


class CaptureFile:
    """An append-only JSON-lines file that survives `kill -9` and never stops the proxy.

    Each line goes out in one unbuffered write. When a write fails (disk full, file system
    gone), one error is logged, the flows are dropped and counted, and writing resumes by
    itself once it works again (on a fresh line, so a half-written line cannot swallow the
    next one).
    """

    def __init__(self, path: Path, redacted: bool, fsync: bool, rotate_bytes: int = 0) -> None:
        self.path = path
        self.redacted = redacted
        self.fsync = fsync
        self.rotate_bytes = rotate_bytes
        """Past this size the next flow starts the next file: NAME.1.jsonl, NAME.2.jsonl, ..."""
        self.size = 0
        self.fd: int | None = None
        self.failing = False
        self.fresh_line = False
        self.lost = 0

    def open(self) -> None:
        """Open for appending: a new file starts with the header, an interrupted one on a new
        line."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        size = self.size = os.fstat(self.fd).st_size
        if size == 0:
            self.fresh_line = False
            self._write(header_record(self.redacted))
        else:
            with self.path.open("rb") as f:
                f.seek(size - 1)
                self.fresh_line = f.read(1) != b"\n"

    def write(self, record: Record) -> None:
        """Append one line; on failure log once (not per flow) and count what was lost."""
        try:
            if self.fd is None:
                self.open()
            self._write(record)
        except OSError as e:
            self.fail(e)
            self.lost += 1
            return
        if self.failing:
            logging.warning(f"capture: writing {self.path} again; {self.lost} flows were lost.")
            self.failing, self.lost = False, 0
        if self.rotate_bytes and self.size >= self.rotate_bytes:
            self.close()
            self.path = rotated(self.path)

    def fail(self, e: OSError) -> None:
        if not self.failing:
            logging.error(
                f"capture: cannot write {self.path}: {os_reason(e, self.path)}. "
                "The proxy keeps running but flows are NOT being recorded."
            )
        self.failing = True
        self.close()

    def _write(self, record: Record) -> None:
        assert self.fd is not None
        data = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        view = memoryview(b"\n" + data if self.fresh_line else data)
        self.fresh_line = True  # until the whole line is out
        while view:
            view = view[os.write(self.fd, view) :]
        self.fresh_line = False
        self.size += len(data)
        if self.fsync:
            os.fsync(self.fd)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def rotated(path: Path) -> Path:
    """The file after `path`: NAME.jsonl → NAME.1.jsonl → NAME.2.jsonl."""
    stem, _, number = path.stem.rpartition(".")
    if not (stem and number.isdigit()):
        stem, number = path.stem, "0"
    return path.with_name(f"{stem}.{int(number) + 1}{path.suffix}")


def open_capture(path: Path, redacted: bool, fsync: bool, rotate_bytes: int = 0) -> CaptureFile:
    """Open `path` for capturing, or say in one line why not.

    A path that fails here stops mitmdump before anyone browses through it; failures later
    (disk full) are logged once and the proxy keeps going.
    """
    if path.is_file() and path.stat().st_size and not is_capture_file(path):
        raise exceptions.OptionsError(
            f"capture_file: {path} exists and is not a capture file; refusing to append to it"
        )
    file = CaptureFile(path, redacted, fsync, rotate_bytes)
    try:
        file.open()
    except OSError as e:
        file.close()
        raise exceptions.OptionsError(
            f"capture_file: cannot write {path}: {os_reason(e, path)}"
        ) from None
    return file


def os_reason(e: OSError, path: Path) -> str:
    """The error, naming the file that caused it when that is not `path` (a parent, say)."""
    reason = e.strerror or str(e)
    return f"{reason}: {e.filename}" if e.filename and Path(e.filename) != path else reason


def is_capture_file(path: Path) -> bool:
    """Whether the file starts with a capture header line."""
    with path.open("rb") as f:
        first = f.readline(4096)
    try:
        return json.loads(first.removeprefix(b"\xef\xbb\xbf")).get("format") == FORMAT
    except (ValueError, AttributeError):
        return False


# --- the addon ---------------------------------------------------------------------------------


class Capture:
    """Writes each finished HTTP flow and WebSocket message that passes the host and filter
    checks to `capture_file`.

    The `response` hook runs before mitmproxy forwards the response, so every response a
    client has received is already in the file.
    """

    def __init__(self) -> None:
        self.file: CaptureFile | None = None
        self.filter: flowfilter.TFilter | None = None
        self.hosts: tuple[str, ...] = ()
        self.extra_headers: frozenset[str] = frozenset()

    def load(self, loader) -> None:
        loader.add_option(
            "capture_file",
            str,
            "",
            "Append each finished flow to this JSON-lines file (created with its directory).",
        )
        loader.add_option(
            "capture_hosts",
            Sequence[str],
            [],
            "Only capture requests to these hosts and their subdomains (default: all hosts).",
        )
        loader.add_option(
            "capture_filter", str, "", "Only capture flows matching this flow filter expression."
        )
        loader.add_option(
            "capture_redact",
            bool,
            True,
            "Replace credentials (Authorization, API-key headers, cookie values, password, "
            f"token and key fields, JWTs and other secret shapes) with {sensitive.REDACTED} "
            "before they reach the disk (recorder/sensitive.py lists what is recognised).",
        )
        loader.add_option(
            "capture_redact_headers",
            Sequence[str],
            [],
            "More header names whose values are redacted, e.g. X-Api-Key.",
        )
        loader.add_option(
            "capture_fsync", bool, False, "fsync after every flow (survives power loss, slower)."
        )
        loader.add_option(
            "capture_rotate_mb",
            int,
            0,
            "Past this many MB, continue in the next file (NAME.1.jsonl, ...); 0: one file.",
        )

    def configure(self, updated: set[str]) -> None:
        if "capture_filter" in updated:
            spec = ctx.options.capture_filter
            try:
                self.filter = flowfilter.parse(spec) if spec else None
            except ValueError as e:
                raise exceptions.OptionsError(f"capture_filter: {e}") from e
        if "capture_hosts" in updated:
            self.hosts = tuple(h.lower().strip(".") for h in ctx.options.capture_hosts)
        if "capture_redact_headers" in updated:
            self.extra_headers = frozenset(h.lower() for h in ctx.options.capture_redact_headers)
        if ctx.options.capture_rotate_mb < 0:
            raise exceptions.OptionsError("capture_rotate_mb: a number of MB, or 0 for one file")
        if updated & {"capture_file", "capture_redact", "capture_fsync", "capture_rotate_mb"}:
            self.done()
            if ctx.options.capture_file:
                self.file = open_capture(
                    Path(ctx.options.capture_file).expanduser(),
                    ctx.options.capture_redact,
                    ctx.options.capture_fsync,
                    ctx.options.capture_rotate_mb * 1024 * 1024,
                )

    def _wanted(self, flow: http.HTTPFlow) -> bool:
        if self.file is None:
            return False
        if self.hosts:  # pretty_host parses the authority: only when it is needed
            host = flow.request.pretty_host.lower()
            if not any(host == h or host.endswith("." + h) for h in self.hosts):
                return False
        return self.filter is None or flowfilter.match(self.filter, flow)

    def response(self, flow: http.HTTPFlow) -> None:
        if self._wanted(flow):
            assert self.file is not None
            self.file.write(flow_record(flow, self.file.redacted, self.extra_headers))

    def error(self, flow: http.HTTPFlow) -> None:
        self.response(flow)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        if flow.websocket and self._wanted(flow):
            assert self.file is not None
            message = flow.websocket.messages[-1]
            self.file.write(message_record(flow, message, self.file.redacted))

    def done(self) -> None:
        if self.file:
            self.file.close()
            self.file = None


addons = [Capture()]
