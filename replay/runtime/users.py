"""Recordings → Locust users, and what a run of them does at Locust's events.

Imported by `locustfile.py` on the master and on every worker, so it stays as light as the
runtime: Locust and the standard library only. The locustfile hands Locust's events to:

- `on_init`: on every process, the --env profile fills in options and --recordings picks the
  users; on the master (or a standalone run) the data set-up: settings, weights, accounts,
  credentials and the load shape are checked and logged before anything starts.
- `on_test_start`: each recording's plan, resolved once per run (the web UI may have changed
  the options since init; workers get the master's options with their first spawn).
- `on_test_stop`: a summary per recording, through `logging`. A master logs the sum of its
  workers' reports when it quits, once their final reports are in.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import logging
import os
import sys
import time
from argparse import Namespace
from collections import Counter
from http.cookiejar import CookieJar
from pathlib import Path
from typing import cast

import gevent
from geventhttpclient.client import HTTPClientPool
from locust import FastHttpUser, User
from locust.contrib.fasthttp import insecure_ssl_context_factory
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from replay.runtime.data import Accounts, MissingData
from replay.runtime.loader import RecordingLoader
from replay.runtime.session import RESTART_PAUSE, RecordedSession, UserState, deal_rows_afresh
from replay.runtime.settings import (
    Settings,
    SettingsError,
    add_arguments,
    apply_env,
    check_host,
    host_map,
    load_settings,
    typed_from_web_ui,
)
from replay.runtime.shapes import SHAPES

__all__ = [
    "RecordingUser",
    "add_arguments",
    "load_recordings",
    "recording_users",
    "set_timeouts",
    "single_pass",
    "user_class",
]

logger = logging.getLogger("replay")


def load_recordings(folder: str | Path) -> list[type[RecordedSession]]:
    """Every RecordedSession defined in `folder/*.py`, in file order."""
    return [session for path in sorted(Path(folder).glob("*.py")) for session in load_module(path)]


def load_module(path: Path) -> list[type[RecordedSession]]:
    """The recordings a module defines (imported as `recordings.<name>`), in source order; a
    big one compiles its steps as sessions first run them (`replay.runtime.loader`)."""
    if path.name.startswith("_"):
        return []
    module_name = f"recordings.{path.stem}"
    loader = RecordingLoader(module_name, str(path))
    spec = importlib.util.spec_from_file_location(module_name, path, loader=loader)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, RecordedSession)
        and value.__module__ == module_name
    ]


class SweptCookieJar(CookieJar):
    """The stdlib jar, sweeping out expired cookies once a second rather than on every request
    (`add_cookie_header` walks the whole jar to do it: 6% of a replaying core under py-spy).
    An expired cookie is never sent either way: the policy checks expiry cookie by cookie."""

    _swept = 0.0

    def clear_expired_cookies(self) -> None:
        now = time.monotonic()
        if now - self._swept >= 1.0:
            self._swept = now
            super().clear_expired_cookies()


class RecordingUser(FastHttpUser):
    """A virtual user replaying its recordings (`tasks`), one session after another.

    Each session starts `pacing` seconds after the one before started (at once if that one
    took longer), and at least RESTART_PAUSE after a failed one started. When the user stops
    it runs the recordings' on_stop steps.
    """

    abstract = True
    pacing: float = 0.0
    """Seconds from the start of one session to the start of the next (0: none)."""
    replay: UserState
    """What the user carries from session to session (its number, identity, CSV rows)."""

    def __init__(self, environment) -> None:
        super().__init__(environment)
        self.client.cookiejar = self.client.client.cookiejar = SweptCookieJar()
        self.replay = UserState()
        self._session_due = time.perf_counter()

    def wait_time(self) -> float:
        now, started = time.perf_counter(), self._session_due
        due = max(started + self.pacing, now)
        if self.replay.failed:
            self.replay.failed = False
            due = max(due, started + RESTART_PAUSE)
        self._session_due = due
        return due - now

    def on_stop(self) -> None:
        for session in _sessions(type(self)):
            session.finish(self)


def set_timeouts(user: type[RecordingUser], options) -> None:
    """--network-timeout and --connect-timeout, else what RecordingUser says (Locust's 60 s):
    a hung target costs a user that long before the request counts as failed."""
    for option, attribute in (
        ("network_timeout", "network_timeout"),
        ("connect_timeout", "connection_timeout"),
    ):
        seconds = getattr(options, option, None)
        setattr(user, attribute, seconds or getattr(RecordingUser, attribute))


def recording_users(folder: Path) -> list[type[RecordingUser]]:
    """A user class per recording in `folder`, each under its own name.

    Locust keys users by class name, so of two recordings named alike (two copies of one
    module) it would list one and drop the other without a word: the second is listed under
    its module's name too, and the log says so.
    """
    found: dict[str, type[RecordedSession]] = {}
    for session in load_recordings(folder):
        name = session.__name__
        if name in found:
            module = session.__module__.rsplit(".", 1)[-1]
            first = found[name].__module__.rsplit(".", 1)[-1]
            name = f"{name}_{module}"
            logger.warning(
                "%s: %s is also defined in %s.py; listed as %s (give it its own name with "
                "replay convert --name)",
                folder / f"{module}.py",
                session.__name__,
                first,
                name,
            )
        found[name] = session
    if not found:
        logger.error(
            "no recordings in %s: `replay convert CAPTURE` or `replay record NAME` writes one "
            "there (or point $REPLAY_RECORDINGS_DIR at your recordings folder)",
            folder,
        )
    return [user_class(session, name) for name, session in found.items()]


def user_class(session: type[RecordedSession], name: str = "") -> type[RecordingUser]:
    """A user that runs one recording, named after it for --class-picker and the web UI."""
    return type(
        name or session.__name__,
        (RecordingUser,),
        {
            "__module__": __name__,
            "__doc__": session.__doc__,
            "tasks": [session],
            "weight": session.weight,
            "host": session.recorded_host or None,
            "recording": session,
        },
    )


def single_pass(session: type[RecordedSession]) -> type[RecordingUser]:
    """A user that runs `session` once and stops: what a recording's `__main__` block gives
    Locust's `run_single_user` (`python recordings/NAME.py --host URL`, in a debugger too)."""

    def stop_after_one_session(_user) -> float:
        raise StopUser()

    return type(session.__name__, (user_class(session),), {"wait_time": stop_after_one_session})


def _sessions(user: type[User]) -> list[type[RecordedSession]]:
    return [t for t in user.tasks if isinstance(t, type) and issubclass(t, RecordedSession)]


# Locust events


def on_init(environment: Environment, folder: Path) -> None:
    """Profile, selection, and on the master or a standalone run, the checked set-up."""
    # gevent's loop keeps the time of its last turn, and it has not turned while the
    # locustfile and the recordings were imported: a --run-time timer Locust starts next
    # would count from before the import, and a slow import (a big recording, a busy
    # machine) would end the run at once.
    gevent.get_hub().loop.update_now()
    options = environment.parsed_options
    if options is None:  # Locust driven as a library: nothing of ours to apply
        return
    try:
        settings = load_settings(options.settings, folder)
        host = apply_env(options, settings)
        if host and not environment.host:
            environment.host = options.host = host
        check_host(environment.host)
        select_recordings(environment, options)
        if isinstance(environment.runner, WorkerRunner):
            environment.events.report_to_master.add_listener(_report_to_master(environment))
            names = ", ".join(cls.__name__ for cls in environment.user_classes)
            logger.info("worker: recordings loaded: %s", names)
            return
        _set_up(environment, options, settings)
    except (SettingsError, MissingData) as e:
        logger.error("%s", e)
        raise SystemExit(2) from None
    if isinstance(environment.runner, MasterRunner):
        reports: dict[str, dict] = {}
        environment.events.test_start.add_listener(lambda **_: reports.clear())
        environment.events.worker_report.add_listener(
            lambda client_id, data: reports.__setitem__(client_id, data.get("replay", {}))
        )
        environment.events.quitting.add_listener(
            lambda environment, **_: _log_summary(_merged(reports.values()), options)
        )


def _set_up(environment: Environment, options: Namespace, settings: Settings) -> None:
    """Weights and fixed counts in place, everything a run needs checked, the plan logged."""
    given = {
        (config.get("user_class_name"), key) for config in _config_users(options) for key in config
    }
    described = []
    for user in environment.user_classes:
        chosen = settings.recording(user.__name__)
        for key in ("weight", "fixed_count"):
            value = getattr(chosen, key)
            if value is not None and (user.__name__, key) not in given:
                setattr(user, key, value)
        for session in _sessions(user):
            session.prepare(environment, settings.recording(session.__name__))
        size = f"fixed_count {user.fixed_count}" if user.fixed_count else f"weight {user.weight}"
        described.append(f"{user.__name__} ({size})")
    # Locust annotates the classes it may run as instances of User.
    available = cast("dict[str, type[User]]", environment.available_user_classes or {})
    known = {cls.__name__ for user in available.values() for cls in (user, *_sessions(user))}
    for name in sorted(set(settings.recordings) - known):
        logger.warning("%s: [recording.%s] names no recording here", settings.path, name)
    if options.accounts:
        Accounts(options.accounts)  # readable, with rows: or the run stops here
    missing = sorted(
        {
            f"REPLAY_{name.upper()}"
            for user in environment.user_classes
            for session in _sessions(user)
            for name in session.credentials
            if not options.accounts and f"REPLAY_{name.upper()}" not in os.environ
        }
    )
    if missing:
        logger.warning("no --accounts and %s not set: users will stop", ", ".join(missing))
    if options.load_shape:
        if not options.run_time and options.headless:
            raise SettingsError("--load-shape needs --run-time: the shape spans the run")
        environment.shape_class = SHAPES[options.load_shape]()
        environment.shape_class.runner = environment.runner
    mapped = ", ".join(f"{k} → {v}" for k, v in host_map(options.map_host).items())
    logger.info(
        "recordings %s against %s%s%s",
        ", ".join(described),
        environment.host or "each recording's own host",
        f"; host map: {mapped}" if mapped else "",
        f"; load shape: {options.load_shape}" if options.load_shape else "",
    )


def _config_users(options) -> list[dict]:
    """Locust's own --config-users entries: they win over the settings file."""
    configs = []
    for entry in getattr(options, "config_users", None) or []:
        configs += entry if isinstance(entry, list) else [entry]
    return configs


def on_test_start(environment: Environment, folder: Path) -> None:
    """Resolve each recording's plan for this run; pacing, timeouts and connection pools per
    user; CSV rows dealt afresh."""
    options = environment.parsed_options
    for error in typed_from_web_ui(options):
        logger.error("%s", error)
    settings = load_settings(getattr(options, "settings", None), folder)
    deal_rows_afresh()
    for user in environment.user_classes:
        chosen = settings.recording(user.__name__)
        for session in _sessions(user):
            session.prepare(environment, settings.recording(session.__name__))
        if not issubclass(user, RecordingUser):
            continue
        set_timeouts(user, options)
        pacing, size = (getattr(options, key, None) for key in ("pacing", "connection_pool"))
        user.pacing = (chosen.pacing or 0.0) if pacing is None else pacing
        size = chosen.connection_pool if size is None else size
        user.client_pool = (
            HTTPClientPool(
                concurrency=size,
                network_timeout=user.network_timeout,
                connection_timeout=user.connection_timeout,
                ssl_context_factory=insecure_ssl_context_factory,
                insecure=True,
            )
            if size
            else None
        )


def on_test_stop(environment: Environment) -> None:
    if not isinstance(environment.runner, MasterRunner):
        _log_summary(_local_counts(environment), environment.parsed_options)


def _local_counts(environment: Environment) -> dict[str, list]:
    """{recording: [users, sessions started, completed, {variable: missing}]} in this process."""
    counts = {}
    for user in environment.user_classes:
        for session in _sessions(user):
            plan = session.__dict__.get("_plan")
            if plan is not None and plan.environment is environment:
                c = plan.counts
                counts[session.__name__] = [c.users, c.started, c.completed, dict(c.missing)]
    return counts


def _report_to_master(environment: Environment):
    def report(client_id, data):
        data["replay"] = _local_counts(environment)

    return report


def _merged(reports) -> dict[str, list]:
    merged: dict[str, list] = {}
    for report in reports:
        for name, (users, started, completed, missing) in report.items():
            total = merged.setdefault(name, [0, 0, 0, Counter()])
            total[0] += users
            total[1] += started
            total[2] += completed
            total[3].update(missing)
    return merged


def _log_summary(counts: dict[str, list], options) -> None:
    thinking = getattr(options, "think_scale", None) != 0 and not getattr(
        options, "wait_time", None
    )
    for name, (users, started, completed, missing) in counts.items():
        lost = ", ".join(f"{var} {n}" for var, n in sorted(missing.items()))
        logger.info(
            "summary: %s: %d user%s, %d sessions started, %d completed%s%s",
            name,
            users,
            "" if users == 1 else "s",
            started,
            completed,
            f"; missing extractions: {lost}" if lost else "",
            NONE_COMPLETED if thinking and started and not completed else "",
        )


NONE_COMPLETED = (
    " (a session waits the recorded think times between steps: --think-scale 0 skips them, "
    "or give a longer --run-time)"
)


def select_recordings(environment: Environment, options: Namespace) -> None:
    """Keep only the users --recordings names; fails the run when none matches."""
    patterns = [p.strip() for p in (options.recordings or "*").split(",") if p.strip()]
    selected = [
        cls
        for cls in environment.user_classes
        if any(fnmatch.fnmatch(cls.__name__.lower(), p.lower()) for p in patterns)
    ]
    if not selected:
        names = ", ".join(cls.__name__ for cls in environment.user_classes) or "none"
        raise SettingsError(f"--recordings {options.recordings!r} matches no recording ({names})")
    environment.user_classes[:] = selected
