"""Every tutorial in docs/tutorials runs: its ```python blocks are executed in order, in one
namespace per chapter, so a tutorial whose numbers stop matching the library fails here."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parent.parent / "docs" / "tutorials"
CHAPTERS = sorted(p for p in TUTORIALS.glob("*.md") if p.name != "README.md")
CODE_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def code_blocks(chapter: Path) -> list[str]:
    """The ```python blocks of a Markdown file, in order."""
    return CODE_BLOCK.findall(chapter.read_text(encoding="utf-8"))


def test_there_are_chapters_and_the_index_links_each():
    assert CHAPTERS, f"no tutorials found in {TUTORIALS}"
    index = (TUTORIALS / "README.md").read_text(encoding="utf-8")
    for chapter in CHAPTERS:
        assert f"({chapter.name})" in index, f"docs/tutorials/README.md does not link {chapter.name}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_tutorial_runs(chapter: Path, tmp_path, monkeypatch):
    blocks = code_blocks(chapter)
    assert blocks, f"{chapter.name} has no ```python blocks"
    assert any("assert" in block for block in blocks), f"{chapter.name} checks nothing: no assert in its code"
    monkeypatch.chdir(tmp_path)  # a tutorial that writes files writes them here
    namespace: dict = {"__name__": f"tutorial_{chapter.stem}"}
    for number, block in enumerate(blocks, start=1):
        try:
            exec(compile(block, f"{chapter.name}, block {number}", "exec"), namespace)
        except Exception:
            pytest.fail(f"{chapter.name}: code block {number} failed:\n{traceback.format_exc()}", pytrace=False)
