"""Bring your own httpx.AsyncClient: headers, event hooks, transports, proxies.

Run: python examples/config_http_client.py
"""

import asyncio
import os

import httpx

import as2gw_async as gw


# --8<-- [start:example]
async def main(base_url: str, username: str, password: str) -> list[int]:
    statuses: list[int] = []

    async def record(response: httpx.Response) -> None:
        statuses.append(response.status_code)  # e.g. feed your metrics here

    client = httpx.AsyncClient(
        headers={"User-Agent": "acme-edi-bridge/2.1"},
        event_hooks={"response": [record]},
        timeout=httpx.Timeout(30.0),
        limits=httpx.Limits(max_connections=32),
        # Leave follow_redirects off (the default): the session follows the gateway's
        # http -> https 307 itself, replaying file bodies and refusing other redirects.
    )
    # You opened the client, you close it: the session leaves an injected client open.
    async with (
        client,
        gw.Session(username, password, base_url=base_url, http_client=client) as s,
    ):
        page = await s.received.list(page_length=5)
        print(page.total_records, "received;", len(statuses), "HTTP exchanges")
    return statuses


# --8<-- [end:example]


if __name__ == "__main__":
    env = os.environ
    base_url = env.get("AS2GW_BASE_URL", gw.DEFAULT_BASE_URL)
    asyncio.run(main(base_url, env["AS2GW_USERNAME"], env["AS2GW_PASSWORD"]))
