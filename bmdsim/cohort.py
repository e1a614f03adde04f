"""Cohorts: a seeded synthetic population of women starting a regimen, at up to millions of patients.

:func:`simulate_cohort` draws ``n`` patients from a :class:`Population` (age and
per-site baseline T-scores) with optional between-patient :class:`Variability`
in the loss, and returns a :class:`CohortResult` whose methods give exact
first-crossing times per patient, cumulative-incidence curves, percentiles of
time to crossing and of T-score over time. :func:`compare_regimens` puts
several regimens side by side in a plain table. Each summary is a dict that
also has ``.to_frame()``, the same numbers as a tidy pandas DataFrame
(:mod:`bmdsim.tables`).

Conventions
-----------
Times are years from baseline; T-scores are SD units against the young-adult
reference. A threshold is *crossed* at the first time the T-score is at or
below it (WHO convention; see :mod:`bmdsim.crossing`): ``0.0`` if already at or
below at baseline, ``inf`` if not reached within the horizon.

Reproducibility and chunks
--------------------------
Random numbers are drawn in fixed blocks of :data:`BLOCK_PATIENTS` patients;
block ``b`` uses ``np.random.SeedSequence(seed, spawn_key=(b,))``. Patient
``i`` therefore gets the same draws whatever ``chunk_size`` is, and the same
seed gives the same answer however the work is split, to the last bit:
everything computed for a patient depends on her own draws only (her
correlated draws are formed without BLAS, whose rounding changes with the
number of rows, and the shared loss curve her crossing is read from is chosen
and evaluated from her own age, see :func:`bmdsim.crossing.canonical_state`).
``chunk_size`` only bounds memory: the work is done chunk by chunk, each chunk
independent of the others. A :class:`CohortResult` pickles as its inputs (a
few kilobytes), so a distributed engine maps :meth:`CohortResult.chunk_crossing_times`
over ``result.chunks()`` and concatenates the pieces in chunk order; nothing
else is shared between chunks. :func:`bmdsim.distributed.crossing_times_dask`
does that on a Dask cluster, bit-identical to :meth:`CohortResult.crossing_times`.

Parameter uncertainty
---------------------
``simulate_cohort(..., parameter_draws=K)`` adds the first ``K`` calibration
draws of the parameter set (:func:`bmdsim.parameter_draws`). The same patients
(same ages, T-scores and multipliers: common random numbers, drawn once per
result, see :class:`CohortResult`) are then simulated once per draw, chunk by
chunk, one draw per worker thread at a time. A draw's crossing times are kept
for the next query while they fit in :data:`KEPT_DRAW_BYTES` (256 MiB);
beyond that, memory holds at most ``workers`` draws' ``n`` crossing times,
never ``n x K``.
:meth:`CohortResult.fraction_below` adds the interval of the fraction across
draws (:data:`PARAMETER_INTERVAL` percentiles) and the per-draw curves,
:meth:`CohortResult.crossing_percentile_interval` the same for percentiles of
time to crossing. Point values and the Wilson band keep their meaning (the
set's own parameters, sampling uncertainty of ``n`` patients). The draws
cover the sampling error of the published calibration targets only; see
:mod:`bmdsim.calibration` for what they leave out.
"""

from __future__ import annotations

import math
import operator
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import ndtr, ndtri

from . import _data, limits, tables
from ._validation import as_finite_float, as_float_array, bounded_items, check_allocation, check_range, check_text
from .crossing import canonical_state, first_crossing, first_crossings, without_courses
from .measurement import ERROR_BLOCK_PATIENTS, SHIPPED_PRECISION, check_precision, check_seed, measured_bmd
from .model import PatientState, SiteModel
from .parameters import DEFAULT_PARAMETER_SET, ParameterSet, resolve_parameters
from .parameters import parameter_draws as _shipped_draws
from .patient import Patient, check_sex
from .reference import YoungAdultReference, load_reference
from .regimen import Exposure, Regimen
from .simulation import DEFAULT_THRESHOLDS, Trajectory
from .sites import SITES, check_site
from .summary import wilson_interval
from .therapies import warn_if_extrapolating

if TYPE_CHECKING:  # pragma: no cover - annotations only; pandas is imported when a table is made
    import pandas as pd

#: Patients per random-number block. Fixed, so results do not depend on chunk_size.
BLOCK_PATIENTS = 2**16
#: Bin width [SD] of the T-score histograms behind :meth:`CohortResult.t_score_percentiles`.
T_SCORE_BIN = 1e-3
#: Range [SD] of those histograms; values outside are counted in the end bins.
T_SCORE_GRID = (-12.0, 8.0)
#: Percentiles reported by default.
DEFAULT_PERCENTILES: tuple[float, ...] = (10.0, 25.0, 50.0, 75.0, 90.0)
#: Percentiles across parameter draws that bound the parameter interval (a 95 % interval).
PARAMETER_INTERVAL: tuple[float, float] = (2.5, 97.5)
#: Elements (patients x times) evaluated at once for T-score percentiles (bounds memory).
_CELLS_PER_BATCH = 2_000_000
#: Columns of each block's standard-normal draws: age, one T-score per site, one multiplier per site.
_COLUMNS = 1 + 2 * len(SITES)
_POPULATION_FILE = "cohort_default_population.json"
#: ``site`` value that means each woman's lowest T-score across the simulated sites.
LOWEST = "lowest"
#: WHO T-score cut points [SD] (WHO 1994; data/citations.json "who_1994") and the categories they make.
WHO_CUTS: tuple[float, ...] = (-2.5, -1.0)
WHO_CATEGORIES: tuple[str, ...] = ("osteoporosis", "osteopenia", "normal")
#: Most cut points of a category split.
MAX_CUTS = 20
#: Most patient x time values that :meth:`CohortResult.t_scores` returns at once (160 MB of floats).
MAX_T_SCORE_CELLS = 20_000_000
#: Most output times (or percentiles) per query: a point every two days over the longest horizon. A design
#: limit that bounds the work of a streamed summary (patients x times), not a model number.
MAX_TIMES = 10_000
#: Most thresholds (or sites) per query.
MAX_THRESHOLDS = 100
#: Most chunks a cohort is split into: ``ceil(n / chunk_size)``. Each chunk costs a fixed Python overhead
#: (about a millisecond), so this bounds the overhead to minutes; raise ``chunk_size`` for larger ``n``.
MAX_CHUNKS = 100_000
#: Most threads working on chunks at once.
MAX_WORKERS = 64
#: Most bytes of drawn patients a :class:`CohortResult` keeps for later queries and parameter draws (256 MiB:
#: about 3.3 million patients with three sites). A memory budget, not a model number; 0 keeps none.
KEPT_PATIENT_BYTES = 256 * 2**20
#: Most bytes of parameter draws' crossing times a :class:`CohortResult` keeps (256 MiB: 100 draws of 335,000
#: patients at one site and threshold), within the :data:`bmdsim.limits.MAX_ARRAY_BYTES` of all kept crossing times.
KEPT_DRAW_BYTES = 256 * 2**20


@dataclass(frozen=True)
class TruncatedNormal:
    """A normal distribution truncated to ``[low, high]``.

    Parameters
    ----------
    mean, sd : float
        Mean and standard deviation of the untruncated normal (``sd >= 0``;
        ``sd = 0`` gives the constant ``mean``).
    low, high : float
        Truncation bounds, ``low < high``.
    """

    mean: float
    sd: float
    low: float
    high: float

    def check(self, name: str, bounds: tuple[float, float], unit: str) -> None:
        """Raise ValueError naming ``name`` if a parameter is invalid or outside ``bounds``."""
        mean = as_finite_float(f"{name}.mean", self.mean)
        sd = as_finite_float(f"{name}.sd", self.sd)
        low = as_finite_float(f"{name}.low", self.low)
        high = as_finite_float(f"{name}.high", self.high)
        if sd < 0:
            raise ValueError(f"{name}.sd must be >= 0 {unit}, got {sd:g}")
        if not low < high:
            raise ValueError(f"{name}.low must be below {name}.high, got low={low:g} and high={high:g} {unit}")
        check_range(f"{name}.low", np.asarray(low), *bounds, unit=unit)
        check_range(f"{name}.high", np.asarray(high), *bounds, unit=unit)
        if sd == 0 and not low <= mean <= high:
            raise ValueError(f"{name}.mean ({mean:g}) must lie in [low, high] when sd is 0")
        if sd > 0 and ndtr((high - mean) / sd) - ndtr((low - mean) / sd) < 1e-9:
            raise ValueError(f"{name}: [low, high] = [{low:g}, {high:g}] holds almost none of N({mean:g}, {sd:g}^2)")

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Values at probabilities ``u`` in [0, 1] of the truncated distribution (inverse CDF)."""
        if self.sd == 0:
            return np.full(np.shape(u), float(self.mean))
        a = ndtr((self.low - self.mean) / self.sd)
        b = ndtr((self.high - self.mean) / self.sd)
        x = self.mean + self.sd * ndtri(a + u * (b - a))
        return np.clip(x, self.low, self.high)  # round-off at the bounds


def _correlation_matrix(name: str, sites: Sequence[str], spec: float | Mapping[tuple[str, str], float]) -> np.ndarray:
    """A site-by-site correlation matrix from one value (all pairs) or ``{(site, site): value}``."""
    k = len(sites)
    corr = np.eye(k)
    if isinstance(spec, Mapping):
        pairs = spec.items()
    else:
        value = as_finite_float(name, spec)
        pairs = [((a, b), value) for i, a in enumerate(sites) for b in sites[i + 1 :]]
    for pair, value in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"{name} keys must be (site, site) pairs, got {pair!r}")
        for s in pair:
            check_site(s, f"{name} site")
            if s not in sites:
                raise ValueError(f"{name} names site {s!r}, which is not among the simulated sites {', '.join(sites)}")
        if pair[0] == pair[1]:
            raise ValueError(f"{name} pair {pair!r} names one site twice; a site's correlation with itself is 1")
        value = as_finite_float(f"{name}[{pair!r}]", value)
        if not -1.0 <= value <= 1.0:
            raise ValueError(f"{name}[{pair!r}] must lie in [-1, 1], got {value:g}")
        i, j = sites.index(pair[0]), sites.index(pair[1])
        corr[i, j] = corr[j, i] = value
    if np.linalg.eigvalsh(corr).min() < -1e-10:
        raise ValueError(f"{name} is not positive semidefinite (not a correlation matrix): {corr.round(3).tolist()}")
    return corr


def correlation_matrix(name: str, sites: Sequence[str], spec: float | Mapping[tuple[str, str], float]) -> np.ndarray:
    """A site-by-site correlation matrix, checked, as :class:`Population` and :class:`Variability` take it.

    Parameters
    ----------
    name : str
        The argument's name, for the messages.
    sites : list or tuple of str
        The sites, in the order of the matrix's rows.
    spec : float or mapping of (site, site) -> float
        One correlation for every pair of sites, or one per pair given
        (pairs not given are 0).

    Returns
    -------
    ndarray
        Shape ``(len(sites), len(sites))``, symmetric, ones on the diagonal.

    Raises
    ------
    TypeError, ValueError
        Naming ``name``: a key that is not a pair of the sites, a value
        outside ``[-1, 1]``, or a matrix that is not positive semidefinite.
    """
    return _correlation_matrix(name, sites, spec)


def _square_root(corr: np.ndarray) -> np.ndarray:
    """``A`` with ``A @ A.T == corr`` (symmetric square root; works for singular matrices too)."""
    w, v = np.linalg.eigh(corr)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _combine(z: np.ndarray, root: np.ndarray) -> np.ndarray:
    """``z @ root.T``, row by row in one fixed order of operations: shape ``(len(z), len(root))``.

    Not a matrix product on purpose: BLAS picks kernels (and splits rows
    between its threads) by the number of rows, and its kernels round
    differently, so a patient's draws would change in the last bit with the
    size of her chunk. Elementwise products and sums round the same way
    whatever the number of rows, so each patient's values depend on her
    index only (see the module notes on chunks).
    """
    out = np.empty((z.shape[0], root.shape[0]))
    for j in range(root.shape[0]):  # a loop over sites (at most three), not patients
        acc = z[:, 0] * root[j, 0]
        for k in range(1, root.shape[1]):
            acc = acc + z[:, k] * root[j, k]
        out[:, j] = acc
    return out


@dataclass(frozen=True)
class Population:
    """Who starts the regimen: age and per-site baseline T-scores.

    Parameters
    ----------
    age : TruncatedNormal
        Age at baseline [years], bounds within ``bmdsim.limits.AGE_YEARS``.
    t_score : mapping of site -> TruncatedNormal
        Baseline T-score [SD] per site, bounds within ``bmdsim.limits.T_SCORE``.
        Only these sites are simulated.
    correlation : float or mapping of (site, site) -> float
        Correlation between the sites' T-scores: one value for every pair,
        or per pair (pairs not given are 0). Must give a positive
        semidefinite matrix.
    name : str
        A label.
    age_correlation : float or mapping of site -> float
        Correlation between age and each site's T-score (latent normals),
        in [-1, 1]: one value for every site, or per site (sites not given
        are 0). 0 (default) draws age independently of the T-scores.
        Together with ``correlation`` it must give a positive semidefinite
        matrix.

    Notes
    -----
    Age and sites are joined by a Gaussian copula: correlated standard
    normals are mapped through each truncated-normal inverse CDF.
    ``correlation`` and ``age_correlation`` are those of the latent normals;
    they equal the correlations of the values when truncation is negligible.
    Given age's latent normal ``z_a``, the sites' latent normals are
    ``r z_a + (C - r r^T)^(1/2) e`` with ``r`` the age correlations, ``C``
    the site correlations and ``e`` independent standard normals, so with
    ``age_correlation = 0`` the draws are exactly those of an independent age.
    :func:`default_population` documents the shipped default and its sources.
    """

    age: TruncatedNormal
    t_score: Mapping[str, TruncatedNormal]
    correlation: float | Mapping[tuple[str, str], float] = 0.0
    name: str = "custom"
    age_correlation: float | Mapping[str, float] = 0.0
    sex: str = "female"
    _corr: np.ndarray = field(init=False, repr=False, compare=False)
    _age_corr: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_text("population.name", self.name)
        check_sex(self.sex, "population.sex")
        if not isinstance(self.age, TruncatedNormal):
            raise TypeError(f"population.age must be a bmdsim.cohort.TruncatedNormal, got {type(self.age).__name__}")
        self.age.check("population.age", limits.AGE_YEARS, "years")
        if not isinstance(self.t_score, Mapping) or not self.t_score:
            raise ValueError("population.t_score must map at least one site to a TruncatedNormal")
        for site, dist in self.t_score.items():
            check_site(site, "population.t_score site")
            if not isinstance(dist, TruncatedNormal):
                raise TypeError(f"population.t_score[{site!r}] must be a TruncatedNormal, got {type(dist).__name__}")
            dist.check(f"population.t_score[{site!r}]", limits.T_SCORE, "SD")
        object.__setattr__(self, "_corr", _correlation_matrix("population.correlation", self.sites, self.correlation))
        object.__setattr__(self, "_age_corr", self._age_vector())

    def _age_vector(self) -> np.ndarray:
        """Age correlation per simulated site, checked to give a valid joint correlation matrix."""
        name = "population.age_correlation"
        spec = self.age_correlation
        if isinstance(spec, Mapping):
            for key in spec:
                check_site(key, f"{name} site")
                if key not in self.sites:
                    raise ValueError(
                        f"{name} names site {key!r}, which is not among the simulated sites {', '.join(self.sites)}"
                    )
            values = [spec.get(s, 0.0) for s in self.sites]
        else:
            values = [spec] * len(self.sites)
        r = np.array([as_finite_float(f"{name}[{s!r}]", v) for s, v in zip(self.sites, values, strict=True)])
        for s, v in zip(self.sites, r, strict=True):
            if not -1.0 <= v <= 1.0:
                raise ValueError(f"{name}[{s!r}] must lie in [-1, 1], got {v:g}")
        if np.linalg.eigvalsh(self._corr - np.outer(r, r)).min() < -1e-10:
            raise ValueError(
                f"{name} ({r.round(3).tolist()}) and population.correlation together are not a correlation "
                "matrix (not positive semidefinite); lower the age correlations or the site correlations"
            )
        return r

    @property
    def sites(self) -> tuple[str, ...]:
        """Sites with a T-score distribution, in the order of :data:`bmdsim.SITES`."""
        return tuple(s for s in SITES if s in self.t_score)


def default_population() -> Population:
    """The documented default population of women starting an AI (``data/cohort_default_population.json``).

    Age ~ N(64.2, 10.0^2) truncated to 45-90 years, correlated with every
    site's T-score by -0.32 (latent normals); the three values are fitted by
    :mod:`bmdsim.population_fit` to MA.27B's ages by decade in its two
    T-score strata (Goss et al., Lancet Oncol 2014, DOI
    10.1016/S1470-2045(14)70035-X, Table 1), so women with low T-scores are
    older (model median ages 63.4 and 69.0 years; MA.27B 62.0-63.2 and
    68.3-71.0). T-score at every site ~ N(-0.881, 1) truncated to bmdsim's
    limits, the mean set so that 54.7 % have T >= -1 as in ABCSG-18's strata
    (1872 of 3420; Gnant et al., Lancet 2015, from a secondary source);
    spine-hip correlation 0.70 (Taechakraichana et al., J Med Assoc Thai
    1997, PMID 9175372). **Assumptions without a source**: the normal shapes
    and age bounds, the T-score sd of 1, the same split at every site, one
    age correlation for every site, and the femoral-neck correlations (0.70
    with the spine, 0.90 with the total hip). The data file marks each with
    ``"verification": "assumption"``.
    """
    file = _data.label(_POPULATION_FILE)
    doc = _data.read_json(_POPULATION_FILE)

    def dist(*path: str) -> TruncatedNormal:
        return TruncatedNormal(*(_data.number(doc, (*path, k), file) for k in ("mean", "sd", "low", "high")))

    t_score = {}
    for site in _data.entry(doc, ("t_score",), file, dict):
        if site not in SITES:
            raise _data.DataFileError(file, f"t_score has the unknown site {site!r}; sites: {', '.join(SITES)}")
        t_score[site] = dist("t_score", site)
    correlation = {}
    for k, _ in enumerate(_data.entry(doc, ("correlation",), file, list)):
        pair = _data.entry(doc, ("correlation", k, "sites"), file, list)
        if len(pair) != 2 or any(not isinstance(p, str) for p in pair):
            raise _data.DataFileError(file, f"correlation[{k}].sites must be two site names, got {pair!r:.80}")
        correlation[tuple(pair)] = _data.number(doc, ("correlation", k, "value"), file, -1.0, 1.0)
    try:
        return Population(
            age=dist("age_years"),
            t_score=t_score,
            correlation=correlation,
            name="default (women starting an AI)",
            age_correlation=_data.number(doc, ("age_t_score_correlation", "value"), file, -1.0, 1.0),
        )
    except (ValueError, TypeError) as exc:
        if isinstance(exc, _data.DataFileError):
            raise
        raise _data.DataFileError(file, str(exc)) from None


@dataclass(frozen=True)
class Variability:
    """Between-patient variability: a per-patient, per-site multiplier on the whole log-loss.

    Parameters
    ----------
    cv : float or mapping of site -> float
        Coefficient of variation of the multiplier, one value for every site
        or per site, in the plausible range of
        ``data/between_patient_spread.json`` (0 to 3; 0 is no variability).
    correlation : float or mapping of (site, site) -> float
        Correlation between sites of the multipliers' logarithms.

    Notes
    -----
    Patient ``i`` has ``L_i(t) = m_i L(t)`` at each site with ``m_i`` lognormal,
    mean 1 and the given CV. Gains and losses scale together: a woman who
    loses faster on the AI also gains more on a bisphosphonate and recovers
    more after the stop. It keeps crossings exact and the curve shared:
    ``m_i L(t) >= c_i`` exactly when ``L(t) >= c_i / m_i``.

    Cohorts use :func:`bmdsim.spread.default_variability` unless told
    otherwise: a CV of about 1.2 per site and spine-hip correlations of about
    0.76, estimated from published spreads of individual change with the DXA
    precision error removed (:mod:`bmdsim.spread`). ``Variability()`` (CV 0)
    gives every woman the mean loss.
    """

    cv: float | Mapping[str, float] = 0.0
    correlation: float | Mapping[tuple[str, str], float] = 0.0

    def __post_init__(self) -> None:
        self.sigma(SITES)  # checks cv at every site it may be asked for
        spec = self.correlation
        if isinstance(spec, Mapping):
            for pair, value in spec.items():
                if not isinstance(pair, tuple) or len(pair) != 2:
                    raise TypeError(f"variability.correlation keys must be (site, site) pairs, got {pair!r:.80}")
                for site in pair:
                    check_site(site, "variability.correlation site")
                self._check_correlation(f"variability.correlation[{pair!r}]", value)
        else:
            self._check_correlation("variability.correlation", spec)

    @staticmethod
    def _check_correlation(name: str, value: object) -> None:
        r = as_finite_float(name, value)
        if not -1.0 <= r <= 1.0:
            raise ValueError(f"{name} must lie in [-1, 1], got {r:g}")

    def sigma(self, sites: Sequence[str]) -> np.ndarray:
        """Standard deviation of ``ln m`` per site, checking ``cv``.

        Raises
        ------
        ValueError
            If a CV is outside :func:`bmdsim.spread.plausible_cv_range` (0 to
            3), or a site is unknown.
        TypeError
            If ``cv`` is not a number or a mapping of site to number.
        """
        from .spread import plausible_cv_range  # here, so that `python -m bmdsim.spread` runs it once

        low, high = plausible_cv_range()
        if isinstance(self.cv, Mapping):
            for key in self.cv:
                check_site(key, "variability.cv site")
        out = []
        for s in sites:
            value = self.cv.get(s, 0.0) if isinstance(self.cv, Mapping) else self.cv
            cv = as_finite_float(f"variability.cv[{s!r}]", value)
            if not low <= cv <= high:
                raise ValueError(
                    f"variability.cv[{s!r}] must be a coefficient of variation in the plausible range "
                    f"[{low:g}, {high:g}] (data/between_patient_spread.json), got {cv:g}"
                )
            out.append(math.sqrt(math.log1p(cv * cv)))
        return np.array(out)


def _as_count(name: str, value: object, high: int | None = None) -> int:
    """``value`` as a positive int (at most ``high``); booleans, floats and strings are refused."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    try:
        count = operator.index(value)
    except TypeError:
        kind = type(value).__name__
        raise TypeError(f"{name} must be a positive integer, got {value!r:.80} of type {kind}") from None
    if count <= 0:
        shown = count if count > -(2**63) else "a negative integer"
        raise ValueError(f"{name} must be a positive integer, got {shown}")
    high = 2**63 - 1 if high is None else high
    if count > high:
        shown = count if count < 2**63 else f"an integer of {count.bit_length()} bits"
        raise ValueError(f"{name} must be a positive integer, at most {high}, got {shown}")
    return count


