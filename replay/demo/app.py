"""The demo shop: HTML forms with CSRF tokens, a bearer-token JSON API, ids in redirects.

Everything a recorded session sends back was made by the server for that session (session
cookie, CSRF token, bearer token, order and note ids) or has to be unique (the sign-up email),
and the server checks all of it: a verbatim replay of a recording fails, a correlated one passes.
State lives in memory behind one lock, so the app stays correct under concurrent load.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn

from flask import Flask, abort, g, jsonify, make_response, redirect, render_template, request
from gevent.pywsgi import WSGIServer
from werkzeug import Response

SESSION_COOKIE = "demo_session"
SEED_NAME, SEED_EMAIL, SEED_PASSWORD = "Demo User", "demo@example.com", "demo-password"

PRODUCTS: tuple[dict[str, Any], ...] = tuple(
    {"slug": slug, "name": name, "price_cents": cents, "description": text, "stock": stock}
    for slug, name, cents, text, stock in [
        ("espresso-cup", "Espresso Cup", 850, "Thick-walled porcelain, 90 ml.", 42),
        ("pour-over-kettle", "Pour-over Kettle", 4900, "Gooseneck spout, 1 litre.", 12),
        ("burr-grinder", "Burr Grinder", 12900, "Conical steel burrs, 40 settings.", 7),
        ("house-blend", "House Blend Beans", 1450, "Chocolate and hazelnut, 500 g.", 120),
        ("paper-filters", "Paper Filters", 590, "100 unbleached cone filters, size 02.", 300),
        ("travel-mug", "Travel Mug", 2400, "Double-walled, leak-proof lid, 350 ml.", 35),
        ("milk-frother", "Milk Frother", 3900, "Handheld, rechargeable, three speeds.", 18),
        ("tasting-notebook", "Tasting Notebook", 1200, "Cupping forms for 60 coffees.", 0),
    ]
)
PRODUCTS_BY_SLUG = {product["slug"]: product for product in PRODUCTS}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _hash(salt: bytes, password: str) -> bytes:
    """Salted SHA-256: deliberately cheap, so a load test measures the app rather than a KDF."""
    return hashlib.sha256(salt + password.encode()).digest()


@dataclass(slots=True, eq=False)
class User:
    id: str
    name: str
    email: str
    salt: bytes
    password_hash: bytes
    order_ids: list[str] = field(default_factory=list)
    note_ids: list[str] = field(default_factory=list)

    def check_password(self, password: str) -> bool:
        return hmac.compare_digest(_hash(self.salt, password), self.password_hash)


@dataclass(slots=True)
class Session:
    csrf: str
    user: User | None = None


@dataclass(slots=True)
class Order:
    id: str
    owner: User
    product: dict[str, Any]
    quantity: int
    created_at: str
    updated_at: str

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "product": self.product["slug"],
            "name": self.product["name"],
            "quantity": self.quantity,
            "unit_price_cents": self.product["price_cents"],
            "total_cents": self.product["price_cents"] * self.quantity,
            "status": "open",
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(slots=True)
class Note:
    id: str
    owner: User
    text: str
    created_at: str


def _order_id() -> str:
    return secrets.token_hex(5)


def _note_id() -> str:
    return str(100_000_000 + secrets.randbelow(900_000_000))


class Store:
    """All mutable state of one app instance; every read or write of a table holds `lock`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users: dict[str, User] = {}  # by lower-cased email
        self.sessions: dict[str, Session] = {}
        self.tokens: dict[str, User] = {}
        self.orders: dict[str, Order] = {}
        self.notes: dict[str, Note] = {}
        self.duplicate_signups = 0
        self.requests = 0

    def register(self, name: str, email: str, password: str) -> User | None:
        """The new user, or None (counted as a duplicate) when the email is taken."""
        salt = secrets.token_bytes(16)
        user = User(secrets.token_hex(6), name, email, salt, _hash(salt, password))
        with self.lock:
            if email in self.users:
                self.duplicate_signups += 1
                return None
            self.users[email] = user
        return user

    def authenticate(self, email: str, password: str) -> User | None:
        with self.lock:
            user = self.users.get(email)
        return user if user is not None and user.check_password(password) else None

    def open_session(self, user: User | None = None) -> tuple[str, Session]:
        sid, session = secrets.token_urlsafe(24), Session(secrets.token_urlsafe(32), user)
        with self.lock:
            self.sessions[sid] = session
        return sid, session

    def close_session(self, sid: str | None) -> None:
        with self.lock:
            self.sessions.pop(sid or "", None)

    def issue_token(self, user: User) -> str:
        token = secrets.token_hex(20)
        with self.lock:
            self.tokens[token] = user
        return token

    def token_user(self, token: str) -> User | None:
        with self.lock:
            return self.tokens.get(token)

    def add_order(self, user: User, product: dict[str, Any], quantity: int) -> Order:
        with self.lock:
            order_id = _order_id()
            while order_id in self.orders:
                order_id = _order_id()
            now = _now()
            order = self.orders[order_id] = Order(order_id, user, product, quantity, now, now)
            user.order_ids.append(order_id)
        return order

    def add_note(self, user: User, text: str) -> Note:
        with self.lock:
            note_id = _note_id()
            while note_id in self.notes:
                note_id = _note_id()
            note = self.notes[note_id] = Note(note_id, user, text, _now())
            user.note_ids.append(note_id)
        return note

    def orders_of(self, user: User) -> list[Order]:
        with self.lock:
            return [self.orders[order_id] for order_id in user.order_ids]

    def notes_of(self, user: User) -> list[Note]:
        with self.lock:
            return [self.notes[note_id] for note_id in user.note_ids]


