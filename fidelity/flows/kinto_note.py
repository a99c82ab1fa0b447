"""Kinto, from its admin page (where Kinto-Admin runs): sign in with an account, write a note,
tick it off (PATCH under If-Match: the record's ETag), delete it (If-Match again), list notes."""

import base64
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fetch import fetch  # noqa: E402

RECORDS = "/v1/buckets/fidelity/collections/notes/records"


def run(page):
    tag = os.environ["FIDELITY_TAG"]
    account = f"{os.environ['FIDELITY_USERNAME']}:{os.environ['FIDELITY_PASSWORD']}"
    auth = {"Authorization": "Basic " + base64.b64encode(account.encode()).decode()}
    fetch(page, "GET", "/v1/", headers=auth)
    note = {"title": f"Buy oat milk {tag}", "body": "and the blue notebook", "done": False}
    created = fetch(page, "POST", RECORDS, {"data": note}, auth, expect=201)
    path = f"{RECORDS}/{created['json']['data']['id']}"
    current = fetch(page, "GET", path, headers=auth)
    edited = fetch(
        page,
        "PATCH",
        path,
        {"data": {"done": True, "title": f"Bought oat milk {tag}"}},
        {**auth, "If-Match": current["etag"]},
    )
    fetch(page, "DELETE", path, headers={**auth, "If-Match": edited["etag"]})
    fetch(page, "GET", RECORDS, headers=auth)
