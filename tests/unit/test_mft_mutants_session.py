"""Tests that kill surviving mutants of `as2gw_async/mft/` (session, admin, webhooks, errors,
models, naming; see docs/mutation.md).

Each test names the mutants it kills, so nobody deletes it as redundant.
"""

from __future__ import annotations

import base64
import json
import math
import types
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async import mft
from as2gw_async.auth import Grant, Token
from as2gw_async.mft import session as session_module
from as2gw_async.ratelimit import GATEWAY_RATE_LIMIT

BASE = "https://api.mft.test"
USER = "user@example.com"
PASSWORD = "pa55-word-SECRET"
TID = "token-id-1"
TSECRET = "token-SECRET-value"
NOW = 1_000_000.0
FAST = gw.RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)


def jwt(claims: Any) -> str:
    def part(data: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2lnbmF0dXJl"


TOKEN = jwt({"sub": USER, "exp": 4_102_444_800})


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """`session.time.time()` frozen at NOW (only the mft session module's view of it)."""
    monkeypatch.setattr(session_module, "time", types.SimpleNamespace(time=lambda: NOW))


@pytest.fixture
async def by_password(router: respx.MockRouter) -> AsyncIterator[mft.Session]:
    router.post("/authorize").respond(200, json={"apiToken": TOKEN, "refreshToken": "r-1"})
    async with mft.Session(USER, PASSWORD, base_url=BASE, rate_limit=None, retry_policy=FAST) as s:
        yield s


@pytest.fixture
async def by_token(router: respx.MockRouter) -> AsyncIterator[mft.Session]:
    async with mft.Session(
        token_id=TID, token_secret=TSECRET, base_url=BASE, rate_limit=None, retry_policy=FAST
    ) as s:
        yield s


def stale(value: str, refresh_token: str | None = "r-old") -> Token:
    return Token(value, 4_102_444_800.0, 0.0, refresh_token)


# -- Session.__init__ / __repr__ ---------------------------------------------------------


def test_constructor_messages_and_defaults() -> None:
    with pytest.raises(ValueError, match=r"^username and password are both required$"):
        mft.Session(USER, "")
    with pytest.raises(ValueError, match=r"^username and password are both required$"):
        mft.Session(None, PASSWORD)
    with pytest.raises(ValueError, match=r"^token_id and token_secret are both required$"):
        mft.Session(token_id="", token_secret=TSECRET)
    with pytest.raises(ValueError, match=r"^token_id and token_secret are both required$"):
        mft.Session(token_secret=TSECRET)
    with pytest.raises(
        ValueError, match="log in with username and password, or with token_id and token_secret"
    ) as info:
        mft.Session(USER, PASSWORD, token_secret=TSECRET)
    assert str(info.value) == (
        "log in with username and password, or with token_id and token_secret (one pair, not both)"
    )
    s = mft.Session(USER, PASSWORD)
    assert (s.username, s.token_id, s._password, s._token_secret) == (USER, None, PASSWORD, None)
    assert s.base_url == "https://api.mftgateway.com"
    assert s._limiter is not None
    assert s._limiter.limit == GATEWAY_RATE_LIMIT
    assert mft.Session(USER, PASSWORD, rate_limit=None)._limiter is None
    assert (
        repr(s) == "<mft.Session username='user@example.com' base_url='https://api.mftgateway.com'>"
    )
    t = mft.Session(token_id=TID, token_secret=TSECRET, base_url=BASE)
    assert (t.username, t.token_id, t._password, t._token_secret) == (None, TID, None, TSECRET)
    # kills: __repr__: `if self.username` -> `if (self.username) and False`
    assert repr(t) == "<mft.Session token_id='token-id-1' base_url='https://api.mft.test'>"
    # both secrets are scrubbed from texts
    assert PASSWORD not in s.redactor.scrub(f"x {PASSWORD} y")
    assert TSECRET not in t.redactor.scrub(f"x {TSECRET} y")
    assert [f.kind for f in (s.outbox, s.queued, s.failed)] == ["outbox", "queued", "failed"]
    assert (s.inbox._session, s.certificates._session) == (s, s)
    assert (s.stations._session, s.partners._session) == (s, s)


# -- Session.from_env --------------------------------------------------------------------

ENV = ("MFTGW_BASE_URL", "MFTGW_USERNAME", "MFTGW_PASSWORD", "MFTGW_TOKEN_ID", "MFTGW_TOKEN_SECRET")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_from_env_with_a_password(env: pytest.MonkeyPatch) -> None:
    # kills: from_env: the names of MFTGW_USERNAME / MFTGW_PASSWORD mutated where they are
    # read, the arguments passed on to cls() dropped or None, **kwargs dropped.
    env.setenv("MFTGW_PASSWORD", PASSWORD)
    with pytest.raises(ValueError, match="environment variable") as info:
        mft.Session.from_env()
    assert str(info.value) == "environment variable(s) not set: MFTGW_USERNAME"
    env.setenv("MFTGW_USERNAME", USER)
    env.setenv("MFTGW_BASE_URL", BASE)
    s = mft.Session.from_env(rate_limit=None)
    assert (s.username, s._password, s.token_id, s.base_url) == (USER, PASSWORD, None, BASE)
    assert s._limiter is None  # the keyword arguments are passed on
    s = mft.Session.from_env(base_url="https://other.test")
    assert s.base_url == "https://other.test"  # an explicit base_url wins over the variable
    env.delenv("MFTGW_PASSWORD")
    with pytest.raises(ValueError, match="environment variable") as info:
        mft.Session.from_env()
    assert str(info.value) == "environment variable(s) not set: MFTGW_PASSWORD"
    env.setenv("MFTGW_USERNAME", "")
    env.setenv("MFTGW_TOKEN_ID", TID)
    env.setenv("MFTGW_TOKEN_SECRET", TSECRET)
    assert mft.Session.from_env().token_id == TID  # an empty username does not count


def test_from_env_with_a_token(env: pytest.MonkeyPatch) -> None:
    # kills: from_env: `MFTGW_TOKEN_ID or MFTGW_TOKEN_SECRET` -> `and`, their names mutated,
    # `missing = None`, the message None / 'XX, XX'.join / join(None).
    env.setenv("MFTGW_TOKEN_SECRET", TSECRET)
    with pytest.raises(ValueError, match="environment variable") as info:
        mft.Session.from_env()
    assert str(info.value) == "environment variable(s) not set: MFTGW_TOKEN_ID"
    env.delenv("MFTGW_TOKEN_SECRET")
    env.setenv("MFTGW_TOKEN_ID", TID)
    with pytest.raises(ValueError, match="environment variable") as info:
        mft.Session.from_env()
    assert str(info.value) == "environment variable(s) not set: MFTGW_TOKEN_SECRET"
    env.setenv("MFTGW_TOKEN_SECRET", TSECRET)
    s = mft.Session.from_env(rate_limit=None)
    assert (s.username, s.token_id, s._token_secret) == (None, TID, TSECRET)
    assert s._limiter is None
    assert s.base_url == "https://api.mftgateway.com"  # no MFTGW_BASE_URL: the default


def test_from_env_with_nothing_or_two_missing(env: pytest.MonkeyPatch) -> None:
    # kills: from_env: the last message None, 'XX...XX', lower- or upper-cased; the joined
    # list of missing names with another separator.
    with pytest.raises(ValueError, match="environment variables not set") as info:
        mft.Session.from_env()
    assert str(info.value) == (
        "environment variables not set: MFTGW_USERNAME and MFTGW_PASSWORD, or "
        "MFTGW_TOKEN_ID and MFTGW_TOKEN_SECRET"
    )
    env.setenv("MFTGW_USERNAME", USER)
    with pytest.raises(ValueError, match="environment variable") as info:
        mft.Session.from_env()
    assert str(info.value) == "environment variable(s) not set: MFTGW_PASSWORD"
    env.setenv("MFTGW_BASE_URL", "")  # empty: not used
    env.setenv("MFTGW_PASSWORD", PASSWORD)
    assert mft.Session.from_env().base_url == "https://api.mftgateway.com"


# -- Session.wait_for_delivery -----------------------------------------------------------


async def test_wait_for_delivery_passes_its_defaults_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # kills: wait_for_delivery: timeout 120.0 -> 121.0, poll_interval 2.0 -> 3.0,
    # initial_delay=initial_delay -> None
    from as2gw_async.mft import sending

    seen: list[tuple[Any, ...]] = []

    async def fake(session: Any, message_id: str, **kwargs: Any) -> str:
        seen.append((session, message_id, kwargs))
        return "done"

    monkeypatch.setattr(sending, "wait_for_delivery", fake)
    s = mft.Session(USER, PASSWORD)
    assert await s.wait_for_delivery("<m@x>") == "done"
    assert await s.wait_for_delivery("<n@x>", timeout=5, poll_interval=1, initial_delay=0.5)
    assert seen == [
        (s, "<m@x>", {"timeout": 120.0, "poll_interval": 2.0, "initial_delay": None}),
        (s, "<n@x>", {"timeout": 5, "poll_interval": 1, "initial_delay": 0.5}),
    ]


# -- Session._authorize / _grant ---------------------------------------------------------


async def test_authorize_by_password_sends_the_body_unauthenticated(
    router: respx.MockRouter, clock: None
) -> None:
    route = router.post("/authorize").mock(
        side_effect=[
            httpx.Response(500, json={"message": "flaky"}),  # idempotent: asked again
            httpx.Response(200, json={"apiToken": "opaque", "apiTokenExpiryIn": 60}),
        ]
    )
    async with mft.Session(USER, PASSWORD, base_url=BASE, rate_limit=None, retry_policy=FAST) as s:
        grant = await s._authorize()
    assert grant == Grant("opaque", NOW + 60, None)
    assert route.call_count == 2
    sent = route.calls.last.request
    assert json.loads(sent.content) == {"username": USER, "password": PASSWORD}
    assert "Authorization" not in sent.headers


async def test_authorize_by_token_and_its_refusal(
    router: respx.MockRouter, by_token: mft.Session
) -> None:
    route = router.post("/authorize").respond(401, json={"message": "Bad credentials"})
    with pytest.raises(gw.AuthenticationError) as info:
        await by_token._authorize()
    assert json.loads(route.calls.last.request.content) == {
        "tokenID": TID,
        "tokenSecret": TSECRET,
    }
    assert info.value.message == f"authorization failed for API token {TID}: Bad credentials"
    assert info.value.response.status_code == 401
    assert info.value.response.request.url.path == "/authorize"
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    assert route.call_count == 1  # a 401 is not retried


async def test_authorize_by_password_refused_names_the_user(router: respx.MockRouter) -> None:
    router.post("/authorize").respond(401, json={"message": "Bad credentials"})
    async with mft.Session(USER, PASSWORD, base_url=BASE, rate_limit=None) as s:
        with pytest.raises(gw.AuthenticationError) as info:
            await s._authorize()
    assert info.value.message == f"authorization failed for {USER}: Bad credentials"


@pytest.mark.parametrize(
    "answer",
    [
        {"message": "ok"},
        {"apiToken": ""},
        {"apiToken": 5},
        ["apiToken", TOKEN],
    ],
)
async def test_an_answer_without_a_token_is_malformed(
    router: respx.MockRouter, by_token: mft.Session, answer: Any
) -> None:
    router.post("/authorize").respond(200, json=answer)
    with pytest.raises(gw.MalformedResponseError) as info:
        await by_token._authorize()
    assert str(info.value) == "the answer of POST /authorize holds no api token"
    assert info.value.endpoint == "POST /authorize"
    assert info.value.response.status_code == 200


@pytest.mark.parametrize(
    ("answer", "refresh"),
    [
        ({"apiToken": TOKEN, "refreshToken": "r-2"}, "r-2"),
        ({"api_token": TOKEN, "refresh_token": "r-3"}, "r-3"),
        ({"apiToken": TOKEN, "refreshToken": ""}, None),
        ({"apiToken": TOKEN, "refreshToken": 7}, None),
        ({"apiToken": TOKEN}, None),
    ],
)
async def test_the_grant_of_an_answer(
    router: respx.MockRouter, by_token: mft.Session, answer: Any, refresh: str | None
) -> None:
    router.post("/authorize").respond(200, json=answer)
    grant = await by_token._authorize()
    assert grant == Grant(TOKEN, 4_102_444_800.0, refresh)


# -- _expiry / _jwt_claims ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expires_in", "expected"),
    [
        ("opaque", 900, NOW + 900),
        ("opaque", 0.5, NOW + 0.5),
        ("opaque", "900", NOW + 900),
        ("opaque", " 90.5 ", NOW + 90.5),
        (TOKEN, None, 4_102_444_800),
        (TOKEN, True, 4_102_444_800),  # a bool is not a number of seconds
        (TOKEN, 0, 4_102_444_800),
        (TOKEN, -5, 4_102_444_800),
        (TOKEN, "junk", 4_102_444_800),
        (TOKEN, "inf", 4_102_444_800),
        (TOKEN, "nan", 4_102_444_800),
        (TOKEN, [900], 4_102_444_800),
        (jwt({"exp": 1234.5}), None, 1234.5),
        (jwt({"exp": 1}), None, 1.0),
        (jwt({"exp": 0}), None, NOW + 3600),
        (jwt({"exp": -1}), None, NOW + 3600),
        (jwt({"exp": True}), None, NOW + 3600),
        (jwt({"exp": "4102444800"}), None, NOW + 3600),
        ("opaque", None, NOW + 3600),
    ],
)
def test_expiry(clock: None, token: str, expires_in: object, expected: float) -> None:
    got = session_module._expiry(token, expires_in)
    assert got == expected
    assert type(got) is float


