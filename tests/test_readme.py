"""Every Python code block of the README runs, top to bottom, in one namespace (as a reader would paste them)."""

from __future__ import annotations

import pathlib
import re
import warnings

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 4


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
