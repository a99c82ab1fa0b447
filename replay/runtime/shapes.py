"""Load shapes selected by `--load-shape`: Locust LoadTestShapes over --users and --run-time.

They read Locust's common options at every tick (`use_common_options`), so the web UI's user
count and run time drive them too. Users are started within a second of each change: the
shape sets the pace, not --spawn-rate.
"""

from __future__ import annotations

import math

from locust import LoadTestShape


class ReplayShape(LoadTestShape):
    abstract = True
    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options if self.runner else None
        if options is None:  # not a run of our locustfile: no --users or --run-time to follow
            return None
        run_time, users = options.run_time, options.num_users or 1
        elapsed = self.get_run_time()
        if not run_time or elapsed >= run_time:
            return None
        count = self.users_at(elapsed / run_time, users, options)
        return count, max(float(options.spawn_rate or 0), users)

    def users_at(self, progress: float, users: int, options) -> int:
        """Users wanted `progress` (0 to 1) of the way through the run."""
        raise NotImplementedError


class RampShape(ReplayShape):
    """From one user up to --users, linearly over the run: where does it start to hurt?"""

    def users_at(self, progress, users, options):
        return max(1, math.ceil(users * progress))


class StepShape(ReplayShape):
    """--shape-steps equal steps up to --users, each held for an equal share of the run."""

    def users_at(self, progress, users, options):
        steps = max(1, options.shape_steps)
        return math.ceil(users * (min(int(progress * steps), steps - 1) + 1) / steps)


class SpikeShape(ReplayShape):
    """A fifth of --users, all of them for the middle fifth of the run, then back."""

    def users_at(self, progress, users, options):
        return users if 0.4 <= progress < 0.6 else max(1, users // 5)


SHAPES: dict[str, type[ReplayShape]] = {"ramp": RampShape, "step": StepShape, "spike": SpikeShape}
