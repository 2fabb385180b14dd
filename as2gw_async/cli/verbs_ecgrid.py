"""The ``as2gw`` commands for ECGrid: parcels listed, shown, downloaded, uploaded, confirmed.

``ls received`` lists the inbound parcels (``--unread``: the pending ones, ``InBoxReady``),
``ls sent`` the outbound ones; ``show``, ``download``, ``upload`` and the ECGrid verbs
``confirm``, ``reset`` (to the inbox) and ``cancel``. A parcel id is a number.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from ._common import Cli
from ._errors import CliError, ExitCode
from .output import format_size
from .verbs import refuse

__all__ = ["cancel", "confirm", "download", "ls", "reset", "show", "upload"]


def _parcel_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CliError(f"an ECGrid parcel id is a number, not {text!r}", ExitCode.USAGE) from None


def _json(parcel: Any) -> dict[str, Any]:
    from ..ecgrid.mailbox import parcel_to_json

    return parcel_to_json(parcel)


def _table(parcels: Sequence[Any], title: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column, options in (
        ("Created", {"no_wrap": True}),
        ("Parcel", {"style": "cyan", "no_wrap": True}),
        ("File", {"overflow": "fold"}),
        ("Size", {"justify": "right", "no_wrap": True}),
        ("Status", {"overflow": "fold"}),
        ("From", {"justify": "right"}),
        ("To", {"justify": "right"}),
    ):
        table.add_column(column, **options)
    for p in parcels:
        created = p.created.strftime("%Y-%m-%d %H:%M:%S") if p.created else "-"
        table.add_row(
            created,
            str(p.parcel_id),
            escape(p.file_name or "-"),
            format_size(p.size),
            escape(str(p.status or "-")),
            str(p.ecgrid_id_from or "-"),
            str(p.ecgrid_id_to or "-"),
        )
    return table


async def ls(
    cli: Cli, *, folder: str, unread: bool, all_pages: bool, limit: int, **rest: Any
) -> None:
    """``ls received|sent [--unread] [--all] [--limit N]``."""
    refuse(cli.gateway, "ls", **{k: v for k, v in rest.items() if k != "page"})
    if folder not in ("received", "sent"):
        raise CliError("ECGrid has the folders received (inbox) and sent (outbox)", ExitCode.USAGE)
    if unread and folder != "received":
        raise CliError("--unread applies to the received folder only", ExitCode.USAGE)
    out = cli.output
    async with cli.session() as s:
        parcels: AsyncIterator[Any] = (
            s.parcels.pending()
            if unread
            else (s.parcels.inbox() if folder == "received" else s.parcels.outbox())
        )
        shown: list[Any] = []
        count = 0
        with out.status(f"Listing {folder}..."):
            async for p in parcels:
                count += 1
                if out.json_mode:
                    out.json(_json(p))
                else:
                    shown.append(p)
                if not all_pages and count >= limit:
                    break
    if not out.json_mode:
        out.print(_table(shown, f"{folder}: {len(shown)} parcel(s)"))


async def show(cli: Cli, *, folder: str, message_id: str, mark_read: bool) -> None:
    """``show received|sent PARCEL``: the parcel's record."""
    refuse(cli.gateway, "show", mark_read=mark_read)
    async with cli.session() as s:
        parcel = await s.parcels.get(_parcel_id(message_id))
    if cli.output.json_mode:
        cli.output.json(_json(parcel))
    else:
        cli.output.print(_table([parcel], f"parcel {parcel.parcel_id}"))


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
    """``download received PARCEL [-o DIR]``: the file, decoded while streaming (not confirmed)."""
    refuse(cli.gateway, "download", mark_read=mark_read, **rest)
    pid = _parcel_id(message_id)
    async with cli.session() as s:
        with cli.output.bytes_progress(f"Downloading parcel {pid}") as bar:
            f = await s.parcels.download(pid, dest, overwrite=overwrite, progress=bar.callback)
            bar.finish()
    return [f]


async def upload(
    cli: Cli, *, files: Sequence[Path], to: int | None, sender: int | None, mailbox: int | None
) -> None:
    """``upload FILE... [--to ID] [--from ID] [--mailbox ID]``: one parcel a file."""
    out = cli.output
    async with cli.session() as s:
        for path in files:
            with out.status(f"Uploading {escape(str(path))}..."):
                pid = await s.parcels.upload(
                    path, ecgrid_id_to=to, ecgrid_id_from=sender, mailbox_id=mailbox
                )
            if out.json_mode:
                out.json({"parcelId": pid, "file": str(path)})
            else:
                out.print(f"[green]✓[/] Uploaded {escape(str(path))} as parcel [cyan]{pid}[/]")


async def _each(cli: Cli, ids: Sequence[str], action: str, verb: str) -> None:
    out = cli.output
    parcels = [_parcel_id(i) for i in ids]
    async with cli.session() as s:
        call = getattr(s.parcels, action)
        for pid in parcels:
            await call(pid)
            if out.json_mode:
                out.json({"parcelId": pid, "done": action})
            else:
                out.print(f"[green]✓[/] {verb} parcel [cyan]{pid}[/]")


async def confirm(cli: Cli, ids: Sequence[str]) -> None:
    """``confirm PARCEL...``: the files are safe; the parcels leave the pending list."""
    await _each(cli, ids, "confirm", "Confirmed")


async def reset(cli: Cli, ids: Sequence[str]) -> None:
    """``reset PARCEL...``: inbound parcels become ``InBoxReady`` (pending) again."""
    await _each(cli, ids, "reset_to_inbox", "Reset to the inbox")


async def cancel(cli: Cli, ids: Sequence[str]) -> None:
    """``cancel PARCEL...``: outbound parcels not yet delivered are cancelled."""
    await _each(cli, ids, "cancel", "Cancelled")
