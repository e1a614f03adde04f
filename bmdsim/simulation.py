"""Simulate BMD and T-score trajectories; read crossings and changes.

:func:`simulate` returns a :class:`Trajectory`: BMD and T-score at an output
resolution for tables and plots, and exact quantities (BMD at any time,
percent change between any two times, first-crossing times) computed from the
closed-form model, independent of that resolution.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from . import limits, tables
from ._validation import as_finite_float, as_float_array, check_allocation, check_range
from .crossing import crossing_target, first_crossing
from .model import PatientState, SiteModel
from .parameters import DEFAULT_PARAMETER_SET, ParameterSet, resolve_parameters
from .patient import Patient
from .reference import YoungAdultReference, load_reference
from .regimen import Exposure, Regimen
from .sites import check_site
from .therapies import warn_if_extrapolating

if TYPE_CHECKING:  # pragma: no cover - annotations only; pandas is imported when a table is made
    import pandas as pd

#: T-score thresholds most often asked for: osteopenia (-1.0), the usual
#: treatment trigger on an AI (-2.0), osteoporosis (-2.5). See data/citations.json
#: ("who_1994", "hadji_2017").
DEFAULT_THRESHOLDS: tuple[float, ...] = (-1.0, -2.0, -2.5)


#: Patients and output times shown by a Trajectory's HTML view in Jupyter (``to_frame()`` has them all).
HTML_PATIENTS = 3
HTML_TIMES = 11

#: Meaning of a crossing time in the HTML view.
UNITS_CROSSING = tables.UNITS["crossing_time_years"]

#: Largest gain of BMD, as ``ln(BMD(t) / BMD(0))``, that a trajectory may show. A numerical bound, not a
#: model number: up to it BMD (at most ``exp(690) * 4.5`` g/cm2, about 1e300) and its T-score stay finite
#: in floating point. Only a ``loss_multiplier`` far beyond any drawn one scales a regimen's gain that far.
MAX_LOG_GAIN = 690.0


def _grid_count(years: float, step: float) -> float:
    """Number of output times for ``years`` and ``step``, as a float (so that it cannot overflow)."""
    count = np.floor(years / step * (1 + 1e-12)) + 2.0  # 0, step, ..., and possibly ``years`` itself
    return float(count) if np.isfinite(count) else np.inf


def _check_grid(n_patients: int, years: float, step: float) -> None:
    """Refuse an output grid of ``n_patients`` x times that would exceed the memory limit, before allocating it."""
    count = _grid_count(years, step)
    check_allocation(
        f"an output grid of {n_patients} patient(s) x {count:.4g} times (years={years:g}, step={step:g})",
        n_patients * count,
        hint="use a larger step or a shorter horizon (years), or bmdsim.simulate_cohort for a large group",
    )


def output_times(years: float, step: float) -> np.ndarray:
    """Output times ``0, step, 2 step, ...`` up to and including ``years``.

    Parameters
    ----------
    years : float
        Last time [years], positive and finite.
    step : float
        Spacing [years], in ``(0, years]``.

    Returns
    -------
    ndarray
        Times [years], shape ``(m,)``, starting at 0 and ending at ``years``.

    Raises
    ------
    ValueError
        If ``years`` or ``step`` is out of range, or the grid would exceed
        :data:`bmdsim.limits.MAX_ARRAY_BYTES`.
    TypeError
        If ``years`` or ``step`` is not a real number.
    """
    years = as_finite_float("years", years)
    step = as_finite_float("step", step)
    if not years > 0:
        raise ValueError(f"years must be positive, got {years:g}")
    if not 0 < step <= years:
        raise ValueError(f"step must be in (0, years] = (0, {years:g}] years, got {step:g}")
    _check_grid(1, years, step)
    count = int(np.floor(years / step * (1 + 1e-12)))
    times = step * np.arange(count + 1)
    if years - times[-1] > 1e-9 * max(1.0, years):
        times = np.append(times, years)
    else:
        times[-1] = years
    return times


class Trajectory:
    """Result of :func:`simulate`.

    Attributes
    ----------
    time : (m,) ndarray
        Output times [years from baseline].
    patient, regimen, params, reference
        The inputs, as used.
    years : float
        Horizon [years].
    sites : tuple of str
        Sites simulated (those with a baseline value).

    Notes
    -----
    Arrays have one row per patient, ``(n, m)``, or are 1-D, ``(m,)``, when
    the patient was given with scalars; crossing times and percent changes
    are then floats instead of ``(n,)`` arrays. :meth:`to_frame` and
    :meth:`crossing_frame` give the same numbers as tidy pandas DataFrames
    (see :mod:`bmdsim.tables`).
    """

    def __init__(
        self,
        patient: Patient,
        regimen: Regimen,
        years: float,
        step: float,
        params: ParameterSet,
        reference: YoungAdultReference,
        loss_multiplier: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        _check_grid(patient.n, years, step)
        self.patient = patient
        self.regimen = regimen
        self.years = years
        self.step = step
        self.params = params
        self.reference = reference
        self.sites = patient.sites
        self.time = output_times(years, step)
        self._baseline = {s: patient.baseline_bmd(s, reference) for s in self.sites}
        #: Per-patient factor on each site's log-loss (between-patient variability); None: every patient the mean.
        self._multiplier = None if loss_multiplier is None else dict(loss_multiplier)
        self._cache: dict[tuple, np.ndarray] = {}
        self._state = PatientState(patient.age, self._resolve_events())
        self._models = {s: SiteModel(params, regimen, s, patient.sex) for s in self.sites}

    def _target(self, site: str, threshold: float) -> np.ndarray:
        """``c = ln(BMD(0) / BMD*)`` per patient: 0 if at or below at baseline, inf if unreachable."""
        m = None if self._multiplier is None else self._multiplier[site]
        return crossing_target(self._baseline[site], float(self.reference.bmd(site, threshold)), m)

    def _resolve_events(self) -> dict[Exposure, tuple[np.ndarray, np.ndarray]]:
        """Per-patient start and stop of every event-started exposure, in the order listed."""
        spans: dict[Exposure, tuple[np.ndarray, np.ndarray]] = {}
        known = [e for e in self.regimen if not e.is_event]
        for e in self.regimen:
            if not e.is_event:
                continue
            trigger = e.start
            if trigger.site not in self._baseline:
                raise ValueError(
                    f"{e.agent} starts when the {trigger.site} T-score reaches {trigger.threshold:g}, but the "
                    f"patient has no baseline value there; given sites are {', '.join(self.sites)}"
                )
            model = self._trigger_model(trigger.site, tuple(x for x in self.regimen if x not in known))
            state = PatientState(self.patient.age, dict(spans))
            seen = first_crossing(model, state, self._target(trigger.site, trigger.threshold), self.years)
            if trigger.scan_interval is not None:
                # The first scan at or after the crossing (a crossing within 1e-9 years of a scan is seen at it).
                seen = np.ceil(seen / trigger.scan_interval - 1e-9) * trigger.scan_interval
            start = seen + trigger.delay
            stop = start + e.duration
            self._check_no_overlap(e, start, stop, spans)
            spans[e] = (start, stop)
            known.append(e)
        return spans

    def _trigger_model(self, site: str, pending: tuple[Exposure, ...]) -> SiteModel:
        """The model at ``site`` of the regimen without the event-started courses ``pending`` (not yet resolved)."""
        return SiteModel(self.params, Regimen([e for e in self.regimen if e not in pending]), site, self.patient.sex)

    def _check_no_overlap(self, e: Exposure, start: np.ndarray, stop: np.ndarray, spans: dict) -> None:
        for other in self.regimen:
            if other is e or other.agent != e.agent or (other.is_event and other not in spans):
                continue
            o_start, o_stop = spans.get(other, (other.start, other.stop))
            clash = np.isfinite(start) & (start < o_stop) & (np.asarray(o_start) < stop)
            if np.any(clash):
                i = int(np.flatnonzero(clash)[0])
                raise ValueError(
                    f"the event-started course of {e.agent} overlaps another course of {e.agent} for patient {i} "
                    f"(starts at {float(start[i]):g} years); courses of the same agent must not overlap"
                )

    def exposure_times(self, exposure: Exposure) -> tuple[np.ndarray | float, np.ndarray | float]:
        """Start and stop [years] of ``exposure`` per patient (inf: never starts / never stops)."""
        if exposure not in self.regimen.exposures:
            raise ValueError(f"{exposure!r} is not part of this trajectory's regimen")
        if exposure in self._state.spans:
            start, stop = self._state.spans[exposure]
            return self._shape(start), self._shape(stop)
        return exposure.start, exposure.stop

    def __repr__(self) -> str:
        return (
            f"<Trajectory: {self.patient.n} patient(s), sites {', '.join(self.sites)}, "
            f"{self.years:g} years, params {self.params.name!r}, {len(self.regimen)} exposure(s)>"
        )

    def _site(self, site: object) -> str:
        check_site(site)
        if site not in self._models:
            raise ValueError(
                f"site {site!r} was not simulated: the patient has baseline values for {', '.join(self.sites)}"
            )
        return site

    def _shape(self, arr: np.ndarray):
        return arr[0] if self.patient.is_scalar else arr

    def check_times(self, times: object, name: str = "times") -> np.ndarray:
        """Return ``times`` as float times [years] within the horizon.

        Parameters
        ----------
        times : float or sequence of float
            Times [years] in ``[0, years]``.
        name : str
            The argument's name, for the messages.

        Returns
        -------
        ndarray
            0-d for a scalar, else 1-D.

        Raises
        ------
        TypeError, ValueError
            Naming ``name``: not numbers, NaN, or outside ``[0, years]``.
        """
        arr = as_float_array(name, times)
        check_range(name, arr, 0.0, self.years, unit="years")
        return arr

    def _check_growth(self, site: str, largest: float, what: str) -> None:
        """Refuse a log-gain ``largest`` above :data:`MAX_LOG_GAIN`, which would overflow BMD or its change."""
        if largest <= MAX_LOG_GAIN:
            return
        cause = "the regimen's gain"
        if self._multiplier is not None:
            cause = (
                f"loss_multiplier[{site!r}] (up to {float(np.max(self._multiplier[site])):g}) scaling the regimen's "
                "gain; use a smaller loss_multiplier"
            )
        raise ValueError(
            f"BMD at {site} would grow by a factor exp({largest:.4g}) {what}, beyond what floating point can hold "
            f"(at most exp({MAX_LOG_GAIN:g})): caused by {cause}"
        )

    def baseline_bmd(self, site: str) -> np.ndarray | float:
        """Baseline BMD [g/cm2]."""
        return self._shape(self._baseline[self._site(site)])

    def _log_loss(self, site: str, t: np.ndarray) -> np.ndarray:
        """Log-loss, shape (n, len(t)), with each patient's multiplier."""
        model = self._models[site]
        state = self._state
        if model.is_shared(state, self.years):
            one = PatientState(float(state.age[0]))
            loss = np.broadcast_to(model.log_loss(t, one), (state.age.size, t.size))
        else:
            loss = model.log_loss(t[None, :], state.column())
        return loss if self._multiplier is None else loss * self._multiplier[site][:, None]

    def _bmd_at(self, site: str, times: np.ndarray) -> np.ndarray:
        """BMD [g/cm2] of every patient at ``times``, shape (n, len(times)); refuses only an overflow."""
        loss = self._log_loss(site, times)
        if loss.size:
            self._check_growth(site, -float(np.min(loss)), "from baseline")
        return self._baseline[site][:, None] * np.exp(-loss)

    def bmd_at(self, site: str, t: float | np.ndarray) -> np.ndarray | float:
        """Exact BMD [g/cm2] at time(s) ``t`` [years], whatever the output step.

        Parameters
        ----------
        site : str
            A simulated site.
        t : float or 1-D array
            Times [years] in ``[0, years]``.

        Returns
        -------
        float or ndarray
            A float for a scalar patient and scalar ``t``; else shape ``(len(t),)``,
            ``(n,)`` or ``(n, len(t))``.
        """
        site = self._site(site)
        tt = self.check_times(t, "t")
        check_allocation(
            f"bmd_at: {self.patient.n} patient(s) x {tt.size} times t",
            float(self.patient.n) * tt.size,
            hint="ask for fewer times t at once",
        )
        out = self._bmd_at(site, np.atleast_1d(tt))
        out = out[:, 0] if tt.ndim == 0 else out
        return self._shape(out)

    def bmd(self, site: str) -> np.ndarray:
        """BMD [g/cm2] at :attr:`time`: shape ``(m,)`` or ``(n, m)``."""
        site = self._site(site)
        key = ("bmd", site)
        if key not in self._cache:
            self._cache[key] = self._bmd_at(site, self.time)
        return self._shape(self._cache[key])

    def t_score(self, site: str) -> np.ndarray:
        """T-score [SD] at :attr:`time`, with the simulation's young-adult reference."""
        return self.reference.t_score(self._site(site), self.bmd(site))

    def percent_change(self, site: str, start: float, stop: float) -> np.ndarray | float:
        """Exact change of BMD from ``start`` to ``stop`` [years], in per cent of BMD at ``start``.

        Parameters
        ----------
        site : str
            A simulated site.
        start, stop : float
            Times [years] in ``[0, years]``, ``start <= stop``.

        Returns
        -------
        float or ndarray
            Change [%], at least -100; a float for a scalar patient, else shape ``(n,)``.
        """
        site = self._site(site)
        a = float(self.check_times(as_finite_float("start", start), "start"))
        b = float(self.check_times(as_finite_float("stop", stop), "stop"))
        if b < a:
            raise ValueError(f"stop ({b:g} years) must not come before start ({a:g} years)")
        loss = self._log_loss(site, np.array([a, b]))
        gain = loss[:, 0] - loss[:, 1]
        self._check_growth(site, float(np.max(gain)), "from start to stop")
        return self._shape(100.0 * np.expm1(gain))

    def crossing_time(self, site: str, threshold: float) -> np.ndarray | float:
        """First time [years] at which the T-score is at or below ``threshold``.

        Returns ``0.0`` if it is already at or below at baseline and ``inf`` if
        it is not reached within the horizon. Exact to 1e-10 years, whatever
        the output step (see :mod:`bmdsim.crossing`).
        """
        site = self._site(site)
        thr = as_finite_float("threshold", threshold)
        key = ("crossing", site, thr)
        if key not in self._cache:
            target = self._target(site, thr)
            self._cache[key] = first_crossing(self._models[site], self._state, target, self.years)
        return self._shape(self._cache[key])

    def crossing_table(
        self, thresholds: float | Iterable[float] | np.ndarray = DEFAULT_THRESHOLDS
    ) -> dict[str, dict[float, object]]:
        """Crossing times for every simulated site and each threshold: ``{site: {threshold: time}}``.

        Parameters
        ----------
        thresholds : float or 1-D array-like of float
            T-score thresholds [SD], finite.

        Returns
        -------
        dict
            ``{site: {threshold: time}}``, times [years] as :meth:`crossing_time`.
        """
        values = np.atleast_1d(as_float_array("thresholds", thresholds))
        check_allocation(
            f"crossing_table: {self.patient.n} patient(s) x {len(self.sites)} site(s) x {values.size} thresholds",
            float(self.patient.n) * len(self.sites) * values.size,
            hint="ask for fewer thresholds at once",
        )
        return {s: {float(t): self.crossing_time(s, float(t)) for t in values} for s in self.sites}

    def _patients_shown(self, patients: np.ndarray | None) -> np.ndarray:
        return np.arange(self.patient.n) if patients is None else patients

    def to_frame(self) -> pd.DataFrame:
        """BMD and T-score at :attr:`time` as a tidy table: one row per patient, site and output time.

        Returns
        -------
        pandas.DataFrame
            Columns ``patient`` (int64, 0 for a scalar patient), ``site``,
            ``time_years`` [years from baseline], ``bmd_g_cm2`` [g/cm2] and
            ``t_score_sd`` [SD]; rows ordered by patient, site (as
            :attr:`sites`) and time. Values equal :meth:`bmd` and
            :meth:`t_score`. Units in ``df.attrs["units"]``.

        Raises
        ------
        ValueError
            If the table would exceed :data:`bmdsim.limits.MAX_ARRAY_BYTES`
            per column (simulate with a larger step or fewer patients).
        """
        return self._frame(None)

    def _frame(self, patients: np.ndarray | None, times: np.ndarray | None = None) -> pd.DataFrame:
        """:meth:`to_frame` for some patients and output-time indices (the HTML view shows a few)."""
        idx = self._patients_shown(patients)
        cols = np.arange(self.time.size) if times is None else times
        rows = float(idx.size) * len(self.sites) * cols.size
        check_allocation(
            f"Trajectory.to_frame: a table of {idx.size} patient(s) x {len(self.sites)} site(s) x {cols.size} times",
            rows,
            hint="simulate with a larger step, or fewer patients at once",
        )
        bmd, t_score = [], []
        for site in self.sites:
            b = np.atleast_2d(np.asarray(self.bmd(site), dtype=float))[np.ix_(idx, cols)]
            t = np.atleast_2d(np.asarray(self.t_score(site), dtype=float))[np.ix_(idx, cols)]
            bmd.append(b)
            t_score.append(t)
        # (sites, patients, times) -> patient-major rows
        bmd_all = np.stack(bmd).transpose(1, 0, 2).reshape(-1)
        t_all = np.stack(t_score).transpose(1, 0, 2).reshape(-1)
        columns = {
            "patient": np.repeat(idx.astype(np.int64), len(self.sites) * cols.size),
            "site": np.tile(np.repeat(np.array(self.sites, dtype=object), cols.size), idx.size),
            "time_years": np.tile(self.time[cols], len(self.sites) * idx.size),
            "bmd_g_cm2": bmd_all,
            "t_score_sd": t_all,
        }
        return tables.frame(columns, "BMD and T-score over time (one row per patient, site and output time)")

    def crossing_frame(self, thresholds: float | Iterable[float] | np.ndarray = DEFAULT_THRESHOLDS) -> pd.DataFrame:
        """:meth:`crossing_table` as a tidy table: one row per patient, site and threshold.

        Parameters
        ----------
        thresholds : float or 1-D array-like of float
            T-score thresholds [SD], finite.

        Returns
        -------
        pandas.DataFrame
            Columns ``patient`` (int64), ``site``, ``threshold_t_score_sd``
            [SD] and ``crossing_time_years`` [years]: as
            :meth:`crossing_time`, ``0.0`` if at or below at baseline, ``inf``
            if not reached within the horizon. Rows ordered by patient, site
            and threshold (as given). Units in ``df.attrs["units"]``.

        Raises
        ------
        TypeError, ValueError
            For thresholds that are not finite real numbers (as :meth:`crossing_table`).
        """
        return self._crossing_frame(thresholds, None)

    def _crossing_frame(self, thresholds: object, patients: np.ndarray | None) -> pd.DataFrame:
        table = self.crossing_table(thresholds)
        idx = self._patients_shown(patients)
        values = [float(t) for t in next(iter(table.values()))] if table else []
        times = np.array(
            [[np.atleast_1d(np.asarray(table[s][t], dtype=float))[idx] for t in values] for s in self.sites]
        ).reshape(len(self.sites), len(values), idx.size)
        per_patient = len(self.sites) * len(values)
        columns = {
            "patient": np.repeat(idx.astype(np.int64), per_patient),
            "site": np.tile(np.repeat(np.array(self.sites, dtype=object), len(values)), idx.size),
            "threshold_t_score_sd": np.tile(np.array(values, dtype=float), len(self.sites) * idx.size),
            "crossing_time_years": times.transpose(2, 0, 1).reshape(-1),
        }
        return tables.frame(columns, "First crossing times (one row per patient, site and threshold)")

    def _repr_html_(self) -> str:
        """Crossing times of :data:`DEFAULT_THRESHOLDS` and T-scores at a few output times, for a few patients."""
        shown = np.arange(min(self.patient.n, HTML_PATIENTS))
        pd = tables.pandas()
        crossing = self._crossing_frame(DEFAULT_THRESHOLDS, shown)
        crossing = crossing.pivot_table(
            index=["patient", "site"],
            columns="threshold_t_score_sd",
            values="crossing_time_years",
            aggfunc="first",
            sort=False,
        )
        crossing.columns = [f"T <= {t:g}" for t in crossing.columns]
        crossing.attrs["units"] = {"T <= threshold": UNITS_CROSSING}
        picked = np.unique(np.round(np.linspace(0, self.time.size - 1, min(self.time.size, HTML_TIMES))).astype(int))
        long = self._frame(shown, picked)
        wide = long.pivot_table(
            index=["patient", "time_years"], columns="site", values="t_score_sd", aggfunc="first", sort=False
        )
        wide = pd.DataFrame(wide, columns=list(self.sites))
        wide.attrs["units"] = {"time_years": tables.UNITS["time_years"], "<site>": tables.UNITS["t_score_sd"]}
        who = f"patients 0-{shown[-1]} of {self.patient.n}" if self.patient.n > shown.size else "every patient"
        return tables.html_sections(
            repr(self),
            [
                (f"Years to the first T-score at or below each threshold ({who})", crossing, True),
                (f"T-score [SD] at {picked.size} of the {self.time.size} output times ({who})", wide, True),
            ],
            notes=("Every value as a tidy table: .to_frame() (BMD and T-score), .crossing_frame(thresholds).",),
            max_rows=max(tables.HTML_MAX_ROWS, shown.size * HTML_TIMES),
        )


