"""Tests that kill the surviving mutants of `as2gw_async/archives.py` (see docs/mutation.md).

Each test names the mutants it kills, so nobody deletes it as redundant.
"""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import pytest

from as2gw_async import archives
from as2gw_async.archives import (
    ZipGroup,
    extract_zip,
    extract_zip_groups,
    read_batch_layout,
    verify_zip,
)
from as2gw_async.errors import IntegrityError


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


def tree(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def set_encrypted_flag(archive: Path) -> None:
    raw = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature)
        raw[at + offset] |= 0x1
    archive.write_bytes(bytes(raw))


# --- _plan: what is declared, what is asked for -------------------------------------------


@pytest.mark.parametrize("sizes", [(60, 40), (100,), (1, 99)])
async def test_a_declared_total_exactly_at_the_cap_is_extracted(
    tmp_path: Path, sizes: tuple[int, ...]
) -> None:
    # kills: _plan: `declared > max_total_size` -> `>=`; `declared = 0` -> `= 1`
    archive = make_zip(tmp_path / "a.zip", {f"{i}.bin": b"x" * n for i, n in enumerate(sizes)})
    got = await extract_zip(archive, tmp_path / "out", max_total_size=100)
    assert [m.size for m in got] == list(sizes)


async def test_the_declared_total_adds_up_every_member(tmp_path: Path) -> None:
    # kills: _plan: `declared += size` -> `=` / `-=` (each member alone is under the cap,
    # so only the sum trips it, before anything is read)
    archive = make_zip(tmp_path / "a.zip", {"a.bin": b"a" * 60, "b.bin": b"b" * 60})
    with pytest.raises(IntegrityError, match="declares more than 100 uncompressed bytes"):
        await extract_zip(archive, tmp_path / "out", max_total_size=100)
    assert not (tmp_path / "out").exists() or tree(tmp_path / "out") == []


async def test_missing_members_are_named_five_at_most(tmp_path: Path) -> None:
    # kills: _plan: KeyError(None); `missing[:5]` -> `[:6]`
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"a"})
    wanted = [f"m{i}" for i in range(7)]
    with pytest.raises(KeyError) as caught:
        await extract_zip(archive, tmp_path / "out", members=wanted)
    (message,) = caught.value.args
    assert message.startswith("not in the archive: [")
    named = ast.literal_eval(message.removeprefix("not in the archive: "))
    assert len(named) == 5
    assert set(named) <= set(wanted)


async def test_a_backslash_directory_entry_is_a_directory_not_a_file(tmp_path: Path) -> None:
    # kills: _plan: `name.endswith(("/", "\\"))` -> `("/", "XX\\XX")`
    archive = make_zip(tmp_path / "a.zip", {"sub\\": b"", "sub\\a.txt": b"a"})
    got = await extract_zip(archive, tmp_path / "out")
    assert [m.name for m in got] == ["sub\\a.txt"]
    assert tree(tmp_path / "out") == ["sub", "sub/a.txt"]


async def test_an_encrypted_member_is_refused_as_encrypted(tmp_path: Path) -> None:
    # kills: _plan and _verify_zip_sync: `flag_bits & 0x1` -> `& 2` (zipfile itself then
    # refuses it later, with another message); _verify_zip_sync: IntegrityError(None)
    archive = make_zip(tmp_path / "enc.zip", {"secret.txt": b"x"})
    set_encrypted_flag(archive)
    with pytest.raises(IntegrityError, match=r"^encrypted member 'secret.txt' cannot be extr"):
        await extract_zip(archive, tmp_path / "out")
    with pytest.raises(IntegrityError, match=r"^encrypted member 'secret.txt' cannot be check"):
        await verify_zip(archive)


async def test_empty_and_dot_components_are_dropped(tmp_path: Path) -> None:
    # kills: _plan: `p not in ("", ".")` -> `("XXXX", ".")`; `or [""]` -> `or ["XXXX"]`
    archive = make_zip(tmp_path / "a.zip", {"a//b.txt": b"b", "./c.txt": b"c", ".": b"d"})
    got = await extract_zip(archive, tmp_path / "out")
    assert {m.name: m.path.relative_to(tmp_path / "out").as_posix() for m in got} == {
        "a//b.txt": "a/b.txt",
        "./c.txt": "c.txt",
        ".": "attachment",
    }


