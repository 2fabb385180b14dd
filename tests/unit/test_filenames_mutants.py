"""Tests that kill the surviving mutants of `as2gw_async/filenames.py` (see docs/mutation.md).

Each test names the mutant it kills, so nobody deletes it as redundant. Mutants are named
by function and change (``_parse_params: find -> rfind``); the survivors left are listed as
equivalent in docs/mutation.md.
"""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from as2gw_async import filenames
from as2gw_async.errors import NotADirectoryDestinationError
from as2gw_async.filenames import (
    ensure_directory,
    parse_content_disposition,
    remove_created_directories,
    resolve_destination,
    safe_filename,
    safe_message_dirname,
)

# --------------------------------------------------------------------------------------------
# parse_content_disposition: RFC 5987 ext-values
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # kills: _decode_rfc5987: `or "utf-8"` -> `or "XXutf-8XX"` / `or "UTF-8"`
        pytest.param("attachment; filename*=''%E2%82%AC.txt", "€.txt", id="empty-charset"),
        # kills: _decode_rfc5987: "utf8" -> "XXutf8XX" / "UTF8"
        pytest.param("attachment; filename*=utf8''%E2%82%AC.txt", "€.txt", id="utf8"),
        # kills: _decode_rfc5987: "latin-1" -> "XXlatin-1XX" / "LATIN-1"
        pytest.param("attachment; filename*=Latin-1''caf%E9.txt", "café.txt", id="latin-1"),
        # kills: _decode_rfc5987: "latin1" -> "XXlatin1XX" / "LATIN1"
        pytest.param("attachment; filename*=latin1'fr'caf%E9.txt", "café.txt", id="latin1"),
        # kills: _decode_rfc5987: "us-ascii" -> "XXus-asciiXX" / "US-ASCII"
        pytest.param("attachment; filename*=US-ASCII'en'a%20b.txt", "a b.txt", id="us-ascii"),
        # kills: _decode_rfc5987: split("'", 2) -> split("'") / rsplit("'", 2) / split("'", 3)
        pytest.param(
            "attachment; filename=x.txt; filename*=UTF-8''it's%20mine.txt",
            "it's mine.txt",
            id="quote-in-the-encoded-part",
        ),
        # An ASCII-only charset refuses bytes above 0x7f: the plain name is used instead.
        pytest.param(
            "attachment; filename=plain.txt; filename*=us-ascii''caf%E9.txt",
            "plain.txt",
            id="us-ascii-refuses-8-bit",
        ),
    ],
)
def test_extended_file_names_in_every_charset_accepted(header: str, expected: str) -> None:
    assert parse_content_disposition(header) == expected


