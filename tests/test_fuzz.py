"""The hostile-input fuzz suite (tests/fuzz_api.py) in CI: every case a clear error or a valid result.

The suite runs in a subprocess with a 4 GiB address-space cap and a time
limit, so a case that tries to allocate without bound or hangs fails the
test instead of the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

resource = pytest.importorskip("resource")  # POSIX only

HERE = Path(__file__).resolve().parent
MEMORY_CAP_BYTES = 4 * 2**30
TIME_LIMIT_SECONDS = 300


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP_BYTES, MEMORY_CAP_BYTES))


def test_every_hostile_input_gets_a_clear_error_or_a_valid_result():
    proc = subprocess.run(
        [sys.executable, str(HERE / "fuzz_api.py"), "--json"],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT_SECONDS,
        preexec_fn=_cap_memory,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    tried = sum(sum(c.values()) for c in result["counts"].values())
    assert tried > 1000  # the suite really ran its cases
    assert result["failures"] == [], "\n".join(result["failures"][:60])


def _harness():
    import importlib.util

    spec = importlib.util.spec_from_file_location("fuzz_api", HERE / "fuzz_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_harness_tells_clear_errors_from_defects():
    fuzz = _harness()

    def named():
        raise ValueError("years must lie in [0, 60], got -1")

    def unnamed():
        raise ValueError("math domain error")

    def deep():
        raise KeyError("value")

    assert fuzz._classify(named, ("years",))[0] == "clear"
    assert fuzz._classify(unnamed, ("years",))[0] == "unclear"
    assert fuzz._classify(deep, ("years",))[0] == "other"
    assert fuzz._classify(lambda: {"a": [1.0, float("nan")]}, ("x",))[0] == "other"
    assert fuzz._classify(lambda: 1.0, ("x",))[0] == "valid"
