"""Wagtail, as an editor would: log in, add a page under the home page, save a draft, rename
it and save again, delete it, log out."""

import os
from urllib.parse import urljoin


def run(page):
    tag = os.environ["FIDELITY_TAG"]
    page.fill("#id_username", os.environ["FIDELITY_USERNAME"])
    page.fill("#id_password", os.environ["FIDELITY_PASSWORD"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    page.goto(urljoin(page.url, "/admin/pages/3/add_subpage/"))
    page.wait_for_url("**/admin/pages/add/**")
    page.fill("#id_title", f"Spring opening hours {tag}")
    page.press("#id_title", "Tab")  # the page's script makes the slug from the title on blur
    page.wait_for_function("document.querySelector('#id_slug').value !== ''")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/edit/")
    page.fill("#id_title", f"Summer opening hours {tag}")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_selector("text=Page 'Summer opening hours")
    page.goto(page.url.replace("/edit/", "/delete/"))
    page.get_by_role("button", name="Yes, delete it").click()
    page.wait_for_url("**/admin/pages/3/")
    page.goto(urljoin(page.url, "/admin/"))
    page.get_by_role("button", name=os.environ["FIDELITY_USERNAME"]).click()  # the account menu
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/admin/login/**")
