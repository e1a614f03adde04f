"""Every result as a tidy table: pandas DataFrames and their HTML view in Jupyter.

The numbers behind every plot come back as arrays and dicts (unchanged);
``to_frame()`` (and a few ``*_frame`` companions) give the same numbers as a
tidy :class:`pandas.DataFrame` to take away, and ``_repr_html_`` shows a
readable table when a result is the last expression of a JupyterLab cell.

Conventions of every table
--------------------------
* **Tidy**: one row per observation (a patient, site, threshold, time,
  percentile, ...), one column per variable. Identifying columns (``site``,
  ``threshold_t_score_sd``, ``time_years``, ...) come first, values after.
* **Names carry units**: snake_case with the unit at the end where there is
  one: ``time_years``, ``bmd_g_cm2``, ``t_score_sd``, ``crossing_time_years``;
  fractions are ``fraction_*`` (0-1), counts ``count``/``n_*``.
* **attrs**: ``df.attrs["units"]`` maps *every* column to its unit or meaning
  (:data:`UNITS` holds the shared ones); ``df.attrs["title"]`` says what the
  table is. Values equal the arrays they come from, bit for bit: ``inf``
  still means "not within the horizon", ``NaN`` "not defined".
* **Categories**: ordinal labels (WHO categories) are ordered
  :class:`pandas.Categorical`, low to high; other labels are strings.

pandas is imported when a table is made, never by ``import bmdsim``.
"""

from __future__ import annotations

import html as _html
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import as_int

if TYPE_CHECKING:  # pragma: no cover - annotations only; pandas is imported lazily
    import pandas as pd

#: Rows shown by a result's HTML view in Jupyter (head and tail beyond that); ``to_frame()`` has every row.
HTML_MAX_ROWS = 20
#: Significant digits of floats in the HTML view (the frames keep full precision).
HTML_DIGITS = 4
#: Most rows an HTML view may be asked to show (a bound on the page size, not a model number).
MAX_HTML_ROWS = 10_000

#: Unit or meaning of the columns shared by several tables (``df.attrs["units"]``). Tables add their own.
UNITS: Mapping[str, str] = MappingProxyType(
    {
        "patient": "index of the patient (0-based row of the inputs)",
        "site": "measurement site (lumbar_spine, femoral_neck, total_hip; 'lowest': each woman's lowest site)",
        "time_years": "years from baseline",
        "bmd_g_cm2": "g/cm2 (areal BMD by DXA)",
        "t_score_sd": "SD against the young-adult reference (T-score)",
        "threshold_t_score_sd": "T-score threshold, SD (crossed when the T-score is at or below it)",
        "crossing_time_years": (
            "years from baseline to the first T-score at or below the threshold; 0: at or below at baseline; "
            "inf: not within the horizon"
        ),
        "percentile": "per cent (0-100) of the patients",
        "fraction_below": "fraction (0-1) of the cohort that has crossed the threshold by time_years",
        "measured": "True: what DXA scans show (with precision error); False: true values",
        "category": "T-score category (ordered low to high)",
        "fraction": "fraction (0-1) of the cohort",
        "regimen": "label of the regimen",
        "policy": "label of the policy",
        "parameter_set": "name of the parameter set",
        "outcome": "fracture outcome (any, vertebral, hip)",
        "count": "number of women",
    }
)


def pandas() -> Any:
    """The :mod:`pandas` module, imported on first use (so that ``import bmdsim`` stays light).

    Raises
    ------
    ImportError
        If pandas is not installed (it is a dependency of bmdsim).
    """
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is a declared dependency
        raise ImportError("to_frame() needs pandas: pip install pandas") from exc
    return pd


def frame(
    columns: Mapping[str, Any],
    title: str,
    units: Mapping[str, str] | None = None,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """A DataFrame from ``columns`` with every column's unit in ``attrs``.

    Parameters
    ----------
    columns : mapping of str -> 1-D array-like
        Column name -> values, all of one length, in display order.
    title : str
        What the table is (``df.attrs["title"]``, the caption of its HTML view).
    units : mapping of str -> str, optional
        Units of columns not in :data:`UNITS` (or overriding it).
    categories : mapping of str -> sequence of str, optional
        Columns to make ordered categoricals, with their categories low to high.

    Returns
    -------
    pandas.DataFrame
        With ``attrs["title"]`` and ``attrs["units"]`` (every column).

    Raises
    ------
    ValueError
        If a column has no documented unit, or the columns differ in length.
    """
    pd = pandas()
    known = dict(UNITS) | dict(units or {})
    missing = [name for name in columns if name not in known]
    if missing:
        raise ValueError(f"columns {', '.join(missing)} have no documented unit")
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"columns differ in length: {lengths}")
    data = {}
    for name, values in columns.items():
        if categories is not None and name in categories:
            data[name] = pd.Categorical(values, categories=list(categories[name]), ordered=True)
        else:
            data[name] = values
    out = pd.DataFrame(data, columns=list(columns))
    out.attrs["title"] = title
    out.attrs["units"] = {name: known[name] for name in columns}
    return out


