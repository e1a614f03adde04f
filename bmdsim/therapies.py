"""Bone-protective therapies: bisphosphonates, denosumab and low-intensity vibration.

Each therapy is an agent (see :mod:`bmdsim.agents`) that adds a *negative*
loss rate (a gain) to the rates of the other components. Its parameters live
in every shipped parameter set (``data/parameters/*.json``), fitted by
:mod:`bmdsim.calibration` to the trials in ``data/targets/``.

Combination rule
----------------
Rates add, as for every agent. A therapy's gain is the *net* gain observed
against the same background regimen in its trials (an AI, natural loss), so
AI + zoledronic acid + vibration is natural loss + AI excess - zoledronic acid
gain - vibration gain. Effects of two antiresorptives given together are
added as well, which is an extrapolation: no trial data on such combinations
were used.

Adding a gain to an unchanged AI loss is a hypothesis, tested (not fitted) by
:func:`bmdsim.validation.therapy_checks`: in IBIS-II the AI's extra spine loss
over 3 years was the same with risedronate as without (2.7 against 2.8
percentage points), as this rule has it, while at the total hip risedronate
removed about half of it (1.2 against 2.2), which the rule misses. The gain
does not depend on baseline BMD; SABRE's and IBIS-II's strata show 0.1-1.0
points more gain in women with lower BMD.

Dosing
------
The agent name fixes the schedule of the calibrating trials:

``zoledronic_acid``
    4 mg IV every 6 months (Z-FAST, ZO-FAST).
``oral_bisphosphonate``
    Risedronate 35 mg weekly (SABRE, Greenspan 2015) or ibandronate 150 mg
    monthly (ARIBON); one set of parameters for both.
``denosumab``
    60 mg SC every 6 months (HALT-BC, ABCSG-18).
``vibration``
    Low-intensity whole-body vibration, about 0.2-0.3 g, 20 minutes a day.

Other doses or schedules are not modelled. A course longer than the longest
course in the calibrating trials (``max_calibrated_years``) emits a
:class:`ExtrapolationWarning` from :func:`bmdsim.simulate`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping

import numpy as np

from ._validation import as_finite_float
from .agents import AGENTS, PCT, AgentModel, AgentNames, ParameterSpec, register_agent
from .regimen import Exposure, Regimen


class ExtrapolationWarning(UserWarning):
    """A regimen goes beyond the range in which the model was calibrated."""


#: The spec of ``<agent>.max_calibrated_years``: the longest course in an agent's trials [years]; a
#: longer course emits :class:`ExtrapolationWarning` (:func:`check_calibrated_range`).
MAX_CALIBRATED_SPEC = ParameterSpec(
    "max_calibrated_years",
    "years",
    0.1,
    60.0,
    per_site=False,
    description="longest course in the calibrating trials; longer courses warn",
)


def _course_time(t: np.ndarray, start, stop) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time on drug ``tau``, course length (0 if it never stops) and time since the stop, array-safe."""
    start = np.asarray(start, dtype=float)
    stop = np.asarray(stop, dtype=float)
    with np.errstate(invalid="ignore"):
        tau = np.clip(t - start, 0.0, stop - start)
    tau = np.where(np.isfinite(tau), tau, 0.0)  # a course that never starts
    stops = np.isfinite(stop) & np.isfinite(start)
    length = np.where(stops, stop - np.where(stops, start, 0.0), 0.0)
    since = np.maximum(t - stop, 0.0)
    since = np.where(np.isfinite(since), since, 0.0)
    return tau, length, since


