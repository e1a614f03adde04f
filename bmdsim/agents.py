"""Rate models: natural postmenopausal loss and the effect of each agent.

Conventions
-----------
bmdsim follows the logarithm of areal BMD at each site. Every component adds
a *loss rate* :math:`r(t)` [1/year] (positive: loss, negative: gain), and

.. math:: \\mathrm{BMD}(t) = \\mathrm{BMD}(0)\\,\\exp\\left(-L(t)\\right),
   \\qquad L(t) = \\int_0^t \\sum_c r_c(u)\\,\\mathrm{d}u .

Parameter files give rates in per cent per year: an instantaneous relative
rate, so 1.5 %/yr held for one year lowers BMD by ``1 - exp(-0.015)``
= 1.49 %. Each component supplies both :math:`r_c` and its integral in closed
form, which is what makes crossing times exact.

**Combination rule.** Components add their rates: natural loss, then every
exposure of every agent. A new agent plugs in by subclassing
:class:`AgentModel` and calling :func:`register_agent`; the engine does not
change. An agent's effect may depend on time since its start (build-up,
front-loading), continue after its stop (offset, recovery), and read the
natural-loss rate of the same patient (see :class:`Tamoxifen`).

Components
----------
natural loss
    Per site, either piecewise constant in age (rates ``r_0 .. r_K`` [%/yr]
    between age edges ``e_1 < .. < e_K`` [years]) or smooth in age,
    ``r exp(k (age - a_ref))`` with a log-rate slope ``k`` [1/yr] per year of
    age (``age_slope_per_year``; 0 gives a constant rate). With a slope, the
    age that sets a woman's rate is her baseline age in whole years plus a
    half (:data:`AGE_GROUP_YEARS`), advancing with time from there, so that
    women of one year of age share one loss curve (see :mod:`bmdsim.crossing`).
    Always present.
``aromatase_inhibitor``
    Excess loss on top of natural loss while on the drug, front-loaded:
    ``late + early * exp(-tau / T_early)`` [%/yr] at time ``tau`` on the
    drug. After the stop the excess ends and a fraction ``f`` of the excess
    log-loss of the course is regained with time constant ``T_rec``
    (rate ``-f E / T_rec * exp(-(t - stop) / T_rec)``).
``tamoxifen``
    Bone-sparing in postmenopausal women: while on the drug natural loss is
    replaced by the net change observed on tamoxifen,
    ``net_change_pct_per_year`` (positive: gain). No effect after the stop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ._validation import as_finite_float, as_float_array, check_range, check_text

PCT = 100.0  # per cent per unit
#: Width [years] of the age groups of natural loss with an age slope: a woman's natural-loss rate follows
#: her baseline age rounded to the middle of its whole year. A modelling resolution, not a fitted value: half
#: a year of age changes the rate by ``|k| / 2`` (under 5 % for the slopes the sets allow, ``|k| <= 0.1``).
AGE_GROUP_YEARS = 1.0


@dataclass(frozen=True)
class ParameterSpec:
    """What one parameter means and which values it may take.

    ``per_site`` parameters are keyed ``"<agent>.<site>.<name>"``, the others
    ``"<agent>.<name>"``.
    """

    name: str
    unit: str
    low: float
    high: float
    per_site: bool = True
    is_list: bool = False
    optional: bool = False
    description: str = ""


class NaturalLoss:
    """Natural postmenopausal loss at one site: piecewise constant in age, or smooth in age.

    Parameters
    ----------
    edges : sequence of float
        Age edges ``e_1 < ... < e_K`` [years]; empty for a constant rate.
    rates_pct : sequence of float
        ``K + 1`` rates [%/yr], the first for ages below ``e_1``; with a
        slope, one rate: the rate at ``reference_age``.
    slope : float
        ``k`` [1/yr]: the rate is ``r exp(k (age - reference_age))``; 0 (default)
        for the banded or constant form. A slope needs no age edges.
    reference_age : float
        ``a_ref`` [years], the age at which a sloped rate equals ``rates_pct``.

    Raises
    ------
    TypeError
        If a value is not a real number (or a list of them, for ``edges`` and
        ``rates_pct``).
    ValueError
        If a value is not finite or lies outside the range of its
        :attr:`SPECS` entry, or the edges and rates do not fit together.

    Notes
    -----
    With a slope, rates follow :meth:`effective_age`: the baseline age rounded
    to the middle of its year (:data:`AGE_GROUP_YEARS`), plus time.

    The evaluation methods (:meth:`cumulative`, :meth:`rate`, ...) are the
    engine's numeric kernels: they take arrays of any shape from checked
    patients and times and do not check them again.
    """

    name = "natural"
    SPECS = (
        ParameterSpec("age_edges_years", "years", 0.0, 120.0, is_list=True, description="age edges of the bands"),
        ParameterSpec("rates_pct_per_year", "%/yr", 0.0, 20.0, is_list=True, description="loss rate in each band"),
        ParameterSpec(
            "age_slope_per_year",
            "1/yr",
            -0.1,
            0.1,
            description="change of the log loss rate per year of age (0: no age dependence beyond the bands)",
        ),
        ParameterSpec(
            "reference_age_years",
            "years",
            40.0,
            90.0,
            per_site=False,
            description="age at which a sloped natural-loss rate equals rates_pct_per_year",
        ),
    )

    def __init__(
        self, edges: tuple[float, ...], rates_pct: tuple[float, ...], slope: float = 0.0, reference_age: float = 65.0
    ) -> None:
        edge_spec, rate_spec, slope_spec, age_spec = self.SPECS
        self.edges = self._checked_list(edge_spec, edges, allow_empty=True)
        self.rates = self._checked_list(rate_spec, rates_pct, allow_empty=False) / PCT
        self.slope = self._checked_number(slope_spec, slope)
        self.reference_age = self._checked_number(age_spec, reference_age)
        if self.slope != 0.0 and self.edges.size:
            raise ValueError(
                f"natural loss with an age slope ({self.slope:g}/yr) takes one rate and no age edges, "
                f"got {self.edges.size} edges"
            )
        if self.rates.size != self.edges.size + 1:
            raise ValueError(
                f"natural loss needs one more rate than age edges, got {self.rates.size} rates "
                f"and {self.edges.size} edges"
            )
        if np.any(np.diff(self.edges) <= 0):
            raise ValueError(f"natural loss age edges must increase strictly, got {list(edges)}")
        lower = np.concatenate(([-np.inf], self.edges))
        upper = np.concatenate((self.edges, [np.inf]))
        self._lower, self._upper = lower, upper
        # Cumulative loss at each lower edge, measured from age 0 (band 0 extends linearly below age 0).
        lengths = np.diff(np.concatenate(([0.0], self.edges)))
        self._base = np.concatenate(([0.0], np.cumsum(self.rates[:-1] * lengths)))
        self._anchor = np.concatenate(([0.0], self.edges))

    @staticmethod
    def _checked_list(spec: ParameterSpec, value: object, allow_empty: bool) -> np.ndarray:
        """``value`` as a 1-D float array within ``spec``'s range, or raise naming the parameter."""
        name = f"natural loss {spec.name}"
        if allow_empty and isinstance(value, (list, tuple, np.ndarray)) and len(value) == 0:
            return np.empty(0)
        arr = np.atleast_1d(as_float_array(name, value))
        check_range(name, arr, spec.low, spec.high, unit=spec.unit)
        return arr

    @staticmethod
    def _checked_number(spec: ParameterSpec, value: object) -> float:
        """``value`` as a float within ``spec``'s range, or raise naming the parameter."""
        name = f"natural loss {spec.name}"
        out = as_finite_float(name, value)
        check_range(name, np.asarray(out), spec.low, spec.high, unit=spec.unit)
        return out

    @property
    def grouped(self) -> bool:
        """True if rates follow a slope in age, so women share curves only within an age group."""
        return self.slope != 0.0

    def effective_age(self, age: np.ndarray | float) -> np.ndarray:
        """The age [years] that sets the rate at baseline: ``age`` itself, or with a slope its group's middle."""
        age = np.asarray(age, dtype=float)
        if not self.grouped:
            return age
        return (np.floor(age / AGE_GROUP_YEARS) + 0.5) * AGE_GROUP_YEARS

    def group_key(self, age: np.ndarray) -> np.ndarray:
        """Integer age group of each baseline ``age`` (women with one key share a curve)."""
        return np.floor(np.asarray(age, dtype=float) / AGE_GROUP_YEARS).astype(np.int64)

    def cumulative(self, age: np.ndarray) -> np.ndarray:
        """Cumulative log-loss up to ``age`` from a reference point (only differences matter)."""
        age = np.asarray(age, dtype=float)
        if self.grouped:
            return self.rates[0] / self.slope * np.exp(self.slope * (age - self.reference_age))
        k = np.searchsorted(self.edges, age, side="right")
        return self._base[k] + self.rates[k] * (age - self._anchor[k])

    def rate(self, age: np.ndarray) -> np.ndarray:
        """Loss rate [1/yr] at ``age`` (right-continuous at the edges)."""
        age = np.asarray(age, dtype=float)
        if self.grouped:
            return self.rates[0] * np.exp(self.slope * (age - self.reference_age))
        return self.rates[np.searchsorted(self.edges, age, side="right")]

    def is_constant_between(self, low: float, high: float) -> bool:
        """True if the rate is the same at every age in ``[low, high]``."""
        if self.grouped:
            return low == high
        inside = self.edges[(self.edges > low) & (self.edges < high)]
        k0 = np.searchsorted(self.edges, low, side="right")
        return bool(np.all(self.rates[k0 : k0 + inside.size + 1] == self.rates[k0]))


