"""Drain the inbox into a folder: each message on disk once, marked read after you are done.

Run: python examples/inbox_consumer.py inbox/   (with AS2GW_USERNAME / AS2GW_PASSWORD set)
"""

import asyncio
import sys
from pathlib import Path

import as2gw_async as gw


# --8<-- [start:example]
async def main(s: gw.Session, inbox: Path) -> gw.ConsumerStats:
    async with gw.InboxConsumer(s, inbox, concurrency=8) as consumer:
        async for d in consumer:
            # d.directory holds every attachment, complete and fsynced.
            for f in d.files:
                print(d.as2_message_id, f.name, f.size)
            # Leaving this block body = done: the message is journaled and marked read
            # when the loop asks for the next one. A crash before that hands it to
            # you again on the next run, from disk, with d.redelivered set.
    print(consumer.stats)
    return consumer.stats


# --8<-- [end:example]


async def run(inbox: Path) -> None:
    async with gw.Session.from_env() as s:
        await main(s, inbox)


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1])))