# --------------------------------------------------------------------------------------------
# parse_content_disposition: the parameter scanner
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # kills: _parse_params: `value.split(";", 1)[0]` -> `value.split(None, 1)[0]`
        # (the first word "attachment;filename" would skip the parameter's name)
        pytest.param("attachment;filename =a.txt", "a.txt", id="space-before-equals"),
        # kills: _parse_params: `i += 1` -> `i += 2` (one separator character only)
        pytest.param("attachment;filename=a.txt", "a.txt", id="no-space-after-semicolon"),
        pytest.param("attachment;\t filename=a.txt", "a.txt", id="tab-and-space"),
        # kills: _parse_params: `value[i] in " \t;"` -> `in "XX \t;XX"`
        pytest.param(
            'attachment; Xfilename="evil.txt"; filename="a.txt"', "a.txt", id="other-name"
        ),
        # kills: _parse_params: `value[j] not in "=;"` -> `not in "XX=;XX"`
        pytest.param("attachment; filenameX=evil.txt; filename=a.txt", "a.txt", id="longer-name"),
        # kills: _parse_params: `i < n` -> `i <= n` (skipping separators up to the end)
        pytest.param('attachment; filename="a.txt";', "a.txt", id="trailing-semicolon"),
        # kills: _parse_params: `j < n` -> `j <= n` in the name scan, `j >= n` -> `j > n`
        pytest.param('attachment; filename="a.txt"; foo', "a.txt", id="trailing-bare-word"),
        # kills: _parse_params: `j >= n or value[j] == ";"` -> `and`, `";"` -> `"XX;XX"`,
        # `i = j` -> `i = None`, `continue` -> `break` (a bare word is skipped, not the rest)
        pytest.param("attachment; foo; filename=a.txt", "a.txt", id="bare-word-first"),
        # kills: _parse_params: `j < n` -> `j <= n` in the blank skip and the quote test
        pytest.param('attachment; filename="a.txt"; x=', "a.txt", id="empty-last-value"),
        # kills: _parse_params: `value[j] in " \t"` -> `in "XX \tXX"` (after "=")
        pytest.param("attachment; filename=XXL.txt", "XXL.txt", id="value-starting-with-X"),
        pytest.param("attachment; filename=\t \tb.txt", "b.txt", id="blanks-after-equals"),
        # kills: _parse_params: `j + 1 < n` -> `j - 1 < n` / `j + 1 <= n`
        # (a backslash closing an unterminated quoted string is kept)
        pytest.param('attachment; filename="abc\\', "abc\\", id="backslash-at-the-end"),
        # kills: _parse_params: `j + 1 < n` -> `j + 2 < n` (an escaped quote as last character)
        pytest.param('attachment; filename="a\\"', 'a"', id="escaped-quote-at-the-end"),
        pytest.param(
            'attachment; filename="say \\"hi\\" \\\\ bye.txt"', 'say "hi" \\ bye.txt', id="escapes"
        ),
        # kills: _parse_params: `end = value.find(";", j)` -> `rfind` (after a quoted value)
        pytest.param(
            "attachment; filename=\"x.txt\"; filename*=UTF-8''a.txt; y=1",
            "a.txt",
            id="quoted-then-two-parameters",
        ),
        # kills: _parse_params: `end = value.find(";", j)` -> `rfind` (after an unquoted value)
        pytest.param(
            "attachment; filename=x.txt; filename*=UTF-8''a.txt; y=1",
            "a.txt",
            id="unquoted-then-two-parameters",
        ),
        # kills: _parse_params: `_PARAM_START.match(value, end + 1)` -> `end + 2`
        pytest.param("attachment; filename=a.txt;x=1", "a.txt", id="one-letter-parameter-next"),
        # kills: _parse_params: `value.find(";", end + 1)` -> `rfind(...)` / `find("XX;XX", ...)`
        pytest.param("attachment; filename=a;b; x=1; c", "a;b", id="semicolon-in-a-value"),
        # kills: _parse_params: `value.find(";", end + 1)` -> `value.find(";", end + 2)`
        pytest.param("attachment; filename=a;;x=1", "a;", id="two-semicolons-in-a-row"),
        # Junk that is not a parameter at all.
        pytest.param("attachment filename=a.txt", None, id="no-semicolon-after-the-type"),
        pytest.param("attachment; filename", None, id="name-without-value"),
    ],
)
def test_the_parameter_scanner(header: str, expected: str | None) -> None:
    assert parse_content_disposition(header) == expected


# --------------------------------------------------------------------------------------------
# safe_filename
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "max_length", "expected"),
    [
        # kills: _sanitize: `.strip(". ")` -> `.strip("XX. XX")` (only dots and spaces go; a
        # property test with random names catches it only now and then)
        pytest.param("X-ray.tifX", 255, "X-ray.tifX", id="X-at-both-ends"),
        pytest.param(" .X.y. ", 255, "X.y", id="dots-and-spaces-at-both-ends"),
        # kills: _fit: `len(...) <= max_bytes` -> `<` (a name of exactly max_length is kept
        # as is, inner ". " included)
        pytest.param("ab. .txt", 8, "ab. .txt", id="exactly-max-length"),
        # kills: _fit: `size <= min(...)` -> `<`, `max_bytes // 2` -> `max_bytes // 3`
        # (an extension of exactly half the room is kept)
        pytest.param("abcdefghij.txt", 8, "abcd.txt", id="extension-half-the-room"),
        # kills: _fit: `.rstrip(". ")` -> `.rstrip(None)` / `.lstrip(". ")` on the stem
        pytest.param("abcd.efgh.txt", 9, "abcd.txt", id="stem-cut-at-a-dot"),
        pytest.param("abc .efgh.txt", 9, "abc.txt", id="stem-cut-at-a-space"),
        # kills: _fit: `.rstrip(". ")` -> `.rstrip("XX. XX")` on the stem
        pytest.param("abcXYZ.txt", 8, "abcX.txt", id="stem-cut-after-X"),
        # kills: _fit: the last `.rstrip(". ")` -> `.rstrip("XX. XX")`
        pytest.param("abcXdef", 4, "abcX", id="no-extension-cut-after-X"),
        # kills: _fit: `name.rpartition(".")` -> `name.partition(".")` (only the last
        # extension is kept)
        pytest.param("abcdefgh.tar.gz", 10, "abcdefg.gz", id="double-extension"),
        # UTF-8 bytes, not characters, and never half a character.
        pytest.param("€€€€.txt", 8, "€.txt", id="multibyte-stem"),
        pytest.param("€€€€", 8, "€€", id="multibyte-no-extension"),
        # kills: safe_filename: `max_length < 1` -> `<= 1` / `< 2`
        pytest.param("abc", 1, "a", id="max-length-1"),
        # kills: _is_reserved: `.rstrip(" ")` -> `.rstrip("XX XX")`
        pytest.param("CONX.txt", 255, "CONX.txt", id="not-a-device-name"),
        # kills: _is_reserved: `.rstrip(" ")` -> `.rstrip(None)` (only spaces are trimmed,
        # as Windows does; a no-break space makes another name)
        pytest.param("CON\u00a0.txt", 255, "CON\u00a0.txt", id="no-break-space"),
        pytest.param("CON .txt", 255, "_CON .txt", id="space-before-the-dot"),
        pytest.param("lpt\u00b9.log", 255, "_lpt\u00b9.log", id="superscript-device"),
    ],
)
def test_safe_filename_exact(name: str, max_length: int, expected: str) -> None:
    result = safe_filename(name, max_length=max_length)
    assert result == expected
    assert len(result.encode("utf-8")) <= max_length


