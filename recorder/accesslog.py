"""Web-server access logs → a Recording of GET requests (no bodies, no headers but the browser).

Reads nginx/Apache "combined" (and "common") lines and JSON lines with method, path, status,
time and client. A log holds no bodies, so only GET requests can be replayed: every other
method is counted in `skipped`, never sent. A 304 becomes a 200: the replay sends no cache
validators, so the server answers in full.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from recorder.model import (
    CaptureError,
    Exchange,
    Recording,
    Request,
    Response,
    sort_by_start,
)

COMBINED = re.compile(
    r'(?P<client>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+)[^"]*" '
    r'(?P<status>\d{3}) \S+(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?'
)
TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"
JSON_FIELDS = {
    "method": ("method", "request_method", "verb"),
    "path": ("path", "uri", "request_uri", "url"),
    "status": ("status", "status_code", "response_code"),
    "time": ("time", "timestamp", "@timestamp", "time_local", "ts"),
    "client": ("client", "remote_addr", "client_ip", "ip", "remote_ip"),
    "agent": ("user_agent", "http_user_agent", "agent"),
}
READABLE = ("GET",)


def is_access_log(path: str | Path) -> bool:
    """Whether the first line of the file is a combined-format or JSON access-log line."""
    try:
        with open(path, "rb") as f:
            first = f.readline(8192).decode("utf-8", "replace").strip()
    except OSError:
        return False
    if COMBINED.match(first):
        return True
    try:
        record = json.loads(first)
    except ValueError:
        return False
    return isinstance(record, dict) and _field(record, "method") is not None


def read_access_log(path: str | Path, origin: str = "http://localhost") -> Recording:
    """The log's GET requests against `origin` (a log names no host), in the order they came."""
    recording = Recording(source=str(path), creator="access log")
    try:
        with open(path, encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                entry = _entry(line)
                if entry is None:
                    recording.skip("unreadable access-log line")
                    if len(recording.warnings) < 10:
                        recording.warnings.append(f"{path}:{number}: not an access-log line")
                    continue
                method, target, status, started, client, agent = entry
                if method not in READABLE:
                    recording.skip(f"{method} request (an access log has no body to send)")
                    continue
                recording.exchanges.append(
                    Exchange(
                        request=Request(method, origin.rstrip("/") + target, headers=_agent(agent)),
                        response=Response(200 if status == 304 else status),
                        started=started,
                        client=client,
                    )
                )
    except OSError as e:
        raise CaptureError(f"cannot read {path}: {e.strerror}") from e
    if not recording.exchanges and not recording.skipped:
        raise CaptureError(f"{path}: no access-log lines")
    sort_by_start(recording.exchanges)
    return recording


def _entry(line: str) -> tuple[str, str, int, float, str, str] | None:
    """(method, path, status, started, client, user agent) of one line, or None."""
    match = COMBINED.match(line)
    try:
        if match:
            started = datetime.strptime(match["time"], TIME_FORMAT).timestamp()
            return (
                match["method"],
                _path(match["path"]),
                int(match["status"]),
                started,
                match["client"],
                match["agent"] or "",
            )
        record = json.loads(line)
        return (
            str(_field(record, "method")).upper(),
            _path(str(_field(record, "path"))),
            int(_field(record, "status")),
            _time(_field(record, "time")),
            str(_field(record, "client") or ""),
            str(_field(record, "agent") or ""),
        )
    except (ValueError, TypeError, AttributeError):
        return None


def _field(record: dict, name: str):
    return next((record[key] for key in JSON_FIELDS[name] if key in record), None)


def _path(target: str) -> str:
    """The path and query of a request target (an absolute URL in a proxy's log too)."""
    if "://" in target:
        target = "/" + target.split("://", 1)[1].partition("/")[2]
    if not target.startswith("/"):
        raise ValueError(f"not a path: {target!r}")
    return target


def _time(value) -> float:
    """Seconds since the epoch, from a number or an ISO 8601 string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _agent(agent: str) -> tuple[tuple[str, str], ...]:
    return (("User-Agent", agent),) if agent and agent != "-" else ()
