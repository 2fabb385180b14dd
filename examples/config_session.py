"""Every knob of a Session: timeouts, connection pool, retries, rate limit, token refresh.

Run: python examples/config_session.py
"""

import asyncio
import os

import httpx

import as2gw_async as gw


# --8<-- [start:example]
async def main(base_url: str, username: str, password: str) -> gw.Session:
    s = gw.Session(
        username,
        password,
        base_url=base_url,
        # 60 s to read, write or wait for a pooled connection; 5 s to connect.
        timeout=httpx.Timeout(60.0, connect=5.0),
        # At most 16 connections to the gateway, all of them kept alive.
        limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
        max_retries=5,  # shorthand for retry_policy=gw.RetryPolicy(max_retries=5)
        # Pace requests below the gateway's 50 per 10 s; None turns pacing off.
        rate_limit=gw.RateLimit(40, 10.0),
        # Get a new token 10 minutes before the current one expires.
        token_refresh_margin=600,
    )
    async with s:
        expires_at = await s.login()  # optional: check the credentials up front
        print("token valid until", expires_at, "for", s.base_url)
    return s


# --8<-- [end:example]


if __name__ == "__main__":
    env = os.environ
    base_url = env.get("AS2GW_BASE_URL", gw.DEFAULT_BASE_URL)
    asyncio.run(main(base_url, env["AS2GW_USERNAME"], env["AS2GW_PASSWORD"]))
