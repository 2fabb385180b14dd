"""``as2gw send``: single and multipart, waiting for delivery, and the send-side exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from as2gw_async.emulator import Gateway

from .conftest import Run, json_lines, one_line_error

FAST = pytest.mark.as2gw_emulator(send_delay=0.05, retry_interval=0.05, max_attempts=2)


def _files(tmp_path: Path, *names: str) -> list[str]:
    paths = []
    for name in names:
        path = tmp_path / name
        path.write_text(f"contents of {name}\n")
        paths.append(str(path))
    return paths


@FAST
def test_send_one_file_prints_the_receipt(run: Run, as2gw_gateway: Gateway, tmp_path: Path) -> None:
    [path] = _files(tmp_path, "invoice.xml")
    result = run("send", "RJ_Station", "RJ_Partner", path, "--subject", "Invoice 1")
    assert result.exit_code == 0, result.stderr
    [receipt] = json_lines(result.stdout)
    assert receipt["as2MessageId"].startswith("<")
    assert receipt["as2MessageId"] in receipt["link"]
    assert as2gw_gateway.stats.sends == 1
    assert result.stderr == ""  # not a terminal: no notes, no progress


@FAST
def test_send_several_files_and_wait_for_delivery(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    paths = _files(tmp_path, "a.edi", "b.csv", "c.txt")
    result = run("send", "RJ_Station", "RJ_Partner", *paths, "--wait", "--poll-interval", "0.05")
    assert result.exit_code == 0, result.stderr
    receipt, delivered = json_lines(result.stdout)
    assert delivered["as2MessageId"] == receipt["as2MessageId"]
    assert delivered["deliveryStatus"] == "Delivered"
    assert [a["name"] for a in delivered["attachments"]] == ["a.edi", "b.csv", "c.txt"]
    sent = as2gw_gateway.message("sent", receipt["as2MessageId"])
    assert as2gw_gateway.attachment_bytes("sent", sent.as2_message_id, 1) == b"contents of b.csv\n"


@FAST
def test_send_to_a_test_partner(run: Run, as2gw_gateway: Gateway, tmp_path: Path) -> None:
    [path] = _files(tmp_path, "x.txt")
    result = run("send", "RJ_Station", "RJ_Partner", path, "--test", "-s", "hello there")
    assert result.exit_code == 0, result.stderr
    [receipt] = json_lines(result.stdout)
    as2gw_gateway.advance()
    message = as2gw_gateway.find("queued", receipt["as2MessageId"]) or as2gw_gateway.find(
        "sent", receipt["as2MessageId"]
    )
    assert message is not None
    assert message.partner_type == "test"
    assert message.subject == "hello there"


@FAST
def test_delivery_failure_exits_7_after_printing_the_receipt(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    as2gw_gateway.add_partner("Flaky_Partner", fail=True)
    [path] = _files(tmp_path, "x.txt")
    result = run("send", "RJ_Station", "Flaky_Partner", path, "--wait", "--poll-interval", "0.05")
    assert result.exit_code == 7
    [receipt] = json_lines(result.stdout)  # the id is there for the script to follow up
    assert receipt["as2MessageId"]
    assert "delivery failed" in one_line_error(result)


@pytest.mark.as2gw_emulator(send_delay=60)
def test_delivery_not_confirmed_in_time_exits_7(run: Run, tmp_path: Path) -> None:
    [path] = _files(tmp_path, "x.txt")
    result = run(
        "send",
        "RJ_Station",
        "RJ_Partner",
        path,
        "--wait",
        "--timeout",
        "0.3",
        "--poll-interval",
        "0.05",
    )
    assert result.exit_code == 7
    assert "delivery not confirmed" in one_line_error(result)


def test_too_many_files_exits_6_before_sending(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    paths = _files(tmp_path, *(f"f{i}.txt" for i in range(11)))
    result = run("send", "RJ_Station", "RJ_Partner", *paths)
    assert result.exit_code == 6
    assert "limit exceeded" in one_line_error(result)
    assert as2gw_gateway.stats.sends == 0


def test_unknown_partner_exits_4(run: Run, tmp_path: Path) -> None:
    [path] = _files(tmp_path, "x.txt")
    result = run("send", "RJ_Station", "Nobody", path)
    assert result.exit_code == 4
    one_line_error(result)


def test_missing_file_is_bad_usage(run: Run, tmp_path: Path) -> None:
    result = run("send", "RJ_Station", "RJ_Partner", str(tmp_path / "nope.txt"))
    assert result.exit_code == 2
