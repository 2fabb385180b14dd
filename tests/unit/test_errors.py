from __future__ import annotations

import httpx
import pytest

import as2gw_async as gw
from as2gw_async.errors import make_status_error


def _response(status: int, **kwargs: object) -> httpx.Response:
    request = httpx.Request("GET", "https://api.test/v1/message/received")
    return httpx.Response(status, request=request, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, gw.BadRequestError),
        (401, gw.AuthenticationError),
        (403, gw.PermissionDeniedError),
        (404, gw.NotFoundError),
        (429, gw.RateLimitError),
        (500, gw.InternalServerError),
        (503, gw.InternalServerError),
        (409, gw.APIStatusError),
        (307, gw.RedirectError),
    ],
)
def test_status_maps_to_exception_class(status: int, cls: type[gw.APIStatusError]) -> None:
    error = make_status_error(_response(status, json={"message": "nope"}))
    assert type(error) is cls
    assert error.status_code == status
    assert error.message == "nope"
    assert isinstance(error, gw.AS2GatewayError)


def test_gateway_message_is_the_exception_text() -> None:
    error = make_status_error(_response(404, json={"message": "No message found for ID <x>"}))
    assert str(error) == "404: No message found for ID <x>"


def test_html_proxy_page_gives_a_clean_error() -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1>" + b"x" * 5000 + b"</body></html>"
    error = make_status_error(_response(502, content=html, headers={"content-type": "text/html"}))
    assert isinstance(error, gw.InternalServerError)
    assert "<html>" not in str(error)
    assert "Bad Gateway" in str(error)
    assert len(str(error)) < 200


def test_plain_text_body_is_quoted_and_truncated() -> None:
    error = make_status_error(
        _response(400, content=b"bad   thing\n" * 100, headers={"content-type": "text/plain"})
    )
    assert str(error).startswith("400: Bad Request: bad thing bad thing")
    assert len(str(error)) < 260


def test_json_without_message_field_and_empty_body() -> None:
    assert make_status_error(_response(500, json={"error": 1})).message.startswith(
        "Internal Server Error"
    )
    assert make_status_error(_response(403)).message == "Forbidden"


def test_hierarchy() -> None:
    assert issubclass(gw.APITimeoutError, gw.APIConnectionError)
    assert issubclass(gw.APIConnectionError, gw.AS2GatewayError)
    for cls in (gw.LimitExceededError, gw.DeliveryFailedError, gw.IntegrityError):
        assert issubclass(cls, gw.AS2GatewayError)
        assert not issubclass(cls, gw.APIStatusError)
