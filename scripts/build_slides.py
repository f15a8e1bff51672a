"""Build offline reveal.js slide decks from the book's chapters and the talk deck.

Usage::

    .venv/bin/python scripts/build_slides.py                  # every deck
    .venv/bin/python scripts/build_slides.py --only talk ch01_motivation
    .venv/bin/python scripts/build_slides.py --list           # deck names, no build
    .venv/bin/python scripts/build_slides.py --no-cache       # always run the kernel

Decks come from every page listed in ``_toc.yml`` that is a notebook with code
cells or slide metadata, plus every MyST notebook in ``slides/`` (the talk). Each
page is executed first: its outputs are taken from the book's execution cache
(``_build/.jupyter_cache``) when the code cells are unchanged since the last book
build, and otherwise the page runs in a fresh kernel.

MyST syntax that nbconvert cannot render is rewritten into plain Markdown before
export. Glued numbers (``{glue:text}`` and friends) are replaced by the values
the executed cells glued, formatted exactly as myst-nb formats them. Glued
figures become image attachments with a numbered caption. Admonitions, exercises
and solutions become styled ``<div>`` blocks. Citations, cross-references and
labels become plain text. Cell tags keep their book meaning: ``remove-cell``
cells are skipped, and ``hide-input`` or ``remove-input`` hide the code.

Output (default ``_build/slides/``):

- ``<deck>.slides.html``: the reveal.js deck; press S for the speaker view.
- ``notebooks/<deck>.ipynb``: the same converted, executed notebook, for live
  presenting with RISE in JupyterLab.
- ``assets/``: reveal.js 5 (from the ``sphinx-revealjs`` package), MathJax 3
  (from ``sphinx-mathjax-offline``) and a fallback Chinese font (Noto Sans CJK
  SC, from ``mplfonts``), so the decks need no network. Copy the whole output
  folder to present on another computer.
- ``index.html`` and ``decks.json``: the list of decks and their slide counts.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
SLIDES_SOURCE = ROOT / "slides"
TEMPLATE_DIR = SLIDES_SOURCE / "template"
TEMPLATE_NAME = "course_reveal"
DEFAULT_OUT = ROOT / "_build" / "slides"
BOOK_CACHE = ROOT / "_build" / ".jupyter_cache"

# Slide size in CSS pixels. reveal.js scales the deck to fit the screen.
SLIDE_WIDTH = 1280
SLIDE_HEIGHT = 720
EXECUTION_TIMEOUT = 300  # seconds per cell, as in the book's _config.yml

GLUE_PREFIX = "application/papermill.record/"
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}

# Titles of MyST admonition directives, in the book's language.
ADMONITION_TITLES = {
    "note": "注意",
    "warning": "警告",
    "tip": "提示",
    "hint": "提示",
    "important": "重要",
    "attention": "注意",
    "caution": "小心",
    "danger": "危险",
    "error": "错误",
    "seealso": "另见",
    "exercise": "练习",
    "solution": "解答",
}
# Directives that show nothing useful on a slide.
DROPPED_DIRECTIVES = {"bibliography", "nb-exec-table", "tableofcontents", "toctree", "glossary-index"}
FIGURE_DIRECTIVES = {"glue:figure", "figure"}
GLUE_BLOCK_DIRECTIVES = {"glue", "glue:", "glue:any", "glue:md", "glue:math"}

FENCE_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[^}\s]+)\}\s*(?P<argument>.*)$")
LABEL_LINE = re.compile(r"^\((?P<label>[^()\s]+)\)=\s*$")
ROLE = re.compile(r"\{(?P<name>[A-Za-z][\w:.-]*)\}`(?P<content>[^`]*)`")
HEADING = re.compile(r"^(#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\((?P<src>[^)\s]+)")
EXPLICIT_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)


# --------------------------------------------------------------------------
# Which pages become decks


@dataclass
class DeckSource:
    """A page that may become a deck."""

    name: str  # output file stem, e.g. "ch01_motivation" or "appendix_simulator"
    path: Path
    chapter_number: int | None  # number in the book's numbered parts, if any


def toc_entries(toc_path: Path) -> list[tuple[str, bool]]:
    """Return ``(file, numbered)`` for every page in a jb-book ``_toc.yml``, in order."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    entries: list[tuple[str, bool]] = []

    def walk(items, numbered: bool) -> None:
        for item in items or []:
            if "file" in item:
                entries.append((item["file"], numbered))
            walk(item.get("sections"), numbered)
            walk(item.get("chapters"), numbered)

    if "root" in toc:
        entries.append((toc["root"], False))
    for part in toc.get("parts", []):
        walk(part.get("chapters"), bool(part.get("numbered", False)))
    walk(toc.get("chapters"), bool(toc.get("numbered", False)))
    walk(toc.get("sections"), bool(toc.get("numbered", False)))
    return entries


