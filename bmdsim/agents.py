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

**Display metadata.** An agent also declares how it is shown: a label, a
short label, a colour, whether it is a bone-protective therapy, the line style
of an AI combined with it and its evidence grade (:class:`AgentModel`,
resolved and checked by :func:`agent_display`). The therapy list
(:data:`bmdsim.THERAPIES`), the scenario files' choices, the explorer's
dropdown and the figures' colours, labels and regimen styles are all read from
this registry, so a drug registered with :func:`register_agent` appears in
them without changes elsewhere.

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
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, overload

import numpy as np

from ._validation import _show, as_finite_float, as_float_array, check_range, check_text

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

    Subclasses set :attr:`name`, :attr:`SPECS` and implement
    :meth:`cumulative` and :meth:`rate` in closed form, vectorised: ``t``
    broadcasts against the ages in ``ctx``. ``p`` maps parameter names (without
    the agent and site prefix) to values for one site. A course contributes
    nothing before its start (the crossing search answers a course started on
    an event from the curve without it up to the start).

    Attributes
    ----------
    name : str
        The exposure name: a Python identifier of at most
        :data:`MAX_AGENT_NAME_CHARS` characters.
    SPECS : tuple of ParameterSpec
        The agent's parameters.
    label : str
        Display name in figures, tables and choices (e.g. ``"Zoledronic
        acid"``); by default the name with spaces, capitalised.
    short_label : str
        Name inside a sentence, title or legend entry (e.g. ``"AI"`` in ``"AI
        + zoledronic acid"``); by default the label in lower case.
    colour : str
        Colour of the agent's courses and of an AI combined with it, a hex
        colour ``"#RRGGBB"``; :data:`DEFAULT_AGENT_COLOUR` (grey) by default.
    bone_protective : bool
        True for a bone-protective therapy: one of :data:`bmdsim.THERAPIES`,
        offered by policies and scenario ``[[policy]]`` blocks. False by default.
    line_style : str, tuple or None
        Line style of an AI combined with this agent in every figure
        (``"ai+<name>"`` of :data:`bmdsim.plot.REGIMEN_STYLES`): one of
        :data:`LINE_STYLES` or a dash pattern ``(offset, (on, off, ...))`` [points].
        None (default): such curves have no style of their own and take the
        free colours of :data:`bmdsim.plot.SERIES_COLOURS`.
    shift_invariant : bool
        True if the effect of a course depends only on the time since its
        start and on its length, not on the patient's age or natural loss
        (nor anything else in ``ctx``), and is zero before the start. The
        crossing search then reads a course started per patient (on an
        event) from one curve per site shifted to her start (see
        :mod:`bmdsim.crossing`). False (the default) is always safe.
    evidence_grade : str or None
        Certainty of the evidence for the effect, one of
        :data:`EVIDENCE_GRADES`, or None if not graded (default). A
        ``"very low"`` therapy is left out of the explorer's choices.

    The display attributes are checked by :func:`register_agent` (see
    :func:`agent_display`).
    """

    name: str = ""
    label: str = ""
    short_label: str = ""
    colour: str = ""
    bone_protective: bool = False
    line_style: str | tuple[float, tuple[float, ...]] | None = None
    evidence_grade: str | None = None
    SPECS: tuple[ParameterSpec, ...] = ()
    #: True for an agent that describes a premenopausal woman (see :mod:`bmdsim.profiles`): a regimen
    #: holding it has no natural postmenopausal loss at all, from baseline to the horizon.
    replaces_natural_loss: bool = False
    #: True for an agent that only women can take (ovarian suppression): a male patient on it is a ValueError.
    female_only: bool = False
    #: Ages [years] ``(low, high)`` of the women in the agent's trials; outside them a simulation emits
    #: :class:`bmdsim.ExtrapolationWarning` (:func:`bmdsim.therapies.check_calibrated_range`). None: no limit.
    validated_age_years: tuple[float, float] | None = None
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

    def values_for_sex(self, p: Mapping[str, float], sex: str) -> Mapping[str, float]:
        """The parameters ``p`` of one site as they apply to patients of ``sex`` (``"female"`` or ``"male"``).

        The default: the same for both, except that an agent with
        :attr:`female_only` refuses men (ValueError).
        """
        if sex == "male" and self.female_only:
            raise ValueError(f"agent {self.name!r} is for women only (sex='female'); a male patient cannot be on it")
        return p


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
    short_label = "AI"
    colour = "#CC79A7"  # Okabe-Ito reddish purple
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
        ParameterSpec(
            "male_excess_pct_per_year",
            "%/yr",
            0.0,
            20.0,
            description="excess loss in men, constant while on the drug (no front-loading; see bmdsim.profiles)",
        ),
        ParameterSpec(
            "male_max_calibrated_years",
            "years",
            0.1,
            60.0,
            per_site=False,
            description="longest course in men's trials; a longer course in a man warns",
        ),
    )

    def values_for_sex(self, p: Mapping[str, float], sex: str) -> Mapping[str, float]:
        """In men the excess is ``male_excess_pct_per_year``, constant on the drug; the recovery is the women's.

        An agent built on this one without a men's rate (the profiles of
        :mod:`bmdsim.profiles`) keeps its values for both sexes.
        """
        if sex != "male" or "male_excess_pct_per_year" not in p:
            return super().values_for_sex(p, sex)
        return dict(p) | {"late_excess_pct_per_year": p["male_excess_pct_per_year"], "early_excess_pct_per_year": 0.0}

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
    colour = "#56B4E9"  # Okabe-Ito sky blue
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
#: Longest agent label or short label [characters]: it is drawn on a course's bar and in legends.
MAX_AGENT_LABEL_CHARS = 100
#: Colour of an agent that declares none: mid grey (matplotlib's ``"0.6"``).
DEFAULT_AGENT_COLOUR = "#999999"
#: Named line styles an agent may declare (matplotlib's solid, dashed, dash-dot and dotted).
LINE_STYLES: tuple[str, ...] = ("-", "--", "-.", ":")
#: Longest dash pattern of a declared line style [on/off lengths], and the longest dash or gap [points].
MAX_DASHES, MAX_DASH_POINTS = 8, 50.0
#: Evidence grades an agent may declare (GRADE: the certainty of the evidence for its effect).
EVIDENCE_GRADES: tuple[str, ...] = ("high", "moderate", "low", "very low")
_HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")


@dataclass(frozen=True)
class AgentDisplay:
    """How an agent is shown: its display attributes (see :class:`AgentModel`) with defaults filled in.

    Attributes
    ----------
    label, short_label : str
        Display name, and the name inside a sentence or legend entry.
    colour : str
        Hex colour ``"#RRGGBB"``.
    bone_protective : bool
        True for a bone-protective therapy.
    line_style : str, tuple or None
        Line style of an AI combined with the agent; None for no style of its own.
    evidence_grade : str or None
        One of :data:`EVIDENCE_GRADES`, or None if not graded.
    """

    label: str
    short_label: str
    colour: str
    bone_protective: bool
    line_style: str | tuple[float, tuple[float, ...]] | None
    evidence_grade: str | None


def _checked_label(agent: str, field: str, value: object) -> str:
    """A label of ``agent``: non-blank text of at most :data:`MAX_AGENT_LABEL_CHARS` characters, one line."""
    what = f"agent {agent!r}: {field}"
    check_text(what, value, max_chars=MAX_AGENT_LABEL_CHARS)
    if not value.strip() or not value.isprintable():  # type: ignore[union-attr]
        raise ValueError(f"{what} must be non-blank text on one line without control characters, got {_show(value)}")
    return value  # type: ignore[return-value]


def _checked_line_style(agent: str, value: object) -> str | tuple[float, tuple[float, ...]] | None:
    """A line style: None, one of :data:`LINE_STYLES`, or ``(offset, (on, off, ...))`` [points]."""
    allowed = (
        f"None, one of {', '.join(repr(s) for s in LINE_STYLES)}, or a dash pattern (offset, (on, off, ...)) of "
        f"an even number (2 to {MAX_DASHES}) of positive lengths of at most {MAX_DASH_POINTS:g} points"
    )
    problem = ValueError(f"agent {agent!r}: line_style must be {allowed}, got {_show(value)}")
    if value is None:
        return None
    if isinstance(value, str):
        if value not in LINE_STYLES:
            raise problem
        return value
    if not isinstance(value, tuple) or len(value) != 2 or not isinstance(value[1], tuple):
        raise TypeError(f"agent {agent!r}: line_style must be {allowed}, got {_show(value)}")
    offset, dashes = value
    numbers = (offset, *dashes)
    if any(
        isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)) for x in numbers
    ):
        raise TypeError(f"agent {agent!r}: line_style must be {allowed}, got {_show(value)}")
    if not 2 <= len(dashes) <= MAX_DASHES or len(dashes) % 2:
        raise problem
    if not all(math.isfinite(x) for x in numbers) or not 0 <= offset <= MAX_DASH_POINTS:
        raise problem
    if not all(0 < x <= MAX_DASH_POINTS for x in dashes):
        raise problem
    return value


def agent_display(agent: str | AgentModel) -> AgentDisplay:
    """The display attributes of an agent, with the defaults of :class:`AgentModel` filled in, checked.

    Parameters
    ----------
    agent : str or AgentModel
        A registered agent's name (:data:`AGENTS`), or a model.

    Returns
    -------
    AgentDisplay

    Raises
    ------
    TypeError
        If an attribute has the wrong type (a label that is not a string, a
        ``bone_protective`` that is not a bool, ...).
    ValueError
        If ``agent`` is not a registered name, or an attribute's value is not
        allowed (a blank label, a colour that is not ``"#RRGGBB"``, an unknown
        line style or evidence grade); the message names the agent, the
        attribute, the value and what is allowed.
    """
    if isinstance(agent, AgentModel):
        model = agent
    elif isinstance(agent, str) and agent in AGENTS:
        model = AGENTS[agent]
    else:
        raise ValueError(f"unknown agent {_show(agent)}; registered agents: {', '.join(AGENTS)}")
    name = model.name
    label = model.label if model.label != "" else name.replace("_", " ").capitalize()
    label = _checked_label(name, "label", label)
    short = model.short_label if model.short_label != "" else label.lower()
    short = _checked_label(name, "short_label", short)
    colour = model.colour if model.colour != "" else DEFAULT_AGENT_COLOUR
    if not isinstance(colour, str):
        raise TypeError(f"agent {name!r}: colour must be a hex colour string '#RRGGBB', got {_show(colour)}")
    if not _HEX_COLOUR.fullmatch(colour):
        raise ValueError(f"agent {name!r}: colour must be a hex colour '#RRGGBB' (e.g. '#009E73'), got {_show(colour)}")
    protective = model.bone_protective
    if not isinstance(protective, (bool, np.bool_)):
        raise TypeError(f"agent {name!r}: bone_protective must be True or False, got {_show(protective)}")
    grade = model.evidence_grade
    if grade is not None and (not isinstance(grade, str) or grade not in EVIDENCE_GRADES):
        kind = TypeError if not isinstance(grade, str) else ValueError
        raise kind(
            f"agent {name!r}: evidence_grade must be None or one of {', '.join(EVIDENCE_GRADES)}, got {_show(grade)}"
        )
    return AgentDisplay(label, short, colour, bool(protective), _checked_line_style(name, model.line_style), grade)


_T = TypeVar("_T")


class AgentNames(Sequence[str]):
    """A live, read-only sequence of the registered agents (:data:`AGENTS`) whose display passes a test.

    Read at every use, in registration order, so an agent registered (or
    removed) later is included (or left out) without changing the code that
    holds the sequence. Compares equal to the tuple of its names.

    Parameters
    ----------
    test : callable
        ``AgentDisplay -> bool``.
    description : str
        What the names are, for :func:`repr`.
    """

    def __init__(self, test: Callable[[AgentDisplay], bool], description: str) -> None:
        self._test = test
        self._description = description

    def names(self) -> tuple[str, ...]:
        """The names now, as a tuple."""
        return tuple(name for name, model in AGENTS.items() if self._test(agent_display(model)))

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...

    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return self.names()[index]

    def __len__(self) -> int:
        return len(self.names())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, value: object) -> bool:
        return value in self.names()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AgentNames):
            return self.names() == other.names()
        if isinstance(other, (tuple, list)):
            return self.names() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # changes as agents are registered

    def __repr__(self) -> str:
        return f"{self.names()!r}"


class RegistryView(Mapping[str, _T]):
    """A live, read-only mapping built from the registry (:data:`AGENTS`) at every use.

    Parameters
    ----------
    build : callable
        ``() -> dict``: the mapping now.
    """

    def __init__(self, build: Callable[[], dict[str, _T]]) -> None:
        self._build = build

    def __getitem__(self, key: str) -> _T:
        return self._build()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._build())

    def __len__(self) -> int:
        return len(self._build())

    def __repr__(self) -> str:
        return repr(self._build())


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
        Its display attributes (:attr:`AgentModel.label`, ``short_label``,
        ``colour``, ``bone_protective``, ``line_style``, ``evidence_grade``)
        are optional; what it declares is checked here (:func:`agent_display`)
        and then shown by the figures, the explorer and the scenario files.
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
        ``rate``, ``replace`` is not a bool, or a display attribute has the
        wrong type.
    ValueError
        If the name is not an identifier or is already registered (without
        ``replace=True``), a spec's range is not finite and ordered, or a
        display attribute's value is not allowed (see :func:`agent_display`).

    Examples
    --------
    A drug with one parameter per site, shown in green with its own line style
    when given with an AI, and offered as a bone-protective therapy:

    >>> class Romosozumab(AgentModel):
    ...     name = "romosozumab"
    ...     label = "Romosozumab"
    ...     colour = "#117733"
    ...     bone_protective = True
    ...     line_style = (0, (3, 2))
    ...     SPECS = (ParameterSpec("gain_pct_per_year", "%/yr", 0.0, 20.0),)
    ...
    ...     def cumulative(self, t, exposure, p, ctx):
    ...         on = np.clip(np.asarray(t, dtype=float), exposure.start, exposure.stop) - exposure.start
    ...         return -p["gain_pct_per_year"] / PCT * on
    ...
    ...     def rate(self, t, exposure, p, ctx):
    ...         t = np.asarray(t, dtype=float)
    ...         return np.where((t >= exposure.start) & (t < exposure.stop), -p["gain_pct_per_year"] / PCT, 0.0)
    >>> _ = register_agent(Romosozumab())
    >>> agent_display("romosozumab").short_label
    'romosozumab'
    >>> del AGENTS["romosozumab"]  # unregister
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
    agent_display(model)  # its display attributes: checked now, not when a figure is drawn
    if name in AGENTS and AGENTS[name] is not model and not replace:
        raise ValueError(
            f"agent name {name!r} is already registered ({type(AGENTS[name]).__name__}); registering another model "
            "under it would replace it for the whole process: pass replace=True to do that on purpose"
        )
    AGENTS[name] = model
    return model


register_agent(AromataseInhibitor())
register_agent(Tamoxifen())
