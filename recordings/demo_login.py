"""tests/data/demo-login.har, recorded 2026-11-26.

Converted from 20 recorded requests: 10 kept, dropped 10 static asset.
Edit freely; `replay convert` writes a new file rather than merging into this one.
"""

from replay.runtime import RecordedSession, location, regex, task

HEADERS = {
    "Accept-Language": "en-US,en;q=0.9",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
}

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"


class DemoLogin(RecordedSession):
    """127.0.0.1:35961, recorded 2026-11-26: 10 requests kept of 20, 3 correlations, 3 parameters."""

    recorded_host = "http://127.0.0.1:35961"
    capture = "tests/data/demo-login.har"
    weight = 1
    default_headers = HEADERS
    credentials = ("email", "password")

    def on_start(self):
        # recorded: demo@example.com
        self.email = self.credential("email")
        # never stored in the recording
        self.password = self.credential("password")
        # recorded: Call the roaster about Friday's delivery.
        self.text = self.fake.sentence()

    @task
    def view_home(self):
        """GET /"""
        self.get("/", headers={"Accept": ACCEPT})
        self.get(
            "/api/products",
            headers={"Accept": "application/json", "Referer": f"{self.host}/"},
        )
        self.think(1.2)

    @task
    def view_login(self):
        """GET /login"""
        self.get(
            "/login",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/"},
            save={
                # meta csrf-token in HTML of GET /login
                "csrf_token": regex(r'name="csrf-token"\s+content="([\w-]+)'),
            },
        )
        self.think(3.1)

    @task
    def post_login(self):
        """POST /login"""
        self.post(
            "/login",
            headers={
                "Accept": ACCEPT,
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.host,
                "Referer": f"{self.host}/login",
            },
            data={
                "csrf_token": self.csrf_token,
                "email": self.email,
                "password": self.password,
            },
            expect=302,
            location="/dashboard",
        )
        self.get(
            "/dashboard",
            headers={"Accept": ACCEPT, "Referer": f"{self.host}/login"},
            save={
                # meta csrf-token in HTML of GET /dashboard
                "csrf_token": regex(r'name="csrf-token"\s+content="([\w-]+)'),
            },
        )
        self.think(2.9)

    @task
    def post_notes(self):
        """POST /notes"""
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
            location="/notes/901490833",
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
        self.think(1.9)

    @task
    def post_logout(self):
        """POST /logout"""
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
