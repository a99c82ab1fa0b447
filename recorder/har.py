"""HAR 1.1/1.2 import: browser DevTools, Charles, Firebug and mitmproxy exports into a Recording.

haralyzer validates the document and gives us the log; the entries are read from the raw
dicts with tolerant accessors, because real exporters leave out fields that haralyzer's
properties require, and its dateutil-based timestamps cost more than the rest of the import.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote_plus

from haralyzer import HarParser

from recorder.charsets import in_utf8
from recorder.collector import collector_paused
from recorder.model import (
    CaptureError,
    Exchange,
    Page,
    Recording,
    Request,
    Response,
    header,
    sort_by_start,
    split_url,
    start_time,
)

HTTP_SCHEMES = ("http://", "https://")


def read_har(path: str | Path) -> Recording:
    """Read a HAR file; raise CaptureError with a one-line reason when it is not one."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig") as stream:
            return parse_har(stream, source=str(path))
    except UnicodeDecodeError:
        raise CaptureError(f"{path}: not a HAR file (not UTF-8 text)") from None
    except OSError as e:
        raise CaptureError(f"{path}: cannot read: {e.strerror or e}") from None


def parse_har(document: str | TextIO, source: str = "<har>") -> Recording:
    """Entries are read and decoded one at a time and turned into exchanges at once: a
    capture of 100 MB is never whole in memory, as text or as one tree of Python objects
    (which would take four times that)."""
    recording = Recording(source=source)
    shared: dict = {}

    def add(entry: Any) -> None:
        if not isinstance(entry, dict):
            recording.skip("not an entry object")
            return
        previous = recording.exchanges[-1].started if recording.exchanges else 0.0
        exchange, reason = _exchange(entry, shared, previous)
        if exchange is None:
            recording.skip(reason)
            return
        recording.exchanges.append(exchange)

    try:
        with collector_paused():
            log = _LogReader(document).read(add)
    except json.JSONDecodeError as e:
        raise CaptureError(f"{source}: not a HAR file (invalid JSON at line {e.lineno})") from None
    except RecursionError:
        raise CaptureError(f"{source}: not a HAR file (JSON nested too deeply)") from None
    except _NotHar as e:
        raise CaptureError(f"{source}: not a HAR file ({e})") from None
    log = HarParser({"log": log}).har_data
    recording.creator = _creator(log)
    version = str(log.get("version", ""))
    if version and version not in ("1.1", "1.2"):
        recording.warnings.append(f"unknown HAR version {version!r}; read as 1.2")
    recording.pages = [page for page in map(_page, _dicts(log.get("pages"))) if page]
    sort_by_start(recording.exchanges)
    return recording


class _NotHar(Exception):
    pass


