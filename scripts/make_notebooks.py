"""Convert every chapter (MyST Markdown) into a Jupyter notebook for class.

Usage::

    .venv/bin/python scripts/make_notebooks.py            # writes notebooks/*.ipynb
    .venv/bin/python scripts/make_notebooks.py --out DIR

The notebooks have no outputs; run them in Jupyter (or execute them with
``jupyter nbconvert --execute``). Pages without code cells are skipped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]


def chapter_sources(chapters: Path) -> list[Path]:
    """Return the MyST notebooks under ``chapters``: Markdown files with a kernelspec."""
    sources = []
    for path in sorted(chapters.rglob("*.md")):
        if "kernelspec:" in path.read_text(encoding="utf-8").split("\n---", 1)[0]:
            sources.append(path)
    return sources


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Turn the book's chapters into .ipynb notebooks.")
    parser.add_argument("--out", type=Path, default=ROOT / "notebooks", help="output folder (default: notebooks/)")
    args = parser.parse_args(argv)
    chapters = ROOT / "chapters"
    for source in chapter_sources(chapters):
        notebook = jupytext.read(source)
        destination = args.out / source.relative_to(chapters).with_suffix(".ipynb")
        destination.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(notebook, destination)
        print(destination.relative_to(args.out.parent) if args.out.is_relative_to(ROOT) else destination)


if __name__ == "__main__":
    main()
