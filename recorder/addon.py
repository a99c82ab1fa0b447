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
import hashlib
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

FORMAT = "locust-replay-capture"
VERSION = 1
REDACTED = "REDACTED"

CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
PASSWORD_SCHEMES = frozenset({"basic", "digest", "ntlm", "negotiate"})
"""Authorization schemes that carry a password (or a hash of one): never digested."""
SECRET_PATTERN = r"passw(?:or)?d|passphrase|secret|pwd"
"""Form, JSON and multipart field names whose values never reach the disk (lowercase)."""
SECRET_FIELD = re.compile(SECRET_PATTERN, re.IGNORECASE)
SECRET_IN_LOWERED = re.compile(SECRET_PATTERN.encode())
"""For lowered bodies: re.IGNORECASE makes the search several times slower."""

Record = dict[str, Any]


# --- redaction: pure functions over header values and bodies ---------------------------------


def redacted(value: str) -> str:
    """What replaces a token (a session cookie, a bearer token, an API key): `REDACTED-` and 16
    hex digits of its SHA-256. The value is gone, yet the converter can still tell where the
    same value was set and sent, so correlation works through redaction
    (recorder.model.redaction_digest). A value under 16 characters (a short, guessable one)
    gets a bare REDACTED."""
    if len(value) < 16:
        return REDACTED
    return f"{REDACTED}-{hashlib.sha256(value.encode()).hexdigest()[:16]}"


def redact_header(name: str, value: str, extra: frozenset[str] = frozenset()) -> str:
    """Hide credentials but keep what later stages need: the auth scheme and cookie names.
    Basic and other password-bearing schemes lose the whole value."""
    lname = name.lower()
    if lname in CREDENTIAL_HEADERS:
        scheme, sep, token = value.partition(" ")
        if not sep:
            return redacted(value)
        return f"{scheme} {REDACTED if scheme.lower() in PASSWORD_SCHEMES else redacted(token)}"
    if lname == "cookie":
        return "; ".join(_redact_cookie(part.strip()) for part in value.split(";") if part.strip())
    if lname == "set-cookie":
        pair, sep, attributes = value.partition(";")
        return _redact_cookie(pair.strip()) + sep + attributes
    if lname in extra:
        return redacted(value)
    return value


def _redact_cookie(pair: str) -> str:
    """`name=value` → `name=REDACTED-…`; an empty value (a deletion) stays empty."""
    name, sep, value = pair.partition("=")
    if not sep:
        return REDACTED
    return f"{name}={redacted(value.strip())}" if value.strip() else pair


def redact_form(text: str) -> str:
    """Redact secret fields of an urlencoded form or query, leaving every other byte as sent."""
    parts = text.split("&")
    for i, part in enumerate(parts):
        name, sep, value = part.partition("=")
        if sep and value and SECRET_FIELD.search(unquote_plus(name)):
            parts[i] = f"{name}={REDACTED}"
    return "&".join(parts)


def redact_url(url: str) -> str:
    base, sep, query = url.partition("?")
    return base + sep + redact_form(query) if sep else url


def _redact_json_value(value: Any) -> tuple[Any, bool]:
    """The value with secret fields replaced, and whether anything was replaced."""
    changed = False
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if SECRET_FIELD.search(key) and _is_secret_value(item):
                out[key], hit = REDACTED, True
            else:
                out[key], hit = _redact_json_value(item)
            changed |= hit
        return out, changed
    if isinstance(value, list):
        items = [_redact_json_value(item) for item in value]
        return [item for item, _ in items], any(hit for _, hit in items)
    return value, False


def _is_secret_value(value: Any) -> bool:
    """Flags, nulls and empty strings say nothing secret and keep their type."""
    return not (value is None or value == "" or isinstance(value, bool))


def _redact_multipart(body: bytes, content_type: str) -> bytes:
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if not boundary:
        return body
    delimiter = b"--" + boundary[1].encode("latin-1")
    parts = body.split(delimiter)
    for i, part in enumerate(parts):
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep or b"filename=" in head or not content.strip():
            continue  # cheap tests first: a body can be made of a million empty parts
        name = re.search(rb'\bname="([^"]*)"', head)
        if name and SECRET_FIELD.search(name[1].decode("latin-1")):
            parts[i] = head + sep + REDACTED.encode() + b"\r\n"
    return delimiter.join(parts)


def redact_body(body: bytes, content_type: str) -> bytes:
    """Redact secret fields of JSON, urlencoded and multipart bodies; other bodies pass as is."""
    if not SECRET_IN_LOWERED.search(body.lower()):  # no such field name: skip (most bodies)
        return body
    mime = content_type.lower()
    if "x-www-form-urlencoded" in mime:
        return redact_form(body.decode("latin-1")).encode("latin-1")
    if "multipart/form-data" in mime:
        return _redact_multipart(body, content_type)
    # Many apps send JSON as text/plain (no CORS preflight), so look at the body as well.
    if "json" in mime or body.lstrip()[:1] in (b"{", b"["):
        try:
            document = json.loads(body)
            redacted, changed = _redact_json_value(document)
        except ValueError:
            return body
        except RecursionError:  # nested too deep to look into: none of it reaches the disk
            return REDACTED.encode()
        if changed:
            return json.dumps(redacted, ensure_ascii=False, separators=(",", ":")).encode()
    return body


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
    content = message.get_content(strict=False)
    if content is None:  # streamed (stream_large_bodies): the body went by unrecorded
        length = message.headers.get("content-length", "")
        declared = int(length) if length.isdigit() else 0
        content = b""
    else:
        if redact:
            content = redact_body(content, content_type)
        declared = len(content)
    headers = [
        [name, redact_header(name, value, extra) if redact else value]
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
    }
    if response:
        resp, _ = _message_record(response, redact, extra_headers)
        record["response"] = {"status": response.status_code, "reason": response.reason} | resp
    return record


def message_record(flow: http.HTTPFlow, message: WebSocketMessage, redact: bool = True) -> Record:
    """One WebSocket message, tied to its handshake exchange by `flow_id`."""
    content = message.content
    if redact and message.is_text:
        content = redact_body(content, "")
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

    def __init__(self, path: Path, redacted: bool, fsync: bool) -> None:
        self.path = path
        self.redacted = redacted
        self.fsync = fsync
        self.fd: int | None = None
        self.failing = False
        self.fresh_line = False
        self.lost = 0

    def open(self) -> None:
        """Open for appending: a new file starts with the header, an interrupted one on a new
        line."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        size = os.fstat(self.fd).st_size
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
        if self.fsync:
            os.fsync(self.fd)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def open_capture(path: Path, redacted: bool, fsync: bool) -> CaptureFile:
    """Open `path` for capturing, or say in one line why not.

    A path that fails here stops mitmdump before anyone browses through it; failures later
    (disk full) are logged once and the proxy keeps going.
    """
    if path.is_file() and path.stat().st_size and not is_capture_file(path):
        raise exceptions.OptionsError(
            f"capture_file: {path} exists and is not a capture file; refusing to append to it"
        )
    file = CaptureFile(path, redacted, fsync)
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
            "Replace credentials (Authorization, cookie values, password/secret fields) "
            f"with {REDACTED} before they reach the disk.",
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
        if updated & {"capture_file", "capture_redact", "capture_fsync"}:
            self.done()
            if ctx.options.capture_file:
                self.file = open_capture(
                    Path(ctx.options.capture_file).expanduser(),
                    ctx.options.capture_redact,
                    ctx.options.capture_fsync,
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
