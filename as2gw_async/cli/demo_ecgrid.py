"""``as2gw demo --gateway ecgrid``: the ECGrid tour against its built-in emulator.

No account, no network: an emulated ECGrid network runs on a free loopback port in this
event loop, and the tour talks to it through `as2gw_async.ecgrid` only, as a user's code
would: upload a parcel, list what is pending, drain the inbox exactly once (download, then
confirm), cancel an upload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from attrs import define, field
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ..inbox import InboxConsumer
from ._common import Cli
from .output import format_size
from .tour import Tour, emulator_missing, prepare_directory

__all__ = ["run_demo"]

_ORDER = (
    "ISA*00*          *00*          *ZZ*112233         *ZZ*445566         *200101*1200*U*"
    "00401*000004711*0*P*>~\nGS*PO*112233*445566*20200101*1200*4711*X*004010~\n"
    "ST*850*0001~\nBEG*00*SA*4711**20200101~\nPO1*1*10*EA*100**VP*10344~\n"
    "SE*4*0001~\nGE*1*4711~\nIEA*1*000004711~\n"
)


@define
class _Report:
    """What the ECGrid tour did, for the summary."""

    base_url: str = ""
    uploaded: int = 0
    upload_status: str = ""
    cancelled_status: str = ""
    pending: int = 0
    synced: int = 0
    synced_bytes: int = 0
    confirmed: int = 0
    second_sync: int = 0
    pending_after: int = 0
    requests: int = 0
    seconds: float = 0.0
    directory: Path = Path()
    parcels: list[int] = field(factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "gateway": "ecgrid",
            "baseUrl": self.base_url,
            "uploaded": self.uploaded,
            "uploadStatus": self.upload_status,
            "cancelledStatus": self.cancelled_status,
            "pending": self.pending,
            "synced": self.synced,
            "confirmed": self.confirmed,
            "secondSync": self.second_sync,
            "pendingAfter": self.pending_after,
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "directory": str(self.directory),
        }


class _ECGridTour(Tour):
    def __init__(self, cli: Cli, root: Path, messages: int) -> None:
        super().__init__(cli, root)
        self.messages = messages
        self.report = _Report(directory=root)

    async def run(self) -> _Report:
        try:
            from ..emulator.ecgrid import ECGridState, serve_ecgrid
        except ImportError as exc:
            raise emulator_missing(exc) from None
        session_class = self.cli.gateway.session_class()
        started = anyio.current_time()
        state = ECGridState(seed=2024)
        state.seed_inbox(self.messages, sizes=[512, 2048, 8192])

        self.step("Start an emulated ECGrid network")
        async with serve_ecgrid(state, host="127.0.0.1") as server:
            self.report.base_url = server.base_url
            self.say(
                f"Listening on [bold]{escape(server.base_url)}[/] (every path under /v2/) with "
                f"{self.messages} parcels waiting in the inbox; ECGrid ids "
                f"{state.ecgrid_id} (you) and {state.partner_ecgrid_id} (a partner)."
            )
            async with session_class(
                api_key=server.api_key, base_url=server.base_url, rate_limit=None
            ) as s:
                await self._upload(s, state)
                await self._pending(s)
                await self._sync(s, state)
                await self._cancel(s)
                self.report.requests = s.stats.requests
        self.report.seconds = anyio.current_time() - started
        self._summary()
        return self.report

    async def _upload(self, s: Any, state: Any) -> None:
        self.step("Upload a parcel (base64 streamed inside the JSON body)")
        outbox = self.root / "outbox"
        outbox.mkdir()
        order = outbox / "order_4711.edi"
        order.write_text(_ORDER)
        pid = await s.parcels.upload(
            order, ecgrid_id_from=state.ecgrid_id, ecgrid_id_to=state.partner_ecgrid_id
        )
        parcel = await s.parcels.get(pid)
        self.report.uploaded = pid
        self.report.upload_status = str(parcel.status)
        self.say(
            f"[green]✓[/] Parcel [cyan]{pid}[/] ({escape(parcel.file_name or '-')}, "
            f"{format_size(parcel.size)}) is {escape(str(parcel.status))}"
        )

    async def _pending(self, s: Any) -> None:
        self.step("List the parcels waiting in the inbox")
        table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0))
        for column in ("Parcel", "File", "Size", "Status"):
            table.add_column(column, overflow="fold")
        count = 0
        async for p in s.parcels.pending():
            count += 1
            if count <= 5:
                table.add_row(
                    f"[cyan]{p.parcel_id}[/]",
                    escape(p.file_name or "-"),
                    format_size(p.size),
                    escape(str(p.status)),
                )
        self.report.pending = count
        table.caption = f"{min(count, 5)} of {count} pending parcels"
        self.say(table)

    async def _sync(self, s: Any, state: Any) -> None:
        self.step("Sync the inbox exactly once: download, then confirm")
        inbox = self.root / "inbox"
        with self.out.count_progress("Syncing", self.report.pending) as bar:
            async with InboxConsumer(s, inbox) as consumer:
                async for delivered in consumer:
                    size = sum(f.size for f in delivered.files)
                    self.report.synced_bytes += size
                    bar.advance(size)
            bar.finish()
        self.report.synced = consumer.stats.delivered
        self.report.confirmed = sum(1 for p in state.parcels() if p.confirmed)
        self.say(
            f"[green]✓[/] {consumer.stats.delivered} parcels "
            f"({format_size(self.report.synced_bytes)}) in {escape(self.rel(inbox))}/, each "
            "confirmed only once its file was on disk"
        )
        async with InboxConsumer(s, inbox) as again:
            async for _ in again:
                self.report.second_sync += 1
        self.report.pending_after = len([p async for p in s.parcels.pending()])
        self.say(
            f"[green]✓[/] A second sync finds {self.report.second_sync} new parcels; "
            f"{self.report.pending_after} still pending on the network"
        )

    async def _cancel(self, s: Any) -> None:
        self.step("Cancel the uploaded parcel")
        await s.parcels.cancel(self.report.uploaded)
        parcel = await s.parcels.get(self.report.uploaded)
        self.report.cancelled_status = str(parcel.status)
        self.say(
            f"[green]✓[/] Parcel [cyan]{self.report.uploaded}[/] is now "
            f"{escape(str(parcel.status))}"
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
        grid.add_row(
            "Uploaded",
            f"parcel {r.uploaded} ({r.upload_status}), then cancelled ({r.cancelled_status})",
        )
        grid.add_row(
            "Synced",
            f"{r.synced} of {r.pending} pending parcels, {format_size(r.synced_bytes)} -> "
            f"{escape(self.rel(r.directory / 'inbox'))}/, {r.confirmed} confirmed "
            f"(second run: {r.second_sync} new, {r.pending_after} pending)",
        )
        grid.add_row("HTTP", f"{r.requests} requests to {escape(r.base_url)}")
        grid.add_row("Time", f"{r.seconds:.1f} s")
        grid.add_row("Files", f"[bold]{escape(str(r.directory))}[/]")
        self.say(Panel(grid, title="as2gw demo --gateway ecgrid", title_align="left"))
        self.say(
            "Next: [bold]as2gw emulator --gateway ecgrid[/] runs the emulator on its own; set "
            "ECGRID_BASE_URL and ECGRID_API_KEY and try "
            "[bold]as2gw --gateway ecgrid sync inbox/[/]."
        )


async def run_demo(cli: Cli, directory: Path, messages: int) -> None:
    """The ``demo --gateway ecgrid`` command's body."""
    root = prepare_directory(directory, ("outbox", "inbox"))
    await _ECGridTour(cli, root, messages).run()
