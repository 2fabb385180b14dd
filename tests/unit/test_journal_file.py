"""FileJournal: today's JSON-lines format, gateway and account per line, legacy v1 journals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import as2gw_async as gw
from as2gw_async.journal import (
    ACKED,
    MARKED,
    STATES,
    STORED,
    FileJournal,
    Journal,
    JournalRecord,
    JournalScope,
)

# Lines exactly as the consumer wrote them before journals named their gateway.
_LEGACY = [
    {
        "id": "<a@as2gateway.com>",
        "state": "stored",
        "dir": "a@as2gateway.com",
        "message": {"as2MessageId": "<a@as2gateway.com>", "attachments": []},
        "time": 1.0,
    },
    {
        "id": "<b@as2gateway.com>",
        "state": "stored",
        "dir": "b@as2gateway.com",
        "message": {"as2MessageId": "<b@as2gateway.com>"},
        "time": 2.0,
    },
    {"id": "<b@as2gateway.com>", "state": "acked", "time": 3.0},
    {"id": "<c@as2gateway.com>", "state": "stored", "dir": "c", "message": {}, "time": 4.0},
    {"id": "<c@as2gateway.com>", "state": "acked", "time": 5.0},
    {"id": "<c@as2gateway.com>", "state": "marked", "time": 6.0},
]


def _scope(tmp_path: Path, gateway: str = "as2gateway", account: str = "alice") -> JournalScope:
    return JournalScope(gateway=gateway, account=account, dest_dir=tmp_path)


def _write_legacy(path: Path, torn: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(line) + "\n" for line in _LEGACY)
    path.write_text(text + ('{"id": "<d@as2g' if torn else ""))


def test_the_states_are_defined_once_in_order() -> None:
    assert STATES == (STORED, ACKED, MARKED) == ("stored", "acked", "marked")


def test_file_journal_is_a_journal(tmp_path: Path) -> None:
    assert isinstance(FileJournal(tmp_path / "j"), Journal)


async def test_a_legacy_v1_journal_is_read_as_as2gateways(tmp_path: Path) -> None:
    path = tmp_path / ".as2gw" / "journal.jsonl"
    _write_legacy(path, torn=True)
    journal = FileJournal(path)
    recovery = await journal.open(_scope(tmp_path))
    assert [r.message_id for r in recovery.stored] == ["<a@as2gateway.com>"]
    assert recovery.stored[0].directory == "a@as2gateway.com"
    assert recovery.stored[0].metadata == _LEGACY[0]["message"]
    assert recovery.acked == ("<b@as2gateway.com>",)
    ids = ["<a@as2gateway.com>", "<b@as2gateway.com>", "<c@as2gateway.com>", "<new>"]
    assert await journal.states(ids) == {
        "<a@as2gateway.com>": "stored",
        "<b@as2gateway.com>": "acked",
        "<c@as2gateway.com>": "marked",
    }
    # the file journal has one consumer: it grants every claim but the finished ones
    assert await journal.claim(ids) == ["<a@as2gateway.com>", "<new>"]

    await journal.record([JournalRecord(message_id="<a@as2gateway.com>", state=ACKED)])
    await journal.close()
    lines = path.read_text().splitlines()
    assert json.loads(lines[-1])["gateway"] == "as2gateway"
    assert json.loads(lines[-1])["account"] == "alice"
    assert lines[-2].startswith('{"id": "<d@as2g')  # the torn line, left alone

    again = FileJournal(path)
    recovery = await again.open(_scope(tmp_path))
    assert recovery.stored == ()
    assert set(recovery.acked) == {"<a@as2gateway.com>", "<b@as2gateway.com>"}


async def test_a_legacy_journal_cannot_be_taken_by_another_gateway(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    _write_legacy(path)
    with pytest.raises(gw.JournalMismatchError, match=r"'as2gateway'.*'mft'"):
        await FileJournal(path).open(_scope(tmp_path, gateway="mft"))


@pytest.mark.parametrize(("gateway", "account"), [("ecgrid", "alice"), ("as2gateway", "bob")])
async def test_a_journal_belongs_to_one_gateway_and_account(
    tmp_path: Path, gateway: str, account: str
) -> None:
    path = tmp_path / "journal.jsonl"
    first = FileJournal(path)
    await first.open(_scope(tmp_path))
    await first.record([JournalRecord(message_id="m1", state=STORED, directory="m1", metadata={})])
    with pytest.raises(gw.JournalMismatchError, match="another directory"):
        await FileJournal(path).open(_scope(tmp_path, gateway, account))
    # its owner opens it again
    recovery = await FileJournal(path).open(_scope(tmp_path))
    assert [r.message_id for r in recovery.stored] == ["m1"]


async def test_an_empty_journal_belongs_to_whoever_writes_first(tmp_path: Path) -> None:
    journal = FileJournal(tmp_path / "journal.jsonl")
    recovery = await journal.open(_scope(tmp_path, gateway="mft", account="station"))
    assert recovery.stored == ()
    assert recovery.acked == ()
    await journal.record([JournalRecord(message_id="m", state=MARKED)])
    with pytest.raises(gw.JournalMismatchError):
        await FileJournal(tmp_path / "journal.jsonl").open(_scope(tmp_path))


async def test_a_later_state_wins_whatever_the_order(tmp_path: Path) -> None:
    journal = FileJournal(tmp_path / "journal.jsonl")
    await journal.open(_scope(tmp_path))
    await journal.record(
        [
            JournalRecord(message_id="m", state=MARKED),
            JournalRecord(message_id="m", state=STORED, directory="m", metadata={}),
        ]
    )
    assert await journal.states(["m"]) == {"m": "marked"}
    assert await FileJournal(tmp_path / "journal.jsonl").open(_scope(tmp_path)) is not None
