"""Relative fracture risk from the BMD trajectory.

Each standard deviation of BMD lost multiplies the risk of fracture by a
gradient (Marshall et al. 1996): 1.5 for any fracture with BMD at any site,
2.3 for vertebral fractures with lumbar-spine BMD, 2.6 for hip fractures with
hip BMD. With T-scores ``T(t)`` the relative risk against a reference
T-score ``T_ref`` is

.. math:: \\mathrm{RR}(t) = g^{\\,T_\\mathrm{ref} - T(t)}

and ``T_ref`` defaults to the patient's own baseline T-score, so the result
reads "how much higher than at the baseline scan".

Limits
------
This is a *relative* risk from BMD alone. It is not an absolute fracture
probability and not FRAX: it ignores age, prior fracture, falls and every
other clinical risk factor, and the gradients come from cohorts of women not
treated for breast cancer. An optional multiplier for aromatase-inhibitor use
(Tseng et al. 2018, 1.17) applies while a patient is on the drug; because
part of that excess is carried by the BMD loss the gradient already counts,
applying both overstates the risk (off by default).

Cohorts
-------
:func:`cohort_relative_risk` summarises a :class:`bmdsim.CohortResult` chunk by
chunk: the mean and percentiles of the women's individual relative risks,
and the cohort's *relative incidence*, the fractures expected at time ``t``
relative to the same women at their baseline BMD,

.. math:: R(t) = \\frac{\\sum_i m_i(t)\\, g^{-T_i(t)}}{\\sum_i g^{-T_i(0)}},

with ``m_i(t)`` the AI multiplier (1 when it is off or not asked for). The
ratio of sums is the ratio of expected fracture counts under the assumption
that the gradient holds multiplicatively for every woman: her hazard is a
baseline hazard, common to all, times ``g^{-T}``, and nothing else about her
changes over time (age, falls, treatment of the cancer). The common hazard
cancels. :func:`compare_fracture_risk` tabulates it for several regimens on
the same simulated women.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _data, limits, tables
from ._validation import as_finite_float, check_allocation, check_choice, check_range, check_text
from .cohort import DEFAULT_PERCENTILES, CohortResult, histogram_percentiles, simulate_cohort
from .regimen import Regimen
from .simulation import Trajectory
from .sites import check_site

if TYPE_CHECKING:  # pragma: no cover - annotations only; pandas is imported when a table is made
    import pandas as pd

_FILE = "fracture_risk.json"
#: Bin width of the ln(relative risk) histograms behind the cohort percentiles (0.1 % in relative risk).
LOG_RR_BIN = 1e-3
#: Range of those histograms in ln(relative risk); a value outside is an error, not clipped.
LOG_RR_GRID = (-20.0, 20.0)
#: Elements (patients x times) evaluated at once (bounds memory).
_CELLS_PER_BATCH = 1_000_000
#: The two ends of the gradient's 95 % confidence interval, in the order of the ``*_ci`` outputs.
_CI_BOUNDS = ("low", "high")
#: Units of the fracture tables' columns (the shared ones are in :data:`bmdsim.tables.UNITS`).
FRACTURE_UNITS: dict[str, str] = {
    "relative_risk": "ratio: fracture risk against the reference T-score (1 at the reference)",
    "statistic": (
        "relative_risk_mean (mean of the women's relative risks), relative_incidence (expected fractures "
        "relative to the same women at baseline) or relative_risk_percentile (at `percentile`)"
    ),
    "percentile": "per cent (0-100) of the women; NaN for the other statistics",
    "value": "ratio, with the gradient's point estimate (or the bound asked for)",
    "value_gradient_low": "ratio, with the low end of the gradient's 95 % CI (NaN for percentiles)",
    "value_gradient_high": "ratio, with the high end of the gradient's 95 % CI (NaN for percentiles)",
    "relative_incidence": "ratio: fractures expected at time_years relative to the same women at baseline",
    "relative_incidence_gradient_low": "ratio: relative_incidence with the low end of the gradient's 95 % CI",
    "relative_incidence_gradient_high": "ratio: relative_incidence with the high end of the gradient's 95 % CI",
    "median_relative_risk": "ratio: the median woman's relative risk against her own baseline",
}


def outcomes() -> dict[str, tuple[str, ...]]:
    """Fracture outcomes with the sites whose BMD predicts them."""
    return {k: tuple(v["sites"]) for k, v in _data.read_json(_FILE)["gradients"].items()}


def gradient(outcome: str, site: str, bound: str = "estimate") -> float:
    """Relative risk per 1 SD decrease in BMD at ``site`` for ``outcome``.

    Parameters
    ----------
    outcome : {"any", "vertebral", "hip"}
    site : str
        Must predict ``outcome``: any site for "any", the lumbar spine for
        "vertebral", a hip site for "hip".
    bound : {"estimate", "low", "high"}
        The point estimate or a limit of its 95 % confidence interval.
    """
    table = _data.read_json(_FILE)["gradients"]
    check_choice("outcome", outcome, table)
    check_site(site)
    entry = table[outcome]
    if site not in entry["sites"]:
        raise ValueError(
            f"site {site!r} does not predict {outcome!r} fractures in the source; "
            f"use one of {', '.join(entry['sites'])}"
        )
    check_choice("bound", bound, ("estimate", "low", "high"))
    return float({"estimate": entry["rr_per_sd"], "low": entry["ci95"][0], "high": entry["ci95"][1]}[bound])


def relative_risk(
    traj: Trajectory,
    site: str,
    outcome: str = "any",
    reference_t_score: float | None = None,
    bound: str = "estimate",
    ai_multiplier: bool = False,
) -> np.ndarray:
    """Relative fracture risk at :attr:`Trajectory.time`, from the T-score at ``site``.

    Parameters
    ----------
    traj : Trajectory
    site : str
    outcome : {"any", "vertebral", "hip"}
    reference_t_score : float, optional
        T-score [SD] in ``bmdsim.limits.T_SCORE`` at which the relative risk
        is 1; the patient's baseline if None.
    bound : {"estimate", "low", "high"}
        Which gradient to use (point estimate or 95 % CI limit).
    ai_multiplier : bool
        Multiply by the AI-use relative risk (1.17) while on an aromatase
        inhibitor. Off by default: it partly double counts BMD loss.

    Returns
    -------
    ndarray
        Shape of ``traj.t_score(site)``: ``(m,)`` or ``(n, m)``.

    Raises
    ------
    TypeError
        ``traj`` not a Trajectory, ``ai_multiplier`` not a bool,
        ``reference_t_score`` not a real number.
    ValueError
        Unknown ``outcome`` or ``bound``, a site not simulated or not
        predicting ``outcome``, ``reference_t_score`` not finite or outside
        ``bmdsim.limits.T_SCORE``.
    """
    if not isinstance(traj, Trajectory):
        raise TypeError(f"traj must be a bmdsim.Trajectory (from bmdsim.simulate), got {type(traj).__name__}")
    if not isinstance(ai_multiplier, (bool, np.bool_)):
        raise TypeError(f"ai_multiplier must be True or False, got {ai_multiplier!r}")
    g = gradient(outcome, site, bound)
    if reference_t_score is not None:
        ref = as_finite_float("reference_t_score", reference_t_score)
        check_range("reference_t_score", np.asarray(ref), *limits.T_SCORE, unit="SD")
    t = np.asarray(traj.t_score(site))
    if reference_t_score is None:
        ref = t[..., :1]
    rr = g ** (ref - t)
    if ai_multiplier:
        mult = _data.read_json(_FILE)["aromatase_inhibitor_multiplier"]["rr"]
        on = np.zeros(t.shape, dtype=bool)
        for e in traj.regimen:
            if e.agent == "aromatase_inhibitor":
                start, stop = traj.exposure_times(e)
                start = np.asarray(start, dtype=float)[..., None] if np.ndim(start) else start
                stop = np.asarray(stop, dtype=float)[..., None] if np.ndim(stop) else stop
                on |= (traj.time >= start) & (traj.time < stop)
        rr = np.where(on, rr * mult, rr)
    return rr


def relative_risk_frame(
    traj: Trajectory,
    site: str,
    outcome: str = "any",
    reference_t_score: float | None = None,
    bound: str = "estimate",
    ai_multiplier: bool = False,
) -> pd.DataFrame:
    """:func:`relative_risk` as a tidy table: one row per patient and output time.

    Parameters are those of :func:`relative_risk` (same checks and errors).

    Returns
    -------
    pandas.DataFrame
        Columns ``patient`` (int64), ``site``, ``outcome``, ``time_years``
        [years] and ``relative_risk`` (ratio), equal to
        :func:`relative_risk`; ``df.attrs`` also keeps the inputs
        (``reference_t_score``, ``bound``, ``ai_multiplier``, ``gradient``).
    """
    rr = np.atleast_2d(relative_risk(traj, site, outcome, reference_t_score, bound, ai_multiplier))
    n, m = rr.shape
    columns = {
        "patient": np.repeat(np.arange(n, dtype=np.int64), m),
        "site": [site] * (n * m),
        "outcome": [outcome] * (n * m),
        "time_years": np.tile(traj.time, n),
        "relative_risk": rr.reshape(-1),
    }
    against = "her baseline" if reference_t_score is None else f"T = {float(reference_t_score):g}"
    out = tables.frame(columns, f"Relative {outcome} fracture risk from {site} BMD, against {against}", FRACTURE_UNITS)
    out.attrs["inputs"] = {
        "reference_t_score": "baseline" if reference_t_score is None else float(reference_t_score),
        "bound": bound,
        "ai_multiplier": bool(ai_multiplier),
        "gradient": gradient(outcome, site, bound),
    }
    return out


def _ai_multiplier() -> float:
    return float(_data.read_json(_FILE)["aromatase_inhibitor_multiplier"]["rr"])


def _check_reference(reference: object) -> float | None:
    """None for the patient's own baseline, else the fixed reference T-score [SD]."""
    if isinstance(reference, str):
        if reference != "baseline":
            raise ValueError(f"reference must be 'baseline' or a T-score [SD], got {reference!r}")
        return None
    try:
        value = as_finite_float("reference", reference)
    except TypeError:
        raise TypeError(
            f"reference must be 'baseline' or a T-score [SD], got {reference!r} of type {type(reference).__name__}"
        ) from None
    check_range("reference", np.asarray(value), *limits.T_SCORE, unit="SD")
    return value


