"""Unit tests for as2gw_async.files: names, atomic writes, zip extraction."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import threading
import time
import zipfile
from pathlib import Path

import anyio
import pytest

from as2gw_async.errors import IntegrityError
from as2gw_async.files import (
    AtomicFile,
    BatchFolder,
    ExtractedMember,
    ZipGroup,
    extract_zip,
    extract_zip_groups,
    parse_content_disposition,
    read_batch_layout,
    remove_stale_temp_files,
    resolve_destination,
    safe_filename,
    safe_message_dirname,
)


def listing(directory: Path) -> list[str]:
    """Every entry under *directory* (relative, sorted), temporaries included."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


# --- Content-Disposition -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("attachment; filename=plain.txt", "plain.txt"),
        ("attachment; filename=plain.txt ", "plain.txt"),
        ('attachment; filename="quoted \\"x\\".txt"', 'quoted "x".txt'),
        ('attachment; filename="with; semicolon.txt"', "with; semicolon.txt"),
        ("attachment; filename*=UTF-8''%E2%82%AC%20rates.txt", "€ rates.txt"),
        ("attachment; filename=\"fallback.txt\"; filename*=utf-8''%E2%82%AC.txt", "€.txt"),
        ("attachment; filename*=UTF-8''%E2%82%AC.txt; filename=fallback.txt", "€.txt"),
        ("attachment; filename*=ISO-8859-1'en'%A3%20rates.txt", "£ rates.txt"),
        ("ATTACHMENT; FileName=upper.TXT", "upper.TXT"),
        ("attachment; FILENAME*=utf-8''lower.txt", "lower.txt"),
        ("filename=no-type.txt", "no-type.txt"),
        ("inline; filename = spaced.txt ; size=10", "spaced.txt"),
        # the gateway sends filename=<name> unquoted: a ";" not starting a parameter is kept
        ("attachment; filename=a;b.txt", "a;b.txt"),
        ("attachment; filename=a.txt; creation-date=x", "a.txt"),
        # undecodable filename* falls back to filename
        ("attachment; filename*=UTF-8''%FF%FE; filename=ok.txt", "ok.txt"),
        ("attachment; filename*=klingon''abc; filename=ok.txt", "ok.txt"),
        ("attachment; filename*=no-quotes; filename=ok.txt", "ok.txt"),
        ("attachment; filename=first.txt; filename=second.txt", "first.txt"),
        ('attachment; filename="unterminated.txt', "unterminated.txt"),
        ("attachment; filename=../../etc/passwd", "../../etc/passwd"),  # untrusted as is
    ],
)
def test_parse_content_disposition(header: str, expected: str) -> None:
    assert parse_content_disposition(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "attachment",
        "inline;",
        ";;;",
        "=",
        '"',
        "attachment; filename=",
        "\x00\xff",
        "a=b",
    ],
)
def test_parse_content_disposition_junk(header: str | None) -> None:
    assert parse_content_disposition(header) is None


# --- safe_filename -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("invoice.xml", "invoice.xml"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("C:\\Windows\\x", "x"),
        ("C:x.txt", "C_x.txt"),
        ("/etc/passwd", "passwd"),
        ("dir/", "attachment"),
        ("CON.txt", "_CON.txt"),
        ("con", "_con"),
        ("nul", "_nul"),
        ("NUL.tar.gz", "_NUL.tar.gz"),
        ("Com1", "_Com1"),
        ("LPT9.log", "_LPT9.log"),
        ("aux .txt", "_aux .txt"),
        ("console.txt", "console.txt"),
        ("COM10", "COM10"),
        ("a\x00b\x01c\x1f\x7fd.txt", "abcd.txt"),
        ("tab\tname\n.txt", "tabname.txt"),
        ("evil\u202etxt.exe", "eviltxt.exe"),
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("", "attachment"),
        (None, "attachment"),
        (".", "attachment"),
        ("..", "attachment"),
        ("...", "attachment"),
        (" . ", "attachment"),
        (".bashrc", "bashrc"),
        ("trailing. . ", "trailing"),
        ("  spaced  ", "spaced"),
        ("e\u0301.txt", "\u00e9.txt"),  # NFC
        ("\ud800lone.txt", "lone.txt"),  # a lone surrogate could never be encoded
        ("€ rates.txt", "€ rates.txt"),
    ],
)
def test_safe_filename(name: str | None, expected: str) -> None:
    assert safe_filename(name) == expected


