"""The two files.py helpers added for the downloads: AtomicFile.seal() and verify_zip()."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

import as2gw_async as gw
from as2gw_async.files import AtomicFile, verify_zip


def make_zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


async def test_seal_then_commit(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    async with AtomicFile(target, expected_size=5) as f:
        await f.write(b"hello")
        temp = await f.seal()
        assert temp.read_bytes() == b"hello"  # complete and readable before the rename
        assert not target.exists()
    assert target.read_bytes() == b"hello"  # leaving the block normally commits
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


async def test_seal_then_abort_leaves_nothing(tmp_path: Path) -> None:
    async with AtomicFile(tmp_path / "f.bin") as f:
        await f.write(b"scratch")
        await f.seal()
        f.abort()
    assert list(tmp_path.iterdir()) == []


async def test_seal_checks_the_size(tmp_path: Path) -> None:
    f = AtomicFile(tmp_path / "f.bin", expected_size=10)
    await f.open()
    await f.write(b"short")
    with pytest.raises(gw.IntegrityError, match="expected 10 bytes"):
        await f.seal()
    assert list(tmp_path.iterdir()) == []


async def test_commit_after_seal_takes_no_checks(tmp_path: Path) -> None:
    f = AtomicFile(tmp_path / "f.bin")
    await f.open()
    await f.write(b"x")
    await f.seal()
    with pytest.raises(RuntimeError, match="seal"):
        await f.commit(1)
    with pytest.raises(RuntimeError):
        await f.seal()
    assert await f.commit() == tmp_path / "f.bin"


async def test_verify_zip_accepts_a_sound_archive(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(make_zip({"a.txt": b"one", "d/b.txt": os.urandom(3000)}))
    assert await verify_zip(path) == 2


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
async def test_verify_zip_finds_a_bad_crc(tmp_path: Path, compression: int) -> None:
    data = bytearray(make_zip({"a.txt": os.urandom(5000)}, compression))
    data[1000] ^= 0x01  # inside the member's data (its local header is 35 bytes)
    path = tmp_path / "a.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(gw.IntegrityError, match="corrupt member"):
        await verify_zip(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a zip at all", make_zip({"a.txt": b"x" * 100})[:-10]],
    ids=["empty", "garbage", "truncated"],
)
async def test_verify_zip_refuses_non_archives(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(content)
    with pytest.raises(gw.IntegrityError, match="not a valid zip"):
        await verify_zip(path)


async def test_verify_zip_caps(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    path.write_bytes(make_zip({"zeros": bytes(2_000_000), "more": bytes(10)}))
    with pytest.raises(gw.IntegrityError, match="zip bomb"):
        await verify_zip(path, max_total_size=1_000_000)
    with pytest.raises(gw.IntegrityError, match="entries"):
        await verify_zip(path, max_members=1)
    assert await verify_zip(path, max_total_size=2_000_010) == 2


async def test_verify_zip_does_not_trust_declared_sizes(tmp_path: Path) -> None:
    data = bytearray(make_zip({"zeros": bytes(2_000_000)}))
    # Lie in the central directory: declare 10 bytes uncompressed.
    cd = data.rindex(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    path = tmp_path / "liar.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(gw.IntegrityError):
        await verify_zip(path, max_total_size=1_000_000)
