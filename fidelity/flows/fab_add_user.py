"""Flask-AppBuilder, as an administrator would: log in, add a user with a role, find them in
the list by their user name, edit their last name and deactivate them, delete them, log out."""

import os
from urllib.parse import urljoin


def run(page):
    tag = os.environ["FIDELITY_TAG"]
    page.fill("#username", os.environ["FIDELITY_USERNAME"])
    page.fill("#password", os.environ["FIDELITY_PASSWORD"])
    page.click("input[type=submit]")
    page.wait_for_load_state()
    page.goto(urljoin(page.url, "/users/add"))
    page.fill("#first_name", "Katherine")
    page.fill("#last_name", "Pending")
    page.fill("#username", f"kjohnson{tag}")
    page.fill("#email", f"k.johnson.{tag}@example.org")
    page.select_option("#roles", label="Public")
    page.fill("#password", f"Orbit-{tag}-Apollo")
    page.fill("#conf_password", f"Orbit-{tag}-Apollo")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    # The list shows 25 users a page: the new one is found by its user name, as a person
    # would once other administrators add users at the same time.
    found = urljoin(page.url, f"/users/list/?_flt_3_username=kjohnson{tag}")
    page.goto(found)
    page.click(f"tr:has-text('kjohnson{tag}') a[href*='/users/edit/']")
    page.fill("#last_name", "Johnson")
    page.uncheck("#active")
    page.click("button[type=submit]")
    page.wait_for_url("**/users/list/**")
    page.goto(found)
    page.click(f"tr:has-text('kjohnson{tag}') .confirm")  # the trash icon asks first
    page.click("#modal-confirm-ok")
    page.wait_for_selector("text=Deleted Row")
    page.goto(urljoin(page.url, "/logout/"))