def simulate(
    patient: Patient,
    regimen: Regimen | None = None,
    years: float = 10.0,
    step: float = 1.0 / 12.0,
    params: str | ParameterSet | None = DEFAULT_PARAMETER_SET,
    reference: YoungAdultReference | None = None,
    loss_multiplier: Mapping[str, object] | None = None,
) -> Trajectory:
    """Simulate BMD at every site of ``patient`` under ``regimen``.

    Parameters
    ----------
    patient : Patient
        One patient or many (arrays); see :class:`bmdsim.Patient`.
    regimen : Regimen, optional
        Exposures; natural loss alone if None.
    years : float
        Horizon [years], in ``(0, 60]``.
    step : float
        Output resolution [years], in ``(0, years]``. Exact quantities
        (crossing times, percent changes, :meth:`Trajectory.bmd_at`) do not
        depend on it.
    params : str or ParameterSet
        A shipped set name (:func:`bmdsim.available_parameter_sets`) or a set.
    reference : YoungAdultReference, optional
        Young-adult reference for T-scores; the shipped default if None.
    loss_multiplier : mapping of site -> float or (n,) array, optional
        Each patient's factor on the whole log-loss at a site (gains and
        losses scale together), as drawn for a cohort's between-patient
        variability (:class:`bmdsim.Variability`,
        :meth:`bmdsim.CohortResult.patients`); sites not given keep 1. Must be
        positive and finite, at most :data:`MAX_LOSS_MULTIPLIER`. None
        (default): every patient loses as the mean patient.

    Returns
    -------
    Trajectory

    Raises
    ------
    TypeError
        If an argument has the wrong type (booleans, strings and complex
        numbers are not numbers).
    ValueError
        If ``years``, ``step`` or a ``loss_multiplier`` is out of range, or
        the output grid (patients x output times) would exceed
        :data:`bmdsim.limits.MAX_ARRAY_BYTES`; the check runs before anything
        is allocated. Later, reading BMD where a ``loss_multiplier`` scales a
        gain beyond :data:`MAX_LOG_GAIN` raises rather than overflowing.

    Warns
    -----
    ExtrapolationWarning
        If a bone-protective therapy is given for longer (up to the horizon)
        than in its calibrating trials (see :mod:`bmdsim.therapies`).

    Notes
    -----
    Calibrated to postmenopausal women over 0-10 years (5 years on an AI
    and 5 years after); beyond that the model extrapolates. See the
    parameter set's ``validated_range``.
    """
    if not isinstance(patient, Patient):
        raise TypeError(f"patient must be a bmdsim.Patient, got {type(patient).__name__}")
    if regimen is None:
        regimen = Regimen([])
    if not isinstance(regimen, Regimen):
        raise TypeError(f"regimen must be a bmdsim.Regimen, got {type(regimen).__name__}")
    years = as_finite_float("years", years)
    if not limits.HORIZON_YEARS[0] < years <= limits.HORIZON_YEARS[1]:
        raise ValueError(f"years must be in ({limits.HORIZON_YEARS[0]:g}, {limits.HORIZON_YEARS[1]:g}], got {years:g}")
    step = as_finite_float("step", step)
    if not 0 < step <= years:
        raise ValueError(f"step must be in (0, years] = (0, {years:g}] years, got {step:g}")
    _check_grid(patient.n, years, step)  # before anything is allocated
    params = resolve_parameters(params)
    if reference is None:
        reference = load_reference()
    if not isinstance(reference, YoungAdultReference):
        raise TypeError(f"reference must be a bmdsim.YoungAdultReference, got {type(reference).__name__}")
    warn_if_extrapolating(regimen, params.values, years, patient.age, patient.sex)
    multiplier = _check_multiplier(loss_multiplier, patient)
    return Trajectory(patient, regimen, years, step, params, reference, multiplier)