def _on_ai(traj: Trajectory, times: np.ndarray) -> np.ndarray:
    """Whether each patient of ``traj`` is on an aromatase inhibitor at ``times``: shape (n or 1, m)."""
    on = np.zeros((1, times.size), dtype=bool)
    for e in traj.regimen:
        if e.agent == "aromatase_inhibitor":
            start, stop = traj.exposure_times(e)  # per patient for event-started courses, else floats
            start = np.asarray(start, dtype=float).reshape(-1, 1)
            stop = np.asarray(stop, dtype=float).reshape(-1, 1)
            on = on | ((times[None, :] >= start) & (times[None, :] < stop))
    return on


class CohortRelativeRisk(tables.FrameDict):
    """What :func:`cohort_relative_risk` returns: its dict, plus :meth:`to_frame`."""

    def to_frame(self) -> pd.DataFrame:
        """The numbers as a tidy table: one row per statistic (and percentile) and time.

        Returns
        -------
        pandas.DataFrame
            Columns ``site``, ``outcome``, ``statistic``
            (``relative_risk_mean``, ``relative_incidence``,
            ``relative_risk_percentile``), ``percentile`` (0-100, NaN for the
            means), ``time_years`` [years], ``value`` (ratio) and
            ``value_gradient_low`` / ``value_gradient_high`` (with the ends of
            the gradient's 95 % CI; NaN for percentiles). Rows: the means,
            then the relative incidence, then each percentile, each over
            time. ``df.attrs["inputs"]`` keeps ``gradient``, ``gradient_ci``,
            ``bound``, ``reference`` and ``ai_multiplier``.
        """
        time = np.asarray(self["time"], dtype=float)
        m = time.size
        q = np.asarray(self["q"], dtype=float)
        nan = np.full(m, np.nan)
        blocks = [
            ("relative_risk_mean", np.nan, self["mean"], *np.asarray(self["mean_ci"], dtype=float)),
            ("relative_incidence", np.nan, self["relative_incidence"], *np.asarray(self["relative_incidence_ci"])),
        ]
        blocks += [
            ("relative_risk_percentile", p, row, nan, nan) for p, row in zip(q, self["percentiles"], strict=True)
        ]
        columns = {
            "site": [self["site"]] * (m * len(blocks)),
            "outcome": [self["outcome"]] * (m * len(blocks)),
            "statistic": [b[0] for b in blocks for _ in range(m)],
            "percentile": np.repeat([b[1] for b in blocks], m).astype(float),
            "time_years": np.tile(time, len(blocks)),
            "value": np.concatenate([np.asarray(b[2], dtype=float) for b in blocks]),
            "value_gradient_low": np.concatenate([np.asarray(b[3], dtype=float) for b in blocks]),
            "value_gradient_high": np.concatenate([np.asarray(b[4], dtype=float) for b in blocks]),
        }
        title = f"Relative {self['outcome']} fracture risk of the cohort from {self['site']} BMD"
        out = tables.frame(columns, title, FRACTURE_UNITS)
        out.attrs["inputs"] = {
            "gradient": float(self["gradient"]),
            "gradient_ci": [float(g) for g in self["gradient_ci"]],
            "bound": self["bound"],
            "reference": self["reference"],
            "ai_multiplier": bool(self["ai_multiplier"]),
        }
        return out