class _LogReader:
    """Walks `{"log": {..., "entries": [...]}}` with the json module's own decoder, decoding
    each entry on its own; everything in `log` but the entries is decoded whole (it is small).
    From a stream, the text is read a chunk at a time and dropped once decoded."""

    WHITESPACE = re.compile(r"[ \t\n\r]*")
    CHUNK = 1 << 20

    def __init__(self, document: str | TextIO):
        self.stream = None if isinstance(document, str) else document
        self.text = document if isinstance(document, str) else ""
        self.position = 0
        self.lines_dropped = 0
        self.decoder = json.JSONDecoder()

    def read(self, add_entry: Callable[[Any], None]) -> dict:
        """`log` without its entries; each entry goes to `add_entry` as soon as it is decoded."""
        try:
            return self._log(add_entry)
        except json.JSONDecodeError as e:
            e.lineno += self.lines_dropped  # where it is in the file, not in what is left
            raise

    def _log(self, add_entry: Callable[[Any], None]) -> dict:
        log: dict[str, Any] | None = None
        if self._peek() != "{":
            raise _NotHar("not a JSON object")
        for key in self._keys():
            if key == "log" and self._peek() == "{":
                log = {}
                for log_key in self._keys():
                    if log_key == "entries" and self._peek() == "[":
                        log["entries"] = []
                        for entry in self._items():
                            add_entry(entry)
                            self._drop_decoded()
                    else:
                        log[log_key] = self._value()
            else:
                self._value()
        self._skip()
        if self.position != len(self.text):
            self._value()  # raises the decoder's own error for trailing garbage
        if log is None:
            raise _NotHar("no 'log' object")
        if not isinstance(log.pop("entries", None), list):
            raise _NotHar("'log.entries' is not a list")
        return log

    def _keys(self) -> Iterator[str]:
        """Keys of the object starting here; the caller reads each value."""
        self._expect("{")
        if self._peek() == "}":
            self.position += 1
            return
        while True:
            key = self._value()
            if not isinstance(key, str):
                raise json.JSONDecodeError("Expecting property name", self.text, self.position)
            self._expect(":")
            yield key
            if self._peek() == ",":
                self.position += 1
                continue
            self._expect("}")
            return

    def _items(self) -> Iterator[Any]:
        self._expect("[")
        if self._peek() == "]":
            self.position += 1
            return
        while True:
            yield self._value()
            if self._peek() == ",":
                self.position += 1
                continue
            self._expect("]")
            return

    def _value(self) -> Any:
        self._skip()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.text, self.position)
            except json.JSONDecodeError:
                if self._read_more():  # the value goes on in the next chunk
                    continue
                raise
            if end == len(self.text) and self._read_more():
                continue  # a number at the end of a chunk may go on too
            self.position = end
            return value

    def _peek(self) -> str:
        self._skip()
        return self.text[self.position : self.position + 1]

    def _skip(self) -> None:
        while True:
            # WHITESPACE matches the empty string too, so there is always a match.
            self.position = self.WHITESPACE.match(self.text, self.position).end()  # type: ignore[union-attr]
            if self.position < len(self.text) or not self._read_more():
                return

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise json.JSONDecodeError(f"Expecting {char!r}", self.text, self.position)
        self.position += 1

    def _read_more(self) -> bool:
        """Append the next chunk (as long as the text so far: a huge value is decoded again
        only a few times); False at the end."""
        chunk = self.stream.read(max(self.CHUNK, len(self.text))) if self.stream else ""
        if not chunk:
            self.stream = None
            return False
        self.text += chunk
        return True

    def _drop_decoded(self) -> None:
        if self.stream is not None and self.position > self.CHUNK:
            self.lines_dropped += self.text.count("\n", 0, self.position)
            self.text = self.text[self.position :]
            self.position = 0


def _creator(log: dict) -> str:
    creator = log.get("creator")
    if isinstance(creator, dict):
        return f"{creator.get('name', '')} {creator.get('version', '')}".strip()
    return ""


