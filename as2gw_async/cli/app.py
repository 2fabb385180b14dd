"""The ``as2gw`` commands: thin shells over the public API of `as2gw_async`.

No HTTP here: every call goes through a `Session` and its folders; this module only
parses options, drives progress bars and prints results (see `output`). Errors become
exit codes in `_errors.handle_errors`.
"""

from __future__ import annotations

import enum
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import anyio
import typer
from rich.markup import escape

from ..__version__ import __version__
from ..files import DEFAULT_MAX_TOTAL_SIZE, safe_message_dirname
from ..inbox import Delivered, InboxConsumer
from ..models import AS2Message, DownloadedFile, Folder, PartnerType
from ..session import Session
from ._common import Cli, command
from ._errors import EXIT_CODES_HELP, CliError, ExitCode, IncompleteError
from ._typer import Command, Group
from .output import files_table, format_expiry, format_size, message_panel, messages_table

__all__ = ["app"]

_EPILOG = (
    "[bold]Credentials[/]: --username/--password/--base-url or AS2GW_USERNAME, "
    "AS2GW_PASSWORD, AS2GW_BASE_URL; --password-stdin reads the password from stdin.\n\n"
    "[bold]Exit codes[/]:\n\n"
    + "\n\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES_HELP)
    + "\n\nTry it without an account: [bold]as2gw demo[/]."
)

