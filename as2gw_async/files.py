"""Safe local file handling: file names, atomic writes and zip extraction.

Everything that turns bytes from the gateway into files on disk goes through here, so the
rules live in one place:

* `parse_content_disposition` reads the (untrusted) file name a server offers;
* `safe_filename` is *the* sanitiser: whatever it returns is a single, portable path
  component that cannot escape a directory (`safe_message_dirname` does the same for AS2
  message ids, injectively);
* `AtomicFile` writes to a temporary file beside the target and renames it into place only
  once it is complete, verified and fsynced; on error or cancellation nothing appears;
* `resolve_destination` maps a user's `dest` (a directory or a file path) plus a server
  name to the final path;
* `extract_zip` extracts an untrusted archive (zip-slip, symlinks, zip bombs, corrupt data)
  all-or-nothing (`extract_zip_groups`: several directories from one archive, opened
  once); `read_batch_layout` reads the batch-download shape
  `<message-id>/<attachment>` + `<message-id>/.error`.

This module knows nothing of HTTP.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
import time
import unicodedata
import zipfile
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NamedTuple
from urllib.parse import unquote_to_bytes

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
import attrs

from ._batched import Batcher
from .errors import IntegrityError

__all__ = [
    "DEFAULT_MAX_MEMBERS",
    "DEFAULT_MAX_TOTAL_SIZE",
    "AtomicFile",
    "BatchFolder",
    "ExtractedMember",
    "ProgressCallback",
    "ZipGroup",
    "extract_zip",
    "extract_zip_groups",
    "parse_content_disposition",
    "publish_directory",
    "read_batch_layout",
    "remove_stale_temp_files",
    "resolve_destination",
    "safe_filename",
    "safe_message_dirname",
    "verify_zip",
]

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, bytes_total_or_None)`` after each write."""

DEFAULT_MAX_TOTAL_SIZE = 1 << 30
"""Default cap (1 GiB) on the uncompressed size `extract_zip` will write."""

DEFAULT_MAX_MEMBERS = 10_000
"""Default cap on the number of entries an archive may have."""

