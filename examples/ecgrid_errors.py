"""ECGrid's envelope errors as the shared error classes; any endpoint through ``call``.

Run: ECGRID_API_KEY=... python examples/ecgrid_errors.py
"""

import asyncio
from typing import Any

import as2gw_async as gw
from as2gw_async import ecgrid


# --8<-- [start:example]
async def main(s: ecgrid.Session) -> dict[str, Any]:
    try:
        await s.parcels.get(1)
    except gw.NotFoundError as exc:  # errorCode ObjectNotFound, whatever the HTTP status
        print(exc.status_code, exc.error_code, exc.message)

    # Any of the other endpoints: the envelope is unwrapped, `data` returned,
    # `success: false` raised as the error its errorCode names.
    mailboxes: dict[str, Any] = await s.call("POST", "/v2/mailboxes/list", json={"pageNo": 1})
    for box in mailboxes["mailboxes"]:
        print(box["mailboxId"], box["companyName"])
    return mailboxes


# --8<-- [end:example]


async def run() -> None:
    async with ecgrid.Session.from_env() as s:
        await main(s)


if __name__ == "__main__":
    asyncio.run(run())
