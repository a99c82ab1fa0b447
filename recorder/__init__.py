"""Capture: traffic → Recording. `read(path)` reads any capture file the recorder knows.

The readers load mitmproxy or haralyzer, so they are imported when a file of theirs is read:
`recorder.model` stays importable without either.
"""

from __future__ import annotations

import json
from pathlib import Path

from recorder.model import CaptureError, Recording

BOM = b"\xef\xbb\xbf"


def read(path: str | Path) -> Recording:
    """A HAR file, the addon's JSON-lines capture or a mitmproxy flow file, by content rather
    than by extension; CaptureError with a one-line reason for anything else."""
    path = Path(path)
    head = _head(path)
    try:
        if head.startswith(b"{") and _is_capture(head):
            from recorder.flows import read_capture

            return read_capture(path)
        if head[:1] in (b"{", b"["):  # JSON that is not a capture: a HAR, or one gone wrong
            from recorder.har import read_har

            return read_har(path)
        if head[:1].isdigit():  # a flow file starts with the length of its first flow
            from recorder.flows import read_mitm_flows

            return read_mitm_flows(path)
    except RecursionError:
        raise CaptureError(f"{path}: not a capture file (nested too deeply)") from None
    raise CaptureError(f"{path}: not a HAR file, a capture or a mitmproxy flow file")


def is_capture(path: str | Path) -> bool:
    """Whether `path` is the addon's JSON-lines capture (CaptureError if it is not readable)."""
    head = _head(Path(path))
    return head.startswith(b"{") and _is_capture(head)


def _head(path: Path) -> bytes:
    """The first bytes of a regular, non-empty file, past a BOM and white space."""
    if path.is_dir():
        raise CaptureError(f"{path}: is a directory, not a capture file")
    if not path.exists():
        raise CaptureError(f"{path}: no such file")
    if not path.is_file():  # a FIFO or a device would block or never end
        raise CaptureError(f"{path}: not a regular file")
    try:
        with path.open("rb") as f:
            head = f.read(4096).removeprefix(BOM).lstrip()
    except OSError as e:
        raise CaptureError(f"{path}: cannot read: {e.strerror or e}") from None
    if not head:
        raise CaptureError(f"{path}: empty file, not a capture")
    return head


def _is_capture(head: bytes) -> bool:
    """Whether the first line is a capture header: an object naming its `format` (the capture
    reader then checks which format and version)."""
    try:
        first = json.loads(head.split(b"\n", 1)[0])
    except ValueError:
        return False
    return isinstance(first, dict) and "format" in first
