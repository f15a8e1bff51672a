"""Build the slide decks and open each one in headless Chromium, with no network.

The session fixture runs ``scripts/build_slides.py`` once. Chromium (Debian's
``chromium`` package) is driven over the Chrome DevTools Protocol through
``--remote-debugging-pipe``, so no port is opened and no extra Python package is
needed. Every request to anything other than a local file or data URL is
treated as a failure, and the browser's proxy and DNS point nowhere, so a deck
that still needs a CDN fails here. Screenshots of each deck's first slide (and
of the talk deck's middle and last slides) go to ``_build/slides/screenshots/``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from tests.browser import Browser, Page, find_chromium, network_report

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "slides"
SCREENSHOTS = OUT / "screenshots"
TALK = "talk"


# --------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def chromium() -> str:
    executable = find_chromium()
    if executable is None:
        pytest.skip("Chromium is not installed; on Debian: apt-get install chromium fonts-noto-cjk")
    return executable


@pytest.fixture(scope="session")
def built_decks() -> list[dict]:
    """Build every deck once per test session and return the entries of decks.json."""
    spec = importlib.util.spec_from_file_location("build_slides", ROOT / "scripts" / "build_slides.py")
    build_slides = importlib.util.module_from_spec(spec)
    sys.modules["build_slides"] = build_slides  # dataclasses look their module up here
    spec.loader.exec_module(build_slides)
    build_slides.main(["--out", str(OUT)])
    return json.loads((OUT / "decks.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def browser(chromium):
    with tempfile.TemporaryDirectory(prefix="slides-chromium-") as profile:
        instance = Browser(chromium, Path(profile))
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="session")
def opened_decks(built_decks, browser) -> dict[str, dict]:
    """Open every deck once and return what each one showed, keyed by deck name."""
    results = {}
    for deck in built_decks:
        page = Page(browser)
        page.open((OUT / deck["html"]).as_uri())
        page.wait_for("document.body.getAttribute('data-deck-ready') === 'true'")
        if page.evaluate("document.querySelector('script[src*=\"mathjax\"]') !== null"):
            page.wait_for("document.body.getAttribute('data-math-ready') === 'true'")
        page.wait_for("Array.from(document.images).every(image => image.complete)")
        time.sleep(0.3)  # let the slide transition finish before the screenshot
        page.screenshot(SCREENSHOTS / f"{deck['name']}-first.png")
        state = page.evaluate(FIRST_SLIDE_STATE)
        state["slide_shots"] = {"first": SCREENSHOTS / f"{deck['name']}-first.png"}
        if deck["name"] == TALK:
            state["notes"] = page.evaluate(NOTES_PER_SLIDE)
            total = state["total_slides"]
            for label, position in (("middle", total // 2), ("last", total - 1)):
                # Show the slide as the presenter leaves it: every fragment visible.
                page.evaluate(f"(() => {{ const s = Reveal.getSlides()[{position}]; "
                              "const i = Reveal.getIndices(s); Reveal.slide(i.h, i.v); "
                              "while (Reveal.nextFragment()) {} })()")
                time.sleep(1.0)
                path = SCREENSHOTS / f"{deck['name']}-{label}.png"
                page.screenshot(path)
                state["slide_shots"][label] = path
        if deck["name"] == TALK:
            state["speaker_view_notes"] = speaker_view_notes(browser, page)
        # Network, error and image checks cover every slide, so visit them all.
        page.evaluate("Reveal.getSlides().forEach(s => { const i = Reveal.getIndices(s); Reveal.slide(i.h, i.v); })")
        time.sleep(0.5)
        state["broken_images"] = page.evaluate(
            "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))"
        )
        state["math_errors"] = page.evaluate("document.querySelectorAll('mjx-merror, [data-mjx-error]').length")
        state["math_rendered"] = page.evaluate("document.querySelectorAll('mjx-container').length")
        state["raw_myst"] = page.evaluate(RAW_MYST)
        state["failed"], state["remote"], state["errors"] = network_report(browser.events(), page.session)
        results[deck["name"]] = state
    return results


def speaker_view_notes(browser: Browser, page: Page, timeout: float = 30) -> str:
    """Open the speaker view with the S key and return the notes text it shows.

    The notes plugin sends the notes to the speaker window on each slide change,
    so the deck is advanced until the notes arrive.
    """
    page.evaluate("Reveal.slide(0, 0)")
    for event_type in ("keyDown", "keyUp"):
        page.send(
            "Input.dispatchKeyEvent",
            {"type": event_type, "key": "s", "code": "KeyS", "windowsVirtualKeyCode": 83,
             **({"text": "s"} if event_type == "keyDown" else {})},
        )
    deadline = time.monotonic() + timeout
    speaker_session = None
    text = ""
    while time.monotonic() < deadline and not text:
        time.sleep(1.0)
        if speaker_session is None:
            for target in browser.send("Target.getTargets")["targetInfos"]:
                if target["type"] == "page" and "Speaker View" in target["title"]:
                    speaker_session = browser.send(
                        "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
                    )["sessionId"]
                    speaker_target = target["targetId"]
            continue
        page.evaluate("Reveal.next()")
        time.sleep(1.0)
        result = browser.send(
            "Runtime.evaluate",
            {"expression": "(document.querySelector('.speaker-controls-notes .value') || {}).innerText || ''",
             "returnByValue": True},
            session=speaker_session,
        )
        text = result["result"].get("value", "").strip()
    if speaker_session is not None:
        browser.send("Target.closeTarget", {"targetId": speaker_target})
    return text


FIRST_SLIDE_STATE = """
(() => {
  const slide = Reveal.getSlides()[0];
  const heading = slide.querySelector('h1, h2');
  const rect = heading ? heading.getBoundingClientRect() : null;
  const style = heading ? getComputedStyle(heading) : null;
  return {
    total_slides: Reveal.getTotalSlides(),
    notes_plugin: Reveal.hasPlugin('notes'),
    title: heading ? heading.textContent.replace('¶', '').trim() : '',
    title_visible: !!rect && rect.width > 0 && rect.height > 0 && rect.top >= 0
      && rect.bottom <= window.innerHeight && rect.left >= 0 && rect.right <= window.innerWidth
      && style.visibility === 'visible' && style.display !== 'none' && Number(style.opacity) > 0,
  };
})()
"""

NOTES_PER_SLIDE = """
Reveal.getSlides().map(s => {
  const notes = s.querySelector(':scope > aside.notes, :scope > div aside.notes, aside.notes');
  return notes ? notes.textContent.trim() : '';
})
"""

# MyST syntax that nbconvert would show as text if build_slides.py missed it.
RAW_MYST = """
(() => {
  const text = document.querySelector('.slides').innerText;
  const patterns = [/\\{glue[:a-z]*\\}/, /\\{cite\\}/, /\\{numref\\}/, /\\{ref\\}/, /:::\\{/, /```\\{/, /\\{exercise\\}/];
  return patterns.filter(p => p.test(text)).map(p => String(p));
})()
"""


# --------------------------------------------------------------------------
# Tests


def test_build_lists_chapters_and_talk(built_decks):
    names = [deck["name"] for deck in built_decks]
    assert "ch01_motivation" in names
    assert TALK in names


def test_build_copies_offline_assets(built_decks):
    assert (OUT / "assets" / "reveal.js" / "dist" / "reveal.js").exists()
    assert (OUT / "assets" / "reveal.js" / "plugin" / "notes" / "notes.js").exists()
    assert (OUT / "assets" / "mathjax" / "tex-svg.js").exists()


def test_presenter_notebooks_valid(built_decks):
    for deck in built_decks:
        notebook = nbformat.read(OUT / deck["notebook"], as_version=4)
        nbformat.validate(notebook)
        markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
        assert "{glue" not in markdown, deck["name"]
        assert ":::{" not in markdown, deck["name"]
        slide_types = {cell.metadata.get("slideshow", {}).get("slide_type") for cell in notebook.cells}
        assert "slide" in slide_types, deck["name"]


def test_decks_reference_no_cdn(built_decks):
    for deck in built_decks:
        html = (OUT / deck["html"]).read_text(encoding="utf-8")
        assert "require.js" not in html, deck["name"]
        assert "unpkg.com" not in html, deck["name"]
        assert "cdnjs" not in html, deck["name"]
        assert "cdn.jsdelivr" not in html, deck["name"]


def test_slide_count_matches_metadata(opened_decks, built_decks):
    for deck in built_decks:
        assert opened_decks[deck["name"]]["total_slides"] == deck["slides"], deck["name"]
        assert deck["slides"] >= 3, deck["name"]


def test_no_resource_fails_to_load(opened_decks):
    for name, state in opened_decks.items():
        assert state["failed"] == [], name
        assert state["broken_images"] == [], name


def test_decks_make_no_network_request(opened_decks):
    for name, state in opened_decks.items():
        assert state["remote"] == [], name


def test_decks_raise_no_javascript_error(opened_decks):
    for name, state in opened_decks.items():
        assert state["errors"] == [], name


def test_first_slide_title_visible(opened_decks, built_decks):
    for deck in built_decks:
        state = opened_decks[deck["name"]]
        assert state["title"] == deck["title"], deck["name"]
        assert state["title_visible"], deck["name"]


def test_formulas_render(opened_decks):
    for name, state in opened_decks.items():
        assert state["math_errors"] == 0, name
    assert opened_decks["ch01_motivation"]["math_rendered"] > 0
    assert opened_decks[TALK]["math_rendered"] > 0


def test_no_raw_myst_on_slides(opened_decks):
    for name, state in opened_decks.items():
        assert state["raw_myst"] == [], name


def test_talk_has_notes_on_every_slide(opened_decks):
    notes = opened_decks[TALK]["notes"]
    assert opened_decks[TALK]["notes_plugin"]
    assert len(notes) == opened_decks[TALK]["total_slides"]
    missing = [index + 1 for index, text in enumerate(notes) if not text]
    assert missing == []


def test_talk_speaker_view_shows_notes(opened_decks):
    notes = opened_decks[TALK]["speaker_view_notes"]
    assert "分钟" in notes


def test_talk_notes_give_section_minutes(opened_decks):
    text = "\n".join(opened_decks[TALK]["notes"])
    for section in ("开场与动机", "嵌入与迁移", "代码与结果", "总结与讨论"):
        assert section in text, section
    for minutes in ("2.5 分钟", "4 分钟", "0.5 分钟"):
        assert minutes in text, minutes


def test_screenshots_written(opened_decks):
    for name, state in opened_decks.items():
        for path in state["slide_shots"].values():
            assert path.stat().st_size > 10_000, path
    assert set(opened_decks[TALK]["slide_shots"]) == {"first", "middle", "last"}
