"""mft.Session authorization against the MFT emulator over loopback sockets."""

from __future__ import annotations

import time

import anyio
import pytest

from as2gw_async import AuthenticationError, mft
from as2gw_async.emulator.mft import MftEmulator

from ._mft_client import FAST_RETRIES, session


@pytest.mark.parametrize("naming", ["current", "legacy"])
async def test_password_login_in_either_naming(mft_emulator: MftEmulator, naming: str) -> None:
    mft_emulator.naming = naming
    async with session(mft_emulator) as s:
        expires_at = await s.login()
        assert [m async for m in s.inbox.iter_ids()] == []
    assert expires_at > time.time() + 3000  # the JWT exp (no apiTokenExpiryIn for a password)
    assert mft_emulator.stats.authorizations == 1


async def test_api_token_login_uses_expiry_in(mft_emulator: MftEmulator) -> None:
    mft_emulator.gateway.add_api_token("tid-2", "tsecret-2", ttl=900)
    async with mft.Session(
        token_id="tid-2", token_secret="tsecret-2", base_url=mft_emulator.base_url, rate_limit=None
    ) as s:
        expires_at = await s.login()
        await s.inbox.list_ids()
        assert "tsecret-2" not in repr(s)
    assert time.time() + 800 < expires_at < time.time() + 1000


async def test_bad_password_is_an_authentication_error_without_the_password(
    mft_emulator: MftEmulator,
) -> None:
    s = mft.Session(
        mft_emulator.username, "wrong-pass-XYZ", base_url=mft_emulator.base_url, rate_limit=None
    )
    async with s:
        with pytest.raises(AuthenticationError) as info:
            await s.inbox.list_ids()
    assert "Bad credentials" in str(info.value)
    assert "wrong-pass-XYZ" not in str(info.value)


async def test_from_env(mft_emulator: MftEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFTGW_TOKEN_ID", mft_emulator.token_id)
    monkeypatch.setenv("MFTGW_TOKEN_SECRET", mft_emulator.token_secret)
    monkeypatch.setenv("MFTGW_BASE_URL", mft_emulator.base_url)
    async with mft.Session.from_env(rate_limit=None) as s:
        assert s.base_url == mft_emulator.base_url
        assert await s.inbox.list_ids() == []
    monkeypatch.setenv("MFTGW_USERNAME", mft_emulator.username)
    with pytest.raises(ValueError, match="MFTGW_PASSWORD"):
        mft.Session.from_env()


async def test_refresh_ahead_of_expiry_uses_refresh_session(mft_emulator: MftEmulator) -> None:
    mft_emulator.gateway.token_ttl = 60  # inside the default 300 s margin: refreshed early
    async with session(mft_emulator) as s:
        await s.inbox.list_ids()
        await anyio.sleep(0)
        mft_emulator.gateway.token_ttl = 3600
        # the first token is used until half its life has passed; force it due now
        s._tokens._token = s._tokens._token.__class__(  # type: ignore[union-attr]
            s._tokens.token.value,  # type: ignore[union-attr]
            s._tokens.token.expires_at,  # type: ignore[union-attr]
            0.0,
            s._tokens.token.refresh_token,  # type: ignore[union-attr]
        )
        await s.inbox.list_ids()
    assert mft_emulator.stats.authorizations == 1
    assert mft_emulator.stats.refreshes == 1


async def test_failed_refresh_falls_back_to_authorize(mft_emulator: MftEmulator) -> None:
    async with session(mft_emulator) as s:
        await s.inbox.list_ids()
        mft_emulator.gateway.refresh_fails = True  # every refresh answers 500
        token = s._tokens.token
        assert token is not None
        s._tokens._token = token.__class__(token.value, token.expires_at, 0.0, token.refresh_token)
        assert await s.inbox.list_ids() == []
    assert mft_emulator.stats.refresh_calls == 1  # the 500 is a refusal: not retried
    assert mft_emulator.stats.refresh_failures == 1
    assert mft_emulator.stats.authorizations == 2


async def test_200_concurrent_calls_with_an_expired_token_make_one_renewal(
    mft_emulator: MftEmulator,
) -> None:
    ids = mft_emulator.seed_inbox(5)
    async with session(mft_emulator) as s:
        await s.login()
        mft_emulator.expire_tokens()  # the server refuses it; the client still thinks it good
        before = mft_emulator.stats.authorizations + mft_emulator.stats.refreshes
        results: list[str] = []

        async def one(i: int) -> None:
            results.append((await s.inbox.get(ids[i % 5])).identifier)

        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(one, i)
    assert len(results) == 200
    after = mft_emulator.stats.authorizations + mft_emulator.stats.refreshes
    assert after - before == 1
    assert mft_emulator.stats.unauthorized >= 1


async def test_one_retry_on_401_then_the_error(mft_emulator: MftEmulator) -> None:
    async with session(mft_emulator, retry_policy=FAST_RETRIES) as s:
        await s.login()
        mft_emulator.faults.fail("list", 401, times=2)
        with pytest.raises(AuthenticationError):
            await s.inbox.list_ids()
        assert await s.inbox.list_ids() == []