def test_safe_filename_default_is_sanitised_too() -> None:
    assert safe_filename("..", default="m.bin") == "m.bin"
    assert safe_filename("..", default="../CON") == "_CON"
    assert safe_filename(None, default="") == "attachment"


def test_safe_filename_long_names_keep_extension() -> None:
    name = "x" * 300 + ".txt"
    result = safe_filename(name)
    assert len(result.encode()) == 255
    assert result.endswith(".txt")
    multibyte = safe_filename("é" * 300 + ".pdf")
    assert len(multibyte.encode()) <= 255
    assert multibyte.endswith(".pdf")
    multibyte.encode().decode()  # no split UTF-8 sequence
    assert safe_filename("a" * 50, max_length=10) == "a" * 10
    # a long "extension" is not kept at the expense of the name
    assert safe_filename("a." + "b" * 300, max_length=20) == "a." + "b" * 18
    assert safe_filename("x" * 10 + "." * 5 + "y" * 10, max_length=12) == "x" * 10


def test_safe_filename_rejects_silly_max_length() -> None:
    with pytest.raises(ValueError, match="max_length"):
        safe_filename("a", max_length=0)


def test_safe_message_dirname() -> None:
    plain = "<90766548.41.1573209810390@as2gateway.com>"
    assert safe_message_dirname(plain) == "90766548.41.1573209810390@as2gateway.com"
    # the bare form is a different id: it must not share the directory
    bare = safe_message_dirname("90766548.41.1573209810390@as2gateway.com")
    assert bare.startswith("90766548.41.1573209810390@as2gateway.com~")
    # differing only in case: different dirs even on a case-insensitive file system
    upper, lower = safe_message_dirname("<ABC@x>"), safe_message_dirname("<abc@x>")
    assert upper.casefold() != lower.casefold()
    # sanitising collisions are separated by the hash
    a, b = safe_message_dirname("<a/b@x>"), safe_message_dirname("<a:b@x>")
    assert a != b
    assert a.startswith("a_b@x~")
    for hostile in [
        "<../../etc>",
        "<con>",
        "CON..C:",
        "<nul.x@y>",
        "",
        "<>",
        "<" + "x" * 500 + ">",
        "/",
        "<.>",
        "<a\x00>",
    ]:
        name = safe_message_dirname(hostile)
        assert name == safe_filename(name), hostile
        assert "/" not in name
        assert "\\" not in name
        assert len(name) <= 120
    assert safe_message_dirname("<x@y>") == safe_message_dirname("<x@y>")  # stable


def test_resolve_destination(tmp_path: Path) -> None:
    assert resolve_destination(tmp_path, "../../x.txt", default_name="m.bin") == tmp_path / "x.txt"
    assert resolve_destination(tmp_path, None, default_name="m.bin") == tmp_path / "m.bin"
    assert resolve_destination(tmp_path, "..", default_name="m.bin") == tmp_path / "m.bin"
    new_dir = f"{tmp_path}{os.sep}new{os.sep}"
    assert resolve_destination(new_dir, "a.txt", default_name="m") == tmp_path / "new" / "a.txt"
    assert (tmp_path / "new").is_dir()
    exact = tmp_path / "deep" / "er" / "mine.edi"
    assert resolve_destination(exact, "ignored.txt", default_name="m") == exact
    assert exact.parent.is_dir()
    assert resolve_destination(str(exact), None, default_name="m") == exact


# --- AtomicFile ----------------------------------------------------------------------------


