"""Wagtail (the CMS's page editor, `wagtail start` as generated): an editor adds a page under
the home page, renames it, deletes it. Covers the create that redirects to /pages/<id>/edit/,
a slug the page's script derives from the typed title, CSRF tokens, a POST logout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fidelity.apps import FLOWS, Flow, State
from fidelity.apps.django_admin import serve
from fidelity.harness import Server, check, pip_venv


class Wagtail:
    name = "wagtail"
    version = "8.0.1"
    flows = (
        Flow(
            name="page",
            script=FLOWS / "wagtail_page.py",
            path="/admin/",
            creates=("POST", r"^/admin/pages/add/"),
            edits=("POST", r"^/admin/pages/[^/]+/edit/$"),
            deletes=("POST", r"^/admin/pages/[^/]+/delete/$"),
        ),
    )

    def install(self) -> None:
        self.venv = pip_venv("wagtail", self.version)

    def start(self, data: Path, accounts: list[dict[str, str]]) -> Server:
        bin_ = self.venv / "bin"
        site = data / "cms"
        site.mkdir()
        check([str(bin_ / "wagtail"), "start", "cms", str(site)], "wagtail start")
        self.database = site / "db.sqlite3"
        settings = site / "cms" / "settings" / "dev.py"
        return serve(str(bin_ / "python"), site, settings, accounts, data)

    def state(self, server: Server, flow: Flow) -> State:
        """Pages under the home page; edited ones have a second revision (the rename)."""
        with sqlite3.connect(self.database) as db:
            rows = db.execute(
                "SELECT p.id, (SELECT count(*) FROM wagtailcore_revision r"
                " WHERE r.object_id = CAST(p.id AS TEXT) AND r.content_type_id = p.content_type_id)"
                " FROM wagtailcore_page p WHERE p.depth = 3"
            ).fetchall()
        return State(
            objects=frozenset(str(id_) for id_, _ in rows),
            edited=frozenset(str(id_) for id_, revisions in rows if revisions > 1),
        )


APP = Wagtail()
