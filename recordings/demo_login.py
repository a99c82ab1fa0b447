"""Recorded from tests/data/demo-login.har by `replay convert`: 10 of 20 requests kept, dropped 10 static assets.

Edit freely: converting again writes a new file rather than merging into this one.
Run it once with Locust's run_single_user (a debugger works): python FILE --host URL
"""

from locust import run_single_user

from replay.runtime import RecordedSession, location, regex, single_pass, task

HEADERS = {
    "Accept-Language": "en-US,en;q=0.9",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
}

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"


class DemoLogin(RecordedSession):
    """The visit recorded on 127.0.0.1:35961 on 2026-11-26: 5 steps, 3 correlated values, 3 parameters."""

    recorded_host = "http://127.0.0.1:35961"
    capture = "tests/data/demo-login.har"
    weight = 1
    default_headers = HEADERS
    credentials = ("email", "password")

    def on_start(self):
        # from --accounts or $REPLAY_EMAIL
        self.email = self.credential("email")
        # from --accounts or $REPLAY_PASSWORD
        self.password = self.credential("password")
        # recorded: Call the roaster about Friday's delivery.
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
    def view_login(self):
        """Open the Log in page"""
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
        """Sign in"""
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
    run_single_user(single_pass(DemoLogin))
