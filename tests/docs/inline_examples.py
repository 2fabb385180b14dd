"""Code examples written out in docs/*.md, kept equal to the tested programs in examples/.

The pages show their examples inline, so that the Markdown read on a code host shows the
code (an include line shows nothing there). Each such block is marked on the line before it::

    <!-- example: examples/download_files.py:example -->
    ```python
    ...the lines between "# --8<-- [start:example]" and "# --8<-- [end:example]"...
    ```

(without ``:section``: the whole file, section marker lines left out). tests/docs runs every
example against the emulator and checks that each marked block equals its file
(`test_docs_blocks.py`). After editing an example, rewrite the blocks from the files::

    python -m tests.docs.inline_examples          # or --check: only list the stale blocks
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: The line before an inlined example block.
MARKER = re.compile(r"^\s*<!--\s*example:\s*(?P<file>[^\s:]+)(?::(?P<section>[\w-]+))?\s*-->\s*$")
_SECTION_LINE = re.compile(r"^\s*# --8<-- \[(?:start|end):[\w-]+\]\s*$")
_FENCE = re.compile(r"^(`{3,}|~{3,})")

__all__ = ["MARKER", "example_text", "inline", "main"]


def example_text(file: str, section: str | None = None) -> str:
    """The code a block marked ``<!-- example: file[:section] -->`` must hold."""
    lines = (ROOT / file).read_text(encoding="utf-8").splitlines()
    if section is not None:
        start = lines.index(f"# --8<-- [start:{section}]")
        end = lines.index(f"# --8<-- [end:{section}]", start)
        lines = lines[start + 1 : end]
    kept = [line for line in lines if not _SECTION_LINE.match(line)]
    return "\n".join(kept).strip("\n")


def inline(text: str) -> str:
    """``text`` (a Markdown page) with every marked block rewritten from its example."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        match = MARKER.match(lines[i])
        i += 1
        if match is None:
            continue
        while i < len(lines) and not lines[i].strip():  # blank lines up to the fence
            out.append(lines[i])
            i += 1
        fence = _FENCE.match(lines[i]) if i < len(lines) else None
        if fence is None:
            raise ValueError(f"line {i}: an example marker not followed by a code block")
        out.append(lines[i])
        i += 1
        while i < len(lines) and not lines[i].startswith(fence.group(1)):
            i += 1  # the old body
        out.extend(example_text(match.group("file"), match.group("section")).splitlines())
        if i < len(lines):
            out.append(lines[i])  # the closing fence
            i += 1
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the marked blocks of docs/*.md (with ``--check``: list stale pages, exit 1)."""
    check = "--check" in (sys.argv[1:] if argv is None else argv)
    stale = []
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        new = inline(text)
        if new != text:
            stale.append(page.relative_to(ROOT))
            if not check:
                page.write_text(new, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if check else 'rewrote'}: {path}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
