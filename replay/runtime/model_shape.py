"""Replay a traffic model (`--model recordings/model.toml`): an open model.

Sessions start on the recorded arrival curve × --rate-multiplier, compressed in time by
--time-scale, whatever the response times of the sessions already running. Each arrival's flow
type is drawn by the learned shares, and its think times from the learned deciles
(× --think-scale). Every process runs its own share of one schedule: worker i of W starts
arrivals i, i + W, ... A pool of users waits for arrivals; the load shape grows it to what the
curve needs (Little's law, with room to spare), never beyond -u: when -u binds, arrivals start
late, and the summary says so.

Imported by locustfile.py on every process: Locust and the standard library only.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from bisect import bisect
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate, count
from pathlib import Path

import gevent
from gevent.queue import Queue
from locust import LoadTestShape, task
from locust.exception import RescheduleTask
from locust.runners import MasterRunner, WorkerRunner

from replay.model.file import PAGE_FILE, ModelError, TrafficModel, read_model
from replay.runtime.session import RecordedSession
from replay.runtime.users import RecordingUser, load_module

logger = logging.getLogger("replay")

GOLDEN = (math.sqrt(5) - 1) / 2
"""Arrival j's type is drawn at frac(j × GOLDEN): evenly spread, so shares hold in any stretch
of the run and in every worker's part of it."""
LATE = 1.0
"""Seconds behind schedule after which an arrival counts as late (no user was free)."""
HEADROOM = 2.0
"""Users kept ready per session the curve needs in flight."""
REPORT = "replay_model"
"""A worker's tally: in its statistics reports and in the message it sends as the test stops."""
LOOKAHEAD = 60.0
"""Seconds of the curve the pool is grown for at once: each growth stalls the workers'
users for a moment (Locust's spawn messages), so it grows seldom and in large steps."""


# --- the schedule: pure --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Schedule:
    """When arrivals are due (seconds since the test started) and of which type."""

    model: TrafficModel
    multiplier: float = 1.0
    time_scale: float = 1.0

    @property
    def interval(self) -> float:
        """Seconds of the run per interval of the model."""
        return self.model.interval / self.time_scale

    def rate(self, elapsed: float) -> float:
        """Arrivals per second due at `elapsed` (the curve repeats once it is over)."""
        counts = self.model.counts
        return self.multiplier * counts[int(elapsed / self.interval) % len(counts)] / self.interval

    def arrivals(self, first: int = 0, step: int = 1) -> Iterator[tuple[int, float]]:
        """(index, due) of arrivals first, first + step, ...: each interval's count × the
        multiplier spread evenly over the interval, the curve repeated."""
        expected = 0.0
        index = first
        for n in count():
            wanted = self.multiplier * self.model.counts[n % len(self.model.counts)]
            start = n * self.interval
            while wanted and index + 0.5 <= expected + wanted:
                yield index, start + (index + 0.5 - expected) / wanted * self.interval
                index += step
            expected += wanted

    def type_of(self, index: int) -> int:
        """The flow type of arrival `index`, by the model's shares."""
        cumulative = list(accumulate(flow.share for flow in self.model.types))
        position = (index * GOLDEN) % 1.0 * cumulative[-1]
        return min(bisect(cumulative, position), len(cumulative) - 1)

    def users_needed(self, elapsed: float, think_scale: float) -> int:
        """Users to have ready at `elapsed`: arrival rate × session length, with headroom."""
        length = sum(
            flow.share * (flow.duration - flow.think * (1 - think_scale))
            for flow in self.model.types
        ) / sum(flow.share for flow in self.model.types)
        return math.ceil(self.rate(elapsed) * max(length, 0.1) * HEADROOM) + 1


def draw(deciles: tuple[float, ...], u: float) -> float:
    """A value of the empirical distribution whose deciles are given, for u in [0, 1)."""
    position = u * (len(deciles) - 1)
    low = int(position)
    high = min(low + 1, len(deciles) - 1)
    return deciles[low] + (deciles[high] - deciles[low]) * (position - low)


