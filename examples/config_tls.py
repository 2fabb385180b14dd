"""Trust a private certificate authority (a TLS-inspecting proxy, a test gateway).

Run: python examples/config_tls.py /path/to/ca.pem
"""

import asyncio
import os
import ssl
import sys

import as2gw_async as gw


# --8<-- [start:example]
async def main(base_url: str, username: str, password: str, ca_file: str) -> str:
    # Verify the gateway's certificate against your CA bundle instead of the system's.
    context = ssl.create_default_context(cafile=ca_file)
    async with gw.Session(username, password, base_url=base_url, verify=context) as s:
        await s.login()
        return s.base_url


# --8<-- [end:example]


if __name__ == "__main__":
    env = os.environ
    base_url = env.get("AS2GW_BASE_URL", gw.DEFAULT_BASE_URL)
    print(asyncio.run(main(base_url, env["AS2GW_USERNAME"], env["AS2GW_PASSWORD"], sys.argv[1])))