def test_expiry_of_an_infinite_exp(clock: None) -> None:
    payload = base64.urlsafe_b64encode(b'{"exp": Infinity}').decode().rstrip("=")
    assert session_module._expiry(f"h.{payload}.s", None) == NOW + 3600
    assert session_module._expiry("opaque", math.inf) == NOW + 3600
    assert session_module.DEFAULT_TOKEN_LIFETIME == 3600.0


@pytest.mark.parametrize("sub", ["a", "ab", "abc", "abcd", "abcde", "abcdef"])
def test_jwt_claims_of_every_padding(sub: str) -> None:
    assert session_module._jwt_claims(jwt({"sub": sub})) == {"sub": sub}


@pytest.mark.parametrize(
    "token",
    [
        "opaque",
        "a.b",
        "a.b.c.d",
        f"h.{base64.urlsafe_b64encode(b'not json').decode()}.s",
        f"h.{base64.urlsafe_b64encode(bytes([0xFF, 0xFE, 0x00])).decode()}.s",
        "h.@@@@.s",
        jwt(["sub", "x"]),
        jwt("sub"),
    ],
)
def test_jwt_claims_of_what_is_not_a_jwt(token: str) -> None:
    assert session_module._jwt_claims(token) == {}


# -- Session._refresh --------------------------------------------------------------------


