"""Absolute fracture incidence along simulated T-score trajectories, for patients and cohorts.

A woman's hazard of a first fracture of an outcome (hip, clinical vertebral,
major osteoporotic, any clinical fracture) at time ``t`` is

.. math::

   h(t) = k\\, b(a(t))\\, c(a(t))\\, g^{-(T(t) - \\bar T(a(t)))},
   \\qquad c(a) = \\exp\\!\\big(-(\\sigma(a) \\ln g)^2 / 2\\big),

with ``a(t)`` her age, ``b(a)`` the published incidence of women of that age
(``data/fracture_incidence.json``), ``g`` the gradient per SD of BMD at the
matching site (:func:`bmdsim.fracture.gradient`, Marshall 1996), ``T(t)`` her
simulated T-score, ``\\bar T(a)`` and ``\\sigma(a)`` the mean and SD of the
T-scores of women of that age in the population ``b`` describes, and ``k`` an
outcome factor (1, except for the calibrated *any clinical fracture*). ``c``
makes the mean hazard of women of age ``a`` equal to ``b(a)`` when their
T-scores are normal. Death competes at the rate ``mu(a)`` of a published
period life table of US women (NCHS, United States Life Tables, 2011:
``mu = -ln(1 - q_x)`` within each year of age ``x``); the cumulative
incidence of a first fracture by time ``t`` is

.. math:: F(t) = \\int_0^t h(s)\\, S(s)\\, ds, \\qquad S(s) = e^{-\\int_0^s (h + \\mu)}.

Numerics
--------
Hazards are evaluated at the midpoint of each step of a time grid (default
step :data:`DEFAULT_STEP`, plus every time asked for) and held constant over
the step, where the integral is exact: a step ``[t_j, t_{j+1})`` adds
``h_j / (h_j + mu_j) (S_j - S_{j+1})``. The error against the continuous
hazard is second order in the step (at the default quarter-year step, at most
2e-5 absolute, 0.3 % relative, against a 1/48-year step over 10 years). ``log b``, ``\\bar T`` and ``log c``
are piecewise linear in age with knots on a half-year grid and are
evaluated exactly by a table lookup; ``mu`` is the life table's rate
``-ln(1 - q_x)``, constant within each whole year of age (a step that
straddles a birthday takes the rate at its midpoint) (the major-osteoporotic rate, a sum of two
such rates, is log-linear between half-year knots: a relative error below 1e-4). Everything is vectorised over patients
and steps; cohorts are streamed patient batch by patient batch through the
public :meth:`bmdsim.CohortResult.chunks`, :meth:`~bmdsim.CohortResult.patients`
and :meth:`~bmdsim.CohortResult.t_scores`.

Validity and limits
-------------------
The baseline rates describe general-population women (US hip fractures,
Swedish clinical vertebral fractures, see the data file); the gradient comes
from cohorts without breast cancer. The model knows nothing of falls, prior
fractures, glucocorticoids or any clinical risk factor beyond what the
population's T-scores carry, nor of how a trial selected its women; BMD gains
from a bone-protective drug lower the hazard only through the gradient (the
drugs' anti-fracture effect beyond BMD is not modelled). Vertebral fractures
are *clinical* ones, not morphometric ones seen only on radiographs (two to
three times as many). Calibrated to one published rate (ABCSG-18 placebo at
36 months); checked against the others within the factor in
``data/targets/fracture_rates.json`` (:func:`fracture_validation`). Ages
45-90 and horizons up to about 10 years are the range in which the inputs
were read; beyond, the rates are held at their end values.

References
----------
Marshall D, Johnell O, Wedel H. BMJ 1996;312:1254-9, doi:10.1136/bmj.312.7041.1254.
Ettinger B et al. Osteoporos Int 2010;21:25-33, doi:10.1007/s00198-009-1032-9.
Kanis JA et al. Osteoporos Int 2000;11:669-74, doi:10.1007/s001980070064.
Looker AC et al. J Bone Miner Res 2010;25:64-71.
Gnant M et al. Lancet 2015;386:433-43, doi:10.1016/S0140-6736(15)60995-3.
Arias E. United States Life Tables, 2011. Natl Vital Stat Rep 2015;64(11) (NCHS).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import ndtri

from . import _data, tables
from ._validation import as_finite_float, as_float_array, as_int, check_choice, check_range
from .cohort import BLOCK_PATIENTS, PARAMETER_INTERVAL, CohortResult, simulate_cohort
from .fracture import gradient
from .regimen import Exposure, Regimen
from .simulation import Trajectory

if TYPE_CHECKING:  # pragma: no cover - annotations only
    import pandas as pd

_FILE = "fracture_incidence.json"
_TARGETS = "targets/fracture_rates.json"
#: Default integration step [years] (a quarter): against a step of 1/48 year the cumulative incidence of the
#: default cohort differs by at most 2e-5 (0.3 % relative) over 10 years; pass step=1/12 for 5e-4 relative.
DEFAULT_STEP = 0.25
#: Smallest and largest integration step [years] accepted.
STEP_RANGE = (1e-4, 1.0)
#: Knot spacing [years] of the age tables (every knot of the data lies on it).
_AGE_KNOT = 0.5
#: Age range [years] of the lookup tables; outside, values are held at the ends.
_AGE_RANGE = (30.0, 110.0)
#: Patients x steps evaluated at once in a cohort (bounds memory, within CohortResult.t_scores' limit).
_CELLS_PER_BATCH = 4_000_000
#: The gradient bounds behind the risk-model band.
_BOUNDS = ("estimate", "low", "high")

INCIDENCE_UNITS: dict[str, str] = {
    "time_years": "years from baseline",
    "outcome": "fracture outcome (see bmdsim.fracture_incidence.outcomes)",
    "cumulative_incidence": (
        "fraction of women (0-1) with a first fracture of the outcome by time_years, death competing"
    ),
    "per_1000": "women with a first fracture of the outcome per 1,000 women starting",
    "parameter_low": "per_1000 at the low end of the parameter-draw interval (NaN without draws)",
    "parameter_high": "per_1000 at the high end of the parameter-draw interval (NaN without draws)",
    "gradient_low": "per_1000 with the low end of the gradient's 95 % CI",
    "gradient_high": "per_1000 with the high end of the gradient's 95 % CI",
    "prevented_per_1000": "first fractures prevented per 1,000 women: control minus treated per_1000",
    "nnt": "number needed to treat to prevent one first fracture: 1000 / prevented_per_1000 (inf if none prevented)",
    "id": "row id in data/targets/fracture_rates.json",
    "study": "trial or statement",
    "arm": "arm as published",
    "role": "calibrate (fits the any_clinical factor), validate (held out) or context (shown only)",
    "months": "months from the start of the AI",
    "citation": "key in data/citations.json",
    "verification": "how the published number was read: primary, secondary or unverified",
    "control_per_1000": "first fractures per 1,000 women in the control cohort",
    "treated_per_1000": "first fractures per 1,000 women in the treated cohort",
    "model_pct": "model cumulative incidence, per cent",
    "published_pct": "published cumulative incidence, per cent",
    "ratio": "model_pct / published_pct",
    "within_factor": "whether 1/factor <= ratio <= factor (validate rows only)",
}


# -- the model's inputs ------------------------------------------------------------------------------
def _doc() -> dict[str, Any]:
    return _data.read_json(_FILE)


def outcomes() -> dict[str, str]:
    """Fracture outcomes with their descriptions, in the data file's order."""
    return {k: v["description"] for k, v in _doc()["outcomes"].items()}