# --- one process's share of the schedule ---------------------------------------------------


@dataclass(slots=True)
class Tally:
    """What this process replayed, for the summary (summed over workers on a master)."""

    started: Counter = field(default_factory=Counter)
    completed: Counter = field(default_factory=Counter)
    arrivals: list[int] = field(default_factory=list)
    """Sessions started in each interval of the run (the model's interval / the time scale)."""
    late: int = 0
    latest: float = 0.0
    """The most any arrival started behind schedule, seconds."""
    elapsed: float = 0.0

    def as_report(self) -> dict:
        return {
            "started": dict(self.started),
            "completed": dict(self.completed),
            "arrivals": self.arrivals,
            "late": self.late,
            "latest": self.latest,
            "elapsed": self.elapsed,
        }

    def add(self, report: dict) -> None:
        self.started.update(report["started"])
        self.completed.update(report["completed"])
        arrivals = report["arrivals"]
        self.arrivals += [0] * (len(arrivals) - len(self.arrivals))
        for slot, n in enumerate(arrivals):
            self.arrivals[slot] += n
        self.late += report["late"]
        self.latest = max(self.latest, report["latest"])
        self.elapsed = max(self.elapsed, report["elapsed"])


class Dispatcher:
    """Puts this process's arrivals in a queue on time; idle users take them from it."""

    def __init__(self, schedule: Schedule, sessions: list[type[RecordedSession]], share: tuple):
        self.schedule = schedule
        self.sessions = sessions
        self.share = share
        self.queue: Queue = Queue()
        self.tally = Tally()
        self.began = time.monotonic()
        self.greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        first, step = self.share
        for index, due in self.schedule.arrivals(first, step):
            delay = self.began + due - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            self.queue.put((index, self.began + due))

    def next_session(self) -> type[RecordedSession]:
        index, due = self.queue.get()
        behind = time.monotonic() - due
        if behind > LATE:
            self.tally.late += 1
            self.tally.latest = max(self.tally.latest, behind)
        session = self.sessions[self.schedule.type_of(index)]
        self.tally.started[session.__name__] += 1
        slot = int((time.monotonic() - self.began) / self.schedule.interval)
        self.tally.arrivals += [0] * (slot + 1 - len(self.tally.arrivals))
        self.tally.arrivals[slot] += 1
        return session

    def report(self) -> Tally:
        """The tally so far, with the sessions completed."""
        if not self.greenlet.dead:
            self.tally.elapsed = time.monotonic() - self.began
        for session in self.sessions:
            plan = session.__dict__.get("_plan")
            if plan is not None:
                self.tally.completed[session.__name__] = plan.counts.completed
        return self.tally

    def stop(self) -> Tally:
        tally = self.report()
        self.greenlet.kill(block=False)
        return tally


class ModelUser(RecordingUser):
    """A user of the pool: waits for an arrival, replays its session, waits again."""

    abstract = True

    @task
    def next_arrival(self) -> None:
        session = self.environment.replay_model.next_session()
        with contextlib.suppress(RescheduleTask):  # how a finished session ends its run
            session(self).run()

    def wait_time(self) -> float:
        return 0.0


class ModelShape(LoadTestShape):
    """Grows the pool as the curve needs (never shrinks it mid-session), up to -u."""

    use_common_options = True

    def __init__(self, schedule: Schedule) -> None:
        super().__init__()
        self.schedule = schedule
        self.users = 0
        self.warned = False

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options if self.runner else None
        if options is None:  # not a run of our locustfile: no --run-time or -u to follow
            return None
        elapsed = self.get_run_time()
        if options.run_time and elapsed >= options.run_time:
            return None
        think_scale = 1.0 if options.think_scale is None else options.think_scale
        step = min(self.schedule.interval, LOOKAHEAD)
        needed = max(
            self.schedule.users_needed(elapsed + i * step, think_scale)
            for i in range(math.ceil(LOOKAHEAD / step) + 1)
        )
        cap = options.num_users or needed
        if needed > cap and not self.warned:
            self.warned = True
            logger.warning(
                "model: the curve needs about %d users within a minute; -u %d caps the pool, so "
                "sessions may start late",
                needed,
                cap,
            )
        self.users = max(self.users, min(needed, cap))
        return self.users, float(self.users)


