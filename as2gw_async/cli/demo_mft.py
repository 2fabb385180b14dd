"""``as2gw demo --gateway mft``: the MFT Gateway tour against its built-in emulator.

Like the AS2 Gateway v1 demo: no account, no network. The emulated gateway and its object
store (the presigned links' host) run on two free loopback ports in this event loop; the
tour talks to them through `as2gw_async.mft` only, as a user's code would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from attrs import define, field
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ..errors import DeliveryFailedError
from ..inbox import InboxConsumer
from ._common import Cli
from .output import format_size
from .tour import Tour, emulator_missing, prepare_directory

__all__ = ["run_demo"]

STATION = "MyStation"
PARTNER = "MyPartner"
FLAKY_PARTNER = "Flaky_Partner"
_INVOICE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<invoice number="20200101">\n'
    '<items total="1000"><item sku="10344" qty="10" total="1000"/></items>\n</invoice>\n'
)


@define
class _Report:
    """What the MFT tour did, for the summary."""

    base_url: str = ""
    store_url: str = ""
    sent: list[str] = field(factory=list)
    failed: list[str] = field(factory=list)
    inbox_total: int = 0
    synced: int = 0
    synced_files: int = 0
    synced_bytes: int = 0
    second_sync: int = 0
    link_files: int = 0
    store_auth_headers: int = 0
    requests: int = 0
    seconds: float = 0.0
    directory: Path = Path()

    def as_json(self) -> dict[str, Any]:
        return {
            "gateway": "mft",
            "baseUrl": self.base_url,
            "storeUrl": self.store_url,
            "sent": self.sent,
            "sendFailed": self.failed,
            "inboxTotal": self.inbox_total,
            "synced": self.synced,
            "syncedFiles": self.synced_files,
            "secondSync": self.second_sync,
            "linkFiles": self.link_files,
            "storeAuthorizationHeaders": self.store_auth_headers,
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "directory": str(self.directory),
        }


class _MftTour(Tour):
    def __init__(self, cli: Cli, root: Path, messages: int) -> None:
        super().__init__(cli, root)
        self.messages = messages
        self.report = _Report(directory=root)

    async def run(self) -> _Report:
        try:
            from ..emulator.mft import MftGateway, serve
        except ImportError as exc:
            raise emulator_missing(exc) from None
        session_class = self.cli.gateway.session_class()
        started = anyio.current_time()
        gateway = MftGateway(seed=2024, send_delay=0.3)
        gateway.add_partner(FLAKY_PARTNER, outcome="fail")
        gateway.seed_inbox(self.messages, attachments=2, sizes=(512, 4096), seed=2024)

        self.step("Start an emulated MFT Gateway and its object store")
        async with serve(gateway, host="127.0.0.1") as server:
            self.report.base_url, self.report.store_url = server.base_url, server.store_url
            self.say(
                f"API on [bold]{escape(server.base_url)}[/], presigned links served by "
                f"[bold]{escape(server.store_url)}[/] (another port, like S3); "
                f"{self.messages} inbox messages, station {STATION}, partners {PARTNER} "
                f"and {FLAKY_PARTNER} (which always fails)."
            )
            async with session_class(
                gateway.username, gateway.password, base_url=server.base_url, rate_limit=None
            ) as s:
                await self._send(s)
                await self._list(s)
                await self._sync(s)
                await self._links(s)
                self.report.requests = s.stats.requests
            self.report.store_auth_headers = gateway.store.stats.authorization_headers
        self.report.seconds = anyio.current_time() - started
        self._summary()
        return self.report

    async def _send(self, s: Any) -> None:
        self.step("Send a file and wait for delivery")
        outbox = self.root / "outbox"
        outbox.mkdir()
        invoice = outbox / "invoice_20200101.xml"
        invoice.write_text(_INVOICE)
        for partner in (PARTNER, FLAKY_PARTNER):
            receipt = await s.send(STATION, partner, invoice, subject="Invoice 20200101")
            self.say(f"[green]✓[/] Queued [cyan]{escape(receipt.message_id)}[/] for {partner}")
            try:
                message = await s.wait_for_delivery(
                    receipt.message_id, timeout=20, poll_interval=0.2
                )
            except DeliveryFailedError as exc:
                self.report.failed.append(receipt.message_id)
                self.say(f"[yellow]✗[/] {partner}: {escape(exc.message)} (as expected)")
            else:
                self.report.sent.append(message.message_id)
                self.say(
                    f"[green]✓[/] Delivered to {partner} "
                    f"(MDN {escape(str(message.mdn_status or '-'))})"
                )

    async def _list(self, s: Any) -> None:
        self.step("List the inbox (ids, then the messages, never marking them read)")
        ids = [mid async for mid in s.inbox.iter_ids(fetch_all=False)]
        self.report.inbox_total = len(ids)
        table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0))
        for column in ("Message id", "From", "Subject", "Files"):
            table.add_column(column, overflow="fold")
        shown = 0
        async for m in s.inbox.iter(fetch_all=False):
            table.add_row(
                f"[cyan]{escape(m.message_id)}[/]",
                escape(m.sender_identifier or "-"),
                escape(m.subject or ""),
                str(len(m.attachment_paths)),
            )
            shown += 1
            if shown == 5:
                break
        table.caption = f"5 of {len(ids)} unread messages"
        self.say(table)

    async def _sync(self, s: Any) -> None:
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
            "each marked read only once on disk"
        )
        async with InboxConsumer(s, inbox) as again:
            async for _ in again:
                self.report.second_sync += 1
        self.say(
            f"[green]✓[/] A second sync finds {self.report.second_sync} new messages: "
            "nothing is delivered twice"
        )

    async def _links(self, s: Any) -> None:
        self.step("Download a message's files through presigned links")
        mid = ""
        async for newest in s.inbox.iter_ids(fetch_all=True):
            mid = newest
            break
        links = await s.inbox.attachment_links(mid)
        dest = self.root / "links"
        files = await s.inbox.download_attachments(mid, dest, overwrite=True)
        self.report.link_files = len(files)
        host = links[0].url.split("/")[2] if links else "-"
        self.say(
            f"[green]✓[/] {len(files)} file(s) of [cyan]{escape(mid)}[/] from "
            f"[bold]{escape(host)}[/] to {escape(self.rel(dest))}/: streamed to disk, "
            "checked against Content-Length, no credentials sent to the store"
        )

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
        grid.add_row("Sent", f"{len(r.sent)} message(s) delivered{failed}")
        grid.add_row(
            "Synced",
            f"{r.synced} of {r.inbox_total} inbox messages, {r.synced_files} files, "
            f"{format_size(r.synced_bytes)} -> {escape(self.rel(r.directory / 'inbox'))}/ "
            f"(second run: {r.second_sync} new)",
        )
        grid.add_row(
            "Links",
            f"{r.link_files} file(s) through presigned links; Authorization headers seen "
            f"by the store: {r.store_auth_headers}",
        )
        grid.add_row("HTTP", f"{r.requests} requests to {escape(r.base_url)}")
        grid.add_row("Time", f"{r.seconds:.1f} s")
        grid.add_row("Files", f"[bold]{escape(str(r.directory))}[/]")
        self.say(Panel(grid, title="as2gw demo --gateway mft", title_align="left"))
        self.say(
            "Next: [bold]as2gw emulator --gateway mft[/] runs the emulator on its own; set "
            "MFTGW_BASE_URL, MFTGW_USERNAME and MFTGW_PASSWORD and try "
            "[bold]as2gw --gateway mft sync inbox/[/]."
        )


async def run_demo(cli: Cli, directory: Path, messages: int) -> None:
    """The ``demo --gateway mft`` command's body."""
    root = prepare_directory(directory, ("outbox", "inbox", "links"))
    await _MftTour(cli, root, messages).run()
