"""Guideline monitoring and treatment policies: who gets bone-protective therapy, and when.

A :class:`Policy` says how often a woman on an aromatase inhibitor (AI) has a
DXA scan and which rule turns a scan into bone-protective therapy.
:func:`simulate_policy` applies it to patients and :func:`compare_policies`
puts several policies side by side in a plain table (a dict of columns, with
``.to_frame()`` for a pandas DataFrame).

The rule ("threshold")
----------------------
The 2017 joint position statement (Hadji et al., J Bone Oncol 2017, DOI
10.1016/j.jbo.2017.03.001; ``data/guidelines.json``, read on secondary pages):
bone-directed therapy when T < -2.0, or T < -1.5 with one risk factor, or with
two or more risk factors whatever the T-score; BMD every 12-24 months. So a
woman with 0 risk factors is treated from the first scan showing T <= -2.0, one
with 1 risk factor from the first scan showing T <= -1.5, and one with 2 or more
from the baseline scan (time 0).

Guideline rules are a registry
------------------------------
Each guideline is a small :class:`GuidelineRule` registered by name in
:data:`GUIDELINES`: ``"hadji_2017"`` (what ``rule="threshold"`` applies) and
``"hadji_2025"``, the 2025 updated statement (Hadji et al., J Bone Oncol
2025;53:100694) as *read in a secondary source* (seed 001, a patient-education
summary; the statement's own algorithm was not seen): therapy when T < -2.0, or
T < -1.5 with at least one further risk factor (the count is an assumption),
no risk-factor-only branch (an assumption: the summary names none), BMD every
two years; its risk-factor list adds previous vertebral fracture and gives the
BMI cut-off (< 24). ``Policy(rule="hadji_2025")`` applies it; a rule decides
from age, risk-factor count and T-score (:meth:`GuidelineRule.starts_therapy`).
:func:`register_guideline` adds a rule (a name already registered raises
unless ``replace=True``). A risk factor that the policy's guideline does not
list but another registered one does is ignored for that policy, so one
mapping serves every policy of a comparison.

What a scan sees
----------------
Scans are at ``0, interval, 2 interval, ...`` up to the horizon. The rule is
applied to what each scan *shows*, not to the unobserved trajectory: therapy
starts at the first scan whose observed T-score, at any watched site, is at or
below the patient's threshold. The watched sites are, by default, all of the
patient's measured sites (so the lowest one decides), or one chosen site
(``Policy.site``).

**DXA measurement error** (default on): a scan of patient ``i`` at time ``t_j``
shows ``BMD_true(t_j) * (1 + e_ij)`` at each watched site, with
``e_ij ~ N(0, cv_site^2)`` independent between scans, sites and patients (an
assumption; see ``data/dxa_precision.json``). The shipped ``cv_site`` are
typical short-term in vivo precision errors (:func:`dxa_precision`: 1.2 %
lumbar spine, 1.3 % total hip, 1.97 % femoral neck). The error is
multiplicative because published typical precision is a %CV. So a scan can
show the threshold before the true T-score reaches it (a *false-positive*
start) or miss a true crossing until a later scan. ``measurement_error=None``
gives exact scans.

The errors are seeded: ``e_ij`` comes from a random stream keyed by the seed,
the site, the scan time (to :data:`SCAN_TIME_KEY_RESOLUTION` years) and the
block of :data:`ERROR_BLOCK_PATIENTS` patients that holds patient ``i``. So
the same seed gives the same errors however many patients are simulated, and
two policies whose scans coincide in time (every 24-month scan is also a
12-month scan) see the *same* error at those scans: differences between
policies come from the schedule, not from fresh noise.

Between-patient variability
---------------------------
With patients drawn from a :class:`bmdsim.Population` and a
:class:`bmdsim.Variability`, each woman's log-loss is scaled by her own
multiplier per site, exactly the multipliers :func:`bmdsim.simulate_cohort`
draws for the same ``n`` and ``seed`` (the same women as the cohort). Default:
none, as in ``simulate_cohort``.

How it is computed (fast)
-------------------------
This module holds the rule (who is eligible, at which threshold, on which
scans) and the table; the numbers come from the cohort engine,
:class:`bmdsim.cohort.PatientSet` (the same women as
:func:`bmdsim.simulate_cohort`, under any regimen). With exact scans a
policy *is* an event-started exposure, :class:`bmdsim.AtThreshold` with the
policy's ``scan_interval`` (:func:`at_threshold_regimen`); measurement error
is what this module adds on top, by asking which scan *shows* the threshold
(:meth:`~bmdsim.cohort.PatientSet.first_scan_at_or_below`).

The untreated true BMD at every scan time is one vectorised evaluation
(patients x scans); the errors are added and each patient's first triggering
scan is an ``argmax`` over a boolean matrix. Starts then take at most
``S + 1`` values (the ``S`` scan times, or never), so patients are grouped by
start and each group is one fixed-start regimen whose log-loss curve is shared
by all its members: time below a threshold is counted from the sorted curve
(``np.searchsorted``, :meth:`~bmdsim.cohort.PatientSet.years_below`), with no
per-patient simulation. Cost ``O(n S + G m log m + G n log m)`` for ``n``
patients, ``S`` scans, ``G <= S + 1`` groups and ``m`` grid cells. The same
policy resolved patient by patient as event-started exposures,
:func:`simulate_policy_by_events`, is the independent check of this path
(tests, ``benchmarks/bench_policy.py``).

Outputs
-------
Per patient: years with the T-score at ``site`` at or below ``threshold``
(default -2.5, osteoporosis), from a midpoint rule on a grid of step
``grid_step`` (default one week; the BMD at each midpoint is exact, the time
below is accurate to about one grid step per crossing); whether and when
therapy started and on which scan; whether that scan was a false positive; the
true crossing of her treatment threshold and the delay to the scan that
triggered. Scans used per patient are ``floor(years / interval) + 1`` (every
scheduled scan, including baseline, also after therapy starts), 0 without
monitoring. See :class:`PolicyResult` and :meth:`PolicyResult.summary`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _data, limits, tables
from ._validation import (
    as_finite_float,
    as_float_array,
    check_allocation,
    check_choice,
    check_range,
    check_text,
    named_items,
)
from .cohort import PatientSet, Population, Variability, simulate_cohort
from .measurement import ERROR_BLOCK_PATIENTS, SHIPPED_PRECISION, check_precision
from .measurement import check_seed as _check_seed
from .parameters import DEFAULT_PARAMETER_SET, ParameterSet, resolve_parameters
from .patient import Patient
from .profiles import GLUCOCORTICOID_RISK_FACTOR
from .reference import YoungAdultReference, load_reference
from .regimen import AtThreshold, Exposure, Regimen
from .sites import check_site
from .therapies import THERAPIES, warn_if_extrapolating

if TYPE_CHECKING:  # pragma: no cover - annotations only; pandas is imported when a table is made
    import pandas as pd

_GUIDELINES_FILE = "guidelines.json"
#: Policy rules: the Hadji 2017 algorithm, everyone treated from baseline, nobody treated.
RULES: tuple[str, ...] = ("threshold", "treat_all", "none")
#: Osteoporosis T-score [SD] (WHO 1994; data/citations.json "who_1994"): default for time below.
OSTEOPOROSIS_T_SCORE = -2.5
#: Default grid step [years] of the midpoint rule for time spent below a threshold (one week).
DEFAULT_GRID_STEP = 1.0 / 52.0
#: Tolerance [years] when deciding whether a scan falls within the horizon.
_TIME_TOL = 1e-9
#: Shortest scan interval [years] of a Policy: one scan a week. A design limit, not a guideline number (guidelines
#: scan every 1-2 years): DXA precision error makes shorter intervals meaningless, and it bounds a schedule to
#: 3,121 scans over the longest horizon, which bounds the work of a simulation.
MIN_SCAN_INTERVAL_YEARS = 1.0 / 52.0
#: Shortest grid step [years] of the time-below measure: one day (bounds the grid to 21,915 cells over 60 years).
MIN_GRID_STEP_YEARS = 1.0 / 365.25
#: Most policies that :func:`compare_policies` compares at once (each is one simulation of every patient).
MAX_POLICIES = 100
#: Longest Policy name [characters].
MAX_POLICY_NAME_CHARS = 200
#: Name of the risk factor derived from age rather than given.
AGE_RISK_FACTOR = "age_over_65"
#: Percentiles of the detection delay reported by :meth:`PolicyResult.summary`.
DELAY_PERCENTILES: tuple[float, ...] = (50.0, 90.0)
#: Patients x times evaluated at once (bounds memory): fracture batches, and the scan batch checked up front.
_CELLS_PER_BATCH = 2_000_000


@dataclass(frozen=True)
class GuidelineRule:
    """One guideline's treatment rule: who starts bone-protective therapy, from age, risk factors and T-score.

    A rule is a small value object registered by name in :data:`GUIDELINES`
    (:func:`register_guideline`); ``Policy(rule=<name>)`` applies it to scans.
    The shipped rules (``"hadji_2017"``, ``"hadji_2025"``) are read from
    ``data/guidelines.json``, where every number says where it was read.

    Attributes
    ----------
    key : str
        Registry name (an identifier), also accepted as ``Policy(rule=...)``.
    threshold_by_count : tuple of float
        T-score [SD] that triggers therapy for 0, 1, ... risk factors; the
        last entry applies to every larger count (below ``treat_all_count``).
    treat_all_count : int or None
        Women with at least this many risk factors are treated at baseline,
        whatever their T-score; None: no risk-factor-only branch.
    risk_factors : tuple of str
        Valid risk-factor names (``age_over_65`` is derived from age).
    age_above : float
        Age [years] above which ``age_over_65`` holds (strictly greater).
    monitoring_interval : tuple of float
        The recommended scan interval range ``(low, high)`` [years].
    name : str
        Human-readable title (default: ``key``).
    citation : str
        Citation key (``data/citations.json``) or free text; may be empty.
    """

    threshold_by_count: tuple[float, ...]
    treat_all_count: int | None
    risk_factors: tuple[str, ...]
    age_above: float
    monitoring_interval: tuple[float, float]
    key: str = field(kw_only=True)
    name: str = field(default="", kw_only=True)
    citation: str = field(default="", kw_only=True)

    def __post_init__(self) -> None:
        check_text("GuidelineRule key", self.key, 100)
        if not self.key.isidentifier():
            raise ValueError(f"GuidelineRule key must be an identifier, got {self.key!r:.100}")
        if self.key in RULES:
            raise ValueError(f"GuidelineRule key {self.key!r} is a Policy rule already ({', '.join(RULES)})")
        thresholds = tuple(as_finite_float("GuidelineRule threshold_by_count", t) for t in self.threshold_by_count)
        if not thresholds:
            raise ValueError("GuidelineRule threshold_by_count must hold at least one T-score")
        check_range("GuidelineRule threshold_by_count", np.asarray(thresholds), *limits.T_SCORE, unit="SD")
        if any(b < a for a, b in itertools.pairwise(thresholds)):
            raise ValueError(
                f"GuidelineRule threshold_by_count must not decrease with the risk-factor count, got {thresholds}"
            )
        object.__setattr__(self, "threshold_by_count", thresholds)
        count = self.treat_all_count
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError(f"GuidelineRule treat_all_count must be a positive integer or None, got {count!r}")
        names = tuple(self.risk_factors)
        if AGE_RISK_FACTOR not in names or not all(isinstance(n, str) and n.isidentifier() for n in names):
            raise ValueError(
                f"GuidelineRule risk_factors must be identifiers and include {AGE_RISK_FACTOR!r}, got {names!r:.200}"
            )
        object.__setattr__(self, "risk_factors", names)
        age = as_finite_float("GuidelineRule age_above", self.age_above)
        check_range("GuidelineRule age_above", np.asarray(age), *limits.AGE_YEARS, unit="years")
        object.__setattr__(self, "age_above", age)
        low, high = (as_finite_float("GuidelineRule monitoring_interval", v) for v in self.monitoring_interval)
        if not 0.0 < low <= high <= limits.HORIZON_YEARS[1]:
            raise ValueError(
                f"GuidelineRule monitoring_interval must have 0 < low <= high <= {limits.HORIZON_YEARS[1]:g} years, "
                f"got ({low:g}, {high:g})"
            )
        object.__setattr__(self, "monitoring_interval", (low, high))
        object.__setattr__(self, "name", self.name or self.key)

    def risk_factor_count(self, age: object, other_risk_factors: object = 0) -> np.ndarray:
        """Risk factors per patient: ``other_risk_factors`` (a count, age not included) plus ``age > age_above``."""
        age = np.atleast_1d(as_float_array("age", age))
        other = np.asarray(other_risk_factors)
        if other.dtype.kind not in "iub" or np.any(other < 0):
            raise ValueError("other_risk_factors must be non-negative integer counts")
        return (age > self.age_above).astype(int) + other.astype(int)

    def treats_at_baseline(self, count: object) -> np.ndarray:
        """True where ``count`` risk factors (age included) alone start therapy at baseline."""
        count = np.asarray(count)
        if self.treat_all_count is None:
            return np.zeros(count.shape, dtype=bool)
        return count >= self.treat_all_count

    def treatment_threshold(self, count: object) -> np.ndarray:
        """T-score [SD] that starts therapy for ``count`` risk factors (age included); NaN if treated at baseline."""
        count = np.asarray(count, dtype=int)
        table = np.asarray(self.threshold_by_count)
        thr = table[np.clip(count, 0, table.size - 1)]
        return np.where(self.treats_at_baseline(count), np.nan, thr)

    def starts_therapy(self, age: object, other_risk_factors: object, t_score: object) -> np.ndarray:
        """Whether a patient starts therapy on a scan showing ``t_score`` [SD].

        ``other_risk_factors`` counts her risk factors other than age (age over
        :attr:`age_above` is added); therapy starts when the count reaches
        :attr:`treat_all_count` or the T-score is at or below her threshold
        (the statements' "below": the same instant on a continuous trajectory).
        """
        count = self.risk_factor_count(age, other_risk_factors)
        t = np.asarray(as_float_array("t_score", t_score))
        thr = self.treatment_threshold(count)
        return self.treats_at_baseline(count) | (t <= np.where(np.isnan(thr), -np.inf, thr))

    @property
    def scan_interval(self) -> float:
        """The longest recommended scan interval [years] (``monitoring_interval[1]``)."""
        return self.monitoring_interval[1]


#: The 2017 rule's type under its former name.
HadjiRule = GuidelineRule

#: Keys of ``data/guidelines.json`` that bmdsim reads or that document a value (any ``_``-key is a note too).
_NOTE_KEYS = (
    "citation",
    "where",
    "verification",
    "note",
    "source",
    "in_statement_list",
    "status",
    "searched",
    "assumption",
)
_RULE_KEYS = (
    "name",
    "threshold_t_score",
    "treat_all_from_risk_factors",
    "therapy_duration",
    "monitoring_interval_years",
    "risk_factors",
)
#: How the statement compares a T-score with its threshold (equivalent on a continuous trajectory; see the file).
_COMPARISONS = ("strictly_below", "at_or_below")
#: Guideline rules shipped in ``data/guidelines.json`` (its top-level keys besides notes).
SHIPPED_GUIDELINES: tuple[str, ...] = ("hadji_2017", "hadji_2025")


def _load_guideline(key: str) -> GuidelineRule:
    """Read and validate the rule ``key`` of ``data/guidelines.json`` (every message names the file and the key)."""
    file = _data.label(_GUIDELINES_FILE)
    doc = _data.read_json(_GUIDELINES_FILE)
    _data.known_keys(doc, (), file, SHIPPED_GUIDELINES)
    rule = (key,)
    _data.known_keys(doc, rule, file, _RULE_KEYS + _NOTE_KEYS)
    thr = (*rule, "threshold_t_score")
    _data.known_keys(doc, thr, file, ("no_risk_factor", "one_risk_factor", "comparison", *_NOTE_KEYS))
    _data.text(doc, (*thr, "comparison"), file, _COMPARISONS)
    thresholds = tuple(
        _data.number(doc, (*thr, k), file, *limits.T_SCORE, unit="SD") for k in ("no_risk_factor", "one_risk_factor")
    )
    if thresholds[1] < thresholds[0]:
        raise _data.DataFileError(
            file,
            f"{key}.threshold_t_score.one_risk_factor ({thresholds[1]:g}) must not be below no_risk_factor "
            f"({thresholds[0]:g}): a risk factor never lowers the T-score at which therapy starts",
        )
    treat = (*rule, "treat_all_from_risk_factors")
    _data.known_keys(doc, treat, file, ("count", *_NOTE_KEYS))
    count = _data.entry(doc, (*treat, "count"), file)
    if count is not None and (
        isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= len(thresholds)
    ):
        raise _data.DataFileError(
            file,
            f"{key}.treat_all_from_risk_factors.count must be an integer in [1, {len(thresholds)}] (a threshold "
            f"is given for 0 to {len(thresholds) - 1} risk factors) or null (no such branch), got {count!r}",
        )
    interval = (*rule, "monitoring_interval_years")
    _data.known_keys(doc, interval, file, ("low", "high", *_NOTE_KEYS))
    low, high = (
        _data.number(doc, (*interval, k), file, 0.0, limits.HORIZON_YEARS[1], "years") for k in ("low", "high")
    )
    if not 0.0 < low <= high:
        raise _data.DataFileError(
            file, f"{key}.monitoring_interval_years must have 0 < low <= high, got low={low:g}, high={high:g}"
        )
    rf = (*rule, "risk_factors")
    _data.known_keys(
        doc, rf, file, ("statement_list", "names", "age_years_above", "bmi_below", "not_modelled", *_NOTE_KEYS)
    )
    names = tuple(_data.entry(doc, (*rf, "names"), file, dict))
    for name in names:
        if not name or len(name) > 100 or not name.isidentifier():
            raise _data.DataFileError(
                file, f"{key}.risk_factors.names has the name {name[:100]!r}; names must be identifiers"
            )
    if AGE_RISK_FACTOR not in names:
        raise _data.DataFileError(file, f"{key}.risk_factors.names must include {AGE_RISK_FACTOR!r} (derived from age)")
    if "bmi_below" in _data.entry(doc, rf, file, dict):
        _data.number(doc, (*rf, "bmi_below"), file, 10.0, 60.0, "kg/m2")
    title = _data.text(doc, (*rule, "name"), file) if "name" in _data.entry(doc, rule, file, dict) else key
    citation = _data.entry(doc, (*rule, "citation"), file, str) if "citation" in doc[key] else ""
    return GuidelineRule(
        threshold_by_count=thresholds,
        treat_all_count=count,
        risk_factors=names,
        age_above=_data.number(doc, (*rf, "age_years_above"), file, *limits.AGE_YEARS, unit="years"),
        monitoring_interval=(low, high),
        key=key,
        name=title,
        citation=citation,
    )


def hadji_2017() -> GuidelineRule:
    """Load the Hadji 2017 rule from ``data/guidelines.json`` (values verified on secondary pages).

    Raises
    ------
    bmdsim._data.DataFileError
        A :class:`ValueError` naming the file and the key if the file is not
        valid JSON, lacks a key, has an unknown key where numbers are read, or
        holds a threshold that is not a finite T-score in
        :data:`bmdsim.limits.T_SCORE`, a count that is not an integer, an
        age outside :data:`bmdsim.limits.AGE_YEARS` or an interval outside
        ``(0, 60]`` years.
    """
    return _load_guideline("hadji_2017")


def hadji_2025() -> GuidelineRule:
    """Load the 2025 update's rule from ``data/guidelines.json``.

    Its numbers were read in a secondary source (seed 001, a patient-education
    article summarising the statement), not in the statement's own text; the
    file marks the values bmdsim assumed (no risk-factor-only branch, "plus
    additional risk factors" read as at least one). Validated as
    :func:`hadji_2017`.
    """
    return _load_guideline("hadji_2025")


class GuidelineRegistry(Mapping[str, GuidelineRule]):
    """Guideline rules by name: the shipped ones (read from ``data/guidelines.json`` at each access) and added ones.

    ``GUIDELINES["hadji_2025"]`` gives a :class:`GuidelineRule`; an unknown
    name raises a :class:`KeyError` listing the registered names. Add rules
    with :func:`register_guideline`.
    """

    def __init__(self) -> None:
        self._loaders: dict[str, Any] = {}

    def __getitem__(self, name: str) -> GuidelineRule:
        loader = self._loaders.get(name) if isinstance(name, str) else None
        if loader is None:
            raise KeyError(f"unknown guideline {name!r:.100}; registered guidelines are: {', '.join(self)}")
        return loader() if callable(loader) else loader

    def __iter__(self):  # noqa: ANN204 - Mapping protocol
        return iter(tuple(self._loaders))

    def __len__(self) -> int:
        return len(self._loaders)

    def __repr__(self) -> str:
        return f"GuidelineRegistry({', '.join(self)})"


#: Registered guideline rules by name (:class:`GuidelineRegistry`); ``Policy(rule=<name>)`` accepts each name.
GUIDELINES = GuidelineRegistry()
GUIDELINES._loaders.update({"hadji_2017": hadji_2017, "hadji_2025": hadji_2025})


def register_guideline(rule: GuidelineRule, *, replace: bool = False) -> GuidelineRule:
    """Register ``rule`` under ``rule.key`` so that ``Policy(rule=rule.key)`` applies it.

    Raises
    ------
    ValueError
        The name is registered already (shipped or not) and ``replace`` is not True.
    TypeError
        ``rule`` is not a :class:`GuidelineRule`.
    """
    if not isinstance(rule, GuidelineRule):
        raise TypeError(f"rule must be a bmdsim.policy.GuidelineRule, got {type(rule).__name__}")
    if replace is not True and replace is not False:
        raise TypeError(f"replace must be True or False, got {replace!r}")
    if rule.key in GUIDELINES and not replace:
        raise ValueError(
            f"guideline {rule.key!r} is registered already; pass replace=True to replace it "
            f"(registered guidelines: {', '.join(GUIDELINES)})"
        )
    GUIDELINES._loaders[rule.key] = rule
    return rule


def unregister_guideline(name: str) -> None:
    """Remove a guideline registered with :func:`register_guideline` (a shipped one cannot be removed)."""
    if name in SHIPPED_GUIDELINES:
        raise ValueError(f"guideline {name!r} is shipped with bmdsim and cannot be removed (replace it instead)")
    if name not in GUIDELINES:
        raise ValueError(f"unknown guideline {name!r:.100}; registered guidelines are: {', '.join(GUIDELINES)}")
    del GUIDELINES._loaders[name]


def guideline(name: str) -> GuidelineRule:
    """The registered rule ``name``; a :class:`ValueError` listing the registered ones if there is none."""
    if not isinstance(name, str) or name not in GUIDELINES:
        raise ValueError(f"unknown guideline {name!r:.100}; registered guidelines are: {', '.join(GUIDELINES)}")
    return GUIDELINES[name]


def policy_guideline(rule: str) -> str | None:
    """The guideline name a Policy rule applies: ``"threshold"`` is ``"hadji_2017"``; None for treat_all and none."""
    if rule == "threshold":
        return "hadji_2017"
    return None if rule in RULES else rule


@dataclass(frozen=True)
class Policy:
    """A monitoring and treatment policy.

    Parameters
    ----------
    name : str
        Label used in tables (1 to :data:`MAX_POLICY_NAME_CHARS` characters).
    rule : str
        ``"threshold"`` (Hadji 2017: treat at the first scan showing the
        patient's threshold, or at baseline with 2+ risk factors),
        ``"treat_all"`` (everyone from baseline), ``"none"`` (nobody), or
        the name of a registered guideline rule (:data:`GUIDELINES`:
        ``"hadji_2017"``, the same as ``"threshold"``; ``"hadji_2025"``; or
        one added with :func:`register_guideline`), applied to scans the
        same way.
    scan_interval : float or None
        Years between DXA scans, in ``[1/52, 60]`` (at most weekly,
        :data:`MIN_SCAN_INTERVAL_YEARS`), or None for no monitoring (not
        allowed with ``"threshold"`` or a guideline, which need scans). A
        guideline's recommended interval is ``GUIDELINES[name].monitoring_interval``.
    agent : str
        Bone-protective therapy, one of :data:`bmdsim.THERAPIES`.
    duration : float
        Length of the course [years], in ``(0, 60]``.
    site : str or None
        Site whose T-score the rule watches; None (default) watches every
        measured site of the patient (the lowest one decides).
    """

    name: str
    rule: str = "threshold"
    scan_interval: float | None = 1.0
    agent: str = "zoledronic_acid"
    duration: float = 5.0
    site: str | None = None

    def __post_init__(self) -> None:
        check_text("Policy name", self.name, MAX_POLICY_NAME_CHARS)
        if not self.name.strip():
            raise ValueError(f"Policy name must be a non-empty string, got {self.name!r}")
        check_choice("Policy rule", self.rule, (*RULES, *GUIDELINES))
        longest = limits.HORIZON_YEARS[1]
        if self.scan_interval is not None:
            interval = as_finite_float("Policy scan_interval", self.scan_interval)
            if not MIN_SCAN_INTERVAL_YEARS <= interval <= longest:
                raise ValueError(
                    f"Policy scan_interval must be a number of years in [{MIN_SCAN_INTERVAL_YEARS:.6g}, {longest:g}] "
                    f"(at most one scan a week; None for no monitoring), got {interval:g}"
                )
            object.__setattr__(self, "scan_interval", interval)
        elif self.rule not in ("treat_all", "none"):
            raise ValueError(
                f"Policy {self.name!r}: the {self.rule!r} rule acts on scans, so scan_interval must be a positive "
                "number of years, not None"
            )
        check_choice("Policy agent", self.agent, THERAPIES)
        duration = as_finite_float("Policy duration", self.duration)
        if not 0 < duration <= longest:
            raise ValueError(f"Policy duration must be a number of years in (0, {longest:g}], got {duration:g}")
        object.__setattr__(self, "duration", duration)
        if self.site is not None:
            check_site(self.site, "Policy site")

    def scans_per_patient(self, years: float) -> int:
        """Scans in ``[0, years]``: ``floor(years / scan_interval) + 1``, or 0 without monitoring.

        Parameters
        ----------
        years : float
            Horizon [years], in ``[0, 60]``.
        """
        years = as_finite_float("years", years)
        check_range("years", np.asarray(years), 0.0, limits.HORIZON_YEARS[1], unit="years")
        if self.scan_interval is None:
            return 0
        return int(math.floor(years / self.scan_interval + _TIME_TOL)) + 1

    def scan_times(self, years: float) -> np.ndarray:
        """Scan times [years] in ``[0, years]``: ``k * scan_interval``; empty without monitoring.

        Parameters
        ----------
        years : float
            Horizon [years], in ``[0, 60]``.
        """
        count = self.scans_per_patient(years)
        if not count:
            return np.empty(0)
        check_allocation(
            f"a scan schedule of {count} scans (years {years:g} / Policy scan_interval {self.scan_interval:g})",
            count,
            hint="use a longer scan_interval",
        )
        return np.arange(count) * self.scan_interval


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
    if not isinstance(rule, HadjiRule):
        raise TypeError(f"rule must be a bmdsim.policy.HadjiRule, got {type(rule).__name__}")
    age = np.atleast_1d(as_float_array("age", age))
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
            raise ValueError(
                f"risk_factors has an unknown risk factor {name!r:.80}; valid risk factors are: {', '.join(given)}"
            )
        arr = np.asarray(value)
        if arr.dtype != bool:
            raise TypeError(f"risk_factors[{name!r}] must be booleans, got dtype {arr.dtype}")
        if arr.ndim > 1 or (arr.ndim == 1 and arr.size != n):
            raise ValueError(f"risk_factors[{name!r}] must be a boolean or have length n = {n}, got shape {arr.shape}")
        count = count + np.broadcast_to(arr, (n,)).astype(int)
    return count


#: Columns of :meth:`PolicyResult.summary` (and :func:`compare_policies`) that are times: their
#: ``to_frame()`` names add the unit (``scan_interval`` -> ``scan_interval_years``).
_TIME_KEYS = ("scan_interval", "delay_mean", *(f"delay_p{q:g}" for q in DELAY_PERCENTILES), "delay_max")
#: Unit or meaning of each column of :meth:`PolicyComparison.to_frame`, by its dict key.
SUMMARY_UNITS: dict[str, str] = {
    "policy": tables.UNITS["policy"],
    "rule": "policy rule (threshold, treat_all, none, or a registered guideline name such as hadji_2025)",
    "scan_interval": "years between DXA scans (NaN: no monitoring)",
    "fraction_patient_years_below": "fraction (0-1) of the n x years patient-years with T-score <= threshold at site",
    "scans_per_patient": "DXA scans per patient (count)",
    "scans_total": "DXA scans of all patients (count)",
    "fraction_treated": "fraction (0-1) of the patients whose therapy starts within the horizon",
    "fraction_treated_at_baseline": "fraction (0-1) of the patients treated from time 0",
    "fraction_false_positive": "fraction (0-1) of the patients treated on a scan above their true threshold",
    "n_true_crossers": "patients whose true T-score reaches their treatment threshold within the horizon (count)",
    "fraction_crossers_undetected": "fraction (0-1) of the true crossers not treated within the horizon (NaN: none)",
    "n_detected_on_scan": "true crossers treated on a scan (count)",
    "delay_mean": "years from the true crossing to the triggering scan, mean (NaN: none detected)",
    **{
        f"delay_p{q:g}": f"years from the true crossing to the triggering scan, {q:g}th percentile"
        for q in DELAY_PERCENTILES
    },
    "delay_max": "years from the true crossing to the triggering scan, largest",
}
#: Units of :meth:`PolicyResult.to_frame`'s columns.
PATIENT_UNITS: dict[str, str] = {
    "risk_factors": "number of risk factors (age_over_65 included)",
    "treatment_threshold_t_score_sd": "T-score [SD] that triggers her therapy (NaN: treated by rule or none)",
    "therapy_start_years": "years from baseline to the start of therapy (inf: not within the horizon)",
    "crossing_time_years": (
        "years to the true first crossing of her treatment threshold on the AI alone (0: at baseline; inf: not "
        "within the horizon; NaN: no threshold)"
    ),
    "detection_delay_years": "therapy_start_years - crossing_time_years for true crossers treated on a scan, else NaN",
    "years_below": "years with T-score at or below the time-below threshold at the time-below site",
    "trigger_scan": "index of the scan that started therapy (-1: not on a scan)",
    "false_positive": "True: treated on a scan at which her true T-score was above her threshold",
    "treated": "True: therapy starts within the horizon",
}


#: Fracture outcomes of the :func:`compare_policies` columns (:func:`bmdsim.fracture_incidence.outcomes`).
FRACTURE_OUTCOMES: tuple[str, ...] = ("hip", "clinical_vertebral", "major_osteoporotic", "any_clinical")
#: Units of the fracture columns :func:`compare_policies` adds to the summary columns (names carry the unit).
FRACTURE_UNITS: dict[str, str] = {
    **{
        f"fractures_{o}_per_1000": (
            f"expected first {o.replace('_', ' ')} fractures per 1,000 women over the horizon, death competing, "
            "along each woman's T-score under the policy (bmdsim.fracture_incidence)"
        )
        for o in FRACTURE_OUTCOMES
    },
    **{
        f"fractures_{o}_prevented_per_scan": (
            f"first {o.replace('_', ' ')} fractures prevented per additional DXA scan against fracture_reference: "
            "(reference - policy) fractures / (policy - reference) scans_total; NaN where the policy uses no more "
            "scans than the reference (the reference itself, unmonitored policies)"
        )
        for o in FRACTURE_OUTCOMES
    },
    "fracture_reference": "policy the prevented fractures are counted against (first 'none' policy, else the first)",
}


def _frame_name(key: str) -> str:
    """A summary key as a ``to_frame()`` column name (times carry ``_years``)."""
    return f"{key}_years" if key in _TIME_KEYS else key


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
        by rule or never eligible (``"treat_all"``, ``"none"``).
    start : (n,) ndarray
        Start of therapy [years]; inf if not within the horizon.
    crossing : (n,) ndarray
        True first crossing [years] of her treatment threshold at the watched
        site(s) on the AI regimen alone (0 already at baseline, inf not within
        the horizon); NaN where there is no threshold.
    detection_delay : (n,) ndarray
        ``start - crossing`` [years] for true crossers treated on a scan; NaN
        otherwise. Negative with measurement error when a scan showed the
        threshold before the true T-score reached it.
    years_below : (n,) ndarray
        Years with T-score at ``site`` <= ``threshold`` (midpoint rule, step ``grid_step``).
    scans_per_patient : int
    grid_step : float
        Step [years] of the midpoint grid.
    scan_times : (S,) ndarray
        Scan times [years]; empty without monitoring.
    trigger_scan : (n,) ndarray of int
        Index into ``scan_times`` of the scan that started therapy; -1 if
        therapy did not start on a scan (baseline by rule, treat-all, never).
    false_positive : (n,) ndarray of bool
        Therapy started on a scan at which her true T-score was above her
        threshold at every watched site (possible only with measurement error).
    measurement_error : dict of site -> float, or None
        CV [fraction] of the scan error per watched site; None for exact scans
        (and for rules that do not act on scans).
    seed : int or None
        Seed of the patients (Population) and of the scan errors.
    variability : Variability or None
        Between-patient variability of the loss, if any.
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
    scan_times: np.ndarray
    trigger_scan: np.ndarray
    false_positive: np.ndarray
    measurement_error: dict[str, float] | None = None
    seed: int | None = None
    variability: Variability | None = None

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(self.start.size)

    @property
    def treated(self) -> np.ndarray:
        """True for patients whose therapy starts within the horizon."""
        return self.start <= self.years + _TIME_TOL

    @property
    def true_crosser(self) -> np.ndarray:
        """True for patients with a threshold whose true (untreated) T-score reaches it within the horizon."""
        return np.isfinite(self.crossing)

    @property
    def undetected(self) -> np.ndarray:
        """True crossers whose therapy did not start within the horizon (no scan showed the threshold)."""
        return self.true_crosser & ~self.treated

    def summary(self) -> dict[str, Any]:
        """One row of :func:`compare_policies`.

        Returns
        -------
        dict
            ``policy``, ``rule``, ``scan_interval`` [years or None];
            ``fraction_patient_years_below``: years at or below ``threshold``
            at ``site`` over ``n * years`` (0-1); ``scans_per_patient`` and
            ``scans_total`` (counts); ``fraction_treated``,
            ``fraction_treated_at_baseline`` (start at time 0, by rule or on
            the baseline scan) and ``fraction_false_positive`` (treated on a
            scan at which the true T-score was above her threshold), each
            over all ``n`` patients (0-1); ``n_true_crossers`` (patients whose
            true T-score reaches their threshold within the horizon) and
            ``fraction_crossers_undetected`` (of them, not treated within the
            horizon; NaN without true crossers); ``n_detected_on_scan`` (true
            crossers treated on a scan) and their detection delay [years]:
            ``delay_mean``, ``delay_p50``, ``delay_p90``, ``delay_max`` (NaN
            if none; negative values are scans that showed the threshold
            before the true crossing).
        """
        delay = self.detection_delay[np.isfinite(self.detection_delay)]
        crossers = int(self.true_crosser.sum())
        row: dict[str, Any] = {
            "policy": self.policy.name,
            "rule": self.policy.rule,
            "scan_interval": self.policy.scan_interval,
            "fraction_patient_years_below": float(self.years_below.sum() / (self.n * self.years)),
            "scans_per_patient": self.scans_per_patient,
            "scans_total": self.scans_per_patient * self.n,
            "fraction_treated": float(self.treated.mean()),
            "fraction_treated_at_baseline": float(np.mean(self.start == 0.0)),
            "fraction_false_positive": float(self.false_positive.mean()),
            "n_true_crossers": crossers,
            "fraction_crossers_undetected": float(self.undetected.sum() / crossers) if crossers else math.nan,
            "n_detected_on_scan": int(delay.size),
            "delay_mean": float(delay.mean()) if delay.size else math.nan,
        }
        for q in DELAY_PERCENTILES:
            row[f"delay_p{q:g}"] = float(np.percentile(delay, q)) if delay.size else math.nan
        row["delay_max"] = float(delay.max()) if delay.size else math.nan
        return row

    def to_frame(self) -> pd.DataFrame:
        """One row per patient: what the policy did to her.

        Returns
        -------
        pandas.DataFrame
            Columns ``policy``, ``patient`` (int64), ``risk_factors``
            (int64), ``treatment_threshold_t_score_sd`` [SD],
            ``therapy_start_years`` (:attr:`start`), ``crossing_time_years``
            (:attr:`crossing`), ``detection_delay_years``, ``years_below``
            [years], ``trigger_scan`` (int64), ``false_positive`` and
            ``treated`` (bool); values equal the attributes. Units in
            ``df.attrs["units"]``; the summary over patients is
            :meth:`summary` (or ``compare_policies(...).to_frame()``).
        """
        n = self.n
        columns = {
            "policy": [self.policy.name] * n,
            "patient": np.arange(n, dtype=np.int64),
            "risk_factors": np.asarray(self.risk_factors, dtype=np.int64),
            "treatment_threshold_t_score_sd": np.asarray(self.treatment_threshold, dtype=float),
            "therapy_start_years": np.asarray(self.start, dtype=float),
            "crossing_time_years": np.asarray(self.crossing, dtype=float),
            "detection_delay_years": np.asarray(self.detection_delay, dtype=float),
            "years_below": np.asarray(self.years_below, dtype=float),
            "trigger_scan": np.asarray(self.trigger_scan, dtype=np.int64),
            "false_positive": np.asarray(self.false_positive, dtype=bool),
            "treated": np.asarray(self.treated, dtype=bool),
        }
        title = (
            f"Policy {self.policy.name!r}, one row per patient (time below T = {self.threshold:g} at {self.site}, "
            f"{self.years:g} years)"
        )
        return tables.frame(columns, title, PATIENT_UNITS)

    def _repr_html_(self) -> str:
        """The summary over patients, with units."""
        rows = [(key, value, SUMMARY_UNITS.get(key, "")) for key, value in self.summary().items()]
        title = (
            f"Policy {self.policy.name!r}: {self.n} patients, {self.years:g} years, time below T = "
            f"{self.threshold:g} at {self.site}"
        )
        return tables.html(
            tables.key_values(rows, "summary"),
            title=title,
            notes=("One row per patient: .to_frame(); the summary as a dict: .summary().",),
        )


@dataclass(frozen=True)
class _Cohort:
    """The patients (with their loss multipliers, all 1 without variability), the seed and the variability."""

    patients: PatientSet
    seed: int | None
    variability: Variability | None

    @property
    def patient(self) -> Patient:
        return self.patients.patient


def _resolve_cohort(
    patient: Any,
    ai_regimen: Regimen,
    years: float,
    n: int | None,
    seed: int | None,
    variability: Variability | None,
    params: ParameterSet,
    reference: YoungAdultReference,
) -> _Cohort:
    if isinstance(patient, (Patient, Population)) and patient.sex != "female":
        raise ValueError(
            f"the guideline rules (Hadji 2017, 2025) are for women with breast cancer on an AI; got patients of sex "
            f"{patient.sex!r}"
        )
    if seed is not None:
        seed = _check_seed(seed)
    if variability is not None and not isinstance(variability, Variability):
        raise TypeError(f"variability must be a bmdsim.Variability, got {type(variability).__name__}")
    if isinstance(patient, Population):
        if n is None or seed is None:
            raise ValueError("drawing patients from a Population needs n and seed")
        cohort = simulate_cohort(
            n, ai_regimen, years, seed, population=patient, variability=variability, params=params, reference=reference
        )
        return _Cohort(PatientSet.from_cohort(cohort), seed, variability)
    if not isinstance(patient, Patient):
        raise TypeError(f"patient must be a bmdsim.Patient or bmdsim.Population, got {type(patient).__name__}")
    if n is not None:
        raise ValueError(f"n is only for drawing patients from a Population; the Patient given has n = {patient.n}")
    if variability is not None:
        raise ValueError(
            "variability needs patients drawn from a bmdsim.Population (the multipliers are drawn with the "
            "patients, as simulate_cohort draws them); got a Patient"
        )
    return _Cohort(PatientSet(patient, years=years, params=params, reference=reference), seed, None)


@dataclass(frozen=True)
class _Setup:
    """Checked inputs shared by every policy of a comparison."""

    ai_regimen: Regimen
    years: float
    site: str
    threshold: float
    cells: int
    params: ParameterSet
    reference: YoungAdultReference


def _setup(
    ai_regimen: Regimen,
    years: float,
    site: str,
    threshold: float,
    grid_step: float,
    params: str | ParameterSet | None,
    reference: YoungAdultReference | None,
) -> _Setup:
    if not isinstance(ai_regimen, Regimen):
        raise TypeError(f"ai_regimen must be a bmdsim.Regimen, got {type(ai_regimen).__name__}")
    years = as_finite_float("years", years)
    if not limits.HORIZON_YEARS[0] < years <= limits.HORIZON_YEARS[1]:
        raise ValueError(f"years must be in ({limits.HORIZON_YEARS[0]:g}, {limits.HORIZON_YEARS[1]:g}], got {years:g}")
    check_site(site, "site")
    threshold = as_finite_float("threshold", threshold)
    grid_step = as_finite_float("grid_step", grid_step)
    if not MIN_GRID_STEP_YEARS <= grid_step <= years:
        raise ValueError(
            f"grid_step must be in [{MIN_GRID_STEP_YEARS:.6g}, years] = [{MIN_GRID_STEP_YEARS:.6g}, {years:g}] years "
            f"(one day to the horizon), got {grid_step:g}"
        )
    reference = load_reference() if reference is None else reference
    if not isinstance(reference, YoungAdultReference):
        raise TypeError(f"reference must be a bmdsim.YoungAdultReference, got {type(reference).__name__}")
    cells = max(1, int(math.floor(years / grid_step + _TIME_TOL)))
    check_allocation(f"a time-below grid of {cells} cells (years {years:g} / grid_step {grid_step:g})", cells)
    return _Setup(ai_regimen, years, site, threshold, cells, resolve_parameters(params), reference)


def _check_scan_batch(setup: _Setup, size: int, scan_times: np.ndarray) -> None:
    """Refuse a schedule whose batch of patients x scans (the scan decisions' working set) would not fit in memory.

    The batch is what :meth:`bmdsim.cohort.PatientSet.first_scan_at_or_below`
    holds at once: at most :data:`bmdsim.measurement.ERROR_BLOCK_PATIENTS`
    patients and ``_CELLS_PER_BATCH`` patient-scans.
    """
    count = scan_times.size
    if count > 1:
        batch = min(ERROR_BLOCK_PATIENTS, max(1, _CELLS_PER_BATCH // count), size)
        check_allocation(
            f"the scans of {batch} patients x {count} scans (years {setup.years:g} / Policy scan_interval "
            f"{scan_times[1]:g})",
            batch * count,
            hint="use a longer scan_interval",
        )


def _known_to(rule: GuidelineRule, risk_factors: Mapping[str, object] | None) -> Mapping[str, object] | None:
    """``risk_factors`` without the names ``rule`` does not count but another registered guideline does.

    So one mapping serves policies of several guidelines (the 2025 list has
    ``previous_vertebral_fracture``, the 2017 one does not); a name no
    registered guideline knows is kept, and :func:`risk_factor_count` refuses it.
    """
    if not isinstance(risk_factors, Mapping):
        return risk_factors
    others: set[str] = set()
    for name in GUIDELINES:
        if name != rule.key:
            try:
                others.update(GUIDELINES[name].risk_factors)
            except ValueError:  # a broken shipped entry: only the rule in use must load
                continue
    return {k: v for k, v in risk_factors.items() if k in rule.risk_factors or k not in others}


def _with_regimen_risk_factors(
    rule: GuidelineRule, risk_factors: Mapping[str, object] | None, regimen: Regimen
) -> Mapping[str, object] | None:
    """``risk_factors`` with what the AI regimen says about every woman: long-term glucocorticoids.

    A ``glucocorticoid`` exposure that started at least
    ``GLUCOCORTICOID_RISK_FACTOR[1]`` years before baseline and runs at
    baseline gives every woman the rule's risk factor
    ``GLUCOCORTICOID_RISK_FACTOR[0]`` (:mod:`bmdsim.profiles`). Given as False
    for some woman, that contradicts the regimen: a ValueError.
    """
    name, years = GLUCOCORTICOID_RISK_FACTOR
    if name not in rule.risk_factors:
        return risk_factors
    long_term = any(
        e.agent == "glucocorticoid" and not e.is_event and e.start <= -years and e.stop > 0.0 for e in regimen
    )
    if not long_term:
        return risk_factors
    given = dict(risk_factors or {})
    if name in given and not np.all(np.asarray(given[name], dtype=bool)):
        raise ValueError(
            f"risk_factors[{name!r}] is False for some women, but the AI regimen gives every woman a glucocorticoid "
            f"course that has run at least {12 * years:g} months at baseline; drop the key (it is then True for all) "
            "or the course"
        )
    given[name] = True
    return given


def _simulate(
    policy: Policy,
    cohort: _Cohort,
    setup: _Setup,
    risk_factors: Mapping[str, object] | None,
    measurement_error: object,
) -> PolicyResult:
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a bmdsim.Policy, got {type(policy).__name__}")
    patient = cohort.patient
    if setup.site not in patient.sites:
        raise ValueError(
            f"site {setup.site!r} has no baseline value; the patients' sites are {', '.join(patient.sites)}"
        )
    if policy.site is not None and policy.site not in patient.sites:
        raise ValueError(
            f"Policy site {policy.site!r} has no baseline value; the patients' sites are {', '.join(patient.sites)}"
        )
    watched = (policy.site,) if policy.site is not None else patient.sites
    chosen = policy_guideline(policy.rule)
    rule = hadji_2017() if chosen is None else guideline(chosen)
    risk_factors = _with_regimen_risk_factors(rule, risk_factors, setup.ai_regimen)
    count = risk_factor_count(_known_to(rule, risk_factors), patient.age, rule)
    precision = None
    if chosen is not None:
        precision = check_precision(measurement_error, watched)
        if precision is not None and cohort.seed is None:
            raise ValueError(
                f"Policy {policy.name!r}: measurement error is on, so simulate_policy needs seed (a non-negative "
                "integer) to draw the scan errors; pass seed=..., or measurement_error=None for exact scans"
            )
    size = patient.n
    scan_times = policy.scan_times(setup.years)
    if chosen is not None:
        _check_scan_batch(setup, size, scan_times)

    start = np.full(size, np.inf)
    crossing = np.full(size, np.nan)
    treatment_threshold = np.full(size, np.nan)
    trigger = np.full(size, -1)
    false_positive = np.zeros(size, dtype=bool)
    if policy.rule == "treat_all":
        start[:] = 0.0
    elif chosen is not None:
        start[rule.treats_at_baseline(count)] = 0.0
        treatment_threshold = rule.treatment_threshold(count).astype(float)
        has = np.isfinite(treatment_threshold)
        for thr in np.unique(treatment_threshold[has]):
            idx = np.flatnonzero(treatment_threshold == thr)
            group = cohort.patients.take(idx)
            crossing[idx] = np.min([group.crossing_time(setup.ai_regimen, s, float(thr)) for s in watched], axis=0)
        # BMD at each woman's threshold; -inf (never reached) for those without one (treated at baseline by rule).
        b_star = {s: np.full(size, -np.inf) for s in watched}
        if has.any():
            for s in watched:
                b_star[s][has] = setup.reference.bmd(s, treatment_threshold[has])
        trigger, false_positive = cohort.patients.first_scan_at_or_below(
            setup.ai_regimen, watched, scan_times, b_star, precision, cohort.seed
        )
        on_scan = trigger >= 0
        start[on_scan] = scan_times[trigger[on_scan]]

    course = Regimen([*setup.ai_regimen, Exposure(policy.agent, 0.0, duration=policy.duration)])
    warn_if_extrapolating(course if policy.rule != "none" else setup.ai_regimen, setup.params.values, setup.years)
    years_below = np.empty(size)
    for value in np.unique(start):  # at most S + 1 groups: the scan times and never
        idx = np.flatnonzero(start == value)
        regimen = setup.ai_regimen
        if np.isfinite(value):
            regimen = Regimen([*setup.ai_regimen, Exposure(policy.agent, float(value), duration=policy.duration)])
        years_below[idx] = cohort.patients.take(idx).years_below(regimen, setup.site, setup.threshold, setup.cells)

    on_scan = (trigger >= 0) & np.isfinite(crossing)
    delay = np.full(size, np.nan)
    delay[on_scan] = start[on_scan] - crossing[on_scan]
    return PolicyResult(
        policy=policy,
        years=setup.years,
        site=setup.site,
        threshold=setup.threshold,
        risk_factors=count,
        treatment_threshold=treatment_threshold,
        start=start,
        crossing=crossing,
        detection_delay=delay,
        years_below=years_below,
        scans_per_patient=policy.scans_per_patient(setup.years),
        grid_step=setup.years / setup.cells,
        scan_times=scan_times,
        trigger_scan=trigger,
        false_positive=false_positive,
        measurement_error=precision,
        seed=cohort.seed,
        variability=cohort.variability,
    )


def simulate_policy(
    policy: Policy,
    patient: Patient | Population,
    ai_regimen: Regimen,
    years: float,
    risk_factors: Mapping[str, object] | None = None,
    *,
    n: int | None = None,
    seed: int | None = None,
    variability: Variability | None = None,
    measurement_error: Mapping[str, float] | str | None = SHIPPED_PRECISION,
    site: str = "femoral_neck",
    threshold: float = OSTEOPOROSIS_T_SCORE,
    grid_step: float = DEFAULT_GRID_STEP,
    params: str | ParameterSet | None = DEFAULT_PARAMETER_SET,
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
        Horizon [years], in ``(0, 60]``.
    risk_factors : mapping of name -> bool array, optional
        Risk factors other than ``age_over_65`` (derived from age); see
        :func:`risk_factor_count`.
    n : int, optional
        Patients to draw; only with a Population.
    seed : int, optional
        Non-negative integer. Draws the patients from a Population and the
        scan errors; required when measurement error is on for a
        ``"threshold"`` policy.
    variability : Variability, optional
        Between-patient variability of the loss (only with a Population;
        the multipliers ``simulate_cohort`` draws). Default: none.
    measurement_error : "shipped", mapping of site -> float, or None
        DXA precision error of each scan: ``"shipped"`` (default,
        :func:`dxa_precision`), a CV per watched site as a fraction (0.02 is
        2 %, range 0-0.1), or None for exact scans. See :func:`check_precision`.
    site : str
        Site of the time-below measure (default femoral neck).
    threshold : float
        T-score [SD] of the time-below measure (default -2.5).
    grid_step : float
        Step [years] of the midpoint rule for time below, in ``[1 day, years]``
        (:data:`MIN_GRID_STEP_YEARS`).
    params, reference
        As :func:`bmdsim.simulate`.

    Returns
    -------
    PolicyResult

    Raises
    ------
    ValueError
        Measurement error on without a seed, a bad precision mapping (see
        :func:`check_precision`), ``variability`` or ``n`` with a Patient, a
        site the patients lack, or out-of-range numbers.

    Notes
    -----
    See the module notes: what a scan sees, how the errors are seeded (the
    same seed gives the same error at the same scan time for every policy),
    and how patients are grouped by start so that no per-patient simulation
    is needed.
    """
    setup = _setup(ai_regimen, years, site, threshold, grid_step, params, reference)
    cohort = _resolve_cohort(patient, ai_regimen, setup.years, n, seed, variability, setup.params, setup.reference)
    return _simulate(policy, cohort, setup, risk_factors, measurement_error)


def _from_keywords(
    patient: Patient | Population, ai_regimen: Regimen, years: float, kwargs: Mapping[str, Any]
) -> tuple[_Setup, _Cohort]:
    """:func:`_setup` and :func:`_resolve_cohort` from the keywords of :func:`simulate_policy`, with its defaults."""
    setup = _setup(
        ai_regimen,
        years,
        kwargs.get("site", "femoral_neck"),
        kwargs.get("threshold", OSTEOPOROSIS_T_SCORE),
        kwargs.get("grid_step", DEFAULT_GRID_STEP),
        kwargs.get("params", DEFAULT_PARAMETER_SET),
        kwargs.get("reference"),
    )
    cohort = _resolve_cohort(
        patient,
        ai_regimen,
        setup.years,
        kwargs.get("n"),
        kwargs.get("seed"),
        kwargs.get("variability"),
        setup.params,
        setup.reference,
    )
    return setup, cohort


def at_threshold_regimen(policy: Policy, ai_regimen: Regimen, site: str, threshold: float) -> Regimen:
    """The policy for a woman whose rule watches ``site`` at ``threshold``, as an event-started exposure.

    ``ai_regimen`` plus ``policy.agent`` for ``policy.duration`` years from
    the first scan (every ``policy.scan_interval`` years from time 0) at or
    after the true crossing of ``threshold`` [SD] at ``site``:
    :class:`bmdsim.AtThreshold` with that ``scan_interval``. This is the
    policy with exact scans; measurement error (a scan that *shows* the
    threshold) is what :func:`simulate_policy` adds on top.

    Raises
    ------
    ValueError
        The policy has no scans (``scan_interval`` None).
    """
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a bmdsim.Policy, got {type(policy).__name__}")
    if not isinstance(ai_regimen, Regimen):
        raise TypeError(f"ai_regimen must be a bmdsim.Regimen, got {type(ai_regimen).__name__}")
    if policy.scan_interval is None:
        raise ValueError(f"Policy {policy.name!r} has no scans (scan_interval None): no scan can start its course")
    trigger = AtThreshold(site, threshold, scan_interval=policy.scan_interval)
    return Regimen([*ai_regimen, Exposure(policy.agent, trigger, duration=policy.duration)])


def simulate_policy_by_events(
    policy: Policy,
    patient: Patient | Population,
    ai_regimen: Regimen,
    years: float,
    risk_factors: Mapping[str, object] | None = None,
    **kwargs: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """The policy with exact scans, resolved by the engine's per-patient event search: starts and years below.

    An independent path to what :func:`simulate_policy` computes with
    ``measurement_error=None``: no grouping by start and no scan matrix.
    Each woman with a treatment threshold is put on
    :func:`at_threshold_regimen` for every watched site; the cohort engine
    resolves each event start per patient (:meth:`bmdsim.cohort.PatientSet.exposure_times`)
    and her start is the earliest; her years below are counted on the
    regimen of that site (:meth:`~bmdsim.cohort.PatientSet.years_below`).
    For tests and ``benchmarks/bench_policy.py``; :func:`simulate_policy` is
    the fast path and gives the rest of the :class:`PolicyResult`.

    Parameters
    ----------
    policy, patient, ai_regimen, years, risk_factors
        As :func:`simulate_policy`.
    **kwargs
        The keywords of :func:`simulate_policy` but ``measurement_error``
        (scans are exact): ``n``, ``seed``, ``variability``, ``site``,
        ``threshold``, ``grid_step``, ``params``, ``reference``.

    Returns
    -------
    start : (n,) ndarray
        Start of therapy [years]; inf if not within the horizon.
    years_below : (n,) ndarray
        Years [years] with the T-score at ``site`` at or below ``threshold``
        (midpoint rule; with an event start the midpoints compare BMD with
        the threshold's BMD, so a midpoint within rounding of the threshold
        may count differently from :func:`simulate_policy`).
    """
    allowed = {"n", "seed", "variability", "site", "threshold", "grid_step", "params", "reference"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(
            f"simulate_policy_by_events got unexpected keyword(s) {', '.join(unknown)}; allowed: {sorted(allowed)}"
        )
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a bmdsim.Policy, got {type(policy).__name__}")
    setup, cohort = _from_keywords(patient, ai_regimen, years, kwargs)
    patients, size = cohort.patients, cohort.patient.n
    watched = (policy.site,) if policy.site is not None else cohort.patient.sites
    chosen = policy_guideline(policy.rule)
    rule = hadji_2017() if chosen is None else guideline(chosen)
    risk_factors = _with_regimen_risk_factors(rule, risk_factors, setup.ai_regimen)
    count = risk_factor_count(_known_to(rule, risk_factors), cohort.patient.age, rule)
    start = np.full(size, np.inf)
    groups = [(np.arange(size), setup.ai_regimen)]  # (patients, the regimen they are on)
    if policy.rule != "none":
        course = Regimen([*setup.ai_regimen, Exposure(policy.agent, 0.0, duration=policy.duration)])
        at_zero = np.ones(size, dtype=bool) if chosen is None else rule.treats_at_baseline(count)
        start[at_zero] = 0.0
        groups = [(np.flatnonzero(~at_zero), setup.ai_regimen), (np.flatnonzero(at_zero), course)]
    if chosen is not None:
        thresholds = rule.treatment_threshold(count).astype(float)
        groups = groups[1:]
        for thr in np.unique(thresholds[np.isfinite(thresholds)]):
            idx = np.flatnonzero(thresholds == thr)
            regimens = [at_threshold_regimen(policy, setup.ai_regimen, s, float(thr)) for s in watched]
            group = patients.take(idx)
            starts = np.stack([group.exposure_times(r, r.exposures[-1])[0] for r in regimens])
            first = np.argmin(starts, axis=0)  # the site whose scan shows the threshold first
            for j, regimen in enumerate(regimens):
                groups.append((idx[first == j], regimen))
            start[idx] = starts[first, np.arange(idx.size)]
    below = np.empty(size)
    for idx, regimen in groups:
        if idx.size:
            below[idx] = patients.take(idx).years_below(regimen, setup.site, setup.threshold, setup.cells)
    start[start > setup.years + _TIME_TOL] = np.inf
    return start, below


def _fracture_site(outcome: str, sites: Sequence[str]) -> str | None:
    """The outcome's default site if measured, else the first measured site that predicts it (None: none does)."""
    from . import fracture_incidence as _fi  # lazily: python -m bmdsim.fracture_incidence imports bmdsim first

    first = _fi.default_site(outcome)
    for site in (first, *[s for s in sites if s != first]):
        if site not in sites:
            continue
        try:
            _fi.hazard(outcome, 65.0, 0.0, site=site)
        except ValueError:
            continue
        return site
    return None


def _policy_fractures(
    result: PolicyResult, cohort: _Cohort, setup: _Setup, outcomes_: Sequence[str], step: float
) -> dict[str, float]:
    """Expected first fractures per 1,000 women over the horizon under the policy of ``result``, per outcome.

    Each woman's T-score at the integration midpoints is her BMD on the AI
    regimen plus, from her therapy start (:attr:`PolicyResult.start`), the
    policy's agent for its duration: ``BMD(0) exp(-m L(t))`` with ``L`` the
    log-loss of that fixed-start regimen (shared by every woman of a start
    group, or evaluated per batch of women). The hazard integration is
    :func:`bmdsim.fracture_incidence.t_score_incidence` on the grid of
    :func:`~bmdsim.fracture_incidence.integration_grid`, vectorised over the
    women of a batch. NaN for an outcome no measured site predicts.
    """
    from . import fracture_incidence as _fi

    patient, policy = cohort.patient, result.policy
    mid, dt = _fi.integration_grid(setup.years, step)
    site_of = {o: _fracture_site(o, patient.sites) for o in outcomes_}
    needed = sorted({s for s in site_of.values() if s is not None})
    totals = {o: 0.0 for o in outcomes_}
    batch = max(1, _CELLS_PER_BATCH // max(1, mid.size))
    for value in np.unique(result.start):  # at most S + 1 groups: the scan times and never
        idx = np.flatnonzero(result.start == value)
        regimen = setup.ai_regimen
        if np.isfinite(value):
            regimen = Regimen([*setup.ai_regimen, Exposure(policy.agent, float(value), duration=policy.duration)])
        group = cohort.patients.take(idx)
        for a in range(0, idx.size, batch):  # batches of women, to bound memory
            b = min(a + batch, idx.size)
            age = patient.age[idx[a:b]]
            t_mid = {s: setup.reference.t_score(s, group.bmd_at(regimen, s, mid, a, b)) for s in needed}
            for o in outcomes_:
                if site_of[o] is not None:
                    inc = _fi.t_score_incidence(o, age, mid, dt, t_mid[site_of[o]], site=site_of[o])
                    totals[o] += float(inc.sum())
    return {o: (1000.0 * totals[o] / result.n if site_of[o] is not None else math.nan) for o in outcomes_}


def _fracture_columns(results: Sequence[PolicyResult], per_1000: Sequence[Mapping[str, float]]) -> dict[str, list]:
    """The fracture columns of :func:`compare_policies` (see :data:`FRACTURE_UNITS`)."""
    ref = next((i for i, r in enumerate(results) if r.policy.rule == "none"), 0)
    n = results[ref].n
    ref_scans = results[ref].scans_per_patient * n
    out: dict[str, list] = {}
    for o in FRACTURE_OUTCOMES:
        out[f"fractures_{o}_per_1000"] = [float(f[o]) for f in per_1000]
    for o in FRACTURE_OUTCOMES:
        column = []
        for r, f in zip(results, per_1000, strict=True):
            extra_scans = r.scans_per_patient * n - ref_scans
            prevented = (per_1000[ref][o] - f[o]) * n / 1000.0
            column.append(float(prevented / extra_scans) if extra_scans > 0 else math.nan)
        out[f"fractures_{o}_prevented_per_scan"] = column
    out["fracture_reference"] = [results[ref].policy.name] * len(results)
    return out


class PolicyComparison(tables.FrameDict):
    """What :func:`compare_policies` returns: its dict of columns, plus :meth:`to_frame`."""

    def to_frame(self) -> pd.DataFrame:
        """The comparison as a DataFrame: one row per policy.

        Returns
        -------
        pandas.DataFrame
            The dict's columns in its order; the times ``scan_interval``,
            ``delay_mean``, ``delay_p50``, ``delay_p90`` and ``delay_max``
            renamed ``*_years`` [years] (``scan_interval`` None: NaN); every
            other column keeps its name (the fracture columns carry their
            unit: ``fractures_hip_per_1000``, ``fractures_hip_prevented_per_scan``,
            ...). Units and meanings in ``df.attrs["units"]`` (as
            :meth:`PolicyResult.summary` and :data:`FRACTURE_UNITS`).
        """
        columns: dict[str, Any] = {}
        for key, values in self.items():
            if key in _TIME_KEYS:
                values = [math.nan if v is None else float(v) for v in values]
            columns[_frame_name(key)] = values
        units = {_frame_name(k): v for k, v in SUMMARY_UNITS.items()}
        units.update({k: v for k, v in FRACTURE_UNITS.items() if k in self})
        return tables.frame(columns, "Policies compared on the same patients (one row per policy)", units)


def compare_policies(
    policies: Sequence[Policy],
    patient: Patient | Population,
    ai_regimen: Regimen,
    years: float,
    risk_factors: Mapping[str, object] | None = None,
    **kwargs: Any,
) -> PolicyComparison:
    """Simulate each policy on the same patients and return a table (dict of columns).

    A Population is drawn once (``n``, ``seed``, ``variability``) so every
    policy sees the same women, and scans at the same time show the same
    error in every policy.

    Parameters
    ----------
    policies : sequence of Policy
        1 to :data:`MAX_POLICIES` policies with distinct names.
    patient, ai_regimen, years, risk_factors
        As :func:`simulate_policy`.
    **kwargs
        The keywords of :func:`simulate_policy`: ``n``, ``seed``,
        ``variability``, ``measurement_error``, ``site``, ``threshold``,
        ``grid_step``, ``params``, ``reference``; and ``fractures`` (bool,
        default True: add the fracture columns) and ``fracture_step``
        (integration step [years] of the fracture hazard, default
        :data:`bmdsim.fracture_incidence.DEFAULT_STEP`, a quarter year).

    Returns
    -------
    dict of str -> list
        One row per policy; the columns are the keys of
        :meth:`PolicyResult.summary` (units there), then, with
        ``fractures``, for each outcome of :data:`FRACTURE_OUTCOMES` (hip,
        clinical vertebral, major osteoporotic, any clinical):
        ``fractures_<outcome>_per_1000``, the expected first fractures per
        1,000 women over the horizon, death competing, computed along each
        woman's T-score trajectory under the policy (therapy from the start
        the policy gave her; :mod:`bmdsim.fracture_incidence`); and
        ``fractures_<outcome>_prevented_per_scan``, the fractures prevented
        per additional DXA scan against ``fracture_reference`` (the first
        ``"none"`` policy, else the first policy): ``(reference - policy)``
        fractures over ``(policy - reference)`` scans of all women; NaN where
        the policy uses no more scans than the reference. Units in
        :data:`FRACTURE_UNITS`. Its ``.to_frame()`` gives the same table as
        a DataFrame (:meth:`PolicyComparison.to_frame`).

    Notes
    -----
    The fracture columns are expectations (the model's mean risk over the
    women simulated), not counts of simulated events; they carry the limits
    of :mod:`bmdsim.fracture_incidence` (general-population baseline rates,
    BMD-mediated drug effect only, no falls).
    """
    policies = named_items(policies, Policy, "policies", MAX_POLICIES, "bmdsim.Policy")
    allowed = {
        "n",
        "seed",
        "variability",
        "measurement_error",
        "site",
        "threshold",
        "grid_step",
        "params",
        "reference",
        "fractures",
        "fracture_step",
    }
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"compare_policies got unexpected keyword(s) {', '.join(unknown)}; allowed: {sorted(allowed)}")
    setup, cohort = _from_keywords(patient, ai_regimen, years, kwargs)
    from . import fracture_incidence as _fi

    error = kwargs.get("measurement_error", SHIPPED_PRECISION)
    fractures = kwargs.get("fractures", True)
    if not isinstance(fractures, (bool, np.bool_)):
        raise TypeError(f"fractures must be True or False, got {fractures!r}")
    step = kwargs.get("fracture_step", _fi.DEFAULT_STEP)
    if fractures:
        step = as_finite_float("fracture_step", step)
        check_range("fracture_step", np.asarray(step), *_fi.STEP_RANGE, unit="years")
    table: dict[str, list] = {}
    results, per_1000 = [], []
    for p in policies:
        result = _simulate(p, cohort, setup, risk_factors, error)
        for key, value in result.summary().items():
            table.setdefault(key, []).append(value)
        if fractures:
            results.append(result)
            per_1000.append(_policy_fractures(result, cohort, setup, FRACTURE_OUTCOMES, step))
    if fractures:
        table.update(_fracture_columns(results, per_1000))
    return PolicyComparison(table)
