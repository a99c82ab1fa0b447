"""The captures `replay model` reads, as one recording of many users' requests.

Proxy captures are read in two passes: first without bodies (but the small JSON answers that
may hand a visitor a token), which is all that splitting sessions and counting arrivals needs;
then, in full, only the exchanges of the sessions that get converted. The build's memory stays
a fraction of the capture's size. HAR files, flow files and access logs are read whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import recorder
from recorder.accesslog import is_access_log, read_access_log
from recorder.flows import exchanges_at, scan_capture
from recorder.model import Exchange, Recording
from replay.model.sessions import reads_body


@dataclass(slots=True)
class Captures:
    recording: Recording
    lines: dict[int, tuple[Path, int]] = field(default_factory=dict)
    """Where each light exchange's line starts, by `id()` of the exchange."""

    def full(self, exchanges: Sequence[Exchange]) -> list[Exchange]:
        """The exchanges with their bodies, read again from their captures."""
        places = [self.lines.get(id(x)) for x in exchanges]
        wanted: dict[Path, list[int]] = {}
        for place in places:
            if place is not None:
                wanted.setdefault(place[0], []).append(place[1])
        found = {
            (path, offset): x
            for path, offsets in wanted.items()
            for offset, x in zip(offsets, exchanges_at(path, offsets), strict=True)
        }
        return [
            x if place is None else found[place] for x, place in zip(exchanges, places, strict=True)
        ]


def read_captures(paths: Sequence[Path], host: str) -> Captures:
    """Every capture (or access log) as one recording, in the order the requests started."""
    origin = host if "://" in host else f"http://{host or 'localhost'}"
    captures = Captures(Recording(source=str(paths[0])))
    recordings = []
    for path in paths:
        if path.is_file() and is_access_log(path):
            recordings.append(read_access_log(path, origin))
        elif recorder.is_capture(path):
            recording, offsets = scan_capture(path, keep_body=reads_body)
            captures.lines.update((key, (path, offset)) for key, offset in offsets.items())
            recordings.append(recording)
        else:
            recordings.append(recorder.read(path))
    if len(recordings) == 1:
        captures.recording = recordings[0]
        return captures
    merged = Recording(
        source=f"{paths[0]} and {len(paths) - 1} more", creator=recordings[0].creator
    )
    for recording in recordings:
        merged.exchanges += recording.exchanges
        merged.warnings += recording.warnings
        for reason, count in recording.skipped.items():
            merged.skipped[reason] = merged.skipped.get(reason, 0) + count
    merged.exchanges.sort(key=lambda x: x.started)
    captures.recording = merged
    return captures