def _dicts(value: Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _page(page: dict) -> Page | None:
    page_id = page.get("id")
    if not isinstance(page_id, str):
        return None
    return Page(id=page_id, title=str(page.get("title") or ""), started=_time(page, unknown=0.0))


def _time(obj: dict, unknown: float) -> float:
    """`startedDateTime` in seconds since the epoch; `unknown` when it is missing or garbage."""
    value = obj.get("startedDateTime")
    if not isinstance(value, str):
        return unknown
    try:
        return start_time(datetime.fromisoformat(value).timestamp(), unknown)
    except (ValueError, OverflowError, OSError):
        return unknown


def _exchange(entry: dict, shared: dict, previous: float) -> tuple[Exchange | None, str]:
    """Turn one entry into an Exchange, or say why it is not an HTTP exchange. The strings
    nearly every entry repeats (method, HTTP version, MIME type, a header list) are stored once
    in `shared`: the same string 20,000 times over took a tenth of a big capture's memory."""
    request, response = entry.get("request"), entry.get("response")
    if not isinstance(request, dict) or not isinstance(response, dict):
        return None, "entry without request/response"
    url = request.get("url")
    if not isinstance(url, str) or not url.lower().startswith(HTTP_SCHEMES):
        return None, "not HTTP (websocket, data: or browser-internal URL)"
    if not valid_url(url):
        return None, "invalid URL (no host, bad port or control characters)"
    headers = _headers(request, shared)
    if entry.get("_webSocketMessages") or (header(headers, "upgrade") or "").lower() == "websocket":
        return None, "websocket"
    method = request.get("method")
    if not isinstance(method, str) or not method:
        return None, "request without method"
    body, mime, declared, text = _request_body(request)
    body, mime, headers, declared = in_utf8(body, mime, headers, declared, text)
    status = response.get("status")
    status = _int(status)
    content = response.get("content")
    content = content if isinstance(content, dict) else {}
    return (
        Exchange(
            request=Request(
                method=_once(shared, method.upper()),
                url=url,
                http_version=_once(shared, str(request.get("httpVersion") or "HTTP/1.1")),
                headers=headers,
                body=body,
                mime_type=_once(shared, mime),
                declared_size=declared,
            ),
            response=Response(
                status=status,
                reason=_once(shared, str(response.get("statusText") or "")),
                http_version=_once(shared, str(response.get("httpVersion") or "HTTP/1.1")),
                headers=_headers(response, shared),
                body=_content(content),
                mime_type=_once(shared, str(content.get("mimeType") or "")),
            ),
            started=_time(entry, unknown=previous),
            duration_ms=float(_number(entry.get("time"))),
            page_id=_once(shared, str(entry.get("pageref") or "")),
            resource_type=_once(shared, str(entry.get("_resourceType") or "")),
            error=_error(entry, status),
        ),
        "",
    )


def _once(shared: dict, value: str) -> str:
    """The one string equal to `value` that `shared` holds."""
    return shared.setdefault(value, value)


def valid_url(url: str) -> bool:
    """An http(s) URL with a host, a port in range and no control characters."""
    host, port, _ = split_url(url)
    return bool(host) and port != -1 and url.isprintable()


def _headers(message: dict, shared: dict) -> tuple[tuple[str, str], ...]:
    """Header pairs, each stored once however many requests repeat it (most do), and so is a
    whole list of them."""
    listed = message.get("headers")
    if not isinstance(listed, list):
        return ()
    pairs = []
    for h in listed:
        name = h.get("name") if isinstance(h, dict) else None
        if isinstance(name, str):
            value = h.get("value", "")
            pair = (name, value if isinstance(value, str) else str(value))
            pairs.append(shared.setdefault(pair, pair))
    headers = tuple(pairs)
    return shared.setdefault(headers, headers)


def _request_body(request: dict) -> tuple[bytes, str, int, bool]:
    """Body bytes, MIME type, declared size and whether the bytes are the UTF-8 of the HAR's
    text (rather than the bytes sent, as base64 gives them); forms given only as params are
    re-encoded."""
    declared = max(_int(request.get("bodySize")), 0)
    post = request.get("postData")
    if not isinstance(post, dict):
        return b"", "", declared, True
    mime = str(post.get("mimeType") or "")
    text = post.get("text")
    if isinstance(text, str) and text:
        if post.get("encoding") == "base64":
            return _b64(text), mime, declared, False
        return text.encode("utf-8", "surrogatepass"), mime, declared, True
    params = _dicts(post.get("params"))
    if params and "multipart" not in mime:
        # A lone surrogate (valid in JSON, not in UTF-8) is kept as its bytes, as in a text body.
        encoded = "&".join(
            f"{quote_plus(str(p.get('name', '')), errors='surrogatepass')}="
            f"{quote_plus(str(p.get('value', '')), errors='surrogatepass')}"
            for p in params
        )
        return encoded.encode(), mime or "application/x-www-form-urlencoded", declared, True
    return b"", mime, declared, True


def _content(content: dict) -> bytes:
    text = content.get("text")
    if not isinstance(text, str):
        return b""
    if content.get("encoding") == "base64":
        return _b64(text)
    return text.encode("utf-8", "surrogatepass")


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text)
    except (binascii.Error, ValueError):
        return text.encode("utf-8", "surrogatepass")


def _error(entry: dict, status: int) -> str:
    """Chrome marks failed and aborted requests with status 0 and `_error`."""
    response = entry["response"]
    message = response.get("_error") or entry.get("_error")
    if message:
        return str(message)
    if status <= 0:
        return "no response (status 0)"
    return "" if 100 <= status <= 999 else f"invalid status {status}"


def _int(value: Any) -> int:
    if type(value) is int:  # nearly always: no exception to raise and catch
        return value
    if value is None:  # a field left out
        return 0
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if 0 <= value < math.inf else 0.0
