"""Node-RED (npm, its editor with `adminAuth` credentials in settings.js): a user signs in
through the editor, adds a flow tab, renames it, deletes it, logs out. Covers the bearer token
of an OAuth-style password grant and server-made hex ids in paths and JSON."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

from fidelity.apps import FLOWS, Flow, State
from fidelity.harness import Server, npm_prefix, start
from recorder.proxy import free_port

HASH = "console.log(JSON.stringify(JSON.parse(process.argv[1]).map(\
(row) => require('bcryptjs').hashSync(row.password, 8))))"

SETTINGS = """module.exports = {{
    uiHost: "127.0.0.1",
    flowFile: "flows.json",
    credentialSecret: false,
    adminAuth: {{type: "credentials", users: {users}}},
    diagnostics: {{enabled: false}},
    telemetry: {{enabled: false}},
    editorTheme: {{tours: false, projects: {{enabled: false}}, palette: {{catalogues: []}}}},
    logging: {{console: {{level: "warn"}}}},
}};
"""


class NodeRed:
    name = "node-red"
    version = "4.1.8"
    flows = (
        Flow(
            name="flow_tab",
            script=FLOWS / "nodered_flow.py",
            path="/",
            creates=("POST", r"^/flow$"),
            edits=("PUT", r"^/flow/"),
            deletes=("DELETE", r"^/flow/"),
        ),
    )

    def install(self) -> None:
        self.prefix = npm_prefix("node-red", self.version)

    def start(self, data: Path, accounts: list[dict[str, str]]) -> Server:
        modules = self.prefix / "node_modules"
        hashes = subprocess.run(
            ["node", "-e", HASH, json.dumps(accounts)],
            capture_output=True,
            text=True,
            check=True,
            env={"NODE_PATH": str(modules), "PATH": "/usr/bin:/bin"},
        )
        self.admin = {key: accounts[0][key] for key in ("username", "password")}
        users = [
            {"username": row["username"], "password": hashed, "permissions": "*"}
            for row, hashed in zip(accounts, json.loads(hashes.stdout), strict=True)
        ]
        user_dir = data / "node-red"
        user_dir.mkdir()
        (user_dir / "settings.js").write_text(SETTINGS.format(users=json.dumps(users)))
        port = free_port()
        red = ["node", str(modules / "node-red" / "red.js"), "--userDir", str(user_dir)]
        return start(
            [*red, "--port", str(port)], port=port, ready="/auth/login", log=data / "server.log"
        )

    def state(self, server: Server, flow: Flow) -> State:
        """Every flow tab; edited ones carry the description the edit gives them."""
        form = urllib.parse.urlencode(
            {"client_id": "node-red-admin", "grant_type": "password", "scope": "*", **self.admin}
        )
        with urllib.request.urlopen(server.url + "/auth/token", form.encode(), timeout=10) as r:
            token = json.load(r)["access_token"]
        request = urllib.request.Request(
            server.url + "/flows", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            nodes = json.load(response)
        tabs = [node for node in nodes if node.get("type") == "tab"]
        return State(
            objects=frozenset(tab["id"] for tab in tabs),
            edited=frozenset(tab["id"] for tab in tabs if tab.get("info")),
        )


APP = NodeRed()