async def test_atomic_commit(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    calls: list[tuple[int, int | None]] = []
    async with AtomicFile(
        target, sha256=True, expected_size=6, progress=lambda *a: calls.append(a)
    ) as f:
        assert f.temp_path is not None
        assert f.temp_path.parent == tmp_path
        assert f.temp_path.name.startswith(".out.bin.")
        assert f.temp_path.name.endswith(".part")
        await f.write(b"abc")
        await f.write(memoryview(b"def"))
        assert not target.exists()
    assert f.committed
    assert target.read_bytes() == b"abcdef"
    assert f.bytes_written == 6
    assert f.sha256 == hashlib.sha256(b"abcdef").hexdigest()
    assert calls == [(3, 6), (6, 6)]
    assert listing(tmp_path) == ["out.bin"]


async def test_atomic_explicit_commit_checks_size_and_digest(tmp_path: Path) -> None:
    target = tmp_path / "x"
    async with AtomicFile(target, sha256=True) as f:
        await f.write(b"data")
        digest = hashlib.sha256(b"data").hexdigest()
        assert await f.commit(4, expected_sha256=digest.upper()) == target
    assert target.read_bytes() == b"data"

    async def wrong_digest() -> None:
        async with AtomicFile(tmp_path / "y", sha256=True) as f:
            await f.write(b"data")
            await f.commit(expected_sha256="00" * 32)

    with pytest.raises(IntegrityError, match="SHA-256"):
        await wrong_digest()
    assert listing(tmp_path) == ["x"]


@pytest.mark.parametrize("expected", [5, 3])
async def test_atomic_size_mismatch_leaves_nothing(tmp_path: Path, expected: int) -> None:
    with pytest.raises(IntegrityError, match=f"expected {expected} bytes, got 4"):
        async with AtomicFile(tmp_path / "short.bin", expected_size=expected) as f:
            await f.write(b"abcd")
    assert listing(tmp_path) == []


async def test_atomic_abort_on_exception(tmp_path: Path) -> None:
    f = AtomicFile(tmp_path / "a.bin")

    async def failing() -> None:
        async with f:
            await f.write(b"partial")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await failing()
    assert listing(tmp_path) == []
    assert f.temp_path is None
    assert not f.committed


async def test_atomic_cancellation_leaves_nothing(tmp_path: Path) -> None:
    with anyio.CancelScope() as scope:
        async with AtomicFile(tmp_path / "c.bin") as f:
            await f.write(b"x" * 1000)
            scope.cancel()
            await f.write(b"y")  # the cancellation lands here
            pytest.fail("not cancelled")
    assert scope.cancelled_caught
    assert listing(tmp_path) == []

    with anyio.move_on_after(0.05):
        async with AtomicFile(tmp_path / "d.bin") as f:
            await f.write(b"x")
            await anyio.sleep(5)
    assert listing(tmp_path) == []


async def test_atomic_cancelled_before_commit(tmp_path: Path) -> None:
    with anyio.CancelScope() as scope:
        f = AtomicFile(tmp_path / "e.bin")
        await f.open()
        await f.write(b"x")
        scope.cancel()
        await f.commit()
    assert scope.cancelled_caught
    assert listing(tmp_path) == []


async def test_atomic_refuses_to_overwrite_by_default(tmp_path: Path) -> None:
    target = tmp_path / "exists.txt"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite=True") as info:
        async with AtomicFile(target) as f:
            await f.write(b"new")
    assert info.value.filename == str(target)
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["exists.txt"]


async def test_atomic_overwrite_replaces(tmp_path: Path) -> None:
    target = tmp_path / "exists.txt"
    target.write_bytes(b"old")
    async with AtomicFile(target, overwrite=True) as f:
        await f.write(b"new")
    assert target.read_bytes() == b"new"
    assert listing(tmp_path) == ["exists.txt"]


async def test_atomic_does_not_follow_symlink_at_target(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"precious")
    link = tmp_path / "link.txt"
    link.symlink_to(outside)
    with pytest.raises(FileExistsError):
        async with AtomicFile(link) as f:
            await f.write(b"x")
    async with AtomicFile(link, overwrite=True) as f:
        await f.write(b"x")
    assert outside.read_bytes() == b"precious"
    assert not link.is_symlink()
    assert link.read_bytes() == b"x"


async def test_atomic_concurrent_writers_one_wins(tmp_path: Path) -> None:
    target = tmp_path / "race.bin"
    results: list[str] = []

    async def writer(payload: bytes) -> None:
        try:
            async with AtomicFile(target) as f:
                await f.write(payload)
                await anyio.sleep(0.01)
            results.append("ok")
        except FileExistsError:
            results.append("refused")

    async with anyio.create_task_group() as tg:
        for i in range(5):
            tg.start_soon(writer, bytes([65 + i]) * 100)
    assert sorted(results) == ["ok"] + ["refused"] * 4
    assert len(set(target.read_bytes())) == 1
    assert listing(tmp_path) == ["race.bin"]


async def test_atomic_big_chunks_go_through_a_thread(tmp_path: Path) -> None:
    threads: set[int] = set()
    big = os.urandom(3 << 20)
    async with AtomicFile(
        tmp_path / "big.bin", sha256=True, progress=lambda d, t: threads.add(threading.get_ident())
    ) as f:
        await f.write(big)
        await f.write(b"tail")
    assert (tmp_path / "big.bin").read_bytes() == big + b"tail"
    assert f.sha256 == hashlib.sha256(big + b"tail").hexdigest()
    assert threads == {threading.get_ident()}  # progress is reported in the event loop


async def test_atomic_misuse(tmp_path: Path) -> None:
    f = AtomicFile(tmp_path / "m")
    with pytest.raises(RuntimeError):
        await f.write(b"x")
    with pytest.raises(RuntimeError):
        await f.commit()
    async with f:
        pass
    assert (tmp_path / "m").read_bytes() == b""
    with pytest.raises(RuntimeError):
        await f.open()
    with pytest.raises(FileNotFoundError):
        async with AtomicFile(tmp_path / "missing" / "x") as g:
            await g.write(b"x")
    assert "AtomicFile" in repr(f)


def test_atomic_on_trio(tmp_path: Path) -> None:
    async def main() -> None:
        async with AtomicFile(tmp_path / "t.bin") as f:
            await f.write(b"trio")
        with anyio.CancelScope() as scope:
            async with AtomicFile(tmp_path / "u.bin") as g:
                await g.write(b"x")
                scope.cancel()
                await g.write(b"y")

    anyio.run(main, backend="trio")
    assert listing(tmp_path) == ["t.bin"]


def test_remove_stale_temp_files(tmp_path: Path) -> None:
    stale = tmp_path / ".a.txt.0123abcd.part"
    fresh = tmp_path / ".b.txt.89abcdef.part"
    other = tmp_path / "c.part"
    for p in (stale, fresh, other):
        p.write_bytes(b"x")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    assert remove_stale_temp_files(tmp_path) == [stale]
    assert listing(tmp_path) == [fresh.name, other.name]
    assert remove_stale_temp_files(tmp_path, older_than=-1) == [fresh]


# --- zip extraction ------------------------------------------------------------------------


def make_zip(
    path: Path, members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED
) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return path


def patch_declared_sizes(path: Path, new_size: int) -> None:
    """Rewrite every declared uncompressed size (local and central headers) to *new_size*."""
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := raw.find(signature, start)) >= 0:
            struct.pack_into("<I", raw, at + offset, new_size)
            start = at + 4
    path.write_bytes(bytes(raw))


