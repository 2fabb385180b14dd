"""A destination directory that is a regular file gets a clear, typed error (issue 13.13).

It used to be a bare `FileExistsError` ("refusing to overwrite ... pass overwrite=True"), and
``overwrite=True`` gave the same. Now: `NotADirectoryDestinationError`, which is both an
`AS2GatewayError` and a `NotADirectoryError`, naming the file in the way.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.files import extract_zip, resolve_destination

MSG = "<a@x>"
MSG_Q = "%3Ca%40x%3E"


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "report.txt"
    path.write_bytes(b"the user's own file")
    return path


def check(error: pytest.ExceptionInfo[gw.NotADirectoryDestinationError], path: Path) -> None:
    assert isinstance(error.value, gw.AS2GatewayError)
    assert isinstance(error.value, NotADirectoryError)  # `except OSError` still works
    assert str(error.value).startswith(f"{path} is not a directory")
    assert error.value.filename == str(path)
    assert path.read_bytes() == b"the user's own file"


@pytest.mark.parametrize("overwrite", [False, True])
async def test_batch_download_into_a_file(
    session: gw.Session, router: respx.MockRouter, a_file: Path, overwrite: bool
) -> None:
    batch = router.post("/message/received/batch/attachments").respond(200)
    with pytest.raises(gw.NotADirectoryDestinationError) as error:
        await session.received.batch_download([MSG], a_file, overwrite=overwrite)
    check(error, a_file)
    assert batch.call_count == 0  # refused before asking


@pytest.mark.parametrize("overwrite", [False, True])
async def test_download_attachments_into_a_file(
    session: gw.Session, router: respx.MockRouter, a_file: Path, overwrite: bool
) -> None:
    route = router.get(f"/message/received/{MSG_Q}/attachments/all").respond(200)
    with pytest.raises(gw.NotADirectoryDestinationError) as error:
        await session.received.download_attachments(MSG, a_file, overwrite=overwrite)
    check(error, a_file)
    assert route.call_count == 0


@pytest.mark.parametrize("dest", ["{f}/", "{f}/sub/", "{f}/name.xml"])
@pytest.mark.parametrize("overwrite", [False, True])
async def test_download_attachment_below_a_file(
    session: gw.Session, router: respx.MockRouter, a_file: Path, dest: str, overwrite: bool
) -> None:
    router.get(f"/message/received/{MSG_Q}/attachments").mock(
        return_value=httpx.Response(
            200, content=b"x" * 10, headers={"Content-Disposition": "attachment; filename=i.xml"}
        )
    )
    with pytest.raises(gw.NotADirectoryDestinationError) as error:
        await session.received.download_attachment(MSG, dest.format(f=a_file), overwrite=overwrite)
    check(error, a_file)


async def test_extract_zip_into_a_file(tmp_path: Path, a_file: Path) -> None:
    archive = tmp_path / "a.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x.txt", b"x")
    archive.write_bytes(buf.getvalue())
    with pytest.raises(gw.NotADirectoryDestinationError) as error:
        await extract_zip(archive, a_file / "out")
    check(error, a_file)


def test_resolve_destination_names_the_file(a_file: Path) -> None:
    with pytest.raises(gw.NotADirectoryDestinationError) as error:
        resolve_destination(f"{a_file}/", "x.txt", default_name="d")
    check(error, a_file)


async def test_a_file_path_destination_still_means_that_file(
    session: gw.Session, router: respx.MockRouter, a_file: Path
) -> None:
    """Not a directory destination: an existing file is refused, or replaced on request."""
    router.get(f"/message/received/{MSG_Q}/attachments").mock(
        return_value=httpx.Response(200, content=b"new")
    )
    with pytest.raises(FileExistsError, match="overwrite"):
        await session.received.download_attachment(MSG, a_file)
    f = await session.received.download_attachment(MSG, a_file, overwrite=True)
    assert f.path.read_bytes() == b"new"