def _fail(status: int, message: str) -> NoReturn:
    """Abort an API call with a JSON error body."""
    response = jsonify(error=message)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    abort(response)


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _quantity(body: dict[str, Any]) -> int:
    quantity = body.get("quantity")
    if type(quantity) is not int or not 1 <= quantity <= 99:
        _fail(400, "quantity must be a whole number from 1 to 99")
    return quantity


def _set_session_cookie(response: Response, sid: str) -> None:
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Lax")


def create_app() -> Flask:
    """A new demo shop with fresh state: the seed account, no orders, no notes."""
    app = Flask(__name__)
    store = Store()
    store.register(SEED_NAME, SEED_EMAIL, SEED_PASSWORD)

    @app.before_request
    def load_session() -> None:
        sid = request.cookies.get(SESSION_COOKIE, "")
        with store.lock:
            if not request.path.startswith("/_demo/"):  # count the load, not the test probes
                store.requests += 1
            g.session = store.sessions.get(sid)
        g.sid = sid if g.session is not None else None

    @app.context_processor
    def page_context() -> dict[str, Any]:
        session = g.get("session")
        return {
            "user": session.user if session else None,
            "csrf_token": session.csrf if session else None,
        }

    def session_user() -> User | None:
        return g.session.user if g.session else None

    def check_csrf() -> None:
        """Abort with 403 unless the form's CSRF token is the one of the visitor's session."""
        token = request.form.get("csrf_token", "").encode()
        if g.session is None or not hmac.compare_digest(token, g.session.csrf.encode()):
            abort(403, "CSRF token missing or wrong for this session.")

    def form_page(template: str, status: int = 200, **context: Any) -> Response:
        """Render a form, first opening a session (and so a CSRF token) for a new visitor."""
        sid = None
        if g.session is None:
            sid, g.session = store.open_session()
        response = make_response(render_template(template, **context), status)
        if sid is not None:
            _set_session_cookie(response, sid)
        return response

    def logged_in(user: User) -> Response:
        """Go to the dashboard under a new session id and CSRF token (no session fixation)."""
        store.close_session(g.sid)
        sid, _ = store.open_session(user)
        response = redirect("/dashboard", 302)
        _set_session_cookie(response, sid)
        return response

    def api_user() -> User:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user = store.token_user(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            _fail(401, "missing or invalid bearer token")
        return user

    def owned_order(order_id: str, user: User) -> Order:
        """The order if `user` owns it; someone else's order is as absent as an unknown one."""
        with store.lock:
            order = store.orders.get(order_id)
        if order is None or order.owner is not user:
            _fail(404, "order not found")
        return order

    @app.errorhandler(404)
    @app.errorhandler(405)
    def api_error(error: Any) -> Any:
        if request.path.startswith("/api/"):
            return jsonify(error=error.description), error.code
        return error

    # Public catalogue.

    @app.get("/")
    def home() -> str:
        return render_template("home.html")

    @app.get("/products")
    def products() -> str:
        return render_template("products.html", products=PRODUCTS)

    @app.get("/products/<slug>")
    def product(slug: str) -> str:
        if slug not in PRODUCTS_BY_SLUG:
            abort(404)
        return render_template("product.html", product=PRODUCTS_BY_SLUG[slug])

    @app.get("/api/products")
    def api_products() -> Response:
        return jsonify(PRODUCTS)

    @app.get("/api/products/<slug>")
    def api_product(slug: str) -> Response:
        if slug not in PRODUCTS_BY_SLUG:
            _fail(404, "product not found")
        return jsonify(PRODUCTS_BY_SLUG[slug])

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return app.send_static_file("favicon.ico")

    # HTML forms: session cookie + CSRF token.

    @app.get("/login")
    def login_form() -> Response:
        return form_page("login.html")

    @app.post("/login")
    def login() -> Response:
        check_csrf()
        email = request.form.get("email", "").strip().lower()
        user = store.authenticate(email, request.form.get("password", ""))
        if user is None:
            return form_page("login.html", 401, email=email, error="Wrong email or password.")
        return logged_in(user)

    @app.get("/signup")
    def signup_form() -> Response:
        return form_page("signup.html")

    @app.post("/signup")
    def signup() -> Response:
        check_csrf()
        name = request.form.get("name", "").strip()
        email = request.form.get("email", "").strip().lower()
        password = request.form.get("password", "")
        context = {"name": name, "email": email}
        if not name or "@" not in email or len(password) < 8:
            error = "Name, a valid email and a password of 8+ characters are required."
            return form_page("signup.html", 400, error=error, **context)
        user = store.register(name, email, password)
        if user is None:
            error = "This email is already registered."
            return form_page("signup.html", 409, error=error, **context)
        return logged_in(user)

    @app.get("/dashboard")
    def dashboard() -> Response | str:
        user = session_user()
        if user is None:
            return redirect("/login", 302)
        orders = [order.public() for order in store.orders_of(user)]
        return render_template("dashboard.html", orders=orders, notes=store.notes_of(user))

    @app.post("/notes")
    def create_note() -> Response:
        check_csrf()
        user = session_user()
        if user is None:
            return redirect("/login", 302)
        text = request.form.get("text", "").strip()
        if not text:
            abort(400, "A note needs some text.")
        return redirect(f"/notes/{store.add_note(user, text).id}", 303)

    @app.get("/notes/<note_id>")
    def note(note_id: str) -> Response | str:
        user = session_user()
        if user is None:
            return redirect("/login", 302)
        with store.lock:
            found = store.notes.get(note_id)
        if found is None or found.owner is not user:
            abort(404)
        return render_template("note.html", note=found)

    @app.post("/logout")
    def logout() -> Response:
        check_csrf()
        store.close_session(g.sid)
        response = redirect("/", 302)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/shop")
    def shop() -> str:
        return render_template("shop.html", products=PRODUCTS)

    # JSON API: bearer token.

    @app.post("/api/login")
    def api_login() -> Response:
        body = _json_body()
        email = str(body.get("email", "")).strip().lower()
        user = store.authenticate(email, str(body.get("password", "")))
        if user is None:
            _fail(401, "invalid email or password")
        return jsonify(token=store.issue_token(user), user={"id": user.id, "email": user.email})

    @app.get("/api/me")
    def api_me() -> Response:
        user = api_user()
        return jsonify(id=user.id, name=user.name, email=user.email)

    @app.get("/api/orders")
    def api_orders() -> Response:
        return jsonify([order.public() for order in store.orders_of(api_user())])

    @app.post("/api/orders")
    def api_create_order() -> tuple[Response, int, dict[str, str]]:
        user = api_user()
        body = _json_body()
        product = PRODUCTS_BY_SLUG.get(str(body.get("product")))
        if product is None:
            _fail(400, "unknown product")
        order = store.add_order(user, product, _quantity(body))
        return jsonify(order.public()), 201, {"Location": f"/api/orders/{order.id}"}

    @app.get("/api/orders/<order_id>")
    def api_order(order_id: str) -> Response:
        return jsonify(owned_order(order_id, api_user()).public())

    @app.patch("/api/orders/<order_id>")
    def api_update_order(order_id: str) -> Response:
        order = owned_order(order_id, api_user())
        quantity = _quantity(_json_body())
        with store.lock:
            order.quantity, order.updated_at = quantity, _now()
        return jsonify(order.public())

    # Introspection for tests and benchmarks.

    @app.get("/_demo/stats")
    def stats() -> Response:
        with store.lock:
            return jsonify(
                users=len(store.users),
                duplicate_signups=store.duplicate_signups,
                emails=list(store.users),
                orders=len(store.orders),
                notes=len(store.notes),
                notes_by_email={
                    email: len(user.note_ids)
                    for email, user in store.users.items()
                    if user.note_ids
                },
                requests=store.requests,
            )

    return app


class NoDelayWSGIServer(WSGIServer):
    """pywsgi writes a response's headers and body in separate sends; with Nagle's algorithm
    on, a keep-alive client then waits out its delayed ACK (40 ms) on every response."""

    def handle(self, sock, address):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


def serve(host: str, port: int) -> None:
    """Serve a fresh demo app with gevent until killed; port 0 picks a free port.

    The one line printed on stdout ("demo app on http://HOST:PORT") is how a parent process
    learns the address. Handlers never block while holding the store's lock, so this works
    with or without gevent's monkey-patching.
    """
    server = NoDelayWSGIServer((host, port), create_app(), log=None)
    server.start()
    print(f"demo app on http://{host}:{server.address[1]}", flush=True)
    server.serve_forever()
