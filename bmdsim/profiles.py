"""Patient profiles beyond a postmenopausal woman starting an AI: loss of ovarian function, glucocorticoids.

Each profile is an agent (see :mod:`bmdsim.agents`): an exposure in a
:class:`bmdsim.Regimen`, with its own parameters in every shipped parameter
set, fitted by :mod:`bmdsim.calibration` (Shapiro 2001 [1]_, ZEBRA [2]_,
Adachi 1997 [3]_ and others) to the published arms in
``data/targets/ovarian_suppression.json`` and ``data/targets/glucocorticoid.json``
and checked against held-out arms by ``python -m bmdsim.validation`` (section
"Patient profiles").

``ovarian_suppression``
    Loss of ovarian oestrogen in a woman who is **premenopausal at baseline**:
    a GnRH agonist such as goserelin (a course with a stop, after which
    ovarian function returns) or chemotherapy-induced ovarian failure (a
    course that never stops, starting when menstruation ended, possibly before
    baseline: ``Exposure("ovarian_suppression", start=-0.5)``). A regimen with
    this agent describes a premenopausal woman: natural postmenopausal loss,
    fitted in women over 50, does not apply to her
    (:attr:`~bmdsim.agents.AgentModel.replaces_natural_loss`); her loss is the
    agent's front-loaded excess, ``late + early exp(-tau / T)`` [%/yr] on the
    course, and a fraction of it is regained after a stop. An AI, tamoxifen or
    a bone-protective drug in the same regimen adds its own effect, as for
    postmenopausal women (the combination rule of :mod:`bmdsim.agents`); the
    ABCSG-12 arms (goserelin with anastrozole or tamoxifen) and the
    zoledronic-acid arms of the chemotherapy trials test that rule and are not
    fitted.
``glucocorticoid``
    Oral glucocorticoid at 5 mg/day prednisolone equivalent or more: a
    front-loaded excess loss on top of the other components while on the drug
    (fast in the first months, slower in chronic use), and a fraction of it
    regained after the stop.

Validated ranges (outside them :func:`bmdsim.simulate` and
:func:`bmdsim.simulate_cohort` emit :class:`bmdsim.ExtrapolationWarning`):
ages :data:`OVARIAN_AGE_YEARS` and courses up to ``max_calibrated_years`` for
ovarian suppression; ages :data:`GLUCOCORTICOID_AGE_YEARS` and courses up to
``max_calibrated_years`` for glucocorticoids. Not modelled: tamoxifen's
effect in premenopausal women (it causes loss there; the shipped tamoxifen
rate is the postmenopausal gain), the dose of a glucocorticoid. Men are not an
agent but ``sex="male"`` on a :class:`bmdsim.Patient` or
:class:`bmdsim.Population`: their own natural loss (``natural_male.*``) and
the AI's excess in men (``aromatase_inhibitor.<site>.male_excess_pct_per_year``,
see :meth:`bmdsim.agents.AgentModel.values_for_sex`); ovarian suppression is
for women only.

References
----------
.. [1] Shapiro CL, Manola J, Leboff M. Ovarian failure after adjuvant
   chemotherapy is associated with rapid bone loss in women with early-stage
   breast cancer. J Clin Oncol 2001;19(14):3306-11. PMID 11454877.
.. [2] Fogelman I, Blake GM, Blamey R, et al. Bone mineral density in
   premenopausal women treated for node-positive early breast cancer with 2
   years of goserelin or 6 months of cyclophosphamide, methotrexate and
   5-fluorouracil (CMF). 2003. DOI 10.1007/s00198-003-1508-y, PMID 14530912.
.. [3] Adachi JD, et al. Intermittent etidronate therapy to prevent
   corticosteroid-induced osteoporosis. N Engl J Med 1997;337(6):382-7.
   PMID 9241127.
"""

from __future__ import annotations

from .agents import AromataseInhibitor, register_agent
from .therapies import MAX_CALIBRATED_SPEC

#: Ages [years] of the premenopausal women in the trials behind ``ovarian_suppression``
#: (``data/targets/ovarian_suppression.json``): premenopausal breast-cancer patients, mean ages about
#: 40-45 where reported. Outside it a simulation warns (ExtrapolationWarning).
OVARIAN_AGE_YEARS = (25.0, 55.0)