async def test_a_directory_component_with_nothing_safe_left_becomes_an_underscore(
    tmp_path: Path,
) -> None:
    # kills: _plan: `safe_filename(p, default="_")` -> default None / "attachment" / "XX_XX"
    archive = make_zip(tmp_path / "a.zip", {" /a.txt": b"a"})
    got = await extract_zip(archive, tmp_path / "out")
    assert got[0].path == tmp_path / "out" / "_" / "a.txt"


async def test_a_file_then_a_directory_of_the_same_name_is_refused(tmp_path: Path) -> None:
    # kills: _plan: the depth loop `range(1, len + 1)` -> `range(2, ...)` / `range(1, )` /
    # `range(1, len - 1)`; `key = None`; `str(None)`; IntegrityError(None)
    archive = make_zip(tmp_path / "a.zip", {"x": b"file", "x/a.txt": b"a"})
    with pytest.raises(IntegrityError, match=r"^member 'x/a.txt' clashes with a file"):
        await extract_zip(archive, tmp_path / "out")
    deep = make_zip(tmp_path / "b.zip", {"p/q": b"file", "p/q/r/a.txt": b"a"})
    with pytest.raises(IntegrityError, match="clashes with a file"):
        await extract_zip(deep, tmp_path / "out2")


async def test_a_directory_then_a_file_of_the_same_name_gets_a_new_name(tmp_path: Path) -> None:
    # kills: _plan: `dirs.add(key)` -> `dirs.add(None)`; `key = None`
    archive = make_zip(tmp_path / "a.zip", {"x/a.txt": b"a", "X": b"file"})
    got = await extract_zip(archive, tmp_path / "out")
    assert [m.path.relative_to(tmp_path / "out").as_posix() for m in got] == ["x/a.txt", "X (2)"]
    assert (tmp_path / "out" / "X (2)").read_bytes() == b"file"


async def test_an_existing_file_is_named_in_the_error(tmp_path: Path) -> None:
    # kills: _plan: `_exists_error(final)` -> `_exists_error(None)`
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"a"})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.txt").write_bytes(b"old")
    with pytest.raises(FileExistsError) as caught:
        await extract_zip(archive, tmp_path / "out")
    assert caught.value.filename == str(tmp_path / "out" / "a.txt")


# --- _unique: names that clash inside the archive -----------------------------------------


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")  # an archive that repeats "x"
@pytest.mark.parametrize(
    ("names", "expected"),
    [
        # the last dot splits the extension (kills: `rpartition` -> `partition`)
        (["Report.tar.gz", "report.tar.gz"], ["Report.tar.gz", "report.tar (2).gz"]),
        # no extension: the counter goes at the end (kills: `stem, tail = None`)
        (["README", "readme"], ["README", "readme (2)"]),
        # a 59-byte extension still fits the 64-byte tail; a 60-byte one does not
        # (kills: `> 64` -> `>= 64` / `> 65`; `or` -> `and`)
        (["a." + "e" * 59, "A." + "e" * 59], ["a." + "e" * 59, "A (2)." + "e" * 59]),
        (["a." + "e" * 60, "A." + "e" * 60], ["a." + "e" * 60, "A." + "e" * 60 + " (2)"]),
        (["x", "X", "x"], ["x", "X (2)", "x (3)"]),
    ],
)
async def test_clashing_names_get_a_counter(
    tmp_path: Path, names: list[str], expected: list[str]
) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, name in enumerate(names):
            zf.writestr(zipfile.ZipInfo(name), str(i).encode())
    got = await extract_zip(archive, tmp_path / "out")
    assert [m.path.name for m in got] == expected
    assert [m.path.read_bytes() for m in got] == [str(i).encode() for i in range(len(names))]


async def test_a_clashing_name_of_255_bytes_is_cut_to_fit_with_its_counter(
    tmp_path: Path,
) -> None:
    # kills: _unique: `_truncate_utf8(stem, 255 - len(tail))` -> `255 + len` (the same name
    # again: the counter loops forever), `None`, `256 - len`
    long = "a" * 251 + ".txt"
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo(long), b"1")
        zf.writestr(zipfile.ZipInfo(long.upper()), b"2")
    got = await extract_zip(archive, tmp_path / "out")
    assert [m.path.name for m in got] == [long, "A" * 247 + " (2).TXT"]


