"""What `replay model` tells the user and writes beside the recordings besides the modules:
the summary, and the flow types' weights in replay.toml."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path

from replay.model.build import Built
from replay.model.file import PAGE_FILE, ModelError, read_model

BEGIN = "# --- replay model: flow type weights (rewritten by every `replay model`) ---"
END = "# --- end of replay model weights ---"
BLOCK = re.compile(rf"\n*{re.escape(BEGIN)}.*?{re.escape(END)}\n?", re.DOTALL)


def with_weights(settings: Path, built: Built) -> str:
    """replay.toml with `[recording.NAME] weight = sessions` per type in a block of its own,
    so the user's profiles and other recordings' tables stay as they are."""
    text = settings.read_text(encoding="utf-8") if settings.is_file() else ""
    rest = BLOCK.sub("\n", text).strip()
    try:
        tables = tomllib.loads(rest).get("recording", {})
    except tomllib.TOMLDecodeError as e:
        raise ModelError(f"{settings}: {e}") from None
    clash = sorted(set(tables) & {flow.type.name for flow in built.flows})
    if clash:
        raise ModelError(
            f"{settings}: [recording.{clash[0]}] is set outside the block replay model writes; "
            "remove it or model into another folder"
        )
    block = [BEGIN]
    for flow in built.flows:
        block += [f"[recording.{flow.type.name}]", f"weight = {flow.model.sessions}", ""]
    block[-1] = END
    return (f"{rest}\n\n" if rest else "") + "\n".join(block) + "\n"


def stale_recordings(model_file: Path, built: Built) -> list[Path]:
    """The recordings an earlier model wrote into this folder for types this one no longer has:
    a plain `replay run` would still load them. Only modules that model.toml names."""
    try:
        earlier = read_model(model_file)
    except ModelError:
        return []
    current = {flow.model.module for flow in built.flows}
    return [
        model_file.parent / flow.module
        for flow in earlier.types
        if flow.module not in current
        and Path(flow.module).name == flow.module
        and flow.module.endswith(".py")
        and (model_file.parent / flow.module).is_file()
    ]


def summary(built: Built, folder: Path, removed: Sequence[Path] = ()) -> list[str]:
    model = built.model
    per = "second" if model.interval == 1 else f"{model.interval:g} s"
    peak = max(model.counts)
    lines = [
        f"{built.sessions} sessions in {len(built.flows)} flow types; arrivals per {per} over "
        f"{model.span:g} s: mean {model.sessions / len(model.counts):.1f}, peak {peak}",
    ]
    for reason, count in sorted(built.dropped.items(), key=lambda item: -item[1]):
        lines.append(f"  dropped {count:5d}  {reason}")
    for flow in built.flows:
        m = flow.model
        lines.append(
            f"{m.name:24s} {m.share:6.1%}  {m.sessions:6d} sessions  "
            f"{len(flow.result.scenario.steps)} steps, {m.duration:.1f} s  -> {folder / m.module}"
        )
        lines += [f"    e.g. {url}" for url in m.examples]
    lines += [f"removed {path}: the earlier model's type is gone" for path in removed]
    lines.append(f"wrote {folder / 'model.toml'} and the weights in {folder / 'replay.toml'}")
    lines.append(f"look at the model: {folder / PAGE_FILE}")
    return lines
