"""``as2gw ls`` and ``show``, and the queue/read-mark actions."""

from __future__ import annotations

import pytest

from as2gw_async.emulator import Gateway

from .conftest import Run, ids_of, json_lines, one_line_error

SEEDED = pytest.mark.as2gw_emulator(seed_messages=25)


@pytest.fixture
def human(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the CLI believe stdout is a terminal (tables instead of JSON lines)."""
    monkeypatch.setattr("as2gw_async.cli.output._isatty", lambda stream: True)


@SEEDED
def test_ls_prints_json_lines_when_piped(run: Run, as2gw_gateway: Gateway) -> None:
    result = run("ls", "received", "--limit", "10")
    assert result.exit_code == 0, result.stderr
    records = json_lines(result.stdout)
    assert len(records) == 10
    newest = sorted(as2gw_gateway.messages("received"), key=lambda m: -m.persisted_timestamp)
    assert ids_of(records) == [m.as2_message_id for m in newest[:10]]
    # the gateway's own camelCase field names
    assert {"as2MessageId", "persistedTimestamp", "receiverId", "attachments"} <= set(records[0])


@SEEDED
def test_ls_pages_and_all(run: Run) -> None:
    first = ids_of(json_lines(run("ls", "received", "-n", "10", "--page", "0").stdout))
    second = ids_of(json_lines(run("ls", "received", "-n", "10", "--page", "1").stdout))
    everything = ids_of(json_lines(run("ls", "received", "--all").stdout))
    assert len(everything) == 25
    assert everything[:20] == first + second
    oldest_first = ids_of(json_lines(run("ls", "received", "--all", "--asc").stdout))
    assert oldest_first == everything[::-1]


@SEEDED
def test_ls_filters(run: Run, as2gw_gateway: Gateway) -> None:
    target = as2gw_gateway.messages("received")[3]
    by_id = json_lines(run("ls", "received", "--id", target.as2_message_id).stdout)
    assert ids_of(by_id) == [target.as2_message_id]
    by_partner = json_lines(run("ls", "received", "--all", "--partner", "ACME_Corp").stdout)
    assert by_partner
    assert all(r["receiverId"] == "ACME_Corp" for r in by_partner)
    as2gw_gateway.mark_read(target.as2_message_id)
    unread = ids_of(json_lines(run("ls", "received", "--all", "--unread").stdout))
    assert len(unread) == 24
    assert target.as2_message_id not in unread


@SEEDED
def test_ls_human_table(run: Run, human: None) -> None:
    result = run("ls", "received", "--limit", "5")
    assert result.exit_code == 0, result.stderr
    assert "AS2 message ID" in result.stdout
    assert "Messages 1-5 of 25 (page 0)" in result.stdout
    assert "--page 1" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


@SEEDED
def test_ls_json_flag_wins_over_a_terminal(run: Run, human: None) -> None:
    result = run("ls", "received", "--limit", "3", "--json")
    assert len(json_lines(result.stdout)) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ls", "sent", "--unread"), "--unread"),
        (("ls", "received", "--query", "x"), "--query"),
        (("ls", "queued", "--partner", "x"), "--query"),
    ],
)
def test_ls_rejects_filters_of_other_folders(run: Run, args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in one_line_error(result)


def test_ls_limit_is_checked_by_typer(run: Run) -> None:
    assert run("ls", "received", "--limit", "101").exit_code == 2


@SEEDED
def test_show_json_and_human(run: Run, as2gw_gateway: Gateway, human: None) -> None:
    target = as2gw_gateway.messages("received")[0]
    result = run("show", "received", target.as2_message_id, "--json")
    assert result.exit_code == 0, result.stderr
    [record] = json_lines(result.stdout)
    assert record["as2MessageId"] == target.as2_message_id
    assert len(record["attachments"]) == len(target.attachments)
    human_result = run("show", "received", target.as2_message_id)
    assert target.attachments[0].name in human_result.stdout
    assert "Attachments" in human_result.stdout
    assert not as2gw_gateway.is_read(target.as2_message_id)
    assert run("show", "received", target.as2_message_id, "--mark-read").exit_code == 0
    assert as2gw_gateway.is_read(target.as2_message_id)


@SEEDED
def test_mark_unread(run: Run, as2gw_gateway: Gateway) -> None:
    a, b = (m.as2_message_id for m in as2gw_gateway.messages("received")[:2])
    as2gw_gateway.mark_read(a)
    as2gw_gateway.mark_read(b)
    result = run("mark-unread", a, b)
    assert result.exit_code == 0, result.stderr
    assert ids_of(json_lines(result.stdout)) == [a, b]
    assert not as2gw_gateway.is_read(a)
    assert not as2gw_gateway.is_read(b)


@pytest.mark.as2gw_emulator(send_delay=60)
def test_stop_and_retry_a_queued_message(run: Run, as2gw_gateway: Gateway) -> None:
    mid = as2gw_gateway.submit("RJ_Station", "RJ_Partner", [("a.txt", b"a")])
    queued = ids_of(json_lines(run("ls", "queued", "--query", mid).stdout))
    assert queued == [mid]
    result = run("stop", mid)
    assert result.exit_code == 0, result.stderr
    [ack] = json_lines(result.stdout)
    assert ack["as2MessageId"] == mid
    assert "stopped" in ack["message"].lower()
    assert as2gw_gateway.message("queued", mid).stopped
    assert run("retry", mid).exit_code == 0
    assert not as2gw_gateway.message("queued", mid).stopped


def test_stop_unknown_message_exits_4(run: Run) -> None:
    result = run("stop", "<nope@example.com>")
    assert result.exit_code == 4
    one_line_error(result)