class Antiresorptive(AgentModel):
    """A gain that builds up on the drug and wears off after the stop.

    Parameters (per site unless stated, in every parameter set)
    -----------------------------------------------------------
    early_gain_pct_per_year : float
        Extra gain rate at the start of the course [%/yr], decaying with
        ``onset_time_constant_years`` (site-wide).
    late_gain_pct_per_year : float
        Sustained gain rate while on the drug [%/yr].
    offset_time_constant_years : float
        Site-wide time constant [years] with which the gain of the course
        is lost after the stop.
    max_calibrated_years : float
        Longest course in the calibrating trials [years].

    Notes
    -----
    At time ``tau`` on the drug the loss rate gains the term
    ``-(late + early exp(-tau / T_on))`` [%/yr]. Its integral over the course
    is the gain ``G``. From the stop on the loss rate gains
    ``+G / T_off exp(-(t - stop) / T_off)``, so the whole gain is lost in the
    long run and BMD returns to the trajectory without the drug (never
    below it: the model has no overshoot). Each course is treated on its own.

    BMD is anchored at the baseline scan, so a course that ended before
    baseline (or is running at it) already has its gain in the baseline BMD;
    after baseline it only wears off, which lowers BMD against a regimen
    without that course.

    The gain is the net difference against the same regimen without the
    drug in the calibrating trials; concurrent AI loss is not suppressed
    separately, so the drug's effect does not depend on what else is given.
    """

    shift_invariant = True
    SPECS = (
        ParameterSpec("early_gain_pct_per_year", "%/yr", 0.0, 50.0, description="extra gain rate at the start"),
        ParameterSpec("late_gain_pct_per_year", "%/yr", 0.0, 20.0, description="sustained gain rate on the drug"),
        ParameterSpec(
            "onset_time_constant_years", "years", 0.02, 10.0, per_site=False, description="decay of the early gain"
        ),
        ParameterSpec(
            "offset_time_constant_years",
            "years",
            0.05,
            20.0,
            per_site=False,
            description="time constant of the loss of the gain after the stop",
        ),
        MAX_CALIBRATED_SPEC,
    )

    def gain(self, tau: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        """Log-gain [1] after ``tau`` years on the drug."""
        late = p["late_gain_pct_per_year"] / PCT
        early = p["early_gain_pct_per_year"] / PCT
        t_on = p["onset_time_constant_years"]
        return late * tau + early * t_on * -np.expm1(-tau / t_on)

    def cumulative(self, t, exposure, p, ctx):
        t = np.asarray(t, dtype=float)
        start, stop = ctx.span(exposure)
        tau, length, since = _course_time(t, start, stop)
        lost = -np.expm1(-since / p["offset_time_constant_years"])
        return -self.gain(tau, p) + self.gain(length, p) * lost

    def rate(self, t, exposure, p, ctx):
        t = np.asarray(t, dtype=float)
        start, stop = ctx.span(exposure)
        tau, length, since = _course_time(t, start, stop)
        on = (t >= start) & (t < stop)
        early = p["early_gain_pct_per_year"] / PCT * np.exp(-tau / p["onset_time_constant_years"])
        on_rate = -(p["late_gain_pct_per_year"] / PCT + early)
        t_off = p["offset_time_constant_years"]
        after = t >= stop
        return np.where(on, on_rate, 0.0) + np.where(after, self.gain(length, p) / t_off * np.exp(-since / t_off), 0.0)

    def time_scales(self, p):
        return (p["onset_time_constant_years"], p["offset_time_constant_years"])


class ZoledronicAcid(Antiresorptive):
    """Zoledronic acid 4 mg IV every 6 months, as given with adjuvant letrozole.

    Calibrated to the Z-FAST upfront-minus-delayed differences at 12, 36 and
    61 months (lumbar spine, total hip); ZO-FAST is held out for validation.
    The femoral neck follows the total hip. The Z-FAST delayed arm is modelled
    as never starting zoledronic acid, although about a quarter of it had
    started by month 61, so the fitted gain is, if anything, too small at
    5 years. After the stop the gain wears off with the bisphosphonate offset
    time constant (no zoledronic-acid off-treatment data were found).

    Validated range: 0-61 months on the drug, postmenopausal women on an AI.

    References
    ----------
    Brufsky AM et al. J Clin Oncol 2007;25:829-36, DOI 10.1200/JCO.2005.05.3744;
    Clin Breast Cancer 2009;9:77-85, DOI 10.3816/CBC.2009.n.015; Cancer
    2012;118:1192-201, DOI 10.1002/cncr.26313.
    """

    name = "zoledronic_acid"
    label = "Zoledronic acid"
    colour = "#009E73"  # Okabe-Ito bluish green
    bone_protective = True
    line_style = (0, (7, 2))


class OralBisphosphonate(Antiresorptive):
    """Weekly oral risedronate or alendronate, or monthly oral ibandronate.

    Calibrated to SABRE (moderate-risk stratum), ARIBON (osteopenic patients,
    12 and 24 months) and Greenspan 2015, as differences against placebo on
    the same AI. The onset time constant is shared with zoledronic acid.
    After the stop the gain wears off over years: the offset time constant
    is fitted to ARIBON's change from 24 to 60 months after ibandronate
    stopped while anastrozole continued (bisphosphonates stay in bone).

    Validated range: 0-24 months on the drug.

    References
    ----------
    Van Poznak C et al. J Clin Oncol 2010;28:967-75, DOI 10.1200/JCO.2009.24.5902;
    Lester JE et al. Clin Cancer Res 2008 (ARIBON); J Bone Oncol 2012;1:57-62,
    DOI 10.1016/j.jbo.2012.06.002; Greenspan SL et al. Osteoporos Int
    2015;26:1857-64, DOI 10.1007/s00198-015-3100-7.
    """

    name = "oral_bisphosphonate"
    label = "Oral bisphosphonate"
    colour = "#E69F00"  # Okabe-Ito orange
    bone_protective = True
    line_style = (0, (1, 1))


class Denosumab(Antiresorptive):
    """Denosumab 60 mg SC every 6 months.

    Calibrated to HALT-BC (lumbar spine, 12 and 24 months) and ABCSG-18
    (36 months, lumbar spine, total hip, femoral neck) as differences
    against placebo; the sustained gain rate of the hip sites is taken equal
    to the spine's (no hip time course was found for AI-treated women).

    Warnings
    --------
    **Stopping denosumab loses its gain within about 12 months** (FREEDOM
    and its extension, Cummings et al. 2018: BMD back to baseline levels by
    12 months), and the rate of vertebral fractures rises after stopping,
    including multiple spontaneous vertebral fractures in AI-treated women
    (Gonzalez-Rodriguez et al. 2019). The model returns BMD to the
    trajectory without denosumab (offset time constant a few months) but
    does not model an overshoot below it, nor fracture risk. Guidelines
    advise following denosumab with a bisphosphonate; model that as a
    separate exposure.

    Validated range: 0-36 months on the drug; offset from a qualitative
    statement (see ``data/targets/antiresorptive_offset.json``).

    References
    ----------
    Ellis GK et al. J Clin Oncol 2008;26:4875-82, DOI 10.1200/JCO.2008.16.3832;
    Gnant M et al. Lancet 2015;386:433-43, DOI 10.1016/S0140-6736(15)60995-3;
    Cummings SR et al. J Bone Miner Res 2018, DOI 10.1002/jbmr.3337.
    """

    name = "denosumab"
    label = "Denosumab"
    colour = "#0072B2"  # Okabe-Ito blue
    bone_protective = True
    line_style = (0, (4, 1.5, 1, 1.5, 1, 1.5))


class Vibration(AgentModel):
    """Low-intensity whole-body vibration: a small, constant gain while used.

    **Evidence grade: very low.** One trial (Rubin 2004, seen only through a
    secondary summary, benefit in the compliant subgroup) reported less loss;
    a larger randomised trial (Slatkovska 2011) found no effect on any bone
    outcome, and the only trial in AI-treated women (Baker 2018) found no
    change in bone turnover. The shipped gain is the mean of the Rubin figure
    and the null result, with a plausible range from 0 to the Rubin figure
    recorded in the data (``plausible_range``); treat any effect shown as
    uncertain.

    Notes
    -----
    Loss rate ``-gain_pct_per_year / 100`` while on the platform; no effect
    after the stop. Validated range: 12 months.

    References
    ----------
    Rubin C et al. J Bone Miner Res 2004;19:343-51; Slatkovska L et al. Ann
    Intern Med 2011 (NCT00420940); Baker MK et al. Integr Cancer Ther 2018,
    DOI 10.1177/1534735418781489.
    """

    name = "vibration"
    label = "Vibration (very low evidence)"
    short_label = "vibration"
    colour = "#F0E442"  # Okabe-Ito yellow
    bone_protective = True
    shift_invariant = True
    evidence_grade = "very low"  # no line style: an AI with vibration takes the free series colours
    SPECS = (
        ParameterSpec("gain_pct_per_year", "%/yr", 0.0, 5.0, description="gain rate while on the platform"),
        MAX_CALIBRATED_SPEC,
    )

    def cumulative(self, t, exposure, p, ctx):
        t = np.asarray(t, dtype=float)
        start, stop = ctx.span(exposure)
        tau, _, _ = _course_time(t, start, stop)
        return -p["gain_pct_per_year"] / PCT * tau

    def rate(self, t, exposure, p, ctx):
        t = np.asarray(t, dtype=float)
        start, stop = ctx.span(exposure)
        on = (t >= start) & (t < stop)
        return np.where(on, -p["gain_pct_per_year"] / PCT, 0.0)


#: The bone-protective agents, by exposure name: every registered agent that declares
#: ``bone_protective = True``, in registration order (``zoledronic_acid``, ``oral_bisphosphonate``,
#: ``denosumab``, ``vibration``, then any registered later). A live view of :data:`bmdsim.AGENTS`.
THERAPIES: AgentNames = AgentNames(lambda d: d.bone_protective, "bone-protective therapies")


def check_calibrated_range(
    exposures: Iterable[Exposure],
    values: Mapping[str, object],
    horizon: float,
    ages: object = None,
    sex: str = "female",
) -> list[str]:
    """Messages for exposures beyond their agent's calibrated range: a longer course, or ages outside it.

    Parameters
    ----------
    exposures : iterable of Exposure
        A :class:`bmdsim.Regimen` or its exposures.
    values : mapping
        Parameter values of a set (``ParameterSet.values``).
    horizon : float
        Simulation horizon [years]; a course is counted up to it.
    ages : float or array of float, optional
        Ages at baseline [years] of the patients; an agent with
        :attr:`~bmdsim.agents.AgentModel.validated_age_years` is checked
        against their lowest and highest (not checked when None).
    sex : {"female", "male"}
        For men, a course is checked against ``<agent>.male_max_calibrated_years``
        where the set has it (the AI: one 12-month trial in men).

    Returns
    -------
    list of str
        One message per exposure beyond its calibrated range.
    """
    if not isinstance(values, Mapping):
        raise TypeError(f"values must be a mapping of parameter key to value, got {type(values).__name__}")
    horizon = as_finite_float("horizon", horizon)
    if not isinstance(exposures, Regimen):
        exposures = Regimen(exposures)  # checks the types and the count
    messages = []
    for e in exposures:
        key = f"{e.agent}.max_calibrated_years"
        if sex == "male" and f"{e.agent}.male_max_calibrated_years" in values:
            key = f"{e.agent}.male_max_calibrated_years"
        if key not in values:
            continue
        limit = float(values[key])
        if isinstance(e.start, (int, float)):
            length = min(e.stop, horizon) - e.start
        else:  # a start on an event: the course lasts its duration at most
            length = min(getattr(e, "duration", math.inf), horizon)
        if length > limit * (1 + 1e-9):
            whose = "its calibrating trials" if sex != "male" else "its trials in men"
            messages.append(
                f"{e.agent} is given for {length:.3g} years, longer than the {limit:.3g} years of {whose}; "
                "its effect beyond that is extrapolated"
            )
    if ages is not None:
        age = np.asarray(ages, dtype=float)
        for agent in dict.fromkeys(e.agent for e in exposures):
            bounds = getattr(AGENTS.get(agent), "validated_age_years", None)
            if bounds is None or age.size == 0:
                continue
            low, high = float(np.min(age)), float(np.max(age))
            if low < bounds[0] or high > bounds[1]:
                messages.append(
                    f"{agent} was studied in patients aged {bounds[0]:g} to {bounds[1]:g} years; these patients are "
                    f"{low:.3g} to {high:.3g} years old, so its effect outside that range is extrapolated"
                )
    return messages


def warn_if_extrapolating(
    exposures: Iterable[Exposure],
    values: Mapping[str, object],
    horizon: float,
    ages: object = None,
    sex: str = "female",
) -> None:
    """Emit an :class:`ExtrapolationWarning` for each message of :func:`check_calibrated_range`."""
    for message in check_calibrated_range(exposures, values, horizon, ages, sex):
        warnings.warn(message, ExtrapolationWarning, stacklevel=3)


for _model in (ZoledronicAcid(), OralBisphosphonate(), Denosumab(), Vibration()):
    register_agent(_model)

__all__ = [
    "MAX_CALIBRATED_SPEC",
    "THERAPIES",
    "Antiresorptive",
    "Denosumab",
    "ExtrapolationWarning",
    "OralBisphosphonate",
    "Vibration",
    "ZoledronicAcid",
    "check_calibrated_range",
    "warn_if_extrapolating",
]
