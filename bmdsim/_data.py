"""Locate, read and check the data files that ship with bmdsim.

The files live in the top-level ``data/`` folder of the source tree. The
wheel carries them as ``bmdsim/data`` (see ``pyproject.toml``), so both an
installed and an editable/source checkout find them.

Every problem with a data file (not valid JSON, too large, a missing key, a
value of the wrong type or outside its range) raises :class:`DataFileError`,
a :class:`ValueError` whose message starts with the file's name
(``data/<relative path>``) and names the key, the value found and what is
allowed. The helpers :func:`entry`, :func:`number`, :func:`numbers` and
:func:`text` check one value of a parsed document that way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from numbers import Real
from pathlib import Path
from typing import Any

#: Largest data file [bytes] that :func:`read_json` parses. The shipped files are below 100 kB; a
#: design limit, not a model number: it keeps a damaged or substituted file from exhausting memory.
MAX_DATA_FILE_BYTES = 16 * 2**20

#: A path into a parsed document: keys of objects and indices of lists.
KeyPath = Sequence[str | int]


class DataFileError(ValueError):
    """A data file is unreadable or holds a value bmdsim cannot use.

    The message starts with the file (``data/<relative path>``) and names the
    key, the value found and what is allowed.

    Attributes
    ----------
    file : str
        The file, as ``data/<relative path>``.
    """

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file


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


def label(relative: str) -> str:
    """How messages name a data file: ``data/<relative path>``."""
    return f"data/{relative}"


@lru_cache(maxsize=64)
def _read_text_cached(path: str, mtime_ns: int, size: int) -> str:
    """The text of ``path``; keyed by modification time and size, so a rewritten file is read again."""
    return Path(path).read_bytes().decode("utf-8")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number in JSON (write a finite number)")


def read_json(relative: str) -> Any:
    """Read one JSON data file, by its path relative to the data folder.

    A fresh object is returned on every call, so callers may modify it
    without touching what other callers see.

    Raises
    ------
    FileNotFoundError
        If there is no such file (the message lists the available ones).
    DataFileError
        If the file is larger than :data:`MAX_DATA_FILE_BYTES`, is not UTF-8,
        is not valid JSON (the message gives the line and column), holds
        ``NaN`` or ``Infinity``, or nests deeper than Python can parse.
    """
    folder = data_dir()
    path = folder / relative
    name = label(relative)
    if not path.is_file():
        available = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.json"))
        raise FileNotFoundError(f"no data file {relative!r}; available: {', '.join(available)}")
    stat = path.stat()
    if stat.st_size > MAX_DATA_FILE_BYTES:
        raise DataFileError(
            name,
            f"is {stat.st_size / 2**20:.3g} MiB, more than the {MAX_DATA_FILE_BYTES / 2**20:g} MiB a bmdsim data "
            "file may have; it is damaged or not a bmdsim file (reinstall bmdsim)",
        )
    try:
        content = _read_text_cached(str(path), stat.st_mtime_ns, stat.st_size)
    except UnicodeDecodeError as exc:
        raise DataFileError(name, f"is not UTF-8 text (byte {exc.start}): {exc.reason}") from None
    try:
        doc = json.loads(content, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise DataFileError(
            name, f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} (reinstall bmdsim)"
        ) from None
    except ValueError as exc:  # NaN or Infinity (refused by _refuse_constant), or an integer of thousands of digits
        raise DataFileError(name, f"is not valid data: {exc}") from None
    except RecursionError:
        raise DataFileError(name, "nests lists or objects too deeply to be parsed") from None
    return doc


def _where(path: KeyPath) -> str:
    """``a.b[2].c`` for the key path ``("a", "b", 2, "c")``."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "the top level"


_KIND_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}


def _kind(value: Any) -> str:
    """What a JSON value is, in words ("an object", "a number", ...)."""
    if type(value) in _KIND_NAMES:
        return _KIND_NAMES[type(value)]
    return "a number" if isinstance(value, (int, float)) else type(value).__name__


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{_kind(value)} ({text[:40]}...)"


