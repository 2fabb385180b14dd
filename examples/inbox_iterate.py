"""Walk the unread inbox, handle each message, then mark it read.

Run: python examples/inbox_iterate.py   (with AS2GW_USERNAME / AS2GW_PASSWORD set)
"""

import asyncio

import as2gw_async as gw


# --8<-- [start:example]
async def main(s: gw.Session) -> list[str]:
    handled = []
    # Pages are fetched as the loop goes (100 messages a request). Marking messages read
    # while iterating unread_only=True skips none: the iterator allows for the shift.
    async for m in s.received.iter(unread_only=True, partner_type="production"):
        print(m.persisted_at, m.sender_id, "<-", m.receiver_id, m.subject)
        handled.append(m.as2_message_id)
        await s.received.get(m.as2_message_id, mark_as_read=True)
    return handled


# --8<-- [end:example]


async def run() -> None:
    async with gw.Session.from_env() as s:
        await main(s)


if __name__ == "__main__":
    asyncio.run(run())
