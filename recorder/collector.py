"""The garbage collector, paused while a capture is read or converted."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Reading and converting a capture make millions of small objects and next to no
    reference cycles: the garbage collector walking them over and over took a quarter of a
    big capture's conversion, and a tenth of reading 40,000 entries. What cycles there are,
    it collects once it runs again."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
