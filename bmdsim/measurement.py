"""What a DXA scan shows: the measurement error of areal BMD at each scan.

Trials and clinics see BMD through DXA scans, never the true value. A scan of
patient ``i`` at time ``t_j`` shows ``BMD_true(t_j) * (1 + e_ij)`` at each
scanned site, with ``e_ij ~ N(0, cv_site^2)`` independent between scans, sites
and patients (an assumption; see ``data/dxa_precision.json``). The shipped
``cv_site`` are typical short-term in vivo precision errors
(:func:`dxa_precision`: 1.2 % lumbar spine, 1.3 % total hip, 1.97 % femoral
neck). The error is multiplicative because published typical precision is a
%CV.

The errors are seeded: ``e_ij`` comes from a random stream keyed by the seed,
the site, the scan time (to :data:`SCAN_TIME_KEY_RESOLUTION` years) and the
block of :data:`ERROR_BLOCK_PATIENTS` patients that holds patient ``i``. So the
same seed gives the same errors however many patients are simulated and
whatever other scan times are asked for: two schedules (a policy's scans, a
cohort's measured T-scores) that share a scan time see the *same* error there.

This one implementation serves the guideline policies
(:mod:`bmdsim.policy`) and the measured outputs of cohorts
(:meth:`bmdsim.CohortResult.measured_t_scores` and the ``measured=True``
options).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from . import _data, limits
from ._validation import as_finite_float, as_float_array, check_allocation, check_range
from .sites import SITES, check_site

_PRECISION_FILE = "dxa_precision.json"
#: ``measurement_error`` value that means the shipped typical DXA precision (:func:`dxa_precision`).
SHIPPED_PRECISION = "shipped"
#: Patients per block of scan errors (a numerical setting): patient i's errors come from her block's stream.
ERROR_BLOCK_PATIENTS = 4096
#: Resolution [years] with which a scan time keys its error stream: scans at the same time share errors.
SCAN_TIME_KEY_RESOLUTION = 1e-6
#: Largest seed accepted (a 64-bit unsigned integer; numpy's SeedSequence takes any size, bmdsim bounds it).
MAX_SEED = 2**64 - 1
#: First entry of the error streams' spawn keys; keeps them apart from simulate_cohort's one-entry keys.
_ERROR_STREAM = 0x445841


def dxa_precision() -> dict[str, float]:
    """Shipped short-term in vivo DXA precision error per site, as a coefficient of variation.

    Returns
    -------
    dict of site -> float
        CV as a fraction (0.012 is 1.2 %): lumbar spine 0.012, total hip 0.013,
        femoral neck 0.0197 (``data/dxa_precision.json``).

    Notes
    -----
    Typical values (mean CVs of a review of 57 studies, Wilson & Smith,
    Hologic white paper; femoral neck: the GE/Lunar average of the same
    review), not the ISCD *maximum acceptable* precision for a technologist
    (1.9 %, 1.8 %, 2.5 %; recorded in the data file as unverified). See the
    data file for the sentences read and the supporting studies.
    """
    file = _data.label(_PRECISION_FILE)
    doc = _data.read_json(_PRECISION_FILE)
    low, high = _cv_range_percent(doc)
    given = _data.entry(doc, ("default_cv_percent",), file, dict)
    unknown = sorted(k for k in given if k not in SITES)
    if unknown:
        raise _data.DataFileError(
            file, f"default_cv_percent has unknown site(s) {', '.join(map(repr, unknown))}; sites: {', '.join(SITES)}"
        )
    missing = [s for s in SITES if s not in given]
    if missing:
        raise _data.DataFileError(file, f"default_cv_percent has no value for {', '.join(missing)}")
    return {s: _data.number(doc, ("default_cv_percent", s), file, low, high, "%") / 100.0 for s in given}


def _cv_range_percent(doc: Mapping[str, object]) -> tuple[float, float]:
    """``validated_range.cv_percent`` of the precision file [%], checked: ``0 <= low < high <= 100``."""
    file = _data.label(_PRECISION_FILE)
    low, high = _data.numbers(doc, ("validated_range", "cv_percent"), file, 0.0, 100.0, "%", length=2)
    if not low < high:
        raise _data.DataFileError(file, f"validated_range.cv_percent must have low < high, got [{low:g}, {high:g}]")
    return low, high


def _cv_range() -> tuple[float, float]:
    """The accepted range of a user-given CV [fraction]."""
    low, high = _cv_range_percent(_data.read_json(_PRECISION_FILE))
    return low / 100.0, high / 100.0


def check_precision(measurement_error: object, sites: Sequence[str]) -> dict[str, float] | None:
    """Validate ``measurement_error`` and return the CV [fraction] of each of ``sites``, or None (exact scans).

    Parameters
    ----------
    measurement_error : "shipped", mapping of site -> float, or None
        ``"shipped"`` (:data:`SHIPPED_PRECISION`) for :func:`dxa_precision`; a
        mapping of site to CV as a fraction (0.02 is 2 %), in the validated
        range of ``data/dxa_precision.json`` (0 to 0.1); None for exact scans.
    sites : sequence of str
        Sites that are scanned; each needs a CV.

    Raises
    ------
    ValueError
        Unknown site, a CV outside the range (negative included), a scanned
        site without a CV, or an unknown string.
    TypeError
        Anything else than the above types, or a CV that is not a number.
    """
    if measurement_error is None:
        return None
    if isinstance(measurement_error, str):
        if measurement_error != SHIPPED_PRECISION:
            raise ValueError(
                f"measurement_error must be {SHIPPED_PRECISION!r} (the shipped DXA precision), a mapping of site to "
                f"coefficient of variation, or None (exact scans); got {measurement_error!r}"
            )
        cvs: Mapping[str, object] = dxa_precision()
    elif isinstance(measurement_error, Mapping):
        cvs = measurement_error
    else:
        raise TypeError(
            "measurement_error must be a mapping of site to coefficient of variation, "
            f"{SHIPPED_PRECISION!r} or None; got {type(measurement_error).__name__}"
        )
    low, high = _cv_range()
    out = {}
    for site, value in cvs.items():
        check_site(site, "measurement_error site")
        cv = as_finite_float(f"measurement_error[{site!r}]", value)
        if not low <= cv <= high:
            raise ValueError(
                f"measurement_error[{site!r}] must be a coefficient of variation in [{low:g}, {high:g}] "
                f"(a fraction: 0.02 is 2 %), got {cv:g}"
            )
        out[site] = cv
    missing = [s for s in sites if s not in out]
    if missing:
        raise ValueError(
            f"measurement_error has no coefficient of variation for the scanned site(s) {', '.join(missing)}; "
            f"it gives {', '.join(out) or 'none'}"
        )
    return {s: out[s] for s in sites}


def check_seed(seed: object, name: str = "seed") -> int:
    """Return ``seed`` as a Python int in ``[0, MAX_SEED]``, or raise naming ``name``.

    Raises
    ------
    TypeError
        If ``seed`` is not an integer (booleans, floats and strings are refused).
    ValueError
        If it is negative or above :data:`MAX_SEED`.
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"{name} must be a non-negative integer (at most 2**64 - 1), got {seed!r} of type {type(seed).__name__}"
        )
    if not 0 <= seed <= MAX_SEED:
        shown = repr(seed) if abs(seed) <= 2**128 else f"an integer of {int(seed).bit_length()} bits"
        raise ValueError(f"{name} must be a non-negative integer, at most 2**64 - 1, got {shown}")
    return int(seed)


