"""ECGrid emulator: the streamed base64 codec (upload parser, chunked encoder)."""

from __future__ import annotations

import base64
import json
import random

import pytest

from as2gw_async.emulator.ecgrid import UploadError, UploadParser, b64_chunks, b64_length


def parse(raw: bytes, cuts: list[int]) -> UploadParser:
    parser = UploadParser()
    last = 0
    for cut in [*sorted(cuts), len(raw)]:
        parser.feed(raw[last:cut])
        last = cut
    parser.close()
    return parser


@pytest.mark.parametrize("seed", range(30))
def test_any_split_gives_the_same_result(seed: int) -> None:
    rng = random.Random(seed)
    content = rng.randbytes(rng.randrange(0, 3000))
    fields = {
        "fileName": rng.choice(["a.edi", '../"q"\\x', "\x00\n", "é"]),
        "bytes": len(content),
        "mailboxId": rng.choice([None, 0, 1001]),
        "nested": {"k": ["}", "]", ",", {"x": '\\"'}]},
    }
    members = [*fields.items(), ("content", base64.b64encode(content).decode())]
    rng.shuffle(members)
    text = json.dumps(dict(members), indent=rng.choice([None, 1]))
    if rng.random() < 0.5:
        text = text.replace("/", "\\/")
    raw = text.encode()
    cuts = [rng.randrange(0, len(raw) + 1) for _ in range(rng.randrange(0, 40))]
    parser = parse(raw, cuts)
    assert parser.fields == fields
    assert parser.content is not None
    assert bytes(parser.content) == content


def test_one_byte_at_a_time() -> None:
    raw = b'{ "content" : "aGV\\/bG8=" , "fileName":"x"}'
    parser = parse(raw, list(range(len(raw))))
    assert bytes(parser.content or b"") == base64.b64decode("aGV/bG8=")
    assert parser.fields == {"fileName": "x"}


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"[]",
        b'{"content": "aGk"}',
        b'{"content": "a*Gk="}',
        b'{"content": "aGk=\\u0041"}',
        b'{"fileName": "x",}',
        b'{"fileName": x}',
        b'{"fileName": "x"} trailing',
        b'{"content": "aGk="',
        b'{fileName: "x"}',
    ],
)
def test_malformed(raw: bytes) -> None:
    with pytest.raises(UploadError):
        parse(raw, [len(raw) // 2])


def test_content_absent_or_null() -> None:
    assert parse(b'{"fileName": "a"}', []).content is None
    parser = parse(b'{"content": null}', [])
    assert parser.content is None
    assert parser.fields == {"content": None}


@pytest.mark.parametrize("seed", range(10))
def test_b64_chunks_matches_b64encode(seed: int) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(rng.randrange(0, 5000))
    pieces = []
    pos = 0
    while pos < len(data):
        n = rng.randrange(1, 700)
        pieces.append(data[pos : pos + n])
        pos += n
    out = b"".join(b64_chunks(pieces, group=rng.choice([3, 30, 999])))
    assert out == base64.b64encode(data)
    assert len(out) == b64_length(len(data))
