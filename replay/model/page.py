"""`model.html`: the traffic model to look at, one self-contained file (plots as inline PNG).

Drawn with matplotlib's Agg backend. Only `replay model` and the master (or standalone) process
at the end of a `replay run --model` import this module: workers never load matplotlib.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot  # noqa: E402  (after the backend is chosen)

from replay.model.file import TrafficModel  # noqa: E402

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 64em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border-bottom: 1px solid #ddd; padding: .25em .8em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; }
details { margin: .5em 0 1em; }
code { font-size: .9em; }
"""


@dataclass(frozen=True, slots=True)
class Replayed:
    """What a run of the model started, per whole interval of the run."""

    counts: tuple[int, ...]
    elapsed: float
    interval: float
    """Seconds of the run per count."""
    multiplier: float
    time_scale: float
    started: dict[str, int]


def page_html(model: TrafficModel, title: str, replayed: Replayed | None = None) -> str:
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Traffic model: {html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Traffic model: {html.escape(title)}</h1>",
        f"<p>{model.sessions} sessions in {len(model.types)} flow types over "
        f"{model.span:g} s, from {_clock(model.start)} UTC.</p>",
        *_arrivals(model),
        *_mix(model),
        *_think_times(model),
    ]
    if replayed is not None:
        parts += _replay(model, replayed)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _clock(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _arrivals(model: TrafficModel) -> list[str]:
    times = [i * model.interval for i in range(len(model.counts))]
    figure, axes = pyplot.subplots(figsize=(9, 3.2))
    _curve(axes, model.counts, model.interval, color="#1f77b4", label="recorded")
    axes.set_xlabel(f"seconds from {_clock(model.start)} UTC")
    axes.set_ylabel(f"sessions started per {model.interval:g} s")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    rows = [(f"{t:g}", n) for t, n in zip(times, model.counts, strict=True)]
    return [
        "<h2>Arrivals</h2>",
        _image(figure, "sessions started per interval"),
        _table(("from second", "sessions"), rows, "arrivals", "Sessions per interval"),
    ]


def _mix(model: TrafficModel) -> list[str]:
    names = [flow.name for flow in model.types]
    shares = [100 * flow.share for flow in model.types]
    figure, axes = pyplot.subplots(figsize=(9, 0.5 + 0.45 * len(names)))
    bars = axes.barh(names[::-1], shares[::-1], color="#2ca02c")
    axes.bar_label(bars, labels=[f"{s:.1f}%" for s in shares[::-1]], padding=3)
    axes.set_xlabel("share of sessions, %")
    axes.set_xlim(0, max(shares) * 1.15)
    rows = [
        (f.name, f"{100 * f.share:.1f}%", f.sessions, f"{f.duration:.1f}", f.module)
        for f in model.types
    ]
    examples = [
        f"<li><b>{html.escape(f.name)}</b>: "
        + ", ".join(f"<code>{html.escape(url)}</code>" for url in f.examples)
        + "</li>"
        for f in model.types
    ]
    return [
        "<h2>Flow types</h2>",
        _image(figure, "share of sessions per flow type"),
        _table(("type", "share", "sessions", "mean seconds", "recording"), rows, "mix"),
        f"<ul>{''.join(examples)}</ul>",
    ]


def _think_times(model: TrafficModel) -> list[str]:
    """Per type, the median think time after each step with the 10th to 90th percentile."""
    shown = [f for f in model.types if f.think_after]
    if not shown:
        return []
    figure, rows_of_axes = pyplot.subplots(
        len(shown), 1, figsize=(9, 0.6 + sum(0.35 * len(f.think_after) + 0.6 for f in shown))
    )
    axes_list = rows_of_axes if len(shown) > 1 else [rows_of_axes]
    rows = []
    for axes, flow in zip(axes_list, shown, strict=True):
        steps = list(flow.think_after)[::-1]
        q = [flow.think_after[s] for s in steps]
        median = [d[len(d) // 2] for d in q]
        axes.barh(steps, median, color="#ff7f0e", alpha=0.8)
        axes.errorbar(
            median,
            steps,
            xerr=[
                [m - d[1] for m, d in zip(median, q, strict=True)],
                [d[-2] - m for m, d in zip(median, q, strict=True)],
            ],
            fmt="none",
            ecolor="#333",
            capsize=3,
        )
        axes.set_title(flow.name, loc="left", fontsize=10)
        axes.set_xlabel("think seconds after the step (median, 10th to 90th percentile)")
        rows += [
            (f"{flow.name}.{step}", *(f"{v:.2f}" for v in flow.think_after[step][::2]))
            for step in flow.think_after
        ]
    figure.tight_layout()
    return [
        "<h2>Think times</h2>",
        _image(figure, "think time per step"),
        _table(
            ("step", "min", "20th", "40th", "60th", "80th", "max"),
            rows,
            "think",
            "Quantiles in seconds",
        ),
    ]


def _replay(model: TrafficModel, replayed: Replayed) -> list[str]:
    """The run's arrivals beside the model's curve at the run's multiplier and time scale."""
    n = len(replayed.counts)
    wanted = [replayed.multiplier * model.counts[i % len(model.counts)] for i in range(n)]
    times = [i * replayed.interval for i in range(n)]
    figure, axes = pyplot.subplots(figsize=(9, 3.2))
    # Wide and pale under the replayed line: where the two agree, both stay visible.
    model_style = {"color": "#1f77b4", "linewidth": 5, "alpha": 0.4}
    _curve(axes, wanted, replayed.interval, label=f"model x{replayed.multiplier:g}", **model_style)
    _curve(axes, replayed.counts, replayed.interval, color="#d62728", label="replayed")
    axes.set_xlabel("seconds of the run")
    axes.set_ylabel(f"sessions started per {replayed.interval:g} s")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend()
    total = sum(replayed.started.values()) or 1
    mix = [
        (f.name, f"{100 * replayed.started.get(f.name, 0) / total:.1f}%", f"{100 * f.share:.1f}%")
        for f in model.types
    ]
    rows = [
        (f"{t:g}", f"{w:g}", got) for t, w, got in zip(times, wanted, replayed.counts, strict=True)
    ]
    faster = f", {replayed.time_scale:g} times faster" if replayed.time_scale != 1 else ""
    return [
        "<h2>Replayed</h2>",
        f"<p>The last run: x{replayed.multiplier:g}{faster} for {replayed.elapsed:.1f} s; "
        f"{sum(replayed.started.values())} sessions started, {sum(replayed.counts)} of them in "
        f"the {n} whole intervals below.</p>",
        _image(figure, "replayed arrivals beside the model's"),
        _table(("type", "replayed", "model"), mix, "replayed-mix"),
        _table(
            ("from second", "model", "replayed"),
            rows,
            "replayed-arrivals",
            "Sessions per interval of the run",
        ),
    ]


def _curve(axes, counts: Sequence[float], interval: float, **style) -> None:
    """Counts per interval as steps, the last interval drawn to its end."""
    if not counts:
        return
    times = [i * interval for i in range(len(counts) + 1)]
    axes.step(times, [*counts, counts[-1]], where="post", **style)


def _image(figure, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    pyplot.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(header: Sequence[str], rows, id: str, summary: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    table = f'<table id="{id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return f"<details><summary>{summary}</summary>{table}</details>" if summary else table
