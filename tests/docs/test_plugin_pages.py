"""The plugin pages prove themselves: each page's python blocks run in order and end in checks; every kind has a page."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest

from multifolio.config.registry import PluginKind

PAGES = Path(__file__).resolve().parents[2] / "docs" / "plugins"
INDEX = PAGES / "README.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
GROUPS_LINE = re.compile(r"^Entry-point groups?: (.+)$", re.MULTILINE)


def plugin_pages() -> list[Path]:
    return sorted(page for page in PAGES.glob("*.md") if page != INDEX)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """Each ```python block of the page with the page's line its code starts on."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, match.start(1)) + 1, match.group(1)) for match in PYTHON_BLOCK.finditer(text)]


@pytest.mark.parametrize("page", plugin_pages(), ids=lambda page: page.stem)
def test_the_page_example_runs_and_its_checks_hold(page, tmp_path, monkeypatch):
    blocks = python_blocks(page)
    assert blocks, f"{page.name} has no python block"
    assert "assert " in blocks[-1][1], f"{page.name}: its last python block checks nothing"
    monkeypatch.chdir(tmp_path)  # a page that wrote a file would leave it here
    namespace = {"__name__": f"docs_plugins_{page.stem}"}  # fresh per page, as a notebook's would be
    for number, (line, code) in enumerate(blocks, 1):
        # padded so that tracebacks give the page's own line numbers
        compiled = compile("\n" * (line - 1) + code, str(page), "exec")
        try:
            exec(compiled, namespace)  # noqa: S102 -- running the page is the test
        except Exception:  # noqa: BLE001 -- whatever a page raises fails it, named
            failure = traceback.format_exc()
        else:
            continue
        pytest.fail(f"{page.name}, python block {number} (line {line}) failed:\n{failure}", pytrace=False)
    assert not any(tmp_path.iterdir()), f"{page.name} wrote files: {sorted(tmp_path.iterdir())}"


def test_every_kind_of_plugin_has_a_page_linked_from_the_index():
    groups = {}
    for page in plugin_pages():
        found = GROUPS_LINE.search(page.read_text(encoding="utf-8"))
        assert found, f"{page.name} does not say its entry-point group"
        for group in re.findall(r"`(multifolio\.[a-z_]+)`", found.group(1)):
            groups[group] = page
    assert sorted(groups) == sorted(kind.group for kind in PluginKind), "a page per entry-point group"
    index = INDEX.read_text(encoding="utf-8")
    missing = [page.name for page in plugin_pages() if f"]({page.name})" not in index]
    assert not missing, f"docs/plugins/README.md does not link {missing}"