#: Ages [years] of the trials behind ``glucocorticoid`` (``data/targets/glucocorticoid.json``): adults
#: 19-87 in the largest prevention trial.
GLUCOCORTICOID_AGE_YEARS = (20.0, 90.0)

#: The guideline rules' risk factor for long-term glucocorticoids and its minimum duration [years]: both
#: statements count "oral corticosteroid use > 6 months" (data/guidelines.json). A regimen whose
#: ``glucocorticoid`` course has run that long at baseline gives every woman the risk factor in
#: :func:`bmdsim.simulate_policy` and :func:`bmdsim.compare_policies`.
GLUCOCORTICOID_RISK_FACTOR = ("oral_corticosteroids_over_6_months", 0.5)


#: The AI's front-loaded excess and recovery, without its men-only rate: the profiles' parameters.
_FRONT_LOADED = tuple(spec for spec in AromataseInhibitor.SPECS if not spec.name.startswith("male_"))


class OvarianSuppression(AromataseInhibitor):
    """Loss of ovarian oestrogen in a premenopausal woman: GnRH-agonist suppression or ovarian failure.

    Parameters (per site unless stated, in every parameter set)
    -----------------------------------------------------------
    late_excess_pct_per_year : float
        Loss rate after the early phase [%/yr].
    early_excess_pct_per_year : float
        Extra loss rate at the start of the course [%/yr], decaying with
        ``early_time_constant_years`` (site-wide).
    recovery_fraction : float
        Fraction of the course's log-loss regained after a stop [1], with
        ``recovery_time_constant_years`` (site-wide).
    max_calibrated_years : float
        Longest course in the trials [years] (site-wide).

    Notes
    -----
    The arithmetic is that of :class:`bmdsim.agents.AromataseInhibitor`
    (front-loaded excess, partial recovery after the stop), with the natural
    loss of the regimen's patients set to zero
    (:attr:`replaces_natural_loss`): the agent's loss is all the loss of a
    premenopausal woman whose ovaries stop making oestrogen, and a woman who is
    premenopausal again after a stop loses nothing more (the trials' women
    with preserved ovarian function lost none, [1]_ and ``data/targets``).
    Validated for ages :data:`OVARIAN_AGE_YEARS`.
    """

    name = "ovarian_suppression"
    label = "Ovarian suppression or failure"
    short_label = "ovarian suppression"
    colour = "#D55E00"  # Okabe-Ito vermillion
    replaces_natural_loss = True
    female_only = True
    validated_age_years = OVARIAN_AGE_YEARS
    SPECS = (*_FRONT_LOADED, MAX_CALIBRATED_SPEC)


class Glucocorticoid(AromataseInhibitor):
    """Oral glucocorticoid (5 mg/day prednisolone equivalent or more): front-loaded excess loss.

    Parameters (per site unless stated, in every parameter set)
    -----------------------------------------------------------
    late_excess_pct_per_year : float
        Excess loss rate in chronic use [%/yr].
    early_excess_pct_per_year : float
        Extra excess loss rate at the start [%/yr], decaying with
        ``early_time_constant_years`` (site-wide).
    recovery_fraction : float
        Fraction of the course's excess log-loss regained after the stop [1],
        with ``recovery_time_constant_years`` (site-wide).
    max_calibrated_years : float
        Longest course in the trials [years] (site-wide).

    Notes
    -----
    Adds to natural loss and every other agent, as an AI does. The dose does
    not enter: the trials gave 7.5 mg/day or more on average. The same values
    apply to men (the trials mixed men and women). Validated for ages
    :data:`GLUCOCORTICOID_AGE_YEARS`.
    """

    name = "glucocorticoid"
    label = "Oral glucocorticoid"
    short_label = "glucocorticoid"
    colour = "#000000"  # Okabe-Ito black
    evidence_grade = "low"
    validated_age_years = GLUCOCORTICOID_AGE_YEARS
    SPECS = (*_FRONT_LOADED, MAX_CALIBRATED_SPEC)


register_agent(OvarianSuppression())
register_agent(Glucocorticoid())

#: Names of the profile agents, in the order they are documented.
PROFILE_AGENTS = ("ovarian_suppression", "glucocorticoid")

__all__ = [
    "GLUCOCORTICOID_AGE_YEARS",
    "GLUCOCORTICOID_RISK_FACTOR",
    "OVARIAN_AGE_YEARS",
    "PROFILE_AGENTS",
    "Glucocorticoid",
    "OvarianSuppression",
]
