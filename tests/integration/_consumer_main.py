"""A consumer process for the crash test: drain the inbox at BASE_URL into DEST, then exit."""

from __future__ import annotations

import sys

import anyio

import as2gw_async as gw


async def main(base_url: str, dest: str) -> None:
    async with (
        gw.Session(
            "demo@example.com",
            "demo-password",
            base_url=base_url,
            rate_limit=None,
            retry_policy=gw.RetryPolicy(max_retries=6, initial_delay=0.01, max_delay=0.1),
        ) as session,
        gw.InboxConsumer(session, dest, concurrency=4) as consumer,
    ):
        print("CONSUMER_STARTED", flush=True)  # imports done: the kill clock starts here
        async for _ in consumer:
            pass


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2])