def resolve_page(root: Path, entry: str) -> Path | None:
    """Return the source file of a toc entry (``.md`` or ``.ipynb``), or None if missing."""
    base = root / entry
    if base.suffix in {".md", ".ipynb"} and base.exists():
        return base
    for suffix in (".md", ".ipynb"):
        candidate = base.with_name(base.name + suffix)
        if candidate.exists():
            return candidate
    return None


def deck_name(path: Path) -> str:
    """Name a deck after its page: ``chapters/appendix/simulator.md`` -> ``appendix_simulator``."""
    relative = path.relative_to(ROOT)
    parts = list(relative.with_suffix("").parts)
    if parts[0] in {"chapters", "slides"}:
        parts = parts[1:]
    return "_".join(parts)


def find_sources(root: Path = ROOT) -> list[DeckSource]:
    """List the pages of ``_toc.yml`` and the notebooks in ``slides/`` that may become decks."""
    sources: list[DeckSource] = []
    chapter_number = 0
    for entry, numbered in toc_entries(root / "_toc.yml"):
        path = resolve_page(root, entry)
        if path is None:
            print(f"skip {entry}: listed in _toc.yml but no .md or .ipynb file exists", file=sys.stderr)
            continue
        number = None
        if numbered:
            chapter_number += 1
            number = chapter_number
        sources.append(DeckSource(deck_name(path), path, number))
    for path in sorted(SLIDES_SOURCE.glob("*.md")) + sorted(SLIDES_SOURCE.glob("*.ipynb")):
        sources.append(DeckSource(deck_name(path), path, None))
    return sources


def read_notebook(path: Path) -> nbformat.NotebookNode | None:
    """Read a page as a notebook, or return None for a Markdown page without a kernelspec."""
    if path.suffix == ".ipynb":
        return nbformat.read(path, as_version=4)
    text = path.read_text(encoding="utf-8")
    front_matter = text.split("\n---", 1)[0] if text.startswith("---") else ""
    if "kernelspec:" not in front_matter:
        return None
    return jupytext.reads(text, fmt="md:myst")


def slide_type(cell) -> str:
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")


def deck_skip_reason(notebook) -> str | None:
    """Return why a notebook gets no deck, or None if it gets one."""
    if notebook is None:
        return "not a notebook (no kernelspec in its front matter)"
    has_code = any(cell.cell_type == "code" for cell in notebook.cells)
    has_slides = any("slideshow" in cell.get("metadata", {}) for cell in notebook.cells)
    if not has_code and not has_slides:
        return "no code cells and no slide metadata"
    return None


# --------------------------------------------------------------------------
# Cross-references across the book: labels, titles, figure numbers, citations


@dataclass
class BookIndex:
    """Titles and numbers that MyST roles refer to, collected from every page."""

    titles: dict[str, str]  # label -> heading text
    figure_numbers: dict[str, str]  # figure name -> "1.2"
    citations: dict[str, str]  # bibtex key -> "Pan and Yang, 2010"


