"""Django's admin site (django 5.2 LTS, `django-admin startproject` as generated): a staff user
adds a user, edits it, deletes it. Covers CSRF tokens in hidden inputs, the create that
redirects to /<id>/change/, password1/password2 on a create form, a POST logout."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from fidelity.apps import FLOWS, Flow, State
from fidelity.harness import Server, check, pip_venv, start
from recorder.proxy import free_port

SETTINGS = """
# fidelity/: WAL and immediate transactions so 20 concurrent users do not hit "database is
# locked"; a fast password hasher, as Django's own testing docs advise, so 2 cores can take it.
DATABASES["default"]["OPTIONS"] = {
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL;",
    "timeout": 30,
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
"""

SEED = """
import json, os
from django.contrib.auth.models import User
for row in json.loads(os.environ["FIDELITY_ACCOUNTS"]):
    User.objects.create_superuser(row["username"], "", row["password"])
"""


def serve(
    python: str, site: Path, settings: Path, accounts: list[dict[str, str]], data: Path
) -> Server:
    """Run a generated Django project: our SETTINGS appended, migrated, the accounts seeded as
    superusers, then `runserver` on a free port of 127.0.0.1."""
    with settings.open("a") as f:
        f.write(SETTINGS)
    manage = [python, str(site / "manage.py")]
    check([*manage, "migrate", "-v", "0"], "migrate", cwd=site)
    env = {**os.environ, "FIDELITY_ACCOUNTS": json.dumps(accounts)}
    check([*manage, "shell", "-c", SEED], "seeding accounts", cwd=site, env=env)
    port = free_port()
    command = [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"]
    return start(command, port=port, ready="/admin/login/", log=data / "server.log", cwd=site)


class DjangoAdmin:
    name = "django-admin"
    version = "5.2.19"
    flows = (
        Flow(
            name="add_user",
            script=FLOWS / "django_add_user.py",
            path="/admin/",
            creates=("POST", r"^/admin/auth/user/add/$"),
            edits=("POST", r"^/admin/auth/user/[^/]+/change/$"),
            deletes=("POST", r"^/admin/auth/user/[^/]+/delete/$"),
        ),
    )

    def install(self) -> None:
        self.venv = pip_venv("django", self.version)

    def start(self, data: Path, accounts: list[dict[str, str]]) -> Server:
        python = str(self.venv / "bin" / "python")
        site = data / "adminsite"
        site.mkdir()
        check([python, "-m", "django", "startproject", "adminsite", str(site)], "startproject")
        self.database = site / "db.sqlite3"
        self.seeded = [row["username"] for row in accounts]
        return serve(python, site, site / "adminsite" / "settings.py", accounts, data)

    def state(self, server: Server, flow: Flow) -> State:
        """Users other than the seeded accounts; edited ones carry the e-mail the edit sets."""
        with sqlite3.connect(self.database) as db:
            rows = db.execute("SELECT id, username, email FROM auth_user").fetchall()
        made = [(str(id_), email) for id_, username, email in rows if username not in self.seeded]
        return State(
            objects=frozenset(id_ for id_, _ in made),
            edited=frozenset(id_ for id_, email in made if email),
        )


APP = DjangoAdmin()
