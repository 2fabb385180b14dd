"""Every Python block in docs/*.md is a tested example written out, or says why it is not.

A fenced ``python`` (``py``, ``pycon``) block passes if

* the line before it (blank lines aside) is ``<!-- example: examples/x.py[:section] -->`` and
  the block equals that file (or section) exactly (see `inline_examples`; `test_examples.py`
  runs every file in examples/ against the emulator); or
* the line before it is ``<!-- not-tested: <reason> -->``: a signature listing, a fragment,
  something that needs a proxy server...

so a page cannot grow an example that nobody runs, nor one that drifts from the tested
file. Include lines (``--8<--``) are refused: Markdown read on a code host shows no code
for them (issue 13 item 16).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import DOCS, EXAMPLES, ROOT
from .inline_examples import MARKER, example_text, inline

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_PYTHON = frozenset({"python", "py", "python3", "pycon"})
_NOT_TESTED = re.compile(r"^\s*<!--\s*not-tested:\s*\S.*-->\s*$")
_SNIPPET = re.compile(r'^\s*--8<--\s+"(?P<file>[^":]+)(?::(?P<section>[\w-]+))?"\s*$')
_SECTION = "# --8<-- [start:{}]"

#: Pages owned by other parts of the project whose Python blocks are not yet either included
#: from examples/ or marked <!-- not-tested: ... -->. Remove a page once it complies.
PENDING: dict[str, str] = {}


def python_blocks(text: str) -> Iterator[tuple[int, list[str], str]]:
    """(line number of the fence, the block's lines, the previous non-blank line)."""
    lines = text.splitlines()
    i = 0
    previous = ""
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            if lines[i].strip():
                previous = lines[i]
            i += 1
            continue
        fence = match.group("fence")
        start = i
        i += 1
        body = []
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if match.group("lang").lower() in _PYTHON:
            yield start + 1, body, previous
        previous = lines[start]


def problems(page: Path) -> list[str]:
    return text_problems(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))


def text_problems(text: str, name: str) -> list[str]:
    found = []
    for lineno, body, previous in python_blocks(text):
        where = f"{name}:{lineno}"
        content = [line for line in body if line.strip()]
        marker = MARKER.match(previous)
        if any(_SNIPPET.match(line) for line in content):
            found.append(
                f"{where}: an --8<-- include shows no code on a code host: write the example "
                "out under <!-- example: examples/x.py:section --> "
                "(python -m tests.docs.inline_examples fills it in)"
            )
        elif marker is not None:
            found += _check_example(where, body, marker.group("file"), marker.group("section"))
        elif not _NOT_TESTED.match(previous):
            found.append(
                f"{where}: a python block that is neither a marked example from examples/ "
                "nor preceded by <!-- not-tested: reason -->"
            )
    return found


def _check_example(where: str, body: list[str], file: str, section: str | None) -> list[str]:
    path = ROOT / file
    if path.parent != EXAMPLES or path.suffix != ".py":
        return [f"{where}: shows {file}, which is not a tested example in examples/"]
    if not path.is_file():
        return [f"{where}: shows {file}, which does not exist"]
    if section is not None and _SECTION.format(section) not in path.read_text("utf-8"):
        return [f"{where}: {file} has no section [start:{section}]"]
    if "\n".join(body).strip("\n") != example_text(file, section):
        return [
            f"{where}: differs from {file}{':' + section if section else ''}: run "
            "python -m tests.docs.inline_examples"
        ]
    return []


PAGES = sorted(DOCS.rglob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_python_blocks_are_tested_or_marked(page: Path) -> None:
    name = str(page.relative_to(DOCS))
    found = problems(page)
    if name in PENDING and found:
        pytest.xfail(f"{PENDING[name]}: " + "; ".join(found))
    assert found == []


def test_the_checker_sees_what_it_should() -> None:
    text = (
        '```python\n--8<-- "examples/quickstart.py"\n```\n\n'
        '```python\n--8<-- "examples/inbox_consumer.py:example"\n```\n\n'
        "<!-- not-tested: a fragment -->\n```python\nx = 1\n```\n\n"
        "```py\ny = 2\n```\n"
        "```console\n$ as2gw demo\n```\n"
    )
    blocks = list(python_blocks(text))
    assert [lineno for lineno, _, _ in blocks] == [1, 5, 10, 14]
    assert _NOT_TESTED.match(blocks[2][2])
    assert not _NOT_TESTED.match(blocks[3][2])


def test_the_checker_refuses_includes_and_drifted_examples() -> None:
    code = example_text("examples/inbox_consumer.py", "example")
    marked = "<!-- example: examples/inbox_consumer.py:example -->\n\n```python\n{}\n```\n"
    assert text_problems(marked.format(code), "page.md") == []
    drifted = text_problems(marked.format(code.replace("async", "def", 1)), "page.md")
    assert len(drifted) == 1
    assert "differs from examples/inbox_consumer.py:example" in drifted[0]
    include = '```python\n--8<-- "examples/quickstart.py"\n```\n'
    [refused] = text_problems(include, "page.md")
    assert "--8<-- include shows no code" in refused
    missing = "<!-- example: examples/nope.py -->\n```python\nx = 1\n```\n"
    assert "does not exist" in text_problems(missing, "page.md")[0]


def test_inlining_rewrites_a_stale_block() -> None:
    stale = "Intro.\n\n<!-- example: examples/quickstart.py -->\n```python\nold()\n```\nEnd.\n"
    rewritten = inline(stale)
    assert rewritten.startswith("Intro.\n\n<!-- example: examples/quickstart.py -->\n```python\n")
    assert rewritten.endswith("\n```\nEnd.\n")
    assert "old()" not in rewritten
    assert text_problems(rewritten, "page.md") == []


def test_readme_example_is_the_tested_one() -> None:
    """README.md cannot include files, so its example must equal examples/readme.py."""
    readme = ROOT / "README.md"
    blocks = [body for _, body, _ in python_blocks(readme.read_text(encoding="utf-8"))]
    if not blocks:
        pytest.skip("README.md has no python example yet")
    expected = (EXAMPLES / "readme.py").read_text(encoding="utf-8").strip()
    assert "\n".join(blocks[0]).strip() == expected, "copy examples/readme.py into README.md"
