"""Scenario files: patients or a population, a regimen, a horizon and the outputs wanted, in TOML.

A scenario file maps one-to-one onto the Python API::

    name = "AI for 5 years, then withdrawal"
    description = "..."                      # optional, used in captions and by `bmdsim examples`

    [patient]                                # -> bmdsim.Patient(age=..., t_score=..., bmd=...)
    age = 63                                 # years; a number or an array (one entry per patient)
    t_score = { lumbar_spine = -1.2, femoral_neck = -1.5 }   # SD; or bmd = {...} in g/cm2

    [[exposure]]                             # -> bmdsim.Exposure(agent, start, stop, duration); one per course
    agent = "aromatase_inhibitor"
    start = 0                                # years from baseline (default 0)
    stop = 5                                 # years; or duration = 5; leave both out for a course that does not stop

    [simulation]                             # -> bmdsim.simulate(years=..., step=..., params=..., reference=...)
    years = 15
    step = 0.083333                          # output resolution [years], at least one day
    params = "trials"                        # a parameter set: trials (default, calibrated) or consensus (teaching)
    reference = "default"

    [output]
    thresholds = [-1.0, -2.0, -2.5]          # T-score thresholds [SD]
    formats = ["png"]                        # any of png, svg, pdf
    figures = ["trajectory", "crossings"]    # see FIGURE_KINDS

Who is simulated: exactly one of

``[patient]``
    Given patients, simulated by :func:`bmdsim.simulate`; :meth:`Scenario.run`
    returns the :class:`~bmdsim.Trajectory` (every patient's BMD and T-score
    at every output time, and their crossing times).
``[cohort]``
    An *illustrative* synthetic group drawn with a fixed seed (see
    :func:`synthetic_patients`; keys ``n``, ``seed``, ``age = {mean, sd, min,
    max}``, ``t_score = {site = {mean, sd}}``); its distribution parameters are
    display inputs, not a calibrated population. Simulated as ``[patient]``.
``[population]``
    Women drawn from a :class:`bmdsim.Population` by
    :func:`bmdsim.simulate_cohort`; :meth:`Scenario.run` returns the
    :class:`~bmdsim.CohortResult` (summaries, not per-patient trajectories)::

        [population]                     # -> bmdsim.simulate_cohort(n, regimen, years, seed, population=...)
        n = 5000                         # women drawn, 1 to MAX_POPULATION
        seed = 1                         # same seed, same women and answers
        preset = "default"               # bmdsim.cohort.default_population(); or, instead of preset:
        # age = { mean = 64, sd = 10, low = 45, high = 90 }                          # TruncatedNormal [years]
        # t_score = { femoral_neck = { mean = -0.9, sd = 1, low = -6, high = 4 } }   # TruncatedNormal per site [SD]
        # correlation = 0.7              # between sites' T-scores: one value, or [{ sites = [a, b], value = r }]
        # age_correlation = -0.3         # between age and each site's T-score: one value, or { site = r }
        # name = "my clinic"             # a label

        [variability]                    # -> bmdsim.Variability(cv=..., correlation=...)
        cv = 1.2                         # one value or { site = cv }; 0 gives every woman the mean loss
        correlation = 0.76               # of the log multipliers: one value, or [{ sites = [a, b], value = r }]

    Without ``[variability]`` the default estimated spread is used (as
    ``simulate_cohort(variability=None)``). ``[simulation]`` then also takes
    the run options of :func:`bmdsim.simulate_cohort` (each optional; a
    ``[patient]`` or ``[cohort]`` scenario refuses them)::

        [simulation]
        parameter_draws = 20             # calibration draws of `params` on the same women: 0 (default, none)
                                         # up to the draws shipped for the set (100; bmdsim.parameter_draws)
        chunk_size = 100000              # women simulated at once (bounds memory; answers do not depend on it),
                                         # at least n / MAX_CHUNKS, at most MAX_POPULATION
        workers = 2                      # threads, 1 to bmdsim.cohort.MAX_WORKERS; default min(2, CPUs)

    With ``parameter_draws`` the ``fraction_crossed`` figure draws the
    parameter-uncertainty band and the command line's fraction table gains
    its interval columns. ``[output]`` then also takes
    ``times`` (years at which the fraction below each threshold and the
    T-score percentiles are reported; default every whole year and the
    horizon) and ``percentiles`` (default 10, 25, 50, 75, 90), and
    ``simulation.step`` does not apply.

A course may start on an event, :class:`bmdsim.AtThreshold` (the first time,
or the first scan at which, the T-score at a site reaches a threshold); its
length is then a ``duration``::

    [[exposure]]
    agent = "zoledronic_acid"
    start = { at_threshold = { site = "femoral_neck", threshold = -2.0, scan_interval = 1.0, delay = 0 } }
    duration = 5                             # years; leave out for a course that does not stop

Monitoring policies (:class:`bmdsim.Policy`) are compared on the same patients
or population, with the scenario's ``[[exposure]]`` courses as the AI regimen
(:func:`bmdsim.compare_policies`; :meth:`Scenario.compare_policies`)::

    [[policy]]                               # -> bmdsim.Policy(name, rule, scan_interval, agent, duration, site)
    name = "scan 12 m, treat on threshold"
    rule = "threshold"                       # or "treat_all", "none", or a guideline of bmdsim.GUIDELINES
    scan_interval = 1.0                      # years between scans; "none" for no monitoring
    agent = "zoledronic_acid"                # bone-protective therapy, one of bmdsim.THERAPIES
    duration = 5                             # years
    # site = "femoral_neck"                  # watch one site; default: every measured site

    [compare_policies]                       # the other keywords of bmdsim.compare_policies (all optional)
    site = "femoral_neck"                    # where time below `threshold` is counted
    threshold = -2.5                         # T-score [SD]
    measurement_error = "shipped"            # DXA precision; "none" for exact scans, or { site = CV (fraction) }
    grid_step = 0.019230769230769232         # years, of the time-below grid (one week)
    risk_factors = { smoking = true }        # true/false for everyone, or an array with one per patient
    seed = 1                                 # seeds the scan errors ([patient]; otherwise the group's seed)

A policy's ``rule`` is ``"threshold"`` (the Hadji 2017 rule, the default),
``"treat_all"``, ``"none"``, or the name of a registered guideline rule
(:data:`bmdsim.policy.GUIDELINES`: ``"hadji_2017"``, the same as
``"threshold"``; ``"hadji_2025"``, the 2025 update; or one added with
:func:`bmdsim.policy.register_guideline`), as ``bmdsim.Policy(rule=...)``
takes it. A guideline rule acts on scans as ``"threshold"`` does, so it needs
a ``scan_interval`` and, with DXA errors, a ``[compare_policies] seed``.
``risk_factors`` may name the risk factors of any registered guideline; a
policy counts those its own guideline lists (see :mod:`bmdsim.policy`).

Unknown sections or keys are errors, and every error names the file, the key
and what is allowed.

Limits (each refused with a one-line :class:`ScenarioError`, never clipped):

- the file must be a regular file (not a directory, pipe or device) of at most
  :data:`MAX_FILE_BYTES` bytes, in UTF-8 (a leading byte-order mark is allowed);
  arrays and inline tables nested too deeply for the TOML reader are refused;
- a ``[patient]`` array, like ``[cohort] n``, holds at most :data:`MAX_PATIENTS`
  patients; ``[population] n`` is at most :data:`MAX_POPULATION`;
- at most :data:`MAX_EXPOSURES` ``[[exposure]]`` courses, :data:`MAX_POLICIES_PER_SCENARIO`
  ``[[policy]]`` blocks and :data:`MAX_THRESHOLDS` thresholds; at most
  :data:`MAX_OUTPUT_TIMES` ``times`` and :data:`MAX_PERCENTILES` ``percentiles``;
- ``step`` is at least :data:`MIN_STEP_YEARS` (one day), and the output grid of
  all patients (patients x times, float64) must fit in
  :data:`bmdsim.limits.MAX_ARRAY_BYTES`;
- ``name`` and ``description`` are at most :data:`bmdsim.limits.MAX_TEXT_CHARS`
  characters.

Implausible units (refused the same way, with the reason in the message):

- **a course longer than** :data:`MAX_COURSE_YEARS` (15 years), from ``stop -
  start`` or ``duration`` of an ``[[exposure]]`` or a ``[[policy]]``. Adjuvant
  endocrine therapy runs 5 to 10 years in trials (ATAC 5 years; extended AI to
  10 years in MA.17R; tamoxifen 10 years in ATLAS) and bone-protective courses
  3 to 10 years (zoledronic acid 3 years in ABCSG-12 and 5 in AZURE, alendronate
  10 years in FLEX). 15 leaves room for unusual schedules and catches months
  typed for years (``stop = 60`` meaning 5 years). A course that never stops
  (no ``stop`` or ``duration``) is still allowed;
- **a course that starts at or after the horizon** (``simulation.years``): it
  would have no effect, and is most often a start in months;
- **a scan interval or delay over** :data:`MAX_SCAN_INTERVAL_YEARS` (5 years)
  in ``at_threshold`` and ``[[policy]]``: guidelines scan every 1 to 2 years
  on an AI (Hadji et al. 2017: every 12-24 months), so 12 or 24 is almost
  surely months; a delay from detection to the start of therapy is weeks to
  months;
- **a positive T-score threshold** (``[output] thresholds``, ``at_threshold``
  and ``[compare_policies]`` ``threshold``): thresholds of interest are
  negative (WHO -1.0 and -2.5; Hadji et al. 2017 -1.5 and -2.0), and a
  positive one is almost always a dropped minus sign, which would report
  every woman as crossing at baseline. The largest allowed is
  :data:`MAX_THRESHOLD_SD` (0, the young-adult mean);
- **a horizon over 60 years** (:data:`bmdsim.limits.HORIZON_YEARS`): women
  start an AI after the menopause, so 60 more years takes nearly all of them
  past 100 (the oldest age bmdsim accepts); a longer horizon is most often
  months typed for years (``years = 120`` meaning 10). ``[output] times``
  must lie within the horizon.
"""

