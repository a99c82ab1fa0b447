"""Recording → module source: filter, group into steps, see through redaction, correlate,
parameterize, map the recorded hosts, generate.

Pure: no files, no network. The CLI reads the capture and writes what this returns.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from recorder.collector import collector_paused
from recorder.model import Recording
from recorder.sensitive import ANTI_FORGERY, redact_text
from replay.convert import codegen
from replay.convert.correlate import correlate
from replay.convert.filters import Filtered, FilterOptions, filter_exchanges, origin, same_site
from replay.convert.hosts import map_origins
from replay.convert.known import relabeled
from replay.convert.parameters import WHOLE_ENCODED, Served, parameterize
from replay.convert.redaction import restore_redacted
from replay.convert.rules import NO_RULES, Rules
from replay.convert.scenario import LONE, TEXT, Call, Scenario, one_of
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
    capture: str = ""
    """How the module names its capture (default: the recording's source)."""


@dataclass(frozen=True, slots=True)
class Result:
    scenario: Scenario
    filtered: Filtered
    pieces: list[str]
    """The module's source in pieces to write one after another: a big capture's module is
    megabytes, and joined it would be in memory twice at the conversion's peak."""

    @property
    def source(self) -> str:
        return "".join(self.pieces)


STAGES = ("filter", "steps", "correlate", "parameters", "generate")
"""What `convert` tells `stage` it starts, in order (a long conversion shows them)."""


def convert(
    recording: Recording,
    options: Options = Options(),
    stage: Callable[[str], None] = lambda name: None,
) -> Result:
    with collector_paused():
        return _convert(recording, options, stage)


def _convert(recording: Recording, options: Options, stage: Callable[[str], None]) -> Result:
    stage("filter")
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
    stage("steps")
    scenario = restore_redacted(build_scenario(recording, filtered, StepOptions(name=name)))
    scenario.source = options.capture or scenario.source
    stage("correlate")
    if options.correlate:
        scenario = correlate(scenario, options.rules)
    stage("parameters")
    served = _served_by_site(recording, filtered.target)
    scenario = map_origins(parameterize(scenario, options.rules, served))
    stage("generate")
    return Result(scenario=scenario, filtered=filtered, pieces=codegen.render(scenario))


def _served_by_site(recording: Recording, target: str) -> Served:
    """Which values a response of the target's site held before the call that sends them: a
    key a page or a script of the site hands every visitor is the site's own value, not a
    credential (the script itself is dropped as a static asset, so correlation does not see
    it). One regex pass over the earlier responses, however many values are asked about."""
    position = {id(exchange): i for i, exchange in enumerate(recording.exchanges)}
    site = urlsplit(target).netloc

    def served(candidates: list[tuple[str, Call]]) -> set[str]:
        sent_at = {
            value.encode(TEXT, LONE): position.get(id(call.exchange), 0)
            for value, call in candidates
            if len(value) >= MIN_SERVED and call.exchange is not None
        }
        if not sent_at:
            return set()
        pattern = re.compile(
            one_of([value.decode("latin-1") for value in sent_at]).encode("latin-1")
        )
        found: set[bytes] = set()
        for index, earlier in enumerate(recording.exchanges[: max(sent_at.values())]):
            if not same_site(earlier.request.host, site):
                continue
            headers = "\n".join(value for _, value in earlier.response.headers).encode(TEXT, LONE)
            for text in (earlier.response.body or b"", headers):
                found.update(m[0] for m in pattern.finditer(text) if index < sent_at[m[0]])
        return {value.decode(TEXT, LONE) for value in found}

    return served


MIN_SERVED = 8
"""Shorter values turn up in any page by chance."""


def module_name(capture: Path) -> str:
    return identifier(capture.stem, "recording")


SHOWN = 40
SHOWN_SINKS = 4
SHOWN_HOSTS = 8
SHOWN_WARNINGS = 10


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _more(items: list | tuple, shown: int, what: str) -> list[str]:
    return [f"    ... and {len(items) - shown} more {what}"] if len(items) > shown else []


def uncontacted(scenario: Scenario) -> list[str]:
    """Kept requests to hosts other than the target: a run contacts only the target and the
    hosts --map-host sends somewhere, so each of these fails until it is mapped."""
    origins = Counter(
        origin(call.exchange.request.url) for call in scenario.calls if call.exchange is not None
    )
    hosts = Counter({o.partition("://")[2]: n for o, n in origins.items() if o != scenario.host})
    return [
        f"{_count(n, 'kept request')} to {host}, which a run does not contact unless mapped: "
        f"add --map-host {host}=URL to replay run and verify (the target is {scenario.host})"
        for host, n in hosts.most_common()
    ]


def anti_forgery_as_recorded(scenario: Scenario) -> list[str]:
    """Anti-forgery tokens (`X-CSRF-Token`, `csrfmiddlewaretoken`) left as recorded: no
    response of the capture held them (it began after the page that made them), so every
    user would send the recorded session's token, which a site that checks it refuses. Not a
    secret, nor a credential anyone could give a run: said, so it can be fixed. A short value
    (`X-CSRF-Protection: 1`) is a constant the site asks for, not a token."""
    sent: Counter[str] = Counter()
    for call in scenario.calls:
        fields = call.body.fields if call.body is not None and call.body.kind == "form" else []
        for name, value in [*call.headers, *fields]:
            if isinstance(value, str) and len(value) >= 8 and ANTI_FORGERY.search(name):
                sent[name] += 1
    return [
        f"{name} is sent as recorded by {_count(n, 'request')}: no response of the capture "
        "holds its value, so a site that checks it will refuse them; record from the page "
        "that hands it out, or add a [[correlation.extract]] rule"
        for name, n in sent.most_common()
    ]


def encoded_whole(scenario: Scenario) -> list[str]:
    """Credentials that stand for a whole percent-encoded value, as a secret inside it could
    not be told apart from the rest (its encoding is not one convert reproduces)."""
    return [
        f"{p.credential} is a whole percent-encoded value holding a secret: give it to a run "
        "encoded as recorded, with the live secret in it"
        for p in scenario.parameters
        if p.comment == WHOLE_ENCODED
    ]


def bodies_missing(filtered: Filtered) -> list[str]:
    """Kept requests that declared a body the capture does not hold (Playwright's HAR leaves
    out some PUT bodies; the proxy streams bodies over its limit through): each is replayed
    without it. Requests the filter dropped are not replayed, so they are not named."""
    return [
        f"{x.request.method} {x.request.url}: it declared a {x.request.declared_size}-byte body "
        "the capture does not hold, so it is replayed without one"
        for x in filtered.kept
        if x.request.declared_size > len(x.request.body)
    ]


def summary(recording: Recording, result: Result, output: Path) -> list[str]:
    """What the user needs to trust the conversion: counts, drops, hosts, correlations; the
    secrets a line would show (a warning's URL with `?access_token=`) redacted."""
    scenario, filtered = result.scenario, result.filtered
    lines = [
        f"read {_count(scenario.entries, 'entry', 'entries')} from {recording.source}"
        + (f" ({recording.creator})" if recording.creator else ""),
        f"kept {_count(scenario.kept, 'request')} in {_count(len(scenario.steps), 'step')} "
        f"against {scenario.host}",
    ]
    for reason, count in sorted(scenario.dropped.items(), key=lambda item: -item[1]):
        lines.append(f"  dropped {count:5d}  {reason}")
    if filtered.third_party:
        shown = ", ".join(host for host, _ in filtered.third_party.most_common(SHOWN_HOSTS))
        more = len(filtered.third_party) - SHOWN_HOSTS
        lines.append(
            f"    ({shown}{f', and {more} more' if more > 0 else ''}: "
            "--include-host HOST keeps a first-party one)"
        )
    hosts = ", ".join(f"{host} ({n})" for host, n in filtered.hosts.most_common(SHOWN_HOSTS))
    more = len(filtered.hosts) - SHOWN_HOSTS
    lines.append(f"hosts: {hosts}" + (f", and {more} more" if more > 0 else ""))
    for correlation in scenario.correlations[:SHOWN]:
        lines.append(f"correlated {correlation.var}: from {correlation.source}")
        lines += [f"    sent in {sink}" for sink in correlation.sinks[:SHOWN_SINKS]]
        lines += _more(correlation.sinks, SHOWN_SINKS, "places")
    lines += _more(scenario.correlations, SHOWN, "correlations (each is commented in the file)")
    for parameter in scenario.parameters[:SHOWN]:
        lines.append(f"parameter {parameter.var} = {parameter.expr}")
    lines += _more(scenario.parameters, SHOWN, "parameters")
    warnings = [*recording.warnings, *bodies_missing(filtered)]
    lines += [f"warning: {w}" for w in warnings[:SHOWN_WARNINGS]]
    lines += _more(warnings, SHOWN_WARNINGS, "warnings")
    lines += [f"warning: {w}" for w in uncontacted(scenario)]
    lines += [f"warning: {w}" for w in anti_forgery_as_recorded(scenario)]
    lines += [f"warning: {w}" for w in encoded_whole(scenario)]
    lines.append(f"wrote {output}")
    return [redact_text(line) for line in relabeled(lines, scenario.hidden)]
