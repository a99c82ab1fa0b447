"""Record the demo shop and the tickets app with real Chromium into tests/data/*.har.

The HAR files are test inputs; this script makes them reproducible. Each flow clicks and types
like a person and pauses 0.3-1.5 s between steps, so the recordings carry think times. Chromium
stays on loopback (the flags of /work/shared/CHROMIUM.md); Playwright writes the HAR, with bodies
embedded, when the browser context closes.

    python scripts/record_demo.py                # record every flow, then check the files
    python scripts/record_demo.py demo-shop      # record some flows
    python scripts/record_demo.py --check        # only list and check the existing files
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, sync_playwright

from recorder.browser import chromium_args, chromium_path
from replay.demo.launch import running

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT / "tests" / "data"
DEMO = ["-m", "replay.demo", "--port", "0"]
TICKETS = ["tests/apps/tickets.py", "--port", "0"]
BODY_METHODS = {"POST", "PUT", "PATCH"}

_pauses = random.Random(2026)


def pause(page: Page) -> None:
    """A person's think time between two steps."""
    page.wait_for_timeout(_pauses.uniform(300, 1500))


def type_into(page: Page, selector: str, text: str) -> None:
    page.locator(selector).press_sequentially(text, delay=40)


def follow(page: Page, link: str, url: str) -> None:
    """Click a link (exact text) and wait until the new page and its fetches are done."""
    page.get_by_role("link", name=link, exact=True).first.click()
    settle(page, url)


def submit(page: Page, button: str, url: str) -> None:
    """Submit a form by its button and wait for the page the server redirects to."""
    page.get_by_role("button", name=button, exact=True).click()
    settle(page, url)


def settle(page: Page, url: str) -> None:
    page.wait_for_url(f"**{url}")
    page.wait_for_load_state("networkidle")


def click_until(page: Page, button: str, method: str, path: str) -> None:
    """Click a button whose script ends with `method path...`; wait for that response."""

    def last(response) -> bool:
        return response.request.method == method and urlsplit(response.url).path.startswith(path)

    with page.expect_response(last) as answer:
        page.get_by_role("button", name=button, exact=True).click()
    if not answer.value.ok:
        raise RuntimeError(f"{method} {answer.value.url} answered {answer.value.status}")


def browse(page: Page, base: str) -> None:
    """Public pages only: home, the product list, two products, back to the list."""
    page.goto(base + "/")
    page.wait_for_load_state("networkidle")
    pause(page)
    follow(page, "Products", "/products")
    pause(page)
    follow(page, "Burr Grinder", "/products/burr-grinder")
    pause(page)
    follow(page, "← All products", "/products")
    pause(page)
    follow(page, "Travel Mug", "/products/travel-mug")
    pause(page)
    follow(page, "← All products", "/products")


def shop(page: Page, base: str) -> None:
    """Sign up, then order through the bearer-token API from /shop, write a note, log out."""
    email, password = "alice.recorded@example.com", "S3cret-pass!"
    page.goto(base + "/")
    page.wait_for_load_state("networkidle")
    pause(page)
    follow(page, "Sign up", "/signup")
    type_into(page, "#signup-form [name=name]", "Alice Example")
    type_into(page, "#signup-form [name=email]", email)
    type_into(page, "#signup-form [name=password]", password)
    pause(page)
    submit(page, "Create account", "/dashboard")
    pause(page)
    follow(page, "Quick order", "/shop")
    type_into(page, "#api-login [name=email]", email)
    type_into(page, "#api-login [name=password]", password)
    click_until(page, "Sign in", "GET", "/api/orders")
    pause(page)
    page.select_option("#new-order [name=product]", "pour-over-kettle")
    page.fill("#new-order [name=quantity]", "2")
    click_until(page, "Place order", "GET", "/api/orders")
    pause(page)
    click_until(page, "View order", "GET", "/api/orders/")
    pause(page)
    page.fill("#update-order [name=quantity]", "3")
    click_until(page, "Update quantity", "PATCH", "/api/orders/")
    pause(page)
    follow(page, "Dashboard", "/dashboard")
    type_into(page, "#note-form [name=text]", "Descale the kettle before first use.")
    pause(page)
    submit(page, "Save note", "/notes/*")
    pause(page)
    submit(page, "Log out", base + "/")


