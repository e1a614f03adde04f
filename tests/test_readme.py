"""Every Python code block of the README runs, top to bottom, in one namespace (as a reader would paste them).

A block whose fence reads ```python no-test is not run (the convention of docs/development.md); the pages in
docs/ are run by tests/test_docs_snippets.py.
"""

from __future__ import annotations

import pathlib
import re
import warnings

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 1  # the README's ten lines; the longer examples are in docs/


def test_every_python_block_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a block that writes files leaves them here, not in the checkout
    namespace: dict = {}
    for i, block in enumerate(BLOCKS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # ExtrapolationWarning for the 5-year therapy examples
            try:
                exec(compile(block, f"README.md python block {i}", "exec"), namespace)
            except Exception as exc:  # pragma: no cover - the message names the block
                pytest.fail(f"README python block {i} failed: {type(exc).__name__}: {exc}\n{block}")


def test_readme_links_point_at_files():
    """The gallery's images and the pages the README sends readers to exist in the checkout."""
    text = README.read_text(encoding="utf-8")
    targets = [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t and not t.startswith("#")]
    assert any(t.startswith("docs/gallery/") and t.endswith(".png") for t in targets)
    missing = [t for t in targets if not (README.parent / t.split("#")[0]).exists()]
    assert not missing, f"README links to missing files: {missing}"