def default_site(outcome: str) -> str:
    """The site whose T-score drives ``outcome`` by default (total hip, or lumbar spine for vertebral)."""
    check_choice("outcome", outcome, outcomes())
    return _doc()["outcomes"][outcome]["default_site"]


def _knots() -> np.ndarray:
    lo, hi = _AGE_RANGE
    return np.arange(lo, hi + _AGE_KNOT / 2, _AGE_KNOT)


def _interp_flat(x: np.ndarray, xp: Sequence[float], fp: Sequence[float]) -> np.ndarray:
    return np.interp(x, np.asarray(xp, dtype=float), np.asarray(fp, dtype=float))


def _log_rate_table(outcome: str, doc: Mapping[str, Any]) -> np.ndarray:
    """ln(baseline rate per year) of ``outcome`` at the age knots, before the outcome factor ``k``."""
    entry = doc["outcomes"][outcome]
    if "from_outcomes" in entry:
        total = sum(np.exp(_log_rate_table(o, doc)) for o in entry["from_outcomes"])
        return np.log(total * float(entry["factor"])) if outcome != "any_clinical" else np.log(total)
    rates = np.asarray(entry["rate_per_1000_per_year"], dtype=float) / 1000.0
    if np.any(rates <= 0):
        raise _data.DataFileError(_data.label(_FILE), f"outcomes.{outcome}.rate_per_1000_per_year must be positive")
    return _interp_flat(_knots(), entry["age_midpoints_years"], np.log(rates))


def _outcome_factor(outcome: str, doc: Mapping[str, Any]) -> float:
    """The calibrated factor ``k`` (1 except for any_clinical)."""
    return float(doc["outcomes"][outcome]["factor"]) if outcome == "any_clinical" else 1.0


