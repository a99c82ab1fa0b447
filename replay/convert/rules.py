"""The user's rules for a recording, kept beside it so re-running `replay convert` keeps them.

This module alone reads and writes rules files: `read_rules` for `replay convert`,
`add_extract_rules` for `replay verify --fix`.

`recordings/NAME.rules.toml` (or `[tool.replay]` in pyproject.toml for every recording):

    [correlation]
    ignore = ["en-US", "cart_id"]        # recorded values or variable names never to correlate

    [[correlation.extract]]              # a correlation the engine did not find
    var = "basket_id"
    value = "8f3a9c21"                   # the recorded value, replaced wherever it is sent
    json = "basket.id"                   # or: header = "X-Basket", cookie = "basket",
                                         #     regex = 'data-basket="([^"]+)"',
                                         #     location = '/baskets/([^/?]+)'

    [parameters]                         # by field name (form field, JSON key, query name)
    email = "unique.email"               # self.unique.email()
    city = "faker.city"                  # self.fake.city()
    coupon = { constant = "WELCOME10" }  # sent as recorded text, never parameterized
    sku = { file = "data/skus.csv", column = "sku" }            # a row per user
    store = { file = "data/stores.csv", column = "id", shared = true }  # round-robin
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from replay.convert.literals import literal
from replay.convert.scenario import ParameterKind
from replay.names import TAKEN

SOURCES = ("json", "header", "cookie", "regex", "location")
PATTERN_SOURCES = ("regex", "location")
"""Sources whose path is a regular expression with one group (over the body, over Location)."""
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""An ASCII Python name, matched whole (`fullmatch`: `$` would accept a trailing newline)."""

logger = logging.getLogger("replay")


class RulesError(Exception):
    """A rules file that cannot be applied; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class ExtractRule:
    var: str
    value: str
    source: str
    path: str


@dataclass(frozen=True, slots=True)
class ParameterRule:
    field: str
    expr: str
    """The Python expression sent instead of the recorded value."""
    kind: ParameterKind
    credential: str = ""
    """The credential's name, for `credential.NAME`."""


@dataclass(frozen=True, slots=True)
class Rules:
    ignore: frozenset[str] = frozenset()
    extract: tuple[ExtractRule, ...] = ()
    parameters: dict[str, ParameterRule] = field(default_factory=dict)


NO_RULES = Rules()


def rules_path(recording: Path) -> Path:
    """recordings/checkout.py → recordings/checkout.rules.toml"""
    return recording.with_suffix(".rules.toml")


def read_rules(recording: Path) -> Rules:
    """The rules beside the recording, else `[tool.replay]` of ./pyproject.toml, else none."""
    for path in (rules_path(recording), Path("pyproject.toml")):
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as e:
                raise RulesError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
            if path.name != "pyproject.toml" or "[tool.replay" in text:
                logger.info("rules from %s", path)
                return parse_rules(text, str(path))
    return NO_RULES


def add_extract_rules(path: Path, rules: Sequence[ExtractRule]) -> list[str]:
    """Append the rules for values the file does not hold yet, keeping the file as written
    (its comments too); the variables added."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    written = parse_rules(existing, str(path)).extract
    named, values = {rule.var for rule in written}, {rule.value for rule in written}
    new = []
    for rule in rules:  # a value once; a name taken by another value is numbered
        if rule.value not in values:
            var, n = rule.var, 1
            while var in named:
                n += 1
                var = f"{rule.var}_{n}"
            named.add(var)
            new.append(ExtractRule(var, rule.value, rule.source, rule.path))
    if new:
        text = existing.rstrip("\n") + ("\n\n" if existing.strip() else "")
        text += "\n\n".join(extract_rule_text(rule) for rule in new) + "\n"
        path.write_text(text, encoding="utf-8")
    return [rule.var for rule in new]


def extract_rule_text(rule: ExtractRule) -> str:
    """The `[[correlation.extract]]` table for `rule`, as `parse_rules` reads it back."""
    return "\n".join(
        [
            "[[correlation.extract]]",
            f"var = {toml_string(rule.var)}",
            f"value = {toml_string(rule.value)}",
            f"{rule.source} = {toml_string(rule.path)}",
        ]
    )


def toml_string(text: str) -> str:
    """A literal string when it can hold `text` (regexes read as written), else a basic one."""
    if "'" not in text and all(c == "\t" or " " <= c != "\x7f" for c in text):
        return f"'{text}'"
    return '"' + "".join(TOML_ESCAPES.get(c) or _toml_char(c) for c in text) + '"'


TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _toml_char(c: str) -> str:
    """Control characters as TOML's \\uXXXX; everything else as itself (UTF-8 in the file)."""
    return f"\\u{ord(c):04x}" if c < " " or c == "\x7f" else c


