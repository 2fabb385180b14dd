"""Tests that kill the surviving mutants of `as2gw_async/journal/file.py` (see docs/mutation.md).

Each test names the mutant it kills, so nobody deletes it as redundant.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

import as2gw_async as gw
from as2gw_async.journal import (
    ACKED,
    MARKED,
    STORED,
    FileJournal,
    JournalRecord,
    JournalScope,
    Recovery,
)


def _scope(tmp_path: Path, gateway: str = "as2gateway", account: str = "alice") -> JournalScope:
    return JournalScope(gateway=gateway, account=account, dest_dir=tmp_path)


def _write_lines(path: Path, *lines: Any) -> None:
    """Lines as another run (or an older version) left them: each JSON-encoded, one a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def _stored(mid: str, **extra: Any) -> dict[str, Any]:
    line = {"id": mid, "state": "stored", "dir": mid, "message": {"as2MessageId": mid}}
    return {**line, "time": 1.0, **extra}


# -- the line format -----------------------------------------------------------------------


async def test_each_record_is_one_compact_json_line_with_its_time(tmp_path: Path) -> None:
    # kills: _line: line["time"] = None / "XXtimeXX" / "TIME";
    #        _append: json.dumps(separators=None) / without separators (", " and ": ")
    path = tmp_path / "journal.jsonl"
    journal = FileJournal(path)
    await journal.open(_scope(tmp_path, gateway="mft", account="station"))
    await journal.record(
        [
            JournalRecord(
                message_id="m1", state=STORED, directory="d1", metadata={"k": "v"}, time=12.5
            ),
            JournalRecord(message_id="m1", state=ACKED, time=13.25),
        ]
    )
    assert path.read_bytes() == (
        b'{"id":"m1","state":"stored","gateway":"mft","account":"station",'
        b'"dir":"d1","message":{"k":"v"},"time":12.5}\n'
        b'{"id":"m1","state":"acked","gateway":"mft","account":"station","time":13.25}\n'
    )


async def test_the_journal_file_is_created_rw_r_r(tmp_path: Path) -> None:
    # kills: _write: os.open(..., 0o644) -> no mode (0o777) / 421 (0o645)
    path = tmp_path / "journal.jsonl"
    journal = FileJournal(path)
    await journal.open(_scope(tmp_path))
    old = os.umask(0)  # so the mode asked for is the mode the file gets
    try:
        await journal.record([JournalRecord(message_id="m", state=MARKED)])
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


async def test_missing_parent_directories_are_created(tmp_path: Path) -> None:
    # kills: _write: mkdir(parents=None / False / dropped)
    path = tmp_path / "a" / "b" / "journal.jsonl"
    journal = FileJournal(path)
    await journal.open(_scope(tmp_path))
    await journal.record([JournalRecord(message_id="m", state=MARKED)])
    assert [json.loads(x)["id"] for x in path.read_text().splitlines()] == ["m"]


async def test_record_returns_after_fsyncing_the_whole_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.jsonl"
    journal = FileJournal(path)
    await journal.open(_scope(tmp_path))
    synced: list[bytes] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        real_fsync(fd)
        if os.fstat(fd).st_ino == path.stat().st_ino:
            synced.append(path.read_bytes())

    monkeypatch.setattr(os, "fsync", spy)
    await journal.record(
        [JournalRecord(message_id="a", state=ACKED), JournalRecord(message_id="b", state=ACKED)]
    )
    assert synced == [path.read_bytes()]
    assert len(path.read_bytes().splitlines()) == 2
    await journal.record([])  # nothing to write: no fsync
    assert len(synced) == 1


# -- where the journal lives ---------------------------------------------------------------


async def test_the_default_path_is_dest_dir_as2gw_journal_jsonl(tmp_path: Path) -> None:
    # kills: __init__: Path(path) if (path is not None) or True (Path(None));
    #        open: self.path = None / ".as2gw" * ... / dest_dir * ... / "XX.as2gwXX" /
    #        ".AS2GW" / "XXjournal.jsonlXX" / "JOURNAL.JSONL";
    #        __repr__: str(None) (had no test)
    default = tmp_path / ".as2gw" / "journal.jsonl"
    _write_lines(default, _stored("old"))
    journal = FileJournal()
    assert repr(journal) == "FileJournal('None')"
    recovery = await journal.open(_scope(tmp_path))
    assert journal.path == default
    assert repr(journal) == f"FileJournal({str(default)!r})"
    assert [r.message_id for r in recovery.stored] == ["old"]
    await journal.record([JournalRecord(message_id="old", state=ACKED)])
    assert [json.loads(x)["state"] for x in default.read_text().splitlines()] == [
        "stored",
        "acked",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".as2gw"]
    assert sorted(p.name for p in default.parent.iterdir()) == ["journal.jsonl"]


