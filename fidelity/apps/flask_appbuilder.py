"""Flask-AppBuilder (its built-in user management views; the app is the minimal bootstrap of
FAB's documentation, no view of ours): an admin adds a user, edits them, deletes them. Covers
Flask-WTF CSRF tokens, a multi-select of roles, password and confirmation on a create form."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from fidelity.apps import FLOWS, Flow, State
from fidelity.harness import Server, check, pip_venv, start
from recorder.proxy import free_port

APP_PY = """\
from flask import Flask
from flask_appbuilder import AppBuilder
from flask_appbuilder.utils.legacy import get_sqla_class

app = Flask(__name__)
app.config.update(
    SECRET_KEY=%(secret)r,
    SQLALCHEMY_DATABASE_URI="sqlite:///" + %(database)r,
    SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 30}},
    CSRF_ENABLED=True,
)
db = get_sqla_class()(app)
with app.app_context():
    appbuilder = AppBuilder(app, db.session)
"""

SEED = """
import json, os
from app import app
sm = app.appbuilder.sm
with app.app_context():
    admin = sm.find_role(sm.auth_role_admin)
    for row in json.loads(os.environ["FIDELITY_ACCOUNTS"]):
        name = row["username"]
        sm.add_user(name, "Load", "Tester", f"{name}@example.com", admin, row["password"])
"""


class FlaskAppBuilder:
    name = "flask-appbuilder"
    version = "5.3.0"
    flows = (
        Flow(
            name="add_user",
            script=FLOWS / "fab_add_user.py",
            path="/login/",
            creates=("POST", r"^/users/add$"),
            edits=("POST", r"^/users/edit/"),
            deletes=("POST", r"^/users/delete/"),
        ),
    )

    def install(self) -> None:
        self.venv = pip_venv("flask-appbuilder", self.version)

    def start(self, data: Path, accounts: list[dict[str, str]]) -> Server:
        python = str(self.venv / "bin" / "python")
        self.database = data / "app.db"
        self.seeded = [row["username"] for row in accounts]
        secret = os.urandom(16).hex()
        (data / "app.py").write_text(APP_PY % {"secret": secret, "database": str(self.database)})
        env = {**os.environ, "FIDELITY_ACCOUNTS": json.dumps(accounts)}
        check([python, "-c", SEED], "seeding accounts", cwd=data, env=env)
        port = free_port()
        command = [python, "-m", "flask", "--app", "app", "run", "--port", str(port)]
        return start(command, port=port, ready="/login/", log=data / "server.log", cwd=data)

    def state(self, server: Server, flow: Flow) -> State:
        """Users other than the seeded accounts; edited ones are inactive (the edit unticks it)."""
        with sqlite3.connect(self.database) as db:
            rows = db.execute("SELECT id, username, active FROM ab_user").fetchall()
        made = [(str(id_), active) for id_, username, active in rows if username not in self.seeded]
        return State(
            objects=frozenset(id_ for id_, _ in made),
            edited=frozenset(id_ for id_, active in made if not active),
        )


APP = FlaskAppBuilder()