async def test_extract_zip(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "a.zip",
        {"a.txt": b"alpha", "sub/": b"", "sub/b.txt": b"beta", "sub/deeper/c.bin": b"\x00" * 70000},
    )
    out = tmp_path / "out"
    result = await extract_zip(archive, out)
    assert result == [
        ExtractedMember("a.txt", out / "a.txt", 5),
        ExtractedMember("sub/b.txt", out / "sub" / "b.txt", 4),
        ExtractedMember("sub/deeper/c.bin", out / "sub" / "deeper" / "c.bin", 70000),
    ]
    assert (out / "sub" / "b.txt").read_bytes() == b"beta"
    assert listing(out) == ["a.txt", "sub", "sub/b.txt", "sub/deeper", "sub/deeper/c.bin"]


async def test_extract_zip_stored_and_sanitised_names(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "a.zip",
        {"CON.txt": b"1", "di:r/f?.txt": b"2", "./x.txt": b"3", ".hidden": b"4"},
        compression=zipfile.ZIP_STORED,
    )
    out = tmp_path / "out"
    result = await extract_zip(archive, out)
    assert [m.path.relative_to(out).as_posix() for m in result] == [
        "_CON.txt",
        "di_r/f_.txt",
        "x.txt",
        "hidden",
    ]


async def test_extract_zip_clashing_names_are_kept_apart(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("inv.xml", b"1")
        with pytest.warns(UserWarning, match="Duplicate"):
            zf.writestr("inv.xml", b"2")
        zf.writestr("INV.xml", b"3")
        zf.writestr("inv?.xml", b"4")
        zf.writestr("inv_.xml", b"5")
    (tmp_path / "d.zip").write_bytes(buffer.getvalue())
    out = tmp_path / "out"
    result = await extract_zip(tmp_path / "d.zip", out)
    assert [(m.path.name, m.path.read_bytes()) for m in result] == [
        ("inv.xml", b"1"),
        ("inv (2).xml", b"2"),
        ("INV (3).xml", b"3"),
        ("inv_.xml", b"4"),
        ("inv_ (2).xml", b"5"),
    ]


@pytest.mark.parametrize(
    "name",
    [
        "../evil.txt",
        "a/../../evil.txt",
        "..\\evil.txt",
        "a\\..\\..\\evil.txt",
        "/etc/evil",
        "\\evil.txt",
        "C:\\evil.txt",
        "c:evil.txt",
        "\\\\server\\share\\evil.txt",
    ],
)
async def test_extract_zip_slip_is_refused(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "slip.zip", {"good.txt": b"ok", name: b"evil"})
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match="unsafe"):
        await extract_zip(archive, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slip.zip"]  # not even an empty out/


async def test_extract_zip_symlink_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("good.txt", b"ok")
        info = zipfile.ZipInfo("link")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(IntegrityError, match="symbolic link"):
        await extract_zip(archive, tmp_path / "out")
    assert listing(tmp_path / "out") == []


async def test_extract_zip_refuses_to_leave_through_existing_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(outside)
    archive = make_zip(tmp_path / "a.zip", {"sub/x.txt": b"x"})
    with pytest.raises(IntegrityError, match="leave"):
        await extract_zip(archive, out)
    assert listing(outside) == []


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04" + b"\x00" * 100])
async def test_extract_zip_not_a_zip(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "bad.zip").write_bytes(content)
    with pytest.raises(IntegrityError, match="not a valid zip"):
        await extract_zip(tmp_path / "bad.zip", tmp_path / "out")
    with pytest.raises(IntegrityError):
        await read_batch_layout(tmp_path / "bad.zip")


async def test_extract_zip_crc_error_is_all_or_nothing(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "crc.zip",
        {"first.txt": b"fine", "new/dir/second.txt": b"will be damaged"},
        compression=zipfile.ZIP_STORED,
    )
    raw = archive.read_bytes()
    archive.write_bytes(raw.replace(b"will be damaged", b"WILL be damaged"))
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match=r"corrupt member 'new/dir/second\.txt'"):
        await extract_zip(archive, out)
    assert listing(out) == []  # first.txt was verified but is not published alone


