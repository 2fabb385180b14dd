"""The MFT Gateway examples (``examples/mft_*.py``) run against the MFT emulator."""

from __future__ import annotations

import json
from pathlib import Path

from as2gw_async.emulator._bodies import GeneratedBody
from as2gw_async.emulator.mft import MftEmulator, event_for

from ..integration._mft_client import session, sha256
from .test_examples import Load, covers


@covers("mft_quickstart")
async def test_mft_quickstart(
    load_example: Load, mft_emulator: MftEmulator, tmp_path: Path
) -> None:
    mft_emulator.gateway.send_delay = 0.01
    ids = mft_emulator.seed_inbox(3, attachments=2, names=["../../x.edi", "b.edi"])
    invoice = tmp_path / "invoice.xml"
    invoice.write_bytes(b"<invoice/>")
    async with session(mft_emulator) as s:
        saved = await load_example("mft_quickstart").main(s, invoice, tmp_path / "out")
    assert len(saved) == 6
    assert all((tmp_path / "out") in p.parents for p in saved)
    assert all(mft_emulator.gateway.is_fetched(mid) for mid in ids)
    assert mft_emulator.store_stats.authorization_headers == 0


@covers("mft_webhook")
def test_mft_webhook(load_example: Load, mft_emulator: MftEmulator) -> None:
    handle = load_example("mft_webhook").handle
    [mid] = mft_emulator.seed_inbox(1)
    body = json.dumps(event_for(mft_emulator.gateway, mid)).encode()
    assert handle(body) == f"received {mid} from MyPartner"
    assert handle(b'{"eventType": "NEW.THING"}') == "ignored NEW.THING"


@covers("mft_resilient_download")
async def test_mft_resilient_download(
    load_example: Load, mft_emulator: MftEmulator, tmp_path: Path
) -> None:
    big = GeneratedBody(size=2 * 1024 * 1024, seed=3)
    mid = mft_emulator.deliver(attachments=[("big.bin", big)])
    mft_emulator.store_faults.reset(after_bytes=500_000, times=1)
    async with session(mft_emulator) as s:
        [f] = await load_example("mft_resilient_download").main(s, mid, tmp_path)
    assert sha256(f.path) == big.sha256()
