"""A griffe extension for the docs build: render the library's plain-prose docstrings well.

The docstrings are written for ``help()`` and doctest, not for Markdown: ``>>>`` lines would
become nested block quotes, ``Example::`` blocks would keep their ``::``, Sphinx roles like
``:class:`Gateway``` would show the role, and two-space nested bullets would flatten. This
rewrites each docstring's text for mkdocstrings only; the source is left alone.

Loaded by ``mkdocs.yml`` (``extensions: [tests/docs/griffe_doctest.py]``); unit-tested in
``test_griffe_doctest.py``. It lives with the docs tests because it is part of the docs
tooling, not of the library.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|meth|attr|func|mod|exc|data|obj|py:\w+):`~?([^`]+)`")
_FLAGS = re.compile(r"\s*#\s*doctest:\s*[+-]\w+(?:\s*,\s*[+-]\w+)*\s*$")
_BULLET = re.compile(r"^( +)([*+-] )")
_SECTION = re.compile(r"^(Examples?|Args|Arguments|Parameters|Returns|Raises|Yields):\s*$")


def _role(match: re.Match[str]) -> str:
    target = match.group(1)
    shown = target.rsplit(".", 1)[-1] if match.group(0).count("~") else target
    return f"`{shown}`"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def convert(text: str) -> str:
    """Markdown for a docstring written in the doctest / reST-literal style."""
    lines = _ROLE.sub(_role, text).splitlines()
    out: list[str] = []
    i = 0
    in_section = False
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if _SECTION.match(line):
            # A Google-style section: griffe parses its own doctest examples.
            in_section = True
            out.append(line)
            i += 1
            continue
        if in_section and stripped and _indent(line) == 0:
            in_section = False
        if stripped.startswith(">>>") and not in_section:
            pad = " " * _indent(line)
            block: list[str] = []
            while i < len(lines) and lines[i].strip():
                block.append(_FLAGS.sub("", lines[i][len(pad) :]).rstrip())
                i += 1
            if out and out[-1].strip():
                out.append("")
            out += [f"{pad}```pycon", *(pad + b for b in block), f"{pad}```"]
            continue
        if stripped.endswith("::") and not in_section:
            # reST literal block: "Example::" + blank line + an indented block.
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            base = _indent(line)
            if j < len(lines) and _indent(lines[j]) > base:
                head = line.rstrip()[:-2].rstrip()
                if head:
                    out.append(head + ":")
                block_indent = _indent(lines[j])
                block = []
                k = j
                while k < len(lines) and (
                    not lines[k].strip() or _indent(lines[k]) >= block_indent
                ):
                    block.append(lines[k][block_indent:].rstrip())
                    k += 1
                while block and not block[-1]:
                    block.pop()
                pad = " " * base
                lang = "python" if any(c in "\n".join(block) for c in "(=") else "text"
                out += ["", f"{pad}```{lang}", *(pad + b if b else "" for b in block), f"{pad}```"]
                if k < len(lines):
                    out.append("")
                i = k
                continue
        bullet = _BULLET.match(line)
        if bullet and not in_section:
            # Python-Markdown nests lists by four spaces; the docstrings use two.
            line = " " * (len(bullet.group(1)) * 2) + line.lstrip(" ")
        out.append(line)
        i += 1
    return "\n".join(out)


try:
    import griffe
except ImportError:  # no docs extra installed: `convert` alone is still tested
    pass
else:

    class DoctestBlocks(griffe.Extension):
        """Rewrite every docstring with `convert` as it is loaded."""

        def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
            if obj.docstring is not None:
                obj.docstring.value = convert(obj.docstring.value)
