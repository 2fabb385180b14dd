"""Where the CLI's output goes, and how it looks.

* Results go to stdout: rich tables and text for a person when stdout is a terminal,
  otherwise (or with ``--json``) one JSON object per line, in the gateway's own camelCase
  field names (the library's converter), for scripts.
* Notes and progress bars go to stderr, only when stderr is a terminal and not ``--quiet``,
  so stdout stays machine-readable and cron stays silent.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from attrs import define, field
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from ..converter import unstructure
from ..models import AS2Message, DownloadedFile, Folder

__all__ = [
    "BytesProgress",
    "Output",
    "format_size",
    "format_time",
    "message_panel",
    "messages_table",
    "to_json",
]

ProgressCallback = Callable[[int, "int | None"], None]


def _json_default(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def to_json(value: object) -> str:
    """One JSON line: models in the gateway's camelCase shape, paths as strings."""
    data = unstructure(value) if not isinstance(value, (dict, list, str, int, float)) else value
    return json.dumps(data, ensure_ascii=False, default=_json_default, separators=(",", ":"))


def format_size(n: int | None) -> str:
    """``1536`` -> ``1.5 kB`` (decimal units, like rich's progress columns)."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"  # pragma: no cover


def format_time(message: AS2Message) -> str:
    """The message's timestamp in local time, to the second."""
    at = message.persisted_at
    return "-" if at is None else at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def format_expiry(expires_at: float) -> str:
    """``2024-05-01 12:00:00 +0000 (in 23h 59m)``."""
    at = datetime.fromtimestamp(expires_at).astimezone()
    left = int(expires_at - datetime.now().timestamp())
    if left <= 0:
        rel = "expired"
    else:
        hours, rest = divmod(left, 3600)
        rel = f"in {hours}h {rest // 60:02d}m" if hours else f"in {rest // 60}m {rest % 60:02d}s"
    return f"{at.strftime('%Y-%m-%d %H:%M:%S %z')} ({rel})"


@define
class Output:
    """The two streams of one command run and the user's wishes about them."""

    json_mode: bool
    json_requested: bool = False
    quiet: bool = False
    verbose: bool = False
    out: Console = field(factory=lambda: Console(highlight=False, soft_wrap=False))
    err: Console = field(factory=lambda: Console(stderr=True, highlight=False))

    @classmethod
    def create(cls, *, json_flag: bool | None, quiet: bool, verbose: bool) -> Output:
        """``json_flag`` None means: JSON unless stdout is a terminal."""
        json_mode = (not _isatty(sys.stdout)) if json_flag is None else json_flag
        return cls(
            json_mode=json_mode,
            json_requested=bool(json_flag),
            quiet=quiet,
            verbose=verbose,
            # No file= : the consoles follow sys.stdout/sys.stderr as they are replaced
            # (a live progress display redirects them; so does a test runner).
            out=Console(highlight=False),
            err=Console(stderr=True, highlight=False),
        )

    @property
    def interactive(self) -> bool:
        """Notes and progress bars are shown: stderr is a terminal and not ``--quiet``."""
        return self.err.is_terminal and not self.quiet

    # -- results (stdout) ----------------------------------------------------------------

    def json(self, value: object) -> None:
        """Print one JSON line on stdout."""
        sys.stdout.write(to_json(value) + "\n")
        sys.stdout.flush()

    def print(self, *renderables: Any, **kwargs: Any) -> None:
        """Print for a person on stdout (only used when not in JSON mode)."""
        self.out.print(*renderables, **kwargs)

    # -- notes (stderr) ------------------------------------------------------------------

    def note(self, text: str) -> None:
        """A progress note for a person (rich markup allowed); silent when not interactive."""
        if self.interactive:
            self.err.print(text)

    def warn(self, text: str) -> None:
        """A warning: always on stderr unless ``--quiet``."""
        if not self.quiet:
            self.err.print(f"[yellow]as2gw: warning:[/] {escape(text)}", soft_wrap=True)

    # -- progress bars (stderr) ----------------------------------------------------------

    # While a bar is live, rich routes prints through it so that they land above the bar:
    # stdout only when it is that same terminal (redirect_stdout=...), since JSON piped
    # elsewhere must reach the pipe, not the terminal.

    @contextmanager
    def bytes_progress(self, description: str, total: int | None = None) -> Iterator[BytesProgress]:
        """A bytes bar fed by the library's ``progress(done, total)`` callbacks."""
        if not self.interactive:
            yield BytesProgress(None, None)
            return
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            console=self.err,
            transient=False,
            redirect_stdout=_isatty(sys.stdout),
        )
        with progress:
            task = progress.add_task(escape(description), total=total)
            yield BytesProgress(progress, task)

    @contextmanager
    def count_progress(self, description: str, total: int | None = None) -> Iterator[CountProgress]:
        """A bar of messages done (``total`` may be unknown), with the bytes they held."""
        if not self.interactive:
            yield CountProgress(None, None)
            return
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("messages"),
            TextColumn("[dim]{task.fields[size]}"),
            TimeElapsedColumn(),
            console=self.err,
            transient=False,
            redirect_stdout=_isatty(sys.stdout),
        )
        with progress:
            task = progress.add_task(escape(description), total=total, size="")
            yield CountProgress(progress, task)

    @contextmanager
    def status(self, text: str) -> Iterator[None]:
        """A spinner with ``text`` while a step runs (nothing when not interactive)."""
        if not self.interactive:
            yield
            return
        with self.err.status(text):
            yield


