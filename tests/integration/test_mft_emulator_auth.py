"""MFT emulator: /authorize, /refresh-session, bare tokens, expiry, counters."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from as2gw_async.emulator.mft import MftEmulator, MftGateway

from ._mft_emulator_helpers import FakeClock, api, login


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    data: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return data


def test_password_authorize_current_names(mft_emulator: MftEmulator) -> None:
    r = httpx.post(
        mft_emulator.base_url + "/authorize",
        json={"username": mft_emulator.username, "password": mft_emulator.password},
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"apiToken", "refreshToken"}
    assert mft_emulator.stats.authorizations == 1


@pytest.mark.mft_emulator(naming="legacy")
def test_password_authorize_legacy_names(mft_emulator: MftEmulator) -> None:
    r = httpx.post(
        mft_emulator.base_url + "/authorize",
        json={"username": mft_emulator.username, "password": mft_emulator.password},
    )
    assert set(r.json()) == {"api_token", "refresh_token"}


def test_bad_credentials(mft_emulator: MftEmulator) -> None:
    r = httpx.post(
        mft_emulator.base_url + "/authorize",
        json={"username": mft_emulator.username, "password": "wrong"},
    )
    assert r.status_code == 401
    assert r.json() == {"message": "Authentication Failed: Bad credentials"}
    assert mft_emulator.stats.authorize_calls == 1
    assert mft_emulator.stats.authorizations == 0


def test_api_token_authorize_answers_expiry_in(mft_emulator: MftEmulator) -> None:
    mft_emulator.gateway.add_api_token("short-lived", "s3cret", ttl=120)
    r = httpx.post(
        mft_emulator.base_url + "/authorize",
        json={"tokenID": "short-lived", "tokenSecret": "s3cret"},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["apiTokenExpiryIn"] == 120
    claims = _claims(body["apiToken"])
    assert claims["exp"] == claims["iat"] + 120  # type: ignore[operator]
    bad = httpx.post(
        mft_emulator.base_url + "/authorize",
        json={"tokenID": mft_emulator.token_id, "tokenSecret": "nope"},
    )
    assert bad.status_code == 401


def test_token_is_a_jwt_with_exp_of_token_ttl() -> None:
    with MftEmulator(token_ttl=900) as emu, httpx.Client(base_url=emu.base_url) as c:
        token = login(c, emu)
        claims = _claims(token)
        assert claims["exp"] == claims["iat"] + 900  # type: ignore[operator]
        assert claims["sub"] == emu.username


def test_every_call_needs_the_bare_token(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        token = c.headers["Authorization"]
        assert c.get("/message/inbox").status_code == 200
        del c.headers["Authorization"]
        r = c.get("/message/inbox")
        assert r.status_code == 401
        assert r.json() == {"message": "Unauthorized"}
        assert c.get("/certificate").status_code == 401
        r = c.get("/message/inbox", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        assert mft_emulator.stats.unauthorized == 3


def test_expire_tokens_on_demand(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        mft_emulator.expire_tokens()
        r = c.get("/message/outbox")
        assert r.status_code == 401
        assert r.json() == {"message": "The incoming token has expired"}
        login(c, mft_emulator)
        assert c.get("/message/outbox").status_code == 200


def test_token_lifetime_follows_the_clock() -> None:
    clock = FakeClock()
    with MftEmulator(clock=clock, token_ttl=60) as emu, api(emu) as c:
        clock.advance(59)
        assert c.get("/message/inbox").status_code == 200
        clock.advance(1)
        assert c.get("/message/inbox").status_code == 401


def test_refresh_session_gives_a_new_token(mft_emulator: MftEmulator) -> None:
    with httpx.Client(base_url=mft_emulator.base_url) as c:
        r = c.post(
            "/authorize",
            json={"username": mft_emulator.username, "password": mft_emulator.password},
        )
        first, refresh = r.json()["apiToken"], r.json()["refreshToken"]
        mft_emulator.expire_tokens()
        r = c.post(
            "/refresh-session", json={"username": mft_emulator.username, "refreshToken": refresh}
        )
        assert r.status_code == 200
        fresh = r.json()["apiToken"]
        assert fresh != first
        assert c.get("/message/inbox", headers={"Authorization": fresh}).status_code == 200
        assert c.get("/message/inbox", headers={"Authorization": first}).status_code == 401
        assert mft_emulator.stats.refreshes == 1
        assert mft_emulator.stats.authorizations == 1


@pytest.mark.parametrize("case", ["unknown", "wrong-user", "api-token", "switched-off", "expired"])
def test_failed_refresh_is_a_500_with_the_documented_message(
    mft_emulator: MftEmulator, case: str
) -> None:
    with httpx.Client(base_url=mft_emulator.base_url) as c:
        r = c.post(
            "/authorize",
            json={"username": mft_emulator.username, "password": mft_emulator.password},
        )
        username, refresh = mft_emulator.username, r.json()["refreshToken"]
        if case == "unknown":
            refresh = "not-a-token"
        elif case == "wrong-user":
            username = "someone@else.example"
        elif case == "api-token":
            refresh = r.json()["apiToken"]
        elif case == "switched-off":
            mft_emulator.gateway.refresh_fails = True
        else:
            mft_emulator.expire_tokens(refresh=True)
        r = c.post("/refresh-session", json={"username": username, "refreshToken": refresh})
        assert r.status_code == 500
        assert r.json() == {"message": "Error occurred while refreshing the user session"}
        assert mft_emulator.stats.refresh_failures == 1
        assert mft_emulator.stats.refreshes == 0


def test_gateway_counts_authorize_calls_across_clients() -> None:
    gateway = MftGateway()
    with MftEmulator(gateway) as emu:
        for _ in range(3):
            with api(emu):
                pass
        assert emu.stats.authorizations == 3
        assert emu.stats.routes["authorize"] == 3
