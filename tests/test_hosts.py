"""Origins in requests are found without a regex of every origin, exactly as that regex would.

`substitute_origins` looks each `://` up instead of compiling one alternation of all the
recording's origins (seconds for thousands of subdomains); the regex stays the reference.
"""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from replay.convert.hosts import NOT_HOST, substitute_origins
from replay.convert.scenario import Ref, substitute_all

ORIGINS = [
    "https://app.example.com",
    "http://app.example.com",
    "https://api.example.com:8443",
    "http://127.0.0.1:8000",
    "https://a.b",
]
PIECES = [
    *ORIGINS,
    *(quote(o, safe="") for o in ORIGINS),
    "://",
    "%3A%2F%2F",
    "%3a",
    "%3A",
    ":",
    "@",
    "/",
    "?x=",
    "&",
    "s",
    "x",
    ".",
    "-",
    "0",
    "%",
    " ",
]


def refs(origins: list[str]) -> dict[str, Ref]:
    plain = {o: Ref(f"self.host_{i}") for i, o in enumerate(origins)}
    return {**{quote(o, safe=""): Ref(r.expr, "url") for o, r in plain.items()}, **plain}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(ORIGINS), min_size=1, unique=True),
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
)
def test_origins_are_found_as_the_regex_finds_them(origins, text):
    keys = refs(origins)
    assert substitute_origins(keys)(text) == substitute_all(keys, NOT_HOST)(text)


def test_an_origin_the_lookup_cannot_take_goes_to_the_regex():
    keys = refs(["http://[::1]:8000", "https://app.example.com"])
    text = "next=http://[::1]:8000/a&back=https%3A%2F%2Fapp.example.com%2Fb"
    assert substitute_origins(keys)(text) == substitute_all(keys, NOT_HOST)(text) != text
