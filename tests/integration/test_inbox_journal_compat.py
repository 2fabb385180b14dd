"""A dest_dir written by the consumer before journals named their gateway keeps working."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import as2gw_async as gw
from as2gw_async.converter import unstructure
from as2gw_async.emulator import EmulatorServer, Gateway
from as2gw_async.files import safe_message_dirname

from ._inbox_helpers import assert_inbox_invariants


@pytest.fixture
async def session(as2gw_emulator: EmulatorServer) -> AsyncIterator[gw.Session]:
    async with gw.Session(
        as2gw_emulator.username,
        as2gw_emulator.password,
        base_url=as2gw_emulator.base_url,
        rate_limit=None,
    ) as s:
        yield s


def _line(**fields: object) -> str:
    return json.dumps(fields, separators=(",", ":")) + "\n"


async def test_a_journal_in_todays_format_is_picked_up(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(3, attachments=(1, 1))
    stored, acked, fresh = ids
    # What a run of the previous release left: `stored` handed over but not done, `acked`
    # not yet marked read (both still unread), in the journal format of that release.
    lines = []
    for mid in (stored, acked):
        directory = tmp_path / safe_message_dirname(mid)
        directory.mkdir(parents=True)
        att = as2gw_gateway.message("received", mid).attachments[0]
        (directory / att.name).write_bytes(as2gw_gateway.attachment_bytes("received", mid))
        message = await session.received.get(mid)
        lines.append(
            _line(id=mid, state="stored", dir=directory.name, message=unstructure(message), time=1)
        )
    lines.append(_line(id=acked, state="acked", time=2))
    journal = tmp_path / ".as2gw" / "journal.jsonl"
    journal.parent.mkdir()
    journal.write_text("".join(lines))
    batches = as2gw_gateway.stats.as_dict()["routes"].get("batch", 0)

    got: list[gw.Delivered] = []
    async with gw.InboxConsumer(session, tmp_path) as consumer:
        async for d in consumer:
            got.append(d)
    assert [(d.as2_message_id, d.redelivered) for d in got] == [(stored, True), (fresh, False)]
    assert isinstance(got[0].message, gw.AS2Message)
    # one download (the fresh one), one mark-read batch for all three
    assert as2gw_gateway.stats.as_dict()["routes"].get("batch", 0) == batches + 2
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)
    new_lines = [json.loads(x) for x in journal.read_text().splitlines()[len(lines) :]]
    assert {(x["gateway"], x["account"]) for x in new_lines} == {
        ("as2gateway", as2gw_gateway.username)
    }