async def test_extract_zip_declared_bomb(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", {"a": b"\x00" * 600_000, "b": b"\x00" * 600_000})
    assert archive.stat().st_size < 10_000
    with pytest.raises(IntegrityError, match="zip bomb"):
        await extract_zip(archive, tmp_path / "out", max_total_size=1_000_000)
    assert listing(tmp_path / "out") == []


async def test_extract_zip_lying_sizes(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "liar.zip", {"a": b"\x00" * 5_000_000, "b": b"\x00" * 5_000_000})
    patch_declared_sizes(archive, 10)
    with zipfile.ZipFile(archive) as zf:
        assert sum(i.file_size for i in zf.infolist()) == 20
    with pytest.raises(IntegrityError):
        await extract_zip(archive, tmp_path / "out", max_total_size=1000)
    assert listing(tmp_path / "out") == []


async def test_extract_zip_too_many_members(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "many.zip", {f"{i}.txt": b"" for i in range(11)})
    with pytest.raises(IntegrityError, match="more than 10"):
        await extract_zip(archive, tmp_path / "out", max_members=10)


async def test_extract_zip_encrypted_member_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "enc.zip", {"secret.txt": b"x"}, compression=zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature)
        raw[at + offset] |= 0x1
    archive.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="encrypted"):
        await extract_zip(archive, tmp_path / "out")


async def test_extract_zip_overwrite_policy(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"new a", "b.txt": b"new b"})
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.txt").write_bytes(b"old b")
    with pytest.raises(FileExistsError):
        await extract_zip(archive, out)
    assert listing(out) == ["b.txt"]
    assert (out / "b.txt").read_bytes() == b"old b"
    await extract_zip(archive, out, overwrite=True)
    assert (out / "a.txt").read_bytes() == b"new a"
    assert (out / "b.txt").read_bytes() == b"new b"
    assert listing(out) == ["a.txt", "b.txt"]