async def test_refresh_by_password_sends_the_username(
    router: respx.MockRouter, by_password: mft.Session
) -> None:
    # kills: _refresh: `self.username and ...`, `username is not None` (the JWT's sub would
    # replace the session's username), username = None
    route = router.post("/refresh-session").respond(200, json={"apiToken": TOKEN})
    other = jwt({"sub": "someone-else", "username": "another"})
    grant = await by_password._refresh(stale(other))
    assert json.loads(route.calls.last.request.content) == {
        "username": USER,
        "refreshToken": "r-old",
    }
    assert "Authorization" not in route.calls.last.request.headers
    # kills: _refresh: `refresh_token is None` -> `is not None`, and every mutant of the
    # Grant that keeps the old refresh token (None, arguments dropped or swapped)
    assert grant == Grant(TOKEN, 4_102_444_800.0, "r-old")
    assert type(grant) is Grant


async def test_refresh_keeps_a_new_refresh_token(
    router: respx.MockRouter, by_password: mft.Session
) -> None:
    # kills: _refresh: `grant.refresh_token is None` -> `is not None`
    router.post("/refresh-session").respond(200, json={"apiToken": TOKEN, "refreshToken": "r-new"})
    assert await by_password._refresh(stale(TOKEN)) == Grant(TOKEN, 4_102_444_800.0, "r-new")