def cohort_relative_risk(
    result: CohortResult,
    site: str,
    times: float | Sequence[float] | np.ndarray,
    outcome: str = "any",
    reference: str | float = "baseline",
    bound: str = "estimate",
    ai_multiplier: bool = False,
    q: Sequence[float] = DEFAULT_PERCENTILES,
) -> CohortRelativeRisk:
    """Relative fracture risk of a simulated cohort over time, streamed by chunk.

    Parameters
    ----------
    result : CohortResult
        From :func:`bmdsim.simulate_cohort`.
    site : str
        A simulated site whose BMD predicts ``outcome`` (see :func:`gradient`).
    times : float or 1-D array
        Times [years] in ``[0, result.years]``.
    outcome : {"any", "vertebral", "hip"}
    reference : "baseline" or float
        Where a woman's relative risk is 1: her own baseline T-score
        (default), or a fixed T-score [SD] in ``bmdsim.limits.T_SCORE``
        (e.g. ``0.0``, the young-adult mean). Does not change
        ``relative_incidence``.
    bound : {"estimate", "low", "high"}
        Gradient behind ``mean``, ``percentiles`` and ``relative_incidence``:
        Marshall's point estimate or an end of its 95 % CI.
    ai_multiplier : bool
        Multiply by the AI-use relative risk (Tseng 2018, 1.17, point
        estimate whatever ``bound``) at times a woman is on an aromatase
        inhibitor, per woman (courses started on an event differ between
        women). Off by default: it partly double counts the BMD loss.
    q : sequence of float
        Percentiles in [0, 100] of the individual relative risk.

    Returns
    -------
    dict
        ``time`` [years], shape ``(m,)``;
        ``mean``: the cohort's mean individual relative risk, ``(m,)``;
        ``mean_ci``: the same with the CI's low and high gradient, ``(2, m)``;
        ``q`` and ``percentiles``: percentiles of the individual relative
        risk, ``(len(q), m)``;
        ``relative_incidence``: fractures expected at each time relative to
        the same women at their baseline BMD (see the module notes), ``(m,)``;
        ``relative_incidence_ci``: the same with the CI's low and high
        gradient, ``(2, m)`` (the band; where T-scores rise above baseline
        the low gradient gives the higher value);
        ``gradient``: the gradient used [per SD]; ``gradient_ci``: the CI's
        ends; ``outcome``, ``site``, ``bound``, ``reference`` and
        ``ai_multiplier``: the inputs. Its ``.to_frame()`` gives the same
        numbers as a tidy table (:meth:`CohortRelativeRisk.to_frame`).

    Raises
    ------
    ValueError
        Naming the field: unknown ``outcome`` or ``bound``, a site not
        simulated or not predicting ``outcome``, ``times`` outside
        ``[0, years]``, a ``reference`` other than "baseline" or a T-score in
        ``bmdsim.limits.T_SCORE``, ``q`` outside [0, 100].
    TypeError
        ``ai_multiplier`` not a bool, ``result`` not a CohortResult.

    Notes
    -----
    ``mean`` and ``percentiles`` describe women (each against her own
    reference); ``relative_incidence`` describes fracture counts: it is the
    mean of the individual relative risks against baseline weighted by each
    woman's baseline risk ``g^{-T_i(0)}``, so women with low BMD count more.
    The means are exact sums over all women (to round-off, summed batch by
    batch). Percentiles cannot be merged across chunks, so each batch adds
    its ln(relative risk) to histograms with bins of :data:`LOG_RR_BIN` on
    :data:`LOG_RR_GRID`; a percentile is read linearly within its bin and
    lies within a factor ``exp(0.001)`` (0.1 %) of an order statistic of the
    exact values, and never outside the smallest and largest of them (so
    exactly 1 at baseline against baseline); the 0th and 100th percentiles
    are the exact minimum and maximum. Memory is bounded by those histograms and a batch of
    patients x times, never ``n x len(times)``.

    This is relative risk from BMD alone. It is not an absolute risk and not
    FRAX; the gradients come from women without breast cancer (Marshall et
    al., BMJ 1996, doi:10.1136/bmj.312.7041.1254, Abstract).
    """
    if not isinstance(result, CohortResult):
        raise TypeError(f"result must be a bmdsim.CohortResult, got {type(result).__name__}")
    if result.population.sex != "female":
        raise ValueError(
            "relative fracture risk uses gradients from women (Marshall 1996); got a cohort of sex "
            f"{result.population.sex!r}"
        )
    check_choice("outcome", outcome, outcomes())
    site = result.check_site(site)
    g = gradient(outcome, site, bound)
    g_ci = tuple(gradient(outcome, site, b) for b in _CI_BOUNDS)
    tt = result.check_times(times)
    ref = _check_reference(reference)
    if not isinstance(ai_multiplier, (bool, np.bool_)):
        raise TypeError(f"ai_multiplier must be True or False, got {ai_multiplier!r}")
    qq = result.check_percentiles(q)
    mult = _ai_multiplier() if ai_multiplier else 1.0

    m = tt.size
    lo, hi = LOG_RR_GRID
    bins = int(round((hi - lo) / LOG_RR_BIN))
    check_allocation(
        f"cohort_relative_risk: percentile histograms of {bins} bins for each of {m} times",
        float(m) * bins,
        hint="ask for fewer times (each needs 320 KB of histogram)",
    )
    grads = (g, *g_ci)
    mean_sum = np.zeros((len(grads), m))
    risk_sum = np.zeros((len(grads), 1 + m))  # column 0: at baseline, off the multiplier
    counts = np.zeros((m, bins), dtype=np.int64)
    offsets = (np.arange(m) * bins)[None, :]
    log_min, log_max = np.full(m, np.inf), np.full(m, -np.inf)
    step = max(1, _CELLS_PER_BATCH // (m + 1))
    with_zero = np.concatenate(([0.0], tt))
    for start, stop in result.chunks():
        for a in range(start, stop, step):
            traj = result.trajectory(a, min(a + step, stop))
            t_all = traj.scaled_t_score(site, with_zero)  # (batch, 1 + m); column 0 is the baseline
            t0, t = t_all[:, :1], t_all[:, 1:]
            exponent = (t0 if ref is None else ref) - t
            factor = np.where(_on_ai(traj, tt), mult, 1.0) if ai_multiplier else np.ones((1, m))
            factor_all = np.concatenate((np.ones((factor.shape[0], 1)), factor), axis=1)
            for k, gk in enumerate(grads):
                rr = gk**exponent * factor
                mean_sum[k] += rr.sum(axis=0)
                # Same reduction for every column, so R(0) is exactly 1 when the multiplier is off at 0.
                risk_sum[k] += (gk**-t_all * factor_all).sum(axis=0)
                if k == 0:
                    log_rr = np.log(rr)
                    low_now, high_now = log_rr.min(axis=0), log_rr.max(axis=0)
                    if low_now.min() < lo or high_now.max() >= hi:
                        bad = low_now.min() if low_now.min() < lo else high_now.max()
                        raise ValueError(
                            f"a relative risk of exp({bad:.3g}) is outside the histogram range "
                            f"exp({lo:g})..exp({hi:g}) of the percentiles; check the young-adult reference"
                        )
                    log_min, log_max = np.minimum(log_min, low_now), np.maximum(log_max, high_now)
                    idx = ((log_rr - lo) / LOG_RR_BIN).astype(np.int64)
                    counts += np.bincount((idx + offsets).ravel(), minlength=m * bins).reshape(m, bins)
    n = result.n
    # Read within a bin, then kept within the smallest and largest exact value (exact when all are equal).
    log_pct = np.clip(histogram_percentiles(counts, qq, n, lo, LOG_RR_BIN), log_min, log_max)
    log_pct[qq == 0.0], log_pct[qq == 100.0] = log_min, log_max  # the exact extremes
    percentiles = np.exp(log_pct)
    incidence = risk_sum[:, 1:] / risk_sum[:, :1]
    return CohortRelativeRisk(
        {
            "time": tt,
            "mean": mean_sum[0] / n,
            "mean_ci": mean_sum[1:] / n,
            "q": qq,
            "percentiles": percentiles,
            "relative_incidence": incidence[0],
            "relative_incidence_ci": incidence[1:],
            "gradient": g,
            "gradient_ci": np.array(g_ci),
            "outcome": outcome,
            "site": site,
            "bound": bound,
            "reference": "baseline" if ref is None else ref,
            "ai_multiplier": bool(ai_multiplier),
        }
    )


class FractureComparison(tables.FrameDict):
    """What :func:`compare_fracture_risk` returns: its dict of columns, plus :meth:`to_frame`.

    Attributes
    ----------
    site, outcome : str
        The site whose BMD predicts the outcome, and the outcome.
    """

    def __init__(self, data: Mapping[str, list], site: str, outcome: str, rows: list[dict[str, Any]]) -> None:
        super().__init__(data)
        self.site, self.outcome = site, outcome
        self._rows = rows

    def to_frame(self) -> pd.DataFrame:
        """The comparison as a tidy table: one row per regimen and time.

        Returns
        -------
        pandas.DataFrame
            Columns ``regimen``, ``site``, ``outcome``, ``time_years``
            [years], ``relative_incidence``, ``relative_incidence_gradient_low``,
            ``relative_incidence_gradient_high`` and ``median_relative_risk``
            (ratios; see :func:`compare_fracture_risk`). Units in
            ``df.attrs["units"]``.
        """
        names = ["regimen", "site", "outcome", "time_years", "relative_incidence"]
        names += [f"relative_incidence_gradient_{b}" for b in _CI_BOUNDS] + ["median_relative_risk"]
        columns = {name: [row[name] for row in self._rows] for name in names}
        title = f"Relative {self.outcome} fracture incidence from {self.site} BMD, regimens on the same women"
        return tables.frame(columns, title, FRACTURE_UNITS)


def compare_fracture_risk(
    regimens: Mapping[str, Regimen],
    n: int,
    years: float,
    seed: int,
    site: str = "total_hip",
    outcome: str = "hip",
    at_years: Sequence[float] = (5.0, 10.0),
    ai_multiplier: bool = False,
    **kwargs: Any,
) -> FractureComparison:
    """A table of relative fracture incidence for several regimens on the same simulated women.

    Parameters
    ----------
    regimens : mapping of str -> Regimen
        Regimens by name (a string of at most 10,000 characters).
    n, years, seed
        As :func:`bmdsim.simulate_cohort`; every regimen gets the same women
        (common random numbers), so differences are due to the regimens.
    site : str
        Site whose BMD predicts ``outcome`` (default: total hip for hip fractures).
    outcome : {"any", "vertebral", "hip"}
    at_years : sequence of float
        Times [years] in ``[0, years]`` at which the table reports.
    ai_multiplier : bool
        As :func:`cohort_relative_risk` (off by default).
    **kwargs
        Passed to :func:`bmdsim.simulate_cohort` (``population``,
        ``variability``, ``params``, ``chunk_size``, ``reference``, ``workers``).

    Returns
    -------
    dict of str -> list
        Columns, one row per regimen: ``regimen``; then for each time ``t``
        ``relative_incidence_<t>y`` (fractures expected relative to the same
        women at baseline), ``relative_incidence_<t>y_gradient_low`` and
        ``_gradient_high`` (with the ends of the gradient's 95 % CI), and
        ``median_rr_<t>y`` (the median woman's relative risk against her
        own baseline). Its ``.to_frame()`` gives the same numbers as a tidy
        table, one row per regimen and time (:meth:`FractureComparison.to_frame`).
    """
    if not isinstance(regimens, Mapping):
        raise TypeError(f"regimens must be a mapping of name to bmdsim.Regimen, got {type(regimens).__name__}")
    if not regimens:
        raise ValueError("regimens must be a non-empty mapping of name to bmdsim.Regimen")
    for name, regimen in regimens.items():
        check_text("regimens name", name)
        if not isinstance(regimen, Regimen):
            raise TypeError(f"regimens[{name!r}] must be a bmdsim.Regimen, got {type(regimen).__name__}")
    check_choice("outcome", outcome, outcomes())
    gradient(outcome, site)  # refuse a site that does not predict the outcome before simulating
    table: dict[str, list] = {"regimen": []}
    rows: list[dict[str, Any]] = []
    for name, regimen in regimens.items():
        result = simulate_cohort(n, regimen, years, seed, **kwargs)
        risk = cohort_relative_risk(result, site, at_years, outcome, ai_multiplier=ai_multiplier, q=(50.0,))
        table["regimen"].append(str(name))
        for j, t in enumerate(risk["time"]):
            row = {"regimen": str(name), "site": site, "outcome": outcome, "time_years": float(t)}
            row["relative_incidence"] = float(risk["relative_incidence"][j])
            table.setdefault(f"relative_incidence_{t:g}y", []).append(row["relative_incidence"])
            for b, ci in zip(_CI_BOUNDS, risk["relative_incidence_ci"], strict=True):
                row[f"relative_incidence_gradient_{b}"] = float(ci[j])
                table.setdefault(f"relative_incidence_{t:g}y_gradient_{b}", []).append(float(ci[j]))
            row["median_relative_risk"] = float(risk["percentiles"][0, j])
            table.setdefault(f"median_rr_{t:g}y", []).append(row["median_relative_risk"])
            rows.append(row)
    return FractureComparison(table, site, outcome, rows)