def test_max_length_below_one_is_refused_with_its_message() -> None:
    # kills: safe_filename: the message -> "XXmax_length must be at least 1XX"
    with pytest.raises(ValueError, match=r"^max_length must be at least 1$"):
        safe_filename("a", max_length=0)


# --------------------------------------------------------------------------------------------
# safe_message_dirname
# --------------------------------------------------------------------------------------------


def _digest(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@pytest.mark.parametrize(
    ("message_id", "expected"),
    [
        # kills: safe_message_dirname: `len(inner) <= _MAX_DIRNAME_TEXT` -> `<`
        pytest.param("<" + "a" * 100 + ">", "a" * 100, id="plain-100"),
        pytest.param("<" + "a" * 101 + ">", "a" * 100 + "~" + _digest("<" + "a" * 101 + ">")),
        # kills: safe_message_dirname: `message_id if inner is None else inner` -> always
        # `message_id` (the "<" would take one of the 100 characters)
        pytest.param("<" + "A" * 150 + ">", "A" * 100 + "~" + _digest("<" + "A" * 150 + ">")),
        # kills: safe_message_dirname: `.strip("._-")` -> `.strip("XX._-XX")`
        pytest.param("<X/Y>", "X_Y~" + _digest("<X/Y>"), id="X-kept"),
        # kills: safe_message_dirname: `or "message"` -> `"XXmessageXX"` / `"MESSAGE"`
        pytest.param("<>", "message~" + _digest("<>"), id="empty-inside"),
        pytest.param("<...>", "message~" + _digest("<...>"), id="dots-only"),
        pytest.param("", "message~" + _digest(""), id="empty"),
        # kills: safe_message_dirname: `encode("utf-8", "surrogatepass")` without the handler,
        # or with "XXsurrogatepassXX" / "SURROGATEPASS"
        pytest.param("<a\ud800b>", "a_b~" + _digest("<a\ud800b>"), id="lone-surrogate"),
        # kills: safe_message_dirname: `"_" + name` -> `"XX_XX" + name` for a device name
        pytest.param("<CON.A>", "_CON.A~" + _digest("<CON.A>"), id="device-name"),
        # "con" alone is a device name, so it is hashed; "con~..." no longer is one.
        pytest.param("<con>", "con~" + _digest("<con>"), id="plain-device-name"),
    ],
)
def test_safe_message_dirname_exact(message_id: str, expected: str) -> None:
    # kills: safe_message_dirname: `hexdigest()[:16]` -> `[:17]` (every expected name here)
    assert safe_message_dirname(message_id) == expected


def test_message_dirnames_differ_by_case_and_by_surrogate() -> None:
    ids = ["<A>", "<a>", "<a\ud800>", "<a\ud801>", "<a/b>", "<a_b>", "a_b", "<a_b"]
    names = [safe_message_dirname(message_id) for message_id in ids]
    assert len({name.lower() for name in names}) == len(ids)


# --------------------------------------------------------------------------------------------
# resolve_destination, ensure_directory, remove_created_directories
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("server_name", [None, "", "..", " . "])
def test_a_new_directory_dest_falls_back_to_the_default_name(
    tmp_path: Path, server_name: str | None
) -> None:
    # kills: resolve_destination: `default=default_name` -> `default=None` / dropped, in the
    # branch for a directory that does not exist yet
    dest = f"{tmp_path}{os.sep}new{os.sep}"
    assert resolve_destination(dest, server_name, default_name="m.bin") == tmp_path / "new/m.bin"
    assert (tmp_path / "new").is_dir()


def test_ensure_directory_returns_the_directories_made_outermost_first(tmp_path: Path) -> None:
    # kills: ensure_directory: `made.append(directory)` -> `made.append(None)`
    created: list[Path] = []
    target = tmp_path / "a" / "b" / "c"
    made = ensure_directory(target, created)
    assert made == [tmp_path / "a", tmp_path / "a/b", target]
    assert created == made
    assert target.is_dir()
    assert ensure_directory(target) == []


def test_ensure_directory_names_the_file_in_the_way(tmp_path: Path) -> None:
    # kills: ensure_directory: `NotADirectoryDestinationError(directory)` -> `(None)` (check)
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    with pytest.raises(NotADirectoryDestinationError) as error:
        ensure_directory(blocker / "sub" / "dir")
    assert error.value.filename == str(blocker)
    assert not (blocker.parent / "sub").exists()


@pytest.fixture
def real_mkdir() -> object:
    return Path.mkdir


def test_ensure_directory_tolerates_losing_a_race_to_the_same_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_mkdir: object
) -> None:
    # kills: ensure_directory: `if not directory.is_dir()` -> `if directory.is_dir()`, and
    # `continue` -> `break` after a FileExistsError
    outer = tmp_path / "outer"

    def racing_mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if self == outer:
            os.mkdir(self)  # someone else made it between our check and our mkdir
        real_mkdir(self, *args, **kwargs)  # type: ignore[operator]

    monkeypatch.setattr(Path, "mkdir", racing_mkdir)
    created: list[Path] = []
    assert ensure_directory(outer / "inner", created) == [outer / "inner"]
    assert created == [outer / "inner"]  # not ours: a rollback must not remove `outer`
    assert (outer / "inner").is_dir()