from __future__ import annotations

import math
import os
import reprlib
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import limits
from . import plot as _plot
from . import regimen as _regimen
from ._validation import check_allocation, check_text
from .cohort import (
    DEFAULT_PERCENTILES,
    MAX_CHUNKS,
    MAX_WORKERS,
    CohortResult,
    Population,
    TruncatedNormal,
    Variability,
    simulate_cohort,
)
from .parameters import DEFAULT_PARAMETER_SET, available_parameter_sets, parameter_draws
from .patient import Patient
from .policy import GUIDELINES, MAX_POLICIES, RULES, Policy, compare_policies
from .reference import available_references, load_reference
from .regimen import MIN_SCAN_INTERVAL_YEARS as _MIN_EVENT_SCAN_YEARS
from .regimen import AtThreshold, Exposure, Regimen
from .simulation import DEFAULT_THRESHOLDS, Trajectory, simulate
from .sites import SITES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: Figures a scenario may ask for in ``[output] figures``.
FIGURE_KINDS: tuple[str, ...] = ("trajectory", "crossings", "regimen", "fraction_crossed")
#: Figures a ``[population]`` scenario can draw (it has no per-patient trajectories).
POPULATION_FIGURE_KINDS: tuple[str, ...] = ("fraction_crossed", "regimen")
#: Figure formats a scenario may ask for in ``[output] formats``.
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
#: Values of ``[population] preset``: ``"default"`` is :func:`bmdsim.cohort.default_population`.
POPULATION_PRESETS: tuple[str, ...] = ("default",)

_TOP = (
    "name",
    "description",
    "patient",
    "cohort",
    "population",
    "variability",
    "exposure",
    "policy",
    "compare_policies",
    "simulation",
    "output",
)
_PATIENT = ("age", "t_score", "bmd")
_COHORT = ("n", "seed", "age", "t_score")
_POPULATION = ("n", "seed", "preset", "age", "t_score", "correlation", "age_correlation", "name")
_DISTRIBUTION = ("mean", "sd", "low", "high")
_VARIABILITY = ("cv", "correlation")
_EXPOSURE = ("agent", "start", "stop", "duration")
_EVENT = ("at_threshold",)
_AT_THRESHOLD = ("site", "threshold", "scan_interval", "delay")
_POLICY = ("name", "rule", "scan_interval", "agent", "duration", "site")
_COMPARE = ("site", "threshold", "measurement_error", "grid_step", "risk_factors", "seed")
_SIMULATION = ("years", "step", "params", "reference", "parameter_draws", "chunk_size", "workers")
#: Keys of ``[simulation]`` that are run options of bmdsim.simulate_cohort, for a ``[population]`` only.
_COHORT_RUN = ("parameter_draws", "chunk_size", "workers")
_OUTPUT = ("thresholds", "formats", "figures", "times", "percentiles")
_POPULATION_OUTPUT = ("times", "percentiles")

#: Largest scenario (or ``--labels``) file [bytes]: 4 MiB. Derived from :data:`MAX_PATIENTS`: a
#: file giving age and three T-scores for every one of them, about 10 characters a number, is
#: about 4 MB; the shipped examples are under 5 kB.
MAX_FILE_BYTES: int = 4 * 2**20
#: Most patients a scenario file may describe, as a ``[patient]`` array or as ``[cohort] n``.
#: One limit for both, so an array cannot get around the cohort cap.
MAX_PATIENTS: int = 100_000
#: Most women a ``[population]`` may draw. Nothing per woman and time is kept (a few arrays of ``n``
#: numbers per site and threshold), so this is ten times :data:`MAX_PATIENTS`: the README's benchmark,
#: 1,000,000 women x 3 sites x 3 thresholds, takes about 1.3 s and 350 MB on one thread (an event
#: start costs more). Per-patient ``risk_factors`` arrays still hold at most :data:`MAX_PATIENTS`.
MAX_POPULATION: int = 1_000_000
#: Most ``[[exposure]]`` courses in a scenario: :data:`bmdsim.regimen.MAX_EXPOSURES`, checked
#: before the courses are read.
MAX_EXPOSURES: int = _regimen.MAX_EXPOSURES
#: Most T-score thresholds in ``[output] thresholds``: :data:`bmdsim.plot.MAX_THRESHOLDS`, as the
#: figures draw each (and each is a table column and a crossing search per site and patient).
MAX_THRESHOLDS: int = _plot.MAX_THRESHOLDS
#: Most ``[[policy]]`` blocks: :data:`bmdsim.policy.MAX_POLICIES`.
MAX_POLICIES_PER_SCENARIO: int = MAX_POLICIES
#: Most ``[output] times`` of a ``[population]``: each is a row per site and threshold of the
#: tables, and the T-score percentiles keep a histogram of 20,000 bins per time (200 times: 32 MB).
#: Monthly over 16 years fits.
MAX_OUTPUT_TIMES: int = 200
#: Most ``[output] percentiles``: every whole percentile from 0 to 100.
MAX_PERCENTILES: int = 101
#: Smallest output step [years]: one day. The model's time scales are months; crossing times are
#: exact at any step, so a finer grid only costs memory.
MIN_STEP_YEARS: float = 1.0 / 365.25
#: Longest course [years] (``stop - start`` or ``duration``) of an ``[[exposure]]`` or ``[[policy]]``.
#: Courses in trials run 5-10 years (see the module notes); a longer one is most often months typed
#: for years.
MAX_COURSE_YEARS: float = 15.0
#: Longest scan interval and delay [years] of ``at_threshold`` and ``[[policy]]``: guidelines scan
#: every 1-2 years (Hadji et al. 2017), so 12 or 24 is most often months typed for years.
MAX_SCAN_INTERVAL_YEARS: float = 5.0
#: Largest T-score threshold [SD] a scenario accepts: 0, the young-adult mean. Thresholds of interest
#: are negative; a positive one is most often a dropped minus sign.
MAX_THRESHOLD_SD: float = 0.0