class Course(Protocol):
    """What an agent model reads of a course: the interface of :class:`bmdsim.regimen.Exposure`.

    Agent models are given the regimen's exposures but read only these
    properties, so this module needs no import of :mod:`bmdsim.regimen`
    (which imports this one for the registered agent names).
    """

    @property
    def agent(self) -> str:
        """The agent's registered name."""

    @property
    def start(self) -> Any:
        """Start [years from baseline], or the :class:`bmdsim.regimen.AtThreshold` event that starts the course."""

    @property
    def stop(self) -> float:
        """Stop [years from baseline]; ``inf`` if the course never stops or starts on an event."""

    @property
    def is_event(self) -> bool:
        """True if the course starts on an event: its times are then per patient (:meth:`SiteContext.span`)."""


class SiteContext:
    """What an agent may read about the patients at one site.

    ``age`` is the age at baseline [years], any shape that broadcasts against
    the times the model is evaluated at.
    """

    def __init__(
        self,
        natural: NaturalLoss,
        age: np.ndarray | float,
        spans: Mapping[Course, tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> None:
        self.natural = natural
        self.age = np.asarray(age, dtype=float)
        self._natural_age = natural.effective_age(self.age)
        self._n0 = natural.cumulative(self._natural_age)
        self._spans = spans or {}

    def span(self, exposure: Course) -> tuple[np.ndarray | float, np.ndarray | float]:
        """Start and stop [years] of ``exposure`` for these patients.

        Floats when every patient shares them; arrays shaped like :attr:`age`
        when they differ per patient (an exposure that starts on an event,
        such as a threshold crossing). ``inf`` means never (start) or never
        stops (stop). Agent models must read times here, not from the
        exposure, and must work with arrays.
        """
        if exposure in self._spans:
            return self._spans[exposure]
        return exposure.start, exposure.stop

    def natural_cumulative(self, t: np.ndarray) -> np.ndarray:
        """Natural log-loss from baseline to time ``t`` [years]."""
        return self.natural.cumulative(self._natural_age + t) - self._n0

    def natural_rate(self, t: np.ndarray) -> np.ndarray:
        """Natural loss rate [1/yr] at time ``t``."""
        return self.natural.rate(self._natural_age + t)


class AgentModel:
    """Base class of an agent's effect on the loss rate at one site.

    Subclasses set :attr:`name`, :attr:`label`, :attr:`SPECS` and implement
    :meth:`cumulative` and :meth:`rate` in closed form, vectorised: ``t``
    broadcasts against the ages in ``ctx``. ``p`` maps parameter names (without
    the agent and site prefix) to values for one site. A course contributes
    nothing before its start (the crossing search answers a course started on
    an event from the curve without it up to the start).

    Attributes
    ----------
    shift_invariant : bool
        True if the effect of a course depends only on the time since its
        start and on its length, not on the patient's age or natural loss
        (nor anything else in ``ctx``), and is zero before the start. The
        crossing search then reads a course started per patient (on an
        event) from one curve per site shifted to her start (see
        :mod:`bmdsim.crossing`). False (the default) is always safe.
    """

    name: str = ""
    label: str = ""
    SPECS: tuple[ParameterSpec, ...] = ()
    shift_invariant: bool = False

    def cumulative(self, t: np.ndarray, exposure: Course, p: Mapping[str, float], ctx: SiteContext) -> np.ndarray:
        """Log-loss contributed by ``exposure`` from a fixed reference time up to ``t``."""
        raise NotImplementedError

    def rate(self, t: np.ndarray, exposure: Course, p: Mapping[str, float], ctx: SiteContext) -> np.ndarray:
        """Loss rate [1/yr] contributed by ``exposure`` at ``t`` (right-continuous)."""
        raise NotImplementedError

    def breakpoints(self, exposure: Course) -> tuple[float, ...]:
        """Times where the rate may jump."""
        if exposure.is_event:
            return ()  # per-patient times: the crossing search adds them per patient
        return tuple(t for t in (exposure.start, exposure.stop) if math.isfinite(t))

    def time_scales(self, p: Mapping[str, float]) -> tuple[float, ...]:
        """Time constants [years] of the effect; the crossing search resolves them."""
        return ()


def _front_loaded_integral(tau: np.ndarray, late: float, early: float, t_early: float | None) -> np.ndarray:
    """Integral over [0, tau] of ``late + early * exp(-u / t_early)``."""
    if early == 0.0:
        return late * tau
    return late * tau + early * t_early * -np.expm1(-tau / t_early)


class AromataseInhibitor(AgentModel):
    """Aromatase inhibitor: front-loaded excess loss, partial recovery after the stop.

    Notes
    -----
    While on the drug, excess loss rate at time ``tau`` since the start of the
    course: ``late + early * exp(-tau / T_early)`` [%/yr]. Its integral over
    the course is the excess log-loss ``E``. From the stop on, the loss rate
    gains the term ``-f * E / T_rec * exp(-(t - stop) / T_rec)``, so that a
    fraction ``f`` of ``E`` is regained in the long run. Each course is
    treated on its own (a second course starts again at ``tau = 0``).

    BMD is anchored at the baseline scan, so a course that ended before
    baseline contributes only what is still to be regained after baseline:
    for such a course a larger excess means *more* gain from baseline on.
    """

    name = "aromatase_inhibitor"
    label = "Aromatase inhibitor"
    shift_invariant = True
    SPECS = (
        ParameterSpec("late_excess_pct_per_year", "%/yr", 0.0, 20.0, description="excess loss after the early phase"),
        ParameterSpec("early_excess_pct_per_year", "%/yr", 0.0, 50.0, description="extra excess loss at the start"),
        ParameterSpec(
            "early_time_constant_years",
            "years",
            0.05,
            10.0,
            per_site=False,
            optional=True,
            description="decay of the early excess (null when the early excess is 0 at every site)",
        ),
        ParameterSpec("recovery_fraction", "1", 0.0, 1.0, description="fraction of the excess loss regained"),
        ParameterSpec(
            "recovery_time_constant_years", "years", 0.05, 20.0, per_site=False, description="time constant of recovery"
        ),
    )

    def _excess(self, tau: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        return _front_loaded_integral(
            tau,
            p["late_excess_pct_per_year"] / PCT,
            p["early_excess_pct_per_year"] / PCT,
            p["early_time_constant_years"],
        )

    def _regained(self, start, stop, p: Mapping[str, float]) -> np.ndarray:
        """Log-loss regained in the long run after a course from ``start`` to ``stop`` (0 if it never stops)."""
        stops = np.isfinite(stop) & np.isfinite(start)
        with np.errstate(invalid="ignore"):  # inf - inf for a course that never starts; masked by `stops`
            duration = np.where(stops, np.asarray(stop, dtype=float) - start, 0.0)
        return np.where(stops, p["recovery_fraction"] * self._excess(duration, p), 0.0)

    def cumulative(self, t, exposure, p, ctx):
        t = np.asarray(t, dtype=float)
        start, stop = ctx.span(exposure)
        with np.errstate(invalid="ignore"):  # inf - inf for a course that never starts; zeroed below
            tau = np.clip(t - start, 0.0, np.asarray(stop, dtype=float) - start)
        tau = np.where(np.isfinite(tau), tau, 0.0)  # a course that never starts
        since = np.maximum(t - stop, 0.0)
        since = np.where(np.isfinite(since), since, 0.0)
        t_rec = p["recovery_time_constant_years"]
        return self._excess(tau, p) - self._regained(start, stop, p) * -np.expm1(-since / t_rec)

    def rate(self, t, exposure, p, ctx):
        t = np.asarray(t, dtype=float)
        start, stop = ctx.span(exposure)
        on = (t >= start) & (t < stop)
        tau = np.where(on, t - start, 0.0)
        out = np.where(on, p["late_excess_pct_per_year"] / PCT, 0.0)
        if p["early_excess_pct_per_year"] != 0.0:
            early = p["early_excess_pct_per_year"] / PCT * np.exp(-tau / p["early_time_constant_years"])
            out = out + np.where(on, early, 0.0)
        t_rec = p["recovery_time_constant_years"]
        after = t >= stop
        since = np.where(after, t - stop, 0.0)
        return out - np.where(after, self._regained(start, stop, p) / t_rec * np.exp(-since / t_rec), 0.0)

    def time_scales(self, p):
        scales = [p["recovery_time_constant_years"]]
        if p["early_excess_pct_per_year"] != 0.0:
            scales.append(p["early_time_constant_years"])
        return tuple(scales)


class Tamoxifen(AgentModel):
    """Tamoxifen in postmenopausal women: natural loss replaced by a net change.

    Notes
    -----
    On the drug, the loss rate is ``-net_change_pct_per_year / 100`` in place
    of the natural loss rate; after the stop, natural loss resumes with no
    carry-over. This describes postmenopausal women only; in premenopausal
    women tamoxifen causes loss, which the shipped parameter sets do not model.
    """

    name = "tamoxifen"
    label = "Tamoxifen"
    SPECS = (ParameterSpec("net_change_pct_per_year", "%/yr", -10.0, 10.0, description="net BMD change on tamoxifen"),)

    def cumulative(self, t, exposure, p, ctx):
        t = np.asarray(t, dtype=float)
        start, stop = ctx.span(exposure)
        never = ~np.isfinite(start)
        start = np.where(never, 0.0, start)
        clipped = np.where(never, 0.0, np.clip(t, start, stop))
        cancelled = ctx.natural_cumulative(clipped) - ctx.natural_cumulative(start)
        return -cancelled - p["net_change_pct_per_year"] / PCT * (clipped - start)

    def rate(self, t, exposure, p, ctx):
        t = np.asarray(t, dtype=float)
        start, stop = ctx.span(exposure)
        on = (t >= start) & (t < stop)
        return np.where(on, -ctx.natural_rate(t) - p["net_change_pct_per_year"] / PCT, 0.0)


#: Registered agent models, by exposure name.
AGENTS: dict[str, AgentModel] = {}


#: Longest agent name [characters]: a name is a short identifier, used in parameter keys and tables.
MAX_AGENT_NAME_CHARS = 100


def register_agent(model: AgentModel, *, replace: bool = False) -> AgentModel:
    """Make ``model`` usable as ``Exposure(model.name, ...)``.

    Its parameters must then be present in every parameter set used for a regimen that uses it;
    other sets stay valid (add them with :meth:`bmdsim.ParameterSet.with_values`).

    Parameters
    ----------
    model : AgentModel
        An instance of a subclass that sets :attr:`AgentModel.name` (a Python
        identifier of at most :data:`MAX_AGENT_NAME_CHARS` characters),
        :attr:`AgentModel.SPECS` (a tuple of :class:`ParameterSpec`) and
        implements :meth:`AgentModel.cumulative` and :meth:`AgentModel.rate`.
    replace : bool
        Registering a name that is already registered (a shipped agent
        included) replaces that agent for the whole process; it is refused
        unless ``replace=True``. Registering the same object again is a no-op.

    Returns
    -------
    AgentModel
        ``model``.

    Raises
    ------
    TypeError
        If ``model`` is not an :class:`AgentModel`, its name is not a string,
        its SPECS are not ParameterSpec objects, it lacks ``cumulative`` or
        ``rate``, or ``replace`` is not a bool.
    ValueError
        If the name is not an identifier or is already registered (without
        ``replace=True``), or a spec's range is not finite and ordered.
    """
    if not isinstance(model, AgentModel):
        raise TypeError(f"model must be a bmdsim.agents.AgentModel, got {type(model).__name__}")
    if not isinstance(replace, (bool, np.bool_)):
        raise TypeError(f"replace must be True or False, got {replace!r}")
    name = check_text("agent name (model.name)", model.name, max_chars=MAX_AGENT_NAME_CHARS)
    if not name or not name.isidentifier():
        raise ValueError(f"agent name must be a non-empty identifier, got {name!r}")
    for method in ("cumulative", "rate"):
        if getattr(type(model), method) is getattr(AgentModel, method):
            raise TypeError(f"model {name!r} must implement AgentModel.{method}")
    specs = model.SPECS
    if not isinstance(specs, tuple) or not all(isinstance(spec, ParameterSpec) for spec in specs):
        raise TypeError(f"model {name!r}: SPECS must be a tuple of bmdsim.agents.ParameterSpec, got {specs!r}")
    for spec in specs:
        check_text(f"model {name!r}: SPECS name", spec.name, max_chars=MAX_AGENT_NAME_CHARS)
        low = as_finite_float(f"model {name!r}: SPECS {spec.name} low", spec.low)
        high = as_finite_float(f"model {name!r}: SPECS {spec.name} high", spec.high)
        if not low <= high:
            raise ValueError(f"model {name!r}: SPECS {spec.name} needs low <= high, got [{low:g}, {high:g}]")
    if name in AGENTS and AGENTS[name] is not model and not replace:
        raise ValueError(
            f"agent name {name!r} is already registered ({type(AGENTS[name]).__name__}); registering another model "
            "under it would replace it for the whole process: pass replace=True to do that on purpose"
        )
    AGENTS[name] = model
    return model


register_agent(AromataseInhibitor())
register_agent(Tamoxifen())
