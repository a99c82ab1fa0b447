"""Correlation's scans by `str.find` find exactly what the per-value regexes they replace find."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from replay.convert.correlate import (
    TOKEN,
    TOKEN_CHARS,
    _in_word,
    _standing,
    _typed_shown,
    token_set,
)

ALPHABET = ["a", "b", "1", "_", "-", ".", "|", "/", " ", '"', "é", "٣", "ß", "\u2028"]
texts = st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join)
values = st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=4).map("".join)


@settings(max_examples=200, deadline=None)
@example("a.a.a", "a.a")  # overlapping places: found left to right, as a regex does
@example("٣ab ab", "ab")  # a Unicode digit is a word character
@given(texts, values)
def test_a_value_stands_where_the_bounded_regex_finds_it(text, value):
    regex = rf"(?<![\w-]){re.escape(value)}(?![\w-])"
    assert list(_standing(text, value, _in_word)) == [m.start() for m in re.finditer(regex, text)]


@settings(max_examples=200, deadline=None)
@given(texts.map(lambda t: t.replace("a", "aaaaa")), st.integers(0, 3))
def test_typed_values_shown_are_the_pages_whole_tokens(text, index):
    tokens = TOKEN.findall(text)
    typed = {token: i % 4 for i, token in enumerate(tokens)}
    expected = [(m.start(), m[0]) for m in TOKEN.finditer(text) if typed.get(m[0], index) < index]
    assert _typed_shown(text, index, typed) == expected


def test_token_chars_are_the_characters_of_a_token():
    assert {c for c in map(chr, range(0x3000)) if TOKEN.fullmatch(c * 5)} == TOKEN_CHARS


@settings(max_examples=200, deadline=None)
@example("ab\x1ccdefg\tabcde:x")  # split() also parts at ASCII separators: none is a token's
@given(
    st.lists(st.sampled_from([*ALPHABET, "abcde", "\t", "\x1c", ":", "%", "=", "<"]), max_size=30)
)
def test_a_pages_tokens_are_tokens_matches(words):
    text = "".join(words)
    ascii_text = text.encode("ascii", "ignore").decode()  # the fast path's input
    for page in (text, ascii_text):
        assert token_set(page) == set(TOKEN.findall(page))
