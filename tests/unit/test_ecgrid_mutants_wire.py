"""Tests that kill surviving mutants of `as2gw_async/ecgrid/` (see docs/mutation.md): login,
refresh and logout, the upload body, the scanner, pages and envelope. The endpoint calls are
in `test_ecgrid_mutants.py`.

Each test names the mutants it kills, so nobody deletes it as redundant.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from as2gw_async import ecgrid
from as2gw_async.auth import Grant
from as2gw_async.ecgrid._pages import RawPage, page_of
from as2gw_async.ecgrid._scanner import ContentScanner, ScanError
from as2gw_async.ecgrid._upload_body import CHUNK, UploadBody
from as2gw_async.ecgrid.envelope import error_for, retry_policy
from as2gw_async.ecgrid.session import _grant
from as2gw_async.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    IntegrityError,
    InternalServerError,
    MalformedResponseError,
)
from as2gw_async.retries import RetryPolicy

from ..virtual_time import run_in_virtual_time

BASE = "https://rest.ecgrid.io"
FAST = RetryPolicy(max_retries=1, initial_delay=0, max_delay=0, retry_statuses={429, 500, 503})
BUSY = {"success": False, "data": None, "errorCode": "InternalError", "message": "busy"}
PASSWORD = "pa55-word-SECRET"


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "data": data})


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


def login_session() -> ecgrid.Session:
    return ecgrid.Session(login="me", password=PASSWORD, retry_policy=FAST)


# -- login ---------------------------------------------------------------------------------


async def test_login_is_retried_and_logged(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """kills: _login's ``idempotent=True`` set to None, False or dropped (a 503 to the login
    is asked again), and its debug log (text None / dropped / ``XX...XX`` / case, the name
    None or dropped)."""
    login = router.post("/v2/auth/login").mock(
        side_effect=[httpx.Response(503, json=BUSY), ok({"token": "jwt-1"})]
    )
    router.get("/v2/parcels/1").mock(return_value=ok({"parcelId": 1}))
    router.post("/v2/auth/logout").mock(return_value=ok(True))
    with caplog.at_level(logging.DEBUG, logger="as2gw_async"):
        async with login_session() as s:
            assert (await s.parcels.get(1)).parcel_id == 1
    assert login.call_count == 2
    assert "logged in to ECGrid as me" in [r.getMessage() for r in caplog.records]


async def test_a_refused_login_keeps_its_error_code(router: respx.MockRouter) -> None:
    """kills: _login's re-raised AuthenticationError with ``error_code`` None or dropped."""
    router.post("/v2/auth/login").mock(
        return_value=httpx.Response(
            401,
            json={"success": False, "data": None, "errorCode": "InvalidSession", "message": "no"},
        )
    )
    async with login_session() as s:
        with pytest.raises(AuthenticationError) as info:
            await s.parcels.get(1)
    assert info.value.error_code == "InvalidSession"
    assert str(info.value) == "401: login failed for me: InvalidSession: no"


# -- _grant --------------------------------------------------------------------------------


def grant_of(data: Any) -> Grant:
    request = httpx.Request("POST", BASE + "/v2/auth/login")
    return _grant(httpx.Response(200, json={"success": True, "data": data}, request=request))


def test_grant_reads_token_expiry_and_refresh_token() -> None:
    """kills: _grant's refresh token read as None or under another key (None /
    ``XXrefreshTokenXX`` / ``refreshtoken`` / ``REFRESHTOKEN``) or never used (``and
    False``), ``or`` for ``and`` in its test (an empty one is not a refresh token), and the
    expiry's ``is not None`` made always true or the ``inf`` fallback broken (None,
    ``XXinfXX``)."""
    assert grant_of({"token": "t", "expiresAt": "2099-01-01T00:00:00Z", "refreshToken": "r"}) == (
        Grant("t", 4070908800.0, "r")
    )
    assert grant_of({"token": "t", "refreshToken": ""}) == Grant("t", math.inf, "t")
    assert grant_of({"token": "t", "refreshToken": 5}) == Grant("t", math.inf, "t")


