"""Record the benchmark's 5-request session against nginx as a HAR 1.2 file.

A real HTTP client (requests) does what a browser's page script would: load the catalog,
open a session, read the profile with the bearer token, place an order with a typed note,
list the orders. What went over the wire is written as HAR, so `replay convert` sees the same
kind of input as from DevTools: cookies, a live token, a 201 with a Location.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

THINK = 1.1
"""Seconds between the user's actions (over the converter's 1 s idle gap, so each request is
its own step, as in the hand-written version); replay runs them with --think-scale 0."""
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Accept": "application/json",
    "Accept-Language": "en-US,en;q=0.9",
}
NOTE = "Please wrap it as a gift."


def record(base_url: str, path: Path) -> None:
    """Run the session once against `base_url` and write what was exchanged to `path`."""
    session = requests.Session()
    session.headers.clear()
    session.headers.update(BROWSER_HEADERS)
    entries: list[dict] = []

    def send(method: str, url: str, **kwargs) -> requests.Response:
        if entries:
            time.sleep(THINK)
        started = time.time()
        response = session.request(method, base_url + url, allow_redirects=False, **kwargs)
        entries.append(_entry(response, started, base_url))
        return response

    send("GET", "/api/products")
    token = send("POST", "/api/session").json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    send("GET", "/api/me", headers=bearer)
    order = {"product": "pour-over-kettle", "quantity": 2, "note": NOTE}
    send("POST", "/api/orders", headers=bearer, json=order)
    send("GET", "/api/orders", headers=bearer)
    if any(e["response"]["status"] >= 400 for e in entries):
        raise RuntimeError(f"recording the session failed: {[e['response'] for e in entries]}")
    har = {
        "log": {
            "version": "1.2",
            "creator": {"name": "locust-replay bench", "version": "1"},
            "pages": [
                {
                    "id": "page_1",
                    "title": base_url,
                    "startedDateTime": entries[0]["startedDateTime"],
                    "pageTimings": {},
                }
            ],
            "entries": entries,
        }
    }
    path.write_text(json.dumps(har, indent=1))


def _entry(response: requests.Response, started: float, base_url: str) -> dict:
    request = response.request
    headers = {"Host": base_url.split("://", 1)[1], **request.headers}
    body = request.body.decode() if isinstance(request.body, bytes) else request.body
    elapsed = response.elapsed.total_seconds() * 1000
    entry = {
        "pageref": "page_1",
        "startedDateTime": datetime.fromtimestamp(started, UTC).isoformat(),
        "time": elapsed,
        "request": {
            "method": request.method,
            "url": request.url,
            "httpVersion": "HTTP/1.1",
            "headers": _headers(headers),
            "cookies": [],
            "queryString": [],
            "headersSize": -1,
            "bodySize": len(body or ""),
        },
        "response": {
            "status": response.status_code,
            "statusText": response.reason,
            "httpVersion": "HTTP/1.1",
            "headers": _headers(response.headers),
            "cookies": [],
            "content": {
                "size": len(response.content),
                "mimeType": response.headers.get("Content-Type", ""),
                "text": response.text,
            },
            "redirectURL": response.headers.get("Location", ""),
            "headersSize": -1,
            "bodySize": len(response.content),
        },
        "cache": {},
        "timings": {"send": 0, "wait": elapsed, "receive": 0},
    }
    if body:
        entry["request"]["postData"] = {"mimeType": headers["Content-Type"], "text": body}
    return entry


def _headers(headers) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers.items()]
