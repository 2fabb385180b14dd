"""A consumer process for the several-hosts tests: drain BASE_URL into DEST, journaled in
PostgreSQL; each message handed to this code is appended to HANDED_LOG (one line, fsynced).

    python _pg_consumer_main.py BASE_URL DEST DSN TABLE_PREFIX LEASE_SECONDS HANDED_LOG WORK

WORK: seconds "your code" spends on each message (so kills also land while it works).
"""

from __future__ import annotations

import logging
import os
import sys

import anyio
import attrs

import as2gw_async as gw


async def main(
    base_url: str, dest: str, dsn: str, prefix: str, lease: str, log: str, work: str
) -> None:
    journal = gw.PostgresJournal(
        dsn, table_prefix=prefix, lease_seconds=float(lease), retry_initial=0.1, retry_max=1.0
    )
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    async with (
        gw.Session(
            "demo@example.com",
            "demo-password",
            base_url=base_url,
            rate_limit=None,
            retry_policy=gw.RetryPolicy(max_retries=6, initial_delay=0.01, max_delay=0.1),
        ) as session,
        gw.InboxConsumer(_small_fetches(session), dest, concurrency=2, journal=journal) as consumer,
    ):
        print("CONSUMER_STARTED", flush=True)  # imports done: the kill clock starts here
        async for delivered in consumer:
            os.write(fd, f"{delivered.message_id}\t{int(delivered.redelivered)}\n".encode())
            os.fsync(fd)
            await anyio.sleep(float(work))
    os.close(fd)


def _small_fetches(session: gw.Session) -> gw.Mailbox:
    """v1's mailbox fetching 10 messages a time (not 100): in a test-sized inbox the hosts
    then share the work, as they would a real backlog."""
    mailbox = session.mailbox()
    mailbox.sizes = attrs.evolve(mailbox.sizes, max_ids=10)
    return mailbox


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    anyio.run(main, *sys.argv[1:8], backend="asyncio")
