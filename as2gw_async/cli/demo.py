"""``as2gw demo`` and ``as2gw emulator``: the library's main job against the built-in emulator.

The demo needs no account and no network: it serves an emulated gateway on a free
loopback port in its own event loop and talks to it through the public API, exactly as a
user's code would talk to the real gateway.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from attrs import define, field
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ..errors import DeliveryFailedError
from ..inbox import InboxConsumer
from ..models import AS2Message, Folder, SendReceipt
from ..session import Session
from ._common import Cli
from ._errors import CliError, ExitCode
from .output import format_expiry, format_size, messages_table
from .tour import EMULATOR_EXTRA, Tour, emulator_missing, prepare_directory

__all__ = ["run_demo", "run_emulator"]

_EMULATOR_EXTRA = EMULATOR_EXTRA
STATION = "RJ_Station"
PARTNER = "RJ_Partner"
FLAKY_PARTNER = "Flaky_Partner"
_STEPS = 6

_SAMPLES: dict[str, str] = {
    "invoice_20200101.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>\n<invoice>\n'
        '<items total="1000"><item sku="10344" qty="10" total="1000"/></items>\n</invoice>\n'
    ),
    "order_4711.edi": (
        "ISA*00*          *00*          *ZZ*RJSTATION      *ZZ*RJPARTNER      *200101*1200*U*"
        "00401*000004711*0*P*>~\nGS*PO*RJSTATION*RJPARTNER*20200101*1200*4711*X*004010~\n"
        "ST*850*0001~\nBEG*00*SA*4711**20200101~\nPO1*1*10*EA*100**VP*10344~\n"
        "SE*4*0001~\nGE*1*4711~\nIEA*1*000004711~\n"
    ),
    "manifest.csv": "sku,qty,price\n10344,10,100.00\n10345,5,42.50\n",
    "notes.txt": "Delivery to dock 3, please.\n",
}


def run_emulator(argv: Sequence[str]) -> int:
    """``as2gw emulator [options]``: the emulator's own CLI, under the ``as2gw`` name."""
    try:
        from ..emulator.cli import build_parser, run
    except ImportError as exc:
        sys.stderr.write(
            f"as2gw: error: the emulator needs its extra ({exc.name} is missing): "
            f"{_EMULATOR_EXTRA}\n"
        )
        return int(ExitCode.ERROR)
    try:
        args = build_parser(prog="as2gw emulator").parse_args(list(argv))
    except SystemExit as exc:  # --help, or bad usage (argparse prints why)
        return exc.code if isinstance(exc.code, int) else int(ExitCode.USAGE)
    try:
        asyncio.run(run(args))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        sys.stderr.write(f"as2gw: error: {exc}\n")
        return int(ExitCode.ERROR)
    return int(ExitCode.OK)


@define
class _Report:
    """What the demo did, for the summary."""

    base_url: str = ""
    delivered: list[AS2Message] = field(factory=list)
    failed: list[tuple[str, str]] = field(factory=list)
    sent_files: int = 0
    inbox_total: int = 0
    synced: int = 0
    synced_files: int = 0
    synced_bytes: int = 0
    second_sync: int = 0
    batch_messages: int = 0
    batch_files: int = 0
    batch_bytes: int = 0
    batch_requests: int = 0
    partial_answers: int = 0
    requests: int = 0
    seconds: float = 0.0
    directory: Path = Path()

    def as_json(self) -> dict[str, Any]:
        return {
            "baseUrl": self.base_url,
            "sent": [m.as2_message_id for m in self.delivered],
            "sendFailed": [mid for mid, _ in self.failed],
            "inboxTotal": self.inbox_total,
            "synced": self.synced,
            "syncedFiles": self.synced_files,
            "secondSync": self.second_sync,
            "batchMessages": self.batch_messages,
            "batchFiles": self.batch_files,
            "batchRequests": self.batch_requests,
            "partialAnswers": self.partial_answers,
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "directory": str(self.directory),
        }


