"""tests/data/demo-browse.har, recorded 2026-11-26.

Converted from 24 recorded requests: 12 kept, dropped 12 static asset.
Edit freely; `replay convert` writes a new file rather than merging into this one.
"""

from replay.runtime import RecordedSession, task

HEADERS = {
    "Accept-Language": "en-US,en;q=0.9",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
}

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"


class DemoBrowse(RecordedSession):
    """127.0.0.1:43549, recorded 2026-11-26: 12 requests kept of 24, 0 correlations, 0 parameters."""

    recorded_host = "http://127.0.0.1:43549"
    capture = "tests/data/demo-browse.har"
    weight = 1
    default_headers = HEADERS

    @task
    def view_home(self):
        """GET /"""
        self.get("/", headers={"Accept": ACCEPT})
        self.get(
            "/api/products",
            headers={"Accept": "application/json", "Referer": f"{self.host}/"},
        )
        self.think(1.1)

    @task
    def view_products(self):
        """GET /products"""
        self.get("/products", headers={"Accept": ACCEPT, "Referer": f"{self.host}/"})
        self.get(
            "/api/products",
            headers={"Accept": "application/json", "Referer": f"{self.host}/products"},
        )
        self.think(1.5)

    @task
    def view_products_burr_grinder(self):
        """GET /products/burr-grinder"""
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
        """GET /products"""
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
        """GET /products/travel-mug"""
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
        """GET /products"""
        self.get(
            "/products",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/products/travel-mug"},
        )
        self.get(
            "/api/products",
            headers={"Accept": "application/json", "Referer": f"{self.host}/products"},
        )
