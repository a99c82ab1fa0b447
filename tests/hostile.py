"""HARs made to be slow or to crash `replay convert`: one generator per hostile shape of issue 13.

Each generator takes a size `n` and returns a HAR document whose byte size grows linearly with
`n`, so converting it at `n` and `4n` shows whether the converter is near-linear on it. Used by
tests/test_linear_time.py (small sizes) and bench/linear.py (sizes of one megabyte and more).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

HOST = "https://app.example.com"
FORM = "application/x-www-form-urlencoded"
Har = dict[str, Any]


def har(entries: list[dict]) -> Har:
    return {"log": {"version": "1.2", "creator": {"name": "hostile"}, "entries": entries}}


def entry(
    url: str,
    method: str = "GET",
    headers: list[tuple[str, str]] = (),
    body: str | None = None,
    mime: str = "application/json",
    response: str = "{}",
    response_mime: str = "application/json",
    second: int = 0,
) -> dict:
    request: dict[str, Any] = {
        "method": method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "headers": [{"name": k, "value": v} for k, v in headers],
    }
    if body is not None:
        request["postData"] = {"mimeType": mime, "text": body}
    return {
        "startedDateTime": f"2026-01-01T00:{second // 60 % 60:02d}:{second % 60:02d}.000Z",
        "time": 10,
        "request": request,
        "response": {
            "status": 200,
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Content-Type", "value": response_mime}],
            "content": {"mimeType": response_mime, "text": response},
        },
    }


def token(i: int) -> str:
    """A distinct opaque value of 32 characters, the kind correlation looks for."""
    return f"tk{i:08d}x{(i * 2654435761) % 4294967296:010x}Zq{i % 97:02d}ab00"[:32]


def shared_header_values(n: int) -> Har:
    """Many long values of one header, each sent by two requests: every one is a constant."""
    entries = [
        entry(f"{HOST}/api/page/{i}", headers=[("X-Client-Data", f"client-{token(i)}-{i}")])
        for i in range(n)
        for _ in range(2)
    ]
    return har(entries)


def multipart_unterminated(n: int) -> Har:
    """One multipart body of `n` parts none of which is ever closed by a boundary."""
    part = 'Content-Disposition: form-data; name="field{i}"\r\nX-Note: a\r\n\r\nvalue {i}'
    body = "--b\r\n" + "".join(part.format(i=i) for i in range(n))
    return har([entry(f"{HOST}/upload", "POST", body=body, mime="multipart/form-data; boundary=b")])


def multipart_fields(n: int) -> Har:
    """One well-formed multipart body of `n` typed text fields."""
    part = '--b\r\nContent-Disposition: form-data; name="comment{i}"\r\n\r\nHello there {i}\r\n'
    body = "".join(part.format(i=i) for i in range(n)) + "--b--\r\n"
    return har([entry(f"{HOST}/upload", "POST", body=body, mime="multipart/form-data; boundary=b")])


def typed_values(n: int) -> Har:
    """`n` different words typed in one field, each searched twice: `n` parameters of one name."""

    def word(i: int) -> str:
        letters = ""
        while True:
            i, r = divmod(i, 26)
            letters += chr(ord("a") + r)
            if not i:
                return f"kettle{letters}"

    entries = [
        entry(f"{HOST}/search?q={word(i)}", second=i % 60) for i in range(n) for _ in range(2)
    ]
    return har(entries)


def emails(n: int) -> Har:
    """One request sending `n` e-mail addresses (an invitation list): each is classified."""
    body = json.dumps({"invite": [{"email": f"user{i}@example.org"} for i in range(n)]})
    return har([entry(f"{HOST}/api/invitations", "POST", body=body)])


def correlated_values(n: int) -> Har:
    """One response makes `n` tokens; one request sends them all back, in JSON and in a query."""
    tokens = [token(i) for i in range(n)]
    made = json.dumps({"items": [{"id": t} for t in tokens]})
    return har(
        [
            entry(f"{HOST}/api/items", response=made),
            entry(f"{HOST}/api/batch", "POST", body=json.dumps({"ids": tokens}), second=1),
            entry(f"{HOST}/api/batch?" + "&".join(f"id={t}" for t in tokens), second=2),
            entry(f"{HOST}/api/note", "POST", body=" ".join(tokens), mime="text/plain", second=3),
        ]
    )


def form_fields(n: int) -> Har:
    """One urlencoded form of `n` fields (a grid of inputs posted at once): each is classified,
    substituted and written as code."""
    form = "application/x-www-form-urlencoded"
    body = "&".join(f"f{i}=v{i}" for i in range(n))
    sent = entry(f"{HOST}/x", "POST", [("Content-Type", form)], body, form, second=1)
    return har([entry(f"{HOST}/"), sent])


def bulk_import(n: int) -> Har:
    """One JSON request importing `n` records of typed values (a CSV upload an app sends as
    JSON): every leaf is classified, and most become parameters."""
    records = [
        {
            "sku": f"SKU-{i:06d}",
            "name": f"Kettle model {i}",
            "email": f"buyer{i}@example.org",
            "city": "Lisbon",
            "quantity": i % 7,
            "note": f"Deliver before noon, ring bell {i}",
        }
        for i in range(n)
    ]
    body = json.dumps({"records": records})
    return har([entry(f"{HOST}/"), entry(f"{HOST}/api/import", "POST", body=body, second=1)])


def subdomains(n: int) -> Har:
    """Requests to `n` first-party subdomains, each also naming the others in its query."""
    entries = [entry(f"{HOST}/")]
    for i in range(n):
        origin = f"https://api.t{i}.example.com"
        back = f"https://api.t{(i + 1) % n}.example.com/cb"
        entries.append(entry(f"{origin}/v1/items?next={back}", second=1 + i % 50))
    return har(entries)


def deep_json(depth: int, where: str) -> Har:
    """A JSON body nested `depth` levels deep, in the request or in the response (whose
    innermost value a later request sends back, so correlation reads it)."""
    nested = '{"a":' * depth + f'"{token(1)}"' + "}" * depth
    if where == "request":
        return har([entry(f"{HOST}/api/deep", "POST", body=nested)])
    sends = entry(f"{HOST}/api/next?id={token(1)}", second=1)
    return har([entry(f"{HOST}/api/deep", response=nested), sends])


def surrogate(where: str) -> Har:
    """A lone surrogate (valid JSON, not encodable as UTF-8) in one field of a capture."""
    lone = "\ud800"
    form = {"mimeType": "application/x-www-form-urlencoded", "params": []}
    item = entry(f"{HOST}/login", "POST")
    if where == "form name":
        form["params"] = [{"name": f"user{lone}", "value": "alice"}]
    elif where == "form value":
        form["params"] = [{"name": "user", "value": f"al{lone}ice"}]
    elif where == "form text":
        form["text"] = f"user{lone}=alice"
    if where.startswith("form"):
        item["request"]["postData"] = form
    elif where == "header":
        item["request"]["headers"] = [{"name": f"X-Tag{lone}", "value": f"v{lone}"}]
    elif where == "url":
        item["request"]["url"] = f"{HOST}/p{lone}?q{lone}=v{lone}"
    elif where == "json":
        item["request"]["postData"] = {"mimeType": "application/json", "text": '{"k\\ud800": 1}'}
    elif where == "response header":  # read when a key-named value is looked for in pages
        page = entry(f"{HOST}/", response="<p>hi</p>", response_mime="text/html")
        page["response"]["headers"].append({"name": "X-Note", "value": f"n{lone}"})
        sent = entry(f"{HOST}/api/items?api_key=k-{token(2)}", second=1)
        return har([page, sent])
    elif where == "correlated token":
        made = {"token": f"{token(1)}{lone}"}
        item = entry(f"{HOST}/api/next", "POST", body=json.dumps(made), second=1)
        return har([entry(f"{HOST}/api/token", response=json.dumps(made)), item])
    return har([item])


def unclosed_titles(n: int) -> Har:
    """A page of `n` `<title>` tags and no `</title>`: a step's docstring is read from it."""
    page = entry(f"{HOST}/", response="<title>" * n, response_mime="text/html")
    return har([page, entry(f"{HOST}/api/next", second=1)])


