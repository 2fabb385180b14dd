"""Batch download against a small respx-backed fake of the gateway's batch semantics."""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.endpoints.batch import batch_download, parse_truncation_index
from as2gw_async.files import safe_message_dirname

K = 1000


def zip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def body(tag: str, size: int) -> bytes:
    return (tag.encode() * size)[:size]


class FakeGateway:
    """The batch, get, single-attachment and markUnread endpoints, as the spec reads.

    Aggregation stops when the next attachment would take the total over ``limit`` (the
    first attachment of a request is always added); 206 then names the last one added.
    """

    def __init__(self, dest: Path, limit: int = 10_000_000) -> None:
        self.dest = dest
        self.limit = limit
        self.messages: dict[str, list[tuple[str, bytes]]] = {}
        self.read: set[str] = set()
        self.batches: list[list[str]] = []
        self.statuses: list[tuple[int, str | None]] = []
        self.calls: list[str] = []
        # client-side marks of a message whose files were not all on disk at that moment
        self.premature_marks: list[str] = []
        self.header: Callable[[str | None], tuple[int, str | None]] | None = None
        self.member_name: Callable[[str, str], str] = lambda mid, name: f"{mid}/{name}"
        self.corrupt = False
        self.forbidden: set[tuple[str, int]] = set()  # single attachments answered with 403
        # a gateway that never adds an attachment over the cap, even the first: "(0,-1)"
        self.strict_cap = False
        self.sent_bytes = 0
        self.batch_override: Callable[[httpx.Request], httpx.Response] | None = None

    def add(self, mid: str, *sizes: int) -> str:
        self.messages[mid] = [
            (f"file{k}.bin", body(f"{mid}#{k}|", size)) for k, size in enumerate(sizes)
        ]
        return mid

    def on_disk(self, mid: str) -> bool:
        directory = self.dest / safe_message_dirname(mid)
        return all(
            (directory / name).is_file() and (directory / name).read_bytes() == data
            for name, data in self.messages[mid]
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().split("?", 1)[0]
        prefix = "/v1/message/received/"
        assert path.startswith(prefix), path
        parts = path[len(prefix) :].split("/")
        mark = request.url.params.get("markAsRead") == "true"
        if request.method == "POST" and parts == ["batch", "attachments"]:
            if self.batch_override is not None:
                return self.batch_override(request)
            self.calls.append("batch")
            return self.batch(json.loads(request.content), mark)
        mid = unquote(parts[0])
        if mid not in self.messages:
            return httpx.Response(404, json={"message": f"No received AS2 message {mid}"})
        if request.method == "GET" and len(parts) == 1:
            self.calls.append(f"get {mid}" + (" mark" if mark else ""))
            if mark:
                if not self.on_disk(mid):
                    self.premature_marks.append(mid)
                self.read.add(mid)
            atts = [{"name": n, "size": len(d)} for n, d in self.messages[mid]]
            return httpx.Response(200, json={"as2MessageId": mid, "attachments": atts})
        if request.method == "GET" and parts[1:2] == ["attachments"] and len(parts) == 3:
            index = int(parts[2])
            self.calls.append(f"attachment {mid} {index}")
            if (mid, index) in self.forbidden:
                return httpx.Response(403, json={"message": "Forbidden"})
            name, data = self.messages[mid][index]
            self.sent_bytes += len(data)
            return httpx.Response(
                200, content=data, headers={"Content-Disposition": f"attachment; filename={name}"}
            )
        if request.method == "POST" and parts[1:] == ["markUnread"]:
            self.calls.append(f"unmark {mid}")
            self.read.discard(mid)
            return httpx.Response(200, json={"message": f"Successfully marked {mid} as unread"})
        raise AssertionError(f"unexpected {request.method} {path}")

    def batch(self, ids: list[str], mark: bool) -> httpx.Response:
        self.batches.append(ids)
        entries: list[tuple[str, bytes]] = []
        total = added = 0
        last: tuple[int, int] | None = None
        complete: list[str] = []
        truncated = False
        m = 0
        for m, mid in enumerate(ids):
            atts = self.messages.get(mid)
            if atts is None:
                entries.append((f"{mid}/.error", f"No received AS2 message with ID {mid}".encode()))
                continue
            for i, (name, data) in enumerate(atts):
                if (added or self.strict_cap) and total + len(data) > self.limit:
                    truncated = True
                    break
                entries.append((self.member_name(mid, name), data))
                total += len(data)
                added += 1
                last = (m, i)
            if truncated:
                break
            complete.append(mid)
        if mark:
            self.read.update(complete)
        status, header = (200, None)
        if truncated:
            status, header = 206, f"({last[0]},{last[1]})" if last else f"({m},-1)"
        if self.header is not None:
            status, header = self.header(header)
        self.statuses.append((status, header))
        content = zip_bytes(entries)
        if self.corrupt:
            content = content[: len(content) // 2] + bytes(len(content) - len(content) // 2)
        self.sent_bytes += len(content)
        headers = {"X-Batch-Truncation-Index": header} if header is not None else {}
        return httpx.Response(status, content=content, headers=headers)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def fake(router: respx.MockRouter, authorize: respx.Route, dest: Path) -> FakeGateway:
    gateway = FakeGateway(dest)
    router.route().mock(side_effect=gateway.handle)
    return gateway


def tree(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (temporary files included) with its bytes."""
    if not directory.exists():
        return {}
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def expected_tree(fake: FakeGateway, ids: list[str]) -> dict[str, bytes]:
    return {
        f"{safe_message_dirname(mid)}/{name}": data
        for mid in ids
        for name, data in fake.messages[mid]
    }


def check_result(result: gw.BatchResult, fake: FakeGateway, ids: list[str]) -> None:
    assert list(result.files) == ids
    for mid in ids:
        got = [(f.name, f.size, f.path.read_bytes()) for f in result.files[mid]]
        assert got == [(n, len(d), d) for n, d in fake.messages[mid]], mid
        for f in result.files[mid]:
            assert f.path.parent == fake.dest / safe_message_dirname(mid)


# -- plain requests ------------------------------------------------------------------------


async def test_one_request_when_everything_fits(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    ids = [fake.add("<a@x>", 10, 20), fake.add("<b@x>", 30), fake.add("<c/d@x>", 5)]
    result = await session.received.batch_download(ids, dest)  # the public entry point
    check_result(result, fake, ids)
    assert result.errors == {}
    assert result.requests == 1
    assert fake.batches == [ids]
    assert tree(dest) == expected_tree(fake, ids)  # nothing else: no temporary zip
    assert fake.read == set()


async def test_error_folders_become_errors(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    a = fake.add("<a@x>", 10)
    result = await batch_download(session, ["<gone@x>", a], dest)
    assert result.errors == {"<gone@x>": "No received AS2 message with ID <gone@x>"}
    assert list(result.files) == [a]
    assert tree(dest) == expected_tree(fake, [a])


async def test_message_without_attachments(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    empty = fake.add("<empty@x>")
    a = fake.add("<a@x>", 10)
    result = await batch_download(session, [empty, a], dest)
    assert result.files[empty] == []
    assert result.errors == {}


async def test_more_than_100_ids_are_split(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    ids = [fake.add(f"<m{n}@x>", 3) for n in range(250)]
    result = await batch_download(session, ids, dest, concurrency=2)
    assert sorted(len(b) for b in fake.batches) == [50, 100, 100]
    assert sorted(mid for b in fake.batches for mid in b) == sorted(ids)
    assert result.requests == 3
    check_result(result, fake, ids)


async def test_duplicate_ids_are_fetched_once(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    a, b = fake.add("<a@x>", 1), fake.add("<b@x>", 1)
    result = await batch_download(session, [a, b, a], dest)
    assert fake.batches == [[a, b]]
    assert list(result.files) == [a, b]


async def test_no_ids_no_requests(session: gw.Session, fake: FakeGateway, dest: Path) -> None:
    result = await batch_download(session, [], dest)
    assert result == gw.BatchResult()
    assert fake.calls == []


@pytest.mark.parametrize(
    ("ids", "kwargs", "error"),
    [
        ("<a@x>", {}, TypeError),
        (["<a@x>", ""], {}, ValueError),
        (["<a@x>", 1], {}, ValueError),
        (["<a@x>"], {"concurrency": 0}, ValueError),
    ],
)
async def test_bad_arguments(
    session: gw.Session, fake: FakeGateway, dest: Path, ids: object, kwargs: dict, error: type
) -> None:
    with pytest.raises(error):
        await batch_download(session, ids, dest, **kwargs)  # type: ignore[arg-type]
    assert fake.calls == []


# -- truncation ----------------------------------------------------------------------------


@pytest.mark.parametrize("mark", [False, True])
async def test_206_in_the_middle_resumes_without_duplicates(
    session: gw.Session, fake: FakeGateway, dest: Path, mark: bool
) -> None:
    fake.limit = int(6.5 * K)
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K, K, K, 3 * K), fake.add("<c@x>", K)]
    result = await batch_download(session, ids, dest, mark_as_read=mark)
    # (1,2): A complete, B up to 2; then B again from 0: (0,3) is B's last; then C
    assert fake.statuses == [(206, "(1,2)"), (206, "(0,3)"), (200, None)]
    assert fake.batches == [ids, ids[1:], ids[2:]]
    check_result(result, fake, ids)
    assert tree(dest) == expected_tree(fake, ids)
    assert result.requests == 3 + 1 + (1 if mark else 0)  # + B's attachment count (+ mark)
    assert fake.read == (set(ids) if mark else set())
    assert fake.premature_marks == []


@pytest.mark.parametrize("mark", [False, True])
async def test_206_at_0_0_falls_back_to_single_attachments(
    session: gw.Session, fake: FakeGateway, dest: Path, mark: bool
) -> None:
    fake.limit = 5 * K
    ids = [fake.add("<big@x>", 3 * K, 3 * K, 3 * K), fake.add("<b@x>", K)]
    result = await batch_download(session, ids, dest, mark_as_read=mark)
    assert fake.statuses == [(206, "(0,0)"), (200, None)]
    big = ids[0]
    expected_calls = ["batch", f"get {big}", f"attachment {big} 1", f"attachment {big} 2"]
    if mark:
        expected_calls.append(f"get {big} mark")
    assert fake.calls == [*expected_calls, "batch"]
    check_result(result, fake, ids)
    assert tree(dest) == expected_tree(fake, ids)
    assert result.requests == len(fake.calls)
    assert fake.read == (set(ids) if mark else set())
    assert fake.premature_marks == []


async def test_206_with_no_attachment_of_the_first_message(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    fake.limit = 2 * K
    fake.strict_cap = True
    ids = [fake.add("<huge@x>", K, 3 * K), fake.add("<b@x>", K)]
    result = await batch_download(session, ids, dest, mark_as_read=True)
    # (0,0): A0 fits, A1 does not; A opened the request, so A1 comes singly
    assert fake.statuses[0] == (206, "(0,0)")
    fake.messages["<huge@x>"].reverse()  # now the first attachment alone is too big
    result = await batch_download(session, ids, dest / "again", mark_as_read=True)
    assert fake.statuses[2] == (206, "(0,-1)")
    assert fake.calls[-5:] == [
        "get <huge@x>",
        "attachment <huge@x> 0",
        "attachment <huge@x> 1",
        "get <huge@x> mark",
        "batch",
    ]
    fake.dest = dest / "again"
    check_result(result, fake, ids)
    assert fake.premature_marks == []


@pytest.mark.parametrize("seed", range(4))
async def test_random_inboxes_end_complete_and_correctly_marked(
    session: gw.Session, fake: FakeGateway, dest: Path, seed: int
) -> None:
    rng = random.Random(seed)
    fake.limit = 8 * K
    fake.strict_cap = bool(seed % 2)
    ids = [
        fake.add(f"<m{n}.{seed}@x>", *(rng.choice([0, 1, 2, 3, 5, 9]) * K + 7 for _ in range(k)))
        for n, k in enumerate(rng.choices([0, 1, 2, 3, 6], k=60))
    ]
    unknown = [f"<unknown{n}@x>" for n in range(5)]
    asked = ids + unknown
    rng.shuffle(asked)
    result = await batch_download(session, asked, dest, mark_as_read=True, concurrency=3)
    assert set(result.errors) == set(unknown)
    assert list(result.files) == [i for i in asked if i in ids]
    check_result(result, fake, [i for i in asked if i in ids])
    assert tree(dest) == expected_tree(fake, ids)
    assert fake.read == set(ids)
    assert fake.premature_marks == []
    assert all(len(b) <= 100 for b in fake.batches)
    assert result.requests == len(fake.calls)


async def test_206_at_the_last_message(session: gw.Session, fake: FakeGateway, dest: Path) -> None:
    fake.limit = int(3.5 * K)
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K), fake.add("<c@x>", K, K, K)]
    result = await batch_download(session, ids, dest, mark_as_read=True)
    assert fake.statuses == [(206, "(2,0)"), (200, None)]
    assert fake.batches == [ids, ids[2:]]
    check_result(result, fake, ids)
    assert tree(dest) == expected_tree(fake, ids)
    assert fake.read == set(ids)
    assert fake.premature_marks == []


async def test_206_at_the_last_attachment_of_a_message_completes_it(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    fake.limit = int(2.5 * K)
    a, b = fake.add("<a@x>", K, K), fake.add("<b@x>", 3 * K)
    result = await batch_download(session, [a, b], dest, mark_as_read=True)
    # (0,1) is A's last attachment: A is complete but the gateway did not mark it
    assert fake.statuses == [(206, "(0,1)"), (200, None)]
    assert fake.batches == [[a, b], [b]]
    assert fake.calls == ["batch", f"get {a}", f"get {a} mark", "batch"]
    check_result(result, fake, [a, b])
    assert fake.read == {a, b}
    assert fake.premature_marks == []


async def test_206_spaces_in_the_header_are_tolerated(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    fake.limit = int(1.5 * K)
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K)]
    fake.header = lambda h: (206, h.replace(",", " , ").replace("(", " ( ")) if h else (200, None)
    result = await batch_download(session, ids, dest)
    assert fake.statuses[0] == (206, " ( 0 , 0)")
    check_result(result, fake, ids)


async def test_resent_attachments_must_match_what_is_on_disk(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    fake.limit = int(2.5 * K)
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K, K, K)]

    def renamed(header: str | None) -> tuple[int, str | None]:
        fake.member_name = lambda mid, name: f"{mid}/other-{name}"
        return (206, header) if header else (200, None)

    fake.header = renamed
    with pytest.raises(gw.IntegrityError, match="resent different attachments"):
        await batch_download(session, ids, dest)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "1,0",
        "(1)",
        "(a,b)",
        "(1,0,0)",
        "(-1,0)",
        "(0,-2)",
        "[0,0]",
        "(0,0",
        "(0;0)",
        "(1.0,0)",
        "(2,0)",  # names a message the request did not have
        "(0,5)",  # more attachments than the archive holds
    ],
)
async def test_malformed_truncation_headers(
    session: gw.Session, fake: FakeGateway, dest: Path, header: str | None
) -> None:
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K)]
    fake.header = lambda _h: (206, header)
    with pytest.raises(gw.IntegrityError, match="X-Batch-Truncation-Index"):
        await batch_download(session, ids, dest, mark_as_read=True)
    assert fake.batches == [ids]  # a deterministic answer is not asked again
    assert tree(dest) == {}  # nothing written from an answer we do not understand
    # the gateway marked both (it archived them fully); the client marked them unread again
    assert fake.read == set()
    assert fake.calls[0] == "batch"
    assert sorted(fake.calls[1:]) == ["unmark <a@x>", "unmark <b@x>"]


def test_parse_truncation_index() -> None:
    assert parse_truncation_index("(1,2)") == (1, 2)
    assert parse_truncation_index("  ( 10 ,\t0 )  ") == (10, 0)
    assert parse_truncation_index("(0,-1)") == (0, -1)
    with pytest.raises(gw.IntegrityError, match="missing"):
        parse_truncation_index(None)


async def test_unexpected_success_status(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    ids = [fake.add("<a@x>", K)]
    fake.header = lambda _h: (204, None)
    with pytest.raises(gw.IntegrityError, match="204"):
        await batch_download(session, ids, dest)


# -- failures ------------------------------------------------------------------------------


async def test_corrupt_archive_is_fetched_again_then_fails(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    ids = [fake.add("<a@x>", 5 * K)]
    fake.corrupt = True
    with pytest.raises(gw.IntegrityError):
        await batch_download(session, ids, dest)
    assert len(fake.batches) == 4
    assert tree(dest) == {}


async def test_zip_slip_member_is_refused(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    ids = [fake.add("<a@x>", K)]
    fake.member_name = lambda mid, name: f"{mid}/../../{name}"
    with pytest.raises(gw.IntegrityError, match="traversal"):
        await batch_download(session, ids, dest)
    assert tree(dest.parent) == {}


async def test_local_failure_marks_unwritten_messages_unread(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K), fake.add("<c@x>", K)]
    taken = dest / safe_message_dirname(ids[1]) / "file0.bin"
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"someone else's")
    with pytest.raises(FileExistsError):
        await batch_download(session, ids, dest, mark_as_read=True)
    # A is on disk and stays read; B and C were marked by the gateway, then unmarked
    assert fake.read == {ids[0]}
    assert fake.calls[0] == "batch"
    assert sorted(fake.calls[1:]) == ["unmark <b@x>", "unmark <c@x>"]
    assert taken.read_bytes() == b"someone else's"


async def test_overwrite_true_replaces_existing_files(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    ids = [fake.add("<a@x>", K)]
    taken = dest / safe_message_dirname(ids[0]) / "file0.bin"
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"old")
    result = await batch_download(session, ids, dest, overwrite=True)
    check_result(result, fake, ids)


async def test_fallback_failure_does_not_mark(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    fake.limit = 5 * K
    big = fake.add("<big@x>", 3 * K, 3 * K, 3 * K)
    fake.forbidden.add((big, 2))
    with pytest.raises(gw.PermissionDeniedError):
        await batch_download(session, [big], dest, mark_as_read=True)
    assert fake.read == set()
    assert f"get {big} mark" not in fake.calls


async def test_batch_http_error_is_raised(
    session: gw.Session, router: respx.MockRouter, authorize: respx.Route, dest: Path
) -> None:
    route = router.post("/message/received/batch/attachments").respond(
        400, json={"message": "Too many ids"}
    )
    with pytest.raises(gw.BadRequestError, match="Too many ids"):
        await batch_download(session, ["<a@x>"], dest, mark_as_read=True)
    assert route.call_count == 1  # no markUnread: the gateway refused, so it marked nothing


async def test_a_request_the_gateway_processed_is_undone_even_if_retries_end_in_5xx(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K)]
    attempts: list[str] = []

    def batch(request: httpx.Request) -> httpx.Response:
        attempts.append("batch")
        if len(attempts) == 1:
            fake.batch(json.loads(request.content), mark=True)  # processed, marks both...
            raise httpx.ReadError("connection reset")  # ...but the answer never arrives
        return httpx.Response(503, json={"message": "Service Unavailable"})

    fake.batch_override = batch
    with pytest.raises(gw.InternalServerError):
        await batch_download(session, ids, dest, mark_as_read=True)
    assert len(attempts) == 4
    assert fake.read == set()
    assert sorted(fake.calls) == ["unmark <a@x>", "unmark <b@x>"]


async def test_progress_counts_every_body(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    fake.limit = 5 * K
    ids = [fake.add("<big@x>", 3 * K, 3 * K, 3 * K), fake.add("<b@x>", K)]
    seen: list[tuple[int, int | None]] = []
    await batch_download(session, ids, dest, progress=lambda d, t: seen.append((d, t)))
    done = [d for d, _ in seen]
    assert done == sorted(done)
    assert {t for _, t in seen} == {None}
    assert done[-1] == fake.sent_bytes  # two archives and two single attachments
