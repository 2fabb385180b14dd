"""mkdocs hooks for the docs build (``hooks:`` in ``mkdocs.yml``).

* The benchmark charts are written by the harness to ``benchmarks/results/*.png``, outside
  ``docs/``. ``docs/benchmarks.md`` shows them with raw ``<img src="../benchmarks/results/...">``
  tags, which resolve on GitHub; this publishes the same files at
  ``benchmarks/results/<name>.png`` in the site, where the built page's relative URL lands
  (``/benchmarks/`` + ``../benchmarks/results/``), for ``mkdocs build`` and ``mkdocs serve``.
* mkdocs checks Markdown links and images, not raw HTML ones: every ``<img src>`` of every
  built page is checked here, so a chart that is not there fails ``mkdocs build --strict``.

It lives with the docs tests because it is part of the docs tooling, not of the library.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.as2gw_docs")

_CHARTS = "benchmarks/results"
_IMG = re.compile(r"<img\b[^>]*\bsrc=\"([^\"]+)\"", re.IGNORECASE)


def on_files(files: Files, *, config: Any) -> Files:
    root = Path(config.config_file_path).parent
    for chart in sorted((root / _CHARTS).glob("*.png")):
        uri = f"{_CHARTS}/{chart.name}"
        if files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, abs_src_path=str(chart)))
    return files


def on_post_build(*, config: Any) -> None:
    site = Path(config.site_dir)
    for page in site.rglob("*.html"):
        base = page.parent.relative_to(site).as_posix()
        for src in _IMG.findall(page.read_text(encoding="utf-8")):
            parts = urlsplit(src)
            if parts.scheme or parts.netloc or src.startswith("data:"):
                continue
            target = posixpath.normpath(posixpath.join(base, parts.path))
            if parts.path.startswith("/"):
                target = parts.path.lstrip("/")
            if not (site / target).is_file():
                log.warning("%s: image %s is not in the site", page.relative_to(site), src)
