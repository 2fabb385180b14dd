"""The quickstart in one file: start an emulator in this process and run against it.

Needs the emulator extra: pip install "as2gw_async[emulator]". No account, no network.

    python examples/quickstart_local.py
"""

import asyncio
import tempfile
from pathlib import Path

from quickstart import main

import as2gw_async as gw
from as2gw_async.emulator import Gateway, serve


async def run_locally() -> list[gw.Delivered]:
    gateway = Gateway(send_delay=0.5)  # sent messages are delivered after 0.5 s
    gateway.seed(3)  # three received messages waiting in the inbox
    async with serve(gateway) as server:  # a real HTTP server on a free loopback port
        print("emulator at", server.base_url)
        async with gw.Session(server.username, server.password, base_url=server.base_url) as s:
            with tempfile.TemporaryDirectory() as tmp:
                return await main(s, Path(tmp))


if __name__ == "__main__":
    asyncio.run(run_locally())