# --- Locust events (locustfile.py hands them here) ----------------------------------------------


def user_class() -> type[ModelUser]:
    return type("TrafficModel", (ModelUser,), {"__module__": __name__, "abstract": False})


def on_init(environment) -> None:
    """With --model: the pool's user only and the model's shape; without: everything but it."""
    options = environment.parsed_options
    if options is None:
        return
    if getattr(options, "worker", False):
        return  # told what to run when the test starts
    model_user = [u for u in environment.user_classes if issubclass(u, ModelUser)]
    if not options.model:
        environment.user_classes[:] = [u for u in environment.user_classes if u not in model_user]
        return
    try:
        if options.load_shape:
            raise ModelError("--model and --load-shape: choose one")
        schedule = _schedule(options)
        _sessions(options.model, schedule.model)  # every recording there, or stop here
    except (ModelError, OSError) as e:
        logger.error("%s", e)
        raise SystemExit(2) from None
    environment.user_classes[:] = model_user
    environment.shape_class = ModelShape(schedule)
    environment.shape_class.runner = environment.runner
    model = schedule.model
    logger.info(
        "model %s: %s; %d sessions over %g s recorded, replayed x%g%s",
        options.model,
        ", ".join(f"{f.name} {f.share:.0%}" for f in model.types),
        model.sessions,
        model.span,
        schedule.multiplier,
        f", {schedule.time_scale:g} times faster" if schedule.time_scale != 1 else "",
    )
    if isinstance(environment.runner, MasterRunner):
        environment.events.worker_report.add_listener(
            lambda client_id, data: _keep_report(environment, client_id, data.get(REPORT))
        )
        environment.runner.register_message(
            REPORT, lambda environment, msg, **_: _keep_report(environment, msg.node_id, msg.data)
        )
        environment.events.quitting.add_listener(
            lambda environment, **_: _conclude(options.model, schedule, _merged(environment))
        )


def _schedule(options) -> Schedule:
    if options.rate_multiplier <= 0 or options.time_scale <= 0:
        raise ModelError("--rate-multiplier and --time-scale must be positive")
    return Schedule(read_model(options.model), options.rate_multiplier, options.time_scale)


def _sessions(path: str, model: TrafficModel) -> list[type[RecordedSession]]:
    """Each type's recording, its think times drawn from the model's deciles."""
    folder = Path(path).parent
    sessions = []
    for flow in model.types:
        module = folder / flow.module
        if not module.is_file():
            raise ModelError(f"{path}: {flow.name}: no recording {module}")
        found = [s for s in load_module(module) if s.__name__ == flow.name]
        if not found:
            raise ModelError(f"{path}: {module} defines no {flow.name}")
        sessions.append(_thinking_as_modelled(found[0], flow.think_after))
    return sessions


def _thinking_as_modelled(session: type[RecordedSession], think_after: dict) -> type:
    """The recording, pausing after each step for a think time drawn from the model."""
    rng = random.Random()

    def wait_time(self) -> float:
        deciles = think_after.get(self.step)
        if deciles is None or self._plan.step_wait:
            return session.wait_time(self)
        self._pause = 0.0
        return draw(deciles, rng.random()) * self._plan.think_scale

    return type(
        session.__name__,
        (session,),
        {"wait_time": wait_time, "__module__": session.__module__, "__doc__": session.__doc__},
    )


