"""Names: URL templates for Locust's statistics and Python identifiers for generated code."""

from __future__ import annotations

import keyword
import re

ID_SEGMENT = re.compile(
    r"""^(
        \d+                                             # numeric id
      | [0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}  # uuid
      | [0-9a-f]{8,}                                    # hex hash or object id
      | (?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}  # opaque token
    )$""",
    re.VERBOSE | re.IGNORECASE,
)


def url_template(path: str) -> str:
    """`/orders/8f3a9c21/items/7` → `/orders/[id]/items/[id]`: one stats row per endpoint."""
    return "/".join("[id]" if ID_SEGMENT.match(s) else s for s in path.split("/"))


MAX_IDENTIFIER = 40


def identifier(text: str, default: str = "value") -> str:
    """A snake_case Python identifier made from arbitrary text."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    name = re.sub(r"[^0-9a-zA-Z]+", "_", words).strip("_").lower()
    if len(name) > MAX_IDENTIFIER:  # whole words: `view_products_burr`, not `view_products_bu`
        cut = name[: MAX_IDENTIFIER + 1].rpartition("_")[0]
        name = cut if len(cut) >= MAX_IDENTIFIER // 2 else name[:MAX_IDENTIFIER].strip("_")
    if not name:
        name = default
    if name[0].isdigit():
        name = f"{default}_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def class_name(text: str) -> str:
    """`checkout-flow.har` → `CheckoutFlow`."""
    name = "".join(w.capitalize() for w in identifier(text, "recording").split("_"))
    return name if name[0].isalpha() else f"Recording{name}"
