"""Turn on the library's logging: one DEBUG line per HTTP exchange, INFO for retries.

Run: python examples/config_logging.py
"""

import asyncio
import logging

import as2gw_async as gw


# --8<-- [start:setup]
def setup_logging() -> None:
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # "as2gw_async" is the parent of every logger of the library (as2gw_async.inbox...).
    # DEBUG: method, URL, status and time of each exchange. INFO: retries, the https
    # upgrade, each message stored by InboxConsumer. WARNING: messages skipped.
    logging.getLogger("as2gw_async").setLevel(logging.DEBUG)


# --8<-- [end:setup]


async def main(s: gw.Session) -> None:
    await s.received.list(page_length=1)  # logs the authorize and the list call


async def run() -> None:
    async with gw.Session.from_env() as s:
        await main(s)


if __name__ == "__main__":
    setup_logging()
    asyncio.run(run())
