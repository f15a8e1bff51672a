"""Sphinx extension: put each page's executed notebook next to its HTML page.

myst-nb writes the executed notebooks to ``<outdir>/../jupyter_execute``. After a
successful HTML build this copies every ``.ipynb`` from there to the same relative
path in the output, so ``chapters/ch01_motivation.html`` can link to
``chapters/ch01_motivation.ipynb``. (Sphinx's ``html_extra_path`` cannot do this: it
warns when the folder does not exist yet, as on a clean build.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)


def copy_executed_notebooks(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    executed = Path(app.outdir).parent / "jupyter_execute"
    copied = 0
    for notebook in executed.rglob("*.ipynb"):
        destination = Path(app.outdir) / notebook.relative_to(executed)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, destination)
        copied += 1
    logger.info(f"notebook_downloads: copied {copied} executed notebooks into the HTML output")


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", copy_executed_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
