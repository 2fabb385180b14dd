"""Drain one inbox from several hosts: a PostgreSQL journal gives each message to one of them.

Run on each host: python examples/inbox_several_hosts.py inbox/
(with AS2GW_USERNAME / AS2GW_PASSWORD and AS2GW_PG_DSN, e.g. postgresql://as2gw@db/as2gw, set;
pip install "as2gw_async[postgres]")
"""

import asyncio
import os
import sys
from pathlib import Path

import as2gw_async as gw


# --8<-- [start:example]
async def main(s: gw.Session, inbox: Path, dsn: str) -> gw.ConsumerStats:
    # Tables are created on first use; a host that dies loses its claims after 60 s
    # and another host finishes its messages.
    journal = gw.PostgresJournal(dsn, lease_seconds=60)
    async with gw.InboxConsumer(s, inbox, journal=journal) as consumer:
        async for d in consumer:
            # Only this host got this message: its files are complete in d.directory.
            print(d.message_id, [f.name for f in d.files])
    return consumer.stats


# --8<-- [end:example]


async def run(inbox: Path) -> None:
    async with gw.Session.from_env() as s:
        await main(s, inbox, os.environ["AS2GW_PG_DSN"])


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1])))
