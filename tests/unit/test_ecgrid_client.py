"""ecgrid: the envelope's error mapping, page shapes, both spellings, the session (respx)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import respx

from as2gw_async import ecgrid
from as2gw_async.ecgrid._pages import page_of
from as2gw_async.ecgrid._upload_body import CHUNK, UploadBody
from as2gw_async.ecgrid.envelope import error_for
from as2gw_async.ecgrid.models import parcel_from
from as2gw_async.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)

BASE = "https://rest.ecgrid.io"


def _response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(
        status, json=body, request=httpx.Request("POST", BASE + "/v2/parcels/confirm")
    )


def _envelope(code: str | None, *, success: bool = False, message: str = "msg") -> dict[str, Any]:
    return {"success": success, "data": None, "errorCode": code, "message": message}


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("InvalidAPIKey", AuthenticationError),
        ("InvalidSession", AuthenticationError),
        ("AccessDenied", PermissionDeniedError),
        ("ObjectNotFound", NotFoundError),
        ("InvalidParameter", BadRequestError),
        ("DuplicateObject", BadRequestError),
        ("RateLimitExceeded", RateLimitError),
        ("InternalError", InternalServerError),
    ],
)
@pytest.mark.parametrize("status", [200, 400, 500])
def test_error_codes_map_whatever_the_status(
    code: str, cls: type[APIStatusError], status: int
) -> None:
    r = _response(status, _envelope(code, message="the reason"))
    error = error_for(r, r.content)
    assert type(error) is cls
    assert error.error_code == code
    assert "the reason" in error.message


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (200, APIStatusError),
        (404, NotFoundError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_unknown_codes_fall_back_to_the_status(status: int, cls: type[APIStatusError]) -> None:
    r = _response(status, _envelope("SomethingNew"))
    error = error_for(r, r.content)
    assert type(error) is cls
    assert error.error_code == "SomethingNew"


@pytest.mark.parametrize("fields", [{"errorCode": "", "message": ""}, {}, {"errorCode": None}])
def test_success_is_no_error(fields: dict[str, Any]) -> None:
    r = _response(200, {"success": True, "data": 1, **fields})
    assert error_for(r, r.content) is None


def test_error_status_without_an_envelope() -> None:
    r = httpx.Response(502, text="<html>bad gateway</html>", request=httpx.Request("GET", BASE))
    error = error_for(r, r.content)
    assert type(error) is InternalServerError
    assert error.error_code is None


def test_page_shapes() -> None:
    rows = [{"parcelId": 1}, {"parcelId": 2}]
    assert page_of({"success": True, "data": rows}).total is None
    assert page_of({"data": rows, "totalRecords": 9}).total == 9
    shape2 = page_of({"data": {"totalRecords": 5, "pageNo": 1, "parcels": rows}}, "parcels")
    assert (list(shape2.items), shape2.total) == (rows, 5)
    assert list(page_of({"data": {"totalRecords": 5, "other": rows}}, "parcels").items) == rows
    assert page_of({"data": None}).items == ()
    with pytest.raises(ValueError, match="data is a str"):
        page_of({"data": "x"})
    with pytest.raises(ValueError, match="not JSON objects"):
        page_of({"data": [1, 2]})


def test_both_spellings_read_into_one_model() -> None:
    reference = parcel_from(
        {
            "parcelId": 5,
            "fileName": "a.edi",
            "bytes": 10,
            "status": "InBoxReady",
            "ecGridIdFrom": 1,
            "ecGridIdTo": 2,
            "created": "2026-05-07T08:00:00Z",
            "mailboxId": 3,
        }
    )
    guide = parcel_from(
        {
            "parcelId": "5",
            "fileName": "a.edi",
            "size": 10,
            "status": "InBoxReady",
            "fromECGridId": 1,
            "toECGridId": 2,
            "receivedDate": "2026-05-07T08:00:00",
            "mailboxId": 3,
            "newField": [1],
        }
    )
    assert guide.extra == {"newField": [1]}
    assert reference == attrs.evolve(guide, extra={})
    odd = parcel_from({"parcelId": 1, "status": "OutBoxDelivered"})
    assert odd.status == "OutBoxDelivered"
    assert not isinstance(odd.status, ecgrid.ParcelStatus)
    with pytest.raises(ValueError, match="without a numeric parcelId"):
        parcel_from({"fileName": "no id"})


@pytest.mark.parametrize("size", [0, 1, 2, 3, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 2])
async def test_upload_body_is_exact_and_reopenable(tmp_path: Path, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    path = tmp_path / "f"
    path.write_bytes(data)
    body = UploadBody(path, {"fileName": 'x"y', "ecGridIdTo": 2})
    for _ in range(2):  # a BodyFactory: each call opens the file afresh
        sent = b"".join([c async for c in body()])
        assert len(sent) == len(body)
        parsed = json.loads(sent)
        assert parsed["fileName"] == 'x"y'
        assert parsed["bytes"] == size
        assert parsed["ecGridIdTo"] == 2
        assert base64.b64decode(parsed["content"]) == data


def test_session_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="give api_key"):
        ecgrid.Session()
    with pytest.raises(ValueError, match="not both"):
        ecgrid.Session(api_key="k", login="a", password="b")
    with pytest.raises(ValueError, match="give api_key"):
        ecgrid.Session(login="a")
    for name in ("ECGRID_API_KEY", "ECGRID_LOGIN", "ECGRID_PASSWORD", "ECGRID_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="ECGRID_API_KEY"):
        ecgrid.Session.from_env()
    monkeypatch.setenv("ECGRID_LOGIN", "me")
    monkeypatch.setenv("ECGRID_PASSWORD", "pw")
    monkeypatch.setenv("ECGRID_BASE_URL", "https://ecgrid.example")
    s = ecgrid.Session.from_env()
    assert not s.uses_api_key
    assert s.base_url == "https://ecgrid.example"
    assert "pw" not in repr(s)
    monkeypatch.setenv("ECGRID_API_KEY", "sekrit")
    s = ecgrid.Session.from_env()
    assert s.uses_api_key
    assert "sekrit" not in repr(s)
    assert s.retry_policy.retry_statuses == frozenset({429, 500, 503})


@respx.mock(assert_all_called=True)
async def test_api_key_header_and_envelope_error_in_a_200(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(BASE + "/v2/parcels/confirm").mock(
        return_value=httpx.Response(
            200, json=_envelope("AccessDenied", message="auth level too low")
        )
    )
    async with ecgrid.Session(api_key="the-key") as s:
        with pytest.raises(PermissionDeniedError) as info:
            await s.parcels.confirm(3)
    assert route.calls.last.request.headers["X-API-Key"] == "the-key"
    assert json.loads(route.calls.last.request.content) == {"parcelId": 3}
    assert info.value.error_code == "AccessDenied"
    assert route.call_count == 1


@respx.mock
async def test_4xx_is_never_retried_and_key_is_scrubbed(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get(BASE + "/v2/parcels/9").mock(
        return_value=httpx.Response(
            404, json=_envelope("ObjectNotFound", message="no parcel for key the-key")
        )
    )
    async with ecgrid.Session(api_key="the-key") as s:
        with pytest.raises(NotFoundError) as info:
            await s.parcels.get(9)
    assert route.call_count == 1
    assert "the-key" not in str(info.value)


@respx.mock
async def test_a_body_without_envelope_is_malformed(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(BASE + "/v2/mailboxes/list").mock(
        return_value=httpx.Response(200, text="<html/>")
    )
    async with ecgrid.Session(api_key="k") as s:
        with pytest.raises(MalformedResponseError, match="mailboxes/list"):
            await s.call("POST", "/v2/mailboxes/list", json={})


@respx.mock
async def test_login_bearer_and_logout_on_close(respx_mock: respx.MockRouter) -> None:
    login = respx_mock.post(BASE + "/v2/auth/login").mock(
        return_value=httpx.Response(
            200,
            json={
                "success": True,
                "data": {"token": "jwt-1", "expiresAt": "2099-01-01T00:00:00Z", "userId": 1},
            },
        )
    )
    get = respx_mock.get(BASE + "/v2/parcels/1").mock(
        return_value=httpx.Response(200, json={"success": True, "data": {"parcelId": 1}})
    )
    logout = respx_mock.post(BASE + "/v2/auth/logout").mock(
        return_value=httpx.Response(200, json={"success": True, "data": True})
    )
    async with ecgrid.Session(login="me@example.com", password="pw") as s:
        assert (await s.parcels.get(1)).parcel_id == 1
        assert s.token_expires_at == 4070908800.0
    assert json.loads(login.calls.last.request.content) == {
        "login": "me@example.com",
        "password": "pw",
    }
    assert get.calls.last.request.headers["Authorization"] == "Bearer jwt-1"
    assert logout.calls.last.request.headers["Authorization"] == "Bearer jwt-1"


def test_mailbox_metadata_round_trips() -> None:
    from as2gw_async.ecgrid.mailbox import parcel_to_json

    parcel = parcel_from(
        {
            "parcelId": 5,
            "fileName": "a.edi",
            "size": 10,
            "status": "Odd",
            "fromECGridId": 1,
            "receivedDate": "2026-05-07T08:00:00+02:00",
            "vendorField": {"x": 1},
        }
    )
    assert parcel_from(json.loads(json.dumps(parcel_to_json(parcel)))) == parcel


def test_mailbox_account_never_holds_the_key() -> None:
    s = ecgrid.Session(api_key="very-secret")
    box = s.mailbox(mailbox_id=7)
    assert box.gateway == "ecgrid"
    assert "very-secret" not in box.account
    assert box.account.endswith("/mailbox-7")
    assert ecgrid.Session(login="me", password="pw").mailbox().account == "me"


@respx.mock
async def test_a_record_without_an_id_is_malformed_naming_the_endpoint(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.post(BASE + "/v2/parcels/pending-inbox-list").mock(
        return_value=httpx.Response(200, json={"success": True, "data": [{"fileName": "x"}]})
    )
    async with ecgrid.Session(api_key="k") as s:
        with pytest.raises(MalformedResponseError) as info:
            [p async for p in s.parcels.pending()]
    assert info.value.endpoint == "POST /v2/parcels/pending-inbox-list"
    assert "parcelId" in info.value.message
    assert info.value.response.status_code == 200


@respx.mock
async def test_page_length_is_checked_before_any_request(respx_mock: respx.MockRouter) -> None:
    async with ecgrid.Session(api_key="k") as s:
        with pytest.raises(ValueError, match="page_length"):
            s.parcels.inbox(page_length=501)


@pytest.mark.parametrize(
    "content",
    [
        b'{"success":true,"data":{"content":"a!b="}}',  # not base64, seen while streaming
        b'{"success":true,"data":{"content":"\\u00e9"}}',  # a non-base64 escape
        b'{"success":true,"data":{"content":"eA=="}} {}',  # data after the envelope
    ],
)
@respx.mock
async def test_a_broken_download_is_malformed_not_a_bare_scan_error(
    respx_mock: respx.MockRouter, tmp_path: Path, content: bytes
) -> None:
    """A body the scanner refuses while it streams is a `MalformedResponseError` naming the
    endpoint (an `AS2GatewayError`), as one refused at the end is: a bare `ScanError` (a
    ValueError) escaped `InboxConsumer`'s per-message error handling and ended the drain."""
    respx_mock.post(BASE + "/v2/parcels/download").mock(
        return_value=httpx.Response(200, content=content)
    )
    async with ecgrid.Session(api_key="k") as s:
        with pytest.raises(MalformedResponseError) as info:
            await s.parcels.download(1, tmp_path)
    assert info.value.endpoint == "POST /v2/parcels/download"
    assert list(tmp_path.iterdir()) == []


@respx.mock
async def test_the_mailbox_skips_a_parcel_with_broken_content(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """One parcel whose content is not base64 is an error of its own in `fetch`; the others
    are fetched (it used to raise a bare ValueError out of the whole fetch)."""

    def answer(request: httpx.Request) -> httpx.Response:
        pid = json.loads(request.content)["parcelId"]
        content = "a!b=" if pid == 1 else "eA=="
        return httpx.Response(
            200, content=b'{"success":true,"data":{"content":"%s"}}' % content.encode()
        )

    respx_mock.post(BASE + "/v2/parcels/download").mock(side_effect=answer)
    from as2gw_async.mailbox import WaitingItem

    async with ecgrid.Session(api_key="k") as s:
        result = await s.mailbox().fetch(
            [WaitingItem(id="1"), WaitingItem(id="2")], tmp_path, max_total_size=100
        )
    assert list(result.errors) == ["1"]
    assert "not valid base64" in result.errors["1"]
    assert result.files["2"][0].path.read_bytes() == b"x"