async def test_extract_zip_rolls_back_when_publishing_fails(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"a", "b.txt": b"b"})
    out = tmp_path / "out"
    out.mkdir()
    original = AtomicFile._publish_sync

    def racing_publish(self: AtomicFile, fsync_dir: bool) -> None:
        if self.path.name == "b.txt":  # another writer creates b.txt in the meantime
            self.path.write_bytes(b"theirs")
        original(self, fsync_dir)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AtomicFile, "_publish_sync", racing_publish)
        with pytest.raises(FileExistsError):
            await extract_zip(archive, out)
    assert listing(out) == ["b.txt"]
    assert (out / "b.txt").read_bytes() == b"theirs"


async def test_extract_zip_cancellation_leaves_nothing(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "big.zip",
        {f"{i}.bin": os.urandom(3 << 20) for i in range(4)},
        compression=zipfile.ZIP_STORED,
    )
    out = tmp_path / "out"
    original = AtomicFile._write_sync

    def slow_write(self: AtomicFile, chunk: bytes) -> None:
        time.sleep(0.01)  # in the worker thread: 12 chunks take >= 120 ms
        original(self, chunk)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AtomicFile, "_write_sync", slow_write)
        with anyio.move_on_after(0.05) as scope:
            await extract_zip(archive, out, fsync=False)
    assert scope.cancelled_caught
    assert listing(out) == []


async def test_extract_zip_prefix_and_members(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "a.zip", {"m1/": b"", "m1/a.txt": b"a", "m1/b.txt": b"b", "m2/c.txt": b"c"}
    )
    out = tmp_path / "out"
    result = await extract_zip(archive, out, strip_prefix="m1/", members=["m1/b.txt"])
    assert result == [ExtractedMember("m1/b.txt", out / "b.txt", 1)]
    result = await extract_zip(archive, out, strip_prefix="m2/")
    assert result == [ExtractedMember("m2/c.txt", out / "c.txt", 1)]
    with pytest.raises(KeyError):
        await extract_zip(archive, out, members=["nope"])


async def test_read_batch_layout(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "batch.zip",
        {
            "<id-1@x>/": b"",
            "<id-1@x>/invoice.xml": b"1",
            "<id-1@x>/order.edi": b"2",
            "<id-2@x>/.error": "No attachments found ✗\n".encode(),
            "<a/b@x>/f.txt": b"3",
            "stray.txt": b"ignored",
        },
    )
    layout = await read_batch_layout(archive, message_ids=["<a/b@x>", "<id-1@x>"])
    assert layout == {
        "<id-1@x>": BatchFolder("<id-1@x>", ("<id-1@x>/invoice.xml", "<id-1@x>/order.edi"), None),
        "<id-2@x>": BatchFolder("<id-2@x>", (), "No attachments found ✗"),
        "<a/b@x>": BatchFolder("<a/b@x>", ("<a/b@x>/f.txt",), None),
    }
    # without the ids, the first path component is the folder
    assert "<a" in await read_batch_layout(archive)

    folder = layout["<a/b@x>"]
    out = tmp_path / "out" / safe_message_dirname(folder.name)
    files = await extract_zip(
        archive, out, members=folder.attachments, strip_prefix=folder.name + "/"
    )
    assert [m.path for m in files] == [out / "f.txt"]
    assert len(await read_batch_layout(archive, max_members=100)) == 3
    with pytest.raises(IntegrityError):
        await read_batch_layout(archive, max_members=2)


@pytest.mark.parametrize(
    ("real_size", "cap", "message"),
    # anchored: kills archives._read_member's message mutants
    [
        (100, 10_000, "^member 'a' is larger than declared"),
        (100, 50, r"^archive inflates past max_total_size \(zip bomb\?\)$"),
    ],
)
async def test_extract_zip_streaming_guards(
    tmp_path: Path, real_size: int, cap: int, message: str
) -> None:
    """Declared sizes can lie: the bytes actually produced are counted too."""
    archive = make_zip(tmp_path / "a.zip", {"a": b"x" * 10, "b": b"y" * 10})
    with pytest.MonkeyPatch.context() as mp:
        # stand-in for a decompressor that yields more than the header declared
        mp.setattr(zipfile.ZipFile, "open", lambda self, info: io.BytesIO(b"z" * real_size))
        with pytest.raises(IntegrityError, match=message):
            await extract_zip(archive, tmp_path / "out", max_total_size=cap)
    assert listing(tmp_path / "out") == []