@pytest.mark.parametrize(
    ("claims", "username"),
    [
        ({"username": "claimed", "sub": "subject"}, "claimed"),
        ({"sub": "subject"}, "subject"),
        ({"username": "", "sub": "subject"}, "subject"),
        ({"username": None, "sub": "subject"}, "subject"),
    ],
)
async def test_refresh_by_token_reads_the_username_of_the_jwt(
    router: respx.MockRouter, by_token: mft.Session, claims: dict[str, Any], username: str
) -> None:
    # kills: _refresh: `.get("username")` -> get(None) / "XXusernameXX" / "USERNAME",
    # `_jwt_claims(None)`, `... or None` -> `and None`, `.get("sub")` -> get(None) /
    # "XXsubXX" / "SUB", `_jwt_claims(None).get("sub")`, `username = None`
    route = router.post("/refresh-session").respond(200, json={"apiToken": TOKEN})
    await by_token._refresh(stale(jwt(claims)))
    assert json.loads(route.calls.last.request.content) == {
        "username": username,
        "refreshToken": "r-old",
    }


@pytest.mark.parametrize(
    ("value", "refresh_token"),
    [
        (jwt({"exp": 1}), "r-old"),  # no username
        (jwt({"sub": ""}), "r-old"),  # an empty one
        (jwt({"sub": 123}), "r-old"),  # not a string
        (jwt({"sub": "subject"}), None),  # no refresh token
        (jwt({"sub": "subject"}), ""),
        ("opaque", "r-old"),
    ],
)
async def test_refresh_without_what_it_needs_is_refused_at_once(
    router: respx.MockRouter, by_token: mft.Session, value: str, refresh_token: str | None
) -> None:
    # kills: _refresh: the `or`s of the refusal turned to `and`; the refusal's message and
    # response None, dropped or changed (status, method, path)
    route = router.post("/refresh-session").respond(200, json={"apiToken": TOKEN})
    with pytest.raises(gw.AuthenticationError) as info:
        await by_token._refresh(stale(value, refresh_token))
    assert route.call_count == 0
    assert info.value.message == "no username to refresh this token with; authorizing again"
    assert info.value.status_code == 401
    assert info.value.request.method == "POST"
    assert str(info.value.request.url) == "/refresh-session"