def _few(name: str, values: object, most: int) -> list:
    """The items of iterable ``values`` (a scalar counts as one), refusing more than ``most`` of them."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        return [values]
    if isinstance(values, np.ndarray) and values.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D sequence, got an array of shape {values.shape}")
    items = bounded_items(values, most, f"{name} must hold at most {most} values")
    if not items:
        raise ValueError(f"{name} must not be empty")
    return items


class _CohortTrajectory(Trajectory):
    """A chunk of the cohort: a Trajectory whose log-loss at each site is scaled per patient."""

    def __init__(
        self, patient: Patient, multiplier: Mapping[str, np.ndarray], models: Mapping[str, SiteModel], *args: Any
    ) -> None:
        self._shared_models = dict(models)  # event starts are found on them too (see _trigger_model)
        super().__init__(patient, *args, loss_multiplier=multiplier)
        self._models = dict(models)  # shared across chunks, so each site's crossing table is built once
        self.multiplier = dict(multiplier)  # a kept chunk's patients are re-used under each parameter draw

    def _trigger_model(self, site: str, pending: tuple) -> SiteModel:
        """The shared model at ``site`` without the courses ``pending``: its tables are built once for all chunks."""
        return without_courses(self._shared_models[site], pending)

    def scaled_bmd(self, site: str, times: np.ndarray) -> np.ndarray:
        """True BMD [g/cm2] at ``times``, shape (n, len(times)), with each patient's multiplier."""
        return self._bmd_at(site, times)

    def scaled_t_score(self, site: str, times: np.ndarray) -> np.ndarray:
        """T-score [SD] at ``times``, shape (n, len(times)), with each patient's multiplier."""
        return self.reference.t_score(site, self.scaled_bmd(site, times))

    def crossing_time(self, site: str, threshold: float) -> np.ndarray:
        """As :meth:`Trajectory.crossing_time`, but not kept here: a chunk may be kept, its answers are the cohort's."""
        site = self._site(site)
        target = self._target(site, as_finite_float("threshold", threshold))
        return first_crossing(self._models[site], self._state, target, self.years)

    def crossing_times(self, site: str, thresholds: Sequence[float]) -> list[np.ndarray]:
        """:meth:`crossing_time` for several thresholds at one site in one pass (the same answers to the last bit)."""
        site = self._site(site)
        targets = [self._target(site, as_finite_float("threshold", t)) for t in thresholds]
        return first_crossings(self._models[site], self._state, targets, self.years)


_INTERVAL_TEXT = f"{PARAMETER_INTERVAL[0]:g}th-{PARAMETER_INTERVAL[1]:g}th percentile across parameter draws"
#: Units of the cohort tables' own columns (the shared ones are in :data:`bmdsim.tables.UNITS`).
COHORT_UNITS: dict[str, str] = {
    "fraction_below_wilson_low": "fraction (0-1): lower end of the 95 % Wilson interval among n patients (sampling)",
    "fraction_below_wilson_high": "fraction (0-1): upper end of the 95 % Wilson interval among n patients (sampling)",
    "fraction_below_param_low": f"fraction (0-1): {_INTERVAL_TEXT}, lower end",
    "fraction_below_param_high": f"fraction (0-1): {_INTERVAL_TEXT}, upper end",
    "crossing_time_param_low_years": f"years: {_INTERVAL_TEXT}, lower end (inf: fewer cross within the horizon)",
    "crossing_time_param_high_years": f"years: {_INTERVAL_TEXT}, upper end (inf: fewer cross within the horizon)",
    "start_time_years": "years from baseline at which from_category is read",
    "stop_time_years": "years from baseline at which to_category is read",
    "from_category": "T-score category at start_time_years (ordered low to high)",
    "to_category": "T-score category at stop_time_years (ordered low to high)",
    "count": "number of women in from_category at start_time_years and in to_category at stop_time_years",
    "row_total": "number of women in from_category at start_time_years",
    "fraction_of_row": "count / row_total, fraction (0-1); NaN for an empty row",
    "median_crossing_time_years": (
        "years: median time to crossing, the same on every row of a regimen and threshold (inf: under half cross)"
    ),
    "median_crossing_time_param_low_years": f"years: median time to crossing, {_INTERVAL_TEXT}, lower end",
    "median_crossing_time_param_high_years": f"years: median time to crossing, {_INTERVAL_TEXT}, upper end",
}
#: ``crossing_time_years`` read as a percentile of time to crossing.
_PERCENTILE_TIME = (
    "years: the earliest time by which at least `percentile` % of the cohort have crossed "
    "(0: at baseline; inf: fewer cross within the horizon)"
)


class FractionBelow(tables.FrameDict):
    """What :meth:`CohortResult.fraction_below` returns: its dict, plus :meth:`to_frame`.

    Attributes
    ----------
    site : str
    threshold : float
        T-score threshold [SD].
    """

    def __init__(self, data: Mapping[str, Any], site: str, threshold: float) -> None:
        super().__init__(data)
        self.site, self.threshold = site, float(threshold)

    def to_frame(self) -> pd.DataFrame:
        """The cumulative incidence as a tidy table: one row per time.

        Returns
        -------
        pandas.DataFrame
            Columns ``site``, ``threshold_t_score_sd`` [SD], ``time_years``
            [years], ``fraction_below`` (0-1, ``self["fraction"]``),
            ``fraction_below_wilson_low`` and ``fraction_below_wilson_high``
            (0-1, the 95 % Wilson interval, ``self["low"]`` and
            ``self["high"]``); with parameter draws also
            ``fraction_below_param_low`` and ``fraction_below_param_high``
            (:data:`PARAMETER_INTERVAL` percentiles across draws; each draw's
            curve stays in ``self["draws"]``). Units in ``df.attrs["units"]``.
        """
        time = np.asarray(self["time"], dtype=float)
        columns = {
            "site": [self.site] * time.size,
            "threshold_t_score_sd": np.full(time.size, self.threshold),
            "time_years": time,
            "fraction_below": np.asarray(self["fraction"], dtype=float),
            "fraction_below_wilson_low": np.asarray(self["low"], dtype=float),
            "fraction_below_wilson_high": np.asarray(self["high"], dtype=float),
        }
        if "param_low" in self:
            columns["fraction_below_param_low"] = np.asarray(self["param_low"], dtype=float)
            columns["fraction_below_param_high"] = np.asarray(self["param_high"], dtype=float)
        title = f"Fraction of the cohort that has crossed T <= {self.threshold:g} at {self.site}, by time"
        return tables.frame(columns, title, COHORT_UNITS)


