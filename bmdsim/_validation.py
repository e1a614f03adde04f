"""Input checks shared by the public API.

Every check raises :class:`ValueError` or :class:`TypeError` whose message
names the field, the offending value and what is allowed. Nothing is clipped
or coerced silently.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from numbers import Real

import numpy as np

from .limits import MAX_ARRAY_BYTES, MAX_TEXT_CHARS

#: Longest representation of a bad value quoted in an error message [characters].
_SHOWN_CHARS = 80


def _show(value: object) -> str:
    """Short, readable representation of a bad value for an error message (never huge, never raising)."""
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, np.ndarray) and value.ndim > 0 and value.size > 6:
        return f"array of shape {value.shape}"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of {value.bit_length()} bits"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails is still shown, by its type
        return f"a {type(value).__name__}"
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def as_float_array(name: str, value: object) -> np.ndarray:
    """Return ``value`` as a float array of at most one dimension.

    Raises
    ------
    TypeError
        If ``value`` is not a real number or a 1-D array-like of real numbers
        (booleans and strings are refused).
    ValueError
        If any element is NaN or infinite, or the array has more than one
        dimension or no element.
    """
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise TypeError(f"{name} must be a real number or a 1-D array of real numbers, got {_show(value)}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError) as exc:  # ragged nesting, integers beyond any dtype
        raise TypeError(f"{name} must be a real number or a 1-D array of real numbers, got {_show(value)}") from exc
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(
            f"{name} must be a real number or a 1-D array of real numbers, got {_show(value)} (dtype {arr.dtype})"
        )
    arr = arr.astype(float)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = arr[bad].ravel()[0] if arr.ndim else float(arr)
        raise ValueError(f"{name} must be finite (no NaN or infinity), got {first!r}")
    return arr


def as_finite_float(name: str, value: object) -> float:
    """Return ``value`` as a finite Python float, or raise naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {_show(value)} of type {type(value).__name__}")
    try:
        out = float(value)
    except OverflowError:
        out = math.inf
    if not np.isfinite(out):
        raise ValueError(f"{name} must be a finite number, got {_show(value)}")
    return out


def check_range(name: str, arr: np.ndarray, low: float, high: float, unit: str = "") -> None:
    """Raise ``ValueError`` if any element of ``arr`` lies outside ``[low, high]``."""
    outside = (arr < low) | (arr > high)
    if np.any(outside):
        first = float(np.asarray(arr)[outside].ravel()[0])
        unit = f" {unit}" if unit else ""
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}]{unit}, got {first:g}{unit}")


def check_choice(name: str, value: object, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise raise naming the valid choices."""
    allowed = tuple(allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {', '.join(allowed)}; got {_show(value)}")
    if value not in allowed:
        raise ValueError(f"unknown {name} {_show(value)}; valid values are: {', '.join(allowed)}")
    return value


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def check_allocation(what: str, elements: float, itemsize: int = 8, hint: str = "") -> None:
    """Refuse work whose largest array would exceed :data:`bmdsim.limits.MAX_ARRAY_BYTES`.

    Parameters
    ----------
    what : str
        What would be allocated, naming the inputs that size it
        (for example ``"an output grid of 60 years at step 1e-09"``).
    elements : float
        Number of elements of the array (a float, so products cannot overflow).
    itemsize : int
        Bytes per element (8 for float64).
    hint : str
        What the user can do instead.

    Raises
    ------
    ValueError
        Naming the inputs, the memory they would need and the limit.
    """
    nbytes = float(elements) * itemsize
    if not np.isfinite(nbytes) or nbytes > MAX_ARRAY_BYTES:
        need = "more memory than any machine has" if not np.isfinite(nbytes) else _gib(nbytes)
        hint = f"; {hint}" if hint else ""
        raise ValueError(f"{what} would need {need} (limit {_gib(MAX_ARRAY_BYTES)} per array){hint}")


def check_text(name: str, value: object, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Return ``value`` if it is a string of at most ``max_chars`` characters; otherwise raise naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {_show(value)} of type {type(value).__name__}")
    if len(value) > max_chars:
        raise ValueError(f"{name} must be at most {max_chars} characters long, got {len(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: no font, file or terminal can take it
        raise ValueError(f"{name} must be valid Unicode text, got {_show(value)}") from exc
    return value


def as_int(name: str, value: object, low: int, high: int) -> int:
    """Return ``value`` as a Python int in ``[low, high]``; booleans, floats and strings are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {_show(value)} of type {type(value).__name__}")
    out = int(value)
    if not low <= out <= high:
        raise ValueError(f"{name} must lie in [{low}, {high}], got {_show(out)}")
    return out


def bounded_items(values: Iterable[object], most: int, too_many: str) -> list:
    """The items of ``values``, read lazily: at most ``most``, so an endless iterator cannot hang the caller.

    Parameters
    ----------
    values : iterable
        Checked to be iterable by the caller.
    most : int
        Largest number of items accepted.
    too_many : str
        The message of the :class:`ValueError` raised when there are more.
    """
    items = list(itertools.islice(iter(values), most + 1))
    if len(items) > most:
        raise ValueError(too_many)
    return items


def named_items(values: object, cls: type, field: str, most: int, kind: str) -> list:
    """The items of ``values``: 1 to ``most`` instances of ``cls`` with distinct ``.name``, else a clear error.

    Parameters
    ----------
    values : iterable
        What the caller was given (a single ``cls`` instance, a string or a
        non-iterable is a TypeError; an endless iterator is read only up to
        ``most + 1`` items).
    cls : type
        The class every item must be.
    field : str
        The argument's name in messages (e.g. ``"policies"``).
    most : int
        Largest number of items.
    kind : str
        The class as users write it (e.g. ``"bmdsim.Policy"``).
    """
    if isinstance(values, (cls, str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{field} must be a sequence of {kind}, got {type(values).__name__}")
    items = bounded_items(values, most, f"{field} must hold at most {most} {field}")
    if not items:
        raise ValueError(f"{field} must not be empty: give at least one {kind}")
    for i, item in enumerate(items):
        if not isinstance(item, cls):
            raise TypeError(f"{field}[{i}] must be a {kind}, got {type(item).__name__}")
    names = [item.name for item in items]
    if len(set(names)) != len(names):
        raise ValueError(f"{field} need distinct names, got {names}")
    return items