async def test_a_token_session_without_a_username_authorizes_again(
    router: respx.MockRouter, by_token: mft.Session, clock: None
) -> None:
    # The refusal goes through the token manager: a new /authorize, no /refresh-session.
    nameless = jwt({"exp": NOW + 30})
    auth = router.post("/authorize").mock(
        side_effect=[
            httpx.Response(200, json={"apiToken": nameless, "refreshToken": "r-1"}),
            httpx.Response(200, json={"apiToken": TOKEN, "refreshToken": "r-2"}),
        ]
    )
    refresh = router.post("/refresh-session").respond(200, json={"apiToken": TOKEN})
    listing = router.get("/message/inbox").respond(200, json={"messages": []})
    by_token._tokens._clock = lambda: NOW
    await by_token.inbox.list_ids()
    by_token._tokens._clock = lambda: NOW + 20  # inside the margin: a renewal is due
    await by_token.inbox.list_ids()
    assert (auth.call_count, refresh.call_count) == (2, 0)
    assert [c.request.headers["Authorization"] for c in listing.calls] == [nameless, TOKEN]


async def test_a_refused_refresh_is_an_authentication_error(
    router: respx.MockRouter, by_password: mft.Session
) -> None:
    # kills: _refresh: the message of the refused refresh None
    route = router.post("/refresh-session").respond(500, json={"message": "Error refreshing"})
    with pytest.raises(gw.AuthenticationError) as info:
        await by_password._refresh(stale(TOKEN))
    assert info.value.message == "the gateway refused to refresh the session: Error refreshing"
    assert info.value.status_code == 500
    assert info.value.__cause__ is None
    assert route.call_count == 1  # not idempotent: not asked again


# -- admin -------------------------------------------------------------------------------


async def test_certificate_listing_query(
    router: respx.MockRouter, by_password: mft.Session
) -> None:
    route = router.get("/certificate").respond(
        200, json=[{"alias": "a1", "type": "STATION"}, {"alias": "a2", "type": "NEW_KIND"}]
    )
    every = await by_password.certificates.list()
    assert every == [
        mft.CertificateSummary(alias="a1", type=mft.CertificateType.STATION),
        mft.CertificateSummary(alias="a2", type="NEW_KIND"),
    ]
    assert route.calls.last.request.url.query == b""
    assert route.calls.last.request.method == "GET"
    await by_password.certificates.list(" partner_chain ")  # any case, spaces stripped
    assert route.calls.last.request.url.query == b"certType=PARTNER_CHAIN"
    await by_password.certificates.list(mft.CertificateType.HTTPS)
    assert route.calls.last.request.url.query == b"certType=HTTPS"


async def test_a_certificate_listing_that_is_not_a_list(
    router: respx.MockRouter, by_password: mft.Session
) -> None:
    # kills: Certificates.list: the MalformedResponseError's message, endpoint or response
    # None, dropped, 'XX..XX', upper- or lower-cased
    router.get("/certificate").respond(200, json={"certificates": []})
    with pytest.raises(gw.MalformedResponseError) as info:
        await by_password.certificates.list()
    assert str(info.value) == "the certificate listing is not a list"
    assert info.value.endpoint == "GET /certificate"
    assert info.value.response.status_code == 200
    assert info.value.response.json() == {"certificates": []}


async def test_certificate_get_checks_and_quotes_the_alias(
    router: respx.MockRouter, by_password: mft.Session
) -> None:
    # kills: Certificates.get: check_id('alias') -> None / 'XXaliasXX' / 'ALIAS'
    with pytest.raises(ValueError, match="alias must not be empty") as info:
        await by_password.certificates.get("")
    assert str(info.value) == "alias must not be empty"
    with pytest.raises(TypeError) as type_info:
        await by_password.certificates.get(5)  # type: ignore[arg-type]
    assert str(type_info.value) == "alias must be a str, not int"
    body = {"alias": "a/b", "type": "HTTPS", "serial_number": "01", "belongs_to": ["S"]}
    route = router.get("/certificate/a%2Fb").respond(200, json=body)
    cert = await by_password.certificates.get("a/b")
    assert route.calls.last.request.method == "GET"
    assert (cert.alias, cert.type, cert.serial_number, cert.belongs_to) == (
        "a/b",
        mft.CertificateType.HTTPS,
        "01",
        ("S",),
    )
    assert cert.raw == body  # the snake_case body as it came


@pytest.mark.parametrize(("body", "kind"), [([1], "list"), ("text", "str")])
async def test_a_certificate_that_is_not_an_object(
    router: respx.MockRouter, by_password: mft.Session, body: Any, kind: str
) -> None:
    # kills: Certificates.get: parse(None / data, None / response None / an argument
    # dropped) for a body that is not an object
    router.get("/certificate/c1").respond(200, json=body)
    with pytest.raises(gw.InvalidRecordError) as info:
        await by_password.certificates.get("c1")
    assert str(info.value) == (
        "Certificate from GET /certificate/c1 does not fit the model: "
        f"expected an object, not {kind}"
    )
    assert info.value.endpoint == "GET /certificate/c1"


