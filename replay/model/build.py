"""Recording of many users → a traffic model: sessions, flow types, one converted recording per
type, the arrival curve and the think times. Pure: the CLI reads the captures and writes what
this returns."""

from __future__ import annotations

from dataclasses import dataclass, replace
from statistics import fmean
from urllib.parse import urlsplit

from recorder.model import Recording
from replay import convert as pipeline
from replay.convert.filters import FilterOptions, filter_exchanges
from replay.model.file import FlowModel, TrafficModel
from replay.model.flows import SIMILARITY, FlowType, group_sessions, template_of
from replay.model.sessions import IDLE_GAP, Session, split_sessions
from replay.model.timing import arrival_counts, interval_for, step_think_times
from replay.names import identifier

EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class ModelOptions:
    convert: pipeline.Options = pipeline.Options()
    """As for `replay convert`: host, included hosts, correlation; rules per type below."""
    idle_gap: float = IDLE_GAP
    similarity: float = SIMILARITY
    interval: float = 0.0
    """Seconds per arrival count; 0: per second for a short capture, else per minute."""


@dataclass(frozen=True, slots=True)
class Flow:
    """One flow type: its sessions, its converted representative, its module's name."""

    type: FlowType
    module: str
    result: pipeline.Result
    model: FlowModel


@dataclass(frozen=True, slots=True)
class Built:
    model: TrafficModel
    flows: tuple[Flow, ...]
    sessions: int
    dropped: dict[str, int]


def build(
    recording: Recording, options: ModelOptions = ModelOptions(), rules=None, full=list
) -> Built:
    """`rules(module)` gives the rules of a type's recording (the CLI reads NAME.rules.toml);
    `full(exchanges)` the exchanges with their bodies, when the recording was read without."""
    filtered = filter_exchanges(
        recording,
        FilterOptions(
            host=options.convert.host,
            include_hosts=options.convert.include_hosts,
            keep_static=options.convert.keep_static,
        ),
    )
    sessions = split_sessions(filtered.kept, options.idle_gap)
    if not sessions:
        raise pipeline.NothingToReplay("no request left to model")
    types = group_sessions(sessions, options.similarity)
    flows = tuple(
        _flow(recording, flow, len(sessions), filtered.target, options, rules, full)
        for flow in types
    )
    interval = options.interval or interval_for(sessions)
    start, counts = arrival_counts(sessions, interval)
    model = TrafficModel(interval, start, tuple(counts), tuple(f.model for f in flows))
    dropped = {**recording.skipped, **filtered.dropped}
    return Built(model, flows, len(sessions), dropped)


def _flow(
    recording: Recording,
    flow: FlowType,
    total: int,
    target: str,
    options: ModelOptions,
    rules,
    full,
) -> Flow:
    module = identifier(flow.name)
    representative = flow.representative()
    source = Recording(
        source=recording.source,
        creator=recording.creator,
        exchanges=full(representative.exchanges),
    )
    convert = replace(options.convert, name=flow.name, host=target)
    if rules is not None:
        convert = replace(convert, rules=rules(module))
    result = pipeline.convert(source, convert)
    steps = result.scenario.steps
    boundaries = [
        (step.name, template_of(following.calls[0].exchange))
        for step, following in zip(steps, steps[1:], strict=False)
    ]
    think_after = step_think_times(boundaries, flow.sessions, template_of)
    model = FlowModel(
        name=flow.name,
        module=f"{module}.py",
        share=len(flow.sessions) / total,
        sessions=len(flow.sessions),
        duration=fmean(s.duration for s in flow.sessions),
        think=fmean(_thinking(s) for s in flow.sessions),
        examples=tuple(dict.fromkeys(_examples(representative)))[:EXAMPLES],
        think_after=think_after,
    )
    return Flow(flow, module, result, model)


def _thinking(session: Session) -> float:
    """Seconds of the session with no request in flight."""
    idle, end = 0.0, session.started
    for x in session.exchanges:
        idle += max(x.started - end, 0.0)
        end = max(end, x.started + x.duration_ms / 1000)
    return idle


def _examples(session: Session):
    for x in session.exchanges:
        parts = urlsplit(x.request.url)
        yield f"{x.request.method} {parts.path}{'?' if parts.query else ''}{parts.query}"
