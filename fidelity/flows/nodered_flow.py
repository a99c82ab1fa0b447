"""Node-RED, as an editor user would: sign in through the editor's login dialog (a bearer token
from /auth/token), add a flow tab, rename it and describe it, delete it (the editor's own Admin
API calls, with its token), log out from the user menu (/auth/revoke)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fetch import fetch  # noqa: E402

TOKEN = """() => {
    const key = Object.keys(localStorage).find((key) => key.startsWith("auth-tokens"));
    return JSON.parse(localStorage.getItem(key)).access_token;
}"""


def run(page):
    tag = os.environ["FIDELITY_TAG"]
    page.fill("#node-dialog-login-username", os.environ["FIDELITY_USERNAME"])
    page.fill("#node-dialog-login-password", os.environ["FIDELITY_PASSWORD"])
    page.click("#node-dialog-login-submit")
    page.wait_for_selector("#red-ui-header-button-deploy")
    page.wait_for_load_state("networkidle")
    auth = {"Authorization": f"Bearer {page.evaluate(TOKEN)}"}
    flow = {"label": f"Greenhouse {tag}", "nodes": []}
    flow_id = fetch(page, "POST", "flow", flow, auth)["json"]["id"]
    fetch(page, "GET", f"flow/{flow_id}", headers=auth)
    renamed = {"id": flow_id, "label": f"Greenhouse sensors {tag}", "info": "checked", "nodes": []}
    fetch(page, "PUT", f"flow/{flow_id}", renamed, auth)
    fetch(page, "DELETE", f"flow/{flow_id}", headers=auth, expect=204)
    page.click("#red-ui-header-button-user")
    page.click("#usermenu-item-logout")
    page.wait_for_selector("#node-dialog-login-username")