# --- extract_zip_groups ---------------------------------------------------------------------


async def test_groups_share_one_declared_budget(tmp_path: Path) -> None:
    # kills: _extract_groups_sync: `declared -= sum(...)` -> `=` / `+=` (the second group
    # is refused by its declaration, before reading, not by the real-size budget)
    archive = make_zip(tmp_path / "a.zip", {"g1/a.bin": b"a" * 60, "g2/b.bin": b"b" * 60})
    groups = [
        ZipGroup(tmp_path / "one", strip_prefix="g1/"),
        ZipGroup(tmp_path / "two", strip_prefix="g2/"),
    ]
    done: list[list[archives.ExtractedMember]] = []
    with pytest.raises(IntegrityError, match="declares more than 40 uncompressed bytes"):
        await extract_zip_groups(archive, groups, max_total_size=100, done=done)
    assert [[m.name for m in g] for g in done] == [["g1/a.bin"]]
    assert tree(tmp_path / "one") == ["a.bin"]


async def test_groups_overwrite_when_asked(tmp_path: Path) -> None:
    # kills: _extract_groups_sync: `overwrite=None` given to _plan and to AtomicFile, the
    # AtomicFile's `overwrite` dropped
    archive = make_zip(tmp_path / "a.zip", {"g/a.txt": b"new"})
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a.txt").write_bytes(b"old")
    got = await extract_zip_groups(
        archive, [ZipGroup(tmp_path / "one", strip_prefix="g/")], overwrite=True
    )
    assert [m.size for m in got[0]] == [3]
    assert (tmp_path / "one" / "a.txt").read_bytes() == b"new"


async def test_a_failed_group_with_overwrite_keeps_the_files_it_replaced(tmp_path: Path) -> None:
    # kills: _extract_groups_sync: `_roll_back(..., overwrite)` -> `None` (a falsy overwrite
    # makes the rollback delete the published files: replaced ones cannot be restored, so
    # they must at least stay, new)
    archive = make_zip(tmp_path / "a.zip", {"g/a.txt": b"new", "g/b.txt": b"b"})
    raw = bytearray(archive.read_bytes())
    at = raw.rfind(b"PK\x03\x04")  # corrupt the last member's data: its CRC fails
    raw[at + 30 + len("g/b.txt") + 1] ^= 0xFF
    archive.write_bytes(bytes(raw))
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a.txt").write_bytes(b"old")
    with pytest.raises(IntegrityError):
        await extract_zip_groups(
            archive, [ZipGroup(tmp_path / "one", strip_prefix="g/")], overwrite=True
        )
    # nothing was published (the failure came while writing), so the old file stays
    assert (tmp_path / "one" / "a.txt").read_bytes() == b"old"
    assert tree(tmp_path / "one") == ["a.txt"]


# --- read_batch_layout ------------------------------------------------------------------------


async def test_an_id_with_a_slash_wins_over_its_own_prefix(tmp_path: Path) -> None:
    # kills: _read_batch_layout_sync: `sorted(..., key=len, reverse=True)` without
    # `reverse` / with `reverse=False` (the shorter id would take the longer one's files)
    archive = make_zip(tmp_path / "a.zip", {"a/b/x.txt": b"x", "a/y.txt": b"y"})
    got = await read_batch_layout(archive, message_ids=["a", "a/b"])
    assert {k: v.attachments for k, v in got.items()} == {
        "a/b": ("a/b/x.txt",),
        "a": ("a/y.txt",),
    }


async def test_a_top_level_file_does_not_end_the_layout(tmp_path: Path) -> None:
    # kills: _read_batch_layout_sync: `continue` -> `break` for a member outside any folder
    archive = make_zip(tmp_path / "a.zip", {"stray.txt": b"s", "m1/a.txt": b"a", "m1/sub/": b""})
    got = await read_batch_layout(archive)
    # kills too: `rest.endswith("/")` -> `"XX/XX"` (a directory entry is no attachment)
    assert {k: v.attachments for k, v in got.items()} == {"m1": ("m1/a.txt",)}


