"""A listing or message whose body is not JSON is a typed error naming the call (issue 13,
item 8), not a bare JSONDecodeError from deep inside the folder code."""

import pytest
import respx

import as2gw_async as gw

BASE = "https://gw.example/v1"


@respx.mock
async def test_a_listing_that_is_not_json_is_a_typed_error() -> None:
    respx.post(f"{BASE}/authorize").respond(json={"token": "t0k", "expiry": 4102444800})
    respx.get(f"{BASE}/message/received").respond(
        200, content=b"<html>oops</html>", headers={"content-type": "text/html"}
    )
    async with gw.Session("u", "p", base_url=BASE, rate_limit=None) as s:
        with pytest.raises(gw.MalformedResponseError, match="GET /v1/message/received"):
            await s.received.list()