_UNITS_HINT = "times are in years, not months"

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxtuple = 2, 6, 4, 6
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 60, 60, 40


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Scenario:
    """A scenario: the inputs of :func:`bmdsim.simulate` (or :func:`bmdsim.simulate_cohort`) and the outputs wanted.

    Attributes
    ----------
    name, description : str
        For tables and captions.
    patient : Patient or None
        The patients of ``[patient]`` or ``[cohort]``; None for a ``[population]``.
    regimen : Regimen
    years, step : float
        Horizon and output resolution [years] (``step`` is unused for a population).
    params, reference : str
        Parameter-set and young-adult reference names.
    thresholds : tuple of float
        T-score thresholds [SD] for crossing tables and figures.
    formats : tuple of str
        Figure formats to write.
    figures : tuple of str
        Figures to draw, from :data:`FIGURE_KINDS`.
    illustrative : bool
        True for a synthetic ``[cohort]`` (display inputs, not calibrated).
    source : str
        Where the scenario was read from.
    cohort : mapping
        The ``[cohort]`` inputs (``n``, ``seed``, ``age``, ``t_score``) as
        checked, or empty for given patients.
    population : Population or None
        The ``[population]`` women are drawn from, or None.
    n, seed : int or None
        Women drawn from ``population`` and the seed of the draws (None without a population).
    variability : Variability or None
        ``[variability]``; None for the default estimated spread.
    policies : tuple of Policy
        ``[[policy]]`` blocks, compared by :meth:`compare_policies` (empty for none).
    policy_options : mapping
        ``[compare_policies]`` as keywords of :func:`bmdsim.compare_policies`
        (``site``, ``threshold``, ``measurement_error``, ``grid_step``, ``seed``)
        and ``risk_factors``.
    cohort_options : mapping
        The ``[simulation]`` run options of a ``[population]`` as keywords of
        :func:`bmdsim.simulate_cohort` (``parameter_draws``, ``chunk_size``,
        ``workers``), only those given (empty: the API's defaults).
    times : tuple of float
        Times [years] of the population tables (empty without a population).
    percentiles : tuple of float
        Percentiles of the population tables.
    """

    name: str
    patient: Patient | None
    regimen: Regimen
    years: float = 10.0
    step: float = 1.0 / 12.0
    params: str = DEFAULT_PARAMETER_SET
    reference: str = "default"
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    formats: tuple[str, ...] = ("png",)
    figures: tuple[str, ...] = ("trajectory", "crossings")
    description: str = ""
    illustrative: bool = False
    source: str = "<scenario>"
    cohort: Mapping[str, Any] = field(default_factory=dict)
    population: Population | None = None
    n: int | None = None
    seed: int | None = None
    variability: Variability | None = None
    policies: tuple[Policy, ...] = ()
    policy_options: Mapping[str, Any] = field(default_factory=dict)
    cohort_options: Mapping[str, Any] = field(default_factory=dict)
    times: tuple[float, ...] = ()
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES

    @property
    def sites(self) -> tuple[str, ...]:
        """The simulated sites: the patients' or the population's."""
        return self.population.sites if self.population is not None else self.patient.sites

    def run(self) -> Trajectory | CohortResult:
        """Simulate the scenario.

        Returns
        -------
        Trajectory or CohortResult
            :func:`bmdsim.simulate` of the patients (``[patient]``, ``[cohort]``),
            or :func:`bmdsim.simulate_cohort` of the ``[population]``.
        """
        reference = load_reference(self.reference)
        if self.population is not None:
            return simulate_cohort(
                self.n,
                self.regimen,
                self.years,
                self.seed,
                population=self.population,
                variability=self.variability,
                params=self.params,
                reference=reference,
                **self.cohort_options,
            )
        return simulate(
            self.patient, self.regimen, years=self.years, step=self.step, params=self.params, reference=reference
        )

    def compare_policies(self) -> dict[str, list]:
        """Compare the ``[[policy]]`` blocks: :func:`bmdsim.compare_policies` on the scenario's patients.

        Returns
        -------
        dict of str -> list
            One row per policy (see :meth:`bmdsim.policy.PolicyResult.summary`).

        Raises
        ------
        ValueError
            If the scenario has no ``[[policy]]``.
        """
        if not self.policies:
            raise ValueError(f"{self.source}: the scenario has no [[policy]] to compare")
        options = dict(self.policy_options)
        risk_factors = options.pop("risk_factors", None)
        if self.population is not None:
            options |= {"n": self.n, "seed": self.seed, "variability": self.variability}
            who: Patient | Population = self.population
        else:
            who = self.patient
        return compare_policies(
            list(self.policies),
            who,
            self.regimen,
            self.years,
            risk_factors,
            params=self.params,
            reference=load_reference(self.reference),
            **options,
        )


def policy_rules() -> tuple[str, ...]:
    """The values a ``[[policy]]`` ``rule`` may take now: :data:`bmdsim.policy.RULES` and every registered guideline.

    Returns
    -------
    tuple of str
        ``"threshold"``, ``"treat_all"``, ``"none"``, then the names of
        :data:`bmdsim.policy.GUIDELINES` (``"hadji_2017"``, ``"hadji_2025"``
        and any registered later), as :class:`bmdsim.Policy` accepts them.
    """
    return (*RULES, *GUIDELINES)


def synthetic_patients(
    n: int, seed: int, age: Mapping[str, float], t_score: Mapping[str, Mapping[str, float]]
) -> Patient:
    """An illustrative group: normally distributed age and T-scores, drawn with a fixed seed.

    Parameters
    ----------
    n : int
        Number of patients.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same group.
    age : mapping
        ``mean`` and ``sd`` [years] of a normal distribution, clipped to
        ``[min, max]`` [years].
    t_score : mapping of site -> mapping
        ``mean`` and ``sd`` [SD] per site, clipped to ``limits.T_SCORE``.

    Returns
    -------
    Patient
        ``n`` patients.

    Notes
    -----
    For teaching figures only: the distribution parameters are display
    inputs chosen by the scenario's author, not a calibrated population.
    """
    rng = np.random.default_rng(seed)
    ages = np.clip(rng.normal(age["mean"], age["sd"], n), age["min"], age["max"])
    scores = {site: np.clip(rng.normal(d["mean"], d["sd"], n), *limits.T_SCORE) for site, d in sorted(t_score.items())}
    return Patient(age=ages, t_score=scores)