def minimal_entries(n: int) -> Har:
    """`n` requests of the fewest bytes a HAR entry takes: what each request costs, whatever
    it holds, measured per byte."""
    entries = [
        {"request": {"method": "GET", "url": f"{HOST}/p/{i}"}, "response": {"status": 200}}
        for i in range(n)
    ]
    return har(entries)


def late_redirects(n: int) -> Har:
    """`n` redirects in time order, each Location carrying a fresh token that a request half
    a session later sends back (a one-time link used later, an SSO hop's return URL)."""
    entries, half = [], n // 2
    for i in range(n):
        sends = f"?s={token(i - half)}" if i >= half else ""
        item = entry(f"{HOST}/r/{i}{sends}")
        item["startedDateTime"] = f"2026-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
        item["response"]["status"] = 302
        item["response"]["headers"].append(
            {"name": "Location", "value": f"/r/{i + 1}?t={token(i)}"}
        )
        entries.append(item)
    return har(entries)


def prefilled_inputs(n: int) -> Har:
    """A cart page of `n` quantity inputs, each holding `1`, posted back as they were."""
    page = "<form>" + "".join(f'<input name="qty{i}" value="1">' for i in range(n)) + "</form>"
    sent = "&".join(f"qty{i}=1" for i in range(n))
    return har(
        [
            entry(f"{HOST}/cart", response=page, response_mime="text/html"),
            entry(f"{HOST}/cart", "POST", body=sent, mime=FORM, second=1),
        ]
    )