def on_test_start(environment) -> None:
    """On every process that runs users: its share of the schedule, starting now."""
    options = environment.parsed_options
    if not getattr(options, "model", None) or isinstance(environment.runner, MasterRunner):
        return
    schedule = _schedule(options)
    index = getattr(environment.runner, "worker_index", 0)
    workers = max(int(getattr(options, "workers", 1) or 1), 1)
    stale = getattr(environment, "replay_model", None)
    if stale is not None:
        stale.stop()
    environment.replay_model = Dispatcher(
        schedule, _sessions(options.model, schedule.model), (index, workers)
    )
    if not hasattr(environment, "replay_model_reporting"):
        environment.replay_model_reporting = True
        environment.events.report_to_master.add_listener(
            lambda client_id, data: data.__setitem__(
                REPORT, environment.replay_model.report().as_report()
            )
        )
        if isinstance(environment.runner, WorkerRunner):
            environment.events.test_stopping.add_listener(_send_tally)


def _send_tally(environment, **_) -> None:
    """A worker's last tally, sent as the test stops: the master sums up the run before the
    worker's final statistics (after its users' stop timeout) would reach it."""
    environment.runner.send_message(REPORT, environment.replay_model.stop().as_report())


def on_test_stop(environment) -> None:
    dispatcher = getattr(environment, "replay_model", None)
    if dispatcher is None or isinstance(environment.runner, MasterRunner):
        return
    tally = dispatcher.stop()
    if not getattr(environment.parsed_options, "worker", False):
        _conclude(environment.parsed_options.model, dispatcher.schedule, tally)


def _keep_report(environment, client_id: str, report: dict | None) -> None:
    if report is not None:
        environment.replay_model_reports = getattr(environment, "replay_model_reports", {})
        environment.replay_model_reports[client_id] = report


def _merged(environment) -> Tally:
    tally = Tally()
    for report in getattr(environment, "replay_model_reports", {}).values():
        tally.add(report)
    return tally


def _conclude(path: str, schedule: Schedule, tally: Tally) -> None:
    _log_summary(schedule, tally)
    _write_page(path, schedule, tally)


def _write_page(path: str, schedule: Schedule, tally: Tally) -> None:
    """The model's page with this run's arrivals beside the model's. Drawn here, once, in the
    process that sums up the run: matplotlib is loaded by it alone, and only now."""
    from replay.model.page import Replayed, page_html

    page = Path(path).with_name(PAGE_FILE)
    whole = int(tally.elapsed / schedule.interval)  # the stop cut the last one short
    replayed = Replayed(
        tuple(tally.arrivals[:whole]) + (0,) * (whole - len(tally.arrivals)),
        tally.elapsed,
        schedule.interval,
        schedule.multiplier,
        schedule.time_scale,
        dict(tally.started),
    )
    try:
        page.write_text(page_html(schedule.model, path, replayed), encoding="utf-8")
    except OSError as e:
        logger.warning("model: cannot write %s: %s", page, e.strerror or e)
        return
    logger.info("model summary: the replayed arrivals beside the model's: %s", page)


def _log_summary(schedule: Schedule, tally: Tally) -> None:
    """The replayed mix and arrival rate beside the model's."""
    total = sum(tally.started.values())
    elapsed = tally.elapsed or 1.0
    expected = sum(due < elapsed for _, due in _until(schedule, elapsed))
    logger.info(
        "model summary: %d sessions in %.1f s (%.2f/s); the model x%g: %d (%.2f/s), %.0f%%",
        total,
        elapsed,
        total / elapsed,
        schedule.multiplier,
        expected,
        expected / elapsed,
        100 * total / expected if expected else 0.0,
    )
    for flow in schedule.model.types:
        started = tally.started[flow.name]
        logger.info(
            "model summary: %-24s %5.1f%% of sessions (model %5.1f%%), %d started, %d completed",
            flow.name,
            100 * started / total if total else 0.0,
            100 * flow.share,
            started,
            tally.completed[flow.name],
        )
    if tally.late:
        logger.warning(
            "model summary: %d sessions started late (up to %.1f s): every user was busy; raise -u",
            tally.late,
            tally.latest,
        )


def _until(schedule: Schedule, elapsed: float):
    for index, due in schedule.arrivals():
        if due >= elapsed:
            return
        yield index, due
