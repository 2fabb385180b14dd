"""Sending messages (spec 4.1) and waiting for their delivery.

`send` checks every documented limit before a byte leaves, then streams the files from
disk in chunks: one file as the raw body of the single-file endpoint, several as a
``multipart/form-data`` body built here (so its length is known up front and it can be
produced again, files re-read, if the request has to be repeated after a 307 or a 401).

`wait_for_delivery` polls the sent, queued and failed folders as the spec advises: a first
look after a few seconds, then less and less often.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

import httpx

from .._core.polling import PollSchedule
from .._core.uploads import (
    CHUNK_SIZE,
    SendFile,
    UploadLimits,
    multipart_body,
    prepare_uploads,
    raw_name_ok,
    remove_spooled,
)
from ..errors import (
    AS2GatewayError,
    DeliveryFailedError,
    DeliveryTimeoutError,
    NotFoundError,
)
from ..models import AS2Message, Folder, PartnerType, SendReceipt
from ..session import quote_id
from ._params import check_id, check_text, partner_type_param, with_query

if TYPE_CHECKING:
    from ..session import Session
    from .folders import FolderResource

__all__ = [
    "CHUNK_SIZE",
    "MAX_FILES",
    "MAX_FILE_SIZE",
    "MAX_TOTAL_SIZE",
    "SendFile",
    "send",
    "wait_for_delivery",
]

#: At most this many files a message (spec 4.1.2).
MAX_FILES = 10
#: At most this many bytes a file (spec 4.1.1: "up to 10 MB", read as 10 MiB).
MAX_FILE_SIZE = 10 * 1024 * 1024
#: At most this many bytes of files a message (spec 4.1.2: "a total size of 10 MB").
MAX_TOTAL_SIZE = 10 * 1024 * 1024
#: The documented limits, checked by `prepare_uploads` before any byte is sent.
LIMITS = UploadLimits(
    max_files=MAX_FILES, max_file_size=MAX_FILE_SIZE, max_total_size=MAX_TOTAL_SIZE
)

_SENT_MARKER = "/message/sent/"


# -- send ---------------------------------------------------------------------------------


async def send(
    session: Session,
    station: str,
    partner: str,
    *files: SendFile,
    subject: str | None = None,
    partner_type: PartnerType | str = PartnerType.PRODUCTION,
) -> SendReceipt:
    """Send one file to the raw endpoint or several as multipart; see `Session.send`.

    Every check (count, sizes, unique names, files that exist and are readable) runs
    before the request starts. A file travels in 64 KiB chunks read from disk; an `Upload`
    of an async iterable is spooled to a temporary file first (stopping as soon as it
    passes the limits), so the body can be produced again if the request must be repeated.
    A single file whose name is not plain printable ASCII goes multipart too, since the
    raw endpoint carries the name in an HTTP header.
    """
    check_id("station", station)
    check_id("partner", partner)
    ptype = partner_type_param(partner_type)
    if subject is not None:
        check_text("subject", subject)
    path = with_query(
        f"/message/{quote_id(station)}/{quote_id(partner)}",
        {"partnerType": ptype.query_value, "subject": subject},
    )
    spooled: list[str] = []
    try:
        parts = await prepare_uploads(files, spooled, LIMITS)
        if len(parts) == 1 and raw_name_ok(parts[0].name):
            part = parts[0]
            headers = {
                "Name": part.name,
                "Content-Type": part.content_type,
                "Content-Length": str(part.size),
            }
            body = part.chunks
        else:
            body, ctype, length = multipart_body(parts, "file")
            headers = {"Content-Type": ctype, "Content-Length": str(length)}
        response = await session.request(
            "POST", path, content=body, headers=headers, idempotent=False
        )
    finally:
        await remove_spooled(spooled)
    return _receipt(response)


def _response_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return " ".join(response.text.split())[:200]


def _link_url(header: str) -> str:
    """The URL of a ``Link`` header, written bare (as the gateway does) or as ``<url>; ...``."""
    value = header.strip()
    if value.startswith("<"):
        # RFC 8288 form. The id inside may hold '<' and '>' itself, so the URL ends at the
        # last '>' before the parameters, or at the very end.
        end = value.rfind(">;")
        inner = value[1:end] if end > 0 else value[1:].removesuffix(">")
        if "://" in inner:
            value = inner
    return value.strip()


def message_id_from_link(link: str) -> str | None:
    """The AS2 message id at the end of a send's ``Link`` header, or None.

    The id is everything after ``/message/sent/``, raw (``<1.2@as2gateway.com>``, maybe
    with ``/`` inside) or percent-encoded (``%3C1.2%40as2gateway.com%3E``).

    >>> message_id_from_link("https://api.as2gateway.com/v1/message/sent/<9.41@as2gateway.com>")
    '<9.41@as2gateway.com>'
    """
    url = _link_url(link)
    where = url.find(_SENT_MARKER)
    if where >= 0:
        tail = url[where + len(_SENT_MARKER) :]
    else:
        tail = url.rstrip("/").rsplit("/", 1)[-1] if "://" in url else ""
    if "<" not in tail and ">" not in tail:
        tail = unquote(tail.split("?", 1)[0].split("#", 1)[0])
    return tail.strip() or None


def _receipt(response: httpx.Response) -> SendReceipt:
    message = _response_message(response)
    link = response.headers.get("link")
    what = f"the gateway accepted the message (HTTP {response.status_code}: {message!r})"
    consequence = (
        "so its AS2 message id is unknown. The message WAS submitted: do not send it again; "
        "look for it in the queued or sent folder"
    )
    if not link:
        raise AS2GatewayError(f"{what} but sent no Link header, {consequence}")
    message_id = message_id_from_link(link)
    if message_id is None:
        raise AS2GatewayError(f"{what} but its Link header {link!r} is unreadable, {consequence}")
    return SendReceipt(as2_message_id=message_id, link=_link_url(link), message=message)


# -- wait_for_delivery --------------------------------------------------------------------

#: Rounds in a row that must see "failed, not queued" before the failure is declared.
_FAILURE_CONFIRMATIONS = 2


async def _find(folder: FolderResource, as2_message_id: str) -> AS2Message | None:
    try:
        return await folder.get(as2_message_id)
    except NotFoundError:
        return None


async def _failed_attempts(
    session: Session, as2_message_id: str, latest: AS2Message
) -> tuple[AS2Message, ...]:
    """Every failed-folder record of the message, oldest first (the gateway retries it)."""
    ptype = latest.partner_type if isinstance(latest.partner_type, PartnerType) else None
    try:
        page = await session.failed.list(
            as2_message_id=as2_message_id,
            partner_type=ptype,
            sort_dir="asc",
            page_length=100,
        )
    except NotFoundError:
        return (latest,)
    attempts = tuple(m for m in page.records if m.as2_message_id == as2_message_id)
    return attempts or (latest,)


def _describe(as2_message_id: str, last_seen: str | None, failures: int) -> str:
    if last_seen is None:
        return (
            f"AS2 message {as2_message_id} was never seen in the sent, queued or failed "
            "folder (is the id right?)"
        )
    where = f"AS2 message {as2_message_id} was last seen in the {last_seen} folder"
    if failures:
        where += ", after failed attempts (the gateway retries up to 10 times)"
    return where


async def wait_for_delivery(
    session: Session,
    as2_message_id: str,
    *,
    timeout: float,
    poll_interval: float,
    initial_delay: float | None,
) -> AS2Message:
    """Poll the sent, queued and failed folders until the message settles.

    Each round asks the sent folder first (done), then the queued folder (still pending,
    maybe retrying), then, only if it is not queued, the failed folder: 2 or 3 requests a
    round. A message with failed attempts that is no longer queued has been given up on;
    since a message being retried right now may be missing from the queued folder, that
    must be seen in two rounds in a row before `DeliveryFailedError` is raised. The first
    look is after ``initial_delay`` (default: ``2.5 * poll_interval``, at most 5 s, as the
    spec advises), later ones further and further apart, up to 15 s (or ``poll_interval``
    when larger). ``timeout`` is checked between rounds, so the wait may overrun it by the
    time of one round.
    """
    check_id("as2_message_id", as2_message_id)
    schedule = PollSchedule(
        timeout=timeout, poll_interval=poll_interval, initial_delay=initial_delay
    )
    last_seen: str | None = None
    failures = 0
    confirmations = 0
    await schedule.first()
    while True:
        sent = await _find(session.sent, as2_message_id)
        if sent is not None:
            return sent
        if await _find(session.queued, as2_message_id) is not None:
            last_seen = Folder.QUEUED.value
            confirmations = 0
        else:
            latest = await _find(session.failed, as2_message_id)
            if latest is None:
                confirmations = 0
            else:
                last_seen = Folder.FAILED.value
                failures += 1
                confirmations += 1
                if confirmations >= _FAILURE_CONFIRMATIONS:
                    attempts = await _failed_attempts(session, as2_message_id, latest)
                    last = attempts[-1]
                    status = (
                        f", the partner answered HTTP {last.transport_status_received}"
                        if last.transport_status_received is not None
                        else ""
                    )
                    raise DeliveryFailedError(
                        f"the gateway gave up sending AS2 message {as2_message_id} after "
                        f"{len(attempts)} failed attempt(s){status}",
                        as2_message_id=as2_message_id,
                        attempts=attempts,
                    )
        if not await schedule.next():
            raise DeliveryTimeoutError(
                f"not delivered within {timeout:g}s: "
                + _describe(as2_message_id, last_seen, failures),
                as2_message_id=as2_message_id,
                last_seen=last_seen,
            )
