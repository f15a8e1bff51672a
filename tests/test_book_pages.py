"""Open every page of the built book in headless Chromium, with no network.

Reads ``_build/html``, so build the book first (the README's first command; CI does
it before the tests). Checks that images load, formulas render, no cell shows an
error or stderr output, internal links resolve, nothing is requested from the
network, and that searching for a Chinese term finds pages. Screenshots of a few
pages go to ``_build/screenshots/`` for review.
"""

from __future__ import annotations

import html.parser
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.browser import Browser, Page, find_chromium, network_report

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
# index.html only redirects to the front page, so it has no title of its own.
SKIPPED_PAGES = {"genindex.html", "search.html", "index.html"}
SCREENSHOT_PAGES = {
    "chapters/intro.html",
    "chapters/ch01_motivation.html",
    "chapters/ch02_embedding_space.html",
    "chapters/appendix/lalonde.html",
}


def book_pages() -> list[Path]:
    if not (HTML / "index.html").is_file():
        return []
    pages = []
    for path in sorted(HTML.rglob("*.html")):
        relative = path.relative_to(HTML)
        if relative.parts[0].startswith("_") or str(relative) in SKIPPED_PAGES:
            continue
        pages.append(path)
    return pages


PAGES = book_pages()
pytestmark = pytest.mark.skipif(not PAGES, reason="The book is not built; run jupyter-book build . first")


class LinkCollector(html.parser.HTMLParser):
    """Collect element ids and the targets of <a href> and <img src> of one page."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "img" and attributes.get("src"):
            self.links.append(attributes["src"])


def parse(path: Path) -> LinkCollector:
    collector = LinkCollector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector


def test_internal_links_resolve():
    parsed = {}
    broken = []
    for page in PAGES:
        for link in parse(page).links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith(("mailto:", "//")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.exists():
                broken.append(f"{page.relative_to(HTML)} -> {link} (file not found)")
                continue
            if parts.fragment and target.suffix == ".html":
                if target not in parsed:
                    parsed[target] = parse(target)
                if unquote(parts.fragment) not in parsed[target].ids:
                    broken.append(f"{page.relative_to(HTML)} -> {link} (anchor not found)")
    assert broken == []


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.skip("Chromium is not installed; on Debian: apt-get install chromium fonts-noto-cjk")
    with tempfile.TemporaryDirectory(prefix="book-chromium-") as profile:
        instance = Browser(executable, Path(profile))
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def opened_pages(browser) -> dict[str, dict]:
    """Open each page once and record what the checks need."""
    records = {}
    page = Page(browser)
    for path in PAGES:
        name = str(path.relative_to(HTML))
        page.open(path.as_uri())
        # MathJax 3 typesets asynchronously; wait for it where the page loads it.
        page.evaluate(
            "window.MathJax && MathJax.startup && MathJax.startup.promise"
            " ? MathJax.startup.promise.then(() => true) : true",
            timeout=60,
        )
        record = page.evaluate(
            """(() => {
                const images = [...document.querySelectorAll('img')];
                return {
                    broken_images: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
                    n_images: images.length,
                    math: document.querySelectorAll('.math').length,
                    typeset: document.querySelectorAll('mjx-container').length,
                    math_errors: document.querySelectorAll('mjx-merror').length,
                    cell_errors: document.querySelectorAll('.output.traceback, .output.error').length,
                    stderr: [...document.querySelectorAll('.output.stderr')].map(e => e.innerText.slice(0, 300)),
                    title: document.querySelector('h1') ? document.querySelector('h1').innerText : '',
                };
            })()"""
        )
        failed, remote, errors = network_report(browser.events(), page.session)
        record.update(failed=failed, remote=remote, js_errors=errors)
        if name in SCREENSHOT_PAGES:
            page.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 2400, "deviceScaleFactor": 1, "mobile": False})
            page.screenshot(SCREENSHOTS / (name.replace("/", "_").replace(".html", ".png")))
            page.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 720, "deviceScaleFactor": 1, "mobile": False})
        records[name] = record
    return records


def test_every_page_has_a_title(opened_pages):
    untitled = [name for name, record in opened_pages.items() if not record["title"].strip()]
    assert untitled == []


def test_images_load(opened_pages):
    broken = {name: record["broken_images"] for name, record in opened_pages.items() if record["broken_images"]}
    assert broken == {}


def test_no_failed_or_remote_requests(opened_pages):
    failed = {name: record["failed"] for name, record in opened_pages.items() if record["failed"]}
    remote = {name: record["remote"] for name, record in opened_pages.items() if record["remote"]}
    assert failed == {}
    assert remote == {}


def test_formulas_render(opened_pages):
    unrendered = {
        name: f"{record['typeset']} typeset of {record['math']} math elements"
        for name, record in opened_pages.items()
        if record["math"] and record["typeset"] < record["math"]
    }
    errors = {name: record["math_errors"] for name, record in opened_pages.items() if record["math_errors"]}
    assert unrendered == {}
    assert errors == {}


def test_no_cell_shows_an_error(opened_pages):
    errors = {name: record["cell_errors"] for name, record in opened_pages.items() if record["cell_errors"]}
    stderr = {name: record["stderr"] for name, record in opened_pages.items() if record["stderr"]}
    assert errors == {}
    assert stderr == {}


def test_chinese_search_finds_pages(browser):
    page = Page(browser)
    page.open((HTML / "search.html").as_uri() + "?q=迁移学习")
    page.wait_for("document.querySelectorAll('#search-results li').length > 0", timeout=60)
    hits = page.evaluate("[...document.querySelectorAll('#search-results li a')].map(a => a.innerText)")
    assert len(hits) >= 2
    page.screenshot(SCREENSHOTS / "search.png")