def entry(doc: Any, path: KeyPath, file: str, kind: type | tuple[type, ...] | None = None) -> Any:
    """The value at ``path`` in ``doc``, checked to exist (and to be of ``kind``).

    Parameters
    ----------
    doc : object
        A parsed JSON document (or part of one).
    path : sequence of str or int
        Keys of objects and indices of lists, from ``doc`` down.
    file : str
        The file, for messages (``data/<relative path>``, see :func:`label`).
    kind : type or tuple of types, optional
        ``dict`` or ``list`` (or others) the value must be.

    Raises
    ------
    DataFileError
        Naming the file and the key path: a key is missing, or a value on the
        way is not an object or list, or the value is not of ``kind``.
    """
    value = doc
    for depth, key in enumerate(path):
        here = _where(path[:depth]) if depth else "the top level"
        if isinstance(key, int):
            if not isinstance(value, list):
                raise DataFileError(file, f"{here} must be a list, got {_kind(value)}")
            if not -len(value) <= key < len(value):
                raise DataFileError(file, f"{here} has {len(value)} items, no item {key}")
        else:
            if not isinstance(value, dict):
                raise DataFileError(file, f"{here} must be an object, got {_kind(value)}")
            if key not in value:
                raise DataFileError(file, f"missing key {_where(path[: depth + 1])!r}")
        value = value[key]
    if kind is not None and not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        want = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
        raise DataFileError(file, f"{_where(path)} must be {want}, got {_shown(value)}")
    return value


def as_number(
    value: Any, where: str, file: str, low: float = -math.inf, high: float = math.inf, unit: str = ""
) -> float:
    """``value`` as a finite float in ``[low, high]``, or a :class:`DataFileError` naming ``where`` and ``file``."""
    unit = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise DataFileError(file, f"{where} must be a number{unit}, got {_shown(value)}")
    out = float(value)
    if not math.isfinite(out) or not low <= out <= high:
        bounds = f" in [{low:g}, {high:g}]{unit}" if math.isfinite(low) or math.isfinite(high) else unit
        raise DataFileError(file, f"{where} must be a finite number{bounds}, got {out!r}")
    return out


def number(doc: Any, path: KeyPath, file: str, low: float = -math.inf, high: float = math.inf, unit: str = "") -> float:
    """The number at ``path``: present, a real number (not a boolean or string), finite and in ``[low, high]``."""
    return as_number(entry(doc, path, file), _where(path), file, low, high, unit)


def numbers(
    doc: Any,
    path: KeyPath,
    file: str,
    low: float = -math.inf,
    high: float = math.inf,
    unit: str = "",
    length: int | None = None,
) -> tuple[float, ...]:
    """The list of numbers at ``path``, each checked as :func:`number`; exactly ``length`` of them if given."""
    items = entry(doc, path, file, list)
    if length is not None and len(items) != length:
        raise DataFileError(file, f"{_where(path)} must hold {length} numbers, got {len(items)}")
    return tuple(as_number(v, f"{_where(path)}[{i}]", file, low, high, unit) for i, v in enumerate(items))


def text(doc: Any, path: KeyPath, file: str, allowed: Sequence[str] | None = None) -> str:
    """The string at ``path``; one of ``allowed`` if given."""
    value = entry(doc, path, file, str)
    if allowed is not None and value not in allowed:
        raise DataFileError(file, f"{_where(path)} must be one of {', '.join(allowed)}; got {_shown(value)}")
    return value


def known_keys(doc: Mapping[str, Any], path: KeyPath, file: str, allowed: Sequence[str]) -> None:
    """Raise a :class:`DataFileError` if the object at ``path`` has a key outside ``allowed`` (``_``-keys are notes)."""
    unknown = sorted(k for k in entry(doc, path, file, dict) if k not in allowed and not str(k).startswith("_"))
    if unknown:
        raise DataFileError(
            file, f"{_where(path)} has unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(allowed)}"
        )