def _reference_tables(doc: Mapping[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean and SD of T-scores [SD] at the age knots, per site family ('lumbar_spine', 'hip')."""
    ref = doc["reference_t_score"]
    ls = ref["lumbar_spine"]
    y_mean, y_sd = float(ls["young_adult_mean_g_cm2"]), float(ls["young_adult_sd_g_cm2"])
    ls_mean = (np.asarray(ls["mean_g_cm2"]) - y_mean) / y_sd
    ls_sd = np.asarray(ls["sd_g_cm2"]) / y_sd
    knots = _knots()
    out = {
        "lumbar_spine": (
            _interp_flat(knots, ls["age_midpoints_years"], ls_mean),
            _interp_flat(knots, ls["age_midpoints_years"], ls_sd),
        )
    }
    hip = ref["hip"]
    mean, sd = hip_reference_distribution(doc)
    ages = np.asarray(ls["age_midpoints_years"], dtype=float)
    slope = (ls_mean[-1] - ls_mean[1]) / (ages[-1] - ages[1])
    low, high = ages[0], ages[-1]
    shifted = np.clip(knots, low, high)  # held at the lumbar table's end ages, like the spine (assumption)
    out["hip"] = (mean + slope * (shifted - float(hip["at_age_years"])), np.full(knots.size, sd))
    return out


def hip_reference_distribution(doc: Mapping[str, Any] | None = None) -> tuple[float, float]:
    """Mean and SD [SD] of femoral-neck T-scores of US women 50+, from the prevalence of low BMD.

    With T normal, ``P(T <= -2.5) = p_op`` and ``P(T <= -1) = p_op + p_openia``
    give ``sd = 1.5 / (z(p_op + p_openia) - z(p_op))`` and
    ``mean = -2.5 - sd z(p_op)`` (Looker et al. 2010, NHANES 2005-2006:
    10 % osteoporosis, 49 % osteopenia; about -1.23 and 0.99).
    """
    hip = (_doc() if doc is None else doc)["reference_t_score"]["hip"]
    p_op, p_pen = float(hip["fraction_osteoporosis"]), float(hip["fraction_osteopenia"])
    z_op, z_one = float(ndtri(p_op)), float(ndtri(p_op + p_pen))
    sd = 1.5 / (z_one - z_op)
    return -2.5 - sd * z_op, sd


@dataclass(frozen=True)
class _Tables:
    """ln(hazard offset) and ln(mortality) at the age knots, for one outcome, site and gradient."""

    log_offset: np.ndarray  # ln(k b c) + ln(g) * mean_T, so ln h = log_offset - ln(g) T
    log_g: float
    mu: np.ndarray  # death rate [per year] at each whole year of age from _AGE_RANGE[0] (piecewise constant)


def _family(site: str) -> str:
    return "lumbar_spine" if site == "lumbar_spine" else "hip"


def _tables(outcome: str, site: str, bound: str) -> _Tables:
    doc = _doc()
    entry = doc["outcomes"][outcome]
    g = gradient(entry["gradient"], site, bound)
    log_g = math.log(g)
    mean, sd = _reference_tables(doc)[_family(site)]
    log_b = _log_rate_table(outcome, doc) + math.log(_outcome_factor(outcome, doc))
    log_offset = log_b - 0.5 * (sd * log_g) ** 2 + log_g * mean
    return _Tables(log_offset, log_g, _mortality_table(doc))


def _mortality_table(doc: Mapping[str, Any]) -> np.ndarray:
    """Death rate [per year] at each whole year of age ``_AGE_RANGE[0], ..., _AGE_RANGE[1]`` from the life table.

    ``mu = -ln(1 - q_x)`` on ``[x, x + 1)`` (the hazard that reproduces the
    one-year survival ``1 - q_x``), ``l/T`` of the open interval from its age
    on, the first tabulated value below the table.
    """
    file = _data.label(_FILE)
    m = doc["mortality"]
    if m.get("law") != "life_table":
        raise _data.DataFileError(file, f"mortality.law must be 'life_table', got {m.get('law')!r}")
    ages = np.asarray(_data.entry(m, ("ages_years",), file, list), dtype=float)
    q = np.asarray(_data.entry(m, ("q_x",), file, list), dtype=float)
    if ages.size == 0 or ages.size != q.size:
        raise _data.DataFileError(file, "mortality.ages_years and mortality.q_x must be non-empty and of equal length")
    if not np.array_equal(ages, ages[0] + np.arange(ages.size)) or ages[0] != round(ages[0]):
        raise _data.DataFileError(file, "mortality.ages_years must be consecutive whole years of age")
    if not np.all((q > 0) & (q < 1)):
        raise _data.DataFileError(file, "mortality.q_x must be probabilities strictly between 0 and 1")
    open_age = _data.number(m, ("open_age_years",), file, 0.0, 130.0, unit="years")
    if open_age != ages[-1] + 1:
        raise _data.DataFileError(file, "mortality.open_age_years must follow the last of mortality.ages_years")
    l_open = _data.number(m, ("open_l_x",), file, 0.0, 1e7)
    t_open = _data.number(m, ("open_T_x",), file, 0.0, 1e9)
    if not 0 < l_open <= t_open * 10:
        raise _data.DataFileError(file, "mortality.open_l_x and open_T_x must be positive")
    lo, hi = _AGE_RANGE
    whole = np.arange(lo, hi + 1.0)
    rates = -np.log1p(-q)
    out = rates[np.clip(whole - ages[0], 0, ages.size - 1).astype(np.int64)]
    out[whole >= open_age] = l_open / t_open
    return out


def _mortality_at(table: np.ndarray, age: np.ndarray) -> np.ndarray:
    """The life-table death rate at ``age`` [years]: the value of the whole year of age it falls in."""
    lo, hi = _AGE_RANGE
    return table[(np.clip(age, lo, hi) - lo).astype(np.int64)]


def _lookup(table: np.ndarray, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Linear interpolation of a knot table at precomputed (index, weight): exact for piecewise-linear data."""
    out = np.diff(table)[index]
    out *= weight
    out += table[index]
    return out


def _age_index(age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = _AGE_RANGE
    x = (np.clip(age, lo, hi) - lo) / _AGE_KNOT
    idx = np.minimum(x.astype(np.int64), int(round((hi - lo) / _AGE_KNOT)) - 1)
    return idx, x - idx


def baseline_incidence(outcome: str, age: float | np.ndarray) -> np.ndarray:
    """Published incidence [per woman-year] of a first fracture of ``outcome`` at ``age``.

    Parameters
    ----------
    outcome : str
        One of :func:`outcomes`.
    age : float or 1-D array
        Age [years], in [0, 130]; held at the end values outside the data (45-90).

    Returns
    -------
    ndarray
        Rate per year (the calibrated factor included for ``any_clinical``).
    """
    check_choice("outcome", outcome, outcomes())
    a = as_float_array("age", age)
    check_range("age", a, 0.0, 130.0, unit="years")
    doc = _doc()
    table = _log_rate_table(outcome, doc) + math.log(_outcome_factor(outcome, doc))
    return np.exp(_lookup(table, *_age_index(a)))


def mortality(age: float | np.ndarray) -> np.ndarray:
    """Background mortality [per woman-year] of US women at ``age`` [years], from a period life table.

    ``-ln(1 - q_x)`` for ``x <= age < x + 1``, with ``q_x`` of the female
    life table of the data file (NCHS United States Life Tables, 2011;
    ages 40-99): constant within each year of age, so a woman's survival
    over a whole year of age is the table's ``1 - q_x``. From 100 years the
    open interval's rate ``l_100 / T_100``; below 40 years the age-40 value.
    Non-decreasing in age over the table.
    """
    a = as_float_array("age", age)
    check_range("age", a, 0.0, 130.0, unit="years")
    return _mortality_at(_mortality_table(_doc()), a)


def reference_t_score(site: str, age: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD of T-scores [SD] at ``site`` of women of ``age`` [years] in the baseline population."""
    from .sites import check_site

    check_site(site)
    a = as_float_array("age", age)
    check_range("age", a, 0.0, 130.0, unit="years")
    mean, sd = _reference_tables(_doc())[_family(site)]
    idx, w = _age_index(a)
    return _lookup(mean, idx, w), _lookup(sd, idx, w)


def hazard(
    outcome: str, age: float | np.ndarray, t_score: float | np.ndarray, site: str | None = None, bound: str = "estimate"
) -> np.ndarray:
    """Fracture hazard [per woman-year] of women of ``age`` [years] with T-score ``t_score`` [SD] at ``site``.

    ``age`` and ``t_score`` broadcast together. See the module notes for the formula.
    """
    check_choice("outcome", outcome, outcomes())
    site = default_site(outcome) if site is None else site
    check_choice("bound", bound, _BOUNDS)
    tab = _tables(outcome, site, bound)
    a = np.asarray(age, dtype=float)
    t = np.asarray(t_score, dtype=float)
    for name, arr in (("age", a), ("t_score", t)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite (no NaN or infinity)")
    check_range("age", a, 0.0, 130.0, unit="years")
    a, t = np.broadcast_arrays(a, t)
    idx, w = _age_index(a)
    return np.exp(_lookup(tab.log_offset, idx, w) - tab.log_g * t)


# -- integration ----------------------------------------------------------------------------------------
def _grid(times: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Integration nodes (uniform with ``step`` plus every output time) and the output times' node indices."""
    end = float(times.max())
    n = int(math.ceil(end / step - 1e-9)) if end > 0 else 0
    nodes = np.unique(np.concatenate((np.linspace(0.0, n * step, n + 1), times, [0.0])))
    nodes = nodes[nodes <= end]
    return nodes, np.searchsorted(nodes, times)


def _integrate(log_h: np.ndarray, mu: np.ndarray | None, dt: np.ndarray, index: np.ndarray, total: bool) -> np.ndarray:
    """Cumulative incidence at the output nodes ``index`` from step hazards, time-major.

    ``log_h`` and ``mu`` have shape (m, n) (steps x patients); ``log_h`` is
    overwritten. Returns (len(index), n), or with ``total`` the sum over
    patients, (len(index),).
    """
    h = np.exp(log_h, out=log_h)
    lam = h if mu is None else h + mu
    m, n = lam.shape
    surv = np.empty((m + 1, n))
    surv[0] = 1.0
    np.multiply(lam, dt[:, None], out=surv[1:])
    np.cumsum(surv[1:], axis=0, out=surv[1:])
    np.negative(surv[1:], out=surv[1:])
    np.exp(surv[1:], out=surv[1:])
    inc = surv[:-1] - surv[1:]  # (m, n): probability of leaving the fracture- and death-free state in each step
    if mu is not None:
        inc *= h
        inc /= lam  # lam >= mu > 0 with death on
    if total:
        nodes = np.concatenate(([0.0], np.cumsum(inc.sum(axis=1))))
        return nodes[index]
    out = np.zeros((m + 1, n))
    np.cumsum(inc, axis=0, out=out[1:])
    return out[index]


def _check_times(times: object, horizon: float) -> np.ndarray:
    tt = np.atleast_1d(as_float_array("times", times))
    check_range("times", tt, 0.0, horizon, unit="years")
    return tt


def _check_step(step: object) -> float:
    s = as_finite_float("step", step)
    check_range("step", np.asarray(s), *STEP_RANGE, unit="years")
    return s


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _check_outcomes(values: object) -> tuple[str, ...]:
    items = (values,) if isinstance(values, str) else values
    if not isinstance(items, Sequence) or not items:
        raise TypeError(f"outcomes must be an outcome name or a non-empty sequence of them, got {values!r}")
    known = outcomes()
    return tuple(check_choice("outcome", o, known) for o in items)


def _site_for(outcome: str, site: str | None, available: Sequence[str]) -> str:
    site = default_site(outcome) if site is None else site
    gradient(_doc()["outcomes"][outcome]["gradient"], site)  # refuses a site that does not predict the outcome
    if site not in available:
        raise ValueError(
            f"site {site!r} was not simulated (sites: {', '.join(available)}); pass sites= for {outcome!r}"
        )
    return site


def _incidence_block(
    age: np.ndarray,
    t_mid: Mapping[str, np.ndarray],
    mid: np.ndarray,
    dt: np.ndarray,
    index: np.ndarray,
    plan: Sequence[tuple[Any, str, _Tables]],
    death: bool,
    total: bool = False,
) -> dict:
    """Cumulative incidence at the output times for each (key, site, tables) of ``plan``.

    ``t_mid`` maps a site to T-scores at the step midpoints, shape (n, m).
    Returns key -> (n, len(index)) per patient, or with ``total`` the sum
    over patients, (len(index),).
    """
    idx, w = _age_index(mid[:, None] + age[None, :])  # time-major (m, n): cumulative sums run over rows
    mu = _mortality_at(plan[0][2].mu, mid[:, None] + age[None, :]) if death else None
    t_major = {s: np.ascontiguousarray(t.T) for s, t in t_mid.items()}
    out = {}
    for key, site, tab in plan:
        log_h = _lookup(tab.log_offset, idx, w)
        log_h -= tab.log_g * t_major[site]
        res = _integrate(log_h, mu, dt, index, total)
        out[key] = res if total else res.T
    return out


def _women_only(sex: str) -> None:
    """Refuse men: the incidence, mortality and gradients of this module are women's."""
    if sex != "female":
        raise ValueError(
            f"absolute fracture incidence is modelled for women only (its incidence, mortality and gradients are "
            f"women's); got patients of sex {sex!r}"
        )


def trajectory_incidence(
    traj: Trajectory,
    outcome: str,
    times: object,
    site: str | None = None,
    step: float = DEFAULT_STEP,
    death: bool = True,
    bound: str = "estimate",
) -> np.ndarray:
    """Cumulative incidence of a first fracture of ``outcome`` along a simulated trajectory.

    Parameters
    ----------
    traj : Trajectory
        From :func:`bmdsim.simulate` (one or many patients).
    outcome : str
        One of :func:`outcomes` ("hip", "clinical_vertebral", "major_osteoporotic", "any_clinical").
    times : float or 1-D array
        Times [years] in ``[0, traj.years]``.
    site : str, optional
        Site whose T-score drives the hazard; must predict the outcome
        (:func:`bmdsim.fracture.gradient`); :func:`default_site` if None.
    step : float
        Integration step [years] in :data:`STEP_RANGE` (default a quarter year).
    death : bool
        Death as a competing risk (default). False gives the incidence
        women would have if none died (higher).
    bound : {"estimate", "low", "high"}
        The gradient's point estimate or an end of its 95 % CI.

    Returns
    -------
    ndarray
        Fraction 0-1; shape ``(len(times),)`` for a scalar patient, else ``(n, len(times))``.

    Raises
    ------
    TypeError, ValueError
        Naming the field: unknown outcome or bound, a site not simulated or
        not predicting the outcome, times outside ``[0, years]``, a step out
        of range, ``death`` not a bool.
    """
    if not isinstance(traj, Trajectory):
        raise TypeError(f"traj must be a bmdsim.Trajectory (from bmdsim.simulate), got {type(traj).__name__}")
    _women_only(traj.patient.sex)
    check_choice("outcome", outcome, outcomes())
    site = _site_for(outcome, site, traj.sites)
    check_choice("bound", bound, _BOUNDS)
    tt = _check_times(times, traj.years)
    step = _check_step(step)
    death = _check_bool("death", death)
    nodes, index = _grid(tt, step)
    mid, dt = 0.5 * (nodes[1:] + nodes[:-1]), np.diff(nodes)
    age = np.atleast_1d(np.asarray(traj.patient.age, dtype=float))
    n = traj.patient.n
    age = np.broadcast_to(age, (n,))
    if mid.size:
        bmd = np.reshape(traj.bmd_at(site, mid), (n, mid.size))
        t_mid = {site: traj.reference.t_score(site, bmd)}
    else:
        t_mid = {site: np.zeros((n, 0))}
    res = _incidence_block(age, t_mid, mid, dt, index, [("x", site, _tables(outcome, site, bound))], death)["x"]
    return res[0] if np.ndim(traj.bmd(site)) == 1 else res


def integration_grid(horizon: float, step: float = DEFAULT_STEP) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints and lengths [years] of the integration steps over ``[0, horizon]``.

    The grid :func:`trajectory_incidence` uses for ``times=[horizon]``:
    uniform steps of ``step`` with a shorter last one ending at ``horizon``.
    Pass the midpoints' T-scores to :func:`t_score_incidence`.
    """
    end = as_finite_float("horizon", horizon)
    check_range("horizon", np.asarray(end), 0.0, 130.0, unit="years")
    nodes, _ = _grid(np.array([end]), _check_step(step))
    return 0.5 * (nodes[1:] + nodes[:-1]), np.diff(nodes)


def t_score_incidence(
    outcome: str,
    age: object,
    mid: object,
    dt: object,
    t_scores: object,
    site: str | None = None,
    death: bool = True,
    bound: str = "estimate",
) -> np.ndarray:
    """Cumulative incidence of a first fracture by the end of a step grid, from T-scores at the steps' midpoints.

    The integration of :func:`trajectory_incidence` for T-scores computed
    elsewhere (for example under a monitoring policy): hazard
    (:func:`hazard`) and death rate (:func:`mortality`) held at their
    midpoint values over each step, death competing.

    Parameters
    ----------
    outcome : str
        One of :func:`outcomes`.
    age : (n,) array
        Age [years] at time 0.
    mid, dt : (m,) arrays
        Midpoints and lengths [years] of consecutive steps from time 0 (:func:`integration_grid`).
    t_scores : (n, m) array
        T-score [SD] of each patient at each midpoint, at ``site``.
    site : str, optional
        Site of the T-scores; must predict the outcome (default :func:`default_site`).
    death, bound
        As :func:`trajectory_incidence`.

    Returns
    -------
    (n,) ndarray
        Fraction 0-1 of each patient's probability of a first fracture by ``sum(dt)``.
    """
    check_choice("outcome", outcome, outcomes())
    site = default_site(outcome) if site is None else site
    gradient(_doc()["outcomes"][outcome]["gradient"], site)  # refuses a site that does not predict the outcome
    check_choice("bound", bound, _BOUNDS)
    death = _check_bool("death", death)
    a = np.atleast_1d(as_float_array("age", age))
    check_range("age", a, 0.0, 130.0, unit="years")
    mid_ = np.atleast_1d(as_float_array("mid", mid))
    dt_ = np.atleast_1d(as_float_array("dt", dt))
    if a.ndim != 1 or mid_.ndim != 1 or dt_.shape != mid_.shape or np.any(dt_ < 0):
        raise ValueError("age must be 1-D, and mid and dt 1-D of equal length with dt >= 0")
    t = np.asarray(t_scores, dtype=float)
    if t.shape != (a.size, mid_.size):
        raise ValueError(f"t_scores must have shape (n, m) = ({a.size}, {mid_.size}), got {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("t_scores must be finite (no NaN or infinity)")
    index = np.array([mid_.size])
    plan = [("x", site, _tables(outcome, site, bound))]
    return _incidence_block(a, {site: t}, mid_, dt_, index, plan, death)["x"][:, 0]


# -- cohorts ---------------------------------------------------------------------------------------------
class CohortIncidence(tables.FrameDict):
    """What :func:`cohort_incidence` returns: its dict, plus :meth:`to_frame`."""

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome and time: ``per_1000`` with its parameter and gradient bands."""
        time = np.asarray(self["time"])
        rows: dict[str, list] = {
            k: []
            for k in (
                "outcome",
                "time_years",
                "cumulative_incidence",
                "per_1000",
                "parameter_low",
                "parameter_high",
                "gradient_low",
                "gradient_high",
            )
        }
        for o in self["outcomes"]:
            for j, t in enumerate(time):
                rows["outcome"].append(o)
                rows["time_years"].append(float(t))
                rows["cumulative_incidence"].append(float(self["mean"][o][j]))
                rows["per_1000"].append(float(self["per_1000"][o][j]))
                band = self["parameter_band"].get(o)
                rows["parameter_low"].append(float(band[0][j]) * 1000 if band is not None else math.nan)
                rows["parameter_high"].append(float(band[1][j]) * 1000 if band is not None else math.nan)
                grad = self["gradient_band"].get(o)
                rows["gradient_low"].append(float(grad[0][j]) * 1000 if grad is not None else math.nan)
                rows["gradient_high"].append(float(grad[1][j]) * 1000 if grad is not None else math.nan)
        return tables.frame(rows, "Cumulative incidence of a first fracture, death competing", INCIDENCE_UNITS)


def _cohort_mean(
    result: CohortResult,
    outcomes_: Sequence[str],
    sites: Mapping[str, str],
    tt: np.ndarray,
    step: float,
    death: bool,
    bounds: Sequence[str],
) -> dict[tuple[str, str], np.ndarray]:
    """Sum over patients of the cumulative incidence per (outcome, bound), streamed; divided by n."""
    nodes, index = _grid(tt, step)
    mid, dt = 0.5 * (nodes[1:] + nodes[:-1]), np.diff(nodes)
    plan = [((o, b), sites[o], _tables(o, sites[o], b)) for o in outcomes_ for b in bounds]
    needed = sorted({sites[o] for o in outcomes_})
    sums = {key: np.zeros(tt.size) for key, _, _ in plan}
    batch = max(1, _CELLS_PER_BATCH // max(1, mid.size))
    if batch > BLOCK_PATIENTS:  # whole blocks of random draws: each is drawn once per call, not once per site
        batch -= batch % BLOCK_PATIENTS
    for start, stop in result.chunks():
        for a in range(start, stop, batch):
            b = min(a + batch, stop)
            patient, _ = result.patients(a, b)
            age = np.asarray(patient.age, dtype=float)
            if mid.size:
                t_mid = {s: result.t_scores(s, mid, a, b) for s in needed}
            else:
                t_mid = {s: np.zeros((b - a, 0)) for s in needed}
            for key, value in _incidence_block(age, t_mid, mid, dt, index, plan, death, total=True).items():
                sums[key] += value
    return {key: v / result.n for key, v in sums.items()}


def _draw_cohort(result: CohortResult, k: int) -> CohortResult:
    """The same patients simulated with parameter draw ``k`` (common random numbers), via the public API."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the point cohort already warned about extrapolation
        return simulate_cohort(
            result.n,
            result.regimen,
            result.years,
            result.seed,
            chunk_size=result.chunk_size,
            population=result.population,
            variability=result.variability,
            params=result.parameter_draws[k],
            reference=result.reference,
            workers=result.workers,
            measurement_error=None,
        )


def cohort_incidence(
    result: CohortResult,
    times: object,
    outcomes: object = ("hip", "clinical_vertebral", "major_osteoporotic"),
    sites: Mapping[str, str] | None = None,
    step: float = DEFAULT_STEP,
    death: bool = True,
    draws: bool = True,
    gradient_band: bool = True,
) -> CohortIncidence:
    """Mean cumulative incidence of first fractures in a simulated cohort, with bands, streamed by chunk.

    Parameters
    ----------
    result : CohortResult
        From :func:`bmdsim.simulate_cohort`.
    times : float or 1-D array
        Times [years] in ``[0, result.years]``.
    outcomes : str or sequence of str
        Outcomes of :func:`outcomes`.
    sites : mapping of outcome -> site, optional
        Site driving each outcome (default :func:`default_site`).
    step : float
        Integration step [years] in :data:`STEP_RANGE`.
    death : bool
        Death as a competing risk (default True).
    draws : bool
        If the cohort has parameter draws, add the :data:`bmdsim.cohort.PARAMETER_INTERVAL`
        interval of the mean across them (one pass over the cohort per draw).
    gradient_band : bool
        Add the band from the gradient's 95 % CI (default; triples the
        integration work, not the simulation). False leaves ``gradient_band`` empty.

    Returns
    -------
    dict
        ``time`` [years]; ``outcomes``; ``mean``: outcome -> fraction (0-1)
        of women with a first fracture by each time, the mean over patients;
        ``per_1000``: the same per 1,000 women; ``gradient_band``: outcome ->
        (low, high) fractions with the ends of the gradient's 95 % CI (the
        risk model's own uncertainty); ``parameter_band``: outcome -> (low,
        high) across parameter draws (empty without draws);
        ``draw_means``: outcome -> (K, len(times)). ``.to_frame()`` gives a
        tidy table.

    Notes
    -----
    Exact mean over patients (to round-off) of :func:`trajectory_incidence`
    for each woman with her own loss multiplier; memory is bounded by a batch
    of patients x steps. Sampling error of ``n`` patients is not in the bands.
    """
    if not isinstance(result, CohortResult):
        raise TypeError(f"result must be a bmdsim.CohortResult, got {type(result).__name__}")
    _women_only(result.population.sex)
    outs = _check_outcomes(outcomes)
    sites = {} if sites is None else dict(sites)
    for key in sites:
        check_choice("sites key", key, outs)
    site_of = {o: _site_for(o, sites.get(o), result.sites) for o in outs}
    tt = _check_times(times, result.years)
    step = _check_step(step)
    death = _check_bool("death", death)
    draws = _check_bool("draws", draws)
    gradient_band = _check_bool("gradient_band", gradient_band)
    means = _cohort_mean(result, outs, site_of, tt, step, death, _BOUNDS if gradient_band else ("estimate",))
    out: dict[str, Any] = {
        "time": tt,
        "outcomes": outs,
        "sites": site_of,
        "mean": {o: means[o, "estimate"] for o in outs},
        "per_1000": {o: 1000.0 * means[o, "estimate"] for o in outs},
        "gradient_band": {
            o: (np.minimum(means[o, "low"], means[o, "high"]), np.maximum(means[o, "low"], means[o, "high"]))
            for o in outs
        }
        if gradient_band
        else {},
        "parameter_band": {},
        "draw_means": {},
    }
    if draws and result.parameter_draws:
        per_draw = [
            _cohort_mean(_draw_cohort(result, k), outs, site_of, tt, step, death, ("estimate",))
            for k in range(len(result.parameter_draws))
        ]
        for o in outs:
            stack = np.stack([d[o, "estimate"] for d in per_draw])
            low, high = np.percentile(stack, PARAMETER_INTERVAL, axis=0, method="inverted_cdf")
            out["parameter_band"][o] = (low, high)
            out["draw_means"][o] = stack
    return CohortIncidence(out)


class IncidenceComparison(tables.FrameDict):
    """What :func:`compare_incidence` returns: its dict, plus :meth:`to_frame`."""

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome and time: per 1,000 in each arm, fractures prevented and NNT."""
        rows: dict[str, list] = {
            k: []
            for k in ("outcome", "time_years", "control_per_1000", "treated_per_1000", "prevented_per_1000", "nnt")
        }
        for o in self["outcomes"]:
            for j, t in enumerate(self["time"]):
                rows["outcome"].append(o)
                rows["time_years"].append(float(t))
                rows["control_per_1000"].append(float(self["control_per_1000"][o][j]))
                rows["treated_per_1000"].append(float(self["treated_per_1000"][o][j]))
                rows["prevented_per_1000"].append(float(self["prevented_per_1000"][o][j]))
                rows["nnt"].append(float(self["nnt"][o][j]))
        return tables.frame(rows, "First fractures prevented and number needed to treat", INCIDENCE_UNITS)


def number_needed_to_treat(prevented_fraction: float | np.ndarray) -> np.ndarray:
    """NNT = 1 / (absolute risk reduction); ``inf`` where nothing is prevented, negative where harm is done."""
    arr = np.asarray(prevented_fraction, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(arr == 0.0, np.inf, 1.0 / np.where(arr == 0.0, 1.0, arr))


def compare_incidence(
    control: CohortResult,
    treated: CohortResult,
    times: object,
    outcomes: object = ("hip", "clinical_vertebral", "major_osteoporotic"),
    step: float = DEFAULT_STEP,
    death: bool = True,
) -> IncidenceComparison:
    """Fractures prevented per 1,000 women and the number needed to treat, ``treated`` against ``control``.

    Parameters
    ----------
    control, treated : CohortResult
        The same women (same ``n``, seed, population and variability: common
        random numbers) on two regimens, so the difference is the regimens'.
    times, outcomes, step, death
        As :func:`cohort_incidence`.

    Returns
    -------
    dict
        ``time``, ``outcomes``, ``control_per_1000``, ``treated_per_1000``,
        ``prevented_per_1000`` (control minus treated; negative if the
        treated arm has more fractures) and ``nnt`` (``1000 / prevented``;
        ``inf`` if none is prevented, negative: number needed to harm),
        each outcome -> array over ``times``.

    Raises
    ------
    ValueError
        If the two cohorts are not the same women (n, seed, population, variability, years).
    """
    for name, r in (("control", control), ("treated", treated)):
        if not isinstance(r, CohortResult):
            raise TypeError(f"{name} must be a bmdsim.CohortResult, got {type(r).__name__}")
    for attr in ("n", "seed", "years", "population", "variability"):
        if getattr(control, attr) != getattr(treated, attr):
            raise ValueError(
                f"control and treated must be the same simulated women (common random numbers): their {attr} differ"
            )
    a = cohort_incidence(control, times, outcomes, step=step, death=death, draws=False, gradient_band=False)
    b = cohort_incidence(treated, times, outcomes, step=step, death=death, draws=False, gradient_band=False)
    prevented = {o: a["per_1000"][o] - b["per_1000"][o] for o in a["outcomes"]}
    return IncidenceComparison(
        {
            "time": a["time"],
            "outcomes": a["outcomes"],
            "control_per_1000": a["per_1000"],
            "treated_per_1000": b["per_1000"],
            "prevented_per_1000": prevented,
            "nnt": {o: number_needed_to_treat(p / 1000.0) for o, p in prevented.items()},
        }
    )


# -- validation -----------------------------------------------------------------------------------------
#: Women in the validation cohorts (common random numbers across rows).
VALIDATION_N = 20_000
#: Seed of the validation cohorts.
VALIDATION_SEED = 2015


def validation_rows() -> list[dict[str, Any]]:
    """The published fracture rates of ``data/targets/fracture_rates.json``, as dicts."""
    return list(_data.read_json(_TARGETS)["rows"])


def agreement_factor() -> float:
    """The factor within which held-out published rates must agree with the model (and why: see the file)."""
    return float(_data.read_json(_TARGETS)["agreement"]["factor"])


def _regimen(name: str) -> Regimen:
    spec = _data.read_json(_TARGETS)["regimens"][name]["exposures"]
    return Regimen([Exposure(e["agent"], start=e["start"], stop=e["stop"]) for e in spec])


def _model_pct(rows: Sequence[Mapping[str, Any]], n: int, seed: int, factor: float | None = None) -> list[float]:
    """Model cumulative incidence [%] for each row, one cohort per regimen (same women for all)."""
    horizon = max(r["months"] for r in rows) / 12.0
    by_regimen: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_regimen.setdefault(r["regimen"], []).append(i)
    out = [math.nan] * len(rows)
    for name, idx in by_regimen.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cohort = simulate_cohort(n, _regimen(name), horizon, seed, workers=1)
        for outcome in sorted({rows[i]["outcome"] for i in idx}):
            times = np.array(sorted({rows[i]["months"] / 12.0 for i in idx if rows[i]["outcome"] == outcome}))
            if outcome == "any_clinical" and factor is not None:
                inc = _mean_with_factor(cohort, times, factor)
            else:
                inc = cohort_incidence(cohort, times, outcome, draws=False, gradient_band=False)["mean"][outcome]
            for i in idx:
                if rows[i]["outcome"] == outcome:
                    out[i] = 100.0 * float(inc[np.searchsorted(times, rows[i]["months"] / 12.0)])
    return out


def _mean_with_factor(cohort: CohortResult, times: np.ndarray, factor: float) -> np.ndarray:
    """Mean any_clinical incidence with a trial factor ``factor`` in place of the shipped one."""
    site = default_site("any_clinical")
    tab = _tables("any_clinical", site, "estimate")
    shipped = _outcome_factor("any_clinical", _doc())
    tab = _Tables(tab.log_offset + math.log(factor / shipped), tab.log_g, tab.mu)
    nodes, index = _grid(times, DEFAULT_STEP)
    mid, dt = 0.5 * (nodes[1:] + nodes[:-1]), np.diff(nodes)
    total = np.zeros(times.size)
    for start, stop in cohort.chunks():
        patient, _ = cohort.patients(start, stop)
        t_mid = {site: cohort.t_scores(site, mid, start, stop)}
        total += _incidence_block(np.asarray(patient.age), t_mid, mid, dt, index, [("x", site, tab)], True, total=True)[
            "x"
        ]
    return total / cohort.n


def calibrate_any_clinical(n: int = VALIDATION_N, seed: int = VALIDATION_SEED) -> float:
    """The any_clinical factor that reproduces the 'calibrate' row(s) of the fracture targets (bisection on log k).

    Returns the factor; it does not write the data file (copy it into
    ``data/fracture_incidence.json``, ``outcomes.any_clinical.factor``).
    """
    n = as_int("n", n, 100, 10_000_000)
    rows = [r for r in validation_rows() if r["role"] == "calibrate"]
    lo, hi = math.log(0.1), math.log(20.0)
    for _ in range(40):
        k = math.exp(0.5 * (lo + hi))
        model = _model_pct(rows, n, seed, factor=k)
        if sum(m - r["pct"] for m, r in zip(model, rows, strict=True)) > 0:
            hi = math.log(k)
        else:
            lo = math.log(k)
    return round(math.exp(0.5 * (lo + hi)), 4)


class FractureValidation(tables.FrameDict):
    """What :func:`fracture_validation` returns: columns as lists, plus :meth:`to_frame` and :meth:`to_text`."""

    def to_frame(self) -> pd.DataFrame:
        """The table as a tidy DataFrame (one row per published rate)."""
        columns = {k: v for k, v in self.items() if k != "factor"}
        return tables.frame(columns, "Model against published fracture rates", INCIDENCE_UNITS)

    def to_text(self) -> str:
        """The table as aligned text (what ``python -m bmdsim.fracture_incidence`` prints)."""
        head = f"{'id':<24}{'role':<10}{'months':>7}{'published %':>13}{'model %':>9}{'ratio':>7}"
        head += f"  within x{self['factor']:g}"
        lines = [head, "-" * len(head)]
        for i in range(len(self["id"])):
            ok = {True: "yes", False: "NO", None: "-"}[self["within_factor"][i]]
            lines.append(
                f"{self['id'][i]:<24}{self['role'][i]:<10}{self['months'][i]:>7g}{self['published_pct'][i]:>13.1f}"
                f"{self['model_pct'][i]:>9.1f}{self['ratio'][i]:>7.2f}  {ok}"
            )
        return "\n".join(lines)


def fracture_validation(n: int = VALIDATION_N, seed: int = VALIDATION_SEED) -> FractureValidation:
    """Model against every published fracture rate of ``data/targets/fracture_rates.json``.

    Parameters
    ----------
    n : int
        Women per simulated cohort (default :data:`VALIDATION_N`; 100 to 10,000,000).
    seed : int
        Seed of the cohorts (the same women for every regimen).

    Returns
    -------
    dict of columns
        ``id``, ``study``, ``arm``, ``role`` (calibrate / validate / context),
        ``months``, ``published_pct``, ``model_pct``, ``ratio`` (model /
        published), ``within_factor`` (bool for validate rows, None
        otherwise), ``citation``, ``verification``; and ``factor``, the
        agreement factor stated in the targets file.
    """
    n = as_int("n", n, 100, 10_000_000)
    rows = validation_rows()
    model = _model_pct(rows, n, seed)
    factor = agreement_factor()
    ratio = [m / r["pct"] for m, r in zip(model, rows, strict=True)]
    within = [
        (1.0 / factor <= q <= factor) if r["role"] == "validate" else None for q, r in zip(ratio, rows, strict=True)
    ]
    out = FractureValidation(
        {
            "id": [r["id"] for r in rows],
            "study": [r["study"] for r in rows],
            "arm": [r["arm"] for r in rows],
            "role": [r["role"] for r in rows],
            "months": [float(r["months"]) for r in rows],
            "published_pct": [float(r["pct"]) for r in rows],
            "model_pct": model,
            "ratio": ratio,
            "within_factor": within,
            "citation": [r["citation"] for r in rows],
            "verification": [r["verification"] for r in rows],
        }
    )
    out["factor"] = factor
    return out


def main() -> None:
    """Print the validation table (``python -m bmdsim.fracture_incidence``)."""
    table = fracture_validation()
    print(f"Fracture incidence: model against published rates ({VALIDATION_N:,} simulated women per regimen)")
    print(table.to_text())
    held = [w for w in table["within_factor"] if w is not None]
    print(f"held-out rows within a factor of {table['factor']:g}: {sum(held)} of {len(held)}")


if __name__ == "__main__":
    main()