async def test_atomic_without_hard_links(tmp_path: Path) -> None:
    def no_link(*args: object, **kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    target = tmp_path / "f.txt"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "link", no_link)
        async with AtomicFile(target) as f:
            await f.write(b"first")
        with pytest.raises(FileExistsError):
            async with AtomicFile(target) as f:
                await f.write(b"second")
    assert target.read_bytes() == b"first"
    assert listing(tmp_path) == ["f.txt"]


def test_publish_directory_moves_whole_and_refuses_to_replace(tmp_path: Path) -> None:
    from as2gw_async.files import publish_directory

    staged = tmp_path / "staging" / "m1"
    staged.mkdir(parents=True)
    (staged / "a.edi").write_bytes(b"ISA")
    final = publish_directory(staged, tmp_path / "m1")
    assert (final / "a.edi").read_bytes() == b"ISA"
    assert not staged.exists()

    again = tmp_path / "staging" / "m1"
    again.mkdir()
    (tmp_path / "empty").mkdir()
    for target in (final, tmp_path / "empty"):
        with pytest.raises(FileExistsError, match="existing directory"):
            publish_directory(again, target)
    assert again.is_dir()
    assert (final / "a.edi").read_bytes() == b"ISA"


# --- extract_zip_groups: one archive, several directories ----------------------------------


async def test_extract_zip_groups_one_pass(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "batch.zip",
        {"m1/": b"", "m1/a.txt": b"a", "m1/b.txt": b"bb", "m2/a.txt": b"ccc", "m3/x": b"x"},
    )
    out = tmp_path / "out"
    opened = 0
    original = zipfile.ZipFile.__init__

    def counting_init(self: zipfile.ZipFile, *args: object, **kwargs: object) -> None:
        nonlocal opened
        opened += 1
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zipfile.ZipFile, "__init__", counting_init)
        result = await extract_zip_groups(
            archive,
            [
                ZipGroup(out / "one", members=["m1/a.txt", "m1/b.txt"], strip_prefix="m1/"),
                ZipGroup(out / "two", strip_prefix="m2/"),
            ],
            fsync=False,
        )
    assert opened == 1
    assert result == [
        [
            ExtractedMember("m1/a.txt", out / "one" / "a.txt", 1),
            ExtractedMember("m1/b.txt", out / "one" / "b.txt", 2),
        ],
        [ExtractedMember("m2/a.txt", out / "two" / "a.txt", 3)],
    ]
    assert listing(out) == ["one", "one/a.txt", "one/b.txt", "two", "two/a.txt"]


async def test_extract_zip_groups_all_or_nothing_per_group(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "b.zip", {"m1/a.txt": b"a", "m2/a.txt": b"b", "m2/c.txt": b"c"})
    out = tmp_path / "out"
    (out / "two").mkdir(parents=True)
    (out / "two" / "c.txt").write_bytes(b"theirs")
    done: list[list[ExtractedMember]] = []
    with pytest.raises(FileExistsError):
        await extract_zip_groups(
            archive,
            [
                ZipGroup(out / "one", strip_prefix="m1/"),
                ZipGroup(out / "two", strip_prefix="m2/"),
                ZipGroup(out / "three", strip_prefix="m1/"),
            ],
            done=done,
        )
    assert done == [[ExtractedMember("m1/a.txt", out / "one" / "a.txt", 1)]]
    assert listing(out) == ["one", "one/a.txt", "two", "two/c.txt"]
    assert (out / "two" / "c.txt").read_bytes() == b"theirs"


@pytest.mark.parametrize("name", ["m1/../../evil.txt", "m1/..\\evil.txt"])
async def test_extract_zip_groups_keeps_every_check(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "s.zip", {"m1/ok.txt": b"ok", name: b"x"})
    out = tmp_path / "out"
    with pytest.raises(IntegrityError):
        await extract_zip_groups(archive, [ZipGroup(out / "one", strip_prefix="m1/")])
    assert not out.exists()  # the directories the failed group made are gone too
    with pytest.raises(KeyError):
        await extract_zip_groups(archive, [ZipGroup(out / "one", members=["nope"])])


