"""Tune or turn off retries, and see how many a session made.

Run: python examples/errors_retries.py
"""

import asyncio
import os

import as2gw_async as gw


# --8<-- [start:example]
async def main(base_url: str, username: str, password: str) -> gw.SessionStats:
    policy = gw.RetryPolicy(
        max_retries=5,  # tries after the first; 0 turns retries off
        initial_delay=0.2,  # the first backoff is up to 0.2 s, then 0.4, 0.8... (full jitter)
        max_delay=10.0,  # no single backoff longer than this
        max_retry_after=60.0,  # obey a Retry-After header up to a minute
    )
    async with gw.Session(username, password, base_url=base_url, retry_policy=policy) as s:
        page = await s.received.list(page_length=10)
        print(page.total_records, "received messages")
    # requests made, retries among them, authorizations, 429s received
    print(s.stats)
    return s.stats


# --8<-- [end:example]


if __name__ == "__main__":
    env = os.environ
    base_url = env.get("AS2GW_BASE_URL", gw.DEFAULT_BASE_URL)
    asyncio.run(main(base_url, env["AS2GW_USERNAME"], env["AS2GW_PASSWORD"]))
