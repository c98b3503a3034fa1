"""The README and docs/ say what is true: generated blocks equal their sources, examples run, links resolve.

The figures of docs/ come from the model cards, the measured-attention JSON, the "fits none" rules and
bench/results (``python -m tools.write_docs``); a page whose block disagrees with what the script would write
fails here, naming the page. The ```python blocks of the package pages run top to bottom, as a reader would.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from tools import write_docs

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = write_docs.pages()
USER_DOCS = PAGES  # the README first, then docs/
#: the pages whose ```python blocks are run, in order, in one namespace per page
RUNNABLE = ("package.md", "own-model.md")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def test_docs_folder_has_the_pages_the_readme_links():
    assert PAGES[0] == README and len(PAGES) >= 9  # the README has generated blocks too
    index = (ROOT / "docs" / "README.md").read_text()
    assert {p.name for p in PAGES if p.name != "README.md"} <= set(re.findall(r"\]\(([\w.-]+\.md)\)", index))
    linked = {Path(target.split("#")[0]).name for target in LINK.findall(README.read_text())
              if target.startswith("docs/")}
    assert {p.name for p in PAGES} <= linked | {"README.md"}, "a docs page the README does not link"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_generated_blocks_equal_their_sources(page):
    text = page.read_text()
    assert write_docs.render(text) == text, f"{page.name} is out of date: run python -m tools.write_docs"


def test_a_changed_source_is_noticed(monkeypatch):
    """The check is not vacuous: a block whose source says something else no longer matches."""
    page = next(p for p in PAGES if "<!-- generated: imagenette card Evaluation -->" in p.read_text())
    text = page.read_text()
    monkeypatch.setitem(write_docs.BLOCKS, "imagenette card Evaluation", lambda: "| model | top-1 |\n| --- | ---: |")
    assert write_docs.render(text) != text


def test_every_generated_block_is_used_and_known():
    names = {m["name"].strip() for p in PAGES for m in write_docs.BEGIN.finditer(p.read_text())}
    assert names <= set(write_docs.BLOCKS)
    assert names == set(write_docs.BLOCKS), f"blocks no page shows: {set(write_docs.BLOCKS) - names}"


def test_generated_markers_are_balanced():
    for page in PAGES:
        text = page.read_text()
        assert text.count("<!-- generated: ") == text.count(write_docs.END), page.name


def test_readme_is_short_and_its_test_command_is_what_ci_runs():
    text = README.read_text()
    assert len(text.encode()) < 12 * 1024
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    command = ci[-1].strip()  # CI's last line is the README's test command
    assert command.startswith("python3 -m pytest")
    assert re.search(rf"```bash\n(?:.*\n)*?{re.escape(command)}\n(?:.*\n)*?```", text), command
    assert "streamlit run app/main.py" in text


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LNM")
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", USER_DOCS, ids=lambda p: p.name)
def test_links_and_images_resolve(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in LINK.findall(text) + IMAGE.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # an outside address
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{page.name}: no heading #{anchor} in {resolved.name}"


HASH = re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b")
ISSUE = re.compile(r"\b[Ii]ssues? \d+|(?<![\w/&])#\d+\b")
SESSION = re.compile(r"this (session|machine was)|not idle|was busy", re.I)


@pytest.mark.parametrize("page", USER_DOCS, ids=lambda p: p.name)
def test_no_history_in_user_docs(page):
    text = page.read_text()
    for pattern in (HASH, ISSUE, SESSION):
        found = pattern.findall(text)
        assert not found, f"{page.name}: {found[:3]}"


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), re.S)


@pytest.mark.slow  # runs the docs' examples: models built and probed
@pytest.mark.parametrize("name", RUNNABLE)
def test_python_examples_run(name, monkeypatch):
    page = ROOT / "docs" / name
    blocks = _python_blocks(page)
    assert blocks, f"{name} has no python examples"
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": "__docs__"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{page.name}, example {i + 1}", "exec"), namespace)  # noqa: S102
