"""`model.toml`: what `replay model` learned, as a load shape reads it.

Standard library only: every Locust worker reads it (`replay.runtime.model_shape`).

```toml
[arrivals]
interval = 1.0          # seconds per count
start = 1764628800.0    # the first interval, seconds since the epoch (for the page)
counts = [4, 6, 8]      # sessions that started in each interval

[type.ProductsVisit]
module = "products_visit.py"   # the recording, beside this file
share = 0.6                    # of all sessions
sessions = 120
duration = 2.4                 # mean seconds from a session's first request to its last response
think = 1.2                    # mean seconds of it spent thinking
examples = ["GET /products", "GET /products/burr-grinder"]

[type.ProductsVisit.think_after]   # deciles of the think time after each step
view_home = [0.2, 0.25, ...]
```
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

MODEL_FILE = "model.toml"
PAGE_FILE = "model.html"
"""The model to look at, beside it (`replay.model.page`)."""


class ModelError(Exception):
    """A model file that cannot be used; one line for the user."""


@dataclass(frozen=True, slots=True)
class FlowModel:
    name: str
    module: str
    share: float
    sessions: int
    duration: float = 0.0
    think: float = 0.0
    examples: tuple[str, ...] = ()
    think_after: dict[str, tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrafficModel:
    interval: float
    start: float
    counts: tuple[int, ...]
    types: tuple[FlowModel, ...]

    @property
    def sessions(self) -> int:
        return sum(self.counts)

    @property
    def span(self) -> float:
        """Seconds the arrival curve covers."""
        return len(self.counts) * self.interval


def _value(value) -> str:
    """A TOML literal: JSON's strings, numbers and arrays are TOML's."""
    return json.dumps(value, ensure_ascii=False)


def model_text(model: TrafficModel, comment: str = "") -> str:
    lines = [f"# {line}" for line in comment.splitlines()]
    lines += [
        "[arrivals]",
        f"interval = {_value(model.interval)}",
        f"start = {_value(model.start)}",
        f"counts = {_value(list(model.counts))}",
    ]
    for flow in model.types:
        lines += [
            "",
            f"[type.{flow.name}]",
            f"module = {_value(flow.module)}",
            f"share = {_value(round(flow.share, 4))}",
            f"sessions = {flow.sessions}",
            f"duration = {_value(round(flow.duration, 3))}",
            f"think = {_value(round(flow.think, 3))}",
            f"examples = {_value(list(flow.examples))}",
            "",
            f"[type.{flow.name}.think_after]",
            *(f"{step} = {_value(list(q))}" for step, q in flow.think_after.items()),
        ]
    return "\n".join(lines) + "\n"


def read_model(path: str | Path) -> TrafficModel:
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        arrivals = document["arrivals"]
        counts = tuple(int(n) for n in arrivals["counts"])
        types = tuple(
            FlowModel(
                name=name,
                module=str(table["module"]),
                share=float(table["share"]),
                sessions=int(table["sessions"]),
                duration=float(table.get("duration", 0.0)),
                think=float(table.get("think", 0.0)),
                examples=tuple(table.get("examples", ())),
                think_after={
                    step: tuple(float(v) for v in values)
                    for step, values in table.get("think_after", {}).items()
                },
            )
            for name, table in document["type"].items()
        )
        model = TrafficModel(float(arrivals["interval"]), float(arrivals["start"]), counts, types)
    except FileNotFoundError:
        raise ModelError(f"{path}: no such model file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ModelError(f"{path}: {e}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ModelError(f"{path}: not a traffic model ({type(e).__name__}: {e})") from None
    if not types or model.interval <= 0 or not model.sessions or any(n < 0 for n in counts):
        raise ModelError(f"{path}: no flow types or no arrivals in the model")
    return model
