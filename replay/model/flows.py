"""Sessions → flow types: sessions that went through (nearly) the same URL templates.

A session's signature is its sequence of `METHOD /url/[id]` templates. The most common
signatures found the types; every other signature joins the type whose founder it resembles
most (difflib's ratio), if that reaches the similarity threshold, so an extra page view or a
poll stays in its type. Comparisons are per distinct signature and type, never per pair of
sessions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from urllib.parse import urlsplit

from recorder.model import Exchange
from replay.model.sessions import Session
from replay.names import class_name, url_template

SIMILARITY = 0.5
"""Signatures at least this alike (2 × matching templates ÷ both lengths) are one type."""

Signature = tuple[str, ...]


@dataclass(slots=True)
class FlowType:
    signature: Signature
    """The founder's: the most common signature of the type."""
    sessions: list[Session] = field(default_factory=list)
    name: str = ""

    def representative(self) -> Session:
        """A session that went exactly the founder's way, with no failed request if any."""
        exact = [s for s in self.sessions if signature(s) == self.signature]
        clean = [s for s in exact if all(0 < x.response.status < 500 for x in s.exchanges)]
        return (clean or exact)[0]


def template_of(exchange: Exchange) -> str:
    return f"{exchange.request.method} {url_template(urlsplit(exchange.request.url).path or '/')}"


def signature(session: Session) -> Signature:
    return tuple(template_of(x) for x in session.exchanges)


def group_sessions(sessions: list[Session], similarity: float = SIMILARITY) -> list[FlowType]:
    """Flow types, the most common first, each named after the pages that set it apart."""
    by_signature: dict[Signature, list[Session]] = {}
    for session in sessions:
        by_signature.setdefault(signature(session), []).append(session)
    types: list[FlowType] = []
    for sig, members in sorted(by_signature.items(), key=lambda item: -len(item[1])):
        best, score = None, 0.0
        for flow in types:
            matcher = SequenceMatcher(None, sig, flow.signature, autojunk=False)
            if matcher.real_quick_ratio() >= similarity and matcher.quick_ratio() >= similarity:
                ratio = matcher.ratio()
                if ratio > score:
                    best, score = flow, ratio
        if best is not None and score >= similarity:
            best.sessions += members
        else:
            types.append(FlowType(sig, list(members)))
    types.sort(key=lambda flow: -len(flow.sessions))
    _name(types)
    return types


def _name(types: list[FlowType]) -> None:
    """`ProductsVisit`, `SignupVisit`: after the first path word of the type's own pages."""
    counts = Counter(word for flow in types for word in set(_words(flow.signature)))
    seen: Counter = Counter()
    for flow in types:
        words = _words(flow.signature)
        word = next((w for w in words if counts[w] == 1), words[0] if words else "home")
        base = class_name(f"{word}_visit")
        seen[base] += 1
        flow.name = base if seen[base] == 1 else f"{base}{seen[base]}"


def _words(sig: Signature) -> list[str]:
    """First path segments in order of appearance, without ids."""
    words: list[str] = []
    for template in sig:
        path = template.split(" ", 1)[1]
        first = next((s for s in path.split("/") if s and s != "[id]"), "")
        if first and first not in words:
            words.append(first)
    return words
