"""Every Python code block of the pages in docs/ runs, and the scenario example and error message they quote are real.

Each page's ```python blocks run top to bottom in one namespace of their own (a page is self-contained, as a
reader pasting its blocks into a fresh notebook would need), with the current folder in a temporary directory, so
a block may write files with relative paths. A block whose fence reads ```python no-test is not run (it needs the
network, or it only illustrates a fragment); the convention is documented in docs/development.md.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Folders under docs/ that hold no hand-written pages: build output, generated API pages, copied notebooks.
GENERATED = {"_build", "generated", "notebooks", "gallery", "_templates"}
#: The marks a ```python fence may carry after the language.
MARKS = {"no-test"}
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class Block:
    """One fenced code block: its info string split into words, its text, the line of its opening fence."""

    words: tuple[str, ...]
    text: str
    line: int

    @property
    def language(self) -> str:
        return self.words[0] if self.words else ""


def fenced_blocks(markdown: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, outermost only (a fence inside a longer fence is text)."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, info = opening["fence"], opening["info"]
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = next((j for j in range(i + 1, len(lines)) if closing.match(lines[j])), len(lines))
        blocks.append(Block(tuple(info.split()), "\n".join(lines[i + 1 : end]) + "\n", i + 1))
        i = end + 1
    return blocks


def pages() -> list[pathlib.Path]:
    return sorted(
        p for p in DOCS.rglob("*.md") if not GENERATED.intersection(p.relative_to(DOCS).parts[:-1]) and p.is_file()
    )


def python_blocks(page: pathlib.Path) -> list[Block]:
    return [b for b in fenced_blocks(page.read_text(encoding="utf-8")) if b.language == "python"]


PAGES = pages()
PAGES_WITH_CODE = [p for p in PAGES if python_blocks(p)]


def _id(page: pathlib.Path) -> str:
    return page.relative_to(DOCS).as_posix()


def test_fence_parser_reads_nested_fences_and_marks():
    text = "````markdown\n```python no-test\nx\n```\n````\n\n```python\ny = 1\n```\n\n~~~python no-test\nz\n~~~\n"
    blocks = fenced_blocks(text)
    assert [(b.words, b.text, b.line) for b in blocks] == [
        (("markdown",), "```python no-test\nx\n```\n", 1),
        (("python",), "y = 1\n", 7),
        (("python", "no-test"), "z\n", 11),
    ]


def test_docs_pages_are_found():
    names = {_id(p) for p in PAGES}
    assert {"index.md", "getting-started.md", "cohorts.md", "policies.md", "scenarios.md"} <= names
    assert len(PAGES_WITH_CODE) >= 6, [_id(p) for p in PAGES_WITH_CODE]


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_python_fences_carry_only_known_marks(page):
    for block in python_blocks(page):
        unknown = set(block.words[1:]) - MARKS
        assert not unknown, f"{_id(page)} line {block.line}: unknown mark(s) {sorted(unknown)}; known: {sorted(MARKS)}"


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=_id)
def test_every_python_block_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a block that writes files leaves them here, not in the checkout
    namespace: dict = {"__name__": "__docs__"}
    try:
        for block in python_blocks(page):
            if "no-test" in block.words:
                continue
            where = f"docs/{_id(page)}, python block at line {block.line}"
            try:
                exec(compile(block.text, where, "exec"), namespace)
            except Exception as exc:  # pragma: no cover - the message names the block
                pytest.fail(f"{where} failed: {type(exc).__name__}: {exc}\n{block.text}")
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


# -- scenarios.md quotes a scenario file and an error message: both must be what the code reads and prints --

SCENARIOS = DOCS / "scenarios.md"


def _only(language: str) -> str:
    blocks = [b for b in fenced_blocks(SCENARIOS.read_text(encoding="utf-8")) if b.language == language]
    assert len(blocks) == 1, f"docs/scenarios.md should hold one {language} block, found {len(blocks)}"
    return blocks[0].text


def test_scenario_example_loads_and_runs(tmp_path):
    from bmdsim.scenario import load_scenario

    path = tmp_path / "example.toml"
    path.write_text(_only("toml"), encoding="utf-8")
    scenario = load_scenario(path)
    traj = scenario.run()
    assert traj.years == 15


def test_scenario_error_message_is_what_the_command_prints(tmp_path):
    quoted = _only("text").strip()
    bad = tmp_path / "scenarios" / "x.toml"
    bad.parent.mkdir()
    example = _only("toml")
    assert 'agent = "aromatase_inhibitor"' in example
    bad.write_text(example.replace('agent = "aromatase_inhibitor"', 'agent = "letrozole"'), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bmdsim", "run", "scenarios/x.toml", "--out", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == quoted
    assert not (tmp_path / "out").exists()  # nothing written on bad input