app = typer.Typer(
    name="as2gw",
    cls=Group,
    epilog=_EPILOG,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"as2gw {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Command line client for the AS2 Gateway REST API v1.

    Send files and wait for delivery, list and inspect messages, download attachments,
    drain the inbox exactly once, run a local emulator. Run [bold]as2gw demo[/] to see it
    all against the built-in emulator (no account, no network).
    """


class FolderName(str, enum.Enum):
    """The four message folders."""

    received = "received"
    sent = "sent"
    failed = "failed"
    queued = "queued"


class BodyFolder(str, enum.Enum):
    """The folders whose messages have downloadable bodies."""

    received = "received"
    sent = "sent"


class SortColumn(str, enum.Enum):
    time = "time"
    partner = "partner"
    station = "station"
    subject = "subject"


_SORT_COLUMNS = {
    SortColumn.time: "persistedTimestamp",
    SortColumn.partner: "receiverId",
    SortColumn.station: "senderId",
    SortColumn.subject: "subject",
}

_Id = Annotated[
    str, typer.Argument(metavar="ID", help="AS2 message id, e.g. '<1.2@as2gateway.com>'.")
]
_OutputDir = Annotated[
    Path,
    typer.Option("--output-dir", "-o", help="Directory to write into (created if needed)."),
]
_Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace files that already exist.")]
_Test = Annotated[bool, typer.Option("--test", help="Test partners instead of production ones.")]


def _partner_type(test: bool) -> PartnerType:
    return PartnerType.TEST if test else PartnerType.PRODUCTION


def _file_json(message_id: str, f: DownloadedFile) -> dict[str, Any]:
    return {"as2MessageId": message_id, "path": str(f.path), "name": f.name, "size": f.size}


def _output_dir(path: Path) -> Path:
    """Create ``--output-dir`` if needed; a file in its place is bad usage, said before any call.

    Without this check ``mkdir`` reports a file there as "already exists", which the error
    handler reads as a download refusing to overwrite (and ``--overwrite`` cannot help).
    """
    for existing in (path, *path.parents):
        if os.path.lexists(existing):
            if not existing.is_dir():
                where = "" if existing == path else f" ({existing} is a file)"
                raise CliError(f"--output-dir {path} is not a directory{where}", ExitCode.USAGE)
            break
    path.mkdir(parents=True, exist_ok=True)
    return path


def _zip_path(dest: Path, message_id: str) -> Path:
    """``DEST/<message-id>.zip``: the gateway names every archive ``attachments.zip``."""
    return dest / f"{safe_message_dirname(message_id)}.zip"


# -- login ---------------------------------------------------------------------------------


@command(app, "login")
async def login(cli: Cli) -> None:
    """Check the credentials and show when the token expires."""
    async with cli.session() as s:
        with cli.output.status(f"Logging in to {s.base_url}..."):
            expires_at = await s.login()
        if cli.output.json_mode:
            cli.output.json(
                {
                    "username": s.username,
                    "baseUrl": s.base_url,
                    "expiry": int(expires_at * 1000),
                }
            )
        else:
            cli.output.print(
                f"[green]✓[/] Logged in to {escape(s.base_url)} as "
                f"[bold]{escape(s.username)}[/]; the token expires {format_expiry(expires_at)}."
            )


# -- send ----------------------------------------------------------------------------------


@command(app, "send")
async def send(
    cli: Cli,
    station: Annotated[
        str, typer.Argument(metavar="STATION", help="AS2 id of your station (the sender).")
    ],
    partner: Annotated[
        str, typer.Argument(metavar="PARTNER", help="AS2 id of the trading partner.")
    ],
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="One file (raw endpoint) or up to 10 (multipart, 10 MB in all).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    subject: Annotated[
        Optional[str],  # noqa: UP045 - typer reads annotations at runtime
        typer.Option("--subject", "-s", help="Message subject."),
    ] = None,
    test: _Test = False,
    wait: Annotated[
        bool,
        typer.Option("--wait", "-w", help="Wait until the gateway has delivered the message."),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="With --wait: give up after this many seconds.")
    ] = 120.0,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", help="With --wait: first poll interval, seconds.")
    ] = 2.0,
) -> None:
    """Send files from STATION to PARTNER; with --wait, until delivered.

    Prints the receipt (the AS2 message id) at once, and with --wait the sent message.
    Exit code 7 if the gateway gives up sending it or --timeout passes first.
    """
    out = cli.output
    total = sum(p.stat().st_size for p in files)
    async with cli.session() as s:
        with out.status(f"Sending {len(files)} file(s), {format_size(total)}..."):
            receipt = await s.send(
                station, partner, *files, subject=subject, partner_type=_partner_type(test)
            )
        if out.json_mode:
            out.json(receipt)
        else:
            out.print(f"[green]✓[/] Queued [cyan]{escape(receipt.as2_message_id)}[/]")
        if not wait:
            return
        with out.status(f"Waiting for delivery of {escape(receipt.as2_message_id)}..."):
            message = await s.wait_for_delivery(
                receipt.as2_message_id, timeout=timeout, poll_interval=poll_interval
            )
        if out.json_mode:
            out.json(message)
        else:
            out.print(
                f"[green]✓[/] Delivered [cyan]{escape(message.as2_message_id)}[/] "
                f"({escape(str(message.delivery_status or '-'))}, "
                f"MDN {escape(str(message.mdn_status or '-'))})"
            )


# -- ls / show -----------------------------------------------------------------------------


@command(app, "ls")
async def ls(
    cli: Cli,
    folder: Annotated[
        FolderName, typer.Argument(metavar="FOLDER", help="received, sent, failed or queued.")
    ],
    unread: Annotated[
        bool, typer.Option("--unread", help="received: only messages not marked read.")
    ] = False,
    partner: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--partner", help="Only this partner's messages (exact AS2 id)."),
    ] = None,
    station: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--station", help="Only this station's messages (exact AS2 id)."),
    ] = None,
    message_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--id", help="Only this AS2 message id."),
    ] = None,
    subject: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--subject", help="Subject contains this text."),
    ] = None,
    query: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--query", help="queued: a partner, station or message id, or subject."),
    ] = None,
    test: _Test = False,
    sort: Annotated[
        Optional[SortColumn],  # noqa: UP045
        typer.Option("--sort", help="Sort column (default: time)."),
    ] = None,
    ascending: Annotated[
        bool, typer.Option("--asc", help="Oldest (or A to Z) first; default newest first.")
    ] = False,
    page: Annotated[
        int, typer.Option("--page", min=0, help="Page number, from 0 (ignored with --all).")
    ] = 0,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=100, help="Messages a page (1-100).")
    ] = 20,
    all_pages: Annotated[
        bool, typer.Option("--all", "-a", help="Every matching message, page after page.")
    ] = False,
) -> None:
    """List the messages of a folder (a table on a terminal, JSON lines otherwise)."""
    name = Folder(folder.value)
    if unread and name is not Folder.RECEIVED:
        raise CliError("--unread applies to the received folder only", ExitCode.USAGE)
    if query is not None and name is not Folder.QUEUED:
        raise CliError(
            "--query applies to the queued folder only (use --partner, --station, --id or "
            "--subject here)",
            ExitCode.USAGE,
        )
    filters: dict[str, Any] = {
        "partner_as2_id": partner,
        "station_as2_id": station,
        "as2_message_id": message_id,
        "subject": subject,
    }
    given = {k: v for k, v in filters.items() if v is not None}
    if name is Folder.QUEUED and given:
        raise CliError(
            "the queued folder takes --query instead of --partner/--station/--id/--subject",
            ExitCode.USAGE,
        )
    common: dict[str, Any] = {
        "partner_type": _partner_type(test),
        "sort_col": None if sort is None else _SORT_COLUMNS[sort],
        "sort_dir": "asc" if ascending else None,
    }
    if name is Folder.QUEUED:
        common["query"] = query
    else:
        common.update(given)
    if name is Folder.RECEIVED and unread:
        common["unread_only"] = True

    out = cli.output
    async with cli.session() as s:
        resource = getattr(s, name.value)
        if all_pages:
            messages: list[AS2Message] = []
            async for m in resource.iter(**common):
                if out.json_mode:
                    out.json(m)
                else:
                    messages.append(m)
            if not out.json_mode:
                out.print(
                    messages_table(
                        messages,
                        name,
                        f"{name.value}: {len(messages)} message(s)",
                        width=out.out.width,
                    )
                )
            return
        with out.status(f"Listing {name.value}..."):
            result = await resource.list(page_offset=page, page_length=limit, **common)
        records: Sequence[AS2Message] = result.records
        if out.json_mode:
            for m in records:
                out.json(m)
            out.note(f"[dim]{_page_caption(page, limit, len(records), result.total_records)}")
            return
        table = messages_table(records, name, name.value, width=out.out.width)
        table.caption = _page_caption(page, limit, len(records), result.total_records)
        out.print(table)


def _page_caption(page: int, limit: int, shown: int, total: int) -> str:
    if shown == 0:
        return f"No messages on page {page} ({total} in all)."
    first = page * limit + 1
    text = f"Messages {first}-{first + shown - 1} of {total} (page {page})."
    if first + shown - 1 < total:
        text += f" Next: --page {page + 1}; everything: --all."
    return text


@command(app, "show")
async def show(
    cli: Cli,
    folder: Annotated[
        FolderName, typer.Argument(metavar="FOLDER", help="received, sent, failed or queued.")
    ],
    message_id: _Id,
    mark_read: Annotated[
        bool, typer.Option("--mark-read", help="received: mark the message read.")
    ] = False,
) -> None:
    """Show one message: parties, status, attachments, receipt."""
    name = Folder(folder.value)
    if mark_read and name is not Folder.RECEIVED:
        raise CliError("--mark-read applies to the received folder only", ExitCode.USAGE)
    async with cli.session() as s:
        if name is Folder.RECEIVED:
            message = await s.received.get(message_id, mark_as_read=mark_read)
        else:
            message = await getattr(s, name.value).get(message_id)
    if cli.output.json_mode:
        cli.output.json(message)
    else:
        cli.output.print(message_panel(message, name))


# -- downloads -----------------------------------------------------------------------------


@command(app, "download")
async def download(
    cli: Cli,
    folder: Annotated[BodyFolder, typer.Argument(metavar="FOLDER", help="received or sent.")],
    message_id: _Id,
    index: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--index", "-i", min=0, help="Only this attachment (from 0)."),
    ] = None,
    all_files: Annotated[
        bool, typer.Option("--all", help="Every attachment, extracted (the default).")
    ] = False,
    as_zip: Annotated[
        bool,
        typer.Option(
            "--zip",
            help="Every attachment as the gateway's zip, unextracted: DIR/<message-id>.zip.",
        ),
    ] = False,
    output_dir: _OutputDir = Path("."),
    mark_read: Annotated[
        bool,
        typer.Option("--mark-read", help="received: mark the message read once saved."),
    ] = False,
    overwrite: _Overwrite = False,
) -> None:
    """Download a message's attachments (all of them unless --index or --zip)."""
    if sum((index is not None, all_files, as_zip)) > 1:
        raise CliError("choose one of --index, --all and --zip", ExitCode.USAGE)
    name = Folder(folder.value)
    if mark_read and name is not Folder.RECEIVED:
        raise CliError("--mark-read applies to the received folder only", ExitCode.USAGE)
    out = cli.output
    dest = _output_dir(output_dir)
    async with cli.session() as s:
        resource = s.received if name is Folder.RECEIVED else s.sent
        with out.bytes_progress(f"Downloading {message_id}") as bar:
            if index is not None:
                files = [
                    await resource.download_attachment(
                        message_id, dest, index=index, overwrite=overwrite, progress=bar.callback
                    )
                ]
            elif as_zip:
                files = [
                    await resource.download_zip(
                        message_id,
                        _zip_path(dest, message_id),
                        overwrite=overwrite,
                        progress=bar.callback,
                    )
                ]
            else:
                files = await resource.download_attachments(
                    message_id, dest, overwrite=overwrite, progress=bar.callback
                )
            bar.finish()
        if mark_read:
            await s.received.get(message_id, mark_as_read=True)
    _print_files(cli, message_id, files)


@command(app, "mdn")
async def mdn(
    cli: Cli,
    folder: Annotated[BodyFolder, typer.Argument(metavar="FOLDER", help="received or sent.")],
    message_id: _Id,
    output_dir: _OutputDir = Path("."),
    overwrite: _Overwrite = False,
) -> None:
    """Download the MDN (receipt) of a message."""
    dest = _output_dir(output_dir)
    async with cli.session() as s:
        resource = s.received if folder is BodyFolder.received else s.sent
        with cli.output.status(f"Downloading the MDN of {escape(message_id)}..."):
            f = await resource.download_mdn(message_id, dest, overwrite=overwrite)
    _print_files(cli, message_id, [f])


def _print_files(cli: Cli, message_id: str, files: Sequence[DownloadedFile]) -> None:
    out = cli.output
    if out.json_mode:
        for f in files:
            out.json(_file_json(message_id, f))
        return
    out.print(files_table(files))
    out.print(
        f"[green]✓[/] {len(files)} file(s), {format_size(sum(f.size for f in files))}, "
        f"from [cyan]{escape(message_id)}[/]"
    )


def _read_ids(ids: Sequence[str]) -> list[str]:
    """Ids from the arguments, or from stdin (one a line) when none are given or ``-``."""
    listed = [i for i in ids if i != "-"]
    if ids and "-" not in ids:
        return listed
    try:
        interactive = sys.stdin.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if interactive and not ids:
        raise CliError(
            "no message ids: give them as arguments or one a line on stdin", ExitCode.USAGE
        )
    for line in sys.stdin:
        text = line.strip()
        if text and not text.startswith("#"):
            listed.append(text)
    if not listed:
        raise CliError("no message ids on stdin", ExitCode.USAGE)
    return listed


@command(app, "batch-download")
async def batch_download_command(
    cli: Cli,
    ids: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Argument(
            metavar="ID", help="Received message ids; none or '-': read them from stdin."
        ),
    ] = None,
    output_dir: _OutputDir = Path("."),
    mark_read: Annotated[
        bool,
        typer.Option("--mark-read", help="Mark each message read once its files are saved."),
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Batch requests in flight.")
    ] = 4,
    overwrite: _Overwrite = False,
) -> None:
    """Download the attachments of many received messages into DIR/<message-id>/.

    Uses the batch endpoint (up to 100 ids a request) and resumes after partial (206)
    answers. Exit code 7 if the gateway could not serve some of the ids.
    """
    wanted = _read_ids(ids or [])
    out = cli.output
    dest = _output_dir(output_dir)
    async with cli.session() as s:
        with out.bytes_progress(f"Downloading {len(wanted)} message(s)") as bar:
            result = await s.received.batch_download(
                wanted,
                dest,
                mark_as_read=mark_read,
                concurrency=concurrency,
                overwrite=overwrite,
                progress=bar.callback,
            )
            bar.finish()
    nfiles = sum(len(fs) for fs in result.files.values())
    nbytes = sum(f.size for fs in result.files.values() for f in fs)
    if out.json_mode:
        for mid in dict.fromkeys(wanted):
            record: dict[str, Any] = {"as2MessageId": mid}
            if mid in result.errors:
                record["error"] = result.errors[mid]
            else:
                record["files"] = [
                    {"path": str(f.path), "name": f.name, "size": f.size}
                    for f in result.files.get(mid, [])
                ]
            out.json(record)
    else:
        for mid, error in result.errors.items():
            out.print(f"[red]✗[/] [cyan]{escape(mid)}[/]: {escape(error)}")
        out.print(
            f"[green]✓[/] {len(result.files)} message(s), {nfiles} file(s), "
            f"{format_size(nbytes)} in {escape(str(dest))}/ ({result.requests} request(s))"
        )
    if result.errors:
        raise IncompleteError(
            f"{len(result.errors)} of {len(result.files) + len(result.errors)} message(s) "
            "could not be downloaded"
        )


