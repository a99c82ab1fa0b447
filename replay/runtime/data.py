"""Per-user data at run time: Faker values, values unique across the run, credentials.

Unique values need no coordination: each is built from a tag of this process (random, made
once), the worker index Locust gives it, the user's number in the process and the iteration,
which together never repeat across users, iterations, workers or machines.

Rows of a CSV are dealt the same way: a worker takes every W-th row from its index on, where
the master says W (`share_rows_between_workers`), so no two users of a run share a row.
"""

from __future__ import annotations

import csv
import itertools
import os
import secrets
import string
from functools import cache
from pathlib import Path

from faker import Faker
from locust import events
from locust.runners import MasterRunner

PROCESS_TAG = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(6))
"""Distinguishes this process from every other one in the run (and from earlier runs)."""


@cache
def faker(locale: str) -> Faker:
    """One Faker per locale and process: creating one costs milliseconds, calling one does not.
    Greenlets never interleave inside a Faker call, so users can share it."""
    try:
        fake = Faker(locale)
    except AttributeError:
        return Faker("en_US")
    _borrow_missing(fake, Faker("en_US"))
    return fake


def _borrow_missing(fake: Faker, english: Faker) -> None:
    """Give `fake` the providers it lacks from `english`: Faker's en_PH (and fil_PH, tl_PH,
    tl) has no `phone_number()`, and a recording made in one of them raised in every user."""
    generator, fallback = fake.factories[0], english.factories[0]
    for name in set(dir(fallback)) - set(dir(generator)):
        if not name.startswith("_"):
            setattr(generator, name, getattr(fallback, name))


class Unique:
    """Values a server needs to be unique (sign-up e-mails, user names) for one user iteration."""

    def __init__(self, fake: Faker, key: str):
        self.fake = fake
        self.key = key
        """`<process tag>w<worker>u<user>i<iteration>`, unique in the whole run."""

    def email(self) -> str:
        local = self.fake.user_name().replace(".", "_")
        return f"{local}.{self.key}@example.com"

    def user_name(self) -> str:
        return f"{self.fake.user_name()}_{self.key}"

    def value(self, prefix: str = "") -> str:
        return f"{prefix}{self.key}"


class MissingData(Exception):
    """A credential or data row the run needs and does not have; the message says which."""


class Accounts:
    """A CSV of accounts, one row per virtual user, like JMeter's CSV Data Set.

    In a distributed run worker `worker_index` of `workers` keeps rows worker_index,
    worker_index + workers, ...: each worker's users take their rows from its own share.
    """

    def __init__(self, path: str | Path, worker_index: int = 0, workers: int = 1):
        self.path = Path(path)
        try:
            with self.path.open(newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        except OSError as e:
            raise MissingData(f"accounts file {self.path}: {e.strerror or e}") from None
        except (UnicodeDecodeError, csv.Error) as e:
            raise MissingData(f"accounts file {self.path}: not a UTF-8 CSV file ({e})") from None
        if not rows:
            raise MissingData(f"accounts file {self.path} has no rows under its header")
        workers = max(int(workers or 1), 1)
        self.share = f"worker {worker_index} of {workers}: " if workers > 1 else ""
        self.rows = rows[worker_index::workers] if workers > 1 else rows
        self._next = itertools.count()
        self._shared = itertools.count()

    def take(self) -> dict[str, str]:
        """The next unused row; each user keeps the row it took."""
        index = next(self._next)
        if index >= len(self.rows):
            rows = f"{len(self.rows)} row{'' if len(self.rows) == 1 else 's'}"
            raise MissingData(
                f"accounts file {self.path} ran out of rows ({self.share}{rows} for more users); "
                "add rows or run fewer users"
            )
        return self.rows[index]

    def cycle(self) -> dict[str, str]:
        """Rows round-robin, shared by every user of this process."""
        if not self.rows:
            raise MissingData(f"accounts file {self.path}: no rows left for {self.share[:-2]}")
        return self.rows[next(self._shared) % len(self.rows)]


@events.test_start.add_listener
def share_rows_between_workers(environment, **_kwargs) -> None:
    """On a master, as the test starts: the number of shares CSV rows are dealt into, sent to
    the workers with the options of every spawn message (Locust forwards options it does not
    know). One share per worker index in use, so a worker that reconnected (new index) still
    takes rows no one else has. Workers should all be connected before the test starts."""
    runner, options = environment.runner, environment.parsed_options
    if not isinstance(runner, MasterRunner) or options is None:
        return
    workers = runner.clients.ready + runner.clients.spawning + runner.clients.running
    options.workers = max((runner.get_worker_index(w.id) for w in workers), default=0) + 1


def credential(name: str, row: dict[str, str] | None) -> str:
    """`name` from the user's accounts row, else from $REPLAY_<NAME>."""
    if row is not None:
        if name in row:
            if row[name] is None:  # a short row
                raise MissingData(f"a row of the accounts file has no {name!r} value")
            return row[name]
        raise MissingData(f"the accounts file has no column {name!r} (columns: {', '.join(row)})")
    variable = f"REPLAY_{name.upper()}"
    value = os.environ.get(variable)
    if value is None:
        article = "an" if name[:1].lower() in "aeiou" else "a"
        raise MissingData(f"set {variable} or give --accounts FILE with {article} {name!r} column")
    return value