# Chunks up to this size are written synchronously: a 64 KiB write to the page cache takes
# ~15-45 us while a worker-thread round trip costs ~150-200 us (measured on Linux/ext4), so a
# thread only pays for big chunks. fsync, open and rename always run in a worker thread.
_SYNC_WRITE_MAX = 1 << 20
_ZIP_CHUNK = 1 << 20
_MAX_ERROR_FILE = 64 * 1024
_TEMP_SUFFIX = ".part"
_TEMP_RE = re.compile(r"\A\..+\.[0-9a-f]{8}\.part\Z", re.DOTALL)

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
        path.mkdir(parents=True, exist_ok=True)
        return path / safe_filename(server_name, default=default_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------

_NEW, _OPEN, _SEALED, _COMMITTED, _ABORTED = range(5)
_FSYNC_UNSUPPORTED = {errno.EINVAL, errno.EBADF, errno.EACCES, errno.EPERM, errno.EISDIR}
_FSYNC_UNSUPPORTED |= {getattr(errno, n) for n in ("ENOTSUP", "EOPNOTSUPP") if hasattr(errno, n)}
_LINK_UNSUPPORTED = {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.EACCES, errno.ENOSYS}
_LINK_UNSUPPORTED |= {getattr(errno, n) for n in ("ENOTSUP", "EOPNOTSUPP") if hasattr(errno, n)}


def _fsync_dir(directory: Path) -> None:
    """Make a rename in *directory* durable (a no-op where directories cannot be fsynced)."""
    if os.name == "nt":  # pragma: no cover - Windows cannot open a directory
        return
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def publish_directory(source: str | os.PathLike[str], final: str | os.PathLike[str]) -> Path:
    """Move a finished directory to ``final`` in one atomic rename, and make it durable.

    ``final`` must not exist (an existing one, even empty, raises `FileExistsError`), and both
    must be on one file system, so the directory appears complete or not at all.
    """
    src, dst = Path(source), Path(final)
    if dst.exists() or dst.is_symlink():
        raise FileExistsError(errno.EEXIST, "refusing to replace an existing directory", str(dst))
    os.rename(src, dst)
    _fsync_dir(dst.parent)
    return dst


class AtomicFile:
    """Write a file so that it appears at its final path only complete, verified and durable.

    Bytes go to ``.<name>.<random>.part`` in the target's directory. `commit` checks the size
    (and optionally the SHA-256), fsyncs, renames the temporary file onto *path* and fsyncs the
    directory. On an exception or a cancellation before that, the temporary file is removed
    and nothing appears at *path*. Leaving the ``async with`` block normally commits.

    Overwrite policy: by default an existing file at *path* is never replaced; `commit`
    raises `FileExistsError` (a hard link makes the check-and-create atomic, so a concurrent
    writer is never clobbered either). ``overwrite=True`` replaces it atomically: readers see
    the old file or the new one, never a mix.

    Chunks up to 1 MiB are written directly (faster than a thread hop for page-cache writes);
    bigger ones, opening the temporary file and the commit (size check, fsync, rename and
    directory fsync, all in one call) run in a worker thread. `AtomicFile.create` also
    chooses the path in the thread that opens the file.

    ::

        async with AtomicFile("out/invoice.xml", expected_size=length, sha256=True) as f:
            async for chunk in response.aiter_bytes():
                await f.write(chunk)
        print(f.path, f.bytes_written, f.sha256)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        expected_size: int | None = None,
        sha256: bool = False,
        progress: ProgressCallback | None = None,
        fsync: bool = True,
    ) -> None:
        """Prepare (but do not yet create) an atomic write to *path*.

        *expected_size* is checked on commit and reported to *progress* as the total;
        *sha256* keeps a running digest (see `AtomicFile.sha256`); ``fsync=False`` skips the
        fsyncs (only for scratch data: a crash may then leave an empty or partial file).
        """
        self.path = Path(path)
        self.overwrite = overwrite
        self.expected_size = expected_size
        self.bytes_written = 0
        self._hasher = hashlib.sha256() if sha256 else None
        self._progress = progress
        self._fsync = fsync
        self._file: BinaryIO | None = None
        self._temp_path: Path | None = None
        self._state = _NEW

    def __repr__(self) -> str:
        states = ("new", "open", "sealed", "committed", "aborted")
        return f"<AtomicFile {str(self.path)!r} {states[self._state]} {self.bytes_written}B>"

    @property
    def temp_path(self) -> Path | None:
        """The temporary file being written, or None before `open` and after commit/abort."""
        return self._temp_path if self._state in (_OPEN, _SEALED) else None

    @property
    def sha256(self) -> str | None:
        """Hex SHA-256 of the bytes written so far, or None unless ``sha256=True``."""
        return None if self._hasher is None else self._hasher.hexdigest()

    @property
    def committed(self) -> bool:
        """True once the file is at its final path."""
        return self._state == _COMMITTED

    async def __aenter__(self) -> AtomicFile:
        if self._state == _NEW:  # one from `create` is already open
            await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self._state in (_OPEN, _SEALED):
            await self.commit()
        else:
            self.abort()

    async def open(self) -> None:
        """Create the temporary file (called by ``async with``)."""
        if self._state != _NEW:
            raise RuntimeError("AtomicFile can only be opened once")
        try:
            await anyio.to_thread.run_sync(self._open_sync)
        except BaseException:
            self.abort()  # the thread may have created the file before a cancellation landed
            raise

    @classmethod
    async def create(
        cls,
        destination: Callable[[], str | os.PathLike[str]],
        *,
        overwrite: bool = False,
        expected_size: int | None = None,
        sha256: bool = False,
        progress: ProgressCallback | None = None,
        fsync: bool = True,
    ) -> AtomicFile:
        """Choose the target path and create the temporary file in one worker-thread call.

        *destination* runs in the worker thread (so it may stat, ``mkdir`` or raise
        `FileExistsError`) and returns the final path; the options are those of the
        constructor. Returns the open file, as ``async with AtomicFile(...)`` would; use it
        as ``async with await AtomicFile.create(...) as f``. On an error or a cancellation
        no temporary file is left behind.
        """
        made: list[AtomicFile] = []

        def open_sync() -> AtomicFile:
            file = cls(
                destination(),
                overwrite=overwrite,
                expected_size=expected_size,
                sha256=sha256,
                progress=progress,
                fsync=fsync,
            )
            made.append(file)
            file._open_sync()
            return file

        try:
            return await anyio.to_thread.run_sync(open_sync)
        except BaseException:
            for file in made:  # the thread may have created it before a cancellation landed
                file.abort()
            raise

    @classmethod
    async def write_bytes(
        cls,
        destination: Callable[[], str | os.PathLike[str]],
        data: bytes | bytearray | memoryview,
        *,
        overwrite: bool = False,
        expected_size: int | None = None,
        fsync: bool = True,
    ) -> AtomicFile:
        """Write *data*, already in memory, atomically; return the committed file.

        Chooses the path (*destination* runs in a worker thread, as for `create`), creates
        the temporary file, writes, checks *expected_size*, fsyncs, renames and fsyncs the
        directory. Files written at the same time by other tasks share the worker-thread
        calls (see `as2gw_async._batched`): one round trip and one directory fsync for
        many files, which is what makes thousands of small downloads fast. Cancelled before
        the write has started, nothing is written; after, it completes (all or nothing) and
        the cancellation is raised afterwards.
        """
        return await _SMALL_WRITES.submit(
            _SmallWrite(destination, data, overwrite, expected_size, fsync)
        )

    async def write(
        self, chunk: bytes | bytearray | memoryview, *, checkpoint: bool = True
    ) -> None:
        """Append *chunk* to the temporary file.

        A cancellation point, unless ``checkpoint=False``: for a loop that awaits something
        else for every chunk anyway (a network read), where a second check per 64 KiB chunk
        cost ~6% of a large download's CPU.
        """
        size = len(chunk) if type(chunk) is bytes else memoryview(chunk).nbytes
        if size > _SYNC_WRITE_MAX:
            await anyio.to_thread.run_sync(self._write_raw, chunk)
        else:
            if checkpoint:
                await anyio.lowlevel.checkpoint_if_cancelled()
            self._write_raw(chunk)
        self._account(size)  # in the event loop: progress callbacks never run in a thread

    async def commit(
        self, expected_size: int | None = None, *, expected_sha256: str | None = None
    ) -> Path:
        """Verify, fsync and atomically move the file into place; return its final path.

        *expected_size* (default: the one given to the constructor) and *expected_sha256* are
        checked first: a mismatch raises `IntegrityError` and removes the temporary file.
        `FileExistsError` if *path* exists and ``overwrite`` is false. Once the rename has
        started it is shielded from cancellation, so the outcome is all or nothing.
        """
        if self._state == _SEALED and (expected_size, expected_sha256) != (None, None):
            raise RuntimeError("already sealed: pass the checks to seal()")
        if self._state not in (_OPEN, _SEALED):
            raise RuntimeError(f"cannot commit {self!r}")
        try:
            await anyio.lowlevel.checkpoint_if_cancelled()  # cancelled before: nothing appears
            # Check, fsync, rename and fsync the directory in one worker-thread call. It is
            # shielded: once the rename may have happened, the outcome must be reported.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._commit_sync, expected_size, expected_sha256)
        except BaseException:
            self.abort()
            raise
        return self.path

    async def seal(
        self, expected_size: int | None = None, *, expected_sha256: str | None = None
    ) -> Path:
        """Verify, fsync and close the temporary file, but do not move it into place yet.

        Returns the temporary path, where the complete file can now be read (to check a zip,
        say) before `commit` publishes it or `abort` discards it. Checks as for `commit`.
        Leaving ``async with`` normally still commits; call `abort` to use the file as
        scratch space only.
        """
        if self._state != _OPEN:
            raise RuntimeError(f"cannot seal {self!r}")
        try:
            await anyio.to_thread.run_sync(self._seal_sync, expected_size, expected_sha256)
        except BaseException:
            self.abort()
            raise
        assert self._temp_path is not None
        return self._temp_path

    def abort(self) -> None:
        """Discard the temporary file; a no-op once committed. Synchronous on purpose, so that
        it cannot be interrupted by a cancellation in a cleanup path."""
        if self._state in (_COMMITTED, _ABORTED):
            return
        self._state = _ABORTED
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
        if self._temp_path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._temp_path)

    # -- synchronous core (also used from worker threads by extract_zip) --------------------

    def _open_sync(self, *, buffered: bool = True) -> None:
        name = _truncate_utf8(self.path.name, 255 - 15)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        flags |= getattr(os, "O_NOFOLLOW", 0)
        for _ in range(100):
            candidate = self.path.with_name(f".{name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}")
            try:
                fd = os.open(candidate, flags, 0o666)  # the umask applies, as for open()
            except FileExistsError:  # pragma: no cover - 2**32 names; practically never
                continue
            self._temp_path = candidate
            self._state = _OPEN
            self._file = os.fdopen(fd, "wb", buffering=-1 if buffered else 0)
            return
        raise FileExistsError(
            f"could not create a temporary file beside {self.path}"
        )  # pragma: no cover

    def _write_sync(self, chunk: bytes | bytearray | memoryview) -> None:
        self._write_raw(chunk)
        self._account(memoryview(chunk).nbytes)

    def _write_raw(self, chunk: bytes | bytearray | memoryview) -> None:
        if self._state != _OPEN or self._file is None:
            raise RuntimeError(f"cannot write to {self!r}")
        written = self._file.write(chunk)
        if written is not None and written != len(chunk):  # an unbuffered write may be short
            view = memoryview(chunk).cast("B")[written:]
            while view:
                view = view[self._file.write(view) or 0 :]
        if self._hasher is not None:
            self._hasher.update(chunk)

    def _account(self, size: int) -> None:
        self.bytes_written += size
        if self._progress is not None:
            self._progress(self.bytes_written, self.expected_size)

    def _seal_sync(self, expected_size: int | None, expected_sha256: str | None) -> None:
        """Check size and digest, flush, fsync and close the temporary file."""
        if self._state != _OPEN or self._file is None:
            raise RuntimeError(f"cannot commit {self!r}")
        expected = self.expected_size if expected_size is None else expected_size
        if expected is not None and self.bytes_written != expected:
            raise IntegrityError(
                f"{self.path.name}: expected {expected} bytes, got {self.bytes_written}"
            )
        if expected_sha256 is not None:
            actual = self.sha256
            if actual is None:
                raise ValueError("expected_sha256 needs AtomicFile(..., sha256=True)")
            if actual != expected_sha256.lower():
                raise IntegrityError(f"{self.path.name}: SHA-256 mismatch")
        file, self._file = self._file, None
        try:
            file.flush()
            if self._fsync:
                os.fsync(file.fileno())
        finally:
            file.close()
        self._state = _SEALED

    def _commit_sync(self, expected_size: int | None, expected_sha256: str | None) -> None:
        if self._state == _OPEN:
            self._seal_sync(expected_size, expected_sha256)
        self._publish_sync(True)

    def _publish_sync(self, fsync_dir: bool) -> None:
        """Move the sealed temporary file onto the final path (see the overwrite policy)."""
        if self._state != _SEALED or self._temp_path is None:
            raise RuntimeError(f"cannot publish {self!r}")
        temp = self._temp_path
        if self.overwrite:
            os.replace(temp, self.path)
        else:
            _rename_no_replace(temp, self.path)
        self._state = _COMMITTED
        if fsync_dir and self._fsync:
            _fsync_dir(self.path.parent)


class _SmallWrite(NamedTuple):
    destination: Callable[[], str | os.PathLike[str]]
    data: bytes | bytearray | memoryview
    overwrite: bool
    expected_size: int | None
    fsync: bool


def _write_small_files_sync(jobs: list[_SmallWrite]) -> list[AtomicFile | BaseException]:
    """`AtomicFile.write_bytes` for a batch, step by step over all files: create and write
    each, then fsync each, then rename each, then fsync each directory once. Every file
    succeeds or fails on its own; a failed one leaves no temporary file behind."""
    outcomes: list[AtomicFile | BaseException] = []
    for job in jobs:
        try:
            file = AtomicFile(
                job.destination(),
                overwrite=job.overwrite,
                expected_size=job.expected_size,
                fsync=job.fsync,
            )
        except BaseException as exc:  # goes to the task that asked for this file
            outcomes.append(exc)
            continue
        outcomes.append(file)
        _step(outcomes, len(outcomes) - 1, _start_small_write, job.data)
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, AtomicFile):
            _step(outcomes, i, AtomicFile._seal_sync, None, None)
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, AtomicFile):
            _step(outcomes, i, AtomicFile._publish_sync, False)
    synced: dict[Path, BaseException | None] = {}
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, AtomicFile) and outcome._fsync:
            directory = outcome.path.parent
            if directory not in synced:
                try:
                    _fsync_dir(directory)
                    synced[directory] = None
                except BaseException as exc:  # the file is in place, but maybe not durable
                    synced[directory] = exc
            error = synced[directory]
            if error is not None:
                outcomes[i] = error
    return outcomes


def _start_small_write(file: AtomicFile, data: bytes | bytearray | memoryview) -> None:
    file._open_sync(buffered=False)  # one write: a buffer would only add syscalls
    file._write_sync(data)


def _step(
    outcomes: list[AtomicFile | BaseException],
    index: int,
    action: Callable[..., None],
    *args: object,
) -> None:
    file = outcomes[index]
    assert isinstance(file, AtomicFile)
    try:
        action(file, *args)
    except BaseException as exc:  # goes to the task that asked for this file
        file.abort()
        outcomes[index] = exc


_SMALL_WRITES: Batcher[_SmallWrite, AtomicFile] = Batcher(
    _write_small_files_sync, name="as2gw_async.small_writes"
)


def _exists_error(path: Path) -> FileExistsError:
    return FileExistsError(
        errno.EEXIST, "refusing to overwrite an existing file (pass overwrite=True)", str(path)
    )


def _rename_no_replace(temp: Path, final: Path) -> None:
    """Rename *temp* to *final*, atomically refusing if *final* exists."""
    try:
        os.link(temp, final, follow_symlinks=False)
    except FileExistsError:
        raise _exists_error(final) from None
    except OSError as exc:
        if exc.errno not in _LINK_UNSUPPORTED:
            raise
        # No hard links here (FAT, some network shares). Windows' rename refuses an existing
        # target atomically; elsewhere check-then-replace is the best the platform offers.
        if os.name == "nt":  # pragma: no cover
            try:
                os.rename(temp, final)
            except FileExistsError:
                raise _exists_error(final) from None
            return
        if os.path.lexists(final):
            raise _exists_error(final) from None
        os.replace(temp, final)
        return
    with contextlib.suppress(OSError):  # the final file is complete; a stray .part is harmless
        os.unlink(temp)


def remove_stale_temp_files(
    directory: str | os.PathLike[str], *, older_than: float = 3600.0
) -> list[Path]:
    """Delete ``.<name>.<random>.part`` files left in *directory* by a crash; return them.

    Only files untouched for *older_than* seconds are removed, so a write in progress in
    another process survives. Not recursive.
    """
    removed: list[Path] = []
    cutoff = time.time() - older_than
    with os.scandir(directory) as entries:
        for entry in entries:
            if not _TEMP_RE.match(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                if entry.stat(follow_symlinks=False).st_mtime <= cutoff:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except FileNotFoundError:
                continue
    return removed


# --------------------------------------------------------------------------------------------
# Zip archives
# --------------------------------------------------------------------------------------------


@attrs.frozen
class ExtractedMember:
    """One file written by `extract_zip`."""

    name: str
    """The member name exactly as stored in the archive."""
    path: Path
    """Where it was written (always inside the destination directory)."""
    size: int
    """Its size in bytes."""


@attrs.frozen
class BatchFolder:
    """One ``<message-id>/`` folder of a batch-download archive."""

    name: str
    """The folder name as stored in the archive (the message id)."""
    attachments: tuple[str, ...]
    """Full member names of its attachments, in archive order (pass to `extract_zip`)."""
    error: str | None
    """The text of its ``.error`` file, or None when it has none."""


_ABSOLUTE = re.compile(r"\A(?:[/\\]|[A-Za-z]:)")


def _open_zip(zip_path: str | os.PathLike[str]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise IntegrityError(f"not a valid zip archive: {exc}") from None
    except OSError as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise IntegrityError(f"not a valid zip archive: {exc}") from None


@attrs.frozen
class _Planned:
    info: zipfile.ZipInfo
    path: Path


def _plan(
    zf: zipfile.ZipFile,
    dest_dir: Path,
    *,
    max_total_size: int,
    max_members: int,
    overwrite: bool,
    strip_prefix: str | None,
    members: Collection[str] | None,
) -> list[_Planned]:
    """Validate every selected entry and choose its final path; write nothing."""
    infos = zf.infolist()
    if len(infos) > max_members:
        raise IntegrityError(f"archive has {len(infos)} entries, more than {max_members}")
    if members is not None:
        names = {info.filename for info in infos}
        missing = [m for m in members if m not in names]
        if missing:
            raise KeyError(f"not in the archive: {missing[:5]!r}")
    root = dest_dir.resolve()
    plans: list[_Planned] = []
    files: set[str] = set()
    dirs: set[str] = set()
    declared = 0
    for info in infos:
        name = info.filename
        if members is not None and name not in members:
            continue
        if strip_prefix:
            if not name.startswith(strip_prefix):
                continue
            name = name[len(strip_prefix) :]
        if _ABSOLUTE.match(name):
            raise IntegrityError(f"unsafe absolute member name {info.filename!r}")
        raw_parts = re.split(r"[/\\]", name)
        if ".." in (part.strip() for part in raw_parts):
            raise IntegrityError(f"unsafe member name {info.filename!r} (path traversal)")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise IntegrityError(f"symbolic link member {info.filename!r} refused")
        if name.endswith(("/", "\\")):  # a directory entry (ZipInfo.is_dir fails on "")
            continue
        if info.flag_bits & 0x1:
            raise IntegrityError(f"encrypted member {info.filename!r} cannot be extracted")
        parts = [p for p in raw_parts if p not in ("", ".")] or [""]  # "" -> "attachment"
        safe_dirs = [safe_filename(p, default="_") for p in parts[:-1]]
        parent = dest_dir.joinpath(*safe_dirs)
        for depth in range(1, len(safe_dirs) + 1):
            key = str(dest_dir.joinpath(*safe_dirs[:depth])).casefold()
            if key in files:
                raise IntegrityError(f"member {info.filename!r} clashes with a file of the archive")
            dirs.add(key)
        final = _unique(parent, safe_filename(parts[-1]), lambda k: k in files or k in dirs)
        files.add(str(final).casefold())
        if not parent.resolve().is_relative_to(root):
            raise IntegrityError(f"member {info.filename!r} would leave {dest_dir} (symlink?)")
        if not overwrite and os.path.lexists(final):
            raise _exists_error(final)
        declared += info.file_size
        if declared > max_total_size:
            raise IntegrityError(
                f"archive declares more than {max_total_size} uncompressed bytes (zip bomb?)"
            )
        plans.append(_Planned(info, final))
    return plans


def _unique(parent: Path, name: str, taken: Callable[[str], bool]) -> Path:
    """*parent*/*name*, or *name* with `` (2)``, `` (3)``... if the archive already uses it."""
    candidate = parent / name
    n = 1
    while taken(str(candidate).casefold()):
        n += 1
        stem, dot, ext = name.rpartition(".")
        tail = f" ({n}).{ext}"
        if not (dot and stem) or len(tail.encode("utf-8")) > 64:
            stem, tail = name, f" ({n})"
        stem = _truncate_utf8(stem, 255 - len(tail.encode("utf-8")))
        candidate = parent / safe_filename(stem + tail)
    return candidate


def _extract_member_sync(
    zf: zipfile.ZipFile,
    plan: _Planned,
    target: AtomicFile,
    budget: list[int],
    created: list[Path],
) -> None:
    """Stream one member into *target* (opened here), checking sizes, CRC and cancellation."""
    info = plan.info
    missing: list[Path] = []
    directory = plan.path.parent
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        created.append(directory)
    target._open_sync()
    try:
        source = zf.open(info)
    except Exception as exc:
        raise IntegrityError(f"cannot read member {info.filename!r}: {exc}") from None
    with source:
        while True:
            anyio.from_thread.check_cancelled()
            try:
                chunk = source.read(_ZIP_CHUNK)
            except Exception as exc:  # corrupt data: bad CRC, zlib/bz2/lzma errors, EOF
                raise IntegrityError(f"corrupt member {info.filename!r}: {exc}") from None
            if not chunk:
                break
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise IntegrityError("archive inflates past max_total_size (zip bomb?)")
            if target.bytes_written + len(chunk) > info.file_size:
                raise IntegrityError(f"member {info.filename!r} is larger than declared")
            target._write_sync(chunk)
    target._seal_sync(info.file_size, None)


async def extract_zip(
    zip_path: str | os.PathLike[str],
    dest_dir: str | os.PathLike[str],
    *,
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
    max_members: int = DEFAULT_MAX_MEMBERS,
    overwrite: bool = False,
    strip_prefix: str | None = None,
    members: Iterable[str] | None = None,
    fsync: bool = True,
) -> list[ExtractedMember]:
    """Safely extract an untrusted zip archive into *dest_dir*, all or nothing.

    Refused with `IntegrityError` before anything is written: a corrupt or non-zip file,
    more than *max_members* entries, absolute (``/x``, ``C:\\x``) or traversing (``../x``,
    ``..\\x``) names, symlink or encrypted entries, and a declared uncompressed total over
    *max_total_size*. While streaming, the real sizes are held to the declared ones and to
    the cap (declared sizes can lie) and every CRC is checked. Every path component goes
    through `safe_filename`, so results stay inside *dest_dir*; names that clash in the
    archive (case-insensitively) get `` (2)``, `` (3)``... suffixes.

    Each member streams to its own `AtomicFile`; only once all are verified are they moved
    into place. Existing files raise `FileExistsError` unless *overwrite*. Only members whose
    name starts with *strip_prefix* are extracted, with the prefix removed; *members*
    restricts extraction to those exact names (`KeyError` if one is missing). Directory
    entries are not returned. *dest_dir* is created if missing.
    """
    dest = Path(dest_dir)
    selected = None if members is None else frozenset(members)
    zf = await anyio.to_thread.run_sync(_open_zip, zip_path)
    targets: list[tuple[_Planned, AtomicFile]] = []
    published: list[AtomicFile] = []
    created: list[Path] = []  # directories made for members, removed again on failure
    budget = [max_total_size]
    try:
        await anyio.to_thread.run_sync(lambda: dest.mkdir(parents=True, exist_ok=True))
        plans = await anyio.to_thread.run_sync(
            lambda: _plan(
                zf,
                dest,
                max_total_size=max_total_size,
                max_members=max_members,
                overwrite=overwrite,
                strip_prefix=strip_prefix,
                members=selected,
            )
        )
        for plan in plans:
            target = AtomicFile(plan.path, overwrite=overwrite, fsync=fsync)
            targets.append((plan, target))
            await anyio.to_thread.run_sync(_extract_member_sync, zf, plan, target, budget, created)
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_publish_all, targets, published, fsync, dest)
    except BaseException:
        _roll_back(targets, published, created, overwrite)
        raise
    finally:
        zf.close()
    return [ExtractedMember(p.info.filename, t.path, t.bytes_written) for p, t in targets]


def _publish_all(
    targets: list[tuple[_Planned, AtomicFile]], published: list[AtomicFile], fsync: bool, root: Path
) -> None:
    directories: set[Path] = set()
    for _, target in targets:
        target._publish_sync(False)
        published.append(target)
        directories.add(target.path.parent)
    if fsync:
        # every directory that received a file, and each one between it and the root (new
        # subdirectories must be durable in their parents too)
        to_sync = {root}
        for directory in directories:
            while directory != root and root in directory.parents:
                to_sync.add(directory)
                directory = directory.parent
        for directory in sorted(to_sync, key=lambda p: len(p.parts), reverse=True):
            _fsync_dir(directory)


def _optional_names(names: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if names is None else tuple(names)


@attrs.frozen
class ZipGroup:
    """One part of an archive for `extract_zip_groups`: what goes into which directory."""

    dest_dir: Path = attrs.field(converter=Path)
    """Where this group's members go (created if missing)."""
    members: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_names)
    """Exact member names to extract (`KeyError` if one is missing); None: all of them."""
    strip_prefix: str | None = None
    """Only members whose name starts with it, with it removed (as for `extract_zip`)."""


async def extract_zip_groups(
    zip_path: str | os.PathLike[str],
    groups: Iterable[ZipGroup],
    *,
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
    max_members: int = DEFAULT_MAX_MEMBERS,
    overwrite: bool = False,
    fsync: bool = True,
    done: list[list[ExtractedMember]] | None = None,
) -> list[list[ExtractedMember]]:
    """Extract several groups of one archive, each into its own directory; open it once.

    Equivalent to one `extract_zip(zip_path, g.dest_dir, members=g.members,
    strip_prefix=g.strip_prefix, ...)` per group, in order, with every check of
    `extract_zip` and the same all-or-nothing guarantee *per group*: a failure (or a
    cancellation) in a group leaves nothing of that group, and raises; the groups before it
    stay extracted. The archive is opened and parsed once and all the work runs in one
    worker-thread call. *max_total_size* caps the uncompressed bytes of the whole call.
    Returns each group's members, in order; with *done*, each group's list is appended to
    it as soon as the group is in place, so after an error it tells which groups are.
    """
    jobs = tuple(groups)
    finished: list[list[ExtractedMember]] = [] if done is None else done
    start = len(finished)
    await anyio.to_thread.run_sync(
        _extract_groups_sync,
        zip_path,
        jobs,
        max_total_size,
        max_members,
        overwrite,
        fsync,
        finished,
    )
    return finished[start:]


def _extract_groups_sync(
    zip_path: str | os.PathLike[str],
    groups: tuple[ZipGroup, ...],
    max_total_size: int,
    max_members: int,
    overwrite: bool,
    fsync: bool,
    done: list[list[ExtractedMember]],
) -> None:
    with _open_zip(zip_path) as zf:
        budget = [max_total_size]  # real bytes, over all groups
        declared = max_total_size  # declared bytes left, over all groups
        for group in groups:
            anyio.from_thread.check_cancelled()
            selected = None if group.members is None else frozenset(group.members)
            targets: list[tuple[_Planned, AtomicFile]] = []
            published: list[AtomicFile] = []
            created: list[Path] = []
            dest = group.dest_dir
            try:
                dest.mkdir(parents=True, exist_ok=True)
                plans = _plan(
                    zf,
                    dest,
                    max_total_size=declared,
                    max_members=max_members,
                    overwrite=overwrite,
                    strip_prefix=group.strip_prefix,
                    members=selected,
                )
                declared -= sum(plan.info.file_size for plan in plans)
                for plan in plans:
                    target = AtomicFile(plan.path, overwrite=overwrite, fsync=fsync)
                    targets.append((plan, target))
                    _extract_member_sync(zf, plan, target, budget, created)
                _publish_all(targets, published, fsync, dest)  # no cancellation point inside
            except BaseException:
                _roll_back(targets, published, created, overwrite)
                raise
            done.append(
                [ExtractedMember(p.info.filename, t.path, t.bytes_written) for p, t in targets]
            )


def _roll_back(
    targets: list[tuple[_Planned, AtomicFile]],
    published: list[AtomicFile],
    created: list[Path],
    overwrite: bool,
) -> None:
    for _, target in targets:
        target.abort()
    for directory in reversed(created):  # leave no empty directories behind
        with contextlib.suppress(OSError):
            directory.rmdir()
    if not overwrite:  # roll back what we created; replaced files cannot be restored
        for target in published:
            with contextlib.suppress(OSError):
                os.unlink(target.path)


def _read_batch_layout_sync(
    zip_path: str | os.PathLike[str], message_ids: Collection[str] | None, max_members: int
) -> dict[str, BatchFolder]:
    with _open_zip(zip_path) as zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise IntegrityError(f"archive has {len(infos)} entries, more than {max_members}")
        ids = sorted(message_ids or (), key=len, reverse=True)
        attachments: dict[str, list[str]] = {}
        errors: dict[str, str] = {}
        for info in infos:
            name = info.filename
            folder = next((i for i in ids if name.startswith(i + "/")), None)
            if folder is None:
                if "/" not in name:
                    continue  # not inside a message folder
                folder = name.split("/", 1)[0]
            rest = name[len(folder) + 1 :]
            attachments.setdefault(folder, [])
            if rest == ".error":
                try:
                    with zf.open(info) as source:
                        raw = source.read(_MAX_ERROR_FILE)
                except Exception as exc:
                    raise IntegrityError(f"corrupt member {name!r}: {exc}") from None
                errors[folder] = raw.decode("utf-8", "replace").strip()
            elif rest and not rest.endswith("/"):
                attachments[folder].append(name)
    return {
        folder: BatchFolder(folder, tuple(names), errors.get(folder))
        for folder, names in attachments.items()
    }


async def read_batch_layout(
    zip_path: str | os.PathLike[str],
    *,
    message_ids: Iterable[str] | None = None,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> dict[str, BatchFolder]:
    """Group a batch-download archive by its ``<message-id>/`` folders, in archive order.

    Each `BatchFolder` lists its attachment member names and the text of its ``.error``
    file (spec 4.2.2.2: the gateway writes one when it found no attachments). Pass the
    requested *message_ids* so that an id containing ``/`` is still matched whole; otherwise
    the first path component is the folder. Nothing is extracted; follow with e.g.
    ``extract_zip(path, out / safe_message_dirname(f.name), members=f.attachments,
    strip_prefix=f.name + "/")``. `IntegrityError` for a corrupt archive.
    """
    ids = None if message_ids is None else tuple(message_ids)
    return await anyio.to_thread.run_sync(_read_batch_layout_sync, zip_path, ids, max_members)


# -- added for the downloads (issue 5): a zip check without extraction ----------------------


def _verify_zip_sync(
    zip_path: str | os.PathLike[str], max_total_size: int, max_members: int
) -> int:
    with _open_zip(zip_path) as zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise IntegrityError(f"archive has {len(infos)} entries, more than {max_members}")
        if sum(info.file_size for info in infos) > max_total_size:
            raise IntegrityError(
                f"archive declares more than {max_total_size} uncompressed bytes (zip bomb?)"
            )
        budget = max_total_size
        for info in infos:
            if info.flag_bits & 0x1:
                raise IntegrityError(f"encrypted member {info.filename!r} cannot be checked")
            try:
                with zf.open(info) as source:
                    while chunk := source.read(_ZIP_CHUNK):
                        anyio.from_thread.check_cancelled()
                        budget -= len(chunk)
                        if budget < 0:
                            raise IntegrityError("archive inflates past max_total_size (zip bomb?)")
            except IntegrityError:
                raise
            except Exception as exc:  # bad CRC, zlib/bz2/lzma errors, EOF
                raise IntegrityError(f"corrupt member {info.filename!r}: {exc}") from None
        return len(infos)


async def verify_zip(
    zip_path: str | os.PathLike[str],
    *,
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> int:
    """Check that *zip_path* is a complete, uncorrupted zip archive; return its entry count.

    Every member is read to its end (nothing is written), so every CRC is checked.
    `IntegrityError` for a corrupt, truncated or non-zip file, encrypted entries, more than
    *max_members* entries, or more than *max_total_size* uncompressed bytes (declared or
    real). Member names are not judged: that is `extract_zip`'s job.
    """
    return await anyio.to_thread.run_sync(_verify_zip_sync, zip_path, max_total_size, max_members)