class _Demo(Tour):
    steps = _STEPS

    def __init__(self, cli: Cli, root: Path, messages: int) -> None:
        super().__init__(cli, root)
        self.messages = messages
        self.report = _Report(directory=root)

    async def run(self) -> _Report:
        try:
            from ..emulator import Gateway, serve
        except ImportError as exc:
            raise emulator_missing(exc) from None
        started = anyio.current_time()
        gateway = Gateway(seed=2024, send_delay=0.5, retry_interval=0.3, max_attempts=3)
        gateway.add_partner(FLAKY_PARTNER, fail=True)
        # Lowered from the real 10 MB so the batch download visibly gets 206 and resumes.
        gateway.batch_limit = 64 * 1024
        gateway.seed(self.messages, attachments=(1, 3), size=(1024, 8192))

        self.step("Start an emulated AS2 Gateway")
        async with serve(gateway, host="127.0.0.1", port=0) as server:
            self.report.base_url = server.base_url
            self.say(
                f"Listening on [bold]{escape(server.base_url)}[/] with {self.messages} "
                f"received messages, station {STATION}, partners {PARTNER} and "
                f"{FLAKY_PARTNER} (which always fails)."
            )
            async with Session(
                server.username, server.password, base_url=server.base_url, rate_limit=None
            ) as s:
                expires = await s.login()
                self.say(
                    f"[green]✓[/] Logged in as {escape(s.username)}; the token expires "
                    f"{format_expiry(expires)}."
                )
                await self._send(s)
                await self._list(s)
                await self._sync(s)
                before = gateway.stats.statuses.get(206, 0)
                await self._batch(s)
                self.report.partial_answers = gateway.stats.statuses.get(206, 0) - before
                self.report.requests = s.stats.requests
        self.report.seconds = anyio.current_time() - started
        self._summary()
        return self.report

    async def _send(self, s: Session) -> None:
        self.step("Send files and wait for delivery")
        outbox = self.root / "outbox"
        outbox.mkdir()
        for name, text in _SAMPLES.items():
            (outbox / name).write_text(text)
        single = outbox / "invoice_20200101.xml"
        multi = [outbox / "order_4711.edi", outbox / "manifest.csv", outbox / "notes.txt"]
        sends: list[tuple[str, str, list[Path]]] = [
            (PARTNER, "Invoice 20200101", [single]),
            (PARTNER, "Order 4711", multi),
            (FLAKY_PARTNER, "Invoice for a partner that is down", [single]),
        ]
        receipts: list[tuple[str, SendReceipt, int]] = []
        for partner, subject, files in sends:
            receipt = await s.send(STATION, partner, *files, subject=subject)
            receipts.append((partner, receipt, len(files)))
            kind = "1 file, raw endpoint" if len(files) == 1 else f"{len(files)} files, multipart"
            self.say(
                f"[green]✓[/] Queued [cyan]{escape(receipt.as2_message_id)}[/] for "
                f"{partner} ({kind})"
            )
        with self.out.count_progress("Waiting for delivery", len(receipts)) as bar:

            async def wait(partner: str, receipt: SendReceipt, nfiles: int) -> None:
                mid = receipt.as2_message_id
                try:
                    message = await s.wait_for_delivery(mid, timeout=20, poll_interval=0.25)
                except DeliveryFailedError as exc:
                    self.report.failed.append((mid, exc.message))
                    self.say(f"[yellow]✗[/] {partner}: {escape(exc.message)} (as expected)")
                else:
                    self.report.delivered.append(message)
                    self.report.sent_files += nfiles
                    self.say(
                        f"[green]✓[/] Delivered [cyan]{escape(mid)}[/] to {partner} "
                        f"(MDN {escape(str(message.mdn_status))})"
                    )
                bar.advance()

            async with anyio.create_task_group() as tg:
                for partner, receipt, nfiles in receipts:
                    tg.start_soon(wait, partner, receipt, nfiles)

    async def _list(self, s: Session) -> None:
        self.step("List the inbox")
        page = await s.received.list(unread_only=True, page_length=8)
        self.report.inbox_total = page.total_records
        table = messages_table(page.records, Folder.RECEIVED, None, width=self.out.out.width)
        table.caption = f"The newest {len(page.records)} of {page.total_records} unread messages"
        self.say(table)

    async def _sync(self, s: Session) -> None:
        self.step("Sync the inbox to a local folder, exactly once")
        inbox = self.root / "inbox"
        with self.out.count_progress("Syncing", self.report.inbox_total) as bar:
            async with InboxConsumer(s, inbox) as consumer:
                async for delivered in consumer:
                    size = sum(f.size for f in delivered.files)
                    self.report.synced_files += len(delivered.files)
                    self.report.synced_bytes += size
                    bar.advance(size)
            bar.finish()
        self.report.synced = consumer.stats.delivered
        self.say(
            f"[green]✓[/] {consumer.stats.delivered} messages, {self.report.synced_files} "
            f"files ({format_size(self.report.synced_bytes)}) in {escape(self.rel(inbox))}/, "
            f"each marked read only once on disk ({consumer.stats.requests} requests)"
        )
        async with InboxConsumer(s, inbox) as again:
            async for _ in again:
                self.report.second_sync += 1
        self.say(
            f"[green]✓[/] A second sync finds {self.report.second_sync} new messages: "
            "nothing is delivered twice"
        )

    async def _batch(self, s: Session) -> None:
        self.step("Batch-download across messages (with a forced 206)")
        ids = [m.as2_message_id async for m in s.received.iter()]
        dest = self.root / "batch"
        with self.out.bytes_progress(f"Batch download of {len(ids)} messages") as bar:
            result = await s.received.batch_download(ids, dest, progress=bar.callback)
            bar.finish()
        self.report.batch_messages = len(result.files)
        self.report.batch_files = sum(len(fs) for fs in result.files.values())
        self.report.batch_bytes = sum(f.size for fs in result.files.values() for f in fs)
        self.report.batch_requests = result.requests
        self.say(
            f"[green]✓[/] {len(result.files)} messages, {self.report.batch_files} files "
            f"({format_size(self.report.batch_bytes)}) in {escape(self.rel(dest))}/ using "
            f"{result.requests} requests: the gateway stops at 64 kB here (10 MB for real) "
            "and answers 206; the client resumed each time without writing a file twice"
        )
        if result.errors:
            raise CliError(f"batch download: {len(result.errors)} message(s) failed")

    def _summary(self) -> None:
        r = self.report
        if self.silent:
            self.out.json(r.as_json())
            return
        self.step("Summary")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        failed = f"; {len(r.failed)} to {FLAKY_PARTNER} failed, as it should" if r.failed else ""
        grid.add_row(
            "Sent",
            f"{len(r.delivered)} messages ({r.sent_files} files) delivered{failed}",
        )
        grid.add_row(
            "Synced",
            f"{r.synced} of {r.inbox_total} inbox messages, {r.synced_files} files, "
            f"{format_size(r.synced_bytes)} -> {escape(self.rel(r.directory / 'inbox'))}/ "
            f"(second run: {r.second_sync} new)",
        )
        grid.add_row(
            "Batch",
            f"{r.batch_messages} messages, {r.batch_files} files in {r.batch_requests} "
            f"requests ({r.partial_answers} partial 206 answers resumed) -> "
            f"{escape(self.rel(r.directory / 'batch'))}/",
        )
        grid.add_row("HTTP", f"{r.requests} requests to {escape(r.base_url)}")
        grid.add_row("Time", f"{r.seconds:.1f} s")
        grid.add_row("Files", f"[bold]{escape(str(r.directory))}[/]")
        self.say(Panel(grid, title="as2gw demo", title_align="left", border_style="green"))
        self.say(
            "Next: [bold]as2gw emulator[/] runs the emulator on its own; point "
            "AS2GW_BASE_URL at it and try [bold]as2gw ls received[/]."
        )


async def run_demo(cli: Cli, directory: Path, messages: int) -> None:
    """The ``demo`` command's body."""
    root = prepare_directory(directory, ("outbox", "inbox", "batch"))
    await _Demo(cli, root, messages).run()
