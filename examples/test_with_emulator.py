"""Test your own code against a local gateway: the fixtures come with as2gw_async[emulator].

Run: pytest examples/test_with_emulator.py
"""

from pathlib import Path

import pytest

import as2gw_async as gw
from as2gw_async.emulator import EmulatorServer


# Your code: archive every unread message, return how many.
async def archive_inbox(s: gw.Session, dest: Path) -> int:
    async with gw.InboxConsumer(s, dest) as consumer:
        return len([d async for d in consumer])


# Its test. `as2gw_emulator` serves a fresh gateway on a free loopback port for each test;
# the marker configures it (any Gateway argument, seed_messages=N, https=True, ...).
@pytest.mark.anyio
@pytest.mark.as2gw_emulator(seed_messages=5)
async def test_archive_inbox(as2gw_emulator: EmulatorServer, tmp_path: Path) -> None:
    server = as2gw_emulator
    async with gw.Session(server.username, server.password, base_url=server.base_url) as s:
        assert await archive_inbox(s, tmp_path) == 5
        assert await archive_inbox(s, tmp_path) == 0  # all marked read: nothing new

    gateway = server.gateway  # the in-memory state, to arrange and to check
    assert all(gateway.is_read(m.as2_message_id) for m in gateway.messages("received"))


@pytest.mark.anyio
async def test_failing_partner(as2gw_emulator: EmulatorServer, tmp_path: Path) -> None:
    server = as2gw_emulator
    server.gateway.add_partner("Offline_Partner", fail=True)  # every send attempt fails
    server.gateway.max_attempts = 2
    server.gateway.send_delay = server.gateway.retry_interval = 0.05
    (tmp_path / "a.txt").write_text("hello")
    async with gw.Session(server.username, server.password, base_url=server.base_url) as s:
        r = await s.send("RJ_Station", "Offline_Partner", tmp_path / "a.txt")
        with pytest.raises(gw.DeliveryFailedError):
            await s.wait_for_delivery(r.as2_message_id, poll_interval=0.1)