# -- sync ----------------------------------------------------------------------------------


async def _until_signal(scope: anyio.CancelScope, fired: list[int]) -> None:
    """Cancel ``scope`` on SIGINT/SIGTERM (a clean stop: journal flushed, summary printed)."""
    signals = (signal.SIGINT, signal.SIGTERM)
    try:
        with anyio.open_signal_receiver(*signals) as received:
            async for signum in received:
                fired.append(int(signum))
                scope.cancel()
                return
    except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - no signals
        await anyio.sleep_forever()


@command(app, "sync")
async def sync(
    cli: Cli,
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="Where the messages go: DIR/<message-id>/.")
    ],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep polling for new messages until Ctrl-C.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Batch requests in flight.")
    ] = 8,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", help="With --follow: seconds between polls.")
    ] = 30.0,
    partner: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--partner", help="Only this partner's messages."),
    ] = None,
    station: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--station", help="Only messages to this station."),
    ] = None,
    test: _Test = False,
    include_mdn: Annotated[
        bool, typer.Option("--include-mdn", help="Save each message's MDN beside its files.")
    ] = False,
    max_total_size: Annotated[
        int,
        typer.Option(
            "--max-total-size",
            min=1,
            help="Skip (leave unread) a message over this many bytes. Default: 1 GiB.",
        ),
    ] = DEFAULT_MAX_TOTAL_SIZE,
) -> None:
    """Drain the inbox into DIRECTORY: every unread message on disk exactly once.

    Each message is downloaded into DIRECTORY/<message-id>/ and marked read only after
    that; a crash or Ctrl-C loses nothing and the next run picks up where this one stopped
    (state in DIRECTORY/.as2gw/). Exit code 7 if some messages could not be fetched (they
    stay unread for the next run).
    """
    out = cli.output
    fired: list[int] = []
    async with cli.session() as s:
        total: int | None = None
        if out.interactive and not follow:
            page = await s.received.list(
                unread_only=True,
                page_length=1,
                partner_as2_id=partner,
                station_as2_id=station,
                partner_type=_partner_type(test),
            )
            total = page.total_records
        consumer = InboxConsumer(
            s,
            directory,
            concurrency=concurrency,
            follow=follow,
            poll_interval=poll_interval,
            partner_as2_id=partner,
            station_as2_id=station,
            partner_type=_partner_type(test),
            include_mdn=include_mdn,
            max_total_size=max_total_size,
        )
        label = "Following the inbox" if follow else "Syncing the inbox"
        with out.count_progress(label, total) as bar:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_until_signal, tg.cancel_scope, fired)
                async with consumer:
                    async for delivered in consumer:
                        bar.advance(sum(f.size for f in delivered.files))
                        _print_delivered(cli, delivered, follow=follow)
                tg.cancel_scope.cancel()
            bar.finish()
    stats = consumer.stats
    summary = (
        f"{stats.delivered} message(s) delivered ({format_size(stats.bytes)}), "
        f"{stats.redelivered} handed over again from an earlier run, "
        f"{stats.marked_read} marked read, {stats.skipped} skipped; "
        f"{stats.requests} HTTP request(s). Files in {directory}/"
    )
    if out.json_mode:
        out.note(f"[dim]{escape(summary)}")
    else:
        out.print(f"[green]✓[/] {escape(summary)}")
    if consumer.skipped and not follow:
        first = next(iter(consumer.skipped.items()))
        raise IncompleteError(
            f"{len(consumer.skipped)} message(s) could not be fetched and stay unread for "
            f"the next run (first: {first[0]}: {first[1]})"
        )
    if fired and not follow:
        raise KeyboardInterrupt