def echoed_ids(n: int) -> Har:
    """A Django admin formset of `n` rows, each a hidden `form-N-id` (the row's id, as the
    page holds it) and a quantity, all posted back."""
    page = "<form>" + "".join(
        f'<input type="hidden" name="form-{i}-id" value="{i % 999 + 1}">'
        f'<input type="text" name="form-{i}-qty" value="2">'
        for i in range(n)
    )
    sent = "&".join(f"form-{i}-id={i % 999 + 1}&form-{i}-qty=2" for i in range(n))
    return har(
        [
            entry(f"{HOST}/admin/items/", response=page, response_mime="text/html"),
            entry(f"{HOST}/admin/items/", "POST", body=sent, mime=FORM, second=1),
        ]
    )


def hidden_inputs(n: int, inputs: int = 50) -> Har:
    """`n` pages, each a form of `inputs` hidden inputs holding server-made values, each
    posted back (an admin's edit pages, a wizard carrying its state): 50 correlated values
    a request."""
    entries = []
    for j in range(n):
        values = [token(j * inputs + i) for i in range(inputs)]
        page = "".join(
            f'<input type="hidden" name="f{i}" value="{v}">' for i, v in enumerate(values)
        )
        sent = "&".join(f"f{i}={v}" for i, v in enumerate(values))
        entries.append(entry(f"{HOST}/p{j}", response=page, response_mime="text/html", second=j))
        entries.append(entry(f"{HOST}/s{j}", "POST", body=sent, mime=FORM, second=j))
    return har(entries)


SURROGATE_PLACES = (
    "form name",
    "form value",
    "form text",
    "header",
    "response header",
    "url",
    "json",
    "correlated token",
)

SHAPES: dict[str, Callable[[int], Har]] = {
    "shared header values": shared_header_values,
    "multipart, unterminated": multipart_unterminated,
    "multipart, many fields": multipart_fields,
    "one field, many typed values": typed_values,
    "e-mails in one request": emails,
    "correlated values in one request": correlated_values,
    "first-party subdomains": subdomains,
    "form of many fields": form_fields,
    "JSON bulk import": bulk_import,
    "page of unclosed titles": unclosed_titles,
    "chain of redirects, tokens used later": late_redirects,
    "form of prefilled inputs": prefilled_inputs,
    "formset of echoed ids": echoed_ids,
    "pages of hidden inputs posted back": hidden_inputs,
}
"""Shape → generator of a HAR growing linearly with n."""


def write(document: Har, path: Path) -> int:
    """Write the HAR (lone surrogates as JSON escapes); its size in bytes."""
    data = json.dumps(document).encode()
    path.write_bytes(data)
    return len(data)
