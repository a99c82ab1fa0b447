"""Run-time choices: our Locust options, and `replay.toml` beside the recordings.

Only the standard library: `replay verify` shares these without loading Locust, and workers
read them without loading the converter. The command line wins over the `[env.NAME]` profile
it selects, which wins over a recording's own `[recording.NAME]` table.
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit

SETTINGS_FILE = "replay.toml"
RECORDINGS_DIR = "recordings"
WAIT_TIME = re.compile(
    r"\s*(constant|between|constant_pacing|constant_throughput)\s*\(\s*([0-9.]+)\s*"
    r"(?:,\s*([0-9.]+)\s*)?\)\s*"
)
SHAPE_NAMES = ("ramp", "step", "spike")
"""What --load-shape offers: the shapes of replay.runtime.shapes (which needs Locust)."""


class SettingsError(Exception):
    """A settings file or option that cannot be applied; one line for the user."""


def recordings_folder(given: str | Path | None = None) -> Path:
    """Where recordings live: `given` (--recordings-dir), else $REPLAY_RECORDINGS_DIR, else
    ./recordings of the working directory: a project folder, wherever the tool is installed."""
    return Path(given or os.environ.get("REPLAY_RECORDINGS_DIR") or RECORDINGS_DIR)


def check_host(host: str | None) -> None:
    """A target is a URL: `127.0.0.1:8000` alone would fail every request on name lookup."""
    if host and not re.match(r"https?://[^/]", host):
        hint = f": use http://{host} (or https://)" if "://" not in host else ""
        raise SettingsError(f"--host {host!r} is not an http:// or https:// URL{hint}")
    if host:
        url_parts(host, "--host")


def url_parts(text: str, option: str) -> SplitResult:
    """`urlsplit` of an option's URL or host[:port], its ValueError (an unclosed `[`, a port
    out of range) said as a settings error rather than raised from deep in a run."""
    try:
        parts = urlsplit(text if "://" in text else f"//{text}")
        parts.port  # noqa: B018 (parsed only when asked)
    except ValueError as e:
        raise SettingsError(f"{option} {text!r} is not a URL or host ({e})") from None
    return parts


Number = TypeVar("Number", int, float)


def _number(kind: Callable[[str], Number], accept: Callable[[Number], bool], says: str):
    """An argparse type: `kind` of the text, if `accept` takes it (never NaN or infinity)."""

    def parse(text: str) -> Number:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not accept(value) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} is not {says}")
        return value

    return parse


seconds = _number(float, lambda v: v > 0, "a positive number of seconds")
positive = _number(float, lambda v: v > 0, "a positive number")
non_negative = _number(float, lambda v: v >= 0, "zero or a positive number")
"""A scale, a pacing: 0 is none."""
count = _number(int, lambda v: v >= 0, "a whole number, 0 or more")
"""A connection pool: 0 is one per user."""


def add_replay_arguments(group) -> None:
    """What replaying one recording needs: shared by `locust` and `replay verify`."""
    group.add_argument(
        "--map-host",
        action="append",
        default=None,
        metavar="FROM=TO",
        help="Send requests recorded against host FROM to TO (host[:port] or URL); repeatable. "
        "A recorded host that is neither the target nor mapped is never contacted",
    )
    group.add_argument(
        "--accounts",
        default=None,
        metavar="CSV",
        help="CSV of accounts (a header row naming columns such as email,password); "
        "each virtual user takes its own row",
    )
    group.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="Folder the recordings' data files (rules `file = ...`) are read from "
        "(default: the recordings folder)",
    )
    group.add_argument(
        "--locale",
        default=None,
        help="Faker locale for generated data (default: the recording's Accept-Language)",
    )
    group.add_argument(
        "--network-timeout",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="Count a request failed when its response is this late (default: Locust's 60)",
    )
    group.add_argument(
        "--connect-timeout",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="Count a request failed when connecting takes this long (default: Locust's 60)",
    )
    group.add_argument(
        "--env",
        default=None,
        metavar="NAME",
        help="Use the [env.NAME] profile of the settings file (host, host map, accounts, ...)",
    )
    group.add_argument(
        "--settings",
        default=None,
        metavar="TOML",
        help=f"Run-time settings file (default: {SETTINGS_FILE} in the recordings folder)",
    )


WEB_UI = frozenset(
    "map_host accounts data_dir locale network_timeout connect_timeout think_scale wait_time "
    "pacing connection_pool".split()
)
"""The options a test reads when it starts, so the web UI's form can change them between runs
(--recordings, --env, --settings and --load-shape take effect once, when Locust starts)."""
_WEB_UI_TYPES: dict[str, Any] = {}


def add_arguments(parser) -> None:
    """Our options, as Locust options: the web UI shows them, and `replay run --help`.

    Locust prints `--help` before it imports a locustfile, so `replay run` adds them ahead of
    it too; the locustfile's own call then finds them there already.
    """
    if "--recordings" in parser._option_string_actions:
        return
    group = parser.add_argument_group("locust-replay")
    group.add_argument(
        "--recordings",
        default="*",
        help="Which recordings to run: names or globs, comma-separated (default: all)",
    )
    add_replay_arguments(group)
    group.add_argument(
        "--think-scale",
        type=non_negative,
        default=None,
        help="Scale recorded think times: 0 = none, 1 = as recorded (default), 0.5 = twice as fast",
    )
    group.add_argument(
        "--wait-time",
        default=None,
        metavar="EXPR",
        help="Wait between steps instead of the recorded think time, as in a locustfile: "
        "constant(2), between(1, 5), constant_pacing(10)",
    )
    group.add_argument(
        "--pacing",
        type=non_negative,
        default=None,
        metavar="SECONDS",
        help="Start each user's sessions this many seconds apart (while a session is shorter), "
        "so sessions arrive at users / SECONDS per second",
    )
    group.add_argument(
        "--load-shape",
        choices=SHAPE_NAMES,
        default=None,
        help="Drive the user count over --run-time: ramp (1 up to --users), step "
        "(--shape-steps equal steps), spike (a fifth of --users, all of them mid-run)",
    )
    group.add_argument(
        "--shape-steps", type=int, default=4, help="Steps of --load-shape step (default 4)"
    )
    group.add_argument(
        "--connection-pool",
        type=count,
        default=None,
        metavar="N",
        help="Share one pool of at most N connections per host among all users of a recording "
        "(for targets behind a gateway that limits connections; default: one pool per user)",
    )
    add_model_arguments(group)
    for action in group._group_actions:
        # Locust's parser marks what it adds itself; an argument group's actions need it here.
        action.include_in_web_ui = action.dest in WEB_UI
        action.is_secret = action.is_required = action.is_multiple = False
        if action.dest in WEB_UI:
            _WEB_UI_TYPES[action.dest] = action.type


def typed_from_web_ui(options) -> list[str]:
    """The web UI hands an option whose default is None back as the text typed in its form
    ("" when left empty): read it as the command line would have. What cannot be read is
    left unset, and said."""
    errors = []
    for dest, convert in _WEB_UI_TYPES.items():
        value = getattr(options, dest, None)
        if not isinstance(value, str):
            continue
        try:
            typed = convert(value) if convert and value.strip() else value.strip() or None
        except (ValueError, argparse.ArgumentTypeError) as e:
            errors.append(f"--{dest.replace('_', '-')} {value!r} ignored: {e}")
            typed = None
        setattr(options, dest, typed)
    return errors


# --- the traffic model (`replay model`, replay.runtime.model_shape) ----------------------------


def add_model_arguments(group) -> None:
    group.add_argument(
        "--model",
        default=None,
        metavar="TOML",
        help="Replay the traffic model `replay model` wrote (recordings/model.toml): sessions "
        "start on its arrival curve, of types drawn by its shares (an open model; -u caps users)",
    )
    group.add_argument(
        "--rate-multiplier",
        type=positive,
        default=1.0,
        metavar="N",
        help="With --model: sessions arrive at N times the recorded rate (default 1)",
    )
    group.add_argument(
        "--time-scale",
        type=positive,
        default=1.0,
        metavar="X",
        help="With --model: play the arrival curve X times faster (24 = a day in an hour)",
    )


@dataclass(frozen=True, slots=True)
class RecordingSettings:
    """A recording's `[recording.NAME]` table; None means "not set here"."""

    weight: float | None = None
    fixed_count: int | None = None
    think_scale: float | None = None
    wait_time: str | None = None
    pacing: float | None = None
    connection_pool: int | None = None
    on_start: tuple[str, ...] = ()
    """Steps run once per virtual user, before the rest of the recording starts repeating."""
    on_stop: tuple[str, ...] | None = None
    """Steps run when the user stops; None: the logout-type steps when on_start is set."""