class CrossingPercentiles(tables.FrameDict):
    """What :meth:`CohortResult.crossing_percentiles` returns: ``{q: time}``, plus :meth:`to_frame`.

    Attributes
    ----------
    site : str
    threshold : float
        T-score threshold [SD].
    """

    def __init__(self, data: Mapping[float, float], site: str, threshold: float) -> None:
        super().__init__(data)
        self.site, self.threshold = site, float(threshold)

    def to_frame(self) -> pd.DataFrame:
        """The percentiles as a tidy table: one row per percentile.

        Returns
        -------
        pandas.DataFrame
            Columns ``site``, ``threshold_t_score_sd`` [SD], ``percentile``
            (0-100, the keys) and ``crossing_time_years`` [years, the values;
            inf: fewer than that per cent cross within the horizon].
        """
        q = np.array(list(self.keys()), dtype=float)
        columns = {
            "site": [self.site] * q.size,
            "threshold_t_score_sd": np.full(q.size, self.threshold),
            "percentile": q,
            "crossing_time_years": np.array(list(self.values()), dtype=float),
        }
        title = f"Percentiles of time to crossing T <= {self.threshold:g} at {self.site}"
        return tables.frame(columns, title, {"crossing_time_years": _PERCENTILE_TIME})


class CrossingPercentileInterval(tables.FrameDict):
    """What :meth:`CohortResult.crossing_percentile_interval` returns: its dict, plus :meth:`to_frame`.

    Attributes
    ----------
    site : str
    threshold : float
        T-score threshold [SD].
    """

    def __init__(self, data: Mapping[str, Any], site: str, threshold: float) -> None:
        super().__init__(data)
        self.site, self.threshold = site, float(threshold)

    def to_frame(self) -> pd.DataFrame:
        """The percentiles and their parameter interval as a tidy table: one row per percentile.

        Returns
        -------
        pandas.DataFrame
            Columns ``site``, ``threshold_t_score_sd`` [SD], ``percentile``
            (0-100), ``crossing_time_years`` [years, the cohort's own
            parameters], ``crossing_time_param_low_years`` and
            ``crossing_time_param_high_years`` [years,
            :data:`PARAMETER_INTERVAL` percentiles across draws; each draw's
            values stay in ``self["draws"]``].
        """
        q = np.asarray(self["q"], dtype=float)
        columns = {
            "site": [self.site] * q.size,
            "threshold_t_score_sd": np.full(q.size, self.threshold),
            "percentile": q,
            "crossing_time_years": np.asarray(self["time"], dtype=float),
            "crossing_time_param_low_years": np.asarray(self["param_low"], dtype=float),
            "crossing_time_param_high_years": np.asarray(self["param_high"], dtype=float),
        }
        title = f"Percentiles of time to crossing T <= {self.threshold:g} at {self.site}, with parameter interval"
        return tables.frame(columns, title, COHORT_UNITS | {"crossing_time_years": _PERCENTILE_TIME})


class TScorePercentiles(tables.FrameDict):
    """What :meth:`CohortResult.t_score_percentiles` returns: its dict, plus :meth:`to_frame`.

    Attributes
    ----------
    site : str
        A site or ``"lowest"``.
    measured : bool
        Whether the T-scores are what DXA scans show.
    """

    def __init__(self, data: Mapping[str, Any], site: str, measured: bool) -> None:
        super().__init__(data)
        self.site, self.measured = site, bool(measured)

    def to_frame(self) -> pd.DataFrame:
        """The T-score percentiles as a tidy table: one row per time and percentile.

        Returns
        -------
        pandas.DataFrame
            Columns ``site``, ``measured`` (bool), ``time_years`` [years],
            ``percentile`` (0-100) and ``t_score_sd`` [SD], the T-score below
            which that per cent of the cohort lie (``self["t_score"]``, read
            time by time).
        """
        time = np.asarray(self["time"], dtype=float)
        q = np.asarray(self["q"], dtype=float)
        values = np.asarray(self["t_score"], dtype=float)  # (q, times)
        columns = {
            "site": [self.site] * (time.size * q.size),
            "measured": np.full(time.size * q.size, self.measured),
            "time_years": np.repeat(time, q.size),
            "percentile": np.tile(q, time.size),
            "t_score_sd": values.T.reshape(-1),
        }
        title = f"Percentiles of the cohort's T-score at {self.site}{' (as scans show)' if self.measured else ''}"
        units = {
            "t_score_sd": "SD: the T-score at that percentile of the cohort (within 0.001 SD of an order statistic)"
        }
        return tables.frame(columns, title, units)


class CategoryShares(tables.FrameDict):
    """What :meth:`CohortResult.category_shares` returns: its dict, plus :meth:`to_frame`.

    Attributes
    ----------
    site : str
        A site or ``"lowest"``.
    measured : bool
        Whether the categories are of what DXA scans show.
    """

    def __init__(self, data: Mapping[str, Any], site: str, measured: bool) -> None:
        super().__init__(data)
        self.site, self.measured = site, bool(measured)

    def to_frame(self) -> pd.DataFrame:
        """The category shares as a tidy table: one row per time and category.

        Returns
        -------
        pandas.DataFrame
            Columns ``site``, ``measured`` (bool), ``time_years`` [years],
            ``category`` (ordered categorical, low to high) and ``fraction``
            (0-1) of the cohort in it; the fractions sum to 1 at each time.
        """
        time = np.asarray(self["time"], dtype=float)
        names = list(self["categories"])
        share = np.asarray(self["fraction"], dtype=float)  # (categories, times)
        rows = time.size * len(names)
        columns = {
            "site": [self.site] * rows,
            "measured": np.full(rows, self.measured),
            "time_years": np.repeat(time, len(names)),
            "category": names * time.size,
            "fraction": share.T.reshape(-1),
        }
        title = (
            f"Share of the cohort in each T-score category at {self.site}{' (as scans show)' if self.measured else ''}"
        )
        return tables.frame(columns, title, categories={"category": names})


class Transitions(tables.FrameDict):
    """What :meth:`CohortResult.transitions` returns: its dict, plus :meth:`to_frame`.

    Attributes
    ----------
    site : str
        A site or ``"lowest"``.
    measured : bool
    start_time, stop_time : float
        The two times [years].
    """

    def __init__(self, data: Mapping[str, Any], site: str, measured: bool, start_time: float, stop_time: float) -> None:
        super().__init__(data)
        self.site, self.measured = site, bool(measured)
        self.start_time, self.stop_time = float(start_time), float(stop_time)

    def to_frame(self) -> pd.DataFrame:
        """The transition matrices as a tidy table: one row per pair of categories.

        Returns
        -------
        pandas.DataFrame
            Columns ``site``, ``measured`` (bool), ``start_time_years`` and
            ``stop_time_years`` [years], ``from_category`` and
            ``to_category`` (ordered categoricals, low to high), ``count``
            and ``row_total`` (int64, women) and ``fraction_of_row`` (0-1,
            NaN for an empty row). ``df.pivot(index="from_category",
            columns="to_category", values="count")`` gives back ``self["count"]``.
        """
        names = list(self["categories"])
        k = len(names)
        count = np.asarray(self["count"], dtype=np.int64)
        columns = {
            "site": [self.site] * (k * k),
            "measured": np.full(k * k, self.measured),
            "start_time_years": np.full(k * k, self.start_time),
            "stop_time_years": np.full(k * k, self.stop_time),
            "from_category": [a for a in names for _ in names],
            "to_category": names * k,
            "count": count.reshape(-1),
            "row_total": np.repeat(np.asarray(self["row_total"], dtype=np.int64), k),
            "fraction_of_row": np.asarray(self["fraction_of_row"], dtype=float).reshape(-1),
        }
        title = (
            f"Women moving between T-score categories at {self.site}, year {self.start_time:g} to "
            f"{self.stop_time:g}{' (as scans show)' if self.measured else ''}"
        )
        return tables.frame(columns, title, COHORT_UNITS, categories={"from_category": names, "to_category": names})


