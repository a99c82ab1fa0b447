"""What a step did, in words: the docstring of its @task ("Open the Sign up page",
"Submit the notes form", "Create an order"), from the page's title or the request's action."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from recorder.model import Exchange
from replay.names import url_template

TITLE_OPEN = re.compile(rb"<title[^<>]*>", re.I)
TITLE_CLOSE = re.compile(rb"</title", re.I)
"""Searched one after the other, never as one `<title>(.*?)</title` pattern: a page of
`<title>` without its end made that scan to the end of the page from every tag."""
SITE_SEPARATOR = re.compile(r"\s+[·|–—-]\s+")
"""Between a page's own title and the site's name: `Sign up · Bean & Brew`."""
SIGN_IN = re.compile(r"^(log-?in|sign-?in|session|sessions|auth|authenticate)$", re.I)
SIGN_OUT = re.compile(r"^(log-?out|sign-?out)$", re.I)
SIGN_UP = re.compile(r"^(sign-?up|register|registration|join)$", re.I)
LONGEST = 60


def step_title(exchanges: list[Exchange]) -> str:
    """What the user did in a step whose first request is `exchanges[0]`."""
    request = exchanges[0].request
    path = urlsplit(request.url).path or "/"
    words = [w for w in path.split("/") if w and url_template(w) == w]
    last = words[-1] if words else ""
    if request.method == "GET":
        page = next(filter(None, map(_page_title, exchanges)), "")
        if page:
            return f"Open the {page} page"
        if not words:
            return "Open the home page"
        return f"Open {url_template(path)}"
    if SIGN_IN.match(last):
        return "Sign in"
    if SIGN_OUT.match(last):
        return "Sign out"
    if SIGN_UP.match(last):
        return "Sign up"
    thing = _words(last)
    if _is_form(exchanges[0]):
        return f"Submit the {thing} form" if thing else "Submit the form"
    if not thing:
        return f"{request.method} {url_template(path)}"
    if request.method == "POST":
        return f"Create {_article(_singular(thing))} {_singular(thing)}"
    if request.method in ("PUT", "PATCH"):
        return f"Update the {_singular(thing)}"
    if request.method == "DELETE":
        return f"Delete the {_singular(thing)}"
    return f"{request.method} {url_template(path)}"


def _page_title(exchange: Exchange) -> str:
    """The HTML title of a response, without the site's name (`Sign up · Shop` → `Sign up`)."""
    if "html" not in (exchange.response.header("content-type") or exchange.response.mime_type):
        return ""
    body = exchange.response.body[:65536]
    start = TITLE_OPEN.search(body)
    end = TITLE_CLOSE.search(body, start.end()) if start else None
    if not (start and end):
        return ""
    raw = body[start.end() : end.start()]
    text = " ".join(html.unescape(raw.decode("utf-8", "replace")).split())
    title = SITE_SEPARATOR.split(text)[0].strip()
    return title if len(title) <= LONGEST else title[: LONGEST - 3] + "..."


def _is_form(exchange: Exchange) -> bool:
    kind = (exchange.request.header("content-type") or exchange.request.mime_type).lower()
    return "x-www-form-urlencoded" in kind or "multipart/form-data" in kind


def _words(segment: str) -> str:
    return " ".join(w for w in re.split(r"[-_.]+", segment) if w)


def _singular(words: str) -> str:
    """`orders` → `order`, `categories` → `category`: enough English for a docstring."""
    if words.endswith("ies") and len(words) > 4:
        return words[:-3] + "y"
    if words.endswith("s") and not words.endswith("ss") and len(words) > 3:
        return words[:-1]
    return words


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"