#: Largest accepted loss multiplier: far above any drawn one (at the largest plausible CV, 3, a draw
#: exceeds it with probability 4e-12), so a cohort's multipliers always pass; refuses only absurd input.
MAX_LOSS_MULTIPLIER = 1e4


def _check_multiplier(loss_multiplier: object, patient: Patient) -> dict[str, np.ndarray] | None:
    """Validate ``loss_multiplier``: a (n,) array per simulated site, positive and finite, or None."""
    if loss_multiplier is None:
        return None
    if not isinstance(loss_multiplier, Mapping):
        raise TypeError(
            f"loss_multiplier must be a mapping of site to a factor (or an array of n factors), "
            f"got {type(loss_multiplier).__name__}"
        )
    out = {s: np.ones(patient.n) for s in patient.sites}
    for site, value in loss_multiplier.items():
        check_site(site, "loss_multiplier site")
        if site not in out:
            raise ValueError(
                f"loss_multiplier names site {site!r}, which the patient has no baseline value for "
                f"(sites: {', '.join(patient.sites)})"
            )
        try:
            arr = as_float_array(f"loss_multiplier[{site!r}]", value)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{exc}; it must lie in (0, {MAX_LOSS_MULTIPLIER:g}]: a number or an array of numbers, one per patient"
            ) from None
        if arr.ndim == 1 and arr.size != patient.n:
            raise ValueError(
                f"loss_multiplier[{site!r}] must be one number or {patient.n} (one per patient), got shape {arr.shape}"
            )
        if np.any(arr <= 0) or np.any(arr > MAX_LOSS_MULTIPLIER):
            raise ValueError(
                f"loss_multiplier[{site!r}] must lie in (0, {MAX_LOSS_MULTIPLIER:g}], got {arr.min():g}..{arr.max():g}"
            )
        out[site] = np.broadcast_to(arr, (patient.n,)).astype(float)
    return out