def login(page: Page, base: str) -> None:
    """The seed account through the HTML login form: dashboard, a note, log out."""
    page.goto(base + "/")
    page.wait_for_load_state("networkidle")
    pause(page)
    follow(page, "Log in", "/login")
    type_into(page, "#login-form [name=email]", "demo@example.com")
    type_into(page, "#login-form [name=password]", "demo-password")
    pause(page)
    submit(page, "Log in", "/dashboard")
    pause(page)
    type_into(page, "#note-form [name=text]", "Call the roaster about Friday's delivery.")
    submit(page, "Save note", "/notes/*")
    pause(page)
    submit(page, "Log out", base + "/")


def tickets(page: Page, base: str) -> None:
    """The tickets app: token auth, a ticket, an update, a comment, then the OAuth redirect."""
    page.goto(base + "/")
    pause(page)
    follow(page, "Open the app", "/app")
    type_into(page, "#login [name=username]", "agent")
    type_into(page, "#login [name=password]", "agent-pass")
    click_until(page, "Sign in", "POST", "/api/auth")
    pause(page)
    type_into(page, "#new-ticket [name=title]", "Printer on the 3rd floor jams")
    type_into(page, "#new-ticket [name=description]", "Paper jams every third page.")
    page.select_option("#new-ticket [name=priority]", "high")
    click_until(page, "Open ticket", "GET", "/api/tickets/")
    pause(page)
    page.select_option("#update [name=status]", "in_progress")
    click_until(page, "Save status", "PUT", "/api/tickets/")
    pause(page)
    type_into(page, "#comment [name=body]", "Replaced the pickup roller.")
    click_until(page, "Add comment", "GET", "/api/tickets/")
    pause(page)
    follow(page, "Connect the web client", "/oauth/callback?*")
    page.get_by_role("heading", name="Connected").wait_for()


RECORDINGS: dict[str, tuple[list[str], Callable[[Page, str], None]]] = {
    "demo-browse": (DEMO, browse),
    "demo-shop": (DEMO, shop),
    "demo-login": (DEMO, login),
    "tickets": (TICKETS, tickets),
}


def record(name: str) -> Path:
    """Run one flow against a fresh app in a fresh browser profile; return the HAR path."""
    server, flow = RECORDINGS[name]
    path = DATA / f"{name}.har"
    with running(server) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=chromium_args(base)
        )
        context = browser.new_context(record_har_path=path, record_har_content="embed")
        flow(context.new_page(), base)
        context.close()
        browser.close()
    return path


def check(path: Path) -> list[str]:
    """List a HAR's entries; return its problems (other hosts, request bodies left out)."""
    entries = json.loads(path.read_text())["log"]["entries"]
    print(f"{path.name}: {len(entries)} entries, {path.stat().st_size / 1024:.0f} KB")
    problems = []
    for entry in entries:
        request, status = entry["request"], entry["response"]["status"]
        print(f"  {request['method']:<6} {status:>3} {request['url']}")
        if urlsplit(request["url"]).hostname != "127.0.0.1":
            problems.append(f"{path.name}: request to another host: {request['url']}")
        if request["method"] in BODY_METHODS and not request.get("postData", {}).get("text"):
            what = f"{request['method']} {request['url']}"
            problems.append(f"{path.name}: no body recorded for {what}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(RECORDINGS))
    parser.add_argument("--check", action="store_true", help="only check the existing files")
    args = parser.parse_args()
    names = args.names or list(RECORDINGS)
    if unknown := set(names) - set(RECORDINGS):
        parser.error(f"unknown recording(s): {', '.join(sorted(unknown))}")
    if not args.check:
        DATA.mkdir(parents=True, exist_ok=True)
        for name in names:
            print(f"recording {name}", flush=True)
            record(name)
    problems = [problem for name in names for problem in check(DATA / f"{name}.har")]
    for problem in problems:
        print("PROBLEM:", problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