def parse_rules(text: str, source: str) -> Rules:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RulesError(f"{source}: not valid TOML ({e})") from None
    tool = _table(document, "tool", source)
    if "replay" in tool:
        document = _table(tool, "replay", source, "tool.replay")
    correlation = _table(document, "correlation", source)
    ignore = correlation.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(v, str) for v in ignore):
        raise RulesError(f"{source}: correlation.ignore must be a list of strings")
    extract = correlation.get("extract", [])
    if not isinstance(extract, list):
        raise RulesError(f"{source}: correlation.extract must be a list of [[correlation.extract]]")
    return Rules(
        ignore=frozenset(ignore),
        extract=tuple(_extract(rule, source) for rule in extract),
        parameters={
            name: _parameter(name, spec, source)
            for name, spec in _table(document, "parameters", source).items()
        },
    )


def _table(document: dict, name: str, source: str, path: str = "") -> dict:
    table = document.get(name, {})
    if not isinstance(table, dict):
        raise RulesError(f"{source}: [{path or name}] must be a table")
    return table


def _extract(rule, source: str) -> ExtractRule:
    if not isinstance(rule, dict):
        raise RulesError(f"{source}: each [[correlation.extract]] must be a table")
    var, value = rule.get("var"), rule.get("value")
    if not isinstance(var, str) or not IDENTIFIER.fullmatch(var) or var in TAKEN:
        raise RulesError(
            f"{source}: correlation.extract needs var = a Python name that is not a keyword, "
            f"a builtin or a name RecordedSession uses, got {var!r}"
        )
    if not isinstance(value, str) or not value:
        raise RulesError(f"{source}: correlation.extract {var}: value = the recorded value")
    given = [s for s in SOURCES if s in rule]
    if len(given) != 1 or not isinstance(rule[given[0]], str):
        raise RulesError(f"{source}: correlation.extract {var}: give one of {', '.join(SOURCES)}")
    if given[0] in PATTERN_SOURCES:
        try:
            if re.compile(rule[given[0]]).groups != 1:
                raise RulesError(f"{source}: correlation.extract {var}: regex needs one group")
        except re.error as e:
            raise RulesError(f"{source}: correlation.extract {var}: bad regex ({e})") from None
    return ExtractRule(var, value, given[0], rule[given[0]])


def _parameter(name: str, spec, source: str) -> ParameterRule:
    if isinstance(spec, str):
        kind, _, provider = spec.partition(".")
        if kind in ("faker", "unique") and IDENTIFIER.fullmatch(provider):
            owner = "fake" if kind == "faker" else "unique"
            return ParameterRule(name, f"self.{owner}.{provider}()", "generated")
        if kind == "credential" and IDENTIFIER.fullmatch(provider):
            return ParameterRule(
                name, f"self.credential({literal(provider)})", "credential", provider
            )
    elif isinstance(spec, dict) and isinstance(spec.get("constant"), str | int | float):
        return ParameterRule(name, literal(spec["constant"]), "constant")
    elif isinstance(spec, dict) and isinstance(spec.get("file"), str) and "column" in spec:
        shared = ", shared=True" if spec.get("shared") else ""
        file, column = literal(spec["file"]), literal(str(spec["column"]))
        return ParameterRule(name, f"self.data({file}, {column}{shared})", "data")
    raise RulesError(
        f'{source}: parameters.{name}: use "faker.PROVIDER", "unique.email", '
        '"credential.NAME", { constant = ... } or { file = "x.csv", column = "c" }'
    )
