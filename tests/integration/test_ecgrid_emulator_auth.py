"""ECGrid emulator: API keys, login/refresh/logout/session/version, token lifetime."""

from __future__ import annotations

import httpx

from as2gw_async.emulator.ecgrid import ECGridServer, ECGridState

from ._ecgrid import anon, api, fails, ok, state

__all__ = ["anon", "api", "state"]


async def test_version_needs_no_auth(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/v2/auth/version")
    assert r.status_code == 200
    assert r.json() == {
        "success": True,
        "data": {"version": "2.6"},
        "errorCode": "",
        "message": "",
    }


async def test_api_key_is_checked_on_every_call(
    anon: httpx.AsyncClient, api: httpx.AsyncClient, state: ECGridState
) -> None:
    assert await ok(api, "POST", "/v2/parcels/pending-inbox-list", json={}) == []
    await fails(anon, "POST", "/v2/parcels/pending-inbox-list", 401, "InvalidAPIKey", json={})
    await fails(
        anon,
        "POST",
        "/v2/parcels/pending-inbox-list",
        401,
        "InvalidAPIKey",
        json={},
        headers={"X-API-Key": "wrong"},
    )
    state.api_keys.add("second-key")
    data = await ok(anon, "POST", "/v2/auth/session", headers={"X-API-Key": "second-key"})
    assert data["mailboxId"] == state.mailbox_id
    assert data["expiresAt"] is None


async def test_login_accepts_login_and_email(
    anon: httpx.AsyncClient, ecgrid_emulator: ECGridServer
) -> None:
    emu = ecgrid_emulator
    for field in ("login", "email"):
        data = await ok(
            anon, "POST", "/v2/auth/login", json={field: emu.login, "password": emu.password}
        )
        assert data["userId"] == emu.state.user_id
        assert data["expiresAt"].endswith("Z")
        assert "refreshToken" not in data
        session = await ok(
            anon, "POST", "/v2/auth/session", headers={"Authorization": f"Bearer {data['token']}"}
        )
        assert session["login"] == emu.login
        assert session["expiresAt"] == data["expiresAt"]
    assert emu.stats.logins == 2
    await fails(
        anon,
        "POST",
        "/v2/auth/login",
        401,
        "InvalidSession",
        json={"login": emu.login, "password": "nope"},
    )
    await fails(anon, "POST", "/v2/auth/login", 400, "InvalidParameter", json={"x": 1})
    assert emu.stats.login_failures == 1


async def _login(client: httpx.AsyncClient, emu: ECGridServer) -> dict[str, str]:
    data: dict[str, str] = await ok(
        client, "POST", "/v2/auth/login", json={"login": emu.login, "password": emu.password}
    )
    return data


async def test_bearer_must_be_live(anon: httpx.AsyncClient, ecgrid_emulator: ECGridServer) -> None:
    emu = ecgrid_emulator
    token = (await _login(anon, emu))["token"]
    good = {"Authorization": f"Bearer {token}"}
    await ok(anon, "POST", "/v2/parcels/pending-inbox-list", json={}, headers=good)
    await fails(
        anon,
        "POST",
        "/v2/parcels/pending-inbox-list",
        401,
        "InvalidSession",
        json={},
        headers={"Authorization": token},
    )
    await fails(
        anon,
        "POST",
        "/v2/parcels/pending-inbox-list",
        401,
        "InvalidSession",
        json={},
        headers={"Authorization": "Bearer not-a-token"},
    )
    emu.state.expire_tokens()
    await fails(
        anon,
        "POST",
        "/v2/parcels/pending-inbox-list",
        401,
        "InvalidSession",
        json={},
        headers=good,
    )
    assert emu.stats.invalid_session == 3
    assert emu.stats.stale_token_uses == 0  # expired is not "replaced"


async def test_token_lifetime_follows_the_clock(
    anon: httpx.AsyncClient, state: ECGridState
) -> None:
    now = [1_800_000_000.0]
    state.clock = lambda: now[0]
    state.token_ttl = 60
    token = await ok(
        anon, "POST", "/v2/auth/login", json={"login": state.login, "password": state.password}
    )
    assert token["expiresAt"] == "2027-01-15T08:01:00Z"
    headers = {"Authorization": f"Bearer {token['token']}"}
    now[0] += 59
    await ok(anon, "POST", "/v2/auth/session", headers=headers)
    now[0] += 1
    await fails(anon, "POST", "/v2/auth/session", 401, "InvalidSession", headers=headers)
    assert state.live_tokens() == []


async def test_refresh_kills_the_old_token_at_once(
    anon: httpx.AsyncClient, ecgrid_emulator: ECGridServer
) -> None:
    emu = ecgrid_emulator
    old = (await _login(anon, emu))["token"]
    new = await ok(
        anon,
        "POST",
        "/v2/auth/refresh",
        json={"token": old},
        headers={"Authorization": f"Bearer {old}"},
    )
    assert new["token"] != old
    assert emu.stats.refreshes == 1
    assert emu.stats.invalid_session == 0
    assert emu.state.live_tokens() == [new["token"]]
    await ok(anon, "POST", "/v2/auth/session", headers={"Authorization": f"Bearer {new['token']}"})
    await fails(
        anon,
        "POST",
        "/v2/auth/session",
        401,
        "InvalidSession",
        headers={"Authorization": f"Bearer {old}"},
    )
    await fails(anon, "POST", "/v2/auth/refresh", 401, "InvalidSession", json={"token": old})
    assert emu.stats.invalid_session == 2
    assert emu.stats.stale_token_uses == 2


async def test_refresh_token_behind_the_switch(
    anon: httpx.AsyncClient, ecgrid_emulator: ECGridServer
) -> None:
    emu = ecgrid_emulator
    emu.state.refresh_tokens = True
    first = await _login(anon, emu)
    assert first["refreshToken"]
    emu.state.expire_tokens()  # the access token expired: the refresh token still works
    second = await ok(
        anon,
        "POST",
        "/v2/auth/refresh",
        json={"token": first["token"], "refreshToken": first["refreshToken"]},
    )
    assert second["refreshToken"] != first["refreshToken"]
    await fails(
        anon,
        "POST",
        "/v2/auth/refresh",
        401,
        "InvalidSession",
        json={"refreshToken": first["refreshToken"]},
    )
    third = await ok(
        anon, "POST", "/v2/auth/refresh", json={"refreshToken": second["refreshToken"]}
    )
    assert emu.state.live_tokens() == [third["token"]]
    await fails(anon, "POST", "/v2/auth/refresh", 400, "InvalidParameter", json={})


async def test_logout_ends_a_login_session_but_not_a_key(
    anon: httpx.AsyncClient, api: httpx.AsyncClient, ecgrid_emulator: ECGridServer
) -> None:
    emu = ecgrid_emulator
    token = (await _login(anon, emu))["token"]
    headers = {"Authorization": f"Bearer {token}"}
    r = await anon.post("/v2/auth/logout", headers=headers)
    assert r.json() == {
        "success": True,
        "data": None,
        "errorCode": "",
        "message": "Session terminated.",
    }
    await fails(anon, "POST", "/v2/auth/session", 401, "InvalidSession", headers=headers)
    assert emu.stats.stale_token_uses == 1
    await ok(api, "POST", "/v2/auth/logout")
    await ok(api, "POST", "/v2/auth/session")
    assert emu.stats.logouts == 2


async def test_change_password(
    api: httpx.AsyncClient, anon: httpx.AsyncClient, state: ECGridState
) -> None:
    old = state.password
    await fails(
        api,
        "PUT",
        "/v2/auth/password",
        400,
        "InvalidParameter",
        json={"currentPassword": old, "newPassword": "weak"},
    )
    await fails(
        api,
        "PUT",
        "/v2/auth/password",
        400,
        "InvalidParameter",
        json={"currentPassword": "wrong", "newPassword": "N3w-Passw0rd!"},
    )
    r = await api.put(
        "/v2/auth/password", json={"currentPassword": old, "newPassword": "N3w-Passw0rd!"}
    )
    assert r.json()["message"] == "Password updated successfully."
    await fails(
        anon,
        "POST",
        "/v2/auth/login",
        401,
        "InvalidSession",
        json={"login": state.login, "password": old},
    )
    await ok(
        anon, "POST", "/v2/auth/login", json={"login": state.login, "password": "N3w-Passw0rd!"}
    )


async def test_unknown_route_and_method(api: httpx.AsyncClient) -> None:
    await fails(api, "POST", "/v2/parcels/nothing-here", 404, "ObjectNotFound", json={})
    await fails(api, "GET", "/v2/parcels/download", 405, "InvalidParameter")
    await fails(api, "POST", "/v2/parcels/download", 400, "InvalidParameter", content=b"{not json")
    await fails(api, "POST", "/v2/parcels/download", 400, "InvalidParameter", json=[1])


async def test_success_fields_switch(api: httpx.AsyncClient, state: ECGridState) -> None:
    state.success_fields = "null"
    r = await api.get("/v2/auth/version")
    assert r.json()["errorCode"] is None
    assert r.json()["message"] is None
    state.success_fields = "absent"
    r = await api.get("/v2/auth/version")
    assert set(r.json()) == {"success", "data"}


async def test_refresh_of_an_expired_token_needs_the_grace(
    anon: httpx.AsyncClient, state: ECGridState
) -> None:
    now = [1_800_000_000.0]
    state.clock = lambda: now[0]
    state.token_ttl = 60
    creds = {"login": state.login, "password": state.password}
    token = (await ok(anon, "POST", "/v2/auth/login", json=creds))["token"]
    now[0] += 61
    await fails(anon, "POST", "/v2/auth/refresh", 401, "InvalidSession", json={"token": token})
    state.refresh_grace = 30
    new = await ok(anon, "POST", "/v2/auth/refresh", json={"token": token})
    assert new["expiresAt"] == "2027-01-15T08:02:01Z"
    assert state.stats.refreshes == 1
