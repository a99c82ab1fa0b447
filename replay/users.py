"""Recordings → Locust users: one FastHttpUser class per recorded session.

Imported by `locustfile.py` on the master and on every worker, so it stays as light as
the runtime: Locust and the standard library only.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import logging
import sys
from pathlib import Path

from locust import FastHttpUser, constant
from locust.env import Environment

from replay.runtime import RecordedSession

logger = logging.getLogger("replay")


def load_recordings(folder: str | Path) -> list[type[RecordedSession]]:
    """Every RecordedSession defined in `folder/*.py`, in file order."""
    sessions: list[type[RecordedSession]] = []
    for path in sorted(Path(folder).glob("*.py")):
        if path.name.startswith("_"):
            continue
        module_name = f"recordings.{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        sessions += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, RecordedSession)
            and value.__module__ == module_name
        ]
    return sessions


def user_class(session: type[RecordedSession]) -> type[FastHttpUser]:
    """A FastHttpUser that runs one recording, named after it for the web UI's class picker."""
    return type(
        session.__name__,
        (FastHttpUser,),
        {
            "__module__": __name__,
            "__doc__": session.__doc__,
            "tasks": [session],
            "weight": session.weight,
            "host": session.recorded_host or None,
            "wait_time": constant(0),
            "recording": session,
        },
    )


def add_arguments(parser) -> None:
    """Our options, as Locust options: they show in `locust --help` and in the web UI."""
    group = parser.add_argument_group("locust-replay")
    group.add_argument(
        "--recordings",
        default="*",
        help="Which recordings to run: names or globs, comma-separated (default: all)",
    )
    group.add_argument(
        "--accounts",
        default="",
        metavar="CSV",
        help="CSV of accounts (a header row naming columns such as email,password); "
        "each virtual user takes its own row",
    )
    group.add_argument(
        "--locale",
        default="",
        help="Faker locale for generated data (default: the recording's Accept-Language)",
    )
    group.add_argument(
        "--think-scale",
        type=float,
        default=1.0,
        help="Scale recorded think times: 0 = none, 1 = as recorded, 0.5 = twice as fast",
    )


def select_recordings(environment: Environment) -> None:
    """Keep only the users --recordings names; fails the run when none matches."""
    options = environment.parsed_options
    patterns = [p.strip() for p in getattr(options, "recordings", "*").split(",") if p.strip()]
    selected = [
        cls
        for cls in environment.user_classes
        if any(fnmatch.fnmatch(cls.__name__.lower(), p.lower()) for p in patterns)
    ]
    if not selected:
        names = ", ".join(cls.__name__ for cls in environment.user_classes) or "none"
        raise SystemExit(f"--recordings {options.recordings!r} matches no recording ({names})")
    environment.user_classes[:] = selected
