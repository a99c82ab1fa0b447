"""Recording → module source: filter, group into steps, see through redaction, correlate,
parameterize, map the recorded hosts, generate.

Pure: no files, no network. The CLI reads the capture and writes what this returns.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from recorder.model import Recording
from recorder.sensitive import redact_text
from replay.convert import codegen
from replay.convert.correlate import correlate
from replay.convert.filters import Filtered, FilterOptions, filter_exchanges
from replay.convert.hosts import map_origins
from replay.convert.parameters import parameterize
from replay.convert.redaction import restore_redacted
from replay.convert.rules import NO_RULES, Rules
from replay.convert.scenario import Scenario
from replay.convert.steps import StepOptions, build_scenario
from replay.names import class_name, identifier


class NothingToReplay(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Options:
    name: str = ""
    host: str = ""
    include_hosts: tuple[str, ...] = ()
    keep_static: bool = False
    correlate: bool = True
    rules: Rules = NO_RULES


@dataclass(frozen=True, slots=True)
class Result:
    scenario: Scenario
    filtered: Filtered
    source: str


def convert(recording: Recording, options: Options = Options()) -> Result:
    filtered = filter_exchanges(
        recording,
        FilterOptions(
            host=options.host,
            include_hosts=options.include_hosts,
            keep_static=options.keep_static,
        ),
    )
    if not filtered.kept:
        dropped = filtered.dropped + Counter(recording.skipped)
        reasons = ", ".join(f"{n} {r}" for r, n in dropped.most_common()) or "no entries"
        raise NothingToReplay(f"no request left to replay ({reasons})")
    name = class_name(options.name or Path(recording.source).stem)
    scenario = restore_redacted(build_scenario(recording, filtered, StepOptions(name=name)))
    if options.correlate:
        scenario = correlate(scenario, options.rules)
    scenario = map_origins(parameterize(scenario, options.rules))
    return Result(scenario=scenario, filtered=filtered, source=codegen.render(scenario))


def module_name(capture: Path) -> str:
    return identifier(capture.stem, "recording")


SHOWN = 40
SHOWN_SINKS = 4


def _more(items: list | tuple, shown: int, what: str) -> list[str]:
    return [f"    ... and {len(items) - shown} more {what}"] if len(items) > shown else []


def summary(recording: Recording, result: Result, output: Path) -> list[str]:
    """What the user needs to trust the conversion: counts, drops, hosts, correlations; the
    secrets a line would show (a warning's URL with `?access_token=`) redacted."""
    scenario, filtered = result.scenario, result.filtered
    lines = [
        f"read {scenario.entries} entries from {recording.source}"
        + (f" ({recording.creator})" if recording.creator else ""),
        f"kept {scenario.kept} requests in {len(scenario.steps)} steps against {scenario.host}",
    ]
    for reason, count in sorted(scenario.dropped.items(), key=lambda item: -item[1]):
        lines.append(f"  dropped {count:5d}  {reason}")
    hosts = ", ".join(f"{host} ({n})" for host, n in filtered.hosts.most_common(8))
    lines.append(f"hosts: {hosts}")
    for correlation in scenario.correlations[:SHOWN]:
        lines.append(f"correlated {correlation.var}: from {correlation.source}")
        lines += [f"    sent in {sink}" for sink in correlation.sinks[:SHOWN_SINKS]]
        lines += _more(correlation.sinks, SHOWN_SINKS, "places")
    lines += _more(scenario.correlations, SHOWN, "correlations (each is commented in the file)")
    for parameter in scenario.parameters[:SHOWN]:
        lines.append(f"parameter {parameter.var} = {parameter.expr}")
    lines += _more(scenario.parameters, SHOWN, "parameters")
    lines += [f"warning: {w}" for w in recording.warnings[:10]]
    lines.append(f"wrote {output}")
    return [redact_text(line) for line in lines]
