"""Recorded from tests/data/demo-shop.har by `replay convert`: 19 of 33 requests kept, dropped 14 static assets.

Edit freely: converting again writes a new file rather than merging into this one.
Run it once with Locust's run_single_user (a debugger works): python FILE --host URL
"""

from locust import run_single_user

from replay.runtime import RecordedSession, json_path, location, regex, single_pass, task

HEADERS = {
    "Accept-Language": "en-US,en;q=0.9",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
}

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"


class DemoShop(RecordedSession):
    """The visit recorded on 127.0.0.1:41641 on 2026-11-26: 10 steps, 5 correlated values, 4 parameters."""

    recorded_host = "http://127.0.0.1:41641"
    capture = "tests/data/demo-shop.har"
    weight = 1
    default_headers = HEADERS

    def on_start(self):
        # recorded: Alice Example
        self.name = self.fake.name()
        # recorded: alice.recorded@example.com
        self.email = self.unique.email()
        # never stored in the recording
        self.password = self.fake.password(length=14)
        # recorded: Descale the kettle before first use.
        self.text = self.fake.sentence()

    @task
    def view_home(self):
        """Open the Home page"""
        self.get("/", headers={"Accept": ACCEPT})
        self.get(
            "/api/products",
            headers={"Accept": "application/json", "Referer": f"{self.host}/"},
        )
        self.think(1.2)

    @task
    def view_signup(self):
        """Open the Sign up page"""
        self.get(
            "/signup",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/"},
            save={
                # meta csrf-token in HTML of GET /signup
                "csrf_token": regex(r'name="csrf-token"\s+content="([\w-]+)'),
            },
        )
        self.think(4.1)

    @task
    def post_signup(self):
        """Sign up"""
        self.post(
            "/signup",
            headers={
                "Accept": ACCEPT,
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.host,
                "Referer": f"{self.host}/signup",
            },
            data={
                "csrf_token": self.csrf_token,
                "name": self.name,
                "email": self.email,
                "password": self.password,
            },
            expect=302,
            location="/dashboard",
        )
        self.get(
            "/dashboard",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/signup"},
        )
        self.think(1.6)

    @task
    def view_shop(self):
        """Open the Quick order page"""
        self.get(
            "/shop",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/dashboard"},
        )
        self.think(2.5)

    @task
    def post_api_login(self):
        """Sign in"""
        self.post(
            "/api/login",
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "Origin": self.host,
                "Referer": f"{self.host}/shop",
            },
            json={"email": self.email, "password": self.password},
            save={
                # JSON token of POST /api/login
                "login_token": json_path("token"),
            },
        )
        self.get(
            "/api/me",
            headers={
                "Accept": "application/json",
                "Authorization": f"Bearer {self.login_token}",
                "Referer": f"{self.host}/shop",
            },
        )
        self.get(
            "/api/orders",
            headers={
                "Accept": "application/json",
                "Authorization": f"Bearer {self.login_token}",
                "Referer": f"{self.host}/shop",
            },
        )
        self.think(1.4)

    @task
    def post_api_orders(self):
        """Create an order"""
        self.post(
            "/api/orders",
            headers={
                "Accept": "application/json",
                "Authorization": f"Bearer {self.login_token}",
                "Content-Type": "application/json",
                "Origin": self.host,
                "Referer": f"{self.host}/shop",
            },
            json={"product": "pour-over-kettle", "quantity": 2},
            expect=201,
            save={
                # JSON id of POST /api/orders
                "order_id": json_path("id"),
            },
        )
        self.get(
            "/api/orders",
            headers={
                "Accept": "application/json",
                "Authorization": f"Bearer {self.login_token}",
                "Referer": f"{self.host}/shop",
            },
        )
        self.get(
            f"/api/orders/{self.order_id}",
            name="/api/orders/[order_id]",
            headers={
                "Accept": "application/json",
                "Authorization": f"Bearer {self.login_token}",
                "Referer": f"{self.host}/shop",
            },
        )
        self.think(1.3)

    @task
    def update_api_orders(self):
        """Update the order"""
        self.patch(
            f"/api/orders/{self.order_id}",
            name="/api/orders/[order_id]",
            headers={
                "Accept": "application/json",
                "Authorization": f"Bearer {self.login_token}",
                "Content-Type": "application/json",
                "Origin": self.host,
                "Referer": f"{self.host}/shop",
            },
            json={"quantity": 3},
        )
        self.think(1.3)

    @task
    def view_dashboard(self):
        """Open the Dashboard page"""
        self.get(
            "/dashboard",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/shop"},
            save={
                # meta csrf-token in HTML of GET /dashboard
                "csrf_token": regex(r'name="csrf-token"\s+content="([\w-]+)'),
            },
        )
        self.think(3.5)

    @task
    def post_notes(self):
        """Submit the notes form"""
        self.post(
            "/notes",
            headers={
                "Accept": ACCEPT,
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.host,
                "Referer": f"{self.host}/dashboard",
            },
            data={"csrf_token": self.csrf_token, "text": self.text},
            expect=303,
            location="/notes/529276073",
            save={
                # Location of POST /notes
                "note_id": location(r"notes/(\d+)"),
            },
        )
        self.get(
            f"/notes/{self.note_id}",
            name="/notes/[note_id]",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/dashboard"},
        )
        self.think(1.6)

    @task
    def post_logout(self):
        """Sign out"""
        self.post(
            "/logout",
            headers={
                "Accept": ACCEPT,
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.host,
                "Referer": f"{self.host}/notes/{self.note_id}",
            },
            data={"csrf_token": self.csrf_token},
            expect=302,
            location="/",
        )
        self.get(
            "/",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/notes/{self.note_id}"},
        )
        self.get(
            "/api/products",
            headers={"Accept": "application/json", "Referer": f"{self.host}/"},
        )


if __name__ == "__main__":
    run_single_user(single_pass(DemoShop))
