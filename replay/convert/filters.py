"""Which recorded exchanges a load test replays: the target's own requests, not the page's noise.

Static assets come from CDNs and browser caches in real traffic, third-party hosts are not
ours to load, preflights and beacons are made by the browser itself.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from publicsuffix2 import get_sld

from recorder.model import Exchange, Recording

STATIC_EXTENSIONS = frozenset(
    "css js mjs map png jpg jpeg gif svg ico webp avif bmp woff woff2 ttf otf eot "
    "mp4 webm mp3 ogg wav m4a mov wasm".split()
)
STATIC_MIME = re.compile(
    r"^(image|font|audio|video)/|^text/css|javascript|ecmascript|^application/(wasm|font|"
    r"x-font|manifest\+json)|^text/vtt"
)
STATIC_RESOURCE_TYPES = frozenset(
    {"stylesheet", "script", "image", "font", "media", "manifest", "texttrack", "imageset"}
)
ANALYTICS_HOSTS = re.compile(
    r"(^|\.)(google-analytics\.com|googletagmanager\.com|doubleclick\.net|analytics\.google\.com|"
    r"segment\.(io|com)|hotjar\.(com|io)|mixpanel\.com|sentry\.io|nr-data\.net|newrelic\.com|"
    r"optimizely\.com|fullstory\.com|amplitude\.com|clarity\.ms|scorecardresearch\.com|"
    r"omtrdc\.net|demdex\.net|bat\.bing\.com|facebook\.com|connect\.facebook\.net)$"
)
ANALYTICS_PATHS = re.compile(
    r"/(collect|g/collect|j/collect|beacon|analytics|track|tracking|pixel|rum|"
    r"b/ss/[^/]+)(/|$|\?)|\.gif\?.*(utm|pixel|event)"
    # performance reports and ad matching, wherever in the path: clientperf, usermatch, ...
    r"|client-?perf|perf-?report|user-?match|usersync|user-?sync|cookie-?sync|csp-report",
    re.IGNORECASE,
)
ANALYTICS_PATHS_LOWER = re.compile(ANALYTICS_PATHS.pattern)
"""The same, for a lower-case ASCII path: a search that ignores case takes 4 times as long."""


@dataclass(frozen=True, slots=True)
class FilterOptions:
    host: str = ""
    """Target host (name or URL); by default the registrable domain of the first document."""
    include_hosts: tuple[str, ...] = ()
    """More hosts (or registrable domains) to keep, e.g. a first-party API on another domain."""
    keep_static: bool = False


@dataclass(slots=True)
class Filtered:
    kept: list[Exchange]
    target: str
    """The scheme://host[:port] the recording replays against."""
    dropped: Counter = field(default_factory=Counter)
    hosts: Counter = field(default_factory=Counter)
    """Requests per host in the input, for the summary."""
    third_party: Counter = field(default_factory=Counter)
    """Requests per host dropped as another site's: `--include-host` keeps one."""


def filter_exchanges(recording: Recording, options: FilterOptions = FilterOptions()) -> Filtered:
    """Keep what a load test should replay, and count every drop by reason."""
    exchanges = recording.exchanges
    target = _target_origin(exchanges, options.host)
    target_host = urlsplit(target).hostname or ""
    # The public suffix list takes a twentieth of a second to load: a request to the target's
    # own host needs no registrable domain, so a capture of one host never loads it.
    allowed = functools.cache(
        lambda: {_domain(target_host), *(_domain(_hostname(h)) for h in options.include_hosts)}
    )
    result = Filtered(kept=[], target=target)
    for exchange in exchanges:
        host = exchange.request.host
        result.hosts[host] += 1
        first_party = host == target_host or _domain(host) in allowed()
        reason = _drop_reason(exchange, first_party, options) or _onto_target(exchange, target)
        if reason:
            result.dropped[reason] += 1
            if reason == "third-party host":
                result.third_party[host] += 1
        else:
            result.kept.append(exchange)
    return result


def _onto_target(exchange: Exchange, target: str) -> str:
    """A redirect from another host of the site onto the target (example.com → www.example.com,
    http → https): the site's way in, not a page of the target a load test replays."""
    location = exchange.response.header("location")
    if not (300 <= exchange.response.status < 400 and location):
        return ""
    if (
        origin(exchange.request.url) != target
        and origin(urljoin(exchange.request.url, location)) == target
    ):
        return "redirect onto the target host"
    return ""


