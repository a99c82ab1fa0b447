"""Tickets: a second test application, built unlike the demo shop, for correlation tests.

Plain WSGI on werkzeug's routing (no Flask), with other token styles than the shop: a
Django-style CSRF cookie that scripts echo in `X-CSRFToken`, `Authorization: Token <key>`,
uuid4 ids nested in JSON, integer comment ids, form-encoded bodies, and an OAuth-style redirect
whose code is single use. Each of these makes a verbatim replay fail.

    python tests/apps/tickets.py --port 0    # prints "tickets app on http://127.0.0.1:PORT"
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import secrets
import string
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, NotFound, Unauthorized
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from replay.demo.app import NoDelayWSGIServer

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_ALPHABET = string.ascii_letters + string.digits
PRIORITIES = ("low", "normal", "high")
STATUSES = ("open", "in_progress", "closed")
COUNTERS = (
    "requests",
    "csrf_tokens_issued",
    "csrf_rejections",
    "logins",
    "tickets",
    "updates",
    "comments",
    "codes_issued",
    "codes_redeemed",
    "code_reuse_rejections",
    "bad_codes",
)

URLS = Map(
    [
        Rule("/", endpoint="index", methods=["GET"]),
        Rule("/app", endpoint="app_page", methods=["GET"]),
        Rule("/api/auth", endpoint="auth", methods=["POST"]),
        Rule("/api/tickets", endpoint="create_ticket", methods=["POST"]),
        Rule("/api/tickets/<uuid:ticket_id>", endpoint="ticket", methods=["GET", "PUT"]),
        Rule("/api/tickets/<uuid:ticket_id>/comments", endpoint="comment", methods=["POST"]),
        Rule(
            "/api/tickets/<uuid:ticket_id>/comments/<int:comment_id>",
            endpoint="get_comment",
            methods=["GET"],
        ),
        Rule("/oauth/authorize", endpoint="authorize", methods=["GET"]),
        Rule("/oauth/callback", endpoint="callback", methods=["GET"]),
        Rule("/oauth/token", endpoint="token", methods=["POST"]),
        Rule("/oauth/userinfo", endpoint="userinfo", methods=["GET"]),
        Rule("/_tickets/stats", endpoint="stats", methods=["GET"]),
    ]
)


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status, mimetype="application/json")


def _html(body: str) -> Response:
    return Response(PAGE.format(body=body), mimetype="text/html")


class TicketsApp:
    """The WSGI application; all state is in memory and every change holds `lock`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.passwords = {"agent": "agent-pass"}
        self.csrf_tokens: set[str] = set()
        self.keys: dict[str, str] = {}  # API key -> username
        self.tickets: dict[str, dict[str, Any]] = {}  # uuid -> ticket, with "owner"
        self.comments: dict[int, dict[str, Any]] = {}
        self.codes: dict[str, bool] = {}  # OAuth code -> still unused
        self.access_tokens: set[str] = set()
        self.counters: Counter[str] = Counter(dict.fromkeys(COUNTERS, 0))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            endpoint, args = URLS.bind_to_environ(environ).match()
            with self.lock:
                if not request.path.startswith("/_tickets/"):
                    self.counters["requests"] += 1
                if request.method in UNSAFE_METHODS:
                    self._check_csrf(request)
                response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as error:
            response = _json({"detail": error.description}, error.code or 500)
            for name, value in error.get_headers(environ):
                if name.lower() != "content-type":
                    response.headers[name] = value
        return response(environ, start_response)

    # Helpers; callers hold the lock (handlers never block, so it is never held for long).

    def _check_csrf(self, request: Request) -> None:
        """Double-submit check: the header must echo a csrftoken cookie this server issued."""
        cookie = request.cookies.get("csrftoken", "").encode()
        header = request.headers.get("X-CSRFToken", "").encode()
        if cookie.decode() not in self.csrf_tokens or not hmac.compare_digest(cookie, header):
            self.counters["csrf_rejections"] += 1
            raise Forbidden("CSRF Failed: CSRF token missing or incorrect.")

    def _with_csrf_cookie(self, request: Request, response: Response) -> Response:
        """Give a visitor without a valid csrftoken cookie a new one (scripts read it)."""
        if request.cookies.get("csrftoken") not in self.csrf_tokens:
            token = "".join(secrets.choice(CSRF_ALPHABET) for _ in range(32))
            self.csrf_tokens.add(token)
            self.counters["csrf_tokens_issued"] += 1
            response.set_cookie("csrftoken", token, max_age=31449600, samesite="Lax")
        return response

    def _user(self, request: Request) -> str:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        user = self.keys.get(key.strip()) if scheme == "Token" else None
        if user is None:
            raise Unauthorized("Invalid token.", www_authenticate="Token")
        return user

    def _ticket(self, request: Request, ticket_id: uuid.UUID) -> dict[str, Any]:
        """The ticket if the caller owns it; another user's ticket is as absent as none."""
        user = self._user(request)
        ticket = self.tickets.get(str(ticket_id))
        if ticket is None or ticket["owner"] != user:
            raise NotFound("No ticket matches the given query.")
        return ticket

    @staticmethod
    def _public(ticket: dict[str, Any]) -> dict[str, Any]:
        return {"ticket": {k: v for k, v in ticket.items() if k != "owner"}}

    @staticmethod
    def _fields(request: Request) -> dict[str, str]:
        """The editable fields of a ticket from a JSON body (400 when invalid)."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not str(body.get("title", "")).strip():
            raise BadRequest("A JSON body with a non-empty title is required.")
        priority, status = body.get("priority", "normal"), body.get("status", "open")
        if priority not in PRIORITIES or status not in STATUSES:
            raise BadRequest(f"priority is one of {PRIORITIES}, status one of {STATUSES}.")
        title, description = str(body["title"]).strip(), str(body.get("description", ""))
        return {"title": title, "description": description, "priority": priority, "status": status}

    # Pages.

    def on_index(self, request: Request) -> Response:
        return self._with_csrf_cookie(request, _html(INDEX))

    def on_app_page(self, request: Request) -> Response:
        return self._with_csrf_cookie(request, _html(APP))

    # Token-authenticated JSON API.

    def on_auth(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        body = body if isinstance(body, dict) else {}
        username, password = str(body.get("username", "")), str(body.get("password", ""))
        expected = self.passwords.get(username)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            raise Unauthorized("Unable to log in with provided credentials.")
        key = secrets.token_hex(20)
        self.keys[key] = username
        self.counters["logins"] += 1
        return _json({"key": key})

    def on_create_ticket(self, request: Request) -> Response:
        user = self._user(request)
        ticket_id = str(uuid.uuid4())
        self.tickets[ticket_id] = {
            "uuid": ticket_id,
            **self._fields(request),
            "status": "open",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "owner": user,
        }
        self.counters["tickets"] += 1
        return _json(self._public(self.tickets[ticket_id]), 201)

    def on_ticket(self, request: Request, ticket_id: uuid.UUID) -> Response:
        ticket = self._ticket(request, ticket_id)
        if request.method == "PUT":
            ticket.update(self._fields(request))
            self.counters["updates"] += 1
        return _json(self._public(ticket))

    def on_comment(self, request: Request, ticket_id: uuid.UUID) -> Response:
        ticket = self._ticket(request, ticket_id)
        text = request.form.get("body", "").strip()
        if not text:
            raise BadRequest("A form field 'body' is required.")
        comment_id = 100_000 + secrets.randbelow(900_000_000)
        while comment_id in self.comments:
            comment_id = 100_000 + secrets.randbelow(900_000_000)
        self.comments[comment_id] = {"id": comment_id, "ticket": ticket["uuid"], "body": text}
        self.counters["comments"] += 1
        return _json({"comment_id": comment_id}, 201)

    def on_get_comment(self, request: Request, ticket_id: uuid.UUID, comment_id: int) -> Response:
        ticket = self._ticket(request, ticket_id)
        comment = self.comments.get(comment_id)
        if comment is None or comment["ticket"] != ticket["uuid"]:
            raise NotFound("No comment matches the given query.")
        return _json({"comment": comment})

    # OAuth-style authorization code flow.

    def on_authorize(self, request: Request) -> Response:
        state = request.args.get("state", "")
        if request.args.get("client_id") != "web" or not state:
            raise BadRequest("client_id=web and a state are required.")
        code = secrets.token_urlsafe(18)
        self.codes[code] = True
        self.counters["codes_issued"] += 1
        location = "/oauth/callback?" + urlencode({"code": code, "state": state})
        return Response(status=302, headers={"Location": location})

    def on_callback(self, request: Request) -> Response:
        return _html(CALLBACK)

    def on_token(self, request: Request) -> Response:
        code = request.form.get("code", "")
        if not self.codes.get(code):
            self.counters["code_reuse_rejections" if code in self.codes else "bad_codes"] += 1
            return _json({"error": "invalid_grant"}, 400)
        self.codes[code] = False
        self.counters["codes_redeemed"] += 1
        access_token = secrets.token_urlsafe(32)
        self.access_tokens.add(access_token)
        return _json({"access_token": access_token, "token_type": "Bearer", "expires_in": 3600})

    def on_userinfo(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.access_tokens:
            raise Unauthorized("Invalid access token.", www_authenticate="Bearer")
        return _json({"client_id": "web", "scope": "tickets"})

    def on_stats(self, request: Request) -> Response:
        return _json({"users": len(self.passwords), **self.counters})


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tickets</title></head>
<body>{body}</body></html>"""

