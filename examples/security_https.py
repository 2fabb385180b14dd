"""An http:// base URL is upgraded to https once, by the gateway's 307, and remembered.

Run: python examples/security_https.py
"""

import asyncio
import os

import as2gw_async as gw


# --8<-- [start:example]
async def main(http_url: str, username: str, password: str, **options: object) -> str:
    # Plain http to a host that is not loopback is refused before the password could
    # cross the wire in clear (InsecureTransportError), unless you opt in:
    async with gw.Session(
        username, password, base_url=http_url, allow_insecure_http=True, **options
    ) as s:
        await s.received.list(page_length=1)  # 307 -> replayed on https, same method and body
        print("now using", s.base_url)  # https://...: later calls go straight there
        return s.base_url


# --8<-- [end:example]


if __name__ == "__main__":
    env = os.environ
    url = "http://api.as2gateway.com/v1"
    print(asyncio.run(main(url, env["AS2GW_USERNAME"], env["AS2GW_PASSWORD"])))