# --- parsing ---------------------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {key}: {problem}")

    def check(self, key: str, check: Any, *args: Any) -> Any:
        """Run a shared check of :mod:`bmdsim._validation`; its ValueError/TypeError names ``key``."""
        try:
            return check(*args)
        except (TypeError, ValueError) as exc:
            raise self.fail(key, str(exc)) from None

    def table(self, doc: Any, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(doc, Mapping):
            raise self.fail(key, f"must be a table, got {type(doc).__name__}")
        unknown = [k for k in doc if k not in allowed]
        if unknown:
            first = unknown[0] if len(unknown[0]) <= 60 else _SHORT.repr(unknown[0])
            name = f"{key}.{first}" if key else first
            raise self.fail(name, f"unknown key; allowed keys are: {', '.join(allowed)}")
        return dict(doc)

    def require(self, table: Mapping[str, Any], key: str, keys: tuple[str, ...], what: str) -> None:
        """Refuse ``table`` (read from ``key``) if one of ``keys`` is missing; ``what`` says what they are."""
        for k in keys:
            if k not in table:
                raise self.fail(f"{key}.{k}", f"is required; {key} needs {', '.join(keys)} ({what})")

    def number(self, value: Any, key: str, low: float = -math.inf, high: float = math.inf, unit: str = "") -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number{f' [{unit}]' if unit else ''}, got {_SHORT.repr(value)}")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range
            number = math.inf
        if not (math.isfinite(number) and low <= number <= high):
            if math.isfinite(low) or math.isfinite(high):
                where = f" in [{low:g}, {high:g}]" + (f" {unit}" if unit else "")
            else:
                where = f" [{unit}]" if unit else ""
            raise self.fail(key, f"must be a finite number{where}, got {_SHORT.repr(value)}")
        return number

    def whole(self, value: Any, key: str, low: int, high: int, what: str) -> int:
        """An integer in ``[low, high]`` (booleans and floats refused); ``what`` names it in the message."""
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            shown = "2**63 - 1" if high == 2**63 - 1 else str(high)
            raise self.fail(key, f"must be a whole number {what} in [{low}, {shown}], got {_SHORT.repr(value)}")
        return value

    def numbers(self, value: Any, key: str, unit: str = "") -> float | np.ndarray:
        if isinstance(value, list):
            if not value:
                raise self.fail(key, "must not be an empty array")
            if len(value) > MAX_PATIENTS:
                raise self.fail(
                    key,
                    f"has {len(value)} entries; a scenario file may give at most {MAX_PATIENTS} patients "
                    "(the limit of [cohort] n too)",
                )
            return np.array([self.number(v, f"{key}[{i}]", unit=unit) for i, v in enumerate(value)])
        return self.number(value, key, unit=unit)

    def booleans(self, value: Any, key: str) -> bool | np.ndarray:
        """``true``/``false`` for every patient, or an array with one boolean per patient."""
        if isinstance(value, bool):
            return value
        if isinstance(value, list) and value:
            if len(value) > MAX_PATIENTS:
                raise self.fail(key, f"has {len(value)} entries; at most {MAX_PATIENTS} (one per patient)")
            for i, v in enumerate(value):
                if not isinstance(v, bool):
                    raise self.fail(f"{key}[{i}]", f"must be true or false, got {_SHORT.repr(v)}")
            return np.array(value, dtype=bool)
        raise self.fail(
            key, f"must be true or false, or a non-empty array of them (one per patient), got {_SHORT.repr(value)}"
        )

    def string(self, value: Any, key: str, allowed: tuple[str, ...] | None = None) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {_SHORT.repr(value)}")
        if allowed is not None and value not in allowed:
            raise self.fail(key, f"unknown value {_SHORT.repr(value)}; allowed values are: {', '.join(allowed)}")
        return value

    def strings(self, value: Any, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, f"must be a non-empty array of strings from: {', '.join(allowed)}")
        return tuple(dict.fromkeys(self.string(v, f"{key}[{i}]", allowed) for i, v in enumerate(value)))

    def text(self, value: Any, key: str) -> str:
        """A free text (name, description): a string of at most ``limits.MAX_TEXT_CHARS`` characters."""
        return self.check(key, check_text, "the text", value)

    def sites(self, doc: Any, key: str, unit: str) -> dict[str, float | np.ndarray]:
        table = self.table(doc, key, SITES)
        return {site: self.numbers(v, f"{key}.{site}", unit) for site, v in table.items()}

    def threshold(self, value: Any, key: str) -> float:
        """A T-score threshold [SD]: finite, not positive (a dropped minus sign), within ``limits.T_SCORE``."""
        number = self.number(value, key, unit="SD")
        if number > MAX_THRESHOLD_SD:
            raise self.fail(
                key,
                f"{number:g} is a positive T-score; thresholds of interest are negative (WHO -1.0 and -2.5, "
                f"Hadji 2017 -1.5 and -2.0), so at most {MAX_THRESHOLD_SD:g} is allowed: was the minus sign left out?",
            )
        return self.number(value, key, limits.T_SCORE[0], MAX_THRESHOLD_SD, unit="SD")

    def interval(self, value: Any, key: str, low: float, what: str) -> float:
        """A scan interval or delay [years] in ``[low, MAX_SCAN_INTERVAL_YEARS]``; ``what`` names it."""
        number = self.number(value, key, unit="years")
        if number > MAX_SCAN_INTERVAL_YEARS:
            raise self.fail(
                key,
                f"{what} of {number:g} years is longer than {MAX_SCAN_INTERVAL_YEARS:g} years (guidelines scan every "
                f"1-2 years on an AI): {_UNITS_HINT}",
            )
        return self.number(value, key, low, MAX_SCAN_INTERVAL_YEARS, unit="years")

    def course_length(self, length: float, key: str, agent: str) -> None:
        """Refuse a course longer than :data:`MAX_COURSE_YEARS` (most often months typed for years)."""
        if math.isfinite(length) and length > MAX_COURSE_YEARS:
            raise self.fail(
                key,
                f"the course of {agent} lasts {length:g} years, longer than {MAX_COURSE_YEARS:g} years (courses in "
                f"trials run 5-10 years): {_UNITS_HINT}; leave stop and duration out for a course that does not stop",
            )

    def correlation(self, value: Any, key: str) -> float | dict[tuple[str, str], float]:
        """One correlation for every pair of sites, or ``[{ sites = [a, b], value = r }, ...]``."""
        if isinstance(value, list):
            if len(value) > len(SITES) * (len(SITES) - 1) // 2:
                raise self.fail(key, f"has {len(value)} pairs; there are only {len(SITES)} sites")
            pairs: dict[tuple[str, str], float] = {}
            for i, item in enumerate(value):
                item_key = f"{key}[{i}]"
                pair = self.table(item, item_key, ("sites", "value"))
                self.require(pair, item_key, ("sites", "value"), "two site names and a correlation")
                names = pair["sites"]
                if not isinstance(names, list) or len(names) != 2:
                    raise self.fail(f"{item_key}.sites", f"must be two site names, got {_SHORT.repr(names)}")
                a, b = (self.string(s, f"{item_key}.sites[{j}]", SITES) for j, s in enumerate(names))
                pairs[(a, b)] = self.number(pair["value"], f"{item_key}.value", -1.0, 1.0)
            return pairs
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return self.number(value, key, -1.0, 1.0)
        raise self.fail(
            key, f"must be a number in [-1, 1] or an array of {{ sites = [a, b], value = r }}, got {_SHORT.repr(value)}"
        )


def _patient(r: _Reader, doc: Any) -> Patient:
    table = r.table(doc, "patient", _PATIENT)
    if "age" not in table:
        raise r.fail("patient.age", "is required (age at baseline in years)")
    age = r.numbers(table["age"], "patient.age", "years")
    t_score = r.sites(table.get("t_score", {}), "patient.t_score", "SD")
    bmd = r.sites(table.get("bmd", {}), "patient.bmd", "g/cm2")
    try:
        return Patient(age=age, t_score=t_score, bmd=bmd)
    except (TypeError, ValueError) as exc:
        raise r.fail("patient", str(exc)) from None


def _cohort(r: _Reader, doc: Any) -> tuple[Patient, dict[str, Any]]:
    table = r.table(doc, "cohort", _COHORT)
    for key in _COHORT:
        if key not in table:
            raise r.fail(f"cohort.{key}", f"is required; [cohort] needs {', '.join(_COHORT)}")
    n = r.whole(table["n"], "cohort.n", 1, MAX_PATIENTS, "of patients")
    seed = r.whole(table["seed"], "cohort.seed", 0, 2**63 - 1, "")
    age_t = r.table(table["age"], "cohort.age", ("mean", "sd", "min", "max"))
    for k in ("mean", "sd", "min", "max"):
        if k not in age_t:
            raise r.fail(f"cohort.age.{k}", "is required; cohort.age needs mean, sd, min, max [years]")
    age = {k: r.number(age_t[k], f"cohort.age.{k}", *limits.AGE_YEARS, unit="years") for k in ("mean", "min", "max")}
    age["sd"] = r.number(age_t["sd"], "cohort.age.sd", 0.0, 50.0, unit="years")
    if age["min"] > age["max"]:
        raise r.fail("cohort.age", f"min ({age['min']:g}) must not exceed max ({age['max']:g})")
    sites = r.table(table["t_score"], "cohort.t_score", SITES)
    if not sites:
        raise r.fail("cohort.t_score", f"needs at least one site of: {', '.join(SITES)}")
    t_score = {}
    for site, d in sites.items():
        d = r.table(d, f"cohort.t_score.{site}", ("mean", "sd"))
        for k in ("mean", "sd"):
            if k not in d:
                raise r.fail(f"cohort.t_score.{site}.{k}", "is required; give mean and sd [SD]")
        t_score[site] = {
            "mean": r.number(d["mean"], f"cohort.t_score.{site}.mean", *limits.T_SCORE, unit="SD"),
            "sd": r.number(d["sd"], f"cohort.t_score.{site}.sd", 0.0, 5.0, unit="SD"),
        }
    spec = {"n": n, "seed": seed, "age": age, "t_score": t_score}
    return synthetic_patients(**spec), spec


def _distribution(r: _Reader, doc: Any, key: str, unit: str) -> TruncatedNormal:
    table = r.table(doc, key, _DISTRIBUTION)
    r.require(table, key, _DISTRIBUTION, f"a normal truncated to [low, high], in {unit}")
    return TruncatedNormal(*(r.number(table[k], f"{key}.{k}", unit=unit) for k in _DISTRIBUTION))


def _population(r: _Reader, doc: Any) -> tuple[Population, int, int]:
    """``[population]``: the Population, ``n`` and ``seed``."""
    table = r.table(doc, "population", _POPULATION)
    r.require(table, "population", ("n", "seed"), "how many women to draw, and the seed of the draws")
    n = r.whole(table["n"], "population.n", 1, MAX_POPULATION, "of women")
    seed = r.whole(table["seed"], "population.seed", 0, 2**63 - 1, "")
    own = [k for k in ("age", "t_score", "correlation", "age_correlation", "name") if k in table]
    if "preset" in table:
        preset = r.string(table["preset"], "population.preset", POPULATION_PRESETS)
        if own:
            raise r.fail(
                f"population.{own[0]}",
                f"cannot be combined with preset = {preset!r}, which is a whole population; "
                "leave preset out to describe your own (age, t_score, correlation, age_correlation, name)",
            )
        from .cohort import default_population

        return default_population(), n, seed
    if "age" not in table or "t_score" not in table:
        missing = "age" if "age" not in table else "t_score"
        raise r.fail(
            f"population.{missing}",
            'is required; give preset = "default" (bmdsim.cohort.default_population()) or your own age and t_score',
        )
    age = _distribution(r, table["age"], "population.age", "years")
    sites = r.table(table["t_score"], "population.t_score", SITES)
    if not sites:
        raise r.fail("population.t_score", f"needs at least one site of: {', '.join(SITES)}")
    t_score = {site: _distribution(r, d, f"population.t_score.{site}", "SD") for site, d in sites.items()}
    correlation = r.correlation(table.get("correlation", 0.0), "population.correlation")
    if "age_correlation" in table and isinstance(table["age_correlation"], Mapping):
        per_site = r.table(table["age_correlation"], "population.age_correlation", SITES)
        age_correlation: float | dict[str, float] = {
            s: r.number(v, f"population.age_correlation.{s}", -1.0, 1.0) for s, v in per_site.items()
        }
    else:
        age_correlation = r.number(table.get("age_correlation", 0.0), "population.age_correlation", -1.0, 1.0)
    name = r.text(table.get("name", "custom"), "population.name")
    try:
        population = Population(
            age=age, t_score=t_score, correlation=correlation, name=name, age_correlation=age_correlation
        )
    except (TypeError, ValueError) as exc:
        raise r.fail("population", str(exc)) from None
    return population, n, seed


def _variability(r: _Reader, doc: Any) -> Variability:
    table = r.table(doc, "variability", _VARIABILITY)
    cv_value = table.get("cv", 0.0)
    if isinstance(cv_value, Mapping):
        cv: float | dict[str, float] = {
            s: r.number(v, f"variability.cv.{s}") for s, v in r.table(cv_value, "variability.cv", SITES).items()
        }
    else:
        cv = r.number(cv_value, "variability.cv")
    correlation = r.correlation(table.get("correlation", 0.0), "variability.correlation")
    try:
        return Variability(cv=cv, correlation=correlation)
    except (TypeError, ValueError) as exc:
        raise r.fail("variability", str(exc)) from None


def _start(r: _Reader, value: Any, key: str) -> float | AtThreshold:
    """An exposure start: years from baseline, or ``{ at_threshold = { site, threshold, ... } }``."""
    if isinstance(value, Mapping):
        event = r.table(value, key, _EVENT)
        r.require(event, key, _EVENT, "the event that starts the course")
        at_key = f"{key}.at_threshold"
        at = r.table(event["at_threshold"], at_key, _AT_THRESHOLD)
        r.require(at, at_key, ("site", "threshold"), "the site watched and the T-score threshold [SD]")
        site = r.string(at["site"], f"{at_key}.site", SITES)
        threshold = r.threshold(at["threshold"], f"{at_key}.threshold")
        interval = None
        if "scan_interval" in at:
            interval = r.interval(
                at["scan_interval"], f"{at_key}.scan_interval", _MIN_EVENT_SCAN_YEARS, "a scan interval"
            )
        delay = r.interval(at.get("delay", 0.0), f"{at_key}.delay", 0.0, "a delay")
        try:
            return AtThreshold(site, threshold, scan_interval=interval, delay=delay)
        except (TypeError, ValueError) as exc:
            raise r.fail(at_key, str(exc)) from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return r.number(value, key, *limits.EXPOSURE_START_YEARS, unit="years")
    raise r.fail(
        key,
        "must be a number of years from baseline or an event, "
        f"{{ at_threshold = {{ site = ..., threshold = ... }} }}, got {_SHORT.repr(value)}",
    )


def _regimen(r: _Reader, doc: Any) -> Regimen:
    if not isinstance(doc, list):
        raise r.fail("exposure", "must be an array of tables: write each course as [[exposure]]")
    if len(doc) > MAX_EXPOSURES:
        raise r.fail("exposure", f"has {len(doc)} courses; a scenario may give at most {MAX_EXPOSURES}")
    from .agents import AGENTS

    exposures = []
    for i, item in enumerate(doc):
        key = f"exposure[{i}]"
        table = r.table(item, key, _EXPOSURE)
        if "agent" not in table:
            raise r.fail(f"{key}.agent", f"is required; allowed values are: {', '.join(AGENTS)}")
        agent = r.string(table["agent"], f"{key}.agent", tuple(AGENTS))
        start = _start(r, table.get("start", 0.0), f"{key}.start")
        if "stop" in table and "duration" in table:
            raise r.fail(f"{key}.duration", "give stop or duration, not both")
        stop = duration = None
        if "stop" in table:
            if isinstance(start, AtThreshold):
                raise r.fail(
                    f"{key}.stop", "the course starts on an event, so its stop is not a fixed time: give duration"
                )
            stop = r.number(table["stop"], f"{key}.stop", unit="years")
            if stop > start:
                r.course_length(stop - start, f"{key}.stop", agent)
        if "duration" in table:
            duration = r.number(table["duration"], f"{key}.duration", unit="years")
            r.course_length(duration, f"{key}.duration", agent)
        try:
            exposures.append(Exposure(agent, start=start, stop=stop, duration=duration))
        except (TypeError, ValueError) as exc:
            raise r.fail(key, str(exc)) from None
    try:
        return Regimen(exposures)
    except (TypeError, ValueError) as exc:
        raise r.fail("exposure", str(exc)) from None


def _policies(r: _Reader, doc: Any) -> tuple[Policy, ...]:
    if not isinstance(doc, list) or not doc:
        raise r.fail("policy", "must be an array of tables: write each policy as [[policy]]")
    if len(doc) > MAX_POLICIES_PER_SCENARIO:
        raise r.fail("policy", f"has {len(doc)} policies; a scenario may give at most {MAX_POLICIES_PER_SCENARIO}")
    from .policy import MIN_SCAN_INTERVAL_YEARS
    from .therapies import THERAPIES

    policies: list[Policy] = []
    for i, item in enumerate(doc):
        key = f"policy[{i}]"
        table = r.table(item, key, _POLICY)
        if "name" not in table:
            raise r.fail(f"{key}.name", "is required: the policy's label in the table")
        name = r.text(table["name"], f"{key}.name")
        if name in [p.name for p in policies]:
            raise r.fail(f"{key}.name", f"{_SHORT.repr(name)} is the name of an earlier policy; give each its own")
        rule = r.string(table.get("rule", "threshold"), f"{key}.rule", policy_rules())
        interval: float | None = 1.0
        if "scan_interval" in table:
            value = table["scan_interval"]
            if value == "none":
                interval = None
            elif isinstance(value, str):
                raise r.fail(f"{key}.scan_interval", f'must be a number of years or "none", got {_SHORT.repr(value)}')
            else:
                interval = r.interval(value, f"{key}.scan_interval", MIN_SCAN_INTERVAL_YEARS, "a scan interval")
        agent = r.string(table.get("agent", "zoledronic_acid"), f"{key}.agent", tuple(THERAPIES))
        duration = r.number(table.get("duration", 5.0), f"{key}.duration", unit="years")
        r.course_length(duration, f"{key}.duration", agent)
        site = r.string(table["site"], f"{key}.site", SITES) if "site" in table else None
        try:
            policies.append(Policy(name, rule=rule, scan_interval=interval, agent=agent, duration=duration, site=site))
        except (TypeError, ValueError) as exc:
            raise r.fail(key, str(exc)) from None
    return tuple(policies)


def _policy_options(r: _Reader, doc: Any, kind: str, patients: int) -> dict[str, Any]:
    """``[compare_policies]``: keywords of :func:`bmdsim.compare_policies` (``risk_factors`` included)."""
    table = r.table(doc, "compare_policies", _COMPARE)
    options: dict[str, Any] = {}
    if "site" in table:
        options["site"] = r.string(table["site"], "compare_policies.site", SITES)
    if "threshold" in table:
        options["threshold"] = r.threshold(table["threshold"], "compare_policies.threshold")
    if "measurement_error" in table:
        value = table["measurement_error"]
        key = "compare_policies.measurement_error"
        if isinstance(value, Mapping):
            options["measurement_error"] = {
                s: r.number(v, f"{key}.{s}", 0.0, 0.1) for s, v in r.table(value, key, SITES).items()
            }
        else:
            choice = r.string(value, key, ("shipped", "none"))
            options["measurement_error"] = None if choice == "none" else choice
    if "grid_step" in table:
        options["grid_step"] = r.number(table["grid_step"], "compare_policies.grid_step", unit="years")
    if "risk_factors" in table:
        from .policy import AGE_RISK_FACTOR, GUIDELINES

        # the risk factors of every registered guideline: a policy counts those its own guideline lists
        known = dict.fromkeys(f for name in GUIDELINES for f in GUIDELINES[name].risk_factors)
        names = tuple(f for f in known if f != AGE_RISK_FACTOR)
        factors = r.table(table["risk_factors"], "compare_policies.risk_factors", names)
        risk = {}
        for name, value in factors.items():
            key = f"compare_policies.risk_factors.{name}"
            risk[name] = r.booleans(value, key)
            if isinstance(risk[name], np.ndarray) and risk[name].size != patients:
                raise r.fail(key, f"has {risk[name].size} entries; give one per patient ({patients}) or one boolean")
        options["risk_factors"] = risk
    if "seed" in table:
        if kind == "population":
            raise r.fail("compare_policies.seed", "the scan errors of a [population] use population.seed")
        options["seed"] = r.whole(table["seed"], "compare_policies.seed", 0, 2**63 - 1, "")
    return options


def _cohort_options(r: _Reader, sim: Mapping[str, Any], params: str, n: int | None) -> dict[str, Any]:
    """The run options of ``[simulation]`` (``parameter_draws``, ``chunk_size``, ``workers``) of a population of ``n``.

    ``n`` is None for ``[patient]`` and ``[cohort]`` scenarios, which refuse them.
    """
    given = [k for k in _COHORT_RUN if k in sim]
    if not given:
        return {}
    if n is None:
        raise r.fail(
            f"simulation.{given[0]}",
            "is a run option of bmdsim.simulate_cohort, for a [population]; this scenario simulates given patients",
        )
    options: dict[str, Any] = {}
    if "parameter_draws" in sim:
        shipped = len(parameter_draws(params))
        options["parameter_draws"] = r.whole(
            sim["parameter_draws"],
            "simulation.parameter_draws",
            0,
            shipped,
            f"of calibration draws (0 for none; parameter set {params!r} ships {shipped})",
        )
    if "chunk_size" in sim:
        fewest = -(-n // MAX_CHUNKS)
        options["chunk_size"] = r.whole(
            sim["chunk_size"],
            "simulation.chunk_size",
            fewest,
            MAX_POPULATION,
            f"of women simulated at once (at most {MAX_CHUNKS} chunks of the {n} women; answers do not depend on it)",
        )
    if "workers" in sim:
        options["workers"] = r.whole(sim["workers"], "simulation.workers", 1, MAX_WORKERS, "of threads")
    return options


def _output_times(r: _Reader, value: Any, years: float) -> tuple[float, ...]:
    key = "output.times"
    if not isinstance(value, list) or not value:
        raise r.fail(key, "must be a non-empty array of times [years]")
    if len(value) > MAX_OUTPUT_TIMES:
        raise r.fail(key, f"has {len(value)} entries; at most {MAX_OUTPUT_TIMES} are allowed")
    times: list[float] = []
    for i, v in enumerate(value):
        t = r.number(v, f"{key}[{i}]", unit="years")
        if not 0.0 <= t <= years:
            raise r.fail(
                f"{key}[{i}]", f"{t:g} years is outside the horizon [0, {years:g}] (simulation.years): {_UNITS_HINT}"
            )
        if t in times:
            raise r.fail(key, f"lists {t:g} twice; give each time once")
        times.append(t)
    return tuple(times)


def _default_times(years: float) -> tuple[float, ...]:
    """Every whole year from 0 to the horizon, and the horizon."""
    whole = [float(t) for t in range(int(math.floor(years)) + 1)]
    return tuple(whole if whole[-1] == years else [*whole, years])


def _percentiles(r: _Reader, value: Any) -> tuple[float, ...]:
    key = "output.percentiles"
    if not isinstance(value, list) or not value:
        raise r.fail(key, "must be a non-empty array of percentiles in [0, 100]")
    if len(value) > MAX_PERCENTILES:
        raise r.fail(key, f"has {len(value)} entries; at most {MAX_PERCENTILES} are allowed")
    out: list[float] = []
    for i, v in enumerate(value):
        q = r.number(v, f"{key}[{i}]", 0.0, 100.0)
        if q in out:
            raise r.fail(key, f"lists {q:g} twice; give each percentile once")
        out.append(q)
    return tuple(out)


def scenario_from_dict(doc: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Build a :class:`Scenario` from the parsed TOML layout (see the module docstring).

    Parameters
    ----------
    doc : mapping
        The parsed TOML document.
    source : str
        Where it was read from, for the messages.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        Naming ``source``, the key and what is allowed.
    """
    r = _Reader(source)
    top = r.table(doc, "", _TOP)
    given = [k for k in ("patient", "cohort", "population") if k in top]
    if len(given) != 1:
        raise r.fail(
            given[0] if given else "patient",
            "give exactly one of [patient] (one or more given patients), [cohort] (an illustrative group) or "
            "[population] (women drawn from a bmdsim.Population)",
        )
    kind = given[0]
    cohort: dict[str, Any] = {}
    patient: Patient | None = None
    population: Population | None = None
    n = seed = None
    if kind == "patient":
        patient = _patient(r, top["patient"])
    elif kind == "cohort":
        patient, cohort = _cohort(r, top["cohort"])
    else:
        population, n, seed = _population(r, top["population"])
    variability = None
    if "variability" in top:
        if population is None:
            raise r.fail(
                "variability",
                "needs [population]: the multipliers are drawn with the women (bmdsim.simulate_cohort)",
            )
        variability = _variability(r, top["variability"])
    regimen = _regimen(r, top.get("exposure", []))

    sim = r.table(top.get("simulation", {}), "simulation", _SIMULATION)
    years = r.number(sim.get("years", 10.0), "simulation.years", unit="years")
    if not limits.HORIZON_YEARS[0] < years <= limits.HORIZON_YEARS[1]:
        raise r.fail(
            "simulation.years",
            f"must be in ({limits.HORIZON_YEARS[0]:g}, {limits.HORIZON_YEARS[1]:g}] years, got {years:g}"
            + (f": {_UNITS_HINT}" if years > limits.HORIZON_YEARS[1] else ""),
        )
    for i, course in enumerate(top.get("exposure", [])):  # read by _regimen: tables with valid starts
        start = course.get("start", 0.0)
        if not isinstance(start, Mapping) and start >= years:
            raise r.fail(
                f"exposure[{i}].start",
                f"{start:g} years is at or after the horizon (simulation.years = {years:g}), so the course would "
                f"have no effect: {_UNITS_HINT}",
            )
    step = 1.0 / 12.0
    if population is not None:
        if "step" in sim:
            raise r.fail(
                "simulation.step",
                "is the output grid of per-patient trajectories; a [population] reports at [output] times",
            )
    else:
        step = r.number(sim.get("step", step), "simulation.step", unit="years")
        if not MIN_STEP_YEARS <= step <= years:
            raise r.fail(
                "simulation.step",
                f"must be at least one day ({MIN_STEP_YEARS:.6g} years) and at most years ({years:g}), got {step:g}",
            )
        times = math.floor(years / step) + 2  # at most: 0, step, 2 step, ... and the horizon
        r.check(
            "simulation.step",
            check_allocation,
            f"an output grid of {times} times (years = {years:g}, step = {step:g}) for {patient.n} patients",
            float(times) * patient.n,
            8,
            "use a larger step or fewer patients",
        )
    params = r.string(sim.get("params", DEFAULT_PARAMETER_SET), "simulation.params", available_parameter_sets())
    reference = r.string(sim.get("reference", "default"), "simulation.reference", available_references())
    cohort_options = _cohort_options(r, sim, params, n if population is not None else None)

    policies: tuple[Policy, ...] = ()
    options: dict[str, Any] = {}
    if "policy" in top:
        policies = _policies(r, top["policy"])
        for i, course in enumerate(top.get("exposure", [])):
            if isinstance(course.get("start"), Mapping):
                raise r.fail(
                    f"exposure[{i}].start",
                    "an event start cannot be part of the AI regimen that [[policy]] blocks are compared on "
                    "(bmdsim.compare_policies takes fixed-time courses); each policy adds its own therapy",
                )
        given_agents = {e.agent for e in regimen}
        for i, p in enumerate(policies):
            if p.agent in given_agents:
                raise r.fail(
                    f"policy[{i}].agent",
                    f"{p.agent} is already an [[exposure]]; the exposures are the AI regimen without "
                    "bone-protective therapy, which each policy adds",
                )
    if "compare_policies" in top:
        if not policies:
            raise r.fail("compare_policies", "needs at least one [[policy]] to compare")
        count = n if population is not None else patient.n
        options = _policy_options(r, top["compare_policies"], kind, count)
    if policies and kind == "cohort":
        options.setdefault("seed", cohort["seed"])
    if policies and "seed" not in options and population is None:
        error_on = options.get("measurement_error", "shipped") is not None
        on_scans = [p.rule for p in policies if p.rule not in ("treat_all", "none")]
        if error_on and on_scans:
            raise r.fail(
                "compare_policies.seed",
                f'is required: the scans of a "{on_scans[0]}" policy have seeded DXA errors; give a seed, '
                'or measurement_error = "none" for exact scans',
            )

    out = r.table(top.get("output", {}), "output", _OUTPUT)
    thresholds = DEFAULT_THRESHOLDS
    if "thresholds" in out:
        if not isinstance(out["thresholds"], list) or not out["thresholds"]:
            raise r.fail("output.thresholds", "must be a non-empty array of T-scores [SD]")
        if len(out["thresholds"]) > MAX_THRESHOLDS:
            raise r.fail(
                "output.thresholds", f"has {len(out['thresholds'])} entries; at most {MAX_THRESHOLDS} are allowed"
            )
        thresholds = tuple(r.threshold(v, f"output.thresholds[{i}]") for i, v in enumerate(out["thresholds"]))
        repeated = [t for i, t in enumerate(thresholds) if t in thresholds[:i]]
        if repeated:
            raise r.fail("output.thresholds", f"lists {repeated[0]:g} twice; give each threshold once")
    formats = r.strings(out["formats"], "output.formats", FORMATS) if "formats" in out else ("png",)
    if population is not None:
        kinds, default_figures = POPULATION_FIGURE_KINDS, POPULATION_FIGURE_KINDS
    else:
        kinds = FIGURE_KINDS
        default_figures = ("fraction_crossed", "regimen") if cohort else ("trajectory", "crossings")
    if "figures" in out:
        if population is not None and isinstance(out["figures"], list):
            for i, f in enumerate(out["figures"]):
                if f in FIGURE_KINDS and f not in kinds:
                    raise r.fail(
                        f"output.figures[{i}]",
                        f"{f!r} draws per-patient trajectories, which a [population] does not keep; "
                        f"allowed values are: {', '.join(kinds)}",
                    )
        figures = r.strings(out["figures"], "output.figures", kinds)
    else:
        figures = default_figures
    times: tuple[float, ...] = ()
    percentiles = DEFAULT_PERCENTILES
    if population is None:
        extra = [k for k in _POPULATION_OUTPUT if k in out]
        if extra:
            raise r.fail(f"output.{extra[0]}", "is for a [population] (its summary tables); this scenario has none")
    else:
        times = _output_times(r, out["times"], years) if "times" in out else _default_times(years)
        percentiles = _percentiles(r, out["percentiles"]) if "percentiles" in out else DEFAULT_PERCENTILES

    name = r.text(top.get("name", Path(source).stem), "name")
    description = r.text(top.get("description", ""), "description")
    return Scenario(
        name=name,
        description=description,
        patient=patient,
        regimen=regimen,
        years=years,
        step=step,
        params=params,
        reference=reference,
        thresholds=thresholds,
        formats=formats,
        figures=figures,
        illustrative=bool(cohort),
        source=source,
        cohort=cohort,
        population=population,
        n=n,
        seed=seed,
        variability=variability,
        policies=policies,
        policy_options=options,
        cohort_options=cohort_options,
        times=times,
        percentiles=tuple(float(q) for q in percentiles),
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (TOML).

    Parameters
    ----------
    path : path
        A ``.toml`` file in the layout of the module docstring.

    Returns
    -------
    Scenario
        Call :meth:`Scenario.run` to simulate it.

    Raises
    ------
    ScenarioError
        If the file cannot be read or parsed, or a key is unknown or has a
        value that is not allowed; the message names the file and the key.
    """
    path = Path(path)
    doc = read_toml(path, "scenario file")
    return scenario_from_dict(doc, source=str(path))


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "a special file"


def read_toml(path: str | Path, what: str = "file", max_bytes: int = MAX_FILE_BYTES) -> dict[str, Any]:
    """Read a small TOML file from the user, refusing anything that could hang or exhaust memory.

    Parameters
    ----------
    path : path
        The file.
    what : str
        What the file is, for the messages (e.g. ``"scenario file"``).
    max_bytes : int
        Largest accepted size [bytes]; :data:`MAX_FILE_BYTES` by default.

    Returns
    -------
    dict
        The parsed TOML document.

    Notes
    -----
    Used by :func:`load_scenario` and the ``--labels`` option of the command
    line.

    Raises
    ------
    ScenarioError
        One line naming ``path``: it cannot be opened; it is not a regular
        file (a directory, a named pipe, a device: a pipe would block and a
        device may never end); it is larger than ``max_bytes``; it is not
        UTF-8 (a leading byte-order mark is allowed); it is not valid TOML,
        including arrays or inline tables nested too deeply to parse.
    """
    path = Path(path)
    # O_NONBLOCK: opening a named pipe must not wait for a writer; fstat then refuses it.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError(f"{path}: cannot read the {what}: it is {_file_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise ScenarioError(f"{path}: the {what} has {info.st_size} bytes; at most {max_bytes} are allowed")
        data = bytearray()
        while len(data) <= max_bytes:  # the file may grow while it is read: read at most one byte too many
            chunk = os.read(fd, max_bytes + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ScenarioError(f"{path}: the {what} has more than {max_bytes} bytes; at most {max_bytes} are allowed")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: the {what} is not UTF-8 text (byte {exc.start} cannot be decoded)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ScenarioError(f"{path}: cannot read the {what}: arrays or inline tables are nested too deeply") from None
    except ValueError as exc:  # an integer of more than sys.get_int_max_str_digits() digits
        reason = str(exc).split(";")[0]
        raise ScenarioError(f"{path}: cannot read the {what}: a value is too long ({reason})") from None


def builtin_scenarios() -> tuple[str, ...]:
    """Names of the scenarios shipped with bmdsim (``data/scenarios/*.toml``)."""
    from ._data import data_dir

    return tuple(sorted(p.stem for p in (data_dir() / "scenarios").glob("*.toml")))


def load_builtin_scenario(name: str) -> Scenario:
    """Load a shipped scenario by name, one of :func:`builtin_scenarios`."""
    from ._data import data_dir
    from ._validation import check_choice

    check_choice("built-in scenario", name, builtin_scenarios())
    return load_scenario(data_dir() / "scenarios" / f"{name}.toml")


def example_dir() -> Path:
    """Return the folder of the example scenarios that ship with bmdsim.

    An installed wheel has them inside the package (``bmdsim/examples``, see
    ``pyproject.toml``); a source checkout has them beside the package
    (``../scenarios``).

    Raises
    ------
    FileNotFoundError
        If neither folder exists.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "examples", here.parent / "scenarios"):
        if candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    raise FileNotFoundError(
        f"bmdsim's example scenarios were not found in {here / 'examples'} or {here.parent / 'scenarios'}; "
        "reinstall bmdsim (the wheel ships them as bmdsim/examples)"
    )


def example_scenarios() -> dict[str, str]:
    """The shipped example scenarios: file name -> one-line description.

    The description is the file's ``description`` (or its ``name``), read
    without running the scenario; ``bmdsim examples`` prints this list.

    Returns
    -------
    dict of str -> str
        Sorted by file name, e.g. ``{"ai_withdrawal.toml": "A 63-year-old woman ..."}``.
    """
    out = {}
    for path in sorted(example_dir().glob("*.toml")):
        doc = read_toml(path, "example scenario")
        text = doc.get("description") or doc.get("name") or path.stem
        out[path.name] = " ".join(str(text).split())
    return out
