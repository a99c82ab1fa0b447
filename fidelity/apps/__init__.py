"""The applications of the suite, each in its own module, none of them written by us.

An app says how to install it (pinned), how to start it on 127.0.0.1 with its own data folder
and seeded accounts, which flows a user runs on it, and what its state is after a load run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fidelity.harness import Server

FLOWS = Path(__file__).resolve().parent.parent / "flows"


@dataclass(frozen=True)
class Flow:
    """A user's visit that creates, edits and deletes one object.

    `creates`, `edits` and `deletes` are (method, pattern of the Locust statistics name) of the
    request that does it: the app-state check compares what they did with what is left.
    """

    name: str
    script: Path
    path: str
    creates: tuple[str, str]
    edits: tuple[str, str]
    deletes: tuple[str, str]


@dataclass(frozen=True)
class State:
    """The objects a flow makes that exist now (by id), and which of them carry the edit."""

    objects: frozenset[str]
    edited: frozenset[str]


class App(Protocol):
    name: str
    version: str
    flows: tuple[Flow, ...]

    def install(self) -> None: ...

    def start(self, data: Path, accounts: list[dict[str, str]]) -> Server: ...

    def state(self, server: Server, flow: Flow) -> State: ...


def apps() -> dict[str, App]:
    from fidelity.apps import django_admin, flask_appbuilder, kinto, node_red, wagtail

    every = (django_admin, wagtail, flask_appbuilder, kinto, node_red)
    return {module.APP.name: module.APP for module in every}
