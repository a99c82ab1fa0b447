"""What every Locust worker imports: the session base class, users, data, settings, shapes.

Generated recordings say `from replay.runtime import RecordedSession, task, ...`. Those names
load `replay.runtime.session` (and with it Locust) on first use, so `replay.runtime.settings`
stays importable by the CLI without starting gevent.
"""

from __future__ import annotations

import importlib
from typing import Any

_SESSION_NAMES = frozenset(
    "RecordedSession task json_path header cookie regex location urlencoded json_escaped".split()
)


def __getattr__(name: str) -> Any:
    if name in _SESSION_NAMES:
        return getattr(importlib.import_module("replay.runtime.session"), name)
    if name == "single_pass":
        return importlib.import_module("replay.runtime.users").single_pass
    raise AttributeError(f"module 'replay.runtime' has no attribute {name!r}")
