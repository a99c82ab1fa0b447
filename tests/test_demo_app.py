"""The demo shop enforces what a verbatim replay gets wrong: CSRF, tokens, owners, unique emails."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from replay.demo.launch import running

SEED = {"email": "demo@example.com", "password": "demo-password"}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hand 3xx responses back as they are: the tests check each hop."""

    def redirect_request(self, *args, **kwargs):
        return None


class Visitor:
    """One browser: its own cookie jar, no redirect following."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirects
        )

    def call(self, method, path, form=None, json_body=None, token=None):
        """(status, headers, text) of one request; error statuses are returned, not raised."""
        headers, data = {}, None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
        elif json_body is not None:
            data, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base_url + path, data, headers, method=method)
        try:
            with self.opener.open(request, timeout=5) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def csrf_token(self, path):
        status, _, html = self.call("GET", path)
        assert status == 200
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def log_in(self, email=SEED["email"], password=SEED["password"]):
        """Log in through the HTML form; return the CSRF token the dashboard hands out."""
        form = {"email": email, "password": password, "csrf_token": self.csrf_token("/login")}
        status, headers, _ = self.call("POST", "/login", form)
        assert (status, headers["Location"]) == (302, "/dashboard")
        return self.csrf_token("/dashboard")

    def sign_up(self, email):
        form = {"name": "Test", "email": email, "password": "long-enough"}
        form["csrf_token"] = self.csrf_token("/signup")
        return self.call("POST", "/signup", form)[0]

    def api_token(self, email=SEED["email"], password=SEED["password"]):
        credentials = {"email": email, "password": password}
        status, _, body = self.call("POST", "/api/login", json_body=credentials)
        assert status == 200
        return json.loads(body)["token"]


@pytest.fixture(scope="module")
def base_url():
    with running(["-m", "replay.demo", "--port", "0"]) as url:
        yield url


def new_email():
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def test_login_needs_this_sessions_csrf_token(base_url):
    recorded = Visitor(base_url).csrf_token("/login")
    replayer = Visitor(base_url)
    replayer.csrf_token("/login")
    assert replayer.call("POST", "/login", {**SEED, "csrf_token": recorded})[0] == 403
    assert replayer.call("POST", "/login", SEED)[0] == 403
    assert Visitor(base_url).call("POST", "/login", {**SEED, "csrf_token": recorded})[0] == 403


def test_login_rotates_session_and_csrf_token(base_url):
    visitor = Visitor(base_url)
    before = visitor.csrf_token("/login")
    after = visitor.log_in()
    assert after != before
    assert visitor.call("POST", "/notes", {"text": "x", "csrf_token": before})[0] == 403
    assert Visitor(base_url).call("GET", "/dashboard")[0] == 302


def test_api_needs_bearer_token(base_url):
    visitor = Visitor(base_url)
    assert visitor.call("GET", "/api/me")[0] == 401
    assert visitor.call("GET", "/api/me", token="0" * 40)[0] == 401
    assert visitor.call("POST", "/api/login", json_body={**SEED, "password": "no"})[0] == 401
    assert visitor.call("GET", "/api/me", token=visitor.api_token())[0] == 200


def test_duplicate_signup_is_409_and_counted(base_url):
    email = new_email()
    assert Visitor(base_url).sign_up(email) == 302
    before = json.loads(Visitor(base_url).call("GET", "/_demo/stats")[2])
    assert Visitor(base_url).sign_up(email) == 409
    after = json.loads(Visitor(base_url).call("GET", "/_demo/stats")[2])
    assert after["duplicate_signups"] == before["duplicate_signups"] + 1
    assert email in after["emails"]


def test_orders_belong_to_their_owner(base_url):
    owner, other = Visitor(base_url), Visitor(base_url)
    email = new_email()
    assert other.sign_up(email) == 302
    other_token, token = other.api_token(email, "long-enough"), owner.api_token()

    order = {"product": "burr-grinder", "quantity": 2}
    status, headers, body = owner.call("POST", "/api/orders", json_body=order, token=token)
    order_id = json.loads(body)["id"]
    assert status == 201 and headers["Location"] == f"/api/orders/{order_id}"
    assert re.fullmatch(r"[0-9a-f]{10}", order_id)

    path = headers["Location"]
    assert owner.call("GET", path, token=token)[0] == 200
    assert owner.call("GET", path)[0] == 401
    assert other.call("GET", path, token=other_token)[0] == 404
    assert other.call("PATCH", path, json_body={"quantity": 9}, token=other_token)[0] == 404
    status, _, body = owner.call("PATCH", path, json_body={"quantity": 3}, token=token)
    assert status == 200 and json.loads(body)["quantity"] == 3


def test_note_redirects_to_its_id_and_is_private(base_url):
    owner = Visitor(base_url)
    csrf = owner.log_in()
    status, headers, _ = owner.call("POST", "/notes", {"text": "Buy filters", "csrf_token": csrf})
    assert status == 303 and re.fullmatch(r"/notes/\d{9}", headers["Location"])
    status, _, html = owner.call("GET", headers["Location"])
    assert status == 200 and "Buy filters" in html

    stranger = Visitor(base_url)
    assert stranger.sign_up(new_email()) == 302
    assert stranger.call("GET", headers["Location"])[0] == 404
