"""Zip archives from an untrusted server: verification and safe, all-or-nothing extraction.

* `verify_zip` checks an archive without writing anything;
* `extract_zip` extracts one (zip-slip, symlinks, zip bombs, corrupt data) all-or-nothing;
  `extract_zip_groups` extracts several directories from one archive, opened once;
* `read_batch_layout` reads the batch-download shape ``<message-id>/<attachment>`` +
  ``<message-id>/.error`` (`BatchFolder`).

This module knows nothing of HTTP. `as2gw_async.files` re-exports every public name.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import zipfile
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

import anyio
import anyio.from_thread
import anyio.to_thread
import attrs

from .atomic import (
    AtomicFile,
    _exists_error,
    _fsync_dir,
)
from .errors import IntegrityError
from .filenames import _truncate_utf8, ensure_directory, remove_created_directories, safe_filename

__all__ = [
    "DEFAULT_MAX_MEMBERS",
    "DEFAULT_MAX_TOTAL_SIZE",
    "BatchFolder",
    "ExtractedMember",
    "ZipGroup",
    "extract_zip",
    "extract_zip_groups",
    "read_batch_layout",
    "verify_zip",
]

DEFAULT_MAX_TOTAL_SIZE = 1 << 30
"""Default cap (1 GiB) on the uncompressed size `extract_zip` will write."""

DEFAULT_MAX_MEMBERS = 10_000
"""Default cap on the number of entries an archive may have."""

_ZIP_CHUNK = 1 << 20
_MAX_ERROR_FILE = 64 * 1024

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
    _check_entry_count(infos, max_members)
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
    _read_member(zf, info, budget, target._write_sync)
    target._seal_sync(info.file_size, None)


def _check_entry_count(infos: list[zipfile.ZipInfo], max_members: int) -> None:
    if len(infos) > max_members:
        raise IntegrityError(f"archive has {len(infos)} entries, more than {max_members}")


def _read_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    budget: list[int],
    write: Callable[[bytes], None] | None = None,
) -> int:
    """Read one member to its end, passing each chunk to *write*; return its size.

    The one check of a member's data, for verification and extraction alike: its CRC (by
    `zipfile`), its real size against the declared one (a member shorter than declared, with
    a CRC matching the short data, passes a CRC-only reader), the shared uncompressed
    *budget* (zip bombs: declared sizes can lie) and cancellation between chunks.
    """
    try:
        source = zf.open(info)
    except Exception as exc:
        raise IntegrityError(f"cannot read member {info.filename!r}: {exc}") from None
    size = 0
    with source:
        while True:
            anyio.from_thread.check_cancelled()
            try:
                chunk = source.read(_ZIP_CHUNK)
            except Exception as exc:  # corrupt data: bad CRC, zlib/bz2/lzma errors, EOF
                raise IntegrityError(f"corrupt member {info.filename!r}: {exc}") from None
            if not chunk:
                break
            size += len(chunk)
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise IntegrityError("archive inflates past max_total_size (zip bomb?)")
            if size > info.file_size:
                raise IntegrityError(f"member {info.filename!r} is larger than declared")
            if write is not None:
                write(chunk)
    if size != info.file_size:
        raise IntegrityError(
            f"member {info.filename!r} is shorter than declared: {size} of {info.file_size} bytes"
        )
    return size


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
        await anyio.to_thread.run_sync(ensure_directory, dest, created)
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
                ensure_directory(dest, created)
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
    if not overwrite:  # roll back what we created; replaced files cannot be restored
        for target in published:
            with contextlib.suppress(OSError):
                os.unlink(target.path)
    remove_created_directories(created)  # then leave no empty directory behind


def _read_batch_layout_sync(
    zip_path: str | os.PathLike[str], message_ids: Collection[str] | None, max_members: int
) -> dict[str, BatchFolder]:
    with _open_zip(zip_path) as zf:
        infos = zf.infolist()
        _check_entry_count(infos, max_members)
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
        _check_entry_count(infos, max_members)
        if sum(info.file_size for info in infos) > max_total_size:
            raise IntegrityError(
                f"archive declares more than {max_total_size} uncompressed bytes (zip bomb?)"
            )
        budget = [max_total_size]
        for info in infos:
            if info.flag_bits & 0x1:
                raise IntegrityError(f"encrypted member {info.filename!r} cannot be checked")
            _read_member(zf, info, budget)
        return len(infos)


async def verify_zip(
    zip_path: str | os.PathLike[str],
    *,
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> int:
    """Check that *zip_path* is a complete, uncorrupted zip archive; return its entry count.

    Every member is read to its end (nothing is written) with the very checks extraction
    makes: every CRC, each member's real size against its declared one (longer or shorter).
    `IntegrityError` for a corrupt, truncated or non-zip file, encrypted entries, more than
    *max_members* entries, or more than *max_total_size* uncompressed bytes (declared or
    real). Member names are not judged: that is `extract_zip`'s job.
    """
    return await anyio.to_thread.run_sync(_verify_zip_sync, zip_path, max_total_size, max_members)
