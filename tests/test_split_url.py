"""A recorded URL is split by one regex when it is plain, exactly as urlsplit splits it."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from recorder.har import valid_url
from recorder.model import Request, split_by_urlsplit, split_url

SCHEMES = ["http://", "HTTPS://", "https:/", "//"]
HOSTS = ["example.com", "App.Example.COM", "127.0.0.1", "[::1]", "a b", "é.com", ""]
PORTS = ["", ":8080", ":99999", ":", ":٣", ":8x"]
TAIL = [" ", "\t", "\n", "\x00", "\u2028", "@", "user:pw@", ":", "/", "/p/1", "//", "?", "?q=/a:b",
        "#", "#/x?y", "%3A", "é"]  # fmt: skip


@settings(max_examples=500, deadline=None)
@example("http://", "example.com", "", "/a\tb")  # urlsplit drops tabs and line breaks
@example("http://", "example.com", "", " /")  # a space ends no host name
@given(
    st.sampled_from(SCHEMES),
    st.sampled_from(HOSTS),
    st.sampled_from(PORTS),
    st.lists(st.sampled_from(TAIL), max_size=4).map("".join),
)
def test_a_url_is_split_as_urlsplit_splits_it(scheme, host, port, tail):
    url = scheme + host + port + tail
    assert split_url(url) == split_by_urlsplit(url)


def test_valid_urls():
    assert valid_url("https://App.example.com:8443/a?b#c")
    for url in ("https://app.example.com:65536/", "https:///p", "https://h/\x00"):
        assert not valid_url(url), url


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(SCHEMES),
    st.sampled_from(HOSTS),
    st.sampled_from(PORTS),
    st.lists(st.sampled_from(TAIL), max_size=4).map("".join),
)
def test_a_requests_host_and_path_are_its_urls_as_urlsplit_splits_it(scheme, host, port, tail):
    request = Request("GET", scheme + host + port + tail)
    assert (request.host, request.path) == split_by_urlsplit(request.url)[::2]