INDEX = """<h1>Tickets</h1><p>Support tickets for the web team.</p>
<p><a id="open-app" href="/app">Open the app</a></p>"""

# Shared by the app and the OAuth callback page: read the cookie, send it back as a header.
CALL_JS = """
const csrftoken = (document.cookie.split("; ").find((c) => c.startsWith("csrftoken=")) || "")
  .slice("csrftoken=".length);
async function call(method, url, {json, form, auth} = {}) {
  const headers = {Accept: "application/json"};
  if (method !== "GET") headers["X-CSRFToken"] = csrftoken;
  if (auth) headers.Authorization = auth;
  let body;
  if (json) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (form) body = new URLSearchParams(form);
  const response = await fetch(url, {method, headers, body});
  const data = await response.json();
  if (!response.ok) throw new Error(data.detail || data.error || `HTTP ${response.status}`);
  return data;
}
const show = (id, value) => { document.getElementById(id).textContent = JSON.stringify(value); };
"""

APP = (
    """<h1>Tickets app</h1>
<p id="status"></p>
<form id="login"><input name="username" placeholder="Username">
  <input name="password" type="password" placeholder="Password"><button>Sign in</button></form>
<form id="new-ticket" hidden><input name="title" placeholder="Title">
  <textarea name="description" placeholder="Describe the problem"></textarea>
  <select name="priority"><option>low</option><option selected>normal</option>
  <option>high</option></select><button>Open ticket</button></form>
<pre id="ticket"></pre>
<form id="update" hidden><select name="status"><option>open</option><option>in_progress</option>
  <option>closed</option></select><button>Save status</button></form>
<form id="comment" hidden><textarea name="body" placeholder="Comment"></textarea>
  <button>Add comment</button></form>
<pre id="last-comment"></pre>
<p><a id="connect" href="/oauth/authorize">Connect the web client</a></p>
<script>"""
    + CALL_JS
    + """
let auth = null;
let ticket = null;
function on(id, handler) {
  document.getElementById(id).addEventListener("submit", (event) => {
    event.preventDefault();
    const status = document.getElementById("status");
    handler(event.target).catch((error) => { status.textContent = error; });
  });
}
on("login", async (form) => {
  const {key} = await call("POST", "/api/auth",
    {json: {username: form.username.value, password: form.password.value}});
  auth = `Token ${key}`;
  form.hidden = true;
  document.getElementById("new-ticket").hidden = false;
});
on("new-ticket", async (form) => {
  const created = await call("POST", "/api/tickets", {auth, json: {title: form.title.value,
    description: form.description.value, priority: form.priority.value}});
  ticket = (await call("GET", `/api/tickets/${created.ticket.uuid}`, {auth})).ticket;
  show("ticket", ticket);
  document.getElementById("update").hidden = false;
  document.getElementById("comment").hidden = false;
});
on("update", async (form) => {
  const {title, description, priority} = ticket;
  const changes = {title, description, priority, status: form.status.value};
  ticket = (await call("PUT", `/api/tickets/${ticket.uuid}`, {auth, json: changes})).ticket;
  show("ticket", ticket);
});
on("comment", async (form) => {
  const {comment_id} = await call("POST", `/api/tickets/${ticket.uuid}/comments`,
    {auth, form: {body: form.body.value}});
  show("last-comment",
    await call("GET", `/api/tickets/${ticket.uuid}/comments/${comment_id}`, {auth}));
});
document.getElementById("connect").addEventListener("click", (event) => {
  const state = Array.from(crypto.getRandomValues(new Uint8Array(12)),
    (b) => b.toString(16).padStart(2, "0")).join("");
  sessionStorage.setItem("oauth-state", state);
  event.currentTarget.href = `/oauth/authorize?client_id=web&state=${state}`;
});
</script>"""
)

CALLBACK = (
    """<h1>Connecting…</h1><pre id="result"></pre><script>"""
    + CALL_JS
    + """
(async () => {
  const params = new URLSearchParams(location.search);
  if (params.get("state") !== sessionStorage.getItem("oauth-state")) throw new Error("bad state");
  const token = await call("POST", "/oauth/token", {form: {code: params.get("code")}});
  const info = await call("GET", "/oauth/userinfo", {auth: `Bearer ${token.access_token}`});
  show("result", info);
  document.querySelector("h1").textContent = "Connected";
})().catch((error) => { document.querySelector("h1").textContent = `Failed: ${error}`; });
</script>"""
)


def serve(host: str, port: int) -> None:
    """Serve a fresh app until killed; port 0 picks a free port, printed on stdout."""
    server = NoDelayWSGIServer((host, port), TicketsApp(), log=None)
    server.start()
    print(f"tickets app on http://{host}:{server.address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve the tickets test application.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    arguments = parser.parse_args()
    serve(arguments.host, arguments.port)