@pytest.mark.parametrize("body", [[{"stationId": 5}], "created"])
async def test_a_creation_answer_that_is_not_an_object(
    router: respx.MockRouter, by_password: mft.Session, body: Any
) -> None:
    # kills: _create: the MalformedResponseError's message, endpoint or response None or
    # dropped; "POST" -> "post"
    route = router.post("/station").respond(201, json=body)
    with pytest.raises(gw.MalformedResponseError) as info:
        await by_password.stations.create("S", "s1", email="a@b", certificate={"type": "X"})
    assert route.calls.last.request.method == "POST"
    assert str(info.value) == "the answer of POST /station is not an object"
    assert info.value.endpoint == "POST /station"
    assert info.value.response.status_code == 201


@pytest.mark.parametrize(
    ("answer", "message", "new_id"),
    [
        ({"message": "Station created", "stationId": 12}, "Station created", 12),
        ({"message": 5, "stationId": True}, "", None),
        ({"stationId": "12"}, "", None),
        ({"stationId": 1.5, "partnerId": 3}, "", None),
        ({}, "", None),
    ],
)
async def test_a_station_creation_answer(
    router: respx.MockRouter,
    by_password: mft.Session,
    answer: dict[str, Any],
    message: str,
    new_id: int | None,
) -> None:
    # kills: _create: `isinstance(text, str) or True`, the "" default -> "XXXX",
    # `isinstance(new_id, int) ... or True`, `and not isinstance(new_id, bool)` -> `or`
    route = router.post("/station").respond(201, json=answer)
    created = await by_password.stations.create(
        "S", "s1", email="a@b", certificate={"type": "X"}, description="d"
    )
    assert created == mft.CreatedEntity(message=message, id=new_id)
    assert json.loads(route.calls.last.request.content) == {
        "name": "S",
        "as2Identifier": "s1",
        "email": "a@b",
        "certificate": {"type": "X"},
        "description": "d",
    }


async def test_a_partner_creation(router: respx.MockRouter, by_password: mft.Session) -> None:
    route = router.post("/partner").respond(
        201, json={"message": "Partner created", "partnerId": 4, "stationId": 9}
    )
    created = await by_password.partners.create(
        "P", "p1", url="https://p", encryption_certificate="QUJD", signMessage=True
    )
    assert created == mft.CreatedEntity(message="Partner created", id=4)
    assert json.loads(route.calls.last.request.content) == {
        "name": "P",
        "as2Identifier": "p1",
        "url": "https://p",
        "encryptionCertificate": "QUJD",
        "signMessage": True,
    }


async def test_creation_checks_the_as2_identifier(by_password: mft.Session) -> None:
    # kills: Stations.create / Partners.create: check_id("as2_identifier") -> None /
    # "XXas2_identifierXX" / "AS2_IDENTIFIER"
    with pytest.raises(ValueError, match="as2_identifier must not be empty") as info:
        await by_password.stations.create("S", "", email="a@b", certificate={})
    assert str(info.value) == "as2_identifier must not be empty"
    with pytest.raises(ValueError, match="as2_identifier must not be empty") as info:
        await by_password.partners.create("P", "", url="u", encryption_certificate="c")
    assert str(info.value) == "as2_identifier must not be empty"


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        [{"errors": [{"a": "b"}]}],  # a list, not an object
        {"message": "bad", "errors": {"a": "b"}},
        {"message": "bad", "errors": "a: b"},
        {"message": "bad"},
        "not json",
    ],
)
async def test_422_without_field_errors(
    router: respx.MockRouter, by_password: mft.Session, body: Any
) -> None:
    # kills: _field_errors: `isinstance(data, dict) or True` (a list has no .get)
    if isinstance(body, str):
        router.post("/partner").respond(422, text=body)
    else:
        router.post("/partner").respond(422, json=body)
    with pytest.raises(gw.UnprocessableEntityError) as info:
        await by_password.partners.create("P", "p1", url="u", encryption_certificate="c")
    assert info.value.field_errors == ()
    assert "a: b" not in info.value.message  # no details appended


async def test_422_field_errors_exactly(router: respx.MockRouter, by_password: mft.Session) -> None:
    router.post("/partner").respond(
        422,
        json={"message": "Invalid", "errors": [{"url": "bad url", "n": 1}, "junk", {"x": None}]},
    )
    with pytest.raises(gw.UnprocessableEntityError) as info:
        await by_password.partners.create("P", "p1", url="u", encryption_certificate="c")
    assert info.value.field_errors == ({"url": "bad url", "n": "1"}, {"x": "None"})
    assert info.value.message == "Invalid (url: bad url; n: 1; x: None)"