def _print_delivered(cli: Cli, delivered: Delivered, *, follow: bool) -> None:
    out = cli.output
    if out.json_mode:
        out.json(
            {
                "as2MessageId": delivered.as2_message_id,
                "directory": str(delivered.directory),
                "files": [str(f.path) for f in delivered.files],
                "redelivered": delivered.redelivered,
            }
        )
    elif follow or cli.verbose:
        out.print(
            f"[green]↓[/] [cyan]{escape(delivered.as2_message_id)}[/] -> "
            f"{escape(str(delivered.directory))} ({len(delivered.files)} file(s))"
        )


# -- actions -------------------------------------------------------------------------------


async def _each(
    cli: Cli, ids: Sequence[str], action: Callable[[Session, str], Any], verb: str
) -> None:
    out = cli.output
    async with cli.session() as s:
        for mid in ids:
            response = await action(s, mid)
            if out.json_mode:
                out.json({"as2MessageId": mid, "message": response.message})
            else:
                out.print(f"[green]✓[/] {verb} [cyan]{escape(mid)}[/]")


_Ids = Annotated[list[str], typer.Argument(metavar="ID", help="AS2 message id(s).")]


@command(app, "mark-unread")
async def mark_unread(cli: Cli, ids: _Ids) -> None:
    """Mark received messages unread again (they show up in --unread listings and sync)."""
    await _each(cli, ids, lambda s, mid: s.received.mark_unread(mid), "Marked unread")