def collect_book_index(sources: list[DeckSource]) -> BookIndex:
    """Scan every page for ``(label)=`` headings and named figures; read references.bib."""
    titles: dict[str, str] = {}
    figure_numbers: dict[str, str] = {}
    for source in sources:
        if source.path.suffix != ".md":
            continue
        lines = source.path.read_text(encoding="utf-8").splitlines()
        figure_count = 0
        in_figure = False
        for index, line in enumerate(lines):
            label = LABEL_LINE.match(line)
            if label:
                for following in lines[index + 1 : index + 3]:
                    heading = HEADING.match(following)
                    if heading:
                        titles[label["label"]] = heading["title"]
                        break
            opening = FENCE_OPEN.match(line)
            if opening and opening["name"] in FIGURE_DIRECTIVES:
                figure_count += 1
                in_figure = True
                continue
            if in_figure and line.startswith(":name:"):
                name = line.split(":", 2)[2].strip()
                prefix = f"{source.chapter_number}." if source.chapter_number else ""
                figure_numbers[name] = f"{prefix}{figure_count}"
            if in_figure and not line.startswith(":"):
                in_figure = False
    return BookIndex(titles, figure_numbers, read_citations(ROOT / "references.bib"))


def read_citations(bib_path: Path) -> dict[str, str]:
    """Map each BibTeX key to an author-year label such as ``Gretton et al., 2012``."""
    if not bib_path.exists():
        return {}
    from pybtex.database import parse_file

    labels = {}
    for key, entry in parse_file(str(bib_path)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [" ".join(person.last_names) for person in people]
        if len(names) >= 3:
            authors = f"{names[0]} et al."
        else:
            authors = " and ".join(names) or key
        year = entry.fields.get("year", "")
        labels[key] = f"{authors}, {year}" if year else authors
    return labels


# --------------------------------------------------------------------------
# Execution


def execute(notebook, cwd: Path, use_cache: bool) -> tuple[nbformat.NotebookNode, str]:
    """Return the executed notebook and where its outputs came from ("book cache" or "kernel")."""
    if use_cache and (BOOK_CACHE / "global.db").exists():
        from jupyter_cache import get_cache

        try:
            _, merged = get_cache(BOOK_CACHE).merge_match_into_notebook(notebook)
            return merged, "book cache"
        except KeyError:
            pass  # code changed since the last book build
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    executed = copy.deepcopy(notebook)
    with tempfile.TemporaryDirectory(prefix="slides-kernel-") as sockets:
        # Unix sockets in a private folder instead of TCP ports on localhost.
        kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "kernel"))
        try:
            NotebookClient(
                executed,
                km=kernel,
                timeout=EXECUTION_TIMEOUT,
                resources={"metadata": {"path": str(cwd)}},
            ).execute()
        finally:
            # NotebookClient shuts down only the kernels it started itself.
            if kernel.has_kernel:
                kernel.shutdown_kernel()
    return executed, "kernel"


def collect_glue(notebook) -> dict[str, dict]:
    """Return the MIME bundle of every value glued with ``myst_nb.glue``, by name."""
    glued = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if not scrapbook:
                continue
            prefix = scrapbook.get("mime_prefix", "")
            glued[scrapbook["name"]] = {
                mime[len(prefix) :]: value for mime, value in output.get("data", {}).items() if mime.startswith(prefix)
            }
    return glued


# --------------------------------------------------------------------------
# MyST Markdown -> Markdown that nbconvert and JupyterLab render