async def test_413_message(router: respx.MockRouter, by_password: mft.Session) -> None:
    router.post("/partner").respond(413, json={"message": "Too big"})
    with pytest.raises(gw.PayloadTooLargeError) as info:
        await by_password.partners.create("P", "p1", url="u", encryption_certificate="c")
    assert info.value.message == (
        "the message is too large for the gateway (Too big); the MFT Gateway does not "
        "document a size limit; it sends large files (over ~3 MB) through the account's "
        "own S3 bucket instead of the API"
    )


def test_error_for_a_success_is_none() -> None:
    from as2gw_async.mft.errors import error_for

    request = httpx.Request("GET", "https://x/")
    assert error_for(httpx.Response(200, request=request), b"{}") is None
    assert error_for(httpx.Response(204, request=request), b"") is None
    error = error_for(httpx.Response(302, request=request), b"")
    assert error is not None


# -- webhooks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "a webhook body that is not JSON (JSONDecodeError)"),
        (b"\xff\xfe\x00", "a webhook body that is not JSON (UnicodeDecodeError)"),
        ("[1, 2]", "a webhook body that is not a JSON object"),
        ([1, 2], "a webhook body that is not a JSON object"),
    ],
)
def test_webhook_bodies_that_are_not_objects(body: Any, message: str) -> None:
    # kills: parse_webhook: the messages None, 'XX..XX', case-changed, type(None).__name__;
    # _malformed: WebhookError(None)
    with pytest.raises(mft.WebhookError) as info:
        mft.parse_webhook(body)
    assert str(info.value) == message
    assert info.value.message == message
    assert isinstance(info.value, ValueError)
    assert info.value.__cause__ is None


@pytest.mark.parametrize(
    ("event_type", "kept"),
    [("CERTIFICATE.EXPIRING", "CERTIFICATE.EXPIRING"), (5, None), (None, None), ([1], None)],
)
def test_unknown_webhook_events(event_type: Any, kept: str | None) -> None:
    # kills: parse_webhook: `isinstance(event_type, str) or True` (an unhashable type is
    # looked up), event_type=None, `and False`, `or True` for the unknown event's type
    body = {"eventType": event_type, "alias": "a"}
    event = mft.parse_webhook(body)
    assert event == mft.UnknownEvent(event_type=kept, raw=body)
    assert event.raw is not body


def test_a_webhook_field_named_raw_is_not_a_field() -> None:
    # kills: parse_webhook: `k != "raw"` -> "XXrawXX" / "RAW"
    body = {"eventType": "MESSAGE.SEND.SUCCESS", "raw": 5, "sentAt": 3}
    event = mft.parse_webhook(json.dumps(body))
    assert isinstance(event, mft.MessageSentEvent)
    assert (event.sent_at, event.raw) == (3, body)


def test_a_webhook_of_the_wrong_shape() -> None:
    # kills: parse_webhook: the message None
    with pytest.raises(mft.WebhookError) as info:
        mft.parse_webhook({"eventType": "MESSAGE.SEND.FAILED", "failures": "lots"})
    assert str(info.value) == (
        "a MESSAGE.SEND.FAILED event of the wrong shape: failures must be an integer, not str"
        " 'lots'"
    )


def test_webhook_wire_names() -> None:
    body = {
        "eventType": "MESSAGE.RECEIVED.SUCCESS",
        "messageAS2ID": "<1@x>",
        "partnerAS2ID": "P",
        "stationAS2ID": "S",
        "messageAs2Id": "ignored-when-both",
    }
    event = mft.parse_webhook(body)
    assert isinstance(event, mft.MessageReceivedEvent)
    assert (event.partner_as2_id, event.station_as2_id) == ("P", "S")
    assert event.message_as2_id in ("<1@x>", "ignored-when-both")


# -- models ------------------------------------------------------------------------------


def test_lenient_enums() -> None:
    # kills: _Enum._missing_: `wanted = None`, `.lower()` -> `.upper()` on either side
    assert mft.CertificateType("station") is mft.CertificateType.STATION
    assert mft.CertificateType(" Https_Chain ") is mft.CertificateType.HTTPS_CHAIN
    assert mft.MessageStatus("received") is mft.MessageStatus.RECEIVED
    assert mft.MessageStatus("QUEUED") is mft.MessageStatus.QUEUED
    with pytest.raises(ValueError, match="MessageStatus"):
        mft.MessageStatus("bouncing")
    with pytest.raises(ValueError, match="MessageStatus"):
        mft.MessageStatus(3)
    assert str(mft.MessageStatus.FAILED) == "Failed"
    assert f"{mft.CertificateType.PARTNER}" == "PARTNER"


