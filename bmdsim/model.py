"""The log-loss of BMD at one site under a regimen, in closed form.

:class:`SiteModel` adds natural loss and the effect of every exposure (see
:mod:`bmdsim.agents` for the components and the combination rule). Its
:meth:`~SiteModel.log_loss` is exact, so BMD at any time and crossing times
do not depend on an output grid.

:class:`PatientState` carries what differs between patients: the age at
baseline and, for exposures that start on an event, one start and stop per
patient.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .agents import AGENTS, NaturalLoss, SiteContext
from .parameters import ParameterSet
from .patient import check_sex
from .regimen import Exposure, Regimen

#: Widest spacing [years] of the checkpoints that the crossing search places
#: between breakpoints. A numerical setting, not a model parameter: it only has
#: to be short against the model's time scales (see :mod:`bmdsim.crossing`).
MAX_CHECKPOINT_SPACING_YEARS = 1.0 / 12.0


@dataclass(frozen=True)
class PatientState:
    """Per-patient inputs of the model, all arrays of one shape (or scalars).

    Attributes
    ----------
    age : ndarray or float
        Age at baseline [years].
    spans : mapping
        Exposure -> ``(start, stop)``: per-patient start and stop [years] of
        exposures whose times differ between patients; ``inf`` start means
        the exposure never starts.
    """

    age: np.ndarray | float
    spans: Mapping[Exposure, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def take(self, idx: np.ndarray | slice) -> PatientState:
        """The patients selected by ``idx`` (first axis)."""
        return PatientState(np.asarray(self.age)[idx], {e: (a[idx], b[idx]) for e, (a, b) in self.spans.items()})

    def column(self) -> PatientState:
        """Arrays reshaped to ``(n, 1)`` to broadcast against ``(n, m)`` times."""
        return PatientState(
            np.asarray(self.age)[:, None], {e: (a[:, None], b[:, None]) for e, (a, b) in self.spans.items()}
        )

    def broadcast_take(self, shape: tuple[int, ...], pos: tuple[np.ndarray, ...]) -> PatientState:
        """Broadcast every array to ``shape`` and pick the elements at ``pos``."""

        def pick(a: np.ndarray) -> np.ndarray:
            return np.broadcast_to(a, shape)[pos]

        return PatientState(pick(np.asarray(self.age)), {e: (pick(a), pick(b)) for e, (a, b) in self.spans.items()})

    def per_patient_times(self) -> np.ndarray:
        """Per-patient exposure starts and stops, shape ``(n, 2 * len(spans))``."""
        cols = [c for a, b in self.spans.values() for c in (a, b)]
        return np.stack(cols, axis=1) if cols else np.empty((np.size(self.age), 0))


class SiteModel:
    """Natural loss plus every exposure's effect at one site.

    Natural loss is zero when an exposure's agent describes a premenopausal
    woman (:attr:`bmdsim.agents.AgentModel.replaces_natural_loss`).

    Parameters
    ----------
    params : ParameterSet
    regimen : Regimen
    site : str
    sex : {"female", "male"}
        Men have their own natural loss (``natural_male.*``) and AI excess
        (:meth:`bmdsim.agents.AgentModel.values_for_sex`); see :mod:`bmdsim.profiles`.
    """

    def __init__(self, params: ParameterSet, regimen: Regimen, site: str, sex: str = "female") -> None:
        self.site = site
        self.sex = check_sex(sex)
        self.terms = [
            (AGENTS[e.agent], e, AGENTS[e.agent].values_for_sex(params.agent_values(e.agent, site), self.sex))
            for e in regimen
        ]
        # A premenopausal woman (an agent of bmdsim.profiles) has no natural postmenopausal loss.
        premenopausal = any(model.replaces_natural_loss for model, _, _ in self.terms)
        for model, e, _ in self.terms:
            if model.replaces_natural_loss and e.is_event:
                raise ValueError(
                    f"{e.agent} cannot start on an event (AtThreshold): it makes the patient premenopausal from "
                    "baseline on, so give it a start in years"
                )
        self.natural = NaturalLoss((), (0.0,)) if premenopausal else params.natural(site, self.sex)
        self._caches: dict[str, dict] = {}

    @classmethod
    def from_parts(cls, site: str, natural: NaturalLoss, terms: list, sex: str = "female") -> SiteModel:
        """A model built from its parts: ``natural`` loss and ``terms`` ``(agent model, exposure, values)``.

        For variants of a model that no parameter set and regimen describe
        directly (courses fixed at a scan group's times, no natural loss).
        """
        model = object.__new__(cls)
        model.site, model.natural, model.terms = site, natural, list(terms)
        model.sex = check_sex(sex)
        model._caches = {}
        return model

    def cache(self, kind: str) -> dict:
        """A dict kept with this model for tables derived from it alone, one dict per ``kind``.

        :mod:`bmdsim.crossing` keeps its crossing tables here, so a table is
        built once per model and dropped with it.

        Parameters
        ----------
        kind : str
            Name of the kind of table, e.g. ``"shared_tables"``.

        Returns
        -------
        dict
            The same dict on every call with ``kind`` (empty at first); the
            caller chooses its keys and values.
        """
        return self._caches.setdefault(kind, {})

    def _context(self, state: PatientState | np.ndarray | float) -> SiteContext:
        if not isinstance(state, PatientState):
            state = PatientState(state)  # a plain age (or array of ages)
        return SiteContext(self.natural, state.age, state.spans)

    def log_loss(self, t: np.ndarray | float, state: PatientState | np.ndarray | float) -> np.ndarray:
        """``L(t) = ln(BMD(0) / BMD(t))`` for the patients in ``state`` (or plain ages); broadcasts."""
        ctx = self._context(state)
        t = np.asarray(t, dtype=float)
        total = ctx.natural_cumulative(t)
        zero = np.zeros(1)
        for model, exposure, p in self.terms:
            total = total + (model.cumulative(t, exposure, p, ctx) - model.cumulative(zero, exposure, p, ctx))
        return total

    def rate(self, t: np.ndarray | float, state: PatientState | np.ndarray | float) -> np.ndarray:
        """Loss rate ``dL/dt`` [1/yr] (right-continuous at breakpoints); broadcasts."""
        ctx = self._context(state)
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

    def is_shared(self, state: PatientState, horizon: float) -> bool:
        """True if ``L(t)`` is the same for every patient in ``state``."""
        if state.spans:
            return False
        age = np.asarray(state.age)
        if self.natural.grouped:  # one curve per age group: shared if every patient is in one group
            key = self.natural.group_key(age)
            return bool(np.all(key == key.flat[0]))
        earliest = min([0.0] + [e.start for _, e, _ in self.terms if not e.is_event])
        return self.natural.is_constant_between(float(age.min()) + earliest, float(age.max()) + horizon)
