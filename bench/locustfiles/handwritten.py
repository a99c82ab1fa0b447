"""(d) The benchmark session written by hand the way a Locust user would write it.

Same requests on the wire as the recorded session (bench/session_har.py): the same headers,
one token extraction, one Faker value, a status check on every request, and a new visitor
(empty cookie jar, new note) on every pass.
"""

from faker import Faker
from locust import FastHttpUser, SequentialTaskSet, task

fake = Faker("en_US")

HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Accept": "application/json",
    "Accept-Language": "en-US,en;q=0.9",
}


class Visit(SequentialTaskSet):
    def on_start(self):
        self.client.cookiejar.clear()
        self.note = fake.sentence()
        self.auth = {}

    def expect(self, response, status):
        if response.status_code != status:
            response.failure(f"status {response.status_code}, expected {status}")
            self.interrupt()

    @task
    def products(self):
        with self.client.get("/api/products", catch_response=True) as r:
            self.expect(r, 200)

    @task
    def open_session(self):
        with self.client.post("/api/session", catch_response=True) as r:
            self.expect(r, 200)
            token = r.json().get("token")
            if not token:
                r.failure("no token")
                self.interrupt()
        self.auth = {"Authorization": f"Bearer {token}"}

    @task
    def me(self):
        with self.client.get("/api/me", headers=self.auth, catch_response=True) as r:
            self.expect(r, 200)

    @task
    def order(self):
        order = {"product": "pour-over-kettle", "quantity": 2, "note": self.note}
        with self.client.post(
            "/api/orders", headers=self.auth, json=order, catch_response=True
        ) as r:
            self.expect(r, 201)

    @task
    def orders(self):
        with self.client.get("/api/orders", headers=self.auth, catch_response=True) as r:
            self.expect(r, 200)
        self.interrupt()


class HandWritten(FastHttpUser):
    default_headers = HEADERS
    tasks = [Visit]
