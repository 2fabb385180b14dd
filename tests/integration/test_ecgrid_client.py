"""ecgrid.Session against the ECGrid emulator over real loopback sockets (issue 15)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from as2gw_async import ecgrid
from as2gw_async.emulator.ecgrid import HOSTILE_FILE_NAMES, ECGridServer, ECGridState
from as2gw_async.errors import (
    AuthenticationError,
    BadRequestError,
    IntegrityError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)


@pytest.fixture
def state(ecgrid_emulator: ECGridServer) -> ECGridState:
    return ecgrid_emulator.state


@pytest.fixture
async def s(ecgrid_emulator: ECGridServer) -> AsyncIterator[ecgrid.Session]:
    async with ecgrid.Session(
        api_key=ecgrid_emulator.api_key, base_url=ecgrid_emulator.base_url
    ) as session:
        yield session


def _login_session(server: ECGridServer, **kwargs: object) -> ecgrid.Session:
    return ecgrid.Session(
        login=server.login, password=server.password, base_url=server.base_url, **kwargs
    )


# -- paging ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [1, 2, 3])
@pytest.mark.parametrize("spelling", ["reference", "guide"])
async def test_pending_over_three_pages_in_each_shape(
    s: ecgrid.Session, state: ECGridState, shape: int, spelling: str
) -> None:
    state.page_shape = shape
    state.spelling = spelling
    ids = state.seed_inbox(25, sizes=[100, 200])
    before = state.stats.routes["parcels/pending-inbox-list"]
    got = [p async for p in s.parcels.pending(page_length=10)]
    assert [p.parcel_id for p in got] == ids
    assert [p.size for p in got[:2]] == [100, 200]
    assert all(p.status is ecgrid.ParcelStatus.IN_BOX_READY for p in got)
    assert all(p.ecgrid_id_from is not None and p.created is not None for p in got)
    # 3 pages (10 + 10 + 5): the short page (or the total) ends it, nothing fetched past it
    assert state.stats.routes["parcels/pending-inbox-list"] - before == 3


@pytest.mark.parametrize("shape", [1, 2, 3])
async def test_pending_stops_on_an_exact_multiple(
    s: ecgrid.Session, state: ECGridState, shape: int
) -> None:
    state.page_shape = shape
    ids = state.seed_inbox(20)
    assert [p.parcel_id async for p in s.parcels.pending(page_length=10)] == ids


async def test_inbox_filters_and_unknown_status_kept(s: ecgrid.Session, state: ECGridState) -> None:
    ready = state.seed_inbox(3)
    odd = state.seed_inbox(2, status="OutBoxDelivered")
    got = [p async for p in s.parcels.inbox(status="OutBoxDelivered")]
    assert [p.parcel_id for p in got] == odd
    assert got[0].status == "OutBoxDelivered"
    assert not isinstance(got[0].status, ecgrid.ParcelStatus)
    everything = [p.parcel_id async for p in s.parcels.inbox(page_length=2)]
    assert everything == ready + odd
    out = state.seed_inbox(2, outbound=True, status="outboxPending")
    assert [p.parcel_id async for p in s.parcels.outbox()] == out


# -- download / confirm --------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["reference", "guide"])
async def test_download_is_not_confirmed_until_confirm(
    s: ecgrid.Session, state: ECGridState, tmp_path: Path, spelling: str
) -> None:
    state.spelling = spelling
    (pid,) = state.seed_inbox(1, sizes=300_000)
    f = await s.parcels.download(pid, tmp_path)
    assert f.path.read_bytes() == state.parcel(pid).read()
    assert f.size == 300_000
    assert f.path.parent == tmp_path
    assert state.parcel(pid).confirms == 0
    assert [p.parcel_id async for p in s.parcels.pending()] == [pid]  # delivered again
    await s.parcels.confirm(pid)
    assert state.parcel(pid).status == "InBoxTransferred"
    assert [p async for p in s.parcels.pending()] == []


async def test_size_mismatch_raises_with_nothing_at_the_final_path(
    s: ecgrid.Session, state: ECGridState, tmp_path: Path
) -> None:
    (pid,) = state.seed_inbox(1, sizes=5000, file_names=["order.edi"])
    state.mismatch_next_download(delta=1)
    with pytest.raises(IntegrityError, match="declared 5001 bytes"):
        await s.parcels.download(pid, tmp_path)
    assert os.listdir(tmp_path) == []  # no final file, no temporary left
    assert state.parcel(pid).confirms == 0


async def test_reset_mid_download_is_fetched_again(
    s: ecgrid.Session, state: ECGridState, tmp_path: Path
) -> None:
    (pid,) = state.seed_inbox(1, sizes=400_000)
    state.reset_next_download(fraction=0.5)
    f = await s.parcels.download(pid, tmp_path)
    assert f.path.read_bytes() == state.parcel(pid).read()
    assert state.parcel(pid).downloads == 2
    assert os.listdir(tmp_path) == [f.path.name]


async def test_hostile_file_names_stay_inside_dest(
    s: ecgrid.Session, state: ECGridState, tmp_path: Path
) -> None:
    dest = tmp_path / "in"
    dest.mkdir()
    ids = state.seed_inbox(len(HOSTILE_FILE_NAMES), file_names=list(HOSTILE_FILE_NAMES))
    for pid in ids:
        f = await s.parcels.download(pid, dest, overwrite=True)
        assert f.path.resolve().parent == dest.resolve()
        assert f.path.read_bytes() == state.parcel(pid).read()
    assert {p.name for p in tmp_path.iterdir()} == {"in"}


# -- upload --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 2, 3, 786_431, 786_432, 786_433, 2_000_001])
async def test_upload_streams_any_size(
    s: ecgrid.Session, state: ECGridState, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    path = tmp_path / "po.edi"
    path.write_bytes(data)
    pid = await s.parcels.upload(path, ecgrid_id_from=1, ecgrid_id_to=2)
    parcel = state.parcel(pid)
    assert parcel.read() == data
    assert parcel.file_name == "po.edi"
    assert state.stats.uploads == 1


async def test_upload_is_not_repeated_after_a_500(
    s: ecgrid.Session, state: ECGridState, tmp_path: Path
) -> None:
    path = tmp_path / "po.edi"
    path.write_bytes(b"ISA*00*")
    state.fail_next("parcels/upload", status=500, count=1)
    with pytest.raises(InternalServerError):
        await s.parcels.upload(path, ecgrid_id_from=1, ecgrid_id_to=2)
    assert state.stats.routes["parcels/upload"] == 1


async def test_upload_answer_as_object(
    s: ecgrid.Session, state: ECGridState, tmp_path: Path
) -> None:
    state.upload_answer = "object"
    path = tmp_path / "po.edi"
    path.write_bytes(b"x" * 10)
    pid = await s.parcels.upload(path, ecgrid_id_from=1, ecgrid_id_to=2)
    assert state.parcel(pid).read() == b"x" * 10


# -- errors and retries --------------------------------------------------------------------


async def test_a_429_is_waited_out(s: ecgrid.Session, state: ECGridState) -> None:
    ids = state.seed_inbox(2)
    state.rate_limit_next("parcels/pending-inbox-list", retry_after=1)
    started = time.monotonic()
    assert [p.parcel_id async for p in s.parcels.pending()] == ids
    assert time.monotonic() - started >= 0.9  # Retry-After honoured (a lower bound only)
    assert s.stats.rate_limited == 1
    assert s.stats.retries == 1


async def test_429_beyond_retries_is_a_rate_limit_error(
    ecgrid_emulator: ECGridServer, state: ECGridState
) -> None:
    state.rate_limit_next("parcels/pending-inbox-list", retry_after=0, count=2)
    async with ecgrid.Session(
        api_key=ecgrid_emulator.api_key, base_url=ecgrid_emulator.base_url, max_retries=1
    ) as s:
        with pytest.raises(RateLimitError) as info:
            [p async for p in s.parcels.pending()]
    assert info.value.error_code == "RateLimitExceeded"


async def test_envelope_errors_with_http_200_raise(s: ecgrid.Session, state: ECGridState) -> None:
    (pid,) = state.seed_inbox(1)
    state.envelope_error_next("parcels/confirm", "AccessDenied")
    with pytest.raises(PermissionDeniedError) as info:
        await s.parcels.confirm(pid)
    assert info.value.error_code == "AccessDenied"
    assert info.value.status_code == 200
    assert state.parcel(pid).confirms == 0


async def test_typed_errors(s: ecgrid.Session, state: ECGridState) -> None:
    with pytest.raises(NotFoundError) as nf:
        await s.parcels.get(1)
    assert nf.value.error_code == "ObjectNotFound"
    with pytest.raises(BadRequestError) as bad:
        await s.call("POST", "/v2/parcels/update", json={})
    assert bad.value.error_code == "InvalidParameter"
    (pid,) = state.seed_inbox(1)
    with pytest.raises(BadRequestError):  # an inbound parcel cannot be cancelled
        await s.parcels.cancel(pid)


async def test_wrong_key_is_an_authentication_error(ecgrid_emulator: ECGridServer) -> None:
    async with ecgrid.Session(api_key="wrong", base_url=ecgrid_emulator.base_url) as s:
        with pytest.raises(AuthenticationError) as info:
            await s.parcels.get(1)
    assert info.value.error_code == "InvalidAPIKey"
    assert "wrong" not in str(info.value)


async def test_500_on_a_list_is_retried(s: ecgrid.Session, state: ECGridState) -> None:
    ids = state.seed_inbox(1)
    state.fail_next("parcels/pending-inbox-list", status=503, count=2)
    assert s.retry_policy.retry_statuses == frozenset({429, 500, 503})
    assert [p.parcel_id async for p in s.parcels.pending()] == ids
    assert s.stats.retries == 2


# -- login, refresh, logout ----------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_refresh_never_lets_the_old_token_be_used(
    ecgrid_emulator: ECGridServer, state: ECGridState
) -> None:
    clock = _Clock()
    state.clock = clock
    state.seed_inbox(1)
    async with _login_session(ecgrid_emulator) as s:
        s._tokens._clock = clock  # the client's and the server's time move together
        await s.parcels.get(state.pending()[0].parcel_id)
        assert state.stats.logins == 1
        clock.now += state.token_ttl - 100  # inside the refresh margin, still valid

        async def one() -> None:
            await s.parcels.get(state.pending()[0].parcel_id)

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(one)
        assert state.stats.refreshes == 1
        assert state.stats.logins == 1
        assert state.stats.stale_token_uses == 0
        assert state.stats.error_codes["InvalidSession"] == 0
    assert state.stats.logouts == 1
    assert len(state.live_tokens()) == 0


async def test_50_calls_with_an_expired_token_make_one_login(
    ecgrid_emulator: ECGridServer, state: ECGridState
) -> None:
    clock = _Clock()
    state.clock = clock
    (pid,) = state.seed_inbox(1)
    async with _login_session(ecgrid_emulator) as s:
        s._tokens._clock = clock
        await s.parcels.get(pid)
        clock.now += state.token_ttl + 10  # expired on both sides: refresh refused, login

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(s.parcels.get, pid)
        assert state.stats.logins == 2  # the first, and one for the 50
        assert state.stats.routes["auth/refresh"] == 1  # tried once, refused, then a login
        assert state.stats.refreshes == 0
        assert state.stats.stale_token_uses == 0


async def test_server_side_expiry_costs_one_login_for_50_calls(
    ecgrid_emulator: ECGridServer, state: ECGridState
) -> None:
    (pid,) = state.seed_inbox(1)
    async with _login_session(ecgrid_emulator) as s:
        await s.parcels.get(pid)
        state.expire_tokens()  # the client does not know: each call gets one 401
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(s.parcels.get, pid)
        assert state.stats.logins == 2


async def test_refresh_with_refresh_tokens(
    ecgrid_emulator: ECGridServer, state: ECGridState
) -> None:
    clock = _Clock()
    state.clock = clock
    state.refresh_tokens = True
    (pid,) = state.seed_inbox(1)
    async with _login_session(ecgrid_emulator) as s:
        s._tokens._clock = clock
        await s.parcels.get(pid)
        clock.now += state.token_ttl - 100
        await s.parcels.get(pid)
        assert state.stats.refreshes == 1
        assert state.stats.logins == 1
        assert state.stats.stale_token_uses == 0


async def test_bad_password_is_an_authentication_error(ecgrid_emulator: ECGridServer) -> None:
    async with ecgrid.Session(
        login=ecgrid_emulator.login, password="nope", base_url=ecgrid_emulator.base_url
    ) as s:
        with pytest.raises(AuthenticationError, match="login failed") as info:
            await s.parcels.get(1)
    assert "nope" not in str(info.value)


async def test_interchanges_and_generic_calls(s: ecgrid.Session, state: ECGridState) -> None:
    ids = state.seed_inbox(5)
    got = [i async for i in s.interchanges.inbox(page_length=2)]
    assert [i.parcel_id for i in got] == ids
    one = await s.interchanges.get(got[0].interchange_id)
    assert one == got[0]
    assert (await s.interchanges.manifest(one.interchange_id))[0]["transactionSetType"] == "850"
    isa = (
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
        "*260507*0800*U*00401*000000001*0*P*>~"
    )
    assert (await s.interchanges.header(isa))["senderId"].strip() == "SENDER"
    when = await s.interchanges.date(isa)
    assert when is not None
    assert (when.year, when.month, when.hour) == (2026, 5, 8)
    await s.interchanges.resend(one.interchange_id)
    assert state.interchange(one.interchange_id).resends == 1
    mailboxes = await s.call("POST", "/v2/mailboxes/list", json={})
    assert mailboxes["totalRecords"] == len(mailboxes["mailboxes"])
    assert (await s.session_info())["mailboxId"]


async def test_other_parcel_calls(s: ecgrid.Session, state: ECGridState) -> None:
    (pid,) = state.seed_inbox(1)
    await s.parcels.confirm(pid)
    await s.parcels.reset_to_inbox(pid)
    assert state.parcel(pid).status == "InBoxReady"
    p = await s.parcels.update(pid, status="InBoxArchived")
    assert p.status is ecgrid.ParcelStatus.IN_BOX_ARCHIVED
    await s.parcels.set_mailbag_control_id(pid, "MB-1")
    assert [x.parcel_id for x in await s.parcels.find_by_mailbag_control_id("MB-1")] == [pid]
    await s.parcels.acknowledgment_note(pid, "thanks")
    assert state.parcel(pid).notes == ["thanks"]
    entries = await s.parcels.manifest(pid)
    assert entries[0].document_type == "850"
    test_pid = await s.parcels.send_test_file(1, 2)
    assert state.parcel(test_pid).outbound
    out = state.seed_inbox(1, outbound=True, status="outboxPending")
    await s.parcels.cancel(out[0])
    assert state.parcel(out[0]).status == "Cancelled"


# -- the inbox consumer over ECGrid ----------------------------------------------------------


async def test_inbox_consumer_drains_and_confirms_after_delivery(
    s: ecgrid.Session, state: ECGridState, tmp_path: Path
) -> None:
    from as2gw_async import InboxConsumer

    ids = state.seed_inbox(12, sizes=[10, 5000], file_names=["a.edi", "../b.edi", "CON"])
    seen: list[str] = []
    async with InboxConsumer(s, tmp_path) as consumer:
        async for delivered in consumer:
            # handed over before it is confirmed: a crash here means delivered again
            assert state.parcel(int(delivered.message_id)).confirms == 0
            assert isinstance(delivered.message, ecgrid.Parcel)
            (f,) = delivered.files
            assert f.path.read_bytes() == state.parcel(int(delivered.message_id)).read()
            seen.append(delivered.message_id)
    assert sorted(seen, key=int) == [str(i) for i in ids]
    assert all(state.parcel(i).confirms == 1 for i in ids)
    assert state.pending() == []
    async with InboxConsumer(s, tmp_path) as consumer:  # nothing left, nothing again
        assert [d async for d in consumer] == []


async def test_inbox_date_filters(s: ecgrid.Session, state: ECGridState) -> None:
    import datetime as dt

    ids = state.seed_inbox(10)  # created 08:00:00, 08:00:01, ... UTC
    start = dt.datetime(2026, 5, 7, 10, 0, 3, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    got = [
        p.parcel_id
        async for p in s.parcels.inbox(begin=start, end="2026-05-07T08:00:06Z", page_length=2)
    ]
    assert got == ids[3:7]


async def test_upload_refused_with_429_is_sent_again_from_the_file(
    s: ecgrid.Session, state: ECGridState, tmp_path: Path
) -> None:
    data = os.urandom(1_000_003)
    path = tmp_path / "po.edi"
    path.write_bytes(data)
    state.rate_limit_next("parcels/upload", retry_after=0)
    pid = await s.parcels.upload(path, ecgrid_id_from=1, ecgrid_id_to=2)
    assert state.parcel(pid).read() == data  # the body was reopened, not half-consumed
    assert state.stats.routes["parcels/upload"] == 2
    assert state.stats.uploads == 1
