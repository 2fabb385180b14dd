"""The non-spec /_emulator/ routes, the CLI in a separate process, in-process transports."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from as2gw_async.emulator import (
    EmulatorServer,
    FaultPlan,
    Gateway,
    GeneratedBody,
    create_app,
    serve,
    serve_in_thread,
)
from as2gw_async.emulator._zip import ZipEntry, ZipPlan

from .conftest import login, q


async def test_control_routes(
    control: httpx.AsyncClient, api: httpx.AsyncClient, as2gw_gateway: Gateway
) -> None:
    assert (await control.get("/_emulator/health")).json() == {"status": "ok"}
    r = await control.post("/_emulator/seed", json={"n": 4, "seed": 1, "size": [10, 20]})
    assert r.status_code == 201
    ids = r.json()["ids"]
    assert ids == Gateway().seed(4, seed=1, size=(10, 20))  # deterministic from the seed
    r = await control.post(
        "/_emulator/deliver",
        json={
            "subject": "Hello",
            "attachments": [
                {"name": "a.txt", "content": "alpha"},
                {"name": "b.bin", "contentBase64": base64.b64encode(b"\x00\x01").decode()},
                {"name": "g.bin", "generatedSize": 1000, "seed": 2},
            ],
        },
    )
    assert r.status_code == 201
    mid = r.json()["as2MessageId"]
    assert as2gw_gateway.attachment_bytes("received", mid, 1) == b"\x00\x01"
    info = (await control.get(f"/_emulator/messages/received/{q(mid)}")).json()
    assert info["subject"] == "Hello"
    assert info["read"] is False
    assert info["attachments"][2]["sha256"] == GeneratedBody(1000, 2).sha256()
    assert (await control.get("/_emulator/messages/received")).json()["ids"] == [*ids, mid]
    assert (await control.get(f"/_emulator/messages/sent/{q(mid)}")).status_code == 404

    await api.get("/message/received")
    stats = (await control.get("/_emulator/stats")).json()
    assert stats["requests"] == 2  # authorize + list; control routes are not counted
    assert stats["routes"] == {"authorize": 1, "list": 1}
    assert (await control.post("/_emulator/stats/reset")).status_code == 200
    assert (await control.get("/_emulator/stats")).json()["requests"] == 0

    r = await control.post(
        "/_emulator/config", json={"latency": 0.01, "rateLimit": [100, 1], "batchLimit": 1000}
    )
    assert r.json()["batchLimit"] == 1000
    assert as2gw_gateway.rate_limit == (100, 1.0)
    assert as2gw_gateway.latency == 0.01

    r = await control.post(
        "/_emulator/faults", json={"seed": 3, "rate": 0.0, "script": ["503", {"kind": "429"}]}
    )
    assert r.status_code == 200
    assert (await api.get("/message/sent")).status_code == 503
    assert (await api.get("/message/sent")).status_code == 429
    assert (await api.get("/message/sent")).status_code == 200
    await control.post("/_emulator/faults", json=None)
    assert as2gw_gateway.faults is None
    bad = await control.post("/_emulator/faults", json={"kinds": ["teapot"]})
    assert bad.status_code == 400

    await control.post("/_emulator/expire-tokens")
    assert (await api.get("/message/sent")).status_code == 401

    await control.post("/_emulator/accounts", json={"username": "u@x", "password": "p"})
    await control.post("/_emulator/stations", json={"name": "S2"})
    await control.post("/_emulator/partners", json={"name": "P2", "fail": True})
    assert as2gw_gateway.partner("P2").fail
    async with httpx.AsyncClient(base_url=str(api.base_url)) as other:
        r = await other.post("/authorize", json={"username": "u@x", "password": "p"})
        other.headers["Authorization"] = r.json()["token"]
        r = await other.post("/message/S2/P2", headers={"Name": "n"}, content=b"x")
        assert r.status_code == 202
    assert (await control.get("/_emulator/nope")).status_code == 404


def test_serve_in_thread_from_sync_code() -> None:
    gateway = Gateway()
    gateway.seed(3)
    with serve_in_thread(gateway) as server, httpx.Client(base_url=server.base_url) as c:
        r = c.post("/authorize", json={"username": server.username, "password": server.password})
        c.headers["Authorization"] = r.json()["token"]
        assert c.get("/message/received").json()["totalRecords"] == 3
    with pytest.raises(httpx.ConnectError), httpx.Client() as c:
        c.get(server.base_url + "/message/received")


async def test_in_process_asgi_transport() -> None:
    gateway = Gateway(send_delay=0.0)
    mid = gateway.deliver(attachments=[("a.txt", b"abc"), ("b.txt", b"def")])
    transport = httpx.ASGITransport(app=create_app(gateway))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator/v1") as c:
        r = await c.post(
            "/authorize", json={"username": gateway.username, "password": gateway.password}
        )
        c.headers["Authorization"] = r.json()["token"]
        r = await c.get(f"/message/received/{q(mid)}/attachments/1")
        assert r.content == b"def"
        r = await c.get(f"/message/received/{q(mid)}/attachments/all")
        assert zipfile.ZipFile(io.BytesIO(r.content)).read("a.txt") == b"abc"
        r = await c.post("/message/RJ_Station/RJ_Partner", headers={"Name": "x"}, content=b"x")
        assert r.headers["link"].startswith("http://emulator/v1/message/sent/<")
        sent = (await c.get("/message/sent")).json()
        assert sent["totalRecords"] == 1  # send_delay=0: delivered on the next look


async def test_serve_in_the_current_loop() -> None:
    gateway = Gateway()
    async with serve(gateway, port=0) as server:
        assert server.base_url == server.http_url
        assert server.https_url is None
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", server.base_url)
        async with httpx.AsyncClient(base_url=server.base_url) as c:
            await login(c, server)
            assert (await c.get("/message/queued")).status_code == 200
    assert gateway.stats.requests == 2


@pytest.mark.as2gw_emulator(seed_messages=5, send_delay=1.5, token_ttl=60.0)
def test_plugin_marker_configures_the_fixtures(as2gw_emulator: EmulatorServer) -> None:
    gw = as2gw_emulator.gateway
    assert len(gw.messages("received")) == 5
    assert gw.send_delay == 1.5
    assert gw.token_ttl == 60.0
    assert as2gw_emulator.username == "demo@example.com"
    assert as2gw_emulator.password == "demo-password"


def test_cli_prints_ready_line_and_serves(tmp_path: object) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "as2gw_async.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--seed-messages",
            "3",
            "--large-attachment-bytes",
            "2048",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines: dict[str, str] = {}
        deadline = time.monotonic() + 60  # a hang guard, not a time limit
        while "AS2GW_EMULATOR_LARGE_MESSAGE" not in lines:
            assert time.monotonic() < deadline, "no ready line"
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "exited"
            key, _, value = line.strip().partition(" ")
            lines[key] = value
        url = lines["AS2GW_EMULATOR_READY"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", url)
        with httpx.Client(base_url=url) as c:
            r = c.post(
                "/authorize",
                json={
                    "username": lines["AS2GW_EMULATOR_USERNAME"],
                    "password": lines["AS2GW_EMULATOR_PASSWORD"],
                },
            )
            c.headers["Authorization"] = r.json()["token"]
            assert c.get("/message/received").json()["totalRecords"] == 4
            big = lines["AS2GW_EMULATOR_LARGE_MESSAGE"]
            r = c.get(f"/message/received/{q(big)}/attachments")
            assert r.content == GeneratedBody(2048, 0).read()
            stats = httpx.get(url.rsplit("/v1", 1)[0] + "/_emulator/stats").json()
            assert stats["routes"]["attachment"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_cli_rejects_bad_arguments() -> None:
    from as2gw_async.emulator.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["--rate-limit", "50/10", "--faults", "429,reset", "--port", "0"])
    assert args.rate_limit == (50, 10.0)
    assert args.faults == ("429", "reset")
    with pytest.raises(SystemExit):
        parser.parse_args(["--faults", "teapot"])


# ------------------------------------------------------------------ building blocks


def test_generated_body_is_deterministic_and_sliceable() -> None:
    body = GeneratedBody(3 * (1 << 20) + 17, seed=5, chunk_size=1000)
    data = body.read()
    assert len(data) == body.size
    assert data == GeneratedBody(body.size, seed=5).read()
    assert data != GeneratedBody(body.size, seed=6).read()
    assert b"".join(body.iter_chunks(12345, 2_500_000)) == data[12345:2_500_000]
    assert all(len(c) <= 1000 for c in body.iter_chunks())
    pages = [data[i : i + (1 << 20)] for i in range(0, 3 << 20, 1 << 20)]
    assert len(set(pages)) == 3  # pages differ


def test_zip64_records(monkeypatch: pytest.MonkeyPatch) -> None:
    from as2gw_async.emulator import _zip

    monkeypatch.setattr(_zip, "_ZIP64_THRESHOLD", 100)  # pretend 100 bytes is 4 GiB
    entries = [
        ZipEntry("small.txt", b"x" * 10, 1_573_209_810_390),
        ZipEntry("large.bin", GeneratedBody(500, 1)),
        ZipEntry("după.txt", b"y" * 20),
    ]
    plan = ZipPlan(entries)
    data = plan.to_bytes()
    assert len(data) == plan.length
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        assert z.read("large.bin") == GeneratedBody(500, 1).read()
        assert z.read("după.txt") == b"y" * 20
        assert z.getinfo("small.txt").date_time[:3] == (2019, 11, 8)


def test_fault_plan_script_is_consumed_in_order() -> None:
    plan = FaultPlan(rate=0.0).script("429", "reset", route="attachment")
    assert plan.decide("list") is None
    assert plan.decide("attachment") == ("429", 0.0)
    assert plan.decide("attachment") == ("reset", 0.0)
    assert plan.decide("attachment") is None
    assert plan.pending_scripted == 0


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.as2gw_emulator(send_delay=0.0)
def test_the_spec_curl_session(as2gw_emulator: EmulatorServer, tmp_path: Path) -> None:
    base = as2gw_emulator.base_url

    def curl(*args: str) -> str:
        out = subprocess.run(
            ["curl", "-s", "-S", "--max-time", "10", *args],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout

    auth = json.loads(
        curl(
            "-XPOST",
            f"{base}/authorize",
            "-H",
            "Content-Type: application/json",
            "--data",
            '{"username":"demo@example.com","password":"demo-password"}',
        )
    )
    token = auth["token"]
    invoice = tmp_path / "invoice_20200101.xml"
    invoice.write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n<invoice/>\n')
    head = curl(
        "-i",
        "-XPOST",
        f"{base}/message/RJ_Station/RJ_Partner",
        "-H",
        f"Authorization: {token}",
        "-H",
        "Name: invoice_20200101.xml",
        "-H",
        "Content-Type: text/xml",
        "--data-binary",
        f"@{invoice}",
    )
    assert head.startswith("HTTP/1.1 202")
    link = next(line for line in head.splitlines() if line.lower().startswith("link:"))
    message_id = link.split("/message/sent/", 1)[1].strip()
    body = (
        "------foobarbaz\n"
        'Content-Disposition: form-data; name="file"; filename="file1.txt"\n'
        "Content-Type: text/plain\n\none\n"
        "------foobarbaz\n"
        'Content-Disposition: form-data; name="file"; filename="file2.txt"\n'
        "Content-Type: text/plain\n\ntwo\n"
        "------foobarbaz--"
    )
    out = curl(
        "-XPOST",
        f"{base}/message/RJ_Station/RJ_Partner",
        "-H",
        f"Authorization: {token}",
        "-H",
        "Content-Type: multipart/form-data; boundary=----foobarbaz",
        "--data-binary",
        body,
    )
    assert json.loads(out) == {"message": "Successfully added a new outbound entry"}
    # curl sends < and > unencoded in the path
    sent = json.loads(curl(f"{base}/message/sent/{message_id}", "-H", f"Authorization: {token}"))
    assert sent["as2MessageId"] == message_id
    assert sent["attachments"] == [{"name": "invoice_20200101.xml", "size": invoice.stat().st_size}]
    got = curl(
        "-OJ",
        "--output-dir",
        str(tmp_path / "out"),
        "--create-dirs",
        f"{base}/message/sent/{message_id}/attachments",
        "-H",
        f"Authorization: {token}",
    )
    assert got == ""
    assert (tmp_path / "out" / "invoice_20200101.xml").read_bytes() == invoice.read_bytes()