async def test_record_before_open_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    # kills: record: assert message "XXopen() firstXX" / "OPEN() FIRST";
    #        __init__: self._owner = "" (the assert passes, then _line() gets no gateway)
    path = tmp_path / "journal.jsonl"
    journal = FileJournal(path)
    with pytest.raises(AssertionError, match=r"^open\(\) first"):
        await journal.record([JournalRecord(message_id="m", state=ACKED)])
    assert not path.exists()


# -- reading: times, invalid lines, order ----------------------------------------------------


async def test_a_reload_sees_each_stored_records_time(tmp_path: Path) -> None:
    # kills: _record: stamp = None / line.get(None) / "XXtimeXX" / "TIME"; time=None;
    #        float(stamp) if (...) and False
    path = tmp_path / "journal.jsonl"
    journal = FileJournal(path)
    await journal.open(_scope(tmp_path))
    await journal.record(
        [JournalRecord(message_id="m", state=STORED, directory="m", metadata={}, time=12.5)]
    )
    _write_lines(
        path,
        *[json.loads(x) for x in path.read_text().splitlines()],
        _stored("n", time=7),  # an int is a time too
    )
    recovery = await FileJournal(path).open(_scope(tmp_path))
    assert [(r.message_id, r.time) for r in recovery.stored] == [("m", 12.5), ("n", 7.0)]
    assert isinstance(recovery.stored[1].time, float)


async def test_a_missing_or_unreadable_time_reads_as_zero(tmp_path: Path) -> None:
    # kills: _record: time=... dropped (time.time() instead); float(stamp) if (...) or True
    #        (float("noon") raises, float(None) too); else 0.0 -> else 1.0
    path = tmp_path / "journal.jsonl"
    no_time = _stored("a")
    del no_time["time"]
    _write_lines(path, no_time, _stored("b", time="noon"), _stored("c", time=None))
    recovery = await FileJournal(path).open(_scope(tmp_path))
    assert [(r.message_id, r.time) for r in recovery.stored] == [
        ("a", 0.0),
        ("b", 0.0),
        ("c", 0.0),
    ]


async def test_a_stored_line_needs_both_its_directory_and_its_message(tmp_path: Path) -> None:
    # kills: _record: not isinstance(directory, str) and not isinstance(metadata, dict)
    path = tmp_path / "journal.jsonl"
    no_message = _stored("a")
    del no_message["message"]
    no_dir = _stored("b")
    del no_dir["dir"]
    _write_lines(path, no_message, no_dir, _stored("c", dir=5), _stored("d", message=[]))
    journal = FileJournal(path)
    recovery = await journal.open(_scope(tmp_path))
    assert recovery == Recovery()
    assert await journal.states(["a", "b", "c", "d"]) == {}


async def test_a_line_needs_a_string_id_and_a_known_state(tmp_path: Path) -> None:
    # kills: _record: not isinstance(mid, str) and not is_state(state)
    path = tmp_path / "journal.jsonl"
    _write_lines(
        path,
        {"id": 7, "state": "acked", "time": 1.0},
        {"id": "m", "state": "done", "time": 1.0},
        {"id": "n", "state": "acked", "time": 1.0},
    )
    journal = FileJournal(path)
    recovery = await journal.open(_scope(tmp_path))
    assert recovery.acked == ("n",)
    assert await journal.states(["7", "m", "n"]) == {"n": "acked"}