class MystConverter:
    """Rewrite the MyST constructs of one page into plain Markdown with HTML blocks."""

    def __init__(self, glued: dict[str, dict], index: BookIndex, page: DeckSource):
        self.glued = glued
        self.index = index
        self.page = page
        self.attachments: dict[str, dict] = {}
        self.problems: list[str] = []

    # Roles ---------------------------------------------------------------

    def glue_text(self, content: str, markdown: bool = False) -> str:
        from myst_nb.core.variables import format_plain_text

        key, _, fmt_spec = content.partition(":")
        bundle = self.glued.get(key.strip())
        if bundle is None:
            self.problems.append(f"glue key {key!r} not found")
            return f"**[{key}?]**"
        if markdown and "text/markdown" in bundle:
            return bundle["text/markdown"].strip()
        if "text/plain" not in bundle:
            self.problems.append(f"glue key {key!r} has no text/plain value")
            return f"**[{key}?]**"
        return format_plain_text(bundle["text/plain"], fmt_spec)

    def replace_role(self, match: re.Match) -> str:
        name, content = match["name"], match["content"]
        explicit = EXPLICIT_TARGET.match(content)
        text, target = (explicit["text"], explicit["target"]) if explicit else ("", content)
        if name in {"glue", "glue:", "glue:any", "glue:text"}:
            return self.glue_text(content)
        if name == "glue:md":
            return self.glue_text(content, markdown=True)
        if name in {"cite", "cite:p", "cite:t", "cite:ps", "cite:ts"}:
            keys = [key.strip() for key in content.split(",")]
            return "[" + "; ".join(self.index.citations.get(key, key) for key in keys) + "]"
        if name == "numref":
            number = self.index.figure_numbers.get(target)
            if number is None:
                return text or target
            if text and "%s" in text:
                return text.replace("%s", number)
            if text and "{number}" in text:
                return text.replace("{number}", number)
            return f"图 {number}"
        if name in {"ref", "doc"}:
            return text or self.index.titles.get(target, target)
        if name in {"math"}:
            return f"${content}$"
        if name in {"eq"}:
            return f"({target})"
        # {term}, {abbr}, {sub-ref}, {kbd} and any other role: show its text.
        return text or content

    def inline(self, text: str) -> str:
        return ROLE.sub(self.replace_role, text)

    # Directives ----------------------------------------------------------

    def convert(self, source: str) -> str:
        """Convert one Markdown cell (or a directive body) to plain Markdown."""
        lines = source.split("\n")
        out: list[str] = []
        index = 0
        code_fence = None
        while index < len(lines):
            line = lines[index]
            stripped = line.strip()
            if code_fence is not None:
                out.append(line)
                if stripped.startswith(code_fence) and set(stripped) == {code_fence[0]}:
                    code_fence = None
                index += 1
                continue
            opening = FENCE_OPEN.match(stripped)
            if opening:
                end = self.closing_line(lines, index, opening["fence"])
                body = lines[index + 1 : end]
                out.extend(self.directive(opening["name"], opening["argument"].strip(), body))
                index = end + 1
                continue
            if re.match(r"^(`{3,}|~{3,})", stripped):
                code_fence = re.match(r"^(`{3,}|~{3,})", stripped)[1]
                out.append(line)
            elif LABEL_LINE.match(stripped) or stripped.startswith("% ") or stripped == "%":
                pass  # a MyST target label or comment
            else:
                out.append(MARKDOWN_IMAGE.sub(self.attach_local_image, self.inline(line)))
            index += 1
        text = "\n".join(out)
        # A display-math label "$$ ... $$ (eq-name)" renders as text in plain Markdown.
        return re.sub(r"(\$\$)\s*\([\w:-]+\)\s*$", r"\1", text, flags=re.MULTILINE)

    @staticmethod
    def closing_line(lines: list[str], start: int, fence: str) -> int:
        """Return the index of the line that closes the directive opened at ``start``."""
        char = fence[0]
        for index in range(start + 1, len(lines)):
            stripped = lines[index].strip()
            if stripped and set(stripped) == {char} and len(stripped) >= len(fence):
                return index
        return len(lines)

    @staticmethod
    def split_options(body: list[str]) -> tuple[dict[str, str], list[str]]:
        """Split a directive body into its options (``:key: value`` or a YAML block) and content."""
        options: dict[str, str] = {}
        if body and body[0].strip() == "---":
            end = next((i for i in range(1, len(body)) if body[i].strip() == "---"), None)
            if end is not None:
                options = {str(k): str(v) for k, v in (yaml.safe_load("\n".join(body[1:end])) or {}).items()}
                return options, body[end + 1 :]
        index = 0
        while index < len(body):
            option = re.match(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*)$", body[index])
            if not option:
                break
            options[option["key"]] = option["value"].strip()
            index += 1
        return options, body[index:]

    def directive(self, name: str, argument: str, body: list[str]) -> list[str]:
        """Return the Markdown lines that replace one directive."""
        options, content_lines = self.split_options(body)
        content = "\n".join(content_lines).strip("\n")

        if name in DROPPED_DIRECTIVES or name in {"solution-end"}:
            return []
        if name == "solution-start":
            return ['<p class="admonition-title">解答</p>', ""]
        if name in FIGURE_DIRECTIVES:
            return self.figure(name, argument, options, content)
        if name in GLUE_BLOCK_DIRECTIVES:
            return self.glue_block(name, argument)
        if name == "math":
            return ["$$", content, "$$"]
        if name in {"code", "code-block", "sourcecode"}:
            return [f"```{argument}", content, "```"]
        if name == "image":
            return [MARKDOWN_IMAGE.sub(self.attach_local_image, f"![{options.get('alt', '')}]({argument})")]
        if name == "glossary":
            return self.glossary(content_lines)

        if name == "admonition" or name in ADMONITION_TITLES:
            title = argument if name == "admonition" else ADMONITION_TITLES[name]
            if name == "exercise" and argument:
                title = f"练习：{argument}"
            css = options.get("class", "").replace("dropdown", "").strip()
            kinds = ["admonition"] if name == "admonition" else ["admonition", name]
            classes = " ".join(kinds + ([css] if css else []))
            return [
                f'<div class="{classes}">',
                f'<p class="admonition-title">{self.inline(title)}</p>',
                "",
                self.convert(content),
                "",
                "</div>",
                "",
            ]

        # Unknown directive: keep its content so nothing the author wrote is lost.
        return [self.convert(content), ""]

    def figure(self, name: str, argument: str, options: dict[str, str], caption: str) -> list[str]:
        figure_name = options.get("name", "")
        number = self.index.figure_numbers.get(figure_name, "")
        if name == "glue:figure":
            image = self.glued_image(argument)
            if image is None:
                return [f"**[{argument}?]**"]
        else:
            image = MARKDOWN_IMAGE.sub(self.attach_local_image, f"![{figure_name}]({argument})")
        label = f"**图 {number}**　" if number else ""
        lines = ['<div class="course-figure">', "", image, ""]
        if caption:
            lines += ['<div class="caption">', "", label + self.convert(caption), "", "</div>"]
        return lines + ["</div>", ""]

    def attach_local_image(self, match: re.Match) -> str:
        """Attach an image file that Markdown refers to by a relative path."""
        src = match["src"]
        if re.match(r"^[a-z]+:", src):
            return match[0]  # attachment:, data:, http: and the like stay as they are
        path = (self.page.path.parent / src).resolve()
        mime = IMAGE_TYPES.get(path.suffix.lower())
        if mime is None or not path.exists():
            self.problems.append(f"image {src!r} not found or not PNG, JPEG or SVG")
            return match[0]
        self.attachments[path.name] = {mime: base64.b64encode(path.read_bytes()).decode("ascii")}
        return match[0].replace(f"({src}", f"(attachment:{path.name}")

    def glued_image(self, key: str) -> str | None:
        bundle = self.glued.get(key)
        if bundle is None:
            self.problems.append(f"glued figure {key!r} not found")
            return None
        for mime, suffix in (("image/png", "png"), ("image/jpeg", "jpg"), ("image/svg+xml", "svg")):
            if mime in bundle:
                data = bundle[mime]
                if mime == "image/svg+xml":
                    data = base64.b64encode(data.encode("utf-8")).decode("ascii")
                attachment = f"{key}.{suffix}"
                self.attachments[attachment] = {mime: data}
                return f"![{key}](attachment:{attachment})"
        self.problems.append(f"glued value {key!r} is not an image")
        return None

    def glue_block(self, name: str, key: str) -> list[str]:
        image = self.glued_image(key) if name in {"glue", "glue:", "glue:any"} and self.has_image(key) else None
        if image:
            return [image, ""]
        if name == "glue:math":
            return ["$$", self.glue_text(key), "$$"]
        return [self.glue_text(key, markdown=name == "glue:md"), ""]

    def has_image(self, key: str) -> bool:
        return any(mime.startswith("image/") for mime in self.glued.get(key, {}))

    def glossary(self, lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            if line.strip() and not line.startswith((" ", "\t")):
                out.append(f"**{self.inline(line.strip())}**：")
            elif line.strip():
                out[-1:] = [out[-1] + self.inline(line.strip())] if out else [self.inline(line.strip())]
        return [f"- {item}" for item in out] + [""]


# --------------------------------------------------------------------------
# Slide structure


HIDE_INPUT_TAGS = {"hide-input", "remove-input"}
HIDE_OUTPUT_TAGS = {"hide-output", "remove-output"}
REMOVE_CELL_TAGS = {"remove-cell", "hide-cell"}


def strip_glue_outputs(cell) -> None:
    """Drop the hidden outputs that ``glue(..., display=False)`` leaves in a cell."""
    cell.outputs = [
        output
        for output in cell.get("outputs", [])
        if output.get("metadata", {}).get("scrapbook", {}).get("mime_prefix", "") != GLUE_PREFIX
    ]


def apply_tags(cell) -> None:
    """Translate the book's cell tags into what JupyterLab (RISE) and nbconvert show."""
    tags = set(cell.metadata.get("tags", []))
    jupyter = cell.metadata.setdefault("jupyter", {})
    if tags & REMOVE_CELL_TAGS:
        cell.metadata.setdefault("slideshow", {})["slide_type"] = "skip"
        jupyter["source_hidden"] = True
    if tags & HIDE_INPUT_TAGS:
        jupyter["source_hidden"] = True
    if tags & HIDE_OUTPUT_TAGS:
        cell.outputs = []
    if not jupyter:
        del cell.metadata["jupyter"]


def is_blank(cell) -> bool:
    """Return whether a cell would show nothing on a slide."""
    if cell.cell_type == "markdown":
        return not cell.source.strip()
    hidden_source = cell.metadata.get("jupyter", {}).get("source_hidden", False)
    return (hidden_source or not cell.source.strip()) and not cell.get("outputs")


def drop_blank_cells(cells: list) -> list:
    """Remove cells that show nothing, and move a removed cell's slide start to the next cell."""
    visible_cells = []
    pending_start = None
    for cell in cells:
        kind = slide_type(cell)
        if is_blank(cell) and kind not in {"skip"}:
            if kind in {"slide", "subslide"} and pending_start != "slide":
                pending_start = kind
            continue
        if pending_start and kind in {"-", "fragment"}:
            cell.metadata.setdefault("slideshow", {})["slide_type"] = pending_start
        if kind not in {"skip", "notes"}:
            pending_start = None
        visible_cells.append(cell)
    return visible_cells


def add_default_slides(cells: list) -> None:
    """Give a page without slide metadata one slide per heading and one subslide per paragraph group.

    A Markdown cell that starts with a heading opens a slide. Any other Markdown
    cell opens a subslide below it. A code cell joins the cell before it.
    """
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        first_line = cell.source.lstrip().split("\n", 1)[0]
        kind = "slide" if first_line.startswith("#") else "subslide"
        cell.metadata["slideshow"] = {"slide_type": kind}


def count_slides(cells: list) -> int:
    """Count the slides reveal.js will show (subslides included), as nbconvert builds them."""
    visible = [cell for cell in cells if slide_type(cell) not in {"skip", "notes"}]
    if not visible:
        return 0
    return 1 + sum(1 for cell in visible[1:] if slide_type(cell) in {"slide", "subslide"})


def first_title(cells: list) -> str:
    """Return the text of the first heading of the first visible cell that has one."""
    for cell in cells:
        if cell.cell_type == "markdown" and slide_type(cell) not in {"skip", "notes"}:
            for line in cell.source.split("\n"):
                heading = HEADING.match(line.strip())
                if heading:
                    return re.sub(r"[*_`]", "", heading["title"]).strip()
    return ""


def prepare_deck(executed, page: DeckSource, index: BookIndex) -> tuple[nbformat.NotebookNode, list[str]]:
    """Turn an executed page into a notebook that exports to a readable deck."""
    notebook = copy.deepcopy(executed)
    glued = collect_glue(notebook)
    converter = MystConverter(glued, index, page)
    has_slide_metadata = any("slideshow" in cell.metadata for cell in notebook.cells)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = converter.convert(cell.source).strip("\n")
            if converter.attachments:
                cell.attachments = converter.attachments
                converter.attachments = {}
        elif cell.cell_type == "code":
            strip_glue_outputs(cell)
            apply_tags(cell)
    if not has_slide_metadata:
        add_default_slides(notebook.cells)
    notebook.cells = drop_blank_cells(notebook.cells)
    notebook.metadata["title"] = first_title(notebook.cells) or page.name
    notebook.metadata["rise"] = {
        "scroll": True,
        "width": SLIDE_WIDTH,
        "height": SLIDE_HEIGHT,
        "theme": "white",
        "transition": "slide",
    }
    notebook.metadata.pop("jupytext", None)
    return notebook, converter.problems


# --------------------------------------------------------------------------
# Export


def make_exporter():
    from nbconvert import SlidesExporter

    return SlidesExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        # Images are cell attachments already. nbconvert's embed_images would
        # re-parse every raw HTML block on its own and close the admonition
        # <div> before its Markdown content.
        embed_images=False,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        language_code="zh",
        reveal_url_prefix="assets/reveal.js",
        reveal_theme="white",
        reveal_transition="slide",
        reveal_number="c/t",
        reveal_width=str(SLIDE_WIDTH),
        reveal_height=str(SLIDE_HEIGHT),
        mathjax_url="assets/mathjax/tex-svg.js",
    )


