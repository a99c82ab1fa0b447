"""Kinto (REST JSON storage, accounts plugin, memory backend, as `kinto init` writes it): a
user writes a record, edits it under If-Match with the ETag, deletes it under If-Match. Covers
server-made UUIDs, ETag/last_modified sent back, Basic sign-in on every request."""

from __future__ import annotations

import base64
import json
import secrets
import urllib.request
from pathlib import Path

from fidelity.apps import FLOWS, Flow, State
from fidelity.harness import Server, check, pip_venv, start
from recorder.proxy import free_port

BUCKET = "/v1/buckets/fidelity"
NOTES = f"{BUCKET}/collections/notes"


class Kinto:
    name = "kinto"
    version = "26.5.0"
    flows = (
        Flow(
            name="note",
            script=FLOWS / "kinto_note.py",
            path="/v1/admin/",
            creates=("POST", r"/records$"),
            edits=("PATCH", r"/records/"),
            deletes=("DELETE", r"/records/"),
        ),
    )

    def install(self) -> None:
        self.venv = pip_venv("kinto", self.version)

    def start(self, data: Path, accounts: list[dict[str, str]]) -> Server:
        kinto = str(self.venv / "bin" / "kinto")
        ini = data / "kinto.ini"
        init = [kinto, "init", "--ini", str(ini), "--backend", "memory"]
        check([*init, "--cache-backend", "memory", "--host", "127.0.0.1", "-q"], "kinto init")
        port = free_port()
        command = [kinto, "start", "--ini", str(ini), "--port", str(port), "-q"]
        server = start(command, port=port, ready="/v1/", log=data / "server.log")
        self.admin = {"username": "admin", "password": secrets.token_hex(12)}
        for account in (self.admin, *accounts):
            self._call(server, "PUT", f"/v1/accounts/{account['username']}", account)
        everyone = {"read": ["system.Authenticated"]}
        self._call(server, "PUT", BUCKET, None, {"permissions": everyone})
        writers = {"record:create": ["system.Authenticated"]}
        self._call(server, "PUT", NOTES, None, {"permissions": writers})
        return server

    def _call(self, server, method, path, account, body=None):
        """As the admin (or, creating an account, as nobody)."""
        if account is not None:
            body = {"data": {"password": account["password"]}}
        request = urllib.request.Request(
            server.url + path,
            method=method,
            data=json.dumps(body).encode() if body else None,
            headers={"Content-Type": "application/json", **self._auth(account)},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def _auth(self, account) -> dict[str, str]:
        if account is not None:
            return {}
        token = f"{self.admin['username']}:{self.admin['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(token).decode()}

    def state(self, server: Server, flow: Flow) -> State:
        """Every note, whoever wrote it; edited ones are done (the PATCH ticks them off)."""
        notes = self._call(server, "GET", f"{NOTES}/records?_limit=10000", None)["data"]
        return State(
            objects=frozenset(note["id"] for note in notes),
            edited=frozenset(note["id"] for note in notes if note.get("done")),
        )


APP = Kinto()
