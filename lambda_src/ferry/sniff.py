"""File type from the first bytes (magic numbers), never from the name alone.

:func:`sniff` needs only a prefix of the file (a ranged GET of
``limits.sniff_bytes``). Text types are told apart conservatively: JSON when the
first character opens an object or array, XML when it opens a tag, CSV when at
least two lines split into the same number (>1) of fields on one delimiter;
otherwise ``text`` if the bytes are UTF-8 without control characters, else ``binary``.
"""

from __future__ import annotations

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # empty archive
    (b"PK\x07\x08", "zip"),  # spanned archive
    (b"\x1f\x8b", "gzip"),
)

MIME_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "tiff": "image/tiff",
    "zip": "application/zip",
    "gzip": "application/gzip",
    "json": "application/json",
    "csv": "text/csv",
    "text": "text/plain",
    "xml": "application/xml",
    "binary": "application/octet-stream",
    "empty": "application/octet-stream",
}

_DELIMITERS = (",", ";", "\t", "|")
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f"}


def _as_text(head: bytes, complete: bool) -> str | None:
    """The prefix as text if it is UTF-8 without control characters (a cut-off tail is fine)."""
    data = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        if complete or err.start < len(data) - 3:
            return None
        text = data[: err.start].decode("utf-8")
    if any((ord(c) < 32 and c not in _ALLOWED_CONTROLS) or ord(c) == 127 for c in text):
        return None
    return text


def _is_csv(text: str, complete: bool) -> bool:
    lines = text.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    lines = [line for line in lines if line.strip()]
    if len(lines) < 2:
        return False
    for delimiter in _DELIMITERS:
        counts = {line.count(delimiter) for line in lines}
        if len(counts) == 1 and counts.pop() >= 1:
            return True
    return False


def sniff(head: bytes, *, complete: bool = False) -> str:
    """The file type of a file starting with ``head`` (``complete``: head is the whole file)."""
    if not head:
        return "empty"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    text = _as_text(head, complete)
    if text is None:
        return "binary"
    stripped = text.lstrip()
    if not stripped:
        return "text"
    if stripped[0] in "{[":
        return "json"
    if stripped.startswith("<"):
        return "xml"
    if _is_csv(text, complete):
        return "csv"
    return "text"