@define
class BytesProgress:
    """A bytes task, or a no-op when progress is not shown."""

    _progress: Progress | None
    _task: TaskID | None
    _base: int = 0
    _last: int = 0

    @property
    def shown(self) -> bool:
        return self._progress is not None

    def callback(self, done: int, total: int | None) -> None:
        """The library's ``progress(bytes_done, bytes_total_or_None)``."""
        if self._progress is None or self._task is None:
            return
        self._last = done
        self._progress.update(
            self._task,
            completed=self._base + done,
            total=None if total is None else self._base + total,
        )

    def next_file(self) -> None:
        """Several bodies in a row: keep counting from where the last one ended."""
        self._base += self._last
        self._last = 0

    def finish(self) -> None:
        if self._progress is not None and self._task is not None:
            task = self._progress.tasks[self._task]
            self._progress.update(self._task, total=task.completed)


@define
class CountProgress:
    """A messages task, or a no-op when progress is not shown."""

    _progress: Progress | None
    _task: TaskID | None
    count: int = 0
    bytes: int = 0

    def advance(self, nbytes: int = 0) -> None:
        self.count += 1
        self.bytes += nbytes
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task, advance=1, size=format_size(self.bytes) if self.bytes else ""
            )

    def set_total(self, total: int | None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def finish(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=self.count, completed=self.count)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# -- renderables -------------------------------------------------------------------------


def _status_text(message: AS2Message, folder: Folder) -> str:
    parts = []
    if folder in (Folder.SENT, Folder.FAILED) and message.delivery_status is not None:
        parts.append(str(message.delivery_status))
    if folder is Folder.FAILED and message.transport_status_received is not None:
        parts.append(f"HTTP {message.transport_status_received}")
    if message.mdn_status is not None:
        parts.append(f"MDN {message.mdn_status}")
    return ", ".join(parts) or "-"


def messages_table(
    messages: Sequence[AS2Message], folder: Folder, title: str | None, *, width: int = 200
) -> Table:
    """A table of messages for a person, with as many columns as fit in ``width``.

    The id and the time always show; then, as room allows: partner, size, files, subject,
    station, status.
    """
    columns: list[tuple[str, dict[str, Any], Callable[[AS2Message], str]]] = [
        ("Time", {"no_wrap": True}, format_time),
        ("AS2 message ID", {"overflow": "fold", "style": "cyan"}, lambda m: m.as2_message_id),
        ("Station", {"overflow": "fold"}, lambda m: m.sender_id or "-"),
        ("Partner", {"overflow": "fold"}, lambda m: m.receiver_id or "-"),
        ("Subject", {"overflow": "fold"}, lambda m: m.subject or ""),
        ("Files", {"justify": "right"}, lambda m: str(len(m.attachments))),
        (
            "Size",
            {"justify": "right", "no_wrap": True},
            lambda m: format_size(sum(a.size or 0 for a in m.attachments)),
        ),
        ("Status", {"overflow": "fold"}, lambda m: _status_text(m, folder)),
    ]
    if folder is Folder.QUEUED:  # the queue's records carry no attachments
        columns = [c for c in columns if c[0] not in ("Files", "Size")]
    priority = ["AS2 message ID", "Time", "Partner", "Size", "Files", "Subject", "Station"]
    priority += ["Status"]

    def needed(column: tuple[str, dict[str, Any], Callable[[AS2Message], str]]) -> int:
        header, _, cell = column
        return max([len(header)] + [len(cell(m)) for m in messages]) + 3

    chosen: set[str] = set()
    used = 1
    for name in priority:
        column = next((c for c in columns if c[0] == name), None)
        if column is None:
            continue
        if name in ("AS2 message ID", "Time") or used + needed(column) <= width:
            chosen.add(name)
            used += needed(column)
    shown = [c for c in columns if c[0] in chosen]
    table = Table(title=title, title_justify="left", header_style="bold", expand=False)
    for header, options, _ in shown:
        table.add_column(header, **options)
    for m in messages:
        table.add_row(*(escape(cell(m)) for _, _, cell in shown))
    return table


def message_panel(message: AS2Message, folder: Folder) -> Panel:
    """Everything about one message, for a person."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    rows: list[tuple[str, str | None]] = [
        ("Folder", folder.value),
        ("Time", format_time(message)),
        ("Station", message.sender_id),
        ("Partner", message.receiver_id),
        ("Partner type", None if message.partner_type is None else str(message.partner_type)),
        ("Subject", message.subject),
        ("Delivery", None if message.delivery_status is None else str(message.delivery_status)),
        (
            "Partner HTTP status",
            None
            if message.transport_status_received is None
            else str(message.transport_status_received),
        ),
        ("MDN", None if message.mdn_status is None else str(message.mdn_status)),
        (
            "Security",
            ", ".join(
                name
                for name, on in (
                    ("signed", message.signed),
                    ("encrypted", message.encrypted),
                    ("compressed", message.compressed),
                )
                if on
            )
            or "none",
        ),
    ]
    for label, value in rows:
        if value is not None:
            grid.add_row(label, escape(value))
    if message.attachments:
        files = Table(show_header=True, header_style="bold", box=None, padding=(0, 2, 0, 0))
        files.add_column("#", justify="right")
        files.add_column("Attachment", overflow="fold")
        files.add_column("Size", justify="right")
        for i, a in enumerate(message.attachments):
            files.add_row(str(i), escape(a.name), format_size(a.size))
        grid.add_row("Attachments", files)
    mdn = message.mdn_message
    if mdn is not None:
        text = "error MDN" if mdn.mdn_error else "MDN"
        if mdn.content:
            text += ": " + " ".join(mdn.content.split())
        grid.add_row("Receipt", escape(text))
    return Panel(grid, title=f"[cyan]{escape(message.as2_message_id)}", title_align="left")


def files_table(files: Iterable[DownloadedFile], title: str | None = None) -> Table:
    """Files written, with their sizes."""
    table = Table(title=title, title_justify="left", header_style="bold", box=None)
    table.add_column("File", overflow="fold", style="green")
    table.add_column("Size", justify="right", no_wrap=True)
    for f in files:
        table.add_row(escape(str(f.path)), format_size(f.size))
    return table
