"""The ``as2gw`` commands for the MFT Gateway: the v1 commands, on the MFT folders.

``received`` is the inbox, ``sent`` the outbox, ``failed`` and ``queued`` the outbox's
failed and queued lists. Listings page ids, then fetch the messages (never marking them
read); downloads go through the presigned links. MFT's own verbs: ``mark-unread`` and
``delete``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from ._common import Cli
from ._errors import CliError, ExitCode
from .verbs import refuse

__all__ = ["delete", "download", "ls", "mark_unread", "send", "show"]

#: The MFT folder behind each of the command line's folder names.
_FOLDERS = {"received": "inbox", "sent": "outbox", "failed": "failed", "queued": "queued"}


def _folder(s: Any, name: str) -> Any:
    return getattr(s, _FOLDERS[name])


def _table(messages: Sequence[Any], title: str, *, incoming: bool) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column, options in (
        ("Time", {"no_wrap": True}),
        ("Message id", {"style": "cyan", "overflow": "fold"}),
        ("From" if incoming else "To", {"overflow": "fold"}),
        ("Subject", {"overflow": "fold"}),
        ("Files", {"justify": "right"}),
        ("Status", {"overflow": "fold"}),
    ):
        table.add_column(column, **options)
    for m in messages:
        party = m.sender_identifier if incoming else m.receiver_identifier
        table.add_row(
            _time(m.timestamp),
            escape(m.message_id),
            escape(party or "-"),
            escape(m.subject or ""),
            str(len(m.attachment_paths)),
            escape(str(m.msg_status or "-")),
        )
    return table


async def ls(
    cli: Cli,
    *,
    folder: str,
    unread: bool,
    all_pages: bool,
    limit: int,
    page: int,
    partner: str | None,
    station: str | None,
    id: str | None,
    subject: str | None,
    asc: bool,
    **rest: Any,
) -> None:
    """``ls FOLDER [--unread] [--partner P] [--station S] [--id ID] [--subject T] [--asc]``."""
    refuse(cli.gateway, "ls", **rest)
    if unread and folder != "received":
        raise CliError("--unread applies to the received folder only", ExitCode.USAGE)
    filters: dict[str, Any] = {
        "partner": partner,
        "station": station,
        "identifier": id,
        "subject": subject,
        "sort_dir": "asc" if asc else "desc",
    }
    if folder == "received":
        filters["fetch_all"] = not unread
    out = cli.output
    async with cli.session() as s:
        box = _folder(s, folder)
        if all_pages:
            messages = box.iter(**filters)
        else:
            with out.status(f"Listing {folder}..."):
                ids = await box.list_ids(page_offset=page, page_length=limit, **filters)
            messages = box.iter_messages(ids)
        shown: list[Any] = []
        async for m in messages:
            if out.json_mode:
                out.json(dict(m.raw))
            else:
                shown.append(m)
    if not out.json_mode:
        caption = f"{folder} ({_FOLDERS[folder]}): {len(shown)} message(s)"
        if not all_pages:
            caption += f", page {page}"
        out.print(_table(shown, caption, incoming=folder == "received"))


async def show(cli: Cli, *, folder: str, message_id: str, mark_read: bool) -> None:
    """``show FOLDER ID [--mark-read]``: one message (``--mark-read``: received only)."""
    if mark_read and folder != "received":
        raise CliError("--mark-read applies to the received folder only", ExitCode.USAGE)
    async with cli.session() as s:
        box = _folder(s, folder)
        m = await (box.get(message_id, mark_as_read=True) if mark_read else box.get(message_id))
    if cli.output.json_mode:
        cli.output.json(dict(m.raw))
    else:
        cli.output.print(_table([m], m.message_id, incoming=folder == "received"))


async def download(
    cli: Cli,
    *,
    folder: str,
    message_id: str,
    dest: Path,
    overwrite: bool,
    mark_read: bool,
    **rest: Any,
) -> list[Any]:
    """``download received|sent ID [-o DIR] [--mark-read]``: every attachment, through its link."""
    refuse(cli.gateway, "download", **rest)
    if mark_read and folder != "received":
        raise CliError("--mark-read applies to the received folder only", ExitCode.USAGE)
    async with cli.session() as s:
        box = _folder(s, folder)
        with cli.output.bytes_progress(f"Downloading {message_id}") as bar:
            files = await box.download_attachments(
                message_id, dest, overwrite=overwrite, progress=bar.callback
            )
            bar.finish()
        if mark_read:
            await s.inbox.get(message_id, mark_as_read=True)
    return list(files)


async def send(
    cli: Cli,
    *,
    station: str,
    partner: str,
    files: Sequence[Path],
    subject: str | None,
    wait: bool,
    timeout: float,
    poll_interval: float,
    test: bool,
) -> None:
    """``send STATION PARTNER FILE... [--subject S] [--wait]``."""
    refuse(cli.gateway, "send", test=test)
    out = cli.output
    async with cli.session() as s:
        with out.status(f"Sending {len(files)} file(s)..."):
            receipt = await s.send(station, partner, *files, subject=subject)
        if out.json_mode:
            out.json(
                {"messageId": receipt.message_id, "link": receipt.link, "message": receipt.message}
            )
        else:
            out.print(f"[green]✓[/] Queued [cyan]{escape(receipt.message_id)}[/]")
        if not wait:
            return
        with out.status(f"Waiting for delivery of {escape(receipt.message_id)}..."):
            m = await s.wait_for_delivery(
                receipt.message_id, timeout=timeout, poll_interval=poll_interval
            )
        if out.json_mode:
            out.json(dict(m.raw))
        else:
            out.print(
                f"[green]✓[/] Delivered [cyan]{escape(m.message_id)}[/] "
                f"({escape(str(m.msg_status or '-'))}, MDN {escape(str(m.mdn_status or '-'))})"
            )


async def mark_unread(cli: Cli, ids: Sequence[str]) -> None:
    """``mark-unread ID...``: received messages show up in unread listings and sync again."""
    out = cli.output
    async with cli.session() as s:
        for mid in ids:
            await s.inbox.mark_unread(mid)
            if out.json_mode:
                out.json({"messageId": mid, "markedUnread": True})
            else:
                out.print(f"[green]✓[/] Marked unread [cyan]{escape(mid)}[/]")


async def delete(cli: Cli, ids: Sequence[str], *, folder: str) -> None:
    """``delete ID... [--sent]``: delete messages (100 a request)."""
    out = cli.output
    async with cli.session() as s:
        deleted = await _folder(s, folder).delete_many(ids)
    gone = set(deleted)
    for mid in ids:
        if out.json_mode:
            out.json({"messageId": mid, "deleted": mid in gone})
        elif mid in gone:
            out.print(f"[green]✓[/] Deleted [cyan]{escape(mid)}[/]")
        else:
            out.print(f"[yellow]✗[/] [cyan]{escape(mid)}[/]: not found")
    missing = [mid for mid in ids if mid not in gone]
    if missing:
        raise CliError(f"{len(missing)} message(s) not found", ExitCode.NOT_FOUND)


def _time(ms: int | None) -> str:
    """Milliseconds since the epoch, in local time to the second (``-`` if absent)."""
    if ms is None:
        return "-"
    at = datetime.fromtimestamp(ms / 1000, tz=timezone.utc).astimezone()
    return at.strftime("%Y-%m-%d %H:%M:%S")
