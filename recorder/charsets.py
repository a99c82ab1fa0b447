"""A body's text by its charset: what a secret is judged on, whatever bytes carried it.

A body in UTF-16 or UTF-32 (a BOM, or `charset=utf-16`) or in a declared legacy charset hides
`password` from a byte search and from a UTF-8 decode. The addon decodes such a body, redacts
the text and writes it back in the same charset; the readers hand the converter the body as
UTF-8 with its `Content-Type` saying `charset=utf-8`, which is what a recording then sends.

Stdlib only: the addon is loaded by path (`mitmdump -s recorder/addon.py`) and imports this
beside it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16's: FF FE starts both
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
CHARSET = re.compile(r"""(;\s*charset\s*=\s*)["']?([^"';\s]+)["']?""", re.I)
UTF8 = frozenset({"utf-8", "ascii"})
"""Codecs (as `codecs.lookup` names them) whose bodies every stage already reads."""
TEXTUAL = re.compile(r"^\s*$|text/|json|xml|form-urlencoded|javascript|graphql", re.I)
"""Content types whose body is text: only there does a BOM say how it is encoded (an upload
of binary data may start with the same bytes)."""
Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Charset:
    codec: str
    """A Python codec with its byte order (`utf-16-le`), never one that writes a BOM itself."""
    bom: bytes = b""
    """The BOM the body starts with, written back before the text."""

    def encode(self, text: str) -> bytes:
        return self.bom + text.encode(self.codec)


def charset(body: bytes, content_type: str) -> Charset | None:
    """How `body` is encoded when that is not UTF-8: its BOM, else the charset its content
    type declares. None for UTF-8, for ASCII text in a charset that writes ASCII as ASCII
    (nothing to decode), and for a charset Python does not know as a text encoding."""
    if not body:
        return None
    if TEXTUAL.search(content_type):
        for bom, codec in BOMS:
            if body.startswith(bom):
                return Charset(codec, bom)
    info = declared_codec(content_type)
    if info is None or _reads_as_utf8(body):
        return None
    if info.name in ("utf-16", "utf-32"):  # no BOM: the byte order shows where the zeros are
        low_first = body[1::2].count(0) >= body[::2].count(0)
        return Charset(f"{info.name}-{'le' if low_first else 'be'}")
    if body.isascii() and _writes_ascii(info.name):
        return None
    return Charset(info.name)


def declared_codec(content_type: str) -> codecs.CodecInfo | None:
    """The text codec `content_type`'s charset names, when it is not UTF-8 (or ASCII)."""
    declared = CHARSET.search(content_type)
    if not declared:
        return None
    try:
        info = codecs.lookup(declared[2])
    except LookupError:
        return None
    return None if info.name in UTF8 or not info._is_text_encoding else info


def _reads_as_utf8(body: bytes) -> bool:
    """Valid UTF-8 with no NUL byte: what it says whatever its label claims. UTF-16 or -32
    text always holds zeros, and EBCDIC's letters are bytes UTF-8 refuses; read by a label
    that lies, `password=...` turned into text of no alphabet and was judged as that."""
    if 0 in body:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _writes_ascii(codec: str) -> bool:
    try:
        return "=&:".encode(codec) == b"=&:"
    except UnicodeError:
        return False


def decoded(body: bytes, content_type: str) -> tuple[str, Charset] | None:
    """`body`'s text and its charset, when it is not UTF-8, decodes cleanly and encodes back
    to the same bytes (a Python codec such as `unicode_escape` does not, nor a lossy one)."""
    found = charset(body, content_type)
    if found is None:
        return None
    try:
        text = body[len(found.bom) :].decode(found.codec)
        return (text, found) if found.encode(text) == body else None
    except UnicodeError:
        return None


def in_utf8(
    body: bytes, mime: str, headers: Headers, declared: int, text: bool = False
) -> tuple[bytes, str, Headers, int]:
    """A request's body, MIME type, headers and declared body size, with a body in another
    charset made UTF-8, its `Content-Type` saying so (what a recording sends; JSON is UTF-8
    by RFC 8259, and a server that reads the declared charset reads this one) and its size
    what it is now (a body the source lost stays short by as much). With `text`, `body` is
    already the UTF-8 of decoded text (a HAR's `postData.text`): only the declaration
    changes."""
    if not body:
        return body, mime, headers, declared
    content_type = mime or next((v for k, v in headers if k.lower() == "content-type"), "")
    if text:
        utf8 = body if declared_codec(content_type) is not None else None
    else:
        found = decoded(body, content_type)
        utf8 = found[0].encode("utf-8", "surrogatepass") if found else None
    if utf8 is None:
        return body, mime, headers, declared
    headers = tuple(
        (name, declared_utf8(value)) if name.lower() == "content-type" else (name, value)
        for name, value in headers
    )
    return utf8, declared_utf8(mime), headers, max(declared - len(body) + len(utf8), 0)


def declared_utf8(content_type: str) -> str:
    """`content_type` with its charset, if it has one, said to be UTF-8."""
    return CHARSET.sub(r"\1utf-8", content_type, count=1)
