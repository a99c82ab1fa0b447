"""Django admin, as a staff user would: log in, add a user, fill in their name and e-mail,
delete them, log out. Runs in `replay record --script` (run(page) on the admin's login page)."""

import os


def run(page):
    tag = os.environ["FIDELITY_TAG"]
    page.fill("#id_username", os.environ["FIDELITY_USERNAME"])
    page.fill("#id_password", os.environ["FIDELITY_PASSWORD"])
    page.click("input[type=submit]")
    page.click("a[href='/admin/auth/user/add/']")
    page.fill("#id_username", f"reader{tag}")
    page.fill("#id_password1", f"Quiet-Lantern-{tag}")
    page.fill("#id_password2", f"Quiet-Lantern-{tag}")
    page.click("input[name=_save]")
    page.wait_for_url("**/change/")
    page.fill("#id_first_name", "Grace")
    page.fill("#id_last_name", "Hopper")
    page.fill("#id_email", f"grace.{tag}@example.org")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/auth/user/")
    page.click(f"text=reader{tag}")
    page.click("a.deletelink")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/auth/user/")
    page.click("#logout-form button")
    page.wait_for_url("**/admin/logout/")
