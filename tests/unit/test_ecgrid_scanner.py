"""The download's incremental JSON scanner: data.content decoded, whatever the chunking."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from as2gw_async.ecgrid._scanner import ContentScanner, ScanError


def _scan(body: bytes, cuts: list[int]) -> tuple[bytes, Any]:
    scanner = ContentScanner()
    out = []
    start = 0
    for cut in [*sorted({c for c in cuts if 0 < c < len(body)}), len(body)]:
        out.append(scanner.feed(body[start:cut]))
        start = cut
    return b"".join(out), scanner.finish()


def _escape_slashes(text: str) -> str:
    return text.replace("/", "\\/")


def _body(
    payload: bytes,
    *,
    order: list[str],
    slashes: bool,
    indent: int | None,
    extra: dict[str, Any] | None = None,
) -> bytes:
    content = base64.b64encode(payload).decode()
    fields: dict[str, Any] = {
        "parcelId": 7,
        "fileName": 'a/b\\c"d.edi',
        "content": content,
        "bytes": len(payload),
    }
    data = {k: fields[k] for k in order}
    envelope = {"success": True, "data": data, "errorCode": "", "message": ""}
    if extra:
        envelope.update(extra)
    text = json.dumps(envelope, indent=indent)
    if slashes:
        text = _escape_slashes(text)
    return text.encode()


@settings(max_examples=300, deadline=None)
@given(
    payload=st.binary(max_size=600),
    order=st.permutations(["parcelId", "fileName", "content", "bytes"]),
    slashes=st.booleans(),
    indent=st.sampled_from([None, 0, 2]),
    cuts=st.lists(st.integers(min_value=0, max_value=1200), max_size=40),
)
def test_any_chunking_any_field_order(
    payload: bytes, order: list[str], slashes: bool, indent: int | None, cuts: list[int]
) -> None:
    body = _body(payload, order=order, slashes=slashes, indent=indent)
    decoded, envelope = _scan(body, cuts)
    assert decoded == payload
    assert envelope["data"]["content"] is None
    assert envelope["data"]["fileName"] == 'a/b\\c"d.edi'
    assert envelope["data"]["bytes"] == len(payload)
    assert envelope["success"] is True


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(min_size=1, max_size=300), data=st.data())
def test_escapes_inside_the_base64_string(payload: bytes, data: st.DataObject) -> None:
    """Every character may be written as \\uXXXX, slashes as \\/, and line breaks
    (\\n, \\r\\n as a .NET encoder wraps lines) may sit between characters."""
    encoded = base64.b64encode(payload).decode()
    pieces = []
    for ch in encoded:
        how = data.draw(st.sampled_from(["plain", "u", "slash", "break"]))
        if how == "u":
            pieces.append(f"\\u{ord(ch):04X}")
        elif how == "slash" and ch == "/":
            pieces.append("\\/")
        elif how == "break":
            pieces.append(ch + "\\r\\n")
        else:
            pieces.append(ch)
    body = ('{"success":true,"data":{"content":"' + "".join(pieces) + '","bytes":1}}').encode()
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=30))
    decoded, _ = _scan(body, cuts)
    assert decoded == payload


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 100])
def test_unpadded_base64_is_accepted(size: int) -> None:
    payload = bytes(range(size))
    encoded = base64.b64encode(payload).rstrip(b"=")
    body = b'{"data":{"content":"' + encoded + b'"},"success":true}'
    assert _scan(body, [5, 23])[0] == payload


def test_content_elsewhere_is_not_the_file() -> None:
    """Only data.content is the file: a top-level or nested "content" stays in the skeleton."""
    body = json.dumps(
        {
            "content": "QUJD",
            "success": True,
            "data": {"meta": {"content": "WFla"}, "content": "aGk=", "list": ["content"]},
        }
    ).encode()
    decoded, envelope = _scan(body, [3, 9, 40])
    assert decoded == b"hi"
    assert envelope["content"] == "QUJD"
    assert envelope["data"]["meta"] == {"content": "WFla"}
    assert envelope["data"]["content"] is None


def test_null_content_and_error_envelope() -> None:
    body = b'{"success":false,"data":null,"errorCode":"ObjectNotFound","message":"no"}'
    scanner = ContentScanner()
    assert scanner.feed(body) == b""
    assert scanner.finish()["errorCode"] == "ObjectNotFound"
    assert not scanner.content_seen


@pytest.mark.parametrize(
    "content",
    ["QUJD!A==", "QU=D", "QUJDQ", "aGk=aGk=", 'QUJD\\"', "QUJD\\u00e9AAA", "QUJD\\x"],
)
def test_broken_base64_is_a_scan_error(content: str) -> None:
    body = ('{"data":{"content":"' + content + '"},"success":true}').encode()
    with pytest.raises(ScanError):
        _scan(body, [])


@pytest.mark.parametrize(
    "body",
    [
        b'{"success":true,"data":{"content":"QUJD',
        b'{"success":true,"data":{"content":"QUJD"}',
        b"",
    ],
)
def test_a_body_cut_short_is_incomplete(body: bytes) -> None:
    scanner = ContentScanner()
    scanner.feed(body)
    with pytest.raises(ScanError) as info:
        scanner.finish()
    assert info.value.incomplete


def test_trailing_garbage_and_huge_skeletons_are_refused() -> None:
    with pytest.raises(ScanError, match="after the end"):
        ContentScanner().feed(b'{"data":{"content":"QUJD"}} {')
    scanner = ContentScanner(max_skeleton=100)
    with pytest.raises(ScanError, match=r"besides data\.content"):
        scanner.feed(b'{"message":"' + b"x" * 200 + b'"}')


def test_large_body_decodes_in_pieces() -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB
    body = _body(payload, order=["content", "bytes"], slashes=True, indent=None)
    scanner = ContentScanner()
    pieces = [scanner.feed(body[i : i + 65536]) for i in range(0, len(body), 65536)]
    assert b"".join(pieces) == payload
    assert max(len(p) for p in pieces) <= 65536
    assert scanner.decoded == len(payload)
