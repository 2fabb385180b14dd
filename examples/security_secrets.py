"""The password and the token stay out of reprs, exception texts and log records.

Run: python examples/security_secrets.py
"""

import asyncio
import os

import as2gw_async as gw


# --8<-- [start:example]
async def main(base_url: str, username: str, password: str) -> list[str]:
    shown = []
    async with gw.Session(username, password + "-wrong", base_url=base_url) as s:
        shown.append(repr(s))  # <Session username='...' base_url='...'>: no password
        try:
            await s.login()
        except gw.AuthenticationError as e:
            shown.append(str(e))  # "401: authorization failed for ...": no password
    for text in shown:
        print(text)
    return shown


# --8<-- [end:example]


if __name__ == "__main__":
    env = os.environ
    base_url = env.get("AS2GW_BASE_URL", gw.DEFAULT_BASE_URL)
    asyncio.run(main(base_url, env["AS2GW_USERNAME"], env["AS2GW_PASSWORD"]))
