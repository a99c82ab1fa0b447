"""Names: URL templates for Locust's statistics and Python identifiers for generated code."""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata

PATH_PARAMETERS = re.compile(r";[^/]*")
"""`;jsessionid=...` after a segment: where a server rewrites a session id into a URL, never
part of an endpoint."""
ID_SEGMENT = re.compile(
    r"""(?<![^/])(?:
        \d+                                             # numeric id
      | [0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}  # uuid
      | [0-9a-f]{8,}                                    # hex hash or object id
      | (?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}  # opaque token
      | eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+                # JWT
    )\n?(?=/|\Z)""",
    re.VERBOSE | re.IGNORECASE,
)
"""A path segment that is an id, whole (with a line break after it, which only a hostile
capture has in a URL: one segment matched alone by `^...$` would take that too)."""

MODULE_NAMES = frozenset(
    "RecordedSession task json_path header cookie regex location urlencoded single_pass "
    "run_single_user HEADERS self".split()
)
"""Names a generated module imports or defines itself."""
SESSION_NAMES = frozenset(
    "basic_auth capture client credential credentials data default_headers delete "
    "execute_next_task execute_task fake finish get get_next_task host interrupt live_origin "
    "locale max_wait min_wait now now_ms on_start on_stop parent patch post prepare put "
    "recorded_host request run schedule_task slugify step tasks think unique user uuid wait "
    "wait_function wait_time weight".split()
)
"""Attributes a RecordedSession has (a test holds this list to the class): a variable or a
step of that name would replace them."""
TAKEN = MODULE_NAMES | SESSION_NAMES | frozenset(dir(builtins)) | frozenset(keyword.kwlist)
MAX_IDENTIFIER = 40
SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


def url_template(path: str) -> str:
    """`/orders/8f3a9c21/items/7` → `/orders/[id]/items/[id]`: one stats row per endpoint.
    Path parameters (`/cart;jsessionid=...`) are left out."""
    if ";" in path:
        path = PATH_PARAMETERS.sub("", path)
    return ID_SEGMENT.sub("[id]", path)  # one pass, not a match per segment: every request has one


def identifier(
    text: str,
    default: str = "value",
    *,
    style: str = "snake",
    taken: set[str] | None = None,
    last: dict[str, int] | None = None,
) -> str:
    """The one way generated code gets a name from recorded text (a field, a header, a host).

    The name is ASCII letters, digits and underscores, so NFKC normalisation (which Python
    applies to identifiers) leaves it as it is: `ᵗᵃˢᵏ` cannot become `task`. It never starts
    with a digit and is never a keyword, a builtin, a name the module imports or a
    RecordedSession attribute (those get a trailing `_`). With `taken`, it is also none of
    those names (`_2`, `_3`... is added, see `numbered`; pass the same `last` for every
    name of one `taken`) and joins them. `style`: snake_case, UPPER_CASE
    (constants) or CamelCase (classes).
    """
    if len(text) <= MAX_IDENTIFIER and SNAKE_CASE.fullmatch(text):
        name = text  # already what the steps below make of it: a field's name, mostly
    else:
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", ascii_text)
        name = re.sub(r"[^0-9a-zA-Z]+", "_", words).strip("_").lower()
    if len(name) > MAX_IDENTIFIER:  # whole words: `view_products_burr`, not `view_products_bu`
        cut = name[: MAX_IDENTIFIER + 1].rpartition("_")[0]
        name = cut if len(cut) >= MAX_IDENTIFIER // 2 else name[:MAX_IDENTIFIER].strip("_")
    if not name:
        name = default
    if name[0].isdigit():
        name = f"{default}_{name}"
    if style == "upper":
        name = name.upper()
    elif style == "camel":
        name = "".join(w.capitalize() for w in name.split("_"))
    if name in TAKEN:
        name += "_"
    if taken is not None:
        name = numbered(name, taken, {} if last is None else last)
    return name


def numbered(base: str, taken: set[str], last: dict[str, int]) -> str:
    """`base`, else `base_2`, `base_3`...: the first name not in `taken`, which it joins.
    `last` keeps the number each base stopped at, so thousands of names made from one base
    cost one step each rather than a count from 1 every time."""
    n = last.get(base, 1)
    name = base if n == 1 else f"{base}_{n}"
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    last[base] = n
    taken.add(name)
    return name


def class_name(text: str) -> str:
    """`checkout-flow.har` → `CheckoutFlow`."""
    return identifier(text, "recording", style="camel")


def slugify(text: str) -> str:
    """What a page's script or the server makes of a title for a URL, as Django does:
    `Spring opening hours 2` → `spring-opening-hours-2`."""
    text = re.sub(r"[^\w\s-]", "", str(text).lower())
    return re.sub(r"[-\s]+", "-", text).strip("-_")
