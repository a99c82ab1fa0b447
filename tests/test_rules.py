"""Rules files (what `replay verify --fix` writes, `replay convert` reads back unchanged) and
the parameters rules and the classifier make."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from conftest import DATA
from hypothesis import given
from hypothesis import strategies as st

import recorder
from replay.convert import Options, convert
from replay.convert.rules import (
    ExtractRule,
    RulesError,
    add_extract_rules,
    parse_rules,
    read_rules,
)

# Any text a response can hold, but lone surrogates, which no UTF-8 file can.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)


@given(
    value=TEXT,
    path=TEXT,
    source=st.sampled_from(["json", "header", "cookie"]),
)
def test_every_written_rule_reads_back_as_written(value, path, source):
    """Quotes, backslashes, control characters and emoji in a recorded value or a path."""
    rule = ExtractRule("token", value, source, path)
    with tempfile.TemporaryDirectory() as folder:
        rules = Path(folder) / "checkout.rules.toml"
        assert add_extract_rules(rules, [rule]) == ["token"]
        assert parse_rules(rules.read_text(encoding="utf-8"), str(rules)).extract == (rule,)


def test_rules_are_appended_to_the_file_as_written_once_per_variable(tmp_path):
    recording = tmp_path / "checkout.py"
    rules = tmp_path / "checkout.rules.toml"
    rules.write_text('# kept by hand\n[correlation]\nignore = ["en-US"]\n', encoding="utf-8")
    basket = ExtractRule("basket_id", "8f3a", "regex", r'data-basket="([^"]+)"')
    order = ExtractRule("order_id", "42", "location", r"/orders/(\d+)")

    assert add_extract_rules(rules, [basket]) == ["basket_id"]
    assert add_extract_rules(rules, [basket, order]) == ["order_id"]

    assert rules.read_text(encoding="utf-8").startswith("# kept by hand\n")
    read = read_rules(recording)
    assert read.extract == (basket, order)
    assert read.ignore == {"en-US"}


def test_a_parameter_says_where_its_value_comes_from_as_data():
    """The kind codegen and the summary read, whether a rule or the classifier chose it: the
    recording's `credentials` come from it, not from the text of an expression."""
    rules = parse_rules(
        '[parameters]\nemail = "credential.LOGIN"\ntext = { file = "notes.csv", column = "n" }\n',
        "rules.toml",
    )
    result = convert(recorder.read(DATA / "demo-login.har"), Options(rules=rules))
    kinds = {p.var: (p.kind, p.credential) for p in result.scenario.parameters}
    assert kinds == {
        "email": ("credential", "LOGIN"),
        "password": ("credential", "password"),
        "text": ("data", ""),
    }
    assert '    credentials = ("LOGIN", "password")\n' in result.source


@pytest.mark.parametrize(
    ("rules", "says"),
    [
        (b"tool = 1\n", "[tool] must be a table"),
        (b'[tool]\nreplay = "x"\n', "[tool.replay] must be a table"),
        (b"[correlation]\nextract = 5\n", "correlation.extract must be a list"),
        (b'[parameters]\nemail = "faker.caf\xe9"\n', "not UTF-8"),
    ],
    ids=["tool", "tool.replay", "extract", "Latin-1"],
)
def test_a_rules_file_of_wrong_shape_is_a_rules_error_that_names_it(rules, says, tmp_path):
    """Not an AttributeError, TypeError or UnicodeDecodeError: convert's one-line error."""
    (tmp_path / "out.rules.toml").write_bytes(rules)
    with pytest.raises(RulesError, match=re.escape(says)) as error:
        read_rules(tmp_path / "out.py")
    assert "\n" not in str(error.value)