def _drop_reason(exchange: Exchange, first_party: bool, options: FilterOptions) -> str:
    request, response = exchange.request, exchange.response
    if exchange.error or response.status <= 0:
        return "failed or aborted"
    if not first_party:
        if ANALYTICS_HOSTS.search(request.host):
            return "analytics beacon"
        return "third-party host"
    if request.method == "OPTIONS" and request.header("access-control-request-method"):
        return "CORS preflight"
    if exchange.resource_type == "ping" or _analytics_path(request.path):
        return "analytics beacon"
    if not options.keep_static and is_static(exchange):
        return "static asset"
    return ""


def _analytics_path(path: str) -> bool:
    """ANALYTICS_PATHS finds something in `path`. An ASCII path (nearly every one) is searched
    in lower case; any other as it is, where ignoring case also matches `ſ` to `s`."""
    if path.isascii():
        return ANALYTICS_PATHS_LOWER.search(path.lower()) is not None
    return ANALYTICS_PATHS.search(path) is not None


def is_static(exchange: Exchange) -> bool:
    """An asset a browser fetches for rendering: by resource type, MIME type or extension."""
    request = exchange.request
    if request.method != "GET":
        return False
    if exchange.resource_type in STATIC_RESOURCE_TYPES:
        return True
    mime = exchange.response.mime_type.split(";")[0].strip().lower()
    if STATIC_MIME.search(mime):
        return True
    path = request.path
    extension = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return extension in STATIC_EXTENSIONS or path.endswith("/favicon.ico")


def is_document(exchange: Exchange) -> bool:
    """A top-level navigation: the browser loaded (or submitted to) a page, not a frame or a
    script's fetch."""
    if (exchange.request.header("sec-fetch-dest") or "document") != "document":
        return False
    if exchange.resource_type:
        return exchange.resource_type == "document"
    accept = (exchange.request.header("accept") or "").lower()
    return accept.startswith("text/html") and exchange.request.method in ("GET", "POST")


def _target_origin(exchanges: list[Exchange], host: str) -> str:
    """The site the user visited: the first top-level page, else the busiest domain."""
    if host:
        if "://" in host:
            return host.rstrip("/")
        match = next((e for e in exchanges if e.request.host == _hostname(host)), None)
        return origin(match.request.url) if match else f"https://{host}"
    candidates = [e for e in exchanges if not e.error]
    first_page = next((e for e in candidates if is_document(e) and not is_static(e)), None)
    if first_page:
        return origin(_landing(first_page, candidates).request.url)
    if not candidates:
        return ""
    # Counted by the URL's text up to its third "/" (what decides its origin), and each of
    # those parsed once: a capture has thousands of URLs and a few origins.
    prefixes = Counter("/".join(e.request.url.split("/", 3)[:3]) for e in candidates)
    origins: Counter[str] = Counter()
    for prefix, n in prefixes.items():
        origins[origin(prefix)] += n
    return origins.most_common(1)[0][0]


def _landing(page: Exchange, exchanges: list[Exchange]) -> Exchange:
    """Where a navigation ended up after its redirects (apple.com → www.apple.com)."""
    by_url = {e.request.url: e for e in exchanges}
    seen = {page.request.url}
    while location := page.response.header("location"):
        target = by_url.get(urljoin(page.request.url, location))
        if target is None or target.request.url in seen:
            break
        seen.add(target.request.url)
        page = target
    return page


def origin(url: str) -> str:
    """scheme://host[:port], never with the user:password@ a URL may carry."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def same_site(host: str, other: str) -> bool:
    """`api.example.com` and `www.example.com` are one site (one registrable domain)."""
    host, other = _hostname(host), _hostname(other)
    return host == other or _domain(host) == _domain(other)


def _hostname(host: str) -> str:
    return ((urlsplit(host).hostname or "") if "://" in host else host.split(":")[0]).lower()


@functools.lru_cache(maxsize=4096)
def _domain(host: str) -> str:
    """The registrable domain (example.co.uk for api.example.co.uk); IPs and local names as is.
    Remembered: a capture asks about a few hosts, once for every request."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if "." not in host:
        return host
    return get_sld(host) or host