def _format_float(value: float) -> str:
    return f"{value:.{HTML_DIGITS}g}"


def html(
    table: pd.DataFrame,
    title: str | None = None,
    max_rows: int = HTML_MAX_ROWS,
    index: bool = False,
    notes: Sequence[str] = (),
) -> str:
    """A readable HTML view of ``table``: its title, the rows (at most ``max_rows``) and the units.

    Parameters
    ----------
    table : pandas.DataFrame
        Usually from :func:`frame` (its ``attrs`` give the title and units).
    title : str, optional
        Caption; ``table.attrs["title"]`` if None.
    max_rows : int
        Rows shown, 1 to :data:`MAX_HTML_ROWS` (the first and last half beyond that).
    index : bool
        Show the index (for a display pivot); tidy frames have none worth showing.
    notes : sequence of str
        Lines of text shown under the table.

    Returns
    -------
    str
        An HTML fragment; text is escaped, floats have :data:`HTML_DIGITS` significant digits.
    """
    return html_sections(
        title if title is not None else table.attrs.get("title", ""), [("", table, index)], notes, max_rows
    )


def html_sections(
    title: str,
    sections: Sequence[tuple[str, pd.DataFrame, bool]],
    notes: Sequence[str] = (),
    max_rows: int = HTML_MAX_ROWS,
) -> str:
    """Several tables under one title, each ``(heading, table, show_index)``; units listed once at the end.

    See :func:`html` for ``notes`` and ``max_rows``.
    """
    pd = pandas()
    max_rows = as_int("max_rows", max_rows, 1, MAX_HTML_ROWS)
    parts = [f'<div class="bmdsim-result"><p><strong>{_html.escape(title)}</strong></p>']
    units: dict[str, str] = {}
    for heading, table, index in sections:
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"table must be a pandas.DataFrame, got {type(table).__name__}")
        if heading:
            parts.append(f"<p>{_html.escape(heading)}</p>")
        parts.append(
            table.to_html(
                index=index,
                max_rows=max_rows,
                float_format=_format_float,
                na_rep="NaN",
                border=0,
                classes="bmdsim-table",
            )
        )
        units |= {str(k): str(v) for k, v in table.attrs.get("units", {}).items()}
    if units:
        legend = "; ".join(f"{_html.escape(k)}: {_html.escape(v)}" for k, v in units.items())
        parts.append(f"<p><small>Units. {legend}</small></p>")
    parts += [f"<p><small>{_html.escape(line)}</small></p>" for line in notes]
    parts.append("</div>")
    return "\n".join(parts)


def _shown(value: object) -> str:
    """A value of a key/value display as text: floats to :data:`HTML_DIGITS` digits, mappings item by item."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return _format_float(float(value))
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_shown(v)}" for k, v in value.items())
    return str(value)


def key_values(rows: Sequence[tuple[str, object, str]], title: str) -> pd.DataFrame:
    """A display table of ``(quantity, value, unit)`` rows, values shown as text.

    For the HTML view of a result's settings or one-row summary (the unit is
    a column, so ``attrs["units"]`` is empty); not a table to compute with.
    """
    pd = pandas()
    out = pd.DataFrame(
        {
            "quantity": [str(r[0]) for r in rows],
            "value": [_shown(r[1]) for r in rows],
            "unit": [str(r[2]) for r in rows],
        }
    )
    out.attrs["title"] = title
    out.attrs["units"] = {}
    return out


class FrameDict(dict):
    """A result dict (keys and values exactly as documented by the function) that also gives a tidy table.

    Subclasses implement :meth:`to_frame` from the dict's own items and the
    context they keep as attributes (site, threshold, ...), so the frame
    always shows what the dict holds. It is a :class:`dict` in every other
    way: ``isinstance(x, dict)``, equality, ``json.dumps`` and pickling
    behave as before, and its ``repr`` is the dict's.
    """

    def to_frame(self) -> pd.DataFrame:
        """The result as a tidy DataFrame (see the subclass)."""
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return html(self.to_frame())
