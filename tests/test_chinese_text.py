"""Chinese prose must not break lines inside a paragraph.

A line break inside a Chinese paragraph renders as a space between two Chinese
characters. Each paragraph is therefore one source line.
"""

import re
from pathlib import Path

import pytest

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# Fenced blocks whose content is not prose.
NON_PROSE_FENCES = ("code-cell", "code-block", "code", "glossary", "bibliography", "math", "nb-exec-table", "python", "bash", "yaml", "text")
NOT_PROSE_START = re.compile(r"^(#|\||[-*+] |\d+\. |>|:|\+\+\+|\$\$|\{|```|<|!\[)")


def paragraph_breaks(text: str) -> list[int]:
    """Return 1-based line numbers where a Chinese paragraph continues on the next line."""
    lines = text.split("\n")
    if lines and lines[0] == "---":  # front matter
        end = lines.index("---", 1)
        lines = [""] * (end + 1) + lines[end + 1 :]
    skip_until = None  # closing fence of a non-prose block being skipped
    open_directives = []  # closing fences of prose directives (admonitions, exercises)
    in_math = False
    prose = []
    for line in lines:
        stripped = line.strip()
        if skip_until is not None:
            if stripped == skip_until:
                skip_until = None
            prose.append(False)
            continue
        if open_directives and stripped == open_directives[-1]:
            open_directives.pop()
            prose.append(False)
            continue
        fence = re.match(r"^(`{3,}|~{3,}|:{3,})\s*(\{[\w-]+\}|[\w-]*)", stripped)
        if fence:
            marker, name = fence.group(1), fence.group(2).strip("{}")
            if fence.group(2).startswith("{") and name not in NON_PROSE_FENCES:
                open_directives.append(marker)
            else:
                skip_until = marker
            prose.append(False)
            continue
        if stripped == "$$":
            in_math = not in_math
            prose.append(False)
            continue
        prose.append(bool(stripped) and not in_math and not NOT_PROSE_START.match(stripped))
    found = []
    for index in range(len(lines) - 1):
        if prose[index] and prose[index + 1] and CJK.search(lines[index]):
            found.append(index + 1)
    return found


PAGES = sorted(CHAPTERS.rglob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(CHAPTERS)) for p in PAGES])
def test_no_line_break_inside_chinese_paragraph(page):
    breaks = paragraph_breaks(page.read_text(encoding="utf-8"))
    assert breaks == [], f"{page.name}: Chinese paragraph continues after line(s) {breaks}; join each paragraph into one line."


def test_detector_finds_a_break():
    assert paragraph_breaks("第一句话，\n第二句话。\n") == [1]


def test_detector_reads_prose_inside_directives():
    text = ":::{note}\n第一句话，\n第二句话。\n:::\n\n```{exercise}\n:label: ex\n\n题目。\n```\n\n后文，\n接着。\n"
    assert paragraph_breaks(text) == [2, 12]


def test_detector_ignores_code_and_lists():
    text = "```{code-cell} ipython3\nx = '中文'\ny = '中文'\n```\n\n- 第一项\n- 第二项\n\n一段话。\n"
    assert paragraph_breaks(text) == []
