"""InboxConsumer refuses a message whose files do not match what the listing announced.

The batch archive's CRCs prove the bytes are the gateway's; the listing's attachment
sizes prove they are the *right* bytes. A message whose downloaded sizes differ is
skipped, left unread and never handed over (issue 19: ``_verify``'s size-mismatch branch
never ran). Kills the mutants that drop or weaken that comparison.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.files import safe_message_dirname

GOOD, BAD = "<good@x>", "<bad@x>"


def _archive(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def gateway(router: respx.MockRouter, authorize: respx.Route) -> dict[str, list[object]]:
    """A received folder of two unread messages; BAD's listing claims 5 and 9 bytes for
    attachments of 3 and 9 bytes. Records the batch requests made."""
    seen: dict[str, list[object]] = {"batches": [], "marks": []}
    files = {
        GOOD: {"a.edi": b"ISA*1", "b.edi": b"ISA*22"},
        BAD: {"x.edi": b"ISA", "y.edi": b"ISA*12345"},
    }
    claimed = {GOOD: {"a.edi": 5, "b.edi": 6}, BAD: {"x.edi": 5, "y.edi": 9}}

    def listing(request: httpx.Request) -> httpx.Response:
        unread = [m for m in files if m not in seen["marks"]]
        records = [
            {
                "as2MessageId": mid,
                "attachments": [{"name": n, "size": s} for n, s in claimed[mid].items()],
            }
            for mid in unread
        ]
        return httpx.Response(200, json={"totalRecords": len(records), "records": records})

    def batch(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)
        seen["batches"].append(ids)
        if request.url.params.get("markAsRead") == "true":
            seen["marks"].extend(ids)
        entries = {f"{mid}/{name}": data for mid in ids for name, data in files[mid].items()}
        return httpx.Response(200, content=_archive(entries))

    router.get("/message/received").mock(side_effect=listing)
    router.post("/message/received/batch/attachments").mock(side_effect=batch)
    return seen


async def test_a_message_whose_sizes_differ_from_the_listing_is_skipped(
    session: gw.Session, gateway: dict[str, list[object]], tmp_path: Path
) -> None:
    # kills: the size comparison in `_verify` removed, or `expected != got` -> `==`
    async with gw.InboxConsumer(session, tmp_path) as consumer:
        got = [d.as2_message_id async for d in consumer]
    assert got == [GOOD]
    assert set(consumer.skipped) == {BAD}
    assert "differ" in consumer.skipped[BAD]
    assert BAD not in gateway["marks"]  # left unread, to be tried again later
    assert GOOD in gateway["marks"]
    on_disk = {p.name for p in tmp_path.iterdir()} - {".as2gw"}
    assert on_disk == {safe_message_dirname(GOOD)}
