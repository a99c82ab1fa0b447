"""Recorded from tests/data/demo-browse.har by `replay convert`: 12 of 24 requests kept, dropped 12 static assets.

Edit freely: converting again writes a new file rather than merging into this one.
Run it once with Locust's run_single_user (a debugger works): python FILE --host URL
"""

from locust import run_single_user

from replay.runtime import RecordedSession, single_pass, task

HEADERS = {
    "Accept-Language": "en-US,en;q=0.9",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
}

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"


class DemoBrowse(RecordedSession):
    """The visit recorded on 127.0.0.1:43549 on 2026-11-26: 6 steps, 0 correlated values, 0 parameters."""

    recorded_host = "http://127.0.0.1:43549"
    capture = "tests/data/demo-browse.har"
    weight = 1
    default_headers = HEADERS

    @task
    def view_home(self):
        """Open the Home page"""
        self.get("/", headers={"Accept": ACCEPT})
        self.get(
            "/api/products",
            headers={"Accept": "application/json", "Referer": f"{self.host}/"},
        )
        self.think(1.1)

    @task
    def view_products(self):
        """Open the Products page"""
        self.get("/products", headers={"Accept": ACCEPT, "Referer": f"{self.host}/"})
        self.get(
            "/api/products",
            headers={"Accept": "application/json", "Referer": f"{self.host}/products"},
        )
        self.think(1.5)

    @task
    def view_products_burr_grinder(self):
        """Open the Burr Grinder page"""
        self.get(
            "/products/burr-grinder",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/products"},
        )
        self.get(
            "/api/products/burr-grinder",
            headers={
                "Accept": "application/json",
                "Referer": f"{self.host}/products/burr-grinder",
            },
        )
        self.think(1.5)

    @task
    def view_products_2(self):
        """Open the Products page"""
        self.get(
            "/products",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/products/burr-grinder"},
        )
        self.get(
            "/api/products",
            headers={"Accept": "application/json", "Referer": f"{self.host}/products"},
        )
        self.think(1.9)

    @task
    def view_products_travel_mug(self):
        """Open the Travel Mug page"""
        self.get(
            "/products/travel-mug",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/products"},
        )
        self.get(
            "/api/products/travel-mug",
            headers={
                "Accept": "application/json",
                "Referer": f"{self.host}/products/travel-mug",
            },
        )
        self.think(1.0)

    @task
    def view_products_3(self):
        """Open the Products page"""
        self.get(
            "/products",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/products/travel-mug"},
        )
        self.get(
            "/api/products",
            headers={"Accept": "application/json", "Referer": f"{self.host}/products"},
        )


if __name__ == "__main__":
    run_single_user(single_pass(DemoBrowse))