@command(app, "stop")
async def stop(cli: Cli, ids: _Ids) -> None:
    """Stop retrying queued messages (they stay queued until `retry`)."""
    await _each(cli, ids, lambda s, mid: s.queued.stop(mid), "Stopped retrying")


@command(app, "retry")
async def retry(cli: Cli, ids: _Ids) -> None:
    """Resume retrying stopped queued messages."""
    await _each(cli, ids, lambda s, mid: s.queued.retry(mid), "Resumed retrying")


# -- emulator and demo ---------------------------------------------------------------------


@app.command(
    "emulator",
    cls=Command,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def emulator(ctx: typer.Context) -> None:
    """Run a local AS2 Gateway emulator until Ctrl-C (as2gw emulator --help for options)."""
    from .demo import run_emulator

    raise typer.Exit(run_emulator(list(ctx.args)))


@command(app, "demo", connect=False)
async def demo(
    cli: Cli,
    directory: Annotated[
        Path, typer.Option("--dir", "-d", help="Where the demo writes its files.")
    ] = Path("as2gw-demo"),
    messages: Annotated[
        int, typer.Option("--messages", "-n", min=1, max=500, help="Inbox messages to seed.")
    ] = 40,
) -> None:
    """Run the library's main job against the built-in emulator (no account, no network).

    Starts an emulated gateway on a free loopback port, sends files and waits for their
    delivery, lists the inbox, syncs it to a folder exactly once, batch-downloads with a
    forced partial (206) answer, and prints a summary.
    """
    from .demo import run_demo

    await run_demo(cli, directory, messages)
