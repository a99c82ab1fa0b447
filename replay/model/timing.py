"""When sessions arrive and how long users think: the model's two curves.

Arrivals are counted per interval aligned to the clock (per minute, or per second for a capture
shorter than SHORT_CAPTURE); think times are kept per step as deciles of what every session of
the type did there, not one number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from recorder.model import Exchange
from replay.model.sessions import Session

SHORT_CAPTURE = 10 * 60.0
"""A capture shorter than this is counted per second, a longer one per minute."""
DECILES = 11
"""Think times are kept as the 0th, 10th, ... 100th percentile."""


def interval_for(sessions: Sequence[Session]) -> float:
    span = sessions[-1].started - sessions[0].started if sessions else 0.0
    return 1.0 if span < SHORT_CAPTURE else 60.0


def arrival_counts(sessions: Sequence[Session], interval: float) -> tuple[float, list[int]]:
    """The start of the first interval (a multiple of `interval` since the epoch) and the
    sessions that started in each interval from there."""
    starts = sorted(s.started for s in sessions)
    first = math.floor(starts[0] / interval) * interval
    counts = [0] * (int((starts[-1] - first) // interval) + 1)
    for started in starts:
        counts[int((started - first) // interval)] += 1
    return first, counts


def deciles(values: Sequence[float]) -> tuple[float, ...]:
    """The empirical quantile function at 0, 0.1, ... 1, linearly interpolated."""
    ordered = sorted(values)
    last = len(ordered) - 1
    points = []
    for i in range(DECILES):
        position = last * i / (DECILES - 1)
        low = int(position)
        high = min(low + 1, last)
        points.append(round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 3))
    return tuple(points)


def step_think_times(
    boundaries: Sequence[tuple[str, str]], sessions: Sequence[Session], template_of
) -> dict[str, tuple[float, ...]]:
    """Think-time deciles after each step, from every session that took that step.

    `boundaries` pairs each step of the representative (but the last) with the template of the
    request that opens the next step; in each session the pause before that request, in order,
    is the think time after the step.
    """
    samples: dict[str, list[float]] = {step: [] for step, _ in boundaries}
    for session in sessions:
        templates = [template_of(x) for x in session.exchanges]
        ends = _running_ends(session.exchanges)
        position = 1
        for step, opening in boundaries:
            try:
                index = templates.index(opening, position)
            except ValueError:
                break
            samples[step].append(max(session.exchanges[index].started - ends[index - 1], 0.0))
            position = index + 1
    return {step: deciles(values) for step, values in samples.items() if values}


def _running_ends(exchanges: Sequence[Exchange]) -> list[float]:
    """For each exchange, the latest end of any exchange up to and including it."""
    ends, latest = [], 0.0
    for x in exchanges:
        latest = max(latest, x.started + x.duration_ms / 1000)
        ends.append(latest)
    return ends
