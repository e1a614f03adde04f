"""The numbers behind the figures: group fractions, tables and sources.

Plot functions in :mod:`bmdsim.plot` draw what these functions return, so a
user who wants "the numbers behind the plot" calls them directly. Nothing
here plots, prints or writes files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _data, tables
from ._validation import (
    as_finite_float,
    as_float_array,
    as_int,
    bounded_items,
    check_allocation,
    check_range,
    check_text,
)
from .simulation import DEFAULT_THRESHOLDS, Trajectory
from .sites import SITES

if TYPE_CHECKING:  # pragma: no cover - annotations only; pandas is imported when a table is made
    import pandas as pd

#: Largest group size ``n`` of :func:`wilson_interval`: 2**53, the largest count a float holds exactly.
MAX_GROUP_SIZE = 2**53
#: Largest ``z`` of :func:`wilson_interval`. Beyond about 8.3 a two-sided coverage is 1 in floating point, so
#: a larger z changes nothing a user could mean; 10 leaves room and keeps every term far from overflow.
MAX_Z = 10.0
#: Most citation keys :func:`format_sources` formats at once, and the longest key [characters]. Design limits:
#: the citation file has a few dozen keys of a few words; these keep the output text bounded.
MAX_SOURCE_KEYS = 1000
MAX_SOURCE_KEY_CHARS = 200
#: Approximate memory [bytes] of one record of :func:`crossing_records` (a dict of four items), for its bound.
_RECORD_BYTES = 400


def _check_trajectory(traj: object) -> Trajectory:
    if not isinstance(traj, Trajectory):
        raise TypeError(f"traj must be a bmdsim.Trajectory (from bmdsim.simulate), got {type(traj).__name__}")
    return traj


def fraction_crossed(
    traj: Trajectory, site: str, threshold: float, times: float | Sequence[float] | np.ndarray | None = None
) -> np.ndarray:
    """Fraction of the patients whose T-score has reached ``threshold`` by each time.

    Parameters
    ----------
    traj : Trajectory
        One patient or many.
    site : str
        A simulated site.
    threshold : float
        T-score threshold [SD].
    times : float or 1-D array, optional
        Times [years from baseline] in ``[0, traj.years]``; ``traj.time`` if None.

    Returns
    -------
    ndarray
        Fraction in ``[0, 1]`` at each time, shape ``(len(times),)``.

    Notes
    -----
    Computed from the exact first-crossing times
    (:meth:`Trajectory.crossing_time`): a patient counts from the first time
    her T-score is at or below the threshold (the WHO convention), at baseline
    included, and keeps counting if her T-score later recovers above it. The
    curve is therefore non-decreasing: it answers "how many have crossed by
    then", not "how many are below it now".
    """
    _check_trajectory(traj)
    thr = as_finite_float("threshold", threshold)
    tt = np.atleast_1d(traj.time if times is None else traj.check_times(times, "times"))
    crossing = np.atleast_1d(np.asarray(traj.crossing_time(site, thr), dtype=float))
    ordered = np.sort(crossing)
    return np.searchsorted(ordered, tt, side="right") / ordered.size


def wilson_interval(
    fraction: float | np.ndarray, n: int, z: float = 1.959963984540054
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial fraction.

    Parameters
    ----------
    fraction : float or 1-D array
        Observed fractions in ``[0, 1]``.
    n : int
        Number of patients each fraction is taken over, in ``[1, MAX_GROUP_SIZE]``.
    z : float
        Standard-normal quantile in ``(0, MAX_Z]``; the default gives a
        two-sided 95 % interval.

    Returns
    -------
    (low, high) : tuple of ndarray
        Interval bounds in ``[0, 1]``.

    Notes
    -----
    The interval describes sampling uncertainty of a fraction in a group of
    ``n`` (Wilson 1927, J Am Stat Assoc 22:209-212); it says nothing about
    uncertainty in the model's parameters.
    """
    p = as_float_array("fraction", fraction)
    check_range("fraction", p, 0.0, 1.0)
    n = as_int("n", n, 1, MAX_GROUP_SIZE)
    z = as_finite_float("z", z)
    if not 0 < z <= MAX_Z:
        raise ValueError(f"z must lie in (0, {MAX_Z:g}] (a standard-normal quantile), got {z:g}")
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    low = np.where(p <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))  # exact ends, no round-off past p
    high = np.where(p >= 1, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


def crossing_records(
    traj: Trajectory, thresholds: float | Iterable[float] | np.ndarray = DEFAULT_THRESHOLDS
) -> list[dict[str, Any]]:
    """Crossing times as a list of records, one per patient, site and threshold.

    Parameters
    ----------
    traj : Trajectory
    thresholds : float or 1-D array-like of float
        T-score thresholds [SD].

    Returns
    -------
    list of dict
        Keys ``patient`` (index), ``site``, ``threshold`` [SD] and
        ``years`` (first crossing [years]; ``0.0`` at baseline, ``None`` if
        not reached within the horizon, so that the records are valid JSON).
    """
    _check_trajectory(traj)
    count = np.atleast_1d(as_float_array("thresholds", thresholds)).size
    check_allocation(
        f"crossing_records: {traj.patient.n} patient(s) x {len(traj.sites)} site(s) x {count} thresholds",
        float(traj.patient.n) * len(traj.sites) * count,
        itemsize=_RECORD_BYTES,
        hint="ask for fewer thresholds, or use trajectory crossing times as arrays (Trajectory.crossing_table)",
    )
    out = []
    for site, by_thr in traj.crossing_table(thresholds).items():
        for thr, times in by_thr.items():
            for i, t in enumerate(np.atleast_1d(np.asarray(times, dtype=float))):
                out.append(
                    {"patient": i, "site": site, "threshold": float(thr), "years": float(t) if np.isfinite(t) else None}
                )
    return out


def trajectory_columns(traj: Trajectory) -> tuple[list[str], np.ndarray]:
    """The trajectory as a long table: one row per patient and output time.

    Returns
    -------
    header : list of str
        ``patient``, ``time_years``, then ``bmd_<site>_g_cm2`` and
        ``t_score_<site>`` for each simulated site.
    rows : ndarray, shape (n * m, 2 + 2 * sites)
        Patient index, time [years], BMD [g/cm2] and T-score [SD].

    See Also
    --------
    trajectory_frame : the same table as a DataFrame.
    bmdsim.Trajectory.to_frame : the long (one row per site too) layout.
    """
    _check_trajectory(traj)
    n, m = traj.patient.n, traj.time.size
    check_allocation(
        f"trajectory_columns: a table of {n} patient(s) x {m} times x {2 + 2 * len(traj.sites)} columns",
        float(n) * m * (2 + 2 * len(traj.sites)),
        hint="simulate with a larger step, or fewer patients at once",
    )
    header = ["patient", "time_years"]
    cols = [np.repeat(np.arange(n, dtype=float), m), np.tile(traj.time, n)]
    for site in traj.sites:
        header += [f"bmd_{site}_g_cm2", f"t_score_{site}"]
        cols.append(np.asarray(traj.bmd(site), dtype=float).reshape(n * m))
        cols.append(np.asarray(traj.t_score(site), dtype=float).reshape(n * m))
    return header, np.column_stack(cols)


#: Units of :func:`trajectory_frame`'s per-site columns.
WIDE_UNITS: dict[str, str] = {
    **{f"bmd_{site}_g_cm2": f"g/cm2 (areal BMD by DXA at {site})" for site in SITES},
    **{f"t_score_{site}": f"SD against the young-adult reference (T-score at {site})" for site in SITES},
}


def trajectory_frame(traj: Trajectory) -> pd.DataFrame:
    """:func:`trajectory_columns` as a DataFrame: one row per patient and output time.

    Parameters
    ----------
    traj : Trajectory

    Returns
    -------
    pandas.DataFrame
        The header of :func:`trajectory_columns` as column names and its
        rows as values: ``patient`` (int64), ``time_years`` [years], then
        ``bmd_<site>_g_cm2`` [g/cm2] and ``t_score_<site>`` [SD] per
        simulated site. Units in ``df.attrs["units"]``. For one row per
        patient, site and time use :meth:`bmdsim.Trajectory.to_frame`.

    Raises
    ------
    TypeError
        If ``traj`` is not a Trajectory.
    ValueError
        If the table would exceed :data:`bmdsim.limits.MAX_ARRAY_BYTES`.
    """
    header, rows = trajectory_columns(traj)
    columns = {name: rows[:, j] for j, name in enumerate(header)}
    columns["patient"] = rows[:, 0].astype(np.int64)
    return tables.frame(columns, "BMD and T-score over time (one row per patient and output time)", WIDE_UNITS)


def citation_keys(traj: Trajectory) -> list[str]:
    """Keys of ``data/citations.json`` behind a trajectory's numbers.

    The sources of the parameter set's values that the regimen uses (natural
    loss always, each agent of the regimen) and of the young-adult reference,
    in first-seen order. User overrides (source ``"user"``) are left out.
    """
    _check_trajectory(traj)
    keys: list[str] = []
    for key in traj.params.used_keys((e.agent for e in traj.regimen), traj.patient.sex):
        source = traj.params.metadata.get(key, {}).get("source")
        if source and source != "user" and source not in keys:
            keys.append(source)
    for site in traj.sites:
        source = str(traj.reference.sources.get(site, "")).split(":", 1)[0].strip()
        if source and source not in keys:
            keys.append(source)
    return keys


def format_sources(keys: Iterable[str]) -> str:
    """Short citations for ``keys`` of ``data/citations.json``, joined by semicolons.

    Each reads "First author, journal year, DOI/PMID" (or the title where there
    is no journal), from the citation file; unknown keys are shown as given.

    Parameters
    ----------
    keys : iterable of str
        At most :data:`MAX_SOURCE_KEYS` keys of at most
        :data:`MAX_SOURCE_KEY_CHARS` characters each.
    """
    if isinstance(keys, (str, bytes)) or not isinstance(keys, Iterable):
        raise TypeError(f"keys must be an iterable of citation keys (strings), got {type(keys).__name__}")
    keys = bounded_items(keys, MAX_SOURCE_KEYS, f"keys: at most {MAX_SOURCE_KEYS} citation keys at once, got more")
    for i, key in enumerate(keys):
        check_text(f"keys[{i}]", key, max_chars=MAX_SOURCE_KEY_CHARS)
    citations = _data.read_json("citations.json")
    parts = []
    for key in keys:
        entry = citations.get(key)
        if entry is None:
            parts.append(key)
            continue
        author = str(entry.get("authors", "")).split(",")[0].strip()
        author = f"{author} et al." if author and "," in str(entry.get("authors", "")) else author
        where = entry.get("journal") or str(entry.get("title", key)).split(":", 1)[0]
        text = ", ".join(x for x in (author, f"{where} {entry.get('year', '')}".strip()) if x)
        if entry.get("doi"):
            text += f", doi:{entry['doi']}"
        elif entry.get("pmid"):
            text += f", PMID {entry['pmid']}"
        parts.append(text)
    return "; ".join(parts)