@pytest.mark.parametrize("data", ["a-bare-string", {"token": ""}, {"token": 5}, None])
def test_grant_without_a_token_is_malformed(data: Any) -> None:
    """kills: _grant's ``isinstance(data, dict)`` made always true (a string has no
    ``get``), ``and`` for ``or`` in the token test (an empty token accepted), and the
    ``malformed`` call's arguments (None, dropped, ``XX...XX``, upper case)."""
    with pytest.raises(MalformedResponseError) as info:
        grant_of(data)
    assert str(info.value) == "POST /v2/auth/login: the answer holds no token"
    assert info.value.endpoint == "POST /v2/auth/login"
    assert info.value.response.status_code == 200


# -- logout --------------------------------------------------------------------------------


async def test_a_failed_logout_is_logged_scrubbed_and_not_repeated(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """kills: _logout's ``idempotent=False`` made True (a 503 asked again), and its info
    log (text None / dropped / ``XX...XX`` / case, the message None, dropped, ``str(None)``,
    ``scrub(None)``)."""
    router.post("/v2/auth/login").mock(return_value=ok({"token": "jwt-1"}))
    router.get("/v2/parcels/1").mock(return_value=ok({"parcelId": 1}))
    logout = router.post("/v2/auth/logout").mock(
        return_value=httpx.Response(503, json={**BUSY, "message": f"busy for {PASSWORD}"})
    )
    with caplog.at_level(logging.INFO, logger="as2gw_async"):
        async with login_session() as s:
            await s.parcels.get(1)
    assert logout.call_count == 1
    logged = [r.getMessage() for r in caplog.records if "logout" in r.getMessage()]
    assert logged == ["ECGrid logout failed: 503: InternalError: busy for ***"]


def test_logout_gives_up_after_ten_seconds() -> None:
    """kills: _logout's ``deadline=10.0`` set to None (the default 300 s, paced), dropped,
    or 11.0: a logout that never answers holds ``aclose`` exactly 10 s (virtual time)."""

    async def main() -> float:
        async def never(request: httpx.Request) -> httpx.Response:
            await anyio.Event().wait()
            raise AssertionError("not reached")

        with respx.mock(base_url=BASE, assert_all_called=False) as router:
            router.post("/v2/auth/login").mock(return_value=ok({"token": "jwt-1"}))
            router.get("/v2/parcels/1").mock(return_value=ok({"parcelId": 1}))
            router.post("/v2/auth/logout").mock(side_effect=never)
            async with login_session() as s:
                await s.parcels.get(1)
                started = anyio.current_time()
            return anyio.current_time() - started

    assert run_in_virtual_time(main) == pytest.approx(10.0)


async def test_logout_does_not_refresh_a_token_due(router: respx.MockRouter) -> None:
    """kills: _logout's ``authenticate=False`` made True or dropped (the logout would go
    through the token manager, which refreshes a token due first, and logs out the new
    one)."""
    expires = "1970-01-13T00:00:00Z"  # 1,036,800 s: refreshed from 300 s before
    router.post("/v2/auth/login").mock(return_value=ok({"token": "jwt-1", "expiresAt": expires}))
    refresh = router.post("/v2/auth/refresh").mock(return_value=ok({"token": "jwt-2"}))
    router.get("/v2/parcels/1").mock(return_value=ok({"parcelId": 1}))
    logout = router.post("/v2/auth/logout").mock(return_value=ok(True))
    now = [1_000_000.0]
    async with login_session() as s:
        s._tokens._clock = lambda: now[0]
        await s.parcels.get(1)
        now[0] = 1_036_600.0  # due for refresh, not yet expired
    assert refresh.call_count == 0
    assert logout.calls.last.request.headers["Authorization"] == "Bearer jwt-1"


# -- the upload body -----------------------------------------------------------------------


async def test_upload_body_is_compact_json_in_chunks(tmp_path: Path) -> None:
    """kills: UploadBody's ``separators=(",", ":")`` set to None or dropped (the prefix
    grows by spaces), and ``f.read(CHUNK)`` made ``f.read(None)`` (the whole file read and
    encoded at once: memory no longer flat)."""
    path = tmp_path / "f"
    path.write_bytes(b"\x00" * (2 * CHUNK + 1))
    body = UploadBody(path, {"fileName": "f", "ecGridIdTo": 2})
    pieces = [p async for p in body()]
    assert pieces[0] == b'{"fileName":"f","ecGridIdTo":2,"bytes":%d,"content":"' % (2 * CHUNK + 1)
    assert [len(p) for p in pieces[1:-1]] == [4 * CHUNK // 3, 4 * CHUNK // 3, 4]
    assert pieces[-1] == b'"}'


async def test_upload_body_of_a_file_that_grew(tmp_path: Path) -> None:
    """kills: _stream's size-change OSError with its text set to None."""
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    body = UploadBody(path, {"fileName": "f"})
    path.write_bytes(b"abcd")
    with pytest.raises(OSError, match="changed size") as info:
        _ = [p async for p in body()]
    assert str(info.value) == f"{path} changed size while it was uploaded (4 != 3)"


# -- pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "read"), [(0, 0), (7, 7), (-1, None), ("5", None), (True, None), (2.0, None)]
)
def test_page_totals(total: Any, read: int | None) -> None:
    """kills: _total's test made always true (a string, a bool, a negative total kept) and
    ``> 0`` / ``>= 1`` for ``>= 0`` (an empty listing's total of 0 lost); page_of's total
    of a null ``data`` set to None, dropped, or read under another key (None,
    ``XXtotalRecordsXX``, ``totalrecords``, ``TOTALRECORDS``)."""
    assert page_of({"data": [], "totalRecords": total}).total == read
    assert page_of({"data": None, "totalRecords": total}) == RawPage((), read)


def test_page_of_takes_the_named_array_among_several() -> None:
    """kills: page_of's ``items = data.get(items_key)`` set to None, forced to None
    (``and False``) or read under None: with two arrays only the name tells the records."""
    rows = [{"parcelId": 1}]
    page = page_of({"data": {"parcels": rows, "links": [{"rel": "next"}]}}, "parcels")
    assert list(page.items) == rows


# -- scanner -------------------------------------------------------------------------------


def test_a_skeleton_that_is_not_json_is_named() -> None:
    """kills: finish's ScanError for an unreadable envelope with its text set to None."""
    scanner = ContentScanner()
    assert scanner.feed(b'{"success":tru,"data":{"content":"eA=="}}') == b"x"
    with pytest.raises(ScanError, match="not valid JSON") as info:
        scanner.finish()
    assert str(info.value).startswith("the envelope is not valid JSON: ")
    assert not info.value.incomplete


def test_a_scan_error_is_complete_unless_said() -> None:
    """kills: ScanError's ``incomplete`` default False made True (a broken body would be
    fetched again as if cut short)."""
    assert not ScanError("x").incomplete
    with pytest.raises(ScanError) as info:
        ContentScanner().feed(b'{"data":{"content":"a!b="}}')
    assert not info.value.incomplete


def test_page_of_messages() -> None:
    """kills: page_of's two ValueError texts set to None, ``XX...XX`` or upper case."""
    with pytest.raises(ValueError, match="single array") as info:
        page_of({"data": {"a": [], "b": []}})
    assert str(info.value) == "a list answer whose data holds no single array of records"
    with pytest.raises(ValueError, match="JSON objects") as info:
        page_of({"data": [1]})
    assert str(info.value) == "a list answer whose records are not JSON objects"


def test_page_of_takes_the_total_beside_an_object_data() -> None:
    """kills: page_of's fallback to the envelope's ``totalRecords`` (shape 2 without its own
    total) set to None or read under another key."""
    page = page_of({"data": {"parcels": [{"parcelId": 1}]}, "totalRecords": 4}, "parcels")
    assert page.total == 4


# -- scanner: base64 ------------------------------------------------------------------------


def scan(*chunks: bytes) -> bytes:
    scanner = ContentScanner()
    out = b"".join(scanner.feed(c) for c in chunks)
    scanner.finish()
    return out


def test_nothing_may_follow_padding_in_a_later_chunk() -> None:
    """kills: _a2b's ``self._padded or ...`` made ``and``, ``find(b"XX=XX")`` (padding never
    seen), ``_padded`` set to None or False, and the message set to None / ``XX...XX`` /
    upper case."""
    with pytest.raises(ScanError) as info:
        scan(b'{"success":true,"data":{"content":"aGk=', b'aGk="}}')
    assert str(info.value) == "data.content is not valid base64"


@pytest.mark.parametrize("content", [b"QU=D", b"Q=A="])
def test_padding_inside_is_named(content: bytes) -> None:
    """kills: _a2b's ``find`` made ``rfind`` (``Q=A=``), ``or`` made ``and`` (``QU=D``), and
    the "padding inside" message set to None, ``XX...XX`` or upper case."""
    with pytest.raises(ScanError) as info:
        scan(b'{"success":true,"data":{"content":"' + content + b'"}}')
    assert str(info.value) == "data.content is not valid base64 (padding inside)"


def test_non_base64_characters_are_refused_strictly() -> None:
    """kills: a2b_base64's ``strict_mode=True`` dropped or False (``!!!!`` would be skipped
    and ``QUJD`` decoded), the alphabet test's ``not _STRICT`` made ``_STRICT`` or its
    ``and`` made ``or`` (the message without binascii's reason), and that message set to
    None."""
    with pytest.raises(ScanError) as info:
        scan(b'{"success":true,"data":{"content":"QUJD!!!!"}}')
    assert str(info.value).startswith("data.content is not valid base64: ")


def test_a_stray_character_is_named() -> None:
    """kills: _end_content's "a stray character" message set to None, ``XX...XX`` or upper
    case."""
    with pytest.raises(ScanError) as info:
        scan(b'{"success":true,"data":{"content":"QUJDQ"}}')
    assert str(info.value) == "data.content is not valid base64 (a stray character)"


def test_the_skeleton_may_be_exactly_its_maximum() -> None:
    """kills: _keep's ``>`` made ``>=``."""
    body = b'{"success":true,"data":{"content":"eA=="}}'
    skeleton = len(b'{"success":true,"data":{"content":null}}')
    scanner = ContentScanner(max_skeleton=skeleton)
    assert scanner.feed(body) == b"x"
    assert scanner.finish() == {"success": True, "data": {"content": None}}
    with pytest.raises(ScanError, match="more than 39 bytes"):
        ContentScanner(max_skeleton=skeleton - 1).feed(body)


# -- scanner: structure --------------------------------------------------------------------


def test_an_empty_first_string_is_read() -> None:
    """kills: ``_escaped = True`` at the start (the empty key's closing quote would be taken
    as escaped, and data.content never found)."""
    assert scan(b'{"":0,"data":{"content":"eA=="}}') == b"x"


def test_a_null_content_then_more_keys() -> None:
    """kills: the ``else`` branch (literals, numbers, commas) leaving ``_awaiting_value``
    True: after ``"content":null,`` the next key would be taken for the content; and
    ``_content_seen = None`` at the start (`content_seen` is a bool)."""
    scanner = ContentScanner()
    assert scanner.feed(b'{"success":true,"data":{"content":null,"fileName":"QUJD"}}') == b""
    assert scanner.finish() == {"success": True, "data": {"content": None, "fileName": "QUJD"}}
    assert scanner.content_seen is False


def test_a_colon_outside_any_object_is_not_a_crash() -> None:
    """kills: ``self._stack and ...`` made ``or`` before ``self._stack[-1]`` (an IndexError
    on a colon outside any object, instead of the body refused as JSON)."""
    scanner = ContentScanner()
    assert scanner.feed(b'"a":1') == b""
    with pytest.raises(ScanError, match="ended before"):
        scanner.finish()


def test_structure_messages() -> None:
    """kills: the "data after the end" and "unbalanced JSON" messages set to None,
    ``XX...XX`` or changed in case."""
    with pytest.raises(ScanError) as info:
        ContentScanner().feed(b'{"data":{}} 1')
    assert str(info.value) == "data after the end of the JSON envelope"
    with pytest.raises(ScanError) as info:
        ContentScanner().feed(b"]")
    assert str(info.value) == "unbalanced JSON"


# -- envelope ------------------------------------------------------------------------------


def answer(status: int, body: Any) -> httpx.Response:
    request = httpx.Request("POST", BASE + "/v2/parcels/confirm")
    return httpx.Response(status, json=body, request=request)


def error_of(status: int, body: Any) -> Any:
    response = answer(status, body)
    return error_for(response, response.content)


def failure(**fields: Any) -> dict[str, Any]:
    return {"success": False, "data": None, **fields}


def test_the_error_text_is_the_code_then_the_message() -> None:
    """kills: error_from_envelope's code prefix never added (``and False``), always added
    (``or True``: "ObjectNotFound: ObjectNotFound") or inverted; the message test forced
    true (a missing message read as None) or made ``or`` (an empty message kept)."""
    assert error_of(404, failure(errorCode="ObjectNotFound", message="no parcel")).message == (
        "ObjectNotFound: no parcel"
    )
    assert error_of(404, failure(errorCode="ObjectNotFound")).message == "ObjectNotFound"
    assert error_of(404, failure(errorCode="ObjectNotFound", message="")).message == (
        "ObjectNotFound"
    )
    already = failure(errorCode="ObjectNotFound", message="ObjectNotFound: gone")
    assert error_of(404, already).message == "ObjectNotFound: gone"


def test_an_error_without_code_or_message() -> None:
    """kills: the fallback ``code or "request failed"`` made ``and`` (None), ``XX...XX`` or
    upper case."""
    error = error_of(200, failure())
    assert type(error) is APIStatusError
    assert error.message == "request failed"
    assert error.error_code is None


@pytest.mark.parametrize("code", ["", 5])
def test_an_error_code_that_is_not_a_name_is_none(code: Any) -> None:
    """kills: error_from_envelope's code test forced true (``or True``: 5 kept, then
    ``text.startswith(5)`` fails) or made ``or`` (an empty code kept); and, for an error
    status without ``success: false``, the same test made ``or``."""
    error = error_of(400, failure(errorCode=code, message="bad"))
    assert type(error) is BadRequestError
    assert (error.error_code, error.message) == (None, "bad")
    error = error_of(500, {"errorCode": code})
    assert type(error) is InternalServerError
    assert error.error_code is None


def test_an_error_status_keeps_the_code_of_a_body_without_success() -> None:
    """kills: error_from_envelope's ``code = envelope.get("errorCode")`` for an error status
    without ``success: false`` set to None or read under another key, and
    ``error.error_code = None``."""
    error = error_of(503, {"errorCode": "Busy", "message": "later"})
    assert type(error) is InternalServerError
    assert error.error_code == "Busy"


def test_the_vendor_retry_policy() -> None:
    """kills: retry_policy's default ``max_retries=3`` made 4 (the vendor: at most 3)."""
    assert ecgrid.RETRY_POLICY.max_retries == 3
    assert ecgrid.RETRY_POLICY.retry_statuses == frozenset({429, 500, 503})


def test_an_api_key_with_a_login_alone_is_refused() -> None:
    """kills: Session.__init__'s ``login is not None or password is not None`` made
    ``and`` (a key with a login but no password accepted)."""
    with pytest.raises(ValueError, match="not both"):
        ecgrid.Session(api_key="k", login="me")
    with pytest.raises(ValueError, match="not both"):
        ecgrid.Session(api_key="k", password="pw")


def test_session_argument_messages_and_default_retries() -> None:
    """kills: Session.__init__'s three ValueError texts (None, ``XX...XX``, case) and the
    default ``max_retries`` 3 made 4."""
    cases = [
        ({}, "give api_key, or login and password"),
        (
            {"api_key": "k", "login": "a", "password": "b"},
            "give either api_key or login and password, not both",
        ),
        ({"api_key": ""}, "api_key is empty"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match="api_key") as info:
            ecgrid.Session(**kwargs)  # type: ignore[arg-type]
        assert str(info.value) == message
    assert ecgrid.Session(api_key="k").retry_policy.max_retries == 3


def test_the_vendor_retry_policy_function() -> None:
    """kills: retry_policy's default ``max_retries=3`` made 4 (`RETRY_POLICY` is built at
    import, before a mutant is switched on: the function is called here)."""
    assert retry_policy().max_retries == 3


# -- scanner: escapes ----------------------------------------------------------------------


def content(text: bytes) -> bytes:
    return b'{"success":true,"data":{"content":"' + text + b'"}}'


@pytest.mark.parametrize("escape", [b"\\u000A", b"\\u000D", b"\\u0009", b"\\u0020"])
def test_escaped_white_space_is_skipped(escape: bytes) -> None:
    """kills: each of the skipped codes (0x0A, 0x0D, 0x09, 0x20) replaced (11, 14, 10, 33):
    the white space would be decoded as base64."""
    assert scan(content(b"QUJD" + escape + b"QUJD")) == b"ABCABC"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"\\u0080AAA", "a non-base64 character in data.content"),
        (b"\\u1041AAA", "a non-base64 character in data.content"),
        (b"\\uZ041AAA", "a broken \\u escape in data.content"),
        (b"QUJD\\x", "a non-base64 escape in data.content: b'\\\\x'"),
    ],
)
def test_escape_errors_are_named(text: bytes, message: str) -> None:
    """kills: ``code < 0x80`` made ``<=`` or ``< 129`` (``\\u0080``), ``int(escape[3:])``
    for ``escape[2:]`` (``\\u1041`` would read as ``A``, ``\\uZ041`` would not be broken),
    and the three messages set to None, ``XX...XX`` or upper case."""
    with pytest.raises(ScanError) as info:
        scan(content(text))
    assert str(info.value) == message


