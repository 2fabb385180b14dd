"""Catch what you can act on; let the rest reach your error reporting.

Run: python examples/errors_handling.py '<message-id>'
"""

import asyncio
import sys

import as2gw_async as gw


# --8<-- [start:example]
async def main(s: gw.Session, message_id: str) -> str:
    try:
        m = await s.received.get(message_id)
    except gw.NotFoundError as e:
        # 404: no such message. e.message is the gateway's own text.
        return f"missing ({e.status_code}): {e.message}"
    except (gw.RateLimitError, gw.InternalServerError, gw.APIConnectionError) as e:
        # 429, 5xx, network or timeout: the session already retried (3 times by
        # default, with backoff). Try again later rather than in a tight loop.
        return f"try later: {e}"
    # AuthenticationError (wrong credentials) and other AS2GatewayErrors propagate:
    # retrying will not fix them.
    return f"found: {m.subject}"


# --8<-- [end:example]


async def run(message_id: str) -> None:
    async with gw.Session.from_env() as s:
        print(await main(s, message_id))


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1]))
