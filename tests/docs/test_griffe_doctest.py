"""The docs build's docstring rewriter (``griffe_doctest.py``), on the shapes our docstrings use."""

from __future__ import annotations

from .griffe_doctest import convert


def test_doctest_lines_become_a_pycon_block_without_flags() -> None:
    text = "Intro.\n>>> x = 1  # doctest: +SKIP\n>>> x\n1\n\nAfter."
    assert convert(text) == "Intro.\n\n```pycon\n>>> x = 1\n>>> x\n1\n```\n\nAfter."


def test_rest_literal_block_becomes_a_fence() -> None:
    text = "Example::\n\n    gw = Gateway(seed=0)\n    gw.seed(3)\n\nMore text."
    assert convert(text) == (
        "Example:\n\n```python\ngw = Gateway(seed=0)\ngw.seed(3)\n```\n\nMore text."
    )


def test_sphinx_roles_become_code() -> None:
    assert convert("a :class:`~pkg.mod.Gateway` and :meth:`seed`") == "a `Gateway` and `seed`"


def test_two_space_nested_bullets_get_four() -> None:
    assert convert("* a\n  + b\n    + c") == "* a\n    + b\n        + c"


def test_google_examples_sections_are_left_to_griffe() -> None:
    text = "Summary.\n\nExamples:\n    >>> 1 + 1\n    2"
    assert convert(text) == text