def export_html(notebook, source_dir: Path) -> str:
    """Render a prepared notebook as a reveal.js deck."""
    for_html = copy.deepcopy(notebook)
    for cell in for_html.cells:
        if cell.cell_type == "code" and cell.metadata.get("jupyter", {}).get("source_hidden"):
            cell.metadata["transient"] = {"remove_source": True}
    html, _ = make_exporter().from_notebook_node(for_html, resources={"metadata": {"path": str(source_dir)}})
    return html


def asset_sources() -> dict[str, Path]:
    """Map each folder or file under ``assets/`` to its source in an installed package."""
    import mplfonts
    import sphinx_revealjs

    revealjs = Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"
    return {
        "reveal.js/dist": revealjs / "dist",
        "reveal.js/plugin/notes": revealjs / "plugin" / "notes",
        "reveal.js/LICENSE": revealjs / "LICENSE",
        # The whole MathJax tree, because its context menu loads components on demand.
        "mathjax": find_mathjax(),
        # Fallback web font for computers without a Chinese system font (SIL OFL).
        "fonts/NotoSansCJKsc-Regular.otf": Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf",
    }


def copy_assets(out: Path) -> None:
    """Copy reveal.js, MathJax and a CJK font from installed packages into ``out/assets``.

    The copy is skipped when ``assets/versions.json`` records the same package
    versions, so a rebuild does not copy 40 MB again.
    """
    from importlib.metadata import version

    assets = out / "assets"
    versions = {name: version(name) for name in ("sphinx-revealjs", "sphinx-mathjax-offline", "mplfonts")}
    stamp = assets / "versions.json"
    if stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")) == versions:
        return
    if assets.exists():
        shutil.rmtree(assets)
    for relative, source in asset_sources().items():
        if not source.exists():
            raise FileNotFoundError(f"{source} is missing; reinstall the package that provides it.")
        target = assets / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.map"))
        else:
            shutil.copy2(source, target)
    stamp.write_text(json.dumps(versions, indent=2) + "\n", encoding="utf-8")