async def test_lines_after_a_non_object_or_invalid_line_are_still_read(tmp_path: Path) -> None:
    # kills: _load: `continue` -> `break` after a line that is not a JSON object, and after
    #        a line that is no record
    path = tmp_path / "journal.jsonl"
    _write_lines(
        path,
        _stored("a"),
        [1, 2],
        "stored",
        _stored("b"),
        {"id": "x", "state": "unknown"},
        _stored("c"),
        {"id": "a", "state": "acked"},
    )
    journal = FileJournal(path)
    recovery = await journal.open(_scope(tmp_path))
    assert [r.message_id for r in recovery.stored] == ["b", "c"]
    assert recovery.acked == ("a",)


async def test_a_later_state_wins_when_reloaded_out_of_order(tmp_path: Path) -> None:
    # kills: _load: later(record.state, None) / later(record.state, self._states.get(None))
    path = tmp_path / "journal.jsonl"
    journal = FileJournal(path)
    await journal.open(_scope(tmp_path))
    await journal.record(
        [
            JournalRecord(message_id="m", state=MARKED),
            JournalRecord(message_id="m", state=STORED, directory="m", metadata={}),
            JournalRecord(message_id="a", state=ACKED),
            JournalRecord(message_id="a", state=STORED, directory="a", metadata={}),
        ]
    )
    again = FileJournal(path)
    recovery = await again.open(_scope(tmp_path))
    assert recovery.stored == ()
    assert recovery.acked == ("a",)
    assert await again.states(["m", "a"]) == {"m": "marked", "a": "acked"}


# -- ownership ------------------------------------------------------------------------------


async def test_a_journal_is_reopened_by_its_own_gateway(tmp_path: Path) -> None:
    # kills: _load: line.get(None) / "XXgatewayXX" / "GATEWAY" for the owner's gateway;
    #        gateway if (isinstance(gateway, str)) and False (always the legacy gateway)
    path = tmp_path / "journal.jsonl"
    journal = FileJournal(path)
    await journal.open(_scope(tmp_path, gateway="mft", account="station"))
    await journal.record([JournalRecord(message_id="m", state=ACKED)])
    recovery = await FileJournal(path).open(_scope(tmp_path, gateway="mft", account="station"))
    assert recovery.acked == ("m",)


async def test_the_first_valid_line_names_the_owner(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    _write_lines(
        path,
        {"id": 7, "state": "acked", "gateway": "ecgrid", "account": "x"},
        {"id": "m", "state": "acked", "gateway": "mft", "account": "station"},
    )
    recovery = await FileJournal(path).open(_scope(tmp_path, gateway="mft", account="station"))
    assert recovery.acked == ("m",)


async def test_an_account_that_is_not_a_string_is_read_as_none(tmp_path: Path) -> None:
    # kills: _load: account if (isinstance(account, str)) or True
    path = tmp_path / "journal.jsonl"
    _write_lines(path, {"id": "m", "state": "acked", "gateway": "as2gateway", "account": 5})
    recovery = await FileJournal(path).open(_scope(tmp_path, account="bob"))
    assert recovery.acked == ("m",)


async def test_the_mismatch_names_the_owners_gateway_and_account(tmp_path: Path) -> None:
    # kills: open: self._mismatch(scope, gateway, None);
    #        _mismatch: (f", account ..." if (account) and False else "")
    path = tmp_path / "journal.jsonl"
    journal = FileJournal(path)
    await journal.open(_scope(tmp_path))
    await journal.record([JournalRecord(message_id="m", state=ACKED)])
    with pytest.raises(gw.JournalMismatchError) as caught:
        await FileJournal(path).open(_scope(tmp_path, account="bob"))
    assert str(caught.value) == (
        f"{tmp_path} holds the inbox of gateway 'as2gateway', account 'alice'; it cannot "
        "also take gateway 'as2gateway', account 'bob': use another directory"
    )


async def test_the_mismatch_of_a_legacy_journal_names_no_account(tmp_path: Path) -> None:
    # kills: _mismatch: (... if (account) or True else "") (", account None");
    #        (... if account else "XXXX")
    path = tmp_path / "journal.jsonl"
    _write_lines(path, _stored("a"))
    with pytest.raises(gw.JournalMismatchError) as caught:
        await FileJournal(path).open(_scope(tmp_path, gateway="mft"))
    assert str(caught.value) == (
        f"{tmp_path} holds the inbox of gateway 'as2gateway'; it cannot also take "
        "gateway 'mft', account 'alice': use another directory"
    )