async def test_extract_zip_groups_size_cap_covers_the_whole_call(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "c.zip", {"m1/a": b"a" * 600, "m2/a": b"b" * 600})
    out = tmp_path / "out"
    groups = [ZipGroup(out / "1", strip_prefix="m1/"), ZipGroup(out / "2", strip_prefix="m2/")]
    with pytest.raises(IntegrityError, match="zip bomb"):
        await extract_zip_groups(archive, groups, max_total_size=1000, fsync=False)
    assert listing(out) == ["1", "1/a"]  # no empty directory of the failed group


# --- AtomicFile.create: path and temporary file in one worker-thread call ------------------


async def test_atomic_create_chooses_the_path_in_the_thread(tmp_path: Path) -> None:
    threads: list[int] = []

    def destination() -> Path:
        threads.append(threading.get_ident())
        (tmp_path / "sub").mkdir()
        return tmp_path / "sub" / "f.bin"

    async with await AtomicFile.create(destination, expected_size=3) as f:
        assert f.temp_path is not None
        assert f.temp_path.exists()
        await f.write(b"abc")
    assert threads != [threading.get_ident()]
    assert f.committed
    assert listing(tmp_path) == ["sub", "sub/f.bin"]


async def test_atomic_create_failure_and_cancellation_leave_nothing(tmp_path: Path) -> None:
    def refuse() -> Path:
        raise FileExistsError("taken")

    with pytest.raises(FileExistsError):
        await AtomicFile.create(refuse)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await AtomicFile.create(lambda: tmp_path / "g.bin")
    assert scope.cancelled_caught
    assert listing(tmp_path) == []


async def test_atomic_write_bytes_many_at_once(tmp_path: Path) -> None:
    """Concurrent small writes share worker-thread calls, and each has its own outcome."""
    (tmp_path / "f007.bin").write_bytes(b"already here")
    outcomes: dict[int, object] = {}

    def destination(n: int) -> Path:
        if n == 13:
            raise PermissionError("no")
        return tmp_path / f"f{n:03}.bin"

    async def one(n: int) -> None:
        size = 4 if n == 21 else None  # 21's body is shorter than its Content-Length said
        try:
            f = await AtomicFile.write_bytes(
                lambda: destination(n), b"%03d" % n, expected_size=size
            )
            outcomes[n] = (f.path.name, f.bytes_written, f.committed)
        except Exception as exc:
            outcomes[n] = type(exc).__name__

    async with anyio.create_task_group() as tg:
        for n in range(40):
            tg.start_soon(one, n)

    assert outcomes[7] == "FileExistsError"
    assert outcomes[13] == "PermissionError"
    assert outcomes[21] == "IntegrityError"
    for n in set(range(40)) - {7, 13, 21}:
        assert outcomes[n] == (f"f{n:03}.bin", 3, True)
        assert (tmp_path / f"f{n:03}.bin").read_bytes() == b"%03d" % n
    assert (tmp_path / "f007.bin").read_bytes() == b"already here"  # never replaced
    assert len(listing(tmp_path)) == 38  # 37 new files and the old one: no temporary files


async def test_atomic_write_bytes_overwrite_and_cancellation(tmp_path: Path) -> None:
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")
    f = await AtomicFile.write_bytes(lambda: target, b"new", overwrite=True)
    assert f.committed
    assert target.read_bytes() == b"new"
    with anyio.CancelScope() as scope:
        scope.cancel()
        await AtomicFile.write_bytes(lambda: tmp_path / "y.bin", b"never")
    assert scope.cancelled_caught
    assert listing(tmp_path) == ["x.bin"]


async def test_atomic_write_without_checkpoint(tmp_path: Path) -> None:
    """``checkpoint=False`` (for loops that await a network read per chunk) skips the check."""
    with anyio.CancelScope() as scope:
        async with AtomicFile(tmp_path / "e.bin") as f:
            scope.cancel()
            await f.write(b"x", checkpoint=False)  # not a cancellation point
            assert f.bytes_written == 1
            await f.write(b"y")  # this one is
            pytest.fail("not cancelled")
    assert scope.cancelled_caught
    assert listing(tmp_path) == []
