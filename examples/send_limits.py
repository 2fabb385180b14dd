"""The documented send limits are checked before a byte leaves.

At most 10 files a message, 10 MB a file and 10 MB in total, unique file names.

Run: python examples/send_limits.py
"""

import asyncio

import as2gw_async as gw


# --8<-- [start:example]
async def main(s: gw.Session) -> gw.LimitExceededError:
    files = [gw.Upload(b"x", name=f"part{i}.txt") for i in range(11)]
    try:
        await s.send("RJ_Station", "RJ_Partner", *files)
    except gw.LimitExceededError as e:
        print(e.limit, "-", e)  # no request was made
        return e
    raise AssertionError("11 files must not be sent")


# --8<-- [end:example]


async def run() -> None:
    async with gw.Session.from_env() as s:
        await main(s)


if __name__ == "__main__":
    asyncio.run(run())