async def test_an_error_file_is_read_64_kib_at_most_and_decoded_leniently(tmp_path: Path) -> None:
    # kills: _read_batch_layout_sync: `source.read(_MAX_ERROR_FILE)` -> `read(None)`;
    # `decode("utf-8", "replace")` -> strict, "XXreplaceXX", "REPLACE"
    archive = make_zip(
        tmp_path / "a.zip",
        {"m1/.error": b"bad \xff byte", "m2/.error": b"y" * (64 * 1024 + 10)},
    )
    got = await read_batch_layout(archive)
    assert got["m1"].error == "bad \ufffd byte"
    assert got["m2"].error == "y" * (64 * 1024)


async def test_a_corrupt_error_file_is_an_integrity_error_that_names_it(tmp_path: Path) -> None:
    # kills: _read_batch_layout_sync: IntegrityError(None)
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("m1/.error", b"no attachments")
    raw = bytearray(archive.read_bytes())
    at = raw.find(b"no attachments")
    raw[at] ^= 0xFF
    archive.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match=r"^corrupt member 'm1/.error': "):
        await read_batch_layout(archive)


# --- _read_member -----------------------------------------------------------------------------


async def test_members_are_read_in_bounded_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: _read_member: `source.read(_ZIP_CHUNK)` -> `read(None)` (a member, however
    # large, never sits in memory whole)
    archive = make_zip(tmp_path / "a.zip", {"big.bin": b"z" * (3 * archives._ZIP_CHUNK + 5)})
    asked: list[object] = []
    real_read = zipfile.ZipExtFile.read

    def spy(self: zipfile.ZipExtFile, n: int | None = -1) -> bytes:
        asked.append(n)
        return real_read(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", spy)
    await verify_zip(archive)
    await extract_zip(archive, tmp_path / "out")
    assert asked
    assert set(asked) == {archives._ZIP_CHUNK}


# --- durability and rollback ------------------------------------------------------------------


class FsyncSpy:
    """Records what `os.fsync` is called on: "file" or the directory's path."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import os
        import stat as stat_

        self.calls: list[str] = []
        real_fsync = os.fsync

        def spy(fd: int) -> None:
            mode = os.fstat(fd).st_mode
            self.calls.append(os.readlink(f"/proc/self/fd/{fd}") if stat_.S_ISDIR(mode) else "file")
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", spy)


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to name fds")
async def test_extraction_fsyncs_each_file_and_each_directory_once_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: _extract_groups_sync: AtomicFile `fsync=None` / dropped, `_publish_all(...,
    # None, ...)`; extract_zip_groups: default `fsync=False`, `fsync` -> None when passed
    # on; extract_zip: AtomicFile's `fsync` dropped; _publish_all: `_publish_sync(True)`
    # (a directory fsync per file on top of the one per directory)
    members = {"g/a.txt": b"a", "g/b.txt": b"b", "g/sub/c.txt": b"c"}
    archive = make_zip(tmp_path / "a.zip", members)
    spy = FsyncSpy(monkeypatch)
    one = tmp_path / "one"
    await extract_zip_groups(archive, [ZipGroup(one, strip_prefix="g/")])
    assert sorted(spy.calls) == sorted(["file"] * 3 + [str(one), str(one / "sub")])

    spy.calls.clear()
    two = tmp_path / "two"
    await extract_zip(archive, two, strip_prefix="g/")
    assert sorted(spy.calls) == sorted(["file"] * 3 + [str(two), str(two / "sub")])

    spy.calls.clear()
    await extract_zip_groups(
        archive, [ZipGroup(tmp_path / "three", strip_prefix="g/")], fsync=False
    )
    await extract_zip(archive, tmp_path / "four", strip_prefix="g/", fsync=False)
    assert spy.calls == []


async def test_a_failed_group_leaves_no_directory_it_made(tmp_path: Path) -> None:
    # kills: _extract_groups_sync: `_extract_member_sync(..., created)` -> `None` (the
    # member directories made would not be rolled back)
    archive = make_zip(tmp_path / "a.zip", {"g/sub/deep/a.txt": b"a", "g/zz.txt": b"z"})
    raw = bytearray(archive.read_bytes())
    at = raw.rfind(b"PK\x03\x04")  # the last member's data: its CRC fails
    raw[at + 30 + len("g/zz.txt") + 1] ^= 0xFF
    archive.write_bytes(bytes(raw))
    (tmp_path / "one").mkdir()
    with pytest.raises(IntegrityError):
        await extract_zip_groups(archive, [ZipGroup(tmp_path / "one", strip_prefix="g/")])
    assert tree(tmp_path / "one") == []


@pytest.mark.parametrize("how", ["extract_zip", "groups"])
async def test_a_publish_that_fails_halfway_keeps_what_overwrite_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    # kills: extract_zip and _extract_groups_sync: `_roll_back(..., overwrite)` -> `None`
    # (a falsy overwrite would unlink the files already moved over the old ones: both the
    # old and the new content lost)
    import os

    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"new a", "b.txt": b"new b"})
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_bytes(b"old a")
    real_replace = os.replace
    moved: list[str] = []

    def replace(src: str, dst: str) -> None:
        if Path(dst).name == "b.txt":
            raise PermissionError(13, "refused", dst)
        real_replace(src, dst)
        moved.append(Path(dst).name)

    async def extract() -> object:
        if how == "extract_zip":
            return await extract_zip(archive, out, overwrite=True)
        return await extract_zip_groups(archive, [ZipGroup(out)], overwrite=True)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(PermissionError):
        await extract()
    assert moved == ["a.txt"]
    assert (out / "a.txt").read_bytes() == b"new a"


async def test_a_rollback_that_cannot_unlink_still_raises_the_first_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: _roll_back: `suppress(OSError)` -> `suppress(None)` (a TypeError instead)
    import os

    from as2gw_async import atomic

    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"a", "b.txt": b"b"})
    out = tmp_path / "out"
    real_rename = atomic._rename_no_replace
    real_unlink = os.unlink

    def rename(temp: Path, final: Path) -> None:
        if final.name == "b.txt":
            raise PermissionError(13, "refused", str(final))
        real_rename(temp, final)

    def unlink(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        if Path(path) == out / "a.txt":
            raise PermissionError(13, "refused", str(path))
        real_unlink(path)

    monkeypatch.setattr(atomic, "_rename_no_replace", rename)
    monkeypatch.setattr(os, "unlink", unlink)
    with pytest.raises(PermissionError, match="refused"):
        await extract_zip(archive, out)


async def test_the_return_value_holds_only_this_calls_groups(tmp_path: Path) -> None:
    # kills: extract_zip_groups: `start = len(finished)` -> `None`
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"a"})
    done: list[list[archives.ExtractedMember]] = [[]]
    got = await extract_zip_groups(archive, [ZipGroup(tmp_path / "one")], done=done)
    assert [[m.name for m in g] for g in got] == [["a.txt"]]
    assert len(done) == 2


# --- error messages ---------------------------------------------------------------------------


async def test_a_file_that_is_no_zip_says_so(tmp_path: Path) -> None:
    # kills: _open_zip: IntegrityError(None)
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"this is not a zip archive at all")
    with pytest.raises(IntegrityError, match=r"^not a valid zip archive: "):
        await verify_zip(bogus)


async def test_a_member_zipfile_cannot_open_is_named(tmp_path: Path) -> None:
    # kills: _read_member: IntegrityError(None) when the member cannot be opened
    import struct

    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("odd.bin", b"data")
    raw = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        struct.pack_into("<H", raw, raw.find(signature) + offset, 99)  # no such method
    archive.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match=r"^cannot read member 'odd.bin': "):
        await verify_zip(archive)


async def test_a_zip_that_cannot_be_read_is_an_integrity_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: _open_zip: IntegrityError(None) for an OSError other than a missing file
    import errno

    def broken(*args: object, **kwargs: object) -> zipfile.ZipFile:
        raise OSError(errno.EIO, "Input/output error")

    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"a"})
    monkeypatch.setattr(zipfile, "ZipFile", broken)
    with pytest.raises(IntegrityError, match=r"^not a valid zip archive: \[Errno 5\] Input"):
        await verify_zip(archive)
