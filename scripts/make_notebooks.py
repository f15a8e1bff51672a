"""Turn every chapter into a Jupyter notebook for class.

Usage::

    .venv/bin/python scripts/make_notebooks.py            # notebooks/*.ipynb, ready for class
    .venv/bin/python scripts/make_notebooks.py --raw      # plain conversion, MyST markup kept

By default each chapter is executed. Its outputs come from the book's execution
cache when its code is unchanged since the last book build. Its MyST markup is then
expanded into plain Markdown: glued numbers become the numbers, admonitions and
exercises become quoted boxes, citations and cross-references become text. This is
the same expansion that ``scripts/build_slides.py`` applies to the decks, so a
notebook reads in plain Jupyter exactly as the page reads in the book.

``--raw`` only converts the MyST Markdown to ``.ipynb`` with jupytext, without
executing; the markdown cells then still contain roles such as ``{glue:text}``.
Use it to edit a chapter in Jupyter with jupytext.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]


def load_slide_builder():
    """Import scripts/build_slides.py, which contains the MyST expansion, as a module."""
    spec = importlib.util.spec_from_file_location("build_slides", ROOT / "scripts" / "build_slides.py")
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the module executes.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_raw(out: Path) -> None:
    chapters = ROOT / "chapters"
    for source in sorted(chapters.rglob("*.md")):
        if "kernelspec:" not in source.read_text(encoding="utf-8").split("\n---", 1)[0]:
            continue
        destination = out / source.relative_to(chapters).with_suffix(".ipynb")
        destination.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(jupytext.read(source), destination)
        print(destination)


def write_expanded(out: Path, use_cache: bool) -> None:
    slides = load_slide_builder()
    sources = slides.find_sources()
    index = slides.collect_book_index(sources)
    out.mkdir(parents=True, exist_ok=True)
    for page in sources:
        if not page.path.is_relative_to(ROOT / "chapters"):
            continue  # the talk deck is not a chapter
        notebook = slides.read_notebook(page.path)
        reason = slides.deck_skip_reason(notebook)
        if reason:
            print(f"skip {page.path.relative_to(ROOT)}: {reason}")
            continue
        executed, outputs_from = slides.execute(notebook, page.path.parent, use_cache)
        expanded, problems = slides.prepare_deck(executed, page, index)
        if problems:
            raise SystemExit(f"{page.path.relative_to(ROOT)}: " + "; ".join(problems))
        destination = out / f"{page.name}.ipynb"
        nbformat.write(expanded, destination)
        print(f"{destination} (outputs from {outputs_from})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Turn the book's chapters into .ipynb notebooks for class.")
    parser.add_argument("--out", type=Path, default=ROOT / "notebooks", help="output folder (default: notebooks/)")
    parser.add_argument("--raw", action="store_true", help="convert only; keep MyST markup and do not execute")
    parser.add_argument("--no-cache", action="store_true", help="run every chapter, ignore the book's cache")
    args = parser.parse_args(argv)
    if args.raw:
        write_raw(args.out)
    else:
        write_expanded(args.out, use_cache=not args.no_cache)


if __name__ == "__main__":
    main()
