"""A person in Django's admin: sign in, create a group, rename it, delete it, sign out.

Run by `replay record --browser URL/admin/ --script` (Playwright driving Chromium); the
password comes from $DJANGO_ADMIN_PASSWORD, the names are typed as a person would.
"""

import os


def run(page):
    page.fill("#id_username", "admin")
    page.fill("#id_password", os.environ["DJANGO_ADMIN_PASSWORD"])
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    page.click("a[href='/admin/auth/group/add/']")
    page.fill("#id_name", "Night shift editors")
    page.click("input[name=_save]")
    page.click("ul.messagelist a")  # the new group, linked from "was added successfully"
    page.fill("#id_name", "Day shift editors")
    page.click("input[name=_save]")
    page.click("ul.messagelist a")
    page.click("a.deletelink")
    page.click("input[type=submit]")  # "Yes, I'm sure"
    page.wait_for_selector("ul.messagelist")
    page.click("#logout-form button")
    page.wait_for_load_state("networkidle")
