"""Guideline monitoring and treatment policies: who gets bone-protective therapy, and when.

A :class:`Policy` says how often a woman on an aromatase inhibitor (AI) has a
DXA scan and which rule turns a scan into bone-protective therapy.
:func:`simulate_policy` applies it to patients and :func:`compare_policies`
puts several policies side by side in a plain table (a dict of columns).

The rule ("threshold")
----------------------
The 2017 joint position statement (Hadji et al., J Bone Oncol 2017, DOI
10.1016/j.jbo.2017.03.001; ``data/guidelines.json``, read on secondary pages):
bone-directed therapy when T < -2.0, or T < -1.5 with one risk factor, or with
two or more risk factors whatever the T-score; BMD every 12-24 months. So a
woman with 0 risk factors is treated from the first scan showing T <= -2.0, one
with 1 risk factor from the first scan showing T <= -1.5, and one with 2 or more
from the baseline scan (time 0). The 2025 update's thresholds could not be
confirmed and are not implemented.

What a scan sees
----------------
Scans are at ``0, interval, 2 interval, ...`` years. The rule is applied to
what each scan shows, not to the unobserved trajectory between scans: therapy
starts at the first scan at or after the true crossing
(:class:`bmdsim.AtThreshold` with ``scan_interval``). **DXA measurement error is
not modelled**: a scan sees the model's exact T-score at the scan time. The
T-score watched is, by default, the lowest of the patient's measured sites
(the first site to cross triggers), or one chosen site (``Policy.site``).
Between-patient variability in the rate of loss is not included (patients
follow the parameter set's curves from their own baseline).

Outputs
-------
Per patient: years spent with the T-score at ``site`` at or below
``threshold`` (default -2.5, osteoporosis), from a midpoint rule on a grid of
step ``grid_step`` (default one week; the BMD at each midpoint is exact, the
time below is accurate to about one grid step per crossing); whether and when
therapy started; the delay between the true crossing of her treatment
threshold and the scan that detected it. Scans used per patient are
``floor(years / interval) + 1`` (every scheduled scan, including baseline, also
after therapy starts), 0 without monitoring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _data
from ._validation import as_finite_float, check_choice
from .parameters import ParameterSet, resolve_parameters
from .patient import Patient
from .reference import YoungAdultReference, load_reference
from .regimen import AtThreshold, Exposure, Regimen
from .simulation import simulate
from .sites import check_site
from .therapies import THERAPIES

_GUIDELINES_FILE = "guidelines.json"
#: Policy rules: the Hadji 2017 algorithm, everyone treated from baseline, nobody treated.
RULES: tuple[str, ...] = ("threshold", "treat_all", "none")
#: Osteoporosis T-score [SD] (WHO 1994; data/citations.json "who_1994"): default for time below.
OSTEOPOROSIS_T_SCORE = -2.5
#: Default grid step [years] of the midpoint rule for time spent below a threshold (one week).
DEFAULT_GRID_STEP = 1.0 / 52.0
#: Tolerance [years] when deciding whether a scan falls within the horizon.
_TIME_TOL = 1e-9
#: Percentiles of the detection delay reported by :meth:`PolicyResult.summary`.
DELAY_PERCENTILES: tuple[float, ...] = (50.0, 90.0)


@dataclass(frozen=True)
class HadjiRule:
    """The Hadji 2017 rule as read from ``data/guidelines.json``.

    Attributes
    ----------
    threshold_by_count : tuple of float
        T-score [SD] that triggers therapy for 0, 1, ... risk factors (below ``treat_all_count``).
    treat_all_count : int
        Women with at least this many risk factors are treated at baseline.
    risk_factors : tuple of str
        Valid risk-factor names (``age_over_65`` is derived from age).
    age_above : float
        Age [years] above which ``age_over_65`` holds (strictly greater).
    monitoring_interval : tuple of float
        The recommended scan interval range [years].
    """

    threshold_by_count: tuple[float, ...]
    treat_all_count: int
    risk_factors: tuple[str, ...]
    age_above: float
    monitoring_interval: tuple[float, float]


def hadji_2017() -> HadjiRule:
    """Load the Hadji 2017 rule from ``data/guidelines.json`` (values verified on secondary pages)."""
    doc = _data.read_json(_GUIDELINES_FILE)["hadji_2017"]
    thr = doc["threshold_t_score"]
    rf = doc["risk_factors"]
    interval = doc["monitoring_interval_years"]
    return HadjiRule(
        threshold_by_count=(float(thr["no_risk_factor"]), float(thr["one_risk_factor"])),
        treat_all_count=int(doc["treat_all_from_risk_factors"]["count"]),
        risk_factors=tuple(rf["names"]),
        age_above=float(rf["age_years_above"]),
        monitoring_interval=(float(interval["low"]), float(interval["high"])),
    )


#: Name of the risk factor derived from age rather than given.
AGE_RISK_FACTOR = "age_over_65"


@dataclass(frozen=True)
class Policy:
    """A monitoring and treatment policy.

    Parameters
    ----------
    name : str
        Label used in tables.
    rule : str
        ``"threshold"`` (Hadji 2017: treat at the first scan showing the
        patient's threshold, or at baseline with 2+ risk factors),
        ``"treat_all"`` (everyone from baseline) or ``"none"`` (nobody).
    scan_interval : float or None
        Years between DXA scans (positive), or None for no monitoring
        (not allowed with ``"threshold"``, which needs scans).
    agent : str
        Bone-protective therapy, one of :data:`bmdsim.THERAPIES`.
    duration : float
        Length of the course [years], positive.
    site : str or None
        Site whose T-score the rule watches; None (default) watches the lowest
        of the patient's measured sites.
    """

    name: str
    rule: str = "threshold"
    scan_interval: float | None = 1.0
    agent: str = "zoledronic_acid"
    duration: float = 5.0
    site: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Policy name must be a non-empty string, got {self.name!r}")
        check_choice("Policy rule", self.rule, RULES)
        if self.scan_interval is not None:
            interval = as_finite_float("Policy scan_interval", self.scan_interval)
            if interval <= 0:
                raise ValueError(f"Policy scan_interval must be a positive number of years or None, got {interval:g}")
            object.__setattr__(self, "scan_interval", interval)
        elif self.rule == "threshold":
            raise ValueError(
                f"Policy {self.name!r}: the 'threshold' rule acts on scans, so scan_interval must be a positive "
                "number of years, not None"
            )
        check_choice("Policy agent", self.agent, THERAPIES)
        duration = as_finite_float("Policy duration", self.duration)
        if duration <= 0:
            raise ValueError(f"Policy duration must be a positive number of years, got {duration:g}")
        object.__setattr__(self, "duration", duration)
        if self.site is not None:
            check_site(self.site, "Policy site")

    def scans_per_patient(self, years: float) -> int:
        """Scans in ``[0, years]``: ``floor(years / scan_interval) + 1``, or 0 without monitoring."""
        if self.scan_interval is None:
            return 0
        return int(math.floor(years / self.scan_interval + _TIME_TOL)) + 1


def risk_factor_count(
    risk_factors: Mapping[str, object] | None, age: np.ndarray, rule: HadjiRule | None = None
) -> np.ndarray:
    """Number of risk factors per patient, ``age_over_65`` derived from ``age`` [years].

    Parameters
    ----------
    risk_factors : mapping of name -> bool or 1-D bool array, optional
        The other risk factors (names in ``data/guidelines.json``); a scalar applies to every patient.
    age : (n,) ndarray
        Age [years] at baseline.
    rule : HadjiRule, optional
        The rule (default :func:`hadji_2017`).

    Raises
    ------
    ValueError
        Unknown name (lists the valid ones), ``age_over_65`` given (it is
        derived), or an array whose length is not ``n``.
    TypeError
        Values that are not booleans.
    """
    rule = hadji_2017() if rule is None else rule
    n = age.size
    count = (age > rule.age_above).astype(int)
    if risk_factors is None:
        return count
    if not isinstance(risk_factors, Mapping):
        raise TypeError(f"risk_factors must be a mapping of risk-factor name to booleans, got {type(risk_factors)}")
    given = tuple(r for r in rule.risk_factors if r != AGE_RISK_FACTOR)
    for name, value in risk_factors.items():
        if name == AGE_RISK_FACTOR:
            raise ValueError(f"risk_factors[{name!r}] is derived from the patient's age (> {rule.age_above:g} years)")
        if name not in given:
            raise ValueError(f"unknown risk factor {name!r}; valid risk factors are: {', '.join(given)}")
        arr = np.asarray(value)
        if arr.dtype != bool:
            raise TypeError(f"risk_factors[{name!r}] must be booleans, got dtype {arr.dtype}")
        if arr.ndim > 1 or (arr.ndim == 1 and arr.size != n):
            raise ValueError(f"risk_factors[{name!r}] must be a boolean or have length n = {n}, got shape {arr.shape}")
        count = count + np.broadcast_to(arr, (n,)).astype(int)
    return count


def _subset(patient: Patient, idx: np.ndarray) -> Patient:
    return Patient(
        age=patient.age[idx],
        bmd={s: v[idx] for s, v in patient.bmd.items()},
        t_score={s: v[idx] for s, v in patient.t_score.items()},
    )


@dataclass(frozen=True)
class PolicyResult:
    """Result of :func:`simulate_policy`; arrays have one entry per patient.

    Attributes
    ----------
    policy : Policy
    years : float
        Horizon [years].
    site, threshold : str, float
        Where and below which [SD] time is counted (``years_below``).
    risk_factors : (n,) ndarray of int
        Number of risk factors (``age_over_65`` included).
    treatment_threshold : (n,) ndarray
        T-score [SD] that triggers her therapy; NaN if treated at baseline
        by rule or never eligible (``"none"``).
    start : (n,) ndarray
        Start of therapy [years]; inf if not within the horizon.
    crossing : (n,) ndarray
        True first crossing [years] of her treatment threshold at the watched
        site(s) on the AI regimen alone (0 already at baseline, inf never);
        NaN where there is no threshold.
    detection_delay : (n,) ndarray
        ``start - crossing`` [years] for patients treated on a scan; NaN otherwise.
    years_below : (n,) ndarray
        Years with T-score at ``site`` <= ``threshold`` (midpoint rule, step ``grid_step``).
    scans_per_patient : int
    grid_step : float
        Step [years] of the midpoint grid.
    """

    policy: Policy
    years: float
    site: str
    threshold: float
    risk_factors: np.ndarray
    treatment_threshold: np.ndarray
    start: np.ndarray
    crossing: np.ndarray
    detection_delay: np.ndarray
    years_below: np.ndarray
    scans_per_patient: int
    grid_step: float

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(self.start.size)

    @property
    def treated(self) -> np.ndarray:
        """True for patients whose therapy starts within the horizon."""
        return self.start <= self.years + _TIME_TOL

    def summary(self) -> dict[str, Any]:
        """One row of :func:`compare_policies`: fractions, scans and the delay distribution [years]."""
        delay = self.detection_delay[np.isfinite(self.detection_delay)]
        row: dict[str, Any] = {
            "policy": self.policy.name,
            "rule": self.policy.rule,
            "scan_interval": self.policy.scan_interval,
            "fraction_patient_years_below": float(self.years_below.sum() / (self.n * self.years)),
            "scans_per_patient": self.scans_per_patient,
            "scans_total": self.scans_per_patient * self.n,
            "fraction_treated": float(self.treated.mean()),
            "fraction_treated_at_baseline": float(np.mean(self.start == 0.0)),
            "n_detected_on_scan": int(delay.size),
            "delay_mean": float(delay.mean()) if delay.size else math.nan,
        }
        for q in DELAY_PERCENTILES:
            row[f"delay_p{q:g}"] = float(np.percentile(delay, q)) if delay.size else math.nan
        row["delay_max"] = float(delay.max()) if delay.size else math.nan
        return row


def _resolve_patient(
    patient: Any,
    ai_regimen: Regimen,
    years: float,
    n: int | None,
    seed: int | None,
    params: ParameterSet,
    reference: YoungAdultReference,
) -> Patient:
    from .cohort import Population, simulate_cohort

    if isinstance(patient, Population):
        if n is None or seed is None:
            raise ValueError("drawing patients from a Population needs n and seed")
        return simulate_cohort(
            n, ai_regimen, years, seed, population=patient, params=params, reference=reference
        ).patients()[0]
    if not isinstance(patient, Patient):
        raise TypeError(f"patient must be a bmdsim.Patient or bmdsim.Population, got {type(patient).__name__}")
    return patient


def simulate_policy(
    policy: Policy,
    patient: Any,
    ai_regimen: Regimen,
    years: float,
    risk_factors: Mapping[str, object] | None = None,
    *,
    n: int | None = None,
    seed: int | None = None,
    site: str = "femoral_neck",
    threshold: float = OSTEOPOROSIS_T_SCORE,
    grid_step: float = DEFAULT_GRID_STEP,
    params: str | ParameterSet | None = "consensus",
    reference: YoungAdultReference | None = None,
) -> PolicyResult:
    """Apply ``policy`` to patients on ``ai_regimen`` and measure its effect.

    Parameters
    ----------
    policy : Policy
    patient : Patient or Population
        Patients (1-D arrays), or a :class:`bmdsim.Population` to draw ``n``
        of them with ``seed`` (as :func:`bmdsim.simulate_cohort` draws them).
    ai_regimen : Regimen
        The regimen without bone-protective therapy (e.g. an AI for 5
        years); must not already contain ``policy.agent``.
    years : float
        Horizon [years].
    risk_factors : mapping of name -> bool array, optional
        Risk factors other than ``age_over_65`` (derived from age); see
        :func:`risk_factor_count`.
    n, seed : int, optional
        Only with a Population.
    site : str
        Site of the time-below measure (default femoral neck).
    threshold : float
        T-score [SD] of the time-below measure (default -2.5).
    grid_step : float
        Step [years] of the midpoint rule for time below, positive.
    params, reference
        As :func:`bmdsim.simulate`.

    Returns
    -------
    PolicyResult

    Notes
    -----
    Patients are grouped by treatment threshold and by the site that
    triggers, so each group is one vectorised :func:`bmdsim.simulate` call.
    See the module notes for what a scan sees (no DXA measurement error).
    """
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a bmdsim.Policy, got {type(policy).__name__}")
    if not isinstance(ai_regimen, Regimen):
        raise TypeError(f"ai_regimen must be a bmdsim.Regimen, got {type(ai_regimen).__name__}")
    years = as_finite_float("years", years)
    check_site(site, "site")
    threshold = as_finite_float("threshold", threshold)
    grid_step = as_finite_float("grid_step", grid_step)
    if not 0 < grid_step <= years:
        raise ValueError(f"grid_step must be in (0, years] = (0, {years:g}] years, got {grid_step:g}")
    params = resolve_parameters(params)
    reference = load_reference() if reference is None else reference
    patient = _resolve_patient(patient, ai_regimen, years, n, seed, params, reference)
    if site not in patient.sites:
        raise ValueError(f"site {site!r} has no baseline value; the patients' sites are {', '.join(patient.sites)}")
    if policy.site is not None and policy.site not in patient.sites:
        raise ValueError(
            f"Policy site {policy.site!r} has no baseline value; the patients' sites are {', '.join(patient.sites)}"
        )
    rule = hadji_2017()
    count = risk_factor_count(risk_factors, patient.age, rule)
    size = patient.n
    watched = (policy.site,) if policy.site is not None else patient.sites

    cells = max(1, int(math.floor(years / grid_step + _TIME_TOL)))
    mid = (np.arange(cells) + 0.5) * (years / cells)
    therapy = {"years": years, "params": params, "reference": reference}

    def below(idx: np.ndarray, regimen: Regimen) -> tuple[Any, np.ndarray]:
        traj = simulate(_subset(patient, idx), regimen, step=years, **therapy)
        t = reference.t_score(site, np.atleast_2d(traj.bmd_at(site, mid)))
        return traj, (t <= threshold).mean(axis=1) * years

    start = np.full(size, np.inf)
    crossing = np.full(size, np.nan)
    treatment_threshold = np.full(size, np.nan)
    years_below = np.empty(size)
    everyone = np.arange(size)
    groups: list[tuple[np.ndarray, Regimen]] = []
    if policy.rule == "none":
        groups.append((everyone, ai_regimen))
    elif policy.rule == "treat_all":
        groups.append((everyone, Regimen([*ai_regimen, Exposure(policy.agent, 0.0, duration=policy.duration)])))
    else:
        at_baseline = count >= rule.treat_all_count
        if at_baseline.any():
            groups.append(
                (
                    np.flatnonzero(at_baseline),
                    Regimen([*ai_regimen, Exposure(policy.agent, 0.0, duration=policy.duration)]),
                )
            )
        untreated = simulate(patient, ai_regimen, step=years, **therapy)
        for k, thr in enumerate(rule.threshold_by_count):
            mask = count == k
            if not mask.any():
                continue
            times = np.stack([np.atleast_1d(untreated.crossing_time(s, thr)) for s in watched])
            first_site = np.argmin(times, axis=0)
            crossing[mask] = times.min(axis=0)[mask]
            treatment_threshold[mask] = thr
            for j, s in enumerate(watched):
                idx = np.flatnonzero(mask & (first_site == j))
                if idx.size:
                    trigger = AtThreshold(s, thr, scan_interval=policy.scan_interval)
                    groups.append(
                        (idx, Regimen([*ai_regimen, Exposure(policy.agent, trigger, duration=policy.duration)]))
                    )
    for idx, regimen in groups:
        traj, years_below[idx] = below(idx, regimen)
        course = [e for e in regimen if e.agent == policy.agent]
        if course:
            s, _ = traj.exposure_times(course[-1])
            start[idx] = np.broadcast_to(np.asarray(s, dtype=float), idx.shape)
    start[start > years + _TIME_TOL] = np.inf
    on_scan = np.isfinite(start) & np.isfinite(treatment_threshold)
    delay = np.where(on_scan, start - np.where(on_scan, crossing, 0.0), np.nan)
    return PolicyResult(
        policy=policy,
        years=years,
        site=site,
        threshold=threshold,
        risk_factors=count,
        treatment_threshold=treatment_threshold,
        start=start,
        crossing=crossing,
        detection_delay=delay,
        years_below=years_below,
        scans_per_patient=policy.scans_per_patient(years),
        grid_step=years / cells,
    )


def compare_policies(
    policies: Sequence[Policy],
    patient: Any,
    ai_regimen: Regimen,
    years: float,
    risk_factors: Mapping[str, object] | None = None,
    **kwargs: Any,
) -> dict[str, list]:
    """Simulate each policy on the same patients and return a table (dict of columns).

    Parameters are those of :func:`simulate_policy`; a Population is drawn
    once (``n``, ``seed``) so every policy sees the same women. Columns are
    the keys of :meth:`PolicyResult.summary`; delays are in years.
    """
    policies = list(policies)
    if not policies:
        raise ValueError("policies must not be empty")
    for i, p in enumerate(policies):
        if not isinstance(p, Policy):
            raise TypeError(f"policies[{i}] must be a bmdsim.Policy, got {type(p).__name__}")
    names = [p.name for p in policies]
    if len(set(names)) != len(names):
        raise ValueError(f"policy names must be distinct, got {names}")
    params = resolve_parameters(kwargs.pop("params", "consensus"))
    reference = kwargs.pop("reference", None) or load_reference()
    n, seed = kwargs.pop("n", None), kwargs.pop("seed", None)
    patient = _resolve_patient(patient, ai_regimen, as_finite_float("years", years), n, seed, params, reference)
    table: dict[str, list] = {}
    for p in policies:
        row = simulate_policy(p, patient, ai_regimen, years, risk_factors, params=params, reference=reference, **kwargs)
        for key, value in row.summary().items():
            table.setdefault(key, []).append(value)
    return table