# -- download: sizes, names, empty files ---------------------------------------------------


async def download_of(tmp_path: Path, data: dict[str, Any], **options: Any) -> Any:
    body = json.dumps({"success": True, "data": data}).encode()
    with respx.mock(base_url=BASE) as router:
        router.post("/v2/parcels/download").mock(return_value=httpx.Response(200, content=body))
        async with ecgrid.Session(api_key="k", retry_policy=FAST) as s:
            return await s.parcels.download(5, tmp_path, **options)


async def test_a_size_under_the_guide_spelling_is_checked(tmp_path: Path) -> None:
    """kills: download's ``data_field.get("size")`` fallback set to None, dropped, or read
    under None / ``XXsizeXX`` / ``SIZE``; and ``retryable=False`` made None."""
    with pytest.raises(IntegrityError, match="declared 2 bytes but content decoded to 1") as info:
        await download_of(tmp_path, {"content": "eA==", "size": 2})
    assert info.value.retryable is False
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("declared", ["7", True, 2.0])
async def test_a_declared_size_that_is_not_a_number_is_ignored(
    tmp_path: Path, declared: Any
) -> None:
    """kills: download's ``declared is not None`` made ``is None``, the type test's ``or``
    made ``and``, and the ignored size set to "" instead of None."""
    f = await download_of(tmp_path, {"content": "eA==", "bytes": declared, "fileName": "a"})
    assert f.path.read_bytes() == b"x"


async def test_a_file_name_that_is_not_text_is_not_used(tmp_path: Path) -> None:
    """kills: download's ``isinstance(raw_name, str)`` made always true."""
    f = await download_of(tmp_path, {"content": "eA==", "fileName": 5})
    assert (f.path.name, f.name) == ("parcel-5", "parcel-5")


async def test_an_empty_file_is_written_and_may_overwrite(tmp_path: Path) -> None:
    """kills: the empty file's ``_open`` (the file None, dest None, overwrite None, an
    argument dropped)."""
    (tmp_path / "empty.edi").write_bytes(b"old")
    f = await download_of(
        tmp_path, {"content": "", "bytes": 0, "fileName": "empty.edi"}, overwrite=True
    )
    assert (f.path, f.size) == (tmp_path / "empty.edi", 0)
    assert f.path.read_bytes() == b""