def find_mathjax() -> Path:
    """Return MathJax 3's folder inside the installed ``sphinx-mathjax-offline`` package."""
    import sysconfig

    folder = Path(sysconfig.get_paths()["purelib"]) / "sphinx-mathjax-offline" / "static" / "mathjax"
    if not (folder / "tex-svg.js").exists():
        raise FileNotFoundError(
            f"MathJax 3 not found at {folder}. Install it with "
            "'.venv/bin/pip install sphinx-mathjax-offline' (it is in requirements.txt)."
        )
    return folder


@dataclass
class DeckRecord:
    """One built deck, as listed in ``decks.json``."""

    name: str
    source: str
    title: str
    html: str
    notebook: str
    slides: int
    notes: int
    outputs_from: str
    seconds: float


def write_index(out: Path, records: list[DeckRecord]) -> None:
    """Write ``decks.json`` and an ``index.html`` that links every deck."""
    (out / "decks.json").write_text(
        json.dumps([asdict(record) for record in records], ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    rows = "\n".join(
        f'<li><a href="{r.html}">{r.title}</a>（{r.slides} 页，来源 <code>{r.source}</code>，'
        f'<a href="{r.notebook}">笔记本</a>）</li>'
        for r in records
    )
    (out / "index.html").write_text(
        f"""<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>课程幻灯片</title>
<style>body{{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;
max-width:50em;margin:2em auto;line-height:1.6}}</style></head>
<body><h1>嵌入空间视角下的迁移学习：幻灯片</h1>
<p>点击打开幻灯片。放映时按 F 全屏，按 S 打开演讲者视图（讲稿与计时），按 Esc 查看全部页面。</p>
<ul>
{rows}
</ul></body></html>
""",
        encoding="utf-8",
    )


def build_deck(page: DeckSource, notebook, index: BookIndex, out: Path, use_cache: bool) -> DeckRecord:
    """Execute one page and write its deck and its presenter notebook."""
    start = time.perf_counter()
    executed, outputs_from = execute(notebook, page.path.parent, use_cache)
    deck, problems = prepare_deck(executed, page, index)
    if problems:
        raise ValueError(f"{page.path.relative_to(ROOT)}: " + "; ".join(problems))
    html = export_html(deck, page.path.parent)
    # A chapter links its own notebook next to its web page; in the deck folder the
    # executed notebook lives in notebooks/ instead.
    html = html.replace(f'href="{page.path.stem}.ipynb"', f'href="notebooks/{page.name}.ipynb"')
    html_path = out / f"{page.name}.slides.html"
    html_path.write_text(html, encoding="utf-8")
    notebook_path = out / "notebooks" / f"{page.name}.ipynb"
    notebook_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(deck, notebook_path)
    return DeckRecord(
        name=page.name,
        source=str(page.path.relative_to(ROOT)),
        title=deck.metadata["title"],
        html=html_path.name,
        notebook=str(notebook_path.relative_to(out)),
        slides=count_slides(deck.cells),
        notes=sum(1 for cell in deck.cells if slide_type(cell) == "notes"),
        outputs_from=outputs_from,
        seconds=round(time.perf_counter() - start, 1),
    )


def main(argv: list[str] | None = None) -> list[DeckRecord]:
    parser = argparse.ArgumentParser(description="Build offline reveal.js decks from the chapters and slides/.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: _build/slides)")
    parser.add_argument("--only", nargs="+", metavar="DECK", help="build only these decks (names from --list)")
    parser.add_argument("--no-cache", action="store_true", help="run every page in a kernel, ignore the book's cache")
    parser.add_argument("--list", action="store_true", help="print the deck names and exit")
    args = parser.parse_args(argv)

    sources = find_sources()
    index = collect_book_index(sources)
    pages = []
    for page in sources:
        notebook = read_notebook(page.path)
        reason = deck_skip_reason(notebook)
        if reason:
            print(f"skip {page.path.relative_to(ROOT)}: {reason}")
            continue
        pages.append((page, notebook))
    if args.list:
        for page, _ in pages:
            print(page.name)
        return []
    if args.only:
        unknown = sorted(set(args.only) - {page.name for page, _ in pages})
        if unknown:
            parser.error(f"unknown deck names {unknown}; choose from {[page.name for page, _ in pages]}")
        pages = [(page, notebook) for page, notebook in pages if page.name in args.only]

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    records = []
    failures: list[str] = []
    failed_names: set[str] = set()
    for page, notebook in pages:
        try:
            record = build_deck(page, notebook, index, out, use_cache=not args.no_cache)
        except Exception as error:  # report every failing page, then fail the whole build
            failed_names.add(page.name)
            failures.append(f"{page.path.relative_to(ROOT)}: {type(error).__name__}: {error}")
            print(f"FAILED {failures[-1]}", file=sys.stderr)
            continue
        records.append(record)
        print(f"{record.html}: {record.slides} slides, outputs from {record.outputs_from}, {record.seconds} s")
    if args.only and (out / "decks.json").exists():
        previous = {
            r["name"]: DeckRecord(**r)
            for r in json.loads((out / "decks.json").read_text(encoding="utf-8"))
            if r["name"] not in failed_names
        }
        previous.update({record.name: record for record in records})
        order = [page.name for page in sources]
        records = sorted(previous.values(), key=lambda r: order.index(r.name) if r.name in order else len(order))
    write_index(out, records)
    if failures:
        raise SystemExit(f"{len(failures)} deck(s) failed to build:\n" + "\n".join(failures))
    print(f"open {out / 'index.html'}")
    return records


if __name__ == "__main__":
    main()
