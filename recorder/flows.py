"""Readers for mitmproxy-side captures: the addon's JSON-lines stream and mitmproxy flow files.

Both go through the addon's own line format (`recorder.addon.flow_record`), so the two sources
cannot drift apart.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mitmproxy import exceptions, http, io

from recorder import BOM
from recorder.addon import FORMAT, VERSION, flow_record
from recorder.charsets import in_utf8
from recorder.har import valid_url
from recorder.model import (
    CaptureError,
    Exchange,
    Recording,
    Request,
    Response,
    sort_by_start,
    start_time,
)


def read_capture(path: str | Path) -> Recording:
    """A Recording from the addon's capture stream.

    A line cut short by a killed proxy is skipped with a warning. WebSocket handshakes and
    messages are counted in `skipped`, as the HAR importer does: they are not HTTP to replay.
    """
    recording, _ = scan_capture(path)
    return recording


def scan_capture(
    path: str | Path, keep_body: Callable[[Response], bool] | None = None
) -> tuple[Recording, dict[int, int]]:
    """The capture read line by line, and where each exchange's line starts (by `id()` of the
    exchange). With `keep_body`, an exchange keeps no request body and only the response
    bodies `keep_body` wants: many users' traffic can be split into sessions in a fraction of
    its size, and the few sessions that are converted read in full again (`exchanges_at`)."""
    try:
        with open(path, "rb") as f:
            recording = Recording(source=str(path))
            offsets: dict[int, int] = {}
            offset = number = 0
            for number, line in enumerate(f, start=1):
                x = _line(path, recording, number, line)
                if x is not None and keep_body is not None:
                    x = _light(x, keep_body)
                if x is not None:
                    recording.exchanges.append(x)
                    offsets[id(x)] = offset
                offset += len(line)
    except OSError as e:
        raise CaptureError(f"cannot read {path}: {e.strerror}") from e
    if not number:
        raise CaptureError(f"{path} is not a locust-replay capture file")
    sort_by_start(recording.exchanges)
    return recording, offsets


def exchanges_at(path: str | Path, offsets: list[int]) -> list[Exchange]:
    """The exchanges whose lines start at `offsets`, in full."""
    found = []
    try:
        with open(path, "rb") as f:
            for offset in offsets:
                f.seek(offset)
                found.append(_well_typed(exchange(json.loads(f.readline()))))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CaptureError(f"cannot read {path} again: {e}") from e
    return found


def _line(path, recording: Recording, number: int, line: bytes) -> Exchange | None:
    """The exchange on one line of a capture; the header, skipped kinds and unreadable lines
    go to the recording."""
    if number == 1:
        header = _json_line(line.removeprefix(BOM))
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise CaptureError(f"{path} is not a locust-replay capture file")
        if header.get("version") != VERSION:
            raise CaptureError(
                f"{path} is capture format version {header.get('version')}; "
                f"this version of locust-replay reads version {VERSION}"
            )
        recording.creator = header.get("creator", "")
        return None
    if not line.strip():
        return None
    record = _json_line(line)
    if not isinstance(record, dict):
        recording.warnings.append(
            f"{path}:{number}: incomplete last line skipped (the capture was interrupted)"
            if not line.endswith(b"\n")
            else f"{path}:{number}: unreadable line skipped"
        )
        return None
    kind = record.get("kind")
    if kind == "exchange" and record.get("websocket"):
        recording.skip("websocket")  # as the HAR importer does: not replayable over HTTP
        return None
    if kind != "exchange":
        recording.skip(str(kind).replace("_", " "))
        return None
    try:
        x = _well_typed(exchange(record))
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        raise CaptureError(f"{path}:{number}: malformed exchange ({e!r})") from None
    if not valid_url(x.request.url):  # as the HAR importer does
        recording.skip("invalid URL (no host, bad port or control characters)")
        return None
    return x


def _light(x: Exchange, keep_body: Callable[[Response], bool]) -> Exchange:
    response = x.response if keep_body(x.response) else replace(x.response, body=b"")
    return replace(x, request=replace(x.request, body=b"", declared_size=0), response=response)


def read_mitm_flows(path: str | Path) -> Recording:
    """A Recording from a mitmproxy flow file (`mitmdump -w`).

    TCP, UDP, DNS and WebSocket flows are counted in `skipped`. A file cut short after some
    flows (a killed mitmdump) keeps those flows, with a warning.
    """
    recording = Recording(source=str(path), creator="mitmproxy")
    try:
        with open(path, "rb") as f:
            for flow in io.FlowReader(f).stream():
                if isinstance(flow, http.HTTPFlow) and flow.websocket:
                    recording.skip("websocket")
                    for _ in flow.websocket.messages:
                        recording.skip("websocket message")
                elif isinstance(flow, http.HTTPFlow):
                    _add_exchange(recording, flow)
                else:
                    recording.skip(f"{flow.type} flow")
    except OSError as e:
        raise CaptureError(f"cannot read {path}: {e.strerror}") from e
    except Exception as e:  # noqa: BLE001 (mitmproxy loads a flow's state unchecked: a KeyError,
        # a TypeError or an AttributeError there means a file mitmproxy did not write as read)
        reason = (
            f"{type(e).__name__}: {e}" if not isinstance(e, exceptions.FlowReadException) else e
        )
        if not recording.exchanges and not recording.skipped:
            raise CaptureError(f"{path} is not a mitmproxy flow file ({reason})") from e
        recording.warnings.append(f"{path}: the rest of the file is unreadable ({reason}); skipped")
    sort_by_start(recording.exchanges)
    return recording


def _add_exchange(recording: Recording, flow: http.HTTPFlow) -> None:
    """The flow as an exchange, or a skipped one when its fields cannot be one (a path that is
    not UTF-8, a time past the year 9999): a flow file is untrusted input."""
    try:
        x = exchange(flow_record(flow, redact=False))
    except (ValueError, OverflowError) as e:
        recording.skip("unreadable flow")
        recording.warnings.append(f"a flow was skipped: {type(e).__name__}: {e}")
    else:
        previous = recording.exchanges[-1].started if recording.exchanges else 0.0
        started = start_time(x.started, unknown=previous)
        recording.exchanges.append(x if started == x.started else replace(x, started=started))


def exchange(record: dict[str, Any]) -> Exchange:
    """The model's Exchange for one `kind: exchange` capture line."""
    req, resp = record["request"], record["response"]
    sent = _body(req)
    body, mime, headers, declared = in_utf8(
        sent, req["mime_type"], _headers(req["headers"]), req.get("declared_size", len(sent))
    )
    request = Request(
        method=req["method"],
        url=req["url"],
        http_version=req["http_version"],
        headers=headers,
        body=body,
        mime_type=mime,
        declared_size=declared,
    )
    response = (
        Response(
            status=resp["status"],
            reason=resp["reason"],
            http_version=resp["http_version"],
            headers=_headers(resp["headers"]),
            body=_body(resp),
            mime_type=resp["mime_type"],
        )
        if resp
        else Response(status=0)
    )
    return Exchange(
        request=request,
        response=response,
        started=record["started"],
        duration_ms=record["duration_ms"],
        error=record.get("error", ""),
        client=record.get("client", ""),
    )