@dataclass(frozen=True, slots=True)
class Settings:
    path: Path | None = None
    recordings: dict[str, RecordingSettings] = field(default_factory=dict)
    envs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def recording(self, name: str) -> RecordingSettings:
        return self.recordings.get(name, NO_SETTINGS)


NO_SETTINGS = RecordingSettings()
RECORDING_KEYS: dict[str, type | tuple[type, ...]] = {
    "weight": (int, float),
    "fixed_count": int,
    "think_scale": (int, float),
    "wait_time": str,
    "pacing": (int, float),
    "connection_pool": int,
    "on_start": list,
    "on_stop": list,
}
ENV_KEYS: dict[str, type | tuple[type, ...]] = {
    "host": str,
    "map_host": list,
    "accounts": str,
    "data_dir": str,
    "locale": str,
    "think_scale": (int, float),
    "wait_time": str,
    "pacing": (int, float),
    "connection_pool": int,
    "network_timeout": (int, float),
    "connect_timeout": (int, float),
    "recordings": str,
}
NUMBERS = {
    "think_scale": non_negative,
    "pacing": non_negative,
    "connection_pool": count,
    "network_timeout": seconds,
    "connect_timeout": seconds,
}
"""What the command line's types refuse, a settings file may not say either (`-1`, `nan`)."""
PATH_KEYS = frozenset({"accounts", "data_dir"})
"""Relative to the settings file, so a profile works from any folder."""


