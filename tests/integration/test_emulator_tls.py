"""Spec section 1: the plain-http endpoint answers 307 to https (with trustme certificates)."""

from __future__ import annotations

import ssl

import httpx
import pytest

from as2gw_async.emulator import EmulatorServer, Gateway, serve

from .conftest import login, q

pytestmark = pytest.mark.as2gw_emulator(https=True)


def _trusting(server: EmulatorServer) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    server.ca.configure_trust(ctx)
    return ctx


async def test_urls(as2gw_emulator: EmulatorServer) -> None:
    assert as2gw_emulator.base_url == as2gw_emulator.https_url
    assert as2gw_emulator.https_url.startswith("https://127.0.0.1:")
    assert as2gw_emulator.http_url.startswith("http://127.0.0.1:")
    assert as2gw_emulator.https_url.endswith("/v1")
    assert as2gw_emulator.ca is not None
    assert as2gw_emulator.ca_pem_path is not None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/message/received?pageOffset=1&unreadOnly=true"),
        ("POST", "/authorize"),
        ("POST", "/message/RJ_Station/RJ_Partner?subject=Hi%20there"),
        ("GET", f"/message/received/{q('<a/b@x>')}/attachments/all"),
        ("DELETE", "/anything/at/all"),
    ],
)
async def test_plain_http_answers_every_request_with_307(
    as2gw_emulator: EmulatorServer, method: str, path: str
) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.request(method, as2gw_emulator.http_url + path, content=b"{}")
    assert r.status_code == 307
    assert r.headers["location"] == as2gw_emulator.https_url + path
    assert as2gw_emulator.gateway.stats.requests == 0  # never reached the API


async def test_https_with_the_test_ca(as2gw_emulator: EmulatorServer) -> None:
    async with httpx.AsyncClient(
        base_url=as2gw_emulator.base_url, verify=_trusting(as2gw_emulator)
    ) as c:
        await login(c, as2gw_emulator)
        r = await c.get("/message/received")
        assert r.status_code == 200
    # the stdlib context built from the CA file works too
    async with httpx.AsyncClient(verify=as2gw_emulator.ssl_context()) as c:
        r = await c.post(
            as2gw_emulator.https_url + "/authorize",
            json={"username": as2gw_emulator.username, "password": as2gw_emulator.password},
        )
        assert r.status_code == 200


async def test_untrusted_certificate_is_refused(as2gw_emulator: EmulatorServer) -> None:
    async with httpx.AsyncClient() as c:
        with pytest.raises(httpx.ConnectError):
            await c.get(as2gw_emulator.https_url + "/message/received")


async def test_following_the_307_resends_the_body(as2gw_emulator: EmulatorServer) -> None:
    async with httpx.AsyncClient(verify=_trusting(as2gw_emulator), follow_redirects=True) as c:
        r = await c.post(
            as2gw_emulator.http_url + "/authorize",
            json={"username": as2gw_emulator.username, "password": as2gw_emulator.password},
        )
        assert r.status_code == 200
        assert [h.status_code for h in r.history] == [307]
        token = r.json()["token"]
    # httpx drops Authorization when a redirect changes origin, so follow it by hand
    async with httpx.AsyncClient(verify=_trusting(as2gw_emulator)) as c:
        headers = {"Authorization": token, "Name": "a.txt"}
        url = as2gw_emulator.http_url + "/message/RJ_Station/RJ_Partner?subject=S"
        r = await c.post(url, headers=headers, content=b"payload")
        assert r.status_code == 307
        r = await c.post(r.headers["location"], headers=headers, content=b"payload")
        assert r.status_code == 202
        assert r.headers["link"].startswith(as2gw_emulator.https_url + "/message/sent/<")
        mid = r.headers["link"].rsplit("/", 1)[1]
        assert as2gw_emulator.gateway.message("queued", mid).subject == "S"


async def test_serve_in_loop_with_https_and_own_port() -> None:
    gateway = Gateway()
    async with serve(gateway, https=True) as server:
        assert server.port != server.http_port
        async with httpx.AsyncClient(verify=server.ssl_context()) as c:
            r = await c.get(server.http_url + "/message/sent")
            assert r.status_code == 307
            r = await c.get(r.headers["location"])
            assert r.status_code == 401  # reached the API over TLS
