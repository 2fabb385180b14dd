"""A consumer process for the crash test: drain GATEWAY's inbox into DEST, then exit.

``python _consumer_main.py GATEWAY DEST``; the credentials and base URL come from the
gateway's own environment variables (``AS2GW_*``, ``MFTGW_*``, ``ECGRID_*``), read by its
``Session.from_env()``, as a user's service would.
"""

from __future__ import annotations

import importlib
import sys

import anyio

import as2gw_async as gw

#: The module holding each gateway's ``Session``.
CLIENTS = {"as2gateway": "as2gw_async", "mft": "as2gw_async.mft", "ecgrid": "as2gw_async.ecgrid"}


async def main(gateway: str, dest: str) -> None:
    session_class = importlib.import_module(CLIENTS[gateway]).Session
    async with (
        session_class.from_env(
            rate_limit=None,
            retry_policy=gw.RetryPolicy(max_retries=6, initial_delay=0.01, max_delay=0.1),
        ) as session,
        gw.InboxConsumer(session, dest, concurrency=4) as consumer,
    ):
        print("CONSUMER_STARTED", flush=True)  # imports done: the kill clock starts here
        delivered = 0
        async for d in consumer:
            delivered += 1
            print(f"DELIVERED {d.message_id}", flush=True)  # the crash test's kill points
    print(f"CONSUMER_DELIVERED {delivered}", flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2])