def load_settings(explicit: str | None, recordings: Path) -> Settings:
    """`--settings FILE`, else replay.toml in the recordings folder, else nothing."""
    path = Path(explicit) if explicit else recordings / SETTINGS_FILE
    if not path.is_file():
        if explicit:
            raise SettingsError(f"--settings {explicit}: no such file")
        return Settings()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SettingsError(f"{path}: {e}") from None
    unknown = set(document) - {"recording", "env"}
    if unknown:
        raise SettingsError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}")
    recordings_table = {
        name: RecordingSettings(**_checked(table, RECORDING_KEYS, f"{path} [recording.{name}]"))
        for name, table in _tables(document, "recording", path).items()
    }
    envs = {
        name: _checked(table, ENV_KEYS, f"{path} [env.{name}]")
        for name, table in _tables(document, "env", path).items()
    }
    for profile in envs.values():
        for key in PATH_KEYS & set(profile):
            profile[key] = str((path.parent / profile[key]).resolve())
    return Settings(path, recordings_table, envs)


def _tables(document: dict, name: str, path: Path) -> dict[str, dict]:
    tables = document.get(name, {})
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise SettingsError(f"{path}: [{name}.NAME] tables expected")
    return tables


def _checked(table: dict, keys: dict, where: str) -> dict[str, Any]:
    checked = {}
    for key, value in table.items():
        if key not in keys:
            raise SettingsError(f"{where}: unknown key {key!r} (known: {', '.join(keys)})")
        if not isinstance(value, keys[key]) or isinstance(value, bool):
            raise SettingsError(f"{where}: {key} = {value!r} has the wrong type")
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise SettingsError(f"{where}: {key} must be a list of strings")
            value = tuple(value)
        if key == "wait_time":
            parse_wait_time(value)
        if key in NUMBERS:
            try:
                NUMBERS[key](str(value))
            except argparse.ArgumentTypeError as e:
                raise SettingsError(f"{where}: {key}: {e}") from None
        checked[key] = value
    return checked


def apply_env(options, settings: Settings) -> str | None:
    """Fill in the options the command line left unset from `[env.NAME]`; its host, if any."""
    name = getattr(options, "env", None)
    if not name:
        return None
    if name not in settings.envs:
        if settings.path is None:
            raise SettingsError(f"--env {name}: no settings file ({SETTINGS_FILE} or --settings)")
        known = ", ".join(settings.envs) or "none"
        raise SettingsError(f"--env {name}: no [env.{name}] in {settings.path} (known: {known})")
    profile = settings.envs[name]
    for key, value in profile.items():
        if key == "host":
            continue
        if key == "map_host":
            # Entries given on the command line come first, so they win for the same host.
            value = [*(getattr(options, key, None) or []), *value]
        elif getattr(options, key, None) not in (None, "*"):
            continue
        setattr(options, key, list(value) if isinstance(value, tuple) else value)
    return profile.get("host")


def host_map(entries: list[str] | str | None) -> dict[str, str]:
    """`--map-host FROM=TO` entries as {recorded netloc: live origin}; the first entry wins.

    FROM is a host, host:port or URL; TO likewise, keeping FROM's scheme when it has none.
    Also takes the web UI's form of a list: one string, comma-separated.
    """
    if isinstance(entries, str):
        entries = entries.split(",")
    mapping: dict[str, str] = {}
    for entry in entries or ():
        if not entry.strip():
            continue
        source, separator, target = entry.partition("=")
        if not separator or not source.strip() or not target.strip():
            raise SettingsError(f"--map-host {entry!r}: expected FROM=TO")
        scheme, netloc = _split_origin(source)
        target_scheme, target_netloc = _split_origin(target)
        mapping.setdefault(netloc, f"{target_scheme or scheme or 'http'}://{target_netloc}")
    return mapping


def _split_origin(text: str) -> tuple[str, str]:
    text = text.strip().rstrip("/")
    parts = url_parts(text, "--map-host")
    if not parts.netloc or parts.path:
        raise SettingsError(f"--map-host: {text!r} is not a host, host:port or origin")
    return parts.scheme, parts.netloc.lower()


def parse_wait_time(text: str) -> tuple[str, tuple[float, ...]] | None:
    """`between(1, 5)` → ("between", (1.0, 5.0)), as Locust's function of that name takes them;
    "recorded" → None (the recorded think times)."""
    if text.strip() == "recorded":
        return None
    match = WAIT_TIME.fullmatch(text)
    name, first, second = match.groups() if match else ("", "", "")
    numbers = tuple(float(n) for n in (first, second) if n)
    if not match or len(numbers) != (2 if name == "between" else 1):
        raise SettingsError(
            f"wait_time {text!r}: use recorded, constant(N), between(A, B), constant_pacing(N) "
            "or constant_throughput(N)"
        )
    return name, numbers
