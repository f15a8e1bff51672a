"""The book build must fail when a chapter cell raises.

Jupyter Book 1 can finish with exit code 0 after a notebook error unless execution
errors are configured to fail the build. This test builds a one-page book with the
project's own _config.yml and a cell that raises, and expects a non-zero exit code.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"

PAGE = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# 出错的一页

```{code-cell} ipython3
raise RuntimeError("this cell fails on purpose")
```
"""


def build(book: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(JUPYTER_BOOK), "build", str(book), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def book(tmp_path):
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    shutil.copytree(ROOT / "_ext", tmp_path / "_ext")
    (tmp_path / "references.bib").write_text("", encoding="utf-8")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\n", encoding="utf-8")
    (tmp_path / "index.md").write_text("# 首页\n\n正文。\n", encoding="utf-8")
    return tmp_path


@pytest.mark.skipif(not JUPYTER_BOOK.exists(), reason="jupyter-book is not installed next to this Python")
def test_good_book_builds(book):
    result = build(book)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.skipif(not JUPYTER_BOOK.exists(), reason="jupyter-book is not installed next to this Python")
def test_cell_error_fails_build(book):
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: broken\n", encoding="utf-8")
    (book / "broken.md").write_text(PAGE, encoding="utf-8")
    result = build(book)
    assert result.returncode != 0
    assert "RuntimeError" in result.stdout + result.stderr
