"""HAR 1.1/1.2 import: browser DevTools, Charles, Firebug and mitmproxy exports into a Recording.

haralyzer validates the document and gives us the log; the entries are read from the raw
dicts with tolerant accessors, because real exporters leave out fields that haralyzer's
properties require, and its dateutil-based timestamps cost more than the rest of the import.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from haralyzer import HarParser

from recorder.model import CaptureError, Exchange, Page, Recording, Request, Response

HTTP_SCHEMES = ("http://", "https://")


def read_har(path: str | Path) -> Recording:
    """Read a HAR file; raise CaptureError with a one-line reason when it is not one."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CaptureError(f"{path}: cannot read: {e.strerror or e}") from None
    return parse_har(raw, source=str(path))


def parse_har(raw: bytes, source: str = "<har>") -> Recording:
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise CaptureError(f"{source}: not a HAR file (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise CaptureError(f"{source}: not a HAR file (invalid JSON at line {e.lineno})") from None
    if not isinstance(document, dict) or not isinstance(document.get("log"), dict):
        raise CaptureError(f"{source}: not a HAR file (no 'log' object)")
    log = HarParser(document).har_data
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise CaptureError(f"{source}: not a HAR file ('log.entries' is not a list)")

    recording = Recording(source=source, creator=_creator(log))
    version = str(log.get("version", ""))
    if version and version not in ("1.1", "1.2"):
        recording.warnings.append(f"unknown HAR version {version!r}; read as 1.2")
    recording.pages = [page for page in map(_page, _dicts(log.get("pages"))) if page]
    for entry in entries:
        if not isinstance(entry, dict):
            recording.skip("not an entry object")
            continue
        exchange, reason = _exchange(entry)
        if exchange is None:
            recording.skip(reason)
        else:
            recording.exchanges.append(exchange)
            if exchange.request.declared_size > len(exchange.request.body):
                recording.warnings.append(
                    f"{exchange.request.method} {exchange.request.url}: the HAR declares a "
                    f"{exchange.request.declared_size}-byte body it does not carry"
                )
    recording.exchanges.sort(key=lambda e: e.started)
    return recording


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
    return Page(id=page_id, title=str(page.get("title") or ""), started=_time(page))


def _time(obj: dict) -> float:
    value = obj.get("startedDateTime")
    if not isinstance(value, str):
        return 0.0
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return 0.0


def _exchange(entry: dict) -> tuple[Exchange | None, str]:
    """Turn one entry into an Exchange, or say why it is not an HTTP exchange."""
    request, response = entry.get("request"), entry.get("response")
    if not isinstance(request, dict) or not isinstance(response, dict):
        return None, "entry without request/response"
    url = request.get("url")
    if not isinstance(url, str) or not url.lower().startswith(HTTP_SCHEMES):
        return None, "not HTTP (websocket, data: or browser-internal URL)"
    if entry.get("_webSocketMessages") or _header_value(request, "upgrade") == "websocket":
        return None, "websocket"
    method = request.get("method")
    if not isinstance(method, str) or not method:
        return None, "request without method"
    body, mime, declared = _request_body(request)
    status = response.get("status")
    status = status if isinstance(status, int) else _int(status)
    content = response.get("content") if isinstance(response.get("content"), dict) else {}
    return (
        Exchange(
            request=Request(
                method=method.upper(),
                url=url,
                http_version=str(request.get("httpVersion") or "HTTP/1.1"),
                headers=_headers(request),
                body=body,
                mime_type=mime,
                declared_size=declared,
            ),
            response=Response(
                status=status,
                reason=str(response.get("statusText") or ""),
                http_version=str(response.get("httpVersion") or "HTTP/1.1"),
                headers=_headers(response),
                body=_content(content),
                mime_type=str(content.get("mimeType") or ""),
            ),
            started=_time(entry),
            duration_ms=float(_number(entry.get("time"))),
            page_id=str(entry.get("pageref") or ""),
            resource_type=str(entry.get("_resourceType") or ""),
            error=_error(entry, status),
        ),
        "",
    )


def _headers(message: dict) -> tuple[tuple[str, str], ...]:
    return tuple(
        (str(h["name"]), str(h.get("value", "")))
        for h in _dicts(message.get("headers"))
        if isinstance(h.get("name"), str)
    )


def _header_value(message: dict, name: str) -> str:
    for h in _dicts(message.get("headers")):
        if str(h.get("name", "")).lower() == name:
            return str(h.get("value", "")).lower()
    return ""


def _request_body(request: dict) -> tuple[bytes, str, int]:
    """Body bytes, MIME type and declared size; forms given only as params are re-encoded."""
    declared = max(_int(request.get("bodySize")), 0)
    post = request.get("postData")
    if not isinstance(post, dict):
        return b"", "", declared
    mime = str(post.get("mimeType") or "")
    text = post.get("text")
    if isinstance(text, str) and text:
        if post.get("encoding") == "base64":
            return _b64(text), mime, declared
        return text.encode("utf-8", "surrogatepass"), mime, declared
    params = _dicts(post.get("params"))
    if params and "multipart" not in mime:
        encoded = "&".join(
            f"{quote_plus(str(p.get('name', '')))}={quote_plus(str(p.get('value', '')))}"
            for p in params
        )
        return encoded.encode(), mime or "application/x-www-form-urlencoded", declared
    return b"", mime, declared


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
    return "no response (status 0)" if status <= 0 else ""


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _number(value: Any) -> float:
    return value if isinstance(value, int | float) and value >= 0 else 0.0