def test_ensure_directory_names_a_file_made_in_a_race(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_mkdir: object
) -> None:
    # kills: ensure_directory: `NotADirectoryDestinationError(directory)` -> `(None)` after a
    # FileExistsError
    outer = tmp_path / "outer"

    def racing_mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if self == outer:
            self.write_bytes(b"someone's file")
        real_mkdir(self, *args, **kwargs)  # type: ignore[operator]

    monkeypatch.setattr(Path, "mkdir", racing_mkdir)
    with pytest.raises(NotADirectoryDestinationError) as error:
        ensure_directory(outer / "inner")
    assert error.value.filename == str(outer)
    assert outer.read_bytes() == b"someone's file"


def test_ensure_directory_names_a_parent_replaced_by_a_file_in_a_race(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_mkdir: object
) -> None:
    # kills: ensure_directory: `NotADirectoryDestinationError(directory.parent)` -> `(None)`
    outer = tmp_path / "outer"
    inner = outer / "inner"

    def racing_mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if self == inner:  # someone replaced `outer`, just made, with a file
            outer.rmdir()
            outer.write_bytes(b"someone's file")
        real_mkdir(self, *args, **kwargs)  # type: ignore[operator]

    monkeypatch.setattr(Path, "mkdir", racing_mkdir)
    created: list[Path] = []
    with pytest.raises(NotADirectoryDestinationError) as error:
        ensure_directory(inner, created)
    assert error.value.filename == str(outer)
    assert error.value.errno == errno.ENOTDIR
    assert created == [outer]


def test_ensure_directory_under_a_root_that_does_not_exist(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # kills: ensure_directory: `break` -> `return` at the root (a missing drive on Windows,
    # say "Z:\\out"): the OS's error from making the root surfaces, not a silent None
    attempts: list[Path] = []

    def no_drive_mkdir(self: Path, *args: object, **kwargs: object) -> None:
        attempts.append(self)
        raise FileNotFoundError(errno.ENOENT, "no such drive", str(self))

    monkeypatch.setattr(Path, "is_dir", lambda self: False)
    monkeypatch.setattr(filenames.os.path, "lexists", lambda path: False)
    monkeypatch.setattr(Path, "mkdir", no_drive_mkdir)
    target = Path("/nowhere/out")
    with pytest.raises(FileNotFoundError):
        ensure_directory(target)
    assert attempts == [Path("/")]


def test_remove_created_directories_leaves_a_directory_that_holds_a_file(
    tmp_path: Path,
) -> None:
    # kills: remove_created_directories: `suppress(OSError)` -> `suppress(None)`
    made = ensure_directory(tmp_path / "a" / "b")
    (tmp_path / "a" / "keep.txt").write_bytes(b"someone else's")
    remove_created_directories(made)
    assert not (tmp_path / "a" / "b").exists()
    assert (tmp_path / "a" / "keep.txt").read_bytes() == b"someone else's"
    remove_created_directories([tmp_path / "never-made"])  # gone already: no error