def _well_typed(x: Exchange) -> Exchange:
    """The exchange, if every field has the type the model promises (a hand-edited or foreign
    file may say anything); else TypeError naming the field."""
    request, response = x.request, x.response
    fields = {
        "request.method": (request.method, str),
        "request.url": (request.url, str),
        "request.http_version": (request.http_version, str),
        "request.mime_type": (request.mime_type, str),
        "request.declared_size": (request.declared_size, int),
        "response.status": (response.status, int),
        "response.reason": (response.reason, str),
        "response.http_version": (response.http_version, str),
        "response.mime_type": (response.mime_type, str),
        "started": (x.started, int | float),
        "duration_ms": (x.duration_ms, int | float),
        "error": (x.error, str),
        "client": (x.client, str),
    }
    for name, (value, kind) in fields.items():
        if not isinstance(value, kind) or isinstance(value, bool):
            raise TypeError(f"{name} is {type(value).__name__}")
    for name, value in (*request.headers, *response.headers):
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"header {name!r} is not a pair of strings")
    if not 0 <= x.started < 1e11:
        raise ValueError(f"started {x.started} is not a time")
    if not 0 <= x.duration_ms < 1e11:  # JSON's NaN and Infinity fail here too
        raise ValueError(f"duration_ms {x.duration_ms} is not a duration")
    return x


def _json_line(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _headers(pairs: list[list[str]]) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, value in pairs)


def _body(message: dict[str, Any]) -> bytes:
    if message["body_encoding"] == "base64":
        return base64.b64decode(message["body"])
    return message["body"].encode("utf-8")
