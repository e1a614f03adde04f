"""The log-loss of BMD at one site under a regimen, in closed form.

:class:`SiteModel` adds natural loss and the effect of every exposure (see
:mod:`bmdsim.agents` for the components and the combination rule). Its
:meth:`~SiteModel.log_loss` is exact, so BMD at any time and crossing times
do not depend on an output grid.
"""

from __future__ import annotations

import math

import numpy as np

from .agents import AGENTS, SiteContext
from .parameters import ParameterSet
from .regimen import Regimen

#: Widest spacing [years] of the checkpoints that the crossing search places
#: between breakpoints. A numerical setting, not a model parameter: it only has
#: to be short against the model's time scales (see :mod:`bmdsim.crossing`).
MAX_CHECKPOINT_SPACING_YEARS = 1.0 / 12.0


class SiteModel:
    """Natural loss plus every exposure's effect at one site.

    Parameters
    ----------
    params : ParameterSet
    regimen : Regimen
    site : str
    """

    def __init__(self, params: ParameterSet, regimen: Regimen, site: str) -> None:
        self.site = site
        self.natural = params.natural(site)
        self.terms = [(AGENTS[e.agent], e, params.agent_values(e.agent, site)) for e in regimen]

    def log_loss(self, t: np.ndarray | float, age: np.ndarray | float) -> np.ndarray:
        """``L(t) = ln(BMD(0) / BMD(t))`` for patients aged ``age`` at baseline; broadcasts."""
        ctx = SiteContext(self.natural, age)
        t = np.asarray(t, dtype=float)
        total = ctx.natural_cumulative(t)
        zero = np.zeros(1)
        for model, exposure, p in self.terms:
            total = total + (model.cumulative(t, exposure, p, ctx) - model.cumulative(zero, exposure, p, ctx))
        return total

    def rate(self, t: np.ndarray | float, age: np.ndarray | float) -> np.ndarray:
        """Loss rate ``dL/dt`` [1/yr] (right-continuous at breakpoints); broadcasts."""
        ctx = SiteContext(self.natural, age)
        t = np.asarray(t, dtype=float)
        total = ctx.natural_rate(t)
        for model, exposure, p in self.terms:
            total = total + model.rate(t, exposure, p, ctx)
        return total

    def breakpoints(self) -> tuple[float, ...]:
        """Times [years] at which some rate may jump, shared by all patients."""
        times = {t for model, e, _ in self.terms for t in model.breakpoints(e)}
        return tuple(sorted(t for t in times if math.isfinite(t)))

    def age_edges(self) -> np.ndarray:
        """Ages [years] at which the natural-loss rate jumps."""
        return self.natural.edges

    def checkpoint_spacing(self) -> float:
        """Spacing [years] of the uniform checkpoints: a quarter of the shortest time scale, at most 1/12."""
        scales = [s for model, _, p in self.terms for s in model.time_scales(p)]
        return min([MAX_CHECKPOINT_SPACING_YEARS] + [s / 4.0 for s in scales])

    def is_shared(self, age_low: float, age_high: float, horizon: float) -> bool:
        """True if ``L(t)`` is the same for every baseline age in ``[age_low, age_high]``."""
        earliest = min([0.0] + [e.start for _, e, _ in self.terms])
        return self.natural.is_constant_between(age_low + earliest, age_high + horizon)