class CohortResult:
    """A simulated cohort: exact crossing times and summaries, computed chunk by chunk.

    Made by :func:`simulate_cohort`. Nothing per patient and time is stored;
    each query streams over the chunks. What a query has drawn or solved is
    kept for the next one, within two bounds (see Notes).

    Attributes
    ----------
    n, years, seed, chunk_size
        The inputs.
    regimen : Regimen
    population : Population
    variability : Variability
    params : ParameterSet
    reference : YoungAdultReference
    sites : tuple of str
        The simulated sites (those of the population).
    parameter_draws : tuple of ParameterSet
        Calibration draws simulated on the same patients (empty if none).
    measurement_error : dict of site -> float, or None
        DXA precision error per site (CV as a fraction) behind the
        ``measured=True`` outputs (see :mod:`bmdsim.measurement`); None: scans
        show the true value.
    executor : concurrent.futures.Executor or None
        Where :meth:`crossing_times` runs its chunks (see
        :func:`simulate_cohort`); not pickled (a copy computes where it is).

    Notes
    -----
    Every summary returns its documented dict, which also has
    ``.to_frame()``, a tidy :class:`pandas.DataFrame` of the same numbers
    (see :mod:`bmdsim.tables`); :meth:`to_frame` gives the per-patient
    crossing times.

    What a result keeps between queries (answers are the same to the last
    bit with or without it):

    * **Drawn patients.** Each whole chunk's patients (ages, T-scores, loss
      multipliers, baseline BMD and per-patient exposure times under the
      set's own parameters), drawn by the first query that needs them and
      reused by every later query and by every parameter draw: ``8 (1 + 3 s
      + 2 e)`` bytes per patient for ``s`` sites and ``e`` event-started
      exposures (80 bytes with three sites). Only the chunks that fit in the
      first :data:`KEPT_PATIENT_BYTES` (256 MiB, about 3.3 million patients
      with three sites) are kept; later chunks are drawn again by each query.
    * **Crossing times.** Every ``(site, threshold)`` asked for, and every
      parameter draw's, as read-only arrays of ``n`` floats, at most
      :data:`bmdsim.limits.MAX_ARRAY_BYTES` (1 GiB) of them in all: a new
      query for the set's own parameters drops the oldest; a draw's crossing
      times are kept only while there is room, and only within
      :data:`KEPT_DRAW_BYTES` (256 MiB) for all draws together.

    A result pickles (e.g. to send it to Dask workers, see
    :mod:`bmdsim.distributed`) as its inputs only: a few kilobytes, whatever
    ``n``; the copy draws and solves again when asked, with the same answers.
    """

    def __init__(
        self,
        n: int,
        regimen: Regimen,
        years: float,
        seed: int,
        chunk_size: int,
        population: Population,
        variability: Variability,
        params: ParameterSet,
        reference: YoungAdultReference,
        workers: int = 1,
        parameter_draws: tuple[ParameterSet, ...] = (),
        measurement_error: Mapping[str, float] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.measurement_error = None if measurement_error is None else dict(measurement_error)
        # where crossing_times runs its chunks (documented under Attributes); None: `workers` threads here
        self.executor = executor
        self.n, self.regimen, self.years, self.seed, self.chunk_size = n, regimen, years, seed, chunk_size
        self.population, self.variability, self.params, self.reference = population, variability, params, reference
        self.sites = population.sites
        self._t_root = _square_root(population._corr - np.outer(population._age_corr, population._age_corr))
        self._m_sigma = variability.sigma(self.sites)
        self._m_root = _square_root(_correlation_matrix("variability.correlation", self.sites, variability.correlation))
        self.workers = workers
        self.parameter_draws = tuple(parameter_draws)
        events = sum(1 for e in regimen if e.is_event)
        #: Patients whose chunks may be kept: a chunk is kept if it ends within the first ``_kept_rows`` patients.
        self._kept_rows = KEPT_PATIENT_BYTES // (8 * (1 + 3 * len(self.sites) + 2 * events))
        self._start_caches()

    def _start_caches(self) -> None:
        """Empty caches and per-thread state (also after unpickling)."""
        #: Kept crossing times, oldest first: ``(site, threshold)`` for the set's own parameters,
        #: ``(site, threshold, draw)`` for a parameter draw.
        self._crossings: dict[tuple, np.ndarray] = {}
        self._kept: dict[int, _CohortTrajectory] = {}  # chunk index -> its patients under the point parameters
        self._lock = threading.Lock()
        self._local = threading.local()
        self._models = {s: SiteModel(self.params, self.regimen, s, self.population.sex) for s in self.sites}
        self._draw_models: dict[int, dict[str, SiteModel]] = {}  # built once per draw, kept for its crossing tables
        self._token = uuid.uuid4().hex  # names this copy's inputs to executor workers (see _executor_chunk)

    def __getstate__(self) -> dict[str, Any]:
        """The inputs only: caches, models and per-thread state are made again where the result is unpickled."""
        transient = ("_crossings", "_kept", "_lock", "_local", "_models", "_draw_models", "_token", "executor")
        state = {k: v for k, v in self.__dict__.items() if k not in transient}
        ref = self.reference  # its read-only views do not pickle: rebuilt from plain dicts
        state["reference"] = (dict(ref.mean), dict(ref.sd), ref.name, dict(ref.sources))
        return state

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        """Restore the inputs (see :meth:`__getstate__`), with empty caches."""
        state = dict(state)
        mean, sd, name, sources = state.pop("reference")
        self.__dict__.update(state)
        self.reference = YoungAdultReference(mean=mean, sd=sd, name=name, sources=sources)
        self.executor = None  # a copy computes where it is
        self._start_caches()

    def __repr__(self) -> str:
        draws = f", {len(self.parameter_draws)} parameter draws" if self.parameter_draws else ""
        return (
            f"<CohortResult: {self.n} patients, sites {', '.join(self.sites)}, {self.years:g} years, "
            f"params {self.params.name!r}{draws}, population {self.population.name!r}, seed {self.seed}>"
        )

    def _repr_html_(self) -> str:
        """The cohort's settings (nothing is simulated to show them)."""
        error = "none (scans show the true value)" if self.measurement_error is None else self.measurement_error
        rows = [
            ("patients", self.n, "women"),
            ("sites", ", ".join(self.sites), ""),
            ("horizon", float(self.years), "years"),
            ("regimen", ", ".join(repr(e) for e in self.regimen) or "natural loss only", ""),
            ("parameter set", self.params.name, ""),
            ("parameter draws", len(self.parameter_draws), "calibration draws"),
            ("population", self.population.name, ""),
            ("between-patient CV of the loss", self.variability.cv, "coefficient of variation"),
            ("DXA precision error", error, "CV as a fraction"),
            ("seed", self.seed, ""),
            ("chunk size", self.chunk_size, "patients"),
        ]
        return tables.html(
            tables.key_values(rows, "cohort settings"),
            title=repr(self),
            notes=(
                "Tables: .to_frame() (crossing times per patient); every summary (fraction_below, "
                "crossing_percentiles, t_score_percentiles, category_shares, transitions) returns a dict with "
                ".to_frame().",
            ),
        )

    def _map(self, func: Any, serial: bool = False) -> None:
        """Apply ``func`` to every chunk, on ``workers`` threads (numpy releases the GIL in its loops)."""
        if serial or self.workers == 1 or len(self.chunks()) == 1:
            for span in self.chunks():
                func(span)
            return
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for _ in pool.map(func, self.chunks()):
                pass

    # -- drawing patients ---------------------------------------------------------------------------
    def chunks(self) -> list[tuple[int, int]]:
        """``(start, stop)`` patient ranges processed one at a time."""
        return [(a, min(a + self.chunk_size, self.n)) for a in range(0, self.n, self.chunk_size)]

    def _block(self, b: int) -> np.ndarray:
        cached = getattr(self._local, "block", None)  # one block per thread: a chunk's neighbour reuses it
        if cached is not None and cached[0] == b:
            return cached[1]
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(b,)))
        z = rng.standard_normal((BLOCK_PATIENTS, _COLUMNS))
        self._local.block = (b, z)
        return z

    def _normals(self, start: int, stop: int) -> np.ndarray:
        first, last = start // BLOCK_PATIENTS, (stop - 1) // BLOCK_PATIENTS
        if last == first:
            offset = first * BLOCK_PATIENTS
            return self._block(first)[start - offset : stop - offset]
        z = np.empty((stop - start, _COLUMNS))  # only the rows asked for, copied from each block
        for b in range(first, last + 1):
            lo, hi = max(start, b * BLOCK_PATIENTS), min(stop, (b + 1) * BLOCK_PATIENTS)
            z[lo - start : hi - start] = self._block(b)[lo - b * BLOCK_PATIENTS : hi - b * BLOCK_PATIENTS]
        return z

    def patients(self, start: int = 0, stop: int | None = None) -> tuple[Patient, dict[str, np.ndarray]]:
        """Patients ``start..stop-1`` and their loss multipliers per site.

        A pure function of the inputs and the indices: the same patient gets
        the same draws whatever the chunking.

        Returns
        -------
        patient : Patient
            Ages [years] and baseline T-scores [SD] per site, shape ``(stop - start,)``.
        multiplier : dict of site -> ndarray
            Each patient's factor on the log-loss (all 1 without variability).
        """
        stop = self.n if stop is None else stop
        start, stop = self._span("patients", start, stop)
        check_allocation(
            f"the random draws of {stop - start} patients x {_COLUMNS} columns (patients {start} to {stop})",
            (stop - start) * _COLUMNS,
            hint="ask for fewer patients at once",
        )
        z = self._normals(start, stop)
        k = len(SITES)
        pop = self.population
        age = pop.age.quantile(ndtr(z[:, 0]))
        cols = [1 + SITES.index(s) for s in self.sites]
        zt = _combine(z[:, cols], self._t_root) + z[:, :1] * pop._age_corr  # given age's latent normal (Population)
        t_score = {s: pop.t_score[s].quantile(ndtr(zt[:, j])) for j, s in enumerate(self.sites)}
        zm = _combine(z[:, [1 + k + SITES.index(s) for s in self.sites]], self._m_root)
        log_m = zm * self._m_sigma - 0.5 * self._m_sigma**2  # lognormal with mean 1
        multiplier = {s: np.exp(log_m[:, j]) for j, s in enumerate(self.sites)}
        return Patient(age=age, t_score=t_score, sex=pop.sex), multiplier

    def _span(self, what: str, start: object, stop: object) -> tuple[int, int]:
        """``start`` and ``stop`` as patient indices with ``0 <= start < stop <= n``, or a clear error."""
        return _patient_span(what, start, stop, self.n)

    def _kept_chunk(self, start: int, stop: int, keep: bool = True) -> _CohortTrajectory | None:
        """The kept trajectory of the chunk holding patients ``start..stop-1``, or None (not kept).

        With ``keep``, a request for a whole chunk within the first
        ``_kept_rows`` patients draws it and keeps it; part of a chunk is
        served only from a chunk kept already.
        """
        index = start // self.chunk_size
        first, last = index * self.chunk_size, min((index + 1) * self.chunk_size, self.n)
        if stop > last or last > self._kept_rows:
            return None
        kept = self._kept.get(index)
        if kept is None and keep and (start, stop) == (first, last):
            patient, multiplier = self.patients(start, stop)
            kept = self._kept.setdefault(index, self._trajectory(patient, multiplier))
        return kept

    def _trajectory(
        self, patient: Patient, multiplier: Mapping[str, np.ndarray], draw: int | None = None
    ) -> _CohortTrajectory:
        if draw is None:
            params, models = self.params, self._models
        else:
            params, models = self.parameter_draws[draw], self._draw_models[draw]
        return _CohortTrajectory(
            patient, multiplier, models, self.regimen, self.years, self.years, params, self.reference
        )

    def _chunk(self, start: int, stop: int, draw: int | None = None, keep: bool = True) -> _CohortTrajectory:
        """Patients ``start..stop-1`` as a trajectory, with the point parameters or those of ``draw``.

        Reuses the patients of a kept chunk (see the class notes), the same
        values to the last bit as drawing them again; ``keep=False`` keeps
        no new chunk.
        """
        kept = self._kept_chunk(start, stop, keep)
        if kept is None:
            patient, multiplier = self.patients(start, stop)
        elif draw is None and kept.patient.n == stop - start:
            return kept
        elif kept.patient.n == stop - start:
            patient, multiplier = kept.patient, kept.multiplier
        else:
            a, b = start % self.chunk_size, start % self.chunk_size + stop - start
            patient = Patient(
                age=kept.patient.age[a:b],
                t_score={s: v[a:b] for s, v in kept.patient.t_score.items()},
                sex=kept.patient.sex,
            )
            multiplier = {s: m[a:b] for s, m in kept.multiplier.items()}
        return self._trajectory(patient, multiplier, draw)

    def trajectory(self, start: int, stop: int) -> Trajectory:
        """Patients ``start..stop-1`` as a :class:`bmdsim.Trajectory` under the set's own parameters.

        For streaming a summary over the cohort batch by batch (see
        :func:`bmdsim.fracture.cohort_relative_risk`). Reuses the patients of a
        kept chunk (see the class notes) and keeps a whole chunk it draws.

        Parameters
        ----------
        start, stop : int
            Patient indices, ``0 <= start < stop <= n``.

        Returns
        -------
        Trajectory
            With each patient's loss multiplier applied; beyond the
            :class:`~bmdsim.Trajectory` methods it has ``scaled_bmd(site,
            times)`` and ``scaled_t_score(site, times)``, BMD [g/cm2] and
            T-score [SD] of every patient at ``times``, shape ``(stop - start,
            len(times))``.

        Raises
        ------
        TypeError, ValueError
            If ``start`` or ``stop`` is not an integer index in range.
        """
        start, stop = self._span("trajectory", start, stop)
        return self._chunk(start, stop)

    # -- parameter draws -------------------------------------------------------------------------------
    def _need_draws(self, what: str) -> None:
        if not self.parameter_draws:
            raise ValueError(
                f"{what} needs parameter draws, and this cohort has none: simulate it with "
                "simulate_cohort(..., parameter_draws=K) (K >= 1 calibration draws of a shipped set)"
            )

    def draw_crossing_time(self, draw: int, site: str, threshold: float) -> np.ndarray:
        """Crossing times [years] of every patient, shape ``(n,)``, under parameter draw ``draw``.

        The same patients as :meth:`crossing_time` (drawn once, see the class
        notes), simulated with ``parameter_draws[draw]``; computed chunk by
        chunk and kept while there is room. A read-only array.
        """
        return self._draw_crossing_time(draw, site, threshold)

    def _draw_crossing_time(self, draw: int, site: str, threshold: float, serial: bool = False) -> np.ndarray:
        """:meth:`draw_crossing_time`; ``serial``: this draw's chunks on the calling thread only."""
        self._need_draws("draw_crossing_time")
        if isinstance(draw, (bool, np.bool_)) or not isinstance(draw, (int, np.integer)):
            raise TypeError(f"draw must be an integer index of parameter_draws, got {draw!r}")
        if not 0 <= draw < len(self.parameter_draws):
            raise ValueError(f"draw must be in [0, {len(self.parameter_draws) - 1}], got {draw}")
        site = self._site(site)
        threshold = as_finite_float("threshold", threshold)
        draw = int(draw)
        key = (site, threshold, draw)
        with self._lock:
            kept = self._crossings.get(key)
        if kept is not None:
            return kept
        models = self._draw_models.get(draw)
        if models is None:  # built here, before the threads start
            models = {
                s: SiteModel(self.parameter_draws[draw], self.regimen, s, self.population.sex) for s in self.sites
            }
            self._draw_models[draw] = models
        out = np.empty(self.n)

        def run(span: tuple[int, int]) -> None:
            start, stop = span
            out[start:stop] = self._chunk(start, stop, draw).crossing_time(site, threshold)

        self._map(run, serial)
        if any(m.natural.grouped for m in models.values()) and self._draw_models.get(draw) is models:
            # Natural loss smooth in age keeps one crossing table per year of age and site on each model
            # (tens of MB); a draw's tables are not kept past its pass, so K draws never hold K sets of them.
            del self._draw_models[draw]
        self._keep({key: out}, evict=False)
        return out

    def _over_draws(self, site: str, threshold: float, reduce: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``reduce(crossing times of draw k)`` for every draw, stacked: shape ``(K, ...)``.

        With an :attr:`executor`, each draw is one task: a worker simulates
        the draw on its copy of the inputs and sends back only the reduced
        values, so ``reduce`` must be picklable (the ``_Draw*`` classes
        of this module). Otherwise, with
        several workers, draws run side by side (each draw's chunks on one
        thread), at most ``workers`` draws' crossing times in memory.
        """
        draws = range(len(self.parameter_draws))
        if self.executor is not None:
            return self._map_draws_executor(site, threshold, reduce)
        if self.workers == 1 or len(draws) == 1:
            return np.stack([reduce(self._draw_crossing_time(k, site, threshold)) for k in draws])
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return np.stack(list(pool.map(lambda k: reduce(self._draw_crossing_time(k, site, threshold, True)), draws)))

    def _map_draws_executor(
        self, site: str, threshold: float, reduce: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """:meth:`_over_draws` on :attr:`executor`: one task per draw, answers in draw order."""
        futures = []
        try:
            for k in range(len(self.parameter_draws)):
                futures.append(self.executor.submit(_executor_draw, self._token, self, k, site, threshold, reduce))
            return np.stack([task.result() for task in futures])
        finally:
            for task in futures:  # a task failed: the others are not needed
                task.cancel()

    def _keep(self, found: Mapping[tuple, np.ndarray], wanted: Sequence[tuple] = (), evict: bool = True) -> None:
        """Keep crossing times for later queries: at most ``limits.MAX_ARRAY_BYTES`` of them in all.

        Each array is made read-only. With ``evict``, the oldest kept arrays
        (other than ``wanted``) are dropped to make room for ``found``;
        without (a parameter draw's), an array is kept only if there is room
        left, and draws' arrays only within :data:`KEPT_DRAW_BYTES`.
        """
        for arr in found.values():
            arr.flags.writeable = False
        cap = limits.MAX_ARRAY_BYTES // (8 * self.n)
        with self._lock:
            if evict:
                room = max(0, cap - len(set(wanted) | set(found)))
                others = [k for k in self._crossings if k not in wanted and k not in found]
                for key in others[: max(0, len(others) - room)]:
                    del self._crossings[key]
                self._crossings.update(found)
            else:
                draws = sum(1 for k in self._crossings if len(k) == 3)
                for key, arr in found.items():
                    if len(self._crossings) < cap and draws < KEPT_DRAW_BYTES // (8 * self.n):
                        self._crossings[key] = arr
                        draws += 1

    @staticmethod
    def _interval(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:data:`PARAMETER_INTERVAL` percentiles across draws (axis 0), as order statistics (``inverted_cdf``)."""
        low, high = np.percentile(values, PARAMETER_INTERVAL, axis=0, method="inverted_cdf")
        return low, high

    # -- crossing times ------------------------------------------------------------------------------
    def _site(self, site: object) -> str:
        check_site(site)
        if site not in self.sites:
            raise ValueError(f"site {site!r} was not simulated: the population has {', '.join(self.sites)}")
        return site

    def check_site(self, site: object) -> str:
        """Return ``site`` if it is one of the simulated :attr:`sites`.

        Parameters
        ----------
        site : str

        Returns
        -------
        str
            ``site``.

        Raises
        ------
        TypeError, ValueError
            If ``site`` is not a site name, or names a site that was not simulated.
        """
        return self._site(site)

    def chunk_crossing_times(
        self,
        start: int,
        stop: int,
        thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
        sites: Iterable[str] | None = None,
    ) -> dict[tuple[str, float], np.ndarray]:
        """Exact crossing times [years] of patients ``start..stop-1``: ``{(site, threshold): array}``.

        The unit of work a distributed engine maps over :meth:`chunks` (see
        :func:`bmdsim.distributed.crossing_times_dask`); the pieces, in chunk
        order, are :meth:`crossing_times` to the last bit. Neither these
        answers nor the chunk's patients are kept (a chunk kept already is
        reused).
        """
        sites, thresholds = self._sites_thresholds(sites, thresholds)
        start, stop = self._span("chunk_crossing_times", start, stop)
        traj = self._chunk(start, stop, keep=False)  # a task's copy on a worker is used once
        return {(s, t): v for s in sites for t, v in zip(thresholds, traj.crossing_times(s, thresholds), strict=True)}

    def pairs(
        self, thresholds: Iterable[float] = DEFAULT_THRESHOLDS, sites: Iterable[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``(site, threshold)`` keys of :meth:`crossing_times` for these arguments, checked, in its order.

        Parameters
        ----------
        thresholds : float or sequence of float
            T-score thresholds [SD] (at most :data:`MAX_THRESHOLDS`; repeats are dropped).
        sites : str or sequence of str, optional
            Simulated sites; every one if None.

        Returns
        -------
        list of (str, float)
            One ``(site, threshold)`` per pair, sites outermost.

        Raises
        ------
        ValueError, TypeError
            As :meth:`crossing_times`, for unknown sites or bad thresholds.
        """
        sites, thresholds = self._sites_thresholds(sites, thresholds)
        return [(s, t) for s in sites for t in thresholds]

    def _sites_thresholds(self, sites: object, thresholds: object) -> tuple[tuple[str, ...], tuple[float, ...]]:
        """Checked sites (default: every simulated one) and thresholds [SD], at most MAX_THRESHOLDS of each."""
        sites = self.sites if sites is None else tuple(self._site(s) for s in _few("sites", sites, MAX_THRESHOLDS))
        thresholds = tuple(
            as_finite_float(f"thresholds[{i}]", t) for i, t in enumerate(_few("thresholds", thresholds, MAX_THRESHOLDS))
        )
        return tuple(dict.fromkeys(sites)), tuple(dict.fromkeys(thresholds))

    def crossing_times(
        self, thresholds: Iterable[float] = DEFAULT_THRESHOLDS, sites: Iterable[str] | None = None
    ) -> dict[tuple[str, float], np.ndarray]:
        """Exact crossing times [years] of every patient: ``{(site, threshold): (n,) array}``.

        One pass over the chunks for the sites and thresholds not asked for
        before; the arrays are read-only and kept for later queries (see the
        class notes).
        """
        wanted = self.pairs(thresholds, sites)
        with self._lock:
            found = {key: self._crossings.pop(key) for key in wanted if key in self._crossings}
            self._crossings.update(found)  # now the most recently used
        todo = [key for key in wanted if key not in found]
        if todo:
            check_allocation(
                f"crossing times of n = {self.n} patients x {len(wanted)} (site, threshold) pairs",
                self.n * len(wanted),
                hint="ask for fewer sites and thresholds at once",
            )
            out = {key: np.empty(self.n) for key in todo}
            if self.executor is not None:
                self._map_executor(todo, out)
            else:

                def run(span: tuple[int, int]) -> None:
                    start, stop = span
                    traj = self._chunk(start, stop)
                    for s in dict.fromkeys(s for s, _ in todo):  # each site's thresholds in one pass
                        thresholds = [t for s2, t in todo if s2 == s]
                        for t, times in zip(thresholds, traj.crossing_times(s, thresholds), strict=True):
                            out[s, t][start:stop] = times

                self._map(run)
            self._keep(out, wanted)  # earlier results stay while all fit in one array's worth (oldest dropped)
            found |= out
        return {key: found[key] for key in wanted}

    def _map_executor(self, todo: Sequence[tuple[str, float]], out: Mapping[tuple[str, float], np.ndarray]) -> None:
        """Fill ``out`` with the crossing times of ``todo`` pairs, one task per chunk on :attr:`executor`.

        Each task gets this result (pickled as its inputs, a few kilobytes),
        a token naming it and a patient range; a worker process keeps the
        last results it saw by token (:func:`_executor_chunk`), so its
        crossing tables are built once per result, not once per task.
        Pieces are copied into ``out`` as they arrive.
        """
        from concurrent.futures import as_completed

        sites = tuple(dict.fromkeys(s for s, _ in todo))
        thresholds = tuple(dict.fromkeys(t for _, t in todo))
        futures = {}
        try:
            for start, stop in self.chunks():
                task = self.executor.submit(_executor_chunk, self._token, self, start, stop, thresholds, sites)
                futures[task] = (start, stop)
            for task in as_completed(futures):
                start, stop = futures.pop(task)
                piece = task.result()
                for key in todo:
                    out[key][start:stop] = piece[key]
        finally:
            for task in futures:  # a task failed: the others are not needed
                task.cancel()

    def crossing_time(self, site: str, threshold: float) -> np.ndarray:
        """First time [years] each patient's T-score is at or below ``threshold``, shape ``(n,)``.

        ``0.0`` if at or below at baseline, ``inf`` if not reached within the
        horizon; exact to 1e-10 years (:mod:`bmdsim.crossing`). A read-only
        array, kept for later queries (see the class notes).

        The first call at a site also solves the WHO thresholds
        (:data:`bmdsim.DEFAULT_THRESHOLDS`) there: one pass answers every
        threshold of a site for little more than one, so single calls for the
        usual thresholds cost what one :meth:`crossing_times` call for all of
        them does. The answers are the same to the last bit either way.
        """
        site = self._site(site)
        threshold = as_finite_float("threshold", threshold)
        with self._lock:
            known = any(key[0] == site for key in self._crossings)
        thresholds = (threshold,) if known else tuple(dict.fromkeys((threshold, *DEFAULT_THRESHOLDS)))
        return self.crossing_times(thresholds, (site,))[site, threshold]

    def to_frame(
        self, thresholds: Iterable[float] = DEFAULT_THRESHOLDS, sites: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """Exact crossing times of every patient as a tidy table: one row per patient, site and threshold.

        Parameters
        ----------
        thresholds : float or sequence of float
            T-score thresholds [SD] (at most :data:`MAX_THRESHOLDS`).
        sites : str or sequence of str, optional
            Simulated sites; every one if None.

        Returns
        -------
        pandas.DataFrame
            Columns ``patient`` (int64), ``site``, ``threshold_t_score_sd``
            [SD] and ``crossing_time_years`` [years; 0 at or below at
            baseline, inf not within the horizon], equal to
            :meth:`crossing_times`; rows ordered by patient, site and
            threshold. ``n x sites x thresholds`` rows: for millions of
            patients prefer the summaries, whose ``.to_frame()`` is small.

        Raises
        ------
        ValueError
            Unknown sites, bad thresholds, or a table beyond
            :data:`bmdsim.limits.MAX_ARRAY_BYTES` per column.
        """
        sites, thresholds = self._sites_thresholds(sites, thresholds)
        pairs = [(s, t) for s in sites for t in thresholds]
        check_allocation(
            f"CohortResult.to_frame: a table of n = {self.n} patients x {len(pairs)} (site, threshold) pairs",
            float(self.n) * len(pairs),
            hint="ask for fewer sites and thresholds, or use the summaries (fraction_below, crossing_percentiles)",
        )
        times = self.crossing_times(thresholds, sites)
        columns = {
            "patient": np.repeat(np.arange(self.n, dtype=np.int64), len(pairs)),
            "site": np.tile(np.array([s for s, _ in pairs], dtype=object), self.n),
            "threshold_t_score_sd": np.tile(np.array([t for _, t in pairs], dtype=float), self.n),
            "crossing_time_years": np.stack([times[key] for key in pairs], axis=1).reshape(-1),
        }
        return tables.frame(columns, "First crossing times of every patient (one row per patient, site and threshold)")

    def _times(self, times: object, name: str = "times") -> np.ndarray:
        """``times`` as a 1-D float array of 1 to :data:`MAX_TIMES` times [years] in ``[0, years]``."""
        if np.size(times) > MAX_TIMES:
            raise ValueError(f"{name} must hold at most {MAX_TIMES} times, got {np.size(times)}")
        tt = np.atleast_1d(as_float_array(name, times))
        check_range(name, tt, 0.0, self.years, unit="years")
        return tt

    def check_times(self, times: object, name: str = "times") -> np.ndarray:
        """Return ``times`` as a 1-D float array of times [years] within the horizon.

        Parameters
        ----------
        times : float or sequence of float
            1 to :data:`MAX_TIMES` times [years] in ``[0, years]``.
        name : str
            The argument's name, for the messages.

        Returns
        -------
        ndarray
            Shape ``(len(times),)`` (a scalar gives one time).

        Raises
        ------
        TypeError, ValueError
            Naming ``name``: not numbers, NaN, outside ``[0, years]``, or too many.
        """
        return self._times(times, name)

    def fraction_below(self, site: str, threshold: float, times: object) -> FractionBelow:
        """Cumulative incidence: the fraction of the cohort that has crossed ``threshold`` by each time.

        Parameters
        ----------
        site : str
        threshold : float
            T-score threshold [SD].
        times : float or 1-D array
            Times [years] in ``[0, years]``.

        Returns
        -------
        dict
            ``time`` [years], ``fraction`` in [0, 1], and ``low`` / ``high``, the
            95 % Wilson interval of a binomial fraction among ``n`` patients.
            With parameter draws also ``param_low`` / ``param_high``, the
            :data:`PARAMETER_INTERVAL` percentiles of the fraction across draws
            (order statistics), and ``draws``, each draw's fraction, shape
            ``(K, len(times))``. Its ``.to_frame()`` gives one row per time
            (:meth:`FractionBelow.to_frame`).

        Notes
        -----
        A patient counts from her first crossing on, also if her T-score later
        recovers above the threshold (as :func:`bmdsim.summary.fraction_crossed`).
        ``fraction``, ``low`` and ``high`` use the cohort's own parameter set;
        the Wilson band is sampling uncertainty of the synthetic cohort only.
        The parameter interval is uncertainty from the calibration (every draw
        on the same patients); it does not include the sampling band, the
        model's structure or its fixed values. It costs one pass over the
        cohort per draw the first time (on the patients already drawn); a
        later call at the same site and threshold reuses the draws' kept
        crossing times (see :class:`CohortResult`).
        """
        tt = self._times(times)
        ordered = np.sort(self.crossing_time(site, threshold))
        fraction = np.searchsorted(ordered, tt, side="right") / self.n
        low, high = wilson_interval(fraction, self.n)
        out = {"time": tt, "fraction": fraction, "low": low, "high": high}
        if self.parameter_draws:
            curves = self._over_draws(site, threshold, _DrawFractions(tt))
            out["param_low"], out["param_high"] = self._interval(curves)
            out["draws"] = curves
        return FractionBelow(out, site, threshold)

    def crossing_percentiles(
        self, site: str, threshold: float, q: Sequence[float] = DEFAULT_PERCENTILES
    ) -> CrossingPercentiles:
        """Percentiles of time to crossing [years]: ``{q: time}``.

        The ``q``-th percentile is the earliest time by which at least ``q`` %
        of the cohort have crossed (an order statistic, ``method="inverted_cdf"``,
        consistent with :meth:`fraction_below`); ``inf`` if fewer than ``q`` %
        cross within the horizon. The dict's ``.to_frame()`` gives one row per
        percentile (:meth:`CrossingPercentiles.to_frame`).
        """
        qq = self._q(q)
        site = self._site(site)
        threshold = as_finite_float("threshold", threshold)
        values = np.percentile(self.crossing_time(site, threshold), qq, method="inverted_cdf")
        return CrossingPercentiles({float(a): float(v) for a, v in zip(qq, values, strict=True)}, site, threshold)

    def crossing_percentile_interval(
        self, site: str, threshold: float, q: Sequence[float] = (50.0,)
    ) -> CrossingPercentileInterval:
        """Percentiles of time to crossing [years] with their interval across parameter draws.

        Parameters
        ----------
        site : str
        threshold : float
            T-score threshold [SD].
        q : sequence of float
            Percentiles in [0, 100] (default: the median).

        Returns
        -------
        dict
            ``q``; ``time``, the percentiles with the cohort's own parameters
            (as :meth:`crossing_percentiles`); ``param_low`` / ``param_high``,
            the :data:`PARAMETER_INTERVAL` percentiles of each across draws;
            ``draws``, shape ``(K, len(q))``. ``inf`` where fewer than ``q`` %
            cross within the horizon. Its ``.to_frame()`` gives one row per
            percentile (:meth:`CrossingPercentileInterval.to_frame`).

        Raises
        ------
        ValueError
            If the cohort was simulated without parameter draws.
        """
        self._need_draws("crossing_percentile_interval")
        site = self._site(site)
        threshold = as_finite_float("threshold", threshold)
        qq = self._q(q)
        point = np.percentile(self.crossing_time(site, threshold), qq, method="inverted_cdf")
        per_draw = self._over_draws(site, threshold, _DrawPercentiles(qq))
        low, high = self._interval(per_draw)
        out = {"q": qq, "time": point, "param_low": low, "param_high": high, "draws": per_draw}
        return CrossingPercentileInterval(out, site, threshold)

    @staticmethod
    def _q(q: Sequence[float]) -> np.ndarray:
        """``q`` as a 1-D array of 1 to :data:`MAX_TIMES` percentiles in ``[0, 100]``."""
        if np.size(q) > MAX_TIMES:
            raise ValueError(f"q must hold at most {MAX_TIMES} percentiles, got {np.size(q)}")
        qq = np.atleast_1d(as_float_array("q", q))
        outside = (qq < 0.0) | (qq > 100.0)
        if outside.any():
            raise ValueError(f"q must be percentiles in [0, 100], got {qq[outside][0]:g}")
        return qq

    @staticmethod
    def check_percentiles(q: object) -> np.ndarray:
        """Return ``q`` as a 1-D float array of percentiles.

        Parameters
        ----------
        q : float or sequence of float
            1 to :data:`MAX_TIMES` percentiles in ``[0, 100]``.

        Returns
        -------
        ndarray
            Shape ``(len(q),)`` (a scalar gives one percentile).

        Raises
        ------
        TypeError, ValueError
            Naming ``q``: not numbers, NaN, outside ``[0, 100]``, or too many.
        """
        return CohortResult._q(q)

    def _t_score_block(self, site: str, tt: np.ndarray, start: int, stop: int, measured: bool) -> np.ndarray:
        """T-scores [SD] of patients ``start..stop-1`` at ``tt``, true or as scans show them (site may be LOWEST)."""
        traj = self._chunk(start, stop)
        sites = self.sites if site == LOWEST else (site,)
        out = None
        for s in sites:
            bmd = traj.scaled_bmd(s, tt)
            if measured:
                bmd = measured_bmd(bmd, self._precision(s), self.seed, s, tt, start, stop)
            t = self.reference.t_score(s, bmd)
            out = t if out is None else np.minimum(out, t)
        return out

    def _precision(self, site: str) -> float:
        return 0.0 if self.measurement_error is None else self.measurement_error[site]

    def _score_site(self, site: object) -> str:
        return LOWEST if isinstance(site, str) and site == LOWEST else self._site(site)

    def t_scores(
        self, site: str, times: object, start: int = 0, stop: int | None = None, measured: bool = False
    ) -> np.ndarray:
        """T-scores [SD] of patients ``start..stop-1`` at ``times``, shape ``(stop - start, len(times))``.

        Parameters
        ----------
        site : str
            A simulated site, or ``"lowest"`` for each woman's lowest T-score
            across the simulated sites (how trials classify women).
        times : float or 1-D array
            Times [years] in ``[0, years]``.
        start, stop : int
            Patient range (default: every patient). At most
            :data:`MAX_T_SCORE_CELLS` values are returned at once.
        measured : bool
            False (default): the true T-scores. True: what a DXA scan at each
            time shows, with the cohort's ``measurement_error`` (seeded by the
            cohort's seed; see :mod:`bmdsim.measurement`).
        """
        site = self._score_site(site)
        tt = self._times(times)
        measured = _as_bool("measured", measured)
        stop = self.n if stop is None else stop
        start, stop = self._span("t_scores", start, stop)
        if (stop - start) * tt.size > MAX_T_SCORE_CELLS:
            raise ValueError(
                f"t_scores: {stop - start} patients x {tt.size} times is more than {MAX_T_SCORE_CELLS} values; "
                "ask for fewer patients (start, stop) or use t_score_percentiles / category_shares, which stream"
            )
        return self._t_score_block(site, tt, start, stop, measured)

    def _stream_t_scores(self, site: str, tt: np.ndarray, measured: bool) -> Iterable[np.ndarray]:
        """T-scores of every patient at ``tt``, batch by batch (bounded memory)."""
        step = max(1, _CELLS_PER_BATCH // tt.size)
        for start, stop in self.chunks():
            for a in range(start, stop, step):
                yield self._t_score_block(site, tt, a, min(a + step, stop), measured)

    def t_score_percentiles(
        self, site: str, times: object, q: Sequence[float] = DEFAULT_PERCENTILES, measured: bool = False
    ) -> TScorePercentiles:
        """Percentiles of T-score [SD] across the cohort at each time, streamed by chunk.

        Parameters
        ----------
        site : str
            A simulated site, or ``"lowest"`` (each woman's lowest site).
        times : float or 1-D array
            Times [years] in ``[0, years]``.
        q : sequence of float
            Percentiles in [0, 100].
        measured : bool
            True: percentiles of what DXA scans show (see :meth:`t_scores`).

        Returns
        -------
        dict
            ``time`` [years], ``q`` and ``t_score``, shape ``(len(q), len(times))``.
            Its ``.to_frame()`` gives one row per time and percentile
            (:meth:`TScorePercentiles.to_frame`).

        Notes
        -----
        Exact percentiles of chunks cannot be merged, so each chunk adds its
        T-scores to a histogram with bins of :data:`T_SCORE_BIN` SD on
        :data:`T_SCORE_GRID`; a percentile is read from the cumulative counts,
        linear within its bin. The result is within one bin width (0.001 SD)
        of an order statistic of the exact T-scores. Memory is bounded by the
        histogram and a batch of patients x times, never ``n x len(times)``.
        """
        site = self._score_site(site)
        tt = self._times(times)
        qq = self._q(q)
        measured = _as_bool("measured", measured)
        lo, hi = T_SCORE_GRID
        bins = int(round((hi - lo) / T_SCORE_BIN))
        check_allocation(
            f"T-score histograms of {tt.size} times x {bins} bins", tt.size * bins, hint="ask for fewer times at once"
        )
        counts = np.zeros((tt.size, bins), dtype=np.int64)
        offsets = (np.arange(tt.size) * bins)[None, :]
        for t in self._stream_t_scores(site, tt, measured):
            idx = np.clip(((t - lo) / T_SCORE_BIN).astype(np.int64), 0, bins - 1)
            counts += np.bincount((idx + offsets).ravel(), minlength=tt.size * bins).reshape(tt.size, bins)
        out = {"time": tt, "q": qq, "t_score": histogram_percentiles(counts, qq, self.n, lo, T_SCORE_BIN)}
        return TScorePercentiles(out, site, measured)

    def category_shares(
        self, times: object, site: str = LOWEST, measured: bool = False, cuts: Sequence[float] = WHO_CUTS
    ) -> CategoryShares:
        """Share of the cohort in each T-score category at each time (prevalence, not cumulative).

        Parameters
        ----------
        times : float or 1-D array
            Times [years] in ``[0, years]``.
        site : str
            A simulated site, or ``"lowest"`` (default: each woman's lowest T-score, as the WHO
            category of a woman is usually given).
        measured : bool
            True: categories of what DXA scans show (see :meth:`t_scores`).
        cuts : sequence of float
            Increasing T-score cut points [SD]; default the WHO cuts (-2.5, -1.0).

        Returns
        -------
        dict
            ``time``; ``categories``, names from low to high (see :func:`category_names`);
            ``fraction``, shape ``(len(categories), len(times))``, columns summing to 1.
            Its ``.to_frame()`` gives one row per time and category
            (:meth:`CategoryShares.to_frame`).

        Notes
        -----
        A T-score at or below a cut is in the category below it (the crossing
        convention: -2.5 is osteoporosis); a T-score of exactly -1.0 therefore
        counts as osteopenia, a set of measure zero for continuous T-scores.
        """
        site = self._score_site(site)
        tt = self._times(times)
        cc = _check_cuts(cuts)
        measured = _as_bool("measured", measured)
        counts = np.zeros((cc.size + 1, tt.size), dtype=np.int64)
        for t in self._stream_t_scores(site, tt, measured):
            cat = np.searchsorted(cc, t, side="left")
            for j in range(tt.size):  # a loop over output times, not patients
                counts[:, j] += np.bincount(cat[:, j], minlength=cc.size + 1)
        out = {"time": tt, "categories": category_names(cc), "fraction": counts / self.n}
        return CategoryShares(out, site, measured)

    def transitions(
        self,
        start_time: float,
        stop_time: float,
        site: str = LOWEST,
        measured: bool = False,
        cuts: Sequence[float] = WHO_CUTS,
    ) -> Transitions:
        """Women moving between T-score categories from ``start_time`` to ``stop_time`` [years].

        Parameters
        ----------
        start_time, stop_time : float
            Times [years] in ``[0, years]``, ``start_time < stop_time``.
        site : str
            A simulated site or ``"lowest"`` (default).
        measured : bool
            True: categories of what DXA scans show at both times (each scan
            with its own error), like for like with a trial's reported shifts.
        cuts : sequence of float
            Increasing T-score cut points [SD]; default the WHO cuts (-2.5, -1.0).

        Returns
        -------
        dict
            ``categories`` (low to high); ``count``, ``(k, k)`` integers, row =
            category at ``start_time``, column = category at ``stop_time``;
            ``fraction_of_row``, the share of each row's women in each column
            (NaN for an empty row); ``row_total``. Its ``.to_frame()`` gives
            one row per pair of categories (:meth:`Transitions.to_frame`).
        """
        site = self._score_site(site)
        tt = np.concatenate(
            (
                self._times(start_time, "transition times: start_time"),
                self._times(stop_time, "transition times: stop_time"),
            )
        )
        if tt.size != 2:
            raise ValueError(f"transitions: start_time and stop_time must be single times [years], got {tt.size} times")
        if not tt[0] < tt[1]:
            raise ValueError(f"transitions: start_time must be before stop_time, got {tt[0]:g} and {tt[1]:g}")
        cc = _check_cuts(cuts)
        measured = _as_bool("measured", measured)
        k = cc.size + 1
        count = np.zeros(k * k, dtype=np.int64)
        for t in self._stream_t_scores(site, tt, measured):
            cat = np.searchsorted(cc, t, side="left")
            count += np.bincount(cat[:, 0] * k + cat[:, 1], minlength=k * k)
        count = count.reshape(k, k)
        total = count.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total[:, None] > 0, count / np.maximum(total, 1)[:, None], np.nan)
        out = {"categories": category_names(cc), "count": count, "fraction_of_row": share, "row_total": total}
        return Transitions(out, site, measured, float(tt[0]), float(tt[1]))


def category_names(cuts: Sequence[float]) -> tuple[str, ...]:
    """Names of the categories that ``cuts`` make, low to high: the WHO names for the WHO cuts.

    Parameters
    ----------
    cuts : sequence of float
        1 to :data:`MAX_CUTS` strictly increasing T-scores [SD].
    """
    cc = tuple(float(c) for c in _check_cuts(cuts))
    if cc == WHO_CUTS:
        return WHO_CATEGORIES
    names = [f"T <= {cc[0]:g}"]
    names += [f"{a:g} < T <= {b:g}" for a, b in zip(cc[:-1], cc[1:], strict=True)]
    return (*names, f"T > {cc[-1]:g}")


def _check_cuts(cuts: object) -> np.ndarray:
    if isinstance(cuts, (str, bytes)) or not isinstance(cuts, Sequence | np.ndarray):
        raise TypeError(f"cuts must be a sequence of T-scores [SD], got {type(cuts).__name__}")
    if np.ndim(cuts) != 1 or not 1 <= len(cuts) <= MAX_CUTS:
        raise ValueError(f"cuts must be 1 to {MAX_CUTS} strictly increasing T-scores [SD], got {len(cuts)} values")
    values = [as_finite_float(f"cuts[{i}]", c) for i, c in enumerate(cuts)]
    cc = np.asarray(values, dtype=float)
    if cc.size == 0 or cc.size > MAX_CUTS or np.any(np.diff(cc) <= 0):
        raise ValueError(f"cuts must be 1 to {MAX_CUTS} strictly increasing T-scores [SD], got {list(cuts)!r}")
    return cc


def _as_bool(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def histogram_percentiles(counts: np.ndarray, qq: np.ndarray, n: int, low: float, width: float) -> np.ndarray:
    """Percentiles ``qq`` read from histograms ``counts`` (times x bins), linear within a bin: shape (q, times).

    The ``q``-th percentile is where the cumulative count reaches ``q / 100 * n``
    (at least half a count, so ``q = 0`` is the minimum). Bins start at ``low``
    and are ``width`` wide; the result is within one bin of an order statistic.
    """
    bins = counts.shape[1]
    cum = np.cumsum(counts, axis=1)
    rank = np.clip(qq / 100.0 * n, 0.5, n)
    out = np.empty((qq.size, counts.shape[0]))
    for j in range(counts.shape[0]):  # a loop over output times, not patients
        k = np.minimum(np.searchsorted(cum[j], rank, side="left"), bins - 1)
        below = np.where(k > 0, cum[j, np.maximum(k - 1, 0)], 0)
        inside = np.maximum(counts[j, k], 1)
        out[:, j] = low + width * (k + np.clip((rank - below) / inside, 0.0, 1.0))
    return out


def simulate_cohort(
    n: int,
    regimen: Regimen,
    years: float,
    seed: int,
    chunk_size: int = 100_000,
    population: Population | None = None,
    variability: Variability | None = None,
    params: str | ParameterSet | None = DEFAULT_PARAMETER_SET,
    reference: YoungAdultReference | None = None,
    workers: int | None = None,
    parameter_draws: int | Sequence[ParameterSet] = 0,
    measurement_error: Mapping[str, float] | str | None = SHIPPED_PRECISION,
    executor: Executor | None = None,
) -> CohortResult:
    """Simulate a seeded cohort of ``n`` women on ``regimen``.

    Parameters
    ----------
    n : int
        Number of patients, a positive integer; at most 134,217,728 (their
        crossing times at one site and threshold fill the 1 GiB per-array
        limit, :data:`bmdsim.limits.MAX_ARRAY_BYTES`).
    regimen : Regimen
        Exposures, the same for every patient (event starts such as
        :class:`bmdsim.AtThreshold` resolve per patient).
    years : float
        Horizon [years], in ``(0, 60]``.
    seed : int
        Seed of the random draws, an integer in ``[0, 2**64 - 1]``.
    chunk_size : int
        Patients processed at once (bounds memory; results do not depend on
        it), a positive integer: at most 19,173,961 (its random draws fill
        the per-array limit) and at least ``n / MAX_CHUNKS`` (100,000 chunks).
    population : Population, optional
        Who starts the regimen; :func:`default_population` if None.
    variability : Variability, optional
        Between-patient variability of the loss; if None, the default
        estimated from published spreads (:func:`bmdsim.spread.default_variability`).
        ``Variability()`` gives every woman the mean loss.
    params : str or ParameterSet
        Parameter set name or set (default :data:`bmdsim.parameters.DEFAULT_PARAMETER_SET`, ``"trials"``).
        It, and each of ``parameter_draws``, must hold the parameters of
        every agent the regimen uses (:meth:`bmdsim.ParameterSet.require_agents`).
    reference : YoungAdultReference, optional
        Young-adult reference for T-scores; the shipped default if None.
    workers : int, optional
        Threads working on chunks at once, 1 to :data:`MAX_WORKERS`;
        ``min(2, os.cpu_count())`` if None. Results do not depend on it.
    parameter_draws : int or sequence of ParameterSet
        Parameter uncertainty: the number of calibration draws of ``params``
        to simulate on the same patients (``0``, the default, for none; at
        most the 100 shipped; ``params`` must be an unmodified shipped set,
        see :func:`bmdsim.parameter_draws`), or the draws themselves (e.g. a
        modified set's: ``[d.with_values({...}) for d in
        bmdsim.parameter_draws("consensus")]``). A query at a new site or
        threshold then costs one pass over the cohort per draw; the patients
        are drawn once.
    measurement_error : "shipped", mapping of site -> float, or None
        DXA precision error behind the ``measured=True`` outputs
        (:meth:`CohortResult.t_scores`, :meth:`~CohortResult.category_shares`,
        :meth:`~CohortResult.transitions`, :meth:`~CohortResult.t_score_percentiles`):
        ``"shipped"`` (default) for :func:`bmdsim.measurement.dxa_precision`,
        a CV per simulated site as a fraction (range 0-0.1), or None (scans
        show the true value). True trajectories and crossing times never
        depend on it.
    executor : concurrent.futures.Executor, optional
        Where :meth:`CohortResult.crossing_times` (and every query built on
        it) runs its chunks, one task per chunk: a ``ProcessPoolExecutor``,
        a Dask cluster's ``distributed.Client(...).get_executor()``, or any
        other ``Executor``. Tasks get plain, picklable inputs only (the
        result pickles as its inputs, a few kilobytes whatever ``n``, see
        :mod:`bmdsim.distributed`); answers are the same to the last bit as
        a local run. The caller owns the executor (it is not shut down
        here). None (default): chunks run on ``workers`` threads in this
        process. Parameter draws and the other summaries still run here.

    Returns
    -------
    CohortResult
        Lazy: crossing times and summaries are computed when asked for.

    Warns
    -----
    ExtrapolationWarning
        If a bone-protective therapy runs longer than in its calibrating trials.

    Notes
    -----
    The same seed gives the same patients and answers for any ``chunk_size``
    (see the module notes). Calibrated range as :func:`bmdsim.simulate`: 0-5
    years on an AI and 5 years after; beyond that the model extrapolates.
    """
    n = _as_count("n", n)
    check_allocation(f"the crossing times of n = {n} patients (one site and threshold)", n, hint="use a smaller n")
    chunk_size = _as_count("chunk_size", chunk_size)
    check_allocation(
        f"a chunk of chunk_size = {min(chunk_size, n)} patients x {_COLUMNS} random draws",
        min(chunk_size, n) * _COLUMNS,
        hint="use a smaller chunk_size (results do not depend on it)",
    )
    chunks = -(-n // chunk_size)
    if chunks > MAX_CHUNKS:
        raise ValueError(
            f"chunk_size = {chunk_size} splits n = {n} patients into {chunks} chunks, more than {MAX_CHUNKS}; "
            f"use chunk_size >= {-(-n // MAX_CHUNKS)} (results do not depend on it)"
        )
    seed = check_seed(seed)
    if not isinstance(regimen, Regimen):
        raise TypeError(f"regimen must be a bmdsim.Regimen, got {type(regimen).__name__}")
    years = as_finite_float("years", years)
    if not limits.HORIZON_YEARS[0] < years <= limits.HORIZON_YEARS[1]:
        raise ValueError(f"years must be in ({limits.HORIZON_YEARS[0]:g}, {limits.HORIZON_YEARS[1]:g}], got {years:g}")
    population = default_population() if population is None else population
    if not isinstance(population, Population):
        raise TypeError(f"population must be a bmdsim.Population, got {type(population).__name__}")
    if variability is None:
        from .spread import default_variability  # here, so that `python -m bmdsim.spread` runs it once

        variability = default_variability(population.sites)
    if not isinstance(variability, Variability):
        raise TypeError(f"variability must be a bmdsim.cohort.Variability, got {type(variability).__name__}")
    params = resolve_parameters(params)
    reference = load_reference() if reference is None else reference
    if not isinstance(reference, YoungAdultReference):
        raise TypeError(f"reference must be a bmdsim.YoungAdultReference, got {type(reference).__name__}")
    workers = min(2, os.cpu_count() or 1) if workers is None else _as_count("workers", workers, MAX_WORKERS)
    draws = _resolve_draws(params, parameter_draws)
    for p in (params, *draws):  # now, not when a draw's pass starts
        p.require_agents(e.agent for e in regimen)
    precision = check_precision(measurement_error, population.sites)
    warn_if_extrapolating(regimen, params.values, years, (population.age.low, population.age.high), population.sex)
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(
            f"executor must be a concurrent.futures.Executor (e.g. ProcessPoolExecutor, or a Dask "
            f"Client(...).get_executor()), got {type(executor).__name__}"
        )
    return CohortResult(
        n,
        regimen,
        years,
        seed,
        chunk_size,
        population,
        variability,
        params,
        reference,
        workers,
        draws,
        precision,
        executor,
    )


#: Results an executor's worker process keeps by token, newest last (see :func:`_executor_chunk`).
_WORKER_RESULTS: OrderedDict[str, CohortResult] = OrderedDict()
#: How many results a worker keeps: a few, so that interleaved cohorts do not rebuild their tables every task.
_WORKER_KEEP = 2
_WORKER_LOCK = threading.Lock()


def _executor_chunk(
    token: str, result: CohortResult, start: int, stop: int, thresholds: tuple[float, ...], sites: tuple[str, ...]
) -> dict[tuple[str, float], np.ndarray]:
    """One executor task: :meth:`CohortResult.chunk_crossing_times` of patients ``start..stop-1``.

    ``result`` arrives as a copy of its inputs; the worker keeps the first
    copy it gets for ``token`` (its crossing tables are then built once per
    worker, not once per task). In the calling process itself (a thread
    pool) ``result`` is the original and is used as it is.
    """
    if result.executor is not None:  # not pickled: the original, in a thread of its own process
        return result.chunk_crossing_times(start, stop, thresholds, sites)
    with _WORKER_LOCK:
        kept = _WORKER_RESULTS.pop(token, None) or result
        _WORKER_RESULTS[token] = kept
        while len(_WORKER_RESULTS) > _WORKER_KEEP:
            _WORKER_RESULTS.popitem(last=False)
    return kept.chunk_crossing_times(start, stop, thresholds, sites)


def _executor_draw(
    token: str,
    result: CohortResult,
    draw: int,
    site: str,
    threshold: float,
    reduce: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """One executor task: ``reduce`` of the crossing times of parameter draw ``draw`` (all patients).

    The worker keeps the first copy of ``result`` it gets for ``token``, as
    :func:`_executor_chunk` does, so the patients are drawn once per worker
    and result, not once per draw; only the reduced values travel back.
    """
    if result.executor is not None:  # not pickled: the original, in a thread of its own process
        return reduce(result._draw_crossing_time(draw, site, threshold, True))
    with _WORKER_LOCK:
        kept = _WORKER_RESULTS.pop(token, None) or result
        _WORKER_RESULTS[token] = kept
        while len(_WORKER_RESULTS) > _WORKER_KEEP:
            _WORKER_RESULTS.popitem(last=False)
    return reduce(kept._draw_crossing_time(draw, site, threshold, True))  # one thread per task


def fraction_by(crossing: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Fraction of ``crossing`` [years] at or before each of ``times`` [years] (any order), in O(n log m).

    Parameters
    ----------
    crossing : numpy.ndarray
        Crossing times [years] of ``n >= 1`` patients (``inf``: not reached).
    times : numpy.ndarray
        Times [years], shape ``(m,)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(m,)``: the share of patients whose crossing time is at or
        before each time.
    """
    order = np.argsort(times)
    first = np.searchsorted(times[order], crossing, side="left")  # first sorted time at or after the crossing
    counts = np.cumsum(np.bincount(first, minlength=times.size + 1)[: times.size])
    out = np.empty(times.size)
    out[order] = counts / crossing.size
    return out


class _DrawFractions:
    """Picklable reduction of one draw's crossing times: :func:`fraction_by` at fixed times."""

    def __init__(self, times: np.ndarray) -> None:
        self.times = times

    def __call__(self, crossing: np.ndarray) -> np.ndarray:
        return fraction_by(crossing, self.times)


class _DrawPercentiles:
    """Picklable reduction of one draw's crossing times: their percentiles ``q`` [%] (inverted CDF)."""

    def __init__(self, q: np.ndarray) -> None:
        self.q = q

    def __call__(self, crossing: np.ndarray) -> np.ndarray:
        return np.percentile(crossing, self.q, method="inverted_cdf")


class _DrawSummary:
    """Picklable reduction for :func:`compare_regimens`: the median, then :func:`fraction_by` at fixed times."""

    def __init__(self, times: np.ndarray) -> None:
        self.times = times

    def __call__(self, crossing: np.ndarray) -> np.ndarray:
        median = np.percentile(crossing, [50.0], method="inverted_cdf")
        return np.concatenate((median, fraction_by(crossing, self.times)))


def _resolve_draws(params: ParameterSet, parameter_draws: object) -> tuple[ParameterSet, ...]:
    """The parameter sets of ``parameter_draws``: a count of ``params``'s shipped draws, or the sets themselves."""
    if isinstance(parameter_draws, (bool, np.bool_)):
        raise TypeError(
            f"parameter_draws must be a number of draws or a sequence of ParameterSet, got {parameter_draws!r}"
        )
    if isinstance(parameter_draws, (int, np.integer)):
        if parameter_draws < 0:
            shown = parameter_draws if parameter_draws > -(2**63) else "a negative integer"
            raise ValueError(f"parameter_draws must be >= 0 (0: no parameter uncertainty), got {shown}")
        return _shipped_draws(params, int(parameter_draws)) if parameter_draws else ()
    if isinstance(parameter_draws, Sequence) and not isinstance(parameter_draws, (str, bytes)):
        draws = tuple(parameter_draws)
        if not draws:
            raise ValueError("parameter_draws must hold at least one ParameterSet (or be 0 for none)")
        for i, p in enumerate(draws):
            if not isinstance(p, ParameterSet):
                raise TypeError(f"parameter_draws[{i}] must be a bmdsim.ParameterSet, got {type(p).__name__}")
        return draws
    raise TypeError(
        f"parameter_draws must be a number of draws or a sequence of ParameterSet, got {type(parameter_draws).__name__}"
    )


class RegimenComparison(tables.FrameDict):
    """What :func:`compare_regimens` returns: its dict of columns, plus :meth:`to_frame`.

    Attributes
    ----------
    site : str
        The site compared.
    """

    def __init__(self, data: Mapping[str, list], site: str, rows: list[dict[str, Any]]) -> None:
        super().__init__(data)
        self.site = site
        self._rows = rows

    def to_frame(self) -> pd.DataFrame:
        """The comparison as a tidy table: one row per regimen, threshold and time.

        Returns
        -------
        pandas.DataFrame
            Columns ``regimen``, ``site``, ``threshold_t_score_sd`` [SD],
            ``time_years`` [years], ``fraction_below`` (0-1, the fraction
            that has crossed by then) and ``median_crossing_time_years``
            [years, inf if under half cross; the same on every time of a
            regimen and threshold]; with parameter draws each value is
            followed by its ``*_param_low`` and ``*_param_high``
            (:data:`PARAMETER_INTERVAL` percentiles across draws). Units in
            ``df.attrs["units"]``.
        """
        names = list(self._rows[0]) if self._rows else ["regimen", "site", "threshold_t_score_sd", "time_years"]
        columns = {name: [row[name] for row in self._rows] for name in names}
        return tables.frame(columns, f"Regimens compared at {self.site} on the same simulated women", COHORT_UNITS)


def compare_regimens(
    regimens: Mapping[str, Regimen],
    n: int,
    years: float,
    seed: int,
    site: str = "femoral_neck",
    thresholds: Sequence[float] = (-2.0, -2.5),
    at_years: Sequence[float] = (5.0, 10.0),
    **kwargs: Any,
) -> RegimenComparison:
    """A table comparing regimens on the same simulated patients.

    Parameters
    ----------
    regimens : mapping of name -> Regimen
    n, years, seed
        As :func:`simulate_cohort`; every regimen gets the same patients
        (common random numbers), so differences are due to the regimens.
    site : str
        Site compared.
    thresholds : sequence of float
        T-score thresholds [SD].
    at_years : sequence of float
        Times [years] at which the fraction that has crossed is reported.
    **kwargs
        Passed to :func:`simulate_cohort` (``population``, ``variability``,
        ``params``, ``chunk_size``, ``reference``, ``parameter_draws``).

    Returns
    -------
    dict of str -> list
        Columns, one row per regimen: ``regimen``, then
        ``median_years_to_<T>`` (``inf`` if under half cross) and
        ``fraction_<T>_by_<t>y`` for each threshold ``T`` and time ``t``.
        With ``parameter_draws``, each of these is followed by
        ``<column>_param_low`` and ``<column>_param_high``, its
        :data:`PARAMETER_INTERVAL` percentiles across the draws (one pass per
        draw, regimen and threshold). Its ``.to_frame()`` gives the same
        numbers as a tidy table, one row per regimen, threshold and time
        (:meth:`RegimenComparison.to_frame`).
    """
    if not isinstance(regimens, Mapping) or not regimens:
        raise ValueError("regimens must be a non-empty mapping of name to bmdsim.Regimen")
    for name in regimens:
        check_text("regimens name", name)
    table: dict[str, list] = {"regimen": []}
    rows: list[dict[str, Any]] = []
    for name, regimen in regimens.items():
        result = simulate_cohort(n, regimen, years, seed, **kwargs)
        (site,), thresholds = result._sites_thresholds((site,), thresholds)
        result.crossing_times(thresholds, (site,))
        table["regimen"].append(name)
        tt = result._times(at_years, "at_years")

        summary = _DrawSummary(tt)

        for thr in thresholds:
            columns = [f"median_years_to_{thr:g}"] + [f"fraction_{thr:g}_by_{t:g}y" for t in tt]
            values = summary(result.crossing_time(site, thr))
            if result.parameter_draws:
                low, high = result._interval(result._over_draws(site, thr, summary))
            for j, column in enumerate(columns):
                table.setdefault(column, []).append(float(values[j]))
                if result.parameter_draws:
                    table.setdefault(f"{column}_param_low", []).append(float(low[j]))
                    table.setdefault(f"{column}_param_high", []).append(float(high[j]))
            for j, t in enumerate(tt, start=1):
                row = {"regimen": name, "site": site, "threshold_t_score_sd": thr, "time_years": float(t)}
                row["fraction_below"] = float(values[j])
                if result.parameter_draws:
                    row["fraction_below_param_low"], row["fraction_below_param_high"] = float(low[j]), float(high[j])
                row["median_crossing_time_years"] = float(values[0])
                if result.parameter_draws:
                    row["median_crossing_time_param_low_years"] = float(low[0])
                    row["median_crossing_time_param_high_years"] = float(high[0])
                rows.append(row)
    return RegimenComparison(table, site, rows)


# -- Patients under any regimen ------------------------------------------------------------------------
# The numerics behind bmdsim.policy: the same patients (drawn here, or given) simulated under several regimens
# (the AI alone, the AI plus a course from each possible start), with crossings, BMD at scans as true or
# measured values, and time below a threshold.


def _patient_span(what: str, start: object, stop: object, n: int) -> tuple[int, int]:
    """``start`` and ``stop`` as patient indices with ``0 <= start < stop <= n``, or a clear error naming ``what``."""
    for name, value in (("start", start), ("stop", stop)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{what}: {name} must be an integer patient index, got {value!r:.80}")
    if not 0 <= start < stop <= n:
        raise ValueError(f"{what}: need 0 <= start < stop <= n = {n}, got start={start}, stop={stop}")
    return int(start), int(stop)


class PatientSet:
    """Patients with their per-site loss multipliers, simulated exactly under any regimen over one horizon.

    Where a :class:`CohortResult` is one regimen for a drawn population, a
    patient set is one group of women (drawn by :meth:`from_cohort`, or
    given) that can be put on several regimens: the regimen is an argument
    of every method. :mod:`bmdsim.policy` uses it for the AI alone and for
    the AI plus a course from each possible start.

    Parameters
    ----------
    patient : Patient
        The patients (1-D arrays of ``n``).
    multiplier : mapping of site -> (n,) array, optional
        Each patient's factor on the log-loss at each of her sites (as
        :meth:`CohortResult.patients` draws them), positive and finite; 1 for
        every patient where not given.
    years : float
        Horizon [years], in ``(0, 60]``.
    params : str or ParameterSet
        Parameter set name or set (default :data:`bmdsim.parameters.DEFAULT_PARAMETER_SET`).
    reference : YoungAdultReference, optional
        Young-adult reference for T-scores; the shipped default if None.
    first : int or None
        Population index of the first patient: patient ``k`` of the set is
        patient ``first + k`` of the population, which keys her seeded scan
        errors (:mod:`bmdsim.measurement`). None for a set that is not a
        range of a population (:meth:`take`); it then has no scan errors.

    Notes
    -----
    Results depend on each patient's own inputs only, with one exception
    kept on purpose: where every patient of the set shares one log-loss
    curve (:meth:`bmdsim.model.SiteModel.is_shared`), BMD and time below are
    read from that curve evaluated once at its canonical patient
    (:func:`bmdsim.crossing.canonical_state`), which agrees with the
    per-patient evaluation to rounding.
    """

    def __init__(
        self,
        patient: Patient,
        multiplier: Mapping[str, object] | None = None,
        *,
        years: float,
        params: str | ParameterSet | None = DEFAULT_PARAMETER_SET,
        reference: YoungAdultReference | None = None,
        first: int | None = 0,
    ) -> None:
        if not isinstance(patient, Patient):
            raise TypeError(f"patient must be a bmdsim.Patient, got {type(patient).__name__}")
        years = as_finite_float("years", years)
        if not limits.HORIZON_YEARS[0] < years <= limits.HORIZON_YEARS[1]:
            raise ValueError(
                f"years must be in ({limits.HORIZON_YEARS[0]:g}, {limits.HORIZON_YEARS[1]:g}], got {years:g}"
            )
        reference = load_reference() if reference is None else reference
        if not isinstance(reference, YoungAdultReference):
            raise TypeError(f"reference must be a bmdsim.YoungAdultReference, got {type(reference).__name__}")
        if first is not None:
            if isinstance(first, (bool, np.bool_)) or not isinstance(first, (int, np.integer)):
                raise TypeError(f"first must be a non-negative integer patient index or None, got {first!r:.80}")
            if first < 0:
                raise ValueError(f"first must be a non-negative integer patient index or None, got {first}")
            first = int(first)
        multiplier = {} if multiplier is None else multiplier
        if not isinstance(multiplier, Mapping):
            raise TypeError(f"multiplier must be a mapping of site to (n,) arrays, got {type(multiplier).__name__}")
        unknown = sorted(set(multiplier) - set(patient.sites), key=str)
        if unknown:
            raise ValueError(
                f"multiplier names site {unknown[0]!r:.80}, which the patients have no baseline value for; "
                f"their sites are {', '.join(patient.sites)}"
            )
        self.patient = patient
        self.multiplier: dict[str, np.ndarray] = {}
        for site in patient.sites:
            m = (
                np.ones(patient.n)
                if site not in multiplier
                else as_float_array(f"multiplier[{site!r}]", multiplier[site])
            )
            if m.shape != (patient.n,):
                raise ValueError(f"multiplier[{site!r}] must have shape ({patient.n},), got {m.shape}")
            if not np.all(np.isfinite(m) & (m > 0)):
                raise ValueError(f"multiplier[{site!r}] must be positive and finite")
            self.multiplier[site] = m
        self.years, self.params, self.reference, self.first = years, resolve_parameters(params), reference, first
        self._baseline = {s: patient.baseline_bmd(s, reference) for s in patient.sites}
        self._models: dict[tuple[Regimen, str], SiteModel] = {}
        self._trajectories: dict[Regimen, _CohortTrajectory] = {}
        self._curves: dict[tuple, np.ndarray | None] = {}

    @classmethod
    def from_cohort(cls, result: CohortResult, start: int = 0, stop: int | None = None) -> PatientSet:
        """Patients ``start..stop-1`` of a cohort (:meth:`CohortResult.patients`), with its horizon and parameters.

        Parameters
        ----------
        result : CohortResult
        start, stop : int
            Patient indices, ``0 <= start < stop <= n`` (default: every patient).

        Returns
        -------
        PatientSet
            With ``first=start``, so scan errors are the cohort's.
        """
        if not isinstance(result, CohortResult):
            raise TypeError(f"result must be a bmdsim.CohortResult, got {type(result).__name__}")
        stop = result.n if stop is None else stop
        patient, multiplier = result.patients(start, stop)
        return cls(
            patient, multiplier, years=result.years, params=result.params, reference=result.reference, first=start
        )

    def __repr__(self) -> str:
        return f"<PatientSet: {self.n} patients, sites {', '.join(self.sites)}, {self.years:g} years>"

    @property
    def n(self) -> int:
        """Number of patients."""
        return self.patient.n

    @property
    def sites(self) -> tuple[str, ...]:
        """Sites with a baseline value."""
        return self.patient.sites

    def take(self, idx: object) -> PatientSet:
        """The patients at positions ``idx`` (integer indices into this set), as a new set (``first=None``)."""
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise TypeError(f"idx must be a 1-D array of integer positions, got dtype {idx.dtype}, shape {idx.shape}")
        if idx.size and not 0 <= int(idx.min()) <= int(idx.max()) < self.n:
            raise ValueError(f"idx must hold positions in [0, {self.n - 1}], got {int(idx.min())}..{int(idx.max())}")
        if idx.size == 0:
            raise ValueError("idx must select at least one patient")
        p = self.patient
        patient = Patient(
            age=p.age[idx], bmd={s: v[idx] for s, v in p.bmd.items()}, t_score={s: v[idx] for s, v in p.t_score.items()}
        )
        multiplier = {s: m[idx] for s, m in self.multiplier.items()}
        return PatientSet(
            patient, multiplier, years=self.years, params=self.params, reference=self.reference, first=None
        )

    # -- the regimen's models ----------------------------------------------------------------------------
    def _regimen(self, regimen: object) -> Regimen:
        if not isinstance(regimen, Regimen):
            raise TypeError(f"regimen must be a bmdsim.Regimen, got {type(regimen).__name__}")
        return regimen

    def _site(self, site: object) -> str:
        check_site(site)
        if site not in self._baseline:
            raise ValueError(f"site {site!r} has no baseline value; the patients' sites are {', '.join(self.sites)}")
        return site

    def _model(self, regimen: Regimen, site: str) -> SiteModel:
        key = (regimen, site)
        if key not in self._models:  # kept: a model keeps its crossing tables
            self._models[key] = SiteModel(self.params, regimen, site, self.patient.sex)
        return self._models[key]

    def _trajectory(self, regimen: Regimen) -> _CohortTrajectory:
        """The patients on ``regimen`` (event starts resolved per patient once), kept per regimen."""
        if regimen not in self._trajectories:
            models = {s: self._model(regimen, s) for s in self.sites}
            self._trajectories[regimen] = _CohortTrajectory(
                self.patient, self.multiplier, models, regimen, self.years, self.years, self.params, self.reference
            )
        return self._trajectories[regimen]

    def _shared_loss(self, regimen: Regimen, site: str, times: np.ndarray) -> np.ndarray | None:
        """The log-loss at ``times``, shape ``(len(times),)``, if every patient of the set shares it; else None.

        Evaluated at the curve's canonical patient (:func:`bmdsim.crossing.canonical_state`), so the values do
        not depend on which patient comes first.
        """
        key = (regimen, site, times.tobytes())
        if key not in self._curves:
            model, age = self._model(regimen, site), self.patient.age
            curve = None
            if model.is_shared(PatientState(age), self.years):
                curve = model.log_loss(times, canonical_state(model, PatientState(float(age[0])), self.years))
            self._curves[key] = curve
        return self._curves[key]

    def _log_loss(self, regimen: Regimen, site: str, times: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Log-loss (without the multiplier) of patients ``start..stop-1`` at ``times``, fixed starts only."""
        curve = self._shared_loss(regimen, site, times)
        if curve is not None:
            return curve
        return self._model(regimen, site).log_loss(times[None, :], PatientState(self.patient.age[start:stop, None]))

    def _range(self, start: object, stop: object) -> tuple[int, int]:
        return _patient_span("PatientSet", start, self.n if stop is None else stop, self.n)

    def _times(self, times: object, name: str = "times") -> np.ndarray:
        tt = np.atleast_1d(as_float_array(name, times))
        if tt.ndim != 1:
            raise ValueError(f"{name} must be a scalar or a 1-D array of times, got shape {tt.shape}")
        check_range(name, tt, 0.0, self.years, unit="years")
        return tt

    # -- what the set answers ----------------------------------------------------------------------------
    def crossing_time(self, regimen: Regimen, site: str, threshold: float) -> np.ndarray:
        """First time [years] each patient's T-score at ``site`` is at or below ``threshold`` on ``regimen``.

        Parameters
        ----------
        regimen : Regimen
            Exposures (event starts resolve per patient).
        site : str
            A site of the patients.
        threshold : float
            T-score [SD].

        Returns
        -------
        (n,) ndarray
            ``0.0`` if at or below at baseline, ``inf`` if not reached within
            the horizon; exact to 1e-10 years (:mod:`bmdsim.crossing`), the
            same to the last bit as :meth:`CohortResult.crossing_time` for the
            same patients and regimen.
        """
        regimen, site = self._regimen(regimen), self._site(site)
        return self._trajectory(regimen).crossing_time(site, as_finite_float("threshold", threshold))

    def exposure_times(self, regimen: Regimen, exposure: Exposure) -> tuple[np.ndarray, np.ndarray]:
        """Start and stop [years] of ``exposure`` (one of ``regimen``'s) for each patient, shape ``(n,)`` each.

        An event start (:class:`bmdsim.AtThreshold`) resolved per patient
        (``inf``: never starts within the horizon); a fixed start repeated.
        """
        regimen = self._regimen(regimen)
        start, stop = self._trajectory(regimen).exposure_times(exposure)
        shape = (self.n,)
        return np.broadcast_to(np.asarray(start, float), shape).copy(), np.broadcast_to(
            np.asarray(stop, float), shape
        ).copy()

    def bmd_at(self, regimen: Regimen, site: str, times: object, start: int = 0, stop: int | None = None) -> np.ndarray:
        """True BMD [g/cm2] of patients ``start..stop-1`` at ``times`` on ``regimen``.

        Parameters
        ----------
        regimen : Regimen
        site : str
        times : float or 1-D array
            Times [years] in ``[0, years]``.
        start, stop : int
            Positions in the set (default: every patient).

        Returns
        -------
        (stop - start, len(times)) ndarray
            ``BMD(0) exp(-m L(t))`` with each patient's multiplier ``m``.
        """
        regimen, site = self._regimen(regimen), self._site(site)
        tt = self._times(times)
        start, stop = self._range(start, stop)
        check_allocation(f"BMD of {stop - start} patients x {tt.size} times", (stop - start) * tt.size)
        if any(e.is_event for e in regimen):
            return self.take(np.arange(start, stop))._trajectory(regimen).scaled_bmd(site, tt)
        loss = self._log_loss(regimen, site, tt, start, stop)
        return self._baseline[site][start:stop, None] * np.exp(-self.multiplier[site][start:stop, None] * loss)

    def measured_bmd_at(
        self,
        regimen: Regimen,
        site: str,
        times: object,
        cv: float,
        seed: int,
        start: int = 0,
        stop: int | None = None,
    ) -> np.ndarray:
        """BMD [g/cm2] that DXA scans at ``times`` show for patients ``start..stop-1`` on ``regimen``.

        :meth:`bmd_at` times ``1 + cv z`` with the seeded draws of
        :func:`bmdsim.measurement.measured_bmd` for population indices
        ``first + start .. first + stop - 1``: the errors a cohort of the same
        seed shows at the same scan times.

        Parameters
        ----------
        regimen, site, times, start, stop
            As :meth:`bmd_at`.
        cv : float
            Precision error of the site as a fraction (0.012 is 1.2 %).
        seed : int
            Seed of the scan errors.

        Raises
        ------
        ValueError
            The set is not a range of a population (``first`` is None), or as
            :func:`bmdsim.measurement.measured_bmd`.
        """
        if self.first is None:
            raise ValueError("measured_bmd_at needs a set that is a range of a population (first is None after take)")
        true = self.bmd_at(regimen, site, times, start, stop)
        start, stop = self._range(start, stop)
        tt = self._times(times)
        return measured_bmd(true, cv, seed, site, tt, self.first + start, self.first + stop)

    def first_scan_at_or_below(
        self,
        regimen: Regimen,
        sites: Sequence[str],
        times: object,
        bmd_limit: Mapping[str, np.ndarray],
        measurement_error: Mapping[str, float] | None = None,
        seed: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The first scan whose BMD, as the scan shows it, is at or below each patient's limit at any of ``sites``.

        The measured counterpart of :class:`bmdsim.AtThreshold` with a
        ``scan_interval``: with exact scans, the first scan at or after the
        true crossing (up to rounding at the limit); with measurement error,
        the first scan that *shows* it.

        Parameters
        ----------
        regimen : Regimen
            Exposures with fixed starts (the regimen the scans are taken on).
        sites : sequence of str
            Watched sites.
        times : 1-D array
            Scan times [years] in ``[0, years]``, increasing.
        bmd_limit : mapping of site -> (n,) array
            BMD [g/cm2] at or below which a scan at that site triggers;
            ``-inf`` for a patient who is never triggered.
        measurement_error : mapping of site -> float, optional
            CV [fraction] of each watched site's scans (see
            :func:`bmdsim.measurement.check_precision`); None for exact scans.
        seed : int, optional
            Seed of the scan errors; required with ``measurement_error``.

        Returns
        -------
        index : (n,) ndarray of int
            Index into ``times`` of the first triggering scan; -1 if none.
        false_positive : (n,) ndarray of bool
            The triggering scan showed the limit while the true BMD was above
            it at every watched site.

        Notes
        -----
        Vectorised over patients in ranges of at most
        :data:`bmdsim.measurement.ERROR_BLOCK_PATIENTS` patients and
        2,000,000 patient-scans (a loop over ranges, not
        patients); the answer does not depend on the ranges.
        """
        regimen = self._regimen(regimen)
        sites = tuple(self._site(s) for s in _few("sites", sites, MAX_THRESHOLDS))
        tt = self._times(times)
        if measurement_error is not None:
            if seed is None or self.first is None:
                raise ValueError("measurement_error needs seed and a set that is a range of a population (first)")
            missing = [s for s in sites if s not in measurement_error]
            if missing:
                raise ValueError(f"measurement_error has no coefficient for the watched site {missing[0]!r}")
        limit = {}
        for s in sites:
            limit[s] = np.asarray(bmd_limit[s], dtype=float) if s in bmd_limit else None
            if limit[s] is None or limit[s].shape != (self.n,) or np.any(np.isnan(limit[s])):
                raise ValueError(f"bmd_limit[{s!r}] must be an array of shape ({self.n},) without NaN")
        size, count = self.n, tt.size
        index = np.full(size, -1)
        false_positive = np.zeros(size, dtype=bool)
        if count == 0:
            return index, false_positive
        step = min(ERROR_BLOCK_PATIENTS, max(1, _CELLS_PER_BATCH // max(count, 1)))
        first = self.first or 0
        spans = [  # ranges never straddle an error block of the population
            (a, min(a + step, block - first + ERROR_BLOCK_PATIENTS, size))
            for block in range(first - first % ERROR_BLOCK_PATIENTS, first + size, ERROR_BLOCK_PATIENTS)
            for a in range(max(block - first, 0), min(block - first + ERROR_BLOCK_PATIENTS, size), step)
        ]
        for a, b in spans:
            seen_hit = np.zeros((b - a, count), dtype=bool)
            true_hit = np.zeros((b - a, count), dtype=bool)
            for s in sites:
                true = self.bmd_at(regimen, s, tt, a, b)
                lim = limit[s][a:b, None]
                true_hit |= true <= lim
                if measurement_error is None:
                    seen_hit |= true <= lim
                else:
                    seen = measured_bmd(true, measurement_error[s], seed, s, tt, first + a, first + b)
                    seen_hit |= seen <= lim
            scan = np.argmax(seen_hit, axis=1)
            hit = seen_hit[np.arange(b - a), scan]
            index[a:b] = np.where(hit, scan, -1)
            false_positive[a:b] = hit & ~true_hit[np.arange(b - a), scan]
        return index, false_positive

    def years_below(self, regimen: Regimen, site: str, threshold: float, cells: int) -> np.ndarray:
        """Years [years] each patient's T-score at ``site`` is at or below ``threshold`` on ``regimen``.

        A midpoint rule on ``cells`` equal cells over ``[0, years]``: the
        cells whose midpoint is at or below, times the cell width. The BMD at
        each midpoint is exact; the time below is accurate to about one cell
        per crossing.

        Parameters
        ----------
        regimen : Regimen
        site : str
        threshold : float
            T-score [SD].
        cells : int
            Cells of the grid, a positive integer (the grid step is ``years / cells``).

        Returns
        -------
        (n,) ndarray
            Years below, in ``[0, years]``.

        Notes
        -----
        At or below is ``m L(t) >= c`` with ``c = ln(BMD(0) / BMD*)``. With
        fixed starts, a curve shared by every patient is sorted once and each
        patient's count of midpoints read with ``np.searchsorted``; otherwise
        the curve is evaluated per patient in batches of at most
        2,000,000 values. With event starts (resolved per
        patient) the count compares BMD with ``BMD*`` instead.
        """
        regimen, site = self._regimen(regimen), self._site(site)
        threshold = as_finite_float("threshold", threshold)
        cells = _as_count("cells", cells)
        check_allocation(f"a time-below grid of {cells} cells", cells)
        mid = (np.arange(cells) + 0.5) * (self.years / cells)
        b0, m = self._baseline[site], self.multiplier[site]
        b_star = float(self.reference.bmd(site, threshold))
        c = np.full(self.n, np.inf) if b_star <= 0 else np.log(b0 / b_star)
        events = any(e.is_event for e in regimen)
        curve = None if events else self._shared_loss(regimen, site, mid)
        if curve is not None:
            below = cells - np.searchsorted(np.sort(curve), c / m, side="left")
        else:
            below = np.empty(self.n, dtype=np.int64)
            step = max(1, _CELLS_PER_BATCH // cells)
            for a in range(0, self.n, step):  # batches of patients, to bound memory
                b = min(a + step, self.n)
                if events:
                    below[a:b] = (self.bmd_at(regimen, site, mid, a, b) <= b_star).sum(axis=1)
                else:
                    loss = self._log_loss(regimen, site, mid, a, b)
                    below[a:b] = (m[a:b, None] * loss >= c[a:b, None]).sum(axis=1)
        return below * (self.years / cells)