def test_timestamp_at() -> None:
    # kills: _ms_to_datetime: `(ms is None) and False`, tz None or dropped, / 1001
    assert mft.Message(identifier="m").timestamp_at is None
    at = mft.Message(identifier="m", timestamp=1_600_000_000_123).timestamp_at
    assert at == datetime(2020, 9, 13, 12, 26, 40, 123000, tzinfo=timezone.utc)
    assert at is not None
    assert at.tzinfo is timezone.utc
    assert mft.Message(identifier="m", timestamp=0).timestamp_at == datetime(
        1970, 1, 1, tzinfo=timezone.utc
    )
    assert mft.Message(identifier="<m@x>").message_id == "<m@x>"


# -- Session.send / mailbox shortcuts ----------------------------------------------------


async def test_send_and_mailbox_pass_their_arguments_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from as2gw_async.mft import sending

    seen: list[tuple[Any, ...]] = []

    async def fake(session: Any, station: str, partner: str, *files: Any, **kw: Any) -> str:
        seen.append((session, station, partner, files, kw))
        return "receipt"

    monkeypatch.setattr(sending, "send", fake)
    s = mft.Session(USER, PASSWORD)
    assert await s.send("St", "Pa", "a.txt", "b.txt", subject="Hi") == "receipt"
    assert await s.send("St", "Pa", "c.txt") == "receipt"
    assert seen == [
        (s, "St", "Pa", ("a.txt", "b.txt"), {"subject": "Hi"}),
        (s, "St", "Pa", ("c.txt",), {"subject": None}),
    ]
    box = s.mailbox(partner="P", station="S", include_mdn=True)
    assert (box._session, box._partner, box._station, box.include_mdn) == (s, "P", "S", True)
    assert s.mailbox().include_mdn is False


# -- naming / models.parse ---------------------------------------------------------------


def test_normalise_exactly() -> None:
    from as2gw_async.mft.naming import (
        MESSAGE_FIELDS,
        SUBMIT_FIELDS,
        TOKEN_FIELDS,
        normalise,
        normalise_message,
    )

    assert dict(TOKEN_FIELDS) == {"api_token": "apiToken", "refresh_token": "refreshToken"}
    assert dict(SUBMIT_FIELDS) == {"as2MessageId": "messageIdentifier"}
    assert dict(MESSAGE_FIELDS) == {
        "as2MessageId": "identifier",
        "senderAS2Id": "senderIdentifier",
        "receiverAS2Id": "receiverIdentifier",
    }
    assert normalise({}, MESSAGE_FIELDS) == {}
    legacy = {"as2MessageId": "a", "senderAS2Id": "s", "receiverAS2Id": "r", "x": None}
    assert normalise(legacy, MESSAGE_FIELDS) == {
        "identifier": "a",
        "senderIdentifier": "s",
        "receiverIdentifier": "r",
        "x": None,
    }
    both = {"senderAS2Id": "old", "senderIdentifier": "new", "as2MessageId": "a"}
    assert normalise(both, MESSAGE_FIELDS) == {"senderIdentifier": "new", "identifier": "a"}
    out = normalise_message({"as2MessageId": "a", "mdnMessage": {"as2MessageId": "m", "k": 1}})
    assert out == {"identifier": "a", "mdnMessage": {"identifier": "m", "k": 1}}
    assert normalise_message({"mdnMessage": "text"}) == {"mdnMessage": "text"}
    assert normalise_message({"senderAS2Id": "s"}) == {"senderIdentifier": "s"}


def test_parse_keeps_a_copy_of_the_body_as_raw() -> None:
    import types as _types

    from as2gw_async.mft.models import parse

    response = httpx.Response(200, request=httpx.Request("GET", "https://x/message/inbox/1"))
    body = {"identifier": "<m@x>", "extra": 1}
    message = parse(_types.MappingProxyType(body), mft.Message, response)
    assert message.identifier == "<m@x>"
    assert message.raw == body
    assert type(message.raw) is dict
    message = parse(body, mft.Message, response, raw={"other": 2})
    assert message.raw == {"other": 2}
    assert parse({"alias": "a"}, mft.CertificateSummary, response) == mft.CertificateSummary(
        alias="a"
    )
    with pytest.raises(gw.InvalidRecordError) as info:
        parse({"x": 1}, mft.Message, response)
    assert info.value.endpoint == "GET /message/inbox/1"


async def test_authorize_logs_who_at_debug(
    router: respx.MockRouter, by_token: mft.Session, caplog: pytest.LogCaptureFixture
) -> None:
    # kills: _authorize: logger.debug's format None / dropped / 'XX..XX' / upper-cased, its
    # argument None or dropped
    router.post("/authorize").respond(200, json={"apiToken": TOKEN})
    with caplog.at_level("DEBUG", logger="as2gw_async"):
        await by_token._authorize()
    messages = [r.getMessage() for r in caplog.records if r.name == "as2gw_async"]
    assert f"authorized as API token {TID}" in messages
