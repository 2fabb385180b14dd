"""Property tests: no header value or archive member name can put a file outside its target."""

from __future__ import annotations

import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from urllib.parse import quote

import anyio
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from as2gw_async.errors import IntegrityError
from as2gw_async.files import (
    AtomicFile,
    extract_zip,
    parse_content_disposition,
    resolve_destination,
    safe_filename,
    safe_message_dirname,
)

SETTINGS = settings(
    max_examples=int(os.environ.get("AS2GW_PROPERTY_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Text that can be UTF-8 encoded (no lone surrogates), biased towards the dangerous bits.
_NASTY = [
    "..", ".", "/", "\\", ":", "C:", "c:\\", "\x00", "\x1f", "\x7f", "\u202e", "~", " ", "CON",
    "nul", "com1", "LPT9", "*", "?", '"', "<", ">", "|", "%", "%2e%2e%2f", "é", "€", "𝄞",
]  # fmt: skip
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_pieces = st.lists(st.one_of(st.sampled_from(_NASTY), _text), max_size=8).map("".join)
names = st.one_of(_pieces, _text, st.text(max_size=300))


def _header(draw: st.DrawFn) -> str | None:
    name = draw(_pieces)
    form = draw(st.integers(0, 5))
    if form == 0:
        return f"attachment; filename={name}"
    if form == 1:
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'attachment; filename="{escaped}"'
    if form == 2:
        return f"attachment; filename*=UTF-8''{quote(name.encode('utf-8', 'surrogatepass'))}"
    if form == 3:
        return f"attachment; filename*=ISO-8859-1''{quote(name.encode('latin-1', 'replace'))}"
    if form == 4:
        return draw(st.one_of(st.none(), st.text(max_size=80)))
    return f"ATTACHMENT;FILENAME*={name};filename={name}"


headers = st.composite(_header)()


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


@SETTINGS
@given(header=headers, default=names)
def test_header_to_path_stays_inside(header: str | None, default: str) -> None:
    parsed = parse_content_disposition(header)  # never raises
    assert parsed is None or isinstance(parsed, str)
    name = safe_filename(parsed, default=default or "x")
    assert name
    assert "/" not in name
    assert "\\" not in name
    assert "\x00" not in name
    assert name not in (".", "..")
    assert len(name.encode("utf-8")) <= 255
    assert safe_filename(name) == name  # idempotent: a safe name is left alone

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "dest"
        root.mkdir()
        path = resolve_destination(root, parsed, default_name="fallback.bin")
        assert path.parent == root
        assert _inside(path, root)

        async def write() -> None:
            async with AtomicFile(path, fsync=False) as f:
                await f.write(b"x")

        anyio.run(write)  # the name is really creatable
        assert os.listdir(root) == [path.name]
        assert os.listdir(tmp) == ["dest"]


@SETTINGS
@given(message_id=names)
def test_message_dirname_is_safe(message_id: str) -> None:
    dirname = safe_message_dirname(message_id)
    assert dirname == safe_filename(dirname)
    assert len(dirname) <= 120


@SETTINGS
@given(a=names, b=names)
def test_message_dirname_is_injective(a: str, b: str) -> None:
    if a != b:
        assert safe_message_dirname(a).casefold() != safe_message_dirname(b).casefold()


_component = st.one_of(
    st.sampled_from(_NASTY),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40),
)
member_names = st.lists(_component, min_size=1, max_size=4).flatmap(
    lambda parts: st.sampled_from(["/", "\\"]).map(lambda sep: sep.join(parts))
)


@SETTINGS
@given(members=st.lists(member_names, min_size=1, max_size=6), overwrite=st.booleans())
def test_extract_zip_stays_inside(members: list[str], overwrite: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "a.zip"
        with zipfile.ZipFile(archive, "w") as zf, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # duplicate names are part of the test
            for i, name in enumerate(members):
                zf.writestr(zipfile.ZipInfo(name), f"member {i}".encode())
        dest = Path(tmp) / "out"

        try:
            extracted = anyio.run(
                lambda: extract_zip(archive, dest, overwrite=overwrite, fsync=False)
            )
        except IntegrityError:
            event("refused")
            extracted = []  # refused (traversal, absolute name, file/dir clash): nothing written
            assert sorted(os.listdir(tmp)) == ["a.zip"]  # not even the out/ it made

        else:
            event("extracted")
            assert sorted(os.listdir(tmp)) == ["a.zip", "out"]
        for member in extracted:
            assert _inside(member.path, dest)
            assert member.path.is_file()
        on_disk = [p for p in dest.rglob("*") if p.is_file()]
        assert all(_inside(p, dest) for p in on_disk)
        assert not [p for p in on_disk if p.name.endswith(".part")]
        assert len(on_disk) == len(extracted)
        assert len({m.path for m in extracted}) == len(extracted)  # nothing overwritten
