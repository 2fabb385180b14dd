"""File names: what a server offers, what is safe on disk, and where a download goes.

* `parse_content_disposition` reads the (untrusted) file name a server offers (RFC 6266 /
  RFC 5987);
* `safe_filename` is *the* sanitiser: whatever it returns is a single, portable path
  component that cannot escape a directory (`safe_message_dirname` does the same for AS2
  message ids, injectively);
* `resolve_destination` maps a user's `dest` (a directory or a file path) plus a server
  name to the final path; `ensure_directory` makes the directories a download needs (and
  says which, so `remove_created_directories` can undo them), with
  `NotADirectoryDestinationError` when a file is in the way.

This module knows nothing of HTTP. `as2gw_async.files` re-exports every public name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote_to_bytes

from .errors import NotADirectoryDestinationError

__all__ = [
    "ensure_directory",
    "parse_content_disposition",
    "remove_created_directories",
    "resolve_destination",
    "safe_filename",
    "safe_message_dirname",
]

# --------------------------------------------------------------------------------------------
# Content-Disposition (RFC 6266 / RFC 5987)
# --------------------------------------------------------------------------------------------

_PARAM_START = re.compile(r"\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*=")


def parse_content_disposition(value: str | None) -> str | None:
    """Return the file name offered by a Content-Disposition header, or None.

    Understands ``filename=plain.txt``, ``filename="quoted \\"x\\".txt"`` and the RFC 5987
    form ``filename*=UTF-8''%E2%82%AC%20rates.txt`` (also ``ISO-8859-1''``), which wins over
    ``filename`` when both are present. Parameter names are case-insensitive. Junk yields
    None instead of an exception. The result is *untrusted*: pass it to `safe_filename`.

    >>> parse_content_disposition("attachment; filename*=UTF-8''%E2%82%AC.txt")
    '€.txt'
    """
    if not value:
        return None
    try:
        params = _parse_params(value)
        extended = params.get("filename*")
        if extended is not None:
            decoded = _decode_rfc5987(extended)
            if decoded:
                return decoded
        plain = params.get("filename")
    except Exception:  # pragma: no cover - the parser is total; belt and braces for junk
        return None
    return plain or None


def _parse_params(value: str) -> dict[str, str]:
    """Split ``type; a=b; c="d"`` into lower-cased parameter names and values."""
    params: dict[str, str] = {}
    n = len(value)
    i = 0
    first = value.split(";", 1)[0]
    if "=" not in first:  # the disposition type ("attachment", "inline", ...)
        i = len(first)
    while i < n:
        while i < n and value[i] in " \t;":
            i += 1
        j = i
        while j < n and value[j] not in "=;":
            j += 1
        name = value[i:j].strip().lower()
        if j >= n or value[j] == ";":  # a bare word without "=": ignore it
            i = j
            continue
        j += 1
        while j < n and value[j] in " \t":
            j += 1
        if j < n and value[j] == '"':
            buf: list[str] = []
            j += 1
            while j < n and value[j] != '"':
                if value[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(value[j])
                j += 1
            param_value = "".join(buf)
            end = value.find(";", j)
        else:
            # Tolerate an unquoted value holding ";" (the gateway sends filename=<name> as is):
            # it only ends at a ";" that starts another name=value parameter.
            end = value.find(";", j)
            while end >= 0 and not _PARAM_START.match(value, end + 1):
                end = value.find(";", end + 1)
            param_value = value[j : n if end < 0 else end].strip()
        i = n if end < 0 else end
        if name and name not in params:
            params[name] = param_value
    return params


def _decode_rfc5987(value: str) -> str | None:
    """Decode ``charset'language'percent-encoded`` (RFC 5987 ext-value) or return None."""
    parts = value.split("'", 2)
    if len(parts) != 3:
        return None
    charset, _language, encoded = parts
    charset = charset.strip().lower() or "utf-8"
    if charset not in ("utf-8", "utf8", "iso-8859-1", "latin-1", "latin1", "us-ascii"):
        return None
    try:
        return unquote_to_bytes(encoded.strip()).decode(charset)
    except (UnicodeDecodeError, LookupError):
        return None


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

_WINDOWS_INVALID = re.compile(r'[<>:"/\\|?*]')
_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3"}
)
# Bidirectional overrides and marks can disguise an extension ("invoice\u202etxt.exe").
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_MAX_KEPT_EXTENSION = 32


def safe_filename(name: str | None, *, default: str = "attachment", max_length: int = 255) -> str:
    """Turn an untrusted name into one safe, portable file name (never a path).

    Rules, in order: keep only the last path component (both ``/`` and ``\\`` separate);
    NFC-normalise; drop control characters, lone surrogates and bidi overrides; replace
    ``<>:"/\\|?*`` with ``_``; strip leading and trailing dots and spaces (Windows drops
    trailing ones; a leading dot would hide the file and could clash with our ``.part``
    temporaries); prefix Windows device names (``CON``, ``nul.txt``, ``COM1``...) with ``_``;
    cap the UTF-8 length at *max_length* bytes, keeping a short extension. An empty result,
    ``.`` or ``..`` gives *default* (itself sanitised).

    >>> safe_filename("../../etc/passwd"), safe_filename("CON.txt"), safe_filename("..")
    ('passwd', '_CON.txt', 'attachment')
    """
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    return (
        _sanitize(name, max_length)
        or _sanitize(default, max_length)
        or _sanitize("attachment", max_length)
        or "_"
    )


def _sanitize(name: str | None, max_length: int) -> str:
    if not name:
        return ""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        ch
        for ch in name
        if ch not in _BIDI_CONTROLS and unicodedata.category(ch) not in ("Cc", "Cs")
    )
    name = _WINDOWS_INVALID.sub("_", name).strip(". ")
    if not name:
        return ""
    name = _fit(name, max_length)
    if _is_reserved(name):
        name = _fit("_" + name, max_length)
    return name


def _is_reserved(name: str) -> bool:
    """True for Windows device names, with or without extension, in any case."""
    return name.split(".", 1)[0].rstrip(" ").upper() in _RESERVED_NAMES


def _truncate_utf8(text: str, max_bytes: int) -> str:
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def _fit(name: str, max_bytes: int) -> str:
    """Cap *name* at *max_bytes* of UTF-8, keeping a short extension when there is room."""
    if len(name.encode("utf-8")) <= max_bytes:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem:
        suffix = "." + ext
        size = len(suffix.encode("utf-8"))
        if size <= min(_MAX_KEPT_EXTENSION, max_bytes // 2):
            kept = _truncate_utf8(stem, max_bytes - size).rstrip(". ")
            if kept:
                return kept + suffix
    return _truncate_utf8(name, max_bytes).rstrip(". ")


_CLEAN_MESSAGE_ID = re.compile(r"[a-z0-9](?:[a-z0-9@._+=-]*[a-z0-9@_+=-])?")
_UNSAFE_DIR_CHARS = re.compile(r"[^A-Za-z0-9@._+=-]+")
_MAX_DIRNAME_TEXT = 100


def safe_message_dirname(message_id: str) -> str:
    """Map an AS2 message id to a stable, safe, readable and collision-free directory name.

    ``<id>`` whose inside is already plain lower-case ASCII (``[a-z0-9@._+=-]``, at most 100
    characters, not a device name) becomes just that inside. Anything else is sanitised and
    gets ``~`` plus 16 hex digits of the SHA-256 of the exact original id, so two different ids
    never share a directory, not even on case-insensitive file systems (plain names contain
    neither ``~`` nor upper case, so they cannot equal a hashed one).

    >>> safe_message_dirname("<90766548.41.1573209810390@as2gateway.com>")
    '90766548.41.1573209810390@as2gateway.com'
    >>> safe_message_dirname("<A/B@x>")  # doctest: +ELLIPSIS
    'A_B@x~...'
    """
    inner: str | None = None
    if len(message_id) >= 2 and message_id[0] == "<" and message_id[-1] == ">":
        inner = message_id[1:-1]
        if (
            len(inner) <= _MAX_DIRNAME_TEXT
            and _CLEAN_MESSAGE_ID.fullmatch(inner)
            and not _is_reserved(inner)
        ):
            return inner
    text = _UNSAFE_DIR_CHARS.sub("_", message_id if inner is None else inner)
    text = text[:_MAX_DIRNAME_TEXT].strip("._-") or "message"
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    name = f"{text}~{digest}"
    return "_" + name if _is_reserved(name) else name  # "CON.x~..." is a device name too


def resolve_destination(
    dest: str | os.PathLike[str], server_name: str | None, *, default_name: str
) -> Path:
    """Return the path a download to *dest* should be written to.

    If *dest* is an existing directory or ends with a path separator, the file goes inside
    it (the directory is created if needed) under ``safe_filename(server_name)``, falling back
    to *default_name*. Otherwise *dest* is the exact file path, chosen by the caller; its
    parent directory is created if missing.

    >>> resolve_destination("out/", "../../x.txt", default_name="m.bin")  # doctest: +SKIP
    PosixPath('out/x.txt')
    """
    text = os.fspath(dest)
    path = Path(text)
    separators = (os.sep, os.altsep or os.sep, "/")
    if path.is_dir():  # the common case: one stat, no mkdir
        return path / safe_filename(server_name, default=default_name)
    if text.endswith(separators):
        ensure_directory(path)
        return path / safe_filename(server_name, default=default_name)
    ensure_directory(path.parent)
    return path


def ensure_directory(path: str | os.PathLike[str], created: list[Path] | None = None) -> list[Path]:
    """Create *path* and its missing parents; return the directories made, outermost first.

    What it returns is exactly what a failed operation must remove again (with
    `remove_created_directories`) to leave no empty directory behind; each one is also
    appended to *created* the moment it exists, so a caller cancelled meanwhile still
    knows it. A *path*, or a parent
    of it, that exists and is not a directory raises `NotADirectoryDestinationError`
    (a `NotADirectoryError`) naming it.
    """
    target = Path(path)
    missing: list[Path] = []
    directory = target
    while not directory.is_dir():
        if os.path.lexists(directory):  # a file, a dangling symlink, a socket...
            raise NotADirectoryDestinationError(directory)
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    made: list[Path] = []
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            if not directory.is_dir():  # lost a race against someone making a file there
                raise NotADirectoryDestinationError(directory) from None
            continue  # lost a race against someone making the same directory: not ours
        except NotADirectoryError:
            raise NotADirectoryDestinationError(directory.parent) from None
        made.append(directory)
        if created is not None:
            created.append(directory)
    return made


def remove_created_directories(created: list[Path]) -> None:
    """Remove the directories `ensure_directory` made, innermost first, if they are empty.

    Best effort and synchronous (so no cancellation can interrupt a cleanup): a directory
    that holds anything, someone else's file included, stays.
    """
    for directory in reversed(created):
        with contextlib.suppress(OSError):
            directory.rmdir()
