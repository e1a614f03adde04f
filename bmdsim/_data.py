"""Locate and read the data files that ship with bmdsim.

The files live in the top-level ``data/`` folder of the source tree. The
wheel carries them as ``bmdsim/data`` (see ``pyproject.toml``), so both an
installed and an editable/source checkout find them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any


def data_dir() -> Path:
    """Return the folder holding bmdsim's data files.

    An installed wheel has them inside the package (``bmdsim/data``); a source
    checkout has them beside the package (``../data``).
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "data", here.parent / "data"):
        if (candidate / "citations.json").is_file():
            return candidate
    raise FileNotFoundError(
        f"bmdsim's data folder was not found in {here / 'data'} or {here.parent / 'data'}; "
        "reinstall bmdsim (the wheel ships it as bmdsim/data)"
    )


@cache
def _read_json_cached(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def read_json(relative: str) -> Any:
    """Read one JSON data file, by its path relative to the data folder.

    A fresh object is returned on every call, so callers may modify it
    without touching what other callers see.
    """
    path = data_dir() / relative
    if not path.is_file():
        available = sorted(p.relative_to(data_dir()).as_posix() for p in data_dir().rglob("*.json"))
        raise FileNotFoundError(f"no data file {relative!r}; available: {', '.join(available)}")
    return json.loads(_read_json_cached(str(path)))