def scan_error_normals(seed: int, site: str, times: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Standard-normal draws ``z[i, j]`` behind the scan errors of patients ``start..stop-1`` at ``times[j]``.

    A scan's relative error is ``cv * z``. The draw of patient ``i`` at time
    ``t`` depends only on ``seed``, ``site``, ``t`` (to
    :data:`SCAN_TIME_KEY_RESOLUTION` years) and ``i``: not on the other scan
    times, the number of patients or the range asked for.

    Parameters
    ----------
    seed : int
        Non-negative seed.
    site : str
    times : (S,) ndarray
        Scan times [years], finite, in ``[0, 60]``.
    start, stop : int
        Patient range, ``0 <= start < stop``.

    Returns
    -------
    (stop - start, S) ndarray

    Raises
    ------
    ValueError
        A bad seed, time or range, or more draws than
        :data:`bmdsim.limits.MAX_ARRAY_BYTES` allows in one array.
    """
    seed = check_seed(seed)
    start, stop = _check_span(start, stop)
    if np.size(times) == 0:
        return np.empty((stop - start, 0))
    times = np.atleast_1d(as_float_array("scan times", times))
    check_range("scan times", times, 0.0, limits.HORIZON_YEARS[1], unit="years")
    check_allocation(f"scan errors of {stop - start} patients x {times.size} scan times", (stop - start) * times.size)
    keys = np.rint(times / SCAN_TIME_KEY_RESOLUTION).astype(np.int64)
    block = ERROR_BLOCK_PATIENTS
    site_key = SITES.index(check_site(site))
    out = np.empty((stop - start, times.size))
    for b in range(start // block, (stop - 1) // block + 1):  # a loop over blocks of patients and scan times
        lo, hi = max(start, b * block), min(stop, (b + 1) * block)
        for j, key in enumerate(keys):
            seq = np.random.SeedSequence(seed, spawn_key=(_ERROR_STREAM, site_key, int(key), b))
            z = np.random.default_rng(seq).standard_normal(block)  # a whole block: independent of stop
            out[lo - start : hi - start, j] = z[lo - b * block : hi - b * block]
    return out


def _check_span(start: object, stop: object) -> tuple[int, int]:
    """``start`` and ``stop`` as patient indices with ``0 <= start < stop``."""
    for name, value in (("start", start), ("stop", stop)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer patient index, got {value!r}")
    if not 0 <= start < stop:
        raise ValueError(f"need patient indices 0 <= start < stop, got start={start}, stop={stop}")
    return int(start), int(stop)


def measured_bmd(
    true_bmd: np.ndarray, cv: float, seed: int, site: str, times: np.ndarray, start: int, stop: int
) -> np.ndarray:
    """What scans show: ``true_bmd * (1 + cv * z)`` with the seeded draws of :func:`scan_error_normals`.

    Parameters
    ----------
    true_bmd : (stop - start, S) ndarray
        True BMD [g/cm2] of patients ``start..stop-1`` at ``times``.
    cv : float
        Precision error of the site as a fraction (0.012 is 1.2 %), in the
        validated range (0 to 0.1); 0 returns ``true_bmd``.
    seed : int
    site : str
    times : (S,) ndarray
        Scan times [years], >= 0.
    start, stop : int
        Patient range.
    """
    low, high = _cv_range()
    cv = as_finite_float("cv", cv)
    check_range("cv", np.asarray(cv), low, high)
    if cv == 0.0:
        return true_bmd
    return true_bmd * (1.0 + cv * scan_error_normals(seed, site, times, start, stop))


__all__ = [
    "ERROR_BLOCK_PATIENTS",
    "SCAN_TIME_KEY_RESOLUTION",
    "SHIPPED_PRECISION",
    "check_precision",
    "check_seed",
    "dxa_precision",
    "measured_bmd",
    "scan_error_normals",
]
